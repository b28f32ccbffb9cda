/* cmd_model_metrics.c - `cgpc model-metrics DIR...`: accuracy, loss and energy of the models
 * rebuilt with the best evolved circuits of `cgpc train` directories, as a table, a CSV file and
 * gnuplot plots. */
#include <inttypes.h>
#include <math.h>
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
#include "exp/metrics.h"
#include "nn_cli.h"

enum {
    OPT_TOP = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_DATASET,
    OPT_SPLIT,
    OPT_LIMIT,
    OPT_OUT,
    OPT_PLOT,
    OPT_MEMORY,
    OPT_GATE_COSTS,
};

struct metrics_opts {
    struct cli_common common;
    int top;
    const char *dataset; /* NULL: each experiment's own */
    const char *split;   /* NULL: each experiment's own */
    int limit;           /* -1: each experiment's eval_limit */
    const char *out;
    const char *plot;
    const char *memory;
    const char *gate_costs;
};

static void metrics_defaults(struct metrics_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->top = 1;
    o->limit = -1;
    o->memory = "dram";
}

void cmd_model_metrics_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc model-metrics DIR... [options]\n"
            "For the best circuits of every run and threshold in each 'cgpc train' directory,\n"
            "regenerate the weights, substitute them into the int8 model, and measure top-1,\n"
            "top-5 and loss against the unchanged model on the same data, plus the circuit's\n"
            "energy and the energy saved per inference. Prints a table; --out writes CSV with\n"
            "columns experiment,dir,run,threshold,threshold_metric,reached,rank,generation,\n"
            "error_se,error_mse,energy_pj,delay_ns,area_um2,gates,weights_replaced,\n"
            "memory_pj_saved,circuit_pj,net_saving_pj,net_saving_pct,top1,top5,loss,\n"
            "baseline_top1,baseline_top5,baseline_loss,images.\n\n"
            "options:\n"
            "  --top N             circuits per run and threshold: the best, then earlier\n"
            "                      improvements (default: 1)\n"
            "  --dataset D         mnist, fashion-mnist or DIR (default: each experiment's)\n"
            "  --split S           train, val or test (default: each experiment's, test)\n"
            "  --limit N           evaluate the first N images, 0 = all (default: each\n"
            "                      experiment's eval_limit)\n"
            "  --out FILE.csv      write the rows as CSV (default: none)\n"
            "  --plot DIR          write gnuplot plots (PNG and SVG): energy vs error Pareto\n"
            "                      fronts, accuracy vs threshold per experiment, and the\n"
            "                      best circuit of each threshold drawn by Graphviz\n"
            "                      (circuit.<name>.<T>.png/svg/dot) (default: none)\n"
            "  --memory M          dram, sram-8k, sram-32k, sram-1m or a memory file (default: dram)\n"
            "  --gate-costs FILE   gate cost table (default: built-in 45 nm table)\n"
            CLI_COMMON_USAGE);
}

static int parse_metrics(struct metrics_opts *o, int argc, char **argv, int *first_dir)
{
    static const struct option opts[] = {
        {"top", required_argument, NULL, OPT_TOP},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"out", required_argument, NULL, OPT_OUT},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"gate-costs", required_argument, NULL, OPT_GATE_COSTS},
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
        case OPT_SPLIT:
            if (strcmp(optarg, "train") && strcmp(optarg, "val") && strcmp(optarg, "test"))
                return cli_usage_error("model-metrics", "--split: '%s': expected train, val or test", optarg);
            o->split = optarg;
            break;
        case OPT_LIMIT:
            if (cgpc_parse_int(optarg, 0, 1 << 30, &o->limit, &err) != CGPC_OK)
                return cli_usage_error("model-metrics", "--limit: %s", err.msg);
            break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_PLOT: o->plot = optarg; break;
        case OPT_MEMORY: o->memory = optarg; break;
        case OPT_GATE_COSTS: o->gate_costs = optarg; break;
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

struct row_sink {
    FILE *csv;
    const char *dir;
    FILE *acc_data; /* plot data: experiment threshold top1 baseline (rank-1 rows) */
    int rows;
};

