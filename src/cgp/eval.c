/* eval.c - operator semantics (scalar reference; AVX2 and AVX-512 lanes chosen at run time),
 * active-node decoding, evaluation and error. All kernels are pure functions over flat arrays. */
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"


const int8_t cgp_op_arity_tab[CGPC_OP_COUNT] = {
#define CGP_ARITY(sym, name, arity, meaning) arity,
    CGPC_OP_LIST(CGP_ARITY)
#undef CGP_ARITY
};

/* 8-bit two's complement: compute in unsigned, reinterpret. */
static inline int8_t wrap8(unsigned v) { return (int8_t)(uint8_t)v; }
static inline int8_t sar8(int8_t a, int k) { return (int8_t)(a >> k); } /* gcc: arithmetic */
static inline int8_t shl8(int8_t a, int k) { return wrap8((unsigned)(uint8_t)a << k); }

static inline __attribute__((always_inline)) int8_t op_scalar(int op, int8_t a, int8_t b, int8_t c,
                                                              int8_t d, int item)
{
    unsigned ua = (uint8_t)a, ub = (uint8_t)b;
    switch (op) {
    case CGPC_OP_RSUB127: return wrap8(127u - ua);
    case CGPC_OP_ADD: return wrap8(ua + ub);
    case CGPC_OP_SUB: return wrap8(ua - ub);
    case CGPC_OP_MUL: return wrap8(ua * ub);
    case CGPC_OP_NEG: return wrap8(0u - ua);
    case CGPC_OP_SUB128: return wrap8(ua - 128u);
    case CGPC_OP_SHR2: return sar8(a, 2);
    case CGPC_OP_SHR1: return sar8(a, 1);
    case CGPC_OP_AND: return wrap8(ua & ub);
    case CGPC_OP_OR: return wrap8(ua | ub);
    case CGPC_OP_XOR: return wrap8(ua ^ ub);
    case CGPC_OP_NOT: return wrap8(~ua);
    case CGPC_OP_SHL1: return shl8(a, 1);
    case CGPC_OP_INC: return wrap8(ua + 1u);
    case CGPC_OP_DEC: return wrap8(ua - 1u);
    case CGPC_OP_SHR3: return sar8(a, 3);
    case CGPC_OP_SHR4: return sar8(a, 4);
    case CGPC_OP_SHR5: return sar8(a, 5);
    case CGPC_OP_SHL2: return shl8(a, 2);
    case CGPC_OP_SHL3: return shl8(a, 3);
    case CGPC_OP_SHL4: return shl8(a, 4);
    case CGPC_OP_SHL5: return shl8(a, 5);
    case CGPC_OP_CONST1: return 1;
    case CGPC_OP_CONSTM1: return -1;
    case CGPC_OP_CONST0: return 0;
    case CGPC_OP_CONSTM128: return -128;
    case CGPC_OP_CONST127: return 127;
    case CGPC_OP_ID: return a;
    case CGPC_OP_MUX2: return (item & 1) ? b : a;
    case CGPC_OP_MUX4: {
        const int8_t in[4] = {a, b, c, d};
        return in[item & 3];
    }
    default: CGPC_ASSERT(!"unknown operator");
    }
    return 0;
}

int8_t cgp_op_scalar(int op, int8_t a, int8_t b, int8_t c, int8_t d, int item)
{
    return op_scalar(op, a, b, c, d, item);
}

/* dst, a, b, c, d: n int8 lanes; lane l is data item item0 + l. */
void cgp_op_lanes_scalar(int op, int8_t *dst, const int8_t *a, const int8_t *b,
                         const int8_t *c, const int8_t *d, int n, int item0)
{
    /* One switch per call, a tight loop per operator (the compiler vectorises most). */
#define LANES(expr)                  \
    for (int l = 0; l < n; l++)      \
        dst[l] = (expr);             \
    return
    switch (op) {
    case CGPC_OP_ADD: LANES(wrap8((unsigned)(uint8_t)a[l] + (uint8_t)b[l]));
    case CGPC_OP_SUB: LANES(wrap8((unsigned)(uint8_t)a[l] - (uint8_t)b[l]));
    case CGPC_OP_MUL: LANES(wrap8((unsigned)(uint8_t)a[l] * (uint8_t)b[l]));
    case CGPC_OP_AND: LANES((int8_t)(a[l] & b[l]));
    case CGPC_OP_OR: LANES((int8_t)(a[l] | b[l]));
    case CGPC_OP_XOR: LANES((int8_t)(a[l] ^ b[l]));
    case CGPC_OP_ID: LANES(a[l]);
    default: break;
    }
#undef LANES
    for (int l = 0; l < n; l++)
        dst[l] = cgp_op_scalar(op, a ? a[l] : 0, b ? b[l] : 0, c ? c[l] : 0, d ? d[l] : 0, item0 + l);
}

/* ---- instruction-set paths ------------------------------------------------------------------
 * Every path computes the same bytes as cgp_op_scalar. The AVX2 and AVX-512 kernels are
 * compiled with per-function target attributes, so a binary built for plain x86-64 (SSE2)
 * still carries them and cgp_isa_active() picks one by what the CPU reports at run time. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CGP_HAVE_X86 1
#include <immintrin.h>
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,gfni")))
#else
#define CGP_HAVE_X86 0
#endif

static const char *const isa_names[CGP_ISA_COUNT] = {"scalar", "avx2", "avx512"};

const char *cgp_isa_name(enum cgp_isa isa)
{
    return isa >= 0 && isa < CGP_ISA_COUNT ? isa_names[isa] : "?";
}

int cgp_isa_supported(enum cgp_isa isa)
{
    switch (isa) {
    case CGP_ISA_SCALAR: return 1;
#if CGP_HAVE_X86
    case CGP_ISA_AVX2: return __builtin_cpu_supports("avx2");
    case CGP_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("gfni") &&
               __builtin_cpu_supports("avx2");
#endif
    default: return 0;
    }
}

static int isa_cached = -1;

enum cgp_isa cgp_isa_active(void)
{
    int v = __atomic_load_n(&isa_cached, __ATOMIC_RELAXED);
    if (v >= 0)
        return (enum cgp_isa)v;
    v = CGP_ISA_SCALAR;
    for (int i = CGP_ISA_COUNT - 1; i > 0; i--)
        if (cgp_isa_supported((enum cgp_isa)i)) {
            v = i;
            break;
        }
    /* CGPC_ISA=scalar|avx2|avx512 caps the choice (tests and benchmarks compare paths). */
    const char *cap = getenv("CGPC_ISA");
    for (int i = 0; cap && i < v; i++)
        if (strcmp(cap, isa_names[i]) == 0)
            v = i;
    __atomic_store_n(&isa_cached, v, __ATOMIC_RELAXED);
    return (enum cgp_isa)v;
}

