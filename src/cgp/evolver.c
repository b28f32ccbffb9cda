/* evolver.c - the (1+lambda) evolution strategy with neutral drift.
 *
 * One generation: every offspring i draws its mutations from the stream keyed by
 * (run seed, generation, stage << 32 | i), applies them to its worker's private copy of the
 * parent, is skipped as neutral when no mutated gene is active in the parent, else decoded and
 * evaluated on its active nodes only, and the mutations are undone. Then one thread picks the
 * best offspring (lowest index among equals); if it is at least as good as the parent it replaces
 * it (neutral drift) and every worker patches its copy with the winner's mutations. Genomes are
 * never copied per offspring. OpenMP: one parallel region per window of generations whose
 * generations are long enough (counted work); the threads take turns at whole generations, each
 * on its own replica of the parent, the master committing them in order without a barrier
 * (see "threads within a run"); which thread evaluates a generation never changes a result. */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/evolver_internal.h"
#include "common/parallel.h"
#include "common/resid.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CGP_EV_X86 1
#include <immintrin.h>
#define TARGET_AVX512DQ __attribute__((target("avx2,avx512f,avx512dq,avx512vl")))
#else
#define CGP_EV_X86 0
#endif

/* Closure rows (struct cgp_worker clos) while the parent has at most this many active nodes;
 * every row is CLOS_WORDS words (one 64-byte line), 32 KB per worker. */
#define CLOS_MAX 512
#define CLOS_WORDS (CLOS_MAX / 64)


/* Counters that take the counts a branch-free pass does not need (mark_active,
 * readers_build), used in turn; a power of two. */
#define CGP_DUMMIES 8

/* c ? a : b by masks (the compiler turns a conditional on data into a branch, which
 * mispredicts when c is a coin flip). */
static inline int32_t select_i32(int c, int32_t a, int32_t b)
{
    const int32_t m = -(int32_t)(c != 0);
    return (a & m) | (b & ~m);
}

static void worker_free(struct cgp_worker *w)
{
    free(w->apos);
    free(w->rstart);
    free(w->rlist);
    free(w->abits);
    free(w->clos);
    free(w->pdec);
    free(w->seed);
    free(w->omask);
    free(w->term);
    free(w->nterm);
    free(w->outs);
    free(w->hgene);
    free(w->hval);
    free(w->shadow);
    if (!w->ev || w->genes != w->ev->parent.genes) /* worker 0 works on the parent's genes */
        free(w->genes);
    free(w->old);
    free(w->applied);
    free(w->fin);
    free(w->pending);
    free(w->bits);
    free(w->top);
    free(w->rc);
    free(w->act);
    free(w->born);
    free(w->dead);
    free(w->seen);
    free(w->born_seen);
    free(w->saved_node);
    free(w->saved_rc);
    free(w->stack);
    free(w->dmark);
    free(w->dlist);
    free(w->undo);
    cgp_scratch_free(&w->sc);
}

static void par_free(struct cgp_par *par);
static cgpc_status par_init(struct cgp_evolver *ev, struct cgpc_err *err);
static int mutator_vec_ok(const struct cgp_mutator *mu, const struct cgp_fset *f);

void cgp_evolver_free(struct cgp_evolver *ev)
{
    if (!ev)
        return;
    par_free(ev->par);
    for (int i = 0; ev->w && i < ev->n_workers; i++)
        worker_free(&ev->w[i]);
    free(ev->w);
    for (int i = 0; ev->off && i < ev->p.lambda; i++) {
        free(ev->off[i].gene);
        free(ev->off[i].val);
        free(ev->off[i].hit);
    }
    free(ev->off);
    free(ev->eval_idx);
    free(ev->pre_draw);
    free(ev->pre_n);
    free(ev->win_gene);
    free(ev->win_val);
    free(ev->active_gene);
    free(ev->active_bits);
    free(ev->act_bits);
    free(ev->act_rank);
    free(ev->used);
    free(ev->pmap);
    free(ev->rc);
    free(ev->act);
    free(ev->mu.node);
    cgp_scratch_free(&ev->psc);
    cgp_genome_free(&ev->parent);
    free(ev);
}

cgpc_status cgp_evolver_init(struct cgp_evolver **out, const struct cgp_params *p,
                             const struct cgp_dataset *ds, const struct energy_gate_table *t,
                             struct cgpc_err *err)
{
    return cgp_evolver_init_workers(out, p, ds, t, 0, err);
}

cgpc_status cgp_evolver_init_workers(struct cgp_evolver **out, const struct cgp_params *p,
                                     const struct cgp_dataset *ds,
                                     const struct energy_gate_table *t, int workers,
                                     struct cgpc_err *err)
{
    *out = NULL;
    cgpc_status st = cgp_params_check(p, ds, err);
    if (st != CGPC_OK)
        return st;
    struct cgp_evolver *ev = cgpc_calloc_lines(1, sizeof *ev);
    if (!ev)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "evolver");
    ev->p = *p;
    ev->ds = ds;
    ev->t = t;
    int mux4 = 0;
    for (int i = 0; i < p->n_functions; i++)
        mux4 |= p->functions[i] == CGPC_OP_MUX4;
    int lb = p->levels_back > 0 ? p->levels_back : p->cols;
    cgp_shape_make(&ev->shape, p->rows, p->cols, lb, ds->n_inputs, ds->n_outputs, mux4 ? 4 : 2);
    cgp_fset_make(&ev->fset, p->functions, p->n_functions);
    ev->cared = cgp_dataset_cared(ds);
    ev->max_mut = (int)ceil(p->mutation_max * ev->shape.n_genes);
    if (ev->max_mut < 1)
        ev->max_mut = 1;
    if (workers <= 0)
        workers = cgpc_max_threads();
    ev->n_workers = workers < p->lambda ? workers : p->lambda;
    if ((st = cgp_genome_init(&ev->parent, &ev->shape, &ev->fset, err)) != CGPC_OK ||
        (st = cgp_scratch_init(&ev->psc, &ev->shape, ds, err)) != CGPC_OK)
        goto fail;
    /* every buffer on cache lines of its own (cgpc_[c]alloc_lines): another thread's evolver (a
     * concurrent run's lane, a helper's replica) never shares a line with it, whatever the
     * allocator (docs/ARCHITECTURE.md, "Concurrent runs and stages") */
    ev->active_gene = cgpc_calloc_lines((size_t)ev->shape.n_genes + 64, 1); /* + 64: mark_active */
    ev->active_bits = cgpc_calloc_lines((size_t)ev->shape.n_genes / 32 + 1,
                                       sizeof *ev->active_bits);
    ev->act_bits = cgpc_calloc_lines((size_t)ev->shape.n_nodes / 64 + 1,
                                     sizeof *ev->act_bits);
    ev->act_rank = cgpc_calloc_lines((size_t)ev->shape.n_nodes / 64 + 1,
                                     sizeof *ev->act_rank);
    /* used, pmap: read before written (position_genes); rc: + dummies for mark_active */
    ev->used = cgpc_calloc_lines((size_t)ev->shape.n_genes, sizeof *ev->used);
    ev->pmap = cgpc_calloc_lines((size_t)ev->shape.n_genes, sizeof *ev->pmap);
    ev->rc = cgpc_calloc_lines((size_t)ev->shape.n_nodes + CGP_DUMMIES, sizeof *ev->rc);
    ev->act = cgpc_alloc_lines((size_t)ev->shape.n_nodes * sizeof *ev->act, 1);
    ev->w = cgpc_calloc_lines((size_t)ev->n_workers, sizeof *ev->w);
    ev->off = cgpc_calloc_lines((size_t)p->lambda, sizeof *ev->off);
    ev->eval_idx = cgpc_alloc_lines((size_t)p->lambda * sizeof *ev->eval_idx, 1);
    /* + 16: whole vector stores */
    ev->win_gene = cgpc_alloc_lines((size_t)ev->max_mut + 16, sizeof *ev->win_gene);
    ev->win_val = cgpc_alloc_lines((size_t)ev->max_mut * sizeof *ev->win_val, 1);
    ev->mu.node = cgpc_alloc_lines((size_t)ev->shape.n_nodes * sizeof *ev->mu.node, 1);
    if (!ev->active_gene || !ev->active_bits || !ev->act_bits || !ev->act_rank || !ev->used ||
        !ev->pmap || !ev->rc || !ev->act || !ev->w || !ev->off || !ev->eval_idx || !ev->win_gene ||
        !ev->win_val || !ev->mu.node)
        goto nomem;
    for (int k = 0; k < ev->shape.n_nodes; k++) {
        const struct cgp_shape *sh = &ev->shape;
        int c = k / sh->rows, lo = c - sh->levels_back < 0 ? 0 : c - sh->levels_back;
        struct cgp_node_src *ns = &ev->mu.node[k];
        ns->n_prim = c <= sh->levels_back ? sh->n_inputs : 0;
        ns->n_src = (uint32_t)(ns->n_prim + (c - lo) * sh->rows);
        ns->back0 = sh->n_inputs + lo * sh->rows;
    }
    /* node = gene * magic >> 32 is exact while gene * (magic - 2^32 / d) < 2^32 / d; the same
     * for column = node * row_magic >> 32 */
    uint32_t d = (uint32_t)ev->shape.node_arity + 1, rows = (uint32_t)ev->shape.rows;
    if ((uint64_t)ev->shape.n_genes * d < (1ull << 31) / d)
        ev->mu.node_magic = (uint32_t)((1ull << 32) / d + 1);
    if ((uint64_t)ev->shape.n_nodes * rows < (1ull << 31) / rows && rows > 1)
        ev->mu.row_magic = (uint32_t)((1ull << 32) / rows + 1);
    for (int i = 0; i < ev->n_workers; i++) {
        struct cgp_worker *w = &ev->w[i];
        /* worker 0 changes the parent's genes in place (every offspring is undone; the winner
         * is applied once, by take_winner); the others keep a copy */
        w->genes = i == 0 ? ev->parent.genes
                          : cgpc_alloc_lines((size_t)ev->shape.n_genes * sizeof *w->genes, 1);
        w->old = cgpc_alloc_lines((size_t)ev->max_mut * sizeof *w->old, 1);
        /* + 16: gene buffer */
        w->applied = cgpc_alloc_lines((size_t)ev->max_mut + 16, sizeof *w->applied);
        w->fin = cgpc_alloc_lines((size_t)ev->max_mut * sizeof *w->fin, 1);
        w->pending = cgpc_calloc_lines((size_t)ev->shape.n_genes, sizeof *w->pending);
        w->bits = cgpc_calloc_lines((size_t)ev->shape.n_nodes / 64 + 1, sizeof *w->bits);
        w->top = cgpc_calloc_lines((size_t)ev->shape.n_nodes / 4096 + 1, sizeof *w->top);
        size_t nn = (size_t)ev->shape.n_nodes;
        w->rc = cgpc_calloc_lines(nn, sizeof *w->rc);
        w->act = cgpc_alloc_lines(nn * sizeof *w->act, 1);
        w->born = cgpc_alloc_lines(nn * sizeof *w->born, 1);
        w->dead = cgpc_alloc_lines(nn * sizeof *w->dead, 1);
        w->seen = cgpc_calloc_lines(nn, sizeof *w->seen);
        w->born_seen = cgpc_calloc_lines(nn, sizeof *w->born_seen);
        w->saved_node = cgpc_alloc_lines(nn * sizeof *w->saved_node, 1);
        w->saved_rc = cgpc_alloc_lines(nn * sizeof *w->saved_rc, 1);
        w->stack = cgpc_alloc_lines((size_t)ev->shape.node_arity * nn + 16, sizeof *w->stack);
        w->dmark = cgpc_calloc_lines(nn, sizeof *w->dmark);
        w->dlist = cgpc_alloc_lines((nn + 16) * sizeof *w->dlist, 1); /* + 16: list_marked_avx512 */
        w->undo = cgpc_alloc_lines(nn * (size_t)ds->stride + 1, 1);
        w->apos = cgpc_calloc_lines(nn, sizeof *w->apos);
        /* readers_build */
        w->rstart = cgpc_alloc_lines(nn + CGP_DUMMIES + 1, sizeof *w->rstart);
        w->rlist = cgpc_alloc_lines((size_t)ev->shape.node_arity * nn + 1, sizeof *w->rlist);
        w->abits = cgpc_calloc_lines(nn / 64 + 1, sizeof *w->abits);
        w->clos_cap = ev->shape.n_nodes < CLOS_MAX ? ev->shape.n_nodes : CLOS_MAX;
        w->clos = cgpc_alloc_lines(((size_t)w->clos_cap + 1) * CLOS_WORDS, sizeof *w->clos);
        w->pdec = cgpc_alloc_lines((size_t)ev->max_mut * (size_t)ev->shape.node_arity + 1,
                                   sizeof *w->pdec);
        w->seed = cgpc_alloc_lines(((size_t)ev->max_mut + 1) * sizeof *w->seed, 1);
        w->hgene = cgpc_alloc_lines((size_t)ev->max_mut + 1, sizeof *w->hgene);
        w->hval = cgpc_alloc_lines((size_t)ev->max_mut + 1, sizeof *w->hval);
        w->use_terms = ds->n_outputs <= 64;
        w->omask = cgpc_alloc_lines(((size_t)w->clos_cap + 1) * sizeof *w->omask, 1);
        w->term = cgpc_alloc_lines((size_t)ds->n_outputs * sizeof *w->term + 1, 1);
        w->nterm = cgpc_alloc_lines((size_t)ds->n_outputs * sizeof *w->nterm + 1, 1);
        w->outs = cgpc_alloc_lines((size_t)ds->n_outputs * sizeof *w->outs + 1, 1);
        /* one item, values of at most 512 bytes, no fitness bits (which read sc.values) */
        w->shadow_bytes = ((size_t)ev->shape.n_inputs + nn + 63) / 64 * 64;
        if (ds->n_items == 1 && w->shadow_bytes <= 512 && p->fitness != CGP_FITNESS_BITS) {
            w->shadow = cgpc_alloc_lines(w->shadow_bytes, 1);
            if (!w->shadow)
                goto nomem;
        }
        /* one item: the error from terms only in the copy (its bytes were just stored one by
         * one, which the error sum's gather would wait for); on large grids the gather over
         * the rows measured faster (256x31) */
        if (ds->n_items == 1 && !w->shadow)
            w->use_terms = 0;
        w->ev = ev;
        if (!w->genes || !w->old || !w->applied || !w->fin || !w->pending || !w->bits ||
            !w->top || !w->rc || !w->act || !w->born || !w->dead || !w->seen || !w->born_seen ||
            !w->saved_node || !w->saved_rc || !w->stack || !w->dmark || !w->dlist || !w->undo ||
            !w->apos || !w->rstart || !w->rlist || !w->abits || !w->clos || !w->pdec ||
            !w->seed || !w->omask || !w->term || !w->nterm || !w->outs || !w->hgene || !w->hval)
            goto nomem;
        if ((st = cgp_scratch_init(&w->sc, &ev->shape, ds, err)) != CGPC_OK)
            goto fail;
    }
    for (int i = 0; i < p->lambda; i++) {
        /* + 16: the position draws store whole vectors */
        ev->off[i].gene = cgpc_alloc_lines((size_t)ev->max_mut + 16, sizeof(int32_t));
        ev->off[i].val = cgpc_alloc_lines((size_t)ev->max_mut * sizeof(int32_t), 1);
        ev->off[i].hit = cgpc_alloc_lines((size_t)ev->max_mut + 16, sizeof(int32_t));
        if (!ev->off[i].gene || !ev->off[i].val || !ev->off[i].hit)
            goto nomem;
    }
    ev->lazy_values = 1;
    ev->pos.n_genes = (uint32_t)ev->shape.n_genes;
    ev->pos.max_mut = (uint32_t)ev->max_mut;
    ev->simd_pos = 1;
#if CGP_EV_X86
    ev->isa_dq = cgp_isa_active() >= CGP_ISA_AVX512 && __builtin_cpu_supports("avx512dq");
#endif
    ev->pre_gen = -1;
    if (ev->isa_dq && ev->max_mut <= 8 && p->lambda >= 2) { /* draw_positions_serial */
        ev->pre_draw = cgpc_alloc_lines((size_t)(p->lambda / 2) * 16, sizeof *ev->pre_draw);
        ev->pre_n = cgpc_alloc_lines((size_t)p->lambda, sizeof *ev->pre_n);
        if (!ev->pre_draw || !ev->pre_n)
            goto nomem;
    }
    ev->simd_values = 1;
    ev->values_vec = mutator_vec_ok(&ev->mu, &ev->fset);
    if (ev->values_vec)
        memcpy(ev->ops32, ev->fset.ops, (size_t)ev->fset.n_ops * sizeof *ev->ops32);
    /* Only the nodes an offspring changed or activated and those reading them are evaluated,
     * found forward through the parent's reader lists (evaluate_changed). */
    ev->incremental = 1;
    ev->gen_key_for = -1;
    ev->clock_mask = 15;
    cgp_evolver_set_threshold(ev, p->thresholds[0]);
    if (ev->n_workers > 1 && (st = par_init(ev, err)) != CGPC_OK)
        goto fail;
    *out = ev;
    return CGPC_OK;
nomem:
    st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "evolver buffers (%d genes, %d workers)",
                   ev->shape.n_genes, ev->n_workers);
fail:
    cgp_evolver_free(ev);
    return st;
}

static void fitness_error(const struct cgp_evolver *ev, struct cgp_fitness *f)
{
    f->error = ev->p.error_kind == CGP_ERROR_MSE
                   ? (ev->cared ? (double)f->err_sum / (double)ev->cared : 0)
                   : (double)f->err_sum;
}

