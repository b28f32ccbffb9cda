/* cmd_model_metrics.c - `cgpc model-metrics DIR...`: accuracy (validation and test), stored
 * bits, compression and energy per inference of the models rebuilt with the best evolved
 * circuits of `cgpc train` directories, beside the no-search reference (the same weights
 * re-quantized to 1..7 bits), as a table, CSV files (per row and summary over runs) and gnuplot
 * plots; model files (--compare: low-bit, Deep Compression, float32, int8) as rows of their own
 * (model_metrics_compare.c). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"
#include "cli.h"
#include "export_cli.h"
#include "commands.h"
#include "common/fileio.h"
#include "common/lock.h"
#include "common/parse.h"
#include "energy/energy.h"
#include "energy/storage.h"
#include "exp/metrics.h"
#include "exp/summary.h"
#include "model_metrics_cli.h"
#include "nn_cli.h"

enum {
    OPT_TOP = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_DATASET,
    OPT_LIMIT,
    OPT_OUT,
    OPT_PLOT,
    OPT_MEMORY,
    OPT_GATE_COSTS,
    OPT_DEPLOYMENT,
    OPT_BATCH,
    OPT_NO_REFERENCE,
    OPT_COMPARE,
};

struct metrics_opts {
    struct cli_common common;
    int top;             /* 0: each experiment's top */
    const char *dataset; /* NULL: each experiment's own */
    int limit;           /* -1: each experiment's eval_limit */
    const char *out;
    const char *plot;
    const char *memory;
    const char *gate_costs;
    enum storage_deployment deployment;
    int batch;
    int reference;
    char **compare; /* model files measured as rows of their own (--compare, FILE arguments) */
    int n_compare;
};

static void metrics_defaults(struct metrics_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->top = 0; /* each experiment's top key */
    o->limit = -1;
    o->memory = "dram";
    o->deployment = STORAGE_DEPLOY_STORED;
    o->batch = 1;
    o->reference = 1;
}

#define CSV_COLUMNS                                                                               \
    "experiment,dir,layers,method,bits,run,threshold,metric,threshold_metric,reached,rank,"      \
    "generation,error_se,error_mse,circuit_eval_pj,delay_ns,area_um2,gates,active,"             \
    "weights_replaced,stored_bits,circuit_bits,index_bits,decode_bits,compression_vs_float32,"   \
    "compression_vs_int8,deployment,batch,memory,read_pj,mac_pj,circuit_pj,inference_pj,"       \
    "baseline_pj,saving_pj,saving_pct,replaced_sram_um2,replaced_rom_um2,val_top1,val_top5,"    \
    "val_loss,test_top1,test_top5,test_loss,baseline_val_top1,baseline_test_top1,val_images,"   \
    "test_images"

void cmd_model_metrics_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc model-metrics [DIR...] [FILE...] [options]\n"
            "For the best circuits of every run and threshold in each 'cgpc train' directory,\n"
            "regenerate the weights, substitute them into the int8 model and measure top-1,\n"
            "top-5 and loss on the validation split (choose with it) and on the test split\n"
            "(report it), against the unchanged model. Every row gets the model's stored bits\n"
            "(kept int8 codes, biases, scales, the circuit's bit-packed description, slot\n"
            "indices), compression vs float32 and int8, and the energy of one inference from\n"
            "those bits: saving_%% is against the int8 model. Beside the circuits come the\n"
            "no-search reference rows (method requant): the same selected weights uniformly\n"
            "re-quantized to 1..7 bits, same accounting. Thresholds are per-weight errors in\n"
            "int8 units, as in experiment files; threshold_metric is the same in the\n"
            "experiment's error metric. Prints a table; --out F.csv writes one row per circuit\n"
            "with columns\n  " CSV_COLUMNS "\n"
            "and F.summary.csv (mean, std and 95%% interval over runs per threshold, and the\n"
            "circuit chosen by validation). Choice: per threshold, among every run and rank,\n"
            "the circuit with the highest validation top-1 (ties: higher saving, then the\n"
            "first); its test top-1 is the one to report (table after the rows).\n\n"
            "options:\n"
            "  --top N             circuits per run and threshold: the best, then earlier\n"
            "                      improvements (default: each experiment's top key, 1)\n"
            "  --dataset D         mnist, fashion-mnist or DIR (default: each experiment's)\n"
            "  --limit N           evaluate the first N images of each split, 0 = all\n"
            "                      (default: each experiment's eval_limit)\n"
            "  --out FILE.csv      write the rows as CSV, and FILE.summary.csv (default: none)\n"
            "  --plot DIR          write gnuplot plots (PNG and SVG): accuracy vs energy saving,\n"
            "                      accuracy vs stored bits, accuracy vs threshold, circuit\n"
            "                      energy vs error Pareto fronts, and the best circuit of each\n"
            "                      threshold drawn by Graphviz (circuit.<name>.<T>.png/svg/dot)\n"
            "                      (default: none)\n"
            "  --memory M          dram, sram-8k, sram-32k, sram-1m or a memory file (default: dram)\n"
            "  --gate-costs FILE   gate cost table (default: built-in 45 nm table)\n"
            "  --deployment D      stored: the circuit description and slot indices are read\n"
            "                      from memory like weights; hardwired: the circuit is fixed\n"
            "                      logic (not read), compare its area_um2 with replaced_sram_um2\n"
            "                      and replaced_rom_um2 (default: stored)\n"
            "  --batch B           images per batch: every stored part is read once per batch\n"
            "                      (default: 1)\n"
            "  --no-reference      leave out the re-quantization reference rows (default: off)\n"
            "  --compare FILE      (repeatable, or FILE as an argument) one row and plot series\n"
            "                      per model file: float32, int8, low-bit or Deep Compression,\n"
            "                      same accounting; data: --dataset, else the file's (default: none)\n"
            CLI_COMMON_USAGE);
}

