/* model_metrics_cli.h - what `cgpc model-metrics` (cmd_model_metrics.c: options, rows, CSVs)
 * shares with its plot writer (model_metrics_plot.c: gnuplot data, script and PNG/SVG). */
#ifndef CGPC_CLI_MODEL_METRICS_H
#define CGPC_CLI_MODEL_METRICS_H

#include <stdio.h>

#include "exp/metrics.h"
#include "exp/summary.h"
#include "nn/dataset.h"

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

/* The validation and test splits of data set `name` padded to h x w (models take inputs of
 * their own size: 28x28 images are zero-padded for MobileNetV2's 32x32), kept across calls
 * while the name and size stay the same. Zero-initialise; free with model_metrics_splits_free. */
struct mm_splits {
    char name[4096];
    struct nn_dataset val, test;
};
cgpc_status model_metrics_splits(struct mm_splits *sp, const char *name, int h, int w,
                                 struct cgpc_err *err);
void model_metrics_splits_free(struct mm_splits *sp);

/* One row per model file (exp/compare.h: float32, int8, cgpc-lowbit, cgpc-deep) passed to
 * row(sink): data set `dataset`, else the file's 'dataset' metadata; the options' limit
 * (<= 0: all images), memory, deployment and batch. A label already taken by an earlier row
 * becomes the file's path. Returns a CLI exit code (messages printed). */
int model_metrics_compare(char *const *files, int n, const char *dataset,
                          const struct exp_metrics_opts *mo, struct row_sink *sink,
                          struct mm_splits *sp,
                          int (*row)(void *user, const struct exp_metrics_row *r));

/* Move the regular files among args[0..n) to files[*n_files...] (model files to compare),
 * keeping the rest (train directories) in order at the front; returns how many remain. */
int model_metrics_take_files(char **args, int n, char **files, int *n_files);

/* Append DIR's Pareto fronts (DIR/pareto.<run>.csv) to `out`, one data block per run titled
 * "<name> run <r>"; returns the number of blocks. */
int model_metrics_append_pareto(FILE *out, const char *dir, const char *name);

/* Write plot_dir/series.dat and plots.gp from the kept rows (one plot clause per series, one
 * baseline per model) and run gnuplot on them; pareto_path holds n_blocks Pareto blocks.
 * Returns a CLI exit code (messages already printed). */
int model_metrics_write_plots(const char *plot_dir, const struct row_sink *k,
                              const char *pareto_path, int n_blocks);

#endif
