/* cli.h - what every `cgpc <command>` shares: the dispatch entry, exit codes, the one error
 * format ("cgpc <command>: <what>: <why>" on stderr), and the shared options
 * --threads, --seed, --verbose, --help.
 *
 * Each command lives in src/cli/cmd_<name>.c and owns: an options struct filled by one
 * defaults function, its getopt_long table (with CLI_COMMON_LONG_OPTIONS), and a usage text
 * that prints every option with its default. `--help` prints usage to stdout and exits 0;
 * misuse prints a one-line error plus "try 'cgpc help <command>'" to stderr and exits 2. */
#ifndef CGPC_CLI_H
#define CGPC_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/error.h"

#define CGPC_VERSION "0.1.0"

/* One exit-status convention for every command (also in README and `cgpc help`). */
enum {
    CLI_EXIT_OK = 0,      /* done */
    CLI_EXIT_FAILURE = 1, /* runtime failure: bad or missing file, I/O, a busy directory */
    CLI_EXIT_USAGE = 2,   /* bad command line: unknown option, bad value, missing argument */
    CLI_EXIT_STOPPED = 3  /* stopped early (signal, time limit) with a checkpoint that
                             --resume continues */
};
#define CLI_EXIT_STATUS_HELP                                                                  \
    "exit status: 0 ok, 1 runtime failure, 2 usage error, 3 stopped early with a checkpoint\n" \
    "             (train, evolve: continue with --resume)\n"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    void (*usage)(FILE *out);          /* full help text, every option with its default */
    const char *summary;               /* one line for `cgpc help` */
};

/* The table lives in main.c; NULL-name terminated. */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find_command(const char *name);

/* Shared options. Values >= 0x1000 never collide with short option characters. */
enum {
    CLI_OPT_THREADS = 0x1000,
    CLI_OPT_SEED,
    CLI_OPT_VERBOSE,
    CLI_OPT_HELP,
    CLI_OPT_FIRST_COMMAND_SPECIFIC = 0x1100
};
#define CLI_COMMON_LONG_OPTIONS                                   \
    {"threads", required_argument, NULL, CLI_OPT_THREADS},        \
    {"seed", required_argument, NULL, CLI_OPT_SEED},              \
    {"verbose", no_argument, NULL, CLI_OPT_VERBOSE},              \
    {"help", no_argument, NULL, CLI_OPT_HELP}
/* Usage lines for the shared options, for each command's usage text. */
#define CLI_COMMON_USAGE                                                              \
    "  --threads N          OpenMP threads (default: all cores, OMP_NUM_THREADS)\n"  \
    "  --seed N             random seed, 64-bit unsigned (default: 1)\n"             \
    "  --verbose            more progress output on stderr (default: off)\n"         \
    "  --help               print this help and exit\n"

struct cli_common {
    int threads;   /* 0: leave the OpenMP default */
    uint64_t seed; /* default 1 */
    int verbose;
    int help;
};
void cli_common_defaults(struct cli_common *c);

/* Handle one getopt result if it is a shared option. Returns 1 if handled, 0 if not a shared
 * option, -1 on a bad value (the error is already printed). */
int cli_common_option(const char *cmd, int opt, const char *arg, struct cli_common *c);

/* Apply --threads to OpenMP. */
void cli_common_apply(const struct cli_common *c);

/* Print "cgpc <cmd>: <what>: <why>\n" to stderr. */
void cli_error(const char *cmd, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print a usage error plus a hint and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a library error record; returns CLI_EXIT_USAGE for CGPC_ERR_ARG/RANGE raised while
 * validating options (pass is_usage=1), CLI_EXIT_FAILURE otherwise. In verbose mode the
 * source location is appended. */
int cli_report(const char *cmd, const struct cgpc_err *err, int is_usage);

/* A bad value of option --<option> (the name without dashes; '-' or '_' inside): prints
 * "usage: --<option>: <why>" and returns CLI_EXIT_USAGE. A leading "<option>: " that the
 * value's parser put in err->msg (its own name for the value, as in config files) is dropped,
 * so the message names the option once, as typed. */
int cli_option_value_error(const char *cmd, const char *option, const struct cgpc_err *err);
/* why without a leading "<name>: " (compared with '-' and '_' alike), else why itself. */
const char *cli_drop_name(const char *why, const char *name);

/* Report a stop with a checkpoint (CGPC_ERR_INTERRUPTED) and return CLI_EXIT_STOPPED. */
int cli_stopped(const char *cmd, const struct cgpc_err *err);

/* "--name" of the long option whose getopt value is `val` in `longopts` (for messages about
 * an option's value: argv[optind - 1] is the value itself when it was a separate argument),
 * or "option" if none has that value. */
const char *cli_option_name(const struct option *longopts, int val);

/* Nonzero when stderr is a terminal: show live progress lines. */
int cli_progress_enabled(void);

/* Find a directory shipped with cgpc (e.g. "pbs"): $ENV_VAR if set, else <exe dir>/../name,
 * else ./name. Fills out with its absolute path and returns 0, or returns -1 and fills out
 * with the places looked at (for the error message). */
int cli_find_resource(const char *name, const char *env_var, char *out, size_t cap);

/* Standard getopt loop prologue: resets getopt state so commands can be run repeatedly
 * (tests call command functions in-process). */
void cli_getopt_reset(void);

/* One usage line: "  LEFT  help (default: DEF)", LEFT padded to `width` columns, the text
 * wrapped at 95 columns under itself. */
void cli_usage_option(FILE *out, int width, const char *left, const char *help, const char *def);

#endif
