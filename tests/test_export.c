/* test_export.c - cmocka suite for src/cgp/export (Verilog, C, DOT text; names; provenance;
 * Yosys statistics through a fake yosys) and src/exp/ports (port names, weight maps). The
 * exports' semantics are checked by simulation in tests/e2e/export_sim.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgp/export.h"
#include "cgp/rundir.h"
#include "common/fileio.h"
#include "exp/ports.h"

/* A 1x4 grid (2 inputs, node-inputs A): node 0 = add(i0,i1), node 1 = op1(n0,i1) (inactive
 * unless an output reads it), node 2 = op2(n0,i0,i1,n0), node 3 = shr1(n2). Outputs given. */
static void make_genome(struct cgp_genome *g, int A, int op1, int op2, const int32_t *outs, int n_out)
{
    struct cgp_shape s;
    struct cgp_fset f;
    int32_t ops[] = {CGPC_OP_ADD, CGPC_OP_SUB, CGPC_OP_SHR1, CGPC_OP_MUL, CGPC_OP_MUX2, CGPC_OP_MUX4,
                     CGPC_OP_XOR};
    cgp_shape_make(&s, 1, 4, 4, 2, n_out, A);
    cgp_fset_make(&f, ops, A == 4 ? 7 : 5);
    assert_int_equal(cgp_genome_init(g, &s, &f, NULL), CGPC_OK);
    int32_t nodes[4][5] = {{0, 1, 0, 0, CGPC_OP_ADD}, {2, 1, 0, 0, op1}, {2, 0, 1, 2, op2},
                           {4, 4, 4, 4, CGPC_OP_SHR1}};
    for (int k = 0; k < 4; k++) {
        for (int j = 0; j < A; j++)
            g->genes[k * (A + 1) + j] = nodes[k][j];
        g->genes[k * (A + 1) + A] = nodes[k][4];
    }
    for (int o = 0; o < n_out; o++)
        g->genes[4 * (A + 1) + o] = outs[o];
}

/* Export into a malloc'ed string. */
static char *export_text(const struct cgp_genome *g, enum cgp_export_format fmt,
                         const struct cgp_export_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    assert_int_equal(cgp_export_write(g, fmt, o, fp, NULL), CGPC_OK);
    fclose(fp);
    return buf;
}

static void name_ok__identifiers_and_keywords__checked(void **state)
{
    (void)state;
    assert_true(cgp_export_name_ok("conv1_ring"));
    assert_true(cgp_export_name_ok("_x9"));
    assert_false(cgp_export_name_ok("9x"));
    assert_false(cgp_export_name_ok("a-b"));
    assert_false(cgp_export_name_ok(""));
    assert_false(cgp_export_name_ok("module"));
    assert_false(cgp_export_name_ok("int"));
    assert_int_equal(cgp_export_format_from_name("verilog"), CGP_EXPORT_VERILOG);
    assert_int_equal(cgp_export_format_from_name("c"), CGP_EXPORT_C);
    assert_int_equal(cgp_export_format_from_name("dot"), CGP_EXPORT_DOT);
    assert_int_equal(cgp_export_format_from_name("vhdl"), -1);
}

static void verilog__inactive_nodes__omitted_no_item_port(void **state)
{
    (void)state;
    struct cgp_genome g;
    int32_t outs[] = {5, 1}; /* node 3 (shr1 of node 2 = sub) and input 1 */
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, outs, 2);
    struct cgp_export_opts o = {"m", NULL, NULL, NULL};
    char *v = export_text(&g, CGP_EXPORT_VERILOG, &o);
    assert_non_null(strstr(v, "module m ("));
    assert_non_null(strstr(v, "wire signed [7:0] n0_add = i0 + i1;"));
    assert_non_null(strstr(v, "wire signed [7:0] n2_sub = n0_add - i0;"));
    assert_non_null(strstr(v, "wire signed [7:0] n3_shr1 = n2_sub >>> 1;"));
    assert_null(strstr(v, "n1_mul")); /* inactive */
    assert_null(strstr(v, "input  wire [1:0] item"));
    assert_non_null(strstr(v, "assign o0 = n3_shr1;"));
    assert_non_null(strstr(v, "assign o1 = i1;"));
    free(v);
    char *c = export_text(&g, CGP_EXPORT_C, &o);
    assert_non_null(strstr(c, "void m(const int8_t *in, int8_t *out)\n"));
    assert_non_null(strstr(c, "const int8_t n3_shr1 = m_sar(n2_sub, 1);"));
    assert_null(strstr(c, "n1_mul"));
    free(c);
    cgp_genome_free(&g);
}

