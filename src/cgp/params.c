/* params.c - the parameter table of cgp/params.h made code (defaults, parsing with range checks,
 * config.txt lines), function sets, fitness comparison, scratch, measuring and describing
 * circuits. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "common/parallel.h"
#include "common/parse.h"
#include "common/resid.h"

static cgpc_status functions_parse(struct cgp_params *p, const char *list,
                                  struct cgpc_err *err);
static void functions_thesis(struct cgp_params *p);
static int functions_are_thesis(const struct cgp_params *p);

const struct cgp_param_info cgp_param_table[CGP_PARAM_COUNT] = {
#define CGP_PARAM_INFO(field, name, type, def, min, max, where, arg, help) \
    {name, CGP_PT_##type, def, min, max, where, arg, help},
    CGP_PARAM_LIST(CGP_PARAM_INFO)
#undef CGP_PARAM_INFO
};

/* Where a parameter lives in a struct cgp_params: its value, and for lists the count. */
struct param_ref {
    void *value;
    int *count;
};
#define REF_INT(f) {&p->f, NULL}
#define REF_I64(f) {&p->f, NULL}
#define REF_U64(f) {&p->f, NULL}
#define REF_DOUBLE(f) {&p->f, NULL}
#define REF_SECONDS(f) {&p->f, NULL}
#define REF_BOOL(f) {&p->f, NULL}
#define REF_ERROR(f) {&p->f, NULL}
#define REF_FITNESS(f) {&p->f, NULL}
#define REF_THRESHOLDS(f) {p->f, &p->n_##f}
#define REF_FUNCTIONS(f) {p->f, &p->n_##f}

static struct param_ref param_ref(const struct cgp_params *cp, int id)
{
    struct cgp_params *p = (struct cgp_params *)cp; /* the caller keeps constness */
    switch (id) {
#define CGP_PARAM_REF(field, name, type, def, min, max, where, arg, help) \
    case CGP_PARAM_##field: return (struct param_ref)REF_##type(field);
        CGP_PARAM_LIST(CGP_PARAM_REF)
#undef CGP_PARAM_REF
    }
    CGPC_ASSERT(!"parameter id out of range");
    return (struct param_ref){NULL, NULL};
}

int cgp_param_index(const char *name)
{
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        const char *a = cgp_param_table[i].name, *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-')))
            a++, b++;
        if (!*a && !*b)
            return i;
    }
    return -1;
}

/* "levels_back" -> "levels-back" */
static const char *dashed(int id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", cgp_param_table[id].name);
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = '-';
    return buf;
}

static int parse_bool_word(const char *s, int *out)
{
    static const char *const words[] = {"0", "false", "no", "off", "1", "true", "yes", "on"};
    for (int i = 0; i < 8; i++)
        if (strcmp(s, words[i]) == 0)
            return *out = i >= 4, 1;
    return 0;
}

static cgpc_status parse_thresholds(const struct cgp_param_info *pi, const char *text,
                                    double *out, int *n_out, struct cgpc_err *err)
{
    char buf[2048];
    if (strlen(text) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "list too long");
    strcpy(buf, text);
    int n = 0;
    double v[CGP_MAX_THRESHOLDS];
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (n == CGP_MAX_THRESHOLDS)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "more than %d values", CGP_MAX_THRESHOLDS);
        cgpc_status st = cgpc_parse_double(tok, pi->min, pi->max, &v[n++], err);
        if (st != CGPC_OK)
            return st;
    }
    if (n == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "no value given");
    memcpy(out, v, (size_t)n * sizeof *v);
    *n_out = n;
    return CGPC_OK;
}

