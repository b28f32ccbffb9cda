/* cmd_sensitivity.c - `cgpc sensitivity`: per-layer validation accuracy and loss vs weight
 * bits (one layer quantized at a time), CSV and plots, and a mixed-precision bit allocation
 * under a budget of stored bits or energy, written as a cgpc-lowbit model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/parse.h"
#include "../energy/energy.h"
#include "../nn/eval.h"
#include "../nn/lowbit.h"
#include "cli.h"
#include "commands.h"
#include "lowbit_cli.h"
#include "nn_cli.h"

struct sens_opts {
    struct cli_common common;
    const char *model, *dataset, *csv, *plot, *out, *memory;
    int val_limit, nbits, bits[LOWBIT_MAX_OPTIONS];
    double budget_bpw, budget_pj;
    struct lowbit_spec spec;
};

static void sens_defaults(struct sens_opts *o)
{
    static const int bits[] = {1, 2, 3, 4, 6, 8};
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->dataset = "mnist";
    o->memory = ENERGY_MEMORY_DEFAULT;
    o->val_limit = 0;
    o->nbits = 6;
    memcpy(o->bits, bits, sizeof bits);
    lowbit_spec_defaults(&o->spec);
}

void cmd_sensitivity_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc sensitivity --model FILE [options]\n\n"
            "Per-layer sensitivity of a float model to low-bit weights: each weighted layer\n"
            "alone is quantized at each width of --bits-list (the others stay float) and\n"
            "evaluated on validation images (the validation split).\n"
            "With a budget, allocates bits per layer (greedy: narrow the layer that loses the\n"
            "least validation loss per stored bit saved) and, with --out, writes that\n"
            "mixed-precision model and reports its validation and test top-1.\n\n"
            "options:\n"
            "  --model FILE         float model (required)\n"
            "  --dataset D          mnist, fashion-mnist or an IDX directory (default: mnist)\n"
            "  --val-limit N        use the first N validation images, 0 = all (default: 0)\n"
            "  --method M           midrise, round, stochastic or multipoint (default: midrise)\n"
            "  --per-channel        per output channel scales / landmarks (default: per tensor)\n"
            "  --landmarks L        uniform, histogram or normal (default: uniform)\n"
            "  --bits-list LIST     ascending widths, at most 8 (default: 1,2,3,4,6,8)\n"
            "  --csv FILE           write the table as CSV (default: none)\n"
            "  --plot DIR           accuracy and loss vs bits plots, PNG and SVG (default: none)\n"
            "  --budget-bits-per-weight X\n"
            "                       allocate with at most X stored bits per weight on average,\n"
            "                       codes and scales/tables counted (default: none)\n"
            "  --budget-energy PJ   allocate within PJ picojoules per inference: MACs + reading\n"
            "                       weights and float32 biases from --memory (default: none)\n"
            "  --memory M           dram, sram-8k, sram-32k, sram-1m or a memory file\n"
            "                       (default: dram)\n"
            "  --out FILE           write the allocated mixed-precision model (needs a budget;\n"
            "                       default: none)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_DATASET, OPT_VAL_LIMIT, OPT_METHOD,
       OPT_PER_CHANNEL, OPT_LANDMARKS, OPT_BITS_LIST, OPT_CSV, OPT_PLOT, OPT_BUDGET_BPW,
       OPT_BUDGET_PJ, OPT_MEMORY, OPT_OUT };

static cgpc_status parse_bits_list(const char *s, int *bits, int *n, struct cgpc_err *err)
{
    *n = 0;
    while (*s) {
        char *end;
        long b = strtol(s, &end, 10);
        if (end == s || (*end && *end != ',') || b < 1 || b > LOWBIT_MAX_BITS ||
            *n == LOWBIT_MAX_OPTIONS || (*n && b <= bits[*n - 1]))
            return CGPC_FAIL(err, CGPC_ERR_ARG,
                             "'%s': expected up to %d ascending widths in 1..%d, e.g. 1,2,4,8",
                             s, LOWBIT_MAX_OPTIONS, LOWBIT_MAX_BITS);
        bits[(*n)++] = (int)b;
        s = *end ? end + 1 : end;
    }
    return *n ? CGPC_OK : CGPC_FAIL(err, CGPC_ERR_ARG, "empty bit list");
}

static int parse_opts(int argc, char **argv, struct sens_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"val-limit", required_argument, NULL, OPT_VAL_LIMIT},
        {"method", required_argument, NULL, OPT_METHOD},
        {"per-channel", no_argument, NULL, OPT_PER_CHANNEL},
        {"landmarks", required_argument, NULL, OPT_LANDMARKS},
        {"bits-list", required_argument, NULL, OPT_BITS_LIST},
        {"csv", required_argument, NULL, OPT_CSV},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"budget-bits-per-weight", required_argument, NULL, OPT_BUDGET_BPW},
        {"budget-energy", required_argument, NULL, OPT_BUDGET_PJ},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"out", required_argument, NULL, OPT_OUT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "sensitivity";
    struct cgpc_err err = {0};
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int r = cli_common_option(cmd, c, optarg, &o->common);
        cgpc_status st = CGPC_OK;
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_MODEL: o->model = optarg; break;
        case OPT_DATASET: o->dataset = optarg; break;
        case OPT_VAL_LIMIT: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->val_limit, &err); break;
        case OPT_METHOD:
            st = lowbit_method_parse(optarg, &o->spec.method, &err);
            if (!st && o->spec.method == LOWBIT_FP16)
                st = CGPC_FAIL(&err, CGPC_ERR_ARG, "fp16 has no bit width to vary");
            break;
        case OPT_PER_CHANNEL: o->spec.per_channel = 1; break;
        case OPT_LANDMARKS: st = lowbit_landmarks_parse(optarg, &o->spec.landmarks, &err); break;
        case OPT_BITS_LIST: st = parse_bits_list(optarg, o->bits, &o->nbits, &err); break;
        case OPT_CSV: o->csv = optarg; break;
        case OPT_PLOT: o->plot = optarg; break;
        case OPT_BUDGET_BPW: st = cgpc_parse_double(optarg, 0.01, 64, &o->budget_bpw, &err); break;
        case OPT_BUDGET_PJ: st = cgpc_parse_double(optarg, 1e-9, 1e30, &o->budget_pj, &err); break;
        case OPT_MEMORY: o->memory = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (st)
            return cli_usage_error(cmd, "%s: %s", argv[optind - 1], err.msg);
    }
    if (o->common.help)
        return -1;
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->model)
        return cli_usage_error(cmd, "--model is required");
    if (o->budget_bpw > 0 && o->budget_pj > 0)
        return cli_usage_error(cmd, "give one of --budget-bits-per-weight and --budget-energy");
    if (o->out && !(o->budget_bpw > 0 || o->budget_pj > 0))
        return cli_usage_error(cmd, "--out needs --budget-bits-per-weight or --budget-energy");
    return 0;
}

/* The budget in stored weight bits: bits per weight x weights, or the energy left for
 * weights after MACs and float32 biases, at the memory's pJ per byte. */
