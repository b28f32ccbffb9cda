/* test_coords.c - cmocka suite for coordinate inputs (src/exp/coords.c, issue 18 part 2): the
 * data items of `inputs = coords` on hand-made tensors and a hand-made layer, computed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgp/cgp.h"
#include "exp/config.h"
#include "exp/coords.h"
#include "exp/experiment.h"
#include "exp/resfile.h"
#include "exp/select.h"

/* A conv tensor [O=3, I=2, KH=2, KW=3] (36 weights) and a linear one [130, 200]. */
static const struct exp_tensor hand[] = {{"a.weight", 3, 2, 2, 3}, {"fc.weight", 130, 200, 1, 1}};

static void expect_item(const struct exp_selection *sel, int d, const int *coords, int tensor,
                        int64_t offset)
{
    for (int c = 0; c < sel->n_inputs; c++) {
        const struct exp_ref *r = &sel->inputs[(size_t)d * sel->n_inputs + c];
        assert_int_equal(r->kind, EXP_REF_COORD);
        if (r->offset != coords[c])
            fail_msg("item %d input %d: %lld, expected %d", d, c, (long long)r->offset, coords[c]);
    }
    assert_int_equal(sel->outputs[d].kind, EXP_REF_WEIGHT);
    assert_int_equal(sel->outputs[d].tensor, tensor);
    assert_int_equal(sel->outputs[d].offset, offset);
}

static void select_coords__hand_tensors__one_item_per_weight_exact(void **state)
{
    (void)state;
    struct exp_selection sel;
    /* a[2,1,1,1]: offset ((2*2 + 1)*2 + 1)*3 + 1 = 34; inputs o, i, ky, kx */
    assert_int_equal(exp_select(hand, 2, " coords ", "a.weight[out=2;in=1;pos=4]", EXP_ITEMS_ONE,
                                &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_items, 1);
    assert_int_equal(sel.n_inputs, 4);
    assert_int_equal(sel.n_outputs, 1);
    assert_int_equal(sel.n_selected_outputs, 1);
    expect_item(&sel, 0, (int[]){2, 1, 1, 1}, 0, 34);
    assert_int_equal(sel.inputs[2].tensor, EXP_COORD_KY);
    exp_selection_free(&sel);
    /* a[1]: 12 items in memory order, offsets 12..23 */
    assert_int_equal(exp_select(hand, 2, "coords", "a.weight[out=1]", EXP_ITEMS_ONE, &sel, NULL),
                     CGPC_OK);
    assert_int_equal(sel.n_items, 12);
    expect_item(&sel, 0, (int[]){1, 0, 0, 0}, 0, 12);
    expect_item(&sel, 5, (int[]){1, 0, 1, 2}, 0, 17);
    expect_item(&sel, 7, (int[]){1, 1, 0, 1}, 0, 19);
    expect_item(&sel, 11, (int[]){1, 1, 1, 2}, 0, 23);
    exp_selection_free(&sel);
    /* fc[129,150]: 130 outputs and 200 inputs need the high parts: o mod 128 = 1, i mod 128 =
     * 22, ky = kx = 0, o / 128 = 1, i / 128 = 1; offset 129*200 + 150 = 25950 */
    assert_int_equal(exp_select(hand, 2, "coords", "fc.weight[out=129;in=150]", EXP_ITEMS_ONE,
                                &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_inputs, 6);
    expect_item(&sel, 0, (int[]){1, 22, 0, 0, 1, 1}, 1, 25950);
    assert_int_equal(sel.inputs[4].tensor, EXP_COORD_OUT_HI);
    assert_int_equal(sel.inputs[5].tensor, EXP_COORD_IN_HI);
    exp_selection_free(&sel);
    /* two tensors: a column t (the tensor's rank among the outputs, in selector order) */
    assert_int_equal(exp_select(hand, 2, "coords", "fc.weight[out=0;in=199], a.weight[out=0;in=0;pos=0]",
                                EXP_ITEMS_ONE, &sel, NULL), CGPC_OK);
    assert_int_equal(sel.n_inputs, 7);
    expect_item(&sel, 0, (int[]){0, 71, 0, 0, 0, 1, 0}, 1, 199);
    expect_item(&sel, 1, (int[]){0, 0, 0, 0, 0, 0, 1}, 0, 0);
    assert_int_equal(sel.inputs[6].tensor, EXP_COORD_TENSOR);
    exp_selection_free(&sel);
}

static void select_coords__misuse__clear_errors(void **state)
{
    (void)state;
    struct exp_selection sel;
    struct cgpc_err err = {0};
    assert_int_equal(exp_select(hand, 2, "coords", "a.weight", EXP_ITEMS_KERNEL, &sel, &err),
                     CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "one item per weight"));
    assert_int_equal(exp_select(hand, 2, "coords", "values=0..3", EXP_ITEMS_ONE, &sel, &err),
                     CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "literal"));
    assert_int_equal(exp_select(hand, 2, "coords", "b.weight", EXP_ITEMS_ONE, &sel, &err),
                     CGPC_ERR_NOT_FOUND);
    assert_null(sel.inputs);
    static const struct exp_tensor huge[] = {{"h.weight", 20000, 1, 1, 1}};
    assert_int_equal(exp_select(huge, 1, "coords", "h.weight[out=0]", EXP_ITEMS_ONE, &sel, &err),
                     CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "beyond int8"));
    assert_true(exp_selector_is_coords("coords") && !exp_selector_is_coords("coordsx") &&
                !exp_selector_is_coords("conv1.weight"));
}

