#include "compress/prune.h"

#include <math.h>
#include <stdlib.h>

size_t cpr_prune_count(size_t n, double sparsity)
{
    double k = floor(sparsity * (double)n + 0.5);
    return k <= 0 ? 0 : k >= (double)n ? n : (size_t)k;
}

/* Rank key: |w| then (tensor, position), i.e. the global order of a stable sort. */
struct rank {
    float a;
    size_t pos; /* position in the concatenation of the tensors */
};

static int rank_cmp(const void *x, const void *y)
{
    const struct rank *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->pos < q->pos ? -1 : p->pos > q->pos;
}

cgpc_status cpr_prune_global(const float *const *w, const size_t *n, int ntensors,
                             double sparsity, uint8_t *const *mask, float *threshold,
                             struct cgpc_err *err)
{
    if (!(sparsity >= 0 && sparsity <= 1))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "sparsity %g: expected 0..1", sparsity);
    size_t total = 0;
    for (int t = 0; t < ntensors; t++)
        total += n[t];
    struct rank *r = malloc((total ? total : 1) * sizeof *r);
    if (!r)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "pruning ranks (%zu weights)", total);
    size_t k = 0;
    for (int t = 0; t < ntensors; t++)
        for (size_t i = 0; i < n[t]; i++, k++) {
            float v = fabsf(w[t][i]);
            if (isnan(v)) {
                free(r);
                return CGPC_FAIL(err, CGPC_ERR_ARG, "tensor %d weight %zu is NaN", t, i);
            }
            r[k].a = v;
            r[k].pos = k;
            mask[t][i] = 1;
        }
    qsort(r, total, sizeof *r, rank_cmp);
    size_t np = cpr_prune_count(total, sparsity);
    for (size_t j = 0; j < np; j++) {
        size_t pos = r[j].pos;
        int t = 0;
        while (pos >= n[t])
            pos -= n[t++];
        mask[t][pos] = 0;
    }
    if (threshold)
        *threshold = np ? r[np - 1].a : 0.0f;
    free(r);
    return CGPC_OK;
}

cgpc_status cpr_prune_layer(const float *w, size_t n, double sparsity, uint8_t *mask,
                            struct cgpc_err *err)
{
    return cpr_prune_global(&w, &n, 1, sparsity, &mask, NULL, err);
}

size_t cpr_mask_count(const uint8_t *mask, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += mask[i] != 0;
    return c;
}

void cpr_mask_apply(float *w, const uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!mask[i])
            w[i] = 0.0f;
}
