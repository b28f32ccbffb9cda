/* inference.c - per-layer and total energy of one inference, with and without weights produced
 * by circuits (model and assumptions in energy.h and docs/ARCHITECTURE.md). */
#include <math.h>
#include <string.h>

#include "energy/energy.h"

/* Bytes holding `weights` packed weights of `bits` bits: ceil(weights * bits / 8). */
static cgpc_status packed_bytes(uint64_t weights, int bits, const char *layer, uint64_t *out,
                                struct cgpc_err *err)
{
    if (weights > (UINT64_MAX - 7) / (uint64_t)bits)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "layer '%s': %llu weights of %d bits overflow 64 bits",
                         layer, (unsigned long long)weights, bits);
    *out = (weights * (uint64_t)bits + 7) / 8;
    return CGPC_OK;
}

static cgpc_status add_u64(uint64_t *acc, uint64_t v, const char *what, struct cgpc_err *err)
{
    if (*acc > UINT64_MAX - v)
        return CGPC_FAIL(err, CGPC_ERR_RANGE, "total %s overflows 64 bits", what);
    *acc += v;
    return CGPC_OK;
}

/* Derived fields of a budget whose counts and energies are filled in. */
static void finish_budget(struct energy_layer_budget *b, double pj_per_byte)
{
    b->total_pj = b->mac_pj + b->read_pj + b->circuit_pj;
    b->baseline_pj = b->mac_pj + (double)b->baseline_bytes * pj_per_byte;
    b->saving_pj = b->baseline_pj - b->total_pj;
    b->saving_pct = b->baseline_pj > 0 ? 100.0 * b->saving_pj / b->baseline_pj : 0;
}

cgpc_status energy_inference_account(const struct energy_gate_table *t,
                                     const struct energy_memory *mem,
                                     const struct energy_layer *layers, int n_layers,
                                     const struct energy_replacement *repl, int n_repl,
                                     struct energy_layer_budget *per_layer,
                                     struct energy_layer_budget *total, struct cgpc_err *err)
{
    cgpc_status st;
    for (int r = 0; r < n_repl; r++) {
        if (repl[r].layer < 0 || repl[r].layer >= n_layers)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "replacement %d: layer index %d not in [0, %d)",
                             r, repl[r].layer, n_layers);
        if (!isfinite(repl[r].circuit_pj) || repl[r].circuit_pj < 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG,
                             "replacement %d (layer '%s'): circuit energy %g pJ must be finite "
                             "and >= 0",
                             r, layers[repl[r].layer].name, repl[r].circuit_pj);
    }
    struct energy_layer_budget sum;
    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < n_layers; i++) {
        const struct energy_layer *l = &layers[i];
        struct energy_layer_budget b;
        memset(&b, 0, sizeof b);
        if (l->weight_bits < 1 || l->weight_bits > 64)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "layer '%s': weight_bits %d not in 1..64",
                             l->name, l->weight_bits);
        for (int r = 0; r < n_repl; r++) {
            if (repl[r].layer != i)
                continue;
            if (repl[r].weights > l->weights - b.weights_replaced)
                return CGPC_FAIL(err, CGPC_ERR_ARG,
                                 "layer '%s': replacements produce more weights than its %llu",
                                 l->name, (unsigned long long)l->weights);
            b.weights_replaced += repl[r].weights;
            b.circuit_pj += repl[r].circuit_pj * (double)repl[r].evaluations;
        }
        b.macs = l->macs;
        b.mac_pj = (double)l->macs * t->mac.energy_pj;
        b.weights_read = l->weights - b.weights_replaced;
        if ((st = packed_bytes(b.weights_read, l->weight_bits, l->name, &b.read_bytes, err)) ||
            (st = packed_bytes(l->weights, l->weight_bits, l->name, &b.baseline_bytes, err)))
            return st;
        b.read_pj = (double)b.read_bytes * mem->pj_per_byte;
        finish_budget(&b, mem->pj_per_byte);
        per_layer[i] = b;
        if ((st = add_u64(&sum.macs, b.macs, "MACs", err)) ||
            (st = add_u64(&sum.weights_read, b.weights_read, "weights", err)) ||
            (st = add_u64(&sum.weights_replaced, b.weights_replaced, "weights", err)) ||
            (st = add_u64(&sum.read_bytes, b.read_bytes, "bytes", err)) ||
            (st = add_u64(&sum.baseline_bytes, b.baseline_bytes, "bytes", err)))
            return st;
        sum.mac_pj += b.mac_pj;
        sum.read_pj += b.read_pj;
        sum.circuit_pj += b.circuit_pj;
    }
    finish_budget(&sum, mem->pj_per_byte);
    *total = sum;
    return CGPC_OK;
}
