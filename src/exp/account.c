/* account.c - storage model, energy and area of one model-metrics row (rules in account.h). */
#include "exp/account.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp/bridge.h"

cgpc_status exp_account_base_init(struct exp_account_base *b, const struct nn_model *m,
                                  const struct energy_gate_table *gates,
                                  const struct energy_memory *memory,
                                  enum storage_deployment deployment, unsigned batch,
                                  struct cgpc_err *err)
{
    memset(b, 0, sizeof *b);
    b->gates = gates;
    b->memory = memory;
    b->deployment = deployment;
    b->batch = batch;
    struct storage_model f;
    storage_model_init(&f);
    cgpc_status st;
    if ((st = exp_model_storage_layers(m, &b->layers, &b->n_layers, err)) ||
        (st = storage_reference_int8(b->layers, b->n_layers, &b->int8, err)) ||
        (st = storage_reference_float32(b->layers, b->n_layers, &f, err)) ||
        (st = storage_layers_macs(b->layers, b->n_layers, &b->macs, err)) ||
        (st = storage_energy_account(&b->int8, deployment, memory, gates, b->macs, 0, batch,
                                     &b->baseline, err))) {
        storage_model_free(&f);
        exp_account_base_free(b);
        return st;
    }
    b->int8_bits = storage_model_total_bits(&b->int8);
    b->float32_bits = storage_model_total_bits(&f);
    storage_model_free(&f);
    return CGPC_OK;
}

void exp_account_base_free(struct exp_account_base *b)
{
    if (!b)
        return;
    free(b->layers);
    storage_model_free(&b->int8);
    memset(b, 0, sizeof *b);
}

int exp_account_layer(const struct exp_account_base *b, const char *name)
{
    size_t n = strlen(name);
    if (n > 7 && strcmp(name + n - 7, ".weight") == 0)
        n -= 7;
    for (int i = 0; i < b->n_layers; i++)
        if (strlen(b->layers[i].name) == n && strncmp(b->layers[i].name, name, n) == 0)
            return i;
    return -1;
}

cgpc_status exp_account_storage(const struct exp_account_base *b, const struct storage_model *s,
                                double compute_pj, uint64_t replaced, struct exp_account *out,
                                struct cgpc_err *err)
{
    struct storage_energy e;
    cgpc_status st = storage_energy_account(s, b->deployment, b->memory, b->gates, b->macs,
                                            compute_pj, b->batch, &e, err);
    if (st)
        return st;
    struct storage_comparison cmp;
    storage_compare(&e, &b->baseline, b->float32_bits, b->int8_bits, &cmp);
    out->stored_bits = cmp.stored_bits;
    out->compression_vs_float32 = cmp.compression_vs_float32;
    out->compression_vs_int8 = cmp.compression_vs_int8;
    out->inference_pj = e.total_pj;
    out->read_pj = e.read_pj;
    out->mac_pj = e.mac_pj;
    out->circuit_pj = e.circuit_pj;
    out->baseline_pj = b->baseline.total_pj;
    out->saving_pj = cmp.saving_pj;
    out->saving_pct = cmp.saving_pct;
    out->replaced_sram_um2 = storage_array_area_um2(STORAGE_ARRAY_SRAM, replaced * 8);
    out->replaced_rom_um2 = storage_array_area_um2(STORAGE_ARRAY_ROM, replaced * 8);
    return CGPC_OK;
}

cgpc_status exp_account_row(const struct exp_account_base *b, const struct exp_method *mth,
                            struct storage_model *model_out, struct exp_account *out,
                            struct cgpc_err *err)
{
    struct storage_model s;
    memset(out, 0, sizeof *out);
    cgpc_status st = storage_model_copy(&s, &b->int8, err);
    if (st)
        return st;
    unsigned logic = mth->logic ? STORAGE_PART_LOGIC : 0;
    const char *first = NULL;
    uint64_t replaced_total = 0;
    for (int i = 0; i < b->n_layers && st == CGPC_OK; i++) {
        uint64_t r = mth->replaced[i];
        if (!r)
            continue;
        if (!first)
            first = b->layers[i].name;
        replaced_total += r;
        st = storage_model_take(&s, b->layers[i].name, STORAGE_WEIGHTS, r, err);
        if (st == CGPC_OK && mth->index_bits) {
            uint64_t bits = r * mth->index_bits; /* r <= 2^40 weights, bits <= 64 */
            st = storage_model_add_flags(&s, b->layers[i].name, STORAGE_INDEX,
                                         mth->logic ? "slot indices" : "b-bit codes",
                                         r, bits, logic, err);
            out->index_bits += bits;
        }
    }
    /* model-wide parts go with the first replaced layer (or stand alone if none is) */
    const char *where = first ? first : "";
    if (st == CGPC_OK && mth->codebook_entries) {
        out->codebook_bits = mth->codebook_entries * 8;
        st = storage_model_add_flags(&s, where, STORAGE_CODEBOOK, "int8 reconstruction values",
                                     mth->codebook_entries, out->codebook_bits, logic, err);
    }
    if (st == CGPC_OK && mth->decode_params) {
        out->decode_bits = mth->decode_params * 32;
        st = storage_model_add_flags(&s, where, STORAGE_SCALE, "decode offset and step",
                                     mth->decode_params, out->decode_bits, 0, err);
    }
    if (st == CGPC_OK && (mth->residual_table_bits || mth->residual_stream_bits)) {
        out->residual_bits = mth->residual_table_bits + mth->residual_stream_bits;
        st = storage_model_add(&s, where, STORAGE_ENTROPY_TABLE, "residual Huffman table", 1,
                               mth->residual_table_bits, err);
        if (st == CGPC_OK)
            st = storage_model_add(&s, where, STORAGE_RESIDUAL, "Huffman-coded residual",
                                   replaced_total, mth->residual_stream_bits, err);
    }
    if (st == CGPC_OK && mth->circuit_bits) {
        out->circuit_bits = mth->circuit_bits;
        st = storage_model_add_flags(&s, where, STORAGE_CIRCUIT, "circuit genes (active)", 1,
                                     mth->circuit_bits, logic, err);
    }
    double compute_pj = mth->circuit_pj + (double)mth->decode_macs * b->gates->mac.energy_pj;
    if (st == CGPC_OK)
        st = exp_account_storage(b, &s, compute_pj, replaced_total, out, err);
    if (st) {
        storage_model_free(&s);
        return st;
    }
    out->circuit_area_um2 = mth->circuit_area_um2;
    if (model_out)
        *model_out = s;
    else
        storage_model_free(&s);
    return CGPC_OK;
}

void exp_requantize(const int8_t *in, int8_t *out, int64_t n, int bits)
{
    if (n <= 0)
        return;
    int lo = in[0], hi = in[0];
    for (int64_t i = 1; i < n; i++) {
        lo = in[i] < lo ? in[i] : lo;
        hi = in[i] > hi ? in[i] : hi;
    }
    double step = (double)(hi - lo) / (double)((1 << bits) - 1);
    for (int64_t i = 0; i < n; i++) {
        if (step == 0) {
            out[i] = (int8_t)lo;
            continue;
        }
        double q = round((in[i] - lo) / step);
        double v = round(lo + q * step);
        out[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
}
