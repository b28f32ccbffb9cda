/* lowbit_tune.c - accuracy-aware search over low-bit methods, bits and per-layer widths
 * (lowbit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/eval.h"
#include "nn/lowbit.h"

#define TUNE_MAGIC "# cgpc-tune v1"
#define TUNE_HEADER \
    "trial,phase,method,granularity,layer_bits,stored_bits,energy_pj,val_top1,drop_points,accepted"

void lowbit_tune_defaults(struct lowbit_tune_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_drop = 0.5;
    o->objective = LOWBIT_OBJ_BITS;
    o->seed = 1;
}

/* One configuration: a base spec and per-layer bits. */
struct config {
    struct lowbit_spec spec;
    int bits[NN_MAX_LAYERS];
};

struct logged { /* a trial read back from the log */
    char key[LOWBIT_LAYER_BITS_MAX + 64];
    double top1;
};

struct tuner {
    struct nn_model *m;
    const struct nn_dataset *val;
    const struct lowbit_tune_opts *o;
    float *saved;     /* float weights, arena layout */
    size_t nsaved;
    struct logged *log;
    int nlog;
    FILE *out;        /* log appended here */
    double t0;
    int trials, evaluated;
    double float_top1;
};

static int has_weights(const struct nn_layer *l)
{
    return l->op == NN_OP_CONV2D || l->op == NN_OP_LINEAR;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *method_label(const struct lowbit_spec *s)
{
    static const char *const round_names[] = {"round-uniform", "round-histogram",
                                              "round-normal"};
    return s->method == LOWBIT_ROUND ? round_names[s->landmarks] : lowbit_method_name(s->method);
}

static void layer_bits_text(const struct nn_model *m, const struct config *c, char *buf,
                            size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->nlayers; i++)
        if (has_weights(&m->layers[i]) && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s=%d", len ? ";" : "",
                                    m->layers[i].name, c->bits[i]);
}

static void specs_of(const struct config *c, struct lowbit_spec *specs)
{
    for (int i = 0; i < NN_MAX_LAYERS; i++) {
        specs[i] = c->spec;
        specs[i].bits = c->bits[i];
    }
}

/* Stored bits (weights, parameters, float32 biases) and energy of a configuration. */
static cgpc_status cost_of(struct tuner *t, const struct config *c, uint64_t *bits,
                           double *pj, struct cgpc_err *err)
{
    struct lowbit_spec specs[NN_MAX_LAYERS];
    struct lowbit_model q;
    uint64_t b = 0, bytes = 0, macs = 0;
    specs_of(c, specs);
    cgpc_status st = lowbit_quantize(t->m, specs, t->o->seed, &q, err);
    if (st)
        return st;
    for (int k = 0; k < q.n; k++) {
        const struct nn_layer *l = &t->m->layers[q.layers[k].layer];
        uint64_t cb = lowbit_layer_code_bits(&q.layers[k]),
                 pb = lowbit_layer_param_bits(&q.layers[k]),
                 bb = 32 * (uint64_t)l->out_c;
        b += cb + pb + bb;
        bytes += (cb + 7) / 8 + (pb + 7) / 8 + bb / 8; /* whole bytes per stored part */
        macs += (uint64_t)l->macs;
    }
    lowbit_model_free(&q);
    *bits = b;
    *pj = (double)macs * t->o->mac_pj + (double)bytes * t->o->pj_per_byte;
    return CGPC_OK;
}

static double cost_value(const struct tuner *t, uint64_t bits, double pj)
{
    return t->o->objective == LOWBIT_OBJ_ENERGY ? pj : (double)bits;
}

/* Validation top-1 of configuration c: from the log, or quantize + evaluate (weights
 * restored afterwards). */
static cgpc_status measure(struct tuner *t, const struct config *c, const char *key,
                           double *top1, int *from_log, struct cgpc_err *err)
{
    for (int i = 0; i < t->nlog; i++)
        if (strcmp(t->log[i].key, key) == 0) {
            *top1 = t->log[i].top1;
            *from_log = 1;
            return CGPC_OK;
        }
    *from_log = 0;
    struct lowbit_spec specs[NN_MAX_LAYERS];
    struct lowbit_model q;
    struct nn_eval_result r;
    specs_of(c, specs);
    cgpc_status st = lowbit_quantize(t->m, specs, t->o->seed, &q, err);
    if (st)
        return st;
    lowbit_apply(&q, t->m);
    lowbit_model_free(&q);
    st = nn_eval(t->m, t->val, NULL, &r, err);
    memcpy(t->m->arena, t->saved, t->nsaved * sizeof *t->saved);
    *top1 = r.top1;
    t->evaluated++;
    return st;
}

