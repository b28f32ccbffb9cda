/* cmd_train_model.c - `cgpc train-model`. PLACEHOLDER: being implemented; replaced by the real command. */
#include <string.h>

#include "cli.h"
#include "commands.h"

void cmd_train_model_usage(FILE *out) { fprintf(out, "usage: cgpc train-model (not implemented yet)\n"); }

int cmd_train_model(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0)
        return fprintf(stdout, "usage: cgpc %s (not implemented yet)\n", argv[0]), 0;
    cli_error("train-model", "not implemented", "this command is not built yet");
    return CLI_EXIT_FAILURE;
}
