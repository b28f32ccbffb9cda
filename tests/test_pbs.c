/* test_pbs.c - cmocka suite for src/pbs: batch planning, pbs.conf round trip and bad files,
 * template rendering, array flags, per-batch resubmission scripts, batch status from state
 * files; job control (jobctl.h) against a fake scheduler: submission, resubmission, the
 * check before a merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "pbs/jobctl.h"
#include "pbs/pbs.h"

/* A fresh temporary job directory with batches/ (removed by rm_dir). */
static void make_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/cgpc-test-pbs-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static void rm_dir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char parent[4200];
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(cgpc_mkdirs(parent, NULL), CGPC_OK);
    assert_int_equal(cgpc_write_file_atomic(path, text, strlen(text), NULL), CGPC_OK);
}

static void small_job(struct pbs_job *job, int runs, int batches)
{
    pbs_job_defaults(job);
    job->runs = runs;
    job->batches = batches;
    snprintf(job->cgpc, sizeof job->cgpc, "/opt/cgpc/bin/cgpc");
    job->walltime_s = 3600;
    job->margin_s = 360;
}

static void plan__every_run_in_exactly_one_batch__sizes_differ_by_at_most_one(void **state)
{
    (void)state;
    for (int runs = 1; runs <= 40; runs++)
        for (int batches = 1; batches <= runs; batches++) {
            struct pbs_job job;
            small_job(&job, runs, batches);
            job.first_run = 5;
            int seen[40] = {0}, lo = runs, hi = 0, next = job.first_run;
            for (int b = 0; b < batches; b++) {
                int first, count;
                pbs_batch_runs(&job, b, &first, &count);
                assert_int_equal(first, next); /* contiguous, in order */
                next = first + count;
                for (int r = first; r < first + count; r++)
                    seen[r - job.first_run]++;
                lo = count < lo ? count : lo;
                hi = count > hi ? count : hi;
            }
            for (int r = 0; r < runs; r++)
                assert_int_equal(seen[r], 1);
            assert_true(lo >= 1);
            assert_true(hi - lo <= 1);
        }
}

static void conf__save_load__round_trips_every_field(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    struct pbs_job a, b;
    small_job(&a, 7, 3);
    snprintf(a.name, sizeof a.name, "exp-1.b");
    snprintf(a.template_name, sizeof a.template_name, "/some/where/my.pbs");
    a.first_run = 2;
    a.walltime_s = 172800.5;
    a.margin_s = 0.1;
    snprintf(a.mem, sizeof a.mem, "4gb");
    snprintf(a.scratch, sizeof a.scratch, "20gb");
    a.ncpus = 8;
    snprintf(a.queue, sizeof a.queue, "gpu_long");
    assert_int_equal(pbs_job_save(&a, dir, NULL), CGPC_OK);
    assert_int_equal(pbs_job_load(&b, dir, NULL), CGPC_OK);
    assert_true(pbs_job_equal(&a, &b));
    b.ncpus = 4;
    assert_false(pbs_job_equal(&a, &b));
    rm_dir(dir);
}

static void conf__bad_files__rejected_naming_file_line(void **state)
{
    (void)state;
    static const struct { const char *text, *expect; } cases[] = {
        {"cgpc-pbs 2\nruns = 1\n", "pbs.conf:1: expected 'cgpc-pbs 1'"},
        {"#!/bin/sh\n", "pbs.conf:1: expected 'cgpc-pbs 1'"},
        {"cgpc-pbs 1\nruns = 3\ncolour = red\n", "pbs.conf:3: unknown key 'colour'"},
        {"cgpc-pbs 1\nruns 3\n", "pbs.conf:2: expected 'key = value'"},
        {"cgpc-pbs 1\nruns = three\n", "pbs.conf:2: runs"},
        {"cgpc-pbs 1\nruns = 2\nbatches = 3\n", "--batches 3: must be in 1..2"},
        {"cgpc-pbs 1\nmem = lots\n", "--mem 'lots'"},
        {"", "empty file"},
        /* sizes are bounded: 2^30 batches made `status` allocate 2.5 TB */
        {"cgpc-pbs 1\nruns = 1073741824\nbatches = 1073741824\n", "runs: '1073741824': must be in [0, 1048576]"},
        {"cgpc-pbs 1\nruns = 100000\nbatches = 10001\n", "batches: '10001': must be in [0, 10000]"},
    };
    char dir[64];
    make_dir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(dir, "pbs.conf", cases[i].text);
        struct pbs_job job;
        struct cgpc_err err = {0};
        assert_int_not_equal(pbs_job_load(&job, dir, &err), CGPC_OK);
        if (!strstr(err.msg, cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].expect);
    }
    struct pbs_job job;
    struct cgpc_err err = {0};
    /* a huge file is refused before it is read whole */
    size_t big_len = PBS_MAX_FILE + 100;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, '#', big_len);
    memcpy(big, "cgpc-pbs 1\n", 11);
    big[big_len] = '\0';
    write_file(dir, "pbs.conf", big);
    free(big);
    assert_int_equal(pbs_job_load(&job, dir, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "larger than 65536 bytes"));
    rm_dir(dir);
    assert_int_not_equal(pbs_job_load(&job, dir, &err), CGPC_OK);
    assert_non_null(strstr(err.msg, "is not a cgpc pbs job directory"));
}

