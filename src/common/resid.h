/* resid.h - int8 residuals of a predictor (the predictive mode of issue 18): the symbol that
 * codes a true weight w given a circuit's prediction p under a per-weight bound e, the weight
 * rebuilt from it, and the empirical entropy of a symbol histogram (the evolver's fast estimate
 * of the coded size). Shared by the evolver's bits fitness (src/cgp) and the residual codec
 * (src/compress/residual.h), so both see the same symbols.
 *
 * e = 0 (lossless): the symbol is the residual r = w - p wrapped to int8 (mod 256); the
 *   rebuilt weight p + s (mod 256) is w exactly.
 * e >= 1 (near-lossless): q = floor((r + e) / (2e + 1)), so |r - q (2e + 1)| <= e and
 *   |q| <= (255 + e) / 3 < 128; the rebuilt weight clamp(p + q (2e + 1), -128, 127) is within
 *   e of w (clamping towards the int8 range only moves it closer to w, which is in range).
 * A symbol is the byte (uint8_t)(int8_t)q: CGPC_RESID_SYMBOLS of them, indexed in histograms
 * by cgpc_resid_index (signed order: index 0 is q = -128, 128 is q = 0). */
#ifndef CGPC_COMMON_RESID_H
#define CGPC_COMMON_RESID_H

#include <stdint.h>

#define CGPC_RESID_SYMBOLS 256
#define CGPC_RESID_MAX_BOUND 127 /* largest e */

/* The signed residual symbol q of weight w under prediction p and bound e (0..127). */
static inline int cgpc_resid_symbol(int w, int p, int e)
{
    int r = w - p;
    if (e == 0)
        return ((r + 128) & 255) - 128;
    int s = 2 * e + 1, t = r + e;
    return t >= 0 ? t / s : -((-t + s - 1) / s);
}

/* Histogram index of a signed symbol (-128..127 -> 0..255). */
static inline int cgpc_resid_index(int q) { return q + 128; }

/* The weight rebuilt from prediction p and signed symbol q under bound e. */
static inline int8_t cgpc_resid_rebuild(int p, int q, int e)
{
    if (e == 0)
        return (int8_t)(((p + q + 128) & 255) - 128);
    int v = p + q * (2 * e + 1);
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* Empirical entropy in bits of n symbols with histogram hist[nsym]: sum over used symbols of
 * c log2(total / c), 0 for no or one used symbol. The fast estimate of a static entropy
 * coder's stream (a Huffman stream is at most total bits longer, its table aside). */
double cgpc_resid_entropy_bits(const uint64_t *hist, int nsym);

#endif
