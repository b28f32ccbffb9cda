#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/rng.h"
#include "compress/cmodel.h"
#include "nn/lowbit.h"

const char *nn_op_name(enum nn_op op)
{
    static const char *names[] = {"conv2d", "linear", "maxpool2d", "avgpool2d", "add"};
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

static struct nn_layer *add_conv(struct nn_model *m, const char *name, int out_c, int k,
                                 int stride, int pad, int groups, enum nn_act act)
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
    return l;
}

static void add_pool(struct nn_model *m, enum nn_op op, const char *name, int k, int stride)
{
    struct nn_layer *l = add_layer(m, op, name);
    if (k == 0) /* global */
        k = stride = l->in_h;
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

/* Training parameters of a BatchNorm model: [tw, bn_w, bn_b | tb per layer][running stats]. */
static cgpc_status alloc_train(struct nn_model *m, struct cgpc_err *err)
{
    size_t nt = 0, nstat = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        nt += (size_t)l->nweights + (size_t)l->out_c * (l->bn[0] ? 2 : 1);
        nstat += l->bn[0] ? 2 * (size_t)l->out_c : 0;
    }
    float *a = calloc(nt + nstat, sizeof *a);
    if (!a)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "training parameters (%zu floats)", nt + nstat);
    m->tarena = a;
    m->ntrain = nt;
    float *st = a + nt;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        l->tw = a;
        a += l->nweights;
        if (l->bn[0]) {
            l->bn_w = a;
            l->bn_b = a + l->out_c;
            a += 2 * (size_t)l->out_c;
            l->bn_mean = st;
            l->bn_var = st + l->out_c;
            st += 2 * (size_t)l->out_c;
            for (int c = 0; c < l->out_c; c++)
                l->bn_w[c] = l->bn_var[c] = 1.0f;
        } else {
            l->tb = a;
            a += l->out_c;
        }
    }
    m->has_bn = 1;
    return CGPC_OK;
}

/* Training parameters without BatchNorm from the inference ones: tw = w, tb = b for every
 * weighted layer (the graph trainer's convolutions with biases). On failure m is unchanged. */
static cgpc_status train_from_inference(struct nn_model *m, struct cgpc_err *err)
{
    void *old = m->tarena;
    int had = m->has_bn;
    char bn[NN_MAX_LAYERS][32];
    for (int i = 0; i < m->nlayers; i++) {
        memcpy(bn[i], m->layers[i].bn, sizeof bn[i]);
        m->layers[i].bn[0] = '\0';
    }
    cgpc_status st = alloc_train(m, err);
    if (st) {
        for (int i = 0; i < m->nlayers; i++)
            memcpy(m->layers[i].bn, bn[i], sizeof bn[i]);
        m->tarena = old;
        m->has_bn = had;
        return st;
    }
    free(old);
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        l->bn_w = l->bn_b = l->bn_mean = l->bn_var = NULL;
        if (!has_weights(l))
            continue;
        memcpy(l->tw, l->w, (size_t)l->nweights * sizeof *l->tw);
        memcpy(l->tb, l->b, (size_t)l->out_c * sizeof *l->tb);
    }
    return CGPC_OK;
}

cgpc_status nn_model_absorb_bn(struct nn_model *m, struct cgpc_err *err)
{
    if (!m->has_bn)
        return CGPC_OK;
    nn_model_fold_bn(m);
    return train_from_inference(m, err);
}

cgpc_status nn_model_dequantize(struct nn_model *m, struct cgpc_err *err)
{
    if (!m->quantized)
        return CGPC_OK;
    int residual = 0;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        residual |= l->op == NN_OP_ADD;
        if (!has_weights(l))
            continue;
        size_t per = (size_t)(l->nweights / l->out_c);
        for (int c = 0; c < l->out_c; c++) {
            for (size_t k = 0; k < per; k++)
                l->w[(size_t)c * per + k] = (float)l->qw[(size_t)c * per + k] * l->w_scale[c];
            l->b[c] = (float)((double)l->qb[c] * (double)l->in_scale * (double)l->w_scale[c]);
        }
    }
    if (residual) { /* trains with the graph trainer: convolutions with biases */
        cgpc_status st = train_from_inference(m, err);
        if (st)
            return st;
    }
    free(m->qarena);
    m->qarena = NULL;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        l->qw = NULL;
        l->w_scale = l->qmult = NULL;
        l->qb = NULL;
    }
    m->quantized = 0;
    m->has_float = 1;
    return CGPC_OK;
}

