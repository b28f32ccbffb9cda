#include "compress/deep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "compress/cmodel.h"
#include "compress/prune.h"

void cpr_opts_defaults(struct cpr_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < NN_MAX_LAYERS; i++) {
        o->layer_prune[i] = -1;
        o->layer_bits[i] = -1;
    }
    o->nschedule = 1;
    o->schedule[0] = 1;
    o->init = CPR_INIT_LINEAR;
    o->kmeans_iter = 100;
    nn_train_defaults(&o->train);
}

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

size_t cpr_param_count(const struct nn_model *m)
{
    return m->has_bn ? m->ntrain : (size_t)nn_model_param_count(m);
}

/* Offset of layer l's trained weights in nn_train's parameter layout. */
static size_t weight_offset(const struct nn_model *m, const struct nn_layer *l)
{
    const float *base = m->has_bn ? m->tarena : m->arena;
    return (size_t)(cpr_layer_weights(m, l) - base);
}

cgpc_status cpr_prune_model(struct nn_model *m, const struct cpr_opts *o, double frac,
                            uint8_t *mask, struct cgpc_err *err)
{
    const float *w[NN_MAX_LAYERS];
    size_t n[NN_MAX_LAYERS];
    uint8_t *mk[NN_MAX_LAYERS];
    int idx[NN_MAX_LAYERS], nt = 0;
    size_t np = cpr_param_count(m);
    uint8_t *own = mask ? NULL : malloc(np ? np : 1), *mall = mask ? mask : own;
    if (!mall)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "pruning masks");
    memset(mall, 1, np);
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        idx[nt] = i;
        w[nt] = cpr_layer_weights(m, l);
        n[nt] = (size_t)l->nweights;
        mk[nt++] = mall + weight_offset(m, l);
    }
    if (o->global)
        st = cpr_prune_global(w, n, nt, o->prune * frac, mk, NULL, err);
    for (int t = 0; !o->global && !st && t < nt; t++) {
        double s = o->layer_prune[idx[t]] >= 0 ? o->layer_prune[idx[t]] : o->prune;
        if ((st = cpr_prune_layer(w[t], n[t], s * frac, mk[t], err)))
            cgpc_err_prefix(err, "layer %s", m->layers[idx[t]].name);
    }
    for (int t = 0; !st && t < nt; t++)
        cpr_mask_apply(cpr_layer_weights(m, &m->layers[idx[t]]), mk[t], n[t]);
    nn_model_fold_bn(m);
    free(own);
    return st;
}

cgpc_status cpr_prune_int8(struct nn_model *m, const struct cpr_opts *o, struct cgpc_err *err)
{
    if (!m->quantized)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "int8 pruning needs an int8 model");
    const float *w[NN_MAX_LAYERS];
    size_t n[NN_MAX_LAYERS], total = 0;
    uint8_t *mk[NN_MAX_LAYERS];
    int idx[NN_MAX_LAYERS], nt = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (has_weights(&m->layers[i]))
            total += (size_t)m->layers[i].nweights;
    float *mag = malloc((total ? total : 1) * sizeof *mag);
    uint8_t *mall = malloc(total ? total : 1);
    cgpc_status st = CGPC_OK;
    if (!mag || !mall) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "int8 pruning (%zu weights)", total);
        goto out;
    }
    for (int i = 0, off = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        size_t per = (size_t)(l->nweights / l->out_c);
        for (int64_t j = 0; j < l->nweights; j++)
            mag[off + j] = fabsf((float)l->qw[j]) * l->w_scale[(size_t)j / per];
        idx[nt] = i;
        w[nt] = mag + off;
        n[nt] = (size_t)l->nweights;
        mk[nt++] = mall + off;
        off += (int)l->nweights;
    }
    if (o->global)
        st = cpr_prune_global(w, n, nt, o->prune, mk, NULL, err);
    for (int t = 0; !o->global && !st && t < nt; t++) {
        double s = o->layer_prune[idx[t]] >= 0 ? o->layer_prune[idx[t]] : o->prune;
        st = cpr_prune_layer(w[t], n[t], s, mk[t], err);
    }
    for (int t = 0; !st && t < nt; t++) {
        int8_t *q = m->layers[idx[t]].qw;
        for (size_t j = 0; j < n[t]; j++)
            q[j] = mk[t][j] ? q[j] : 0;
    }
out:
    free(mag);
    free(mall);
    return st;
}