static int on_row(void *user, const struct exp_metrics_row *r)
{
    struct row_sink *k = user;
    if (k->rows++ == 0)
        printf("%-22s %4s %6s %4s %8s %10s %9s %6s %8s %11s %7s %7s %7s\n", "experiment", "run",
               "thr", "rank", "mse/w", "energy_pJ", "delay_ns", "gates", "w_repl",
               "saving_pJ", "top1", "base", "loss");
    printf("%-22s %4d %6g %4d %8.4g %10.4g %9.3g %6d %8" PRId64 " %11.5g %7.4f %7.4f %7.4f%s\n",
           r->experiment, r->run, r->threshold, r->rank, r->error_mse, r->energy_pj, r->delay_ns,
           r->gates, r->weights_replaced, r->net_saving_pj, r->top1, r->baseline.top1, r->loss,
           r->reached || r->rank > 1 ? "" : "  (threshold not reached)");
    if (k->csv)
        fprintf(k->csv,
                "%s,%s,%d,%.17g,%.17g,%d,%d,%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%d,%" PRId64
                ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n",
                r->experiment, k->dir, r->run, r->threshold, r->threshold_metric, r->reached,
                r->rank, r->generation, r->error_se, r->error_mse, r->energy_pj, r->delay_ns,
                r->area_um2, r->gates, r->weights_replaced, r->memory_pj_saved, r->circuit_pj,
                r->net_saving_pj, r->net_saving_pct, r->top1, r->top5, r->loss,
                r->baseline.top1, r->baseline.top5, r->baseline.loss, r->baseline.images);
    if (k->acc_data && r->rank == 1)
        fprintf(k->acc_data, "%.17g %.17g %.17g\n", r->threshold, r->top1, r->baseline.top1);
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

static int write_plots(const char *plot_dir, const char *acc_path, const char *pareto_path,
                       int n_blocks, int n_dirs)
{
    char script[4200];
    snprintf(script, sizeof script, "%s/plots.gp", plot_dir);
    FILE *gp = fopen(script, "w");
    if (!gp) {
        cli_error("model-metrics", script, "cannot write the gnuplot script");
        return CLI_EXIT_FAILURE;
    }
    const char *terms[][2] = {{"pngcairo size 900,600", "png"}, {"svg size 900,600", "svg"}};
    for (int t = 0; t < 2; t++) {
        fprintf(gp,
                "set terminal %s noenhanced\nset output '%s/pareto.%s'\nset title 'Circuit energy vs error "
                "(Pareto fronts)'\nset xlabel 'error + 1 (experiment metric)'\nset logscale x\n"
                "set ylabel 'circuit energy [pJ]'\nset key outside\nset grid\n"
                "set offsets graph 0, graph 0, graph 0.05, graph 0.05\n",
                terms[t][0], plot_dir, terms[t][1]);
        if (n_blocks > 0)
            fprintf(gp, "plot for [i=0:%d] '%s' index i using ($1+1):2 with steps title "
                        "columnhead(1)\n",
                    n_blocks - 1, pareto_path);
        else
            fprintf(gp, "set label 'no Pareto data' at graph 0.4,0.5\nplot NaN notitle\n");
        fprintf(gp,
                "unset logscale x\nset output '%s/accuracy.%s'\nset title 'Top-1 with "
                "regenerated weights vs threshold (mean over runs)'\nset xlabel 'threshold per "
                "weight (int8 units)'\nset ylabel 'top-1'\n",
                plot_dir, terms[t][1]);
        if (n_dirs > 0)
            fprintf(gp,
                    "plot for [i=0:%d] '%s' index i using 1:2 smooth unique with linespoints "
                    "title columnhead(1), '%s' index 0 using 1:3 smooth unique with lines "
                    "dashtype 2 title 'baseline'\n",
                    n_dirs - 1, acc_path, acc_path);
        else
            fprintf(gp, "plot NaN notitle\n");
    }
    fclose(gp);
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>'%s/gnuplot.log'", script, plot_dir);
    if (system(cmd) != 0) {
        cli_error("model-metrics", "--plot",
                  "gnuplot failed (is gnuplot installed? see %s/gnuplot.log)", plot_dir);
        return CLI_EXIT_FAILURE;
    }
    fprintf(stderr, "cgpc model-metrics: plots in %s (pareto.png/svg, accuracy.png/svg)\n",
            plot_dir);
    return CLI_EXIT_OK;
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
    char **dirs = NULL;
    int n_dirs_total = 0;
    struct cgpc_atomic_file csv = {0};
    char acc_path[4200] = "", pareto_path[4200] = "";
    FILE *pareto = NULL;
    int n_blocks = 0, n_dirs = 0;
    rc = CLI_EXIT_OK;
    if (o.out) {
        if (cgpc_atomic_open(&csv, o.out, &err) != CGPC_OK)
            return cli_report("model-metrics", &err, 0);
        sink.csv = csv.fp;
        fprintf(sink.csv, "experiment,dir,run,threshold,threshold_metric,reached,rank,generation,"
                          "error_se,error_mse,energy_pj,delay_ns,area_um2,gates,weights_replaced,"
                          "memory_pj_saved,circuit_pj,net_saving_pj,net_saving_pct,top1,top5,"
                          "loss,baseline_top1,baseline_top5,baseline_loss,images\n");
    }
    if (o.plot) {
        snprintf(acc_path, sizeof acc_path, "%s/accuracy.dat", o.plot);
        snprintf(pareto_path, sizeof pareto_path, "%s/pareto.dat", o.plot);
        if (cgpc_mkdirs(o.plot, &err) != CGPC_OK) {
            rc = cli_report("model-metrics", &err, 0);
            goto out;
        }
        sink.acc_data = fopen(acc_path, "w");
        pareto = fopen(pareto_path, "w");
        if (!sink.acc_data || !pareto) {
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
    /* datasets are cached by name and split across directories */
    char loaded_name[4096] = "", loaded_split[8] = "";
    struct nn_dataset data = {0};
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
        const char *split = o.split ? o.split : exp_config_str(&md.setup.cfg, "split");
        const struct nn_model *model = &md.setup.model;
        if (strcmp(name, loaded_name) || strcmp(split, loaded_split) || data.rows != model->in_h ||
            data.cols != model->in_w) {
            nn_dataset_free(&data);
            enum nn_split sp = NN_SPLIT_TEST;
            if (nn_split_parse(split, &sp, &err) != CGPC_OK) {
                exp_metrics_close(&md);
                rc = cli_report("model-metrics", &err, 0);
                break;
            }
            /* models take inputs of their own size: 28x28 images are zero-padded for
             * MobileNetV2's 32x32, as in its training and evaluation */
            if (nn_cli_load_dataset(name, sp, &data, &err) != CGPC_OK ||
                nn_dataset_pad(&data, model->in_h, model->in_w, &err) != CGPC_OK) {
                exp_metrics_close(&md);
                rc = cli_report("model-metrics", &err, 0);
                break;
            }
            snprintf(loaded_name, sizeof loaded_name, "%s", name);
            snprintf(loaded_split, sizeof loaded_split, "%s", split);
        }
        struct exp_metrics_opts mo = {o.top,
                                      o.limit >= 0 ? o.limit
                                                   : (int)exp_config_int(&md.setup.cfg, "eval_limit"),
                                      &gates, &memory};
        sink.dir = dirs[i];
        if (sink.acc_data) /* one block per directory, its first line the title */
            fprintf(sink.acc_data, "\"%s\" top1 baseline\n", exp_config_str(&md.setup.cfg, "name"));
        cgpc_status st = exp_metrics_measure(&md, &data, &mo, on_row, &sink, &err);
        if (sink.acc_data)
            fprintf(sink.acc_data, "\n\n");
        n_dirs++;
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
            rc = cli_report("model-metrics", &err, 0);
            break;
        }
    }
    cgpc_dir_unlock(&lock);
    nn_dataset_free(&data);
out:
    cgp_rundir_list_free(dirs, n_dirs_total);
    if (sink.acc_data)
        fclose(sink.acc_data);
    if (pareto)
        fclose(pareto);
    if (o.out) {
        if (rc == CLI_EXIT_OK && cgpc_atomic_close(&csv, &err) != CGPC_OK)
            rc = cli_report("model-metrics", &err, 0);
        else if (rc != CLI_EXIT_OK)
            cgpc_atomic_abort(&csv);
    }
    if (rc == CLI_EXIT_OK && o.plot)
        rc = write_plots(o.plot, acc_path, pareto_path, n_blocks, n_dirs);
    return rc;
}
