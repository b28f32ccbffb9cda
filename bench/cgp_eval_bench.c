/* cgp_eval_bench.c - evaluator microbenchmark: nodes and node x item operations per second on
 * one core, for every instruction-set path this CPU runs (src/cgp/eval.c), on random circuits
 * over the thesis's 27 operators, at 1, 6, 16, 32, 64 and 256 items; and the error sum.
 * Two node lists per item count:
 *   grid    every node of a 16 x 64 grid (levels-back 64, 9 inputs): long lists, peak lanes;
 *   active  the active nodes (ascending) of a random 256 x 31 grid (levels-back 31, 9 inputs,
 *           16 outputs), the evolver's case: ~60-150 nodes per call, so per-call and
 *           per-node costs dominate at small item counts.
 * Each timed call first sets one listed node's operator to a random one: offspring differ a
 * little from call to call, and a kernel must not be timed on a list the branch predictor
 * knows by heart (dispatch by an indirect jump per node looked 2x faster that way and was no
 * faster, or slower, in the evolver).
 * Before timing, each path's node rows (and error sums) are checked equal to the portable C
 * path's. Built by `make build/release/bench/cgp_eval_bench`; run by bench/cgp.sh.
 * Usage: cgp_eval_bench [SECONDS_PER_CASE] (default 0.3). Prints per path, list and item count
 * "eval <path> <list> items <D> <G> G node-item-ops/s <M> M nodes/s per CPU second (wall ...)"
 * and per path and item count "error <path> items <D> outputs 16 <se|ae> <ns> ns per call".
 * Exit 1 on a mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgp/cgp.h"
#include "common/parallel.h"

/* Seconds of CPU time this thread has used: the machine may be shared, and "per core" means
 * per second the core actually ran this thread. */
static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct circuit {
    const char *name;
    struct cgp_shape s;
    struct cgp_genome g;
    int32_t *order;
    int n;
};

static int circuit_make(struct circuit *c, const char *name, int rows, int cols, int lb,
                        int all_nodes, uint64_t seed)
{
    struct cgp_fset f;
    int32_t ops[CGPC_OP_THESIS_COUNT];
    for (int i = 0; i < CGPC_OP_THESIS_COUNT; i++)
        ops[i] = i;
    cgp_fset_make(&f, ops, CGPC_OP_THESIS_COUNT);
    c->name = name;
    cgp_shape_make(&c->s, rows, cols, lb, 9, 16, 2);
    if (cgp_genome_init(&c->g, &c->s, &f, NULL) != CGPC_OK)
        return -1;
    cgpc_rng r;
    cgpc_rng_seed(&r, seed, 2, 3);
    cgp_genome_randomize(&c->g, &r);
    c->order = malloc((size_t)c->s.n_nodes * sizeof *c->order);
    uint64_t *bits = calloc((size_t)c->s.n_nodes / 64 + 1, sizeof *bits);
    uint64_t *top = calloc((size_t)c->s.n_nodes / 4096 + 1, sizeof *top);
    if (!c->order || !bits || !top)
        return -1;
    if (all_nodes) {
        for (int k = 0; k < c->s.n_nodes; k++)
            c->order[k] = k;
        c->n = c->s.n_nodes;
    } else {
        c->n = cgp_decode_active_sweep(&c->s, c->g.genes, bits, top, c->order, NULL, NULL, NULL);
    }
    free(bits);
    free(top);
    return 0;
}

/* Node rows of one circuit at D items, every path against the portable C one, then timed. */
static int bench_eval(const struct circuit *c, int D, double seconds, cgpc_rng *r)
{
    const struct cgp_shape *s = &c->s;
    int stride = D >= 16 ? (D + CGP_LANES - 1) / CGP_LANES * CGP_LANES : D; /* as data sets */
    size_t rows = (size_t)(s->n_inputs + s->n_nodes) * stride;
    int8_t *v = aligned_alloc(64, rows + 64), *ref = aligned_alloc(64, rows + 64);
    if (!v || !ref)
        return 1;
    for (size_t i = 0; i < rows + 64; i++)
        v[i] = (int8_t)cgpc_rng_u64(r);
    memcpy(ref, v, rows + 64);
    int status = 0;
    cgp_eval_active_isa(CGP_ISA_SCALAR, s, c->g.genes, c->order, c->n, D, stride, ref);
    for (int isa = CGP_ISA_COUNT - 1; isa >= 0; isa--) {
        if (!cgp_isa_supported((enum cgp_isa)isa))
            continue;
        cgp_eval_active_isa((enum cgp_isa)isa, s, c->g.genes, c->order, c->n, D, stride, v);
        for (int i = 0; i < c->n; i++) {
            size_t at = (size_t)(s->n_inputs + c->order[i]) * stride;
            if (memcmp(v + at, ref + at, (size_t)D) != 0) {
                fprintf(stderr, "eval %s %s items %d: node %d differs from the scalar path\n",
                        cgp_isa_name((enum cgp_isa)isa), c->name, D, c->order[i]);
                status = 1;
                break;
            }
        }
        /* Each call first sets one listed node's operator to a random one (see the top). */
        int32_t *genes = c->g.genes;
        const int A1 = s->node_arity + 1;
        int32_t *saved = malloc((size_t)s->n_genes * sizeof *saved);
        if (!saved)
            return 1;
        memcpy(saved, genes, (size_t)s->n_genes * sizeof *saved);
        uint64_t x = 88172645463325252ull;
        int64_t reps = 0;
        double t0 = thread_seconds(), w0 = cgpc_wtime(), el;
        do {
            for (int i = 0; i < 16; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                genes[(size_t)c->order[(x >> 8) % (uint64_t)c->n] * A1 + A1 - 1] =
                    (int32_t)((x >> 40) % CGPC_OP_THESIS_COUNT);
                cgp_eval_active_isa((enum cgp_isa)isa, s, genes, c->order, c->n, D, stride, v);
            }
            reps += 16;
        } while ((el = thread_seconds() - t0) < seconds);
        memcpy(genes, saved, (size_t)s->n_genes * sizeof *saved);
        free(saved);
        double nodes = (double)reps * c->n / el;
        printf("eval %-6s %-6s items %4d %7.2f G node-item-ops/s %8.1f M nodes/s per CPU second "
               "(wall: %.2f G/s)\n", cgp_isa_name((enum cgp_isa)isa), c->name, D,
               nodes * D * 1e-9, nodes * 1e-6,
               (double)reps * c->n * D * 1e-9 / (cgpc_wtime() - w0));
    }
    free(v);
    free(ref);
    return status;
}

