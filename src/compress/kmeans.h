/* kmeans.h - trained weight sharing (step 2 of Deep Compression, Han, Mao, Dally, ICLR 2016):
 * one-dimensional k-means over a layer's kept weights and the centroid gradient.
 *
 * Job: cluster the kept weights of one tensor (mask != 0, or all when mask is NULL) into k =
 * 2^b shared values. Initialisations (the paper's section 3.1):
 *   CPR_INIT_LINEAR:  c_j = min + (max - min) * j / (k - 1) over the kept weights;
 *   CPR_INIT_DENSITY: c_j = s[floor((j + 0.5) * m / k)], s the m kept weights sorted
 *                     (equal steps on the weights' CDF);
 *   CPR_INIT_RANDOM:  Forgy: k distinct kept positions drawn from the keyed stream (seed),
 *                     their weights sorted (duplicates possible when values repeat).
 * Lloyd iterations (at most max_iter): every kept weight goes to the nearest centroid by
 * |(double)w - (double)c| (ties: lower index); each centroid with members becomes
 * (float)(sum of its members in double, in position order / count); a centroid without
 * members keeps its value. Stops when no assignment changes. Centroids are sorted at
 * initialisation and stay sorted (1-D). Fewer kept weights than k: k is still the codebook
 * size, the centroids beyond the data repeat its values. Deterministic; golden-tested against
 * tests/golden/make_compress_golden.py.
 *
 * Ownership: the caller owns the arrays; cpr_kmeans allocates scratch and frees it. */
#ifndef CGPC_COMPRESS_KMEANS_H
#define CGPC_COMPRESS_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum cpr_init { CPR_INIT_LINEAR = 0, CPR_INIT_DENSITY, CPR_INIT_RANDOM };

#define CPR_MAX_BITS 8      /* at most 2^8 clusters per layer */
#define CPR_PRUNED 0xffffu  /* assignment of a pruned weight */

/* "linear", "density", "random" <-> enum; parse returns -1 for an unknown name. */
const char *cpr_init_name(enum cpr_init init);
int cpr_init_parse(const char *name);

/* Initial centroids c[k] (sorted) of the kept weights. CGPC_ERR_ARG without kept weights. */
cgpc_status cpr_kmeans_init(const float *w, const uint8_t *mask, size_t n, int k,
                            enum cpr_init init, uint64_t seed, float *c, struct cgpc_err *err);

/* Index of the centroid nearest to x among sorted c[k] (ties: lower index). */
int cpr_nearest(const float *c, int k, float x);

/* Lloyd iterations from the centroids in c[k] (sorted): assign[i] in 0..k-1 for kept
 * weights, CPR_PRUNED for pruned ones. Returns the iterations run in *iters (optional). */
cgpc_status cpr_kmeans_run(const float *w, const uint8_t *mask, size_t n, int k, int max_iter,
                           float *c, uint16_t *assign, int *iters, struct cgpc_err *err);

/* Initialise and run. */
cgpc_status cpr_kmeans(const float *w, const uint8_t *mask, size_t n, int k, enum cpr_init init,
                       uint64_t seed, int max_iter, float *c, uint16_t *assign,
                       struct cgpc_err *err);

/* w[i] = c[assign[i]] for kept weights, 0 for pruned ones (CPR_PRUNED). */
void cpr_share_apply(float *w, const uint16_t *assign, size_t n, const float *c);

/* Centroid gradient (the paper's eq. 3): gc[j] = sum of grad[i] over assign[i] == j, summed
 * in position order; pruned weights (CPR_PRUNED) contribute nothing. */
void cpr_centroid_grad(const float *grad, const uint16_t *assign, size_t n, int k, float *gc);

#endif
