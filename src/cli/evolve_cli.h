/* evolve_cli.h - what the commands that run the evolver share (`evolve`, `train`): a stop
 * flag set by SIGTERM/SIGINT (PBS walltime, Ctrl-C) or by an alarm after --stop-after
 * seconds (the progress lines are train_progress.h's). */
#ifndef CGPC_CLI_EVOLVE_CLI_H
#define CGPC_CLI_EVOLVE_CLI_H

#include <signal.h>

#include "../cgp/cgp.h"

/* Set to 1 by the handlers; the evolver polls it and checkpoints. */
extern volatile sig_atomic_t evolve_cli_stop;

struct evolve_cli_signals {
    struct sigaction old_term, old_int, old_alrm;
};

/* Install SIGTERM/SIGINT handlers (and SIGALRM after stop_after_s seconds when > 0). */
void evolve_cli_signals_install(struct evolve_cli_signals *s, double stop_after_s);
void evolve_cli_signals_restore(const struct evolve_cli_signals *s);

#endif