void nn_model_fold_bn(struct nn_model *m)
{
    if (!m->has_bn)
        return;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        size_t per = (size_t)(l->nweights / l->out_c);
        for (int c = 0; c < l->out_c; c++) {
            double s = l->bn[0] ? (double)l->bn_w[c] / sqrt((double)l->bn_var[c] + NN_BN_EPS)
                                : 1.0;
            for (size_t k = 0; k < per; k++)
                l->w[(size_t)c * per + k] = (float)((double)l->tw[(size_t)c * per + k] * s);
            l->b[c] = l->bn[0] ? (float)((double)l->bn_b[c] - (double)l->bn_mean[c] * s)
                               : l->tb[c];
        }
    }
}

/* Sizes of activations and scratch, and the float arena. */
static cgpc_status finish(struct nn_model *m, struct cgpc_err *err)
{
    size_t nf = 0;
    m->max_act = (size_t)m->in_c * m->in_h * m->in_w;
    m->max_col = 0;
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (l->op == NN_OP_ADD && l->src > 0)
            m->layers[l->src - 1].keep = 1;
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
    static const int standard[4] = {6, 16, 120, 84};
    return nn_model_init_lenet5_dims(m, standard, err);
}

cgpc_status nn_model_init_lenet5_width(struct nn_model *m, double width, struct cgpc_err *err)
{
    static const int standard[4] = {6, 16, 120, 84};
    int d[4];
    for (int k = 0; k < 4; k++) {
        double v = floor(standard[k] * width + 0.5);
        d[k] = v < 1 ? 1 : v > 4096 ? 4096 : (int)v;
    }
    return nn_model_init_lenet5_dims(m, d, err);
}

cgpc_status nn_model_init_lenet5_dims(struct nn_model *m, const int dims[4], struct cgpc_err *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "lenet5");
    m->in_c = 1;
    m->in_h = m->in_w = 28;
    m->nclasses = 10;
    m->in_mean = 0.5f;
    m->in_std = 0.5f;
    for (int k = 0; k < 4; k++)
        if (dims[k] < 1 || dims[k] > 4096)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "LeNet-5 layer width %d: expected 1..4096",
                             dims[k]);
    add_conv(m, "conv1", dims[0], 5, 1, 0, 1, NN_ACT_RELU);
    add_pool(m, NN_OP_MAXPOOL, "pool1", 2, 2);
    add_conv(m, "conv2", dims[1], 5, 1, 0, 1, NN_ACT_RELU);
    add_pool(m, NN_OP_MAXPOOL, "pool2", 2, 2);
    add_linear(m, "fc1", dims[2], NN_ACT_RELU);
    add_linear(m, "fc2", dims[3], NN_ACT_RELU);
    add_linear(m, "fc3", 10, NN_ACT_NONE);
    return finish(m, err);
}

/* ---- MobileNetV2 -------------------------------------------------------------------------- */

/* torchvision's inverted-residual setting: expansion t, channels c, repeats n, first stride s */
static const int mnv2_setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                       {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                       {6, 320, 1, 1}};
#define MNV2_BLOCKS 17

/* Channel counts of one MobileNetV2 (from a width multiplier or from a file's tensors). */
struct mnv2_shape {
    int stem, last;
    int expand[MNV2_BLOCKS], hidden[MNV2_BLOCKS], out[MNV2_BLOCKS];
};

/* torchvision _make_divisible(v, 8): round to the nearest multiple of 8, at least 8, never
 * below 90% of v */
static int make_divisible(double v)
{
    int nv = (int)(v + 4.0) / 8 * 8;
    nv = nv < 8 ? 8 : nv;
    return nv < 0.9 * v ? nv + 8 : nv;
}

