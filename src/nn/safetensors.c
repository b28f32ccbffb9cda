#include "nn/safetensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {{"F32", 4}, {"I8", 1}, {"U8", 1}, {"I32", 4}, {"I64", 8}, {"F16", 2}};

size_t nn_dtype_size(enum nn_dtype dt) { return dtypes[dt].size; }
const char *nn_dtype_name(enum nn_dtype dt) { return dtypes[dt].name; }

/* ---- a small JSON reader for the header ------------------------------------------------ */

struct json {
    const char *s, *end;
    const char *path;
    struct cgpc_err *err;
};

static void json_ws(struct json *j)
{
    while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r'))
        j->s++;
}

static cgpc_status json_fail(struct json *j, const char *what)
{
    return CGPC_FAIL(j->err, CGPC_ERR_FORMAT, "%s: malformed safetensors JSON header: %s",
                     j->path, what);
}

static cgpc_status json_expect(struct json *j, char c)
{
    json_ws(j);
    if (j->s >= j->end || *j->s != c) {
        char what[64];
        snprintf(what, sizeof what, "expected '%c' at header byte %ld", c,
                 (long)(j->end - j->s));
        return json_fail(j, what);
    }
    j->s++;
    return CGPC_OK;
}

/* 1 and consumes c if the next non-space char is c. */
static int json_accept(struct json *j, char c)
{
    json_ws(j);
    if (j->s < j->end && *j->s == c) {
        j->s++;
        return 1;
    }
    return 0;
}

/* String into out (cap bytes incl. NUL); escapes \" \\ \/ \b \f \n \r \t \u00XX. */
static cgpc_status json_string(struct json *j, char *out, size_t cap)
{
    cgpc_status st = json_expect(j, '"');
    if (st)
        return st;
    size_t n = 0;
    while (j->s < j->end && *j->s != '"') {
        char c = *j->s++;
        if ((unsigned char)c < 0x20)
            return json_fail(j, "control character in string");
        if (c == '\\') {
            if (j->s >= j->end)
                return json_fail(j, "unterminated escape");
            char e = *j->s++;
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    if (j->s >= j->end)
                        return json_fail(j, "short \\u escape");
                    char h = *j->s++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else return json_fail(j, "bad \\u escape");
                }
                if (v > 0x7f)
                    return json_fail(j, "non-ASCII \\u escape not supported in names");
                c = (char)v;
                break;
            }
            default:
                return json_fail(j, "unknown escape");
            }
        }
        if (n + 1 >= cap)
            return json_fail(j, "string too long");
        out[n++] = c;
    }
    if (j->s >= j->end)
        return json_fail(j, "unterminated string");
    j->s++;
    out[n] = 0;
    return CGPC_OK;
}

static cgpc_status json_uint(struct json *j, uint64_t *out)
{
    json_ws(j);
    if (j->s >= j->end || *j->s < '0' || *j->s > '9')
        return json_fail(j, "expected a non-negative integer");
    uint64_t v = 0;
    while (j->s < j->end && *j->s >= '0' && *j->s <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return json_fail(j, "integer overflow");
        v = v * 10 + (uint64_t)(*j->s++ - '0');
    }
    *out = v;
    return CGPC_OK;
}

/* Array of non-negative integers; at most cap. */
static cgpc_status json_uint_array(struct json *j, uint64_t *out, int cap, int *n)
{
    cgpc_status st = json_expect(j, '[');
    if (st)
        return st;
    *n = 0;
    if (json_accept(j, ']'))
        return CGPC_OK;
    do {
        if (*n >= cap)
            return json_fail(j, "array too long");
        if ((st = json_uint(j, &out[(*n)++])))
            return st;
    } while (json_accept(j, ','));
    return json_expect(j, ']');
}

