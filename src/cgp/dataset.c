/* dataset.c - CGP data sets: allocation, building from arrays, the "cgpc-data v1" text format. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "cgp/text.h"
#include "common/fileio.h"
#include "common/parse.h"

#define CGP_DATA_MAGIC "cgpc-data v1"
#define CGP_MAX_ITEMS 32768 /* keeps per-output error sums in int32 */

cgpc_status cgp_dataset_init(struct cgp_dataset *ds, int n_inputs, int n_outputs, int n_items,
                             struct cgpc_err *err)
{
    memset(ds, 0, sizeof *ds);
    if (n_inputs < 0 || n_inputs > CGP_MAX_IO || n_outputs < 1 || n_outputs > CGP_MAX_IO ||
        n_items < 1 || n_items > CGP_MAX_ITEMS)
        return CGPC_FAIL(err, CGPC_ERR_RANGE,
                         "data set: inputs %d, outputs %d, items %d: expected inputs in [0, %d], "
                         "outputs in [1, %d], items in [1, %d]",
                         n_inputs, n_outputs, n_items, CGP_MAX_IO, CGP_MAX_IO, CGP_MAX_ITEMS);
    ds->n_inputs = n_inputs;
    ds->n_outputs = n_outputs;
    ds->n_items = n_items;
    ds->stride = n_items >= 16 ? (n_items + CGP_LANES - 1) / CGP_LANES * CGP_LANES : n_items;
    size_t st = (size_t)ds->stride;
    ds->in = calloc((size_t)n_inputs * st + 1, 1);
    ds->target = calloc((size_t)n_outputs * st, 1);
    ds->care = calloc((size_t)n_outputs * st, 1);
    ds->weight = malloc((size_t)n_outputs * sizeof *ds->weight);
    if (!ds->in || !ds->target || !ds->care || !ds->weight) {
        cgp_dataset_free(ds);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "data set of %d x %d items", n_outputs, n_items);
    }
    for (int o = 0; o < n_outputs; o++) {
        ds->weight[o] = 1;
        memset(ds->care + (size_t)o * st, 1, (size_t)n_items);
    }
    return CGPC_OK;
}

void cgp_dataset_free(struct cgp_dataset *ds)
{
    if (!ds)
        return;
    free(ds->in);
    free(ds->target);
    free(ds->care);
    free(ds->weight);
    memset(ds, 0, sizeof *ds);
}

cgpc_status cgp_dataset_from_arrays(struct cgp_dataset *ds, int n_inputs, int n_outputs,
                                    int n_items, const int8_t *in, const int8_t *out,
                                    const uint8_t *care, struct cgpc_err *err)
{
    cgpc_status st = cgp_dataset_init(ds, n_inputs, n_outputs, n_items, err);
    if (st != CGPC_OK)
        return st;
    for (int d = 0; d < n_items; d++) {
        for (int i = 0; i < n_inputs; i++)
            ds->in[(size_t)i * ds->stride + d] = in[(size_t)d * n_inputs + i];
        for (int o = 0; o < n_outputs; o++) {
            ds->target[(size_t)o * ds->stride + d] = out[(size_t)d * n_outputs + o];
            ds->care[(size_t)o * ds->stride + d] = care ? care[(size_t)d * n_outputs + o] != 0 : 1;
        }
    }
    return CGPC_OK;
}

int64_t cgp_dataset_cared(const struct cgp_dataset *ds)
{
    int64_t n = 0;
    for (int o = 0; o < ds->n_outputs; o++) {
        int64_t c = 0;
        for (int d = 0; d < ds->n_items; d++)
            c += ds->care[(size_t)o * ds->stride + d];
        n += c * ds->weight[o];
    }
    return n;
}

cgpc_status cgp_dataset_parse(struct cgp_dataset *ds, const char *text, const char *name,
                              struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    memset(ds, 0, sizeof *ds);
    char *copy = strdup(text), *cursor = copy;
    int line_no = 0, ni = 0, no = 0, nd = 0;
    if (!copy)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: copy of the text", name);
    char *line = cgp_text_line(&cursor, &line_no);
    if (!line || strcmp(line, CGP_DATA_MAGIC) != 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                       "%s:%d: expected the header '" CGP_DATA_MAGIC "' (is this a cgpc data set? "
                       "see docs/ARCHITECTURE.md)", name, line_no);
        goto out;
    }
    if ((st = cgp_text_key_int(&cursor, &line_no, name, "inputs", 0, CGP_MAX_IO, &ni, err)) ||
        (st = cgp_text_key_int(&cursor, &line_no, name, "outputs", 1, CGP_MAX_IO, &no, err)) ||
        (st = cgp_text_key_int(&cursor, &line_no, name, "items", 1, CGP_MAX_ITEMS, &nd, err)))
        goto out;
    if ((st = cgp_dataset_init(ds, ni, no, nd, err)) != CGPC_OK)
        goto out;
    for (int d = 0; d < nd; d++) {
        line = cgp_text_line(&cursor, &line_no);
        if (!line) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: expected %d items, found %d", name,
                           line_no, nd, d);
            goto out;
        }
        char *save = NULL;
        int col = 0;
        for (char *tok = strtok_r(line, " \t\r,", &save); tok; tok = strtok_r(NULL, " \t\r,", &save), col++) {
            if (col >= ni + no) {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: more than %d values (%d inputs + "
                               "%d outputs)", name, line_no, ni + no, ni, no);
                goto out;
            }
            int is_out = col >= ni;
            size_t at = (size_t)(is_out ? col - ni : col) * ds->stride + d;
            if (is_out && (strcmp(tok, "x") == 0 || strcmp(tok, "*") == 0)) {
                ds->care[at] = 0;
                continue;
            }
            int v;
            if (cgpc_parse_int(tok, -128, 127, &v, err) != CGPC_OK) {
                cgpc_err_prefix(err, "%s:%d: %s %d", name, line_no, is_out ? "output" : "input",
                                (is_out ? col - ni : col) + 1);
                st = CGPC_ERR_FORMAT;
                goto out;
            }
            (is_out ? ds->target : ds->in)[at] = (int8_t)v;
        }
        if (col != ni + no) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %d values, expected %d (%d inputs + %d "
                           "outputs)", name, line_no, col, ni + no, ni, no);
            goto out;
        }
    }
    if ((line = cgp_text_line(&cursor, &line_no)) != NULL)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: more item lines than 'items %d'", name,
                       line_no, nd);