/* Stride of block b (1..17) and its setting row. */
static int mnv2_block(int b, int *row)
{
    int k = 1;
    for (int g = 0; g < 7; g++)
        for (int i = 0; i < mnv2_setting[g][2]; i++, k++)
            if (k == b) {
                *row = g;
                return i == 0 ? mnv2_setting[g][3] : 1;
            }
    *row = 0;
    return 1;
}

static void set_bn(struct nn_layer *l, const char *fmt, int b, int k)
{
    snprintf(l->bn, sizeof l->bn, fmt, b, k);
}

static cgpc_status build_mnv2(struct nn_model *m, int in_c, int in_size, int nclasses,
                              const struct mnv2_shape *sh, struct cgpc_err *err)
{
    memset(m, 0, sizeof *m);
    if (in_c < 1 || in_size < 8 || nclasses < 1)
        return CGPC_FAIL(err, CGPC_ERR_ARG,
                         "mobilenetv2: %d input channels, %dx%d inputs, %d classes: need >= 1, "
                         ">= 8 and >= 1",
                         in_c, in_size, in_size, nclasses);
    snprintf(m->arch, sizeof m->arch, "mobilenetv2");
    m->in_c = in_c;
    m->in_h = m->in_w = in_size;
    m->nclasses = nclasses;
    m->in_mean = 0.5f;
    m->in_std = 0.5f;
    char nm[32];
    struct nn_layer *l = add_conv(m, "features.0.0", sh->stem, 3, 2, 1, 1, NN_ACT_RELU6);
    snprintf(l->bn, sizeof l->bn, "features.0.1");
    for (int b = 1; b <= MNV2_BLOCKS; b++) {
        int row, stride = mnv2_block(b, &row), inp = m->layers[m->nlayers - 1].out_c;
        int src = m->nlayers, k = sh->expand[b - 1] ? 1 : 0, hid = sh->hidden[b - 1];
        (void)row;
        if (k) {
            snprintf(nm, sizeof nm, "features.%d.conv.0.0", b);
            set_bn(add_conv(m, nm, hid, 1, 1, 0, 1, NN_ACT_RELU6), "features.%d.conv.0.%d", b, 1);
        }
        snprintf(nm, sizeof nm, "features.%d.conv.%d.0", b, k);
        l = add_conv(m, nm, hid, 3, stride, 1, hid, NN_ACT_RELU6);
        snprintf(l->bn, sizeof l->bn, "features.%d.conv.%d.1", b, k);
        snprintf(nm, sizeof nm, "features.%d.conv.%d", b, k + 1);
        set_bn(add_conv(m, nm, sh->out[b - 1], 1, 1, 0, 1, NN_ACT_NONE), "features.%d.conv.%d",
               b, k + 2);
        if (stride == 1 && inp == sh->out[b - 1]) {
            snprintf(nm, sizeof nm, "features.%d.add", b);
            l = add_layer(m, NN_OP_ADD, nm);
            l->out_c = l->in_c;
            l->out_h = l->in_h;
            l->out_w = l->in_w;
            l->src = src;
        }
    }
    snprintf(nm, sizeof nm, "features.%d.0", MNV2_BLOCKS + 1);
    set_bn(add_conv(m, nm, sh->last, 1, 1, 0, 1, NN_ACT_RELU6), "features.%d.%d",
           MNV2_BLOCKS + 1, 1);
    add_pool(m, NN_OP_AVGPOOL, "avgpool", 0, 0);
    add_linear(m, "classifier.1", nclasses, NN_ACT_NONE);
    cgpc_status st = finish(m, err);
    if (!st && (st = alloc_train(m, err)))
        nn_model_free(m);
    return st;
}

