/* model_metrics_plot.c - the plots of `cgpc model-metrics --plot DIR`: accuracy vs energy
 * saving and vs stored bits for every experiment, run and reference series, Pareto fronts. */
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
#include "model_metrics_cli.h"

/* Pareto fronts: DIR/pareto.<run>.csv columns error (per weight), energy_pj -> one data block
 * per run. */
int model_metrics_append_pareto(FILE *out, const char *dir, const char *name)
{
    int run;
    for (run = 0; run < 100000; run++) {
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
    return run;
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
    int *style; /* 0 run, 1 unreached, 2 mean with error bars, 3 reference, 4 model file */
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

/* A row of a model file (--compare): neither a circuit nor the re-quantization reference. */
static int file_row(const struct exp_metrics_row *r)
{
    return strcmp(r->method, "cgp") && strcmp(r->method, "requant");
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
        } else if (!file_row(r)) {
            any_ref = 1;
        }
    }
    if (!first)
        return 0;
    for (int i = 0; i < k->n_rows; i++) { /* model files: one series each, named by the file */
        const struct exp_metrics_row *r = &k->rows[i].r;
        if (strcmp(r->experiment, exp) || !file_row(r))
            continue;
        if (r->bits ? series_begin(p, 4, "%s: %s, %d bits (model file)", exp, r->method, r->bits)
                    : series_begin(p, 4, "%s: %s, mixed bits (model file)", exp, r->method))
            return 1;
        series_point(p, r, r->test.top1, 0);
        series_end(p);
    }
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
    "with points ps 2 lw 2 pt", /* + a point type per ten colours (point_types) */
};
static const int point_types[] = {13, 5, 9, 11, 7};

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
        fprintf(gp, " %s", series_style[p->style[i]]);
        if (p->style[i] == 4)
            fprintf(gp, " %d", point_types[p->color[i] / 10 % 5]);
        fprintf(gp, " lc rgb '%s' title '%s'",
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
        if (seen || isnan(k->rows[i].r.baseline_test.top1)) /* model files: no baseline */
            continue;
        fprintf(gp, "%s \\\n  %.17g with lines dt 2 lw 2 title 'baseline %s (test top-1 %.4f)'",
                n++ ? "," : "", k->rows[i].r.baseline_test.top1, k->rows[i].model,
                k->rows[i].r.baseline_test.top1);
    }
    if (!n) /* nothing to draw (model files have no threshold): an empty frame */
        fprintf(gp, " [1:2] [0:1] NaN notitle");
    fprintf(gp, "\n");
}

int model_metrics_write_plots(const char *plot_dir, const struct row_sink *k,
                              const char *pareto_path, int n_blocks)
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
                "fronts)'\nset xlabel 'error per weight + 1 (int8 units)'\nset logscale x\n"
                "set ylabel 'circuit energy [pJ]'\n",
                plot_dir, terms[t][1]);
        if (n_blocks > 0)
            fprintf(gp, "plot for [i=0:%d] '%s' index i using ($1+1):2 with steps title "
                        "columnhead(1)\n",
                    n_blocks - 1, pareto_path);
        else
            fprintf(gp, "set label 'no Pareto data' at graph 0.4,0.5\nplot [1:2] [0:1] NaN "
                        "notitle\n");
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
