/* journal.c - the statistics journal's circuit column: full circuit tokens and deltas between
 * consecutive rows (format in journal.h). */
#include "cgp/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

/* A circuit token split into its parts; the spans point into `text`, which it owns. */
struct jnode {
    int idx;         /* node number K of "nK=..." */
    const char *def; /* "add(i0,n3)" */
    int len;
    int remove;      /* in a delta: "-nK" */
};
struct jspan {
    const char *s;
    int len;
};
struct jcirc {
    char *text;
    struct jnode *nodes;
    int n_nodes;
    struct jspan *out;
    int n_out;
};

struct cgp_journal_enc {
    struct jcirc prev;
    int has_prev;
};

/* A growing string. */
struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_node(struct sbuf *b, const char *prefix, int idx, const char *def, int len)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%sn%d%s", prefix, idx, def ? "=" : "");
    sb_put(b, num, (size_t)n);
    if (def)
        sb_put(b, def, (size_t)len);
}

/* The string, or NULL (freed) when an allocation failed. */
static char *sb_take(struct sbuf *b)
{
    if (b->failed || !b->s) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

static void jc_free(struct jcirc *c)
{
    free(c->text);
    free(c->nodes);
    free(c->out);
    memset(c, 0, sizeof *c);
}

static int node_cmp(const void *a, const void *b)
{
    const struct jnode *x = a, *y = b;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Items of a token or delta: "nK=def", "-nK", "oI=src", "out=a,b,...". Splits `text` (owned,
 * taken over) into c; returns 0, or -1 when malformed, -2 when out of memory. Nodes end up
 * sorted by index. */
static int jc_parse(struct jcirc *c, char *text)
{
    memset(c, 0, sizeof *c);
    c->text = text;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ';' || *p == ',';
    c->nodes = malloc(cap * sizeof *c->nodes);
    c->out = malloc(cap * sizeof *c->out);
    if (!c->nodes || !c->out)
        return -2;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ";");
        char *end;
        if (p[0] == 'o' && p[1] == 'u' && p[2] == 't' && p[3] == '=') {
            for (const char *q = p + 4; q < p + n;) {
                size_t m = strcspn(q, ",;");
                c->out[c->n_out++] = (struct jspan){q, (int)m};
                q += m + (q[m] == ',');
            }
        } else if (p[0] == 'n' || (p[0] == '-' && p[1] == 'n') || p[0] == 'o') {
            int remove = p[0] == '-';
            long idx = strtol(p + 1 + remove, &end, 10);
            if (end == p + 1 + remove || idx < 0 || idx > INT32_MAX)
                return -1;
            if (p[0] == 'o') { /* an output change of a delta: kept as node with idx = -1 - I */
                if (*end != '=')
                    return -1;
                c->nodes[c->n_nodes++] = (struct jnode){-1 - (int)idx, end + 1,
                                                        (int)(p + n - end - 1), 0};
            } else if (remove) {
                if (end != p + n)
                    return -1;
                c->nodes[c->n_nodes++] = (struct jnode){(int)idx, NULL, 0, 1};
            } else {
                if (*end != '=')
                    return -1;
                c->nodes[c->n_nodes++] = (struct jnode){(int)idx, end + 1,
                                                        (int)(p + n - end - 1), 0};
            }
        } else {
            return -1;
        }
        p += n + (p[n] == ';');
    }
    qsort(c->nodes, (size_t)c->n_nodes, sizeof *c->nodes, node_cmp);
    return 0;
}

/* The full token of c: nodes by index, then the outputs. */
static char *jc_render(const struct jcirc *c)
{
    struct sbuf b = {0};
    for (int i = 0; i < c->n_nodes; i++) {
        sb_node(&b, "", c->nodes[i].idx, c->nodes[i].def, c->nodes[i].len);
        sb_put(&b, ";", 1);
    }
    sb_put(&b, "out=", 4);
    for (int o = 0; o < c->n_out; o++) {
        if (o)
            sb_put(&b, ",", 1);
        sb_put(&b, c->out[o].s, (size_t)c->out[o].len);
    }
    return sb_take(&b);
}