static cgpc_status param_parse(struct cgp_params *p, int id, const char *text,
                               struct cgpc_err *err)
{
    const struct cgp_param_info *pi = &cgp_param_table[id];
    struct param_ref r = param_ref(p, id);
    switch (pi->type) {
    case CGP_PT_INT:
        return cgpc_parse_int(text, (int)pi->min, (int)pi->max, r.value, err);
    case CGP_PT_I64:
        return cgpc_parse_i64(text, (int64_t)pi->min, (int64_t)pi->max, r.value, err);
    case CGP_PT_U64:
        return cgpc_parse_u64(text, r.value, err);
    case CGP_PT_DOUBLE:
        return cgpc_parse_double(text, pi->min, pi->max, r.value, err);
    case CGP_PT_SECONDS: {
        double v;
        cgpc_status st = cgpc_parse_duration(text, &v, err);
        if (st == CGPC_OK && !(v >= pi->min && v <= pi->max))
            st = CGPC_FAIL(err, CGPC_ERR_RANGE, "'%s': must be in [%g, %g] seconds", text,
                           pi->min, pi->max);
        if (st == CGPC_OK)
            *(double *)r.value = v;
        return st;
    }
    case CGP_PT_BOOL:
        if (!parse_bool_word(text, r.value))
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected true or false (1, 0, yes, no, "
                             "on, off)", text);
        return CGPC_OK;
    case CGP_PT_ERROR: {
        int k = cgp_error_kind_from_name(text);
        if (k < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected one of %s", text, pi->arg);
        *(enum cgp_error_kind *)r.value = (enum cgp_error_kind)k;
        return CGPC_OK;
    }
    case CGP_PT_FITNESS: {
        int k = strcmp(text, "error") == 0 ? CGP_FITNESS_ERROR
                : strcmp(text, "bits") == 0 ? CGP_FITNESS_BITS : -1;
        if (k < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected one of %s", text, pi->arg);
        *(enum cgp_fitness_kind *)r.value = (enum cgp_fitness_kind)k;
        return CGPC_OK;
    }
    case CGP_PT_THRESHOLDS:
        return parse_thresholds(pi, text, r.value, r.count, err);
    case CGP_PT_FUNCTIONS:
        return functions_parse(p, text, err);
    }
    return CGPC_FAIL(err, CGPC_ERR_INTERNAL, "parameter type %d", (int)pi->type);
}

cgpc_status cgp_param_set(struct cgp_params *p, int id, const char *text, struct cgpc_err *err)
{
    CGPC_ASSERT(id >= 0 && id < CGP_PARAM_COUNT);
    int thesis = functions_are_thesis(p);
    cgpc_status st = param_parse(p, id, text, err);
    if (st != CGPC_OK)
        cgpc_err_prefix(err, "%s", cgp_param_table[id].name);
    else if (id == CGP_PARAM_multiplex && thesis)
        functions_thesis(p); /* the thesis set follows multiplex (mux2, mux4 in or out) */
    return st;
}

int cgp_param_format(const struct cgp_params *p, int id, char *buf, size_t cap)
{
    const struct cgp_param_info *pi = &cgp_param_table[id];
    struct param_ref r = param_ref(p, id);
    int n = 0;
#define PUT(...) (n += snprintf(buf + n, (size_t)n < cap ? cap - (size_t)n : 0, __VA_ARGS__))
    buf[0] = '\0';
    switch (pi->type) {
    case CGP_PT_INT:
    case CGP_PT_BOOL: PUT("%d", *(const int *)r.value); break;
    case CGP_PT_I64: PUT("%" PRId64, *(const int64_t *)r.value); break;
    case CGP_PT_U64: PUT("%" PRIu64, *(const uint64_t *)r.value); break;
    case CGP_PT_DOUBLE:
    case CGP_PT_SECONDS: PUT("%.17g", *(const double *)r.value); break;
    case CGP_PT_ERROR:
        PUT("%s", cgp_error_kind_name(*(const enum cgp_error_kind *)r.value));
        break;
    case CGP_PT_FITNESS:
        PUT("%s", *(const enum cgp_fitness_kind *)r.value == CGP_FITNESS_BITS ? "bits" : "error");
        break;
    case CGP_PT_THRESHOLDS:
        for (int i = 0; i < *r.count; i++)
            PUT("%s%.17g", i ? " " : "", ((const double *)r.value)[i]);
        break;
    case CGP_PT_FUNCTIONS:
        for (int i = 0; i < *r.count; i++)
            PUT("%s%s", i ? "," : "", cgpc_op_name(((const int32_t *)r.value)[i]));
        break;
    }
#undef PUT
    return n < (int)cap ? n : (int)cap - 1;
}

void cgp_params_default(struct cgp_params *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        cgpc_status st = cgp_param_set(p, i, cgp_param_table[i].def, NULL);
        CGPC_ASSERT(st == CGPC_OK); /* every table default is a valid value */
    }
}

cgpc_status cgp_params_write(const struct cgp_params *p, FILE *fp, struct cgpc_err *err)
{
    char key[64], value[4096];
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        if (!(cgp_param_table[i].where & CGP_PF_FILE))
            continue;
        cgp_param_format(p, i, value, sizeof value);
        fprintf(fp, "%s %s\n", dashed(i, key, sizeof key), value);
    }
    if (ferror(fp))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the parameters failed");
    return CGPC_OK;
}

