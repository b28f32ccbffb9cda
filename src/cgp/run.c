/* run.c - evolution runs with files: configuration, data copy, statistics journal, best
 * circuits per threshold, Pareto archive, results table and checkpoints, resume. Every file
 * is read and written through the run-directory module (rundir.h); layout and formats:
 * docs/ARCHITECTURE.md, section src/cgp. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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


/* How a run directory's work is split over threads (docs/ARCHITECTURE.md, "Concurrent runs and
 * stages"): a work list of items in (run, stage) order, claimed in that order by one lane
 * (thread, with its own evolver) at a time. An item is a whole run (its stages one after
 * another) or, with independent thresholds whose stages all run their full budget (no
 * patience, no time limit), one stage: stage s then starts at generation s x generations, as
 * it does after the stages before it, and its draws are keyed by (run, stage, generation), so
 * any order of stages gives the sequential order's results.
 *
 * Every stage's statistics rows and Pareto points go through its stage_out: a stage whose
 * stages before it (in its run) are all merged writes them to its run's journal and archive at
 * each pause (every 0.25 s); a later one holds them until the earlier ones are merged. A finished stage is
 * merged (rows, points, best file, results row, pareto file) once the stages before it are;
 * the run's last merge finishes the run. The checkpoint follows the lowest stage not merged
 * (the position): a resume continues it and redoes every later item. */

/* A Pareto archive in (error, energy), sorted by error. */
struct archive {
    struct cgp_pareto_point *pt;
    int n, cap;
};

/* A statistics row waiting for its turn in the run's journal (circuit: the full token). */
struct held_row {
    struct cgp_stats_row row;
    struct cgp_fitness fit;
    char *circuit;
};

/* One stage of one run, in flight or finished and waiting for the stages before it. */
struct stage_out {
    int stage, finished;
    struct held_row *rows;
    int n_rows, cap_rows;
    struct archive arch;            /* its points not yet in the run's archive */
    /* at its end: the final parent (best file, stage-end checkpoint) and its progress */
    int best_written; /* its best file was written at its end (stages before it not merged) */
    int32_t *genes;
    int64_t end_generation;
    struct cgp_progress end_pr;
    struct cgp_fitness end_fit;
};

/* The per-run files of a run whose items are claimed and not all merged. */
struct run_out {
    int run;
    FILE *journal;                /* statistics.<run>.csv.part */
    struct cgp_journal_enc *jenc; /* its circuit column: the previous row's circuit */
    int64_t journal_bytes;        /* committed length (fflush'ed) */
    struct archive arch;
    int merged;                   /* stages merged: the next one writes to the files at pauses */
    int stats_done;               /* a resume found the run's statistics already compressed */
    double t0;                    /* wall time of the run's start (minus seconds before a resume) */
    struct stage_out *stage[CGP_MAX_THRESHOLDS];
    int32_t *last_genes;          /* the last merged stage's final parent */
    int64_t last_generation;
    struct cgp_progress end_pr;   /* the last merged stage's end (the run-end report) */
    struct cgp_fitness end_fit;
};

/* The files a fresh directory starts with: config.txt, data.txt, the value slots and the
 * first checkpoint (each written to a temp file, fsync'ed, renamed: ~10 ms of fsyncs here,
 * 20-30 ms on a busy disk), written in that order by a thread of their own while the lanes
 * make their evolvers and search. Nothing needs them before the next checkpoint, which waits
 * for them (start_wait; checkpoints stay in order), and cgp_evolve_dir returns only after them.
 * A crash before the first checkpoint leaves a directory without one: no run to resume, as
 * before. A failure stops the lanes (abort) and is the error reported. */
struct start_files {
    struct run_shared *sh;
    const struct cgp_dataset *ds;   /* as given: data.txt */
    const int32_t *slot_of;         /* value slots: output -> slot, else NULL */
    int n_outputs, n_slots;
    pthread_t thread;
    int running;                    /* started, not joined */
    cgpc_status st;
    struct cgpc_err err;
};

/* What the lanes of one directory share. Fields below `lock` change under the critical section
 * cgp_run_shared. */
struct run_shared {
    const char *dir;
    const struct cgp_params *p;
    const struct cgp_dataset *ds;     /* what the lanes' evolvers are made from */
    const struct energy_gate_table *t;
    const struct cgp_callbacks *cb;
    int S;                            /* stages per run */
    int stage_items;                  /* 1: an item is one stage, else a whole run */
    int n_genes;
    int64_t cared;                    /* MSE divisor (every lane's evolver has the same) */
    const struct cgp_checkpoint *ck;  /* where this invocation starts */
    int resume;
    int32_t *ck_genes;                /* the checkpoint's parent (NULL: none) */
    struct archive ck_arch;           /* the checkpoint's Pareto archive (of ck->run) */
    const int32_t *slot_of;           /* value-slot mode: output -> slot, else NULL */
    int n_outputs;                    /* of the original data set */
    volatile sig_atomic_t abort;      /* a lane failed: the others stop at a checkpoint */
    struct start_files *start;        /* a fresh directory's first files, being written */
    int lock;
    struct cgp_stage_result *results; /* all stages of all runs: runs x stages, run-major */
    unsigned char *stage_done;        /* per results row: merged */
    unsigned char *run_done;          /* per run (index run - first_run): finished */
    struct run_out **ro;              /* per run: its files while items of it are open */
    int next_run, next_stage;         /* the next item to claim */
    /* Progress with concurrent items reads as one after another: the position's item reports
     * live; every item's stage end and every run's end waits in a slot (runs x (stages + 1))
     * and is delivered in order once the position has passed it. */
    struct held_report {
        int set;
        struct cgp_progress pr;
        struct cgp_fitness best;
    } *held;
    int64_t held_next;                /* slots before it are delivered */
};

/* One lane: a thread with its own evolver, and the stage it is running. With several lanes,
 * every lane's evolver is allocated by the lane's own thread (lane_start), so that with a
 * per-thread allocator (glibc's arenas) no cache line holds buffers of two lanes: allocated by
 * one thread, the two evolvers' buffers interleaved in one heap, and the lanes' per-generation
 * writes (e.g. one lane's dirty marks on the line of the other's struct cgp_evolver) cost the
 * second lane 12-17 % more CPU (docs/ARCHITECTURE.md, "Concurrent runs and stages"). Lanes
 * themselves are a cache line apart. */
struct lane {
    _Alignas(64) struct run_shared *sh;
    struct cgp_evolver *ev;
    struct run_out *ro;
    struct stage_out *so;
    struct cgp_genome best; /* of the grid's shape: the genes of a best file being written */
    struct cgpc_err hook_err;
};