/* The cost fields of the circuit whose active nodes are order[0..n) (topological, any order:
 * energies are summed per operator, so no depth-first decode is needed). Fitness bits also
 * need the compacted circuit: that mode decodes into sc and costs from there (the same
 * numbers). */
static void fitness_costs(const struct cgp_evolver *ev, struct cgp_scratch *sc,
                          const int32_t *genes, const int32_t *order, int n,
                          struct cgp_fitness *f)
{
    if (ev->p.fitness == CGP_FITNESS_BITS) { /* the bound e: the stage's threshold per weight */
        cgp_scratch_decode(sc, &ev->shape, genes);
        cgp_scratch_cost(sc, &ev->shape, genes, ev->t, f);
        cgp_scratch_bits(sc, &ev->shape, genes, ev->fset.n_ops, ev->ds, ev->bound, f);
    } else {
        cgp_circuit_cost(&ev->shape, genes, order, n, ev->t, sc->arrival, sc->depth, f);
    }
}

/* The error part of the fitness of a circuit with n active nodes and error sum err_sum;
 * returns whether it is within the limit (the costs are needed). */
static int fitness_error_set(const struct cgp_evolver *ev, int64_t err_sum, int n,
                             struct cgp_fitness *f)
{
    memset(f, 0, sizeof *f); /* f->error: set once the circuit is the parent (fitness_error) */
    f->err_sum = err_sum;
    f->active = n;
    return f->err_sum <= ev->limit;
}

/* The same with the error sum of the node values in sc->values (the rest zero). */
static int fitness_error_of_values(const struct cgp_evolver *ev, const struct cgp_scratch *sc,
                                   const int32_t *genes, int n, struct cgp_fitness *f)
{
    return fitness_error_set(
        ev, cgp_error_sum(&ev->shape, genes, sc->values, ev->ds, ev->p.error_kind), n, f);
}

/* The fitness of the circuit whose active nodes are order[0..n) and whose node values are in
 * sc->values: error always, costs within the limit. */
static void fitness_of_values(const struct cgp_evolver *ev, struct cgp_scratch *sc,
                              const int32_t *genes, const int32_t *order, int n,
                              struct cgp_fitness *f)
{
    if (fitness_error_of_values(ev, sc, genes, n, f))
        fitness_costs(ev, sc, genes, order, n, f);
}

/* Evaluate the circuit whose active nodes are order[0..n) into f (values in sc). */
static void evaluate(const struct cgp_evolver *ev, struct cgp_scratch *sc, const int32_t *genes,
                     const int32_t *order, int n, struct cgp_fitness *f)
{
    cgp_eval_active(&ev->shape, genes, order, n, ev->ds->n_items, ev->ds->stride, sc->values);
    fitness_of_values(ev, sc, genes, order, n, f);
    fitness_error(ev, f);
}

/* Mark the genes the parent's active nodes (ev->act) use (output genes stay marked), count
 * the parent's reader counts (ev->rc, zero before: clear_active), and list the used genes for
 * the position draws' relabelling: ev->used (ascending), pos.n_used = U, and the pairs of
 * ev->pmap: the j-th used gene >= U with the j-th unused gene < U, both ways (there are as many
 * of each: U genes below U, of which the used ones are the used genes not >= U). One pass over
 * the active nodes without a branch on the data (rebuilt with every change of the active set,
 * ~4 % of generations on single_filter's 30x7 grid: this was ~5 % of its time). */
static void mark_active(struct cgp_evolver *ev)
{
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs, nn = ev->shape.n_nodes;
    /* rc[nn..]: reads of primary inputs and input genes beyond the arity, CGP_DUMMIES
     * counters taken in turn (one would make every count wait on the last) */
    int32_t *const used = ev->used, *const rc = ev->rc;
    uint32_t *const ab = ev->active_bits;
    uint64_t acc = 0; /* act_bits' word of the last node, built in a register (act ascends) */
    int nu = 0;
    /* the arities first (independent loads of random nodes' genes): the pass below places
     * each node's genes after the previous node's, a chain through every arity */
    int32_t *const ars = ev->w[0].stack; /* free between offspring */
    for (int i = 0; i < ev->n_act; i++)
        ars[i] = cgp_op_arity(ev->parent.genes[(size_t)ev->act[i] * (A + 1) + A]);
    for (int i = 0, cur = -1; i < ev->n_act; i++) {
        const int k = ev->act[i], g0 = k * (A + 1);
        const int32_t *ng = ev->parent.genes + g0;
        const int ar = ars[i];
        uint8_t *ag = ev->active_gene + g0;
        for (int j = 0; j < A; j++) { /* every input slot; the unused ones are overwritten */
            const int32_t src = ng[j] - ni;
            used[nu + j] = g0 + j;
            ag[j] = (uint8_t)(j < ar);
            rc[select_i32((j < ar) & (src >= 0), src, nn + ((i * A + j) & (CGP_DUMMIES - 1)))]++;
        }
        used[nu + ar] = g0 + A;
        ag[A] = 1;
        nu += ar + 1;
        acc = (acc & -(uint64_t)(k >> 6 == cur)) | 1ull << (k & 63);
        cur = k >> 6;
        ev->act_bits[cur] = acc;
    }
    const int out0 = nn * (A + 1);
    const int32_t *out = ev->parent.genes + out0;
    for (int o = 0; o < ev->shape.n_outputs; o++) {
        used[nu++] = out0 + o;
        rc[select_i32(out[o] >= ni, out[o] - ni, nn + (o & (CGP_DUMMIES - 1)))]++;
    }
    const int w0 = used[0] >> 5, w1 = used[nu - 1] >> 5; /* nu >= outputs >= 1 */
    if ((w1 - w0 + 1) * 4 <= nu) {
        /* dense (small grids): each word of the range from active_gene, eight 0/1 bytes to
         * eight bits by one multiply; the per-gene read-modify-writes below would wait on
         * each other (consecutive genes share a word) */
        for (int wd = w0; wd <= w1; wd++) {
            uint32_t word = 0;
            for (int q = 0; q < 4; q++) {
                uint64_t x;
                memcpy(&x, ev->active_gene + (size_t)wd * 32 + (size_t)q * 8, sizeof x);
                word |= (uint32_t)((x * 0x0102040810204080ull) >> 56) << (q * 8);
            }
            ab[wd] = word;
        }
    } else { /* used ascends: each word's bits built in a register (the words are zero: a
                read-modify-write per gene would wait on the one before in the same word) */
        uint32_t acc32 = 0;
        for (int u = 0, cur = -1; u < nu; u++) {
            const int wd = used[u] >> 5;
            acc32 = (acc32 & -(uint32_t)(wd == cur)) | 1u << (used[u] & 31);
            ab[wd] = acc32;
            cur = wd;
        }
    }
    for (int b = 0, run = 0; b <= nn / 64; b++) {
        ev->act_rank[b] = run;
        run += __builtin_popcountll(ev->act_bits[b]);
    }
    ev->pos.n_used = (uint32_t)nu;
    int hi = 0; /* the first used gene >= nu */
    while (hi < nu && used[hi] < nu)
        hi++;
    /* the unused genes < nu ascending: the clear bits of active_bits, word by word */
    for (int wd = 0; hi < nu; wd++)
        for (uint32_t m = ~ab[wd]; m && hi < nu; m &= m - 1) {
            const int g = wd * 32 + __builtin_ctz(m);
            ev->pmap[used[hi]] = g;
            ev->pmap[g] = used[hi++];
        }
}

/* Unmark the genes of the parent's active nodes and zero their reader counts (before the
 * parent changes: mark_active marks and counts the new ones). */
static void clear_active(struct cgp_evolver *ev)
{
    const int nodes_used = (int)ev->pos.n_used - ev->shape.n_outputs; /* outputs: last, kept */
    for (int u = 0; u < nodes_used; u++)
        ev->active_gene[ev->used[u]] = 0;
    for (uint32_t u = 0; u < ev->pos.n_used; u++) /* outputs: set again by mark_active */
        ev->active_bits[ev->used[u] >> 5] = 0;
    for (int i = 0; i < ev->n_act; i++) {
        ev->act_bits[ev->act[i] >> 6] = 0;
        ev->rc[ev->act[i]] = 0;
    }
    memset(ev->rc + ev->shape.n_nodes, 0, CGP_DUMMIES * sizeof *ev->rc);
}

/* How many of the parent's active nodes are below node x: x's place in ev->act. */
static inline int act_rank(const struct cgp_evolver *ev, int32_t x)
{
    return ev->act_rank[x >> 6] +
           __builtin_popcountll(ev->act_bits[x >> 6] & ((1ull << (x & 63)) - 1));
}

/* The parent's active nodes in ascending order, their reader counts and used-gene marks, from
 * its genes (the old parent's cleared: clear_active). */
static void parent_active_sync(struct cgp_evolver *ev)
{
    ev->n_act = cgp_decode_active_sweep(&ev->shape, ev->parent.genes, ev->w[0].bits, ev->w[0].top,
                                        ev->act, NULL, NULL, NULL);
    mark_active(ev);
}

/* Make a worker's reader counts and active list the parent's again (full: from any state). */
static void worker_active_sync(const struct cgp_evolver *ev, struct cgp_worker *w, int full)
{
    if (full)
        memset(w->rc, 0, (size_t)ev->shape.n_nodes * sizeof *w->rc);
    else
        for (int i = 0; i < w->n_act; i++)
            w->rc[w->act[i]] = 0;
    memcpy(w->act, ev->act, (size_t)ev->n_act * sizeof *w->act);
    w->n_act = ev->n_act;
    w->readers_ok = 0;
    for (int i = 0; i < ev->n_act; i++)
        w->rc[ev->act[i]] = ev->rc[ev->act[i]];
}

/* Make worker w the parent again from any state: genes, reader counts, active list and (for
 * the incremental evaluation) the values of every node the parent uses. */
static void worker_sync_full(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    if (w->genes != ev->parent.genes)
        memcpy(w->genes, ev->parent.genes, (size_t)ev->shape.n_genes * sizeof(int32_t));
    worker_active_sync(ev, w, 1);
    if (ev->lazy_values && ev->incremental)
        cgp_eval_active(&ev->shape, w->genes, ev->act, ev->n_act, ev->ds->n_items,
                        ev->ds->stride, w->sc.values);
}

/* Start a new dirty set. */
static void dirty_begin(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    if (++w->dstamp == 0) {
        memset(w->dmark, 0, (size_t)ev->shape.n_nodes * sizeof *w->dmark);
        w->dstamp = 1;
    }
}

/* The dirty nodes of order[0..n) (ascending, the circuit's active nodes), into w->dlist in
 * that order: the nodes marked, and every node reading a dirty node. Nodes below kmin (the
 * lowest marked) cannot be dirty: the sweep starts there. Returns their count. */
static int dirty_sweep(const struct cgp_evolver *ev, struct cgp_worker *w, const int32_t *order,
                       int n, int32_t kmin)
{
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs;
    const uint32_t stamp = w->dstamp;
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (order[mid] < kmin)
            lo = mid + 1;
        else
            hi = mid;
    }
    int nd = 0;
    for (int i = lo; i < n; i++) { /* by selects: whether a node is dirty is a coin flip */
        const int32_t x = order[i];
        const int32_t *ng = w->genes + (size_t)x * (A + 1);
        const int ar = cgp_op_arity(ng[A]);
        int d = w->dmark[x] == stamp;
        for (int j = 0; j < A; j++) {
            const int32_t src = ng[j] - ni; /* a primary input (src < 0) is never dirty */
            d |= (j < ar) & (src >= 0) & (w->dmark[select_i32(src >= 0, src, x)] == stamp);
        }
        w->dmark[x] = (uint32_t)select_i32(d, (int32_t)stamp, (int32_t)w->dmark[x]);
        w->dlist[nd] = x;
        nd += d;
    }
    return nd;
}

static inline void dirty_mark(struct cgp_worker *w, int32_t k, int32_t *kmin)
{
    w->dmark[k] = w->dstamp;
    if (k < *kmin)
        *kmin = k;
}

/* The reader lists of worker w's parent (w->act, ev->parent.genes; w->genes may hold an
 * offspring's): apos, rstart, rlist (see struct cgp_worker). O(active), without a branch on
 * the genes: every input slot of every active node goes to a list, those not read (beyond
 * the operator's arity) and primary inputs to CGP_DUMMIES dummy lists after the real ones
 * (n.., taken in turn: one counter would make every count wait on the last). Uses w->stack as
 * scratch (free after offspring_active). */
static void readers_build(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs, n = w->n_act;
    int32_t *const rstart = w->rstart, *const slot = w->stack; /* slot: A x n list numbers */
    for (int i = 0; i < n; i++)
        w->apos[w->act[i]] = i;
    memset(rstart, 0, ((size_t)n + CGP_DUMMIES + 1) * sizeof *rstart);
    for (int i = 0; i < n; i++) { /* count (list q's count in rstart[q + 1]) */
        const int32_t *ng = ev->parent.genes + (size_t)w->act[i] * (A + 1);
        const int ar = cgp_op_arity(ng[A]);
        for (int j = 0; j < A; j++) {
            const int32_t src = ng[j] - ni;
            const int32_t q = w->apos[select_i32(src >= 0, src, 0)]; /* an active node's source: active */
            const int32_t list =
                select_i32((j < ar) & (src >= 0), q, n + ((i * A + j) & (CGP_DUMMIES - 1)));
            slot[i * A + j] = list;
            rstart[list + 1]++;
        }
    }
    for (int i = 1, run = 0; i <= n + CGP_DUMMIES; i++) /* the sum in a register */
        rstart[i] = run += rstart[i];
    for (int i = 0; i < n; i++) /* fill, rstart[q] as the cursor */
        for (int j = 0; j < A; j++)
            w->rlist[rstart[slot[i * A + j]]++] = i;
    for (int i = n; i > 0; i--) /* each cursor ended at the next list's start */
        rstart[i] = rstart[i - 1];
    rstart[0] = 0;
    w->readers_ok = 1;
}

#if CGP_EV_X86
/* The rows (positions in w->act) of the parent's active node w->act[i]'s sources that are
 * nodes, not inputs, in q (at most 4: the largest arity); with per-output terms, their output
 * masks get node i's. Returns how many. For closures_build and closures_rows_avx512. */
static inline int closure_sources(const struct cgp_evolver *ev, struct cgp_worker *w, int i,
                                  int32_t q[4])
{
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs;
    const int32_t *ng = ev->parent.genes + (size_t)w->act[i] * (A + 1);
    int n = 0;
    for (int j = 0, ar = cgp_op_arity(ng[A]); j < ar; j++)
        if (ng[j] >= ni)
            q[n++] = w->apos[ng[j] - ni];
    if (w->use_terms)
        for (int k = 0; k < n; k++)
            w->omask[q[k]] |= w->omask[i];
    return n;
}

/* closures_build's rows, each one 512-bit vector (a row is one 64-byte line). */
TARGET_AVX512DQ static void closures_rows_avx512(const struct cgp_evolver *ev,
                                                 struct cgp_worker *w)
{
    for (int i = w->n_act - 1; i >= 0; i--) {
        uint64_t *row = w->clos + (size_t)i * CLOS_WORDS;
        /* its own bit ORed in the vector (a narrow store under the wide load would stall) */
        const __m512i r = _mm512_or_si512(
            _mm512_load_si512((const void *)row),
            _mm512_maskz_set1_epi64((__mmask8)(1u << (i >> 6)), (long long)(1ull << (i & 63))));
        _mm512_store_si512((void *)row, r);
        int32_t q[4];
        for (int k = 0, ns = closure_sources(ev, w, i, q); k < ns; k++) {
            uint64_t *src = w->clos + (size_t)q[k] * CLOS_WORDS;
            _mm512_store_si512((void *)src, _mm512_or_si512(_mm512_load_si512((const void *)src), r));
        }
    }
}
#endif

/* The parent's per-output error terms and their sum (its genes and values) into w. */
static void parent_terms(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    const int no = ev->shape.n_outputs;
    for (int o = 0; o < no; o++)
        w->outs[o] = o;
    cgp_error_terms(&ev->shape, ev->parent.genes, w->sc.values, ev->ds, ev->p.error_kind,
                    w->outs, no, w->term);
    w->term_sum = 0;
    for (int o = 0; o < no; o++)
        w->term_sum += w->term[o];
}

/* The closure rows of worker w's parent (w->act, ev->parent.genes; see struct cgp_worker):
 * descending, each row gets its own bit, then is ORed into its sources' rows (whose readers
 * all come later in act). O(active x sources x active / 64). */
static void closures_build(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs, n = w->n_act;
    const int nw = (n + 63) >> 6;
    for (int i = 0; i < n; i++)
        w->apos[w->act[i]] = i;
    memset(w->clos, 0, (size_t)n * CLOS_WORDS * sizeof *w->clos);
    uint64_t *const om = w->use_terms ? w->omask : NULL;
    if (om) { /* the outputs' own nodes; the rows' loop carries them to the sources */
        const int32_t *out = ev->parent.genes + (size_t)ev->shape.n_nodes * (A + 1);
        memset(om, 0, (size_t)n * sizeof *om);
        for (int o = 0; o < ev->shape.n_outputs; o++)
            if (out[o] >= ni)
                om[w->apos[out[o] - ni]] |= 1ull << o;
    }
#if CGP_EV_X86
    if (ev->isa_dq && nw <= 8)
        closures_rows_avx512(ev, w);
    else
#endif
    for (int i = n - 1; i >= 0; i--) {
        uint64_t *row = w->clos + (size_t)i * CLOS_WORDS;
        row[i >> 6] |= 1ull << (i & 63);
        int32_t q[4];
        for (int k = 0, ns = closure_sources(ev, w, i, q); k < ns; k++) {
            uint64_t *src = w->clos + (size_t)q[k] * CLOS_WORDS;
            for (int wd = i >> 6; wd < nw; wd++) /* row i has no bit below i */
                src[wd] |= row[wd];
        }
    }
    if (om)
        parent_terms(ev, w);
    w->clos_words = nw;
    w->readers_ok = 1;
}

