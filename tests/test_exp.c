/* test_exp.c - cmocka suite for src/exp: weight selectors (counts, order, grouping, errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "exp/select.h"

/* LeNet-5's weight tensors, shapes as in the model. */
static const struct exp_tensor lenet[] = {
    {"conv1.weight", 6, 1, 5, 5},  {"conv2.weight", 16, 6, 5, 5}, {"fc1.weight", 120, 256, 1, 1},
    {"fc2.weight", 84, 120, 1, 1}, {"fc3.weight", 10, 84, 1, 1},
};
#define N_LENET ((int)(sizeof lenet / sizeof lenet[0]))

static int is_core_pos(int64_t pos) /* 5x5 kernel position 0..24 */
{
    int y = (int)(pos / 5), x = (int)(pos % 5);
    return y > 0 && y < 4 && x > 0 && x < 4;
}

static void select__layer_bypass__all_conv1_to_all_conv2(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight", "conv2.weight", EXP_ITEMS_ONE,
                                &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_items, 1);
    assert_int_equal(sel.n_inputs, 150);
    assert_int_equal(sel.n_outputs, 2400);
    assert_int_equal(sel.n_selected_outputs, 2400);
    for (int i = 0; i < 150; i++) { /* memory order */
        assert_int_equal(sel.inputs[i].kind, EXP_REF_WEIGHT);
        assert_int_equal(sel.inputs[i].tensor, 0);
        assert_int_equal(sel.inputs[i].offset, i);
    }
    assert_int_equal(sel.outputs[2399].offset, 2399);
    exp_selection_free(&sel);
}

static void select__le_selector__no_input_all_2550_conv_weights(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "none", "conv1.weight, conv2.weight",
                                EXP_ITEMS_ONE, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_items, 1);
    assert_int_equal(sel.n_inputs, 0);
    assert_int_equal(sel.n_outputs, 2550);
    assert_int_equal(sel.outputs[150].tensor, 1);
    assert_int_equal(sel.outputs[150].offset, 0);
    exp_selection_free(&sel);
}

static void select__single_channel__six_items_core_to_ring(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight:core", "conv1.weight:ring",
                                EXP_ITEMS_KERNEL, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_items, 6);
    assert_int_equal(sel.n_inputs, 9);
    assert_int_equal(sel.n_outputs, 16);
    for (int k = 0; k < 6; k++) {
        for (int i = 0; i < 9; i++) {
            const struct exp_ref *r = &sel.inputs[k * 9 + i];
            assert_int_equal(r->offset / 25, k); /* item k is kernel k */
            assert_true(is_core_pos(r->offset % 25));
        }
        for (int o = 0; o < 16; o++) {
            const struct exp_ref *r = &sel.outputs[k * 16 + o];
            assert_int_equal(r->offset / 25, k);
            assert_false(is_core_pos(r->offset % 25));
        }
    }
    /* ring of kernel 0 in row-major order: 0 1 2 3 4 5 9 10 14 15 19 20 21 22 23 24 */
    const int64_t ring0[16] = {0, 1, 2, 3, 4, 5, 9, 10, 14, 15, 19, 20, 21, 22, 23, 24};
    for (int o = 0; o < 16; o++)
        assert_int_equal(sel.outputs[o].offset, ring0[o]);
    exp_selection_free(&sel);
}

static void select__single_filter_and_reversed(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight[out=0]:core",
                                "conv1.weight[out=0]:ring", EXP_ITEMS_ONE, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_inputs, 9);
    assert_int_equal(sel.n_outputs, 16);
    exp_selection_free(&sel);
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight[out=0]:ring",
                                "conv1.weight[out=0]:core", EXP_ITEMS_ONE, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_inputs, 16);
    assert_int_equal(sel.n_outputs, 9);
    exp_selection_free(&sel);
}

static void select__all_layers__one_item_per_layer_padded(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight:core, conv2.weight:core",
                                "conv1.weight:ring, conv2.weight:ring", EXP_ITEMS_LAYER, &sel,
                                NULL), CGPC_OK);
    assert_int_equal(sel.n_items, 2);
    assert_int_equal(sel.n_inputs, 96 * 9);   /* conv2: 16*6 kernels x 9 */
    assert_int_equal(sel.n_outputs, 96 * 16);
    assert_int_equal(sel.n_selected_outputs, 6 * 16 + 96 * 16);
    /* item 0 = conv1: 54 real inputs then zero padding; 96 real outputs then don't-cares */
    assert_int_equal(sel.inputs[53].kind, EXP_REF_WEIGHT);
    assert_int_equal(sel.inputs[54].kind, EXP_REF_ZERO);
    assert_int_equal(sel.outputs[95].kind, EXP_REF_WEIGHT);
    assert_int_equal(sel.outputs[96].kind, EXP_REF_DONT_CARE);
    assert_int_equal(sel.inputs[sel.n_inputs].tensor, 1); /* item 1 starts with conv2 */
    exp_selection_free(&sel);
}

