/* cmd_pbs_status.c - `cgpc pbs status DIR [--json]`: every batch's state (pbs_status_all),
 * as a table with the failed batches' log tails, or as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pbs/jobctl.h"
#include "pbs_cli.h"

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

int cmd_pbs_status(const struct pbs_opts *o)
{
    struct pbs_job job;
    struct pbs_batch_status *st = NULL;
    int count[5];
    struct cgpc_err err = {0};
    int rc = pbs_cli_load_job(o->arg, &job);
    if (rc)
        return rc;
    if (pbs_status_all(o->arg, &job, (int64_t)time(NULL), &st, count, &err) != CGPC_OK) {
        rc = cli_report("pbs", &err, 0);
        goto out;
    }
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