static void verilog_c__active_mux__item_port_and_argument(void **state)
{
    (void)state;
    struct cgp_genome g;
    int32_t outs[] = {4};
    make_genome(&g, 4, CGPC_OP_MUL, CGPC_OP_MUX4, outs, 1);
    char *v = export_text(&g, CGP_EXPORT_VERILOG, NULL);
    assert_non_null(strstr(v, "module cgpc_circuit ("));
    assert_non_null(strstr(v, "input  wire [1:0] item"));
    assert_non_null(strstr(v, "n2_mux4 = item[1] ? (item[0] ? n0_add : i1) : (item[0] ? i0 : n0_add);"));
    free(v);
    char *c = export_text(&g, CGP_EXPORT_C, NULL);
    assert_non_null(strstr(c, "int8_t *out, int item)"));
    assert_non_null(strstr(c, "(sel & 2u) ? ((sel & 1u) ? n0_add : i1) : ((sel & 1u) ? i0 : n0_add)"));
    free(c);
    cgp_genome_free(&g);
}

static void dot__shared_sources__one_box_names_escaped(void **state)
{
    (void)state;
    struct cgp_genome g;
    int32_t outs[] = {2, 2, 0};
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, outs, 3);
    const char *in_names[] = {"a[\"0\"]", "b"};
    const char *out_names[] = {"w[0]", "w[1]", "w[2]"};
    struct cgp_export_opts o = {"g", NULL, in_names, out_names};
    char *d = export_text(&g, CGP_EXPORT_DOT, &o);
    assert_non_null(strstr(d, "digraph g {"));
    assert_non_null(strstr(d, "label=\"i0\\na[\\\"0\\\"]\""));
    assert_non_null(strstr(d, "label=\"o0 w[0]\\no1 w[1]\"]"));
    assert_null(strstr(d, "    o1 ["));
    assert_non_null(strstr(d, "    i0 -> o2;"));
    assert_non_null(strstr(d, "n0_add [shape=ellipse, label=\"add\\nn0\"]"));
    assert_null(strstr(d, "n1_mul"));
    free(d);
    cgp_genome_free(&g);
    /* outputs reading input 0 only: no node, no input 1 */
    int32_t only_i0[] = {0, 0, 0};
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, only_i0, 3);
    d = export_text(&g, CGP_EXPORT_DOT, &o);
    assert_non_null(strstr(d, "    i0 ["));
    assert_null(strstr(d, "    i1 ["));
    assert_null(strstr(d, "n0_add"));
    assert_non_null(strstr(d, "0 active nodes of 4"));
    free(d);
    cgp_genome_free(&g);
}

static void write__bad_name__arg_error(void **state)
{
    (void)state;
    struct cgp_genome g;
    int32_t outs[] = {2};
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, outs, 1);
    struct cgp_export_opts o = {"while", NULL, NULL, NULL};
    struct cgpc_err err = {0};
    FILE *fp = fopen("/dev/null", "w");
    assert_int_equal(cgp_export_write(&g, CGP_EXPORT_C, &o, fp, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "while"));
    fclose(fp);
    cgp_genome_free(&g);
}

static void meta_load__evolver_comments_and_config__filled(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-test-export-XXXXXX", path[256], cfg[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/best.1.4.chr", dir);
    snprintf(cfg, sizeof cfg, "%s/config.txt", dir);
    const char *chr = "cgpc-chromosome v1\n# best of run 1 for threshold 4 (mse error reached)\n"
                      "# reached yes\n# error 0.25\nnodes\n# error 9\n";
    assert_int_equal(cgpc_write_file_atomic(path, chr, strlen(chr), NULL), CGPC_OK);
    struct cgp_export_meta m;
    assert_int_equal(cgp_export_meta_load(&m, path, NULL), CGPC_OK);
    assert_string_equal(m.error, "0.25 (mse, threshold reached)"); /* an older chromosome */
    assert_string_equal(m.seed, ""); /* no config.txt */
    /* per-weight comments (src/cgp/run.c write_best) */
    const char *pw = "cgpc-chromosome v1\n# best of run 1 for threshold 2 per weight (se 160, "
                     "NOT reached)\n# reached no (never)\n# error 2.5 per weight (se 250)\n"
                     "nodes\n";
    assert_int_equal(cgpc_write_file_atomic(path, pw, strlen(pw), NULL), CGPC_OK);
    assert_int_equal(cgp_export_meta_load(&m, path, NULL), CGPC_OK);
    assert_string_equal(m.error, "2.5 per weight (se 250, threshold not reached)");
    struct cgp_params p;
    cgp_params_default(&p);
    p.seed = 42;
    assert_int_equal(cgp_config_save(dir, &p, NULL), CGPC_OK);
    assert_int_equal(cgp_export_meta_load(&m, path, NULL), CGPC_OK);
    assert_string_equal(m.seed, "42, run 1");
    assert_string_equal(m.source, path);
    unlink(cfg);
    unlink(path);
    rmdir(dir);
    assert_int_equal(cgp_export_meta_load(&m, path, NULL), CGPC_ERR_IO);
}

