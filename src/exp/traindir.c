/* traindir.c - the experiment copy of a train directory (see traindir.h). */
#include "exp/traindir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"

cgpc_status exp_traindir_save(const struct exp_setup *s, const char *dir, struct cgpc_err *err)
{
    struct exp_config cfg = s->cfg;
    exp_config_set(&cfg, "model", s->model_path, exp_config_origin(&s->cfg, "model"), NULL);
    char *text = NULL;
    size_t len;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: experiment.exp: out of memory", dir);
    cgpc_status st = exp_config_write(&cfg, mem, err);
    fclose(mem);
    if (st == CGPC_OK)
        st = cgp_experiment_copy_save(dir, text, err);
    free(text);
    return st;
}

/* The model file a configuration names, resolved to an absolute path if it exists. */
static void model_file(const struct exp_config *cfg, char *out, size_t cap)
{
    char path[4096];
    if (exp_resolve_path(cfg->path, exp_config_str(cfg, "model"), path, sizeof path, NULL) !=
        CGPC_OK)
        snprintf(path, sizeof path, "%s", exp_config_str(cfg, "model"));
    char abs[PATH_MAX];
    snprintf(out, cap, "%s", realpath(path, abs) ? abs : path);
}

cgpc_status exp_traindir_check_resume(const struct exp_config *cfg, const char *dir,
                                      struct cgpc_err *err)
{
    char path[4200];
    cgp_experiment_copy_path(path, sizeof path, dir);
    struct exp_config *old = malloc(sizeof *old);
    if (!old)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    exp_config_defaults(old);
    cgpc_status st = exp_config_load(old, path, err);
    for (int k = 0; st == CGPC_OK && exp_config_keys[k].key; k++) {
        const char *key = exp_config_keys[k].key;
        if (!exp_config_key_visible(k))
            continue;
        char a[4200], b[4200];
        if (!strcmp(key, "model")) {
            model_file(old, a, sizeof a);
            model_file(cfg, b, sizeof b);
        } else {
            snprintf(a, sizeof a, "%s", exp_config_str(old, key));
            snprintf(b, sizeof b, "%s", exp_config_str(cfg, key));
        }
        if (strcmp(a, b))
            st = CGPC_FAIL(err, CGPC_ERR_ARG, "--resume %s: %s: the run was started with '%.200s'"
                           " (%s), not '%.200s' (%s); resume with the experiment it was started "
                           "with, or start a new run in another --out", dir, key, a, path, b,
                           exp_config_origin(cfg, key));
    }
    free(old);
    return st;
}
