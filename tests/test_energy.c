/* test_energy.c - cmocka suite for src/energy: circuit accounting (sums, critical paths,
 * depth), the default table and its shipped file, gate-cost and memory file parsing with every
 * error kind, and LeNet-5 inference accounting checked against hand arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "common/fileio.h"
#include "common/rng.h"
#include "energy/energy.h"
#include "energy/storage.h"
#include "energy/textfile.h"

#define assert_near(a, b, tol)                                                                \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol)))                                          \
            fail_msg("%s = %.17g, expected %s = %.17g (tolerance %g)", #a, a_, #b, b_,        \
                     (double)(tol));                                                          \
    } while (0)

/* ---- circuit accounting ------------------------------------------------------------------ */

/* A table where operator k costs 2^k pJ, so an energy sum says exactly which gates were
 * counted; delay is k + 1 ns; area 1 um^2 for physical gates, 0 for the free ones. */
static void binary_table(struct energy_gate_table *t)
{
    energy_gate_table_default(t);
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        int physical = t->op[op].area_um2 > 0;
        t->op[op] = (struct energy_gate_cost){(double)(1u << op), physical ? op + 1 : 0, physical};
    }
}

#define MAX_SOURCES 64

static struct energy_circuit_cost account(const struct energy_gate_table *t,
                                          const struct energy_node *nodes, int n_nodes,
                                          int n_inputs, const int32_t *outputs, int n_outputs)
{
    double arrival[MAX_SOURCES];
    int depth[MAX_SOURCES];
    struct energy_circuit_cost c;
    assert_true(n_inputs + n_nodes <= MAX_SOURCES);
    energy_circuit_account(t, nodes, n_nodes, n_inputs, outputs, n_outputs, arrival, depth, &c);
    return c;
}

/* All five results of a circuit; energies, delays and areas within 1e-9. */
static void assert_cost(struct energy_circuit_cost c, double pj, double ns, double um2, int gates,
                        int depth)
{
    assert_near(c.energy_pj, pj, 1e-9);
    assert_near(c.delay_ns, ns, 1e-9);
    assert_near(c.area_um2, um2, 1e-9);
    assert_int_equal(c.gates, gates);
    assert_int_equal(c.depth, depth);
}

static void circuit_account__sums_and_critical_path(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* inputs 0,1,2; n3 = in0*in1; n4 = n3 + in2; n5 = n4 >> 1 (free); outputs n5, n3 */
    struct energy_node nodes[] = {
        {CGPC_OP_MUL, {0, 1}}, {CGPC_OP_ADD, {3, 2}}, {CGPC_OP_SHR1, {4}}};
    int32_t outputs[] = {5, 3};
    assert_cost(account(&t, nodes, 3, 3, outputs, 2), 0.2 + 0.03, 1.43 + 0.63, 709.6 + 70.4, 2, 2);
}

static void circuit_account__diamond__longer_branch_is_critical(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* in0 fans out to a short branch (not) and a long one (mul then add), which rejoin in xor:
     *   n1 = ~in0; n2 = in0 * in0; n3 = n2 + in0; n4 = n1 ^ n3 */
    struct energy_node nodes[] = {{CGPC_OP_NOT, {0}},
                                  {CGPC_OP_MUL, {0, 0}},
                                  {CGPC_OP_ADD, {2, 0}},
                                  {CGPC_OP_XOR, {1, 3}}};
    int32_t out[] = {4};
    /* critical path: mul, add, xor; the not is off it */
    double pj = 0.00258 + 0.2 + 0.03 + 0.00258, ns = 1.43 + 0.63 + 0.05418;
    double um2 = 6.0544 + 709.6 + 70.4 + 6.0544;
    assert_cost(account(&t, nodes, 4, 1, out, 1), pj, ns, um2, 4, 3);
    /* The same diamond, with the branches swapped in the xor: same answer. */
    nodes[3] = (struct energy_node){CGPC_OP_XOR, {3, 1}};
    assert_cost(account(&t, nodes, 4, 1, out, 1), pj, ns, um2, 4, 3);
}

static void circuit_account__free_gates__add_no_delay_depth_or_gates(void **state)
{
    (void)state;
    struct energy_gate_table t;
    binary_table(&t);
    /* in0 -> shl1 -> id -> add(.., in1) -> shr2 -> out: one physical gate */
    struct energy_node nodes[] = {{CGPC_OP_SHL1, {0}},
                                  {CGPC_OP_ID, {2}},
                                  {CGPC_OP_ADD, {3, 1}},
                                  {CGPC_OP_SHR2, {4}}};
    int32_t out[] = {5};
    /* energies are 2^op, so the sum proves every given gate was counted exactly once */
    double want = (double)((1u << CGPC_OP_SHL1) | (1u << CGPC_OP_ID) | (1u << CGPC_OP_ADD) |
                           (1u << CGPC_OP_SHR2));
    assert_cost(account(&t, nodes, 4, 2, out, 1), want, CGPC_OP_ADD + 1, 1, 1, 1);
}

static void circuit_account__constants__no_inputs_zero_delay(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* No primary inputs at all: n0 = 127, n1 = -1, n2 = n0 + n1, outputs n2 and n0. */
    struct energy_node nodes[] = {
        {CGPC_OP_CONST127, {0}}, {CGPC_OP_CONSTM1, {0}}, {CGPC_OP_ADD, {0, 1}}};
    int32_t out[] = {2, 0};
    assert_cost(account(&t, nodes, 3, 0, out, 2), 0.03, 0.63, 70.4, 1, 1);

    /* A constant alone as the output: nothing physical. Its `in` holds garbage that must not
     * be read (arity 0). */
    struct energy_node lone[] = {{CGPC_OP_CONST0, {-7, 99, -1, 1000}}};
    int32_t out0[] = {3};
    assert_cost(account(&t, lone, 1, 3, out0, 1), 0, 0, 0, 0, 0);
}

static void circuit_account__mux__reads_arity_inputs_only(void **state)
{
    (void)state;
    struct energy_gate_table t;
    binary_table(&t);
    /* in0..in3; n4 = in0 * in1 (late); n5 = mux4(in2, n4, in3, in0); n6 = mux2(n5, in1) with
     * garbage in its unused slots */
    struct energy_node nodes[] = {{CGPC_OP_MUL, {0, 1}},
                                  {CGPC_OP_MUX4, {2, 4, 3, 0}},
                                  {CGPC_OP_MUX2, {5, 1, -5, 12345}}};
    int32_t out[] = {6};
    double pj = (double)((1u << CGPC_OP_MUL) | (1u << CGPC_OP_MUX4) | (1u << CGPC_OP_MUX2));
    double ns = (CGPC_OP_MUL + 1) + (CGPC_OP_MUX4 + 1) + (CGPC_OP_MUX2 + 1);
    assert_cost(account(&t, nodes, 3, 4, out, 1), pj, ns, 3, 3, 3);
    /* The mux4's late input moved to its last slot: still on the critical path. */
    nodes[1] = (struct energy_node){CGPC_OP_MUX4, {2, 3, 0, 4}};
    assert_cost(account(&t, nodes, 3, 4, out, 1), pj, ns, 3, 3, 3);
}

