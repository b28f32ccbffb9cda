/* metrics.c - regenerate weights from evolved circuits and measure the model with them. */
#include "exp/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"
#include "common/parse.h"
#include "common/resid.h"
#include "exp/bridge.h"
#include "exp/resfile.h"

/* ---- circuits in one-token form ------------------------------------------------------------ */

cgpc_status exp_circuit_token_eval(const char *token, const struct cgp_dataset *ds,
                                   const int32_t *slot_of, const struct energy_gate_table *t,
                                   int8_t *outputs, struct energy_circuit_cost *cost,
                                   struct cgpc_err *err)
{
    /* the token's own parser and the engine's reference evaluator (src/cgp) */
    struct cgp_genome g, full = {0};
    cgpc_status st = cgp_circuit_token_parse(token, ds->n_inputs, &g, err);
    if (st != CGPC_OK)
        return st;
    for (int o = 0; o < ds->n_outputs && st == CGPC_OK; o++) {
        int k = slot_of ? slot_of[o] : o;
        if (k < 0 || k >= g.shape.n_outputs)
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                           "circuit has %d outputs; the data set needs output %d",
                           g.shape.n_outputs, k);
    }
    /* the outputs the data set reads: through the slot map, or the first n_outputs */
    int32_t *map = NULL;
    if (st == CGPC_OK && !slot_of && g.shape.n_outputs != ds->n_outputs) {
        if (!(map = malloc((size_t)ds->n_outputs * sizeof *map)))
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        for (int o = 0; map && o < ds->n_outputs; o++)
            map[o] = o;
    }
    const int32_t *wiring = slot_of ? slot_of : map;
    if (st == CGPC_OK && wiring)
        st = cgp_genome_expand_slots(&g, wiring, ds->n_outputs, &full, err);
    const struct cgp_genome *use = wiring ? &full : &g;
    struct cgp_fitness fit;
    if (st == CGPC_OK)
        st = cgp_eval_reference(use, ds, outputs, err);
    if (st == CGPC_OK)
        st = cgp_measure(use, ds, t, CGP_ERROR_SE, &fit, err);
    if (st == CGPC_OK)
        *cost = (struct energy_circuit_cost){fit.energy_pj, fit.delay_ns, fit.area_um2,
                                             fit.gates, fit.depth};
    free(map);
    cgp_genome_free(&full);
    cgp_genome_free(&g);
    return st;
}

/* ---- run directories ----------------------------------------------------------------------- */

cgpc_status exp_metrics_open(struct exp_metrics_dir *md, const char *dir, struct cgpc_err *err)
{
    memset(md, 0, sizeof *md);
    snprintf(md->dir, sizeof md->dir, "%s", dir);
    char path[4200];
    cgp_experiment_copy_path(path, sizeof path, dir);
    struct exp_config cfg;
    exp_config_defaults(&cfg);
    cgpc_status st = exp_config_load(&cfg, path, err);
    if (st != CGPC_OK) {
        cgpc_err_prefix(err, "%s is not a 'cgpc train' directory", dir);
        return st;
    }
    if ((st = exp_setup_init(&md->setup, &cfg, err)) != CGPC_OK)
        return st;
    uint64_t want = 0;
    if ((st = cgp_model_record_load(dir, path, sizeof path, &want, err)) != CGPC_OK) {
        exp_metrics_close(md);
        return st;
    }
    if (want != md->setup.model_fingerprint) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                       "%s: the model file %s is not the one the circuits were evolved for "
                       "(fingerprint %016" PRIx64 ", recorded %016" PRIx64 ")",
                       dir, md->setup.model_path, md->setup.model_fingerprint, want);
        exp_metrics_close(md);
        return st;
    }
    /* the experiment must still select what the circuits were evolved on: shapes are checked
     * before any circuit is evaluated */
    if ((st = cgp_data_check_same(dir, &md->setup.ds, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "%s: experiment.exp no longer matches the circuits", dir);
        exp_metrics_close(md);
        return st;
    }
    return CGPC_OK;
}

void exp_metrics_close(struct exp_metrics_dir *md)
{
    if (md)
        exp_setup_free(&md->setup);
}

struct measure_ctx {
    struct exp_metrics_dir *md;
    const struct nn_dataset *val, *test;
    const struct exp_metrics_opts *opts;
    struct exp_account_base acct;
    uint64_t *replaced;   /* [acct.n_layers]: weights of each layer the selection replaces */
    char layers[96];      /* their names, '+'-joined */
    int n_slots;          /* value-slot mode: K slots; 0 otherwise */
    struct nn_eval_result base_val, base_test;
    struct exp_codes_backup backup;
    int8_t *outputs;
    /* residual mode: the code of the row being measured (NULL otherwise) */
    const struct cpr_resid_code *resid;
    /* the statistics journal of run stats_run (-1: none), split into lines */
    int stats_run;
    struct cgp_stats stats;
};

