#include "nn/batch.h"

#include <string.h>

#include "nn/eval.h"
#include "nn/vec.h"

#define NN_B NN_BATCH

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define NN_HAVE_VNNI 1
#else
#define NN_HAVE_VNNI 0
#endif

int nn_batch_has_vnni(void) { return NN_HAVE_VNNI; }

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Store one output vector through the fused activation: nn_act_forward's arithmetic for
 * ReLU and ReLU6; tanh (LeNet-5) is left to a pass of nn_act_forward afterwards. */
static inline void act_store_f32(enum nn_act act, nn_v16f v, float *y)
{
    if (act == NN_ACT_RELU || act == NN_ACT_RELU6) {
        /* lane masks (all ones where true): x > 0 ? x : 0, then x < 6 ? x : 6 */
        nn_v16i pos = v > nn_v16f_splat(0.0f);
        v = (nn_v16f)(pos & (nn_v16i)v);
        if (act == NN_ACT_RELU6) {
            nn_v16f six = nn_v16f_splat(6.0f);
            nn_v16i below = v < six;
            v = (nn_v16f)((below & (nn_v16i)v) | (~below & (nn_v16i)six));
        }
    }
    memcpy(y, &v, sizeof v);
}

/* ---- GEMM: y[OC][N] = w[OC][C] x[C][N], N = positions x NN_B lanes ---------------------- *
 * Register tiles of MR output channels x NR vectors (16 columns each) of accumulators: per
 * ic, NR loads of x and MR broadcast weights feed MR*NR vector multiply-adds. The tile
 * shapes are compile-time constants (always_inline + constant arguments), so the
 * accumulators live in registers: 4x4 when a row has >= 4 vectors (maps of 2x2 and more),
 * else 8x1 (1x1 maps: the last MobileNetV2 layers and linear layers). */

struct gemm_f32 {
    const float *w, *b; /* w[OC][C]; b[OC] or NULL */
    int C, bias_last;   /* bias_last: linear (bias added after the sum), else conv */
    enum nn_act act;    /* fused activation (tanh: applied by the caller afterwards) */
    const float *x;     /* [C][N] */
    size_t N;
    float *y;           /* [OC][N] */
};

static inline __attribute__((always_inline)) void gemm_f32_tile(const struct gemm_f32 *g, int o,
                                                                size_t n0, int MR, int NR)
{
    const float *restrict w = g->w + (size_t)o * g->C;
    const float *restrict x = g->x + n0;
    size_t N = g->N;
    nn_v16f acc[8][4];
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            acc[m][r] = nn_v16f_splat(g->b && !g->bias_last ? g->b[o + m] : 0.0f);
    for (int ic = 0; ic < g->C; ic++) {
        nn_v16f xv[4];
        for (int r = 0; r < NR; r++)
            xv[r] = nn_v16f_load(x + (size_t)ic * N + 16 * r);
        for (int m = 0; m < MR; m++) {
            nn_v16f wv = nn_v16f_splat(w[(size_t)m * g->C + ic]);
            for (int r = 0; r < NR; r++)
                acc[m][r] += wv * xv[r]; /* separate multiply and add: the reference's rounding */
        }
    }
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++) {
            nn_v16f v = acc[m][r];
            if (g->b && g->bias_last)
                v += nn_v16f_splat(g->b[o + m]);
            act_store_f32(g->act, v, g->y + (size_t)(o + m) * N + n0 + 16 * r);
        }
}

/* int8: acc from bias - x_zp * sum(w) (so x enters as raw codes), requantized per vector. */
struct gemm_u8 {
    const int8_t *w;       /* [OC][C] */
    const int32_t *bias;   /* [OC] or NULL */
    const float *mult;     /* [OC] */
    int C, x_zp, y_zp, qmin, qmax;
    const uint8_t *x;      /* [C][N], or for VNNI [C/4][N][4] (channel quads interleaved) */
    size_t N;
    uint8_t *y;            /* [OC][N] */
};

static inline int32_t gemm_u8_base(const struct gemm_u8 *g, int oc)
{
    const int8_t *wo = g->w + (size_t)oc * g->C;
    int32_t wsum = 0;
    for (int ic = 0; ic < g->C; ic++)
        wsum += wo[ic];
    return (g->bias ? g->bias[oc] : 0) - g->x_zp * wsum;
}

