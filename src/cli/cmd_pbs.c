/* cmd_pbs.c - `cgpc pbs generate|submit|status|resubmit|merge`: an experiment as a PBS job
 * array (job directory layout and states: src/pbs/pbs.h), its status, resubmission of the
 * batches that did not finish, and the merge of all batches into one train directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "common/fileio.h"
#include "common/parse.h"
#include "exp/experiment.h"
#include "exp_cli.h"
#include "pbs/pbs.h"

enum {
    OPT_OUT = CLI_OPT_FIRST_COMMAND_SPECIFIC,
    OPT_TIME_LIMIT,
    OPT_MEM,
    OPT_SCRATCH,
    OPT_NCPUS,
    OPT_BATCHES,
    OPT_QUEUE,
    OPT_TEMPLATE,
    OPT_MARGIN,
    OPT_NO_SUBMIT,
    OPT_JSON,
};

/* Which subcommand takes which option (bit i: option OPT_OUT + i). */
#define BIT(o) (1u << ((o) - OPT_OUT))
#define JOB_OPTS (BIT(OPT_OUT) | BIT(OPT_TIME_LIMIT) | BIT(OPT_MEM) | BIT(OPT_SCRATCH) |    \
                  BIT(OPT_NCPUS) | BIT(OPT_BATCHES) | BIT(OPT_QUEUE) | BIT(OPT_TEMPLATE) | \
                  BIT(OPT_MARGIN) | BIT(OPT_NO_SUBMIT))

static const struct pbs_subcommand {
    const char *name;
    unsigned opts;
    int takes_experiment; /* 1: EXPERIMENT, 0: DIR */
} subcommands[] = {
    {"generate", JOB_OPTS, 1},
    {"submit", JOB_OPTS, 1},
    {"status", BIT(OPT_JSON), 0},
    {"resubmit", BIT(OPT_TIME_LIMIT) | BIT(OPT_MARGIN), 0},
    {"merge", BIT(OPT_OUT), 0},
};

struct pbs_opts {
    struct cli_common common;
    const struct pbs_subcommand *sub;
    const char *arg;  /* EXPERIMENT or DIR */
    const char *out;
    double walltime_s;
    double margin_s;  /* < 0: the default for the walltime */
    const char *mem, *scratch, *queue, *template_name;
    int ncpus, batches, no_submit, json;
    unsigned given;   /* BIT(option) for each option given */
    struct exp_cli_overrides overrides;
};

/* --time-limit is the walltime here, not the experiment's per-run limit. */
static const char *const pbs_excluded_keys[] = {"time_limit", NULL};

static void pbs_defaults(struct pbs_opts *o)
{
    memset(o, 0, sizeof *o);
    cli_common_defaults(&o->common);
    o->walltime_s = 48 * 3600.0;
    o->margin_s = -1;
    o->mem = "500mb";
    o->scratch = "";
    o->queue = "";
    o->template_name = "default";
    o->ncpus = 1;
    o->batches = 1;
}

void cmd_pbs_usage(FILE *out)
{
    fprintf(out,
            "usage: cgpc pbs generate EXPERIMENT --out DIR [job options] [--KEY VALUE ...]\n"
            "       cgpc pbs submit   EXPERIMENT --out DIR [job options] [--KEY VALUE ...]\n"
            "       cgpc pbs status   DIR [--json]\n"
            "       cgpc pbs resubmit DIR [--time-limit T] [--margin SECONDS]\n"
            "       cgpc pbs merge    DIR [--out MERGED]\n\n"
            "Run an experiment's runs as a PBS job array (PBS Pro/OpenPBS, Torque, Slurm's PBS\n"
            "wrappers). Each batch runs 'cgpc train --resume --run-first F --run-count N' and\n"
            "stops cleanly with a checkpoint at walltime - margin or on SIGTERM.\n\n"
            "subcommands:\n"
            "  generate   write the job directory DIR: experiment.exp (with the overrides),\n"
            "             pbs.conf, template.pbs, job.sh (rendered), run-batch.sh; never submits\n"
            "  submit     generate, then qsub job.sh as an array of B batches (PBS Pro: -J 0-(B-1),\n"
            "             else -t 0-(B-1)); each qsub is logged in DIR/submissions.log\n"
            "  status     one line per batch (queued, running, done, unfinished, failed; failed\n"
            "             batches with the last lines of their log), then totals\n"
            "  resubmit   qsub each unfinished or failed batch again (DIR/resubmit/batch-B.sh);\n"
            "             it resumes from its checkpoint\n"
            "  merge      copy every batch's runs into one train directory (all must be done)\n\n"
            "job options (generate, submit):\n"
            "  --out DIR              job directory (required); an existing non-empty DIR is\n"
            "                         refused unless it holds the same job\n"
            "  --time-limit T         walltime per batch, H:M:S or seconds (default: 48:00:00);\n"
            "                         resubmit: a new walltime (the margin then defaults anew)\n"
            "  --margin SECONDS       stop evolution this long before the walltime (default: 10%%\n"
            "                         of it, at least 60 s, at most 600 s, at most half)\n"
            "  --mem SIZE             memory per batch (default: 500mb)\n"
            "  --scratch SIZE         local scratch per batch, thesis template (default: none)\n"
            "  --ncpus N              cores per batch, also train's --threads (default: 1)\n"
            "  --batches B            array size, 1..runs (default: 1)\n"
            "  --queue Q              queue (default: the site's default)\n"
            "  --template T           default, thesis or a template FILE (default: default);\n"
            "                         default and thesis are found in $CGPC_PBS_DIR,\n"
            "                         <cgpc dir>/../pbs or ./pbs\n"
            "  --no-submit            submit: only generate (default: off)\n"
            "other options:\n"
            "  --json                 status: print JSON (default: off)\n"
            "  --out MERGED           merge: output directory (default: DIR/merged)\n"
            "  --verbose              more output on stderr (default: off)\n"
            "  --help                 print this help and exit\n\n"
            "experiment keys (generate, submit; override the file as in 'cgpc train'):\n");
    exp_cli_usage(out, pbs_excluded_keys);
    fprintf(out, "\ntemplate placeholders ({{KEY}}; the batch comes from $CGPC_BATCH first):\n");
    for (int i = 0; pbs_template_keys[i][0]; i++)
        fprintf(out, "  {{%s}}%*s %s\n", pbs_template_keys[i][0],
                (int)(18 - strlen(pbs_template_keys[i][0])), "", pbs_template_keys[i][1]);
    fprintf(out, "\nexit status: 0 ok, 1 failure (e.g. no qsub, batches not done for merge),\n"
                 "2 usage error\n");
}

