/* export.c - Verilog-2001, C99 and DOT text of a circuit; Graphviz and Yosys as external
 * programs. The operator semantics are spelled once per language in verilog_expr() and
 * c_expr(); both must equal cgp_op_scalar() (tests/e2e/export_sim.sh simulates them). */
#include "cgp/export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgp/rundir.h"
#include "common/fileio.h"

extern char **environ;

int cgp_export_format_from_name(const char *name)
{
    static const char *const names[] = {"verilog", "c", "dot"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ---- names -------------------------------------------------------------------------------- */

int cgp_export_name_ok(const char *name)
{
    /* C99 and Verilog-2001 keywords a circuit name could plausibly collide with */
    static const char *const reserved[] = {
        "always", "and", "assign", "auto", "begin", "break", "buf", "case", "char", "const",
        "continue", "default", "do", "double", "else", "end", "endmodule", "enum", "extern",
        "float", "for", "function", "goto", "if", "initial", "inline", "input", "int", "integer",
        "long", "module", "nand", "nor", "not", "or", "output", "reg", "register", "restrict",
        "return", "short", "signed", "sizeof", "static", "struct", "switch", "task", "typedef",
        "union", "unsigned", "void", "volatile", "while", "wire", "xnor", "xor", "main", NULL};
    if (!name || !*name || strlen(name) > 64)
        return 0;
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    for (int i = 0; reserved[i]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return 0;
    return 1;
}

static const char *export_name(const struct cgp_export_opts *o)
{
    return o && o->name ? o->name : "cgpc_circuit";
}

/* Source s of a node input or output gene as an identifier: i<s> or n<k>_<op>. */
static const char *src_name(const struct cgp_genome *g, int s, char *buf, size_t cap)
{
    const int ni = g->shape.n_inputs, A = g->shape.node_arity;
    if (s < ni)
        snprintf(buf, cap, "i%d", s);
    else
        snprintf(buf, cap, "n%d_%s", s - ni,
                 cgpc_op_name(g->genes[(size_t)(s - ni) * (A + 1) + A]));
    return buf;
}

/* ---- the active circuit -------------------------------------------------------------------- */

struct active {
    uint8_t *node;  /* [n_nodes] 1 = active */
    uint8_t *input; /* [n_inputs] 1 = read by an active node or an output */
    int n_active;
    int uses_mux;
};

static void active_free(struct active *a)
{
    free(a->node);
    free(a->input);
}

static cgpc_status active_init(struct active *a, const struct cgp_genome *g, struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    memset(a, 0, sizeof *a);
    uint32_t *stamp = calloc((size_t)s->n_nodes + 1, sizeof *stamp);
    int32_t *stack = malloc((2 * (size_t)s->n_nodes + 1) * sizeof *stack);
    int32_t *order = malloc(((size_t)s->n_nodes + 1) * sizeof *order);
    a->node = calloc((size_t)s->n_nodes + 1, 1);
    a->input = calloc((size_t)ni + 1, 1);
    if (!stamp || !stack || !order || !a->node || !a->input) {
        free(stamp);
        free(stack);
        free(order);
        active_free(a);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "export: %d nodes", s->n_nodes);
    }
    a->n_active = cgp_decode_active(s, g->genes, stamp, 1, stack, order);
    for (int i = 0; i < a->n_active; i++) {
        int k = order[i];
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        a->node[k] = 1;
        a->uses_mux |= ng[A] == CGPC_OP_MUX2 || ng[A] == CGPC_OP_MUX4;
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            if (ng[j] < ni)
                a->input[ng[j]] = 1;
    }
    const int32_t *out = g->genes + (size_t)s->n_nodes * (A + 1);
    for (int o = 0; o < s->n_outputs; o++)
        if (out[o] < ni)
            a->input[out[o]] = 1;
    free(stamp);
    free(stack);
    free(order);
    return CGPC_OK;
}

/* ---- header comment ----------------------------------------------------------------------- */

static void write_header(FILE *fp, const char *lead, const char *format,
                         const struct cgp_genome *g, const struct active *a,
                         const struct cgp_export_opts *o)
{
    const struct cgp_export_meta *m = o ? o->meta : NULL;
    fprintf(fp, "%s %s of an evolved cgpc circuit, written by `cgpc circuit export`\n", lead,
            format);
    if (m && m->source[0])
        fprintf(fp, "%s source: %s\n", lead, m->source);
    if (m && m->seed[0])
        fprintf(fp, "%s seed: %s\n", lead, m->seed);
    if (m && m->error[0])
        fprintf(fp, "%s error: %s\n", lead, m->error);
    fprintf(fp, "%s %d inputs, %d outputs, %d active nodes of %d (grid %dx%d)%s\n", lead,
            g->shape.n_inputs, g->shape.n_outputs, a->n_active, g->shape.n_nodes, g->shape.rows,
            g->shape.cols, a->uses_mux ? "; muxes select by item (the data item index)" : "");
    fprintf(fp, "%s semantics: int8 two's complement, wrap-around; >> arithmetic; << drops high\n"
                "%s bits; mul keeps the low byte; mux2/mux4 pass input (item mod 2 / item mod 4)\n",
            lead, lead);
}

static const char *port_name(const char *const *names, int i)
{
    return names && names[i] ? names[i] : NULL;
}

/* ---- Verilog --------------------------------------------------------------------------------- */

/* The operator as a Verilog expression over x[0..3] (signed [7:0] operands; the 8-bit
 * assignment keeps the low byte, which is the wrap-around). */
static void verilog_expr(FILE *fp, const char *nm, int op, char x[4][96])
{
    (void)nm;
    switch (op) {
    case CGPC_OP_RSUB127: fprintf(fp, "8'sd127 - %s", x[0]); break;
    case CGPC_OP_ADD: fprintf(fp, "%s + %s", x[0], x[1]); break;
    case CGPC_OP_SUB: fprintf(fp, "%s - %s", x[0], x[1]); break;
    case CGPC_OP_MUL: fprintf(fp, "%s * %s", x[0], x[1]); break;
    case CGPC_OP_NEG: fprintf(fp, "-%s", x[0]); break;
    case CGPC_OP_SUB128: fprintf(fp, "%s ^ 8'sh80", x[0]); break; /* a - 128 == a ^ 0x80 */
    case CGPC_OP_SHR1: fprintf(fp, "%s >>> 1", x[0]); break;
    case CGPC_OP_SHR2: fprintf(fp, "%s >>> 2", x[0]); break;
    case CGPC_OP_SHR3: fprintf(fp, "%s >>> 3", x[0]); break;
    case CGPC_OP_SHR4: fprintf(fp, "%s >>> 4", x[0]); break;
    case CGPC_OP_SHR5: fprintf(fp, "%s >>> 5", x[0]); break;
    case CGPC_OP_AND: fprintf(fp, "%s & %s", x[0], x[1]); break;
    case CGPC_OP_OR: fprintf(fp, "%s | %s", x[0], x[1]); break;
    case CGPC_OP_XOR: fprintf(fp, "%s ^ %s", x[0], x[1]); break;
    case CGPC_OP_NOT: fprintf(fp, "~%s", x[0]); break;
    case CGPC_OP_SHL1: fprintf(fp, "%s << 1", x[0]); break;
    case CGPC_OP_SHL2: fprintf(fp, "%s << 2", x[0]); break;
    case CGPC_OP_SHL3: fprintf(fp, "%s << 3", x[0]); break;
    case CGPC_OP_SHL4: fprintf(fp, "%s << 4", x[0]); break;
    case CGPC_OP_SHL5: fprintf(fp, "%s << 5", x[0]); break;
    case CGPC_OP_INC: fprintf(fp, "%s + 8'sd1", x[0]); break;
    case CGPC_OP_DEC: fprintf(fp, "%s - 8'sd1", x[0]); break;
    case CGPC_OP_CONST1: fprintf(fp, "8'sh01"); break;
    case CGPC_OP_CONSTM1: fprintf(fp, "8'shff"); break;
    case CGPC_OP_CONST0: fprintf(fp, "8'sh00"); break;
    case CGPC_OP_CONSTM128: fprintf(fp, "8'sh80"); break;
    case CGPC_OP_CONST127: fprintf(fp, "8'sh7f"); break;
    case CGPC_OP_ID: fprintf(fp, "%s", x[0]); break;
    case CGPC_OP_MUX2: fprintf(fp, "item[0] ? %s : %s", x[1], x[0]); break;
    case CGPC_OP_MUX4:
        fprintf(fp, "item[1] ? (item[0] ? %s : %s) : (item[0] ? %s : %s)", x[3], x[2], x[1],
                x[0]);
        break;
    default: CGPC_ASSERT(!"unknown operator");
    }
}

/* The body both languages share: one declaration per active node in index order, then the
 * output assignments. decl: "wire signed [7:0]" or "const int8_t"; out_fmt: the assignment of
 * output %d from source %s. */
typedef void (*expr_fn)(FILE *fp, const char *nm, int op, char x[4][96]);
static void write_body(FILE *fp, const struct cgp_genome *g, const struct active *a,
                       const char *nm, const char *decl, expr_fn expr, const char *out_fmt)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    const int32_t *out = g->genes + (size_t)s->n_nodes * (A + 1);
    char buf[96];
    for (int k = 0; k < s->n_nodes; k++) {
        if (!a->node[k])
            continue;
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        char x[4][96] = {"", "", "", ""};
        for (int j = 0; j < cgp_op_arity(ng[A]); j++)
            src_name(g, ng[j], x[j], sizeof x[j]);
        fprintf(fp, "    %s %s = ", decl, src_name(g, ni + k, buf, sizeof buf));
        expr(fp, nm, ng[A], x);
        fprintf(fp, ";\n");
    }
    for (int oi = 0; oi < s->n_outputs; oi++)
        fprintf(fp, out_fmt, oi, src_name(g, out[oi], buf, sizeof buf));
}

static void write_verilog(FILE *fp, const struct cgp_genome *g, const struct active *a,
                          const struct cgp_export_opts *o)
{
    const struct cgp_shape *s = &g->shape;
    const int ni = s->n_inputs;
    const char *const *in_names = o ? o->input_names : NULL;
    const char *const *out_names = o ? o->output_names : NULL;
    write_header(fp, "//", "Verilog-2001", g, a, o);
    fprintf(fp, "`default_nettype none\nmodule %s (\n", export_name(o));
    int ports = ni + s->n_outputs + a->uses_mux, p = 0;
    for (int i = 0; i < ni; i++, p++) {
        const char *nm = port_name(in_names, i);
        fprintf(fp, "    input  wire signed [7:0] i%d%s%s%s%s\n", i, p + 1 < ports ? "," : "",
                nm ? " // " : "", nm ? nm : "", a->input[i] ? "" : (nm ? " (unused)" : " // unused"));
    }
    if (a->uses_mux) {
        p++;
        fprintf(fp, "    input  wire [1:0] item%s // data item index mod 4 (mux select)\n",
                p < ports ? "," : "");
    }
    for (int oi = 0; oi < s->n_outputs; oi++, p++) {
        const char *nm = port_name(out_names, oi);
        fprintf(fp, "    output wire signed [7:0] o%d%s%s%s\n", oi, p + 1 < ports ? "," : "",
                nm ? " // " : "", nm ? nm : "");
    }
    fprintf(fp, ");\n");
    write_body(fp, g, a, export_name(o), "wire signed [7:0]", verilog_expr,
               "    assign o%d = %s;\n");
    fprintf(fp, "endmodule\n`default_nettype wire\n");
}

/* ---- C ------------------------------------------------------------------------------------ */

/* The operator as a C99 expression over x[0..3] (int8_t values). NAME_u8(v) is v's bit
 * pattern as unsigned 0..255, NAME_s8(u) the int8 whose bit pattern is u's low byte, NAME_sar
 * the arithmetic right shift: all defined for every value, no implementation-defined
 * conversion or shift of a negative number. */
static void c_expr(FILE *fp, const char *nm, int op, char x[4][96])
{
    const char *a = x[0], *b = x[1];
    switch (op) {
    case CGPC_OP_RSUB127: fprintf(fp, "%s_s8(127u - %s_u8(%s))", nm, nm, a); break;
    case CGPC_OP_ADD: fprintf(fp, "%s_s8(%s_u8(%s) + %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_SUB: fprintf(fp, "%s_s8(%s_u8(%s) - %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_MUL: fprintf(fp, "%s_s8(%s_u8(%s) * %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_NEG: fprintf(fp, "%s_s8(0u - %s_u8(%s))", nm, nm, a); break;
    case CGPC_OP_SUB128: fprintf(fp, "%s_s8(%s_u8(%s) - 128u)", nm, nm, a); break;
    case CGPC_OP_SHR1: fprintf(fp, "%s_sar(%s, 1)", nm, a); break;
    case CGPC_OP_SHR2: fprintf(fp, "%s_sar(%s, 2)", nm, a); break;
    case CGPC_OP_SHR3: fprintf(fp, "%s_sar(%s, 3)", nm, a); break;
    case CGPC_OP_SHR4: fprintf(fp, "%s_sar(%s, 4)", nm, a); break;
    case CGPC_OP_SHR5: fprintf(fp, "%s_sar(%s, 5)", nm, a); break;
    case CGPC_OP_AND: fprintf(fp, "%s_s8(%s_u8(%s) & %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_OR: fprintf(fp, "%s_s8(%s_u8(%s) | %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_XOR: fprintf(fp, "%s_s8(%s_u8(%s) ^ %s_u8(%s))", nm, nm, a, nm, b); break;
    case CGPC_OP_NOT: fprintf(fp, "%s_s8(~%s_u8(%s))", nm, nm, a); break;
    case CGPC_OP_SHL1: fprintf(fp, "%s_s8(%s_u8(%s) << 1)", nm, nm, a); break;
    case CGPC_OP_SHL2: fprintf(fp, "%s_s8(%s_u8(%s) << 2)", nm, nm, a); break;
    case CGPC_OP_SHL3: fprintf(fp, "%s_s8(%s_u8(%s) << 3)", nm, nm, a); break;
    case CGPC_OP_SHL4: fprintf(fp, "%s_s8(%s_u8(%s) << 4)", nm, nm, a); break;
    case CGPC_OP_SHL5: fprintf(fp, "%s_s8(%s_u8(%s) << 5)", nm, nm, a); break;
    case CGPC_OP_INC: fprintf(fp, "%s_s8(%s_u8(%s) + 1u)", nm, nm, a); break;
    case CGPC_OP_DEC: fprintf(fp, "%s_s8(%s_u8(%s) - 1u)", nm, nm, a); break;
    case CGPC_OP_CONST1: fprintf(fp, "1"); break;
    case CGPC_OP_CONSTM1: fprintf(fp, "-1"); break;
    case CGPC_OP_CONST0: fprintf(fp, "0"); break;
    case CGPC_OP_CONSTM128: fprintf(fp, "-128"); break;
    case CGPC_OP_CONST127: fprintf(fp, "127"); break;
    case CGPC_OP_ID: fprintf(fp, "%s", a); break;
    case CGPC_OP_MUX2: fprintf(fp, "(sel & 1u) ? %s : %s", b, a); break;
    case CGPC_OP_MUX4:
        fprintf(fp, "(sel & 2u) ? ((sel & 1u) ? %s : %s) : ((sel & 1u) ? %s : %s)", x[3], x[2],
                b, a);
        break;
    default: CGPC_ASSERT(!"unknown operator");
    }
}

static void write_c(FILE *fp, const struct cgp_genome *g, const struct active *a,
                    const struct cgp_export_opts *o)
{
    const struct cgp_shape *s = &g->shape;
    const int ni = s->n_inputs;
    const char *nm = export_name(o);
    const char *const *in_names = o ? o->input_names : NULL;
    const char *const *out_names = o ? o->output_names : NULL;
    fprintf(fp, "/*\n");
    write_header(fp, " *", "C99", g, a, o);
    fprintf(fp, " * No dependency besides <stdint.h>; no undefined or implementation-defined\n"
                " * behaviour (unsigned arithmetic, explicit sign handling).\n */\n");
    fprintf(fp, "#include <stdint.h>\n\n");
    fprintf(fp, "static inline unsigned %s_u8(int8_t v) { return (unsigned)(uint8_t)v; }\n", nm);
    fprintf(fp, "static inline int8_t %s_s8(unsigned u)\n{\n    u &= 0xFFu;\n"
                "    return (int8_t)(u < 128u ? (int)u : (int)u - 256);\n}\n", nm);
    fprintf(fp, "static inline int8_t %s_sar(int8_t v, int k)\n{\n"
                "    unsigned u = %s_u8(v) >> k;\n"
                "    return %s_s8(v < 0 ? u | (0xFFu << (8 - k)) : u);\n}\n\n", nm, nm, nm);
    fprintf(fp, "/* in[%d], out[%d]%s\n", ni, s->n_outputs,
            a->uses_mux ? "; item: the data item index (muxes pass input item mod 2 / mod 4)" : "");
    for (int i = 0; in_names && i < ni; i++)
        fprintf(fp, " *   in[%d] = %s%s\n", i, in_names[i], a->input[i] ? "" : " (unused)");
    for (int oi = 0; out_names && oi < s->n_outputs; oi++)
        fprintf(fp, " *   out[%d] = %s\n", oi, out_names[oi]);
    fprintf(fp, " */\n");
    fprintf(fp, "void %s(const int8_t *in, int8_t *out%s)\n{\n", nm, a->uses_mux ? ", int item" : "");
    if (a->uses_mux)
        fprintf(fp, "    const unsigned sel = (unsigned)item & 3u;\n");
    int any_input = 0;
    for (int i = 0; i < ni; i++)
        any_input |= a->input[i];
    if (!any_input)
        fprintf(fp, "    (void)in;\n");
    for (int i = 0; i < ni; i++)
        if (a->input[i])
            fprintf(fp, "    const int8_t i%d = in[%d];\n", i, i);
    write_body(fp, g, a, nm, "const int8_t", c_expr, "    out[%d] = %s;\n");
    fprintf(fp, "}\n");
}

/* A tensor name as a C identifier: "features.1.conv.0.0.weight" -> "features_1_conv_0_0_weight". */
static void c_ident(const char *name, char *buf, size_t cap)
{
    size_t n = 0;
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_') &&
        n + 1 < cap)
        buf[n++] = '_';
    for (const char *p = name; *p && n + 1 < cap; p++)
        buf[n++] = ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9')) ? *p : '_';
    buf[n] = 0;
}

static void write_table(FILE *fp, const char *nm, const char *what, const char *type, int items,
                        int per, const int32_t *tensor, const int64_t *offset, int want_offset)
{
    fprintf(fp, "static const %s %s_%s[%d] = {", type, nm, what, items * per > 0 ? items * per : 1);
    if (items * per == 0)
        fprintf(fp, "0");
    for (int i = 0; i < items * per; i++)
        fprintf(fp, "%s%s%" PRId64, i ? "," : "", i % 16 == 0 ? "\n    " : " ",
                want_offset ? (tensor[i] < 0 && tensor[i] != CGP_EXPORT_LITERAL ? -1 : offset[i])
                            : (int64_t)tensor[i]);
    fprintf(fp, "\n};\n");
}

cgpc_status cgp_export_c_weights(const struct cgp_genome *g, const struct cgp_export_opts *o,
                                 const struct cgp_export_weights *w, FILE *fp,
                                 struct cgpc_err *err)
{
    const struct cgp_shape *s = &g->shape;
    const char *nm = export_name(o);
    if (!cgp_export_name_ok(nm))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "name '%s': expected an identifier [A-Za-z_][A-Za-z0-9_]* "
                         "of at most 64 characters that is no C or Verilog keyword", nm);
    if (w->n_inputs != s->n_inputs || w->n_outputs != s->n_outputs)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "weights: the circuit has %d inputs and %d outputs, "
                         "the weight map %d and %d", s->n_inputs, s->n_outputs, w->n_inputs,
                         w->n_outputs);
    int *written = calloc((size_t)w->n_tensors + 1, sizeof *written);
    if (!written)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "weights");
    for (size_t i = 0; i < (size_t)w->n_items * w->n_outputs; i++)
        if (w->out_tensor[i] >= 0)
            written[w->out_tensor[i]] = 1;
    struct active a;
    cgpc_status st = active_init(&a, g, err);
    if (st != CGPC_OK) {
        free(written);
        return st;
    }
    char id[160];
    fprintf(fp, "\n/* ---- weight regeneration (CMSIS-NN style: weights stay int8 in place) ----\n"
                " * %s_weights() evaluates %s once per data item (%d items): it gathers the kept\n"
                " * weights the circuit reads, runs it and writes its outputs over the weights it\n"
                " * replaces. Tensors are int8 in the model's memory order (PyTorch [O][I][KH][KW]). */\n",
            nm, nm, w->n_items);
    for (int t = 0; t < w->n_tensors; t++) {
        c_ident(w->tensor_names[t], id, sizeof id);
        fprintf(fp, "#define %s_%s_SIZE %" PRId64 " /* %s */\n", nm, id, w->tensor_sizes[t],
                w->tensor_names[t]);
    }
    /* tensor index -1: padding input (0) / output that is no weight (dropped); -2: the input
     * is the offset itself (a coordinate) */
    write_table(fp, nm, "in_tensor", "int16_t", w->n_items, w->n_inputs, w->in_tensor, NULL, 0);
    write_table(fp, nm, "in_offset", "int32_t", w->n_items, w->n_inputs, w->in_tensor,
                w->in_offset, 1);
    write_table(fp, nm, "out_tensor", "int16_t", w->n_items, w->n_outputs, w->out_tensor, NULL, 0);
    write_table(fp, nm, "out_offset", "int32_t", w->n_items, w->n_outputs, w->out_tensor,
                w->out_offset, 1);
    fprintf(fp, "\nvoid %s_weights(", nm);
    for (int t = 0; t < w->n_tensors; t++) {
        c_ident(w->tensor_names[t], id, sizeof id);
        fprintf(fp, "%s%sint8_t *%s", t ? ", " : "", written[t] ? "" : "const ", id);
    }
    fprintf(fp, "%s)\n{\n", w->n_tensors ? "" : "void");
    fprintf(fp, "    const int8_t *const src[%d] = {", w->n_tensors ? w->n_tensors : 1);
    for (int t = 0; t < w->n_tensors; t++) {
        c_ident(w->tensor_names[t], id, sizeof id);
        fprintf(fp, "%s%s", t ? ", " : "", id);
    }
    fprintf(fp, "%s};\n    int8_t *const dst[%d] = {", w->n_tensors ? "" : "0",
            w->n_tensors ? w->n_tensors : 1);
    for (int t = 0; t < w->n_tensors; t++) {
        c_ident(w->tensor_names[t], id, sizeof id);
        fprintf(fp, "%s%s", t ? ", " : "", written[t] ? id : "0");
    }
    fprintf(fp, "%s};\n", w->n_tensors ? "" : "0");
    fprintf(fp, "    int8_t in[%d], out[%d];\n", s->n_inputs ? s->n_inputs : 1,
            s->n_outputs ? s->n_outputs : 1);
    fprintf(fp, "    (void)src;\n    (void)dst;\n");
    fprintf(fp, "    for (int d = 0; d < %d; d++) {\n", w->n_items);
    fprintf(fp, "        for (int i = 0; i < %d; i++) {\n"
                "            int t = %s_in_tensor[d * %d + i];\n"
                "            int32_t off = %s_in_offset[d * %d + i];\n"
                "            in[i] = t >= 0 ? src[t][off] : t == %d ? (int8_t)off : 0;\n"
                "        }\n", s->n_inputs, nm, s->n_inputs, nm, s->n_inputs, CGP_EXPORT_LITERAL);
    fprintf(fp, "        %s(in, out%s);\n", nm, a.uses_mux ? ", d" : "");
    fprintf(fp, "        for (int o = 0; o < %d; o++) {\n"
                "            int t = %s_out_tensor[d * %d + o];\n"
                "            if (t >= 0)\n"
                "                dst[t][%s_out_offset[d * %d + o]] = out[o];\n"
                "        }\n    }\n}\n", s->n_outputs, nm, s->n_outputs, nm, s->n_outputs);
    active_free(&a);
    free(written);
    if (fflush(fp) != 0 || ferror(fp))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the weight function failed");
    return CGPC_OK;
}

/* ---- DOT ------------------------------------------------------------------------------------ */

/* A label string for DOT: quotes and backslashes escaped. */
static void dot_escaped(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', fp);
        fputc(*s, fp);
    }
}

static void write_dot(FILE *fp, const struct cgp_genome *g, const struct active *a,
                      const struct cgp_export_opts *o)
{
    const struct cgp_shape *s = &g->shape;
    const int A = s->node_arity, ni = s->n_inputs;
    const int32_t *out = g->genes + (size_t)s->n_nodes * (A + 1);
    const char *const *in_names = o ? o->input_names : NULL;
    const char *const *out_names = o ? o->output_names : NULL;
    char buf[96];
    write_header(fp, "//", "Graphviz DOT", g, a, o);
    fprintf(fp, "digraph %s {\n    rankdir=LR;\n    node [fontname=\"Helvetica\", fontsize=10];\n"
                "    edge [fontname=\"Helvetica\", fontsize=8];\n", export_name(o));
    for (int i = 0; i < ni; i++) {
        if (!a->input[i])
            continue;
        const char *pn = port_name(in_names, i);
        fprintf(fp, "    i%d [shape=box, style=filled, fillcolor=\"#dbe8f7\", label=\"i%d%s", i, i,
                pn ? "\\n" : "");
        if (pn)
            dot_escaped(fp, pn);
        fprintf(fp, "\"];\n");
    }
    if (a->uses_mux)
        fprintf(fp, "    item [shape=box, style=filled, fillcolor=\"#f7efd2\", label=\"item\\n(data item index)\"];\n");
    for (int k = 0; k < s->n_nodes; k++) {
        if (!a->node[k])
            continue;
        const int32_t *ng = g->genes + (size_t)k * (A + 1);
        int op = ng[A], ar = cgp_op_arity(op);
        const char *name = src_name(g, ni + k, buf, sizeof buf);
        fprintf(fp, "    %s [shape=%s, label=\"%s\\nn%d\"];\n", name, ar == 0 ? "plaintext" : "ellipse",
                cgpc_op_name(op), k);
        /* operand order matters for sub and the muxes: label those edges */
        int ordered = op == CGPC_OP_SUB || op == CGPC_OP_MUX2 || op == CGPC_OP_MUX4;
        for (int j = 0; j < ar; j++) {
            char from[96];
            fprintf(fp, "    %s -> %s", src_name(g, ng[j], from, sizeof from), name);
            if (ordered)
                fprintf(fp, " [label=\"%d\"]", j);
            fprintf(fp, ";\n");
        }
        if (op == CGPC_OP_MUX2 || op == CGPC_OP_MUX4)
            fprintf(fp, "    item -> %s [style=dashed];\n", name);
    }
    /* one box per distinct output source, listing the outputs (and names) it drives */
    for (int oi = 0; oi < s->n_outputs; oi++) {
        int first = 1;
        for (int p = 0; p < oi; p++)
            first &= out[p] != out[oi];
        if (!first)
            continue;
        int n = 0;
        for (int p = oi; p < s->n_outputs; p++)
            n += out[p] == out[oi];
        fprintf(fp, "    o%d [shape=box, style=filled, fillcolor=\"#dcf2dc\", label=\"", oi);
        int shown = 0;
        for (int p = oi; p < s->n_outputs && shown < 6; p++) {
            if (out[p] != out[oi])
                continue;
            const char *pn = port_name(out_names, p);
            fprintf(fp, "%so%d", shown ? "\\n" : "", p);
            if (pn) {
                fprintf(fp, " ");
                dot_escaped(fp, pn);
            }
            shown++;
        }
        if (n > shown)
            fprintf(fp, "\\n(+%d more outputs)", n - shown);
        fprintf(fp, "\"];\n    %s -> o%d;\n", src_name(g, out[oi], buf, sizeof buf), oi);
    }
    fprintf(fp, "}\n");
}

cgpc_status cgp_export_write(const struct cgp_genome *g, enum cgp_export_format format,
                             const struct cgp_export_opts *o, FILE *fp, struct cgpc_err *err)
{
    const char *nm = export_name(o);
    if (!cgp_export_name_ok(nm))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "name '%s': expected an identifier [A-Za-z_][A-Za-z0-9_]* "
                         "of at most 64 characters that is no C or Verilog keyword", nm);
    struct active a;
    cgpc_status st = active_init(&a, g, err);
    if (st != CGPC_OK)
        return st;
    switch (format) {
    case CGP_EXPORT_VERILOG: write_verilog(fp, g, &a, o); break;
    case CGP_EXPORT_C: write_c(fp, g, &a, o); break;
    case CGP_EXPORT_DOT: write_dot(fp, g, &a, o); break;
    }
    active_free(&a);
    if (fflush(fp) != 0 || ferror(fp))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the %s export failed",
                         format == CGP_EXPORT_VERILOG ? "Verilog" : format == CGP_EXPORT_C ? "C" : "DOT");
    return CGPC_OK;
}

