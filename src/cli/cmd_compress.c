/* cmd_compress.c - `cgpc compress`: the Deep Compression pipeline (prune -> fine-tune ->
 * k-means weight sharing -> centroid fine-tuning -> relative indices + Huffman coding) on a
 * float model; writes a cgpc-deep file (compress/cmodel.h) and prints the per-layer table of
 * the paper's Table 3. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/parse.h"
#include "../compress/cmodel.h"
#include "../compress/deep.h"
#include "../nn/eval.h"
#include "cli.h"
#include "commands.h"
#include "compress_cli.h"
#include "nn_cli.h"

struct compress_opts {
    struct cli_common common;
    const char *model, *out, *dataset;
    struct cpr_opts c;
    int huffman;
    const char *layer_prune[NN_MAX_LAYERS], *layer_bits[NN_MAX_LAYERS];
    int nlayer_prune, nlayer_bits;
};

static void compress_defaults(struct compress_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    cpr_opts_defaults(&o->c);
    o->c.train.lr = 1e-4;
}

void cmd_compress_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc compress --model FILE --out FILE [options]\n\n"
            "Deep Compression (Han, Mao, Dally, ICLR 2016) of a float model: magnitude pruning\n"
            "(iterative with --schedule, masked fine-tuning), k-means weight sharing per layer\n"
            "(2^B clusters, centroid fine-tuning), stored as relative sparse indices and\n"
            "codebook indices, Huffman-coded with --huffman, in a cgpc-deep file that every\n"
            "command taking a model reads. Prints per layer: weights, kept %%, value and index\n"
            "bits without and with Huffman coding, stored bytes and compression rates (vs the\n"
            "layer's float32 weights and biases); then totals vs float32 and int8. An int8\n"
            "model with only --prune/--prune-layer/--global gets one-shot magnitude pruning of\n"
            "its codes (|code| x channel scale) and stays an int8 file; with sharing,\n"
            "fine-tuning or Huffman coding it is dequantized (code x scale) and compressed as\n"
            "a float model into a cgpc-deep file.\n\n"
            "options:\n"
            "  --model FILE          float or int8 model (required)\n"
            "  --out FILE            compressed model to write (required)\n"
            "  --dataset NAME|DIR    fine-tuning and test data (default: the model's\n"
            "                        'dataset' metadata, else mnist)\n"
            "  --prune S             sparsity of every weighted layer, 0..1 (default: 0)\n"
            "  --prune-layer L=S     sparsity of the layers matching the glob L (repeatable,\n"
            "                        later ones win; default: --prune)\n"
            "  --global              one magnitude threshold over all layers (default: off)\n"
            "  --schedule F,F,...    iterative pruning: fractions of the target sparsity, one\n"
            "                        fine-tuning round after each (default: 1)\n"
            "  --share B             k-means weight sharing with 2^B clusters, B = 1..8\n"
            "                        (default: 0 = off)\n"
            "  --share-layer L=B     bits of the layers matching the glob L (repeatable,\n"
            "                        later ones win, 0 = not shared; default: --share)\n"
            "  --fold-bn             absorb BatchNorm into the convolutions first: weights\n"
            "                        and biases are pruned, shared and fine-tuned as\n"
            "                        inference runs them, biases stored as float32, no\n"
            "                        BatchNorm tensors (default: off)\n"
            "  --init NAME           k-means initialisation: linear, density or random\n"
            "                        (Forgy) (default: linear)\n"
            "  --kmeans-iter N       Lloyd iterations at most (default: 100)\n"
            "  --huffman             Huffman-code the index streams (default: off)\n"
            "  --finetune-epochs N   epochs after each pruning step and after sharing\n"
            "                        (default: 0)\n"
            "  --lr X                fine-tuning learning rate (default: 0.0001)\n"
            "  --batch N             fine-tuning batch size (default: 64)\n"
            "  --optim adam|sgd      fine-tuning optimizer (default: adam)\n"
            "  --limit N             fine-tune on the first N images (default: 0 = all)\n"
            "  --verbose             also list every stored part (storage model)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_OUT, OPT_DATASET, OPT_PRUNE,
       OPT_PRUNE_LAYER, OPT_GLOBAL, OPT_SCHEDULE, OPT_SHARE, OPT_SHARE_LAYER, OPT_INIT,
       OPT_KITER, OPT_HUFFMAN, OPT_FOLD_BN, OPT_FT_EPOCHS, OPT_LR, OPT_BATCH, OPT_OPTIM, OPT_LIMIT };

static int parse_args(int argc, char **argv, struct compress_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"out", required_argument, NULL, OPT_OUT},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"prune", required_argument, NULL, OPT_PRUNE},
        {"prune-layer", required_argument, NULL, OPT_PRUNE_LAYER},
        {"global", no_argument, NULL, OPT_GLOBAL},
        {"schedule", required_argument, NULL, OPT_SCHEDULE},
        {"share", required_argument, NULL, OPT_SHARE},
        {"share-layer", required_argument, NULL, OPT_SHARE_LAYER},
        {"init", required_argument, NULL, OPT_INIT},
        {"kmeans-iter", required_argument, NULL, OPT_KITER},
        {"huffman", no_argument, NULL, OPT_HUFFMAN},
        {"fold-bn", no_argument, NULL, OPT_FOLD_BN},
        {"finetune-epochs", required_argument, NULL, OPT_FT_EPOCHS},
        {"lr", required_argument, NULL, OPT_LR},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"optim", required_argument, NULL, OPT_OPTIM},
        {"limit", required_argument, NULL, OPT_LIMIT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "compress";
    struct cgpc_err err = {0};
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int r = cli_common_option(cmd, c, optarg, &o->common);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        cgpc_status st = CGPC_OK;
        const char *what = argv[optind - 1];
        switch (c) {
        case OPT_MODEL: o->model = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_DATASET: o->dataset = optarg; break;
        case OPT_PRUNE: st = cgpc_parse_double(optarg, 0, 1, &o->c.prune, &err); break;
        case OPT_PRUNE_LAYER:
            if (o->nlayer_prune == NN_MAX_LAYERS)
                return cli_usage_error(cmd, "--prune-layer: too many");
            o->layer_prune[o->nlayer_prune++] = optarg;
            break;
        case OPT_GLOBAL: o->c.global = 1; break;
        case OPT_SCHEDULE: st = cpr_schedule_parse(optarg, &o->c, &err); break;
        case OPT_SHARE: st = cgpc_parse_int(optarg, 0, CPR_MAX_BITS, &o->c.bits, &err); break;
        case OPT_SHARE_LAYER:
            if (o->nlayer_bits == NN_MAX_LAYERS)
                return cli_usage_error(cmd, "--share-layer: too many");
            o->layer_bits[o->nlayer_bits++] = optarg;
            break;
        case OPT_INIT: {
            int k = cpr_init_parse(optarg);
            if (k < 0)
                return cli_usage_error(cmd, "--init: '%s': expected linear, density or random",
                                       optarg);
            o->c.init = (enum cpr_init)k;
            break;
        }
        case OPT_KITER: st = cgpc_parse_int(optarg, 0, 100000, &o->c.kmeans_iter, &err); break;
        case OPT_HUFFMAN: o->huffman = 1; break;
        case OPT_FOLD_BN: o->c.fold_bn = 1; break;
        case OPT_FT_EPOCHS:
            st = cgpc_parse_int(optarg, 0, 100000, &o->c.finetune_epochs, &err);
            break;
        case OPT_LR: st = cgpc_parse_double(optarg, 1e-12, 100, &o->c.train.lr, &err); break;
        case OPT_BATCH: st = cgpc_parse_int(optarg, 1, 1 << 20, &o->c.train.batch, &err); break;
        case OPT_OPTIM: st = nn_cli_parse_optim(optarg, &o->c.train.optim, &err); break;
        case OPT_LIMIT: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->c.train.limit, &err); break;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", what);
        }
        if (st)
            return cli_usage_error(cmd, "%s: %s", cli_option_name(longopts, c), err.msg);
    }
    if (o->common.help)
        return -1;
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o->model || !o->out)
        return cli_usage_error(cmd, "--model and --out are required");
    return CLI_EXIT_OK;
}

/* "L=V" per-layer settings into the option arrays, layers looked up in the model. */
static int apply_layer_opts(const char *cmd, const struct nn_model *m, struct compress_opts *o)
{
    struct cgpc_err err = {0};
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? o->nlayer_bits : o->nlayer_prune;
        for (int j = 0; j < n; j++) {
            const char *arg = pass ? o->layer_bits[j] : o->layer_prune[j];
            const char *eq = strrchr(arg, '=');
            const char *opt = pass ? "--share-layer" : "--prune-layer";
            char pat[128];
            int hits = 0, bits = 0;
            double sp = 0;
            snprintf(pat, sizeof pat, "%.*s", eq ? (int)(eq - arg) : 0, arg);
            cgpc_status st = !eq ? CGPC_FAIL(&err, CGPC_ERR_ARG, "missing '='")
                             : pass ? cgpc_parse_int(eq + 1, 0, CPR_MAX_BITS, &bits, &err)
                                    : cgpc_parse_double(eq + 1, 0, 1, &sp, &err);
            if (st)
                return cli_usage_error(cmd, "%s '%s': %s", opt, arg, err.msg);
            for (int i = 0; i < m->nlayers; i++)
                if (m->layers[i].nweights > 0 && fnmatch(pat, m->layers[i].name, 0) == 0) {
                    hits++;
                    if (pass)
                        o->c.layer_bits[i] = bits;
                    else
                        o->c.layer_prune[i] = sp;
                }
            if (!hits)
                return cli_usage_error(cmd, "%s '%s': no weighted layer of this %s model "
                                       "matches '%s'", opt, arg, m->arch, pat);
        }
    }
    return CLI_EXIT_OK;
}

