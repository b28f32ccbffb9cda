/* gates.c - the default gate cost table and circuit accounting. */
#include "energy/energy.h"

#include <stdio.h>
#include <string.h>

/* Sources of the default numbers (45 nm):
 *  [H]  M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014:
 *       8-bit add 0.03 pJ, 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ, 32-bit multiply 3.1 pJ.
 *  [E]  EvoApprox8b library (Mrazek et al., DATE 2017), exact 8-bit adder add8u_0FP: 0.033 mW,
 *       70.4 um^2, 0.63 ns; exact 8x8 multiplier mul8u_1JFF: 0.391 mW, 709.6 um^2, 1.43 ns.
 *       Energy comes from [H] (pJ per operation); [E] gives delay and area only, because its
 *       power figures are at the library's own switching activity and clock, not per operation.
 *  [A]  assumption, stated on the row.
 * Values are written out as decimal literals (not products) so that the shipped file
 * default-gate-costs.csv reads back to exactly this table; tests check the derivations:
 *  bitwise (8 two-input gates) = 0.086 x add:   0.00258 pJ, 0.05418 ns, 6.0544 um^2
 *  rsub127 = a ^ 0x7f (7 inverters) = 7/8 bitwise energy/area:   0.0022575 pJ, 5.2976 um^2
 *  sub128  = a ^ 0x80 (1 inverter)  = 1/8 bitwise energy/area:   0.0003225 pJ, 0.7568 um^2
 *  mux4    = three mux2 in a tree: 3x energy and area, 2x delay: 0.009 pJ, 0.10836 ns, 18.1632
 *  mac     = [H] 8-bit multiply + 32-bit add = 0.2 + 0.1 pJ; delay/area [E] multiplier plus a
 *            32-bit ripple adder taken as four 8-bit adders: 1.43 + 4 x 0.63 = 3.95 ns,
 *            709.6 + 4 x 70.4 = 991.2 um^2 [A]. */
#define ADD_PJ 0.03
#define ADD_NS 0.63
#define ADD_UM2 70.4
#define BW_PJ 0.00258 /* [A] 0.086 x ADD_PJ */
#define BW_NS 0.05418 /* [A] 0.086 x ADD_NS */
#define BW_UM2 6.0544 /* [A] 0.086 x ADD_UM2 */
#define MUX2_PJ 0.003 /* [A] 2:1 mux, 8 bits wide */

static void set_row(struct energy_gate_table *t, int op, double pj, double ns, double um2,
                    const char *source)
{
    t->op[op] = (struct energy_gate_cost){pj, ns, um2};
    snprintf(t->source[op], sizeof t->source[op], "%s", source);
}

