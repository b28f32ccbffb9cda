/* summary.c - mean, std and 95 % intervals of model-metrics rows over runs. */
#include "exp/summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int same_group(const struct exp_summary_group *g, const struct exp_metrics_row *r)
{
    if (strcmp(g->experiment, r->experiment) || strcmp(g->method, r->method) || g->bits != r->bits)
        return 0;
    if (isnan(g->threshold) || isnan(r->threshold))
        return isnan(g->threshold) && isnan(r->threshold);
    return g->threshold == r->threshold;
}

cgpc_status exp_summary_add(struct exp_summary *s, const struct exp_metrics_row *r,
                            struct cgpc_err *err)
{
    struct exp_summary_group *g = NULL;
    for (int i = 0; i < s->n && !g; i++)
        if (same_group(&s->groups[i], r))
            g = &s->groups[i];
    if (!g) {
        if (s->n == s->cap) {
            int cap = s->cap ? 2 * s->cap : 16;
            struct exp_summary_group *ng = realloc(s->groups, (size_t)cap * sizeof *ng);
            if (!ng)
                return CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory for %d summary groups", cap);
            s->groups = ng;
            s->cap = cap;
        }
        g = &s->groups[s->n++];
        memset(g, 0, sizeof *g);
        snprintf(g->experiment, sizeof g->experiment, "%s", r->experiment);
        snprintf(g->layers, sizeof g->layers, "%s", r->layers);
        snprintf(g->method, sizeof g->method, "%s", r->method);
        g->bits = r->bits;
        g->threshold = r->threshold;
        g->baseline_val = r->baseline_val.top1;
        g->baseline_test = r->baseline_test.top1;
    }
    /* the choice by validation: highest val top-1, then highest saving, then the first */
    if (!g->candidates || r->val.top1 > g->chosen_val ||
        (r->val.top1 == g->chosen_val && r->acct.saving_pct > g->chosen_saving_pct)) {
        g->chosen_run = r->run;
        g->chosen_rank = r->rank;
        g->chosen_val = r->val.top1;
        g->chosen_test = r->test.top1;
        g->chosen_saving_pct = r->acct.saving_pct;
        g->chosen_stored_bits = r->acct.stored_bits;
    }
    g->candidates++;
    if (r->rank != 1)
        return CGPC_OK;
    const double v[EXP_SUM_FIELDS] = {r->val.top1, r->test.top1, r->acct.saving_pct,
                                      (double)r->acct.stored_bits, r->acct.compression_vs_int8,
                                      r->acct.inference_pj};
    for (int f = 0; f < EXP_SUM_FIELDS; f++) {
        g->sum[f] += v[f];
        g->sumsq[f] += v[f] * v[f];
    }
    g->n++;
    g->reached += r->reached;
    return CGPC_OK;
}

void exp_summary_free(struct exp_summary *s)
{
    if (!s)
        return;
    free(s->groups);
    memset(s, 0, sizeof *s);
}

double exp_t975(int dof)
{
    static const double t[31] = {NAN,   12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                 2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                 2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof < 1)
        return NAN;
    if (dof <= 30)
        return t[dof];
    return dof <= 60 ? 2.000 : dof <= 120 ? 1.980 : 1.960;
}

struct exp_summary_stat exp_summary_stat(const struct exp_summary_group *g, int field)
{
    struct exp_summary_stat st = {NAN, NAN, NAN};
    if (g->n < 1)
        return st;
    double n = g->n;
    st.mean = g->sum[field] / n;
    double var = g->n > 1 ? (g->sumsq[field] - n * st.mean * st.mean) / (n - 1) : 0;
    st.std = var > 0 ? sqrt(var) : 0;
    st.ci95 = g->n > 1 ? exp_t975(g->n - 1) * st.std / sqrt(n) : NAN;
    return st;
}

cgpc_status exp_summary_write_csv(const struct exp_summary *s, FILE *out, struct cgpc_err *err)
{
    fprintf(out, "experiment,layers,method,bits,threshold,runs,reached,val_top1_mean,"
                 "val_top1_std,val_top1_ci95,test_top1_mean,test_top1_std,test_top1_ci95,"
                 "saving_pct_mean,saving_pct_std,stored_bits_mean,stored_bits_std,"
                 "compression_vs_int8_mean,inference_pj_mean,baseline_val_top1,"
                 "baseline_test_top1,candidates,chosen_run,chosen_rank,chosen_val_top1,"
                 "chosen_test_top1,chosen_saving_pct,chosen_stored_bits\n");
    for (int i = 0; i < s->n; i++) {
        const struct exp_summary_group *g = &s->groups[i];
        struct exp_summary_stat v = exp_summary_stat(g, EXP_SUM_VAL_TOP1);
        struct exp_summary_stat t = exp_summary_stat(g, EXP_SUM_TEST_TOP1);
        struct exp_summary_stat sv = exp_summary_stat(g, EXP_SUM_SAVING_PCT);
        struct exp_summary_stat b = exp_summary_stat(g, EXP_SUM_STORED_BITS);
        struct exp_summary_stat c = exp_summary_stat(g, EXP_SUM_COMPRESSION_INT8);
        struct exp_summary_stat e = exp_summary_stat(g, EXP_SUM_INFERENCE_PJ);
        char run[16] = "";
        if (g->chosen_run >= 0)
            snprintf(run, sizeof run, "%d", g->chosen_run);
        fprintf(out,
                "%s,%s,%s,%d,%.17g,%d,%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
                "%.17g,%.17g,%.17g,%.17g,%.17g,%d,%s,%d,%.17g,%.17g,%.17g,%" PRIu64 "\n",
                g->experiment, g->layers, g->method, g->bits, g->threshold, g->n, g->reached,
                v.mean, v.std, v.ci95, t.mean, t.std, t.ci95, sv.mean, sv.std, b.mean, b.std,
                c.mean, e.mean, g->baseline_val, g->baseline_test, g->candidates, run,
                g->chosen_rank, g->chosen_val, g->chosen_test, g->chosen_saving_pct,
                g->chosen_stored_bits);
    }
    if (ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the summary CSV failed");
    return CGPC_OK;
}

cgpc_status exp_summary_write_chosen(const struct exp_summary *s, FILE *out,
                                     struct cgpc_err *err)
{
    int header = 0;
    for (int i = 0; i < s->n; i++) {
        const struct exp_summary_group *g = &s->groups[i];
        if (strcmp(g->method, "cgp"))
            continue;
        if (!header++)
            fprintf(out, "chosen by validation top-1 (per threshold, among every run and rank; "
                         "report its test):\n%-20s %6s %5s %3s %4s %7s %7s %8s %10s\n",
                    "experiment", "thr/w", "cands", "run", "rank", "val", "test", "saving_%",
                    "stored_b");
        fprintf(out, "%-20s %6g %5d %3d %4d %7.4f %7.4f %8.4f %10" PRIu64 "\n", g->experiment,
                g->threshold, g->candidates, g->chosen_run, g->chosen_rank, g->chosen_val,
                g->chosen_test, g->chosen_saving_pct, g->chosen_stored_bits);
    }
    if (ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the table of chosen circuits failed");
    return CGPC_OK;
}
