/* test_common.c - cmocka suite for src/common: errors, RNG streams, strict parsing,
 * atomic files and (gz) whole-file reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/lock.h"
#include "common/ops.h"
#include "common/parse.h"
#include "common/rng.h"

static void err_set__formats_message_and_location(void **state)
{
    (void)state;
    struct cgpc_err err = {0};
    cgpc_status st = CGPC_FAIL(&err, CGPC_ERR_FORMAT, "%s: bad magic 0x%x", "f.idx", 0x801);
    assert_int_equal(st, CGPC_ERR_FORMAT);
    assert_int_equal(err.code, CGPC_ERR_FORMAT);
    assert_string_equal(err.msg, "f.idx: bad magic 0x801");
    assert_non_null(strstr(err.file, "test_common.c"));
    cgpc_err_prefix(&err, "loading %s", "model");
    assert_string_equal(err.msg, "loading model: f.idx: bad magic 0x801");
    assert_int_equal(CGPC_FAIL(NULL, CGPC_ERR_IO, "ignored"), CGPC_ERR_IO);
}

static void rng__same_key_same_stream_other_key_differs(void **state)
{
    (void)state;
    cgpc_rng a, b, c;
    cgpc_rng_seed(&a, 42, 7, 3);
    cgpc_rng_seed(&b, 42, 7, 3);
    cgpc_rng_seed(&c, 42, 7, 4);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = cgpc_rng_u64(&a);
        assert_true(x == cgpc_rng_u64(&b));
        differ += x != cgpc_rng_u64(&c);
    }
    assert_true(differ > 95);
}

static void rng_below__uniform_and_in_range(void **state)
{
    (void)state;
    cgpc_rng r;
    cgpc_rng_seed(&r, 1, 0, 0);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = cgpc_rng_below(&r, 7);
        assert_true(v < 7);
        counts[v]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true(counts[i] > 9500 && counts[i] < 10500);
    for (int i = 0; i < 1000; i++) {
        double d = cgpc_rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
        float f = cgpc_rng_float(&r);
        assert_true(f >= 0.0f && f < 1.0f);
    }
}

static void parse_int__strict(void **state)
{
    (void)state;
    int v = 0;
    assert_int_equal(cgpc_parse_int("42", 0, 100, &v, NULL), CGPC_OK);
    assert_int_equal(v, 42);
    assert_int_equal(cgpc_parse_int("-3", -5, 5, &v, NULL), CGPC_OK);
    assert_int_equal(v, -3);
    assert_int_equal(cgpc_parse_int("", 0, 100, &v, NULL), CGPC_ERR_ARG);
    assert_int_equal(cgpc_parse_int("4x", 0, 100, &v, NULL), CGPC_ERR_ARG);
    assert_int_equal(cgpc_parse_int(" 4", 0, 100, &v, NULL), CGPC_ERR_ARG);
    assert_int_equal(cgpc_parse_int("101", 0, 100, &v, NULL), CGPC_ERR_RANGE);
    assert_int_equal(cgpc_parse_int("99999999999999999999", 0, 100, &v, NULL), CGPC_ERR_RANGE);
    uint64_t u;
    assert_int_equal(cgpc_parse_u64("18446744073709551615", &u, NULL), CGPC_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(cgpc_parse_u64("-1", &u, NULL), CGPC_ERR_ARG);
}

static void format_i32__as_printf_d(void **state)
{
    (void)state;
    const int32_t edge[] = {0, 1, -1, 9, 10, -10, 99, 100, 12345, -98765, INT32_MAX, INT32_MIN,
                            INT32_MIN + 1};
    char got[16], want[16];
    for (int i = 0; i < (int)(sizeof edge / sizeof *edge) + 2000; i++) {
        int32_t v = i < (int)(sizeof edge / sizeof *edge) ? edge[i]
                                                          : (int32_t)(i * 2654435761u);
        *cgpc_format_i32(got, v) = '\0';
        snprintf(want, sizeof want, "%d", v);
        assert_string_equal(got, want);
    }
}

static void parse_double_and_duration(void **state)
{
    (void)state;
    double d;
    assert_int_equal(cgpc_parse_double("0.01", 0, 1, &d, NULL), CGPC_OK);
    assert_true(d == 0.01);
    assert_int_equal(cgpc_parse_double("nan", 0, 1, &d, NULL), CGPC_ERR_ARG);
    assert_int_equal(cgpc_parse_double("2", 0, 1, &d, NULL), CGPC_ERR_RANGE);
    assert_int_equal(cgpc_parse_duration("48:00:00", &d, NULL), CGPC_OK);
    assert_true(d == 48 * 3600);
    assert_int_equal(cgpc_parse_duration("10:30", &d, NULL), CGPC_OK);
    assert_true(d == 630);
    assert_int_equal(cgpc_parse_duration("90", &d, NULL), CGPC_OK);
    assert_true(d == 90);
    assert_int_equal(cgpc_parse_duration("1:2:3:4", &d, NULL), CGPC_ERR_ARG);
    assert_int_equal(cgpc_parse_duration("1h", &d, NULL), CGPC_ERR_ARG);
    char buf[] = "  key = value \t\n";
    assert_string_equal(cgpc_trim(buf), "key = value");
}

static void atomic_write__replaces_whole_file_and_leaves_no_temp(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], tmp[512];
    snprintf(path, sizeof path, "%s/a.bin", dir);
    assert_int_equal(cgpc_write_file_atomic(path, "old", 3, NULL), CGPC_OK);
    assert_int_equal(cgpc_write_file_atomic(path, "new!", 4, NULL), CGPC_OK);
    unsigned char *data;
    size_t len;
    assert_int_equal(cgpc_read_file(path, &data, &len, NULL), CGPC_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "new!", 4);
    free(data);
    assert_int_equal(cgpc_atomic_tmp_path(path, tmp, sizeof tmp, NULL), CGPC_OK);
    assert_false(cgpc_path_exists(tmp));

    /* An aborted write leaves the previous version intact. */
    struct cgpc_atomic_file af;
    assert_int_equal(cgpc_atomic_open(&af, path, NULL), CGPC_OK);
    fputs("partial", af.fp);
    cgpc_atomic_abort(&af);
    assert_int_equal(cgpc_read_file(path, &data, &len, NULL), CGPC_OK);
    assert_memory_equal(data, "new!", 4);
    free(data);
    assert_false(cgpc_path_exists(tmp));
    unlink(path);
    rmdir(dir);
}

