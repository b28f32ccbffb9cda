#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

const char *nn_op_name(enum nn_op op)
{
    static const char *names[] = {"conv2d", "linear", "maxpool2d", "avgpool2d"};
    return names[op];
}

static struct nn_layer *add_layer(struct nn_model *m, enum nn_op op, const char *name)
{
    CGPC_ASSERT(m->nlayers < NN_MAX_LAYERS);
    struct nn_layer *l = &m->layers[m->nlayers];
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    if (m->nlayers == 0) {
        l->in_c = m->in_c;
        l->in_h = m->in_h;
        l->in_w = m->in_w;
    } else {
        const struct nn_layer *p = &m->layers[m->nlayers - 1];
        l->in_c = p->out_c;
        l->in_h = p->out_h;
        l->in_w = p->out_w;
    }
    m->nlayers++;
    return l;
}

static void add_conv(struct nn_model *m, const char *name, int out_c, int k, int stride, int pad,
                     int groups, enum nn_act act)
{
    struct nn_layer *l = add_layer(m, NN_OP_CONV2D, name);
    l->out_c = out_c;
    l->kh = l->kw = k;
    l->stride = stride;
    l->pad = pad;
    l->groups = groups;
    l->act = act;
    l->out_h = nn_conv_out(l->in_h, k, stride, pad);
    l->out_w = nn_conv_out(l->in_w, k, stride, pad);
    l->nweights = (int64_t)out_c * (l->in_c / groups) * k * k;
    l->macs = l->nweights * l->out_h * l->out_w;
}

static void add_pool(struct nn_model *m, enum nn_op op, const char *name, int k, int stride)
{
    struct nn_layer *l = add_layer(m, op, name);
    l->kh = l->kw = k;
    l->stride = stride;
    l->out_c = l->in_c;
    l->out_h = nn_conv_out(l->in_h, k, stride, 0);
    l->out_w = nn_conv_out(l->in_w, k, stride, 0);
}

static void add_linear(struct nn_model *m, const char *name, int out, enum nn_act act)
{
    struct nn_layer *l = add_layer(m, NN_OP_LINEAR, name);
    l->in_c = l->in_c * l->in_h * l->in_w; /* implicit flatten */
    l->in_h = l->in_w = 1;
    l->out_c = out;
    l->out_h = l->out_w = 1;
    l->act = act;
    l->nweights = (int64_t)out * l->in_c;
    l->macs = l->nweights;
}

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

/* Sizes of activations and scratch, and the float arena. */
static cgpc_status finish(struct nn_model *m, struct cgpc_err *err)
{
    size_t nf = 0;
    m->max_act = (size_t)m->in_c * m->in_h * m->in_w;
    m->max_col = 0;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        size_t out = (size_t)l->out_c * l->out_h * l->out_w;
        m->max_act = out > m->max_act ? out : m->max_act;
        if (l->op == NN_OP_CONV2D) {
            size_t c = nn_conv2d_col_size(l->in_c, l->in_h, l->in_w, l->kh, l->kw, l->stride,
                                          l->pad, l->groups);
            m->max_col = c > m->max_col ? c : m->max_col;
        }
        if (has_weights(l))
            nf += (size_t)l->nweights + (size_t)l->out_c;
    }
    float *a = calloc(nf ? nf : 1, sizeof *a);
    if (!a)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "model parameters (%zu floats)", nf);
    m->arena = a;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        l->w = a;
        a += l->nweights;
        l->b = a;
        a += l->out_c;
    }
    m->has_float = 1;
    return CGPC_OK;
}

cgpc_status nn_model_init_lenet5(struct nn_model *m, struct cgpc_err *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "lenet5");
    m->in_c = 1;
    m->in_h = m->in_w = 28;
    m->nclasses = 10;
    m->in_mean = 0.5f;
    m->in_std = 0.5f;
    add_conv(m, "conv1", 6, 5, 1, 0, 1, NN_ACT_RELU);
    add_pool(m, NN_OP_MAXPOOL, "pool1", 2, 2);
    add_conv(m, "conv2", 16, 5, 1, 0, 1, NN_ACT_RELU);
    add_pool(m, NN_OP_MAXPOOL, "pool2", 2, 2);
    add_linear(m, "fc1", 120, NN_ACT_RELU);
    add_linear(m, "fc2", 84, NN_ACT_RELU);
    add_linear(m, "fc3", 10, NN_ACT_NONE);
    return finish(m, err);
}

