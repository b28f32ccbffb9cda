/* lowbit_model.c - whole-model low-bit quantization and the cgpc-lowbit file (lowbit.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/lowbit.h"

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

void lowbit_spec_defaults(struct lowbit_spec *s)
{
    memset(s, 0, sizeof *s);
    s->method = LOWBIT_MIDRISE;
    s->landmarks = LOWBIT_LM_UNIFORM;
    s->bits = 4;
    s->max_points = 4;
    s->tol = 0.05;
}

void lowbit_model_free(struct lowbit_model *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n; i++) {
        free(q->layers[i].codes);
        free(q->layers[i].half);
        free(q->layers[i].params);
    }
    memset(q, 0, sizeof *q);
}

/* Floats of decoding parameters of a layer of this kind. */
static int nparams_of(enum lowbit_kind k, int bits, int groups, int points)
{
    switch (k) {
    case LOWBIT_KIND_MIDRISE: return groups;
    case LOWBIT_KIND_GRID: return 2 * groups;
    case LOWBIT_KIND_TABLE: return groups << bits;
    case LOWBIT_KIND_MULTIPOINT: return groups * points;
    default: return 0;
    }
}

uint64_t lowbit_layer_code_bits(const struct lowbit_layer *l)
{
    switch (l->kind) {
    case LOWBIT_KIND_FP16: return 16 * (uint64_t)l->n;
    case LOWBIT_KIND_FLOAT: return 32 * (uint64_t)l->n;
    case LOWBIT_KIND_MULTIPOINT: return (uint64_t)l->points * (uint64_t)l->bits * (uint64_t)l->n;
    default: return (uint64_t)l->bits * (uint64_t)l->n;
    }
}

uint64_t lowbit_layer_param_bits(const struct lowbit_layer *l) { return 32 * (uint64_t)l->nparams; }

/* Decode one layer's weights into w[n]. */
static void decode_layer(const struct lowbit_layer *q, float *w)
{
    size_t per = (size_t)q->n / (size_t)q->groups;
    int nl = 1 << q->bits;
    for (int g = 0; g < q->groups; g++) {
        size_t o = (size_t)g * per;
        const float *p = q->params;
        switch (q->kind) {
        case LOWBIT_KIND_MIDRISE:
            for (size_t i = 0; i < per; i++)
                w[o + i] = lowbit_midrise_value(q->codes[o + i], q->bits, p[g]);
            break;
        case LOWBIT_KIND_GRID:
            for (size_t i = 0; i < per; i++)
                w[o + i] = p[2 * g] + ((float)q->codes[o + i] + 0.5f) * p[2 * g + 1];
            break;
        case LOWBIT_KIND_TABLE:
            for (size_t i = 0; i < per; i++)
                w[o + i] = p[(size_t)g * (size_t)nl + q->codes[o + i]];
            break;
        case LOWBIT_KIND_MULTIPOINT:
            lowbit_multipoint_decode(q->codes + o, (size_t)q->n, per, q->bits,
                                     p + (size_t)g * (size_t)q->points, q->points, w + o);
            break;
        case LOWBIT_KIND_FP16:
            for (size_t i = 0; i < per; i++)
                w[o + i] = lowbit_f16_to_f32(q->half[o + i]);
            break;
        case LOWBIT_KIND_FLOAT: /* float layers keep m->w as it is */
            break;
        }
    }
}

static cgpc_status alloc_layer(struct lowbit_layer *q, size_t ncodes, struct cgpc_err *err)
{
    q->nparams = nparams_of(q->kind, q->bits, q->groups, q->points);
    if (q->kind == LOWBIT_KIND_FP16)
        q->half = malloc((size_t)q->n * sizeof *q->half);
    else if (ncodes)
        q->codes = malloc(ncodes);
    if (q->nparams)
        q->params = malloc((size_t)q->nparams * sizeof *q->params);
    if ((q->kind == LOWBIT_KIND_FP16 && !q->half) || (ncodes && q->kind != LOWBIT_KIND_FP16 &&
                                                      !q->codes) ||
        (q->nparams && !q->params))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "low-bit layer (%lld weights)", (long long)q->n);
    return CGPC_OK;
}