cgpc_status nn_model_init_mobilenetv2(struct nn_model *m, double width, int in_c, int in_size,
                                      int nclasses, uint64_t seed, struct cgpc_err *err)
{
    struct mnv2_shape sh;
    if (!(width > 0) || width > 4)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "mobilenetv2: width %g: expected 0 < width <= 4",
                         width);
    sh.stem = make_divisible(32 * width);
    sh.last = make_divisible(1280 * (width > 1.0 ? width : 1.0));
    int inp = sh.stem;
    for (int b = 1; b <= MNV2_BLOCKS; b++) {
        int row;
        mnv2_block(b, &row);
        sh.expand[b - 1] = mnv2_setting[row][0] != 1;
        sh.hidden[b - 1] = inp * mnv2_setting[row][0];
        sh.out[b - 1] = make_divisible(mnv2_setting[row][1] * width);
        inp = sh.out[b - 1];
    }
    cgpc_status st = build_mnv2(m, in_c, in_size, nclasses, &sh, err);
    if (st)
        return st;
    char buf[32];
    snprintf(buf, sizeof buf, "%g", width);
    if ((st = nn_model_set_meta(m, "width", buf, err))) {
        nn_model_free(m);
        return st;
    }
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        cgpc_rng r;
        cgpc_rng_seed(&r, seed, 0x3b2, (uint64_t)i);
        /* convs: kaiming_normal_(mode="fan_out"); linear: normal(0, 0.01), zero bias */
        double sd = l->op == NN_OP_CONV2D ? sqrt(2.0 / ((double)l->out_c * l->kh * l->kw)) : 0.01;
        for (int64_t k = 0; k < l->nweights; k++)
            l->tw[k] = (float)(cgpc_rng_normal(&r) * sd);
    }
    nn_model_fold_bn(m);
    return CGPC_OK;
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
    free(m->tarena);
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

/* `<layer>.weight` with the layer's weight shape into dst. */
static cgpc_status copy_weight(const struct nn_st_file *st, const struct nn_layer *l,
                               enum nn_dtype dt, void *dst, struct cgpc_err *err)
{
    char name[96];
    int64_t shape[4];
    int nd = nn_layer_weight_shape(l, shape);
    snprintf(name, sizeof name, "%s.weight", l->name);
    return nn_st_copy(st, name, dt, nd, shape, dst, err);
}

static cgpc_status load_layer(const struct nn_st_file *st, struct nn_layer *l, int q,
                              struct cgpc_err *err)
{
    char name[96];
    int64_t oc = l->out_c;
    cgpc_status s;
    if ((s = copy_weight(st, l, q ? NN_DT_I8 : NN_DT_F32, q ? (void *)l->qw : (void *)l->w,
                         err)))
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

/* One weighted layer of a BatchNorm model: torchvision names (conv without bias). */
static cgpc_status load_train_layer(const struct nn_st_file *st, struct nn_layer *l,
                                    struct cgpc_err *err)
{
    char name[96];
    int64_t oc = l->out_c;
    cgpc_status s;
    if ((s = copy_weight(st, l, NN_DT_F32, l->tw, err)))
        return s;
    if (!l->bn[0]) {
        snprintf(name, sizeof name, "%s.bias", l->name);
        return nn_st_copy(st, name, NN_DT_F32, 1, &oc, l->tb, err);
    }
    const char *what[4] = {"weight", "bias", "running_mean", "running_var"};
    float *dst[4] = {l->bn_w, l->bn_b, l->bn_mean, l->bn_var};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s.%s", l->bn, what[k]);
        if ((s = nn_st_copy(st, name, NN_DT_F32, 1, &oc, dst[k], err)))
            return s;
    }
    for (int c = 0; c < l->out_c; c++)
        if (!(l->bn_var[c] >= 0) || !isfinite(l->bn_var[c]))
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s.running_var' must be >= 0 and finite",
                             st->path, l->bn);
    return CGPC_OK;
}

/* Dimension d of tensor `name` if it is a 4-d (or, d < 2, 2-d) tensor, else -1. */
static int64_t tensor_dim(const struct nn_st_file *st, const char *name, int d)
{
    const struct nn_st_tensor *t = nn_st_find(st, name);
    return t && d < t->ndim ? t->shape[d] : -1;
}

/* MobileNetV2 channel counts from the tensors (weights of int8 files have the same names and
 * shapes), input size from the metadata (default 32). */
