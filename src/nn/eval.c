#include "nn/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "nn/batch.h"
#include "nn/nn_omp.h"
#include "nn/walk.h"

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

size_t nn_forward_scratch_size(const struct nn_model *m)
{
    /* three activations (current, next, residual input) + im2col, in floats (int8 needs a
     * quarter of it); the walker's layout (walk.h) */
    return 3 * nn_walk_act_bytes(m, 1, 0) + align64(m->max_col * sizeof(float));
}

void nn_input_normalize(const struct nn_model *m, const uint8_t *pixels, float *x)
{
    int n = m->in_c * m->in_h * m->in_w;
    for (int i = 0; i < n; i++)
        x[i] = ((float)pixels[i] / 255.0f - m->in_mean) / m->in_std;
}

void nn_layer_forward(const struct nn_layer *l, const float *w, const float *b, const float *x,
                      const float *skip, float *y, float *col, int32_t *arg)
{
    switch (l->op) {
    case NN_OP_CONV2D:
        nn_conv2d(x, l->in_c, l->in_h, l->in_w, w, b, l->out_c, l->kh, l->kw, l->stride, l->pad,
                  l->groups, y, col);
        break;
    case NN_OP_LINEAR:
        nn_linear(x, l->in_c, w, b, l->out_c, y);
        break;
    case NN_OP_MAXPOOL:
        nn_maxpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y, arg);
        break;
    case NN_OP_AVGPOOL:
        nn_avgpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
        break;
    case NN_OP_ADD:
        nn_add(x, skip, (size_t)l->out_c * l->out_h * l->out_w, y);
        break;
    }
    nn_act_forward(l->act, y, (size_t)l->out_c * l->out_h * l->out_w);
}

/* The per-image layout's kernels for the layer walker (walk.h): lanes = 1. */
static void img_conv(const struct nn_layer *l, const float *x, float *y, void *col)
{
    nn_layer_forward(l, l->w, l->b, x, NULL, y, col, NULL);
}

static void img_maxpool(const struct nn_layer *l, const float *x, float *y)
{
    nn_maxpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y, NULL);
}

static void img_avgpool(const struct nn_layer *l, const float *x, float *y)
{
    nn_avgpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static const struct nn_walk_f32 img_f32 = {1, img_conv, img_conv, img_maxpool, img_avgpool};

void nn_forward_float(const struct nn_model *m, const uint8_t *pixels, float *logits,
                      void *scratch)
{
    nn_walk_float(m, &img_f32, pixels, 1, logits, scratch);
}

void nn_layer_qclamp(const struct nn_layer *l, int *qmin, int *qmax)
{
    *qmin = 0;
    *qmax = 255;
    if (l->act == NN_ACT_RELU || l->act == NN_ACT_RELU6)
        *qmin = l->out_zp;
    if (l->act == NN_ACT_RELU6) {
        int six = nn_quantize_value(6.0f, 1.0f / l->out_scale, l->out_zp, 0, 255);
        *qmax = six;
    }
}

static void img_qconv(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax,
                      uint8_t *y, void *col)
{
    nn_qconv2d(x, l->in_zp, l->in_c, l->in_h, l->in_w, l->qw, l->qb, l->out_c, l->kh, l->kw,
               l->stride, l->pad, l->groups, l->qmult, l->out_zp, qmin, qmax, y, col);
}

static void img_qlinear(const struct nn_layer *l, const uint8_t *x, int qmin, int qmax,
                        uint8_t *y, void *col)
{
    (void)col;
    nn_qlinear(x, l->in_zp, l->in_c, l->qw, l->qb, l->out_c, l->qmult, l->out_zp, qmin, qmax, y);
}

static void img_qmaxpool(const struct nn_layer *l, const uint8_t *x, uint8_t *y)
{
    nn_qmaxpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static void img_qavgpool(const struct nn_layer *l, const uint8_t *x, int zp, uint8_t *y)
{
    nn_qavgpool2d(x, zp, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
}

static const struct nn_walk_u8 img_u8 = {1, img_qconv, img_qlinear, img_qmaxpool, img_qavgpool};

void nn_forward_int8(const struct nn_model *m, const uint8_t *pixels, float *logits,
                     void *scratch)
{
    nn_walk_int8(m, &img_u8, pixels, 1, logits, scratch);
}

void nn_forward(const struct nn_model *m, const uint8_t *pixels, float *logits, void *scratch)
{
    if (m->quantized)
        nn_forward_int8(m, pixels, logits, scratch);
    else
        nn_forward_float(m, pixels, logits, scratch);
}

cgpc_status nn_eval(const struct nn_model *m, const struct nn_dataset *ds,
                    const struct nn_eval_opts *opts, struct nn_eval_result *res,
                    struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    memset(res, 0, sizeof *res);
    if (ds->rows * ds->cols != m->in_h * m->in_w * m->in_c)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: images are %dx%d but the %s model takes %dx%dx%d",
                         ds->path, ds->rows, ds->cols, m->arch, m->in_c, m->in_h, m->in_w);
    if (!m->quantized && !m->has_float)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "model has no parameters");
    int n = ds->n;
    if (opts && opts->limit > 0 && opts->limit < n)
        n = opts->limit;
    int nt = cgpc_max_threads(), nc = m->nclasses, nbatches = (n + NN_BATCH - 1) / NN_BATCH;
    size_t ss = align64(nn_batch_scratch_size(m)) + align64((size_t)NN_BATCH * nc * sizeof(float));
    unsigned char *scratch = aligned_alloc(64, ss * (size_t)nt);
    float *loss = malloc((size_t)(n ? n : 1) * sizeof *loss);
    unsigned char *hit = malloc((size_t)(n ? n : 1) * 2);
    if (!scratch || !loss || !hit) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "evaluation scratch");
        goto out;
    }
    size_t img = (size_t)ds->rows * ds->cols;
    float *out_logits = opts ? opts->logits : NULL;
    /* start the thread team before the clock: the timing measures forward passes only */
    NN_OMP(parallel num_threads(nt))
    {
        (void)0;
    }
    double t0 = cgpc_wtime();
