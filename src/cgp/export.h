/* export.h - an evolved circuit as Verilog-2001, C99 or Graphviz DOT, and measured by Yosys.
 *
 * Job: turn a chromosome into text other tools read, with exactly the int8 semantics of
 * cgp_op_scalar (src/cgp/eval.c): 8-bit two's complement with wrap-around, >> arithmetic,
 * << dropping high bits, mul keeping the low byte of the product, mux2/mux4 passing input
 * number (item mod 2 / item mod 4). Only active nodes are written, in node index order (which
 * is topological); node k is named n<k>_<op>, primary input s i<s>, output o o<o>.
 *
 *   Verilog: module NAME(input signed [7:0] i0.., output signed [7:0] o0..[, input [1:0]
 *            item]) with one `wire signed [7:0]` per active node; the `item` port (the data
 *            item index mod 4) exists only when an active node is a mux.
 *   C:       void NAME(const int8_t *in, int8_t *out[, int item]), C99, no dependency, no
 *            undefined or implementation-defined behaviour (unsigned arithmetic, explicit
 *            sign handling for >>); optionally NAME_weights(), which regenerates a model's
 *            weight tensors in place from their kept weights (cgp_export_weights).
 *   DOT:     digraph of the used inputs, the active nodes (operator labels) and the outputs
 *            (outputs reading the same source share one box), ports labelled by the weights
 *            they are when names are given.
 *
 * External programs (Graphviz `dot`, `yosys`) run only when a function below is called; they
 * are not needed to build cgpc. Nothing here prints: text goes to the caller's FILE *, program
 * output to log files in a caller-given directory.
 *
 * Ownership: options and tables are caller-owned; cgp_export_meta holds its strings inline. */
#ifndef CGPC_CGP_EXPORT_H
#define CGPC_CGP_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "cgp/cgp.h"

enum cgp_export_format { CGP_EXPORT_VERILOG = 0, CGP_EXPORT_C, CGP_EXPORT_DOT };

/* "verilog" / "c" / "dot" <-> enum; -1 if unknown. */
int cgp_export_format_from_name(const char *name);

/* Provenance written into the header comment; empty strings are left out. */
struct cgp_export_meta {
    char source[4096]; /* the chromosome file */
    char seed[96];     /* e.g. "1, run 0" (from the run directory's config.txt) */
    char error[192];   /* e.g. "0.66 per weight (mse 0.4375, threshold reached)" (from the
                        * chromosome; files written before per-weight names: "0.4375 (mse,
                        * threshold reached)") */
};

/* Fill meta from a chromosome file: its path, the evolver's "# error" / "# best of run R"
 * comments, and the seed from config.txt beside it (when there is one). Missing facts stay
 * empty; only an unreadable chromosome is an error. */
cgpc_status cgp_export_meta_load(struct cgp_export_meta *meta, const char *chr_path,
                                 struct cgpc_err *err);

struct cgp_export_opts {
    const char *name;                 /* module / function name: [A-Za-z_][A-Za-z0-9_]*, not a
                                         C or Verilog keyword; default "cgpc_circuit" */
    const struct cgp_export_meta *meta;      /* may be NULL */
    const char *const *input_names;   /* [n_inputs] what each input is, or NULL */
    const char *const *output_names;  /* [n_outputs] what each output is, or NULL */
};

/* 1 if name is usable as a module/function name (see cgp_export_opts.name). */
int cgp_export_name_ok(const char *name);

/* Write the circuit in one format. Errors: bad name (CGPC_ERR_ARG), write failure (IO). */
cgpc_status cgp_export_write(const struct cgp_genome *g, enum cgp_export_format format,
                             const struct cgp_export_opts *o, FILE *fp, struct cgpc_err *err);

/* Where a circuit's inputs and outputs sit in a model's weight tensors, per data item (one
 * circuit evaluation each): tensor index and flat offset, tensor -1 for a padding input (0) or
 * an output that is no weight (don't-care padding, literal), tensor CGP_EXPORT_LITERAL for an
 * input whose value is the offset itself (a coordinate input, exp/coords.h). */
