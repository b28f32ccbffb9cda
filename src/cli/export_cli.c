/* export_cli.c - `cgpc circuit export|synth`, `circuit eval --outputs`, and the
 * `model-metrics --plot` circuit drawings. The formats themselves are src/cgp/export.c; the
 * port names and weight maps src/exp/ports.c. */
#include "export_cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgp/export.h"
#include "cgp/rundir.h"
#include "common/fileio.h"
#include "exp/metrics.h"
#include "exp/ports.h"

#define CMD "circuit"

void export_cli_defaults(struct export_cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->name = "cgpc_circuit";
}

int export_cli_option(int opt, const char *arg, struct export_cli_opts *o)
{
    switch (opt) {
    case EXPORT_OPT_FORMAT:
        if (cgp_export_format_from_name(arg) < 0) {
            cli_usage_error(CMD, "--format: '%s': expected verilog, c or dot", arg);
            return -1;
        }
        o->format = arg;
        return 1;
    case EXPORT_OPT_OUT: o->out = arg; return 1;
    case EXPORT_OPT_NAME:
        if (!cgp_export_name_ok(arg)) {
            cli_usage_error(CMD, "--name: '%s': expected an identifier [A-Za-z_][A-Za-z0-9_]* of "
                                 "at most 64 characters that is no C or Verilog keyword", arg);
            return -1;
        }
        o->name = arg;
        return 1;
    case EXPORT_OPT_EXP: o->exp = arg; return 1;
    case EXPORT_OPT_WEIGHTS: o->weights = 1; return 1;
    case EXPORT_OPT_RENDER:
        if (strcmp(arg, "svg") != 0 && strcmp(arg, "png") != 0) {
            cli_usage_error(CMD, "--render: '%s': expected svg or png", arg);
            return -1;
        }
        o->render = arg;
        return 1;
    case EXPORT_OPT_YOSYS: o->yosys = arg; return 1;
    case EXPORT_OPT_KEEP: o->keep = arg; return 1;
    default: return 0;
    }
}

int export_cli_check(const char *action, const struct export_cli_opts *o)
{
    int export = strcmp(action, "export") == 0, synth = strcmp(action, "synth") == 0;
    if (!export && (o->format || o->out || o->weights || o->render))
        return cli_usage_error(CMD, "--format, --out, --weights and --render belong to export");
    if (!synth && (o->yosys || o->keep))
        return cli_usage_error(CMD, "--yosys and --keep belong to synth");
    if (!export && !synth && (o->exp || strcmp(o->name, "cgpc_circuit") != 0))
        return cli_usage_error(CMD, "--exp and --name belong to export and synth");
    if (!export)
        return 0;
    if (!o->format)
        return cli_usage_error(CMD, "export needs --format verilog|c|dot");
    if (o->weights && strcmp(o->format, "c") != 0)
        return cli_usage_error(CMD, "--weights needs --format c");
    if (o->weights && o->exp && strcmp(o->exp, "none") == 0)
        return cli_usage_error(CMD, "--weights needs the experiment (--exp DIR)");
    if (o->render && strcmp(o->format, "dot") != 0)
        return cli_usage_error(CMD, "--render needs --format dot");
    if (o->render && (!o->out || strcmp(o->out, "-") == 0))
        return cli_usage_error(CMD, "--render needs --out FILE (the image)");
    return 0;
}

/* The experiment directory of a chromosome: --exp, or its own directory when it holds
 * experiment.exp; "" when none. */
static void exp_dir_of(const char *chr_path, const struct export_cli_opts *o, char *dir,
                       size_t cap)
{
    dir[0] = 0;
    if (o->exp) {
        if (strcmp(o->exp, "none") != 0)
            snprintf(dir, cap, "%s", o->exp);
        return;
    }
    const char *slash = strrchr(chr_path, '/');
    char probe[4200];
    snprintf(dir, cap, "%.*s", slash ? (int)(slash - chr_path) : 1, slash ? chr_path : ".");
    cgp_experiment_copy_path(probe, sizeof probe, dir);
    if (!cgpc_path_exists(probe))
        dir[0] = 0;
}

