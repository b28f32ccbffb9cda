/* cmd_quantize.c - `cgpc quantize`: post-training quantization of a float model: int8
 * (per-channel symmetric weights, per-tensor affine activations from MinMax calibration;
 * the default) or a low-bit weight method of nn/lowbit.h written as a cgpc-lowbit file. */
#include <stdio.h>
#include <string.h>

#include "../common/parse.h"
#include "../nn/eval.h"
#include "../nn/lowbit.h"
#include "../nn/quant.h"
#include "cli.h"
#include "commands.h"
#include "lowbit_cli.h"
#include "nn_cli.h"

struct quantize_opts {
    struct cli_common common;
    const char *model, *calib, *out, *layer_bits;
    enum nn_split calib_split;
    int calib_limit;
    int int8;                 /* --method int8 (default) */
    struct lowbit_spec spec;  /* the other methods */
};

static void quantize_defaults(struct quantize_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->calib = "mnist";
    o->calib_split = NN_SPLIT_TRAIN;
    o->calib_limit = 2000;
    o->int8 = 1;
    lowbit_spec_defaults(&o->spec);
}

void cmd_quantize_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc quantize --model FILE --out FILE [options]\n\n"
            "Post-training quantization of a float model's weights.\n"
            "  int8 (default): PyTorch eager fbgemm semantics: int8 symmetric per-channel\n"
            "    weights, quint8 per-tensor activations calibrated with a MinMax observer,\n"
            "    int32 bias; writes a cgpc-int8 file.\n"
            "  midrise|round|stochastic|multipoint|fp16: low-bit weights (b = 1..8 bits, codes\n"
            "    bit-packed with their scales or landmark tables) in a cgpc-lowbit file; biases\n"
            "    and activations stay float: the model is evaluated with its weights\n"
            "    dequantized to float (the float path).\n"
            "Prints the new model's test accuracy next to the float one, and for low-bit\n"
            "methods each layer's stored bits (and multi-point's points per layer).\n\n"
            "options:\n"
            "  --model FILE         float model to quantize (required)\n"
            "  --out FILE           model to write (required)\n"
            "  --method M           int8, midrise, round, stochastic, multipoint or fp16\n"
            "                       (default: int8)\n"
            "  --bits B             low-bit width 1..8 (default: 4)\n"
            "  --per-channel        one scale / landmark set per output channel (default: one\n"
            "                       per tensor)\n"
            "  --landmarks L        round/stochastic landmark set: uniform, histogram or normal\n"
            "                       (default: uniform)\n"
            "  --layer-bits LIST    per-layer overrides, e.g. conv1=4,fc1=2,fc3=float,conv2=fp16\n"
            "                       (default: none)\n"
            "  --points N           multipoint: most points per layer, 1..16 (default: 4)\n"
            "  --mp-tol X           multipoint: add points until the layer's relative L2\n"
            "                       error is <= X (default: 0.05)\n"
            "  --calib-dataset D    mnist, fashion-mnist or an IDX directory; its test split\n"
            "                       (and, for low-bit methods, validation split) is evaluated\n"
            "                       (default: mnist)\n"
            "  --calib-split S      int8 calibration split, train or test (default: train)\n"
            "  --calib-limit N      int8 calibration images (default: 2000; 0 = all)\n"
            "  (--seed keys stochastic rounding: the same seed gives the same file for any\n"
            "   --threads)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_OUT, OPT_CALIB, OPT_CALIB_SPLIT,
       OPT_CALIB_LIMIT, OPT_METHOD, OPT_BITS, OPT_PER_CHANNEL, OPT_LANDMARKS, OPT_LAYER_BITS,
       OPT_POINTS, OPT_MP_TOL };

