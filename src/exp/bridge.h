/* bridge.h - views of a loaded model for the other modules: its layers as the energy module's
 * generic layer list, and its int8 weight tensors as the selector's tensor shapes. Keeping
 * these here lets src/energy and the selector stay independent of src/nn.
 *
 * Ownership: the arrays returned are malloc'ed; the caller frees them with free(). */
#ifndef CGPC_EXP_BRIDGE_H
#define CGPC_EXP_BRIDGE_H

#include "common/error.h"
#include "energy/energy.h"
#include "energy/storage.h"
#include "exp/select.h"
#include "nn/model.h"

/* One energy_layer per layer with weights (conv, linear), in network order; weight_bits is 8
 * for a quantized model, 32 for a float one; biases are not counted as weights. */
cgpc_status exp_model_energy_layers(const struct nn_model *m, struct energy_layer **layers,
                                    int *n, struct cgpc_err *err);

/* The storage model's view of m (float or int8): one storage_layer per conv / linear (weights,
 * out channels, 4 activation qparams, MACs) and per residual add (2 qparams), network order.
 * Feed it to storage_reference_float32 / storage_reference_int8. */
cgpc_status exp_model_storage_layers(const struct nn_model *m, struct storage_layer **layers,
                                     int *n, struct cgpc_err *err);

/* Total stored bits of m's int8 reference (int8 != 0) or float32 reference, as
 * storage_reference_int8 / storage_reference_float32 count them. */
cgpc_status exp_model_reference_bits(const struct nn_model *m, int int8, uint64_t *bits,
                                     struct cgpc_err *err);

/* One exp_tensor per weight tensor ("<layer>.weight"), shapes [O, I/groups, KH, KW]
 * (linear: KH = KW = 1), in network order. */
cgpc_status exp_model_tensors(const struct nn_model *m, struct exp_tensor **tensors, int *n,
                              struct cgpc_err *err);

#endif
