/* error.h - status codes and the error record every library call fills.
 *
 * Library code in src/ never prints and never exits: a function that can fail returns a
 * cgpc_status and, on failure, fills a caller-owned struct cgpc_err with the code, a message,
 * the errno at the time (0 if none) and the file:line where it was raised. Only the CLI
 * (src/cli/) turns a record into a message on stderr and an exit code.
 *
 * Usage:
 *     cgpc_status st = CGPC_OK;
 *     if (!(buf = malloc(n))) { st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%zu bytes", n); goto out; }
 *     ...
 * out:
 *     free(buf);
 *     return st;
 *
 * `err` may be NULL when the caller does not care about details. */
#ifndef CGPC_ERROR_H
#define CGPC_ERROR_H

#include <stddef.h>

typedef enum cgpc_status {
    CGPC_OK = 0,
    CGPC_ERR_IO,          /* open/read/write/rename failed; sys_errno says why */
    CGPC_ERR_FORMAT,      /* a file or text is malformed (bad magic, truncated, bad field) */
    CGPC_ERR_NOMEM,       /* allocation failed */
    CGPC_ERR_ARG,         /* invalid argument or configuration (caller's mistake) */
    CGPC_ERR_RANGE,       /* a value is out of its allowed range */
    CGPC_ERR_NOT_FOUND,   /* a named thing (tensor, layer, gate, file) does not exist */
    CGPC_ERR_INTERRUPTED, /* stopped on request (signal, time limit); state was saved */
    CGPC_ERR_INTERNAL,    /* a broken invariant that could be reported instead of aborting */
    CGPC_ERR_BUSY,        /* another process holds the resource (a run directory's lock) */
    CGPC_ERR_EXISTS       /* the target already holds something that must not be overwritten */
} cgpc_status;

struct cgpc_err {
    cgpc_status code;
    int sys_errno;    /* errno captured when the error was raised, 0 if not relevant */
    const char *file; /* source file that raised it (static string) */
    int line;
    char msg[512];    /* human-readable: "<what>: <why>", no trailing newline */
};

/* Record an error (if err != NULL) and return `code`, so callers can write
 * `return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open", path);`. errno is captured
 * before anything else runs. */
#define CGPC_FAIL(err, code, ...) cgpc_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

cgpc_status cgpc_err_set(struct cgpc_err *err, cgpc_status code, const char *file, int line,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefix an existing message with more context: "<context>: <old message>". */
void cgpc_err_prefix(struct cgpc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy a message into dst (capacity cap); one too long keeps its start and its end (the
 * reason) and loses its middle, marked "...". */
void cgpc_err_store(char *dst, size_t cap, const char *src);

/* Reset to CGPC_OK with an empty message. */
void cgpc_err_clear(struct cgpc_err *err);

/* Short lowercase name of a status ("io error", "format error", ...). */
const char *cgpc_status_name(cgpc_status code);

/* Broken invariants abort with the expression and file:line, also in release builds.
 * Use for programming errors only, never for bad input. */
#define CGPC_ASSERT(expr) \
    ((expr) ? (void)0 : cgpc_assert_fail(#expr, __FILE__, __LINE__, __func__))
_Noreturn void cgpc_assert_fail(const char *expr, const char *file, int line, const char *func);

#endif
