/* cmd_energy.c - `cgpc energy`: print the active gate-cost and memory tables, write the gate
 * table as a gate-cost file, or print a model's per-layer inference energy budget. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lowbit_cli.h"
#include "commands.h"
#include "energy/energy.h"
#include "exp/bridge.h"
#include "nn/model.h"

struct energy_opts {
    struct cli_common common;
    const char *gate_costs;      /* NULL: built-in defaults */
    const char *memory;          /* built-in name or memory file */
    const char *model;           /* NULL: print the tables */
    const char *dump_gate_costs; /* NULL: no dump; "-": stdout */
    int json;                    /* print JSON instead of aligned tables */
};

static void energy_opts_defaults(struct energy_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->memory = ENERGY_MEMORY_DEFAULT;
}

enum {
    OPT_GATE_COSTS = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_MEMORY,
    OPT_MODEL,
    OPT_DUMP_GATE_COSTS,
    OPT_JSON,
};

void cmd_energy_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc energy [options]\n"
            "\n"
            "Print the active gate-cost table (energy, delay, area and source of every CGP\n"
            "operator and of one int8 MAC) and the memory read energies; with --model, the\n"
            "model's per-layer inference energy budget (MACs, weight bytes, pJ).\n"
            "\n"
            "options:\n"
            "  --gate-costs FILE    gate-cost file replacing the built-in table (default: the\n"
            "                       built-in 45 nm table, as in src/energy/default-gate-costs.csv)\n"
            "  --memory M           memory weights are read from: dram, sram-8k, sram-32k,\n"
            "                       sram-1m, or a memory file (default: %s)\n"
            "  --model FILE         print this model's per-layer inference budget (default: none)\n"
            "  --dump-gate-costs FILE\n"
            "                       write the active gate table as a gate-cost file ('-' for\n"
            "                       stdout) and exit (default: none)\n"
            "  --json               print the tables or the budget as one JSON object\n"
            "                       (default: aligned text tables)\n"
            "%s"
            "\n"
            "Exit status: 0 ok, 1 a file could not be read or is malformed, 2 usage error.\n",
            ENERGY_MEMORY_DEFAULT, CLI_COMMON_USAGE);
}

/* The model's layers as a generic list (MACs, weights, bits per weight), malloc'ed into
 * *layers. Models cannot be loaded yet: src/nn is built in parallel; after the merge the
 * lead replaces this body with the nn model loader. */
static int load_model_layers(const char *path, struct energy_layer **layers, int *n,
                             struct cgpc_err *err)
{
    struct nn_model model = {0};
    cgpc_status st = nn_model_load(path, &model, err);
    if (st == CGPC_OK)
        st = exp_model_energy_layers(&model, layers, n, err);
    nn_model_free(&model);
    return st;
}

static int print_tables(const struct energy_opts *o, const struct energy_gate_table *t,
                        const struct energy_memory *mem)
{
    struct cgpc_err err = {0};
    if (o->json)
        return energy_tables_format_json(t, mem, stdout, &err) == CGPC_OK
                   ? CLI_EXIT_OK
                   : cli_report("energy", &err, 0);
    printf("gate costs (%s), per 8-bit evaluation:\n",
           o->gate_costs ? o->gate_costs : "built-in 45 nm defaults");
    if (energy_gate_table_format(t, stdout, &err) != CGPC_OK)
        return cli_report("energy", &err, 0);
    printf("\nint8 MAC energy for inference: %g pJ\n\nmemory read energy (* = active):\n",
           t->mac.energy_pj);
    if (energy_memory_format(mem, stdout, &err) != CGPC_OK)
        return cli_report("energy", &err, 0);
    return CLI_EXIT_OK;
}

static int print_model_budget(const struct energy_opts *o, const struct energy_gate_table *t,
                              const struct energy_memory *mem)
{
    struct cgpc_err err = {0};
    struct energy_layer *layers = NULL;
    struct energy_layer_budget *per_layer = NULL, total;
    int n = 0, rc = CLI_EXIT_OK, lowbit = 0;
    rc = lowbit_cli_energy("energy", o->model, t, mem, o->json, &lowbit); /* from its storage */
    if (lowbit || rc)
        return rc;
    if (load_model_layers(o->model, &layers, &n, &err) != CGPC_OK) {
        rc = cli_report("energy", &err, 0);
        goto out;
    }
    per_layer = calloc(n > 0 ? (size_t)n : 1, sizeof *per_layer);
    if (!per_layer) {
        cli_error("energy", o->model, "out of memory for %d layers", n);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    if (energy_inference_account(t, mem, layers, n, NULL, 0, per_layer, &total, &err) != CGPC_OK ||
        (o->json ? energy_budget_format_json(layers, n, per_layer, &total, mem, stdout, &err)
                 : energy_budget_format(layers, n, per_layer, &total, mem, stdout, &err)) != CGPC_OK)
        rc = cli_report("energy", &err, 0);
out:
    free(per_layer);
    free(layers);
    return rc;
}

int cmd_energy(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"gate-costs", required_argument, NULL, OPT_GATE_COSTS},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"model", required_argument, NULL, OPT_MODEL},
        {"dump-gate-costs", required_argument, NULL, OPT_DUMP_GATE_COSTS},
        {"json", no_argument, NULL, OPT_JSON},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct energy_opts o;
    energy_opts_defaults(&o);
    cli_getopt_reset();
    int opt;
    while ((opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        int handled = cli_common_option("energy", opt, optarg, &o.common);
        if (handled < 0)
            return CLI_EXIT_USAGE;
        if (handled)
            continue;
        switch (opt) {
        case OPT_GATE_COSTS:
            o.gate_costs = optarg;
            break;
        case OPT_MEMORY:
            o.memory = optarg;
            break;
        case OPT_MODEL:
            o.model = optarg;
            break;
        case OPT_DUMP_GATE_COSTS:
            o.dump_gate_costs = optarg;
            break;
        case OPT_JSON:
            o.json = 1;
            break;
        case ':':
            return cli_usage_error("energy", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("energy", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o.common.help) {
        cmd_energy_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (optind < argc)
        return cli_usage_error("energy", "unexpected argument '%s'", argv[optind]);
    cli_common_apply(&o.common);

    struct cgpc_err err = {0};
    struct energy_gate_table table;
    struct energy_memory mem;
    energy_gate_table_default(&table);
    if (o.gate_costs && energy_gate_table_load(&table, o.gate_costs, &err) != CGPC_OK)
        return cli_report("energy", &err, 0);
    if (energy_memory_select(&mem, o.memory, &err) != CGPC_OK) {
        cgpc_err_prefix(&err, "--memory");
        return cli_report("energy", &err, 1);
    }
    if (o.dump_gate_costs) {
        cgpc_status st = strcmp(o.dump_gate_costs, "-") == 0
                             ? energy_gate_table_write(&table, stdout, &err)
                             : energy_gate_table_save(&table, o.dump_gate_costs, &err);
        return st == CGPC_OK ? CLI_EXIT_OK : cli_report("energy", &err, 0);
    }
    if (o.model)
        return print_model_budget(&o, &table, &mem);
    return print_tables(&o, &table, &mem);
}