int cgp_params_diff(const struct cgp_params *a, const struct cgp_params *b, char *a_txt,
                    char *b_txt, size_t cap)
{
    for (int k = 0; k < CGP_PARAM_COUNT; k++) {
        cgp_param_format(a, k, a_txt, cap);
        cgp_param_format(b, k, b_txt, cap);
        if (strcmp(a_txt, b_txt))
            return k;
    }
    return -1;
}

cgpc_status cgp_params_parse(struct cgp_params *p, const char *text, const char *name,
                             struct cgpc_err *err)
{
    return cgp_params_parse_lines(p, text, name, 1, err);
}

cgpc_status cgp_params_parse_lines(struct cgp_params *p, const char *text, const char *name,
                                   int first_line, struct cgpc_err *err)
{
    const char *line_of[CGP_PARAM_COUNT] = {0};
    int ln_of[CGP_PARAM_COUNT] = {0};
    char key[64];
    cgp_params_default(p);
    /* Find every key's line first, so that values are applied in table order. */
    int ln = first_line;
    for (const char *line = text; *line; ln++) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t kl = strcspn(line, " \n");
        if (len > 0 && line[0] != '#') {
            int id = -1;
            for (int i = 0; i < CGP_PARAM_COUNT && id < 0; i++)
                if (cgp_param_table[i].where & CGP_PF_FILE) {
                    dashed(i, key, sizeof key);
                    if (strlen(key) == kl && strncmp(line, key, kl) == 0)
                        id = i;
                }
            if (id < 0) {
                char keys[1024] = "";
                for (int i = 0; i < CGP_PARAM_COUNT; i++)
                    if (cgp_param_table[i].where & CGP_PF_FILE)
                        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s",
                                 keys[0] ? ", " : "", dashed(i, key, sizeof key));
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: unknown key '%.*s': expected "
                                 "'key value' with a key of %s", name, ln,
                                 (int)(kl < 64 ? kl : 64), line, keys);
            }
            if (line_of[id])
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %s: given twice (first on line "
                                 "%d)", name, ln, key, ln_of[id]);
            line_of[id] = line;
            ln_of[id] = ln;
        }
        line = nl ? nl + 1 : line + len;
    }
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        if (!(cgp_param_table[i].where & CGP_PF_FILE))
            continue;
        dashed(i, key, sizeof key);
        if (!line_of[i]) /* written before the parameter existed: it had its default */
            continue;
        const char *v = line_of[i] + strlen(key);
        v += *v == ' ';
        char value[4096];
        size_t n = strcspn(v, "\n");
        if (n >= sizeof value)
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: %s: value longer than %zu characters",
                             name, ln_of[i], key, sizeof value - 1);
        memcpy(value, v, n);
        value[n] = '\0';
        if (cgp_param_set(p, i, value, err) != CGPC_OK) {
            cgpc_err_prefix(err, "%s:%d", name, ln_of[i]);
            return err ? (err->code = CGPC_ERR_FORMAT) : CGPC_ERR_FORMAT;
        }
    }
    return CGPC_OK;
}

