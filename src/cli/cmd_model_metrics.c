/* cmd_model_metrics.c - `cgpc model-metrics DIR...`: accuracy (validation and test), stored
 * bits, compression and energy per inference of the models rebuilt with the best evolved
 * circuits of `cgpc train` directories, beside the no-search reference (the same weights
 * re-quantized to 1..7 bits), as a table, CSV files (per row and summary over runs) and gnuplot
 * plots. */
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
};

struct metrics_opts {
    struct cli_common common;
    int top;
    const char *dataset; /* NULL: each experiment's own */
    int limit;           /* -1: each experiment's eval_limit */
    const char *out;
    const char *plot;
    const char *memory;
    const char *gate_costs;
    enum storage_deployment deployment;
    int batch;
    int reference;
};

static void metrics_defaults(struct metrics_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->top = 1;
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
            "usage: cgpc model-metrics DIR... [options]\n"
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
            "and F.summary.csv (mean, std and 95%% interval over runs per threshold).\n\n"
            "options:\n"
            "  --top N             circuits per run and threshold: the best, then earlier\n"
            "                      improvements (default: 1)\n"
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
        case ':': return cli_usage_error("model-metrics", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("model-metrics", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (optind >= argc)
        return cli_usage_error("model-metrics", "give at least one 'cgpc train' directory");
    *first_dir = optind;
    return 0;
}

/* Every row is kept (for the summary and the plots) with the model it measured. */
struct kept_row {
    struct exp_metrics_row r;
    char model[128];
};

struct row_sink {
    FILE *csv;
    const char *dir;
    const char *model;   /* file name of the current directory's model */
    const struct metrics_opts *o;
    const char *memory;
    struct kept_row *rows;
    int n_rows, cap_rows;
    struct exp_summary summary;
    int failed;          /* out of memory while keeping rows */
};

static void print_header(void)
{
    printf("%-20s %-9s %3s %6s %4s %8s %5s %10s %6s %8s %7s %7s\n", "experiment", "method", "run",
           "thr/w", "rank", "mse/w", "gates", "stored_b", "compr", "saving_%", "val", "test");
}

static int on_row(void *user, const struct exp_metrics_row *r)
{
    struct row_sink *k = user;
    int req = strcmp(r->method, "requant") == 0;
    if (k->n_rows == 0)
        print_header();
    char method[16], run[16];
    if (req)
        snprintf(method, sizeof method, "requant%d", r->bits);
    else
        snprintf(method, sizeof method, "%s", r->method);
    if (r->run < 0)
        snprintf(run, sizeof run, "-");
    else
        snprintf(run, sizeof run, "%d", r->run);
    printf("%-20s %-9s %3s %6g %4d %8.4g %5d %10" PRIu64 " %6.3f %8.4f %7.4f %7.4f%s\n",
           r->experiment, method, run, r->threshold, r->rank, r->error_mse, r->gates,
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

/* Pareto fronts: DIR/pareto.<run>.csv columns error,energy_pj,... -> one data block per dir. */
static void append_pareto(FILE *out, const char *dir, const char *name)
{
    for (int run = 0; run < 100000; run++) {
        double *xy;
        int n;
        if (cgp_pareto_load_xy(dir, run, &xy, &n, NULL) != CGPC_OK)
            break;
        fprintf(out, "\"%s run %d\" energy_pj\n", name, run); /* block header: the title */
        for (int i = 0; i < n; i++)
            fprintf(out, "%.17g %.17g\n", xy[2 * i], xy[2 * i + 1]);
        fprintf(out, "\n\n");
        free(xy);
    }
}

/* ---- plots ----------------------------------------------------------------------------------
 * series.dat holds one data block per series, each preceded by "# series I: TITLE"; columns
 * saving_pct stored_bits test_top1 test_top1_std threshold. plots.gp plots every block by
 * index with that title (one plot clause per series, so none is dropped), plus one dashed
 * baseline per model. */

struct plot_state {
    FILE *dat;
    int n_series;
    char (*titles)[256];
    int *style; /* 0 run, 1 unreached, 2 mean with error bars, 3 reference */
    int *color; /* experiment index: one colour per experiment */
    int cap;
    int experiment; /* of the series being added */
};

static int series_begin(struct plot_state *p, int style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int series_begin(struct plot_state *p, int style, const char *fmt, ...)
{
    if (p->n_series == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        char(*t)[256] = realloc(p->titles, (size_t)cap * sizeof *t);
        if (!t)
            return 1;
        p->titles = t;
        int *s = realloc(p->style, (size_t)cap * sizeof *s);
        if (!s)
            return 1;
        p->style = s;
        int *c = realloc(p->color, (size_t)cap * sizeof *c);
        if (!c)
            return 1;
        p->color = c;
        p->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->titles[p->n_series], sizeof p->titles[0], fmt, ap);
    va_end(ap);
    for (char *c = p->titles[p->n_series]; *c; c++) /* keep gnuplot's quoting simple */
        if (*c == '\'' || *c == '"')
            *c = '`';
    p->style[p->n_series] = style;
    p->color[p->n_series] = p->experiment;
    fprintf(p->dat, "# series %d: %s\n", p->n_series, p->titles[p->n_series]);
    p->n_series++;
    return 0;
}

static void series_point(struct plot_state *p, const struct exp_metrics_row *r, double top1,
                         double std)
{
    fprintf(p->dat, "%.17g %.17g %.17g %.17g %.17g\n", r->acct.saving_pct,
            (double)r->acct.stored_bits, top1, std, r->threshold);
}

static void series_end(struct plot_state *p)
{
    fprintf(p->dat, "\n\n");
}

/* One experiment's series: per run, its unreached thresholds, the mean over runs, the
 * reference. Returns nonzero on allocation failure. */
static int experiment_series(struct plot_state *p, const struct row_sink *k, const char *exp)
{
    const struct exp_metrics_row *first = NULL;
    int max_run = -1, any_unreached = 0, any_ref = 0;
    for (int i = 0; i < k->n_rows; i++) {
        const struct exp_metrics_row *r = &k->rows[i].r;
        if (strcmp(r->experiment, exp) || r->rank != 1)
            continue;
        first = first ? first : r;
        if (strcmp(r->method, "cgp") == 0) {
            max_run = r->run > max_run ? r->run : max_run;
            any_unreached |= !r->reached;
        } else {
            any_ref = 1;
        }
    }
    if (!first)
        return 0;
    const char *layers = first->layers;
    for (int run = 0; run <= max_run; run++) {
        int started = 0;
        for (int i = 0; i < k->n_rows; i++) {
            const struct exp_metrics_row *r = &k->rows[i].r;
            if (strcmp(r->experiment, exp) || r->rank != 1 || strcmp(r->method, "cgp") ||
                r->run != run)
                continue;
            if (!started && series_begin(p, 0, "%s [%s] run %d", exp, layers, run))
                return 1;
            started = 1;
            series_point(p, r, r->test.top1, 0);
        }
        if (started)
            series_end(p);
    }
    if (any_unreached) {
        if (series_begin(p, 1, "%s [%s] threshold not reached", exp, layers))
            return 1;
        for (int i = 0; i < k->n_rows; i++) {
            const struct exp_metrics_row *r = &k->rows[i].r;
            if (!strcmp(r->experiment, exp) && r->rank == 1 && !strcmp(r->method, "cgp") &&
                !r->reached)
                series_point(p, r, r->test.top1, 0);
        }
        series_end(p);
    }
    if (max_run >= 1) { /* mean and std over runs, per threshold */
        if (series_begin(p, 2, "%s [%s] mean +- std over %d runs", exp, layers, max_run + 1))
            return 1;
        for (int g = 0; g < k->summary.n; g++) {
            const struct exp_summary_group *sg = &k->summary.groups[g];
            if (strcmp(sg->experiment, exp) || strcmp(sg->method, "cgp"))
                continue;
            struct exp_summary_stat t = exp_summary_stat(sg, EXP_SUM_TEST_TOP1);
            struct exp_summary_stat sv = exp_summary_stat(sg, EXP_SUM_SAVING_PCT);
            struct exp_summary_stat b = exp_summary_stat(sg, EXP_SUM_STORED_BITS);
            fprintf(p->dat, "%.17g %.17g %.17g %.17g %.17g\n", sv.mean, b.mean, t.mean, t.std,
                    sg->threshold);
        }
        series_end(p);
    }
    if (any_ref) {
        if (series_begin(p, 3, "%s [%s] no-search reference: requant 1-7 bits", exp, layers))
            return 1;
        for (int i = 0; i < k->n_rows; i++) {
            const struct exp_metrics_row *r = &k->rows[i].r;
            if (!strcmp(r->experiment, exp) && !strcmp(r->method, "requant"))
                series_point(p, r, r->test.top1, 0);
        }
        series_end(p);
    }
    return 0;
}

static const char *const series_style[] = {
    "with linespoints pt 7 ps 0.6 lw 1",
    "with points pt 6 ps 2.2 lw 2",
    "with yerrorlines pt 5 ps 1 lw 3",
    "with linespoints pt 9 ps 1.2 dt 3 lw 2",
};

/* One colour per experiment (runs, mean and reference alike); unreached marks are red. */
static const char *const series_colour[] = {"#0072b2", "#009e73", "#e69f00", "#cc79a7",
                                            "#56b4e9", "#8c564b", "#000000", "#7f7f7f",
                                            "#bcbd22", "#17becf"};

static void plot_clauses(FILE *gp, const struct plot_state *p, const char *dat, const char *x,
                         int only_means, const struct row_sink *k)
{
    fprintf(gp, "plot");
    int n = 0;
    for (int i = 0; i < p->n_series; i++) {
        if (only_means && p->style[i] != 2 && p->style[i] != 0)
            continue;
        const char *using = p->style[i] == 2 ? "%s:3:4" : "%s:3";
        fprintf(gp, "%s \\\n  '%s' index %d using ", n++ ? "," : "", dat, i);
        fprintf(gp, using, x);
        fprintf(gp, " %s lc rgb '%s' title '%s'", series_style[p->style[i]],
                p->style[i] == 1 ? "red"
                                 : series_colour[p->color[i] % (int)(sizeof series_colour /
                                                                      sizeof series_colour[0])],
                p->titles[i]);
    }
    /* one baseline per model (its test top-1), dashed */
    for (int i = 0; i < k->n_rows; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(k->rows[j].model, k->rows[i].model) == 0;
        if (seen)
            continue;
        fprintf(gp, "%s \\\n  %.17g with lines dt 2 lw 2 title 'baseline %s (test top-1 %.4f)'",
                n++ ? "," : "", k->rows[i].r.baseline_test.top1, k->rows[i].model,
                k->rows[i].r.baseline_test.top1);
    }
    if (!n)
        fprintf(gp, " NaN notitle");
    fprintf(gp, "\n");
}

static int write_plots(const char *plot_dir, const struct row_sink *k, const char *pareto_path,
                       int n_blocks)
{
    char dat[4200], script[4200];
    snprintf(dat, sizeof dat, "%s/series.dat", plot_dir);
    snprintf(script, sizeof script, "%s/plots.gp", plot_dir);
    struct plot_state p = {0};
    p.dat = fopen(dat, "w");
    FILE *gp = fopen(script, "w");
    int rc = CLI_EXIT_FAILURE;
    if (!p.dat || !gp) {
        cli_error("model-metrics", plot_dir, "cannot write the plot data and script");
        goto out;
    }
    for (int i = 0; i < k->n_rows; i++) { /* experiments in order of first appearance */
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(k->rows[j].r.experiment, k->rows[i].r.experiment) == 0;
        if (seen)
            continue;
        if (experiment_series(&p, k, k->rows[i].r.experiment)) {
            cli_error("model-metrics", plot_dir, "out of memory for the plot series");
            goto out;
        }
        p.experiment++;
    }
    fclose(p.dat);
    p.dat = NULL;
    const char *terms[][2] = {{"pngcairo size 1100,850", "png"}, {"svg size 1100,850", "svg"}};
    for (int t = 0; t < 2; t++) {
        fprintf(gp,
                "set terminal %s noenhanced\nset key below font ',9'\nset grid\n"
                "set ylabel 'test top-1'\nset offsets graph 0.02, graph 0.02, graph 0.05, graph "
                "0.05\n",
                terms[t][0]);
        fprintf(gp, "set output '%s/saving.%s'\nset title 'Test top-1 vs energy saving per "
                    "inference (stored bits read, vs the int8 model)'\nset xlabel 'energy saving "
                    "[%%]'\nunset logscale x\n",
                plot_dir, terms[t][1]);
        plot_clauses(gp, &p, dat, "1", 0, k);
        fprintf(gp, "set output '%s/bits.%s'\nset title 'Test top-1 vs stored bits of the "
                    "model'\nset xlabel 'stored bits'\nunset logscale x\n",
                plot_dir, terms[t][1]);
        plot_clauses(gp, &p, dat, "2", 0, k);
        fprintf(gp, "set output '%s/accuracy.%s'\nset title 'Test top-1 vs threshold (per "
                    "weight, int8 units)'\nset xlabel 'threshold per weight'\nset logscale x 2\n",
                plot_dir, terms[t][1]);
        plot_clauses(gp, &p, dat, "5", 1, k);
        fprintf(gp,
                "set output '%s/pareto.%s'\nset title 'Circuit energy vs error (Pareto "
                "fronts)'\nset xlabel 'error + 1 (experiment metric)'\nset logscale x\n"
                "set ylabel 'circuit energy [pJ]'\n",
                plot_dir, terms[t][1]);
        if (n_blocks > 0)
            fprintf(gp, "plot for [i=0:%d] '%s' index i using ($1+1):2 with steps title "
                        "columnhead(1)\n",
                    n_blocks - 1, pareto_path);
        else
            fprintf(gp, "set label 'no Pareto data' at graph 0.4,0.5\nplot NaN notitle\n");
        fprintf(gp, "unset label\n");
    }
    fclose(gp);
    gp = NULL;
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>'%s/gnuplot.log'", script, plot_dir);
    if (system(cmd) != 0) {
        cli_error("model-metrics", "--plot",
                  "gnuplot failed (is gnuplot installed? see %s/gnuplot.log)", plot_dir);
        goto out;
    }
    fprintf(stderr, "cgpc model-metrics: %d series; plots in %s (saving, bits, accuracy, pareto; "
                    "png and svg)\n", p.n_series, plot_dir);
    rc = CLI_EXIT_OK;
out:
    if (p.dat)
        fclose(p.dat);
    if (gp)
        fclose(gp);
    free(p.titles);
    free(p.style);
    free(p.color);
    return rc;
}

int cmd_model_metrics(int argc, char **argv)
{
    struct metrics_opts o;
    metrics_defaults(&o);
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
    struct nn_dataset val = {0}, test = {0};
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
    if (cgp_rundir_list(argv + first_dir, argc - first_dir, &dirs, &n_dirs_total, &err) !=
        CGPC_OK) {
        rc = cli_report("model-metrics", &err, 0);
        goto out;
    }
    /* datasets are cached by name and input size across directories */
    char loaded_name[4096] = "";
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
        if (strcmp(name, loaded_name) || val.rows != model->in_h || val.cols != model->in_w) {
            nn_dataset_free(&val);
            nn_dataset_free(&test);
            /* models take inputs of their own size: 28x28 images are zero-padded for
             * MobileNetV2's 32x32, as in its training and evaluation */
            if (nn_cli_load_dataset(name, NN_SPLIT_VAL, &val, &err) != CGPC_OK ||
                nn_cli_load_dataset(name, NN_SPLIT_TEST, &test, &err) != CGPC_OK ||
                nn_dataset_pad(&val, model->in_h, model->in_w, &err) != CGPC_OK ||
                nn_dataset_pad(&test, model->in_h, model->in_w, &err) != CGPC_OK) {
                exp_metrics_close(&md);
                rc = cli_report("model-metrics", &err, 0);
                break;
            }
            snprintf(loaded_name, sizeof loaded_name, "%s", name);
        }
        struct exp_metrics_opts mo = {
            o.top,
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
        cgpc_status st = exp_metrics_measure(&md, &val, &test, &mo, on_row, &sink, &err);
        if (pareto) {
            append_pareto(pareto, dirs[i], exp_config_str(&md.setup.cfg, "name"));
            n_blocks += 1;
        }
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
    nn_dataset_free(&val);
    nn_dataset_free(&test);
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
        rc = write_plots(o.plot, &sink, pareto_path, n_blocks);
    free(sink.rows);
    exp_summary_free(&sink.summary);
    return rc;
}