static int parse_metrics(struct metrics_opts *o, int argc, char **argv, int *first_dir)
{
    static const struct option opts[] = {
        {"top", required_argument, NULL, OPT_TOP},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"out", required_argument, NULL, OPT_OUT},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"gate-costs", required_argument, NULL, OPT_GATE_COSTS},
        {"deployment", required_argument, NULL, OPT_DEPLOYMENT},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"no-reference", no_argument, NULL, OPT_NO_REFERENCE},
        {"compare", required_argument, NULL, OPT_COMPARE},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_getopt_reset();
    int opt;
    struct cgpc_err err = {0};
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int handled = cli_common_option("model-metrics", opt, optarg, &o->common);
        if (handled < 0)
            return CLI_EXIT_USAGE;
        if (handled)
            continue;
        switch (opt) {
        case OPT_TOP:
            if (cgpc_parse_int(optarg, 1, 1000000, &o->top, &err) != CGPC_OK)
                return cli_usage_error("model-metrics", "--top: %s", err.msg);
            break;
        case OPT_DATASET: o->dataset = optarg; break;
        case OPT_LIMIT:
            if (cgpc_parse_int(optarg, 0, 1 << 30, &o->limit, &err) != CGPC_OK)
                return cli_usage_error("model-metrics", "--limit: %s", err.msg);
            break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_PLOT: o->plot = optarg; break;
        case OPT_MEMORY: o->memory = optarg; break;
        case OPT_GATE_COSTS: o->gate_costs = optarg; break;
        case OPT_DEPLOYMENT:
            if (storage_deployment_parse(optarg, &o->deployment, &err) != CGPC_OK)
                return cli_usage_error("model-metrics", "--deployment: %s", err.msg);
            break;
        case OPT_BATCH:
            if (cgpc_parse_int(optarg, 1, 1 << 30, &o->batch, &err) != CGPC_OK)
                return cli_usage_error("model-metrics", "--batch: %s", err.msg);
            break;
        case OPT_NO_REFERENCE: o->reference = 0; break;
        case OPT_COMPARE: o->compare[o->n_compare++] = optarg; break;
        case ':': return cli_usage_error("model-metrics", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("model-metrics", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (optind >= argc && !o->n_compare)
        return cli_usage_error("model-metrics", "give a 'cgpc train' directory or a model file");
    *first_dir = optind;
    return 0;
}


static void print_header(void)
{
    printf("%-20s %-9s %3s %6s %4s %8s %5s %10s %6s %8s %7s %7s\n", "experiment", "method", "run",
           "thr/w", "rank", "err/w", "gates", "stored_b", "compr", "saving_%", "val", "test");
}

static int on_row(void *user, const struct exp_metrics_row *r)
{
    struct row_sink *k = user;
    int req = strcmp(r->method, "requant") == 0;
    if (k->n_rows == 0)
        print_header();
    char method[56], run[16], thr[16];
    if (isnan(r->threshold)) /* requant and model-file rows: no threshold */
        snprintf(thr, sizeof thr, "-");
    else
        snprintf(thr, sizeof thr, "%g", r->threshold);
    if (req)
        snprintf(method, sizeof method, "requant%d", r->bits);
    else
        snprintf(method, sizeof method, "%s", r->method);
    if (r->run < 0)
        snprintf(run, sizeof run, "-");
    else
        snprintf(run, sizeof run, "%d", r->run);
    printf("%-20s %-9s %3s %6s %4d %8.4g %5d %10" PRIu64 " %6.3f %8.4f %7.4f %7.4f%s\n",
           r->experiment, method, run, thr, r->rank, r->error_per_weight, r->gates,
           r->acct.stored_bits, r->acct.compression_vs_int8, r->acct.saving_pct, r->val.top1,
           r->test.top1, r->reached || r->rank > 1 ? "" : "  (threshold not reached)");
    if (k->csv) {
        const struct exp_account *a = &r->acct;
        fprintf(k->csv,
                "%s,%s,%s,%s,%d,%s,%.17g,%s,%.17g,%d,%d,%" PRId64 ",%.17g,%.17g,%.17g,%.17g,"
                "%.17g,%d,%d,%" PRId64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%.17g,%.17g,%s,%d,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
                "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d,%d\n",
                r->experiment, k->dir, r->layers, r->method, r->bits, r->run < 0 ? "" : run,
                r->threshold, r->metric ? r->metric : "", r->threshold_metric, r->reached,
                r->rank, r->generation, r->error_se, r->error_mse, r->energy_pj, r->delay_ns,
                r->area_um2, r->gates, r->active, r->weights_replaced, a->stored_bits,
                a->circuit_bits, a->index_bits, a->decode_bits, a->compression_vs_float32,
                a->compression_vs_int8, storage_deployment_name(k->o->deployment), k->o->batch,
                k->memory, a->read_pj, a->mac_pj, a->circuit_pj, a->inference_pj, a->baseline_pj,
                a->saving_pj, a->saving_pct, a->replaced_sram_um2, a->replaced_rom_um2,
                r->val.top1, r->val.top5, r->val.loss, r->test.top1, r->test.top5, r->test.loss,
                r->baseline_val.top1, r->baseline_test.top1, r->val.images, r->test.images);
    }
    if (k->n_rows == k->cap_rows) {
        int cap = k->cap_rows ? 2 * k->cap_rows : 64;
        struct kept_row *nr = realloc(k->rows, (size_t)cap * sizeof *nr);
        if (!nr) {
            k->failed = 1;
            return 1;
        }
        k->rows = nr;
        k->cap_rows = cap;
    }
    struct kept_row *kr = &k->rows[k->n_rows++];
    kr->r = *r;
    kr->r.metric = NULL; /* static strings are not kept */
    snprintf(kr->model, sizeof kr->model, "%s", k->model);
    if (exp_summary_add(&k->summary, r, NULL) != CGPC_OK) {
        k->failed = 1;
        return 1;
    }
    return 0;
}


static int model_metrics_main(int argc, char **argv, char **compare)
{
    struct metrics_opts o;
    metrics_defaults(&o);
    o.compare = compare;
    int first_dir = 0;
    int rc = parse_metrics(&o, argc, argv, &first_dir);
    if (rc)
        return rc;
    if (o.common.help) {
        cmd_model_metrics_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_common_apply(&o.common);
    struct cgpc_err err = {0};
    struct energy_gate_table gates;
    struct energy_memory memory;
    energy_gate_table_default(&gates);
    if (o.gate_costs && energy_gate_table_load(&gates, o.gate_costs, &err) != CGPC_OK)
        return cli_report("model-metrics", &err, 0);
    if (energy_memory_select(&memory, o.memory, &err) != CGPC_OK)
        return cli_report("model-metrics", &err, 1);

    struct row_sink sink = {0};
    sink.o = &o;
    sink.memory = memory.name;
    char **dirs = NULL;
    int n_dirs_total = 0;
    struct cgpc_atomic_file csv = {0};
    char pareto_path[4200] = "";
    FILE *pareto = NULL;
    int n_blocks = 0;
    struct mm_splits sp = {0}; /* cached by name and input size across directories and files */
    rc = CLI_EXIT_OK;
    if (o.out) {
        if (cgpc_atomic_open(&csv, o.out, &err) != CGPC_OK)
            return cli_report("model-metrics", &err, 0);
        sink.csv = csv.fp;
        fprintf(sink.csv, "%s\n", CSV_COLUMNS);
    }
    if (o.plot) {
        snprintf(pareto_path, sizeof pareto_path, "%s/pareto.dat", o.plot);
        if (cgpc_mkdirs(o.plot, &err) != CGPC_OK) {
            rc = cli_report("model-metrics", &err, 0);
            goto out;
        }
        pareto = fopen(pareto_path, "w");
        if (!pareto) {
            cli_error("model-metrics", o.plot, "cannot write plot data");
            rc = CLI_EXIT_FAILURE;
            goto out;
        }
    }
    /* A directory holding train directories (cgpc train --all-layers) stands for those, in
     * name order (cgp_rundir_list). */
    int n_args = model_metrics_take_files(argv + first_dir, argc - first_dir, o.compare,
                                          &o.n_compare);
    if (cgp_rundir_list(argv + first_dir, n_args, &dirs, &n_dirs_total, &err) != CGPC_OK) {
        rc = cli_report("model-metrics", &err, 0);
        goto out;
    }
    struct cgpc_dir_lock lock = {0}; /* a reader's shared lock on the directory being read */
    for (int i = 0; i < n_dirs_total; i++) {
        struct exp_metrics_dir md;
        cgpc_dir_unlock(&lock);
        if (cgpc_dir_lock_reader(&lock, dirs[i], &err) != CGPC_OK ||
            exp_metrics_open(&md, dirs[i], &err) != CGPC_OK) {
            rc = cli_report("model-metrics", &err, 0);
            break;
        }
        const char *name = o.dataset ? o.dataset : exp_config_str(&md.setup.cfg, "dataset");
        const struct nn_model *model = &md.setup.model;
        if (model_metrics_splits(&sp, name, model->in_h, model->in_w, &err) != CGPC_OK) {
            exp_metrics_close(&md);
            rc = cli_report("model-metrics", &err, 0);
            break;
        }
        struct exp_metrics_opts mo = {
            o.top ? o.top : (int)exp_config_int(&md.setup.cfg, "top"),
            o.limit >= 0 ? o.limit : (int)exp_config_int(&md.setup.cfg, "eval_limit"),
            o.reference,
            &gates,
            &memory,
            o.deployment,
            (unsigned)o.batch,
        };
        sink.dir = dirs[i];
        const char *slash = strrchr(md.setup.model_path, '/');
        sink.model = slash ? slash + 1 : md.setup.model_path;
        cgpc_status st = exp_metrics_measure(&md, &sp.val, &sp.test, &mo, on_row, &sink, &err);
        if (pareto) /* one block per run */
            n_blocks += model_metrics_append_pareto(pareto, dirs[i],
                                                    exp_config_str(&md.setup.cfg, "name"));
        if (st == CGPC_OK && o.plot) /* the best circuit of each threshold (export_cli.c) */
            rc = export_cli_plot_best(dirs[i], o.plot, exp_config_str(&md.setup.cfg, "name"),
                                      &md.setup, &gates);
        exp_metrics_close(&md);
        if (rc != CLI_EXIT_OK)
            break;
        if (st != CGPC_OK) {
            if (sink.failed)
                cli_error("model-metrics", dirs[i], "out of memory keeping the rows");
            else
                cli_report("model-metrics", &err, 0);
            rc = CLI_EXIT_FAILURE;
            break;
        }
    }
    cgpc_dir_unlock(&lock);
    if (rc == CLI_EXIT_OK && o.n_compare) {
        struct exp_metrics_opts mo = {1, o.limit, 0, &gates, &memory, o.deployment,
                                      (unsigned)o.batch};
        rc = model_metrics_compare(o.compare, o.n_compare, o.dataset, &mo, &sink, &sp, on_row);
    }
    model_metrics_splits_free(&sp);
    if (rc == CLI_EXIT_OK && exp_summary_write_chosen(&sink.summary, stdout, &err) != CGPC_OK)
        rc = cli_report("model-metrics", &err, 0);
    if (rc == CLI_EXIT_OK && o.out) {
        char path[4200];
        size_t n = strlen(o.out);
        int csv_ext = n > 4 && strcmp(o.out + n - 4, ".csv") == 0;
        snprintf(path, sizeof path, "%.*s.summary.csv", (int)(csv_ext ? n - 4 : n), o.out);
        struct cgpc_atomic_file sf;
        if (cgpc_atomic_open(&sf, path, &err) != CGPC_OK ||
            exp_summary_write_csv(&sink.summary, sf.fp, &err) != CGPC_OK ||
            cgpc_atomic_close(&sf, &err) != CGPC_OK)
            rc = cli_report("model-metrics", &err, 0);
    }
out:
    cgp_rundir_list_free(dirs, n_dirs_total);
    if (pareto)
        fclose(pareto);
    if (o.out) {
        if (rc == CLI_EXIT_OK && cgpc_atomic_close(&csv, &err) != CGPC_OK)
            rc = cli_report("model-metrics", &err, 0);
        else if (rc != CLI_EXIT_OK)
            cgpc_atomic_abort(&csv);
    }
    if (rc == CLI_EXIT_OK && o.plot)
        rc = model_metrics_write_plots(o.plot, &sink, pareto_path, n_blocks);
    free(sink.rows);
    exp_summary_free(&sink.summary);
    return rc;
}

int cmd_model_metrics(int argc, char **argv)
{
    char **compare = calloc((size_t)argc + 1, sizeof *compare);
    int rc = compare ? model_metrics_main(argc, argv, compare) : CLI_EXIT_FAILURE;
    free(compare);
    return rc;
}
