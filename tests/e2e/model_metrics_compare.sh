#!/usr/bin/env bash
# model-metrics --compare: low-bit, Deep-Compression, float32 and int8 model files are rows
# beside the circuits of a train directory, with the same CSV columns; stored bits equal what
# quantize and compress printed; every file is its own plot series, titled by its name, method
# and bits, in the data and in the script; files alone work; eval names a low-bit file's
# method and bits.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/t10k-images-idx3-ubyte.gz ] || [ -e data/mnist/t10k-images-idx3-ubyte ] ||
    skip "data/mnist missing"
M=models/lenet5-mnist.safetensors

expect_exit 0 "$CGPC" quantize --model $M --out "$T/mid4.safetensors" --method midrise --bits 4 \
    --per-channel
expect_contains "$T/out" "^storage: stored_bits 191864 "
expect_exit 0 "$CGPC" quantize --model $M --out "$T/rh3.safetensors" --method round \
    --landmarks histogram --bits 3
rh3=$(sed -n 's/^storage: stored_bits \([0-9]*\) .*/\1/p' "$T/out")
expect_exit 0 "$CGPC" quantize --model $M --out "$T/mixed.safetensors" --method midrise --bits 2 \
    --layer-bits conv1=8,fc3=4
expect_exit 0 "$CGPC" compress --model $M --out "$T/deep.safetensors" --prune 0.5 --share 4 \
    --huffman
deep=$(sed -n 's/^total: \([0-9]*\) bits stored.*/\1/p' "$T/out")
[ -n "$rh3" ] && [ -n "$deep" ] || fail "quantize / compress printed no stored bits"
expect_exit 0 "$CGPC" train experiments/single_filter.exp --generations 200 --thresholds 4 \
    --runs 1 --out "$T/cgp"

expect_exit 0 "$CGPC" model-metrics "$T/cgp" "$T/mid4.safetensors" --compare "$T/rh3.safetensors" \
    --compare "$T/mixed.safetensors" "$T/deep.safetensors" --compare $M \
    --compare models/lenet5-mnist-int8.safetensors --limit 200 --out "$T/m.csv" --plot "$T/p"
head -n 1 "$T/m.csv" | grep -q "^experiment,dir,layers,method,bits,run,threshold" ||
    fail "CSV header changed"
cols=$(head -n 1 "$T/m.csv" | awk -F, '{ print NF }')
awk -F, -v n="$cols" 'NF != n { exit 1 }' "$T/m.csv" || fail "a row has another column count"
[ "$(grep -c ',cgp,' "$T/m.csv")" -eq 1 ] || fail "expected 1 circuit row"
[ "$(grep -c ',requant,' "$T/m.csv")" -eq 7 ] || fail "expected 7 reference rows"
row() { grep "^$1,"  "$T/m.csv" || fail "no row for $1"; }
# experiment,dir,layers,method,bits ... stored_bits ($21) ... test_top1 ($42)
[ "$(row mid4 | cut -d, -f3-5,21)" = "all,midrise-per-channel,4,191864" ] || fail "mid4: $(row mid4)"
[ "$(row rh3 | cut -d, -f4,5,21)" = "round-histogram,3,$rh3" ] || fail "rh3: $(row rh3)"
[ "$(row mixed | cut -d, -f4,5)" = "mixed-midrise,0" ] || fail "mixed: $(row mixed)"
[ "$(row deep | cut -d, -f4,21)" = "deep,$deep" ] || fail "deep: $(row deep)"
[ "$(row lenet5-mnist | cut -d, -f4,5,21,25)" = "float32,32,1421632,1" ] ||
    fail "float: 44,426 float32 parameters and compression 1 expected: $(row lenet5-mnist)"
[ "$(row lenet5-mnist-int8 | cut -d, -f4,5,26,37)" = "int8,8,1,0" ] ||
    fail "int8: compression vs int8 1 and saving 0 expected: $(row lenet5-mnist-int8)"
# the int8 file's energy is the baseline every row's saving is measured against
base=$(row lenet5-mnist-int8 | cut -d, -f33)
awk -F, -v b="$base" 'NR > 1 && $34 != b { exit 1 }' "$T/m.csv" || fail "baseline_pj differs"
awk -F, 'NR > 1 && ($42 < 0.5 || $42 > 1) && $4 != "deep" && $4 != "requant" { exit 1 }' \
    "$T/m.csv" || fail "test top-1 out of range"

# every file is a series of its own in series.dat and in the saving and bits plots
for f in mid4 rh3 mixed deep lenet5-mnist lenet5-mnist-int8; do
    line=$(grep "^# series [0-9]*: $f: " "$T/p/series.dat") || fail "no series for $f"
    i=${line#\# series }; i=${i%%:*}
    title=${line#\# series *: }
    [ "$(grep -cF "index $i using" "$T/p/plots.gp")" -ge 4 ] || fail "series $f is not plotted"
    [ "$(grep -cF "title '$title'" "$T/p/plots.gp")" -ge 4 ] || fail "series $f lacks its title"
done
expect_contains "$T/p/series.dat" "^# series [0-9]*: mid4: midrise-per-channel, 4 bits (model file)$"
expect_contains "$T/p/series.dat" "^# series [0-9]*: mixed: mixed-midrise, mixed bits (model file)$"
[ "$(grep -o "title 'baseline [^ ]*" "$T/p/plots.gp" | sort -u | wc -l)" -eq 1 ] ||
    fail "expected one baseline (the circuits' model)"
for p in saving bits accuracy pareto; do [ -s "$T/p/$p.png" ] || fail "no $p.png"; done

# files alone (same rows), a summary with one group per file; a file without the data set named
expect_exit 0 "$CGPC" model-metrics "$T/mid4.safetensors" "$T/deep.safetensors" --limit 200 \
    --out "$T/f.csv" --plot "$T/fp"
[ "$(wc -l <"$T/f.csv")" -eq 3 ] || fail "files alone: expected 2 rows"
[ "$(grep '^mid4,' "$T/f.csv" | cut -d, -f21-)" = "$(row mid4 | cut -d, -f21-)" ] ||
    fail "files alone: the mid4 row differs"
[ "$(wc -l <"$T/f.summary.csv")" -eq 3 ] || fail "files alone: expected 2 summary groups"
[ -s "$T/fp/accuracy.png" ] || fail "files alone: no accuracy plot (nothing on it, but a frame)"
expect_exit 2 "$CGPC" model-metrics
expect_exit 1 "$CGPC" model-metrics --compare "$T/nonexistent.safetensors"

# eval names what is stored
expect_exit 0 "$CGPC" eval --model "$T/mid4.safetensors" --limit 50
expect_contains "$T/out" "(cgpc-lowbit midrise-per-channel, 4 bits; weights decoded to float)"
expect_exit 0 "$CGPC" eval --model "$T/deep.safetensors" --limit 50 --json
expect_contains "$T/out" '"format": "float", "file_format": "cgpc-deep", "method": "deep", "bits": 4}'
