#include "nn/batch.h"

#include <string.h>

#include "nn/eval.h"
#include "nn/walk.h"
#ifdef __SSE4_1__
#include <immintrin.h>
#endif

#define NN_B NN_BATCH

/* Native vectors: NN_VL lanes (AVX-512: 16, AVX2: 8, else 4); a 16-lane column of the batch
 * layout is NN_S of them. GCC lowers generic vectors wider than the target's through the
 * stack, so every kernel here works in native vectors. */
#if defined(__AVX512F__)
#define NN_VL 16
#elif defined(__AVX2__)
#define NN_VL 8
#else
#define NN_VL 4
#endif
#define NN_S (NN_B / NN_VL)
typedef float nn_vf __attribute__((vector_size(NN_VL * sizeof(float))));
typedef int32_t nn_vi __attribute__((vector_size(NN_VL * sizeof(int32_t))));
typedef uint8_t nn_vu8 __attribute__((vector_size(NN_VL)));

static inline nn_vf vf_load(const float *p)
{
    nn_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Broadcasts as initializer lists (one vbroadcastss; a fill loop compiles to masked
 * inserts, and 0 + x would turn -0 into +0). */
#if NN_VL == 16
#define NN_SPLAT(x) {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}
#elif NN_VL == 8
#define NN_SPLAT(x) {x, x, x, x, x, x, x, x}
#else
#define NN_SPLAT(x) {x, x, x, x}
#endif

static inline nn_vf vf_splat(float x) { return (nn_vf)NN_SPLAT(x); }

static inline nn_vi vi_splat(int32_t x) { return (nn_vi)NN_SPLAT(x); }

/* NN_VL quint8 codes widened to int32 lanes (the extension instructions where the target has
 * them: GCC lowers __builtin_convertvector across element sizes to scalar code). */
static inline nn_vi vi_load_u8(const uint8_t *p)
{
    nn_vi r;
#if NN_VL == 16
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    memcpy(&r, &v, sizeof r);
#elif NN_VL == 8
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    memcpy(&r, &v, sizeof r);
#elif defined(__SSE4_1__)
    int32_t four;
    memcpy(&four, p, 4);
    __m128i v = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four));
    memcpy(&r, &v, sizeof r);
#else
    nn_vu8 b;
    memcpy(&b, p, sizeof b);
    r = __builtin_convertvector(b, nn_vi);
#endif
    return r;
}

/* Packed int8 GEMM kernels (see gemm_packed_tile): VNNI on AVX-512 VNNI builds, int16 pairs
 * (vpmaddwd) on AVX-512BW and AVX2 builds. */
#if NN_VL == 16 && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define NN_HAVE_VNNI 1
#else
#define NN_HAVE_VNNI 0
#endif
#if (NN_VL == 16 && defined(__AVX512BW__)) || NN_VL == 8
#define NN_HAVE_PAIRS 1
#else
#define NN_HAVE_PAIRS 0
#endif
#if NN_VL == 16 && NN_HAVE_PAIRS
typedef __m512i nn_qv;
#define QV_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define QV_SET1(x) _mm512_set1_epi32(x)
#define QV_MADD_ADD(acc, x, w) _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
#elif NN_HAVE_PAIRS
typedef __m256i nn_qv;
#define QV_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define QV_SET1(x) _mm256_set1_epi32(x)
#define QV_MADD_ADD(acc, x, w) _mm256_add_epi32(acc, _mm256_madd_epi16(x, w))
#endif

