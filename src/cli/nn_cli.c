#include "nn_cli.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"

cgpc_status nn_cli_resolve_dataset(const char *name, char *dir, size_t cap,
                                   struct cgpc_err *err)
{
    const char *env = getenv("CGPC_DATA_DIR");
    if (strcmp(name, "mnist") == 0 || strcmp(name, "fashion-mnist") == 0) {
        char cand[3][4200];
        int nc = 0;
        if (env && *env)
            snprintf(cand[nc++], sizeof cand[0], "%s/%s", env, name);
        if (strcmp(name, "mnist") == 0) {
            char exe[4096];
            ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (k > 0) {
                exe[k] = 0;
                snprintf(cand[nc++], sizeof cand[0], "%s/../data/mnist", dirname(exe));
            }
            snprintf(cand[nc++], sizeof cand[0], "data/mnist");
        } else {
            snprintf(cand[nc++], sizeof cand[0], "/usr/share/datasets/fashion-mnist");
        }
        for (int i = 0; i < nc; i++)
            if (cgpc_path_exists(cand[i])) {
                snprintf(dir, cap, "%s", cand[i]);
                return CGPC_OK;
            }
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND,
                         "dataset '%s' not found (looked in %s%s%s%s%s; %s)", name, cand[0],
                         nc > 1 ? ", " : "", nc > 1 ? cand[1] : "", nc > 2 ? ", " : "",
                         nc > 2 ? cand[2] : "",
                         strcmp(name, "mnist") == 0 ? "set CGPC_DATA_DIR or run 'make data'"
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
