/* kernels.h - float and int8 neural-network kernels: pure functions over flat arrays.
 *
 * Ownership: callers own every buffer; kernels never allocate.
 * Conventions: one sample at a time (callers parallelise over the batch with OpenMP, so
 * every kernel is single-threaded and deterministic; batch.h has the inference twins that
 * take 16 samples at once, and nn_eval runs those); tensors are row-major NCHW without the
 * N: an activation is [C, H, W]; conv weights are [OC, C/groups, KH, KW]; linear weights are
 * [OUT, IN]. Output sizes: OH = (H + 2*pad - KH) / stride + 1, same for OW.
 * Every fast kernel (`nn_*`) has a scalar reference (`nn_*_ref`) beside it with the same
 * signature (plus scratch), and tests/test_nn.c compares them on random inputs: the float
 * conv forward and the conv dx sum in their reference's order (bit-identical), nn_linear and
 * the conv dw sum in 16 fixed lanes (deterministic; tested to 1e-5 relative), int8 kernels
 * are exact.
 *
 * Backward kernels ACCUMULATE into dw/db (callers zero them) and OVERWRITE dx.
 *
 * int8: activations are quint8 with a per-tensor (scale, zero_point); weights are symmetric
 * qint8 per output channel (zero point 0); bias is int32 in units of in_scale*w_scale[oc].
 * The one requantization primitive is nn_requantize() (see below). */
#ifndef CGPC_NN_KERNELS_H
#define CGPC_NN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

enum nn_act { NN_ACT_NONE = 0, NN_ACT_RELU, NN_ACT_RELU6, NN_ACT_TANH };