static cgpc_status quantize_layer(const struct nn_layer *l, int li,
                                  const struct lowbit_spec *s, uint64_t seed,
                                  struct lowbit_layer *q, struct cgpc_err *err)
{
    cgpc_status st;
    q->layer = li;
    q->n = l->nweights;
    q->bits = s->bits;
    q->groups = s->per_channel && !s->keep_float && s->method != LOWBIT_FP16 ? l->out_c : 1;
    q->points = 1;
    size_t per = (size_t)q->n / (size_t)q->groups, n = (size_t)q->n;
    int nl = 1 << s->bits;
    if (s->keep_float) {
        q->kind = LOWBIT_KIND_FLOAT;
        q->bits = 32;
        return CGPC_OK;
    }
    if (s->method == LOWBIT_FP16) {
        q->kind = LOWBIT_KIND_FP16;
        q->bits = 16;
        if ((st = alloc_layer(q, 0, err)))
            return st;
        for (size_t i = 0; i < n; i++)
            q->half[i] = lowbit_f32_to_f16(l->w[i]);
        return CGPC_OK;
    }
    if (s->method == LOWBIT_MULTIPOINT) {
        int mp = s->max_points;
        uint8_t *codes = malloc((size_t)mp * n);
        float *alpha = malloc((size_t)q->groups * (size_t)mp * sizeof *alpha);
        double *scratch = malloc(n * sizeof *scratch);
        st = CGPC_OK;
        if (!codes || !alpha || !scratch)
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "multipoint scratch (%zu weights)", n);
        if (!st) {
            q->kind = LOWBIT_KIND_MULTIPOINT;
            q->points = lowbit_multipoint(l->w, (size_t)q->groups, per, s->bits, mp, s->tol,
                                          codes, alpha, scratch);
            st = alloc_layer(q, (size_t)q->points * n, err);
        }
        if (!st) {
            memcpy(q->codes, codes, (size_t)q->points * n);
            for (int g = 0; g < q->groups; g++)
                for (int p = 0; p < q->points; p++)
                    q->params[g * q->points + p] = alpha[(size_t)g * (size_t)mp + (size_t)p];
        }
        free(codes);
        free(alpha);
        free(scratch);
        return st;
    }
    q->kind = s->method == LOWBIT_MIDRISE                ? LOWBIT_KIND_MIDRISE
              : s->landmarks == LOWBIT_LM_UNIFORM ? LOWBIT_KIND_GRID
                                                         : LOWBIT_KIND_TABLE;
    if ((st = alloc_layer(q, n, err)))
        return st;
    float lm[1 << LOWBIT_MAX_BITS], *scratch = NULL;
    if (s->landmarks == LOWBIT_LM_HISTOGRAM && q->kind == LOWBIT_KIND_TABLE &&
        !(scratch = malloc(per * sizeof *scratch)))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "histogram scratch (%zu weights)", per);
    for (int g = 0; g < q->groups; g++) {
        const float *w = l->w + (size_t)g * per;
        uint8_t *c = q->codes + (size_t)g * per;
        if (q->kind == LOWBIT_KIND_MIDRISE) {
            q->params[g] = lowbit_midrise_delta(w, per, s->bits);
            lowbit_midrise_codes(w, per, s->bits, q->params[g], c);
            continue;
        }
        if (s->landmarks == LOWBIT_LM_UNIFORM) {
            lowbit_landmarks_uniform(w, per, s->bits, lm);
            float lo = w[0], hi = w[0];
            for (size_t i = 1; i < per; i++) {
                lo = w[i] < lo ? w[i] : lo;
                hi = w[i] > hi ? w[i] : hi;
            }
            q->params[2 * g] = lo;
            q->params[2 * g + 1] = (hi - lo) / (float)nl;
        } else if (s->landmarks == LOWBIT_LM_HISTOGRAM)
            lowbit_landmarks_histogram(w, per, s->bits, scratch, lm);
        else
            lowbit_landmarks_normal(w, per, s->bits, lm);
        if (q->kind == LOWBIT_KIND_TABLE)
            memcpy(q->params + (size_t)g * (size_t)nl, lm, (size_t)nl * sizeof *lm);
        if (s->method == LOWBIT_STOCHASTIC) {
            cgpc_rng r;
            cgpc_rng_seed(&r, seed, (uint64_t)li, (uint64_t)g);
            lowbit_stochastic(w, per, lm, nl, &r, c);
        } else
            lowbit_round(w, per, lm, nl, c);
    }
    free(scratch);
    return CGPC_OK;
}