static inline void requant16(const void *acc, float mult, int y_zp, int qmin, int qmax,
                             uint8_t *restrict y)
{
    int32_t a[NN_B];
    memcpy(a, acc, sizeof a);
    for (int l = 0; l < NN_B; l++)
        y[l] = nn_requantize(a[l], mult, y_zp, qmin, qmax);
}

static inline void gemm_u8_store(const struct gemm_u8 *g, int oc, size_t n, const void *acc)
{
    requant16(acc, g->mult[oc], g->y_zp, g->qmin, g->qmax, g->y + (size_t)oc * g->N + n);
}

static inline __attribute__((always_inline)) void gemm_u8_tile(const struct gemm_u8 *g, int o,
                                                               size_t n0, int MR, int NR)
{
    const int8_t *restrict w = g->w + (size_t)o * g->C;
    const uint8_t *restrict x = g->x + n0;
    size_t N = g->N;
    nn_v16i acc[8][4];
    for (int m = 0; m < MR; m++) {
        int32_t base = gemm_u8_base(g, o + m);
        for (int r = 0; r < NR; r++)
            acc[m][r] = nn_v16i_splat(base);
    }
    for (int ic = 0; ic < g->C; ic++) {
        nn_v16i xv[4];
        for (int r = 0; r < NR; r++)
            xv[r] = nn_v16i_load_u8(x + (size_t)ic * N + 16 * r);
        for (int m = 0; m < MR; m++) {
            nn_v16i wv = nn_v16i_splat(w[(size_t)m * g->C + ic]);
            for (int r = 0; r < NR; r++)
                acc[m][r] += wv * xv[r];
        }
    }
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            gemm_u8_store(g, o + m, n0 + 16 * (size_t)r, &acc[m][r]);
}

#if NN_HAVE_VNNI
/* VNNI tile: x is channel-quad interleaved, xq[C/4][N][4], so one 64-byte load holds 4
 * channels of 16 columns and vpdpbusd adds, per int32 lane, the 4 products u8 x s8 with the
 * 4 weights w[oc][4k..4k+3] (contiguous in w: one 32-bit broadcast). C % 4 == 0. */
static inline __attribute__((always_inline)) void gemm_vnni_tile(const struct gemm_u8 *g, int o,
                                                                 size_t n0, int MR, int NR)
{
    const int8_t *w = g->w + (size_t)o * g->C;
    const uint8_t *x = g->x + n0 * 4;
    size_t N = g->N;
    __m512i acc[8][4];
    for (int m = 0; m < MR; m++) {
        __m512i base = _mm512_set1_epi32(gemm_u8_base(g, o + m));
        for (int r = 0; r < NR; r++)
            acc[m][r] = base;
    }
    for (int c4 = 0; c4 < g->C / 4; c4++) {
        __m512i xv[4];
        for (int r = 0; r < NR; r++)
            xv[r] = _mm512_loadu_si512(x + ((size_t)c4 * N + 16 * (size_t)r) * 4);
        for (int m = 0; m < MR; m++) {
            int32_t quad;
            memcpy(&quad, w + (size_t)m * g->C + 4 * c4, 4);
            __m512i wv = _mm512_set1_epi32(quad);
            for (int r = 0; r < NR; r++)
                acc[m][r] = _mm512_dpbusd_epi32(acc[m][r], xv[r], wv);
        }
    }
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            gemm_u8_store(g, o + m, n0 + 16 * (size_t)r, &acc[m][r]);
}
#endif