static void circuit_account__outputs__max_over_outputs_and_inputs_pass_through(void **state)
{
    (void)state;
    struct energy_gate_table t;
    binary_table(&t);
    /* n2 = in0 & in1 (shallow), n3 = in0 - in1, n4 = n3 + n2 (deep) */
    struct energy_node nodes[] = {
        {CGPC_OP_AND, {0, 1}}, {CGPC_OP_SUB, {0, 1}}, {CGPC_OP_ADD, {3, 2}}};
    /* energy, area and gates count every given gate, also those no output reads */
    double pj = (double)((1u << CGPC_OP_AND) | (1u << CGPC_OP_SUB) | (1u << CGPC_OP_ADD));
    int32_t shallow[] = {2, 1};
    assert_cost(account(&t, nodes, 3, 2, shallow, 2), pj, CGPC_OP_AND + 1, 3, 3, 1);
    int32_t both[] = {2, 4};
    double and_then_add = (CGPC_OP_AND + 1) + (CGPC_OP_ADD + 1);
    double sub_then_add = (CGPC_OP_SUB + 1) + (CGPC_OP_ADD + 1);
    double ns = and_then_add > sub_then_add ? and_then_add : sub_then_add;
    assert_cost(account(&t, nodes, 3, 2, both, 2), pj, ns, 3, 3, 2);
    int32_t wire[] = {0};
    assert_cost(account(&t, nodes, 0, 2, wire, 1), 0, 0, 0, 0, 0);
}

/* ---- the default table -------------------------------------------------------------------- */

static void gate_table_default__every_row_sourced_and_derivations_hold(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        assert_true(strlen(t.source[op]) > 0);
        assert_true(t.op[op].energy_pj >= 0 && t.op[op].delay_ns >= 0 && t.op[op].area_um2 >= 0);
        /* free (zero-area) gates also cost no energy or time */
        if (t.op[op].area_um2 == 0)
            assert_true(t.op[op].energy_pj == 0 && t.op[op].delay_ns == 0);
    }
    /* cited numbers: Horowitz ISSCC 2014, EvoApprox8b */
    assert_near(t.op[CGPC_OP_ADD].energy_pj, 0.03, 0);
    assert_near(t.op[CGPC_OP_MUL].energy_pj, 0.2, 0);
    assert_near(t.op[CGPC_OP_ADD].delay_ns, 0.63, 0);
    assert_near(t.op[CGPC_OP_MUL].area_um2, 709.6, 0);
    assert_near(t.mac.energy_pj, 0.2 + 0.1, 1e-15);
    assert_near(t.mac.delay_ns, 1.43 + 4 * 0.63, 1e-12);
    assert_near(t.mac.area_um2, 709.6 + 4 * 70.4, 1e-9);
    assert_true(strlen(t.mac_source) > 0);
    /* stated assumptions, written as literals in gates.c: check them against their rule */
    const struct energy_gate_cost *add = &t.op[CGPC_OP_ADD], *bw = &t.op[CGPC_OP_AND];
    assert_near(bw->energy_pj, 0.086 * add->energy_pj, 1e-15);
    assert_near(bw->delay_ns, 0.086 * add->delay_ns, 1e-15);
    assert_near(bw->area_um2, 0.086 * add->area_um2, 1e-12);
    assert_near(t.op[CGPC_OP_RSUB127].energy_pj, 7.0 / 8 * bw->energy_pj, 1e-15);
    assert_near(t.op[CGPC_OP_RSUB127].area_um2, 7.0 / 8 * bw->area_um2, 1e-12);
    assert_near(t.op[CGPC_OP_SUB128].energy_pj, bw->energy_pj / 8, 1e-15);
    assert_near(t.op[CGPC_OP_SUB128].area_um2, bw->area_um2 / 8, 1e-12);
    assert_near(t.op[CGPC_OP_MUX2].energy_pj, 0.003, 0);
    assert_near(t.op[CGPC_OP_MUX4].energy_pj, 3 * t.op[CGPC_OP_MUX2].energy_pj, 1e-15);
    assert_near(t.op[CGPC_OP_MUX4].delay_ns, 2 * t.op[CGPC_OP_MUX2].delay_ns, 1e-15);
    assert_near(t.op[CGPC_OP_MUX4].area_um2, 3 * t.op[CGPC_OP_MUX2].area_um2, 1e-12);
    assert_near(t.op[CGPC_OP_SHL3].area_um2 + t.op[CGPC_OP_SHR5].energy_pj, 0, 0);
    assert_near(t.op[CGPC_OP_CONST127].energy_pj + t.op[CGPC_OP_ID].energy_pj, 0, 0);
}

/* Exact equality of two tables: values bit for bit, sources as strings. */
static void assert_tables_equal(const struct energy_gate_table *a, const struct energy_gate_table *b)
{
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        assert_memory_equal(&a->op[op], &b->op[op], sizeof a->op[op]);
        assert_string_equal(a->source[op], b->source[op]);
    }
    assert_memory_equal(&a->mac, &b->mac, sizeof a->mac);
    assert_string_equal(a->mac_source, b->mac_source);
}

static char *shipped_path(void)
{
    static char path[4096];
    const char *root = getenv("CGPC_ROOT");
    snprintf(path, sizeof path, "%s/src/energy/default-gate-costs.csv", root ? root : ".");
    return path;
}

/* Text of energy_gate_table_write(t), malloc'ed. */
static char *table_text(const struct energy_gate_table *t, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(energy_gate_table_write(t, f, NULL), CGPC_OK);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static void gate_table_load__shipped_file__equals_builtin_and_write_reproduces_it(void **state)
{
    (void)state;
    struct energy_gate_table def, loaded;
    energy_gate_table_default(&def);
    memset(&loaded, 0xff, sizeof loaded);
    struct cgpc_err err = {0};
    cgpc_status st = energy_gate_table_load(&loaded, shipped_path(), &err);
    if (st != CGPC_OK)
        fail_msg("%s", err.msg);
    assert_tables_equal(&loaded, &def);

    unsigned char *file;
    size_t file_len, text_len;
    assert_int_equal(cgpc_read_file(shipped_path(), &file, &file_len, NULL), CGPC_OK);
    char *text = table_text(&def, &text_len);
    if (text_len != file_len || memcmp(text, file, file_len) != 0)
        fail_msg("src/energy/default-gate-costs.csv is stale: regenerate it with "
                 "'bin/cgpc energy --dump-gate-costs src/energy/default-gate-costs.csv'");
    free(text);
    free(file);
}

static void gate_table_write__random_values__parse_back_bit_exact(void **state)
{
    (void)state;
    cgpc_rng r;
    for (int round = 0; round < 20; round++) {
        cgpc_rng_seed(&r, 2024, (uint64_t)round, 0);
        struct energy_gate_table t, back;
        energy_gate_table_default(&t);
        for (int op = 0; op < CGPC_OP_COUNT; op++) {
            double scale = round < 10 ? 1 : 1e-9 * (double)(1 + cgpc_rng_below(&r, 1000000));
            t.op[op].energy_pj = cgpc_rng_double(&r) * scale;
            t.op[op].delay_ns = cgpc_rng_double(&r) * 1e6;
            t.op[op].area_um2 = (double)cgpc_rng_u64(&r);
            snprintf(t.source[op], sizeof t.source[op], "src %d, with, commas", op);
        }
        t.mac.energy_pj = cgpc_rng_double(&r);
        t.mac_source[0] = '\0'; /* an empty source is written without its column */
        size_t len;
        char *text = table_text(&t, &len);
        struct cgpc_err err = {0};
        if (energy_gate_table_parse(&back, text, len, "mem", &err) != CGPC_OK)
            fail_msg("%s", err.msg);
        assert_tables_equal(&back, &t);
        free(text);
    }
}

static void text_format_double__shortest_exact_and_plain_decimals(void **state)
{
    (void)state;
    const struct { double v; const char *want; } cases[] = {
        {0, "0"}, {0.03, "0.03"}, {25920, "25920"}, {7265367, "7265367"}, {15598.08, "15598.08"},
        {0.0022575, "0.0022575"}, {1e20, "1e+20"}, {5e-05, "5e-05"}, {0.1 + 0.2, "0.30000000000000004"},
    };
    char buf[48];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        energy_text_format_double(buf, sizeof buf, cases[i].v);
        assert_string_equal(buf, cases[i].want);
    }
    cgpc_rng r;
    cgpc_rng_seed(&r, 7, 0, 0);
    for (int i = 0; i < 100000; i++) {
        /* magnitudes from 1e-8 to 1e18, across the switch between the two notations */
        double v = cgpc_rng_double(&r) * pow(10, (double)cgpc_rng_below(&r, 27) - 8);
        energy_text_format_double(buf, sizeof buf, v);
        if (strtod(buf, NULL) != v)
            fail_msg("%.17g written as '%s'", v, buf);
    }
}

