/* params.c - parameters, function sets, fitness comparison, scratch, measuring and describing
 * circuits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"

void cgp_params_default(struct cgp_params *p)
{
    memset(p, 0, sizeof *p);
    p->rows = 8;
    p->cols = 8;
    p->levels_back = 0;
    p->lambda = 4;
    p->mutation_max = 0.01;
    p->generations = 10000;
    p->error_kind = CGP_ERROR_MSE;
    p->thresholds[0] = 0;
    p->n_thresholds = 1;
    for (int op = 0; op < CGPC_OP_THESIS_COUNT; op++)
        p->functions[op] = op;
    p->n_functions = CGPC_OP_THESIS_COUNT;
    p->seed = 1;
    p->runs = 1;
    p->first_run = 0;
    p->checkpoint_every = 60;
    p->parallel_min_us = 30;
}

cgpc_status cgp_params_set_functions(struct cgp_params *p, const char *list,
                                     struct cgpc_err *err)
{
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "function list too long");
    strcpy(buf, list);
    int n = 0, seen[CGPC_OP_COUNT] = {0};
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int op = cgpc_op_from_name(tok);
        if (op < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "unknown operator '%s' (names as in `cgpc energy "
                             "--list`: add, sub, mul, shr1, const0, id, ...)", tok);
        if ((op == CGPC_OP_MUX2 || op == CGPC_OP_MUX4) && !p->multiplex)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s' is only available with --multiplex "
                             "(give --multiplex before --functions)", tok);
        if (seen[op]++)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "operator '%s' given twice", tok);
        p->functions[n++] = op;
    }
    if (n == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "empty function list");
    p->n_functions = n;
    return CGPC_OK;
}

cgpc_status cgp_params_check(const struct cgp_params *p, const struct cgp_dataset *ds,
                             struct cgpc_err *err)
{
    if (p->rows < 1 || p->cols < 1 || (int64_t)p->rows * p->cols > (1 << 22))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "grid %dx%d: rows and cols must be >= 1, at most "
                         "%d nodes", p->rows, p->cols, 1 << 22);
    if (p->levels_back < 0)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "levels-back %d: expected >= 1 (0 = cols)",
                         p->levels_back);
    if (p->lambda < 1 || p->lambda > 1024)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "lambda %d: expected 1..1024", p->lambda);
    if (!(p->mutation_max > 0 && p->mutation_max <= 1))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "mutation-max %g: expected (0, 1]", p->mutation_max);
    if (p->n_thresholds < 1 || p->n_thresholds > CGP_MAX_THRESHOLDS)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "%d thresholds: expected 1..%d", p->n_thresholds,
                         CGP_MAX_THRESHOLDS);
    for (int i = 0; i < p->n_thresholds; i++)
        if (!(p->thresholds[i] >= 0) || !isfinite(p->thresholds[i]))
            return CGPC_FAIL(err, CGPC_ERR_RANGE, "threshold %g: expected a finite value >= 0",
                             p->thresholds[i]);
    if (p->first_run < 0 || p->first_run > (1 << 20))
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "first run %d: must be in [0, %d]", p->first_run, 1 << 20);
    if (p->runs < 1 || p->generations < 1)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "runs and generations must be >= 1");
    int nullary = 0, mux4 = 0;
    for (int i = 0; i < p->n_functions; i++) {
        nullary += cgp_op_arity(p->functions[i]) == 0;
        mux4 |= p->functions[i] == CGPC_OP_MUX4;
        if ((p->functions[i] == CGPC_OP_MUX2 || mux4) && !p->multiplex)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "mux2/mux4 need --multiplex");
    }
    if (ds && ds->n_inputs == 0 && nullary == 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "the data set has no inputs, so the function set needs "
                         "a constant (const0, const1, ...)");
    if (p->value_slots && ds && ds->n_inputs != 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "--value-slots is for data sets without inputs "
                         "(this one has %d)", ds->n_inputs);
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
    sc->stamp = calloc(nn, sizeof *sc->stamp);
    sc->stack = malloc(2 * nn * sizeof *sc->stack);
    sc->order = malloc(nn * sizeof *sc->order);
    sc->pos = malloc(nn * sizeof *sc->pos);
    sc->enodes = malloc(nn * sizeof *sc->enodes);
    sc->eout = malloc((size_t)s->n_outputs * sizeof *sc->eout);
    sc->arrival = malloc(ns * sizeof *sc->arrival);
    sc->depth = malloc(ns * sizeof *sc->depth);
    sc->values = calloc(ns * (size_t)ds->stride + 64, 1);
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

cgpc_status cgp_measure(const struct cgp_genome *g, const struct cgp_dataset *ds,
                        const struct energy_gate_table *t, enum cgp_error_kind kind,
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
    cgp_scratch_free(&sc);
    return CGPC_OK;
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
