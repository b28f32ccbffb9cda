/* run.c - evolution runs with files: configuration, data copy, statistics journal, best
 * circuits per threshold, Pareto archive, results table and checkpoints (all atomic), resume.
 * Layout and formats: docs/ARCHITECTURE.md, section src/cgp. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cgp/evolver_internal.h"
#include "common/fileio.h"
#include "common/parallel.h"
#include "common/parse.h"

#define CGP_CONFIG_MAGIC "cgpc-evolve-config v1"
#define CGP_CKPT_MAGIC "cgpc-checkpoint v1"
#define STATS_HEADER "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates," \
                     "depth,circuit\n"

struct pareto_point {
    int64_t err_sum;
    double error, energy, delay;
    int gates, stage;
    int64_t generation;
    char *circuit;
};

struct run_state {
    struct cgp_evolver *ev;
    const char *dir;
    char path[4096];
    FILE *journal;          /* statistics.<run>.csv.part */
    int64_t journal_bytes;  /* committed length (fflush'ed) */
    struct pareto_point *pareto;
    int n_pareto, cap_pareto;
    struct cgp_stage_result *results; /* all finished stages of all runs: runs x stages */
    int n_results;
    struct cgpc_err hook_err;
    const int32_t *slot_of; /* value-slot mode: output -> slot, else NULL */
    int n_outputs;          /* of the original data set */
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
static cgpc_status pareto_add(struct run_state *rs, struct pareto_point pt, struct cgpc_err *err)
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
        struct pareto_point *p = realloc(rs->pareto, (size_t)cap * sizeof *p);
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
    int n = fprintf(rs->journal, "%d,%.17g,%" PRId64 ",%.3f,%.17g,%.17g,%.17g,%.17g,%d,%d,%s\n",
                    ev->run, ev->threshold, ev->generation, cgpc_wtime() - ev->run_t0, f->error,
                    f->energy_pj, f->delay_ns, f->area_um2, f->gates, f->depth, circ);
    if (n < 0 || fflush(rs->journal) != 0) {
        free(circ);
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot append to the statistics journal",
                         dir_path(rs, "statistics.%d.csv.part", ev->run));
    }
    rs->journal_bytes += n;
    struct pareto_point pt = {f->err_sum, f->error, f->energy_pj, f->delay_ns, f->gates,
                              ev->stage, ev->generation, circ};
    return pareto_add(rs, pt, err);
}

static void on_improve(struct cgp_evolver *ev, void *user)
{
    struct run_state *rs = user;
    if (record_parent(rs, &rs->hook_err) != CGPC_OK)
        ev->hook_failed = 1;
}

/* ---- configuration ------------------------------------------------------------------------ */

static cgpc_status config_write(struct run_state *rs, const struct cgp_params *p,
                                struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, dir_path(rs, "config.txt"), err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp, CGP_CONFIG_MAGIC "\n# the run configuration; `cgpc evolve --resume DIR` reads "
            "it\n");
    if ((st = cgp_params_write(p, af.fp, err)) != CGPC_OK) {
        cgpc_atomic_abort(&af);
        return st;
    }
    return cgpc_atomic_close(&af, err);
}

static cgpc_status config_read(const char *path, struct cgp_params *p, struct cgpc_err *err)
{
    unsigned char *data = NULL;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    const char *t = (const char *)data;
    if (strncmp(t, CGP_CONFIG_MAGIC "\n", strlen(CGP_CONFIG_MAGIC) + 1) != 0)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected '" CGP_CONFIG_MAGIC "' (not a cgpc "
                       "evolve directory, or written by another version)", path);
    else
        st = cgp_params_parse(p, t + strlen(CGP_CONFIG_MAGIC) + 1, path, err);
    free(data);
    return st;
}

/* ---- checkpoints --------------------------------------------------------------------------- */

struct checkpoint {
    int done;          /* all runs finished */
    int run, stage;    /* stage == n_thresholds: the run's stages are done, finish the run */
    int started;       /* 1: inside the stage (genes = parent), 0: the stage has not begun */
    int has_genes;     /* genes hold the parent (or the chain's start genome) */
    int64_t generation, stage_gens, since_improve, journal_bytes;
    double stage_seconds, run_seconds;
};