/* ---- gate-cost file errors ---------------------------------------------------------------- */

/* The default text with the row for `name` replaced by `row` (removed if row is NULL); when
 * `append` is set, `row` is added after the last line instead. *line gets the 1-based line
 * number of the edited row. */
static char *edited_defaults(const char *name, const char *row, int append, int *line)
{
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    char *text = table_text(&t, NULL);
    char *out = malloc(strlen(text) + (row ? strlen(row) : 0) + 2);
    assert_non_null(out);
    size_t keylen = strlen(name), used = 0;
    int n = 0;
    *line = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        n++;
        if (!append && strncmp(p, name, keylen) == 0 && p[keylen] == ',') {
            *line = n;
            if (row)
                used += (size_t)sprintf(out + used, "%s\n", row);
        } else {
            memcpy(out + used, p, len);
            used += len;
        }
        p += len;
    }
    if (append) {
        used += (size_t)sprintf(out + used, "%s\n", row);
        *line = n + 1;
    }
    out[used] = '\0';
    free(text);
    return out;
}

/* Parse `text` as "bad.csv", expect CGPC_ERR_FORMAT with a message holding `want`, and the
 * table left untouched. */
static void expect_gate_error(const char *text, const char *want)
{
    struct energy_gate_table t, before;
    binary_table(&t);
    before = t;
    struct cgpc_err err = {0};
    cgpc_status st = energy_gate_table_parse(&t, text, strlen(text), "bad.csv", &err);
    if (st != CGPC_ERR_FORMAT)
        fail_msg("expected a format error containing '%s', got status %d: '%s'", want, st, err.msg);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' does not contain '%s'", err.msg, want);
    assert_memory_equal(&t, &before, sizeof t);
}

/* One edited row, expecting `what` at "bad.csv:<line of the row>: ". */
static void expect_row_error(const char *name, const char *row, int append, const char *what)
{
    int line;
    char *text = edited_defaults(name, row, append, &line);
    assert_true(line > 0);
    char want[256];
    snprintf(want, sizeof want, "bad.csv:%d: %s", line, what);
    expect_gate_error(text, want);
    free(text);
}

static void gate_table_parse__bad_values__error_names_file_line_and_field(void **state)
{
    (void)state;
    expect_row_error("add", "add,-0.03,0.63,70.4", 0, "energy_pJ '-0.03': must not be negative");
    expect_row_error("mul", "mul,0.2,-1,709.6", 0, "delay_ns '-1': must not be negative");
    expect_row_error("xor", "xor,0.1,0.1,-1e-9,src", 0, "area_um2 '-1e-9': must not be negative");
    expect_row_error("and", "and,inf,0.1,1", 0, "energy_pJ 'inf': must be finite");
    expect_row_error("and", "and,0.1,nan,1", 0, "delay_ns 'nan': must be finite");
    expect_row_error("and", "and,0.1,1e999,1", 0, "delay_ns '1e999': must be finite");
    expect_row_error("or", "or,0.03x,0.1,1", 0, "energy_pJ '0.03x': expected a number");
    expect_row_error("or", "or,,0.1,1", 0, "energy_pJ '': expected a number");
    expect_row_error("or", "or,0.1,0.1", 0, "expected 'name,energy_pJ,delay_ns,area_um2[,source]'");
}

static void gate_table_parse__bad_rows__unknown_duplicate_missing(void **state)
{
    (void)state;
    expect_row_error("add", "adder,0.03,0.63,70.4", 0, "unknown gate 'adder' (known: rsub127, add,");
    expect_row_error("", "mul,0.2,1.43,709.6,again", 1, "duplicate row for 'mul' (first on line");
    expect_row_error("", "mac,0.3,1,1", 1, "duplicate row for 'mac'");
    int line;
    char *text = edited_defaults("mux4", NULL, 0, &line);
    expect_gate_error(text, "bad.csv: 1 row missing: mux4 (every operator");
    free(text);
    text = edited_defaults("mac", NULL, 0, &line);
    expect_gate_error(text, "1 row missing: mac");
    free(text);
    expect_gate_error(ENERGY_GATE_COSTS_MAGIC "\n# only comments\n\n", "31 rows missing: rsub127, add,");
}

