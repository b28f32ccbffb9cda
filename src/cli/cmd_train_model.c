/* cmd_train_model.c - `cgpc train-model`: train LeNet-5 or MobileNetV2 in C (Adam or SGD with momentum),
 * deterministic for a seed and any --threads; --qat fine-tunes with fake quantization and
 * writes an int8 model; --qat-bits does the same with low-bit weights (cgpc-lowbit file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/parse.h"
#include "../nn/eval.h"
#include "../nn/lowbit.h"
#include "../nn/quant.h"
#include "../nn/train.h"
#include "cli.h"
#include "commands.h"
#include "nn_cli.h"

struct train_opts {
    struct cli_common common;
    const char *arch, *dataset, *out, *init, *teacher, *hint;
    struct nn_train_opts t;
    int qat, qat_epochs, calib_limit, input_size;
    double qat_lr, width;
    int qat_bits;              /* low-bit QAT (0: off) */
    struct lowbit_spec lowbit; /* its method and granularity */
};

static void train_defaults(struct train_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    nn_train_defaults(&o->t);
    o->arch = "lenet5";
    o->dataset = "mnist";
    o->qat_epochs = 2;
    o->qat_lr = 1e-4;
    o->calib_limit = 2000;
    o->width = 0; /* the architecture's default: 0.5 mobilenetv2, 1 lenet5 */
    o->input_size = 32;
    lowbit_spec_defaults(&o->lowbit);
}

void cmd_train_model_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc train-model --out FILE [options]\n\n"
            "Train a network in C on an IDX dataset and save it as safetensors (float, or int8\n"
            "with --qat). Deterministic for a seed, for any --threads. Prints a progress line on\n"
            "a terminal and one summary line per epoch (stderr).\n\n"
            "options:\n"
            "  --arch NAME          architecture: lenet5 or mobilenetv2 (torchvision's, BatchNorm\n"
            "                       in training mode; 28x28 images are zero-padded to the\n"
            "                       input size) (default: lenet5)\n"
            "  --width X            width multiplier: mobilenetv2 channels (default: 0.5);\n"
            "                       lenet5 conv channels and fc units, e.g. 0.5 = 3, 8, 60,\n"
            "                       42 (default: 1)\n"
            "  --input-size N       mobilenetv2 input size, square (default: 32)\n"
            "  --dataset NAME|DIR   mnist, fashion-mnist or an IDX directory (default: mnist)\n"
            "  --out FILE           output .safetensors (required)\n"
            "  --init FILE          start from this float model instead of random weights\n"
            "                       (default: none; with --init, --epochs 0 is allowed)\n"
            "  --epochs N           float training epochs (default: 10)\n"
            "  --lr X               learning rate (default: 0.001)\n"
            "  --batch N            batch size (default: 64)\n"
            "  --optim adam|sgd     optimizer; sgd uses momentum (default: adam)\n"
            "  --momentum X         SGD momentum (default: 0.9)\n"
            "  --weight-decay X     L2 weight decay (default: 0)\n"
            "  --no-cosine          constant learning rate (default: cosine decay to 0)\n"
            "  --shift N            augmentation: random shifts of +-N pixels (default: 0)\n"
            "  --limit N            train on the first N images only (default: 0 = all)\n"
            "  --qat                after float training, calibrate, fine-tune with fake\n"
            "                       quantization (straight-through estimator) and write an\n"
            "                       int8 model (default: off)\n"
            "  --qat-epochs N       QAT fine-tuning epochs (default: 2)\n"
            "  --qat-lr X           QAT learning rate (default: 0.0001)\n"
            "  --calib-limit N      calibration images for --qat, from the train split\n"
            "                       (default: 2000; 0 = all)\n"
            "  --teacher FILE       knowledge distillation (Hinton et al. 2015) from this\n"
            "                       model's logits on the training images (any architecture,\n"
            "                       same classes; not with --shift or --qat)\n"
            "                       (default: none)\n"
            "  --temperature T      distillation temperature (default: 4)\n"
            "  --alpha A            weight of the soft (teacher) loss; the hard label loss gets\n"
            "                       1 - A (default: 0.9)\n"
            "  --hint T:S           FitNets hint: + W x mean squared error between the\n"
            "                       teacher's layer T output and the student's layer S output\n"
            "                       (same map size; a learned 1x1 regressor when channels\n"
            "                       differ); LeNet-5 students; --alpha 0 for the hint alone\n"
            "                       (default: none)\n"
            "  --hint-weight W      weight of the hint loss (default: 1)\n"
            "  --qat-bits B         low-bit QAT instead of --qat: fine-tune (--qat-epochs,\n"
            "                       --qat-lr) with B-bit fake-quantized weights (1..8, STE) and\n"
            "                       float activations; writes a cgpc-lowbit model (default: off)\n"
            "  --qat-method M       its weight quantizer: midrise, round, stochastic or\n"
            "                       multipoint (default: midrise)\n"
            "  --qat-per-channel    its scales per output channel (default: per tensor)\n"
            CLI_COMMON_USAGE);
}