cgpc_status lowbit_quantize(const struct nn_model *m, const struct lowbit_spec *specs,
                            uint64_t seed, struct lowbit_model *q, struct cgpc_err *err)
{
    memset(q, 0, sizeof *q);
    if (!m->has_float)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "low-bit quantization needs a float model");
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const struct lowbit_spec *s = &specs[i];
        if (!has_weights(l))
            continue;
        if (s->method != LOWBIT_FP16 && !s->keep_float &&
            (s->bits < 1 || s->bits > LOWBIT_MAX_BITS))
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "layer '%s': %d bits (expected 1..%d)",
                             l->name, s->bits, LOWBIT_MAX_BITS);
        if (s->method == LOWBIT_MULTIPOINT &&
            (s->max_points < 1 || s->max_points > LOWBIT_MAX_POINTS || s->bits < 1 ||
             !(s->tol >= 0)))
            return CGPC_FAIL(err, CGPC_ERR_RANGE,
                             "layer '%s': multipoint needs 1..%d points, bits >= 1, tol >= 0",
                             l->name, LOWBIT_MAX_POINTS);
        cgpc_status st = quantize_layer(l, i, s, seed, &q->layers[q->n++], err);
        if (st) {
            lowbit_model_free(q);
            return st;
        }
    }
    return CGPC_OK;
}

cgpc_status lowbit_fake_quant(const struct nn_layer *l, int li, const struct lowbit_spec *s,
                              uint64_t seed, const float *w, float *out, struct cgpc_err *err)
{
    struct nn_layer view = *l;
    struct lowbit_layer q;
    memset(&q, 0, sizeof q);
    view.w = (float *)w; /* read only: quantize_layer does not write the weights */
    cgpc_status st = quantize_layer(&view, li, s, seed, &q, err);
    if (!st) {
        if (q.kind == LOWBIT_KIND_FLOAT)
            memcpy(out, w, (size_t)l->nweights * sizeof *out);
        else
            decode_layer(&q, out);
    }
    free(q.codes);
    free(q.half);
    free(q.params);
    return st;
}

cgpc_status lowbit_fake_quant_model(const struct nn_model *m, const struct lowbit_spec *specs,
                                    uint64_t seed, float *arena_out, struct cgpc_err *err)
{
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        cgpc_status st = lowbit_fake_quant(l, i, &specs[i], seed, l->w,
                                           arena_out + (l->w - (const float *)m->arena), err);
        if (st)
            return st;
    }
    return CGPC_OK;
}

void lowbit_apply(const struct lowbit_model *q, struct nn_model *m)
{
    for (int k = 0; k < q->n; k++) {
        const struct lowbit_layer *ql = &q->layers[k];
        if (ql->kind != LOWBIT_KIND_FLOAT)
            decode_layer(ql, m->layers[ql->layer].w);
    }
    if (m->has_bn) {
        free(m->tarena);
        m->tarena = NULL;
        m->has_bn = 0;
        m->ntrain = 0;
        for (int i = 0; i < m->nlayers; i++) {
            struct nn_layer *l = &m->layers[i];
            l->tw = l->tb = l->bn_w = l->bn_b = l->bn_mean = l->bn_var = NULL;
        }
    }
}

/* ---- files ------------------------------------------------------------------------------- */

enum { LB_PER_LAYER = 5 };

