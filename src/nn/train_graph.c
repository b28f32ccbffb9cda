#include "nn/train_graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "nn/eval.h"
#include "nn/nn_omp.h"
#include "nn/quant.h"
#include "nn/train.h"

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

static size_t out_size(const struct nn_layer *l)
{
    return (size_t)l->out_c * l->out_h * l->out_w;
}

void graph_trainer_free(struct graph_trainer *t)
{
    free(t->acts);
    free(t->grads);
    free(t->xhat);
    free(t->scratch);
    free(t->part);
    free(t->mean);
    free(t->chunk_grad);
    free(t->chunk_loss);
    free(t->chunk_correct);
    free(t->shifted);
    free(t->red);
    free(t->lossv);
    free(t->hit);
    memset(t, 0, sizeof *t);
}

cgpc_status graph_trainer_init(struct graph_trainer *t, const struct nn_model *m, int max_batch,
                               struct cgpc_err *err)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->max_batch = max_batch;
    t->threads = cgpc_max_threads();
    t->np = m->ntrain;
    size_t off = (size_t)m->in_c * m->in_h * m->in_w, xo = 0, bo = 0;
    int maxc = 1;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        t->act_off[i + 1] = off;
        off += out_size(l);
        t->xh_off[i] = xo;
        t->bn_off[i] = bo;
        if (l->bn[0]) {
            xo += out_size(l);
            bo += (size_t)l->out_c;
        }
        maxc = l->out_c > maxc ? l->out_c : maxc;
    }
    t->act_total = off;
    t->xh_total = xo ? xo : 1;
    t->bn_total = bo ? bo : 1;
    t->maxc = maxc;
    size_t nb = (size_t)max_batch, nch = (nb + NN_TRAIN_CHUNK - 1) / NN_TRAIN_CHUNK;
    size_t img = (size_t)m->in_c * m->in_h * m->in_w;
    t->acts = malloc(nb * t->act_total * sizeof(float));
    t->grads = malloc(nb * t->act_total * sizeof(float));
    t->xhat = malloc(nb * t->xh_total * sizeof(float));
    t->scratch = malloc((size_t)t->threads * (m->max_act + m->max_col) * sizeof(float));
    t->part = malloc(nb * 2 * (size_t)maxc * sizeof(double));
    t->mean = malloc(2 * t->bn_total * sizeof(float));
    t->var = t->mean ? t->mean + t->bn_total : NULL;
    t->chunk_grad = malloc(nch * m->ntrain * sizeof(float));
    t->chunk_loss = malloc(nch * sizeof(double));
    t->chunk_correct = malloc(nch * sizeof(int));
    t->shifted = malloc(nb * img);
    t->red = malloc(2 * (size_t)maxc * sizeof *t->red);
    t->lossv = malloc(nb * sizeof *t->lossv);
    t->hit = malloc(nb * sizeof *t->hit);
    if (!t->red || !t->lossv || !t->hit || !t->acts || !t->grads || !t->xhat || !t->scratch || !t->part || !t->mean ||
        !t->chunk_grad || !t->chunk_loss || !t->chunk_correct || !t->shifted) {
        graph_trainer_free(t);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "training buffers for batches of %d", max_batch);
    }
    return CGPC_OK;
}

/* The parameters a layer trains: BN mode - unfolded weight tw, BN gamma/beta (or bias tb),
 * offsets in m->tarena; QAT mode - the folded w/b (BatchNorm frozen), read from t->params
 * (the fake-quantized copy), offsets in m->arena. */
static int use_bn(const struct graph_trainer *t, const struct nn_layer *l)
{
    return !t->qat && l->bn[0];
}

static size_t woff(const struct graph_trainer *t, const struct nn_layer *l)
{
    return t->qat ? (size_t)(l->w - (const float *)t->m->arena)
                  : (size_t)(l->tw - (const float *)t->m->tarena);
}

static size_t boff(const struct graph_trainer *t, const struct nn_layer *l)
{
    return t->qat ? (size_t)(l->b - (const float *)t->m->arena)
                  : (size_t)(l->tb - (const float *)t->m->tarena);
}

static size_t toff(const struct nn_model *m, const float *p)
{
    return (size_t)(p - (const float *)m->tarena);
}

static const float *lw(const struct graph_trainer *t, const struct nn_layer *l)
{
    return t->qat ? t->params + woff(t, l) : l->tw;
}