/* Skip any JSON value (for unknown keys); depth-limited. */
static cgpc_status json_skip(struct json *j, int depth)
{
    char tmp[1024];
    json_ws(j);
    if (depth > 32)
        return json_fail(j, "nesting too deep");
    if (j->s >= j->end)
        return json_fail(j, "unexpected end");
    char c = *j->s;
    if (c == '"')
        return json_string(j, tmp, sizeof tmp);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->s++;
        if (json_accept(j, close))
            return CGPC_OK;
        do {
            cgpc_status st;
            if (c == '{') {
                if ((st = json_string(j, tmp, sizeof tmp)) || (st = json_expect(j, ':')))
                    return st;
            }
            if ((st = json_skip(j, depth + 1)))
                return st;
        } while (json_accept(j, ','));
        return json_expect(j, close);
    }
    const char *start = j->s;
    while (j->s < j->end && strchr("+-.eE0123456789truefalsn", *j->s))
        j->s++;
    if (j->s == start)
        return json_fail(j, "unexpected character");
    return CGPC_OK;
}

static cgpc_status parse_meta(struct json *j, struct nn_st_file *st)
{
    cgpc_status s = json_expect(j, '{');
    if (s)
        return s;
    if (json_accept(j, '}'))
        return CGPC_OK;
    do {
        struct nn_st_meta m;
        char val[4096];
        if ((s = json_string(j, m.key, sizeof m.key)) || (s = json_expect(j, ':')) ||
            (s = json_string(j, val, sizeof val)))
            return s;
        snprintf(m.value, sizeof m.value, "%s", val);
        struct nn_st_meta *nm = realloc(st->meta, (size_t)(st->nmeta + 1) * sizeof *nm);
        if (!nm)
            return CGPC_FAIL(j->err, CGPC_ERR_NOMEM, "metadata");
        st->meta = nm;
        st->meta[st->nmeta++] = m;
    } while (json_accept(j, ','));
    return json_expect(j, '}');
}

