/* test_cgp.c - cmocka suite for src/cgp: operator semantics at the int8 edges, SIMD vs scalar,
 * decoding, fast vs reference evaluation, neutral-move skipping, thread-count determinism,
 * resume == uninterrupted, the threshold chain, and the text formats. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgp/cgp.h"
#include "cgp/evolver_internal.h"
#include "cgp/journal.h"
#include "cgp/rundir.h"
#include "common/fileio.h"
#include "common/parallel.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Wrap an int into int8 two's complement, computed independently of the implementation. */
static int wrap(int x) { return ((x % 256) + 256 + 128) % 256 - 128; }
/* Floor division by 2^k: arithmetic right shift, by definition. */
static int floor_shift(int a, int k)
{
    int d = 1 << k;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

/* What ops.h documents, in plain integer arithmetic. */
static int expected_op(int op, int a, int b, int c, int d, int item)
{
    switch (op) {
    case CGPC_OP_RSUB127: return wrap(127 - a);
    case CGPC_OP_ADD: return wrap(a + b);
    case CGPC_OP_SUB: return wrap(a - b);
    case CGPC_OP_MUL: return wrap(a * b);
    case CGPC_OP_NEG: return wrap(-a);
    case CGPC_OP_SUB128: return wrap(a - 128);
    case CGPC_OP_SHR1: return floor_shift(a, 1);
    case CGPC_OP_SHR2: return floor_shift(a, 2);
    case CGPC_OP_SHR3: return floor_shift(a, 3);
    case CGPC_OP_SHR4: return floor_shift(a, 4);
    case CGPC_OP_SHR5: return floor_shift(a, 5);
    case CGPC_OP_AND: return wrap((a & 255) & (b & 255));
    case CGPC_OP_OR: return wrap((a & 255) | (b & 255));
    case CGPC_OP_XOR: return wrap((a & 255) ^ (b & 255));
    case CGPC_OP_NOT: return wrap(255 - (a & 255));
    case CGPC_OP_SHL1: return wrap(a * 2);
    case CGPC_OP_SHL2: return wrap(a * 4);
    case CGPC_OP_SHL3: return wrap(a * 8);
    case CGPC_OP_SHL4: return wrap(a * 16);
    case CGPC_OP_SHL5: return wrap(a * 32);
    case CGPC_OP_INC: return wrap(a + 1);
    case CGPC_OP_DEC: return wrap(a - 1);
    case CGPC_OP_CONST1: return 1;
    case CGPC_OP_CONSTM1: return -1;
    case CGPC_OP_CONST0: return 0;
    case CGPC_OP_CONSTM128: return -128;
    case CGPC_OP_CONST127: return 127;
    case CGPC_OP_ID: return a;
    case CGPC_OP_MUX2: return item % 2 ? b : a;
    case CGPC_OP_MUX4: return item % 4 == 0 ? a : item % 4 == 1 ? b : item % 4 == 2 ? c : d;
    }
    return 999;
}

static void random_dataset(struct cgp_dataset *ds, int ni, int no, int nd, uint64_t seed)
{
    cgpc_rng r;
    cgpc_rng_seed(&r, seed, 1, 2);
    int8_t *in = malloc((size_t)(ni * nd + 1)), *out = malloc((size_t)(no * nd));
    uint8_t *care = malloc((size_t)(no * nd));
    for (int i = 0; i < ni * nd; i++)
        in[i] = (int8_t)cgpc_rng_below(&r, 256);
    for (int i = 0; i < no * nd; i++) {
        out[i] = (int8_t)cgpc_rng_below(&r, 256);
        care[i] = cgpc_rng_below(&r, 8) != 0;
    }
    assert_int_equal(cgp_dataset_from_arrays(ds, ni, no, nd, in, out, care, NULL), CGPC_OK);
    free(in);
    free(out);
    free(care);
}

/* A data set the search can solve: outputs a+b, a-b, a>>1 of two inputs. */
static void easy_dataset(struct cgp_dataset *ds, int nd)
{
    int8_t in[2 * 64], out[3 * 64];
    for (int d = 0; d < nd; d++) {
        int a = (d * 37) % 256 - 128, b = (d * 91 + 5) % 256 - 128;
        in[2 * d] = (int8_t)a;
        in[2 * d + 1] = (int8_t)b;
        out[3 * d] = (int8_t)wrap(a + b);
        out[3 * d + 1] = (int8_t)wrap(a - b);
        out[3 * d + 2] = (int8_t)floor_shift(a, 1);
    }
    assert_int_equal(cgp_dataset_from_arrays(ds, 2, 3, nd, in, out, NULL, NULL), CGPC_OK);
}

static void all_ops_fset(struct cgp_fset *f)
{
    int32_t ops[CGPC_OP_COUNT];
    for (int i = 0; i < CGPC_OP_COUNT; i++)
        ops[i] = i;
    cgp_fset_make(f, ops, CGPC_OP_COUNT);
}

/* Default parameters on a rows x cols grid, and the default gate table. */
static void small_setup(struct cgp_params *p, struct energy_gate_table *t, int rows, int cols)
{
    cgp_params_default(p);
    p->rows = rows;
    p->cols = cols;
    energy_gate_table_default(t);
}

/* ---- operators -------------------------------------------------------------------------- */

static void op_scalar__int8_edges__match_definition(void **state)
{
    (void)state;
    const int edge[] = {-128, -127, -65, -64, -2, -1, 0, 1, 2, 63, 64, 126, 127};
    const int ne = (int)(sizeof edge / sizeof edge[0]);
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        for (int i = 0; i < ne; i++)
            for (int j = 0; j < ne; j++)
                for (int item = 0; item < 4; item++) {
                    int a = edge[i], b = edge[j], c = edge[(i + 3) % ne], d = edge[(j + 5) % ne];
                    int got = cgp_op_scalar(op, (int8_t)a, (int8_t)b, (int8_t)c, (int8_t)d, item);
                    if (got != expected_op(op, a, b, c, d, item))
                        fail_msg("%s(%d, %d) item %d = %d, expected %d", cgpc_op_name(op), a, b,
                                 item, got, expected_op(op, a, b, c, d, item));
                }
}

static void op_scalar__known_values__hardware_semantics(void **state)
{
    (void)state;
    assert_int_equal(cgp_op_scalar(CGPC_OP_ADD, 127, 1, 0, 0, 0), -128);
    assert_int_equal(cgp_op_scalar(CGPC_OP_MUL, -128, -1, 0, 0, 0), -128);
    assert_int_equal(cgp_op_scalar(CGPC_OP_MUL, 16, 16, 0, 0, 0), 0);
    assert_int_equal(cgp_op_scalar(CGPC_OP_NEG, -128, 0, 0, 0, 0), -128);
    assert_int_equal(cgp_op_scalar(CGPC_OP_SHR1, -1, 0, 0, 0, 0), -1);
    assert_int_equal(cgp_op_scalar(CGPC_OP_SHR5, -128, 0, 0, 0, 0), -4);
    assert_int_equal(cgp_op_scalar(CGPC_OP_SHL1, -128, 0, 0, 0, 0), 0);
    assert_int_equal(cgp_op_scalar(CGPC_OP_SHL1, 64, 0, 0, 0, 0), -128);
    assert_int_equal(cgp_op_scalar(CGPC_OP_RSUB127, -128, 0, 0, 0, 0), -1);
    assert_int_equal(cgp_op_scalar(CGPC_OP_SUB128, 0, 0, 0, 0, 0), -128);
    assert_int_equal(cgp_op_scalar(CGPC_OP_MUX4, 1, 2, 3, 4, 6), 3);
}

static void op_lanes__simd_random__equals_scalar(void **state)
{
    (void)state;
    enum { N = 96 };
    int8_t a[N], b[N], c[N], d[N], s1[N], s2[N];
    cgpc_rng r;
    cgpc_rng_seed(&r, 7, 0, 0);
    for (int rep = 0; rep < 20; rep++) {
        for (int l = 0; l < N; l++) {
            a[l] = (int8_t)cgpc_rng_below(&r, 256);
            b[l] = (int8_t)cgpc_rng_below(&r, 256);
            c[l] = (int8_t)cgpc_rng_below(&r, 256);
            d[l] = (int8_t)cgpc_rng_below(&r, 256);
        }
        a[0] = -128, b[0] = -1, a[1] = 127, b[1] = 127; /* edges in every round */
        for (int op = 0; op < CGPC_OP_COUNT; op++) {
            cgp_op_lanes_scalar(op, s1, a, b, c, d, N, 0);
            for (int l = 0; l < N; l++)
                assert_int_equal(s1[l], expected_op(op, a[l], b[l], c[l], d[l], l));
            for (int isa = 1; isa < CGP_ISA_COUNT; isa++) {
                if (!cgp_isa_supported((enum cgp_isa)isa))
                    continue;
                /* every length up to N: whole vectors and masked tails */
                for (int n = 32; n <= N; n += (isa == CGP_ISA_AVX512 ? 1 : 32)) {
                    memset(s2, 0x5A, sizeof s2);
                    assert_int_equal(cgp_op_lanes_isa((enum cgp_isa)isa, op, s2, a, b, c, d, n,
                                                      0), 1);
                    for (int l = 0; l < N; l++)
                        if (s2[l] != (l < n ? s1[l] : 0x5A))
                            fail_msg("%s %s n %d lane %d: scalar %d simd %d",
                                     cgp_isa_name((enum cgp_isa)isa), cgpc_op_name(op), n, l,
                                     s1[l], s2[l]);
                }
            }
        }
    }
}

/* Every path's error sum (SE and AE) equals the scalar one: random rows, targets, care marks
 * and weights (up to 2^20, so the int64 products matter), output genes anywhere (the last rows
 * too, which the one-item gather must not read past), item counts that fill, half-fill and
 * overflow vectors, 1 to 33 outputs. The values array has no slack after its rows. The
 * per-output terms (cgp_error_terms) of every path equal the scalar ones and sum to it. */
static void error_sum__random__every_path_equals_scalar(void **state)
{
    (void)state;
    const int items[] = {1, 2, 6, 15, 16, 20, 31, 32, 33, 64, 70, 100, 256};
    const int outs[] = {1, 3, 16, 17, 33};
    for (size_t t = 0; t < sizeof items / sizeof *items; t++)
        for (size_t u = 0; u < sizeof outs / sizeof *outs; u++) {
            struct cgp_dataset ds;
            random_dataset(&ds, 3, outs[u], items[t], 300 + t * 8 + u);
            struct cgp_shape s;
            cgp_shape_make(&s, 2, 3, 3, ds.n_inputs, ds.n_outputs, 2);
            const int rows = s.n_inputs + s.n_nodes;
            int32_t *genes = calloc((size_t)s.n_genes, sizeof *genes);
            int8_t *values = malloc((size_t)rows * ds.stride);
            cgpc_rng r;
            cgpc_rng_seed(&r, 11, t, u);
            for (int rep = 0; rep < 20; rep++) {
                for (int i = 0; i < rows * ds.stride; i++)
                    values[i] = (int8_t)cgpc_rng_below(&r, 256);
                if (rep == 0) /* the largest differences */
                    for (int i = 0; i < rows * ds.stride; i++)
                        values[i] = -128;
                int32_t *out = genes + (size_t)s.n_nodes * (s.node_arity + 1);
                for (int o = 0; o < s.n_outputs; o++) {
                    out[o] = (int32_t)cgpc_rng_below(&r, (uint64_t)rows);
                    if (rep % 3 == 1)
                        out[o] = rows - 1 - (int32_t)cgpc_rng_below(&r, 3);
                    ds.weight[o] = rep % 2 ? 1 + (int32_t)cgpc_rng_below(&r, 1u << 20) : 1;
                    if (rep == 0)
                        for (int d = 0; d < ds.n_items; d++)
                            ds.target[(size_t)o * ds.stride + d] = 127;
                }
                for (int kind = CGP_ERROR_SE; kind <= CGP_ERROR_AE; kind++) {
                    int64_t want = cgp_error_sum_isa(CGP_ISA_SCALAR, &s, genes, values, &ds,
                                                     (enum cgp_error_kind)kind);
                    for (int isa = 1; isa < CGP_ISA_COUNT; isa++) {
                        if (!cgp_isa_supported((enum cgp_isa)isa))
                            continue;
                        int64_t got = cgp_error_sum_isa((enum cgp_isa)isa, &s, genes, values, &ds,
                                                        (enum cgp_error_kind)kind);
                        if (got != want)
                            fail_msg("%s, %d items, %d outputs, kind %d, rep %d: %" PRId64
                                     ", scalar %" PRId64, cgp_isa_name((enum cgp_isa)isa),
                                     ds.n_items, ds.n_outputs, kind, rep, got, want);
                    }
                    /* per-output terms (every output, backwards): they sum to it, each
                     * the scalar path's */
                    int32_t ol[33];
                    int64_t tw[33], tg[33];
                    for (int o = 0; o < s.n_outputs; o++)
                        ol[o] = s.n_outputs - 1 - o;
                    cgp_error_terms_isa(CGP_ISA_SCALAR, &s, genes, values, &ds,
                                        (enum cgp_error_kind)kind, ol, s.n_outputs, tw);
                    for (int isa = 0; isa < CGP_ISA_COUNT; isa++) {
                        if (!cgp_isa_supported((enum cgp_isa)isa))
                            continue;
                        cgp_error_terms_isa((enum cgp_isa)isa, &s, genes, values, &ds,
                                            (enum cgp_error_kind)kind, ol, s.n_outputs, tg);
                        int64_t sum = 0;
                        for (int o = 0; o < s.n_outputs; o++) {
                            assert_int_equal(tg[o], tw[o]);
                            sum += tg[o];
                        }
                        assert_int_equal(sum, want);
                    }
                }
            }
            free(values);
            free(genes);
            cgp_dataset_free(&ds);
        }
}

/* ---- decoding and evaluation ------------------------------------------------------------- */

static void decode__hand_built__active_in_topological_order(void **state)
{
    (void)state;
    /* 1 row x 5 cols, 2 inputs. n0 = i0+i1, n1 = shr1(n0) [unused], n2 = n0*i1,
     * n3 = const1 (unused), n4 = neg(n2); outputs: n4, n0. */
    struct cgp_shape s;
    cgp_shape_make(&s, 1, 5, 5, 2, 2, 2);
    int32_t genes[] = {0, 1, CGPC_OP_ADD,  2, 0, CGPC_OP_SHR1, 2, 1, CGPC_OP_MUL,
                       0, 0, CGPC_OP_CONST1, 4, 3, CGPC_OP_NEG, 6, 2};
    uint32_t stamp[5] = {0};
    int32_t stack[10], order[5];
    int n = cgp_decode_active(&s, genes, stamp, 1, stack, order);
    assert_int_equal(n, 3);
    int pos[5] = {-1, -1, -1, -1, -1};
    for (int i = 0; i < n; i++)
        pos[order[i]] = i;
    assert_true(pos[0] >= 0 && pos[2] >= 0 && pos[4] >= 0);
    assert_int_equal(pos[1], -1);
    assert_int_equal(pos[3], -1);
    assert_true(pos[0] < pos[2] && pos[2] < pos[4]);
    /* A fresh mark decodes again; the old mark must not leak. */
    assert_int_equal(cgp_decode_active(&s, genes, stamp, 2, stack, order), 3);
}

/* Every instruction-set path this CPU has, on random circuits over every operator (muxes with
 * 4-input nodes), item counts that fill vectors, leave masked tails and span several vectors:
 * the outputs equal the reference evaluator's, and every path writes the same node rows. */
/* One item (the branch-free form per node): every operator on every pair of int8 inputs, on
 * every path, equals the scalar definition. One node reading inputs 0 and 1. */
static void eval_one_item__every_op_every_pair__equals_scalar(void **state)
{
    (void)state;
    for (int arity = 2; arity <= 4; arity += 2) {
        struct cgp_shape s;
        cgp_shape_make(&s, 1, 1, 1, 4, 1, arity);
        int32_t genes[6] = {0, 1, 2, 3, 0, 0}, order[1] = {0};
        int8_t values[5];
        for (int op = 0; op < CGPC_OP_COUNT; op++) {
            if ((op == CGPC_OP_MUX4) != (arity == 4) && op >= CGPC_OP_MUX2)
                continue;
            genes[arity] = op;
            for (int isa = 0; isa < CGP_ISA_COUNT; isa++) {
                if (!cgp_isa_supported((enum cgp_isa)isa))
                    continue;
                for (int a = -128; a < 128; a++)
                    for (int b = -128; b < 128; b++) {
                        values[0] = (int8_t)a;
                        values[1] = (int8_t)b;
                        values[2] = (int8_t)(a ^ 0x55);
                        values[3] = (int8_t)(b + 7);
                        cgp_eval_active_isa((enum cgp_isa)isa, &s, genes, order, 1, 1, 1, values);
                        int want = cgp_op_scalar(op, (int8_t)a, (int8_t)b, values[2], values[3], 0);
                        if (values[4] != want)
                            fail_msg("%s(%d, %d), %s: %d, expected %d", cgpc_op_name(op), a, b,
                                     cgp_isa_name((enum cgp_isa)isa), values[4], want);
                    }
            }
        }
    }
}

static void eval__random_circuits__every_path_equals_reference(void **state)
{
    (void)state;
    const int items[] = {1, 3, 6, 16, 20, 32, 40, 64, 70, 100, 130};
    for (int t = 0; t < (int)(sizeof items / sizeof *items); t++) {
        for (int mux = 0; mux < 2; mux++) {
            struct cgp_dataset ds;
            random_dataset(&ds, 3 + t % 5, 4, items[t], 100 + (uint64_t)t);
            struct cgp_shape s;
            struct cgp_fset f;
            cgp_shape_make(&s, 5, 12, 3 + t % 5, ds.n_inputs, ds.n_outputs, mux ? 4 : 2);
            if (mux) {
                all_ops_fset(&f);
            } else {
                int32_t ops[CGPC_OP_THESIS_COUNT];
                for (int i = 0; i < CGPC_OP_THESIS_COUNT; i++)
                    ops[i] = i;
                cgp_fset_make(&f, ops, CGPC_OP_THESIS_COUNT);
            }
            struct cgp_genome g;
            struct cgp_scratch sc;
            assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
            assert_int_equal(cgp_scratch_init(&sc, &s, &ds, NULL), CGPC_OK);
            int8_t *ref = malloc((size_t)ds.n_outputs * ds.n_items);
            size_t rows = (size_t)(s.n_inputs + s.n_nodes) * ds.stride;
            int8_t *first = malloc(rows);
            for (int rep = 0; rep < 50; rep++) {
                cgpc_rng r;
                cgpc_rng_seed(&r, 5, (uint64_t)t, (uint64_t)rep);
                cgp_genome_randomize(&g, &r);
                assert_int_equal(cgp_genome_check(&g, NULL), CGPC_OK);
                cgp_scratch_decode(&sc, &s, g.genes);
                assert_int_equal(cgp_eval_reference(&g, &ds, ref, NULL), CGPC_OK);
                const int32_t *out = g.genes + (size_t)s.n_nodes * (s.node_arity + 1);
                for (int isa = 0; isa < CGP_ISA_COUNT; isa++) {
                    if (!cgp_isa_supported((enum cgp_isa)isa))
                        continue;
                    cgp_eval_active_isa((enum cgp_isa)isa, &s, g.genes, sc.order, sc.n_active,
                                        ds.n_items, ds.stride, sc.values);
                    for (int o = 0; o < s.n_outputs; o++)
                        for (int d = 0; d < ds.n_items; d++)
                            if (sc.values[(size_t)out[o] * ds.stride + d] !=
                                ref[(size_t)o * ds.n_items + d])
                                fail_msg("%s, %d items: output %d item %d: %d, reference %d",
                                         cgp_isa_name((enum cgp_isa)isa), ds.n_items, o, d,
                                         sc.values[(size_t)out[o] * ds.stride + d],
                                         ref[(size_t)o * ds.n_items + d]);
                    for (int i = 0; i < sc.n_active; i++) {
                        size_t row = (size_t)(s.n_inputs + sc.order[i]) * ds.stride;
                        if (isa == 0)
                            memcpy(first + row, sc.values + row, (size_t)ds.n_items);
                        else
                            assert_memory_equal(first + row, sc.values + row, (size_t)ds.n_items);
                        memset(sc.values + row, 0x33, (size_t)ds.stride); /* no stale rows */
                    }
                }
            }
            free(first);
            free(ref);
            cgp_scratch_free(&sc);
            cgp_genome_free(&g);
            cgp_dataset_free(&ds);
        }
    }
}

static void mutator__random_u__equals_reference_gene_value(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 4, 3, 1, 9);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 3, 9);
    p.levels_back = 2;
    struct cgp_evolver *ev;
    assert_int_equal(cgp_evolver_init(&ev, &p, &ds, &t, NULL), CGPC_OK);
    cgp_evolver_begin(ev, 0, 0, NULL, 0); /* a valid genome to change gene by gene */
    cgpc_rng r;
    cgpc_rng_seed(&r, 3, 0, 0);
    for (int gene = 0; gene < ev->shape.n_genes; gene++) {
        const uint32_t edge[] = {0, 1, 0x7FFFFFFF, 0xFFFFFFFF};
        for (int k = 0; k < 24; k++) {
            uint32_t u = k < 4 ? edge[k] : (uint32_t)cgpc_rng_u64(&r);
            int32_t v = cgp_mutator_value(&ev->mu, &ev->shape, &ev->fset, gene, u);
            assert_int_equal(v, cgp_gene_value(&ev->shape, &ev->fset, gene, u));
            ev->parent.genes[gene] = v;
            assert_int_equal(cgp_genome_check(&ev->parent, NULL), CGPC_OK); /* legal */
        }
    }
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