/* The tensor holding a code kind's decoding parameters, and its shape (returns ndim). */
static const char *param_tensor(enum lowbit_kind k)
{
    return k == LOWBIT_KIND_MIDRISE ? "weight_scale"
           : k == LOWBIT_KIND_GRID  ? "weight_grid"
           : k == LOWBIT_KIND_TABLE ? "weight_levels"
                                    : "weight_alpha";
}

static int param_shape(const struct lowbit_layer *q, int64_t shape[2])
{
    shape[0] = q->groups;
    shape[1] = q->nparams / q->groups;
    return q->kind == LOWBIT_KIND_MIDRISE ? 1 : 2;
}

cgpc_status lowbit_save(const struct lowbit_model *q, const struct nn_model *m,
                        const char *path, struct cgpc_err *err)
{
    struct nn_st_out t[NN_MAX_LAYERS * LB_PER_LAYER];
    char names[NN_MAX_LAYERS * LB_PER_LAYER][96];
    struct nn_st_meta meta[NN_MAX_META + 4];
    int32_t info[NN_MAX_LAYERS][4];
    int64_t shapes[NN_MAX_LAYERS][4];
    uint8_t *packed[NN_MAX_LAYERS] = {0};
    int nt = 0, nm = 0;
    cgpc_status st = CGPC_OK;
    snprintf(meta[nm].key, sizeof meta[0].key, "format");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", LOWBIT_FORMAT);
    snprintf(meta[nm].key, sizeof meta[0].key, "format_version");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", LOWBIT_FORMAT_VERSION);
    snprintf(meta[nm].key, sizeof meta[0].key, "arch");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", m->arch);
    if (strcmp(m->arch, "lenet5") != 0) {
        if (!nn_model_get_meta(m, "width"))
            return CGPC_FAIL(err, CGPC_ERR_ARG,
                             "%s: a %s low-bit file needs the model's 'width' metadata", path,
                             m->arch);
        snprintf(meta[nm].key, sizeof meta[0].key, "input_size");
        snprintf(meta[nm++].value, sizeof meta[0].value, "%d", m->in_h);
    }
    for (int i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, "input_size") != 0)
            meta[nm++] = m->meta[i];
#define ADD(layer, suffix, dt, nd, shp, data_)                                     \
    do {                                                                       \
        snprintf(names[nt], sizeof names[nt], "%s.%s", layer, suffix);        \
        t[nt].name = names[nt];                                                \
        t[nt].dtype = (dt);                                                    \
        t[nt].ndim = (nd);                                                     \
        memcpy(t[nt].shape, shp, sizeof(int64_t) * (size_t)(nd));              \
        t[nt].data = (data_);                                                  \
        nt++;                                                                  \
    } while (0)
    for (int k = 0; k < q->n; k++) {
        const struct lowbit_layer *ql = &q->layers[k];
        const struct nn_layer *l = &m->layers[ql->layer];
        int nd = nn_layer_weight_shape(l, shapes[k]);
        int64_t four = 4, oc = l->out_c, d2[2];
        info[k][0] = (int32_t)ql->kind;
        info[k][1] = ql->bits;
        info[k][2] = ql->groups;
        info[k][3] = ql->points;
        ADD(l->name, "weight_lowbit", NN_DT_I32, 1, &four, info[k]);
        ADD(l->name, "weight_shape", NN_DT_I64, 1, (int64_t[]){nd}, shapes[k]);
        ADD(l->name, "bias", NN_DT_F32, 1, &oc, l->b);
        if (ql->kind == LOWBIT_KIND_FLOAT || ql->kind == LOWBIT_KIND_FP16) {
            ADD(l->name, "weight", ql->kind == LOWBIT_KIND_FP16 ? NN_DT_F16 : NN_DT_F32, nd,
                shapes[k], ql->kind == LOWBIT_KIND_FP16 ? (const void *)ql->half
                                                         : (const void *)l->w);
            continue;
        }
        size_t bytes = lowbit_packed_bytes((size_t)ql->n, ql->bits);
        if (!(packed[k] = malloc(bytes * (size_t)ql->points))) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "packing %s", l->name);
            goto out;
        }
        for (int p = 0; p < ql->points; p++)
            lowbit_pack(ql->codes + (size_t)p * (size_t)ql->n, (size_t)ql->n, ql->bits,
                        packed[k] + (size_t)p * bytes);
        d2[0] = ql->points;
        d2[1] = (int64_t)bytes;
        if (ql->kind == LOWBIT_KIND_MULTIPOINT)
            ADD(l->name, "weight_codes", NN_DT_U8, 2, d2, packed[k]);
        else
            ADD(l->name, "weight_codes", NN_DT_U8, 1, d2 + 1, packed[k]);
        int pnd = param_shape(ql, d2);
        ADD(l->name, param_tensor(ql->kind), NN_DT_F32, pnd, d2, ql->params);
    }
