/* ports.h - what a circuit's inputs and outputs are in an experiment's model: names such as
 * "conv1.weight[0,0,1,2]" for exports (DOT labels, Verilog/C comments) and the per-item weight
 * map a C export's NAME_weights() needs.
 *
 * A port is the same circuit input/output across all data items; when the items read
 * different weights through it, the name shows '*' for each index that differs
 * ("conv1.weight[*,0,1,1]": kernel items over all output channels), or lists the tensors when
 * they differ (layer items). Padding inputs read "0 (padding)", padding outputs "unused
 * (don't care)", literal outputs "value N".
 *
 * Ownership: exp_ports owns its strings and arrays; exp_ports_free(NULL) is a no-op. */
#ifndef CGPC_EXP_PORTS_H
#define CGPC_EXP_PORTS_H

#include "cgp/export.h"
#include "exp/experiment.h"

struct exp_ports {
    char **input_names;  /* [n_inputs] */
    char **output_names; /* [n_outputs] */
    int n_inputs, n_outputs;
    /* the weight map (cgp_export_weights points into these) */
    struct cgp_export_weights weights;
    const char **tensor_names;
    int64_t *tensor_sizes;
    int32_t *in_tensor, *out_tensor;
    int64_t *in_offset, *out_offset;
};

/* Build names and weight map for the setup's selection. */
cgpc_status exp_ports_init(struct exp_ports *p, const struct exp_setup *s, struct cgpc_err *err);
void exp_ports_free(struct exp_ports *p);

/* One weight reference as "TENSOR[o,i,ky,kx]" (conv) or "TENSOR[o,i]" (linear). */
void exp_ref_name(const struct exp_tensor *tensors, const struct exp_ref *r, char *buf,
                  size_t cap);

#endif
