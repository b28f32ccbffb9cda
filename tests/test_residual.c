/* test_residual.c - cmocka suite for the residual (predictive) mode of issue 18: residual
 * symbols, Huffman code lengths, table and stream bits of a hand-worked example (common/resid.h,
 * compress/residual.h); the cgpc-residual file of a hand-built predictor on a hand-made layer,
 * byte for byte (exp/resfile.h); decode(encode) bit-exact for e = 0 (lossless) and within e for
 * e = 1, 2, 4 on a random layer and circuit; corrupt files refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "cgp/cgp.h"
#include "common/resid.h"
#include "common/rng.h"
#include "compress/huffman.h"
#include "compress/residual.h"
#include "energy/energy.h"
#include "exp/resfile.h"

/* The hand-made layer: predictions p (= i0 + i1 of the items below), true weights w, and
 * residuals r = w - p = 0 0 0 1 -1 0 2 0. */
static const int8_t hand_p[8] = {10, -3, 7, 0, 20, -128, 100, 1};
static const int8_t hand_w[8] = {10, -3, 7, 1, 19, -128, 102, 1};

static void symbols__bounds__quantized_and_rebuilt_within_e(void **state)
{
    (void)state;
    /* e = 0 wraps mod 256: w = 127, p = -128 -> r = 255 -> symbol -1, rebuilt exactly */
    assert_int_equal(cgpc_resid_symbol(127, -128, 0), -1);
    assert_int_equal(cgpc_resid_rebuild(-128, -1, 0), 127);
    /* e = 1: steps of 3, q = floor((r + 1) / 3) */
    assert_int_equal(cgpc_resid_symbol(2, 0, 1), 1);
    assert_int_equal(cgpc_resid_symbol(1, 0, 1), 0);
    assert_int_equal(cgpc_resid_symbol(-1, 0, 1), 0);
    assert_int_equal(cgpc_resid_symbol(-2, 0, 1), -1);
    assert_int_equal(cgpc_resid_symbol(-128, 127, 1), -85);
    /* rebuilt is clamped to int8 */
    assert_int_equal(cgpc_resid_rebuild(126, 1, 2), 127);
    assert_int_equal(cgpc_resid_rebuild(-126, -1, 4), -128);
    for (int e = 0; e <= 8; e++)
        for (int w = -128; w <= 127; w++)
            for (int p = -128; p <= 127; p += 7) {
                int q = cgpc_resid_symbol(w, p, e);
                assert_true(q >= -128 && q <= 127);
                int d = cgpc_resid_rebuild(p, q, e) - w;
                assert_true(d >= -e && d <= e);
            }
}

static void code__hand_example__lengths_table_stream_bytes(void **state)
{
    (void)state;
    /* histogram: 0 x5, 1, -1, 2 x1. Merges: (-1, 1) -> 2, (2, that) -> 3, (0, that): lengths
     * 0:1, 2:2, -1:3, 1:3; canonical codes 0 -> 0, 2 -> 10, -1 -> 110, 1 -> 111.
     * table: lo = -1, span 4: 16 + 4 x 5 = 36 bits; stream 5x1 + 2 + 3 + 3 = 13 bits. */
    struct cpr_resid_code c;
    int8_t sym[8];
    assert_int_equal(cpr_resid_plan(hand_w, hand_p, 8, 0, sym, &c, NULL), CGPC_OK);
    const int8_t want_sym[8] = {0, 0, 0, 1, -1, 0, 2, 0};
    assert_memory_equal(sym, want_sym, 8);
    assert_int_equal(c.len[cgpc_resid_index(0)], 1);
    assert_int_equal(c.len[cgpc_resid_index(2)], 2);
    assert_int_equal(c.len[cgpc_resid_index(-1)], 3);
    assert_int_equal(c.len[cgpc_resid_index(1)], 3);
    assert_int_equal(c.lo, -1);
    assert_int_equal(c.span, 4);
    assert_int_equal(c.table_bits, 36);
    assert_int_equal(c.stream_bits, 13);
    assert_int_equal(c.bits, 49);
    assert_true(fabs(c.entropy_bits - (5 * log2(8.0 / 5) + 3 * 3)) < 1e-9);
    assert_int_equal(c.max_abs_error, 0);
    struct cpr_bitw bw;
    cpr_bitw_init(&bw);
    assert_int_equal(cpr_resid_write(&c, sym, &bw, NULL), CGPC_OK);
    assert_int_equal(bw.nbits, 49);
    /* FF 03 | 00011 00001 00011 00010 | 0 0 0 111 110 0 10 0 */
    const uint8_t want[7] = {0xff, 0x03, 0x18, 0x46, 0x21, 0xf2, 0x00};
    assert_memory_equal(bw.buf, want, 7);
    int8_t out[8];
    struct cpr_bitr br;
    cpr_bitr_init(&br, bw.buf, bw.nbits);
    uint64_t used;
    assert_int_equal(cpr_resid_read(&br, 8, 0, hand_p, out, &used, NULL), CGPC_OK);
    assert_int_equal(used, 49);
    assert_memory_equal(out, hand_w, 8);
    cpr_bitw_free(&bw);
    /* e = 1: q = 0 except r = 2 -> 1; rebuilt p + 3q, within 1 */
    assert_int_equal(cpr_resid_plan(hand_w, hand_p, 8, 1, sym, &c, NULL), CGPC_OK);
    const int8_t want_q[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(sym, want_q, 8);
    assert_int_equal(c.max_abs_error, 1);
    assert_int_equal(c.bits, 16 + 2 * 5 + 8); /* lengths 1, 1: one bit per residual */
    assert_int_equal(cpr_resid_plan(hand_w, hand_p, 8, 128, sym, &c, NULL), CGPC_ERR_ARG);
}

static uint64_t fnv(const int8_t *v, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++)
        h = (h ^ (uint8_t)v[i]) * 0x100000001b3ull;
    return h;
}