/* Tile functions with constant shapes, and the driver that covers [OC] x [N] with them. */
#define NN_GEMM_TILES(kind, ctx)                                                             \
    static void kind##_4x4(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 4, 4); }     \
    static void kind##_1x4(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 1, 4); }     \
    static void kind##_8x1(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 8, 1); }     \
    static void kind##_4x1(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 4, 1); }     \
    static void kind##_1x1(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 1, 1); }     \
    static void kind##_cols(const ctx *g, int o, void (*wide)(const ctx *, int, size_t),      \
                            void (*narrow)(const ctx *, int, size_t))                         \
    {                                                                                         \
        size_t nv = g->N / 16, v = 0;                                                         \
        if (wide)                                                                             \
            for (; v + 4 <= nv; v += 4)                                                       \
                wide(g, o, 16 * v);                                                           \
        for (; v < nv; v++)                                                                   \
            narrow(g, o, 16 * v);                                                             \
    }                                                                                         \
    static void kind##_run(const ctx *g, int OC)                                              \
    {                                                                                         \
        int o = 0;                                                                            \
        if (g->N >= 64)                                                                       \
            for (; o + 4 <= OC; o += 4)                                                       \
                kind##_cols(g, o, kind##_4x4, kind##_4x1);                                    \
        for (; o + 8 <= OC; o += 8)                                                           \
            kind##_cols(g, o, NULL, kind##_8x1);                                              \
        for (; o + 4 <= OC; o += 4)                                                           \
            kind##_cols(g, o, NULL, kind##_4x1);                                              \
        for (; o < OC; o++)                                                                   \
            kind##_cols(g, o, kind##_1x4, kind##_1x1);                                        \
    }

NN_GEMM_TILES(gemm_f32, struct gemm_f32)
NN_GEMM_TILES(gemm_u8, struct gemm_u8)
#if NN_HAVE_VNNI
NN_GEMM_TILES(gemm_vnni, struct gemm_u8)

/* x[C][N] -> xq[C/4][N][4] */
static void interleave_quads(const uint8_t *restrict x, int C, size_t N, uint8_t *restrict xq)
{
    for (int c4 = 0; c4 < C / 4; c4++) {
        const uint8_t *x0 = x + (size_t)4 * c4 * N, *x1 = x0 + N, *x2 = x1 + N, *x3 = x2 + N;
        uint8_t *q = xq + (size_t)c4 * N * 4;
        for (size_t n = 0; n < N; n++) {
            q[4 * n] = x0[n];
            q[4 * n + 1] = x1[n];
            q[4 * n + 2] = x2[n];
            q[4 * n + 3] = x3[n];
        }
    }
}
#endif

/* ---- direct convolution (any kernel, stride, padding, groups) ---------------------------- *
 * Interior outputs (every tap inside the map) go in tiles of MR output channels x NR
 * consecutive positions of one output row: per tap, NR vector loads and MR broadcast weights
 * feed MR*NR multiply-adds. Border outputs take one vector each and skip the padding taps.
 * Every output sums its taps in (ic, ky, kx) order from the bias, like the reference. */

struct dconv {
    const void *x, *w;      /* x[C][H][W][B] (float or quint8), w[OC][cg][KH][KW] */
    const void *b;          /* float b[OC] / int32 bias[OC], or NULL */
    int cg, ocg, H, W, KH, KW, stride, pad, OH, OW;
    void *y;                /* [OC][OH][OW][B] */
    enum nn_act act;        /* float: fused activation (tanh: applied by the caller) */
    /* int8 only */
    const float *mult;
    int x_zp, y_zp, qmin, qmax;
};

/* Offset of x[ic][iy][ix] in the group of output channel oc: group base + this. */
static inline size_t dconv_group(const struct dconv *g, int oc)
{
    return (size_t)(oc / g->ocg) * g->cg * g->H * g->W * NN_B;
}

/* Distance between the input planes of output channels oc and oc+1 when every group has one
 * output channel (depthwise), else 0 (a tile's channels share one group's input). */
static inline size_t dconv_plane_step(const struct dconv *g)
{
    return g->ocg == 1 ? (size_t)g->cg * g->H * g->W * NN_B : 0;
}

static inline size_t dconv_xoff(const struct dconv *g, int ic, int iy, int ix)
{
    return (((size_t)ic * g->H + iy) * g->W + ix) * NN_B;
}

static inline size_t dconv_yoff(const struct dconv *g, int oc, int oy, int ox)
{
    return (((size_t)oc * g->OH + oy) * g->OW + ox) * NN_B;
}

