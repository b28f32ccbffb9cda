/* compare.c - model files as model-metrics rows (rules in compare.h). */
#include "exp/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/bridge.h"
#include "exp/lowbit_storage.h"
#include "nn/safetensors.h"

void exp_compare_free(struct exp_compare *c)
{
    if (!c)
        return;
    nn_model_free(&c->model);
    storage_model_free(&c->parts);
}

cgpc_status exp_compare_lowbit(struct exp_compare *c, const struct lowbit_model *q,
                               const struct nn_model *m, struct cgpc_err *err)
{
    static const char *const kinds[] = {"midrise", "grid", "table", "multipoint", "fp16",
                                        "float32"};
    int bits = -1, mixed = 0, per_channel = 1;
    const char *kind = NULL;
    for (int k = 0; k < q->n; k++) {
        const struct lowbit_layer *l = &q->layers[k];
        int b = l->kind == LOWBIT_KIND_FP16 ? 16 : l->kind == LOWBIT_KIND_FLOAT ? 32 : l->bits;
        if (l->kind == LOWBIT_KIND_FLOAT) /* a layer kept float is not a code width */
            continue;
        kind = kind ? kind : kinds[l->kind];
        per_channel &= l->kind == LOWBIT_KIND_FP16 || l->groups > 1;
        mixed |= bits >= 0 && b != bits;
        bits = b;
    }
    const char *meta = nn_model_get_meta(m, "lowbit_method");
    const char *method = meta ? meta : kind ? kind : "float32";
    int named_mixed = strncmp(method, "mixed", 5) == 0 || strcmp(method, "tune") == 0;
    per_channel &= kind && strcmp(kind, "fp16") && !strstr(method, "per-channel");
    snprintf(c->method, sizeof c->method, "%s%s%s", mixed && !named_mixed ? "mixed-" : "", method,
             per_channel ? "-per-channel" : "");
    c->bits = mixed ? 0 : bits >= 0 ? bits : 32;
    storage_model_init(&c->parts);
    return lowbit_storage_account(q, m, &c->parts, err);
}

cgpc_status exp_compare_deep(struct exp_compare *c, const struct cpr_stats *s,
                             struct cgpc_err *err)
{
    int bits = 0;
    for (int k = 0; k < s->nlayers; k++)
        bits = s->layers[k].value_code_bits > bits ? s->layers[k].value_code_bits : bits;
    snprintf(c->method, sizeof c->method, "deep");
    c->bits = bits;
    storage_model_init(&c->parts);
    return cpr_storage_account(s, &c->parts, err);
}

/* A float32 or int8 model file: its reference storage. */
static cgpc_status plain_parts(struct exp_compare *c, struct cgpc_err *err)
{
    struct storage_layer *layers = NULL;
    int n = 0;
    int q = c->model.quantized;
    snprintf(c->method, sizeof c->method, "%s", q ? "int8" : "float32");
    c->bits = q ? 8 : 32;
    c->format = q ? "cgpc-int8" : "cgpc-float";
    storage_model_init(&c->parts);
    cgpc_status st = exp_model_storage_layers(&c->model, &layers, &n, err);
    if (!st)
        st = q ? storage_reference_int8(layers, n, &c->parts, err)
               : storage_reference_float32(layers, n, &c->parts, err);
    free(layers);
    return st;
}

cgpc_status exp_compare_open(struct exp_compare *c, const char *path, struct cgpc_err *err)
{
    memset(c, 0, sizeof *c);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *ext = ".safetensors";
    if (n > strlen(ext) && strcmp(base + n - strlen(ext), ext) == 0)
        n -= strlen(ext);
    snprintf(c->label, sizeof c->label, "%.*s", (int)(n < 95 ? n : 95), base);
    struct nn_st_file st;
    cgpc_status rc = nn_st_load(path, &st, err);
    if (rc)
        return rc;
    const char *format = nn_st_meta_get(&st, "format");
    if (format && strcmp(format, LOWBIT_FORMAT) == 0) {
        struct lowbit_model q;
        c->format = LOWBIT_FORMAT;
        if (!(rc = lowbit_read_file(path, &c->model, &q, err))) {
            rc = exp_compare_lowbit(c, &q, &c->model, err);
            lowbit_model_free(&q);
        }
    } else if (cpr_is_compressed(&st)) {
        struct cpr_stats *s = malloc(sizeof *s);
        c->format = CPR_FORMAT;
        if (!s)
            rc = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        if (!rc && !(rc = cpr_model_decode(&st, &c->model, err)) &&
            !(rc = cpr_file_stats(&st, &c->model, s, err)))
            rc = exp_compare_deep(c, s, err);
        free(s);
    } else if (!(rc = nn_model_load_st(&st, &c->model, err))) {
        rc = plain_parts(c, err);
    }
    nn_st_free(&st);
    if (rc) /* the readers' messages name the file */
        exp_compare_free(c);
    return rc;
}

cgpc_status exp_compare_account(const struct exp_account_base *b, const struct exp_compare *c,
                                struct exp_account *out, struct cgpc_err *err)
{
    uint64_t replaced = 0;
    memset(out, 0, sizeof *out);
    if (!c->model.quantized)
        for (int i = 0; i < b->n_layers; i++)
            replaced += b->layers[i].weights;
    return exp_account_storage(b, &c->parts, 0.0, replaced, out, err);
}

cgpc_status exp_compare_measure(struct exp_compare *c, const struct nn_dataset *val,
                                const struct nn_dataset *test,
                                const struct exp_metrics_opts *o, struct exp_metrics_row *r,
                                struct cgpc_err *err)
{
    struct exp_account_base b;
    memset(r, 0, sizeof *r);
    snprintf(r->experiment, sizeof r->experiment, "%s", c->label);
    snprintf(r->layers, sizeof r->layers, "all");
    snprintf(r->method, sizeof r->method, "%s", c->method);
    r->bits = c->bits;
    r->run = -1;
    r->threshold = r->threshold_metric = NAN;
    r->reached = 1;
    r->rank = 1;
    r->generation = -1;
    r->error_se = r->error_mse = NAN;
    r->baseline_val.top1 = r->baseline_test.top1 = NAN;
    cgpc_status st = exp_account_base_init(&b, &c->model, o->gates, o->memory, o->deployment,
                                           o->batch, err);
    if (st)
        return st;
    st = exp_compare_account(&b, c, &r->acct, err);
    for (int i = 0; i < b.n_layers && !c->model.quantized; i++)
        r->weights_replaced += (int64_t)b.layers[i].weights;
    exp_account_base_free(&b);
    if (st)
        return st;
    struct nn_eval_opts eo = {o->limit, NULL};
    if ((st = nn_eval(&c->model, val, &eo, &r->val, err)) ||
        (st = nn_eval(&c->model, test, &eo, &r->test, err)))
        return st;
    return CGPC_OK;
}

void exp_compare_describe(const struct exp_compare *c, char *buf, size_t size)
{
    if (c->bits)
        snprintf(buf, size, "%s, %d bits", c->method, c->bits);
    else
        snprintf(buf, size, "%s, mixed bits", c->method);
}
