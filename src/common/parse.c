#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

cgpc_status cgpc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                           struct cgpc_err *err)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected an integer", s ? s : "");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected an integer", s);
    if (errno == ERANGE || v < min || v > max)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "'%s': must be in [%lld, %lld]", s,
                         (long long)min, (long long)max);
    *out = v;
    return CGPC_OK;
}

cgpc_status cgpc_parse_int(const char *s, int min, int max, int *out, struct cgpc_err *err)
{
    int64_t v = 0;
    cgpc_status st = cgpc_parse_i64(s, min, max, &v, err);
    if (st == CGPC_OK)
        *out = (int)v;
    return st;
}

cgpc_status cgpc_parse_u64(const char *s, uint64_t *out, struct cgpc_err *err)
{
    if (!s || !*s || !isdigit((unsigned char)*s))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a non-negative integer", s ? s : "");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a non-negative integer", s);
    if (errno == ERANGE)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "'%s': too large for 64 bits", s);
    *out = v;
    return CGPC_OK;
}

cgpc_status cgpc_parse_double(const char *s, double min, double max, double *out,
                              struct cgpc_err *err)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a number", s ? s : "");
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a finite number", s);
    if (errno == ERANGE || v < min || v > max)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "'%s': must be in [%g, %g]", s, min, max);
    *out = v;
    return CGPC_OK;
}

cgpc_status cgpc_parse_duration(const char *s, double *seconds, struct cgpc_err *err)
{
    if (!s || !*s)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'': expected a duration (seconds or H:MM:SS)");
    if (!strchr(s, ':'))
        return cgpc_parse_double(s, 0, 1e12, seconds, err);
    double total = 0;
    int fields = 0;
    const char *p = s;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p))
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a duration like 48:00:00", s);
        errno = 0;
        double v = strtod(p, &end);
        if (errno == ERANGE || v < 0)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "'%s': duration out of range", s);
        total = total * 60 + v;
        fields++;
        if (*end == ':')
            end++;
        else if (*end != '\0')
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected a duration like 48:00:00", s);
        p = end;
    }
    if (fields > 3)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': at most H:M:S", s);
    *seconds = total;
    return CGPC_OK;
}

char *cgpc_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

char *cgpc_format_i32(char *p, int32_t v)
{
    char tmp[10];
    int n = 0;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    return p;
}