/* ---- provenance ----------------------------------------------------------------------------- */

cgpc_status cgp_export_meta_load(struct cgp_export_meta *meta, const char *chr_path,
                                 struct cgpc_err *err)
{
    memset(meta, 0, sizeof *meta);
    snprintf(meta->source, sizeof meta->source, "%s", chr_path);
    unsigned char *text;
    size_t len;
    cgpc_status st = cgpc_read_file(chr_path, &text, &len, err);
    if (st != CGPC_OK)
        return st;
    /* the evolver's comments (src/cgp/run.c write_best) */
    int run = -1, per_weight = 0;
    char kind[16] = "", reached[8] = "", error[64] = "", metric[64] = "";
    for (char *line = (char *)text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strncmp(line, "nodes", 5) == 0)
            break;
        /* "for threshold 4 per weight (mse 16, reached)"; before per-weight names:
         * "for threshold 16 (mse error reached)" */
        if (sscanf(line, "# best of run %d for threshold %*s per weight (%15[a-z]", &run,
                   kind) < 2)
            sscanf(line, "# best of run %d for threshold %*s (%15s error", &run, kind);
        sscanf(line, "# reached %7s", reached);
        if (sscanf(line, "# error %63s", error) == 1 && strstr(line, " per weight (")) {
            per_weight = 1;
            sscanf(strstr(line, " per weight (") + 13, "%*s %63[^)]", metric);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    const char *how = strcmp(reached, "yes") == 0 ? "reached" : "not reached";
    if (error[0] && per_weight)
        snprintf(meta->error, sizeof meta->error, "%s per weight (%s %s, threshold %s)", error,
                 kind, metric, how);
    else if (error[0])
        snprintf(meta->error, sizeof meta->error, "%s (%s%sthreshold %s)", error, kind,
                 kind[0] ? ", " : "", how);
    /* the seed: config.txt of the same directory, through the run-directory module (run r's
     * streams are keyed by (seed, r)); the run from the file name best.<run>.<T>.chr */
    char dir[4200];
    const char *slash = strrchr(chr_path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - chr_path) : 1, slash ? chr_path : ".");
    struct cgp_params p;
    if (cgp_config_load(dir, &p, NULL) == CGPC_OK) {
        int file_run = cgp_rundir_run_of_file(slash ? slash + 1 : chr_path);
        run = file_run >= 0 ? file_run : run;
        if (run >= 0)
            snprintf(meta->seed, sizeof meta->seed, "%" PRIu64 ", run %d", p.seed, run);
        else
            snprintf(meta->seed, sizeof meta->seed, "%" PRIu64, p.seed);
    }
    return CGPC_OK;
}