/* Per storage layer, the weights the selection's outputs replace, and their names. */
static cgpc_status count_replaced(struct measure_ctx *c, struct cgpc_err *err)
{
    struct exp_setup *s = &c->md->setup;
    c->replaced = calloc((size_t)c->acct.n_layers + 1, sizeof *c->replaced);
    if (!c->replaced)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
    size_t n_out = (size_t)s->sel.n_items * (size_t)s->sel.n_outputs;
    for (size_t o = 0; o < n_out; o++) {
        const struct exp_ref *ref = &s->sel.outputs[o];
        if (ref->kind != EXP_REF_WEIGHT)
            continue;
        int l = ref->tensor >= 0 && ref->tensor < s->n_tensors
                    ? exp_account_layer(&c->acct, s->tensors[ref->tensor].name)
                    : -1;
        if (l < 0)
            return CGPC_FAIL(err, CGPC_ERR_INTERNAL, "selected output %zu: tensor %d has no "
                             "storage layer", o, (int)ref->tensor);
        c->replaced[l]++;
    }
    size_t used = 0;
    c->layers[0] = '\0';
    for (int l = 0; l < c->acct.n_layers; l++)
        if (c->replaced[l] && used < sizeof c->layers) {
            int w = snprintf(c->layers + used, sizeof c->layers - used, "%s%s", used ? "+" : "",
                             c->acct.layers[l].name);
            used += w > 0 ? (size_t)w : 0;
        }
    return CGPC_OK;
}

/* Everything about one set of regenerated weights (c->outputs): error, weights into the model,
 * validation and test accuracy, stored bits and energy. cost: the circuit's (NULL for a
 * re-quantization row); requant_bits: b of a reference row, 0 for a circuit. */
static cgpc_status measure_outputs(struct measure_ctx *c, const struct energy_circuit_cost *cost,
                                  uint64_t circuit_bits, int requant_bits,
                                  struct exp_metrics_row *r, struct cgpc_err *err)
{
    struct exp_setup *s = &c->md->setup;
    const struct cgp_dataset *ds = &s->ds;
    double se = 0, ae = 0;
    int64_t cared = 0;
    for (int o = 0; o < ds->n_outputs; o++)
        for (int d = 0; d < ds->n_items; d++) {
            size_t k = (size_t)o * ds->stride + d;
            if (!ds->care[k])
                continue;
            double diff = (double)c->outputs[(size_t)o * ds->n_items + d] - ds->target[k];
            se += diff * diff;
            ae += fabs(diff);
            cared++;
        }
    r->error_se = se;
    r->error_mse = cared ? se / (double)cared : 0;
    r->error_per_weight = s->params.error_kind == CGP_ERROR_AE
                              ? cgp_per_weight(CGP_ERROR_AE, ae, cared)
                              : cgp_per_weight(CGP_ERROR_MSE, r->error_mse, cared);
    snprintf(r->layers, sizeof r->layers, "%s", c->layers);
    if (cost) {
        r->energy_pj = cost->energy_pj;
        r->delay_ns = cost->delay_ns;
        r->area_um2 = cost->area_um2;
        r->gates = cost->gates;
    }
    r->weights_replaced = exp_apply_outputs(s, c->outputs);
    struct nn_eval_opts eo = {c->opts->limit, NULL};
    cgpc_status st = nn_eval(&s->model, c->val, &eo, &r->val, err);
    if (st == CGPC_OK)
        st = nn_eval(&s->model, c->test, &eo, &r->test, err);
    exp_codes_restore(s, &c->backup);
    if (st != CGPC_OK)
        return st;
    r->baseline_val = c->base_val;
    r->baseline_test = c->base_test;
    /* the circuit is evaluated once per data item (kernel, layer) per inference */
    struct exp_method m = {
        c->replaced,
        circuit_bits,
        cost ? cost->energy_pj * (double)ds->n_items : 0,
        cost ? cost->area_um2 : 0,
        requant_bits ? (unsigned)requant_bits : storage_bits_for_choices((uint64_t)c->n_slots),
        0,
        requant_bits ? 2 : 0,
        requant_bits || c->resid ? (uint64_t)r->weights_replaced : 0,
        requant_bits == 0,
        c->resid ? c->resid->table_bits : 0,
        c->resid ? c->resid->stream_bits : 0,
    };
    return exp_account_row(&c->acct, &m, NULL, &r->acct, err);
}