static void read_file__gz_and_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char gzpath[256], badpath[256];
    snprintf(gzpath, sizeof gzpath, "%s/x.gz", dir);
    snprintf(badpath, sizeof badpath, "%s/trunc.gz", dir);
    static unsigned char payload[200000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 7u);
    gzFile gz = gzopen(gzpath, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, payload, sizeof payload), (int)sizeof payload);
    gzclose(gz);
    unsigned char *data;
    size_t len;
    assert_int_equal(cgpc_read_file(gzpath, &data, &len, NULL), CGPC_OK);
    assert_int_equal(len, sizeof payload);
    assert_memory_equal(data, payload, sizeof payload);
    free(data);

    /* Truncated gzip stream: a format error that names the file. */
    FILE *in = fopen(gzpath, "rb");
    unsigned char head[100];
    size_t got = fread(head, 1, sizeof head, in);
    fclose(in);
    assert_int_equal(cgpc_write_file_atomic(badpath, head, got, NULL), CGPC_OK);
    struct cgpc_err err = {0};
    assert_int_not_equal(cgpc_read_file(badpath, &data, &len, &err), CGPC_OK);
    assert_non_null(strstr(err.msg, "trunc.gz"));

    assert_int_equal(cgpc_read_file("/nonexistent/file", &data, &len, &err), CGPC_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/file"));
    unlink(gzpath);
    unlink(badpath);
    rmdir(dir);
}

static void mkdirs__nested_and_existing(void **state)
{
    (void)state;
    char dir[] = "/tmp/cgpc-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char nested[256];
    snprintf(nested, sizeof nested, "%s/a/b/c", dir);
    assert_int_equal(cgpc_mkdirs(nested, NULL), CGPC_OK);
    assert_int_equal(cgpc_mkdirs(nested, NULL), CGPC_OK);
    assert_true(cgpc_path_exists(nested));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A message longer than the record loses its middle (the path), not its reason. */
static void err_set__long_message_keeps_start_and_reason(void **state)
{
    (void)state;
    char path[3000];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    struct cgpc_err err = {0};
    CGPC_FAIL(&err, CGPC_ERR_IO, "%s: cannot open: %s", path, "No space left on device");
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_int_equal(err.msg[0], '/');
    assert_non_null(strstr(err.msg, "pp...pp"));
    const char *tail = ": cannot open: No space left on device";
    assert_string_equal(err.msg + strlen(err.msg) - strlen(tail), tail);
    cgpc_err_prefix(&err, "loading %s", path);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_int_equal(strncmp(err.msg, "loading /ppp", 12), 0);
    assert_string_equal(err.msg + strlen(err.msg) - strlen(tail), tail);
    /* a multi-byte character is never cut in half */
    char utf[1200] = "";
    for (int i = 0; i < 500; i++)
        strcat(utf, "\xc3\xa9");
    CGPC_FAIL(&err, CGPC_ERR_IO, "%s: gone", utf);
    const char *cut = strstr(err.msg, "...");
    assert_non_null(cut);
    assert_true(((unsigned char)cut[-1] & 0xC0) != 0xC0);                /* not a lead byte */
    assert_true(((unsigned char)cut[3] & 0xC0) != 0x80);                 /* not a continuation */
    /* short messages are unchanged */
    CGPC_FAIL(&err, CGPC_ERR_IO, "%s", "short");
    assert_string_equal(err.msg, "short");
}

static char *tmp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/cgpc-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void rm_dir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* One writer: a second writer and any reader are refused at once, naming the holder. */
static void dir_lock__second_writer_and_reader_busy_until_released(void **state)
{
    (void)state;
    const char *dir = tmp_dir();
    char sub[128], host[256] = "", want[400];
    snprintf(sub, sizeof sub, "%s/run", dir);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    snprintf(want, sizeof want, "pid %ld on host %s", (long)getpid(), host);

    struct cgpc_dir_lock reader = {0}, writer = {0}, other = {0};
    assert_int_equal(cgpc_dir_lock_reader(&reader, sub, NULL), CGPC_OK); /* no dir, no lock */
    assert_false(cgpc_path_exists(sub));
    struct cgpc_err err = {0};
    assert_int_equal(cgpc_dir_lock_writer(&writer, sub, 0, &err), CGPC_ERR_NOT_FOUND);
    assert_int_equal(cgpc_dir_lock_writer(&writer, sub, 1, &err), CGPC_OK);
    assert_int_equal(cgpc_dir_lock_writer(&other, sub, 1, &err), CGPC_ERR_BUSY);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, sub));
    assert_int_equal(cgpc_dir_lock_reader(&reader, sub, &err), CGPC_ERR_BUSY);
    assert_non_null(strstr(err.msg, want));
    cgpc_dir_unlock(&writer);
    cgpc_dir_unlock(&writer); /* twice: a no-op */

    /* released: the record is emptied; readers share, a writer waits for them */
    char lock[160];
    snprintf(lock, sizeof lock, "%s/" CGPC_LOCK_FILE, sub);
    unsigned char *text;
    size_t len;
    assert_int_equal(cgpc_read_file(lock, &text, &len, NULL), CGPC_OK);
    assert_int_equal(len, 0);
    free(text);
    struct cgpc_dir_lock reader2 = {0};
    assert_int_equal(cgpc_dir_lock_reader(&reader, sub, NULL), CGPC_OK);
    assert_int_equal(cgpc_dir_lock_reader(&reader2, sub, NULL), CGPC_OK);
    assert_int_equal(cgpc_dir_lock_writer(&writer, sub, 1, &err), CGPC_ERR_BUSY);
    cgpc_dir_unlock(&reader);
    cgpc_dir_unlock(&reader2);
    assert_int_equal(cgpc_dir_lock_writer(&writer, sub, 1, NULL), CGPC_OK);
    cgpc_dir_unlock(&writer);
    rm_dir(dir);
}

