#include "compress/cmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/huffman.h"
#include "compress/kmeans.h"
#include "energy/storage.h"

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

float *cpr_layer_weights(const struct nn_model *m, const struct nn_layer *l)
{
    return m->has_bn ? l->tw : l->w;
}

int cpr_is_compressed(const struct nn_st_file *st)
{
    const char *f = nn_st_meta_get(st, "format");
    return f && strcmp(f, CPR_FORMAT) == 0;
}

static unsigned bits_for(uint64_t choices)
{
    unsigned b = 0;
    while (b < 64 && ((uint64_t)1 << b) < choices)
        b++;
    return b;
}

static uint32_t fbits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static float bitsf(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ---- encoding one layer ------------------------------------------------------------------ */

/* One layer's encoding: the chosen layout and its streams. */
struct enc {
    struct cpr_layer_stats s;
    float codebook[CPR_MAX_SYMBOLS];
    uint8_t *mask;      /* [n] non-zero */
    uint16_t *sym;      /* [n] value symbol of each weight (codebook index), raw: unused */
    uint16_t *codes;    /* [n] sparse codes at the chosen r */
    uint8_t vlen[CPR_MAX_SYMBOLS], ilen[CPR_MAX_SYMBOLS]; /* Huffman lengths */
    struct cpr_bitw values, index, vtable, itable;
};

static void enc_free(struct enc *e)
{
    free(e->mask);
    free(e->sym);
    free(e->codes);
    cpr_bitw_free(&e->values);
    cpr_bitw_free(&e->index);
    cpr_bitw_free(&e->vtable);
    cpr_bitw_free(&e->itable);
}

/* A total order of float bit patterns: by value, NaNs last, ties (+0/-0, NaNs) by bits. A NaN
 * compared as a float is neither below nor above anything, which broke qsort and the symbol
 * search (a decoded file's NaN weights tripped the encoder's size check; fuzz regression). */
static int u32_cmp_as_float(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    float fa = bitsf(a), fb = bitsf(b);
    int na = isnan(fa), nb = isnan(fb);
    if (na != nb)
        return na - nb;
    if (!na && fa != fb)
        return fa < fb ? -1 : 1;
    return (a > b) - (a < b);
}

/* Bits of a stream of symbols with frequencies f[nsym]: `fixed` bits each, or (when
 * huffman allows and it is smaller) Huffman coded, stream + table; *used says which, len
 * receives the Huffman lengths. */
static cgpc_status stream_bits(const uint64_t *f, int nsym, int fixed, int huffman,
                               uint8_t *len, uint64_t *stream, uint64_t *table, int *used,
                               struct cgpc_err *err)
{
    uint64_t cnt = 0;
    for (int s = 0; s < nsym; s++)
        cnt += f[s];
    *stream = cnt * (uint64_t)fixed;
    *table = 0;
    *used = 0;
    if (!huffman || !cnt)
        return CGPC_OK;
    cgpc_status st = cpr_huff_lengths(f, nsym, len, err);
    if (st)
        return st;
    uint64_t hs = cpr_huff_stream_bits(f, len, nsym), ht = (uint64_t)nsym * CPR_HUFF_LEN_BITS;
    if (hs + ht < *stream) {
        *stream = hs;
        *table = ht;
        *used = 1;
    }
    return CGPC_OK;
}

/* Choose the layout of weights w[n] and size it; e->sym and e->codes follow the choice. */
static cgpc_status enc_layer(const float *w, size_t n, int huffman, struct enc *e,
                             struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    size_t cap = n ? n : 1;
    uint32_t *d = malloc(cap * sizeof *d);
    e->mask = malloc(cap);
    e->sym = malloc(cap * sizeof *e->sym);
    e->codes = malloc(cpr_sparse_max_codes(cap) * sizeof *e->codes);
    if (!d || !e->mask || !e->sym || !e->codes) {
        free(d);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "encoding %zu weights", n);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        d[i] = fbits(w[i]);
        e->mask[i] = d[i] != 0;
        kept += d[i] != 0;
    }
    qsort(d, n, sizeof *d, u32_cmp_as_float);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || d[i] != d[k - 1])
            d[k++] = d[i];
    int zero = -1; /* index of the zero among the k distinct values */
    for (size_t i = 0; i < k; i++)
        if (d[i] == 0)
            zero = (int)i;
    int raw = k > CPR_MAX_SYMBOLS + (zero >= 0); /* too many values for any codebook */
    uint64_t vfull[CPR_MAX_SYMBOLS + 1] = {0};
    if (!raw)
        for (size_t i = 0; i < n; i++) {
            uint32_t u = fbits(w[i]);
            size_t a = 0, b = k;
            while (a < b) {
                size_t mid = (a + b) / 2;
                if (u32_cmp_as_float(&d[mid], &u) < 0)
                    a = mid + 1;
                else
                    b = mid;
            }
            e->sym[i] = (uint16_t)a; /* index among all distinct values, for now */
            vfull[a]++;
        }
    e->s.n = n;
    e->s.kept = kept;
    uint64_t best = UINT64_MAX;
    /* r = 0: dense (zero in the codebook); r = 1..8: sparse (codebook without the zero) */
    for (int r = 0; r <= CPR_MAX_BITS; r++) {
        int sparse = r > 0, kk = raw ? 0 : (int)k - (sparse && zero >= 0);
        if (kk > CPR_MAX_SYMBOLS)
            continue;
        uint64_t vf[CPR_MAX_SYMBOLS] = {0}, ifr[CPR_MAX_SYMBOLS] = {0};
        uint8_t vl[CPR_MAX_SYMBOLS] = {0}, il[CPR_MAX_SYMBOLS] = {0};
        uint64_t nval = sparse ? kept : n, ncodes = 0, vbits = 0, vtab = 0, ibits = 0, itab = 0;
        int vcb = raw ? 32 : (int)bits_for((uint64_t)kk), vh = 0, ih = 0;
        for (int q = 0, j = 0; !raw && q < (int)k; q++)
            if (!(sparse && q == zero))
                vf[j++] = vfull[q];
        if (raw || !nval)
            vbits = nval * (uint64_t)vcb;
        else if ((st = stream_bits(vf, kk, vcb, huffman, vl, &vbits, &vtab, &vh, err)))
            goto out;
        if (sparse) {
            ncodes = cpr_sparse_encode(e->mask, n, r, e->codes);
            for (uint64_t j = 0; j < ncodes; j++)
                ifr[e->codes[j]]++;
            if (ncodes && (st = stream_bits(ifr, 1 << r, r, huffman, il, &ibits, &itab, &ih,
                                            err)))
                goto out;
        }
        uint64_t total = (uint64_t)kk * 32 + vbits + vtab + ibits + itab;
        if (total < best) {
            best = total;
            e->s.sparse = sparse;
            e->s.huffman = vh | ih << 1;
            e->s.r = r;
            e->s.k = kk;
            e->s.value_code_bits = vcb;
            e->s.codes = ncodes;
            e->s.value_codes = nval;
            e->s.codebook_bits = (uint64_t)kk * 32;
            e->s.value_bits = vbits;
            e->s.value_table_bits = vtab;
            e->s.index_bits = ibits;
            e->s.index_table_bits = itab;
            memcpy(e->vlen, vl, sizeof vl);
            memcpy(e->ilen, il, sizeof il);
        }
    }
    if (!raw) {
        int sp = e->s.sparse && zero >= 0;
        for (int q = 0, j = 0; q < (int)k; q++)
            if (!(sp && q == zero))
                e->codebook[j++] = bitsf(d[q]);
        for (size_t i = 0; sp && i < n; i++)
            e->sym[i] = (uint16_t)(e->sym[i] - (e->sym[i] > zero));
    }
    if (e->s.sparse)
        cpr_sparse_encode(e->mask, n, e->s.r, e->codes);
