/* walk.h - (private to src/nn) THE layer walker of a forward pass, float and int8, shared by
 * the per-image path (eval.c, lanes = 1) and the batch-major path (batch.c, lanes =
 * NN_BATCH).
 *
 * A pass is the same sequence for both layouts: normalise (and, int8, quantize with the first
 * layer's input parameters) the pixels into `cur`, run each layer from `cur` into `nxt` with
 * the kernel the layout supplies, keep a copy for a later residual add when the layer says
 * so (`keep`), swap, and read the logits off the last activation (int8: dequantized with the
 * last (scale, zero point) the walk tracked). Activations are [C][H][W][lanes] (lanes = 1 is
 * the plain [C][H][W] layout); lanes past the n images hold zero images, computed and
 * ignored. Only the kernels differ between layouts, so both paths walk layers, residuals and
 * quantization parameters in exactly one way.
 *
 * Scratch (64-byte aligned): three activation buffers of nn_walk_act_bytes() each (current,
 * next, residual), then the layout's kernel scratch (per image: im2col; batch: the packed
 * GEMM input), which is handed to conv and linear kernels. */
#ifndef CGPC_NN_WALK_H
#define CGPC_NN_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

/* Float kernels of one layout. conv and linear apply the layer's fused activation; the
 * walker applies it after the other ops. */
struct nn_walk_f32 {
    int lanes;
    void (*conv)(const struct nn_layer *l, const float *x, float *y, void *scratch);
    void (*linear)(const struct nn_layer *l, const float *x, float *y, void *scratch);
    void (*maxpool)(const struct nn_layer *l, const float *x, float *y);
    void (*avgpool)(const struct nn_layer *l, const float *x, float *y);
};

/* int8 kernels of one layout; [qmin, qmax] is the layer's output clamp (nn_layer_qclamp),
 * zp the input's zero point (average pooling keeps it). */
struct nn_walk_u8 {
    int lanes;
    void (*conv)(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax, uint8_t *y,
                 void *scratch);
    void (*linear)(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax, uint8_t *y,
                   void *scratch);
    void (*maxpool)(const struct nn_layer *l, const uint8_t *x, uint8_t *y);
    void (*avgpool)(const struct nn_layer *l, const uint8_t *x, int zp, uint8_t *y);
};

/* Bytes of one activation buffer: m->max_act values of `lanes` images, float or quint8. */
size_t nn_walk_act_bytes(const struct nn_model *m, int lanes, int quantized);

/* logits[n][nclasses] of the n <= lanes images at pixels + i * in_c*in_h*in_w. */
void nn_walk_float(const struct nn_model *m, const struct nn_walk_f32 *k, const uint8_t *pixels,
                   int n, float *logits, void *scratch);
void nn_walk_int8(const struct nn_model *m, const struct nn_walk_u8 *k, const uint8_t *pixels,
                  int n, float *logits, void *scratch);

#endif
