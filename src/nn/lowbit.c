/* lowbit.c - the low-bit quantization kernels (see lowbit.h for the exact definitions). */
#include "nn/lowbit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {"midrise", "round", "stochastic", "multipoint",
                                           "fp16"};
static const char *const landmark_names[] = {"uniform", "histogram", "normal"};

const char *lowbit_method_name(enum lowbit_method m) { return method_names[m]; }
const char *lowbit_landmarks_name(enum lowbit_landmarks l) { return landmark_names[l]; }

cgpc_status lowbit_method_parse(const char *s, enum lowbit_method *m, struct cgpc_err *err)
{
    for (int i = 0; i < (int)(sizeof method_names / sizeof *method_names); i++)
        if (strcmp(s, method_names[i]) == 0) {
            *m = (enum lowbit_method)i;
            return CGPC_OK;
        }
    return CGPC_FAIL(err, CGPC_ERR_ARG,
                     "'%s': expected midrise, round, stochastic, multipoint or fp16", s);
}

cgpc_status lowbit_landmarks_parse(const char *s, enum lowbit_landmarks *l,
                                   struct cgpc_err *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, landmark_names[i]) == 0) {
            *l = (enum lowbit_landmarks)i;
            return CGPC_OK;
        }
    return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected uniform, histogram or normal", s);
}

/* ---- mid-rise ---------------------------------------------------------------------------- */

float lowbit_midrise_delta(const float *w, size_t n, int bits)
{
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++)
        amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
    float d = 2.0f * amax / (float)(1 << bits);
    return d > FLT_MIN ? d : FLT_MIN;
}

void lowbit_midrise_codes(const float *w, size_t n, int bits, float delta, uint8_t *codes)
{
    int half = 1 << (bits - 1), top = (1 << bits) - 1;
    for (size_t i = 0; i < n; i++) {
        float k = floorf(w[i] / delta) + (float)half;
        codes[i] = (uint8_t)(k < 0.0f ? 0 : k > (float)top ? top : (int)k);
    }
}

/* ---- landmark sets ----------------------------------------------------------------------- */

static void min_max(const float *w, size_t n, float *lo, float *hi)
{
    *lo = n ? w[0] : 0.0f;
    *hi = *lo;
    for (size_t i = 1; i < n; i++) {
        *lo = w[i] < *lo ? w[i] : *lo;
        *hi = w[i] > *hi ? w[i] : *hi;
    }
}