out:
    free(d);
    return st;
}

/* Build the streams and tables of an encoded layer of weights w. */
static cgpc_status enc_write(struct enc *e, const float *w, struct cgpc_err *err)
{
    uint32_t vcode[CPR_MAX_SYMBOLS], icode[CPR_MAX_SYMBOLS];
    int raw = e->s.k == 0, vh = e->s.huffman & 1, ih = (e->s.huffman >> 1) & 1;
    if (vh)
        cpr_huff_codes(e->vlen, e->s.k, vcode);
    if (ih)
        cpr_huff_codes(e->ilen, 1 << e->s.r, icode);
    for (size_t i = 0; i < e->s.n; i++) {
        if (e->s.sparse && !e->mask[i])
            continue;
        if (raw)
            cpr_bitw_put(&e->values, fbits(w[i]), 32);
        else if (vh)
            cpr_bitw_put(&e->values, vcode[e->sym[i]], e->vlen[e->sym[i]]);
        else
            cpr_bitw_put(&e->values, e->sym[i], e->s.value_code_bits);
    }
    for (uint64_t j = 0; j < e->s.codes; j++)
        cpr_bitw_put(&e->index, ih ? icode[e->codes[j]] : e->codes[j],
                     ih ? e->ilen[e->codes[j]] : e->s.r);
    for (int q = 0; vh && q < e->s.k; q++)
        cpr_bitw_put(&e->vtable, e->vlen[q], CPR_HUFF_LEN_BITS);
    for (int q = 0; ih && q < (1 << e->s.r); q++)
        cpr_bitw_put(&e->itable, e->ilen[q], CPR_HUFF_LEN_BITS);
    if (e->values.oom || e->index.oom || e->vtable.oom || e->itable.oom)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "encoded streams");
    CGPC_ASSERT(e->values.nbits == e->s.value_bits && e->index.nbits == e->s.index_bits &&
                e->vtable.nbits == e->s.value_table_bits &&
                e->itable.nbits == e->s.index_table_bits);
    return CGPC_OK;
}

