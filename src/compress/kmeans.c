#include "compress/kmeans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

static const char *init_names[] = {"linear", "density", "random"};

const char *cpr_init_name(enum cpr_init init)
{
    return init_names[init];
}

int cpr_init_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, init_names[i]) == 0)
            return i;
    return -1;
}

static int float_cmp(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

cgpc_status cpr_kmeans_init(const float *w, const uint8_t *mask, size_t n, int k,
                            enum cpr_init init, uint64_t seed, float *c, struct cgpc_err *err)
{
    if (k < 1 || k > (1 << CPR_MAX_BITS))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%d clusters: expected 1..%d", k, 1 << CPR_MAX_BITS);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += !mask || mask[i];
    if (m == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "k-means: no kept weights to cluster");
    float *s = malloc(m * sizeof *s);
    if (!s)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "k-means: %zu weights", m);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (!mask || mask[i])
            s[j++] = w[i];
    if (init == CPR_INIT_RANDOM) {
        /* Forgy: partial Fisher-Yates over the kept positions */
        uint32_t *perm = malloc(m * sizeof *perm);
        if (!perm) {
            free(s);
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "k-means: %zu weights", m);
        }
        for (size_t i = 0; i < m; i++)
            perm[i] = (uint32_t)i;
        cgpc_rng r;
        cgpc_rng_seed(&r, seed, 0x6b6d65616e73ull, 0);
        for (int q = 0; q < k; q++) {
            if ((size_t)q >= m) { /* fewer kept weights than clusters: repeat them */
                c[q] = c[(size_t)q % m];
                continue;
            }
            size_t pick = (size_t)q + cgpc_rng_below(&r, (uint32_t)(m - (size_t)q));
            uint32_t t = perm[q];
            perm[q] = perm[pick];
            perm[pick] = t;
            c[q] = s[perm[q]];
        }
        free(perm);
        qsort(c, (size_t)k, sizeof *c, float_cmp);
        free(s);
        return CGPC_OK;
    }
    qsort(s, m, sizeof *s, float_cmp);
    for (int q = 0; q < k; q++) {
        if (init == CPR_INIT_LINEAR)
            c[q] = k == 1 ? (float)(0.5 * ((double)s[0] + (double)s[m - 1]))
                          : (float)((double)s[0] +
                                    ((double)s[m - 1] - (double)s[0]) * q / (k - 1));
        else
            c[q] = s[(size_t)floor((q + 0.5) * (double)m / k)];
    }
    free(s);
    return CGPC_OK;
}

int cpr_nearest(const float *c, int k, float x)
{
    /* p = first centroid >= x; the nearest is p or the first centroid equal to c[p-1] */
    int lo = 0, hi = k;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (c[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == k)
        lo = k - 1;
    int best = lo;
    if (lo > 0 && c[lo - 1] < x) {
        int q = lo - 1;
        while (q > 0 && c[q - 1] == c[q])
            q--;
        double dq = fabs((double)x - (double)c[q]), dl = fabs((double)x - (double)c[lo]);
        if (dq <= dl)
            best = q;
    }
    return best;
}

cgpc_status cpr_kmeans_run(const float *w, const uint8_t *mask, size_t n, int k, int max_iter,
                           float *c, uint16_t *assign, int *iters, struct cgpc_err *err)
{
    double *sum = calloc((size_t)k, sizeof *sum);
    size_t *cnt = calloc((size_t)k, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "k-means sums");
    }
    for (size_t i = 0; i < n; i++)
        assign[i] = CPR_PRUNED;
    int it = 0;
    for (;;) {
        int changed = 0;
        for (size_t i = 0; i < n; i++)
            if (!mask || mask[i]) {
                uint16_t a = (uint16_t)cpr_nearest(c, k, w[i]);
                changed |= a != assign[i];
                assign[i] = a;
            }
        if (!changed || it >= max_iter)
            break;
        it++;
        memset(sum, 0, (size_t)k * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            if (!mask || mask[i]) {
                sum[assign[i]] += (double)w[i];
                cnt[assign[i]]++;
            }
        for (int q = 0; q < k; q++)
            if (cnt[q])
                c[q] = (float)(sum[q] / (double)cnt[q]);
    }
    if (iters)
        *iters = it;
    free(sum);
    free(cnt);
    return CGPC_OK;
}

cgpc_status cpr_kmeans(const float *w, const uint8_t *mask, size_t n, int k, enum cpr_init init,
                       uint64_t seed, int max_iter, float *c, uint16_t *assign,
                       struct cgpc_err *err)
{
    cgpc_status st = cpr_kmeans_init(w, mask, n, k, init, seed, c, err);
    return st ? st : cpr_kmeans_run(w, mask, n, k, max_iter, c, assign, NULL, err);
}

void cpr_share_apply(float *w, const uint16_t *assign, size_t n, const float *c)
{
    for (size_t i = 0; i < n; i++)
        w[i] = assign[i] == CPR_PRUNED ? 0.0f : c[assign[i]];
}

void cpr_centroid_grad(const float *grad, const uint16_t *assign, size_t n, int k, float *gc)
{
    memset(gc, 0, (size_t)k * sizeof *gc);
    for (size_t i = 0; i < n; i++)
        if (assign[i] != CPR_PRUNED)
            gc[assign[i]] += grad[i];
}
