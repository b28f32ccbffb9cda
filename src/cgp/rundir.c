/* rundir.c - every file of a run directory: names, writers, validating readers (rundir.h). */
#include "cgp/rundir.h"

#include <dirent.h>
#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cgp/params.h"
#include "common/fileio.h"
#include "common/lock.h"
#include "common/parse.h"

/* ---- paths ------------------------------------------------------------------------------------ */

cgpc_status cgp_rundir_path(char *buf, size_t cap, const char *dir, const char *name,
                            struct cgpc_err *err)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s/%s: path longer than %zu bytes", dir, name,
                         cap - 1);
    return CGPC_OK;
}

/* dir/<printf name> into buf (4200 bytes); a longer path is cut (only for messages and
 * opens that then fail). */
static const char *pathf(char *buf, const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *pathf(char *buf, const char *dir, const char *fmt, ...)
{
    int n = snprintf(buf, 4200, "%s/", dir);
    if (n < 0 || n >= 4200)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, 4200 - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}

void cgp_rundir_best_name(char *buf, size_t cap, int run, double per_weight)
{
    snprintf(buf, cap, "best.%d.%g.chr", run, per_weight);
}

void cgp_rundir_residual_name(char *buf, size_t cap, int run, double threshold)
{
    snprintf(buf, cap, "best.%d.%g.res", run, threshold);
}

int cgp_rundir_run_of_file(const char *name)
{
    static const char *const prefixes[] = {"statistics.", "statistics.", "best.", "pareto.",
                                           "best."};
    static const char *const suffixes[] = {".csv.gz", ".csv.part", ".chr", ".csv", ".res"};
    for (int i = 0; i < 5; i++) {
        size_t pl = strlen(prefixes[i]), nl = strlen(name), sl = strlen(suffixes[i]);
        if (strncmp(name, prefixes[i], pl) || nl < pl + sl + 1 ||
            strcmp(name + nl - sl, suffixes[i]))
            continue;
        const char *p = name + pl;
        if (*p < '0' || *p > '9')
            continue;
        char *end;
        long r = strtol(p, &end, 10);
        /* pareto.R.csv: nothing between R and the suffix */
        if (*end != '.' || r < 0 || r > INT32_MAX || (i == 3 && end != name + nl - sl))
            continue;
        return (int)r;
    }
    return -1;
}

const char *const cgp_rundir_shared_files[] = {"experiment.exp", "model.txt", "data.txt",
                                               "slots.txt", NULL};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cgp_rundir_list_free(char **dirs, int n)
{
    for (int i = 0; dirs && i < n; i++)
        free(dirs[i]);
    free(dirs);
}

cgpc_status cgp_rundir_list(char *const *args, int n_args, char ***dirs, int *n,
                            struct cgpc_err *err)
{
    size_t cap = 16;
    *n = 0;
    *dirs = malloc(cap * sizeof **dirs);
    if (!*dirs)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "directory list: out of memory");
    for (int i = 0; i < n_args; i++) {
        char probe[4200], pattern[4200];
        glob_t g = {0};
        pathf(probe, args[i], "experiment.exp");
        pathf(pattern, args[i], "*/experiment.exp");
        int sub = !cgpc_path_exists(probe) && glob(pattern, 0, NULL, &g) == 0;
        size_t count = sub ? g.gl_pathc : 1;
        for (size_t k = 0; k < count; k++) {
            if ((size_t)*n == cap) {
                char **grown = realloc(*dirs, (cap *= 2) * sizeof **dirs);
                if (!grown) {
                    globfree(&g);
                    return CGPC_FAIL(err, CGPC_ERR_NOMEM, "directory list: out of memory");
                }
                *dirs = grown;
            }
            char *d = strdup(sub ? g.gl_pathv[k] : args[i]);
            if (!d) {
                globfree(&g);
                return CGPC_FAIL(err, CGPC_ERR_NOMEM, "directory list: out of memory");
            }
            if (sub)
                *strrchr(d, '/') = '\0'; /* the directory, not its experiment.exp */
            (*dirs)[(*n)++] = d;
        }
        if (sub) {
            qsort(*dirs + *n - count, count, sizeof **dirs, compare_names);
            globfree(&g);
        }
    }
    return CGPC_OK;
}

int cgp_rundir_has_run(const char *dir)
{
    char p[4200];
    return cgpc_path_exists(pathf(p, dir, "config.txt"));
}

int cgp_rundir_has_checkpoint(const char *dir)
{
    char p[4200];
    return cgpc_path_exists(pathf(p, dir, "checkpoint"));
}

/* ---- config.txt --------------------------------------------------------------------------------- */

cgpc_status cgp_config_save(const char *dir, const struct cgp_params *p, struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "config.txt"), err);
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

cgpc_status cgp_config_load(const char *dir, struct cgp_params *p, struct cgpc_err *err)
{
    char path[4200];
    unsigned char *data = NULL;
    size_t len;
    cgpc_status st = cgpc_read_file(pathf(path, dir, "config.txt"), &data, &len, err);
    if (st != CGPC_OK)
        return st;
    const char *t = (const char *)data;
    if (strlen(t) != len)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected text, found a NUL byte", path);
    else if (strncmp(t, CGP_CONFIG_MAGIC "\n", strlen(CGP_CONFIG_MAGIC) + 1) != 0)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected '" CGP_CONFIG_MAGIC "' (not a cgpc "
                       "evolve directory, or written by another version)", path);
    else
        st = cgp_params_parse_lines(p, t + strlen(CGP_CONFIG_MAGIC) + 1, path, 2, err);
    free(data);
    return st;
}

/* ---- checkpoint -------------------------------------------------------------------------------- */

