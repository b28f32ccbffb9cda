#!/usr/bin/env bash
# cgpc train + cgpc model-metrics end to end on a tiny experiment with the shipped LeNet-5:
# files, CSV rows, batches equal to one run, stop/resume equal to uninterrupted, errors.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
EXP=experiments/single_filter.exp
small=(--generations 400 --thresholds "4 1" --runs 3)

expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/all"
for f in experiment.exp model.txt config.txt data.txt results.csv checkpoint \
         best.0.4.chr best.2.1.chr statistics.2.csv.gz pareto.1.csv; do
    [ -f "$T/all/$f" ] || fail "train did not write $f"
done
[ "$(wc -l <"$T/all/results.csv")" -eq 7 ] || fail "results.csv: expected 6 stage rows"
# progress without a terminal: one plain line per run and threshold, in per-weight units
[ "$(grep -c '(threshold done)$' "$T/err")" -eq 6 ] || fail "expected 6 progress lines"
expect_contains "$T/err" "^run 3/3 threshold 2/2 (1 per weight) gen 800/800 best error [0-9.e+-]* per weight energy .* ETA "
grep -q $'\r' "$T/err" && fail "carriage returns in a non-terminal log"

# model-metrics: one CSV row per run and threshold (top 1) plus the 7 re-quantization reference
# rows, two more with --top 2 where the stage had earlier improvements; accuracy columns in
# [0,1]; baselines identical on every row; a summary CSV beside it with one row per threshold
# (3 runs, a 95 % interval) and per reference width.
expect_exit 0 "$CGPC" model-metrics "$T/all" --limit 300 --out "$T/m.csv" --plot "$T/plots"
# the terminal table: thresholds per weight, '-' (not nan) on the reference rows
expect_contains "$T/out" "^single_filter *cgp *0 *4 *1 "
expect_contains "$T/out" "^single_filter *requant3 *- *- *1 "
grep -qi "nan" "$T/out" && fail "model-metrics table prints nan"
# results.csv and file names per weight (mse 16 = 4 per weight), the metric beside it
expect_contains "$T/all/results.csv" "^0,4,16,[a-z]*,400,"
# a directory of an older cgpc (thresholds in the metric, best.<run>.<metric>.chr) is refused
cp -r "$T/all" "$T/old"
printf 'run,threshold,reached,generations,error,energy_pj,delay_ns,area_um2,gates,depth,active,best_file\n0,16,no,400,1,1,1,1,1,1,1,best.0.16.chr\n' >"$T/old/results.csv"
expect_exit 1 "$CGPC" model-metrics "$T/old" --limit 10
expect_contains "$T/err" "results.csv: written by an older cgpc (thresholds in the error metric's unit"
[ "$(wc -l <"$T/m.csv")" -eq 14 ] || fail "metrics CSV: expected 6 circuit + 7 reference rows"
[ "$(grep -c ',cgp,' "$T/m.csv")" -eq 6 ] || fail "metrics CSV: expected 6 circuit rows"
[ "$(grep -c ',requant,' "$T/m.csv")" -eq 7 ] || fail "metrics CSV: expected 7 reference rows"
expect_contains "$T/m.csv" "^experiment,dir,layers,method,bits,run,threshold,metric,threshold_metric,reached,rank"
awk -F, 'NR > 1 { if ($42 < 0 || $42 > 1 || $39 < 0 || $39 > 1 || $46 != b && NR > 2) bad = 1; b = $46 } END { exit bad }' "$T/m.csv" \
    || fail "top1 out of range or baseline differs between rows"
awk -F, 'NR > 1 && ($21 <= 0 || $26 <= 0) { exit 1 }' "$T/m.csv" || fail "stored_bits / compression missing"
[ -f "$T/m.summary.csv" ] || fail "no summary CSV"
[ "$(wc -l <"$T/m.summary.csv")" -eq 10 ] || fail "summary: expected 2 thresholds + 7 widths"
awk -F, '$3 == "cgp" && ($6 != 3 || $10 == "nan") { exit 1 }' "$T/m.summary.csv" \
    || fail "summary: threshold rows lack 3 runs or the 95 % interval"
for p in saving.png bits.png pareto.png accuracy.png saving.svg bits.svg pareto.svg accuracy.svg; do
    [ -s "$T/plots/$p" ] || fail "no plot $p"
done
expect_exit 0 "$CGPC" model-metrics "$T/all" --limit 300 --top 3 --no-reference --out "$T/m3.csv"
[ "$(awk -F, '$11 > 1' "$T/m3.csv" | wc -l)" -ge 1 ] || fail "--top 3 gave no earlier circuits"
# the choice by validation: per threshold among every run and rank (candidates > runs with
# --top 3), the chosen circuit's validation top-1 is the highest of its threshold's rows
expect_contains "$T/out" "^chosen by validation top-1"
awk -F, 'NR > 1 && $3 == "cgp" && !($22 > $6 && $23 != "" && $24 >= 1) { exit 1 }' "$T/m3.summary.csv" \
    || fail "summary: no choice among every run and rank"
