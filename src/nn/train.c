#include "nn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parallel.h"
#include "nn/nn_omp.h"
#include "common/rng.h"
#include "nn/eval.h"
#include "nn/quant.h"
#include "nn/train_graph.h"

void nn_train_defaults(struct nn_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 10;
    o->batch = 64;
    o->lr = 1e-3;
    o->optim = NN_OPTIM_ADAM;
    o->momentum = 0.9;
    o->cosine = 1;
    o->seed = 1;
    o->temperature = 4;
    o->alpha = 0.9;
    o->hint_layer = -1;
    o->hint_weight = 1;
}

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

/* Everything one batch gradient needs; sized once. */
struct trainer {
    const struct nn_model *m;
    const float *params; /* weights used by forward/backward: the arena or fake-quantized copy */
    size_t np;           /* parameter count (floats in the arena) */
    size_t ng;           /* gradient floats: np, then the hint regressor's nreg */
    const float *hint;   /* hint targets per training image, or NULL (nn_train_opts) */
    int hint_layer, hint_c, hint_hw;
    float hint_w;
    const float *reg;    /* hint regressor [hint_c][Cs] + [hint_c], NULL: identity */
    size_t act_off[NN_MAX_LAYERS + 1], act_total; /* per-sample activation record */
    size_t arg_off[NN_MAX_LAYERS], arg_total;     /* maxpool argmax record */
    size_t work_floats;  /* per-thread: acts + 2 gradient buffers + col + input image */
    int qat;
    int shift;
    const float *teacher; /* distillation: teacher logits per training image, or NULL */
    float temp, alpha;
    uint64_t seed, epoch;
    float *work;         /* [threads][work_floats] */
    int32_t *args;       /* [threads][arg_total] */
    float *chunk_grad;   /* [max chunks][np] */
    double *chunk_loss;
    int *chunk_correct;
    int max_chunks, threads;
};

static void trainer_free(struct trainer *t)
{
    free(t->work);
    free(t->args);
    free(t->chunk_grad);
    free(t->chunk_loss);
    free(t->chunk_correct);
}

static cgpc_status trainer_init(struct trainer *t, const struct nn_model *m, int max_batch,
                                size_t nreg, struct cgpc_err *err)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->params = m->arena;
    t->np = (size_t)nn_model_param_count(m);
    t->ng = t->np + nreg;
    size_t off = 0, aoff = 0;
    t->act_off[0] = 0;
    off += (size_t)m->in_c * m->in_h * m->in_w;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        t->act_off[i + 1] = off;
        off += (size_t)l->out_c * l->out_h * l->out_w;
        t->arg_off[i] = aoff;
        if (l->op == NN_OP_MAXPOOL)
            aoff += (size_t)l->out_c * l->out_h * l->out_w;
    }
    t->act_total = off;
    t->arg_total = aoff ? aoff : 1;
    size_t img = (size_t)m->in_c * m->in_h * m->in_w;
    t->work_floats = t->act_total + 2 * m->max_act + m->max_col + img;
    t->threads = cgpc_max_threads();
    t->max_chunks = (max_batch + NN_TRAIN_CHUNK - 1) / NN_TRAIN_CHUNK;
    t->work = malloc(t->work_floats * (size_t)t->threads * sizeof *t->work);
    t->args = malloc(t->arg_total * (size_t)t->threads * sizeof *t->args);
    t->chunk_grad = malloc(t->ng * (size_t)t->max_chunks * sizeof *t->chunk_grad);
    t->chunk_loss = malloc((size_t)t->max_chunks * sizeof *t->chunk_loss);
    t->chunk_correct = malloc((size_t)t->max_chunks * sizeof *t->chunk_correct);
    if (!t->work || !t->args || !t->chunk_grad || !t->chunk_loss || !t->chunk_correct) {
        trainer_free(t);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "training buffers");
    }
    return CGPC_OK;
}