/* Float tensors stored besides a layer's weights: BatchNorm parameters or the bias. */
static int raw_tensors(const struct nn_model *m, const struct nn_layer *l, const char **prefix,
                       const char **what, const float **data)
{
    if (m->has_bn && l->bn[0]) {
        static const char *bnw[4] = {"weight", "bias", "running_mean", "running_var"};
        const float *p[4] = {l->bn_w, l->bn_b, l->bn_mean, l->bn_var};
        for (int k = 0; k < 4; k++) {
            prefix[k] = l->bn;
            what[k] = bnw[k];
            data[k] = p[k];
        }
        return 4;
    }
    prefix[0] = l->name;
    what[0] = "bias";
    data[0] = m->has_bn ? l->tb : l->b;
    return 1;
}

/* Encode every weighted layer into enc[] (caller frees with enc_free) and fill s. */
static cgpc_status encode_model(const struct nn_model *m, int huffman, struct enc *enc,
                                struct cpr_stats *s, struct cgpc_err *err)
{
    if (!m->has_float || m->quantized)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "compression needs a float model (this one is "
                         "int8)");
    memset(s, 0, sizeof *s);
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        struct enc *e = &enc[s->nlayers];
        if ((st = enc_layer(cpr_layer_weights(m, l), (size_t)l->nweights, huffman, e, err)) ||
            (st = enc_write(e, cpr_layer_weights(m, l), err)))
            return st;
        const char *pre[4], *what[4];
        const float *data[4];
        int nr = raw_tensors(m, l, pre, what, data);
        snprintf(e->s.name, sizeof e->s.name, "%s", l->name);
        e->s.nbias = (uint64_t)nr * (uint64_t)l->out_c;
        e->s.bias_is_bn = nr == 4;
        e->s.bias_bits = e->s.nbias * 32;
        e->s.total_bits = e->s.codebook_bits + e->s.value_bits + e->s.value_table_bits +
                          e->s.index_bits + e->s.index_table_bits + e->s.bias_bits +
                          CPR_LAYER_HEADER_BITS;
        s->layers[s->nlayers++] = e->s;
        s->total_bits += e->s.total_bits;
        s->float32_weight_bits += (uint64_t)l->nweights * 32;
    }
    return st;
}

