/* jobctl.c - generate, submit, status, resubmit and merge of a PBS job directory (see
 * jobctl.h); qsub behind struct pbs_scheduler. */
#include "pbs/jobctl.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/parse.h"

/* ---- small file helpers -------------------------------------------------------------------- */

static cgpc_status write_text(const char *path, const char *text, int executable,
                              struct cgpc_err *err)
{
    cgpc_status st = cgpc_write_file_atomic(path, text, strlen(text), err);
    if (st == CGPC_OK && executable && chmod(path, 0755) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: chmod failed", path);
    return st;
}

/* Append one line to DIR/submissions.log (rewritten atomically). */
static cgpc_status log_submission(const char *dir, const char *batches, const char *jobid,
                                  const char *script, struct cgpc_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/submissions.log", dir);
    char *old = NULL;
    size_t len = 0;
    if (cgpc_path_exists(path) && cgpc_read_file_raw(path, &old, &len, err) != CGPC_OK)
        return err ? err->code : CGPC_ERR_IO;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char line[1024];
    int n = snprintf(line, sizeof line, "%s batches %s job %s script %s\n", stamp, batches, jobid,
                     script);
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    char *all = malloc(len + (size_t)n + 1);
    if (!all) {
        free(old);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    }
    if (len)
        memcpy(all, old, len);
    memcpy(all + len, line, (size_t)n + 1);
    cgpc_status st = cgpc_write_file_atomic(path, all, len + (size_t)n, err);
    free(all);
    free(old);
    return st;
}

/* ---- the system scheduler ------------------------------------------------------------------ */

static int system_available(void *ctx)
{
    (void)ctx;
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char dir[4096], cand[4200];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        snprintf(cand, sizeof cand, "%s/qsub", n ? dir : ".");
        if (access(cand, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

static int system_run(void *ctx, char *const argv[], const char *cwd, char *out, size_t cap)
{
    (void)ctx;
    out[0] = '\0';
    int fd[2];
    if (pipe(fd) != 0)
        return 127;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 127;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        if (cwd && chdir(cwd) != 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    char sink[512];
    while ((k = read(fd[0], n + 1 < cap ? out + n : sink,
                     n + 1 < cap ? cap - 1 - n : sizeof sink)) > 0 ||
           (k < 0 && errno == EINTR))
        if (k > 0 && n + 1 < cap)
            n += (size_t)k;
    out[n] = '\0';
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

const struct pbs_scheduler *pbs_scheduler_system(void)
{
    static const struct pbs_scheduler sys = {system_run, system_available, NULL};
    return &sys;
}

enum pbs_flavour pbs_scheduler_flavour(const struct pbs_scheduler *s)
{
    char out[4096];
    char *argv[] = {"qstat", "--version", NULL};
    s->run(s->ctx, argv, NULL, out, sizeof out);
    return strstr(out, "pbs_version") ? PBS_FLAVOUR_PRO : PBS_FLAVOUR_TORQUE;
}

static cgpc_status need_qsub(const struct pbs_scheduler *s, struct cgpc_err *err)
{
    if (s->available(s->ctx))
        return CGPC_OK;
    return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND,
                     "qsub: not found on PATH: install the scheduler's client (OpenPBS/PBS "
                     "Pro, Torque, or Debian's slurm-wlm-torque), or use 'cgpc pbs "
                     "generate' and submit job.sh yourself");
}

cgpc_status pbs_submit(const struct pbs_scheduler *s, const char *dir, const char *script,
                       int batches, const char *batch_list, char *jobid, size_t cap,
                       struct cgpc_err *err)
{
    cgpc_status st = need_qsub(s, err);
    if (st != CGPC_OK)
        return st;
    char flag[16], range[32];
    int na = pbs_array_args(pbs_scheduler_flavour(s), batches, flag, range, (int)sizeof range);
    char *argv[5] = {"qsub", NULL, NULL, NULL, NULL};
    int k = 1;
    if (na) {
        argv[k++] = flag;
        argv[k++] = range;
    }
    argv[k++] = (char *)script;
    char out[4096];
    int rc = s->run(s->ctx, argv, dir, out, sizeof out);
    char *line = cgpc_trim(out);
    if (rc != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "qsub: %s %s%s%s failed (exit %d): %s", script,
                         na ? flag : "", na ? " " : "", na ? range : "", rc, line);
    /* the job id is the last word of the output ("Submitted batch job N" or "N.server") */
    char *nl;
    while ((nl = strrchr(line, '\n')) && !nl[1])
        *nl = '\0';
    const char *last = strrchr(line, '\n') ? strrchr(line, '\n') + 1 : line;
    const char *word = strrchr(last, ' ') ? strrchr(last, ' ') + 1 : last;
    snprintf(jobid, cap, "%s", *word ? word : "?");
    return log_submission(dir, batch_list, jobid, script, err);
}

cgpc_status pbs_status_all(const char *dir, const struct pbs_job *job, int64_t now,
                           struct pbs_batch_status **st, int count[5], struct cgpc_err *err)
{
    memset(count, 0, 5 * sizeof count[0]);
    if (!(*st = calloc((size_t)job->batches, sizeof **st)))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", dir);
    for (int b = 0; b < job->batches; b++) {
        cgpc_status s = pbs_batch_status(dir, job, b, now, &(*st)[b], err);
        if (s != CGPC_OK)
            return s;
        count[(*st)[b].state]++;
    }
    return CGPC_OK;
}

/* ---- generate ------------------------------------------------------------------------------ */

cgpc_status pbs_dir_check(const char *dir, const struct pbs_job *job, const char *experiment,
                          int *same, struct cgpc_err *err)
{
    *same = 0;
    DIR *d = opendir(dir);
    if (!d)
        return CGPC_OK;
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    if (!entries)
        return CGPC_OK;
    struct pbs_job old;
    if (pbs_job_load(&old, dir, NULL) != CGPC_OK)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: exists and is not a cgpc job directory; choose "
                                            "another --out or remove it", dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/experiment.exp", dir);
    char *old_exp = NULL;
    size_t len;
    if (cgpc_read_file_raw(path, &old_exp, &len, NULL) == CGPC_OK && pbs_job_equal(&old, job) &&
        !strcmp(old_exp, experiment))
        *same = 1;
    free(old_exp);
    if (!*same)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: holds a different job (pbs.conf or "
                                            "experiment.exp differ); choose another --out, or "
                                            "remove it to replace the job", dir);
    return CGPC_OK;
}

cgpc_status pbs_render_job_script(const char *dir, const struct pbs_job *job,
                                  struct cgpc_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/template.pbs", dir);
    unsigned char *tmpl = NULL;
    size_t len;
    char *rendered = NULL;
    cgpc_status st = cgpc_read_file(path, &tmpl, &len, err);
    if (st == CGPC_OK)
        st = pbs_template_render((char *)tmpl, path, job, dir, &rendered, err);
    if (st == CGPC_OK) {
        snprintf(path, sizeof path, "%s/job.sh", dir);
        st = write_text(path, rendered, 1, err);
    }
    free(tmpl);
    free(rendered);
    return st;
}

cgpc_status pbs_dir_write(const char *dir, const struct pbs_job *job,
                          const struct pbs_dir_files *files, struct cgpc_err *err)
{
    char *rendered = NULL, path[4300];
    cgpc_status st = pbs_template_render(files->template_text, files->template_name, job, dir,
                                         &rendered, err);
    if (st != CGPC_OK)
        return st;
    const struct { const char *name; const char *text; int exec; } out[] = {
        {"experiment.exp", files->experiment, 0},
        {"template.pbs", files->template_text, 0},
        {"job.sh", rendered, 1},
    };
    snprintf(path, sizeof path, "%s/batches", dir);
    st = cgpc_mkdirs(path, err);
    for (size_t i = 0; st == CGPC_OK && i < sizeof out / sizeof out[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, out[i].name);
        st = write_text(path, out[i].text, out[i].exec, err);
    }
    snprintf(path, sizeof path, "%s/run-batch.sh", dir);
    if (st == CGPC_OK && (st = cgpc_copy_file_raw(files->run_batch_path, path, err)) == CGPC_OK &&
        chmod(path, 0755))
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: chmod failed", path);
    if (st == CGPC_OK)
        st = pbs_job_save(job, dir, err);
    free(rendered);
    return st;
}

int pbs_dir_submitted(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/submissions.log", dir);
    return cgpc_path_exists(path);
}

/* ---- resubmit ------------------------------------------------------------------------------ */

cgpc_status pbs_resubmit(const struct pbs_scheduler *s, const char *dir, struct pbs_job *job,
                         double walltime_s, double margin_s, int64_t now,
                         struct pbs_resubmitted **done, int *n, int count[5],
                         struct cgpc_err *err)
{
    *done = NULL;
    *n = 0;
    cgpc_status st;
    if (walltime_s > 0 || margin_s >= 0) {
        if (walltime_s > 0)
            job->walltime_s = walltime_s;
        job->margin_s = margin_s >= 0 ? margin_s : pbs_default_margin(job->walltime_s);
        if ((st = pbs_job_check(job, err)) != CGPC_OK ||
            (st = pbs_render_job_script(dir, job, err)) != CGPC_OK ||
            (st = pbs_job_save(job, dir, err)) != CGPC_OK)
            return st;
    }
    struct pbs_batch_status *bs = NULL;
    char *script = NULL, *batch_script = NULL;
    if ((st = pbs_status_all(dir, job, now, &bs, count, err)) != CGPC_OK)
        goto out;
    int todo = count[PBS_UNFINISHED] + count[PBS_FAILED];
    if (todo == 0)
        goto out;
    if (!(*done = calloc((size_t)todo, sizeof **done))) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", dir);
        goto out;
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/job.sh", dir);
    size_t len;
    if ((st = need_qsub(s, err)) != CGPC_OK || (st = cgpc_read_file_raw(path, &script, &len, err)) != CGPC_OK)
        goto out;
    snprintf(path, sizeof path, "%s/resubmit", dir);
    if ((st = cgpc_mkdirs(path, err)) != CGPC_OK)
        goto out;
    for (int b = 0; b < job->batches; b++) {
        if (bs[b].state != PBS_UNFINISHED && bs[b].state != PBS_FAILED)
            continue;
        struct pbs_resubmitted *r = &(*done)[*n];
        char name[64], list[32], state[256];
        snprintf(name, sizeof name, "resubmit/batch-%d.sh", b);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        free(batch_script);
        if ((st = pbs_batch_script(script, "job.sh", b, &batch_script, err)) != CGPC_OK ||
            (st = write_text(path, batch_script, 1, err)) != CGPC_OK)
            goto out;
        snprintf(list, sizeof list, "%d", b);
        if ((st = pbs_submit(s, dir, name, 0, list, r->jobid, sizeof r->jobid, err)) != CGPC_OK)
            goto out;
        snprintf(path, sizeof path, "%s/batches/%d/state", dir, b);
        snprintf(state, sizeof state, "submitted %lld %s\n", (long long)now, r->jobid);
        if ((st = cgpc_write_file_atomic(path, state, strlen(state), err)) != CGPC_OK)
            goto out;
        r->batch = b;
        r->was = bs[b].state;
        r->first_run = bs[b].first_run;
        r->count = bs[b].count;
        (*n)++;
    }
out:
    free(bs);
    free(script);
    free(batch_script);
    return st;
}

/* ---- merge --------------------------------------------------------------------------------- */

void pbs_batch_out_dir(const char *dir, int b, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/batches/%d/out", dir, b);
}

cgpc_status pbs_merge_check(const char *dir, const struct pbs_job *job, int64_t now,
                            struct pbs_batch_status **st, struct cgpc_err *err)
{
    int count[5];
    cgpc_status s = pbs_status_all(dir, job, now, st, count, err);
    if (s != CGPC_OK || count[PBS_DONE] == job->batches)
        return s;
    char list[1024] = "";
    size_t n = 0;
    for (int b = 0; b < job->batches && n < sizeof list - 40; b++)
        if ((*st)[b].state != PBS_DONE)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%d (%s)", n ? ", " : "", b,
                                  pbs_state_name((*st)[b].state));
    return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %d of %d batches are not done: %s; see 'cgpc pbs "
                                        "status %s'",
                     dir, job->batches - count[PBS_DONE], job->batches, list, dir);
}