/* The winner's values sixteen at a time (AVX-512 where the CPU has it) equal the scalar draw,
 * on grids with and without inputs (column 0 without sources: the per-block fallback), with
 * few and with every operator, every gene kind (inputs, operators, outputs) and counts that
 * leave a tail. */
static void mutator_values__vector_path__equals_scalar(void **state)
{
    (void)state;
    for (int shape = 0; shape < 4; shape++) {
        struct cgp_dataset ds;
        random_dataset(&ds, shape == 2 ? 0 : 5, 4, 3, 11);
        struct cgp_params p;
        struct energy_gate_table t;
        small_setup(&p, &t, shape == 0 ? 7 : 3, shape == 0 ? 40 : 9);
        p.levels_back = shape == 0 ? 5 : 2;
        if (shape == 2)
            assert_int_equal(cgp_params_set_functions(&p, "add,sub,const1,const127", NULL), CGPC_OK);
        if (shape == 3) { /* the thesis's 27 operators: both permute registers */
            assert_int_equal(cgp_params_set_functions(&p, "thesis", NULL), CGPC_OK);
            assert_true(p.n_functions > 16);
        }
        struct cgp_evolver *ev;
        assert_int_equal(cgp_evolver_init(&ev, &p, &ds, &t, NULL), CGPC_OK);
        cgpc_rng r;
        cgpc_rng_seed(&r, 5, (uint64_t)shape, 0);
        int32_t gene[203], a[203], b[203];
        for (int k = 0; k < 40; k++) {
            int n = 1 + (int)cgpc_rng_below(&r, 203);
            for (int m = 0; m < n; m++)
                gene[m] = (int32_t)cgpc_rng_below(&r, (uint32_t)ev->shape.n_genes);
            uint64_t key = cgpc_rng_u64(&r);
            cgp_mutator_values(&ev->mu, &ev->shape, &ev->fset, key, gene, n, a, 0);
            cgp_mutator_values(&ev->mu, &ev->shape, &ev->fset, key, gene, n, b, 1);
            for (int m = 0; m < n; m++) {
                uint64_t z = cgp_counter_hash(key, (uint64_t)(m / 2));
                assert_int_equal(cgp_mutation_u(key, m), (uint32_t)(m % 2 ? z >> 32 : z));
                assert_int_equal(a[m], cgp_gene_value(&ev->shape, &ev->fset, gene[m],
                                                      cgp_mutation_u(key, m)));
                assert_int_equal(a[m], b[m]);
            }
        }
        cgp_evolver_free(ev);
        cgp_dataset_free(&ds);
    }
}

static char *read_text(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unsigned char *d = NULL;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &d, &len, NULL);
    assert_int_equal(st, CGPC_OK);
    char *text = strdup((const char *)d);
    free(d);
    return text;
}

/* Drop the 4th CSV column (seconds) of every line, in place. */
static void strip_seconds(char *s)
{
    char *w = s;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        int col = 0;
        for (size_t i = 0; i < len; i++) {
            if (col != 3)
                *w++ = line[i];
            if (line[i] == ',')
                col++;
        }
        line += len;
    }
    *w = 0;
}

static void make_tmpdir(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/cgp_test_%s_XXXXXX", tag);
    assert_non_null(mkdtemp(buf));
    strncat(buf, "/out", cap - strlen(buf) - 1);
}

/* Remove the directory made by make_tmpdir (the parent of dir). */
static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- evolver ----------------------------------------------------------------------------- */

static void evolver_small(struct cgp_evolver **ev, struct cgp_dataset *ds, struct cgp_params *p,
                          const struct energy_gate_table *t)
{
    assert_int_equal(cgp_evolver_init(ev, p, ds, t, NULL), CGPC_OK);
}

static void neutral__inactive_genes__not_evaluated_and_fitness_unchanged(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 5, 4, 20, 11);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 10, 20);
    struct cgp_evolver *ev;
    evolver_small(&ev, &ds, &p, &t);
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    /* The bitmap names exactly the genes whose change can change the phenotype: changing any
     * unmarked gene leaves the error unchanged. */
    struct cgp_fitness f0 = ev->parent_fit, f1;
    struct cgp_genome g;
    assert_int_equal(cgp_genome_init(&g, &ev->shape, &ev->fset, NULL), CGPC_OK);
    cgpc_rng r;
    cgpc_rng_seed(&r, 1, 2, 3);
    int tried = 0;
    for (int gene = 0; gene < ev->shape.n_genes; gene++) {
        if (ev->active_gene[gene])
            continue;
        memcpy(g.genes, ev->parent.genes, (size_t)ev->shape.n_genes * sizeof *g.genes);
        g.genes[gene] = cgp_gene_random(&ev->shape, &ev->fset, gene, &r);
        assert_int_equal(cgp_measure(&g, &ds, &t, p.error_kind, &f1, NULL), CGPC_OK);
        assert_int_equal(f1.err_sum, f0.err_sum);
        tried++;
    }
    assert_true(tried > ev->shape.n_genes / 2);
    /* During a search many offspring are skipped, and each of those would have evaluated equal. */
    cgp_evolver_advance(ev, 500);
    struct cgp_totals tot;
    cgp_evolver_totals(ev, &tot);
    assert_int_equal(tot.evaluations + tot.skipped, 500 * p.lambda);
    assert_true(tot.skipped > 0);
    assert_true(tot.evaluations > 0);
    cgp_genome_free(&g);
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

/* The position draws' relabelling (cgp_position_gene) is a bijection of the genes whose draws
 * below n_used are exactly the genes the parent uses (ascending; the marks, the active list
 * and the reader counts equal a fresh decode's, worker 0's values a fresh evaluation's), and
 * cgp_unused_gene_draw inverts it on the others, after every generation of a search (the
 * parent's active set changing). */
