/* main.c - `cgpc <command> [options]`: dispatch only. Each command is in cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static int cmd_help(int argc, char **argv);
static void cmd_help_usage(FILE *out);

const struct cli_command cli_commands[] = {
    {"train-model", cmd_train_model, cmd_train_model_usage,
     "train a network (LeNet-5, MobileNetV2) on an IDX dataset, float or QAT int8"},
    {"quantize", cmd_quantize, cmd_quantize_usage,
     "post-training quantization of a float model to int8"},
    {"eval", cmd_eval, cmd_eval_usage, "evaluate a float or int8 model: top-1, top-5, loss"},
    {"energy", cmd_energy, cmd_energy_usage,
     "print the gate/memory energy tables or a model's inference energy budget"},
    {"evolve", cmd_evolve, cmd_evolve_usage, "evolve CGP circuits for a data set"},
    {"circuit", cmd_circuit, cmd_circuit_usage, "show or evaluate an evolved circuit"},
    {"train", cmd_train, cmd_train_usage,
     "evolve circuits for an experiment's selected weights of a model"},
    {"model-metrics", cmd_model_metrics, cmd_model_metrics_usage,
     "accuracy, loss and energy of models rebuilt with evolved circuits (CSV, plots)"},
    {"pbs", cmd_pbs, cmd_pbs_usage,
     "run an experiment as PBS job array batches: generate, submit, status, resubmit, merge"},
    {"compress", cmd_compress, cmd_compress_usage,
     "prune, share weights (k-means), Huffman-code a model (cgpc-deep file)"},
    {"sensitivity", cmd_sensitivity, cmd_sensitivity_usage,
     "per-layer accuracy vs weight bits, and a mixed-precision allocation under a budget"},
    {"tune", cmd_tune, cmd_tune_usage,
     "accuracy-aware search for the cheapest low-bit model within an accuracy drop"},
    {"help", cmd_help, cmd_help_usage, "show help for cgpc or one command"},
    {NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_find_command(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_main_usage(FILE *out)
{
    fprintf(out,
            "cgpc %s - compress neural-network weights into CGP-evolved arithmetic circuits\n\n"
            "usage: cgpc <command> [options]\n"
            "       cgpc help [command]\n"
            "       cgpc --version\n\n"
            "commands:\n",
            CGPC_VERSION);
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\n" CLI_EXIT_STATUS_HELP);
}

static void cmd_help_usage(FILE *out)
{
    fprintf(out, "usage: cgpc help [command]\n\nPrint the list of commands, or one command's "
                 "options with their defaults.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cmd_help_usage(stdout);
        return CLI_EXIT_OK;
    }
    const struct cli_command *c = cli_find_command(argv[1]);
    if (!c)
        return cli_usage_error("help", "unknown command '%s'", argv[1]);
    c->usage(stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("cgpc %s\n", CGPC_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    const struct cli_command *c = cli_find_command(name);
    if (!c) {
        fprintf(stderr, "cgpc: '%s' is not a cgpc command; see 'cgpc help'\n", name);
        return CLI_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
