/* test_compress.c - cmocka suite for src/compress: pruning masks and k-means (fixed
 * initialisations) against NumPy golden data (tests/golden/make_compress_golden.py), Huffman
 * code lengths and canonical codes on a hand-worked example, the length limit, the sparse
 * relative-index code on a hand-worked mask, the centroid gradient on a 2-cluster example by
 * hand (library and trainer), masked / shared fine-tuning (pruned weights stay exactly zero,
 * 1 vs 2 threads bit-identical), and cgpc-deep file round trips (LeNet-5 and a BatchNorm
 * MobileNetV2; decoded equals encoded bit for bit) plus corrupt-file rejection; knowledge
 * distillation in the trainer and reduced-width LeNet-5 students. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "common/parallel.h"
#include "common/rng.h"
#include "compress/cmodel.h"
#include "compress/deep.h"
#include "compress/huffman.h"
#include "compress/kmeans.h"
#include "compress/prune.h"
#include "energy/storage.h"
#include "nn/dataset.h"
#include "nn/eval.h"
#include "nn/model.h"
#include "nn/train.h"

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_compress.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* ---- golden file ---------------------------------------------------------------------- */

/* Values of record `name` in tests/golden/compress-golden.txt; returns the count. */
static int golden(const char *name, double *v, int cap)
{
    char path[1024], line[8192];
    const char *root = getenv("CGPC_ROOT");
    snprintf(path, sizeof path, "%s/tests/golden/compress-golden.txt", root ? root : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s: cannot open", path);
    size_t nl = strlen(name);
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            char *p = line + nl + 1, *end;
            n = 0;
            for (double x = strtod(p, &end); end != p && n < cap; x = strtod(p, &end)) {
                v[n++] = x;
                p = end;
            }
            break;
        }
    fclose(f);
    if (n < 0)
        fail_msg("golden record '%s' missing", name);
    return n;
}

static int golden_f(const char *name, float *v, int cap)
{
    double d[256];
    int n = golden(name, d, cap < 256 ? cap : 256);
    for (int i = 0; i < n; i++)
        v[i] = (float)d[i];
    return n;
}

static void golden_mask(const char *name, const uint8_t *got, int n)
{
    double d[256];
    assert_int_equal(golden(name, d, 256), n);
    for (int i = 0; i < n; i++)
        if (got[i] != (uint8_t)d[i])
            fail_msg("%s: position %d: got %d, NumPy %d", name, i, got[i], (int)d[i]);
}

/* ---- pruning ---------------------------------------------------------------------------- */

static void prune_count__rounding__half_up(void **state)
{
    (void)state;
    assert_int_equal(cpr_prune_count(20, 0.35), 7);
    assert_int_equal(cpr_prune_count(10, 0.25), 3); /* 2.5 -> 3 */
    assert_int_equal(cpr_prune_count(10, 0.0), 0);
    assert_int_equal(cpr_prune_count(10, 1.0), 10);
}

static void prune_layer__golden__matches_numpy(void **state)
{
    (void)state;
    float a[20], b[12];
    uint8_t ma[20], mb[12];
    struct cgpc_err err = {0};
    assert_int_equal(golden_f("prune_a", a, 20), 20);
    assert_int_equal(golden_f("prune_b", b, 12), 12);
    assert_int_equal(cpr_prune_layer(a, 20, 0.35, ma, &err), CGPC_OK);
    golden_mask("layer_mask_a_0.35", ma, 20);
    assert_int_equal(cpr_prune_layer(b, 12, 0.6, mb, &err), CGPC_OK);
    golden_mask("layer_mask_b_0.6", mb, 12);
    assert_int_equal(cpr_mask_count(mb, 12), 12 - 7);
    assert_int_equal(cpr_prune_layer(b, 12, 1.5, mb, &err), CGPC_ERR_RANGE);
}

static void prune_global__golden__matches_numpy(void **state)
{
    (void)state;
    float a[20], b[12], thr;
    uint8_t ma[20], mb[12];
    struct cgpc_err err = {0};
    golden_f("prune_a", a, 20);
    golden_f("prune_b", b, 12);
    const float *w[2] = {a, b};
    size_t n[2] = {20, 12};
    uint8_t *m[2] = {ma, mb};
    assert_int_equal(cpr_prune_global(w, n, 2, 0.5, m, &thr, &err), CGPC_OK);
    golden_mask("global_mask_a_0.5", ma, 20);
    golden_mask("global_mask_b_0.5", mb, 12);
    float want;
    golden_f("global_threshold_0.5", &want, 1);
    assert_true(thr == want);
    cpr_mask_apply(a, ma, 20);
    for (int i = 0; i < 20; i++)
        assert_true(ma[i] ? a[i] != 0.0f : a[i] == 0.0f);
}

/* ---- k-means ---------------------------------------------------------------------------- */

static void kmeans_golden(const char *how, enum cpr_init init)
{
    float w[40], c[4], want[4];
    uint8_t mask[40];
    uint16_t assign[40];
    double d[64];
    char name[64];
    struct cgpc_err err = {0};
    golden_f("kmeans_w", w, 40);
    assert_int_equal(golden("kmeans_mask", d, 64), 40);
    for (int i = 0; i < 40; i++)
        mask[i] = (uint8_t)d[i];
    assert_int_equal(cpr_kmeans_init(w, mask, 40, 4, init, 1, c, &err), CGPC_OK);
    snprintf(name, sizeof name, "kmeans_%s_init", how);
    golden_f(name, want, 4);
    for (int j = 0; j < 4; j++)
        if (c[j] != want[j])
            fail_msg("%s init %d: %.9g, NumPy %.9g", how, j, c[j], want[j]);
    int iters;
    assert_int_equal(cpr_kmeans_run(w, mask, 40, 4, 100, c, assign, &iters, &err), CGPC_OK);
    snprintf(name, sizeof name, "kmeans_%s_centroids", how);
    golden_f(name, want, 4);
    for (int j = 0; j < 4; j++)
        if (c[j] != want[j])
            fail_msg("%s centroid %d: %.9g, NumPy %.9g", how, j, c[j], want[j]);
    snprintf(name, sizeof name, "kmeans_%s_assign", how);
    assert_int_equal(golden(name, d, 64), 40);
    for (int i = 0; i < 40; i++)
        if (assign[i] != (uint16_t)d[i])
            fail_msg("%s assignment %d: %d, NumPy %d", how, i, assign[i], (int)d[i]);
    snprintf(name, sizeof name, "kmeans_%s_iters", how);
    golden(name, d, 1);
    assert_int_equal(iters, (int)d[0]);
}