static const float *lb(const struct graph_trainer *t, const struct nn_layer *l)
{
    return use_bn(t, l) ? NULL : t->qat ? t->params + boff(t, l) : l->tb;
}

/* Per-channel sums over the batch, in sample order: out[c] = sum_s part[s][k*maxc + c]. */
static void reduce_samples(const struct graph_trainer *t, int n, int C, int k, double *out)
{
    NN_OMP(for schedule(static))
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += t->part[(size_t)i * 2 * t->maxc + (size_t)k * t->maxc + (size_t)c];
        out[c] = s;
    }
}

/* Forward of layer li over the batch (inside the parallel region). */
static void layer_forward(struct graph_trainer *t, int li, int n, double *red, float *sc)
{
    const struct nn_model *m = t->m;
    const struct nn_layer *l = &m->layers[li];
    size_t on = out_size(l), hw = (size_t)l->out_h * l->out_w;
    float *col = sc + m->max_act;
    NN_OMP(for schedule(static))
    for (int s = 0; s < n; s++) {
        float *a = t->acts + (size_t)s * t->act_total;
        const float *x = a + t->act_off[li];
        float *y = a + t->act_off[li + 1];
        if (l->op == NN_OP_ADD)
            nn_add(x, a + t->act_off[l->src], on, y);
        else if (l->op == NN_OP_AVGPOOL)
            nn_avgpool2d(x, l->in_c, l->in_h, l->in_w, l->kh, l->stride, y);
        else if (l->op == NN_OP_LINEAR)
            nn_linear(x, l->in_c, lw(t, l), lb(t, l), l->out_c, y);
        else
            nn_conv2d(x, l->in_c, l->in_h, l->in_w, lw(t, l), lb(t, l), l->out_c, l->kh, l->kw,
                      l->stride, l->pad, l->groups, y, col);
        if (use_bn(t, l)) {
            double *p = t->part + (size_t)s * 2 * t->maxc;
            for (int c = 0; c < l->out_c; c++) {
                double sum = 0;
                for (size_t q = 0; q < hw; q++)
                    sum += y[c * hw + q];
                p[c] = sum;
            }
            continue;
        }
        nn_act_forward(l->act, y, on);
        /* QAT: every quantized tensor (conv/linear/add outputs) through its fixed scale */
        if (t->qat && !t->float_acts && (has_weights(l) || l->op == NN_OP_ADD))
            nn_fake_quant_act(y, on, l->out_scale, l->out_zp);
    }
    if (!use_bn(t, l))
        return;
    /* batch mean, then the biased variance from squared deviations (two passes) */
    double cnt = (double)n * (double)hw;
    float *mean = t->mean + t->bn_off[li], *var = t->var + t->bn_off[li];
    reduce_samples(t, n, l->out_c, 0, red);
    NN_OMP(for schedule(static))
    for (int c = 0; c < l->out_c; c++)
        mean[c] = (float)(red[c] / cnt);
    NN_OMP(for schedule(static))
    for (int s = 0; s < n; s++) {
        const float *y = t->acts + (size_t)s * t->act_total + t->act_off[li + 1];
        double *p = t->part + (size_t)s * 2 * t->maxc + t->maxc;
        for (int c = 0; c < l->out_c; c++) {
            double sum = 0;
            for (size_t q = 0; q < hw; q++) {
                double d = (double)y[c * hw + q] - mean[c];
                sum += d * d;
            }
            p[c] = sum;
        }
    }
    reduce_samples(t, n, l->out_c, 1, red);
    NN_OMP(for schedule(static))
    for (int c = 0; c < l->out_c; c++)
        var[c] = (float)(red[c] / cnt);
    NN_OMP(for schedule(static))
    for (int s = 0; s < n; s++) {
        float *y = t->acts + (size_t)s * t->act_total + t->act_off[li + 1];
        float *xh = t->xhat + (size_t)s * t->xh_total + t->xh_off[li];
        for (int c = 0; c < l->out_c; c++) {
            float mu = mean[c], istd = 1.0f / sqrtf(var[c] + NN_BN_EPS);
            float g = l->bn_w[c], b = l->bn_b[c];
            for (size_t q = 0; q < hw; q++) {
                float v = (y[c * hw + q] - mu) * istd;
                xh[c * hw + q] = v;
                y[c * hw + q] = g * v + b;
            }
        }
        nn_act_forward(l->act, y, on);
    }
}

/* dst[n] += src[n] */
static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Backward of layer li over the batch: reads grads at act_off[li+1] (complete: every consumer
 * of this output is later), adds into grads at act_off[li] (and act_off[src] for adds). */
