#include "nn/kernels.h"

#include <string.h>

#include "nn/vec.h"

/* ---- float ------------------------------------------------------------------------------ */

void nn_conv2d_ref(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
                   int KH, int KW, int stride, int pad, int groups, float *y)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int cg = C / groups, ocg = OC / groups;
    for (int oc = 0; oc < OC; oc++) {
        int g = oc / ocg;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = b ? b[oc] : 0.0f;
                for (int ic = 0; ic < cg; ic++)
                    for (int ky = 0; ky < KH; ky++)
                        for (int kx = 0; kx < KW; kx++) {
                            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            float v = (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                          ? 0.0f
                                          : x[((size_t)(g * cg + ic) * H + iy) * W + ix];
                            s += w[(((size_t)oc * cg + ic) * KH + ky) * KW + kx] * v;
                        }
                y[((size_t)oc * OH + oy) * OW + ox] = s;
            }
    }
}

size_t nn_conv2d_col_size(int C, int H, int W, int KH, int KW, int stride, int pad, int groups)
{
    size_t OH = (size_t)nn_conv_out(H, KH, stride, pad);
    size_t P = OH * (size_t)nn_conv_out(W, KW, stride, pad);
    /* wide path: L int32 accumulators + L requantized bytes + (int8) an int16 copy of the
     * input, with L <= OH*W */
    size_t im2col = (size_t)(C / groups) * KH * KW * P,
           wide = (5 * OH * (size_t)W + 63) / 64 * 64 + 2 * ((size_t)C * H * W + 64);
    /* depthwise: one padded plane + its accumulators */
    size_t dw = (size_t)(H + 2 * pad) * (W + 2 * pad) + OH * (size_t)(W + 2 * pad);
    if (groups == C) /* small maps: channels-last plane, transposed weights, accumulators */
        dw = dw > (size_t)(H + 2 * pad) * (W + 2 * pad) * C + (size_t)(KH * KW + 1) * C
                 ? dw
                 : (size_t)(H + 2 * pad) * (W + 2 * pad) * C + (size_t)(KH * KW + 1) * C;
    im2col = im2col > dw ? im2col : dw;
    return im2col > wide ? im2col : wide;
}

/* im2col of one group, generic over the element type: col[K = cg*KH*KW][P = OH*OW].
 * Rows inside the image are copied as contiguous runs when stride == 1. */
#define NN_DEFINE_IM2COL(fname, T)                                                          \
    __attribute__((optimize("no-tree-loop-distribute-patterns"))) static void fname(const T *x, int cg, int H, int W, int KH, int KW, int stride, int pad, \
                      int OH, int OW, T padval, T *col)                                     \
    {                                                                                       \
        size_t k = 0;                                                                       \
        for (int ic = 0; ic < cg; ic++)                                                     \
            for (int ky = 0; ky < KH; ky++)                                                 \
                for (int kx = 0; kx < KW; kx++, k++) {                                      \
                    T *row = col + k * (size_t)OH * OW;                                     \
                    const T *src = x + (size_t)ic * H * W;                                  \
                    /* ox range whose input column is inside the image */                   \
                    int lo = 0, hi = OW;                                                    \
                    while (lo < OW && lo * stride - pad + kx < 0)                           \
                        lo++;                                                               \
                    while (hi > lo && (hi - 1) * stride - pad + kx >= W)                    \
                        hi--;                                                               \
                    for (int oy = 0; oy < OH; oy++) {                                       \
                        int iy = oy * stride - pad + ky;                                    \
                        T *r = row + (size_t)oy * OW;                                       \
                        if (iy < 0 || iy >= H) {                                            \
                            for (int ox = 0; ox < OW; ox++)                                 \
                                r[ox] = padval;                                             \
                            continue;                                                       \
                        }                                                                   \
                        const T *s = src + (size_t)iy * W - pad + kx;                       \
                        for (int ox = 0; ox < lo; ox++)                                     \
                            r[ox] = padval;                                                 \
                        if (stride == 1)                                                    \
                            for (int ox = lo; ox < hi; ox++)                                \
                                r[ox] = s[ox];                                              \
                        else                                                                \
                            for (int ox = lo; ox < hi; ox++)                                \
                                r[ox] = s[ox * stride];                                     \
                        for (int ox = hi; ox < OW; ox++)                                    \
                            r[ox] = padval;                                                 \
                    }                                                                       \
                }                                                                           \
    }

NN_DEFINE_IM2COL(im2col_f32, float)
NN_DEFINE_IM2COL(im2col_u8, uint8_t)

#define NN_PBLOCK 64

/* Stride 1, no padding: "wide" direct convolution of one output channel. Output (oy, ox) is
 * computed at wide index q = oy*W + ox, so its input tap (ic, ky, kx) is x[ic*H*W + ky*W + kx
 * + q] for every q: contiguous loads, no im2col. The W - OW extra columns of each wide row
 * are computed and dropped. The highest index read is H*W - 1. Same summation order as the
 * reference (bias, then taps in (ic, ky, kx) order). acc: L = (OH-1)*W + OW floats. */
static void conv_wide_f32(const float *x, int cg, int H, int W, const float *wo, float bias,
                          int KH, int KW, int OH, int OW, float *y, float *acc)
{
    int L = (OH - 1) * W + OW, q0 = 0;
    /* blocks of 64; the last block is moved back to end at L (overlap recomputes the same
     * values), so only L < 64 takes the scalar loop */
    for (; q0 < L && L >= 64; q0 = q0 + 128 <= L ? q0 + 64 : (q0 + 64 < L ? L - 64 : L)) {
        nn_v16f a0 = nn_v16f_splat(bias), a1 = a0, a2 = a0, a3 = a0;
        const float *wk = wo;
        for (int ic = 0; ic < cg; ic++)
            for (int ky = 0; ky < KH; ky++) {
                const float *xr = x + ((size_t)ic * H + ky) * W + q0;
                for (int kx = 0; kx < KW; kx++) {
                    nn_v16f wv = nn_v16f_splat(*wk++);
                    a0 += wv * nn_v16f_load(xr + kx);
                    a1 += wv * nn_v16f_load(xr + kx + 16);
                    a2 += wv * nn_v16f_load(xr + kx + 32);
                    a3 += wv * nn_v16f_load(xr + kx + 48);
                }
            }
        memcpy(acc + q0, &a0, 64);
        memcpy(acc + q0 + 16, &a1, 64);
        memcpy(acc + q0 + 32, &a2, 64);
        memcpy(acc + q0 + 48, &a3, 64);
    }
    for (; q0 < L; q0++) {
        float sum = bias;
        const float *wk = wo;
        for (int ic = 0; ic < cg; ic++)
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++)
                    sum += *wk++ * x[((size_t)ic * H + ky) * W + kx + q0];
        acc[q0] = sum;
    }
    for (int oy = 0; oy < OH; oy++)
        memcpy(y + (size_t)oy * OW, acc + (size_t)oy * W, (size_t)OW * sizeof *y);
}

