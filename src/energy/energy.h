/* energy.h - the energy / delay / area model of circuit gates, memory reads and inference.
 *
 * Three models, one header:
 *  - gates: a table of energy (pJ per evaluation), delay (ns) and area (um^2) for every CGP
 *    operator of src/common/ops.h plus one int8 multiply-accumulate ("mac"), with cited 45 nm
 *    defaults (gates.c) or loaded from a versioned CSV file (gatefile.c, --gate-costs);
 *  - memory: the energy of reading one byte of weights from DRAM or an SRAM of a given size
 *    (memory.c, --memory);
 *  - inference: per-layer and total MAC, weight-read and circuit energy of one inference over a
 *    generic layer list (no dependency on src/nn), and the net saving when some weights are
 *    produced by circuits instead of read (inference.c).
 * Costs are real numbers in physical units, comparable across grid sizes. The gate table is
 * indexed by enum cgpc_op, so src/cgp looks costs up by operator without string compares.
 *
 * Ownership: tables, memories, layer lists and budgets are plain structs and arrays the caller
 * owns (nothing here allocates memory that outlives a call); loaders leave their output untouched
 * on failure. Circuit and inference accounting are pure functions over flat arrays with
 * caller-provided scratch; energy_circuit_account is cheap enough for the CGP hot loop. Nothing
 * here prints: the *_write and *_format functions write to a stream the caller passes. */
#ifndef CGPC_ENERGY_H
#define CGPC_ENERGY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/ops.h"

struct energy_gate_cost {
    double energy_pj; /* energy of one evaluation, pJ */
    double delay_ns;  /* input-to-output propagation delay, ns */
    double area_um2;  /* silicon area, um^2 */
};

struct energy_gate_table {
    struct energy_gate_cost op[CGPC_OP_COUNT]; /* indexed by enum cgpc_op */
    char source[CGPC_OP_COUNT][200];           /* where each row comes from (citation/assumption) */
    /* One int8 multiply-accumulate of inference (8-bit multiply + 32-bit accumulate add); the
     * row named "mac" in gate-cost files. Used by energy_inference_account, not by circuits. */
    struct energy_gate_cost mac;
    char mac_source[200];
};

/* The shipped defaults (45 nm, 8-bit; Horowitz ISSCC 2014 and EvoApprox8b, see gates.c). */
void energy_gate_table_default(struct energy_gate_table *t);

/* ---- gate-cost files (gatefile.c) ---------------------------------------------------------
 * Text, one row per line, '#' starts a comment line, blank lines ignored:
 *     # cgpc-gate-costs v1                      <- first line, exactly (the magic/version)
 *     name,energy_pJ,delay_ns,area_um2,source   <- optional column header
 *     add,0.03,0.63,70.4,[H] 8-bit add ...       <- one row per operator of ops.h, plus "mac"
 * The source column is optional and runs to the end of the line (it may contain commas).
 * Every operator and "mac" must appear exactly once; values are finite and >= 0. */
#define ENERGY_GATE_COSTS_MAGIC "# cgpc-gate-costs v1"
#define ENERGY_MAC_NAME "mac"

/* Parse gate-cost text (len bytes, need not be NUL-terminated); `origin` names it in errors
 * ("origin:line: ..."). On failure *t is unchanged. CGPC_ERR_FORMAT for every content error. */
cgpc_status energy_gate_table_parse(struct energy_gate_table *t, const char *text, size_t len,
                                    const char *origin, struct cgpc_err *err);
/* Read and parse a gate-cost file (plain or .gz). On failure *t is unchanged. */
cgpc_status energy_gate_table_load(struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err);
/* Write *t in the file format above; numbers use the shortest text that reads back exactly,
 * so write -> parse round-trips bit for bit. */
cgpc_status energy_gate_table_write(const struct energy_gate_table *t, FILE *out,
                                    struct cgpc_err *err);
/* energy_gate_table_write to `path`, atomically. */
cgpc_status energy_gate_table_save(const struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err);

/* One active gate of a decoded circuit. Nodes are given in topological order. A source index s
 * refers to primary input s when s < n_inputs, else to the output of nodes[s - n_inputs].
 * Only the first cgpc_op_arity(op) entries of `in` are read. */
