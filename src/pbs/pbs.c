/* pbs.c - job directory settings, batch planning, template rendering and batch status. */
#include "pbs/pbs.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"
#include "common/fileio.h"
#include "common/parse.h"

void pbs_job_defaults(struct pbs_job *job)
{
    memset(job, 0, sizeof *job);
    snprintf(job->name, sizeof job->name, "cgpc");
    snprintf(job->template_name, sizeof job->template_name, "default");
    job->runs = 1;
    job->batches = 1;
    job->walltime_s = 48 * 3600.0;
    job->margin_s = pbs_default_margin(job->walltime_s);
    snprintf(job->mem, sizeof job->mem, "500mb");
    job->ncpus = 1;
}

double pbs_default_margin(double walltime_s)
{
    double m = 0.1 * walltime_s;
    if (m < 60)
        m = 60;
    if (m > 600)
        m = 600;
    if (m > walltime_s / 2)
        m = walltime_s / 2;
    return m;
}

void pbs_batch_runs(const struct pbs_job *job, int b, int *first, int *count)
{
    int64_t lo = (int64_t)b * job->runs / job->batches;
    int64_t hi = (int64_t)(b + 1) * job->runs / job->batches;
    *first = job->first_run + (int)lo;
    *count = (int)(hi - lo);
}

/* "500mb", "20gb", "1024kb", "2tb", "100b", "4096" (bytes): PBS size syntax. */
static int valid_size(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    if (!*s)
        return 1;
    static const char *const units[] = {"b", "kb", "mb", "gb", "tb", "w", "kw", "mw", "gw"};
    char lower[8] = {0};
    size_t n = strlen(s);
    if (n >= sizeof lower)
        return 0;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)s[i]);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(lower, units[i]) == 0)
            return 1;
    return 0;
}

/* Letters, digits and ._- only: safe inside #PBS lines and file names. */
static int valid_word(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

cgpc_status pbs_job_check(const struct pbs_job *job, struct cgpc_err *err)
{
    if (job->runs < 1)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "runs must be at least 1, not %d", job->runs);
    if (job->batches < 1 || job->batches > job->runs)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--batches %d: must be in 1..%d (the run count)",
                         job->batches, job->runs);
    if (!(job->walltime_s > 0))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--time-limit must be positive");
    if (!(job->margin_s >= 0) || job->margin_s >= job->walltime_s)
        return CGPC_FAIL(err, CGPC_ERR_ARG,
                         "--margin %gs leaves no time within the walltime of %gs", job->margin_s,
                         job->walltime_s);
    if (!valid_size(job->mem))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--mem '%s': expected a size like 500mb or 4gb",
                         job->mem);
    if (job->scratch[0] && !valid_size(job->scratch))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--scratch '%s': expected a size like 20gb",
                         job->scratch);
    if (job->ncpus < 1)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--ncpus must be at least 1");
    if (!job->name[0] || !valid_word(job->name))
        return CGPC_FAIL(err, CGPC_ERR_ARG,
                         "job name '%s': use letters, digits, '.', '_' and '-' only", job->name);
    if (!valid_word(job->queue))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--queue '%s': not a queue name", job->queue);
    return CGPC_OK;
}

void pbs_format_walltime(double seconds, char *buf, int cap)
{
    long s = (long)ceil(seconds);
    snprintf(buf, (size_t)cap, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

cgpc_status pbs_job_save(const struct pbs_job *job, const char *dir, struct cgpc_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pbs.conf", dir);
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st != CGPC_OK)
        return st;
    fprintf(af.fp,
            "%s %d\n"
            "name = %s\ncgpc = %s\ntemplate = %s\nruns = %d\nbatches = %d\nfirst_run = %d\n"
            "walltime_s = %.17g\nmargin_s = %.17g\nmem = %s\nscratch = %s\nncpus = %d\n"
            "queue = %s\n",
            PBS_CONF_MAGIC, PBS_CONF_VERSION, job->name, job->cgpc, job->template_name,
            job->runs, job->batches, job->first_run, job->walltime_s, job->margin_s, job->mem,
            job->scratch, job->ncpus, job->queue);
    return cgpc_atomic_close(&af, err);
}

static cgpc_status set_conf_key(struct pbs_job *job, const char *key, const char *value,
                                const char *where, struct cgpc_err *err)
{
    /* integers are bounded like the options that set them: a file cannot ask for more */
    struct { const char *key; char *str; size_t cap; int *i; double *d; int max; } fields[] = {
        {"name", job->name, sizeof job->name, NULL, NULL, 0},
        {"cgpc", job->cgpc, sizeof job->cgpc, NULL, NULL, 0},
        {"template", job->template_name, sizeof job->template_name, NULL, NULL, 0},
        {"mem", job->mem, sizeof job->mem, NULL, NULL, 0},
        {"scratch", job->scratch, sizeof job->scratch, NULL, NULL, 0},
        {"queue", job->queue, sizeof job->queue, NULL, NULL, 0},
        {"runs", NULL, 0, &job->runs, NULL, PBS_MAX_RUNS},
        {"batches", NULL, 0, &job->batches, NULL, PBS_MAX_BATCHES},
        {"first_run", NULL, 0, &job->first_run, NULL, PBS_MAX_RUNS},
        {"ncpus", NULL, 0, &job->ncpus, NULL, 4096},
        {"walltime_s", NULL, 0, NULL, &job->walltime_s, 0},
        {"margin_s", NULL, 0, NULL, &job->margin_s, 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].key, key) != 0)
            continue;
        struct cgpc_err sub = {0};
        if (fields[i].str) {
            if (strlen(value) >= fields[i].cap)
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %s too long", where, key);
            snprintf(fields[i].str, fields[i].cap, "%s", value);
        } else if (fields[i].i) {
            if (cgpc_parse_int(value, 0, fields[i].max, fields[i].i, &sub) != CGPC_OK)
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %s: %s", where, key, sub.msg);
        } else if (cgpc_parse_double(value, 0, 1e12, fields[i].d, &sub) != CGPC_OK) {
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %s: %s", where, key, sub.msg);
        }
        return CGPC_OK;
    }
    return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: unknown key '%s'", where, key);
}