static void archive_clear(struct archive *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->pt[i].circuit);
    a->n = 0;
}

static void archive_free(struct archive *a)
{
    archive_clear(a);
    free(a->pt);
    a->pt = NULL;
    a->cap = 0;
}

/* Insert unless dominated (or equal) in (error, energy); drop the points it dominates. Keeps
 * the archive sorted by error. Takes ownership of pt.circuit. The archive after a sequence of
 * points is its non-dominated points, the first of equal ones: adding another archive's points
 * (archive_merge) equals adding the sequence they were kept from. */
static cgpc_status archive_add(struct archive *a, struct cgp_pareto_point pt, struct cgpc_err *err)
{
    for (int i = 0; i < a->n; i++)
        if (a->pt[i].err_sum <= pt.err_sum && a->pt[i].energy <= pt.energy) {
            free(pt.circuit);
            return CGPC_OK;
        }
    int n = 0;
    for (int i = 0; i < a->n; i++) {
        if (pt.err_sum <= a->pt[i].err_sum && pt.energy <= a->pt[i].energy)
            free(a->pt[i].circuit);
        else
            a->pt[n++] = a->pt[i];
    }
    a->n = n;
    if (n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        struct cgp_pareto_point *p = realloc(a->pt, (size_t)cap * sizeof *p);
        if (!p) {
            free(pt.circuit);
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "Pareto archive of %d points", cap);
        }
        a->pt = p;
        a->cap = cap;
    }
    int at = n;
    while (at > 0 && a->pt[at - 1].err_sum > pt.err_sum)
        at--;
    memmove(&a->pt[at + 1], &a->pt[at], (size_t)(n - at) * sizeof pt);
    a->pt[at] = pt;
    a->n++;
    return CGPC_OK;
}

/* Move src's points into dst (src ends empty). */
static cgpc_status archive_merge(struct archive *dst, struct archive *src, struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < src->n; i++) {
        if (st == CGPC_OK)
            st = archive_add(dst, src->pt[i], err); /* takes the circuit */
        else
            free(src->pt[i].circuit);
    }
    src->n = 0;
    return st;
}

static void stage_out_free(struct stage_out *so)
{
    if (!so)
        return;
    for (int i = 0; i < so->n_rows; i++)
        free(so->rows[i].circuit);
    free(so->rows);
    archive_free(&so->arch);
    free(so->genes);
    free(so);
}

static void run_out_free(struct run_out *ro)
{
    if (!ro)
        return;
    if (ro->journal)
        fclose(ro->journal);
    cgp_journal_enc_free(ro->jenc);
    archive_free(&ro->arch);
    for (int s = 0; s < CGP_MAX_THRESHOLDS; s++)
        stage_out_free(ro->stage[s]);
    free(ro->last_genes);
    free(ro);
}

/* The lowest run not finished (first_run + runs when all are). Under the shared lock. */
static int lowest_open_run(const struct run_shared *sh)
{
    int r = 0;
    while (r < sh->p->runs && sh->run_done[r])
        r++;
    return sh->p->first_run + r;
}

/* Stages of run merged (results rows done). Under the shared lock. */
static int merged_stages(const struct run_shared *sh, int run)
{
    const unsigned char *d = sh->stage_done + (size_t)(run - sh->p->first_run) * (size_t)sh->S;
    int s = 0;
    while (s < sh->S && d[s])
        s++;
    return s;
}

/* Is (run, stage) the position: the lowest stage not merged? Under the shared lock. */
static int at_position(const struct run_shared *sh, int run, int stage)
{
    return run == lowest_open_run(sh) && stage == merged_stages(sh, run);
}

/* Append the held rows to the run's journal and the held points to its archive. Under the
 * shared lock (or by the only lane). */
static cgpc_status stage_flush(struct run_shared *sh, struct run_out *ro, struct stage_out *so,
                               struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    int i = 0;
    for (; i < so->n_rows && st == CGPC_OK; i++) {
        struct held_row *h = &so->rows[i];
        char *field = cgp_journal_enc_next(ro->jenc, h->circuit); /* the circuit, or a delta */
        if (!field) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "statistics row");
            break;
        }
        h->row.fit = &h->fit;
        h->row.circuit = field;
        int n = cgp_stats_write_row(ro->journal, &h->row);
        free(field);
        if (n < 0)
            st = CGPC_FAIL(err, CGPC_ERR_IO, "%s/statistics.%d.csv.part: cannot append to the "
                           "statistics journal", sh->dir, ro->run);
        else
            ro->journal_bytes += n;
        free(h->circuit);
        h->circuit = NULL;
    }
    for (int k = i; k < so->n_rows; k++)
        free(so->rows[k].circuit);
    so->n_rows = 0;
    if (st == CGPC_OK && i > 0 && fflush(ro->journal) != 0)
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s/statistics.%d.csv.part: cannot append to the "
                       "statistics journal", sh->dir, ro->run);
    cgpc_status st2 = archive_merge(&ro->arch, &so->arch, err);
    return st != CGPC_OK ? st : st2;
}

/* If the lane's stage is the next of its run to merge, write what it holds (called at each
 * pause, every 0.25 s, not at each record: the shared lock is then taken a few times a second,
 * and a lane that improves does not wait for another lane's files, e.g. a run's end). */
static cgpc_status stage_sync(struct lane *ln, struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    if (ln->ro->merged == ln->so->stage && (ln->so->n_rows || ln->so->arch.n))
        st = stage_flush(ln->sh, ln->ro, ln->so, err);
    return st;
}

/* Statistics row and Pareto point for the current parent. */
static cgpc_status record_parent(struct lane *ln, struct cgpc_err *err)
{
    struct cgp_evolver *ev = ln->ev;
    struct stage_out *so = ln->so;
    cgp_evolver_cost_parent(ev);
    const struct cgp_fitness *f = &ev->parent_fit;
    if (so->n_rows == so->cap_rows) {
        int cap = so->cap_rows ? 2 * so->cap_rows : 8;
        struct held_row *r = realloc(so->rows, (size_t)cap * sizeof *r);
        if (!r)
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "statistics rows");
        so->rows = r;
        so->cap_rows = cap;
    }
    char *circ = cgp_evolver_circuit_string(ev), *circ2 = circ ? strdup(circ) : NULL;
    if (!circ2) {
        free(circ);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "circuit string");
    }
    struct held_row *h = &so->rows[so->n_rows++];
    h->row = (struct cgp_stats_row){ev->run,
                                    cgp_per_weight(ev->p.error_kind, ev->threshold, ev->cared),
                                    ev->threshold,
                                    ev->generation,
                                    cgpc_wtime() - ev->run_t0,
                                    cgp_per_weight(ev->p.error_kind, f->error, ev->cared),
                                    NULL,
                                    NULL};
    h->fit = *f;
    h->circuit = circ;
    struct cgp_pareto_point pt = {f->err_sum, f->error, f->energy_pj, f->delay_ns, f->gates,
                                  ev->stage, ev->generation, circ2};
    return archive_add(&so->arch, pt, err); /* written at the next pause or the stage's end */
}

