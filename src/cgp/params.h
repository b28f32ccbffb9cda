/* params.h - the ONE table of CGP search parameters.
 *
 * Each line of CGP_PARAM_LIST declares one parameter: its field in struct cgp_params (also its
 * name: experiment key `levels_back`, option and config.txt key `levels-back`), its type, its
 * default (as text, parsed like any other value), its range, where it appears, the argument
 * placeholder of its option and its help line. Everything else is generated from it
 * (src/cgp/params.c): the struct fields, cgp_params_default(), the range checks and their
 * error messages (which name the parameter), the config.txt reader and writer of run
 * directories, the options and help text of `cgpc evolve`, and the CGP keys of experiment files
 * (src/exp/config.c). Adding a parameter is one line here plus the code that uses its field.
 *
 * Types: INT (int), I64 (int64_t), U64 (uint64_t; every value valid, min/max unused), DOUBLE,
 * SECONDS (double, also H:M:S), BOOL (int 0/1: 0 1 true false yes no on off), ERROR
 * (enum cgp_error_kind: se mse ae), FITNESS (enum cgp_fitness_kind: error bits), THRESHOLDS
 * (double field[CGP_MAX_THRESHOLDS] + int n_field: numbers separated by commas or spaces) and
 * FUNCTIONS (int32_t field[CGPC_OP_COUNT] + int n_field: operator names separated by commas, or
 * `thesis` = the thesis's 27 operators, plus mux2 and mux4 when multiplex is set).
 *
 * Where (flags, or-ed): CGP_PF_FILE stored in config.txt (the run's definition, read back on
 * resume); CGP_PF_CLI an option of `cgpc evolve` (BOOL options are flags without a value);
 * CGP_PF_EXP a key of experiment files and `cgpc train` overrides; CGP_PF_AUTO the experiment
 * key also takes `auto` (its default there), resolved by the experiment layer.
 *
 * Order matters in one place: multiplex precedes functions, since `thesis` depends on it;
 * values are always applied in table order, whatever order they were given in. */
#ifndef CGPC_CGP_PARAMS_H
#define CGPC_CGP_PARAMS_H

#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

#define CGP_PF_FILE 1u
#define CGP_PF_CLI 2u
#define CGP_PF_EXP 4u
#define CGP_PF_AUTO 8u
#define CGP_PF_ALL (CGP_PF_FILE | CGP_PF_CLI | CGP_PF_EXP)