for t in 4 1; do
    best=$(awk -F, -v t=$t 'NR > 1 && $7 == t && $39 > m { m = $39 } END { print m }' "$T/m3.csv")
    got=$(awk -F, -v t=$t 'NR > 1 && $3 == "cgp" && $5 == t { print $25 }' "$T/m3.summary.csv")
    awk -v a="$best" -v b="$got" 'BEGIN { exit !(a == b) }' || fail "threshold $t: chosen val $got, best val $best"
done
# the experiment's top key is model-metrics' default --top
expect_exit 0 "$CGPC" train "$EXP" --generations 400 --thresholds 4 --runs 1 --top 3 --out "$T/top"
expect_exit 0 "$CGPC" model-metrics "$T/top" --limit 50 --no-reference --out "$T/top.csv"
[ "$(awk -F, 'NR > 1 && $11 > 1' "$T/top.csv" | wc -l)" -ge 1 ] || fail "top = 3 gave no earlier circuits"
[ "$(grep -c ',requant,' "$T/m3.csv")" -eq 0 ] || fail "--no-reference wrote reference rows"
# hardwired: the circuit is logic, not read: a circuit row saves more than when stored
expect_exit 0 "$CGPC" model-metrics "$T/all" --limit 50 --deployment hardwired --out "$T/hw.csv"
awk -F, 'NR > 1 && ($27 != "hardwired" || $28 != 1) { exit 1 }' "$T/hw.csv" || fail "deployment not recorded"
paste -d, <(cut -d, -f4,36 "$T/m.csv") <(cut -d, -f36 "$T/hw.csv") \
    | awk -F, 'NR > 1 && $1 == "cgp" && !($3 > $2) { exit 1 }' || fail "hardwired saves no more than stored"
expect_exit 2 "$CGPC" model-metrics "$T/all" --deployment wired
expect_exit 2 "$CGPC" model-metrics "$T/all" --batch 0

# Batches (as PBS runs them) give exactly the runs of one big run.
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/b0" --run-first 0 --run-count 2
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/b1" --run-first 2 --run-count 1
for f in best.0.4.chr best.1.1.chr; do cmp -s "$T/all/$f" "$T/b0/$f" || fail "batch 0: $f differs"; done
cmp -s "$T/all/best.2.1.chr" "$T/b1/best.2.1.chr" || fail "batch 1: best.2.1.chr differs"
expect_exit 2 "$CGPC" train "$EXP" "${small[@]}" --out "$T/b2" --run-first 3

# Stopped early (as at a walltime), then resumed: the same circuits as uninterrupted.
expect_exit 3 "$CGPC" train "$EXP" --generations 30000000 --thresholds 0 --out "$T/stop" \
    --stop-after 1 --checkpoint-every 0.2
[ -f "$T/stop/checkpoint" ] || fail "no checkpoint after --stop-after"
expect_contains "$T/err" "continue with --resume"
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/r" --resume
expect_exit 3 "$CGPC" train "$EXP" --generations 2000000 --thresholds "4 1" --runs 1 \
    --out "$T/r2" --stop-after 0.3
expect_exit 2 "$CGPC" train "$EXP" --out "$T/r2" --resume   # not the experiment it started with
expect_contains "$T/err" "thresholds: the run was started with '4 1'"
expect_exit 0 "$CGPC" train "$EXP" --generations 2000000 --thresholds "4 1" --runs 1 \
    --out "$T/r2" --resume
expect_exit 0 "$CGPC" train "$EXP" --generations 2000000 --thresholds "4 1" --runs 1 --out "$T/u2"
for f in best.0.4.chr best.0.1.chr; do cmp -s "$T/u2/$f" "$T/r2/$f" || fail "resumed $f differs"; done
expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/all"   # DIR holds a run
expect_contains "$T/err" "already holds a run"

# --all-layers: {layer} in the selectors, one sub-directory per convolution; model-metrics on
# the parent measures every layer.
printf 'cgpc-experiment 1\nmodel = %s\ninputs = {layer}.weight:core\noutputs = {layer}.weight:ring\nitems = kernel\nrows = 8\ncols = 8\ngenerations = 300\nthresholds = 8\n' \
    "$CGPC_ROOT/models/lenet5-mnist-int8.safetensors" >"$T/layers.exp"
