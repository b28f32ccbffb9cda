/* pbs.h - experiments as PBS cluster jobs: the job directory, batch planning, job-script
 * templates and batch status.
 *
 * A job directory (made by `cgpc pbs generate|submit`):
 *   DIR/pbs.conf          "cgpc-pbs 1" + key = value: the job's settings (struct pbs_job)
 *   DIR/experiment.exp    the effective experiment (file + command-line overrides)
 *   DIR/job.sh            the job script rendered from a template (an array job over batches)
 *   DIR/run-batch.sh      what job.sh runs: one batch, with scratch handling and state files
 *   DIR/submissions.log   one line per qsub: time, batches, job id
 *   DIR/template.pbs      the template job.sh was rendered from (re-rendered on resubmit)
 *   DIR/resubmit/batch-B.sh  job.sh for batch B alone (CGPC_BATCH=B), made by resubmit
 *   DIR/batches/B/state   "running <epoch> <jobid> <host>" | "done" | "unfinished" | "failed <rc>"
 *                         | "submitted <epoch> <jobid>" (resubmitted, not started yet)
 *   DIR/batches/B/log     the batch's output (cgpc train's stdout/stderr)
 *   DIR/batches/B/out/    the batch's `cgpc train --out` directory (runs first..first+count-1)
 *   DIR/merged/           `cgpc pbs merge`: one experiment directory with every batch's runs
 *
 * Batch b of B holds runs [b*R/B, (b+1)*R/B) of R runs (integer division): contiguous, sizes
 * differing by at most one, every run in exactly one batch.
 *
 * Templates are text with {{KEY}} placeholders (pbs_template_keys lists them); an unknown key
 * is an error naming the line. Ownership: struct pbs_job is a plain value; rendered text is
 * malloc'ed and freed by the caller. */
#ifndef CGPC_PBS_H
#define CGPC_PBS_H

#include <stdint.h>

#include "common/error.h"

#define PBS_CONF_MAGIC "cgpc-pbs"
#define PBS_CONF_VERSION 1
/* Bounds on what pbs.conf may ask for: runs as `train --run-count`; batches as PBS Pro's
 * default max_array_size (status keeps one record per batch); pbs.conf and state files are
 * small text files and are refused above PBS_MAX_FILE bytes. */
#define PBS_MAX_RUNS (1 << 20)
#define PBS_MAX_BATCHES 10000
#define PBS_MAX_FILE (1 << 16)

struct pbs_job {
    char name[64];        /* job name (#PBS -N), from the experiment name */
    char cgpc[1024];      /* absolute path of the cgpc binary the jobs run */
    char template_name[1024];
    int runs;             /* total runs of the experiment */
    int batches;          /* array size; 1..runs */
    int first_run;        /* run index of the experiment's first run (default 0) */
    double walltime_s;    /* requested walltime, seconds */
    double margin_s;      /* evolution stops this long before the walltime (default 10% up to 10 min) */
    char mem[32];         /* "500mb" */
    char scratch[32];     /* "" or "20gb" (scratch_local) */
    int ncpus;            /* cores per batch; also --threads */
    char queue[64];       /* "" = the site default */
};

void pbs_job_defaults(struct pbs_job *job);

/* The default margin for a walltime: 10%, at least 60 s, at most 600 s, never more than half. */
double pbs_default_margin(double walltime_s);

/* Runs of batch b: [*first, *first + *count). */
void pbs_batch_runs(const struct pbs_job *job, int b, int *first, int *count);

/* Validate settings (batches within 1..runs, walltime > margin, memory/scratch syntax like
 * 500mb / 20gb, names safe for #PBS lines). */
cgpc_status pbs_job_check(const struct pbs_job *job, struct cgpc_err *err);

/* dir/pbs.conf, atomically / back. */
cgpc_status pbs_job_save(const struct pbs_job *job, const char *dir, struct cgpc_err *err);
cgpc_status pbs_job_load(struct pbs_job *job, const char *dir, struct cgpc_err *err);
/* pbs.conf text (NUL-terminated, changed in place) into *job, checked; `path` for messages. */
cgpc_status pbs_job_parse(struct pbs_job *job, char *text, const char *path,
                          struct cgpc_err *err);

/* "HH:MM:SS" for a walltime (hours may exceed 24). */
void pbs_format_walltime(double seconds, char *buf, int cap);

/* Render a template for the job in `dir` (absolute). name is used in error messages. */
cgpc_status pbs_template_render(const char *text, const char *name, const struct pbs_job *job,
                                const char *dir, char **out, struct cgpc_err *err);

/* The placeholder names, NULL-terminated, with one line of help each (for docs and --help). */
extern const char *const pbs_template_keys[][2];

enum pbs_batch_state {
    PBS_NOT_STARTED = 0, /* no state file: queued, or never submitted */
    PBS_RUNNING,
    PBS_DONE,
    PBS_UNFINISHED,      /* stopped before the end (walltime, signal) with a checkpoint */
    PBS_FAILED
};
const char *pbs_state_name(enum pbs_batch_state s);

struct pbs_batch_status {
    enum pbs_batch_state state;
    int first_run, count;
    int64_t started;   /* epoch seconds from a "running" state line, 0 if none */
    char jobid[64];
    char detail[256];  /* e.g. "exit 1", "running for 3m12s on node7", "no state after walltime" */
    char log_tail[2048]; /* last lines of the log, for failed batches */
};

/* Status of batch b. A "running" batch whose walltime (plus 5 minutes) has passed since it
 * started cannot be running any more (killed hard): it is reported unfinished if its output
 * has a checkpoint, failed otherwise. now = current epoch seconds. */
cgpc_status pbs_batch_status(const char *dir, const struct pbs_job *job, int b, int64_t now,
                             struct pbs_batch_status *st, struct cgpc_err *err);

/* A state file's text (layout above) into st's state, jobid, started and detail (not
 * first_run/count/log_tail). has_checkpoint: the batch's output has a checkpoint. Epochs are
 * checked (not before 1970, not more than a day ahead of now). */
cgpc_status pbs_state_parse(const char *text, const char *path, const struct pbs_job *job,
                            int64_t now, int has_checkpoint, struct pbs_batch_status *st,
                            struct cgpc_err *err);

/* Field-by-field equality (is an existing job directory the same job?). */
int pbs_job_equal(const struct pbs_job *a, const struct pbs_job *b);

/* qsub's array option for `batches` batches: PBS Pro "-J 0-(B-1)", Torque and Slurm's PBS
 * wrappers "-t 0-(B-1)"; none for one batch. Fills flag and range (cap bytes each) and
 * returns the number of arguments (0 or 2). */
enum pbs_flavour { PBS_FLAVOUR_TORQUE = 0, PBS_FLAVOUR_PRO };
int pbs_array_args(enum pbs_flavour flavour, int batches, char *flag, char *range, int cap);

/* A job script for batch b alone (resubmission): job_script with "export CGPC_BATCH=b" put
 * after its #PBS lines (qsub -v does not reach jobs under Slurm's wrappers). Templates must
 * take the batch from $CGPC_BATCH first. *out is malloc'ed. */
cgpc_status pbs_batch_script(const char *job_script, const char *name, int b, char **out,
                             struct cgpc_err *err);

#endif
