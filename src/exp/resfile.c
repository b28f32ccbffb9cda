/* resfile.c - the residual-mode compressed file (resfile.h). */
#include "exp/resfile.h"

#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"
#include "common/fileio.h"
#include "energy/storage.h"

#define FIXED_BYTES 58 /* magic .. checksum */

static void put_le(unsigned char *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *b, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* The function set as "add,sub,..." (malloc'ed). */
static char *function_names(const struct cgp_fset *f)
{
    size_t cap = 1;
    for (int i = 0; i < f->n_ops; i++)
        cap += strlen(cgpc_op_name(f->ops[i])) + 1;
    char *s = malloc(cap), *q = s;
    if (!s)
        return NULL;
    *q = '\0';
    for (int i = 0; i < f->n_ops; i++)
        q += sprintf(q, "%s%s", i ? "," : "", cgpc_op_name(f->ops[i]));
    return s;
}

/* g's active circuit (depth-first topological order, as storage accounting decodes it) in
 * compact numbering: nodes[*n_active], outs[n_outputs]. */
static cgpc_status compact_circuit(const struct cgp_genome *g, struct energy_node **nodes,
                                   int *n_active, int32_t **outs, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    size_t nn = (size_t)s->n_nodes;
    uint32_t *stamp = calloc(nn, sizeof *stamp);
    int32_t *stack = malloc(2 * nn * sizeof *stack), *order = malloc(nn * sizeof *order);
    int32_t *pos = malloc(nn * sizeof *pos);
    *nodes = calloc(nn, sizeof **nodes);
    *outs = malloc(((size_t)s->n_outputs + 1) * sizeof **outs);
    cgpc_status st = CGPC_OK;
    if (!stamp || !stack || !order || !pos || !*nodes || !*outs) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "circuit of %d nodes", s->n_nodes);
        goto out;
    }
    int n = cgp_decode_active(s, g->genes, stamp, 1, stack, order);
    for (int i = 0; i < n; i++)
        pos[order[i]] = i;
    for (int i = 0; i < n; i++) {
        const int32_t *ng = g->genes + (size_t)order[i] * (A + 1);
        (*nodes)[i].op = ng[A];
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            (*nodes)[i].in[j] = ng[j] < ni ? ng[j] : ni + pos[ng[j] - ni];
    }
    const int32_t *og = g->genes + nn * (size_t)(A + 1);
    for (int o = 0; o < s->n_outputs; o++)
        (*outs)[o] = og[o] < ni ? og[o] : ni + pos[og[o] - ni];
    *n_active = n;
out:
    free(stamp);
    free(stack);
    free(order);
    free(pos);
    if (st != CGPC_OK) {
        free(*nodes);
        free(*outs);
        *nodes = NULL;
        *outs = NULL;
    }
    return st;
}

static int fset_index(const struct cgp_fset *f, int op)
{
    for (int i = 0; i < f->n_ops; i++)
        if (f->ops[i] == op)
            return i;
    return -1;
}

static void put_circuit(struct cpr_bitw *bw, const struct cgp_fset *f,
                        const struct energy_node *nodes, int n, int ni, const int32_t *outs,
                        int no)
{
    unsigned fbits = storage_bits_for_choices((uint64_t)f->n_ops);
    for (int k = 0; k < n; k++) {
        cpr_bitw_put(bw, (uint32_t)fset_index(f, nodes[k].op), (int)fbits);
        unsigned pin = storage_bits_for_choices((uint64_t)ni + (uint64_t)k);
        for (int j = 0; j < cgp_op_arity(nodes[k].op); j++)
            cpr_bitw_put(bw, (uint32_t)nodes[k].in[j], (int)pin);
    }
    unsigned obits = storage_bits_for_choices((uint64_t)ni + (uint64_t)n);
    for (int o = 0; o < no; o++)
        cpr_bitw_put(bw, (uint32_t)outs[o], (int)obits);
}

