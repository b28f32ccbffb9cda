/* cmd_pbs_generate.c - `cgpc pbs generate|submit EXPERIMENT --out DIR`: the effective
 * experiment, the job settings and the template into a job directory (pbs_dir_write), then
 * qsub of job.sh as an array (pbs_submit). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/fileio.h"
#include "exp/experiment.h"
#include "pbs/jobctl.h"
#include "pbs_cli.h"

/* The effective experiment (file + overrides, name and absolute model path filled in). */
static int load_experiment(const struct pbs_opts *o, struct exp_config *cfg, char **text)
{
    struct cgpc_err err = {0};
    exp_config_defaults(cfg);
    if (exp_config_load(cfg, o->arg, &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    if (exp_cli_apply(&o->overrides, cfg, &err) != CGPC_OK)
        return cli_usage_error("pbs", "%s", err.msg);
    if (exp_config_validate(cfg, &err) != CGPC_OK)
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

/* The job's settings from the options and the experiment. */
static int job_from_options(const struct pbs_opts *o, const struct exp_config *cfg,
                            struct pbs_job *job)
{
    pbs_job_defaults(job);
    job_name(exp_config_str(cfg, "name"), job->name, sizeof job->name);
    char exe[1024];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = '\0';
    snprintf(job->cgpc, sizeof job->cgpc, "%s", exe);
    snprintf(job->template_name, sizeof job->template_name, "%s", o->template_name);
    job->runs = (int)exp_config_int(cfg, "runs");
    job->batches = o->batches;
    job->walltime_s = o->walltime_s;
    job->margin_s = o->margin_s >= 0 ? o->margin_s : pbs_default_margin(o->walltime_s);
    snprintf(job->mem, sizeof job->mem, "%s", o->mem);
    snprintf(job->scratch, sizeof job->scratch, "%s", o->scratch);
    job->ncpus = o->ncpus;
    snprintf(job->queue, sizeof job->queue, "%s", o->queue);
    if (strlen(o->mem) >= sizeof job->mem || strlen(o->scratch) >= sizeof job->scratch ||
        strlen(o->queue) >= sizeof job->queue)
        return cli_usage_error("pbs", "--mem, --scratch or --queue value too long");
    struct cgpc_err err = {0};
    if (pbs_job_check(job, &err) != CGPC_OK)
        return cli_report("pbs", &err, 1);
    return 0;
}

/* run-batch.sh beside the named templates (default, thesis) or in the pbs/ directory. */
static int find_run_batch(const struct pbs_opts *o, const char *tmpl_path, char *out, size_t cap)
{
    snprintf(out, cap, "%.4000s", tmpl_path);
    char *slash = strrchr(out, '/');
    if (slash && (!strcmp(o->template_name, "default") || !strcmp(o->template_name, "thesis")))
        snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "run-batch.sh");
    else if (cli_find_resource("pbs", "CGPC_PBS_DIR", out, cap - 16) == 0)
        strcat(out, "/run-batch.sh");
    else {
        cli_error("pbs", "run-batch.sh", "the pbs/ directory was not found (looked in %s); set "
                                         "CGPC_PBS_DIR", out);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

int cmd_pbs_generate(const struct pbs_opts *o)
{
    int submit = !strcmp(o->sub->name, "submit") && !o->no_submit;
    struct exp_config *cfg = malloc(sizeof *cfg);
    char *exp_text = NULL;
    unsigned char *tmpl = NULL;
    int rc = cfg ? load_experiment(o, cfg, &exp_text) : CLI_EXIT_FAILURE;
    struct pbs_job job;
    if (rc || (rc = job_from_options(o, cfg, &job)))
        goto out;
    char tmpl_path[4200], dir[4096], rb_path[4200];
    if ((rc = find_template(o->template_name, tmpl_path, sizeof tmpl_path)) ||
        (rc = find_run_batch(o, tmpl_path, rb_path, sizeof rb_path)))
        goto out;
    pbs_cli_absolute(o->out, dir, sizeof dir);
    struct cgpc_err err = {0};
    size_t len;
    int same;
    if (cgpc_read_file(tmpl_path, &tmpl, &len, &err) != CGPC_OK ||
        pbs_dir_check(dir, &job, exp_text, &same, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    if (submit && same && pbs_dir_submitted(dir)) {
        cli_error("pbs", dir, "this job was already submitted (see submissions.log); use 'cgpc "
                              "pbs status %s' and 'cgpc pbs resubmit %s'", o->out, o->out);
        rc = CLI_EXIT_FAILURE;
        goto out;
    }
    struct pbs_dir_files files = {exp_text, (const char *)tmpl, tmpl_path, rb_path};
    if (pbs_dir_write(dir, &job, &files, &err) != CGPC_OK) {
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
    char jobid[128], list[32];
    snprintf(list, sizeof list, "0-%d", job.batches - 1);
    if (pbs_submit(pbs_scheduler_system(), dir, "job.sh", job.batches, list, jobid,
                   sizeof jobid, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
    printf("submitted %s as %s; follow with: cgpc pbs status %s\n", list, jobid, o->out);
out:
    free(cfg);
    free(exp_text);
    free(tmpl);
    return rc;
}