static void positions__relabelling__bijection_used_genes_first(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 5, 4, 20, 11);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 10, 20);
    struct cgp_evolver *ev;
    evolver_small(&ev, &ds, &p, &t);
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    const int G = ev->shape.n_genes;
    const size_t gn = (size_t)(unsigned)G;
    uint8_t *seen = malloc(gn);
    assert_non_null(seen);
    int32_t *readers = malloc((size_t)ev->shape.n_nodes * sizeof *readers);
    assert_non_null(readers);
    struct cgp_scratch sc;
    assert_int_equal(cgp_scratch_init(&sc, &ev->shape, &ds, NULL), CGPC_OK);
    const int A = ev->shape.node_arity;
    int changed = 0;
    uint32_t last = 0;
    for (int step = 0; step < 20000; step++) { /* every generation */
        int nu = 0;
        for (int g = 0; g < G; g++)
            nu += ev->active_gene[g];
        assert_int_equal(ev->pos.n_used, nu);
        changed += step > 0 && (uint32_t)nu != last;
        last = (uint32_t)nu;
        /* the marks: the genes a fresh decode of the parent uses */
        memset(seen, 0, gn);
        cgp_scratch_decode(&sc, &ev->shape, ev->parent.genes);
        for (int i = 0; i < sc.n_active; i++) {
            const int k = sc.order[i];
            for (int j = 0; j < cgp_op_arity(ev->parent.genes[k * (A + 1) + A]); j++)
                seen[k * (A + 1) + j] = 1;
            seen[k * (A + 1) + A] = 1;
        }
        for (int o = 0; o < ev->shape.n_outputs; o++)
            seen[ev->shape.n_nodes * (A + 1) + o] = 1;
        assert_memory_equal(seen, ev->active_gene, gn);
        /* the active list (ascending) and reader counts: a fresh decode's (kept incrementally
         * through parent changes) */
        assert_int_equal(ev->n_act, sc.n_active);
        for (int i = 1; i < ev->n_act; i++)
            assert_true(ev->act[i] > ev->act[i - 1]);
        for (int i = 0; i < ev->n_act; i++)
            assert_int_equal(seen[ev->act[i] * (A + 1) + A], 1);
        memset(readers, 0, (size_t)ev->shape.n_nodes * sizeof *readers);
        for (int i = 0; i < sc.n_active; i++) {
            const int32_t *ng = ev->parent.genes + (size_t)sc.order[i] * (A + 1);
            for (int j = 0; j < cgp_op_arity(ng[A]); j++)
                if (ng[j] >= ev->shape.n_inputs)
                    readers[ng[j] - ev->shape.n_inputs]++;
        }
        for (int o = 0; o < ev->shape.n_outputs; o++) {
            const int32_t x = ev->parent.genes[ev->shape.n_nodes * (A + 1) + o];
            if (x >= ev->shape.n_inputs)
                readers[x - ev->shape.n_inputs]++;
        }
        assert_memory_equal(readers, ev->rc, (size_t)ev->shape.n_nodes * sizeof *readers);
        /* worker 0's values of the parent's nodes (kept incrementally): a fresh evaluation's */
        cgp_eval_active(&ev->shape, ev->parent.genes, ev->act, ev->n_act, ds.n_items, ds.stride,
                        sc.values);
        for (int i = 0; i < ev->n_act; i++) {
            const size_t row = (size_t)(ev->shape.n_inputs + ev->act[i]) * (size_t)ds.stride;
            assert_memory_equal(sc.values + row, ev->w[0].sc.values + row, (size_t)ds.n_items);
        }
        memset(seen, 0, gn);
        for (int r = 0; r < G; r++) {
            int32_t g = cgp_position_gene(ev, r);
            assert_true(g >= 0 && g < G);
            assert_false(seen[g]);
            seen[g] = 1;
            assert_int_equal(r < nu, ev->active_gene[g]);
            if (r < nu && r > 0)
                assert_true(g > cgp_position_gene(ev, r - 1));
            if (r >= nu)
                assert_int_equal(cgp_unused_gene_draw(ev, g), r);
        }
        cgp_evolver_advance(ev, 1);
    }
    assert_true(changed > 0);
    cgp_scratch_free(&sc);
    free(readers);
    free(seen);
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

static void search__easy_functions__reaches_zero_error(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    easy_dataset(&ds, 32);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 4, 10);
    p.mutation_max = 0.05;
    struct cgp_evolver *ev;
    evolver_small(&ev, &ds, &p, &t);
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    int64_t e0 = ev->parent_fit.err_sum;
    cgp_evolver_advance(ev, 20000);
    assert_true(e0 > 0);
    assert_int_equal(ev->parent_fit.err_sum, 0);
    /* the circuit really computes the outputs (independent reference evaluator) */
    struct cgp_fitness f;
    assert_int_equal(cgp_measure(&ev->parent, &ds, &t, CGP_ERROR_SE, &f, NULL), CGPC_OK);
    assert_int_equal(f.err_sum, 0);
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

static void multiplex__per_layer_constants__solved_only_with_muxes(void **state)
{
    (void)state;
    /* No inputs, 2 layers with different targets: a circuit without muxes computes the same
     * value for every item, so only the item-selected muxes can reach error 0. */
    const int8_t out[] = {1, -1, 0, 127};
    struct cgp_dataset ds;
    assert_int_equal(cgp_dataset_from_arrays(&ds, 0, 2, 2, NULL, out, NULL, NULL), CGPC_OK);
    for (int mux = 0; mux < 2; mux++) {
        struct cgp_params p;
        struct energy_gate_table t;
        small_setup(&p, &t, 6, 12);
        p.mutation_max = 0.1;
        p.error_kind = CGP_ERROR_SE;
        p.multiplex = mux;
        if (mux) {
            p.functions[p.n_functions++] = CGPC_OP_MUX2;
            p.functions[p.n_functions++] = CGPC_OP_MUX4;
        }
        struct cgp_evolver *ev;
        evolver_small(&ev, &ds, &p, &t);
        assert_int_equal(ev->shape.node_arity, mux ? 4 : 2);
        cgp_evolver_begin(ev, 0, 0, NULL, 0);
        cgp_evolver_advance(ev, 20000);
        if (mux)
            assert_int_equal(ev->parent_fit.err_sum, 0);
        else
            assert_true(ev->parent_fit.err_sum > 0);
        cgp_evolver_free(ev);
    }
    cgp_dataset_free(&ds);
}

static void count_progress(void *user, const struct cgp_progress *pr)
{
    (void)pr;
    (*(int *)user)++;
}

static void stops__patience_signal_and_progress__honoured(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    easy_dataset(&ds, 8);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 4, 6);
    p.patience = 300;
    p.generations = 1000000;
    struct cgp_evolver *ev;
    evolver_small(&ev, &ds, &p, &t);
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    int64_t ran = cgp_evolver_advance(ev, 1000000);
    assert_int_equal(ev->stop, CGP_STOP_PATIENCE);
    assert_int_equal(ev->since_improve, 300);
    assert_true(ran >= 300 && ran < 1000000);
    /* a raised stop flag (the CLI's signal handler) ends the search after one generation */
    volatile sig_atomic_t flag = 1;
    struct cgp_callbacks cb = {NULL, NULL, &flag};
    ev->cb = &cb;
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    assert_int_equal(cgp_evolver_advance(ev, 1000), 1);
    assert_int_equal(ev->stop, CGP_STOP_SIGNAL);
    cgp_evolver_free(ev);
    /* with files: interrupted + checkpoint; the progress callback is called */
    char dir[256];
    make_tmpdir(dir, sizeof dir, "stop");
    int calls = 0;
    struct cgp_callbacks cb2 = {count_progress, &calls, &flag};
    struct cgpc_err err = {0};
    assert_int_equal(cgp_evolve_dir(&p, &ds, &t, dir, 0, &cb2, NULL, &err), CGPC_ERR_INTERRUPTED);
    assert_non_null(strstr(err.msg, "continue with --resume"));
    assert_true(calls >= 1);
    flag = 0;
    p.patience = 0;
    p.generations = 50;
    assert_int_equal(cgp_evolve_dir(NULL, NULL, &t, dir, 1, &cb2, NULL, &err), CGPC_OK);
    char *ck = read_text(dir, "checkpoint");
    assert_non_null(strstr(ck, "status done"));
    free(ck);
    rm_rf(dir);
    cgp_dataset_free(&ds);
}

/* 1: every thread does its own generations (the master waits for the helpers, never takes one
 * over) */
static int threads_strict;
/* 1: the helpers never speculate; the last run's speculation counts (ev->par_spec) */
static int threads_no_spec;
static int64_t threads_spec[3];

/* lazy: 0 the reference path, 1 the fast path, 2 the fast path evaluating only the changed
 * nodes (incremental) whatever the item count, 3 the same finding those through the reader
 * lists instead of closure rows (the path for parents with many active nodes) */
static void run_threads_lazy(int threads, int items, int lazy, struct cgp_genome *out,
                             struct cgp_fitness *fit, struct cgp_totals *tot)
{
    struct cgp_dataset ds;
    random_dataset(&ds, 6, 5, items, 21);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 8, 16);
    p.lambda = 5;
    p.parallel_min_work = 0; /* always use the threads */
    p.thresholds[0] = 2000;
    cgpc_set_threads(threads);
    struct cgp_evolver *ev;
    evolver_small(&ev, &ds, &p, &t);
    /* the parallel path really runs with that many workers (1 without OpenMP) */
    assert_int_equal(ev->n_workers, cgpc_max_threads() < p.lambda ? cgpc_max_threads() : p.lambda);
    assert_true(cgpc_max_threads() == threads || cgpc_max_threads() == 1);
    ev->lazy_values = lazy > 0;
    ev->incremental = lazy >= 2; /* 1: every active node evaluated (lazy values only) */
    ev->par_strict = threads_strict;
    if (lazy == 3)
        for (int i = 0; i < ev->n_workers; i++)
            ev->w[i].clos_cap = 0;
    ev->par_no_spec = threads_no_spec;
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    cgp_evolver_advance(ev, 700);
    cgp_evolver_totals(ev, tot);
    memcpy(threads_spec, ev->par_spec, sizeof threads_spec);
    if (threads_strict && ev->n_workers > 1) /* the helper evaluated its generations */
        assert_true(ev->w[1].evaluations + ev->w[1].skipped >= 700 * 2);
    assert_int_equal(cgp_genome_init(out, &ev->shape, &ev->fset, NULL), CGPC_OK);
    memcpy(out->genes, ev->parent.genes, (size_t)ev->shape.n_genes * sizeof *out->genes);
    *fit = ev->parent_fit;
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

static void run_threads(int threads, int items, struct cgp_genome *out, struct cgp_fitness *fit)
{
    struct cgp_totals tot;
    run_threads_lazy(threads, items, 1, out, fit, &tot);
}

/* The fast path (values drawn only for genes the decoding reads, only changed nodes evaluated
 * from the parent's values) against the reference path (every value drawn and applied, every
 * active node evaluated): the same search, step for step. */
static void lazy_values__vs_full_application__identical_search(void **state)
{
    (void)state;
    const int items[] = {1, 6, 20};
    for (int k = 0; k < 3; k++) {
        struct cgp_genome g1, g2;
        struct cgp_fitness f1, f2;
        struct cgp_totals t1, t2;
        run_threads_lazy(1, items[k], 0, &g1, &f1, &t1);
        for (int lazy = 1; lazy <= 3; lazy++)
            for (int threads = 1; threads <= (lazy == 3 ? 1 : 3); threads++) {
                threads_strict = threads == 3; /* 2 threads with the helper always used */
                run_threads_lazy(threads == 3 ? 2 : threads, items[k], lazy, &g2, &f2, &t2);
                assert_memory_equal(g1.genes, g2.genes,
                                    (size_t)g1.shape.n_genes * sizeof *g1.genes);
                assert_int_equal(f1.err_sum, f2.err_sum);
                assert_int_equal(f1.active, f2.active);
                assert_true(f1.energy_pj == f2.energy_pj);
                assert_int_equal(t1.evaluations, t2.evaluations);
                if (lazy == 1)
                    assert_int_equal(t1.node_evals, t2.node_evals);
                else /* only the nodes an offspring changed or reaches are evaluated */
                    assert_true(t2.node_evals > 0 && t2.node_evals < t1.node_evals);
                cgp_genome_free(&g2);
            }
        assert_true(t1.evaluations > 100);
        cgp_genome_free(&g1);
    }
    threads_strict = 0;
}

static void threads__one_vs_two__bit_identical(void **state)
{
    (void)state;
    const int items[] = {1, 20};
    for (int k = 0; k < 2; k++) {
        struct cgp_genome g1;
        struct cgp_fitness f1;
        run_threads(1, items[k], &g1, &f1);
        for (int threads = 2; threads <= 3; threads++)
            for (threads_strict = 0; threads_strict <= (threads == 2); threads_strict++) {
            struct cgp_genome g2;
            struct cgp_fitness f2;
            run_threads(threads, items[k], &g2, &f2);
            assert_memory_equal(g1.genes, g2.genes, (size_t)g1.shape.n_genes * sizeof *g1.genes);
            assert_int_equal(f1.err_sum, f2.err_sum);
            assert_true(f1.energy_pj == f2.energy_pj);
            cgp_genome_free(&g2);
        }
        cgp_genome_free(&g1);
    }
    threads_strict = 0;
    cgpc_set_threads(2);
}

/* Threads speculating (a thread's generation evaluated on the parent before the other's last
 * winner is applied, used when that winner changed nothing it read): the same search and
 * counters as one thread and as threads that never speculate, with speculations used and redone
 * after both kinds of winner (one that changed the circuit, one that changed a gene they read). */
static void threads__speculation__same_search_as_one_thread(void **state)
{
    (void)state;
    cgpc_set_threads(2);
    if (cgpc_max_threads() < 2)
        skip(); /* built without OpenMP */
    const int items[] = {1, 6, 20};
    int64_t spec[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        struct cgp_genome g1, g2;
        struct cgp_fitness f1, f2;
        struct cgp_totals t1, t2;
        run_threads_lazy(1, items[k], 2, &g1, &f1, &t1);
        threads_strict = 1; /* the helper evaluates (or speculates) all its generations */
        for (threads_no_spec = 0; threads_no_spec <= 1; threads_no_spec++) {
            run_threads_lazy(2, items[k], 2, &g2, &f2, &t2);
            assert_memory_equal(g1.genes, g2.genes, (size_t)g1.shape.n_genes * sizeof *g1.genes);
            assert_int_equal(f1.err_sum, f2.err_sum);
            assert_true(f1.energy_pj == f2.energy_pj);
            assert_int_equal(t1.evaluations, t2.evaluations);
            assert_int_equal(t1.skipped, t2.skipped);
            assert_int_equal(t1.node_evals, t2.node_evals);
            for (int c = 0; c < 3; c++) {
                if (threads_no_spec)
                    assert_int_equal(threads_spec[c], 0);
                spec[c] += threads_spec[c];
            }
            cgp_genome_free(&g2);
        }
        threads_strict = threads_no_spec = 0;
        cgp_genome_free(&g1);
    }
    print_message("speculations used %lld, redone after a circuit change %lld, after a read "
                  "gene %lld\n", (long long)spec[0], (long long)spec[1], (long long)spec[2]);
    assert_true(spec[0] > 100);
    assert_true(spec[1] > 0);
    assert_true(spec[2] > 0);
    cgpc_set_threads(2);
}

