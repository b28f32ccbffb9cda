#!/usr/bin/env bash
# export_sim_exp: experiment circuits, exported and checked as in export_sim.sh (Icarus
# Verilog; C with -O2 -fsanitize=undefined -fno-sanitize-recover) against `cgpc circuit eval`
# on every data item of the experiment and on random input vectors:
#   - a single_channel experiment circuit (kernel items), on the experiment's 6 items then
#     10,000 random vectors;
#   - an all_layers experiment circuit (layer items, multiplexed), Verilog, on its 2 items then
#     200 random vectors;
#   - a value-slot circuit of le_selector (no inputs, 2,550 outputs), on its item;
#   - a coordinate-input circuit of coords (conv2: 2,400 items of 4 coordinates).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/export_harness.bash"
export_require_tools iverilog vvp cc
export OMP_WAIT_POLICY=passive
cd "$CGPC_ROOT"
# 1. an experiment circuit: single_channel (conv1 cores -> rings, 6 kernel items)
"$CGPC" train experiments/single_channel.exp --out "$T/sc" --generations 2000 --runs 1 \
    --threads 1 >/dev/null 2>&1 || fail "train single_channel"
chr=$(export_last_best "$T/sc")
export_random_data 9 16 10000 13 "$T/rand9.data"
export_concat_data "$T/sc/data.txt" "$T/rand9.data" "$T/sc_all.data" # items 0..5: the kernels
export_check_verilog "$chr" "$T/sc_all.data" sc
export_check_c "$chr" "$T/sc_all.data" sc

# 2. a multiplexed experiment circuit: all_layers (layer items, muxes select the layer), on
# its 2 items then 200 random vectors; Verilog only (the C of this 864-input, 1,536-output
# function takes ~10 s to compile with UBSan; the C path is checked on the multiplexed circuit
# of export_sim.sh)
"$CGPC" train experiments/all_layers.exp --out "$T/al" --generations 300 --runs 1 \
    --threads 1 >/dev/null 2>&1 || fail "train all_layers"
chr=$(export_last_best "$T/al")
"$CGPC" circuit show "$chr" >"$T/show.txt" # (no pipe: grep -q would SIGPIPE it)
grep -q " mux[24] " "$T/show.txt" || fail "the all_layers circuit has no active mux"
export_random_data 864 1536 200 17 "$T/rand864.data"
export_concat_data "$T/al/data.txt" "$T/rand864.data" "$T/al_all.data"
export_check_verilog "$chr" "$T/al_all.data" al

# 3. a value-slot circuit: le_selector (no inputs; outputs wired to shared slots)
"$CGPC" train experiments/le_selector.exp --out "$T/le" --generations 300 --runs 1 \
    --threads 1 >/dev/null 2>&1 || fail "train le_selector"
[ -f "$T/le/slots.txt" ] || fail "le_selector did not run in value-slot mode"
chr=$(export_last_best "$T/le")
export_check_verilog "$chr" "$T/le/data.txt" le
export_check_c "$chr" "$T/le/data.txt" le

# 4. a coordinate-input circuit: coords on conv2 (one item per weight, inputs o, i, ky, kx)
"$CGPC" train experiments/coords.exp --layer conv2 --out "$T/co" --generations 300 --runs 1 \
    --threads 1 >/dev/null 2>&1 || fail "train coords"
chr=$(export_last_best "$T/co")
export_check_verilog "$chr" "$T/co/data.txt" co
export_check_c "$chr" "$T/co/data.txt" co
echo "export_sim_exp: all exports equal cgpc"
