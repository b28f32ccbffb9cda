/* storage.h - the one storage model of every compressed model: what is stored, to the bit, and
 * the energy of one inference computed from it.
 *
 * Job: a compressed model (CGP circuits with kept int8 weights, value slots, b-bit
 * re-quantization, low-bit PTQ/QAT, pruning + k-means + Huffman, ...) is described as a list of
 * stored parts, each with its exact size in bits. Nothing a model needs at inference is free:
 * weight codes, biases, scales, codebooks, per-weight indices, sparse indices, entropy tables,
 * the circuit description (bit-packed genes) all count. From a storage model come
 *  - stored_bits (storage_model_total_bits) and the compression against the two references
 *    every result is compared with: float32 (weights and biases at 32 bits) and int8 (weight
 *    codes at 8 bits + 32-bit per-channel weight scales + int32 biases + 32-bit activation
 *    scales and zero points, exactly the tensors cgpc's int8 safetensors files hold);
 *  - the energy of one inference (storage_energy_account): every part that is read is read
 *    once per batch of B images from the chosen memory (ceil(bits / 8) bytes per part, divided
 *    by B per image), plus the MACs at the gate table's MAC energy, plus the circuits' energy
 *    (gates x evaluations per inference) the caller passes in.
 *
 * Deployments: STORAGE_DEPLOY_STORED (default) reads every part. STORAGE_DEPLOY_HARDWIRED
 * models a circuit built in fixed logic: parts added with STORAGE_PART_LOGIC (the circuit
 * description, and in value-slot mode its slot indices and slot values) are not read; their
 * cost is silicon area instead (compare storage_logic_area with the SRAM/ROM area of the bits
 * the circuit replaces, energy/storage.c cites the per-bit figures).
 *
 * Bit-exact circuit descriptions (storage_circuit_bits): active nodes only, renumbered in
 * topological order; node k stores its function id in ceil(log2(n_functions)) bits and each
 * input pin in ceil(log2(n_inputs + k)) bits (any primary input or earlier active node); each
 * output gene takes ceil(log2(n_inputs + n_nodes)) bits. A circuit with no active nodes still
 * pays its output genes.
 *
 * Ownership: struct storage_model owns its parts array (storage_model_init / _free; free on a
 * zeroed or NULL model is a no-op). All counts are uint64_t and every product and sum is
 * overflow-checked (CGPC_ERR_RANGE). Nothing here prints except storage_model_format, which
 * writes to the caller's stream. */
#ifndef CGPC_ENERGY_STORAGE_H
#define CGPC_ENERGY_STORAGE_H

#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "energy/energy.h"

enum storage_kind {        /* what a part is; storage_kind_name() gives the CSV spelling */
    STORAGE_WEIGHTS,       /* weight codes at b bits each (int8 = 8, low-bit = b) */
    STORAGE_FLOAT_WEIGHTS, /* float32 / fp16 weights */
    STORAGE_BIAS,          /* biases (int32 in int8 models, float32 in float) */
    STORAGE_SCALE,         /* quantization scales / zero points (32 bits each) */
    STORAGE_CODEBOOK,      /* landmark tables, k-means centroids, slot values */
    STORAGE_INDEX,         /* per-weight indices into a codebook / value slots */
    STORAGE_SPARSE_INDEX,  /* relative position indices of a sparse layer */
    STORAGE_ENTROPY_TABLE, /* Huffman / ANS tables */
    STORAGE_CIRCUIT,       /* CGP circuit description (bit-packed genes) */
    STORAGE_RESIDUAL,      /* coded residuals (predictive mode) */
    STORAGE_KIND_COUNT
};

/* Part flags. */
#define STORAGE_PART_LOGIC 1u /* realised in fixed logic under STORAGE_DEPLOY_HARDWIRED */

