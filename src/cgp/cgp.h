/* cgp.h - Cartesian Genetic Programming of int8 arithmetic circuits.
 *
 * Job: find a small circuit (a grid of rows x cols gates with levels-back L over the operators of
 * src/common/ops.h) whose outputs reproduce target int8 values (kept weights -> other weights)
 * over a data set of D items, first to an error threshold, then with the least energy, delay and
 * gate count (costs from src/energy). The search is a (1+lambda) evolution strategy with neutral
 * drift; offspring are the parent plus a short list of gene mutations, only active nodes are
 * evaluated, offspring that touch no active gene are not evaluated at all, and evaluation runs
 * SIMD over data items. Results are a pure function of the seed: bit-identical for any thread
 * count, and a resumed run ends exactly like an uninterrupted one.
 *
 * Ownership: every struct here is caller-owned with x_init/x_free pairs (x_free(NULL) and
 * x_free of a zeroed struct are no-ops). Library code never prints or exits; progress goes
 * through struct cgp_callbacks, which the CLI fills. No globals, no rand().
 *
 * Genome layout (flat int32): node k (column k / rows, row k % rows) owns genes
 * [k*(A+1), k*(A+1)+A): its A input genes (A = 2, or 4 when mux4 is in the function set),
 * then gene k*(A+1)+A: its operator (enum cgpc_op). Output genes follow the nodes. A source
 * value s < n_inputs names primary input s, s >= n_inputs names node s - n_inputs. A node in
 * column c reads columns max(0, c-L) .. c-1, and the primary inputs while c <= L; outputs may
 * read any node or input. Only the first arity(op) input genes of a node are used. */
#ifndef CGPC_CGP_H
#define CGPC_CGP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/ops.h"
#include "common/rng.h"
#include "cgp/params.h"
#include "energy/energy.h"

#define CGP_MAX_THRESHOLDS 32
#define CGP_LANES 32 /* SIMD lane count: item rows are padded to a multiple of this (D >= 16) */
/* Most inputs and outputs of a data set or circuit: 16M, above every layer of the shipped models
 * (the shipped MobileNetV2's largest convolution has 204,800 weights); genes stay int32-indexable. */
#define CGP_MAX_IO (1 << 24)

/* Writes the final value of a pending gene into the genome (see cgp_decode_active_lazy). */
typedef void (*cgp_resolve_fn)(void *ctx, int gene);

/* ---- data sets ---------------------------------------------------------------------------- */

/* D items; each an input vector (n_inputs int8) and a target vector (n_outputs int8) whose
 * entries may be don't-care. Stored lane-major for SIMD: in[i*stride + d], target[o*stride + d],
 * care[o*stride + d] (1 = counts, 0 = don't care), stride >= n_items (padding lanes have
 * care 0). weight[o] multiplies output o's error (1 unless built by the value-slot mode). */
struct cgp_dataset {
    int n_inputs, n_outputs, n_items;
    int stride;
    int8_t *in;
    int8_t *target;
    uint8_t *care;
    int32_t *weight;
};

/* Allocate a zeroed data set (all outputs care = 1 for real items, weight 1). */
cgpc_status cgp_dataset_init(struct cgp_dataset *ds, int n_inputs, int n_outputs, int n_items,
                             struct cgpc_err *err);
void cgp_dataset_free(struct cgp_dataset *ds);
/* Build from item-major arrays: in[d*n_inputs + i], out[d*n_outputs + o], care likewise or
 * NULL (all care). in may be NULL when n_inputs == 0. */
cgpc_status cgp_dataset_from_arrays(struct cgp_dataset *ds, int n_inputs, int n_outputs,
                                    int n_items, const int8_t *in, const int8_t *out,
                                    const uint8_t *care, struct cgpc_err *err);
/* Text format "cgpc-data v1" (see docs/ARCHITECTURE.md). `name` is used in messages. */
cgpc_status cgp_dataset_parse(struct cgp_dataset *ds, const char *text, const char *name,
                              struct cgpc_err *err);