#define CGP_EXPORT_LITERAL (-2)
struct cgp_export_weights {
    int n_tensors;
    const char *const *tensor_names; /* e.g. "conv1.weight" (made into C identifiers) */
    const int64_t *tensor_sizes;     /* int8 elements */
    int n_items, n_inputs, n_outputs;
    const int32_t *in_tensor;        /* [n_items * n_inputs] */
    const int64_t *in_offset;
    const int32_t *out_tensor;       /* [n_items * n_outputs] */
    const int64_t *out_offset;
};

/* After cgp_export_write(C) into the same file: NAME_weights(), one int8_t * argument per
 * tensor in w (const when only read), which for every item gathers the inputs, runs NAME and
 * scatters the outputs back (in place: a tensor may hold both), plus NAME_<TENSOR>_SIZE
 * macros. */
cgpc_status cgp_export_c_weights(const struct cgp_genome *g, const struct cgp_export_opts *o,
                                 const struct cgp_export_weights *w, FILE *fp,
                                 struct cgpc_err *err);

/* Run `program argv[1..]` (argv[0] = program, searched in PATH) in directory cwd (NULL: the
 * current one) with stdin from /dev/null and stdout+stderr appended to log_path (relative to
 * the current directory, not cwd). Fails when it cannot start (CGPC_ERR_NOT_FOUND when the
 * program is not installed) or exits nonzero (CGPC_ERR_IO, naming the log). */
cgpc_status cgp_export_run_program(char *const argv[], const char *cwd, const char *log_path,
                                   struct cgpc_err *err);

/* Render a DOT file with Graphviz in one layout: `dot dot_path -T<fmt[i]> -o <tmp[i]> ...` for
 * the n formats (svg or png), each image then renamed to out_paths[i] (atomically); dot's
 * messages go to log_path. */
cgpc_status cgp_export_render(const char *dot_path, int n, const char *const *formats,
                              const char *const *out_paths, const char *log_path,
                              struct cgpc_err *err);

/* ---- synthesis with Yosys ------------------------------------------------------------------ */

/* The fixed generic gate library: Yosys `abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX` (ABC adds NOT),
 * and static-CMOS transistors per cell (the figures of Yosys' `stat -tech cmos`). */
#define CGP_SYNTH_CELL_LIST(X)   \
    X(NOT, "$_NOT_", 2)           \
    X(NAND, "$_NAND_", 4)         \
    X(NOR, "$_NOR_", 4)           \
    X(AND, "$_AND_", 6)           \
    X(OR, "$_OR_", 6)             \
    X(XOR, "$_XOR_", 12)          \
    X(XNOR, "$_XNOR_", 12)        \
    X(MUX, "$_MUX_", 12)

enum cgp_synth_cell {
#define CGP_SYNTH_ENUM(sym, yosys_name, transistors) CGP_SYNTH_##sym,
    CGP_SYNTH_CELL_LIST(CGP_SYNTH_ENUM)
#undef CGP_SYNTH_ENUM
    CGP_SYNTH_CELL_COUNT
};

const char *cgp_synth_cell_name(int cell);     /* "NOT", "NAND", ... */
int cgp_synth_cell_transistors(int cell);

struct cgp_synth_result {
    long count[CGP_SYNTH_CELL_COUNT]; /* cells of each type */
    long cells;                       /* all cells */
    long transistors;                 /* sum of count x transistors per cell */
    long yosys_transistors;           /* Yosys' own `stat -tech cmos` estimate, -1 if absent */
};

/* Synthesise with Yosys: writes work_dir/NAME.v (Verilog export), work_dir/synth.ys
 * (read_verilog; synth -top NAME; abc -g ...; opt_clean; stat; stat -tech cmos), runs
 * `yosys -q -s synth.ys` (yosys = program name or path, NULL: "yosys") with its log in
 * work_dir/yosys.log, and reads the cell counts. A cell type outside the library is an error. */
cgpc_status cgp_synth_yosys(const struct cgp_genome *g, const struct cgp_export_opts *o,
                            const char *yosys, const char *work_dir, struct cgp_synth_result *r,
                            struct cgpc_err *err);

#endif