/* int8 twin of conv_wide_f32: int32 accumulators (start: bias - x_zp*sum(w)), then
 * requantization of the valid columns. acc: L int32. */
static void requant_array(const int32_t *restrict acc, uint8_t *restrict y, int n, float mult,
                          int y_zp, int qmin, int qmax)
{
    for (int i = 0; i < n; i++)
        y[i] = nn_requantize(acc[i], mult, y_zp, qmin, qmax);
}

#ifdef __AVX512BW__
/* 64 wide outputs q0..q0+63 with vpmaddwd on pairs of horizontal taps (kx, kx+1): loading the
 * int16 input at x16 + off + q0 + 2j gives lane j = x[q0+2j+kx]*w[kx] + x[q0+2j+kx+1]*w[kx+1],
 * i.e. output q0+2j; the load one element later gives the odd outputs. An odd KW pairs its
 * last tap with weight 0 (reads one element past the plane: x16 is padded). Integer sums:
 * exactly the reference's result. */
static void conv_wide_block_avx512(const int16_t *x16, int cg, int H, int W, const int8_t *wo,
                                   int32_t base, int KH, int KW, int q0, int32_t *out)
{
    __m512i e0 = _mm512_set1_epi32(base), o0 = e0, e1 = e0, o1 = e0;
    const int8_t *wk = wo;
    for (int ic = 0; ic < cg; ic++)
        for (int ky = 0; ky < KH; ky++, wk += KW) {
            const int16_t *xr = x16 + ((size_t)ic * H + ky) * W + q0;
            for (int kx = 0; kx < KW; kx += 2) {
                uint32_t lo = (uint16_t)(int16_t)wk[kx];
                uint32_t hi = kx + 1 < KW ? (uint16_t)(int16_t)wk[kx + 1] : 0;
                __m512i wv = _mm512_set1_epi32((int32_t)(lo | hi << 16));
                e0 = _mm512_add_epi32(e0, _mm512_madd_epi16(_mm512_loadu_si512(xr + kx), wv));
                o0 = _mm512_add_epi32(o0, _mm512_madd_epi16(_mm512_loadu_si512(xr + kx + 1), wv));
                e1 = _mm512_add_epi32(e1, _mm512_madd_epi16(_mm512_loadu_si512(xr + kx + 32), wv));
                o1 = _mm512_add_epi32(o1, _mm512_madd_epi16(_mm512_loadu_si512(xr + kx + 33), wv));
            }
        }
    /* interleave even/odd lanes back into output order */
    __m512i idx_lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512i idx_hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    _mm512_storeu_si512(out, _mm512_permutex2var_epi32(e0, idx_lo, o0));
    _mm512_storeu_si512(out + 16, _mm512_permutex2var_epi32(e0, idx_hi, o0));
    _mm512_storeu_si512(out + 32, _mm512_permutex2var_epi32(e1, idx_lo, o1));
    _mm512_storeu_si512(out + 48, _mm512_permutex2var_epi32(e1, idx_hi, o1));
}
#endif

static void conv_wide_u8(const uint8_t *x, const int16_t *x16, int cg, int H, int W,
                         const int8_t *wo, int32_t base, int KH, int KW, int OH, int OW,
                         float mult, int y_zp, int qmin, int qmax, uint8_t *y, int32_t *acc)
{
    int L = (OH - 1) * W + OW, q0 = 0;
    for (; q0 < L && L >= 64; q0 = q0 + 128 <= L ? q0 + 64 : (q0 + 64 < L ? L - 64 : L)) {
#ifdef __AVX512BW__
        conv_wide_block_avx512(x16, cg, H, W, wo, base, KH, KW, q0, acc + q0);
        continue;
#else
        (void)x16;
#endif
        int32_t a[64];
        for (int p = 0; p < 64; p++)
            a[p] = base;
        const int8_t *wk = wo;
        for (int ic = 0; ic < cg; ic++)
            for (int ky = 0; ky < KH; ky++) {
                const uint8_t *xr = x + ((size_t)ic * H + ky) * W + q0;
                for (int kx = 0; kx < KW; kx++) {
                    int16_t wv = *wk++;
                    const uint8_t *restrict xp = xr + kx;
                    /* |w * x| <= 128 * 255 fits int16: 16-bit multiplies, widened adds */
                    for (int p = 0; p < 64; p++)
                        a[p] += (int16_t)(wv * (int16_t)xp[p]);
                }
            }
        memcpy(acc + q0, a, sizeof a);
    }
    for (; q0 < L; q0++) {
        int32_t sum = base;
        const int8_t *wk = wo;
        for (int ic = 0; ic < cg; ic++)
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++)
                    sum += *wk++ * (int32_t)x[((size_t)ic * H + ky) * W + kx + q0];
        acc[q0] = sum;
    }
    /* requantize the whole wide plane in one vectorised pass (into the tail of acc's
     * scratch, see nn_conv2d_col_size), then keep the valid columns */
    uint8_t *q = (uint8_t *)(void *)(acc + L);
    requant_array(acc, q, L, mult, y_zp, qmin, qmax);
    for (int oy = 0; oy < OH; oy++)
        memcpy(y + (size_t)oy * OW, q + (size_t)oy * W, (size_t)OW);
}

/* Output columns [lo, hi) whose input column ox*stride - pad + kx lies inside [0, W). */
static void tap_range(int OW, int W, int stride, int pad, int kx, int *lo, int *hi)
{
    int a = 0, z = OW;
    while (a < OW && a * stride - pad + kx < 0)
        a++;
    while (z > a && (z - 1) * stride - pad + kx >= W)
        z--;
    *lo = a;
    *hi = z;
}

/* Depthwise convolution on a small map (<= 16 outputs per channel): vectorised over
 * channels. The input goes into a zero-padded channels-last plane xt[Hp*Wp][C] and the
 * weights into wt[KH*KW][C]; each output position sums its taps in (ky, kx) order from the
 * bias, padding zeros included, exactly as the reference. Scratch: Hp*Wp*C + (KH*KW+1)*C. */
