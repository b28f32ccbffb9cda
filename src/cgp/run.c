/* run.c - evolution runs with files: configuration, data copy, statistics journal, best
 * circuits per threshold, Pareto archive, results table and checkpoints, resume. Every file
 * is read and written through the run-directory module (rundir.h); layout and formats:
 * docs/ARCHITECTURE.md, section src/cgp. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgp/evolver_internal.h"
#include "cgp/journal.h"
#include "cgp/rundir.h"
#include "common/fileio.h"
#include "common/parallel.h"
#include "common/parse.h"


/* What the runs of one directory share: results.csv's rows, the checkpoint and, when runs
 * go concurrently (one per thread), which runs are claimed and finished. */
struct run_shared {
    const char *dir;
    const struct cgp_params *p;
    struct cgp_stage_result *results; /* all stages of all runs: runs x stages, run-major */
    unsigned char *stage_done;        /* per results row: finished */
    unsigned char *run_done;          /* per run (index run - first_run): finished */
    int next_run;                     /* the next run a lane claims */
    int lanes;                        /* runs in flight at once (1: one after another) */
    volatile sig_atomic_t abort;      /* a lane failed: the others stop at a checkpoint */
    /* Progress with concurrent runs reads as one after another: the lowest open run reports
     * live; the others' stage ends and run ends wait here (runs x (stages + 1) slots) and are
     * reported in order once their run becomes the lowest. */
    struct held_report {
        int set;
        struct cgp_progress pr;
        struct cgp_fitness best;
    } *held;
    const int32_t *slot_of;           /* value-slot mode: output -> slot, else NULL */
    int n_outputs;                    /* of the original data set */
};

/* One lane: the run in flight on one thread, with its own evolver and per-run files. */
struct run_state {
    struct run_shared *sh;
    struct cgp_evolver *ev;
    const char *dir;
    char path[4096];
    FILE *journal;          /* statistics.<run>.csv.part */
    struct cgp_journal_enc *jenc; /* its circuit column: the previous row's circuit */
    int64_t journal_bytes;  /* committed length (fflush'ed) */
    struct cgp_pareto_point *pareto;
    int n_pareto, cap_pareto;
    struct cgpc_err hook_err;
};

static const char *dir_path(struct run_state *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *dir_path(struct run_state *rs, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(rs->path, sizeof rs->path, "%s/", rs->dir);
    va_start(ap, fmt);
    vsnprintf(rs->path + n, sizeof rs->path - (size_t)n, fmt, ap);
    va_end(ap);
    return rs->path;
}

static void pareto_clear(struct run_state *rs)
{
    for (int i = 0; i < rs->n_pareto; i++)
        free(rs->pareto[i].circuit);
    rs->n_pareto = 0;
}

/* Insert unless dominated (or equal) in (error, energy); drop the points it dominates. Keeps
 * the archive sorted by error. Takes ownership of pt.circuit. */
static cgpc_status pareto_add(struct run_state *rs, struct cgp_pareto_point pt, struct cgpc_err *err)
{
    for (int i = 0; i < rs->n_pareto; i++)
        if (rs->pareto[i].err_sum <= pt.err_sum && rs->pareto[i].energy <= pt.energy) {
            free(pt.circuit);
            return CGPC_OK;
        }
    int n = 0;
    for (int i = 0; i < rs->n_pareto; i++) {
        if (pt.err_sum <= rs->pareto[i].err_sum && pt.energy <= rs->pareto[i].energy)
            free(rs->pareto[i].circuit);
        else
            rs->pareto[n++] = rs->pareto[i];
    }
    rs->n_pareto = n;
    if (n == rs->cap_pareto) {
        int cap = rs->cap_pareto ? 2 * rs->cap_pareto : 16;
        struct cgp_pareto_point *p = realloc(rs->pareto, (size_t)cap * sizeof *p);
        if (!p) {
            free(pt.circuit);
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "Pareto archive of %d points", cap);
        }
        rs->pareto = p;
        rs->cap_pareto = cap;
    }
    int at = n;
    while (at > 0 && rs->pareto[at - 1].err_sum > pt.err_sum)
        at--;
    memmove(&rs->pareto[at + 1], &rs->pareto[at], (size_t)(n - at) * sizeof pt);
    rs->pareto[at] = pt;
    rs->n_pareto++;
    return CGPC_OK;
}

