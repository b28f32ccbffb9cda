/* lowbit_storage.h - low-bit models (nn/lowbit.h) in the one storage model
 * (energy/storage.h): what a cgpc-lowbit file stores, to the bit, and its comparison columns.
 *
 * Parts per weighted layer L (names as in the file):
 *   codes        STORAGE_WEIGHTS        "<b>-bit codes" (multi-point: "<b>-bit codes x <P>
 *                                       points"), n x b x P bits, no byte padding
 *   fp16 / float STORAGE_FLOAT_WEIGHTS  "fp16 weights" 16 n / "float32 weights" 32 n
 *   mid-rise     STORAGE_SCALE          "mid-rise step", G x 32
 *   uniform grid STORAGE_SCALE          "grid min and step", 2 G x 32
 *   landmarks    STORAGE_CODEBOOK       "landmark table", G x 2^b x 32
 *   multi-point  STORAGE_SCALE          "multi-point alphas", G x P x 32
 *   bias         STORAGE_BIAS           "float32 bias", OC x 32
 * The per-layer layout record and shape (weight_lowbit, weight_shape) are format header, like
 * dtype and shape, and not counted. Activations stay float: no activation parameters.
 * For model-metrics and energy: lowbit_storage_file() opens a file and returns its parts,
 * the float32/int8 references and the MACs; feed them to storage_energy_account and
 * storage_compare like any other row. */
#ifndef CGPC_EXP_LOWBIT_STORAGE_H
#define CGPC_EXP_LOWBIT_STORAGE_H

#include <stdint.h>

#include "common/error.h"
#include "energy/storage.h"
#include "nn/lowbit.h"
#include "nn/model.h"

/* Append q's parts (m: the model q was made from or read with). */
cgpc_status lowbit_storage_account(const struct lowbit_model *q, const struct nn_model *m,
                                   struct storage_model *out, struct cgpc_err *err);

/* Everything a result row needs about a low-bit model. */
struct lowbit_storage {
    struct storage_model parts;   /* the low-bit model */
    struct storage_model float32; /* references of the same architecture */
    struct storage_model int8;
    uint64_t macs;                /* per inference */
};

/* Fill s from q and m (s is initialised here; free with lowbit_storage_free). */
cgpc_status lowbit_storage_of(const struct lowbit_model *q, const struct nn_model *m,
                              struct lowbit_storage *s, struct cgpc_err *err);

/* The same from a cgpc-lowbit file; *is_lowbit = 0 (and s untouched) when path is another
 * kind of model file. */
cgpc_status lowbit_storage_file(const char *path, struct lowbit_storage *s, int *is_lowbit,
                                struct cgpc_err *err);

void lowbit_storage_free(struct lowbit_storage *s);

/* Energy per inference of the low-bit model and of the int8 reference (same memory, batch 1,
 * stored deployment), and the comparison columns. */
cgpc_status lowbit_storage_compare(const struct lowbit_storage *s,
                                   const struct energy_memory *mem,
                                   const struct energy_gate_table *t,
                                   struct storage_comparison *out, struct cgpc_err *err);

#endif
