/* export_cli.h - the `cgpc circuit export` / `cgpc circuit synth` options and actions, the
 * `circuit eval --outputs` writer, and the `model-metrics --plot` hook that draws the best
 * circuit of each threshold. Shared by cmd_circuit.c and cmd_model_metrics.c. */
#ifndef CGPC_EXPORT_CLI_H
#define CGPC_EXPORT_CLI_H

#include "cgp/cgp.h"
#include "cli.h"
#include "exp/experiment.h"

struct export_cli_opts {
    const char *format; /* verilog | c | dot */
    const char *out;    /* NULL or "-": stdout */
    const char *name;   /* default "cgpc_circuit" */
    const char *exp;    /* run directory, "none", or NULL: the chromosome's directory if it
                           holds experiment.exp */
    int weights;
    const char *render; /* svg | png | NULL */
    const char *yosys;  /* default "yosys" */
    const char *keep;   /* synth work directory to keep, or NULL (temporary) */
};

enum {
    EXPORT_OPT_FORMAT = CLI_OPT_FIRST_COMMAND_SPECIFIC + 0x40,
    EXPORT_OPT_OUT,
    EXPORT_OPT_NAME,
    EXPORT_OPT_EXP,
    EXPORT_OPT_WEIGHTS,
    EXPORT_OPT_RENDER,
    EXPORT_OPT_YOSYS,
    EXPORT_OPT_KEEP
};

#define EXPORT_CLI_LONG_OPTIONS                                   \
    {"format", required_argument, NULL, EXPORT_OPT_FORMAT},       \
    {"out", required_argument, NULL, EXPORT_OPT_OUT},             \
    {"name", required_argument, NULL, EXPORT_OPT_NAME},           \
    {"exp", required_argument, NULL, EXPORT_OPT_EXP},             \
    {"weights", no_argument, NULL, EXPORT_OPT_WEIGHTS},           \
    {"render", required_argument, NULL, EXPORT_OPT_RENDER},       \
    {"yosys", required_argument, NULL, EXPORT_OPT_YOSYS},         \
    {"keep", required_argument, NULL, EXPORT_OPT_KEEP}

#define EXPORT_CLI_USAGE                                                                       \
    "  --format F             export: verilog, c or dot (required for export)\n"                \
    "  --out FILE             export: write here, atomically (default: stdout; required with\n" \
    "                         --render, then it names the image)\n"                            \
    "  --name N               module / function / graph name, a C and Verilog identifier\n"     \
    "                         (default: cgpc_circuit)\n"                                       \
    "  --exp DIR|none         the 'cgpc train' directory the chromosome belongs to: ports are\n" \
    "                         named by the weights they are (comments; DOT labels) (default:\n" \
    "                         the chromosome's directory when it holds experiment.exp; none:\n" \
    "                         no names; synth: none unless given)\n"                         \
    "  --weights              export c: add NAME_weights(), which regenerates the experiment's\n" \
    "                         weight tensors in place from their kept weights (needs the\n" \
    "                         experiment: see --exp)\n"                                     \
    "                         (default: off)\n"                                                \
    "  --render svg|png       export dot: render through Graphviz 'dot' into --out (default:\n" \
    "                         off, the DOT text is written)\n"                                 \
    "  --yosys PROG           synth: the Yosys program (default: yosys, from PATH)\n"           \
    "  --keep DIR             synth: keep the Verilog, script, log and statistics in DIR\n"     \
    "                         (default: a temporary directory, removed)\n"

void export_cli_defaults(struct export_cli_opts *o);
/* 1 handled, 0 not an export option, -1 bad value (printed). */
int export_cli_option(int opt, const char *arg, struct export_cli_opts *o);
/* Check the options for the action; returns 0 or CLI_EXIT_USAGE (printed). */
int export_cli_check(const char *action, const struct export_cli_opts *o);
/* Run "export" or "synth" on a loaded chromosome; returns the exit code. */
int export_cli_run(const char *action, const char *chr_path, const struct cgp_genome *g,
                   const struct energy_gate_table *table, const struct export_cli_opts *o);
/* `circuit eval --outputs FILE`: ds's inputs with outputs[o * n_items + d] as 'cgpc-data v1'. */
int export_cli_write_outputs(const char *path, const struct cgp_dataset *ds,
                             const int8_t *outputs);
/* `model-metrics --plot`: for each threshold of train directory dir, the best circuit over
 * its runs (reached first, then least energy with the gate table `gates`, else least error on
 * the experiment's data) drawn as
 * plot_dir/circuit.<name>.<T>.{dot,png,svg}, ports named from setup. Returns the exit code. */
int export_cli_plot_best(const char *dir, const char *plot_dir, const char *name,
                         const struct exp_setup *setup, const struct energy_gate_table *gates);

#endif