/* clang-format off */
#define CGP_PARAM_LIST(X)                                                                          \
    /* field, name, type, default, min, max, where, arg, help */                                   \
    X(rows, "rows", INT, "8", 1, 1 << 20, CGP_PF_ALL, "N",                                         \
      "grid rows (rows x cols <= 4194304 nodes)")                                                  \
    X(cols, "cols", INT, "8", 1, 1 << 20, CGP_PF_ALL, "N", "grid columns")                         \
    X(levels_back, "levels_back", INT, "0", 0, 1 << 20, CGP_PF_ALL, "N",                           \
      "levels-back L: a node reads the L columns before it; 0 = cols (full connectivity); "        \
      "at most cols")                                                                              \
    X(lambda, "lambda", INT, "4", 1, 1024, CGP_PF_ALL, "N",                                        \
      "offspring per generation (independent of the thread count)")                                \
    X(mutation_max, "mutation_max", DOUBLE, "0.01", 1e-9, 1, CGP_PF_ALL, "F",                      \
      "mutate uniform [1, ceil(F * genes)] genes per offspring")                                   \
    X(generations, "generations", I64, "10000", 1, 1e15, CGP_PF_ALL, "N",                          \
      "generations per threshold")                                                                 \
    X(patience, "patience", I64, "0", 0, 1e15, CGP_PF_ALL, "N",                                    \
      "end a threshold after N generations without improvement; 0 = off")                          \
    X(time_limit, "time_limit", SECONDS, "0", 0, 1e9, CGP_PF_ALL, "T",                             \
      "seconds (or H:M:S) per threshold, 0 = off; runs ended by time are not reproducible")        \
    X(error_kind, "error", ERROR, "mse", 0, 0, CGP_PF_ALL, "se|mse|ae",                            \
      "error metric over the cared outputs: sum of squares, mean square or sum of absolutes")      \
    X(fitness, "fitness", FITNESS, "error", 0, 0, CGP_PF_FILE | CGP_PF_CLI, "error|bits",          \
      "error: reach each threshold, then least energy; bits (residual mode): least stored bits = "  \
      "circuit description + entropy of the residual under the bound e = the threshold (an "       \
      "integer 0..127 per weight), then least energy")                                             \
    X(thresholds, "thresholds", THRESHOLDS, "0", 0, 1e300, CGP_PF_FILE | CGP_PF_CLI, "T...",       \
      "error thresholds in the metric's units, space- or comma-separated, run in the given "       \
      "order as a chain (alias --mse-thresholds); with --fitness bits each one per weight is "     \
      "the residual bound e")                                                                      \
    X(independent, "independent", BOOL, "0", 0, 1, CGP_PF_ALL, "BOOL",                             \
      "every threshold starts from a fresh random circuit instead of the previous "                \
      "threshold's best; without patience and time limit the thresholds then run concurrently, "   \
      "one per thread (the same results)")                                                         \
    X(multiplex, "multiplex", BOOL, "0", 0, 1, CGP_PF_ALL | CGP_PF_AUTO, "BOOL",                   \
      "multi-layer mode: items are layers sharing one grid; mux2/mux4 (selected by the item "      \
      "index) join the default function set (experiments: auto = when items = layer)")             \
    X(value_slots, "value_slots", BOOL, "0", 0, 1, CGP_PF_ALL | CGP_PF_AUTO, "BOOL",               \
      "for data without inputs: outputs needing the same values share one circuit output, "        \
      "wired back to every output in best files (experiments: auto = when inputs = none)")         \
    X(functions, "functions", FUNCTIONS, "thesis", 0, 0, CGP_PF_ALL, "LIST",                       \
      "operators, comma-separated ops.h names, or thesis = the thesis's 27 (rsub127..const127) "   \
      "plus mux2,mux4 with multiplex")                                                             \
    X(seed, "seed", U64, "1", 0, 0, CGP_PF_FILE | CGP_PF_EXP, "N",                                 \
      "seed of the search; run r uses the hash of (seed, r)")                                      \
    X(runs, "runs", INT, "1", 1, 1 << 20, CGP_PF_ALL, "N",                                         \
      "independent runs, concurrently one per thread (the same results)")                          \
    X(first_run, "first_run", INT, "0", 0, 1 << 20, CGP_PF_FILE, "N",                              \
      "runs are numbered first_run .. first_run + runs - 1: a batch of a larger experiment has "   \
      "the seeds and files it has in one big run")                                                 \
    X(checkpoint_every, "checkpoint_every", DOUBLE, "60", 0, 1e9, CGP_PF_FILE | CGP_PF_CLI, "S",   \
      "seconds between checkpoints, 0 = only at threshold ends")                                   \
    X(parallel_min_work, "parallel_min_work", I64, "1000000", 0, 1e15, CGP_PF_CLI, "N",            \
      "use the threads only while a generation evaluates >= N node x item operations (the "       \
      "nodes offspring really evaluate: changed ones and their readers; counted over the last "   \
      "window: 1024 generations on one thread, 16384 on threads); 0 = always; never changes "      \
      "results")                                                                                   \
    X(stop_after, "stop_after_generations", I64, "0", 0, 1e15, CGP_PF_CLI, "N",                    \
      "testing hook: stop as if interrupted after N generations of the run (for --resume); "       \
      "0 = off")
/* clang-format on */

enum cgp_error_kind { CGP_ERROR_SE = 0, CGP_ERROR_MSE, CGP_ERROR_AE };
/* What the search minimises (see the `fitness` parameter). */
enum cgp_fitness_kind { CGP_FITNESS_ERROR = 0, CGP_FITNESS_BITS };

enum cgp_param_type {
    CGP_PT_INT, CGP_PT_I64, CGP_PT_U64, CGP_PT_DOUBLE, CGP_PT_SECONDS, CGP_PT_BOOL, CGP_PT_ERROR,
    CGP_PT_FITNESS, CGP_PT_THRESHOLDS, CGP_PT_FUNCTIONS
};

/* CGP_PARAM_<field>: a parameter's index in cgp_param_table. */
enum cgp_param_id {
#define CGP_PARAM_ENUM(field, name, type, def, min, max, where, arg, help) CGP_PARAM_##field,
    CGP_PARAM_LIST(CGP_PARAM_ENUM)
#undef CGP_PARAM_ENUM
    CGP_PARAM_COUNT
};

struct cgp_param_info {
    const char *name;   /* with underscores; with dashes it is the option and config.txt key */
    enum cgp_param_type type;
    const char *def;    /* default as text */
    double min, max;    /* range of numbers (of each number for THRESHOLDS) */
    unsigned where;     /* CGP_PF_* */
    const char *arg;    /* placeholder in usage lines */
    const char *help;
};

extern const struct cgp_param_info cgp_param_table[CGP_PARAM_COUNT];

/* Index of a parameter by name (dashes or underscores), or -1. */
int cgp_param_index(const char *name);

#endif