static inline int nn_conv_out(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* ---- float ------------------------------------------------------------------------------ */

/* y[OC,OH,OW] = conv(x[C,H,W], w[OC,C/groups,KH,KW]) + b[OC] (b may be NULL).
 * Reference: direct loops, sum over (ic, ky, kx) in that order, starting from the bias. */
void nn_conv2d_ref(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
                   int KH, int KW, int stride, int pad, int groups, float *y);

/* Fast: stride 1 without padding runs a "wide" direct convolution (contiguous shifted input
 * rows, no copies); otherwise im2col per group into `col`, then a GEMM with the output
 * position innermost. Both vectorised in register blocks, same summation order as the
 * reference. `col`: scratch of nn_conv2d_col_size() elements (floats here, bytes for int8;
 * 64-byte aligned for the int8 kernel). */
size_t nn_conv2d_col_size(int C, int H, int W, int KH, int KW, int stride, int pad, int groups);
void nn_conv2d(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
               int KH, int KW, int stride, int pad, int groups, float *y, float *col);

/* Depthwise convolution (groups == C == OC, w[C,1,KH,KW]): per channel the input is copied
 * into a zero-padded plane (scratch: nn_conv2d_col_size floats) and each tap adds a shifted
 * view of it to the accumulators (stride 1: one contiguous vectorised loop over the "wide"
 * plane, as conv_wide_f32); each output is summed from its bias in (ky, kx) order with the
 * padding's zeros, exactly as the reference: identical. nn_conv2d and nn_conv2d_backward
 * dispatch here for depthwise layers; 1x1 convolutions go to a register-blocked GEMM
 * (maps >= 16 positions: the reference's order, identical; smaller maps: 16-lane dot
 * products like nn_linear, tested to 1e-5). Backward: dw summed over (oy, ox) in order and dx
 * in (ky, kx, oy) order as the reference: identical. */
void nn_dwconv2d(const float *x, int C, int H, int W, const float *w, const float *b, int KH,
                 int KW, int stride, int pad, float *y, float *scratch);
void nn_dwconv2d_backward(const float *x, int C, int H, int W, const float *w, int KH, int KW,
                          int stride, int pad, const float *dy, float *dx, float *dw, float *db);

/* Backward of nn_conv2d given dy[OC,OH,OW]: dw += dL/dw, db += dL/db (db may be NULL),
 * dx = dL/dx (dx may be NULL: not needed for the first layer).
 * Reference: direct loops, each dw element summed over (oy, ox) in order. */
void nn_conv2d_backward_ref(const float *x, int C, int H, int W, const float *w, int OC, int KH,
                            int KW, int stride, int pad, int groups, const float *dy, float *dx,
                            float *dw, float *db);
/* Fast: for stride 1 without padding, dy is laid out "wide" (rows of W, zero columns beyond
 * OW) in `scratch` (nn_conv2d_col_size floats) so every tap is a contiguous dot product
 * (dw: 16 fixed lanes summed in lane order, deterministic; differs from the reference by
 * rounding, tested to 1e-5) and a contiguous axpy (dx: same order as the reference,
 * identical). Other geometries call the reference. */
void nn_conv2d_backward(const float *x, int C, int H, int W, const float *w, int OC, int KH,
                        int KW, int stride, int pad, int groups, const float *dy, float *dx,
                        float *dw, float *db, float *scratch);

/* y[OUT] = w[OUT,IN] x[IN] + b[OUT] (b may be NULL). Reference: sequential dot product. */
void nn_linear_ref(const float *x, int IN, const float *w, const float *b, int OUT, float *y);
/* Fast: 16 fixed lanes of partial sums (lane l sums i = l mod 16), combined in lane order:
 * vectorised, deterministic, differs from the reference only by rounding (tested 1e-5). */
void nn_linear(const float *x, int IN, const float *w, const float *b, int OUT, float *y);
void nn_linear_backward(const float *x, int IN, const float *w, int OUT, const float *dy,
                        float *dx, float *dw, float *db);

/* Max / average pooling, window K, stride S, no padding: [C,H,W] -> [C,OH,OW].
 * maxpool records the flat input index of each maximum in `arg` (may be NULL) for backward;
 * ties take the first in row-major window order (as PyTorch). */
void nn_maxpool2d(const float *x, int C, int H, int W, int K, int S, float *y, int32_t *arg);
void nn_maxpool2d_backward(const float *dy, int C, int OH, int OW, const int32_t *arg,
                           float *dx, int in_size);
void nn_avgpool2d(const float *x, int C, int H, int W, int K, int S, float *y);
/* dx[C,H,W] = backward of nn_avgpool2d given dy[C,OH,OW] (overwrites dx). */
void nn_avgpool2d_backward(const float *dy, int C, int H, int W, int K, int S, float *dx);

/* y[n] = a[n] + b[n] (residual add; y may alias a). */
void nn_add(const float *a, const float *b, size_t n, float *y);

/* In-place activation over n values, and its backward given the activation's OUTPUT y:
 * dy *= act'(.) */
void nn_act_forward(enum nn_act act, float *x, size_t n);
void nn_act_backward(enum nn_act act, const float *y, float *dy, size_t n);

/* Softmax cross-entropy of logits[n] against `label`: returns the loss (natural log) and, if
 * dlogits != NULL, writes dL/dlogits = softmax - onehot. Numerically stable (max shift). */
float nn_softmax_xent(const float *logits, int n, int label, float *dlogits);

/* ---- int8 ------------------------------------------------------------------------------- */

/* THE requantization primitive (PyTorch eager mode, fbgemm ReQuantizeOutput semantics):
 *     q = clamp(nearbyintf((float)acc * multiplier) + zero_point, qmin, qmax)
 * where acc is the int32 accumulator sum((x_q - x_zp) * w_q) + bias_q and
 * multiplier = (float)(in_scale * w_scale[oc]) / out_scale computed in float32, as fbgemm
 * does. Rounding is round-half-to-even (nearbyintf in the default FE_TONEAREST mode), exactly
 * what fbgemm's std::lrintf does, so ties like 2.5 -> 2 and -2.5 -> -2 match PyTorch.
 * qmin/qmax: [0,255] for quint8 outputs; a fused ReLU clamps at the zero point instead of 0
 * (qmin = zero_point), as fbgemm does for ConvReLU / LinearReLU. */
static inline uint8_t nn_requantize(int32_t acc, float multiplier, int zero_point, int qmin,
                                    int qmax)
{
    /* nearbyintf == lrintf's rounding, but inlined and vectorisable (roundps); adding the
     * zero point and clamping in float is exact for every result that is not clamped */
    float r = nearbyintf((float)acc * multiplier) + (float)zero_point;
    r = r < (float)qmin ? (float)qmin : r;
    r = r > (float)qmax ? (float)qmax : r;
    return (uint8_t)(int)r;
}

/* Affine quantization of one float (PyTorch quantize_per_tensor): clamp(zp + nearbyint(x *
 * (1/scale)), qmin, qmax), round half to even. */
static inline int nn_quantize_value(float x, float inv_scale, int zero_point, int qmin, int qmax)
{
    float r = nearbyintf(x * inv_scale) + (float)zero_point;
    r = r < (float)qmin ? (float)qmin : r;
    r = r > (float)qmax ? (float)qmax : r;
    return (int)r;
}

static inline float nn_dequantize_value(int q, float scale, int zero_point)
{
    return (float)(q - zero_point) * scale;
}

/* y[OC,OH,OW] (quint8) = requant(conv(x - x_zp, w) + bias). mult[OC] per-channel multipliers;
 * bias may be NULL. Reference: direct loops in int32. */
void nn_qconv2d_ref(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                    const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                    const float *mult, int y_zp, int qmin, int qmax, uint8_t *y);

/* Fast: like nn_conv2d (wide direct path for stride 1 / no padding, else im2col with padding
 * filled with x_zp, so it contributes 0), int32 accumulation in register blocks with int16
 * products, zero-point correction x_zp*sum(w) per channel. Depthwise layers (groups == C
 * == OC) run channels-last in int16 with int32 accumulators per channel, 1x1 layers as int32
 * dot products over input channels of an int16-transposed input. Scratch: `col` of
 * 4 * nn_conv2d_col_size() bytes (the size of the float scratch), 4-byte aligned. Exactly
 * equal to the reference. */
void nn_qconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, uint8_t *col);

/* y[OUT] = requant(w[OUT,IN] (x - x_zp) + bias). */
void nn_qlinear_ref(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                    int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y);
void nn_qlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y);

/* Residual add of two quint8 tensors into a third quantization (y may alias a):
 *     y = clamp(nearbyintf((a - za) * (sa / so) + (b - zb) * (sb / so)) + zo, 0, 255)
 * with the two multipliers computed in float32 (the dequantize-add-quantize of PyTorch's
 * quantized add, folded into two multipliers). */
void nn_qadd(const uint8_t *a, float sa, int za, const uint8_t *b, float sb, int zb, size_t n,
             float so, int zo, uint8_t *y);

/* Average pooling on quint8 codes keeping the input's (scale, zero point):
 * y = clamp(zp + nearbyint(sum(x - zp) / (K*K)), 0, 255); K = H = W is the global pool. */
void nn_qavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y);

/* Max pooling on quint8 codes (monotone, so max of codes = code of max). */
void nn_qmaxpool2d(const uint8_t *x, int C, int H, int W, int K, int S, uint8_t *y);

#endif