struct storage_part {
    char layer[96];         /* layer name ("conv1"); "" for model-wide parts */
    enum storage_kind kind;
    char what[64];          /* free text: "int8 codes", "slot index (8 bits)", ... */
    uint64_t count;         /* items stored (weights, genes, entries) */
    uint64_t bits;          /* exact bits of the part */
    unsigned flags;         /* STORAGE_PART_* */
};

struct storage_model {
    struct storage_part *parts;
    int n, cap;
};

void storage_model_init(struct storage_model *m);
void storage_model_free(struct storage_model *m);
/* Deep copy: *dst is initialised (need not be) and owns its own parts. */
cgpc_status storage_model_copy(struct storage_model *dst, const struct storage_model *src,
                               struct cgpc_err *err);

/* Append a part of `bits` bits holding `count` items. CGPC_ERR_ARG for a bad kind or a name
 * that does not fit; CGPC_ERR_NOMEM. Layer/what are copied. */
cgpc_status storage_model_add(struct storage_model *m, const char *layer, enum storage_kind kind,
                              const char *what, uint64_t count, uint64_t bits,
                              struct cgpc_err *err);
/* The same with flags (STORAGE_PART_LOGIC for parts a hardwired circuit holds in logic). */
cgpc_status storage_model_add_flags(struct storage_model *m, const char *layer,
                                    enum storage_kind kind, const char *what, uint64_t count,
                                    uint64_t bits, unsigned flags, struct cgpc_err *err);
/* Append `count` items of `bits_each` bits: bits = count * bits_each, overflow-checked. */
cgpc_status storage_model_add_items(struct storage_model *m, const char *layer,
                                    enum storage_kind kind, const char *what, uint64_t count,
                                    unsigned bits_each, struct cgpc_err *err);

/* Remove `count` items from the first part of `kind` in `layer` (the part's bits shrink by
 * count x its bits per item, which must be a whole number). Used to start from a reference and
 * take out the weights a circuit or a codebook now produces. CGPC_ERR_NOT_FOUND if there is no
 * such part, CGPC_ERR_ARG if it holds fewer items or its bits per item are not whole. */
cgpc_status storage_model_take(struct storage_model *m, const char *layer,
                               enum storage_kind kind, uint64_t count, struct cgpc_err *err);

/* Sums; CGPC_ERR_RANGE if a sum overflows 64 bits (never for models built with _add, which
 * checks the running total). */
uint64_t storage_model_total_bits(const struct storage_model *m);
uint64_t storage_model_layer_bits(const struct storage_model *m, const char *layer);
uint64_t storage_model_kind_bits(const struct storage_model *m, enum storage_kind kind);

/* ceil(log2(choices)): 0 for 0 or 1 choice, 1 for 2, 8 for 256, 9 for 257. */
unsigned storage_bits_for_choices(uint64_t choices);

/* "weights", "float_weights", "bias", "scale", "codebook", "index", "sparse_index",
 * "entropy_table", "circuit", "residual"; "?" for anything else. */
const char *storage_kind_name(enum storage_kind kind);

/* ---- references ------------------------------------------------------------------------------
 * One storage_layer per layer that stores something, in network order; a residual add has
 * weights = channels = 0 and qparams = 2. */
struct storage_layer {
    char name[96];
    uint64_t weights;  /* weight elements */
    uint64_t channels; /* output channels: one bias and (int8) one weight scale each */
    uint64_t qparams;  /* 32-bit activation quantization parameters of the int8 model: 4 for a
                        * conv / linear (input and output scale and zero point), 2 for an add */
    uint64_t macs;     /* multiply-accumulates per inference */
};

/* float32: per layer "float32 weights" (weights x 32) and "float32 bias" (channels x 32). */
cgpc_status storage_reference_float32(const struct storage_layer *layers, int n,
                                      struct storage_model *out, struct cgpc_err *err);
/* int8: per layer "int8 codes" (weights x 8), "int32 bias" (channels x 32), "weight scale"
 * (channels x 32) and "activation qparams" (qparams x 32). */
