/* rundir.h - THE run directory of `cgpc evolve` and `cgpc train`: the name of every file in it
 * and typed readers and writers for each, every reader checking the file's magic line (or
 * header) and every field before anything uses it. Nobody else opens these files or parses
 * their lines (src/cgp/run.c writes a run through this module; src/exp/metrics.c,
 * src/cli/cmd_train.c, cmd_evolve.c, cmd_model_metrics.c and src/pbs read it here).
 *
 * A run directory (formats: docs/ARCHITECTURE.md, "Run directory"):
 *   config.txt              "cgpc-evolve-config v1": the CGP parameters (written by run.c)
 *   data.txt                "cgpc-data v1": the data set (cgp_dataset_save)
 *   slots.txt               "cgpc-slots v1": value-slot mode's output -> slot map
 *   checkpoint              "cgpc-checkpoint v3": where to resume (struct cgp_checkpoint)
 *   results.csv             one row per finished stage (struct cgp_result_row)
 *   best.<run>.<T>.chr      "cgpc-chromosome v1": the final circuit of a stage
 *   best.<run>.<T>.res      residual mode (`cgpc train`, mode = residual): "CGPCRES" file of it
 *   pareto.<run>.csv        the run's (error, energy) Pareto archive
 *   statistics.<run>.csv.part / .csv.gz   the journal: one row per improvement
 *   experiment.exp          (train) the effective experiment (text made by src/exp)
 *   model.txt               (train) "cgpc-model-record 1": model path and fingerprint
 *
 * Every writer is atomic (temp + rename) except the journal, which is appended to and
 * truncated back to the checkpointed length on resume. Ownership: readers allocate what the
 * caller frees with the matching _free(). */
#ifndef CGPC_CGP_RUNDIR_H
#define CGPC_CGP_RUNDIR_H

#include <stdint.h>
#include <stdio.h>

#include "cgp/cgp.h"
#include "cgp/journal.h"
#include "common/error.h"

#define CGP_CONFIG_MAGIC "cgpc-evolve-config v1"
/* v2: the search engine draws mutation positions and values from counter-based hashes (the
 * evolver of issue 16); v3: the position draws are relabelled by the parent's used genes (the
 * same search, other genes for a seed). A v1 or v2 checkpoint is refused: resuming it would not
 * continue the run it began. */
#define CGP_CKPT_MAGIC "cgpc-checkpoint v3"
#define CGP_CKPT_MAGIC_V1 "cgpc-checkpoint v1"
#define CGP_CKPT_MAGIC_V2 "cgpc-checkpoint v2"
#define CGP_SLOTS_MAGIC "cgpc-slots v1"
#define CGP_MODEL_RECORD_MAGIC "cgpc-model-record 1"
/* Thresholds and errors in results.csv, pareto.<run>.csv and best.<run>.<T>.chr names are per
 * weight in int8 units (cgp_per_weight); the metric's values sit in their own _metric columns.
 * Directories of an older cgpc (results header CGP_RESULTS_HEADER_V1: thresholds in the metric,
 * best.<run>.<metric>.chr) are refused with a message saying so. */
#define CGP_RESULTS_HEADER                                                                     \
    "run,threshold,threshold_metric,reached,generations,error,error_metric,energy_pj,delay_ns," \
    "area_um2,gates,depth,active,best_file\n"
#define CGP_RESULTS_HEADER_V1                                                                \
    "run,threshold,reached,generations,error,energy_pj,delay_ns,area_um2,gates,depth,active," \
    "best_file\n"
#define CGP_PARETO_HEADER                                                                    \
    "error,error_metric,energy_pj,delay_ns,gates,threshold,threshold_metric,generation,circuit\n"
/* statistics journal v3: magic line, CSV header (format: cgp/journal.h) */
#define CGP_STATS_HEADER CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n"

/* Largest generation counter, journal length or Pareto size a checkpoint may hold: far beyond
 * any real run, far enough below INT64_MAX that counting on cannot overflow. */