/* Offset of a parameter pointer within the float arena. */
static size_t poff(const struct nn_model *m, const float *p)
{
    return (size_t)(p - (const float *)m->arena);
}

/* Forward one (already shifted) image, recording every activation. */
static void sample_forward(const struct trainer *t, const uint8_t *pix, float *acts,
                           int32_t *args, float *col)
{
    const struct nn_model *m = t->m;
    float *x = acts;
    nn_input_normalize(m, pix, x);
    if (t->qat)
        nn_fake_quant_act(x, (size_t)m->in_c * m->in_h * m->in_w, m->layers[0].in_scale,
                          m->layers[0].in_zp);
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        const float *w = has_weights(l) ? t->params + poff(m, l->w) : NULL;
        const float *b = has_weights(l) ? t->params + poff(m, l->b) : NULL;
        float *y = acts + t->act_off[i + 1];
        nn_layer_forward(l, w, b, acts + t->act_off[i], NULL, y, col, args + t->arg_off[i]);
        if (t->qat && has_weights(l))
            nn_fake_quant_act(y, (size_t)l->out_c * l->out_h * l->out_w, l->out_scale,
                              l->out_zp);
    }
}

/* Distillation loss of one sample (see nn_train_opts) and its gradient dz wrt the student
 * logits z[n], from the teacher logits tz[n]. */
float nn_distill_xent(const float *z, int n, int label, const float *tz, float temp,
                      float alpha, float *dz)
{
    enum { MAXC = 1024 };
    double ps[MAXC], pt[MAXC], zs = 0, ts = 0, kl = 0;
    CGPC_ASSERT(n <= MAXC);
    float hard = nn_softmax_xent(z, n, label, dz);
    double zm = z[0], tm = tz[0];
    for (int c = 1; c < n; c++) {
        zm = z[c] > zm ? z[c] : zm;
        tm = tz[c] > tm ? tz[c] : tm;
    }
    for (int c = 0; c < n; c++) {
        ps[c] = exp(((double)z[c] - zm) / temp);
        pt[c] = exp(((double)tz[c] - tm) / temp);
        zs += ps[c];
        ts += pt[c];
    }
    for (int c = 0; c < n; c++) {
        ps[c] /= zs;
        pt[c] /= ts;
        if (pt[c] > 0)
            kl += pt[c] * (log(pt[c]) - log(ps[c] > 1e-300 ? ps[c] : 1e-300));
        dz[c] = (float)((1.0 - alpha) * dz[c] + (double)alpha * temp * (ps[c] - pt[c]));
    }
    return (float)((1.0 - alpha) * hard + (double)alpha * temp * temp * kl);
}

/* The hint term of one sample (nn_train_opts): adds its gradient wrt the student activation y
 * [Cs][HW] into gy, the regressor's into greg (weights, then biases); returns the loss. */
static float hint_loss(const struct trainer *t, const float *y, int cs, int sample, float *gy,
                       float *greg)
{
    int hw = t->hint_hw, ct = t->hint_c;
    const float *tg = t->hint + (size_t)sample * (size_t)ct * (size_t)hw;
    const float *rw = t->reg, *rb = t->reg ? t->reg + (size_t)ct * (size_t)cs : NULL;
    float *gw = greg, *gbias = greg ? greg + (size_t)ct * (size_t)cs : NULL;
    double loss = 0, scale = 2.0 * t->hint_w / ((double)ct * hw);
    for (int p = 0; p < hw; p++)
        for (int c = 0; c < ct; c++) {
            double r = rw ? rb[c] : y[(size_t)c * hw + p];
            for (int k = 0; rw && k < cs; k++)
                r += (double)rw[(size_t)c * cs + k] * y[(size_t)k * hw + p];
            double d = r - tg[(size_t)c * hw + p];
            loss += d * d;
            float dr = (float)(scale * d);
            if (!rw) {
                gy[(size_t)c * hw + p] += dr;
                continue;
            }
            gbias[c] += dr;
            for (int k = 0; k < cs; k++) {
                gw[(size_t)c * cs + k] += dr * y[(size_t)k * hw + p];
                gy[(size_t)k * hw + p] += rw[(size_t)c * cs + k] * dr;
            }
        }
    return (float)(t->hint_w * loss / ((double)ct * hw));
}