cgpc_status cgp_dataset_load(struct cgp_dataset *ds, const char *path, struct cgpc_err *err);
cgpc_status cgp_dataset_write(const struct cgp_dataset *ds, FILE *fp, struct cgpc_err *err);
cgpc_status cgp_dataset_save(const struct cgp_dataset *ds, const char *path,
                             struct cgpc_err *err);

/* Value-slot mode (data sets without inputs): outputs that need the same values (the same
 * targets and don't-care marks over all items) share one slot, so each distinct value is
 * synthesised once. slots gets one output per slot, weighted by how many outputs it serves (the
 * error over slots equals the error over the original outputs); slot_of[o] (n_outputs) names
 * output o's slot. Works for any output count. */
cgpc_status cgp_dataset_value_slots(const struct cgp_dataset *ds, struct cgp_dataset *slots,
                                    int32_t *slot_of, struct cgpc_err *err);

/* ---- parameters ----------------------------------------------------------------------------- */

/* The fields are generated from the parameter table in cgp/params.h (defaults, ranges and
 * help are there too): rows, cols, levels_back, lambda, mutation_max, generations, patience,
 * time_limit, error_kind, thresholds[] + n_thresholds, independent, multiplex, value_slots,
 * functions[] + n_functions, seed, runs, first_run, checkpoint_every, parallel_min_work,
 * stop_after. */
#define CGP_FIELD_INT(f) int f;
#define CGP_FIELD_I64(f) int64_t f;
#define CGP_FIELD_U64(f) uint64_t f;
#define CGP_FIELD_DOUBLE(f) double f;
#define CGP_FIELD_SECONDS(f) double f;
#define CGP_FIELD_BOOL(f) int f;
#define CGP_FIELD_ERROR(f) enum cgp_error_kind f;
#define CGP_FIELD_FITNESS(f) enum cgp_fitness_kind f;
#define CGP_FIELD_THRESHOLDS(f) double f[CGP_MAX_THRESHOLDS]; int n_##f;
#define CGP_FIELD_FUNCTIONS(f) int32_t f[CGPC_OP_COUNT]; int n_##f;
struct cgp_params {
#define CGP_PARAM_FIELD(field, name, type, def, min, max, where, arg, help) CGP_FIELD_##type(field)
    CGP_PARAM_LIST(CGP_PARAM_FIELD)
#undef CGP_PARAM_FIELD
};

/* Fill every parameter with its table default. */
void cgp_params_default(struct cgp_params *p);
/* Set parameter `id` from text (its table type and range). Errors name the parameter:
 * "lambda: '2000' is out of range [1, 1024]". */
cgpc_status cgp_param_set(struct cgp_params *p, int id, const char *text, struct cgpc_err *err);
/* Parameter `id` of p as text, in the form cgp_param_set reads and config.txt holds. Returns
 * the length (truncated to cap - 1 like snprintf). */
int cgp_param_format(const struct cgp_params *p, int id, char *buf, size_t cap);
/* The config.txt body: one "key value" line per CGP_PF_FILE parameter (key with dashes), in
 * table order. */
cgpc_status cgp_params_write(const struct cgp_params *p, FILE *fp, struct cgpc_err *err);
/* Read such lines (after the file's magic line, which the caller checks) over the defaults:
 * each key at most once, unknown keys are errors; a missing key keeps its default (the file was
 * written before that parameter existed, when it behaved as the default). `name` and the line
 * prefix messages ("DIR/config.txt:1: rows: ..."). */
cgpc_status cgp_params_parse(struct cgp_params *p, const char *text, const char *name,
                             struct cgpc_err *err);
/* The first parameter (table order) whose text differs between a and b, both texts in a_txt
 * and b_txt (cap bytes each); -1 when none. */
int cgp_params_diff(const struct cgp_params *a, const struct cgp_params *b, char *a_txt,
                    char *b_txt, size_t cap);
/* The same, numbering text's first line first_line in messages ("DIR/config.txt:3: rows: ...";
 * config.txt's body starts on line 2). */
cgpc_status cgp_params_parse_lines(struct cgp_params *p, const char *text, const char *name,
                                   int first_line, struct cgpc_err *err);