cgpc_status cgp_checkpoint_save(const struct cgp_checkpoint *ck, const char *dir,
                                struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "checkpoint"), err);
    if (st != CGPC_OK)
        return st;
    FILE *fp = af.fp;
    fprintf(fp, CGP_CKPT_MAGIC "\nstatus %s\nrun %d\nstage %d\nstarted %d\n",
            ck->done ? "done" : "running", ck->run, ck->stage, ck->started);
    fprintf(fp, "generation %" PRId64 "\nstage-generations %" PRId64 "\nsince-improve %" PRId64
            "\njournal-bytes %" PRId64 "\n", ck->generation, ck->stage_gens, ck->since_improve,
            ck->journal_bytes);
    fprintf(fp, "stage-seconds %.17g\nrun-seconds %.17g\n", ck->stage_seconds, ck->run_seconds);
    fprintf(fp, "results %d\n", ck->n_results);
    for (int i = 0; i < ck->n_results; i++) {
        const struct cgp_stage_result *r = &ck->results[i];
        fprintf(fp, "result %.17g %d %" PRId64 " %" PRId64 " %.17g %.17g %.17g %.17g %d %d %d\n",
                r->threshold, r->reached, r->generations, r->fit.err_sum, r->fit.error,
                r->fit.energy_pj, r->fit.delay_ns, r->fit.area_um2, r->fit.gates, r->fit.depth,
                r->fit.active);
    }
    fprintf(fp, "pareto %d\n", ck->n_points);
    for (int i = 0; i < ck->n_points; i++) {
        const struct cgp_pareto_point *q = &ck->points[i];
        fprintf(fp, "point %" PRId64 " %.17g %.17g %.17g %d %d %" PRId64 " %s\n", q->err_sum,
                q->error, q->energy, q->delay, q->gates, q->stage, q->generation, q->circuit);
    }
    fprintf(fp, "genes %d", ck->genes ? ck->n_genes : 0);
    char buf[4096], *e = buf; /* the genes formatted here: fprintf per gene took ~2 ms */
    for (int i = 0; ck->genes && i < ck->n_genes; i++) {
        if (e - buf > (ptrdiff_t)sizeof buf - 16) {
            fwrite(buf, 1, (size_t)(e - buf), fp);
            e = buf;
        }
        *e++ = ' ';
        e = cgpc_format_i32(e, ck->genes[i]);
    }
    fwrite(buf, 1, (size_t)(e - buf), fp);
    fprintf(fp, "\nend\n");
    return cgpc_atomic_close(&af, err);
}

void cgp_checkpoint_free(struct cgp_checkpoint *ck)
{
    if (!ck)
        return;
    for (int i = 0; i < ck->n_points; i++)
        free(ck->points[i].circuit);
    free((void *)ck->results);
    free((void *)ck->points);
    free((void *)ck->genes);
    memset(ck, 0, sizeof *ck);
}

/* The scalar keys of a checkpoint, each required exactly once. */
enum ck_type { CK_STATUS, CK_INT, CK_I64, CK_SECONDS, CK_COUNT };
struct ck_key {
    const char *name;
    enum ck_type type;
    int64_t min, max; /* CK_INT / CK_I64 / CK_COUNT; run and stage are set from the limits */
};

/* Parse the space-separated fields of one "result" or "point" line strictly: each an integer
 * in [lo, hi] (kind 'i', 'I') or a finite double >= 0 (kind 'd'). Returns the index of the
 * first bad field, or -1; *rest points past the last one. */
static int parse_fields(char *s, const char *kinds, void **out, char **rest)
{
    for (int f = 0; kinds[f]; f++) {
        char *end = s + strcspn(s, " ");
        char save = *end;
        *end = '\0';
        struct cgpc_err e;
        int bad = 0;
        if (kinds[f] == 'd') {
            bad = cgpc_parse_double(s, 0, 1e300, out[f], &e) != CGPC_OK;
        } else {
            int64_t v;
            bad = cgpc_parse_i64(s, 0, kinds[f] == 'i' ? INT32_MAX : CGP_COUNTER_MAX, &v,
                                 &e) != CGPC_OK;
            if (kinds[f] == 'i')
                *(int *)out[f] = (int)v;
            else
                *(int64_t *)out[f] = v;
        }
        *end = save;
        if (bad || (save != ' ' && kinds[f + 1]))
            return f;
        s = save ? end + 1 : end;
    }
    *rest = s;
    return -1;
}

#define CK_FAIL(...) do { st = CGPC_FAIL(err, CGPC_ERR_FORMAT, __VA_ARGS__); goto out; } while (0)