NN_OMP(parallel num_threads(nt))
    {
        unsigned char *sc = scratch + ss * (size_t)cgpc_thread_id();
        float *lg = (float *)(void *)(sc + align64(nn_batch_scratch_size(m)));
        /* batches of NN_BATCH images (nn_forward_batch): an image's logits do not depend on
         * its batch, so any thread count gives the same results */
NN_OMP(for schedule(static))
        for (int bi = 0; bi < nbatches; bi++) {
            int i0 = bi * NN_BATCH, bn = n - i0 < NN_BATCH ? n - i0 : NN_BATCH;
            float *lb = out_logits ? out_logits + (size_t)i0 * nc : lg;
            nn_forward_batch(m, ds->images + (size_t)i0 * img, bn, lb, sc);
            for (int i = i0; i < i0 + bn; i++) {
                const float *li = lb + (size_t)(i - i0) * nc;
                int y = ds->labels[i], above = 0;
                for (int c = 0; c < nc; c++)
                    above += li[c] > li[y] || (li[c] == li[y] && c < y);
                int ok = !isnan(li[y]); /* a NaN logit is never a hit */
                hit[2 * i] = ok && above == 0;
                hit[2 * i + 1] = ok && above < 5;
                loss[i] = nn_softmax_xent(li, nc, y, NULL);
            }
        }
    }
    res->seconds = cgpc_wtime() - t0;
    double ls = 0;
    long h1 = 0, h5 = 0;
    for (int i = 0; i < n; i++) {
        ls += loss[i];
        h1 += hit[2 * i];
        h5 += hit[2 * i + 1];
    }
    res->images = n;
    if (n > 0) {
        res->top1 = (double)h1 / n;
        res->top5 = (double)h5 / n;
        res->loss = ls / n;
    }
out:
    free(scratch);
    free(loss);
    free(hit);
    return st;
}

cgpc_status nn_eval_features(const struct nn_model *m, const struct nn_dataset *ds, int layer,
                             float *out, struct cgpc_err *err)
{
    if (layer < 0 || layer >= m->nlayers)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "layer %d: the model has %d", layer, m->nlayers);
    if (ds->rows * ds->cols != m->in_h * m->in_w * m->in_c)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: images are %dx%d but the %s model takes %dx%dx%d",
                         ds->path, ds->rows, ds->cols, m->arch, m->in_c, m->in_h, m->in_w);
    struct nn_model *t = malloc(sizeof *t);
    if (!t)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "feature model");
    *t = *m; /* borrows the parameter arenas: the first layer+1 layers, their output read */
    const struct nn_layer *l = &m->layers[layer];
    t->nlayers = layer + 1;
    t->nclasses = l->out_c * l->out_h * l->out_w;
    int nt = cgpc_max_threads(), nbatches = (ds->n + NN_BATCH - 1) / NN_BATCH;
    size_t ss = align64(nn_batch_scratch_size(t)), img = (size_t)ds->rows * ds->cols;
    unsigned char *scratch = aligned_alloc(64, ss * (size_t)nt);
    if (!scratch) {
        free(t);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "feature scratch");
    }
NN_OMP(parallel num_threads(nt))
    {
        unsigned char *sc = scratch + ss * (size_t)cgpc_thread_id();
NN_OMP(for schedule(static))
        for (int bi = 0; bi < nbatches; bi++) {
            int i0 = bi * NN_BATCH, bn = ds->n - i0 < NN_BATCH ? ds->n - i0 : NN_BATCH;
            nn_forward_batch(t, ds->images + (size_t)i0 * img, bn,
                             out + (size_t)i0 * (size_t)t->nclasses, sc);
        }
    }
    free(scratch);
    free(t);
    return CGPC_OK;
}