static void dwconv_channels_last(const float *x, int C, int H, int W, const float *w,
                                 const float *b, int KH, int KW, int stride, int pad, float *y,
                                 float *scratch)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int Hp = H + 2 * pad, Wp = W + 2 * pad, T = KH * KW;
    float *xt = scratch, *wt = xt + (size_t)Hp * Wp * C, *acc = wt + (size_t)T * C;
    memset(xt, 0, (size_t)Hp * Wp * C * sizeof *xt);
    for (int c = 0; c < C; c++) {
        for (int iy = 0; iy < H; iy++)
            for (int ix = 0; ix < W; ix++)
                xt[((size_t)(iy + pad) * Wp + ix + pad) * C + c] = x[((size_t)c * H + iy) * W + ix];
        for (int t = 0; t < T; t++)
            wt[(size_t)t * C + c] = w[(size_t)c * T + t];
    }
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            for (int c = 0; c < C; c++)
                acc[c] = b ? b[c] : 0.0f;
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++) {
                    const float *restrict xr =
                        xt + ((size_t)(oy * stride + ky) * Wp + ox * stride + kx) * C;
                    const float *restrict wr = wt + (size_t)(ky * KW + kx) * C;
                    float *restrict a = acc;
                    for (int c = 0; c < C; c++)
                        a[c] += wr[c] * xr[c];
                }
            for (int c = 0; c < C; c++)
                y[((size_t)c * OH + oy) * OW + ox] = acc[c];
        }
}

void nn_dwconv2d(const float *x, int C, int H, int W, const float *w, const float *b, int KH,
                 int KW, int stride, int pad, float *y, float *scratch)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int Hp = H + 2 * pad, Wp = W + 2 * pad;
    if (OH * OW <= 16) {
        dwconv_channels_last(x, C, H, W, w, b, KH, KW, stride, pad, y, scratch);
        return;
    }
    /* zero-padded plane, then every tap is a shifted (stride 1: contiguous) view of it */
    float *xp = scratch, *acc = scratch + (size_t)Hp * Wp;
    memset(xp, 0, (size_t)Hp * Wp * sizeof *xp);
    int L = stride == 1 ? (OH - 1) * Wp + OW : OH * OW;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W, *wc = w + (size_t)c * KH * KW;
        for (int iy = 0; iy < H; iy++)
            memcpy(xp + (size_t)(iy + pad) * Wp + pad, xc + (size_t)iy * W, (size_t)W * sizeof *xp);
        float bias = b ? b[c] : 0.0f;
        for (int q = 0; q < L; q++)
            acc[q] = bias;
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                float wv = wc[ky * KW + kx];
                const float *restrict sp = xp + (size_t)ky * Wp + kx;
                float *restrict a = acc;
                if (stride == 1)
                    for (int q = 0; q < L; q++)
                        a[q] += wv * sp[q];
                else
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++)
                            a[oy * OW + ox] += wv * sp[(size_t)oy * stride * Wp + ox * stride];
            }
        float *yc = y + (size_t)c * OH * OW;
        if (stride == 1)
            for (int oy = 0; oy < OH; oy++)
                memcpy(yc + (size_t)oy * OW, acc + (size_t)oy * Wp, (size_t)OW * sizeof *yc);
        else
            memcpy(yc, acc, (size_t)L * sizeof *yc);
    }
}

void nn_dwconv2d_backward(const float *x, int C, int H, int W, const float *w, int KH, int KW,
                          int stride, int pad, const float *dy, float *dx, float *dw, float *db)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    if (dx)
        memset(dx, 0, (size_t)C * H * W * sizeof *dx);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W, *dyc = dy + (size_t)c * OH * OW;
        float *dxc = dx ? dx + (size_t)c * H * W : NULL;
        if (db) {
            float s = 0.0f;
            for (int p = 0; p < OH * OW; p++)
                s += dyc[p];
            db[c] += s;
        }
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                int lo, hi;
                size_t wi = ((size_t)c * KH + ky) * KW + kx;
                float wv = w[wi], s = 0.0f;
                tap_range(OW, W, stride, pad, kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    const float *xr = xc + (size_t)iy * W - pad + kx, *g = dyc + (size_t)oy * OW;
                    for (int ox = lo; ox < hi; ox++)
                        s += g[ox] * xr[ox * stride];
                    if (dxc) {
                        float *restrict d = dxc + (size_t)iy * W - pad + kx;
                        for (int ox = lo; ox < hi; ox++)
                            d[ox * stride] += g[ox] * wv;
                    }
                }
                dw[wi] += s;
            }
    }
}

static void linear_strided(const float *x, int IN, const float *w, const float *b, int OUT,
                           float *y, size_t ystride);

/* 1x1 convolution y[OC,P] = w[OC,C] x[C,P] + b as a register-blocked GEMM.
 * P >= 16: blocks of 16 positions x 4 output channels in registers, each output summed from
 * its bias over ic in order (the reference's order: identical); the last block is moved back
 * to end at P (overlap recomputes the same values).
 * P < 16 (maps of 1x1, 2x2, 3x3): x is transposed into `col` ([P][C]) and every output is a
 * 16-lane dot product over ic like nn_linear (deterministic, differs from the reference by
 * rounding). */
static void conv1x1_gemm(const float *x, int C, int P, const float *w, const float *b, int OC,
                         float *y, float *col)
{
    if (P < 16) {
        for (int ic = 0; ic < C; ic++)
            for (int p = 0; p < P; p++)
                col[(size_t)p * C + ic] = x[(size_t)ic * P + p];
        for (int p = 0; p < P; p++)
            linear_strided(col + (size_t)p * C, C, w, b, OC, y + p, (size_t)P);
        return;
    }
    for (int p0 = 0; p0 < P; p0 = p0 + 32 <= P ? p0 + 16 : (p0 + 16 < P ? P - 16 : P)) {
        int o = 0;
        for (; o + 4 <= OC; o += 4) {
            const float *w0 = w + (size_t)o * C, *w1 = w0 + C, *w2 = w1 + C, *w3 = w2 + C;
            nn_v16f a0 = nn_v16f_splat(b ? b[o] : 0.0f), a1 = nn_v16f_splat(b ? b[o + 1] : 0.0f),
                    a2 = nn_v16f_splat(b ? b[o + 2] : 0.0f),
                    a3 = nn_v16f_splat(b ? b[o + 3] : 0.0f);
            for (int ic = 0; ic < C; ic++) {
                nn_v16f xv = nn_v16f_load(x + (size_t)ic * P + p0);
                a0 += nn_v16f_splat(w0[ic]) * xv;
                a1 += nn_v16f_splat(w1[ic]) * xv;
                a2 += nn_v16f_splat(w2[ic]) * xv;
                a3 += nn_v16f_splat(w3[ic]) * xv;
            }
            memcpy(y + (size_t)o * P + p0, &a0, 64);
            memcpy(y + (size_t)(o + 1) * P + p0, &a1, 64);
            memcpy(y + (size_t)(o + 2) * P + p0, &a2, 64);
            memcpy(y + (size_t)(o + 3) * P + p0, &a3, 64);
        }
        for (; o < OC; o++) {
            const float *w0 = w + (size_t)o * C;
            nn_v16f a0 = nn_v16f_splat(b ? b[o] : 0.0f);
            for (int ic = 0; ic < C; ic++)
                a0 += nn_v16f_splat(w0[ic]) * nn_v16f_load(x + (size_t)ic * P + p0);
            memcpy(y + (size_t)o * P + p0, &a0, 64);
        }
    }
}

