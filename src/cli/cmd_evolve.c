/* cmd_evolve.c - `cgpc evolve`: evolve CGP circuits for a data set into an output directory,
 * or continue an interrupted run with --resume DIR. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "cgp/rundir.h"
#include "cli.h"
#include "commands.h"
#include "common/fileio.h"
#include "common/lock.h"
#include "common/parse.h"
#include "energy/energy.h"
#include "evolve_cli.h"
#include "train_progress.h"

struct evolve_opts {
    struct cli_common common;
    struct cgp_params p;
    const char *data;
    const char *out;
    const char *resume;
    const char *gate_costs;
    double progress_every;
    const char *param_text[CGP_PARAM_COUNT]; /* given on the command line, NULL if not */
    char thresholds[1024];                   /* --thresholds T... joined by spaces */
};

static void evolve_defaults(struct evolve_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    cgp_params_default(&o->p);
    o->progress_every = 60;
}

static void usage_line(FILE *out, const char *option, const char *arg, const char *help,
                       const char *def)
{
    char left[80];
    snprintf(left, sizeof left, "--%s%s%s", option, arg[0] ? " " : "", arg);
    cli_usage_option(out, 20, left, help, def);
}

void cmd_evolve_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc evolve --data FILE --out DIR [options]\n"
            "       cgpc evolve --resume DIR [--threads N] [--verbose]\n"
            "Evolve int8 CGP circuits that map the data set's inputs to its outputs: per error\n"
            "threshold, first reach it, then minimise energy, delay and gate count.\n"
            "Writes DIR/config.txt, data.txt, statistics.<run>.csv.gz, best.<run>.<T>.chr,\n"
            "pareto.<run>.csv, results.csv and a checkpoint (see docs/ARCHITECTURE.md).\n"
            "Thresholds are given in the error metric (--error); files, results.csv and the\n"
            "progress lines name them per weight (per output value, int8 units: se sqrt(T/N),\n"
            "mse sqrt(T), ae T/N for N cared outputs), the metric's value beside it.\n\n"
            "options:\n");
    usage_line(out, "data", "FILE", "data set, format 'cgpc-data v1' (required unless --resume)",
               "none");
    usage_line(out, "out", "DIR", "output directory (required unless --resume)", "none");
    usage_line(out, "resume", "DIR", "continue the run in DIR from its checkpoint", "off");
    usage_line(out, "gate-costs", "FILE", "gate cost table", "the built-in 45 nm table");
    usage_line(out, "progress-every", "SECONDS",
               "without a terminal (logs): a progress line this often and one at each "
               "threshold's end; on a terminal the line is live", "60");
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        const struct cgp_param_info *pi = &cgp_param_table[i];
        if (!(pi->where & CGP_PF_CLI))
            continue;
        char option[64];
        snprintf(option, sizeof option, "%s", pi->name);
        for (char *c = option; *c; c++)
            *c = *c == '_' ? '-' : *c;
        int flag = pi->type == CGP_PT_BOOL;
        usage_line(out, option, flag ? "" : pi->arg, pi->help,
                   flag ? (strcmp(pi->def, "0") ? "on" : "off") : pi->def);
    }
    fprintf(out, CLI_COMMON_USAGE "\n" CLI_EXIT_STATUS_HELP);
}

enum {
    OPT_DATA = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_OUT,
    OPT_RESUME,
    OPT_COSTS,
    OPT_PROGRESS_EVERY,
    OPT_PARAM
};

/* The command's own options, one per CGP_PF_CLI parameter (plus --mse-thresholds), the shared
 * ones. Option names point into names[]. */
static void evolve_long_options(struct option *opts, char names[][64])
{
    int n = 0;
    opts[n++] = (struct option){"data", required_argument, NULL, OPT_DATA};
    opts[n++] = (struct option){"out", required_argument, NULL, OPT_OUT};
    opts[n++] = (struct option){"resume", required_argument, NULL, OPT_RESUME};
    opts[n++] = (struct option){"gate-costs", required_argument, NULL, OPT_COSTS};
    opts[n++] = (struct option){"progress-every", required_argument, NULL, OPT_PROGRESS_EVERY};
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        const struct cgp_param_info *pi = &cgp_param_table[i];
        if (!(pi->where & CGP_PF_CLI))
            continue;
        snprintf(names[i], 64, "%s", pi->name);
        for (char *c = names[i]; *c; c++)
            *c = *c == '_' ? '-' : *c;
        int has_arg = pi->type == CGP_PT_BOOL ? no_argument : required_argument;
        opts[n++] = (struct option){names[i], has_arg, NULL, OPT_PARAM + i};
        if (i == CGP_PARAM_thresholds) /* the thesis's name */
            opts[n++] = (struct option){"mse-thresholds", has_arg, NULL, OPT_PARAM + i};
    }
    const struct option common[] = {CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
    memcpy(opts + n, common, sizeof common);
}

/* Thresholds: the option's argument, then following arguments that are numbers. */
static int gather_thresholds(struct evolve_opts *o, const char *first, int argc, char **argv)
{
    size_t n = (size_t)snprintf(o->thresholds, sizeof o->thresholds, "%s", first);
    double dummy;
    while (optind < argc && argv[optind][0] != '-' &&
           cgpc_parse_double(argv[optind], 0, 1e300, &dummy, NULL) == CGPC_OK) {
        n += (size_t)snprintf(o->thresholds + n, sizeof o->thresholds - n, " %s",
                              argv[optind++]);
        if (n >= sizeof o->thresholds)
            return cli_usage_error("evolve", "--thresholds: list too long");
    }
    o->param_text[CGP_PARAM_thresholds] = o->thresholds;
    return 0;
}