cgpc_status cgp_checkpoint_parse(struct cgp_checkpoint *ck, const char *text, const char *name,
                                 const struct cgp_checkpoint_limits *lim, struct cgpc_err *err)
{
    memset(ck, 0, sizeof *ck);
    const struct ck_key keys[] = {
        {"status", CK_STATUS, 0, 0},
        {"run", CK_INT, lim->first_run, (int64_t)lim->first_run + lim->runs},
        {"stage", CK_INT, 0, lim->n_thresholds},
        {"started", CK_INT, 0, 1},
        {"generation", CK_I64, 0, CGP_COUNTER_MAX},
        {"stage-generations", CK_I64, 0, lim->generations},
        {"since-improve", CK_I64, 0, CGP_COUNTER_MAX},
        {"journal-bytes", CK_I64, 0, CGP_COUNTER_MAX},
        {"stage-seconds", CK_SECONDS, 0, 0},
        {"run-seconds", CK_SECONDS, 0, 0},
        {"results", CK_COUNT, 0, (int64_t)lim->runs * lim->n_thresholds},
        {"pareto", CK_COUNT, 0, CGP_PARETO_MAX},
        {"genes", CK_COUNT, 0, 0},
    };
    enum { K_STATUS, K_RUN, K_STAGE, K_STARTED, K_GEN, K_SGEN, K_SINCE, K_JBYTES, K_SSEC,
           K_RSEC, K_RESULTS, K_PARETO, K_GENES, K_N };
    int64_t ival[K_N] = {0};
    double dval[K_N] = {0};
    int seen[K_N] = {0};
    char *copy = strdup(text);
    struct cgp_stage_result *results = NULL;
    struct cgp_pareto_point *points = NULL;
    int32_t *genes = NULL;
    int n_results = 0, n_points = 0, ended = 0;
    cgpc_status st = CGPC_OK;
    if (!copy)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", name);
    int64_t n_lines = 0;
    for (const char *c = copy; *c; c++)
        n_lines += *c == '\n';
    char *line = copy, *next;
    for (int ln = 1; line && *line; line = next, ln++) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (ended)
            CK_FAIL("%s:%d: expected nothing after 'end'", name, ln);
        if (ln == 1) {
            if (!strcmp(line, CGP_CKPT_MAGIC_V1) || !strcmp(line, CGP_CKPT_MAGIC_V2))
                CK_FAIL("%s:1: '%s': written by an older cgpc whose search draws its random "
                        "mutations differently; resuming would not continue the same run (start "
                        "a new directory, or resume with that cgpc)", name, line);
            if (strcmp(line, CGP_CKPT_MAGIC))
                CK_FAIL("%s:1: expected '" CGP_CKPT_MAGIC "' (not a cgpc checkpoint, or written "
                        "by another version)", name);
            continue;
        }
        if (!strcmp(line, "end")) {
            ended = 1;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (!sp)
            CK_FAIL("%s:%d: expected 'key value', got '%.40s'", name, ln, line);
        *sp = '\0';
        char *v = sp + 1;
        if (!strcmp(line, "result")) {
            if (!seen[K_RESULTS] || n_results >= ival[K_RESULTS])
                CK_FAIL("%s:%d: result: more rows than 'results' announced", name, ln);
            struct cgp_stage_result *r = &results[n_results];
            void *out[] = {&r->threshold, &r->reached, &r->generations, &r->fit.err_sum,
                           &r->fit.error, &r->fit.energy_pj, &r->fit.delay_ns,
                           &r->fit.area_um2, &r->fit.gates, &r->fit.depth, &r->fit.active};
            char *rest;
            int bad = parse_fields(v, "diIIddddiii", out, &rest);
            if (bad >= 0 || *rest)
                CK_FAIL("%s:%d: result: field %d: expected 11 non-negative numbers "
                        "(threshold reached generations err_sum error energy delay area gates "
                        "depth active)", name, ln, bad >= 0 ? bad + 1 : 12);
            int stage = n_results % lim->n_thresholds;
            if (r->reached > 1 || r->threshold != lim->thresholds[stage] ||
                r->generations > lim->generations)
                CK_FAIL("%s:%d: result: expected stage %d's threshold %.17g, reached 0|1 and at "
                        "most %" PRId64 " generations", name, ln, stage, lim->thresholds[stage],
                        lim->generations);
            r->fit.costed = 1;
            n_results++;
            continue;
        }
        if (!strcmp(line, "point")) {
            if (!seen[K_PARETO] || n_points >= ival[K_PARETO])
                CK_FAIL("%s:%d: point: more points than 'pareto' announced", name, ln);
            struct cgp_pareto_point *q = &points[n_points];
            void *out[] = {&q->err_sum, &q->error, &q->energy, &q->delay, &q->gates, &q->stage,
                           &q->generation};
            char *rest;
            int bad = parse_fields(v, "Idddii" "I", out, &rest);
            if (bad >= 0 || !*rest || strchr(rest, ' '))
                CK_FAIL("%s:%d: point: field %d: expected err_sum error energy delay gates stage "
                        "generation circuit", name, ln, bad >= 0 ? bad + 1 : 8);
            if (q->stage >= lim->n_thresholds)
                CK_FAIL("%s:%d: point: stage: expected an integer in [0, %d], got %d", name, ln,
                        lim->n_thresholds - 1, q->stage);
            if (!(q->circuit = strdup(rest)))
                CK_FAIL("%s:%d: out of memory", name, ln);
            n_points++;
            continue;
        }
        int k = 0;
        while (k < K_N && strcmp(line, keys[k].name))
            k++;
        if (k == K_N)
            CK_FAIL("%s:%d: unknown key '%.40s'", name, ln, line);
        if (seen[k])
            CK_FAIL("%s:%d: %s: given twice", name, ln, keys[k].name);
        seen[k] = ln;
        struct cgpc_err e = {0};
        const struct ck_key *key = &keys[k];
        if (key->type == CK_STATUS) {
            if (strcmp(v, "running") && strcmp(v, "done"))
                CK_FAIL("%s:%d: status: expected running or done, got '%.40s'", name, ln, v);
            ival[k] = !strcmp(v, "done");
        } else if (key->type == CK_SECONDS) {
            if (cgpc_parse_double(v, 0, 1e12, &dval[k], &e) != CGPC_OK)
                CK_FAIL("%s:%d: %s: expected seconds in [0, 1e12], got '%.40s'", name, ln,
                        key->name, v);
        } else if (k == K_GENES) {
            char *end = v + strcspn(v, " ");
            char save = *end;
            *end = '\0';
            int64_t n;
            if (cgpc_parse_i64(v, 0, INT32_MAX, &n, &e) != CGPC_OK ||
                (n != 0 && n != lim->n_genes))
                CK_FAIL("%s:%d: genes: expected 0 or the %d genes of config.txt's grid, got "
                        "'%.20s' (was config.txt changed after the run started?)", name, ln,
                        lim->n_genes, v);
            *end = save;
            ival[k] = n;
            if (n && !(genes = malloc((size_t)n * sizeof *genes)))
                CK_FAIL("%s:%d: out of memory", name, ln);
            char *p = save ? end + 1 : end;
            for (int64_t i = 0; i < n; i++) {
                char *gend = p + strcspn(p, " ");
                char gsave = *gend;
                *gend = '\0';
                int g;
                if (cgpc_parse_int(p, INT32_MIN, INT32_MAX, &g, &e) != CGPC_OK)
                    CK_FAIL("%s:%d: genes: gene %" PRId64 ": expected an integer, got "
                            "'%.20s'", name, ln, i, p);
                *gend = gsave;
                if ((gsave == '\0') != (i == n - 1))
                    CK_FAIL("%s:%d: genes: expected exactly %" PRId64 " genes", name, ln, n);
                genes[i] = g;
                p = gsave ? gend + 1 : gend;
            }
            if (n == 0 && save)
                CK_FAIL("%s:%d: genes: expected no gene after 'genes 0'", name, ln);
        } else {
            if (cgpc_parse_i64(v, key->min, key->max, &ival[k], &e) != CGPC_OK)
                CK_FAIL("%s:%d: %s: expected an integer in [%" PRId64 ", %" PRId64 "], got "
                        "'%.40s'", name, ln, key->name, key->min, key->max, v);
            /* allocate nothing for rows the file cannot hold */
            if (key->type == CK_COUNT && ival[k] > n_lines)
                CK_FAIL("%s:%d: %s: %" PRId64 " rows announced, the file has %" PRId64 " lines",
                        name, ln, key->name, ival[k], n_lines);
            if (k == K_RESULTS && ival[k] &&
                !(results = calloc((size_t)ival[k], sizeof *results)))
                CK_FAIL("%s:%d: out of memory", name, ln);
            if (k == K_PARETO && ival[k] && !(points = calloc((size_t)ival[k], sizeof *points)))
                CK_FAIL("%s:%d: out of memory", name, ln);
        }
    }
    if (!ended)
        CK_FAIL("%s: truncated: no 'end' line", name);
    for (int k = 0; k < K_N; k++)
        if (!seen[k])
            CK_FAIL("%s: missing '%s'", name, keys[k].name);
    if (n_results != ival[K_RESULTS] || n_points != ival[K_PARETO])
        CK_FAIL("%s: %d result rows and %d points, 'results' and 'pareto' announced %" PRId64
                " and %" PRId64, name, n_results, n_points, ival[K_RESULTS], ival[K_PARETO]);
    ck->done = (int)ival[K_STATUS];
    ck->run = (int)ival[K_RUN];
    ck->stage = (int)ival[K_STAGE];
    ck->started = (int)ival[K_STARTED];
    ck->generation = ival[K_GEN];
    ck->stage_gens = ival[K_SGEN];
    ck->since_improve = ival[K_SINCE];
    ck->journal_bytes = ival[K_JBYTES];
    ck->stage_seconds = dval[K_SSEC];
    ck->run_seconds = dval[K_RSEC];
    /* the position: runs first_run..run-1 and stages 0..stage-1 of run are finished */
    int end_run = lim->first_run + lim->runs;
    int64_t finished = (int64_t)(ck->run - lim->first_run) * lim->n_thresholds + ck->stage;
    if (ck->done && (ck->run != end_run || ck->stage || ck->started))
        CK_FAIL("%s:%d: status done: expected run %d, stage 0, started 0 (every run finished)",
                name, seen[K_STATUS], end_run);
    if (!ck->done && ck->run == end_run)
        CK_FAIL("%s:%d: run: %d is past the last run %d but the status is not done", name,
                seen[K_RUN], ck->run, end_run - 1);
    if (ck->started && ck->stage == lim->n_thresholds)
        CK_FAIL("%s:%d: started: the run's %d stages are all finished, none can be started",
                name, seen[K_STARTED], lim->n_thresholds);
    if (n_results != finished)
        CK_FAIL("%s:%d: results: run %d stage %d has finished %" PRId64 " stages, the checkpoint "
                "holds %d", name, seen[K_RESULTS], ck->run, ck->stage, finished, n_results);
    if (ck->stage_gens > ck->generation || ck->since_improve > ck->stage_gens)
        CK_FAIL("%s:%d: stage-generations: expected since-improve <= stage-generations <= "
                "generation", name, seen[K_SGEN]);
    if (!genes && (ck->started || (ck->stage > 0 && ck->stage < lim->n_thresholds)))
        CK_FAIL("%s:%d: genes: a run inside or between its stages needs the parent's genes",
                name, seen[K_GENES]);
    ck->results = results;
    ck->n_results = n_results;
    ck->points = points;
    ck->n_points = n_points;
    ck->genes = genes;
    ck->n_genes = genes ? lim->n_genes : 0;
    results = NULL;
    points = NULL;
    genes = NULL;
out:
    if (points)
        for (int i = 0; i < n_points; i++)
            free(points[i].circuit);
    free(points);
    free(results);
    free(genes);
    free(copy);
    return st;
}

