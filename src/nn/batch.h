/* batch.h - batch-major inference: NN_BATCH images per forward pass (what nn_eval() runs).
 *
 * Why: one image at a time, MobileNetV2 at 32x32 runs most of its layers on 4x4..1x1 maps,
 * where a kernel cannot fill a vector, and streams every weight (2.7 MB float for
 * mobilenetv2-fashion, more than the L2 cache) once per image. With the image index
 * innermost, every kernel is a loop of 16-lane vector operations whatever the map size, and
 * each weight is read once per 16 images.
 *
 * Layout of an activation: [C][H][W][NN_BATCH] (float, or quint8 codes): lane b is image b
 * of the batch. Lanes past the batch's image count hold zero images, computed and ignored.
 * Weights and biases are the model's own arrays (nothing is repacked or cached, so CGP may
 * overwrite int8 codes between passes).
 *
 * Results: lanes never mix, so an image's logits do not depend on its batch, its lane or
 * the thread count. float: every sum runs in its reference kernel's order with separate
 * multiply and add (conv: from the bias over taps in (ic, ky, kx) order, padding skipped;
 * linear: products in order, then the bias), so each kernel equals nn_conv2d_ref /
 * nn_linear_ref / nn_avgpool2d / nn_maxpool2d lane by lane (zeros up to their sign), and a
 * pass equals the chain of reference kernels. int8: integer sums and the one nn_requantize,
 * so a pass equals nn_forward_int8 code for code. The int8 1x1 convolutions and linear
 * layers use AVX-512 VNNI (vpdpbusd, 64 multiply-adds per instruction) when the build
 * target has it (-march=native) and the input channels are a multiple of 4; the portable
 * vector code otherwise (nn_bqconv2d_portable, tested against both). */
#ifndef CGPC_NN_BATCH_H
#define CGPC_NN_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

#define NN_BATCH 16 /* images per pass = lanes of one 16-float vector */

/* Bytes of scratch one thread needs for nn_forward_batch(). */
size_t nn_batch_scratch_size(const struct nn_model *m);

/* logits[n][nclasses] of the n <= NN_BATCH images at pixels + i * in_c*in_h*in_w (uint8,
 * [C][H][W] each); float path (m->has_float) or int8 path (m->quantized) as nn_forward().
 * scratch: nn_batch_scratch_size() bytes, 64-byte aligned. */
void nn_forward_batch(const struct nn_model *m, const uint8_t *pixels, int n, float *logits,
                      void *scratch);

/* 1 if the int8 kernels were built with the VNNI path. */
int nn_batch_has_vnni(void);

/* ---- kernels on the batch layout (shapes and semantics of their per-image twins in
 * kernels.h, every array with NN_BATCH lanes innermost) ----------------------------------- */

/* y[OC][OH][OW][B] = act(conv(x[C][H][W][B], w[OC][C/groups][KH][KW]) + b) with the fused
 * activation of nn_act_forward; 1x1 convolutions are a register-blocked GEMM over
 * (positions x lanes). b may be NULL. */
void nn_bconv2d(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
                int KH, int KW, int stride, int pad, int groups, enum nn_act act, float *y);
/* y[OUT][B] = act(w[OUT][IN] x[IN][B] + b). */
void nn_blinear(const float *x, int IN, const float *w, const float *b, int OUT, enum nn_act act,
                float *y);
void nn_bmaxpool2d(const float *x, int C, int H, int W, int K, int S, float *y);
void nn_bavgpool2d(const float *x, int C, int H, int W, int K, int S, float *y);

/* int8 twins (quint8 activations, see nn_qconv2d). scratch: C*H*W*NN_BATCH bytes, 64-byte
 * aligned (the VNNI path's channel-interleaved copy of x). */
void nn_bqconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                 const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                 const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, uint8_t *scratch);
/* The same without VNNI (what builds for other targets run). */
void nn_bqconv2d_portable(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                          const int32_t *bias, int OC, int KH, int KW, int stride, int pad,
                          int groups, const float *mult, int y_zp, int qmin, int qmax,
                          uint8_t *y, uint8_t *scratch);
void nn_bqlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                 int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                 uint8_t *scratch);
void nn_bqmaxpool2d(const uint8_t *x, int C, int H, int W, int K, int S, uint8_t *y);
void nn_bqavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y);

#endif