/* Port names (and the weight map) of g from the experiment in dir. */
static int load_ports(const char *dir, const struct cgp_genome *g, struct exp_metrics_dir *md,
                      struct exp_ports *ports)
{
    struct cgpc_err err = {0};
    if (exp_metrics_open(md, dir, &err) != CGPC_OK) {
        cgpc_err_prefix(&err, "naming the ports from the experiment in %s (--exp none: no names)",
                        dir);
        return cli_report(CMD, &err, 0);
    }
    const struct exp_selection *sel = &md->setup.sel;
    if (sel->n_inputs != g->shape.n_inputs || sel->n_outputs != g->shape.n_outputs) {
        cli_error(CMD, dir, "the experiment has %d inputs and %d outputs per item, the circuit "
                            "%d and %d: not this experiment's circuit (use --exp DIR or --exp none)",
                  sel->n_inputs, sel->n_outputs, g->shape.n_inputs, g->shape.n_outputs);
        exp_metrics_close(md);
        return CLI_EXIT_FAILURE;
    }
    if (exp_ports_init(ports, &md->setup, &err) != CGPC_OK) {
        exp_metrics_close(md);
        return cli_report(CMD, &err, 0);
    }
    return CLI_EXIT_OK;
}

static int run_export(const char *chr_path, const struct cgp_genome *g,
                      const struct export_cli_opts *o, const struct exp_ports *ports,
                      struct cgp_export_opts *eo)
{
    struct cgpc_err err = {0};
    enum cgp_export_format fmt = (enum cgp_export_format)cgp_export_format_from_name(o->format);
    if (o->weights && !ports) {
        cli_error(CMD, chr_path, "--weights: the chromosome belongs to no experiment (its "
                                 "directory has no experiment.exp; give --exp DIR)");
        return CLI_EXIT_USAGE;
    }
    int to_stdout = !o->out || strcmp(o->out, "-") == 0;
    char dot_tmp[4200] = "";
    struct cgpc_atomic_file af = {0};
    FILE *fp = stdout;
    if (o->render) { /* the DOT text goes to a temporary file beside the image */
        snprintf(dot_tmp, sizeof dot_tmp, "%s.dot.tmp.%ld", o->out, (long)getpid());
        if (!(fp = fopen(dot_tmp, "w"))) {
            cli_error(CMD, dot_tmp, "cannot write");
            return CLI_EXIT_FAILURE;
        }
    } else if (!to_stdout) {
        if (cgpc_atomic_open(&af, o->out, &err) != CGPC_OK)
            return cli_report(CMD, &err, 0);
        fp = af.fp;
    }
    cgpc_status st = cgp_export_write(g, fmt, eo, fp, &err);
    if (st == CGPC_OK && o->weights)
        st = cgp_export_c_weights(g, eo, &ports->weights, fp, &err);
    if (o->render) {
        if (fclose(fp) != 0 && st == CGPC_OK)
            st = CGPC_FAIL(&err, CGPC_ERR_IO, "%s: write failed", dot_tmp);
        char log[4300];
        snprintf(log, sizeof log, "%s.log", dot_tmp);
        if (st == CGPC_OK)
            st = cgp_export_render(dot_tmp, 1, &o->render, &o->out, log, &err);
        unlink(dot_tmp);
        if (st == CGPC_OK)
            unlink(log);
    } else if (!to_stdout) {
        if (st == CGPC_OK)
            st = cgpc_atomic_close(&af, &err);
        else
            cgpc_atomic_abort(&af);
    }
    return st == CGPC_OK ? CLI_EXIT_OK : cli_report(CMD, &err, 0);
}

static void remove_work_dir(const char *dir, const char *name)
{
    const char *files[] = {"synth.ys", "yosys.log", "stat.txt", NULL};
    char path[4300];
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/%s.v", dir, name);
    unlink(path);
    rmdir(dir);
}

