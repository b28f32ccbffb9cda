#!/usr/bin/env bash
# cgpc compress end to end on the shipped LeNet-5 (no fine-tuning, a few seconds): the cgpc-deep
# file it writes is read by eval, quantize, energy and compress itself; the per-layer table and
# totals; determinism; usage errors; fine-tuning on a small subset for 1 vs 2 threads; the
# distillation options of train-model.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/train-images-idx3-ubyte.gz ] || skip "data/mnist missing"
M=models/lenet5-mnist.safetensors

expect_exit 0 "$CGPC" compress --help
for o in --model --out --dataset --prune --prune-layer --global --schedule --share \
    --share-layer --init --kmeans-iter --huffman --finetune-epochs --lr --batch --optim --limit; do
    expect_contains "$T/out" "$o"
done

expect_exit 0 "$CGPC" compress --model "$M" --out "$T/c.safetensors" --prune 0.8 \
    --prune-layer conv1=0.3 --share 4 --huffman --verbose
expect_contains "$T/out" "layer                    weights   kept%"
expect_contains "$T/out" "conv1                        150  70.00%"
expect_contains "$T/out" "fc1                        30720  20.00%"
expect_contains "$T/out" "relative index (Huffman)"
expect_contains "$T/out" "total: "
expect_contains "$T/out" "int8 46158 bytes"
cp "$T/out" "$T/c.out"
grep -q "^format\|cgpc-deep" "$T/c.safetensors" || fail "no cgpc-deep metadata in the file"
after=$(sed -n 's/^test top1: before [0-9.]*, after \([0-9.]*\).*/\1/p' "$T/out")

# every command that takes a model reads the compressed file (a float model once decoded)
expect_exit 0 "$CGPC" eval --model "$T/c.safetensors" --dataset mnist --json
expect_contains "$T/out" '"format": "float"'
expect_contains "$T/out" "\"top1\": $after"
expect_exit 0 "$CGPC" quantize --model "$T/c.safetensors" --calib-limit 100 --out "$T/q.safetensors"
expect_exit 0 "$CGPC" energy --model "$T/c.safetensors"
expect_contains "$T/out" "fc1"
# re-encoding the decoded model stores the same bits and the same logits (decode(encode(m)) == m)
expect_exit 0 "$CGPC" compress --model "$T/c.safetensors" --out "$T/c2.safetensors" --huffman
expect_contains "$T/out" "$(grep '^total: ' "$T/c.out" 2>/dev/null || true)"
for f in c c2; do
    expect_exit 0 "$CGPC" eval --model "$T/$f.safetensors" --limit 50 --logits "$T/$f.csv"
done
cmp -s "$T/c.csv" "$T/c2.csv" || fail "re-encoding the decoded model changed its logits"
# same seed, same file; random init with another seed differs
expect_exit 0 "$CGPC" compress --model "$M" --out "$T/r1.safetensors" --prune 0.5 --share 3 --init random --seed 2
expect_exit 0 "$CGPC" compress --model "$M" --out "$T/r2.safetensors" --prune 0.5 --share 3 --init random --seed 2
cmp -s "$T/r1.safetensors" "$T/r2.safetensors" || fail "same seed, different files"
expect_exit 0 "$CGPC" compress --model "$M" --out "$T/r3.safetensors" --prune 0.5 --share 3 --init random --seed 3
cmp -s "$T/r1.safetensors" "$T/r3.safetensors" && fail "another seed gave the same random init"

# fine-tuning (iterative pruning, centroid fine-tuning) on 200 images: 1 and 2 threads agree
for th in 1 2; do
    expect_exit 0 "$CGPC" compress --model "$M" --out "$T/f$th.safetensors" --prune 0.7 \
        --schedule 0.5,1 --share 3 --finetune-epochs 1 --limit 200 --threads "$th"
    expect_contains "$T/err" "prune 2/2"
    expect_contains "$T/err" "fine-tune epoch 1/1"