/* One row of st bytes: the common strides as fixed-size copies (no library call). */
static inline void copy_row(int8_t *dst, const int8_t *src, size_t st)
{
    switch (st) {
    case 1: *dst = *src; return;
    case 32: memcpy(dst, src, 32); return;
    case 64: memcpy(dst, src, 64); return;
    default: memcpy(dst, src, st); return;
    }
}

/* Index of node k in w->act, or -1 (apos is valid only where act agrees). */
static inline int32_t act_index(const struct cgp_worker *w, int32_t k)
{
    const int32_t i = w->apos[k];
    return i >= 0 && i < w->n_act && w->act[i] == k ? i : -1;
}

static const int32_t *offspring_order(const struct cgp_evolver *ev, struct cgp_worker *w);

/* act[i] for every bit i set in bits[wlo..nw) (words of 64 bits), ascending, into out;
 * returns how many. */
static int list_marked_scalar(const uint64_t *bits, int wlo, int nw, const int32_t *act,
                              int32_t *out)
{
    int n = 0;
    for (int wd = wlo; wd < nw; wd++)
        for (uint64_t m = bits[wd]; m; m &= m - 1)
            out[n++] = act[wd * 64 + __builtin_ctzll(m)];
    return n;
}

#if CGP_EV_X86
/* list_marked_scalar sixteen bits per step without a branch on them: the marked entries of
 * act compressed into out (masked loads: nothing outside the marks is read; whole stores, so
 * out holds 16 entries more than listed; a masked store would not forward to the loads that
 * read the list next). */
TARGET_AVX512DQ static int list_marked_avx512(const uint64_t *bits, int wlo, int nw,
                                              const int32_t *act, int32_t *out)
{
    int n = 0;
    for (int wd = wlo; wd < nw; wd++) {
        const uint64_t m = bits[wd];
        for (int c = 0; c < 4; c++) {
            const __mmask16 k = (__mmask16)(m >> (16 * c));
            const __m512i v = _mm512_maskz_loadu_epi32(k, act + wd * 64 + c * 16);
            const int pc = __builtin_popcount((unsigned)k);
            _mm512_storeu_si512((void *)(out + n), _mm512_maskz_compress_epi32(k, v));
            n += pc;
        }
    }
    return n;
}

/* The seeds' closure rows ORed in one 512-bit vector, into bits[0..CLOS_WORDS) (64-byte
 * aligned: one full store, which the listing's word loads can forward from). */
TARGET_AVX512DQ static void or_rows_avx512(const struct cgp_worker *w, uint64_t *bits)
{
    __m512i acc = _mm512_setzero_si512();
    for (int s = 0; s < w->n_seed; s++)
        acc = _mm512_or_si512(acc, _mm512_load_si512((const void *)(
                                       w->clos + (size_t)w->apos[w->seed[s]] * CLOS_WORDS)));
    _mm512_store_si512((void *)bits, acc);
}
#endif

/* The nodes an offspring changes, after offspring_active on worker w (its reader lists or
 * closure rows the parent's: readers_ok), into w->dlist ascending: the nodes it activated,
 * the parent's nodes whose genes it changed and every parent's node reading one of those
 * (found forward through the parent's closure rows or reader lists; a node the offspring
 * deactivated may be among them). Returns their count. */
static int offspring_dirty(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    uint64_t *const bits = w->abits;
    const int nw = w->n_act > 0 ? ((w->n_act - 1) >> 6) + 1 : 0, cw = w->clos_words;
    /* The seeds: the parent's nodes whose genes changed (with deaths deferred all still
     * active; a gene resolved later belongs to a node that was not active, or to one whose
     * operator changed: a seed already). */
    int wlo = INT32_MAX; /* the lowest word with a seed */
    int nd = 0, b = 0;
    if (cw) { /* the seeds' rows: every dirty node marked; listed in order, merged with born */
        int32_t *const tmp = w->n_born ? w->stack : w->dlist; /* stack: free here */
        int nt = 0;
        if (w->n_seed) {
#if CGP_EV_X86
            if (ev->isa_dq) {
                _Alignas(64) uint64_t wv[CLOS_WORDS];
                or_rows_avx512(w, wv);
                nt = list_marked_avx512(wv, 0, cw, w->act, tmp);
            } else
#endif
            {
                for (int s = 0; s < w->n_seed; s++) {
                    const int32_t i = w->apos[w->seed[s]];
                    const uint64_t *row = w->clos + (size_t)i * CLOS_WORDS;
                    wlo = i >> 6 < wlo ? i >> 6 : wlo;
                    for (int wd = i >> 6; wd < cw; wd++)
                        bits[wd] |= row[wd];
                }
                nt = list_marked_scalar(bits, wlo, cw, w->act, tmp);
                memset(bits, 0, (size_t)cw * sizeof *bits);
            }
        }
        if (w->n_born) {
            for (int t = 0; t < nt; t++) {
                while (b < w->n_born && w->born[b] < tmp[t])
                    w->dlist[nd++] = w->born[b++];
                w->dlist[nd++] = tmp[t];
            }
        } else {
            nd = nt;
        }
    } else {
        for (int s = 0; s < w->n_seed; s++) {
            const int32_t i = w->apos[w->seed[s]];
            bits[i >> 6] |= 1ull << (i & 63);
            wlo = i >> 6 < wlo ? i >> 6 : wlo;
        }
    }
    /* One ascending pass over the bitmap: a node's readers come after it in act, so marking
     * them as each marked node is reached finds every dirty node once, in order (merged with
     * the born ones, which only changed or born nodes read). */
    for (int wd = wlo; wd < nw; wd++) {
        for (uint64_t m = bits[wd]; m;) {
            const int bit = __builtin_ctzll(m), i = wd * 64 + bit;
            const int32_t x = w->act[i];
            while (b < w->n_born && w->born[b] < x)
                w->dlist[nd++] = w->born[b++];
            w->dlist[nd++] = x;
            for (int r = w->rstart[i]; r < w->rstart[i + 1]; r++) {
                const int32_t q = w->rlist[r];
                bits[q >> 6] |= 1ull << (q & 63);
            }
            m = bits[wd] & (~1ull << bit); /* the word again: readers may sit in it */
        }
        bits[wd] = 0;
    }
    while (b < w->n_born)
        w->dlist[nd++] = w->born[b++];
    return nd;
}

/* The parent's closure rows or reader lists on worker w, unless built (readers_ok). Worker 0's
 * genes are the parent's with the offspring's changes applied (w->applied, w->old: n_applied
 * of them; 0 between offspring): they are taken out while the lists are built. */
static void worker_readers(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    if (w->readers_ok)
        return;
    const int na = w->genes == ev->parent.genes ? w->n_applied : 0;
    for (int a = 0; a < na; a++)
        w->fin[a] = w->genes[w->applied[a]];
    for (int a = na - 1; a >= 0; a--)
        w->genes[w->applied[a]] = w->old[a];
    if (w->n_act <= w->clos_cap) {
        closures_build(ev, w);
    } else {
        readers_build(ev, w);
        w->clos_words = 0;
    }
    for (int a = 0; a < na; a++)
        w->genes[w->applied[a]] = w->fin[a];
}

/* Evaluate the offspring decoded in w->sc (offspring_active) from the parent's values:
 * only the nodes it activated, the parent's nodes whose genes it changed and every parent's
 * node reading one of those (found forward through the parent's reader lists; a node the
 * offspring deactivated may be among them: evaluated, unused, restored); then restore the
 * parent's rows. The same fitness as evaluate(). */
static void evaluate_changed(const struct cgp_evolver *ev, struct cgp_worker *w,
                             struct cgp_fitness *f)
{
    const int ni = ev->shape.n_inputs;
    const size_t st = (size_t)ev->ds->stride;
    worker_readers(ev, w);
    const int cw = w->clos_words;
    const int nd = offspring_dirty(ev, w);
    int8_t *values = w->sc.values;
    if (w->shadow) { /* small rows: the offspring's values in a copy (whole vectors) */
        for (size_t o = 0; o < w->shadow_bytes; o += 64)
            memcpy(w->shadow + o, values + o, 64);
        values = w->shadow;
    } else {
        for (int i = 0; i < nd; i++)
            copy_row(w->undo + (size_t)i * st, values + (size_t)(ni + w->dlist[i]) * st, st);
    }
    cgp_eval_active(&ev->shape, w->genes, w->dlist, nd, ev->ds->n_items, (int)st, values);
    int64_t es;
    if (cw && w->use_terms) { /* the parent's error less the old terms of the outputs the
                                 offspring reaches, plus their new terms */
        uint64_t om = w->out_hit;
        for (int s = 0; s < w->n_seed; s++)
            om |= w->omask[w->apos[w->seed[s]]];
        es = w->term_sum;
        if (ev->ds->n_items == 1) { /* one item: each term by byte loads here */
            const struct cgp_dataset *ds = ev->ds;
            const int ae = ev->p.error_kind == CGP_ERROR_AE;
            const int32_t *og = w->genes + (size_t)ev->shape.n_nodes * (ev->shape.node_arity + 1);
            for (; om; om &= om - 1) {
                const int o = __builtin_ctzll(om);
                const int e = values[(size_t)og[o] * st] - ds->target[(size_t)o * st];
                const int32_t t = ds->care[(size_t)o * st] * (ae ? (e < 0 ? -e : e) : e * e);
                es += (int64_t)t * ds->weight[o] - w->term[o];
            }
        } else {
            int no = 0;
            for (; om; om &= om - 1)
                w->outs[no++] = __builtin_ctzll(om);
            cgp_error_terms(&ev->shape, w->genes, values, ev->ds, ev->p.error_kind, w->outs,
                            no, w->nterm);
            for (int k = 0; k < no; k++)
                es += w->nterm[k] - w->term[w->outs[k]];
        }
    } else {
        es = cgp_error_sum(&ev->shape, w->genes, values, ev->ds, ev->p.error_kind);
    }
    if (fitness_error_set(ev, es, w->n_ord, f)) { /* the list: costs only */
        const int32_t *ord = offspring_order(ev, w); /* sets n_ord if deaths were deferred */
        f->active = w->n_ord;
        fitness_costs(ev, &w->sc, w->genes, ord, w->n_ord, f);
    }
    for (int i = 0; !w->shadow && i < nd; i++)
        copy_row(values + (size_t)(ni + w->dlist[i]) * st, w->undo + (size_t)i * st, st);
    w->node_evals += (int64_t)nd * ev->ds->n_items;
}

/* Worker w takes the accepted offspring's mutations (ev->win_*): genes, active set and, when
 * the active circuit changed, the values of the nodes it changed, activated or reaches. */
static void worker_accept(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    if (w->genes != ev->parent.genes) /* else take_winner applied them */
        for (int m = 0; m < ev->win_n; m++)
            w->genes[ev->win_gene[m]] = ev->win_val[m];
    if (!ev->win_active)
        return;
    if (!ev->lazy_values || !ev->incremental) {
        worker_active_sync(ev, w, 0);
        return;
    }
    if (w == &ev->w[0] && ev->win_nd >= 0) { /* take_winner listed them */
        if (ev->win_keep < 2)
            worker_active_sync(ev, w, 0);
        cgp_eval_active(&ev->shape, w->genes, w->dlist, ev->win_nd, ev->ds->n_items,
                        ev->ds->stride, w->sc.values);
        w->node_evals += (int64_t)ev->win_nd * ev->ds->n_items;
        if (ev->win_keep == 2 && w->clos_words && w->use_terms) /* lists and rows kept */
            parent_terms(ev, w);
        return;
    }
    const int A = ev->shape.node_arity;
    const int node_genes = ev->shape.n_nodes * (A + 1);
    dirty_begin(ev, w);
    int32_t kmin = INT32_MAX;
    for (int m = 0; m < ev->win_n; m++) {
        int g = ev->win_gene[m];
        if (g < node_genes)
            dirty_mark(w, A == 2 ? g / 3 : g / (A + 1), &kmin);
    }
    for (int i = 0; i < ev->n_act; i++) /* w->rc is still the old parent's: 0 = newly active */
        if (w->rc[ev->act[i]] == 0)
            dirty_mark(w, ev->act[i], &kmin);
    worker_active_sync(ev, w, 0);
    int nd = kmin == INT32_MAX ? 0 : dirty_sweep(ev, w, ev->act, ev->n_act, kmin);
    cgp_eval_active(&ev->shape, w->genes, w->dlist, nd, ev->ds->n_items, ev->ds->stride,
                    w->sc.values);
    w->node_evals += (int64_t)nd * ev->ds->n_items;
}

void cgp_evolver_reset_parent(struct cgp_evolver *ev)
{
    memset(ev->active_gene, 0, (size_t)ev->shape.n_genes);
    memset(ev->active_bits, 0, ((size_t)ev->shape.n_genes / 32 + 1) * sizeof *ev->active_bits);
    memset(ev->act_bits, 0, ((size_t)ev->shape.n_nodes / 64 + 1) * sizeof *ev->act_bits);
    memset(ev->rc, 0, ((size_t)ev->shape.n_nodes + CGP_DUMMIES) * sizeof *ev->rc);
    memset(ev->active_gene + (size_t)ev->shape.n_nodes * (ev->shape.node_arity + 1), 1,
           (size_t)ev->shape.n_outputs);
    parent_active_sync(ev);
    evaluate(ev, &ev->psc, ev->parent.genes, ev->act, ev->n_act, &ev->parent_fit);
    for (int i = 0; i < ev->n_workers; i++)
        worker_sync_full(ev, &ev->w[i]);
}

void cgp_evolver_cost_parent(struct cgp_evolver *ev)
{
    if (!ev->parent_fit.costed)
        cgp_circuit_cost(&ev->shape, ev->parent.genes, ev->act, ev->n_act, ev->t,
                         ev->psc.arrival, ev->psc.depth, &ev->parent_fit);
}

void cgp_evolver_set_threshold(struct cgp_evolver *ev, double threshold)
{
    ev->threshold = threshold;
    double e = cgp_per_weight(ev->p.error_kind, threshold, ev->cared);
    ev->bound = e < 0 ? 0 : e > CGPC_RESID_MAX_BOUND ? CGPC_RESID_MAX_BOUND : (int)lround(e);
    /* fitness bits: every circuit reaches (the residual makes up the rest); bits decide */
    ev->limit = ev->p.fitness == CGP_FITNESS_BITS
                    ? INT64_MAX
                    : cgp_threshold_limit(threshold, ev->p.error_kind, ev->ds);
}

void cgp_evolver_begin(struct cgp_evolver *ev, int run, int stage, const int32_t *genes,
                       int64_t generation)
{
    ev->run = run;
    ev->stage = stage;
    ev->run_seed = cgpc_hash3(ev->p.seed, (uint64_t)run, 0x43475052554eull /* "CGPRUN" */);
    cgp_evolver_set_threshold(ev, ev->p.thresholds[stage % ev->p.n_thresholds]);
    if (genes) {
        if (genes != ev->parent.genes)
            memcpy(ev->parent.genes, genes, (size_t)ev->shape.n_genes * sizeof *genes);
    } else {
        cgpc_rng r;
        cgpc_rng_seed(&r, ev->run_seed, UINT64_MAX, (uint64_t)stage);
        cgp_genome_randomize(&ev->parent, &r);
    }
    ev->generation = generation;
    ev->stage_gens = 0;
    ev->since_improve = 0;
    ev->stage_t0 = cgpc_wtime();
    ev->stop = CGP_STOP_NONE;
    cgp_evolver_reset_parent(ev);
}

static inline uint32_t scale_u32(uint32_t u, uint32_t n) { return (uint32_t)(((uint64_t)u * n) >> 32); }

int32_t cgp_mutator_value(const struct cgp_mutator *mu, const struct cgp_shape *s,
                          const struct cgp_fset *f, int gene, uint32_t u)
{
    const int A = s->node_arity;
    int node_genes = s->n_nodes * (A + 1);
    if (gene >= node_genes)
        return (int32_t)scale_u32(u, (uint32_t)(s->n_inputs + s->n_nodes));
    int node = A == 2 ? gene / 3 : gene / (A + 1), j = gene - node * (A + 1);
    const struct cgp_node_src *ns = &mu->node[node];
    uint32_t n = ns->n_src;
    if (__builtin_expect(n == 0, 0)) /* column 0 without inputs */
        return j == A ? f->nullary[scale_u32(u, (uint32_t)f->n_nullary)] : 0;
    /* both candidates, then a select: whether a gene is an operator or an input, and whether
     * an input is primary, are coin flips a branch would mispredict */
    int r = (int)scale_u32(u, n);
    int32_t src = r < ns->n_prim ? r : ns->back0 + (r - ns->n_prim);
    int32_t op = f->ops[scale_u32(u, (uint32_t)f->n_ops)];
    return j == A ? op : src;
}