/* Parse "add,sub,mul" into p->functions (names of src/common/ops.h), or "thesis": the thesis's
 * 27, plus mux2 and mux4 when p->multiplex is set. mux2/mux4 are rejected unless p->multiplex
 * is set. (= cgp_param_set of CGP_PARAM_functions) */
cgpc_status cgp_params_set_functions(struct cgp_params *p, const char *list,
                                     struct cgpc_err *err);
/* Check every parameter's range (as cgp_param_set does) and the rules between them and a data
 * set (grid size, levels_back <= cols, muxes only with multiplex, constants without inputs, value
 * slots only without inputs); ds may be NULL. */
cgpc_status cgp_params_check(const struct cgp_params *p, const struct cgp_dataset *ds,
                             struct cgpc_err *err);
const char *cgp_error_kind_name(enum cgp_error_kind k);
int cgp_error_kind_from_name(const char *name); /* -1 if unknown */

/* ---- genomes ----------------------------------------------------------------------------- */

struct cgp_shape {
    int rows, cols, levels_back;
    int n_inputs, n_outputs;
    int node_arity; /* input genes per node: 2, or 4 with mux4 */
    int n_nodes;    /* rows * cols */
    int n_genes;    /* n_nodes * (node_arity + 1) + n_outputs */
};

/* The function set: allowed operators, and the nullary ones (for nodes that have no source:
 * column 0 of a circuit without inputs). */
struct cgp_fset {
    int32_t ops[CGPC_OP_COUNT];
    int n_ops;
    int32_t nullary[CGPC_OP_COUNT];
    int n_nullary;
};

struct cgp_genome {
    struct cgp_shape shape;
    struct cgp_fset fset;
    int32_t *genes; /* shape.n_genes */
};

void cgp_shape_make(struct cgp_shape *s, int rows, int cols, int levels_back, int n_inputs,
                    int n_outputs, int node_arity);
void cgp_fset_make(struct cgp_fset *f, const int32_t *ops, int n_ops);
cgpc_status cgp_genome_init(struct cgp_genome *g, const struct cgp_shape *s,
                            const struct cgp_fset *f, struct cgpc_err *err);
void cgp_genome_free(struct cgp_genome *g);
/* A uniformly random valid genome. */
void cgp_genome_randomize(struct cgp_genome *g, cgpc_rng *rng);
/* The valid value of gene `gene` that a uniform 32-bit number u selects (multiply-shift onto
 * the gene's legal values: sources in reach, or operators; bias <= choices / 2^32). */
int32_t cgp_gene_value(const struct cgp_shape *s, const struct cgp_fset *f, int gene, uint32_t u);
/* A random valid value for gene `gene`: cgp_gene_value with u from the stream. */
int32_t cgp_gene_random(const struct cgp_shape *s, const struct cgp_fset *f, int gene,
                        cgpc_rng *rng);
/* Check every gene against the shape and function set (for loaded chromosomes). */
cgpc_status cgp_genome_check(const struct cgp_genome *g, struct cgpc_err *err);

/* Rewire a circuit evolved on value slots to the original outputs: out gets n_outputs output
 * genes, output o reading what slot slot_of[o] reads. */
cgpc_status cgp_genome_expand_slots(const struct cgp_genome *g, const int32_t *slot_of,
                                    int n_outputs, struct cgp_genome *out, struct cgpc_err *err);

/* Chromosome text format "cgpc-chromosome v1" (docs/ARCHITECTURE.md). `comment` lines (may be
 * NULL) are written as "# ..." after the header. */
cgpc_status cgp_genome_write(const struct cgp_genome *g, const char *comment, FILE *fp,
                             struct cgpc_err *err);
cgpc_status cgp_genome_save(const struct cgp_genome *g, const char *comment, const char *path,
                            struct cgpc_err *err);
cgpc_status cgp_genome_parse(struct cgp_genome *g, const char *text, const char *name,
                             struct cgpc_err *err);
cgpc_status cgp_genome_load(struct cgp_genome *g, const char *path, struct cgpc_err *err);

