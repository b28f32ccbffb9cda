/* lowbit.h - low-bit weight quantization (b = 1..8 bits, per tensor or per output channel),
 * fp16 storage, multi-point quantization, and the cgpc-lowbit model file.
 *
 * Job: turn float weights into stored codes plus the few floats needed to decode them, and
 * back. Activations are untouched: a low-bit model is evaluated on the float path with its
 * weights dequantized to float (what is stored is the low-bit form; what is computed is float).
 *
 * Kernels (pure: flat arrays, no allocation unless a scratch is named, no printing). A
 * "group" is the slice of weights that shares parameters: the whole tensor, or one output
 * channel (weights [OC, ...] are contiguous per channel). L = 2^bits levels.
 *   mid-rise     delta = 2 max|w| / L; code k = clamp(floor(w / delta) + L/2, 0, L-1);
 *                value = delta (k - L/2 + 0.5). Stored: codes + delta (1 float per group).
 *   landmarks    a sorted set of L values per group:
 *                uniform   bin centres of L equal bins over [min w, max w]:
 *                          lm_k = min + (k + 0.5) step, step = (max - min) / L
 *                          (stored as 2 floats per group: min + step / 2 and step);
 *                histogram equal-mass quantiles of the sorted weights s[0..n):
 *                          lm_k = s[floor((2k + 1) n / (2L))] (stored: L floats per group);
 *                normal    a normal prior fitted to the weights (mean mu, population sd
 *                          sigma): lm_k = mu + sigma Phi^-1((k + 0.5) / L) (L floats).
 *   round        each weight to its nearest landmark (a tie goes to the smaller one).
 *   stochastic   a weight between landmarks a <= w <= b goes to b with probability
 *                (w - a) / (b - a), else to a (so E[q] = w); outside [lm_0, lm_L-1] it is
 *                clamped. Draws come from a keyed stream (seed, layer index, group index)
 *                consumed in weight order: identical for any thread count.
 *   multipoint   w ~ sum_p alpha_p g_p with g_p on the uniform grid over [-1, 1] with
 *                increment eps = 2 / (L - 1) (grid_k = -1 + k eps): greedy residual fitting,
 *                per group: r = w; each point takes a = max|r|, g = nearest grid point of r/a
 *                (ties up), alpha = <r, g> / <g, g> (least squares, rounded to float), then
 *                r -= alpha g. A layer adds points (to all its groups at once) until
 *                ||r|| <= tol ||w|| or max_points. Stored: points x codes + points floats
 *                per group. Arithmetic in double; alpha stored as float.
 *   fp16         IEEE binary16, round to nearest even (subnormals kept, overflow to inf).
 *   packing      code i occupies bits [i b, i b + b) of a little-endian bit stream (byte j
 *                bit t = stream bit 8 j + t); ceil(n b / 8) bytes.
 *
 * Files: see lowbit_save() and docs/ARCHITECTURE.md ("Low-bit model files"). */
#ifndef CGPC_NN_LOWBIT_H
#define CGPC_NN_LOWBIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/rng.h"
#include "nn/dataset.h"
#include "nn/model.h"

#define LOWBIT_FORMAT "cgpc-lowbit"
#define LOWBIT_FORMAT_VERSION "1"
#define LOWBIT_MAX_BITS 8
#define LOWBIT_MAX_POINTS 16

enum lowbit_method { LOWBIT_MIDRISE, LOWBIT_ROUND, LOWBIT_STOCHASTIC, LOWBIT_MULTIPOINT,
                     LOWBIT_FP16 };
enum lowbit_landmarks { LOWBIT_LM_UNIFORM, LOWBIT_LM_HISTOGRAM, LOWBIT_LM_NORMAL };

/* How a layer's weights are stored (the `kind` field of a file's `<layer>.weight_lowbit`). */
enum lowbit_kind { LOWBIT_KIND_MIDRISE = 0, LOWBIT_KIND_GRID = 1, LOWBIT_KIND_TABLE = 2,
                   LOWBIT_KIND_MULTIPOINT = 3, LOWBIT_KIND_FP16 = 4, LOWBIT_KIND_FLOAT = 5 };

const char *lowbit_method_name(enum lowbit_method m);
const char *lowbit_landmarks_name(enum lowbit_landmarks l);
cgpc_status lowbit_method_parse(const char *s, enum lowbit_method *m, struct cgpc_err *err);
cgpc_status lowbit_landmarks_parse(const char *s, enum lowbit_landmarks *l,
                                   struct cgpc_err *err);

/* ---- kernels on one group of n weights ------------------------------------------------- */

