/* model.h - a network = a list of layers over one sample's activations; LeNet-5 today.
 *
 * Job: hold a model's architecture and its parameters (float, int8, or both during QAT),
 * load and save them as safetensors with PyTorch state_dict names, and expose each layer's
 * kind, weight shape, weight count, MACs per inference and output shape (the energy module's
 * accounting) and the int8 weight codes by tensor name (CGP replaces codes in place; call
 * nn_eval() again afterwards: no reload needed).
 *
 * Shape of a model: layers run in order; layer i reads the output of layer i-1 (layer 0 reads
 * the normalised input [in_c, in_h, in_w]). Conv and linear layers carry a fused activation.
 * A flatten is implicit (activations are contiguous [C,H,W]). MobileNetV2: depthwise conv =
 * NN_OP_CONV2D with groups == in_c, NN_OP_ADD reads an earlier output (layer->src), the
 * global average pool is NN_OP_AVGPOOL over the whole map; its BatchNorms are folded into the
 * convolutions at load time (the unfolded parameters are kept for training, see has_bn).
 *
 * Ownership: nn_model_* allocate all parameter arrays in one arena owned by the model;
 * nn_model_free() releases everything (NULL-safe). Layer pointers stay valid for the
 * model's lifetime. A model is read-only during nn_eval() and may be shared by threads.
 *
 * Files (docs/ARCHITECTURE.md has the exact layout; mobilenetv2 float files are torchvision
 * state_dicts: conv `<layer>.weight` without bias, BatchNorm `<bn>.{weight,bias,running_mean,
 * running_var}` (`num_batches_tracked` I64 is ignored), `classifier.1.{weight,bias}`; its
 * int8 files are like LeNet-5's plus `features.N.add.{output_scale,output_zero_point}`):
 *   float: tensors `<layer>.weight` F32 [OC,C/groups,KH,KW] or [OUT,IN], `<layer>.bias` F32;
 *          __metadata__ {"format":"cgpc-float","format_version":"1","arch":"lenet5",...};
 *          files without metadata (exported by PyTorch) are recognised by names and shapes.
 *   int8:  `<layer>.weight` I8 (symmetric per output channel, zero point 0),
 *          `<layer>.weight_scale` F32 [OC], `<layer>.bias` I32 [OC] in units of
 *          input_scale*weight_scale[oc], `<layer>.input_scale` F32 [1],
 *          `<layer>.input_zero_point` I32 [1], `<layer>.output_scale` F32 [1],
 *          `<layer>.output_zero_point` I32 [1];
 *          __metadata__ {"format":"cgpc-int8","format_version":"1","arch":"lenet5",...}. */
#ifndef CGPC_NN_MODEL_H
#define CGPC_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "nn/kernels.h"
#include "nn/safetensors.h"

#define NN_MAX_LAYERS 80
#define NN_MAX_META 16
#define NN_FORMAT_VERSION "1"

/* NN_OP_ADD: residual add, y = x + a[src] where a[0] is the model input and a[k] the output
 * of layer k-1 (MobileNetV2's inverted-residual shortcut). NN_OP_AVGPOOL with kh = in_h,
 * kw = in_w is the global average pool. */
enum nn_op { NN_OP_CONV2D, NN_OP_LINEAR, NN_OP_MAXPOOL, NN_OP_AVGPOOL, NN_OP_ADD };

#define NN_BN_EPS 1e-5f /* torchvision BatchNorm2d eps */

struct nn_layer {
    enum nn_op op;
    char name[32];   /* state_dict prefix: "conv1"; pools: "pool1" (no tensors) */
    enum nn_act act; /* fused activation after conv/linear */
    int in_c, in_h, in_w, out_c, out_h, out_w; /* linear: in_c = IN, out_c = OUT, h = w = 1 */
    int kh, kw, stride, pad, groups;           /* conv; pools use kh = kw = K, stride */
    int64_t nweights; /* weight elements (conv1: 150) */
    int64_t macs;     /* multiply-accumulates per inference (conv1: 86,400) */
    /* float parameters (NULL in an int8-only model) */
    float *w, *b;
    /* int8 parameters (NULL in a float-only model) */
    int8_t *qw;      /* same shape as w */
    float *w_scale;  /* [out_c] */
    int32_t *qb;     /* [out_c], units in_scale * w_scale[oc] */
    float *qmult;    /* [out_c] derived: (float)(in_scale*w_scale[oc]) / out_scale */
    float in_scale, out_scale;
    int in_zp, out_zp;
    int src;         /* NN_OP_ADD: index of the activation added (see enum nn_op) */
    int keep;        /* this layer's output is read again by a later NN_OP_ADD */
    char bn[32];     /* BatchNorm folded into this conv ("features.0.1"), "" if none */
    /* training parameters of a model with BatchNorm (m->has_bn; NULL otherwise), in
     * m->tarena: tw = unfolded weight [same shape as w]; with bn: bn_w/bn_b (gamma/beta) and
     * the running statistics bn_mean/bn_var [out_c]; without bn: tb = bias [out_c]. The
     * inference parameters w/b are derived from them by nn_model_fold_bn(). */
    float *tw, *tb, *bn_w, *bn_b, *bn_mean, *bn_var;
};

