/* train_progress.h - progress lines of `cgpc train` and `cgpc evolve` (issue #11 item 7).
 *
 * One line per run and threshold: "run i/N threshold j/K (T per weight) gen g/G best error E
 * per weight energy X pJ ETA ...", where i, j count from 1 among this invocation's runs and
 * thresholds, T is the threshold per weight in int8 units (as experiment files give it), E the
 * best circuit's error in the same unit (sqrt of the mean squared error for se/mse, the mean
 * absolute error for ae; cgp_per_weight), g counts the generations of the run (carried across
 * thresholds) and G is thresholds x generations per threshold (the most a run can take); ETA
 * extrapolates the wall time so far over all runs. With rates set (evolve) the line ends with
 * the generations per second. On a terminal the line is redrawn in place (cleared first) and
 * kept, marked "done", when its threshold ends; on anything else (cluster logs) a plain line is
 * written every `every_s` seconds and at each threshold's end. Everything the line shows comes
 * from struct cgp_progress, so a resumed run needs nothing else. */
#ifndef CGPC_CLI_TRAIN_PROGRESS_H
#define CGPC_CLI_TRAIN_PROGRESS_H

#include <stdio.h>

#include "cgp/cgp.h"

struct train_progress {
    FILE *out;
    int tty;
    int rates;                               /* append generations/s (evolve) */
    double every_s;
    double t0, last;
    int drawn;                               /* a line is on the terminal */
    int prev_run, prev_stage;                /* the stage of prev (-1: none) */
    char prev[512];                          /* its latest line */
};

void train_progress_init(struct train_progress *p, FILE *out, int tty, double every_s,
                         int rates);
/* The cgp_callbacks progress function; user is a struct train_progress. */
void train_progress_report(void *user, const struct cgp_progress *pr);
/* End the live line (terminal). */
void train_progress_end(struct train_progress *p);
/* Format one line (no newline) into buf: the text both modes print; now is the wall time. */
void train_progress_format(const struct train_progress *p, const struct cgp_progress *pr,
                           double now, char *buf, size_t cap);

#endif