/* Offspring i's mutation positions (and count) come from counter-based draws keyed by
 * (run seed, generation, stage << 32 | i) (cgp_mutation_positions); the new value of mutation m
 * from a counter-based draw keyed by (that key with bit 63 set, m), so values can be drawn late
 * and only when needed: a neutral offspring draws none unless it is accepted. */
/* cgpc_hash3(run seed, generation, b): its first two rounds are the generation's, kept in
 * ev->gen_key by draw_positions (valid while gen_key_for is this generation of this run). */
static inline uint64_t gen_hash(const struct cgp_evolver *ev, uint64_t b)
{
    if (ev->gen_key_for == ev->generation && ev->gen_key_seed == ev->run_seed)
        return cgpc_hash3_b(ev->gen_key, b);
    return cgpc_hash3(ev->run_seed, (uint64_t)ev->generation, b);
}

static uint64_t position_key(const struct cgp_evolver *ev, int i)
{
    return gen_hash(ev, ((uint64_t)ev->stage << 32) | (uint32_t)i);
}

static uint64_t value_key(const struct cgp_evolver *ev, int i)
{
    return gen_hash(ev, ((uint64_t)ev->stage << 32) | (uint32_t)i | (1ull << 63));
}

#if CGP_EV_X86
/* The high 32 bits of a[i] * b[i] in each 32-bit lane (unsigned). */
TARGET_AVX512DQ static inline __m512i mulhi_epu32x16(__m512i a, __m512i b)
{
    const __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(a, b), 32);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32));
    return _mm512_mask_mov_epi32(even, (__mmask16)0xAAAA, odd);
}

/* The mutations m0.. of the lanes in live (m0 even; live: the first k lanes): eight hashes in 64-bit lanes give the sixteen 32-bit
 * draws in place (cgp_mutation_u: the low half for even m, the high half for odd m); the
 * node's column by a multiply (row_magic), its source range computed, both candidates (input,
 * operator: a two-register permute) and the output value computed and selected, as
 * cgp_mutator_value does: no gather. Returns 0 (nothing stored) if a live lane's node has no
 * sources (column 0 without inputs): the caller takes the scalar path for those. */
TARGET_AVX512DQ static int mutator_values16_avx512(const struct cgp_mutator *mu,
                                                   const struct cgp_shape *s,
                                                   const int32_t *ops32, int n_ops,
                                                   uint64_t key, const int32_t *gene, int m0,
                                                   __mmask16 live, int32_t *val)
{
    const int A = s->node_arity;
    __m512i jc = _mm512_mullo_epi64(
        _mm512_add_epi64(_mm512_set1_epi64(m0 >> 1), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7)),
        _mm512_set1_epi64((long long)0xD1B54A32D192ED03ull));
    __m512i z = _mm512_add_epi64(_mm512_xor_si512(_mm512_set1_epi64((long long)key), jc),
                                 _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                           _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                           _mm512_set1_epi64((long long)0x94D049BB133111EBull));
    const __m512i u = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31)); /* 16 x 32-bit draws */
    const __m512i g = _mm512_maskz_loadu_epi32(live, gene + m0);
    const __m512i node = mulhi_epu32x16(g, _mm512_set1_epi32((int)mu->node_magic));
    const __m512i j = _mm512_sub_epi32(g, _mm512_mullo_epi32(node, _mm512_set1_epi32(A + 1)));
    const __m512i c = mulhi_epu32x16(node, _mm512_set1_epi32((int)mu->row_magic));
    const __m512i lb = _mm512_set1_epi32(s->levels_back), rows = _mm512_set1_epi32(s->rows);
    const __m512i ni = _mm512_set1_epi32(s->n_inputs);
    const __m512i lo = _mm512_max_epi32(_mm512_sub_epi32(c, lb), _mm512_setzero_si512());
    const __m512i n_prim = _mm512_maskz_mov_epi32(_mm512_cmple_epi32_mask(c, lb), ni);
    const __m512i n_src = _mm512_add_epi32(n_prim,
                                           _mm512_mullo_epi32(_mm512_sub_epi32(c, lo), rows));
    const __m512i back0 = _mm512_add_epi32(ni, _mm512_mullo_epi32(lo, rows));
    const __mmask16 is_out =
        _mm512_cmpge_epi32_mask(g, _mm512_set1_epi32(s->n_nodes * (A + 1)));
    if (_mm512_mask_cmpeq_epi32_mask(live & (__mmask16)~is_out, n_src, _mm512_setzero_si512()))
        return 0;
    const __m512i r = mulhi_epu32x16(u, n_src);
    const __m512i src = _mm512_mask_add_epi32(r, _mm512_cmpge_epi32_mask(r, n_prim), back0,
                                              _mm512_sub_epi32(r, n_prim));
    const __m512i oi = mulhi_epu32x16(u, _mm512_set1_epi32(n_ops));
    const __m512i op = _mm512_permutex2var_epi32(_mm512_loadu_si512((const void *)ops32), oi,
                                                 _mm512_loadu_si512((const void *)(ops32 + 16)));
    __m512i v = _mm512_mask_mov_epi32(src, _mm512_cmpeq_epi32_mask(j, _mm512_set1_epi32(A)), op);
    v = _mm512_mask_mov_epi32(v, is_out,
                              mulhi_epu32x16(u, _mm512_set1_epi32(s->n_inputs + s->n_nodes)));
    _mm512_mask_storeu_epi32(val + m0, live, v);
    return 1;
}
#endif

/* cgp_mutator_values with the vector path's operator table ops32 (f->ops, zero-padded to 32)
 * made by the caller; vec: take the vector path (the caller checked it may). */
static void mutator_values_ops(const struct cgp_mutator *mu, const struct cgp_shape *s,
                               const struct cgp_fset *f, const int32_t *ops32, int vec,
                               uint64_t key, const int32_t *gene, int n, int32_t *val)
{
    int m = 0;
#if CGP_EV_X86
    if (vec) {
        for (; m < n; m += 16) { /* the tail masked: no scalar remainder */
            __mmask16 live = n - m >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - m)) - 1);
            if (!mutator_values16_avx512(mu, s, ops32, f->n_ops, key, gene, m, live, val))
                for (int k = m; k < m + 16 && k < n; k++)
                    val[k] = cgp_mutator_value(mu, s, f, gene[k], cgp_mutation_u(key, k));
        }
    }
#else
    (void)ops32;
    (void)vec;
#endif
    for (; m < n; m++)
        val[m] = cgp_mutator_value(mu, s, f, gene[m], cgp_mutation_u(key, m));
}

/* Whether cgp_mutator_values may take the vector path for these tables. */
static int mutator_vec_ok(const struct cgp_mutator *mu, const struct cgp_fset *f)
{
#if CGP_EV_X86
    return mu->node_magic && mu->row_magic && f->n_ops <= 32 &&
           cgp_isa_active() >= CGP_ISA_AVX512 && __builtin_cpu_supports("avx512dq");
#else
    (void)mu;
    (void)f;
    return 0;
#endif
}

void cgp_mutator_values(const struct cgp_mutator *mu, const struct cgp_shape *s,
                        const struct cgp_fset *f, uint64_t key, const int32_t *gene, int n,
                        int32_t *val, int simd)
{
    int32_t ops32[32] = {0};
    const int vec = simd && mutator_vec_ok(mu, f);
    if (vec)
        memcpy(ops32, f->ops, (size_t)f->n_ops * sizeof *ops32);
    mutator_values_ops(mu, s, f, ops32, vec, key, gene, n, val);
}

/* cgp_mutator_values for the evolver's mutator, its vector table made once (ev->ops32). */
static void evolver_values(const struct cgp_evolver *ev, uint64_t key, const int32_t *gene,
                           int n, int32_t *val)
{
    mutator_values_ops(&ev->mu, &ev->shape, &ev->fset, ev->ops32,
                       ev->simd_values && ev->values_vec, key, gene, n, val);
}

#if CGP_EV_X86
/* position_genes sixteen draws per step: a draw below n_used gathers its gene from used, one
 * above whose bit is set (used by the parent) from pmap, the others are their own gene. */
TARGET_AVX512DQ static void position_genes_avx512(const struct cgp_evolver *ev, const int32_t *r,
                                                  int n, int32_t *gene)
{
    const __m512i nu = _mm512_set1_epi32((int)ev->pos.n_used), c31 = _mm512_set1_epi32(31);
    const __m512i one = _mm512_set1_epi32(1);
    for (int m = 0; m < n; m += 16) {
        __mmask16 live = n - m >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - m)) - 1);
        __m512i x = _mm512_maskz_loadu_epi32(live, r + m);
        __mmask16 lo = _mm512_mask_cmplt_epu32_mask(live, x, nu), up = live & (__mmask16)~lo;
        __m512i w = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), up,
                                                _mm512_srli_epi32(x, 5),
                                                (const void *)ev->active_bits, 4);
        __mmask16 paired =
            _mm512_mask_test_epi32_mask(up, w, _mm512_sllv_epi32(one, _mm512_and_si512(x, c31)));
        __m512i g = x;
        if (lo)
            g = _mm512_mask_i32gather_epi32(g, lo, x, (const void *)ev->used, 4);
        if (paired)
            g = _mm512_mask_i32gather_epi32(g, paired, x, (const void *)ev->pmap, 4);
        _mm512_storeu_si512((void *)(gene + m), g); /* gene has 16 entries more (a masked
                                                       store would not forward to the reads) */
    }
}
#endif

/* The genes of position draws r[0..n) into gene (cgp_position_gene). */
static void position_genes(const struct cgp_evolver *ev, const int32_t *r, int n, int32_t *gene)
{
#if CGP_EV_X86
    if (ev->simd_pos && ev->isa_dq && n >= 16) { /* fewer: the scalar loop is quicker */
        position_genes_avx512(ev, r, n, gene);
        return;
    }
#endif
    /* cgp_position_gene by selects: all three candidates loaded (used and pmap hold n_genes
     * entries), no branch on whether a draw hits or is paired (coin flips) */
    const uint32_t nu = ev->pos.n_used;
    for (int m = 0; m < n; m++) {
        const uint32_t x = (uint32_t)r[m];
        const int32_t u = ev->used[x], p = ev->pmap[x];
        const uint32_t paired = ev->active_bits[x >> 5] >> (x & 31) & 1;
        gene[m] = x < nu ? u : paired ? p : (int32_t)x;
    }
}

/* Offspring i's values into o->val, for its genes gene[0..n_mut) (position_genes) (the
 * reference path; take_winner draws the winner's into win_val). */
static void draw_values(const struct cgp_evolver *ev, struct cgp_offspring *o, int i,
                        const int32_t *gene)
{
    evolver_values(ev, value_key(ev, i), gene, o->n_mut, o->val);
    o->has_vals = 1;
}

/* Apply mutation m to gene `gene` of worker w (its value drawn now), recording the undo. */
static void resolve_gene(struct cgp_worker *w, int gene, int m)
{
    const struct cgp_evolver *ev = w->ev;
    w->applied[w->n_applied] = gene;
    w->old[w->n_applied++] = w->genes[gene];
    w->genes[gene] = cgp_mutator_value(&ev->mu, &ev->shape, &ev->fset, gene,
                                       cgp_mutation_u(w->value_key, m));
}

/* The last m < n with gene[m] == g, or -1 (gene is readable up to a multiple of 16 entries:
 * the position draws store whole vectors). */
static int last_mutation_scalar(const int32_t *gene, int n, int32_t g)
{
    for (int m = n - 1; m >= 0; m--)
        if (gene[m] == g)
            return m;
    return -1;
}

#if CGP_EV_X86
/* last_mutation_scalar sixteen entries per compare, from the end. */
TARGET_AVX512DQ static int last_mutation_avx512(const int32_t *gene, int n, int32_t g)
{
    const __m512i v = _mm512_set1_epi32(g);
    int b = (n - 1) & ~15;
    __mmask16 live = (__mmask16)(0xFFFFu >> (15 - ((n - 1) & 15)));
    for (; b >= 0; b -= 16, live = 0xFFFF) {
        __m512i x = _mm512_loadu_si512((const void *)(gene + b));
        __mmask16 eq = _mm512_mask_cmpeq_epi32_mask(live, x, v);
        if (eq)
            return b + 31 - __builtin_clz((unsigned)eq);
    }
    return -1;
}
#endif

/* Whether any of gene[0..n) lies in lo..lo+cnt-1 (the same readability as
 * last_mutation_scalar). */
static int any_mutation_scalar(const int32_t *gene, int n, int32_t lo, uint32_t cnt)
{
    for (int m = 0; m < n; m++)
        if ((uint32_t)(gene[m] - lo) < cnt)
            return 1;
    return 0;
}

#if CGP_EV_X86
/* any_mutation_scalar thirty-two entries per step. */
TARGET_AVX512DQ static int any_mutation_avx512(const int32_t *gene, int n, int32_t lo,
                                               uint32_t cnt)
{
    const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32((int)cnt - 1);
    int b = 0;
    for (; b + 32 <= n; b += 32) {
        const __m512i x0 = _mm512_sub_epi32(_mm512_loadu_si512((const void *)(gene + b)), vlo);
        const __m512i x1 =
            _mm512_sub_epi32(_mm512_loadu_si512((const void *)(gene + b + 16)), vlo);
        if (_mm512_cmple_epu32_mask(x0, vhi) | _mm512_cmple_epu32_mask(x1, vhi))
            return 1;
    }
    for (; b < n; b += 16) {
        const __mmask16 live = n - b >= 16 ? (__mmask16)0xFFFF : (__mmask16)(0xFFFFu >> (16 - (n - b)));
        const __m512i x = _mm512_sub_epi32(_mm512_loadu_si512((const void *)(gene + b)), vlo);
        if (_mm512_mask_cmple_epu32_mask(live, x, vhi))
            return 1;
    }
    return 0;
}
#endif

/* pending[g] (low half) of a gene the parent does not use once its last mutation is applied. */
#define RESOLVED 0xFFFFFFFFu

/* Gene g of worker w's genome, its pending mutation resolved first. A gene the parent uses is
 * pending only when offspring_active deferred a mutation of it (marked in w->pending). A gene
 * it does not use has as pending mutation its last one in the offspring's list, found by a
 * scan when the gene is first read (few are: the genes of nodes the offspring activates), and
 * is marked RESOLVED then: no pass over the list beforehand. */
static inline int32_t worker_gene(struct cgp_worker *w, size_t g)
{
    if (w->ev->active_gene[g]) {
        if (w->n_deferred && (uint32_t)(w->pending[g] >> 32) == w->pmark) {
            resolve_gene(w, (int)g, (int)(uint32_t)w->pending[g]);
            w->pending[g] = 0;
        }
        return w->genes[g];
    }
    int m;
    const int32_t r = cgp_unused_gene_draw(w->ev, (int32_t)g);
#if CGP_EV_X86
    if (w->scan_simd)
        m = last_mutation_avx512(w->mut_gene, w->mut_n, r);
    else
#endif
        m = last_mutation_scalar(w->mut_gene, w->mut_n, r);
    if (m >= 0) {
        const uint64_t done = (uint64_t)w->pmark << 32 | RESOLVED;
        if (w->pending[g] != done) {
            resolve_gene(w, (int)g, m);
            w->pending[g] = done;
        }
    } else if (w->rd) { /* the parent's value read: a helper's speculation lists it */
        if (w->n_rd < w->rd_cap)
            w->rd[w->n_rd] = (int32_t)g;
        w->n_rd++;
    }
    return w->genes[g];
}

/* Add delta (+1 or -1) to the reader count of source src and carry the change on: a node that
 * gains its first reader becomes active and reads its own sources (resolving their pending
 * genes), one that loses its last stops reading them. Saves each count before its first change
 * and lists the nodes activated that the parent did not have. */
static void rc_add(struct cgp_worker *w, int32_t src, int delta)
{
    const struct cgp_evolver *ev = w->ev;
    const int A = ev->shape.node_arity, ni = ev->shape.n_inputs;
    if (src < ni)
        return;
    int sp = 0;
    w->stack[sp++] = (src - ni) * 2 + (delta < 0);
    while (sp > 0) {
        int e = w->stack[--sp], x = e >> 1, dec = e & 1;
        if (w->seen[x] != w->mark) {
            w->seen[x] = w->mark;
            w->saved_node[w->n_saved] = x;
            w->saved_rc[w->n_saved++] = w->rc[x];
        }
        if (dec ? --w->rc[x] != 0 : w->rc[x]++ != 0)
            continue;
        w->n_died += dec;
        size_t g0 = (size_t)x * (A + 1);
        if (dec && ev->active_gene[g0 + A] && w->born_seen[x] != w->mark) {
            w->born_seen[x] = w->mark; /* a parent's active node died: listed once */
            w->dead[w->n_dead++] = x;
        }
        if (!dec && w->born_seen[x] != w->mark && !ev->active_gene[g0 + A]) {
            w->born_seen[x] = w->mark;
            w->born[w->n_born++] = x;
        }
        /* a node the parent does not have, above the relabelled genes (its genes' draws are
         * the genes themselves): one scan tells whether the offspring mutated any of them
         * (rarely), instead of one per gene read */
        if (!ev->active_gene[g0 + A] && g0 >= ev->pos.n_used && !w->rd) {
            int any;
#if CGP_EV_X86
            if (w->scan_simd)
                any = any_mutation_avx512(w->mut_gene, w->mut_n, (int32_t)g0, (uint32_t)A + 1);
            else
#endif
                any = any_mutation_scalar(w->mut_gene, w->mut_n, (int32_t)g0, (uint32_t)A + 1);
            if (!any) { /* the parent's genes */
                const int32_t *ng = w->genes + g0;
                for (int j = 0, ar = cgp_op_arity(ng[A]); j < ar; j++)
                    if (ng[j] >= ni)
                        w->stack[sp++] = (ng[j] - ni) * 2 + dec;
                continue;
            }
        }
        int ar = cgp_op_arity(worker_gene(w, g0 + A));
        for (int j = 0; j < ar; j++) {
            int32_t s = worker_gene(w, g0 + j);
            if (s >= ni)
                w->stack[sp++] = (s - ni) * 2 + dec;
        }
    }
}