struct nn_model {
    char arch[32];     /* "lenet5" */
    int has_float;     /* float parameters present */
    int quantized;     /* int8 parameters present and used by nn_eval */
    int in_c, in_h, in_w, nclasses;
    float in_mean, in_std; /* input x = (pixel/255 - mean) / std */
    int nlayers;
    struct nn_layer layers[NN_MAX_LAYERS];
    size_t max_act;    /* largest activation (elements) of one sample, input included */
    size_t max_col;    /* largest im2col scratch (elements) of one sample */
    void *arena;       /* float parameter arrays */
    void *qarena;      /* int8 parameter arrays */
    int nmeta;
    struct nn_st_meta meta[NN_MAX_META]; /* extra metadata saved with the model */
    int has_bn;        /* float model with BatchNorm training parameters (mobilenetv2) */
    void *tarena;      /* training parameters: [trainable (ntrain floats) | running stats] */
    size_t ntrain;     /* trainable floats in tarena: per weighted layer tw, then bn_w, bn_b
                        * (BatchNorm) or tb */
};

/* MobileNetV2 as torchvision's mobilenet_v2(width_mult, num_classes) with `in_c` input
 * channels and in_size x in_size inputs (square, >= 32 recommended: the map is divided by
 * 32). Channels follow torchvision's _make_divisible(c * width, 8) rule, the last conv has
 * _make_divisible(1280 * max(1, width), 8) channels. Layer names are the state_dict
 * prefixes of the convolutions ("features.0.0", "features.1.conv.0.0", ...,
 * "features.18.0"), plus "features.N.add" for the residual adds, "avgpool" and
 * "classifier.1". Parameters: torchvision's init (kaiming normal fan_out convs, BN 1/0 with
 * running stats 0/1, linear N(0, 0.01) and zero bias) from the keyed stream `seed`; folded. */
cgpc_status nn_model_init_mobilenetv2(struct nn_model *m, double width, int in_c, int in_size,
                                      int nclasses, uint64_t seed, struct cgpc_err *err);

/* Recompute the inference parameters w/b of every weighted layer from the training
 * parameters (BatchNorm folded: s = gamma / sqrt(var + eps), w = tw * s, b = beta - mean * s).
 * No-op for models without BatchNorm. */
void nn_model_fold_bn(struct nn_model *m);

/* Absorb the BatchNorms for good: the training parameters become the folded convolutions
 * (tw = w, tb = b for every weighted layer, no bn names, no running statistics), so training
 * and weight sharing act on the weights inference runs. Saved, such a MobileNetV2 has
 * `<layer>.bias` F32 for every convolution and no BatchNorm tensors; the loader recognises it
 * by a float `features.0.0.bias` without `features.0.1.weight`. Inference is unchanged (w/b
 * are the folded values). No-op without BatchNorm; on failure the model is unchanged. */
cgpc_status nn_model_absorb_bn(struct nn_model *m, struct cgpc_err *err);

/* An int8 model as a float one: w = code x weight_scale[channel], b = bias code x input scale
 * x weight_scale[channel] (float32), the int8 parameters and scales dropped (quantized = 0).
 * A model with residual adds (MobileNetV2) gets training parameters without BatchNorm, as
 * after nn_model_absorb_bn. No-op for a float model. */
cgpc_status nn_model_dequantize(struct nn_model *m, struct cgpc_err *err);

/* The LeNet-5 architecture with float parameters all zero (use nn_model_init_params). */
cgpc_status nn_model_init_lenet5(struct nn_model *m, struct cgpc_err *err);

