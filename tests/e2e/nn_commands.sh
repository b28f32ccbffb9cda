#!/usr/bin/env bash
# train-model, quantize and eval end to end on a small subset of the real MNIST data:
# exit codes, JSON keys, logits rows, QAT, determinism across thread counts, error messages.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/train-images-idx3-ubyte.gz ] || skip "data/mnist missing"

# train a float model on 300 images, 1 epoch, with 1 and 2 threads: identical files
expect_exit 0 "$CGPC" train-model --dataset mnist --epochs 1 --limit 300 --batch 32 --seed 3 \
    --threads 1 --out "$T/m1.safetensors"
expect_contains "$T/err" "epoch 1/1: train loss"
expect_contains "$T/err" "wrote $T/m1.safetensors"
expect_exit 0 "$CGPC" train-model --dataset mnist --epochs 1 --limit 300 \
    --batch 32 --seed 3 --threads 2 --out "$T/m2.safetensors"
cmp -s "$T/m1.safetensors" "$T/m2.safetensors" || fail "training differs between 1 and 2 threads"
expect_exit 0 "$CGPC" train-model --dataset mnist --epochs 1 --limit 300 --batch 32 --seed 4 \
    --out "$T/m3.safetensors"
cmp -s "$T/m1.safetensors" "$T/m3.safetensors" && fail "a different seed gave the same model"

# eval --json: the five keys, the image count honours --limit
expect_exit 0 "$CGPC" eval --model "$T/m1.safetensors" --dataset mnist --limit 100 --json
for k in top1 top5 loss images seconds; do expect_contains "$T/out" "\"$k\": "; done
expect_contains "$T/out" '"images": 100,'
expect_contains "$T/out" '"format": "float"'
expect_exit 0 "$CGPC" eval --model "$T/m1.safetensors" --limit 10 --verbose
expect_contains "$T/err" "conv1    conv2d     6x1x5x5               150      86400  6x24x24"
expect_contains "$T/err" "44426 parameters, 281640 MACs per image"

# --logits: one row of 10 values per image
expect_exit 0 "$CGPC" eval --model "$T/m1.safetensors" --dataset "$CGPC_ROOT/data/mnist" --limit 37 --logits "$T/l.csv"
[ "$(wc -l < "$T/l.csv")" -eq 37 ] || fail "logits rows: $(wc -l < "$T/l.csv") != 37"
awk -F, 'NF != 10 { exit 1 }' "$T/l.csv" || fail "logits rows must have 10 columns"

# post-training quantization, then int8 eval
expect_exit 0 "$CGPC" quantize --model "$T/m1.safetensors" --calib-dataset mnist \
    --calib-limit 100 --out "$T/q.safetensors"
expect_contains "$T/out" "int8"
expect_exit 0 "$CGPC" eval --model "$T/q.safetensors" --limit 100 --json
expect_contains "$T/out" '"format": "int8"'
expect_exit 1 "$CGPC" quantize --model "$T/q.safetensors" --out "$T/qq.safetensors"
expect_contains "$T/err" "already an int8 model"

# QAT from the float model writes an int8 model
expect_exit 0 "$CGPC" train-model --init "$T/m1.safetensors" --epochs 0 --qat --qat-epochs 1 \
    --limit 200 --calib-limit 100 --out "$T/qat.safetensors"
expect_contains "$T/err" "qat epoch 1/1"
expect_exit 0 "$CGPC" eval --model "$T/qat.safetensors" --limit 50 --json
expect_contains "$T/out" '"format": "int8"'

# runtime errors: exit 1, the message names the file
expect_exit 1 "$CGPC" eval --model "$T/m1.safetensors" --dataset "$T/nowhere"
expect_contains "$T/err" "cgpc eval: $T/nowhere: no such dataset directory"
mkdir -p "$T/bad"
head -c 1000 <(gzip -dc data/mnist/t10k-images-idx3-ubyte.gz) > "$T/bad/t10k-images-idx3-ubyte"
cp data/mnist/t10k-labels-idx1-ubyte.gz "$T/bad/"
expect_exit 1 "$CGPC" eval --model "$T/m1.safetensors" --dataset "$T/bad"
expect_contains "$T/err" "$T/bad/t10k-images-idx3-ubyte: truncated"
expect_exit 1 "$CGPC" eval --model "$T/missing.safetensors"
expect_contains "$T/err" "missing.safetensors"
head -c 100 "$T/m1.safetensors" > "$T/cut.safetensors"
expect_exit 1 "$CGPC" eval --model "$T/cut.safetensors"
expect_contains "$T/err" "cut.safetensors: header length"

# usage errors: exit 2
expect_exit 2 "$CGPC" eval --model "$T/m1.safetensors" --no-such-option
expect_exit 2 "$CGPC" eval --model "$T/m1.safetensors" --limit ten
expect_exit 2 "$CGPC" eval --model "$T/m1.safetensors" --split validation
expect_exit 2 "$CGPC" eval
expect_exit 2 "$CGPC" train-model --epochs 1
expect_exit 2 "$CGPC" train-model --out "$T/x" --optim rmsprop
expect_exit 2 "$CGPC" train-model --out "$T/x" --arch resnet
expect_exit 2 "$CGPC" quantize --model "$T/m1.safetensors"
echo ok