cgpc_status cgp_params_set_functions(struct cgp_params *p, const char *list,
                                     struct cgpc_err *err)
{
    return cgp_param_set(p, CGP_PARAM_functions, list, err);
}

/* The thesis's 27, plus mux2 and mux4 in multiplex mode. */
static void functions_thesis(struct cgp_params *p)
{
    int n = 0;
    for (int op = 0; op < CGPC_OP_THESIS_COUNT; op++)
        p->functions[n++] = op;
    if (p->multiplex) {
        p->functions[n++] = CGPC_OP_MUX2;
        p->functions[n++] = CGPC_OP_MUX4;
    }
    p->n_functions = n;
}

static int functions_are_thesis(const struct cgp_params *p)
{
    struct cgp_params t = *p;
    functions_thesis(&t);
    return t.n_functions == p->n_functions &&
           memcmp(t.functions, p->functions, (size_t)t.n_functions * sizeof *t.functions) == 0;
}

static cgpc_status functions_parse(struct cgp_params *p, const char *list, struct cgpc_err *err)
{
    if (strcmp(list, "thesis") == 0) {
        functions_thesis(p);
        return CGPC_OK;
    }
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "function list too long");
    strcpy(buf, list);
    int n = 0, seen[CGPC_OP_COUNT] = {0};
    int32_t ops[CGPC_OP_COUNT];
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int op = cgpc_op_from_name(tok);
        if (op < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "unknown operator '%s' (operator names as `cgpc "
                             "energy` lists them: add, sub, mul, shr1, const0, ...; or thesis)",
                             tok);
        if ((op == CGPC_OP_MUX2 || op == CGPC_OP_MUX4) && !p->multiplex)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s' is only available with multiplex set", tok);
        if (seen[op]++)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "operator '%s' given twice", tok);
        ops[n++] = op;
    }
    if (n == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "empty function list");
    memcpy(p->functions, ops, (size_t)n * sizeof *ops);
    p->n_functions = n;
    return CGPC_OK;
}

/* Range of parameter id as a number (the numeric types), checked like cgp_param_set does. */
static cgpc_status param_check_range(const struct cgp_params *p, int id, struct cgpc_err *err)
{
    const struct cgp_param_info *pi = &cgp_param_table[id];
    struct param_ref r = param_ref(p, id);
    double v;
    switch (pi->type) {
    case CGP_PT_INT:
    case CGP_PT_BOOL: v = *(const int *)r.value; break;
    case CGP_PT_I64: v = (double)*(const int64_t *)r.value; break;
    case CGP_PT_DOUBLE:
    case CGP_PT_SECONDS: v = *(const double *)r.value; break;
    case CGP_PT_ERROR: {
        int k = (int)*(const enum cgp_error_kind *)r.value;
        if (k < CGP_ERROR_SE || k > CGP_ERROR_AE)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %d is not an error metric", pi->name, k);
        return CGPC_OK;
    }
    case CGP_PT_FITNESS: {
        int k = (int)*(const enum cgp_fitness_kind *)r.value;
        if (k != CGP_FITNESS_ERROR && k != CGP_FITNESS_BITS)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %d is not a fitness", pi->name, k);
        return CGPC_OK;
    }
    case CGP_PT_THRESHOLDS: {
        int n = *r.count;
        if (n < 1 || n > CGP_MAX_THRESHOLDS)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %d values: expected 1..%d", pi->name, n,
                             CGP_MAX_THRESHOLDS);
        for (int i = 0; i < n; i++) {
            double t = ((const double *)r.value)[i];
            if (!(t >= pi->min && t <= pi->max))
                return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %g: must be in [%g, %g]", pi->name, t,
                                 pi->min, pi->max);
        }
        return CGPC_OK;
    }
    case CGP_PT_FUNCTIONS: {
        int n = *r.count;
        if (n < 1 || n > CGPC_OP_COUNT)
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %d operators: expected 1..%d", pi->name,
                             n, CGPC_OP_COUNT);
        for (int i = 0; i < n; i++) {
            int op = ((const int32_t *)r.value)[i];
            if (op < 0 || op >= CGPC_OP_COUNT)
                return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: operator %d unknown", pi->name, op);
            if ((op == CGPC_OP_MUX2 || op == CGPC_OP_MUX4) && !p->multiplex)
                return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %s is only available with multiplex "
                                 "set", pi->name, cgpc_op_name(op));
        }
        return CGPC_OK;
    }
    case CGP_PT_U64:
    default:
        return CGPC_OK; /* every value is valid */
    }
    if (!(v >= pi->min && v <= pi->max))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%s: %.17g: must be in [%.17g, %.17g]", pi->name, v,
                         pi->min, pi->max);
    return CGPC_OK;
}