/* Set gene g of worker w to v (a mutation of an active part, its value drawn), recording the
 * undo; returns the old value. */
static inline int32_t apply_now(struct cgp_worker *w, int g, int32_t v)
{
    int32_t old = w->genes[g];
    w->applied[w->n_applied] = g;
    w->old[w->n_applied++] = old;
    w->genes[g] = v;
    return old;
}

/* dst[0..n) = src[0..n) (not overlapping) by fixed-size copies, the last one ending at n
 * (overlapping the one before): short runs without a library call (measured ~4 % of a
 * 30x7 search in memmove). */
static inline void copy_run(int32_t *dst, const int32_t *src, int n)
{
    if (n >= 8) {
        for (int k = 0; k + 8 < n; k += 8)
            memcpy(dst + k, src + k, 8 * sizeof *dst);
        memcpy(dst + n - 8, src + n - 8, 8 * sizeof *dst);
    } else if (n >= 4) {
        memcpy(dst, src, 4 * sizeof *dst);
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof *dst);
    } else if (n >= 2) {
        memcpy(dst, src, 2 * sizeof *dst);
        memcpy(dst + n - 2, src + n - 2, 2 * sizeof *dst);
    } else if (n == 1) {
        dst[0] = src[0];
    }
}

/* Keep the nodes x of list[0..n) whose reader count is now positive (alive 1) or zero (alive 0),
 * ascending (few: an insertion sort); returns how many. */
static int sort_kept(int32_t *list, int n, const int32_t *rc, int alive)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int32_t x = list[i];
        if ((rc[x] > 0) != alive)
            continue;
        int c = k - 1;
        for (; c >= 0 && list[c] > x; c--)
            list[c + 1] = list[c];
        list[c + 1] = x;
        k++;
    }
    return k;
}

/* After the reader counts are exact: born and dead (the nodes the offspring activated and the
 * parent's it deactivated) ascending, and the number of its active nodes. */
static void offspring_counted(struct cgp_worker *w)
{
    int nb = sort_kept(w->born, w->n_born, w->rc, 1);
    w->n_born = nb; /* now: the nodes it activated */
    int nd = sort_kept(w->dead, w->n_dead, w->rc, 0); /* the parent's nodes now inactive */
    w->n_dead = nd;
    w->n_ord = w->n_act + nb - nd;
}

/* The offspring's active set from the parent's and the mutation list, in ascending order into
 * w->ord (w->sc.order, or the parent's list w->act when no node changed activity): each
 * mutation of a gene an active node uses (or an output gene) is applied at once and its
 * reader-count changes carried on; the others stay pending (the last mutation of a
 * gene wins) and are resolved only if their node becomes active and uses them. Touches
 * O(mutations + nodes whose activity changes), not O(active). */
static void offspring_active(struct cgp_evolver *ev, struct cgp_worker *w,
                             const struct cgp_offspring *o)
{
    const int32_t *gene = o->gene;
    const int n = o->n_mut;
    const int A = ev->shape.node_arity;
    const int node_genes = ev->shape.n_nodes * (A + 1);
    if (++w->mark == 0) {
        memset(w->seen, 0, (size_t)ev->shape.n_nodes * sizeof *w->seen);
        memset(w->born_seen, 0, (size_t)ev->shape.n_nodes * sizeof *w->born_seen);
        w->mark = 1;
    }
    w->n_saved = 0;
    w->n_seed = 0;
    w->out_hit = 0;
    w->n_born = 0;
    w->n_died = 0;
    w->n_dead = 0;
    /* The genes the parent's circuit does not use are all pending (the last mutation of a gene
     * wins; worker_gene finds it): they change nothing by themselves, and their latest values
     * are resolved if and when their node becomes active and uses them. The mutations of
     * genes the parent uses are processed in order. Every step keeps the counts exact for the
     * genes applied so far (pending genes are never ones an active node uses), so the end is
     * the same active set and genes as applying every mutation in order. */
    if (++w->pmark == 0) {
        memset(w->pending, 0, (size_t)ev->shape.n_genes * sizeof *w->pending);
        w->pmark = 1;
    }
    const uint64_t stamp = (uint64_t)w->pmark << 32;
    w->mut_gene = gene;
    w->mut_n = n;
    w->n_deferred = 0;
    w->scan_simd = ev->simd_pos && ev->isa_dq;
    /* Deaths deferred (the incremental evaluation): a source losing a reader is listed in
     * pdec instead (see struct cgp_worker); every step keeps the counts those of the nodes
     * reachable over the edges added so far and the parent's, so no node the parent uses
     * falls to 0 and its genes' mutations are all applied at once; offspring_deaths then
     * removes the lost edges (reference counts over an acyclic graph: the same end state in
     * any order). */
    const int defer = ev->incremental;
    int32_t *const pdec = w->pdec;
    int np = 0;
#define RC_SUB(src)                                                                                \
    do {                                                                                           \
        if (defer)                                                                                 \
            pdec[np++] = (src);                                                                    \
        else                                                                                       \
            rc_add(w, (src), -1);                                                                  \
    } while (0)
    /* The hits' genes and values first, independent of each other (the values are the
     * mutations' draws whatever the order they are applied in): the steps below are a chain
     * of loads and branches on them. */
    const int nh = o->n_hit;
    int32_t *const hg = w->hgene, *const hv = w->hval;
    for (int h = 0; h < nh; h++) {
        const int m = o->hit[h];
        const int32_t g = ev->used[gene[m]];
        const int32_t v = cgp_mutator_value(&ev->mu, &ev->shape, &ev->fset, g,
                                            cgp_mutation_u(w->value_key, m));
        hg[h] = g;
        hv[h] = v;
    }
    for (int h = 0; h < nh; h++) {
        int m = o->hit[h], g = hg[h];
        if (g >= node_genes) {
            if (w->n_deferred) /* else nothing is pending here */
                w->pending[g] = 0;
            if (g - node_genes < 64)
                w->out_hit |= 1ull << (g - node_genes);
            int32_t old = apply_now(w, g, hv[h]);
            rc_add(w, w->genes[g], +1);
            RC_SUB(old);
            continue;
        }
        int k = A == 2 ? g / 3 : g / (A + 1), j = g - k * (A + 1);
        size_t g0 = (size_t)k * (A + 1);
        if (w->rc[k] > 0 && j == A) {
            int ar0 = cgp_op_arity(w->genes[g]);
            if (w->n_deferred) /* else nothing is pending here */
                w->pending[g] = 0;
            apply_now(w, g, hv[h]);
            w->seed[w->n_seed++] = k;
            int ar1 = cgp_op_arity(w->genes[g]);
            for (int jj = ar0; jj < ar1; jj++)
                rc_add(w, worker_gene(w, g0 + jj), +1);
            for (int jj = ar1; jj < ar0; jj++)
                RC_SUB(w->genes[g0 + jj]);
        } else if (w->rc[k] > 0 && j < cgp_op_arity(w->genes[g0 + A])) {
            if (w->n_deferred) /* else nothing is pending here */
                w->pending[g] = 0;
            int32_t old = apply_now(w, g, hv[h]);
            w->seed[w->n_seed++] = k;
            rc_add(w, w->genes[g], +1);
            RC_SUB(old);
        } else {
            w->pending[g] = stamp | (uint32_t)m;
            w->n_deferred++;
        }
    }
#undef RC_SUB
    w->n_pdec = np;
    if (w->n_born == 0 && w->n_died == 0 && np == 0) { /* the parent's active set: its list */
        w->ord = w->act;
        w->n_ord = w->n_act;
        return;
    }
    w->ord = NULL; /* built by offspring_order only if needed (costs, full evaluation) */
    if (np > 0) { /* deaths deferred: born (ascending) may hold nodes that will die */
        w->n_born = sort_kept(w->born, w->n_born, w->rc, 1);
        w->n_ord = -1;
        return;
    }
    offspring_counted(w);
}

/* The deaths offspring_active deferred (w->pdec), carried on: the reader counts, born and
 * dead, n_ord exact. */
static void offspring_deaths(struct cgp_worker *w)
{
    for (int i = 0; i < w->n_pdec; i++)
        rc_add(w, w->pdec[i], -1);
    w->n_pdec = 0;
    offspring_counted(w);
}

/* The offspring's active list after offspring_active (w->ord), ascending: the parent's list
 * (less the nodes now inactive) merged with the new ones, built on the first call. */
static const int32_t *offspring_order(const struct cgp_evolver *ev, struct cgp_worker *w)
{
    if (w->ord)
        return w->ord;
    if (w->n_pdec > 0) {
        offspring_deaths(w);
        if (w->n_born == 0 && w->n_dead == 0) { /* the parent's active set after all */
            w->ord = w->act;
            return w->ord;
        }
    }
    const int32_t *born = w->born, *dead = w->dead;
    const int nb = w->n_born, nd = w->n_dead;
    /* copy the parent's list in runs between the few nodes inserted or dropped */
    int32_t *order = w->sc.order;
    const int32_t *act = w->act;
    int na = 0, p = 0, b = 0, d = 0;
    while (b < nb || d < nd) {
        int ins = d == nd || (b < nb && born[b] < dead[d]);
        int32_t x = ins ? born[b++] : dead[d++];
        int q = act_rank(ev, x); /* the first parent node >= x (a dead node: x itself) */
        copy_run(order + na, act + p, q - p);
        na += q - p;
        if (ins)
            order[na++] = x;
        p = ins ? q : q + 1; /* a dead node is act[q]: skipped */
    }
    copy_run(order + na, act + p, w->n_act - p);
    w->ord = order;
    return order;
}

/* Undo offspring_active (the genes are restored by the caller). */
static void offspring_active_undo(struct cgp_worker *w)
{
    for (int i = w->n_saved - 1; i >= 0; i--)
        w->rc[w->saved_node[i]] = w->saved_rc[i];
}

/* Mutation position draws (and the mutation count) of one offspring, counter-based: with
 * H(j) = cgp_counter_hash(key, j), n_mut = 1 + scale(high half of H(0), max_mut) and draw
 * r_m = scale(u, n_genes) with u the low (m even) or high (m odd) 32-bit half of H(1 + m / 2);
 * scale(u, n) = u * n >> 32. Any draw can be computed alone, so sixteen are drawn per vector.
 * Mutation m changes gene cgp_position_gene(r_m): the draws relabelled so that the genes the
 * parent uses are the draws below n_used, and a hit (a mutation of a used gene) is a compare,
 * not a lookup. The relabelling is a bijection of the genes that depends only on the parent,
 * fixed before the offspring's draws, so the positions are what a sequential stream gives:
 * n_mut uniform in 1..max_mut and every position independent and uniform over the n_genes
 * genes, both up to the multiply-shift bias (at most n / 2^32 relative, as every gene value
 * draw). Lists in hit the m (ascending) with r_m < n_used. gene and hit hold max_mut + 16
 * entries. Returns n_mut. */
static int positions_scalar(const struct cgp_positions *pp, uint64_t key, int32_t *gene,
                            int32_t *hit, int *n_hit)
{
    int n = 1 + (int)scale_u32((uint32_t)(cgp_counter_hash(key, 0) >> 32), pp->max_mut), nh = 0;
    for (int m = 0; m < n; m++) {
        uint64_t z = cgp_counter_hash(key, 1 + (uint64_t)(m >> 1));
        uint32_t g = scale_u32((uint32_t)(m & 1 ? z >> 32 : z), pp->n_genes);
        gene[m] = (int32_t)g;
        if (g < pp->n_used)
            hit[nh++] = m;
    }
    *n_hit = nh;
    return n;
}

#if CGP_EV_X86
/* Sixteen 32-bit draws in [0, n_genes): the splitmix64 hash of key K ^ counter jc in each
 * 64-bit lane (the hash cgp_counter_hash computes), each 32-bit half scaled by ng (n_genes in
 * every lane) as scale_u32 does: low half in the even, high half in the odd 32-bit lane. */
TARGET_AVX512DQ static inline __m512i draws_avx512(__m512i K, __m512i jc, __m512i ng)
{
    __m512i z = _mm512_add_epi64(_mm512_xor_si512(K, jc),
                                 _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                           _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                           _mm512_set1_epi64((long long)0x94D049BB133111EBull));
    z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
    const __m512i lo = _mm512_srli_epi64(_mm512_mul_epu32(z, ng), 32);
    const __m512i hi = _mm512_and_si512(_mm512_mul_epu32(_mm512_srli_epi64(z, 32), ng),
                                        _mm512_set1_epi64((long long)0xFFFFFFFF00000000ull));
    return _mm512_or_si512(lo, hi);
}

/* positions_scalar with sixteen draws per step: eight splitmix64 hashes in 64-bit lanes,
 * each giving the draws of its two 32-bit halves in place (low half: even m, high half: odd
 * m, as they lie in memory), the hits by one compare (no gather). */
TARGET_AVX512DQ static int positions_avx512(const struct cgp_positions *pp, uint64_t key,
                                            int32_t *gene, int32_t *hit, int *n_hit)
{
    const int n = 1 + (int)scale_u32((uint32_t)(cgp_counter_hash(key, 0) >> 32), pp->max_mut);
    const __m512i step = _mm512_set1_epi64((long long)(8 * 0xD1B54A32D192ED03ull));
    const __m512i K = _mm512_set1_epi64((long long)key);
    const __m512i ng = _mm512_set1_epi64(pp->n_genes);
    const __m512i nu = _mm512_set1_epi32((int)pp->n_used);
    /* counters 1..8 times the Weyl constant, stepped by adding 8 times it (mod 2^64) */
    __m512i jc = _mm512_mullo_epi64(_mm512_setr_epi64(1, 2, 3, 4, 5, 6, 7, 8),
                                    _mm512_set1_epi64((long long)0xD1B54A32D192ED03ull));
    __m512i mi = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int nh = 0;
    for (int m = 0; m < n; m += 16) {
        const __m512i g = draws_avx512(K, jc, ng);
        __mmask16 live = n - m >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - m)) - 1);
        _mm512_storeu_si512((void *)(gene + m), g);
        __mmask16 h = _mm512_mask_cmplt_epu32_mask(live, g, nu);
        /* no branch on h: whether a block hits is a coin flip */
        _mm512_storeu_si512((void *)(hit + nh), _mm512_maskz_compress_epi32(h, mi));
        nh += __builtin_popcount(h);
        jc = _mm512_add_epi64(jc, step);
        mi = _mm512_add_epi32(mi, _mm512_set1_epi32(16));
    }
    *n_hit = nh;
    return n;
}

/* positions_avx512 for two offspring at once when max_mut <= 8 (their draws need counters
 * 1..4 each), in two steps. draws2_avx512: key a in the low four 64-bit lanes, key b in the
 * high four, so one vector of hashes gives both offspring's eight draws (a's m = 0..7 in
 * lanes 0..7, then b's); their mutation counts in *na, *nb. These do not depend on the parent,
 * so the serial loop draws the next generation's ahead (draw_positions_serial). */
TARGET_AVX512DQ static inline __m512i draws2_avx512(const struct cgp_positions *pp, uint64_t ka,
                                                    uint64_t kb, int *na, int *nb)
{
    *na = 1 + (int)scale_u32((uint32_t)(cgp_counter_hash(ka, 0) >> 32), pp->max_mut);
    *nb = 1 + (int)scale_u32((uint32_t)(cgp_counter_hash(kb, 0) >> 32), pp->max_mut);
    const __m512i K = _mm512_mask_set1_epi64(_mm512_set1_epi64((long long)ka), 0xF0, (long long)kb);
    const __m512i jc = _mm512_mullo_epi64(_mm512_setr_epi64(1, 2, 3, 4, 1, 2, 3, 4),
                                          _mm512_set1_epi64((long long)0xD1B54A32D192ED03ull));
    return draws_avx512(K, jc, _mm512_set1_epi64(pp->n_genes));
}

/* hits2_avx512: the two offspring's draws g (draws2_avx512) stored in a and b (gene entries
 * 8..15 are not written), their hits listed (the draws below the parent's n_used), their
 * counts na, nb set. */
TARGET_AVX512DQ static inline void hits2_avx512(const struct cgp_positions *pp, __m512i g,
                                                int na, int nb, struct cgp_offspring *a,
                                                struct cgp_offspring *b)
{
    _mm256_storeu_si256((__m256i *)a->gene, _mm512_castsi512_si256(g));
    _mm256_storeu_si256((__m256i *)b->gene, _mm512_extracti64x4_epi64(g, 1));
    const __mmask16 live = (__mmask16)(((1u << na) - 1) | ((1u << nb) - 1) << 8);
    const __mmask16 h = _mm512_mask_cmplt_epu32_mask(live, g, _mm512_set1_epi32((int)pp->n_used));
    const __m512i mi = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_storeu_si256((__m256i *)a->hit,
                        _mm512_castsi512_si256(_mm512_maskz_compress_epi32(h & 0xFF, mi)));
    _mm256_storeu_si256((__m256i *)b->hit, /* b's lanes 8..15 moved down by the mask shift */
                        _mm512_castsi512_si256(_mm512_maskz_compress_epi32(h >> 8, mi)));
    a->n_hit = __builtin_popcount(h & 0xFFu);
    b->n_hit = __builtin_popcount((unsigned)h >> 8);
    a->n_mut = na;
    b->n_mut = nb;
    a->neutral = a->n_hit == 0;
    b->neutral = b->n_hit == 0;
    a->has_vals = b->has_vals = 0;
}

