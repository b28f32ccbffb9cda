/* metrics.c - regenerate weights from evolved circuits and measure the model with them. */
#include "exp/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/rundir.h"
#include "common/parse.h"
#include "exp/bridge.h"

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
    const struct nn_dataset *data;
    const struct exp_metrics_opts *opts;
    struct energy_layer *layers;
    int n_layers;
    struct energy_layer_budget baseline_energy;
    struct nn_eval_result baseline;
    struct exp_codes_backup backup;
    int8_t *outputs;
    /* the statistics journal of run stats_run (-1: none), split into lines */
    int stats_run;
    struct cgp_stats stats;
};

/* Everything about one circuit's outputs: error, weights into the model, accuracy, energy. */
static cgpc_status measure_outputs(struct measure_ctx *c, const struct energy_circuit_cost *cost,
                                  struct exp_metrics_row *r, struct cgpc_err *err)
{
    struct exp_setup *s = &c->md->setup;
    const struct cgp_dataset *ds = &s->ds;
    double se = 0;
    int64_t cared = 0;
    for (int o = 0; o < ds->n_outputs; o++)
        for (int d = 0; d < ds->n_items; d++) {
            size_t k = (size_t)o * ds->stride + d;
            if (!ds->care[k])
                continue;
            double diff = (double)c->outputs[(size_t)o * ds->n_items + d] - ds->target[k];
            se += diff * diff;
            cared++;
        }
    r->error_se = se;
    r->error_mse = cared ? se / (double)cared : 0;
    r->energy_pj = cost->energy_pj;
    r->delay_ns = cost->delay_ns;
    r->area_um2 = cost->area_um2;
    r->gates = cost->gates;
    r->weights_replaced = exp_apply_outputs(s, c->outputs);
    struct nn_eval_opts eo = {c->opts->limit, NULL};
    struct nn_eval_result res;
    cgpc_status st = nn_eval(&s->model, c->data, &eo, &res, err);
    exp_codes_restore(s, &c->backup);
    if (st != CGPC_OK)
        return st;
    r->top1 = res.top1;
    r->top5 = res.top5;
    r->loss = res.loss;
    r->baseline = c->baseline;

    /* energy: per tensor (= energy layer, same order) the replaced weights; the circuit's
     * energy x items goes with the first replaced layer */
    struct energy_replacement repl[64];
    int n_repl = 0;
    uint64_t per_tensor[64] = {0};
    size_t n_out = (size_t)s->sel.n_items * (size_t)s->sel.n_outputs;
    for (size_t o = 0; o < n_out; o++)
        if (s->sel.outputs[o].kind == EXP_REF_WEIGHT && s->sel.outputs[o].tensor < 64)
            per_tensor[s->sel.outputs[o].tensor]++;
    for (int t = 0; t < c->n_layers && t < 64; t++) {
        if (!per_tensor[t])
            continue;
        int first = n_repl == 0;
        repl[n_repl] = (struct energy_replacement){t, per_tensor[t], first ? cost->energy_pj : 0,
                                                   first ? (uint64_t)ds->n_items : 0};
        n_repl++;
    }
    double circuit_total = cost->energy_pj * ds->n_items;
    if (n_repl == 0) /* literals only (worst_case): nothing replaced, the circuit still costs */
        r->circuit_pj = circuit_total;
    struct energy_layer_budget per_layer[64], total;
    if (n_repl) {
        st = energy_inference_account(c->opts->gates, c->opts->memory, c->layers, c->n_layers,
                                      repl, n_repl, per_layer, &total, err);
        if (st != CGPC_OK)
            return st;
        r->circuit_pj = total.circuit_pj;
        r->memory_pj_saved = c->baseline_energy.read_pj - total.read_pj;
        r->net_saving_pj = c->baseline_energy.total_pj - total.total_pj;
    } else {
        r->net_saving_pj = -circuit_total;
    }
    r->net_saving_pct = 100.0 * r->net_saving_pj / c->baseline_energy.total_pj;
    return CGPC_OK;
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
        r.rank = 2 + given;
        r.generation = gen;
        st = exp_circuit_token_eval(token, &c->md->setup.ds, slot_of, c->opts->gates, c->outputs,
                                    &cost, err);
        if (st == CGPC_OK)
            st = measure_outputs(c, &cost, &r, err);
        if (st == CGPC_OK && row(user, &r))
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
        given++;
    }
    return st;
}