static int node_find(const struct jcirc *c, const char *src, int len)
{
    if (len < 2 || src[0] != 'n')
        return -1;
    struct jnode key = {(int)strtol(src + 1, NULL, 10), NULL, 0, 0};
    const struct jnode *hit = bsearch(&key, c->nodes, (size_t)c->n_nodes, sizeof key, node_cmp);
    return hit ? (int)(hit - c->nodes) : -1;
}

/* The full token of c in the order the evolver writes it (cgp_evolver_circuit_string): active
 * nodes in the post-order of a depth-first walk from the outputs in turn, sources in order (the
 * walk of cgp_decode_active), so a decoded row equals the circuit the evolver had. NULL: out of
 * memory, or (*bad = 1) a source names a node that is not there. */
static char *jc_render_walk(const struct jcirc *c, int *bad)
{
    struct sbuf b = {0};
    struct frame {
        int pos;
        const char *next; /* the next source in the node's def */
    } *stack = malloc(((size_t)c->n_nodes + 1) * sizeof *stack);
    char *seen = calloc((size_t)c->n_nodes + 1, 1);
    *bad = 0;
    for (int o = 0; stack && seen && o < c->n_out && !*bad; o++) {
        int root = node_find(c, c->out[o].s, c->out[o].len);
        if (c->out[o].s[0] == 'n' && root < 0)
            *bad = 1;
        if (root < 0 || seen[root])
            continue;
        seen[root] = 1;
        int sp = 0;
        stack[sp++] = (struct frame){root, memchr(c->nodes[root].def, '(',
                                                  (size_t)c->nodes[root].len)};
        while (sp > 0 && !*bad) {
            struct frame *top = &stack[sp - 1];
            const struct jnode *nd = &c->nodes[top->pos];
            const char *end = nd->def + nd->len - 1; /* the ')' */
            if (top->next && top->next + 1 < end) {
                const char *src = top->next + 1;
                size_t m = strcspn(src, ",)");
                top->next = src + m < end ? src + m : NULL;
                int k = node_find(c, src, (int)m);
                if (src[0] == 'n' && k < 0)
                    *bad = 1;
                else if (k >= 0 && !seen[k]) {
                    seen[k] = 1;
                    stack[sp++] = (struct frame){k, memchr(c->nodes[k].def, '(',
                                                           (size_t)c->nodes[k].len)};
                }
            } else {
                sb_node(&b, "", nd->idx, nd->def, nd->len);
                sb_put(&b, ";", 1);
                sp--;
            }
        }
    }
    if (!stack || !seen)
        b.failed = 1;
    free(stack);
    free(seen);
    sb_put(&b, "out=", 4);
    for (int o = 0; o < c->n_out; o++) {
        if (o)
            sb_put(&b, ",", 1);
        sb_put(&b, c->out[o].s, (size_t)c->out[o].len);
    }
    if (*bad) {
        free(b.s);
        return NULL;
    }
    return sb_take(&b);
}

static int span_eq(const char *a, int la, const char *b, int lb)
{
    return la == lb && memcmp(a, b, (size_t)la) == 0;
}

/* "~" + the items that turn a into b; NULL when out of memory or the output counts differ. */
static char *jc_delta(const struct jcirc *a, const struct jcirc *b)
{
    if (a->n_out != b->n_out)
        return NULL;
    struct sbuf s = {0};
    sb_put(&s, "~", 1);
    int i = 0, j = 0, items = 0;
    while (i < a->n_nodes || j < b->n_nodes) {
        const struct jnode *x = i < a->n_nodes ? &a->nodes[i] : NULL;
        const struct jnode *y = j < b->n_nodes ? &b->nodes[j] : NULL;
        if (y && (!x || y->idx < x->idx)) {
            sb_put(&s, ";", items++ ? 1 : 0);
            sb_node(&s, "", y->idx, y->def, y->len);
            j++;
        } else if (!y || x->idx < y->idx) {
            sb_put(&s, ";", items++ ? 1 : 0);
            sb_node(&s, "-", x->idx, NULL, 0);
            i++;
        } else {
            if (!span_eq(x->def, x->len, y->def, y->len)) {
                sb_put(&s, ";", items++ ? 1 : 0);
                sb_node(&s, "", y->idx, y->def, y->len);
            }
            i++;
            j++;
        }
    }
    for (int o = 0; o < b->n_out; o++)
        if (!span_eq(a->out[o].s, a->out[o].len, b->out[o].s, b->out[o].len)) {
            char num[32];
            int n = snprintf(num, sizeof num, "%so%d=", items++ ? ";" : "", o);
            sb_put(&s, num, (size_t)n);
            sb_put(&s, b->out[o].s, (size_t)b->out[o].len);
        }
    return sb_take(&s);
}