/* Backward one sample (training image `sample`); accumulates into grad; returns the loss. */
static float sample_backward(const struct trainer *t, const float *acts, const int32_t *args,
                             int label, int sample, float *grad, float *ga, float *gb,
                             float *col, int *correct)
{
    const struct nn_model *m = t->m;
    const struct nn_layer *last = &m->layers[m->nlayers - 1];
    const float *logits = acts + t->act_off[m->nlayers];
    int best = 0;
    for (int c = 1; c < last->out_c; c++)
        best = logits[c] > logits[best] ? c : best;
    *correct += best == label;
    float loss = t->teacher ? nn_distill_xent(logits, last->out_c, label,
                                           t->teacher + (size_t)sample * (size_t)last->out_c,
                                           t->temp, t->alpha, ga)
                            : nn_softmax_xent(logits, last->out_c, label, ga);
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const struct nn_layer *l = &m->layers[i];
        const float *x = acts + t->act_off[i], *y = acts + t->act_off[i + 1];
        float *dx = i > 0 ? gb : NULL;
        if (t->hint && i == t->hint_layer)
            loss += hint_loss(t, y, l->out_c, sample, ga, t->reg ? grad + t->np : NULL);
        nn_act_backward(l->act, y, ga, (size_t)l->out_c * l->out_h * l->out_w);
        if (l->op == NN_OP_CONV2D)
            nn_conv2d_backward(x, l->in_c, l->in_h, l->in_w, t->params + poff(m, l->w),
                               l->out_c, l->kh, l->kw, l->stride, l->pad, l->groups, ga, dx,
                               grad + poff(m, l->w), grad + poff(m, l->b), col);
        else if (l->op == NN_OP_LINEAR)
            nn_linear_backward(x, l->in_c, t->params + poff(m, l->w), l->out_c, ga, dx,
                               grad + poff(m, l->w), grad + poff(m, l->b));
        else if (dx && l->op == NN_OP_MAXPOOL)
            nn_maxpool2d_backward(ga, l->out_c, l->out_h, l->out_w, args + t->arg_off[i], dx,
                                  l->in_c * l->in_h * l->in_w);
        else if (dx)
            nn_avgpool2d_backward(ga, l->in_c, l->in_h, l->in_w, l->kh, l->stride, dx);
        float *tmp = ga;
        ga = gb;
        gb = tmp;
    }
    return loss;
}

/* Shift an image by (dy, dx) with zero fill. */
static void shift_image(const uint8_t *src, int rows, int cols, int dy, int dx, uint8_t *dst)
{
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            int sy = y - dy, sx = x - dx;
            dst[y * cols + x] =
                (sy < 0 || sy >= rows || sx < 0 || sx >= cols) ? 0 : src[sy * cols + sx];
        }
}

const uint8_t *nn_train_image(const struct nn_dataset *ds, int i, int shift, uint64_t seed,
                              uint64_t epoch, uint8_t *buf)
{
    const uint8_t *pix = ds->images + (size_t)i * ds->rows * ds->cols;
    if (shift <= 0)
        return pix;
    cgpc_rng r;
    cgpc_rng_seed(&r, seed ^ 0x5a17ull, epoch, (uint64_t)i);
    int dy = (int)cgpc_rng_below(&r, (uint32_t)(2 * shift + 1)) - shift;
    int dx = (int)cgpc_rng_below(&r, (uint32_t)(2 * shift + 1)) - shift;
    shift_image(pix, ds->rows, ds->cols, dy, dx, buf);
    return buf;
}