/* Offspring a and b's positions (draws2_avx512 then hits2_avx512) under keys ka, kb: no
 * vector crosses to the caller (draw_positions is not compiled for AVX-512 in every build). */
TARGET_AVX512DQ static void positions2_avx512(const struct cgp_positions *pp, uint64_t ka,
                                              uint64_t kb, struct cgp_offspring *a,
                                              struct cgp_offspring *b)
{
    int na, nb;
    const __m512i g = draws2_avx512(pp, ka, kb, &na, &nb);
    hits2_avx512(pp, g, na, nb, a, b);
}
#endif

int cgp_mutation_positions(const struct cgp_positions *pp, uint64_t key, int32_t *gene,
                           int32_t *hit, int *n_hit, int simd)
{
#if CGP_EV_X86
    if (simd && cgp_isa_active() >= CGP_ISA_AVX512 && __builtin_cpu_supports("avx512dq"))
        return positions_avx512(pp, key, gene, hit, n_hit);
#else
    (void)simd;
#endif
    return positions_scalar(pp, key, gene, hit, n_hit);
}

/* Draw the mutation positions of offspring i0..i1-1 and whether each is neutral, each from its
 * own key (cgp_mutation_positions). */
static void draw_positions(struct cgp_evolver *ev, int i0, int i1)
{
    if (ev->gen_key_for != ev->generation || ev->gen_key_seed != ev->run_seed) {
        ev->gen_key = cgpc_hash3_ab(ev->run_seed, (uint64_t)ev->generation);
        ev->gen_key_for = ev->generation;
        ev->gen_key_seed = ev->run_seed;
    }
    int i = i0;
#if CGP_EV_X86
    if (ev->simd_pos && ev->isa_dq && ev->max_mut <= 8)
        for (; i + 1 < i1; i += 2)
            positions2_avx512(&ev->pos, position_key(ev, i), position_key(ev, i + 1),
                              &ev->off[i], &ev->off[i + 1]);
#endif
    for (; i < i1; i++) {
        struct cgp_offspring *o = &ev->off[i];
        const uint64_t key = position_key(ev, i);
#if CGP_EV_X86
        if (ev->simd_pos && ev->isa_dq) /* cgp_mutation_positions' choice, made once */
            o->n_mut = positions_avx512(&ev->pos, key, o->gene, o->hit, &o->n_hit);
        else
#endif
            o->n_mut = positions_scalar(&ev->pos, key, o->gene, o->hit, &o->n_hit);
        o->neutral = o->n_hit == 0;
        o->has_vals = 0;
    }
}

#if CGP_EV_X86
/* draw_positions(ev, 0, lambda) for the serial loop when two offspring share a hash vector:
 * the draws of the offspring pairs of this generation were made during the last one
 * (ev->pre_*: the hashes do not depend on the parent, only the hit test does), so this
 * generation's offspring start from them, and the next generation's are drawn now, while this
 * one's offspring are evaluated (no dependency between the two: out-of-order execution runs
 * them side by side). The same numbers as draw_positions. */
TARGET_AVX512DQ static void draw_positions_serial(struct cgp_evolver *ev)
{
    const int lambda = ev->p.lambda, pairs = lambda / 2;
    const uint64_t sb = (uint64_t)ev->stage << 32;
    if (ev->pre_gen == ev->generation && ev->pre_seed == ev->run_seed &&
        ev->pre_stage == ev->stage) {
        ev->gen_key = ev->pre_key; /* the value keys' first rounds (gen_hash) */
    } else {
        ev->gen_key = cgpc_hash3_ab(ev->run_seed, (uint64_t)ev->generation);
        for (int q = 0; q < pairs; q++)
            _mm512_store_si512((void *)(ev->pre_draw + 16 * q),
                               draws2_avx512(&ev->pos,
                                             cgpc_hash3_b(ev->gen_key, sb | (uint32_t)(2 * q)),
                                             cgpc_hash3_b(ev->gen_key, sb | (uint32_t)(2 * q + 1)),
                                             &ev->pre_n[2 * q], &ev->pre_n[2 * q + 1]));
    }
    ev->gen_key_for = ev->generation;
    ev->gen_key_seed = ev->run_seed;
    for (int q = 0; q < pairs; q++)
        hits2_avx512(&ev->pos, _mm512_load_si512((const void *)(ev->pre_draw + 16 * q)),
                     ev->pre_n[2 * q], ev->pre_n[2 * q + 1], &ev->off[2 * q],
                     &ev->off[2 * q + 1]);
    if (lambda & 1) /* the last one alone (keys cached as draw_positions keeps them) */
        draw_positions(ev, lambda - 1, lambda);
    /* the next generation's pairs */
    const uint64_t gk = cgpc_hash3_ab(ev->run_seed, (uint64_t)ev->generation + 1);
    ev->pre_key = gk;
    for (int q = 0; q < pairs; q++)
        _mm512_store_si512((void *)(ev->pre_draw + 16 * q),
                           draws2_avx512(&ev->pos, cgpc_hash3_b(gk, sb | (uint32_t)(2 * q)),
                                         cgpc_hash3_b(gk, sb | (uint32_t)(2 * q + 1)),
                                         &ev->pre_n[2 * q], &ev->pre_n[2 * q + 1]));
    ev->pre_gen = ev->generation + 1;
    ev->pre_seed = ev->run_seed;
    ev->pre_stage = ev->stage;
}
#endif

/* Lazy path: offspring i's genes (those its circuit uses) and active set on worker w, from
 * the parent's by its mutations (values drawn only for genes the offspring's circuit uses). */
static void offspring_apply(struct cgp_evolver *ev, struct cgp_worker *w, int i)
{
    w->value_key = value_key(ev, i);
    w->n_applied = 0;
    offspring_active(ev, w, &ev->off[i]);
}

/* Undo offspring_apply: worker w is the parent again. */
static void offspring_restore(struct cgp_worker *w)
{
    offspring_active_undo(w);
    for (int a = w->n_applied - 1; a >= 0; a--)
        w->genes[w->applied[a]] = w->old[a];
}

/* Evaluate offspring i (positions drawn) on worker w (whose genes equal the parent's). */
static void make_offspring(struct cgp_evolver *ev, struct cgp_worker *w, int i)
{
    struct cgp_offspring *o = &ev->off[i];
    const int n = o->n_mut;
    if (o->neutral) {
        o->fit = ev->parent_fit;
        w->skipped++;
        return;
    }
    if (ev->lazy_values) {
        offspring_apply(ev, w, i);
        if (ev->incremental) {
            evaluate_changed(ev, w, &o->fit);
        } else {
            const int32_t *ord = offspring_order(ev, w);
            evaluate(ev, &w->sc, w->genes, ord, w->n_ord, &o->fit);
            w->node_evals += (int64_t)w->n_ord * ev->ds->n_items;
        }
        offspring_restore(w);
    } else {
        int32_t *gene = w->applied; /* the genes, max_mut */
        position_genes(ev, o->gene, n, gene);
        draw_values(ev, o, i, gene);
        for (int m = 0; m < n; m++) {
            w->old[m] = w->genes[gene[m]];
            w->genes[gene[m]] = o->val[m];
        }
        cgp_scratch_decode(&w->sc, &ev->shape, w->genes);
        evaluate(ev, &w->sc, w->genes, w->sc.order, w->sc.n_active, &o->fit);
        for (int m = n - 1; m >= 0; m--)
            w->genes[gene[m]] = w->old[m];
        w->node_evals += (int64_t)w->sc.n_active * ev->ds->n_items;
    }
    w->evaluations++;
}

/* cgp_fitness_cmp, its common case (both errors above the limit: by error) without a call. */
static inline int fitness_cmp(const struct cgp_fitness *a, const struct cgp_fitness *b,
                              int64_t limit)
{
    if (a->err_sum > limit && b->err_sum > limit)
        return (a->err_sum > b->err_sum) - (a->err_sum < b->err_sum);
    return cgp_fitness_cmp(a, b, limit);
}

/* The offspring that replaces the parent: the best, lowest index among equals, if at least
 * as good as the parent (neutral drift); -1: none. */
static int pick_winner(const struct cgp_evolver *ev)
{
    const int lambda = ev->p.lambda;
    const int64_t limit = ev->limit;
    int64_t best = ev->parent_fit.err_sum;
    int above = best > limit, win = -1;
    /* the first offspring with the least error not above the parent's, by selects (a branch
     * would mispredict; the loop-carried win also keeps the compiler from vectorising this
     * short loop through the stack) */
    for (int i = 0; i < lambda; i++) {
        const int64_t e = ev->off[i].fit.err_sum;
        /* all ones when offspring i is the new best: e <= best for the first one taken, then
         * e < best (errors are >= 0: no overflow) */
        const int64_t take = -(int64_t)(e <= best - (win >= 0));
        above &= e > limit;
        best = (e & take) | (best & ~take);
        win = (int)((i & take) | (win & ~take));
    }
    if (above) /* every error above the limit: by error alone (cgp_fitness_cmp) */
        return win;
    /* some error within the limit: the winner is within it too, so an offspring above it
     * (most of them) cannot be the winner and is not compared */
    win = -1;
    for (int i = 0; i < lambda; i++) {
        if (ev->off[i].fit.err_sum > limit)
            continue;
        const struct cgp_fitness *ref = win < 0 ? &ev->parent_fit : &ev->off[win].fit;
        const int c = cgp_fitness_cmp(&ev->off[i].fit, ref, limit);
        if (win < 0 ? c <= 0 : c < 0)
            win = i;
    }
    return win;
}

/* After offspring_active and offspring_order on worker 0 with the offspring's active nodes
 * the parent's: 2 if it changed only operators of active nodes, to ones of the same arity
 * (the same used genes and circuit edges: reader counts, reader lists and closure rows
 * stay), 1 if the arities stay (the same used genes), 0 if one changed. */
static int winner_keeps(const struct cgp_evolver *ev, const struct cgp_worker *w)
{
    const int A = ev->shape.node_arity, node_genes = ev->shape.n_nodes * (A + 1);
    int keep = 2;
    for (int a = 0; a < w->n_applied; a++) {
        const int32_t g = w->applied[a];
        const int op = g < node_genes && g % (A + 1) == A;
        if (op && cgp_op_arity(w->old[a]) != cgp_op_arity(w->genes[g]))
            return 0;
        keep = op ? keep : 1;
    }
    return keep;
}

/* Offspring win (positions drawn, fitness set; -1: none) becomes the parent: genes, active
 * set, win_* for the workers. Returns 1 if it is strictly better than the old parent. */
static int take_winner(struct cgp_evolver *ev, int win)
{
    int improved = 0;
    ev->win_n = 0;
    ev->win_active = 0;
    ev->win_nd = -1;
    ev->win_keep = 0;
    if (win >= 0) {
        struct cgp_offspring *o = &ev->off[win];
        /* a neutral offspring's fitness is the parent's */
        improved = !o->neutral && fitness_cmp(&o->fit, &ev->parent_fit, ev->limit) < 0;
        const int n = o->n_mut;
        int32_t *gene = ev->win_gene, *val = ev->win_val, *pg = ev->parent.genes;
        position_genes(ev, o->gene, n, gene); /* under the old parent's labels */
        if (o->has_vals)
            memcpy(val, o->val, (size_t)n * sizeof *val);
        else
            evolver_values(ev, value_key(ev, win), gene, n, val);
        /* the new active list: the winner's active set on worker 0 (the parent's reader
         * counts changed by its mutations, then undone), not a decode of the whole circuit */
        const int32_t *ord = NULL;
        int n_ord = 0;
        if (!o->neutral && ev->lazy_values && ev->incremental && ev->w[0].genes == pg) {
            struct cgp_worker *w = &ev->w[0];
            offspring_apply(ev, w, win);
            ord = offspring_order(ev, w); /* w->act or w->sc.order: kept by the restore */
            n_ord = w->n_ord;
            if (w->readers_ok) /* the nodes whose values change, for worker_accept */
                ev->win_nd = offspring_dirty(ev, w);
            if (ord == w->act) /* the same active nodes: the same used genes? */
                ev->win_keep = winner_keeps(ev, w);
            if (ev->win_keep) /* the reader counts it changed (exact: deaths carried on) */
                for (int i = 0; i < w->n_saved; i++)
                    ev->rc[w->saved_node[i]] = w->rc[w->saved_node[i]];
            offspring_restore(w);
        }
        if (!o->neutral && !ev->win_keep)
            clear_active(ev);
        for (int m = 0; m < n; m++)
            pg[gene[m]] = val[m];
        ev->win_n = n;
        ev->win_active = !o->neutral;
        if (!o->neutral) {
            if (ev->win_keep) {
                /* active nodes and their arities unchanged: the used genes, their marks and
                 * the relabelling too (mark_active would make the same) */
            } else if (ord) {
                memcpy(ev->act, ord, (size_t)n_ord * sizeof *ev->act);
                ev->n_act = n_ord;
                mark_active(ev);
            } else {
                parent_active_sync(ev);
            }
            ev->parent_fit = o->fit;
            fitness_error(ev, &ev->parent_fit); /* an offspring's error is its err_sum only */
            ev->parent_fit.active = ev->n_act; /* an offspring above the limit may not know it */
        }
    }
    return improved;
}

/* After take_winner (improved: its return): count the generation and decide whether to stop
 * (done: generations of this call, n_target its pause target). Returns 1 to stop. */
static int generation_done(struct cgp_evolver *ev, int improved, int64_t n_target, int64_t done)
{
    ev->generation++;
    ev->stage_gens++;
    ev->generations_total++;
    if (improved) {
        ev->since_improve = 0;
        if (ev->on_improve)
            ev->on_improve(ev, ev->hook_user);
    } else {
        ev->since_improve++;
    }
    if (ev->stage_gens >= ev->p.generations)
        ev->stop = CGP_STOP_BUDGET;
    else if (ev->p.patience > 0 && ev->since_improve >= ev->p.patience)
        ev->stop = CGP_STOP_PATIENCE;
    else if (ev->p.stop_after > 0 && ev->generation >= ev->p.stop_after)
        ev->stop = CGP_STOP_AFTER;
    else if (ev->hook_failed || (ev->cb && ev->cb->stop && *ev->cb->stop) ||
             (ev->abort && *ev->abort))
        ev->stop = CGP_STOP_SIGNAL;
    else if (done >= n_target)
        ev->stop = CGP_STOP_PAUSE;
    else if ((ev->p.time_limit > 0 || ev->pause_at > 0) &&
             (ev->generation & ev->clock_mask) == 0) {
        /* the clock every 16 generations, or up to every 1024 while that is under 0.1 ms
         * (reading it cost ~1 % of a 30x7 search at every 16); never results, only when a
         * pause or time limit is seen */
        double now = cgpc_wtime(), dt = now - ev->clock_last;
        ev->clock_last = now;
        if (dt < 1e-4 && ev->clock_mask < 1023)
            ev->clock_mask = ev->clock_mask * 2 + 1;
        else if (dt > 1e-3 && ev->clock_mask > 15)
            ev->clock_mask >>= 1;
        if (ev->p.time_limit > 0 && now - ev->stage_t0 >= ev->p.time_limit)
            ev->stop = CGP_STOP_TIME;
        else if (ev->pause_at > 0 && now >= ev->pause_at)
            ev->stop = CGP_STOP_PAUSE;
    }
    return ev->stop != CGP_STOP_NONE;
}

/* One thread: pick the winner, update the parent, decide whether to stop. Returns 1 to stop. */
static int select_and_check(struct cgp_evolver *ev, int64_t n_target, int64_t done)
{
    return generation_done(ev, take_winner(ev, pick_winner(ev)), n_target, done);
}

/* Up to this many genes an offspring read from the parent (genes the parent does not use) are
 * listed per speculative evaluation (threads); more: the speculation is not used. */
#define CGP_PAR_RD 1024

/* Draw the positions of generation ev->generation's offspring and evaluate them on worker w
 * (whose genes are the parent's). The neutral offspring (about half, a coin flip per
 * offspring: a branch on it mispredicts) take the parent's fitness without a branch; the
 * others are listed and evaluated (make_offspring's neutral test then always fails). rd (a
 * thread's speculation; NULL: none): offspring i lists the parent's unused genes it read in
 * rd + i * CGP_PAR_RD, n_rd[i] of them (0 for a neutral one), and the cache line at watch
 * (another thread's record, likely complete by then) is fetched after each offspring. */
static void evaluate_generation(struct cgp_evolver *ev, struct cgp_worker *w, int32_t *rd,
                                int *n_rd, const void *watch)
{
    const int lambda = ev->p.lambda;
#if CGP_EV_X86
    if (ev->pre_draw && ev->pre_serial)
        draw_positions_serial(ev);
    else
#endif
        draw_positions(ev, 0, lambda);
    int ne = 0;
    for (int i = 0; i < lambda; i++) {
        ev->off[i].fit = ev->parent_fit;
        ev->eval_idx[ne] = i;
        ne += !ev->off[i].neutral;
    }
    w->skipped += lambda - ne;
    if (!rd) {
        for (int k = 0; k < ne; k++)
            make_offspring(ev, w, ev->eval_idx[k]);
        return;
    }
    memset(n_rd, 0, (size_t)lambda * sizeof *n_rd);
    w->rd_cap = CGP_PAR_RD;
    for (int k = 0; k < ne; k++) {
        const int i = ev->eval_idx[k];
        w->rd = rd + (size_t)i * CGP_PAR_RD;
        w->n_rd = 0;
        make_offspring(ev, w, i);
        n_rd[i] = w->n_rd;
        __builtin_prefetch(watch);
    }
    w->rd = NULL;
}