enum { OPT_ARCH = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_DATASET, OPT_OUT, OPT_INIT, OPT_EPOCHS,
       OPT_LR, OPT_BATCH, OPT_OPTIM, OPT_MOMENTUM, OPT_WD, OPT_NOCOS, OPT_SHIFT, OPT_LIMIT,
       OPT_QAT, OPT_QAT_EPOCHS, OPT_QAT_LR, OPT_CALIB_LIMIT, OPT_WIDTH, OPT_INPUT_SIZE,
       OPT_TEACHER, OPT_TEMPERATURE, OPT_ALPHA, OPT_QAT_BITS, OPT_QAT_METHOD,
       OPT_QAT_PER_CHANNEL, OPT_HINT, OPT_HINT_WEIGHT };

static int parse_args(int argc, char **argv, struct train_opts *o)
{
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, OPT_ARCH},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"out", required_argument, NULL, OPT_OUT},
        {"init", required_argument, NULL, OPT_INIT},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"lr", required_argument, NULL, OPT_LR},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"optim", required_argument, NULL, OPT_OPTIM},
        {"momentum", required_argument, NULL, OPT_MOMENTUM},
        {"weight-decay", required_argument, NULL, OPT_WD},
        {"no-cosine", no_argument, NULL, OPT_NOCOS},
        {"shift", required_argument, NULL, OPT_SHIFT},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"qat", no_argument, NULL, OPT_QAT},
        {"qat-epochs", required_argument, NULL, OPT_QAT_EPOCHS},
        {"qat-lr", required_argument, NULL, OPT_QAT_LR},
        {"calib-limit", required_argument, NULL, OPT_CALIB_LIMIT},
        {"width", required_argument, NULL, OPT_WIDTH},
        {"input-size", required_argument, NULL, OPT_INPUT_SIZE},
        {"teacher", required_argument, NULL, OPT_TEACHER},
        {"temperature", required_argument, NULL, OPT_TEMPERATURE},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"qat-bits", required_argument, NULL, OPT_QAT_BITS},
        {"qat-method", required_argument, NULL, OPT_QAT_METHOD},
        {"qat-per-channel", no_argument, NULL, OPT_QAT_PER_CHANNEL},
        {"hint", required_argument, NULL, OPT_HINT},
        {"hint-weight", required_argument, NULL, OPT_HINT_WEIGHT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "train-model";
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
        case OPT_ARCH: o->arch = optarg; break;
        case OPT_DATASET: o->dataset = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_INIT: o->init = optarg; break;
        case OPT_EPOCHS: st = cgpc_parse_int(optarg, 0, 100000, &o->t.epochs, &err); break;
        case OPT_LR: st = cgpc_parse_double(optarg, 1e-12, 100, &o->t.lr, &err); break;
        case OPT_BATCH: st = cgpc_parse_int(optarg, 1, 1 << 20, &o->t.batch, &err); break;
        case OPT_OPTIM: st = nn_cli_parse_optim(optarg, &o->t.optim, &err); break;
        case OPT_MOMENTUM: st = cgpc_parse_double(optarg, 0, 1, &o->t.momentum, &err); break;
        case OPT_WD: st = cgpc_parse_double(optarg, 0, 1, &o->t.weight_decay, &err); break;
        case OPT_NOCOS: o->t.cosine = 0; break;
        case OPT_SHIFT: st = cgpc_parse_int(optarg, 0, 8, &o->t.shift, &err); break;
        case OPT_LIMIT: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->t.limit, &err); break;
        case OPT_QAT: o->qat = 1; break;
        case OPT_QAT_EPOCHS: st = cgpc_parse_int(optarg, 1, 100000, &o->qat_epochs, &err); break;
        case OPT_QAT_LR: st = cgpc_parse_double(optarg, 1e-12, 100, &o->qat_lr, &err); break;
        case OPT_CALIB_LIMIT: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->calib_limit, &err);
            break;
        case OPT_WIDTH: st = cgpc_parse_double(optarg, 0.01, 4, &o->width, &err); break;
        case OPT_INPUT_SIZE: st = cgpc_parse_int(optarg, 8, 1024, &o->input_size, &err); break;
        case OPT_TEACHER: o->teacher = optarg; break;
        case OPT_TEMPERATURE:
            st = cgpc_parse_double(optarg, 1e-3, 1000, &o->t.temperature, &err);
            break;
        case OPT_ALPHA: st = cgpc_parse_double(optarg, 0, 1, &o->t.alpha, &err); break;
        case OPT_QAT_BITS: st = cgpc_parse_int(optarg, 1, LOWBIT_MAX_BITS, &o->qat_bits, &err);
            o->lowbit.bits = o->qat_bits;
            break;
        case OPT_QAT_METHOD:
            st = lowbit_method_parse(optarg, &o->lowbit.method, &err);
            if (!st && o->lowbit.method == LOWBIT_FP16)
                st = CGPC_FAIL(&err, CGPC_ERR_ARG, "fp16 has no bits to train for");
            break;
        case OPT_QAT_PER_CHANNEL: o->lowbit.per_channel = 1; break;
        case OPT_HINT: o->hint = optarg; break;
        case OPT_HINT_WEIGHT: st = cgpc_parse_double(optarg, 0, 1e6, &o->t.hint_weight, &err); break;
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
    if (strcmp(o->arch, "lenet5") != 0 && strcmp(o->arch, "mobilenetv2") != 0)
        return cli_usage_error(cmd, "--arch: '%s' is not supported (supported: lenet5, "
                               "mobilenetv2)", o->arch);
    if (!o->out)
        return cli_usage_error(cmd, "--out is required");
    if (o->t.epochs == 0 && !o->init)
        return cli_usage_error(cmd, "--epochs 0 needs --init MODEL");
    if (o->teacher && (o->t.shift > 0 || o->qat || o->qat_bits))
        return cli_usage_error(cmd, "--teacher: not with --shift, --qat or --qat-bits (the "
                               "teacher's logits are those of the unshifted float images)");
    if (o->hint && (!o->teacher || strcmp(o->arch, "lenet5") != 0))
        return cli_usage_error(cmd, "--hint needs --teacher and a lenet5 student");
    if (o->qat && o->qat_bits)
        return cli_usage_error(cmd, "--qat (int8) and --qat-bits (low-bit) are exclusive");
    return CLI_EXIT_OK;
}