/* Mutation position draws sixteen at a time (AVX-512 where the CPU has it) equal the scalar
 * draw and the definition (draw m from the low or high half of the hash of counter 1 + m / 2,
 * the count from the high half of counter 0), with the hits (draws below n_used) listed, for
 * counts that leave every tail and for no, few and all genes used; a search with either path
 * ends in the same genome. */
static void positions__vector_path__equals_scalar_and_definition(void **state)
{
    (void)state;
    const uint32_t n_genes = 23824, max_mut = 239;
    const uint32_t used[] = {0, 1, 250, 4000, n_genes};
    int32_t gene[2][239 + 16], hit[2][239 + 16];
    cgpc_rng r;
    cgpc_rng_seed(&r, 8, 1, 2);
    int tails[16] = {0};
    for (int k = 0; k < 2000; k++) {
        const struct cgp_positions pp = {n_genes, max_mut, used[k % 5]};
        uint64_t key = cgpc_rng_u64(&r);
        int nh[2], n[2];
        for (int simd = 0; simd < 2; simd++)
            n[simd] = cgp_mutation_positions(&pp, key, gene[simd], hit[simd], &nh[simd], simd);
        assert_int_equal(n[0], n[1]);
        assert_int_equal(n[0], 1 + (int)(((cgp_counter_hash(key, 0) >> 32) * max_mut) >> 32));
        assert_int_equal(nh[0], nh[1]);
        int h = 0;
        for (int m = 0; m < n[0]; m++) {
            uint64_t z = cgp_counter_hash(key, 1 + (uint64_t)(m / 2));
            uint64_t u = m % 2 ? z >> 32 : z & 0xFFFFFFFFu;
            assert_int_equal(gene[0][m], (int32_t)((u * n_genes) >> 32));
            assert_int_equal(gene[0][m], gene[1][m]);
            if ((uint32_t)gene[0][m] < pp.n_used) {
                assert_true(h < nh[0]);
                assert_int_equal(hit[0][h], m);
                assert_int_equal(hit[1][h], m);
                h++;
            }
        }
        assert_int_equal(h, nh[0]);
        tails[n[0] % 16] = 1;
    }
    for (int t = 0; t < 16; t++)
        assert_true(tails[t]);

    struct cgp_dataset ds;
    random_dataset(&ds, 6, 5, 20, 31);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 8, 16);
    p.thresholds[0] = 2000;
    cgpc_set_threads(1);
    /* mutation-max 0.1: up to 39 mutations, so the winner's relabelling takes whole vectors */
    for (int mm = 0; mm < 2; mm++) {
        p.mutation_max = mm ? 0.1 : 0.01;
        struct cgp_genome g[2];
        struct cgp_totals tot[2];
        for (int simd = 0; simd < 2; simd++) {
            struct cgp_evolver *ev;
            evolver_small(&ev, &ds, &p, &t);
            ev->simd_pos = simd;
            ev->simd_values = simd;
            cgp_evolver_begin(ev, 0, 0, NULL, 0);
            cgp_evolver_advance(ev, 1500);
            cgp_evolver_totals(ev, &tot[simd]);
            assert_int_equal(cgp_genome_init(&g[simd], &ev->shape, &ev->fset, NULL), CGPC_OK);
            memcpy(g[simd].genes, ev->parent.genes,
                   (size_t)ev->shape.n_genes * sizeof *g[simd].genes);
            cgp_evolver_free(ev);
        }
        assert_memory_equal(g[0].genes, g[1].genes,
                            (size_t)g[0].shape.n_genes * sizeof(int32_t));
        assert_int_equal(tot[0].evaluations, tot[1].evaluations);
        assert_int_equal(tot[0].skipped, tot[1].skipped);
        assert_true(tot[0].evaluations > 100);
        cgp_genome_free(&g[0]);
        cgp_genome_free(&g[1]);
    }
    cgpc_set_threads(2);
    cgp_dataset_free(&ds);
}

/* Threads are used only for windows whose generations evaluated enough node x item operations
 * (counted, so the decision is the same on a busy machine), and the result never changes. */
static void threads__by_counted_work__only_long_generations(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 6, 5, 20, 21);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 8, 16);
    p.thresholds[0] = 2000;
    cgpc_set_threads(2);
    struct cgp_genome g[3];
    int64_t par[3];
    const int64_t min_work[3] = {1000000000000, 1, 0}; /* never; every window after the first;
                                                          always */
    for (int k = 0; k < 3; k++) {
        p.parallel_min_work = min_work[k];
        struct cgp_evolver *ev;
        evolver_small(&ev, &ds, &p, &t);
        cgp_evolver_begin(ev, 0, 0, NULL, 0);
        /* two calls: the decision carries over (a caller pausing does not restart on one
           thread) */
        cgp_evolver_advance(ev, 1500);
        cgp_evolver_advance(ev, 1500);
        struct cgp_totals tot;
        cgp_evolver_totals(ev, &tot);
        par[k] = tot.parallel_generations;
        assert_int_equal(cgp_genome_init(&g[k], &ev->shape, &ev->fset, NULL), CGPC_OK);
        memcpy(g[k].genes, ev->parent.genes, (size_t)ev->shape.n_genes * sizeof *g[k].genes);
        cgp_evolver_free(ev);
    }
    assert_int_equal(par[0], 0);
    if (cgpc_max_threads() > 1) {
        assert_int_equal(par[1], 3000 - 1024); /* the first window runs on one thread */
        assert_int_equal(par[2], 3000);
    }
    for (int k = 1; k < 3; k++)
        assert_memory_equal(g[0].genes, g[k].genes, (size_t)g[0].shape.n_genes * sizeof(int32_t));
    for (int k = 0; k < 3; k++)
        cgp_genome_free(&g[k]);
    cgp_dataset_free(&ds);
}

/* ---- runs with files: resume, thresholds -------------------------------------------------- */

static void resume__split_at_half__equals_uninterrupted(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 4, 3, 18, 31);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 6, 10);
    p.generations = 1500;
    p.n_thresholds = 2;
    p.thresholds[0] = 3025; /* mse: 55 and 39 per weight */
    p.thresholds[1] = 1521;
    p.runs = 2;
    char a[256], b[256];
    make_tmpdir(a, sizeof a, "straight");
    make_tmpdir(b, sizeof b, "split");
    assert_int_equal(cgp_evolve_dir(&p, &ds, &t, a, 0, NULL, NULL, NULL), CGPC_OK);
    /* stop in run 0 stage 1, then in run 1 stage 0, then finish */
    const int64_t stops[] = {2100, 700, 0};
    for (int i = 0; i < 3; i++) {
        struct cgp_params q = p;
        q.stop_after = stops[i];
        struct cgpc_err err = {0};
        cgpc_status st = cgp_evolve_dir(&q, i ? NULL : &ds, &t, b, i > 0, NULL, NULL, &err);
        assert_int_equal(st, stops[i] ? CGPC_ERR_INTERRUPTED : CGPC_OK);
    }
    const char *files[] = {"results.csv", "pareto.0.csv", "pareto.1.csv", "best.0.55.chr",
                           "best.0.39.chr", "best.1.55.chr", "best.1.39.chr",
                           "statistics.0.csv.gz", "statistics.1.csv.gz"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *x = read_text(a, files[i]), *y = read_text(b, files[i]);
        strip_seconds(x);
        strip_seconds(y);
        if (strcmp(x, y) != 0)
            fail_msg("%s differs between the straight and the resumed run", files[i]);
        free(x);
        free(y);
    }
    char *x = read_text(a, "statistics.0.csv.gz");
    assert_true(strchr(strchr(x, '\n') + 1, '\n') != NULL); /* a header and rows */
    free(x);
    rm_rf(a);
    rm_rf(b);
    cgp_dataset_free(&ds);
}

/* Replace the first occurrence of `from` in the file dir/name by `to`. */
static void edit_file(const char *dir, const char *name, const char *from, const char *to)
{
    char *t = read_text(dir, name), path[512];
    char *at = strstr(t, from);
    assert_non_null(at);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
    fclose(fp);
    free(t);
}

static void resume__crash_after_statistics_compressed__completes(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 3, 2, 5, 91);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 3, 5);
    p.generations = 200;
    char dir[256];
    make_tmpdir(dir, sizeof dir, "crash");
    assert_int_equal(cgp_evolve_dir(&p, &ds, &t, dir, 0, NULL, NULL, NULL), CGPC_OK);
    char *before = read_text(dir, "results.csv"), *stats = read_text(dir, "statistics.0.csv.gz");
    /* the state after statistics.0.csv.gz was committed and the journal removed, but before
     * the run's final checkpoint: the stage-end checkpoint of run 0's last stage */
    char jb[64];
    snprintf(jb, sizeof jb, "journal-bytes %zu", strlen(stats));
    edit_file(dir, "checkpoint", "status done\nrun 1\nstage 0", "status running\nrun 0\nstage 1");
    edit_file(dir, "checkpoint", "journal-bytes 0", jb);
    struct cgpc_err err = {0};
    cgpc_status st = cgp_evolve_dir(NULL, NULL, &t, dir, 1, NULL, NULL, &err);
    if (st != CGPC_OK)
        fail_msg("resume: %s", err.msg);
    char *after = read_text(dir, "results.csv"), *ck = read_text(dir, "checkpoint");
    char *stats2 = read_text(dir, "statistics.0.csv.gz");
    assert_string_equal(before, after);
    assert_string_equal(stats, stats2);
    assert_non_null(strstr(ck, "status done"));
    free(before);
    free(after);
    free(stats);
    free(stats2);
    free(ck);
    rm_rf(dir);
    cgp_dataset_free(&ds);
}

static void thresholds__chain_and_independent__start_points_and_flags(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 3, 4, 10, 41);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 5, 8);
    p.generations = 400;
    p.n_thresholds = 2;
    p.thresholds[0] = 4096; /* loose: reached; mse, so 64 per weight */
    p.thresholds[1] = 0;    /* exact on random data in 400 generations: not reached */
    for (int indep = 0; indep < 2; indep++) {
        p.independent = indep;
        char a[256];
        make_tmpdir(a, sizeof a, "chain");
        assert_int_equal(cgp_evolve_dir(&p, &ds, &t, a, 0, NULL, NULL, NULL), CGPC_OK);
        char *res = read_text(a, "results.csv");
        /* thresholds per weight, then the metric's */
        assert_non_null(strstr(res, "\n0,64,4096,yes,400,"));
        assert_non_null(strstr(res, "\n0,0,0,no,400,"));
        free(res);
        char *best = read_text(a, "best.0.0.chr");
        assert_non_null(strstr(best, "# reached no (the error threshold was never reached"));
        free(best);
        /* Stage 2's first statistics row is its start: in a chain, stage 1's final error. */
        char *st = read_text(a, "statistics.0.csv.gz");
        char *row2 = strstr(st, "\n0,0,400,");
        assert_non_null(row2);
        const char *metric = row2 + 1; /* error_metric: the 12th field */
        for (int k = 0; k < 11; k++)
            metric = strchr(metric, ',') + 1;
        double e_start = strtod(metric, NULL);
        /* the error column is the same per weight (mse: its square root) */
        double e_start_per_weight = strtod(strchr(row2 + 9, ',') + 1, NULL);
        assert_true(fabs(e_start_per_weight - cgp_per_weight(p.error_kind, e_start, 16)) <=
                    1e-12 * fmax(1, e_start_per_weight));
        struct cgp_genome g;
        struct cgp_fitness f;
        char path[300];
        snprintf(path, sizeof path, "%s/best.0.64.chr", a);
        assert_int_equal(cgp_genome_load(&g, path, NULL), CGPC_OK);
        assert_int_equal(cgp_measure(&g, &ds, &t, p.error_kind, &f, NULL), CGPC_OK);
        if (!indep)
            assert_true(e_start == f.error);
        else
            assert_true(e_start != f.error);
        cgp_genome_free(&g);
        free(st);
        rm_rf(a);
    }
    cgp_dataset_free(&ds);
}

/* ---- concurrent stages ---------------------------------------------------------------------- */

/* Every file of directory a equals b's (statistics compared without the seconds column), but
 * config.txt when the parameters differ. */
static void dirs_equal(const char *a, const char *b, const char *what)
{
    DIR *d = opendir(a);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || (strstr(what, "patience") && !strcmp(e->d_name, "config.txt")))
            continue;
        char *x = read_text(a, e->d_name), *y = read_text(b, e->d_name);
        if (strncmp(e->d_name, "statistics.", 11) == 0) {
            strip_seconds(x);
            strip_seconds(y);
        }
        if (strcmp(x, y) != 0)
            fail_msg("%s: %s differs", what, e->d_name);
        free(x);
        free(y);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

/* The progress reports a run delivers: (run, stage) never goes back; stage ends recorded. */
struct report_log {
    int64_t generations; /* per stage */
    int last_key, n_ends, stop_at_end; /* stop_at_end > 0: raise *stop at that many ends */
    volatile sig_atomic_t *stop;
    char ends[4096];
};

static void log_report(void *user, const struct cgp_progress *pr)
{
    struct report_log *lg = user;
    int key = pr->run * (pr->n_stages + 1) + pr->stage;
    if (key < lg->last_key)
        fail_msg("report of run %d stage %d after a later one", pr->run, pr->stage);
    lg->last_key = key;
    if (pr->generation != (pr->stage + 1) * lg->generations)
        return; /* a live report */
    size_t n = strlen(lg->ends);
    snprintf(lg->ends + n, sizeof lg->ends - n, "%d/%d@%" PRId64 ":%" PRId64 " ", pr->run,
             pr->stage, pr->generation, pr->best->err_sum);
    if (++lg->n_ends == lg->stop_at_end && lg->stop)
        *lg->stop = 1;
}