static void layer_backward(struct graph_trainer *t, int li, int n, double *red, float *sc)
{
    const struct nn_model *m = t->m;
    const struct nn_layer *l = &m->layers[li];
    size_t on = out_size(l), in_n = (size_t)l->in_c * l->in_h * l->in_w;
    size_t hw = (size_t)l->out_h * l->out_w;
    int nchunks = (n + NN_TRAIN_CHUNK - 1) / NN_TRAIN_CHUNK;
    float *tmp = sc, *col = sc + m->max_act;
    if (!has_weights(l)) {
        NN_OMP(for schedule(static))
        for (int s = 0; s < n; s++) {
            float *g = t->grads + (size_t)s * t->act_total;
            const float *dy = g + t->act_off[li + 1];
            if (l->op == NN_OP_ADD) {
                add_into(g + t->act_off[li], dy, on);
                add_into(g + t->act_off[l->src], dy, on);
            } else {
                nn_avgpool2d_backward(dy, l->in_c, l->in_h, l->in_w, l->kh, l->stride, tmp);
                add_into(g + t->act_off[li], tmp, in_n);
            }
        }
        return;
    }
    NN_OMP(for schedule(static))
    for (int s = 0; s < n; s++) {
        float *dy = t->grads + (size_t)s * t->act_total + t->act_off[li + 1];
        nn_act_backward(l->act, t->acts + (size_t)s * t->act_total + t->act_off[li + 1], dy, on);
        if (use_bn(t, l)) {
            const float *xh = t->xhat + (size_t)s * t->xh_total + t->xh_off[li];
            double *p = t->part + (size_t)s * 2 * t->maxc;
            for (int c = 0; c < l->out_c; c++) {
                double sd = 0, sdx = 0;
                for (size_t q = 0; q < hw; q++) {
                    sd += dy[c * hw + q];
                    sdx += (double)dy[c * hw + q] * xh[c * hw + q];
                }
                p[c] = sd;
                p[t->maxc + c] = sdx;
            }
        }
    }
    if (use_bn(t, l)) {
        /* dbeta = sum dy, dgamma = sum dy*xhat (into chunk 0's gradient, reduced later);
         * dz = gamma*istd/N * (N*dy - sum dy - xhat * sum dy*xhat) */
        double *sdy = red, *sdx = red + t->maxc;
        reduce_samples(t, n, l->out_c, 0, sdy);
        reduce_samples(t, n, l->out_c, 1, sdx);
        float *g0 = t->chunk_grad;
        NN_OMP(for schedule(static))
        for (int c = 0; c < l->out_c; c++) {
            g0[toff(m, l->bn_b) + (size_t)c] += (float)sdy[c];
            g0[toff(m, l->bn_w) + (size_t)c] += (float)sdx[c];
        }
        double cnt = (double)n * (double)hw;
        const float *var = t->var + t->bn_off[li];
        NN_OMP(for schedule(static))
        for (int s = 0; s < n; s++) {
            float *dy = t->grads + (size_t)s * t->act_total + t->act_off[li + 1];
            const float *xh = t->xhat + (size_t)s * t->xh_total + t->xh_off[li];
            for (int c = 0; c < l->out_c; c++) {
                float k = l->bn_w[c] / sqrtf(var[c] + NN_BN_EPS);
                float mdy = (float)(sdy[c] / cnt), mdx = (float)(sdx[c] / cnt);
                for (size_t q = 0; q < hw; q++)
                    dy[c * hw + q] = k * (dy[c * hw + q] - mdy - xh[c * hw + q] * mdx);
            }
        }
    }
    /* weight gradients per chunk (samples in order), dx added into the input's gradient */
    NN_OMP(for schedule(static))
    for (int c = 0; c < nchunks; c++) {
        float *cg = t->chunk_grad + t->np * (size_t)c;
        for (int s = c * NN_TRAIN_CHUNK; s < n && s < (c + 1) * NN_TRAIN_CHUNK; s++) {
            const float *a = t->acts + (size_t)s * t->act_total;
            float *g = t->grads + (size_t)s * t->act_total;
            const float *x = a + t->act_off[li], *dy = g + t->act_off[li + 1];
            float *dx = li > 0 ? tmp : NULL;
            if (l->op == NN_OP_LINEAR)
                nn_linear_backward(x, l->in_c, lw(t, l), l->out_c, dy, dx, cg + woff(t, l),
                                   cg + boff(t, l));
            else
                nn_conv2d_backward(x, l->in_c, l->in_h, l->in_w, lw(t, l), l->out_c, l->kh,
                                   l->kw, l->stride, l->pad, l->groups, dy, dx, cg + woff(t, l),
                                   use_bn(t, l) ? NULL : cg + boff(t, l), col);
            if (dx)
                add_into(g + t->act_off[li], dx, in_n);
        }
    }
}