struct energy_node {
    int32_t op;
    int32_t in[CGPC_OP_MAX_ARITY];
};

struct energy_circuit_cost {
    double energy_pj; /* sum over the given gates (energy_gates_total: per operator) */
    double delay_ns;  /* critical path: max over outputs of the arrival time */
    double area_um2;  /* sum over the given gates (per operator) */
    int gates;        /* gates with nonzero area (wires, constant shifts and constants are free) */
    int depth;        /* most gates with nonzero area on any input-to-output path */
};

/* Energy, area and gates (nonzero area) of count[op] gates of each operator: sums of
 * count x cost in operator order, so any circuit with the same gates gets the same doubles,
 * whatever order its gates are listed in. */
void energy_gates_total(const struct energy_gate_table *t, const int *count, double *energy_pj,
                        double *area_um2, int *gates);

/* Account a circuit: nodes[n_nodes] active gates, outputs[n_outputs] source indices.
 * scratch_arrival: n_inputs + n_nodes doubles; scratch_depth: n_inputs + n_nodes ints.
 * Pure, allocation-free. */
void energy_circuit_account(const struct energy_gate_table *t, const struct energy_node *nodes,
                            int n_nodes, int n_inputs, const int32_t *outputs, int n_outputs,
                            double *scratch_arrival, int *scratch_depth,
                            struct energy_circuit_cost *out);

/* ---- memory (memory.c) ----------------------------------------------------------------------
 * Energy of reading weights. Built-ins (Horowitz ISSCC 2014, 45 nm, per 64-bit access):
 * "dram" 1.3 nJ (the low end of 1.3-2.6 nJ: savings from not reading weights are never
 * overstated), "sram-8k" 10 pJ, "sram-32k" 20 pJ, "sram-1m" 100 pJ; per byte = per 64 bits / 8.
 * Memory files:
 *     # cgpc-memory v1                 <- first line, exactly
 *     name,energy_pJ,per,source        <- optional column header
 *     hbm,31.2,word64,my measurement   <- exactly one row; per is "byte" or "word64"
 */
#define ENERGY_MEMORY_MAGIC "# cgpc-memory v1"
#define ENERGY_MEMORY_DEFAULT "dram"

struct energy_memory {
    char name[64];
    double pj_per_byte; /* energy of reading one byte, pJ */
    char source[200];
};

/* Number of built-in memories, and the i-th (0 <= i < count), in the order listed above. */
int energy_memory_builtin_count(void);
const struct energy_memory *energy_memory_builtin(int i);
/* A built-in by name; CGPC_ERR_NOT_FOUND (message lists the names) if there is none. */
cgpc_status energy_memory_lookup(struct energy_memory *m, const char *name, struct cgpc_err *err);
/* Parse / load a memory file as above. On failure *m is unchanged. */
cgpc_status energy_memory_parse(struct energy_memory *m, const char *text, size_t len,
                                const char *origin, struct cgpc_err *err);
cgpc_status energy_memory_load(struct energy_memory *m, const char *path, struct cgpc_err *err);
/* --memory SPEC: a built-in name, else an existing file. Neither -> CGPC_ERR_ARG (a usage
 * error); a file that does not parse -> that error (CGPC_ERR_FORMAT / CGPC_ERR_IO). */
cgpc_status energy_memory_select(struct energy_memory *m, const char *spec, struct cgpc_err *err);

/* ---- inference (inference.c) ------------------------------------------------------------------
 * Model, per inference (batch 1): every MAC costs t->mac.energy_pj; every weight is read once
 * from `mem` (ceil(weights * weight_bits / 8) bytes per layer, biases not counted unless the
 * caller includes them in `weights`); a replacement's circuit is evaluated `evaluations` times
 * and each evaluation costs `circuit_pj`; the weights it produces are not read, while its input
 * weights are kept weights, read once like any other and reused from registers. MACs do not
 * change: produced weights are used exactly like read ones. */
struct energy_layer {
    char name[96];
    uint64_t macs;    /* multiply-accumulates per inference */
    uint64_t weights; /* stored weights (biases excluded unless the caller adds them) */
    int weight_bits;  /* bits per stored weight, 1..64 (8 for int8) */
};