static int parse_evolve(struct evolve_opts *o, int argc, char **argv)
{
    struct cgpc_err err = {0};
    static char names[CGP_PARAM_COUNT][64];
    struct option opts[CGP_PARAM_COUNT + 16];
    evolve_long_options(opts, names);
    cli_getopt_reset();
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int c = cli_common_option("evolve", opt, optarg, &o->common);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        int id = opt - OPT_PARAM;
        if (id == CGP_PARAM_thresholds) {
            int rc = gather_thresholds(o, optarg, argc, argv);
            if (rc)
                return rc;
        } else if (id >= 0 && id < CGP_PARAM_COUNT) {
            o->param_text[id] = optarg ? optarg : "1";
        } else if (opt == OPT_DATA) {
            o->data = optarg;
        } else if (opt == OPT_OUT) {
            o->out = optarg;
        } else if (opt == OPT_RESUME) {
            o->resume = optarg;
        } else if (opt == OPT_COSTS) {
            o->gate_costs = optarg;
        } else if (opt == OPT_PROGRESS_EVERY) {
            if (cgpc_parse_double(optarg, 0, 1e9, &o->progress_every, &err) != CGPC_OK)
                return cli_usage_error("evolve", "--progress-every: %s", err.msg);
        } else {
            return cli_usage_error("evolve", "unknown option or missing value: '%s'",
                                   argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (optind < argc)
        return cli_usage_error("evolve", "unexpected argument '%s'", argv[optind]);
    /* in table order, whatever the order on the command line */
    for (int i = 0; i < CGP_PARAM_COUNT; i++)
        if (o->param_text[i] && cgp_param_set(&o->p, i, o->param_text[i], &err) != CGPC_OK)
            return cli_option_value_error("evolve", names[i], &err);
    for (int i = 0; o->resume && i < CGP_PARAM_COUNT; i++)
        if (o->param_text[i] && (cgp_param_table[i].where & CGP_PF_FILE))
            return cli_usage_error("evolve", "--resume %s continues the run with the settings of "
                                   "its config.txt: --%s cannot change them (start a new run "
                                   "in another --out instead)", o->resume, names[i]);
    if (o->resume && (o->data || o->out))
        return cli_usage_error("evolve", "--resume DIR takes its data and settings from DIR; "
                               "do not combine it with --data or --out");
    if (!o->resume && (!o->data || !o->out))
        return cli_usage_error("evolve", "--data FILE and --out DIR are required");
    o->p.seed = o->common.seed;
    return 0;
}

int cmd_evolve(int argc, char **argv)
{
    struct evolve_opts o;
    struct cgpc_err err = {0};
    struct cgp_dataset ds = {0};
    struct energy_gate_table table;
    evolve_defaults(&o);
    int rc = parse_evolve(&o, argc, argv);
    if (rc)
        return rc;
    if (o.common.help) {
        cmd_evolve_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_common_apply(&o.common);
    energy_gate_table_default(&table);
    if (o.gate_costs && energy_gate_table_load(&table, o.gate_costs, &err) != CGPC_OK)
        return cli_report("evolve", &err, 1);
    if (!o.resume) {
        if (cgp_dataset_load(&ds, o.data, &err) != CGPC_OK)
            return cli_report("evolve", &err, 0);
        if (cgp_params_check(&o.p, &ds, &err) != CGPC_OK) {
            cgp_dataset_free(&ds);
            return cli_report("evolve", &err, 1);
        }
    }
    struct evolve_cli_signals sig;
    evolve_cli_signals_install(&sig, 0);
    struct train_progress prog;
    train_progress_init(&prog, stderr, cli_progress_enabled(), o.progress_every, 1);
    struct cgp_callbacks cb = {train_progress_report, &prog, &evolve_cli_stop};
    struct cgp_totals tot;
    const char *dir = o.resume ? o.resume : o.out;
    struct cgpc_dir_lock lock; /* one writer per directory; the checks below run under it */
    cgpc_status st = cgpc_dir_lock_writer(&lock, dir, !o.resume, &err);
    if (st == CGPC_OK)
        st = cgp_evolve_dir(&o.p, o.resume ? NULL : &ds, &table, dir, o.resume != NULL, &cb,
                            &tot, &err);
    cgpc_dir_unlock(&lock);
    evolve_cli_signals_restore(&sig);
    cgp_dataset_free(&ds);
    train_progress_end(&prog);
    if (st == CGPC_ERR_INTERRUPTED)
        return cli_stopped("evolve", &err);
    if (st != CGPC_OK)
        return cli_report("evolve", &err, st == CGPC_ERR_ARG || st == CGPC_ERR_RANGE);
    double s = tot.seconds > 0 ? tot.seconds : 1e-9;
    printf("generations %" PRId64 " in %.3f s: %.0f generations/s; offspring evaluated %" PRId64
           " (%.0f/s), skipped as neutral %" PRId64 "; node x item evaluations %.4g/s\n",
           tot.generations, tot.seconds, (double)tot.generations / s, tot.evaluations,
           (double)tot.evaluations / s, tot.skipped, (double)tot.node_evals / s);
    if (cgp_results_copy(dir, stdout, &err) != CGPC_OK)
        return cli_report("evolve", &err, 0);
    return CLI_EXIT_OK;
}
