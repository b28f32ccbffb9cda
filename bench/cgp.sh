#!/usr/bin/env bash
# cgp.sh - CGP evolver throughput: generations/s and node evaluations/s.
#  (a) 256x31 grid, L=31, 9 inputs -> 16 outputs, 1 item, lambda 4, mutation-max 0.01, 2 threads
#      (target >= 60,000 generations/s; the thesis prototype: 2,800)
#  (b) the same with 16 items
#  (c) 30x7 grid (L=7), LeNet-5 conv1 3x3 core -> 16-weight outer ring, 6 items (one per kernel)
# Data: bench/data/*.txt (random ones from bench/make_cgp_data.py, (c) from
# bench/lenet_conv1_ring.py on models/lenet5-mnist-int8.safetensors). Usage: bench/cgp.sh
# [GENERATIONS] (default 300000). Run on an idle machine: other processes on the 2 cores make
# the figures noisy.
set -euo pipefail
: "${CGPC:=bin/cgpc}"
here=$(cd "$(dirname "$0")" && pwd)
gens=${1:-300000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
    local name=$1; shift
    local line
    line=$("$CGPC" evolve "$@" --generations "$gens" --out "$out/$name" | head -1)
    # "generations G in S s: R generations/s; ... node evaluations N/s"
    local rate nodes
    rate=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) generations\/s.*/\1/p')
    nodes=$(echo "$line" | sed -n 's/.*node evaluations \([0-9.e+]*\)\/s.*/\1/p')
    printf '%-48s %12s gens/s %12s node-evals/s\n' "$name" "$rate" "$nodes"
}

grid=(--rows 256 --cols 31 --levels-back 31 --lambda 4 --mutation-max 0.01 --seed 1)
run "a_256x31_9to16_1item_2threads" --data "$here/data/random_9x16_1item.txt" "${grid[@]}" \
    --threads 2
run "b_256x31_9to16_16items_2threads" --data "$here/data/random_9x16_16items.txt" "${grid[@]}" \
    --threads 2
run "c_30x7_lenet_conv1_core_to_ring_6items" --data "$here/data/lenet5_conv1_ring.txt" \
    --rows 30 --cols 7 --levels-back 7 --lambda 4 --mutation-max 0.01 --threads 2 --seed 1
run "a_256x31_9to16_1item_1thread" --data "$here/data/random_9x16_1item.txt" \
    "${grid[@]}" --threads 1
# threads forced on every generation (by default they are used only while a generation takes
# >= 30 us on one thread): what two barriers per generation cost at these sizes
run "a_256x31_9to16_1item_2threads_forced" --data "$here/data/random_9x16_1item.txt" \
    "${grid[@]}" --threads 2 --parallel-min-us 0
run "b_256x31_9to16_16items_2threads_forced" --data "$here/data/random_9x16_16items.txt" \
    "${grid[@]}" --threads 2 --parallel-min-us 0