cgpc_status cgp_checkpoint_load(struct cgp_checkpoint *ck, const char *dir,
                                const struct cgp_checkpoint_limits *lim, struct cgpc_err *err)
{
    char path[4200];
    unsigned char *data = NULL;
    size_t len;
    memset(ck, 0, sizeof *ck);
    cgpc_status st = cgpc_read_file(pathf(path, dir, "checkpoint"), &data, &len, err);
    if (st != CGPC_OK)
        return st;
    if (strlen((char *)data) != len)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected text, found a NUL byte", path);
    else
        st = cgp_checkpoint_parse(ck, (char *)data, path, lim, err);
    free(data);
    return st;
}

/* ---- results.csv ------------------------------------------------------------------------------ */

/* The header of results.csv text at path: the current one, else an error that says whether an
 * older cgpc wrote it. */
static cgpc_status results_header_check(const char *path, const void *data, size_t len,
                                        struct cgpc_err *err)
{
    size_t hl = strlen(CGP_RESULTS_HEADER), v1 = strlen(CGP_RESULTS_HEADER_V1);
    if (len >= hl && !memcmp(data, CGP_RESULTS_HEADER, hl))
        return CGPC_OK;
    if (len >= v1 && !memcmp(data, CGP_RESULTS_HEADER_V1, v1))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: written by an older cgpc (thresholds in the error metric's unit, "
                         "files best.<run>.<metric threshold>.chr); this cgpc names and reports "
                         "thresholds per weight: read or resume the directory with the cgpc "
                         "that wrote it, or train it again", path);
    return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected the header '%.*s'", path, (int)hl - 1,
                     CGP_RESULTS_HEADER);
}

