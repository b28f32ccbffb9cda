/* account.h - honest accounting of model-metrics rows (issue #11): the storage model of an int8
 * model whose selected weights are produced by a CGP circuit (plain or value slots) or replaced
 * by the no-search reference (uniform b-bit re-quantization of the same weights), and the
 * columns every row gets: stored bits, compression vs float32 and int8, energy per inference
 * from the stored bits, saving vs the int8 model, and the hardwired-area comparison.
 *
 * Storage of a row = the int8 reference (codes, int32 biases, scales, activation qparams) minus
 * the codes of the replaced weights, plus
 *  - CGP: the circuit description (storage_circuit_bits: active nodes, pins, output genes) and,
 *    in value-slot mode, one slot index of ceil(log2 K) bits per replaced weight (K = slots);
 *    these parts are STORAGE_PART_LOGIC (fixed logic under --deployment hardwired);
 *  - residual mode (issue 18): the circuit (a predictor) and the entropy-coded residual that
 *    rebuilds the weights from its predictions: its table (STORAGE_ENTROPY_TABLE) and stream
 *    (STORAGE_RESIDUAL), stored data even when the circuit is hardwired;
 *  - re-quantization to b bits: one b-bit code per replaced weight and its affine decoding
 *    parameters (offset and step, 32 bits each); decoding costs one MAC (the gate table's) per
 *    re-quantized weight per inference.
 * Slot-index lookups are not charged energy. The circuit's energy per inference (gates x
 * evaluations) is the caller's.
 *
 * Ownership: struct exp_account_base owns its layer list and reference models (init / free). */
#ifndef CGPC_EXP_ACCOUNT_H
#define CGPC_EXP_ACCOUNT_H

#include <stdint.h>

#include "energy/energy.h"
#include "energy/storage.h"
#include "nn/model.h"

struct exp_account_base {
    struct storage_layer *layers; /* exp_model_storage_layers of the model */
    int n_layers;
    struct storage_model int8;    /* the int8 reference */
    uint64_t int8_bits, float32_bits, macs;
    const struct energy_gate_table *gates;
    const struct energy_memory *memory;
    enum storage_deployment deployment;
    unsigned batch;
    struct storage_energy baseline; /* the int8 reference's energy, same memory/batch/deployment */
};

cgpc_status exp_account_base_init(struct exp_account_base *b, const struct nn_model *m,
                                  const struct energy_gate_table *gates,
                                  const struct energy_memory *memory,
                                  enum storage_deployment deployment, unsigned batch,
                                  struct cgpc_err *err);
void exp_account_base_free(struct exp_account_base *b);
/* Index of the storage layer named `name` (a weight tensor "conv1.weight" matches "conv1");
 * -1 if none. */
int exp_account_layer(const struct exp_account_base *b, const char *name);

/* What replaces the selected weights. */
struct exp_method {
    const uint64_t *replaced;  /* [b->n_layers]: weights no longer stored as int8 codes */
    uint64_t circuit_bits;     /* circuit description (0: no circuit) */
    double circuit_pj;         /* circuit energy per inference */
    double circuit_area_um2;   /* circuit gate area (hardwired comparison) */
    unsigned index_bits;       /* bits per replaced weight: slot index or b-bit code; 0: none */
    uint64_t codebook_entries; /* stored 8-bit values (a codebook), 0: none */
    uint64_t decode_params;    /* 32-bit decoding parameters (re-quantization: offset, step) */
    uint64_t decode_macs;      /* MACs per inference to decode weights (energy at the MAC's) */
    int logic;                 /* 1: circuit and slot indices are fixed logic when hardwired */
    uint64_t residual_table_bits;  /* residual mode: the Huffman table (stored, never logic) */
    uint64_t residual_stream_bits; /* residual mode: the coded residual */
};

struct exp_account {
    uint64_t stored_bits;
    uint64_t circuit_bits, index_bits, codebook_bits; /* the new parts, summed */
    uint64_t decode_bits;  /* decoding parameters */
    uint64_t residual_bits; /* residual mode: table + coded residual */
    double compression_vs_float32, compression_vs_int8;
    double inference_pj;   /* energy of one inference from the stored bits */
    double read_pj, mac_pj;
    double circuit_pj;     /* circuit evaluations, or weight decoding, per inference */
    double baseline_pj;    /* the int8 reference's */
    double saving_pj, saving_pct;
    double circuit_area_um2;            /* as given */
    double replaced_sram_um2, replaced_rom_um2; /* on-chip storage of the replaced int8 codes */
};

cgpc_status exp_account_row(const struct exp_account_base *b, const struct exp_method *mth,
                            struct storage_model *model_out, struct exp_account *out,
                            struct cgpc_err *err);

/* The columns of a row whose whole storage model is s (what exp_account_row computes after
 * building one): stored bits, compression vs the base's float32 and int8 references, energy per
 * inference (s read as the base's deployment, memory and batch say, the base's MACs, plus
 * compute_pj) and saving vs the int8 reference; replaced_sram/rom_um2 for `replaced` int8 codes.
 * Fields exp_account_row adds (circuit, index, codebook and decode bits, circuit area) are left
 * as they are. */
cgpc_status exp_account_storage(const struct exp_account_base *b, const struct storage_model *s,
                                double compute_pj, uint64_t replaced, struct exp_account *out,
                                struct cgpc_err *err);

/* Uniform re-quantization of int8 values to `bits` (1..7) levels over their own range
 * [lo, hi]: q = round((v - lo) / step), step = (hi - lo) / (2^bits - 1); the value restored is
 * round(lo + q * step). n values in, n out (in == out allowed). */
void exp_requantize(const int8_t *in, int8_t *out, int64_t n, int bits);

#endif