static void gate_table_parse__bad_magic__rejected_with_hint(void **state)
{
    (void)state;
    expect_gate_error("", "bad.csv:1: not a cgpc gate-cost file: the first line must be '# cgpc-gate-costs v1'");
    expect_gate_error("name,energy_pJ,delay_ns,area_um2\nadd,1,1,1\n", "bad.csv:1: not a cgpc gate-cost file");
    expect_gate_error(ENERGY_MEMORY_MAGIC "\ndram,1300,word64\n", "bad.csv:1: not a cgpc gate-cost file");
    expect_gate_error("# cgpc-gate-costs v2\n", "bad.csv:1: unsupported gate-cost file version '# cgpc-gate-costs v2'");
    char nul[] = ENERGY_GATE_COSTS_MAGIC "\nadd\0,1,1,1\n";
    struct energy_gate_table t;
    struct cgpc_err err = {0};
    assert_int_equal(energy_gate_table_parse(&t, nul, sizeof nul - 1, "bin", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bin:2: NUL byte"));
    char longline[2000];
    memset(longline, 'x', sizeof longline);
    int head = snprintf(longline, sizeof longline, "%s\nadd,1,1,1,", ENERGY_GATE_COSTS_MAGIC);
    longline[head] = 'x';
    assert_int_equal(energy_gate_table_parse(&t, longline, sizeof longline, "long", &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "long:2: line longer than"));
}

static void gate_table_parse__crlf_comments_no_header_no_sources__accepted(void **state)
{
    (void)state;
    /* Rebuild the default table's values without header or sources, CRLF line ends, with
     * comment and blank lines between rows. */
    struct energy_gate_table def, t;
    energy_gate_table_default(&def);
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "  %s \r\n\r\n", ENERGY_GATE_COSTS_MAGIC);
    for (int row = CGPC_OP_COUNT; row >= 0; row--) { /* reverse order: order is free */
        const struct energy_gate_cost *c = row == CGPC_OP_COUNT ? &def.mac : &def.op[row];
        n += (size_t)snprintf(text + n, sizeof text - n, "# row %d\r\n  %s , %.17g,%.17g ,%.17g\r\n",
                              row, row == CGPC_OP_COUNT ? "mac" : cgpc_op_name(row), c->energy_pj,
                              c->delay_ns, c->area_um2);
    }
    struct cgpc_err err = {0};
    if (energy_gate_table_parse(&t, text, n, "crlf", &err) != CGPC_OK)
        fail_msg("%s", err.msg);
    for (int op = 0; op < CGPC_OP_COUNT; op++) {
        assert_memory_equal(&t.op[op], &def.op[op], sizeof t.op[op]);
        assert_string_equal(t.source[op], "");
    }
    assert_memory_equal(&t.mac, &def.mac, sizeof t.mac);
}

static void gate_table_load__missing_file__io_error_names_path(void **state)
{
    (void)state;
    struct energy_gate_table t;
    struct cgpc_err err = {0};
    assert_int_equal(energy_gate_table_load(&t, "/nonexistent/costs.csv", &err), CGPC_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/costs.csv"));
}

static void gate_table_save__atomic_file__loads_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-energy-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/costs.csv", dir);
    struct energy_gate_table t, back;
    binary_table(&t);
    assert_int_equal(energy_gate_table_save(&t, path, NULL), CGPC_OK);
    assert_int_equal(energy_gate_table_load(&back, path, NULL), CGPC_OK);
    assert_tables_equal(&back, &t);
    struct cgpc_err err = {0};
    snprintf(path, sizeof path, "%s/no/such/dir/costs.csv", dir);
    assert_int_equal(energy_gate_table_save(&t, path, &err), CGPC_ERR_IO);
    snprintf(path, sizeof path, "%s/costs.csv", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- memory ------------------------------------------------------------------------------- */

static void memory_lookup__builtins__horowitz_per_byte(void **state)
{
    (void)state;
    struct { const char *name; double pj_per_64bit; } want[] = {
        {"dram", 1300}, {"sram-8k", 10}, {"sram-32k", 20}, {"sram-1m", 100}};
    assert_int_equal(energy_memory_builtin_count(), 4);
    for (int i = 0; i < 4; i++) {
        struct energy_memory m;
        assert_int_equal(energy_memory_lookup(&m, want[i].name, NULL), CGPC_OK);
        assert_string_equal(m.name, want[i].name);
        assert_near(m.pj_per_byte, want[i].pj_per_64bit / 8, 0);
        assert_true(strstr(m.source, "[H]") != NULL);
        assert_string_equal(energy_memory_builtin(i)->name, want[i].name);
    }
    assert_null(energy_memory_builtin(4));
    assert_null(energy_memory_builtin(-1));
    struct energy_memory m;
    struct cgpc_err err = {0};
    assert_int_equal(energy_memory_lookup(&m, "sram-64k", &err), CGPC_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "'sram-64k': no such memory (built-in: dram, sram-8k, sram-32k, sram-1m)");
    assert_int_equal(energy_memory_lookup(&m, ENERGY_MEMORY_DEFAULT, NULL), CGPC_OK);
}

static void memory_parse__word64_and_byte__per_byte(void **state)
{
    (void)state;
    struct energy_memory m;
    const char *w = ENERGY_MEMORY_MAGIC "\n# a comment\nname,energy_pJ,per,source\n"
                    "hbm, 31.2 ,word64, my figure, with a comma\n";
    struct cgpc_err err = {0};
    if (energy_memory_parse(&m, w, strlen(w), "m.csv", &err) != CGPC_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(m.name, "hbm");
    assert_near(m.pj_per_byte, 31.2 / 8, 0);
    assert_string_equal(m.source, "my figure, with a comma");
    const char *b = ENERGY_MEMORY_MAGIC "\nreg,0.05,byte\n";
    assert_int_equal(energy_memory_parse(&m, b, strlen(b), "m.csv", NULL), CGPC_OK);
    assert_near(m.pj_per_byte, 0.05, 0);
    assert_string_equal(m.source, "");
}

static void memory_parse__bad_files__error_names_file_line(void **state)
{
    (void)state;
    const struct { const char *text, *want; } bad[] = {
        {ENERGY_MEMORY_MAGIC "\nx,1,bit\n", "m.csv:2: per 'bit': expected 'byte' or 'word64'"},
        {ENERGY_MEMORY_MAGIC "\nx,-1,byte\n", "m.csv:2: energy_pJ '-1': must not be negative"},
        {ENERGY_MEMORY_MAGIC "\nx,abc,byte\n", "m.csv:2: energy_pJ 'abc': expected a number"},
        {ENERGY_MEMORY_MAGIC "\nx,1\n", "m.csv:2: expected 'name,energy_pJ,per[,source]', got 2 fields"},
        {ENERGY_MEMORY_MAGIC "\n,1,byte\n", "m.csv:2: name '': expected 1..63 characters"},
        {ENERGY_MEMORY_MAGIC "\nx,1,byte\n\ny,2,byte\n", "m.csv:4: a second memory row (the first is on line 2)"},
        {ENERGY_MEMORY_MAGIC "\n# nothing\n", "m.csv: no memory row"},
        {ENERGY_GATE_COSTS_MAGIC "\nx,1,byte\n", "m.csv:1: not a cgpc memory file: the first line must be '# cgpc-memory v1'"},
        {"# cgpc-memory v7\nx,1,byte\n", "m.csv:1: unsupported memory file version"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct energy_memory m, before;
        energy_memory_lookup(&m, "sram-1m", NULL);
        before = m;
        struct cgpc_err err = {0};
        assert_int_equal(energy_memory_parse(&m, bad[i].text, strlen(bad[i].text), "m.csv", &err),
                         CGPC_ERR_FORMAT);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i].want);
        assert_memory_equal(&m, &before, sizeof m);
    }
}

static void memory_select__name_file_or_usage_error(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-energy-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/mem.csv", dir);
    const char *text = ENERGY_MEMORY_MAGIC "\nl2,40,word64,guess\n";
    assert_int_equal(cgpc_write_file_atomic(path, text, strlen(text), NULL), CGPC_OK);
    struct energy_memory m;
    struct cgpc_err err = {0};
    assert_int_equal(energy_memory_select(&m, "sram-32k", &err), CGPC_OK);
    assert_near(m.pj_per_byte, 2.5, 0);
    assert_int_equal(energy_memory_select(&m, path, &err), CGPC_OK);
    assert_string_equal(m.name, "l2");
    assert_near(m.pj_per_byte, 5, 0);
    assert_int_equal(energy_memory_select(&m, "flash", &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "'flash': neither a built-in memory (dram, sram-8k"));
    const char *bad = ENERGY_MEMORY_MAGIC "\nl2,40,word32\n";
    assert_int_equal(cgpc_write_file_atomic(path, bad, strlen(bad), NULL), CGPC_OK);
    assert_int_equal(energy_memory_select(&m, path, &err), CGPC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "mem.csv:2: per 'word32'"));
    unlink(path);
    rmdir(dir);
}

/* ---- inference: LeNet-5 by hand ----------------------------------------------------------- */

/* LeNet-5 on 28x28 inputs (valid convolutions, 2x2 pooling), weights only (biases excluded):
 *   conv1 [6,1,5,5]:  150 weights, outputs 24x24x6 = 3456, x 25 taps  =  86,400 MACs
 *   conv2 [16,6,5,5]: 2,400 weights, outputs 8x8x16 = 1024, x 150     = 153,600 MACs
 *   fc1 256x120 = 30,720; fc2 120x84 = 10,080; fc3 84x10 = 840 (weights = MACs)
 * Totals: 281,640 MACs, 44,190 int8 weights = 44,190 bytes. */
static const struct energy_layer lenet5[] = {
    {"conv1", 24 * 24 * 6 * 25, 6 * 1 * 5 * 5, 8},
    {"conv2", 8 * 8 * 16 * 150, 16 * 6 * 5 * 5, 8},
    {"fc1", 256 * 120, 256 * 120, 8},
    {"fc2", 120 * 84, 120 * 84, 8},
    {"fc3", 84 * 10, 84 * 10, 8},
};
#define LENET_LAYERS 5

static void inference_account__lenet5_dram_and_sram__hand_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(lenet5[0].weights, 150);
    assert_int_equal(lenet5[0].macs, 86400);
    assert_int_equal(lenet5[1].macs, 153600);
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct energy_memory dram, sram;
    energy_memory_lookup(&dram, "dram", NULL);
    energy_memory_lookup(&sram, "sram-8k", NULL);
    struct energy_layer_budget per[LENET_LAYERS], tot;
    assert_int_equal(energy_inference_account(&t, &dram, lenet5, LENET_LAYERS, NULL, 0, per, &tot, NULL),
                     CGPC_OK);
    /* conv1: 86,400 x 0.3 = 25,920 pJ of MACs; 150 bytes x 162.5 = 24,375 pJ of reads */
    assert_int_equal(per[0].macs, 86400);
    assert_near(per[0].mac_pj, 25920, 1e-9);
    assert_int_equal(per[0].read_bytes, 150);
    assert_near(per[0].read_pj, 24375, 1e-9);
    assert_near(per[0].total_pj, 25920 + 24375, 1e-9);
    /* fc1: 30,720 x 0.3 = 9,216 pJ; 30,720 x 162.5 = 4,992,000 pJ */
    assert_near(per[2].mac_pj, 9216, 1e-9);
    assert_near(per[2].read_pj, 4992000, 1e-6);
    assert_int_equal(tot.macs, 281640);
    assert_int_equal(tot.read_bytes, 44190);
    assert_int_equal(tot.baseline_bytes, 44190);
    assert_int_equal(tot.weights_replaced, 0);
    assert_near(tot.mac_pj, 84492, 1e-8);           /* 281,640 x 0.3 */
    assert_near(tot.read_pj, 7180875, 1e-6);        /* 44,190 x 162.5 */
    assert_near(tot.total_pj, 7265367, 1e-6);
    assert_near(tot.saving_pj, 0, 1e-9);
    assert_near(tot.saving_pct, 0, 1e-12);

    assert_int_equal(energy_inference_account(&t, &sram, lenet5, LENET_LAYERS, NULL, 0, per, &tot, NULL),
                     CGPC_OK);
    assert_near(per[0].read_pj, 187.5, 1e-12);      /* 150 x 1.25 */
    assert_near(tot.read_pj, 55237.5, 1e-9);        /* 44,190 x 10 / 8 */
    assert_near(tot.total_pj, 84492 + 55237.5, 1e-8);
}

static void inference_account__conv1_outer_rings_by_circuit__net_saving(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* A circuit from a kernel's inner 3x3 (9 inputs) to its 16 outer-ring weights: 4 adds,
     * 1 mul, the rest free shifts: 4 x 0.03 + 0.2 = 0.32 pJ per evaluation. */
    struct energy_node nodes[] = {{CGPC_OP_ADD, {0, 1}}, {CGPC_OP_ADD, {2, 3}},
                                  {CGPC_OP_ADD, {9, 10}}, {CGPC_OP_MUL, {11, 4}},
                                  {CGPC_OP_ADD, {12, 5}}, {CGPC_OP_SHR1, {13}}};
    int32_t outs[16];
    for (int o = 0; o < 16; o++)
        outs[o] = 9 + o % 6;
    double arrival[15];
    int depth[15];
    struct energy_circuit_cost c;
    energy_circuit_account(&t, nodes, 6, 9, outs, 16, arrival, depth, &c);
    assert_near(c.energy_pj, 0.32, 1e-12);

    /* conv1 has 6 kernels: 6 x 16 = 96 weights produced by 6 evaluations per inference. */
    struct energy_replacement rings = {0, 96, c.energy_pj, 6};
    struct energy_memory dram;
    energy_memory_lookup(&dram, "dram", NULL);
    struct energy_layer_budget per[LENET_LAYERS], tot;
    assert_int_equal(energy_inference_account(&t, &dram, lenet5, LENET_LAYERS, &rings, 1, per, &tot, NULL),
                     CGPC_OK);
    assert_int_equal(per[0].weights_read, 54);          /* 150 - 96: inner 3x3 x 6 still read */
    assert_int_equal(per[0].weights_replaced, 96);
    assert_int_equal(per[0].read_bytes, 54);
    assert_int_equal(per[0].macs, 86400);               /* MACs do not change */
    assert_near(per[0].circuit_pj, 6 * 0.32, 1e-12);    /* 1.92 pJ */
    assert_near(per[0].read_pj, 54 * 162.5, 1e-9);      /* 8,775 pJ */
    /* saving = 96 bytes x 162.5 - 1.92 = 15,600 - 1.92 = 15,598.08 pJ per inference */
    assert_near(per[0].saving_pj, 15598.08, 1e-8);
    assert_near(tot.saving_pj, 15598.08, 1e-6);
    assert_near(tot.baseline_pj, 7265367, 1e-6);
    assert_near(tot.total_pj, 7265367 - 15598.08, 1e-6);
    assert_near(tot.saving_pct, 100 * 15598.08 / 7265367, 1e-9);
    assert_near(per[0].saving_pct, 100 * 15598.08 / (25920 + 24375), 1e-9);
    for (int i = 1; i < LENET_LAYERS; i++)
        assert_near(per[i].saving_pj, 0, 0);

    /* From a 8 KB SRAM the same circuit saves 96 x 1.25 - 1.92 = 118.08 pJ; one costing 2 pJ
     * per evaluation loses: 120 - 12 = 108 saved, one at 25 pJ: 120 - 150 = -30 pJ. */
    struct energy_memory sram;
    energy_memory_lookup(&sram, "sram-8k", NULL);
    assert_int_equal(energy_inference_account(&t, &sram, lenet5, LENET_LAYERS, &rings, 1, per, &tot, NULL),
                     CGPC_OK);
    assert_near(tot.saving_pj, 118.08, 1e-9);
    rings.circuit_pj = 25;
    assert_int_equal(energy_inference_account(&t, &sram, lenet5, LENET_LAYERS, &rings, 1, per, &tot, NULL),
                     CGPC_OK);
    assert_near(tot.saving_pj, -30, 1e-9);
    assert_true(tot.saving_pct < 0);
}

static void inference_account__several_replacements_and_packed_bits__add_up(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    t.mac.energy_pj = 1; /* the MAC energy is part of the table and overridable */
    struct energy_memory m = {"unit", 1, ""};
    /* 4-bit weights: 151 weights -> ceil(604 / 8) = 76 bytes; 3 weights -> 2 bytes */
    struct energy_layer layers[] = {{"a", 10, 151, 4}, {"b", 5, 3, 4}, {"c", 0, 7, 1}};
    struct energy_replacement r[] = {{0, 100, 0.5, 2}, {0, 48, 1, 3}, {2, 7, 0, 1}};
    struct energy_layer_budget per[3], tot;
    assert_int_equal(energy_inference_account(&t, &m, layers, 3, r, 3, per, &tot, NULL), CGPC_OK);
    assert_int_equal(per[0].baseline_bytes, 76);
    assert_int_equal(per[0].weights_replaced, 148);
    assert_int_equal(per[0].weights_read, 3);
    assert_int_equal(per[0].read_bytes, 2);
    assert_near(per[0].circuit_pj, 0.5 * 2 + 1 * 3, 0);
    assert_near(per[0].mac_pj, 10, 0);
    assert_near(per[0].total_pj, 10 + 2 + 4, 0);
    assert_near(per[0].saving_pj, 76 - 2 - 4, 0);
    assert_int_equal(per[1].read_bytes, 2);
    assert_int_equal(per[2].baseline_bytes, 1); /* 7 one-bit weights: one byte */
    assert_int_equal(per[2].read_bytes, 0);
    assert_int_equal(tot.macs, 15);
    assert_int_equal(tot.read_bytes, 4);
    assert_int_equal(tot.baseline_bytes, 79);
    assert_near(tot.saving_pj, 79 - 4 - 4, 0);
    assert_near(tot.saving_pct, 100.0 * 71 / (15 + 79), 1e-12);

    /* no layers at all: zeros, no division by zero */
    assert_int_equal(energy_inference_account(&t, &m, layers, 0, NULL, 0, per, &tot, NULL), CGPC_OK);
    assert_near(tot.total_pj + tot.saving_pct, 0, 0);
}

static void inference_account__bad_input__arg_or_range_error(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct energy_memory m;
    energy_memory_lookup(&m, "dram", NULL);
    struct energy_layer_budget per[LENET_LAYERS], tot;
    struct cgpc_err err = {0};
    const struct { struct energy_replacement r; cgpc_status code; const char *want; } bad[] = {
        {{5, 1, 0.1, 1}, CGPC_ERR_ARG, "replacement 0: layer index 5 not in [0, 5)"},
        {{-1, 1, 0.1, 1}, CGPC_ERR_ARG, "layer index -1"},
        {{0, 151, 0.1, 1}, CGPC_ERR_ARG, "layer 'conv1': replacements produce more weights than its 150"},
        {{1, 1, -0.1, 1}, CGPC_ERR_ARG, "(layer 'conv2'): circuit energy -0.1 pJ must be finite and >= 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(energy_inference_account(&t, &m, lenet5, LENET_LAYERS, &bad[i].r, 1, per, &tot, &err),
                         bad[i].code);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err.msg, bad[i].want);
    }
    /* two replacements that each fit but together exceed the layer */
    struct energy_replacement two[] = {{0, 100, 0, 1}, {0, 51, 0, 1}};
    assert_int_equal(energy_inference_account(&t, &m, lenet5, LENET_LAYERS, two, 2, per, &tot, &err),
                     CGPC_ERR_ARG);
    struct energy_layer l[2] = {{"zero-bits", 1, 1, 0}, {"x", 1, 1, 8}};
    assert_int_equal(energy_inference_account(&t, &m, l, 1, NULL, 0, per, &tot, &err), CGPC_ERR_ARG);
    assert_non_null(strstr(err.msg, "layer 'zero-bits': weight_bits 0 not in 1..64"));
    l[0] = (struct energy_layer){"huge", 1, UINT64_MAX / 8, 16};
    assert_int_equal(energy_inference_account(&t, &m, l, 1, NULL, 0, per, &tot, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "layer 'huge'"));
    l[0] = (struct energy_layer){"many", UINT64_MAX, 1, 8};
    assert_int_equal(energy_inference_account(&t, &m, l, 2, NULL, 0, per, &tot, &err), CGPC_ERR_RANGE);
    assert_non_null(strstr(err.msg, "total MACs overflows"));
}

