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

/* The teacher model and the train split padded to its input size. */
static cgpc_status load_teacher(const char *teacher, const char *dataset, struct nn_model *t,
                                struct nn_dataset *ds, struct cgpc_err *err)
{
    memset(ds, 0, sizeof *ds);
    cgpc_status st = nn_model_load(teacher, t, err);
    if (st)
        return st;
    if ((st = nn_cli_load_dataset(dataset, NN_SPLIT_TRAIN, ds, err)) ||
        (st = nn_dataset_pad(ds, t->in_h, t->in_w, err))) {
        nn_model_free(t);
        nn_dataset_free(ds);
    }
    return st;
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
    *out = NULL;
    if ((st = load_teacher(teacher, dataset, &t, &ds, err)))
        return st;
    if (t.nclasses != student->nclasses) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s: the teacher has %d classes, the student %d",
                       teacher, t.nclasses, student->nclasses);
        goto out;
    }
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

/* A layer of m by name, its index; CGPC_ERR_ARG naming the model when absent. */
static cgpc_status find_layer(const struct nn_model *m, const char *name, const char *what,
                              int *idx, struct cgpc_err *err)
{
    for (int i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i].name, name) == 0) {
            *idx = i;
            return CGPC_OK;
        }
    return CGPC_FAIL(err, CGPC_ERR_ARG, "--hint: the %s (%s) has no layer '%s'", what, m->arch,
                     name);
}

cgpc_status nn_cli_teacher_hint(const char *teacher, const char *dataset, const char *spec,
                                const struct nn_model *student, struct nn_train_opts *o,
                                float **out, struct cgpc_err *err)
{
    struct nn_model t;
    struct nn_dataset ds;
    char tn[64];
    const char *colon = strchr(spec, ':');
    int ti = 0, si = 0;
    *out = NULL;
    if (!colon || colon == spec || !colon[1] || colon - spec >= (long)sizeof tn)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--hint '%s': expected teacher_layer:student_layer",
                         spec);
    snprintf(tn, sizeof tn, "%.*s", (int)(colon - spec), spec);
    cgpc_status st = find_layer(student, colon + 1, "student", &si, err);
    if (st || (st = load_teacher(teacher, dataset, &t, &ds, err)))
        return st;
    if ((st = find_layer(&t, tn, "teacher", &ti, err)))
        goto out;
    const struct nn_layer *a = &t.layers[ti], *b = &student->layers[si];
    if (a->out_h != b->out_h || a->out_w != b->out_w) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG, "--hint '%s': teacher output %dx%d, student %dx%d "
                       "(the maps must have the same size)", spec, a->out_h, a->out_w,
                       b->out_h, b->out_w);
        goto out;
    }
    size_t dim = (size_t)a->out_c * a->out_h * a->out_w;
    if (!(*out = malloc((size_t)ds.n * dim * sizeof **out))) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "hint targets (%d x %zu floats)", ds.n, dim);
        goto out;
    }
    if ((st = nn_eval_features(&t, &ds, ti, *out, err))) {
        free(*out);
        *out = NULL;
        goto out;
    }
    o->hint_target = *out;
    o->hint_layer = si;
    o->hint_c = a->out_c;
    fprintf(stderr, "cgpc train-model: hint %s [%d x %dx%d] -> %s [%d]%s\n", tn, a->out_c,
            a->out_h, a->out_w, b->name, b->out_c,
            a->out_c == b->out_c ? "" : " through a learned 1x1 regressor");
out:
    nn_model_free(&t);
    nn_dataset_free(&ds);
    return st;
}

void nn_cli_train_progress(const struct nn_train_progress *p, void *ctx)
{
    const char *tag = ctx;
    int tty = cli_progress_enabled();
    if (tty && (!p->end_of_epoch))
        fprintf(stderr, "\r%sepoch %d/%d batch %d/%d loss %.4f acc %.4f %.0f img/s   ", tag,
                p->epoch, p->epochs, p->batch, p->nbatches, p->loss, p->acc, p->images_per_s);
    if (p->end_of_epoch) {
        fprintf(stderr, "%s%sepoch %d/%d: train loss %.4f acc %.4f", tty ? "\r" : "", tag,
                p->epoch, p->epochs, p->loss, p->acc);
        if (p->test_top1 >= 0)
            fprintf(stderr, "  val top1 %.4f loss %.4f", p->test_top1, p->test_loss);
        fprintf(stderr, "  %.0f img/s  %.1f s\n", p->images_per_s, p->seconds);
    }
}
