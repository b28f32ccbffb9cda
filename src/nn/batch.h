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
 * target has it (-march=native) and the input channels are a multiple of 4, vpmaddwd on
 * int16 channel pairs on AVX-512BW/AVX2, plain int32 lanes otherwise (enum nn_qgemm; all
 * tested against the reference). Vectors are the target's native width (16, 8 or 4 floats;
 * a 16-lane column is 1, 2 or 4 of them). */
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

/* int8 twins (quint8 activations, see nn_qconv2d). scratch: nn_bqconv2d_scratch_size(C, H, W)
 * bytes, 64-byte aligned (the packed GEMM input of 1x1 convolutions). */
void nn_bqconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                 const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                 const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, void *scratch);
size_t nn_bqconv2d_scratch_size(int C, int H, int W);

/* The int8 1x1/linear GEMM kernels: VNNI (vpdpbusd on u8 quads of channels; AVX-512 VNNI
 * builds, C % 4 == 0), PAIRS (vpmaddwd on int16 pairs of channels; AVX-512BW and AVX2
 * builds), PLAIN (int32 lanes, any target). nn_batch_qgemm(): the best this build has, what
 * nn_bqconv2d uses. nn_bqconv2d_with() runs `kernel`, or the next one down that the build
 * and C allow (so tests can compare all of them with the reference). */
enum nn_qgemm { NN_QGEMM_PLAIN, NN_QGEMM_PAIRS, NN_QGEMM_VNNI };
enum nn_qgemm nn_batch_qgemm(void);
void nn_bqconv2d_with(enum nn_qgemm kernel, const uint8_t *x, int x_zp, int C, int H, int W,
                      const int8_t *w, const int32_t *bias, int OC, int KH, int KW, int stride,
                      int pad, int groups, const float *mult, int y_zp, int qmin, int qmax,
                      uint8_t *y, void *scratch);
void nn_bqlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                 int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                 void *scratch);
void nn_bqmaxpool2d(const uint8_t *x, int C, int H, int W, int K, int S, uint8_t *y);
void nn_bqavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y);

#endif
