/* storage.c - stored parts of a compressed model, references, circuit bits, energy from bits
 * (model and rules in storage.h and docs/ARCHITECTURE.md "Honest accounting"). */
#include "energy/storage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[STORAGE_KIND_COUNT] = {
    "weights", "float_weights", "bias",    "scale",   "codebook",
    "index",   "sparse_index",  "entropy_table", "circuit", "residual",
};

const char *storage_kind_name(enum storage_kind kind)
{
    return (unsigned)kind < STORAGE_KIND_COUNT ? kind_names[kind] : "?";
}

void storage_model_init(struct storage_model *m)
{
    memset(m, 0, sizeof *m);
}

void storage_model_free(struct storage_model *m)
{
    if (!m)
        return;
    free(m->parts);
    memset(m, 0, sizeof *m);
}

cgpc_status storage_model_copy(struct storage_model *dst, const struct storage_model *src,
                               struct cgpc_err *err)
{
    storage_model_init(dst);
    if (src->n == 0)
        return CGPC_OK;
    dst->parts = malloc((size_t)src->n * sizeof *dst->parts);
    if (!dst->parts)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d storage parts", src->n);
    memcpy(dst->parts, src->parts, (size_t)src->n * sizeof *dst->parts);
    dst->n = dst->cap = src->n;
    return CGPC_OK;
}

static cgpc_status add_u64(uint64_t *acc, uint64_t v, const char *what, struct cgpc_err *err)
{
    if (*acc > UINT64_MAX - v)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s overflows 64 bits", what);
    *acc += v;
    return CGPC_OK;
}

static cgpc_status mul_u64(uint64_t a, uint64_t b, uint64_t *out, const char *what,
                           struct cgpc_err *err)
{
    if (b && a > UINT64_MAX / b)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %llu x %llu overflows 64 bits", what,
                         (unsigned long long)a, (unsigned long long)b);
    *out = a * b;
    return CGPC_OK;
}

cgpc_status storage_model_add_flags(struct storage_model *m, const char *layer,
                                    enum storage_kind kind, const char *what, uint64_t count,
                                    uint64_t bits, unsigned flags, struct cgpc_err *err)
{
    struct storage_part p;
    memset(&p, 0, sizeof p);
    if ((unsigned)kind >= STORAGE_KIND_COUNT)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "storage part kind %d is not a storage_kind",
                         (int)kind);
    if (strlen(layer) >= sizeof p.layer || strlen(what) >= sizeof p.what)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "storage part '%s' / '%s': names are limited to %zu / "
                         "%zu characters", layer, what, sizeof p.layer - 1, sizeof p.what - 1);
    uint64_t total = storage_model_total_bits(m);
    cgpc_status st = add_u64(&total, bits, "stored bits of the model", err);
    if (st)
        return st;
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        struct storage_part *np = realloc(m->parts, (size_t)cap * sizeof *np);
        if (!np)
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d storage parts", cap);
        m->parts = np;
        m->cap = cap;
    }
    snprintf(p.layer, sizeof p.layer, "%s", layer);
    snprintf(p.what, sizeof p.what, "%s", what);
    p.kind = kind;
    p.count = count;
    p.bits = bits;
    p.flags = flags;
    m->parts[m->n++] = p;
    return CGPC_OK;
}

cgpc_status storage_model_add(struct storage_model *m, const char *layer, enum storage_kind kind,
                              const char *what, uint64_t count, uint64_t bits,
                              struct cgpc_err *err)
{
    return storage_model_add_flags(m, layer, kind, what, count, bits, 0, err);
}

cgpc_status storage_model_add_items(struct storage_model *m, const char *layer,
                                    enum storage_kind kind, const char *what, uint64_t count,
                                    unsigned bits_each, struct cgpc_err *err)
{
    uint64_t bits = 0;
    cgpc_status st = mul_u64(count, bits_each, &bits, what, err);
    return st ? st : storage_model_add(m, layer, kind, what, count, bits, err);
}

cgpc_status storage_model_take(struct storage_model *m, const char *layer,
                               enum storage_kind kind, uint64_t count, struct cgpc_err *err)
{
    for (int i = 0; i < m->n; i++) {
        struct storage_part *p = &m->parts[i];
        if (p->kind != kind || strcmp(p->layer, layer) != 0)
            continue;
        if (count > p->count)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "layer '%s': cannot take %llu %s items, the part "
                             "holds %llu", layer, (unsigned long long)count,
                             storage_kind_name(kind), (unsigned long long)p->count);
        if (count == 0)
            return CGPC_OK;
        if (p->bits % p->count)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "layer '%s': %s part has %llu bits for %llu "
                             "items, not a whole number per item", layer, storage_kind_name(kind),
                             (unsigned long long)p->bits, (unsigned long long)p->count);
        p->bits -= count * (p->bits / p->count);
        p->count -= count;
        return CGPC_OK;
    }
    return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "layer '%s' has no %s part", layer,
                     storage_kind_name(kind));
}

