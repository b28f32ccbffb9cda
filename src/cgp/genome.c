/* genome.c - grid shape, function set, random genes, the "cgpc-chromosome v1" text format. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "cgp/text.h"
#include "common/fileio.h"
#include "common/parallel.h"
#include "common/parse.h"

#define CGP_CHR_MAGIC "cgpc-chromosome v1"

void cgp_shape_make(struct cgp_shape *s, int rows, int cols, int levels_back, int n_inputs,
                    int n_outputs, int node_arity)
{
    s->rows = rows;
    s->cols = cols;
    s->levels_back = levels_back;
    s->n_inputs = n_inputs;
    s->n_outputs = n_outputs;
    s->node_arity = node_arity;
    s->n_nodes = rows * cols;
    s->n_genes = s->n_nodes * (node_arity + 1) + n_outputs;
}

void cgp_fset_make(struct cgp_fset *f, const int32_t *ops, int n_ops)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < n_ops; i++) {
        f->ops[f->n_ops++] = ops[i];
        if (cgp_op_arity(ops[i]) == 0)
            f->nullary[f->n_nullary++] = ops[i];
    }
}

cgpc_status cgp_genome_init(struct cgp_genome *g, const struct cgp_shape *s,
                            const struct cgp_fset *f, struct cgpc_err *err)
{
    memset(g, 0, sizeof *g);
    g->shape = *s;
    g->fset = *f;
    g->genes = cgpc_calloc_lines((size_t)s->n_genes, sizeof *g->genes); /* own cache lines */
    if (!g->genes)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "genome of %d genes", s->n_genes);
    return CGPC_OK;
}

void cgp_genome_free(struct cgp_genome *g)
{
    if (!g)
        return;
    free(g->genes);
    memset(g, 0, sizeof *g);
}

/* Sources a node input gene may take: n_prim primary inputs, then n_back nodes from column
 * first_col on. */
static void node_sources(const struct cgp_shape *s, int node, int *n_prim, int *first_col,
                         int *n_back)
{
    int c = node / s->rows;
    int lo = c - s->levels_back < 0 ? 0 : c - s->levels_back;
    *n_prim = c <= s->levels_back ? s->n_inputs : 0;
    *first_col = lo;
    *n_back = (c - lo) * s->rows;
}

/* Multiply-shift: u uniform in [0, 2^32) -> [0, n); bias at most n / 2^32. */
static inline uint32_t scale_u32(uint32_t u, uint32_t n) { return (uint32_t)(((uint64_t)u * n) >> 32); }

int32_t cgp_gene_value(const struct cgp_shape *s, const struct cgp_fset *f, int gene, uint32_t u)
{
    const int A = s->node_arity;
    int node_genes = s->n_nodes * (A + 1);
    if (gene >= node_genes)
        return (int32_t)scale_u32(u, (uint32_t)(s->n_inputs + s->n_nodes));
    int node = gene / (A + 1), j = gene % (A + 1);
    int n_prim, first, n_back;
    node_sources(s, node, &n_prim, &first, &n_back);
    if (j == A) {
        if (n_prim + n_back == 0)
            return f->nullary[scale_u32(u, (uint32_t)f->n_nullary)];
        return f->ops[scale_u32(u, (uint32_t)f->n_ops)];
    }
    if (n_prim + n_back == 0)
        return 0; /* never read: the node is nullary */
    int r = (int)scale_u32(u, (uint32_t)(n_prim + n_back));
    return r < n_prim ? r : s->n_inputs + first * s->rows + (r - n_prim);
}

int32_t cgp_gene_random(const struct cgp_shape *s, const struct cgp_fset *f, int gene,
                        cgpc_rng *rng)
{
    return cgp_gene_value(s, f, gene, (uint32_t)(cgpc_rng_u64(rng) >> 32));
}

void cgp_genome_randomize(struct cgp_genome *g, cgpc_rng *rng)
{
    for (int i = 0; i < g->shape.n_genes; i++)
        g->genes[i] = cgp_gene_random(&g->shape, &g->fset, i, rng);
}

cgpc_status cgp_genome_check(const struct cgp_genome *g, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity;
    for (int k = 0; k < s->n_nodes; k++) {
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        int op = ng[A], allowed = 0;
        for (int i = 0; i < g->fset.n_ops; i++)
            allowed |= g->fset.ops[i] == op;
        if (!allowed)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "node %d: operator %d (%s) is not in the "
                             "function set", k, op, cgpc_op_name(op) ? cgpc_op_name(op) : "?");
        if (cgp_op_arity(op) > A)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "node %d: %s needs %d inputs, nodes have %d",
                             k, cgpc_op_name(op), cgp_op_arity(op), A);
        int n_prim, first, n_back;
        node_sources(s, k, &n_prim, &first, &n_back);
        /* every input gene, also those the operator ignores: a mutation of the operator
         * makes them live (a node without any source holds 0 there, as cgp_gene_value) */
        for (int j = 0; j < A; j++) {
            int src = ng[j];
            int ok = (src >= 0 && src < n_prim) ||
                     (src >= s->n_inputs + first * s->rows &&
                      src < s->n_inputs + first * s->rows + n_back) ||
                     (n_prim + n_back == 0 && src == 0 && cgp_op_arity(op) == 0);
            if (!ok)
                return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                                 "node %d (column %d): input %d = %d is out of reach (levels-back "
                                 "%d, %d inputs)", k, k / s->rows, j, src, s->levels_back,
                                 s->n_inputs);
        }
    }
    for (int o = 0; o < s->n_outputs; o++) {
        int src = g->genes[(size_t)s->n_nodes * (A + 1) + o];
        if (src < 0 || src >= s->n_inputs + s->n_nodes)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "output %d = %d: expected a source in [0, %d)",
                             o, src, s->n_inputs + s->n_nodes);
    }
    return CGPC_OK;
}