static inline __attribute__((always_inline)) void dconv_f32_tile(const struct dconv *g, int oc,
                                                                 int oy, int ox, int MR, int NR)
{
    const float *x = (const float *)g->x + dconv_group(g, oc), *w = g->w, *b = g->b;
    int K = g->cg * g->KH * g->KW, iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
    nn_v16f acc[4][8];
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            acc[m][r] = nn_v16f_splat(b ? b[oc + m] : 0.0f);
    size_t xm = dconv_plane_step(g);
    for (int ic = 0; ic < g->cg; ic++)
        for (int ky = 0; ky < g->KH; ky++)
            for (int kx = 0; kx < g->KW; kx++) {
                const float *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);
                int k = (ic * g->KH + ky) * g->KW + kx;
                if (xm) { /* one output channel per group: each reads its own plane */
                    for (int m = 0; m < MR; m++) {
                        nn_v16f wv = nn_v16f_splat(w[(size_t)(oc + m) * K + k]);
                        for (int r = 0; r < NR; r++)
                            acc[m][r] += wv * nn_v16f_load(xp + m * xm +
                                                           (size_t)r * g->stride * NN_B);
                    }
                    continue;
                }
                nn_v16f xv[8];
                for (int r = 0; r < NR; r++)
                    xv[r] = nn_v16f_load(xp + (size_t)r * g->stride * NN_B);
                for (int m = 0; m < MR; m++) {
                    nn_v16f wv = nn_v16f_splat(w[(size_t)(oc + m) * K + k]);
                    for (int r = 0; r < NR; r++)
                        acc[m][r] += wv * xv[r];
                }
            }
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            act_store_f32(g->act, acc[m][r], (float *)g->y + dconv_yoff(g, oc + m, oy, ox + r));
}

/* Taps [k0, k1) of one axis that land inside [0, n) for output o. */
static inline void tap_span(int o, int stride, int pad, int k, int n, int *k0, int *k1)
{
    int i0 = o * stride - pad;
    *k0 = i0 < 0 ? -i0 : 0;
    *k1 = n - i0 < k ? n - i0 : k;
}

/* Border output (oy, ox) of MR consecutive output channels (MR > 1: one output channel per
 * group, or a block inside one group). */
static inline __attribute__((always_inline)) void dconv_f32_border(const struct dconv *g, int oc,
                                                                   int oy, int ox, int MR)
{
    const float *x = (const float *)g->x + dconv_group(g, oc), *w = g->w, *b = g->b;
    int K = g->cg * g->KH * g->KW, ky0, ky1, kx0, kx1;
    int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
    size_t xm = dconv_plane_step(g);
    tap_span(oy, g->stride, g->pad, g->KH, g->H, &ky0, &ky1);
    tap_span(ox, g->stride, g->pad, g->KW, g->W, &kx0, &kx1);
    nn_v16f acc[4];
    for (int m = 0; m < MR; m++)
        acc[m] = nn_v16f_splat(b ? b[oc + m] : 0.0f);
    for (int ic = 0; ic < g->cg; ic++)
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++) {
                const float *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);
                int k = (ic * g->KH + ky) * g->KW + kx;
                for (int m = 0; m < MR; m++)
                    acc[m] += nn_v16f_splat(w[(size_t)(oc + m) * K + k]) *
                              nn_v16f_load(xp + m * xm);
            }
    for (int m = 0; m < MR; m++)
        act_store_f32(g->act, acc[m], (float *)g->y + dconv_yoff(g, oc + m, oy, ox));
}