/* ---- threads within a run ----------------------------------------------------------------
 *
 * A pipeline of whole generations. Thread t of n (thread 0, the master, runs the search on ev;
 * every other thread h, a helper, on a replica evolver of the parent allocated on its own
 * thread: no cache line shared with the master's buffers) takes the generations k of a window
 * (k = 1, 2, ...) with (k - 1) % n == t. It evaluates all lambda offspring of generation k on
 * the parent it has, the one after its own last generation k - n, before the winners of the
 * generations between are known: it speculates that they change nothing its offspring read.
 * Then it applies the records of those generations in order (a winner's positions and values
 * are redrawn from their keys; the record carries its fitness) and keeps the speculation only
 * when every one of them left the parent's circuit unchanged (neutral, or no winner: ~97 % of
 * generations with 16 items on 256x31) and changed no gene its offspring read (worker_gene
 * lists the parent's unused genes an offspring reads, w->rd); else it evaluates generation k
 * again, on the parent after k - 1. It picks the winner, publishes record k and applies the
 * winner itself. A thread looks at the others' records only after its own evaluation, so the
 * hand-off between the cores (a cache-line round trip ~500 ns here) overlaps work instead of
 * being waited for. The master commits every generation in order (its own and the records it
 * applies): the counters, improvements (on_improve), stop checks stay its and exactly one
 * thread's; when it stops it halts the window and the helpers drop what they were doing. The
 * master never waits long for a helper: after about one of its own generations it takes a late
 * helper's generation itself (a claim on the record decides who publishes it), and when it
 * does so too often (CGP_PAR_STEALS), or a helper sleeps too often waiting for a record
 * (CGP_PAR_SLEEPS), that helper sits the window out and the master does its generations. Which
 * thread evaluates a generation never changes a result (a speculation is kept only when its
 * evaluation equals the one on the true parent) and each generation's counts are counted
 * once, so they equal one thread's. One parallel region per window of generations
 * (cgp_evolver_advance); the replicas resynchronise at its start. */
#define CGP_PAR_RING 256 /* records kept; a helper lapped by the master sits the window out */
/* A helper's spin for a record before it checks the clock: about 10 us (a PAUSE iteration with
 * its load measured ~20-30 ns on this machine's AMD EPYC). */
#define CGP_PAR_SPINS 512
/* Generations of the helpers the master may take over (a helper was late: its core stalled,
 * ~50 us at times on this VM) in a row before the helper sits the rest of the window out;
 * one more is allowed every CGP_PAR_CREDIT generations, up to this many. */
#define CGP_PAR_STEALS 8
#define CGP_PAR_CREDIT 256
/* Times a helper may sleep for a record in a row before it sits the window out (the same
 * credit: a stall now and then is the host's, or the master's improvement hook, ~30 us; more
 * means the master's core is shared, and each sleep costs the master a system call). */
#define CGP_PAR_SLEEPS 16

struct cgp_par_rec { /* generation k's result, by the thread that evaluated it */
    _Atomic uint32_t claim; /* k once a thread took generation k to publish it */
    _Atomic uint32_t stamp; /* k once the record is complete (0: being written) */
    int win, by;            /* the winner (-1: none); the thread that evaluated the generation */
    struct cgp_fitness fit; /* the winner's (read when it changed the circuit) */
    int64_t counts[3];      /* the generation's evaluations, skipped, node_evals */
};

struct cgp_par_share { /* helper h's line, read by the master */
    _Atomic int out;   /* the helper sits the window out: the master does its generations */
    _Atomic int joined; /* the helper published a generation of this window (before: the
                           master does its generations without waiting) */
    char pad[56];
};

struct cgp_par_help { /* thread t's own (touched by no other thread) */
    int32_t *rd;          /* lambda x CGP_PAR_RD: what a speculation's offspring read */
    int *n_rd;            /* lambda */
    uint64_t *gbits;      /* a bit per gene: changed by a winner applied since the speculation */
    int32_t *glist;       /* the genes set there, n_gl of them (up to gl_cap; more: the whole
                             bitmap is cleared) */
    int n_gl, gl_cap;
    struct cgp_offspring spare; /* a speculation's winner while records are applied */
    int64_t n_spec[3];    /* this window's: as struct cgp_evolver's par_spec */
    double eval_s;        /* this window's timed evaluations (one in 8): seconds, count */
    int eval_n;
    char pad[64];
};

struct cgp_par {
    struct cgpc_seq wake;    /* threads sleeping for a record sleep here (cgpc_seq_wait_until) */
    _Alignas(64) _Atomic int halt; /* the master stopped: the window is over */
    _Atomic uint32_t progress; /* the master's last generation, kept while a helper has not
                                  joined the window */
    int n;                   /* threads (n_workers) */
    int pa, pb, span;        /* two threads: the master takes pa generations, then the helper
                                pb (par_pattern); span: pa + pb (more threads: n, in turn) */
    struct cgp_evolver **rep; /* rep[h], 1 <= h < n: helper h's replica */
    struct cgp_par_share *share; /* share[h], 1 <= h < n */
    struct cgp_par_rec *ring;    /* CGP_PAR_RING, one per 128 bytes */
    struct cgp_par_help *help;   /* help[t], 0 <= t < n */
    _Alignas(64) _Atomic double gen_seconds; /* the master's recent longest generation (a
                                                helper's spin), on its own line */
};

static void par_free(struct cgp_par *par)
{
    if (!par)
        return;
    for (int t = 0; t < par->n; t++) {
        if (par->rep && t > 0)
            cgp_evolver_free(par->rep[t]);
        if (par->help) {
            struct cgp_par_help *hp = &par->help[t];
            free(hp->rd);
            free(hp->n_rd);
            free(hp->gbits);
            free(hp->glist);
            free(hp->spare.gene);
            free(hp->spare.val);
            free(hp->spare.hit);
        }
    }
    free(par->rep);
    free(par->share);
    free(par->ring);
    free(par->help);
    free(par);
}

/* Thread t's own buffers and (a helper) its replica evolver. */
static cgpc_status par_init_thread(struct cgp_evolver *ev, int t, struct cgpc_err *err)
{
    struct cgp_par_help *hp = &ev->par->help[t];
    const size_t lambda = (size_t)ev->p.lambda, mm = (size_t)ev->max_mut;
    if (!(hp->rd = cgpc_calloc_lines(lambda * CGP_PAR_RD, sizeof *hp->rd)) ||
        !(hp->n_rd = cgpc_calloc_lines(lambda, sizeof *hp->n_rd)) ||
        !(hp->gbits = cgpc_calloc_lines((size_t)ev->shape.n_genes / 64 + 1, sizeof(uint64_t))) ||
        !(hp->glist = cgpc_calloc_lines(4 * mm, sizeof(int32_t))) ||
        !(hp->spare.gene = cgpc_calloc_lines(mm + 16, sizeof(int32_t))) ||
        !(hp->spare.val = cgpc_calloc_lines(mm, sizeof(int32_t))) ||
        !(hp->spare.hit = cgpc_calloc_lines(mm + 16, sizeof(int32_t))))
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "thread exchange");
    hp->gl_cap = 4 * (int)mm;
    if (t == 0)
        return CGPC_OK;
    return cgp_evolver_init_workers(&ev->par->rep[t], &ev->p, ev->ds, ev->t, 1, err);
}

static cgpc_status par_init(struct cgp_evolver *ev, struct cgpc_err *err)
{
    const int n = ev->n_workers;
    struct cgp_par *par = cgpc_calloc_lines(1, sizeof *par);
    if (!par)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "thread exchange");
    ev->par = par;
    par->n = n;
    par->pa = par->pb = 1;
    par->span = n;
    par->rep = calloc((size_t)n, sizeof *par->rep);
    par->share = cgpc_calloc_lines((size_t)n, sizeof *par->share);
    par->ring = cgpc_calloc_lines(CGP_PAR_RING, 128);
    par->help = cgpc_calloc_lines((size_t)n, sizeof *par->help);
    if (!par->rep || !par->share || !par->ring || !par->help)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "thread exchange");
    /* Each helper allocates its replica and buffers on its own thread (OpenMP keeps its
     * threads), so they come from that thread's malloc arena: allocated here, they would
     * interleave with the master's buffers, cache lines shared between the two cores (false
     * sharing: measured +12-17 % CPU per evolver for concurrent runs, run.c). Helpers OpenMP
     * does not start here are allocated on this thread. */
    cgpc_status *st = calloc((size_t)n, sizeof *st);
    struct cgpc_err *errs = calloc((size_t)n, sizeof *errs);
    if (!st || !errs) {
        free(st);
        free(errs);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "thread exchange");
    }
    for (int t = 0; t < n; t++)
        st[t] = CGPC_ERR_ARG; /* not started */
    CGPC_OMP(parallel num_threads(n))
    {
        int t = cgpc_thread_id();
        if (t < n)
            st[t] = par_init_thread(ev, t, &errs[t]);
    }
    cgpc_status ret = CGPC_OK;
    for (int t = 0; t < n && ret == CGPC_OK; t++) {
        if (st[t] == CGPC_ERR_ARG && !par->help[t].rd)
            st[t] = par_init_thread(ev, t, &errs[t]);
        if (st[t] != CGPC_OK) {
            *err = errs[t];
            ret = st[t];
        }
    }
    free(st);
    free(errs);
    _Static_assert(sizeof(struct cgp_par_rec) <= 128, "a record fits its 128 bytes");
    return ret;
}

static inline struct cgp_par_rec *par_rec(const struct cgp_par *par, uint32_t k)
{
    return (struct cgp_par_rec *)((char *)par->ring + (size_t)(k % CGP_PAR_RING) * 128);
}

/* The thread that takes generation k of the window. */
static inline int par_owner(const struct cgp_par *par, uint32_t k)
{
    const uint32_t i = (k - 1) % (uint32_t)par->span;
    return par->n == 2 ? i >= (uint32_t)par->pa : (int)i;
}

/* Thread t's next generation after k. */
static inline uint32_t par_next(const struct cgp_par *par, int t, uint32_t k)
{
    do
        k++;
    while (par_owner(par, k) != t);
    return k;
}

/* Two threads whose cores run at different speeds (this VM's two vCPUs differ by up to ~1.4x,
 * which one changes over time) keep pace better when the faster takes two generations for the
 * other's one (consecutive generations of one thread need no speculation nor replay): the
 * next window's turns from this one's timed evaluations. strict (testing): in turn. */
static void par_pattern(struct cgp_par *par, int strict)
{
    const struct cgp_par_help *m = &par->help[0], *h = &par->help[par->n - 1];
    par->pa = par->pb = 1;
    if (par->n == 2 && !strict && m->eval_n >= 16 && h->eval_n >= 16) {
        const double r = (h->eval_s / h->eval_n) / (m->eval_s / m->eval_n);
        if (r > 1.25)
            par->pa = 2;
        else if (r < 0.8)
            par->pb = 2;
    }
    par->span = par->n == 2 ? par->pa + par->pb : par->n;
}

/* Before a window (no helper running): replica r takes the parent's state; the helper
 * rebuilds the rest (cgp_evolver_reset_parent) on its own thread. */
static void par_sync(const struct cgp_evolver *ev, struct cgp_evolver *r)
{
    memcpy(r->parent.genes, ev->parent.genes, (size_t)ev->shape.n_genes * sizeof(int32_t));
    r->parent_fit = ev->parent_fit;
    r->run = ev->run;
    r->stage = ev->stage;
    r->run_seed = ev->run_seed;
    r->threshold = ev->threshold;
    r->limit = ev->limit;
    r->bound = ev->bound;
    r->generation = ev->generation;
    r->lazy_values = ev->lazy_values;
    r->incremental = ev->incremental;
    r->simd_pos = ev->simd_pos;
    r->simd_values = ev->simd_values;
}

static inline int par_halted(struct cgp_par *par)
{
    return atomic_load_explicit(&par->halt, memory_order_acquire);
}

/* Record k is complete (or its slot holds a later one: the reader was lapped, par_read). */
static inline int par_ready(const struct cgp_par *par, uint32_t k)
{
    return cgpc_seq_reached(atomic_load_explicit(&par_rec(par, k)->stamp, memory_order_acquire),
                            k);
}

/* The master ends the window: threads waiting for a record see it (and wake). */
static void par_halt(struct cgp_par *par)
{
    atomic_store_explicit(&par->halt, 1, memory_order_release);
    cgpc_seq_add(&par->wake, 1);
}

/* Take generation k to publish its record: 0 if another thread took it first. */
static int par_claim(struct cgp_par *par, uint32_t k)
{
    struct cgp_par_rec *rec = par_rec(par, k);
    uint32_t c = atomic_load_explicit(&rec->claim, memory_order_relaxed);
    /* claims of a slot only grow (k, k + CGP_PAR_RING, ...): a later one means k was taken */
    return !cgpc_seq_reached(c, k) && atomic_compare_exchange_strong_explicit(&rec->claim, &c, k,
                                                             memory_order_acq_rel,
                                                             memory_order_relaxed);
}

/* Publish record k (claimed): winner win (-1: none) and its fitness, the generation's counts
 * d, by thread t (a seqlock on its stamp; a sleeping reader is woken). */
