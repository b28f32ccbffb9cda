/* huffman.h - bit streams, canonical Huffman codes and the sparse relative-index code
 * (step 3 of Deep Compression, Han, Mao, Dally, ICLR 2016).
 *
 * Bit streams are MSB-first: the first bit written is bit 7 of byte 0. A stream of nbits bits
 * occupies ceil(nbits / 8) bytes, the unused low bits of the last byte are zero.
 *
 * Huffman code lengths: the classic two-smallest merge; ties between equal weights go to the
 * node created first (leaves in symbol order first, then internal nodes in creation order),
 * so lengths are a function of the frequencies only. Symbols with frequency 0 get length 0;
 * a single used symbol gets length 1. Lengths are limited to CPR_HUFF_MAX_LEN by halving the
 * frequencies (f -> (f + 1) / 2 for f > 0) and rebuilding until the limit holds. Canonical
 * codes: symbols ordered by (length, symbol) get consecutive codes, the code shifted left at
 * each length increase (RFC 1951 section 3.2.2). A code table is stored as one
 * CPR_HUFF_LEN_BITS-bit length per symbol of the alphabet; that table is part of every
 * stored size.
 *
 * Sparse relative indices (r-bit codes, 1 <= r <= 8, F = 2^r - 1): the kept positions of a
 * mask are written in order as gaps g = position - previous position (previous starts at -1).
 * A gap g <= F is the code g - 1 (0..F-1); a larger gap first emits filler codes F, each
 * advancing F positions onto a padding zero (a stored zero without a codebook index), until
 * g <= F. Trailing zeros after the last kept weight are implied by the tensor length.
 *
 * Ownership: a cpr_bitw owns its growable buffer (cpr_bitw_free); readers borrow theirs. */
#ifndef CGPC_COMPRESS_HUFFMAN_H
#define CGPC_COMPRESS_HUFFMAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CPR_HUFF_MAX_LEN 24
#define CPR_HUFF_LEN_BITS 5 /* bits per stored code length (0..24) */
#define CPR_MAX_SYMBOLS 256

struct cpr_bitw {
    uint8_t *buf;
    size_t cap;     /* bytes allocated */
    uint64_t nbits; /* bits written */
    int oom;        /* an allocation failed; later writes are dropped */
};

struct cpr_bitr {
    const uint8_t *buf;
    uint64_t nbits, pos;
};

void cpr_bitw_init(struct cpr_bitw *w);
void cpr_bitw_free(struct cpr_bitw *w);
/* Append the low `bits` bits of v (bits 0..32), most significant first. */
void cpr_bitw_put(struct cpr_bitw *w, uint32_t v, int bits);

void cpr_bitr_init(struct cpr_bitr *r, const uint8_t *buf, uint64_t nbits);
/* Next `bits` bits (0..32) as an unsigned value, or -1 past the end of the stream. */
int64_t cpr_bitr_get(struct cpr_bitr *r, int bits);

/* Code lengths len[nsym] (nsym 1..CPR_MAX_SYMBOLS) from frequencies. */
cgpc_status cpr_huff_lengths(const uint64_t *freq, int nsym, uint8_t *len,
                             struct cgpc_err *err);

/* Canonical codes from lengths (code[s] undefined where len[s] == 0). */
void cpr_huff_codes(const uint8_t *len, int nsym, uint32_t *code);

/* Bits of the symbols of freq[] coded with len[] (the stream, not the table). */
uint64_t cpr_huff_stream_bits(const uint64_t *freq, const uint8_t *len, int nsym);

/* Decoder for one canonical code. */
struct cpr_huff_dec {
    int nsym;
    uint16_t count[CPR_HUFF_MAX_LEN + 1]; /* codes per length */
    uint16_t symbol[CPR_MAX_SYMBOLS];     /* symbols in (length, symbol) order */
};

/* CGPC_ERR_FORMAT when the lengths are not a prefix code (over-subscribed or > max). */
cgpc_status cpr_huff_dec_init(struct cpr_huff_dec *d, const uint8_t *len, int nsym,
                              struct cgpc_err *err);
/* Next symbol, or -1 for a truncated stream or an unused code. */
int cpr_huff_dec_next(const struct cpr_huff_dec *d, struct cpr_bitr *r);

/* Sparse codes of a mask[n] at r bits: writes at most cpr_sparse_max_codes(n) codes to
 * codes (NULL: count only) and returns their number. */
size_t cpr_sparse_encode(const uint8_t *mask, size_t n, int r, uint16_t *codes);
size_t cpr_sparse_max_codes(size_t n);
/* The mask[n] back from ncodes codes; CGPC_ERR_FORMAT when a code is out of range or a
 * position passes n. Returns the kept count in *kept. */
cgpc_status cpr_sparse_decode(const uint16_t *codes, size_t ncodes, int r, size_t n,
                              uint8_t *mask, size_t *kept, struct cgpc_err *err);

#endif
