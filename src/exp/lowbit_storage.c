/* lowbit_storage.c - low-bit models in the storage model (lowbit_storage.h). */
#include "exp/lowbit_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/bridge.h"
#include "nn/safetensors.h"

cgpc_status lowbit_storage_account(const struct lowbit_model *q, const struct nn_model *m,
                                   struct storage_model *out, struct cgpc_err *err)
{
    char what[64];
    cgpc_status st = CGPC_OK;
    for (int k = 0; k < q->n && !st; k++) {
        const struct lowbit_layer *l = &q->layers[k];
        const char *name = m->layers[l->layer].name;
        uint64_t n = (uint64_t)l->n, g = (uint64_t)l->groups;
        switch (l->kind) {
        case LOWBIT_KIND_FP16:
            st = storage_model_add_items(out, name, STORAGE_FLOAT_WEIGHTS, "fp16 weights", n, 16,
                                         err);
            break;
        case LOWBIT_KIND_FLOAT:
            st = storage_model_add_items(out, name, STORAGE_FLOAT_WEIGHTS, "float32 weights", n,
                                         32, err);
            break;
        default:
            if (l->kind == LOWBIT_KIND_MULTIPOINT)
                snprintf(what, sizeof what, "%d-bit codes x %d points", l->bits, l->points);
            else
                snprintf(what, sizeof what, "%d-bit codes", l->bits);
            st = storage_model_add_items(out, name, STORAGE_WEIGHTS, what,
                                         n * (uint64_t)l->points, (unsigned)l->bits, err);
            if (st)
                break;
            if (l->kind == LOWBIT_KIND_MIDRISE)
                st = storage_model_add_items(out, name, STORAGE_SCALE, "mid-rise step", g, 32,
                                             err);
            else if (l->kind == LOWBIT_KIND_GRID)
                st = storage_model_add_items(out, name, STORAGE_SCALE, "grid min and step",
                                             2 * g, 32, err);
            else if (l->kind == LOWBIT_KIND_TABLE)
                st = storage_model_add_items(out, name, STORAGE_CODEBOOK, "landmark table",
                                             g << l->bits, 32, err);
            else
                st = storage_model_add_items(out, name, STORAGE_SCALE, "multi-point alphas",
                                             g * (uint64_t)l->points, 32, err);
        }
        if (!st)
            st = storage_model_add_items(out, name, STORAGE_BIAS, "float32 bias",
                                         (uint64_t)m->layers[l->layer].out_c, 32, err);
    }
    return st;
}

void lowbit_storage_free(struct lowbit_storage *s)
{
    if (!s)
        return;
    storage_model_free(&s->parts);
    storage_model_free(&s->float32);
    storage_model_free(&s->int8);
}

cgpc_status lowbit_storage_of(const struct lowbit_model *q, const struct nn_model *m,
                              struct lowbit_storage *s, struct cgpc_err *err)
{
    struct storage_layer *layers = NULL;
    int n = 0;
    storage_model_init(&s->parts);
    storage_model_init(&s->float32);
    storage_model_init(&s->int8);
    s->macs = 0;
    cgpc_status st = lowbit_storage_account(q, m, &s->parts, err);
    if (!st)
        st = exp_model_storage_layers(m, &layers, &n, err);
    if (!st)
        st = storage_reference_float32(layers, n, &s->float32, err);
    if (!st)
        st = storage_reference_int8(layers, n, &s->int8, err);
    if (!st)
        st = storage_layers_macs(layers, n, &s->macs, err);
    free(layers);
    if (st)
        lowbit_storage_free(s);
    return st;
}

cgpc_status lowbit_storage_file(const char *path, struct lowbit_storage *s, int *is_lowbit,
                                struct cgpc_err *err)
{
    struct nn_st_file st;
    struct nn_model m;
    struct lowbit_model q;
    *is_lowbit = 0;
    cgpc_status rc = nn_st_load(path, &st, err);
    if (rc)
        return rc;
    const char *format = nn_st_meta_get(&st, "format");
    *is_lowbit = format && strcmp(format, LOWBIT_FORMAT) == 0;
    nn_st_free(&st);
    if (!*is_lowbit)
        return CGPC_OK;
    if ((rc = lowbit_read_file(path, &m, &q, err)))
        return rc;
    rc = lowbit_storage_of(&q, &m, s, err);
    lowbit_model_free(&q);
    nn_model_free(&m);
    return rc;
}

cgpc_status lowbit_storage_compare(const struct lowbit_storage *s,
                                   const struct energy_memory *mem,
                                   const struct energy_gate_table *t,
                                   struct storage_comparison *out, struct cgpc_err *err)
{
    struct storage_energy e, base;
    cgpc_status st = storage_energy_account(&s->parts, STORAGE_DEPLOY_STORED, mem, t, s->macs,
                                            0.0, 1, &e, err);
    if (!st)
        st = storage_energy_account(&s->int8, STORAGE_DEPLOY_STORED, mem, t, s->macs, 0.0, 1,
                                    &base, err);
    if (!st)
        storage_compare(&e, &base, storage_model_total_bits(&s->float32),
                        storage_model_total_bits(&s->int8), out);
    return st;
}
