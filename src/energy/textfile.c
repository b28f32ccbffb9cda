/* textfile.c - the versioned CSV reader shared by gate-cost and memory files. */
#include "energy/textfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/parse.h"

/* Copy the next physical line (without its newline, CR stripped) into tx->buf; *got = 0 at the
 * end of the text. CGPC_ERR_FORMAT for a line too long for the buffer or a NUL byte. */
static cgpc_status read_line(struct energy_text *tx, int *got, struct cgpc_err *err)
{
    *got = 0;
    if (tx->p >= tx->end)
        return CGPC_OK;
    const char *nl = memchr(tx->p, '\n', (size_t)(tx->end - tx->p));
    const char *stop = nl ? nl : tx->end;
    size_t n = (size_t)(stop - tx->p);
    tx->line++;
    if (n >= sizeof tx->buf)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: line longer than %d characters",
                         tx->origin, tx->line, ENERGY_TEXT_MAX_LINE - 1);
    if (memchr(tx->p, '\0', n))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: NUL byte: not a text file", tx->origin,
                         tx->line);
    memcpy(tx->buf, tx->p, n);
    if (n && tx->buf[n - 1] == '\r')
        n--;
    tx->buf[n] = '\0';
    tx->p = nl ? nl + 1 : tx->end;
    *got = 1;
    return CGPC_OK;
}

cgpc_status energy_text_open(struct energy_text *tx, const char *text, size_t len,
                             const char *origin, const char *magic, const char *kind,
                             struct cgpc_err *err)
{
    memset(tx, 0, sizeof *tx);
    tx->p = text;
    tx->end = text + len;
    tx->origin = origin;
    int got;
    cgpc_status st = read_line(tx, &got, err);
    if (st != CGPC_OK)
        return st;
    const char *first = got ? cgpc_trim(tx->buf) : "";
    if (strcmp(first, magic) == 0)
        return CGPC_OK;
    /* Same format name, other version: say so; anything else: not this kind of file. */
    size_t stem = strlen(magic);
    while (stem && magic[stem - 1] != ' ')
        stem--;
    if (stem && strncmp(first, magic, stem) == 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s:1: unsupported %s file version '%s' (this build reads '%s')", origin,
                         kind, first, magic);
    return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                     "%s:1: not a cgpc %s file: the first line must be '%s' (see the template "
                     "src/energy/default-gate-costs.csv and docs/ARCHITECTURE.md)",
                     origin, kind, magic);
}

cgpc_status energy_text_next(struct energy_text *tx, char **fields, int max_fields,
                             int *n_fields, struct cgpc_err *err)
{
    CGPC_ASSERT(max_fields >= 1 && max_fields <= ENERGY_TEXT_MAX_FIELDS);
    *n_fields = 0;
    for (;;) {
        int got;
        cgpc_status st = read_line(tx, &got, err);
        if (st != CGPC_OK || !got)
            return st;
        char *s = cgpc_trim(tx->buf);
        if (*s == '\0' || *s == '#')
            continue;
        int n = 0;
        while (n < max_fields - 1) {
            char *comma = strchr(s, ',');
            if (!comma)
                break;
            *comma = '\0';
            fields[n++] = cgpc_trim(s);
            s = comma + 1;
        }
        fields[n++] = cgpc_trim(s);
        if (tx->rows == 0 && strcmp(fields[0], "name") == 0) {
            tx->rows = -1; /* the header was seen; it counts as no row */
            continue;
        }
        if (tx->rows < 0)
            tx->rows = 0;
        tx->rows++;
        *n_fields = n;
        return CGPC_OK;
    }
}

cgpc_status energy_text_number(const struct energy_text *tx, const char *s, const char *what,
                               double *out, struct cgpc_err *err)
{
    char *end;
    double v = *s ? strtod(s, &end) : 0;
    if (!*s || *end != '\0')
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %s '%s': expected a number", tx->origin,
                         tx->line, what, s);
    if (!isfinite(v))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %s '%s': must be finite", tx->origin,
                         tx->line, what, s);
    if (v < 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %s '%s': must not be negative",
                         tx->origin, tx->line, what, s);
    *out = v == 0 ? 0 : v; /* -0 -> 0 */
    return CGPC_OK;
}

void energy_text_format_double(char *buf, size_t cap, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* %g switches to an exponent at 1e+<digits>: "2.592e+04". Plain decimals read better. */
    double a = fabs(v);
    if (!strchr(buf, 'e') || a < 1e-4 || a >= 1e15)
        return;
    for (int decimals = 0; decimals <= 17; decimals++) {
        snprintf(buf, cap, "%.*f", decimals, v);
        if (strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, cap, "%.17g", v);
}

cgpc_status energy_text_load(const char *path, energy_text_parser parse, void *out,
                             struct cgpc_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st == CGPC_OK)
        st = parse(out, (const char *)data, len, path, err);
    free(data);
    return st;
}
