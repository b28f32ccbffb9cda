#!/usr/bin/env bash
# cgpc train --resume: a run resumes only with the experiment it was started with. A different
# experiment file or a differing override (--rows 5) is refused with exit 2 naming the key and
# both values, and nothing in the directory changes; the same experiment resumes to the end
# with results equal to an uninterrupted run; other --run-first/--run-count are refused too. A
# corrupt checkpoint is refused with exit 1 naming file, line and field.
source "$(dirname "$0")/lib.sh"

EXP=$CGPC_ROOT/experiments/single_channel.exp
small=(--generations 400 --thresholds "16 4" --runs 2 --threads 1 --seed 3)
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/straight"
expect_exit 3 "$CGPC" train "$EXP" "${small[@]}" --out "$T/d" --stop-after 0.001
[ -f "$T/d/checkpoint" ] || fail "no checkpoint after --stop-after"
cp "$T/d/checkpoint" "$T/ckpt.before"

expect_exit 2 "$CGPC" train "$EXP" "${small[@]}" --rows 5 --out "$T/d" --resume
expect_contains "$T/err" "^cgpc train: --resume $T/d: rows: the run was started with '30'"
expect_contains "$T/err" "not '5' (--rows)"
sed 's/^cols = 7/cols = 8/' "$EXP" >"$T/other.exp"
sed -i "s|^model = .*|model = $CGPC_ROOT/models/lenet5-mnist-int8.safetensors|" "$T/other.exp"
expect_exit 2 "$CGPC" train "$T/other.exp" "${small[@]}" --out "$T/d" --resume
expect_contains "$T/err" "name: the run was started with 'single_channel' .*, not 'other' (file name)"
echo "name = single_channel" >>"$T/other.exp"
expect_exit 2 "$CGPC" train "$T/other.exp" "${small[@]}" --out "$T/d" --resume
expect_contains "$T/err" "cols: the run was started with '7'"
cmp "$T/d/checkpoint" "$T/ckpt.before" || fail "a refused resume changed the checkpoint"

expect_exit 2 "$CGPC" train "$EXP" "${small[@]}" --out "$T/d" --resume --run-first 1
expect_contains "$T/err" "the run was started for runs 0..1, not 1..1"

# a corrupt checkpoint: refused naming file:line and the field
sed 's/^stage-generations .*/stage-generations -5/' "$T/ckpt.before" >"$T/d/checkpoint"
expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/d" --resume
expect_contains "$T/err" "checkpoint:7: stage-generations: expected an integer in \[0, 400\], got '-5'"
cp "$T/ckpt.before" "$T/d/checkpoint"

expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/d" --resume
for f in results.csv best.0.16.chr best.1.4.chr pareto.0.csv pareto.1.csv config.txt; do
    cmp "$T/straight/$f" "$T/d/$f" || fail "$f differs from the uninterrupted run"
done
echo ok
