/* lowbit_cli.h - what the low-bit commands (sensitivity, tune) share: the validation images
 * and the gnuplot/CSV output of a sensitivity table. */
#ifndef CGPC_CLI_LOWBIT_CLI_H
#define CGPC_CLI_LOWBIT_CLI_H

#include <stdio.h>

#include "../common/error.h"
#include "../energy/energy.h"
#include "../nn/dataset.h"
#include "../nn/lowbit.h"

/* Validation images of data set `name` (its validation split, which training never sees),
 * the first n of them (n <= 0: all), padded to rows x cols. */
cgpc_status lowbit_cli_load_val(const char *name, int n, int rows, int cols,
                                struct nn_dataset *ds, struct cgpc_err *err);

/* The sensitivity table as CSV: layer,weights,bits,stored_bits,val_top1,val_loss,drop_points. */
cgpc_status lowbit_cli_write_sens_csv(const struct lowbit_sens *s, const struct nn_model *m,
                                      const char *path, struct cgpc_err *err);

/* Plots of validation accuracy and loss vs bits, one line per layer, into dir (PNG and SVG
 * via gnuplot; the data and the script are kept beside them). */
cgpc_status lowbit_cli_plot_sens(const struct lowbit_sens *s, const struct nn_model *m,
                                 const char *dir, struct cgpc_err *err);

/* Print q's storage-model columns (exp/lowbit_storage.h): stored bits and bytes, compression
 * vs float32 and int8, and energy per inference (batch 1) from DRAM and sram-32k beside the
 * int8 reference's, as lines `storage: ...` and `energy <memory>: ...`. */
cgpc_status lowbit_cli_print_storage(const struct lowbit_model *q, const struct nn_model *m,
                                     struct cgpc_err *err);

/* `cgpc energy --model FILE` for cgpc-lowbit files: *is_lowbit = 1 and the stored parts,
 * their total and the energy per inference from the storage model (batch 1, memory mem;
 * json: one object {"stored_bits", "float32_bits", "int8_bits", "read_pJ", "mac_pJ",
 * "total_pJ", "int8_total_pJ", "float32_total_pJ", "saving_pct"}) are printed; 0 for other files (nothing printed). Returns an exit code. */
int lowbit_cli_energy(const char *cmd, const char *path, const struct energy_gate_table *t,
                      const struct energy_memory *mem, int json, int *is_lowbit);

#endif
