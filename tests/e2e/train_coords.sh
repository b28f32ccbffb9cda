#!/usr/bin/env bash
# Coordinate inputs (issue 18 part 2, experiments/coords.exp): `inputs = coords` makes one data
# item per conv1 weight whose inputs are its coordinates (o, i, ky, kx); a short train is
# bit-identical for 1 and 2 threads and equals the same runs done as two PBS batches (job.sh,
# merged); model-metrics charges the circuit alone (all 150 codes replaced, no index bits); the
# C export's weight function regenerates exactly what `cgpc circuit eval` computes; misuse
# (items = kernel, literal outputs) is refused naming the reason (exit 1, as every selector error).
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
export OMP_WAIT_POLICY=passive
EXP=experiments/coords.exp
short=(--generations 400 --thresholds "32 16" --runs 2)

expect_exit 0 "$CGPC" train "$EXP" "${short[@]}" --threads 1 --verbose --out "$T/t1"
expect_contains "$T/err" "150 item(s), 4 inputs -> 1 outputs"
expect_exit 0 "$CGPC" train "$EXP" "${short[@]}" --threads 2 --out "$T/t2"
for f in results.csv data.txt config.txt best.0.32.chr best.1.16.chr; do
    cmp -s "$T/t1/$f" "$T/t2/$f" || fail "$f differs between 1 and 2 threads"
done
# data.txt: item 0 = conv1[0,0,0,0], item 37 = conv1[1,0,2,2]: its coordinates, then its code
expect_contains "$T/t1/data.txt" "^items 150$"
sed -n 43p "$T/t1/data.txt" | grep -Eq '^1 0 2 2 -?[0-9]+$' || fail "item 37 is not conv1[1,0,2,2]"
[ "$(sed -n 6p "$T/t1/data.txt" | cut -d' ' -f1-4)" = "0 0 0 0" ] || fail "item 0 is not conv1[0,0,0,0]"

# PBS: two batches run by job.sh, merged: the same files as one train
expect_exit 0 "$CGPC" pbs generate "$EXP" "${short[@]}" --out "$T/p" --batches 2
for b in 0 1; do
    (cd "$T/p" && CGPC_BATCH=$b bash job.sh) >/dev/null 2>&1 || fail "batch $b failed"
done
expect_exit 0 "$CGPC" pbs merge "$T/p" --out "$T/merged"
for f in results.csv data.txt best.0.32.chr best.1.16.chr; do
    cmp -s "$T/t1/$f" "$T/merged/$f" || fail "merged $f differs from one train"
done

# model-metrics: every conv1 code replaced, only the circuit stored
expect_exit 0 "$CGPC" model-metrics "$T/t1" --limit 200 --no-reference --out "$T/m.csv"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { if ($c["weights_replaced"] != 150 || $c["index_bits"] != 0 || $c["circuit_bits"] <= 0 ||
          $c["stored_bits"] != 369264 - 1200 + $c["circuit_bits"]) bad = 1; n++ }
    END { exit bad || n != 4 }' "$T/m.csv" || fail "model-metrics rows: $(cat "$T/m.csv")"

# export: ports named by coordinates; the C weight function equals circuit eval
chr="$T/t1/best.0.16.chr"
expect_exit 0 "$CGPC" circuit export "$chr" --format verilog
expect_contains "$T/out" "i2, // coordinate ky (kernel row)"
expect_exit 0 "$CGPC" circuit export "$chr" --format dot
expect_exit 0 "$CGPC" circuit eval "$chr" --data "$T/t1/data.txt" --outputs "$T/eval.txt"
if command -v cc >/dev/null; then
    expect_exit 0 "$CGPC" circuit export "$chr" --format c --weights --name coords --out "$T/c.c"
    cat >>"$T/c.c" <<'C'
#include <stdio.h>
int main(void)
{
    int8_t w[150] = {0};
    coords_weights(w);
    for (int k = 0; k < 150; k++)
        printf("%d\n", w[k]);
    return 0;
}
C
    cc -std=c99 -O2 -o "$T/c" "$T/c.c" || fail "the C export does not compile"
    "$T/c" >"$T/c.out"
    tail -n 150 "$T/eval.txt" | cut -d' ' -f5 >"$T/eval.out"
    cmp -s "$T/c.out" "$T/eval.out" || fail "C weights differ from circuit eval"
fi

# misuse
expect_exit 1 "$CGPC" train "$EXP" --items kernel --out "$T/bad"
expect_contains "$T/err" "one item per weight"
expect_exit 1 "$CGPC" train "$EXP" --outputs "values=0..3" --out "$T/bad2"
expect_contains "$T/err" "literal"
echo ok