static cgpc_status parse_tensor(struct json *j, struct nn_st_tensor *t)
{
    char key[64], dt[16] = "";
    uint64_t shape[NN_ST_MAX_DIMS], offs[2];
    int nshape = -1, noffs = -1;
    cgpc_status s = json_expect(j, '{');
    if (s)
        return s;
    if (!json_accept(j, '}')) {
        do {
            if ((s = json_string(j, key, sizeof key)) || (s = json_expect(j, ':')))
                return s;
            if (strcmp(key, "dtype") == 0)
                s = json_string(j, dt, sizeof dt);
            else if (strcmp(key, "shape") == 0)
                s = json_uint_array(j, shape, NN_ST_MAX_DIMS, &nshape);
            else if (strcmp(key, "data_offsets") == 0)
                s = json_uint_array(j, offs, 2, &noffs);
            else
                s = json_skip(j, 0);
            if (s)
                return s;
        } while (json_accept(j, ','));
        if ((s = json_expect(j, '}')))
            return s;
    }
    if (!dt[0] || nshape < 0 || noffs != 2)
        return CGPC_FAIL(j->err, CGPC_ERR_FORMAT,
                         "%s: tensor '%s': needs dtype, shape and data_offsets [begin, end]",
                         j->path, t->name);
    int found = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dt, dtypes[i].name) == 0) {
            t->dtype = (enum nn_dtype)i;
            found = 1;
        }
    if (!found)
        return CGPC_FAIL(j->err, CGPC_ERR_FORMAT,
                         "%s: tensor '%s': unsupported dtype '%s' "
                         "(supported: F32 I8 U8 I32 I64 F16)",
                         j->path, t->name, dt);
    t->ndim = nshape;
    t->numel = 1;
    for (int i = 0; i < nshape; i++) {
        if (shape[i] > (1ull << 40) || (t->numel > 0 && shape[i] > (uint64_t)(INT64_MAX / 16) /
                                                                      (uint64_t)t->numel))
            return CGPC_FAIL(j->err, CGPC_ERR_FORMAT, "%s: tensor '%s': shape too large",
                             j->path, t->name);
        t->shape[i] = (int64_t)shape[i];
        t->numel *= (int64_t)shape[i];
    }
    if (offs[1] < offs[0])
        return CGPC_FAIL(j->err, CGPC_ERR_FORMAT, "%s: tensor '%s': data_offsets end < begin",
                         j->path, t->name);
    t->begin = (size_t)offs[0];
    t->end = (size_t)offs[1];
    if (t->end - t->begin != (size_t)t->numel * nn_dtype_size(t->dtype))
        return CGPC_FAIL(j->err, CGPC_ERR_FORMAT,
                         "%s: tensor '%s': %zu data bytes but dtype %s x %lld elements needs %zu",
                         j->path, t->name, t->end - t->begin, dt, (long long)t->numel,
                         (size_t)t->numel * nn_dtype_size(t->dtype));
    return CGPC_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const struct nn_st_tensor *x = *(const struct nn_st_tensor *const *)a;
    const struct nn_st_tensor *y = *(const struct nn_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

cgpc_status nn_st_parse(unsigned char *buf, size_t len, const char *path, struct nn_st_file *st,
                        struct cgpc_err *err)
{
    cgpc_status s = CGPC_OK;
    const struct nn_st_tensor **order = NULL;
    memset(st, 0, sizeof *st);
    st->buf = buf;
    st->len = len;
    snprintf(st->path, sizeof st->path, "%s", path);
    if (len < 8) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: truncated: %zu bytes, not a safetensors file",
                      path, len);
        goto out;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    if (hlen < 2 || hlen > len - 8) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                      "%s: header length %llu does not fit in the %zu-byte file (truncated or "
                      "not a safetensors file)",
                      path, (unsigned long long)hlen, len);
        goto out;
    }
    struct json j = {(const char *)buf + 8, (const char *)buf + 8 + hlen, path, err};
    if ((s = json_expect(&j, '{')))
        goto out;
    if (!json_accept(&j, '}')) {
        do {
            struct nn_st_tensor t;
            memset(&t, 0, sizeof t);
            if ((s = json_string(&j, t.name, sizeof t.name)) || (s = json_expect(&j, ':')))
                goto out;
            if (strcmp(t.name, "__metadata__") == 0) {
                if ((s = parse_meta(&j, st)))
                    goto out;
                continue;
            }
            if (nn_st_find(st, t.name)) {
                s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: tensor '%s' appears twice", path,
                              t.name);
                goto out;
            }
            if ((s = parse_tensor(&j, &t)))
                goto out;
            struct nn_st_tensor *nt =
                realloc(st->tensors, (size_t)(st->ntensors + 1) * sizeof *nt);
            if (!nt) {
                s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "tensor table");
                goto out;
            }
            st->tensors = nt;
            st->tensors[st->ntensors++] = t;
        } while (json_accept(&j, ','));
        if ((s = json_expect(&j, '}')))
            goto out;
    }
    json_ws(&j);
    if (j.s != j.end) {
        s = json_fail(&j, "trailing bytes after the header object");
        goto out;
    }
    size_t data_start = 8 + (size_t)hlen, data_len = len - data_start;
    order = malloc((size_t)(st->ntensors ? st->ntensors : 1) * sizeof *order);
    if (!order) {
        s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "tensor order");
        goto out;
    }
    for (int i = 0; i < st->ntensors; i++) {
        struct nn_st_tensor *t = &st->tensors[i];
        if (t->end > data_len) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%zu, %zu] beyond the %zu-byte data "
                          "section (file truncated?)",
                          path, t->name, t->begin, t->end, data_len);
            goto out;
        }
        t->data = buf + data_start + t->begin;
        order[i] = t;
    }
    qsort(order, (size_t)st->ntensors, sizeof *order, cmp_begin);
    for (int i = 1; i < st->ntensors; i++)
        if (order[i]->begin < order[i - 1]->end) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", path,
                          order[i - 1]->name, order[i]->name);
            goto out;
        }
out:
    free(order);
    if (s)
        nn_st_free(st);
    return s;
}

cgpc_status nn_st_load(const char *path, struct nn_st_file *st, struct cgpc_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    memset(st, 0, sizeof *st);
    cgpc_status s = cgpc_read_file(path, &buf, &len, err);
    if (s)
        return s;
    return nn_st_parse(buf, len, path, st, err);
}

void nn_st_free(struct nn_st_file *st)
{
    if (!st)
        return;
    free(st->buf);
    free(st->tensors);
    free(st->meta);
    memset(st, 0, sizeof *st);
}

