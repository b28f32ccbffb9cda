#!/usr/bin/env bash
# MobileNetV2 end to end on a small subset of the real MNIST data (28x28 images zero-padded to
# 32x32): train-model --arch mobilenetv2 is identical for 1 and 2 threads, eval --verbose shows
# the 52 convolutions with depthwise accounting, quantize writes an int8 model that evaluates,
# QAT writes an int8 model, identical for 1 and 2 threads.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/train-images-idx3-ubyte.gz ] || skip "data/mnist missing"

for t in 1 2; do
    expect_exit 0 "$CGPC" train-model --arch mobilenetv2 --width 0.25 --dataset mnist --epochs 1 \
        --limit 96 --batch 32 --seed 3 --threads $t --out "$T/m$t.safetensors"
    expect_contains "$T/err" "epoch 1/1: train loss"
done
cmp -s "$T/m1.safetensors" "$T/m2.safetensors" || fail "training differs between 1 and 2 threads"

expect_exit 0 "$CGPC" eval --model "$T/m1.safetensors" --dataset mnist --limit 20 --verbose
[ "$(grep -c ' conv2d ' "$T/err")" -eq 52 ] || fail "expected 52 conv layers"
expect_contains "$T/err" "features.2.conv.1.0  *conv2d *48x1x3x3 *432 *27648 *48x8x8"
expect_contains "$T/err" "features.3.add  *add"
expect_contains "$T/err" "classifier.1  *linear  *10x1280"
# the op column is aligned whatever the name's length (features.16.conv.0.0 is the longest)
[ "$(grep -E ' (conv2d|add|linear|avgpool2d) ' "$T/err" | awk '{ print index($0, " " $2 " ") }' |
    sort -u | wc -l)" -eq 1 ] || fail "eval --verbose columns are not aligned"

expect_exit 0 "$CGPC" quantize --model "$T/m1.safetensors" --calib-dataset mnist \
    --calib-limit 64 --out "$T/q.safetensors"
expect_contains "$T/out" "int8"
expect_exit 0 "$CGPC" eval --model "$T/q.safetensors" --dataset mnist --limit 50 --json
expect_contains "$T/out" '"format": "int8"'

# QAT (BatchNorm frozen, fake quantization) from the float model: an int8 model, identical for
# 1 and 2 threads
for t in 1 2; do
    expect_exit 0 "$CGPC" train-model --init "$T/m1.safetensors" --dataset mnist --epochs 0 --qat \
        --qat-epochs 1 --limit 64 --batch 32 --calib-limit 64 --threads $t --out "$T/qat$t.safetensors"
    expect_contains "$T/err" "qat epoch 1/1"
done
cmp -s "$T/qat1.safetensors" "$T/qat2.safetensors" || fail "QAT differs between 1 and 2 threads"
expect_exit 0 "$CGPC" eval --model "$T/qat1.safetensors" --dataset mnist --limit 50 --json
expect_contains "$T/out" '"format": "int8"'
expect_exit 2 "$CGPC" train-model --arch mobilenetv2 --width 0 --out "$T/x.safetensors"
echo ok