cgpc_status cgp_results_save(const char *dir, const struct cgp_stage_result *rs, int n,
                             int first_run, int n_thresholds, enum cgp_error_kind kind,
                             int64_t cared, struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "results.csv"), err);
    if (st != CGPC_OK)
        return st;
    fputs(CGP_RESULTS_HEADER, af.fp);
    for (int i = 0; i < n; i++) {
        const struct cgp_stage_result *r = &rs[i];
        int run = first_run + i / n_thresholds;
        double pw = cgp_per_weight(kind, r->threshold, cared);
        char best[64];
        cgp_rundir_best_name(best, sizeof best, run, pw);
        fprintf(af.fp, "%d,%.17g,%.17g,%s,%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%d,%d,%d,%s\n",
                run, pw, r->threshold, r->reached ? "yes" : "no", r->generations,
                cgp_per_weight(kind, r->fit.error, cared), r->fit.error, r->fit.energy_pj,
                r->fit.delay_ns, r->fit.area_um2, r->fit.gates, r->fit.depth, r->fit.active, best);
    }
    return cgpc_atomic_close(&af, err);
}

cgpc_status cgp_results_load(const char *dir, struct cgp_result_row **rows, int *n,
                             struct cgpc_err *err)
{
    *rows = NULL;
    *n = 0;
    char path[4200];
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(pathf(path, dir, "results.csv"), &data, &len, err);
    if (st != CGPC_OK)
        return st;
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += data[i] == '\n';
    struct cgp_result_row *out = calloc(cap, sizeof *out);
    if (!out) {
        free(data);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t hl = strlen(CGP_RESULTS_HEADER);
    if ((st = results_header_check(path, data, len, err)) != CGPC_OK)
        goto out;
    int k = 0, line_no = 1;
    char *save = NULL;
    for (char *line = strtok_r((char *)data + hl, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        struct cgp_result_row *r = &out[k];
        char reached[8], want[64], *last = strrchr(line, ',');
        int used = 0;
        if (!last ||
            sscanf(line, "%d,%lf,%lf,%7[^,],%n", &r->run, &r->threshold, &r->threshold_metric,
                   reached, &used) != 4 ||
            used == 0 || r->run < 0 || !isfinite(r->threshold) || !isfinite(r->threshold_metric) ||
            (strcmp(reached, "yes") && strcmp(reached, "no"))) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected run,threshold,threshold_metric,"
                           "reached(yes|no),...,best_file", path, line_no);
            goto out;
        }
        r->reached = !strcmp(reached, "yes");
        cgp_rundir_best_name(want, sizeof want, r->run, r->threshold);
        if (strcmp(last + 1, want)) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: best_file: expected '%s', got '%.60s'",
                           path, line_no, want, last + 1);
            goto out;
        }
        snprintf(r->best_file, sizeof r->best_file, "%s", want);
        k++;
    }
    *rows = out;
    *n = k;
    out = NULL;
out:
    free(out);
    free(data);
    return st;
}

cgpc_status cgp_results_copy(const char *dir, FILE *out, struct cgpc_err *err)
{
    char path[4200];
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(pathf(path, dir, "results.csv"), &data, &len, err);
    if (st != CGPC_OK)
        return st;
    st = results_header_check(path, data, len, err);
    if (st == CGPC_OK && fwrite(data, 1, len, out) != len)
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot copy the results", path);
    free(data);
    return st;
}

/* ---- pareto.<run>.csv, best.<run>.<T>.chr --------------------------------------------------------- */

cgpc_status cgp_pareto_save(const char *dir, int run, const struct cgp_pareto_point *pts, int n,
                            const double *thresholds, enum cgp_error_kind kind, int64_t cared,
                            struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "pareto.%d.csv", run), err);
    if (st != CGPC_OK)
        return st;
    fputs(CGP_PARETO_HEADER, af.fp);
    for (int i = 0; i < n; i++) {
        const struct cgp_pareto_point *q = &pts[i];
        double t = thresholds[q->stage];
        fprintf(af.fp, "%.17g,%.17g,%.17g,%.17g,%d,%.17g,%.17g,%" PRId64 ",%s\n",
                cgp_per_weight(kind, q->error, cared), q->error, q->energy, q->delay, q->gates,
                cgp_per_weight(kind, t, cared), t, q->generation, q->circuit);
    }
    return cgpc_atomic_close(&af, err);
}

cgpc_status cgp_pareto_load_xy(const char *dir, int run, double **xy, int *n,
                               struct cgpc_err *err)
{
    *xy = NULL;
    *n = 0;
    char path[4200];
    pathf(path, dir, "pareto.%d.csv", run);
    if (!cgpc_path_exists(path))
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "%s: no such file", path);
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    size_t hl = strlen(CGP_PARETO_HEADER), cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += data[i] == '\n';
    double *out = malloc(2 * cap * sizeof *out);
    if (!out)
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    else if (len < hl || memcmp(data, CGP_PARETO_HEADER, hl))
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected the header '%.*s'", path,
                       (int)hl - 1, CGP_PARETO_HEADER);
    int k = 0, line_no = 1;
    char *save = NULL;
    for (char *line = st ? NULL : strtok_r((char *)data + hl, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        double metric;
        if (sscanf(line, "%lf,%lf,%lf", &out[2 * k], &metric, &out[2 * k + 1]) != 3 ||
            !isfinite(out[2 * k]) || !isfinite(out[2 * k + 1])) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected error,error_metric,energy_pj,...",
                           path, line_no);
            break;
        }
        k++;
    }
    free(data);
    if (st != CGPC_OK) {
        free(out);
        return st;
    }
    *xy = out;
    *n = k;
    return CGPC_OK;
}

cgpc_status cgp_best_save(const char *dir, int run, double per_weight,
                          const struct cgp_genome *g, const char *comment, struct cgpc_err *err)
{
    char name[64], path[4200];
    cgp_rundir_best_name(name, sizeof name, run, per_weight);
    return cgp_genome_save(g, comment, pathf(path, dir, "%s", name), err);
}

