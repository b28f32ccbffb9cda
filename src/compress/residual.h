/* residual.h - the residual codec of the predictive mode (issue 18): the true int8 weights w[n]
 * and a predictor's outputs p[n] become residual symbols (common/resid.h: lossless for bound
 * e = 0, within e per weight for e >= 1), entropy-coded with one canonical Huffman code
 * (compress/huffman.h) whose table is stored and counted.
 *
 * Coded form (MSB-first bit stream, appended to the caller's writer):
 *   table:  lo (8 bits, the smallest used symbol as int8), span - 1 (8 bits, span = largest -
 *           lo + 1), then one CPR_HUFF_LEN_BITS-bit code length per symbol lo .. lo + span - 1;
 *           no used symbol: lo = 0, span = 1, one length 0.
 *   stream: the n symbols' canonical codes, in the order of w.
 * table_bits = 16 + 5 span; stream_bits = sum of code lengths; bits = their sum: the exact size
 * that stored-bit accounting charges as STORAGE_ENTROPY_TABLE + STORAGE_RESIDUAL.
 * A predictor of constant 0 makes this plain entropy coding of w (the baseline of the mode).
 *
 * Pure: no I/O, no globals; errors through struct cgpc_err. */
#ifndef CGPC_COMPRESS_RESIDUAL_H
#define CGPC_COMPRESS_RESIDUAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/resid.h"
#include "compress/huffman.h"

struct cpr_resid_code {
    int bound;                             /* e */
    uint64_t n;                            /* residuals coded */
    uint64_t freq[CGPC_RESID_SYMBOLS];     /* histogram, by cgpc_resid_index */
    uint8_t len[CGPC_RESID_SYMBOLS];       /* code lengths, by cgpc_resid_index (0 = unused) */
    int lo, span;                          /* the table covers symbols lo .. lo + span - 1 */
    uint64_t table_bits, stream_bits, bits;
    double entropy_bits;                   /* empirical entropy of the symbols (the estimate) */
    int max_abs_error;                     /* max |rebuilt - w| (0 when e = 0, <= e) */
};

/* Plan the code of n residuals: symbols of w[i] given p[i] under bound e (0..127) into sym[n]
 * (signed symbols; may be NULL), histogram, code lengths and exact sizes into *c.
 * CGPC_ERR_ARG for a bound out of range. */
cgpc_status cpr_resid_plan(const int8_t *w, const int8_t *p, size_t n, int bound, int8_t *sym,
                           struct cpr_resid_code *c, struct cgpc_err *err);

/* Append c's table and the n = c->n symbols sym[] (as planned) to bw; exactly c->bits bits.
 * CGPC_ERR_NOMEM if the writer ran out of memory. */
cgpc_status cpr_resid_write(const struct cpr_resid_code *c, const int8_t *sym,
                            struct cpr_bitw *bw, struct cgpc_err *err);

/* Read a table and n symbols from br and rebuild out[i] from p[i] under bound e.
 * *bits_read (may be NULL) gets the bits consumed. CGPC_ERR_FORMAT for a truncated stream,
 * lengths that are not a prefix code, or a symbol outside the table. */
cgpc_status cpr_resid_read(struct cpr_bitr *br, size_t n, int bound, const int8_t *p,
                           int8_t *out, uint64_t *bits_read, struct cgpc_err *err);

#endif