/* The AVX-512 path evaluates a node without branching on its operator: every operator but mul
 * and the muxes is one instance of
 *     r = (((A_a x) ^ ca) + ((A_b y) ^ cb)) ^ co  |  (x & y & mand)  |  ((x ^ y) & mxor)
 * where A_a, A_b are GF(2) affine byte matrices (vgf2p8affineqb: identity, byte shifts, or zero)
 * and the constants come from a per-operator row of op_vec_tab. mul and the muxes (class 1..3)
 * take one rarely taken branch. Output bit i of an affine matrix is parity(row byte 7-i & x):
 * left shift by k takes bit i-k, arithmetic right shift takes bit min(i+k, 7). */
#define GF_ROW(i, src) ((uint64_t)(1u << (src)) << (8 * (7 - (i))))
#define GF_SHL_I(i, k) ((i) >= (k) ? GF_ROW(i, (i) >= (k) ? (i) - (k) : 0) : 0ull)
#define GF_SAR_I(i, k) GF_ROW(i, (i) + (k) > 7 ? 7 : (i) + (k))
#define GF_MAT(F, k) (F(0, k) | F(1, k) | F(2, k) | F(3, k) | F(4, k) | F(5, k) | F(6, k) | F(7, k))
#define GF_SHL(k) GF_MAT(GF_SHL_I, k)
#define GF_SAR(k) GF_MAT(GF_SAR_I, k)
#define GF_ID GF_SHL(0)

struct op_vec {
    uint64_t ma, mb;                 /* affine matrices of the inputs */
    uint32_t ca, cb, co, mand, mxor; /* byte constants, replicated 4x */
    uint32_t cls;                    /* 0: the form above; 1 mul; 2 mux2; 3 mux4 */
};
#define B4(x) (0x01010101u * (uint32_t)(uint8_t)(x))
static const struct op_vec op_vec_tab[CGPC_OP_COUNT] = {
    [CGPC_OP_RSUB127] = {GF_ID, 0, B4(0xFF), B4(128), 0, 0, 0, 0}, /* ~a + 128 */
    [CGPC_OP_ADD] = {GF_ID, GF_ID, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SUB] = {GF_ID, GF_ID, B4(0xFF), 0, B4(0xFF), 0, 0, 0}, /* ~(~a + b) */
    [CGPC_OP_MUL] = {0, 0, 0, 0, 0, 0, 0, 1},
    [CGPC_OP_NEG] = {GF_ID, 0, B4(0xFF), B4(1), 0, 0, 0, 0},        /* ~a + 1 */
    [CGPC_OP_SUB128] = {GF_ID, 0, B4(0x80), 0, 0, 0, 0, 0},
    [CGPC_OP_SHR2] = {GF_SAR(2), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHR1] = {GF_SAR(1), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_AND] = {0, 0, 0, 0, 0, B4(0xFF), 0, 0},
    [CGPC_OP_OR] = {0, 0, 0, 0, 0, B4(0xFF), B4(0xFF), 0},        /* (a & b) | (a ^ b) */
    [CGPC_OP_XOR] = {0, 0, 0, 0, 0, 0, B4(0xFF), 0},
    [CGPC_OP_NOT] = {GF_ID, 0, B4(0xFF), 0, 0, 0, 0, 0},
    [CGPC_OP_SHL1] = {GF_SHL(1), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_INC] = {GF_ID, 0, 0, B4(1), 0, 0, 0, 0},
    [CGPC_OP_DEC] = {GF_ID, 0, 0, B4(0xFF), 0, 0, 0, 0},
    [CGPC_OP_SHR3] = {GF_SAR(3), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHR4] = {GF_SAR(4), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHR5] = {GF_SAR(5), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHL2] = {GF_SHL(2), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHL3] = {GF_SHL(3), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHL4] = {GF_SHL(4), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_SHL5] = {GF_SHL(5), 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_CONST1] = {0, 0, 0, B4(1), 0, 0, 0, 0},
    [CGPC_OP_CONSTM1] = {0, 0, 0, B4(-1), 0, 0, 0, 0},
    [CGPC_OP_CONST0] = {0, 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_CONSTM128] = {0, 0, 0, B4(-128), 0, 0, 0, 0},
    [CGPC_OP_CONST127] = {0, 0, 0, B4(127), 0, 0, 0, 0},
    [CGPC_OP_ID] = {GF_ID, 0, 0, 0, 0, 0, 0, 0},
    [CGPC_OP_MUX2] = {0, 0, 0, 0, 0, 0, 0, 2},
    [CGPC_OP_MUX4] = {0, 0, 0, 0, 0, 0, 0, 3},
};
#undef B4

#if CGP_HAVE_X86
/* Arithmetic right shift of int8 lanes by k: logical shift, then sign-extend via xor/sub. */
TARGET_AVX2 static inline __m256i sar8_avx2(__m256i a, int k)
{
    __m256i lo = _mm256_and_si256(_mm256_srli_epi16(a, k), _mm256_set1_epi8((char)(0xFF >> k)));
    __m256i m = _mm256_set1_epi8((char)(0x80 >> k));
    return _mm256_sub_epi8(_mm256_xor_si256(lo, m), m);
}
TARGET_AVX2 static inline __m256i shl8_avx2(__m256i a, int k)
{
    return _mm256_and_si256(_mm256_slli_epi16(a, k), _mm256_set1_epi8((char)((0xFF << k) & 0xFF)));
}
/* Low byte of the product: even bytes and odd bytes through 16-bit multiplies. */
TARGET_AVX2 static inline __m256i mul8_avx2(__m256i a, __m256i b)
{
    __m256i even = _mm256_mullo_epi16(a, b);
    __m256i odd = _mm256_mullo_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
    return _mm256_or_si256(_mm256_slli_epi16(odd, 8),
                           _mm256_and_si256(even, _mm256_set1_epi16(0x00FF)));
}

