/* prune.h - magnitude pruning of weight tensors (Han, Pool, Tran, Dally 2015; step 1 of Deep
 * Compression, Han, Mao, Dally, ICLR 2016).
 *
 * Job: decide which weights to remove. Pure functions on flat float arrays; a mask byte is 1
 * for a kept weight and 0 for a pruned one. The pruned count of a tensor of n weights at
 * sparsity s is k = floor(s * n + 0.5) (s in [0, 1]); the k weights with the smallest |w| are
 * pruned, ties broken by position (lower index first), so an already-zero weight is pruned
 * before any non-zero one and iterative pruning (0.5 -> 0.7 -> 0.9) keeps earlier masks.
 * Global pruning ranks the weights of all tensors together (one threshold; ties broken by
 * tensor order, then position), tests/golden/make_compress_golden.py reproduces both in NumPy.
 *
 * Ownership: the caller owns every array; cpr_prune_* allocate one scratch index array and
 * free it before returning. */
#ifndef CGPC_COMPRESS_PRUNE_H
#define CGPC_COMPRESS_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Number of weights pruned from n at sparsity s: floor(s * n + 0.5). */
size_t cpr_prune_count(size_t n, double sparsity);

/* mask[n] for one tensor w[n] at `sparsity` (0..1). */
cgpc_status cpr_prune_layer(const float *w, size_t n, double sparsity, uint8_t *mask,
                            struct cgpc_err *err);

/* Masks for ntensors tensors ranked together: w[t][n[t]] -> mask[t][n[t]], one global
 * sparsity over sum(n). *threshold (optional) receives the largest pruned |w| (0 if none). */
cgpc_status cpr_prune_global(const float *const *w, const size_t *n, int ntensors,
                             double sparsity, uint8_t *const *mask, float *threshold,
                             struct cgpc_err *err);

/* Kept weights of a mask. */
size_t cpr_mask_count(const uint8_t *mask, size_t n);

/* w[i] = 0 where mask[i] == 0. */
void cpr_mask_apply(float *w, const uint8_t *mask, size_t n);

#endif
