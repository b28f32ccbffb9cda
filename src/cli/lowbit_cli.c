/* lowbit_cli.c - validation images, sensitivity CSV and plots for the low-bit commands. */
#include "lowbit_cli.h"

#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../energy/energy.h"
#include "../exp/lowbit_storage.h"
#include "cli.h"
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

cgpc_status lowbit_cli_print_storage(const struct lowbit_model *q, const struct nn_model *m,
                                     struct cgpc_err *err)
{
    struct lowbit_storage s;
    struct energy_gate_table t;
    cgpc_status st = lowbit_storage_of(q, m, &s, err);
    if (st)
        return st;
    energy_gate_table_default(&t);
    uint64_t bits = storage_model_total_bits(&s.parts);
    printf("storage: stored_bits %llu bytes %llu compression_vs_float32 %.2f "
           "compression_vs_int8 %.2f\n",
           (unsigned long long)bits, (unsigned long long)((bits + 7) / 8),
           (double)storage_model_total_bits(&s.float32) / (double)bits,
           (double)storage_model_total_bits(&s.int8) / (double)bits);
    static const char *mems[] = {"dram", "sram-32k"};
    for (int i = 0; i < 2 && !st; i++) {
        struct energy_memory mem;
        struct storage_comparison c;
        if (!(st = energy_memory_lookup(&mem, mems[i], err)) &&
            !(st = lowbit_storage_compare(&s, &mem, &t, &c, err)))
            printf("energy %s: %.1f pJ per inference (int8 reference %.1f pJ, saving %.1f%%)\n",
                   mems[i], c.energy_pj, c.energy_pj + c.saving_pj, c.saving_pct);
    }
    lowbit_storage_free(&s);
    return st;
}

int lowbit_cli_energy(const char *cmd, const char *path, const struct energy_gate_table *t,
                      const struct energy_memory *mem, int json, int *is_lowbit)
{
    struct cgpc_err err = {0};
    struct lowbit_storage s;
    struct storage_energy e, base, f32;
    cgpc_status st = lowbit_storage_file(path, &s, is_lowbit, &err);
    if (st || !*is_lowbit)
        return st ? cli_report(cmd, &err, 0) : CLI_EXIT_OK;
    const struct storage_model *models[3] = {&s.parts, &s.int8, &s.float32};
    struct storage_energy *outs[3] = {&e, &base, &f32};
    for (int i = 0; i < 3 && !st; i++)
        st = storage_energy_account(models[i], STORAGE_DEPLOY_STORED, mem, t, s.macs, 0.0, 1,
                                    outs[i], &err);
    if (!st) {
        double saving = base.total_pj > 0 ? 100 * (base.total_pj - e.total_pj) / base.total_pj : 0;
        if (json)
            printf("{\"stored_bits\": %llu, \"float32_bits\": %llu, \"int8_bits\": %llu, "
                   "\"read_pJ\": %.17g, \"mac_pJ\": %.17g, \"total_pJ\": %.17g, "
                   "\"int8_total_pJ\": %.17g, \"float32_total_pJ\": %.17g, "
                   "\"saving_pct\": %.17g}\n",
                   (unsigned long long)e.stored_bits, (unsigned long long)f32.stored_bits,
                   (unsigned long long)base.stored_bits, e.read_pj, e.mac_pj, e.total_pj,
                   base.total_pj, f32.total_pj, saving);
        else {
            printf("low-bit model %s: stored parts (exact bits; weights are dequantized to "
                   "float for computing)\n",
                   path);
            if (!(st = storage_model_format(&s.parts, stdout, &err)))
                printf("inference energy, batch 1, read from %s: read %.1f pJ + MACs %.1f pJ = "
                       "%.1f pJ (int8 reference %.1f pJ, saving %.1f%%; float32 %.1f pJ)\n",
                       mem->name, e.read_pj, e.mac_pj, e.total_pj, base.total_pj, saving,
                       f32.total_pj);
        }
    }
    lowbit_storage_free(&s);
    return st ? cli_report(cmd, &err, 0) : CLI_EXIT_OK;
}
