/* test_lowbit.c - cmocka suite for src/nn/lowbit: every kernel against the NumPy golden data
 * of tests/golden/make_lowbit_golden.py (mid-rise, uniform/histogram/normal landmarks,
 * nearest-landmark rounding, multi-point fitting, fp16, bit packing), stochastic rounding's
 * expectation over many seeds, keyed reproducibility, and cgpc-lowbit files: bit-for-bit
 * round trips for every method, loading through nn_model_load(), malformed files. */
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

#include "common/fileio.h"
#include "exp/lowbit_storage.h"
#include "nn/dataset.h"
#include "nn/eval.h"
#include "nn/lowbit.h"
#include "nn/model.h"
#include "nn/safetensors.h"

/* ---- golden file ------------------------------------------------------------------------- */

static const float W[2][10] = {
    {0.31f, -0.12f, 0.05f, -0.44f, 0.27f, 0.27f, -0.03f, 0.18f, -0.21f, 0.09f},
    {-1.5f, 0.75f, 0.2f, -0.05f, 1.1f, -0.9f, 0.6f, 0.0f, -0.35f, 1.25f}};

/* The values of line `name` (count checked against want_n when >= 0); exits on absence. */
static double *golden(const char *name, int want_n, int *n_out)
{
    char path[512], buf[65536];
    const char *root = getenv("CGPC_ROOT");
    snprintf(path, sizeof path, "%s/tests/golden/lowbit-golden.txt", root ? root : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = strlen(name);
    while (fgets(buf, sizeof buf, f)) {
        if (strncmp(buf, name, len) != 0 || buf[len] != ' ')
            continue;
        char *p = buf + len, *end;
        int n = (int)strtol(p, &end, 10);
        double *v = calloc((size_t)n + 1, sizeof *v);
        assert_non_null(v);
        p = end;
        for (int i = 0; i < n; i++) {
            v[i] = strtod(p, &end);
            assert_true(end != p);
            p = end;
        }
        fclose(f);
        if (want_n >= 0)
            assert_int_equal(n, want_n);
        if (n_out)
            *n_out = n;
        return v;
    }
    fclose(f);
    fail_msg("golden item '%s' missing", name);
    return NULL;
}

static void check_codes(const char *name, const uint8_t *got, int n)
{
    double *want = golden(name, n, NULL);
    for (int i = 0; i < n; i++)
        if ((double)got[i] != want[i])
            fail_msg("%s[%d]: got %d want %g", name, i, got[i], want[i]);
    free(want);
}

/* Floats: exact when tol == 0 (golden printed with 9 digits = exact float32), else relative
 * to the magnitude 1. */
static void check_floats(const char *name, const float *got, int n, double tol)
{
    double *want = golden(name, n, NULL);
    for (int i = 0; i < n; i++)
        if (tol == 0 ? got[i] != (float)want[i] : fabs(got[i] - want[i]) > tol)
            fail_msg("%s[%d]: got %.9g want %.9g", name, i, (double)got[i], want[i]);
    free(want);
}

static const int BITS[] = {1, 2, 3, 4, 8};

static void midrise__golden__match_exactly(void **state)
{
    (void)state;
    for (int pc = 0; pc < 2; pc++)
        for (int bi = 0; bi < 5; bi++) {
            int b = BITS[bi], g = pc ? 2 : 1;
            size_t per = pc ? 10 : 20;
            uint8_t codes[20];
            float vals[20];
            char name[64];
            for (int k = 0; k < g; k++) {
                const float *w = &W[0][0] + k * per;
                float d = lowbit_midrise_delta(w, per, b);
                lowbit_midrise_codes(w, per, b, d, codes + k * per);
                for (size_t i = 0; i < per; i++)
                    vals[k * per + i] = lowbit_midrise_value(codes[k * per + i], b, d);
            }
            snprintf(name, sizeof name, "midrise_codes_b%d_pc%d", b, pc);
            check_codes(name, codes, 20);
            snprintf(name, sizeof name, "midrise_values_b%d_pc%d", b, pc);
            check_floats(name, vals, 20, 0);
        }
}

static void landmarks_and_round__golden__match(void **state)
{
    (void)state;
    const char *kinds[] = {"uniform", "histogram", "normal"};
    for (int pc = 0; pc < 2; pc++)
        for (int bi = 0; bi < 5; bi++)
            for (int kind = 0; kind < 3; kind++) {
                int b = BITS[bi], g = pc ? 2 : 1, nl = 1 << b;
                size_t per = pc ? 10 : 20;
                float lm[2 * 256], scratch[20];
                uint8_t codes[20];
                char name[64];
                for (int k = 0; k < g; k++) {
                    const float *w = &W[0][0] + k * per;
                    float *l = lm + k * nl;
                    if (kind == 0)
                        lowbit_landmarks_uniform(w, per, b, l);
                    else if (kind == 1)
                        lowbit_landmarks_histogram(w, per, b, scratch, l);
                    else
                        lowbit_landmarks_normal(w, per, b, l);
                    lowbit_round(w, per, l, nl, codes + k * per);
                }
                snprintf(name, sizeof name, "lm_%s_b%d_pc%d", kinds[kind], b, pc);
                /* normal: sums and quantiles computed differently: 1e-6 */
                check_floats(name, lm, g * nl, kind == 2 ? 1e-6 : 0);
                snprintf(name, sizeof name, "round_%s_codes_b%d_pc%d", kinds[kind], b, pc);
                check_codes(name, codes, 20);
            }
}

static void round__ties_and_duplicates__smaller_index(void **state)
{
    (void)state;
    const float lm[] = {-1.0f, 0.0f, 0.0f, 1.0f};
    const float w[] = {-0.5f, 0.5f, 0.0f, -3.0f, 3.0f, 0.25f};
    uint8_t c[6];
    lowbit_round(w, 6, lm, 4, c);
    const uint8_t want[] = {0, 1, 1, 0, 3, 1};
    assert_memory_equal(c, want, 6);
}

static void multipoint__golden__match(void **state)
{
    (void)state;
    for (int pc = 0; pc < 2; pc++)
        for (int b = 1; b <= 4; b++)
            for (int ti = 0; ti < 2; ti++) {
                double tol = ti ? 0.01 : 0.3;
                size_t groups = pc ? 2 : 1, per = pc ? 10 : 20;
                uint8_t codes[6 * 20];
                float alpha[2 * 6], packed_alpha[2 * 6];
                double scratch[20];
                char name[64], tag[32];
                snprintf(tag, sizeof tag, "b%d_pc%d_tol%g", b, pc, tol);
                int p = lowbit_multipoint(&W[0][0], groups, per, b, 6, tol, codes, alpha,
                                          scratch);
                snprintf(name, sizeof name, "mp_points_%s", tag);
                double *wp = golden(name, 1, NULL);
                assert_int_equal(p, (int)wp[0]);
                free(wp);
                snprintf(name, sizeof name, "mp_codes_%s", tag);
                check_codes(name, codes, p * 20);
                for (size_t g = 0; g < groups; g++)
                    for (int k = 0; k < p; k++)
                        packed_alpha[g * (size_t)p + (size_t)k] = alpha[g * 6 + (size_t)k];
                snprintf(name, sizeof name, "mp_alpha_%s", tag);
                check_floats(name, packed_alpha, (int)groups * p, 0);
                /* the reconstruction error really is below tol when points were left */
                float rec[20];
                double e = 0, wn = 0;
                for (size_t g = 0; g < groups; g++)
                    lowbit_multipoint_decode(codes + g * per, 20, per, b,
                                             packed_alpha + g * (size_t)p, p, rec + g * per);
                for (int i = 0; i < 20; i++) {
                    e += (rec[i] - (&W[0][0])[i]) * (rec[i] - (&W[0][0])[i]);
                    wn += (&W[0][0])[i] * (&W[0][0])[i];
                }
                if (p < 6)
                    assert_true(sqrt(e) <= tol * sqrt(wn) * (1 + 1e-5));
            }
}

static void fp16__golden_and_all_halves__round_trip(void **state)
{
    (void)state;
    int n;
    double *in = golden("f16_in", -1, &n), *bits = golden("f16_bits", n, NULL);
    for (int i = 0; i < n; i++) {
        uint16_t h = lowbit_f32_to_f16((float)in[i]);
        if (h != (uint16_t)bits[i])
            fail_msg("f16(%.9g): got %u want %u", in[i], h, (unsigned)bits[i]);
    }
    free(in);
    free(bits);
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lowbit_f16_to_f32((uint16_t)h);
        if (isnan(f))
            assert_true(((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF));
        else
            assert_int_equal(lowbit_f32_to_f16(f), h);
    }
}

static void pack__golden__match_and_unpack(void **state)
{
    (void)state;
    for (int b = 1; b <= 8; b++) {
        char name[64];
        snprintf(name, sizeof name, "pack_codes_b%d", b);
        double *c = golden(name, 23, NULL);
        uint8_t codes[23], back[23], packed[32];
        for (int i = 0; i < 23; i++)
            codes[i] = (uint8_t)c[i];
        free(c);
        size_t nb = lowbit_packed_bytes(23, b);
        assert_int_equal(nb, (23 * (size_t)b + 7) / 8);
        lowbit_pack(codes, 23, b, packed);
        snprintf(name, sizeof name, "pack_bytes_b%d", b);
        check_codes(name, packed, (int)nb);
        lowbit_unpack(packed, 23, b, back);
        assert_memory_equal(codes, back, 23);
    }
}

/* E[value] = w within 0.012 (4.5 standard errors of a step-0.75 interval over 20000 seeds),
 * clamped outside the landmark range; every draw lands on a neighbour. */
static void stochastic__expectation_over_seeds__equals_weight(void **state)
{
    (void)state;
    const float lm[] = {-1.0f, -0.25f, 0.5f, 1.0f};
    const float w[] = {-0.9f, -0.5f, -0.25f, 0.0f, 0.1f, 0.45f, 0.8f, 1.7f, -2.0f};
    enum { N = 20000, NW = 9 };
    double sum[NW] = {0};
    uint8_t c[NW];
    for (int s = 0; s < N; s++) {
        cgpc_rng r;
        cgpc_rng_seed(&r, (uint64_t)s, 7, 0);
        lowbit_stochastic(w, NW, lm, 4, &r, c);
        for (int i = 0; i < NW; i++) {
            sum[i] += lm[c[i]];
            float v = w[i] < -1 ? -1 : w[i] > 1 ? 1 : w[i];
            int j = 0;
            while (j < 3 && lm[j + 1] < v)
                j++;
            assert_true(lm[c[i]] == lm[j] || lm[c[i]] == lm[j + 1 > 3 ? 3 : j + 1] ||
                        lm[c[i]] == v);
        }
    }
    for (int i = 0; i < NW; i++) {
        double want = w[i] < -1 ? -1 : w[i] > 1 ? 1 : w[i];
        if (fabs(sum[i] / N - want) > 0.012)
            fail_msg("w=%g: mean %g", (double)w[i], sum[i] / N);
    }
}

/* ---- models and files -------------------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_lowbit.XXXXXX");
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
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void lenet(struct nn_model *m, uint64_t seed)
{
    struct cgpc_err err = {0};
    assert_int_equal(nn_model_init_lenet5(m, &err), CGPC_OK);
    nn_model_init_params(m, seed);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void specs_all(struct lowbit_spec *specs, const struct lowbit_spec *s)
{
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        specs[i] = *s;
}

/* Every method: save, read back (codes and parameters equal), decode = the in-memory
 * dequantization, save again = the same bytes; nn_model_load gives the same float weights. */
static void file__every_method__round_trips_bit_for_bit(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct lowbit_spec s, specs[NN_MAX_LAYERS];
    const enum lowbit_method methods[] = {LOWBIT_MIDRISE, LOWBIT_ROUND, LOWBIT_ROUND,
                                          LOWBIT_STOCHASTIC, LOWBIT_MULTIPOINT, LOWBIT_FP16};
    const enum lowbit_landmarks lms[] = {LOWBIT_LM_UNIFORM, LOWBIT_LM_UNIFORM,
                                         LOWBIT_LM_HISTOGRAM, LOWBIT_LM_NORMAL,
                                         LOWBIT_LM_UNIFORM, LOWBIT_LM_UNIFORM};
    for (int k = 0; k < 6; k++) {
        struct nn_model m, a, b;
        struct lowbit_model q, r;
        lenet(&m, 3);
        assert_int_equal(nn_model_set_meta(&m, "test_top1", "0.5", &err), CGPC_OK);
        lowbit_spec_defaults(&s);
        s.method = methods[k];
        s.landmarks = lms[k];
        s.bits = 1 + k;
        s.per_channel = k % 2;
        specs_all(specs, &s);
        specs[6].bits = 2;       /* fc1 differs (mixed precision) */
        specs[0].keep_float = k == 2; /* conv1 stays float32 in one case */
        assert_int_equal(lowbit_quantize(&m, specs, 11, &q, &err), CGPC_OK);
        lowbit_apply(&q, &m);
        assert_int_equal(lowbit_save(&q, &m, tmp("a.safetensors"), &err), CGPC_OK);
        assert_int_equal(lowbit_read_file(tmp("a.safetensors"), &a, &r, &err), CGPC_OK);
        assert_int_equal(r.n, q.n);
        for (int i = 0; i < q.n; i++) {
            const struct lowbit_layer *x = &q.layers[i], *y = &r.layers[i];
            assert_int_equal(x->kind, y->kind);
            assert_int_equal(x->bits, y->bits);
            assert_int_equal(x->points, y->points);
            assert_int_equal(x->groups, y->groups);
            if (x->codes)
                assert_memory_equal(x->codes, y->codes, (size_t)x->points * (size_t)x->n);
            if (x->half)
                assert_memory_equal(x->half, y->half, (size_t)x->n * 2);
            if (x->nparams)
                assert_memory_equal(x->params, y->params, (size_t)x->nparams * 4);
            const struct nn_layer *lm = &m.layers[x->layer], *la = &a.layers[x->layer];
            assert_memory_equal(lm->w, la->w, (size_t)lm->nweights * 4);
            assert_memory_equal(lm->b, la->b, (size_t)lm->out_c * 4);
        }
        assert_int_equal(lowbit_save(&r, &a, tmp("b.safetensors"), &err), CGPC_OK);
        size_t la_, lb_;
        unsigned char *fa = slurp(tmp("a.safetensors"), &la_), *fb = slurp(tmp("b.safetensors"), &lb_);
        assert_int_equal(la_, lb_);
        assert_memory_equal(fa, fb, la_);
        free(fa);
        free(fb);
        assert_int_equal(nn_model_load(tmp("a.safetensors"), &b, &err), CGPC_OK);
        assert_true(b.has_float && !b.quantized);
        for (int i = 0; i < m.nlayers; i++)
            if (m.layers[i].w)
                assert_memory_equal(m.layers[i].w, b.layers[i].w,
                                    (size_t)m.layers[i].nweights * 4);
        lowbit_model_free(&q);
        lowbit_model_free(&r);
        nn_model_free(&m);
        nn_model_free(&a);
        nn_model_free(&b);
    }
}

static void file__mobilenetv2__loads_with_its_architecture(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m, b;
    struct lowbit_model q;
    struct lowbit_spec s, specs[NN_MAX_LAYERS];
    assert_int_equal(nn_model_init_mobilenetv2(&m, 0.25, 1, 32, 10, 5, &err), CGPC_OK);
    lowbit_spec_defaults(&s);
    s.bits = 3;
    s.per_channel = 1;
    specs_all(specs, &s);
    assert_int_equal(lowbit_quantize(&m, specs, 1, &q, &err), CGPC_OK);
    lowbit_apply(&q, &m);
    assert_false(m.has_bn);
    assert_int_equal(lowbit_save(&q, &m, tmp("m.safetensors"), &err), CGPC_OK);
    assert_int_equal(nn_model_load(tmp("m.safetensors"), &b, &err), CGPC_OK);
    assert_int_equal(b.nlayers, m.nlayers);
    assert_false(b.has_bn);
    for (int i = 0; i < m.nlayers; i++)
        if (m.layers[i].w) {
            assert_memory_equal(m.layers[i].w, b.layers[i].w, (size_t)m.layers[i].nweights * 4);
            assert_memory_equal(m.layers[i].b, b.layers[i].b, (size_t)m.layers[i].out_c * 4);
        }
    lowbit_model_free(&q);
    nn_model_free(&m);
    nn_model_free(&b);
}

/* Same seed: same codes; another seed: different codes (stochastic). */
static void stochastic_model__seed__reproducible(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m;
    struct lowbit_model q1, q2, q3;
    struct lowbit_spec s, specs[NN_MAX_LAYERS];
    lenet(&m, 4);
    lowbit_spec_defaults(&s);
    s.method = LOWBIT_STOCHASTIC;
    s.bits = 2;
    s.per_channel = 1;
    specs_all(specs, &s);
    assert_int_equal(lowbit_quantize(&m, specs, 9, &q1, &err), CGPC_OK);
    assert_int_equal(lowbit_quantize(&m, specs, 9, &q2, &err), CGPC_OK);
    assert_int_equal(lowbit_quantize(&m, specs, 10, &q3, &err), CGPC_OK);
    assert_memory_equal(q1.layers[2].codes, q2.layers[2].codes, (size_t)q1.layers[2].n);
    assert_memory_not_equal(q1.layers[2].codes, q3.layers[2].codes, (size_t)q1.layers[2].n);
    lowbit_model_free(&q1);
    lowbit_model_free(&q2);
    lowbit_model_free(&q3);
    nn_model_free(&m);
}

/* A file whose layer info is out of range, or whose codes are truncated, is rejected with
 * the file and tensor named. */
static void file__malformed__rejected_with_names(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m, b;
    struct lowbit_model q;
    struct lowbit_spec s, specs[NN_MAX_LAYERS];
    lenet(&m, 2);
    lowbit_spec_defaults(&s);
    specs_all(specs, &s);
    assert_int_equal(lowbit_quantize(&m, specs, 1, &q, &err), CGPC_OK);
    q.layers[1].bits = 9;
    q.layers[1].nparams = q.layers[1].groups;
    assert_int_equal(lowbit_save(&q, &m, tmp("bad.safetensors"), &err), CGPC_OK);
    assert_int_equal(nn_model_load(tmp("bad.safetensors"), &b, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "conv2.weight_lowbit"));
    assert_non_null(strstr(err.msg, "bad.safetensors"));
    q.layers[1].bits = 4;
    q.layers[1].params[0] = -1.0f; /* a mid-rise step must be > 0 */
    assert_int_equal(lowbit_save(&q, &m, tmp("bad2.safetensors"), &err), CGPC_OK);
    assert_int_equal(nn_model_load(tmp("bad2.safetensors"), &b, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "conv2.weight_scale"));
    lowbit_model_free(&q);
    nn_model_free(&m);
}

/* Hand-worked allocations (see the comments): greedy narrowing by loss per bit, then the
 * widening pass; a budget below the narrowest options is a range error. */
static void allocate__hand_table__expected_bits(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    static struct lowbit_sens s;
    memset(&s, 0, sizeof s);
    s.n = 2;
    s.layer[0] = 0;
    s.layer[1] = 2;
    s.nbits = 3;
    s.bits[0] = 1;
    s.bits[1] = 2;
    s.bits[2] = 4;
    const uint64_t st[2][3] = {{10, 20, 40}, {100, 200, 400}};
    const double lo[2][3] = {{1.0, 0.5, 0.1}, {0.3, 0.2, 0.1}};
    memcpy(s.stored, st, sizeof st[0]);
    memcpy(s.stored[1], st[1], sizeof st[1]);
    memcpy(s.loss[0], lo[0], sizeof lo[0]);
    memcpy(s.loss[1], lo[1], sizeof lo[1]);
    int out[NN_MAX_LAYERS] = {0};
    /* 440 > 250: B 4->2 (0.1/200 beats A's 0.4/20): 240; widening B again does not fit */
    assert_int_equal(lowbit_allocate(&s, 250, out, &err), CGPC_OK);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[2], 2);
    /* 130: then B 2->1 (0.1/100): 140, then A 4->2: 120; A 2->4 (+20) does not fit */
    assert_int_equal(lowbit_allocate(&s, 130, out, &err), CGPC_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 1);
    /* 145: as 130 but after B 2->1 (140) the budget holds: A stays 4 */
    assert_int_equal(lowbit_allocate(&s, 145, out, &err), CGPC_OK);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[2], 1);
    assert_int_equal(lowbit_allocate(&s, 109, out, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "110 bits"));
}