static inline __attribute__((always_inline)) void dconv_u8_tile(const struct dconv *g, int oc,
                                                                int oy, int ox, int MR, int NR)
{
    const uint8_t *x = (const uint8_t *)g->x + dconv_group(g, oc);
    const int8_t *w = g->w;
    const int32_t *b = g->b;
    int K = g->cg * g->KH * g->KW, iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
    nn_v16i acc[4][8], zp = nn_v16i_splat(g->x_zp);
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            acc[m][r] = nn_v16i_splat(b ? b[oc + m] : 0);
    size_t xm = dconv_plane_step(g);
    for (int ic = 0; ic < g->cg; ic++)
        for (int ky = 0; ky < g->KH; ky++)
            for (int kx = 0; kx < g->KW; kx++) {
                const uint8_t *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);
                int k = (ic * g->KH + ky) * g->KW + kx;
                if (xm) { /* one output channel per group: each reads its own plane */
                    for (int m = 0; m < MR; m++) {
                        nn_v16i wv = nn_v16i_splat(w[(size_t)(oc + m) * K + k]);
                        for (int r = 0; r < NR; r++)
                            acc[m][r] += wv * (nn_v16i_load_u8(xp + m * xm +
                                                               (size_t)r * g->stride * NN_B) -
                                               zp);
                    }
                    continue;
                }
                nn_v16i xv[8];
                for (int r = 0; r < NR; r++)
                    xv[r] = nn_v16i_load_u8(xp + (size_t)r * g->stride * NN_B) - zp;
                for (int m = 0; m < MR; m++) {
                    nn_v16i wv = nn_v16i_splat(w[(size_t)(oc + m) * K + k]);
                    for (int r = 0; r < NR; r++)
                        acc[m][r] += wv * xv[r];
                }
            }
    for (int m = 0; m < MR; m++)
        for (int r = 0; r < NR; r++)
            requant16(&acc[m][r], g->mult[oc + m], g->y_zp, g->qmin, g->qmax,
                      (uint8_t *)g->y + dconv_yoff(g, oc + m, oy, ox + r));
}

static inline __attribute__((always_inline)) void dconv_u8_border(const struct dconv *g, int oc,
                                                                  int oy, int ox, int MR)
{
    const uint8_t *x = (const uint8_t *)g->x + dconv_group(g, oc);
    const int8_t *w = g->w;
    const int32_t *b = g->b;
    int K = g->cg * g->KH * g->KW, ky0, ky1, kx0, kx1;
    int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
    size_t xm = dconv_plane_step(g);
    tap_span(oy, g->stride, g->pad, g->KH, g->H, &ky0, &ky1);
    tap_span(ox, g->stride, g->pad, g->KW, g->W, &kx0, &kx1);
    nn_v16i acc[4], zp = nn_v16i_splat(g->x_zp);
    for (int m = 0; m < MR; m++)
        acc[m] = nn_v16i_splat(b ? b[oc + m] : 0);
    for (int ic = 0; ic < g->cg; ic++)
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++) {
                const uint8_t *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);
                int k = (ic * g->KH + ky) * g->KW + kx;
                for (int m = 0; m < MR; m++)
                    acc[m] += nn_v16i_splat(w[(size_t)(oc + m) * K + k]) *
                              (nn_v16i_load_u8(xp + m * xm) - zp);
            }
    for (int m = 0; m < MR; m++)
        requant16(&acc[m], g->mult[oc + m], g->y_zp, g->qmin, g->qmax,
                  (uint8_t *)g->y + dconv_yoff(g, oc + m, oy, ox));
}

/* Tiles of constant shape and the driver: output channels in blocks of 4 (inside one group,
 * or 4 depthwise channels; 1 for the rest), interior positions of each row in runs of 4
 * (single channels: 8, 4, 1), border positions one at a time. */
#define NN_DCONV(kind)                                                                         \
    static void kind##_4x4(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 4, 4);                                                      \
    }                                                                                          \
    static void kind##_4x1(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 4, 1);                                                      \
    }                                                                                          \
    static void kind##_1x8(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, 8);                                                      \
    }                                                                                          \
    static void kind##_1x4(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, 4);                                                      \
    }                                                                                          \
    static void kind##_1x1(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, 1);                                                      \
    }                                                                                          \
    static void kind##_run(const struct dconv *g, int OC)                                      \
    {                                                                                          \
        int lo, hi, ylo, yhi;                                                                  \
        interior(g->OW, g->W, g->KW, g->stride, g->pad, &lo, &hi);                             \
        interior(g->OH, g->H, g->KH, g->stride, g->pad, &ylo, &yhi);                           \
        for (int oc = 0; oc < OC;) {                                                           \
            int mr = (g->ocg == 1 ? oc + 4 <= OC : (oc % g->ocg) + 4 <= g->ocg) ? 4 : 1;      \
            void (*wide)(const struct dconv *, int, int, int) = mr == 4 ? kind##_4x4           \
                                                                        : kind##_1x8;          \
            void (*narrow)(const struct dconv *, int, int, int) = mr == 4 ? kind##_4x1         \
                                                                          : kind##_1x1;        \
            int nr = mr == 4 ? 4 : 8;                                                          \
            for (int oy = 0; oy < g->OH; oy++) {                                               \
                int a = oy >= ylo && oy < yhi ? lo : g->OW, z = oy >= ylo && oy < yhi ? hi : 0; \
                int ox = a;                                                                    \
                for (; ox + nr <= z; ox += nr)                                                 \
                    wide(g, oc, oy, ox);                                                       \
                for (; mr == 1 && ox + 4 <= z; ox += 4)                                        \
                    kind##_1x4(g, oc, oy, ox);                                                 \
                for (; ox < z; ox++)                                                           \
                    narrow(g, oc, oy, ox);                                                     \
                for (int bx = 0; bx < g->OW; bx++) {                                           \
                    if (bx >= a && bx < z) { /* the interior run, done above */                \
                        bx = z - 1;                                                            \
                        continue;                                                              \
                    }                                                                          \
                    if (mr == 4)                                                               \
                        kind##_border(g, oc, oy, bx, 4);                                       \
                    else                                                                       \
                        kind##_border(g, oc, oy, bx, 1);                                       \
                }                                                                              \
            }                                                                                  \
            oc += mr;                                                                          \
        }                                                                                      \
    }