enum nn_qgemm nn_batch_qgemm(void)
{
    return NN_HAVE_VNNI ? NN_QGEMM_VNNI : NN_HAVE_PAIRS ? NN_QGEMM_PAIRS : NN_QGEMM_PLAIN;
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Store one output vector through the fused activation: nn_act_forward's arithmetic for
 * ReLU and ReLU6; tanh (LeNet-5) is left to a pass of nn_act_forward afterwards. */
static inline void act_store_f32(enum nn_act act, nn_vf v, float *y)
{
    if (act == NN_ACT_RELU || act == NN_ACT_RELU6) {
        /* lane masks (all ones where true): x > 0 ? x : 0, then x < 6 ? x : 6 */
        nn_vi pos = v > vf_splat(0.0f);
        v = (nn_vf)(pos & (nn_vi)v);
        if (act == NN_ACT_RELU6) {
            nn_vf six = vf_splat(6.0f);
            nn_vi below = v < six;
            v = (nn_vf)((below & (nn_vi)v) | (~below & (nn_vi)six));
        }
    }
    memcpy(y, &v, sizeof v);
}

/* ---- GEMM: y[OC][N] = w[OC][C] x[C][N], N = positions x NN_B lanes ---------------------- *
 * Register tiles of MR output channels x NR vectors (16 columns each) of accumulators: per
 * ic, NR loads of x and MR broadcast weights feed MR*NR vector multiply-adds. The tile
 * shapes are compile-time constants (always_inline + constant arguments), so the
 * accumulators live in registers (AVX-512: 4x4 when a row has >= 4 vectors, i.e. maps of
 * 2x2 and more, else 8x1 for 1x1 maps: the last MobileNetV2 layers and linear layers). */

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
    int NV = NR * NN_S; /* the tile's NR columns are NV contiguous native vectors */
    nn_vf acc[8][4 * NN_S];
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++)
            acc[m][v] = vf_splat(g->b && !g->bias_last ? g->b[o + m] : 0.0f);
    for (int ic = 0; ic < g->C; ic++) {
        nn_vf xv[4 * NN_S];
        for (int v = 0; v < NV; v++)
            xv[v] = vf_load(x + (size_t)ic * N + NN_VL * v);
        for (int m = 0; m < MR; m++) {
            nn_vf wv = vf_splat(w[(size_t)m * g->C + ic]);
            for (int v = 0; v < NV; v++)
                acc[m][v] += wv * xv[v]; /* separate multiply and add: the reference's rounding */
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) {
            nn_vf a = acc[m][v];
            if (g->b && g->bias_last)
                a += vf_splat(g->b[o + m]);
            act_store_f32(g->act, a, g->y + (size_t)(o + m) * N + n0 + NN_VL * v);
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

/* NN_VL int32 accumulators -> NN_VL quint8 codes: nn_requantize's float arithmetic lane by
 * lane (round in the current direction, i.e. nearbyintf; the clamped value is integral and
 * in [0, 255], so the narrowing packs are exact). Scalar on targets without SSE4.1. */
static inline void requant_vec(nn_vi acc, float mult, int y_zp, int qmin, int qmax,
                               uint8_t *restrict y)
{
#if NN_VL == 4 && !defined(__SSE4_1__)
    int32_t a[NN_VL];
    memcpy(a, &acc, sizeof a);
    for (int l = 0; l < NN_VL; l++)
        y[l] = nn_requantize(a[l], mult, y_zp, qmin, qmax);
#else
    nn_vf r = __builtin_convertvector(acc, nn_vf) * vf_splat(mult);
#if NN_VL == 16
    __m512 rr;
    memcpy(&rr, &r, sizeof rr);
    rr = _mm512_roundscale_ps(rr, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
#elif NN_VL == 8
    __m256 rr;
    memcpy(&rr, &r, sizeof rr);
    rr = _mm256_round_ps(rr, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
#else
    __m128 rr;
    memcpy(&rr, &r, sizeof rr);
    rr = _mm_round_ps(rr, _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
#endif
    memcpy(&r, &rr, sizeof r);
    r += vf_splat((float)y_zp);
    nn_vf lo = vf_splat((float)qmin), hi = vf_splat((float)qmax);
    nn_vi below = r < lo;
    r = (nn_vf)((below & (nn_vi)lo) | (~below & (nn_vi)r));
    nn_vi above = r > hi;
    r = (nn_vf)((above & (nn_vi)hi) | (~above & (nn_vi)r));
    nn_vi q = __builtin_convertvector(r, nn_vi);
#if NN_VL == 16
    __m512i qq;
    memcpy(&qq, &q, sizeof qq);
    _mm_storeu_si128((__m128i *)(void *)y, _mm512_cvtepi32_epi8(qq));
#elif NN_VL == 8
    __m256i qq;
    memcpy(&qq, &q, sizeof qq);
    __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qq), _mm256_extracti128_si256(qq, 1));
    _mm_storel_epi64((__m128i *)(void *)y, _mm_packus_epi16(w16, w16));
#else
    __m128i qq;
    memcpy(&qq, &q, sizeof qq);
    __m128i w16 = _mm_packus_epi32(qq, qq), b8 = _mm_packus_epi16(w16, w16);
    int32_t four = _mm_cvtsi128_si32(b8);
    memcpy(y, &four, 4);
#endif
#endif
}

static inline void gemm_u8_store(const struct gemm_u8 *g, int oc, size_t n, nn_vi acc)
{
    requant_vec(acc, g->mult[oc], g->y_zp, g->qmin, g->qmax, g->y + (size_t)oc * g->N + n);
}

static inline __attribute__((always_inline)) void gemm_u8_tile(const struct gemm_u8 *g, int o,
                                                               size_t n0, int MR, int NR)
{
    const int8_t *restrict w = g->w + (size_t)o * g->C;
    const uint8_t *restrict x = g->x + n0;
    size_t N = g->N;
    int NV = NR * NN_S;
    nn_vi acc[8][4 * NN_S];
    for (int m = 0; m < MR; m++) {
        int32_t base = gemm_u8_base(g, o + m);
        for (int v = 0; v < NV; v++)
            acc[m][v] = vi_splat(base);
    }
    for (int ic = 0; ic < g->C; ic++) {
        nn_vi xv[4 * NN_S];
        for (int v = 0; v < NV; v++)
            xv[v] = vi_load_u8(x + (size_t)ic * N + NN_VL * v);
        for (int m = 0; m < MR; m++) {
            nn_vi wv = vi_splat(w[(size_t)m * g->C + ic]);
            for (int v = 0; v < NV; v++)
                acc[m][v] += wv * xv[v];
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++)
            gemm_u8_store(g, o + m, n0 + NN_VL * (size_t)v, acc[m][v]);
}

#if NN_HAVE_PAIRS
/* Packed tiles: x is repacked so that each 32-bit lane holds G channels of one column
 * (G = 4: VNNI, u8 quads [ceil(C/4)][N][4]; G = 2: int16 pairs [ceil(C/2)][N][2]), and one
 * instruction adds, per lane, the G products with the G weights w[oc][G*k ..] broadcast as
 * one 32-bit value: vpdpbusd (u8 x s8, 64 multiply-adds per AVX-512 instruction) or
 * vpmaddwd (int16 x int16, 32). Integer sums: exact. VNNI needs C % 4 == 0 (the quad is read
 * from w as is); pairs pad an odd C with weight 0. */
static inline int32_t weight_group(const int8_t *wo, int C, int k, int G)
{
    if (G == 4) {
        int32_t quad;
        memcpy(&quad, wo + 4 * k, 4);
        return quad;
    }
    int16_t w0 = wo[2 * k], w1 = 2 * k + 1 < C ? wo[2 * k + 1] : 0;
    return (int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16);
}

static inline __attribute__((always_inline)) void gemm_packed_tile(const struct gemm_u8 *g,
                                                                   int o, size_t n0, int MR,
                                                                   int NR, int G)
{
    const int8_t *w = g->w + (size_t)o * g->C;
    const unsigned char *x = (const unsigned char *)g->x + n0 * 4; /* 4 bytes per lane */
    size_t N = g->N;
    int NV = NR * NN_S, groups = (g->C + G - 1) / G;
    nn_qv acc[8][4 * NN_S];
    for (int m = 0; m < MR; m++) {
        nn_qv base = QV_SET1(gemm_u8_base(g, o + m));
        for (int v = 0; v < NV; v++)
            acc[m][v] = base;
    }
    for (int k = 0; k < groups; k++) {
        nn_qv xv[4 * NN_S];
        for (int v = 0; v < NV; v++)
            xv[v] = QV_LOAD(x + ((size_t)k * N + (size_t)NN_VL * v) * 4);
        for (int m = 0; m < MR; m++) {
            nn_qv wv = QV_SET1(weight_group(w + (size_t)m * g->C, g->C, k, G));
            for (int v = 0; v < NV; v++) {
#if NN_HAVE_VNNI
                if (G == 4) {
                    acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], xv[v], wv);
                    continue;
                }
#endif
                acc[m][v] = QV_MADD_ADD(acc[m][v], xv[v], wv);
            }
        }
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++)
            gemm_u8_store(g, o + m, n0 + (size_t)NN_VL * v, (nn_vi)acc[m][v]);
}

static inline __attribute__((always_inline)) void gemm_pairs_tile(const struct gemm_u8 *g, int o,
                                                                  size_t n0, int MR, int NR)
{
    gemm_packed_tile(g, o, n0, MR, NR, 2);
}

/* x[C][N] codes -> int16 pairs xp[ceil(C/2)][N][2], an odd C padded with 0 */
static void pack_pairs(const uint8_t *restrict x, int C, size_t N, int16_t *restrict xp)
{
    for (int k = 0; k < (C + 1) / 2; k++) {
        const uint8_t *x0 = x + (size_t)2 * k * N, *x1 = 2 * k + 1 < C ? x0 + N : NULL;
        int16_t *q = xp + (size_t)k * N * 2;
        for (size_t n = 0; n < N; n++) {
            q[2 * n] = x0[n];
            q[2 * n + 1] = x1 ? x1[n] : 0;
        }
    }
}
#endif

#if NN_HAVE_VNNI
static inline __attribute__((always_inline)) void gemm_vnni_tile(const struct gemm_u8 *g, int o,
                                                                 size_t n0, int MR, int NR)
{
    gemm_packed_tile(g, o, n0, MR, NR, 4);
}

/* x[C][N] -> u8 quads xq[C/4][N][4] (C % 4 == 0) */
static void pack_quads(const uint8_t *restrict x, int C, size_t N, uint8_t *restrict xq)
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

/* Register tile shapes, in 16-lane columns. AVX-512 has 32 registers of one column: 4x4
 * tiles use 16 for accumulators. AVX2/SSE hold a column in 2/4 of their 16 registers: tiles
 * of 8 accumulator registers keep them in registers there. */
#if NN_VL == 16
#define GEMM_M 4  /* output channels x */
#define GEMM_N 4  /* 16-lane columns of a tile, for rows of >= GEMM_N columns */
#define GEMM_M1 8 /* output channels of a tile on one-column rows (1x1 maps, linear) */
#elif NN_VL == 8
#define GEMM_M 2
#define GEMM_N 2
#define GEMM_M1 4
#else
#define GEMM_M 2
#define GEMM_N 1
#define GEMM_M1 2
#endif

/* Tile functions with constant shapes, and the driver that covers [OC] x [N] with them. */
#define NN_GEMM_TILES(kind, ctx)                                                             \
    static void kind##_mn(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, GEMM_M, GEMM_N); } \
    static void kind##_1n(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 1, GEMM_N); } \
    static void kind##_t1(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, GEMM_M1, 1); } \
    static void kind##_m1(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, GEMM_M, 1); } \
    static void kind##_11(const ctx *g, int o, size_t n) { kind##_tile(g, o, n, 1, 1); }     \
    static void kind##_cols(const ctx *g, int o, void (*wide)(const ctx *, int, size_t),      \
                            void (*narrow)(const ctx *, int, size_t))                         \
    {                                                                                         \
        size_t nv = g->N / 16, v = 0;                                                         \
        if (wide)                                                                             \
            for (; v + GEMM_N <= nv; v += GEMM_N)                                             \
                wide(g, o, 16 * v);                                                           \
        for (; v < nv; v++)                                                                   \
            narrow(g, o, 16 * v);                                                             \
    }                                                                                         \
    static void kind##_run(const ctx *g, int OC)                                              \
    {                                                                                         \
        int o = 0;                                                                            \
        if (g->N >= 16 * GEMM_N)                                                              \
            for (; o + GEMM_M <= OC; o += GEMM_M)                                             \
                kind##_cols(g, o, kind##_mn, kind##_m1);                                      \
        for (; o + GEMM_M1 <= OC; o += GEMM_M1)                                               \
            kind##_cols(g, o, NULL, kind##_t1);                                               \
        for (; o + GEMM_M <= OC; o += GEMM_M)                                                 \
            kind##_cols(g, o, NULL, kind##_m1);                                               \
        for (; o < OC; o++)                                                                   \
            kind##_cols(g, o, kind##_1n, kind##_11);                                          \
    }

NN_GEMM_TILES(gemm_f32, struct gemm_f32)
NN_GEMM_TILES(gemm_u8, struct gemm_u8)
#if NN_HAVE_PAIRS
NN_GEMM_TILES(gemm_pairs, struct gemm_u8)
#endif
#if NN_HAVE_VNNI
NN_GEMM_TILES(gemm_vnni, struct gemm_u8)
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

/* Native vector v of a tile row: position r = v / NN_S of the run, part v % NN_S of its
 * 16-lane column; its offset from the first position's (input: positions `stride` apart). */
static inline size_t tile_off(int v, int stride)
{
    return (size_t)(v / NN_S) * stride * NN_B + (size_t)(v % NN_S) * NN_VL;
}

/* Taps [k0, k1) of one axis that land inside [0, n) for output o. */
static inline void tap_span(int o, int stride, int pad, int k, int n, int *k0, int *k1)
{
    int i0 = o * stride - pad;
    *k0 = i0 < 0 ? -i0 : 0;
    *k1 = n - i0 < k ? n - i0 : k;
}

/* The element types of the direct convolution: a vector of inputs at p (float; int8: x - zp
 * in int32), the bias and a weight broadcast, and the store of a finished accumulator vector
 * (float: fused activation; int8: requantization). */
static inline nn_vf dconv_f32_load(const struct dconv *g, const float *p)
{
    (void)g;
    return vf_load(p);
}
static inline nn_vf dconv_f32_bias(const struct dconv *g, int oc)
{
    return vf_splat(g->b ? ((const float *)g->b)[oc] : 0.0f);
}
static inline nn_vf dconv_f32_weight(const struct dconv *g, size_t i)
{
    return vf_splat(((const float *)g->w)[i]);
}
static inline void dconv_f32_store(const struct dconv *g, nn_vf acc, int oc, size_t off)
{
    (void)oc;
    act_store_f32(g->act, acc, (float *)g->y + off);
}
static inline nn_vi dconv_u8_load(const struct dconv *g, const uint8_t *p)
{
    return vi_load_u8(p) - vi_splat(g->x_zp);
}
static inline nn_vi dconv_u8_bias(const struct dconv *g, int oc)
{
    return vi_splat(g->b ? ((const int32_t *)g->b)[oc] : 0);
}
static inline nn_vi dconv_u8_weight(const struct dconv *g, size_t i)
{
    return vi_splat(((const int8_t *)g->w)[i]);
}
static inline void dconv_u8_store(const struct dconv *g, nn_vi acc, int oc, size_t off)
{
    requant_vec(acc, g->mult[oc], g->y_zp, g->qmin, g->qmax, (uint8_t *)g->y + off);
}

/* kind##_tile: interior outputs (oy, ox .. ox+NR-1) of output channels oc .. oc+MR-1, every
 * tap inside the map. kind##_border: output (oy, ox) of MR channels, padding taps skipped.
 * MR > 1: one output channel per group (each on its own plane, dconv_plane_step), or a block
 * inside one group (shared input loads). */
#define NN_DCONV_KERNELS(kind, T, VT)                                                         \
    static inline __attribute__((always_inline)) void kind##_tile(                           \
        const struct dconv *g, int oc, int oy, int ox, int MR, int NR)                        \
    {                                                                                         \
        const T *x = (const T *)g->x + dconv_group(g, oc);                                    \
        int K = g->cg * g->KH * g->KW, iy0 = oy * g->stride - g->pad;                         \
        int ix0 = ox * g->stride - g->pad, NV = NR * NN_S;                                    \
        VT acc[4][8 * NN_S];                                                                  \
        for (int m = 0; m < MR; m++)                                                          \
            for (int v = 0; v < NV; v++)                                                      \
                acc[m][v] = kind##_bias(g, oc + m);                                           \
        size_t xm = dconv_plane_step(g);                                                      \
        for (int ic = 0; ic < g->cg; ic++)                                                    \
            for (int ky = 0; ky < g->KH; ky++)                                                \
                for (int kx = 0; kx < g->KW; kx++) {                                          \
                    const T *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);                  \
                    int k = (ic * g->KH + ky) * g->KW + kx;                                   \
                    if (xm) {                                                                 \
                        for (int m = 0; m < MR; m++) {                                        \
                            VT wv = kind##_weight(g, (size_t)(oc + m) * K + k);               \
                            for (int v = 0; v < NV; v++)                                      \
                                acc[m][v] +=                                                  \
                                    wv * kind##_load(g, xp + m * xm + tile_off(v, g->stride)); \
                        }                                                                     \
                        continue;                                                             \
                    }                                                                         \
                    VT xv[8 * NN_S];                                                          \
                    for (int v = 0; v < NV; v++)                                              \
                        xv[v] = kind##_load(g, xp + tile_off(v, g->stride));                  \
                    for (int m = 0; m < MR; m++) {                                            \
                        VT wv = kind##_weight(g, (size_t)(oc + m) * K + k);                   \
                        for (int v = 0; v < NV; v++)                                          \
                            acc[m][v] += wv * xv[v];                                          \
                    }                                                                         \
                }                                                                             \
        for (int m = 0; m < MR; m++)                                                          \
            for (int v = 0; v < NV; v++)                                                      \
                kind##_store(g, acc[m][v], oc + m,                                            \
                             dconv_yoff(g, oc + m, oy, ox) + tile_off(v, 1));                 \
    }                                                                                         \
    static inline __attribute__((always_inline)) void kind##_border(                         \
        const struct dconv *g, int oc, int oy, int ox, int MR)                                \
    {                                                                                         \
        const T *x = (const T *)g->x + dconv_group(g, oc);                                    \
        int K = g->cg * g->KH * g->KW, ky0, ky1, kx0, kx1;                                    \
        int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;                     \
        size_t xm = dconv_plane_step(g);                                                      \
        tap_span(oy, g->stride, g->pad, g->KH, g->H, &ky0, &ky1);                             \
        tap_span(ox, g->stride, g->pad, g->KW, g->W, &kx0, &kx1);                             \
        VT acc[4][NN_S];                                                                      \
        for (int m = 0; m < MR; m++)                                                          \
            for (int v = 0; v < NN_S; v++)                                                    \
                acc[m][v] = kind##_bias(g, oc + m);                                           \
        for (int ic = 0; ic < g->cg; ic++)                                                    \
            for (int ky = ky0; ky < ky1; ky++)                                                \
                for (int kx = kx0; kx < kx1; kx++) {                                          \
                    const T *xp = x + dconv_xoff(g, ic, iy0 + ky, ix0 + kx);                  \
                    int k = (ic * g->KH + ky) * g->KW + kx;                                   \
                    for (int m = 0; m < MR; m++) {                                            \
                        VT wv = kind##_weight(g, (size_t)(oc + m) * K + k);                   \
                        for (int v = 0; v < NN_S; v++)                                        \
                            acc[m][v] += wv * kind##_load(g, xp + m * xm + (size_t)v * NN_VL); \
                    }                                                                         \
                }                                                                             \
        for (int m = 0; m < MR; m++)                                                          \
            for (int v = 0; v < NN_S; v++)                                                    \
                kind##_store(g, acc[m][v], oc + m,                                            \
                             dconv_yoff(g, oc + m, oy, ox) + (size_t)v * NN_VL);              \
    }

