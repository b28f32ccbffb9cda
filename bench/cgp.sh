#!/usr/bin/env bash
# cgp.sh - CGP evolver throughput, side by side with a reference binary, and the evaluator
# microbenchmark. Each case runs R times per binary, the binaries alternating (the machine is
# shared: alternating spreads the load over both), and reports medians of three separate
# counts: generations/s, evaluated offspring/s (offspring not skipped as neutral) and
# active-node x item evaluations/s, per second of wall time and per second of CPU time
# (user + sys: less sensitive to other processes on the cores), plus the load average.
#  (a) 256x31 grid, L=31, 9 inputs -> 16 outputs, 1 item, lambda 4, mutation-max 0.01, 1 thread
#  (b) the same with 16 items
#  (a2, b2) (a), (b) with --threads 2 (threads used only while a generation is long enough)
#  (r1, r2) (a) with --runs 2 on 1 and 2 threads
#  (c) 30x7 grid (L=7), LeNet-5 conv1 3x3 core -> 16-weight outer ring, 6 items, 1 thread
#  (z) time to zero error: single_filter (conv1 kernel 0, 9 -> 16 weights, 1 item), 30x7,
#      levels-back 7, 5 seeds (runs), median over runs of the first statistics row with error 0
#  (e) evaluator: build/<mode>/bench/cgp_eval_bench, node x item operations per CPU second for
#      every instruction-set path (AVX-512, AVX2, portable C), 16..256 items
# Usage: bench/cgp.sh [R] (default 3). CGPC (default bin/cgpc) is the binary under test; OLD, if
# set, the reference run beside it (e.g. main at an earlier commit built into /tmp). GENS1,
# GENS16 generations for the 1-item and 16-item cases (default 100000, 50000), EVAL_BENCH the
# evaluator benchmark to run (default build/release/bench/cgp_eval_bench, built if missing). For a measure
# that does not depend on the load at all, count instructions with valgrind (an AVX2 build:
# valgrind has no AVX-512): valgrind --tool=callgrind bin/cgpc evolve ... and compare totals.
set -euo pipefail
: "${CGPC:=bin/cgpc}"
: "${GENS1:=100000}"
: "${GENS16:=50000}"
export OMP_WAIT_POLICY=passive
here=$(cd "$(dirname "$0")" && pwd)
reps=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bins=("$CGPC")
[ -n "${OLD:-}" ] && bins+=("$OLD")

# one run: prints "gens/s offspring/s node-evals/s cpu-s wall-s generations"
one() {
    local bin=$1; shift
    rm -rf "$out/run"
    /usr/bin/time -f "%U %S %e" -o "$out/time" "$bin" evolve "$@" --out "$out/run" >"$out/line"
    local line g o n
    line=$(head -1 "$out/line")
    # "generations G in S s: R generations/s; offspring evaluated E (X/s), skipped as neutral K;
    #  active-node x item evaluations N/s" (older binaries: no "(X/s)", "node evaluations N/s")
    g=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) generations\/s.*/\1/p')
    o=$(echo "$line" | sed -n 's/.*offspring evaluated [0-9]* (\([0-9.]*\)\/s).*/\1/p')
    if [ -z "$o" ]; then
        local e s
        e=$(echo "$line" | sed -n 's/.*offspring evaluated \([0-9]*\).*/\1/p')
        s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s:.*/\1/p')
        o=$(awk -v e="$e" -v s="$s" 'BEGIN { printf "%.0f", e / s }')
    fi
    n=$(echo "$line" | sed -n 's/.*evaluations \([0-9.e+]*\)\/s.*/\1/p')
    read -r u sy w <"$out/time"
    echo "$g $o $n $(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }') $w $(echo "$line" | cut -d' ' -f2)"
}