/* `weights` weights of layers[layer] come from a circuit instead of memory. */
struct energy_replacement {
    int layer;            /* index into the layer list */
    uint64_t weights;     /* weights produced (not read) per inference */
    double circuit_pj;    /* energy of one circuit evaluation, pJ (energy_circuit_cost.energy_pj) */
    uint64_t evaluations; /* circuit evaluations per inference */
};

struct energy_layer_budget {
    uint64_t macs;
    double mac_pj;              /* macs * mac energy */
    uint64_t weights_read;      /* weights still read from memory */
    uint64_t weights_replaced;  /* weights produced by circuits */
    uint64_t read_bytes;        /* bytes read: ceil(weights_read * bits / 8) (totals: summed) */
    double read_pj;             /* read_bytes * memory pJ/byte */
    double circuit_pj;          /* sum of circuit_pj * evaluations */
    double total_pj;            /* mac_pj + read_pj + circuit_pj */
    uint64_t baseline_bytes;    /* bytes read with no replacement */
    double baseline_pj;         /* mac_pj + baseline_bytes * memory pJ/byte */
    double saving_pj;           /* baseline_pj - total_pj (negative: circuits cost more) */
    double saving_pct;          /* 100 * saving_pj / baseline_pj; 0 when baseline_pj is 0 */
};

/* Account one inference: per_layer[n_layers] (caller's array) and *total. Replacements may
 * repeat a layer; their weights add up. CGPC_ERR_ARG for a bad layer index, bits outside 1..64,
 * more weights replaced than a layer has, negative or non-finite circuit energy;
 * CGPC_ERR_RANGE if a count overflows 64 bits. Pure, allocation-free. */
cgpc_status energy_inference_account(const struct energy_gate_table *t,
                                     const struct energy_memory *mem,
                                     const struct energy_layer *layers, int n_layers,
                                     const struct energy_replacement *repl, int n_repl,
                                     struct energy_layer_budget *per_layer,
                                     struct energy_layer_budget *total, struct cgpc_err *err);

/* ---- human-readable reports (report.c), written to the caller's stream -------------------- */
/* The gate table: one aligned line per operator and the MAC (name, pJ, ns, um^2, source). */
cgpc_status energy_gate_table_format(const struct energy_gate_table *t, FILE *out,
                                     struct cgpc_err *err);
/* The built-in memories, marking `active` (which may be a loaded one) with '*'. */
cgpc_status energy_memory_format(const struct energy_memory *active, FILE *out,
                                 struct cgpc_err *err);
/* The per-layer budget table from energy_inference_account, then the total line and, if any
 * weight is replaced, the saving. */
cgpc_status energy_budget_format(const struct energy_layer *layers, int n_layers,
                                 const struct energy_layer_budget *per_layer,
                                 const struct energy_layer_budget *total,
                                 const struct energy_memory *mem, FILE *out,
                                 struct cgpc_err *err);

/* The same as JSON, one object, for scripts:
 *   tables: {"gates": [{"name", "energy_pJ", "delay_ns", "area_um2", "source"}...] (operators,
 *            then "mac"), "mac_pJ", "memory": {"name", "pJ_per_byte", "source"},
 *            "memories": [built-ins, same keys]}
 *   budget: {"memory": {...}, "layers": [{"name", "macs", "mac_pJ", "weights_read",
 *            "weights_replaced", "read_bytes", "read_pJ", "circuit_pJ", "total_pJ",
 *            "baseline_bytes", "baseline_pJ", "saving_pJ", "saving_pct"}...], "total": {...}}
 * Numbers are written so that they read back exactly. */
cgpc_status energy_tables_format_json(const struct energy_gate_table *t,
                                      const struct energy_memory *active, FILE *out,
                                      struct cgpc_err *err);
cgpc_status energy_budget_format_json(const struct energy_layer *layers, int n_layers,
                                      const struct energy_layer_budget *per_layer,
                                      const struct energy_layer_budget *total,
                                      const struct energy_memory *mem, FILE *out,
                                      struct cgpc_err *err);

#endif
