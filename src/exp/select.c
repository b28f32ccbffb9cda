/* select.c - parse weight selectors and group the selected weights into data items. */
#include "exp/select.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "exp/coords.h"

/* One kernel-position mask etc. is at most this large: 11x11 kernels are plenty for LeNet-5
 * and MobileNetV2 (3x3, 5x5, 1x1). */
#define MAX_KERNEL_POS 121

/* A growable array of refs plus, per ref, the kernel it came from (for EXP_ITEMS_KERNEL). */
struct ref_list {
    struct exp_ref *refs;
    int64_t *kernel; /* tensor * 2^40 + out * 2^20 + in: identifies the (tensor, out, in) kernel */
    int64_t n, cap;
};

static cgpc_status ref_list_push(struct ref_list *l, struct exp_ref r, int64_t kernel,
                                 struct cgpc_err *err)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        struct exp_ref *refs = realloc(l->refs, (size_t)cap * sizeof *refs);
        if (refs)
            l->refs = refs;
        int64_t *kernel_ids = refs ? realloc(l->kernel, (size_t)cap * sizeof *kernel_ids) : NULL;
        if (!refs || !kernel_ids)
            return CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
        l->kernel = kernel_ids;
        l->cap = cap;
    }
    l->refs[l->n] = r;
    l->kernel[l->n] = kernel;
    l->n++;
    return CGPC_OK;
}

static void ref_list_free(struct ref_list *l)
{
    free(l->refs);
    free(l->kernel);
    memset(l, 0, sizeof *l);
}

/* Parse "range (',' range)*" with values in [0, limit) into mask[limit]. */
static cgpc_status parse_index_list(const char *text, int limit, unsigned char *mask,
                                    const char *what, struct cgpc_err *err)
{
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s list too long", what);
    snprintf(buf, sizeof buf, "%s", text);
    memset(mask, 0, (size_t)limit);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = cgpc_trim(tok);
        char *dash = strchr(tok + (tok[0] == '-'), '-');
        int lo, hi;
        if (dash) {
            *dash = '\0';
            if (cgpc_parse_int(cgpc_trim(tok), 0, limit - 1, &lo, NULL) != CGPC_OK ||
                cgpc_parse_int(cgpc_trim(dash + 1), 0, limit - 1, &hi, NULL) != CGPC_OK || hi < lo)
                return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s range '%s-%s' not within 0..%d",
                                 what, tok, dash + 1, limit - 1);
        } else {
            if (cgpc_parse_int(tok, 0, limit - 1, &lo, NULL) != CGPC_OK)
                return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s '%s' not within 0..%d", what, tok,
                                 limit - 1);
            hi = lo;
        }
        for (int v = lo; v <= hi; v++)
            mask[v] = 1;
    }
    return CGPC_OK;
}

/* Kernel-position mask for a region of a KH x KW kernel. */
static cgpc_status region_mask(const char *region, int kh, int kw, unsigned char *mask,
                               const char *tensor, struct cgpc_err *err)
{
    int all = strcmp(region, "all") == 0, core = strcmp(region, "core") == 0,
        ring = strcmp(region, "ring") == 0;
    if (!all && !core && !ring)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "unknown region '%s' (expected all, core or ring)",
                         region);
    if (!all && (kh < 3 || kw < 3))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: region '%s' needs kernels of at least 3x3, not %dx%d",
                         tensor, region, kh, kw);
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++) {
            int inner = y > 0 && y < kh - 1 && x > 0 && x < kw - 1;
            mask[y * kw + x] = (unsigned char)(all || (core && inner) || (ring && !inner));
        }
    return CGPC_OK;
}