# case NAME GENS args...: R alternating runs per binary, medians
case_() {
    local name=$1 gens=$2; shift 2
    for b in "${bins[@]}"; do : >"$out/$(basename "$b").res"; done
    for _ in $(seq "$reps"); do
        for b in "${bins[@]}"; do one "$b" "$@" --generations "$gens" >>"$out/$(basename "$b").res"; done
    done
    for b in "${bins[@]}"; do
        sort -n -k1,1 "$out/$(basename "$b").res" | awk -v name="$name" -v bin="$(basename "$b")" \
            -v load="$(cut -d' ' -f1 /proc/loadavg)" '
            { g[NR] = $1; o[NR] = $2; n[NR] = $3; c[NR] = $4; t[NR] = $6 }
            END { m = int((NR + 1) / 2)
                  printf "%-30s %-10s %9.0f gens/s %9.0f offspring/s %9.3g node-item/s | %9.0f gens/cpu-s | load %s\n",
                         name, bin, g[m], o[m], n[m], t[m] / (c[m] > 0 ? c[m] : 1e-9), load }'
    done
}

grid=(--rows 256 --cols 31 --levels-back 31 --lambda 4 --mutation-max 0.01 --seed 1)
d1=$here/data/random_9x16_1item.txt
d16=$here/data/random_9x16_16items.txt
case_ a_256x31_1item_1thread "$GENS1" --data "$d1" "${grid[@]}" --threads 1
case_ b_256x31_16items_1thread "$GENS16" --data "$d16" "${grid[@]}" --threads 1
case_ a2_256x31_1item_2threads "$GENS1" --data "$d1" "${grid[@]}" --threads 2
case_ b2_256x31_16items_2threads "$GENS16" --data "$d16" "${grid[@]}" --threads 2
case_ r1_256x31_1item_runs2_1thread "$GENS1" --data "$d1" "${grid[@]}" --runs 2 --threads 1
case_ r2_256x31_1item_runs2_2threads "$GENS1" --data "$d1" "${grid[@]}" --runs 2 --threads 2
case_ c_30x7_lenet_conv1_6items "$GENS1" --data "$here/data/lenet5_conv1_ring.txt" \
    --rows 30 --cols 7 --levels-back 7 --lambda 4 --mutation-max 0.01 --threads 1 --seed 1

# (z) time to zero error on single_filter: the data set as `cgpc train` builds it
if "$CGPC" train "$here/../experiments/single_filter.exp" --out "$out/sf" --generations 1 \
        --thresholds 0 --threads 1 >/dev/null 2>&1; then
    for b in "${bins[@]}"; do
        for r in $(seq "$reps"); do
            rm -rf "$out/z"
            "$b" evolve --data "$out/sf/data.txt" --rows 30 --cols 7 --levels-back 7 --lambda 4 \
                --mutation-max 0.01 --mse-thresholds 0 --runs 5 --seed 1 --generations 200000 \
                --threads 1 --out "$out/z" >/dev/null
            for k in 0 1 2 3 4; do
                zcat "$out/z/statistics.$k.csv.gz" | awk -F, 'NR > 1 && $5 == 0 && !f { print $4; f = 1 }'
            done | sort -n | awk -v r="$r" '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
        done | sort -n | awk -v bin="$(basename "$b")" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
            '{ t[NR] = $1 } END { printf "%-30s %-10s median time to zero error %s s (5 seeds; median of %d repeats) | load %s\n", "z_single_filter_30x7", bin, t[int((NR + 1) / 2)], NR, load }'
    done
else
    echo "z_single_filter_30x7: skipped (no model to build the data set from)"
fi

# (e) the evaluator microbenchmark (EVAL_BENCH: its path; default the release build's)
ebench=${EVAL_BENCH:-build/release/bench/cgp_eval_bench}
if [ -x "$ebench" ] || { [ -f Makefile ] && env -u MAKEFLAGS make -s "$ebench" >/dev/null 2>&1; }; then
    "$ebench" 0.5
else
    echo "e_eval: skipped ($ebench could not be built here)"
fi
