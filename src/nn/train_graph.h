/* train_graph.h - private to src/nn: the layer-major batch trainer for models with BatchNorm
 * and residual adds (MobileNetV2), used by nn_train() when m->has_bn.
 *
 * Why layer-major: BatchNorm in training mode normalises with the statistics of the whole
 * batch, so a layer can only finish once every sample of the batch has reached it. Each layer
 * runs over all samples (OpenMP, static schedule over samples for per-sample work, over the
 * fixed chunks of NN_TRAIN_CHUNK samples for weight gradients), and every reduction over the
 * batch (BN statistics, BN parameter gradients, weight gradients) is summed in sample / chunk
 * order: results are bit-identical for any thread count.
 *
 * BatchNorm: y = gamma * (z - mean) / sqrt(var + eps) + beta with the batch mean and biased
 * variance over (samples, H, W) per channel, exactly PyTorch's training mode; the running
 * statistics are updated once per batch with momentum 0.1 and the unbiased variance
 * (graph_trainer_update_stats). Gradients are means over the batch, in m->tarena's layout.
 *
 * QAT (t->qat, set after init with params and np): BatchNorm is frozen in its folded form,
 * the folded weights/biases (m->arena layout) are trained through fake-quantized weights and
 * activations with the fixed calibrated scales (straight-through), as nn_train's QAT.
 *
 * Ownership: graph_trainer_init allocates everything for batches up to max_batch samples;
 * graph_trainer_free releases it (safe on a zeroed struct). */
#ifndef CGPC_NN_TRAIN_GRAPH_H
#define CGPC_NN_TRAIN_GRAPH_H

#include "common/error.h"
#include "nn/dataset.h"
#include "nn/model.h"

#define NN_BN_MOMENTUM 0.1f

struct graph_trainer {
    const struct nn_model *m;
    int max_batch, threads, shift;
    int qat;              /* QAT: BatchNorm frozen (folded w/b trained), fake quantization */
    int float_acts;       /* with qat: activations stay float (low-bit weight QAT) */
    const float *params;  /* QAT: fake-quantized copy of m->arena read by forward/backward */
    const float *teacher; /* distillation: teacher logits per training image, or NULL */
    float temp, alpha;    /* distillation temperature and soft-loss weight */
    size_t np;            /* gradient floats: m->ntrain, or the folded count in QAT */
    uint64_t seed, epoch;
    size_t act_off[NN_MAX_LAYERS + 1], act_total; /* per-sample activations (layer outputs) */
    size_t xh_off[NN_MAX_LAYERS], xh_total;       /* per-sample BN-normalised values */
    size_t bn_off[NN_MAX_LAYERS], bn_total;       /* per-layer channel statistics */
    float *acts, *grads, *xhat;                   /* [max_batch][...] */
    float *scratch;                               /* [threads][max_act + max_col] */
    double *part;                                 /* [max_batch][2 * max channels] */
    float *mean, *var;                            /* [bn_total] batch statistics */
    float *chunk_grad;                            /* [max chunks][ntrain] */
    double *chunk_loss;
    int *chunk_correct;
    uint8_t *shifted;                             /* [max_batch][image] augmented images */
    double *red;                                  /* [2 * maxc] reduced channel sums */
    float *lossv;                                 /* [max_batch] per-sample loss */
    int *hit;                                     /* [max_batch] per-sample top-1 hit */
    int maxc;
};

/* Distillation loss of one sample and its gradient dz wrt the student logits z[n], from the
 * teacher logits tz[n] (train.c, shared by both trainers; see nn_train_opts). */
float nn_distill_xent(const float *z, int n, int label, const float *tz, float temp, float alpha,
                      float *dz);

/* Training image i of ds with its augmentation (train.c, shared by both trainers): a random
 * shift of up to +-shift pixels with zero fill keyed by (seed, epoch, i), written to buf
 * (rows*cols bytes); without shift the image itself. */
const uint8_t *nn_train_image(const struct nn_dataset *ds, int i, int shift, uint64_t seed,
                              uint64_t epoch, uint8_t *buf);

cgpc_status graph_trainer_init(struct graph_trainer *t, const struct nn_model *m, int max_batch,
                               struct cgpc_err *err);
void graph_trainer_free(struct graph_trainer *t);

/* grad[m->ntrain] = mean gradient over images idx[0..n) (n <= max_batch), with the current
 * training parameters of m; *loss_sum and *correct over the batch. Keeps the batch
 * statistics for graph_trainer_update_stats. */
void graph_batch_gradient(struct graph_trainer *t, const struct nn_dataset *ds, const int *idx,
                          int n, float *grad, double *loss_sum, int *correct);

/* Running statistics update of every BN layer from the last batch (momentum 0.1). */
void graph_trainer_update_stats(const struct graph_trainer *t, struct nn_model *m, int n);

#endif
