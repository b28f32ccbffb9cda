/* cmd_train.c - `cgpc train EXPERIMENT [overrides] --out DIR`: build the CGP data set from the
 * experiment's model and selectors, evolve (resumable), and record in DIR what rebuilding the
 * weights needs. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "cgp/rundir.h"
#include "common/fileio.h"
#include "common/lock.h"
#include "common/parallel.h"
#include "common/parse.h"
#include "energy/energy.h"
#include "evolve_cli.h"
#include "train_progress.h"
#include "exp/experiment.h"
#include "exp/resfile.h"
#include "exp/sweep.h"
#include "exp/traindir.h"
#include "exp_cli.h"

enum {
    OPT_OUT = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_RESUME,
    OPT_STOP_AFTER,
    OPT_GATE_COSTS,
    OPT_CHECKPOINT_EVERY,
    OPT_RUN_FIRST,
    OPT_RUN_COUNT,
    OPT_ALL_LAYERS,
    OPT_PROGRESS_EVERY,
};

struct train_opts {
    struct cli_common common;
    const char *experiment;
    const char *out;
    int resume;
    double stop_after;
    const char *gate_costs;
    double checkpoint_every;
    int checkpoint_every_given; /* on --resume: must equal the started run's */
    int run_first, run_count; /* run_count 0: all runs from run_first */
    int all_layers;
    double progress_every;
    struct exp_cli_overrides overrides;
};

/* --seed is the experiment key; --threads/--verbose/--help come from the common set. */
static const char *const train_common_excluded[] = {NULL};

static void train_defaults(struct train_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    struct cgp_params p;
    cgp_params_default(&p);
    o->checkpoint_every = p.checkpoint_every;
    o->progress_every = 60;
}

void cmd_train_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc train EXPERIMENT --out DIR [options] [--KEY VALUE ...]\n"
            "Evolve circuits that regenerate the weights an experiment file selects (see\n"
            "experiments/README.md): load its int8 model, build the CGP data set from the\n"
            "selected weights, run the evolver into DIR. DIR then holds experiment.exp (the\n"
            "effective configuration), model.txt (model path and fingerprint) and the evolver's\n"
            "files (config.txt, data.txt, statistics.<run>.csv.gz, best.<run>.<T>.chr,\n"
            "pareto.<run>.csv, results.csv, checkpoint); 'cgpc model-metrics DIR' measures them.\n\n"
            "options:\n"
            "  --out DIR                    output directory (required)\n"
            "  --resume                     continue from DIR's checkpoint if there is one, else\n"
            "                               start (default: off; without it DIR must not hold a run)\n"
            "  --stop-after SECONDS         stop cleanly with a checkpoint after this long, as on\n"
            "                               SIGTERM; also H:M:S (default: 0 = never)\n"
            "  --checkpoint-every SECONDS   seconds between checkpoints, 0 = only at threshold\n"
            "                               ends; a resumed run keeps the one it was started\n"
            "                               with (another value: exit 2) (default: %s)\n"
            "  --progress-every SECONDS     without a terminal (cluster logs): a progress line\n"
            "                               this often, and one at each threshold's end; on a\n"
            "                               terminal the line is live (default: 60)\n"
            "  --run-first N                first run to do, of the experiment's runs 0..runs-1;\n"
            "                               run r has the same seed and files in any split\n"
            "                               (default: 0)\n"
            "  --run-count N                how many runs from --run-first (default: 0 = the rest)\n"
            "  --all-layers                 run the experiment once per convolution of the model,\n"
            "                               with {layer} in the selectors set to its name, into\n"
            "                               DIR/<layer>/ (default: off)\n"
            "  --gate-costs FILE            gate cost table (default: built-in 45 nm table)\n"
            "  --threads N                  OpenMP threads (default: all cores, OMP_NUM_THREADS)\n"
            "  --verbose                    more output on stderr (default: off)\n"
            "  --help                       print this help and exit\n\n"
            "experiment keys (override the file; --seed sets the first run's seed):\n",
            cgp_param_table[CGP_PARAM_checkpoint_every].def);
    exp_cli_usage(out, train_common_excluded);
    fprintf(out, "\n" CLI_EXIT_STATUS_HELP);
}

