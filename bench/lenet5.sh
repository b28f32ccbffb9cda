#!/usr/bin/env bash
# Benchmark (not a test): LeNet-5 inference throughput of cgpc (float and int8) on the full
# test split vs PyTorch float on the same data and thread count (torch.set_num_threads).
# Usage: bash bench/lenet5.sh   (env: CGPC=bin/cgpc THREADS=2 REPEATS=10)
# Each figure is the best of REPEATS runs of the forward passes only (no loading). PyTorch
# runs with batch 100 and 1000 and the faster one counts. Target: cgpc >= 3x PyTorch on 2
# threads. Figures are noisy on a shared machine: run it on an idle one.
set -euo pipefail
cd "$(dirname "$0")/.."
CGPC=${CGPC:-bin/cgpc}
[ -x "$CGPC" ] || { echo "$CGPC: not built (run make)" >&2; exit 1; }
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-10}
PY=/usr/bin/python3

best_cgpc() { # model dataset -> best images/s
    local best=0 v
    for _ in $(seq "$REPEATS"); do
        v=$("$CGPC" eval --model "$1" --dataset "$2" --threads "$THREADS" --json |
            sed 's/.*"images_per_s": \([0-9.]*\).*/\1/')
        best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
    done
    echo "$best"
}

printf '%-14s %-6s %8s %14s %14s %7s\n' dataset format images cgpc_img/s torch_img/s ratio
for spec in mnist:lenet5-mnist:data/mnist fashion-mnist:lenet5-fashion:/usr/share/datasets/fashion-mnist; do
    IFS=: read -r ds model dir <<< "$spec"
    [ -e "$dir" ] || { echo "$ds: not installed, skipped"; continue; }
    torch=""
    if $PY -c 'import torch' 2>/dev/null; then
        torch=$( { $PY bench/torch_lenet5.py "models/$model.safetensors" "$dir" "$THREADS" 100 "$REPEATS"
                   $PY bench/torch_lenet5.py "models/$model.safetensors" "$dir" "$THREADS" 1000 "$REPEATS"; } |
                 sed 's/.*"images_per_s": \([0-9.]*\).*/\1/' | sort -g | tail -n 1)
    fi
    images=$("$CGPC" eval --model "models/$model.safetensors" --dataset "$ds" --json |
             sed 's/.*"images": \([0-9]*\).*/\1/')
    for fmt in float int8; do
        f=models/$model.safetensors
        [ "$fmt" = int8 ] && f=models/$model-int8.safetensors
        c=$(best_cgpc "$f" "$ds")
        if [ -n "$torch" ]; then
            printf '%-14s %-6s %8s %14.0f %14.0f %6.2fx\n' "$ds" "$fmt" "$images" "$c" "$torch" \
                "$(awk -v a="$c" -v b="$torch" 'BEGIN { print a / b }')"
        else
            printf '%-14s %-6s %8s %14.0f %14s %7s\n' "$ds" "$fmt" "$images" "$c" "-" "-"
        fi
    done
done
echo "threads: $THREADS; torch column: PyTorch float (python3-torch), best of batch 100/1000"
