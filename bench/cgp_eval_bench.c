/* cgp_eval_bench.c - evaluator microbenchmark: node x item operations per second on one core,
 * for every instruction-set path this CPU runs (src/cgp/eval.c), on random circuits over the
 * thesis's 27 operators. Every node of a 16 x 64 grid (levels-back 64, 9 inputs) is evaluated,
 * so the count is exact; before timing, each path's node rows are checked equal to the portable
 * C path's. Built by `make build/release/bench/cgp_eval_bench`; run by bench/cgp.sh.
 * Usage: cgp_eval_bench [SECONDS_PER_CASE] (default 0.3). Prints one line per path and item
 * count: "eval <path> items <D> <G> G node-item-ops/s <M> M nodes/s per CPU second (wall: ...)". Exit 1 on a mismatch. */
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

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    const int items[] = {16, 32, 64, 256};
    struct cgp_shape s;
    struct cgp_fset f;
    int32_t ops[CGPC_OP_THESIS_COUNT];
    for (int i = 0; i < CGPC_OP_THESIS_COUNT; i++)
        ops[i] = i;
    cgp_fset_make(&f, ops, CGPC_OP_THESIS_COUNT);
    cgp_shape_make(&s, 16, 64, 64, 9, 16, 2);
    struct cgp_genome g;
    if (cgp_genome_init(&g, &s, &f, NULL) != CGPC_OK)
        return 1;
    cgpc_rng r;
    cgpc_rng_seed(&r, 1, 2, 3);
    cgp_genome_randomize(&g, &r);
    int32_t *order = malloc((size_t)s.n_nodes * sizeof *order);
    for (int k = 0; k < s.n_nodes; k++)
        order[k] = k;
    int status = 0;
    for (size_t t = 0; t < sizeof items / sizeof *items; t++) {
        int D = items[t], stride = (D + CGP_LANES - 1) / CGP_LANES * CGP_LANES; /* as data sets */
        size_t rows = (size_t)(s.n_inputs + s.n_nodes) * stride;
        int8_t *v = aligned_alloc(64, rows + 64), *ref = aligned_alloc(64, rows + 64);
        if (!v || !ref)
            return 1;
        for (size_t i = 0; i < rows + 64; i++)
            v[i] = (int8_t)cgpc_rng_u64(&r);
        memcpy(ref, v, rows + 64);
        cgp_eval_active_isa(CGP_ISA_SCALAR, &s, g.genes, order, s.n_nodes, D, stride, ref);
        for (int isa = CGP_ISA_COUNT - 1; isa >= 0; isa--) {
            if (!cgp_isa_supported((enum cgp_isa)isa))
                continue;
            cgp_eval_active_isa((enum cgp_isa)isa, &s, g.genes, order, s.n_nodes, D, stride, v);
            for (int k = 0; k < s.n_nodes; k++)
                if (memcmp(v + (size_t)(s.n_inputs + k) * stride,
                           ref + (size_t)(s.n_inputs + k) * stride, (size_t)D) != 0) {
                    fprintf(stderr, "eval %s items %d: node %d differs from the scalar path\n",
                            cgp_isa_name((enum cgp_isa)isa), D, k);
                    status = 1;
                    break;
                }
            int64_t reps = 0;
            double t0 = thread_seconds(), w0 = cgpc_wtime(), el;
            do {
                for (int i = 0; i < 16; i++)
                    cgp_eval_active_isa((enum cgp_isa)isa, &s, g.genes, order, s.n_nodes, D,
                                        stride, v);
                reps += 16;
            } while ((el = thread_seconds() - t0) < seconds);
            double nodes = (double)reps * s.n_nodes / el;
            printf("eval %-6s items %4d %7.2f G node-item-ops/s %8.1f M nodes/s per CPU second "
                   "(wall: %.2f G/s)\n", cgp_isa_name((enum cgp_isa)isa), D, nodes * D * 1e-9,
                   nodes * 1e-6, (double)reps * s.n_nodes * D * 1e-9 / (cgpc_wtime() - w0));
        }
        free(v);
        free(ref);
    }
    free(order);
    cgp_genome_free(&g);
    return status;
}
