/* libfuzzer.c - a libFuzzer binary for one target of targets.c: built by `make fuzz` with
 * -DFUZZ_TARGET_NAME='"name"' (clang -fsanitize=fuzzer,address,undefined). */
#include <stdio.h>
#include <stdlib.h>

#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct fuzz_target *t;
    if (!t && !(t = fuzz_target_find(FUZZ_TARGET_NAME))) {
        fprintf(stderr, "fuzz: no target '%s'\n", FUZZ_TARGET_NAME);
        abort();
    }
    return t->run(data, size);
}