/* One-token form of a circuit, the `circuit` column of statistics journals, Pareto archives and
 * checkpoints: "n12=add(i0,n5);n40=shr1(n12);out=n40,i3" (nodes in the order given, named by
 * their grid index; iK is input K). cgp_circuit_token writes g's nodes order[0..n_active)
 * (malloc'ed; NULL when out of memory). cgp_circuit_token_parse reads one back into a genome
 * of one row with one node per column in token order (full connectivity; the function set is
 * the operators used), checked by cgp_genome_check: evaluate it with cgp_eval_reference and
 * cost it with cgp_measure like any circuit. */
char *cgp_circuit_token(const struct cgp_genome *g, const int32_t *order, int n_active);
cgpc_status cgp_circuit_token_parse(const char *token, int n_inputs, struct cgp_genome *g,
                                    struct cgpc_err *err);
/* A genome of one row with one node per column (full connectivity) from a node list in
 * topological order: nodes[k] reads sources in compact numbering (< n_inputs: primary input,
 * n_inputs + j: node j < k), outs[n_outs] likewise; the function set is ops[n_ops] (node arity
 * 4 when one of them takes 4 inputs, else 2). Checked by cgp_genome_check; n_nodes >= 1. */
cgpc_status cgp_genome_from_nodes(const struct energy_node *nodes, int n_nodes, int n_inputs,
                                  const int32_t *outs, int n_outs, const int32_t *ops, int n_ops,
                                  struct cgp_genome *g, struct cgpc_err *err);

/* ---- kernels: operator semantics, decoding, evaluation ----------------------------------- */

/* Operator arity as used by the decoder (ops.h arity; a table lookup, inlined: hot loops). */
extern const int8_t cgp_op_arity_tab[CGPC_OP_COUNT];
static inline int cgp_op_arity(int op) { return cgp_op_arity_tab[op]; }
/* Scalar reference semantics of one operator on int8 (item = data item index, for muxes). */
int8_t cgp_op_scalar(int op, int8_t a, int8_t b, int8_t c, int8_t d, int item);
/* dst[0..n) = op(a, b, c, d) lane-wise; lane l is item item0 + l. Scalar loop. */
void cgp_op_lanes_scalar(int op, int8_t *dst, const int8_t *a, const int8_t *b,
                         const int8_t *c, const int8_t *d, int n, int item0);

/* Instruction-set paths of the evaluator. Each computes exactly cgp_op_scalar's bytes; one
 * binary carries all of them (per-function target attributes) and picks the best the CPU has
 * at run time: AVX-512 (F+BW+VL+GFNI: 64 lanes per vector, byte shifts as one GF(2) affine
 * instruction, masked tails), AVX2 (32 lanes), or portable C. The environment variable
 * CGPC_ISA=scalar|avx2|avx512 caps the choice (for comparisons). */
enum cgp_isa { CGP_ISA_SCALAR = 0, CGP_ISA_AVX2, CGP_ISA_AVX512, CGP_ISA_COUNT };
const char *cgp_isa_name(enum cgp_isa isa);
/* 1 if this CPU runs the path. */
int cgp_isa_supported(enum cgp_isa isa);
/* The path cgp_eval_active uses (decided once per process). */
enum cgp_isa cgp_isa_active(void);
/* cgp_op_lanes_scalar on path isa (supported; NULL sources fall back to the scalar loop, as do
 * AVX2 with n not a multiple of 32 and item0 not a multiple of 4). Returns 1 if vectors ran. */
int cgp_op_lanes_isa(enum cgp_isa isa, int op, int8_t *dst, const int8_t *a, const int8_t *b,
                     const int8_t *c, const int8_t *d, int n, int item0);

/* Decode the active nodes by a backward depth-first walk from the outputs: order[0..n) lists
 * active node indices in topological (post-)order. stamp: n_nodes uint32 marks (a node is
 * visited when stamp[k] == mark; pass a fresh mark each call); stack: 2*n_nodes int32.
 * O(active). Returns n. */
int cgp_decode_active(const struct cgp_shape *s, const int32_t *genes, uint32_t *stamp,
                      uint32_t mark, int32_t *stack, int32_t *order);

/* The same walk over a genome with mutations not yet applied: before a gene is read, if bit
 * `gene` of the bitmap pending (n_genes bits, 64 per word) is set, resolve(ctx, gene) must
 * write its final value into genes and clear the bit. Only genes the walk reads are resolved: those of active nodes (operator,
 * inputs up to the arity) and the output genes, which is all evaluation reads. */