/* One block of 32 lanes; lane l is item (block start + l), the block start a multiple of 4. */
TARGET_AVX2 static inline void op_block32(int op, int8_t *dst, const int8_t *a, const int8_t *b,
                                          const int8_t *c, const int8_t *d)
{
    /* Lane selectors for muxes: item mod 4 of each lane. */
    const __m256i lane = _mm256_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2,
                                          3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    __m256i va = _mm256_setzero_si256(), vb = va, r;
    int ar = cgp_op_arity_tab[op];
    if (ar >= 1)
        va = _mm256_loadu_si256((const __m256i *)a);
    if (ar >= 2)
        vb = _mm256_loadu_si256((const __m256i *)b);
    switch (op) {
    case CGPC_OP_RSUB127: r = _mm256_sub_epi8(_mm256_set1_epi8(127), va); break;
    case CGPC_OP_ADD: r = _mm256_add_epi8(va, vb); break;
    case CGPC_OP_SUB: r = _mm256_sub_epi8(va, vb); break;
    case CGPC_OP_MUL: r = mul8_avx2(va, vb); break;
    case CGPC_OP_NEG: r = _mm256_sub_epi8(_mm256_setzero_si256(), va); break;
    case CGPC_OP_SUB128: r = _mm256_xor_si256(va, _mm256_set1_epi8((char)0x80)); break;
    case CGPC_OP_SHR1: r = sar8_avx2(va, 1); break;
    case CGPC_OP_SHR2: r = sar8_avx2(va, 2); break;
    case CGPC_OP_SHR3: r = sar8_avx2(va, 3); break;
    case CGPC_OP_SHR4: r = sar8_avx2(va, 4); break;
    case CGPC_OP_SHR5: r = sar8_avx2(va, 5); break;
    case CGPC_OP_AND: r = _mm256_and_si256(va, vb); break;
    case CGPC_OP_OR: r = _mm256_or_si256(va, vb); break;
    case CGPC_OP_XOR: r = _mm256_xor_si256(va, vb); break;
    case CGPC_OP_NOT: r = _mm256_xor_si256(va, _mm256_set1_epi8(-1)); break;
    case CGPC_OP_SHL1: r = shl8_avx2(va, 1); break;
    case CGPC_OP_SHL2: r = shl8_avx2(va, 2); break;
    case CGPC_OP_SHL3: r = shl8_avx2(va, 3); break;
    case CGPC_OP_SHL4: r = shl8_avx2(va, 4); break;
    case CGPC_OP_SHL5: r = shl8_avx2(va, 5); break;
    case CGPC_OP_INC: r = _mm256_add_epi8(va, _mm256_set1_epi8(1)); break;
    case CGPC_OP_DEC: r = _mm256_sub_epi8(va, _mm256_set1_epi8(1)); break;
    case CGPC_OP_CONST1: r = _mm256_set1_epi8(1); break;
    case CGPC_OP_CONSTM1: r = _mm256_set1_epi8(-1); break;
    case CGPC_OP_CONST0: r = _mm256_setzero_si256(); break;
    case CGPC_OP_CONSTM128: r = _mm256_set1_epi8(-128); break;
    case CGPC_OP_CONST127: r = _mm256_set1_epi8(127); break;
    case CGPC_OP_ID: r = va; break;
    case CGPC_OP_MUX2: {
        __m256i odd = _mm256_cmpeq_epi8(_mm256_and_si256(lane, _mm256_set1_epi8(1)),
                                        _mm256_set1_epi8(1));
        r = _mm256_blendv_epi8(va, vb, odd);
        break;
    }
    case CGPC_OP_MUX4: {
        __m256i vc = _mm256_loadu_si256((const __m256i *)c);
        __m256i vd = _mm256_loadu_si256((const __m256i *)d);
        r = _mm256_blendv_epi8(va, vb, _mm256_cmpeq_epi8(lane, _mm256_set1_epi8(1)));
        r = _mm256_blendv_epi8(r, vc, _mm256_cmpeq_epi8(lane, _mm256_set1_epi8(2)));
        r = _mm256_blendv_epi8(r, vd, _mm256_cmpeq_epi8(lane, _mm256_set1_epi8(3)));
        break;
    }
    default: CGPC_ASSERT(!"unknown operator"); r = va;
    }
    _mm256_storeu_si256((__m256i *)dst, r);
}

/* n lanes (a multiple of 32) in blocks of 32. */
TARGET_AVX2 static void op_lanes_avx2(int op, int8_t *dst, const int8_t *a, const int8_t *b,
                                      const int8_t *c, const int8_t *d, int n)
{
    for (int l = 0; l < n; l += 32)
        op_block32(op, dst + l, a + l, b + l, c + l, d + l);
}


/* One node on one vector of width W (512 or 256; lane l is an item with l mod 4 the item mod 4).
 * vc, vd are loaded by LOAD_CD only for mux4. */
#define NODE_VEC(P, VT, MT, SET1_64, q, va, vb, LOAD_CD)                                          \
    ({                                                                                       \
        const MT odd_ = (MT)0xAAAAAAAAAAAAAAAAull;                                              \
        VT r_;                                                                               \
        if (__builtin_expect((q)->cls == 0, 1)) {                                            \
            VT a1_ = P##xor_epi32(P##gf2p8affine_epi64_epi8(va, SET1_64((long long)(q)->ma), 0), \
                                  P##set1_epi32((int)(q)->ca));                              \
            VT b1_ = P##xor_epi32(P##gf2p8affine_epi64_epi8(vb, SET1_64((long long)(q)->mb), 0), \
                                  P##set1_epi32((int)(q)->cb));                              \
            VT t1_ = P##ternarylogic_epi32(va, vb, P##set1_epi32((int)(q)->mand), 0x80);     \
            VT t2_ = P##ternarylogic_epi32(va, vb, P##set1_epi32((int)(q)->mxor), 0x28);     \
            VT u_ = P##ternarylogic_epi32(P##add_epi8(a1_, b1_), P##set1_epi32((int)(q)->co), \
                                          t1_, 0xBE);                                        \
            r_ = P##or_epi32(u_, t2_);                                                       \
        } else if ((q)->cls == 1) {                                                          \
            r_ = P##mask_blend_epi8(odd_, P##mullo_epi16(va, vb),                             \
                                    P##mullo_epi16(P##srli_epi16(va, 8),                      \
                                                   P##ternarylogic_epi32(P##set1_epi16(0x00FF), vb, vb, 0x0C))); \
        } else if ((q)->cls == 2) {                                                          \
            r_ = P##mask_blend_epi8(odd_, va, vb);                                           \
        } else {                                                                             \
            VT vc_, vd_;                                                                     \
            LOAD_CD(vc_, vd_);                                                               \
            r_ = P##mask_blend_epi8((MT)0x8888888888888888ull,                                   \
                                    P##mask_blend_epi8((MT)0x4444444444444444ull,                \
                                                       P##mask_blend_epi8((MT)0x2222222222222222ull, \
                                                                          va, vb),           \
                                                       vc_),                                 \
                                    vd_);                                                    \
        }                                                                                    \
        r_;                                                                                  \
    })

