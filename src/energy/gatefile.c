/* gatefile.c - reading and writing gate-cost files (format in energy.h). */
#include <errno.h>
#include <string.h>

#include "common/fileio.h"
#include "energy/energy.h"
#include "energy/textfile.h"

/* Row index of a name: an operator (0..CGPC_OP_COUNT-1), CGPC_OP_COUNT for "mac", or -1. */
static int row_from_name(const char *name)
{
    if (strcmp(name, ENERGY_MAC_NAME) == 0)
        return CGPC_OP_COUNT;
    return cgpc_op_from_name(name);
}

static const char *row_name(int row) { return row == CGPC_OP_COUNT ? ENERGY_MAC_NAME : cgpc_op_name(row); }

/* Append the names of rows with !seen[row] (or all rows when seen is NULL) to buf. */
static void list_rows(char *buf, size_t cap, const int *seen)
{
    size_t n = strlen(buf);
    for (int row = 0; row <= CGPC_OP_COUNT && n < cap; row++) {
        if (seen && seen[row])
            continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n && buf[n - 1] != ' ' ? ", " : "",
                         row_name(row));
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

cgpc_status energy_gate_table_parse(struct energy_gate_table *t, const char *text, size_t len,
                                    const char *origin, struct cgpc_err *err)
{
    struct energy_gate_table next;
    memset(&next, 0, sizeof next);
    int seen_line[CGPC_OP_COUNT + 1] = {0}; /* line that defined each row, 0: not yet */
    struct energy_text tx;
    cgpc_status st = energy_text_open(&tx, text, len, origin, ENERGY_GATE_COSTS_MAGIC,
                                      "gate-cost", err);
    if (st != CGPC_OK)
        return st;
    for (;;) {
        char *f[5];
        int n;
        st = energy_text_next(&tx, f, 5, &n, err);
        if (st != CGPC_OK)
            return st;
        if (n == 0)
            break;
        if (n < 4)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s:%d: expected 'name,energy_pJ,delay_ns,area_um2[,source]', got "
                             "%d field%s",
                             origin, tx.line, n, n == 1 ? "" : "s");
        int row = row_from_name(f[0]);
        if (row < 0) {
            char known[400] = "";
            list_rows(known, sizeof known, NULL);
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: unknown gate '%s' (known: %s)",
                             origin, tx.line, f[0], known);
        }
        if (seen_line[row])
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: duplicate row for '%s' (first on line %d)",
                             origin, tx.line, f[0], seen_line[row]);
        seen_line[row] = tx.line;
        struct energy_gate_cost c;
        if ((st = energy_text_number(&tx, f[1], "energy_pJ", &c.energy_pj, err)) != CGPC_OK ||
            (st = energy_text_number(&tx, f[2], "delay_ns", &c.delay_ns, err)) != CGPC_OK ||
            (st = energy_text_number(&tx, f[3], "area_um2", &c.area_um2, err)) != CGPC_OK)
            return st;
        const char *source = n == 5 ? f[4] : "";
        if (strlen(source) >= sizeof next.mac_source)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: source of '%s' longer than %zu characters",
                             origin, tx.line, f[0], sizeof next.mac_source - 1);
        if (row == CGPC_OP_COUNT) {
            next.mac = c;
            snprintf(next.mac_source, sizeof next.mac_source, "%s", source);
        } else {
            next.op[row] = c;
            snprintf(next.source[row], sizeof next.source[row], "%s", source);
        }
    }
    int missing = 0;
    for (int row = 0; row <= CGPC_OP_COUNT; row++)
        missing += !seen_line[row];
    if (missing) {
        char names[400] = "";
        list_rows(names, sizeof names, seen_line);
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: %d row%s missing: %s (every operator of src/common/ops.h and '%s' "
                         "must appear once)",
                         origin, missing, missing == 1 ? "" : "s", names, ENERGY_MAC_NAME);
    }
    *t = next;
    return CGPC_OK;
}

static cgpc_status parse_table(void *t, const char *text, size_t len, const char *origin,
                               struct cgpc_err *err)
{
    return energy_gate_table_parse(t, text, len, origin, err);
}

cgpc_status energy_gate_table_load(struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err)
{
    return energy_text_load(path, parse_table, t, err);
}

static void write_row(FILE *out, const char *name, const struct energy_gate_cost *c,
                      const char *source)
{
    char pj[48], ns[48], um2[48];
    energy_text_format_double(pj, sizeof pj, c->energy_pj);
    energy_text_format_double(ns, sizeof ns, c->delay_ns);
    energy_text_format_double(um2, sizeof um2, c->area_um2);
    fprintf(out, "%s,%s,%s,%s%s%s\n", name, pj, ns, um2, *source ? "," : "", source);
}

cgpc_status energy_gate_table_write(const struct energy_gate_table *t, FILE *out,
                                    struct cgpc_err *err)
{
    fprintf(out,
            "%s\n"
            "# Gate costs for cgpc (src/energy; format in docs/ARCHITECTURE.md). One row per CGP\n"
            "# operator of src/common/ops.h, plus 'mac': one int8 multiply-accumulate of\n"
            "# inference. Columns: name, energy per evaluation in pJ, delay in ns, area in um^2,\n"
            "# source (optional; runs to the end of the line). Every row exactly once; values\n"
            "# finite and >= 0; lines starting with '#' are comments.\n"
            "# Sources: [H] Horowitz, ISSCC 2014; [E] EvoApprox8b (Mrazek et al., DATE 2017);\n"
            "# [A] an assumption, stated on the row.\n"
            "name,energy_pJ,delay_ns,area_um2,source\n",
            ENERGY_GATE_COSTS_MAGIC);
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        write_row(out, cgpc_op_name(op), &t->op[op], t->source[op]);
    write_row(out, ENERGY_MAC_NAME, &t->mac, t->mac_source);
    if (fflush(out) != 0 || ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the gate-cost table: %s", strerror(errno));
    return CGPC_OK;
}

cgpc_status energy_gate_table_save(const struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st != CGPC_OK)
        return st;
    st = energy_gate_table_write(t, af.fp, err);
    if (st != CGPC_OK) {
        cgpc_err_prefix(err, "%s", path);
        cgpc_atomic_abort(&af);
        return st;
    }
    return cgpc_atomic_close(&af, err);
}