int cgp_decode_active_lazy(const struct cgp_shape *s, const int32_t *genes, uint32_t *stamp,
                           uint32_t mark, int32_t *stack, int32_t *order,
                           const uint64_t *pending, cgp_resolve_fn resolve, void *ctx);

/* The same active set (and the same genes resolved) as cgp_decode_active_lazy, in ascending
 * node index order, which is topological too (a node reads lower indices only), found without
 * a stack: bits (n_nodes bits) marks nodes to visit, top (one bit per word of bits) marks
 * non-zero words; the sweep takes the highest marked node, marks its sources, and goes on
 * down. bits and top must be zero on entry and are zero on return. pending may be NULL.
 * O(active) word operations. Returns n. */
int cgp_decode_active_sweep(const struct cgp_shape *s, const int32_t *genes, uint64_t *bits,
                            uint64_t *top, int32_t *order, const uint64_t *pending,
                            cgp_resolve_fn resolve, void *ctx);

/* Fast evaluation of the active nodes order[0..n_active) over all items: values is
 * (n_inputs + n_nodes) rows of ds->stride int8 lanes, rows 0..n_inputs-1 holding the inputs
 * (see cgp_values_load_inputs). Writes the rows of active nodes. */
void cgp_eval_active(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                     int n_active, int n_items, int stride, int8_t *values);
/* The same on a given (supported) path; every path writes the same bytes for items < n_items. */
void cgp_eval_active_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                         const int32_t *order, int n_active, int n_items, int stride,
                         int8_t *values);
void cgp_values_load_inputs(const struct cgp_dataset *ds, int8_t *values);
/* Weighted error sum over outputs (SE or AE; MSE uses SE) from evaluated values. */
int64_t cgp_error_sum(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                      const struct cgp_dataset *ds, enum cgp_error_kind kind);
/* The same on a given (supported) path; every path returns the same sum (care 0 or 1). */
int64_t cgp_error_sum_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                          const int8_t *values, const struct cgp_dataset *ds,
                          enum cgp_error_kind kind);
/* The weighted error terms of the outputs outs[0..n) (each in 0..n_outputs-1): terms[k] for
 * output outs[k]; cgp_error_sum is the sum of every output's term. Every path gives the same
 * terms. */
void cgp_error_terms(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                     const struct cgp_dataset *ds, enum cgp_error_kind kind, const int32_t *outs,
                     int n, int64_t *terms);
void cgp_error_terms_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                         const int8_t *values, const struct cgp_dataset *ds,
                         enum cgp_error_kind kind, const int32_t *outs, int n, int64_t *terms);
/* Reference: evaluates every node in index order for every item (scalar), writes
 * outputs[o * n_items + d]. Used by tests and `circuit eval` cross-checks. */
cgpc_status cgp_eval_reference(const struct cgp_genome *g, const struct cgp_dataset *ds,
                               int8_t *outputs, struct cgpc_err *err);

/* ---- fitness and measurement -------------------------------------------------------------- */

struct cgp_fitness;

/* Per-thread scratch for decoding, evaluating and costing one circuit; sized once. */
struct cgp_scratch {
    uint32_t *stamp;  /* n_nodes decode marks */
    uint32_t mark;    /* last mark used */
    int32_t *stack;   /* 2 * n_nodes */
    int32_t *order;   /* n_nodes: active nodes, topological */
    int n_active;
    int32_t *pos;     /* n_nodes: node -> position in order */
    struct energy_node *enodes; /* n_nodes */
    int32_t *eout;    /* n_outputs */
    double *arrival;  /* n_inputs + n_nodes */
    int *depth;       /* n_inputs + n_nodes */
    int8_t *values;   /* (n_inputs + n_nodes) * stride, input rows loaded */
};
cgpc_status cgp_scratch_init(struct cgp_scratch *sc, const struct cgp_shape *s,
                             const struct cgp_dataset *ds, struct cgpc_err *err);