/* Statistics row and Pareto point for the current parent. */
static cgpc_status record_parent(struct run_state *rs, struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    cgp_evolver_cost_parent(ev);
    const struct cgp_fitness *f = &ev->parent_fit;
    char *circ = cgp_evolver_circuit_string(ev);
    if (!circ)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "circuit string");
    char *field = cgp_journal_enc_next(rs->jenc, circ); /* the circuit, or what changed */
    if (!field) {
        free(circ);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "statistics row");
    }
    struct cgp_stats_row row = {ev->run,
                                cgp_per_weight(ev->p.error_kind, ev->threshold, ev->cared),
                                ev->threshold,
                                ev->generation,
                                cgpc_wtime() - ev->run_t0,
                                cgp_per_weight(ev->p.error_kind, f->error, ev->cared),
                                f,
                                field};
    int n = cgp_stats_write_row(rs->journal, &row);
    free(field);
    if (n < 0 || fflush(rs->journal) != 0) {
        free(circ);
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot append to the statistics journal",
                         dir_path(rs, "statistics.%d.csv.part", ev->run));
    }
    rs->journal_bytes += n;
    struct cgp_pareto_point pt = {f->err_sum, f->error, f->energy_pj, f->delay_ns, f->gates,
                              ev->stage, ev->generation, circ};
    return pareto_add(rs, pt, err);
}

static void on_improve(struct cgp_evolver *ev, void *user)
{
    struct run_state *rs = user;
    if (record_parent(rs, &rs->hook_err) != CGPC_OK)
        ev->hook_failed = 1;
}

/* ---- checkpoints --------------------------------------------------------------------------- */

/* ck's position and counters, with the state's results, Pareto archive and (has_genes) the
 * parent attached. The caller holds the shared lock (checkpoint_at). */
static cgpc_status checkpoint_save(struct run_state *rs, struct cgp_checkpoint *ck,
                                    int has_genes, struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    if (rs->journal && (fflush(rs->journal) != 0 || fsync(fileno(rs->journal)) != 0))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot flush the statistics journal",
                         dir_path(rs, "statistics.%d.csv.part", ck->run));
    ck->results = rs->sh->results;
    /* the stages before the position are finished */
    ck->n_results = (ck->run - ev->p.first_run) * ev->p.n_thresholds + ck->stage;
    /* the archive of the run in flight (a checkpoint between runs holds none) */
    ck->points = has_genes ? rs->pareto : NULL;
    ck->n_points = has_genes ? rs->n_pareto : 0;
    ck->genes = has_genes ? ev->parent.genes : NULL;
    ck->n_genes = has_genes ? ev->shape.n_genes : 0;
    return cgp_checkpoint_save(ck, rs->dir, err);
}

/* Load and validate the checkpoint against the run's configuration; adopt its results, Pareto
 * archive and parent (every gene checked). */
static cgpc_status checkpoint_read(struct run_state *rs, struct cgp_checkpoint *ck,
                                   struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_params *p = &ev->p;
    struct cgp_checkpoint_limits lim = {p->first_run, p->runs, p->n_thresholds, p->thresholds,
                                        p->generations, ev->shape.n_genes};
    cgpc_status st = cgp_checkpoint_load(ck, rs->dir, &lim, err);
    if (st != CGPC_OK)
        return st;
    struct run_shared *sh = rs->sh;
    if (ck->n_results) /* results may be NULL when there are none */
        memcpy(sh->results, ck->results, (size_t)ck->n_results * sizeof *sh->results);
    memset(sh->stage_done, 1, (size_t)ck->n_results);
    for (int r = p->first_run; r < ck->run; r++)
        sh->run_done[r - p->first_run] = 1;
    struct cgp_pareto_point *pts = (struct cgp_pareto_point *)ck->points;
    for (int i = 0; i < ck->n_points && st == CGPC_OK; i++) {
        st = pareto_add(rs, pts[i], err); /* takes the circuit */
        pts[i].circuit = NULL;
    }
    if (st == CGPC_OK && ck->genes) {
        memcpy(ev->parent.genes, ck->genes, (size_t)ck->n_genes * sizeof *ck->genes);
        struct cgpc_err e2 = {0};
        if (cgp_genome_check(&ev->parent, &e2) != CGPC_OK)
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: genes: %s", dir_path(rs, "checkpoint"),
                           e2.msg);
    }
    /* keep the position and counters; the arrays now live in rs */
    struct cgp_checkpoint arrays = *ck;
    cgp_checkpoint_free(&arrays);
    ck->results = NULL;
    ck->points = NULL;
    ck->genes = NULL;
    ck->n_results = ck->n_points = ck->n_genes = 0;
    return st;
}

