/* cmd_eval.c - `cgpc eval`: top-1, top-5, mean cross-entropy and images/s of a float or int8
 * model on a dataset split; optional JSON output and per-image logits CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../common/parse.h"
#include "../exp/compare.h"
#include "../exp/resfile.h"
#include "../nn/eval.h"
#include "cli.h"
#include "commands.h"
#include "nn_cli.h"

struct eval_opts {
    struct cli_common common;
    const char *model;
    const char *dataset;
    enum nn_split split;
    int limit;
    const char *logits;
    const char *residual;
    int json;
};

static void eval_defaults(struct eval_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->dataset = "mnist";
    o->split = NN_SPLIT_TEST;
}

void cmd_eval_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc eval --model FILE [options]\n\n"
            "Evaluate a model (float, int8, low-bit or Deep Compression safetensors; low-bit\n"
            "and Deep Compression weights are decoded to float) on a dataset split: top-1, top-5,\n"
            "mean cross-entropy loss, images/s. Your own PyTorch models: see README 'Bring\n"
            "your own model' (tensor names, shapes, operators, metadata; a file declaring an\n"
            "activation, pooling or input size cgpc does not run is refused).\n\n"
            "options:\n"
            "  --model FILE         model to evaluate, any of the above (required unless\n"
            "                       --residual names it)\n"
            "  --residual FILE      decode a residual-mode file (cgpc train, mode = residual):\n"
            "                       its circuit and coded residual rebuild the selected weights of\n"
            "                       the int8 --model (default: the model its experiment names),\n"
            "                       checked against the file's checksum, then evaluate (default:\n"
            "                       none)\n"
            "  --dataset NAME|DIR   mnist, fashion-mnist or an IDX directory (default: mnist)\n"
            "  --split S            train, val or test; val is the last 1,000 (MNIST) / 5,000\n"
            "                       (Fashion-MNIST) images of the train file and train is the\n"
            "                       rest (default: test)\n"
            "  --limit N            evaluate only the first N images (default: 0 = all)\n"
            "  --logits FILE        write one CSV row of logits per image, dataset order\n"
            "                       (default: none)\n"
            "  --json               print one JSON object with keys top1, top5, loss, images,\n"
            "                       seconds, images_per_s, format (int8 or float: what is\n"
            "                       computed), file_format (cgpc-float, cgpc-int8, cgpc-lowbit,\n"
            "                       cgpc-deep, cgpc-residual), method and bits (as model-metrics\n"
            "                       names them) (default: text line)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_DATASET, OPT_SPLIT, OPT_LIMIT, OPT_LOGITS,
       OPT_JSON, OPT_RESIDUAL };

static cgpc_status write_logits(const char *path, const float *lg, int n, int nc,
                                struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < nc; c++)
            fprintf(af.fp, "%.9g%c", (double)lg[(size_t)i * nc + c], c == nc - 1 ? '\n' : ',');
    if (ferror(af.fp))
        return cgpc_atomic_fail(&af, err);
    return cgpc_atomic_close(&af, err);
}

/* --verbose: the model's layers with their weight shapes, MACs and output shapes. */
static void print_layers(const struct nn_model *m)
{
    int64_t macs = 0;
    int width = 8; /* the first column fits the longest layer name */
    for (int i = 0; i < m->nlayers; i++)
        width = (int)strlen(m->layers[i].name) > width ? (int)strlen(m->layers[i].name) : width;
    fprintf(stderr, "%-*s %-10s %-16s %8s %10s  %s\n", width, "layer", "op", "weight", "weights",
            "MACs", "output");
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        int64_t shape[4];
        char ws[64] = "-";
        int nd = nn_layer_weight_shape(l, shape);
        for (int d = 0, n = 0; d < nd; d++)
            n += snprintf(ws + n, sizeof ws - (size_t)n, "%s%lld", d ? "x" : "",
                          (long long)shape[d]);
        fprintf(stderr, "%-*s %-10s %-16s %8lld %10lld  %dx%dx%d\n", width, l->name, nn_op_name(l->op),
                ws, (long long)l->nweights, (long long)l->macs, l->out_c, l->out_h, l->out_w);
        macs += l->macs;
    }
    fprintf(stderr, "%s: %lld parameters, %lld MACs per image, %s\n", m->arch,
            (long long)nn_model_param_count(m), (long long)macs, m->quantized ? "int8" : "float");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"logits", required_argument, NULL, OPT_LOGITS},
        {"json", no_argument, NULL, OPT_JSON},
        {"residual", required_argument, NULL, OPT_RESIDUAL},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "eval";
    struct eval_opts o;
    struct cgpc_err err = {0};
    eval_defaults(&o);
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
        case OPT_DATASET: o.dataset = optarg; break;
        case OPT_SPLIT:
            if (nn_split_parse(optarg, &o.split, &err))
                return cli_usage_error(cmd, "--split: %s", err.msg);
            break;
        case OPT_LIMIT:
            if (cgpc_parse_int(optarg, 0, 1 << 30, &o.limit, &err))
                return cli_usage_error(cmd, "--limit: %s", err.msg);
            break;
        case OPT_LOGITS: o.logits = optarg; break;
        case OPT_JSON: o.json = 1; break;
        case OPT_RESIDUAL: o.residual = optarg; break;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (o.common.help) {
        cmd_eval_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.model && !o.residual)
        return cli_usage_error(cmd, "--model is required");
    cli_common_apply(&o.common);

    int rc = CLI_EXIT_FAILURE;
    struct exp_compare mc; /* a model file, and for low-bit / Deep Compression files their method */
    struct nn_model *mp = NULL;
    struct nn_dataset ds;
    struct exp_setup setup;
    struct exp_resid_file rf;
    float *logits = NULL;
    memset(&ds, 0, sizeof ds);
    memset(&mc, 0, sizeof mc);
    memset(&setup, 0, sizeof setup);
    memset(&rf, 0, sizeof rf);
    if (o.residual) {
        int64_t written;
        if (exp_resid_open(o.residual, o.model, &rf, &setup, &written, &err)) {
            rc = cli_report(cmd, &err, 0);
            goto out;
        }
        mp = &setup.model;
        o.model = setup.model_path;
        fprintf(stderr, "%s: rebuilt %lld weights (bound %d) from a %d-node circuit and the "
                "coded residual: %llu stored bits (circuit %llu + residual %llu), checksum ok\n",
                o.residual, (long long)written, rf.bound, rf.n_active,
                (unsigned long long)(rf.circuit_bits + rf.residual_bits),
                (unsigned long long)rf.circuit_bits, (unsigned long long)rf.residual_bits);
    } else if (exp_compare_open(&mc, o.model, &err)) {
        return cli_report(cmd, &err, 0);
    } else {
        mp = &mc.model;
    }
    if (nn_cli_load_dataset(o.dataset, o.split, &ds, &err) ||
        nn_dataset_pad(&ds, mp->in_h, mp->in_w, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    nn_dataset_truncate(&ds, o.limit);
    if (o.common.verbose)
        print_layers(mp);
    if (o.logits && !(logits = malloc((size_t)ds.n * mp->nclasses * sizeof *logits))) {
        cli_error(cmd, "logits", "out of memory");
        goto out;
    }
    struct nn_eval_opts eo = {0, logits};
    struct nn_eval_result res;
    if (nn_eval(mp, &ds, &eo, &res, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (o.logits && write_logits(o.logits, logits, res.images, mp->nclasses, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    double ips = res.seconds > 0 ? res.images / res.seconds : 0;
    /* format: what is computed; the label names what is stored (low-bit: method and bits) */
    const char *fmt = mp->quantized ? "int8" : "float";
    const char *file_format = o.residual ? "cgpc-residual" : mc.format;
    char label[160];
    if (!o.residual && (!strcmp(mc.format, "cgpc-lowbit") || !strcmp(mc.format, "cgpc-deep"))) {
        char what[96];
        exp_compare_describe(&mc, what, sizeof what);
        snprintf(label, sizeof label, "%s %s; weights decoded to float", mc.format, what);
    } else {
        snprintf(label, sizeof label, "%s", fmt);
    }
    if (o.json)
        printf("{\"top1\": %.6f, \"top5\": %.6f, \"loss\": %.6f, \"images\": %d, "
               "\"seconds\": %.6f, \"images_per_s\": %.1f, \"format\": \"%s\", "
               "\"file_format\": \"%s\", \"method\": \"%s\", \"bits\": %d}\n",
               res.top1, res.top5, res.loss, res.images, res.seconds, ips, fmt, file_format,
               o.residual ? "cgp-residual" : mc.method, o.residual ? 8 : mc.bits);
    else
        printf("%s (%s) on %s/%s: top1 %.4f  top5 %.4f  loss %.4f  images %d  %.3f s  "
               "%.0f images/s\n",
               o.model, label, o.dataset, nn_split_name(o.split), res.top1,
               res.top5, res.loss, res.images, res.seconds, ips);
    rc = CLI_EXIT_OK;
out:
    free(logits);
    nn_dataset_free(&ds);
    exp_compare_free(&mc);
    exp_setup_free(&setup);
    exp_resid_file_free(&rf);
    return rc;
}
