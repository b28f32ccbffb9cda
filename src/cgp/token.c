/* token.c - the one-token form of a circuit ("n12=add(i0,n5);n40=shr1(n12);out=n40,i3", the
 * `circuit` column of statistics journals, Pareto archives and checkpoints): its writer and,
 * beside it, its parser, which turns a token back into a genome for the engine's evaluators. */
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "common/parse.h"

char *cgp_circuit_token(const struct cgp_genome *g, const int32_t *order, int n_active)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    size_t cap = (size_t)(n_active + 1) * 64 + (size_t)s->n_outputs * 12 + 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = 0;
    for (int i = 0; i < n_active; i++) {
        int k = order[i];
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        len += (size_t)snprintf(buf + len, cap - len, "n%d=%s(", k, cgpc_op_name(ng[A]));
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            len += (size_t)snprintf(buf + len, cap - len, "%s%c%d", j ? "," : "",
                                    ng[j] < ni ? 'i' : 'n', ng[j] < ni ? ng[j] : ng[j] - ni);
        len += (size_t)snprintf(buf + len, cap - len, ");");
    }
    len += (size_t)snprintf(buf + len, cap - len, "out=");
    const int32_t *out = g->genes + (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%c%d", o ? "," : "",
                                out[o] < ni ? 'i' : 'n', out[o] < ni ? out[o] : out[o] - ni);
    return buf;
}

/* One parsed node: operator and sources (inputs 0..n_inputs-1, node k as n_inputs + k). */
/* "i3" -> 3; "n12" -> n_inputs + position of the node named 12 among the first n_nodes. */
static int token_source(const char *s, size_t len, int n_inputs, const int64_t *names,
                        int n_nodes)
{
    if (len < 2 || len > 20 || (s[0] != 'i' && s[0] != 'n'))
        return -1;
    char buf[24];
    memcpy(buf, s + 1, len - 1);
    buf[len - 1] = '\0';
    int64_t v;
    if (cgpc_parse_i64(buf, 0, INT32_MAX, &v, NULL) != CGPC_OK)
        return -1;
    if (s[0] == 'i')
        return v < n_inputs ? (int)v : -1;
    for (int k = 0; k < n_nodes; k++)
        if (names[k] == v)
            return n_inputs + k;
    return -1;
}

/* "a,b,c" between p and stop: sources into in[] (at most cap); returns the count or -1. */
static int token_sources(const char *p, const char *stop, int n_inputs, const int64_t *names,
                         int n_nodes, int32_t *in, int cap)
{
    int got = 0;
    while (p < stop) {
        const char *comma = memchr(p, ',', (size_t)(stop - p));
        size_t m = comma ? (size_t)(comma - p) : (size_t)(stop - p);
        int src = got < cap ? token_source(p, m, n_inputs, names, n_nodes) : -1;
        if (src < 0)
            return -1;
        in[got++] = src;
        p += m + (comma ? 1 : 0);
    }
    return got;
}

#define TOKEN_FAIL(...) do { st = CGPC_FAIL(err, CGPC_ERR_FORMAT, __VA_ARGS__); goto out; } while (0)