/* ---- outputs per stage and run ------------------------------------------------------------- */

/* The lowest run not finished (first_run + runs when all are). Under the shared lock. */
static int lowest_open_run(const struct run_shared *sh)
{
    int r = 0;
    while (r < sh->p->runs && sh->run_done[r])
        r++;
    return sh->p->first_run + r;
}

/* Write ck (atomic) if it describes the lowest run not finished: with runs in flight
 * concurrently, the checkpoint follows that run, and a resume redoes the runs after it (the
 * same results: every run is keyed by its number). One run after another, always. */
static cgpc_status checkpoint_write(struct run_state *rs, struct cgp_checkpoint *ck,
                                    int has_genes, struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    if (ck->run == lowest_open_run(rs->sh))
        st = checkpoint_save(rs, ck, has_genes, err);
    return st;
}

/* Record results row `slot` and rewrite results.csv with every row up to the first stage not
 * finished (with concurrent runs, later runs' rows wait for the earlier ones). */
static cgpc_status stage_finished(struct run_state *rs, int slot, struct cgpc_err *err)
{
    struct run_shared *sh = rs->sh;
    const struct cgp_params *p = sh->p;
    cgpc_status st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    {
        sh->stage_done[slot] = 1;
        int n = 0;
        while (n < p->runs * p->n_thresholds && sh->stage_done[n])
            n++;
        st = cgp_results_save(rs->dir, sh->results, n, p->first_run, p->n_thresholds,
                              p->error_kind, rs->ev->cared, err);
    }
    return st;
}

static void held_flush(struct run_shared *sh, const struct cgp_callbacks *cb, int upto);

/* Mark run finished; if it was the lowest open run, checkpoint the next open one (not
 * started: a resume redoes it from its first stage) and report what the runs up to it held. */
static cgpc_status run_finished(struct run_state *rs, int run, const struct cgp_callbacks *cb,
                                struct cgpc_err *err)
{
    struct run_shared *sh = rs->sh;
    cgpc_status st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    {
        int was = lowest_open_run(sh) == run;
        sh->run_done[run - sh->p->first_run] = 1;
        if (was) {
            struct cgp_checkpoint next = {0};
            next.run = lowest_open_run(sh);
            next.done = next.run == sh->p->first_run + sh->p->runs;
            st = checkpoint_save(rs, &next, 0, err);
            if (sh->held && cb && cb->progress)
                held_flush(sh, cb, next.run);
        }
    }
    return st;
}

static cgpc_status write_pareto(struct run_state *rs, int run, struct cgpc_err *err)
{
    return cgp_pareto_save(rs->dir, run, rs->pareto, rs->n_pareto, rs->ev->p.thresholds,
                           rs->ev->p.error_kind, rs->ev->cared, err);
}

static cgpc_status write_best(struct run_state *rs, struct cgp_stage_result *r,
                              struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_fitness *f = &ev->parent_fit;
    char comment[1024];
    double pw = cgp_per_weight(ev->p.error_kind, r->threshold, ev->cared);
    snprintf(comment, sizeof comment,
             "best of run %d for threshold %g per weight (%s %.17g, %s)\n"
             "reached %s%s\nerror %.17g per weight (%s %.17g)\nenergy-pj %.17g\n"
             "delay-ns %.17g\narea-um2 %.17g\ngates %d\ndepth %d\nactive %d\n"
             "generations %" PRId64,
             ev->run, pw, cgp_error_kind_name(ev->p.error_kind), r->threshold,
             r->reached ? "reached" : "NOT reached",
             r->reached ? "yes" : "no",
             r->reached ? "" : " (the error threshold was never reached: this is the best "
                               "circuit found)",
             cgp_per_weight(ev->p.error_kind, f->error, ev->cared),
             cgp_error_kind_name(ev->p.error_kind), f->error, f->energy_pj, f->delay_ns,
             f->area_um2, f->gates, f->depth, f->active, r->generations);
    if (!rs->sh->slot_of)
        return cgp_best_save(rs->dir, ev->run, pw, &ev->parent, comment, err);
    /* value slots: the file is wired to the original outputs, so it stands alone */
    struct cgp_genome full;
    cgpc_status st = cgp_genome_expand_slots(&ev->parent, rs->sh->slot_of, rs->sh->n_outputs, &full,
                                             err);
    if (st == CGPC_OK)
        st = cgp_best_save(rs->dir, ev->run, pw, &full, comment, err);
    cgp_genome_free(&full);
    return st;
}