done
cmp -s "$T/f1.safetensors" "$T/f2.safetensors" || fail "fine-tuning differs between 1 and 2 threads"

# usage and input errors
expect_exit 2 "$CGPC" compress --model "$M" --out "$T/x.safetensors" --share 9
expect_exit 2 "$CGPC" compress --model "$M" --out "$T/x.safetensors" --prune-layer nosuch=0.5
expect_contains "$T/err" "no weighted layer"
expect_exit 2 "$CGPC" compress --model "$M" --out "$T/x.safetensors" --schedule 0.8,0.5
expect_exit 2 "$CGPC" compress --model "$M" --out "$T/x.safetensors" --init kmeans++
# an int8 model: one-shot pruning of its codes only
# an int8 model with sharing: dequantized (code x scale), then the float pipeline
expect_exit 0 "$CGPC" compress --model models/lenet5-mnist-int8.safetensors --out "$T/q.safetensors" \
    --share 4 --huffman
expect_contains "$T/err" "int8->f32  weights kept"
expect_contains "$T/out" "^fc1  *30720 .*%      4 "
expect_exit 0 "$CGPC" eval --model "$T/q.safetensors" --limit 100 --json
expect_contains "$T/out" '"format": "float"'
expect_exit 0 "$CGPC" compress --model models/lenet5-mnist-int8.safetensors --out "$T/p8.safetensors" \
    --prune 0.5 --prune-layer fc1=0.9
expect_contains "$T/out" "fc1                        30720 weights,      3072 non-zero codes (10.00%)"
expect_exit 0 "$CGPC" eval --model "$T/p8.safetensors" --limit 100 --json
expect_contains "$T/out" '"format": "int8"'


# distillation: a half-width student from the shipped LeNet-5, options validated
expect_exit 0 "$CGPC" train-model --width 0.5 --teacher "$M" --epochs 1 --limit 200 \
    --temperature 3 --alpha 0.7 --out "$T/s.safetensors"
expect_contains "$T/err" "teacher $M: train top1"
expect_exit 0 "$CGPC" eval --model "$T/s.safetensors" --limit 10 --verbose
expect_contains "$T/err" "3x1x5x5"
expect_exit 2 "$CGPC" train-model --teacher "$M" --shift 2 --out "$T/x.safetensors"
expect_exit 2 "$CGPC" train-model --teacher "$M" --qat --out "$T/x.safetensors"
expect_exit 2 "$CGPC" train-model --teacher "$M" --alpha 2 --out "$T/x.safetensors"

# feature hint (FitNets): teacher conv2 [16] -> student conv2 [8] through a regressor; the
# same file for 1 and 2 threads; bad specs refused with the layer named
for th in 1 2; do
    expect_exit 0 "$CGPC" train-model --width 0.5 --teacher "$M" --hint conv2:conv2 \
        --hint-weight 0.5 --alpha 0.5 --epochs 1 --limit 200 --threads $th --out "$T/h$th.safetensors"
done
expect_contains "$T/err" "8x8] -> conv2 .8. through a learned 1x1 regressor"
cmp "$T/h1.safetensors" "$T/h2.safetensors" || fail "hint training differs between 1 and 2 threads"
expect_exit 2 "$CGPC" train-model --width 0.5 --hint conv2:conv2 --out "$T/x.safetensors"
expect_exit 1 "$CGPC" train-model --width 0.5 --teacher "$M" --hint conv2:nosuch --epochs 1 \
    --limit 10 --out "$T/x.safetensors"
expect_contains "$T/err" "the student (lenet5) has no layer 'nosuch'"
expect_exit 1 "$CGPC" train-model --width 0.5 --teacher "$M" --hint conv2:fc1 --epochs 1 \
    --limit 10 --out "$T/x.safetensors"
expect_contains "$T/err" "teacher output 8x8, student 1x1"