/* Residual mode: c->outputs (the predictions) become the weights rebuilt from them and the
 * residual under bound e (the targets themselves when e = 0). */
static void rebuild_outputs(struct measure_ctx *c, int bound)
{
    const struct cgp_dataset *ds = &c->md->setup.ds;
    for (int o = 0; o < ds->n_outputs; o++)
        for (int d = 0; d < ds->n_items; d++) {
            size_t k = (size_t)o * ds->stride + d;
            int8_t *p = &c->outputs[(size_t)o * ds->n_items + d];
            if (ds->care[k])
                *p = cgpc_resid_rebuild(*p, cgpc_resid_symbol(ds->target[k], *p, bound), bound);
        }
}

/* Residual mode's reference rows (method "entropy"): the selected weights entropy-coded
 * without a predictor (no circuit, p = 0) under each bound of the experiment. */
static cgpc_status entropy_rows(struct measure_ctx *c, const double *bounds, int n,
                                int (*row)(void *user, const struct exp_metrics_row *r),
                                void *user, struct cgpc_err *err)
{
    struct exp_setup *s = &c->md->setup;
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < n && st == CGPC_OK; i++) {
        struct cpr_resid_code code;
        if ((st = exp_resid_baseline(s, (int)bounds[i], &code, err)) != CGPC_OK)
            break;
        memset(c->outputs, 0, (size_t)s->ds.n_outputs * (size_t)s->ds.n_items);
        rebuild_outputs(c, (int)bounds[i]);
        struct exp_metrics_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.experiment, sizeof r.experiment, "%s", exp_config_str(&s->cfg, "name"));
        snprintf(r.method, sizeof r.method, "entropy");
        r.run = -1;
        r.threshold = r.threshold_metric = bounds[i];
        r.metric = "bound";
        r.reached = 1;
        r.rank = 1;
        r.generation = -1;
        c->resid = &code;
        st = measure_outputs(c, NULL, 0, 0, &r, err);
        c->resid = NULL;
        if (st == CGPC_OK && row(user, &r))
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
    }
    return st;
}

/* Output genes a circuit's description stores: K in value-slot mode (the expanded chromosome's
 * M genes are M slot indices, counted as such), else every output. */
static int stored_output_genes(const struct measure_ctx *c, int n_outputs)
{
    return c->n_slots ? c->n_slots : n_outputs;
}

/* Exact description bits of a chromosome's active circuit (storage_circuit_bits). */
static cgpc_status genome_circuit_bits(const struct measure_ctx *c, const struct cgp_genome *g,
                                       uint64_t *bits, int *active, struct cgpc_err *err)
{
    struct cgp_scratch sc;
    struct cgp_fitness fit;
    cgpc_status st = cgp_scratch_init(&sc, &g->shape, &c->md->setup.ds, err);
    if (st != CGPC_OK)
        return st;
    cgp_scratch_decode(&sc, &g->shape, g->genes);
    cgp_scratch_cost(&sc, &g->shape, g->genes, c->opts->gates, &fit);
    *active = sc.n_active;
    st = storage_circuit_bits(sc.enodes, sc.n_active, g->shape.n_inputs, g->fset.n_ops,
                              stored_output_genes(c, g->shape.n_outputs), bits, err);
    cgp_scratch_free(&sc);
    return st;
}

/* The same for a circuit in one-token form. */
static cgpc_status token_circuit_bits(const struct measure_ctx *c, const char *token,
                                      uint64_t *bits, int *active, struct cgpc_err *err)
{
    struct cgp_genome g;
    cgpc_status st = cgp_circuit_token_parse(token, c->md->setup.ds.n_inputs, &g, err);
    if (st != CGPC_OK)
        return st;
    st = genome_circuit_bits(c, &g, bits, active, err);
    cgp_genome_free(&g);
    return st;
}

/* The no-search reference: the selected weights (cared outputs that are weights) re-quantized
 * to b = 1..7 bits over their own range, one row each. */