static cgpc_status load_mnv2_arch(const struct nn_st_file *st, struct nn_model *m,
                                  struct cgpc_err *err)
{
    struct mnv2_shape sh;
    char nm[64];
    int in_size = 32;
    const char *is = nn_st_meta_get(st, "input_size");
    if (is && (sscanf(is, "%d", &in_size) != 1 || in_size < 8 || in_size > 4096))
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: metadata input_size '%s': expected 8..4096",
                         st->path, is);
    int64_t stem = tensor_dim(st, "features.0.0.weight", 0),
            in_c = tensor_dim(st, "features.0.0.weight", 1);
    for (int b = 1; b <= MNV2_BLOCKS; b++) {
        snprintf(nm, sizeof nm, "features.%d.conv.0.0.weight", b);
        int64_t k = tensor_dim(st, nm, 2);
        sh.expand[b - 1] = k == 1;
        sh.hidden[b - 1] = (int)tensor_dim(st, nm, 0);
        snprintf(nm, sizeof nm, "features.%d.conv.%d.weight", b, k == 1 ? 2 : 1);
        sh.out[b - 1] = (int)tensor_dim(st, nm, 0);
        if (k < 1 || sh.hidden[b - 1] < 1 || sh.out[b - 1] < 1)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s: MobileNetV2 block %d: missing or malformed "
                             "'features.%d.conv.*.weight' tensors (torchvision names expected)",
                             st->path, b, b);
    }
    int64_t last = tensor_dim(st, "features.18.0.weight", 0),
            ncls = tensor_dim(st, "classifier.1.weight", 0);
    if (stem < 1 || in_c < 1 || last < 1 || ncls < 1)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: MobileNetV2 needs 'features.0.0.weight', 'features.18.0.weight' and "
                         "'classifier.1.weight'",
                         st->path);
    sh.stem = (int)stem;
    sh.last = (int)last;
    cgpc_status s = build_mnv2(m, (int)in_c, in_size, (int)ncls, &sh, err);
    /* BatchNorm absorbed (nn_model_absorb_bn): float convolutions with biases, no BN tensors */
    const struct nn_st_tensor *b = nn_st_find(st, "features.0.0.bias");
    if (!s && b && b->dtype == NN_DT_F32 && !nn_st_find(st, "features.0.1.weight") &&
        (s = nn_model_absorb_bn(m, err)))
        nn_model_free(m);
    return s;
}

void nn_model_chain_scales(struct nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (has_weights(l) || i == 0)
            continue;
        l->in_scale = m->layers[i - 1].out_scale;
        l->in_zp = m->layers[i - 1].out_zp;
        if (l->op != NN_OP_ADD) {
            l->out_scale = l->in_scale;
            l->out_zp = l->in_zp;
        }
    }
}

/* Metadata a file may declare about the network it holds (README "Bring your own model"):
 * each must match what cgpc runs for the architecture, else the file is refused, never
 * evaluated as something else. */
static cgpc_status check_declarations(const struct nn_st_file *st, const struct nn_model *m,
                                      struct cgpc_err *err)
{
    int lenet = strcmp(m->arch, "lenet5") == 0;
    char in_size[16], in_c[16], ncls[16];
    snprintf(in_size, sizeof in_size, "%d", m->in_h);
    snprintf(in_c, sizeof in_c, "%d", m->in_c);
    snprintf(ncls, sizeof ncls, "%d", m->nclasses);
    const char *decl[][2] = {
        {"activation", lenet ? "relu" : "relu6"},
        {"pooling", lenet ? "max" : "avg"},
        {"input_size", in_size},
        {"in_channels", in_c},
        {"num_classes", ncls},
    };
    for (size_t i = 0; i < sizeof decl / sizeof decl[0]; i++) {
        const char *v = nn_st_meta_get(st, decl[i][0]);
        if (v && strcmp(v, decl[i][1]) != 0)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s: declares %s '%s', but cgpc's %s runs %s '%s' (see README "
                             "'Bring your own model'); refusing to evaluate it as something else",
                             st->path, decl[i][0], v, m->arch, decl[i][0], decl[i][1]);
    }
    return CGPC_OK;
}

cgpc_status nn_model_load(const char *path, struct nn_model *m, struct cgpc_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    memset(m, 0, sizeof *m);
    cgpc_status s = cgpc_read_file(path, &buf, &len, err);
    return s ? s : nn_model_parse(buf, len, path, m, err);
}

cgpc_status nn_model_parse(unsigned char *buf, size_t len, const char *path, struct nn_model *m,
                           struct cgpc_err *err)
{
    struct nn_st_file st;
    cgpc_status s;
    memset(m, 0, sizeof *m);
    if ((s = nn_st_parse(buf, len, path, &st, err)))
        return s;
    s = cpr_is_compressed(&st) ? cpr_model_decode(&st, m, err) : nn_model_load_st(&st, m, err);
    nn_st_free(&st);
    return s;
}