void graph_batch_gradient(struct graph_trainer *t, const struct nn_dataset *ds, const int *idx,
                          int n, float *grad, double *loss_sum, int *correct)
{
    const struct nn_model *m = t->m;
    int nchunks = (n + NN_TRAIN_CHUNK - 1) / NN_TRAIN_CHUNK;
    size_t img = (size_t)ds->rows * ds->cols, np = t->np;
    const struct nn_layer *last = &m->layers[m->nlayers - 1];
    int nc = last->out_c;
    double *red = t->red;
    float *lossv = t->lossv;
    int *hit = t->hit;
NN_OMP(parallel num_threads(t->threads))
    {
        float *sc = t->scratch + (size_t)cgpc_thread_id() * (m->max_act + m->max_col);
        NN_OMP(for schedule(static))
        for (int c = 0; c < nchunks; c++)
            memset(t->chunk_grad + np * (size_t)c, 0, np * sizeof(float));
        NN_OMP(for schedule(static))
        for (int s = 0; s < n; s++) {
            const uint8_t *pix = nn_train_image(ds, idx[s], t->shift, t->seed, t->epoch,
                                                t->shifted + (size_t)s * img);
            nn_input_normalize(m, pix, t->acts + (size_t)s * t->act_total);
            if (t->qat && !t->float_acts)
                nn_fake_quant_act(t->acts + (size_t)s * t->act_total,
                                  (size_t)m->in_c * m->in_h * m->in_w, m->layers[0].in_scale,
                                  m->layers[0].in_zp);
            memset(t->grads + (size_t)s * t->act_total, 0, t->act_total * sizeof(float));
        }
        for (int li = 0; li < m->nlayers; li++)
            layer_forward(t, li, n, red, sc);
        NN_OMP(for schedule(static))
        for (int s = 0; s < n; s++) {
            const float *lg = t->acts + (size_t)s * t->act_total + t->act_off[m->nlayers];
            float *dl = t->grads + (size_t)s * t->act_total + t->act_off[m->nlayers];
            int y = ds->labels[idx[s]], best = 0;
            for (int c = 1; c < nc; c++)
                best = lg[c] > lg[best] ? c : best;
            hit[s] = best == y;
            lossv[s] = t->teacher ? nn_distill_xent(lg, nc, y, t->teacher + (size_t)idx[s] * nc,
                                                    t->temp, t->alpha, dl)
                                  : nn_softmax_xent(lg, nc, y, dl);
        }
        for (int li = m->nlayers - 1; li >= 0; li--)
            layer_backward(t, li, n, red, sc);
        float inv = 1.0f / (float)n;
        NN_OMP(for schedule(static))
        for (size_t p = 0; p < np; p++) {
            float s = 0.0f;
            for (int c = 0; c < nchunks; c++)
                s += t->chunk_grad[np * (size_t)c + p];
            grad[p] = s * inv;
        }
    }
    *loss_sum = 0;
    *correct = 0;
    for (int s = 0; s < n; s++) {
        *loss_sum += lossv[s];
        *correct += hit[s];
    }
}

void graph_trainer_update_stats(const struct graph_trainer *t, struct nn_model *m, int n)
{
    for (int li = 0; li < m->nlayers; li++) {
        struct nn_layer *l = &m->layers[li];
        if (!l->bn[0])
            continue;
        double cnt = (double)n * l->out_h * l->out_w;
        float unb = cnt > 1 ? (float)(cnt / (cnt - 1)) : 1.0f;
        for (int c = 0; c < l->out_c; c++) {
            l->bn_mean[c] = (1 - NN_BN_MOMENTUM) * l->bn_mean[c] +
                            NN_BN_MOMENTUM * t->mean[t->bn_off[li] + (size_t)c];
            l->bn_var[c] = (1 - NN_BN_MOMENTUM) * l->bn_var[c] +
                           NN_BN_MOMENTUM * t->var[t->bn_off[li] + (size_t)c] * unb;
        }
    }
}