/* Backward of a 1x1 convolution, vectorised over input channels with x transposed into
 * `xt` ([P][C], scratch of C*P floats): dw[oc, ic] is summed over p in order from 0 and dx[ic,
 * p] over oc in order from 0, exactly the reference's orders (identical results); blocks of
 * 16 input channels, the C % 16 tail in scalar code with the same order. */
static void conv1x1_backward(const float *x, int C, int P, const float *w, int OC,
                             const float *dy, float *dx, float *dw, float *db, float *xt)
{
    int cm = C - C % 16;
    for (int ic = 0; ic < C; ic++)
        for (int p = 0; p < P; p++)
            xt[(size_t)p * C + ic] = x[(size_t)ic * P + p];
    for (int oc = 0; oc < OC; oc++) {
        const float *dyo = dy + (size_t)oc * P;
        float *dwo = dw + (size_t)oc * C;
        if (db) {
            float s = 0.0f;
            for (int p = 0; p < P; p++)
                s += dyo[p];
            db[oc] += s;
        }
        for (int i0 = 0; i0 < cm; i0 += 16) {
            nn_v16f a = nn_v16f_splat(0.0f);
            for (int p = 0; p < P; p++)
                a += nn_v16f_splat(dyo[p]) * nn_v16f_load(xt + (size_t)p * C + i0);
            nn_v16f d = nn_v16f_load(dwo + i0) + a;
            memcpy(dwo + i0, &d, sizeof d);
        }
        for (int ic = cm; ic < C; ic++) {
            float s = 0.0f;
            for (int p = 0; p < P; p++)
                s += dyo[p] * xt[(size_t)p * C + ic];
            dwo[ic] += s;
        }
    }
    if (!dx)
        return;
    for (int p = 0; p < P; p++) {
        for (int i0 = 0; i0 < cm; i0 += 16) {
            nn_v16f a = nn_v16f_splat(0.0f);
            for (int oc = 0; oc < OC; oc++)
                a += nn_v16f_splat(dy[(size_t)oc * P + p]) * nn_v16f_load(w + (size_t)oc * C + i0);
            float lane[16];
            memcpy(lane, &a, sizeof lane);
            for (int k = 0; k < 16; k++)
                dx[(size_t)(i0 + k) * P + p] = lane[k];
        }
        for (int ic = cm; ic < C; ic++) {
            float s = 0.0f;
            for (int oc = 0; oc < OC; oc++)
                s += dy[(size_t)oc * P + p] * w[(size_t)oc * C + ic];
            dx[(size_t)ic * P + p] = s;
        }
    }
}

void nn_conv2d(const float *x, int C, int H, int W, const float *w, const float *b, int OC,
               int KH, int KW, int stride, int pad, int groups, float *y, float *col)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int P = OH * OW, cg = C / groups, ocg = OC / groups, K = cg * KH * KW;
    if (groups == C && OC == C) {
        nn_dwconv2d(x, C, H, W, w, b, KH, KW, stride, pad, y, col);
        return;
    }
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        conv1x1_gemm(x, C, P, w, b, OC, y, col);
        return;
    }
    if (stride == 1 && pad == 0) {
        for (int oc = 0; oc < OC; oc++)
            conv_wide_f32(x + (size_t)(oc / ocg) * cg * H * W, cg, H, W, w + (size_t)oc * K,
                          b ? b[oc] : 0.0f, KH, KW, OH, OW, y + (size_t)oc * P, col);
        return;
    }
    for (int g = 0; g < groups; g++) {
        im2col_f32(x + (size_t)g * cg * H * W, cg, H, W, KH, KW, stride, pad, OH, OW, 0.0f, col);
        for (int oc = g * ocg; oc < (g + 1) * ocg; oc++) {
            const float *wo = w + (size_t)oc * K;
            float bias = b ? b[oc] : 0.0f;
            /* register blocks of NN_PBLOCK output positions; k innermost keeps the
             * reference's summation order */
            for (int p0 = 0; p0 < P; p0 += NN_PBLOCK) {
                int pn = P - p0 < NN_PBLOCK ? P - p0 : NN_PBLOCK;
                float acc[NN_PBLOCK];
                if (pn == NN_PBLOCK) {
                    /* four 16-float vectors stay in registers over the k loop; separate
                     * multiply and add (no FMA contraction in ISO C mode): bit-identical to
                     * the reference */
                    nn_v16f a0 = nn_v16f_splat(bias), a1 = a0, a2 = a0, a3 = a0;
                    for (int k = 0; k < K; k++) {
                        nn_v16f wk = nn_v16f_splat(wo[k]);
                        const float *cr = col + (size_t)k * P + p0;
                        a0 += wk * nn_v16f_load(cr);
                        a1 += wk * nn_v16f_load(cr + 16);
                        a2 += wk * nn_v16f_load(cr + 32);
                        a3 += wk * nn_v16f_load(cr + 48);
                    }
                    memcpy(acc, &a0, 64);
                    memcpy(acc + 16, &a1, 64);
                    memcpy(acc + 32, &a2, 64);
                    memcpy(acc + 48, &a3, 64);
                } else {
                    for (int p = 0; p < pn; p++)
                        acc[p] = bias;
                    for (int k = 0; k < K; k++) {
                        float wk = wo[k];
                        const float *restrict cr = col + (size_t)k * P + p0;
                        for (int p = 0; p < pn; p++)
                            acc[p] += wk * cr[p];
                    }
                }
                memcpy(y + (size_t)oc * P + p0, acc, (size_t)pn * sizeof *acc);
            }
        }
    }
}