expect_exit 0 "$CGPC" train "$T/layers.exp" --all-layers --out "$T/layers"
[ -f "$T/layers/conv1/results.csv" ] && [ -f "$T/layers/conv2/results.csv" ] || fail "--all-layers: missing layer dirs"
[ ! -e "$T/layers/fc1" ] || fail "--all-layers ran a linear layer"
expect_exit 0 "$CGPC" model-metrics "$T/layers" --limit 100 --out "$T/layers.csv"
grep -q "^layers:conv1," "$T/layers.csv" && grep -q "^layers:conv2," "$T/layers.csv" || fail "metrics lack layer rows"
expect_exit 1 "$CGPC" train "$T/layers.exp" --out "$T/nolayer"
expect_contains "$T/err" "uses {layer} but no layer is set"

# Value slots with literal outputs (worst_case) and with MobileNetV2 weights on padded 32x32
# Fashion-MNIST (mobilenet): the --top 2 rows come from the statistics through slots.txt.
expect_exit 0 "$CGPC" train experiments/worst_case.exp --generations 300 --thresholds 2 --out "$T/wc"
expect_exit 0 "$CGPC" model-metrics "$T/wc" --limit 100 --top 2 --out "$T/wc.csv"
awk -F, 'NR > 1 && $20 != 0 { exit 1 }' "$T/wc.csv" || fail "worst_case replaced weights"
if [ -e /usr/share/datasets/fashion-mnist ]; then
    expect_exit 0 "$CGPC" train experiments/mobilenet.exp --generations 300 --thresholds "4 2" --out "$T/mn"
    expect_exit 0 "$CGPC" model-metrics "$T/mn" --limit 200 --top 2 --out "$T/mn.csv"
    [ "$(awk -F, 'NR > 1 && $4 == "cgp" && $20 == 144' "$T/mn.csv" | wc -l)" -ge 2 ] || fail "mobilenet rows lack 144 replaced weights"
    # value slots: every replaced weight stores a slot index (index_bits > 0 unless one slot)
    awk -F, 'NR > 1 && $4 == "cgp" && $23 <= 0 { exit 1 }' "$T/mn.csv" || fail "mobilenet rows lack slot-index bits"
fi

# Plots of several experiments (and models): every series in series.dat is plotted by its index
# with its title in the saving and bits plots (PNG and SVG: 4 times at least), more than five
# series, and one baseline per model.
dirs=("$T/all" "$T/layers" "$T/wc")
models=1 experiments=4  # single_filter, layers:conv1, layers:conv2, worst_case
if [ -d "$T/mn" ]; then dirs+=("$T/mn"); models=2 experiments=5; fi
expect_exit 0 "$CGPC" model-metrics "${dirs[@]}" --limit 100 --plot "$T/multi"
n=$(grep -c '^# series ' "$T/multi/series.dat")
[ "$n" -gt 5 ] || fail "multi-experiment plot: only $n series"
[ "$(grep -c '^# series .*requant' "$T/multi/series.dat")" -eq "$experiments" ] || fail "a reference series is missing"
while IFS= read -r line; do
    i=${line#\# series }; i=${i%%:*}
    title=${line#\# series *: }
    [ "$(grep -cF "index $i using" "$T/multi/plots.gp")" -ge 4 ] || fail "series $i is not plotted"
    [ "$(grep -cF "title '$title'" "$T/multi/plots.gp")" -ge 4 ] || fail "series '$title' lacks its title"
done < <(grep '^# series ' "$T/multi/series.dat")
[ "$(grep -o "title 'baseline [^ ]*" "$T/multi/plots.gp" | sort -u | wc -l)" -eq "$models" ] \
    || fail "expected one baseline per model ($models)"
for p in saving bits accuracy pareto; do [ -s "$T/multi/$p.png" ] || fail "no $p.png"; done
# the Pareto plot draws every run's block of every directory (3 + 1 + 1 + 1 [+ 1] runs)
blocks=$(grep -c '^"' "$T/multi/pareto.dat")
[ "$blocks" -ge 6 ] || fail "pareto.dat: $blocks blocks, expected every run"
grep -qF "plot for [i=0:$((blocks - 1))] " "$T/multi/plots.gp" || fail "the Pareto plot leaves out runs"

# Errors: bad experiment file (file:line), unknown override, missing model.
printf 'cgpc-experiment 1\nrows = 3\ncolour = red\n' >"$T/bad.exp"
expect_exit 1 "$CGPC" train "$T/bad.exp" --out "$T/x"
expect_contains "$T/err" "bad.exp:3: unknown key 'colour'"
expect_exit 2 "$CGPC" train "$EXP" --out "$T/x" --colour red
expect_exit 2 "$CGPC" train "$EXP" --out "$T/x" --rows 0
expect_exit 2 "$CGPC" train "$EXP"
printf 'cgpc-experiment 1\nmodel = nowhere.safetensors\noutputs = conv1.weight\n' >"$T/nomodel.exp"
expect_exit 1 "$CGPC" train "$T/nomodel.exp" --out "$T/x"
expect_contains "$T/err" "nowhere.safetensors"
expect_exit 1 "$CGPC" model-metrics "$T/nonexistent"
echo ok