static cgpc_status checkpoint_write(struct run_state *rs, const struct checkpoint *ck,
                                    struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    if (rs->journal && (fflush(rs->journal) != 0 || fsync(fileno(rs->journal)) != 0))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot flush the statistics journal",
                         dir_path(rs, "statistics.%d.csv.part", ck->run));
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, dir_path(rs, "checkpoint"), err);
    if (st != CGPC_OK)
        return st;
    FILE *fp = af.fp;
    fprintf(fp, CGP_CKPT_MAGIC "\nstatus %s\nrun %d\nstage %d\nstarted %d\n",
            ck->done ? "done" : "running", ck->run, ck->stage, ck->started);
    fprintf(fp, "generation %" PRId64 "\nstage-generations %" PRId64 "\nsince-improve %" PRId64
            "\njournal-bytes %" PRId64 "\n", ck->generation, ck->stage_gens, ck->since_improve,
            ck->journal_bytes);
    fprintf(fp, "stage-seconds %.17g\nrun-seconds %.17g\n", ck->stage_seconds, ck->run_seconds);
    fprintf(fp, "results %d\n", rs->n_results);
    for (int i = 0; i < rs->n_results; i++) {
        const struct cgp_stage_result *r = &rs->results[i];
        fprintf(fp, "result %.17g %d %" PRId64 " %" PRId64 " %.17g %.17g %.17g %.17g %d %d %d\n",
                r->threshold, r->reached, r->generations, r->fit.err_sum, r->fit.error,
                r->fit.energy_pj, r->fit.delay_ns, r->fit.area_um2, r->fit.gates, r->fit.depth,
                r->fit.active);
    }
    fprintf(fp, "pareto %d\n", rs->n_pareto);
    for (int i = 0; i < rs->n_pareto; i++) {
        const struct pareto_point *q = &rs->pareto[i];
        fprintf(fp, "point %" PRId64 " %.17g %.17g %.17g %d %d %" PRId64 " %s\n", q->err_sum,
                q->error, q->energy, q->delay, q->gates, q->stage, q->generation, q->circuit);
    }
    fprintf(fp, "genes %d", ck->has_genes ? ev->shape.n_genes : 0);
    for (int i = 0; ck->has_genes && i < ev->shape.n_genes; i++)
        fprintf(fp, " %d", ev->parent.genes[i]);
    fprintf(fp, "\nend\n");
    return cgpc_atomic_close(&af, err);
}