void cgp_scratch_free(struct cgp_scratch *sc);
/* Decode genes into sc->order / sc->n_active (fresh mark each call). */
void cgp_scratch_decode(struct cgp_scratch *sc, const struct cgp_shape *s, const int32_t *genes);
/* Same with mutations pending (cgp_decode_active_lazy). */
void cgp_scratch_decode_lazy(struct cgp_scratch *sc, const struct cgp_shape *s,
                             const int32_t *genes, const uint64_t *pending,
                             cgp_resolve_fn resolve, void *ctx);
/* Fill fit's cost fields for the decoded circuit via energy_circuit_account (which also fills
 * sc->enodes, as cgp_scratch_bits needs). */
void cgp_scratch_cost(struct cgp_scratch *sc, const struct cgp_shape *s, const int32_t *genes,
                      const struct energy_gate_table *t, struct cgp_fitness *fit);

/* The same cost fields for the circuit whose active nodes are order[0..n) in any topological
 * order (ascending node index is one), without renumbering: energy and area are sums per
 * operator (energy_gates_total), delay and depth the critical path, so they equal
 * cgp_scratch_cost's doubles for any order. arrival, depth: n_inputs + n_nodes entries. */
void cgp_circuit_cost(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                      int n, const struct energy_gate_table *t, double *arrival, int *depth,
                      struct cgp_fitness *fit);

struct cgp_fitness {
    int64_t err_sum;  /* weighted SE or AE sum over cared outputs */
    double error;     /* reported error: err_sum, or err_sum / cared count for MSE */
    double bits;      /* fitness bits: circuit description bits + residual entropy estimate
                       * (cgp_residual_bits); 0 otherwise */
    int costed;       /* 1 when the fields below are filled */
    double energy_pj, delay_ns, area_um2;
    int gates, depth;
    int active;       /* active nodes */
};

/* Error and costs of a genome on a data set (allocates scratch; for reports, not hot loops). */
cgpc_status cgp_measure(const struct cgp_genome *g, const struct cgp_dataset *ds,
                        const struct energy_gate_table *t, enum cgp_error_kind kind,
                        struct cgp_fitness *out, struct cgpc_err *err);
/* One threshold unit (issue #11): the per-weight error in int8 units, as experiment files give
 * thresholds; the metric value (what the evolver compares) goes beside it. For a data set of
 * `cared` cared outputs: SE metric = e^2 * cared, MSE = e^2, AE = e * cared. These convert a
 * metric value (a threshold or an error) to per weight and back; cared <= 0 counts as 1. */
double cgp_per_weight(enum cgp_error_kind kind, double metric, int64_t cared);
double cgp_metric_of_per_weight(enum cgp_error_kind kind, double per_weight, int64_t cared);
/* The same plus fit->bits, the bits fitness under residual bound e (0..127). */
cgpc_status cgp_measure_bits(const struct cgp_genome *g, const struct cgp_dataset *ds,
                             const struct energy_gate_table *t, enum cgp_error_kind kind,
                             int bound, struct cgp_fitness *out, struct cgpc_err *err);

/* ---- residual mode (fitness bits, issue 18) ------------------------------------------------
 * The circuit predicts the targets; the file stores the residual symbols (common/resid.h)
 * entropy-coded (src/compress/residual.h). The bits fitness of a circuit = its description bits
 * (storage_circuit_bits: active nodes in the order of sc, n_functions functions, every output
 * gene) + the empirical entropy of its residual symbols over the cared outputs (weighted),
 * the fast estimate of the coded residual (the exact size, table included, is the codec's). */
double cgp_residual_entropy(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                            const struct cgp_dataset *ds, int bound);
/* fit->bits for the circuit decoded and costed in sc (cgp_scratch_cost filled sc->enodes). */
void cgp_scratch_bits(const struct cgp_scratch *sc, const struct cgp_shape *s,
                      const int32_t *genes, int n_functions, const struct cgp_dataset *ds,
                      int bound, struct cgp_fitness *fit);

/* Largest err_sum whose reported error is <= threshold. */
int64_t cgp_threshold_limit(double threshold, enum cgp_error_kind kind,
                            const struct cgp_dataset *ds);