/* Independent thresholds of a fixed length run one stage per thread (2 runs x 3 thresholds on
 * 1, 2 and 3 threads): every file and the stage-end reports equal one thread's, and the
 * stages one after another's (a patience that never ends a stage turns stage items off);
 * stopped half-way (by stop_after or by the stop flag) and resumed on 2 threads, the same
 * again. */
static void stages__independent_on_threads__files_equal_one_thread(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 3, 2, 12, 57);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 4, 8);
    p.generations = 3000;
    p.independent = 1;
    p.runs = 2;
    p.n_thresholds = 3;
    p.thresholds[0] = 4096;
    p.thresholds[1] = 1600;
    p.thresholds[2] = 0;
    p.checkpoint_every = 0;
    const int threads0 = cgpc_max_threads();
    char a[256], b[256];
    make_tmpdir(a, sizeof a, "stages1");
    struct report_log one = {p.generations, 0, 0, 0, NULL, ""};
    struct cgp_callbacks cb1 = {log_report, &one, NULL};
    cgpc_set_threads(1);
    assert_int_equal(cgp_evolve_dir(&p, &ds, &t, a, 0, &cb1, NULL, NULL), CGPC_OK);
    assert_int_equal(one.n_ends, 8); /* 6 stage ends, 2 run ends */
    char *res = read_text(a, "results.csv");
    assert_non_null(strstr(res, "\n1,0,0,"));
    free(res);
    for (int threads = 1; threads <= 3; threads++) {
        make_tmpdir(b, sizeof b, "stages2");
        struct report_log lg = {p.generations, 0, 0, 0, NULL, ""};
        struct cgp_callbacks cb = {log_report, &lg, NULL};
        cgpc_set_threads(threads);
        struct cgp_totals tot;
        struct cgp_params q = p;
        q.patience = threads == 1 ? 100 * p.generations : 0; /* stages one after another */
        assert_int_equal(cgp_evolve_dir(&q, &ds, &t, b, 0, &cb, &tot, NULL), CGPC_OK);
        assert_int_equal(tot.generations, 6 * p.generations);
        dirs_equal(a, b, threads == 1 ? "1 thread, patience" : threads == 2 ? "2 threads" : "3 threads");
        assert_string_equal(one.ends, lg.ends);
        rm_rf(b);
    }
    /* a batch of a larger run (runs 2 and 3): the same on 1 and 2 threads */
    {
        char c[256], d[256];
        struct cgp_params q = p;
        q.first_run = 2;
        make_tmpdir(c, sizeof c, "stages5");
        make_tmpdir(d, sizeof d, "stages6");
        cgpc_set_threads(1);
        assert_int_equal(cgp_evolve_dir(&q, &ds, &t, c, 0, NULL, NULL, NULL), CGPC_OK);
        cgpc_set_threads(2);
        assert_int_equal(cgp_evolve_dir(&q, &ds, &t, d, 0, NULL, NULL, NULL), CGPC_OK);
        dirs_equal(c, d, "first run 2, 2 threads");
        char *r = read_text(d, "results.csv");
        assert_non_null(strstr(r, "\n3,0,0,"));
        free(r);
        rm_rf(c);
        rm_rf(d);
    }
    /* stopped in run 0 stage 2 / run 0 stage 0 / at generation 1 (other stages stopped with
     * them, redone on resume), resumed on 2 threads */
    const int64_t stops[] = {7000, 1500, 1};
    for (int i = 0; i < 3; i++) {
        make_tmpdir(b, sizeof b, "stages3");
        cgpc_set_threads(2);
        struct cgp_params q = p;
        q.stop_after = stops[i];
        struct cgpc_err err = {0};
        assert_int_equal(cgp_evolve_dir(&q, &ds, &t, b, 0, NULL, NULL, &err),
                         CGPC_ERR_INTERRUPTED);
        assert_non_null(strstr(err.msg, "continue with --resume"));
        char *ck = read_text(b, "checkpoint");
        assert_non_null(strstr(ck, "status running\nrun 0\n"));
        free(ck);
        assert_int_equal(cgp_evolve_dir(NULL, NULL, &t, b, 1, NULL, NULL, &err), CGPC_OK);
        dirs_equal(a, b, "stopped and resumed");
        rm_rf(b);
    }
    /* the stop flag raised at the first stage end (as on SIGINT): a checkpoint, the rest
     * redone on resume. Stage ends are delivered in stage order, so the first one comes when
     * run 0's stage 0 is merged: if its lane was descheduled while the other lane finished
     * every other item, nothing is left to stop and the run ends normally (the stop_after
     * cases above interrupt deterministically). */
    make_tmpdir(b, sizeof b, "stages4");
    volatile sig_atomic_t flag = 0;
    struct report_log lg = {p.generations, 0, 0, 1, &flag, ""};
    struct cgp_callbacks cb = {log_report, &lg, &flag};
    struct cgpc_err err = {0};
    cgpc_status st = cgp_evolve_dir(&p, &ds, &t, b, 0, &cb, NULL, &err);
    assert_true(flag == 1);
    if (st != CGPC_OK) {
        assert_int_equal(st, CGPC_ERR_INTERRUPTED);
        assert_non_null(strstr(err.msg, "continue with --resume"));
        flag = 0;
        assert_int_equal(cgp_evolve_dir(NULL, NULL, &t, b, 1, NULL, NULL, &err), CGPC_OK);
    }
    dirs_equal(a, b, "interrupted and resumed");
    rm_rf(b);
    cgpc_set_threads(threads0);
    rm_rf(a);
    cgp_dataset_free(&ds);
}

static void value_slots__any_output_count__same_error_as_expanded(void **state)
{
    (void)state;
    const int outs[] = {3, 255, 300};
    for (int c = 0; c < 3; c++) {
        int no = outs[c], nd = 2;
        int8_t *t = malloc((size_t)no * nd);
        uint8_t *care = malloc((size_t)no * nd);
        for (int d = 0; d < nd; d++)
            for (int o = 0; o < no; o++) {
                t[d * no + o] = (int8_t)((o % 7) * 11 - d * (o % 3)); /* few distinct columns */
                care[d * no + o] = o % 13 != 5;
            }
        struct cgp_dataset ds, sl;
        assert_int_equal(cgp_dataset_from_arrays(&ds, 0, no, nd, NULL, t, care, NULL), CGPC_OK);
        int32_t *slot_of = malloc((size_t)no * sizeof *slot_of);
        assert_int_equal(cgp_dataset_value_slots(&ds, &sl, slot_of, NULL), CGPC_OK);
        assert_true(sl.n_outputs < no || no == 3);
        assert_true(sl.n_outputs <= 2 * 21);
        assert_int_equal(cgp_dataset_cared(&sl), cgp_dataset_cared(&ds));
        struct cgp_shape s;
        struct cgp_fset f;
        cgp_shape_make(&s, 4, 6, 6, 0, sl.n_outputs, 2);
        int32_t ops[] = {CGPC_OP_CONST1, CGPC_OP_ADD, CGPC_OP_SHL2, CGPC_OP_NEG, CGPC_OP_CONST127};
        cgp_fset_make(&f, ops, 5);
        struct cgp_genome g, full;
        assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
        struct energy_gate_table tab;
        energy_gate_table_default(&tab);
        for (int rep = 0; rep < 10; rep++) {
            cgpc_rng r;
            cgpc_rng_seed(&r, 81, (uint64_t)c, (uint64_t)rep);
            cgp_genome_randomize(&g, &r);
            assert_int_equal(cgp_genome_expand_slots(&g, slot_of, no, &full, NULL), CGPC_OK);
            struct cgp_fitness fs, ff;
            assert_int_equal(cgp_measure(&g, &sl, &tab, CGP_ERROR_SE, &fs, NULL), CGPC_OK);
            assert_int_equal(cgp_measure(&full, &ds, &tab, CGP_ERROR_SE, &ff, NULL), CGPC_OK);
            assert_int_equal(fs.err_sum, ff.err_sum);
            assert_true(fs.energy_pj == ff.energy_pj);
            cgp_genome_free(&full);
        }
        cgp_genome_free(&g);
        free(slot_of);
        free(t);
        free(care);
        cgp_dataset_free(&ds);
        cgp_dataset_free(&sl);
    }
}

/* ---- formats ---------------------------------------------------------------------------- */

static void dataset__text_round_trip__equal(void **state)
{
    (void)state;
    struct cgp_dataset a, b;
    random_dataset(&a, 3, 2, 20, 51);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(cgp_dataset_write(&a, fp, NULL), CGPC_OK);
    fclose(fp);
    assert_int_equal(cgp_dataset_parse(&b, buf, "mem", NULL), CGPC_OK);
    assert_int_equal(b.n_items, 20);
    assert_memory_equal(a.in, b.in, (size_t)3 * a.stride);
    assert_memory_equal(a.care, b.care, (size_t)2 * a.stride);
    for (int i = 0; i < 2 * a.stride; i++)
        if (a.care[i])
            assert_int_equal(a.target[i], b.target[i]);
    free(buf);
    cgp_dataset_free(&a);
    cgp_dataset_free(&b);
}

static void dataset__bad_text__error_names_line(void **state)
{
    (void)state;
    const struct {
        const char *text, *want;
    } cases[] = {
        {"cgpc-data v2\n", "f:1: expected the header"},
        {"cgpc-data v1\ninputs 1\noutputs 1\nitems 2\n1 2\n3\n", "f:6: 1 values, expected 2"},
        {"cgpc-data v1\ninputs 1\noutputs 1\nitems 1\n1 200\n", "f:5: output 1"},
        {"cgpc-data v1\ninputs 1\noutputs 1\nitems 1\nx 2\n", "f:5: input 1"},
        {"cgpc-data v1\ninputs 1\noutputs 1\nitems 2\n# c\n1 2\n", "expected 2 items, found 1"},
        {"cgpc-data v1\ninputs 1\nitems 2\n", "f:3: expected 'outputs N'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cgp_dataset ds;
        struct cgpc_err err = {0};
        assert_int_not_equal(cgp_dataset_parse(&ds, cases[i].text, "f", &err), CGPC_OK);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].want);
    }
}

