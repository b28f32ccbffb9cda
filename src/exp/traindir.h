/* traindir.h - what `cgpc train` keeps of an experiment in its run directory: the effective
 * experiment (DIR/experiment.exp, through src/cgp/rundir) and the check that a resumed run is
 * the same experiment.
 *
 * The run directory's files and formats belong to src/cgp/rundir.h; this module only turns an
 * experiment configuration into the text rundir stores and back. */
#ifndef CGPC_EXP_TRAINDIR_H
#define CGPC_EXP_TRAINDIR_H

#include "common/error.h"
#include "exp/config.h"
#include "exp/experiment.h"

/* Write DIR/experiment.exp: s's configuration with the resolved model path, so the directory
 * stands on its own. */
cgpc_status exp_traindir_save(const struct exp_setup *s, const char *dir, struct cgpc_err *err);

/* Resuming DIR with cfg: every key must have the value DIR/experiment.exp recorded (the model
 * compared as resolved files). CGPC_ERR_ARG naming the first key that differs, both values
 * and where the new one comes from (a different experiment file, or an override such as
 * --rows 5, is refused rather than silently ignored). */
cgpc_status exp_traindir_check_resume(const struct exp_config *cfg, const char *dir,
                                      struct cgpc_err *err);

#endif