/* ---- reports ------------------------------------------------------------------------------ */

static char *capture_budget(const struct energy_layer_budget *per, const struct energy_layer_budget *tot,
                            const struct energy_memory *m)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(energy_budget_format(lenet5, LENET_LAYERS, per, tot, m, f, NULL), CGPC_OK);
    fclose(f);
    return buf;
}

static void budget_format__lenet5__one_line_per_layer_and_saving(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct energy_memory m;
    energy_memory_lookup(&m, "dram", NULL);
    struct energy_layer_budget per[LENET_LAYERS], tot;
    assert_int_equal(energy_inference_account(&t, &m, lenet5, LENET_LAYERS, NULL, 0, per, &tot, NULL),
                     CGPC_OK);
    char *text = capture_budget(per, &tot, &m);
    assert_non_null(strstr(text, "weights read from dram (162.5 pJ/byte)"));
    assert_non_null(strstr(text, "\nconv1                   86400      25920.000        150          0        150      24375.000        0.000      50295.000\n"));
    assert_non_null(strstr(text, "\ntotal                  281640      84492.000      44190          0      44190    7180875.000        0.000    7265367.000\n"));
    assert_null(strstr(text, "saving"));
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2 + LENET_LAYERS + 1);
    free(text);

    struct energy_replacement rings = {0, 96, 0.32, 6};
    assert_int_equal(energy_inference_account(&t, &m, lenet5, LENET_LAYERS, &rings, 1, per, &tot, NULL),
                     CGPC_OK);
    text = capture_budget(per, &tot, &m);
    assert_non_null(strstr(text, "saving: 15598.080 pJ per inference (0.2147%) against reading all 44190 weight bytes: 7265367.000 -> 7249768.920 pJ\n"));
    free(text);
}