cgpc_status cgp_params_check(const struct cgp_params *p, const struct cgp_dataset *ds,
                             struct cgpc_err *err)
{
    for (int i = 0; i < CGP_PARAM_COUNT; i++) {
        cgpc_status st = param_check_range(p, i, err);
        if (st != CGPC_OK)
            return st;
    }
    if ((int64_t)p->rows * p->cols > (1 << 22))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "rows x cols: %d x %d: at most %d nodes", p->rows,
                         p->cols, 1 << 22);
    if (p->levels_back > p->cols)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "levels_back: %d exceeds cols (%d); 0 = cols",
                         p->levels_back, p->cols);
    int nullary = 0;
    for (int i = 0; i < p->n_functions; i++)
        nullary += cgp_op_arity(p->functions[i]) == 0;
    if (ds && ds->n_inputs == 0 && nullary == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "functions: the data set has no inputs, so the "
                         "function set needs a constant (const0, const1, ...)");
    if (p->value_slots && ds && ds->n_inputs != 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "value_slots: for data sets without inputs (this one "
                         "has %d)", ds->n_inputs);
    if (p->fitness == CGP_FITNESS_BITS) {
        if (p->value_slots)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "fitness bits: codes every output's residual; "
                             "value_slots must be off");
    }
    return CGPC_OK;
}

const char *cgp_error_kind_name(enum cgp_error_kind k)
{
    return k == CGP_ERROR_SE ? "se" : k == CGP_ERROR_AE ? "ae" : "mse";
}

int cgp_error_kind_from_name(const char *name)
{
    if (strcmp(name, "se") == 0)
        return CGP_ERROR_SE;
    if (strcmp(name, "mse") == 0)
        return CGP_ERROR_MSE;
    if (strcmp(name, "ae") == 0)
        return CGP_ERROR_AE;
    return -1;
}

double cgp_per_weight(enum cgp_error_kind kind, double metric, int64_t cared)
{
    double n = cared > 0 ? (double)cared : 1.0;
    switch (kind) {
    case CGP_ERROR_SE: return sqrt(metric / n);
    case CGP_ERROR_MSE: return sqrt(metric);
    case CGP_ERROR_AE: return metric / n;
    }
    return metric;
}

double cgp_metric_of_per_weight(enum cgp_error_kind kind, double per_weight, int64_t cared)
{
    double n = cared > 0 ? (double)cared : 1.0;
    switch (kind) {
    case CGP_ERROR_SE: return per_weight * per_weight * n;
    case CGP_ERROR_MSE: return per_weight * per_weight;
    case CGP_ERROR_AE: return per_weight * n;
    }
    return per_weight;
}