cgpc_status exp_resid_pack(const struct cgp_genome *g, const int8_t *w, const int8_t *p, size_t n,
                           int bound, const char *experiment, unsigned char **buf, size_t *len,
                           struct exp_resid_info *info, struct cgpc_err *err)
{
    memset(info, 0, sizeof *info);
    *buf = NULL;
    *len = 0;
    const struct cgp_shape *s = &g->shape;
    struct energy_node *nodes = NULL;
    int32_t *outs = NULL;
    int8_t *sym = malloc(n + 1);
    char *fnames = function_names(&g->fset);
    struct cpr_bitw bw;
    cpr_bitw_init(&bw);
    cgpc_status st = CGPC_OK;
    if (!sym || !fnames) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "residual of %zu weights", n);
        goto out;
    }
    if ((st = cpr_resid_plan(w, p, n, bound, sym, &info->code, err)) != CGPC_OK ||
        (st = compact_circuit(g, &nodes, &info->active, &outs, err)) != CGPC_OK ||
        (st = storage_circuit_bits(nodes, info->active, s->n_inputs, g->fset.n_ops,
                                   s->n_outputs, &info->circuit_bits, err)) != CGPC_OK)
        goto out;
    put_circuit(&bw, &g->fset, nodes, info->active, s->n_inputs, outs, s->n_outputs);
    if (bw.nbits != info->circuit_bits) {
        st = CGPC_FAIL(err, CGPC_ERR_INTERNAL, "circuit packed in %llu bits, accounted %llu",
                       (unsigned long long)bw.nbits, (unsigned long long)info->circuit_bits);
        goto out;
    }
    if ((st = cpr_resid_write(&info->code, sym, &bw, err)) != CGPC_OK)
        goto out;
    info->bound = bound;
    info->weights = n;
    info->stored_bits = info->circuit_bits + info->code.bits;
    uint64_t h = EXP_FNV1A64_INIT;
    for (size_t i = 0; i < n; i++)
        h = exp_fnv1a64_byte(h, (uint8_t)cgpc_resid_rebuild(p[i], sym[i], bound));
    info->checksum = h;
    size_t flen = strlen(fnames), xlen = experiment ? strlen(experiment) : 0;
    size_t payload = (size_t)((info->stored_bits + 7) / 8);
    info->header_bytes = FIXED_BYTES + 2 + flen + 4 + xlen;
    info->file_bytes = info->header_bytes + payload;
    if (flen > 0xffff || xlen > 0xffffffffu) {
        st = CGPC_FAIL(err, CGPC_ERR_RANGE, "function list or experiment text too long");
        goto out;
    }
    unsigned char *b = calloc((size_t)info->file_bytes, 1);
    if (!b) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%llu file bytes",
                       (unsigned long long)info->file_bytes);
        goto out;
    }
    memcpy(b, EXP_RESID_MAGIC, 8);
    put_le(b + 8, EXP_RESID_VERSION, 4);
    b[12] = (unsigned char)bound;
    put_le(b + 14, (uint64_t)s->n_inputs, 4);
    put_le(b + 18, (uint64_t)s->n_outputs, 4);
    put_le(b + 22, (uint64_t)info->active, 4);
    put_le(b + 26, n, 8);
    put_le(b + 34, info->circuit_bits, 8);
    put_le(b + 42, info->code.bits, 8);
    put_le(b + 50, info->checksum, 8);
    unsigned char *q = b + FIXED_BYTES;
    put_le(q, flen, 2);
    memcpy(q + 2, fnames, flen);
    q += 2 + flen;
    put_le(q, xlen, 4);
    if (xlen)
        memcpy(q + 4, experiment, xlen);
    q += 4 + xlen;
    if (payload)
        memcpy(q, bw.buf, payload);
    *buf = b;
    *len = (size_t)info->file_bytes;
out:
    free(sym);
    free(fnames);
    free(nodes);
    free(outs);
    cpr_bitw_free(&bw);
    return st;
}

void exp_resid_file_free(struct exp_resid_file *f)
{
    if (!f)
        return;
    free(f->functions);
    free(f->experiment);
    free(f->payload);
    cgp_genome_free(&f->circuit);
    memset(f, 0, sizeof *f);
}

#define BAD(...) do { st = CGPC_FAIL(err, CGPC_ERR_FORMAT, __VA_ARGS__); goto out; } while (0)

/* "add,sub" -> ops[]; the count, or -1 for an unknown or repeated name. */
static int parse_functions(const char *text, int32_t *ops)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t m = c ? (size_t)(c - p) : strlen(p);
        char name[32];
        if (m == 0 || m >= sizeof name || n >= CGPC_OP_COUNT)
            return -1;
        memcpy(name, p, m);
        name[m] = '\0';
        int op = cgpc_op_from_name(name);
        for (int i = 0; i < n; i++)
            if (ops[i] == op)
                return -1;
        if (op < 0)
            return -1;
        ops[n++] = op;
        p += m + (c ? 1 : 0);
        if (c && !*p)
            return -1;
    }
    return n;
}

