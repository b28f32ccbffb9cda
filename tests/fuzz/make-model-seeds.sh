#!/usr/bin/env bash
# make-model-seeds.sh - remake the seed corpora of the lowbit and deep fuzz targets
# (tests/fuzz/corpus/{lowbit,deep}/) from the shipped LeNet-5 MNIST float model: small files
# (1-2 bit codes, heavy pruning) so the fuzzer spends its time in the parsers, covering every
# layer kind (mid-rise, landmark table, grid, multi-point, fp16, float) and every deep layout
# (dense / sparse, codebook / raw float32, Huffman on / off). Run from the repository root
# after `make`; quantize evaluates on data/mnist (a few seconds each).
set -euo pipefail
C=${CGPC:-bin/cgpc}
M=models/lenet5-mnist.safetensors
L=tests/fuzz/corpus/lowbit D=tests/fuzz/corpus/deep
q() { "$C" quantize --model "$M" --threads 1 "$@" >/dev/null; }
c() { "$C" compress --model "$M" --threads 1 "$@" >/dev/null; }
q --out $L/midrise1-pc.safetensors --method midrise --bits 1 --per-channel
q --out $L/round2-hist.safetensors --method round --bits 2 --landmarks histogram \
  --layer-bits conv1=fp16,fc3=float,fc1=1
q --out $L/multipoint1.safetensors --method multipoint --bits 1 --points 3 --layer-bits fc1=1
q --out $L/stochastic1-pc-normal.safetensors --method stochastic --bits 1 --per-channel \
  --landmarks normal
c --out $D/prune95-share2-huffman.safetensors --prune 0.95 --share 2 --huffman
c --out $D/prune97-share1.safetensors --prune 0.97 --share 1
c --out $D/prune98-raw.safetensors --prune 0.98 --prune-layer 'fc*=0.995'
c --out $D/dense-share1-huffman.safetensors --share 1 --share-layer conv1=0 --huffman