static cgpc_status reference_rows(struct measure_ctx *c,
                                  int (*row)(void *user, const struct exp_metrics_row *r),
                                  void *user, struct cgpc_err *err)
{
    struct exp_setup *s = &c->md->setup;
    const struct cgp_dataset *ds = &s->ds;
    size_t n = (size_t)ds->n_outputs * (size_t)ds->n_items;
    int8_t *vals = malloc(n + 1);
    size_t *where = malloc((n + 1) * sizeof *where);
    cgpc_status st = CGPC_OK;
    if (!vals || !where) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (int o = 0; o < ds->n_outputs; o++)
        for (int d = 0; d < ds->n_items; d++) {
            const struct exp_ref *ref = &s->sel.outputs[(size_t)d * s->sel.n_outputs + o];
            size_t t = (size_t)o * ds->stride + d;
            c->outputs[(size_t)o * ds->n_items + d] = ds->target[t];
            if (ref->kind == EXP_REF_WEIGHT && ds->care[t]) {
                vals[k] = ds->target[t];
                where[k++] = (size_t)o * ds->n_items + d;
            }
        }
    for (int b = 1; b <= 7 && st == CGPC_OK; b++) {
        int8_t *rq = malloc(k + 1);
        if (!rq) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
            break;
        }
        exp_requantize(vals, rq, (int64_t)k, b);
        for (size_t i = 0; i < k; i++)
            c->outputs[where[i]] = rq[i];
        free(rq);
        struct exp_metrics_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.experiment, sizeof r.experiment, "%s", exp_config_str(&s->cfg, "name"));
        snprintf(r.method, sizeof r.method, "requant");
        r.bits = b;
        r.run = -1;
        r.threshold = NAN;
        r.threshold_metric = NAN;
        r.metric = cgp_error_kind_name(s->params.error_kind);
        r.reached = 1;
        r.rank = 1;
        r.generation = -1;
        st = measure_outputs(c, NULL, 0, b, &r, err);
        if (st == CGPC_OK && row(user, &r))
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
    }
out:
    free(vals);
    free(where);
    return st;
}

/* Earlier circuits of (run, threshold) from the statistics journal, newest first, skipping
 * `skip` and duplicates: calls fn for each until it returns nonzero or `want` were given. */
static cgpc_status earlier_circuits(const char *dir, int run, double threshold, int want,
                                    struct measure_ctx *c, struct exp_metrics_row *proto,
                                    const int32_t *slot_of,
                                    int (*row)(void *user, const struct exp_metrics_row *r),
                                    void *user, struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    if (c->stats_run != run) { /* one read per run, shared by its thresholds */
        cgp_stats_free(&c->stats);
        c->stats_run = -1;
        if ((st = cgp_stats_load(dir, run, &c->stats, err)) != CGPC_OK)
            return st;
        c->stats_run = run;
    }
    const char *previous = NULL;
    int given = 0;
    for (int i = c->stats.n_lines - 1; i >= 0 && given < want && st == CGPC_OK; i--) {
        int r_run;
        double r_thr;
        int64_t gen;
        const char *token;
        if (!cgp_stats_parse_row(c->stats.lines[i], &r_run, &r_thr, &gen, &token))
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: statistics of run %d, row %d: expected "
                             "run,threshold,generation,...,circuit", dir, run, i + 1);
        if (r_run != run || fabs(r_thr - threshold) > 1e-9 * fmax(1, fabs(threshold)))
            continue;
        if (!previous) { /* the newest row of this stage is the final circuit: rank 1 */
            previous = token;
            continue;
        }
        if (strcmp(token, previous) == 0)
            continue;
        previous = token;
        struct exp_metrics_row r = *proto;
        struct energy_circuit_cost cost;
        uint64_t bits = 0;
        r.rank = 2 + given;
        r.generation = gen;
        st = exp_circuit_token_eval(token, &c->md->setup.ds, slot_of, c->opts->gates, c->outputs,
                                    &cost, err);
        if (st == CGPC_OK)
            st = token_circuit_bits(c, token, &bits, &r.active, err);
        if (st == CGPC_OK)
            st = measure_outputs(c, &cost, bits, 0, &r, err);
        if (st == CGPC_OK && row(user, &r))
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
        given++;
    }
    return st;
}