static void kmeans_linear__golden__matches_numpy(void **state)
{
    (void)state;
    kmeans_golden("linear", CPR_INIT_LINEAR);
}

static void kmeans_density__golden__matches_numpy(void **state)
{
    (void)state;
    kmeans_golden("density", CPR_INIT_DENSITY);
}

static void kmeans_random__seed__deterministic_kept_observations(void **state)
{
    (void)state;
    float w[40], c1[8], c2[8], c3[8];
    uint8_t mask[40];
    double d[64];
    struct cgpc_err err = {0};
    golden_f("kmeans_w", w, 40);
    golden("kmeans_mask", d, 64);
    for (int i = 0; i < 40; i++)
        mask[i] = (uint8_t)d[i];
    assert_int_equal(cpr_kmeans_init(w, mask, 40, 8, CPR_INIT_RANDOM, 5, c1, &err), CGPC_OK);
    assert_int_equal(cpr_kmeans_init(w, mask, 40, 8, CPR_INIT_RANDOM, 5, c2, &err), CGPC_OK);
    assert_int_equal(cpr_kmeans_init(w, mask, 40, 8, CPR_INIT_RANDOM, 6, c3, &err), CGPC_OK);
    assert_memory_equal(c1, c2, sizeof c1);
    assert_true(memcmp(c1, c3, sizeof c1) != 0);
    for (int j = 0; j < 8; j++) {
        int found = 0;
        for (int i = 0; i < 40; i++)
            found |= mask[i] && w[i] == c1[j];
        assert_true(found);
        assert_true(j == 0 || c1[j - 1] <= c1[j]);
    }
    memset(mask, 0, sizeof mask);
    assert_int_equal(cpr_kmeans_init(w, mask, 40, 8, CPR_INIT_LINEAR, 5, c1, &err), CGPC_ERR_ARG);
}

static void nearest__ties_and_duplicates__lowest_index(void **state)
{
    (void)state;
    float c[5] = {-1.0f, 0.0f, 0.0f, 1.0f, 1.0f};
    assert_int_equal(cpr_nearest(c, 5, 0.5f), 1);   /* equidistant 0 and 1: lower */
    assert_int_equal(cpr_nearest(c, 5, 0.0f), 1);   /* duplicate 0: first */
    assert_int_equal(cpr_nearest(c, 5, 7.0f), 3);   /* beyond the last, duplicate 1 */
    assert_int_equal(cpr_nearest(c, 5, -9.0f), 0);
    assert_int_equal(cpr_nearest(c, 5, -0.6f), 0);
    assert_int_equal(cpr_nearest(c, 5, -0.4f), 1);
}

/* By hand: w = {0.1, -0.2, 0.3, -0.4, pruned}, clusters {1, 0, 1, 0, -}, gradients
 * {0.5, 1.0, -0.25, 2.0, 9}: centroid 0 gets 1.0 + 2.0 = 3.0, centroid 1 gets 0.5 - 0.25 = 0.25,
 * the pruned weight's 9 goes nowhere. */
static void centroid_grad__two_clusters__by_hand(void **state)
{
    (void)state;
    float g[5] = {0.5f, 1.0f, -0.25f, 2.0f, 9.0f}, gc[2];
    uint16_t a[5] = {1, 0, 1, 0, CPR_PRUNED};
    cpr_centroid_grad(g, a, 5, 2, gc);
    assert_true(gc[0] == 3.0f);
    assert_true(gc[1] == 0.25f);
    float w[5], c[2] = {-0.3f, 0.2f};
    cpr_share_apply(w, a, 5, c);
    assert_true(w[0] == 0.2f && w[1] == -0.3f && w[2] == 0.2f && w[3] == -0.3f && w[4] == 0.0f);
}

/* ---- Huffman and relative indices ---------------------------------------------------------- */

/* CLRS's example: a:45 b:13 c:12 d:16 e:9 f:5 -> merges f+e=14, c+b=25, 14+d=30, 25+30=55,
 * a+55=100: lengths a 1, b c d 3, e f 4; canonical codes a 0, b 100, c 101, d 110, e 1110,
 * f 1111; 45*1 + (13+12+16)*3 + (9+5)*4 = 224 bits. */
static void huffman__hand_example__lengths_and_canonical_codes(void **state)
{
    (void)state;
    uint64_t f[6] = {45, 13, 12, 16, 9, 5};
    uint8_t len[6], want[6] = {1, 3, 3, 3, 4, 4};
    uint32_t code[6], wc[6] = {0x0, 0x4, 0x5, 0x6, 0xe, 0xf};
    struct cgpc_err err = {0};
    assert_int_equal(cpr_huff_lengths(f, 6, len, &err), CGPC_OK);
    assert_memory_equal(len, want, 6);
    cpr_huff_codes(len, 6, code);
    for (int s = 0; s < 6; s++)
        assert_int_equal(code[s], wc[s]);
    assert_int_equal(cpr_huff_stream_bits(f, len, 6), 224);
    /* encode "fadebca" and decode it back */
    int msg[7] = {5, 0, 3, 4, 1, 2, 0};
    struct cpr_bitw w;
    cpr_bitw_init(&w);
    for (int i = 0; i < 7; i++)
        cpr_bitw_put(&w, code[msg[i]], len[msg[i]]);
    assert_int_equal(w.nbits, 4 + 1 + 3 + 4 + 3 + 3 + 1);
    assert_int_equal(w.buf[0], 0xf6); /* 1111 0 110 | 1110 ... */
    struct cpr_huff_dec d;
    struct cpr_bitr r;
    assert_int_equal(cpr_huff_dec_init(&d, len, 6, &err), CGPC_OK);
    cpr_bitr_init(&r, w.buf, w.nbits);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cpr_huff_dec_next(&d, &r), msg[i]);
    assert_int_equal(cpr_huff_dec_next(&d, &r), -1); /* end of stream */
    cpr_bitw_free(&w);
    /* one used symbol: length 1; unused symbols: 0 */
    uint64_t one[3] = {0, 7, 0};
    assert_int_equal(cpr_huff_lengths(one, 3, len, &err), CGPC_OK);
    assert_true(len[0] == 0 && len[1] == 1 && len[2] == 0);
    /* over-subscribed lengths are rejected */
    uint8_t bad[3] = {1, 1, 1};
    assert_int_equal(cpr_huff_dec_init(&d, bad, 3, &err), CGPC_ERR_FORMAT);
}