static int parse_pbs(struct pbs_opts *o, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("pbs", "a subcommand is required: generate, submit, status, "
                                      "resubmit or merge");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        o->common.help = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name))
            o->sub = &subcommands[i];
    if (!o->sub)
        return cli_usage_error("pbs", "unknown subcommand '%s' (generate, submit, status, "
                                      "resubmit, merge)", argv[1]);
    struct option opts[EXP_CLI_MAX_OPTIONS + 16] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
        {"mem", required_argument, NULL, OPT_MEM},
        {"scratch", required_argument, NULL, OPT_SCRATCH},
        {"ncpus", required_argument, NULL, OPT_NCPUS},
        {"batches", required_argument, NULL, OPT_BATCHES},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"margin", required_argument, NULL, OPT_MARGIN},
        {"no-submit", no_argument, NULL, OPT_NO_SUBMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {"verbose", no_argument, NULL, CLI_OPT_VERBOSE},
        {"help", no_argument, NULL, CLI_OPT_HELP},
    };
    int n = 13;
    if (o->sub->takes_experiment)
        exp_cli_add_options(opts, n, pbs_excluded_keys);
    cli_getopt_reset();
    int opt;
    struct cgpc_err err = {0};
    argc--, argv++; /* argv[0] is now the subcommand */
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int handled = cli_common_option("pbs", opt, optarg, &o->common);
        if (handled < 0)
            return CLI_EXIT_USAGE;
        if (handled || exp_cli_take(&o->overrides, opt, optarg))
            continue;
        if (opt >= OPT_OUT && opt <= OPT_JSON) {
            if (!(o->sub->opts & BIT(opt)))
                return cli_usage_error("pbs", "%s is not an option of 'pbs %s'",
                                       argv[optind - 1], o->sub->name);
            o->given |= BIT(opt);
        }
        switch (opt) {
        case OPT_OUT: o->out = optarg; break;
        case OPT_TIME_LIMIT:
            if (cgpc_parse_duration(optarg, &o->walltime_s, &err) != CGPC_OK ||
                !(o->walltime_s >= 1))
                return cli_usage_error("pbs", "--time-limit '%s': expected a walltime like "
                                              "48:00:00 or seconds >= 1", optarg);
            break;
        case OPT_MARGIN:
            if (cgpc_parse_duration(optarg, &o->margin_s, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--margin: %s", err.msg);
            break;
        case OPT_MEM: o->mem = optarg; break; /* sizes are checked by pbs_job_check */
        case OPT_SCRATCH: o->scratch = optarg; break;
        case OPT_QUEUE: o->queue = optarg; break;
        case OPT_TEMPLATE: o->template_name = optarg; break;
        case OPT_NCPUS:
            if (cgpc_parse_int(optarg, 1, 4096, &o->ncpus, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--ncpus: %s", err.msg);
            break;
        case OPT_BATCHES:
            if (cgpc_parse_int(optarg, 1, 1 << 20, &o->batches, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--batches: %s", err.msg);
            break;
        case OPT_NO_SUBMIT: o->no_submit = 1; break;
        case OPT_JSON: o->json = 1; break;
        case ':': return cli_usage_error("pbs", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("pbs", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (o->common.help)
        return 0;
    if (optind >= argc)
        return cli_usage_error("pbs", "pbs %s needs %s", o->sub->name,
                               o->sub->takes_experiment ? "an EXPERIMENT file" : "a job DIR");
    if (optind + 1 < argc)
        return cli_usage_error("pbs", "unexpected argument '%s'", argv[optind + 1]);
    o->arg = argv[optind];
    if (o->sub->takes_experiment && !o->out)
        return cli_usage_error("pbs", "--out DIR is required");
    return 0;
}

/* ---- small file helpers -------------------------------------------------------------------- */

/* Raw bytes of a file (no gunzip: statistics stay compressed), NUL-terminated. */
static cgpc_status read_raw(const char *path, char **data, size_t *len, struct cgpc_err *err)
{
    *data = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open", path);
    cgpc_status st = CGPC_OK;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (n < cap - 1)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        st = CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    else if (ferror(fp))
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: read error", path);
    fclose(fp);
    if (st != CGPC_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CGPC_OK;
}

static cgpc_status copy_file(const char *from, const char *to, struct cgpc_err *err)
{
    char *data;
    size_t len;
    cgpc_status st = read_raw(from, &data, &len, err);
    if (st == CGPC_OK)
        st = cgpc_write_file_atomic(to, data, len, err);
    free(data);
    return st;
}

static cgpc_status write_text(const char *path, const char *text, int executable,
                              struct cgpc_err *err)
{
    cgpc_status st = cgpc_write_file_atomic(path, text, strlen(text), err);
    if (st == CGPC_OK && executable && chmod(path, 0755) != 0)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: chmod failed", path);
    return st;
}

/* Append one line to DIR/submissions.log (rewritten atomically). */
static cgpc_status log_submission(const char *dir, const char *batches, const char *jobid,
                                  const char *script, struct cgpc_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/submissions.log", dir);
    char *old = NULL;
    size_t len = 0;
    if (cgpc_path_exists(path) && read_raw(path, &old, &len, err) != CGPC_OK)
        return err->code;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char line[1024];
    int n = snprintf(line, sizeof line, "%s batches %s job %s script %s\n", stamp, batches, jobid,
                     script);
    char *all = malloc(len + (size_t)n + 1);
    if (!all) {
        free(old);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", path);
    }
    if (len)
        memcpy(all, old, len);
    memcpy(all + len, line, (size_t)n + 1);
    cgpc_status st = cgpc_write_file_atomic(path, all, len + (size_t)n, err);
    free(all);
    free(old);
    return st;
}

/* ---- qsub ---------------------------------------------------------------------------------- */

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char dir[4096], cand[4200];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        snprintf(cand, sizeof cand, "%s/%s", n ? dir : ".", prog);
        if (access(cand, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* Run argv in cwd, capture stdout+stderr (up to cap-1 bytes). Returns the exit status, 127
 * if it could not be run. */
static int run_capture(char *const argv[], const char *cwd, char *out, size_t cap)
{
    out[0] = '\0';
    int fd[2];
    if (pipe(fd) != 0)
        return 127;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 127;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        if (cwd && chdir(cwd) != 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    char sink[512];
    while ((k = read(fd[0], n + 1 < cap ? out + n : sink,
                     n + 1 < cap ? cap - 1 - n : sizeof sink)) > 0 ||
           (k < 0 && errno == EINTR))
        if (k > 0 && n + 1 < cap)
            n += (size_t)k;
    out[n] = '\0';
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static enum pbs_flavour detect_flavour(void)
{
    char out[4096];
    char *argv[] = {"qstat", "--version", NULL};
    run_capture(argv, NULL, out, sizeof out);
    return strstr(out, "pbs_version") ? PBS_FLAVOUR_PRO : PBS_FLAVOUR_TORQUE;
}

static int need_qsub(void)
{
    if (on_path("qsub"))
        return 0;
    cli_error("pbs", "qsub", "not found on PATH: install the scheduler's client (OpenPBS/PBS "
                             "Pro, Torque, or Debian's slurm-wlm-torque), or use 'cgpc pbs "
                             "generate' and submit job.sh yourself");
    return CLI_EXIT_FAILURE;
}

/* qsub SCRIPT (in DIR) as an array of `batches` (0: no array flag); fills jobid. Prints the
 * error and returns CLI_EXIT_FAILURE on failure. */
static int qsub(const char *dir, const char *script, int batches, const char *batch_list,
                char *jobid, size_t cap)
{
    char flag[16], range[32];
    int na = pbs_array_args(detect_flavour(), batches, flag, range, (int)sizeof range);
    char *argv[5] = {"qsub", NULL, NULL, NULL, NULL};
    int k = 1;
    if (na) {
        argv[k++] = flag;
        argv[k++] = range;
    }
    argv[k++] = (char *)script;
    char out[4096];
    int rc = run_capture(argv, dir, out, sizeof out);
    char *line = cgpc_trim(out);
    if (rc != 0) {
        cli_error("pbs", "qsub", "%s %s%s%s failed (exit %d): %s", script, na ? flag : "",
                  na ? " " : "", na ? range : "", rc, line);
        return CLI_EXIT_FAILURE;
    }
    /* the job id is the last word of the output ("Submitted batch job N" or "N.server") */
    char *nl;
    while ((nl = strrchr(line, '\n')) && !nl[1])
        *nl = '\0';
    const char *last = strrchr(line, '\n') ? strrchr(line, '\n') + 1 : line;
    const char *word = strrchr(last, ' ') ? strrchr(last, ' ') + 1 : last;
    snprintf(jobid, cap, "%s", *word ? word : "?");
    struct cgpc_err err = {0};
    if (log_submission(dir, batch_list, jobid, script, &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    return 0;
}

/* ---- generate / submit --------------------------------------------------------------------- */

static void absolute_path(const char *path, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", cwd, path);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
}

/* The effective experiment (file + overrides, name and absolute model path filled in). */
static int load_experiment(const struct pbs_opts *o, struct exp_config *cfg, char **text)
{
    struct cgpc_err err = {0};
    exp_config_defaults(cfg);
    if (exp_config_load(cfg, o->arg, &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    if (exp_cli_apply(&o->overrides, cfg, &err) != CGPC_OK ||
        exp_config_validate(cfg, &err) != CGPC_OK)
        return cli_report("pbs", &err, 1);
    if (!exp_config_str(cfg, "name")[0]) {
        char base[256];
        const char *slash = strrchr(o->arg, '/');
        snprintf(base, sizeof base, "%s", slash ? slash + 1 : o->arg);
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        exp_config_set(cfg, "name", base, "file name", NULL);
    }
    char model[4096], abs[PATH_MAX];
    if (exp_resolve_path(cfg->path, exp_config_str(cfg, "model"), model, sizeof model, &err) !=
        CGPC_OK)
        return cli_report("pbs", &err, 0);
    if (realpath(model, abs)) /* batches run elsewhere: no cwd-relative paths */
        exp_config_set(cfg, "model", abs, exp_config_origin(cfg, "model"), NULL);
    size_t len;
    FILE *mem = open_memstream(text, &len);
    if (!mem) {
        cli_error("pbs", o->arg, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    cgpc_status st = exp_config_write(cfg, mem, &err);
    fclose(mem);
    if (st != CGPC_OK) {
        free(*text);
        *text = NULL;
        return cli_report("pbs", &err, 0);
    }
    return 0;
}

/* Job name: the experiment name with characters #PBS -N dislikes replaced. */
static void job_name(const char *exp_name, char *out, size_t cap)
{
    snprintf(out, cap, "%.15s", exp_name[0] ? exp_name : "cgpc");
    for (char *c = out; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            *c = '_';
    if (out[0] >= '0' && out[0] <= '9')
        out[0] = 'j';
}

static int find_template(const char *name, char *path, size_t cap)
{
    if (strcmp(name, "default") && strcmp(name, "thesis")) {
        if (!cgpc_path_exists(name))
            return cli_usage_error("pbs", "--template '%s': no such file (use default, thesis "
                                          "or a template file)", name);
        snprintf(path, cap, "%s", name);
        return 0;
    }
    char dir[4096];
    if (cli_find_resource("pbs", "CGPC_PBS_DIR", dir, sizeof dir) != 0) {
        cli_error("pbs", "pbs/", "the templates directory was not found (looked in %s); set "
                                 "CGPC_PBS_DIR to the pbs/ directory of the cgpc sources", dir);
        return CLI_EXIT_FAILURE;
    }
    snprintf(path, cap, "%s/%s.pbs", dir, name);
    if (!cgpc_path_exists(path)) {
        cli_error("pbs", path, "no such template");
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

/* Is DIR usable: missing, empty, or holding this very job? */
static int check_out_dir(const char *dir, const struct pbs_job *job, const char *exp_text,
                         int *same)
{
    *same = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    if (!entries)
        return 0;
    struct pbs_job old;
    struct cgpc_err err = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/experiment.exp", dir);
    char *old_exp = NULL;
    size_t len;
    if (pbs_job_load(&old, dir, &err) != CGPC_OK) {
        cli_error("pbs", dir, "exists and is not a cgpc job directory; choose another --out or "
                              "remove it");
        return CLI_EXIT_FAILURE;
    }
    if (read_raw(path, &old_exp, &len, &err) == CGPC_OK && pbs_job_equal(&old, job) &&
        !strcmp(old_exp, exp_text))
        *same = 1;
    free(old_exp);
    if (!*same) {
        cli_error("pbs", dir, "holds a different job (pbs.conf or experiment.exp differ); choose "
                              "another --out, or remove it to replace the job");
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

/* Render DIR/template.pbs into DIR/job.sh. */
static cgpc_status render_job_script(const char *dir, const struct pbs_job *job,
                                     struct cgpc_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/template.pbs", dir);
    unsigned char *tmpl = NULL;
    size_t len;
    char *rendered = NULL;
    cgpc_status st = cgpc_read_file(path, &tmpl, &len, err);
    if (st == CGPC_OK)
        st = pbs_template_render((char *)tmpl, path, job, dir, &rendered, err);
    if (st == CGPC_OK) {
        snprintf(path, sizeof path, "%s/job.sh", dir);
        st = write_text(path, rendered, 1, err);
    }
    free(tmpl);
    free(rendered);
    return st;
}

static int cmd_pbs_generate(const struct pbs_opts *o, int submit)
{
    struct exp_config *cfg = malloc(sizeof *cfg);
    char *exp_text = NULL, *tmpl = NULL, *rendered = NULL;
    int rc = cfg ? load_experiment(o, cfg, &exp_text) : CLI_EXIT_FAILURE;
    if (rc)
        goto out;
    struct pbs_job job;
    pbs_job_defaults(&job);
    job_name(exp_config_str(cfg, "name"), job.name, sizeof job.name);
    char exe[1024];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = '\0';
    snprintf(job.cgpc, sizeof job.cgpc, "%s", exe);
    snprintf(job.template_name, sizeof job.template_name, "%s", o->template_name);
    job.runs = (int)exp_config_int(cfg, "runs");
    job.batches = o->batches;
    job.walltime_s = o->walltime_s;
    job.margin_s = o->margin_s >= 0 ? o->margin_s : pbs_default_margin(o->walltime_s);
    snprintf(job.mem, sizeof job.mem, "%s", o->mem);
    snprintf(job.scratch, sizeof job.scratch, "%s", o->scratch);
    job.ncpus = o->ncpus;
    snprintf(job.queue, sizeof job.queue, "%s", o->queue);
    struct cgpc_err err = {0};
    if (strlen(o->mem) >= sizeof job.mem || strlen(o->scratch) >= sizeof job.scratch ||
        strlen(o->queue) >= sizeof job.queue) {
        rc = cli_usage_error("pbs", "--mem, --scratch or --queue value too long");
        goto out;
    }
    if (pbs_job_check(&job, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 1);
        goto out;
    }

    char tmpl_path[4200], dir[4096], path[4300];
    if ((rc = find_template(o->template_name, tmpl_path, sizeof tmpl_path)))
        goto out;
    absolute_path(o->out, dir, sizeof dir);
    size_t len;
    cgpc_status st;
    if ((st = read_raw(tmpl_path, &tmpl, &len, &err)) != CGPC_OK ||
        (st = pbs_template_render(tmpl, tmpl_path, &job, dir, &rendered, &err)) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    int same;
    if ((rc = check_out_dir(dir, &job, exp_text, &same)))
        goto out;
    snprintf(path, sizeof path, "%s/submissions.log", dir);
    if (submit && same && cgpc_path_exists(path)) {
        cli_error("pbs", dir, "this job was already submitted (see submissions.log); use 'cgpc "
                              "pbs status %s' and 'cgpc pbs resubmit %s'", o->out, o->out);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    char rb_src[4200];
    snprintf(rb_src, sizeof rb_src, "%.4000s", tmpl_path);
    char *slash = strrchr(rb_src, '/');
    if (!strcmp(o->template_name, "default") || !strcmp(o->template_name, "thesis"))
        snprintf(slash + 1, sizeof rb_src - (size_t)(slash + 1 - rb_src), "run-batch.sh");
    else if (cli_find_resource("pbs", "CGPC_PBS_DIR", rb_src, sizeof rb_src - 16) == 0)
        strcat(rb_src, "/run-batch.sh");
    else {
        cli_error("pbs", "run-batch.sh", "the pbs/ directory was not found (looked in %s); set "
                                         "CGPC_PBS_DIR", rb_src);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    struct { const char *name; const char *text; int exec; } files[] = {
        {"experiment.exp", exp_text, 0},
        {"template.pbs", tmpl, 0},
        {"job.sh", rendered, 1},
    };
    snprintf(path, sizeof path, "%s/batches", dir);
    st = cgpc_mkdirs(path, &err);
    for (size_t i = 0; st == CGPC_OK && i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        st = write_text(path, files[i].text, files[i].exec, &err);
    }
    snprintf(path, sizeof path, "%s/run-batch.sh", dir);
    if (st == CGPC_OK && (st = copy_file(rb_src, path, &err)) == CGPC_OK && chmod(path, 0755))
        st = CGPC_FAIL(&err, CGPC_ERR_IO, "%s: chmod failed", path);
    if (st == CGPC_OK)
        st = pbs_job_save(&job, dir, &err);
    if (st != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    char wall[32];
    pbs_format_walltime(job.walltime_s, wall, sizeof wall);
    printf("%s: %d runs in %d batch%s, walltime %s (evolution stops %.0f s before), template "
           "%s\n",
           o->out, job.runs, job.batches, job.batches == 1 ? "" : "es", wall, job.margin_s,
           o->template_name);
    if (!submit) {
        printf("submit with: cgpc pbs submit ... (or qsub %s/job.sh with an array of %d)\n",
               o->out, job.batches);
        goto out;
    }
    if ((rc = need_qsub()))
        goto out;
    char jobid[128], list[32];
    snprintf(list, sizeof list, "0-%d", job.batches - 1);
    if ((rc = qsub(dir, "job.sh", job.batches > 1 ? job.batches : 0, list, jobid, sizeof jobid)))
        goto out;
    printf("submitted %s as %s; follow with: cgpc pbs status %s\n", list, jobid, o->out);
out:
    free(cfg);
    free(exp_text);
    free(tmpl);
    free(rendered);
    return rc;
}

/* ---- status -------------------------------------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static int load_job(const char *dir, struct pbs_job *job)
{
    struct cgpc_err err = {0};
    if (pbs_job_load(job, dir, &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    return 0;
}

/* Status of every batch into *st (malloc'ed, job->batches entries; the caller frees it, also
 * on failure); counts per state into count[5]. */
static int collect_status(const char *dir, const struct pbs_job *job,
                          struct pbs_batch_status **st, int count[5])
{
    memset(count, 0, 5 * sizeof count[0]);
    if (!(*st = calloc((size_t)job->batches, sizeof **st))) {
        cli_error("pbs", dir, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    struct cgpc_err err = {0};
    for (int b = 0; b < job->batches; b++) {
        if (pbs_batch_status(dir, job, b, (int64_t)time(NULL), &(*st)[b], &err) != CGPC_OK)
            return cli_report("pbs", &err, 0);
        count[(*st)[b].state]++;
    }
    return 0;
}

/* load_job + collect_status. */
static int open_job(const char *dir, struct pbs_job *job, struct pbs_batch_status **st,
                    int count[5])
{
    *st = NULL;
    int rc = load_job(dir, job);
    return rc ? rc : collect_status(dir, job, st, count);
}

static int cmd_pbs_status(const struct pbs_opts *o)
{
    struct pbs_job job;
    struct pbs_batch_status *st;
    int count[5];
    int rc = open_job(o->arg, &job, &st, count);
    if (rc)
        goto out;
    const enum pbs_batch_state order[] = {PBS_DONE, PBS_RUNNING, PBS_NOT_STARTED, PBS_UNFINISHED,
                                          PBS_FAILED};
    if (o->json) {
        printf("{\"dir\": ");
        json_string(stdout, o->arg);
        printf(", \"runs\": %d, \"batches\": [", job.runs);
        for (int b = 0; b < job.batches; b++) {
            printf("%s\n  {\"batch\": %d, \"first_run\": %d, \"runs\": %d, \"state\": \"%s\", "
                   "\"jobid\": ",
                   b ? "," : "", b, st[b].first_run, st[b].count, pbs_state_name(st[b].state));
            json_string(stdout, st[b].jobid);
            printf(", \"detail\": ");
            json_string(stdout, st[b].detail);
            printf(", \"log_tail\": ");
            json_string(stdout, st[b].log_tail);
            printf("}");
        }
        printf("],\n \"totals\": {");
        for (int i = 0; i < 5; i++)
            printf("%s\"%s\": %d", i ? ", " : "", pbs_state_name(order[i]), count[order[i]]);
        printf("}}\n");
        goto out;
    }
    printf("%-6s %-13s %-10s %s\n", "batch", "runs", "state", "detail");
    for (int b = 0; b < job.batches; b++) {
        char runs[32];
        snprintf(runs, sizeof runs, "%d-%d", st[b].first_run, st[b].first_run + st[b].count - 1);
        printf("%-6d %-13s %-10s %s\n", b, runs, pbs_state_name(st[b].state), st[b].detail);
        if (st[b].state == PBS_FAILED && st[b].log_tail[0]) {
            for (char *line = strtok(st[b].log_tail, "\n"); line; line = strtok(NULL, "\n"))
                printf("    | %s\n", line);
        }
    }
    printf("total: %d batches:", job.batches);
    for (int i = 0; i < 5; i++)
        printf("%s %d %s", i ? "," : "", count[order[i]], pbs_state_name(order[i]));
    printf("\n");
    if (count[PBS_UNFINISHED] + count[PBS_FAILED])
        printf("resubmit the unfinished and failed batches with: cgpc pbs resubmit %s\n", o->arg);
    else if (count[PBS_DONE] == job.batches)
        printf("all done; merge with: cgpc pbs merge %s\n", o->arg);
out:
    free(st);
    return rc;
}

/* ---- resubmit ------------------------------------------------------------------------------ */

static int cmd_pbs_resubmit(const struct pbs_opts *o)
{
    struct pbs_job job;
    int rc = load_job(o->arg, &job);
    if (rc)
        return rc;
    char dir[4096];
    absolute_path(o->arg, dir, sizeof dir);
    struct cgpc_err err = {0};
    if (o->given & (BIT(OPT_TIME_LIMIT) | BIT(OPT_MARGIN))) {
        if (o->given & BIT(OPT_TIME_LIMIT))
            job.walltime_s = o->walltime_s;
        job.margin_s = o->margin_s >= 0 ? o->margin_s : pbs_default_margin(job.walltime_s);
        if (pbs_job_check(&job, &err) != CGPC_OK)
            return cli_report("pbs", &err, 1);
        if (render_job_script(dir, &job, &err) != CGPC_OK || pbs_job_save(&job, dir, &err))
            return cli_report("pbs", &err, 0);
    }
    struct pbs_batch_status *st = NULL;
    int count[5];
    char *script = NULL, *batch_script = NULL;
    if ((rc = collect_status(dir, &job, &st, count)))
        goto out;
    if (count[PBS_UNFINISHED] + count[PBS_FAILED] == 0) {
        printf("nothing to resubmit: %d done, %d running, %d queued\n", count[PBS_DONE],
               count[PBS_RUNNING], count[PBS_NOT_STARTED]);
        goto out;
    }
    if ((rc = need_qsub()))
        goto out;
    char path[4300];
    snprintf(path, sizeof path, "%s/job.sh", dir);
    size_t len;
    if (read_raw(path, &script, &len, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    snprintf(path, sizeof path, "%s/resubmit", dir);
    if (cgpc_mkdirs(path, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    for (int b = 0; b < job.batches; b++) {
        if (st[b].state != PBS_UNFINISHED && st[b].state != PBS_FAILED)
            continue;
        char name[64], list[32], jobid[128], state[256];
        snprintf(name, sizeof name, "resubmit/batch-%d.sh", b);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        free(batch_script);
        if (pbs_batch_script(script, "job.sh", b, &batch_script, &err) != CGPC_OK ||
            write_text(path, batch_script, 1, &err) != CGPC_OK) {
            rc = cli_report("pbs", &err, 0);
            goto out;
        }
        snprintf(list, sizeof list, "%d", b);
        if ((rc = qsub(dir, name, 0, list, jobid, sizeof jobid)))
            goto out;
        snprintf(path, sizeof path, "%s/batches/%d/state", dir, b);
        snprintf(state, sizeof state, "submitted %lld %s\n", (long long)time(NULL), jobid);
        if (cgpc_write_file_atomic(path, state, strlen(state), &err) != CGPC_OK) {
            rc = cli_report("pbs", &err, 0);
            goto out;
        }
        printf("batch %d (%s, runs %d-%d): resubmitted as %s\n", b, pbs_state_name(st[b].state),
               st[b].first_run, st[b].first_run + st[b].count - 1, jobid);
    }
out:
    free(st);
    free(script);
    free(batch_script);
    return rc;
}

/* ---- merge --------------------------------------------------------------------------------- */

/* Run number of a per-run file name (statistics.R.csv.gz, best.R.T.chr, pareto.R.csv), or -1. */
static int run_of_file(const char *name)
{
    static const char *const prefixes[] = {"statistics.", "best.", "pareto."};
    static const char *const suffixes[] = {".csv.gz", ".chr", ".csv"};
    for (int i = 0; i < 3; i++) {
        size_t pl = strlen(prefixes[i]), nl = strlen(name), sl = strlen(suffixes[i]);
        if (strncmp(name, prefixes[i], pl) || nl < pl + sl + 1 ||
            strcmp(name + nl - sl, suffixes[i]))
            continue;
        char *end;
        long r = strtol(name + pl, &end, 10);
        if (end == name + pl || (*end != '.') || r < 0 || r > INT_MAX)
            continue;
        return (int)r;
    }
    return -1;
}

/* DIR's config.txt with the batch's "runs"/"first-run" lines set to the whole job's. */
static char *merged_config(const char *text, const struct pbs_job *job)
{
    size_t cap = strlen(text) + 64;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (!strncmp(p, "runs ", 5))
            n += (size_t)snprintf(out + n, cap - n, "runs %d", job->runs);
        else if (!strncmp(p, "first-run ", 10))
            n += (size_t)snprintf(out + n, cap - n, "first-run %d", job->first_run);
        else {
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        if (*p == '\n')
            out[n++] = *p++;
        out[n] = '\0';
    }
    out[n] = '\0';
    return out;
}

static cgpc_status merge_batch(const char *bdir, int b, int first, int count, const char *out,
                               char **results, size_t *results_len, struct cgpc_err *err)
{
    DIR *d = opendir(bdir);
    if (!d)
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open batch %d's output", bdir, b);
    cgpc_status st = CGPC_OK;
    struct dirent *e;
    char from[4400], to[4400];
    while (st == CGPC_OK && (e = readdir(d))) {
        int r = run_of_file(e->d_name);
        if (r < first || r >= first + count)
            continue;
        snprintf(from, sizeof from, "%s/%s", bdir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", out, e->d_name);
        st = copy_file(from, to, err);
    }
    closedir(d);
    if (st != CGPC_OK)
        return st;
    /* results.csv: the header once (batch 0's), then each batch's rows in run order */
    char *text;
    size_t len;
    snprintf(from, sizeof from, "%s/results.csv", bdir);
    if ((st = read_raw(from, &text, &len, err)) != CGPC_OK)
        return st;
    const char *rows = strchr(text, '\n');
    rows = rows ? rows + 1 : text + len;
    if (*results && strncmp(*results, text, (size_t)(rows - text))) {
        free(text);
        return CGPC_FAIL(err, CGPC_ERR_FORMAT, "%s: header differs from batch 0's", from);
    }
    const char *take = *results ? rows : text;
    size_t tl = strlen(take);
    char *grown = realloc(*results, *results_len + tl + 1);
    if (!grown) {
        free(text);
        return CGPC_FAIL(err, CGPC_ERR_NOMEM, "%s: out of memory", from);
    }
    memcpy(grown + *results_len, take, tl + 1);
    *results = grown;
    *results_len += tl;
    free(text);
    return CGPC_OK;
}

static int cmd_pbs_merge(const struct pbs_opts *o)
{
    struct pbs_job job;
    struct pbs_batch_status *st;
    int count[5];
    char *results = NULL, *config = NULL, *config2 = NULL;
    size_t results_len = 0, len;
    int rc = open_job(o->arg, &job, &st, count);
    if (rc)
        goto out;
    if (count[PBS_DONE] != job.batches) {
        char list[1024] = "";
        size_t n = 0;
        for (int b = 0; b < job.batches && n < sizeof list - 40; b++)
            if (st[b].state != PBS_DONE)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%d (%s)", n ? ", " : "", b,
                                      pbs_state_name(st[b].state));
        cli_error("pbs", o->arg, "%d of %d batches are not done: %s; see 'cgpc pbs status %s'",
                  job.batches - count[PBS_DONE], job.batches, list, o->arg);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    char out_dir[4200], bdir[4300], from[4400], to[4400];
    if (o->out)
        snprintf(out_dir, sizeof out_dir, "%s", o->out);
    else
        snprintf(out_dir, sizeof out_dir, "%s/merged", o->arg);
    struct cgpc_err err = {0};
    cgpc_status s = cgpc_mkdirs(out_dir, &err);
    for (int b = 0; s == CGPC_OK && b < job.batches; b++) {
        snprintf(bdir, sizeof bdir, "%s/batches/%d/out", o->arg, b);
        s = merge_batch(bdir, b, st[b].first_run, st[b].count, out_dir, &results, &results_len,
                        &err);
    }
    /* the run-independent files from batch 0; model.txt must agree across batches */
    static const char *const common_files[] = {"experiment.exp", "model.txt", "data.txt",
                                               "slots.txt"};
    for (size_t i = 0; s == CGPC_OK && i < sizeof common_files / sizeof common_files[0]; i++) {
        snprintf(from, sizeof from, "%s/batches/0/out/%s", o->arg, common_files[i]);
        snprintf(to, sizeof to, "%s/%s", out_dir, common_files[i]);
        if (i == 3 && !cgpc_path_exists(from))
            continue;
        s = copy_file(from, to, &err);
    }
    for (int b = 1; s == CGPC_OK && b < job.batches; b++) {
        snprintf(from, sizeof from, "%s/batches/0/out/model.txt", o->arg);
        snprintf(to, sizeof to, "%s/batches/%d/out/model.txt", o->arg, b);
        char *x = NULL, *y = NULL;
        size_t lx, ly;
        if ((s = read_raw(from, &x, &lx, &err)) == CGPC_OK &&
            (s = read_raw(to, &y, &ly, &err)) == CGPC_OK && strcmp(x, y))
            s = CGPC_FAIL(&err, CGPC_ERR_FORMAT, "%s differs from batch 0's: the batches did not "
                                                 "use the same model file", to);
        free(x);
        free(y);
    }
    snprintf(from, sizeof from, "%s/batches/0/out/config.txt", o->arg);
    snprintf(to, sizeof to, "%s/config.txt", out_dir);
    if (s == CGPC_OK && (s = read_raw(from, &config, &len, &err)) == CGPC_OK) {
        if (!(config2 = merged_config(config, &job)))
            s = CGPC_FAIL(&err, CGPC_ERR_NOMEM, "%s: out of memory", from);
        else
            s = write_text(to, config2, 0, &err);
    }
    snprintf(to, sizeof to, "%s/results.csv", out_dir);
    if (s == CGPC_OK)
        s = cgpc_write_file_atomic(to, results, results_len, &err);
    if (s != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    printf("merged %d runs of %d batches into %s; measure with: cgpc model-metrics %s\n",
           job.runs, job.batches, out_dir, out_dir);
out:
    free(st);
    free(results);
    free(config);
    free(config2);
    return rc;
}

int cmd_pbs(int argc, char **argv)
{
    struct pbs_opts o;
    pbs_defaults(&o);
    int rc = parse_pbs(&o, argc, argv);
    if (rc)
        return rc;
    if (o.common.help) {
        cmd_pbs_usage(stdout);
        return CLI_EXIT_OK;
    }
    const char *sub = o.sub->name;
    if (!strcmp(sub, "generate"))
        return cmd_pbs_generate(&o, 0);
    if (!strcmp(sub, "submit"))
        return cmd_pbs_generate(&o, !o.no_submit);
    if (!strcmp(sub, "status"))
        return cmd_pbs_status(&o);
    if (!strcmp(sub, "resubmit"))
        return cmd_pbs_resubmit(&o);
    return cmd_pbs_merge(&o);
}
