/* train_progress.h - progress lines of `cgpc train` (issue #11 item 7).
 *
 * One line per run and threshold: "run i/N threshold j/K (T per weight) gen g/G best error E
 * per weight energy X pJ ETA ...", where i, j count from 1, T is the per-weight threshold of the
 * experiment file (int8 units), E the best circuit's error in the same unit (sqrt of the mean
 * squared error for se/mse, the mean absolute error for ae), g counts the generations of the run (carried across thresholds) and G is
 * thresholds x generations per threshold (the most a run can take); ETA extrapolates the wall
 * time so far over all runs. On a terminal the line is redrawn in place (cleared first) and
 * kept, marked "done", when its threshold ends; on anything else (cluster logs) a plain line is
 * written every `every_s` seconds and at each threshold's end. */
#ifndef CGPC_CLI_TRAIN_PROGRESS_H
#define CGPC_CLI_TRAIN_PROGRESS_H

#include <stdio.h>

#include "cgp/cgp.h"

struct train_progress {
    FILE *out;
    int tty;
    int runs, first_run, n_stages;
    int64_t generations;                     /* per threshold */
    double per_weight[CGP_MAX_THRESHOLDS];   /* the experiment's thresholds */
    enum cgp_error_kind kind;
    double cared;                            /* cared outputs: the metric's divisor */
    double every_s;
    double t0, last;
    int drawn;                               /* a line is on the terminal */
    int prev_run, prev_stage;                /* the stage of prev (-1: none) */
    char prev[512];                          /* its latest line */
};

void train_progress_init(struct train_progress *p, FILE *out, int tty,
                         const struct cgp_params *params, const double *per_weight,
                         int n_per_weight, double cared, double every_s);
/* The evolver's error (in its metric) as a per-weight error in int8 units. */
double train_progress_per_weight(enum cgp_error_kind kind, double error, double cared);
/* The cgp_callbacks progress function; user is a struct train_progress. */
void train_progress_report(void *user, const struct cgp_progress *pr);
/* End the live line (terminal). */
void train_progress_end(struct train_progress *p);
/* Format one line (no newline) into buf: the text both modes print; now is the wall time. */
void train_progress_format(const struct train_progress *p, const struct cgp_progress *pr,
                           double now, char *buf, size_t cap);

#endif