/* The circuit from the payload's first circuit_bits bits. */
static cgpc_status read_circuit(struct exp_resid_file *f, const int32_t *ops, int n_ops,
                                struct cpr_bitr *br, const char *name, struct cgpc_err *err)
{
    const int ni = f->n_inputs, n = f->n_active;
    struct energy_node *nodes = calloc((size_t)n + 1, sizeof *nodes);
    int32_t *outs = malloc(((size_t)f->n_outputs + 1) * sizeof *outs);
    cgpc_status st = CGPC_OK;
    if (!nodes || !outs) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: circuit of %d nodes", name, n);
        goto out;
    }
    unsigned fbits = storage_bits_for_choices((uint64_t)n_ops);
    for (int k = 0; k < n; k++) {
        int64_t fi = cpr_bitr_get(br, (int)fbits);
        if (fi < 0 || fi >= n_ops)
            BAD("%s: circuit node %d: function index %lld of %d", name, k, (long long)fi, n_ops);
        nodes[k].op = ops[fi];
        unsigned pin = storage_bits_for_choices((uint64_t)ni + (uint64_t)k);
        for (int j = 0; j < cgp_op_arity(nodes[k].op); j++) {
            int64_t src = cpr_bitr_get(br, (int)pin);
            if (src < 0 || src >= ni + k)
                BAD("%s: circuit node %d: source %lld of %d", name, k, (long long)src, ni + k);
            nodes[k].in[j] = (int32_t)src;
        }
    }
    unsigned obits = storage_bits_for_choices((uint64_t)ni + (uint64_t)n);
    for (int o = 0; o < f->n_outputs; o++) {
        int64_t src = cpr_bitr_get(br, (int)obits);
        if (src < 0 || src >= ni + n)
            BAD("%s: circuit output %d: source %lld of %d", name, o, (long long)src, ni + n);
        outs[o] = (int32_t)src;
    }
    if (br->pos != f->circuit_bits)
        BAD("%s: circuit takes %llu bits, the header says %llu", name,
            (unsigned long long)br->pos, (unsigned long long)f->circuit_bits);
    int32_t all[CGPC_OP_COUNT + 1];
    memcpy(all, ops, (size_t)n_ops * sizeof *ops);
    int n_all = n_ops, n_nodes = n;
    if (n == 0) { /* a circuit of wires: one unused constant keeps the grid non-empty */
        int have = 0;
        for (int i = 0; i < n_ops; i++)
            have |= ops[i] == CGPC_OP_CONST0;
        nodes[n_nodes++].op = CGPC_OP_CONST0;
        if (!have)
            all[n_all++] = CGPC_OP_CONST0;
    }
    if ((st = cgp_genome_from_nodes(nodes, n_nodes, ni, outs, f->n_outputs, all, n_all,
                                    &f->circuit, err)) != CGPC_OK)
        cgpc_err_prefix(err, "%s", name);
out:
    free(nodes);
    free(outs);
    return st;
}

