/* config.c - experiment file parsing and the table of experiment keys. */
#include "exp/config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "common/fileio.h"
#include "common/parse.h"
#include "common/resid.h"

_Static_assert(EXP_MAX_THRESHOLDS == CGP_MAX_THRESHOLDS, "one threshold limit for experiments "
                                                         "and the search");

const struct exp_key_info exp_config_keys[] = {
    {"name", EXP_T_STRING, "", NULL, 0, 0, -1, "experiment name; none = the file's base name"},
    {"description", EXP_T_STRING, "", NULL, 0, 0, -1, "one line on what the experiment tests"},
    {"model", EXP_T_STRING, "models/lenet5-mnist-int8.safetensors", NULL, 0, 0, -1,
     "int8 model whose weights are selected (relative paths: cwd, then the file's dir, then its parent)"},
    {"dataset", EXP_T_STRING, "mnist", NULL, 0, 0, -1, "dataset for model metrics: mnist, fashion-mnist or DIR"},
    {"eval_limit", EXP_T_INT, "0", NULL, 0, 1e9, -1, "evaluate at most N images (0: all)"},
    {"layer", EXP_T_STRING, "", NULL, 0, 0, -1,
     "layer name substituted for {layer} in the selectors (cgpc train --all-layers sets it)"},
    {"inputs", EXP_T_STRING, "none", NULL, 0, 0, -1, "selector of the weights kept as circuit inputs, or coords (each weight's coordinates)"},
    {"outputs", EXP_T_STRING, "", NULL, 0, 0, -1, "selector of the weights the circuit must produce (required)"},
    {"items", EXP_T_CHOICE, "one", "one|kernel|layer|channel", 0, 0, -1,
     "data items: one, one per kernel, one per layer (multiplexed), or one per output channel"},
    {"thresholds", EXP_T_LIST, "0", NULL, 0, 255, -1,
     "error thresholds per weight in int8 units (converted: SE e^2*N, MSE e^2, AE e*N); with "
     "mode = residual the residual bounds e (integers 0..127, 0 = lossless)"},
    {"mode", EXP_T_CHOICE, "replace", "replace|residual", 0, 0, -1,
     "replace: the circuit's outputs replace the weights; residual: the circuit predicts them, "
     "the file stores the entropy-coded residual (fitness = stored bits, value_slots off)"},
    /* the CGP parameters of cgp/params.h; those without CGP_PF_EXP are no keys (see
     * exp_key_visible) */
#define EXPT_INT EXP_T_INT
#define EXPT_I64 EXP_T_INT
#define EXPT_U64 EXP_T_INT
#define EXPT_DOUBLE EXP_T_DOUBLE
#define EXPT_SECONDS EXP_T_DOUBLE
#define EXPT_BOOL EXP_T_BOOL
#define EXPT_ERROR EXP_T_CHOICE
#define EXPT_FITNESS EXP_T_CHOICE
#define EXPT_THRESHOLDS EXP_T_LIST
#define EXPT_FUNCTIONS EXP_T_STRING
#define EXP_CGP_KEY(field, name, type, def, min, max, where, arg, help)                         \
    {name, EXPT_##type, ((where) & CGP_PF_AUTO) ? "auto" : def,                                 \
     EXPT_##type == EXP_T_CHOICE ? arg : NULL, min, max, CGP_PARAM_##field, help},
    CGP_PARAM_LIST(EXP_CGP_KEY)
#undef EXP_CGP_KEY
    {"top", EXP_T_INT, "1", NULL, 1, 1e6, -1,
     "model metrics: best N circuits per run and threshold (model-metrics --top overrides it)"},
    {NULL, 0, NULL, NULL, 0, 0, -1, NULL},
};

int exp_config_key_index(const char *key)
{
    char norm[64];
    size_t n = strlen(key);
    if (n >= sizeof norm)
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = key[i] == '-' ? '_' : key[i];
    for (int i = 0; exp_config_keys[i].key; i++)
        if (exp_config_key_visible(i) && strcmp(exp_config_keys[i].key, norm) == 0)
            return i;
    return -1;
}

int exp_config_key_visible(int i)
{
    int c = exp_config_keys[i].cgp;
    return c < 0 || (cgp_param_table[c].where & CGP_PF_EXP);
}

/* "unknown key 'x'" plus a hint for renamed keys. */
static const char *unknown_key_hint(const char *key)
{
    if (strcmp(key, "threshold_mode") == 0)
        return " (renamed: independent = true|false)";
    if (strcmp(key, "split") == 0) /* it never did anything */
        return " (removed: model-metrics measures every circuit on the validation split, to "
               "choose on, and on the test split, to report)";
    return " (see 'cgpc help train')";
}

static int key_index_or_die(const char *key)
{
    int i = exp_config_key_index(key);
    CGPC_ASSERT(i >= 0);
    return i;
}

void exp_config_defaults(struct exp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; exp_config_keys[i].key; i++) {
        CGPC_ASSERT(i < (int)(sizeof cfg->values / sizeof cfg->values[0]));
        snprintf(cfg->values[i].text, EXP_VALUE_MAX, "%s", exp_config_keys[i].def);
        snprintf(cfg->values[i].origin, sizeof cfg->values[i].origin, "default");
    }
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        return *out = 1, 1;
    if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        return *out = 0, 1;
    if (!strcmp(s, "auto"))
        return *out = -1, 1;
    return 0;
}