cgpc_status cgp_best_load(const char *dir, const struct cgp_result_row *row,
                          struct cgp_genome *g, struct cgpc_err *err)
{
    char path[4200];
    return cgp_genome_load(g, pathf(path, dir, "%s", row->best_file), err);
}

/* ---- slots.txt ------------------------------------------------------------------------------- */

cgpc_status cgp_slots_save(const char *dir, const int32_t *slot_of, int n_outputs, int n_slots,
                           struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "slots.txt"), err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp, CGP_SLOTS_MAGIC "\n# value-slot mode: output o is wired to slot map[o]\n"
            "outputs %d\nslots %d\nmap", n_outputs, n_slots);
    for (int o = 0; o < n_outputs; o++)
        fprintf(af.fp, " %d", slot_of[o]);
    fprintf(af.fp, "\n");
    return cgpc_atomic_close(&af, err);
}

/* The value of line "key V" (not a comment mentioning it), or NULL. */
static char *line_value(char *text, const char *key)
{
    size_t kl = strlen(key);
    for (char *line = text; line && *line;) {
        if (!strncmp(line, key, kl) && line[kl] == ' ')
            return line + kl + 1;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}

cgpc_status cgp_slots_load(const char *dir, int n_outputs, int32_t **slot_of,
                           struct cgpc_err *err)
{
    *slot_of = NULL;
    char path[4200];
    if (!cgpc_path_exists(pathf(path, dir, "slots.txt")))
        return CGPC_OK;
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    char *t = (char *)data;
    int32_t *map = malloc(((size_t)n_outputs + 1) * sizeof *map);
    char *vo = line_value(t, "outputs"), *vs = line_value(t, "slots"), *p = line_value(t, "map");
    long outputs = vo ? strtol(vo, NULL, 10) : -1, slots = vs ? strtol(vs, NULL, 10) : -1;
    int m = 0;
    if (!map)
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    else if (strncmp(t, CGP_SLOTS_MAGIC "\n", strlen(CGP_SLOTS_MAGIC) + 1))
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected '" CGP_SLOTS_MAGIC "'", path);
    else if (outputs != n_outputs || slots < 1 || slots > n_outputs || !p)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected 'outputs %d', 'slots K' with K in "
                       "[1, %d] and a 'map' line", path, n_outputs, n_outputs);
    while (st == CGPC_OK && m < n_outputs) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= slots)
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: map: entry %d: expected a slot in [0, %ld)",
                           path, m, slots);
        map[m++] = (int32_t)v;
        p = end;
    }
    if (st == CGPC_OK && strspn(p, " \r") != strcspn(p, "\n"))
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: map: expected exactly %d entries", path,
                       n_outputs);
    free(data);
    if (st != CGPC_OK) {
        free(map);
        return st;
    }
    *slot_of = map;
    return CGPC_OK;
}

/* ---- statistics journal ------------------------------------------------------------------------ */

int cgp_stats_write_row(FILE *fp, const struct cgp_stats_row *r)
{
    const struct cgp_fitness *f = r->fit;
    return fprintf(fp,
                   "%d,%.17g,%" PRId64 ",%.3f,%.17g,%.17g,%.17g,%.17g,%d,%d,%.17g,%.17g,\"%s\"\n",
                   r->run, r->threshold, r->generation, r->seconds, r->error, f->energy_pj,
                   f->delay_ns, f->area_um2, f->gates, f->depth, r->threshold_metric, f->error,
                   r->circuit);
}

int cgp_stats_exists(const char *dir, int run, int part)
{
    char p[4200];
    return cgpc_path_exists(pathf(p, dir, "statistics.%d.csv.%s", run, part ? "part" : "gz"));
}

cgpc_status cgp_stats_open(const char *dir, int run, int64_t keep_bytes, FILE **fp,
                           int64_t *bytes, struct cgpc_err *err)
{
    char path[4200];
    pathf(path, dir, "statistics.%d.csv.part", run);
    if (keep_bytes > 0) {
        struct stat sb;
        if (stat(path, &sb) != 0 || sb.st_size < keep_bytes || truncate(path, keep_bytes) != 0)
            return CGPC_FAIL(err, CGPC_ERR_IO, "%s: missing or shorter than the checkpointed %"
                             PRId64 " bytes: the directory is not resumable", path, keep_bytes);
        *fp = fopen(path, "ab");
    } else {
        *fp = fopen(path, "wb");
        if (*fp)
            fputs(CGP_STATS_HEADER, *fp);
    }
    if (!*fp || fflush(*fp) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open the statistics journal", path);
    *bytes = keep_bytes > 0 ? keep_bytes : (int64_t)strlen(CGP_STATS_HEADER);
    return CGPC_OK;
}

cgpc_status cgp_stats_finish(const char *dir, int run, struct cgpc_err *err)
{
    char part[4200], gzp[4200], tmp[4300];
    pathf(part, dir, "statistics.%d.csv.part", run);
    pathf(gzp, dir, "statistics.%d.csv.gz", run);
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
    st = cgpc_atomic_commit(tmp, gzp, err);
out:
    free(data);
    return st;
}

void cgp_stats_drop_journal(const char *dir, int run)
{
    char part[4200];
    if (cgp_stats_exists(dir, run, 0))
        unlink(pathf(part, dir, "statistics.%d.csv.part", run));
}

/* v2 rows with their deltas replayed: "fields,full circuit" lines in one buffer. */
struct stats_lines {
    char *buf;
    size_t len, cap;
    size_t *start;
    int n, cap_rows;
    int oom;
};

static int stats_line_add(void *user, const char *fields, int run, double threshold,
                          int64_t generation, const char *circuit)
{
    (void)run, (void)threshold, (void)generation;
    struct stats_lines *l = user;
    size_t fl = strlen(fields), cl = strlen(circuit), need = l->len + fl + cl + 2;
    if (need > l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1 << 16;
        while (cap < need)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (!b)
            return l->oom = 1;
        l->buf = b;
        l->cap = cap;
    }
    if (l->n == l->cap_rows) {
        int cap = l->cap_rows ? 2 * l->cap_rows : 256;
        size_t *st = realloc(l->start, (size_t)cap * sizeof *st);
        if (!st)
            return l->oom = 1;
        l->start = st;
        l->cap_rows = cap;
    }
    l->start[l->n++] = l->len;
    memcpy(l->buf + l->len, fields, fl);
    l->buf[l->len + fl] = ',';
    memcpy(l->buf + l->len + fl + 1, circuit, cl + 1);
    l->len = need;
    return 0;
}

static cgpc_status stats_decode(struct cgp_stats *s, const char *path, struct cgpc_err *err)
{
    struct stats_lines l = {0};
    cgpc_status st = cgp_journal_read(s->data, path, stats_line_add, &l, err);
    if (st == CGPC_OK && !(s->lines = calloc((size_t)l.n + 1, sizeof *s->lines)))
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    if (st == CGPC_OK && l.oom)
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; st == CGPC_OK && i < l.n; i++)
        s->lines[i] = l.buf + l.start[i];
    s->n_lines = st == CGPC_OK ? l.n : 0;
    free(s->data);
    s->data = l.buf;
    free(l.start);
    if (st != CGPC_OK)
        cgp_stats_free(s);
    return st;
}

