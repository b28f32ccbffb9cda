#!/usr/bin/env bash
# SLOW=1 only (about 40 s on 2 threads): retrain the shipped MNIST model with the exact
# command of scripts/make-models.sh and check it is bit-identical to models/ (same CPU
# family and compiler flags), and that its int8 twin's tensors are too.
source "$(dirname "$0")/lib.sh"
[ "${SLOW:-0}" = 1 ] || skip "slow test: run with SLOW=1"
cd "$CGPC_ROOT"
cmd=$(grep -A1 'train-model --arch lenet5 --dataset mnist' scripts/make-models.sh | tr -d '\\\n' |
      sed 's/^time *//; s/"\$CGPC"/'"${CGPC//\//\\/}"'/; s/"\$T"/2/; s|models/lenet5-mnist.safetensors|'"$T"'/m.safetensors|')
echo "running: $cmd"
eval "$cmd" 2>"$T/train.log" || { tail "$T/train.log"; fail "training failed"; }
cmp -s "$T/m.safetensors" models/lenet5-mnist.safetensors ||
    fail "retrained MNIST model differs from models/lenet5-mnist.safetensors"
expect_exit 0 "$CGPC" quantize --model "$T/m.safetensors" --calib-dataset mnist \
    --calib-limit 2000 --out "$T/q.safetensors"
# the metadata names the source path; compare the tensor bytes (everything after the header)
hdr() { od -An -t u8 -N 8 "$1" | tr -d ' '; }
cmp -s <(tail -c +$(( $(hdr "$T/q.safetensors") + 9 )) "$T/q.safetensors") \
       <(tail -c +$(( $(hdr models/lenet5-mnist-int8.safetensors) + 9 )) models/lenet5-mnist-int8.safetensors) ||
    fail "re-quantized int8 tensors differ from models/lenet5-mnist-int8.safetensors"
echo ok