cgpc_status cgp_genome_write(const struct cgp_genome *g, const char *comment, FILE *fp,
                             struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity;
    fprintf(fp, CGP_CHR_MAGIC "\nrows %d\ncols %d\nlevels-back %d\ninputs %d\noutputs %d\n"
            "node-inputs %d\nfunctions ", s->rows, s->cols, s->levels_back, s->n_inputs,
            s->n_outputs, A);
    for (int i = 0; i < g->fset.n_ops; i++)
        fprintf(fp, "%s%s", i ? "," : "", cgpc_op_name(g->fset.ops[i]));
    fputc('\n', fp);
    if (comment) {
        const char *p = comment;
        while (*p) {
            const char *nl = strchr(p, '\n');
            int n = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(fp, "# %.*s\n", n, p);
            p += n + (nl != NULL);
        }
    }
    fprintf(fp, "# one line per node: node index, %d input sources (0..%d = inputs, then nodes), "
            "operator\nnodes\n", A, s->n_inputs - 1);
    /* one fwrite per node line, the numbers formatted here: fprintf per number took ~2.5 ms
     * for a 256x31 grid, on every stage end (best file) */
    char line[12 * 5 + 48]; /* node, at most 4 sources (node-inputs is 2 or 4), operator */
    CGPC_ASSERT(A <= 4);
    for (int k = 0; k < s->n_nodes; k++) {
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        char *e = cgpc_format_i32(line, k);
        for (int j = 0; j < A; j++) {
            *e++ = ' ';
            e = cgpc_format_i32(e, ng[j]);
        }
        const char *op = cgpc_op_name(ng[A]);
        size_t n = strlen(op);
        *e++ = ' ';
        if (n > 32) /* no operator name is that long */
            n = 32;
        memcpy(e, op, n);
        e += n;
        *e++ = '\n';
        fwrite(line, 1, (size_t)(e - line), fp);
    }
    fprintf(fp, "outputs");
    for (int o = 0; o < s->n_outputs; o++)
        fprintf(fp, " %d", g->genes[(size_t)s->n_nodes * (A + 1) + o]);
    fprintf(fp, "\nend\n");
    if (ferror(fp))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the chromosome failed");
    return CGPC_OK;
}

cgpc_status cgp_genome_save(const struct cgp_genome *g, const char *comment, const char *path,
                            struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st != CGPC_OK)
        return st;
    if ((st = cgp_genome_write(g, comment, af.fp, err)) != CGPC_OK) {
        cgpc_atomic_abort(&af);
        cgpc_err_prefix(err, "%s", path);
        return st;
    }
    return cgpc_atomic_close(&af, err);
}