static cgpc_status checkpoint_read(struct run_state *rs, struct checkpoint *ck,
                                   struct cgpc_err *err)
{
    const char *path = dir_path(rs, "checkpoint");
    char name[4200];
    snprintf(name, sizeof name, "%s", path);
    unsigned char *data = NULL;
    size_t len;
    cgpc_status st = cgpc_read_file(name, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    memset(ck, 0, sizeof *ck);
    char *line = (char *)data, *next;
    int ln = 0, n_res = -1, n_par = -1, n_genes = -1;
    char status[16] = "";
    struct cgp_evolver *ev = rs->ev;
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        ln++;
        int ok = 1;
        if (ln == 1) {
            ok = strcmp(line, CGP_CKPT_MAGIC) == 0;
        } else if (!strncmp(line, "status ", 7)) {
            ok = sscanf(line + 7, "%15s", status) == 1;
            ck->done = strcmp(status, "done") == 0;
        } else if (!strncmp(line, "run ", 4)) {
            ok = sscanf(line + 4, "%d", &ck->run) == 1;
        } else if (!strncmp(line, "stage ", 6)) {
            ok = sscanf(line + 6, "%d", &ck->stage) == 1;
        } else if (!strncmp(line, "started ", 8)) {
            ok = sscanf(line + 8, "%d", &ck->started) == 1;
        } else if (!strncmp(line, "generation ", 11)) {
            ok = sscanf(line + 11, "%" SCNd64, &ck->generation) == 1;
        } else if (!strncmp(line, "stage-generations ", 18)) {
            ok = sscanf(line + 18, "%" SCNd64, &ck->stage_gens) == 1;
        } else if (!strncmp(line, "since-improve ", 14)) {
            ok = sscanf(line + 14, "%" SCNd64, &ck->since_improve) == 1;
        } else if (!strncmp(line, "journal-bytes ", 14)) {
            ok = sscanf(line + 14, "%" SCNd64, &ck->journal_bytes) == 1;
        } else if (!strncmp(line, "stage-seconds ", 14)) {
            ok = sscanf(line + 14, "%lf", &ck->stage_seconds) == 1;
        } else if (!strncmp(line, "run-seconds ", 12)) {
            ok = sscanf(line + 12, "%lf", &ck->run_seconds) == 1;
        } else if (!strncmp(line, "results ", 8)) {
            ok = sscanf(line + 8, "%d", &n_res) == 1 && n_res >= 0 &&
                 n_res <= ev->p.runs * ev->p.n_thresholds;
        } else if (!strncmp(line, "result ", 7)) {
            struct cgp_stage_result *r = &rs->results[rs->n_results];
            ok = rs->n_results < n_res &&
                 sscanf(line + 7, "%lf %d %" SCNd64 " %" SCNd64 " %lf %lf %lf %lf %d %d %d",
                        &r->threshold, &r->reached, &r->generations, &r->fit.err_sum,
                        &r->fit.error, &r->fit.energy_pj, &r->fit.delay_ns, &r->fit.area_um2,
                        &r->fit.gates, &r->fit.depth, &r->fit.active) == 11;
            r->fit.costed = 1;
            rs->n_results += ok;
        } else if (!strncmp(line, "pareto ", 7)) {
            ok = sscanf(line + 7, "%d", &n_par) == 1 && n_par >= 0;
        } else if (!strncmp(line, "point ", 6)) {
            struct pareto_point q = {0};
            int off = 0;
            ok = sscanf(line + 6, "%" SCNd64 " %lf %lf %lf %d %d %" SCNd64 " %n", &q.err_sum,
                        &q.error, &q.energy, &q.delay, &q.gates, &q.stage, &q.generation,
                        &off) == 7 && off > 0 && rs->n_pareto < n_par;
            if (ok) {
                if (!(q.circuit = strdup(line + 6 + off)) || pareto_add(rs, q, err) != CGPC_OK) {
                    st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "checkpoint Pareto archive");
                    goto out;
                }
            }
        } else if (!strncmp(line, "genes ", 6)) {
            char *p = line + 6, *end;
            n_genes = (int)strtol(p, &end, 10);
            ok = end != p && (n_genes == 0 || n_genes == ev->shape.n_genes);
            for (int i = 0; ok && i < n_genes; i++) {
                p = end;
                long g = strtol(p, &end, 10);
                ok = end != p;
                ev->parent.genes[i] = (int32_t)g;
            }
            ck->has_genes = n_genes > 0;
        } else if (!strcmp(line, "end")) {
            break;
        } else {
            ok = 0;
        }
        if (!ok) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: malformed checkpoint line (expected the "
                           "'" CGP_CKPT_MAGIC "' layout of docs/ARCHITECTURE.md)", name, ln);
            goto out;
        }
    }
    if (!line || strcmp(line, "end") != 0 || n_genes < 0 || rs->n_results != n_res ||
        rs->n_pareto != n_par) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: truncated or inconsistent checkpoint", name);
        goto out;
    }
    if (ck->run < ev->p.first_run || ck->run > ev->p.first_run + ev->p.runs || ck->stage < 0 ||
        ck->stage > ev->p.n_thresholds) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: run %d / stage %d out of range", name, ck->run,
                       ck->stage);
        goto out;
    }
    if (ck->has_genes) {
        struct cgpc_err e2 = {0};
        if (cgp_genome_check(&ev->parent, &e2) != CGPC_OK) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: genes: %s", name, e2.msg);
            goto out;
        }
    }
out:
    free(data);
    return st;
}

/* ---- outputs per stage and run ------------------------------------------------------------- */

static cgpc_status write_results(struct run_state *rs, struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, dir_path(rs, "results.csv"), err);
    if (st != CGPC_OK)
        return st;
    const struct cgp_params *p = &rs->ev->p;
    fprintf(af.fp, "run,threshold,reached,generations,error,energy_pj,delay_ns,area_um2,gates,"
            "depth,active,best_file\n");
    for (int i = 0; i < rs->n_results; i++) {
        const struct cgp_stage_result *r = &rs->results[i];
        int run = p->first_run + i / p->n_thresholds;
        fprintf(af.fp, "%d,%.17g,%s,%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%d,%d,%d,best.%d.%g.chr\n",
                run, r->threshold, r->reached ? "yes" : "no", r->generations, r->fit.error,
                r->fit.energy_pj, r->fit.delay_ns, r->fit.area_um2, r->fit.gates, r->fit.depth,
                r->fit.active, run, r->threshold);
    }
    return cgpc_atomic_close(&af, err);
}