cgpc_status storage_reference_int8(const struct storage_layer *layers, int n,
                                   struct storage_model *out, struct cgpc_err *err);
/* Sum of macs over the layers (CGPC_ERR_RANGE on overflow). */
cgpc_status storage_layers_macs(const struct storage_layer *layers, int n, uint64_t *macs,
                                struct cgpc_err *err);

/* ---- circuit descriptions -------------------------------------------------------------------- */
/* Exact bits of a circuit as described above: nodes[n_nodes] active gates in topological order
 * (sources as in struct energy_node), n_inputs primary inputs, n_functions functions in the
 * function set (>= 1), n_outputs output genes. CGPC_ERR_ARG for negative counts or an op
 * outside ops.h. */
cgpc_status storage_circuit_bits(const struct energy_node *nodes, int n_nodes, int n_inputs,
                                 int n_functions, int n_outputs, uint64_t *bits,
                                 struct cgpc_err *err);

/* ---- energy per inference -------------------------------------------------------------------- */
enum storage_deployment {
    STORAGE_DEPLOY_STORED = 0, /* every part is read from memory (default) */
    STORAGE_DEPLOY_HARDWIRED   /* parts flagged STORAGE_PART_LOGIC are fixed logic, not read */
};
/* "stored" / "hardwired" -> deployment; CGPC_ERR_ARG otherwise. */
cgpc_status storage_deployment_parse(const char *s, enum storage_deployment *out,
                                     struct cgpc_err *err);
const char *storage_deployment_name(enum storage_deployment d);

struct storage_energy {
    uint64_t stored_bits; /* every part */
    uint64_t read_bits;   /* parts read from memory (all, or all but logic when hardwired) */
    uint64_t read_bytes;  /* per batch: sum over read parts of ceil(bits / 8) */
    unsigned batch;       /* images per batch (B >= 1) */
    double read_pj;       /* per image: read_bytes * memory pJ/byte / B */
    double mac_pj;        /* per image: macs * gate table's MAC energy */
    double circuit_pj;    /* per image: as passed (sum of circuit energy x evaluations) */
    double total_pj;      /* read_pj + mac_pj + circuit_pj */
};

/* Account one inference of model m. circuit_pj: energy of all circuit evaluations of one
 * inference (>= 0, finite). CGPC_ERR_ARG for batch 0 or a bad circuit energy, CGPC_ERR_RANGE
 * on overflow. Pure. */
cgpc_status storage_energy_account(const struct storage_model *m, enum storage_deployment dep,
                                   const struct energy_memory *mem,
                                   const struct energy_gate_table *t, uint64_t macs,
                                   double circuit_pj, unsigned batch, struct storage_energy *out,
                                   struct cgpc_err *err);

/* The columns every result row gets. */
struct storage_comparison {
    uint64_t stored_bits;
    double compression_vs_float32; /* float32 bits / stored bits */
    double compression_vs_int8;    /* int8 bits / stored bits */
    double energy_pj;              /* total per inference */
    double saving_pj;              /* baseline total - this total (negative: costs more) */
    double saving_pct;             /* 100 * saving_pj / baseline total (0 if that is 0) */
};

/* e: the compressed model's energy; baseline: the int8 reference's, same memory, batch and
 * deployment. */
void storage_compare(const struct storage_energy *e, const struct storage_energy *baseline,
                     uint64_t float32_bits, uint64_t int8_bits, struct storage_comparison *out);

/* ---- hardwired area -------------------------------------------------------------------------- */
/* Area of storing `bits` bits on chip, um^2, at 45 nm (figures and sources in storage.c). */
enum storage_array { STORAGE_ARRAY_SRAM, STORAGE_ARRAY_ROM };
double storage_array_area_um2(enum storage_array a, uint64_t bits);
const char *storage_array_source(enum storage_array a);

/* One line per part (layer, kind, what, count, bits, flags) and the total, aligned. */
cgpc_status storage_model_format(const struct storage_model *m, FILE *out, struct cgpc_err *err);

#endif