cgpc_status exp_metrics_measure(struct exp_metrics_dir *md, const struct nn_dataset *data,
                                const struct exp_metrics_opts *opts,
                                int (*row)(void *user, const struct exp_metrics_row *r),
                                void *user, struct cgpc_err *err)
{
    struct exp_setup *s = &md->setup;
    struct measure_ctx c;
    memset(&c, 0, sizeof c);
    c.md = md;
    c.data = data;
    c.opts = opts;
    c.stats_run = -1;
    struct cgp_result_row *results = NULL;
    int n_results = 0;
    int32_t *slot_of = NULL;
    struct cgp_genome g = {0};
    struct energy_layer_budget per_layer[64];
    cgpc_status st;
    if ((st = exp_model_energy_layers(&s->model, &c.layers, &c.n_layers, err)) != CGPC_OK)
        goto out;
    if (c.n_layers > 64) {
        st = CGPC_FAIL(err, CGPC_ERR_RANGE, "models with more than 64 weight layers");
        goto out;
    }
    if ((st = energy_inference_account(opts->gates, opts->memory, c.layers, c.n_layers, NULL, 0,
                                       per_layer, &c.baseline_energy, err)) != CGPC_OK ||
        (st = exp_codes_save(s, &c.backup, err)) != CGPC_OK ||
        (st = cgp_results_load(md->dir, &results, &n_results, err)) != CGPC_OK ||
        (st = cgp_slots_load(md->dir, s->ds.n_outputs, &slot_of, err)) != CGPC_OK)
        goto out;
    c.outputs = malloc((size_t)s->ds.n_outputs * (size_t)s->ds.n_items + 1);
    if (!c.outputs) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    struct nn_eval_opts eo = {opts->limit, NULL};
    if ((st = nn_eval(&s->model, data, &eo, &c.baseline, err)) != CGPC_OK)
        goto out;
    double per_weight[EXP_MAX_THRESHOLDS];
    int n_thr = exp_config_doubles(&s->cfg, "thresholds", per_weight, EXP_MAX_THRESHOLDS);
    int stage = 0, last_run = -1;
    for (int i = 0; i < n_results && st == CGPC_OK; i++) {
        const struct cgp_result_row *rr = &results[i];
        stage = rr->run == last_run ? stage + 1 : 0;
        last_run = rr->run;
        struct exp_metrics_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.experiment, sizeof r.experiment, "%s", exp_config_str(&s->cfg, "name"));
        r.run = rr->run;
        r.threshold_metric = rr->threshold;
        r.threshold = stage < n_thr ? per_weight[stage] : NAN;
        r.reached = rr->reached;
        r.rank = 1;
        r.generation = -1;
        struct cgp_fitness fit;
        if ((st = cgp_best_load(md->dir, rr, &g, err)) != CGPC_OK ||
            (st = cgp_eval_reference(&g, &s->ds, c.outputs, err)) != CGPC_OK ||
            (st = cgp_measure(&g, &s->ds, opts->gates, s->params.error_kind, &fit, err)) != CGPC_OK)
            goto out;
        cgp_genome_free(&g);
        struct energy_circuit_cost cost = {fit.energy_pj, fit.delay_ns, fit.area_um2, fit.gates,
                                           fit.depth};
        if ((st = measure_outputs(&c, &cost, &r, err)) != CGPC_OK)
            goto out;
        if (row(user, &r)) {
            st = CGPC_FAIL(err, CGPC_ERR_INTERRUPTED, "stopped");
            goto out;
        }
        if (opts->top > 1)
            st = earlier_circuits(md->dir, rr->run, rr->threshold, opts->top - 1, &c, &r, slot_of,
                                  row, user, err);
    }
out:
    cgp_genome_free(&g);
    free(c.outputs);
    cgp_stats_free(&c.stats);
    free(slot_of);
    free(results);
    free(c.layers);
    exp_codes_restore(s, &c.backup);
    exp_codes_backup_free(&c.backup);
    return st;
}
