/* cmd_circuit.c - `cgpc circuit show CHR` (active gates and costs), `cgpc circuit eval CHR
 * --data F` (recomputes error and costs, optionally writes the outputs), `cgpc circuit export
 * CHR --format verilog|c|dot` and `cgpc circuit synth CHR` (Yosys cell and transistor counts
 * beside cgpc's own costs). */
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "cgp/export.h"
#include "cli.h"
#include "commands.h"
#include "energy/energy.h"
#include "export_cli.h"

struct circuit_opts {
    struct cli_common common;
    const char *action; /* show | eval | export | synth */
    const char *chr;
    const char *data;
    const char *outputs;
    const char *gate_costs;
    enum cgp_error_kind error_kind;
    struct export_cli_opts ex;
};

static void circuit_defaults(struct circuit_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->error_kind = CGP_ERROR_MSE;
    export_cli_defaults(&o->ex);
}

void cmd_circuit_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc circuit show CHR [--gate-costs FILE]\n"
            "       cgpc circuit eval CHR --data FILE [--error KIND] [--outputs FILE]\n"
            "       cgpc circuit export CHR --format verilog|c|dot [--out FILE] [--name N]\n"
            "                                [--exp DIR|none] [--weights] [--render svg|png]\n"
            "       cgpc circuit synth CHR [--yosys PROG] [--keep DIR] [--gate-costs FILE]\n"
            "show:   list the active gates of chromosome CHR with their costs and the circuit's\n"
            "        energy, delay, area, gate count and depth.\n"
            "eval:   also evaluate it on a data set (format 'cgpc-data v1') and print the error;\n"
            "        the fast evaluator is cross-checked against the scalar reference.\n"
            "export: write the circuit as\n"
            "          verilog  one Verilog-2001 module NAME: ports i0.. and o0.. (signed [7:0]),\n"
            "                   plus 'input [1:0] item' (data item index mod 4) when a mux is\n"
            "                   active; one wire n<k>_<op> per active node\n"
            "          c        C99 'void NAME(const int8_t *in, int8_t *out[, int item])', no\n"
            "                   dependency, no undefined behaviour\n"
            "          dot      Graphviz graph of the active nodes, ports named by their weights\n"
            "        with exactly cgpc's int8 semantics (wrap-around, >> arithmetic, mul low byte,\n"
            "        muxes select by item). The header names the source file, seed and error.\n"
            "synth:  synthesise the Verilog export with Yosys (synth; abc -g AND,NAND,OR,NOR,\n"
            "        XOR,XNOR,MUX), print the cells per type and the static-CMOS transistor\n"
            "        count (NOT 2, NAND/NOR 4, AND/OR 6, XOR/XNOR/MUX 12; Yosys' 'stat -tech\n"
            "        cmos' figure beside it) and cgpc's gate-table energy, delay and area.\n\n"
            "options:\n"
            "  --data FILE            data set for eval (required for eval)\n"
            "  --error KIND           se, mse or ae (default: mse)\n"
            "  --outputs FILE         eval: also write the circuit's outputs on every item as a\n"
            "                         'cgpc-data v1' file (the inputs, then the outputs) (default:\n"
            "                         none)\n"
            "  --gate-costs FILE      gate cost table (default: the built-in 45 nm table)\n"
            EXPORT_CLI_USAGE
            CLI_COMMON_USAGE);
}

enum { OPT_DATA = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_ERROR, OPT_COSTS, OPT_OUTPUTS };

static const struct option circuit_long[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"error", required_argument, NULL, OPT_ERROR},
    {"gate-costs", required_argument, NULL, OPT_COSTS},
    {"outputs", required_argument, NULL, OPT_OUTPUTS},
    EXPORT_CLI_LONG_OPTIONS,
    CLI_COMMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0}};

