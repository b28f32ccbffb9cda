#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages that do not fit err->msg (long paths) lose their middle, not their end: the
 * reason comes last ("<path>: cannot open: No such file or directory"). */
#define ERR_KEEP_HEAD 160

void cgpc_err_store(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n < cap) {
        memcpy(dst, src, n + 1);
        return;
    }
    static const char mark[] = "...";
    size_t head = ERR_KEEP_HEAD < cap / 2 ? ERR_KEEP_HEAD : cap / 4;
    size_t tail = cap - 1 - head - (sizeof mark - 1);
    size_t tail_at = n - tail;
    /* cut at UTF-8 character boundaries */
    while (head > 0 && ((unsigned char)src[head] & 0xC0) == 0x80)
        head--;
    while (tail_at < n && ((unsigned char)src[tail_at] & 0xC0) == 0x80)
        tail_at++;
    memcpy(dst, src, head);
    memcpy(dst + head, mark, sizeof mark - 1);
    memcpy(dst + head + sizeof mark - 1, src + tail_at, n - tail_at + 1);
}

cgpc_status cgpc_err_set(struct cgpc_err *err, cgpc_status code, const char *file, int line,
                         const char *fmt, ...)
{
    int saved_errno = errno;
    if (err) {
        err->code = code;
        err->sys_errno = saved_errno;
        err->file = file;
        err->line = line;
        char full[16384];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(full, sizeof full, fmt, ap);
        va_end(ap);
        cgpc_err_store(err->msg, sizeof err->msg, full);
    }
    errno = saved_errno;
    return code;
}

void cgpc_err_prefix(struct cgpc_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char full[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(full, sizeof full - sizeof err->msg - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof full - sizeof err->msg - 3)
        n = (int)(sizeof full - sizeof err->msg - 3);
    snprintf(full + n, sizeof full - (size_t)n, ": %s", err->msg);
    cgpc_err_store(err->msg, sizeof err->msg, full);
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
    case CGPC_ERR_BUSY: return "busy";
    case CGPC_ERR_EXISTS: return "already exists";
    }
    return "unknown error";
}

_Noreturn void cgpc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "cgpc: assertion failed: %s (%s:%d in %s)\n", expr, file, line, func);
    abort();
}
