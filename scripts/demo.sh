#!/usr/bin/env bash
# `make demo`: the main job on the shipped data, end to end, in about a minute on 2 cores.
# Evolves circuits that regenerate the outer rings of LeNet-5's six conv1 kernels from their
# 3x3 cores (experiments/single_channel.exp), then rebuilds the int8 model with each threshold's
# best circuit and measures it on the MNIST validation and test splits against the unchanged
# model and the no-search reference (the same weights re-quantized to 1..7 bits).
# Output: runs/demo/ (train directory, metrics.csv, plots/).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CGPC:=bin/cgpc}"
out=runs/demo
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
echo "== cgpc train experiments/single_channel.exp (6 kernels: 9 core weights -> 16 ring weights each)"
"$CGPC" train experiments/single_channel.exp --generations 500000 --thresholds "16 8 4 2" \
    --out "$out/single_channel"
echo
echo "== cgpc model-metrics (int8 LeNet-5, MNIST val 1,000 + test 2,000 images; stored bits, energy per inference from DRAM, vs 1..7-bit re-quantization)"
"$CGPC" model-metrics "$out/single_channel" --out "$out/metrics.csv" --plot "$out/plots"
echo
echo "demo finished in $(($(date +%s) - start)) s: $out/metrics.csv, plots in $out/plots/"
