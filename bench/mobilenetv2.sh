#!/usr/bin/env bash
# Benchmark (not a test): MobileNetV2 inference throughput of cgpc (float and int8) on the
# Fashion-MNIST test split (zero-padded to 32x32) vs PyTorch float (torchvision, the same
# state_dict and inputs) on the same thread count (torch.set_num_threads).
# Usage: bash bench/mobilenetv2.sh   (env: CGPC=bin/cgpc THREADS=2 REPEATS=3)
# Each figure is the best of REPEATS runs of the forward passes only (no loading). PyTorch
# runs with batch 100 and 1000 and the faster one counts. Target: cgpc >= 1.5x PyTorch float.
# Figures are noisy on a shared machine: run it on an idle one.
set -euo pipefail
cd "$(dirname "$0")/.."
CGPC=${CGPC:-bin/cgpc}
[ -x "$CGPC" ] || { echo "$CGPC: not built (run make)" >&2; exit 1; }
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
PY=/usr/bin/python3
DIR=/usr/share/datasets/fashion-mnist
MODEL=models/mobilenetv2-fashion

[ -e "$DIR" ] || { echo "fashion-mnist not installed, skipped"; exit 0; }
best_cgpc() { # model -> best images/s
    local best=0 v
    for _ in $(seq "$REPEATS"); do
        v=$("$CGPC" eval --model "$1" --dataset fashion-mnist --threads "$THREADS" --json |
            sed 's/.*"images_per_s": \([0-9.]*\).*/\1/')
        best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
    done
    echo "$best"
}
torch=""
if $PY -c 'import torch, torchvision' 2>/dev/null; then
    torch=$( { $PY bench/torch_mobilenetv2.py "$MODEL.safetensors" "$DIR" "$THREADS" 100 "$REPEATS"
               $PY bench/torch_mobilenetv2.py "$MODEL.safetensors" "$DIR" "$THREADS" 1000 "$REPEATS"; } |
             sed 's/.*"images_per_s": \([0-9.]*\).*/\1/' | sort -g | tail -n 1)
fi
printf '%-12s %-6s %14s %14s %7s\n' model format cgpc_img/s torch_img/s ratio
for fmt in float int8; do
    f=$MODEL.safetensors
    [ "$fmt" = int8 ] && f=$MODEL-int8.safetensors
    c=$(best_cgpc "$f")
    if [ -n "$torch" ]; then
        printf '%-12s %-6s %14.0f %14.0f %6.2fx\n' mobilenetv2 "$fmt" "$c" "$torch" \
            "$(awk -v a="$c" -v b="$torch" 'BEGIN { print a / b }')"
    else
        printf '%-12s %-6s %14.0f %14s %7s\n' mobilenetv2 "$fmt" "$c" "-" "-"
    fi
done
echo "threads: $THREADS; torch column: PyTorch float (python3-torch), best of batch 100/1000"
