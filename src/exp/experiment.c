/* experiment.c - from an experiment configuration to a CGP data set, and circuit outputs back
 * into the model. */
#include "exp/experiment.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "exp/bridge.h"

cgpc_status exp_resolve_path(const char *exp_file, const char *path, char *out, size_t cap,
                             struct cgpc_err *err)
{
    if (cgpc_path_exists(path) || path[0] == '/' || !exp_file || !exp_file[0]) {
        snprintf(out, cap, "%s", path);
        return CGPC_OK;
    }
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", exp_file);
    const char *dir = dirname(copy);
    char cand[2][4200];
    snprintf(cand[0], sizeof cand[0], "%s/%s", dir, path);
    snprintf(cand[1], sizeof cand[1], "%s/../%s", dir, path);
    for (int i = 0; i < 2; i++)
        if (cgpc_path_exists(cand[i])) {
            snprintf(out, cap, "%s", cand[i]);
            return CGPC_OK;
        }
    return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "%s: not found (looked in ., %s and %s/..)", path,
                     dir, dir);
}

cgpc_status exp_file_fingerprint(const char *path, uint64_t *fp, struct cgpc_err *err)
{
    unsigned char *data;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st != CGPC_OK)
        return st;
    uint64_t h = EXP_FNV1A64_INIT;
    for (size_t i = 0; i < len; i++)
        h = exp_fnv1a64_byte(h, data[i]);
    free(data);
    *fp = h;
    return CGPC_OK;
}

cgpc_status exp_params_from_config(const struct exp_config *cfg, const struct cgp_dataset *ds,
                                   struct cgp_params *p, struct cgpc_err *err)
{
    cgpc_status st = exp_config_cgp(cfg, ds->n_inputs > 0, p, err);
    if (st != CGPC_OK)
        return st;
    double per_weight[EXP_MAX_THRESHOLDS];
    int n = exp_config_doubles(cfg, "thresholds", per_weight, EXP_MAX_THRESHOLDS);
    if (n <= 0 || n > CGP_MAX_THRESHOLDS)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: 1 to %d thresholds expected",
                         exp_config_origin(cfg, "thresholds"), CGP_MAX_THRESHOLDS);
    for (int i = 0; i < n; i++)
        p->thresholds[i] = cgp_metric_of_per_weight(p->error_kind, per_weight[i],
                                                    cgp_dataset_cared(ds));
    p->n_thresholds = n;
    return cgp_params_check(p, ds, err);
}

static int8_t code_at(const struct exp_setup *s, const struct exp_ref *r)
{
    return s->codes[r->tensor][r->offset];
}

cgpc_status exp_setup_init(struct exp_setup *s, const struct exp_config *cfg,
                           struct cgpc_err *err)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    int8_t *in = NULL, *out = NULL;
    uint8_t *care = NULL;
    cgpc_status st = exp_resolve_path(cfg->path, exp_config_str(cfg, "model"), s->model_path,
                                      sizeof s->model_path, err);
    if (st != CGPC_OK)
        goto fail;
    char absolute[4096];
    if (realpath(s->model_path, absolute)) /* run directories must not depend on the cwd */
        snprintf(s->model_path, sizeof s->model_path, "%s", absolute);
    if ((st = exp_file_fingerprint(s->model_path, &s->model_fingerprint, err)) != CGPC_OK ||
        (st = nn_model_load(s->model_path, &s->model, err)) != CGPC_OK)
        goto fail;
    if (!s->model.quantized) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG,
                       "%s: a float model; circuits replace int8 codes, so give an int8 model "
                       "(make one with 'cgpc quantize')",
                       s->model_path);
        goto fail;
    }
    if ((st = exp_model_tensors(&s->model, &s->tensors, &s->n_tensors, err)) != CGPC_OK)
        goto fail;
    s->codes = calloc((size_t)s->n_tensors, sizeof *s->codes);
    if (!s->codes) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int t = 0; t < s->n_tensors; t++) {
        struct nn_layer *layer;
        int64_t shape[4];
        int ndim;
        if ((st = nn_model_weight_codes(&s->model, s->tensors[t].name, &s->codes[t], &layer,
                                        shape, &ndim, err)) != CGPC_OK)
            goto fail;
    }
    int mode = exp_item_mode_from_name(exp_config_str(cfg, "items"));
    char inputs[EXP_VALUE_MAX * 2], outputs[EXP_VALUE_MAX * 2];
    if ((st = exp_config_selector(cfg, "inputs", inputs, sizeof inputs, err)) != CGPC_OK ||
        (st = exp_config_selector(cfg, "outputs", outputs, sizeof outputs, err)) != CGPC_OK)
        goto fail;
    if ((st = exp_select(s->tensors, s->n_tensors, inputs, outputs, (enum exp_item_mode)mode,
                         &s->sel, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "%s", cfg->path[0] ? cfg->path : "experiment");
        goto fail;
    }
    const struct exp_selection *sel = &s->sel;
    size_t n_in = (size_t)sel->n_items * (size_t)sel->n_inputs;
    size_t n_out = (size_t)sel->n_items * (size_t)sel->n_outputs;
    in = malloc(n_in + 1);
    out = malloc(n_out + 1);
    care = malloc(n_out + 1);
    if (!in || !out || !care) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for the data set");
        goto fail;
    }
    for (size_t i = 0; i < n_in; i++)
        in[i] = sel->inputs[i].kind == EXP_REF_WEIGHT  ? code_at(s, &sel->inputs[i])
                : sel->inputs[i].kind == EXP_REF_COORD ? (int8_t)sel->inputs[i].offset
                                                       : 0;
    for (size_t o = 0; o < n_out; o++) {
        const struct exp_ref *r = &sel->outputs[o];
        care[o] = r->kind != EXP_REF_DONT_CARE;
        out[o] = r->kind == EXP_REF_WEIGHT    ? code_at(s, r)
                 : r->kind == EXP_REF_LITERAL ? (int8_t)r->offset
                                              : 0;
        s->n_weights_out += r->kind == EXP_REF_WEIGHT;
    }
    if ((st = cgp_dataset_from_arrays(&s->ds, sel->n_inputs, sel->n_outputs, sel->n_items, in,
                                      out, care, err)) != CGPC_OK)
        goto fail;
    if ((st = exp_params_from_config(cfg, &s->ds, &s->params, err)) != CGPC_OK)
        goto fail;
    free(in);
    free(out);
    free(care);
    return CGPC_OK;