/* A fake yosys: a shell script that writes the given stat text (the seam for parse checks). */
static void fake_yosys(const char *dir, const char *stat_text, char *prog, size_t cap)
{
    snprintf(prog, cap, "%s/fake-yosys", dir);
    char script[2048];
    snprintf(script, sizeof script, "#!/bin/sh\ncat > stat.txt <<'EOF'\n%sEOF\n", stat_text);
    assert_int_equal(cgpc_write_file_atomic(prog, script, strlen(script), NULL), CGPC_OK);
    assert_int_equal(chmod(prog, 0755), 0);
}

static void synth__stat_output__cells_and_transistors(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-test-export-XXXXXX", prog[256];
    assert_non_null(mkdtemp(dir));
    struct cgp_genome g;
    int32_t outs[] = {2};
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, outs, 1);
    fake_yosys(dir,
               "=== m ===\n   Number of cells:                 11\n     $_AND_  2\n"
               "     $_NOT_ 1\n     $_XOR_ 8\n\n=== m ===\n   Number of cells: 11\n     $_AND_ 2\n"
               "     $_NOT_ 1\n     $_XOR_ 8\n   Estimated number of transistors:        110\n",
               prog, sizeof prog);
    struct cgp_synth_result r;
    struct cgp_export_opts o = {"m", NULL, NULL, NULL};
    assert_int_equal(cgp_synth_yosys(&g, &o, prog, dir, &r, NULL), CGPC_OK);
    assert_int_equal(r.cells, 11);
    assert_int_equal(r.count[CGP_SYNTH_AND], 2);
    assert_int_equal(r.count[CGP_SYNTH_NOT], 1);
    assert_int_equal(r.count[CGP_SYNTH_XOR], 8);
    assert_int_equal(r.transistors, 2 * 6 + 2 + 8 * 12);
    assert_int_equal(r.yosys_transistors, 110);
    char vpath[300];
    snprintf(vpath, sizeof vpath, "%s/m.v", dir);
    assert_true(cgpc_path_exists(vpath));
    /* a cell outside the library, and counts that do not add up, are errors */
    struct cgpc_err err = {0};
    fake_yosys(dir, "   Number of cells: 3\n     $_AOI3_ 3\n", prog, sizeof prog);
    assert_int_equal(cgp_synth_yosys(&g, &o, prog, dir, &r, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "$_AOI3_"));
    fake_yosys(dir, "   Number of cells: 4\n     $_OR_ 3\n", prog, sizeof prog);
    assert_int_equal(cgp_synth_yosys(&g, &o, prog, dir, &r, &err), CGPC_ERR_FORMAT);
    /* a program that is not there */
    snprintf(prog, sizeof prog, "%s/none", dir);
    assert_int_equal(cgp_synth_yosys(&g, &o, prog, dir, &r, &err), CGPC_ERR_NOT_FOUND);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cgp_genome_free(&g);
}

/* ---- src/exp/ports ------------------------------------------------------------------------- */

