/* cmd_pbs_merge.c - `cgpc pbs merge DIR [--out MERGED]`: every batch's runs into one train
 * directory (pbs_merge), once all batches are done. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "pbs/jobctl.h"
#include "pbs_cli.h"

int cmd_pbs_merge(const struct pbs_opts *o)
{
    struct pbs_job job;
    int rc = pbs_cli_load_job(o->arg, &job);
    if (rc)
        return rc;
    char out_dir[4200];
    if (o->out)
        snprintf(out_dir, sizeof out_dir, "%s", o->out);
    else
        snprintf(out_dir, sizeof out_dir, "%s/merged", o->arg);
    struct cgpc_err err = {0};
    if (pbs_merge(o->arg, &job, out_dir, (int64_t)time(NULL), &err) != CGPC_OK)
        return cli_report("pbs", &err, 0);
    printf("merged %d runs of %d batches into %s; measure with: cgpc model-metrics %s\n",
           job.runs, job.batches, out_dir, out_dir);
    return CLI_EXIT_OK;
}