static cgpc_status budget_bits(const struct sens_opts *o, const struct nn_model *m,
                               const struct lowbit_sens *s, uint64_t *out, struct cgpc_err *err)
{
    uint64_t nw = 0, macs = 0, bias = 0;
    for (int k = 0; k < s->n; k++) {
        nw += (uint64_t)s->weights[k];
        macs += (uint64_t)m->layers[s->layer[k]].macs;
        bias += 32 * (uint64_t)m->layers[s->layer[k]].out_c;
    }
    if (o->budget_bpw > 0) {
        *out = (uint64_t)(o->budget_bpw * (double)nw);
        return CGPC_OK;
    }
    struct energy_gate_table t;
    struct energy_memory mem;
    cgpc_status st = energy_memory_select(&mem, o->memory, err);
    if (st)
        return st;
    energy_gate_table_default(&t);
    double left = o->budget_pj - (double)macs * t.mac.energy_pj -
                  (double)bias / 8.0 * mem.pj_per_byte;
    if (left <= 0)
        return CGPC_FAIL(err, CGPC_ERR_RANGE,
                         "--budget-energy %g pJ does not cover the MACs and biases (%g pJ)",
                         o->budget_pj, o->budget_pj - left);
    *out = (uint64_t)(left * 8.0 / mem.pj_per_byte);
    return CGPC_OK;
}