cgpc_status cgp_circuit_token_parse(const char *token, int n_inputs, struct cgp_genome *g,
                                    struct cgpc_err *err)
{
    memset(g, 0, sizeof *g);
    size_t len = strlen(token);
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += token[i] == ';' || token[i] == ',';
    struct energy_node *nodes = calloc(cap, sizeof *nodes);
    int64_t *names = calloc(cap, sizeof *names);
    int32_t *outs = calloc(cap, sizeof *outs), ops[CGPC_OP_COUNT];
    int n_nodes = 0, n_outs = -1, n_ops = 0, seen_op[CGPC_OP_COUNT] = {0};
    cgpc_status st = CGPC_OK;
    if (!nodes || !names || !outs)
        TOKEN_FAIL("circuit: out of memory");
    for (const char *p = token; *p;) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (!strncmp(p, "out=", 4)) {
            if (n_outs >= 0 || end)
                TOKEN_FAIL("circuit: expected one 'out=' list at the end");
            n_outs = token_sources(p + 4, p + n, n_inputs, names, n_nodes, outs, (int)cap);
            if (n_outs < 1)
                TOKEN_FAIL("circuit: bad output list '%.*s'", (int)(n > 80 ? 80 : n), p);
        } else { /* nK=op(a,b,...) */
            const char *eq = memchr(p, '=', n), *open = memchr(p, '(', n);
            const char *close = n && p[n - 1] == ')' ? p + n - 1 : NULL;
            char opname[32], num[24];
            if (!eq || !open || !close || open < eq || p[0] != 'n' ||
                (size_t)(open - eq - 1) >= sizeof opname || (size_t)(eq - p - 1) >= sizeof num)
                TOKEN_FAIL("circuit: bad node '%.*s'", (int)(n > 80 ? 80 : n), p);
            memcpy(opname, eq + 1, (size_t)(open - eq - 1));
            opname[open - eq - 1] = '\0';
            memcpy(num, p + 1, (size_t)(eq - p - 1));
            num[eq - p - 1] = '\0';
            struct energy_node *nd = &nodes[n_nodes];
            int64_t name;
            nd->op = cgpc_op_from_name(opname);
            if (nd->op < 0 || cgpc_parse_i64(num, 0, INT32_MAX, &name, NULL) != CGPC_OK)
                TOKEN_FAIL("circuit: bad node '%.*s'", (int)(n > 80 ? 80 : n), p);
            for (int k = 0; k < n_nodes; k++)
                if (names[k] == name)
                    TOKEN_FAIL("circuit: node n%lld defined twice", (long long)name);
            int32_t in[CGPC_OP_MAX_ARITY];
            int got = token_sources(open + 1, close, n_inputs, names, n_nodes, in,
                                    CGPC_OP_MAX_ARITY);
            if (got != cgp_op_arity(nd->op))
                TOKEN_FAIL("circuit: %s takes %d inputs: '%.*s'", opname, cgp_op_arity(nd->op),
                           (int)(n > 80 ? 80 : n), p);
            for (int j = 0; j < got; j++)
                nd->in[j] = in[j];
            if (!seen_op[nd->op]++)
                ops[n_ops++] = nd->op;
            names[n_nodes++] = name;
        }
        p += n + (end ? 1 : 0);
    }
    if (n_outs < 0)
        TOKEN_FAIL("circuit: no 'out=' list");
    if (n_nodes == 0) { /* a circuit of wires: one unused constant keeps the grid non-empty */
        nodes[n_nodes++].op = CGPC_OP_CONST0;
        if (!seen_op[CGPC_OP_CONST0]++)
            ops[n_ops++] = CGPC_OP_CONST0;
    }
    st = cgp_genome_from_nodes(nodes, n_nodes, n_inputs, outs, n_outs, ops, n_ops, g, err);
out:
    free(nodes);
    free(names);
    free(outs);
    return st;
}

cgpc_status cgp_genome_from_nodes(const struct energy_node *nodes, int n_nodes, int n_inputs,
                                  const int32_t *outs, int n_outs, const int32_t *ops, int n_ops,
                                  struct cgp_genome *g, struct cgpc_err *err)
{
    memset(g, 0, sizeof *g);
    int arity = 2;
    for (int i = 0; i < n_ops; i++)
        arity = cgp_op_arity(ops[i]) > arity ? cgp_op_arity(ops[i]) : arity;
    /* one row, one node per column, full connectivity: the nodes in the order given */
    struct cgp_shape shape;
    cgp_shape_make(&shape, 1, n_nodes, n_nodes, n_inputs, n_outs, arity);
    struct cgp_fset fset;
    cgp_fset_make(&fset, ops, n_ops);
    cgpc_status st = cgp_genome_init(g, &shape, &fset, err);
    if (st != CGPC_OK)
        return st;
    for (int k = 0; k < n_nodes; k++) {
        int32_t *ng = g->genes + (size_t)k * (arity + 1);
        int used = cgp_op_arity(nodes[k].op);
        for (int j = 0; j < arity; j++) /* unused genes: a valid source all the same */
            ng[j] = j < used ? nodes[k].in[j] : n_inputs ? 0 : k ? n_inputs + k - 1 : 0;
        ng[arity] = nodes[k].op;
    }
    memcpy(g->genes + (size_t)n_nodes * (arity + 1), outs, (size_t)n_outs * sizeof *outs);
    if ((st = cgp_genome_check(g, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "circuit");
        cgp_genome_free(g);
    }
    return st;
}
