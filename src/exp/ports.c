/* ports.c - names of a circuit's ports in an experiment's model, and the weight map. */
#include "exp/ports.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "exp/coords.h"

void exp_ref_name(const struct exp_tensor *tensors, const struct exp_ref *r, char *buf,
                  size_t cap)
{
    switch (r->kind) {
    case EXP_REF_ZERO: snprintf(buf, cap, "0 (padding)"); return;
    case EXP_REF_DONT_CARE: snprintf(buf, cap, "unused (don't care)"); return;
    case EXP_REF_LITERAL: snprintf(buf, cap, "value %" PRId64, r->offset); return;
    case EXP_REF_COORD: snprintf(buf, cap, "%s", exp_coord_name(r->tensor)); return;
    default: break;
    }
    const struct exp_tensor *t = &tensors[r->tensor];
    int64_t off = r->offset;
    int kx = (int)(off % t->kw), ky = (int)(off / t->kw % t->kh);
    int i = (int)(off / ((int64_t)t->kw * t->kh) % t->in);
    int o = (int)(off / ((int64_t)t->kw * t->kh * t->in));
    if (t->kh == 1 && t->kw == 1)
        snprintf(buf, cap, "%s[%d,%d]", t->name, o, i);
    else
        snprintf(buf, cap, "%s[%d,%d,%d,%d]", t->name, o, i, ky, kx);
}

/* The name of port j over all items: refs[d * per + j]. */
static char *port_name(const struct exp_tensor *tensors, const struct exp_ref *refs, int items,
                       int per, int j)
{
    char buf[512];
    int first = -1, same_tensor = 1, same_ref = 1;
    for (int d = 0; d < items; d++) {
        const struct exp_ref *r = &refs[(size_t)d * per + j];
        if (r->kind != EXP_REF_WEIGHT)
            continue;
        if (first < 0) {
            first = d;
            continue;
        }
        const struct exp_ref *f = &refs[(size_t)first * per + j];
        same_tensor &= r->tensor == f->tensor;
        same_ref &= r->tensor == f->tensor && r->offset == f->offset;
    }
    if (first < 0 || same_ref) {
        exp_ref_name(tensors, &refs[(size_t)(first < 0 ? 0 : first) * per + j], buf, sizeof buf);
    } else if (same_tensor) {
        /* indices that differ between items become '*' */
        const struct exp_tensor *t = &tensors[refs[(size_t)first * per + j].tensor];
        int64_t div[4] = {(int64_t)t->in * t->kh * t->kw, (int64_t)t->kh * t->kw, t->kw, 1};
        int64_t mod[4] = {t->out, t->in, t->kh, t->kw};
        int dims = t->kh == 1 && t->kw == 1 ? 2 : 4;
        size_t n = (size_t)snprintf(buf, sizeof buf, "%s[", t->name);
        for (int k = 0; k < dims && n < sizeof buf; k++) {
            int64_t v0 = -1;
            int varies = 0;
            for (int d = 0; d < items; d++) {
                const struct exp_ref *r = &refs[(size_t)d * per + j];
                if (r->kind != EXP_REF_WEIGHT)
                    continue;
                int64_t v = r->offset / div[k] % mod[k];
                varies |= v0 >= 0 && v != v0;
                v0 = v0 < 0 ? v : v0;
            }
            n += (size_t)(varies ? snprintf(buf + n, sizeof buf - n, "%s*", k ? "," : "")
                                 : snprintf(buf + n, sizeof buf - n, "%s%" PRId64, k ? "," : "", v0));
        }
        if (n < sizeof buf)
            snprintf(buf + n, sizeof buf - n, "]");
    } else {
        /* different tensors per item (layer items): item by item */
        size_t n = 0;
        for (int d = 0; d < items && n < sizeof buf; d++) {
            char one[200];
            exp_ref_name(tensors, &refs[(size_t)d * per + j], one, sizeof one);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%sitem %d: %s", d ? " | " : "", d, one);
        }
    }
    return strdup(buf);
}