void lowbit_landmarks_uniform(const float *w, size_t n, int bits, float *lm)
{
    int nl = 1 << bits;
    float lo, hi;
    min_max(w, n, &lo, &hi);
    float step = (hi - lo) / (float)nl;
    for (int k = 0; k < nl; k++)
        lm[k] = lo + ((float)k + 0.5f) * step;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void lowbit_landmarks_histogram(const float *w, size_t n, int bits, float *scratch, float *lm)
{
    int nl = 1 << bits;
    memcpy(scratch, w, n * sizeof *w);
    qsort(scratch, n, sizeof *scratch, cmp_float);
    for (int k = 0; k < nl; k++) {
        size_t i = ((2 * (size_t)k + 1) * n) / (2 * (size_t)nl);
        lm[k] = n ? scratch[i < n ? i : n - 1] : 0.0f;
    }
}

double lowbit_normal_quantile(double p)
{
    double lo = -40.0, hi = 40.0;
    for (int it = 0; it < 200 && hi - lo > 0.0; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void lowbit_landmarks_normal(const float *w, size_t n, int bits, float *lm)
{
    int nl = 1 << bits;
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        s += w[i];
    double mu = n ? s / (double)n : 0.0;
    for (size_t i = 0; i < n; i++)
        ss += ((double)w[i] - mu) * ((double)w[i] - mu);
    double sd = n ? sqrt(ss / (double)n) : 0.0;
    for (int k = 0; k < nl; k++)
        lm[k] = (float)(mu + sd * lowbit_normal_quantile(((double)k + 0.5) / (double)nl));
}

/* ---- rounding ---------------------------------------------------------------------------- */

/* First index j in [0, nl] with lm[j] >= x. */
static int lower_bound(const float *lm, int nl, float x)
{
    int lo = 0, hi = nl;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (lm[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void lowbit_round(const float *w, size_t n, const float *lm, int nl, uint8_t *codes)
{
    for (size_t i = 0; i < n; i++) {
        int j = lower_bound(lm, nl, w[i]);
        if (j == nl)
            j = nl - 1;
        else if (j > 0 && w[i] - lm[j - 1] <= lm[j] - w[i])
            j = lower_bound(lm, nl, lm[j - 1]); /* smallest index of that value */
        codes[i] = (uint8_t)j;
    }
}

void lowbit_stochastic(const float *w, size_t n, const float *lm, int nl, cgpc_rng *r,
                       uint8_t *codes)
{
    for (size_t i = 0; i < n; i++) {
        float u = cgpc_rng_float(r); /* one draw per weight, always */
        int j = lower_bound(lm, nl, w[i]);
        if (j == nl)
            j = nl - 1;
        else if (j > 0 && lm[j] > w[i]) {
            double a = lm[j - 1], b = lm[j];
            if (!((double)u < ((double)w[i] - a) / (b - a)))
                j = lower_bound(lm, nl, lm[j - 1]);
        }
        codes[i] = (uint8_t)j;
    }
}

/* ---- multi-point ------------------------------------------------------------------------- */

int lowbit_multipoint(const float *w, size_t groups, size_t per, int bits, int max_points,
                      double tol, uint8_t *codes, float *alpha, double *scratch)
{
    size_t n = groups * per;
    int top = (1 << bits) - 1;
    double eps = 2.0 / (double)top, wn = 0.0;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = w[i];
        wn += (double)w[i] * w[i];
    }
    int p = 0;
    while (p < max_points) {
        uint8_t *c = codes + (size_t)p * n;
        double rn = 0.0;
        for (size_t g = 0; g < groups; g++) {
            double *r = scratch + g * per, a = 0.0, rg = 0.0, gg = 0.0;
            for (size_t i = 0; i < per; i++)
                a = fabs(r[i]) > a ? fabs(r[i]) : a;
            for (size_t i = 0; i < per; i++) {
                double k = a > 0.0 ? floor((r[i] / a + 1.0) / eps + 0.5) : floor(1.0 / eps + 0.5);
                k = k < 0.0 ? 0.0 : k > top ? top : k;
                c[g * per + i] = (uint8_t)k;
                double gv = lowbit_grid_value((int)k, bits);
                rg += r[i] * gv;
                gg += gv * gv;
            }
            float al = gg > 0.0 ? (float)(rg / gg) : 0.0f;
            alpha[g * (size_t)max_points + (size_t)p] = al;
            for (size_t i = 0; i < per; i++) {
                r[i] -= (double)al * lowbit_grid_value(c[g * per + i], bits);
                rn += r[i] * r[i];
            }
        }
        p++;
        if (rn <= tol * tol * wn)
            break;
    }
    return p;
}

void lowbit_multipoint_decode(const uint8_t *codes, size_t stride, size_t n, int bits,
                              const float *alpha, int points, float *out)
{
    for (size_t i = 0; i < n; i++) {
        float acc = 0.0f;
        for (int p = 0; p < points; p++)
            acc += alpha[p] * (float)lowbit_grid_value(codes[(size_t)p * stride + i], bits);
        out[i] = acc;
    }
}

/* ---- fp16 -------------------------------------------------------------------------------- */

uint16_t lowbit_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) /* inf or nan (quiet, keep some payload) */
        return (uint16_t)(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u | ((ax >> 13) & 0x3FFu) : 0));
    if (ax >= 0x477FF000u) /* rounds to >= 65520: overflow */
        return (uint16_t)(sign | 0x7C00u);
    if (ax < 0x38800000u) { /* below the smallest normal half 2^-14: subnormal or zero */
        if (ax < 0x33000000u) /* < 2^-25: rounds to zero (2^-25 itself ties to even 0) */
            return (uint16_t)sign;
        /* value = mant 2^(e - 150); in half-subnormal units of 2^-24: mant >> (126 - e) */
        uint32_t e = ax >> 23, mant = (ax & 0x7FFFFFu) | 0x800000u, shift = 126 - e;
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13), rem = ax & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | h);
}

float lowbit_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, x;
    if (e == 0x1F)
        x = sign | 0x7F800000u | (mant << 13);
    else if (e == 0) {
        float v = (float)mant * 0x1.0p-24f;
        return sign ? -v : v;
    } else
        x = sign | ((e + 112u) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* ---- packing ----------------------------------------------------------------------------- */

size_t lowbit_packed_bytes(size_t n, int bits) { return (n * (size_t)bits + 7) / 8; }

void lowbit_pack(const uint8_t *codes, size_t n, int bits, uint8_t *out)
{
    memset(out, 0, lowbit_packed_bytes(n, bits));
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * (size_t)bits;
        uint32_t v = (uint32_t)(codes[i] & ((1u << bits) - 1)) << (bit & 7);
        out[bit >> 3] |= (uint8_t)v;
        if ((bit & 7) + (size_t)bits > 8)
            out[(bit >> 3) + 1] |= (uint8_t)(v >> 8);
    }
}

void lowbit_unpack(const uint8_t *in, size_t n, int bits, uint8_t *codes)
{
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * (size_t)bits;
        uint32_t v = in[bit >> 3];
        if ((bit & 7) + (size_t)bits > 8)
            v |= (uint32_t)in[(bit >> 3) + 1] << 8;
        codes[i] = (uint8_t)((v >> (bit & 7)) & ((1u << bits) - 1));
    }
}