/* Outputs [lo, hi) of one axis whose taps all lie inside [0, n). */
static void interior(int on, int n, int k, int stride, int pad, int *lo, int *hi)
{
    int a = 0, z = on;
    while (a < on && a * stride - pad < 0)
        a++;
    while (z > a && (z - 1) * stride - pad + k > n)
        z--;
    *lo = a;
    *hi = z;
}

NN_DCONV(dconv_f32)
NN_DCONV(dconv_u8)

void nn_bconv2d(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
                int KH, int KW, int stride, int pad, int groups, enum nn_act act, float *y)
{
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        struct gemm_f32 g = {w, b, C, 0, act, x, (size_t)H * W * NN_B, y};
        gemm_f32_run(&g, OC);
    } else {
        struct dconv g = {x, w, b, C / groups, OC / groups, H, W, KH, KW, stride, pad,
                          nn_conv_out(H, KH, stride, pad), nn_conv_out(W, KW, stride, pad), y,
                          act, NULL, 0, 0, 0, 0};
        dconv_f32_run(&g, OC);
    }
    if (act == NN_ACT_TANH)
        nn_act_forward(act, y, (size_t)OC * nn_conv_out(H, KH, stride, pad) *
                                   nn_conv_out(W, KW, stride, pad) * NN_B);
}

void nn_blinear(const float *x, int IN, const float *w, const float *b, int OUT, enum nn_act act,
                float *y)
{
    struct gemm_f32 g = {w, b, IN, 1, act, x, NN_B, y};
    gemm_f32_run(&g, OUT);
    if (act == NN_ACT_TANH)
        nn_act_forward(act, y, (size_t)OUT * NN_B);
}

static void bqconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                     const int32_t *bias, int OC, int KH, int KW, int stride, int pad,
                     int groups, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                     uint8_t *scratch, int vnni)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int cg = C / groups, ocg = OC / groups;
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        struct gemm_u8 g = {w, bias, mult, C, x_zp, y_zp, qmin, qmax, x, (size_t)H * W * NN_B, y};
#if NN_HAVE_VNNI
        if (vnni && C % 4 == 0) {
            interleave_quads(x, C, g.N, scratch);
            g.x = scratch;
            gemm_vnni_run(&g, OC);
            return;
        }
#else
        (void)vnni;
        (void)scratch;
#endif
        gemm_u8_run(&g, OC);
        return;
    }
    struct dconv g = {x, w, bias, cg, ocg, H, W, KH, KW, stride, pad, OH, OW, y, NN_ACT_NONE,
                      mult, x_zp, y_zp, qmin, qmax};
    dconv_u8_run(&g, OC);
}

void nn_bqconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                 const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                 const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, uint8_t *scratch)
{
    bqconv2d(x, x_zp, C, H, W, w, bias, OC, KH, KW, stride, pad, groups, mult, y_zp, qmin, qmax,
             y, scratch, 1);
}

