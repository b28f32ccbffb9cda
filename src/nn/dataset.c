#include "nn/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/fileio.h"

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Parse one IDX file: checks magic, dims and exact size; returns a pointer into `data` where
 * the payload starts and the dims. ndims is 3 for images, 1 for labels. */
static cgpc_status idx_check(const char *path, const unsigned char *data, size_t len,
                             uint32_t magic, int ndims, uint32_t *dims, struct cgpc_err *err)
{
    size_t hdr = 4 + 4 * (size_t)ndims;
    uint32_t m = len >= 4 ? be32(data) : magic;
    if (m != magic)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: bad IDX magic 0x%08x (expected 0x%08x for %s; is this the right "
                         "file?)",
                         path, m, magic, ndims == 3 ? "images" : "labels");
    if (len < hdr)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: truncated IDX header (%zu bytes, need %zu)",
                         path, len, hdr);
    size_t want = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(data + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > (1u << 24))
            return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: dimension %d is %u (expected 1..%u)",
                             path, i, dims[i], 1u << 24);
        if (__builtin_mul_overflow(want, (size_t)dims[i], &want))
            return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                             "%s: the header's dimensions multiply to more than %zu bytes", path,
                             (size_t)SIZE_MAX);
    }
    if (len - hdr != want)
        return CGPC_FAIL(err, CGPC_ERR_FORMAT,
                         "%s: %s: payload is %zu bytes but the header says %zu",
                         path, len - hdr < want ? "truncated" : "mis-sized", len - hdr, want);
    return CGPC_OK;
}

cgpc_status nn_dataset_load_files(const char *images_path, const char *labels_path,
                                  struct nn_dataset *ds, struct cgpc_err *err)
{
    cgpc_status st;
    unsigned char *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0;
    memset(ds, 0, sizeof *ds);
    if ((st = cgpc_read_file(images_path, &img, &img_len, err)) != CGPC_OK ||
        (st = cgpc_read_file(labels_path, &lab, &lab_len, err)) != CGPC_OK) {
        free(img);
        return st;
    }
    return nn_dataset_parse_idx(img, img_len, images_path, lab, lab_len, labels_path, ds, err);
}

cgpc_status nn_dataset_parse_idx(unsigned char *img, size_t img_len, const char *images_path,
                                 unsigned char *lab, size_t lab_len, const char *labels_path,
                                 struct nn_dataset *ds, struct cgpc_err *err)
{
    cgpc_status st;
    uint32_t idims[3] = {0}, ldims[1] = {0};
    memset(ds, 0, sizeof *ds);
    if ((st = idx_check(images_path, img, img_len, NN_IDX_MAGIC_IMAGES, 3, idims, err)))
        goto out;
    if ((st = idx_check(labels_path, lab, lab_len, NN_IDX_MAGIC_LABELS, 1, ldims, err)))
        goto out;
    if (ldims[0] != idims[0]) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: %u labels but %s has %u images", labels_path,
                       ldims[0], images_path, idims[0]);
        goto out;
    }
    for (uint32_t i = 0; i < ldims[0]; i++)
        if (lab[8 + i] >= NN_NUM_CLASSES) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: label %u of item %u is out of range 0..%d",
                           labels_path, lab[8 + i], i, NN_NUM_CLASSES - 1);
            goto out;
        }
    ds->n = (int)idims[0];
    ds->rows = (int)idims[1];
    ds->cols = (int)idims[2];
    /* Keep the loaded buffers and slide the payload to the front: no second copy. */
    memmove(img, img + 16, img_len - 16);
    memmove(lab, lab + 8, lab_len - 8);
    ds->images = img;
    ds->labels = lab;
    img = lab = NULL;
    snprintf(ds->path, sizeof ds->path, "%s", images_path);
out:
    free(img);
    free(lab);
    return st;
}

static void split_path(char *buf, size_t cap, const char *dir, const char *prefix,
                       const char *kind, int gz)
{
    snprintf(buf, cap, "%s/%s-%s-ubyte%s", dir, prefix, kind, gz ? ".gz" : "");
}

int nn_dataset_val_count(int n_train)
{
    return n_train >= 60000 ? 5000 : n_train / 8;
}

/* Keep images [from, from + n) of a loaded dataset, sliding them to the front. */
static void dataset_keep(struct nn_dataset *ds, int from, int n)
{
    size_t img = (size_t)ds->rows * ds->cols;
    memmove(ds->images, ds->images + (size_t)from * img, (size_t)n * img);
    memmove(ds->labels, ds->labels + from, (size_t)n);
    ds->n = n;
}

