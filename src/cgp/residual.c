/* residual.c - the bits fitness of the residual mode (cgp.h, "residual mode"). */
#include "cgp/cgp.h"

#include "common/resid.h"
#include "energy/storage.h"

double cgp_residual_entropy(const struct cgp_shape *s, const int32_t *genes, const int8_t *values,
                            const struct cgp_dataset *ds, int bound)
{
    const int32_t *out_genes = genes + (size_t)s->n_nodes * (s->node_arity + 1);
    const int D = ds->n_items, st = ds->stride;
    uint64_t hist[CGPC_RESID_SYMBOLS] = {0};
    for (int o = 0; o < s->n_outputs; o++) {
        const int8_t *v = values + (size_t)out_genes[o] * st;
        const int8_t *t = ds->target + (size_t)o * st;
        const uint8_t *c = ds->care + (size_t)o * st;
        uint64_t w = (uint64_t)ds->weight[o];
        for (int d = 0; d < D; d++)
            if (c[d])
                hist[cgpc_resid_index(cgpc_resid_symbol(t[d], v[d], bound))] += w;
    }
    return cgpc_resid_entropy_bits(hist, CGPC_RESID_SYMBOLS);
}

void cgp_scratch_bits(const struct cgp_scratch *sc, const struct cgp_shape *s,
                      const int32_t *genes, int n_functions, const struct cgp_dataset *ds,
                      int bound, struct cgp_fitness *fit)
{
    uint64_t circuit = 0; /* the counts are valid: storage_circuit_bits cannot fail here */
    storage_circuit_bits(sc->enodes, sc->n_active, s->n_inputs, n_functions, s->n_outputs,
                         &circuit, NULL);
    fit->bits = (double)circuit + cgp_residual_entropy(s, genes, sc->values, ds, bound);
}
