/* train_progress.c - the progress lines of `cgpc train` and `cgpc evolve` (train_progress.h). */
#include "train_progress.h"

#include <inttypes.h>
#include <string.h>

#include "common/parallel.h"

void train_progress_init(struct train_progress *p, FILE *out, int tty, double every_s,
                         int rates)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->rates = rates;
    p->every_s = every_s;
    p->t0 = p->last = cgpc_wtime();
    p->prev_run = p->prev_stage = -1;
}

static void format_eta(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, cap, "?");
    else if (s >= 3600)
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, cap, "%.0fs", s);
}

void train_progress_format(const struct train_progress *p, const struct cgp_progress *pr,
                           double now, char *buf, size_t cap)
{
    int n_stages = pr->n_stages > 0 ? pr->n_stages : 1;
    int64_t per_run = pr->generations_per_stage * n_stages;
    int run_i = pr->run - pr->first_run; /* 0-based among this invocation's runs */
    double done = (double)run_i * (double)per_run + (double)pr->generation;
    double total = (double)pr->runs * (double)per_run;
    double frac = total > 0 ? done / total : 0;
    char eta[32];
    format_eta(frac > 0 ? (now - p->t0) * (1 - frac) / frac : -1, eta, sizeof eta);
    const struct cgp_fitness *f = pr->best;
    char energy[32];
    if (f->costed) /* energy is known once the error is within the threshold */
        snprintf(energy, sizeof energy, "%.4g pJ", f->energy_pj);
    else
        snprintf(energy, sizeof energy, "-");
    if (f->bits > 0) /* fitness bits (residual mode): the estimate the search minimises */
        snprintf(energy + strlen(energy), sizeof energy - strlen(energy), " stored %.0f bits",
                 f->bits);
    int stage = pr->stage % n_stages;
    int n = snprintf(buf, cap,
                     "run %d/%d threshold %d/%d (%g per weight) gen %" PRId64 "/%" PRId64
                     " best error %.4g per weight energy %s ETA %s",
                     run_i + 1, pr->runs, stage + 1, n_stages, pr->threshold_per_weight,
                     pr->generation, per_run, pr->error_per_weight, energy, eta);
    if (p->rates && pr->gens_per_s > 0 && n > 0 && (size_t)n < cap) /* three counts apart */
        snprintf(buf + n, cap - (size_t)n,
                 " (%.0f generations/s, %.0f offspring evaluated/s, %.3g node x item "
                 "evaluations/s)",
                 pr->gens_per_s, pr->offspring_per_s, pr->node_evals_per_s);
}

/* A threshold ended: its last line stays (terminal) or is written (logs). */
static void finish_stage(struct train_progress *p, const char *line)
{
    if (p->tty)
        fprintf(p->out, "\r\033[K%s (done)\n", line);
    else
        fprintf(p->out, "%s (threshold done)\n", line);
    p->drawn = 0;
    p->prev_run = p->prev_stage = -1;
}

void train_progress_report(void *user, const struct cgp_progress *pr)
{
    struct train_progress *p = user;
    double now = cgpc_wtime();
    char line[512];
    train_progress_format(p, pr, now, line, sizeof line);
    if (p->prev_run >= 0 && (pr->run != p->prev_run || pr->stage != p->prev_stage))
        finish_stage(p, p->prev);
    if (pr->gens_per_s <= 0) { /* the evolver reports a run's end with rate 0 */
        finish_stage(p, line);
    } else {
        if (p->tty) {
            fprintf(p->out, "\r\033[K%s", line);
            p->drawn = 1;
        } else if (now - p->last >= p->every_s) {
            fprintf(p->out, "%s\n", line);
            p->last = now;
        }
        p->prev_run = pr->run;
        p->prev_stage = pr->stage;
        snprintf(p->prev, sizeof p->prev, "%s", line);
    }
    fflush(p->out);
}

void train_progress_end(struct train_progress *p)
{
    if (p->tty && p->drawn)
        fprintf(p->out, "\n");
    p->drawn = 0;
}
