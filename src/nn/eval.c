#include "nn/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "nn/batch.h"
#include "nn/nn_omp.h"

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

size_t nn_forward_scratch_size(const struct nn_model *m)
{
    /* three activations (current, next, residual input) + im2col, in floats (int8 needs a
     * quarter of it) */
    return 3 * align64(m->max_act * sizeof(float)) + align64(m->max_col * sizeof(float));
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

void nn_forward_float(const struct nn_model *m, const uint8_t *pixels, float *logits,
                      void *scratch)
{
    unsigned char *s = scratch;
    size_t abytes = align64(m->max_act * sizeof(float));
    float *cur = (float *)(void *)s, *nxt = (float *)(void *)(s + abytes);
    float *skip = (float *)(void *)(s + 2 * abytes), *col = (float *)(void *)(s + 3 * abytes);
    nn_input_normalize(m, pixels, cur);
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        float *y = i == m->nlayers - 1 ? logits : nxt;
        nn_layer_forward(l, l->w, l->b, cur, skip, y, col, NULL);
        if (l->keep)
            memcpy(skip, y, (size_t)l->out_c * l->out_h * l->out_w * sizeof *y);
        float *t = cur;
        cur = y;
        nxt = t;
    }
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

void nn_forward_int8(const struct nn_model *m, const uint8_t *pixels, float *logits,
                     void *scratch)
{
    unsigned char *s = scratch;
    size_t abytes = align64(m->max_act);
    uint8_t *cur = s, *nxt = s + abytes, *skip = s + 2 * abytes, *col = s + 3 * abytes;
    const struct nn_layer *first = &m->layers[0];
    int n = m->in_c * m->in_h * m->in_w;
    float inv = 1.0f / first->in_scale;
    for (int i = 0; i < n; i++) {
        float x = ((float)pixels[i] / 255.0f - m->in_mean) / m->in_std;
        cur[i] = (uint8_t)nn_quantize_value(x, inv, first->in_zp, 0, 255);
    }
    int zp = first->in_zp;
    float scale = first->in_scale;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        int qmin, qmax;
        switch (l->op) {
        case NN_OP_CONV2D:
            nn_layer_qclamp(l, &qmin, &qmax);
            nn_qconv2d(cur, l->in_zp, l->in_c, l->in_h, l->in_w, l->qw, l->qb, l->out_c, l->kh,
                       l->kw, l->stride, l->pad, l->groups, l->qmult, l->out_zp, qmin, qmax,
                       nxt, col);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        case NN_OP_LINEAR:
            nn_layer_qclamp(l, &qmin, &qmax);
            nn_qlinear(cur, l->in_zp, l->in_c, l->qw, l->qb, l->out_c, l->qmult, l->out_zp,
                       qmin, qmax, nxt);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        case NN_OP_MAXPOOL:
            nn_qmaxpool2d(cur, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_AVGPOOL:
            nn_qavgpool2d(cur, zp, l->in_c, l->in_h, l->in_w, l->kh, l->stride, nxt);
            break;
        case NN_OP_ADD: {
            const struct nn_layer *sl = &m->layers[l->src - 1];
            nn_qadd(cur, scale, zp, skip, sl->out_scale, sl->out_zp,
                    (size_t)l->out_c * l->out_h * l->out_w, l->out_scale, l->out_zp, nxt);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        }
        }
        if (l->keep)
            memcpy(skip, nxt, (size_t)l->out_c * l->out_h * l->out_w);
        uint8_t *t = cur;
        cur = nxt;
        nxt = t;
    }
    for (int c = 0; c < m->nclasses; c++)
        logits[c] = nn_dequantize_value(cur[c], scale, zp);
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
