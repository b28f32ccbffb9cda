/* quant.h - post-training quantization (PTQ) of a float model to int8, and fake quantization
 * for QAT. PyTorch eager-mode semantics (fbgemm backend, per-channel weights):
 *
 *   activations (input and every conv/linear output, after its fused ReLU): quint8, per
 *     tensor affine from a MinMax observer over the calibration images:
 *       lo = min(min, 0), hi = max(max, 0), scale = max((hi - lo) / 255, FLT_EPSILON),
 *       zero_point = clamp(0 - nearbyint(lo / scale), 0, 255)
 *   weights: qint8 symmetric per output channel (PerChannelMinMaxObserver, qint8 symmetric):
 *       scale[oc] = max(max|w[oc,...]| / 127.5, FLT_EPSILON), q = clamp(nearbyint(w/scale),
 *       -128, 127), zero point 0
 *   bias: int32 q = nearbyint(b / (in_scale * w_scale[oc])) (PyTorch keeps a float bias and
 *       fbgemm adds b/(in_scale*w_scale) unrounded; rounding it to int32 is what the issue asks
 *       for and differs by at most half a unit of the accumulator).
 *   pooling keeps the scale of its input; the next layer's input scale is the previous
 *   quantized layer's output scale.
 * Rounding everywhere: round half to even (nearbyint/lrintf in FE_TONEAREST). */
#ifndef CGPC_NN_QUANT_H
#define CGPC_NN_QUANT_H

#include "common/error.h"
#include "nn/dataset.h"
#include "nn/model.h"

/* Affine quint8 parameters for the range [lo, hi] (see above). */
void nn_qparams_affine(float lo, float hi, float *scale, int *zero_point);

/* Per-channel symmetric weight scale of n weights. */
float nn_weight_scale(const float *w, size_t n);

/* Observe activation ranges of the float model on the first `limit` images (<= 0: all) and
 * set every conv/linear layer's input/output scale and zero point (allocates int8 arrays if
 * needed). Parallel over images, result independent of the thread count. */
cgpc_status nn_calibrate(struct nn_model *m, const struct nn_dataset *ds, int limit,
                         struct cgpc_err *err);

/* Quantize float weights and biases with the current activation scales; sets m->quantized. */
void nn_quantize_weights(struct nn_model *m);

/* nn_calibrate + nn_quantize_weights. */
cgpc_status nn_quantize_model(struct nn_model *m, const struct nn_dataset *ds, int limit,
                              struct cgpc_err *err);

/* Fake-quantize a layer's float weights per output channel into out (same shape). */
void nn_fake_quant_weights(const struct nn_layer *l, const float *w, float *out);

/* Fake-quantize n activations in place with (scale, zero_point) as quint8. */
void nn_fake_quant_act(float *x, size_t n, float scale, int zero_point);

#endif
