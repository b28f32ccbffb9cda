/* evolver_internal.h - the search state shared by evolver.c (the (1+lambda) loop) and run.c
 * (files, checkpoints, runs and thresholds). Not part of the public API. */
#ifndef CGPC_CGP_EVOLVER_INTERNAL_H
#define CGPC_CGP_EVOLVER_INTERNAL_H

#include "cgp/cgp.h"

enum cgp_stop {
    CGP_STOP_NONE = 0,
    CGP_STOP_BUDGET,    /* generations of the stage done */
    CGP_STOP_PATIENCE,  /* no improvement for patience generations */
    CGP_STOP_TIME,      /* time limit of the stage */
    CGP_STOP_PAUSE,     /* pause_at reached: the caller checkpoints / reports, then continues */
    CGP_STOP_SIGNAL,    /* *cb->stop was set */
    CGP_STOP_AFTER      /* params.stop_after reached (testing hook) */
};

/* One offspring: the parent plus n_mut (gene, value) mutations. */
struct cgp_offspring {
    int n_mut;
    int32_t *gene; /* the position draws r (not genes): mutation m changes gene
                      cgp_position_gene(ev, gene[m]) */
    int32_t *val;
    int32_t *hit;  /* the mutations (indices m, ascending) of genes the parent uses
                      (gene[m] < n_used: gene ev->used[gene[m]]) */
    int n_hit;
    int neutral; /* 1: no active gene touched (n_hit == 0), fitness is the parent's */
    int has_vals; /* values drawn (neutral offspring draw them only when accepted) */
    struct cgp_fitness fit;
};