static cgpc_status write_pareto(struct run_state *rs, int run, struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, dir_path(rs, "pareto.%d.csv", run), err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp, "error,energy_pj,delay_ns,gates,threshold,generation,circuit\n");
    for (int i = 0; i < rs->n_pareto; i++) {
        const struct pareto_point *q = &rs->pareto[i];
        fprintf(af.fp, "%.17g,%.17g,%.17g,%d,%.17g,%" PRId64 ",%s\n", q->error, q->energy, q->delay,
                q->gates, rs->ev->p.thresholds[q->stage], q->generation, q->circuit);
    }
    return cgpc_atomic_close(&af, err);
}

static cgpc_status write_best(struct run_state *rs, struct cgp_stage_result *r,
                              struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_fitness *f = &ev->parent_fit;
    char comment[1024];
    snprintf(comment, sizeof comment,
             "best of run %d for threshold %.17g (%s error %s)\n"
             "reached %s%s\nerror %.17g\nenergy-pj %.17g\ndelay-ns %.17g\narea-um2 %.17g\n"
             "gates %d\ndepth %d\nactive %d\ngenerations %" PRId64,
             ev->run, r->threshold, cgp_error_kind_name(ev->p.error_kind),
             r->reached ? "reached" : "NOT reached",
             r->reached ? "yes" : "no",
             r->reached ? "" : " (the error threshold was never reached: this is the best "
                               "circuit found)",
             f->error, f->energy_pj, f->delay_ns, f->area_um2, f->gates, f->depth, f->active,
             r->generations);
    const char *path = dir_path(rs, "best.%d.%g.chr", ev->run, r->threshold);
    if (!rs->slot_of)
        return cgp_genome_save(&ev->parent, comment, path, err);
    /* value slots: the file is wired to the original outputs, so it stands alone */
    struct cgp_genome full;
    cgpc_status st = cgp_genome_expand_slots(&ev->parent, rs->slot_of, rs->n_outputs, &full, err);
    if (st == CGPC_OK)
        st = cgp_genome_save(&full, comment, path, err);
    cgp_genome_free(&full);
    return st;
}

static cgpc_status write_slots(struct run_state *rs, int n_slots, struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, dir_path(rs, "slots.txt"), err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp, "cgpc-slots v1\n# value-slot mode: output o is wired to slot map[o]\n"
            "outputs %d\nslots %d\nmap", rs->n_outputs, n_slots);
    for (int o = 0; o < rs->n_outputs; o++)
        fprintf(af.fp, " %d", rs->slot_of[o]);
    fprintf(af.fp, "\n");
    return cgpc_atomic_close(&af, err);
}

