#!/usr/bin/env bash
# The shipped models meet their targets on the test split: MNIST float >= 0.975,
# Fashion-MNIST float >= 0.89, each int8 within 0.5 points of its float model.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"

top1() { "$CGPC" eval --model "$1" --dataset "$2" --json | sed 's/.*"top1": \([0-9.]*\).*/\1/'; }

check() { # model-prefix dataset float-target
    local f q
    f=$(top1 "models/$1.safetensors" "$2")
    q=$(top1 "models/$1-int8.safetensors" "$2")
    echo "$1: float $f int8 $q"
    awk -v f="$f" -v q="$q" -v t="$3" 'BEGIN { exit !(f >= t && q >= f - 0.005) }' ||
        fail "$1: float $f (target $3), int8 $q (must be within 0.005)"
}

check lenet5-mnist mnist 0.975
if [ -e /usr/share/datasets/fashion-mnist ] || [ -n "${CGPC_DATA_DIR:-}" ]; then
    check lenet5-fashion fashion-mnist 0.89
else
    echo "fashion-mnist not installed: only the MNIST models were checked"
fi
echo ok