/* A fresh delta encoder for run's journal; resuming, it continues from the last row kept. */
static cgpc_status journal_encoder(struct run_state *rs, int run, int resumed,
                                   struct cgpc_err *err)
{
    cgp_journal_enc_free(rs->jenc);
    rs->jenc = NULL;
    cgpc_status st = cgp_journal_enc_new(&rs->jenc, err);
    if (st != CGPC_OK || !resumed)
        return st;
    struct cgp_stats kept;
    if ((st = cgp_stats_load(rs->dir, run, &kept, err)) != CGPC_OK)
        return st;
    int r;
    double thr;
    int64_t gen;
    const char *circuit;
    if (kept.n_lines > 0 &&
             cgp_stats_parse_row(kept.lines[kept.n_lines - 1], &r, &thr, &gen, &circuit))
        st = cgp_journal_enc_set(rs->jenc, circuit, err);
    cgp_stats_free(&kept);
    return st;
}

/* statistics.<run>.csv.part -> statistics.<run>.csv.gz, then remove the journal. */
static cgpc_status finish_statistics(struct run_state *rs, int run, struct cgpc_err *err)
{
    if (rs->journal) {
        fclose(rs->journal);
        rs->journal = NULL;
    }
    return cgp_stats_finish(rs->dir, run, err);
}

static void fill_checkpoint(const struct run_state *rs, struct cgp_checkpoint *ck, int started)
{
    const struct cgp_evolver *ev = rs->ev;
    double now = cgpc_wtime();
    memset(ck, 0, sizeof *ck);
    ck->run = ev->run;
    ck->stage = ev->stage;
    ck->started = started;
    ck->generation = ev->generation;
    ck->stage_gens = ev->stage_gens;
    ck->since_improve = ev->since_improve;
    ck->journal_bytes = rs->journal_bytes;
    ck->stage_seconds = now - ev->stage_t0;
    ck->run_seconds = now - ev->run_t0;
}

enum report_kind { REPORT_LIVE, REPORT_STAGE_END, REPORT_RUN_END };

/* Deliver the held reports of runs below `upto` and of run `upto` itself (in order), once
 * `upto` is the lowest open run. Under the shared lock. */
static void held_flush(struct run_shared *sh, const struct cgp_callbacks *cb, int upto)
{
    const int K = sh->p->n_thresholds + 1;
    for (int r = sh->p->first_run; r <= upto && r < sh->p->first_run + sh->p->runs; r++)
        for (int k = 0; k < K; k++) {
            struct held_report *h = &sh->held[(r - sh->p->first_run) * K + k];
            if (!h->set)
                continue;
            h->pr.best = &h->best;
            cb->progress(cb->user, &h->pr);
            h->set = 0;
        }
}

/* rate[3]: generations, offspring evaluated, node x item evaluations per second. */
static void report_progress(struct run_state *rs, const struct cgp_callbacks *cb,
                            const double *rate, enum report_kind kind)
{
    if (!cb || !cb->progress)
        return;
    struct cgp_evolver *ev = rs->ev;
    struct run_shared *sh = rs->sh;
    const struct cgp_params *p = &ev->p;
    struct cgp_progress pr = {ev->run, ev->stage, ev->threshold, ev->generation, &ev->parent_fit,
                              rate[0], rate[1], rate[2],
                              cgp_per_weight(p->error_kind, ev->threshold, ev->cared),
                              cgp_per_weight(p->error_kind, ev->parent_fit.error, ev->cared),
                              p->first_run, p->runs, p->n_thresholds, p->generations};
    CGPC_OMP(critical(cgp_run_shared)) /* lanes report one at a time */
    {
        int lowest = lowest_open_run(sh);
        if (ev->run == lowest || !sh->held) {
            cb->progress(cb->user, &pr);
        } else if (kind != REPORT_LIVE) {
            int K = sh->p->n_thresholds + 1;
            int k = kind == REPORT_RUN_END ? K - 1 : ev->stage % sh->p->n_thresholds;
            struct held_report *h = &sh->held[(ev->run - sh->p->first_run) * K + k];
            h->set = 1;
            h->pr = pr;
            h->best = ev->parent_fit;
        }
    }
}