static void on_improve(struct cgp_evolver *ev, void *user)
{
    struct lane *ln = user;
    if (record_parent(ln, &ln->hook_err) != CGPC_OK)
        ev->hook_failed = 1;
}

/* ---- checkpoints --------------------------------------------------------------------------- */

/* Wait for the start files (if a thread still writes them); their status. Under the shared
 * lock, or by the only thread left. */
static cgpc_status start_wait(struct run_shared *sh, struct cgpc_err *err)
{
    struct start_files *sf = sh->start;
    if (!sf)
        return CGPC_OK;
    if (sf->running) {
        pthread_join(sf->thread, NULL);
        sf->running = 0;
    }
    if (sf->st != CGPC_OK && err)
        *err = sf->err;
    return sf->st;
}

/* Write ck with the results before its position, and, with ro, the run's journal length and
 * Pareto archive and the parent `genes`, after the start files. Under the shared lock. */
static cgpc_status checkpoint_save(struct run_shared *sh, struct cgp_checkpoint *ck,
                                   struct run_out *ro, const int32_t *genes, struct cgpc_err *err)
{
    cgpc_status st = start_wait(sh, err);
    if (st != CGPC_OK)
        return st;
    if (ro && ro->journal &&
        (fflush(ro->journal) != 0 || fsync(fileno(ro->journal)) != 0))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s/statistics.%d.csv.part: cannot flush the "
                         "statistics journal", sh->dir, ck->run);
    ck->results = sh->results;
    /* the stages before the position are finished */
    ck->n_results = (ck->run - sh->p->first_run) * sh->S + ck->stage;
    ck->journal_bytes = ro ? ro->journal_bytes : 0;
    /* the archive of the run in flight (a checkpoint between runs holds none) */
    ck->points = ro ? ro->arch.pt : NULL;
    ck->n_points = ro ? ro->arch.n : 0;
    ck->genes = ro ? genes : NULL;
    ck->n_genes = ro && genes ? sh->n_genes : 0;
    return cgp_checkpoint_save(ck, sh->dir, err);
}

/* Load and validate the checkpoint against the run's configuration; adopt its results, Pareto
 * archive and parent (every gene checked, in ev's parent). */
static cgpc_status checkpoint_read(struct run_shared *sh, struct cgp_evolver *ev,
                                   struct cgp_checkpoint *ck, struct cgpc_err *err)
{
    const struct cgp_params *p = &ev->p;
    struct cgp_checkpoint_limits lim = {p->first_run, p->runs, p->n_thresholds, p->thresholds,
                                        p->generations, ev->shape.n_genes};
    cgpc_status st = cgp_checkpoint_load(ck, sh->dir, &lim, err);
    if (st != CGPC_OK)
        return st;
    if (ck->n_results) /* results may be NULL when there are none */
        memcpy(sh->results, ck->results, (size_t)ck->n_results * sizeof *sh->results);
    memset(sh->stage_done, 1, (size_t)ck->n_results);
    for (int r = p->first_run; r < ck->run; r++)
        sh->run_done[r - p->first_run] = 1;
    struct cgp_pareto_point *pts = (struct cgp_pareto_point *)ck->points;
    for (int i = 0; i < ck->n_points; i++) {
        if (st == CGPC_OK)
            st = archive_add(&sh->ck_arch, pts[i], err); /* takes the circuit */
        else
            free(pts[i].circuit);
        pts[i].circuit = NULL;
    }
    if (st == CGPC_OK && ck->genes) {
        memcpy(ev->parent.genes, ck->genes, (size_t)ck->n_genes * sizeof *ck->genes);
        struct cgpc_err e2 = {0};
        if (cgp_genome_check(&ev->parent, &e2) != CGPC_OK)
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s/checkpoint: genes: %s", sh->dir, e2.msg);
        else
            sh->ck_genes = (int32_t *)ck->genes; /* kept: the resumed item starts from it */
    }
    /* keep the position and counters; the arrays now live in sh */
    struct cgp_checkpoint arrays = *ck;
    if (sh->ck_genes)
        arrays.genes = NULL;
    cgp_checkpoint_free(&arrays);
    ck->results = NULL;
    ck->points = NULL;
    ck->genes = NULL;
    ck->n_results = ck->n_points = ck->n_genes = 0;
    return st;
}

/* ---- progress ------------------------------------------------------------------------------ */

enum report_kind { REPORT_LIVE, REPORT_STAGE_END, REPORT_RUN_END };

/* The report of ev's state; rate[3]: generations, offspring evaluated, node x item evaluations
 * per second. */
static struct cgp_progress progress_of(const struct cgp_evolver *ev, const double *rate)
{
    const struct cgp_params *p = &ev->p;
    return (struct cgp_progress){ev->run, ev->stage, ev->threshold, ev->generation,
                                 &ev->parent_fit, rate[0], rate[1], rate[2],
                                 cgp_per_weight(p->error_kind, ev->threshold, ev->cared),
                                 cgp_per_weight(p->error_kind, ev->parent_fit.error, ev->cared),
                                 p->first_run, p->runs, p->n_thresholds, p->generations};
}

/* Deliver the held reports the position has passed, in order. Under the shared lock. */
static void held_flush(struct run_shared *sh, const struct cgp_callbacks *cb)
{
    if (!sh->held || !cb || !cb->progress)
        return;
    const int K = sh->S + 1;
    int run = lowest_open_run(sh);
    int64_t upto = (int64_t)(run - sh->p->first_run) * K +
                   (run < sh->p->first_run + sh->p->runs ? merged_stages(sh, run) : 0);
    for (; sh->held_next < upto; sh->held_next++) {
        struct held_report *h = &sh->held[sh->held_next];
        if (!h->set)
            continue;
        h->pr.best = &h->best;
        cb->progress(cb->user, &h->pr);
        h->set = 0;
    }
}

/* Report pr (kind): one lane reports directly; with several, the position's item reports live
 * and every end waits for its turn (held_flush). */