#define CGP_COUNTER_MAX ((int64_t)1 << 60)
#define CGP_PARETO_MAX (1 << 24)

/* ---- paths ----------------------------------------------------------------------------------- */

/* dir/name into buf; CGPC_ERR_RANGE if it does not fit. */
cgpc_status cgp_rundir_path(char *buf, size_t cap, const char *dir, const char *name,
                            struct cgpc_err *err);
/* best.<run>.<T>.chr, T the threshold per weight (int8 units) printed with %g: the name
 * results.csv's best_file column holds. */
void cgp_rundir_best_name(char *buf, size_t cap, int run, double per_weight);
/* best.<run>.<T>.res: the residual-mode file of that best circuit (exp/resfile.h; written by
 * `cgpc train` with mode = residual, T = the bound e). */
void cgp_rundir_residual_name(char *buf, size_t cap, int run, double threshold);
/* Run number of a per-run file name (statistics.R.csv.gz|.csv.part, best.R.T.chr,
 * pareto.R.csv, best.R.T.res), or -1 for any other name. */
int cgp_rundir_run_of_file(const char *name);

/* ---- config.txt ------------------------------------------------------------------------------- */

/* The run's CGP parameters: the magic line, a comment, then the parameter table's file lines
 * (cgp_params_write / cgp_params_parse: every parameter once, each range-checked). */
cgpc_status cgp_config_save(const char *dir, const struct cgp_params *p, struct cgpc_err *err);
cgpc_status cgp_config_load(const char *dir, struct cgp_params *p, struct cgpc_err *err);

/* ---- checkpoint ------------------------------------------------------------------------------ */

struct cgp_pareto_point {
    int64_t err_sum;
    double error, energy, delay;
    int gates, stage;
    int64_t generation;
    char *circuit; /* one-token form (cgp_circuit_token) */
};

struct cgp_checkpoint {
    int done;          /* all runs finished */
    int run, stage;    /* stage == n_thresholds: the run's stages are done, finish the run */
    int started;       /* 1: inside the stage (genes = parent), 0: the stage has not begun */
    int64_t generation, stage_gens, since_improve, journal_bytes;
    double stage_seconds, run_seconds;
    const struct cgp_stage_result *results; /* n_results finished stages, run-major */
    int n_results;
    const struct cgp_pareto_point *points;  /* the current run's Pareto archive */
    int n_points;
    const int32_t *genes;                   /* the parent, n_genes; NULL: none */
    int n_genes;
};

/* What a checkpoint must agree with (from config.txt and the data set). */
struct cgp_checkpoint_limits {
    int first_run, runs, n_thresholds;
    const double *thresholds; /* n_thresholds */
    int64_t generations;      /* per stage */
    int n_genes;              /* of the evolver's genome */
};

/* Write ck to dir/checkpoint (atomic). */
cgpc_status cgp_checkpoint_save(const struct cgp_checkpoint *ck, const char *dir,
                                struct cgpc_err *err);

/* Parse and fully validate a checkpoint: magic line; every key exactly once and in range;
 * `results N` rows matching the stages the (run, stage) position has finished, each with its
 * stage's threshold; Pareto points with their stage in range; the gene count. Genes are
 * range-checked against the genome by the caller (cgp_genome_check). Messages name
 * name:line, the field and the expectation. ck's arrays are malloc'ed: cgp_checkpoint_free. */
cgpc_status cgp_checkpoint_parse(struct cgp_checkpoint *ck, const char *text, const char *name,
                                 const struct cgp_checkpoint_limits *lim, struct cgpc_err *err);
cgpc_status cgp_checkpoint_load(struct cgp_checkpoint *ck, const char *dir,
                                const struct cgp_checkpoint_limits *lim, struct cgpc_err *err);
void cgp_checkpoint_free(struct cgp_checkpoint *ck);

/* ---- results.csv, pareto.<run>.csv, best.<run>.<T>.chr ---------------------------------------- */

/* results.csv of n finished stages (run-major; run = first_run + i / n_thresholds); the
 * metric's values are converted per weight with kind and cared (cgp_per_weight). */
