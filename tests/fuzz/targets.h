/* targets.h - one fuzz entry per parser of cgpc; shared by the libFuzzer binaries (`make
 * fuzz`, clang, tests/fuzz/libfuzzer.c) and by the replay suite (tests/test_fuzz.c, run by
 * `make test` in every build mode), which feeds every file of tests/fuzz/corpus/<target>/ and
 * tests/fuzz/regressions/<target>/ to its target.
 *
 * An entry takes arbitrary bytes and must never crash, leak or trip a sanitizer; a parse error
 * is a normal outcome. Entries that need a directory (checkpoint, train_dir) read their input
 * as a small archive of files: sections that start with a line "=== NAME" (see
 * fuzz_write_dir); files a section does not give come from the target's fixed defaults. */
#ifndef CGPC_FUZZ_TARGETS_H
#define CGPC_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef int (*fuzz_entry)(const uint8_t *data, size_t size);

struct fuzz_target {
    const char *name; /* also the corpus and regressions folder name */
    fuzz_entry run;
    const char *what; /* the parser(s) it drives */
};

/* NULL-name terminated. */
extern const struct fuzz_target fuzz_targets[];

const struct fuzz_target *fuzz_target_find(const char *name);

/* The error record of the last library call an entry made (cleared before each input): the
 * replay suite prints it with CGPC_FUZZ_VERBOSE=1 to show how far each seed gets. */
extern struct cgpc_err fuzz_err;

#endif