cgpc_status cpr_model_stats(const struct nn_model *m, int huffman, struct cpr_stats *s,
                            struct cgpc_err *err)
{
    struct enc *enc = calloc(NN_MAX_LAYERS, sizeof *enc);
    if (!enc)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "encoder state");
    cgpc_status st = encode_model(m, huffman, enc, s, err);
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        enc_free(&enc[i]);
    free(enc);
    return st;
}

static void put_meta(struct nn_st_meta *meta, int *nm, const char *k, const char *v)
{
    snprintf(meta[*nm].key, sizeof meta[*nm].key, "%s", k);
    snprintf(meta[*nm].value, sizeof meta[*nm].value, "%s", v);
    (*nm)++;
}

cgpc_status cpr_model_save(const struct nn_model *m, const char *path, int huffman,
                           struct cpr_stats *sout, struct cgpc_err *err)
{
    enum { PER = 11 };
    struct cpr_stats s;
    struct enc *enc = calloc(NN_MAX_LAYERS, sizeof *enc);
    struct nn_st_out *t = calloc(NN_MAX_LAYERS * PER, sizeof *t);
    char(*names)[96] = calloc(NN_MAX_LAYERS * PER, sizeof *names);
    int64_t(*hdr)[8] = calloc(NN_MAX_LAYERS, sizeof *hdr);
    int64_t(*shp)[4] = calloc(NN_MAX_LAYERS, sizeof *shp);
    static const uint8_t zero_byte = 0;
    struct nn_st_meta meta[NN_MAX_META + 4];
    int nt = 0, nm = 0;
    char buf[32];
    cgpc_status st;
    if (!enc || !t || !names || !hdr || !shp) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "encoder state");
        goto out;
    }
    if ((st = encode_model(m, huffman, enc, &s, err)))
        goto out;
    put_meta(meta, &nm, "format", CPR_FORMAT);
    put_meta(meta, &nm, "format_version", CPR_FORMAT_VERSION);
    put_meta(meta, &nm, "arch", m->arch);
    if (strcmp(m->arch, "lenet5") != 0) {
        snprintf(buf, sizeof buf, "%d", m->in_h);
        put_meta(meta, &nm, "input_size", buf);
    }
    for (int i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, "input_size") != 0)
            meta[nm++] = m->meta[i];
    for (int i = 0, li = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        struct enc *e = &enc[li];
        int64_t *h = hdr[li++];
        h[0] = e->s.sparse;
        h[1] = e->s.r;
        h[2] = e->s.k;
        h[3] = e->s.huffman;
        h[4] = (int64_t)e->s.codes;
        h[5] = (int64_t)e->s.value_codes;
        h[6] = (int64_t)e->s.value_bits;
        h[7] = (int64_t)e->s.index_bits;
#define ADD(pre, suffix, dt, nd, data_)                                             \
    do {                                                                            \
        snprintf(names[nt], sizeof names[nt], "%s.%s", pre, suffix);                \
        t[nt].name = names[nt];                                                     \
        t[nt].dtype = (dt);                                                         \
        t[nt].ndim = (nd);                                                          \
        t[nt].data = (data_);                                                       \
        nt++;                                                                       \
    } while (0)
#define ADD_STREAM(suffix, w)                                                       \
    do {                                                                            \
        ADD(l->name, suffix, NN_DT_U8, 1, (w).nbits ? (const void *)(w).buf : &zero_byte); \
        t[nt - 1].shape[0] = (int64_t)(((w).nbits + 7) / 8 ? ((w).nbits + 7) / 8 : 1);    \
    } while (0)
        ADD(l->name, "weight.shape", NN_DT_I64, 1, shp[li - 1]);
        t[nt - 1].shape[0] = nn_layer_weight_shape(l, shp[li - 1]);
        ADD(l->name, "weight.header", NN_DT_I64, 1, h);
        t[nt - 1].shape[0] = 8;
        if (e->s.k) {
            ADD(l->name, "weight.codebook", NN_DT_F32, 1, e->codebook);
            t[nt - 1].shape[0] = e->s.k;
        }
        ADD_STREAM("weight.values", e->values);
        if (e->s.sparse)
            ADD_STREAM("weight.index", e->index);
        if (e->s.huffman & 1)
            ADD_STREAM("weight.values_table", e->vtable);
        if (e->s.huffman & 2)
            ADD_STREAM("weight.index_table", e->itable);
        const char *pre[4], *what[4];
        const float *data[4];
        int nr = raw_tensors(m, l, pre, what, data);
        for (int k = 0; k < nr; k++) {
            ADD(pre[k], what[k], NN_DT_F32, 1, data[k]);
            t[nt - 1].shape[0] = l->out_c;
        }
#undef ADD_STREAM
#undef ADD
    }
    if ((st = nn_st_save(path, t, nt, meta, nm, err)))
        goto out;
    if (sout)
        *sout = s;
