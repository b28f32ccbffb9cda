/* compare.h - model files as model-metrics rows (issues #12, #13): a float32 or int8 model, a
 * low-bit model (cgpc-lowbit) or a Deep-Compression model (cgpc-deep) measured beside the CGP
 * rows, with the same columns and the same accounting.
 *
 * What a file stores (its storage model, energy/storage.h):
 *   float32      storage_reference_float32 of its architecture
 *   int8         storage_reference_int8
 *   cgpc-lowbit  lowbit_storage_account (exp/lowbit_storage.h): codes at b bits, scales,
 *                landmark tables, multi-point alphas, fp16/float32 weights, float32 biases
 *   cgpc-deep    cpr_storage_account of the file's sizes (compress/cmodel.h): codebooks,
 *                value codes, relative indices, Huffman tables, biases / BatchNorm, headers
 * The row's columns come from exp_account_storage against the int8 and float32 references of
 * the same architecture (compression), the int8 reference's energy (saving), the memory,
 * deployment and batch of the options; no circuit, no decoding MACs (the weights are decoded
 * once, when the model is loaded, and computed in float).
 *
 * Row fields: experiment = the file's name without its directory and ".safetensors" (the
 * caller may make it unique), layers "all", run -1, rank 1, reached 1, threshold and errors
 * NaN (no threshold, no circuit), weights_replaced = weights not stored as int8 codes (all
 * weights; 0 for an int8 file), baseline columns NaN (no int8 model is measured beside it).
 * method and bits:
 *   float32 32 | int8 8 | deep B (B: the widest codebook index, 32 when a layer stores raw
 *   float32 values) | low-bit: the file's `lowbit_method` metadata (midrise, round-uniform,
 *   stochastic-histogram, multipoint, fp16, mixed, tune, qat-midrise-per-channel, ...), else
 *   the layers' storage kind, with "-per-channel" when every coded layer has one group per
 *   output channel; bits = the code width all coded layers share (fp16: 16); layers
 *   at different widths: bits 0 and the method starts with "mixed" (unless it already says
 *   mixed or tune).
 *
 * Ownership: struct exp_compare owns its decoded model and storage model (exp_compare_free). */
#ifndef CGPC_EXP_COMPARE_H
#define CGPC_EXP_COMPARE_H

#include <stdint.h>

#include "common/error.h"
#include "compress/cmodel.h"
#include "energy/storage.h"
#include "exp/account.h"
#include "exp/metrics.h"
#include "nn/lowbit.h"
#include "nn/model.h"

struct exp_compare {
    char label[96];              /* file name without directory and ".safetensors" */
    char method[48];
    int bits;
    const char *format;          /* "cgpc-float", "cgpc-int8", "cgpc-lowbit", "cgpc-deep" */
    struct nn_model model;       /* the decoded model: what is evaluated */
    struct storage_model parts;  /* what the file stores */
};

/* Open any model file cgpc reads; c is initialised here (free with exp_compare_free). */
cgpc_status exp_compare_open(struct exp_compare *c, const char *path, struct cgpc_err *err);
void exp_compare_free(struct exp_compare *c);

/* The method, bits and stored parts of low-bit layers q of model m (m's `lowbit_method`
 * metadata names the method), into c (c->parts initialised here; c->model untouched). */
cgpc_status exp_compare_lowbit(struct exp_compare *c, const struct lowbit_model *q,
                               const struct nn_model *m, struct cgpc_err *err);
/* The same for a Deep-Compression model of sizes s. */
cgpc_status exp_compare_deep(struct exp_compare *c, const struct cpr_stats *s,
                             struct cgpc_err *err);

/* The accounting columns of c against base b (made from a model of c's architecture). */
cgpc_status exp_compare_account(const struct exp_account_base *b, const struct exp_compare *c,
                                struct exp_account *out, struct cgpc_err *err);

/* One row: c's accounting (o->gates, memory, deployment, batch) and its top-1, top-5 and loss
 * on the first o->limit images (<= 0: all) of val and test. */
cgpc_status exp_compare_measure(struct exp_compare *c, const struct nn_dataset *val,
                                const struct nn_dataset *test,
                                const struct exp_metrics_opts *o, struct exp_metrics_row *r,
                                struct cgpc_err *err);

/* "midrise, 4 bits" / "mixed-round-uniform, mixed bits" / "float32, 32 bits": a label for
 * messages (eval). */
void exp_compare_describe(const struct exp_compare *c, char *buf, size_t size);

#endif