static void par_publish(struct cgp_par *par, uint32_t k, int t, int win,
                        const struct cgp_fitness *fit, const int64_t d[3])
{
    struct cgp_par_rec *rec = par_rec(par, k);
    atomic_store_explicit(&rec->stamp, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    rec->win = win;
    rec->by = t;
    if (win >= 0)
        rec->fit = *fit;
    memcpy(rec->counts, d, sizeof rec->counts);
    atomic_store_explicit(&rec->stamp, k, memory_order_release);
    cgpc_seq_notify(&par->wake);
}

/* Record k (published) into *out: 0 if it was overwritten meanwhile (the reader was lapped). */
static int par_read(const struct cgp_par *par, uint32_t k, struct cgp_par_rec *out)
{
    const struct cgp_par_rec *rec = par_rec(par, k);
    uint32_t s1 = atomic_load_explicit(&rec->stamp, memory_order_acquire);
    out->win = rec->win;
    out->by = rec->by;
    out->fit = rec->fit;
    memcpy(out->counts, rec->counts, sizeof out->counts);
    atomic_thread_fence(memory_order_acquire);
    return s1 == k && atomic_load_explicit(&rec->stamp, memory_order_relaxed) == k;
}

/* A decaying maximum of times: the new sample t (at most 4x m when m > 0) or 0.98 m. */
static inline double par_decay_max(double m, double t)
{
    if (m > 0 && t > 4 * m)
        t = 4 * m;
    return t > 0.98 * m ? t : 0.98 * m;
}

/* Evaluate generation k (its keys: generation gen of the run) on e's parent and pick its
 * winner; spec (the record awaited next, or NULL): list what each offspring read (hp). d: the
 * counts the evaluation added. */
static int par_evaluate(struct cgp_evolver *e, struct cgp_par_help *hp, int64_t gen,
                        const void *spec, int64_t d[3])
{
    struct cgp_worker *w = &e->w[0];
    const int64_t c0[3] = {w->evaluations, w->skipped, w->node_evals}, keep = e->generation;
    e->generation = gen;
    evaluate_generation(e, w, spec ? hp->rd : NULL, hp->n_rd, spec);
    e->generation = keep;
    d[0] = w->evaluations - c0[0];
    d[1] = w->skipped - c0[1];
    d[2] = w->node_evals - c0[2];
    return pick_winner(e);
}

struct par_until { struct cgp_par *par; uint32_t k; };
static int par_until(void *arg)
{
    const struct par_until *u = arg;
    return par_ready(u->par, u->k) || par_halted(u->par);
}

/* Wait for record k or the halt: spin `spins`, then sleep (a publisher wakes the sleepers). */
static void par_sleep(struct cgp_par *par, uint32_t k, int spins)
{
    struct par_until u = {par, k};
    cgpc_seq_wait_until(&par->wake, par_until, &u, spins);
}

/* The master: helper h's record k has come (1), or the master takes generation k itself (0):
 * after about one of its own generations (each), at once when the helper sits out. strict
 * (testing): it waits for the helper however long. */
static int par_master_wait(struct cgp_par *par, uint32_t k, int h, double each, int strict,
                           int *steals)
{
    double until = -1;
    for (int spin = 0;; spin++) {
        if (par_ready(par, k))
            return 1;
        cgpc_cpu_relax();
        if (strict) {
            if ((spin & 63) == 63)
                sched_yield(); /* more threads than cores in tests */
            continue;
        }
        int take = atomic_load_explicit(&par->share[h].out, memory_order_relaxed) ||
                   !atomic_load_explicit(&par->share[h].joined, memory_order_relaxed);
        if (!take && (spin & 31) == 31) {
            double now = cgpc_wtime();
            if (until < 0)
                until = now + 4 * each + 20e-6;
            else if (now > until) {
                take = 1;
                if (--*steals <= 0) /* late too often: it sits the window out */
                    atomic_store_explicit(&par->share[h].out, 1, memory_order_relaxed);
            }
        }
        if (take) {
            if (par_claim(par, k))
                return 0;
            par_sleep(par, k, CGP_PAR_SPINS); /* the helper is publishing it */
            return 1;
        }
    }
}

/* A helper: record k has come (1), or the window is over for it (0: halted, or it slept too
 * often waiting). */
static int par_helper_wait(struct cgp_par *par, uint32_t k, int *slept, int strict)
{
    for (int spin = 0; spin < CGP_PAR_SPINS; spin++) {
        if (par_ready(par, k))
            return 1;
        cgpc_cpu_relax();
    }
    double until =
        cgpc_wtime() + 2 * atomic_load_explicit(&par->gen_seconds, memory_order_relaxed);
    for (int spin = 1; !par_ready(par, k); spin++) {
        cgpc_cpu_relax();
        if ((spin & 31) == 0 && (par_halted(par) || cgpc_wtime() > until)) {
            if (par_halted(par) || (--*slept < 0 && !strict))
                return 0;
            par_sleep(par, k, 0);
            break;
        }
    }
    return !par_halted(par);
}

/* 2 if an offspring of thread hp's speculation read a gene marked in gbits (or more genes
 * than it could list), else 0. */
static int par_spec_reads(const struct cgp_par_help *hp, int lambda)
{
    for (int i = 0; i < lambda; i++) {
        const int32_t *rd = hp->rd + (size_t)i * CGP_PAR_RD;
        if (hp->n_rd[i] > CGP_PAR_RD)
            return 2;
        uint64_t hit = 0;
        for (int q = 0; q < hp->n_rd[i]; q++)
            hit |= hp->gbits[rd[q] >> 6] >> (rd[q] & 63);
        if (hit & 1)
            return 2;
    }
    return 0;
}

/* Mark genes gene[0..n) in thread hp's gbits (listed for clearing). */
static void par_mark(struct cgp_par_help *hp, const int32_t *gene, int n)
{
    for (int m = 0; m < n; m++) {
        const int32_t g = gene[m];
        hp->gbits[g >> 6] |= 1ull << (g & 63);
        if (hp->n_gl < hp->gl_cap)
            hp->glist[hp->n_gl] = g;
        hp->n_gl++;
    }
}

/* The master's progress for helpers that have not joined the window; returns 1 once every
 * helper has (then it is not kept any more). */
static int par_progress(struct cgp_par *par, uint32_t k)
{
    atomic_store_explicit(&par->progress, k, memory_order_relaxed);
    int all = 1;
    for (int h = 1; h < par->n; h++)
        all &= atomic_load_explicit(&par->share[h].joined, memory_order_relaxed) ||
               atomic_load_explicit(&par->share[h].out, memory_order_relaxed);
    return all;
}

static inline void par_swap(struct cgp_offspring *a, struct cgp_offspring *b)
{
    struct cgp_offspring x = *a;
    *a = *b;
    *b = x;
}

/* Thread t's part of a window (n_target: the pause target; strict, testing: every thread
 * does its own generations, the master waits for them). */
static void par_thread(struct cgp_evolver *ev, int t, int64_t n_target, int strict)
{
    struct cgp_par *par = ev->par;
    struct cgp_evolver *e = t ? par->rep[t] : ev;
    struct cgp_par_help *hp = &par->help[t];
    struct cgp_worker *w = &e->w[0];
    const int lambda = e->p.lambda;
    /* speculation needs the lazy path's record of what an offspring read */
    const int speculate = e->lazy_values && !ev->par_no_spec;
    if (t) {
        struct cgp_fitness fit = e->parent_fit; /* the master's, with its cost fields */
        cgp_evolver_reset_parent(e);
        e->parent_fit = fit;
    }
    const int64_t g0 = e->generation;
    uint32_t applied = 0; /* generations of the window e has applied */
    int steals = CGP_PAR_STEALS, slept = CGP_PAR_SLEEPS; /* credits (see their definitions) */
    double each = 0, last_each = 0; /* the master: its recent longest generation */
    int all_joined = 0; /* the master: every helper joined (progress is not kept) */
    unsigned own = 0;   /* generations this thread evaluated in the window */
    for (uint32_t k = par_next(par, t, 0);; k = par_next(par, t, k)) {
        if (t) {
            if (par_halted(par) || atomic_load_explicit(&par->share[t].out, memory_order_relaxed))
                break;
            /* generations the master took (this helper was late) are skipped; not joined yet
             * (the master does not wait for it unless strict), it starts at one it can reach
             * first */
            if (!strict && !atomic_load_explicit(&par->share[t].joined, memory_order_relaxed)) {
                const uint32_t pr = atomic_load_explicit(&par->progress, memory_order_relaxed);
                while (cgpc_seq_reached(pr + par->span, k))
                    k = par_next(par, t, k);
            }
            while (cgpc_seq_reached(atomic_load_explicit(&par_rec(par, k)->claim,
                                                         memory_order_relaxed), k))
                k = par_next(par, t, k);
        }
        int64_t d[3];
        int win = -1, have = 0, spec = 0, why = 0;
        if (applied + 1 == k || speculate) {
            spec = applied + 1 < k;
            /* one own evaluation in 8 is timed (a clock read costs ~40 ns here) */
            const int timed = (own++ & 7) == 0;
            const double t0 = timed ? cgpc_wtime() : 0;
            /* this generation's record line, taken for writing now (the claim then hits) */
            __builtin_prefetch(par_rec(par, k), 1);
            win = par_evaluate(e, hp, g0 + k - 1, spec ? par_rec(par, applied + 1) : NULL, d);
            if (timed) { /* the threads' speeds (par_pattern); the master's: its waits' bounds */
                const double dt = cgpc_wtime() - t0;
                hp->eval_s += dt;
                hp->eval_n++;
                if (!t)
                    each = par_decay_max(each, dt);
                /* stored when it changed: the line is the helpers' too */
                if (!t && (each > 1.25 * last_each || each < 0.8 * last_each)) {
                    atomic_store_explicit(&par->gen_seconds, each, memory_order_relaxed);
                    last_each = each;
                }
            }
            have = 1;
            if (spec && win >= 0) /* the records applied below draw into e->off */
                par_swap(&e->off[win], &hp->spare);
            if (spec && hp->n_gl) { /* the last speculation's marks cleared */
                if (hp->n_gl > hp->gl_cap)
                    memset(hp->gbits, 0, ((size_t)e->shape.n_genes / 64 + 1) * sizeof *hp->gbits);
                else
                    for (int q = 0; q < hp->n_gl; q++)
                        hp->gbits[hp->glist[q] >> 6] = 0;
                hp->n_gl = 0;
            }
        }
        int marked = 0; /* a neutral winner applied changed genes (gbits) */
        int early = 0;  /* record k published before the last record was applied (-1: it
                           could not be: the master took generation k over) */
        while (applied + 1 < k) { /* the records between, in order */
            const uint32_t j = applied + 1;
            const int h = par_owner(par, j);
            struct cgp_par_rec rec;
            int taken = 0; /* the master evaluated generation j itself */
            if (t) {
                if (!par_helper_wait(par, j, &slept, strict) || !par_read(par, j, &rec)) {
                    atomic_store_explicit(&par->share[t].out, 1, memory_order_relaxed);
                    return;
                }
            } else if (par_master_wait(par, j, h, each, strict, &steals)) {
                par_read(par, j, &rec); /* the master is never lapped */
                struct cgp_worker *wh = &ev->w[rec.by]; /* the helper's counts, once */
                wh->evaluations += rec.counts[0];
                wh->skipped += rec.counts[1];
                wh->node_evals += rec.counts[2];
            } else {
                int64_t dj[3];
                rec.win = par_evaluate(ev, hp, g0 + j - 1, NULL, dj);
                par_publish(par, j, 0, rec.win, &ev->off[rec.win < 0 ? 0 : rec.win].fit, dj);
                taken = 1;
            }
            if (rec.win >= 0 && !taken) {
                draw_positions(e, rec.win, rec.win + 1); /* e->generation: g0 + j - 1 */
                if (!e->off[rec.win].neutral) {
                    e->off[rec.win].fit = rec.fit;
                    /* as after evaluating generation j (one thread): the lists built, so
                     * take_winner lists the nodes to update as one thread does (the same
                     * node_evals count) */
                    if (e->lazy_values && e->incremental) {
                        w->n_applied = 0; /* worker 0 holds no offspring's changes */
                        worker_readers(e, w);
                    }
                }
            }
            /* the last record before generation k, a winner that leaves the circuit as it
             * is (or none): whether the speculation holds is known now, so record k is
             * published before the winner is applied (the other thread waits less) */
            if (have && spec && !why && j + 1 == k && !early &&
                (rec.win < 0 || e->off[rec.win].neutral)) {
                if (rec.win >= 0) {
                    const struct cgp_offspring *o = &e->off[rec.win];
                    position_genes(e, o->gene, o->n_mut, e->win_gene); /* take_winner's again */
                    par_mark(hp, e->win_gene, o->n_mut);
                    marked = 1;
                }
                why = marked ? par_spec_reads(hp, lambda) : 0;
                if (!why) {
                    early = par_claim(par, k) ? 1 : -1; /* -1: the master took k over */
                    if (early > 0)
                        par_publish(par, k, t, win, &hp->spare.fit, d); /* spare: the winner */
                }
            }
            const int improved = take_winner(e, rec.win);
            if (have && spec && !early) {
                if (e->win_active)
                    why = 1;
                par_mark(hp, e->win_gene, e->win_n);
                marked |= e->win_n > 0;
            }
            int stop = 0;
            if (t)
                e->generation++;
            else
                stop = generation_done(ev, improved, n_target, j);
            if (!t && !all_joined)
                all_joined = par_progress(par, j);
            if (e->win_active)
                worker_accept(e, w);
            applied = j;
            if (stop) {
                if (have) { /* the speculation is not committed: nor are its counts */
                    w->evaluations -= d[0];
                    w->skipped -= d[1];
                    w->node_evals -= d[2];
                }
                par_halt(par);
                return;
            }
        }
        if (have && spec && !why && marked && !early) /* did an offspring read a changed gene? */
            why = par_spec_reads(hp, lambda);
        if (have && spec)
            hp->n_spec[why]++;
        if (have && !why) {
            if (spec && win >= 0)
                par_swap(&e->off[win], &hp->spare);
        } else {
            if (have) { /* the speculation's counts are not the generation's */
                w->evaluations -= d[0];
                w->skipped -= d[1];
                w->node_evals -= d[2];
            }
            win = par_evaluate(e, hp, g0 + k - 1, NULL, d);
        }
        if (early < 0 || (!early && !par_claim(par, k))) /* the master took it over (this
                                                            helper was late) */
            continue;
        if (!early)
            par_publish(par, k, t, win, &e->off[win < 0 ? 0 : win].fit, d);
        if (t)
            atomic_store_explicit(&par->share[t].joined, 1, memory_order_relaxed);
        const int improved = take_winner(e, win);
        if (own % CGP_PAR_CREDIT == 0) {
            steals += steals < CGP_PAR_STEALS;
            slept += slept < CGP_PAR_SLEEPS;
        }
        int stop = 0;
        if (t) {
            e->generation++;
        } else {
            stop = generation_done(ev, improved, n_target, k);
            if (!all_joined)
                all_joined = par_progress(par, k);
        }
        if (e->win_active)
            worker_accept(e, w);
        applied = k;
        if (stop) {
            par_halt(par);
            return;
        }
    }
}

/* Run generations until select_and_check says stop; n is the pause target. */
static void run_generations(struct cgp_evolver *ev, int64_t n, int parallel)
{
    if (!parallel) {
        struct cgp_worker *w = &ev->w[0];
        ev->pre_serial = 1;
        for (int64_t done = 1;; done++) {
            evaluate_generation(ev, w, NULL, NULL, NULL);
            int stop = select_and_check(ev, n, done);
            if (ev->win_active) /* else nothing to do: worker 0's genes are the parent's */
                worker_accept(ev, w);
            if (stop) {
                ev->pre_serial = 0;
                return;
            }
        }
    }
    struct cgp_par *par = ev->par;
    for (int h = 1; h < par->n; h++) {
        par_sync(ev, par->rep[h]);
        atomic_store_explicit(&par->share[h].out, 0, memory_order_relaxed);
        atomic_store_explicit(&par->share[h].joined, 0, memory_order_relaxed);
    }
    par_pattern(par, ev->par_strict);
    for (int t = 0; t < par->n; t++) {
        par->help[t].eval_s = 0;
        par->help[t].eval_n = 0;
    }
    cgpc_seq_reset(&par->wake, 0);
    atomic_store_explicit(&par->halt, 0, memory_order_relaxed);
    atomic_store_explicit(&par->progress, 0, memory_order_relaxed);
    atomic_store_explicit(&par->gen_seconds, 0.0, memory_order_relaxed);
    for (uint32_t i = 0; i < CGP_PAR_RING; i++) {
        atomic_store_explicit(&par_rec(par, i)->claim, 0, memory_order_relaxed);
        atomic_store_explicit(&par_rec(par, i)->stamp, 0, memory_order_relaxed);
    }
    /* without OpenMP one thread runs the master alone (and n_workers is 1 anyway) */
    CGPC_OMP(parallel num_threads(par->n))
    {
        const int tid = cgpc_thread_id(), nt = cgpc_num_threads();
        const int strict = ev->par_strict && nt == par->n;
        if (tid == 0) {
            for (int h = nt; h < par->n; h++) /* not started: the master does theirs */
                atomic_store_explicit(&par->share[h].out, 1, memory_order_relaxed);
            par_thread(ev, 0, n, strict);
        } else if (tid < par->n) {
            par_thread(ev, tid, n, strict);
        }
    }
    for (int t = 0; t < par->n; t++)
        for (int c = 0; c < 3; c++) {
            ev->par_spec[c] += par->help[t].n_spec[c];
            par->help[t].n_spec[c] = 0;
        }
}

/* Sum of active-node x item evaluations over the workers. */
static int64_t node_evals_sum(const struct cgp_evolver *ev)
{
    int64_t s = 0;
    for (int i = 0; i < ev->n_workers; i++)
        s += ev->w[i].node_evals;
    return s;
}

int64_t cgp_evolver_advance(struct cgp_evolver *ev, int64_t n)
{
    if (n <= 0)
        return 0;
    int64_t start = ev->stage_gens;
    double t0 = cgpc_wtime();
    ev->stop = CGP_STOP_NONE;
    if (ev->n_workers == 1) {
        run_generations(ev, n, 0);
        goto out;
    }
    /* Choose by work, not by time: the threads are used for the next window only while the
     * last window's generations evaluated >= parallel_min_work active-node x item operations
     * each (0: always). Counting work does not depend on the machine's load and never changes
     * results. Helpers resynchronise at each window (a few generations' work each).
     * The default (params.h, 10^6) keeps the threads off for every case measured on this
     * 2-core machine (2026-12-01, forced threads vs one thread, alternating repeats, medians):
     * 256x31, 16 items (~5,000 operations per generation): 1.19x with both cores reserved
     * (chrt -f 1, 3 repeats) but 0.88x under load 4 (7 repeats), which the "never > 5 %
     * slower" rule forbids; 1 item 0.74x reserved; 4,096 items (~45,000) 0.97-1.24x. The
     * generation pipeline (session 24: ~620 operations per 16-item generation with the
     * incremental evaluation) measured 1.40x in steady windows and 1.18-1.26x over whole runs
     * reserved, but anything from 0.5x to 1.5x unreserved at load 10 (ARCHITECTURE.md). */
    /* The decision carries over from the last call (a caller pausing every 0.25 s would
     * otherwise start each call with a window on one thread, and generations long enough for
     * threads never finish a window between pauses), and a window cut short still decides. */
    const int64_t window = 1024; /* parallel windows: 16 times longer (each starts the threads) */
    for (;;) {
        int parallel = ev->p.parallel_min_work <= 0 || ev->par_on;
        int64_t left = n - (ev->stage_gens - start);
        const int64_t win = parallel ? 16 * window : window;
        int64_t g0 = ev->stage_gens, e0 = node_evals_sum(ev), want = left < win ? left : win;
        run_generations(ev, want, parallel);
        int64_t done = ev->stage_gens - g0;
        if (parallel)
            ev->parallel_generations += done;
        if (done > 0)
            ev->par_on = (node_evals_sum(ev) - e0) / done >= ev->p.parallel_min_work;
        /* a pause before the window's end is pause_at's: return to the caller */
        if (ev->stop != CGP_STOP_PAUSE || done < want || ev->stage_gens - start >= n)
            break;
        ev->stop = CGP_STOP_NONE;
    }
out:
    ev->search_seconds += cgpc_wtime() - t0;
    return ev->stage_gens - start;
}

const struct cgp_genome *cgp_evolver_parent(const struct cgp_evolver *ev) { return &ev->parent; }
const struct cgp_fitness *cgp_evolver_fitness(const struct cgp_evolver *ev)
{
    return &ev->parent_fit;
}

void cgp_evolver_totals(const struct cgp_evolver *ev, struct cgp_totals *out)
{
    memset(out, 0, sizeof *out);
    out->generations = ev->generations_total;
    out->seconds = ev->search_seconds;
    out->parallel_generations = ev->parallel_generations;
    for (int i = 0; i < ev->n_workers; i++) {
        out->evaluations += ev->w[i].evaluations;
        out->skipped += ev->w[i].skipped;
        out->node_evals += ev->w[i].node_evals;
    }
}

char *cgp_evolver_circuit_string(struct cgp_evolver *ev)
{
    /* the depth-first order: the token lists nodes as cgp_decode_active meets them */
    cgp_scratch_decode(&ev->psc, &ev->shape, ev->parent.genes);
    return cgp_circuit_token(&ev->parent, ev->psc.order, ev->psc.n_active);
}