static void chromosome__round_trip_and_bad_input__equal_or_clear_error(void **state)
{
    (void)state;
    struct cgp_shape s;
    struct cgp_fset f;
    cgp_shape_make(&s, 3, 4, 2, 2, 2, 4);
    all_ops_fset(&f);
    struct cgp_genome g, h;
    assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
    cgpc_rng r;
    cgpc_rng_seed(&r, 61, 0, 0);
    cgp_genome_randomize(&g, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(cgp_genome_write(&g, "hello\nworld", fp, NULL), CGPC_OK);
    fclose(fp);
    assert_int_equal(cgp_genome_parse(&h, buf, "mem", NULL), CGPC_OK);
    assert_memory_equal(g.genes, h.genes, (size_t)s.n_genes * sizeof *g.genes);
    cgp_genome_free(&h);
    struct cgpc_err err = {0};
    /* truncated */
    buf[len / 2] = 0;
    assert_int_equal(cgp_genome_parse(&h, buf, "c.chr", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "c.chr:"));
    /* out-of-reach source: node 0 (column 0) reading node 5 */
    const char *bad = "cgpc-chromosome v1\nrows 1\ncols 2\nlevels-back 1\ninputs 1\noutputs 1\n"
                      "node-inputs 2\nfunctions add,id\nnodes\n0 2 0 add\n1 1 0 id\noutputs 2\nend\n";
    assert_int_equal(cgp_genome_parse(&h, bad, "b.chr", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "out of reach"));
    assert_int_equal(cgp_genome_parse(&h, "cgpc-chromosome v9\n", "v.chr", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "another version"));
    free(buf);
    cgp_genome_free(&g);
}

static void fitness__threshold_then_costs__ordered(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    random_dataset(&ds, 1, 2, 3, 71);
    int64_t n = cgp_dataset_cared(&ds);
    /* MSE limit: the largest sum whose mean is <= T */
    int64_t lim = cgp_threshold_limit(2.5, CGP_ERROR_MSE, &ds);
    assert_true((double)lim / (double)n <= 2.5 && (double)(lim + 1) / (double)n > 2.5);
    assert_int_equal(cgp_threshold_limit(7, CGP_ERROR_SE, &ds), 7);
    struct cgp_fitness a = {.err_sum = 5, .energy_pj = 2}, b = {.err_sum = 3, .energy_pj = 9};
    assert_true(cgp_fitness_cmp(&a, &b, 1) > 0);  /* both above: error decides */
    assert_true(cgp_fitness_cmp(&a, &b, 5) < 0);  /* both within: energy decides */
    assert_true(cgp_fitness_cmp(&a, &b, 4) > 0);  /* only b within */
    b.energy_pj = 2;
    b.delay_ns = a.delay_ns;
    assert_int_equal(cgp_fitness_cmp(&a, &b, 5), 0); /* tie: a neutral move */
    cgp_dataset_free(&ds);
}

/* ---- the parameter table ------------------------------------------------------------------ */

/* Every parameter: its table default is what cgp_params_default holds and cgp_param_format
 * gives back; a value below its range (numbers) or of the wrong kind is rejected with a message
 * that names the parameter; the config.txt lines read back to the same parameters. */
static void params__table__defaults_ranges_and_file_round_trip(void **state)
{
    (void)state;
    struct cgp_params p, q;
    cgp_params_default(&p);
    char buf[4096], bad[64];
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        const struct cgp_param_info *pi = &cgp_param_table[i];
        assert_int_equal(cgp_param_index(pi->name), i);
        cgp_param_format(&p, i, buf, sizeof buf);
        if (pi->type == CGP_PT_FUNCTIONS) /* the keyword names the thesis's 27 */
            assert_string_equal(pi->def, "thesis");
        else if (strcmp(buf, pi->def) != 0)
            fail_msg("%s: default '%s' formats as '%s'", pi->name, pi->def, buf);
        switch (pi->type) {
        case CGP_PT_INT:
        case CGP_PT_I64:
        case CGP_PT_DOUBLE:
        case CGP_PT_SECONDS:
        case CGP_PT_THRESHOLDS:
            snprintf(bad, sizeof bad, "%.17g", pi->min - (pi->min > 0 ? pi->min / 2 : 1));
            break;
        default:
            snprintf(bad, sizeof bad, "x");
        }
        struct cgpc_err err = {0};
        q = p;
        if (cgp_param_set(&q, i, bad, &err) == CGPC_OK)
            fail_msg("%s accepted '%s'", pi->name, bad);
        if (strncmp(err.msg, pi->name, strlen(pi->name)) != 0 || strstr(err.msg, "--"))
            fail_msg("%s: message '%s' does not name the parameter", pi->name, err.msg);
        if (pi->type == CGP_PT_INT || pi->type == CGP_PT_I64 || pi->type == CGP_PT_DOUBLE) {
            snprintf(bad, sizeof bad, "%.17g", pi->max * 2 + 1);
            assert_int_not_equal(cgp_param_set(&q, i, bad, NULL), CGPC_OK);
        }
    }
    assert_int_equal(p.n_functions, CGPC_OP_THESIS_COUNT);
    /* non-default values, written and read back */
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_rows, "3", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_thresholds, "0.5, 2 7", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_time_limit, "1:30", NULL), CGPC_OK);
    assert_true(p.time_limit == 90);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_error_kind, "ae", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_seed, "18446744073709551615", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_mutation_max, "0.1", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_runs, "5", NULL), CGPC_OK);
    /* multiplex brings the muxes into the thesis set (and takes them out again) */
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_multiplex, "true", NULL), CGPC_OK);
    assert_int_equal(p.n_functions, CGPC_OP_THESIS_COUNT + 2);
    assert_int_equal(p.functions[p.n_functions - 1], CGPC_OP_MUX4);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_multiplex, "off", NULL), CGPC_OK);
    assert_int_equal(p.n_functions, CGPC_OP_THESIS_COUNT);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_multiplex, "1", NULL), CGPC_OK);
    assert_int_equal(cgp_param_set(&p, CGP_PARAM_functions, "add,mux2,const1", NULL), CGPC_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_int_equal(cgp_params_write(&p, fp, NULL), CGPC_OK);
    fclose(fp);
    assert_non_null(strstr(text, "\nlevels-back 0\n"));
    assert_non_null(strstr(text, "\nthresholds 0.5 2 7\n"));
    assert_null(strstr(text, "parallel")); /* not part of a run's definition */
    assert_int_equal(cgp_params_parse(&q, text, "config.txt", NULL), CGPC_OK);
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        char a[4096], b[4096];
        cgp_param_format(&p, i, a, sizeof a);
        cgp_param_format(&q, i, b, sizeof b);
        if ((cgp_param_table[i].where & CGP_PF_FILE) && strcmp(a, b) != 0)
            fail_msg("%s: wrote '%s', read '%s'", cgp_param_table[i].name, a, b);
    }
    /* a missing line keeps its default (files from before the parameter existed); an unknown
     * key is an error naming the file and key */
    struct cgpc_err err = {0};
    char *gone = strstr(text, "\nruns ");
    memcpy(gone + 1, "#   ", 4);
    assert_int_equal(cgp_params_parse(&q, text, "config.txt", &err), CGPC_OK);
    assert_int_equal(q.runs, 1); /* the default, not the 5 written */
    assert_int_equal(q.rows, 3);
    char *cut = strstr(text, "lambda");
    memcpy(cut, "lambdb", 6);
    assert_int_equal(cgp_params_parse(&q, text, "config.txt", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "config.txt:4: unknown key 'lambdb': expected 'key value'"));
    free(text);
    /* the rules between parameters name them too */
    cgp_params_default(&p);
    p.levels_back = p.cols + 1;
    assert_int_equal(cgp_params_check(&p, NULL, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "levels_back"));
    cgp_params_default(&p);
    p.functions[p.n_functions++] = CGPC_OP_MUX2;
    assert_int_equal(cgp_params_check(&p, NULL, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "multiplex"));
    cgp_params_default(&p);
    p.lambda = 0;
    assert_int_equal(cgp_params_check(&p, NULL, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "lambda"));
}

/* ---- corrupt checkpoints (issue #17: every loaded field validated before use) --------------- */

/* A run stopped inside its second stage: 1 run, thresholds {1e9, 0}, 200 generations each,
 * stopped after 300 generations: its checkpoint has results, Pareto points and genes. */
static void stopped_run(char *dir, size_t cap, struct cgp_dataset *ds,
                        struct energy_gate_table *t)
{
    random_dataset(ds, 3, 2, 5, 91);
    struct cgp_params p;
    small_setup(&p, t, 3, 5);
    p.generations = 200;
    p.n_thresholds = 2;
    p.thresholds[0] = 1e9;
    p.thresholds[1] = 0;
    p.stop_after = 300;
    make_tmpdir(dir, cap, "corrupt");
    assert_int_equal(cgp_evolve_dir(&p, ds, t, dir, 0, NULL, NULL, NULL), CGPC_ERR_INTERRUPTED);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(cgpc_write_file_atomic(path, text, strlen(text), NULL), CGPC_OK);
}

/* text with the first `from` replaced by `to` (malloc'ed). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        fail_msg("'%s' not in the checkpoint", from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* The checkpoint with node 0's operator made unary (neg) and its unused second input gene
 * out of range. */
static char *unused_gene_out_of_range(const char *text)
{
    const char *g = strstr(text, "\ngenes ");
    assert_non_null(g);
    int n, a, b, op, used = 0;
    assert_int_equal(sscanf(g + 7, "%d %d %d %d%n", &n, &a, &b, &op, &used), 4);
    char head[128], mine[128];
    snprintf(head, sizeof head, "\ngenes %d %d %d %d", n, a, b, op);
    snprintf(mine, sizeof mine, "\ngenes %d %d 99999 %d", n, a, (int)CGPC_OP_NEG);
    return replaced(text, head, mine);
}

/* Resume dir from `bad` as its checkpoint: refused with a format error naming `want`, never a
 * crash or a silent success. With CGPC_CORPUS_OUT set, bad is also saved there as `name`
 * (how tests/fuzz/corpus/checkpoint/ was made). */
static void expect_refused(const char *dir, const struct energy_gate_table *t, char *bad,
                           const char *name, const char *want)
{
    const char *corpus = getenv("CGPC_CORPUS_OUT");
    if (corpus)
        write_text(corpus, name, bad);
    write_text(dir, "checkpoint", bad);
    struct cgpc_err err = {0};
    cgpc_status st = cgp_evolve_dir(NULL, NULL, t, dir, 1, NULL, NULL, &err);
    if (st != CGPC_ERR_FORMAT || !strstr(err.msg, want))
        fail_msg("%s: status %d, message '%s', expected a format error with '%s'", name, st,
                 err.msg, want);
    free(bad);
}

static void checkpoint__corrupt_fields__refused_naming_line_and_field(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    struct energy_gate_table t;
    char dir[256];
    stopped_run(dir, sizeof dir, &ds, &t);
    char *good = read_text(dir, "checkpoint");
    assert_non_null(strstr(good, "\nrun 0\nstage 1\nstarted 1\n"));
    assert_non_null(strstr(good, "\npoint "));
    /* a point's stage index (SIGSEGV in write_pareto before) */
    const char *pt = strstr(good, "\npoint ");
    char from[256], to[256];
    int64_t es;
    double e1, e2, e3;
    int gates, stage;
    assert_int_equal(sscanf(pt + 7, "%" SCNd64 " %lf %lf %lf %d %d", &es, &e1, &e2, &e3, &gates,
                            &stage), 6);
    const char *f6 = pt + 7;
    for (int f = 0; f < 5; f++)
        f6 = strchr(f6, ' ') + 1;
    snprintf(from, sizeof from, "%.*s %d ", (int)(f6 - pt - 1), pt, stage);
    snprintf(to, sizeof to, "%.*s 7 ", (int)(f6 - pt - 1), pt);
    expect_refused(dir, &t, replaced(good, from, to), "point-stage-out-of-range",
                   "point: stage: expected an integer in [0, 1], got 7");
    snprintf(to, sizeof to, "%.*s -1 ", (int)(f6 - pt - 1), pt);
    expect_refused(dir, &t, replaced(good, from, to), "point-stage-negative", "point: field 6");
    /* a second genes line used to turn the genome check off */
    expect_refused(dir, &t, replaced(good, "\nend\n", "\ngenes 0\nend\n"), "genes-twice",
                   "genes: given twice");
    /* an unused input gene out of range becomes live after a mutation of the operator */
    expect_refused(dir, &t, unused_gene_out_of_range(good), "unused-gene-out-of-range",
                   "node 0 (column 0): input 1 = 99999 is out of reach");
    /* counters near INT64_MAX, negative stage generations */
    char *g = strstr(good, "\ngeneration ");
    snprintf(from, sizeof from, "%.*s", (int)(strchr(g + 1, '\n') - g), g);
    expect_refused(dir, &t, replaced(good, from, "\ngeneration 9223372036854775000"),
                   "generation-near-int64-max", "generation: expected an integer in [0, ");
    g = strstr(good, "\nstage-generations ");
    snprintf(from, sizeof from, "%.*s", (int)(strchr(g + 1, '\n') - g), g);
    expect_refused(dir, &t, replaced(good, from, "\nstage-generations -5"),
                   "stage-generations-negative", "stage-generations: expected an integer in [0, 200]");
    /* positions past the end: run 1 of 1 runs, stage 2 of 2 stages */
    expect_refused(dir, &t, replaced(good, "\nrun 0\n", "\nrun 1\n"), "run-past-last",
                   "run: 1 is past the last run 0 but the status is not done");
    expect_refused(dir, &t, replaced(good, "\nstage 1\n", "\nstage 2\n"), "stage-past-last-started",
                   "started: the run's 2 stages are all finished");
    char *s2 = replaced(good, "\nstage 1\nstarted 1\n", "\nstage 2\nstarted 0\n");
    expect_refused(dir, &t, s2, "stage-past-last-results",
                   "results: run 0 stage 2 has finished 2 stages, the checkpoint holds 1");
    expect_refused(dir, &t, replaced(good, "status running", "status done"), "done-mid-run",
                   "status done: expected run 1, stage 0");
    /* structure */
    expect_refused(dir, &t, replaced(good, "cgpc-checkpoint v3", "cgpc-checkpoint v4"),
                   "magic-v4", "checkpoint:1: expected 'cgpc-checkpoint v3'");
    expect_refused(dir, &t, replaced(good, "cgpc-checkpoint v3", "cgpc-checkpoint v1"),
                   "magic-v1", "checkpoint:1: 'cgpc-checkpoint v1': written by an older cgpc "
                   "whose search draws its random mutations differently");
    expect_refused(dir, &t, replaced(good, "cgpc-checkpoint v3", "cgpc-checkpoint v2"),
                   "magic-v2", "checkpoint:1: 'cgpc-checkpoint v2': written by an older cgpc "
                   "whose search draws its random mutations differently");
    expect_refused(dir, &t, replaced(good, "\nend\n", "\n"), "no-end", "truncated: no 'end'");
    expect_refused(dir, &t, replaced(good, "\nend\n", "\nend\nrun 0\n"), "after-end",
                   "expected nothing after 'end'");
    expect_refused(dir, &t, replaced(good, "\nresults 1\n", "\nresults 5\n"), "results-too-many",
                   "results: expected an integer in [0, 2], got '5'");
    expect_refused(dir, &t, replaced(good, "\nsince-improve ", "\nsince-improved "),
                   "unknown-key", "unknown key 'since-improved'");
    const char *pa = strstr(good, "\npareto ");
    snprintf(from, sizeof from, "%.*s", (int)(strchr(pa + 1, '\n') - pa), pa);
    expect_refused(dir, &t, replaced(good, from, "\npareto 16000000"), "pareto-count-huge",
                   "pareto: 16000000 rows announced, the file has");
    /* the untouched checkpoint still resumes to the end */
    write_text(dir, "checkpoint", good);
    struct cgpc_err err = {0};
    if (cgp_evolve_dir(NULL, NULL, &t, dir, 1, NULL, NULL, &err) != CGPC_OK)
        fail_msg("resume: %s", err.msg);
    free(good);
    rm_rf(dir);
    cgp_dataset_free(&ds);
}

/* Every bad checkpoint kept in tests/fuzz/corpus/checkpoint/ (made by the test above) is
 * refused by a resume of the same run, without a crash. */
static void checkpoint__fuzz_corpus__every_file_refused(void **state)
{
    (void)state;
    const char *root = getenv("CGPC_ROOT");
    char corpus[1024];
    snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus/checkpoint", root ? root : ".");
    DIR *d = opendir(corpus);
    assert_non_null(d);
    struct cgp_dataset ds;
    struct energy_gate_table t;
    char dir[256];
    stopped_run(dir, sizeof dir, &ds, &t);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *bad = read_text(corpus, e->d_name);
        write_text(dir, "checkpoint", bad);
        free(bad);
        struct cgpc_err err = {0};
        cgpc_status st = cgp_evolve_dir(NULL, NULL, &t, dir, 1, NULL, NULL, &err);
        if (st != CGPC_ERR_FORMAT)
            fail_msg("%s: status %d (%s), expected a format error", e->d_name, st, err.msg);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
    rm_rf(dir);
    cgp_dataset_free(&ds);
}

