/* memory.c - energy of reading weights from memory: built-ins, lookup, memory files. */
#include <string.h>

#include "common/fileio.h"
#include "energy/energy.h"
#include "energy/textfile.h"

/* Horowitz, ISSCC 2014 (45 nm), energy of one 64-bit access; per byte = per 64 bits / 8.
 * DRAM is quoted as a range, 1.3-2.6 nJ; the default takes the low end so that the saving
 * from producing a weight instead of reading it is never overstated. */
static const struct energy_memory builtin[] = {
    {"dram", 1300.0 / 8,
     "[H] DRAM 1.3-2.6 nJ per 64-bit access; low end 1.3 nJ (savings never overstated) / 8"},
    {"sram-8k", 10.0 / 8, "[H] 8 KB SRAM cache: 10 pJ per 64-bit read / 8"},
    {"sram-32k", 20.0 / 8, "[H] 32 KB SRAM cache: 20 pJ per 64-bit read / 8"},
    {"sram-1m", 100.0 / 8, "[H] 1 MB SRAM cache: 100 pJ per 64-bit read / 8"},
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

int energy_memory_builtin_count(void) { return N_BUILTIN; }

const struct energy_memory *energy_memory_builtin(int i)
{
    return i >= 0 && i < N_BUILTIN ? &builtin[i] : NULL;
}

static void list_builtin_names(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_BUILTIN && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", builtin[i].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

cgpc_status energy_memory_lookup(struct energy_memory *m, const char *name, struct cgpc_err *err)
{
    for (int i = 0; i < N_BUILTIN; i++) {
        if (strcmp(builtin[i].name, name) == 0) {
            *m = builtin[i];
            return CGPC_OK;
        }
    }
    char names[128];
    list_builtin_names(names, sizeof names);
    return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "'%s': no such memory (built-in: %s)", name, names);
}

cgpc_status energy_memory_parse(struct energy_memory *m, const char *text, size_t len,
                                const char *origin, struct cgpc_err *err)
{
    struct energy_memory next;
    memset(&next, 0, sizeof next);
    struct energy_text tx;
    cgpc_status st = energy_text_open(&tx, text, len, origin, ENERGY_MEMORY_MAGIC, "memory", err);
    if (st != CGPC_OK)
        return st;
    int row_line = 0;
    for (;;) {
        char *f[4];
        int n;
        if ((st = energy_text_next(&tx, f, 4, &n, err)) != CGPC_OK)
            return st;
        if (n == 0)
            break;
        if (row_line)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s:%d: a second memory row (the first is on line %d); a memory "
                             "file describes exactly one memory",
                             origin, tx.line, row_line);
        row_line = tx.line;
        if (n < 3)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s:%d: expected 'name,energy_pJ,per[,source]', got %d field%s",
                             origin, tx.line, n, n == 1 ? "" : "s");
        if (!*f[0] || strlen(f[0]) >= sizeof next.name)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: name '%s': expected 1..%zu characters",
                             origin, tx.line, f[0], sizeof next.name - 1);
        double pj;
        if ((st = energy_text_number(&tx, f[1], "energy_pJ", &pj, err)) != CGPC_OK)
            return st;
        if (strcmp(f[2], "byte") == 0)
            next.pj_per_byte = pj;
        else if (strcmp(f[2], "word64") == 0)
            next.pj_per_byte = pj / 8;
        else
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s:%d: per '%s': expected 'byte' or 'word64' (a 64-bit access)",
                             origin, tx.line, f[2]);
        const char *source = n == 4 ? f[3] : "";
        if (strlen(source) >= sizeof next.source)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: source longer than %zu characters",
                             origin, tx.line, sizeof next.source - 1);
        snprintf(next.name, sizeof next.name, "%s", f[0]);
        snprintf(next.source, sizeof next.source, "%s", source);
    }
    if (!row_line)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: no memory row (expected one 'name,energy_pJ,per[,source]' line)",
                         origin);
    *m = next;
    return CGPC_OK;
}

static cgpc_status parse_memory(void *m, const char *text, size_t len, const char *origin,
                                struct cgpc_err *err)
{
    return energy_memory_parse(m, text, len, origin, err);
}

cgpc_status energy_memory_load(struct energy_memory *m, const char *path, struct cgpc_err *err)
{
    return energy_text_load(path, parse_memory, m, err);
}

cgpc_status energy_memory_select(struct energy_memory *m, const char *spec, struct cgpc_err *err)
{
    if (energy_memory_lookup(m, spec, NULL) == CGPC_OK)
        return CGPC_OK;
    if (cgpc_path_exists(spec))
        return energy_memory_load(m, spec, err);
    char names[128];
    list_builtin_names(names, sizeof names);
    return CGPC_FAIL(err, CGPC_ERR_ARG,
                     "'%s': neither a built-in memory (%s) nor an existing memory file", spec,
                     names);
}