void energy_gate_table_default(struct energy_gate_table *t)
{
    memset(t, 0, sizeof *t);
    const char *adder = "[H] 8-bit add 0.03 pJ; [E] add8u_0FP 0.63 ns, 70.4 um^2";
    set_row(t, CGPC_OP_ADD, ADD_PJ, ADD_NS, ADD_UM2, adder);
    set_row(t, CGPC_OP_SUB, ADD_PJ, ADD_NS, ADD_UM2, "[A] adder with inverted b and carry-in; as add");
    set_row(t, CGPC_OP_MUL, 0.2, 1.43, 709.6,
            "[H] 8-bit multiply 0.2 pJ; [E] mul8u_1JFF 1.43 ns, 709.6 um^2 (full 8x8 multiplier "
            "although only the low byte is kept: an upper bound)");
    set_row(t, CGPC_OP_NEG, ADD_PJ, ADD_NS, ADD_UM2, "[A] ~a + 1: an incrementer, costed as add");
    set_row(t, CGPC_OP_INC, ADD_PJ, ADD_NS, ADD_UM2, "[A] incrementer, costed as add (upper bound)");
    set_row(t, CGPC_OP_DEC, ADD_PJ, ADD_NS, ADD_UM2, "[A] decrementer, costed as add (upper bound)");
    set_row(t, CGPC_OP_RSUB127, 0.0022575, BW_NS, 5.2976,
            "[A] 127 - a == a ^ 0x7f: 7 inverters = 7/8 of bitwise");
    set_row(t, CGPC_OP_SUB128, 0.0003225, BW_NS, 0.7568,
            "[A] a - 128 == a ^ 0x80: 1 inverter = 1/8 of bitwise");
    const char *bitwise = "[A] bitwise = 0.086 x add (8 two-input gates vs an 8-bit adder)";
    set_row(t, CGPC_OP_AND, BW_PJ, BW_NS, BW_UM2, bitwise);
    set_row(t, CGPC_OP_OR, BW_PJ, BW_NS, BW_UM2, bitwise);
    set_row(t, CGPC_OP_XOR, BW_PJ, BW_NS, BW_UM2, bitwise);
    set_row(t, CGPC_OP_NOT, BW_PJ, BW_NS, BW_UM2, "[A] 8 inverters, costed as bitwise (upper bound)");
    const int shifts[] = {CGPC_OP_SHR1, CGPC_OP_SHR2, CGPC_OP_SHR3, CGPC_OP_SHR4, CGPC_OP_SHR5,
                          CGPC_OP_SHL1, CGPC_OP_SHL2, CGPC_OP_SHL3, CGPC_OP_SHL4, CGPC_OP_SHL5};
    for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++)
        set_row(t, shifts[i], 0, 0, 0, "shift by a constant is wiring: free");
    const int consts[] = {CGPC_OP_CONST1, CGPC_OP_CONSTM1, CGPC_OP_CONST0, CGPC_OP_CONSTM128,
                          CGPC_OP_CONST127};
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        set_row(t, consts[i], 0, 0, 0, "constant: tied wires, free");
    set_row(t, CGPC_OP_ID, 0, 0, 0, "identity: a wire, free");
    set_row(t, CGPC_OP_MUX2, MUX2_PJ, BW_NS, BW_UM2,
            "[A] 2:1 mux x 8 bits: 0.003 pJ; delay and area as bitwise");
    set_row(t, CGPC_OP_MUX4, 0.009, 0.10836, 18.1632,
            "[A] 4:1 mux = tree of three 2:1 muxes: 3x energy and area, 2x delay");
    t->mac = (struct energy_gate_cost){0.3, 3.95, 991.2};
    snprintf(t->mac_source, sizeof t->mac_source, "%s",
             "[H] int8 MAC = 8-bit multiply 0.2 + 32-bit add 0.1 pJ; [A] delay/area = [E] "
             "multiplier + 4 x [E] adder (32-bit ripple)");
}

void energy_gates_total(const struct energy_gate_table *t, const int *count, double *energy_pj,
                        double *area_um2, int *gates)
{
    double energy = 0, area = 0;
    int physical = 0;
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        if (!count[op])
            continue;
        energy += count[op] * t->op[op].energy_pj;
        area += count[op] * t->op[op].area_um2;
        physical += t->op[op].area_um2 > 0 ? count[op] : 0;
    }
    *energy_pj = energy;
    *area_um2 = area;
    *gates = physical;
}

void energy_circuit_account(const struct energy_gate_table *t, const struct energy_node *nodes,
                            int n_nodes, int n_inputs, const int32_t *outputs, int n_outputs,
                            double *scratch_arrival, int *scratch_depth,
                            struct energy_circuit_cost *out)
{
    int count[CGPC_OP_COUNT] = {0};
    for (int s = 0; s < n_inputs; s++) {
        scratch_arrival[s] = 0;
        scratch_depth[s] = 0;
    }
    for (int k = 0; k < n_nodes; k++) {
        const struct energy_node *n = &nodes[k];
        CGPC_ASSERT(n->op >= 0 && n->op < CGPC_OP_COUNT);
        const struct energy_gate_cost *c = &t->op[n->op];
        int arity = cgpc_op_arity(n->op);
        double arrival = 0;
        int depth = 0;
        for (int j = 0; j < arity; j++) {
            int s = n->in[j];
            CGPC_ASSERT(s >= 0 && s < n_inputs + k);
            if (scratch_arrival[s] > arrival)
                arrival = scratch_arrival[s];
            if (scratch_depth[s] > depth)
                depth = scratch_depth[s];
        }
        int physical = c->area_um2 > 0;
        scratch_arrival[n_inputs + k] = arrival + c->delay_ns;
        scratch_depth[n_inputs + k] = depth + physical;
        count[n->op]++;
    }
    double energy, area;
    int gates;
    energy_gates_total(t, count, &energy, &area, &gates);
    double delay = 0;
    int max_depth = 0;
    for (int o = 0; o < n_outputs; o++) {
        int s = outputs[o];
        CGPC_ASSERT(s >= 0 && s < n_inputs + n_nodes);
        if (scratch_arrival[s] > delay)
            delay = scratch_arrival[s];
        if (scratch_depth[s] > max_depth)
            max_depth = scratch_depth[s];
    }
    *out = (struct energy_circuit_cost){energy, delay, area, gates, max_depth};
}
