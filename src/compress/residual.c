/* residual.c - residual symbols coded with one canonical Huffman code (residual.h). */
#include "compress/residual.h"

#include <stdlib.h>
#include <string.h>

#define SPAN_BITS 8

cgpc_status cpr_resid_plan(const int8_t *w, const int8_t *p, size_t n, int bound, int8_t *sym,
                           struct cpr_resid_code *c, struct cgpc_err *err)
{
    if (bound < 0 || bound > CGPC_RESID_MAX_BOUND)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "residual bound %d: expected 0..%d", bound,
                         CGPC_RESID_MAX_BOUND);
    memset(c, 0, sizeof *c);
    c->bound = bound;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        int q = cgpc_resid_symbol(w[i], p[i], bound);
        int d = cgpc_resid_rebuild(p[i], q, bound) - w[i];
        d = d < 0 ? -d : d;
        c->max_abs_error = d > c->max_abs_error ? d : c->max_abs_error;
        c->freq[cgpc_resid_index(q)]++;
        if (sym)
            sym[i] = (int8_t)q;
    }
    cgpc_status st = cpr_huff_lengths(c->freq, CGPC_RESID_SYMBOLS, c->len, err);
    if (st != CGPC_OK)
        return st;
    int first = -1, last = -1;
    for (int s = 0; s < CGPC_RESID_SYMBOLS; s++)
        if (c->len[s]) {
            first = first < 0 ? s : first;
            last = s;
        }
    c->lo = first < 0 ? 0 : first - 128;
    c->span = first < 0 ? 1 : last - first + 1;
    c->table_bits = 2 * SPAN_BITS + (uint64_t)CPR_HUFF_LEN_BITS * (uint64_t)c->span;
    c->stream_bits = cpr_huff_stream_bits(c->freq, c->len, CGPC_RESID_SYMBOLS);
    c->bits = c->table_bits + c->stream_bits;
    c->entropy_bits = cgpc_resid_entropy_bits(c->freq, CGPC_RESID_SYMBOLS);
    return CGPC_OK;
}

cgpc_status cpr_resid_write(const struct cpr_resid_code *c, const int8_t *sym,
                            struct cpr_bitw *bw, struct cgpc_err *err)
{
    uint32_t code[CGPC_RESID_SYMBOLS];
    cpr_huff_codes(c->len, CGPC_RESID_SYMBOLS, code);
    cpr_bitw_put(bw, (uint32_t)(uint8_t)(int8_t)c->lo, SPAN_BITS);
    cpr_bitw_put(bw, (uint32_t)(c->span - 1), SPAN_BITS);
    for (int k = 0; k < c->span; k++) {
        int idx = cgpc_resid_index(c->lo + k);
        cpr_bitw_put(bw, c->len[idx], CPR_HUFF_LEN_BITS);
    }
    for (uint64_t i = 0; i < c->n; i++) {
        int idx = cgpc_resid_index(sym[i]);
        cpr_bitw_put(bw, code[idx], c->len[idx]);
    }
    if (bw->oom)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "residual stream of %llu bits",
                         (unsigned long long)c->bits);
    return CGPC_OK;
}

cgpc_status cpr_resid_read(struct cpr_bitr *br, size_t n, int bound, const int8_t *p,
                           int8_t *out, uint64_t *bits_read, struct cgpc_err *err)
{
    uint64_t start = br->pos;
    int64_t lo = cpr_bitr_get(br, SPAN_BITS), span = cpr_bitr_get(br, SPAN_BITS);
    if (lo < 0 || span < 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "residual table: truncated header");
    span += 1;
    lo = (int8_t)(uint8_t)lo;
    if (lo + span > 128)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "residual table: symbols %d .. %d pass 127",
                         (int)lo, (int)(lo + span - 1));
    uint8_t len[CGPC_RESID_SYMBOLS] = {0};
    for (int k = 0; k < span; k++) {
        int64_t l = cpr_bitr_get(br, CPR_HUFF_LEN_BITS);
        if (l < 0)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "residual table: truncated at length %d", k);
        len[cgpc_resid_index((int)lo + k)] = (uint8_t)l;
    }
    struct cpr_huff_dec dec;
    cgpc_status st = cpr_huff_dec_init(&dec, len, CGPC_RESID_SYMBOLS, err);
    if (st != CGPC_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        int s = cpr_huff_dec_next(&dec, br);
        if (s < 0)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "residual stream: truncated or bad code at "
                             "residual %zu of %zu", i, n);
        out[i] = cgpc_resid_rebuild(p[i], s - 128, bound);
    }
    if (bits_read)
        *bits_read = br->pos - start;
    return CGPC_OK;
}
