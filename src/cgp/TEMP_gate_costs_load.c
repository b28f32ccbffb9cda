/* TEMP_gate_costs_load.c - TEMPORARY stand-in for energy_gate_table_load(), which the energy
 * module is adding in parallel. The lead deletes this file when merging the energy branch. */
#include "energy/energy.h"

cgpc_status energy_gate_table_load(struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err);

cgpc_status energy_gate_table_load(struct energy_gate_table *t, const char *path,
                                   struct cgpc_err *err)
{
    (void)t;
    return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: --gate-costs is not available yet (the energy module's "
                     "energy_gate_table_load is not merged)", path);
}