/* The hand-made layer as a data set of 8 items, inputs (i0, i1) with i0 + i1 = hand_p. */
static void hand_dataset(struct cgp_dataset *ds)
{
    int8_t in[16], target[8];
    for (int d = 0; d < 8; d++) {
        in[2 * d] = (int8_t)(hand_p[d] / 2);
        in[2 * d + 1] = (int8_t)(hand_p[d] - hand_p[d] / 2);
        target[d] = hand_w[d];
    }
    assert_int_equal(cgp_dataset_from_arrays(ds, 2, 1, 8, in, target, NULL, NULL), CGPC_OK);
}

static void file__hand_predictor__exact_bytes_and_decoded(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    hand_dataset(&ds);
    struct cgp_genome g;
    assert_int_equal(cgp_circuit_token_parse("n7=add(i0,i1);out=n7", 2, &g, NULL), CGPC_OK);
    int8_t p[8];
    assert_int_equal(cgp_eval_reference(&g, &ds, p, NULL), CGPC_OK);
    assert_memory_equal(p, hand_p, 8);
    unsigned char *buf;
    size_t len;
    struct exp_resid_info info;
    assert_int_equal(exp_resid_pack(&g, hand_w, p, 8, 0, "x", &buf, &len, &info, NULL),
                     CGPC_OK);
    /* circuit: 1 function (0 bits), node 0's pins in 1 bit each (i0 = 0, i1 = 1), the output
     * in ceil(log2 3) = 2 bits (node 0 = source 2): 0 1 10; then the 49 residual bits */
    assert_int_equal(info.active, 1);
    assert_int_equal(info.circuit_bits, 4);
    assert_int_equal(info.code.bits, 49);
    assert_int_equal(info.stored_bits, 53);
    assert_int_equal(info.checksum, fnv(hand_w, 8));
    assert_int_equal(info.header_bytes, 58 + 2 + 3 + 4 + 1);
    assert_int_equal(len, 68 + 7);
    unsigned char want[75] = {'C', 'G', 'P', 'C', 'R', 'E', 'S', 0, 1, 0, 0, 0, 0, 0,
                              2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0,
                              4, 0, 0, 0, 0, 0, 0, 0, 49, 0, 0, 0, 0, 0, 0, 0};
    uint64_t h = fnv(hand_w, 8);
    for (int i = 0; i < 8; i++)
        want[50 + i] = (unsigned char)(h >> (8 * i));
    const unsigned char tail[15] = {3, 0, 'a', 'd', 'd', 1, 0, 0, 0, 'x',
                                    0x6f, 0xf0, 0x31, 0x84, 0x62};
    memcpy(want + 58, tail, sizeof tail);
    want[73] = 0x1f;
    want[74] = 0x20;
    assert_memory_equal(buf, want, 75);
    struct exp_resid_file f;
    assert_int_equal(exp_resid_unpack(buf, len, "hand", &f, NULL), CGPC_OK);
    assert_string_equal(f.experiment, "x");
    assert_string_equal(f.functions, "add");
    int8_t q[8], out[8];
    assert_int_equal(cgp_eval_reference(&f.circuit, &ds, q, NULL), CGPC_OK);
    assert_memory_equal(q, hand_p, 8);
    assert_int_equal(exp_resid_rebuild(&f, q, out, NULL), CGPC_OK);
    assert_memory_equal(out, hand_w, 8);
    /* a wrong prediction fails the checksum; a cut or changed file is refused */
    q[3]++;
    assert_int_equal(exp_resid_rebuild(&f, q, out, NULL), CGPC_ERR_FORMAT);
    exp_resid_file_free(&f);
    struct exp_resid_file bad;
    assert_int_equal(exp_resid_unpack(buf, len - 1, "cut", &bad, NULL), CGPC_ERR_FORMAT);
    buf[8] = 2;
    assert_int_equal(exp_resid_unpack(buf, len, "v2", &bad, NULL), CGPC_ERR_FORMAT);
    buf[8] = 1;
    buf[0] = 'X';
    assert_int_equal(exp_resid_unpack(buf, len, "magic", &bad, NULL), CGPC_ERR_FORMAT);
    free(buf);
    cgp_genome_free(&g);
    cgp_dataset_free(&ds);
}