NN_DCONV_KERNELS(dconv_f32, float, nn_vf)
NN_DCONV_KERNELS(dconv_u8, uint8_t, nn_vi)

/* Tiles of constant shape and the driver: output channels in blocks of DCONV_M (inside one
 * group, or DCONV_M depthwise channels; 1 for the rest), interior positions of each row in
 * runs of DCONV_N (single channels: DCONV_N1, then DCONV_N, then 1), border positions one at
 * a time. Shapes as for the GEMM tiles. */
#if NN_VL == 16
#define DCONV_M 4
#define DCONV_N 4
#define DCONV_N1 8
#elif NN_VL == 8
#define DCONV_M 2
#define DCONV_N 2
#define DCONV_N1 4
#else
#define DCONV_M 2
#define DCONV_N 1
#define DCONV_N1 2
#endif
#define NN_DCONV(kind)                                                                         \
    static void kind##_mn(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, DCONV_M, DCONV_N);                                          \
    }                                                                                          \
    static void kind##_m1(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, DCONV_M, 1);                                                \
    }                                                                                          \
    static void kind##_1w(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, DCONV_N1);                                               \
    }                                                                                          \
    static void kind##_1n(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, DCONV_N);                                                \
    }                                                                                          \
    static void kind##_11(const struct dconv *g, int oc, int oy, int ox)                      \
    {                                                                                          \
        kind##_tile(g, oc, oy, ox, 1, 1);                                                      \
    }                                                                                          \
    static void kind##_run(const struct dconv *g, int OC)                                      \
    {                                                                                          \
        int lo, hi, ylo, yhi;                                                                  \
        interior(g->OW, g->W, g->KW, g->stride, g->pad, &lo, &hi);                             \
        interior(g->OH, g->H, g->KH, g->stride, g->pad, &ylo, &yhi);                           \
        for (int oc = 0; oc < OC;) {                                                           \
            int mr = (g->ocg == 1 ? oc + DCONV_M <= OC : (oc % g->ocg) + DCONV_M <= g->ocg)    \
                         ? DCONV_M                                                             \
                         : 1;                                                                  \
            for (int oy = 0; oy < g->OH; oy++) {                                               \
                int a = oy >= ylo && oy < yhi ? lo : g->OW, z = oy >= ylo && oy < yhi ? hi : 0; \
                int ox = a;                                                                    \
                if (mr == DCONV_M && DCONV_M > 1) {                                            \
                    for (; ox + DCONV_N <= z; ox += DCONV_N)                                   \
                        kind##_mn(g, oc, oy, ox);                                              \
                    for (; ox < z; ox++)                                                       \
                        kind##_m1(g, oc, oy, ox);                                              \
                } else {                                                                       \
                    for (; ox + DCONV_N1 <= z; ox += DCONV_N1)                                 \
                        kind##_1w(g, oc, oy, ox);                                              \
                    for (; ox + DCONV_N <= z; ox += DCONV_N)                                   \
                        kind##_1n(g, oc, oy, ox);                                              \
                    for (; ox < z; ox++)                                                       \
                        kind##_11(g, oc, oy, ox);                                              \
                }                                                                              \
                for (int bx = 0; bx < g->OW; bx++) {                                           \
                    if (bx >= a && bx < z) { /* the interior run, done above */                \
                        bx = z - 1;                                                            \
                        continue;                                                              \
                    }                                                                          \
                    if (mr == DCONV_M)                                                         \
                        kind##_border(g, oc, oy, bx, DCONV_M);                                 \
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

void nn_bqconv2d_with(enum nn_qgemm kernel, const uint8_t *x, int x_zp, int C, int H, int W,
                      const int8_t *w, const int32_t *bias, int OC, int KH, int KW, int stride,
                      int pad, int groups, const float *mult, int y_zp, int qmin, int qmax,
                      uint8_t *y, void *scratch)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int cg = C / groups, ocg = OC / groups;
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        struct gemm_u8 g = {w, bias, mult, C, x_zp, y_zp, qmin, qmax, x, (size_t)H * W * NN_B, y};
#if NN_HAVE_VNNI
        if (kernel == NN_QGEMM_VNNI && C % 4 == 0) {
            pack_quads(x, C, g.N, scratch);
            g.x = scratch;
            gemm_vnni_run(&g, OC);
            return;
        }
#endif
#if NN_HAVE_PAIRS
        if (kernel != NN_QGEMM_PLAIN) {
            pack_pairs(x, C, g.N, scratch);
            g.x = scratch;
            gemm_pairs_run(&g, OC);
            return;
        }
#endif
        (void)kernel;
        (void)scratch;
        gemm_u8_run(&g, OC);
        return;
    }
    struct dconv g = {x, w, bias, cg, ocg, H, W, KH, KW, stride, pad, OH, OW, y, NN_ACT_NONE,
                      mult, x_zp, y_zp, qmin, qmax};
    dconv_u8_run(&g, OC);
}

void nn_bqconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                 const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                 const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, void *scratch)
{
    nn_bqconv2d_with(nn_batch_qgemm(), x, x_zp, C, H, W, w, bias, OC, KH, KW, stride, pad,
                     groups, mult, y_zp, qmin, qmax, y, scratch);
}

void nn_bqlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                 int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                 void *scratch)
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
            for (int ox = 0; ox < OW; ox++)
                for (int v = 0; v < NN_S; v++) {
                    nn_vf s = vf_splat(0.0f);
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            s += vf_load(x + (((size_t)c * H + oy * S + ky) * W + ox * S + kx) *
                                                 NN_B +
                                         (size_t)v * NN_VL);
                    s *= vf_splat(inv);
                    memcpy(y + (((size_t)c * OH + oy) * OW + ox) * NN_B + (size_t)v * NN_VL, &s,
                           sizeof s);
                }
}

