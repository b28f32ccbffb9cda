/* train.h - training in C: per-sample backprop, fixed-order gradient reduction, SGD/Adam, QAT.
 *
 * Job: fit a float nn_model to an nn_dataset. Determinism: results are a function of the
 * seed only, bit-identical for any --threads. A batch is split into fixed chunks of
 * NN_TRAIN_CHUNK samples (independent of the thread count); each chunk accumulates its
 * samples' gradients sequentially into its own buffer; chunks are then summed in chunk order.
 * Shuffling is keyed by (seed, epoch); augmentation (random shifts of up to `shift` pixels,
 * zero fill) by (seed, epoch, image index).
 *
 * QAT (opts.qat): the model must already carry int8 scales (nn_quantize_model() on float
 * weights = calibration). Forward passes then use fake-quantized weights (per-channel
 * symmetric, recomputed from the float master weights every step) and fake-quantized
 * activations at every quantized tensor (input and each conv/linear output, with the fixed
 * calibrated scales); gradients pass straight through (STE). Afterwards call
 * nn_quantize_model() again to produce the int8 parameters from the fine-tuned weights.
 *
 * Low-bit QAT (opts.lowbit, instead of opts.qat; no calibration needed): every step the
 * weights are fake-quantized with the per-layer low-bit specs of nn/lowbit.h (dequantized to
 * float, stochastic draws keyed by (seed, step)), activations stay float (a low-bit model
 * runs on the float path); gradients pass straight through to the float master weights.
 * MobileNetV2 trains its folded weights with BatchNorm frozen, as int8 QAT does. End-of-epoch
 * test accuracy is measured with the fake-quantized weights. Afterwards lowbit_quantize() the
 * model with the same specs.
 *
 * The library never prints: progress goes to an optional callback (the CLI prints it). */
#ifndef CGPC_NN_TRAIN_H
#define CGPC_NN_TRAIN_H

#include <stdint.h>

#include "common/error.h"
#include "nn/dataset.h"
#include "nn/lowbit.h"
#include "nn/model.h"

#define NN_TRAIN_CHUNK 8

enum nn_optim { NN_OPTIM_ADAM = 0, NN_OPTIM_SGD };

struct nn_train_progress {
    int epoch, epochs;     /* 1-based epoch */
    int batch, nbatches;   /* 1-based batch within the epoch */
    double loss, acc;      /* running mean train loss / accuracy this epoch */
    double images_per_s;   /* this epoch so far */
    double seconds;        /* since the start of training */
    int end_of_epoch;      /* 1 on the last call of an epoch */
    double test_top1;      /* end of epoch, if a test set was given; else -1 */
    double test_loss;
};

struct nn_train_opts {
    int epochs;          /* default 10 */
    int batch;           /* default 64 */
    double lr;           /* default 1e-3 (Adam) */
    enum nn_optim optim; /* default Adam */
    double momentum;     /* SGD momentum, default 0.9 */
    double weight_decay; /* L2, default 0 */
    int cosine;          /* cosine learning-rate decay to 0 over all steps, default 1 */
    int shift;           /* augmentation: random shift up to +-shift px, default 0 */
    uint64_t seed;
    int limit;           /* use the first `limit` training images; <= 0: all */
    int qat;             /* quantization-aware fine-tuning, see above */
    const struct lowbit_spec *lowbit; /* low-bit QAT: specs[NN_MAX_LAYERS] or NULL */
    const struct nn_dataset *test; /* optional: evaluated after each epoch */
    /* Compression constraints (compress/), indexed like the trained parameters (m->arena,
     * or m->tarena for BatchNorm models; not with QAT); NULL = none. mask[p] == 0: parameter
     * p is pruned and stays exactly zero (its gradient is dropped). cluster[p] >= 0: p is
     * shared and always equals centroids[cluster[p]]; the gradients of a centroid's members
     * are summed into the centroid's, which the optimizer updates (Deep Compression's
     * centroid fine-tuning; assignments fixed). */
    const uint8_t *mask;
    const int32_t *cluster;
    float *centroids;     /* [ncentroids], updated in place */
    int ncentroids;
    /* Knowledge distillation (Hinton, Vinyals, Dean 2015), both trainers:
     * teacher_logits[i * nclasses + c] for every training image i (NULL: none). Loss of a
     * sample: (1 - alpha) * CE(z, label) + alpha * T^2 * KL(softmax(t / T) || softmax(z / T))
     * for student logits z and teacher logits t; its gradient wrt z: (1 - alpha) *
     * (softmax(z) - onehot) + alpha * T * (softmax(z / T) - softmax(t / T)). */
    const float *teacher_logits;
    double temperature;   /* T > 0, default 4 */
    double alpha;         /* weight of the soft term, 0..1, default 0.9 */
    /* Feature-based hint (FitNets, Romero et al. 2015), per-sample trainer only (models
     * without BatchNorm): hint_target[i * hint_c * HW ...] is a teacher activation [hint_c]
     * [H][W] for every training image i, matched to the output y (after its activation) of
     * student layer hint_layer, [Cs][H][W] (H x W the same; a linear layer is 1 x 1). A
     * learned 1x1 regressor r(y)[c,p] = rb[c] + sum_s rw[c,s] y[s,p] maps Cs to hint_c
     * channels when they differ (identity when equal); rw starts U(-1/sqrt(Cs), 1/sqrt(Cs))
     * from the keyed stream (seed), rb at 0, both trained with the model (same optimizer)
     * and discarded afterwards. Added to a sample's loss: hint_weight * mean over the hint_c
     * x HW elements of (r(y) - target)^2. hint_layer < 0 or hint_target NULL: none. */
    const float *hint_target;
    int hint_layer;       /* default -1 */
    int hint_c;
    double hint_weight;   /* default 1 */
    void (*progress)(const struct nn_train_progress *p, void *ctx);
    void *ctx;
};

void nn_train_defaults(struct nn_train_opts *o);

cgpc_status nn_train(struct nn_model *m, const struct nn_dataset *train,
                     const struct nn_train_opts *o, struct cgpc_err *err);

/* Mean loss and gradient (sum over the samples / n) of the model on images idx[0..n) without
 * augmentation: the building block of nn_train, exposed for tests (gradient checks,
 * determinism). grad has nn_model_param_count() floats in the model's arena layout. */
cgpc_status nn_train_gradient(const struct nn_model *m, const struct nn_dataset *ds,
                              const int *idx, int n, float *grad, double *loss,
                              struct cgpc_err *err);

/* Regressor parameters of the hint in o (see nn_train_opts): hint_c * Cs + hint_c floats
 * (weights [hint_c][Cs], then biases), 0 when the channel counts agree or there is no hint. */
size_t nn_hint_regressor_size(const struct nn_model *m, const struct nn_train_opts *o);

/* nn_train_gradient with the loss options of o (distillation, hint; ds image idx[k] is
 * training image idx[k] for teacher logits and hint targets) and the hint regressor reg
 * (nn_hint_regressor_size floats, NULL if 0): grad has nn_model_param_count() +
 * nn_hint_regressor_size() floats, the regressor's gradient last. Models without BatchNorm. */
cgpc_status nn_train_gradient_opts(const struct nn_model *m, const struct nn_dataset *ds,
                                   const int *idx, int n, const struct nn_train_opts *o,
                                   const float *reg, float *grad, double *loss,
                                   struct cgpc_err *err);

#endif