cgpc_status nn_model_load_st(const struct nn_st_file *file, struct nn_model *m,
                             struct cgpc_err *err)
{
    struct nn_st_file st = *file; /* borrowed: not freed here */
    const char *path = st.path;
    cgpc_status s;
    memset(m, 0, sizeof *m);
    const char *format = nn_st_meta_get(&st, "format");
    const char *arch = nn_st_meta_get(&st, "arch");
    const char *version = nn_st_meta_get(&st, "format_version");
    int q = 0;
    if (format && strcmp(format, LOWBIT_FORMAT) == 0) { /* low-bit weights decoded to float */
        if (!(s = lowbit_load_model(&st, m, err)))
            goto meta;
        goto out;
    }
    if (format && strcmp(format, "cgpc-int8") == 0)
        q = 1;
    else if (format && strcmp(format, "cgpc-float") != 0) {
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                      "%s: unknown model format '%s' (expected cgpc-float, cgpc-int8 or "
                      "cgpc-lowbit)",
                      path, format);
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
        /* PyTorch export without metadata: recognise the architecture by its first tensor */
        const struct nn_st_tensor *t = nn_st_find(&st, "conv1.weight");
        const struct nn_st_tensor *f = nn_st_find(&st, "features.0.0.weight");
        if (f && f->ndim == 4 && f->shape[2] == 3 && f->shape[3] == 3)
            arch = "mobilenetv2";
        else if (t && t->ndim == 4 && t->shape[0] == 6 && t->shape[1] == 1)
            arch = "lenet5";
        else {
            s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                          "%s: not a recognised model: no metadata, no LeNet-5 "
                          "'conv1.weight' [6,1,5,5] and no MobileNetV2 'features.0.0.weight' "
                          "[C,IN,3,3] tensor",
                          path);
            goto out;
        }
    }
    if (strcmp(arch, "lenet5") == 0) {
        /* layer widths from the tensors (reduced-width students), standard when absent */
        int d[4] = {6, 16, 120, 84};
        static const char *wn[4] = {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"};
        for (int k = 0; k < 4; k++)
            d[k] = tensor_dim(&st, wn[k], 0) > 0 ? (int)tensor_dim(&st, wn[k], 0) : d[k];
        s = nn_model_init_lenet5_dims(m, d, err);
    }
    else if (strcmp(arch, "mobilenetv2") == 0)
        s = load_mnv2_arch(&st, m, err);
    else
        s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                      "%s: unsupported arch '%s' (supported: lenet5, mobilenetv2)", path, arch);
    if (s || (s = check_declarations(&st, m, err)))
        goto out;
    if (q) {
        if ((s = nn_model_alloc_int8(m, err)))
            goto out;
        m->quantized = 1;
        m->has_float = 0;
        m->has_bn = 0;
    }
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        s = m->has_bn ? load_train_layer(&st, l, err) : load_layer(&st, l, q, err);
        if (s)
            goto out;
    }
    nn_model_fold_bn(m);
    if (q) {
        for (int i = 0; i < m->nlayers; i++) {
            struct nn_layer *l = &m->layers[i];
            int32_t zp;
            if (l->op == NN_OP_ADD &&
                ((s = copy_scalar(&st, l->name, "output_scale", NN_DT_F32, &l->out_scale, err)) ||
                 (s = copy_scalar(&st, l->name, "output_zero_point", NN_DT_I32, &zp, err))))
                goto out;
            if (l->op == NN_OP_ADD) {
                if (!(l->out_scale > 0) || !isfinite(l->out_scale) || zp < 0 || zp > 255) {
                    s = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                                  "%s: layer '%s': scale must be finite and > 0, zero point "
                                  "in 0..255",
                                  path, l->name);
                    goto out;
                }
                l->out_zp = zp;
            }
        }
        nn_model_chain_scales(m);
        nn_model_update_requant(m);
    }
