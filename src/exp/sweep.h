/* sweep.h - `cgpc train --all-layers`: one experiment per convolution of the model.
 *
 * exp_sweep_layers() walks the model's convolutions in layer order; for each it makes the
 * layer's experiment (the base configuration with {layer} = the layer's name and name =
 * "<name>:<layer>", both with origin "--all-layers"), its directory OUT/<layer>, and what is
 * left of a time budget for the whole sweep; and hands them to a step function (the CLI's
 * one-experiment trainer). The sweep stops at the first step that returns nonzero and passes
 * that value back. A model without convolutions is an error. Nothing here prints. */
#ifndef CGPC_EXP_SWEEP_H
#define CGPC_EXP_SWEEP_H

#include "common/error.h"
#include "exp/config.h"

struct exp_sweep_step {
    const char *layer;            /* the convolution's name, e.g. "conv2" */
    const struct exp_config *cfg; /* its experiment */
    const char *dir;              /* OUT/<layer> */
    int index, count;             /* the step's place among the model's convolutions */
    double stop_after;            /* seconds left of the sweep's budget (> 0), or 0 = none */
};

/* Returns 0 to go on, anything else to stop the sweep with that value. */
typedef int (*exp_sweep_fn)(void *ctx, const struct exp_sweep_step *step);

/* stop_after: the whole sweep's budget in seconds (0: none); each step gets the rest, at least
 * 1 ms. *rc: the first nonzero step result, else 0. */
cgpc_status exp_sweep_layers(const struct exp_config *cfg, const char *out, double stop_after,
                             exp_sweep_fn step, void *ctx, int *rc, struct cgpc_err *err);

#endif