void nn_conv2d_backward_ref(const float *x, int C, int H, int W, const float *w, int OC, int KH,
                            int KW, int stride, int pad, int groups, const float *dy, float *dx,
                            float *dw, float *db)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int cg = C / groups, ocg = OC / groups;
    if (dx)
        memset(dx, 0, (size_t)C * H * W * sizeof *dx);
    for (int oc = 0; oc < OC; oc++) {
        int g = oc / ocg;
        const float *dyo = dy + (size_t)oc * OH * OW;
        if (db) {
            float s = 0.0f;
            for (int p = 0; p < OH * OW; p++)
                s += dyo[p];
            db[oc] += s;
        }
        for (int ic = 0; ic < cg; ic++) {
            const float *xc = x + (size_t)(g * cg + ic) * H * W;
            float *dxc = dx ? dx + (size_t)(g * cg + ic) * H * W : NULL;
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++) {
                    size_t wi = (((size_t)oc * cg + ic) * KH + ky) * KW + kx;
                    float wv = w[wi], s = 0.0f;
                    for (int oy = 0; oy < OH; oy++) {
                        int iy = oy * stride - pad + ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int ox = 0; ox < OW; ox++) {
                            int ix = ox * stride - pad + kx;
                            if (ix < 0 || ix >= W)
                                continue;
                            float g_ = dyo[oy * OW + ox];
                            s += g_ * xc[iy * W + ix];
                            if (dxc)
                                dxc[iy * W + ix] += g_ * wv;
                        }
                    }
                    dw[wi] += s;
                }
        }
    }
}

/* Sum of a[i]*b[i], i < n, in 16 fixed lanes combined in lane order (deterministic). */
static float dot_lanes(const float *a, const float *b, int n)
{
    int main_ = n - n % 16;
    nn_v16f acc = nn_v16f_splat(0.0f);
    for (int i = 0; i < main_; i += 16)
        acc += nn_v16f_load(a + i) * nn_v16f_load(b + i);
    float lane[16];
    memcpy(lane, &acc, sizeof lane);
    for (int i = main_; i < n; i++)
        lane[i - main_] += a[i] * b[i];
    float s = 0.0f;
    for (int l = 0; l < 16; l++)
        s += lane[l];
    return s;
}

void nn_conv2d_backward(const float *x, int C, int H, int W, const float *w, int OC, int KH,
                        int KW, int stride, int pad, int groups, const float *dy, float *dx,
                        float *dw, float *db, float *scratch)
{
    if (groups == C && OC == C) {
        nn_dwconv2d_backward(x, C, H, W, w, KH, KW, stride, pad, dy, dx, dw, db);
        return;
    }
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        conv1x1_backward(x, C, H * W, w, OC, dy, dx, dw, db, scratch);
        return;
    }
    if (stride != 1 || pad != 0) {
        nn_conv2d_backward_ref(x, C, H, W, w, OC, KH, KW, stride, pad, groups, dy, dx, dw, db);
        return;
    }
    int OH = nn_conv_out(H, KH, 1, 0), OW = nn_conv_out(W, KW, 1, 0), L = (OH - 1) * W + OW;
    int cg = C / groups, ocg = OC / groups;
    float *dyw = scratch;
    if (dx)
        memset(dx, 0, (size_t)C * H * W * sizeof *dx);
    for (int oc = 0; oc < OC; oc++) {
        int g = oc / ocg;
        const float *dyo = dy + (size_t)oc * OH * OW;
        if (db) {
            float s = 0.0f;
            for (int p = 0; p < OH * OW; p++)
                s += dyo[p];
            db[oc] += s;
        }
        memset(dyw, 0, (size_t)L * sizeof *dyw);
        for (int oy = 0; oy < OH; oy++)
            memcpy(dyw + (size_t)oy * W, dyo + (size_t)oy * OW, (size_t)OW * sizeof *dyw);
        for (int ic = 0; ic < cg; ic++)
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++) {
                    size_t wi = (((size_t)oc * cg + ic) * KH + ky) * KW + kx;
                    size_t off = ((size_t)(g * cg + ic) * H + ky) * W + kx;
                    dw[wi] += dot_lanes(dyw, x + off, L);
                    if (dx) {
                        float wv = w[wi];
                        float *restrict d = dx + off;
                        for (int q = 0; q < L; q++)
                            d[q] += dyw[q] * wv;
                    }
                }
    }
}

void nn_linear_ref(const float *x, int IN, const float *w, const float *b, int OUT, float *y)
{
    for (int o = 0; o < OUT; o++) {
        float s = 0.0f;
        const float *wo = w + (size_t)o * IN;
        for (int i = 0; i < IN; i++)
            s += wo[i] * x[i];
        y[o] = s + (b ? b[o] : 0.0f);
    }
}

#define NN_LANES 16

/* One output's 16 lane sums plus the tail and the bias, combined in lane order. */
static float linear_finish(nn_v16f acc, const float *wo, const float *x, int main_, int IN,
                           float bias)
{
    float lane[NN_LANES];
    memcpy(lane, &acc, sizeof lane);
    for (int i = main_; i < IN; i++)
        lane[i - main_] += wo[i] * x[i];
    float s = 0.0f;
    for (int l = 0; l < NN_LANES; l++)
        s += lane[l];
    return s + bias;
}

static void linear_strided(const float *x, int IN, const float *w, const float *b, int OUT,
                           float *y, size_t ys)
{
    int main_ = IN - IN % NN_LANES, o = 0;
    /* four outputs at a time share the x loads and hide the add latency */
    for (; o + 4 <= OUT; o += 4) {
        const float *w0 = w + (size_t)o * IN, *w1 = w0 + IN, *w2 = w1 + IN, *w3 = w2 + IN;
        nn_v16f s0 = nn_v16f_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < main_; i += NN_LANES) {
            nn_v16f xv = nn_v16f_load(x + i);
            s0 += nn_v16f_load(w0 + i) * xv;
            s1 += nn_v16f_load(w1 + i) * xv;
            s2 += nn_v16f_load(w2 + i) * xv;
            s3 += nn_v16f_load(w3 + i) * xv;
        }
        y[o * ys] = linear_finish(s0, w0, x, main_, IN, b ? b[o] : 0.0f);
        y[(o + 1) * ys] = linear_finish(s1, w1, x, main_, IN, b ? b[o + 1] : 0.0f);
        y[(o + 2) * ys] = linear_finish(s2, w2, x, main_, IN, b ? b[o + 2] : 0.0f);
        y[(o + 3) * ys] = linear_finish(s3, w3, x, main_, IN, b ? b[o + 3] : 0.0f);
    }
    for (; o < OUT; o++) {
        const float *wo = w + (size_t)o * IN;
        nn_v16f s0 = nn_v16f_splat(0.0f);
        for (int i = 0; i < main_; i += NN_LANES)
            s0 += nn_v16f_load(wo + i) * nn_v16f_load(x + i);
        y[o * ys] = linear_finish(s0, wo, x, main_, IN, b ? b[o] : 0.0f);
    }
}

void nn_linear(const float *x, int IN, const float *w, const float *b, int OUT, float *y)
{
    linear_strided(x, IN, w, b, OUT, y, 1);
}