static void check__bad_settings__rejected(void **state)
{
    (void)state;
    struct pbs_job job;
    small_job(&job, 4, 2);
    assert_int_equal(pbs_job_check(&job, NULL), CGPC_OK);
    struct pbs_job bad = job;
    bad.margin_s = bad.walltime_s;
    assert_int_equal(pbs_job_check(&bad, NULL), CGPC_ERR_ARG);
    bad = job;
    snprintf(bad.name, sizeof bad.name, "a b");
    assert_int_equal(pbs_job_check(&bad, NULL), CGPC_ERR_ARG);
    bad = job;
    snprintf(bad.scratch, sizeof bad.scratch, "20 gb");
    assert_int_equal(pbs_job_check(&bad, NULL), CGPC_ERR_ARG);
    bad = job;
    snprintf(bad.queue, sizeof bad.queue, "q;rm");
    assert_int_equal(pbs_job_check(&bad, NULL), CGPC_ERR_ARG);
    assert_true(pbs_default_margin(48 * 3600.0) == 600);
    assert_true(pbs_default_margin(3600) == 360);
    assert_true(pbs_default_margin(100) == 50);
}

static void template__all_keys__rendered(void **state)
{
    (void)state;
    struct pbs_job job;
    small_job(&job, 10, 4);
    job.walltime_s = 90061; /* 25:01:01 */
    snprintf(job.scratch, sizeof job.scratch, "20gb");
    snprintf(job.queue, sizeof job.queue, "long");
    job.ncpus = 3;
    const char *text = "#PBS -N {{JOB_NAME}}\n"
                       "#PBS -l select=1:ncpus={{NCPUS}}{{SCRATCH_SELECT}}:mem={{MEM}}\n"
                       "#PBS -l walltime={{ WALLTIME }}\n{{QUEUE_DIRECTIVE}}\n"
                       "run {{CGPC}} in {{JOB_DIR}} over {{BATCHES}} ({{LAST_BATCH}}) {{SCRATCH}}\n";
    char *out = NULL;
    assert_int_equal(pbs_template_render(text, "t.pbs", &job, "/jobs/j1", &out, NULL), CGPC_OK);
    assert_string_equal(out, "#PBS -N cgpc\n"
                             "#PBS -l select=1:ncpus=3:scratch_local=20gb:mem=500mb\n"
                             "#PBS -l walltime=25:01:01\n#PBS -q long\n"
                             "run /opt/cgpc/bin/cgpc in /jobs/j1 over 4 (3) 20gb\n");
    free(out);
    /* every documented key is known to the renderer */
    for (int i = 0; pbs_template_keys[i][0]; i++) {
        char t[64];
        snprintf(t, sizeof t, "{{%s}}", pbs_template_keys[i][0]);
        assert_int_equal(pbs_template_render(t, "t", &job, "/d", &out, NULL), CGPC_OK);
        free(out);
    }
}

static void template__unknown_or_unclosed_placeholder__error_names_file_line(void **state)
{
    (void)state;
    struct pbs_job job;
    small_job(&job, 2, 1);
    char *out = (char *)1;
    struct cgpc_err err = {0};
    assert_int_equal(pbs_template_render("#!/bin/sh\n\n#PBS {{MEMORY}}\n", "my.pbs", &job, "/d",
                                         &out, &err),
                     CGPC_ERR_FORMAT);
    assert_null(out);
    assert_non_null(strstr(err.msg, "my.pbs:3: unknown placeholder '{{MEMORY}}'"));
    assert_int_equal(pbs_template_render("a\n{{MEM\n}}\n", "x.pbs", &job, "/d", &out, &err),
                     CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "x.pbs:2: '{{' without '}}'"));
}