static const char *root_path(char *buf, size_t cap, const char *rel)
{
    const char *root = getenv("CGPC_ROOT");
    snprintf(buf, cap, "%s/%s", root ? root : ".", rel);
    return buf;
}

/* The hand-made layer: conv1 [6,1,5,5] of the shipped model with codes 10*o + 2*ky - kx - 5,
 * saved as a model of its own. */
static int hand_code(int o, int ky, int kx) { return 10 * o + 2 * ky - kx - 5; }

/* Write the hand-made layer's model to a fresh temp file (path in model_path[] of >= 32) and
 * set up `inputs = coords, outputs = conv1.weight` on it. */
static void hand_setup(char *model_path, struct exp_config *cfg, struct exp_setup *s)
{
    char path[1024];
    strcpy(model_path, "/tmp/cgpc-coords-XXXXXX");
    int fd = mkstemp(model_path);
    assert_true(fd >= 0);
    close(fd);
    struct nn_model m;
    assert_int_equal(nn_model_load(root_path(path, sizeof path,
                                             "models/lenet5-mnist-int8.safetensors"), &m, NULL),
                     CGPC_OK);
    int8_t *codes;
    struct nn_layer *layer;
    int64_t shape[4];
    int ndim;
    assert_int_equal(nn_model_weight_codes(&m, "conv1.weight", &codes, &layer, shape, &ndim, NULL),
                     CGPC_OK);
    for (int k = 0; k < 150; k++)
        codes[k] = (int8_t)hand_code(k / 25, k % 25 / 5, k % 5);
    assert_int_equal(nn_model_save(&m, model_path, NULL), CGPC_OK);
    nn_model_free(&m);
    exp_config_defaults(cfg);
    assert_int_equal(exp_config_set(cfg, "model", model_path, "test", NULL), CGPC_OK);
    assert_int_equal(exp_config_set(cfg, "inputs", "coords", "test", NULL), CGPC_OK);
    assert_int_equal(exp_config_set(cfg, "outputs", "conv1.weight", "test", NULL), CGPC_OK);
    assert_int_equal(exp_config_validate(cfg, NULL), CGPC_OK);
    assert_int_equal(exp_setup_init(s, cfg, NULL), CGPC_OK);
}

/* The exact circuit out = 10*o + 2*ky - kx - 5 on the coordinate inputs. */
static const char exact_token[] = "n0=shl1(i0);n1=shl2(n0);n2=add(n0,n1);n3=shl1(i2);n4=add(n2,n3);"
                                  "n5=sub(n4,i3);n6=const1();n7=shl2(n6);n8=add(n7,n6);"
                                  "n9=sub(n5,n8);out=n9";