/* Number of cared (weighted) output values: the MSE divisor. */
int64_t cgp_dataset_cared(const struct cgp_dataset *ds);
/* Compare under threshold limit: <0 a better, 0 neutral, >0 b better. Within the limit: fewer
 * bits (fitness bits; 0 otherwise), then less energy, delay, gates. */
int cgp_fitness_cmp(const struct cgp_fitness *a, const struct cgp_fitness *b, int64_t limit);

/* ---- the evolver -------------------------------------------------------------------------- */

struct cgp_progress {
    int run, stage;
    double threshold;        /* in the error metric */
    int64_t generation;      /* generations done in this run */
    const struct cgp_fitness *best;
    /* rates since the last report, per second of wall time: generations, offspring evaluated
     * (not skipped as neutral), and node x item evaluations (see cgp_totals) */
    double gens_per_s, offspring_per_s, node_evals_per_s;
    /* the same threshold and best->error per weight (int8 units, cgp_per_weight) */
    double threshold_per_weight, error_per_weight;
    /* where this is in the whole invocation: its runs first_run..first_run+runs-1, each of
     * n_stages thresholds of at most generations_per_stage generations */
    int first_run, runs, n_stages;
    int64_t generations_per_stage;
};

struct cgp_callbacks {
    /* Called about every 0.5 s of search and at stage ends, from one thread. May be NULL. */
    void (*progress)(void *user, const struct cgp_progress *p);
    void *user;
    /* When *stop becomes nonzero (a signal handler), the evolver writes a checkpoint and
     * returns CGPC_ERR_INTERRUPTED. May be NULL. */
    volatile sig_atomic_t *stop;
};

/* In-memory search state for one run and one threshold at a time (no files). */
struct cgp_evolver;

struct cgp_stage_result {
    double threshold;
    int reached;             /* error <= threshold at the end of the stage */
    int64_t generations;     /* generations this stage ran */
    struct cgp_fitness fit;
};

struct cgp_totals {
    int64_t generations;     /* all generations over all runs and stages */
    int64_t evaluations;     /* offspring evaluated (not skipped as neutral) */
    int64_t skipped;         /* offspring skipped: no active gene touched */
    int64_t node_evals;      /* node evaluations x items done: every active node of an
                                offspring, or (incremental, >= 128 items) only the nodes it
                                changed or reaches */
    int64_t parallel_generations; /* generations run on several threads (see parallel_min_work) */
    double seconds;          /* search wall time */
};

cgpc_status cgp_evolver_init(struct cgp_evolver **ev, const struct cgp_params *p,
                             const struct cgp_dataset *ds, const struct energy_gate_table *t,
                             struct cgpc_err *err);
void cgp_evolver_free(struct cgp_evolver *ev);
/* Start run `run`, stage `stage` with the given genome (NULL: random keyed by run/stage). */
void cgp_evolver_begin(struct cgp_evolver *ev, int run, int stage, const int32_t *genes,
                       int64_t generation);
/* Run up to n generations (stops early on patience/time/stop flag). Returns generations run. */
int64_t cgp_evolver_advance(struct cgp_evolver *ev, int64_t n);
const struct cgp_genome *cgp_evolver_parent(const struct cgp_evolver *ev);
const struct cgp_fitness *cgp_evolver_fitness(const struct cgp_evolver *ev);
void cgp_evolver_totals(const struct cgp_evolver *ev, struct cgp_totals *out);

/* Full runs with files in out_dir (layout: docs/ARCHITECTURE.md). resume=1 continues from
 * out_dir/checkpoint (the params and data stored in out_dir are used; p and ds may be NULL).
 * Returns CGPC_ERR_INTERRUPTED (checkpoint written) when stopped by cb->stop or stop_after. */
cgpc_status cgp_evolve_dir(const struct cgp_params *p, const struct cgp_dataset *ds,
                           const struct energy_gate_table *t, const char *out_dir, int resume,
                           const struct cgp_callbacks *cb, struct cgp_totals *totals,
                           struct cgpc_err *err);

/* Write the active gates of a genome (one per line, with costs) to fp. */
cgpc_status cgp_genome_describe(const struct cgp_genome *g, const struct energy_gate_table *t,
                                FILE *fp, struct cgpc_err *err);

#endif