void nn_model_init_params(struct nn_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        cgpc_rng r;
        cgpc_rng_seed(&r, seed, 0x1417, (uint64_t)i);
        int64_t fan_in = l->nweights / l->out_c;
        float bound = 1.0f / sqrtf((float)fan_in);
        for (int64_t k = 0; k < l->nweights; k++)
            l->w[k] = (2.0f * cgpc_rng_float(&r) - 1.0f) * bound;
        for (int k = 0; k < l->out_c; k++)
            l->b[k] = (2.0f * cgpc_rng_float(&r) - 1.0f) * bound;
    }
}

cgpc_status nn_model_alloc_int8(struct nn_model *m, struct cgpc_err *err)
{
    size_t bytes = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (has_weights(l))
            bytes += ((size_t)l->nweights + 15) / 16 * 16 + (size_t)l->out_c * 12;
    }
    unsigned char *a = calloc(bytes ? bytes : 1, 1);
    if (!a)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "int8 parameters (%zu bytes)", bytes);
    free(m->qarena);
    m->qarena = a;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        /* floats and int32s first (4-byte aligned), then the codes */
        l->w_scale = (float *)(void *)a;
        a += (size_t)l->out_c * 4;
        l->qb = (int32_t *)(void *)a;
        a += (size_t)l->out_c * 4;
        l->qmult = (float *)(void *)a;
        a += (size_t)l->out_c * 4;
        l->qw = (int8_t *)a;
        a += ((size_t)l->nweights + 15) / 16 * 16;
    }
    return CGPC_OK;
}

void nn_model_update_requant(struct nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l) || !l->qmult)
            continue;
        for (int c = 0; c < l->out_c; c++)
            l->qmult[c] = (l->in_scale * l->w_scale[c]) / l->out_scale;
    }
}

void nn_model_free(struct nn_model *m)
{
    if (!m)
        return;
    free(m->arena);
    free(m->qarena);
    memset(m, 0, sizeof *m);
}

const char *nn_model_get_meta(const struct nn_model *m, const char *key)
{
    for (int i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return m->meta[i].value;
    return NULL;
}

struct nn_layer *nn_model_layer(struct nn_model *m, const char *name)
{
    for (int i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return &m->layers[i];
    return NULL;
}

int nn_layer_weight_shape(const struct nn_layer *l, int64_t shape[4])
{
    if (l->op == NN_OP_CONV2D) {
        shape[0] = l->out_c;
        shape[1] = l->in_c / l->groups;
        shape[2] = l->kh;
        shape[3] = l->kw;
        return 4;
    }
    if (l->op == NN_OP_LINEAR) {
        shape[0] = l->out_c;
        shape[1] = l->in_c;
        return 2;
    }
    return 0;
}

int64_t nn_model_param_count(const struct nn_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (has_weights(&m->layers[i]))
            n += m->layers[i].nweights + m->layers[i].out_c;
    return n;
}

cgpc_status nn_model_weight_codes(struct nn_model *m, const char *name, int8_t **codes,
                                  struct nn_layer **layer, int64_t shape[4], int *ndim,
                                  struct cgpc_err *err)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strcmp(dot, ".weight") != 0)
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "'%s': expected '<layer>.weight'", name);
    char lname[32];
    snprintf(lname, sizeof lname, "%.*s", (int)(dot - name), name);
    struct nn_layer *l = nn_model_layer(m, lname);
    if (!l || !has_weights(l))
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "'%s': no such weight in this %s model", name,
                         m->arch);
    if (!m->quantized || !l->qw)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': the model is not quantized (int8)", name);
    *codes = l->qw;
    if (layer)
        *layer = l;
    int nd = nn_layer_weight_shape(l, shape);
    if (ndim)
        *ndim = nd;
    return CGPC_OK;
}