void nn_linear_backward(const float *x, int IN, const float *w, int OUT, const float *dy,
                        float *dx, float *dw, float *db)
{
    if (dx)
        memset(dx, 0, (size_t)IN * sizeof *dx);
    for (int o = 0; o < OUT; o++) {
        float g = dy[o];
        if (db)
            db[o] += g;
        float *restrict dwo = dw + (size_t)o * IN;
        for (int i = 0; i < IN; i++)
            dwo[i] += g * x[i];
        if (dx) {
            const float *restrict wo = w + (size_t)o * IN;
            for (int i = 0; i < IN; i++)
                dx[i] += g * wo[i];
        }
    }
}

/* 2x2 stride-2 max pooling, generic over the element type (float and quint8 codes). */
#define NN_DEFINE_MAXPOOL2X2(fname, T)                                                      \
    static void fname(const T *x, int C, int H, int W, T *y)                                \
    {                                                                                       \
        int OH = H / 2, OW = W / 2;                                                         \
        for (int c = 0; c < C; c++)                                                         \
            for (int oy = 0; oy < OH; oy++) {                                               \
                const T *r0 = x + ((size_t)c * H + 2 * oy) * W, *r1 = r0 + W;               \
                T *o = y + ((size_t)c * OH + oy) * OW;                                      \
                for (int ox = 0; ox < OW; ox++) {                                           \
                    T a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];        \
                    T b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];        \
                    o[ox] = a > b ? a : b;                                                  \
                }                                                                           \
            }                                                                               \
    }

NN_DEFINE_MAXPOOL2X2(maxpool2x2_f32, float)
NN_DEFINE_MAXPOOL2X2(maxpool2x2_u8, uint8_t)

void nn_maxpool2d(const float *x, int C, int H, int W, int K, int S, float *y, int32_t *arg)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    if (K == 2 && S == 2 && !arg) { /* inference fast path, same result */
        maxpool2x2_f32(x, C, H, W, y);
        return;
    }
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int best = (c * H + oy * S) * W + ox * S;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++) {
                        int i = (c * H + oy * S + ky) * W + ox * S + kx;
                        if (x[i] > x[best])
                            best = i;
                    }
                int o = (c * OH + oy) * OW + ox;
                y[o] = x[best];
                if (arg)
                    arg[o] = best;
            }
}

void nn_maxpool2d_backward(const float *dy, int C, int OH, int OW, const int32_t *arg,
                           float *dx, int in_size)
{
    memset(dx, 0, (size_t)in_size * sizeof *dx);
    for (int o = 0; o < C * OH * OW; o++)
        dx[arg[o]] += dy[o];
}

void nn_avgpool2d(const float *x, int C, int H, int W, int K, int S, float *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        s += x[(c * H + oy * S + ky) * W + ox * S + kx];
                y[(c * OH + oy) * OW + ox] = s * inv;
            }
}

void nn_avgpool2d_backward(const float *dy, int C, int H, int W, int K, int S, float *dx)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    memset(dx, 0, (size_t)C * H * W * sizeof *dx);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float g = dy[(c * OH + oy) * OW + ox] * inv;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        dx[(c * H + oy * S + ky) * W + ox * S + kx] += g;
            }
}

void nn_add(const float *a, const float *b, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void nn_act_forward(enum nn_act act, float *x, size_t n)
{
    switch (act) {
    case NN_ACT_NONE:
        break;
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = tanhf(x[i]);
        break;
    }
}

void nn_act_backward(enum nn_act act, const float *y, float *dy, size_t n)
{
    switch (act) {
    case NN_ACT_NONE:
        break;
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case NN_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            dy[i] = (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dy[i] *= 1.0f - y[i] * y[i];
        break;
    }
}

float nn_softmax_xent(const float *logits, int n, int label, float *dlogits)
{
    float m = logits[0];
    for (int i = 1; i < n; i++)
        m = logits[i] > m ? logits[i] : m;
    double z = 0.0;
    for (int i = 0; i < n; i++)
        z += exp((double)(logits[i] - m));
    double logz = log(z) + m;
    if (dlogits)
        for (int i = 0; i < n; i++)
            dlogits[i] = (float)exp((double)logits[i] - logz) - (i == label ? 1.0f : 0.0f);
    return (float)(logz - logits[label]);
}

/* ---- int8 ------------------------------------------------------------------------------- */

void nn_qconv2d_ref(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                    const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                    const float *mult, int y_zp, int qmin, int qmax, uint8_t *y)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int cg = C / groups, ocg = OC / groups;
    for (int oc = 0; oc < OC; oc++) {
        int g = oc / ocg;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int32_t acc = bias ? bias[oc] : 0;
                for (int ic = 0; ic < cg; ic++)
                    for (int ky = 0; ky < KH; ky++)
                        for (int kx = 0; kx < KW; kx++) {
                            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            int v = x[((size_t)(g * cg + ic) * H + iy) * W + ix] - x_zp;
                            acc += v * w[(((size_t)oc * cg + ic) * KH + ky) * KW + kx];
                        }
                y[((size_t)oc * OH + oy) * OW + ox] =
                    nn_requantize(acc, mult[oc], y_zp, qmin, qmax);
            }
    }
}

/* Depthwise int8 convolution on maps of more than 16 outputs, the twin of nn_dwconv2d: per
 * channel (x - x_zp) goes into an int16 plane padded with 0 and each tap adds a shifted view
 * of it to int32 accumulators (stride 1: one contiguous loop over the wide plane); integer
 * sums: exactly the reference. Scratch (bytes): 2*Hp*Wp rounded up to 4, + 4*OH*Wp. */