/* The error sum of the active circuit's 16 outputs at D items, SE and AE, every path. */
static int bench_error(const struct circuit *c, int D, double seconds, cgpc_rng *r)
{
    const struct cgp_shape *s = &c->s;
    struct cgp_dataset ds;
    if (cgp_dataset_init(&ds, s->n_inputs, s->n_outputs, D, NULL) != CGPC_OK)
        return 1;
    for (int o = 0; o < s->n_outputs; o++)
        for (int d = 0; d < D; d++)
            ds.target[(size_t)o * ds.stride + d] = (int8_t)cgpc_rng_u64(r);
    size_t rows = (size_t)(s->n_inputs + s->n_nodes) * ds.stride;
    int8_t *v = malloc(rows);
    if (!v)
        return 1;
    for (size_t i = 0; i < rows; i++)
        v[i] = (int8_t)cgpc_rng_u64(r);
    int status = 0;
    for (int kind = CGP_ERROR_SE; kind <= CGP_ERROR_AE; kind += CGP_ERROR_AE - CGP_ERROR_SE) {
        int64_t want = cgp_error_sum_isa(CGP_ISA_SCALAR, s, c->g.genes, v, &ds,
                                         (enum cgp_error_kind)kind);
        for (int isa = CGP_ISA_COUNT - 1; isa >= 0; isa--) {
            if (!cgp_isa_supported((enum cgp_isa)isa))
                continue;
            int64_t sum = 0, reps = 0;
            double t0 = thread_seconds(), el;
            do {
                for (int i = 0; i < 256; i++)
                    sum += cgp_error_sum_isa((enum cgp_isa)isa, s, c->g.genes, v, &ds,
                                             (enum cgp_error_kind)kind);
                reps += 256;
            } while ((el = thread_seconds() - t0) < seconds);
            if (sum != want * reps) {
                fprintf(stderr, "error %s items %d: differs from the scalar path\n",
                        cgp_isa_name((enum cgp_isa)isa), D);
                status = 1;
            }
            printf("error %-6s items %4d outputs %d %s %7.1f ns per call\n",
                   cgp_isa_name((enum cgp_isa)isa), D, s->n_outputs,
                   kind == CGP_ERROR_AE ? "ae" : "se", el * 1e9 / (double)reps);
        }
    }
    free(v);
    cgp_dataset_free(&ds);
    return status;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    const int items[] = {1, 6, 16, 32, 64, 256};
    struct circuit grid, act;
    if (circuit_make(&grid, "grid", 16, 64, 64, 1, 1) != 0 ||
        circuit_make(&act, "active", 256, 31, 31, 0, 1) != 0)
        return 1;
    printf("eval: grid %d nodes, active %d nodes (of %d)\n", grid.n, act.n, act.s.n_nodes);
    cgpc_rng r;
    cgpc_rng_seed(&r, 1, 2, 3);
    int status = 0;
    for (size_t t = 0; t < sizeof items / sizeof *items; t++) {
        status |= bench_eval(&act, items[t], seconds, &r);
        status |= bench_eval(&grid, items[t], seconds, &r);
    }
    for (size_t t = 0; t < sizeof items / sizeof *items; t++)
        if (items[t] == 1 || items[t] == 16 || items[t] == 64)
            status |= bench_error(&act, items[t], seconds / 2, &r);
    for (int i = 0; i < 2; i++) {
        struct circuit *c = i ? &act : &grid;
        free(c->order);
        cgp_genome_free(&c->g);
    }
    return status;
}