/* Parse up to cap numbers separated by commas and/or whitespace; -1 if malformed. */
static int parse_number_list(const char *text, double min, double max, double *out, int cap)
{
    char buf[EXP_VALUE_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        double v;
        if (n >= cap || cgpc_parse_double(tok, min, max, &v, NULL) != CGPC_OK)
            return -1;
        out[n++] = v;
    }
    return n;
}

static cgpc_status check_value(const struct exp_key_info *k, const char *value, const char *origin,
                               struct cgpc_err *err)
{
    struct cgpc_err sub = {0};
    if (k->cgp >= 0) { /* a CGP parameter: its own parser and range */
        const struct cgp_param_info *pi = &cgp_param_table[k->cgp];
        if ((pi->where & CGP_PF_AUTO) && strcmp(value, "auto") == 0)
            return CGPC_OK;
        struct cgp_params tmp;
        cgp_params_default(&tmp);
        tmp.multiplex = 1; /* mux names are checked against multiplex in exp_config_validate */
        if (cgp_param_set(&tmp, k->cgp, value, &sub) != CGPC_OK)
            return CGPC_FAIL(err, sub.code, "%s: %s", origin, sub.msg);
        return CGPC_OK;
    }
    switch (k->type) {
    case EXP_T_STRING:
        return CGPC_OK;
    case EXP_T_INT: {
        int64_t v;
        if (cgpc_parse_i64(value, (int64_t)k->min, (int64_t)k->max, &v, &sub) != CGPC_OK)
            return CGPC_FAIL(err, sub.code, "%s: %s: %s", origin, k->key, sub.msg);
        return CGPC_OK;
    }
    case EXP_T_DOUBLE: {
        double v;
        if (cgpc_parse_double(value, k->min, k->max, &v, &sub) != CGPC_OK)
            return CGPC_FAIL(err, sub.code, "%s: %s: %s", origin, k->key, sub.msg);
        return CGPC_OK;
    }
    case EXP_T_BOOL: {
        int b;
        if (!parse_bool(value, &b))
            return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %s: '%s': expected true, false or auto",
                             origin, k->key, value);
        return CGPC_OK;
    }
    case EXP_T_LIST: {
        double tmp[EXP_MAX_THRESHOLDS];
        int n = parse_number_list(value, k->min, k->max, tmp, EXP_MAX_THRESHOLDS);
        if (n <= 0)
            return CGPC_FAIL(err, CGPC_ERR_ARG,
                             "%s: %s: '%s': expected 1 to %d numbers in [%g, %g]", origin, k->key,
                             value, EXP_MAX_THRESHOLDS, k->min, k->max);
        return CGPC_OK;
    }
    case EXP_T_CHOICE: {
        size_t n = strlen(value);
        for (const char *c = k->choices; *c;) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, value, n) == 0)
                return CGPC_OK;
            c += len + (bar ? 1 : 0);
        }
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %s: '%s': expected one of %s", origin, k->key,
                         value, k->choices);
    }
    }
    return CGPC_FAIL(err, CGPC_ERR_INTERNAL, "bad key type");
}