static void qdw_planar(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                       const int32_t *bias, int KH, int KW, int stride, int pad,
                       const float *mult, int y_zp, int qmin, int qmax, uint8_t *y,
                       void *scratch)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int Hp = H + 2 * pad, Wp = W + 2 * pad;
    int16_t *xp = scratch;
    int32_t *acc = (int32_t *)(void *)((unsigned char *)scratch + ((size_t)Hp * Wp * 2 + 3) / 4 * 4);
    int L = stride == 1 ? (OH - 1) * Wp + OW : OH * OW;
    memset(xp, 0, (size_t)Hp * Wp * sizeof *xp);
    for (int c = 0; c < C; c++) {
        const uint8_t *xc = x + (size_t)c * H * W;
        const int8_t *wc = w + (size_t)c * KH * KW;
        for (int iy = 0; iy < H; iy++)
            for (int ix = 0; ix < W; ix++)
                xp[(size_t)(iy + pad) * Wp + ix + pad] = (int16_t)(xc[(size_t)iy * W + ix] - x_zp);
        int32_t b0 = bias ? bias[c] : 0;
        for (int q = 0; q < L; q++)
            acc[q] = b0;
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                int32_t wv = wc[ky * KW + kx];
                const int16_t *restrict sp = xp + (size_t)ky * Wp + kx;
                int32_t *restrict a = acc;
                if (stride == 1)
                    for (int q = 0; q < L; q++)
                        a[q] += wv * sp[q];
                else
                    for (int oy = 0; oy < OH; oy++)
                        for (int ox = 0; ox < OW; ox++)
                            a[oy * OW + ox] += wv * sp[(size_t)oy * stride * Wp + ox * stride];
            }
        uint8_t *yc = y + (size_t)c * OH * OW;
        if (stride == 1)
            for (int oy = 0; oy < OH; oy++)
                requant_array(acc + (size_t)oy * Wp, yc + (size_t)oy * OW, OW, mult[c], y_zp, qmin,
                              qmax);
        else
            requant_array(acc, yc, L, mult[c], y_zp, qmin, qmax);
    }
}

/* Depthwise int8 convolution, vectorised over channels: (x - x_zp) goes into a channels-last
 * int16 plane padded with 0 (the padding contributes nothing, as in the reference, which
 * skips it), weights into wt[KH*KW][C] int16; int32 accumulators per channel from the bias;
 * integer sums: exactly the reference. Scratch (bytes): 2*Hp*Wp*C + 2*KH*KW*C + 4*C, 4-byte
 * aligned. */
__attribute__((noinline)) static void qdwconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                      const int32_t *bias, int KH, int KW, int stride, int pad,
                      const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, void *scratch)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int Hp = H + 2 * pad, Wp = W + 2 * pad, T = KH * KW;
    if (OH * OW > 16) {
        qdw_planar(x, x_zp, C, H, W, w, bias, KH, KW, stride, pad, mult, y_zp, qmin, qmax, y,
                   scratch);
        return;
    }
    int32_t *acc = scratch;
    int16_t *xt = (int16_t *)(void *)(acc + C), *wt = xt + (size_t)Hp * Wp * C;
    memset(xt, 0, (size_t)Hp * Wp * C * sizeof *xt);
    for (int c = 0; c < C; c++) {
        for (int iy = 0; iy < H; iy++)
            for (int ix = 0; ix < W; ix++)
                xt[((size_t)(iy + pad) * Wp + ix + pad) * C + c] =
                    (int16_t)(x[((size_t)c * H + iy) * W + ix] - x_zp);
        for (int t = 0; t < T; t++)
            wt[(size_t)t * C + c] = w[(size_t)c * T + t];
    }
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            for (int c = 0; c < C; c++)
                acc[c] = bias ? bias[c] : 0;
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++) {
                    const int16_t *restrict xr =
                        xt + ((size_t)(oy * stride + ky) * Wp + ox * stride + kx) * C;
                    const int16_t *restrict wr = wt + (size_t)(ky * KW + kx) * C;
                    int32_t *restrict a = acc;
                    for (int c = 0; c < C; c++)
                        a[c] += (int32_t)wr[c] * xr[c];
                }
            for (int c = 0; c < C; c++)
                y[((size_t)c * OH + oy) * OW + ox] =
                    nn_requantize(acc[c], mult[c], y_zp, qmin, qmax);
        }
}

/* 1x1 int8 convolution, integer sums (exactly the reference) from bias - x_zp*sum(w).
 * P >= 16: per output channel, int32 accumulators over the positions take one input row per
 * ic (int16 products, vectorised over positions), then one requantization pass. P < 16: x
 * transposed to int16 rows xt[P][C], each output an int32 dot product over ic. Scratch
 * (bytes): max(4*P, 2*C*P), 4-byte aligned. */
__attribute__((noinline)) static void qconv1x1(const uint8_t *x, int x_zp, int C, int P, const int8_t *w,
                     const int32_t *bias, int OC, const float *mult, int y_zp, int qmin, int qmax,
                     uint8_t *y, void *scratch)
{
    if (P >= 16) {
        int32_t *acc = scratch;
        for (int oc = 0; oc < OC; oc++) {
            const int8_t *wo = w + (size_t)oc * C;
            int32_t wsum = 0;
            for (int ic = 0; ic < C; ic++)
                wsum += wo[ic];
            int32_t base = (bias ? bias[oc] : 0) - x_zp * wsum;
            /* blocks of 16 positions in one int32 vector; the last block moved back to end
             * at P (the overlap recomputes the same sums) */
            for (int p0 = 0; p0 < P; p0 = p0 + 32 <= P ? p0 + 16 : (p0 + 16 < P ? P - 16 : P)) {
                nn_v16i a = nn_v16i_splat(base);
                for (int ic = 0; ic < C; ic++)
                    a += nn_v16i_load_u8(x + (size_t)ic * P + p0) * (int32_t)wo[ic];
                memcpy(acc + p0, &a, sizeof a);
            }
            requant_array(acc, y + (size_t)oc * P, P, mult[oc], y_zp, qmin, qmax);
        }
        return;
    }
    /* x - x_zp transposed, so no zero-point correction is needed; outputs in blocks of 64
     * channels, requantized in one vectorisable pass per block */
    int16_t *xt = scratch;
    int cm = C - C % 16;
    for (int ic = 0; ic < C; ic++)
        for (int p = 0; p < P; p++)
            xt[(size_t)p * C + ic] = (int16_t)(x[(size_t)ic * P + p] - x_zp);
    for (int p = 0; p < P; p++) {
        const int16_t *restrict xr = xt + (size_t)p * C;
        for (int o0 = 0; o0 < OC; o0 += 64) {
            int on = OC - o0 < 64 ? OC - o0 : 64;
            int32_t acc[64];
            uint8_t q[64];
            for (int j = 0; j < on; j++) {
                const int8_t *restrict wo = w + (size_t)(o0 + j) * C;
                nn_v16i av = nn_v16i_splat(0);
                for (int ic = 0; ic < cm; ic += 16)
                    av += nn_v16i_load_s8(wo + ic) * nn_v16i_load_s16(xr + ic);
                int32_t a = bias ? bias[o0 + j] : 0;
                for (int k = 0; k < 16; k++)
                    a += av[k];
                for (int ic = cm; ic < C; ic++)
                    a += (int32_t)wo[ic] * xr[ic];
                acc[j] = a;
            }
            for (int j = 0; j < on; j++)
                q[j] = nn_requantize(acc[j], mult[o0 + j], y_zp, qmin, qmax);
            for (int j = 0; j < on; j++)
                y[(size_t)(o0 + j) * P + p] = q[j];
        }
    }
}

