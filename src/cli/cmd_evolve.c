/* cmd_evolve.c - `cgpc evolve`: evolve CGP circuits for a data set into an output directory,
 * or continue an interrupted run with --resume DIR. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "cli.h"
#include "commands.h"
#include "common/fileio.h"
#include "common/parse.h"
#include "energy/energy.h"
#include "evolve_cli.h"

struct evolve_opts {
    struct cli_common common;
    struct cgp_params p;
    const char *data;
    const char *out;
    const char *resume;
    const char *gate_costs;
    const char *functions;
};

static void evolve_defaults(struct evolve_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    cgp_params_default(&o->p);
}

void cmd_evolve_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc evolve --data FILE --out DIR [options]\n"
            "       cgpc evolve --resume DIR [--threads N] [--verbose]\n"
            "Evolve int8 CGP circuits that map the data set's inputs to its outputs: per error\n"
            "threshold, first reach it, then minimise energy, delay and gate count.\n"
            "Writes DIR/config.txt, data.txt, statistics.<run>.csv.gz, best.<run>.<T>.chr,\n"
            "pareto.<run>.csv, results.csv and a checkpoint (see docs/ARCHITECTURE.md).\n\n"
            "options:\n"
            "  --data FILE            data set, format 'cgpc-data v1' (required unless --resume)\n"
            "  --out DIR              output directory (required unless --resume)\n"
            "  --resume DIR           continue the run in DIR from its checkpoint (default: off)\n"
            "  --rows N               grid rows (default: 8)\n"
            "  --cols N               grid columns (default: 8)\n"
            "  --levels-back N        levels-back L, 0 = cols (default: 0)\n"
            "  --lambda N             offspring per generation (default: 4)\n"
            "  --mutation-max F       mutate uniform [1, ceil(F * genes)] genes (default: 0.01)\n"
            "  --generations N        generations per threshold (default: 10000)\n"
            "  --patience N           end a threshold after N generations without improvement,\n"
            "                         0 = off (default: 0)\n"
            "  --time-limit T         seconds (or H:M:S) per threshold, 0 = off; runs ended by\n"
            "                         time are not reproducible (default: 0)\n"
            "  --error KIND           se, mse or ae over the cared outputs (default: mse)\n"
            "  --mse-thresholds T...  error thresholds, space- or comma-separated, run in the\n"
            "                         given order as a chain (default: 0)\n"
            "  --independent          every threshold starts from a fresh random circuit instead\n"
            "                         of the previous threshold's best (default: chain)\n"
            "  --functions LIST       operators, comma-separated ops.h names (default: the\n"
            "                         thesis's 27: rsub127..const127)\n"
            "  --multiplex            multi-layer mode: items are layers, mux2/mux4 (selected by\n"
            "                         the item index) join the function set (default: off)\n"
            "  --value-slots          for data without inputs: outputs needing the same values\n"
            "                         share one circuit output (each value made once); best\n"
            "                         files are wired back to every output (default: off)\n"
            "  --gate-costs FILE      gate cost table (default: the built-in 45 nm table)\n"
            "  --runs N               independent runs (default: 1)\n"
            "  --checkpoint-every S   seconds between checkpoints (default: 60)\n"
            "  --parallel-min-us US   use the threads only while a generation takes >= US\n"
            "                         microseconds on one thread (re-measured every 4096\n"
            "                         generations); 0 = always; never changes results\n"
            "                         (default: 30)\n"
            "  --stop-after-generations N\n"
            "                         stop as if interrupted after N generations of the run, for\n"
            "                         testing --resume (default: 0 = off)\n" CLI_COMMON_USAGE);
}

enum {
    OPT_DATA = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_OUT, OPT_RESUME, OPT_ROWS, OPT_COLS, OPT_LB, OPT_LAMBDA, OPT_MUT, OPT_GENS,
    OPT_PATIENCE, OPT_TIME, OPT_ERROR, OPT_THRESH, OPT_INDEP, OPT_FUNCS, OPT_MUX, OPT_COSTS,
    OPT_RUNS, OPT_CKPT, OPT_STOP_AFTER, OPT_SLOTS, OPT_PAR_MIN
};

static const struct option evolve_long[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"out", required_argument, NULL, OPT_OUT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"cols", required_argument, NULL, OPT_COLS},
    {"levels-back", required_argument, NULL, OPT_LB},
    {"lambda", required_argument, NULL, OPT_LAMBDA},
    {"mutation-max", required_argument, NULL, OPT_MUT},
    {"generations", required_argument, NULL, OPT_GENS},
    {"patience", required_argument, NULL, OPT_PATIENCE},
    {"time-limit", required_argument, NULL, OPT_TIME},
    {"error", required_argument, NULL, OPT_ERROR},
    {"mse-thresholds", required_argument, NULL, OPT_THRESH},
    {"independent", no_argument, NULL, OPT_INDEP},
    {"functions", required_argument, NULL, OPT_FUNCS},
    {"multiplex", no_argument, NULL, OPT_MUX},
    {"gate-costs", required_argument, NULL, OPT_COSTS},
    {"value-slots", no_argument, NULL, OPT_SLOTS},
    {"parallel-min-us", required_argument, NULL, OPT_PAR_MIN},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"checkpoint-every", required_argument, NULL, OPT_CKPT},
    {"stop-after-generations", required_argument, NULL, OPT_STOP_AFTER},
    CLI_COMMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0}};

/* Thresholds: the option's argument, then following arguments that are numbers. */
static int parse_thresholds(struct evolve_opts *o, const char *first, int argc, char **argv)
{
    struct cgpc_err err = {0};
    o->p.n_thresholds = 0;
    const char *arg = first;
    for (;;) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", arg);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            if (o->p.n_thresholds >= CGP_MAX_THRESHOLDS)
                return cli_usage_error("evolve", "--mse-thresholds: at most %d values",
                                       CGP_MAX_THRESHOLDS);
            if (cgpc_parse_double(tok, 0, 1e300, &o->p.thresholds[o->p.n_thresholds++], &err))
                return cli_usage_error("evolve", "--mse-thresholds: %s", err.msg);
        }
        double dummy;
        if (optind < argc && argv[optind][0] != '-' &&
            cgpc_parse_double(argv[optind], 0, 1e300, &dummy, NULL) == CGPC_OK)
            arg = argv[optind++];
        else
            break;
    }
    if (o->p.n_thresholds == 0)
        return cli_usage_error("evolve", "--mse-thresholds: no value given");
    return 0;
}