cgpc_status exp_config_set(struct exp_config *cfg, const char *key, const char *value,
                           const char *origin, struct cgpc_err *err)
{
    int i = exp_config_key_index(key);
    if (i < 0)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: unknown key '%s'%s", origin, key,
                         unknown_key_hint(key));
    if (strlen(value) >= EXP_VALUE_MAX)
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %s: value longer than %d characters", origin,
                         key, EXP_VALUE_MAX - 1);
    cgpc_status st = check_value(&exp_config_keys[i], value, origin, err);
    if (st != CGPC_OK)
        return st;
    snprintf(cfg->values[i].text, EXP_VALUE_MAX, "%s", value);
    snprintf(cfg->values[i].origin, sizeof cfg->values[i].origin, "%s", origin);
    cfg->values[i].set = 1;
    return CGPC_OK;
}

cgpc_status exp_config_load(struct exp_config *cfg, const char *path, struct cgpc_err *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    cgpc_status st = cgpc_read_file(path, &data, &len, err);
    if (st == CGPC_OK)
        st = exp_config_parse(cfg, (char *)data, path, err);
    free(data);
    return st;
}

cgpc_status exp_config_parse(struct exp_config *cfg, char *data, const char *path,
                             struct cgpc_err *err)
{
    cgpc_status st = CGPC_OK;
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    int from_file[64] = {0};
    int line_no = 0, seen_magic = 0;
    /* Walk lines by hand: strtok would merge empty lines and lose the numbering. */
    char *p = (char *)data;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line_no++;
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *line = cgpc_trim(p);
        p = nl ? nl + 1 : NULL;
        if (!*line)
            continue;
        char origin[160];
        snprintf(origin, sizeof origin, "%s:%d", path, line_no);
        if (!seen_magic) {
            char magic[64];
            int version = 0;
            if (sscanf(line, "%63s %d", magic, &version) != 2 || strcmp(magic, EXP_CONFIG_MAGIC)) {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                               "%s: expected the first line '%s %d' (is this an experiment file?)",
                               origin, EXP_CONFIG_MAGIC, EXP_CONFIG_VERSION);
                goto out;
            }
            if (version != EXP_CONFIG_VERSION) {
                st = CGPC_FAIL(err, CGPC_ERR_FORMAT,
                               "%s: experiment format version %d; this cgpc reads version %d",
                               origin, version, EXP_CONFIG_VERSION);
                goto out;
            }
            seen_magic = 1;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: expected 'key = value', got '%s'", origin,
                           line);
            goto out;
        }
        *eq = '\0';
        char *key = cgpc_trim(line), *value = cgpc_trim(eq + 1);
        int idx = exp_config_key_index(key);
        if (idx < 0) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: unknown key '%s'%s", origin, key,
                           unknown_key_hint(key));
            goto out;
        }
        if (from_file[idx]) {
            st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: '%s' already set on line %d", origin, key,
                           from_file[idx]);
            goto out;
        }
        from_file[idx] = line_no;
        if ((st = exp_config_set(cfg, key, value, origin, err)) != CGPC_OK) {
            if (err) /* a bad value in a file is a format error; err may be NULL */
                err->code = CGPC_ERR_FORMAT;
            st = CGPC_ERR_FORMAT;
            goto out;
        }
    }
    if (!seen_magic)
        st = CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: empty experiment file (expected '%s %d')", path,
                       EXP_CONFIG_MAGIC, EXP_CONFIG_VERSION);
out:
    return st;
}

cgpc_status exp_config_validate(const struct exp_config *cfg, struct cgpc_err *err)
{
    if (!exp_config_str(cfg, "outputs")[0])
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: 'outputs' is required (which weights to produce)",
                         cfg->path[0] ? cfg->path : "experiment");
    if (exp_config_residual(cfg)) { /* the thresholds are the residual bounds */
        double e[EXP_MAX_THRESHOLDS];
        int n = exp_config_doubles(cfg, "thresholds", e, EXP_MAX_THRESHOLDS);
        for (int i = 0; i < n; i++)
            if (e[i] != floor(e[i]) || e[i] > CGPC_RESID_MAX_BOUND)
                return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: thresholds: %g: with mode = residual a "
                                 "threshold is the residual bound e, an integer 0..%d",
                                 exp_config_origin(cfg, "thresholds"), e[i], CGPC_RESID_MAX_BOUND);
    }
    /* the rules between CGP parameters (levels_back <= cols, muxes need multiplex, ...) */
    struct cgp_params p;
    cgpc_status st = exp_config_cgp(cfg, strcmp(exp_config_str(cfg, "inputs"), "none") != 0,
                                    &p, err);
    if (st == CGPC_OK && (st = cgp_params_check(&p, NULL, err)) != CGPC_OK) {
        cgpc_err_prefix(err, "%s", cfg->path[0] ? cfg->path : "experiment");
        st = CGPC_ERR_ARG;
        if (err) /* err may be NULL */
            err->code = st;
    }
    return st;
}

