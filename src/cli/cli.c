#include "cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/parallel.h"
#include "../common/parse.h"

static int cli_verbose_flag;

void cli_common_defaults(struct cli_common *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
}

int cli_common_option(const char *cmd, int opt, const char *arg, struct cli_common *c)
{
    struct cgpc_err err = {0};
    switch (opt) {
    case CLI_OPT_THREADS:
        if (cgpc_parse_int(arg, 1, 4096, &c->threads, &err) != CGPC_OK) {
            cli_error(cmd, "--threads", "%s", err.msg);
            return -1;
        }
        return 1;
    case CLI_OPT_SEED:
        if (cgpc_parse_u64(arg, &c->seed, &err) != CGPC_OK) {
            cli_error(cmd, "--seed", "%s", err.msg);
            return -1;
        }
        return 1;
    case CLI_OPT_VERBOSE:
        c->verbose = 1;
        cli_verbose_flag = 1;
        return 1;
    case CLI_OPT_HELP:
        c->help = 1;
        return 1;
    default:
        return 0;
    }
}

void cli_common_apply(const struct cli_common *c)
{
    cgpc_set_threads(c->threads);
}

void cli_error(const char *cmd, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cgpc %s: %s: ", cmd, what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cgpc %s: usage: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'cgpc help %s'\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_report(const char *cmd, const struct cgpc_err *err, int is_usage)
{
    if (cli_verbose_flag && err->file)
        fprintf(stderr, "cgpc %s: %s [%s, %s:%d]\n", cmd, err->msg, cgpc_status_name(err->code),
                err->file, err->line);
    else
        fprintf(stderr, "cgpc %s: %s\n", cmd, err->msg);
    if (is_usage && (err->code == CGPC_ERR_ARG || err->code == CGPC_ERR_RANGE))
        return CLI_EXIT_USAGE;
    return CLI_EXIT_FAILURE;
}

const char *cli_drop_name(const char *why, const char *name)
{
    size_t n = strlen(name);
    int same = strlen(why) > n + 1 && why[n] == ':' && why[n + 1] == ' ';
    for (size_t i = 0; same && i < n; i++) {
        char a = name[i] == '_' ? '-' : name[i], b = why[i] == '_' ? '-' : why[i];
        same = a == b;
    }
    return same ? why + n + 2 : why;
}

int cli_option_value_error(const char *cmd, const char *option, const struct cgpc_err *err)
{
    return cli_usage_error(cmd, "--%s: %s", option, cli_drop_name(err->msg, option));
}

int cli_stopped(const char *cmd, const struct cgpc_err *err)
{
    fprintf(stderr, "cgpc %s: stopped early: %s\n", cmd, err->msg);
    return CLI_EXIT_STOPPED;
}

const char *cli_option_name(const struct option *longopts, int val)
{
    static char name[96];
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == val && !o->flag) {
            snprintf(name, sizeof name, "--%s", o->name);
            return name;
        }
    return "option";
}

int cli_progress_enabled(void)
{
    return isatty(STDERR_FILENO);
}

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 forces full re-initialisation */
    opterr = 0; /* commands report unknown options themselves, in the cgpc format */
}

int cli_find_resource(const char *name, const char *env_var, char *out, size_t cap)
{
    char cand[3][4200];
    int nc = 0;
    const char *env = env_var ? getenv(env_var) : NULL;
    if (env && *env)
        snprintf(cand[nc++], sizeof cand[0], "%s", env);
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        snprintf(cand[nc++], sizeof cand[0], "%s/../%s", dirname(exe), name);
    }
    snprintf(cand[nc++], sizeof cand[0], "%s", name);
    for (int i = 0; i < nc; i++) {
        char abs[PATH_MAX];
        if (realpath(cand[i], abs)) {
            snprintf(out, cap, "%s", abs);
            return 0;
        }
    }
    snprintf(out, cap, "%s%s%s%s%s", cand[0], nc > 1 ? ", " : "", nc > 1 ? cand[1] : "",
             nc > 2 ? ", " : "", nc > 2 ? cand[2] : "");
    return -1;
}

void cli_usage_option(FILE *out, int width, const char *left, const char *help, const char *def)
{
    char text[1024];
    snprintf(text, sizeof text, "%s (default: %s)", help, def);
    int col = fprintf(out, "  %-*s", width, left);
    if (col > width + 2) { /* the option does not fit its column: text on the next line */
        fprintf(out, "\n%*s", width + 2, "");
        col = width + 2;
    }
    for (const char *w = text; *w;) {
        size_t len = strcspn(w, " ");
        if (col + 1 + (int)len > 95 && col > width + 2) {
            fprintf(out, "\n%*s", width + 2, "");
            col = width + 2;
        }
        col += fprintf(out, " %.*s", (int)len, w);
        w += len;
        w += *w == ' ';
    }
    fputc('\n', out);
}
