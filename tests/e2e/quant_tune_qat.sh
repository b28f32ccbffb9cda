#!/usr/bin/env bash
# tune on the committed LeNet-5: stops within the drop, the log is versioned with one row per
# trial, --resume reads it back (nothing re-evaluated, same answer), --max-trials stops early
# (exit 1 without a result); low-bit QAT from --init on a subset: a cgpc-lowbit model whose
# eval matches the printed accuracy, identical for 1 and 2 threads.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/train-images-idx3-ubyte.gz ] || skip "data/mnist missing"
M=models/lenet5-mnist.safetensors

expect_exit 0 "$CGPC" tune --model $M --val-limit 300 --max-drop 1 --log "$T/t.csv" \
    --out "$T/best.safetensors"
expect_contains "$T/out" "^best: "
expect_contains "$T/out" "^same model: cgpc quantize --model $M --method "
expect_contains "$T/out" "^wrote $T/best.safetensors: "
head -n 1 "$T/t.csv" | grep -qx "# cgpc-tune v1" || fail "tune log magic"
trials=$(sed -n 's/.*; \([0-9]*\) trials (\([0-9]*\) evaluated.*/\1/p' "$T/out")
[ "$(($(wc -l < "$T/t.csv") - 2))" -eq "$trials" ] || fail "log rows != $trials trials"
drop=$(sed -n 's/.*val top1 [0-9.]* (\([-+0-9.]*\) points).*/\1/p' "$T/out")
awk -v d="$drop" 'BEGIN { exit !(d >= -1.0) }' || fail "accepted drop $drop exceeds 1 point"
# tune's energy is the storage model's (cgpc energy on the written file)
pj=$(sed -n 's/.*float32), \([0-9.]*\) pJ per inference (dram)$/\1/p' "$T/out")
expect_exit 0 "$CGPC" energy --model "$T/best.safetensors" --json
e=$(sed -n 's/.*"total_pJ": \([0-9.e+]*\),.*/\1/p' "$T/out")
awk -v a="$pj" -v b="$e" 'BEGIN { exit !(a != "" && a - b < 0.06 && b - a < 0.06) }' ||
    fail "tune printed $pj pJ, the storage model gives $e"
expect_exit 0 "$CGPC" tune --model $M --val-limit 300 --max-drop 1 --log "$T/t.csv" \
    --out "$T/best.safetensors"
# the chosen model is what quantize makes from the printed options
cmdline=$(sed -n 's/^same model: cgpc \(.*\) --out FILE$/\1/p' "$T/out")
# shellcheck disable=SC2086
expect_exit 0 "$CGPC" $cmdline --out "$T/same.safetensors"
t1=$(sed -n 's/.*test top1 float [0-9.]* low-bit \([0-9.]*\) .*/\1/p' "$T/out")
expect_exit 0 "$CGPC" eval --model "$T/best.safetensors" --json
expect_contains "$T/out" "\"top1\": $t1"

cp "$T/t.csv" "$T/full.csv"
expect_exit 1 "$CGPC" tune --model $M --val-limit 300 --max-drop 1 --log "$T/r.csv" --max-trials 3
expect_contains "$T/err" "no candidate within 1.00 points before the trial/time budget ran out"
expect_exit 0 "$CGPC" tune --model $M --val-limit 300 --max-drop 1 --log "$T/r.csv" --resume
expect_contains "$T/out" "$trials trials ($((trials - 3)) evaluated"
cmp -s "$T/r.csv" "$T/full.csv" || fail "resumed log differs from the uninterrupted one"
printf 'not a log\n' > "$T/bad.csv"
expect_exit 1 "$CGPC" tune --model $M --val-limit 50 --log "$T/bad.csv" --resume
expect_contains "$T/err" "bad.csv:1: expected '# cgpc-tune v1'"
expect_exit 2 "$CGPC" tune --model $M --resume
expect_exit 2 "$CGPC" tune --model $M --objective size
expect_exit 0 "$CGPC" tune --help
for o in --dataset --val-limit --max-drop --objective --memory --max-trials --time-limit \
    --no-refine --log --resume --out; do
    expect_contains "$T/out" -- "$o "
done

# low-bit QAT: 2-bit per-channel weights, 1 epoch on 500 images, 1 and 2 threads identical
for t in 1 2; do
    expect_exit 0 "$CGPC" train-model --init $M --epochs 0 --qat-bits 2 --qat-per-channel \
        --qat-epochs 1 --limit 500 --threads $t --out "$T/q$t.safetensors"
done
cmp -s "$T/q1.safetensors" "$T/q2.safetensors" || fail "low-bit QAT differs between 1 and 2 threads"
expect_contains "$T/err" "wrote $T/q2.safetensors (low-bit, "
t2=$(sed -n 's/.*test top1 \([0-9.]*\))$/\1/p' "$T/err")
expect_exit 0 "$CGPC" eval --model "$T/q2.safetensors" --json
expect_contains "$T/out" "\"top1\": ${t2:0:6}"
expect_exit 2 "$CGPC" train-model --init $M --epochs 0 --qat --qat-bits 2 --out "$T/x.safetensors"
echo "quant_tune_qat: ok"