static void ports__kernel_layer_padding__named_and_mapped(void **state)
{
    (void)state;
    struct exp_tensor tensors[3] = {{"conv1.weight", 6, 1, 5, 5}, {"fc.weight", 10, 84, 1, 1},
                                    {"conv2.weight", 16, 6, 5, 5}};
    /* 2 items, 3 inputs, 2 outputs */
    struct exp_ref in[6] = {
        {EXP_REF_WEIGHT, 0, 0 * 25 + 6}, {EXP_REF_WEIGHT, 0, 7}, {EXP_REF_WEIGHT, 1, 84 + 3},
        {EXP_REF_WEIGHT, 0, 1 * 25 + 6}, {EXP_REF_WEIGHT, 2, 7}, {EXP_REF_ZERO, -1, 0}};
    struct exp_ref out[4] = {{EXP_REF_WEIGHT, 0, 0}, {EXP_REF_DONT_CARE, -1, 0},
                             {EXP_REF_WEIGHT, 0, 25}, {EXP_REF_LITERAL, -1, -5}};
    struct exp_setup s;
    memset(&s, 0, sizeof s);
    s.tensors = tensors;
    s.n_tensors = 3;
    s.sel = (struct exp_selection){2, 3, 2, in, out, 3};
    struct exp_ports p;
    assert_int_equal(exp_ports_init(&p, &s, NULL), CGPC_OK);
    assert_string_equal(p.input_names[0], "conv1.weight[*,0,1,1]");
    assert_string_equal(p.input_names[1], "item 0: conv1.weight[0,0,1,2] | item 1: conv2.weight[0,0,1,2]");
    assert_string_equal(p.input_names[2], "fc.weight[1,3]");
    assert_string_equal(p.output_names[0], "conv1.weight[*,0,0,0]");
    assert_string_equal(p.output_names[1], "unused (don't care)");
    /* the map: only the touched tensors, in model order */
    assert_int_equal(p.weights.n_tensors, 3);
    assert_string_equal(p.weights.tensor_names[0], "conv1.weight");
    assert_int_equal(p.weights.tensor_sizes[1], 840);
    assert_int_equal(p.weights.in_tensor[5], -1);
    assert_int_equal(p.weights.in_offset[3], 31);
    assert_int_equal(p.weights.out_tensor[3], -1);
    assert_int_equal(p.weights.out_tensor[2], 0);
    exp_ports_free(&p);
    exp_ports_free(NULL);
    struct exp_ref lit = {EXP_REF_LITERAL, -1, -5};
    char buf[64];
    exp_ref_name(tensors, &lit, buf, sizeof buf);
    assert_string_equal(buf, "value -5");
}

static void c_weights__map__tables_and_const_inputs(void **state)
{
    (void)state;
    struct cgp_genome g;
    int32_t outs[] = {2, 3};
    make_genome(&g, 2, CGPC_OP_MUL, CGPC_OP_SUB, outs, 2);
    const char *names[] = {"conv1.weight", "features.1.conv.0.0.weight"};
    int64_t sizes[] = {150, 9};
    int32_t in_t[] = {0, -1}, out_t[] = {1, -1};
    int64_t in_o[] = {12, 0}, out_o[] = {4, 0};
    struct cgp_export_weights w = {2, names, sizes, 1, 2, 2, in_t, in_o, out_t, out_o};
    struct cgp_export_opts o = {"k", NULL, NULL, NULL};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_int_equal(cgp_export_c_weights(&g, &o, &w, fp, NULL), CGPC_OK);
    fclose(fp);
    assert_non_null(strstr(buf, "void k_weights(const int8_t *conv1_weight, int8_t *features_1_conv_0_0_weight)"));
    assert_non_null(strstr(buf, "#define k_features_1_conv_0_0_weight_SIZE 9"));
    assert_non_null(strstr(buf, "k_in_offset[2] = {\n    12, -1\n};"));
    assert_non_null(strstr(buf, "        k(in, out);"));
    free(buf);
    w.n_outputs = 3;
    struct cgpc_err err = {0};
    fp = fopen("/dev/null", "w");
    assert_int_equal(cgp_export_c_weights(&g, &o, &w, fp, &err), CGPC_ERR_ARG);
    fclose(fp);
    cgp_genome_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_ok__identifiers_and_keywords__checked),
        cmocka_unit_test(verilog__inactive_nodes__omitted_no_item_port),
        cmocka_unit_test(verilog_c__active_mux__item_port_and_argument),
        cmocka_unit_test(dot__shared_sources__one_box_names_escaped),
        cmocka_unit_test(write__bad_name__arg_error),
        cmocka_unit_test(meta_load__evolver_comments_and_config__filled),
        cmocka_unit_test(synth__stat_output__cells_and_transistors),
        cmocka_unit_test(ports__kernel_layer_padding__named_and_mapped),
        cmocka_unit_test(c_weights__map__tables_and_const_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
