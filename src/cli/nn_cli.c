#include "nn_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../nn/eval.h"
#include "cli.h"

cgpc_status nn_cli_resolve_dataset(const char *name, char *dir, size_t cap,
                                   struct cgpc_err *err)
{
    const char *env = getenv("CGPC_DATA_DIR");
    int mnist = strcmp(name, "mnist") == 0;
    if (mnist || strcmp(name, "fashion-mnist") == 0) {
        char from_env[4200] = "";
        if (env && *env) {
            snprintf(from_env, sizeof from_env, "%s/%s", env, name);
            if (cgpc_path_exists(from_env)) {
                snprintf(dir, cap, "%s", from_env);
                return CGPC_OK;
            }
        }
        char looked[8600];
        if (mnist) { /* the repository's data/mnist, beside the binary or below the cwd */
            if (cli_find_resource("data/mnist", NULL, dir, cap) == 0)
                return CGPC_OK;
            snprintf(looked, sizeof looked, "%s", dir);
        } else {
            const char *debian = "/usr/share/datasets/fashion-mnist";
            if (cgpc_path_exists(debian)) {
                snprintf(dir, cap, "%s", debian);
                return CGPC_OK;
            }
            snprintf(looked, sizeof looked, "%s", debian);
        }
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "dataset '%s' not found (looked in %s%s%s; %s)",
                         name, from_env, from_env[0] ? ", " : "", looked,
                         mnist ? "set CGPC_DATA_DIR or run 'make data'"
                               : "apt-get install dataset-fashion-mnist");
    }
    if (!cgpc_path_exists(name))
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND,
                         "%s: no such dataset directory (use mnist, fashion-mnist or a "
                         "directory of IDX files)",
                         name);
    snprintf(dir, cap, "%s", name);
    return CGPC_OK;
}

cgpc_status nn_cli_load_dataset(const char *name, enum nn_split split, struct nn_dataset *ds,
                                struct cgpc_err *err)
{
    char dir[4200];
    memset(ds, 0, sizeof *ds);
    cgpc_status st = nn_cli_resolve_dataset(name, dir, sizeof dir, err);
    if (st)
        return st;
    return nn_dataset_load(dir, split, ds, err);
}

cgpc_status nn_cli_parse_optim(const char *s, enum nn_optim *out, struct cgpc_err *err)
{
    if (strcmp(s, "adam") == 0)
        *out = NN_OPTIM_ADAM;
    else if (strcmp(s, "sgd") == 0)
        *out = NN_OPTIM_SGD;
    else
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected adam or sgd", s);
    return CGPC_OK;
}

cgpc_status nn_cli_teacher_logits(const char *teacher, const char *dataset,
                                  const struct nn_model *student, float **out,
                                  struct cgpc_err *err)
{
    struct nn_model t;
    struct nn_dataset ds;
    struct nn_eval_opts eo = {0};
    struct nn_eval_result r;
    cgpc_status st;
    memset(&ds, 0, sizeof ds);
    *out = NULL;
    if ((st = nn_model_load(teacher, &t, err)))
        return st;
    if (t.nclasses != student->nclasses) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s: the teacher has %d classes, the student %d",
                       teacher, t.nclasses, student->nclasses);
        goto out;
    }
    if ((st = nn_cli_load_dataset(dataset, NN_SPLIT_TRAIN, &ds, err)) ||
        (st = nn_dataset_pad(&ds, t.in_h, t.in_w, err)))
        goto out;
    if (!(eo.logits = malloc((size_t)ds.n * (size_t)t.nclasses * sizeof *eo.logits))) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "teacher logits");
        goto out;
    }
    if ((st = nn_eval(&t, &ds, &eo, &r, err)))
        goto out;
    fprintf(stderr, "cgpc train-model: teacher %s: train top1 %.4f on %d images\n", teacher,
            r.top1, r.images);
    *out = eo.logits;
    eo.logits = NULL;
out:
    free(eo.logits);
    nn_model_free(&t);
    nn_dataset_free(&ds);
    return st;
}