static void tables_format__gates_and_memories__all_rows_and_active_mark(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(energy_gate_table_format(&t, f, NULL), CGPC_OK);
    fclose(f);
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + CGPC_OP_COUNT + 1);
    assert_non_null(strstr(buf, "\nmul                 0.2      1.43      709.6  [H] 8-bit multiply"));
    assert_non_null(strstr(buf, "\nmac                 0.3      3.95      991.2  [H] int8 MAC"));
    free(buf);

    struct energy_memory m;
    energy_memory_lookup(&m, "sram-32k", NULL);
    f = open_memstream(&buf, &n);
    assert_int_equal(energy_memory_format(&m, f, NULL), CGPC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\n* sram-32k            2.5         20  [H]"));
    assert_non_null(strstr(buf, "\n  dram              162.5       1300  [H]"));
    free(buf);

    struct energy_memory own = {"edram", 3, "a file"};
    f = open_memstream(&buf, &n);
    assert_int_equal(energy_memory_format(&own, f, NULL), CGPC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\n* edram                 3         24  a file\n"));
    assert_null(strstr(buf, "* dram"));
    free(buf);
}

static void format_json__budget_and_tables__exact_numbers_and_escaped_strings(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct energy_memory m;
    energy_memory_lookup(&m, "dram", NULL);
    struct energy_layer_budget per[LENET_LAYERS], tot;
    struct energy_replacement rings = {0, 96, 0.32, 6};
    assert_int_equal(energy_inference_account(&t, &m, lenet5, LENET_LAYERS, &rings, 1, per, &tot, NULL),
                     CGPC_OK);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(energy_budget_format_json(lenet5, LENET_LAYERS, per, &tot, &m, f, NULL), CGPC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\"layers\": [\n    {\"name\": \"conv1\", \"macs\": 86400, "
                                "\"weights_read\": 54, \"weights_replaced\": 96, \"read_bytes\": 54, "
                                "\"baseline_bytes\": 150, \"mac_pJ\": 25920, \"read_pJ\": 8775, "
                                "\"circuit_pJ\": 1.92,"));
    assert_non_null(strstr(buf, "\"total\": {\"name\": \"total\", \"macs\": 281640, "));
    assert_non_null(strstr(buf, "\"baseline_pJ\": 7265367, "));
    assert_non_null(strstr(buf, "\"fc3\""));
    free(buf);

    /* strings are escaped: quote, backslash, control characters */
    struct energy_memory odd = {"q\"b\\s", 1, "tab\there"};
    f = open_memstream(&buf, &n);
    assert_int_equal(energy_tables_format_json(&t, &odd, f, NULL), CGPC_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\"memory\": {\"name\": \"q\\\"b\\\\s\", \"pJ_per_byte\": 1, "
                                "\"source\": \"tab\\u0009here\"}"));
    assert_non_null(strstr(buf, "{\"name\": \"mac\", \"energy_pJ\": 0.3, \"delay_ns\": 3.95, "));
    assert_non_null(strstr(buf, "\"mac_pJ\": 0.3,"));
    int gates = 0;
    for (char *p = buf; (p = strstr(p, "\"energy_pJ\"")); p++)
        gates++;
    assert_int_equal(gates, CGPC_OP_COUNT + 1);
    free(buf);
}