static void genome_check__unused_input_gene_out_of_range__rejected(void **state)
{
    (void)state;
    struct cgp_params p;
    cgp_params_default(&p);
    struct cgp_shape s;
    cgp_shape_make(&s, 2, 3, 3, 2, 1, 2);
    struct cgp_fset f;
    cgp_fset_make(&f, p.functions, p.n_functions);
    struct cgp_genome g;
    assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
    cgpc_rng r;
    cgpc_rng_seed(&r, 5, 0, 0);
    cgp_genome_randomize(&g, &r);
    assert_int_equal(cgp_genome_check(&g, NULL), CGPC_OK);
    int node = 3; /* column 1 */
    g.genes[node * 3 + 2] = CGPC_OP_NEG;
    g.genes[node * 3 + 1] = 2 + 6; /* its own column: never a valid source */
    struct cgpc_err err = {0};
    assert_int_equal(cgp_genome_check(&g, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "node 3 (column 1): input 1 = 8 is out of reach"));
    g.genes[node * 3 + 1] = 0; /* a primary input: fine although neg ignores it */
    assert_int_equal(cgp_genome_check(&g, NULL), CGPC_OK);
    /* the reference evaluator refuses a data set of another shape (it wrote past the outputs) */
    struct cgp_dataset ds;
    random_dataset(&ds, 3, 1, 4, 7);
    int8_t out[16];
    assert_int_equal(cgp_eval_reference(&g, &ds, out, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "the circuit has 2 inputs and 1 outputs, the data set 3 and 1"));
    cgp_dataset_free(&ds);
    cgp_genome_free(&g);
}

/* One threshold unit (issue #11): an se run names its files and fills results.csv and
 * pareto.<run>.csv per weight with the metric beside it; a directory of an older cgpc (results
 * header v1) is refused by the reader and by --resume, saying so. */
static void units__se_run__per_weight_names_and_columns_old_dirs_refused(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) { /* the conversions invert each other for every metric */
        double m = cgp_metric_of_per_weight((enum cgp_error_kind)k, 2.5, 40);
        assert_true(fabs(cgp_per_weight((enum cgp_error_kind)k, m, 40) - 2.5) < 1e-12);
    }
    assert_true(cgp_metric_of_per_weight(CGP_ERROR_SE, 8, 40) == 2560);
    assert_true(cgp_metric_of_per_weight(CGP_ERROR_AE, 8, 40) == 320);
    assert_true(cgp_metric_of_per_weight(CGP_ERROR_MSE, 8, 40) == 64);
    struct cgp_dataset ds;
    random_dataset(&ds, 3, 4, 10, 41);
    int64_t cared = cgp_dataset_cared(&ds);
    struct cgp_params p;
    struct energy_gate_table t;
    small_setup(&p, &t, 5, 8);
    p.generations = 100;
    p.error_kind = CGP_ERROR_SE;
    p.n_thresholds = 1;
    p.thresholds[0] = cgp_metric_of_per_weight(CGP_ERROR_SE, 8, cared);
    char a[256], path[400];
    make_tmpdir(a, sizeof a, "units");
    assert_int_equal(cgp_evolve_dir(&p, &ds, &t, a, 0, NULL, NULL, NULL), CGPC_OK);
    snprintf(path, sizeof path, "%s/best.0.8.chr", a);
    assert_true(cgpc_path_exists(path));
    char *res = read_text(a, "results.csv"), want[128];
    snprintf(want, sizeof want, "\n0,8,%.17g,", p.thresholds[0]);
    assert_non_null(strstr(res, want));
    struct cgp_result_row *rows = NULL;
    int n = 0;
    assert_int_equal(cgp_results_load(a, &rows, &n, NULL), CGPC_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].threshold == 8 && rows[0].threshold_metric == p.thresholds[0]);
    assert_string_equal(rows[0].best_file, "best.0.8.chr");
    free(rows);
    /* error = sqrt(error_metric / cared) in results.csv and pareto.0.csv */
    double e_pw, e_metric;
    const char *row = strchr(res, '\n') + 1;
    assert_int_equal(sscanf(row, "%*d,%*g,%*g,%*[^,],%*d,%lf,%lf", &e_pw, &e_metric), 2);
    assert_true(fabs(e_pw - sqrt(e_metric / (double)cared)) < 1e-9);
    char *par = read_text(a, "pareto.0.csv");
    assert_non_null(strstr(par, "error,error_metric,energy_pj,"));
    double *xy = NULL;
    int np = 0;
    assert_int_equal(cgp_pareto_load_xy(a, 0, &xy, &np, NULL), CGPC_OK);
    assert_true(np >= 1 && xy[0] <= 255);
    free(xy);
    free(par);
    free(res);
    /* an older cgpc's directory: thresholds in the metric, files named by them */
    write_text(a, "results.csv", CGP_RESULTS_HEADER_V1 "0,2560,no,100,9,0,0,0,0,0,0,best.0.2560.chr\n");
    struct cgpc_err err = {0};
    assert_int_equal(cgp_results_load(a, &rows, &n, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "older cgpc"));
    memset(&err, 0, sizeof err);
    assert_int_equal(cgp_evolve_dir(NULL, NULL, &t, a, 1, NULL, NULL, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "older cgpc"));
    rm_rf(a);
    cgp_dataset_free(&ds);
}

/* ---- merging run directories (cgpc pbs merge) ----------------------------------------------- */

/* dir/part<b>: a finished part with runs [first, first+count), one stray run file and `model`
 * as its model record. */
static void merge_part_dir(const char *dir, int b, int first, int count, const char *model,
                           char *part, size_t cap)
{
    snprintf(part, cap, "%s/part%d", dir, b);
    assert_int_equal(cgpc_mkdirs(part, NULL), CGPC_OK);
    char name[64], rows[1024] = CGP_RESULTS_HEADER;
    for (int r = first; r < first + count; r++) {
        snprintf(name, sizeof name, "best.%d.4.chr", r);
        write_text(part, name, "circuit\n");
        snprintf(name, sizeof name, "pareto.%d.csv", r);
        write_text(part, name, CGP_PARETO_HEADER);
        size_t n = strlen(rows);
        snprintf(rows + n, sizeof rows - n, "%d,4,16,yes,1,0,0,0,0,0,0,0,0,best.%d.4.chr\n", r, r);
    }
    write_text(part, "best.9.4.chr", "stray\n"); /* not this part's run */
    write_text(part, "results.csv", rows);
    write_text(part, "model.txt", model);
    struct cgp_params p;
    cgp_params_default(&p);
    p.rows = 2;
    p.runs = count;
    p.first_run = first;
    assert_int_equal(cgp_config_save(part, &p, NULL), CGPC_OK);
    write_text(part, "experiment.exp", "cgpc-experiment 1\n");
    write_text(part, "data.txt", "data\n");
}

static void rundir_merge__parts__one_directory_with_every_run(void **state)
{
    (void)state;
    char dir[256], p0[512], p1[512], out[512];
    make_tmpdir(dir, sizeof dir, "merge");
    assert_int_equal(cgpc_mkdirs(dir, NULL), CGPC_OK);
    merge_part_dir(dir, 0, 0, 2, "cgpc-model-record 1\nfnv1a64 1\n", p0, sizeof p0);
    merge_part_dir(dir, 1, 2, 3, "cgpc-model-record 1\nfnv1a64 1\n", p1, sizeof p1);
    struct cgp_rundir_part parts[2] = {{p0, 0, 2}, {p1, 2, 3}};
    snprintf(out, sizeof out, "%s/merged", dir);
    assert_int_equal(cgp_rundir_merge(parts, 2, out, 5, 0, NULL), CGPC_OK);
    char *text = read_text(out, "results.csv");
    assert_string_equal(strchr(text, '\n') + 1, "0,4,16,yes,1,0,0,0,0,0,0,0,0,best.0.4.chr\n"
                                                "1,4,16,yes,1,0,0,0,0,0,0,0,0,best.1.4.chr\n"
                                                "2,4,16,yes,1,0,0,0,0,0,0,0,0,best.2.4.chr\n"
                                                "3,4,16,yes,1,0,0,0,0,0,0,0,0,best.3.4.chr\n"
                                                "4,4,16,yes,1,0,0,0,0,0,0,0,0,best.4.4.chr\n");
    free(text);
    struct cgp_params p;
    cgp_params_default(&p);
    p.rows = 2;
    p.runs = 5;
    assert_int_equal(cgp_config_save(p0, &p, NULL), CGPC_OK); /* what one run of all 5 writes */
    char *want = read_text(p0, "config.txt");
    text = read_text(out, "config.txt");
    assert_string_equal(text, want);
    free(text);
    free(want);
    p.runs = 2;
    assert_int_equal(cgp_config_save(p0, &p, NULL), CGPC_OK);
    for (int r = 0; r < 5; r++) {
        char name[64];
        snprintf(name, sizeof name, "best.%d.4.chr", r);
        text = read_text(out, name);
        assert_string_equal(text, "circuit\n");
        free(text);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/best.9.4.chr", out);
    assert_false(cgpc_path_exists(path));
    assert_int_equal(cgp_rundir_run_of_file("statistics.12.csv.gz"), 12);
    assert_int_equal(cgp_rundir_run_of_file("statistics.3.csv.part"), 3);
    assert_int_equal(cgp_rundir_run_of_file("best.x.4.chr"), -1);
    assert_int_equal(cgp_rundir_run_of_file("pareto.1.2.csv"), -1);
    assert_int_equal(cgp_rundir_run_of_file("results.csv"), -1);
    /* the directories arguments stand for: itself, or its train sub-directories in name order */
    char *args[3] = {p1, dir, "/nonexistent/x"};
    write_text(p1, "experiment.exp", "cgpc-experiment 1\n");
    char **list;
    int n_list;
    assert_int_equal(cgp_rundir_list(args, 3, &list, &n_list, NULL), CGPC_OK);
    assert_int_equal(n_list, 5);
    assert_string_equal(list[0], p1);
    assert_string_equal(list[1], out); /* merged/ holds a copy of experiment.exp */
    assert_string_equal(list[2], p0);
    assert_string_equal(list[3], p1);
    assert_string_equal(list[4], "/nonexistent/x");
    cgp_rundir_list_free(list, n_list);
    /* a part of another run (other parameters) */
    struct cgpc_err err = {0};
    p.rows = 3;
    p.runs = 3;
    p.first_run = 2;
    assert_int_equal(cgp_config_save(p1, &p, NULL), CGPC_OK);
    snprintf(out, sizeof out, "%s/merged1", dir);
    assert_int_equal(cgp_rundir_merge(parts, 2, out, 5, 0, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "config.txt: rows is 3, part 0 has 2: the parts are not one run"));
    p.rows = 2;
    assert_int_equal(cgp_config_save(p1, &p, NULL), CGPC_OK);
    /* a part evolved on another model file */
    write_text(p1, "model.txt", "cgpc-model-record 1\nfnv1a64 2\n");
    snprintf(out, sizeof out, "%s/merged2", dir);
    assert_int_equal(cgp_rundir_merge(parts, 2, out, 5, 0, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "did not use the same model file"));
    snprintf(path, sizeof path, "%s/results.csv", out);
    assert_false(cgpc_path_exists(path));
    rm_rf(dir);
}

/* ---- circuit tokens ------------------------------------------------------------------------- */

/* Costs from the ascending active list (cgp_circuit_cost, what the evolver uses) equal the
 * depth-first decode's (cgp_scratch_cost, what cgp_measure reports) bit for bit, and the
 * energy equals the per-operator sum, on random circuits over every operator, with costs
 * chosen so that summation order would show in the last bits. */
static void circuit_cost__any_topological_order__same_doubles(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    for (int op = 0; op < CGPC_OP_COUNT; op++) /* awkward decimals */
        t.op[op].energy_pj = 0.1 + 0.0137 * op + 1e-9 / (op + 3);
    int32_t ops[CGPC_OP_COUNT];
    for (int i = 0; i < CGPC_OP_COUNT; i++)
        ops[i] = i;
    for (int trial = 0; trial < 40; trial++) {
        int ni = 1 + trial % 4, no = 1 + trial % 5, arity = trial % 2 ? 4 : 2;
        struct cgp_dataset ds;
        random_dataset(&ds, ni, no, 5, 300 + (uint64_t)trial);
        struct cgp_shape s;
        cgp_shape_make(&s, 2 + trial % 5, 10 + trial % 30, 1 + trial % 6, ni, no, arity);
        struct cgp_fset f;
        cgp_fset_make(&f, ops, arity == 4 ? CGPC_OP_COUNT : CGPC_OP_COUNT - 1);
        struct cgp_genome g;
        assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
        cgpc_rng r;
        cgpc_rng_seed(&r, 11, (uint64_t)trial, 0);
        cgp_genome_randomize(&g, &r);
        struct cgp_scratch sc;
        assert_int_equal(cgp_scratch_init(&sc, &s, &ds, NULL), CGPC_OK);
        cgp_scratch_decode(&sc, &s, g.genes);
        struct cgp_fitness fa = {0}, fb = {0};
        cgp_scratch_cost(&sc, &s, g.genes, &t, &fa);
        int32_t *asc = malloc((size_t)s.n_nodes * sizeof *asc);
        uint8_t *on = calloc((size_t)s.n_nodes, 1);
        for (int i = 0; i < sc.n_active; i++)
            on[sc.order[i]] = 1;
        int n = 0, count[CGPC_OP_COUNT] = {0};
        for (int k = 0; k < s.n_nodes; k++)
            if (on[k]) {
                asc[n++] = k;
                count[g.genes[(size_t)k * (arity + 1) + arity]]++;
            }
        cgp_circuit_cost(&s, g.genes, asc, n, &t, sc.arrival, sc.depth, &fb);
        assert_true(fa.energy_pj == fb.energy_pj && fa.delay_ns == fb.delay_ns &&
                    fa.area_um2 == fb.area_um2);
        assert_int_equal(fa.gates, fb.gates);
        assert_int_equal(fa.depth, fb.depth);
        assert_int_equal(fb.costed, 1);
        double e = 0;
        for (int op = 0; op < CGPC_OP_COUNT; op++)
            e += count[op] * t.op[op].energy_pj;
        assert_true(e == fb.energy_pj);
        free(asc);
        free(on);
        cgp_scratch_free(&sc);
        cgp_genome_free(&g);
        cgp_dataset_free(&ds);
    }
}

static void token__random_circuits__parse_back_to_equal_outputs_and_costs(void **state)
{
    (void)state;
    struct cgp_params p;
    cgp_params_default(&p);
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    int32_t ops[CGPC_OP_COUNT];
    for (int i = 0; i < CGPC_OP_COUNT; i++)
        ops[i] = i; /* every operator, muxes too */
    for (int trial = 0; trial < 60; trial++) {
        int ni = trial % 4, no = 1 + trial % 5, arity = trial % 2 ? 4 : 2;
        struct cgp_dataset ds;
        random_dataset(&ds, ni, no, 37, 100 + (uint64_t)trial);
        struct cgp_shape s;
        cgp_shape_make(&s, 1 + trial % 3, 2 + trial % 7, 1 + trial % 4, ni, no, arity);
        struct cgp_fset f;
        cgp_fset_make(&f, ops, arity == 4 ? CGPC_OP_COUNT : CGPC_OP_COUNT - 1);
        struct cgp_genome g, back;
        assert_int_equal(cgp_genome_init(&g, &s, &f, NULL), CGPC_OK);
        cgpc_rng r;
        cgpc_rng_seed(&r, 9, (uint64_t)trial, 0);
        cgp_genome_randomize(&g, &r);
        struct cgp_scratch sc;
        assert_int_equal(cgp_scratch_init(&sc, &s, &ds, NULL), CGPC_OK);
        cgp_scratch_decode(&sc, &s, g.genes);
        char *token = cgp_circuit_token(&g, sc.order, sc.n_active);
        assert_non_null(token);
        struct cgpc_err err = {0};
        if (cgp_circuit_token_parse(token, ni, &back, &err) != CGPC_OK)
            fail_msg("%s: %s", token, err.msg);
        int8_t *a = malloc((size_t)no * 37), *b = malloc((size_t)no * 37);
        assert_int_equal(cgp_eval_reference(&g, &ds, a, NULL), CGPC_OK);
        assert_int_equal(cgp_eval_reference(&back, &ds, b, NULL), CGPC_OK);
        assert_memory_equal(a, b, (size_t)no * 37);
        struct cgp_fitness fa, fb;
        assert_int_equal(cgp_measure(&g, &ds, &t, CGP_ERROR_SE, &fa, NULL), CGPC_OK);
        assert_int_equal(cgp_measure(&back, &ds, &t, CGP_ERROR_SE, &fb, NULL), CGPC_OK);
        assert_true(fa.err_sum == fb.err_sum && fa.energy_pj == fb.energy_pj &&
                    fa.delay_ns == fb.delay_ns && fa.area_um2 == fb.area_um2);
        assert_int_equal(fa.gates, fb.gates);
        assert_int_equal(fa.depth, fb.depth);
        /* and the parsed circuit writes the same token (node names aside: positions) */
        free(a);
        free(b);
        free(token);
        cgp_scratch_free(&sc);
        cgp_genome_free(&g);
        cgp_genome_free(&back);
        cgp_dataset_free(&ds);
    }
}

static void token__bad_text__clear_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"n7=add(i0);out=n7", "add takes 2 inputs"},
        {"n7=frob(i0,i1);out=n7", "bad node 'n7=frob(i0,i1)'"},
        {"out=n3", "bad output list"},
        {"n1=neg(i0)", "no 'out=' list"},
        {"n1=neg(i9);out=n1", "neg takes 1 inputs"},
        {"n1=neg(i0);n1=not(i0);out=n1", "node n1 defined twice"},
        {"out=i0;n1=neg(i0)", "one 'out=' list at the end"},
        {"n1=neg(n2);n2=not(i0);out=n1", "neg takes 1 inputs"},
        {"n99999999999=neg(i0);out=i0", "bad node"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cgp_genome g;
        struct cgpc_err err = {0};
        assert_int_equal(cgp_circuit_token_parse(bad[i][0], 2, &g, &err), CGPC_ERR_FORMAT);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("'%s': '%s' lacks '%s'", bad[i][0], err.msg, bad[i][1]);
    }
    struct cgp_genome g;
    assert_int_equal(cgp_circuit_token_parse("out=i1,i0", 2, &g, NULL), CGPC_OK);
    assert_int_equal(g.shape.n_outputs, 2);
    cgp_genome_free(&g);
}