static cgpc_status parse_term(const struct exp_tensor *tensors, int n_tensors, char *term,
                              int allow_literals, struct ref_list *out, struct cgpc_err *err)
{
    if (strncmp(term, "values=", 7) == 0) {
        if (!allow_literals)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': literal values can only be outputs", term);
        char *dots = strstr(term + 7, "..");
        int lo, hi;
        if (!dots)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected values=LO..HI", term);
        *dots = '\0';
        if (cgpc_parse_int(term + 7, -128, 127, &lo, NULL) != CGPC_OK ||
            cgpc_parse_int(dots + 2, -128, 127, &hi, NULL) != CGPC_OK || hi < lo)
            return CGPC_FAIL(err, CGPC_ERR_RANGE,
                             "values=%s..%s: expected -128 <= LO <= HI <= 127", term + 7, dots + 2);
        for (int v = lo; v <= hi; v++) {
            cgpc_status st = ref_list_push(out, (struct exp_ref){EXP_REF_LITERAL, -1, v}, -1, err);
            if (st != CGPC_OK)
                return st;
        }
        return CGPC_OK;
    }

    /* TENSOR [ '[' filters ']' ] [ ':' region ] */
    char *filters = NULL, *region = "all";
    char *bracket = strchr(term, '[');
    char *colon = strrchr(term, ':');
    if (bracket) {
        char *close = strchr(bracket, ']');
        if (!close)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': missing ']'", term);
        *bracket = '\0';
        *close = '\0';
        filters = bracket + 1;
        char *rest = cgpc_trim(close + 1);
        if (*rest && *rest != ':')
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': unexpected '%s' after ']'", term, rest);
        colon = *rest == ':' ? rest : NULL;
    } else if (colon) {
        *colon = '\0';
    }
    if (colon)
        region = cgpc_trim(colon + 1);
    const char *name = cgpc_trim(term);
    int t = -1;
    for (int i = 0; i < n_tensors; i++)
        if (strcmp(tensors[i].name, name) == 0)
            t = i;
    if (t < 0) {
        char known[512] = "";
        for (int i = 0; i < n_tensors && strlen(known) < 400; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     tensors[i].name);
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "unknown tensor '%s' (the model has: %s)", name,
                         known);
    }
    const struct exp_tensor *ts = &tensors[t];
    int kpos = ts->kh * ts->kw;
    if (kpos > MAX_KERNEL_POS)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: kernels larger than %d positions", name,
                         MAX_KERNEL_POS);
    unsigned char *out_mask = calloc((size_t)ts->out, 1), *in_mask = calloc((size_t)ts->in, 1);
    unsigned char pos_mask[MAX_KERNEL_POS], reg_mask[MAX_KERNEL_POS];
    cgpc_status st = CGPC_OK;
    if (!out_mask || !in_mask) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
        goto out;
    }
    memset(out_mask, 1, (size_t)ts->out);
    memset(in_mask, 1, (size_t)ts->in);
    memset(pos_mask, 1, sizeof pos_mask);
    if ((st = region_mask(region, ts->kh, ts->kw, reg_mask, name, err)) != CGPC_OK)
        goto out;
    if (filters) {
        char *save = NULL;
        for (char *f = strtok_r(filters, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
            f = cgpc_trim(f);
            char *eq = strchr(f, '=');
            if (!eq) {
                st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s: filter '%s' needs out=, in= or pos=", name, f);
                goto out;
            }
            *eq = '\0';
            const char *key = cgpc_trim(f);
            if (strcmp(key, "out") == 0)
                st = parse_index_list(eq + 1, ts->out, out_mask, "out channel", err);
            else if (strcmp(key, "in") == 0)
                st = parse_index_list(eq + 1, ts->in, in_mask, "in channel", err);
            else if (strcmp(key, "pos") == 0)
                st = parse_index_list(eq + 1, kpos, pos_mask, "kernel position", err);
            else
                st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s: unknown filter '%s' (out, in, pos)", name, key);
            if (st != CGPC_OK) {
                cgpc_err_prefix(err, "%s", name);
                goto out;
            }
        }
    }
    for (int o = 0; o < ts->out; o++)
        for (int i = 0; i < ts->in; i++) {
            if (!out_mask[o] || !in_mask[i])
                continue;
            int64_t kernel = ((int64_t)t << 40) | ((int64_t)o << 20) | i;
            for (int p = 0; p < kpos; p++) {
                if (!reg_mask[p] || !pos_mask[p])
                    continue;
                int64_t offset = ((int64_t)o * ts->in + i) * kpos + p;
                if ((st = ref_list_push(out, (struct exp_ref){EXP_REF_WEIGHT, t, offset}, kernel,
                                        err)) != CGPC_OK)
                    goto out;
            }
        }
out:
    free(out_mask);
    free(in_mask);
    return st;
}