/* grad = mean gradient over idx[0..n); returns loss sum and correct count. */
static void batch_gradient(struct trainer *t, const struct nn_dataset *ds, const int *idx, int n,
                           float *grad, double *loss_sum, int *correct)
{
    const struct nn_model *m = t->m;
    int nchunks = (n + NN_TRAIN_CHUNK - 1) / NN_TRAIN_CHUNK;
NN_OMP(parallel num_threads(t->threads))
    {
        int tid = cgpc_thread_id();
        float *w = t->work + t->work_floats * (size_t)tid;
        float *acts = w, *ga = w + t->act_total, *gb = ga + m->max_act, *col = gb + m->max_act;
        uint8_t *shifted = (uint8_t *)(void *)(col + m->max_col);
        int32_t *args = t->args + t->arg_total * (size_t)tid;
NN_OMP(for schedule(dynamic, 1))
        for (int c = 0; c < nchunks; c++) {
            float *cg = t->chunk_grad + t->ng * (size_t)c;
            memset(cg, 0, t->ng * sizeof *cg);
            double ls = 0;
            int corr = 0;
            for (int s = c * NN_TRAIN_CHUNK; s < n && s < (c + 1) * NN_TRAIN_CHUNK; s++) {
                int i = idx[s];
                const uint8_t *pix =
                    nn_train_image(ds, i, t->shift, t->seed, t->epoch, shifted);
                sample_forward(t, pix, acts, args, col);
                ls += sample_backward(t, acts, args, ds->labels[i], i, cg, ga, gb, col,
                                      &corr);
            }
            t->chunk_loss[c] = ls;
            t->chunk_correct[c] = corr;
        }
        /* fixed-order reduction over chunks, parallel over parameters */
        float inv = 1.0f / (float)n;
NN_OMP(for schedule(static))
        for (size_t p = 0; p < t->ng; p++) {
            float s = 0.0f;
            for (int c = 0; c < nchunks; c++)
                s += t->chunk_grad[t->ng * (size_t)c + p];
            grad[p] = s * inv;
        }
    }
    *loss_sum = 0;
    *correct = 0;
    for (int c = 0; c < nchunks; c++) {
        *loss_sum += t->chunk_loss[c];
        *correct += t->chunk_correct[c];
    }
}

cgpc_status nn_train_gradient(const struct nn_model *m, const struct nn_dataset *ds,
                              const int *idx, int n, float *grad, double *loss,
                              struct cgpc_err *err)
{
    if (m->has_bn) {
        struct graph_trainer g;
        int correct;
        cgpc_status gs = graph_trainer_init(&g, m, n, err);
        if (gs)
            return gs;
        graph_batch_gradient(&g, ds, idx, n, grad, loss, &correct);
        *loss /= n > 0 ? n : 1;
        graph_trainer_free(&g);
        return CGPC_OK;
    }
    struct nn_train_opts o;
    nn_train_defaults(&o);
    return nn_train_gradient_opts(m, ds, idx, n, &o, NULL, grad, loss, err);
}

size_t nn_hint_regressor_size(const struct nn_model *m, const struct nn_train_opts *o)
{
    if (!o->hint_target || o->hint_layer < 0 || o->hint_layer >= m->nlayers)
        return 0;
    int cs = m->layers[o->hint_layer].out_c;
    return cs == o->hint_c ? 0 : (size_t)o->hint_c * (size_t)cs + (size_t)o->hint_c;
}

/* The loss options of o into the trainer (distillation, hint with regressor reg). */
static void trainer_losses(struct trainer *t, const struct nn_train_opts *o, const float *reg)
{
    t->teacher = o->teacher_logits;
    t->temp = (float)o->temperature;
    t->alpha = (float)o->alpha;
    if (!o->hint_target || o->hint_layer < 0)
        return;
    const struct nn_layer *l = &t->m->layers[o->hint_layer];
    t->hint = o->hint_target;
    t->hint_layer = o->hint_layer;
    t->hint_c = o->hint_c;
    t->hint_hw = l->out_h * l->out_w;
    t->hint_w = (float)o->hint_weight;
    t->reg = reg;
}

