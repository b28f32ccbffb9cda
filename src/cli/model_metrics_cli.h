/* model_metrics_cli.h - what `cgpc model-metrics` (cmd_model_metrics.c: options, rows, CSVs)
 * shares with its plot writer (model_metrics_plot.c: gnuplot data, script and PNG/SVG). */
#ifndef CGPC_CLI_MODEL_METRICS_H
#define CGPC_CLI_MODEL_METRICS_H

#include <stdio.h>

#include "exp/metrics.h"
#include "exp/summary.h"

struct metrics_opts;

/* Every row is kept (for the summary and the plots) with the model it measured. */
struct kept_row {
    struct exp_metrics_row r;
    char model[128];
};

struct row_sink {
    FILE *csv;
    const char *dir;
    const char *model;   /* file name of the current directory's model */
    const struct metrics_opts *o;
    const char *memory;
    struct kept_row *rows;
    int n_rows, cap_rows;
    struct exp_summary summary;
    int failed;          /* out of memory while keeping rows */
};

/* Append DIR's Pareto fronts (DIR/pareto.<run>.csv) to `out`, one data block per run titled
 * "<name> run <r>". */
void model_metrics_append_pareto(FILE *out, const char *dir, const char *name);

/* Write plot_dir/series.dat and plots.gp from the kept rows (one plot clause per series, one
 * baseline per model) and run gnuplot on them; pareto_path holds n_blocks Pareto blocks.
 * Returns a CLI exit code (messages already printed). */
int model_metrics_write_plots(const char *plot_dir, const struct row_sink *k,
                              const char *pareto_path, int n_blocks);

#endif