void exp_ports_free(struct exp_ports *p)
{
    if (!p)
        return;
    for (int i = 0; p->input_names && i < p->n_inputs; i++)
        free(p->input_names[i]);
    for (int o = 0; p->output_names && o < p->n_outputs; o++)
        free(p->output_names[o]);
    free(p->input_names);
    free(p->output_names);
    free(p->tensor_names);
    free(p->tensor_sizes);
    free(p->in_tensor);
    free(p->out_tensor);
    free(p->in_offset);
    free(p->out_offset);
    memset(p, 0, sizeof *p);
}

/* refs -> (compact tensor index or -1, offset) */
static void map_refs(const struct exp_ref *refs, size_t n, const int *compact, int32_t *tensor,
                     int64_t *offset)
{
    for (size_t i = 0; i < n; i++) {
        int w = refs[i].kind == EXP_REF_WEIGHT, c = refs[i].kind == EXP_REF_COORD;
        tensor[i] = w ? compact[refs[i].tensor] : c ? CGP_EXPORT_LITERAL : -1;
        offset[i] = w || c ? refs[i].offset : 0;
    }
}

cgpc_status exp_ports_init(struct exp_ports *p, const struct exp_setup *s, struct cgpc_err *err)
{
    memset(p, 0, sizeof *p);
    const struct exp_selection *sel = &s->sel;
    size_t nin = (size_t)sel->n_items * sel->n_inputs, nout = (size_t)sel->n_items * sel->n_outputs;
    int *compact = malloc(((size_t)s->n_tensors + 1) * sizeof *compact);
    p->n_inputs = sel->n_inputs;
    p->n_outputs = sel->n_outputs;
    p->input_names = calloc((size_t)sel->n_inputs + 1, sizeof *p->input_names);
    p->output_names = calloc((size_t)sel->n_outputs + 1, sizeof *p->output_names);
    p->tensor_names = calloc((size_t)s->n_tensors + 1, sizeof *p->tensor_names);
    p->tensor_sizes = calloc((size_t)s->n_tensors + 1, sizeof *p->tensor_sizes);
    p->in_tensor = malloc((nin + 1) * sizeof *p->in_tensor);
    p->in_offset = malloc((nin + 1) * sizeof *p->in_offset);
    p->out_tensor = malloc((nout + 1) * sizeof *p->out_tensor);
    p->out_offset = malloc((nout + 1) * sizeof *p->out_offset);
    if (!compact || !p->input_names || !p->output_names || !p->tensor_names ||
        !p->tensor_sizes || !p->in_tensor || !p->in_offset || !p->out_tensor || !p->out_offset)
        goto nomem;
    for (int i = 0; i < sel->n_inputs; i++)
        if (!(p->input_names[i] = port_name(s->tensors, sel->inputs, sel->n_items, sel->n_inputs, i)))
            goto nomem;
    for (int o = 0; o < sel->n_outputs; o++)
        if (!(p->output_names[o] = port_name(s->tensors, sel->outputs, sel->n_items, sel->n_outputs, o)))
            goto nomem;
    /* the tensors the selection touches, in model order */
    int used = 0;
    for (int t = 0; t < s->n_tensors; t++) {
        int touched = 0;
        for (size_t i = 0; i < nin && !touched; i++)
            touched = sel->inputs[i].kind == EXP_REF_WEIGHT && sel->inputs[i].tensor == t;
        for (size_t i = 0; i < nout && !touched; i++)
            touched = sel->outputs[i].kind == EXP_REF_WEIGHT && sel->outputs[i].tensor == t;
        compact[t] = touched ? used : -1;
        if (touched) {
            const struct exp_tensor *et = &s->tensors[t];
            p->tensor_names[used] = et->name;
            p->tensor_sizes[used++] = (int64_t)et->out * et->in * et->kh * et->kw;
        }
    }
    map_refs(sel->inputs, nin, compact, p->in_tensor, p->in_offset);
    map_refs(sel->outputs, nout, compact, p->out_tensor, p->out_offset);
    free(compact);
    p->weights = (struct cgp_export_weights){used, p->tensor_names, p->tensor_sizes, sel->n_items,
                                             sel->n_inputs, sel->n_outputs, p->in_tensor,
                                             p->in_offset, p->out_tensor, p->out_offset};
    return CGPC_OK;
nomem:
    free(compact);
    exp_ports_free(p);
    return CGPC_FAIL(err, CGPC_ERR_NOMEM, "port names of %d inputs and %d outputs",
                     sel->n_inputs, sel->n_outputs);
}