/* Fibonacci frequencies make a maximally deep tree (length n - 1); the limit must hold and
 * the limited code must still decode. */
static void huffman__fibonacci_frequencies__length_limited(void **state)
{
    (void)state;
    enum { N = 40 };
    uint64_t f[N];
    uint8_t len[N];
    uint32_t code[N];
    struct cgpc_err err = {0};
    f[0] = f[1] = 1;
    for (int i = 2; i < N; i++)
        f[i] = f[i - 1] + f[i - 2];
    assert_int_equal(cpr_huff_lengths(f, N, len, &err), CGPC_OK);
    int maxl = 0;
    for (int i = 0; i < N; i++)
        maxl = len[i] > maxl ? len[i] : maxl;
    assert_true(maxl <= CPR_HUFF_MAX_LEN);
    assert_true(maxl >= 20);
    cpr_huff_codes(len, N, code);
    struct cpr_bitw w;
    cpr_bitw_init(&w);
    for (int s = 0; s < N; s++)
        cpr_bitw_put(&w, code[s], len[s]);
    struct cpr_huff_dec d;
    struct cpr_bitr r;
    assert_int_equal(cpr_huff_dec_init(&d, len, N, &err), CGPC_OK);
    cpr_bitr_init(&r, w.buf, w.nbits);
    for (int s = 0; s < N; s++)
        assert_int_equal(cpr_huff_dec_next(&d, &r), s);
    cpr_bitw_free(&w);
}

/* Kept positions 1, 2, 9, 10 of 12 at r = 2 (F = 3): gaps 2, 1, 7, 1 -> codes 1, 0, then 7 > 3:
 * fillers 3, 3 (padding zeros at 5 and 8) and 0, then 0. */
