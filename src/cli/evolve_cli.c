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
