/* lowbit_cli.c - validation images, sensitivity CSV and plots for the low-bit commands. */
#include "lowbit_cli.h"

#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "nn_cli.h"

cgpc_status lowbit_cli_load_val(const char *name, int n, int rows, int cols,
                                struct nn_dataset *ds, struct cgpc_err *err)
{
    cgpc_status st = nn_cli_load_dataset(name, NN_SPLIT_VAL, ds, err);
    if (st)
        return st;
    nn_dataset_truncate(ds, n);
    return nn_dataset_pad(ds, rows, cols, err);
}

cgpc_status lowbit_cli_write_sens_csv(const struct lowbit_sens *s, const struct nn_model *m,
                                      const char *path, struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st)
        return st;
    fprintf(af.fp, "layer,weights,bits,stored_bits,val_top1,val_loss,drop_points\n");
    fprintf(af.fp, "float,0,32,0,%.6f,%.6f,0.00\n", s->float_top1, s->float_loss);
    for (int k = 0; k < s->n; k++)
        for (int j = 0; j < s->nbits; j++)
            fprintf(af.fp, "%s,%lld,%d,%llu,%.6f,%.6f,%.2f\n", m->layers[s->layer[k]].name,
                    (long long)s->weights[k], s->bits[j], (unsigned long long)s->stored[k][j],
                    s->top1[k][j], s->loss[k][j], 100 * (s->float_top1 - s->top1[k][j]));
    return cgpc_atomic_close(&af, err);
}

cgpc_status lowbit_cli_plot_sens(const struct lowbit_sens *s, const struct nn_model *m,
                                 const char *dir, struct cgpc_err *err)
{
    char path[4200];
    cgpc_status st = cgpc_mkdirs(dir, err);
    if (st)
        return st;
    snprintf(path, sizeof path, "%s/sensitivity.dat", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot write", path);
    for (int k = 0; k < s->n; k++) { /* one gnuplot data block per layer */
        fprintf(f, "# %s\n", m->layers[s->layer[k]].name);
        for (int j = 0; j < s->nbits; j++)
            fprintf(f, "%d %.6f %.6f\n", s->bits[j], 100 * s->top1[k][j], s->loss[k][j]);
        fprintf(f, "\n\n");
    }
    if (fclose(f))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed", path);
    snprintf(path, sizeof path, "%s/sensitivity.gp", dir);
    if (!(f = fopen(path, "w")))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot write", path);
    const char *terms[][2] = {{"pngcairo size 900,600", "png"}, {"svg size 900,600", "svg"}};
    const char *what[][3] = {{"accuracy", "validation top-1 (%)", "2"},
                             {"loss", "validation loss", "3"}};
    for (int t = 0; t < 2; t++)
        for (int w = 0; w < 2; w++) {
            fprintf(f,
                    "set terminal %s noenhanced\nset output '%s/sensitivity-%s.%s'\n"
                    "set title 'Per-layer sensitivity: %s vs weight bits (one layer "
                    "quantized, float %.2f%%)'\nset xlabel 'bits'\nset ylabel '%s'\n"
                    "set key outside right\nset grid\nplot ",
                    terms[t][0], dir, what[w][0], terms[t][1], what[w][0],
                    100 * s->float_top1, what[w][1]);
            for (int k = 0; k < s->n; k++)
                fprintf(f, "%s'%s/sensitivity.dat' index %d using 1:%s with linespoints "
                           "title '%s'",
                        k ? ", " : "", dir, k, what[w][2], m->layers[s->layer[k]].name);
            fprintf(f, "\n");
        }
    if (fclose(f))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed", path);
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>/dev/null", path);
    if (system(cmd) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "gnuplot failed on %s (is gnuplot installed?)",
                         path);
    return CGPC_OK;
}
