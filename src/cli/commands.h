/* commands.h - every `cgpc` command's entry points; one src/cli/cmd_<name>.c each. */
#ifndef CGPC_COMMANDS_H
#define CGPC_COMMANDS_H

#include <stdio.h>

#define CGPC_DECLARE_COMMAND(fn) \
    int cmd_##fn(int argc, char **argv); \
    void cmd_##fn##_usage(FILE *out);

CGPC_DECLARE_COMMAND(train_model)
CGPC_DECLARE_COMMAND(quantize)
CGPC_DECLARE_COMMAND(eval)
CGPC_DECLARE_COMMAND(energy)
CGPC_DECLARE_COMMAND(evolve)
CGPC_DECLARE_COMMAND(circuit)
CGPC_DECLARE_COMMAND(train)
CGPC_DECLARE_COMMAND(model_metrics)
CGPC_DECLARE_COMMAND(pbs)
CGPC_DECLARE_COMMAND(compress)
CGPC_DECLARE_COMMAND(sensitivity)
CGPC_DECLARE_COMMAND(tune)

#endif