static cgpc_status parse_selector(const struct exp_tensor *tensors, int n_tensors,
                                  const char *text, int allow_literals, struct ref_list *out,
                                  struct cgpc_err *err)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (!buf)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
    memcpy(buf, text, len + 1);
    cgpc_status st = CGPC_OK;
    char *trimmed = cgpc_trim(buf);
    if (strcmp(trimmed, "none") == 0 || *trimmed == '\0')
        goto out;
    /* split on ',' at bracket depth 0 */
    int depth = 0;
    char *start = trimmed;
    for (char *p = trimmed;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        if ((*p == ',' && depth == 0) || *p == '\0') {
            int end = *p == '\0';
            *p = '\0';
            char *term = cgpc_trim(start);
            if (!*term) {
                st = CGPC_FAIL(err, CGPC_ERR_ARG, "empty term");
                goto out;
            }
            if ((st = parse_term(tensors, n_tensors, term, allow_literals, out, err)) != CGPC_OK)
                goto out;
            if (end)
                break;
            start = p + 1;
        }
    }
out:
    free(buf);
    return st;
}

/* Grouping: each ref gets a key (its kernel, its tensor, or 0); groups are ordered by their
 * first appearance and keep the refs' order inside. Done by sorting (key, index) pairs, so large
 * selections (a MobileNetV2 layer has ~400k 1x1 kernels) stay O(n log n). */
struct keyed {
    int64_t key;
    int64_t index;
};

struct group {
    int64_t key;
    int64_t first; /* index of the group's first ref in the original order */
    int64_t begin; /* range in the sorted keyed array */
    int64_t count;
};

static int64_t group_key(const struct ref_list *l, int64_t i, enum exp_item_mode mode)
{
    if (mode == EXP_ITEMS_KERNEL)
        return l->kernel[i];
    if (mode == EXP_ITEMS_CHANNEL) /* the kernel id without its input channel */
        return l->kernel[i] & ~(((int64_t)1 << 20) - 1);
    if (mode == EXP_ITEMS_LAYER)
        return l->refs[i].kind == EXP_REF_WEIGHT ? l->refs[i].tensor : -1;
    return 0;
}

