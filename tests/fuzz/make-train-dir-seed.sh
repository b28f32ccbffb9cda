#!/usr/bin/env bash
# make-train-dir-seed.sh - remake the seed of the train_dir fuzz target
# (tests/fuzz/corpus/train_dir/single_channel-run0.dir): a short `cgpc train` of
# experiments/single_channel.exp (2 thresholds, 2 runs, 300 generations each) packed as the
# target reads it: "=== name" lines, each followed by that file of the train directory. Run 0's
# files only (experiment.exp, its results.csv rows, best circuits, Pareto file) and its
# statistics journal as written while a run is live (statistics.0.csv.part, plain text), so
# the seed carries today's file versions. Run from the repository root after `make`.
set -euo pipefail
C=${CGPC:-bin/cgpc}
out=tests/fuzz/corpus/train_dir/single_channel-run0.dir
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
OMP_WAIT_POLICY=passive "$C" train experiments/single_channel.exp --out "$dir/t" \
    --generations 300 --thresholds "16 4" --runs 2 --seed 1 --threads 1 >/dev/null
t=$dir/t
{
    echo "=== experiment.exp"; cat "$t/experiment.exp"
    echo "=== results.csv"; awk -F, 'NR == 1 || $1 == 0' "$t/results.csv"
    for f in "$t"/best.0.*.chr; do echo "=== $(basename "$f")"; cat "$f"; done
    echo "=== pareto.0.csv"; cat "$t/pareto.0.csv"
    echo "=== statistics.0.csv.part"; zcat "$t/statistics.0.csv.gz"
} >"$out.tmp"
mv "$out.tmp" "$out"