/* Sensitivity: the float accuracy is the model's, stored bits follow the formula (codes +
 * one 32-bit step per tensor), and the weights are restored afterwards. */
static void sensitivity__lenet__stored_bits_and_weights_restored(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m, ref;
    struct nn_dataset ds;
    static struct lowbit_sens s;
    struct lowbit_spec base;
    lenet(&m, 6);
    lenet(&ref, 6);
    memset(&ds, 0, sizeof ds);
    ds.n = 24;
    ds.rows = ds.cols = 28;
    ds.images = malloc(24 * 784);
    ds.labels = malloc(24);
    assert_non_null(ds.images);
    assert_non_null(ds.labels);
    cgpc_rng r;
    cgpc_rng_seed(&r, 1, 2, 3);
    for (int i = 0; i < 24 * 784; i++)
        ds.images[i] = (uint8_t)cgpc_rng_below(&r, 256);
    for (int i = 0; i < 24; i++)
        ds.labels[i] = (uint8_t)cgpc_rng_below(&r, 10);
    lowbit_spec_defaults(&base);
    const int bits[] = {1, 3, 8};
    assert_int_equal(lowbit_sensitivity(&m, &base, bits, 3, &ds, 1, &s, &err), CGPC_OK);
    assert_int_equal(s.n, 5);
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < 3; j++)
            assert_int_equal(s.stored[k][j], (uint64_t)s.weights[k] * (uint64_t)bits[j] + 32);
    for (int i = 0; i < m.nlayers; i++)
        if (m.layers[i].w)
            assert_memory_equal(m.layers[i].w, ref.layers[i].w, (size_t)m.layers[i].nweights * 4);
    const int bad[] = {3, 2};
    assert_int_equal(lowbit_sensitivity(&m, &base, bad, 2, &ds, 1, &s, &err), CGPC_ERR_ARG);
    nn_dataset_free(&ds);
    nn_model_free(&m);
    nn_model_free(&ref);
}