/* The full token after applying delta `d` (without its "~") to a; NULL: malformed (*bad = 1)
 * or out of memory. */
static char *jc_apply(const struct jcirc *a, const char *d, int *bad)
{
    struct jcirc e;
    char *copy = strdup(d), *res = NULL;
    *bad = 0;
    if (!copy)
        return NULL;
    int rc = jc_parse(&e, copy);
    struct jcirc r = {0};
    r.nodes = malloc(((size_t)a->n_nodes + (size_t)e.n_nodes + 1) * sizeof *r.nodes);
    r.out = malloc(((size_t)a->n_out + 1) * sizeof *r.out);
    if (rc == -1 || e.n_out) {
        *bad = 1;
        goto out;
    }
    if (rc || !r.nodes || !r.out)
        goto out;
    memcpy(r.out, a->out, (size_t)a->n_out * sizeof *r.out);
    r.n_out = a->n_out;
    int i = 0, j = 0;
    while (j < e.n_nodes && e.nodes[j].idx < 0) { /* output changes sort first: -1 - I */
        int o = -1 - e.nodes[j].idx;
        if (o >= r.n_out) {
            *bad = 1;
            goto out;
        }
        r.out[o] = (struct jspan){e.nodes[j].def, e.nodes[j].len};
        j++;
    }
    while (i < a->n_nodes || j < e.n_nodes) {
        const struct jnode *x = i < a->n_nodes ? &a->nodes[i] : NULL;
        const struct jnode *y = j < e.n_nodes ? &e.nodes[j] : NULL;
        if (y && (!x || y->idx <= x->idx)) {
            int same = x && y->idx == x->idx;
            if (y->remove && !same) { /* removes a node that is not there */
                *bad = 1;
                goto out;
            }
            if (!y->remove)
                r.nodes[r.n_nodes++] = *y;
            i += same;
            j++;
        } else {
            r.nodes[r.n_nodes++] = *x;
            i++;
        }
    }
    res = jc_render(&r);
out:
    free(r.nodes);
    free(r.out);
    jc_free(&e);
    return res;
}

cgpc_status cgp_journal_enc_new(struct cgp_journal_enc **e, struct cgpc_err *err)
{
    if (!(*e = calloc(1, sizeof **e)))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "statistics journal encoder");
    return CGPC_OK;
}

void cgp_journal_enc_free(struct cgp_journal_enc *e)
{
    if (!e)
        return;
    jc_free(&e->prev);
    free(e);
}

/* Make `full` (a full token, owned) the previous circuit. 0, or -1/-2 as jc_parse. */
static int enc_set_prev(struct cgp_journal_enc *e, char *full)
{
    jc_free(&e->prev);
    e->has_prev = 0;
    int rc = jc_parse(&e->prev, full);
    e->has_prev = rc == 0;
    return rc;
}

char *cgp_journal_enc_next(struct cgp_journal_enc *e, const char *token)
{
    struct jcirc cur;
    char *copy = strdup(token), *field = NULL;
    if (!copy || jc_parse(&cur, copy) != 0) { /* spans into copy, nodes sorted by index */
        if (copy)
            jc_free(&cur);
        return NULL;
    }
    char *delta = e->has_prev ? jc_delta(&e->prev, &cur) : NULL;
    if (delta && strlen(delta) < strlen(token)) {
        field = delta;
    } else {
        free(delta);
        field = strdup(token); /* as the evolver wrote it: nodes in evaluation order */
    }
    jc_free(&e->prev);
    e->prev = cur;
    e->has_prev = 1;
    return field;
}

cgpc_status cgp_journal_enc_set(struct cgp_journal_enc *e, const char *circuit,
                                struct cgpc_err *err)
{
    char *copy = strdup(circuit);
    if (!copy)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "statistics journal encoder");
    if (enc_set_prev(e, copy) != 0) /* e->prev owns copy now */
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "statistics journal: the last circuit does not "
                         "parse");
    return CGPC_OK;
}