static void report(struct run_shared *sh, const struct cgp_callbacks *cb,
                   const struct cgp_progress *pr, enum report_kind kind)
{
    if (!cb || !cb->progress)
        return;
    CGPC_OMP(critical(cgp_run_shared)) /* lanes report one at a time */
    {
        if (!sh->held) {
            cb->progress(cb->user, pr);
        } else if (kind == REPORT_LIVE) {
            if (at_position(sh, pr->run, pr->stage))
                cb->progress(cb->user, pr);
        } else {
            int K = sh->S + 1;
            int k = kind == REPORT_RUN_END ? K - 1 : pr->stage;
            struct held_report *h = &sh->held[(int64_t)(pr->run - sh->p->first_run) * K + k];
            h->set = 1;
            h->pr = *pr;
            h->best = *pr->best;
        }
    }
}

/* ---- outputs per stage and run ------------------------------------------------------------- */

static cgpc_status write_pareto(struct run_shared *sh, struct run_out *ro, struct cgpc_err *err)
{
    return cgp_pareto_save(sh->dir, ro->run, ro->arch.pt, ro->arch.n, sh->p->thresholds,
                           sh->p->error_kind, sh->cared, err);
}

static cgpc_status write_best(struct run_shared *sh, int run, const struct cgp_stage_result *r,
                              const int32_t *genes, struct cgp_genome *g, struct cgpc_err *err)
{
    const struct cgp_params *p = sh->p;
    const struct cgp_fitness *f = &r->fit;
    char comment[1024];
    double pw = cgp_per_weight(p->error_kind, r->threshold, sh->cared);
    snprintf(comment, sizeof comment,
             "best of run %d for threshold %g per weight (%s %.17g, %s)\n"
             "reached %s%s\nerror %.17g per weight (%s %.17g)\nenergy-pj %.17g\n"
             "delay-ns %.17g\narea-um2 %.17g\ngates %d\ndepth %d\nactive %d\n"
             "generations %" PRId64,
             run, pw, cgp_error_kind_name(p->error_kind), r->threshold,
             r->reached ? "reached" : "NOT reached",
             r->reached ? "yes" : "no",
             r->reached ? "" : " (the error threshold was never reached: this is the best "
                               "circuit found)",
             cgp_per_weight(p->error_kind, f->error, sh->cared),
             cgp_error_kind_name(p->error_kind), f->error, f->energy_pj, f->delay_ns,
             f->area_um2, f->gates, f->depth, f->active, r->generations);
    memcpy(g->genes, genes, (size_t)sh->n_genes * sizeof *genes);
    if (!sh->slot_of)
        return cgp_best_save(sh->dir, run, pw, g, comment, err);
    /* value slots: the file is wired to the original outputs, so it stands alone */
    struct cgp_genome full;
    cgpc_status st = cgp_genome_expand_slots(g, sh->slot_of, sh->n_outputs, &full, err);
    if (st == CGPC_OK)
        st = cgp_best_save(sh->dir, run, pw, &full, comment, err);
    cgp_genome_free(&full);
    return st;
}

/* Merge the run's finished stages that follow its merged ones, in order: their rows and points,
 * best file, results row; then results.csv and, unless the run's last stage was merged (then
 * run_complete, which follows, writes the pareto file and the checkpoint past the run),
 * pareto.<run>.csv and, at the position, the checkpoint of the next stage (not started: a
 * resume begins it afresh). *complete: the run's last stage was merged. Under the shared
 * lock. */
static cgpc_status merge_finished(struct lane *ln, struct run_out *ro,
                                  const struct cgp_callbacks *cb, int *complete,
                                  struct cgpc_err *err)
{
    struct run_shared *sh = ln->sh;
    const struct cgp_params *p = sh->p;
    cgpc_status st = CGPC_OK;
    int n_merged = 0;
    *complete = 0;
    while (st == CGPC_OK && ro->merged < sh->S && ro->stage[ro->merged] &&
           ro->stage[ro->merged]->finished) {
        struct stage_out *so = ro->stage[ro->merged];
        int slot = (ro->run - p->first_run) * sh->S + so->stage; /* results row */
        if ((st = stage_flush(sh, ro, so, err)) != CGPC_OK ||
            (!so->best_written &&
             (st = write_best(sh, ro->run, &sh->results[slot], so->genes, &ln->best, err)) !=
                 CGPC_OK))
            break;
        sh->stage_done[slot] = 1;
        free(ro->last_genes);
        ro->last_genes = so->genes;
        so->genes = NULL;
        ro->last_generation = so->end_generation;
        ro->end_pr = so->end_pr;
        ro->end_fit = so->end_fit;
        stage_out_free(so);
        ro->stage[ro->merged++] = NULL;
        n_merged++;
    }
    if (st != CGPC_OK || !n_merged)
        return st;
    /* results.csv: every row up to the first stage not merged */
    int n = 0;
    while (n < p->runs * sh->S && sh->stage_done[n])
        n++;
    *complete = ro->merged == sh->S;
    if ((st = cgp_results_save(sh->dir, sh->results, n, p->first_run, sh->S, p->error_kind,
                               sh->cared, err)) != CGPC_OK ||
        (!*complete && (st = write_pareto(sh, ro, err)) != CGPC_OK))
        return st;
    if (!*complete && ro->run == lowest_open_run(sh)) {
        struct cgp_checkpoint next = {0};
        next.run = ro->run;
        next.stage = ro->merged;
        next.generation = ro->last_generation;
        next.run_seconds = cgpc_wtime() - ro->t0;
        if ((st = checkpoint_save(sh, &next, ro, ro->last_genes, err)) != CGPC_OK)
            return st;
    }
    held_flush(sh, cb);
    return CGPC_OK;
}

/* statistics.<run>.csv.part -> statistics.<run>.csv.gz, then remove the journal. */
static cgpc_status finish_statistics(struct run_shared *sh, struct run_out *ro,
                                     struct cgpc_err *err)
{
    if (ro->journal) {
        fclose(ro->journal);
        ro->journal = NULL;
    }
    return cgp_stats_finish(sh->dir, ro->run, err);
}

/* A run whose stages are all merged: its last files, its end report; it is finished. If it
 * was the lowest open run, checkpoint the next open one (not started: a resume redoes it from
 * its first stage) and deliver what the reports held. The run's journal (.part) goes after
 * that checkpoint: the one before it (the run in flight: no stage-end checkpoint follows the
 * last stage, these files follow at once) still names the journal, and a crash before the
 * new one resumes from it and writes these files again (a run after the position is redone
 * from its start, with a new journal). A journal a crash left after the checkpoint past its
 * run is removed by the resume (drop_finished_journals). */
