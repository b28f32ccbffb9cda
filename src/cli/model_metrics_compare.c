/* model_metrics_compare.c - `cgpc model-metrics ... --compare FILE`: model files (float32,
 * int8, low-bit, Deep Compression) as rows beside the circuits (exp/compare.h), and the data
 * splits every row is measured on. */
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "exp/compare.h"
#include "model_metrics_cli.h"
#include "nn_cli.h"

cgpc_status model_metrics_splits(struct mm_splits *sp, const char *name, int h, int w,
                                 struct cgpc_err *err)
{
    if (!strcmp(name, sp->name) && sp->val.rows == h && sp->val.cols == w)
        return CGPC_OK;
    model_metrics_splits_free(sp);
    cgpc_status st;
    if ((st = nn_cli_load_dataset(name, NN_SPLIT_VAL, &sp->val, err)) ||
        (st = nn_cli_load_dataset(name, NN_SPLIT_TEST, &sp->test, err)) ||
        (st = nn_dataset_pad(&sp->val, h, w, err)) ||
        (st = nn_dataset_pad(&sp->test, h, w, err))) {
        model_metrics_splits_free(sp);
        return st;
    }
    snprintf(sp->name, sizeof sp->name, "%s", name);
    return CGPC_OK;
}

void model_metrics_splits_free(struct mm_splits *sp)
{
    nn_dataset_free(&sp->val);
    nn_dataset_free(&sp->test);
    sp->name[0] = '\0';
}

int model_metrics_compare(char *const *files, int n, const char *dataset,
                          const struct exp_metrics_opts *mo, struct row_sink *sink,
                          struct mm_splits *sp,
                          int (*row)(void *user, const struct exp_metrics_row *r))
{
    struct cgpc_err err = {0};
    for (int i = 0; i < n; i++) {
        struct exp_compare c;
        struct exp_metrics_row r;
        if (exp_compare_open(&c, files[i], &err) != CGPC_OK)
            return cli_report("model-metrics", &err, 0);
        const char *name = dataset ? dataset : nn_model_get_meta(&c.model, "dataset");
        for (int k = 0; k < sink->n_rows; k++)
            if (!strcmp(sink->rows[k].r.experiment, c.label))
                snprintf(c.label, sizeof c.label, "%s", files[i]);
        cgpc_status st = CGPC_OK;
        if (!name)
            st = CGPC_FAIL(&err, CGPC_ERR_ARG, "%s has no 'dataset' metadata: give --dataset",
                           files[i]);
        if (!st)
            st = model_metrics_splits(sp, name, c.model.in_h, c.model.in_w, &err);
        if (!st)
            st = exp_compare_measure(&c, &sp->val, &sp->test, mo, &r, &err);
        sink->dir = files[i];
        sink->model = c.label;
        int stop = !st && row(sink, &r);
        exp_compare_free(&c);
        if (st)
            return cli_report("model-metrics", &err, 0);
        if (stop) {
            cli_error("model-metrics", files[i], "out of memory keeping the rows");
            return CLI_EXIT_FAILURE;
        }
    }
    return CLI_EXIT_OK;
}

int model_metrics_take_files(char **args, int n, char **files, int *n_files)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(args[i], &sb) == 0 && S_ISREG(sb.st_mode))
            files[(*n_files)++] = args[i];
        else
            args[kept++] = args[i];
    }
    return kept;
}