/* Temp files of dead processes go when a writer opens the directory; others stay. */
static void dir_lock__writer_removes_stale_temp_files(void **state)
{
    (void)state;
    const char *dir = tmp_dir();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    char dead[160], mine[160], live[160], other[160], path[200];
    snprintf(dead, sizeof dead, "%s/checkpoint.tmp.%ld", dir, (long)child);
    snprintf(mine, sizeof mine, "%s/results.csv.tmp.%ld", dir, (long)getpid());
    snprintf(live, sizeof live, "%s/best.0.1.chr.tmp.%ld", dir, (long)getppid());
    snprintf(other, sizeof other, "%s/notes.tmp.txt", dir);
    const char *all[] = {dead, mine, live, other};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cgpc_write_file_atomic(all[i], "x", 1, NULL), CGPC_OK);
    struct cgpc_dir_lock lk;
    assert_int_equal(cgpc_dir_lock_writer(&lk, dir, 0, NULL), CGPC_OK);
    assert_false(cgpc_path_exists(dead));
    assert_true(cgpc_path_exists(mine) && cgpc_path_exists(live) && cgpc_path_exists(other));
    cgpc_dir_unlock(&lk);
    snprintf(path, sizeof path, "%s/" CGPC_LOCK_FILE, dir);
    assert_true(cgpc_path_exists(path));
    rm_dir(dir);
}

static void ops__names_round_trip_and_thesis_set_is_first(void **state)
{
    (void)state;
    assert_int_equal(CGPC_OP_COUNT, 30);
    for (int op = 0; op < CGPC_OP_COUNT; op++)
        assert_int_equal(cgpc_op_from_name(cgpc_op_name(op)), op);
    assert_int_equal(cgpc_op_from_name("nope"), -1);
    assert_null(cgpc_op_name(CGPC_OP_COUNT));
    assert_int_equal(cgpc_op_arity(CGPC_OP_MUL), 2);
    assert_int_equal(cgpc_op_arity(CGPC_OP_CONST127), 0);
    assert_int_equal(CGPC_OP_CONST127 + 1, CGPC_OP_THESIS_COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_set__formats_message_and_location),
        cmocka_unit_test(rng__same_key_same_stream_other_key_differs),
        cmocka_unit_test(rng_below__uniform_and_in_range),
        cmocka_unit_test(parse_int__strict),
        cmocka_unit_test(parse_double_and_duration),
        cmocka_unit_test(format_i32__as_printf_d),
        cmocka_unit_test(atomic_write__replaces_whole_file_and_leaves_no_temp),
        cmocka_unit_test(read_file__gz_and_errors),
        cmocka_unit_test(mkdirs__nested_and_existing),
        cmocka_unit_test(ops__names_round_trip_and_thesis_set_is_first),
        cmocka_unit_test(err_set__long_message_keeps_start_and_reason),
        cmocka_unit_test(dir_lock__second_writer_and_reader_busy_until_released),
        cmocka_unit_test(dir_lock__writer_removes_stale_temp_files),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