static cgpc_status run_complete(struct run_shared *sh, struct run_out *ro,
                                const struct cgp_callbacks *cb, struct cgpc_err *err)
{
    cgpc_status st = write_pareto(sh, ro, err);
    if (st == CGPC_OK && !ro->stats_done)
        st = finish_statistics(sh, ro, err);
    if (st != CGPC_OK)
        return st;
    ro->end_pr.best = &ro->end_fit;
    if (ro->end_pr.runs) /* no report when the run's stages all ended before this invocation */
        report(sh, cb, &ro->end_pr, REPORT_RUN_END);
    CGPC_OMP(critical(cgp_run_shared))
    {
        int was = lowest_open_run(sh) == ro->run;
        sh->run_done[ro->run - sh->p->first_run] = 1;
        sh->ro[ro->run - sh->p->first_run] = NULL;
        if (was) {
            struct cgp_checkpoint next = {0};
            next.run = lowest_open_run(sh);
            next.done = next.run == sh->p->first_run + sh->p->runs;
            st = checkpoint_save(sh, &next, NULL, NULL, err);
            held_flush(sh, cb);
        }
    }
    if (st == CGPC_OK)
        cgp_stats_drop_journal(sh->dir, ro->run);
    run_out_free(ro);
    return st;
}

/* Resuming: the journals of runs the checkpoint has passed whose .gz exists, left by a crash
 * between a run's last checkpoint and the journal's removal (run_complete). */
static void drop_finished_journals(const struct run_shared *sh, int upto)
{
    for (int r = sh->p->first_run; r < upto; r++)
        cgp_stats_drop_journal(sh->dir, r);
}

/* A fresh delta encoder for the run's journal; resuming, it continues from the last row kept. */
static cgpc_status journal_encoder(struct run_shared *sh, struct run_out *ro, int resumed,
                                   struct cgpc_err *err)
{
    cgpc_status st = cgp_journal_enc_new(&ro->jenc, err);
    if (st != CGPC_OK || !resumed)
        return st;
    struct cgp_stats kept;
    if ((st = cgp_stats_load(sh->dir, ro->run, &kept, err)) != CGPC_OK)
        return st;
    int r;
    double thr;
    int64_t gen;
    const char *circuit;
    if (kept.n_lines > 0 &&
             cgp_stats_parse_row(kept.lines[kept.n_lines - 1], &r, &thr, &gen, &circuit))
        st = cgp_journal_enc_set(ro->jenc, circuit, err);
    cgp_stats_free(&kept);
    return st;
}

/* The files of run `run` at its first item of this invocation: continued from the checkpoint
 * when it is the checkpoint's run begun before, else fresh. */
static cgpc_status run_open(struct run_shared *sh, int run, struct run_out **out,
                            struct cgpc_err *err)
{
    const struct cgp_checkpoint *ck = sh->ck;
    struct run_out *ro = calloc(1, sizeof *ro);
    if (!ro)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "run %d", run);
    *out = ro;
    ro->run = run;
    int resumed = sh->resume && run == ck->run && (ck->stage > 0 || ck->started);
    ro->t0 = cgpc_wtime() - (resumed ? ck->run_seconds : 0);
    if (resumed) {
        ro->merged = ck->stage;
        ro->last_generation = ck->generation;
        ro->arch = sh->ck_arch;
        sh->ck_arch = (struct archive){0};
        if (sh->ck_genes && !(ro->last_genes = malloc((size_t)sh->n_genes * sizeof(int32_t))))
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "run %d", run);
        if (sh->ck_genes)
            memcpy(ro->last_genes, sh->ck_genes, (size_t)sh->n_genes * sizeof(int32_t));
    }
    /* A crash between compressing the statistics and the run's last checkpoint leaves only
     * the .gz: the run is finished, nothing to redo. */
    ro->stats_done = resumed && ck->stage == sh->S && !cgp_stats_exists(sh->dir, run, 1) &&
                     cgp_stats_exists(sh->dir, run, 0);
    if (ro->stats_done)
        return CGPC_OK;
    cgpc_status st = cgp_stats_open(sh->dir, run, resumed ? ck->journal_bytes : 0, &ro->journal,
                                    &ro->journal_bytes, err);
    return st != CGPC_OK ? st : journal_encoder(sh, ro, resumed, err);
}

/* The next item of the work list: run *run, stages [*s0, *s1). 0 when none is left or a lane
 * failed. Opens the run's files at its first item. */
static int claim(struct lane *ln, int *run, int *s0, int *s1,
                 cgpc_status *st, struct cgpc_err *err)
{
    struct run_shared *sh = ln->sh;
    int got = 0;
    *st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    if (!sh->abort && sh->next_run < sh->p->first_run + sh->p->runs) {
        *run = sh->next_run;
        *s0 = sh->next_stage;
        *s1 = sh->stage_items ? *s0 + 1 : sh->S;
        if (*s1 == sh->S) {
            sh->next_run++;
            sh->next_stage = 0;
        } else {
            sh->next_stage = *s1;
        }
        struct run_out **ro = &sh->ro[*run - sh->p->first_run];
        if (!*ro)
            *st = run_open(sh, *run, ro, err);
        ln->ro = *ro;
        got = *st == CGPC_OK;
    }
    return got;
}

/* The mid-stage checkpoint of the lane's stage, if it is the position (what it held is
 * written first). */
static cgpc_status checkpoint_live(struct lane *ln, struct cgpc_err *err)
{
    struct run_shared *sh = ln->sh;
    const struct cgp_evolver *ev = ln->ev;
    double now = cgpc_wtime();
    struct cgp_checkpoint ck = {0};
    ck.run = ev->run;
    ck.stage = ev->stage;
    ck.started = 1;
    ck.generation = ev->generation;
    ck.stage_gens = ev->stage_gens;
    ck.since_improve = ev->since_improve;
    ck.stage_seconds = now - ev->stage_t0;
    ck.run_seconds = now - ev->run_t0;
    cgpc_status st = CGPC_OK;
    CGPC_OMP(critical(cgp_run_shared))
    if (ln->ro->merged == ln->so->stage) {
        st = stage_flush(sh, ln->ro, ln->so, err);
        if (st == CGPC_OK && at_position(sh, ck.run, ck.stage))
            st = checkpoint_save(sh, &ck, ln->ro, ev->parent.genes, err);
    }
    return st;
}

/* Run one stage from its (possibly resumed) state to its end. Returns CGPC_ERR_INTERRUPTED
 * after writing a checkpoint when stopped. */