int64_t cgp_threshold_limit(double threshold, enum cgp_error_kind kind,
                            const struct cgp_dataset *ds)
{
    double n = kind == CGP_ERROR_MSE ? (double)cgp_dataset_cared(ds) : 1.0;
    if (n <= 0)
        return INT64_MAX;
    double x = floor(threshold * n);
    if (x > 9e18)
        return INT64_MAX;
    int64_t lim = (int64_t)x;
    while ((double)(lim + 1) / n <= threshold)
        lim++;
    while (lim > 0 && (double)lim / n > threshold)
        lim--;
    return lim;
}

int cgp_fitness_cmp(const struct cgp_fitness *a, const struct cgp_fitness *b, int64_t limit)
{
    int a_in = a->err_sum <= limit, b_in = b->err_sum <= limit;
    if (!a_in || !b_in) {
        if (a_in != b_in)
            return a_in ? -1 : 1;
        return (a->err_sum > b->err_sum) - (a->err_sum < b->err_sum);
    }
    if (a->bits != b->bits) /* 0 unless fitness bits */
        return a->bits < b->bits ? -1 : 1;
    if (a->energy_pj != b->energy_pj)
        return a->energy_pj < b->energy_pj ? -1 : 1;
    if (a->delay_ns != b->delay_ns)
        return a->delay_ns < b->delay_ns ? -1 : 1;
    return (a->gates > b->gates) - (a->gates < b->gates);
}

cgpc_status cgp_scratch_init(struct cgp_scratch *sc, const struct cgp_shape *s,
                             const struct cgp_dataset *ds, struct cgpc_err *err)
{
    memset(sc, 0, sizeof *sc);
    size_t nn = (size_t)s->n_nodes, ns = (size_t)(s->n_inputs + s->n_nodes);
    sc->stamp = cgpc_calloc_lines(nn, sizeof *sc->stamp);
    sc->stack = cgpc_alloc_lines(2 * nn * sizeof *sc->stack, 1);
    sc->order = cgpc_alloc_lines(nn * sizeof *sc->order, 1);
    sc->pos = cgpc_alloc_lines(nn * sizeof *sc->pos, 1);
    sc->enodes = cgpc_alloc_lines(nn * sizeof *sc->enodes, 1);
    sc->eout = cgpc_alloc_lines((size_t)s->n_outputs * sizeof *sc->eout, 1);
    sc->arrival = cgpc_alloc_lines(ns * sizeof *sc->arrival, 1);
    sc->depth = cgpc_alloc_lines(ns * sizeof *sc->depth, 1);
    sc->values = cgpc_calloc_lines(ns * (size_t)ds->stride + 64, 1);
    if (!sc->stamp || !sc->stack || !sc->order || !sc->pos || !sc->enodes || !sc->eout ||
        !sc->arrival || !sc->depth || !sc->values) {
        cgp_scratch_free(sc);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "evaluation scratch for %zu nodes", nn);
    }
    cgp_values_load_inputs(ds, sc->values);
    return CGPC_OK;
}

void cgp_scratch_free(struct cgp_scratch *sc)
{
    if (!sc)
        return;
    free(sc->stamp);
    free(sc->stack);
    free(sc->order);
    free(sc->pos);
    free(sc->enodes);
    free(sc->eout);
    free(sc->arrival);
    free(sc->depth);
    free(sc->values);
    memset(sc, 0, sizeof *sc);
}

static void scratch_next_mark(struct cgp_scratch *sc, const struct cgp_shape *s)
{
    if (++sc->mark == 0) { /* wrapped: forget all marks */
        memset(sc->stamp, 0, (size_t)s->n_nodes * sizeof *sc->stamp);
        sc->mark = 1;
    }
}

void cgp_scratch_decode(struct cgp_scratch *sc, const struct cgp_shape *s, const int32_t *genes)
{
    scratch_next_mark(sc, s);
    sc->n_active = cgp_decode_active(s, genes, sc->stamp, sc->mark, sc->stack, sc->order);
}

