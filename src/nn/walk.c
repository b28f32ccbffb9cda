/* walk.c - the one layer walker of float and int8 forward passes (see walk.h). */
#include "nn/walk.h"

#include <string.h>

#include "nn/eval.h"
#include "nn/kernels.h"

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

size_t nn_walk_act_bytes(const struct nn_model *m, int lanes, int quantized)
{
    return align64(m->max_act * (size_t)lanes * (quantized ? 1 : sizeof(float)));
}

/* Values of layer l's output over all lanes. */
static size_t out_elems(const struct nn_layer *l, int lanes)
{
    return (size_t)l->out_c * l->out_h * l->out_w * (size_t)lanes;
}

void nn_walk_float(const struct nn_model *m, const struct nn_walk_f32 *k, const uint8_t *pixels,
                   int n, float *logits, void *scratch)
{
    unsigned char *s = scratch;
    size_t abytes = nn_walk_act_bytes(m, k->lanes, 0);
    float *cur = (float *)(void *)s, *nxt = (float *)(void *)(s + abytes);
    float *skip = (float *)(void *)(s + 2 * abytes);
    void *ks = s + 3 * abytes;
    size_t npix = (size_t)m->in_c * m->in_h * m->in_w, L = (size_t)k->lanes;
    for (size_t j = 0; j < npix; j++)
        for (size_t b = 0; b < L; b++)
            cur[j * L + b] =
                (int)b < n ? ((float)pixels[b * npix + j] / 255.0f - m->in_mean) / m->in_std
                           : 0.0f;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        switch (l->op) {
        case NN_OP_CONV2D: k->conv(l, cur, nxt, ks); break;
        case NN_OP_LINEAR: k->linear(l, cur, nxt, ks); break;
        case NN_OP_MAXPOOL: k->maxpool(l, cur, nxt); break;
        case NN_OP_AVGPOOL: k->avgpool(l, cur, nxt); break;
        case NN_OP_ADD: nn_add(cur, skip, out_elems(l, k->lanes), nxt); break;
        }
        if (l->op != NN_OP_CONV2D && l->op != NN_OP_LINEAR) /* the kernels fuse it */
            nn_act_forward(l->act, nxt, out_elems(l, k->lanes));
        if (l->keep)
            memcpy(skip, nxt, out_elems(l, k->lanes) * sizeof *nxt);
        float *t = cur;
        cur = nxt;
        nxt = t;
    }
    for (int b = 0; b < n; b++)
        for (int c = 0; c < m->nclasses; c++)
            logits[(size_t)b * m->nclasses + c] = cur[(size_t)c * L + (size_t)b];
}

void nn_walk_int8(const struct nn_model *m, const struct nn_walk_u8 *k, const uint8_t *pixels,
                  int n, float *logits, void *scratch)
{
    unsigned char *s = scratch;
    size_t abytes = nn_walk_act_bytes(m, k->lanes, 1);
    uint8_t *cur = s, *nxt = s + abytes, *skip = s + 2 * abytes;
    void *ks = s + 3 * abytes;
    const struct nn_layer *first = &m->layers[0];
    size_t npix = (size_t)m->in_c * m->in_h * m->in_w, L = (size_t)k->lanes;
    float inv = 1.0f / first->in_scale;
    for (size_t j = 0; j < npix; j++)
        for (size_t b = 0; b < L; b++) {
            /* missing images are all-zero pixels, as in the float path */
            float x = ((float)((int)b < n ? pixels[b * npix + j] : 0) / 255.0f - m->in_mean) /
                      m->in_std;
            cur[j * L + b] = (uint8_t)nn_quantize_value(x, inv, first->in_zp, 0, 255);
        }
    int zp = first->in_zp;
    float scale = first->in_scale;
    for (int i = 0; i < m->nlayers; i++) {
        const struct nn_layer *l = &m->layers[i];
        int qmin, qmax;
        switch (l->op) {
        case NN_OP_CONV2D:
        case NN_OP_LINEAR:
            nn_layer_qclamp(l, &qmin, &qmax);
            (l->op == NN_OP_CONV2D ? k->conv : k->linear)(l, cur, qmin, qmax, nxt, ks);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        case NN_OP_MAXPOOL: k->maxpool(l, cur, nxt); break;
        case NN_OP_AVGPOOL: k->avgpool(l, cur, zp, nxt); break;
        case NN_OP_ADD: {
            const struct nn_layer *sl = &m->layers[l->src - 1];
            nn_qadd(cur, scale, zp, skip, sl->out_scale, sl->out_zp, out_elems(l, k->lanes),
                    l->out_scale, l->out_zp, nxt);
            zp = l->out_zp;
            scale = l->out_scale;
            break;
        }
        }
        if (l->keep)
            memcpy(skip, nxt, out_elems(l, k->lanes));
        uint8_t *t = cur;
        cur = nxt;
        nxt = t;
    }
    for (int b = 0; b < n; b++)
        for (int c = 0; c < m->nclasses; c++)
            logits[(size_t)b * m->nclasses + c] =
                nn_dequantize_value(cur[(size_t)c * L + (size_t)b], scale, zp);
}