static cgpc_status run_stage(struct lane *ln, const struct cgp_callbacks *cb,
                             struct cgpc_err *err)
{
    struct cgp_evolver *ev = ln->ev;
    const struct cgp_params *p = &ev->p;
    double next_ckpt = cgpc_wtime() + (p->checkpoint_every > 0 ? p->checkpoint_every : 1e300);
    double last_t = cgpc_wtime(), last_report = last_t;
    struct cgp_totals tot;
    cgp_evolver_totals(ev, &tot);
    int64_t last_g = ev->generation, last_e = tot.evaluations, last_n = tot.node_evals;
    cgpc_status st;
    for (;;) {
        double now = cgpc_wtime();
        /* Pause at least every 0.25 s: progress, and the evolver re-measures whether threads
         * pay off for the current circuit size. */
        double pause = next_ckpt < now + 0.25 ? next_ckpt : now + 0.25;
        ev->pause_at = pause;
        cgp_evolver_advance(ev, INT64_MAX);
        if (ev->hook_failed) {
            *err = ln->hook_err;
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
            struct cgp_progress pr = progress_of(ev, rate);
            report(ln->sh, cb, &pr,
                   ev->stop == CGP_STOP_BUDGET || ev->stop == CGP_STOP_PATIENCE ||
                           ev->stop == CGP_STOP_TIME
                       ? REPORT_STAGE_END
                       : REPORT_LIVE);
            last_report = now;
        }
        switch (ev->stop) {
        case CGP_STOP_PAUSE:
            if ((st = stage_sync(ln, err)) != CGPC_OK)
                return st;
            if (now >= next_ckpt) {
                if ((st = checkpoint_live(ln, err)) != CGPC_OK)
                    return st;
                next_ckpt = now + p->checkpoint_every;
            }
            continue;
        case CGP_STOP_SIGNAL:
        case CGP_STOP_AFTER:
            if ((st = checkpoint_live(ln, err)) != CGPC_OK)
                return st;
            return CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "interrupted at generation %" PRId64
                             " of run %d; checkpoint saved, continue with --resume %s",
                             ev->generation, ev->run, ln->sh->dir);
        default:
            return CGPC_OK;
        }
    }
}

/* The lane's stage ended: its result, then merge it (and the finished stages after it) if the
 * stages before it are merged; finish the run after its last merge. */
static cgpc_status stage_end(struct lane *ln, const struct cgp_callbacks *cb,
                             struct cgpc_err *err)
{
    struct run_shared *sh = ln->sh;
    struct cgp_evolver *ev = ln->ev;
    struct run_out *ro = ln->ro;
    struct stage_out *so = ln->so;
    int slot = (ev->run - sh->p->first_run) * sh->S + ev->stage; /* results row */
    struct cgp_stage_result *r = &sh->results[slot];
    cgp_evolver_cost_parent(ev);
    r->threshold = ev->threshold;
    r->reached = ev->parent_fit.err_sum <= ev->limit;
    r->generations = ev->stage_gens;
    r->fit = ev->parent_fit;
    if (!(so->genes = malloc((size_t)sh->n_genes * sizeof *so->genes)))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "stage of run %d", ev->run);
    memcpy(so->genes, ev->parent.genes, (size_t)sh->n_genes * sizeof *so->genes);
    so->end_generation = ev->generation;
    so->end_pr = progress_of(ev, (const double[3]){0, 0, 0});
    so->end_fit = ev->parent_fit;
    cgpc_status st = CGPC_OK;
    int complete = 0, early;
    CGPC_OMP(critical(cgp_run_shared))
    early = ro->merged < so->stage;
    /* A stage that ends before the stages ahead of it in its run are merged writes its best
     * file now, while they still run, not in the merge that follows the last of them (the
     * file is the stage's own; a resume before that merge redoes the stage and rewrites it). */
    if (early) {
        if ((st = write_best(sh, ev->run, r, so->genes, &ln->best, err)) != CGPC_OK)
            return st;
        so->best_written = 1;
    }
    CGPC_OMP(critical(cgp_run_shared))
    {
        so->finished = 1; /* from now on a merge may free it */
        ln->so = NULL;
        st = merge_finished(ln, ro, cb, &complete, err);
    }
    if (st == CGPC_OK && complete)
        st = run_complete(sh, ro, cb, err);
    return st;
}

/* Item: stages [s0, s1) of run `run`, one after another on the lane's evolver; the
 * checkpoint's stage resumes where it stopped. */
static cgpc_status run_item(struct lane *ln, int run, int s0, int s1,
                            const struct cgp_callbacks *cb, struct cgpc_err *err)
{
    struct run_shared *sh = ln->sh;
    struct cgp_evolver *ev = ln->ev;
    const struct cgp_params *p = sh->p;
    const struct cgp_checkpoint *ck = sh->ck;
    struct run_out *ro = ln->ro;
    int at_ck = sh->resume && run == ck->run;
    ev->run = run;
    ev->run_t0 = ro->t0;
    if (at_ck && s0 == ck->stage && sh->ck_genes) /* inside the stage or between chained ones */
        memcpy(ev->parent.genes, sh->ck_genes, (size_t)sh->n_genes * sizeof *sh->ck_genes);
    for (int stage = s0; stage < s1; stage++) {
        int mid = at_ck && stage == ck->stage && ck->started;
        /* the parent carries over inside a resumed stage, and between chained stages */
        int carry = mid || (!p->independent && stage > 0);
        /* a stage starts where the one before it ended: with stage items each runs its full
         * budget */
        int64_t gen = at_ck && stage == ck->stage ? ck->generation
                      : sh->stage_items          ? (int64_t)stage * p->generations
                      : stage == 0               ? 0
                                                 : ev->generation;
        struct stage_out *so = calloc(1, sizeof *so);
        if (!so)
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "stage %d of run %d", stage, run);
        so->stage = stage;
        CGPC_OMP(critical(cgp_run_shared))
        ro->stage[stage] = so;
        ln->so = so;
        cgp_evolver_begin(ev, run, stage, carry ? ev->parent.genes : NULL, gen);
        cgpc_status st = CGPC_OK;
        if (mid) {
            ev->stage_gens = ck->stage_gens;
            ev->since_improve = ck->since_improve;
            ev->stage_t0 = cgpc_wtime() - ck->stage_seconds;
        } else if ((st = record_parent(ln, err)) != CGPC_OK) {
            return st;
        }
        if (!mid || ev->stage_gens < p->generations)
            if ((st = run_stage(ln, cb, err)) != CGPC_OK)
                return st;
        if ((st = stage_end(ln, cb, err)) != CGPC_OK)
            return st;
    }
    return CGPC_OK;
}

