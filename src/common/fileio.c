#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

cgpc_status cgpc_atomic_tmp_path(const char *path, char *tmp, size_t tmp_cap,
                                 struct cgpc_err *err)
{
    int n = snprintf(tmp, tmp_cap, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= tmp_cap)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: path too long", path);
    return CGPC_OK;
}

static void fsync_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

cgpc_status cgpc_atomic_commit(const char *tmp_path, const char *path, struct cgpc_err *err)
{
    int fd = open(tmp_path, O_RDONLY);
    if (fd < 0) {
        cgpc_status st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot reopen temp file: %s", tmp_path,
                                   strerror(errno));
        unlink(tmp_path);
        return st;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        cgpc_status st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: fsync: %s", tmp_path, strerror(errno));
        close(fd);
        unlink(tmp_path);
        return st;
    }
    close(fd);
    if (rename(tmp_path, path) != 0) {
        cgpc_status st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot rename into place: %s", path,
                                   strerror(errno));
        unlink(tmp_path);
        return st;
    }
    fsync_parent_dir(path);
    return CGPC_OK;
}

cgpc_status cgpc_atomic_open(struct cgpc_atomic_file *af, const char *path, struct cgpc_err *err)
{
    memset(af, 0, sizeof *af);
    if (strlen(path) >= sizeof af->path)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: path too long", path);
    snprintf(af->path, sizeof af->path, "%s", path);
    cgpc_status st = cgpc_atomic_tmp_path(path, af->tmp_path, sizeof af->tmp_path, err);
    if (st != CGPC_OK)
        return st;
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot create: %s", af->tmp_path,
                         strerror(errno));
    return CGPC_OK;
}

cgpc_status cgpc_atomic_close(struct cgpc_atomic_file *af, struct cgpc_err *err)
{
    if (!af->fp)
        return CGPC_FAIL(err, CGPC_ERR_INTERNAL, "%s: file not open", af->path);
    errno = 0;
    int bad = ferror(af->fp) || fflush(af->fp) != 0;
    int e = errno; /* the flush's reason (a full disk shows here, not in fwrite) */
    int close_rc = fclose(af->fp);
    if (!e)
        e = errno;
    af->fp = NULL;
    if (bad || close_rc != 0) {
        cgpc_status st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed: %s", af->path,
                                   e ? strerror(e) : "unknown error");
        unlink(af->tmp_path);
        return st;
    }
    return cgpc_atomic_commit(af->tmp_path, af->path, err);
}

void cgpc_atomic_abort(struct cgpc_atomic_file *af)
{
    if (af->fp) {
        fclose(af->fp);
        af->fp = NULL;
    }
    if (af->tmp_path[0])
        unlink(af->tmp_path);
    af->tmp_path[0] = '\0';
}

cgpc_status cgpc_atomic_fail(struct cgpc_atomic_file *af, struct cgpc_err *err)
{
    int e = errno;
    cgpc_atomic_abort(af);
    errno = e;
    return CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed: %s", af->path,
                     e ? strerror(e) : "unknown error");
}

cgpc_status cgpc_write_file_atomic(const char *path, const void *data, size_t len,
                                   struct cgpc_err *err)
{
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st != CGPC_OK)
        return st;
    if (len && fwrite(data, 1, len, af.fp) != len)
        return cgpc_atomic_fail(&af, err);
    return cgpc_atomic_close(&af, err);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

cgpc_status cgpc_read_file(const char *path, unsigned char **data, size_t *len,
                           struct cgpc_err *err)
{
    return cgpc_read_file_max(path, SIZE_MAX - 1, data, len, err);
}

cgpc_status cgpc_read_file_max(const char *path, size_t max, unsigned char **data, size_t *len,
                               struct cgpc_err *err)
{
    *data = NULL;
    *len = 0;
    /* gzopen also reads plain files transparently, so one code path serves both; the .gz
     * check only decides how an unreadable stream is reported. */
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    cgpc_status st = CGPC_OK;
    if (!buf) {
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: cannot allocate read buffer", path);
        goto out;
    }
    for (;;) {
        if (n > max) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: larger than %zu bytes (not a file of this "
                           "kind?)", path, max);
            goto out;
        }
        if (n == cap) {
            size_t new_cap = cap * 2;
            unsigned char *grown = realloc(buf, new_cap + 1);
            if (!grown) {
                st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: file too large for memory", path);
                goto out;
            }
            buf = grown;
            cap = new_cap;
        }
        size_t want = cap - n;
        if (want > (size_t)INT_MAX)
            want = (size_t)INT_MAX;
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr = 0;
            const char *why = gzerror(gz, &zerr);
            st = CGPC_FAIL(err, zerr == Z_ERRNO ? CGPC_ERR_IO : CGPC_ERR_FORMAT,
                           "%s: %s: %s", path,
                           ends_with(path, ".gz") ? "corrupt or truncated gzip data" : "read failed",
                           zerr == Z_ERRNO ? strerror(errno) : why);
            goto out;
        }
        if (got == 0) {
            /* A stream cut short reads as a clean end; zlib flags it only via gzerror. */
            int zerr = 0;
            (void)gzerror(gz, &zerr);
            if (zerr == Z_BUF_ERROR) {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: truncated gzip data", path);
                goto out;
            }
            break;
        }
        n += (size_t)got;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    gzclose(gz);
    return st;
}

cgpc_status cgpc_mkdirs(const char *path, struct cgpc_err *err)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot create directory: %s", buf,
                                 strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: not a directory", path);
    return CGPC_OK;
}

int cgpc_path_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

cgpc_status cgpc_read_file_raw(const char *path, char **data, size_t *len, struct cgpc_err *err)
{
    *data = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open", path);
    cgpc_status st = CGPC_OK;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (n < cap - 1)
            break;
        char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    else if (ferror(fp))
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: read error", path);
    fclose(fp);
    if (st != CGPC_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CGPC_OK;
}

cgpc_status cgpc_copy_file_raw(const char *from, const char *to, struct cgpc_err *err)
{
    char *data;
    size_t len;
    cgpc_status st = cgpc_read_file_raw(from, &data, &len, err);
    if (st == CGPC_OK)
        st = cgpc_write_file_atomic(to, data, len, err);
    free(data);
    return st;
}