cgpc_status exp_resid_unpack(const unsigned char *buf, size_t len, const char *name,
                             struct exp_resid_file *f, struct cgpc_err *err)
{
    memset(f, 0, sizeof *f);
    cgpc_status st = CGPC_OK;
    int32_t ops[CGPC_OP_COUNT];
    if (len < FIXED_BYTES + 6 || memcmp(buf, EXP_RESID_MAGIC, 8) != 0)
        BAD("%s: not a cgpc residual file (magic \"%s\")", name, EXP_RESID_MAGIC);
    if (get_le(buf + 8, 4) != EXP_RESID_VERSION)
        BAD("%s: version %llu, this cgpc reads version %u", name,
            (unsigned long long)get_le(buf + 8, 4), EXP_RESID_VERSION);
    f->bound = buf[12];
    uint64_t ni = get_le(buf + 14, 4), no = get_le(buf + 18, 4), na = get_le(buf + 22, 4);
    if (f->bound > CGPC_RESID_MAX_BOUND || buf[13] != 0)
        BAD("%s: bound %d: expected 0..%d", name, f->bound, CGPC_RESID_MAX_BOUND);
    if (ni >= CGP_MAX_IO || no < 1 || no >= CGP_MAX_IO || na >= CGP_MAX_IO)
        BAD("%s: %llu inputs, %llu outputs, %llu nodes: out of range", name,
            (unsigned long long)ni, (unsigned long long)no, (unsigned long long)na);
    f->n_inputs = (int)ni;
    f->n_outputs = (int)no;
    f->n_active = (int)na;
    f->weights = get_le(buf + 26, 8);
    f->circuit_bits = get_le(buf + 34, 8);
    f->residual_bits = get_le(buf + 42, 8);
    f->checksum = get_le(buf + 50, 8);
    size_t at = FIXED_BYTES, flen = (size_t)get_le(buf + at, 2);
    if (flen > len - at - 2 - 4)
        BAD("%s: function list of %zu bytes passes the end", name, flen);
    if (!(f->functions = malloc(flen + 1)))
        BAD("%s: out of memory", name);
    memcpy(f->functions, buf + at + 2, flen);
    f->functions[flen] = '\0';
    at += 2 + flen;
    int n_ops = parse_functions(f->functions, ops);
    if (n_ops < 1 || strlen(f->functions) != flen)
        BAD("%s: function list '%.80s': expected ops.h names, comma-separated", name,
            f->functions);
    size_t xlen = (size_t)get_le(buf + at, 4);
    if (xlen > len - at - 4)
        BAD("%s: experiment text of %zu bytes passes the end", name, xlen);
    if (!(f->experiment = malloc(xlen + 1)))
        BAD("%s: out of memory", name);
    memcpy(f->experiment, buf + at + 4, xlen);
    f->experiment[xlen] = '\0';
    at += 4 + xlen;
    if (f->circuit_bits > UINT64_MAX / 2 || f->residual_bits > UINT64_MAX / 2 ||
        (f->circuit_bits + f->residual_bits + 7) / 8 != len - at)
        BAD("%s: payload of %zu bytes, the header says %llu + %llu bits", name, len - at,
            (unsigned long long)f->circuit_bits, (unsigned long long)f->residual_bits);
    if (f->weights > f->residual_bits) /* every residual takes at least one bit */
        BAD("%s: %llu weights in %llu residual bits", name, (unsigned long long)f->weights,
            (unsigned long long)f->residual_bits);
    if (!(f->payload = malloc(len - at + 1)))
        BAD("%s: out of memory", name);
    memcpy(f->payload, buf + at, len - at);
    struct cpr_bitr br;
    cpr_bitr_init(&br, f->payload, f->circuit_bits);
    st = read_circuit(f, ops, n_ops, &br, name, err);
out:
    if (st != CGPC_OK)
        exp_resid_file_free(f);
    return st;
}

cgpc_status exp_resid_rebuild(const struct exp_resid_file *f, const int8_t *p, int8_t *out,
                              struct cgpc_err *err)
{
    struct cpr_bitr br;
    cpr_bitr_init(&br, f->payload, f->circuit_bits + f->residual_bits);
    br.pos = f->circuit_bits;
    uint64_t used;
    cgpc_status st = cpr_resid_read(&br, (size_t)f->weights, f->bound, p, out, &used, err);
    if (st != CGPC_OK)
        return st;
    if (used != f->residual_bits)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "residual takes %llu bits, the header says %llu",
                         (unsigned long long)used, (unsigned long long)f->residual_bits);
    uint64_t h = EXP_FNV1A64_INIT;
    for (uint64_t i = 0; i < f->weights; i++)
        h = exp_fnv1a64_byte(h, (uint8_t)out[i]);
    if (h != f->checksum)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "rebuilt weights have checksum %016llx, the file "
                         "says %016llx", (unsigned long long)h, (unsigned long long)f->checksum);
    return CGPC_OK;
}