out:
    for (int i = 0; enc && i < NN_MAX_LAYERS; i++)
        enc_free(&enc[i]);
    free(enc);
    free(t);
    free(names);
    free(hdr);
    free(shp);
    return st;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static const char *const cpr_suffixes[] = {".weight.shape", ".weight.header", ".weight.codebook",
                                           ".weight.values", ".weight.index",
                                           ".weight.values_table", ".weight.index_table"};

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Tensor `<layer>.<suffix>` of dtype dt (any shape), or NULL with err filled. */
static const struct nn_st_tensor *part(const struct nn_st_file *st, const char *layer,
                                       const char *suffix, enum nn_dtype dt,
                                       struct cgpc_err *err)
{
    char name[NN_ST_NAME_MAX];
    snprintf(name, sizeof name, "%s%s", layer, suffix);
    const struct nn_st_tensor *t = nn_st_find(st, name);
    if (!t)
        CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: tensor '%s' is missing", st->path, name);
    else if (t->dtype != dt || t->ndim != 1) {
        CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: tensor '%s': expected a 1-d %s tensor", st->path,
                  name, nn_dtype_name(dt));
        t = NULL;
    }
    return t;
}

/* Huffman decoder from a packed length table of nsym symbols. */
static cgpc_status read_table(const struct nn_st_file *st, const char *layer, const char *suffix,
                              int nsym, struct cpr_huff_dec *d, struct cgpc_err *err)
{
    const struct nn_st_tensor *t = part(st, layer, suffix, NN_DT_U8, err);
    if (!t)
        return CGPC_ERR_FORMAT;
    uint64_t need = (uint64_t)nsym * CPR_HUFF_LEN_BITS;
    if ((uint64_t)t->numel * 8 < need)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s%s': %lld bytes, %d code lengths need "
                         "%llu bits", st->path, layer, suffix, (long long)t->numel, nsym,
                         (unsigned long long)need);
    uint8_t len[CPR_MAX_SYMBOLS];
    struct cpr_bitr r;
    cpr_bitr_init(&r, t->data, need);
    for (int q = 0; q < nsym; q++)
        len[q] = (uint8_t)cpr_bitr_get(&r, CPR_HUFF_LEN_BITS);
    cgpc_status s = cpr_huff_dec_init(d, len, nsym, err);
    if (s)
        cgpc_err_prefix(err, "%s: '%s%s'", st->path, layer, suffix);
    return s;
}

/* A stream tensor with at least `bits` bits. */
static const struct nn_st_tensor *stream(const struct nn_st_file *st, const char *layer,
                                         const char *suffix, uint64_t bits,
                                         struct cgpc_err *err)
{
    const struct nn_st_tensor *t = part(st, layer, suffix, NN_DT_U8, err);
    if (t && (uint64_t)t->numel * 8 < bits) {
        CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s%s' holds %lld bytes, the header says %llu "
                  "bits", st->path, layer, suffix, (long long)t->numel,
                  (unsigned long long)bits);
        return NULL;
    }
    return t;
}

