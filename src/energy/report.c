/* report.c - human-readable tables of gate costs, memories and inference budgets, written to
 * the caller's stream (the CLI passes stdout). Machine-readable output is the gate-cost file
 * format (gatefile.c). */
#include <errno.h>
#include <string.h>

#include "energy/energy.h"
#include "energy/textfile.h"

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

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

/* "key": number (exact round trip) */
static void json_number(FILE *out, const char *key, double v, const char *after)
{
    char buf[48];
    energy_text_format_double(buf, sizeof buf, v);
    fprintf(out, "\"%s\": %s%s", key, buf, after);
}

static void json_gate(FILE *out, const char *name, const struct energy_gate_cost *c,
                      const char *source, const char *after)
{
    fputs("    {\"name\": ", out);
    json_string(out, name);
    fputs(", ", out);
    json_number(out, "energy_pJ", c->energy_pj, ", ");
    json_number(out, "delay_ns", c->delay_ns, ", ");
    json_number(out, "area_um2", c->area_um2, ", \"source\": ");
    json_string(out, source);
    fprintf(out, "}%s\n", after);
}

static void json_memory(FILE *out, const struct energy_memory *m)
{
    fputs("{\"name\": ", out);
    json_string(out, m->name);
    fputs(", ", out);
    json_number(out, "pJ_per_byte", m->pj_per_byte, ", \"source\": ");
    json_string(out, m->source);
    fputc('}', out);
}

cgpc_status energy_tables_format_json(const struct energy_gate_table *t,
                                      const struct energy_memory *active, FILE *out,
                                      struct cgpc_err *err)
{
    fputs("{\n  \"gates\": [\n", out);
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        json_gate(out, cgpc_op_name(op), &t->op[op], t->source[op], ",");
    json_gate(out, ENERGY_MAC_NAME, &t->mac, t->mac_source, "");
    fputs("  ],\n  ", out);
    json_number(out, "mac_pJ", t->mac.energy_pj, ",\n  \"memory\": ");
    json_memory(out, active);
    fputs(",\n  \"memories\": [\n", out);
    for (int i = 0; i < energy_memory_builtin_count(); i++) {
        fputs("    ", out);
        json_memory(out, energy_memory_builtin(i));
        fputs(i + 1 < energy_memory_builtin_count() ? ",\n" : "\n", out);
    }
    fputs("  ]\n}\n", out);
    return check_stream(out, "tables", err);
}

static void json_budget(FILE *out, const char *name, const struct energy_layer_budget *b)
{
    fputs("{\"name\": ", out);
    json_string(out, name);
    fprintf(out,
            ", \"macs\": %llu, \"weights_read\": %llu, \"weights_replaced\": %llu, "
            "\"read_bytes\": %llu, \"baseline_bytes\": %llu, ",
            (unsigned long long)b->macs, (unsigned long long)b->weights_read,
            (unsigned long long)b->weights_replaced, (unsigned long long)b->read_bytes,
            (unsigned long long)b->baseline_bytes);
    json_number(out, "mac_pJ", b->mac_pj, ", ");
    json_number(out, "read_pJ", b->read_pj, ", ");
    json_number(out, "circuit_pJ", b->circuit_pj, ", ");
    json_number(out, "total_pJ", b->total_pj, ", ");
    json_number(out, "baseline_pJ", b->baseline_pj, ", ");
    json_number(out, "saving_pJ", b->saving_pj, ", ");
    json_number(out, "saving_pct", b->saving_pct, "}");
}

cgpc_status energy_budget_format_json(const struct energy_layer *layers, int n_layers,
                                      const struct energy_layer_budget *per_layer,
                                      const struct energy_layer_budget *total,
                                      const struct energy_memory *mem, FILE *out,
                                      struct cgpc_err *err)
{
    fputs("{\n  \"memory\": ", out);
    json_memory(out, mem);
    fputs(",\n  \"layers\": [\n", out);
    for (int i = 0; i < n_layers; i++) {
        fputs("    ", out);
        json_budget(out, layers[i].name, &per_layer[i]);
        fputs(i + 1 < n_layers ? ",\n" : "\n", out);
    }
    fputs("  ],\n  \"total\": ", out);
    json_budget(out, "total", total);
    fputs("\n}\n", out);
    return check_stream(out, "inference budget", err);
}
