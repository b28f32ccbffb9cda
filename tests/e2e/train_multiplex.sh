#!/usr/bin/env bash
# The multiplexed multi-layer mode through `cgpc train` (issue 14): all_layers.exp sets
# multiplex, so its run uses mux2/mux4 (selected by the layer index) and its best circuit holds
# some, also in a batch as PBS runs it and after --resume; multiplex = false removes them.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
EXP=experiments/all_layers.exp
short=(--generations 300 --thresholds 32)

expect_exit 0 "$CGPC" train "$EXP" "${short[@]}" --run-first 0 --run-count 1 --out "$T/mux"
expect_contains "$T/mux/config.txt" "^multiplex 1$"
expect_contains "$T/mux/config.txt" "^functions .*,mux2,mux4$"
expect_exit 0 "$CGPC" circuit show "$T/mux/best.0.32.chr"
expect_contains "$T/out" " mux[24] "

# stopped and resumed: the resumed run reads the function set back from config.txt
expect_exit 3 "$CGPC" train "$EXP" "${short[@]}" --out "$T/res" --stop-after 0.001
expect_exit 0 "$CGPC" train "$EXP" "${short[@]}" --out "$T/res" --resume
expect_contains "$T/res/config.txt" "^functions .*,mux2,mux4$"
cmp "$T/mux/best.0.32.chr" "$T/res/best.0.32.chr" || fail "resumed run differs"

expect_exit 0 "$CGPC" train "$EXP" "${short[@]}" --multiplex false --out "$T/plain"
expect_contains "$T/plain/config.txt" "^multiplex 0$"
if grep -q mux "$T/plain/config.txt"; then fail "multiplex = false kept the muxes"; fi
expect_exit 0 "$CGPC" circuit show "$T/plain/best.0.32.chr"
if grep -q " mux[24] " "$T/out"; then fail "a circuit without multiplex holds a mux"; fi

# mux names need multiplex, in experiments as in evolve; the message names the parameter
expect_exit 2 "$CGPC" train "$EXP" --multiplex false --functions add,mux2 --out "$T/bad"
expect_contains "$T/err" "functions: 'mux2' is only available with multiplex"
echo ok
