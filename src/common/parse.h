/* parse.h - strict parsing of numbers and lists from text (command lines, config files).
 * "Strict" means: the whole string must be consumed, no empty strings, no overflow, and the
 * value must lie in [min, max]. Errors name the offending text. */
#ifndef CGPC_PARSE_H
#define CGPC_PARSE_H

#include <stdint.h>

#include "error.h"

cgpc_status cgpc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                           struct cgpc_err *err);
cgpc_status cgpc_parse_int(const char *s, int min, int max, int *out, struct cgpc_err *err);
cgpc_status cgpc_parse_u64(const char *s, uint64_t *out, struct cgpc_err *err);
cgpc_status cgpc_parse_double(const char *s, double min, double max, double *out,
                              struct cgpc_err *err);

/* Duration: plain seconds ("90", "1.5"), or [[H:]M:]S ("48:00:00", "10:30"). */
cgpc_status cgpc_parse_duration(const char *s, double *seconds, struct cgpc_err *err);

/* v in decimal at p, as "%d" prints it (at most 11 characters, no terminator); returns the
 * end. For long runs of numbers (genes), ~10x faster than fprintf per number. */
char *cgpc_format_i32(char *p, int32_t v);

/* Trim leading and trailing ASCII whitespace in place; returns the trimmed start. */
char *cgpc_trim(char *s);

#endif
