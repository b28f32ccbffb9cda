/* jobctl.h - what `cgpc pbs` does to a job directory (layout: pbs.h): write it, submit it,
 * report every batch's status, resubmit the batches that did not finish, merge all batches
 * into one train directory.
 *
 * The scheduler is a seam: every qsub goes through a struct pbs_scheduler, so tests run
 * submission and resubmission against a fake that records the calls (tests/test_pbs.c), and
 * the CLI passes pbs_scheduler_system() (fork/exec of qsub and `qstat --version` on PATH).
 * Nothing here prints: results come back in structs for the CLI to print. Ownership: the
 * status arrays are malloc'ed (pbs_status_free). */
#ifndef CGPC_PBS_JOBCTL_H
#define CGPC_PBS_JOBCTL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pbs/pbs.h"

/* How to reach the batch system. run: execute argv (argv[0] is "qsub" or "qstat") in cwd
 * (NULL: the current one), capture stdout+stderr into out (cap bytes, NUL-terminated), return
 * the exit status (127: could not run). available: is qsub there at all? */
struct pbs_scheduler {
    int (*run)(void *ctx, char *const argv[], const char *cwd, char *out, size_t cap);
    int (*available)(void *ctx);
    void *ctx;
};

/* The real one: programs found on PATH. */
const struct pbs_scheduler *pbs_scheduler_system(void);

/* PBS Pro when `qstat --version` says pbs_version, else Torque/Slurm's wrappers. */
enum pbs_flavour pbs_scheduler_flavour(const struct pbs_scheduler *s);

/* qsub `script` (relative to dir) as an array of `batches` (<= 1: no array flag); the job id is
 * the last word of qsub's output. Appends "TIME batches LIST job ID script SCRIPT" to
 * dir/submissions.log. CGPC_ERR_NOT_FOUND when qsub is missing, CGPC_ERR_IO when it fails
 * (the message carries its output). */
cgpc_status pbs_submit(const struct pbs_scheduler *s, const char *dir, const char *script,
                       int batches, const char *batch_list, char *jobid, size_t cap,
                       struct cgpc_err *err);

/* Every batch's status: *st (job->batches entries, malloc'ed; free with free()) and the count
 * per enum pbs_batch_state in count[5]. */
cgpc_status pbs_status_all(const char *dir, const struct pbs_job *job, int64_t now,
                           struct pbs_batch_status **st, int count[5], struct cgpc_err *err);

/* ---- generate ------------------------------------------------------------------------------ */

/* What a job directory is made from (texts, not paths: the caller finds the templates). */
struct pbs_dir_files {
    const char *experiment;     /* the effective experiment.exp */
    const char *template_text;  /* the template as read */
    const char *template_name;  /* its path, for messages */
    const char *run_batch_path; /* the run-batch.sh to copy */
};

/* Can dir take this job? *same = 1 when it already holds exactly this job (pbs.conf and
 * experiment.exp equal), 0 when it is missing or empty; CGPC_ERR_EXISTS when it holds
 * something else (message says what). */
cgpc_status pbs_dir_check(const char *dir, const struct pbs_job *job, const char *experiment,
                          int *same, struct cgpc_err *err);

/* Write the job directory dir (absolute): experiment.exp, template.pbs, job.sh (rendered),
 * run-batch.sh, batches/, pbs.conf. */
cgpc_status pbs_dir_write(const char *dir, const struct pbs_job *job,
                          const struct pbs_dir_files *files, struct cgpc_err *err);

/* Has dir been submitted before (submissions.log exists)? */
int pbs_dir_submitted(const char *dir);

/* Render dir/template.pbs into dir/job.sh for job (resubmit with a new walltime). */
cgpc_status pbs_render_job_script(const char *dir, const struct pbs_job *job,
                                  struct cgpc_err *err);

/* ---- resubmit ------------------------------------------------------------------------------ */

struct pbs_resubmitted {
    int batch;
    enum pbs_batch_state was; /* unfinished or failed */
    int first_run, count;
    char jobid[128];
};

/* With walltime_s > 0 or margin_s >= 0: set the new walltime and margin (margin < 0: the
 * default for the walltime), check, re-render job.sh and save pbs.conf. Then qsub every
 * unfinished or failed batch alone (dir/resubmit/batch-B.sh) and mark it "submitted".
 * *done lists them (malloc'ed, *n entries; may be 0 with *done NULL: nothing to resubmit).
 * count[5]: the status counts before resubmission. */
cgpc_status pbs_resubmit(const struct pbs_scheduler *s, const char *dir, struct pbs_job *job,
                         double walltime_s, double margin_s, int64_t now,
                         struct pbs_resubmitted **done, int *n, int count[5],
                         struct cgpc_err *err);

/* ---- merge --------------------------------------------------------------------------------- */

/* Before a merge: every batch's status (*st as pbs_status_all) and CGPC_ERR_ARG naming the
 * batches that are not done. The merge itself is src/cgp/rundir's (cgp_rundir_merge of the
 * batches' output directories, pbs_batch_out_dir). */
cgpc_status pbs_merge_check(const char *dir, const struct pbs_job *job, int64_t now,
                            struct pbs_batch_status **st, struct cgpc_err *err);

/* DIR/batches/B/out: batch b's `cgpc train --out` directory. */
void pbs_batch_out_dir(const char *dir, int b, char *buf, size_t cap);

#endif
