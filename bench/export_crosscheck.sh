#!/usr/bin/env bash
# export_crosscheck.sh - cross-check cgpc's gate-table energy/area model against Yosys: train
# short real runs of experiments/single_channel.exp and experiments/layer_bypass.exp (2 runs
# each), synthesise every best circuit (best.<run>.<T>.chr) with `cgpc circuit synth` (Yosys
# synth; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; static-CMOS transistors per cell), and write
#   OUT/crosscheck.csv   experiment,run,threshold_metric,chr,active,gates,energy_pj,area_um2,
#                        delay_ns,cells,transistors,yosys_cmos_transistors,cells_NOT..cells_MUX
#   OUT/correlation.txt  Pearson r of cgpc's area and energy vs Yosys' cells and transistors
#   OUT/crosscheck.png   the same as scatter plots (gnuplot, log-log)
#   OUT/operators.csv    every operator alone (one node on the inputs): cgpc's energy and area
#                        beside Yosys' cells and transistors, and transistors per um^2
# Usage: bench/export_crosscheck.sh [OUT] (default runs/export_crosscheck). Environment:
# CGPC (default bin/cgpc), SC_GENERATIONS (default 20000), LB_GENERATIONS (default 5000),
# THREADS (default 2). Existing train directories and OUT/crosscheck.csv are reused: delete
# OUT to redo everything.
set -euo pipefail
: "${CGPC:=bin/cgpc}"
: "${SC_GENERATIONS:=20000}"
: "${LB_GENERATIONS:=5000}"
: "${THREADS:=2}"
export OMP_WAIT_POLICY=passive
[ -x "$CGPC" ] || { echo "export_crosscheck: $CGPC not built (run make)" >&2; exit 1; }
for tool in yosys gnuplot; do
    command -v $tool >/dev/null || { echo "export_crosscheck: $tool not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
out=${1:-runs/export_crosscheck}
mkdir -p "$out"

train() { # NAME GENERATIONS
    if [ ! -f "$out/$1/results.csv" ] || [ "$(wc -l <"$out/$1/results.csv")" -lt 9 ]; then
        rm -rf "${out:?}/$1"
        echo "training $1 ($2 generations per threshold, 2 runs)" >&2
        "$CGPC" train "experiments/$1.exp" --out "$out/$1" --runs 2 --generations "$2" \
            --threads "$THREADS" >"$out/$1.train.log" 2>&1
    fi
}
train single_channel "$SC_GENERATIONS"
train layer_bypass "$LB_GENERATIONS"

csv=$out/crosscheck.csv
cells=(NOT NAND NOR AND OR XOR XNOR MUX)
if [ ! -s "$csv" ]; then # (synthesis takes minutes: an existing table is reused)
{
    printf 'experiment,run,threshold_metric,chr,active,gates,energy_pj,area_um2,delay_ns,cells,transistors,yosys_cmos_transistors'
    printf ',cells_%s' "${cells[@]}"; echo
} >"$csv.tmp"
for exp in single_channel layer_bypass; do
    # results.csv: run,threshold (per weight),threshold_metric,reached,...,best_file
    tail -n +2 "$out/$exp/results.csv" | while IFS=, read -r run _pw thr _rest; do
        chr=$out/$exp/${_rest##*,}
        echo "synthesising $chr" >&2
        s=$("$CGPC" circuit synth "$chr" --name "${exp}_${run}")
        v() { awk -v k="$1" '$1 == k { print $2 }' <<<"$s"; }
        row="$exp,$run,$thr,$(basename "$chr"),$(v active),$(v gates),$(v energy_pj),$(v area_um2),$(v delay_ns),$(v cells),$(v transistors),$(v yosys_cmos_transistors)"
        for c in "${cells[@]}"; do row="$row,$(v "cells_$c")"; done
        echo "$row"
    done
done >>"$csv.tmp"
mv "$csv.tmp" "$csv"
fi

# every operator alone: op,energy_pj,area_um2,cells,transistors,transistors_per_um2 (reused)
ops=$("$CGPC" energy --dump-gate-costs - | awk -F, '!/^#/ && $1 != "name" && $1 != "mac" && NF > 1 { print $1 }')
if [ ! -s "$out/operators.csv" ]; then
echo "op,energy_pj,area_um2,cells,transistors,transistors_per_um2" >"$out/operators.csv.tmp"
for op in $ops; do
    printf 'cgpc-chromosome v1\nrows 1\ncols 1\nlevels-back 1\ninputs 4\noutputs 1\nnode-inputs 4\nfunctions %s\nnodes\n0 0 1 2 3 %s\noutputs 4\nend\n' \
        "$(paste -sd, <<<"$ops")" "$op" >"$out/op.chr"
    s=$("$CGPC" circuit synth "$out/op.chr" --name "op_$op")
    v() { awk -v k="$1" '$1 == k { print $2 }' <<<"$s"; }
    awk -v op="$op" -v e="$(v energy_pj)" -v a="$(v area_um2)" -v c="$(v cells)" -v t="$(v transistors)" \
        'BEGIN { printf "%s,%s,%s,%s,%s,%s\n", op, e, a, c, t, (a > 0 ? sprintf("%.3f", t / a) : "n/a") }'
done >>"$out/operators.csv.tmp"
rm -f "$out/op.chr"
mv "$out/operators.csv.tmp" "$out/operators.csv"
fi

# Pearson r over all rows (and per experiment) of x vs y columns
pearson() { # FILE XCOL YCOL [EXPERIMENT]
    awk -F, -v x="$2" -v y="$3" -v e="${4:-}" 'NR > 1 && (e == "" || $1 == e) {
        n++; sx += $x; sy += $y; sxx += $x * $x; syy += $y * $y; sxy += $x * $y }
        END { d = sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
              if (n < 3 || d == 0) print "n/a"; else printf "%.4f\n", (n * sxy - sx * sy) / d }' "$1"
}
{
    echo "Pearson correlation, cgpc gate-table estimate vs Yosys (n = $(($(wc -l <"$csv") - 1)) circuits)"
    printf '%-28s %10s %10s %16s %16s\n' "" all single_channel layer_bypass ""
    for pair in "area_um2 transistors:8:11" "area_um2 cells:8:10" "energy_pj transistors:7:11" \
                "energy_pj cells:7:10" "gates cells:6:10" "active transistors:5:11"; do
        name=${pair%%:*}; cols=${pair#*:}; xc=${cols%%:*}; yc=${cols##*:}
        printf '%-28s %10s %10s %16s\n' "$name" "$(pearson "$csv" "$xc" "$yc")" \
            "$(pearson "$csv" "$xc" "$yc" single_channel)" "$(pearson "$csv" "$xc" "$yc" layer_bypass)"
    done
} >"$out/correlation.txt"
cat "$out/correlation.txt"

r() { pearson "$csv" "$1" "$2" "${3:-}"; }
gnuplot <<GP
set terminal pngcairo size 1300,560 noenhanced
set output '$out/crosscheck.png'
set datafile separator ','
set multiplot layout 1,2 title "cgpc gate-table model vs Yosys synthesis (abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; static CMOS transistors)\nbest circuits of 2 runs x 4 thresholds of each experiment"
set grid
set logscale xy
set key top left
set ylabel 'Yosys transistors'
set xlabel 'cgpc area [um^2]'
set title "area: Pearson r = $(r 8 11)\nsingle_channel $(r 8 11 single_channel), layer_bypass $(r 8 11 layer_bypass)"
plot '$csv' using (stringcolumn(1) eq 'single_channel' ? \$8 : 1/0):11 with points pt 7 ps 1.3 title 'single_channel', \
     '$csv' using (stringcolumn(1) eq 'layer_bypass' ? \$8 : 1/0):11 with points pt 5 ps 1.3 title 'layer_bypass'
set xlabel 'cgpc energy [pJ]'
set title "energy: Pearson r = $(r 7 11)\nsingle_channel $(r 7 11 single_channel), layer_bypass $(r 7 11 layer_bypass)"
plot '$csv' using (stringcolumn(1) eq 'single_channel' ? \$7 : 1/0):11 with points pt 7 ps 1.3 title 'single_channel', \
     '$csv' using (stringcolumn(1) eq 'layer_bypass' ? \$7 : 1/0):11 with points pt 5 ps 1.3 title 'layer_bypass'
unset multiplot
GP
echo "export_crosscheck: $csv, $out/operators.csv, $out/correlation.txt, $out/crosscheck.png" >&2
