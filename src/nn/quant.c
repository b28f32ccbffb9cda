#include "nn/quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "nn/nn_omp.h"
#include "nn/eval.h"

void nn_qparams_affine(float lo, float hi, float *scale, int *zero_point)
{
    lo = lo < 0.0f ? lo : 0.0f;
    hi = hi > 0.0f ? hi : 0.0f;
    float s = (hi - lo) / 255.0f;
    s = s > FLT_EPSILON ? s : FLT_EPSILON;
    long zp = -lrintf(lo / s);
    *scale = s;
    *zero_point = (int)(zp < 0 ? 0 : zp > 255 ? 255 : zp);
}

float nn_weight_scale(const float *w, size_t n)
{
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++)
        amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
    float s = amax / 127.5f;
    return s > FLT_EPSILON ? s : FLT_EPSILON;
}

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

void nn_fake_quant_weights(const struct nn_layer *l, const float *w, float *out)
{
    size_t per = (size_t)(l->nweights / l->out_c);
    for (int c = 0; c < l->out_c; c++) {
        const float *wc = w + (size_t)c * per;
        float s = nn_weight_scale(wc, per), inv = 1.0f / s;
        for (size_t k = 0; k < per; k++)
            out[(size_t)c * per + k] = (float)nn_quantize_value(wc[k], inv, 0, -128, 127) * s;
    }
}

void nn_fake_quant_act(float *x, size_t n, float scale, int zero_point)
{
    float inv = 1.0f / scale;
    for (size_t i = 0; i < n; i++)
        x[i] = nn_dequantize_value(nn_quantize_value(x[i], inv, zero_point, 0, 255), scale,
                                   zero_point);
}

void nn_quantize_weights(struct nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        size_t per = (size_t)(l->nweights / l->out_c);
        for (int c = 0; c < l->out_c; c++) {
            float s = nn_weight_scale(l->w + (size_t)c * per, per), inv = 1.0f / s;
            l->w_scale[c] = s;
            for (size_t k = 0; k < per; k++)
                l->qw[(size_t)c * per + k] =
                    (int8_t)nn_quantize_value(l->w[(size_t)c * per + k], inv, 0, -128, 127);
            double bq = nearbyint((double)l->b[c] / ((double)l->in_scale * s));
            bq = bq > 2147483647.0 ? 2147483647.0 : bq < -2147483648.0 ? -2147483648.0 : bq;
            l->qb[c] = (int32_t)bq;
        }
    }
    m->quantized = 1;
    nn_model_update_requant(m);
}

/* Float forward of one image recording min/max of the input and of each layer's output. */
static void observe(const struct nn_model *m, const uint8_t *pix, float *a, float *b,
                    float *skip, float *col, float *lo, float *hi)
{
    int n = m->in_c * m->in_h * m->in_w;
    nn_input_normalize(m, pix, a);
    for (int k = 0; k < n; k++) {
        lo[0] = a[k] < lo[0] ? a[k] : lo[0];
        hi[0] = a[k] > hi[0] ? a[k] : hi[0];
    }
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        size_t on = (size_t)l->out_c * l->out_h * l->out_w;
        nn_layer_forward(l, l->w, l->b, a, skip, b, col, NULL);
        if (l->keep)
            memcpy(skip, b, on * sizeof *b);
        for (size_t k = 0; k < on; k++) {
            lo[i + 1] = b[k] < lo[i + 1] ? b[k] : lo[i + 1];
            hi[i + 1] = b[k] > hi[i + 1] ? b[k] : hi[i + 1];
        }
        float *t = a;
        a = b;
        b = t;
    }
}

cgpc_status nn_calibrate(struct nn_model *m, const struct nn_dataset *ds, int limit,
                         struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    if (!m->has_float)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "calibration needs a float model");
    if (ds->rows * ds->cols != m->in_c * m->in_h * m->in_w)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: images are %dx%d, the model takes %dx%d",
                         ds->path, ds->rows, ds->cols, m->in_h, m->in_w);
    if (!m->qarena && (st = nn_model_alloc_int8(m, err)))
        return st;
    int n = limit > 0 && limit < ds->n ? limit : ds->n, nt = cgpc_max_threads();
    int nl = m->nlayers + 1;
    size_t per = 3 * m->max_act + m->max_col + 2 * (size_t)nl;
    float *work = malloc(per * (size_t)nt * sizeof *work);
    if (!work)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "calibration scratch");
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < nl; i++) {
            work[per * t + 3 * m->max_act + m->max_col + i] = INFINITY;
            work[per * t + 3 * m->max_act + m->max_col + nl + i] = -INFINITY;
        }
    size_t img = (size_t)ds->rows * ds->cols;
NN_OMP(parallel num_threads(nt))
    {
        float *w = work + per * (size_t)cgpc_thread_id();
        float *lo = w + 3 * m->max_act + m->max_col;
NN_OMP(for schedule(static))
        for (int i = 0; i < n; i++)
            observe(m, ds->images + (size_t)i * img, w, w + m->max_act, w + 2 * m->max_act,
                    w + 3 * m->max_act, lo, lo + nl);
    }
    /* min/max are exact and order-free: the combination does not depend on threads */
    float lo[NN_MAX_LAYERS + 1], hi[NN_MAX_LAYERS + 1];
    for (int i = 0; i < nl; i++) {
        lo[i] = INFINITY;
        hi[i] = -INFINITY;
        for (int t = 0; t < nt; t++) {
            float *l_ = work + per * (size_t)t + 3 * m->max_act + m->max_col;
            lo[i] = l_[i] < lo[i] ? l_[i] : lo[i];
            hi[i] = l_[nl + i] > hi[i] ? l_[nl + i] : hi[i];
        }
    }
    free(work);
    float scale;
    int zp;
    nn_qparams_affine(lo[0], hi[0], &scale, &zp);
    for (int i = 0; i < m->nlayers; i++) {
        struct nn_layer *l = &m->layers[i];
        if (!has_weights(l) && l->op != NN_OP_ADD) {
            l->in_scale = l->out_scale = scale; /* pools keep their input's scale */
            l->in_zp = l->out_zp = zp;
            continue;
        }
        l->in_scale = scale;
        l->in_zp = zp;
        nn_qparams_affine(lo[i + 1], hi[i + 1], &l->out_scale, &l->out_zp);
        scale = l->out_scale;
        zp = l->out_zp;
    }
    return CGPC_OK;
}

cgpc_status nn_quantize_model(struct nn_model *m, const struct nn_dataset *ds, int limit,
                              struct cgpc_err *err)
{
    cgpc_status st = nn_calibrate(m, ds, limit, err);
    if (st)
        return st;
    nn_quantize_weights(m);
    return CGPC_OK;
}