void cgp_scratch_decode_lazy(struct cgp_scratch *sc, const struct cgp_shape *s,
                             const int32_t *genes, const uint64_t *pending,
                             cgp_resolve_fn resolve, void *ctx)
{
    scratch_next_mark(sc, s);
    sc->n_active = cgp_decode_active_lazy(s, genes, sc->stamp, sc->mark, sc->stack, sc->order,
                                          pending, resolve, ctx);
}

void cgp_scratch_cost(struct cgp_scratch *sc, const struct cgp_shape *s, const int32_t *genes,
                      const struct energy_gate_table *t, struct cgp_fitness *fit)
{
    const int A = s->node_arity, ni = s->n_inputs;
    /* Renumber sources to energy_circuit_account's compact indexing. */
    for (int i = 0; i < sc->n_active; i++)
        sc->pos[sc->order[i]] = i;
    for (int i = 0; i < sc->n_active; i++) {
        const int32_t *ng = genes + (size_t)sc->order[i] * (A + 1);
        struct energy_node *en = &sc->enodes[i];
        en->op = ng[A];
        for (int j = 0; j < CGPC_OP_MAX_ARITY; j++)
            en->in[j] = 0;
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            en->in[j] = ng[j] < ni ? ng[j] : ni + sc->pos[ng[j] - ni];
    }
    const int32_t *out = genes + (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++)
        sc->eout[o] = out[o] < ni ? out[o] : ni + sc->pos[out[o] - ni];
    struct energy_circuit_cost c;
    energy_circuit_account(t, sc->enodes, sc->n_active, ni, sc->eout, s->n_outputs, sc->arrival,
                           sc->depth, &c);
    fit->energy_pj = c.energy_pj;
    fit->delay_ns = c.delay_ns;
    fit->area_um2 = c.area_um2;
    fit->gates = c.gates;
    fit->depth = c.depth;
    fit->costed = 1;
}

void cgp_circuit_cost(const struct cgp_shape *s, const int32_t *genes, const int32_t *order,
                      int n, const struct energy_gate_table *t, double *arrival, int *depth,
                      struct cgp_fitness *fit)
{
    const int A = s->node_arity, ni = s->n_inputs;
    int count[CGPC_OP_COUNT] = {0};
    for (int i = 0; i < ni; i++) {
        arrival[i] = 0;
        depth[i] = 0;
    }
    /* energy_circuit_account's arrival and depth, on the genes' own source numbering */
    for (int i = 0; i < n; i++) {
        const int32_t *ng = genes + (size_t)order[i] * (A + 1);
        const struct energy_gate_cost *c = &t->op[ng[A]];
        double at = 0;
        int d = 0;
        for (int j = 0; j < cgp_op_arity(ng[A]); j++) {
            at = arrival[ng[j]] > at ? arrival[ng[j]] : at;
            d = depth[ng[j]] > d ? depth[ng[j]] : d;
        }
        arrival[ni + order[i]] = at + c->delay_ns;
        depth[ni + order[i]] = d + (c->area_um2 > 0);
        count[ng[A]]++;
    }
    double delay = 0;
    int max_depth = 0;
    const int32_t *out = genes + (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++) {
        delay = arrival[out[o]] > delay ? arrival[out[o]] : delay;
        max_depth = depth[out[o]] > max_depth ? depth[out[o]] : max_depth;
    }
    energy_gates_total(t, count, &fit->energy_pj, &fit->area_um2, &fit->gates);
    fit->delay_ns = delay;
    fit->depth = max_depth;
    fit->costed = 1;
}