/* Mid-rise step delta (> 0) for n weights at `bits`. */
float lowbit_midrise_delta(const float *w, size_t n, int bits);
/* codes[n] of w[n] with step delta; values: lowbit_midrise_value(). */
void lowbit_midrise_codes(const float *w, size_t n, int bits, float delta, uint8_t *codes);
static inline float lowbit_midrise_value(int code, int bits, float delta)
{
    return delta * ((float)code - (float)(1 << (bits - 1)) + 0.5f);
}

/* lm[L] sorted landmarks of w[n]. Histogram sorts a copy in scratch[n]. */
void lowbit_landmarks_uniform(const float *w, size_t n, int bits, float *lm);
void lowbit_landmarks_histogram(const float *w, size_t n, int bits, float *scratch, float *lm);
void lowbit_landmarks_normal(const float *w, size_t n, int bits, float *lm);

/* Standard normal quantile Phi^-1(p), 0 < p < 1 (bisection on erfc to double precision). */
double lowbit_normal_quantile(double p);

/* Nearest landmark of each weight (lm[nl] sorted ascending); ties to the smaller index. */
void lowbit_round(const float *w, size_t n, const float *lm, int nl, uint8_t *codes);

/* Stochastic rounding to lm[nl] drawing one float per weight from r (see above). */
void lowbit_stochastic(const float *w, size_t n, const float *lm, int nl, cgpc_rng *r,
                       uint8_t *codes);

/* Multi-point fitting of G groups of `per` weights each (w[G*per]), at most max_points
 * points, stopping when ||r|| <= tol ||w|| over all groups. codes[max_points][G*per],
 * alpha[G][max_points] (only the first `points` used), scratch: G*per doubles. Returns the
 * number of points used (>= 1). */
int lowbit_multipoint(const float *w, size_t groups, size_t per, int bits, int max_points,
                      double tol, uint8_t *codes, float *alpha, double *scratch);
static inline double lowbit_grid_value(int code, int bits)
{
    return -1.0 + (double)code * (2.0 / (double)((1 << bits) - 1));
}
/* Decode multi-point codes of one group: out[i] = sum_p alpha[p] grid(codes[p*stride + i]),
 * accumulated in float in point order. */
void lowbit_multipoint_decode(const uint8_t *codes, size_t stride, size_t n, int bits,
                              const float *alpha, int points, float *out);

uint16_t lowbit_f32_to_f16(float f);
float lowbit_f16_to_f32(uint16_t h);

/* Pack n codes of `bits` (1..8) bits into ceil(n bits / 8) bytes, and back. */
size_t lowbit_packed_bytes(size_t n, int bits);
void lowbit_pack(const uint8_t *codes, size_t n, int bits, uint8_t *out);
void lowbit_unpack(const uint8_t *in, size_t n, int bits, uint8_t *codes);

/* ---- whole models ------------------------------------------------------------------------ */

/* Quantization of one layer (what the CLI's --method/--bits/--layer-bits ask for). */
struct lowbit_spec {
    enum lowbit_method method;
    enum lowbit_landmarks landmarks; /* round, stochastic */
    int bits;                        /* 1..8 (ignored by fp16) */
    int per_channel;                 /* groups = output channels, else 1 */
    int max_points;                  /* multipoint: default 4 */
    double tol;                      /* multipoint: relative L2 error target, default 0.05 */
    int keep_float;                  /* leave this layer float32 (stored as such) */
};
void lowbit_spec_defaults(struct lowbit_spec *s);

/* specs[i] = *base for every layer of m, then the overrides of `layer_bits` (NULL or ""
 * for none): "conv1=4,fc1=2,fc3=float,conv2=fp16" (bits 1..8; `float` keeps a layer float32;
 * `fp16` stores it as IEEE half). Unknown or weightless layers, bad values: CGPC_ERR_ARG
 * naming the item. */
cgpc_status lowbit_specs_parse(const struct nn_model *m, const struct lowbit_spec *base,
                               const char *layer_bits, struct lowbit_spec *specs,
                               struct cgpc_err *err);

/* One quantized layer: codes unpacked (points * nweights; fp16: halves), parameters per
 * group: midrise: params[G] = delta; grid: params[G][2] = (lm_0, step); table:
 * params[G][L]; multipoint: params[G][points] = alpha; fp16/float: none. */
struct lowbit_layer {
    int layer;       /* index in the model */
    enum lowbit_kind kind;
    int bits, groups, points;
    int64_t n;       /* weights */
    uint8_t *codes;
    uint16_t *half;  /* fp16 */
    float *params;
    int nparams;     /* floats in params */
};

struct lowbit_model {
    int n;
    struct lowbit_layer layers[NN_MAX_LAYERS];
};