/* Decode the weights of layer `layer` (n weights) into w. */
static cgpc_status decode_layer(const struct nn_st_file *st, const char *layer, const int64_t *h,
                                int64_t n, float *w, struct cgpc_err *err)
{
    int sparse = (int)h[0], r = (int)h[1], k = (int)h[2], huff = (int)h[3];
    int64_t ncodes = h[4], nval = h[5];
    if (h[0] < 0 || h[0] > 1 || (sparse && (r < 1 || r > CPR_MAX_BITS)) || (!sparse && r) ||
        k < 0 || k > CPR_MAX_SYMBOLS || huff < 0 || huff > 3 || ncodes < 0 ||
        ncodes > (sparse ? n : 0) || nval < 0 || nval > n || (!sparse && nval != n) ||
        h[6] < 0 || h[7] < 0 || (!k && (huff & 1)) || (!sparse && (huff & 2)))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.header': inconsistent fields "
                         "(layout %lld, r %lld, K %lld, huffman %lld, codes %lld, values %lld "
                         "for %lld weights)", st->path, layer, (long long)h[0], (long long)h[1],
                         (long long)h[2], (long long)h[3], (long long)h[4], (long long)h[5],
                         (long long)n);
    cgpc_status s = CGPC_OK;
    struct cpr_huff_dec vd, id;
    const float *cb = NULL;
    float cbuf[CPR_MAX_SYMBOLS];
    if (k) {
        const struct nn_st_tensor *c = part(st, layer, ".weight.codebook", NN_DT_F32, err);
        if (!c)
            return CGPC_ERR_FORMAT;
        if (c->numel != k)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.codebook': %lld entries, "
                             "the header says %d", st->path, layer, (long long)c->numel, k);
        memcpy(cbuf, c->data, (size_t)k * sizeof *cbuf);
        cb = cbuf;
    }
    if (((huff & 1) && (s = read_table(st, layer, ".weight.values_table", k, &vd, err))) ||
        ((huff & 2) && (s = read_table(st, layer, ".weight.index_table", 1 << r, &id, err))))
        return s;
    uint8_t *mask = malloc((size_t)n ? (size_t)n : 1);
    uint16_t *codes = malloc(((size_t)ncodes ? (size_t)ncodes : 1) * sizeof *codes);
    if (!mask || !codes) {
        s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "decoding %lld weights", (long long)n);
        goto out;
    }
    struct cpr_bitr br;
    const struct nn_st_tensor *vt, *it;
    if (sparse) {
        if (!(it = stream(st, layer, ".weight.index", (uint64_t)h[7], err))) {
            s = CGPC_ERR_FORMAT;
            goto out;
        }
        cpr_bitr_init(&br, it->data, (uint64_t)h[7]);
        for (int64_t j = 0; j < ncodes; j++) {
            int64_t c = (huff & 2) ? cpr_huff_dec_next(&id, &br) : cpr_bitr_get(&br, r);
            if (c < 0) {
                s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.index': stream ends at "
                              "code %lld of %lld", st->path, layer, (long long)j,
                              (long long)ncodes);
                goto out;
            }
            codes[j] = (uint16_t)c;
        }
        size_t kept;
        if ((s = cpr_sparse_decode(codes, (size_t)ncodes, r, (size_t)n, mask, &kept, err))) {
            cgpc_err_prefix(err, "%s: '%s.weight.index'", st->path, layer);
            goto out;
        }
        if ((int64_t)kept != nval) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.index' keeps %zu weights, the "
                          "header says %lld", st->path, layer, kept, (long long)nval);
            goto out;
        }
    } else
        memset(mask, 1, (size_t)n);
    if (!(vt = stream(st, layer, ".weight.values", (uint64_t)h[6], err))) {
        s = CGPC_ERR_FORMAT;
        goto out;
    }
    cpr_bitr_init(&br, vt->data, (uint64_t)h[6]);
    int vcb = (int)bits_for((uint64_t)k);
    for (int64_t i = 0, j = 0; i < n; i++) {
        if (!mask[i]) {
            w[i] = 0.0f;
            continue;
        }
        int64_t v = !k ? cpr_bitr_get(&br, 32)
                       : (huff & 1) ? cpr_huff_dec_next(&vd, &br) : cpr_bitr_get(&br, vcb);
        if (v < 0 || (k && v >= k)) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.values': %s at value %lld of "
                          "%lld", st->path, layer, v < 0 ? "stream ends" : "code out of range",
                          (long long)j, (long long)nval);
            goto out;
        }
        w[i] = k ? cb[v] : bitsf((uint32_t)v);
        j++;
    }
