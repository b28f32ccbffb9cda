#include "compress/huffman.h"

#include <stdlib.h>
#include <string.h>

void cpr_bitw_init(struct cpr_bitw *w)
{
    memset(w, 0, sizeof *w);
}

void cpr_bitw_free(struct cpr_bitw *w)
{
    if (!w)
        return;
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void cpr_bitw_put(struct cpr_bitw *w, uint32_t v, int bits)
{
    if (w->oom)
        return;
    size_t need = (size_t)((w->nbits + (uint64_t)bits + 7) / 8);
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->oom = 1;
            return;
        }
        memset(b + w->cap, 0, cap - w->cap);
        w->buf = b;
        w->cap = cap;
    }
    for (int i = bits - 1; i >= 0; i--) {
        if ((v >> i) & 1u)
            w->buf[w->nbits / 8] |= (uint8_t)(0x80u >> (w->nbits % 8));
        w->nbits++;
    }
}

void cpr_bitr_init(struct cpr_bitr *r, const uint8_t *buf, uint64_t nbits)
{
    r->buf = buf;
    r->nbits = nbits;
    r->pos = 0;
}

int64_t cpr_bitr_get(struct cpr_bitr *r, int bits)
{
    if (r->pos + (uint64_t)bits > r->nbits)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < bits; i++, r->pos++)
        v = (v << 1) | ((r->buf[r->pos / 8] >> (7 - r->pos % 8)) & 1u);
    return v;
}

/* One build of the merge tree; returns the largest length. */
static int huff_build(const uint64_t *freq, int nsym, uint8_t *len)
{
    uint64_t wgt[2 * CPR_MAX_SYMBOLS];
    int parent[2 * CPR_MAX_SYMBOLS], alive[2 * CPR_MAX_SYMBOLS];
    int nodes = nsym, used = 0, last = -1;
    for (int s = 0; s < nsym; s++) {
        wgt[s] = freq[s];
        alive[s] = freq[s] > 0;
        parent[s] = -1;
        used += alive[s];
        len[s] = 0;
        if (alive[s])
            last = s;
    }
    if (used == 0)
        return 0;
    if (used == 1) {
        len[last] = 1;
        return 1;
    }
    for (int left = used; left > 1; left--) {
        int a = -1, b = -1;
        for (int i = 0; i < nodes; i++) {
            if (!alive[i])
                continue;
            if (a < 0 || wgt[i] < wgt[a]) {
                b = a;
                a = i;
            } else if (b < 0 || wgt[i] < wgt[b])
                b = i;
        }
        alive[a] = alive[b] = 0;
        wgt[nodes] = wgt[a] + wgt[b];
        alive[nodes] = 1;
        parent[nodes] = -1;
        parent[a] = parent[b] = nodes;
        nodes++;
    }
    int maxlen = 0;
    for (int s = 0; s < nsym; s++) {
        if (!freq[s])
            continue;
        int d = 0;
        for (int p = parent[s]; p >= 0; p = parent[p])
            d++;
        len[s] = (uint8_t)(d > 255 ? 255 : d);
        maxlen = d > maxlen ? d : maxlen;
    }
    return maxlen;
}

cgpc_status cpr_huff_lengths(const uint64_t *freq, int nsym, uint8_t *len, struct cgpc_err *err)
{
    if (nsym < 1 || nsym > CPR_MAX_SYMBOLS)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "Huffman alphabet of %d symbols: expected 1..%d",
                         nsym, CPR_MAX_SYMBOLS);
    uint64_t f[CPR_MAX_SYMBOLS];
    memcpy(f, freq, (size_t)nsym * sizeof *f);
    while (huff_build(f, nsym, len) > CPR_HUFF_MAX_LEN)
        for (int s = 0; s < nsym; s++)
            f[s] = f[s] ? (f[s] + 1) / 2 : 0;
    return CGPC_OK;
}

void cpr_huff_codes(const uint8_t *len, int nsym, uint32_t *code)
{
    uint32_t next = 0;
    int prev = 0;
    for (int l = 1; l <= CPR_HUFF_MAX_LEN; l++)
        for (int s = 0; s < nsym; s++)
            if (len[s] == l) {
                next <<= (l - prev);
                prev = l;
                code[s] = next++;
            }
}

uint64_t cpr_huff_stream_bits(const uint64_t *freq, const uint8_t *len, int nsym)
{
    uint64_t b = 0;
    for (int s = 0; s < nsym; s++)
        b += freq[s] * len[s];
    return b;
}

cgpc_status cpr_huff_dec_init(struct cpr_huff_dec *d, const uint8_t *len, int nsym,
                              struct cgpc_err *err)
{
    memset(d, 0, sizeof *d);
    if (nsym < 1 || nsym > CPR_MAX_SYMBOLS)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "Huffman table of %d symbols: expected 1..%d",
                         nsym, CPR_MAX_SYMBOLS);
    d->nsym = nsym;
    for (int s = 0; s < nsym; s++) {
        if (len[s] > CPR_HUFF_MAX_LEN)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "Huffman code length %d of symbol %d: "
                             "expected 0..%d", len[s], s, CPR_HUFF_MAX_LEN);
        d->count[len[s]]++;
    }
    d->count[0] = 0;
    int64_t room = 1; /* Kraft: unused codes at the current length */
    for (int l = 1; l <= CPR_HUFF_MAX_LEN; l++) {
        room = room * 2 - d->count[l];
        if (room < 0)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "Huffman code lengths are over-subscribed "
                             "at length %d", l);
    }
    int k = 0;
    for (int l = 1; l <= CPR_HUFF_MAX_LEN; l++)
        for (int s = 0; s < nsym; s++)
            if (len[s] == l)
                d->symbol[k++] = (uint16_t)s;
    return CGPC_OK;
}

int cpr_huff_dec_next(const struct cpr_huff_dec *d, struct cpr_bitr *r)
{
    int32_t code = 0, first = 0, index = 0;
    for (int l = 1; l <= CPR_HUFF_MAX_LEN; l++) {
        int64_t bit = cpr_bitr_get(r, 1);
        if (bit < 0)
            return -1;
        code |= (int32_t)bit;
        int32_t count = d->count[l];
        if (code - first < count)
            return d->symbol[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

size_t cpr_sparse_max_codes(size_t n)
{
    return n;
}

size_t cpr_sparse_encode(const uint8_t *mask, size_t n, int r, uint16_t *codes)
{
    size_t f = ((size_t)1 << r) - 1, nc = 0, prev = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!mask[i])
            continue;
        size_t g = i - prev; /* wraps correctly from prev = -1 */
        for (; g > f; g -= f, nc++)
            if (codes)
                codes[nc] = (uint16_t)f;
        if (codes)
            codes[nc] = (uint16_t)(g - 1);
        nc++;
        prev = i;
    }
    return nc;
}

cgpc_status cpr_sparse_decode(const uint16_t *codes, size_t ncodes, int r, size_t n,
                              uint8_t *mask, size_t *kept, struct cgpc_err *err)
{
    size_t f = ((size_t)1 << r) - 1, pos = (size_t)-1, k = 0;
    memset(mask, 0, n);
    for (size_t j = 0; j < ncodes; j++) {
        if (codes[j] > f)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "sparse code %zu: %u exceeds %zu (r = %d)",
                             j, codes[j], f, r);
        pos += codes[j] == f ? f : (size_t)codes[j] + 1;
        if (pos >= n)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "sparse code %zu: position %zu is past the tensor (%zu weights)",
                             j, pos, n);
        if (codes[j] != f) {
            mask[pos] = 1;
            k++;
        }
    }
    *kept = k;
    return CGPC_OK;
}