static void array_args__flavours__pro_J_else_t_none_for_one(void **state)
{
    (void)state;
    char flag[16], range[32];
    assert_int_equal(pbs_array_args(PBS_FLAVOUR_PRO, 5, flag, range, 16), 2);
    assert_string_equal(flag, "-J");
    assert_string_equal(range, "0-4");
    assert_int_equal(pbs_array_args(PBS_FLAVOUR_TORQUE, 2, flag, range, 16), 2);
    assert_string_equal(flag, "-t");
    assert_string_equal(range, "0-1");
    assert_int_equal(pbs_array_args(PBS_FLAVOUR_PRO, 1, flag, range, 16), 0);
}

static void batch_script__after_pbs_lines__sets_cgpc_batch(void **state)
{
    (void)state;
    char *out = NULL;
    const char *job = "#!/bin/bash\n# comment\n#PBS -N x\n\n#PBS -l walltime=1:00:00\n"
                      "BATCH=${CGPC_BATCH:-0}\n#PBS -q ignored\nexec run\n";
    assert_int_equal(pbs_batch_script(job, "job.sh", 7, &out, NULL), CGPC_OK);
    assert_string_equal(out, "#!/bin/bash\n# comment\n#PBS -N x\n\n#PBS -l walltime=1:00:00\n"
                             "# cgpc pbs resubmit: batch 7 alone\nexport CGPC_BATCH=7\n"
                             "BATCH=${CGPC_BATCH:-0}\n#PBS -q ignored\nexec run\n");
    free(out);
    assert_int_equal(pbs_batch_script("#!/bin/sh\necho hi\n", "j", 0, &out, NULL), CGPC_OK);
    assert_string_equal(out, "#!/bin/sh\n# cgpc pbs resubmit: batch 0 alone\n"
                             "export CGPC_BATCH=0\necho hi\n");
    free(out);
    assert_int_equal(pbs_batch_script("#PBS -N x", "j", 0, &out, NULL), CGPC_ERR_FORMAT);
}

/* Status of batch b after writing its state (and optionally a checkpoint and a log). */
static struct pbs_batch_status status_of(const char *dir, const struct pbs_job *job, int b,
                                         const char *state_text, int checkpoint, int64_t now)
{
    char rel[64];
    snprintf(rel, sizeof rel, "batches/%d/state", b);
    write_file(dir, rel, state_text);
    snprintf(rel, sizeof rel, "batches/%d/out/checkpoint", b);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (checkpoint)
        write_file(dir, rel, "x");
    else
        unlink(path);
    struct pbs_batch_status st;
    assert_int_equal(pbs_batch_status(dir, job, b, now, &st, NULL), CGPC_OK);
    return st;
}