out:
    free(mask);
    free(codes);
    return s;
}

cgpc_status cpr_model_decode(const struct nn_st_file *st, struct nn_model *m,
                             struct cgpc_err *err)
{
    const char *version = nn_st_meta_get(st, "format_version");
    memset(m, 0, sizeof *m);
    if (!version || strcmp(version, CPR_FORMAT_VERSION) != 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %s format_version '%s' is not supported "
                         "(this cgpc reads version %s; re-create the file with this cgpc)",
                         st->path, CPR_FORMAT, version ? version : "(missing)",
                         CPR_FORMAT_VERSION);
    struct nn_st_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", st->path);
    f.tensors = calloc((size_t)st->ntensors + 1, sizeof *f.tensors);
    f.meta = calloc((size_t)st->nmeta + 1, sizeof *f.meta);
    float **dec = calloc((size_t)st->ntensors + 1, sizeof *dec);
    cgpc_status s = CGPC_OK;
    int ndec = 0;
    int64_t total = 0; /* weights decoded so far */
    if (!f.tensors || !f.meta || !dec) {
        s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "decoder tables");
        goto out;
    }
    for (int i = 0; i < st->nmeta; i++) {
        f.meta[f.nmeta] = st->meta[i];
        if (strcmp(st->meta[i].key, "format") == 0)
            snprintf(f.meta[f.nmeta].value, sizeof f.meta[0].value, "cgpc-float");
        else if (strcmp(st->meta[i].key, "format_version") == 0)
            snprintf(f.meta[f.nmeta].value, sizeof f.meta[0].value, "%s", NN_FORMAT_VERSION);
        f.nmeta++;
    }
    for (int i = 0; i < st->ntensors; i++) {
        const struct nn_st_tensor *t = &st->tensors[i];
        int ours = 0;
        for (size_t q = 0; q < sizeof cpr_suffixes / sizeof *cpr_suffixes; q++)
            ours |= ends_with(t->name, cpr_suffixes[q]);
        if (!ours) {
            f.tensors[f.ntensors++] = *t;
            continue;
        }
        if (!ends_with(t->name, ".weight.header"))
            continue;
        char layer[NN_ST_NAME_MAX];
        snprintf(layer, sizeof layer, "%.*s", (int)(strlen(t->name) - strlen(".weight.header")),
                 t->name);
        const struct nn_st_tensor *sh = part(st, layer, ".weight.shape", NN_DT_I64, err);
        int64_t h[8], shape[NN_ST_MAX_DIMS], n = 1;
        if (!sh) {
            s = CGPC_ERR_FORMAT;
            goto out;
        }
        if (t->dtype != NN_DT_I64 || t->numel != 8 || sh->numel < 1 ||
            sh->numel > NN_ST_MAX_DIMS) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s': expected I64 [8] and a shape of "
                          "1..%d dims", st->path, t->name, NN_ST_MAX_DIMS);
            goto out;
        }
        memcpy(h, t->data, sizeof h);
        memcpy(shape, sh->data, (size_t)sh->numel * sizeof *shape);
        /* the streams do not bound the count (a one-entry codebook stores 0 bits per
         * weight), so the format does: before anything is allocated */
        for (int d = 0; d < sh->numel; d++) {
            if (shape[d] < 1 || shape[d] > CPR_MAX_WEIGHTS ||
                n > (CPR_MAX_WEIGHTS - total) / shape[d]) {
                s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.weight.shape': dimension %d is "
                              "%lld: expected >= 1 and at most %lld weights in all layers",
                              st->path, layer, d, (long long)shape[d],
                              (long long)CPR_MAX_WEIGHTS);
                goto out;
            }
            n *= shape[d];
        }
        total += n;
        float *wd = dec[ndec++] = malloc((size_t)n * sizeof **dec);
        if (!wd) {
            s = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%lld weights", (long long)n);
            goto out;
        }
        if ((s = decode_layer(st, layer, h, n, wd, err)))
            goto out;
        struct nn_st_tensor *o = &f.tensors[f.ntensors++];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s.weight", layer);
        o->dtype = NN_DT_F32;
        o->ndim = (int)sh->numel;
        memcpy(o->shape, shape, (size_t)sh->numel * sizeof *shape);
        o->numel = n;
        o->begin = 0;
        o->end = (size_t)n * sizeof(float);
        o->data = (const unsigned char *)wd;
    }
    s = nn_model_load_st(&f, m, err);