/* A tiny model whose labels are its own float predictions (float top-1 = 100%). */
static void tiny_task(struct nn_model *m, struct nn_dataset *ds, int n)
{
    struct cgpc_err err = {0};
    struct nn_eval_opts eo = {0};
    struct nn_eval_result r;
    lenet(m, 12);
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->rows = ds->cols = 28;
    ds->images = malloc((size_t)n * 784);
    ds->labels = calloc((size_t)n, 1);
    float *logits = malloc((size_t)n * 10 * sizeof *logits);
    assert_non_null(ds->images);
    assert_non_null(ds->labels);
    assert_non_null(logits);
    cgpc_rng r_;
    cgpc_rng_seed(&r_, 4, 5, 6);
    for (int i = 0; i < n * 784; i++)
        ds->images[i] = (uint8_t)cgpc_rng_below(&r_, 256);
    eo.logits = logits;
    assert_int_equal(nn_eval(m, ds, &eo, &r, &err), CGPC_OK);
    for (int i = 0; i < n; i++)
        for (int c = 1; c < 10; c++)
            if (logits[i * 10 + c] > logits[i * 10 + ds->labels[i]])
                ds->labels[i] = (uint8_t)c;
    free(logits);
}

/* tune without refinement stops at the candidate a brute-force evaluation of every uniform
 * candidate calls the cheapest within the drop (same cost order, ties in enumeration
 * order); with refinement the result is no more expensive and still within the drop; the
 * log has one row per trial, every phase-1 row before the last rejected; a resumed search
 * reads every trial back and evaluates nothing. */
