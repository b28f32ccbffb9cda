/* resfile.h - the compressed file of the predictive (residual) mode, issue 18: a circuit that
 * predicts the selected weights of a layer plus the entropy-coded residual, rebuilt exactly
 * (bound e = 0) or within e per weight (e >= 1) by `cgpc eval --residual FILE`.
 *
 * File "cgpc-residual" version 1 (integers little-endian; docs/ARCHITECTURE.md):
 *   magic "CGPCRES\0" (8 bytes), u32 version = 1, u8 bound e, u8 reserved 0,
 *   u32 n_inputs, u32 n_outputs (circuit), u32 n_active (nodes), u64 weights (residuals),
 *   u64 circuit_bits, u64 residual_bits, u64 checksum (FNV-1a 64 of the rebuilt weights in
 *   residual order), u16 F + F bytes: the function set (ops.h names, comma-separated; the
 *   circuit's op fields index it), u32 X + X bytes: the experiment text that selects the
 *   weights (its model key is replaced by the model given to the decoder),
 *   then the payload: ceil((circuit_bits + residual_bits) / 8) bytes of one MSB-first bit stream:
 *     circuit (exactly storage_circuit_bits): per active node k in topological order its
 *       function index (ceil(log2 F) bits) and one source per input pin (ceil(log2(n_inputs + k))
 *       bits: < n_inputs a primary input, else node (source - n_inputs)); per output one source
 *       (ceil(log2(n_inputs + n_active)) bits);
 *     residual (compress/residual.h): table and stream, residual_bits bits.
 * Residual order: items in selection order, each item's outputs in order, weights only.
 * stored_bits = circuit_bits + residual_bits is what the storage model charges; the header
 * (shape, counts, function names, experiment text) describes the selection, which no method's
 * stored bits count (the int8 reference does not count tensor names and shapes either).
 *
 * Ownership: buffers returned by exp_resid_pack and the strings and genome of struct
 * exp_resid_file are the caller's (free / exp_resid_file_free). */
#ifndef CGPC_EXP_RESFILE_H
#define CGPC_EXP_RESFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cgp/cgp.h"
#include "common/error.h"
#include "compress/residual.h"
#include "exp/experiment.h"

#define EXP_RESID_MAGIC "CGPCRES"
#define EXP_RESID_VERSION 1u

struct exp_resid_info {
    int bound;
    uint64_t weights;           /* residuals coded (selected output weights) */
    int active;                 /* active nodes of the circuit */
    uint64_t circuit_bits;      /* storage_circuit_bits of the circuit */
    struct cpr_resid_code code; /* table, stream, entropy estimate, max error */
    uint64_t stored_bits;       /* circuit_bits + code.bits */
    uint64_t header_bytes, file_bytes;
    uint64_t checksum;          /* FNV-1a 64 of the rebuilt weights */
};

/* The file of genome g's active circuit predicting the true weights w[n] with p[n] (its
 * outputs) under bound e; experiment: the text stored to rebuild the selection (may be ""). */
cgpc_status exp_resid_pack(const struct cgp_genome *g, const int8_t *w, const int8_t *p, size_t n,
                           int bound, const char *experiment, unsigned char **buf, size_t *len,
                           struct exp_resid_info *info, struct cgpc_err *err);

struct exp_resid_file {
    int bound;
    int n_inputs, n_outputs, n_active;
    uint64_t weights, circuit_bits, residual_bits, checksum;
    char *functions;           /* comma-separated op names */
    char *experiment;          /* NUL-terminated */
    struct cgp_genome circuit; /* one row, one node per column (a const0 node when none) */
    unsigned char *payload;    /* ceil((circuit_bits + residual_bits) / 8) bytes */
};
/* Parse a file's bytes (name for messages). CGPC_ERR_FORMAT naming the field for a bad
 * magic, version, count, function name, length or circuit. */
cgpc_status exp_resid_unpack(const unsigned char *buf, size_t len, const char *name,
                             struct exp_resid_file *f, struct cgpc_err *err);
void exp_resid_file_free(struct exp_resid_file *f);
/* The weights out[f->weights] from the circuit's predictions p[f->weights] and the coded
 * residual; CGPC_ERR_FORMAT if the stream is bad or the checksum differs. */
cgpc_status exp_resid_rebuild(const struct exp_resid_file *f, const int8_t *p, int8_t *out,
                              struct cgpc_err *err);

/* Layer level, on an experiment's setup: genome g (on s->ds) evaluated; the selected output
 * weights (true codes of the model) and their predictions in residual order into malloc'ed
 * w[n], p[n]. CGPC_ERR_ARG when an output is a literal. */
cgpc_status exp_resid_gather(const struct exp_setup *s, const struct cgp_genome *g, int8_t **w,
                             int8_t **p, size_t *n, struct cgpc_err *err);
/* gather + pack, and write the file to path (atomically) when path is not NULL. */
cgpc_status exp_resid_encode(const struct exp_setup *s, const struct cgp_genome *g, int bound,
                             const char *experiment, const char *path,
                             struct exp_resid_info *info, struct cgpc_err *err);
/* Read a file (path) for exp_resid_decode; its experiment text is f->experiment. */
cgpc_status exp_resid_load(const char *path, struct exp_resid_file *f, struct cgpc_err *err);
/* Decode into s's model: s must be set up from f->experiment (on the model to rebuild); the
 * selected output weights are first zeroed (nothing of the originals is used), then rebuilt
 * from the circuit's predictions and the residual. *written: weights rebuilt. */
cgpc_status exp_resid_decode(struct exp_setup *s, const struct exp_resid_file *f,
                             int64_t *written, struct cgpc_err *err);

/* The baseline of the mode: the same weights entropy-coded without a predictor (p = 0, no
 * circuit) under bound e: *bits = table + stream. */
cgpc_status exp_resid_baseline(const struct exp_setup *s, int bound, struct cpr_resid_code *c,
                               struct cgpc_err *err);

/* One residual file of a train directory. */
struct exp_resid_row {
    int run;
    int bound;
    char file[256];              /* best.<run>.<e>.res, in the directory */
    struct exp_resid_info info;  /* the circuit's file */
    struct cpr_resid_code plain; /* the baseline: no predictor, same bound */
};
/* For every results row of a train directory in residual mode (s set up from its
 * experiment.exp): encode the best circuit into DIR/best.<run>.<e>.res (with the directory's
 * experiment text, comments removed) and call row(user, r) (nonzero stops with
 * CGPC_ERR_INTERRUPTED). */
cgpc_status exp_resid_write_dir(const struct exp_setup *s, const char *dir,
                                int (*row)(void *user, const struct exp_resid_row *r),
                                void *user, struct cgpc_err *err);

/* All of `cgpc eval --residual`: load the file at path, set up its experiment on the model
 * (model_path; NULL: the experiment's own model key) into *s and decode into s's model.
 * *f keeps the file (free both with exp_resid_file_free / exp_setup_free, also on failure). */
cgpc_status exp_resid_open(const char *path, const char *model_path, struct exp_resid_file *f,
                           struct exp_setup *s, int64_t *written, struct cgpc_err *err);

#endif
