#!/usr/bin/env bash
# Residual mode (issue 18): cgpc train with mode = residual writes one best.<run>.<e>.res file per
# bound and prints its stored bits beside plain entropy coding; cgpc eval --residual rebuilds the
# weights from the file (the selected weights are zeroed first): lossless (e = 0) gives exactly
# the int8 model's accuracy and logits, e = 2 stays within the bound; model-metrics gives residual
# rows whose stored bits are the file's, and entropy reference rows; a damaged file is refused.
source "$(dirname "$0")/lib.sh"

EXP=$CGPC_ROOT/experiments/residual_conv2.exp
MODEL=$CGPC_ROOT/models/lenet5-mnist-int8.safetensors
small=(--generations 300 --thresholds "0 2" --runs 1 --threads 1 --seed 5)
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/d"
for f in best.0.0.res best.0.2.res; do [ -f "$T/d/$f" ] || fail "no $f"; done
expect_contains "$T/err" "best.0.0.res: run 0 bound 0: [0-9]* stored bits (circuit [0-9]*, [0-9]* nodes + residual"
expect_contains "$T/err" "entropy-coded without a predictor: ratio [0-9.]*"
[ "$(head -c 8 "$T/d/best.0.0.res" | tr '\0' '@')" = "CGPCRES@" ] || fail "bad magic"

# lossless: the rebuilt model is the int8 model (same logits, bit for bit)
expect_exit 0 "$CGPC" eval --model "$MODEL" --limit 300 --logits "$T/int8.csv"
expect_exit 0 "$CGPC" eval --residual "$T/d/best.0.0.res" --model "$MODEL" --limit 300 --logits "$T/res.csv"
expect_contains "$T/err" "rebuilt 1536 weights (bound 0) from a [0-9]*-node circuit and the coded residual: [0-9]* stored bits"
expect_contains "$T/err" "checksum ok"
cmp "$T/int8.csv" "$T/res.csv" || fail "lossless residual decode changed the logits"
expect_exit 0 "$CGPC" eval --residual "$T/d/best.0.2.res" --limit 300
expect_contains "$T/err" "(bound 2)"

# model-metrics: residual rows carry the file's stored bits; entropy rows are the baseline
expect_exit 0 "$CGPC" model-metrics "$T/d" --limit 300 --out "$T/m.csv"
grep -q '^residual_conv2,.*,residual,0,0,0,bound,' "$T/m.csv" || fail "no residual row for e = 0"
grep -q '^residual_conv2,.*,entropy,0,,0,bound,' "$T/m.csv" || fail "no entropy row for e = 0"
grep -q '^residual_conv2,.*,entropy,0,,2,bound,' "$T/m.csv" || fail "no entropy row for e = 2"

# a damaged file is refused (checksum or format), naming the file
cp "$T/d/best.0.0.res" "$T/bad.res"
printf '\x55' | dd of="$T/bad.res" bs=1 seek=$(($(stat -c %s "$T/bad.res") - 3)) conv=notrunc 2>/dev/null
expect_exit 1 "$CGPC" eval --residual "$T/bad.res" --model "$MODEL" --limit 10
expect_contains "$T/err" "bad.res"
# residual mode needs integer bounds
expect_exit 2 "$CGPC" train "$EXP" --thresholds "0.5" --out "$T/e"
expect_contains "$T/err" "thresholds: 0.5: with mode = residual a threshold is the residual bound e, an integer 0..127"