/* n lanes (any n >= 1; item0 a multiple of 4) in 64-lane vectors, the last one masked: loads and
 * stores never touch bytes at or past n. */
TARGET_AVX512 static inline void node_avx512(const struct op_vec *q, int8_t *dst, const int8_t *a,
                                             const int8_t *b, const int8_t *c, const int8_t *d,
                                             int n)
{
    for (int l = 0; l < n; l += 64) {
        if (n - l >= 64) {
            __m512i va = _mm512_loadu_si512(a + l), vb = _mm512_loadu_si512(b + l);
#define LOAD_CD_FULL(x, y) (x = _mm512_loadu_si512(c + l), y = _mm512_loadu_si512(d + l))
            _mm512_storeu_si512(dst + l, NODE_VEC(_mm512_, __m512i, __mmask64, _mm512_set1_epi64, q, va, vb,
                                                  LOAD_CD_FULL));
#undef LOAD_CD_FULL
        } else {
            __mmask64 m = (1ull << (n - l)) - 1;
            __m512i va = _mm512_maskz_loadu_epi8(m, a + l), vb = _mm512_maskz_loadu_epi8(m, b + l);
#define LOAD_CD_MASK(x, y) (x = _mm512_maskz_loadu_epi8(m, c + l), y = _mm512_maskz_loadu_epi8(m, d + l))
            _mm512_mask_storeu_epi8(dst + l, m, NODE_VEC(_mm512_, __m512i, __mmask64, _mm512_set1_epi64, q, va,
                                                         vb, LOAD_CD_MASK));
#undef LOAD_CD_MASK
        }
    }
}

/* One row of stride 64 (33..64 items): whole-row loads, the store masked to the items. */
TARGET_AVX512 static inline void node_avx512_64(const struct op_vec *q, int8_t *dst,
                                                const int8_t *a, const int8_t *b, const int8_t *c,
                                                const int8_t *d, __mmask64 m)
{
    __m512i va = _mm512_loadu_si512(a), vb = _mm512_loadu_si512(b);
#define LOAD_CD_64(x, y) (x = _mm512_loadu_si512(c), y = _mm512_loadu_si512(d))
    _mm512_mask_storeu_epi8(dst, m, NODE_VEC(_mm512_, __m512i, __mmask64, _mm512_set1_epi64, q, va,
                                             vb, LOAD_CD_64));
#undef LOAD_CD_64
}

/* Up to 16 lanes (rows shorter than 16 items) in one 128-bit vector, loads and store masked. */
TARGET_AVX512 static inline void node_avx512_16(const struct op_vec *q, int8_t *dst,
                                                const int8_t *a, const int8_t *b, const int8_t *c,
                                                const int8_t *d, __mmask16 m)
{
    __m128i va = _mm_maskz_loadu_epi8(m, a), vb = _mm_maskz_loadu_epi8(m, b);
#define LOAD_CD_16(x, y) (x = _mm_maskz_loadu_epi8(m, c), y = _mm_maskz_loadu_epi8(m, d))
    _mm_mask_storeu_epi8(dst, m, NODE_VEC(_mm_, __m128i, __mmask16, _mm_set1_epi64x, q, va, vb,
                                          LOAD_CD_16));
#undef LOAD_CD_16
}

/* One item: the node's byte in lane 0 of a 128-bit vector, the form above (the muxes take input
 * a at item 0). Fewer instructions than the scalar form per node: in the evolver (256x31, 1
 * item) about 30 % less evaluation time, on the benchmark's lists 1.3-1.5x the nodes/s. */
TARGET_AVX512 static void eval_one_avx512(const struct cgp_shape *s, const int32_t *genes,
                                          const int32_t *order, int n_active, int8_t *values)
{
    const size_t A1 = (size_t)s->node_arity + 1;
    int8_t *const out = values + s->n_inputs;
    for (int i = 0; i < n_active; i++) {
        const int32_t k = order[i], *ng = genes + (size_t)k * A1;
        const struct op_vec *q = &op_vec_tab[ng[A1 - 1]];
        __m128i va = _mm_cvtsi32_si128((uint8_t)values[ng[0]]);
        __m128i vb = _mm_cvtsi32_si128((uint8_t)values[ng[1]]);
#define LOAD_CD_ONE(x, y) (x = va, y = va)
        __m128i r = NODE_VEC(_mm_, __m128i, __mmask16, _mm_set1_epi64x, q, va, vb, LOAD_CD_ONE);
#undef LOAD_CD_ONE
        out[k] = (int8_t)_mm_cvtsi128_si32(r);
    }
}

/* Exactly 32 lanes (rows of stride 32: 16..32 items) in one 256-bit vector, unmasked. */
TARGET_AVX512 static inline void node_avx512_32(const struct op_vec *q, int8_t *dst,
                                                const int8_t *a, const int8_t *b, const int8_t *c,
                                                const int8_t *d)
{
    __m256i va = _mm256_loadu_si256((const __m256i *)a), vb = _mm256_loadu_si256((const __m256i *)b);
#define LOAD_CD_32(x, y) \
    (x = _mm256_loadu_si256((const __m256i *)c), y = _mm256_loadu_si256((const __m256i *)d))
    _mm256_storeu_si256((__m256i *)dst,
                        NODE_VEC(_mm256_, __m256i, __mmask32, _mm256_set1_epi64x, q, va, vb, LOAD_CD_32));
#undef LOAD_CD_32
}
#endif /* CGP_HAVE_X86 */

int cgp_op_lanes_isa(enum cgp_isa isa, int op, int8_t *dst, const int8_t *a, const int8_t *b,
                     const int8_t *c, const int8_t *d, int n, int item0)
{
    CGPC_ASSERT(cgp_isa_supported(isa));
#if CGP_HAVE_X86
    if (item0 % 4 == 0 && a && b && c && d) {
        if (isa == CGP_ISA_AVX512) {
            if (n == 32)
                node_avx512_32(&op_vec_tab[op], dst, a, b, c, d);
            else
                node_avx512(&op_vec_tab[op], dst, a, b, c, d, n);
            return 1;
        }
        if (isa == CGP_ISA_AVX2 && n % 32 == 0) {
            op_lanes_avx2(op, dst, a, b, c, d, n);
            return 1;
        }
    }
#endif
    cgp_op_lanes_scalar(op, dst, a, b, c, d, n, item0);
    return 0;
}

