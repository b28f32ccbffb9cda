/* cmd_pbs_resubmit.c - `cgpc pbs resubmit DIR [--time-limit T] [--margin S]`: qsub every
 * unfinished or failed batch again, alone (pbs_resubmit), optionally with a new walltime. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "pbs/jobctl.h"
#include "pbs_cli.h"

int cmd_pbs_resubmit(const struct pbs_opts *o)
{
    struct pbs_job job;
    int rc = pbs_cli_load_job(o->arg, &job);
    if (rc)
        return rc;
    char dir[4096];
    pbs_cli_absolute(o->arg, dir, sizeof dir);
    double walltime = o->given & PBS_BIT(PBS_OPT_TIME_LIMIT) ? o->walltime_s : 0;
    double margin = o->given & PBS_BIT(PBS_OPT_MARGIN) ? o->margin_s : -1;
    struct pbs_resubmitted *done = NULL;
    int n = 0, count[5];
    struct cgpc_err err = {0};
    if (pbs_resubmit(pbs_scheduler_system(), dir, &job, walltime, margin, (int64_t)time(NULL),
                     &done, &n, count, &err) != CGPC_OK)
        rc = cli_report("pbs", &err, 1);
    for (int i = 0; i < n; i++)
        printf("batch %d (%s, runs %d-%d): resubmitted as %s\n", done[i].batch,
               pbs_state_name(done[i].was), done[i].first_run,
               done[i].first_run + done[i].count - 1, done[i].jobid);
    if (!rc && n == 0)
        printf("nothing to resubmit: %d done, %d running, %d queued\n", count[PBS_DONE],
               count[PBS_RUNNING], count[PBS_NOT_STARTED]);
    free(done);
    return rc;
}
