/* test_fuzz.c - replays every fuzz input kept in the tree through its target, in whatever
 * mode the suite is built (release, SANITIZER=address|undefined): the seed corpora
 * (tests/fuzz/corpus/<target>/) and every crash ever found (tests/fuzz/regressions/<target>/).
 * A crash, sanitizer report or leak fails the suite. `make fuzz` searches for new ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz/targets.h"

static const char *root(void)
{
    const char *r = getenv("CGPC_ROOT");
    return r && *r ? r : ".";
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run t on every regular file of root/tests/fuzz/<kind>/<t->name>, in name order; returns how
 * many. */
static int replay_dir(const struct fuzz_target *t, const char *kind)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", root(), kind, t->name);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (size_t)(n + 1) * sizeof *names);
        assert_non_null(names);
        names[n] = strdup(e->d_name);
        assert_non_null(names[n++]);
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof *names, cmp_names);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        unsigned char *data;
        size_t len;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            /* raw bytes (a .gz input is bytes, not a stream to unpack), in a buffer of exactly
             * their size */
            FILE *fp = fopen(path, "rb");
            assert_non_null(fp);
            data = malloc((size_t)sb.st_size + 1);
            assert_non_null(data);
            len = fread(data, 1, (size_t)sb.st_size, fp);
            fclose(fp);
            cgpc_err_clear(&fuzz_err);
            t->run(data, len);
            if (getenv("CGPC_FUZZ_VERBOSE"))
                print_message("  %s/%s: %s\n", kind, names[i],
                              fuzz_err.code ? fuzz_err.msg : "accepted");
            free(data);
            ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

static void fuzz_replay__corpus_and_regressions__no_crash(void **state)
{
    const struct fuzz_target *t = *state;
    int seeds = replay_dir(t, "corpus");
    int regressions = replay_dir(t, "regressions");
    print_message("fuzz %-14s %4d corpus + %3d regression inputs replayed\n", t->name, seeds,
                  regressions);
    assert_true(seeds > 0); /* every target has a seed corpus */
}

/* Every folder under corpus/ and regressions/ belongs to a target (a typo would skip it). */
static void fuzz_dirs__name_known_targets(void **state)
{
    (void)state;
    const char *kinds[] = {"corpus", "regressions"};
    for (int k = 0; k < 2; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", root(), kinds[k]);
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' && !fuzz_target_find(e->d_name))
                fail_msg("tests/fuzz/%s/%s: no fuzz target of that name", kinds[k], e->d_name);
        closedir(d);
    }
}

int main(void)
{
    int n = 0;
    while (fuzz_targets[n].name)
        n++;
    struct CMUnitTest *tests = calloc((size_t)n + 1, sizeof *tests);
    char (*names)[96] = calloc((size_t)n, sizeof *names);
    if (!tests || !names)
        return 1;
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "fuzz_replay__%s__no_crash", fuzz_targets[i].name);
        tests[i].name = names[i];
        tests[i].test_func = fuzz_replay__corpus_and_regressions__no_crash;
        tests[i].initial_state = (void *)&fuzz_targets[i];
    }
    tests[n] = (struct CMUnitTest)cmocka_unit_test(fuzz_dirs__name_known_targets);
    int rc = _cmocka_run_group_tests("fuzz", tests, (size_t)n + 1, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