/* One item (stride 1): one switch per node, on scalars. */
/* One item, without a jump per node: op_vec_tab's form on one byte, each affine matrix (the
 * identity, a byte shift left or arithmetic right, zero) as a shift pair on the sign-extended
 * byte and a mask; mul as a masked product. Only the muxes take a (rarely taken) branch. */
struct op_one {
    uint8_t la, ra, lb, rb; /* A_a x = (x << la) >> ra, the same for b */
    int32_t ma, mb;         /* 0xFF, or 0: the zero matrix */
    int32_t ca, cb, co, mand, mxor, mmul;
    int mux;
};
static struct op_one op_one_tab[CGPC_OP_COUNT];

static void op_one_matrix(uint64_t m, uint8_t *l, uint8_t *r, int32_t *mask)
{
    *l = *r = 0;
    *mask = m ? 0xFF : 0;
    for (int k = 1; k < 8; k++) {
        if (m == GF_SHL(k))
            *l = (uint8_t)k;
        if (m == GF_SAR(k))
            *r = (uint8_t)k;
    }
    CGPC_ASSERT(!m || m == GF_ID || *l || *r);
}

__attribute__((constructor)) static void op_one_init(void)
{
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        const struct op_vec *q = &op_vec_tab[op];
        struct op_one *o = &op_one_tab[op];
        op_one_matrix(q->ma, &o->la, &o->ra, &o->ma);
        op_one_matrix(q->mb, &o->lb, &o->rb, &o->mb);
        o->ca = (int32_t)(q->ca & 0xFF);
        o->cb = (int32_t)(q->cb & 0xFF);
        o->co = (int32_t)(q->co & 0xFF);
        o->mand = (int32_t)(q->mand & 0xFF);
        o->mxor = (int32_t)(q->mxor & 0xFF);
        o->mmul = q->cls == 1 ? 0xFF : 0;
        o->mux = q->cls >= 2;
    }
}

static void eval_one_item(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                          int n_active, int8_t *values)
{
    const int A = s->node_arity, ni = s->n_inputs;
    for (int i = 0; i < n_active; i++) {
        int k = order[i];
        const int32_t *ng = genes + (size_t)k * (A + 1);
        const struct op_one *q = &op_one_tab[ng[A]];
        int32_t x = values[ng[0]], y = values[ng[1]];
        if (__builtin_expect(q->mux, 0)) {
            values[ni + k] = op_scalar(ng[A], (int8_t)x, (int8_t)y, values[ng[A == 4 ? 2 : 0]],
                                       values[ng[A == 4 ? 3 : 0]], 0);
            continue;
        }
        int32_t ax = ((int32_t)((uint32_t)x << q->la) >> q->ra) & q->ma;
        int32_t by = ((int32_t)((uint32_t)y << q->lb) >> q->rb) & q->mb;
        int32_t r = (((ax ^ q->ca) + (by ^ q->cb)) ^ q->co) | (x & y & q->mand) |
                    ((x ^ y) & q->mxor) | ((x * y) & q->mmul);
        values[ni + k] = (int8_t)(uint8_t)r;
    }
}

/* The node loop of one path: `LANES(op, dst, a, b, c, d)` evaluates one node over the items.
 * Source pointers of unused inputs point at valid rows (every gene holds a valid source) and
 * are not read. */
#define EVAL_NODES(LANES, A_, STRIDE_)                                                     \
    {                                                                                      \
        const int A = (A_), ni = s->n_inputs;                                              \
        const size_t st = (size_t)(STRIDE_);                                               \
        for (int i = 0; i < n_active; i++) {                                               \
            int k = order[i];                                                              \
            const int32_t *ng = genes + (size_t)k * (A + 1);                               \
            const int8_t *pa = values + (size_t)ng[0] * st, *pb = values + (size_t)ng[1] * st; \
            const int8_t *pc = A == 4 ? values + (size_t)ng[2] * st : pa;                  \
            const int8_t *pd = A == 4 ? values + (size_t)ng[3] * st : pa;                  \
            LANES(ng[A], values + (size_t)(ni + k) * st, pa, pb, pc, pd);                  \
        }                                                                                  \
    }

static void eval_scalar(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                        int n_active, int n_items, int stride, int8_t *values)
{
#define L_SCALAR(op, dst, a, b, c, d) cgp_op_lanes_scalar(op, dst, a, b, c, d, n_items, 0)
    EVAL_NODES(L_SCALAR, s->node_arity, stride)
#undef L_SCALAR
}

#if CGP_HAVE_X86
TARGET_AVX2 static void eval_avx2(const struct cgp_shape *s, const int32_t *genes,
                                  const int32_t *order, int n_active, int n_items, int stride,
                                  int8_t *values)
{
    if (stride % 32 != 0) {
        eval_scalar(s, genes, order, n_active, n_items, stride, values);
        return;
    }
    if (stride == 32) { /* the common 16..32-item case: one inlined block per node */
#define L_AVX2_32(op, dst, a, b, c, d) op_block32(op, dst, a, b, c, d)
        EVAL_NODES(L_AVX2_32, s->node_arity, 32)
#undef L_AVX2_32
        return;
    }
#define L_AVX2(op, dst, a, b, c, d) op_lanes_avx2(op, dst, a, b, c, d, stride)
    EVAL_NODES(L_AVX2, s->node_arity, stride)
#undef L_AVX2
}

TARGET_AVX512 static void eval_avx512(const struct cgp_shape *s, const int32_t *genes,
                                      const int32_t *order, int n_active, int n_items,
                                      int stride, int8_t *values)
{
    if (stride == 32) {
#define L_AVX512_32(op, dst, a, b, c, d) node_avx512_32(&op_vec_tab[op], dst, a, b, c, d)
        if (s->node_arity == 2)
            EVAL_NODES(L_AVX512_32, 2, 32)
        else
            EVAL_NODES(L_AVX512_32, 4, 32)
#undef L_AVX512_32
        return;
    }
    if (stride < 16) { /* 2..15 items (the stride is the item count): one masked 128-bit vector */
        const __mmask16 m = (__mmask16)((1u << n_items) - 1);
#define L_AVX512_16(op, dst, a, b, c, d) node_avx512_16(&op_vec_tab[op], dst, a, b, c, d, m)
        EVAL_NODES(L_AVX512_16, s->node_arity, stride)
#undef L_AVX512_16
        return;
    }
#define L_AVX512(op, dst, a, b, c, d) node_avx512(&op_vec_tab[op], dst, a, b, c, d, n_items)
    if (stride == 64) {
        const __mmask64 m = n_items == 64 ? ~0ull : (1ull << n_items) - 1;
#define L_AVX512_64(op, dst, a, b, c, d) node_avx512_64(&op_vec_tab[op], dst, a, b, c, d, m)
        if (s->node_arity == 2)
            EVAL_NODES(L_AVX512_64, 2, 64)
        else
            EVAL_NODES(L_AVX512_64, 4, 64)
#undef L_AVX512_64
        return;
    }
    EVAL_NODES(L_AVX512, s->node_arity, stride)
#undef L_AVX512
}
#endif

