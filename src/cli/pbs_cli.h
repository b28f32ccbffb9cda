/* pbs_cli.h - (private to the `cgpc pbs` files) the parsed options of `cgpc pbs SUBCOMMAND`
 * and one entry point per subcommand: cmd_pbs.c parses and dispatches, cmd_pbs_<sub>.c runs
 * one subcommand through src/pbs/jobctl.h and prints. */
#ifndef CGPC_PBS_CLI_H
#define CGPC_PBS_CLI_H

#include "cli.h"
#include "exp_cli.h"

enum {
    PBS_OPT_OUT = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    PBS_OPT_TIME_LIMIT,
    PBS_OPT_MEM,
    PBS_OPT_SCRATCH,
    PBS_OPT_NCPUS,
    PBS_OPT_BATCHES,
    PBS_OPT_QUEUE,
    PBS_OPT_TEMPLATE,
    PBS_OPT_MARGIN,
    PBS_OPT_NO_SUBMIT,
    PBS_OPT_JSON,
};

/* Which subcommand takes which option (bit i: option PBS_OPT_OUT + i). */
#define PBS_BIT(o) (1u << ((o) - PBS_OPT_OUT))

struct pbs_opts;
struct pbs_subcommand {
    const char *name;
    unsigned opts;
    int takes_experiment; /* 1: EXPERIMENT, 0: DIR */
    int (*run)(const struct pbs_opts *o);
};

struct pbs_opts {
    struct cli_common common;
    const struct pbs_subcommand *sub;
    const char *arg;  /* EXPERIMENT or DIR */
    const char *out;
    double walltime_s;
    double margin_s;  /* < 0: the default for the walltime */
    const char *mem, *scratch, *queue, *template_name;
    int ncpus, batches, no_submit, json;
    unsigned given;   /* PBS_BIT(option) for each option given */
    struct exp_cli_overrides overrides;
};

/* --time-limit is the walltime here, not the experiment's per-run limit. */
extern const char *const pbs_excluded_keys[];

int cmd_pbs_generate(const struct pbs_opts *o); /* generate, and submit unless --no-submit */
int cmd_pbs_status(const struct pbs_opts *o);
int cmd_pbs_resubmit(const struct pbs_opts *o);
int cmd_pbs_merge(const struct pbs_opts *o);

/* pbs.conf of DIR, or the error printed and CLI_EXIT_FAILURE. */
struct pbs_job;
int pbs_cli_load_job(const char *dir, struct pbs_job *job);

/* path made absolute against the working directory, trailing slashes removed. */
void pbs_cli_absolute(const char *path, char *out, size_t cap);

#endif