/* statistics.<run>.csv.part -> statistics.<run>.csv.gz (atomic), then remove the journal. */
static cgpc_status finish_statistics(struct run_state *rs, int run, struct cgpc_err *err)
{
    char part[4200], gzp[4200], tmp[4300];
    snprintf(part, sizeof part, "%s", dir_path(rs, "statistics.%d.csv.part", run));
    snprintf(gzp, sizeof gzp, "%s", dir_path(rs, "statistics.%d.csv.gz", run));
    if (rs->journal) {
        fclose(rs->journal);
        rs->journal = NULL;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    cgpc_status st = cgpc_read_file(part, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    if ((st = cgpc_atomic_tmp_path(gzp, tmp, sizeof tmp, err)) != CGPC_OK)
        goto out;
    gzFile gz = gzopen(tmp, "wb6");
    if (!gz) {
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open for writing", tmp);
        goto out;
    }
    int wrote = len ? gzwrite(gz, data, (unsigned)len) : 0;
    if (gzclose(gz) != Z_OK || (size_t)wrote != len) {
        unlink(tmp);
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: compressing the statistics failed", gzp);
        goto out;
    }
    if ((st = cgpc_atomic_commit(tmp, gzp, err)) != CGPC_OK)
        goto out;
    unlink(part);
out:
    free(data);
    return st;
}

/* Open the run's journal: fresh (header) or truncated to the checkpointed length. */
static cgpc_status open_journal(struct run_state *rs, int run, int64_t keep_bytes,
                                struct cgpc_err *err)
{
    const char *path = dir_path(rs, "statistics.%d.csv.part", run);
    if (keep_bytes > 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 || sb.st_size < keep_bytes || truncate(path, keep_bytes) != 0)
            return CGPC_FAIL(err, CGPC_ERR_IO, "%s: missing or shorter than the checkpointed %"
                             PRId64 " bytes: the directory is not resumable", path, keep_bytes);
        rs->journal = fopen(path, "ab");
    } else {
        rs->journal = fopen(path, "wb");
        if (rs->journal)
            fputs(STATS_HEADER, rs->journal);
    }
    if (!rs->journal || fflush(rs->journal) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open the statistics journal", path);
    rs->journal_bytes = keep_bytes > 0 ? keep_bytes : (int64_t)strlen(STATS_HEADER);
    return CGPC_OK;
}

static void fill_checkpoint(const struct run_state *rs, struct checkpoint *ck, int started)
{
    const struct cgp_evolver *ev = rs->ev;
    double now = cgpc_wtime();
    memset(ck, 0, sizeof *ck);
    ck->run = ev->run;
    ck->stage = ev->stage;
    ck->started = started;
    ck->has_genes = 1;
    ck->generation = ev->generation;
    ck->stage_gens = ev->stage_gens;
    ck->since_improve = ev->since_improve;
    ck->journal_bytes = rs->journal_bytes;
    ck->stage_seconds = now - ev->stage_t0;
    ck->run_seconds = now - ev->run_t0;
}

static void report_progress(struct run_state *rs, const struct cgp_callbacks *cb, double rate)
{
    if (!cb || !cb->progress)
        return;
    struct cgp_progress pr = {rs->ev->run, rs->ev->stage, rs->ev->threshold,
                              rs->ev->generation, &rs->ev->parent_fit, rate};
    cb->progress(cb->user, &pr);
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
    int64_t last_g = ev->generation;
    struct checkpoint ck;
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
        double rate = now > last_t ? (double)(ev->generation - last_g) / (now - last_t) : 0;
        last_t = now;
        last_g = ev->generation;
        if (now - last_report >= 0.5 || ev->stop != CGP_STOP_PAUSE) {
            report_progress(rs, cb, rate);
            last_report = now;
        }
        switch (ev->stop) {
        case CGP_STOP_PAUSE:
            if (now >= next_ckpt) {
                fill_checkpoint(rs, &ck, 1);
                if ((st = checkpoint_write(rs, &ck, err)) != CGPC_OK)
                    return st;
                next_ckpt = now + p->checkpoint_every;
            }
            continue;
        case CGP_STOP_SIGNAL:
        case CGP_STOP_AFTER:
            fill_checkpoint(rs, &ck, 1);
            if ((st = checkpoint_write(rs, &ck, err)) != CGPC_OK)
                return st;
            return CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "interrupted at generation %" PRId64
                             " of run %d; checkpoint saved, continue with --resume %s",
                             ev->generation, ev->run, rs->dir);
        default:
            return CGPC_OK;
        }
    }
}

static cgpc_status run_all(struct run_state *rs, struct checkpoint *ck, int resume,
                           const struct cgp_callbacks *cb, struct cgpc_err *err)
{
    struct cgp_evolver *ev = rs->ev;
    const struct cgp_params *p = &ev->p;
    cgpc_status st = CGPC_OK;
    for (int run = ck->run; run < p->first_run + p->runs; run++) {
        int resumed_run = resume && run == ck->run && (ck->stage > 0 || ck->started);
        if (!resumed_run)
            pareto_clear(rs);
        /* A crash between compressing the statistics and the run's last checkpoint leaves only
         * the .gz: the run is finished, nothing to redo. */
        int finished = resumed_run && ck->stage == p->n_thresholds &&
                       !cgpc_path_exists(dir_path(rs, "statistics.%d.csv.part", run)) &&
                       cgpc_path_exists(dir_path(rs, "statistics.%d.csv.gz", run));
        if (!finished &&
            (st = open_journal(rs, run, resumed_run ? ck->journal_bytes : 0, err)) != CGPC_OK)
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
            struct cgp_stage_result *r = &rs->results[slot];
            cgp_evolver_cost_parent(ev);
            r->threshold = ev->threshold;
            r->reached = ev->parent_fit.err_sum <= ev->limit;
            r->generations = ev->stage_gens;
            r->fit = ev->parent_fit;
            rs->n_results = slot + 1;
            if ((st = write_best(rs, r, err)) || (st = write_results(rs, err)) ||
                (st = write_pareto(rs, run, err)))
                return st;
            struct checkpoint next;
            fill_checkpoint(rs, &next, 0);
            next.stage = stage + 1;
            next.stage_gens = 0;
            next.since_improve = 0;
            next.stage_seconds = 0;
            if ((st = checkpoint_write(rs, &next, err)) != CGPC_OK)
                return st;
        }
        if ((st = write_pareto(rs, run, err)) ||
            (!finished && (st = finish_statistics(rs, run, err))))
            return st;
        struct checkpoint next = {0};
        next.run = run + 1;
        next.done = run + 1 == p->first_run + p->runs;
        if ((st = checkpoint_write(rs, &next, err)) != CGPC_OK)
            return st;
        report_progress(rs, cb, 0);
    }
    return st;
}