cgpc_status pbs_job_load(struct pbs_job *job, const char *dir, struct cgpc_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pbs.conf", dir);
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file_max(path, PBS_MAX_FILE, &data, &len, err);
    if (st != CGPC_OK) {
        cgpc_err_prefix(err, "%s is not a cgpc pbs job directory", dir);
        return st;
    }
    st = pbs_job_parse(job, (char *)data, path, err);
    free(data);
    return st;
}

cgpc_status pbs_job_parse(struct pbs_job *job, char *data, const char *path,
                          struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    pbs_job_defaults(job);
    int line_no = 0;
    char *p = (char *)data;
    while (p && *p && st == CGPC_OK) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line_no++;
        char *line = cgpc_trim(p);
        p = nl ? nl + 1 : NULL;
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", path, line_no);
        if (line_no == 1) {
            char magic[32];
            int version = 0;
            if (sscanf(line, "%31s %d", magic, &version) != 2 || strcmp(magic, PBS_CONF_MAGIC) ||
                version != PBS_CONF_VERSION)
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                               "%s: expected '%s %d' (made by another cgpc version?)", where,
                               PBS_CONF_MAGIC, PBS_CONF_VERSION);
            continue;
        }
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected 'key = value'", where);
            break;
        }
        *eq = '\0';
        st = set_conf_key(job, cgpc_trim(line), cgpc_trim(eq + 1), where, err);
    }
    if (st == CGPC_OK && line_no == 0)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: empty file", path);
    if (st == CGPC_OK && (st = pbs_job_check(job, err)) != CGPC_OK)
        cgpc_err_prefix(err, "%s", path);
    return st;
}

const char *const pbs_template_keys[][2] = {
    {"JOB_NAME", "job name (#PBS -N)"},
    {"WALLTIME", "requested walltime, HH:MM:SS"},
    {"NCPUS", "cores per batch"},
    {"MEM", "memory per batch, e.g. 500mb (keep mem= last on a select line)"},
    {"SCRATCH", "scratch size, e.g. 20gb (empty when --scratch is not given)"},
    {"SCRATCH_SELECT", "':scratch_local=<size>' or empty"},
    {"QUEUE_DIRECTIVE", "'#PBS -q <queue>' or empty"},
    {"JOB_DIR", "absolute path of the job directory"},
    {"CGPC", "absolute path of the cgpc binary"},
    {"BATCHES", "number of batches (array size)"},
    {"LAST_BATCH", "BATCHES - 1, for array ranges 0-LAST_BATCH"},
    {NULL, NULL},
};

static const char *template_value(const char *key, const struct pbs_job *job, const char *dir,
                                  char *buf, size_t cap)
{
    if (!strcmp(key, "JOB_NAME"))
        return job->name;
    if (!strcmp(key, "WALLTIME")) {
        pbs_format_walltime(job->walltime_s, buf, (int)cap);
        return buf;
    }
    if (!strcmp(key, "NCPUS"))
        return snprintf(buf, cap, "%d", job->ncpus), buf;
    if (!strcmp(key, "MEM"))
        return job->mem;
    if (!strcmp(key, "SCRATCH"))
        return job->scratch;
    if (!strcmp(key, "SCRATCH_SELECT"))
        return job->scratch[0] ? (snprintf(buf, cap, ":scratch_local=%s", job->scratch), buf) : "";
    if (!strcmp(key, "QUEUE_DIRECTIVE"))
        return job->queue[0] ? (snprintf(buf, cap, "#PBS -q %s", job->queue), buf) : "";
    if (!strcmp(key, "JOB_DIR"))
        return dir;
    if (!strcmp(key, "CGPC"))
        return job->cgpc;
    if (!strcmp(key, "BATCHES"))
        return snprintf(buf, cap, "%d", job->batches), buf;
    if (!strcmp(key, "LAST_BATCH"))
        return snprintf(buf, cap, "%d", job->batches - 1), buf;
    return NULL;
}