cgpc_status exp_resid_gather(const struct exp_setup *s, const struct cgp_genome *g, int8_t **w,
                             int8_t **p, size_t *n, struct cgpc_err *err)
{
    const struct exp_selection *sel = &s->sel;
    size_t total = (size_t)sel->n_items * (size_t)sel->n_outputs;
    int8_t *outputs = malloc(total + 1);
    *w = malloc(total + 1);
    *p = malloc(total + 1);
    *n = 0;
    cgpc_status st = CGPC_OK;
    if (!outputs || !*w || !*p) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%zu outputs", total);
        goto out;
    }
    if ((st = cgp_eval_reference(g, &s->ds, outputs, err)) != CGPC_OK)
        goto out;
    for (int d = 0; d < sel->n_items; d++)
        for (int o = 0; o < sel->n_outputs; o++) {
            const struct exp_ref *r = &sel->outputs[(size_t)d * sel->n_outputs + o];
            if (r->kind == EXP_REF_DONT_CARE)
                continue;
            if (r->kind != EXP_REF_WEIGHT) {
                st = CGPC_FAIL(err, CGPC_ERR_ARG, "residual mode codes weights: output %d of "
                               "item %d is a literal", o, d);
                goto out;
            }
            (*w)[*n] = s->codes[r->tensor][r->offset];
            (*p)[*n] = outputs[(size_t)o * sel->n_items + d];
            (*n)++;
        }
out:
    free(outputs);
    if (st != CGPC_OK) {
        free(*w);
        free(*p);
        *w = *p = NULL;
    }
    return st;
}

cgpc_status exp_resid_encode(const struct exp_setup *s, const struct cgp_genome *g, int bound,
                             const char *experiment, const char *path,
                             struct exp_resid_info *info, struct cgpc_err *err)
{
    int8_t *w, *p;
    size_t n;
    unsigned char *buf = NULL;
    size_t len = 0;
    cgpc_status st = exp_resid_gather(s, g, &w, &p, &n, err);
    if (st != CGPC_OK)
        return st;
    st = exp_resid_pack(g, w, p, n, bound, experiment, &buf, &len, info, err);
    if (st == CGPC_OK && path)
        st = cgpc_write_file_atomic(path, buf, len, err);
    free(buf);
    free(w);
    free(p);
    return st;
}

cgpc_status exp_resid_load(const char *path, struct exp_resid_file *f, struct cgpc_err *err)
{
    unsigned char *buf;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &buf, &len, err);
    if (st != CGPC_OK)
        return st;
    st = exp_resid_unpack(buf, len, path, f, err);
    free(buf);
    return st;
}

cgpc_status exp_resid_decode(struct exp_setup *s, const struct exp_resid_file *f,
                             int64_t *written, struct cgpc_err *err)
{
    const struct exp_selection *sel = &s->sel;
    *written = 0;
    if (f->circuit.shape.n_inputs != s->ds.n_inputs || f->n_outputs != s->ds.n_outputs)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "the file's circuit has %d inputs and %d outputs, "
                         "its experiment selects %d and %d", f->circuit.shape.n_inputs,
                         f->n_outputs, s->ds.n_inputs, s->ds.n_outputs);
    for (int d = 0; d < sel->n_items; d++) /* nothing of the original outputs survives */
        for (int o = 0; o < sel->n_outputs; o++) {
            const struct exp_ref *r = &sel->outputs[(size_t)d * sel->n_outputs + o];
            if (r->kind == EXP_REF_WEIGHT)
                s->codes[r->tensor][r->offset] = 0;
        }
    int8_t *w, *p, *out = NULL;
    size_t n;
    cgpc_status st = exp_resid_gather(s, &f->circuit, &w, &p, &n, err);
    if (st != CGPC_OK)
        return st;
    if (n != f->weights) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "the file codes %llu weights, its experiment "
                       "selects %zu", (unsigned long long)f->weights, n);
        goto out;
    }
    if (!(out = malloc(n + 1))) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%zu weights", n);
        goto out;
    }
    if ((st = exp_resid_rebuild(f, p, out, err)) != CGPC_OK)
        goto out;
    size_t i = 0;
    for (int d = 0; d < sel->n_items; d++)
        for (int o = 0; o < sel->n_outputs; o++) {
            const struct exp_ref *r = &sel->outputs[(size_t)d * sel->n_outputs + o];
            if (r->kind == EXP_REF_WEIGHT)
                s->codes[r->tensor][r->offset] = out[i++];
        }
    *written = (int64_t)i;
out:
    free(w);
    free(p);
    free(out);
    return st;
}

