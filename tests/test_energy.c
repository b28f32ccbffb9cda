/* test_energy.c - cmocka suite for src/energy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "energy/energy.h"

static void circuit_account__sums_and_critical_path(void **state)
{
    (void)state;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    /* inputs 0,1,2; n3 = in0*in1; n4 = n3 + in2; n5 = n4 >> 1 (free); outputs n5, n3 */
    struct energy_node nodes[] = {
        {CGPC_OP_MUL, {0, 1}}, {CGPC_OP_ADD, {3, 2}}, {CGPC_OP_SHR1, {4}}};
    int32_t outputs[] = {5, 3};
    double arrival[6];
    int depth[6];
    struct energy_circuit_cost c;
    energy_circuit_account(&t, nodes, 3, 3, outputs, 2, arrival, depth, &c);
    assert_true(c.energy_pj > 0.2299 && c.energy_pj < 0.2301);
    assert_true(c.delay_ns > 1.43 + 0.63 - 1e-9 && c.delay_ns < 1.43 + 0.63 + 1e-9);
    assert_true(c.area_um2 > 709.6 + 70.4 - 1e-9 && c.area_um2 < 709.6 + 70.4 + 1e-9);
    assert_int_equal(c.gates, 2);
    assert_int_equal(c.depth, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(circuit_account__sums_and_critical_path),
    };
    return cmocka_run_group_tests_name("energy", tests, NULL, NULL);
}