static void select__worst_case__literal_values(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "none", "values=-128..127", EXP_ITEMS_ONE, &sel,
                                NULL), CGPC_OK);
    assert_int_equal(sel.n_outputs, 256);
    assert_int_equal(sel.outputs[0].kind, EXP_REF_LITERAL);
    assert_int_equal(sel.outputs[0].offset, -128);
    assert_int_equal(sel.outputs[255].offset, 127);
    exp_selection_free(&sel);
}

static void select__explicit_filters(void **state)
{
    (void)state;
    struct exp_selection sel;
    assert_int_equal(exp_select(lenet, N_LENET, "conv2.weight[out=0-1,3;in=2;pos=0,24]",
                                "fc3.weight[out=9;in=80-83]", EXP_ITEMS_ONE, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_inputs, 6);
    const int64_t want[6] = {(0 * 6 + 2) * 25, (0 * 6 + 2) * 25 + 24, (1 * 6 + 2) * 25,
                             (1 * 6 + 2) * 25 + 24, (3 * 6 + 2) * 25, (3 * 6 + 2) * 25 + 24};
    for (int i = 0; i < 6; i++)
        assert_int_equal(sel.inputs[i].offset, want[i]);
    assert_int_equal(sel.n_outputs, 4);
    assert_int_equal(sel.outputs[0].offset, 9 * 84 + 80);
    exp_selection_free(&sel);
}

static void select__bad_selectors__clear_errors(void **state)
{
    (void)state;
    struct exp_selection sel;
    struct cgpc_err err = {0};
    assert_int_equal(exp_select(lenet, N_LENET, "none", "conv9.weight", EXP_ITEMS_ONE, &sel, &err),
                     CGPC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "conv9.weight"));
    assert_non_null(strstr(err.msg, "conv1.weight")); /* lists what exists */
    assert_int_equal(exp_select(lenet, N_LENET, "none", "conv1.weight[out=6]", EXP_ITEMS_ONE,
                                &sel, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "0..5"));
    assert_int_equal(exp_select(lenet, N_LENET, "none", "fc1.weight:core", EXP_ITEMS_ONE, &sel,
                                &err), CGPC_ERR_ARG);
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight", "conv1.weight[out=0]",
                                EXP_ITEMS_ONE, &sel, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "input and as output"));
    assert_int_equal(exp_select(lenet, N_LENET, "values=0..3", "conv1.weight", EXP_ITEMS_ONE,
                                &sel, &err), CGPC_ERR_ARG);
    assert_int_equal(exp_select(lenet, N_LENET, "none", "conv1.weight[out=0", EXP_ITEMS_ONE, &sel,
                                &err), CGPC_ERR_ARG);
    assert_int_equal(exp_select(lenet, N_LENET, "none", "conv1.weight:middle", EXP_ITEMS_ONE,
                                &sel, &err), CGPC_ERR_ARG);
    assert_int_equal(exp_select(lenet, N_LENET, "none", "none", EXP_ITEMS_ONE, &sel, &err),
                     CGPC_ERR_ARG);
    assert_int_equal(exp_select(lenet, N_LENET, "conv1.weight:core",
                                "conv1.weight:ring, conv2.weight:ring", EXP_ITEMS_LAYER, &sel,
                                &err), CGPC_ERR_ARG);
    assert_null(sel.inputs);
    assert_int_equal(exp_item_mode_from_name("kernel"), EXP_ITEMS_KERNEL);
    assert_int_equal(exp_item_mode_from_name("bogus"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select__layer_bypass__all_conv1_to_all_conv2),
        cmocka_unit_test(select__le_selector__no_input_all_2550_conv_weights),
        cmocka_unit_test(select__single_channel__six_items_core_to_ring),
        cmocka_unit_test(select__single_filter_and_reversed),
        cmocka_unit_test(select__all_layers__one_item_per_layer_padded),
        cmocka_unit_test(select__worst_case__literal_values),
        cmocka_unit_test(select__explicit_filters),
        cmocka_unit_test(select__bad_selectors__clear_errors),
    };
    return cmocka_run_group_tests_name("exp", tests, NULL, NULL);
}