/* k-means per shared layer; cluster[] in the parameter layout, centroids concatenated. */
static cgpc_status share_model(struct nn_model *m, const struct cpr_opts *o, const uint8_t *mask,
                               int32_t *cluster, float *centroids, int *ncent,
                               struct cgpc_err *err)
{
    size_t np = cpr_param_count(m);
    for (size_t p = 0; p < np; p++)
        cluster[p] = -1;
    uint16_t *assign = NULL;
    cgpc_status st = CGPC_OK;
    int nc = 0;
    for (int i = 0; i < m->nlayers && !st; i++) {
        const struct nn_layer *l = &m->layers[i];
        int b = o->layer_bits[i] >= 0 ? o->layer_bits[i] : o->bits;
        if (!has_weights(l) || b == 0)
            continue;
        size_t n = (size_t)l->nweights, off = weight_offset(m, l);
        float *w = cpr_layer_weights(m, l), *c = centroids + nc;
        int k = 1 << b;
        uint16_t *a = realloc(assign, n * sizeof *a);
        if (!a) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "k-means assignments");
            break;
        }
        assign = a;
        if (cpr_mask_count(mask + off, n) == 0)
            continue; /* everything pruned: nothing to share */
        if ((st = cpr_kmeans(w, mask + off, n, k, o->init, o->train.seed ^ (uint64_t)i,
                             o->kmeans_iter, c, assign, err))) {
            cgpc_err_prefix(err, "layer %s", l->name);
            break;
        }
        cpr_share_apply(w, assign, n, c);
        for (size_t j = 0; j < n; j++)
            cluster[off + j] = assign[j] == CPR_PRUNED ? -1 : nc + assign[j];
        nc += k;
    }
    free(assign);
    nn_model_fold_bn(m);
    *ncent = nc;
    return st;
}

static cgpc_status finetune(struct nn_model *m, const struct nn_dataset *train,
                            const struct cpr_opts *o, const uint8_t *mask, const int32_t *cluster,
                            float *centroids, int nc, struct cgpc_err *err)
{
    if (o->finetune_epochs <= 0)
        return CGPC_OK;
    struct nn_train_opts t = o->train;
    t.epochs = o->finetune_epochs;
    t.mask = mask;
    t.cluster = cluster;
    t.centroids = centroids;
    t.ncentroids = nc;
    return nn_train(m, train, &t, err);
}

cgpc_status cpr_compress(struct nn_model *m, const struct nn_dataset *train,
                         const struct cpr_opts *o, struct cgpc_err *err)
{
    if (!m->has_float || m->quantized)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "compression needs a float model (this one is "
                         "int8)");
    if (o->nschedule < 1 || o->nschedule > CPR_MAX_SCHEDULE)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "pruning schedule of %d steps: expected 1..%d",
                         o->nschedule, CPR_MAX_SCHEDULE);
    cgpc_status st = o->fold_bn ? nn_model_absorb_bn(m, err) : CGPC_OK;
    if (st)
        return st;
    size_t np = cpr_param_count(m);
    uint8_t *mask = malloc(np ? np : 1);
    int32_t *cluster = malloc((np ? np : 1) * sizeof *cluster);
    float *cent = malloc((size_t)NN_MAX_LAYERS * (1u << CPR_MAX_BITS) * sizeof *cent);
    char what[64];
    int pruning = o->prune > 0, nc = 0;
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        pruning |= o->layer_prune[i] > 0;
    if (!mask || !cluster || !cent) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "compression state (%zu parameters)", np);
        goto out;
    }
    memset(mask, 1, np);
    for (int s = 0; pruning && s < o->nschedule; s++) {
        if ((st = cpr_prune_model(m, o, o->schedule[s], mask, err)) ||
            (st = finetune(m, train, o, mask, NULL, NULL, 0, err)))
            goto out;
        snprintf(what, sizeof what, "prune %d/%d", s + 1, o->nschedule);
        if (o->stage)
            o->stage(what, m, o->ctx);
    }
    /* masks from the weights themselves: zeros stay zero (also when not pruning here) */
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        const float *w = cpr_layer_weights(m, l);
        uint8_t *mk = mask + weight_offset(m, l);
        for (int64_t j = 0; j < l->nweights; j++)
            mk[j] = w[j] != 0.0f;
    }
    int sharing = o->bits > 0;
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        sharing |= o->layer_bits[i] > 0;
    if (sharing) {
        if ((st = share_model(m, o, mask, cluster, cent, &nc, err)) ||
            (st = finetune(m, train, o, mask, cluster, cent, nc, err)))
            goto out;
        if (o->stage)
            o->stage("share", m, o->ctx);
    }
out:
    free(mask);
    free(cluster);
    free(cent);
    return st;
}

cgpc_status cpr_schedule_parse(const char *text, struct cpr_opts *o, struct cgpc_err *err)
{
    char buf[256], *save = NULL;
    double steps[CPR_MAX_SCHEDULE];
    int n = 0;
    if (strlen(text) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%.40s...': too long", text);
    snprintf(buf, sizeof buf, "%s", text);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == CPR_MAX_SCHEDULE)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': at most %d steps", text,
                             CPR_MAX_SCHEDULE);
        struct cgpc_err e = {0};
        if (cgpc_parse_double(t, 0, 1, &steps[n], &e) != CGPC_OK)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': %s", t, e.msg);
        if (n > 0 && steps[n] < steps[n - 1])
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': fractions must not decrease", text);
        n++;
    }
    if (n == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected fractions like 0.5,0.8,1", text);
    memcpy(o->schedule, steps, (size_t)n * sizeof *steps);
    o->nschedule = n;
    return CGPC_OK;
}