#undef ADD
    st = nn_st_save(path, t, nt, meta, nm, err);
out:
    for (int k = 0; k < q->n; k++)
        free(packed[k]);
    return st;
}

static cgpc_status read_layer(const struct nn_st_file *st, struct nn_layer *l, int li,
                              struct lowbit_layer *q, struct cgpc_err *err)
{
    char name[96];
    int32_t info[4];
    int64_t shape[4], fshape[4], four = 4, oc = l->out_c, nd;
    int ndim = nn_layer_weight_shape(l, shape);
    cgpc_status s;
    nd = ndim;
    snprintf(name, sizeof name, "%s.weight_lowbit", l->name);
    if ((s = nn_st_copy(st, name, NN_DT_I32, 1, &four, info, err)))
        return s;
    snprintf(name, sizeof name, "%s.weight_shape", l->name);
    if ((s = nn_st_copy(st, name, NN_DT_I64, 1, &nd, fshape, err)))
        return s;
    for (int d = 0; d < ndim; d++)
        if (fshape[d] != shape[d])
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s: '%s': dimension %d is %lld, the architecture has %lld",
                             st->path, name, d, (long long)fshape[d], (long long)shape[d]);
    snprintf(name, sizeof name, "%s.bias", l->name);
    if ((s = nn_st_copy(st, name, NN_DT_F32, 1, &oc, l->b, err)))
        return s;
    q->layer = li;
    q->n = l->nweights;
    q->kind = (enum lowbit_kind)info[0];
    q->bits = info[1];
    q->groups = info[2];
    q->points = info[3];
    int codes = info[0] >= LOWBIT_KIND_MIDRISE && info[0] <= LOWBIT_KIND_MULTIPOINT;
    int ok = info[0] >= 0 && info[0] <= LOWBIT_KIND_FLOAT &&
             (codes ? q->bits >= 1 && q->bits <= LOWBIT_MAX_BITS
                    : q->bits == (q->kind == LOWBIT_KIND_FP16 ? 16 : 32)) &&
             (q->groups == 1 || q->groups == l->out_c) &&
             (q->kind == LOWBIT_KIND_MULTIPOINT ? q->points >= 1 && q->points <= LOWBIT_MAX_POINTS
                                                : q->points == 1);
    if (!ok)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: '%s.weight_lowbit' = {%d, %d, %d, %d}: expected {kind 0..5, bits "
                         "1..8 (fp16 16, float 32), groups 1 or %d, points 1 (multipoint "
                         "1..%d)}",
                         st->path, l->name, info[0], info[1], info[2], info[3], l->out_c,
                         LOWBIT_MAX_POINTS);
    snprintf(name, sizeof name, "%s.weight", l->name);
    if (q->kind == LOWBIT_KIND_FLOAT)
        return nn_st_copy(st, name, NN_DT_F32, ndim, shape, l->w, err);
    size_t bytes = lowbit_packed_bytes((size_t)q->n, q->bits);
    if ((s = alloc_layer(q, codes ? (size_t)q->points * (size_t)q->n : 0, err)))
        return s;
    if (q->kind == LOWBIT_KIND_FP16)
        return nn_st_copy(st, name, NN_DT_F16, ndim, shape, q->half, err);
    int64_t d2[2] = {q->points, (int64_t)bytes};
    uint8_t *packed = malloc(bytes * (size_t)q->points);
    if (!packed)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: codes of %s", st->path, l->name);
    snprintf(name, sizeof name, "%s.weight_codes", l->name);
    if (q->kind == LOWBIT_KIND_MULTIPOINT)
        s = nn_st_copy(st, name, NN_DT_U8, 2, d2, packed, err);
    else
        s = nn_st_copy(st, name, NN_DT_U8, 1, d2 + 1, packed, err);
    for (int p = 0; !s && p < q->points; p++)
        lowbit_unpack(packed + (size_t)p * bytes, (size_t)q->n, q->bits,
                      q->codes + (size_t)p * (size_t)q->n);
    free(packed);
    if (s)
        return s;
    int pnd = param_shape(q, d2);
    snprintf(name, sizeof name, "%s.%s", l->name, param_tensor(q->kind));
    if ((s = nn_st_copy(st, name, NN_DT_F32, pnd, d2,
                        q->params, err)))
        return s;
    for (int i = 0; i < q->nparams; i++)
        if (!isfinite(q->params[i]) || (q->kind == LOWBIT_KIND_MIDRISE && !(q->params[i] > 0)))
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s'[%d] = %g: expected finite%s",
                             st->path, name, i, (double)q->params[i],
                             q->kind == LOWBIT_KIND_MIDRISE ? " and > 0" : "");
    return CGPC_OK;
}