/* Quantize every weighted layer of the float model m with specs[i] (indexed by layer;
 * layers without weights ignored), stochastic draws keyed by seed. The model is not
 * changed; call lowbit_apply() to put the dequantized weights into m->w. Multipoint layers
 * report their point counts in q->layers[k].points. */
cgpc_status lowbit_quantize(const struct nn_model *m, const struct lowbit_spec *specs,
                            uint64_t seed, struct lowbit_model *q, struct cgpc_err *err);

/* Dequantize q's weights into m's float weights (m->w; BatchNorm training parameters, if
 * any, are dropped: the model becomes a plain folded float model). */
void lowbit_apply(const struct lowbit_model *q, struct nn_model *m);

void lowbit_model_free(struct lowbit_model *q);

/* lowbit_fake_quant for every weighted layer i with specs[i]: arena_out has the layout of
 * m->arena (float weights and biases; biases are not touched). */
cgpc_status lowbit_fake_quant_model(const struct nn_model *m, const struct lowbit_spec *specs,
                                    uint64_t seed, float *arena_out, struct cgpc_err *err);

/* Fake quantization for low-bit QAT: out[nweights] = layer li's weights w (its float master
 * copy) quantized with spec s and decoded back to float (stochastic draws keyed by seed). */
cgpc_status lowbit_fake_quant(const struct nn_layer *l, int li, const struct lowbit_spec *s,
                              uint64_t seed, const float *w, float *out, struct cgpc_err *err);

/* Mean stored bits per weight of q (codes and decoding parameters, biases excluded). */
double lowbit_bits_per_weight(const struct lowbit_model *q);

/* Stored bits of one layer's weights (codes + decoding parameters), not counting the bias:
 * exact, no byte padding. */
uint64_t lowbit_layer_code_bits(const struct lowbit_layer *l);
uint64_t lowbit_layer_param_bits(const struct lowbit_layer *l);

/* Save q with m's float biases as a cgpc-lowbit safetensors file (atomic). Per weighted
 * layer `<L>`: `<L>.weight_lowbit` I32 [4] = {kind, bits, groups, points};
 * `<L>.weight_shape` I64 [ndim]; `<L>.bias` F32 [OC]; and by kind
 *   midrise: `<L>.weight_codes` U8 [bytes], `<L>.weight_scale` F32 [G] (delta)
 *   grid:    `<L>.weight_codes` U8 [bytes], `<L>.weight_grid` F32 [G, 2] (lm_0, step)
 *   table:   `<L>.weight_codes` U8 [bytes], `<L>.weight_levels` F32 [G, L]
 *   multipoint: `<L>.weight_codes` U8 [points, bytes], `<L>.weight_alpha` F32 [G, points]
 *   fp16:    `<L>.weight` F16 [shape];   float: `<L>.weight` F32 [shape]
 * metadata: format cgpc-lowbit, format_version 1, arch, (mobilenetv2) input_size and
 * width, and m's metadata. */
cgpc_status lowbit_save(const struct lowbit_model *q, const struct nn_model *m,
                        const char *path, struct cgpc_err *err);

/* Read the low-bit layers of an open cgpc-lowbit file (validated: kinds, bits, groups,
 * points, shapes against m's layers, tensor sizes, codes in range). m must have its
 * architecture; q gets owned copies. */
cgpc_status lowbit_read(const struct nn_st_file *st, struct nn_model *m,
                        struct lowbit_model *q, struct cgpc_err *err);

/* nn_model_load()'s hook for cgpc-lowbit files: build the architecture from the metadata
 * (lenet5; mobilenetv2 from width, input_size and the stem/classifier shapes), read and
 * dequantize the weights into a float model (no BatchNorm parameters), biases as stored. */
cgpc_status lowbit_load_model(const struct nn_st_file *st, struct nn_model *m,
                              struct cgpc_err *err);

/* Open a cgpc-lowbit file: m = the decoded float model with the file's metadata, q = its
 * low-bit layers (for storage accounting and re-saving). A file that is not cgpc-lowbit is
 * CGPC_ERR_FORMAT. */
cgpc_status lowbit_read_file(const char *path, struct nn_model *m, struct lowbit_model *q,
                             struct cgpc_err *err);

/* ---- mixed precision (lowbit_mixed.c) ----------------------------------------------------
 * Sensitivity: every weighted layer alone quantized with `base` at each width of bits[]
 * (the others float), evaluated on a validation set. Allocation: start every layer at the
 * widest option, then repeatedly narrow the layer whose next step costs the least validation
 * loss per stored bit saved, (loss(b_next) - loss(b)) / (cost(b) - cost(b_next)), ties to the
 * earlier layer, until the total cost is within the budget; then widen, while it fits, the
 * layer whose next step wins the most validation loss per bit. Costs are the layer's stored
 * weight bits (codes + parameters) or anything proportional per layer (energy). */
