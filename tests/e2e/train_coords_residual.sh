#!/usr/bin/env bash
# Coordinates + residual (issue 18, experiments/coords.exp with --mode residual): the lossless
# file of a coordinate circuit decodes to exactly the int8 model (the same logits), e = 2 within
# its bound; 1 and 2 threads write the same files; two PBS batches merged write the same .res
# files as one train.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
export OMP_WAIT_POLICY=passive
EXP=experiments/coords.exp
res=(--mode residual --thresholds "0 2" --generations 300 --runs 2)
files=(results.csv best.0.0.chr best.0.0.res best.0.2.res best.1.0.res best.1.2.res)
expect_exit 0 "$CGPC" train "$EXP" "${res[@]}" --threads 1 --out "$T/r1"
expect_exit 0 "$CGPC" train "$EXP" "${res[@]}" --threads 2 --out "$T/r2"
for f in "${files[@]}"; do
    cmp -s "$T/r1/$f" "$T/r2/$f" || fail "residual mode: $f differs between 1 and 2 threads"
done

# lossless: the rebuilt model is the int8 model; e = 2 rebuilds within its bound
expect_exit 0 "$CGPC" eval --model models/lenet5-mnist-int8.safetensors --limit 300 \
    --logits "$T/int8.csv"
expect_exit 0 "$CGPC" eval --residual "$T/r1/best.0.0.res" --limit 300 --logits "$T/res.csv"
expect_contains "$T/err" "rebuilt 150 weights (bound 0)"
cmp -s "$T/int8.csv" "$T/res.csv" || fail "the lossless coordinate residual file changed the logits"
expect_exit 0 "$CGPC" eval --residual "$T/r1/best.0.2.res" --limit 300
expect_contains "$T/err" "rebuilt 150 weights (bound 2)"

# PBS: two batches run by job.sh, merged: the same residual files as one train
expect_exit 0 "$CGPC" pbs generate "$EXP" "${res[@]}" --out "$T/p" --batches 2
for b in 0 1; do
    (cd "$T/p" && CGPC_BATCH=$b bash job.sh) >/dev/null 2>&1 || fail "batch $b failed"
done
expect_exit 0 "$CGPC" pbs merge "$T/p" --out "$T/merged"
for f in "${files[@]}"; do
    cmp -s "$T/r1/$f" "$T/merged/$f" || fail "merged $f differs from one train"
done
echo ok
