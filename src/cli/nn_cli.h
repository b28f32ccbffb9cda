/* nn_cli.h - what the nn commands (train-model, quantize, eval) share: resolving dataset
 * names to directories and loading them with cgpc-formatted errors.
 *
 * `mnist` -> the first existing of $CGPC_DATA_DIR/mnist, <dir of the executable>/../data/mnist
 * (via /proc/self/exe), ./data/mnist. `fashion-mnist` -> $CGPC_DATA_DIR/fashion-mnist if it
 * exists, else /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist). Anything
 * else is a directory. */
#ifndef CGPC_CLI_NN_CLI_H
#define CGPC_CLI_NN_CLI_H

#include <stddef.h>

#include "../common/error.h"
#include "../nn/dataset.h"
#include "../nn/model.h"
#include "../nn/train.h"

cgpc_status nn_cli_resolve_dataset(const char *name, char *dir, size_t cap,
                                   struct cgpc_err *err);

/* Resolve + load one split; on failure fills err (message names the file). */
cgpc_status nn_cli_load_dataset(const char *name, enum nn_split split, struct nn_dataset *ds,
                                struct cgpc_err *err);

/* "adam" or "sgd" (train-model and compress --optim); CGPC_ERR_ARG otherwise. */
cgpc_status nn_cli_parse_optim(const char *s, enum nn_optim *out, struct cgpc_err *err);

/* Distillation: the teacher model's logits on every image of `dataset`'s train split
 * (padded to the teacher's input size), [n_images][classes], malloc'd into *out; says on
 * stderr how the teacher scores on them. The teacher must have the student's class count. */
cgpc_status nn_cli_teacher_logits(const char *teacher, const char *dataset,
                                  const struct nn_model *student, float **out,
                                  struct cgpc_err *err);

/* train-model's progress callback (nn_train_opts.progress; ctx: a tag string such as
 * "qat "): a live line on a terminal, one line per epoch on stderr. */
void nn_cli_train_progress(const struct nn_train_progress *p, void *ctx);

/* Hint training (--hint T:S, FitNets): the teacher's layer T outputs on every image of
 * `dataset`'s train split (padded to the teacher's input size) into *out (malloc'd,
 * [n_images][C*H*W]), and o's hint_target, hint_layer (student layer S) and hint_c. The two
 * layers must have output maps of the same size (H x W; linear and pooled-to-1x1 layers are
 * 1 x 1). CGPC_ERR_ARG naming the layer or the sizes otherwise. */
cgpc_status nn_cli_teacher_hint(const char *teacher, const char *dataset, const char *spec,
                                const struct nn_model *student, struct nn_train_opts *o,
                                float **out, struct cgpc_err *err);

#endif
