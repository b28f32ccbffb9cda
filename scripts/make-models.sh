#!/usr/bin/env bash
# Reproduces the six shipped models in models/ with the exact commands used for them.
# Usage: bash scripts/make-models.sh [CGPC]   (default bin/cgpc; run `make` first)
# Training is deterministic for a seed and any --threads, so these commands give the same
# files bit for bit on the same CPU and compiler (float rounding may differ across -march).
set -euo pipefail
CGPC=${1:-bin/cgpc}
mkdir -p models
T=${THREADS:-2}

# MNIST (8,000 train images): 20 epochs, Adam lr 0.002 with cosine decay, +-2 px shifts.
time "$CGPC" train-model --arch lenet5 --dataset mnist --epochs 20 --lr 0.002 --batch 64 \
    --shift 2 --seed 1 --threads "$T" --out models/lenet5-mnist.safetensors
"$CGPC" quantize --model models/lenet5-mnist.safetensors --calib-dataset mnist \
    --calib-limit 2000 --threads "$T" --out models/lenet5-mnist-int8.safetensors

# Fashion-MNIST (60,000 train images): 15 epochs, Adam lr 0.002 with cosine decay.
time "$CGPC" train-model --arch lenet5 --dataset fashion-mnist --epochs 15 --lr 0.002 \
    --batch 64 --seed 1 --threads "$T" --out models/lenet5-fashion.safetensors
"$CGPC" quantize --model models/lenet5-fashion.safetensors --calib-dataset fashion-mnist \
    --calib-limit 2000 --threads "$T" --out models/lenet5-fashion-int8.safetensors

# MobileNetV2 width 0.5 on Fashion-MNIST (28x28 zero-padded to 32x32): 8 epochs, Adam lr
# 0.002 with cosine decay, batch 64 with BatchNorm in training mode, +-2 px shifts; PTQ int8.
time "$CGPC" train-model --arch mobilenetv2 --width 0.5 --dataset fashion-mnist --epochs 8 \
    --lr 0.002 --batch 64 --shift 2 --seed 1 --threads "$T" \
    --out models/mobilenetv2-fashion.safetensors
"$CGPC" quantize --model models/mobilenetv2-fashion.safetensors --calib-dataset fashion-mnist \
    --calib-limit 2000 --threads "$T" --out models/mobilenetv2-fashion-int8.safetensors

for m in models/lenet5-*.safetensors models/mobilenetv2-*.safetensors; do
    case $m in *fashion*) d=fashion-mnist ;; *) d=mnist ;; esac
    "$CGPC" eval --model "$m" --dataset "$d" --threads "$T"
done