fail:
    free(in);
    free(out);
    free(care);
    exp_setup_free(s);
    return st;
}

void exp_setup_free(struct exp_setup *s)
{
    if (!s)
        return;
    cgp_dataset_free(&s->ds);
    exp_selection_free(&s->sel);
    free(s->codes);
    free(s->tensors);
    nn_model_free(&s->model);
    memset(s, 0, sizeof *s);
}

cgpc_status exp_codes_save(const struct exp_setup *s, struct exp_codes_backup *b,
                           struct cgpc_err *err)
{
    memset(b, 0, sizeof *b);
    b->n_tensors = s->n_tensors;
    b->saved = calloc((size_t)s->n_tensors + 1, sizeof *b->saved);
    b->len = calloc((size_t)s->n_tensors + 1, sizeof *b->len);
    if (!b->saved || !b->len) {
        exp_codes_backup_free(b);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
    }
    size_t n_out = (size_t)s->sel.n_items * (size_t)s->sel.n_outputs;
    for (size_t o = 0; o < n_out; o++) {
        const struct exp_ref *r = &s->sel.outputs[o];
        if (r->kind != EXP_REF_WEIGHT || b->saved[r->tensor])
            continue;
        const struct exp_tensor *t = &s->tensors[r->tensor];
        int64_t len = (int64_t)t->out * t->in * t->kh * t->kw;
        b->saved[r->tensor] = malloc((size_t)len);
        if (!b->saved[r->tensor]) {
            exp_codes_backup_free(b);
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        }
        memcpy(b->saved[r->tensor], s->codes[r->tensor], (size_t)len);
        b->len[r->tensor] = len;
    }
    return CGPC_OK;
}

void exp_codes_restore(const struct exp_setup *s, const struct exp_codes_backup *b)
{
    for (int t = 0; t < b->n_tensors; t++)
        if (b->saved[t])
            memcpy(s->codes[t], b->saved[t], (size_t)b->len[t]);
}

void exp_codes_backup_free(struct exp_codes_backup *b)
{
    if (!b)
        return;
    for (int t = 0; b->saved && t < b->n_tensors; t++)
        free(b->saved[t]);
    free(b->saved);
    free(b->len);
    memset(b, 0, sizeof *b);
}

int64_t exp_apply_outputs(struct exp_setup *s, const int8_t *outputs)
{
    const struct exp_selection *sel = &s->sel;
    int64_t written = 0;
    for (int d = 0; d < sel->n_items; d++)
        for (int o = 0; o < sel->n_outputs; o++) {
            const struct exp_ref *r = &sel->outputs[(size_t)d * sel->n_outputs + o];
            if (r->kind != EXP_REF_WEIGHT)
                continue;
            s->codes[r->tensor][r->offset] = outputs[(size_t)o * sel->n_items + d];
            written++;
        }
    return written;
}