static void progress(const struct nn_train_progress *p, void *ctx)
{
    (void)ctx;
    if (p->end_of_epoch)
        fprintf(stderr, "compress: fine-tune epoch %d/%d: train loss %.4f acc %.4f  %.0f img/s  "
                "%.1f s\n", p->epoch, p->epochs, p->loss, p->acc, p->images_per_s, p->seconds);
}

struct stage_ctx {
    const struct nn_dataset *val; /* stage accuracy: validation split */
    int failed;
};

static void stage(const char *what, const struct nn_model *m, void *ctx)
{
    struct stage_ctx *s = ctx;
    struct nn_eval_result r;
    struct cgpc_err err = {0};
    int64_t kept = 0, n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const float *w = l->nweights ? cpr_layer_weights(m, l) : NULL;
        for (int64_t j = 0; w && j < l->nweights; j++)
            kept += w[j] != 0.0f;
        n += l->nweights;
    }
    if (nn_eval(m, s->val, NULL, &r, &err)) {
        cli_report("compress", &err, 0);
        s->failed = 1;
        return;
    }
    fprintf(stderr, "compress: %-10s weights kept %lld/%lld (%.2f%%), validation top1 %.4f\n",
            what,
            (long long)kept, (long long)n, 100.0 * (double)kept / (double)n, r.top1);
}