static int parse_train(struct train_opts *o, int argc, char **argv)
{
    struct option opts[EXP_CLI_MAX_OPTIONS + 16] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"stop-after", required_argument, NULL, OPT_STOP_AFTER},
        {"gate-costs", required_argument, NULL, OPT_GATE_COSTS},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
        {"run-first", required_argument, NULL, OPT_RUN_FIRST},
        {"run-count", required_argument, NULL, OPT_RUN_COUNT},
        {"all-layers", no_argument, NULL, OPT_ALL_LAYERS},
        {"progress-every", required_argument, NULL, OPT_PROGRESS_EVERY},
        {"threads", required_argument, NULL, CLI_OPT_THREADS},
        {"verbose", no_argument, NULL, CLI_OPT_VERBOSE},
        {"help", no_argument, NULL, CLI_OPT_HELP},
    };
    exp_cli_add_options(opts, 12, train_common_excluded);
    cli_getopt_reset();
    int opt;
    struct cgpc_err err = {0};
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int handled = cli_common_option("train", opt, optarg, &o->common);
        if (handled < 0)
            return CLI_EXIT_USAGE;
        if (handled || exp_cli_take(&o->overrides, opt, optarg))
            continue;
        switch (opt) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_RESUME: o->resume = 1; break;
        case OPT_STOP_AFTER:
            if (cgpc_parse_duration(optarg, &o->stop_after, &err) != CGPC_OK)
                return cli_usage_error("train", "--stop-after: %s", err.msg);
            break;
        case OPT_GATE_COSTS: o->gate_costs = optarg; break;
        case OPT_CHECKPOINT_EVERY: { /* the CGP parameter's own range */
            struct cgp_params p;
            cgp_params_default(&p);
            if (cgp_param_set(&p, CGP_PARAM_checkpoint_every, optarg, &err) != CGPC_OK)
                return cli_usage_error("train", "%s", err.msg);
            o->checkpoint_every = p.checkpoint_every;
            o->checkpoint_every_given = 1;
            break;
        }
        case OPT_ALL_LAYERS: o->all_layers = 1; break;
        case OPT_PROGRESS_EVERY:
            if (cgpc_parse_double(optarg, 0, 1e9, &o->progress_every, &err) != CGPC_OK)
                return cli_usage_error("train", "--progress-every: %s", err.msg);
            break;
        case OPT_RUN_FIRST:
            if (cgpc_parse_int(optarg, 0, 1 << 20, &o->run_first, &err) != CGPC_OK)
                return cli_usage_error("train", "--run-first: %s", err.msg);
            break;
        case OPT_RUN_COUNT:
            if (cgpc_parse_int(optarg, 0, 1 << 20, &o->run_count, &err) != CGPC_OK)
                return cli_usage_error("train", "--run-count: %s", err.msg);
            break;
        case ':': return cli_usage_error("train", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (optind >= argc)
        return cli_usage_error("train", "an experiment file is required");
    if (optind + 1 < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind + 1]);
    o->experiment = argv[optind];
    if (!o->out)
        return cli_usage_error("train", "--out DIR is required");
    return 0;
}

/* Resuming out: the run in its config.txt must be the one now asked for (now: the experiment's
 * parameters with this invocation's runs and checkpoint interval). 0 or the exit status. */