/* One worker thread: a private copy of the parent, undo buffer, scratch, counters. */
struct cgp_worker {
    int32_t *genes;
    int32_t *old;        /* undo values, max_mut */
    int32_t *applied;    /* genes changed (lazy path), max_mut */
    int n_applied;
    uint64_t *pending;   /* n_genes: pmark << 32 | m: mutation m of a gene the parent uses was
                            deferred; pmark << 32 | 0xFFFFFFFF: the last mutation of a gene it
                            does not use is applied (any other high half: nothing) */
    uint32_t pmark;      /* this offspring's stamp (never 0; the array is cleared on wrap) */
    const int32_t *mut_gene; /* the offspring's position draws (struct cgp_offspring), mut_n */
    int mut_n;
    int n_deferred;      /* mutations of used genes deferred (pending) so far: while 0, a used
                            gene has nothing pending and pending is not read */
    int scan_simd;       /* find a gene's last mutation sixteen entries per compare */
    uint64_t value_key;  /* key of the offspring being resolved */
    uint64_t *bits, *top; /* cgp_decode_active_sweep's marks: n_nodes bits, one bit per word */
    /* Incremental active set: the parent's reader counts and active list (kept equal to
     * ev->rc / ev->act between offspring), changed by an offspring's mutations and restored. */
    int32_t *rc;         /* n_nodes: readers of each node (used inputs of active nodes, outputs) */
    int32_t *act;        /* n_nodes: the parent's active nodes, ascending */
    int n_act;
    int32_t *born;       /* nodes not active in the parent that the offspring activated */
    int n_born;
    int n_died;          /* reader counts that fell to 0 (nodes the offspring deactivated) */
    const int32_t *ord;  /* the offspring's active nodes, ascending: act when its active set is
                            the parent's, else sc.order once offspring_order built it (NULL
                            before: most offspring need only n_ord) */
    int n_ord;
    uint32_t *seen;      /* n_nodes: == mark when rc was saved */
    uint32_t *born_seen; /* n_nodes: == mark when the node is in born (or dead: a node the
                            parent has active) */
    uint32_t mark;
    int32_t *saved_node, *saved_rc; /* rc values before the offspring, to restore */
    int n_saved;
    int32_t *stack;      /* reader-count cascade: node * 2 + (1 = decrement) */
    /* Incremental evaluation: sc.values holds the parent's values of every node the parent
     * uses; an offspring evaluates only the nodes it changed or activated and those that read
     * them (dirty), saving the parent's rows in undo and restoring them afterwards. */
    uint32_t *dmark;     /* n_nodes: == dstamp when the node is dirty */
    uint32_t dstamp;
    int32_t *dlist;      /* n_nodes: the dirty nodes, ascending */
    int8_t *undo;        /* n_nodes x stride: the parent's rows of the dirty nodes */
    const struct cgp_evolver *ev;
    struct cgp_scratch sc;
    int64_t evaluations, skipped, node_evals;
    int32_t *dead;       /* n_nodes: the parent's active nodes the offspring deactivated
                            (once each; after offspring_active: those still inactive,
                            ascending) */
    int n_dead;
    char pad[64]; /* keep counters of different workers on different cache lines */
    /* Incremental evaluation's reader lists of the parent (act): the active readers of act[i]
     * are act[rlist[j]] for rstart[i] <= j < rstart[i + 1]; apos[k] = i where act[i] == k
     * (valid only where it says so: never cleared); rebuilt after the active list changes. */
    int32_t *apos, *rstart, *rlist; /* n_nodes, n_nodes + 9, A x n_nodes + 1 */
    uint64_t *abits;     /* n_nodes bits: dirty indices into act (0 between offspring) */
    int readers_ok;      /* the lists are act's */
    int32_t *fin;        /* max_mut: an offspring's gene values while its changes are taken out */
    /* The same as transitive closures while the parent has at most clos_cap active nodes:
     * row i (clos_words words at clos + i * clos_words) has bit q set for every act[q] that
     * reads act[i], directly or through other active nodes, and bit i itself; an offspring's
     * dirty nodes are the OR of its changed nodes' rows (no walk). */
    uint64_t *clos;      /* clos_cap x (clos_cap / 64 rounded up) words */
    int clos_cap;        /* 0: the lists above are used */
    int clos_words;      /* (n_act + 63) / 64 of the rows built; 0: the reader lists are built */
    /* Deaths deferred (incremental evaluation): offspring_active carries on only the reader
     * counts' increments (what the evaluation needs: the nodes the offspring activates) and
     * lists the sources that lost a reader here; offspring_deaths carries those on only when
     * the exact active set is needed (the costs of an offspring within the limit). Until then
     * the counts are those of a superset of the active nodes (no parent's node reaches 0) and
     * n_ord is -1. */
    int32_t *pdec;       /* max_mut x arity */
    int n_pdec;
    /* A helper's speculative evaluation (evolver.c, threads): when rd is set, worker_gene lists
     * in rd[0..n_rd) (up to rd_cap; n_rd counts on) every gene the offspring read from the
     * parent that the parent's circuit does not use (its value is the parent's, not a
     * mutation's). */
    int32_t *rd;
    int n_rd, rd_cap;
    int32_t *seed;       /* max_mut: the parent's nodes whose genes offspring_active changed
                            (deaths deferred: all still active), the incremental evaluation's
                            starting points; n_seed of them */
    int n_seed;
    /* The error from per-output terms (use_terms: more than one item, at most 64 outputs;
     * while the closure rows are in use): an offspring's error is the parent's less the terms
     * of the outputs it reaches plus their new terms. Built with the rows. */
    int use_terms;
    uint64_t *omask;     /* clos_cap: the outputs (bit o) whose node is act[i] or reads it */
    int64_t *term;       /* n_outputs: the parent's terms; term_sum their sum */
    int64_t term_sum;
    int64_t *nterm;      /* n_outputs: an offspring's new terms of outs[0..) */
    int32_t *outs;       /* n_outputs */
    uint64_t out_hit;    /* the outputs whose gene the offspring changed */
    int32_t *hgene, *hval; /* max_mut: offspring_active's hits' genes and new values */
    /* One item and values rows of at most 512 bytes (NULL otherwise): evaluate_changed copies
     * the parent's values (shadow_bytes, whole 64-byte vectors) here and evaluates the
     * offspring in the copy, instead of saving and restoring the dirty rows (undo). */
    int8_t *shadow;
    size_t shadow_bytes;
};

/* Precomputed per-node source ranges so a mutation's new value costs one bounded draw:
 * an input gene of node k takes r = scale(u, n_src) and means input r when r < n_prim, else
 * source back0 + r - n_prim. Same results as cgp_gene_value. One packed record per
 * node (one cache line fetch per draw). */
struct cgp_node_src {
    uint32_t n_src;
    int32_t n_prim;
    int32_t back0;
};
struct cgp_mutator {
    struct cgp_node_src *node; /* n_nodes */
    uint32_t node_magic;       /* gene / (arity + 1) = gene * node_magic >> 32 for every node
                                  gene; 0: the vector path is off (genome too large) */
    uint32_t row_magic;        /* node / rows = node * row_magic >> 32 for every node; 0: the
                                  vector path is off (too large, or one row) */
};
/* Same result as cgp_gene_value(s, f, gene, u), from the tables. */
int32_t cgp_mutator_value(const struct cgp_mutator *mu, const struct cgp_shape *s,
                          const struct cgp_fset *f, int gene, uint32_t u);
/* The 64-bit hash of counter j under key: splitmix64's output function on key ^ j * C. */
static inline uint64_t cgp_counter_hash(uint64_t key, uint64_t j)
{
    uint64_t st = key ^ (j * 0xD1B54A32D192ED03ull);
    return cgpc_splitmix64(&st);
}
/* The uniform 32-bit draw of mutation m under key: a counter-based hash, any m alone; the low
 * (m even) or high (m odd) half of the hash of counter m / 2. */
