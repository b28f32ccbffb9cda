/* deep.h - the Deep Compression pipeline on a model (Han, Mao, Dally, ICLR 2016): iterative
 * magnitude pruning with masked fine-tuning, then k-means weight sharing with centroid
 * fine-tuning; cmodel.h then stores the result with relative indices and Huffman codes.
 *
 * Job: drive prune.h / kmeans.h over a model's weighted layers (the tensors the model trains:
 * cpr_layer_weights) and fine-tune through nn_train with its mask / cluster constraints.
 * Biases and BatchNorm parameters are neither pruned nor shared (stored as float32).
 *
 * Pruning schedule: the sparsity of layer L at step i is target(L) * schedule[i] (schedule
 * values are fractions of the final sparsity, increasing, the last normally 1), each step
 * followed by finetune_epochs of masked training; `global` ranks all layers' weights together
 * at prune * schedule[i] (one threshold; per-layer targets are then ignored). Sharing: every
 * layer with bits > 0 is clustered into 2^bits centroids of its kept weights, then
 * finetune_epochs of centroid fine-tuning (assignments and masks fixed).
 * Deterministic from the seed for any thread count (nn_train's guarantee; k-means is serial).
 *
 * Ownership: cpr_compress modifies the model in place; everything else it allocates is freed
 * before it returns. */
#ifndef CGPC_COMPRESS_DEEP_H
#define CGPC_COMPRESS_DEEP_H

#include "common/error.h"
#include "compress/kmeans.h"
#include "nn/dataset.h"
#include "nn/model.h"
#include "nn/train.h"

#define CPR_MAX_SCHEDULE 16

struct cpr_opts {
    double prune;                      /* target sparsity of every weighted layer, default 0 */
    double layer_prune[NN_MAX_LAYERS]; /* per layer index; < 0: `prune` (default all -1) */
    int global;                        /* one threshold over all layers, default 0 */
    int nschedule;                     /* default 1 step: {1} */
    double schedule[CPR_MAX_SCHEDULE];
    int bits;                          /* sharing: 2^bits clusters per layer, 0 = none */
    int layer_bits[NN_MAX_LAYERS];     /* per layer index; < 0: `bits` (default all -1) */
    enum cpr_init init;                /* default linear */
    int kmeans_iter;                   /* Lloyd iterations at most, default 100 */
    int finetune_epochs;               /* after each pruning step and after sharing, default 0 */
    int fold_bn;                       /* absorb BatchNorm into the convolutions first
                                        * (nn_model_absorb_bn): pruning, sharing and
                                        * fine-tuning then act on the folded weights and
                                        * biases inference runs; default 0 */
    struct nn_train_opts train;        /* fine-tuning options (epochs set per stage); the
                                        * seed also keys the random k-means initialisation */
    /* optional: called after each stage ("prune 1/3", "share") with the model */
    void (*stage)(const char *what, const struct nn_model *m, void *ctx);
    void *ctx;
};

void cpr_opts_defaults(struct cpr_opts *o);

/* --schedule text "0.5,0.75,0.9,1" into o->schedule/o->nschedule: 1..CPR_MAX_SCHEDULE
 * fractions in [0, 1], not decreasing. CGPC_ERR_ARG (message names the bad step) otherwise;
 * on failure o is unchanged. */
cgpc_status cpr_schedule_parse(const char *text, struct cpr_opts *o, struct cgpc_err *err);

/* Fold BatchNorm (fold_bn), prune (schedule + fine-tuning), share (+ fine-tuning) the model
 * in place. */
cgpc_status cpr_compress(struct nn_model *m, const struct nn_dataset *train,
                         const struct cpr_opts *o, struct cgpc_err *err);

/* One pruning pass at `frac` of the targets: masks from the current weights, applied.
 * mask (optional, nn_train's parameter layout, cpr_param_count floats) receives them. */
cgpc_status cpr_prune_model(struct nn_model *m, const struct cpr_opts *o, double frac,
                            uint8_t *mask, struct cgpc_err *err);

/* Magnitude pruning of an int8 model's weight codes (one shot, no fine-tuning): a code's
 * magnitude is |code| * weight_scale[channel], ranked as cpr_prune_model ranks floats (per
 * layer targets or global); pruned codes become 0. */
cgpc_status cpr_prune_int8(struct nn_model *m, const struct cpr_opts *o, struct cgpc_err *err);

/* Trained parameters nn_train constrains (its parameter layout). */
size_t cpr_param_count(const struct nn_model *m);

#endif