uint64_t storage_model_total_bits(const struct storage_model *m)
{
    uint64_t s = 0;
    for (int i = 0; i < m->n; i++)
        s += m->parts[i].bits; /* cannot overflow: _add checks the running total */
    return s;
}

uint64_t storage_model_layer_bits(const struct storage_model *m, const char *layer)
{
    uint64_t s = 0;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->parts[i].layer, layer) == 0)
            s += m->parts[i].bits;
    return s;
}

uint64_t storage_model_kind_bits(const struct storage_model *m, enum storage_kind kind)
{
    uint64_t s = 0;
    for (int i = 0; i < m->n; i++)
        if (m->parts[i].kind == kind)
            s += m->parts[i].bits;
    return s;
}

unsigned storage_bits_for_choices(uint64_t choices)
{
    unsigned b = 0;
    while (b < 64 && ((uint64_t)1 << b) < choices)
        b++;
    return b;
}

/* ---- references -------------------------------------------------------------------------- */

cgpc_status storage_reference_float32(const struct storage_layer *layers, int n,
                                      struct storage_model *out, struct cgpc_err *err)
{
    storage_model_init(out);
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < n && st == CGPC_OK; i++) {
        const struct storage_layer *l = &layers[i];
        if (l->weights)
            st = storage_model_add_items(out, l->name, STORAGE_FLOAT_WEIGHTS, "float32 weights",
                                         l->weights, 32, err);
        if (st == CGPC_OK && l->channels)
            st = storage_model_add_items(out, l->name, STORAGE_BIAS, "float32 bias",
                                         l->channels, 32, err);
    }
    if (st)
        storage_model_free(out);
    return st;
}

cgpc_status storage_reference_int8(const struct storage_layer *layers, int n,
                                   struct storage_model *out, struct cgpc_err *err)
{
    storage_model_init(out);
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < n && st == CGPC_OK; i++) {
        const struct storage_layer *l = &layers[i];
        if (l->weights)
            st = storage_model_add_items(out, l->name, STORAGE_WEIGHTS, "int8 codes", l->weights,
                                         8, err);
        if (st == CGPC_OK && l->channels)
            st = storage_model_add_items(out, l->name, STORAGE_BIAS, "int32 bias", l->channels,
                                         32, err);
        if (st == CGPC_OK && l->channels)
            st = storage_model_add_items(out, l->name, STORAGE_SCALE, "weight scale",
                                         l->channels, 32, err);
        if (st == CGPC_OK && l->qparams)
            st = storage_model_add_items(out, l->name, STORAGE_SCALE, "activation qparams",
                                         l->qparams, 32, err);
    }
    if (st)
        storage_model_free(out);
    return st;
}

cgpc_status storage_layers_macs(const struct storage_layer *layers, int n, uint64_t *macs,
                                struct cgpc_err *err)
{
    uint64_t s = 0;
    for (int i = 0; i < n; i++) {
        cgpc_status st = add_u64(&s, layers[i].macs, "MACs of the model", err);
        if (st)
            return st;
    }
    *macs = s;
    return CGPC_OK;
}

/* ---- circuits ------------------------------------------------------------------------------ */

cgpc_status storage_circuit_bits(const struct energy_node *nodes, int n_nodes, int n_inputs,
                                 int n_functions, int n_outputs, uint64_t *bits,
                                 struct cgpc_err *err)
{
    if (n_nodes < 0 || n_inputs < 0 || n_outputs < 0 || n_functions < 1)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "circuit bits: %d nodes, %d inputs, %d functions, "
                         "%d outputs (need >= 0, >= 0, >= 1, >= 0)", n_nodes, n_inputs,
                         n_functions, n_outputs);
    uint64_t s = 0;
    unsigned fbits = storage_bits_for_choices((uint64_t)n_functions);
    for (int k = 0; k < n_nodes; k++) {
        if (nodes[k].op < 0 || nodes[k].op >= CGPC_OP_COUNT)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "circuit bits: node %d has op %d, not in ops.h",
                             k, (int)nodes[k].op);
        unsigned pin = storage_bits_for_choices((uint64_t)n_inputs + (uint64_t)k);
        s += fbits + (uint64_t)cgpc_op_arity(nodes[k].op) * pin;
    }
    s += (uint64_t)n_outputs *
         storage_bits_for_choices((uint64_t)n_inputs + (uint64_t)n_nodes);
    *bits = s; /* < 2^31 nodes x (7 + 4 x 32) bits: no overflow */
    return CGPC_OK;
}

/* ---- energy -------------------------------------------------------------------------------- */