static int parse_circuit(struct circuit_opts *o, int argc, char **argv)
{
    cli_getopt_reset();
    int opt;
    while ((opt = getopt_long(argc, argv, "", circuit_long, NULL)) != -1) {
        int c = cli_common_option("circuit", opt, optarg, &o->common);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        if ((c = export_cli_option(opt, optarg, &o->ex)) < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        switch (opt) {
        case OPT_DATA: o->data = optarg; break;
        case OPT_OUTPUTS: o->outputs = optarg; break;
        case OPT_COSTS: o->gate_costs = optarg; break;
        case OPT_ERROR: {
            int k = cgp_error_kind_from_name(optarg);
            if (k < 0)
                return cli_usage_error("circuit", "--error: '%s': expected se, mse or ae", optarg);
            o->error_kind = (enum cgp_error_kind)k;
            break;
        }
        default:
            return cli_usage_error("circuit", "unknown option or missing value: '%s'",
                                   argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (argc - optind != 2)
        return cli_usage_error("circuit", "expected 'show CHR', 'eval CHR --data FILE', "
                                          "'export CHR --format F' or 'synth CHR'");
    o->action = argv[optind];
    o->chr = argv[optind + 1];
    if (strcmp(o->action, "show") != 0 && strcmp(o->action, "eval") != 0 &&
        strcmp(o->action, "export") != 0 && strcmp(o->action, "synth") != 0)
        return cli_usage_error("circuit", "unknown action '%s': expected show, eval, export or "
                                          "synth", o->action);
    if (strcmp(o->action, "eval") == 0 && !o->data)
        return cli_usage_error("circuit", "eval needs --data FILE");
    if (strcmp(o->action, "eval") != 0 && (o->data || o->outputs))
        return cli_usage_error("circuit", "--data and --outputs belong to eval");
    return export_cli_check(o->action, &o->ex);
}

static void print_costs(const struct cgp_fitness *f)
{
    printf("active %d\ngates %d\ndepth %d\nenergy_pj %.6g\ndelay_ns %.6g\narea_um2 %.6g\n",
           f->active, f->gates, f->depth, f->energy_pj, f->delay_ns, f->area_um2);
}

int cmd_circuit(int argc, char **argv)
{
    struct circuit_opts o;
    struct cgpc_err err = {0};
    struct energy_gate_table table;
    struct cgp_genome g = {0};
    struct cgp_dataset ds = {0};
    int8_t *ref = NULL;
    int rc = CLI_EXIT_OK;
    circuit_defaults(&o);
    if ((rc = parse_circuit(&o, argc, argv)) != 0)
        return rc;
    if (o.common.help) {
        cmd_circuit_usage(stdout);
        return CLI_EXIT_OK;
    }
    energy_gate_table_default(&table);
    if (o.gate_costs && energy_gate_table_load(&table, o.gate_costs, &err) != CGPC_OK)
        return cli_report("circuit", &err, 1);
    if (cgp_genome_load(&g, o.chr, &err) != CGPC_OK)
        return cli_report("circuit", &err, 0);
    if (strcmp(o.action, "export") == 0 || strcmp(o.action, "synth") == 0) {
        rc = export_cli_run(o.action, o.chr, &g, &table, &o.ex);
        cgp_genome_free(&g);
        return rc;
    }
    struct cgp_fitness f;
    if (strcmp(o.action, "show") == 0) {
        /* costs do not depend on data: measure on one all-zero item */
        if (cgp_dataset_init(&ds, g.shape.n_inputs, g.shape.n_outputs, 1, &err) != CGPC_OK ||
            cgp_genome_describe(&g, &table, stdout, &err) != CGPC_OK ||
            cgp_measure(&g, &ds, &table, o.error_kind, &f, &err) != CGPC_OK) {
            rc = cli_report("circuit", &err, 0);
            goto out;
        }
        print_costs(&f);
        goto out;
    }
    if (cgp_dataset_load(&ds, o.data, &err) != CGPC_OK ||
        cgp_measure(&g, &ds, &table, o.error_kind, &f, &err) != CGPC_OK) {
        rc = cli_report("circuit", &err, 0);
        goto out;
    }
    /* Cross-check: the scalar reference over all nodes must give the same error. */
    ref = malloc((size_t)ds.n_outputs * ds.n_items);
    if (!ref || cgp_eval_reference(&g, &ds, ref, &err) != CGPC_OK) {
        rc = cli_report("circuit", &err, 0);
        goto out;
    }
    int64_t ref_sum = 0;
    for (int oi = 0; oi < ds.n_outputs; oi++)
        for (int d = 0; d < ds.n_items; d++) {
            size_t at = (size_t)oi * ds.stride + d;
            int e = ref[(size_t)oi * ds.n_items + d] - ds.target[at];
            ref_sum += (int64_t)ds.care[at] * ds.weight[oi] *
                       (o.error_kind == CGP_ERROR_AE ? (e < 0 ? -e : e) : e * e);
        }
    if (ref_sum != f.err_sum) {
        cli_error("circuit", "internal error", "fast evaluator error sum %lld != reference %lld",
                  (long long)f.err_sum, (long long)ref_sum);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (o.outputs && (rc = export_cli_write_outputs(o.outputs, &ds, ref)) != CLI_EXIT_OK)
        goto out;
    printf("error %.10g\nerror_kind %s\nerror_sum %lld\nitems %d\n", f.error,
           cgp_error_kind_name(o.error_kind), (long long)f.err_sum, ds.n_items);
    print_costs(&f);
out:
    free(ref);
    cgp_dataset_free(&ds);
    cgp_genome_free(&g);
    return rc;
}