/* ---- the statistics journal ------------------------------------------------------------- */

struct journal_rows {
    char *circuit[16];
    int64_t generation[16]; /* up to 16 rows */
    int n;
};

static int journal_collect(void *user, const char *fields, int run, double threshold,
                           int64_t generation, const char *circuit)
{
    struct journal_rows *r = user;
    char want[64];
    /* run .. depth, then (v3) threshold_metric and error_metric */
    int len = snprintf(want, sizeof want, "0,2.5,%" PRId64 ",0.1,1,2,3,4,5,6", generation);
    assert_memory_equal(fields, want, (size_t)len);
    assert_true(fields[len] == '\0' || strcmp(fields + len, ",6.25,1") == 0);
    assert_int_equal(run, 0);
    assert_true(threshold == 2.5);
    assert_true(r->n < 16);
    r->generation[r->n] = generation;
    r->circuit[r->n++] = strdup(circuit);
    return 0;
}

static void journal_rows_free(struct journal_rows *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->circuit[i]);
    r->n = 0;
}

/* Circuits written as full tokens or deltas read back exactly as the evolver wrote them (its
 * node order included); an unchanged circuit costs "~"; resuming continues the same deltas;
 * v1 journals still read; bad input is an error naming the line. */
static void journal__full_and_delta_rows__read_back_exactly(void **state)
{
    (void)state;
    char many[3][600];
    int n0 = 0, n1 = 0;
    n0 += snprintf(many[0], sizeof many[0], "n4=sub(i0,i1);n2=add(i1,i0);n6=add(n4,n2);out=n6");
    n1 += snprintf(many[1], sizeof many[1], "n4=sub(i0,i1);n2=add(i1,i0);n6=add(n4,n2);out=n6");
    for (int o = 0; o < 60; o++) { /* many outputs: the delta of one output change is short */
        n0 += snprintf(many[0] + n0, sizeof many[0] - (size_t)n0, ",%s", o % 2 ? "n2" : "i1");
        n1 += snprintf(many[1] + n1, sizeof many[1] - (size_t)n1, ",%s",
                       o == 33 ? "n4" : o % 2 ? "n2" : "i1");
    }
    /* output 0 reads n2 instead: n6 drops out (nodes in the walk order from the outputs) */
    snprintf(many[2], sizeof many[2], "n2=add(i1,i0);n4=sub(i0,i1);out=n2%s",
             strstr(many[1], "out=n6") + 6);
    const char *seq[] = {
        "n0=add(i0,i1);n3=neg(n0);out=n3,i1",
        "n0=add(i0,i1);n3=neg(n0);out=n3,i1",                   /* unchanged */
        "n0=add(i0,i1);n2=shl1(n0);n3=neg(n2);out=n3,n0",       /* add, change, output */
        "n1=const1();n3=neg(n1);out=n3,n1",                     /* removes */
        "n4=sub(i0,i1);n2=add(i1,i0);n6=add(n4,n2);out=n6,n2",  /* not in index order */
        many[0],
        many[1],
        many[2],
    };
    const int n = (int)(sizeof seq / sizeof seq[0]);
    struct cgp_journal_enc *enc;
    assert_int_equal(cgp_journal_enc_new(&enc, NULL), CGPC_OK);
    char text[8192];
    int len = snprintf(text, sizeof text, CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n");
    int resume_at = 0;
    for (int i = 0; i < n; i++) {
        if (i == 4) { /* as after a resume from a checkpoint taken here */
            resume_at = len;
            cgp_journal_enc_free(enc);
            assert_int_equal(cgp_journal_enc_new(&enc, NULL), CGPC_OK);
            struct journal_rows kept = {0};
            assert_int_equal(cgp_journal_read(text, "part", journal_collect, &kept, NULL),
                             CGPC_OK);
            assert_int_equal(kept.n, 4);
            assert_int_equal(cgp_journal_enc_set(enc, kept.circuit[3], NULL), CGPC_OK);
            journal_rows_free(&kept);
        }
        char *field = cgp_journal_enc_next(enc, seq[i]);
        assert_non_null(field);
        if (i == 0)
            assert_string_equal(field, seq[0]);
        if (i == 1)
            assert_string_equal(field, "~");
        if (i == 6)
            assert_string_equal(field, "~o34=n4"); /* output 0 is n6 */
        if (i == 7)
            assert_string_equal(field, "~-n6;o0=n2");
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "0,2.5,%d,0.1,1,2,3,4,5,6,6.25,1,\"%s\"\n", 10 * i, field);
        free(field);
    }
    assert_true(resume_at > 0);
    cgp_journal_enc_free(enc);
    struct journal_rows rows = {0};
    assert_int_equal(cgp_journal_read(text, "stats", journal_collect, &rows, NULL), CGPC_OK);
    assert_int_equal(rows.n, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(rows.circuit[i], seq[i]);
        assert_int_equal(rows.generation[i], 10 * i);
    }
    journal_rows_free(&rows);

    /* v1: no magic line, unquoted circuits */
    const char *v1 = "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,"
                     "depth,circuit\n0,2.5,70,0.1,1,2,3,4,5,6,n0=add(i0,i1);out=n0,i1\n";
    assert_int_equal(cgp_journal_read(v1, "old", journal_collect, &rows, NULL), CGPC_OK);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.circuit[0], "n0=add(i0,i1);out=n0,i1");
    journal_rows_free(&rows);
    /* v2: magic line, quoted circuits, no _metric columns */
    const char *v2 = "# cgpc-statistics v2\n" CGP_JOURNAL_HEADER_V2 "\n"
                     "0,2.5,70,0.1,1,2,3,4,5,6,\"n0=add(i0,i1);out=n0,i1\"\n";
    assert_int_equal(cgp_journal_read(v2, "old", journal_collect, &rows, NULL), CGPC_OK);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.circuit[0], "n0=add(i0,i1);out=n0,i1");
    journal_rows_free(&rows);
    assert_int_equal(cgp_journal_version(v1), 1);
    assert_int_equal(cgp_journal_version(v2), 2);
    assert_int_equal(cgp_journal_version(text), 3);
    assert_int_equal(cgp_journal_version("hello\n"), -1);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"# cgpc-statistics v4\n", "stats:1: statistics format version 4"},
        {CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER_V2 "\n0,2.5,1,0.1,1,2,3,4,5,6,\"out=i0\"\n",
         "stats:2: expected the header"},
        {CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n0,2.5,1,0.1,1,2,3,4,5,6,6.25,1,\"~n1=neg(i0)\"\n",
         "stats:3: bad circuit delta: no full circuit above it"},
        {CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n0,2.5,1,0.1,1,2,3,4,5,6,6.25,1,\"out=i0\"\n"
                           "0,2.5,2,0.1,1,2,3,4,5,6,6.25,1,\"~-n4\"\n",
         "stats:4: bad circuit"},
        {CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n0,2.5,1,0.1,1,2,3\n", "stats:3: expected 13"},
        {CGP_JOURNAL_MAGIC "\n" CGP_JOURNAL_HEADER "\n0,2.5,1,0.1,1,2,3,4,5,6,6.25,1,out=i0\n",
         "stats:3: expected the circuit in double quotes"},
        {"hello\n", "stats:1: expected the header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cgpc_err err = {0};
        assert_int_equal(cgp_journal_read(bad[i].text, "stats", journal_collect, &rows, &err),
                         CGPC_ERR_FORMAT);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
        journal_rows_free(&rows);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(op_scalar__int8_edges__match_definition),
        cmocka_unit_test(op_scalar__known_values__hardware_semantics),
        cmocka_unit_test(op_lanes__simd_random__equals_scalar),
        cmocka_unit_test(error_sum__random__every_path_equals_scalar),
        cmocka_unit_test(decode__hand_built__active_in_topological_order),
        cmocka_unit_test(eval__random_circuits__every_path_equals_reference),
        cmocka_unit_test(mutator__random_u__equals_reference_gene_value),
        cmocka_unit_test(mutator_values__vector_path__equals_scalar),
        cmocka_unit_test(eval_one_item__every_op_every_pair__equals_scalar),
        cmocka_unit_test(neutral__inactive_genes__not_evaluated_and_fitness_unchanged),
        cmocka_unit_test(positions__relabelling__bijection_used_genes_first),
        cmocka_unit_test(search__easy_functions__reaches_zero_error),
        cmocka_unit_test(multiplex__per_layer_constants__solved_only_with_muxes),
        cmocka_unit_test(stops__patience_signal_and_progress__honoured),
        cmocka_unit_test(lazy_values__vs_full_application__identical_search),
        cmocka_unit_test(threads__one_vs_two__bit_identical),
        cmocka_unit_test(threads__speculation__same_search_as_one_thread),
        cmocka_unit_test(threads__by_counted_work__only_long_generations),
        cmocka_unit_test(positions__vector_path__equals_scalar_and_definition),
        cmocka_unit_test(resume__split_at_half__equals_uninterrupted),
        cmocka_unit_test(resume__crash_after_statistics_compressed__completes),
        cmocka_unit_test(checkpoint__corrupt_fields__refused_naming_line_and_field),
        cmocka_unit_test(checkpoint__fuzz_corpus__every_file_refused),
        cmocka_unit_test(genome_check__unused_input_gene_out_of_range__rejected),
        cmocka_unit_test(rundir_merge__parts__one_directory_with_every_run),
        cmocka_unit_test(circuit_cost__any_topological_order__same_doubles),
        cmocka_unit_test(token__random_circuits__parse_back_to_equal_outputs_and_costs),
        cmocka_unit_test(token__bad_text__clear_errors),
        cmocka_unit_test(thresholds__chain_and_independent__start_points_and_flags),
        cmocka_unit_test(stages__independent_on_threads__files_equal_one_thread),
        cmocka_unit_test(units__se_run__per_weight_names_and_columns_old_dirs_refused),
        cmocka_unit_test(value_slots__any_output_count__same_error_as_expanded),
        cmocka_unit_test(dataset__text_round_trip__equal),
        cmocka_unit_test(dataset__bad_text__error_names_line),
        cmocka_unit_test(chromosome__round_trip_and_bad_input__equal_or_clear_error),
        cmocka_unit_test(fitness__threshold_then_costs__ordered),
        cmocka_unit_test(params__table__defaults_ranges_and_file_round_trip),
        cmocka_unit_test(journal__full_and_delta_rows__read_back_exactly),
    };
    return cmocka_run_group_tests_name("cgp", tests, NULL, NULL);
}