#define LOWBIT_MAX_OPTIONS 8

struct lowbit_sens {
    int n;                       /* weighted layers */
    int layer[NN_MAX_LAYERS];    /* their model indices */
    int nbits, bits[LOWBIT_MAX_OPTIONS];
    int64_t weights[NN_MAX_LAYERS];
    double float_top1, float_loss;
    double top1[NN_MAX_LAYERS][LOWBIT_MAX_OPTIONS], loss[NN_MAX_LAYERS][LOWBIT_MAX_OPTIONS];
    uint64_t stored[NN_MAX_LAYERS][LOWBIT_MAX_OPTIONS]; /* weight bits of the layer at bits[j] */
};

/* Fill s (bits[] ascending, 1..8, distinct). m is float; its weights are restored afterwards
 * (a BatchNorm model is left folded, without training parameters). */
cgpc_status lowbit_sensitivity(struct nn_model *m, const struct lowbit_spec *base,
                               const int *bits, int nbits, const struct nn_dataset *val,
                               uint64_t seed, struct lowbit_sens *s, struct cgpc_err *err);

/* Bits per model layer (out[model layer index]; unweighted layers untouched) under a budget
 * of total stored weight bits. CGPC_ERR_RANGE when even the narrowest options exceed it. */
cgpc_status lowbit_allocate(const struct lowbit_sens *s, uint64_t budget_bits, int *out,
                            struct cgpc_err *err);

/* ---- accuracy-aware tuning (lowbit_tune.c) -----------------------------------------------
 * As Intel Neural Compressor's basic strategy, on the validation set, every trial logged:
 * 1. uniform candidates: {midrise, round-uniform, round-normal, round-histogram} x {per
 *    tensor, per channel} x bits 1..8, and fp16, sorted by cost (ties: that order); evaluated
 *    cheapest first; the first within max_drop points of the float top-1 is accepted (it is
 *    the cheapest uniform candidate within the drop) and phase 1 stops.
 * 2. per-layer refinement (unless no_refine): layers by stored bits, largest first (ties:
 *    model order); each layer is narrowed one bit at a time while the model stays within the
 *    drop; a failing step is undone and the next layer tried.
 * Cost: stored bits (codes, scales/tables, float32 biases) or energy per inference (MACs at
 * mac_pj + those parts read once, each in whole bytes, at pj_per_byte: as the storage model's
 * storage_energy_account counts them). The search stops early at max_trials or
 * time_limit (the best accepted so far is the result). Log: CSV `# cgpc-tune v1`, then
 * `trial,phase,method,granularity,layer_bits,stored_bits,energy_pj,val_top1,drop_points,
 * accepted`; appended and flushed per trial; with resume, trials already in the log (same
 * method, granularity and layer_bits) are read back instead of evaluated, so an interrupted
 * search continues where it stopped and reaches the same result. */
enum lowbit_objective { LOWBIT_OBJ_BITS, LOWBIT_OBJ_ENERGY };

/* Room for a layer_bits text "name=b;..." of every layer (MobileNetV2's 53 take ~1,200). */
#define LOWBIT_LAYER_BITS_MAX (NN_MAX_LAYERS * 40)

struct lowbit_tune_opts {
    double max_drop;        /* points of top-1, default 0.5 */
    enum lowbit_objective objective;
    double mac_pj, pj_per_byte; /* energy model (objective energy and the log) */
    int max_trials;         /* <= 0: no limit */
    double time_limit;      /* seconds, <= 0: no limit */
    int no_refine;
    const char *log_path;   /* NULL: no log */
    int resume;
    uint64_t seed;
};

struct lowbit_tune_result {
    int found, trials, evaluated;   /* evaluated: trials not read back from the log */
    double float_top1, top1;
    uint64_t stored_bits;
    double energy_pj;
    char method[32], granularity[16], layer_bits[LOWBIT_LAYER_BITS_MAX];
    int stopped_early;              /* max_trials or time_limit reached */
};

void lowbit_tune_defaults(struct lowbit_tune_opts *o);

/* Search as above; best[NN_MAX_LAYERS] = the result's specs (when res->found). m is float;
 * its weights are restored afterwards (BatchNorm dropped, folded). */
cgpc_status lowbit_tune(struct nn_model *m, const struct nn_dataset *val,
                        const struct lowbit_tune_opts *o, struct lowbit_spec *best,
                        struct lowbit_tune_result *res, struct cgpc_err *err);

#endif