static void status__state_files__classified(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    struct pbs_job job;
    small_job(&job, 5, 3); /* walltime 3600 s */
    const int64_t t0 = 1700000000;
    struct pbs_batch_status st;
    assert_int_equal(pbs_batch_status(dir, &job, 1, t0, &st, NULL), CGPC_OK);
    assert_int_equal(st.state, PBS_NOT_STARTED);
    assert_string_equal(pbs_state_name(st.state), "queued");
    assert_int_equal(st.first_run, 1);
    assert_int_equal(st.count, 2);

    assert_int_equal(status_of(dir, &job, 0, "done\n", 1, t0).state, PBS_DONE);
    st = status_of(dir, &job, 0, "unfinished\n", 1, t0);
    assert_int_equal(st.state, PBS_UNFINISHED);
    assert_non_null(strstr(st.detail, "checkpoint"));

    write_file(dir, "batches/2/log", "== batch 2\nline a\nline b\nline c\nline d\nline e\n"
                                      "cgpc train: out of memory\n");
    st = status_of(dir, &job, 2, "failed 1\n", 0, t0);
    assert_int_equal(st.state, PBS_FAILED);
    assert_string_equal(st.detail, "exit 1");
    assert_string_equal(st.log_tail, "line b\nline c\nline d\nline e\ncgpc train: out of memory\n");

    st = status_of(dir, &job, 1, "running 1700000000 123.srv node7\n", 0, t0 + 100);
    assert_int_equal(st.state, PBS_RUNNING);
    assert_string_equal(st.jobid, "123.srv");
    assert_non_null(strstr(st.detail, "node7"));
    /* within walltime + 5 min: still running */
    assert_int_equal(status_of(dir, &job, 1, "running 1700000000 1 n\n", 1, t0 + 3900).state,
                     PBS_RUNNING);
    /* past it: killed hard; resumable with a checkpoint, failed without */
    st = status_of(dir, &job, 1, "running 1700000000 1 n\n", 1, t0 + 3901);
    assert_int_equal(st.state, PBS_UNFINISHED);
    assert_non_null(strstr(st.detail, "past the walltime"));
    assert_int_equal(status_of(dir, &job, 1, "running 1700000000 1 n\n", 0, t0 + 3901).state,
                     PBS_FAILED);

    st = status_of(dir, &job, 1, "submitted 1700000000 77\n", 1, t0 + 5);
    assert_int_equal(st.state, PBS_NOT_STARTED);
    assert_string_equal(st.jobid, "77");
    assert_non_null(strstr(st.detail, "resubmitted 5s ago as 77"));

    struct cgpc_err err = {0};
    write_file(dir, "batches/1/state", "exploded\n");
    assert_int_equal(pbs_batch_status(dir, &job, 1, t0, &st, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "unreadable state line"));
    assert_int_equal(pbs_batch_status(dir, &job, 3, t0, &st, &err), CGPC_ERR_RANGE);

    /* epochs: a huge or negative one is an error (it printed "running for
     * -9223372035058670042s"); one slightly ahead (clock skew between nodes) counts as now */
    static const char *const bad[] = {"running 9223372036854775807 1 n\n",
                                      "running -9223372036854775808 1 n\n",
                                      "submitted 99999999999999 7\n", "running -5 1 n\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(dir, "batches/1/state", bad[i]);
        assert_int_equal(pbs_batch_status(dir, &job, 1, t0, &st, &err), CGPC_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "not a plausible time"));
        assert_non_null(strstr(err.msg, "batches/1/state"));
    }
    st = status_of(dir, &job, 1, "running 1700000030 1 n\n", 0, t0);
    assert_int_equal(st.state, PBS_RUNNING);
    assert_non_null(strstr(st.detail, "for 0s"));
    rm_dir(dir);
}

/* ---- job control against a fake scheduler --------------------------------------------------- */

/* Records every command line ("cwd|arg arg ...\n") and answers qsub with `reply` and `rc`,
 * qstat --version with `qstat`. */
struct fake_sched {
    int available, rc, calls;
    const char *reply, *qstat;
    char log[4096];
};

static int fake_run(void *ctx, char *const argv[], const char *cwd, char *out, size_t cap)
{
    struct fake_sched *f = ctx;
    size_t n = strlen(f->log);
    n += (size_t)snprintf(f->log + n, sizeof f->log - n, "%s|", cwd ? cwd : "");
    for (int i = 0; argv[i]; i++)
        n += (size_t)snprintf(f->log + n, sizeof f->log - n, "%s%s", i ? " " : "", argv[i]);
    snprintf(f->log + n, sizeof f->log - n, "\n");
    if (!strcmp(argv[0], "qstat")) {
        snprintf(out, cap, "%s", f->qstat);
        return 0;
    }
    f->calls++;
    snprintf(out, cap, f->reply, f->calls);
    return f->rc;
}

static int fake_available(void *ctx)
{
    return ((struct fake_sched *)ctx)->available;
}

static struct pbs_scheduler fake_scheduler(struct fake_sched *f, const char *reply, int rc)
{
    memset(f, 0, sizeof *f);
    f->available = 1;
    f->rc = rc;
    f->reply = reply;
    f->qstat = "Version: 6.1.2\n";
    struct pbs_scheduler s = {fake_run, fake_available, f};
    return s;
}

static char *slurp(const char *dir, const char *rel)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    unsigned char *data = NULL;
    size_t len;
    if (cgpc_read_file(path, &data, &len, NULL) != CGPC_OK)
        return NULL;
    return (char *)data;
}