void nn_bqavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int v = 0; v < NN_S; v++) {
                    nn_vi s = vi_splat(0), z = vi_splat(zp);
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            s += vi_load_u8(x +
                                            (((size_t)c * H + oy * S + ky) * W + ox * S + kx) *
                                                NN_B +
                                            (size_t)v * NN_VL) -
                                 z;
                    uint8_t *o = y + (((size_t)c * OH + oy) * OW + ox) * NN_B + (size_t)v * NN_VL;
                    for (int l = 0; l < NN_VL; l++)
                        o[l] = (uint8_t)nn_quantize_value((float)s[l] * inv, 1.0f, zp, 0, 255);
                }
}

/* ---- forward pass ----------------------------------------------------------------------- */

size_t nn_batch_scratch_size(const struct nn_model *m)
{
    /* current, next and residual activations (the walker's layout, walk.h) + int8: the packed
     * GEMM input, see nn_bqconv2d */
    size_t pack = 0;
    for (int i = 0; m->quantized && i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        size_t need = nn_bqconv2d_scratch_size(l->in_c, l->in_h, l->in_w);
        pack = need > pack ? need : pack;
    }
    return 3 * nn_walk_act_bytes(m, NN_B, m->quantized) + align64(pack);
}

size_t nn_bqconv2d_scratch_size(int C, int H, int W)
{
    /* int16 pairs: 4 bytes per lane and channel pair; u8 quads need no more */
    return (size_t)(C + 1) / 2 * H * W * NN_B * 4;
}