cgpc_status exp_metrics_measure(struct exp_metrics_dir *md, const struct nn_dataset *val,
                                const struct nn_dataset *test,
                                const struct exp_metrics_opts *opts,
                                int (*row)(void *user, const struct exp_metrics_row *r),
                                void *user, struct cgpc_err *err)
{
    struct exp_setup *s = &md->setup;
    struct measure_ctx c;
    memset(&c, 0, sizeof c);
    c.md = md;
    c.val = val;
    c.test = test;
    c.opts = opts;
    c.stats_run = -1;
    struct cgp_result_row *results = NULL;
    int n_results = 0;
    int32_t *slot_of = NULL;
    struct cgp_genome g = {0};
    cgpc_status st;
    if ((st = exp_account_base_init(&c.acct, &s->model, opts->gates, opts->memory,
                                    opts->deployment, opts->batch, err)) != CGPC_OK ||
        (st = count_replaced(&c, err)) != CGPC_OK ||
        (st = exp_codes_save(s, &c.backup, err)) != CGPC_OK ||
        (st = cgp_results_load(md->dir, &results, &n_results, err)) != CGPC_OK ||
        (st = cgp_slots_load(md->dir, s->ds.n_outputs, &slot_of, err)) != CGPC_OK)
        goto out;
    for (int o = 0; slot_of && o < s->ds.n_outputs; o++) /* K: the map names slots 0..K-1 */
        c.n_slots = slot_of[o] + 1 > c.n_slots ? slot_of[o] + 1 : c.n_slots;
    c.outputs = malloc((size_t)s->ds.n_outputs * (size_t)s->ds.n_items + 1);
    if (!c.outputs) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    struct nn_eval_opts eo = {opts->limit, NULL};
    if ((st = nn_eval(&s->model, val, &eo, &c.base_val, err)) != CGPC_OK ||
        (st = nn_eval(&s->model, test, &eo, &c.base_test, err)) != CGPC_OK)
        goto out;
    double per_weight[EXP_MAX_THRESHOLDS];
    int n_thr = exp_config_doubles(&s->cfg, "thresholds", per_weight, EXP_MAX_THRESHOLDS);
    int residual = exp_config_residual(&s->cfg);
    int stage = 0, last_run = -1;
    for (int i = 0; i < n_results && st == CGPC_OK; i++) {
        const struct cgp_result_row *rr = &results[i];
        stage = rr->run == last_run ? stage + 1 : 0;
        last_run = rr->run;
        struct exp_metrics_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.experiment, sizeof r.experiment, "%s", exp_config_str(&s->cfg, "name"));
        snprintf(r.method, sizeof r.method, "cgp");
        r.metric = cgp_error_kind_name(s->params.error_kind);
        r.run = rr->run;
        r.threshold_metric = rr->threshold_metric;
        r.threshold = stage < n_thr ? per_weight[stage] : rr->threshold;
        r.reached = rr->reached;
        r.rank = 1;
        r.generation = -1;
        struct cgp_fitness fit;
        if ((st = cgp_best_load(md->dir, rr, &g, err)) != CGPC_OK ||
            (st = cgp_eval_reference(&g, &s->ds, c.outputs, err)) != CGPC_OK ||
            (st = cgp_measure(&g, &s->ds, opts->gates, s->params.error_kind, &fit, err)) != CGPC_OK)
            goto out;
        uint64_t bits = 0;
        if ((st = genome_circuit_bits(&c, &g, &bits, &r.active, err)) != CGPC_OK)
            goto out;
        struct exp_resid_info info;
        if (residual) { /* the exact coded size: the file's circuit, table and stream bits */
            snprintf(r.method, sizeof r.method, "residual");
            r.metric = "bound";
            r.threshold = rr->threshold;
            if ((st = exp_resid_encode(s, &g, (int)rr->threshold, "", NULL, &info, err)) !=
                CGPC_OK)
                goto out;
            rebuild_outputs(&c, (int)rr->threshold);
            c.resid = &info.code;
        }
        cgp_genome_free(&g);
        struct energy_circuit_cost cost = {fit.energy_pj, fit.delay_ns, fit.area_um2, fit.gates,
                                           fit.depth};
        st = measure_outputs(&c, &cost, bits, 0, &r, err);
        c.resid = NULL;
        if (st != CGPC_OK)
            goto out;
        if (row(user, &r)) {
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
            goto out;
        }
        if (opts->top > 1 && !residual)
            st = earlier_circuits(md->dir, rr->run, rr->threshold, opts->top - 1, &c, &r, slot_of,
                                  row, user, err);
    }
    if (st == CGPC_OK && opts->reference)
        st = reference_rows(&c, row, user, err);
    if (st == CGPC_OK && opts->reference && residual)
        st = entropy_rows(&c, per_weight, n_thr, row, user, err);
out:
    cgp_genome_free(&g);
    free(c.outputs);
    cgp_stats_free(&c.stats);
    free(slot_of);
    free(results);
    free(c.replaced);
    exp_account_base_free(&c.acct);
    exp_codes_restore(s, &c.backup);
    exp_codes_backup_free(&c.backup);
    return st;
}