static void setup_coords__hand_made_layer__inputs_targets_and_way_back_exact(void **state)
{
    (void)state;
    char model_path[64];
    struct exp_config cfg;
    struct exp_setup s;
    hand_setup(model_path, &cfg, &s);
    const struct cgp_dataset *ds = &s.ds;
    assert_int_equal(ds->n_items, 150);
    assert_int_equal(ds->n_inputs, 4);
    assert_int_equal(ds->n_outputs, 1);
    assert_int_equal(s.n_weights_out, 150);
    assert_int_equal(s.params.value_slots, 0); /* the data set has inputs */
    /* item 37 = conv1[1,0,2,2]: inputs (1, 0, 2, 2), target 10 + 4 - 2 - 5 = 7;
     * item 149 = conv1[5,0,4,4]: (5, 0, 4, 4), 50 + 8 - 4 - 5 = 49 */
    const int item[2] = {37, 149}, want_in[2][4] = {{1, 0, 2, 2}, {5, 0, 4, 4}}, want[2] = {7, 49};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 4; i++)
            assert_int_equal(ds->in[(size_t)i * ds->stride + item[k]], want_in[k][i]);
        assert_int_equal(ds->target[item[k]], want[k]);
        assert_int_equal(ds->care[item[k]], 1);
    }
    for (int d = 0; d < 150; d++) {
        int o = ds->in[d], ky = ds->in[2 * ds->stride + d], kx = ds->in[3 * ds->stride + d];
        assert_int_equal(ds->in[ds->stride + d], 0);
        assert_int_equal(o * 25 + ky * 5 + kx, d);
        assert_int_equal(ds->target[d], hand_code(o, ky, kx));
    }
    /* the circuit out = 10*o + 2*ky - kx - 5 is exact; its outputs go back into the codes */
    struct cgp_genome g;
    assert_int_equal(cgp_circuit_token_parse(exact_token, 4, &g, NULL), CGPC_OK);
    int8_t out[150];
    assert_int_equal(cgp_eval_reference(&g, ds, out, NULL), CGPC_OK);
    for (int d = 0; d < 150; d++)
        assert_int_equal(out[d], ds->target[d]);
    for (int d = 0; d < 150; d++)
        out[d] = (int8_t)(d - 75);
    assert_int_equal(exp_apply_outputs(&s, out), 150);
    assert_int_equal(s.codes[0][37], 37 - 75);
    cgp_genome_free(&g);
    exp_setup_free(&s);
    unlink(model_path);
}

/* Coordinates + residual (resid's file, exp/resfile.h): encode the hand-made layer with the
 * exact circuit and with the constant-zero one, bounds 0, 1, 2, 4; `cgpc eval --residual`'s
 * decoder (exp_resid_open) rebuilds it from the file alone: bit-exact at e = 0, within e
 * otherwise; the exact circuit's residual is all zeros, so it codes smaller. */
static void residual_coords__hand_made_layer__file_round_trip(void **state)
{
    (void)state;
    char model_path[64], res_path[] = "/tmp/cgpc-coords-res-XXXXXX";
    struct exp_config cfg;
    struct exp_setup s;
    hand_setup(model_path, &cfg, &s);
    int fd = mkstemp(res_path);
    assert_true(fd >= 0);
    close(fd);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    assert_non_null(mem);
    assert_int_equal(exp_config_write(&cfg, mem, NULL), CGPC_OK);
    fclose(mem);
    const char *tokens[2] = {exact_token, "n0=const0();out=n0"};
    const int bounds[4] = {0, 1, 2, 4};
    uint64_t stored[2][4];
    for (int c = 0; c < 2; c++) {
        struct cgp_genome g;
        assert_int_equal(cgp_circuit_token_parse(tokens[c], 4, &g, NULL), CGPC_OK);
        for (int b = 0; b < 4; b++) {
            struct exp_resid_info info;
            assert_int_equal(exp_resid_encode(&s, &g, bounds[b], text, res_path, &info, NULL),
                             CGPC_OK);
            stored[c][b] = info.stored_bits;
            struct exp_resid_file f;
            struct exp_setup back;
            int64_t written;
            assert_int_equal(exp_resid_open(res_path, NULL, &f, &back, &written, NULL), CGPC_OK);
            assert_int_equal(written, 150);
            for (int k = 0; k < 150; k++) {
                int want = hand_code(k / 25, k % 25 / 5, k % 5), got = back.codes[0][k];
                if (got - want > bounds[b] || want - got > bounds[b])
                    fail_msg("circuit %d bound %d: weight %d rebuilt %d, true %d", c, bounds[b],
                             k, got, want);
            }
            exp_resid_file_free(&f);
            exp_setup_free(&back);
        }
        cgp_genome_free(&g);
    }
    for (int b = 0; b < 4; b++)
        assert_true(stored[0][b] < stored[1][b]);
    free(text);
    exp_setup_free(&s);
    unlink(model_path);
    unlink(res_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_coords__hand_tensors__one_item_per_weight_exact),
        cmocka_unit_test(select_coords__misuse__clear_errors),
        cmocka_unit_test(setup_coords__hand_made_layer__inputs_targets_and_way_back_exact),
        cmocka_unit_test(residual_coords__hand_made_layer__file_round_trip),
    };
    return cmocka_run_group_tests_name("coords", tests, NULL, NULL);
}
