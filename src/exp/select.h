/* select.h - weight selectors: which int8 weights of a model are circuit inputs, which are
 * outputs, and how they are grouped into data items.
 *
 * A selector is text (from an experiment file or the command line):
 *
 *   selector := "none" | term ("," term)*        (terms split on "," outside brackets)
 *             | "coords"                          (inputs only: each output weight's own
 *                                                  coordinates, one item per weight;
 *                                                  see exp/coords.h)
 *   term     := TENSOR ["[" filter (";" filter)* "]"] [":" region]
 *             | "values=" LO ".." HI                  (literal int8 values, outputs only)
 *   filter   := ("out" | "in" | "pos") "=" list      (output channels, input channels,
 *                                                      kernel positions ky*KW+kx)
 *   region   := "all" | "core" | "ring"              (default "all")
 *   list     := range ("," range)*,  range := N | N "-" M   (inclusive)
 *
 * Examples: "conv1.weight:core" (the 6 cores, 54 weights), "conv1.weight[out=0]:ring",
 * "conv2.weight[out=0-3;in=1;pos=0,4,20,24]", "conv1.weight,conv2.weight", "values=-128..127".
 *
 * Tensors have shape [O, I, KH, KW] (conv; [O, I] linear counts as KH = KW = 1). "core" is the
 * inner (KH-2)x(KW-2) window (the 3x3 core of a 5x5 kernel), "ring" the rest (its 16-weight
 * outer ring). Order: terms in the order written; within a term out-channel-major, then input
 * channel, then kernel position row-major - the tensor's own memory order.
 *
 * Grouping into data items (struct exp_item_mode):
 *   EXP_ITEMS_ONE     one item: all selected inputs -> all selected outputs;
 *   EXP_ITEMS_KERNEL  one item per (tensor, out, in) kernel: its inputs -> its outputs (both
 *                     selectors must name the same tensors; e.g. cores -> rings per kernel);
 *   EXP_ITEMS_LAYER   one item per tensor named by the outputs (multiplexed multi-layer mode);
 *                     item k takes the inputs of the k-th input tensor (or none);
 *   EXP_ITEMS_CHANNEL one item per (tensor, out) output channel: its inputs -> its outputs (a
 *                     linear layer's row: e.g. fc1's first weights of each row -> the rest).
 * Items with fewer inputs/outputs than the largest are padded: inputs with EXP_REF_ZERO (value 0),
 * outputs with EXP_REF_DONT_CARE.
 *
 * Ownership: exp_selection owns its arrays; exp_selection_free(NULL) is a no-op. */
#ifndef CGPC_EXP_SELECT_H
#define CGPC_EXP_SELECT_H

#include <stdint.h>

#include "common/error.h"

#define EXP_NAME_MAX 96

/* Shape of one int8 weight tensor of the model, as the selector sees it. */
struct exp_tensor {
    char name[EXP_NAME_MAX];
    int out, in, kh, kw; /* [O, I, KH, KW]; linear layers: kh = kw = 1 */
};

enum { EXP_REF_WEIGHT = 0, EXP_REF_ZERO = 1, EXP_REF_DONT_CARE = 2, EXP_REF_LITERAL = 3,
       EXP_REF_COORD = 4 /* a coordinate input (exp/coords.h): tensor = column, offset = value */ };

/* One selected value: a weight (tensor index + flat offset), padding, or a literal. */
struct exp_ref {
    int32_t kind;   /* EXP_REF_* */
    int32_t tensor; /* index into the tensor list, for EXP_REF_WEIGHT */
    int64_t offset; /* flat offset in the tensor, or the literal value for EXP_REF_LITERAL */
};

enum exp_item_mode { EXP_ITEMS_ONE = 0, EXP_ITEMS_KERNEL, EXP_ITEMS_LAYER, EXP_ITEMS_CHANNEL };

struct exp_selection {
    int n_items;
    int n_inputs;           /* per item, after padding */
    int n_outputs;          /* per item, after padding */
    struct exp_ref *inputs;  /* [n_items][n_inputs] */
    struct exp_ref *outputs; /* [n_items][n_outputs] */
    int64_t n_selected_outputs; /* outputs that are weights or literals (no padding) */
};

/* Parse `inputs` and `outputs` selector texts against the model's tensors and group them.
 * Errors name the selector text and the offending part (unknown tensor, channel out of range,
 * region not defined for the kernel size, an input also selected as output, ...). */
cgpc_status exp_select(const struct exp_tensor *tensors, int n_tensors, const char *inputs,
                       const char *outputs, enum exp_item_mode mode, struct exp_selection *sel,
                       struct cgpc_err *err);

void exp_selection_free(struct exp_selection *sel);

/* "one" / "kernel" / "layer" <-> enum; -1 if unknown. */
int exp_item_mode_from_name(const char *name);
const char *exp_item_mode_name(enum exp_item_mode mode);

#endif