static int compare_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int compare_group_first(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* Fill keyed[l->n] (sorted) and groups (ordered by first appearance); returns the group count. */
static int64_t group_refs(const struct ref_list *l, enum exp_item_mode mode, struct keyed *keyed,
                          struct group *groups)
{
    for (int64_t i = 0; i < l->n; i++)
        keyed[i] = (struct keyed){group_key(l, i, mode), i};
    if (l->n)
        qsort(keyed, (size_t)l->n, sizeof *keyed, compare_keyed);
    int64_t n = 0;
    for (int64_t i = 0; i < l->n; i++) {
        if (i == 0 || keyed[i].key != keyed[i - 1].key)
            groups[n++] = (struct group){keyed[i].key, keyed[i].index, i, 0};
        groups[n - 1].count++;
    }
    if (n)
        qsort(groups, (size_t)n, sizeof *groups, compare_group_first);
    return n;
}

/* The input group matching output group k: same kernel, k-th tensor, or the single group. */
static const struct group *input_group_for(const struct group *in_groups, int64_t n_in_groups,
                                           const struct group *out_group, int64_t k,
                                           enum exp_item_mode mode)
{
    if (mode == EXP_ITEMS_KERNEL || mode == EXP_ITEMS_CHANNEL) {
        for (int64_t lo = 0, hi = n_in_groups; lo < hi;) { /* in_groups sorted by key below */
            int64_t mid = (lo + hi) / 2;
            if (in_groups[mid].key == out_group->key)
                return &in_groups[mid];
            if (in_groups[mid].key < out_group->key)
                lo = mid + 1;
            else
                hi = mid;
        }
        return NULL;
    }
    if (mode == EXP_ITEMS_LAYER)
        return k < n_in_groups ? &in_groups[k] : NULL;
    return n_in_groups ? &in_groups[0] : NULL;
}

static int compare_ref(const void *a, const void *b)
{
    const struct exp_ref *x = a, *y = b;
    if (x->tensor != y->tensor)
        return x->tensor < y->tensor ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static int compare_group_key(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

int exp_item_mode_from_name(const char *name)
{
    if (strcmp(name, "one") == 0)
        return EXP_ITEMS_ONE;
    if (strcmp(name, "kernel") == 0)
        return EXP_ITEMS_KERNEL;
    if (strcmp(name, "layer") == 0)
        return EXP_ITEMS_LAYER;
    if (strcmp(name, "channel") == 0)
        return EXP_ITEMS_CHANNEL;
    return -1;
}

const char *exp_item_mode_name(enum exp_item_mode mode)
{
    switch (mode) {
    case EXP_ITEMS_ONE: return "one";
    case EXP_ITEMS_KERNEL: return "kernel";
    case EXP_ITEMS_LAYER: return "layer";
    case EXP_ITEMS_CHANNEL: return "channel";
    }
    return "?";
}

cgpc_status exp_select(const struct exp_tensor *tensors, int n_tensors, const char *inputs,
                       const char *outputs, enum exp_item_mode mode, struct exp_selection *sel,
                       struct cgpc_err *err)
{
    memset(sel, 0, sizeof *sel);
    if (exp_selector_is_coords(inputs)) { /* one item per output weight (exp/coords.h) */
        if (mode != EXP_ITEMS_ONE)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "inputs 'coords' makes one item per weight; "
                             "leave items at 'one', not '%s'", exp_item_mode_name(mode));
        cgpc_status st = exp_select(tensors, n_tensors, "none", outputs, EXP_ITEMS_ONE, sel, err);
        if (st == CGPC_OK && (st = exp_coords_expand(tensors, n_tensors, sel, err)) != CGPC_OK)
            exp_selection_free(sel);
        return st;
    }
    struct ref_list in = {0}, outl = {0};
    struct exp_ref *sorted_in = NULL;
    struct keyed *in_keyed = NULL, *out_keyed = NULL;
    struct group *in_groups = NULL, *out_groups = NULL;
    cgpc_status st;
    if ((st = parse_selector(tensors, n_tensors, inputs, 0, &in, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "inputs '%s'", inputs);
        goto out;
    }
    if ((st = parse_selector(tensors, n_tensors, outputs, 1, &outl, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "outputs '%s'", outputs);
        goto out;
    }
    if (outl.n == 0) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG, "outputs '%s' select no weights", outputs);
        goto out;
    }
    /* A weight may not be both an input and an output (checked by binary search over the
     * inputs sorted by (tensor, offset)). */
    if (in.n) {
        sorted_in = malloc((size_t)in.n * sizeof *sorted_in);
        if (!sorted_in) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
            goto out;
        }
        memcpy(sorted_in, in.refs, (size_t)in.n * sizeof *sorted_in);
        qsort(sorted_in, (size_t)in.n, sizeof *sorted_in, compare_ref);
        for (int64_t i = 0; i < outl.n; i++) {
            const struct exp_ref *r = &outl.refs[i];
            if (r->kind == EXP_REF_WEIGHT &&
                bsearch(r, sorted_in, (size_t)in.n, sizeof *sorted_in, compare_ref)) {
                st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s[%lld] is selected as input and as output",
                               tensors[r->tensor].name, (long long)r->offset);
                goto out;
            }
        }
    }
    in_keyed = malloc((size_t)(in.n + 1) * sizeof *in_keyed);
    out_keyed = malloc((size_t)(outl.n + 1) * sizeof *out_keyed);
    in_groups = malloc((size_t)(in.n + 1) * sizeof *in_groups);
    out_groups = malloc((size_t)(outl.n + 1) * sizeof *out_groups);
    if (!in_keyed || !out_keyed || !in_groups || !out_groups) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
        goto out;
    }
    int64_t n_items = group_refs(&outl, mode, out_keyed, out_groups);
    int64_t n_in_groups = group_refs(&in, mode, in_keyed, in_groups);
    if (mode == EXP_ITEMS_LAYER && n_in_groups != 0 && n_in_groups != n_items) {
        st = CGPC_FAIL(err, CGPC_ERR_ARG,
                       "items=layer: inputs name %lld tensors but outputs name %lld; give one "
                       "input tensor per output tensor, or none",
                       (long long)n_in_groups, (long long)n_items);
        goto out;
    }
    if ((mode == EXP_ITEMS_KERNEL || mode == EXP_ITEMS_CHANNEL) && n_in_groups)
        qsort(in_groups, (size_t)n_in_groups, sizeof *in_groups, compare_group_key);
    int64_t max_in = 0, max_out = 0;
    for (int64_t k = 0; k < n_items; k++) {
        const struct group *ig = input_group_for(in_groups, n_in_groups, &out_groups[k], k, mode);
        if (out_groups[k].count > max_out)
            max_out = out_groups[k].count;
        if (ig && ig->count > max_in)
            max_in = ig->count;
    }
    if (max_in > (1 << 24) || max_out > (1 << 24) || n_items > (1 << 24)) {
        st = CGPC_FAIL(err, CGPC_ERR_RANGE, "selection too large (%lld items, %lld inputs, %lld outputs)",
                       (long long)n_items, (long long)max_in, (long long)max_out);
        goto out;
    }
    sel->n_items = (int)n_items;
    sel->n_inputs = (int)max_in;
    sel->n_outputs = (int)max_out;
    sel->inputs = calloc((size_t)(n_items * max_in + 1), sizeof *sel->inputs);
    sel->outputs = calloc((size_t)(n_items * max_out + 1), sizeof *sel->outputs);
    if (!sel->inputs || !sel->outputs) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "selector: out of memory");
        goto out;
    }
    for (int64_t k = 0; k < n_items; k++) {
        struct exp_ref *irow = sel->inputs + k * max_in, *orow = sel->outputs + k * max_out;
        const struct group *og = &out_groups[k];
        const struct group *ig = input_group_for(in_groups, n_in_groups, og, k, mode);
        int64_t ni = 0, no = 0;
        for (; ig && ni < ig->count; ni++)
            irow[ni] = in.refs[in_keyed[ig->begin + ni].index];
        for (; no < og->count; no++)
            orow[no] = outl.refs[out_keyed[og->begin + no].index];
        for (; ni < max_in; ni++)
            irow[ni] = (struct exp_ref){EXP_REF_ZERO, -1, 0};
        for (; no < max_out; no++)
            orow[no] = (struct exp_ref){EXP_REF_DONT_CARE, -1, 0};
    }
    sel->n_selected_outputs = outl.n;
out:
    if (st != CGPC_OK)
        exp_selection_free(sel);
    free(sorted_in);
    free(in_keyed);
    free(out_keyed);
    free(in_groups);
    free(out_groups);
    ref_list_free(&in);
    ref_list_free(&outl);
    return st;
}

void exp_selection_free(struct exp_selection *sel)
{
    if (!sel)
        return;
    free(sel->inputs);
    free(sel->outputs);
    memset(sel, 0, sizeof *sel);
}