static cgpc_status set_meta(struct nn_model *m, const struct train_opts *o,
                            const struct nn_dataset *val, const struct nn_dataset *test,
                            struct cgpc_err *err)
{
    char buf[64];
    struct nn_eval_result res;
    cgpc_status st;
    if ((st = nn_eval(m, val, NULL, &res, err)))
        return st;
    snprintf(buf, sizeof buf, "%.6f", res.top1);
    if ((st = nn_model_set_meta(m, "val_top1", buf, err)))
        return st;
    if ((st = nn_eval(m, test, NULL, &res, err)))
        return st;
    snprintf(buf, sizeof buf, "%.6f", res.top1);
    if ((st = nn_model_set_meta(m, "test_top1", buf, err)))
        return st;
    snprintf(buf, sizeof buf, "%d", o->t.epochs);
    if ((st = nn_model_set_meta(m, "epochs", buf, err)) ||
        (st = nn_model_set_meta(m, "dataset", o->dataset, err)))
        return st;
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->t.seed);
    if ((st = nn_model_set_meta(m, "seed", buf, err)))
        return st;
    if (o->teacher) {
        snprintf(buf, sizeof buf, "%g:%g", o->t.temperature, o->t.alpha);
        if ((st = nn_model_set_meta(m, "teacher", o->teacher, err)) ||
            (st = nn_model_set_meta(m, "distill_temperature_alpha", buf, err)) ||
            (o->hint && (st = nn_model_set_meta(m, "hint", o->hint, err))))
            return st;
    }
    if (strcmp(m->arch, "lenet5") == 0 && o->width > 0 && o->width != 1) {
        snprintf(buf, sizeof buf, "%g", o->width);
        if ((st = nn_model_set_meta(m, "width", buf, err)))
            return st;
    }
    if (o->qat || o->qat_bits) {
        snprintf(buf, sizeof buf, "%d", o->qat_epochs);
        if ((st = nn_model_set_meta(m, "qat_epochs", buf, err)))
            return st;
    }
    return CGPC_OK;
}

/* Low-bit QAT: fine-tune with fake-quantized weights, then quantize into q (applied to m). */
static cgpc_status lowbit_qat(const struct train_opts *o, struct nn_model *m,
                              const struct nn_dataset *train, struct lowbit_model *q,
                              struct cgpc_err *err)
{
    struct lowbit_spec specs[NN_MAX_LAYERS];
    struct nn_train_opts t = o->t;
    char buf[64];
    cgpc_status st;
    t.epochs = o->qat_epochs;
    t.lr = o->qat_lr;
    t.lowbit = specs;
    t.teacher_logits = NULL; /* distillation (if any) was the float phase */
    t.ctx = "qat ";
    if ((st = lowbit_specs_parse(m, &o->lowbit, NULL, specs, err)) ||
        (st = nn_train(m, train, &t, err)) ||
        (st = lowbit_quantize(m, specs, o->t.seed, q, err)))
        return st;
    lowbit_apply(q, m);
    snprintf(buf, sizeof buf, "qat-%s%s", lowbit_method_name(o->lowbit.method),
             o->lowbit.per_channel ? "-per-channel" : "");
    return nn_model_set_meta(m, "lowbit_method", buf, err);
}

