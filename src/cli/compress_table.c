/* compress_table.c - the per-layer table of `cgpc compress` (compress_cli.h). */
#include <stdio.h>

#include "../energy/storage.h"
#include "../exp/bridge.h"
#include "compress_cli.h"

/* The paper's Table 3 per layer, then totals through the storage model. */
cgpc_status compress_print_table(const struct nn_model *m, const struct cpr_stats *pq,
                               const struct cpr_stats *pqh, int verbose, struct cgpc_err *err)
{
    struct storage_model sm;
    uint64_t f32, i8;
    cgpc_status st;
    storage_model_init(&sm);
    if ((st = exp_model_reference_bits(m, 0, &f32, err)) ||
        (st = exp_model_reference_bits(m, 1, &i8, err)) ||
        (st = cpr_storage_account(pqh, &sm, err)))
        goto out;
    printf("%-22s %9s %7s %6s %8s %6s %8s %10s %8s %9s\n", "layer", "weights", "kept%",
           "wbits", "wbits(H)", "ibits", "ibits(H)", "bytes", "rate", "rate(H)");
    for (int i = 0; i < pqh->nlayers; i++) {
        const struct cpr_layer_stats *a = &pq->layers[i], *h = &pqh->layers[i];
        uint64_t lf = (a->n + a->nbias) * 32;
        char ib[16], ibh[16];
        snprintf(ib, sizeof ib, a->sparse ? "%d" : "-", a->r);
        if (h->sparse)
            snprintf(ibh, sizeof ibh, "%.2f", h->codes ? (double)h->index_bits / h->codes : 0);
        else
            snprintf(ibh, sizeof ibh, "-");
        printf("%-22s %9llu %6.2f%% %6d %8.2f %6s %8s %10llu %7.1fx %8.1fx\n", a->name,
               (unsigned long long)a->n, 100.0 * (double)a->kept / (double)a->n,
               a->value_code_bits,
               h->value_codes ? (double)h->value_bits / (double)h->value_codes : 0.0, ib, ibh,
               (unsigned long long)((h->total_bits + 7) / 8), (double)lf / (double)a->total_bits,
               (double)lf / (double)h->total_bits);
    }
    uint64_t tot = storage_model_total_bits(&sm);
    printf("total: %llu bits stored (%llu bytes); float32 %llu bytes: %.1fx; int8 %llu bytes: "
           "%.1fx; float32 weights alone %llu bytes: %.1fx; without Huffman %.1fx vs float32\n",
           (unsigned long long)tot, (unsigned long long)((tot + 7) / 8),
           (unsigned long long)(f32 / 8), (double)f32 / (double)tot,
           (unsigned long long)(i8 / 8), (double)i8 / (double)tot,
           (unsigned long long)(pqh->float32_weight_bits / 8),
           (double)pqh->float32_weight_bits / (double)tot, (double)f32 / (double)pq->total_bits);
    if (verbose)
        st = storage_model_format(&sm, stdout, err);
out:
    storage_model_free(&sm);
    return st;
}

