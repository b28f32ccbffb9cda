/* compress_cli.h - the per-layer table `cgpc compress` prints (the paper's Table 3). */
#ifndef CGPC_CLI_COMPRESS_CLI_H
#define CGPC_CLI_COMPRESS_CLI_H

#include "../compress/cmodel.h"

/* Per layer of pq (fixed-width codes) and pqh (as stored, Huffman if asked): weights, kept %,
 * value and index bits, stored bytes and rates vs the layer's float32 weights and biases;
 * then the totals vs the float32 and int8 references (with `verbose`, every stored part) on
 * stdout. */
cgpc_status compress_print_table(const struct nn_model *m, const struct cpr_stats *pq,
                                 const struct cpr_stats *pqh, int verbose,
                                 struct cgpc_err *err);

#endif
