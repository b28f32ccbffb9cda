/* metrics.h - model metrics of evolved circuits: for the best circuits of each run and
 * threshold of a `cgpc train` directory, regenerate the weights, substitute them into the int8
 * model, evaluate accuracy and loss, and account the energy saved per inference.
 *
 * Which circuits: rank 1 is best.<run>.<T>.chr (the final circuit of that threshold); ranks
 * 2..top are the earlier improvements of the same threshold from statistics.<run>.csv[.gz]
 * (newest first; their `circuit` column is evaluated directly, through slots.txt in value-slot
 * mode).
 *
 * Accounting (exp/account.h, issue #11): every row gets the storage model of the model it
 * measures (kept int8 codes, the circuit description, slot indices, ...), its stored bits,
 * compression vs float32 and int8, and the energy of one inference from those bits (read once
 * per batch; MACs; circuit x evaluations per inference: once per data item), saving vs the int8
 * model. Beside the CGP rows of each directory come the no-search reference rows: the same
 * selected weights uniformly re-quantized to b = 1..7 bits (method "requant"), same accounting.
 * Accuracy is measured on the validation split (use it to choose) and on the test split (report
 * it).
 *
 * Ownership: struct exp_metrics_dir owns the loaded experiment; rows are passed to a callback
 * and not kept. */
#ifndef CGPC_EXP_METRICS_H
#define CGPC_EXP_METRICS_H

#include <stdint.h>

#include "energy/energy.h"
#include "exp/account.h"
#include "exp/experiment.h"
#include "nn/dataset.h"
#include "nn/eval.h"

struct exp_metrics_dir {
    char dir[4096];
    struct exp_setup setup; /* experiment re-made from DIR/experiment.exp */
};

/* Open a train directory: reads experiment.exp, rebuilds the selection from the model and
 * checks the model's fingerprint against model.txt (a changed model is an error). */
cgpc_status exp_metrics_open(struct exp_metrics_dir *md, const char *dir, struct cgpc_err *err);
void exp_metrics_close(struct exp_metrics_dir *md);

struct exp_metrics_row {
    char experiment[96];
    char layers[96];         /* the layers whose weights are replaced, '+'-joined ("conv1") */
    char method[48];         /* "cgp", "requant" (the no-search reference) or a model file's
                              * method (exp/compare.h) */
    int bits;                /* requant: bits per re-quantized weight; cgp: 0 */
    int run;                 /* requant: -1 */
    double threshold;        /* per weight, int8 units, as in the experiment; requant: NaN */
    double threshold_metric; /* the same converted to the experiment's error metric */
    const char *metric;      /* that metric's name ("mse", "se", "ae") */
    int reached;             /* 1 if the stage reached its threshold (rank-1 circuit) */
    int rank;                /* 1 = best; requant: 1 */
    int64_t generation;      /* when the circuit became the parent (-1: final) */
    double error_se;         /* sum of squared errors over the regenerated weights */
    double error_mse;        /* per regenerated weight */
    double error_per_weight; /* in the threshold's unit: RMS error (se, mse) or mean absolute
                              * error (ae), int8 units */
    double energy_pj, delay_ns, area_um2; /* one circuit evaluation (requant: 0) */
    int gates, active;
    int64_t weights_replaced;
    struct exp_account acct; /* stored bits, compression, energy per inference, saving */
    struct nn_eval_result val, test;                   /* with regenerated weights */
    struct nn_eval_result baseline_val, baseline_test; /* the unchanged int8 model */
};

struct exp_metrics_opts {
    int top;                          /* circuits per run and threshold (default 1) */
    int limit;                        /* images evaluated per split, <= 0: all */
    int reference;                    /* 1: add the requant rows (b = 1..7) */
    const struct energy_gate_table *gates;
    const struct energy_memory *memory;
    enum storage_deployment deployment;
    unsigned batch;                   /* images per batch: stored parts are read once per batch */
};

/* Measure every run/threshold of md on the validation and test splits; row() is called once
 * per circuit, in run, threshold, rank order, then once per reference row (b = 1..7). A
 * nonzero return from row() stops with CGPC_ERR_INTERRUPTED. */
cgpc_status exp_metrics_measure(struct exp_metrics_dir *md, const struct nn_dataset *val,
                                const struct nn_dataset *test,
                                const struct exp_metrics_opts *opts,
                                int (*row)(void *user, const struct exp_metrics_row *r),
                                void *user, struct cgpc_err *err);

/* Evaluate a circuit in the statistics/pareto one-token form
 * ("n12=add(i0,n5);n40=shr1(n12);out=n40,i3") on ds: outputs[o * items + d]; cost via the
 * energy table. slot_of (NULL if none) maps each of ds's outputs to a token output (value
 * slots). */
cgpc_status exp_circuit_token_eval(const char *token, const struct cgp_dataset *ds,
                                   const int32_t *slot_of, const struct energy_gate_table *t,
                                   int8_t *outputs, struct energy_circuit_cost *cost,
                                   struct cgpc_err *err);

#endif