static void round_trip__random_layer__exact_and_within_bound(void **state)
{
    (void)state;
    enum { NI = 5, NO = 7, D = 300 };
    cgpc_rng r;
    cgpc_rng_seed(&r, 18, 1, 2);
    int8_t in[D * NI], w[D * NO] = {0};
    for (int i = 0; i < D * NI; i++)
        in[i] = (int8_t)(cgpc_rng_u64(&r) & 255);
    struct cgp_dataset ds;
    assert_int_equal(cgp_dataset_from_arrays(&ds, NI, NO, D, in, w, NULL, NULL), CGPC_OK);
    struct cgp_shape s;
    cgp_shape_make(&s, 4, 6, 6, NI, NO, 2);
    const int32_t ops[] = {CGPC_OP_ADD, CGPC_OP_SUB, CGPC_OP_SHR1, CGPC_OP_XOR, CGPC_OP_CONST1};
    struct cgp_fset fs;
    cgp_fset_make(&fs, ops, 5);
    struct cgp_genome g;
    assert_int_equal(cgp_genome_init(&g, &s, &fs, NULL), CGPC_OK);
    cgp_genome_randomize(&g, &r);
    int8_t *pred = malloc(NO * D), p[NO * D], out[NO * D];
    assert_int_equal(cgp_eval_reference(&g, &ds, pred, NULL), CGPC_OK);
    for (int i = 0; i < NO * D; i++) { /* weights near the prediction, some far */
        int v = pred[i] + (int)cgpc_rng_below(&r, 9) - 4;
        if (i % 37 == 0)
            v = (int)(cgpc_rng_u64(&r) & 255) - 128;
        w[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    const int bounds[] = {0, 1, 2, 4};
    for (int b = 0; b < 4; b++) {
        unsigned char *buf;
        size_t len;
        struct exp_resid_info info;
        assert_int_equal(exp_resid_pack(&g, w, pred, NO * D, bounds[b], "", &buf, &len, &info,
                                        NULL), CGPC_OK);
        struct exp_resid_file f;
        assert_int_equal(exp_resid_unpack(buf, len, "rt", &f, NULL), CGPC_OK);
        assert_int_equal(cgp_eval_reference(&f.circuit, &ds, p, NULL), CGPC_OK);
        assert_memory_equal(p, pred, NO * D); /* the decoded circuit predicts the same */
        assert_int_equal(exp_resid_rebuild(&f, p, out, NULL), CGPC_OK);
        for (int i = 0; i < NO * D; i++)
            assert_true(abs(out[i] - w[i]) <= bounds[b]);
        if (bounds[b] == 0)
            assert_memory_equal(out, w, NO * D);
        /* re-encoding the decoded circuit gives the same file, byte for byte */
        unsigned char *buf2;
        size_t len2;
        struct exp_resid_info info2;
        assert_int_equal(exp_resid_pack(&f.circuit, w, p, NO * D, bounds[b], "", &buf2, &len2,
                                        &info2, NULL), CGPC_OK);
        assert_int_equal(info2.circuit_bits, info.circuit_bits);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);
        exp_resid_file_free(&f);
        free(buf);
        free(buf2);
    }
    free(pred);
    cgp_genome_free(&g);
    cgp_dataset_free(&ds);
}

/* A circuit over the function set {add, const0} from nodes (compact sources) and one output. */
static void shared_fset_circuit(const struct energy_node *nodes, int n, int32_t out,
                                struct cgp_genome *g)
{
    const int32_t ops[2] = {CGPC_OP_ADD, CGPC_OP_CONST0};
    assert_int_equal(cgp_genome_from_nodes(nodes, n, 2, &out, 1, ops, 2, g, NULL), CGPC_OK);
}

static void fitness_bits__two_hand_circuits__ranked_as_by_hand(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    hand_dataset(&ds);
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* A = add(i0, i1) predicts hand_p: residuals 0 0 0 1 -1 0 2 0, entropy
     * 8 log2 8 - 5 log2 5 = 12.390 bits; circuit: 1 function bit + 2 pins of 1 bit + an output
     * gene of ceil(log2 3) = 2 bits = 5 bits: 17.390 bits. */
    struct energy_node add = {CGPC_OP_ADD, {0, 1, 0, 0}}, zero = {CGPC_OP_CONST0, {0, 0, 0, 0}};
    struct cgp_genome a, b;
    shared_fset_circuit(&add, 1, 2, &a);
    /* B = the wire i0 (= p / 2 rounded to zero: 5 -1 3 0 10 -64 50 0): residuals
     * 5 -2 4 1 9 -64 52 1, seven symbols (1 twice): 8 x 3 - 2 x 1 = 22 bits; no active node, the
     * output gene in ceil(log2 2) = 1 bit: 23 bits. */
    shared_fset_circuit(&zero, 1, 0, &b);
    struct cgp_fitness fa, fb;
    assert_int_equal(cgp_measure_bits(&a, &ds, &t, CGP_ERROR_MSE, 0, &fa, NULL), CGPC_OK);
    assert_int_equal(cgp_measure_bits(&b, &ds, &t, CGP_ERROR_MSE, 0, &fb, NULL), CGPC_OK);
    assert_true(fabs(fa.bits - (5 + 24 - 5 * log2(5.0))) < 1e-9);
    assert_true(fabs(fb.bits - 23) < 1e-9);
    /* bits decide before energy (B has none, A one adder): A is better */
    assert_true(fb.energy_pj < fa.energy_pj);
    assert_true(cgp_fitness_cmp(&fa, &fb, INT64_MAX) < 0);
    assert_true(cgp_fitness_cmp(&fb, &fa, INT64_MAX) > 0);
    /* e = 4 (steps of 9): A's residuals all quantize to 0 (0 bits), B's to 1 0 0 0 1 -7 6 0:
     * 8 log2 8 - 4 log2 4 - 2 log2 2 = 14 bits + 1 = 15; A: 5 bits */
    assert_int_equal(cgp_measure_bits(&a, &ds, &t, CGP_ERROR_MSE, 4, &fa, NULL), CGPC_OK);
    assert_int_equal(cgp_measure_bits(&b, &ds, &t, CGP_ERROR_MSE, 4, &fb, NULL), CGPC_OK);
    assert_true(fabs(fa.bits - 5) < 1e-9);
    assert_true(fabs(fb.bits - 15) < 1e-9);
    assert_int_equal(cgp_measure_bits(&a, &ds, &t, CGP_ERROR_MSE, 128, &fa, NULL), CGPC_ERR_ARG);
    cgp_genome_free(&a);
    cgp_genome_free(&b);
    cgp_dataset_free(&ds);
}

/* The evolver with fitness bits: every stage is reached, the parent's bits are its circuit's
 * (cgp_measure_bits), and a search from a random circuit ends at least as good as add(i0, i1). */
static void evolver_bits__hand_layer__finds_the_predictor(void **state)
{
    (void)state;
    struct cgp_dataset ds;
    hand_dataset(&ds);
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct cgp_params p;
    cgp_params_default(&p);
    assert_int_equal(cgp_params_set_functions(&p, "add,const0", NULL), CGPC_OK);
    p.rows = 1;
    p.cols = 4;
    p.levels_back = 4;
    p.generations = 3000;
    p.fitness = CGP_FITNESS_BITS;
    p.thresholds[0] = 0;
    p.n_thresholds = 1;
    assert_int_equal(cgp_params_check(&p, &ds, NULL), CGPC_OK);
    struct cgp_evolver *ev;
    assert_int_equal(cgp_evolver_init(&ev, &p, &ds, &t, NULL), CGPC_OK);
    cgp_evolver_begin(ev, 0, 0, NULL, 0);
    cgp_evolver_advance(ev, p.generations);
    const struct cgp_fitness *f = cgp_evolver_fitness(ev);
    struct cgp_fitness m;
    assert_int_equal(cgp_measure_bits(cgp_evolver_parent(ev), &ds, &t, CGP_ERROR_MSE, 0, &m,
                                      NULL), CGPC_OK);
    assert_true(fabs(f->bits - m.bits) < 1e-9);
    assert_true(f->bits <= 5 + 24 - 5 * log2(5.0) + 1e-9);
    cgp_evolver_free(ev);
    cgp_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(symbols__bounds__quantized_and_rebuilt_within_e),
        cmocka_unit_test(code__hand_example__lengths_table_stream_bytes),
        cmocka_unit_test(file__hand_predictor__exact_bytes_and_decoded),
        cmocka_unit_test(round_trip__random_layer__exact_and_within_bound),
        cmocka_unit_test(fitness_bits__two_hand_circuits__ranked_as_by_hand),
        cmocka_unit_test(evolver_bits__hand_layer__finds_the_predictor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