/* ---- external programs ---------------------------------------------------------------------- */

cgpc_status cgp_export_run_program(char *const argv[], const char *cwd, const char *log_path,
                                   struct cgpc_err *err)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: cannot prepare to run it", argv[0]);
    /* in this order: the log opens relative to our directory, then the child changes to cwd */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return CGPC_FAIL(err, rc == ENOENT ? CGPC_ERR_NOT_FOUND : CGPC_ERR_IO,
                         "%s: cannot run it (%s)%s", argv[0], strerror(rc),
                         rc == ENOENT ? "; is it installed? (scripts/install-deps.sh)" : "");
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return CGPC_FAIL(err, CGPC_ERR_IO, "%s: waiting for it failed", argv[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "%s: could not be started (see %s)", argv[0],
                         log_path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s failed (%s %d; see %s)", argv[0],
                         WIFEXITED(status) ? "exit status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_path);
    return CGPC_OK;
}

cgpc_status cgp_export_render(const char *dot_path, int n, const char *const *formats,
                              const char *const *out_paths, const char *log_path,
                              struct cgpc_err *err)
{
    enum { MAX_IMAGES = 4 };
    if (n < 1 || n > MAX_IMAGES)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "render: 1 to %d images, not %d", MAX_IMAGES, n);
    char tmp[MAX_IMAGES][4200], fmt[MAX_IMAGES][16], in[4200];
    char *argv[2 + 3 * MAX_IMAGES + 1];
    int argc = 0;
    snprintf(in, sizeof in, "%s", dot_path);
    argv[argc++] = "dot";
    argv[argc++] = in;
    cgpc_status st = CGPC_OK;
    for (int i = 0; i < n && st == CGPC_OK; i++) {
        if (strcmp(formats[i], "svg") != 0 && strcmp(formats[i], "png") != 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "render: '%s': expected svg or png", formats[i]);
        st = cgpc_atomic_tmp_path(out_paths[i], tmp[i], sizeof tmp[i], err);
        snprintf(fmt[i], sizeof fmt[i], "-T%s", formats[i]);
        argv[argc++] = fmt[i];
        argv[argc++] = "-o";
        argv[argc++] = tmp[i];
    }
    argv[argc] = NULL;
    if (st == CGPC_OK)
        st = cgp_export_run_program(argv, NULL, log_path, err);
    for (int i = 0; i < n; i++) {
        if (st == CGPC_OK)
            st = cgpc_atomic_commit(tmp[i], out_paths[i], err);
        else
            unlink(tmp[i]);
    }
    return st;
}