cgpc_status lowbit_read(const struct nn_st_file *st, struct nn_model *m,
                        struct lowbit_model *q, struct cgpc_err *err)
{
    memset(q, 0, sizeof *q);
    for (int i = 0; i < m->nlayers; i++) {
        if (!has_weights(&m->layers[i]))
            continue;
        cgpc_status s = read_layer(st, &m->layers[i], i, &q->layers[q->n++], err);
        if (s) {
            lowbit_model_free(q);
            return s;
        }
    }
    return CGPC_OK;
}

/* Dimension d of the stored weight shape of `layer`, or -1. */
static int64_t shape_dim(const struct nn_st_file *st, const char *layer, int d)
{
    char name[96];
    int64_t v = -1;
    snprintf(name, sizeof name, "%s.weight_shape", layer);
    const struct nn_st_tensor *t = nn_st_find(st, name);
    if (t && t->dtype == NN_DT_I64 && t->ndim == 1 && d < t->numel)
        memcpy(&v, t->data + (size_t)d * sizeof v, sizeof v);
    return v;
}

/* The architecture named by a cgpc-lowbit file's metadata. */
static cgpc_status open_arch(const struct nn_st_file *st, struct nn_model *m,
                             struct cgpc_err *err)
{
    const char *format = nn_st_meta_get(st, "format"), *v = nn_st_meta_get(st, "format_version");
    const char *arch = nn_st_meta_get(st, "arch");
    memset(m, 0, sizeof *m);
    if (!format || strcmp(format, LOWBIT_FORMAT) != 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: not a %s file (format '%s')", st->path,
                         LOWBIT_FORMAT, format ? format : "(missing)");
    if (!v || strcmp(v, LOWBIT_FORMAT_VERSION) != 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: %s format_version '%s' is not supported (this cgpc reads "
                         "version %s; re-create the file with this cgpc)",
                         st->path, LOWBIT_FORMAT, v ? v : "(missing)", LOWBIT_FORMAT_VERSION);
    if (arch && strcmp(arch, "lenet5") == 0)
        return nn_model_init_lenet5(m, err);
    if (!arch || strcmp(arch, "mobilenetv2") != 0)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: arch '%s' (supported: lenet5, mobilenetv2)", st->path,
                         arch ? arch : "(missing)");
    const char *ws = nn_st_meta_get(st, "width"), *is = nn_st_meta_get(st, "input_size");
    double width = 0;
    int in_size = 0;
    int64_t in_c = shape_dim(st, "features.0.0", 1), ncls = shape_dim(st, "classifier.1", 0);
    if (!ws || sscanf(ws, "%lf", &width) != 1 || !is || sscanf(is, "%d", &in_size) != 1 ||
        in_size < 8 || in_size > 4096 || in_c < 1 || in_c > 4096 || ncls < 1 || ncls > 65536)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: a mobilenetv2 low-bit file needs metadata 'width' and "
                         "'input_size' (8..4096) and tensors 'features.0.0.weight_shape' and "
                         "'classifier.1.weight_shape'",
                         st->path);
    return nn_model_init_mobilenetv2(m, width, (int)in_c, in_size, (int)ncls, 0, err);
}

