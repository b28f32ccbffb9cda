#!/usr/bin/env bash
# export_sim: the Verilog export simulated by Icarus Verilog and the C export compiled with
# -O2 -fsanitize=undefined -fno-sanitize-recover must equal `cgpc circuit eval` bit for bit:
#   - a hand-made circuit using every operator of cgpc (mux2, mux4 and id included), on
#     10,000 random input vectors (items 0..9999, so the muxes see every select);
#   - a multiplexed circuit evolved with --multiplex and every operator, on its 16 items then
#     10,000 random vectors (one data set: items 0..16+9999).
# Negative controls: single operator edits of the exports must be caught. Experiment circuits:
# export_sim_exp.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/export_harness.bash"
export_require_tools iverilog vvp cc
export OMP_WAIT_POLICY=passive
cd "$CGPC_ROOT"

# 1. every operator
export_all_ops_chr "$T/all.chr"
n_ops=$(export_ops | wc -l)
[ "$n_ops" -ge 30 ] || fail "expected at least 30 operators, got $n_ops"
for op in $(export_ops); do
    grep -q " $op$" "$T/all.chr" || fail "operator $op missing from the all-operator circuit"
done
"$CGPC" circuit show "$T/all.chr" >"$T/show" || fail "circuit show on the all-operator circuit"
expect_contains "$T/show" "^active $((2 * n_ops))$"
export_random_data 4 $((2 * n_ops)) 10000 7 "$T/rand4.data"
export_check_verilog "$T/all.chr" "$T/rand4.data" allops
export_check_c "$T/all.chr" "$T/rand4.data" allops

# negative controls: one operator changed in the export must be noticed
EXPORT_MUTATION='s/ >>> 1;/ >> 1;/' export_check_verilog "$T/all.chr" "$T/rand4.data" mut1
EXPORT_MUTATION='s/item\[1\] ? (item\[0\] ? \([a-z0-9_]*\) : \([a-z0-9_]*\))/item[1] ? (item[0] ? \2 : \1)/' \
    export_check_verilog "$T/all.chr" "$T/rand4.data" mut2
EXPORT_MUTATION='s/mut3_sar(\(i0\|n[0-9]*_[a-z0-9_]*\), 5)/mut3_sar(\1, 4)/' \
    export_check_c "$T/all.chr" "$T/rand4.data" mut3

# 2. a multiplexed circuit (muxes selected by the item index)
awk 'BEGIN { srand(3); print "cgpc-data v1\ninputs 6\noutputs 4\nitems 16"
    for (d = 0; d < 16; d++) { l = ""; for (i = 0; i < 6; i++) l = l int(rand() * 256) - 128 " "
        for (o = 0; o < 4; o++) l = l (d % 4 == o ? 50 : -3 * o) " "; print l } }' >"$T/mx.data"
"$CGPC" evolve --data "$T/mx.data" --out "$T/mx" --multiplex --functions "$(export_ops | paste -sd,)" \
    --rows 6 --cols 10 --generations 3000 --threads 1 >/dev/null 2>&1 || fail "evolve --multiplex"
"$CGPC" circuit show "$T/mx/best.0.0.chr" >"$T/show.txt" # (no pipe: grep -q would SIGPIPE it)
grep -q " mux[24] " "$T/show.txt" || fail "the multiplexed circuit has no active mux"
export_random_data 6 4 10000 11 "$T/rand6.data"
export_concat_data "$T/mx.data" "$T/rand6.data" "$T/mx_all.data" # items 0..15: the data set
export_check_verilog "$T/mx/best.0.0.chr" "$T/mx_all.data" mx
export_check_c "$T/mx/best.0.0.chr" "$T/mx_all.data" mx

echo "export_sim: all exports equal cgpc"