cgpc_status nn_dataset_load(const char *dir, enum nn_split split, struct nn_dataset *ds,
                            struct cgpc_err *err)
{
    const char *prefix = split == NN_SPLIT_TEST ? "t10k" : "train";
    char ip[4200], lp[4200];
    split_path(ip, sizeof ip, dir, prefix, "images-idx3", 0);
    if (!cgpc_path_exists(ip))
        split_path(ip, sizeof ip, dir, prefix, "images-idx3", 1);
    split_path(lp, sizeof lp, dir, prefix, "labels-idx1", 0);
    if (!cgpc_path_exists(lp))
        split_path(lp, sizeof lp, dir, prefix, "labels-idx1", 1);
    if (!cgpc_path_exists(ip)) {
        memset(ds, 0, sizeof *ds);
        return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND,
                         "%s: no such file (nor without .gz); a dataset directory holds "
                         "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]",
                         ip);
    }
    cgpc_status st = nn_dataset_load_files(ip, lp, ds, err);
    if (st || split == NN_SPLIT_TEST || split == NN_SPLIT_TRAIN_FULL)
        return st;
    int nv = nn_dataset_val_count(ds->n);
    if (split == NN_SPLIT_VAL && nv == 0) {
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                       "%s: %d train images are too few for a validation split (need >= 8)",
                       ip, ds->n);
        nn_dataset_free(ds);
        return st;
    }
    if (split == NN_SPLIT_VAL)
        dataset_keep(ds, ds->n - nv, nv);
    else
        ds->n -= nv;
    return CGPC_OK;
}

void nn_dataset_truncate(struct nn_dataset *ds, int limit)
{
    if (limit > 0 && limit < ds->n)
        ds->n = limit;
}

void nn_dataset_free(struct nn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static cgpc_status write_idx(const char *path, const unsigned char *hdr, size_t hlen,
                             const uint8_t *payload, size_t plen, struct cgpc_err *err)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        char tmp[4300];
        cgpc_status st = cgpc_atomic_tmp_path(path, tmp, sizeof tmp, err);
        if (st)
            return st;
        gzFile gz = gzopen(tmp, "wb9");
        if (!gz)
            return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open for writing", tmp);
        int ok = gzwrite(gz, hdr, (unsigned)hlen) == (int)hlen &&
                 (plen == 0 || gzwrite(gz, payload, (unsigned)plen) == (int)plen);
        errno = 0;
        if (gzclose(gz) != Z_OK || !ok) {
            int e = errno;
            remove(tmp);
            return CGPC_FAIL(err, CGPC_ERR_IO, "%s: write failed: %s", path,
                             e ? strerror(e) : "compression error");
        }
        return cgpc_atomic_commit(tmp, path, err);
    }
    struct cgpc_atomic_file af;
    cgpc_status st = cgpc_atomic_open(&af, path, err);
    if (st)
        return st;
    if (fwrite(hdr, 1, hlen, af.fp) != hlen || fwrite(payload, 1, plen, af.fp) != plen)
        return cgpc_atomic_fail(&af, err);
    return cgpc_atomic_close(&af, err);
}

cgpc_status nn_dataset_save_files(const struct nn_dataset *ds, const char *images_path,
                                  const char *labels_path, struct cgpc_err *err)
{
    unsigned char h[16];
    put_be32(h, NN_IDX_MAGIC_IMAGES);
    put_be32(h + 4, (uint32_t)ds->n);
    put_be32(h + 8, (uint32_t)ds->rows);
    put_be32(h + 12, (uint32_t)ds->cols);
    cgpc_status st = write_idx(images_path, h, 16, ds->images,
                               (size_t)ds->n * ds->rows * ds->cols, err);
    if (st)
        return st;
    put_be32(h, NN_IDX_MAGIC_LABELS);
    return write_idx(labels_path, h, 8, ds->labels, (size_t)ds->n, err);
}

cgpc_status nn_split_parse(const char *s, enum nn_split *out, struct cgpc_err *err)
{
    for (int i = 0; i <= NN_SPLIT_TRAIN_FULL; i++)
        if (i != NN_SPLIT_TRAIN_FULL && strcmp(s, nn_split_name((enum nn_split)i)) == 0) {
            *out = (enum nn_split)i;
            return CGPC_OK;
        }
    return CGPC_FAIL(err, CGPC_ERR_ARG, "'%s': expected 'train', 'val' or 'test'", s);
}

const char *nn_split_name(enum nn_split split)
{
    switch (split) {
    case NN_SPLIT_TRAIN: return "train";
    case NN_SPLIT_TEST: return "test";
    case NN_SPLIT_VAL: return "val";
    case NN_SPLIT_TRAIN_FULL: return "train-full";
    }
    return "?";
}

cgpc_status nn_dataset_pad(struct nn_dataset *ds, int rows, int cols, struct cgpc_err *err)
{
    if (rows == ds->rows && cols == ds->cols)
        return CGPC_OK;
    int dr = rows - ds->rows, dc = cols - ds->cols;
    if (dr < 0 || dc < 0 || dr % 2 || dc % 2)
        return CGPC_FAIL(err, CGPC_ERR_ARG,
                         "%s: images are %dx%d, cannot be zero-padded evenly to %dx%d",
                         ds->path, ds->rows, ds->cols, rows, cols);
    size_t img = (size_t)rows * cols;
    uint8_t *p = calloc((size_t)ds->n * img, 1);
    if (!p)
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "padding %d images", ds->n);
    for (int i = 0; i < ds->n; i++)
        for (int y = 0; y < ds->rows; y++)
            memcpy(p + (size_t)i * img + (size_t)(y + dr / 2) * cols + dc / 2,
                   ds->images + ((size_t)i * ds->rows + y) * ds->cols, (size_t)ds->cols);
    free(ds->images);
    ds->images = p;
    ds->rows = rows;
    ds->cols = cols;
    return CGPC_OK;
}