void nn_qconv2d(const uint8_t *x, int x_zp, int C, int H, int W, const int8_t *w,
                const int32_t *bias, int OC, int KH, int KW, int stride, int pad, int groups,
                const float *mult, int y_zp, int qmin, int qmax, uint8_t *y, uint8_t *col)
{
    int OH = nn_conv_out(H, KH, stride, pad), OW = nn_conv_out(W, KW, stride, pad);
    int P = OH * OW, cg = C / groups, ocg = OC / groups, K = cg * KH * KW;
    if (groups == C && OC == C) {
        qdwconv2d(x, x_zp, C, H, W, w, bias, KH, KW, stride, pad, mult, y_zp, qmin, qmax, y,
                  col);
        return;
    }
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && groups == 1) {
        qconv1x1(x, x_zp, C, P, w, bias, OC, mult, y_zp, qmin, qmax, y, col);
        return;
    }
    if (stride == 1 && pad == 0) {
        /* scratch: accumulators, then the int16 copy of the input (zero-padded) */
        int32_t *acc = (int32_t *)(void *)col;
        int16_t *x16 = (int16_t *)(void *)(col + ((size_t)5 * OH * W + 63) / 64 * 64);
        size_t n = (size_t)C * H * W;
        for (size_t i = 0; i < n; i++)
            x16[i] = x[i];
        for (size_t i = n; i < n + 64; i++)
            x16[i] = 0;
        for (int oc = 0; oc < OC; oc++) {
            const int8_t *wo = w + (size_t)oc * K;
            int32_t wsum = 0;
            for (int k = 0; k < K; k++)
                wsum += wo[k];
            size_t in0 = (size_t)(oc / ocg) * cg * H * W;
            conv_wide_u8(x + in0, x16 + in0, cg, H, W, wo, (bias ? bias[oc] : 0) - x_zp * wsum,
                         KH, KW, OH, OW, mult[oc], y_zp, qmin, qmax, y + (size_t)oc * P, acc);
        }
        return;
    }
    for (int g = 0; g < groups; g++) {
        im2col_u8(x + (size_t)g * cg * H * W, cg, H, W, KH, KW, stride, pad, OH, OW,
                  (uint8_t)x_zp, col);
        for (int oc = g * ocg; oc < (g + 1) * ocg; oc++) {
            const int8_t *wo = w + (size_t)oc * K;
            int32_t wsum = 0;
            for (int k = 0; k < K; k++)
                wsum += wo[k];
            int32_t base = (bias ? bias[oc] : 0) - x_zp * wsum;
            uint8_t *yo = y + (size_t)oc * P;
            float m = mult[oc];
            for (int p0 = 0; p0 < P; p0 += NN_PBLOCK) {
                int pn = P - p0 < NN_PBLOCK ? P - p0 : NN_PBLOCK;
                int32_t a[NN_PBLOCK];
                if (pn == NN_PBLOCK) {
                    for (int p = 0; p < NN_PBLOCK; p++)
                        a[p] = base;
                    for (int k = 0; k < K; k++) {
                        /* |w * x| <= 128 * 255 fits int16: 16-bit multiplies, widened adds */
                        int16_t wk = wo[k];
                        const uint8_t *restrict cr = col + (size_t)k * P + p0;
                        for (int p = 0; p < NN_PBLOCK; p++)
                            a[p] += (int16_t)(wk * (int16_t)cr[p]);
                    }
                } else {
                    for (int p = 0; p < pn; p++)
                        a[p] = base;
                    for (int k = 0; k < K; k++) {
                        int32_t wk = wo[k];
                        const uint8_t *restrict cr = col + (size_t)k * P + p0;
                        for (int p = 0; p < pn; p++)
                            a[p] += wk * (int32_t)cr[p];
                    }
                }
                for (int p = 0; p < pn; p++)
                    yo[p0 + p] = nn_requantize(a[p], m, y_zp, qmin, qmax);
            }
        }
    }
}

void nn_qlinear_ref(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                    int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y)
{
    for (int o = 0; o < OUT; o++) {
        int32_t acc = bias ? bias[o] : 0;
        for (int i = 0; i < IN; i++)
            acc += (x[i] - x_zp) * w[(size_t)o * IN + i];
        y[o] = nn_requantize(acc, mult[o], y_zp, qmin, qmax);
    }
}

void nn_qlinear(const uint8_t *x, int x_zp, int IN, const int8_t *w, const int32_t *bias,
                int OUT, const float *mult, int y_zp, int qmin, int qmax, uint8_t *y)
{
    for (int o = 0; o < OUT; o++) {
        const int8_t *restrict wo = w + (size_t)o * IN;
        int32_t dot = 0, wsum = 0;
        for (int i = 0; i < IN; i++) {
            dot += (int32_t)wo[i] * (int32_t)x[i];
            wsum += wo[i];
        }
        int32_t acc = (bias ? bias[o] : 0) + dot - x_zp * wsum;
        y[o] = nn_requantize(acc, mult[o], y_zp, qmin, qmax);
    }
}

void nn_qmaxpool2d(const uint8_t *x, int C, int H, int W, int K, int S, uint8_t *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    if (K == 2 && S == 2) {
        maxpool2x2_u8(x, C, H, W, y);
        return;
    }
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                uint8_t m = 0;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++) {
                        uint8_t v = x[(c * H + oy * S + ky) * W + ox * S + kx];
                        m = v > m ? v : m;
                    }
                y[(c * OH + oy) * OW + ox] = m;
            }
}

void nn_qadd(const uint8_t *a, float sa, int za, const uint8_t *b, float sb, int zb, size_t n,
             float so, int zo, uint8_t *y)
{
    float ma = sa / so, mb = sb / so;
    for (size_t i = 0; i < n; i++) {
        float r = nearbyintf((float)(a[i] - za) * ma + (float)(b[i] - zb) * mb) + (float)zo;
        r = r < 0.0f ? 0.0f : r > 255.0f ? 255.0f : r;
        y[i] = (uint8_t)(int)r;
    }
}

void nn_qavgpool2d(const uint8_t *x, int zp, int C, int H, int W, int K, int S, uint8_t *y)
{
    int OH = nn_conv_out(H, K, S, 0), OW = nn_conv_out(W, K, S, 0);
    float inv = 1.0f / (float)(K * K);
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int32_t s = 0;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                        s += x[((size_t)c * H + oy * S + ky) * W + ox * S + kx] - zp;
                y[((size_t)c * OH + oy) * OW + ox] =
                    (uint8_t)nn_quantize_value((float)s * inv, 1.0f, zp, 0, 255);
            }
}
