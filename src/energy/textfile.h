/* textfile.h - INTERNAL to src/energy: the small versioned CSV text format shared by gate-cost
 * and memory files, and shortest-exact number formatting for their writers.
 *
 * A file is: a first line equal to its magic ("# cgpc-gate-costs v1"), then rows of comma-
 * separated fields; lines whose first non-blank character is '#' and blank lines are skipped;
 * a first row whose first field is "name" is the column header and is skipped. The last field
 * of a row takes the rest of the line, commas included (free-text sources). Errors name
 * "origin:line". The reader works on a caller's buffer and allocates nothing. */
#ifndef CGPC_ENERGY_TEXTFILE_H
#define CGPC_ENERGY_TEXTFILE_H

#include <stddef.h>

#include "common/error.h"

#define ENERGY_TEXT_MAX_FIELDS 8
#define ENERGY_TEXT_MAX_LINE 1024

struct energy_text {
    const char *p, *end;  /* unread part of the text */
    const char *origin;   /* file name for messages */
    int line;             /* 1-based number of the line last returned */
    int rows;             /* rows returned so far (header excluded) */
    char buf[ENERGY_TEXT_MAX_LINE];
};

/* Start reading `text` (len bytes) and check its first line against `magic`; `kind` names the
 * format in the hint ("gate-cost"). CGPC_ERR_FORMAT on a missing or different magic. */
cgpc_status energy_text_open(struct energy_text *tx, const char *text, size_t len,
                             const char *origin, const char *magic, const char *kind,
                             struct cgpc_err *err);

/* Next row, split into at most max_fields fields (trimmed, pointing into tx->buf), the last
 * taking the rest of the line. *n_fields = 0 at the end of the text. */
cgpc_status energy_text_next(struct energy_text *tx, char **fields, int max_fields,
                             int *n_fields, struct cgpc_err *err);

/* Parse a finite, non-negative number from field `what` of the current row. */
cgpc_status energy_text_number(const struct energy_text *tx, const char *s, const char *what,
                               double *out, struct cgpc_err *err);

/* Read `path` (plain or .gz) and hand its text to parse(out, text, len, path, err). */
typedef cgpc_status (*energy_text_parser)(void *out, const char *text, size_t len,
                                          const char *origin, struct cgpc_err *err);
cgpc_status energy_text_load(const char *path, energy_text_parser parse, void *out,
                             struct cgpc_err *err);

/* Write v into buf (cap >= 48) with the fewest significant digits that read back exactly,
 * without an exponent for 1e-4 <= |v| < 1e15 (25920, not 2.592e+04). */
void energy_text_format_double(char *buf, size_t cap, double v);

#endif