struct lane_result {
    cgpc_status st;
    int64_t at; /* run x (stages + 1) + stage of the failed item */
    struct cgpc_err err;
};

/* Lane l claims items until none is left, the stop flag is raised (checked after an item) or a
 * lane failed; a failure stops the others. */
static void lane_loop(struct lane *ln, const struct cgp_callbacks *cb, struct lane_result *lr)
{
    struct run_shared *sh = ln->sh;
    int run = 0, s0 = 0, s1 = 0;
    while (claim(ln, &run, &s0, &s1, &lr->st, &lr->err))
        if ((lr->st = run_item(ln, run, s0, s1, cb, &lr->err)) != CGPC_OK ||
            (cb && cb->stop && *cb->stop))
            break;
    if (lr->st != CGPC_OK) {
        lr->at = (int64_t)run * (sh->S + 1) + (ln->so ? ln->so->stage : s0);
        sh->abort = 1;
    }
}

static cgpc_status lane_init(struct lane *lanes, int l, struct run_shared *sh, int workers,
                             struct cgpc_err *err);

/* Lane l of several, on its own thread: make its evolver and best-file genome there (all lanes
 * at once; lane 0 of a resume was made by the main thread, thread 0 of the team), then claim
 * items. */
static void lane_start(struct lane *lanes, int l, struct lane_result *lr)
{
    struct lane *ln = &lanes[l];
    if (!ln->ev && (lr->st = lane_init(lanes, l, ln->sh, 1, &lr->err)) != CGPC_OK) {
        lr->at = 0;
        ln->sh->abort = 1;
        return;
    }
    lane_loop(ln, ln->sh->cb, lr);
}

/* Every item from the claim cursor on, on n_lanes lanes (threads): one lane as it is, or
 * several (lanes[l].sh set), each made by its own thread (lane_start). Every stage is keyed by
 * its run and stage, so the files equal the sequential order's. The error reported is the
 * first real one by lane, else the interruption of the lowest item. */
static cgpc_status run_all(struct lane *lanes, int n_lanes, const struct cgp_callbacks *cb,
                           struct cgpc_err *err)
{
    struct run_shared *sh = lanes[0].sh;
    const int end = sh->p->first_run + sh->p->runs;
    int n = n_lanes > 1 ? n_lanes : 1;
    struct lane_result *res = calloc((size_t)n, sizeof *res);
    if (!res)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "run lanes");
    if (n == 1) { /* no parallel region: the evolver's own threads stay available */
        lane_loop(&lanes[0], cb, &res[0]);
    } else {
        CGPC_OMP(parallel num_threads(n))
        {
            int l = cgpc_thread_id();
            if (l < n)
                lane_start(lanes, l, &res[l]);
        }
    }
    cgpc_status st = CGPC_OK;
    int pick = -1;
    for (int l = 0; l < n; l++) {
        if (res[l].st == CGPC_OK)
            continue;
        int real = res[l].st != CGPC_ERR_INTERRUPTED;
        if (pick < 0 || (real && res[pick].st == CGPC_ERR_INTERRUPTED) ||
            (!real && res[pick].st == CGPC_ERR_INTERRUPTED && res[l].at < res[pick].at))
            pick = l;
    }
    if (pick >= 0) {
        if (err)
            *err = res[pick].err;
        st = res[pick].st;
    } else if (lowest_open_run(sh) < end) { /* stopped between items */
        st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "interrupted before run %d; checkpoint saved, "
                       "continue with --resume %s", lowest_open_run(sh), sh->dir);
    }
    free(res);
    return st;
}

/* Resuming: results.csv, if there is one yet, is of this cgpc (an older one named its files by
 * the metric's threshold; continuing would leave two naming schemes in one directory). */
static cgpc_status results_check(const char *dir, struct cgpc_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (!cgpc_path_exists(path))
        return CGPC_OK;
    struct cgp_result_row *rows = NULL;
    int n = 0;
    cgpc_status st = cgp_results_load(dir, &rows, &n, err);
    free(rows);
    return st;
}

/* Lane l's evolver (workers threads for its generations), hooked to the lane, and its genome
 * for best files. */
static cgpc_status lane_init(struct lane *lanes, int l, struct run_shared *sh, int workers,
                             struct cgpc_err *err)
{
    struct lane *ln = &lanes[l];
    ln->sh = sh;
    cgpc_status st = cgp_evolver_init_workers(&ln->ev, sh->p, sh->ds, sh->t, workers, err);
    if (st != CGPC_OK)
        return st;
    ln->ev->cb = sh->cb;
    ln->ev->abort = &sh->abort;
    ln->ev->on_improve = on_improve;
    ln->ev->hook_user = ln;
    ln->ev->run = sh->p->first_run;
    CGPC_OMP(critical(cgp_run_shared)) /* every lane's evolver has the same */
    {
        sh->n_genes = ln->ev->shape.n_genes;
        sh->cared = ln->ev->cared;
    }
    return cgp_genome_init(&ln->best, &ln->ev->parent.shape, &ln->ev->parent.fset, err);
}

static void *start_files_write(void *arg)
{
    struct start_files *sf = arg;
    struct run_shared *sh = sf->sh;
    struct cgp_checkpoint first = {0};
    first.run = sh->p->first_run;
    first.results = sh->results;
    if ((sf->st = cgp_config_save(sh->dir, sh->p, &sf->err)) != CGPC_OK ||
        (sf->st = cgp_data_save(sh->dir, sf->ds, &sf->err)) != CGPC_OK ||
        (sf->slot_of && (sf->st = cgp_slots_save(sh->dir, sf->slot_of, sf->n_outputs,
                                                 sf->n_slots, &sf->err)) != CGPC_OK) ||
        (sf->st = cgp_checkpoint_save(&first, sh->dir, &sf->err)) != CGPC_OK)
        sh->abort = 1; /* the lanes stop; cgp_evolve_dir reports this error */
    return NULL;
}

/* Write the start files on their own thread (start_files above), or here if no thread can be
 * made. */
static cgpc_status start_files_begin(struct start_files *sf, struct cgpc_err *err)
{
    sf->sh->start = sf;
    sf->st = CGPC_OK;
    if (pthread_create(&sf->thread, NULL, start_files_write, sf) == 0) {
        sf->running = 1;
        return CGPC_OK;
    }
    start_files_write(sf);
    return start_wait(sf->sh, err);
}

