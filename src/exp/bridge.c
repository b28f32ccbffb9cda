#include "exp/bridge.h"

#include <stdio.h>
#include <stdlib.h>

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

static int count_weighted_layers(const struct nn_model *m)
{
    int n = 0;
    for (int i = 0; i < m->nlayers; i++)
        n += has_weights(&m->layers[i]);
    return n;
}

cgpc_status exp_model_energy_layers(const struct nn_model *m, struct energy_layer **layers,
                                    int *n, struct cgpc_err *err)
{
    *layers = NULL;
    *n = 0;
    int count = count_weighted_layers(m);
    struct energy_layer *out = calloc(count ? (size_t)count : 1, sizeof *out);
    if (!out)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d layers", count);
    int k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        snprintf(out[k].name, sizeof out[k].name, "%s", l->name);
        out[k].macs = (uint64_t)l->macs;
        out[k].weights = (uint64_t)l->nweights;
        out[k].weight_bits = m->quantized ? 8 : 32;
        k++;
    }
    *layers = out;
    *n = count;
    return CGPC_OK;
}

cgpc_status exp_model_storage_layers(const struct nn_model *m, struct storage_layer **layers,
                                     int *n, struct cgpc_err *err)
{
    *layers = NULL;
    *n = 0;
    int count = 0;
    for (int i = 0; i < m->nlayers; i++)
        count += has_weights(&m->layers[i]) || m->layers[i].op == NN_OP_ADD;
    struct storage_layer *out = calloc(count ? (size_t)count : 1, sizeof *out);
    if (!out)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d layers", count);
    int k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l) && l->op != NN_OP_ADD)
            continue;
        snprintf(out[k].name, sizeof out[k].name, "%s", l->name);
        if (has_weights(l)) {
            out[k].weights = (uint64_t)l->nweights;
            out[k].channels = (uint64_t)l->out_c;
            out[k].qparams = 4;
            out[k].macs = (uint64_t)l->macs;
        } else {
            out[k].qparams = 2;
        }
        k++;
    }
    *layers = out;
    *n = count;
    return CGPC_OK;
}

cgpc_status exp_model_tensors(const struct nn_model *m, struct exp_tensor **tensors, int *n,
                              struct cgpc_err *err)
{
    *tensors = NULL;
    *n = 0;
    int count = count_weighted_layers(m);
    struct exp_tensor *out = calloc(count ? (size_t)count : 1, sizeof *out);
    if (!out)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d tensors", count);
    int k = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        if (!has_weights(l))
            continue;
        int64_t shape[4] = {0, 0, 1, 1};
        nn_layer_weight_shape(l, shape);
        snprintf(out[k].name, sizeof out[k].name, "%s.weight", l->name);
        out[k].out = (int)shape[0];
        out[k].in = (int)shape[1];
        out[k].kh = l->op == NN_OP_CONV2D ? (int)shape[2] : 1;
        out[k].kw = l->op == NN_OP_CONV2D ? (int)shape[3] : 1;
        k++;
    }
    *tensors = out;
    *n = count;
    return CGPC_OK;
}

cgpc_status exp_model_reference_bits(const struct nn_model *m, int int8, uint64_t *bits,
                                     struct cgpc_err *err)
{
    struct storage_layer *layers = NULL;
    struct storage_model sm;
    int n = 0;
    storage_model_init(&sm);
    cgpc_status st = exp_model_storage_layers(m, &layers, &n, err);
    if (!st)
        st = int8 ? storage_reference_int8(layers, n, &sm, err)
                  : storage_reference_float32(layers, n, &sm, err);
    *bits = storage_model_total_bits(&sm);
    storage_model_free(&sm);
    free(layers);
    return st;
}