/* ---- storage model ------------------------------------------------------------------------- */

static void storage_bits_for_choices__powers_and_neighbours__ceil_log2(void **state)
{
    (void)state;
    assert_int_equal(storage_bits_for_choices(0), 0);
    assert_int_equal(storage_bits_for_choices(1), 0);
    assert_int_equal(storage_bits_for_choices(2), 1);
    assert_int_equal(storage_bits_for_choices(3), 2);
    assert_int_equal(storage_bits_for_choices(4), 2);
    assert_int_equal(storage_bits_for_choices(5), 3);
    assert_int_equal(storage_bits_for_choices(256), 8);
    assert_int_equal(storage_bits_for_choices(257), 9);
    assert_int_equal(storage_bits_for_choices(((uint64_t)1 << 63) + 1), 64);
    assert_int_equal(storage_bits_for_choices(UINT64_MAX), 64);
    assert_string_equal(storage_kind_name(STORAGE_CIRCUIT), "circuit");
    assert_string_equal(storage_kind_name(STORAGE_KIND_COUNT), "?");
}

/* A conv of 150 weights and 6 channels, and a residual add. */
static const struct storage_layer two_layers[] = {
    {"conv1", 150, 6, 4, 1000},
    {"add1", 0, 0, 2, 0},
};

static void storage_references__hand_layers__exact_bits(void **state)
{
    (void)state;
    struct storage_model f, q, c;
    struct cgpc_err err = {0};
    assert_int_equal(storage_reference_float32(two_layers, 2, &f, &err), CGPC_OK);
    assert_int_equal(storage_reference_int8(two_layers, 2, &q, &err), CGPC_OK);
    assert_int_equal(f.n, 2); /* weights, bias; the add stores nothing in float */
    assert_int_equal(storage_model_total_bits(&f), 150 * 32 + 6 * 32);
    assert_int_equal(storage_model_kind_bits(&f, STORAGE_FLOAT_WEIGHTS), 4800);
    /* codes + int32 bias + weight scales + 4 activation qparams; the add's 2 qparams */
    assert_int_equal(q.n, 5);
    assert_int_equal(storage_model_total_bits(&q), 1200 + 192 + 192 + 128 + 64);
    assert_int_equal(storage_model_layer_bits(&q, "conv1"), 1712);
    assert_int_equal(storage_model_layer_bits(&q, "add1"), 64);
    assert_int_equal(storage_model_kind_bits(&q, STORAGE_SCALE), 192 + 128 + 64);
    uint64_t macs = 0;
    assert_int_equal(storage_layers_macs(two_layers, 2, &macs, &err), CGPC_OK);
    assert_int_equal(macs, 1000);
    /* a circuit now produces 100 of the weights: 50 codes stay */
    assert_int_equal(storage_model_copy(&c, &q, &err), CGPC_OK);
    assert_int_equal(storage_model_take(&c, "conv1", STORAGE_WEIGHTS, 100, &err), CGPC_OK);
    assert_int_equal(storage_model_total_bits(&c), 1776 - 800);
    assert_int_equal(storage_model_total_bits(&q), 1776); /* the copy is deep */
    assert_int_equal(storage_model_take(&c, "conv1", STORAGE_WEIGHTS, 51, &err), CGPC_ERR_ARG);
    assert_int_equal(storage_model_take(&c, "conv9", STORAGE_WEIGHTS, 1, &err),
                     CGPC_ERR_NOT_FOUND);
    assert_int_equal(storage_model_add(&c, "conv1", STORAGE_INDEX, "odd", 3, 10, &err), CGPC_OK);
    assert_int_equal(storage_model_take(&c, "conv1", STORAGE_INDEX, 1, &err), CGPC_ERR_ARG);
    storage_model_free(&f);
    storage_model_free(&q);
    storage_model_free(&c);
    storage_model_free(&c);
    storage_model_free(NULL);
}

static void storage_model_add__overflow_and_bad_parts__refused(void **state)
{
    (void)state;
    struct storage_model m;
    struct cgpc_err err = {0};
    storage_model_init(&m);
    assert_int_equal(storage_model_add_items(&m, "x", STORAGE_WEIGHTS, "w", UINT64_MAX / 2 + 1,
                                             2, &err), CGPC_ERR_RANGE);
    assert_int_equal(storage_model_add(&m, "x", STORAGE_WEIGHTS, "w", 1, (uint64_t)1 << 63, &err),
                     CGPC_OK);
    assert_int_equal(storage_model_add(&m, "x", STORAGE_BIAS, "b", 1, (uint64_t)1 << 63, &err),
                     CGPC_ERR_RANGE);
    assert_int_equal(m.n, 1);
    assert_int_equal(storage_model_add(&m, "x", STORAGE_KIND_COUNT, "b", 1, 1, &err),
                     CGPC_ERR_ARG);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(storage_model_add(&m, longname, STORAGE_BIAS, "b", 1, 1, &err), CGPC_ERR_ARG);
    for (int i = 0; i < 40; i++) /* grows past the first allocation */
        assert_int_equal(storage_model_add(&m, "y", STORAGE_BIAS, "b", 1, 1, &err), CGPC_OK);
    assert_int_equal(storage_model_layer_bits(&m, "y"), 40);
    storage_model_free(&m);
}

static void storage_circuit_bits__two_nodes__pins_functions_outputs(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    /* 3 inputs; n0 = add(i0, i1): 4 function bits (10 functions) + 2 x ceil(log2 3) = 8;
     * n1 = neg(n0): 4 + ceil(log2 4) = 6; outputs n1, i2: 2 x ceil(log2 5) = 6. */
    struct energy_node nodes[2] = {{CGPC_OP_ADD, {0, 1, 0, 0}}, {CGPC_OP_NEG, {3, 0, 0, 0}}};
    uint64_t bits = 0;
    assert_int_equal(storage_circuit_bits(nodes, 2, 3, 10, 2, &bits, &err), CGPC_OK);
    assert_int_equal(bits, 8 + 6 + 6);
    /* one function: no function bits; no nodes: outputs only */
    assert_int_equal(storage_circuit_bits(nodes, 2, 3, 1, 2, &bits, &err), CGPC_OK);
    assert_int_equal(bits, 4 + 2 + 6);
    assert_int_equal(storage_circuit_bits(nodes, 0, 3, 10, 4, &bits, &err), CGPC_OK);
    assert_int_equal(bits, 4 * 2);
    assert_int_equal(storage_circuit_bits(nodes, 2, 3, 0, 2, &bits, &err), CGPC_ERR_ARG);
    struct energy_node bad = {CGPC_OP_COUNT, {0, 0, 0, 0}};
    assert_int_equal(storage_circuit_bits(&bad, 1, 3, 10, 2, &bits, &err), CGPC_ERR_ARG);
}