static int check_started(const struct train_opts *o, const char *out,
                         const struct cgp_params *now)
{
    struct cgpc_err err = {0};
    struct cgp_params started;
    if (cgp_config_load(out, &started, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    if (started.first_run != now->first_run || started.runs != now->runs)
        return cli_usage_error("train", "--resume %s: the run was started for runs %d..%d, not "
                               "%d..%d (--run-first/--run-count must be those it was started "
                               "with)", out, started.first_run,
                               started.first_run + started.runs - 1, now->first_run,
                               now->first_run + now->runs - 1);
    /* config.txt edited by hand since: the run would silently change */
    struct cgp_params want = *now;
    want.checkpoint_every = started.checkpoint_every;   /* checked below */
    want.parallel_min_work = started.parallel_min_work; /* not in config.txt */
    want.stop_after = started.stop_after;
    char was[4096], is[4096];
    int k = cgp_params_diff(&started, &want, was, is, sizeof was);
    if (k >= 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/config.txt", out);
        cli_error("train", path, "%s is '%.200s', but experiment.exp gives '%.200s': config.txt "
                  "was changed after the run started (restore it, or start the experiment in "
                  "another --out)", cgp_param_table[k].name, was, is);
        return CLI_EXIT_FAILURE;
    }
    if (o->checkpoint_every_given && started.checkpoint_every != o->checkpoint_every)
        return cli_usage_error("train", "--resume %s: checkpoint-every: the run was started "
                               "with '%g', not '%g' (--checkpoint-every); a resumed run keeps "
                               "the settings of its config.txt", out,
                               started.checkpoint_every, o->checkpoint_every);
    return 0;
}

/* One experiment (one layer with --all-layers) into out, which the caller has locked. */
/* Residual mode: one line per file written (stored bits against plain entropy coding). */
static int print_residual(void *user, const struct exp_resid_row *r)
{
    (void)user;
    const struct exp_resid_info *f = &r->info;
    fprintf(stderr, "cgpc train: %s: run %d bound %d: %llu stored bits (circuit %llu, %d nodes + "
            "residual %llu: table %llu + stream %llu, entropy %.0f) vs %llu entropy-coded without "
            "a predictor: ratio %.4f\n", r->file, r->run, r->bound,
            (unsigned long long)f->stored_bits, (unsigned long long)f->circuit_bits, f->active,
            (unsigned long long)f->code.bits, (unsigned long long)f->code.table_bits,
            (unsigned long long)f->code.stream_bits, f->code.entropy_bits,
            (unsigned long long)r->plain.bits,
            r->plain.bits ? (double)f->stored_bits / (double)r->plain.bits : 0);
    return 0;
}

static int train_in_dir(const struct train_opts *o, const struct exp_config *cfg, const char *out,
                     const struct energy_gate_table *gates)
{
    struct cgpc_err err = {0};
    int resuming = o->resume && cgp_rundir_has_checkpoint(out);
    if (!resuming && cgp_rundir_has_run(out)) {
        cli_error("train", out,
                  o->resume ? "holds a finished run (no checkpoint left to resume)"
                           : "already holds a run; use --resume to continue it, or another --out");
        return o->resume ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }

    if (resuming && exp_traindir_check_resume(cfg, out, &err) != CGPC_OK)
        return cli_report("train", &err, 1);
    struct exp_setup s;
    if (exp_setup_init(&s, cfg, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    s.params.checkpoint_every = o->checkpoint_every;
    s.params.first_run = o->run_first; /* in range: check_run_range */
    s.params.runs = o->run_count ? o->run_count : s.params.runs - o->run_first;
    int rc = resuming ? check_started(o, out, &s.params) : 0;
    if (rc) {
        exp_setup_free(&s);
        return rc;
    }
    if (o->common.verbose)
        fprintf(stderr,
                "cgpc train: %s: %d item(s), %d inputs -> %d outputs (%" PRId64
                " weights), %d runs, grid %dx%d\n",
                exp_config_str(cfg, "name"), s.sel.n_items, s.sel.n_inputs, s.sel.n_outputs,
                s.n_weights_out, s.params.runs, s.params.rows, s.params.cols);

    cgpc_status st = cgpc_mkdirs(out, &err);
    if (st == CGPC_OK && !resuming)
        st = exp_traindir_save(&s, out, &err);
    if (st == CGPC_OK && !resuming)
        st = cgp_model_record_save(out, s.model_path, s.model_fingerprint, &err);
    if (st != CGPC_OK) {
        exp_setup_free(&s);
        return cli_report("train", &err, 0);
    }
    if (resuming)
        fprintf(stderr, "cgpc train: resuming %s from its checkpoint\n", out);

    struct evolve_cli_signals sig;
    evolve_cli_signals_install(&sig, o->stop_after);
    struct train_progress prog;
    train_progress_init(&prog, stderr, cli_progress_enabled(), o->progress_every, 0);
    struct cgp_callbacks cb = {train_progress_report, &prog, &evolve_cli_stop};
    struct cgp_totals tot;
    st = cgp_evolve_dir(resuming ? NULL : &s.params, resuming ? NULL : &s.ds, gates, out,
                        resuming, &cb, &tot, &err);
    evolve_cli_signals_restore(&sig);
    train_progress_end(&prog);
    if (st == CGPC_OK && exp_config_residual(cfg))
        st = exp_resid_write_dir(&s, out, print_residual, NULL, &err);
    exp_setup_free(&s);
    if (st == CGPC_ERR_INTERRUPTED) {
        fprintf(stderr, "cgpc train: stopped early; checkpoint saved in %s (continue with "
                        "--resume)\n", out);
        return CLI_EXIT_STOPPED;
    }
    if (st != CGPC_OK)
        return cli_report("train", &err, 0);
    double secs = tot.seconds > 0 ? tot.seconds : 1e-9;
    fprintf(stderr, "cgpc train: %" PRId64 " generations in %.1f s (%.0f/s)\n", tot.generations,
            tot.seconds, (double)tot.generations / secs);
    if (cgp_results_copy(out, stdout, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    return CLI_EXIT_OK;
}

/* --run-first/--run-count against the experiment's runs: a usage error, before DIR is made. */
static int check_run_range(const struct train_opts *o, const struct exp_config *cfg)
{
    int64_t total = exp_config_int(cfg, "runs");
    int64_t count = o->run_count ? o->run_count : total - o->run_first;
    if (o->run_first >= total || count < 1 || o->run_first + count > total)
        return cli_usage_error("train", "--run-first %d --run-count %d: the experiment has runs "
                               "0..%" PRId64, o->run_first, o->run_count, total - 1);
    return 0;
}

/* train_in_dir under out's writer lock: one writer per directory, and its "already holds a
 * run" check sees what the previous writer left, never a half-written directory. */
static int train_one(const struct train_opts *o, const struct exp_config *cfg, const char *out,
                     const struct energy_gate_table *gates)
{
    struct cgpc_err err = {0};
    struct cgpc_dir_lock lock;
    if (cgpc_dir_lock_writer(&lock, out, 1, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    int rc = train_in_dir(o, cfg, out, gates);
    cgpc_dir_unlock(&lock);
    return rc;
}

struct train_layer_ctx {
    const struct train_opts *o;
    const struct energy_gate_table *gates;
};

/* One step of the --all-layers sweep. */
static int train_layer(void *ctx, const struct exp_sweep_step *step)
{
    const struct train_layer_ctx *c = ctx;
    struct train_opts layer_opts = *c->o;
    layer_opts.stop_after = step->stop_after;
    fprintf(stderr, "cgpc train: layer %s -> %s\n", step->layer, step->dir);
    return train_one(&layer_opts, step->cfg, step->dir, c->gates);
}

int cmd_train(int argc, char **argv)
{
    struct train_opts o;
    train_defaults(&o);
    int rc = parse_train(&o, argc, argv);
    if (rc)
        return rc;
    if (o.common.help) {
        cmd_train_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_common_apply(&o.common);
    struct cgpc_err err = {0};
    struct exp_config cfg;
    exp_config_defaults(&cfg);
    if (exp_config_load(&cfg, o.experiment, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    if (exp_cli_apply(&o.overrides, &cfg, &err) != CGPC_OK)
        return cli_usage_error("train", "%s", err.msg);
    if (exp_config_validate(&cfg, &err) != CGPC_OK)
        return cli_report("train", &err, 1);
    if (!exp_config_str(&cfg, "name")[0]) {
        char base[256];
        const char *slash = strrchr(o.experiment, '/');
        snprintf(base, sizeof base, "%s", slash ? slash + 1 : o.experiment);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        exp_config_set(&cfg, "name", base, "file name", NULL);
    }

    if ((rc = check_run_range(&o, &cfg)))
        return rc;
    struct energy_gate_table table;
    energy_gate_table_default(&table);
    if (o.gate_costs && energy_gate_table_load(&table, o.gate_costs, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    if (!o.all_layers)
        return train_one(&o, &cfg, o.out, &table);

    /* --all-layers: every convolution of the model, one sub-directory each (src/exp/sweep) */
    struct train_layer_ctx ctx = {&o, &table};
    if (exp_sweep_layers(&cfg, o.out, o.stop_after, train_layer, &ctx, &rc, &err) != CGPC_OK)
        return cli_report("train", &err, 0);
    return rc;
}
