#include "ops.h"

#include <string.h>

static const struct {
    const char *name;
    int arity;
    const char *meaning;
} op_info[CGPC_OP_COUNT] = {
#define CGPC_OP_INFO(sym, name, arity, meaning) {name, arity, meaning},
    CGPC_OP_LIST(CGPC_OP_INFO)
#undef CGPC_OP_INFO
};

const char *cgpc_op_name(int op) { return op >= 0 && op < CGPC_OP_COUNT ? op_info[op].name : NULL; }
int cgpc_op_arity(int op) { return op >= 0 && op < CGPC_OP_COUNT ? op_info[op].arity : -1; }
const char *cgpc_op_meaning(int op)
{
    return op >= 0 && op < CGPC_OP_COUNT ? op_info[op].meaning : NULL;
}

int cgpc_op_from_name(const char *name)
{
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        if (strcmp(op_info[op].name, name) == 0)
            return op;
    return -1;
}