/* One trial: measure, log, decide. *ok = within the drop. */
static cgpc_status trial(struct tuner *t, int phase, const struct config *c, int *ok,
                         uint64_t *bits_out, double *pj_out, double *top1_out,
                         struct cgpc_err *err)
{
    char lb[LOWBIT_LAYER_BITS_MAX], key[LOWBIT_LAYER_BITS_MAX + 64];
    uint64_t bits;
    double pj, top1;
    int from_log;
    cgpc_status st = cost_of(t, c, &bits, &pj, err);
    if (st)
        return st;
    layer_bits_text(t->m, c, lb, sizeof lb);
    snprintf(key, sizeof key, "%s,%s,%s", method_label(&c->spec),
             c->spec.per_channel ? "per-channel" : "per-tensor", lb);
    if ((st = measure(t, c, key, &top1, &from_log, err)))
        return st;
    double drop = 100.0 * (t->float_top1 - top1);
    *ok = drop <= t->o->max_drop + 1e-9;
    t->trials++;
    if (t->out && !from_log) {
        fprintf(t->out, "%d,%d,%s,%llu,%.3f,%.6f,%.2f,%d\n", t->trials, phase, key,
                (unsigned long long)bits, pj, top1, drop, *ok);
        fflush(t->out);
    }
    *bits_out = bits;
    *pj_out = pj;
    *top1_out = top1;
    return CGPC_OK;
}

/* Read an existing log: magic, header, then complete rows (a torn last line is ignored). */
static cgpc_status read_log(struct tuner *t, const char *path, struct cgpc_err *err)
{
    FILE *f = fopen(path, "r");
    char line[LOWBIT_LAYER_BITS_MAX + 256];
    if (!f)
        return CGPC_OK; /* nothing to resume */
    int lineno = 0;
    cgpc_status st = CGPC_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            break; /* torn last line */
        line[--len] = '\0';
        if (lineno == 1 && strcmp(line, TUNE_MAGIC) != 0) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:1: expected '%s'", path, TUNE_MAGIC);
            break;
        }
        if (lineno == 2 && strcmp(line, TUNE_HEADER) != 0) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:2: expected the header '%s'", path,
                           TUNE_HEADER);
            break;
        }
        if (lineno <= 2)
            continue;
        /* trial,phase,method,granularity,layer_bits,stored_bits,energy_pj,top1,drop,ok */
        char *f_[10], *p = line;
        int nf = 0;
        while (nf < 10) {
            f_[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = '\0';
            p = c + 1;
        }
        char *end;
        double top1 = nf == 10 ? strtod(f_[7], &end) : -1;
        if (nf != 10 || end == f_[7] || *end || top1 < 0 || top1 > 1) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                           "%s:%d: expected 10 comma-separated fields with val_top1 in [0,1]",
                           path, lineno);
            break;
        }
        struct logged *nl = realloc(t->log, (size_t)(t->nlog + 1) * sizeof *nl);
        if (!nl) {
            st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "tune log");
            break;
        }
        t->log = nl;
        snprintf(t->log[t->nlog].key, sizeof t->log[0].key, "%s,%s,%s", f_[2], f_[3], f_[4]);
        t->log[t->nlog++].top1 = top1;
    }
    fclose(f);
    return st;
}

static int budget_left(const struct tuner *t)
{
    if (t->o->max_trials > 0 && t->trials >= t->o->max_trials)
        return 0;
    return !(t->o->time_limit > 0 && now() - t->t0 >= t->o->time_limit);
}

struct candidate {
    struct config c;
    double cost;
    int order;
};

static int cmp_candidate(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return x->order - y->order;
}

