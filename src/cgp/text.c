/* text.c - line reading shared by the cgp text formats. */
#include "cgp/text.h"

#include <ctype.h>
#include <string.h>

#include "common/parse.h"

char *cgp_text_line(char **cursor, int *line_no)
{
    while (**cursor) {
        char *line = *cursor, *nl = strchr(line, '\n');
        if (nl) {
            *nl = 0;
            *cursor = nl + 1;
        } else {
            *cursor = line + strlen(line);
        }
        (*line_no)++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        line = cgpc_trim(line);
        if (*line)
            return line;
    }
    return NULL;
}

cgpc_status cgp_text_key_int(char **cursor, int *line_no, const char *name, const char *key,
                             int min, int max, int *out, struct cgpc_err *err)
{
    char *line = cgp_text_line(cursor, line_no);
    size_t kl = strlen(key);
    if (!line || strncmp(line, key, kl) != 0 || !isspace((unsigned char)line[kl]))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected '%s N'", name, *line_no, key);
    if (cgpc_parse_int(cgpc_trim(line + kl), min, max, out, err) != CGPC_OK) {
        cgpc_err_prefix(err, "%s:%d: %s", name, *line_no, key);
        return CGPC_ERR_FORMAT;
    }
    return CGPC_OK;
}