void nn_bqconv2d_portable(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                          const int32_t *bias, int OC, int KH, int KW, int stride, int pad,
                          int groups, const float *mult, int y_zp, int qmin, int qmax,
                          uint8_t *y, uint8_t *scratch)
{
    bqconv2d(x, x_zp, C, H, W, w, bias, OC, KH, KW, stride, pad, groups, mult, y_zp, qmin, qmax,
             y, scratch, 0);
}

void nn_bqlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                 int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                 uint8_t *scratch)
{
    /* a linear layer on the batch layout is a 1x1 convolution of a 1x1 map */
    nn_bqconv2d(x, x_zp, IN, 1, 1, w, bias, OUT, 1, 1, 1, 0, 1, mult, y_zp, qmin, qmax, y,
                scratch);
}

/* ---- pools: the per-image kernels' arithmetic, lane by lane ----------------------------- */

#define NN_DEFINE_BMAXPOOL(fname, T)                                                        \
    void fname(const T *x, int C, int H, int W, int K, int S, T *y)                         \
    {                                                                                       \
        int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);                     \
        for (int c = 0; c < C; c++)                                                         \
            for (int oy = 0; oy < OH; oy++)                                                 \
                for (int ox = 0; ox < OW; ox++) {                                           \
                    T mx[NN_B];                                                             \
                    memcpy(mx, x + (((size_t)c * H + oy * S) * W + ox * S) * NN_B, sizeof mx); \
                    for (int ky = 0; ky < K; ky++)                                          \
                        for (int kx = 0; kx < K; kx++) {                                    \
                            const T *v =                                                    \
                                x + (((size_t)c * H + oy * S + ky) * W + ox * S + kx) * NN_B; \
                            for (int l = 0; l < NN_B; l++)                                  \
                                mx[l] = v[l] > mx[l] ? v[l] : mx[l];                        \
                        }                                                                   \
                    memcpy(y + (((size_t)c * OH + oy) * OW + ox) * NN_B, mx, sizeof mx);    \
                }                                                                           \
    }

NN_DEFINE_BMAXPOOL(nn_bmaxpool2d, float)
NN_DEFINE_BMAXPOOL(nn_bqmaxpool2d, uint8_t)

void nn_bavgpool2d(const float *x, int C, int H, int W, int K, int S, float *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                nn_v16f s = nn_v16f_splat(0.0f);
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        s += nn_v16f_load(x + (((size_t)c * H + oy * S + ky) * W + ox * S + kx) *
                                                  NN_B);
                s *= nn_v16f_splat(inv);
                memcpy(y + (((size_t)c * OH + oy) * OW + ox) * NN_B, &s, sizeof s);
            }
}

void nn_bqavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                nn_v16i s = nn_v16i_splat(0), z = nn_v16i_splat(zp);
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        s += nn_v16i_load_u8(
                                 x + (((size_t)c * H + oy * S + ky) * W + ox * S + kx) * NN_B) -
                             z;
                uint8_t *o = y + (((size_t)c * OH + oy) * OW + ox) * NN_B;
                for (int l = 0; l < NN_B; l++)
                    o[l] = (uint8_t)nn_quantize_value((float)s[l] * inv, 1.0f, zp, 0, 255);
            }
}

/* ---- forward pass ----------------------------------------------------------------------- */

/* Bytes of one activation buffer: the largest activation of NN_B images, as float or as
 * quint8 codes. */
static size_t act_bytes(const struct nn_model *m)
{
    return align64(m->max_act * NN_B * (m->quantized ? 1 : sizeof(float)));
}

size_t nn_batch_scratch_size(const struct nn_model *m)
{
    /* current, next and residual activations (+ int8: the VNNI interleave buffer) */
    return (m->quantized ? 4 : 3) * act_bytes(m);
}

static size_t out_elems(const struct nn_layer *l)
{
    return (size_t)l->out_c * l->out_h * l->out_w * NN_B;
}