/* Run one stage from its (possibly resumed) state to its end. Returns CGPC_ERR_INTERRUPTED
 * after writing a checkpoint when stopped. */
static cgpc_status run_stage(struct run_state *rs, const struct cgp_callbacks *cb,
                             struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_params *p = &ev->p;
    double next_ckpt = cgpc_wtime() + (p->checkpoint_every > 0 ? p->checkpoint_every : 1e300);
    double last_t = cgpc_wtime(), last_report = last_t;
    struct cgp_totals tot;
    cgp_evolver_totals(ev, &tot);
    int64_t last_g = ev->generation, last_e = tot.evaluations, last_n = tot.node_evals;
    struct cgp_checkpoint ck;
    cgpc_status st;
    for (;;) {
        double now = cgpc_wtime();
        /* Pause at least every 0.25 s: progress, and the evolver re-measures whether threads
         * pay off for the current circuit size. */
        double pause = next_ckpt < now + 0.25 ? next_ckpt : now + 0.25;
        ev->pause_at = pause;
        cgp_evolver_advance(ev, INT64_MAX);
        if (ev->hook_failed) {
            *err = rs->hook_err;
            return err->code;
        }
        now = cgpc_wtime();
        cgp_evolver_totals(ev, &tot);
        double dt = now > last_t ? now - last_t : 0, rate[3] = {0, 0, 0};
        if (dt > 0) {
            rate[0] = (double)(ev->generation - last_g) / dt;
            rate[1] = (double)(tot.evaluations - last_e) / dt;
            rate[2] = (double)(tot.node_evals - last_n) / dt;
        }
        last_t = now;
        last_g = ev->generation;
        last_e = tot.evaluations;
        last_n = tot.node_evals;
        if (now - last_report >= 0.5 || ev->stop != CGP_STOP_PAUSE) {
            report_progress(rs, cb, rate,
                            ev->stop == CGP_STOP_BUDGET || ev->stop == CGP_STOP_PATIENCE ||
                                    ev->stop == CGP_STOP_TIME
                                ? REPORT_STAGE_END
                                : REPORT_LIVE);
            last_report = now;
        }
        switch (ev->stop) {
        case CGP_STOP_PAUSE:
            if (now >= next_ckpt) {
                fill_checkpoint(rs, &ck, 1);
                if ((st = checkpoint_write(rs, &ck, 1, err)) != CGPC_OK)
                    return st;
                next_ckpt = now + p->checkpoint_every;
            }
            continue;
        case CGP_STOP_SIGNAL:
        case CGP_STOP_AFTER:
            fill_checkpoint(rs, &ck, 1);
            if ((st = checkpoint_write(rs, &ck, 1, err)) != CGPC_OK)
                return st;
            return CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "interrupted at generation %" PRId64
                             " of run %d; checkpoint saved, continue with --resume %s",
                             ev->generation, ev->run, rs->dir);
        default:
            return CGPC_OK;
        }
    }
}

