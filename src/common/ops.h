/* ops.h - the canonical list of circuit operators, shared by src/cgp (their int8 semantics)
 * and src/energy (their energy/delay/area). One enum, one name per operator: gate-cost files,
 * chromosome files and `--functions` lists all use these names.
 *
 * Semantics (implemented in src/cgp): 8-bit two's complement with wrap-around, no saturation.
 * Shifts: >> is arithmetic (sign-extending), << drops high bits. "a" is the first input, "b" the
 * second. mux2/mux4 pick input number (item index mod 2 / mod 4) in the multiplexed
 * multi-layer mode, where the select signal is the data item (layer) index. */
#ifndef CGPC_OPS_H
#define CGPC_OPS_H

#define CGPC_OP_LIST(X)                                   \
    /* enum suffix, name,       arity, meaning */          \
    X(RSUB127,   "rsub127",    1, "127 - a")               \
    X(ADD,       "add",        2, "a + b")                 \
    X(SUB,       "sub",        2, "a - b")                 \
    X(MUL,       "mul",        2, "low byte of a * b")     \
    X(NEG,       "neg",        1, "-a")                    \
    X(SUB128,    "sub128",     1, "a - 128")               \
    X(SHR2,      "shr2",       1, "a >> 2")                \
    X(SHR1,      "shr1",       1, "a >> 1")                \
    X(AND,       "and",        2, "a & b")                 \
    X(OR,        "or",         2, "a | b")                 \
    X(XOR,       "xor",        2, "a ^ b")                 \
    X(NOT,       "not",        1, "~a")                    \
    X(SHL1,      "shl1",       1, "a << 1")                \
    X(INC,       "inc",        1, "a + 1")                 \
    X(DEC,       "dec",        1, "a - 1")                 \
    X(SHR3,      "shr3",       1, "a >> 3")                \
    X(SHR4,      "shr4",       1, "a >> 4")                \
    X(SHR5,      "shr5",       1, "a >> 5")                \
    X(SHL2,      "shl2",       1, "a << 2")                \
    X(SHL3,      "shl3",       1, "a << 3")                \
    X(SHL4,      "shl4",       1, "a << 4")                \
    X(SHL5,      "shl5",       1, "a << 5")                \
    X(CONST1,    "const1",     0, "1")                     \
    X(CONSTM1,   "const_m1",   0, "-1")                    \
    X(CONST0,    "const0",     0, "0")                     \
    X(CONSTM128, "const_m128", 0, "-128")                  \
    X(CONST127,  "const127",   0, "127")                   \
    X(ID,        "id",         1, "a (wire)")              \
    X(MUX2,      "mux2",       2, "input (item mod 2)")    \
    X(MUX4,      "mux4",       4, "input (item mod 4)")

enum cgpc_op {
#define CGPC_OP_ENUM(sym, name, arity, meaning) CGPC_OP_##sym,
    CGPC_OP_LIST(CGPC_OP_ENUM)
#undef CGPC_OP_ENUM
    CGPC_OP_COUNT
};

/* The thesis's 27 operators are the first 27 (CGPC_OP_RSUB127 .. CGPC_OP_CONST127). */
#define CGPC_OP_THESIS_COUNT 27
#define CGPC_OP_MAX_ARITY 4

/* Name, arity and one-line meaning of an operator; NULL/-1 for an out-of-range value. */
const char *cgpc_op_name(int op);
int cgpc_op_arity(int op);
const char *cgpc_op_meaning(int op);

/* Operator by name, or -1. */
int cgpc_op_from_name(const char *name);

#endif
