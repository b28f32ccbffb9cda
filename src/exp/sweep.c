/* sweep.c - one experiment per convolution of the model (see sweep.h). */
#include "exp/sweep.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/parallel.h"
#include "exp/experiment.h"
#include "nn/model.h"

cgpc_status exp_sweep_layers(const struct exp_config *cfg, const char *out, double stop_after,
                             exp_sweep_fn step, void *ctx, int *rc, struct cgpc_err *err)
{
    *rc = 0;
    char model_path[4096];
    struct nn_model model = {0};
    struct exp_config *layer_cfg = malloc(sizeof *layer_cfg);
    cgpc_status st = layer_cfg ? CGPC_OK : CGPC_FAIL(err, CGPC_ERR_NOMEM, "out of memory");
    if (st == CGPC_OK)
        st = exp_resolve_path(cfg->path, exp_config_str(cfg, "model"), model_path,
                              sizeof model_path, err);
    if (st == CGPC_OK)
        st = nn_model_load(model_path, &model, err);
    int count = 0;
    for (int i = 0; st == CGPC_OK && i < model.nlayers; i++)
        count += model.layers[i].op == NN_OP_CONV2D;
    if (st == CGPC_OK && count == 0)
        st = CGPC_FAIL(err, CGPC_ERR_ARG, "%s: the model has no convolutions for --all-layers",
                       model_path);
    double t0 = cgpc_wtime();
    for (int i = 0, k = 0; st == CGPC_OK && *rc == 0 && i < model.nlayers; i++) {
        const struct nn_layer *l = &model.layers[i];
        if (l->op != NN_OP_CONV2D)
            continue;
        *layer_cfg = *cfg;
        char dir[4400], name[EXP_VALUE_MAX];
        snprintf(dir, sizeof dir, "%s/%s", out, l->name);
        snprintf(name, sizeof name, "%s:%s", exp_config_str(cfg, "name"), l->name);
        if ((st = exp_config_set(layer_cfg, "layer", l->name, "--all-layers", err)) != CGPC_OK ||
            (st = exp_config_set(layer_cfg, "name", name, "--all-layers", err)) != CGPC_OK)
            break;
        struct exp_sweep_step s = {l->name, layer_cfg, dir, k++, count, 0};
        if (stop_after > 0) { /* the budget bounds the whole sweep, not each layer */
            s.stop_after = stop_after - (cgpc_wtime() - t0);
            if (s.stop_after <= 0.001)
                s.stop_after = 0.001;
        }
        *rc = step(ctx, &s);
    }
    nn_model_free(&model);
    free(layer_cfg);
    return st;
}
