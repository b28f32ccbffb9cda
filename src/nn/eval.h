/* eval.h - inference: one sample's forward pass (float or int8) and whole-dataset evaluation.
 *
 * Job: run a loaded nn_model over an nn_dataset and report top-1, top-5, mean cross-entropy
 * loss, images and seconds, optionally keeping every image's logits. nn_eval() runs
 * batches of NN_BATCH images (nn/batch.h), OpenMP parallel over batches (static schedule,
 * one scratch block per thread, allocated once per call); an image's logits do not depend
 * on its batch and the loss is summed in image order afterwards, so results are
 * bit-identical for any thread count. nn_forward*() below is the per-image path. The
 * model is only read: CGP may overwrite int8 codes between calls.
 *
 * Input: pixel p (0..255) -> x = (p/255 - in_mean) / in_std in float32 (torchvision ToTensor +
 * Normalize). int8 models quantize x with the first layer's (input_scale, input_zero_point)
 * and dequantize the last layer's output to float logits. */
#ifndef CGPC_NN_EVAL_H
#define CGPC_NN_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "nn/dataset.h"
#include "nn/model.h"

struct nn_eval_opts {
    int limit;     /* evaluate the first `limit` images; <= 0: all */
    float *logits; /* NULL, or [images, nclasses] filled in dataset order */
};

struct nn_eval_result {
    double top1, top5; /* fractions in [0, 1] */
    double loss;       /* mean softmax cross-entropy (natural log) */
    int images;
    double seconds;    /* wall time of the forward passes (not loading) */
};

/* Bytes of scratch one thread needs for nn_forward(). */
size_t nn_forward_scratch_size(const struct nn_model *m);

/* Normalised float input of one image: x[in_c*in_h*in_w]. */
void nn_input_normalize(const struct nn_model *m, const uint8_t *pixels, float *x);

/* One float layer: y = act(op(x; w, b)); skip: the activation an NN_OP_ADD adds (else
 * unused, may be NULL); col: im2col scratch (m->max_col floats); arg: maxpool argmax record
 * for backward or NULL. w/b are passed so training can substitute fake-quantized copies. */
void nn_layer_forward(const struct nn_layer *l, const float *w, const float *b, const float *x,
                      const float *skip, float *y, float *col, int32_t *arg);

/* logits[nclasses] for one image, float path (m->has_float) or int8 path (m->quantized).
 * scratch: nn_forward_scratch_size() bytes, 64-byte aligned. */
void nn_forward_float(const struct nn_model *m, const uint8_t *pixels, float *logits,
                      void *scratch);
void nn_forward_int8(const struct nn_model *m, const uint8_t *pixels, float *logits,
                     void *scratch);
/* Dispatch: int8 if m->quantized, else float. */
void nn_forward(const struct nn_model *m, const uint8_t *pixels, float *logits, void *scratch);

/* Clamp range [qmin, qmax] of layer l's quint8 output with its fused activation (fbgemm: ReLU
 * clamps at the zero point; ReLU6 additionally at the code of 6.0). */
void nn_layer_qclamp(const struct nn_layer *l, int *qmin, int *qmax);

/* Whole data set, NN_BATCH images per pass (nn_forward_batch, see batch.h). */
cgpc_status nn_eval(const struct nn_model *m, const struct nn_dataset *ds,
                    const struct nn_eval_opts *opts, struct nn_eval_result *res,
                    struct cgpc_err *err);

/* The output of layer `layer` (after its activation; [C][H][W] = C*H*W floats per image) for
 * every image of ds, into out[ds->n][C*H*W] (the first layer+1 layers of the model run as
 * nn_eval runs them, so any thread count gives the same values): teacher activations for
 * hint training. CGPC_ERR_ARG for a layer out of range or images of another size. */
cgpc_status nn_eval_features(const struct nn_model *m, const struct nn_dataset *ds, int layer,
                             float *out, struct cgpc_err *err);

#endif