/* LeNet-5 with conv1/conv2 channels and fc1/fc2 units dims[0..3] (standard: 6, 16, 120, 84;
 * fc3 stays 10). Files record the widths in their tensor shapes; the loader reads them. */
cgpc_status nn_model_init_lenet5_dims(struct nn_model *m, const int dims[4],
                                      struct cgpc_err *err);

/* LeNet-5 at a width multiplier: each of the four widths round(standard * width), >= 1
 * (0.5: 3 and 8 channels, 60 and 42 units; knowledge-distillation students). */
cgpc_status nn_model_init_lenet5_width(struct nn_model *m, double width, struct cgpc_err *err);

/* PyTorch default init (kaiming_uniform a=sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
 * weights and biases), from the keyed stream (seed, layer index). */
void nn_model_init_params(struct nn_model *m, uint64_t seed);

/* Allocate the int8 parameter arrays (zeroed) next to the float ones. */
cgpc_status nn_model_alloc_int8(struct nn_model *m, struct cgpc_err *err);

/* Scales of the layers without weights from their predecessor: pools keep their input's
 * (scale, zero point); an add's input is its predecessor's output (its output scale is its
 * own, and its second input's is the output scale of layer src - 1). */
void nn_model_chain_scales(struct nn_model *m);

/* Recompute every layer's qmult from its scales (after changing scales). */
void nn_model_update_requant(struct nn_model *m);

void nn_model_free(struct nn_model *m);

/* Load a float, int8 or compressed (cgpc-deep) model (detected by __metadata__ "format";
 * none = float from PyTorch). */
cgpc_status nn_model_load(const char *path, struct nn_model *m, struct cgpc_err *err);
/* The same from a safetensors image in memory (malloc'ed; taken over and freed whatever the
 * outcome). `path` names it in messages. */
cgpc_status nn_model_parse(unsigned char *buf, size_t len, const char *path, struct nn_model *m,
                           struct cgpc_err *err);

/* Build the model from an already loaded safetensors file (borrowed; its path names it in
 * messages): what nn_model_load does after reading the file. A cgpc-deep file (compressed,
 * compress/cmodel.h) is decoded by nn_model_load before this. */
cgpc_status nn_model_load_st(const struct nn_st_file *st, struct nn_model *m,
                             struct cgpc_err *err);

/* Save as int8 if m->quantized, else float; metadata: format, format_version, arch and
 * m->meta. Atomic. */
cgpc_status nn_model_save(const struct nn_model *m, const char *path, struct cgpc_err *err);

/* Set (or replace) one metadata entry saved with the model. */
cgpc_status nn_model_set_meta(struct nn_model *m, const char *key, const char *value,
                              struct cgpc_err *err);

/* Metadata value by key, or NULL. */
const char *nn_model_get_meta(const struct nn_model *m, const char *key);

/* Layer by name ("conv1"), or NULL. */
struct nn_layer *nn_model_layer(struct nn_model *m, const char *name);

/* Weight shape of a conv ([OC, C/groups, KH, KW], returns 4) or linear ([OUT, IN], 2);
 * 0 for layers without weights. */
int nn_layer_weight_shape(const struct nn_layer *l, int64_t shape[4]);

/* Flat offset of weight (oc, ic, ky, kx) in a conv layer's weight array (ic within the
 * group); for linear layers use (out, in, 0, 0). */
static inline size_t nn_weight_index(const struct nn_layer *l, int oc, int ic, int ky, int kx)
{
    if (l->op == NN_OP_LINEAR)
        return (size_t)oc * (size_t)l->in_c + (size_t)ic;
    return (((size_t)oc * (size_t)(l->in_c / l->groups) + (size_t)ic) * (size_t)l->kh +
            (size_t)ky) * (size_t)l->kw + (size_t)kx;
}

/* The int8 codes of tensor `name` ("conv1.weight") with its layer and shape; the codes are
 * writable (CGP). CGPC_ERR_NOT_FOUND if no such weight, CGPC_ERR_ARG if the model is not
 * quantized. */
cgpc_status nn_model_weight_codes(struct nn_model *m, const char *name, int8_t **codes,
                                  struct nn_layer **layer, int64_t shape[4], int *ndim,
                                  struct cgpc_err *err);

/* Total parameter count (weights + biases). */
int64_t nn_model_param_count(const struct nn_model *m);

const char *nn_op_name(enum nn_op op);

#endif