static void sparse__hand_example__codes_and_back(void **state)
{
    (void)state;
    uint8_t mask[12] = {0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0}, back[12];
    uint16_t codes[12], want[6] = {1, 0, 3, 3, 0, 0};
    size_t kept;
    struct cgpc_err err = {0};
    assert_int_equal(cpr_sparse_encode(mask, 12, 2, NULL), 6);
    assert_int_equal(cpr_sparse_encode(mask, 12, 2, codes), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(codes[i], want[i]);
    assert_int_equal(cpr_sparse_decode(codes, 6, 2, 12, back, &kept, &err), CGPC_OK);
    assert_memory_equal(back, mask, 12);
    assert_int_equal(kept, 4);
    /* r = 1: every gap of 1 is code 0, F = 1 fillers step one zero at a time: gaps 2, 1, 7, 1
     * take 2 + 1 + 7 + 1 codes */
    assert_int_equal(cpr_sparse_encode(mask, 12, 1, codes), 11);
    assert_int_equal(cpr_sparse_decode(codes, 11, 1, 12, back, &kept, &err), CGPC_OK);
    assert_memory_equal(back, mask, 12);
    /* a position past the tensor is rejected */
    uint16_t over[2] = {3, 3};
    assert_int_equal(cpr_sparse_decode(over, 2, 2, 5, back, &kept, &err), CGPC_ERR_FORMAT);
}

/* ---- models ------------------------------------------------------------------------------ */

static void load_mnist_train(struct nn_dataset *ds, int limit)
{
    char dir[1024];
    struct cgpc_err err = {0};
    const char *root = getenv("CGPC_ROOT");
    snprintf(dir, sizeof dir, "%s/data/mnist", root ? root : ".");
    if (nn_dataset_load(dir, NN_SPLIT_TRAIN, ds, &err))
        fail_msg("%s", err.msg);
    nn_dataset_truncate(ds, limit);
}

static void lenet(struct nn_model *m, uint64_t seed)
{
    struct cgpc_err err = {0};
    if (nn_model_init_lenet5(m, &err))
        fail_msg("%s", err.msg);
    nn_model_init_params(m, seed);
}

/* Prune + share without fine-tuning. */
static void compress_plain(struct nn_model *m, double prune, int bits)
{
    struct cpr_opts o;
    struct cgpc_err err = {0};
    struct nn_dataset none;
    memset(&none, 0, sizeof none);
    cpr_opts_defaults(&o);
    o.prune = prune;
    o.bits = bits;
    if (cpr_compress(m, &none, &o, &err))
        fail_msg("%s", err.msg);
}

static void assert_same_model(const struct nn_model *a, const struct nn_model *b)
{
    assert_string_equal(a->arch, b->arch);
    assert_int_equal(a->nlayers, b->nlayers);
    assert_int_equal(a->has_bn, b->has_bn);
    assert_memory_equal(a->arena, b->arena, (size_t)nn_model_param_count(a) * sizeof(float));
    if (a->has_bn)
        assert_memory_equal(a->tarena, b->tarena, a->ntrain * sizeof(float));
}

static void roundtrip(const struct nn_model *m, int huffman, struct cpr_stats *s)
{
    struct nn_model back;
    struct cgpc_err err = {0};
    if (cpr_model_save(m, tmp("m.safetensors"), huffman, s, &err))
        fail_msg("%s", err.msg);
    if (nn_model_load(tmp("m.safetensors"), &back, &err))
        fail_msg("%s", err.msg);
    assert_same_model(m, &back);
    nn_model_free(&back);
}

/* Fuzz finding kept in tests/fuzz/regressions/deep/: a layer shape of 2e9 weights (stored in
 * 0 bits by a one-entry codebook) was allocated before anything bounded it (8 GB malloc). */
static void cmodel_decode__huge_weight_shape__refused_before_allocating(void **state)
{
    (void)state;
    char path[1024];
    const char *root = getenv("CGPC_ROOT");
    snprintf(path, sizeof path, "%s/tests/fuzz/regressions/deep/%s", root ? root : ".",
             "weight-shape-2e9-weights-malloc-8GB");
    struct nn_model m;
    struct cgpc_err err = {0};
    assert_int_equal(nn_model_load(path, &m, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, ".weight.shape': dimension"));
    assert_non_null(strstr(err.msg, "at most 67108864 weights in all layers"));
}

/* NaN weights (a decoded file may hold them; fuzz regression in tests/fuzz/regressions/deep/):
 * the codebook orders them after every number, each payload its own value, and the file
 * round-trips bit for bit instead of failing the encoder's size check. */
static void cmodel_lenet__nan_weights__encoded_bit_for_bit(void **state)
{
    (void)state;
    struct nn_model m;
    struct cpr_stats s;
    lenet(&m, 5);
    compress_plain(&m, 0.5, 2);
    float *w = cpr_layer_weights(&m, &m.layers[0]);
    const uint32_t nan_bits[] = {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7fc00000u};
    for (int i = 0; i < 4; i++)
        memcpy(&w[3 * i + 1], &nan_bits[i], sizeof *w);
    w[20] = -0.0f;
    roundtrip(&m, 0, &s);
    roundtrip(&m, 1, &s);
    /* 2^2 centroids, 3 distinct NaNs, -0.0 (a value), and the zero when dense */
    assert_int_equal(s.layers[0].k, 4 + 3 + 1 + !s.layers[0].sparse);
    nn_model_free(&m);
}

static void cmodel_lenet__pruned_shared__bit_identical_and_sized(void **state)
{
    (void)state;
    struct nn_model m;
    struct cpr_stats plain, huff, again;
    struct cgpc_err err = {0};
    lenet(&m, 3);
    compress_plain(&m, 0.8, 3);
    roundtrip(&m, 0, &plain);
    roundtrip(&m, 1, &huff);
    assert_int_equal(cpr_model_stats(&m, 1, &again, &err), CGPC_OK);
    assert_int_equal(again.total_bits, huff.total_bits);
    assert_true(huff.total_bits < plain.total_bits);
    assert_int_equal(plain.nlayers, 5);
    /* the storage model holds exactly the encoded parts */
    struct storage_model sm;
    storage_model_init(&sm);
    assert_int_equal(cpr_storage_account(&huff, &sm, &err), CGPC_OK);
    assert_int_equal(storage_model_total_bits(&sm), huff.total_bits);
    uint64_t sparse = 0, tables = 0, bias = 0;
    for (int i = 0; i < huff.nlayers; i++) {
        sparse += huff.layers[i].index_bits;
        tables += huff.layers[i].value_table_bits + huff.layers[i].index_table_bits;
        bias += huff.layers[i].bias_bits;
    }
    assert_int_equal(storage_model_kind_bits(&sm, STORAGE_SPARSE_INDEX), sparse);
    assert_int_equal(storage_model_kind_bits(&sm, STORAGE_ENTROPY_TABLE), tables);
    assert_true(tables > 0);
    assert_int_equal(storage_model_kind_bits(&sm, STORAGE_BIAS), bias);
    assert_int_equal(storage_model_layer_bits(&sm, "fc1"), huff.layers[2].total_bits);
    storage_model_free(&sm);
    for (int i = 0; i < plain.nlayers; i++) {
        const struct cpr_layer_stats *l = &plain.layers[i];
        assert_int_equal(l->kept, cpr_prune_count(l->n, 1.0 - 0.8) == l->kept ? l->kept
                                                                               : l->n - cpr_prune_count(l->n, 0.8));
        assert_true(l->k <= 8);
        assert_int_equal(l->huffman, 0);
        /* fixed widths: value codes and relative indices */
        assert_int_equal(l->value_bits, l->value_codes * (uint64_t)l->value_code_bits);
        if (l->sparse)
            assert_int_equal(l->index_bits, l->codes * (uint64_t)l->r);
        assert_int_equal(l->total_bits, l->codebook_bits + l->value_bits + l->index_bits +
                                            l->bias_bits + CPR_LAYER_HEADER_BITS);
        assert_int_equal(l->bias_bits, l->nbias * 32);
    }
    nn_model_free(&m);
}

static void cmodel_lenet__unshared_float__raw_values_bit_identical(void **state)
{
    (void)state;
    struct nn_model m;
    struct cpr_stats s;
    lenet(&m, 4);
    m.layers[0].w[3] = -0.0f; /* a negative zero is a value, not a pruned weight */
    roundtrip(&m, 1, &s);
    assert_int_equal(s.layers[0].kept, 150);
    assert_int_equal(s.layers[2].k, 0); /* fc1: 30720 distinct values, no codebook */
    assert_int_equal(s.layers[2].value_code_bits, 32);
    assert_int_equal(s.layers[2].sparse, 0);
    compress_plain(&m, 0.5, 0); /* pruned, not shared: sparse raw values */
    roundtrip(&m, 1, &s);
    assert_int_equal(s.layers[2].sparse, 1);
    assert_int_equal(s.layers[2].k, 0);
    nn_model_free(&m);
}

static void cmodel_mobilenetv2__batchnorm__bit_identical(void **state)
{
    (void)state;
    struct nn_model m;
    struct cgpc_err err = {0};
    struct cpr_stats s;
    if (nn_model_init_mobilenetv2(&m, 0.25, 1, 32, 10, 9, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < m.nlayers; i++) /* non-trivial BatchNorm parameters */
        for (int c = 0; m.layers[i].bn[0] && c < m.layers[i].out_c; c++) {
            m.layers[i].bn_mean[c] = 0.01f * (float)c;
            m.layers[i].bn_var[c] = 1.0f + 0.02f * (float)c;
        }
    compress_plain(&m, 0.7, 4);
    roundtrip(&m, 1, &s);
    nn_model_free(&m);
}

/* A MobileNetV2 whose BatchNorms are absorbed (compress --fold-bn): the same logits as before,
 * no BatchNorm left, float and cgpc-deep files round trip bit for bit, and folded sharing with
 * centroid fine-tuning is the same for 1 and 2 threads. */
static void mnv2_with_bn(struct nn_model *m)
{
    struct cgpc_err err = {0};
    if (nn_model_init_mobilenetv2(m, 0.25, 1, 32, 10, 9, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < m->nlayers; i++) /* non-trivial BatchNorm parameters */
        for (int c = 0; m->layers[i].bn[0] && c < m->layers[i].out_c; c++) {
            m->layers[i].bn_w[c] = 0.5f + 0.03f * (float)c;
            m->layers[i].bn_b[c] = 0.1f - 0.01f * (float)c;
            m->layers[i].bn_mean[c] = 0.01f * (float)c;
            m->layers[i].bn_var[c] = 1.0f + 0.02f * (float)c;
        }
    nn_model_fold_bn(m);
}

static void fold_bn__mobilenetv2__same_logits_round_trips_threads_agree(void **state)
{
    (void)state;
    struct nn_model m, back, t1;
    struct nn_dataset ds;
    struct nn_eval_result r;
    struct cgpc_err err = {0};
    struct cpr_stats s;
    load_mnist_train(&ds, 32);
    assert_int_equal(nn_dataset_pad(&ds, 32, 32, &err), CGPC_OK);
    float *la = malloc((size_t)ds.n * 10 * sizeof *la), *lb = malloc((size_t)ds.n * 10 * sizeof *lb);
    struct nn_eval_opts ea = {0, la}, eb = {0, lb};
    mnv2_with_bn(&m);
    size_t nbn = 0, nw = 0;
    for (int i = 0; i < m.nlayers; i++)
        if (m.layers[i].nweights) {
            nbn += m.layers[i].bn[0] ? 1 : 0;
            nw += (size_t)m.layers[i].nweights + (size_t)m.layers[i].out_c;
        }
    assert_true(nbn > 30);
    assert_int_equal(nn_eval(&m, &ds, &ea, &r, &err), CGPC_OK);
    assert_int_equal(nn_model_absorb_bn(&m, &err), CGPC_OK);
    assert_int_equal(nn_eval(&m, &ds, &eb, &r, &err), CGPC_OK);
    assert_memory_equal(la, lb, (size_t)ds.n * 10 * sizeof *la);
    assert_int_equal(m.has_bn, 1);
    assert_int_equal(m.ntrain, nw); /* weights and one bias per channel, nothing else */
    for (int i = 0; i < m.nlayers; i++) {
        assert_string_equal(m.layers[i].bn, "");
        assert_null(m.layers[i].bn_mean);
    }
    /* float file: <layer>.bias for every convolution, recognised as absorbed */
    assert_int_equal(nn_model_save(&m, tmp("fold.safetensors"), &err), CGPC_OK);
    assert_int_equal(nn_model_load(tmp("fold.safetensors"), &back, &err), CGPC_OK);
    assert_same_model(&m, &back);
    nn_model_free(&back);
    /* shared (3 bits) and one epoch of centroid fine-tuning, 1 vs 2 threads */
    struct nn_model *ms[2] = {&m, &t1};
    mnv2_with_bn(&t1);
    for (int k = 0; k < 2; k++) {
        struct cpr_opts o;
        cpr_opts_defaults(&o);
        o.fold_bn = 1;
        o.bits = 3;
        o.finetune_epochs = 1;
        o.train.batch = 8;
        o.train.lr = 1e-3;
        o.train.seed = 5;
        cgpc_set_threads(k + 1);
        if (cpr_compress(ms[k], &ds, &o, &err))
            fail_msg("%s", err.msg);
    }
    cgpc_set_threads(2);
    assert_int_equal(m.ntrain, t1.ntrain);
    assert_memory_equal(m.tarena, t1.tarena, m.ntrain * sizeof(float));
    assert_memory_equal(m.arena, t1.arena, (size_t)nn_model_param_count(&m) * sizeof(float));
    roundtrip(&m, 1, &s);
    for (int i = 0; i < s.nlayers; i++) {
        assert_true(s.layers[i].k <= 8);
        assert_int_equal(s.layers[i].bias_is_bn, 0);
        assert_int_equal(s.layers[i].bias_bits, 32 * s.layers[i].nbias);
    }
    free(la);
    free(lb);
    nn_model_free(&m);
    nn_model_free(&t1);
    nn_dataset_free(&ds);
}

/* An int8 model as compress input: dequantized weights are code x channel scale, biases code
 * x input scale x channel scale, the same logits as the int8 file's float reading would give;
 * the shipped int8 LeNet-5 and MobileNetV2 then share and round trip as float models. */
static void dequantize__shipped_int8__code_times_scale_and_round_trip(void **state)
{
    (void)state;
    const char *names[2] = {"lenet5-mnist-int8", "mobilenetv2-fashion-int8"};
    for (int k = 0; k < 2; k++) {
        struct nn_model q, f;
        struct cgpc_err err = {0};
        struct cpr_stats s;
        char path[1024];
        const char *root = getenv("CGPC_ROOT");
        snprintf(path, sizeof path, "%s/models/%s.safetensors", root ? root : ".", names[k]);
        if (nn_model_load(path, &q, &err) || nn_model_load(path, &f, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(nn_model_dequantize(&f, &err), CGPC_OK);
        assert_int_equal(f.quantized, 0);
        assert_int_equal(f.has_float, 1);
        assert_int_equal(f.has_bn, k == 1); /* MobileNetV2: graph-trainer parameters */
        for (int i = 0; i < q.nlayers; i++) {
            const struct nn_layer *a = &q.layers[i], *b = &f.layers[i];
            if (!a->nweights)
                continue;
            int64_t per = a->nweights / a->out_c;
            for (int64_t j = 0; j < a->nweights; j += 7)
                assert_true(b->w[j] == (float)a->qw[j] * a->w_scale[j / per]);
            for (int c = 0; c < a->out_c; c++)
                assert_true(b->b[c] == (float)((double)a->qb[c] * a->in_scale * a->w_scale[c]));
            if (k == 1)
                assert_memory_equal(b->tw, b->w, (size_t)b->nweights * sizeof *b->w);
        }
        compress_plain(&f, 0, 4);
        roundtrip(&f, 1, &s);
        for (int i = 0; i < s.nlayers; i++)
            assert_true(s.layers[i].k <= 16 + 1);
        nn_model_free(&q);
        nn_model_free(&f);
    }
}

static void cmodel_decode__corrupt_header__rejected(void **state)
{
    (void)state;
    struct nn_model m, back;
    struct nn_st_file st;
    struct cgpc_err err = {0};
    lenet(&m, 5);
    compress_plain(&m, 0.9, 2);
    assert_int_equal(cpr_model_save(&m, tmp("c.safetensors"), 1, NULL, &err), CGPC_OK);
    assert_int_equal(nn_st_load(tmp("c.safetensors"), &st, &err), CGPC_OK);
    const struct nn_st_tensor *h = nn_st_find(&st, "fc1.weight.header");
    assert_non_null(h);
    int64_t v[8];
    memcpy(v, h->data, sizeof v);
    int64_t save = v[6];
    v[6] += 64; /* value stream longer than stored */
    memcpy((void *)(uintptr_t)h->data, v, sizeof v);
    assert_int_equal(cpr_model_decode(&st, &back, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "fc1.weight.values"));
    v[6] = save;
    v[2] = 300; /* codebook larger than 256 */
    memcpy((void *)(uintptr_t)h->data, v, sizeof v);
    assert_int_equal(cpr_model_decode(&st, &back, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "fc1.weight.header"));
    nn_st_free(&st);
    nn_model_free(&m);
}

/* ---- fine-tuning with constraints ---------------------------------------------------------- */

static void train_constrained(struct nn_model *m, const struct nn_dataset *ds, int threads,
                              const uint8_t *mask, const int32_t *cluster, float *cent, int nc,
                              enum nn_optim optim)
{
    struct nn_train_opts o;
    struct cgpc_err err = {0};
    nn_train_defaults(&o);
    o.epochs = 1;
    o.batch = 16;
    o.lr = 1e-2;
    o.optim = optim;
    o.momentum = 0;
    o.cosine = 0;
    o.seed = 3;
    o.mask = mask;
    o.cluster = cluster;
    o.centroids = cent;
    o.ncentroids = nc;
    cgpc_set_threads(threads);
    if (nn_train(m, ds, &o, &err))
        fail_msg("%s", err.msg);
    cgpc_set_threads(2);
}

static void finetune_masked__pruned_weights__stay_zero_and_threads_agree(void **state)
{
    (void)state;
    struct nn_model a, b;
    struct nn_dataset ds;
    struct cgpc_err err = {0};
    load_mnist_train(&ds, 64);
    lenet(&a, 7);
    lenet(&b, 7);
    struct cpr_opts o;
    cpr_opts_defaults(&o);
    o.prune = 0.75;
    size_t np = cpr_param_count(&a);
    uint8_t *mask = malloc(np);
    assert_int_equal(cpr_prune_model(&a, &o, 1.0, mask, &err), CGPC_OK);
    assert_int_equal(cpr_prune_model(&b, &o, 1.0, NULL, &err), CGPC_OK);
    float *before = malloc(np * sizeof *before);
    memcpy(before, a.arena, np * sizeof *before);
    train_constrained(&a, &ds, 1, mask, NULL, NULL, 0, NN_OPTIM_ADAM);
    train_constrained(&b, &ds, 2, mask, NULL, NULL, 0, NN_OPTIM_ADAM);
    assert_memory_equal(a.arena, b.arena, np * sizeof(float));
    size_t zero = 0, moved = 0;
    const float *p = a.arena;
    for (size_t i = 0; i < np; i++) {
        if (!mask[i]) {
            assert_true(p[i] == 0.0f);
            zero++;
        } else
            moved += p[i] != before[i];
    }
    assert_true(zero > np / 2);
    assert_true(moved > (np - zero) / 2);
    free(mask);
    free(before);
    nn_model_free(&a);
    nn_model_free(&b);
    nn_dataset_free(&ds);
}

/* One SGD step (batch = all 16 images, no momentum, lr 0.01): every shared weight equals its
 * centroid, and each centroid moved by -lr * (sum of its members' gradients) of the batch,
 * computed here independently with nn_train_gradient. */
static void finetune_shared__centroid_step__sum_of_member_gradients(void **state)
{
    (void)state;
    struct nn_model m;
    struct nn_dataset ds;
    struct cgpc_err err = {0};
    load_mnist_train(&ds, 16);
    lenet(&m, 8);
    size_t np = cpr_param_count(&m);
    int32_t *cl = malloc(np * sizeof *cl);
    float cent[2] = {-0.05f, 0.05f}, c0[2];
    /* fc2's weights into 2 clusters by sign, the rest free */
    struct nn_layer *l = nn_model_layer(&m, "fc2");
    size_t off = (size_t)(l->w - (float *)m.arena);
    for (size_t i = 0; i < np; i++)
        cl[i] = -1;
    for (int64_t j = 0; j < l->nweights; j++) {
        cl[off + (size_t)j] = l->w[j] < 0 ? 0 : 1;
        l->w[j] = cent[cl[off + (size_t)j]];
    }
    memcpy(c0, cent, sizeof c0);
    float *g = malloc(np * sizeof *g);
    int idx[16];
    double loss;
    for (int i = 0; i < 16; i++)
        idx[i] = i;
    assert_int_equal(nn_train_gradient(&m, &ds, idx, 16, g, &loss, &err), CGPC_OK);
    double want[2] = {0, 0};
    for (int64_t j = 0; j < l->nweights; j++)
        want[cl[off + (size_t)j]] += g[off + (size_t)j];
    struct nn_train_opts o;
    nn_train_defaults(&o);
    o.epochs = 1;
    o.batch = 16;
    o.lr = 1e-2;
    o.optim = NN_OPTIM_SGD;
    o.momentum = 0;
    o.cosine = 0;
    o.cluster = cl;
    o.centroids = cent;
    o.ncentroids = 2;
    assert_int_equal(nn_train(&m, &ds, &o, &err), CGPC_OK);
    for (int k = 0; k < 2; k++) {
        double expect = c0[k] - 1e-2 * want[k];
        if (fabs(cent[k] - expect) > 1e-6 + 1e-4 * fabs(expect - c0[k]))
            fail_msg("centroid %d: %.9g, expected %.9g (start %.9g)", k, cent[k], expect, c0[k]);
        assert_true(cent[k] != c0[k]);
    }
    for (int64_t j = 0; j < l->nweights; j++)
        assert_true(l->w[j] == cent[cl[off + (size_t)j]]);
    free(cl);
    free(g);
    nn_model_free(&m);
    nn_dataset_free(&ds);
}

static void compress_pipeline__finetuned__threads_agree_and_codebook_holds(void **state)
{
    (void)state;
    struct nn_model a, b;
    struct nn_dataset ds;
    struct cgpc_err err = {0};
    load_mnist_train(&ds, 48);
    struct cpr_opts o;
    cpr_opts_defaults(&o);
    o.prune = 0.8;
    o.nschedule = 2;
    o.schedule[0] = 0.5;
    o.schedule[1] = 1.0;
    o.bits = 2;
    o.finetune_epochs = 1;
    o.train.batch = 16;
    o.train.lr = 1e-3;
    lenet(&a, 9);
    lenet(&b, 9);
    cgpc_set_threads(1);
    assert_int_equal(cpr_compress(&a, &ds, &o, &err), CGPC_OK);
    cgpc_set_threads(2);
    assert_int_equal(cpr_compress(&b, &ds, &o, &err), CGPC_OK);
    assert_memory_equal(a.arena, b.arena, cpr_param_count(&a) * sizeof(float));
    struct cpr_stats s;
    assert_int_equal(cpr_model_stats(&a, 1, &s, &err), CGPC_OK);
    for (int i = 0; i < s.nlayers; i++) {
        assert_true(s.layers[i].k <= 4); /* 2^2 shared values, zero apart */
        assert_int_equal(s.layers[i].kept, s.layers[i].n - cpr_prune_count(s.layers[i].n, 0.8));
    }
    nn_model_free(&a);
    nn_model_free(&b);
    nn_dataset_free(&ds);
}


/* ---- distillation and reduced-width students ------------------------------------------------ */

static void train_distill(struct nn_model *m, const struct nn_dataset *ds, const float *teacher,
                          double alpha, int threads)
{
    struct nn_train_opts o;
    struct cgpc_err err = {0};
    nn_train_defaults(&o);
    o.epochs = 1;
    o.batch = 16;
    o.lr = 3e-3;
    o.seed = 5;
    o.teacher_logits = teacher;
    o.alpha = alpha;
    o.temperature = 3;
    cgpc_set_threads(threads);
    if (nn_train(m, ds, &o, &err))
        fail_msg("%s", err.msg);
    cgpc_set_threads(2);
}

/* alpha = 0: the teacher term vanishes, training equals plain training bit for bit; alpha > 0:
 * 1 and 2 threads agree, and the student moves towards a teacher that always says class 7. */
static void distill__alpha_zero_plain_and_teacher_pulls(void **state)
{
    (void)state;
    struct nn_model a, b, c, d;
    struct nn_dataset ds;
    load_mnist_train(&ds, 64);
    float *t = malloc((size_t)ds.n * 10 * sizeof *t);
    for (int i = 0; i < ds.n * 10; i++)
        t[i] = i % 10 == 7 ? 6.0f : 0.0f;
    lenet(&a, 12);
    lenet(&b, 12);
    train_distill(&a, &ds, t, 0.0, 2);
    train_distill(&b, &ds, NULL, 0.0, 2);
    assert_memory_equal(a.arena, b.arena, cpr_param_count(&a) * sizeof(float));
    lenet(&c, 12);
    lenet(&d, 12);
    train_distill(&c, &ds, t, 1.0, 1);
    train_distill(&d, &ds, t, 1.0, 2);
    assert_memory_equal(c.arena, d.arena, cpr_param_count(&c) * sizeof(float));
    /* fc3's bias of class 7 grew against the plain run's */
    struct nn_layer *lc = nn_model_layer(&c, "fc3"), *lb = nn_model_layer(&b, "fc3");
    assert_true(lc->b[7] - lc->b[0] > lb->b[7] - lb->b[0] + 0.01f);
    free(t);
    nn_model_free(&a);
    nn_model_free(&b);
    nn_model_free(&c);
    nn_model_free(&d);
    nn_dataset_free(&ds);
}

/* A MobileNetV2 student (BatchNorm trainer): alpha = 0 equals plain training, alpha > 0 is
 * bit-identical for 1 and 2 threads and differs from plain training. */
static void distill_mobilenetv2__graph_trainer__plain_at_zero_threads_agree(void **state)
{
    (void)state;
    struct nn_dataset ds;
    struct nn_model a, b, c;
    struct cgpc_err err = {0};
    load_mnist_train(&ds, 32);
    assert_int_equal(nn_dataset_pad(&ds, 32, 32, &err), CGPC_OK);
    float *t = malloc((size_t)ds.n * 10 * sizeof *t);
    for (int i = 0; i < ds.n * 10; i++)
        t[i] = i % 10 == 3 ? 4.0f : 0.0f;
    struct nn_model *ms[3] = {&a, &b, &c};
    for (int k = 0; k < 3; k++)
        if (nn_model_init_mobilenetv2(ms[k], 0.25, 1, 32, 10, 4, &err))
            fail_msg("%s", err.msg);
    train_distill(&a, &ds, t, 0.0, 2);
    train_distill(&b, &ds, NULL, 0.0, 2);
    assert_memory_equal(a.tarena, b.tarena, a.ntrain * sizeof(float));
    train_distill(&c, &ds, t, 0.8, 1);
    nn_model_free(&a);
    if (nn_model_init_mobilenetv2(&a, 0.25, 1, 32, 10, 4, &err))
        fail_msg("%s", err.msg);
    train_distill(&a, &ds, t, 0.8, 2);
    assert_memory_equal(a.tarena, c.tarena, a.ntrain * sizeof(float));
    assert_true(memcmp(b.tarena, c.tarena, b.ntrain * sizeof(float)) != 0);
    free(t);
    for (int k = 0; k < 3; k++)
        nn_model_free(ms[k]);
    nn_dataset_free(&ds);
}

static void lenet_width__half__shapes_and_file_round_trip(void **state)
{
    (void)state;
    struct nn_model m, back;
    struct cgpc_err err = {0};
    assert_int_equal(nn_model_init_lenet5_width(&m, 0.5, &err), CGPC_OK);
    nn_model_init_params(&m, 2);
    assert_int_equal(nn_model_layer(&m, "conv1")->out_c, 3);
    assert_int_equal(nn_model_layer(&m, "conv2")->out_c, 8);
    assert_int_equal(nn_model_layer(&m, "fc1")->out_c, 60);
    assert_int_equal(nn_model_layer(&m, "fc2")->out_c, 42);
    assert_int_equal(nn_model_layer(&m, "fc1")->in_c, 8 * 4 * 4);
    assert_int_equal(nn_model_save(&m, tmp("w.safetensors"), &err), CGPC_OK);
    assert_int_equal(nn_model_load(tmp("w.safetensors"), &back, &err), CGPC_OK);
    assert_same_model(&m, &back);
    nn_model_free(&back);
    compress_plain(&m, 0.5, 3);
    struct cpr_stats s;
    roundtrip(&m, 1, &s);
    assert_int_equal(s.layers[1].n, 8 * 3 * 25);
    nn_model_free(&m);
}

/* --schedule text: steps read in order; decreasing, out-of-range, empty or too many steps are
 * refused and leave the options unchanged. */
static void schedule_parse__steps_and_bad_text__parsed_or_refused(void **state)
{
    (void)state;
    struct cpr_opts o;
    cpr_opts_defaults(&o);
    struct cgpc_err err = {0};
    assert_int_equal(cpr_schedule_parse("0.5,0.75,0.9,1", &o, &err), CGPC_OK);
    assert_int_equal(o.nschedule, 4);
    assert_true(o.schedule[0] == 0.5 && o.schedule[1] == 0.75 && o.schedule[3] == 1.0);
    const char *bad[] = {"0.8,0.5", "1.5", "", ",", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_not_equal(cpr_schedule_parse(bad[i], &o, &err), CGPC_OK);
        assert_int_equal(o.nschedule, 4);
    }
    char many[4 * (CPR_MAX_SCHEDULE + 1) + 1] = "";
    for (int i = 0; i <= CPR_MAX_SCHEDULE; i++)
        strcat(many, i ? ",1" : "1");
    assert_int_not_equal(cpr_schedule_parse(many, &o, &err), CGPC_OK);
    assert_non_null(strstr(err.msg, "at most"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prune_count__rounding__half_up),
        cmocka_unit_test(prune_layer__golden__matches_numpy),
        cmocka_unit_test(prune_global__golden__matches_numpy),
        cmocka_unit_test(kmeans_linear__golden__matches_numpy),
        cmocka_unit_test(kmeans_density__golden__matches_numpy),
        cmocka_unit_test(kmeans_random__seed__deterministic_kept_observations),
        cmocka_unit_test(nearest__ties_and_duplicates__lowest_index),
        cmocka_unit_test(centroid_grad__two_clusters__by_hand),
        cmocka_unit_test(huffman__hand_example__lengths_and_canonical_codes),
        cmocka_unit_test(huffman__fibonacci_frequencies__length_limited),
        cmocka_unit_test(sparse__hand_example__codes_and_back),
        cmocka_unit_test(cmodel_lenet__pruned_shared__bit_identical_and_sized),
        cmocka_unit_test(cmodel_lenet__unshared_float__raw_values_bit_identical),
        cmocka_unit_test(cmodel_mobilenetv2__batchnorm__bit_identical),
        cmocka_unit_test(fold_bn__mobilenetv2__same_logits_round_trips_threads_agree),
        cmocka_unit_test(dequantize__shipped_int8__code_times_scale_and_round_trip),
        cmocka_unit_test(cmodel_decode__corrupt_header__rejected),
        cmocka_unit_test(finetune_masked__pruned_weights__stay_zero_and_threads_agree),
        cmocka_unit_test(finetune_shared__centroid_step__sum_of_member_gradients),
        cmocka_unit_test(compress_pipeline__finetuned__threads_agree_and_codebook_holds),
        cmocka_unit_test(distill__alpha_zero_plain_and_teacher_pulls),
        cmocka_unit_test(distill_mobilenetv2__graph_trainer__plain_at_zero_threads_agree),
        cmocka_unit_test(lenet_width__half__shapes_and_file_round_trip),
        cmocka_unit_test(schedule_parse__steps_and_bad_text__parsed_or_refused),
        cmocka_unit_test(cmodel_decode__huge_weight_shape__refused_before_allocating),
        cmocka_unit_test(cmodel_lenet__nan_weights__encoded_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