cgpc_status lowbit_load_model(const struct nn_st_file *st, struct nn_model *m,
                              struct cgpc_err *err)
{
    struct lowbit_model q;
    cgpc_status s = open_arch(st, m, err);
    if (!s && !(s = lowbit_read(st, m, &q, err))) {
        lowbit_apply(&q, m);
        lowbit_model_free(&q);
    }
    return s;
}

cgpc_status lowbit_read_file(const char *path, struct nn_model *m, struct lowbit_model *q,
                             struct cgpc_err *err)
{
    struct nn_st_file st;
    cgpc_status s = nn_st_load(path, &st, err);
    if (s)
        return s;
    memset(q, 0, sizeof *q);
    if (!(s = open_arch(&st, m, err)) && !(s = lowbit_read(&st, m, q, err)))
        lowbit_apply(q, m);
    for (int i = 0; !s && i < st.nmeta; i++) { /* as nn_model_load keeps them */
        const char *k = st.meta[i].key;
        if (strcmp(k, "format") && strcmp(k, "format_version") && strcmp(k, "arch"))
            s = nn_model_set_meta(m, k, st.meta[i].value, err);
    }
    nn_st_free(&st);
    if (s)
        nn_model_free(m);
    return s;
}

/* ---- layer specifications ---------------------------------------------------------------- */

cgpc_status lowbit_specs_parse(const struct nn_model *m, const struct lowbit_spec *base,
                               const char *layer_bits, struct lowbit_spec *specs,
                               struct cgpc_err *err)
{
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        specs[i] = *base;
    const char *p = layer_bits ? layer_bits : "";
    while (*p) {
        const char *end = strchr(p, ','), *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[128], *v;
        if (len == 0 || len >= sizeof item)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%.*s': expected LAYER=BITS", (int)len, p);
        memcpy(item, p, len);
        item[len] = '\0';
        if (!(eq = strrchr(item, '=')))
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected LAYER=BITS", item);
        v = item + (eq - item);
        *v++ = '\0';
        int li = -1;
        for (int i = 0; i < m->nlayers; i++)
            if (strcmp(m->layers[i].name, item) == 0 && has_weights(&m->layers[i]))
                li = i;
        if (li < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': no layer with weights of that name",
                             item);
        struct lowbit_spec *s = &specs[li];
        char *e;
        long b = strtol(v, &e, 10);
        if (strcmp(v, "float") == 0)
            s->keep_float = 1;
        else if (strcmp(v, "fp16") == 0)
            s->method = LOWBIT_FP16;
        else if (*v && !*e && b >= 1 && b <= LOWBIT_MAX_BITS) {
            s->bits = (int)b;
            s->keep_float = 0;
            if (s->method == LOWBIT_FP16) /* a bit width on an fp16 run: mid-rise */
                s->method = LOWBIT_MIDRISE;
        } else
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s=%s': expected bits 1..%d, float or fp16",
                             item, v, LOWBIT_MAX_BITS);
        p += len + (end ? 1 : 0);
    }
    return CGPC_OK;
}

double lowbit_bits_per_weight(const struct lowbit_model *q)
{
    uint64_t bits = 0, n = 0;
    for (int i = 0; i < q->n; i++) {
        bits += lowbit_layer_code_bits(&q->layers[i]) + lowbit_layer_param_bits(&q->layers[i]);
        n += (uint64_t)q->layers[i].n;
    }
    return n ? (double)bits / (double)n : 0.0;
}