/* ---- Yosys ------------------------------------------------------------------------------------ */

static const struct {
    const char *name, *yosys;
    int transistors;
} synth_cells[CGP_SYNTH_CELL_COUNT] = {
#define CGP_SYNTH_INFO(sym, yosys_name, transistors) {#sym, yosys_name, transistors},
    CGP_SYNTH_CELL_LIST(CGP_SYNTH_INFO)
#undef CGP_SYNTH_INFO
};

const char *cgp_synth_cell_name(int cell)
{
    return cell >= 0 && cell < CGP_SYNTH_CELL_COUNT ? synth_cells[cell].name : NULL;
}

int cgp_synth_cell_transistors(int cell)
{
    return cell >= 0 && cell < CGP_SYNTH_CELL_COUNT ? synth_cells[cell].transistors : -1;
}

/* Parse Yosys `stat` output: "Number of cells: N", then "  $_X_  count" lines, and the
 * `stat -tech cmos` line "Estimated number of transistors: N". */
static cgpc_status parse_stat(const char *path, struct cgp_synth_result *r, struct cgpc_err *err)
{
    unsigned char *text;
    size_t len;
    cgpc_status st = cgpc_read_file(path, &text, &len, err);
    if (st != CGPC_OK)
        return st;
    memset(r, 0, sizeof *r);
    r->yosys_transistors = -1;
    int seen_cells = 0, line_no = 0, in_first = 1;
    for (char *line = (char *)text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        line_no++;
        char cell[64];
        long n;
        const char *p = line + strspn(line, " \t");
        if (sscanf(p, "Number of cells: %ld", &n) == 1) {
            if (seen_cells++ == 0)
                r->cells = n;
            else
                in_first = 0; /* the second `stat` (-tech cmos) repeats the counts */
        } else if (in_first && seen_cells && sscanf(p, "%63s %ld", cell, &n) == 2 && cell[0] == '$') {
            int found = -1;
            for (int c = 0; c < CGP_SYNTH_CELL_COUNT; c++)
                if (strcmp(cell, synth_cells[c].yosys) == 0)
                    found = c;
            if (found < 0) {
                free(text);
                return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s:%d: cell type %s is not in the gate "
                                 "library (NOT NAND NOR AND OR XOR XNOR MUX)", path, line_no, cell);
            }
            r->count[found] += n;
        } else if (sscanf(p, "Estimated number of transistors: %ld", &n) == 1) {
            r->yosys_transistors = n;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (!seen_cells)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: no 'Number of cells' line (not Yosys stat "
                         "output?)", path);
    long sum = 0;
    for (int c = 0; c < CGP_SYNTH_CELL_COUNT; c++) {
        sum += r->count[c];
        r->transistors += r->count[c] * synth_cells[c].transistors;
    }
    if (sum != r->cells)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %ld cells listed by type, %ld in total", path,
                         sum, r->cells);
    return CGPC_OK;
}

