/* cmd_pbs_merge.c - `cgpc pbs merge DIR [--out MERGED]`: once every batch is done
 * (pbs_merge_check), their output directories merged into one train directory
 * (cgp_rundir_merge). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cgp/rundir.h"
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
    struct pbs_batch_status *st = NULL;
    struct cgp_rundir_part *parts = calloc((size_t)job.batches, sizeof *parts);
    char (*dirs)[4200] = calloc((size_t)job.batches, sizeof *dirs);
    if (!parts || !dirs) {
        cli_error("pbs", o->arg, "out of memory");
        rc = CLI_EXIT_FAILURE;
    } else if (pbs_merge_check(o->arg, &job, (int64_t)time(NULL), &st, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
    } else {
        for (int b = 0; b < job.batches; b++) {
            pbs_batch_out_dir(o->arg, b, dirs[b], sizeof dirs[b]);
            parts[b] = (struct cgp_rundir_part){dirs[b], st[b].first_run, st[b].count};
        }
        if (cgp_rundir_merge(parts, job.batches, out_dir, job.runs, job.first_run, &err) !=
            CGPC_OK)
            rc = cli_report("pbs", &err, 0);
        else
            printf("merged %d runs of %d batches into %s; measure with: cgpc model-metrics %s\n",
                   job.runs, job.batches, out_dir, out_dir);
    }
    free(st);
    free(parts);
    free(dirs);
    return rc;
}
