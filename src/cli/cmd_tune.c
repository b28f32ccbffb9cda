/* cmd_tune.c - `cgpc tune`: accuracy-aware search for the cheapest low-bit model within an
 * accuracy drop (nn/lowbit.h, lowbit_tune), with a resumable CSV log of every trial. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/parse.h"
#include "../energy/energy.h"
#include "../nn/eval.h"
#include "../nn/lowbit.h"
#include "cli.h"
#include "commands.h"
#include "lowbit_cli.h"
#include "nn_cli.h"

struct tune_opts {
    struct cli_common common;
    const char *model, *dataset, *memory, *out;
    int val_limit;
    struct lowbit_tune_opts t;
};

static void tune_defaults(struct tune_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    lowbit_tune_defaults(&o->t);
    o->dataset = "mnist";
    o->memory = ENERGY_MEMORY_DEFAULT;
    o->val_limit = 0;
}

void cmd_tune_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc tune --model FILE [options]\n\n"
            "Accuracy-aware tuning (as Intel Neural Compressor's basic strategy): find the\n"
            "cheapest low-bit version of a float model whose validation top-1 is within\n"
            "--max-drop points of the float model's. Phase 1 evaluates uniform candidates\n"
            "({midrise, round-uniform, round-normal, round-histogram} x {per tensor, per\n"
            "channel} x 1..8 bits, and fp16) cheapest first and stops at the first within the\n"
            "drop; phase 2 narrows layers one bit at a time, largest layer first, while the\n"
            "drop holds. Validation images: the validation split.\n"
            "Cost: stored bits (codes, scales/tables, float32 biases) or energy per inference\n"
            "(MACs + reading those bits once from --memory).\n\n"
            "options:\n"
            "  --model FILE         float model (required)\n"
            "  --dataset D          mnist, fashion-mnist or an IDX directory (default: mnist)\n"
            "  --val-limit N        use the first N validation images, 0 = all (default: 0)\n"
            "  --max-drop X         accepted top-1 drop in points (default: 0.5)\n"
            "  --objective O        bits or energy (default: bits)\n"
            "  --memory M           dram, sram-8k, sram-32k, sram-1m or a memory file\n"
            "                       (default: dram)\n"
            "  --max-trials N       stop after N trials, 0 = no limit (default: 0)\n"
            "  --time-limit S       stop after S seconds (90, or H:MM:SS: 10:00, 2:00:00), 0 =\n"
            "                       none (default: 0)\n"
            "  --no-refine          phase 1 only (default: refine per layer)\n"
            "  --log FILE           CSV log of every trial (# cgpc-tune v1) (default: none)\n"
            "  --resume             continue the search recorded in --log: its trials are read\n"
            "                       back, not re-evaluated (default: start the log afresh)\n"
            "  --out FILE           write the result as a cgpc-lowbit model and print its test\n"
            "                       top-1 (default: none)\n" CLI_COMMON_USAGE);
}

enum { OPT_MODEL = CLI_OPT_FIRST_COMMAND_SPECIFIC, OPT_DATASET, OPT_VAL_LIMIT, OPT_MAX_DROP,
       OPT_OBJECTIVE, OPT_MEMORY, OPT_MAX_TRIALS, OPT_TIME_LIMIT, OPT_NO_REFINE, OPT_LOG,
       OPT_RESUME, OPT_OUT };

static int parse_opts(int argc, char **argv, struct tune_opts *o)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"dataset", required_argument, NULL, OPT_DATASET},
        {"val-limit", required_argument, NULL, OPT_VAL_LIMIT},
        {"max-drop", required_argument, NULL, OPT_MAX_DROP},
        {"objective", required_argument, NULL, OPT_OBJECTIVE},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"max-trials", required_argument, NULL, OPT_MAX_TRIALS},
        {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
        {"no-refine", no_argument, NULL, OPT_NO_REFINE},
        {"log", required_argument, NULL, OPT_LOG},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"out", required_argument, NULL, OPT_OUT},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "tune";
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
        case OPT_MAX_DROP: st = cgpc_parse_double(optarg, 0, 100, &o->t.max_drop, &err); break;
        case OPT_OBJECTIVE:
            if (strcmp(optarg, "bits") == 0)
                o->t.objective = LOWBIT_OBJ_BITS;
            else if (strcmp(optarg, "energy") == 0)
                o->t.objective = LOWBIT_OBJ_ENERGY;
            else
                st = CGPC_FAIL(&err, CGPC_ERR_ARG, "'%s': expected bits or energy", optarg);
            break;
        case OPT_MEMORY: o->memory = optarg; break;
        case OPT_MAX_TRIALS: st = cgpc_parse_int(optarg, 0, 1 << 30, &o->t.max_trials, &err); break;
        case OPT_TIME_LIMIT: st = cgpc_parse_duration(optarg, &o->t.time_limit, &err); break;
        case OPT_NO_REFINE: o->t.no_refine = 1; break;
        case OPT_LOG: o->t.log_path = optarg; break;
        case OPT_RESUME: o->t.resume = 1; break;
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
    if (o->t.resume && !o->t.log_path)
        return cli_usage_error(cmd, "--resume needs --log FILE");
    return 0;
}

/* Quantize m with the result, evaluate on the test split, save. */
static cgpc_status write_result(const struct tune_opts *o, struct nn_model *m,
                                const struct lowbit_spec *specs, struct cgpc_err *err)
{
    struct lowbit_model q;
    struct nn_dataset test;
    struct nn_eval_result r;
    char buf[32];
    memset(&test, 0, sizeof test);
    cgpc_status st = lowbit_quantize(m, specs, o->common.seed, &q, err);
    if (st)
        return st;
    lowbit_apply(&q, m);
    if (!(st = nn_cli_load_dataset(o->dataset, NN_SPLIT_TEST, &test, err)) &&
        !(st = nn_dataset_pad(&test, m->in_h, m->in_w, err)) &&
        !(st = nn_eval(m, &test, NULL, &r, err))) {
        snprintf(buf, sizeof buf, "%.6f", r.top1);
        if (!(st = nn_model_set_meta(m, "test_top1", buf, err)) &&
            !(st = nn_model_set_meta(m, "quantized_from", o->model, err)) &&
            !(st = nn_model_set_meta(m, "lowbit_method", "tune", err)) &&
            !(st = lowbit_save(&q, m, o->out, err)))
            printf("wrote %s: %.3f bits/weight, test top1 %.4f\n", o->out,
                   lowbit_bits_per_weight(&q), r.top1);
    }
    nn_dataset_free(&test);
    lowbit_model_free(&q);
    return st;
}