cgpc_status cgp_evolve_dir(const struct cgp_params *p_in, const struct cgp_dataset *ds_in,
                           const struct energy_gate_table *t, const char *out_dir, int resume,
                           const struct cgp_callbacks *cb, struct cgp_totals *totals,
                           struct cgpc_err *err)
{
    struct run_shared sh = {0};
    struct lane *lanes = NULL;
    int n_lanes = 1;
    struct cgp_params p;
    struct cgp_dataset ds_own = {0}, ds_slots = {0};
    const struct cgp_dataset *ds = ds_in;
    int32_t *slot_of = NULL;
    struct cgp_checkpoint ck = {0};
    struct start_files start = {0};
    cgpc_status st = CGPC_OK;
    double t0 = 0;
    sh.dir = out_dir;
    sh.p = &p;
    sh.t = t;
    sh.cb = cb;
    sh.ck = &ck;
    sh.resume = resume;
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
        if ((st = cgpc_mkdirs(out_dir, err)) != CGPC_OK)
            goto out;
        start.sh = &sh;
        start.ds = ds; /* config.txt, data.txt, ...: start_files_begin below */
    }
    if (p_in && resume) { /* per-invocation settings, not part of the run */
        p.stop_after = p_in->stop_after;
        p.parallel_min_work = p_in->parallel_min_work;
    }
    sh.S = p.n_thresholds;
    /* independent stages of a fixed length: one stage per item (see the top of this part) */
    sh.stage_items = p.independent && p.patience == 0 && p.time_limit == 0 && sh.S > 1;
    if (p.value_slots) {
        if (!(slot_of = malloc((size_t)ds->n_outputs * sizeof *slot_of))) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "value slots");
            goto out;
        }
        if ((st = cgp_dataset_value_slots(ds, &ds_slots, slot_of, err)) != CGPC_OK)
            goto out;
        sh.slot_of = slot_of;
        sh.n_outputs = ds->n_outputs;
        start.slot_of = slot_of;
        start.n_outputs = ds->n_outputs;
        start.n_slots = ds_slots.n_outputs;
        ds = &ds_slots;
    }
    size_t n_rows = (size_t)p.runs * (size_t)p.n_thresholds;
    sh.results = calloc(n_rows, sizeof *sh.results);
    sh.stage_done = calloc(n_rows, 1);
    sh.run_done = calloc((size_t)p.runs, 1);
    sh.ro = calloc((size_t)p.runs, sizeof *sh.ro);
    /* a cache line per lane (struct lane is aligned to 64 bytes) */
    lanes = aligned_alloc(_Alignof(struct lane), (size_t)cgpc_max_threads() * sizeof *lanes);
    if (!sh.results || !sh.stage_done || !sh.run_done || !sh.ro || !lanes) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "results table");
        goto out;
    }
    memset(lanes, 0, (size_t)cgpc_max_threads() * sizeof *lanes);
    sh.ds = ds;
    if (!resume && (st = start_files_begin(&start, err)) != CGPC_OK)
        goto out;
    /* Lane 0's evolver, with threads of its own: it will be the only lane. A fresh directory
     * with several items and threads knows that it will not be, and leaves every lane's
     * evolver to its thread (lane_start: made at the same time); a resume learns it from the
     * checkpoint, and then remakes it. */
    int64_t items = (int64_t)p.runs * (sh.stage_items ? sh.S : 1);
    int lanes_later = !resume && items > 1 && cgpc_max_threads() > 1;
    if (!lanes_later && (st = lane_init(lanes, 0, &sh, 0, err)) != CGPC_OK)
        goto out;
    if (resume) {
        if ((st = checkpoint_read(&sh, lanes[0].ev, &ck, err)) != CGPC_OK ||
            (st = results_check(out_dir, err)) != CGPC_OK)
            goto out;
        drop_finished_journals(&sh, ck.done ? p.first_run + p.runs : ck.run);
        if (ck.done)
            goto out; /* nothing left to do */
    } else {
        ck.run = p.first_run; /* the start files' first checkpoint */
    }
    sh.next_run = ck.run;
    sh.next_stage = ck.stage;
    if (ck.stage == sh.S) { /* the checkpoint's run has every stage done: finish it */
        struct run_out **ro = &sh.ro[ck.run - p.first_run];
        if ((st = run_open(&sh, ck.run, ro, err)) != CGPC_OK ||
            (st = run_complete(&sh, *ro, cb, err)) != CGPC_OK)
            goto out;
        sh.next_run = ck.run + 1;
        sh.next_stage = 0;
    }
    /* Several items left and several threads: one item per thread, each evolver on one thread,
     * made by its lane's thread (lane 0's, unless made with one worker above, is remade). */
    int64_t left = (int64_t)(p.first_run + p.runs - sh.next_run) * (sh.stage_items ? sh.S : 1) -
                   (sh.stage_items ? sh.next_stage : 0);
    n_lanes = cgpc_max_threads() < left ? cgpc_max_threads() : left > 0 ? (int)left : 1;
    if (n_lanes > 1) {
        if (!lanes_later) { /* made by lane 0's thread, with one worker */
            cgp_evolver_free(lanes[0].ev);
            cgp_genome_free(&lanes[0].best);
            lanes[0].ev = NULL;
        }
        for (int l = 0; l < n_lanes; l++)
            lanes[l].sh = &sh;
        if (!(sh.held = calloc((size_t)p.runs * (size_t)(sh.S + 1), sizeof *sh.held))) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "progress of %d runs", p.runs);
            goto out;
        }
        sh.held_next = (int64_t)(sh.next_run - p.first_run) * (sh.S + 1);
    }
    t0 = cgpc_wtime();
    st = run_all(lanes, n_lanes, cb, err);
out:
    if (sh.start) { /* the start files are written before returning; their failure first */
        struct cgpc_err e2 = {0};
        cgpc_status st2 = start_wait(&sh, &e2);
        if (st2 != CGPC_OK && (st == CGPC_OK || st == CGPC_ERR_INTERRUPTED)) {
            st = st2;
            if (err)
                *err = e2;
        }
    }
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
        cgp_evolver_free(lanes[l].ev);
        cgp_genome_free(&lanes[l].best);
    }
    if (totals && n_lanes > 1 && t0 > 0) /* concurrent items: the wall time of them all */
        totals->seconds = cgpc_wtime() - t0;
    for (int r = 0; sh.ro && r < p.runs; r++)
        run_out_free(sh.ro[r]);
    free(sh.ro);
    free(lanes);
    free(sh.results);
    free(sh.stage_done);
    free(sh.run_done);
    free(sh.held);
    free(sh.ck_genes);
    archive_free(&sh.ck_arch);
    cgp_dataset_free(&ds_own);
    cgp_dataset_free(&ds_slots);
    free(slot_of);
    return st;
}