cgpc_status pbs_template_render(const char *text, const char *name, const struct pbs_job *job,
                                const char *dir, char **out, struct cgpc_err *err)
{
    *out = NULL;
    size_t cap = strlen(text) + 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", name);
    int line = 1;
    for (const char *p = text; *p;) {
        const char *piece;
        size_t piece_len;
        char value_buf[1200];
        if (p[0] == '{' && p[1] == '{') {
            const char *close = strstr(p + 2, "}}");
            const char *nl = strchr(p, '\n');
            if (!close || (nl && nl < close)) {
                free(buf);
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: '{{' without '}}' on the line",
                                 name, line);
            }
            char key[64];
            size_t klen = (size_t)(close - (p + 2));
            if (klen >= sizeof key) {
                free(buf);
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: placeholder too long", name, line);
            }
            memcpy(key, p + 2, klen);
            key[klen] = '\0';
            piece = template_value(cgpc_trim(key), job, dir, value_buf, sizeof value_buf);
            if (!piece) {
                free(buf);
                return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                                 "%s:%d: unknown placeholder '{{%s}}' (see 'cgpc help pbs')", name,
                                 line, key);
            }
            piece_len = strlen(piece);
            p = close + 2;
        } else {
            piece = p;
            piece_len = 1;
            line += *p == '\n';
            p++;
        }
        if (n + piece_len + 1 > cap) {
            cap = 2 * (n + piece_len + 1);
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", name);
            }
            buf = grown;
        }
        memcpy(buf + n, piece, piece_len);
        n += piece_len;
    }
    buf[n] = '\0';
    *out = buf;
    return CGPC_OK;
}

const char *pbs_state_name(enum pbs_batch_state s)
{
    switch (s) {
    case PBS_NOT_STARTED: return "queued";
    case PBS_RUNNING: return "running";
    case PBS_DONE: return "done";
    case PBS_UNFINISHED: return "unfinished";
    case PBS_FAILED: return "failed";
    }
    return "?";
}

/* Last `lines` lines of a file into buf (empty if unreadable); reads only the file's end. */
static void tail_file(const char *path, int lines, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return;
    unsigned char data[8192];
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        if (size > (long)sizeof data)
            (void)fseek(fp, size - (long)sizeof data, SEEK_SET);
        else
            rewind(fp);
    }
    size_t len = fread(data, 1, sizeof data, fp);
    fclose(fp);
    size_t start = len;
    int seen = 0;
    while (start > 0) {
        if (data[start - 1] == '\n' && start != len && ++seen >= lines)
            break;
        start--;
    }
    size_t take = len - start;
    if (take >= cap) {
        start = len - (cap - 1);
        take = cap - 1;
    }
    memcpy(buf, data + start, take);
    buf[take] = '\0';
}

cgpc_status pbs_batch_status(const char *dir, const struct pbs_job *job, int b, int64_t now,
                             struct pbs_batch_status *st, struct cgpc_err *err)
{
    memset(st, 0, sizeof *st);
    if (b < 0 || b >= job->batches)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "batch %d: the job has batches 0..%d", b,
                         job->batches - 1);
    pbs_batch_runs(job, b, &st->first_run, &st->count);
    char path[4200];
    snprintf(path, sizeof path, "%s/batches/%d/state", dir, b);
    unsigned char *data;
    size_t len;
    if (!cgpc_path_exists(path)) {
        st->state = PBS_NOT_STARTED;
        return CGPC_OK;
    }
    cgpc_status s = cgpc_read_file_max(path, PBS_MAX_FILE, &data, &len, err);
    if (s != CGPC_OK)
        return s;
    char out[4200], log[4200];
    snprintf(out, sizeof out, "%s/batches/%d/out", dir, b); /* the batch's run directory */
    snprintf(log, sizeof log, "%s/batches/%d/log", dir, b);
    s = pbs_state_parse((char *)data, path, job, now, cgp_rundir_has_checkpoint(out), st, err);
    free(data);
    if (s == CGPC_OK && st->state == PBS_FAILED)
        tail_file(log, 5, st->log_tail, sizeof st->log_tail);
    return s;
}

