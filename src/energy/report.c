/* report.c - human-readable tables of gate costs, memories and inference budgets, written to
 * the caller's stream (the CLI passes stdout). Machine-readable output is the gate-cost file
 * format (gatefile.c). */
#include <errno.h>
#include <string.h>

#include "energy/energy.h"

static cgpc_status check_stream(FILE *out, const char *what, struct cgpc_err *err)
{
    if (fflush(out) != 0 || ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the %s: %s", what, strerror(errno));
    return CGPC_OK;
}

static void gate_line(FILE *out, const char *name, const struct energy_gate_cost *c,
                      const char *source)
{
    fprintf(out, "%-12s %10.6g %9.6g %10.6g  %s\n", name, c->energy_pj, c->delay_ns, c->area_um2,
            source);
}

cgpc_status energy_gate_table_format(const struct energy_gate_table *t, FILE *out,
                                     struct cgpc_err *err)
{
    fprintf(out, "%-12s %10s %9s %10s  %s\n", "gate", "pJ", "ns", "um^2", "source");
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        gate_line(out, cgpc_op_name(op), &t->op[op], t->source[op]);
    gate_line(out, ENERGY_MAC_NAME, &t->mac, t->mac_source);
    return check_stream(out, "gate table", err);
}

static void memory_line(FILE *out, const struct energy_memory *m, int active)
{
    fprintf(out, "%c %-12s %10.6g %10.6g  %s\n", active ? '*' : ' ', m->name, m->pj_per_byte,
            m->pj_per_byte * 8, m->source);
}

cgpc_status energy_memory_format(const struct energy_memory *active, FILE *out,
                                 struct cgpc_err *err)
{
    fprintf(out, "  %-12s %10s %10s  %s\n", "memory", "pJ/byte", "pJ/64bit", "source");
    int found = 0;
    for (int i = 0; i < energy_memory_builtin_count(); i++) {
        const struct energy_memory *m = energy_memory_builtin(i);
        int is_active = strcmp(m->name, active->name) == 0 && m->pj_per_byte == active->pj_per_byte;
        found |= is_active;
        memory_line(out, m, is_active);
    }
    if (!found)
        memory_line(out, active, 1);
    return check_stream(out, "memory table", err);
}

static void budget_line(FILE *out, const char *name, const struct energy_layer_budget *b)
{
    fprintf(out, "%-16s %12llu %14.3f %10llu %10llu %10llu %14.3f %12.3f %14.3f\n", name,
            (unsigned long long)b->macs, b->mac_pj, (unsigned long long)b->weights_read,
            (unsigned long long)b->weights_replaced, (unsigned long long)b->read_bytes,
            b->read_pj, b->circuit_pj, b->total_pj);
}

cgpc_status energy_budget_format(const struct energy_layer *layers, int n_layers,
                                 const struct energy_layer_budget *per_layer,
                                 const struct energy_layer_budget *total,
                                 const struct energy_memory *mem, FILE *out,
                                 struct cgpc_err *err)
{
    fprintf(out, "inference energy per input, weights read from %s (%g pJ/byte)\n", mem->name,
            mem->pj_per_byte);
    fprintf(out, "%-16s %12s %14s %10s %10s %10s %14s %12s %14s\n", "layer", "MACs", "MAC_pJ",
            "w_read", "w_circuit", "bytes", "read_pJ", "circuit_pJ", "total_pJ");
    for (int i = 0; i < n_layers; i++)
        budget_line(out, layers[i].name, &per_layer[i]);
    budget_line(out, "total", total);
    if (total->weights_replaced)
        fprintf(out,
                "saving: %.3f pJ per inference (%.4f%%) against reading all %llu weight bytes: "
                "%.3f -> %.3f pJ\n",
                total->saving_pj, total->saving_pct, (unsigned long long)total->baseline_bytes,
                total->baseline_pj, total->total_pj);
    return check_stream(out, "inference budget", err);
}