cgpc_status exp_resid_open(const char *path, const char *model_path, struct exp_resid_file *f,
                           struct exp_setup *s, int64_t *written, struct cgpc_err *err)
{
    memset(s, 0, sizeof *s);
    *written = 0;
    cgpc_status st = exp_resid_load(path, f, err);
    if (st != CGPC_OK)
        return st;
    struct exp_config cfg;
    exp_config_defaults(&cfg);
    char *text = strdup(f->experiment);
    if (!text)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: experiment text", path);
    st = exp_config_parse(&cfg, text, path, err);
    free(text);
    if (st == CGPC_OK && model_path)
        st = exp_config_set(&cfg, "model", model_path, "--model", err);
    if (st == CGPC_OK)
        st = exp_config_validate(&cfg, err);
    if (st == CGPC_OK)
        st = exp_setup_init(s, &cfg, err);
    if (st == CGPC_OK)
        st = exp_resid_decode(s, f, written, err);
    if (st != CGPC_OK)
        cgpc_err_prefix(err, "%s", path);
    return st;
}

cgpc_status exp_resid_baseline(const struct exp_setup *s, int bound, struct cpr_resid_code *c,
                               struct cgpc_err *err)
{
    const struct exp_selection *sel = &s->sel;
    size_t total = (size_t)sel->n_items * (size_t)sel->n_outputs, n = 0;
    int8_t *w = malloc(total + 1), *zero = calloc(total + 1, 1);
    cgpc_status st = CGPC_OK;
    if (!w || !zero) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%zu outputs", total);
        goto out;
    }
    for (size_t k = 0; k < total; k++)
        if (sel->outputs[k].kind == EXP_REF_WEIGHT)
            w[n++] = s->codes[sel->outputs[k].tensor][sel->outputs[k].offset];
    st = cpr_resid_plan(w, zero, n, bound, NULL, c, err);
out:
    free(w);
    free(zero);
    return st;
}

/* The experiment text as stored in a residual file: comments (provenance such as "# from PATH"
 * and "# --rows") and blank lines removed in place, so that the file depends on the
 * experiment's values only (a PBS merge and one train write the same bytes). Values never hold
 * '#' (exp_config_write refuses them). */
static void experiment_strip_comments(char *text)
{
    char *out = text;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *hash = memchr(line, '#', n);
        size_t keep = hash ? (size_t)(hash - line) : n;
        while (keep > 0 && (line[keep - 1] == ' ' || line[keep - 1] == '\t' ||
                            line[keep - 1] == '\r'))
            keep--;
        if (keep > 0) {
            memmove(out, line, keep);
            out += keep;
            *out++ = '\n';
        }
        line += n + (end ? 1 : 0);
    }
    *out = '\0';
}

cgpc_status exp_resid_write_dir(const struct exp_setup *s, const char *dir,
                                int (*row)(void *user, const struct exp_resid_row *r),
                                void *user, struct cgpc_err *err)
{
    struct cgp_result_row *results = NULL;
    int n_results = 0;
    unsigned char *text = NULL;
    size_t text_len;
    struct cgp_genome g = {0};
    char path[4400];
    cgp_experiment_copy_path(path, sizeof path, dir);
    cgpc_status st = cgpc_read_file(path, &text, &text_len, err);
    if (st == CGPC_OK)
        st = cgp_results_load(dir, &results, &n_results, err);
    char *experiment = (char *)text;
    if (st == CGPC_OK && strlen(experiment) != text_len)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: a NUL byte in the text", path);
    if (st == CGPC_OK)
        experiment_strip_comments(experiment);
    for (int i = 0; i < n_results && st == CGPC_OK; i++) {
        struct exp_resid_row r;
        memset(&r, 0, sizeof r);
        r.run = results[i].run;
        r.bound = (int)results[i].threshold;
        cgp_rundir_residual_name(r.file, sizeof r.file, r.run, results[i].threshold);
        if ((st = cgp_rundir_path(path, sizeof path, dir, r.file, err)) != CGPC_OK ||
            (st = cgp_best_load(dir, &results[i], &g, err)) != CGPC_OK ||
            (st = exp_resid_encode(s, &g, r.bound, experiment, path, &r.info, err)) != CGPC_OK ||
            (st = exp_resid_baseline(s, r.bound, &r.plain, err)) != CGPC_OK)
            break;
        cgp_genome_free(&g);
        if (row && row(user, &r))
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
    }
    cgp_genome_free(&g);
    free(results);
    free(text);
    return st;
}