/* Only one-shot pruning asked for (an int8 model then stays int8). */
static int prune_only(const struct compress_opts *o)
{
    int sharing = o->c.bits > 0 || o->nlayer_bits > 0;
    return !sharing && o->c.finetune_epochs == 0 && !o->huffman && o->c.nschedule == 1 &&
           !o->c.fold_bn;
}

/* An int8 model: one-shot magnitude pruning of its codes, written as an int8 model. */
static int prune_int8(const char *cmd, const struct compress_opts *o, struct nn_model *m)
{
    struct cgpc_err err = {0};
    if (cpr_prune_int8(m, &o->c, &err) || nn_model_set_meta(m, "pruned_from", o->model, &err) ||
        nn_model_save(m, o->out, &err))
        return cli_report(cmd, &err, 0);
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        int64_t kept = 0;
        for (int64_t j = 0; l->qw && j < l->nweights; j++)
            kept += l->qw[j] != 0;
        if (l->nweights)
            printf("%-22s %9lld weights, %9lld non-zero codes (%.2f%%)\n", l->name,
                   (long long)l->nweights, (long long)kept,
                   100.0 * (double)kept / (double)l->nweights);
    }
    fprintf(stderr, "compress: wrote %s (int8, pruned codes)\n", o->out);
    return CLI_EXIT_OK;
}