out:
    if (st != CGPC_OK)
        cgp_dataset_free(ds);
    free(copy);
    return st;
}

cgpc_status cgp_dataset_load(struct cgp_dataset *ds, const char *path, struct cgpc_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    memset(ds, 0, sizeof *ds);
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st == CGPC_OK)
        st = cgp_dataset_parse(ds, (const char *)data, path, err);
    free(data);
    return st;
}

cgpc_status cgp_dataset_write(const struct cgp_dataset *ds, FILE *fp, struct cgpc_err *err)
{
    fprintf(fp, CGP_DATA_MAGIC "\ninputs %d\noutputs %d\nitems %d\n", ds->n_inputs,
            ds->n_outputs, ds->n_items);
    fprintf(fp, "# one line per item: %d inputs, then %d outputs (x = don't care)\n",
            ds->n_inputs, ds->n_outputs);
    for (int d = 0; d < ds->n_items; d++) {
        for (int i = 0; i < ds->n_inputs; i++)
            fprintf(fp, "%s%d", i ? " " : "", ds->in[(size_t)i * ds->stride + d]);
        for (int o = 0; o < ds->n_outputs; o++) {
            size_t at = (size_t)o * ds->stride + d;
            const char *sep = (o || ds->n_inputs) ? " " : "";
            if (ds->care[at])
                fprintf(fp, "%s%d", sep, ds->target[at]);
            else
                fprintf(fp, "%sx", sep);
        }
        fputc('\n', fp);
    }
    if (ferror(fp))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the data set failed");
    return CGPC_OK;
}

cgpc_status cgp_dataset_save(const struct cgp_dataset *ds, const char *path,
                             struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st != CGPC_OK)
        return st;
    if ((st = cgp_dataset_write(ds, af.fp, err)) != CGPC_OK) {
        cgpc_atomic_abort(&af);
        cgpc_err_prefix(err, "%s", path);
        return st;
    }
    return cgpc_atomic_close(&af, err);
}

/* Outputs o and q need the same values: equal care marks and equal cared targets. */
static int same_column(const struct cgp_dataset *ds, int o, int q)
{
    const size_t a = (size_t)o * ds->stride, b = (size_t)q * ds->stride;
    for (int d = 0; d < ds->n_items; d++) {
        if (ds->care[a + d] != ds->care[b + d])
            return 0;
        if (ds->care[a + d] && ds->target[a + d] != ds->target[b + d])
            return 0;
    }
    return 1;
}

cgpc_status cgp_dataset_value_slots(const struct cgp_dataset *ds, struct cgp_dataset *slots,
                                    int32_t *slot_of, struct cgpc_err *err)
{
    memset(slots, 0, sizeof *slots);
    if (ds->n_inputs != 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "value slots are for data sets without inputs (this "
                         "one has %d)", ds->n_inputs);
    /* first[k]: the first output of slot k (its representative); O(outputs x slots x items) */
    int32_t *first = malloc((size_t)ds->n_outputs * sizeof *first);
    if (!first)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "value slots for %d outputs", ds->n_outputs);
    int k = 0;
    for (int o = 0; o < ds->n_outputs; o++) {
        int s = 0;
        while (s < k && !same_column(ds, first[s], o))
            s++;
        if (s == k)
            first[k++] = o;
        slot_of[o] = s;
    }
    cgpc_status st = cgp_dataset_init(slots, 0, k, ds->n_items, err);
    if (st == CGPC_OK) {
        for (int s = 0; s < k; s++) {
            memcpy(slots->target + (size_t)s * slots->stride,
                   ds->target + (size_t)first[s] * ds->stride, (size_t)ds->n_items);
            memcpy(slots->care + (size_t)s * slots->stride,
                   ds->care + (size_t)first[s] * ds->stride, (size_t)ds->n_items);
            slots->weight[s] = 0;
        }
        for (int o = 0; o < ds->n_outputs; o++)
            slots->weight[slot_of[o]] += ds->weight[o];
    }
    free(first);
    return st;
}