/* Run `run` from its first stage, or from the checkpoint's position when it is ck's run. */
static cgpc_status run_one(struct run_state *rs, int run, const struct cgp_checkpoint *ck,
                           int resume, const struct cgp_callbacks *cb, struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_params *p = &ev->p;
    cgpc_status st = CGPC_OK;
    int resumed_run = resume && run == ck->run && (ck->stage > 0 || ck->started);
    if (!resumed_run)
        pareto_clear(rs);
    /* A crash between compressing the statistics and the run's last checkpoint leaves only
     * the .gz: the run is finished, nothing to redo. */
    int finished = resumed_run && ck->stage == p->n_thresholds &&
                   !cgp_stats_exists(rs->dir, run, 1) && cgp_stats_exists(rs->dir, run, 0);
    if (!finished &&
        ((st = cgp_stats_open(rs->dir, run, resumed_run ? ck->journal_bytes : 0, &rs->journal,
                              &rs->journal_bytes, err)) != CGPC_OK ||
         (st = journal_encoder(rs, run, resumed_run, err)) != CGPC_OK))
        return st;
    ev->run = run;
    ev->run_t0 = cgpc_wtime() - (resumed_run ? ck->run_seconds : 0);
    int s0 = run == ck->run ? ck->stage : 0;
    for (int stage = s0; stage < p->n_thresholds; stage++) {
        int mid = resume && run == ck->run && stage == ck->stage && ck->started;
        /* the parent carries over inside a resumed stage, and between chained stages
                   (after a resume the checkpoint holds the previous stage's parent) */
        int carry = mid || (!p->independent && stage > 0);
        int64_t gen = (resume && run == ck->run && stage == ck->stage) ? ck->generation
                      : stage == 0 ? 0 : ev->generation;
        cgp_evolver_begin(ev, run, stage, carry ? ev->parent.genes : NULL, gen);
        if (mid) {
            ev->stage_gens = ck->stage_gens;
            ev->since_improve = ck->since_improve;
            ev->stage_t0 = cgpc_wtime() - ck->stage_seconds;
        } else if ((st = record_parent(rs, err)) != CGPC_OK) {
            return st;
        }
        if (!mid || ev->stage_gens < p->generations)
            if ((st = run_stage(rs, cb, err)) != CGPC_OK)
                return st;
        int slot = (run - p->first_run) * p->n_thresholds + stage; /* results row */
        struct cgp_stage_result *r = &rs->sh->results[slot];
        cgp_evolver_cost_parent(ev);
        r->threshold = ev->threshold;
        r->reached = ev->parent_fit.err_sum <= ev->limit;
        r->generations = ev->stage_gens;
        r->fit = ev->parent_fit;
        if ((st = write_best(rs, r, err)) || (st = stage_finished(rs, slot, err)) ||
            (st = write_pareto(rs, run, err)))
            return st;
        struct cgp_checkpoint next;
        fill_checkpoint(rs, &next, 0);
        next.stage = stage + 1;
        next.stage_gens = 0;
        next.since_improve = 0;
        next.stage_seconds = 0;
        if ((st = checkpoint_write(rs, &next, 1, err)) != CGPC_OK)
            return st;
    }
    if ((st = write_pareto(rs, run, err)) ||
        (!finished && (st = finish_statistics(rs, run, err))))
        return st;
    report_progress(rs, cb, (const double[3]){0, 0, 0}, REPORT_RUN_END);
    return run_finished(rs, run, cb, err);
}

/* Every run from the checkpoint's on. One lane: one run after another. Several: one run per
 * lane (thread) at a time, lane l starting with run ck->run + l (lane 0 holds the checkpoint's
 * parent and archive), then each claiming the next run in order; every run is keyed by its
 * number, so the files equal the sequential order's. A failed or interrupted lane stops the
 * others (sh->abort); the error reported is the first real one by lane, else the interruption
 * of the lowest run. */
static cgpc_status run_all(struct run_state *lanes, int n_lanes, struct cgp_checkpoint *ck,
                           int resume, const struct cgp_callbacks *cb, struct cgpc_err *err)
{
    struct run_shared *sh = lanes[0].sh;
    const int end = sh->p->first_run + sh->p->runs;
    if (n_lanes <= 1) {
        for (int run = ck->run; run < end; run++) {
            cgpc_status st = run_one(&lanes[0], run, ck, resume, cb, err);
            if (st != CGPC_OK)
                return st;
        }
        return CGPC_OK;
    }
    struct lane_result {
        cgpc_status st;
        int run;
        struct cgpc_err err;
    } *res = calloc((size_t)n_lanes, sizeof *res);
    if (!res)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "run lanes");
    sh->next_run = ck->run + n_lanes;
    CGPC_OMP(parallel num_threads(n_lanes))
    {
        int l = cgpc_thread_id();
        for (int run = ck->run + l; l < n_lanes && run < end && !sh->abort;) {
            struct lane_result *lr = &res[l];
            if ((lr->st = run_one(&lanes[l], run, ck, resume, cb, &lr->err)) != CGPC_OK) {
                lr->run = run;
                sh->abort = 1;
                break;
            }
            if (cb && cb->stop && *cb->stop)
                break;
            CGPC_OMP(critical(cgp_run_shared))
            run = sh->next_run++;
        }
    }
    cgpc_status st = CGPC_OK;
    int pick = -1;
    for (int l = 0; l < n_lanes; l++) {
        if (res[l].st == CGPC_OK)
            continue;
        int real = res[l].st != CGPC_ERR_INTERRUPTED;
        if (pick < 0 || (real && res[pick].st == CGPC_ERR_INTERRUPTED) ||
            (!real && res[pick].st == CGPC_ERR_INTERRUPTED && res[l].run < res[pick].run))
            pick = l;
    }
    if (pick >= 0) {
        *err = res[pick].err;
        st = res[pick].st;
    } else if (lowest_open_run(sh) < end) { /* stopped between runs */
        st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "interrupted before run %d; checkpoint saved, "
                       "continue with --resume %s", lowest_open_run(sh), sh->dir);
    }
    free(res);
    return st;
}

