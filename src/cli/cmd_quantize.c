/* cmd_quantize.c - `cgpc quantize`: post-training quantization of a float model to int8
 * (per-channel symmetric weights, per-tensor affine activations from MinMax calibration). */
#include <stdio.h>
#include <string.h>

#include "../common/parse.h"
#include "../nn/eval.h"
#include "../nn/quant.h"
#include "cli.h"
#include "commands.h"
#include "nn_cli.h"

struct quantize_opts {
    struct cli_common common;
    const char *model, *calib, *out;
    enum nn_split calib_split;
    int calib_limit;
};

static void quantize_defaults(struct quantize_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->calib = "mnist";
    o->calib_split = NN_SPLIT_TRAIN;
    o->calib_limit = 2000;
}

void cmd_quantize_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc quantize --model FILE --out FILE [options]\n\n"
            "Post-training quantization (PyTorch eager fbgemm semantics): int8 symmetric\n"
            "per-channel weights, quint8 per-tensor activations calibrated with a MinMax\n"
            "observer, int32 bias. Prints the int8 model's test accuracy next to the float one.\n\n"
            "options:\n"
            "  --model FILE         float model to quantize (required)\n"
            "  --out FILE           int8 model to write (required)\n"
            "  --calib-dataset D    mnist, fashion-mnist or an IDX directory (default: mnist)\n"
            "  --calib-split S      train or test (default: train)\n"
            "  --calib-limit N      calibration images (default: 2000; 0 = all)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_OUT, OPT_CALIB, OPT_CALIB_SPLIT,
       OPT_CALIB_LIMIT };

int cmd_quantize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"out", required_argument, NULL, OPT_OUT},
        {"calib-dataset", required_argument, NULL, OPT_CALIB},
        {"calib-split", required_argument, NULL, OPT_CALIB_SPLIT},
        {"calib-limit", required_argument, NULL, OPT_CALIB_LIMIT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "quantize";
    struct quantize_opts o;
    struct cgpc_err err = {0};
    quantize_defaults(&o);
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int r = cli_common_option(cmd, c, optarg, &o.common);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_MODEL: o.model = optarg; break;
        case OPT_OUT: o.out = optarg; break;
        case OPT_CALIB: o.calib = optarg; break;
        case OPT_CALIB_SPLIT:
            if (nn_split_parse(optarg, &o.calib_split, &err))
                return cli_usage_error(cmd, "--calib-split: %s", err.msg);
            break;
        case OPT_CALIB_LIMIT:
            if (cgpc_parse_int(optarg, 0, 1 << 30, &o.calib_limit, &err))
                return cli_usage_error(cmd, "--calib-limit: %s", err.msg);
            break;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (o.common.help) {
        cmd_quantize_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.model || !o.out)
        return cli_usage_error(cmd, "--model and --out are required");
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
    if (nn_cli_load_dataset(o.calib, o.calib_split, &calib, &err) ||
        nn_cli_load_dataset(o.calib, NN_SPLIT_TEST, &test, &err) ||
        nn_dataset_pad(&calib, m.in_h, m.in_w, &err) ||
        nn_dataset_pad(&test, m.in_h, m.in_w, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    struct nn_eval_result rf, rq;
    char buf[32];
    if (nn_eval(&m, &test, NULL, &rf, &err) ||
        nn_quantize_model(&m, &calib, o.calib_limit, &err) ||
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