static void tune__tiny_model__stops_at_cheapest_within_drop(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m;
    struct nn_dataset ds;
    struct lowbit_tune_opts o;
    struct lowbit_tune_result res, res2;
    struct lowbit_spec best[NN_MAX_LAYERS], specs[NN_MAX_LAYERS];
    tiny_task(&m, &ds, 64);
    lowbit_tune_defaults(&o);
    o.max_drop = 1.0;
    o.no_refine = 1;
    o.log_path = tmp("tune.csv");
    assert_int_equal(lowbit_tune(&m, &ds, &o, best, &res, &err), CGPC_OK);
    assert_true(res.found);
    assert_true(res.float_top1 == 1.0);
    assert_true(res.trials >= 3); /* cheaper candidates were tried and rejected first */
    /* brute force */
    static const enum lowbit_method meth[] = {LOWBIT_MIDRISE, LOWBIT_ROUND, LOWBIT_ROUND,
                                              LOWBIT_ROUND};
    static const enum lowbit_landmarks lms[] = {LOWBIT_LM_UNIFORM, LOWBIT_LM_UNIFORM,
                                                LOWBIT_LM_NORMAL, LOWBIT_LM_HISTOGRAM};
    static const char *names[] = {"midrise", "round-uniform", "round-normal",
                                  "round-histogram", "fp16"};
    uint64_t best_cost = UINT64_MAX;
    int best_k = -1, best_pc = -1, best_b = -1;
    for (int k = 0; k < 5; k++)
        for (int pc = 0; pc < (k < 4 ? 2 : 1); pc++)
            for (int b = 1; b <= (k < 4 ? 8 : 1); b++) {
                struct nn_model c;
                struct lowbit_model q;
                struct nn_eval_result r;
                struct lowbit_spec sp;
                lenet(&c, 12);
                lowbit_spec_defaults(&sp);
                sp.method = k < 4 ? meth[k] : LOWBIT_FP16;
                sp.landmarks = k < 4 ? lms[k] : LOWBIT_LM_UNIFORM;
                sp.per_channel = pc;
                sp.bits = b;
                specs_all(specs, &sp);
                assert_int_equal(lowbit_quantize(&c, specs, 1, &q, &err), CGPC_OK);
                uint64_t cost = 0;
                for (int i = 0; i < q.n; i++)
                    cost += lowbit_layer_code_bits(&q.layers[i]) +
                            lowbit_layer_param_bits(&q.layers[i]) +
                            32 * (uint64_t)c.layers[q.layers[i].layer].out_c;
                lowbit_apply(&q, &c);
                assert_int_equal(nn_eval(&c, &ds, NULL, &r, &err), CGPC_OK);
                if (100 * (1.0 - r.top1) <= 1.0 && cost < best_cost) {
                    best_cost = cost;
                    best_k = k;
                    best_pc = pc;
                    best_b = b;
                }
                lowbit_model_free(&q);
                nn_model_free(&c);
            }
    assert_true(best_k >= 0);
    assert_string_equal(res.method, names[best_k]);
    assert_string_equal(res.granularity, best_pc ? "per-channel" : "per-tensor");
    assert_int_equal(res.stored_bits, best_cost);
    if (best_k < 4)
        assert_int_equal(best[0].bits, best_b);
    /* the log: magic, header, one row per trial, phase-1 rows before the last rejected */
    FILE *f = fopen(tmp("tune.csv"), "r");
    char line[2048];
    int rows = 0, accepted_rows = 0;
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "# cgpc-tune v1\n");
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        rows++;
        accepted_rows += line[strlen(line) - 2] == '1';
    }
    fclose(f);
    assert_int_equal(rows, res.trials);
    assert_int_equal(accepted_rows, 1);
    /* resume: everything read back, the same answer */
    o.resume = 1;
    assert_int_equal(lowbit_tune(&m, &ds, &o, best, &res2, &err), CGPC_OK);
    assert_int_equal(res2.evaluated, 0);
    assert_int_equal(res2.trials, res.trials);
    assert_string_equal(res2.layer_bits, res.layer_bits);
    /* refinement: no more expensive, within the drop */
    o.resume = 0;
    o.no_refine = 0;
    assert_int_equal(lowbit_tune(&m, &ds, &o, best, &res2, &err), CGPC_OK);
    assert_true(res2.stored_bits <= res.stored_bits);
    assert_true(100 * (1.0 - res2.top1) <= 1.0);
    /* a trial budget that ends before any candidate passes: not found, stopped early */
    o.max_trials = 1;
    o.log_path = NULL;
    assert_int_equal(lowbit_tune(&m, &ds, &o, best, &res2, &err), CGPC_OK);
    assert_false(res2.found);
    assert_true(res2.stopped_early);
    nn_dataset_free(&ds);
    nn_model_free(&m);
}