static inline uint32_t cgp_mutation_u(uint64_t key, int m)
{
    uint64_t z = cgp_counter_hash(key, (uint64_t)m >> 1);
    return (uint32_t)(m & 1 ? z >> 32 : z);
}
/* What drawing an offspring's mutation positions needs (cgp_mutation_positions). */
struct cgp_positions {
    uint32_t n_genes, max_mut;
    uint32_t n_used; /* the genes the parent uses: draws r < n_used are theirs (hits) */
};
/* One offspring's mutation count (returned, 1..max_mut) and position draws gene[0..n) under
 * key: counter-based, draw m from the hash of counter 1 + m / 2 (see evolver.c), uniform in
 * 0..n_genes-1 (the gene is the draw relabelled by the parent's used genes: evolver.c's
 * cgp_position_gene); hit[0..*n_hit) the m whose draw is < n_used (a gene the parent uses),
 * ascending. gene and hit hold max_mut + 16 entries. simd 1: sixteen at a time with AVX-512
 * (F+DQ) where the CPU has it (the same numbers; tested). */
int cgp_mutation_positions(const struct cgp_positions *pp, uint64_t key, int32_t *gene,
                           int32_t *hit, int *n_hit, int simd);
/* val[m] = cgp_mutator_value(gene[m], cgp_mutation_u(key, m)) for m < n; simd 1: sixteen at
 * a time with AVX-512 (F+DQ) where the CPU has it (the same values; tested). */
void cgp_mutator_values(const struct cgp_mutator *mu, const struct cgp_shape *s,
                        const struct cgp_fset *f, uint64_t key, const int32_t *gene, int n,
                        int32_t *val, int simd);

struct cgp_evolver {
    struct cgp_params p;
    const struct cgp_dataset *ds;
    const struct energy_gate_table *t;
    struct cgp_shape shape;
    struct cgp_fset fset;
    int64_t cared; /* MSE divisor */

    struct cgp_genome parent;
    struct cgp_fitness parent_fit;
    struct cgp_scratch psc;  /* the parent's values; psc.order: its depth-first decode, made
                                for cgp_evolver_circuit_string */
    uint8_t *active_gene;    /* n_genes (+ 64 zero bytes): 1 if the gene is used by the
                                parent's phenotype */
    uint32_t *active_bits;   /* the same, a bit per gene (gene g: bit g % 32 of word g / 32) */
    int32_t *used;           /* n_genes: the genes the parent uses, ascending; pos.n_used */
    int32_t *pmap;           /* n_genes: the relabelling's pairs (cgp_position_gene): for a used
                                gene >= n_used its unused partner < n_used, and back */
    int32_t *rc;             /* n_nodes + 8: the parent's reader counts (see struct cgp_worker;
                                [n_nodes..]: scratch of mark_active) */
    int32_t *act;            /* the parent's active nodes, ascending; n_act of them */
    uint64_t *act_bits;      /* n_nodes / 64 + 1: bit k % 64 of word k / 64: node k is in act */
    int32_t *act_rank;       /* n_nodes / 64 + 1: act's nodes below node 64 * b (act_rank()) */
    int n_act;
    int win_active;          /* the last accepted offspring changed the active set */

    int n_workers;
    struct cgp_worker *w;
    int max_mut;
    struct cgp_positions pos; /* position draws: n_genes, max_mut, n_used */
    int simd_pos;           /* draw positions sixteen at a time (cgp_mutation_positions) and
                               scan mutation lists sixteen entries per compare */
    int isa_dq;             /* the CPU runs the AVX-512 (F+DQ) paths and CGPC_ISA allows them */
    int simd_values;        /* draw a winner's values 8 at a time (cgp_mutator_values) */
    struct cgp_mutator mu;
    int lazy_values;        /* 1 (default): draw an evaluated offspring's values only for the
                               genes its decoding reads, and evaluate only the nodes that
                               changed (incremental); 0: draw and apply all, decode and
                               evaluate every active node (the reference) */
    int incremental;        /* (lazy path) evaluate only the nodes an offspring changes */
    struct cgp_offspring *off; /* lambda */
    int32_t *win_gene, *win_val; /* the accepted offspring's mutations, for the workers */
    int win_n;

    /* where the search is */
    int run, stage;
    uint64_t run_seed;
    double threshold;
    int64_t limit;          /* err_sum limit for the threshold */
    int bound;              /* fitness bits: the residual bound e (the threshold per weight) */
    int64_t generation;     /* generations done in this run (all stages) */
    int64_t stage_gens;     /* generations done in this stage */
    int64_t since_improve;
    double stage_t0;        /* wall time the stage (re)started minus seconds already spent */
    double run_t0;
    double pause_at;        /* wall time to pause at (0 = never) */
    enum cgp_stop stop;
    const struct cgp_callbacks *cb;
    const volatile sig_atomic_t *abort; /* when set nonzero (another run failed): stop as on
                                           a signal; may be NULL */

