/* cmodel.h - the compressed model file (cgpc-deep v1): pruned, weight-shared, Huffman-coded
 * weights stored the way Deep Compression stores them (Han, Mao, Dally, ICLR 2016, sec. 2-4).
 *
 * Job: encode a float model's weight tensors losslessly into sparse relative indices,
 * codebook indices and (optionally) Huffman-coded streams; decode such a file back into the
 * float model, bit for bit; report every stored part's exact size (Table 3 of the paper).
 *
 * What is encoded, per weighted layer: the weight tensor the model trains (the unfolded
 * conv weights of a BatchNorm model, else the weights). A weight is a zero when its bits are
 * all zero (+0.0). Codebook: the layer's distinct non-zero values (bit patterns), sorted, as
 * float32 (dense mode adds the zero); more than 256 distinct values: no codebook, values
 * stored as raw float32 bits. Two layouts are sized and the smaller one is written:
 *   dense:  one value code per weight;
 *   sparse: r-bit relative indices (huffman.h: gaps, filler codes for padding zeros; r = 1..8
 *           chosen per layer) plus one value code per kept weight.
 * Value codes are ceil(log2(codebook size)) bits, relative indices r bits; with Huffman
 * coding on, each of the two streams is canonical-Huffman coded (huffman.h) when that, table
 * included, is smaller. Biases (or the
 * BatchNorm parameters: gamma, beta, running mean and variance) are stored as float32.
 *
 * File: a safetensors container (nn/safetensors.h), __metadata__ {"format": "cgpc-deep",
 * "format_version": "1", "arch", "input_size" (non-LeNet-5) and the model's metadata}; per
 * weighted layer L (state_dict prefix):
 *   L.weight.shape    I64 [ndim]  weight shape
 *   L.weight.header   I64 [8]     {layout 0 dense / 1 sparse, r, codebook size (0 = raw
 *                                  float32), Huffman bits (1 values, 2 indices), sparse codes, value codes,
 *                                  value-stream bits, index-stream bits}
 *   L.weight.codebook F32 [K]     (K > 0)
 *   L.weight.values   U8          value stream (MSB first)
 *   L.weight.index    U8          relative-index stream (sparse)
 *   L.weight.values_table, L.weight.index_table  U8   Huffman code lengths, 5 bits per
 *                                  symbol, packed (huffman)
 * and the float tensors the model's float file has besides its weights (biases, BatchNorm),
 * under their usual names. Stored size (what the storage model counts) = streams + tables +
 * codebooks + biases/BatchNorm + a 64-bit header per layer; the container's JSON header is
 * file overhead, reported apart.
 *
 * Loading: nn_model_load() hands a cgpc-deep file to cpr_model_decode(), which rebuilds the
 * float model (every command that takes a model accepts the file).
 *
 * Ownership: stats are plain values; nothing returned borrows the model. */
#ifndef CGPC_COMPRESS_CMODEL_H
#define CGPC_COMPRESS_CMODEL_H

#include <stdint.h>

#include "common/error.h"
#include "nn/model.h"
#include "nn/safetensors.h"

#define CPR_FORMAT "cgpc-deep"
#define CPR_FORMAT_VERSION "1"
#define CPR_LAYER_HEADER_BITS 64 /* per layer: layout, r, K, flags, counts */
/* Most weights a file may decode to, all layers together (256 MiB as float32; MobileNetV2 has
 * 3.5 M): checked on the shapes before decoding, since a one-entry codebook stores a weight
 * in 0 bits and the file size does not bound them. */
#define CPR_MAX_WEIGHTS ((int64_t)1 << 26)

/* The exact stored size of one layer's parts (bits). */
struct cpr_layer_stats {
    char name[32];
    uint64_t n;            /* weights */
    uint64_t kept;         /* non-zero weights */
    int sparse, r;         /* layout; r: relative-index bits (sparse) */
    int k;                 /* codebook entries (0: raw float32 values) */
    int value_code_bits;   /* fixed-width value code bits: ceil(log2 K), 32 raw */
    int huffman;           /* bit 0: value codes Huffman-coded, bit 1: relative indices */
    uint64_t codes;        /* sparse codes (kept + fillers) */
    uint64_t value_codes;  /* value codes (kept, or n dense) */
    uint64_t codebook_bits, value_bits, value_table_bits, index_bits, index_table_bits;
    uint64_t bias_bits;    /* biases or BatchNorm parameters, float32 */
    uint64_t nbias;        /* their count */
    int bias_is_bn;        /* the four BatchNorm tensors rather than a bias */
    uint64_t total_bits;   /* all of the above + CPR_LAYER_HEADER_BITS */
};

struct cpr_stats {
    int nlayers;
    struct cpr_layer_stats layers[NN_MAX_LAYERS];
    uint64_t total_bits;
    uint64_t float32_weight_bits; /* the weights at 32 bits (the float32 reference) */
};

/* Size every weighted layer of a float model as cpr_model_save would store it. */
cgpc_status cpr_model_stats(const struct nn_model *m, int huffman, struct cpr_stats *s,
                            struct cgpc_err *err);

/* Encode and write atomically; fills *s (optional). */
cgpc_status cpr_model_save(const struct nn_model *m, const char *path, int huffman,
                           struct cpr_stats *s, struct cgpc_err *err);

/* The stored parts of an encoded model into the storage model (energy/storage.h), per layer:
 *   codebook       "k-means centroids (float32)"         K x 32
 *   index          "codebook index (b bits | Huffman)"    value codes
 *   float_weights  "float32 values" (no codebook: raw values)
 *   sparse_index   "relative index (r bits | Huffman)"    sparse codes incl. padding fillers
 *   entropy_table  "Huffman code lengths"                 5 bits per symbol of both alphabets
 *   bias           "float32 bias" / "BatchNorm (4 x float32)"
 *   index          "layer header"                         CPR_LAYER_HEADER_BITS
 * storage_model_total_bits(out) == s->total_bits afterwards (out is appended to). */
struct storage_model;
cgpc_status cpr_storage_account(const struct cpr_stats *s, struct storage_model *out,
                                struct cgpc_err *err);

/* Account a float model's storage as cpr_model_save with Huffman coding stores it (a
 * cgpc-deep file loads as such a model): the entry point for model-metrics rows of pruned /
 * shared models. */
cgpc_status cpr_storage_account_model(const struct nn_model *m, struct storage_model *out,
                                      struct cgpc_err *err);

/* The stored sizes of a loaded cgpc-deep file: m (its decoded model, cpr_model_decode) sized
 * again with the file's Huffman setting (on when any layer header has a Huffman-coded stream;
 * the encoder is deterministic and the decoded model equals the encoded one, so these are the
 * file's parts). */
cgpc_status cpr_file_stats(const struct nn_st_file *st, const struct nn_model *m,
                           struct cpr_stats *s, struct cgpc_err *err);

/* 1 when a safetensors file's metadata says cgpc-deep. */
int cpr_is_compressed(const struct nn_st_file *st);

/* Decode a loaded cgpc-deep file into a float model (m is initialised here). */
cgpc_status cpr_model_decode(const struct nn_st_file *st, struct nn_model *m,
                             struct cgpc_err *err);

/* The tensor a layer's weights are trained and stored in: tw for BatchNorm models, else w. */
float *cpr_layer_weights(const struct nn_model *m, const struct nn_layer *l);

#endif
