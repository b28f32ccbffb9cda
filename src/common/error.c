#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cgpc_status cgpc_err_set(struct cgpc_err *err, cgpc_status code, const char *file, int line,
                         const char *fmt, ...)
{
    int saved_errno = errno;
    if (err) {
        err->code = code;
        err->sys_errno = saved_errno;
        err->file = file;
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    errno = saved_errno;
    return code;
}

void cgpc_err_prefix(struct cgpc_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

void cgpc_err_clear(struct cgpc_err *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
}

const char *cgpc_status_name(cgpc_status code)
{
    switch (code) {
    case CGPC_OK: return "ok";
    case CGPC_ERR_IO: return "i/o error";
    case CGPC_ERR_FORMAT: return "format error";
    case CGPC_ERR_NOMEM: return "out of memory";
    case CGPC_ERR_ARG: return "invalid argument";
    case CGPC_ERR_RANGE: return "out of range";
    case CGPC_ERR_NOT_FOUND: return "not found";
    case CGPC_ERR_INTERRUPTED: return "interrupted";
    case CGPC_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

_Noreturn void cgpc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "cgpc: assertion failed: %s (%s:%d in %s)\n", expr, file, line, func);
    abort();
}