static void submit__fake_qsub__array_flag_job_id_and_log(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    struct fake_sched f;
    struct pbs_scheduler s = fake_scheduler(&f, "qsub: note\nSubmitted batch job 4%d\n", 0);
    char jobid[64], want[256];
    assert_int_equal(pbs_submit(&s, dir, "job.sh", 3, "0-2", jobid, sizeof jobid, NULL), CGPC_OK);
    assert_string_equal(jobid, "41");
    snprintf(want, sizeof want, "|qstat --version\n%s|qsub -t 0-2 job.sh\n", dir);
    assert_string_equal(f.log, want);
    f.qstat = "pbs_version = 2022.1\n";
    f.log[0] = '\0';
    assert_int_equal(pbs_submit(&s, dir, "job.sh", 2, "0-1", jobid, sizeof jobid, NULL), CGPC_OK);
    assert_string_equal(jobid, "42");
    assert_non_null(strstr(f.log, "qsub -J 0-1 job.sh\n")); /* PBS Pro */
    f.log[0] = '\0';
    assert_int_equal(pbs_submit(&s, dir, "one.sh", 1, "0", jobid, sizeof jobid, NULL), CGPC_OK);
    assert_non_null(strstr(f.log, "|qsub one.sh\n")); /* one batch: no array */
    char *log = slurp(dir, "submissions.log");
    assert_non_null(log);
    assert_non_null(strstr(log, " batches 0-2 job 41 script job.sh\n"));
    assert_non_null(strstr(log, " batches 0-1 job 42 script job.sh\n"));
    assert_non_null(strstr(log, " batches 0 job 43 script one.sh\n"));
    free(log);
    rm_dir(dir);
}

static void submit__qsub_missing_or_failing__error_says_why(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    struct fake_sched f;
    struct pbs_scheduler s = fake_scheduler(&f, "qsub: Unknown queue %d\n", 3);
    struct cgpc_err err = {0};
    char jobid[64];
    assert_int_equal(pbs_submit(&s, dir, "job.sh", 2, "0-1", jobid, sizeof jobid, &err),
                     CGPC_ERR_IO);
    assert_non_null(strstr(err.msg, "job.sh -t 0-1 failed (exit 3): qsub: Unknown queue 1"));
    f.available = 0;
    assert_int_equal(pbs_submit(&s, dir, "job.sh", 2, "0-1", jobid, sizeof jobid, &err),
                     CGPC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "not found on PATH"));
    assert_int_equal(f.calls, 1);
    assert_false(pbs_dir_submitted(dir)); /* nothing was logged */
    rm_dir(dir);
}

/* A job directory of 3 batches over 5 runs: batch 0 done, 1 unfinished, 2 failed. */
static void three_batch_job(char *dir, size_t cap, struct pbs_job *job)
{
    make_dir(dir, cap);
    small_job(job, 5, 3);
    assert_int_equal(pbs_job_save(job, dir, NULL), CGPC_OK);
    write_file(dir, "template.pbs", "#!/bin/bash\n#PBS -l walltime={{WALLTIME}}\nrun\n");
    write_file(dir, "job.sh", "#!/bin/bash\n#PBS -l walltime=01:00:00\nrun\n");
    write_file(dir, "batches/0/state", "done\n");
    write_file(dir, "batches/1/state", "unfinished\n");
    write_file(dir, "batches/2/state", "failed 1\n");
}

