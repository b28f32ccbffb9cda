/* exp_cli.h - experiment keys as command-line overrides, shared by `cgpc train` and
 * `cgpc pbs`: every key of src/exp/config.c becomes --key-with-dashes VALUE (plus the alias
 * --mse-thresholds for thresholds), its usage line is generated from the key table, and
 * applying them records origin "--key". */
#ifndef CGPC_CLI_EXP_CLI_H
#define CGPC_CLI_EXP_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "../exp/config.h"

#define EXP_CLI_OPT_BASE 0x2000 /* getopt values EXP_CLI_OPT_BASE + key index */
#define EXP_CLI_MAX_OPTIONS 96

/* Append one long option per experiment key (minus `exclude`, a NULL-terminated list of key
 * names; may be NULL) to opts, which holds n entries and has room for EXP_CLI_MAX_OPTIONS;
 * returns the new count. Option names point into static storage. */
int exp_cli_add_options(struct option *opts, int n, const char *const *exclude);

/* If opt is an experiment-key option, record (key, arg) to apply later and return 1; else 0.
 * Overrides are kept in order so that they can be applied after the file is loaded. */
struct exp_cli_overrides {
    int n;
    int key[64];
    const char *value[64];
};
int exp_cli_take(struct exp_cli_overrides *ov, int opt, const char *arg);

/* Apply recorded overrides to cfg; errors name the option. */
cgpc_status exp_cli_apply(const struct exp_cli_overrides *ov, struct exp_config *cfg,
                          struct cgpc_err *err);

/* Usage lines for the experiment keys (minus exclude), each with its default. */
void exp_cli_usage(FILE *out, const char *const *exclude);

#endif
