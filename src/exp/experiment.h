/* experiment.h - an experiment made concrete: its configuration, the int8 model it compresses,
 * the selected weights, the CGP data set built from them and the CGP parameters; and the way
 * back: a circuit's outputs written into the model's int8 codes.
 *
 * Data flow (`cgpc train`):
 *   experiment file + overrides --exp_config--> exp_setup_init():
 *     model (int8 safetensors) --exp_model_tensors--> selectors --exp_select--> selection
 *     selection + int8 codes --> cgp_dataset (item d: inputs = kept codes, outputs = target
 *     codes; padding inputs 0, padding outputs don't-care; literals as targets)
 *     config --> cgp_params (thresholds per weight in int8 units converted for the metric)
 * and back (`cgpc model-metrics`): circuit outputs[o * items + d] --exp_apply_outputs-->
 *     the model's codes (restore with exp_codes_restore) --> nn_eval.
 *
 * Ownership: exp_setup owns everything it holds; exp_setup_free() releases it (NULL-safe). */
#ifndef CGPC_EXP_EXPERIMENT_H
#define CGPC_EXP_EXPERIMENT_H

#include <stdint.h>

#include "cgp/cgp.h"
#include "common/error.h"
#include "exp/config.h"
#include "exp/select.h"
#include "nn/model.h"

struct exp_setup {
    struct exp_config cfg;
    char model_path[4096];      /* resolved path of the model file */
    uint64_t model_fingerprint; /* FNV-1a 64 of the model file's bytes */
    struct nn_model model;      /* quantized */
    struct exp_tensor *tensors;
    int n_tensors;
    int8_t **codes;             /* [n_tensors]: the model's writable int8 codes per tensor */
    struct exp_selection sel;
    struct cgp_dataset ds;
    struct cgp_params params;
    int64_t n_weights_out;      /* weights (not literals, not padding) the circuit produces */
};

/* Resolve a path from an experiment file: as given if it exists (absolute, or relative to
 * the working directory), else relative to the experiment file's directory, else to that
 * directory's parent (experiments/ sits beside models/). */
cgpc_status exp_resolve_path(const char *exp_file, const char *path, char *out, size_t cap,
                             struct cgpc_err *err);

/* One byte into an FNV-1a 64 hash (start from EXP_FNV1A64_INIT). */
#define EXP_FNV1A64_INIT 0xcbf29ce484222325ull
static inline uint64_t exp_fnv1a64_byte(uint64_t h, uint8_t byte)
{
    return (h ^ byte) * 0x100000001b3ull;
}

/* FNV-1a 64 of a file's bytes (after gunzip if .gz). */
cgpc_status exp_file_fingerprint(const char *path, uint64_t *fp, struct cgpc_err *err);

/* Build everything from a validated configuration. */
cgpc_status exp_setup_init(struct exp_setup *s, const struct exp_config *cfg,
                           struct cgpc_err *err);
void exp_setup_free(struct exp_setup *s);

/* CGP parameters from the configuration for data set ds: thresholds given per weight in int8
 * units e become SE e^2 * N, MSE e^2, AE e * N, with N = the cared output values of ds. */
cgpc_status exp_params_from_config(const struct exp_config *cfg, const struct cgp_dataset *ds,
                                   struct cgp_params *p, struct cgpc_err *err);

/* Copy of the selected output tensors' codes, to restore after trying circuits. */
struct exp_codes_backup {
    int n_tensors;
    int8_t **saved; /* [n_tensors], NULL for tensors without selected outputs */
    int64_t *len;
};
cgpc_status exp_codes_save(const struct exp_setup *s, struct exp_codes_backup *b,
                           struct cgpc_err *err);
void exp_codes_restore(const struct exp_setup *s, const struct exp_codes_backup *b);
void exp_codes_backup_free(struct exp_codes_backup *b);

/* Write a circuit's outputs (outputs[o * n_items + d], as cgp_eval_reference returns them)
 * into the model's codes at the selected output weights; literals and padding are skipped.
 * Returns the number of weights written. */
int64_t exp_apply_outputs(struct exp_setup *s, const int8_t *outputs);

#endif