static int parse_opts(int argc, char **argv, struct quantize_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"out", required_argument, NULL, OPT_OUT},
        {"calib-dataset", required_argument, NULL, OPT_CALIB},
        {"calib-split", required_argument, NULL, OPT_CALIB_SPLIT},
        {"calib-limit", required_argument, NULL, OPT_CALIB_LIMIT},
        {"method", required_argument, NULL, OPT_METHOD},
        {"bits", required_argument, NULL, OPT_BITS},
        {"per-channel", no_argument, NULL, OPT_PER_CHANNEL},
        {"landmarks", required_argument, NULL, OPT_LANDMARKS},
        {"layer-bits", required_argument, NULL, OPT_LAYER_BITS},
        {"points", required_argument, NULL, OPT_POINTS},
        {"mp-tol", required_argument, NULL, OPT_MP_TOL},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "quantize";
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
        case OPT_OUT: o->out = optarg; break;
        case OPT_CALIB: o->calib = optarg; break;
        case OPT_CALIB_SPLIT: st = nn_split_parse(optarg, &o->calib_split, &err); break;
        case OPT_CALIB_LIMIT: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->calib_limit, &err); break;
        case OPT_METHOD:
            o->int8 = strcmp(optarg, "int8") == 0;
            if (!o->int8)
                st = lowbit_method_parse(optarg, &o->spec.method, &err);
            break;
        case OPT_BITS: st = cgpc_parse_int(optarg, 1, LOWBIT_MAX_BITS, &o->spec.bits, &err); break;
        case OPT_PER_CHANNEL: o->spec.per_channel = 1; break;
        case OPT_LANDMARKS: st = lowbit_landmarks_parse(optarg, &o->spec.landmarks, &err); break;
        case OPT_LAYER_BITS: o->layer_bits = optarg; break;
        case OPT_POINTS:
            st = cgpc_parse_int(optarg, 1, LOWBIT_MAX_POINTS, &o->spec.max_points, &err);
            break;
        case OPT_MP_TOL: st = cgpc_parse_double(optarg, 0, 1, &o->spec.tol, &err); break;
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
    if (!o->model || !o->out)
        return cli_usage_error(cmd, "--model and --out are required");
    if (o->int8 && o->layer_bits)
        return cli_usage_error(cmd, "--layer-bits needs a low-bit --method");
    return 0;
}

/* Quantize m with o's low-bit method, evaluate, print the per-layer table, save. */
static cgpc_status run_lowbit(const struct quantize_opts *o, struct nn_model *m,
                              const struct nn_dataset *test, double float_top1,
                              struct cgpc_err *err)
{
    struct nn_dataset val;
    struct nn_eval_result fv, rv;
    memset(&val, 0, sizeof val);
    struct lowbit_spec specs[NN_MAX_LAYERS];
    struct lowbit_model q;
    struct nn_eval_result r;
    char buf[64];
    cgpc_status st;
    memset(&q, 0, sizeof q);
    if ((st = lowbit_specs_parse(m, &o->spec, o->layer_bits, specs, err)) ||
        (st = lowbit_quantize(m, specs, o->common.seed, &q, err)))
        return st;
    /* the validation split: float, then low-bit */
    if ((st = nn_cli_load_dataset(o->calib, NN_SPLIT_VAL, &val, err)) ||
        (st = nn_dataset_pad(&val, m->in_h, m->in_w, err)) ||
        (st = nn_eval(m, &val, NULL, &fv, err)))
        goto out;
    lowbit_apply(&q, m);
    if ((st = nn_eval(m, test, NULL, &r, err)) || (st = nn_eval(m, &val, NULL, &rv, err)))
        goto out;
    snprintf(buf, sizeof buf, "%.6f", r.top1);
    if ((st = nn_model_set_meta(m, "test_top1", buf, err)) ||
        (st = nn_model_set_meta(m, "quantized_from", o->model, err)))
        goto out;
    snprintf(buf, sizeof buf, "%s%s%s", lowbit_method_name(o->spec.method),
             o->spec.method == LOWBIT_ROUND || o->spec.method == LOWBIT_STOCHASTIC ? "-" : "",
             o->spec.method == LOWBIT_ROUND || o->spec.method == LOWBIT_STOCHASTIC
                 ? lowbit_landmarks_name(o->spec.landmarks)
                 : "");
    if ((st = nn_model_set_meta(m, "lowbit_method", buf, err)) ||
        (st = lowbit_save(&q, m, o->out, err)))
        goto out;
    static const char *kinds[] = {"midrise", "grid", "table", "multipoint", "fp16", "float"};
    printf("%-24s %-10s %4s %6s %6s %10s %12s %10s\n", "layer", "kind", "bits", "groups",
           "points", "weights", "code_bits", "param_bits");
    for (int k = 0; k < q.n; k++) {
        const struct lowbit_layer *l = &q.layers[k];
        uint64_t cb = lowbit_layer_code_bits(l), pb = lowbit_layer_param_bits(l);
        printf("%-24s %-10s %4d %6d %6d %10lld %12llu %10llu\n", m->layers[l->layer].name,
               kinds[l->kind], l->bits, l->groups, l->points, (long long)l->n,
               (unsigned long long)cb, (unsigned long long)pb);
    }
    printf("weights %.3f bits/weight (codes + scales/tables, biases excluded)\n",
           lowbit_bits_per_weight(&q));
    if ((st = lowbit_cli_print_storage(&q, m, err)))
        goto out;
    printf("val top1 float %.4f low-bit %.4f (%+.2f points)\n", fv.top1, rv.top1,
           100 * (rv.top1 - fv.top1));
    printf("quantized %s -> %s (%s, %d bits%s): test top1 float %.4f low-bit %.4f (%+.2f "
           "points)\n",
           o->model, o->out, buf, o->spec.method == LOWBIT_FP16 ? 16 : o->spec.bits,
           o->spec.per_channel ? ", per channel" : "",
           float_top1, r.top1, 100 * (r.top1 - float_top1));
out:
    nn_dataset_free(&val);
    lowbit_model_free(&q);
    return st;
}