cgpc_status cgp_journal_read(const char *text, const char *name, cgp_journal_row_fn fn,
                             void *user, struct cgpc_err *err)
{
    static const char magic_v[] = "# cgpc-statistics v";
    int version = 1, line_no = 1;
    const char *p = text;
    if (strncmp(p, magic_v, sizeof magic_v - 1) == 0) {
        version = atoi(p + sizeof magic_v - 1);
        if (version != 2 && version != 3)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: statistics format version %d; this "
                             "cgpc reads versions 1 to 3 (a newer cgpc wrote it?)", name, version);
        p += strcspn(p, "\n");
        p += *p == '\n';
        line_no++;
    }
    const char *header = version >= 3 ? CGP_JOURNAL_HEADER : CGP_JOURNAL_HEADER_V2;
    size_t header_len = strlen(header);
    if (strncmp(p, header, header_len) != 0 || (p[header_len] != '\n' && p[header_len] != '\0'))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected the header '%s'", name, line_no,
                         header);
    struct cgp_journal_enc dec = {0}; /* the previous row's circuit */
    char *buf = NULL, *walk = NULL;
    size_t cap = 0;
    cgpc_status st = CGPC_OK;
    for (p += strcspn(p, "\n"); *p; ) {
        p += *p == '\n';
        line_no++;
        size_t n = strcspn(p, "\n");
        const char *line = p;
        p += n;
        if (n == 0)
            continue;
        int run;
        double thr;
        long long gen;
        const char *f = line;
        const int n_fields = CGP_JOURNAL_FIELDS(version);
        for (int k = 0; k < n_fields && f; k++) { /* the circuit is the last field */
            f = memchr(f, ',', (size_t)(line + n - f));
            f = f ? f + 1 : NULL;
        }
        if (n + 1 > cap) {
            char *nb = realloc(buf, n + 1);
            if (!nb) {
                st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: a line of %zu bytes", name, n);
                break;
            }
            buf = nb;
            cap = n + 1;
        }
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (!f || sscanf(buf, "%d,%lf,%lld,", &run, &thr, &gen) != 3) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected %d fields starting with run, "
                           "threshold, generation", name, line_no, n_fields + 1);
            break;
        }
        char *circ = buf + (f - line);
        size_t clen = n - (size_t)(f - line);
        circ[-1] = '\0'; /* buf: the fields before the circuit */
        if (version >= 2) {
            if (clen < 2 || circ[0] != '"' || circ[clen - 1] != '"') {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected the circuit in double "
                               "quotes", name, line_no);
                break;
            }
            circ[clen - 1] = '\0';
            circ++;
            char *full = NULL;
            int bad = 0, delta = circ[0] == '~', had_prev = dec.has_prev;
            if (delta && !had_prev)
                bad = 1;
            else
                full = delta ? jc_apply(&dec.prev, circ + 1, &bad) : strdup(circ);
            if (!bad && full && enc_set_prev(&dec, full) != 0)
                bad = 1;
            free(walk);
            walk = NULL;
            if (!bad && full && delta) /* the row's circuit in the evolver's node order */
                walk = jc_render_walk(&dec.prev, &bad);
            if (bad) {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: bad circuit%s", name, line_no,
                               delta && !had_prev ? " delta: no full circuit above it" : "");
                break;
            }
            if (!full || (delta && !walk)) {
                st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s:%d: circuit", name, line_no);
                break;
            }
            if (delta)
                circ = walk;
        }
        if (fn(user, buf, run, thr, (int64_t)gen, circ))
            break;
    }
    jc_free(&dec.prev);
    free(buf);
    free(walk);
    return st;
}

int cgp_journal_version(const char *text)
{
    static const char magic_v[] = "# cgpc-statistics v";
    if (strncmp(text, magic_v, sizeof magic_v - 1) == 0)
        return atoi(text + sizeof magic_v - 1);
    return strncmp(text, CGP_JOURNAL_HEADER_V2 "\n", sizeof CGP_JOURNAL_HEADER_V2) == 0 ? 1 : -1;
}