cgpc_status nn_model_set_meta(struct nn_model *m, const char *key, const char *value,
                              struct cgpc_err *err)
{
    int i;
    for (i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            break;
    if (i == NN_MAX_META)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "too many metadata entries (max %d)", NN_MAX_META);
    if (strlen(key) >= sizeof m->meta[i].key || strlen(value) >= sizeof m->meta[i].value)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "metadata '%s' is too long", key);
    snprintf(m->meta[i].key, sizeof m->meta[i].key, "%s", key);
    snprintf(m->meta[i].value, sizeof m->meta[i].value, "%s", value);
    if (i == m->nmeta)
        m->nmeta++;
    return CGPC_OK;
}

/* ---- load / save ------------------------------------------------------------------------ */

static cgpc_status copy_scalar(const struct nn_st_file *st, const char *layer, const char *what,
                               enum nn_dtype dt, void *dst, struct cgpc_err *err)
{
    char name[96];
    int64_t one = 1;
    snprintf(name, sizeof name, "%s.%s", layer, what);
    return nn_st_copy(st, name, dt, 1, &one, dst, err);
}

static cgpc_status load_layer(const struct nn_st_file *st, struct nn_layer *l, int q,
                              struct cgpc_err *err)
{
    char name[96];
    int64_t shape[4], oc = l->out_c;
    int nd = nn_layer_weight_shape(l, shape);
    cgpc_status s;
    snprintf(name, sizeof name, "%s.weight", l->name);
    if ((s = nn_st_copy(st, name, q ? NN_DT_I8 : NN_DT_F32, nd, shape, q ? (void *)l->qw
                                                                         : (void *)l->w, err)))
        return s;
    snprintf(name, sizeof name, "%s.bias", l->name);
    if ((s = nn_st_copy(st, name, q ? NN_DT_I32 : NN_DT_F32, 1, &oc,
                        q ? (void *)l->qb : (void *)l->b, err)))
        return s;
    if (!q)
        return CGPC_OK;
    snprintf(name, sizeof name, "%s.weight_scale", l->name);
    int32_t izp = 0, ozp = 0;
    if ((s = nn_st_copy(st, name, NN_DT_F32, 1, &oc, l->w_scale, err)) ||
        (s = copy_scalar(st, l->name, "input_scale", NN_DT_F32, &l->in_scale, err)) ||
        (s = copy_scalar(st, l->name, "input_zero_point", NN_DT_I32, &izp, err)) ||
        (s = copy_scalar(st, l->name, "output_scale", NN_DT_F32, &l->out_scale, err)) ||
        (s = copy_scalar(st, l->name, "output_zero_point", NN_DT_I32, &ozp, err)))
        return s;
    if (izp < 0 || izp > 255 || ozp < 0 || ozp > 255)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: layer '%s': zero points must be in 0..255",
                         st->path, l->name);
    int ok = l->in_scale > 0 && l->out_scale > 0 && isfinite(l->in_scale) &&
             isfinite(l->out_scale);
    for (int c = 0; c < l->out_c; c++)
        ok = ok && l->w_scale[c] > 0 && isfinite(l->w_scale[c]);
    if (!ok)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: layer '%s': scales must be finite and > 0",
                         st->path, l->name);
    l->in_zp = izp;
    l->out_zp = ozp;
    return CGPC_OK;
}