/* The hint options against the model: CGPC_ERR_ARG when they do not fit. */
static cgpc_status hint_check(const struct nn_model *m, const struct nn_train_opts *o,
                              struct cgpc_err *err)
{
    if (!o->hint_target || o->hint_layer < 0)
        return CGPC_OK;
    if (m->has_bn || o->qat || o->lowbit)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "a hint needs a float model without BatchNorm "
                         "(the per-sample trainer) and no QAT");
    if (o->hint_layer >= m->nlayers || o->hint_c < 1 || !(o->hint_weight >= 0))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "hint: layer %d of %d, %d channels, weight %g",
                         o->hint_layer, m->nlayers, o->hint_c, o->hint_weight);
    return CGPC_OK;
}

cgpc_status nn_train_gradient_opts(const struct nn_model *m, const struct nn_dataset *ds,
                                   const int *idx, int n, const struct nn_train_opts *o,
                                   const float *reg, float *grad, double *loss,
                                   struct cgpc_err *err)
{
    struct trainer t;
    cgpc_status st = hint_check(m, o, err);
    if (st || (st = trainer_init(&t, m, n, nn_hint_regressor_size(m, o), err)))
        return st;
    trainer_losses(&t, o, reg);
    int correct;
    batch_gradient(&t, ds, idx, n, grad, loss, &correct);
    *loss /= n > 0 ? n : 1;
    trainer_free(&t);
    return CGPC_OK;
}

/* One optimizer step over params[n] (Adam or SGD with momentum, L2 weight decay). */
static void optim_step(const struct nn_train_opts *o, float *params, const float *grad,
                       float *mom, float *vel, size_t np, long step, double lr)
{
    float flr = (float)lr, wd = (float)o->weight_decay;
    if (o->optim == NN_OPTIM_ADAM) {
        const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
NN_OMP(parallel for schedule(static))
        for (size_t p = 0; p < np; p++) {
            float g = grad[p] + wd * params[p];
            mom[p] = b1 * mom[p] + (1.0f - b1) * g;
            vel[p] = b2 * vel[p] + (1.0f - b2) * g * g;
            params[p] -= flr * (mom[p] / c1) / (sqrtf(vel[p] / c2) + eps);
        }
    } else {
        float mu = (float)o->momentum;
NN_OMP(parallel for schedule(static))
        for (size_t p = 0; p < np; p++) {
            float g = grad[p] + wd * params[p];
            mom[p] = mu * mom[p] + g;
            params[p] -= flr * mom[p];
        }
    }
}

/* Pruned parameters get no gradient; shared ones give theirs to their centroid:
 * cgrad[c] = sum of grad[p] over cluster[p] == c, in parameter order. */
static void constrain_grad(const struct nn_train_opts *o, float *grad, size_t np, float *cgrad)
{
    if (o->cluster)
        memset(cgrad, 0, (size_t)o->ncentroids * sizeof *cgrad);
    for (size_t p = 0; p < np; p++) {
        if (o->mask && !o->mask[p])
            grad[p] = 0.0f;
        else if (o->cluster && o->cluster[p] >= 0) {
            cgrad[o->cluster[p]] += grad[p];
            grad[p] = 0.0f;
        }
    }
}

/* Pruned parameters exactly zero, shared ones their centroid's value. */
static void constrain_params(const struct nn_train_opts *o, float *params, size_t np)
{
    for (size_t p = 0; p < np; p++) {
        if (o->mask && !o->mask[p])
            params[p] = 0.0f;
        else if (o->cluster && o->cluster[p] >= 0)
            params[p] = o->centroids[o->cluster[p]];
    }
}

