/* vec.h - 16-lane vector types of the nn kernels (private to src/nn).
 *
 * GCC vector extensions, lowered to AVX-512, AVX2 or SSE as the build target (-march) allows;
 * the widening loads use the AVX-512 extension instructions when present, because GCC lowers
 * __builtin_convertvector across element sizes to scalar code. */
#ifndef CGPC_NN_VEC_H
#define CGPC_NN_VEC_H

#include <stdint.h>
#include <string.h>
#ifdef __AVX512BW__
#include <immintrin.h>
#endif

/* GCC vector extension: 16 floats, lowered to AVX-512, AVX2 or SSE as the target allows. */
typedef float nn_v16f __attribute__((vector_size(64)));

static inline nn_v16f nn_v16f_load(const float *p)
{
    nn_v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 16 int32 lanes, and 16 bytes widened to them */
typedef int32_t nn_v16i __attribute__((vector_size(64)));
typedef uint8_t nn_v16u8 __attribute__((vector_size(16)));
typedef int16_t nn_v16s __attribute__((vector_size(32)));
typedef int8_t nn_v16s8 __attribute__((vector_size(16)));

static inline nn_v16i nn_v16i_splat(int32_t x)
{
    nn_v16i v = {0};
    return v + x; /* scalar operand: broadcast */
}

/* Widening loads of 16 elements to int32 lanes (GCC lowers __builtin_convertvector across
 * element sizes to scalar code, so AVX-512 builds use the extension instructions and AVX2
 * builds two 8-lane ones). */
#ifdef __AVX512BW__
#define NN_DEFINE_WIDEN(fname, T, VT, LOADT, load, widen, widen8, half)                      \
    static inline nn_v16i fname(const T *p)                                                 \
    {                                                                                       \
        __m512i v = widen(load((const LOADT *)(const void *)p));                            \
        nn_v16i r;                                                                          \
        memcpy(&r, &v, sizeof r);                                                           \
        return r;                                                                           \
    }
#elif defined(__AVX2__)
#include <immintrin.h>
#define NN_DEFINE_WIDEN(fname, T, VT, LOADT, load, widen, widen8, half)                      \
    static inline nn_v16i fname(const T *p)                                                 \
    {                                                                                       \
        __m128i lo = _mm_setzero_si128(), hi = lo; /* 8 elements = `half` bytes each */     \
        memcpy(&lo, p, half);                                                               \
        memcpy(&hi, (const unsigned char *)p + half, half);                                 \
        __m256i v[2] = {widen8(lo), widen8(hi)};                                            \
        nn_v16i r;                                                                          \
        memcpy(&r, v, sizeof r);                                                            \
        return r;                                                                           \
    }
#else
#define NN_DEFINE_WIDEN(fname, T, VT, LOADT, load, widen, widen8, half)                      \
    static inline nn_v16i fname(const T *p)                                                 \
    {                                                                                       \
        VT v;                                                                               \
        memcpy(&v, p, sizeof v);                                                            \
        return __builtin_convertvector(v, nn_v16i);                                         \
    }
#endif
NN_DEFINE_WIDEN(nn_v16i_load_u8, uint8_t, nn_v16u8, __m128i, _mm_loadu_si128, _mm512_cvtepu8_epi32,
                _mm256_cvtepu8_epi32, 8)
NN_DEFINE_WIDEN(nn_v16i_load_s8, int8_t, nn_v16s8, __m128i, _mm_loadu_si128, _mm512_cvtepi8_epi32,
                _mm256_cvtepi8_epi32, 8)
NN_DEFINE_WIDEN(nn_v16i_load_s16, int16_t, nn_v16s, __m256i, _mm256_loadu_si256,
                _mm512_cvtepi16_epi32, _mm256_cvtepi16_epi32, 16)

static inline nn_v16f nn_v16f_splat(float x)
{
    return (nn_v16f){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

#endif