int cmd_train_model(int argc, char **argv)
{
    const char *cmd = "train-model";
    struct train_opts o;
    struct cgpc_err err = {0};
    train_defaults(&o);
    int rc = parse_args(argc, argv, &o);
    if (rc < 0) {
        cmd_train_model_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (rc)
        return rc;
    cli_common_apply(&o.common);
    o.t.seed = o.common.seed;

    struct nn_model m;
    struct nn_dataset train, val, test;
    float *teacher = NULL, *hint = NULL;
    struct lowbit_model lq;
    memset(&lq, 0, sizeof lq);
    memset(&m, 0, sizeof m);
    memset(&train, 0, sizeof train);
    memset(&val, 0, sizeof val);
    memset(&test, 0, sizeof test);
    rc = CLI_EXIT_FAILURE;
    /* train = the train file minus its validation tail; val monitors the epochs */
    if (nn_cli_load_dataset(o.dataset, NN_SPLIT_TRAIN, &train, &err) ||
        nn_cli_load_dataset(o.dataset, NN_SPLIT_VAL, &val, &err) ||
        nn_cli_load_dataset(o.dataset, NN_SPLIT_TEST, &test, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (o.init) {
        if (nn_model_load(o.init, &m, &err)) {
            rc = cli_report(cmd, &err, 0);
            goto out;
        }
        if (!m.has_float) {
            cli_error(cmd, o.init, "--init needs a float model, this one is int8");
            goto out;
        }
    } else if (strcmp(o.arch, "mobilenetv2") == 0) {
        if (nn_model_init_mobilenetv2(&m, o.width > 0 ? o.width : 0.5, 1, o.input_size,
                                      NN_NUM_CLASSES, o.t.seed, &err)) {
            rc = cli_report(cmd, &err, 0);
            goto out;
        }
    } else {
        if (nn_model_init_lenet5_width(&m, o.width > 0 ? o.width : 1.0, &err)) {
            rc = cli_report(cmd, &err, 0);
            goto out;
        }
        nn_model_init_params(&m, o.t.seed);
    }
    if (nn_dataset_pad(&train, m.in_h, m.in_w, &err) ||
        nn_dataset_pad(&val, m.in_h, m.in_w, &err) ||
        nn_dataset_pad(&test, m.in_h, m.in_w, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (o.teacher && nn_cli_teacher_logits(o.teacher, o.dataset, &m, &teacher, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (o.hint && nn_cli_teacher_hint(o.teacher, o.dataset, o.hint, &m, &o.t, &hint, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    o.t.teacher_logits = teacher;
    o.t.test = &val;
    o.t.progress = nn_cli_train_progress;
    o.t.ctx = "";
    if (o.t.epochs > 0 && nn_train(&m, &train, &o.t, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (o.qat) {
        struct nn_train_opts q = o.t;
        q.epochs = o.qat_epochs;
        q.lr = o.qat_lr;
        q.qat = 1;
        q.ctx = "qat ";
        if (nn_quantize_model(&m, &train, o.calib_limit, &err) || nn_train(&m, &train, &q, &err)) {
            rc = cli_report(cmd, &err, 0);
            goto out;
        }
        nn_quantize_weights(&m);
    }
    if (o.qat_bits && lowbit_qat(&o, &m, &train, &lq, &err)) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    if (set_meta(&m, &o, &val, &test, &err) ||
        (o.qat_bits ? lowbit_save(&lq, &m, o.out, &err) : nn_model_save(&m, o.out, &err))) {
        rc = cli_report(cmd, &err, 0);
        goto out;
    }
    fprintf(stderr, "cgpc %s: wrote %s (%s, val top1 %s, test top1 %s)\n", cmd, o.out,
            o.qat_bits ? "low-bit" : m.quantized ? "int8" : "float",
            nn_model_get_meta(&m, "val_top1"),
            nn_model_get_meta(&m, "test_top1"));
    rc = CLI_EXIT_OK;
out:
    free(teacher);
    free(hint);
    lowbit_model_free(&lq);
    nn_model_free(&m);
    nn_dataset_free(&train);
    nn_dataset_free(&val);
    nn_dataset_free(&test);
    return rc;
}