cgpc_status nn_train(struct nn_model *m, const struct nn_dataset *train,
                     const struct nn_train_opts *o, struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    struct trainer t;
    int n = o->limit > 0 && o->limit < train->n ? o->limit : train->n;
    if (!m->has_float)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "training needs float parameters");
    int fq_any = o->qat || o->lowbit; /* weights fake-quantized: int8 or low-bit QAT */
    if (o->qat && o->lowbit)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "int8 QAT and low-bit QAT are exclusive");
    if (o->qat && !m->qarena)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "QAT needs a calibrated model (nn_calibrate first)");
    if (train->rows * train->cols != m->in_c * m->in_h * m->in_w)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: images are %dx%d, the model takes %dx%d",
                         train->path, train->rows, train->cols, m->in_h, m->in_w);
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "epochs, batch and lr must be positive");
    if ((o->mask || o->cluster) && fq_any)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "pruning/sharing constraints do not combine with QAT");
    if (o->cluster && (!o->centroids || o->ncentroids < 1))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "shared parameters need centroids");
    if (o->teacher_logits && (fq_any || !(o->temperature > 0) ||
                              !(o->alpha >= 0 && o->alpha <= 1)))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "distillation needs no QAT, temperature > 0 and "
                         "alpha in 0..1");
    if ((st = hint_check(m, o, err)))
        return st;
    size_t nreg = nn_hint_regressor_size(m, o);
    int batch = o->batch < n ? o->batch : n, graph = m->has_bn;
    struct graph_trainer gt;
    memset(&t, 0, sizeof t);
    memset(&gt, 0, sizeof gt);
    if ((st = graph ? graph_trainer_init(&gt, m, batch, err)
                       : trainer_init(&t, m, batch, nreg, err)))
        return st;
    size_t np = graph ? (fq_any ? (size_t)nn_model_param_count(m) : m->ntrain) : t.np;
    gt.qat = fq_any;
    gt.float_acts = !o->qat;
    gt.teacher = o->teacher_logits;
    gt.temp = (float)o->temperature;
    gt.alpha = (float)o->alpha;
    gt.np = np;
    float *grad = calloc(np + nreg, sizeof *grad), *mom = calloc(np + nreg, sizeof *mom),
          *vel = calloc(np + nreg, sizeof *vel), *fq = fq_any ? calloc(np, sizeof *fq) : NULL,
          *reg = nreg ? malloc(nreg * sizeof *reg) : NULL;
    int *perm = malloc((size_t)n * sizeof *perm);
    size_t nc = o->cluster ? (size_t)o->ncentroids : 1;
    float *cgrad = calloc(nc, sizeof *cgrad), *cmom = calloc(nc, sizeof *cmom),
          *cvel = calloc(nc, sizeof *cvel);
    if (!grad || !mom || !vel || !perm || (fq_any && !fq) || !cgrad || !cmom || !cvel ||
        (nreg && !reg)) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "optimizer state");
        goto out;
    }
    t.qat = o->qat;
    if (nreg) { /* rw ~ U(-1/sqrt(Cs), 1/sqrt(Cs)), rb = 0 */
        int cs = m->layers[o->hint_layer].out_c;
        size_t nw = (size_t)o->hint_c * (size_t)cs;
        cgpc_rng hr;
        cgpc_rng_seed(&hr, o->seed, 0x417e, (uint64_t)o->hint_layer);
        for (size_t k = 0; k < nreg; k++)
            reg[k] = k < nw ? (float)((2.0 * cgpc_rng_double(&hr) - 1.0) / sqrt((double)cs))
                            : 0.0f;
    }
    if (!graph)
        trainer_losses(&t, o, reg);
    t.shift = gt.shift = o->shift;
    t.seed = gt.seed = o->seed;
    float *params = graph && !fq_any ? m->tarena : m->arena;
    if (o->mask || o->cluster)
        constrain_params(o, params, np);
    int nb = (n + batch - 1) / batch;
    long step = 0, total = (long)nb * o->epochs;
    double t_start = cgpc_wtime();
    for (int ep = 0; ep < o->epochs; ep++) {
        cgpc_rng r;
        cgpc_rng_seed(&r, o->seed, 0x5f0ff1eull, (uint64_t)ep);
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)cgpc_rng_below(&r, (uint32_t)i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        t.epoch = gt.epoch = (uint64_t)ep;
        double ep_loss = 0, t_ep = cgpc_wtime();
        int ep_correct = 0, seen = 0;
        for (int bi = 0; bi < nb; bi++) {
            int b0 = bi * batch, bn = b0 + batch <= n ? batch : n - b0;
            if (o->qat) {
                memcpy(fq, params, np * sizeof *fq);
                for (int i = 0; i < m->nlayers; i++)
                    if (has_weights(&m->layers[i]))
                        nn_fake_quant_weights(&m->layers[i], m->layers[i].w,
                                              fq + poff(m, m->layers[i].w));
                t.params = gt.params = fq;
            }
            if (o->lowbit) {
                memcpy(fq, params, np * sizeof *fq);
                uint64_t key = cgpc_hash3(o->seed, 0x10b17, (uint64_t)step);
                if ((st = lowbit_fake_quant_model(m, o->lowbit, key, fq, err)))
                    goto out;
                t.params = gt.params = fq;
            }
            double ls;
            int corr;
            if (graph)
                graph_batch_gradient(&gt, train, perm + b0, bn, grad, &ls, &corr);
            else
                batch_gradient(&t, train, perm + b0, bn, grad, &ls, &corr);
            ep_loss += ls;
            ep_correct += corr;
            seen += bn;
            double lr = o->lr;
            if (o->cosine)
                lr *= 0.5 * (1.0 + cos(M_PI * (double)step / (double)total));
            step++;
            if (o->mask || o->cluster)
                constrain_grad(o, grad, np, cgrad);
            optim_step(o, params, grad, mom, vel, np, step, lr);
            if (nreg)
                optim_step(o, reg, grad + np, mom + np, vel + np, nreg, step, lr);
            if (o->cluster)
                optim_step(o, o->centroids, cgrad, cmom, cvel, (size_t)o->ncentroids, step, lr);
            if (o->mask || o->cluster)
                constrain_params(o, params, np);
            if (graph && !fq_any)
                graph_trainer_update_stats(&gt, m, bn);
            if (o->progress) {
                struct nn_train_progress pr = {0};
                pr.epoch = ep + 1;
                pr.epochs = o->epochs;
                pr.batch = bi + 1;
                pr.nbatches = nb;
                pr.loss = ep_loss / seen;
                pr.acc = (double)ep_correct / seen;
                double dt = cgpc_wtime() - t_ep;
                pr.images_per_s = dt > 0 ? seen / dt : 0;
                pr.seconds = cgpc_wtime() - t_start;
                pr.test_top1 = pr.test_loss = -1;
                if (bi == nb - 1) {
                    pr.end_of_epoch = 1;
                    if (!fq_any)
                        nn_model_fold_bn(m);
                    if (o->test) {
                        struct nn_eval_result res;
                        if (o->qat)
                            nn_quantize_weights(m);
                        if (o->lowbit) { /* evaluate the fake-quantized weights */
                            memcpy(fq, params, np * sizeof *fq);
                            st = lowbit_fake_quant_model(m, o->lowbit, o->seed, params, err);
                        }
                        if (!st)
                            st = nn_eval(m, o->test, NULL, &res, err);
                        if (o->lowbit)
                            memcpy(params, fq, np * sizeof *fq);
                        if (st)
                            goto out;
                        pr.test_top1 = res.top1;
                        pr.test_loss = res.loss;
                    }
                }
                o->progress(&pr, o->ctx);
            }
        }
    }
out:
    if (!fq_any) /* QAT trains the folded parameters themselves */
        nn_model_fold_bn(m);
    if (graph)
        graph_trainer_free(&gt);
    else
        trainer_free(&t);
    free(grad);
    free(mom);
    free(vel);
    free(fq);
    free(perm);
    free(cgrad);
    free(cmom);
    free(cvel);
    free(reg);
    return st;
}