cgpc_status cgp_stats_load(const char *dir, int run, struct cgp_stats *s, struct cgpc_err *err)
{
    memset(s, 0, sizeof *s);
    char path[4200];
    pathf(path, dir, "statistics.%d.csv.gz", run);
    if (!cgpc_path_exists(path))
        pathf(path, dir, "statistics.%d.csv.part", run);
    size_t len;
    unsigned char *data;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    s->data = (char *)data;
    int version = cgp_journal_version(s->data);
    s->version = version;
    if (version == CGP_JOURNAL_VERSION || version > CGP_JOURNAL_VERSION || version < 0)
        return stats_decode(s, path, err); /* newer or unnamed: refused there, with the reason */
    cgp_stats_free(s);
    return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: a statistics v%d journal (thresholds in the "
                     "metric's unit): an older cgpc wrote it; this cgpc reads v%d", path,
                     version, CGP_JOURNAL_VERSION);
}

void cgp_stats_free(struct cgp_stats *s)
{
    if (!s)
        return;
    free(s->data);
    free(s->lines);
    memset(s, 0, sizeof *s);
}

int cgp_stats_parse_row(const char *line, int *run, double *threshold, int64_t *generation,
                        const char **circuit)
{
    long long gen;
    if (sscanf(line, "%d,%lf,%lld", run, threshold, &gen) != 3 || gen < 0 || *run < 0 ||
        !isfinite(*threshold))
        return 0;
    *generation = gen;
    const char *token = line;
    for (int f = 0; f < CGP_JOURNAL_FIELDS(CGP_JOURNAL_VERSION) && token; f++) {
        token = strchr(token, ',');
        token = token ? token + 1 : NULL;
    }
    if (!token || !*token)
        return 0;
    *circuit = token;
    return 1;
}

/* ---- data.txt ------------------------------------------------------------------------------------ */

cgpc_status cgp_data_save(const char *dir, const struct cgp_dataset *ds, struct cgpc_err *err)
{
    char path[4200];
    return cgp_dataset_save(ds, pathf(path, dir, "data.txt"), err);
}

cgpc_status cgp_data_load(const char *dir, struct cgp_dataset *ds, struct cgpc_err *err)
{
    char path[4200];
    return cgp_dataset_load(ds, pathf(path, dir, "data.txt"), err);
}

cgpc_status cgp_data_check_same(const char *dir, const struct cgp_dataset *ds,
                                struct cgpc_err *err)
{
    struct cgp_dataset dd = {0};
    char path[4200];
    pathf(path, dir, "data.txt");
    cgpc_status st = cgp_data_load(dir, &dd, err);
    if (st != CGPC_OK)
        return st;
    if (dd.n_inputs != ds->n_inputs || dd.n_outputs != ds->n_outputs || dd.n_items != ds->n_items) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: the circuits were evolved on %d inputs -> %d "
                       "outputs over %d items, the data set is now %d -> %d over %d", path,
                       dd.n_inputs, dd.n_outputs, dd.n_items, ds->n_inputs, ds->n_outputs,
                       ds->n_items);
        goto out;
    }
    for (int d = 0; d < ds->n_items && st == CGPC_OK; d++) {
        for (int i = 0; i < ds->n_inputs && st == CGPC_OK; i++)
            if (dd.in[(size_t)i * dd.stride + d] != ds->in[(size_t)i * ds->stride + d])
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: item %d, input %d differs from the "
                               "data set now selected", path, d, i);
        for (int o = 0; o < ds->n_outputs && st == CGPC_OK; o++) {
            size_t a = (size_t)o * dd.stride + d, b = (size_t)o * ds->stride + d;
            if (dd.care[a] != ds->care[b] || (ds->care[b] && dd.target[a] != ds->target[b]))
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: item %d, output %d differs from the "
                               "data set now selected", path, d, o);
        }
    }
out:
    cgp_dataset_free(&dd);
    return st;
}

/* ---- model.txt, experiment.exp -------------------------------------------------------------------- */

cgpc_status cgp_model_record_save(const char *dir, const char *model_path, uint64_t fingerprint,
                                  struct cgpc_err *err)
{
    char path[4200];
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, pathf(path, dir, "model.txt"), err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp, CGP_MODEL_RECORD_MAGIC "\npath %s\nfnv1a64 %016" PRIx64 "\n", model_path,
            fingerprint);
    return cgpc_atomic_close(&af, err);
}