int cmd_quantize(int argc, char **argv)
{
    const char *cmd = "quantize";
    struct quantize_opts o;
    struct cgpc_err err = {0};
    quantize_defaults(&o);
    int pr = parse_opts(argc, argv, &o);
    if (pr < 0) {
        cmd_quantize_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr > 0)
        return pr;
    cli_common_apply(&o.common);

    int rc = CLI_EXIT_FAILURE;
    struct nn_model m;
    struct nn_dataset calib, test;
    memset(&calib, 0, sizeof calib);
    memset(&test, 0, sizeof test);
    if (nn_model_load(o.model, &m, &err))
        return cli_report(cmd, &err, 0);
    if (!m.has_float) {
        cli_error(cmd, o.model, "already an int8 model; quantize needs a float model");
        goto out;
    }
    if ((o.int8 && (nn_cli_load_dataset(o.calib, o.calib_split, &calib, &err) ||
                    nn_dataset_pad(&calib, m.in_h, m.in_w, &err))) ||
        nn_cli_load_dataset(o.calib, NN_SPLIT_TEST, &test, &err) ||
        nn_dataset_pad(&test, m.in_h, m.in_w, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    struct nn_eval_result rf, rq;
    char buf[32];
    if (nn_eval(&m, &test, NULL, &rf, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (!o.int8) {
        cgpc_status st = run_lowbit(&o, &m, &test, rf.top1, &err);
        rc = st ? cli_report(cmd, &err, st == CGPC_ERR_ARG || st == CGPC_ERR_RANGE) : 0;
        goto out;
    }
    if (nn_quantize_model(&m, &calib, o.calib_limit, &err) ||
        nn_eval(&m, &test, NULL, &rq, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    snprintf(buf, sizeof buf, "%.6f", rq.top1);
    if (nn_model_set_meta(&m, "test_top1", buf, &err) ||
        nn_model_set_meta(&m, "quantized_from", o.model, &err) ||
        nn_model_save(&m, o.out, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    printf("quantized %s -> %s: test top1 float %.4f int8 %.4f (%+.2f points), "
           "calibrated on %d images\n",
           o.model, o.out, rf.top1, rq.top1, 100 * (rq.top1 - rf.top1),
           o.calib_limit > 0 && o.calib_limit < calib.n ? o.calib_limit : calib.n);
    rc = CLI_EXIT_OK;
out:
    nn_model_free(&m);
    nn_dataset_free(&calib);
    nn_dataset_free(&test);
    return rc;
}