/* Allocate, quantize with the allocation, evaluate on val and test, save. */
static cgpc_status allocate_and_save(const struct sens_opts *o, struct nn_model *m,
                                     const struct lowbit_sens *s, const struct nn_dataset *val,
                                     struct cgpc_err *err)
{
    uint64_t budget = 0;
    int bits[NN_MAX_LAYERS] = {0};
    struct lowbit_spec specs[NN_MAX_LAYERS];
    struct lowbit_model q;
    struct nn_dataset test;
    struct nn_eval_result rv, rt;
    char buf[64];
    cgpc_status st;
    if ((st = budget_bits(o, m, s, &budget, err)) || (st = lowbit_allocate(s, budget, bits, err)))
        return st;
    printf("allocation within %llu stored weight bits:", (unsigned long long)budget);
    for (int k = 0; k < s->n; k++)
        printf(" %s=%d", m->layers[s->layer[k]].name, bits[s->layer[k]]);
    printf("\n");
    if (!o->out)
        return CGPC_OK;
    for (int i = 0; i < NN_MAX_LAYERS; i++) {
        specs[i] = o->spec;
        specs[i].bits = bits[i] ? bits[i] : o->spec.bits;
    }
    memset(&test, 0, sizeof test);
    if ((st = lowbit_quantize(m, specs, o->common.seed, &q, err)))
        return st;
    lowbit_apply(&q, m);
    if (!(st = nn_cli_load_dataset(o->dataset, NN_SPLIT_TEST, &test, err)) &&
        !(st = nn_dataset_pad(&test, m->in_h, m->in_w, err)) &&
        !(st = nn_eval(m, val, NULL, &rv, err)) && !(st = nn_eval(m, &test, NULL, &rt, err))) {
        snprintf(buf, sizeof buf, "%.6f", rt.top1);
        if (!(st = nn_model_set_meta(m, "test_top1", buf, err)) &&
            !(st = nn_model_set_meta(m, "quantized_from", o->model, err)) &&
            !(st = nn_model_set_meta(m, "lowbit_method", "mixed", err)))
            st = lowbit_save(&q, m, o->out, err);
    }
    if (!st)
        printf("mixed precision -> %s: %.3f bits/weight, val top1 %.4f (float %.4f, %+.2f "
               "points), test top1 %.4f\n",
               o->out, lowbit_bits_per_weight(&q), rv.top1, s->float_top1,
               100 * (rv.top1 - s->float_top1), rt.top1);
    nn_dataset_free(&test);
    lowbit_model_free(&q);
    return st;
}

int cmd_sensitivity(int argc, char **argv)
{
    const char *cmd = "sensitivity";
    struct sens_opts o;
    struct cgpc_err err = {0};
    sens_defaults(&o);
    int pr = parse_opts(argc, argv, &o);
    if (pr < 0) {
        cmd_sensitivity_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr > 0)
        return pr;
    cli_common_apply(&o.common);
    struct nn_model m;
    struct nn_dataset val;
    struct lowbit_sens *s = calloc(1, sizeof *s);
    cgpc_status st;
    int usage = 0;
    memset(&val, 0, sizeof val);
    if (!s)
        return CLI_EXIT_FAILURE;
    if ((st = nn_model_load(o.model, &m, &err))) {
        free(s);
        return cli_report(cmd, &err, 0);
    }
    if (!m.has_float)
        st = CGPC_FAIL(&err, CGPC_ERR_ARG, "%s: sensitivity needs a float model", o.model);
    if (!st)
        st = lowbit_cli_load_val(o.dataset, o.val_limit, m.in_h, m.in_w, &val, &err);
    if (!st)
        st = lowbit_sensitivity(&m, &o.spec, o.bits, o.nbits, &val, o.common.seed, s, &err);
    if (!st) {
        printf("validation: %d images of %s's validation split; float top1 %.4f loss %.4f\n",
               val.n, o.dataset, s->float_top1, s->float_loss);
        printf("%-24s %10s %5s %12s %9s %9s\n", "layer", "weights", "bits", "stored_bits",
               "val_top1", "val_loss");
        for (int k = 0; k < s->n; k++)
            for (int j = 0; j < s->nbits; j++)
                printf("%-24s %10lld %5d %12llu %9.4f %9.4f\n", m.layers[s->layer[k]].name,
                       (long long)s->weights[k], s->bits[j],
                       (unsigned long long)s->stored[k][j], s->top1[k][j], s->loss[k][j]);
    }
    if (!st && o.csv)
        st = lowbit_cli_write_sens_csv(s, &m, o.csv, &err);
    if (!st && o.plot)
        st = lowbit_cli_plot_sens(s, &m, o.plot, &err);
    if (!st && (o.budget_bpw > 0 || o.budget_pj > 0)) {
        st = allocate_and_save(&o, &m, s, &val, &err);
        usage = st == CGPC_ERR_RANGE;
    }
    int rc = st ? cli_report(cmd, &err, usage) : CLI_EXIT_OK;
    nn_model_free(&m);
    nn_dataset_free(&val);
    free(s);
    return rc;
}
