/* coords.h - coordinate inputs (`inputs = coords`, issue 18 part 2): the circuit reads no kept
 * weights; each selected output weight is one data item whose inputs are the weight's own
 * coordinates and whose one target is the weight's int8 code.
 *
 * Inputs of an item (int8 each; a fixed layout, the optional columns only when needed):
 *   i0  o mod 128          output channel (output index of a linear layer)
 *   i1  i mod 128          input channel (input index of a linear layer)
 *   i2  ky                 kernel row (0 for linear layers)
 *   i3  kx                 kernel column (0 for linear layers)
 *   then, in this order, only if some selected tensor needs them:
 *       o / 128            when a tensor has more than 128 output channels
 *       i / 128            when a tensor has more than 128 input channels / inputs
 *       t                  the selected tensor's rank among the output tensors (0, 1, ...), when
 *                          the outputs name more than one tensor
 * Example: conv2.weight [16,6,5,5] gives 2,400 items of 4 inputs; fc1.weight [120,256] gives
 * 30,720 items of 5 inputs (o, i mod 128, 0, 0, i / 128).
 *
 * Constants: there is no constant input. The circuit makes the numbers it needs from the
 * function set's nullary operators (const0, const1, const_m1, const127, const_m128) and
 * arithmetic on them; these are genes like any other, evolved and charged in the circuit's
 * description bits.
 *
 * Items come in the outputs' selector order (the tensor's memory order). The selection's
 * input refs are EXP_REF_COORD: `tensor` = the column's enum exp_coord, `offset` = the value.
 * `items` must be one (the default); literal outputs (values=) have no coordinates and are
 * refused. */
#ifndef CGPC_EXP_COORDS_H
#define CGPC_EXP_COORDS_H

#include "common/error.h"
#include "exp/select.h"

enum exp_coord {
    EXP_COORD_OUT = 0,
    EXP_COORD_IN,
    EXP_COORD_KY,
    EXP_COORD_KX,
    EXP_COORD_OUT_HI,
    EXP_COORD_IN_HI,
    EXP_COORD_TENSOR,
    EXP_COORD_COUNT
};

/* 1 if the inputs selector text is the coordinate keyword "coords" (surrounding blanks allowed). */
int exp_selector_is_coords(const char *text);

/* Turn a one-item selection of output weights (exp_select with inputs "none", items one) into
 * the coordinate selection above: one item per selected weight. sel is replaced (freed first). */
cgpc_status exp_coords_expand(const struct exp_tensor *tensors, int n_tensors,
                              struct exp_selection *sel, struct cgpc_err *err);

/* What coordinate column c is, e.g. "coordinate o mod 128 (output channel)". */
const char *exp_coord_name(int c);

#endif
