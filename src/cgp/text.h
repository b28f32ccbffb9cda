/* text.h - line reading shared by the cgp text formats (data sets, chromosomes): internal. */
#ifndef CGPC_CGP_TEXT_H
#define CGPC_CGP_TEXT_H

#include "common/error.h"

/* Next non-empty line of a mutable text, with '#' comments and surrounding whitespace removed;
 * advances *cursor and *line_no; NULL at the end. */
char *cgp_text_line(char **cursor, int *line_no);

/* The next line must be "key N" with N an int in [min, max]; errors name name:line. */
cgpc_status cgp_text_key_int(char **cursor, int *line_no, const char *name, const char *key,
                             int min, int max, int *out, struct cgpc_err *err);

#endif