cgpc_status pbs_state_parse(const char *text, const char *path, const struct pbs_job *job,
                            int64_t now, int has_checkpoint, struct pbs_batch_status *st,
                            struct cgpc_err *err)
{
    char word[32] = "";
    long long a = 0;
    char jobid[64] = "", host[128] = "";
    int fields = sscanf(text, "%31s %lld %63s %127s", word, &a, jobid, host);
    int timed = fields >= 2 && (!strcmp(word, "running") || !strcmp(word, "submitted"));
    /* an epoch from the future (clock skew between nodes) counts as now; one before 1970 or
     * more than a day ahead is not a time this file can hold */
    if (timed && (a < 0 || a > now + 86400))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %s at epoch %lld: not a plausible time",
                         path, word, a);
    if (timed && a > now)
        a = now;
    if (fields >= 1 && strcmp(word, "done") == 0) {
        st->state = PBS_DONE;
    } else if (fields >= 1 && strcmp(word, "unfinished") == 0) {
        st->state = PBS_UNFINISHED;
        snprintf(st->detail, sizeof st->detail, "stopped before the end; has a checkpoint");
    } else if (fields >= 2 && strcmp(word, "submitted") == 0) {
        /* written by `cgpc pbs resubmit`; the job has not started yet */
        st->state = PBS_NOT_STARTED;
        snprintf(st->jobid, sizeof st->jobid, "%s", jobid);
        snprintf(st->detail, sizeof st->detail, "resubmitted %llds ago as %s", (long long)(now - a),
                 jobid[0] ? jobid : "?");
    } else if (fields >= 1 && strcmp(word, "failed") == 0) {
        st->state = PBS_FAILED;
        snprintf(st->detail, sizeof st->detail, "exit %lld", a);
    } else if (fields >= 2 && strcmp(word, "running") == 0) {
        st->started = a;
        snprintf(st->jobid, sizeof st->jobid, "%s", jobid);
        if (now - a > (int64_t)job->walltime_s + 300) {
            /* Past its walltime: killed without a chance to record why. */
            st->state = has_checkpoint ? PBS_UNFINISHED : PBS_FAILED;
            snprintf(st->detail, sizeof st->detail,
                     "started %llds ago, past the walltime with no final state (killed?)%s",
                     (long long)(now - a), has_checkpoint ? "; has a checkpoint" : "");
        } else {
            st->state = PBS_RUNNING;
            snprintf(st->detail, sizeof st->detail, "for %llds on %s", (long long)(now - a),
                     host[0] ? host : "?");
        }
    } else {
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: unreadable state line (expected running EPOCH JOBID HOST, done, "
                         "unfinished, failed RC or submitted EPOCH JOBID)", path);
    }
    return CGPC_OK;
}

int pbs_job_equal(const struct pbs_job *a, const struct pbs_job *b)
{
    return !strcmp(a->name, b->name) && !strcmp(a->cgpc, b->cgpc) &&
           !strcmp(a->template_name, b->template_name) && a->runs == b->runs &&
           a->batches == b->batches && a->first_run == b->first_run &&
           a->walltime_s == b->walltime_s && a->margin_s == b->margin_s &&
           !strcmp(a->mem, b->mem) && !strcmp(a->scratch, b->scratch) && a->ncpus == b->ncpus &&
           !strcmp(a->queue, b->queue);
}

int pbs_array_args(enum pbs_flavour flavour, int batches, char *flag, char *range, int cap)
{
    if (batches <= 1)
        return 0;
    snprintf(flag, (size_t)cap, "%s", flavour == PBS_FLAVOUR_PRO ? "-J" : "-t");
    snprintf(range, (size_t)cap, "0-%d", batches - 1);
    return 2;
}

cgpc_status pbs_batch_script(const char *job_script, const char *name, int b, char **out,
                             struct cgpc_err *err)
{
    *out = NULL;
    /* after the last "#PBS" line of the leading comment block (directives after the first
     * command are ignored by qsub), else after the "#!" line, else first */
    size_t at = 0;
    int line = 0;
    for (const char *p = job_script; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        line++;
        if (!strncmp(p, "#PBS", 4) || (line == 1 && !strncmp(p, "#!", 2)))
            at = (size_t)(p - job_script) + len;
        else if (p[0] != '#' && strspn(p, " \t\r\n") != len)
            break; /* first command */
        p += len;
    }
    if (at > 0 && job_script[at - 1] != '\n')
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: no command after the #PBS lines", name);
    char insert[96];
    int n = snprintf(insert, sizeof insert,
                     "# cgpc pbs resubmit: batch %d alone\nexport CGPC_BATCH=%d\n", b, b);
    size_t total = strlen(job_script) + (size_t)n + 1;
    char *buf = malloc(total);
    if (!buf)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", name);
    memcpy(buf, job_script, at);
    memcpy(buf + at, insert, (size_t)n);
    strcpy(buf + at + n, job_script + at);
    *out = buf;
    return CGPC_OK;
}