static void storage_energy__batch_and_deployment__exact_pj(void **state)
{
    (void)state;
    struct storage_model m;
    struct cgpc_err err = {0};
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    t.mac.energy_pj = 0.5;
    struct energy_memory mem = {"test", 2.0, "2 pJ per byte"};
    storage_model_init(&m);
    assert_int_equal(storage_model_add(&m, "a", STORAGE_WEIGHTS, "w", 13, 13, &err), CGPC_OK);
    assert_int_equal(storage_model_add(&m, "a", STORAGE_BIAS, "b", 1, 8, &err), CGPC_OK);
    assert_int_equal(storage_model_add_flags(&m, "a", STORAGE_CIRCUIT, "genes", 3, 9,
                                             STORAGE_PART_LOGIC, &err), CGPC_OK);
    struct storage_energy e;
    /* stored: 2 + 1 + 2 bytes = 10 pJ, 4 MACs = 2 pJ, circuit 1.25 pJ */
    assert_int_equal(storage_energy_account(&m, STORAGE_DEPLOY_STORED, &mem, &t, 4, 1.25, 1, &e,
                                            &err), CGPC_OK);
    assert_int_equal(e.stored_bits, 30);
    assert_int_equal(e.read_bits, 30);
    assert_int_equal(e.read_bytes, 5);
    assert_near(e.read_pj, 10.0, 1e-12);
    assert_near(e.mac_pj, 2.0, 1e-12);
    assert_near(e.total_pj, 13.25, 1e-12);
    /* a batch of 4 reads the parts once: 10 / 4 pJ per image */
    assert_int_equal(storage_energy_account(&m, STORAGE_DEPLOY_STORED, &mem, &t, 4, 1.25, 4, &e,
                                            &err), CGPC_OK);
    assert_near(e.read_pj, 2.5, 1e-12);
    assert_near(e.total_pj, 5.75, 1e-12);
    /* hardwired: the circuit's genes are logic, not read */
    assert_int_equal(storage_energy_account(&m, STORAGE_DEPLOY_HARDWIRED, &mem, &t, 4, 1.25, 1,
                                            &e, &err), CGPC_OK);
    assert_int_equal(e.stored_bits, 30);
    assert_int_equal(e.read_bits, 21);
    assert_int_equal(e.read_bytes, 3);
    assert_near(e.total_pj, 6 + 2 + 1.25, 1e-12);
    struct storage_energy base = e;
    base.total_pj = 20;
    struct storage_comparison cmp;
    storage_compare(&e, &base, 120, 60, &cmp);
    assert_int_equal(cmp.stored_bits, 30);
    assert_near(cmp.compression_vs_float32, 4.0, 1e-12);
    assert_near(cmp.compression_vs_int8, 2.0, 1e-12);
    assert_near(cmp.saving_pj, 20 - 9.25, 1e-12);
    assert_near(cmp.saving_pct, 100 * 10.75 / 20, 1e-12);
    assert_int_equal(storage_energy_account(&m, STORAGE_DEPLOY_STORED, &mem, &t, 4, 1.25, 0, &e,
                                            &err), CGPC_ERR_ARG);
    assert_int_equal(storage_energy_account(&m, STORAGE_DEPLOY_STORED, &mem, &t, 4, NAN, 1, &e,
                                            &err), CGPC_ERR_ARG);
    enum storage_deployment d;
    assert_int_equal(storage_deployment_parse("hardwired", &d, &err), CGPC_OK);
    assert_int_equal(d, STORAGE_DEPLOY_HARDWIRED);
    assert_string_equal(storage_deployment_name(d), "hardwired");
    assert_int_equal(storage_deployment_parse("stored", &d, &err), CGPC_OK);
    assert_int_equal(d, STORAGE_DEPLOY_STORED);
    assert_int_equal(storage_deployment_parse("wired", &d, &err), CGPC_ERR_ARG);
    assert_near(storage_array_area_um2(STORAGE_ARRAY_SRAM, 1000), 346, 1e-9);
    assert_near(storage_array_area_um2(STORAGE_ARRAY_ROM, 3000), 346, 1e-9);
    assert_non_null(strstr(storage_array_source(STORAGE_ARRAY_SRAM), "45 nm"));
    FILE *fp = tmpfile();
    assert_int_equal(storage_model_format(&m, fp, &err), CGPC_OK);
    rewind(fp);
    char buf[2048];
    size_t got = fread(buf, 1, sizeof buf - 1, fp);
    buf[got] = '\0';
    fclose(fp);
    assert_non_null(strstr(buf, "circuit"));
    assert_non_null(strstr(buf, "(logic)"));
    assert_non_null(strstr(buf, "30\n"));
    storage_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(storage_bits_for_choices__powers_and_neighbours__ceil_log2),
        cmocka_unit_test(storage_references__hand_layers__exact_bits),
        cmocka_unit_test(storage_model_add__overflow_and_bad_parts__refused),
        cmocka_unit_test(storage_circuit_bits__two_nodes__pins_functions_outputs),
        cmocka_unit_test(storage_energy__batch_and_deployment__exact_pj),
        cmocka_unit_test(circuit_account__sums_and_critical_path),
        cmocka_unit_test(circuit_account__diamond__longer_branch_is_critical),
        cmocka_unit_test(circuit_account__free_gates__add_no_delay_depth_or_gates),
        cmocka_unit_test(circuit_account__constants__no_inputs_zero_delay),
        cmocka_unit_test(circuit_account__mux__reads_arity_inputs_only),
        cmocka_unit_test(circuit_account__outputs__max_over_outputs_and_inputs_pass_through),
        cmocka_unit_test(gate_table_default__every_row_sourced_and_derivations_hold),
        cmocka_unit_test(gate_table_load__shipped_file__equals_builtin_and_write_reproduces_it),
        cmocka_unit_test(gate_table_write__random_values__parse_back_bit_exact),
        cmocka_unit_test(text_format_double__shortest_exact_and_plain_decimals),
        cmocka_unit_test(gate_table_parse__bad_values__error_names_file_line_and_field),
        cmocka_unit_test(gate_table_parse__bad_rows__unknown_duplicate_missing),
        cmocka_unit_test(gate_table_parse__bad_magic__rejected_with_hint),
        cmocka_unit_test(gate_table_parse__crlf_comments_no_header_no_sources__accepted),
        cmocka_unit_test(gate_table_load__missing_file__io_error_names_path),
        cmocka_unit_test(gate_table_save__atomic_file__loads_back),
        cmocka_unit_test(memory_lookup__builtins__horowitz_per_byte),
        cmocka_unit_test(memory_parse__word64_and_byte__per_byte),
        cmocka_unit_test(memory_parse__bad_files__error_names_file_line),
        cmocka_unit_test(memory_select__name_file_or_usage_error),
        cmocka_unit_test(inference_account__lenet5_dram_and_sram__hand_arithmetic),
        cmocka_unit_test(inference_account__conv1_outer_rings_by_circuit__net_saving),
        cmocka_unit_test(inference_account__several_replacements_and_packed_bits__add_up),
        cmocka_unit_test(inference_account__bad_input__arg_or_range_error),
        cmocka_unit_test(budget_format__lenet5__one_line_per_layer_and_saving),
        cmocka_unit_test(tables_format__gates_and_memories__all_rows_and_active_mark),
        cmocka_unit_test(format_json__budget_and_tables__exact_numbers_and_escaped_strings),
    };
    return cmocka_run_group_tests_name("energy", tests, NULL, NULL);
}