cgpc_status cgp_evolve_dir(const struct cgp_params *p_in, const struct cgp_dataset *ds_in,
                           const struct energy_gate_table *t, const char *out_dir, int resume,
                           const struct cgp_callbacks *cb, struct cgp_totals *totals,
                           struct cgpc_err *err)
{
    struct run_state rs = {0};
    struct cgp_params p;
    struct cgp_dataset ds_own = {0}, ds_slots = {0};
    const struct cgp_dataset *ds = ds_in;
    int32_t *slot_of = NULL;
    struct checkpoint ck = {0};
    cgpc_status st = CGPC_OK;
    rs.dir = out_dir;
    if (totals)
        memset(totals, 0, sizeof *totals);
    if (resume) {
        if ((st = config_read(dir_path(&rs, "config.txt"), &p, err)) != CGPC_OK ||
            (st = cgp_dataset_load(&ds_own, dir_path(&rs, "data.txt"), err)) != CGPC_OK)
            goto out;
        ds = &ds_own;
    } else {
        p = *p_in;
        if ((st = cgp_params_check(&p, ds, err)) != CGPC_OK)
            goto out;
        if (cgpc_path_exists(dir_path(&rs, "checkpoint"))) {
            st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s already holds an evolve run; continue it with "
                           "--resume %s or choose another --out", out_dir, out_dir);
            goto out;
        }
        if ((st = cgpc_mkdirs(out_dir, err)) != CGPC_OK ||
            (st = config_write(&rs, &p, err)) != CGPC_OK ||
            (st = cgp_dataset_save(ds, dir_path(&rs, "data.txt"), err)) != CGPC_OK)
            goto out;
    }
    if (p_in && resume) { /* per-invocation settings, not part of the run */
        p.stop_after = p_in->stop_after;
        p.parallel_min_us = p_in->parallel_min_us;
    }
    if (p.value_slots) {
        if (!(slot_of = malloc((size_t)ds->n_outputs * sizeof *slot_of))) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "value slots");
            goto out;
        }
        if ((st = cgp_dataset_value_slots(ds, &ds_slots, slot_of, err)) != CGPC_OK)
            goto out;
        rs.slot_of = slot_of;
        rs.n_outputs = ds->n_outputs;
        if (!resume && (st = write_slots(&rs, ds_slots.n_outputs, err)) != CGPC_OK)
            goto out;
        ds = &ds_slots;
    }
    if ((st = cgp_evolver_init(&rs.ev, &p, ds, t, err)) != CGPC_OK)
        goto out;
    rs.ev->cb = cb;
    rs.ev->on_improve = on_improve;
    rs.ev->hook_user = &rs;
    rs.results = calloc((size_t)p.runs * p.n_thresholds, sizeof *rs.results);
    if (!rs.results) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "results table");
        goto out;
    }
    if (resume) {
        if ((st = checkpoint_read(&rs, &ck, err)) != CGPC_OK)
            goto out;
        if (ck.done)
            goto out; /* nothing left to do */
    } else {
        struct checkpoint first = {0};
        first.run = ck.run = p.first_run;
        rs.ev->run = p.first_run;
        if ((st = checkpoint_write(&rs, &first, err)) != CGPC_OK)
            goto out;
    }
    st = run_all(&rs, &ck, resume, cb, err);
out:
    if (rs.ev && totals)
        cgp_evolver_totals(rs.ev, totals);
    if (rs.journal)
        fclose(rs.journal);
    pareto_clear(&rs);
    free(rs.pareto);
    free(rs.results);
    cgp_evolver_free(rs.ev);
    cgp_dataset_free(&ds_own);
    cgp_dataset_free(&ds_slots);
    free(slot_of);
    return st;
}