/* cgp_measure, and the bits fitness under bound when bound >= 0. */
static cgpc_status measure(const struct cgp_genome *g, const struct cgp_dataset *ds,
                           const struct energy_gate_table *t, enum cgp_error_kind kind, int bound,
                           struct cgp_fitness *out, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    if (ds->n_inputs != s->n_inputs || ds->n_outputs != s->n_outputs)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "the circuit has %d inputs and %d outputs, the data "
                         "set %d and %d", s->n_inputs, s->n_outputs, ds->n_inputs, ds->n_outputs);
    struct cgp_scratch sc;
    cgpc_status st = cgp_scratch_init(&sc, s, ds, err);
    if (st != CGPC_OK)
        return st;
    memset(out, 0, sizeof *out);
    cgp_scratch_decode(&sc, s, g->genes);
    cgp_eval_active(s, g->genes, sc.order, sc.n_active, ds->n_items, ds->stride, sc.values);
    out->err_sum = cgp_error_sum(s, g->genes, sc.values, ds, kind);
    int64_t n = cgp_dataset_cared(ds);
    out->error = kind == CGP_ERROR_MSE ? (n ? (double)out->err_sum / (double)n : 0)
                                       : (double)out->err_sum;
    out->active = sc.n_active;
    cgp_scratch_cost(&sc, s, g->genes, t, out);
    if (bound >= 0)
        cgp_scratch_bits(&sc, s, g->genes, g->fset.n_ops, ds, bound, out);
    cgp_scratch_free(&sc);
    return CGPC_OK;
}

cgpc_status cgp_measure(const struct cgp_genome *g, const struct cgp_dataset *ds,
                        const struct energy_gate_table *t, enum cgp_error_kind kind,
                        struct cgp_fitness *out, struct cgpc_err *err)
{
    return measure(g, ds, t, kind, -1, out, err);
}

cgpc_status cgp_measure_bits(const struct cgp_genome *g, const struct cgp_dataset *ds,
                             const struct energy_gate_table *t, enum cgp_error_kind kind,
                             int bound, struct cgp_fitness *out, struct cgpc_err *err)
{
    if (bound < 0 || bound > CGPC_RESID_MAX_BOUND)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "residual bound %d: expected 0..%d", bound,
                         CGPC_RESID_MAX_BOUND);
    return measure(g, ds, t, kind, bound, out, err);
}

cgpc_status cgp_genome_describe(const struct cgp_genome *g, const struct energy_gate_table *t,
                                FILE *fp, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    struct cgp_dataset one;
    struct cgp_scratch sc;
    cgpc_status st = cgp_dataset_init(&one, ni, s->n_outputs, 1, err);
    if (st != CGPC_OK)
        return st;
    if ((st = cgp_scratch_init(&sc, s, &one, err)) != CGPC_OK) {
        cgp_dataset_free(&one);
        return st;
    }
    cgp_scratch_decode(&sc, s, g->genes);
    /* Print in node index order (also topological), with each gate's own cost. */
    uint8_t *on = calloc((size_t)s->n_nodes, 1);
    if (!on) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "describe");
        goto out;
    }
    for (int i = 0; i < sc.n_active; i++)
        on[sc.order[i]] = 1;
    fprintf(fp, "# node  column  operator    inputs            energy_pj  delay_ns  area_um2\n");
    for (int k = 0; k < s->n_nodes; k++) {
        if (!on[k])
            continue;
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        char ins[64] = "";
        int len = 0;
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            len += snprintf(ins + len, sizeof ins - (size_t)len, "%s%s%d", j ? "," : "",
                            ng[j] < ni ? "i" : "n", ng[j] < ni ? ng[j] : ng[j] - ni);
        const struct energy_gate_cost *c = &t->op[ng[A]];
        fprintf(fp, "n%-5d %-7d %-11s %-17s %-10.4g %-9.4g %.4g\n", k, k / s->rows,
                cgpc_op_name(ng[A]), len ? ins : "-", c->energy_pj, c->delay_ns, c->area_um2);
    }
    const int32_t *out = g->genes + (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++)
        fprintf(fp, "out%-4d = %s%d\n", o, out[o] < ni ? "i" : "n", out[o] < ni ? out[o] : out[o] - ni);
    if (ferror(fp))
        st = CGPC_FAIL(err, CGPC_ERR_IO, "writing the circuit listing failed");
out:
    free(on);
    cgp_scratch_free(&sc);
    cgp_dataset_free(&one);
    return st;
}