static int parse_evolve(struct evolve_opts *o, int argc, char **argv)
{
    struct cgpc_err err = {0};
    cli_getopt_reset();
    int opt;
#define NUM(fn, ...)                                                                   \
    do {                                                                               \
        if (fn(optarg, __VA_ARGS__, &err) != CGPC_OK)                                  \
            return cli_usage_error("evolve", "%s: %s", argv[optind - 1], err.msg);    \
    } while (0)
    while ((opt = getopt_long(argc, argv, "", evolve_long, NULL)) != -1) {
        int c = cli_common_option("evolve", opt, optarg, &o->common);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        switch (opt) {
        case OPT_DATA: o->data = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_ROWS: NUM(cgpc_parse_int, 1, 1 << 20, &o->p.rows); break;
        case OPT_COLS: NUM(cgpc_parse_int, 1, 1 << 20, &o->p.cols); break;
        case OPT_LB: NUM(cgpc_parse_int, 0, 1 << 20, &o->p.levels_back); break;
        case OPT_LAMBDA: NUM(cgpc_parse_int, 1, 1024, &o->p.lambda); break;
        case OPT_MUT: NUM(cgpc_parse_double, 1e-9, 1, &o->p.mutation_max); break;
        case OPT_GENS: NUM(cgpc_parse_i64, 1, INT64_MAX, &o->p.generations); break;
        case OPT_PATIENCE: NUM(cgpc_parse_i64, 0, INT64_MAX, &o->p.patience); break;
        case OPT_TIME:
            if (cgpc_parse_duration(optarg, &o->p.time_limit, &err) != CGPC_OK)
                return cli_usage_error("evolve", "--time-limit: %s", err.msg);
            break;
        case OPT_ERROR: {
            int k = cgp_error_kind_from_name(optarg);
            if (k < 0)
                return cli_usage_error("evolve", "--error: '%s': expected se, mse or ae", optarg);
            o->p.error_kind = (enum cgp_error_kind)k;
            break;
        }
        case OPT_THRESH: {
            int rc = parse_thresholds(o, optarg, argc, argv);
            if (rc)
                return rc;
            break;
        }
        case OPT_INDEP: o->p.independent = 1; break;
        case OPT_FUNCS: o->functions = optarg; break;
        case OPT_MUX: o->p.multiplex = 1; break;
        case OPT_SLOTS: o->p.value_slots = 1; break;
        case OPT_PAR_MIN: NUM(cgpc_parse_double, 0, 1e9, &o->p.parallel_min_us); break;
        case OPT_COSTS: o->gate_costs = optarg; break;
        case OPT_RUNS: NUM(cgpc_parse_int, 1, 1 << 20, &o->p.runs); break;
        case OPT_CKPT: NUM(cgpc_parse_double, 0, 1e12, &o->p.checkpoint_every); break;
        case OPT_STOP_AFTER: NUM(cgpc_parse_i64, 0, INT64_MAX, &o->p.stop_after); break;
        default:
            return cli_usage_error("evolve", "unknown option or missing value: '%s'",
                                   argv[optind - 1]);
        }
    }
#undef NUM
    if (o->common.help)
        return 0;
    if (optind < argc)
        return cli_usage_error("evolve", "unexpected argument '%s'", argv[optind]);
    if (o->functions && cgp_params_set_functions(&o->p, o->functions, &err) != CGPC_OK)
        return cli_usage_error("evolve", "--functions: %s", err.msg);
    if (o->p.multiplex && !o->functions) {
        o->p.functions[o->p.n_functions++] = CGPC_OP_MUX2;
        o->p.functions[o->p.n_functions++] = CGPC_OP_MUX4;
    }
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
    struct cgp_callbacks cb = {cli_progress_enabled() ? evolve_cli_progress : NULL, NULL,
                               &evolve_cli_stop};
    struct cgp_totals tot;
    const char *dir = o.resume ? o.resume : o.out;
    cgpc_status st = cgp_evolve_dir(&o.p, o.resume ? NULL : &ds, &table, dir, o.resume != NULL,
                                    &cb, &tot, &err);
    evolve_cli_signals_restore(&sig);
    cgp_dataset_free(&ds);
    if (cb.progress)
        fputc('\n', stderr);
    if (st != CGPC_OK)
        return cli_report("evolve", &err, st == CGPC_ERR_ARG || st == CGPC_ERR_RANGE);
    double s = tot.seconds > 0 ? tot.seconds : 1e-9;
    printf("generations %" PRId64 " in %.3f s: %.0f generations/s; offspring evaluated %" PRId64
           ", skipped as neutral %" PRId64 "; node evaluations %.4g/s\n",
           tot.generations, tot.seconds, (double)tot.generations / s, tot.evaluations,
           tot.skipped, (double)tot.node_evals / s);
    char path[4200];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    unsigned char *res = NULL;
    size_t len = 0;
    if (cgpc_read_file(path, &res, &len, &err) == CGPC_OK)
        fwrite(res, 1, len, stdout);
    free(res);
    return CLI_EXIT_OK;
}