/* Resuming: results.csv, if there is one yet, is of this cgpc (an older one named its files by
 * the metric's threshold; continuing would leave two naming schemes in one directory). */
static cgpc_status results_check(struct run_state *rs, struct cgpc_err *err)
{
    if (!cgpc_path_exists(dir_path(rs, "results.csv")))
        return CGPC_OK;
    struct cgp_result_row *rows = NULL;
    int n = 0;
    cgpc_status st = cgp_results_load(rs->dir, &rows, &n, err);
    free(rows);
    return st;
}

/* Lane l's evolver (workers threads for its generations), hooked to the lane. */
static cgpc_status lane_init(struct run_state *lanes, int l, struct run_shared *sh,
                             const struct cgp_params *p, const struct cgp_dataset *ds,
                             const struct energy_gate_table *t, const struct cgp_callbacks *cb,
                             int workers, struct cgpc_err *err)
{
    struct run_state *rs = &lanes[l];
    rs->sh = sh;
    rs->dir = sh->dir;
    cgpc_status st = cgp_evolver_init_workers(&rs->ev, p, ds, t, workers, err);
    if (st != CGPC_OK)
        return st;
    rs->ev->cb = cb;
    rs->ev->abort = &sh->abort;
    rs->ev->on_improve = on_improve;
    rs->ev->hook_user = rs;
    rs->ev->run = p->first_run;
    return CGPC_OK;
}

static void lane_free(struct run_state *rs)
{
    if (rs->journal)
        fclose(rs->journal);
    cgp_journal_enc_free(rs->jenc);
    pareto_clear(rs);
    free(rs->pareto);
    cgp_evolver_free(rs->ev);
}

