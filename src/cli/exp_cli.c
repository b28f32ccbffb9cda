#include "exp_cli.h"

#include "cgp/params.h"
#include "cli.h"

#include <string.h>

static char option_names[64][48];

static int excluded(const char *key, const char *const *exclude)
{
    for (; exclude && *exclude; exclude++)
        if (strcmp(*exclude, key) == 0)
            return 1;
    return 0;
}

int exp_cli_add_options(struct option *opts, int n, const char *const *exclude)
{
    for (int i = 0; exp_config_keys[i].key && n < EXP_CLI_MAX_OPTIONS - 2; i++) {
        const char *key = exp_config_keys[i].key;
        if (!exp_config_key_visible(i) || excluded(key, exclude))
            continue;
        char *name = option_names[i];
        snprintf(name, sizeof option_names[i], "%s", key);
        for (char *c = name; *c; c++)
            if (*c == '_')
                *c = '-';
        opts[n++] = (struct option){name, required_argument, NULL, EXP_CLI_OPT_BASE + i};
        if (strcmp(key, "thresholds") == 0) /* the and the thesis's name */
            opts[n++] = (struct option){"mse-thresholds", required_argument, NULL,
                                        EXP_CLI_OPT_BASE + i};
    }
    opts[n] = (struct option){NULL, 0, NULL, 0};
    return n;
}

int exp_cli_take(struct exp_cli_overrides *ov, int opt, const char *arg)
{
    int idx = opt - EXP_CLI_OPT_BASE;
    if (idx < 0 || idx >= 64 || !exp_config_keys[idx].key ||
        ov->n >= (int)(sizeof ov->key / sizeof ov->key[0]))
        return 0;
    ov->key[ov->n] = idx;
    ov->value[ov->n] = arg;
    ov->n++;
    return 1;
}

cgpc_status exp_cli_apply(const struct exp_cli_overrides *ov, struct exp_config *cfg,
                          struct cgpc_err *err)
{
    for (int i = 0; i < ov->n; i++) {
        const char *key = exp_config_keys[ov->key[i]].key;
        char origin[64];
        snprintf(origin, sizeof origin, "--%s", option_names[ov->key[i]][0] ? option_names[ov->key[i]] : key);
        cgpc_status st = exp_config_set(cfg, key, ov->value[i], origin, err);
        if (st != CGPC_OK) {
            /* "--rows: rows: '0': ..." names the option twice: keep "--rows: '0': ..." */
            size_t o = strlen(origin);
            if (err && strncmp(err->msg, origin, o) == 0 && err->msg[o] == ':' &&
                err->msg[o + 1] == ' ') {
                const char *why = cli_drop_name(err->msg + o + 2, key);
                memmove(err->msg + o + 2, why, strlen(why) + 1);
            }
            return st;
        }
    }
    return CGPC_OK;
}

void exp_cli_usage(FILE *out, const char *const *exclude)
{
    for (int i = 0; exp_config_keys[i].key; i++) {
        const struct exp_key_info *k = &exp_config_keys[i];
        if (!exp_config_key_visible(i) || excluded(k->key, exclude))
            continue;
        char left[64];
        const char *arg = k->cgp >= 0              ? cgp_param_table[k->cgp].arg
                          : k->type == EXP_T_INT    ? "N"
                          : k->type == EXP_T_DOUBLE ? "X"
                          : k->type == EXP_T_LIST   ? "T..."
                          : k->type == EXP_T_BOOL   ? "BOOL"
                          : k->type == EXP_T_CHOICE ? k->choices
                                                    : "TEXT";
        snprintf(left, sizeof left, "--%s %s", k->key, arg);
        for (char *c = left + 2; *c && *c != ' '; c++)
            if (*c == '_')
                *c = '-';
        cli_usage_option(out, 28, left, k->help, k->def[0] ? k->def : "none");
    }
}