/* The storage model of a mixed low-bit LeNet-5, worked by hand: 3-bit mid-rise per tensor
 * (codes + one 32-bit step) for conv1, conv2, fc1; fc2 fp16; fc3 float32; float32 biases:
 * conv1 450+32+192, conv2 7200+32+512, fc1 92160+32+3840, fc2 161280+2688, fc3 26880+320. */
static void storage__mixed_lenet__parts_to_the_bit(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    struct nn_model m;
    struct lowbit_model q;
    struct lowbit_spec s, specs[NN_MAX_LAYERS];
    struct lowbit_storage ls, lf;
    int is_lowbit = -1;
    lenet(&m, 8);
    lowbit_spec_defaults(&s);
    s.bits = 3;
    assert_int_equal(lowbit_specs_parse(&m, &s, "fc2=fp16,fc3=float", specs, &err), CGPC_OK);
    assert_int_equal(lowbit_quantize(&m, specs, 1, &q, &err), CGPC_OK);
    assert_int_equal(lowbit_storage_of(&q, &m, &ls, &err), CGPC_OK);
    assert_int_equal(storage_model_total_bits(&ls.parts), 295618);
    assert_int_equal(storage_model_layer_bits(&ls.parts, "conv2"), 7744);
    assert_int_equal(storage_model_kind_bits(&ls.parts, STORAGE_FLOAT_WEIGHTS), 161280 + 26880);
    assert_int_equal(storage_model_kind_bits(&ls.parts, STORAGE_SCALE), 3 * 32);
    assert_int_equal(storage_model_kind_bits(&ls.parts, STORAGE_BIAS), 236 * 32);
    assert_int_equal(storage_model_total_bits(&ls.float32), 32 * 44426);
    assert_int_equal(ls.macs, 281640);
    /* the same from the saved file; a float file is not low-bit */
    lowbit_apply(&q, &m);
    assert_int_equal(lowbit_save(&q, &m, tmp("st.safetensors"), &err), CGPC_OK);
    assert_int_equal(lowbit_storage_file(tmp("st.safetensors"), &lf, &is_lowbit, &err), CGPC_OK);
    assert_int_equal(is_lowbit, 1);
    assert_int_equal(storage_model_total_bits(&lf.parts), 295618);
    lowbit_storage_free(&lf);
    assert_int_equal(nn_model_save(&m, tmp("f.safetensors"), &err), CGPC_OK);
    assert_int_equal(lowbit_storage_file(tmp("f.safetensors"), &lf, &is_lowbit, &err), CGPC_OK);
    assert_int_equal(is_lowbit, 0);
    /* multi-point: points x codes and points alphas per group; landmark tables 2^b floats */
    s.method = LOWBIT_MULTIPOINT;
    s.bits = 2;
    s.max_points = 3;
    s.tol = 0;
    s.per_channel = 1;
    specs_all(specs, &s);
    specs[2].method = LOWBIT_ROUND;
    specs[2].landmarks = LOWBIT_LM_HISTOGRAM;
    lowbit_model_free(&q);
    lowbit_storage_free(&ls);
    nn_model_free(&m);
    lenet(&m, 8);
    assert_int_equal(lowbit_quantize(&m, specs, 1, &q, &err), CGPC_OK);
    assert_int_equal(lowbit_storage_of(&q, &m, &ls, &err), CGPC_OK);
    assert_int_equal(q.layers[0].points, 3);
    assert_int_equal(storage_model_layer_bits(&ls.parts, "conv1"), 150 * 2 * 3 + 6 * 3 * 32 + 6 * 32);
    assert_int_equal(storage_model_layer_bits(&ls.parts, "conv2"), 2400 * 2 + 16 * 4 * 32 + 16 * 32);
    lowbit_storage_free(&ls);
    lowbit_model_free(&q);
    nn_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(midrise__golden__match_exactly),
        cmocka_unit_test(landmarks_and_round__golden__match),
        cmocka_unit_test(round__ties_and_duplicates__smaller_index),
        cmocka_unit_test(multipoint__golden__match),
        cmocka_unit_test(fp16__golden_and_all_halves__round_trip),
        cmocka_unit_test(pack__golden__match_and_unpack),
        cmocka_unit_test(stochastic__expectation_over_seeds__equals_weight),
        cmocka_unit_test(stochastic_model__seed__reproducible),
        cmocka_unit_test(file__every_method__round_trips_bit_for_bit),
        cmocka_unit_test(file__mobilenetv2__loads_with_its_architecture),
        cmocka_unit_test(file__malformed__rejected_with_names),
        cmocka_unit_test(allocate__hand_table__expected_bits),
        cmocka_unit_test(sensitivity__lenet__stored_bits_and_weights_restored),
        cmocka_unit_test(tune__tiny_model__stops_at_cheapest_within_drop),
        cmocka_unit_test(storage__mixed_lenet__parts_to_the_bit),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
