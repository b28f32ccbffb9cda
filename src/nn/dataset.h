/* dataset.h - IDX image datasets (MNIST, QMNIST, Fashion-MNIST layout), plain or gzip.
 *
 * Job: load `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` from a directory into one
 * struct nn_dataset holding uint8 pixels [n, rows, cols] and uint8 labels [n]. Library code
 * takes a directory; resolving the names `mnist` / `fashion-mnist` is the CLI's job
 * (src/cli/nn_cli.c). Ownership: nn_dataset_load() allocates, nn_dataset_free() releases
 * (free(NULL)-like on a zeroed struct). A dataset is read-only after loading and can be
 * shared by any number of threads.
 *
 * Validation: magic (0x00000803 images, 0x00000801 labels), dims > 0, the file size matches
 * the header exactly, image and label counts agree, every label < NN_NUM_CLASSES. Errors name
 * the file and the problem. */
#ifndef CGPC_NN_DATASET_H
#define CGPC_NN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define NN_NUM_CLASSES 10
#define NN_IDX_MAGIC_IMAGES 0x00000803u
#define NN_IDX_MAGIC_LABELS 0x00000801u

/* Splits. The validation split is carved from the end of the IDX train file, deterministically
 * (no shuffling): the last nn_dataset_val_count(n) of its n images. NN_SPLIT_TRAIN is the train
 * file minus those images, so nothing that trains (train-model, quantize calibration) ever sees
 * a validation image. NN_SPLIT_TRAIN_FULL is the whole train file (tests, tools). */
enum nn_split { NN_SPLIT_TRAIN = 0, NN_SPLIT_TEST = 1, NN_SPLIT_VAL = 2, NN_SPLIT_TRAIN_FULL = 3 };

/* Size of the validation split of an n-image train file: 5,000 for n >= 60,000
 * (Fashion-MNIST: images 55,000..59,999), otherwise n / 8 (the 8,000-image MNIST subset:
 * images 7,000..7,999). 0 for n < 8 (no validation split). */
int nn_dataset_val_count(int n_train);

struct nn_dataset {
    int n;           /* number of images */
    int rows, cols;  /* image size in pixels */
    uint8_t *images; /* [n, rows, cols], row-major, 0..255 */
    uint8_t *labels; /* [n], each < NN_NUM_CLASSES */
    char path[4096]; /* the images file it came from (for messages) */
};

/* Load one split from `dir`: tries "<prefix>-images-idx3-ubyte" then ".gz" (same for labels),
 * prefix "train" (train, val, train-full) or "t10k" (test). CGPC_ERR_FORMAT for NN_SPLIT_VAL
 * when the train file is too small to have one. */
cgpc_status nn_dataset_load(const char *dir, enum nn_split split, struct nn_dataset *ds,
                            struct cgpc_err *err);

/* Load from explicit image and label file paths (plain or .gz). */
cgpc_status nn_dataset_load_files(const char *images_path, const char *labels_path,
                                  struct nn_dataset *ds, struct cgpc_err *err);

/* The same from two IDX images in memory (malloc'ed; ownership passes to ds on success, and
 * they are freed on failure). The paths name the images in messages. */
cgpc_status nn_dataset_parse_idx(unsigned char *img, size_t img_len, const char *images_path,
                                 unsigned char *lab, size_t lab_len, const char *labels_path,
                                 struct nn_dataset *ds, struct cgpc_err *err);

/* Keep only the first `limit` images (limit <= 0 or >= n: unchanged). No reallocation. */
void nn_dataset_truncate(struct nn_dataset *ds, int limit);

void nn_dataset_free(struct nn_dataset *ds);

/* Zero-pad every image to rows x cols (pixel value 0, centred: (rows - ds->rows) / 2 rows
 * above; 28x28 -> 32x32 pads 2 on each side, as torchvision's transforms.Pad(2) before
 * ToTensor). No-op if the size already matches; CGPC_ERR_ARG if smaller or the margins are
 * uneven. Models take inputs of their own size: the CLI pads Fashion-MNIST to MobileNetV2's
 * 32x32 for training, calibration and evaluation alike. */
cgpc_status nn_dataset_pad(struct nn_dataset *ds, int rows, int cols, struct cgpc_err *err);

/* Write a dataset as an IDX pair (plain, or gzip if a name ends in ".gz"), atomically. */
cgpc_status nn_dataset_save_files(const struct nn_dataset *ds, const char *images_path,
                                  const char *labels_path, struct cgpc_err *err);

/* "train" / "val" / "test" -> split; CGPC_ERR_ARG otherwise. */
cgpc_status nn_split_parse(const char *s, enum nn_split *out, struct cgpc_err *err);

/* "train", "test", "val", "train-full". */
const char *nn_split_name(enum nn_split split);

#endif