/* Gene g, resolved first when a pending (not yet drawn) mutation sits on it. */
static inline int32_t gene_at(const int32_t *genes, size_t g, const uint64_t *pending,
                              cgp_resolve_fn resolve, void *ctx)
{
    if (pending && (pending[g >> 6] >> (g & 63)) & 1)
        resolve(ctx, (int)g);
    return genes[g];
}

static inline int decode_impl(const struct cgp_shape *s, const int32_t *genes, uint32_t *stamp,
                              uint32_t mark, int32_t *stack, int32_t *order,
                              const uint64_t *pending, cgp_resolve_fn resolve, void *ctx)
{
    const int A = s->node_arity, ni = s->n_inputs;
    const size_t out0 = (size_t)s->n_nodes * (A + 1);
    int n = 0;
    for (int o = 0; o < s->n_outputs; o++) {
        int root = gene_at(genes, out0 + o, pending, resolve, ctx) - ni;
        if (root < 0 || stamp[root] == mark)
            continue;
        stamp[root] = mark;
        stack[0] = root;
        stack[1] = 0;
        int sp = 1;
        while (sp > 0) {
            int32_t *top = &stack[2 * (sp - 1)];
            int k = top[0], j = top[1];
            size_t g0 = (size_t)k * (A + 1);
            if (j < cgp_op_arity_tab[gene_at(genes, g0 + A, pending, resolve, ctx)]) {
                top[1] = j + 1;
                int src = gene_at(genes, g0 + j, pending, resolve, ctx) - ni;
                if (src >= 0 && stamp[src] != mark) {
                    stamp[src] = mark;
                    stack[2 * sp] = src;
                    stack[2 * sp + 1] = 0;
                    sp++;
                }
            } else {
                order[n++] = k;
                sp--;
            }
        }
    }
    return n;
}

int cgp_decode_active(const struct cgp_shape *s, const int32_t *genes, uint32_t *stamp,
                      uint32_t mark, int32_t *stack, int32_t *order)
{
    return decode_impl(s, genes, stamp, mark, stack, order, NULL, NULL, NULL);
}

int cgp_decode_active_lazy(const struct cgp_shape *s, const int32_t *genes, uint32_t *stamp,
                           uint32_t mark, int32_t *stack, int32_t *order,
                           const uint64_t *pending, cgp_resolve_fn resolve, void *ctx)
{
    return decode_impl(s, genes, stamp, mark, stack, order, pending, resolve, ctx);
}

int cgp_decode_active_sweep(const struct cgp_shape *s, const int32_t *genes, uint64_t *bits,
                            uint64_t *top, int32_t *order, const uint64_t *pending,
                            cgp_resolve_fn resolve, void *ctx)
{
    const int A = s->node_arity, ni = s->n_inputs;
    const size_t out0 = (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++) {
        int root = gene_at(genes, out0 + o, pending, resolve, ctx) - ni;
        if (root >= 0) {
            bits[root >> 6] |= 1ull << (root & 63);
            top[root >> 12] |= 1ull << ((root >> 6) & 63);
        }
    }
    int n = 0;
    for (int t = (s->n_nodes - 1) >> 12; t >= 0; t--) {
        while (top[t]) {
            int w = t * 64 + 63 - __builtin_clzll(top[t]);
            uint64_t x = bits[w];
            while (x) {
                int b = 63 - __builtin_clzll(x), k = w * 64 + b;
                x &= ~(1ull << b);
                order[n++] = k;
                size_t g0 = (size_t)k * (A + 1);
                int ar = cgp_op_arity_tab[gene_at(genes, g0 + A, pending, resolve, ctx)];
                for (int j = 0; j < ar; j++) {
                    int src = gene_at(genes, g0 + j, pending, resolve, ctx) - ni;
                    if (src < 0)
                        continue;
                    if (src >> 6 == w) { /* below k in this word: still to come */
                        x |= 1ull << (src & 63);
                    } else {
                        bits[src >> 6] |= 1ull << (src & 63);
                        top[src >> 12] |= 1ull << ((src >> 6) & 63);
                    }
                }
            }
            bits[w] = 0;
            top[t] &= ~(1ull << (w & 63));
        }
    }
    for (int i = 0, j = n - 1; i < j; i++, j--) { /* found highest first: reverse */
        int32_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    return n;
}

void cgp_values_load_inputs(const struct cgp_dataset *ds, int8_t *values)
{
    memcpy(values, ds->in, (size_t)ds->n_inputs * ds->stride);
}

void cgp_eval_active_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                         const int32_t *order, int n_active, int n_items, int stride,
                         int8_t *values)
{
    CGPC_ASSERT(cgp_isa_supported(isa));
    if (n_items == 1) {
#if CGP_HAVE_X86
        if (isa == CGP_ISA_AVX512) {
            eval_one_avx512(s, genes, order, n_active, values);
            return;
        }
#endif
        eval_one_item(s, genes, order, n_active, values);
        return;
    }
    switch (isa) {
#if CGP_HAVE_X86
    case CGP_ISA_AVX512: eval_avx512(s, genes, order, n_active, n_items, stride, values); return;
    case CGP_ISA_AVX2: eval_avx2(s, genes, order, n_active, n_items, stride, values); return;
#endif
    default: eval_scalar(s, genes, order, n_active, n_items, stride, values); return;
    }
}

void cgp_eval_active(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                     int n_active, int n_items, int stride, int8_t *values)
{
    cgp_eval_active_isa(cgp_isa_active(), s, genes, order, n_active, n_items, stride, values);
}

/* ---- error sums --------------------------------------------------------------------------
 * Every path returns the same int64 (integer sums, any order). care holds 0 or 1 (as
 * cgp_dataset_init and the readers write it); the SIMD paths read it as a flag. */
/* Output o's weighted error term, its values at v. */
static int64_t error_term_scalar(const int8_t *v, int o, const struct cgp_dataset *ds,
                                 enum cgp_error_kind kind)
{
    const int D = ds->n_items, st = ds->stride;
    const int8_t *t = ds->target + (size_t)o * st;
    const uint8_t *c = ds->care + (size_t)o * st;
    int32_t sum = 0; /* D * 255^2 fits int32 for D < 33000 */
    if (kind == CGP_ERROR_AE) {
        for (int d = 0; d < D; d++) {
            int e = v[d] - t[d];
            sum += c[d] * (e < 0 ? -e : e);
        }
    } else {
        for (int d = 0; d < D; d++) {
            int e = v[d] - t[d];
            sum += c[d] * e * e;
        }
    }
    return (int64_t)sum * ds->weight[o];
}