out:
    for (int i = 0; dec && i < ndec; i++)
        free(dec[i]);
    free(dec);
    free(f.tensors);
    free(f.meta);
    return s;
}

/* ---- storage accounting --------------------------------------------------------------------- */

cgpc_status cpr_storage_account(const struct cpr_stats *s, struct storage_model *out,
                                struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    char what[64];
    for (int i = 0; i < s->nlayers && !st; i++) {
        const struct cpr_layer_stats *l = &s->layers[i];
        const char *name = l->name;
        if (l->k)
            st = storage_model_add(out, name, STORAGE_CODEBOOK, "k-means centroids (float32)",
                                   (uint64_t)l->k, l->codebook_bits, err);
        if (!st && l->k) {
            if (l->huffman & 1)
                snprintf(what, sizeof what, "codebook index (Huffman)");
            else
                snprintf(what, sizeof what, "codebook index (%d bits)", l->value_code_bits);
            st = storage_model_add(out, name, STORAGE_INDEX, what, l->value_codes, l->value_bits,
                                   err);
        } else if (!st)
            st = storage_model_add(out, name, STORAGE_FLOAT_WEIGHTS, "float32 values",
                                   l->value_codes, l->value_bits, err);
        if (!st && l->sparse) {
            if (l->huffman & 2)
                snprintf(what, sizeof what, "relative index (Huffman)");
            else
                snprintf(what, sizeof what, "relative index (%d bits)", l->r);
            st = storage_model_add(out, name, STORAGE_SPARSE_INDEX, what, l->codes,
                                   l->index_bits, err);
        }
        if (!st && l->huffman)
            st = storage_model_add(out, name, STORAGE_ENTROPY_TABLE, "Huffman code lengths",
                                   (uint64_t)((l->huffman & 1) ? l->k : 0) +
                                       ((l->huffman & 2) ? (1u << l->r) : 0),
                                   l->value_table_bits + l->index_table_bits, err);
        if (!st)
            st = storage_model_add(out, name, STORAGE_BIAS,
                                   l->bias_is_bn ? "BatchNorm (4 x float32)" : "float32 bias",
                                   l->nbias, l->bias_bits, err);
        if (!st)
            st = storage_model_add(out, name, STORAGE_INDEX, "layer header", 1,
                                   CPR_LAYER_HEADER_BITS, err);
    }
    return st;
}

cgpc_status cpr_storage_account_model(const struct nn_model *m, struct storage_model *out,
                                      struct cgpc_err *err)
{
    struct cpr_stats *s = malloc(sizeof *s);
    if (!s)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "storage statistics");
    cgpc_status st = cpr_model_stats(m, 1, s, err);
    if (!st)
        st = cpr_storage_account(s, out, err);
    free(s);
    return st;
}

cgpc_status cpr_file_stats(const struct nn_st_file *st, const struct nn_model *m,
                           struct cpr_stats *s, struct cgpc_err *err)
{
    int huffman = 0;
    for (int i = 0; i < st->ntensors && !huffman; i++) {
        const struct nn_st_tensor *t = &st->tensors[i];
        int64_t h[8];
        if (!ends_with(t->name, ".weight.header") || t->dtype != NN_DT_I64 || t->numel != 8)
            continue;
        memcpy(h, t->data, sizeof h);
        huffman = h[3] != 0;
    }
    return cpr_model_stats(m, huffman, s, err);
}