meta:
    for (int i = 0; i < st.nmeta; i++) {
        const char *k = st.meta[i].key;
        if (strcmp(k, "format") && strcmp(k, "format_version") && strcmp(k, "arch"))
            if ((s = nn_model_set_meta(m, k, st.meta[i].value, err)))
                goto out;
    }
out:
    if (s) {
        cgpc_err_prefix(err, "loading model");
        nn_model_free(m);
    }
    return s;
}

cgpc_status nn_model_save(const struct nn_model *m, const char *path, struct cgpc_err *err)
{
    enum { PER = 8 };
    struct nn_st_out t[NN_MAX_LAYERS * PER];
    char names[NN_MAX_LAYERS * PER][64];
    struct nn_st_meta meta[NN_MAX_META + 4];
    int nt = 0, nm = 0, q = m->quantized, bn = m->has_bn && !q;
    int32_t zps[NN_MAX_LAYERS][2];
    snprintf(meta[nm].key, sizeof meta[nm].key, "format");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", q ? "cgpc-int8" : "cgpc-float");
    snprintf(meta[nm].key, sizeof meta[nm].key, "format_version");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", NN_FORMAT_VERSION);
    snprintf(meta[nm].key, sizeof meta[nm].key, "arch");
    snprintf(meta[nm++].value, sizeof meta[0].value, "%s", m->arch);
    if (strcmp(m->arch, "lenet5") != 0) {
        snprintf(meta[nm].key, sizeof meta[nm].key, "input_size");
        snprintf(meta[nm++].value, sizeof meta[0].value, "%d", m->in_h);
    }
    for (int i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta[i].key, "input_size") != 0)
            meta[nm++] = m->meta[i];
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
#define ADD(prefix, suffix, dt, nd, n0, data_)                                   \
    do {                                                                         \
        snprintf(names[nt], sizeof names[nt], "%s.%s", prefix, suffix);          \
        t[nt].name = names[nt];                                                  \
        t[nt].dtype = (dt);                                                      \
        t[nt].ndim = (nd);                                                       \
        t[nt].shape[0] = (n0);                                                   \
        t[nt].data = (data_);                                                    \
        nt++;                                                                    \
    } while (0)
        zps[i][0] = l->in_zp;
        zps[i][1] = l->out_zp;
        if (q && l->op == NN_OP_ADD) {
            ADD(l->name, "output_scale", NN_DT_F32, 1, 1, &l->out_scale);
            ADD(l->name, "output_zero_point", NN_DT_I32, 1, 1, &zps[i][1]);
        }
        if (!has_weights(l))
            continue;
        int64_t shape[4];
        int nd = nn_layer_weight_shape(l, shape);
        const void *w = q ? (const void *)l->qw : bn ? (const void *)l->tw : (const void *)l->w;
        ADD(l->name, "weight", q ? NN_DT_I8 : NN_DT_F32, nd, 0, w);
        memcpy(t[nt - 1].shape, shape, sizeof shape);
        if (bn && l->bn[0]) {
            ADD(l->bn, "weight", NN_DT_F32, 1, l->out_c, l->bn_w);
            ADD(l->bn, "bias", NN_DT_F32, 1, l->out_c, l->bn_b);
            ADD(l->bn, "running_mean", NN_DT_F32, 1, l->out_c, l->bn_mean);
            ADD(l->bn, "running_var", NN_DT_F32, 1, l->out_c, l->bn_var);
            continue;
        }
        ADD(l->name, "bias", q ? NN_DT_I32 : NN_DT_F32, 1, l->out_c,
            q ? (const void *)l->qb : bn ? (const void *)l->tb : (const void *)l->b);
        if (q) {
            ADD(l->name, "weight_scale", NN_DT_F32, 1, l->out_c, l->w_scale);
            ADD(l->name, "input_scale", NN_DT_F32, 1, 1, &l->in_scale);
            ADD(l->name, "input_zero_point", NN_DT_I32, 1, 1, &zps[i][0]);
            ADD(l->name, "output_scale", NN_DT_F32, 1, 1, &l->out_scale);
            ADD(l->name, "output_zero_point", NN_DT_I32, 1, 1, &zps[i][1]);
        }
#undef ADD
    }
    return nn_st_save(path, t, nt, meta, nm, err);
}