static int64_t error_sum_scalar(const int32_t *out_genes, int n_out, const int8_t *values,
                                int vst, const struct cgp_dataset *ds, enum cgp_error_kind kind)
{
    int64_t total = 0;
    for (int o = 0; o < n_out; o++)
        total += error_term_scalar(values + (size_t)out_genes[o] * vst, o, ds, kind);
    return total;
}

#if CGP_HAVE_X86
/* acc (int64 lanes) += w * p, lane by lane over the int32 lanes of p (p >= 0) and w. */
TARGET_AVX512 static inline __m512i wsum_avx512(__m512i acc, __m512i p, __m512i w)
{
    acc = _mm512_add_epi64(acc, _mm512_mul_epi32(p, w));
    return _mm512_add_epi64(acc, _mm512_mul_epi32(_mm512_srli_epi64(p, 32), _mm512_srli_epi64(w, 32)));
}

/* Per output: e = v - t in 16-bit lanes, zero where care is 0; SE sums e * e, AE |e|, in pairs
 * (vpmaddwd) into int32 lanes; then times the output's weight into int64 lanes. One item: 16
 * outputs per vector, their values gathered (a 4-byte gather wherever the row index leaves 3
 * bytes after it inside the rows, else byte loads). */
TARGET_AVX512 static int64_t error_sum_avx512(const int32_t *out_genes, int n_out, int n_rows,
                                              const int8_t *values, int vst,
                                              const struct cgp_dataset *ds,
                                              enum cgp_error_kind kind)
{
    const int D = ds->n_items, st = ds->stride, ae = kind == CGP_ERROR_AE;
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc = _mm512_setzero_si512();
    if (D == 1) {
        for (int o = 0; o < n_out; o += 16) {
            const __mmask16 m = n_out - o >= 16 ? 0xFFFF : (__mmask16)((1u << (n_out - o)) - 1);
            __m512i idx = _mm512_maskz_loadu_epi32(m, out_genes + o), v;
            if (_mm512_mask_cmpgt_epi32_mask(m, idx, _mm512_set1_epi32(n_rows - 4)) == 0) {
                v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m,
                                                _mm512_mullo_epi32(idx, _mm512_set1_epi32(vst)),
                                                values, 1);
                v = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
            } else {
                int32_t b[16] = {0};
                for (int j = 0; j < 16 && o + j < n_out; j++)
                    b[j] = values[(size_t)out_genes[o + j] * vst];
                v = _mm512_loadu_si512(b);
            }
            __m512i t = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, ds->target + o));
            __m128i c = _mm_maskz_loadu_epi8(m, ds->care + o);
            __m512i e = _mm512_maskz_sub_epi32(_mm_test_epi8_mask(c, c), v, t);
            __m512i p = ae ? _mm512_abs_epi32(e) : _mm512_mullo_epi32(e, e);
            acc = wsum_avx512(acc, p, _mm512_maskz_loadu_epi32(m, ds->weight + o));
        }
        return _mm512_reduce_add_epi64(acc);
    }
    if (D <= 16) { /* one 256-bit vector of 16-bit lanes per output, loads masked to D */
        const __mmask16 m = (__mmask16)((1u << D) - 1);
        const __m256i ones16 = _mm256_set1_epi16(1);
        __m256i acc16 = _mm256_setzero_si256();
        for (int o = 0; o < n_out; o++) {
            const size_t at = (size_t)o * st;
            __m128i vc = _mm_maskz_loadu_epi8(m, ds->care + at);
            __m256i e = _mm256_maskz_sub_epi16(
                _mm_test_epi8_mask(vc, vc),
                _mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(m, values + (size_t)out_genes[o] * vst)),
                _mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(m, ds->target + at)));
            __m256i p = ae ? _mm256_madd_epi16(_mm256_abs_epi16(e), ones16) : _mm256_madd_epi16(e, e);
            __m256i w = _mm256_set1_epi32(ds->weight[o]);
            acc16 = _mm256_add_epi64(acc16, _mm256_mul_epi32(p, w));
            acc16 = _mm256_add_epi64(acc16, _mm256_mul_epi32(_mm256_srli_epi64(p, 32), w));
        }
        __m128i h = _mm_add_epi64(_mm256_castsi256_si128(acc16), _mm256_extracti128_si256(acc16, 1));
        return _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
    }
    /* Rows of 16-bit lanes: 32 items per step; a step past D reads lanes inside the row (the
     * stride is a multiple of 32 from 16 items on). */
    for (int o = 0; o < n_out; o++) {
        const int8_t *v = values + (size_t)out_genes[o] * vst;
        const int8_t *t = ds->target + (size_t)o * st;
        const uint8_t *c = ds->care + (size_t)o * st;
        __m512i p = _mm512_setzero_si512();
        for (int l = 0; l < D; l += 32) {
            __m256i vc = _mm256_loadu_si256((const __m256i *)(c + l));
            __m512i e = _mm512_maskz_sub_epi16(_mm256_test_epi8_mask(vc, vc),
                                               _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(v + l))),
                                               _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(t + l))));
            p = _mm512_add_epi32(p, ae ? _mm512_madd_epi16(_mm512_abs_epi16(e), ones)
                                       : _mm512_madd_epi16(e, e));
        }
        acc = wsum_avx512(acc, p, _mm512_set1_epi32(ds->weight[o]));
    }
    return _mm512_reduce_add_epi64(acc);
}

/* Output o's weighted error term (error_term_scalar) in 16-bit lanes: up to 16 items one
 * 256-bit vector with loads masked to the items, more 32 items per step (a step past D reads
 * lanes inside the row: the stride is a multiple of 32 from 16 items on). */