cgpc_status cgp_genome_parse(struct cgp_genome *g, const char *text, const char *name,
                             struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    memset(g, 0, sizeof *g);
    char *copy = strdup(text), *cursor = copy, *line;
    int ln = 0, rows, cols, lb, ni, no, A;
    if (!copy)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: copy", name);
    line = cgp_text_line(&cursor, &ln);
    if (!line || strcmp(line, CGP_CHR_MAGIC) != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected the header '" CGP_CHR_MAGIC
                       "' (not a cgpc chromosome, or from another version)", name, ln);
        goto out;
    }
    if ((st = cgp_text_key_int(&cursor, &ln, name, "rows", 1, 1 << 20, &rows, err)) ||
        (st = cgp_text_key_int(&cursor, &ln, name, "cols", 1, 1 << 20, &cols, err)) ||
        (st = cgp_text_key_int(&cursor, &ln, name, "levels-back", 1, 1 << 20, &lb, err)) ||
        (st = cgp_text_key_int(&cursor, &ln, name, "inputs", 0, CGP_MAX_IO, &ni, err)) ||
        (st = cgp_text_key_int(&cursor, &ln, name, "outputs", 1, CGP_MAX_IO, &no, err)) ||
        (st = cgp_text_key_int(&cursor, &ln, name, "node-inputs", 2, 4, &A, err)))
        goto out;
    if ((int64_t)rows * cols > (1 << 24) || (A != 2 && A != 4)) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: grid %dx%d with %d node inputs: too large or "
                       "node-inputs not 2 or 4", name, rows, cols, A);
        goto out;
    }
    line = cgp_text_line(&cursor, &ln);
    if (!line || strncmp(line, "functions ", 10) != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected 'functions name,name,...'", name, ln);
        goto out;
    }
    int32_t ops[CGPC_OP_COUNT];
    int n_ops = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line + 10, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        int op = cgpc_op_from_name(tok);
        if (op < 0 || n_ops >= CGPC_OP_COUNT) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: unknown or repeated operator '%s'", name,
                           ln, tok);
            goto out;
        }
        ops[n_ops++] = op;
    }
    struct cgp_shape s;
    struct cgp_fset f;
    cgp_shape_make(&s, rows, cols, lb, ni, no, A);
    cgp_fset_make(&f, ops, n_ops);
    if ((st = cgp_genome_init(g, &s, &f, err)) != CGPC_OK)
        goto out;
    line = cgp_text_line(&cursor, &ln);
    if (!line || strcmp(line, "nodes") != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected 'nodes'", name, ln);
        goto out;
    }
    for (int k = 0; k < s.n_nodes; k++) {
        line = cgp_text_line(&cursor, &ln);
        int32_t *ng = g->genes + (size_t)k * (A + 1);
        char *tok[6] = {0};
        int nt = 0;
        save = NULL;
        for (char *t = line ? strtok_r(line, " \t", &save) : NULL; t && nt < 6;
             t = strtok_r(NULL, " \t", &save))
            tok[nt++] = t;
        int idx = -1;
        if (nt != A + 2 || cgpc_parse_int(tok[0], 0, s.n_nodes - 1, &idx, NULL) != CGPC_OK ||
            idx != k) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected node line '%d <%d sources> "
                           "<operator>'", name, ln, k, A);
            goto out;
        }
        for (int j = 0; j < A; j++)
            if (cgpc_parse_int(tok[1 + j], 0, ni + s.n_nodes, &ng[j], err) != CGPC_OK) {
                cgpc_err_prefix(err, "%s:%d: node %d input %d", name, ln, k, j);
                st = CGPC_ERR_FORMAT;
                goto out;
            }
        if ((ng[A] = cgpc_op_from_name(tok[A + 1])) < 0) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: node %d: unknown operator '%s'", name, ln,
                           k, tok[A + 1]);
            goto out;
        }
    }
    line = cgp_text_line(&cursor, &ln);
    if (!line || strncmp(line, "outputs", 7) != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected 'outputs' and %d sources", name, ln,
                       no);
        goto out;
    }
    save = NULL;
    int o = 0;
    for (char *t = strtok_r(line + 7, " \t", &save); t; t = strtok_r(NULL, " \t", &save), o++) {
        if (o >= no || cgpc_parse_int(t, 0, ni + s.n_nodes - 1,
                                      &g->genes[(size_t)s.n_nodes * (A + 1) + o], NULL)) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: output %d: '%s' is not a source in "
                           "[0, %d) or there are more than %d outputs", name, ln, o, t,
                           ni + s.n_nodes, no);
            goto out;
        }
    }
    if (o != no) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %d output sources, expected %d", name, ln, o,
                       no);
        goto out;
    }
    line = cgp_text_line(&cursor, &ln);
    if (!line || strcmp(line, "end") != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected 'end' (truncated file?)", name, ln);
        goto out;
    }
    if ((st = cgp_genome_check(g, err)) != CGPC_OK)
        cgpc_err_prefix(err, "%s", name);
out:
    if (st != CGPC_OK)
        cgp_genome_free(g);
    free(copy);
    return st;
}

cgpc_status cgp_genome_load(struct cgp_genome *g, const char *path, struct cgpc_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    memset(g, 0, sizeof *g);
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st == CGPC_OK)
        st = cgp_genome_parse(g, (const char *)data, path, err);
    free(data);
    return st;
}

cgpc_status cgp_genome_expand_slots(const struct cgp_genome *g, const int32_t *slot_of,
                                    int n_outputs, struct cgp_genome *out, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    struct cgp_shape es;
    cgp_shape_make(&es, s->rows, s->cols, s->levels_back, s->n_inputs, n_outputs, s->node_arity);
    cgpc_status st = cgp_genome_init(out, &es, &g->fset, err);
    if (st != CGPC_OK)
        return st;
    size_t node_genes = (size_t)s->n_nodes * (s->node_arity + 1);
    memcpy(out->genes, g->genes, node_genes * sizeof *g->genes);
    for (int o = 0; o < n_outputs; o++) {
        if (slot_of[o] < 0 || slot_of[o] >= s->n_outputs) {
            cgp_genome_free(out);
            return CGPC_FAIL(err, CGPC_ERR_ARG, "output %d: slot %d of %d", o, slot_of[o],
                             s->n_outputs);
        }
        out->genes[node_genes + o] = g->genes[node_genes + slot_of[o]];
    }
    return CGPC_OK;
}