cgpc_status storage_deployment_parse(const char *s, enum storage_deployment *out,
                                     struct cgpc_err *err)
{
    if (strcmp(s, "stored") == 0)
        *out = STORAGE_DEPLOY_STORED;
    else if (strcmp(s, "hardwired") == 0)
        *out = STORAGE_DEPLOY_HARDWIRED;
    else
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected 'stored' or 'hardwired'", s);
    return CGPC_OK;
}

const char *storage_deployment_name(enum storage_deployment d)
{
    return d == STORAGE_DEPLOY_HARDWIRED ? "hardwired" : "stored";
}

cgpc_status storage_energy_account(const struct storage_model *m, enum storage_deployment dep,
                                   const struct energy_memory *mem,
                                   const struct energy_gate_table *t, uint64_t macs,
                                   double circuit_pj, unsigned batch, struct storage_energy *out,
                                   struct cgpc_err *err)
{
    if (batch < 1)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "batch must be >= 1 image");
    if (!isfinite(circuit_pj) || circuit_pj < 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "circuit energy %g pJ must be finite and >= 0",
                         circuit_pj);
    struct storage_energy e;
    memset(&e, 0, sizeof e);
    cgpc_status st;
    for (int i = 0; i < m->n; i++) {
        const struct storage_part *p = &m->parts[i];
        if ((st = add_u64(&e.stored_bits, p->bits, "stored bits", err)))
            return st;
        if (dep == STORAGE_DEPLOY_HARDWIRED && (p->flags & STORAGE_PART_LOGIC))
            continue;
        if ((st = add_u64(&e.read_bits, p->bits, "bits read", err)) ||
            (st = add_u64(&e.read_bytes, p->bits / 8 + (p->bits % 8 != 0), "bytes read", err)))
            return st;
    }
    e.batch = batch;
    e.read_pj = (double)e.read_bytes * mem->pj_per_byte / (double)batch;
    e.mac_pj = (double)macs * t->mac.energy_pj;
    e.circuit_pj = circuit_pj;
    e.total_pj = e.read_pj + e.mac_pj + e.circuit_pj;
    *out = e;
    return CGPC_OK;
}

void storage_compare(const struct storage_energy *e, const struct storage_energy *baseline,
                     uint64_t float32_bits, uint64_t int8_bits, struct storage_comparison *out)
{
    out->stored_bits = e->stored_bits;
    out->compression_vs_float32 = e->stored_bits ? (double)float32_bits / (double)e->stored_bits
                                                 : INFINITY;
    out->compression_vs_int8 = e->stored_bits ? (double)int8_bits / (double)e->stored_bits
                                              : INFINITY;
    out->energy_pj = e->total_pj;
    out->saving_pj = baseline->total_pj - e->total_pj;
    out->saving_pct = baseline->total_pj > 0 ? 100.0 * out->saving_pj / baseline->total_pj : 0;
}

/* ---- area ---------------------------------------------------------------------------------- */

/* Bit-cell area only (no decoders, sense amplifiers or wiring), so the memory side of a
 * hardwired comparison is never overstated. SRAM: Intel's 45 nm 6T cell, 0.346 um^2 (Mistry et
 * al., IEDM 2007). ROM: a one-transistor NOR mask-ROM cell taken as 1/3 of the 6T cell,
 * 0.115 um^2 (an assumption: one device instead of six, shared contacts; no measured figure). */
static const double array_um2_per_bit[] = {0.346, 0.346 / 3};
static const char *const array_source[] = {
    "SRAM 6T bit cell 0.346 um^2 at 45 nm (Mistry et al., IEDM 2007), cell area only",
    "mask-ROM 1T bit cell, assumed 1/3 of the 45 nm 6T SRAM cell (0.115 um^2), cell area only",
};

double storage_array_area_um2(enum storage_array a, uint64_t bits)
{
    return (double)bits * array_um2_per_bit[a == STORAGE_ARRAY_ROM];
}

const char *storage_array_source(enum storage_array a)
{
    return array_source[a == STORAGE_ARRAY_ROM];
}

cgpc_status storage_model_format(const struct storage_model *m, FILE *out, struct cgpc_err *err)
{
    fprintf(out, "%-24s %-14s %-28s %12s %14s\n", "layer", "kind", "what", "count", "bits");
    for (int i = 0; i < m->n; i++) {
        const struct storage_part *p = &m->parts[i];
        fprintf(out, "%-24s %-14s %-28s %12llu %14llu%s\n", p->layer[0] ? p->layer : "-",
                storage_kind_name(p->kind), p->what, (unsigned long long)p->count,
                (unsigned long long)p->bits, (p->flags & STORAGE_PART_LOGIC) ? "  (logic)" : "");
    }
    fprintf(out, "%-24s %-14s %-28s %12s %14llu\n", "total", "", "", "",
            (unsigned long long)storage_model_total_bits(m));
    if (ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the storage table failed");
    return CGPC_OK;
}