int cmd_tune(int argc, char **argv)
{
    const char *cmd = "tune";
    struct tune_opts o;
    struct cgpc_err err = {0};
    tune_defaults(&o);
    int pr = parse_opts(argc, argv, &o);
    if (pr < 0) {
        cmd_tune_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr > 0)
        return pr;
    cli_common_apply(&o.common);
    o.t.seed = o.common.seed;
    struct energy_gate_table gates;
    struct energy_memory mem;
    if (energy_memory_select(&mem, o.memory, &err))
        return cli_report(cmd, &err, err.code == CGPC_ERR_ARG);
    energy_gate_table_default(&gates);
    o.t.mac_pj = gates.mac.energy_pj;
    o.t.pj_per_byte = mem.pj_per_byte;

    struct nn_model m;
    struct nn_dataset val;
    struct lowbit_spec best[NN_MAX_LAYERS];
    struct lowbit_tune_result res;
    memset(&val, 0, sizeof val);
    if (nn_model_load(o.model, &m, &err))
        return cli_report(cmd, &err, 0);
    cgpc_status st = CGPC_OK;
    if (!m.has_float)
        st = CGPC_FAIL(&err, CGPC_ERR_ARG, "%s: tune needs a float model", o.model);
    if (!st)
        st = lowbit_cli_load_val(o.dataset, o.val_limit, m.in_h, m.in_w, &val, &err);
    if (!st)
        st = lowbit_tune(&m, &val, &o.t, best, &res, &err);
    if (!st) {
        printf("float val top1 %.4f on %d images of %s's validation split; %d trials (%d "
               "evaluated, the rest read from the log)%s\n",
               res.float_top1, val.n, o.dataset, res.trials, res.evaluated,
               res.stopped_early ? "; stopped by --max-trials/--time-limit" : "");
        if (!res.found) {
            st = CGPC_FAIL(&err, CGPC_ERR_NOT_FOUND, "no candidate within %.2f points%s",
                           o.t.max_drop, res.stopped_early ? " before the trial/time budget ran out" : "");
        } else {
            uint64_t f32 = 32 * (uint64_t)nn_model_param_count(&m);
            printf("best: %s %s layer bits %s: val top1 %.4f (%+.2f points), %llu stored bits "
                   "(%.2fx smaller than float32), %.1f pJ per inference (%s)\n",
                   res.method, res.granularity, res.layer_bits, res.top1,
                   100 * (res.top1 - res.float_top1), (unsigned long long)res.stored_bits,
                   (double)f32 / (double)res.stored_bits, res.energy_pj, mem.name);
            printf("same model: cgpc quantize --model %s --method %s%s%s --layer-bits %s "
                   "--out FILE\n",
                   o.model,
                   strncmp(res.method, "round-", 6) == 0 ? "round --landmarks " : res.method,
                   strncmp(res.method, "round-", 6) == 0 ? res.method + 6 : "",
                   strcmp(res.granularity, "per-channel") == 0 ? " --per-channel" : "",
                   res.layer_bits);
            if (o.out)
                st = write_result(&o, &m, best, &err);
        }
    }
    int rc = st ? cli_report(cmd, &err, 0) : CLI_EXIT_OK;
    nn_model_free(&m);
    nn_dataset_free(&val);
    return rc;
}
