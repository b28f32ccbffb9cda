/* lowbit_mixed.c - per-layer sensitivity and bit allocation under a budget (lowbit.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/eval.h"
#include "nn/lowbit.h"

cgpc_status lowbit_sensitivity(struct nn_model *m, const struct lowbit_spec *base,
                               const int *bits, int nbits, const struct nn_dataset *val,
                               uint64_t seed, struct lowbit_sens *s, struct cgpc_err *err)
{
    struct nn_eval_result r;
    struct lowbit_spec specs[NN_MAX_LAYERS];
    cgpc_status st;
    memset(s, 0, sizeof *s);
    if (nbits < 1 || nbits > LOWBIT_MAX_OPTIONS)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "1..%d bit widths expected, got %d",
                         LOWBIT_MAX_OPTIONS, nbits);
    for (int j = 0; j < nbits; j++)
        if (bits[j] < 1 || bits[j] > LOWBIT_MAX_BITS || (j && bits[j] <= bits[j - 1]))
            return CGPC_FAIL(err, CGPC_ERR_ARG,
                             "bit widths must be ascending, distinct, within 1..%d",
                             LOWBIT_MAX_BITS);
    s->nbits = nbits;
    memcpy(s->bits, bits, (size_t)nbits * sizeof *bits);
    if ((st = nn_eval(m, val, NULL, &r, err)))
        return st;
    s->float_top1 = r.top1;
    s->float_loss = r.loss;
    size_t total = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].op == NN_OP_CONV2D || m->layers[i].op == NN_OP_LINEAR)
            total += (size_t)m->layers[i].nweights;
    float *saved = malloc(total * sizeof *saved);
    if (!saved)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "sensitivity: copy of %zu weights", total);
    size_t off = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (l->op != NN_OP_CONV2D && l->op != NN_OP_LINEAR)
            continue;
        memcpy(saved + off, l->w, (size_t)l->nweights * sizeof *saved);
        off += (size_t)l->nweights;
    }
    off = 0;
    for (int i = 0; i < m->nlayers && !st; i++) {
        struct nn_layer *l = &m->layers[i];
        if (l->op != NN_OP_CONV2D && l->op != NN_OP_LINEAR)
            continue;
        int k = s->n++;
        s->layer[k] = i;
        s->weights[k] = l->nweights;
        for (int j = 0; j < nbits && !st; j++) {
            struct lowbit_model q;
            for (int t = 0; t < NN_MAX_LAYERS; t++) {
                specs[t] = *base;
                specs[t].keep_float = t != i;
                specs[t].bits = bits[j];
            }
            if ((st = lowbit_quantize(m, specs, seed, &q, err)))
                break;
            lowbit_apply(&q, m);
            for (int t = 0; t < q.n; t++)
                if (q.layers[t].layer == i)
                    s->stored[k][j] =
                        lowbit_layer_code_bits(&q.layers[t]) + lowbit_layer_param_bits(&q.layers[t]);
            lowbit_model_free(&q);
            if (!(st = nn_eval(m, val, NULL, &r, err))) {
                s->top1[k][j] = r.top1;
                s->loss[k][j] = r.loss;
            }
            memcpy(l->w, saved + off, (size_t)l->nweights * sizeof *saved);
        }
        off += (size_t)l->nweights;
    }
    free(saved);
    return st;
}

cgpc_status lowbit_allocate(const struct lowbit_sens *s, uint64_t budget_bits, int *out,
                            struct cgpc_err *err)
{
    int pick[NN_MAX_LAYERS];
    uint64_t total = 0, least = 0;
    for (int k = 0; k < s->n; k++) {
        pick[k] = s->nbits - 1;
        total += s->stored[k][pick[k]];
        least += s->stored[k][0];
    }
    if (least > budget_bits)
        return CGPC_FAIL(err, CGPC_ERR_RANGE,
                         "budget %llu bits is below the narrowest allocation (%llu bits, every "
                         "layer at %d bits)",
                         (unsigned long long)budget_bits, (unsigned long long)least, s->bits[0]);
    while (total > budget_bits) {
        int best = -1;
        double best_score = 0;
        for (int k = 0; k < s->n; k++) {
            int j = pick[k];
            if (j == 0 || s->stored[k][j] <= s->stored[k][j - 1])
                continue;
            double score = (s->loss[k][j - 1] - s->loss[k][j]) /
                           (double)(s->stored[k][j] - s->stored[k][j - 1]);
            if (best < 0 || score < best_score) {
                best = k;
                best_score = score;
            }
        }
        CGPC_ASSERT(best >= 0); /* least <= budget guarantees a step remains */
        total -= s->stored[best][pick[best]] - s->stored[best][pick[best] - 1];
        pick[best]--;
    }
    /* narrowing steps are coarse: spend what is left on the widenings that win the most
     * validation loss per bit, while they fit */
    for (;;) {
        int best = -1;
        double best_score = 0;
        for (int k = 0; k < s->n; k++) {
            int j = pick[k];
            if (j + 1 == s->nbits || total - s->stored[k][j] + s->stored[k][j + 1] > budget_bits)
                continue;
            double score = (s->loss[k][j] - s->loss[k][j + 1]) /
                           (double)(s->stored[k][j + 1] - s->stored[k][j] + 1);
            if (score > 0 && (best < 0 || score > best_score)) {
                best = k;
                best_score = score;
            }
        }
        if (best < 0)
            break;
        total += s->stored[best][pick[best] + 1] - s->stored[best][pick[best]];
        pick[best]++;
    }
    for (int k = 0; k < s->n; k++)
        out[s->layer[k]] = s->bits[pick[k]];
    return CGPC_OK;
}