    /* called (from one thread) after every strict improvement of the parent */
    void (*on_improve)(struct cgp_evolver *ev, void *user);
    void *hook_user;
    int hook_failed; /* set by on_improve on an error: the search stops (CGP_STOP_SIGNAL) */

    int64_t generations_total;
    int64_t parallel_generations; /* generations run on several threads */
    double search_seconds;

    struct cgp_par *par; /* n_workers > 1: the helper threads' replicas and exchange (evolver.c) */
    int par_strict;      /* testing: helpers evaluate every offspring of their share (the master
                            waits for them), so the threaded path is always taken */
    int par_on;          /* the last window's work per generation called for the threads */
    int par_no_spec;     /* testing: helpers never speculate (evaluate a generation's share
                            only after the record before it) */
    int64_t par_spec[3]; /* helpers' speculative evaluations: used, evaluated again after a
                            winner that changed the circuit, after one that changed a gene
                            they read (summed at each window's end) */
    int values_vec;      /* the mutator's vector path may be taken (cgp_mutator_values) */
    int32_t ops32[32];   /* fset.ops zero-padded to 32: the vector path's operator table */
    uint64_t gen_key;    /* cgpc_hash3_ab(gen_key_seed, gen_key_for): the keys' first rounds */
    int64_t gen_key_for; /* the generation gen_key is for (-1: none) */
    uint64_t gen_key_seed; /* the run seed gen_key is for */
    int64_t clock_mask;  /* select_and_check reads the clock when (generation & mask) == 0 */
    double clock_last;   /* when it last did */
    int32_t *eval_idx;   /* lambda: the offspring of a generation that are evaluated (serial) */
    int win_nd;          /* >= 0: take_winner listed the nodes whose values the winner changes
                            in w[0].dlist (that many) for worker_accept; -1: not */
    int win_keep;        /* take_winner: the winner kept the active nodes and their arities (1),
                            and changed only operators (2: worker 0's reader lists and closure
                            rows stay); 0: not */
    /* The serial loop's position draws of generation pre_gen (run seed pre_seed, stage
     * pre_stage), made during the generation before (draw_positions_serial): offspring 2q and
     * 2q + 1's sixteen draws at pre_draw + 16 q (64-byte aligned), their mutation counts in
     * pre_n. NULL: not used (two offspring do not share a hash vector, or no AVX-512). */
    uint32_t *pre_draw;
    int *pre_n;
    int64_t pre_gen;
    uint64_t pre_seed;
    int pre_stage;
    uint64_t pre_key;     /* cgpc_hash3_ab(pre_seed, pre_gen): gen_key then */
    int pre_serial;       /* the serial loop runs (evaluate_generation draws ahead only then:
                             a thread of the pipeline takes every n-th generation) */
};

/* The gene of position draw r (0 <= r < genes) under the parent's relabelling: used[r] below
 * n_used (a gene the parent uses), else r itself if the parent does not use it, else r's
 * unused partner below n_used (ev->pmap). A bijection of 0..genes-1 fixed for the generation, so
 * uniform independent draws give uniform independent genes (evolver.c, positions_scalar). */
static inline int32_t cgp_position_gene(const struct cgp_evolver *ev, int32_t r)
{
    if ((uint32_t)r < ev->pos.n_used)
        return ev->used[r];
    return ev->active_bits[r >> 5] >> (r & 31) & 1 ? ev->pmap[r] : r;
}

/* The draw whose gene is g, for a gene g the parent does not use (cgp_position_gene's
 * inverse). */
static inline int32_t cgp_unused_gene_draw(const struct cgp_evolver *ev, int32_t g)
{
    return (uint32_t)g < ev->pos.n_used ? ev->pmap[g] : g;
}

/* cgp_evolver_init with `workers` threads for the offspring of a generation (<= 0: all,
 * cgpc_max_threads(); never more than lambda). */
cgpc_status cgp_evolver_init_workers(struct cgp_evolver **ev, const struct cgp_params *p,
                                     const struct cgp_dataset *ds,
                                     const struct energy_gate_table *t, int workers,
                                     struct cgpc_err *err);
/* Evaluate the parent (after its genes changed wholesale) and rebuild the active bitmap. */
void cgp_evolver_reset_parent(struct cgp_evolver *ev);
/* Fill parent_fit's cost fields if missing. */
void cgp_evolver_cost_parent(struct cgp_evolver *ev);
/* The parent's active circuit as one line "n5=add(i0,i1);n9=shr1(n5);out=n9,i2"; malloc'ed. */
char *cgp_evolver_circuit_string(struct cgp_evolver *ev);
/* Set the stage's threshold (limit) and start its clock. */
void cgp_evolver_set_threshold(struct cgp_evolver *ev, double threshold);

#endif
