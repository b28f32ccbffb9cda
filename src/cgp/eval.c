/* eval.c - operator semantics (scalar reference and AVX2 lanes), active-node decoding,
 * evaluation and error. All kernels are pure functions over flat arrays. */
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

static const int8_t op_arity_tab[CGPC_OP_COUNT] = {
#define CGP_ARITY(sym, name, arity, meaning) arity,
    CGPC_OP_LIST(CGP_ARITY)
#undef CGP_ARITY
};

int cgp_op_arity(int op) { return op_arity_tab[op]; }

/* 8-bit two's complement: compute in unsigned, reinterpret. */
static inline int8_t wrap8(unsigned v) { return (int8_t)(uint8_t)v; }
static inline int8_t sar8(int8_t a, int k) { return (int8_t)(a >> k); } /* gcc: arithmetic */
static inline int8_t shl8(int8_t a, int k) { return wrap8((unsigned)(uint8_t)a << k); }

int8_t cgp_op_scalar(int op, int8_t a, int8_t b, int8_t c, int8_t d, int item)
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

#ifdef __AVX2__
/* Arithmetic right shift of int8 lanes by k: logical shift, then sign-extend via xor/sub. */
static inline __m256i sar8_avx2(__m256i a, int k)
{
    __m256i lo = _mm256_and_si256(_mm256_srli_epi16(a, k), _mm256_set1_epi8((char)(0xFF >> k)));
    __m256i m = _mm256_set1_epi8((char)(0x80 >> k));
    return _mm256_sub_epi8(_mm256_xor_si256(lo, m), m);
}
static inline __m256i shl8_avx2(__m256i a, int k)
{
    return _mm256_and_si256(_mm256_slli_epi16(a, k), _mm256_set1_epi8((char)((0xFF << k) & 0xFF)));
}
/* Low byte of the product: even bytes and odd bytes through 16-bit multiplies. */
static inline __m256i mul8_avx2(__m256i a, __m256i b)
{
    __m256i even = _mm256_mullo_epi16(a, b);
    __m256i odd = _mm256_mullo_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
    return _mm256_or_si256(_mm256_slli_epi16(odd, 8),
                           _mm256_and_si256(even, _mm256_set1_epi16(0x00FF)));
}
#endif

#ifdef __AVX2__
/* One block of 32 lanes; lane l is item (block start + l), the block start a multiple of 4. */
static inline void op_block32(int op, int8_t *dst, const int8_t *a, const int8_t *b,
                              const int8_t *c, const int8_t *d)
{
    /* Lane selectors for muxes: item mod 4 of each lane. */
    const __m256i lane = _mm256_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2,
                                          3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    __m256i va = _mm256_setzero_si256(), vb = va, r;
    int ar = op_arity_tab[op];
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
#endif

int cgp_op_lanes_simd(int op, int8_t *dst, const int8_t *a, const int8_t *b, const int8_t *c,
                      const int8_t *d, int n, int item0)
{
#ifdef __AVX2__
    if (n % 32 != 0 || item0 % 4 != 0) {
        cgp_op_lanes_scalar(op, dst, a, b, c, d, n, item0);
        return 0;
    }
    for (int l = 0; l < n; l += 32)
        op_block32(op, dst + l, a ? a + l : NULL, b ? b + l : NULL, c ? c + l : NULL,
                   d ? d + l : NULL);
    return 1;
#else
    cgp_op_lanes_scalar(op, dst, a, b, c, d, n, item0);
    return 0;
#endif
}

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
            if (j < op_arity_tab[gene_at(genes, g0 + A, pending, resolve, ctx)]) {
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

void cgp_values_load_inputs(const struct cgp_dataset *ds, int8_t *values)
{
    memcpy(values, ds->in, (size_t)ds->n_inputs * ds->stride);
}

void cgp_eval_active(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                     int n_active, int n_items, int stride, int8_t *values)
{
    const int A = s->node_arity, ni = s->n_inputs;
    if (n_items == 1) {
        /* One item: a tight scalar loop over the active nodes (stride is 1). */
        for (int i = 0; i < n_active; i++) {
            int k = order[i];
            const int32_t *ng = genes + (size_t)k * (A + 1);
            int8_t in[CGPC_OP_MAX_ARITY] = {0, 0, 0, 0};
            for (int j = 0; j < op_arity_tab[ng[A]]; j++)
                in[j] = values[ng[j]];
            values[ni + k] = cgp_op_scalar(ng[A], in[0], in[1], in[2], in[3], 0);
        }
        return;
    }
    int simd = n_items >= 16 && stride % 32 == 0;
    for (int i = 0; i < n_active; i++) {
        int k = order[i];
        const int32_t *ng = genes + (size_t)k * (A + 1);
        const int8_t *in[CGPC_OP_MAX_ARITY] = {NULL, NULL, NULL, NULL};
        for (int j = 0; j < op_arity_tab[ng[A]]; j++)
            in[j] = values + (size_t)ng[j] * stride;
        int8_t *dst = values + (size_t)(ni + k) * stride;
#ifdef __AVX2__
        if (simd && stride == 32) { /* the common 16..32-item case: one inlined block */
            op_block32(ng[A], dst, in[0], in[1], in[2], in[3]);
            continue;
        }
#endif
        if (simd)
            cgp_op_lanes_simd(ng[A], dst, in[0], in[1], in[2], in[3], stride, 0);
        else
            cgp_op_lanes_scalar(ng[A], dst, in[0], in[1], in[2], in[3], n_items, 0);
    }
}

int64_t cgp_error_sum(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                      const struct cgp_dataset *ds, enum cgp_error_kind kind)
{
    const int32_t *out_genes = genes + (size_t)s->n_nodes * (s->node_arity + 1);
    const int D = ds->n_items, st = ds->stride;
    int64_t total = 0;
    for (int o = 0; o < s->n_outputs; o++) {
        const int8_t *v = values + (size_t)out_genes[o] * st;
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
        total += (int64_t)sum * ds->weight[o];
    }
    return total;
}

cgpc_status cgp_eval_reference(const struct cgp_genome *g, const struct cgp_dataset *ds,
                               int8_t *outputs, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
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
