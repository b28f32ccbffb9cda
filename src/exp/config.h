/* config.h - experiment files: a small, versioned `key = value` format.
 *
 *   # comments start with '#', blank lines are ignored
 *   cgpc-experiment 1                 <- first non-comment line: magic and format version
 *   name = single_channel
 *   model = models/lenet5-mnist-int8.safetensors
 *   inputs = conv1.weight:core        <- selectors, see src/exp/select.h
 *   outputs = conv1.weight:ring
 *   items = kernel
 *   rows = 30
 *   ...
 *
 * Every key is declared once in a table (config.c) with its type, default and help text (the
 * CGP search keys come from the parameter table of cgp/params.h); the same table drives parsing, validation, command-line overrides (`--rows 256` sets `rows`;
 * dashes and underscores are interchangeable), and the help text of `cgpc train`. Unknown keys,
 * duplicates, bad values and a missing magic line are errors naming file:line. Values set on the
 * command line override the file and are reported with origin "--key".
 *
 * Ownership: struct exp_config is a plain value (fixed-size strings); no heap. */
#ifndef CGPC_EXP_CONFIG_H
#define CGPC_EXP_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

#define EXP_CONFIG_MAGIC "cgpc-experiment"
#define EXP_CONFIG_VERSION 1
#define EXP_VALUE_MAX 1024
#define EXP_MAX_THRESHOLDS 32 /* = CGP_MAX_THRESHOLDS (checked in config.c) */

enum exp_key_type { EXP_T_STRING, EXP_T_INT, EXP_T_DOUBLE, EXP_T_BOOL, EXP_T_LIST, EXP_T_CHOICE };

struct exp_key_info {
    const char *key;
    enum exp_key_type type;
    const char *def;     /* default as text, "" for none */
    const char *choices; /* for EXP_T_CHOICE: "a|b|c" */
    double min, max;     /* for numbers */
    int cgp;             /* a CGP parameter (index in cgp_param_table, cgp/params.h), or -1 */
    const char *help;
};

/* The declared keys, NULL-key terminated. */
extern const struct exp_key_info exp_config_keys[];

struct exp_config_value {
    char text[EXP_VALUE_MAX];
    char origin[160]; /* "file.exp:12", "--rows", or "default" */
    int set;          /* 1 if given in the file or on the command line */
};

struct exp_config {
    char path[1024]; /* the experiment file, "" if none */
    struct exp_config_value values[64]; /* indexed like exp_config_keys */
};

/* Fill every key with its default. */
void exp_config_defaults(struct exp_config *cfg);

/* Parse a file into cfg (call exp_config_defaults first). */
cgpc_status exp_config_load(struct exp_config *cfg, const char *path, struct cgpc_err *err);
/* The same from NUL-terminated text (changed in place); `path` names it in messages and is
 * where relative paths in it are resolved from. */
cgpc_status exp_config_parse(struct exp_config *cfg, char *text, const char *path,
                             struct cgpc_err *err);

/* Set one key from text (command-line override or API). `key` may use dashes. The value is
 * validated against the key's type; errors name origin and key. */
cgpc_status exp_config_set(struct exp_config *cfg, const char *key, const char *value,
                           const char *origin, struct cgpc_err *err);

/* Cross-key validation after all sources are applied (required keys present, ...). */
cgpc_status exp_config_validate(const struct exp_config *cfg, struct cgpc_err *err);

/* Typed getters; the key must be declared (abort otherwise: a programming error). */
const char *exp_config_str(const struct exp_config *cfg, const char *key);
int64_t exp_config_int(const struct exp_config *cfg, const char *key);
double exp_config_double(const struct exp_config *cfg, const char *key);
int exp_config_bool(const struct exp_config *cfg, const char *key);
/* Whitespace/comma separated numbers; returns the count (<= cap) or -1 if malformed. */
int exp_config_doubles(const struct exp_config *cfg, const char *key, double *out, int cap);
const char *exp_config_origin(const struct exp_config *cfg, const char *key);

/* The selector text of `key` ("inputs" or "outputs") with every "{layer}" replaced by the value
 * of the key `layer`; an error if {layer} is used while `layer` is empty. */
cgpc_status exp_config_selector(const struct exp_config *cfg, const char *key, char *out,
                                size_t cap, struct cgpc_err *err);

/* 1 when the experiment is in residual mode (mode = residual, issue 18). */
int exp_config_residual(const struct exp_config *cfg);

/* Write the effective configuration as a valid experiment file (for run directories). */
cgpc_status exp_config_write(const struct exp_config *cfg, FILE *out, struct cgpc_err *err);

/* Index of a key in exp_config_keys (dashes allowed), or -1. */
int exp_config_key_index(const char *key);
/* 1 if entry i of exp_config_keys is a key of experiment files: the experiment's own keys and
 * the CGP parameters marked CGP_PF_EXP (the table holds every CGP parameter). */
int exp_config_key_visible(int i);

/* The CGP parameters (every key with cgp >= 0) applied to the table defaults in table order;
 * `auto` resolves to: multiplex when items = layer, value_slots when the data set has no
 * inputs (has_inputs 0). The experiment's thresholds (per weight) are not converted here. */
struct cgp_params;
cgpc_status exp_config_cgp(const struct exp_config *cfg, int has_inputs, struct cgp_params *p,
                           struct cgpc_err *err);

#endif