static int run_synth(const struct cgp_genome *g, const struct energy_gate_table *table,
                     const struct export_cli_opts *o, const struct cgp_export_opts *eo)
{
    struct cgpc_err err = {0};
    char work[4200];
    if (o->keep) {
        snprintf(work, sizeof work, "%s", o->keep);
        if (cgpc_mkdirs(work, &err) != CGPC_OK)
            return cli_report(CMD, &err, 0);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(work, sizeof work, "%s/cgpc-synth.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(work)) {
            cli_error(CMD, work, "cannot create a temporary directory");
            return CLI_EXIT_FAILURE;
        }
    }
    struct cgp_synth_result r;
    struct cgp_fitness f;
    struct cgp_dataset one = {0};
    cgpc_status st = cgp_synth_yosys(g, eo, o->yosys, work, &r, &err);
    /* cgpc's own costs do not depend on data: measured on one all-zero item */
    if (st == CGPC_OK && (st = cgp_dataset_init(&one, g->shape.n_inputs, g->shape.n_outputs, 1,
                                                &err)) == CGPC_OK)
        st = cgp_measure(g, &one, table, CGP_ERROR_MSE, &f, &err);
    cgp_dataset_free(&one);
    if (!o->keep && (st == CGPC_OK || err.code != CGPC_ERR_IO))
        remove_work_dir(work, eo->name);
    if (st != CGPC_OK) {
        if (!o->keep && err.code == CGPC_ERR_IO)
            cgpc_err_prefix(&err, "work files kept in %s", work);
        return cli_report(CMD, &err, 0);
    }
    printf("# yosys: synth; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX (static CMOS transistors per "
           "cell)\n");
    for (int c = 0; c < CGP_SYNTH_CELL_COUNT; c++)
        printf("cells_%s %ld\n", cgp_synth_cell_name(c), r.count[c]);
    printf("cells %ld\ntransistors %ld\nyosys_cmos_transistors %ld\n", r.cells, r.transistors,
           r.yosys_transistors);
    printf("# cgpc gate table\nactive %d\ngates %d\ndepth %d\nenergy_pj %.6g\ndelay_ns %.6g\n"
           "area_um2 %.6g\n", f.active, f.gates, f.depth, f.energy_pj, f.delay_ns, f.area_um2);
    if (o->keep)
        fprintf(stderr, "cgpc circuit: Yosys files in %s\n", work);
    return CLI_EXIT_OK;
}

int export_cli_run(const char *action, const char *chr_path, const struct cgp_genome *g,
                   const struct energy_gate_table *table, const struct export_cli_opts *o)
{
    struct cgpc_err err = {0};
    struct cgp_export_meta meta;
    if (cgp_export_meta_load(&meta, chr_path, &err) != CGPC_OK)
        return cli_report(CMD, &err, 0);
    char dir[4200];
    exp_dir_of(chr_path, o, dir, sizeof dir);
    if (strcmp(action, "synth") == 0 && !o->exp)
        dir[0] = 0; /* names are only comments to Yosys: the experiment is read when asked */
    struct exp_metrics_dir md = {0};
    struct exp_ports ports = {0};
    int have_ports = 0, rc;
    if (dir[0]) {
        if ((rc = load_ports(dir, g, &md, &ports)) != CLI_EXIT_OK)
            return rc;
        have_ports = 1;
    }
    struct cgp_export_opts eo = {o->name, &meta,
                                 have_ports ? (const char *const *)ports.input_names : NULL,
                                 have_ports ? (const char *const *)ports.output_names : NULL};
    if (strcmp(action, "export") == 0)
        rc = run_export(chr_path, g, o, have_ports ? &ports : NULL, &eo);
    else
        rc = run_synth(g, table, o, &eo);
    if (have_ports) {
        exp_ports_free(&ports);
        exp_metrics_close(&md);
    }
    return rc;
}

int export_cli_write_outputs(const char *path, const struct cgp_dataset *ds,
                             const int8_t *outputs)
{
    struct cgpc_err err = {0};
    const int ni = ds->n_inputs, no = ds->n_outputs, D = ds->n_items;
    int8_t *in = malloc((size_t)ni * D + 1), *out = malloc((size_t)no * D + 1);
    struct cgp_dataset res = {0};
    cgpc_status st = CGPC_OK;
    if (!in || !out) {
        st = CGPC_FAIL(&err, CGPC_ERR_NOMEM, "--outputs: %d items", D);
    } else {
        for (int d = 0; d < D; d++) {
            for (int i = 0; i < ni; i++)
                in[(size_t)d * ni + i] = ds->in[(size_t)i * ds->stride + d];
            for (int o = 0; o < no; o++)
                out[(size_t)d * no + o] = outputs[(size_t)o * D + d];
        }
        if ((st = cgp_dataset_from_arrays(&res, ni, no, D, ni ? in : NULL, out, NULL, &err)) ==
            CGPC_OK)
            st = cgp_dataset_save(&res, path, &err);
    }
    cgp_dataset_free(&res);
    free(in);
    free(out);
    return st == CGPC_OK ? CLI_EXIT_OK : cli_report(CMD, &err, 0);
}

/* ---- model-metrics --plot ------------------------------------------------------------------- */