const struct nn_st_tensor *nn_st_find(const struct nn_st_file *st, const char *name)
{
    for (int i = 0; i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

const char *nn_st_meta_get(const struct nn_st_file *st, const char *key)
{
    for (int i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0)
            return st->meta[i].value;
    return NULL;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

cgpc_status nn_st_copy(const struct nn_st_file *st, const char *name, enum nn_dtype dtype,
                       int ndim, const int64_t *shape, void *dst, struct cgpc_err *err)
{
    const struct nn_st_tensor *t = nn_st_find(st, name);
    if (!t)
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "%s: tensor '%s' is missing", st->path, name);
    int same = t->ndim == ndim && t->dtype == dtype;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: tensor '%s' is %s %s, expected %s %s",
                         st->path, name, nn_dtype_name(t->dtype), got, nn_dtype_name(dtype),
                         want);
    }
    memcpy(dst, t->data, t->end - t->begin);
    return CGPC_OK;
}

/* ---- writer ----------------------------------------------------------------------------- */

static int cmp_out_name(const void *a, const void *b)
{
    return strcmp((*(const struct nn_st_out *const *)a)->name,
                  (*(const struct nn_st_out *const *)b)->name);
}

/* Append printf output to a growing buffer. */
struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t ncap = (b->cap + (size_t)k + 1) * 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void sb_json_string(struct sbuf *b, const char *str)
{
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            sb_printf(b, "\\u%04x", *p);
        else
            sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

cgpc_status nn_st_save(const char *path, const struct nn_st_out *tensors, int ntensors,
                       const struct nn_st_meta *meta, int nmeta, struct cgpc_err *err)
{
    cgpc_status s = CGPC_OK;
    struct sbuf b = {0};
    const struct nn_st_out **order = malloc((size_t)(ntensors ? ntensors : 1) * sizeof *order);
    struct cgpc_atomic_file af;
    int opened = 0;
    if (!order) {
        s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: writer", path);
        goto out;
    }
    for (int i = 0; i < ntensors; i++)
        order[i] = &tensors[i];
    qsort(order, (size_t)ntensors, sizeof *order, cmp_out_name);
    sb_printf(&b, "{");
    if (nmeta > 0) {
        sb_printf(&b, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            sb_printf(&b, "%s", i ? "," : "");
            sb_json_string(&b, meta[i].key);
            sb_printf(&b, ":");
            sb_json_string(&b, meta[i].value);
        }
        sb_printf(&b, "}%s", ntensors ? "," : "");
    }
    size_t off = 0;
    for (int i = 0; i < ntensors; i++) {
        const struct nn_st_out *t = order[i];
        size_t numel = 1;
        sb_printf(&b, "%s", i ? "," : "");
        sb_json_string(&b, t->name);
        sb_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", nn_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) {
            sb_printf(&b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            numel *= (size_t)t->shape[d];
        }
        size_t nb = numel * nn_dtype_size(t->dtype);
        sb_printf(&b, "],\"data_offsets\":[%zu,%zu]}", off, off + nb);
        off += nb;
    }
    sb_printf(&b, "}");
    while (!b.oom && b.n % 8)
        sb_printf(&b, " ");
    if (b.oom) {
        s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: header", path);
        goto out;
    }
    if ((s = cgpc_atomic_open(&af, path, err)))
        goto out;
    opened = 1;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)b.n >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(b.p, 1, b.n, af.fp) == b.n;
    for (int i = 0; ok && i < ntensors; i++) {
        const struct nn_st_out *t = order[i];
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= (size_t)t->shape[d];
        size_t nb = numel * nn_dtype_size(t->dtype);
        ok = fwrite(t->data, 1, nb, af.fp) == nb;
    }
    if (!ok) {
        s = cgpc_atomic_fail(&af, err);
        opened = 0;
        goto out;
    }
    opened = 0;
    s = cgpc_atomic_close(&af, err);
out:
    if (opened && s)
        cgpc_atomic_abort(&af);
    free(order);
    free(b.p);
    return s;
}