static cgpc_status search(struct tuner *t, struct lowbit_spec *best,
                          struct lowbit_tune_result *res, struct cgpc_err *err)
{
    static const struct { enum lowbit_method m; enum lowbit_landmarks l; } kinds[] = {
        {LOWBIT_MIDRISE, LOWBIT_LM_UNIFORM},
        {LOWBIT_ROUND, LOWBIT_LM_UNIFORM},
        {LOWBIT_ROUND, LOWBIT_LM_NORMAL},
        {LOWBIT_ROUND, LOWBIT_LM_HISTOGRAM}};
    enum { NCAND = 4 * 2 * LOWBIT_MAX_BITS + 1 };
    struct candidate *cand = calloc(NCAND, sizeof *cand);
    struct config cur;
    cgpc_status st = CGPC_OK;
    int n = 0, ok;
    uint64_t bits;
    double pj, top1;
    if (!cand)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "tune candidates");
    for (int k = 0; k < 4; k++)
        for (int pc = 0; pc < 2; pc++)
            for (int b = 1; b <= LOWBIT_MAX_BITS; b++) {
                struct config *c = &cand[n].c;
                lowbit_spec_defaults(&c->spec);
                c->spec.method = kinds[k].m;
                c->spec.landmarks = kinds[k].l;
                c->spec.per_channel = pc;
                for (int i = 0; i < NN_MAX_LAYERS; i++)
                    c->bits[i] = b;
                cand[n].order = n;
                n++;
            }
    lowbit_spec_defaults(&cand[n].c.spec);
    cand[n].c.spec.method = LOWBIT_FP16;
    for (int i = 0; i < NN_MAX_LAYERS; i++)
        cand[n].c.bits[i] = 16;
    cand[n].order = n;
    n++;
    for (int i = 0; i < n && !st; i++) {
        st = cost_of(t, &cand[i].c, &bits, &pj, err);
        cand[i].cost = cost_value(t, bits, pj);
    }
    qsort(cand, (size_t)n, sizeof *cand, cmp_candidate);
    for (int i = 0; i < n && !st && !res->found; i++) {
        if (!budget_left(t)) {
            res->stopped_early = 1;
            break;
        }
        if ((st = trial(t, 1, &cand[i].c, &ok, &bits, &pj, &top1, err)))
            break;
        if (ok) {
            res->found = 1;
            cur = cand[i].c;
            res->stored_bits = bits;
            res->energy_pj = pj;
            res->top1 = top1;
        }
    }
    free(cand);
    if (st || !res->found)
        return st;
    /* phase 2: narrow layer by layer, largest first */
    if (!t->o->no_refine && cur.spec.method != LOWBIT_FP16) {
        int order[NN_MAX_LAYERS], no = 0;
        for (int i = 0; i < t->m->nlayers; i++)
            if (has_weights(&t->m->layers[i]))
                order[no++] = i;
        for (int a = 1; a < no; a++) /* insertion sort: weights descending, stable */
            for (int b = a; b > 0 && t->m->layers[order[b]].nweights >
                                          t->m->layers[order[b - 1]].nweights; b--) {
                int x = order[b];
                order[b] = order[b - 1];
                order[b - 1] = x;
            }
        for (int k = 0; k < no && !st; k++) {
            int li = order[k];
            while (cur.bits[li] > 1) {
                if (!budget_left(t)) {
                    res->stopped_early = 1;
                    break;
                }
                struct config next = cur;
                next.bits[li]--;
                if ((st = trial(t, 2, &next, &ok, &bits, &pj, &top1, err)) || !ok)
                    break;
                cur = next;
                res->stored_bits = bits;
                res->energy_pj = pj;
                res->top1 = top1;
            }
            if (res->stopped_early)
                break;
        }
    }
    if (!st) {
        specs_of(&cur, best);
        snprintf(res->method, sizeof res->method, "%s", method_label(&cur.spec));
        snprintf(res->granularity, sizeof res->granularity, "%s",
                 cur.spec.per_channel ? "per-channel" : "per-tensor");
        layer_bits_text(t->m, &cur, res->layer_bits, sizeof res->layer_bits);
        for (char *p = res->layer_bits; *p; p++) /* --layer-bits syntax */
            if (*p == ';')
                *p = ',';
    }
    return st;
}

cgpc_status lowbit_tune(struct nn_model *m, const struct nn_dataset *val,
                        const struct lowbit_tune_opts *o, struct lowbit_spec *best,
                        struct lowbit_tune_result *res, struct cgpc_err *err)
{
    struct tuner t;
    struct nn_eval_result r;
    cgpc_status st;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    if (!m->has_float)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "tune needs a float model");
    if (!(o->max_drop >= 0))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "max drop must be >= 0 points");
    t.m = m;
    t.val = val;
    t.o = o;
    t.t0 = now();
    /* drop the BatchNorm training parameters once, so restoring the arena restores all */
    struct lowbit_model none;
    memset(&none, 0, sizeof none);
    lowbit_apply(&none, m);
    for (int i = 0; i < m->nlayers; i++)
        if (has_weights(&m->layers[i]))
            t.nsaved += (size_t)m->layers[i].nweights + (size_t)m->layers[i].out_c;
    if (!(t.saved = malloc(t.nsaved * sizeof *t.saved)))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "tune: copy of the weights");
    memcpy(t.saved, m->arena, t.nsaved * sizeof *t.saved);
    if ((st = nn_eval(m, val, NULL, &r, err)))
        goto out;
    t.float_top1 = res->float_top1 = r.top1;
    if (o->log_path) {
        if (o->resume && (st = read_log(&t, o->log_path, err)))
            goto out;
        int fresh = !o->resume || t.nlog == 0;
        if (!(t.out = fopen(o->log_path, fresh ? "w" : "a"))) {
            st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot write the tune log", o->log_path);
            goto out;
        }
        if (fresh) {
            fprintf(t.out, "%s\n%s\n", TUNE_MAGIC, TUNE_HEADER);
            fflush(t.out);
        }
    }
    st = search(&t, best, res, err);
    res->trials = t.trials;
    res->evaluated = t.evaluated;
out:
    if (t.out && fclose(t.out) && !st)
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed", o->log_path);
    free(t.saved);
    free(t.log);
    return st;
}
