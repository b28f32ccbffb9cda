/* safetensors.h - read and write the Hugging Face safetensors format.
 *
 * Layout: u64 little-endian N, then N bytes of JSON header
 *   {"name": {"dtype": "F32", "shape": [6,1,5,5], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the data section; offsets are relative to the start of the data section. The reader
 * checks: header length within the file, well-formed JSON (own small parser, no
 * dependencies), known dtypes (F32 I8 U8 I32 I64 F16), end - begin == dtype size * prod(shape),
 * offsets within the data section, no two tensors overlapping, and no duplicate names.
 * Every error names the file and, where it applies, the tensor.
 *
 * The writer sorts tensors by name, lays them out contiguously in that order, and pads the
 * header with spaces to a multiple of 8 bytes (as the Python library does); the file is
 * written atomically.
 *
 * Ownership: nn_st_load() reads the whole file into st->buf; tensor data pointers point into
 * it (unaligned: copy with memcpy, or use nn_st_copy_*); nn_st_free() releases it. Host byte
 * order must be little-endian (x86, ARM). */
#ifndef CGPC_NN_SAFETENSORS_H
#define CGPC_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define NN_ST_MAX_DIMS 8
#define NN_ST_NAME_MAX 128

enum nn_dtype { NN_DT_F32, NN_DT_I8, NN_DT_U8, NN_DT_I32, NN_DT_I64, NN_DT_F16 };

struct nn_st_tensor {
    char name[NN_ST_NAME_MAX];
    enum nn_dtype dtype;
    int ndim;
    int64_t shape[NN_ST_MAX_DIMS];
    int64_t numel;
    size_t begin, end;          /* offsets in the data section */
    const unsigned char *data;  /* st->buf + data start + begin; unaligned */
};

struct nn_st_meta {
    char key[64];
    char value[256];
};

struct nn_st_file {
    unsigned char *buf; /* whole file (loader) */
    size_t len;
    int ntensors;
    struct nn_st_tensor *tensors; /* in file order */
    int nmeta;
    struct nn_st_meta *meta;
    char path[4096];
};

size_t nn_dtype_size(enum nn_dtype dt);
const char *nn_dtype_name(enum nn_dtype dt);

/* Read and validate a file. */
cgpc_status nn_st_load(const char *path, struct nn_st_file *st, struct cgpc_err *err);

/* Validate an in-memory image; takes ownership of buf (malloc'ed) on success and failure.
 * `path` is used in messages only. */
cgpc_status nn_st_parse(unsigned char *buf, size_t len, const char *path, struct nn_st_file *st,
                        struct cgpc_err *err);

void nn_st_free(struct nn_st_file *st);

/* Tensor by name, or NULL. */
const struct nn_st_tensor *nn_st_find(const struct nn_st_file *st, const char *name);

/* Metadata value by key, or NULL. */
const char *nn_st_meta_get(const struct nn_st_file *st, const char *key);

/* Find `name`, check its dtype and shape (ndim dims in `shape`), copy its data to dst
 * (numel elements of the dtype). CGPC_ERR_NOT_FOUND / CGPC_ERR_FORMAT name file and tensor. */
cgpc_status nn_st_copy(const struct nn_st_file *st, const char *name, enum nn_dtype dtype,
                       int ndim, const int64_t *shape, void *dst, struct cgpc_err *err);

/* One tensor to write. */
struct nn_st_out {
    const char *name;
    enum nn_dtype dtype;
    int ndim;
    int64_t shape[NN_ST_MAX_DIMS];
    const void *data; /* numel * dtype size bytes */
};

/* Write tensors (sorted by name on output) and metadata key/value pairs atomically. */
cgpc_status nn_st_save(const char *path, const struct nn_st_out *tensors, int ntensors,
                       const struct nn_st_meta *meta, int nmeta, struct cgpc_err *err);

#endif
