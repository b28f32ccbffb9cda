/* cmd_pbs.c - `cgpc pbs generate|submit|status|resubmit|merge`: options, help and dispatch;
 * each subcommand runs in its own cmd_pbs_<sub>.c through src/pbs/jobctl.h (job directory
 * layout and states: src/pbs/pbs.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "common/parse.h"
#include "pbs/pbs.h"
#include "pbs_cli.h"

#define JOB_OPTS                                                                           \
    (PBS_BIT(PBS_OPT_OUT) | PBS_BIT(PBS_OPT_TIME_LIMIT) | PBS_BIT(PBS_OPT_MEM) |            \
     PBS_BIT(PBS_OPT_SCRATCH) | PBS_BIT(PBS_OPT_NCPUS) | PBS_BIT(PBS_OPT_BATCHES) |         \
     PBS_BIT(PBS_OPT_QUEUE) | PBS_BIT(PBS_OPT_TEMPLATE) | PBS_BIT(PBS_OPT_MARGIN) |         \
     PBS_BIT(PBS_OPT_NO_SUBMIT))

static const struct pbs_subcommand subcommands[] = {
    {"generate", JOB_OPTS, 1, cmd_pbs_generate},
    {"submit", JOB_OPTS, 1, cmd_pbs_generate},
    {"status", PBS_BIT(PBS_OPT_JSON), 0, cmd_pbs_status},
    {"resubmit", PBS_BIT(PBS_OPT_TIME_LIMIT) | PBS_BIT(PBS_OPT_MARGIN), 0, cmd_pbs_resubmit},
    {"merge", PBS_BIT(PBS_OPT_OUT), 0, cmd_pbs_merge},
};

const char *const pbs_excluded_keys[] = {"time_limit", NULL};

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
        {"out", required_argument, NULL, PBS_OPT_OUT},
        {"time-limit", required_argument, NULL, PBS_OPT_TIME_LIMIT},
        {"mem", required_argument, NULL, PBS_OPT_MEM},
        {"scratch", required_argument, NULL, PBS_OPT_SCRATCH},
        {"ncpus", required_argument, NULL, PBS_OPT_NCPUS},
        {"batches", required_argument, NULL, PBS_OPT_BATCHES},
        {"queue", required_argument, NULL, PBS_OPT_QUEUE},
        {"template", required_argument, NULL, PBS_OPT_TEMPLATE},
        {"margin", required_argument, NULL, PBS_OPT_MARGIN},
        {"no-submit", no_argument, NULL, PBS_OPT_NO_SUBMIT},
        {"json", no_argument, NULL, PBS_OPT_JSON},
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
        if (opt >= PBS_OPT_OUT && opt <= PBS_OPT_JSON) {
            if (!(o->sub->opts & PBS_BIT(opt)))
                return cli_usage_error("pbs", "%s is not an option of 'pbs %s'",
                                       argv[optind - 1], o->sub->name);
            o->given |= PBS_BIT(opt);
        }
        switch (opt) {
        case PBS_OPT_OUT: o->out = optarg; break;
        case PBS_OPT_TIME_LIMIT:
            if (cgpc_parse_duration(optarg, &o->walltime_s, &err) != CGPC_OK ||
                !(o->walltime_s >= 1))
                return cli_usage_error("pbs", "--time-limit '%s': expected a walltime like "
                                              "48:00:00 or seconds >= 1", optarg);
            break;
        case PBS_OPT_MARGIN:
            if (cgpc_parse_duration(optarg, &o->margin_s, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--margin: %s", err.msg);
            break;
        case PBS_OPT_MEM: o->mem = optarg; break; /* sizes are checked by pbs_job_check */
        case PBS_OPT_SCRATCH: o->scratch = optarg; break;
        case PBS_OPT_QUEUE: o->queue = optarg; break;
        case PBS_OPT_TEMPLATE: o->template_name = optarg; break;
        case PBS_OPT_NCPUS:
            if (cgpc_parse_int(optarg, 1, 4096, &o->ncpus, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--ncpus: %s", err.msg);
            break;
        case PBS_OPT_BATCHES:
            if (cgpc_parse_int(optarg, 1, 1 << 20, &o->batches, &err) != CGPC_OK)
                return cli_usage_error("pbs", "--batches: %s", err.msg);
            break;
        case PBS_OPT_NO_SUBMIT: o->no_submit = 1; break;
        case PBS_OPT_JSON: o->json = 1; break;
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

int pbs_cli_load_job(const char *dir, struct pbs_job *job)
{
    struct cgpc_err err = {0};
    if (pbs_job_load(job, dir, &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    return 0;
}

void pbs_cli_absolute(const char *path, char *out, size_t cap)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", cwd, path);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
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
    return o.sub->run(&o);
}