static void resubmit__unfinished_and_failed__each_alone_then_nothing(void **state)
{
    (void)state;
    char dir[64];
    struct pbs_job job;
    three_batch_job(dir, sizeof dir, &job);
    struct fake_sched f;
    struct pbs_scheduler s = fake_scheduler(&f, "%d.server\n", 0);
    struct pbs_resubmitted *done = NULL;
    int n, count[5];
    assert_int_equal(pbs_resubmit(&s, dir, &job, 0, -1, 1700000000, &done, &n, count, NULL),
                     CGPC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(count[PBS_DONE], 1);
    assert_int_equal(done[0].batch, 1);
    assert_int_equal(done[0].was, PBS_UNFINISHED);
    assert_int_equal(done[0].first_run, 1);
    assert_int_equal(done[0].count, 2);
    assert_string_equal(done[0].jobid, "1.server");
    assert_int_equal(done[1].batch, 2);
    assert_int_equal(done[1].was, PBS_FAILED);
    assert_string_equal(done[1].jobid, "2.server");
    free(done);
    assert_non_null(strstr(f.log, "|qsub resubmit/batch-1.sh\n"));
    assert_non_null(strstr(f.log, "|qsub resubmit/batch-2.sh\n"));
    char *text = slurp(dir, "resubmit/batch-2.sh");
    assert_non_null(text);
    assert_non_null(strstr(text, "walltime=01:00:00\n# cgpc pbs resubmit: batch 2 alone\n"
                                 "export CGPC_BATCH=2\nrun\n"));
    free(text);
    text = slurp(dir, "batches/1/state");
    assert_string_equal(text, "submitted 1700000000 1.server\n");
    free(text);
    /* both are queued now: a second resubmit does nothing */
    assert_int_equal(pbs_resubmit(&s, dir, &job, 0, -1, 1700000001, &done, &n, count, NULL),
                     CGPC_OK);
    assert_int_equal(n, 0);
    assert_null(done);
    assert_int_equal(count[PBS_NOT_STARTED], 2);
    assert_int_equal(f.calls, 2);
    rm_dir(dir);
}

static void resubmit__new_walltime__job_script_and_conf_updated(void **state)
{
    (void)state;
    char dir[64];
    struct pbs_job job;
    three_batch_job(dir, sizeof dir, &job);
    struct fake_sched f;
    struct pbs_scheduler s = fake_scheduler(&f, "%d\n", 0);
    struct pbs_resubmitted *done = NULL;
    int n, count[5];
    assert_int_equal(pbs_resubmit(&s, dir, &job, 3 * 3600, -1, 1700000000, &done, &n, count,
                                  NULL),
                     CGPC_OK);
    free(done);
    char *text = slurp(dir, "job.sh");
    assert_string_equal(text, "#!/bin/bash\n#PBS -l walltime=03:00:00\nrun\n");
    free(text);
    text = slurp(dir, "resubmit/batch-1.sh");
    assert_non_null(strstr(text, "walltime=03:00:00"));
    free(text);
    struct pbs_job back;
    assert_int_equal(pbs_job_load(&back, dir, NULL), CGPC_OK);
    assert_true(back.walltime_s == 3 * 3600);
    assert_true(back.margin_s == pbs_default_margin(3 * 3600));
    /* a margin past the walltime is refused before anything is submitted */
    struct cgpc_err err = {0};
    f.calls = 0;
    assert_int_not_equal(pbs_resubmit(&s, dir, &job, 100, 200, 1700000000, &done, &n, count,
                                      &err),
                         CGPC_OK);
    assert_int_equal(f.calls, 0);
    rm_dir(dir);
}

static void merge_check__batches_not_done__refused_naming_them(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    struct pbs_job job;
    small_job(&job, 5, 3);
    write_file(dir, "batches/0/state", "done\n");
    write_file(dir, "batches/1/state", "unfinished\n");
    struct pbs_batch_status *st = NULL;
    struct cgpc_err err = {0};
    assert_int_equal(pbs_merge_check(dir, &job, 1700000000, &st, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "2 of 3 batches are not done: 1 (unfinished), 2 (queued)"));
    free(st);
    write_file(dir, "batches/1/state", "done\n");
    write_file(dir, "batches/2/state", "done\n");
    assert_int_equal(pbs_merge_check(dir, &job, 1700000000, &st, &err), CGPC_OK);
    assert_int_equal(st[2].first_run, 3);
    assert_int_equal(st[2].count, 2);
    free(st);
    char out[128];
    pbs_batch_out_dir("/j", 2, out, sizeof out);
    assert_string_equal(out, "/j/batches/2/out");
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan__every_run_in_exactly_one_batch__sizes_differ_by_at_most_one),
        cmocka_unit_test(conf__save_load__round_trips_every_field),
        cmocka_unit_test(conf__bad_files__rejected_naming_file_line),
        cmocka_unit_test(check__bad_settings__rejected),
        cmocka_unit_test(template__all_keys__rendered),
        cmocka_unit_test(template__unknown_or_unclosed_placeholder__error_names_file_line),
        cmocka_unit_test(array_args__flavours__pro_J_else_t_none_for_one),
        cmocka_unit_test(batch_script__after_pbs_lines__sets_cgpc_batch),
        cmocka_unit_test(status__state_files__classified),
        cmocka_unit_test(submit__fake_qsub__array_flag_job_id_and_log),
        cmocka_unit_test(submit__qsub_missing_or_failing__error_says_why),
        cmocka_unit_test(resubmit__unfinished_and_failed__each_alone_then_nothing),
        cmocka_unit_test(resubmit__new_walltime__job_script_and_conf_updated),
        cmocka_unit_test(merge_check__batches_not_done__refused_naming_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