struct best_row {
    double threshold; /* per weight (int8 units), as results.csv and the file names hold it */
    struct cgp_result_row row;
    int reached;
    struct cgp_fitness fit;
};

/* 1 if a is better than b: reached first, then least energy (reached) or least error. */
static int best_better(const struct best_row *a, const struct best_row *b)
{
    if (a->reached != b->reached)
        return a->reached > b->reached;
    return a->reached ? a->fit.energy_pj < b->fit.energy_pj : a->fit.error < b->fit.error;
}

int export_cli_plot_best(const char *dir, const char *plot_dir, const char *name,
                         const struct exp_setup *setup, const struct energy_gate_table *gates)
{
    struct cgpc_err err = {0};
    struct cgp_result_row *rows = NULL;
    int n_rows = 0, n_best = 0;
    struct best_row best[CGP_MAX_THRESHOLDS];
    if (cgp_results_load(dir, &rows, &n_rows, &err) != CGPC_OK)
        return cli_report("model-metrics", &err, 0);
    /* each row's circuit measured on the experiment's data (error, energy) */
    for (int i = 0; i < n_rows; i++) {
        struct best_row r = {rows[i].threshold, rows[i], rows[i].reached, {0}};
        struct cgp_genome g = {0};
        cgpc_status st = cgp_best_load(dir, &rows[i], &g, &err);
        if (st == CGPC_OK)
            st = cgp_measure(&g, &setup->ds, gates, setup->params.error_kind, &r.fit, &err);
        cgp_genome_free(&g);
        if (st != CGPC_OK) {
            free(rows);
            return cli_report("model-metrics", &err, 0);
        }
        int k = 0;
        while (k < n_best && best[k].threshold != r.threshold)
            k++;
        if (k == n_best && n_best < CGP_MAX_THRESHOLDS)
            best[n_best++] = r;
        else if (k < n_best && best_better(&r, &best[k]))
            best[k] = r;
    }
    free(rows);
    struct exp_ports ports;
    if (exp_ports_init(&ports, setup, &err) != CGPC_OK)
        return cli_report("model-metrics", &err, 0);
    int rc = CLI_EXIT_OK;
    for (int k = 0; k < n_best && rc == CLI_EXIT_OK; k++) {
        struct cgp_genome g = {0};
        struct cgp_export_meta meta;
        char chr[4300], dot[4400], log[4400];
        snprintf(chr, sizeof chr, "%s/%s", dir, best[k].row.best_file);
        snprintf(dot, sizeof dot, "%s/circuit.%s.%g.dot", plot_dir, name, best[k].threshold);
        snprintf(log, sizeof log, "%s/circuit.%s.%g.log", plot_dir, name, best[k].threshold);
        struct cgpc_atomic_file af = {0};
        cgpc_status st = cgp_best_load(dir, &best[k].row, &g, &err);
        if (st == CGPC_OK && (g.shape.n_inputs != ports.n_inputs ||
                              g.shape.n_outputs != ports.n_outputs))
            st = CGPC_FAIL(&err, CGPC_ERR_FORMAT, "%s: not the experiment's circuit", chr);
        if (st == CGPC_OK)
            st = cgp_export_meta_load(&meta, chr, &err);
        struct cgp_export_opts eo = {"circuit", &meta, (const char *const *)ports.input_names,
                                     (const char *const *)ports.output_names};
        if (st == CGPC_OK && (st = cgpc_atomic_open(&af, dot, &err)) == CGPC_OK) {
            if ((st = cgp_export_write(&g, CGP_EXPORT_DOT, &eo, af.fp, &err)) == CGPC_OK)
                st = cgpc_atomic_close(&af, &err);
            else
                cgpc_atomic_abort(&af);
        }
        char png[4400], svg[4400];
        snprintf(png, sizeof png, "%s/circuit.%s.%g.png", plot_dir, name, best[k].threshold);
        snprintf(svg, sizeof svg, "%s/circuit.%s.%g.svg", plot_dir, name, best[k].threshold);
        const char *formats[] = {"png", "svg"}, *images[] = {png, svg};
        if (st == CGPC_OK)
            st = cgp_export_render(dot, 2, formats, images, log, &err);
        if (st == CGPC_OK)
            unlink(log);
        cgp_genome_free(&g);
        if (st != CGPC_OK)
            rc = cli_report("model-metrics", &err, 0);
    }
    exp_ports_free(&ports);
    return rc;
}