cgpc_status exp_config_cgp(const struct exp_config *cfg, int has_inputs, struct cgp_params *p,
                           struct cgpc_err *err)
{
    int residual = exp_config_residual(cfg);
    cgp_params_default(p);
    for (int i = 0; exp_config_keys[i].key; i++) {
        const struct exp_key_info *k = &exp_config_keys[i];
        if (k->cgp < 0 || !exp_config_key_visible(i))
            continue;
        const char *text = cfg->values[i].text;
        if (strcmp(text, "auto") == 0) /* CGP_PF_AUTO keys; the others never hold "auto" */
            text = k->cgp == CGP_PARAM_multiplex
                       ? (strcmp(exp_config_str(cfg, "items"), "layer") == 0 ? "1" : "0")
                       : (has_inputs || residual ? "0" : "1");
        cgpc_status st = cgp_param_set(p, k->cgp, text, err);
        if (st != CGPC_OK) {
            cgpc_err_prefix(err, "%s", cfg->values[i].origin);
            return st;
        }
    }
    p->fitness = residual ? CGP_FITNESS_BITS : CGP_FITNESS_ERROR;
    return CGPC_OK;
}

const char *exp_config_str(const struct exp_config *cfg, const char *key)
{
    return cfg->values[key_index_or_die(key)].text;
}

const char *exp_config_origin(const struct exp_config *cfg, const char *key)
{
    return cfg->values[key_index_or_die(key)].origin;
}

int64_t exp_config_int(const struct exp_config *cfg, const char *key)
{
    return strtoll(exp_config_str(cfg, key), NULL, 10); /* validated when set */
}

double exp_config_double(const struct exp_config *cfg, const char *key)
{
    return strtod(exp_config_str(cfg, key), NULL);
}

int exp_config_bool(const struct exp_config *cfg, const char *key)
{
    int b = -1;
    parse_bool(exp_config_str(cfg, key), &b);
    return b;
}

int exp_config_doubles(const struct exp_config *cfg, const char *key, double *out, int cap)
{
    const struct exp_key_info *k = &exp_config_keys[key_index_or_die(key)];
    return parse_number_list(exp_config_str(cfg, key), k->min, k->max, out, cap);
}

cgpc_status exp_config_write(const struct exp_config *cfg, FILE *out, struct cgpc_err *err)
{
    fprintf(out, "%s %d\n", EXP_CONFIG_MAGIC, EXP_CONFIG_VERSION);
    if (cfg->path[0])
        fprintf(out, "# from %s\n", cfg->path);
    for (int i = 0; exp_config_keys[i].key; i++) {
        if (!exp_config_key_visible(i))
            continue;
        if (strchr(cfg->values[i].text, '#') || strchr(cfg->values[i].text, '\n'))
            return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: value contains '#' or a newline",
                             exp_config_keys[i].key);
        fprintf(out, "%s = %s%s%s\n", exp_config_keys[i].key, cfg->values[i].text,
                cfg->values[i].set ? "  # " : "",
                cfg->values[i].set ? cfg->values[i].origin : "");
    }
    if (ferror(out))
        return CGPC_FAIL(err, CGPC_ERR_IO, "writing the experiment configuration failed");
    return CGPC_OK;
}

cgpc_status exp_config_selector(const struct exp_config *cfg, const char *key, char *out,
                                size_t cap, struct cgpc_err *err)
{
    const char *text = exp_config_str(cfg, key), *layer = exp_config_str(cfg, "layer");
    size_t n = 0;
    for (const char *p = text; *p;) {
        const char *piece = p;
        size_t len = 1;
        if (strncmp(p, "{layer}", 7) == 0) {
            if (!layer[0])
                return CGPC_FAIL(err, CGPC_ERR_ARG,
                                 "%s: %s uses {layer} but no layer is set (set 'layer = NAME' or "
                                 "use --all-layers)",
                                 exp_config_origin(cfg, key), key);
            piece = layer;
            len = strlen(layer);
            p += 7;
        } else {
            p++;
        }
        if (n + len + 1 > cap)
            return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: %s too long after substituting {layer}",
                             exp_config_origin(cfg, key), key);
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return CGPC_OK;
}

int exp_config_residual(const struct exp_config *cfg)
{
    return strcmp(exp_config_str(cfg, "mode"), "residual") == 0;
}