static void forward_float(const struct nn_model *m, const uint8_t *pixels, int n,
                          float *logits, unsigned char *s)
{
    size_t abytes = act_bytes(m);
    float *cur = (float *)(void *)s, *nxt = (float *)(void *)(s + abytes);
    float *skip = (float *)(void *)(s + 2 * abytes);
    size_t npix = (size_t)m->in_c * m->in_h * m->in_w;
    for (size_t j = 0; j < npix; j++)
        for (int b = 0; b < NN_B; b++)
            cur[j * NN_B + b] =
                b < n ? ((float)pixels[(size_t)b * npix + j] / 255.0f - m->in_mean) / m->in_std
                      : 0.0f;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        switch (l->op) {
        case NN_OP_CONV2D:
            nn_bconv2d(cur, l->in_c, l->in_h, l->in_w, l->w, l->b, l->out_c, l->kh, l->kw,
                       l->stride, l->pad, l->groups, l->act, nxt);
            break;
        case NN_OP_LINEAR:
            nn_blinear(cur, l->in_c, l->w, l->b, l->out_c, l->act, nxt);
            break;
        case NN_OP_MAXPOOL:
            nn_bmaxpool2d(cur, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_AVGPOOL:
            nn_bavgpool2d(cur, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_ADD:
            nn_add(cur, skip, out_elems(l), nxt);
            break;
        }
        if (l->op != NN_OP_CONV2D && l->op != NN_OP_LINEAR) /* fused into those */
            nn_act_forward(l->act, nxt, out_elems(l));
        if (l->keep)
            memcpy(skip, nxt, out_elems(l) * sizeof *nxt);
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    for (int b = 0; b < n; b++)
        for (int c = 0; c < m->nclasses; c++)
            logits[(size_t)b * m->nclasses + c] = cur[(size_t)c * NN_B + b];
}

static void forward_int8(const struct nn_model *m, const uint8_t *pixels, int n, float *logits,
                         unsigned char *s)
{
    size_t abytes = act_bytes(m);
    uint8_t *cur = s, *nxt = s + abytes, *skip = s + 2 * abytes, *pack = s + 3 * abytes;
    const struct nn_layer *first = &m->layers[0];
    size_t npix = (size_t)m->in_c * m->in_h * m->in_w;
    float inv = 1.0f / first->in_scale;
    for (size_t j = 0; j < npix; j++)
        for (int b = 0; b < NN_B; b++) {
            /* missing images are all-zero pixels, as in the float path */
            float x = ((float)(b < n ? pixels[(size_t)b * npix + j] : 0) / 255.0f - m->in_mean) /
                      m->in_std;
            cur[j * NN_B + b] = (uint8_t)nn_quantize_value(x, inv, first->in_zp, 0, 255);
        }
    int zp = first->in_zp;
    float scale = first->in_scale;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        int qmin, qmax;
        switch (l->op) {
        case NN_OP_CONV2D:
            nn_layer_qclamp(l, &qmin, &qmax);
            nn_bqconv2d(cur, l->in_zp, l->in_c, l->in_h, l->in_w, l->qw, l->qb, l->out_c, l->kh,
                        l->kw, l->stride, l->pad, l->groups, l->qmult, l->out_zp, qmin, qmax,
                        nxt, pack);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        case NN_OP_LINEAR:
            nn_layer_qclamp(l, &qmin, &qmax);
            nn_bqlinear(cur, l->in_zp, l->in_c, l->qw, l->qb, l->out_c, l->qmult, l->out_zp,
                        qmin, qmax, nxt, pack);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        case NN_OP_MAXPOOL:
            nn_bqmaxpool2d(cur, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_AVGPOOL:
            nn_bqavgpool2d(cur, zp, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_ADD: {
            const struct nn_layer *sl = &m->layers[l->src - 1];
            nn_qadd(cur, scale, zp, skip, sl->out_scale, sl->out_zp, out_elems(l), l->out_scale,
                    l->out_zp, nxt);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        }
        }
        if (l->keep)
            memcpy(skip, nxt, out_elems(l));
        uint8_t *t = cur;
        cur = nxt;
        nxt = t;
    }
    for (int b = 0; b < n; b++)
        for (int c = 0; c < m->nclasses; c++)
            logits[(size_t)b * m->nclasses + c] =
                nn_dequantize_value(cur[(size_t)c * NN_B + b], scale, zp);
}

void nn_forward_batch(const struct nn_model *m, const uint8_t *pixels, int n, float *logits,
                      void *scratch)
{
    if (m->quantized)
        forward_int8(m, pixels, n, logits, scratch);
    else
        forward_float(m, pixels, n, logits, scratch);
}