TARGET_AVX512 static int64_t error_term_avx512(const int8_t *v, int o,
                                               const struct cgp_dataset *ds,
                                               enum cgp_error_kind kind)
{
    const int D = ds->n_items, ae = kind == CGP_ERROR_AE;
    const size_t at = (size_t)o * (size_t)ds->stride;
    if (D <= 16) {
        const __mmask16 m = (__mmask16)((1u << D) - 1);
        __m128i vc = _mm_maskz_loadu_epi8(m, ds->care + at);
        __m256i e = _mm256_maskz_sub_epi16(_mm_test_epi8_mask(vc, vc),
                                           _mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(m, v)),
                                           _mm256_cvtepi8_epi16(_mm_maskz_loadu_epi8(m, ds->target + at)));
        __m256i p = ae ? _mm256_madd_epi16(_mm256_abs_epi16(e), _mm256_set1_epi16(1))
                       : _mm256_madd_epi16(e, e);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        return (int64_t)_mm_cvtsi128_si32(h) * ds->weight[o];
    }
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i p = _mm512_setzero_si512();
    for (int l = 0; l < D; l += 32) {
        __m256i vc = _mm256_loadu_si256((const __m256i *)(ds->care + at + l));
        __m512i e = _mm512_maskz_sub_epi16(_mm256_test_epi8_mask(vc, vc),
                                           _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(v + l))),
                                           _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(ds->target + at + l))));
        p = _mm512_add_epi32(p, ae ? _mm512_madd_epi16(_mm512_abs_epi16(e), ones)
                                   : _mm512_madd_epi16(e, e));
    }
    __m512i q = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(p)),
                                 _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(p, 1)));
    return _mm512_reduce_add_epi64(q) * ds->weight[o];
}

/* The same in 256-bit vectors, 16 items per step; rows of stride a multiple of 32 only. */
TARGET_AVX2 static int64_t error_sum_avx2(const int32_t *out_genes, int n_out,
                                          const int8_t *values, const struct cgp_dataset *ds,
                                          enum cgp_error_kind kind)
{
    const int D = ds->n_items, st = ds->stride, ae = kind == CGP_ERROR_AE;
    const __m256i ones = _mm256_set1_epi16(1), zero = _mm256_setzero_si256();
    __m256i acc = zero;
    for (int o = 0; o < n_out; o++) {
        const int8_t *v = values + (size_t)out_genes[o] * st;
        const int8_t *t = ds->target + (size_t)o * st;
        const uint8_t *c = ds->care + (size_t)o * st;
        __m256i p = zero;
        for (int l = 0; l < D; l += 16) {
            __m256i e = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v + l))),
                                         _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(t + l))));
            __m256i cm = _mm256_cmpgt_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(c + l))), zero);
            e = _mm256_and_si256(e, cm);
            p = _mm256_add_epi32(p, ae ? _mm256_madd_epi16(_mm256_abs_epi16(e), ones)
                                       : _mm256_madd_epi16(e, e));
        }
        __m256i w = _mm256_set1_epi64x(ds->weight[o]);
        acc = _mm256_add_epi64(acc, _mm256_mul_epi32(p, w));
        acc = _mm256_add_epi64(acc, _mm256_mul_epi32(_mm256_srli_epi64(p, 32), w));
    }
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    return _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
}
#endif

int64_t cgp_error_sum_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                          const int8_t *values, const struct cgp_dataset *ds,
                          enum cgp_error_kind kind)
{
    CGPC_ASSERT(cgp_isa_supported(isa));
    const int32_t *out_genes = genes + (size_t)s->n_nodes * (s->node_arity + 1);
#if CGP_HAVE_X86
    /* (the 1-item gather reads 4 bytes at row * stride: within the rows for rows up to
     * n_rows - 4) */
    if (isa == CGP_ISA_AVX512)
        return error_sum_avx512(out_genes, s->n_outputs, s->n_inputs + s->n_nodes, values,
                                ds->stride, ds, kind);
    if (isa == CGP_ISA_AVX2 && ds->stride % 32 == 0)
        return error_sum_avx2(out_genes, s->n_outputs, values, ds, kind);
#endif
    return error_sum_scalar(out_genes, s->n_outputs, values, ds->stride, ds, kind);
}

int64_t cgp_error_sum(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                      const struct cgp_dataset *ds, enum cgp_error_kind kind)
{
    return cgp_error_sum_isa(cgp_isa_active(), s, genes, values, ds, kind);
}

void cgp_error_terms_isa(enum cgp_isa isa, const struct cgp_shape *s, const int32_t *genes,
                         const int8_t *values, const struct cgp_dataset *ds,
                         enum cgp_error_kind kind, const int32_t *outs, int n, int64_t *terms)
{
    CGPC_ASSERT(cgp_isa_supported(isa));
    const int32_t *out_genes = genes + (size_t)s->n_nodes * (s->node_arity + 1);
    const size_t st = (size_t)ds->stride;
#if CGP_HAVE_X86
    if (isa == CGP_ISA_AVX512 && ds->n_items > 1) {
        for (int k = 0; k < n; k++)
            terms[k] = error_term_avx512(values + (size_t)out_genes[outs[k]] * st, outs[k], ds,
                                         kind);
        return;
    }
#endif
    for (int k = 0; k < n; k++)
        terms[k] = error_term_scalar(values + (size_t)out_genes[outs[k]] * st, outs[k], ds, kind);
}

void cgp_error_terms(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                     const struct cgp_dataset *ds, enum cgp_error_kind kind, const int32_t *outs,
                     int n, int64_t *terms)
{
    cgp_error_terms_isa(cgp_isa_active(), s, genes, values, ds, kind, outs, n, terms);
}

cgpc_status cgp_eval_reference(const struct cgp_genome *g, const struct cgp_dataset *ds,
                               int8_t *outputs, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    if (ds->n_inputs != s->n_inputs || ds->n_outputs != s->n_outputs)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "the circuit has %d inputs and %d outputs, the data "
                         "set %d and %d", s->n_inputs, s->n_outputs, ds->n_inputs, ds->n_outputs);
    int8_t *v = malloc((size_t)(ni + s->n_nodes) + 1);
    if (!v)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "reference evaluator: %d values", ni + s->n_nodes);
    for (int d = 0; d < ds->n_items; d++) {
        for (int i = 0; i < ni; i++)
            v[i] = ds->in[(size_t)i * ds->stride + d];
        for (int k = 0; k < s->n_nodes; k++) {
            const int32_t *ng = g->genes + (size_t)k * (A + 1);
            int ar = cgpc_op_arity(ng[A]);
            int8_t x[4] = {0, 0, 0, 0};
            for (int j = 0; j < ar; j++)
                x[j] = v[ng[j]];
            v[ni + k] = cgp_op_scalar(ng[A], x[0], x[1], x[2], x[3], d);
        }
        for (int o = 0; o < s->n_outputs; o++)
            outputs[(size_t)o * ds->n_items + d] = v[g->genes[(size_t)s->n_nodes * (A + 1) + o]];
    }
    free(v);
    return CGPC_OK;
}