cgpc_status cgp_synth_yosys(const struct cgp_genome *g, const struct cgp_export_opts *o,
                            const char *yosys, const char *work_dir, struct cgp_synth_result *r,
                            struct cgpc_err *err)
{
    const char *nm = export_name(o);
    char vpath[4200], spath[4200], log[4200], stat[4200];
    snprintf(vpath, sizeof vpath, "%s/%s.v", work_dir, nm);
    snprintf(spath, sizeof spath, "%s/synth.ys", work_dir);
    snprintf(log, sizeof log, "%s/yosys.log", work_dir);
    snprintf(stat, sizeof stat, "%s/stat.txt", work_dir);
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, vpath, err);
    if (st != CGPC_OK)
        return st;
    if ((st = cgp_export_write(g, CGP_EXPORT_VERILOG, o, af.fp, err)) != CGPC_OK) {
        cgpc_atomic_abort(&af);
        return st;
    }
    if ((st = cgpc_atomic_close(&af, err)) != CGPC_OK)
        return st;
    if ((st = cgpc_atomic_open(&af, spath, err)) != CGPC_OK)
        return st;
    fprintf(af.fp,
            "# written by cgpc circuit synth: generic synthesis, then a fixed gate library\n"
            "read_verilog %s.v\nsynth -top %s\nabc -g AND,NAND,OR,NOR,XOR,XNOR,MUX\nopt_clean\n"
            "tee -o stat.txt stat\ntee -a stat.txt stat -tech cmos\n", nm, nm);
    if ((st = cgpc_atomic_close(&af, err)) != CGPC_OK)
        return st;
    /* yosys runs in work_dir: the script's file names are relative to it */
    char *argv[] = {(char *)(yosys ? yosys : "yosys"), "-q", "-s", "synth.ys", NULL};
    if ((st = cgp_export_run_program(argv, work_dir, log, err)) != CGPC_OK)
        return st;
    return parse_stat(stat, r, err);
}