cgpc_status nn_model_load(const char *path, struct nn_model *m, struct cgpc_err *err)
{
    struct nn_st_file st;
    cgpc_status s;
    memset(m, 0, sizeof *m);
    if ((s = nn_st_load(path, &st, err)))
        return s;
    const char *format = nn_st_meta_get(&st, "format");
    const char *arch = nn_st_meta_get(&st, "arch");
    const char *version = nn_st_meta_get(&st, "format_version");
    int q = 0;
    if (format && strcmp(format, "cgpc-int8") == 0)
        q = 1;
    else if (format && strcmp(format, "cgpc-float") != 0) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                      "%s: unknown model format '%s' (expected cgpc-float or cgpc-int8)", path,
                      format);
        goto out;
    }
    if (format && (!version || strcmp(version, NN_FORMAT_VERSION) != 0)) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                      "%s: format_version '%s' is not supported (this cgpc reads version %s; "
                      "re-create the file with this cgpc)",
                      path, version ? version : "(missing)", NN_FORMAT_VERSION);
        goto out;
    }
    if (!arch) {
        /* PyTorch export without metadata: recognise LeNet-5 by its first tensor */
        const struct nn_st_tensor *t = nn_st_find(&st, "conv1.weight");
        if (!t || t->ndim != 4 || t->shape[0] != 6 || t->shape[1] != 1) {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                          "%s: not a recognised model: no metadata and no LeNet-5 "
                          "'conv1.weight' [6,1,5,5] tensor",
                          path);
            goto out;
        }
        arch = "lenet5";
    }
    if (strcmp(arch, "lenet5") != 0) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: unsupported arch '%s' (supported: lenet5)",
                      path, arch);
        goto out;
    }
    if ((s = nn_model_init_lenet5(m, err)))
        goto out;
    if (q) {
        if ((s = nn_model_alloc_int8(m, err)))
            goto out;
        m->quantized = 1;
        m->has_float = 0;
    }
    for (int i = 0; i < m->nlayers; i++)
        if (has_weights(&m->layers[i]) && (s = load_layer(&st, &m->layers[i], q, err)))
            goto out;
    if (q)
        nn_model_update_requant(m);
    for (int i = 0; i < st.nmeta; i++) {
        const char *k = st.meta[i].key;
        if (strcmp(k, "format") && strcmp(k, "format_version") && strcmp(k, "arch"))
            if ((s = nn_model_set_meta(m, k, st.meta[i].value, err)))
                goto out;
    }
out:
    nn_st_free(&st);
    if (s) {
        cgpc_err_prefix(err, "loading model");
        nn_model_free(m);
    }
    return s;
}

cgpc_status nn_model_save(const struct nn_model *m, const char *path, struct cgpc_err *err)
{
    struct nn_st_out t[NN_MAX_LAYERS * 7];
    char names[NN_MAX_LAYERS * 7][64];
    struct nn_st_meta meta[NN_MAX_META + 3];
    int nt = 0, nm = 0, q = m->quantized;
    int32_t zps[NN_MAX_LAYERS][2];
    snprintf(meta[nm].key, sizeof meta[nm].key, "format");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", q ? "cgpc-int8" : "cgpc-float");
    snprintf(meta[nm].key, sizeof meta[nm].key, "format_version");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", NN_FORMAT_VERSION);
    snprintf(meta[nm].key, sizeof meta[nm].key, "arch");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", m->arch);
    for (int i = 0; i < m->nmeta; i++)
        meta[nm++] = m->meta[i];
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
#define ADD(suffix, dt, nd, data_)                                               \
    do {                                                                         \
        snprintf(names[nt], sizeof names[nt], "%s.%s", l->name, suffix);         \
        t[nt].name = names[nt];                                                  \
        t[nt].dtype = (dt);                                                      \
        t[nt].ndim = (nd);                                                       \
        t[nt].data = (data_);                                                    \
        nt++;                                                                    \
    } while (0)
        int64_t shape[4];
        int nd = nn_layer_weight_shape(l, shape);
        ADD("weight", q ? NN_DT_I8 : NN_DT_F32, nd, q ? (const void *)l->qw : (const void *)l->w);
        memcpy(t[nt - 1].shape, shape, sizeof shape);
        ADD("bias", q ? NN_DT_I32 : NN_DT_F32, 1, q ? (const void *)l->qb : (const void *)l->b);
        t[nt - 1].shape[0] = l->out_c;
        if (q) {
            zps[i][0] = l->in_zp;
            zps[i][1] = l->out_zp;
            ADD("weight_scale", NN_DT_F32, 1, l->w_scale);
            t[nt - 1].shape[0] = l->out_c;
            ADD("input_scale", NN_DT_F32, 1, &l->in_scale);
            t[nt - 1].shape[0] = 1;
            ADD("input_zero_point", NN_DT_I32, 1, &zps[i][0]);
            t[nt - 1].shape[0] = 1;
            ADD("output_scale", NN_DT_F32, 1, &l->out_scale);
            t[nt - 1].shape[0] = 1;
            ADD("output_zero_point", NN_DT_I32, 1, &zps[i][1]);
            t[nt - 1].shape[0] = 1;
        }
#undef ADD
    }
    return nn_st_save(path, t, nt, meta, nm, err);
}