/* The batch layout's kernels for the layer walker (walk.h): lanes = NN_B. */
static void b_conv(const struct nn_layer *l, const float *x, float *y, void *scratch)
{
    (void)scratch;
    nn_bconv2d(x, l->in_c, l->in_h, l->in_w, l->w, l->b, l->out_c, l->kh, l->kw, l->stride,
               l->pad, l->groups, l->act, y);
}

static void b_linear(const struct nn_layer *l, const float *x, float *y, void *scratch)
{
    (void)scratch;
    nn_blinear(x, l->in_c, l->w, l->b, l->out_c, l->act, y);
}

static void b_maxpool(const struct nn_layer *l, const float *x, float *y)
{
    nn_bmaxpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static void b_avgpool(const struct nn_layer *l, const float *x, float *y)
{
    nn_bavgpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static const struct nn_walk_f32 batch_f32 = {NN_B, b_conv, b_linear, b_maxpool, b_avgpool};

static void b_qconv(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax, uint8_t *y,
                    void *pack)
{
    nn_bqconv2d(x, l->in_zp, l->in_c, l->in_h, l->in_w, l->qw, l->qb, l->out_c, l->kh, l->kw,
                l->stride, l->pad, l->groups, l->qmult, l->out_zp, qmin, qmax, y, pack);
}

static void b_qlinear(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax, uint8_t *y,
                      void *pack)
{
    nn_bqlinear(x, l->in_zp, l->in_c, l->qw, l->qb, l->out_c, l->qmult, l->out_zp, qmin, qmax, y,
                pack);
}

static void b_qmaxpool(const struct nn_layer *l, const uint8_t *x, uint8_t *y)
{
    nn_bqmaxpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static void b_qavgpool(const struct nn_layer *l, const uint8_t *x, int zp, uint8_t *y)
{
    nn_bqavgpool2d(x, zp, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static const struct nn_walk_u8 batch_u8 = {NN_B, b_qconv, b_qlinear, b_qmaxpool, b_qavgpool};

void nn_forward_batch(const struct nn_model *m, const uint8_t *pixels, int n, float *logits,
                      void *scratch)
{
    if (m->quantized)
        nn_walk_int8(m, &batch_u8, pixels, n, logits, scratch);
    else
        nn_walk_float(m, &batch_f32, pixels, n, logits, scratch);
}