cgpc_status cgp_results_save(const char *dir, const struct cgp_stage_result *r, int n,
                             int first_run, int n_thresholds, enum cgp_error_kind kind,
                             int64_t cared, struct cgpc_err *err);

struct cgp_result_row {
    int run;
    double threshold;        /* per weight, int8 units */
    double threshold_metric; /* the same in the run's error metric */
    int reached;
    char best_file[256]; /* a plain file name inside the directory */
};
/* results.csv: header and every row checked (run >= 0, finite thresholds, reached yes|no, a
 * best_file that names best.<run>.<T>.chr of that row); an older cgpc's file (header
 * CGP_RESULTS_HEADER_V1) is refused with that said. *rows malloc'ed (free()). */
cgpc_status cgp_results_load(const char *dir, struct cgp_result_row **rows, int *n,
                             struct cgpc_err *err);
/* Copy results.csv (header checked) to out, e.g. stdout after a run. */
cgpc_status cgp_results_copy(const char *dir, FILE *out, struct cgpc_err *err);

/* pareto.<run>.csv; thresholds[] are the metric's (a point's stage indexes them). */
cgpc_status cgp_pareto_save(const char *dir, int run, const struct cgp_pareto_point *pts, int n,
                            const double *thresholds, enum cgp_error_kind kind, int64_t cared,
                            struct cgpc_err *err);
/* The (error per weight, energy_pj) columns of pareto.<run>.csv (header checked); CGPC_ERR_NOT_FOUND
 * when the run has none. *xy malloc'ed: 2 doubles per point. */
cgpc_status cgp_pareto_load_xy(const char *dir, int run, double **xy, int *n,
                               struct cgpc_err *err);

/* best.<run>.<T>.chr (T per weight) with a comment block (cgp_genome_save). */
cgpc_status cgp_best_save(const char *dir, int run, double per_weight,
                          const struct cgp_genome *g, const char *comment, struct cgpc_err *err);
/* The chromosome a results row names. */
cgpc_status cgp_best_load(const char *dir, const struct cgp_result_row *row,
                          struct cgp_genome *g, struct cgpc_err *err);

/* ---- slots.txt ------------------------------------------------------------------------------- */

cgpc_status cgp_slots_save(const char *dir, const int32_t *slot_of, int n_outputs, int n_slots,
                           struct cgpc_err *err);
/* *slot_of (n_outputs entries, malloc'ed) or NULL when the directory has no slots.txt; every
 * entry in [0, slots). */
cgpc_status cgp_slots_load(const char *dir, int n_outputs, int32_t **slot_of,
                           struct cgpc_err *err);

/* ---- statistics journal ---------------------------------------------------------------------- */

struct cgp_stats_row {
    int run;
    double threshold;        /* per weight, int8 units (cgp_per_weight) */
    double threshold_metric; /* the same in the metric's unit (what the evolver compares) */
    int64_t generation;
    double seconds;
    double error;            /* fit->error per weight */
    const struct cgp_fitness *fit;
    const char *circuit; /* the circuit field: cgp_journal_enc_next's full token or delta */
};
/* Append one row to an open journal; returns the bytes written or -1. */
int cgp_stats_write_row(FILE *fp, const struct cgp_stats_row *r);
/* Open statistics.<run>.csv.part: truncated to keep_bytes (> 0: resume; the file must hold at
 * least that many), or fresh with its header. *bytes: the committed length. */
cgpc_status cgp_stats_open(const char *dir, int run, int64_t keep_bytes, FILE **fp,
                           int64_t *bytes, struct cgpc_err *err);
/* statistics.<run>.csv.part -> statistics.<run>.csv.gz (atomic); the journal stays until
 * cgp_stats_drop_journal (after the checkpoint that no longer needs it). */
cgpc_status cgp_stats_finish(const char *dir, int run, struct cgpc_err *err);
/* Remove statistics.<run>.csv.part if statistics.<run>.csv.gz exists (the journal of a
 * finished run); nothing otherwise. */