cgpc_status cgp_evolve_dir(const struct cgp_params *p_in, const struct cgp_dataset *ds_in,
                           const struct energy_gate_table *t, const char *out_dir, int resume,
                           const struct cgp_callbacks *cb, struct cgp_totals *totals,
                           struct cgpc_err *err)
{
    struct run_shared sh = {0};
    struct run_state *lanes = NULL;
    int n_lanes = 1;
    struct cgp_params p;
    struct cgp_dataset ds_own = {0}, ds_slots = {0};
    const struct cgp_dataset *ds = ds_in;
    int32_t *slot_of = NULL;
    struct cgp_checkpoint ck = {0};
    cgpc_status st = CGPC_OK;
    double t0 = 0;
    sh.dir = out_dir;
    sh.p = &p;
    if (totals)
        memset(totals, 0, sizeof *totals);
    if (resume) {
        if ((st = cgp_config_load(out_dir, &p, err)) != CGPC_OK ||
            (st = cgp_data_load(out_dir, &ds_own, err)) != CGPC_OK)
            goto out;
        ds = &ds_own;
    } else {
        p = *p_in;
        if ((st = cgp_params_check(&p, ds, err)) != CGPC_OK)
            goto out;
        if (cgp_rundir_has_checkpoint(out_dir)) {
            st = CGPC_FAIL(err, CGPC_ERR_EXISTS, "%s already holds an evolve run; continue it with "
                           "--resume %s or choose another --out", out_dir, out_dir);
            goto out;
        }
        if ((st = cgpc_mkdirs(out_dir, err)) != CGPC_OK ||
            (st = cgp_config_save(out_dir, &p, err)) != CGPC_OK ||
            (st = cgp_data_save(out_dir, ds, err)) != CGPC_OK)
            goto out;
    }
    if (p_in && resume) { /* per-invocation settings, not part of the run */
        p.stop_after = p_in->stop_after;
        p.parallel_min_work = p_in->parallel_min_work;
    }
    if (p.value_slots) {
        if (!(slot_of = malloc((size_t)ds->n_outputs * sizeof *slot_of))) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "value slots");
            goto out;
        }
        if ((st = cgp_dataset_value_slots(ds, &ds_slots, slot_of, err)) != CGPC_OK)
            goto out;
        sh.slot_of = slot_of;
        sh.n_outputs = ds->n_outputs;
        if (!resume && (st = cgp_slots_save(out_dir, slot_of, ds->n_outputs, ds_slots.n_outputs,
                                            err)) != CGPC_OK)
            goto out;
        ds = &ds_slots;
    }
    size_t n_rows = (size_t)p.runs * (size_t)p.n_thresholds;
    sh.results = calloc(n_rows, sizeof *sh.results);
    sh.stage_done = calloc(n_rows, 1);
    sh.run_done = calloc((size_t)p.runs, 1);
    lanes = calloc((size_t)cgpc_max_threads(), sizeof *lanes);
    if (!sh.results || !sh.stage_done || !sh.run_done || !lanes) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "results table");
        goto out;
    }
    if ((st = lane_init(lanes, 0, &sh, &p, ds, t, cb, 0, err)) != CGPC_OK)
        goto out;
    if (resume) {
        if ((st = checkpoint_read(&lanes[0], &ck, err)) != CGPC_OK ||
            (st = results_check(&lanes[0], err)) != CGPC_OK)
            goto out;
        if (ck.done)
            goto out; /* nothing left to do */
    } else {
        struct cgp_checkpoint first = {0};
        first.run = ck.run = p.first_run;
        if ((st = checkpoint_write(&lanes[0], &first, 0, err)) != CGPC_OK)
            goto out;
    }
    /* Several runs left and several threads: one run per thread, each evolver on one thread
     * (lane 0's evolver is remade with one worker; it keeps the checkpoint's parent). */
    int left = p.first_run + p.runs - ck.run;
    n_lanes = cgpc_max_threads() < left ? cgpc_max_threads() : left;
    if (n_lanes > 1) {
        struct cgp_evolver *ev0 = lanes[0].ev;
        lanes[0].ev = NULL;
        st = lane_init(lanes, 0, &sh, &p, ds, t, cb, 1, err);
        if (st == CGPC_OK)
            memcpy(lanes[0].ev->parent.genes, ev0->parent.genes,
                   (size_t)ev0->shape.n_genes * sizeof *ev0->parent.genes);
        cgp_evolver_free(ev0);
        for (int l = 1; l < n_lanes && st == CGPC_OK; l++)
            st = lane_init(lanes, l, &sh, &p, ds, t, cb, 1, err);
        if (st == CGPC_OK &&
            !(sh.held = calloc((size_t)p.runs * (size_t)(p.n_thresholds + 1), sizeof *sh.held)))
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "progress of %d runs", p.runs);
        if (st != CGPC_OK)
            goto out;
    }
    t0 = cgpc_wtime();
    st = run_all(lanes, n_lanes, &ck, resume, cb, err);
out:
    for (int l = 0; lanes && l < n_lanes; l++) {
        if (lanes[l].ev && totals) {
            struct cgp_totals one;
            cgp_evolver_totals(lanes[l].ev, &one);
            totals->generations += one.generations;
            totals->evaluations += one.evaluations;
            totals->skipped += one.skipped;
            totals->node_evals += one.node_evals;
            totals->parallel_generations += one.parallel_generations;
            totals->seconds += one.seconds;
        }
        lane_free(&lanes[l]);
    }
    if (totals && n_lanes > 1 && t0 > 0) /* concurrent runs: the wall time of them all */
        totals->seconds = cgpc_wtime() - t0;
    free(lanes);
    free(sh.results);
    free(sh.stage_done);
    free(sh.run_done);
    free(sh.held);
    cgp_dataset_free(&ds_own);
    cgp_dataset_free(&ds_slots);
    free(slot_of);
    return st;
}
