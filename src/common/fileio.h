/* fileio.h - crash-safe file writing and whole-file reading.
 *
 * Every artifact cgpc writes (models, checkpoints, statistics, results) goes to
 * "<path>.tmp.<pid>", is flushed and fsync()ed, then rename()d over <path>, and the directory
 * is fsync()ed. A crash at any point leaves either the old file or the new one, never a torn
 * one. The helpers below work for stdio (FILE *) writers; for zlib writers, use
 * cgpc_atomic_tmp_path() and cgpc_atomic_commit() directly. */
#ifndef CGPC_FILEIO_H
#define CGPC_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

struct cgpc_atomic_file {
    FILE *fp;            /* write here */
    char path[4096];     /* final destination */
    char tmp_path[4200]; /* where the bytes go until commit */
};

/* Fill tmp (capacity tmp_cap) with the temp path used for `path`. */
cgpc_status cgpc_atomic_tmp_path(const char *path, char *tmp, size_t tmp_cap,
                                 struct cgpc_err *err);

/* fsync tmp_path, rename it to path, fsync path's directory. On failure, tmp_path is removed. */
cgpc_status cgpc_atomic_commit(const char *tmp_path, const char *path, struct cgpc_err *err);

/* Open af->fp for writing a new version of `path` (binary mode). */
cgpc_status cgpc_atomic_open(struct cgpc_atomic_file *af, const char *path, struct cgpc_err *err);

/* Flush, close and rename into place. Closes af->fp in every case. */
cgpc_status cgpc_atomic_close(struct cgpc_atomic_file *af, struct cgpc_err *err);

/* Discard: close af->fp (if open) and remove the temp file. Safe to call twice. */
void cgpc_atomic_abort(struct cgpc_atomic_file *af);

/* A write to af->fp failed: record "<path>: write failed: <reason>" with errno as the failed
 * write left it (e.g. "No space left on device"), discard, and return CGPC_ERR_IO. */
cgpc_status cgpc_atomic_fail(struct cgpc_atomic_file *af, struct cgpc_err *err);

/* Write `len` bytes of `data` to `path` atomically. */
cgpc_status cgpc_write_file_atomic(const char *path, const void *data, size_t len,
                                   struct cgpc_err *err);

/* Read a whole file into a malloc'ed buffer (NUL-terminated for convenience; *len excludes
 * the NUL). If the name ends in ".gz" it is decompressed through zlib. */
cgpc_status cgpc_read_file(const char *path, unsigned char **data, size_t *len,
                           struct cgpc_err *err);

/* The same, refusing (CGPC_ERR_FORMAT) a file, or a decompressed stream, of more than `max`
 * bytes: for small text files whose size a reader must bound. */
cgpc_status cgpc_read_file_max(const char *path, size_t max, unsigned char **data, size_t *len,
                               struct cgpc_err *err);

/* A file's bytes as they are on disk (no gunzip: a copied .gz stays compressed), NUL-terminated
 * (*len excludes the NUL), malloc'd into *data. */
cgpc_status cgpc_read_file_raw(const char *path, char **data, size_t *len, struct cgpc_err *err);
/* Copy `from` to `to` byte for byte, atomically (temp file + rename). */
cgpc_status cgpc_copy_file_raw(const char *from, const char *to, struct cgpc_err *err);

/* mkdir -p; succeeds if the directory already exists. */
cgpc_status cgpc_mkdirs(const char *path, struct cgpc_err *err);

/* 1 if path names an existing file or directory. */
int cgpc_path_exists(const char *path);

#endif