void cgp_stats_drop_journal(const char *dir, int run);
/* Does run's journal exist as .part / as .gz? */
int cgp_stats_exists(const char *dir, int run, int part);

/* One run's journal, read whole (.gz, else .part), header checked, split into rows; deltas
 * are replayed, so every row holds its fields before the circuit (12, CGP_JOURNAL_FIELDS(3))
 * and its full circuit, unquoted. Journals of format v1 and v2 (an older cgpc, thresholds in
 * the metric's unit) are refused with a message saying so. */
struct cgp_stats {
    char *data;
    char **lines; /* rows (no header) */
    int n_lines;
    int version;  /* of the file: CGP_JOURNAL_VERSION */
};
cgpc_status cgp_stats_load(const char *dir, int run, struct cgp_stats *s, struct cgpc_err *err);
void cgp_stats_free(struct cgp_stats *s);
/* Fields of a cgp_stats_load row line: run, threshold (per weight), generation and the circuit
 * token (a pointer into line). 0 if the row is malformed. */
int cgp_stats_parse_row(const char *line, int *run, double *threshold, int64_t *generation,
                        const char **circuit);

/* ---- model.txt, experiment.exp (cgpc train) ---------------------------------------------------- */

cgpc_status cgp_model_record_save(const char *dir, const char *model_path, uint64_t fingerprint,
                                  struct cgpc_err *err);
cgpc_status cgp_model_record_load(const char *dir, char *model_path, size_t cap,
                                  uint64_t *fingerprint, struct cgpc_err *err);
/* DIR/experiment.exp: written from its text (src/exp makes it), path for reading. */
cgpc_status cgp_experiment_copy_save(const char *dir, const char *text, struct cgpc_err *err);
void cgp_experiment_copy_path(char *buf, size_t cap, const char *dir);

/* ---- data.txt --------------------------------------------------------------------------------- */

cgpc_status cgp_data_save(const char *dir, const struct cgp_dataset *ds, struct cgpc_err *err);
cgpc_status cgp_data_load(const char *dir, struct cgp_dataset *ds, struct cgpc_err *err);
/* Is ds the data set the directory's circuits were evolved on (data.txt: same shape, inputs,
 * targets and don't-cares)? CGPC_ERR_FORMAT saying what differs otherwise. */
cgpc_status cgp_data_check_same(const char *dir, const struct cgp_dataset *ds,
                                struct cgpc_err *err);

/* ---- whole directories ------------------------------------------------------------------------ */

/* One finished directory holding runs [first_run, first_run + count) of a larger run. */
struct cgp_rundir_part {
    const char *dir;
    int first_run, count;
};
/* Merge parts (in run order) into out: each part's per-run files of its own runs, the shared
 * files of part 0 (model.txt must be equal in every part), part 0's config.txt with runs and
 * first-run set to the whole run's (the others must agree on every other parameter), and one
 * results.csv (the header once, each part's rows in order). */
cgpc_status cgp_rundir_merge(const struct cgp_rundir_part *parts, int n, const char *out,
                             int runs, int first_run, struct cgpc_err *err);

/* The train directories args stand for: an arg holding an experiment.exp (or any arg without
 * such sub-directories) itself; an arg without one its sub-directories that hold one, in name
 * order (the layers of `cgpc train --all-layers`). *dirs: *n malloc'ed strings; free with
 * cgp_rundir_list_free (also after a failure). */
cgpc_status cgp_rundir_list(char *const *args, int n_args, char ***dirs, int *n,
                            struct cgpc_err *err);
void cgp_rundir_list_free(char **dirs, int n);

/* Does dir hold a run (a config.txt), a checkpoint? */
int cgp_rundir_has_run(const char *dir);
int cgp_rundir_has_checkpoint(const char *dir);
/* The files one merged directory takes from batch 0 (NULL-terminated; optional ones may be
 * missing): experiment.exp, model.txt, data.txt, slots.txt. */
extern const char *const cgp_rundir_shared_files[];

#endif
