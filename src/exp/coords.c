/* coords.c - coordinate inputs: one data item per selected weight, its coordinates as inputs. */
#include "exp/coords.h"

#include <stdlib.h>
#include <string.h>

int exp_selector_is_coords(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    return n == 6 && strncmp(text, "coords", 6) == 0;
}

const char *exp_coord_name(int c)
{
    switch (c) {
    case EXP_COORD_OUT: return "coordinate o mod 128 (output channel)";
    case EXP_COORD_IN: return "coordinate i mod 128 (input channel)";
    case EXP_COORD_KY: return "coordinate ky (kernel row)";
    case EXP_COORD_KX: return "coordinate kx (kernel column)";
    case EXP_COORD_OUT_HI: return "coordinate o / 128 (output channel, high part)";
    case EXP_COORD_IN_HI: return "coordinate i / 128 (input channel, high part)";
    case EXP_COORD_TENSOR: return "coordinate t (output tensor rank)";
    }
    return "coordinate ?";
}

cgpc_status exp_coords_expand(const struct exp_tensor *tensors, int n_tensors,
                              struct exp_selection *sel, struct cgpc_err *err)
{
    CGPC_ASSERT(sel->n_items == 1 && sel->n_inputs == 0);
    const int n = sel->n_outputs;
    const struct exp_ref *w = sel->outputs;
    /* the optional columns, and each output tensor's rank */
    int *rank = malloc(((size_t)n_tensors + 1) * sizeof *rank);
    if (!rank)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "coords: out of memory");
    for (int t = 0; t < n_tensors; t++)
        rank[t] = -1;
    int n_ranked = 0, out_hi = 0, in_hi = 0;
    for (int k = 0; k < n; k++) {
        if (w[k].kind != EXP_REF_WEIGHT) {
            free(rank);
            return CGPC_FAIL(err, CGPC_ERR_ARG, "inputs 'coords': output %d is a literal value; "
                             "coordinate inputs need weights as outputs (no values=)", k);
        }
        const struct exp_tensor *t = &tensors[w[k].tensor];
        if (rank[w[k].tensor] < 0)
            rank[w[k].tensor] = n_ranked++;
        if (t->out > 128 * 128 || t->in > 128 * 128 || t->kh > 128 || t->kw > 128) {
            free(rank);
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "inputs 'coords': %s [%d,%d,%d,%d] has a "
                             "coordinate beyond int8 (at most 16384 channels, 128 kernel "
                             "rows/columns)", t->name, t->out, t->in, t->kh, t->kw);
        }
        out_hi |= t->out > 128;
        in_hi |= t->in > 128;
    }
    int cols[EXP_COORD_COUNT], n_cols = 0;
    for (int c = EXP_COORD_OUT; c <= EXP_COORD_KX; c++)
        cols[n_cols++] = c;
    if (out_hi)
        cols[n_cols++] = EXP_COORD_OUT_HI;
    if (in_hi)
        cols[n_cols++] = EXP_COORD_IN_HI;
    if (n_ranked > 1)
        cols[n_cols++] = EXP_COORD_TENSOR;
    struct exp_ref *in = calloc((size_t)n * n_cols + 1, sizeof *in);
    struct exp_ref *out = calloc((size_t)n + 1, sizeof *out);
    if (!in || !out) {
        free(rank);
        free(in);
        free(out);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "coords: out of memory for %d items", n);
    }
    for (int k = 0; k < n; k++) {
        const struct exp_tensor *t = &tensors[w[k].tensor];
        int64_t off = w[k].offset;
        int64_t kx = off % t->kw, ky = off / t->kw % t->kh;
        int64_t i = off / ((int64_t)t->kw * t->kh) % t->in;
        int64_t o = off / ((int64_t)t->kw * t->kh * t->in);
        const int64_t value[EXP_COORD_COUNT] = {o % 128, i % 128, ky, kx, o / 128, i / 128,
                                                rank[w[k].tensor]};
        for (int c = 0; c < n_cols; c++) /* every value is in 0..127 (checked above) */
            in[(size_t)k * n_cols + c] = (struct exp_ref){EXP_REF_COORD, cols[c], value[cols[c]]};
        out[k] = w[k];
    }
    free(rank);
    free(sel->inputs);
    free(sel->outputs);
    sel->n_items = n;
    sel->n_inputs = n_cols;
    sel->n_outputs = 1;
    sel->inputs = in;
    sel->outputs = out;
    sel->n_selected_outputs = n;
    return CGPC_OK;
}
