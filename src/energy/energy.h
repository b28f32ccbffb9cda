/* energy.h - the energy / delay / area model of circuit gates, memory reads and inference.
 *
 * Costs are real numbers in physical units (pJ per evaluation, ns, um^2) for an 8-bit datapath
 * in 45 nm, comparable across grid sizes. The gate table is indexed by enum cgpc_op
 * (src/common/ops.h), so src/cgp looks costs up by operator without string compares.
 *
 * Ownership: tables are plain structs the caller owns (no heap); circuit accounting is a pure
 * function over flat arrays with caller-provided scratch, cheap enough for the CGP hot loop. */
#ifndef CGPC_ENERGY_H
#define CGPC_ENERGY_H

#include <stdint.h>

#include "common/error.h"
#include "common/ops.h"

struct energy_gate_cost {
    double energy_pj; /* energy of one evaluation, pJ */
    double delay_ns;  /* input-to-output propagation delay, ns */
    double area_um2;  /* silicon area, um^2 */
};

struct energy_gate_table {
    struct energy_gate_cost op[CGPC_OP_COUNT]; /* indexed by enum cgpc_op */
    char source[CGPC_OP_COUNT][200];           /* where each row comes from (citation/assumption) */
};

/* The shipped defaults (45 nm, 8-bit; Horowitz ISSCC 2014 and EvoApprox8b, see energy.c). */
void energy_gate_table_default(struct energy_gate_table *t);

/* One active gate of a decoded circuit. Nodes are given in topological order. A source index s
 * refers to primary input s when s < n_inputs, else to the output of nodes[s - n_inputs].
 * Only the first cgpc_op_arity(op) entries of `in` are read. */
struct energy_node {
    int32_t op;
    int32_t in[CGPC_OP_MAX_ARITY];
};

struct energy_circuit_cost {
    double energy_pj; /* sum over the given gates, one pass */
    double delay_ns;  /* critical path: max over outputs of the arrival time */
    double area_um2;  /* sum over the given gates */
    int gates;        /* gates with nonzero area (wires, constant shifts and constants are free) */
    int depth;        /* most gates with nonzero area on any input-to-output path */
};

/* Account a circuit: nodes[n_nodes] active gates, outputs[n_outputs] source indices.
 * scratch_arrival: n_inputs + n_nodes doubles; scratch_depth: n_inputs + n_nodes ints.
 * Pure, allocation-free. */
void energy_circuit_account(const struct energy_gate_table *t, const struct energy_node *nodes,
                            int n_nodes, int n_inputs, const int32_t *outputs, int n_outputs,
                            double *scratch_arrival, int *scratch_depth,
                            struct energy_circuit_cost *out);

#endif