int cmd_compress(int argc, char **argv)
{
    const char *cmd = "compress";
    struct compress_opts *o = malloc(sizeof *o);
    struct cgpc_err err = {0};
    if (!o)
        return cli_usage_error(cmd, "out of memory");
    compress_defaults(o);
    int rc = parse_args(argc, argv, o);
    if (rc < 0) {
        cmd_compress_usage(stdout);
        free(o);
        return CLI_EXIT_OK;
    }
    if (rc) {
        free(o);
        return rc;
    }
    cli_common_apply(&o->common);
    o->c.train.seed = o->common.seed;
    struct nn_model m;
    struct nn_dataset train, val, test;
    struct cpr_stats pq, pqh;
    struct nn_eval_result before, after, vbefore, vafter;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&val, 0, sizeof val);
    rc = CLI_EXIT_FAILURE;
    if (nn_model_load(o->model, &m, &err)) {
        rc = cli_report(cmd, &err, 0);
        free(o);
        return rc;
    }
    if ((rc = apply_layer_opts(cmd, &m, o)))
        goto out;
    rc = CLI_EXIT_FAILURE;
    if (!m.has_float && prune_only(o)) {
        rc = prune_int8(cmd, o, &m);
        goto out;
    }
    const char *ds = o->dataset ? o->dataset : nn_model_get_meta(&m, "dataset");
    ds = ds ? ds : "mnist";
    if ((o->c.finetune_epochs > 0 && nn_cli_load_dataset(ds, NN_SPLIT_TRAIN, &train, &err)) ||
        nn_cli_load_dataset(ds, NN_SPLIT_TEST, &test, &err) ||
        nn_cli_load_dataset(ds, NN_SPLIT_VAL, &val, &err) ||
        (train.n && nn_dataset_pad(&train, m.in_h, m.in_w, &err)) ||
        nn_dataset_pad(&test, m.in_h, m.in_w, &err) ||
        nn_dataset_pad(&val, m.in_h, m.in_w, &err) || nn_eval(&m, &test, NULL, &before, &err) ||
        nn_eval(&m, &val, NULL, &vbefore, &err) ||
        (m.quantized && nn_model_set_meta(&m, "dequantized_from", o->model, &err)) ||
        nn_model_dequantize(&m, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    struct stage_ctx sc = {&val, 0};
    if (nn_model_get_meta(&m, "dequantized_from"))
        stage("int8->f32", &m, &sc);
    o->c.stage = stage;
    o->c.train.progress = progress;
    o->c.ctx = &sc;
    char buf[64];
    if (cpr_compress(&m, &train, &o->c, &err) || nn_eval(&m, &test, NULL, &after, &err) ||
        nn_eval(&m, &val, NULL, &vafter, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    snprintf(buf, sizeof buf, "%.6f", after.top1);
    if (sc.failed || nn_model_set_meta(&m, "test_top1", buf, &err) ||
        nn_model_set_meta(&m, "compressed_from", o->model, &err) ||
        cpr_model_stats(&m, 0, &pq, &err) ||
        cpr_model_save(&m, o->out, o->huffman, &pqh, &err)) {
        rc = sc.failed ? CLI_EXIT_FAILURE : cli_report(cmd, &err, 0);
        goto out;
    }
    if (compress_print_table(&m, &pq, &pqh, o->common.verbose, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    printf("validation top1: before %.4f, after %.4f (%+.2f points)\n", vbefore.top1,
           vafter.top1, 100 * (vafter.top1 - vbefore.top1));
    printf("test top1: before %.4f, after %.4f (%+.2f points)\n", before.top1, after.top1,
           100 * (after.top1 - before.top1));
    fprintf(stderr, "compress: wrote %s\n", o->out);
    rc = CLI_EXIT_OK;
out:
    nn_model_free(&m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_dataset_free(&val);
    free(o);
    return rc;
}
