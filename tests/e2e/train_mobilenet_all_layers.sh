#!/usr/bin/env bash
# `cgpc train experiments/mobilenet.exp --all-layers` runs every one of MobileNetV2's 52
# convolutions (short generations), also those with more than 65,536 weights
# (features.17.conv.2: 76,800; features.18.0: 204,800), and model-metrics reads the largest.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -f models/mobilenetv2-fashion-int8.safetensors ] || fail "models/mobilenetv2-fashion-int8.safetensors missing"

expect_exit 0 "$CGPC" train experiments/mobilenet.exp --all-layers --generations 5 \
    --thresholds 8 --out "$T/all"
n=$(find "$T/all" -mindepth 2 -maxdepth 2 -name results.csv | wc -l)
[ "$n" -eq 52 ] || fail "expected 52 layer directories with results.csv, found $n"
[ "$(grep -c '^cgpc train: layer ' "$T/err")" -eq 52 ] || fail "expected 52 layers in the log"
for l in features.17.conv.2 features.18.0; do
    [ -f "$T/all/$l/best.0.8.chr" ] || fail "$l: no best circuit"
done
expect_contains "$T/all/features.17.conv.2/data.txt" "^outputs 76800$"
expect_contains "$T/all/features.18.0/data.txt" "^outputs 204800$"
expect_contains "$T/all/features.18.0/best.0.8.chr" "^outputs 204800$"

expect_exit 0 "$CGPC" model-metrics "$T/all/features.18.0" --limit 20 --out "$T/m.csv"
[ "$(grep -c ',cgp,' "$T/m.csv")" -eq 1 ] || fail "model-metrics: expected one circuit row"
[ "$(grep -c ',requant,' "$T/m.csv")" -eq 7 ] || fail "model-metrics: expected 7 reference rows"
expect_contains "$T/m.csv" ",204800,"
echo ok
