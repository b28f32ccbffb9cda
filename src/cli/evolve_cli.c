#include "evolve_cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

volatile sig_atomic_t evolve_cli_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    evolve_cli_stop = 1;
}

void evolve_cli_signals_install(struct evolve_cli_signals *s, double stop_after_s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    evolve_cli_stop = 0;
    sigaction(SIGTERM, &sa, &s->old_term);
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGALRM, &sa, &s->old_alrm);
    if (stop_after_s > 0) {
        struct itimerval it = {{0, 0}, {(time_t)stop_after_s,
                                        (suseconds_t)((stop_after_s - (double)(time_t)stop_after_s) * 1e6)}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
}

void evolve_cli_signals_restore(const struct evolve_cli_signals *s)
{
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGALRM, &s->old_alrm, NULL);
}

void evolve_cli_progress(void *user, const struct cgp_progress *pr)
{
    (void)user;
    const struct cgp_fitness *f = pr->best;
    /* energy is only known once the error is within the threshold */
    fprintf(stderr, "\rrun %d threshold %g gen %" PRId64 " error %.6g energy ", pr->run,
            pr->threshold, pr->generation, f->error);
    if (f->costed)
        fprintf(stderr, "%.4g pJ", f->energy_pj);
    else
        fprintf(stderr, "-");
    if (pr->gens_per_s > 0)
        fprintf(stderr, "  %.0f generations/s, %.0f offspring evaluated/s, %.3g node x item "
                "evaluations/s", pr->gens_per_s, pr->offspring_per_s, pr->node_evals_per_s);
    fprintf(stderr, "   ");
    fflush(stderr);
}
