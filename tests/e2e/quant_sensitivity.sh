#!/usr/bin/env bash
# sensitivity on the committed LeNet-5: the per-layer table, CSV rows, plots, the allocation
# within a bits-per-weight budget written as a loadable mixed model; budget errors.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/train-images-idx3-ubyte.gz ] || skip "data/mnist missing"
M=models/lenet5-mnist.safetensors

expect_exit 0 "$CGPC" sensitivity --model $M --val-limit 300 --bits-list 2,4,8 --per-channel \
    --method round --csv "$T/s.csv" --budget-bits-per-weight 3.0 --out "$T/mixed.safetensors"
expect_contains "$T/out" "validation: 300 images of mnist's validation split"
expect_contains "$T/out" "^fc1  *30720  *4  *130560 "
expect_contains "$T/out" "^allocation within 132570 stored weight bits: conv1=[248] conv2=[248]"
[ "$(wc -l < "$T/s.csv")" -eq 17 ] || fail "CSV: $(wc -l < "$T/s.csv") lines, want 1 + 1 + 5 x 3"
expect_contains "$T/s.csv" "^layer,weights,bits,stored_bits,val_top1,val_loss,drop_points$"
expect_contains "$T/s.csv" "^conv2,2400,8,20224,"
bpw=$(sed -n 's/.*: \([0-9.]*\) bits\/weight.*/\1/p' "$T/out")
awk -v b="$bpw" 'BEGIN { exit !(b > 0 && b <= 3.0) }' || fail "mixed model at $bpw bits/weight"
# the written model loads and evaluates to the printed test accuracy
t=$(sed -n 's/.*test top1 \([0-9.]*\)$/\1/p' "$T/out")
expect_exit 0 "$CGPC" eval --model "$T/mixed.safetensors" --json
expect_contains "$T/out" "\"top1\": $t"

if command -v gnuplot >/dev/null; then
    expect_exit 0 "$CGPC" sensitivity --model $M --val-limit 100 --bits-list 1,8 --plot "$T/p"
    for f in sensitivity-accuracy.png sensitivity-loss.svg sensitivity.dat; do
        [ -s "$T/p/$f" ] || fail "plot file $f missing"
    done
fi

expect_exit 2 "$CGPC" sensitivity --model $M --val-limit 100 --bits-list 2,4 \
    --budget-bits-per-weight 0.5
expect_contains "$T/err" "below the narrowest allocation"
expect_exit 2 "$CGPC" sensitivity --model $M --bits-list 4,2
expect_exit 2 "$CGPC" sensitivity --model $M --out "$T/x.safetensors"
expect_exit 2 "$CGPC" sensitivity --model $M --method fp16
expect_exit 0 "$CGPC" sensitivity --help
for o in --dataset --val-limit --method --per-channel --landmarks --bits-list --csv --plot \
    --budget-bits-per-weight --budget-energy --memory --out; do
    expect_contains "$T/out" -- "$o "
done
echo "quant_sensitivity: ok"