cgpc_status cgp_model_record_load(const char *dir, char *model_path, size_t cap,
                                  uint64_t *fingerprint, struct cgpc_err *err)
{
    char path[4200];
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(pathf(path, dir, "model.txt"), &data, &len, err);
    if (st != CGPC_OK)
        return st;
    char *t = (char *)data, *vp = line_value(t, "path"), *vf = line_value(t, "fnv1a64");
    char *end = NULL;
    if (vf)
        *fingerprint = strtoull(vf, &end, 16);
    if (strncmp(t, CGP_MODEL_RECORD_MAGIC "\n", strlen(CGP_MODEL_RECORD_MAGIC) + 1))
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected '" CGP_MODEL_RECORD_MAGIC "'", path);
    else if (!vp || !vf || end != vf + 16 || (*end && *end != '\n'))
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected 'path P' and 'fnv1a64 H' (16 hex "
                       "digits)", path);
    else
        snprintf(model_path, cap, "%.*s", (int)strcspn(vp, "\n"), vp);
    free(data);
    return st;
}

cgpc_status cgp_experiment_copy_save(const char *dir, const char *text, struct cgpc_err *err)
{
    char path[4200];
    return cgpc_write_file_atomic(pathf(path, dir, "experiment.exp"), text, strlen(text), err);
}

void cgp_experiment_copy_path(char *buf, size_t cap, const char *dir)
{
    snprintf(buf, cap, "%s/experiment.exp", dir);
}

/* ---- merge ------------------------------------------------------------------------------------- */

/* One part's per-run files and its results rows (appended to *results). */
static cgpc_status merge_part(const struct cgp_rundir_part *part, const char *out,
                              char **results, size_t *results_len, struct cgpc_err *err)
{
    DIR *d = opendir(part->dir);
    if (!d)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open", part->dir);
    cgpc_status st = CGPC_OK;
    struct dirent *e;
    char from[4200], to[4200];
    while (st == CGPC_OK && (e = readdir(d))) {
        int r = cgp_rundir_run_of_file(e->d_name);
        if (r < part->first_run || r >= part->first_run + part->count)
            continue;
        st = cgpc_copy_file_raw(pathf(from, part->dir, "%s", e->d_name), pathf(to, out, "%s", e->d_name),
                      err);
    }
    closedir(d);
    if (st != CGPC_OK)
        return st;
    char *text;
    size_t len;
    if ((st = cgpc_read_file_raw(pathf(from, part->dir, "results.csv"), &text, &len, err)) != CGPC_OK)
        return st;
    size_t hl = strlen(CGP_RESULTS_HEADER);
    if ((st = results_header_check(from, text, len, err)) != CGPC_OK) {
        free(text);
        return st;
    }
    const char *take = *results ? text + hl : text;
    size_t tl = strlen(take);
    char *grown = realloc(*results, *results_len + tl + 1);
    if (!grown) {
        free(text);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", from);
    }
    memcpy(grown + *results_len, take, tl + 1);
    *results = grown;
    *results_len += tl;
    free(text);
    return CGPC_OK;
}

cgpc_status cgp_rundir_merge(const struct cgp_rundir_part *parts, int n, const char *out,
                             int runs, int first_run, struct cgpc_err *err)
{
    char *results = NULL;
    size_t results_len = 0;
    char from[4200], to[4200];
    struct cgpc_dir_lock out_lock = {0}, part_lock = {0}; /* writer of out, reader of a part */
    cgpc_status s = n > 0 ? cgpc_dir_lock_writer(&out_lock, out, 1, err)
                          : CGPC_FAIL(err, CGPC_ERR_ARG, "%s: nothing to merge", out);
    for (int b = 0; s == CGPC_OK && b < n; b++) {
        cgpc_dir_unlock(&part_lock);
        if ((s = cgpc_dir_lock_reader(&part_lock, parts[b].dir, err)) == CGPC_OK)
            s = merge_part(&parts[b], out, &results, &results_len, err);
    }
    cgpc_dir_unlock(&part_lock);
    for (int i = 0; s == CGPC_OK && cgp_rundir_shared_files[i]; i++) {
        pathf(from, parts[0].dir, "%s", cgp_rundir_shared_files[i]);
        if (!strcmp(cgp_rundir_shared_files[i], "slots.txt") && !cgpc_path_exists(from))
            continue;
        s = cgpc_copy_file_raw(from, pathf(to, out, "%s", cgp_rundir_shared_files[i]), err);
    }
    for (int b = 1; s == CGPC_OK && b < n; b++) {
        char *x = NULL, *y = NULL;
        size_t lx, ly;
        pathf(from, parts[0].dir, "model.txt");
        pathf(to, parts[b].dir, "model.txt");
        if ((s = cgpc_read_file_raw(from, &x, &lx, err)) == CGPC_OK &&
            (s = cgpc_read_file_raw(to, &y, &ly, err)) == CGPC_OK && strcmp(x, y))
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s differs from %s: the parts did not use the "
                          "same model file", to, from);
        free(x);
        free(y);
    }
    /* config.txt: part 0's with the whole run's runs and first-run; every part the same run */
    struct cgp_params p0, pb;
    if (s == CGPC_OK)
        s = cgp_config_load(parts[0].dir, &p0, err);
    for (int b = 1; s == CGPC_OK && b < n; b++) {
        if ((s = cgp_config_load(parts[b].dir, &pb, err)) != CGPC_OK)
            break;
        pb.runs = p0.runs;
        pb.first_run = p0.first_run;
        char a_txt[256], b_txt[256];
        int k = cgp_params_diff(&p0, &pb, a_txt, b_txt, sizeof a_txt);
        if (k >= 0)
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s/config.txt: %s is %s, part 0 has %s: the "
                          "parts are not one run", parts[b].dir, cgp_param_table[k].name, b_txt,
                          a_txt);
    }
    p0.runs = runs;
    p0.first_run = first_run;
    if (s == CGPC_OK)
        s = cgp_config_save(out, &p0, err);
    if (s == CGPC_OK)
        s = cgpc_write_file_atomic(pathf(to, out, "results.csv"), results, results_len, err);
    cgpc_dir_unlock(&out_lock);
    free(results);
    return s;
}
