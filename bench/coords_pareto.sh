#!/usr/bin/env bash
# Benchmark (not a test; ~2 x 10 minutes per layer on the shared 2-core machine): coordinate inputs
# (issue 18 part 2) and the joint Pareto plot of stored bits vs validation accuracy.
# Usage: bash bench/coords_pareto.sh [train|plot|all]   (default: all)
#   env: CGPC=bin/cgpc OUT=bench/results/coords RUNS=runs/coords BUDGET=600 (wall s per run)
#        LAYERS="conv1 conv2" PLOT_LAYERS="conv1 conv2" EXTRA_DIRS="" (more `cgpc train`
#        directories of the same layer to put on the plot, e.g. residual-mode runs: "L:DIR ...")
# train: for each layer, `cgpc train experiments/coords.exp --layer L` with one threshold
#        (8 per weight, MSE: never reached, so the search spends the whole budget on error),
#        --time-limit BUDGET, --threads 1; the best circuit exported (Verilog, C, DOT/PNG); then
#        the same with --mode residual --thresholds "0 1 2 4" (bounds), BUDGET/4 per bound.
# plot:  per layer, one data file and one PNG of stored bits of the layer's weights vs
#        validation top-1 (the last 1,000 MNIST training images), points:
#          cgp-coords   model-metrics rows (--top 5: the best circuit and 4 earlier ones)
#          requant b    the same weights re-quantized to b = 1..7 bits (model-metrics)
#          kmeans B     k-means sharing of that layer alone, 2^B centroids, Huffman-coded
#                       (`cgpc compress --share-layer L=B --huffman`, no pruning, no
#                       fine-tuning; the rest of that model stays float)
#          cgp-coords-bits+res e  coordinates + residual: `mode = residual` runs (stored-bits
#                       fitness, bounds e = 0, 1, 2, 4), model-metrics' residual rows
#          entropy e    the same weights entropy-coded without a predictor (the constant-zero
#                       circuit; model-metrics' entropy rows of those runs)
#          cgp-coords-mse+res e  the MSE-evolved coordinate circuit as the predictor of the
#                       residual file (src/exp/resfile.h), encoded by bench/coords_residual.c,
#                       decoded by `cgpc eval --residual`
#          int8         the shipped int8 layer (8 bits per weight)
#          EXTRA_DIRS   model-metrics rows of the given train directories
#        and the joint Pareto front (fewest bits for at least that accuracy), marked in the
#        data file's last column and printed.
# Layer bits: model-metrics' stored_bits - int8 model bits + 8 x weights replaced (the layer's
# weight storage: circuit description, residual, indices, decode parameters); residual files:
# circuit + coded residual (table and stream) bits, as the file states them; k-means: the
# layer's stored parts except its bias (codebook, Huffman-coded indices, code lengths, header).
set -euo pipefail
cd "$(dirname "$0")/.."
CGPC=${CGPC:-bin/cgpc}
[ -x "$CGPC" ] || { echo "$CGPC: not built (run make)" >&2; exit 1; }
OUT=${OUT:-bench/results/coords}
RUNS=${RUNS:-runs/coords} # the train directories (large; runs/ is not committed)
BUDGET=${BUDGET:-600}
LAYERS=${LAYERS:-conv1 conv2}
PLOT_LAYERS=${PLOT_LAYERS:-$LAYERS}
EXTRA_DIRS=${EXTRA_DIRS:-}
WHAT=${1:-all}
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
HAVE_RES=0 # the residual mode (`mode = residual`, issue 18 part 1) in this cgpc
"$CGPC" train --help 2>/dev/null | grep -q -- '--mode replace|residual' && HAVE_RES=1
INT8_BITS=369264 # the shipped LeNet-5 int8 model's stored bits (model-metrics' reference)

if [ "$WHAT" = train ] || [ "$WHAT" = all ]; then
    for L in $LAYERS; do
        D=$RUNS/coords-$L
        rm -rf "$D"
        /usr/bin/time -f "%e s wall" "$CGPC" train experiments/coords.exp --layer "$L" \
            --thresholds 8 --generations 1000000000 --time-limit "$BUDGET" --threads 1 \
            --out "$D" >"$OUT/train-$L.log" 2>&1
        chr=$D/best.0.8.chr
        "$CGPC" circuit export "$chr" --format verilog --name "coords_$L" --out "$OUT/coords-$L.v"
        "$CGPC" circuit export "$chr" --format c --weights --name "coords_$L" --out "$RUNS/coords-$L.c"
        "$CGPC" circuit export "$chr" --format dot --name "coords_$L" --out "$OUT/coords-$L.dot"
        "$CGPC" circuit export "$chr" --format dot --name "coords_$L" --render png \
            --out "$RUNS/coords-$L.png" 2>/dev/null || echo "(no Graphviz: no drawing)" # ~1-2 MB
        "$CGPC" circuit show "$chr" >"$OUT/coords-$L.show"
        cp "$D/results.csv" "$OUT/results-$L.csv"
        # coordinates + residual: the residual mode (stored-bits fitness), bounds 0, 1, 2, 4,
        # a quarter of the budget each
        [ "$HAVE_RES" = 1 ] || continue
        R=$RUNS/coords-res-$L
        rm -rf "$R"
        "$CGPC" train experiments/coords.exp --layer "$L" --mode residual --thresholds "0 1 2 4" \
            --generations 1000000000 --time-limit $((BUDGET / 4)) --threads 1 \
            --out "$R" >"$OUT/train-res-$L.log" 2>&1
        cp "$R/results.csv" "$OUT/results-res-$L.csv"
        for e in 0 1 2 4; do
            "$CGPC" circuit export "$R/best.0.$e.chr" --format verilog --name "coords_res_${L}_e$e" \
                --out "$OUT/coords-res-$L-e$e.v"
        done
    done
fi

# metrics CSV -> "method label layer_bits val_top1 test_top1" lines
rows_of_csv() { # CSV method_prefix
    awk -F, -v int8="$INT8_BITS" -v pre="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { bits = $c["stored_bits"] - int8 + 8 * $c["weights_replaced"]
          if ($c["method"] == "requant") { m = "requant"; lab = $c["bits"] "b" }
          else if ($c["method"] == "entropy") { m = "entropy"; lab = "e" $c["threshold"] }
          else if ($c["method"] == "residual") { m = pre "+res"; lab = "e" $c["threshold"] "r" $c["run"] }
          else { m = pre; lab = "r" $c["run"] "T" $c["threshold"] "k" $c["rank"] }
          printf "%s %s %d %s %s\n", m, lab, bits, $c["val_top1"], $c["test_top1"] }' "$1"
}

if [ "$WHAT" = plot ] || [ "$WHAT" = all ]; then
    RESBENCH=${RESBENCH:-build/release/bench/coords_residual}
    [ -x "$RESBENCH" ] || make -s "$RESBENCH"
    for L in $PLOT_LAYERS; do
        D=$RUNS/coords-$L
        dat=$OUT/pareto-$L.dat
        "$CGPC" model-metrics "$D" --top 5 --threads 2 --out "$OUT/metrics-$L.csv" >/dev/null
        {
            rows_of_csv "$OUT/metrics-$L.csv" cgp-coords
            # the residual-mode runs: their residual rows and the entropy reference rows (the
            # same weights entropy-coded without a predictor)
            if [ "$HAVE_RES" = 1 ]; then
                "$CGPC" model-metrics "$RUNS/coords-res-$L" --threads 2 \
                    --out "$OUT/metrics-res-$L.csv" >/dev/null
                rows_of_csv "$OUT/metrics-res-$L.csv" cgp-coords-bits | grep -v '^requant'
            fi
            for e in $EXTRA_DIRS; do
                [ "${e%%:*}" = "$L" ] || continue
                dir=${e#*:}
                name=$(basename "$dir")
                "$CGPC" model-metrics "$dir" --top 5 --no-reference --threads 2 \
                    --out "$OUT/metrics-$L-$name.csv" >/dev/null
                rows_of_csv "$OUT/metrics-$L-$name.csv" "cgp-$name" | grep -v '^requant'
            done
            n=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                         $c["method"] == "requant" { print $c["weights_replaced"]; exit }' \
                    "$OUT/metrics-$L.csv")
            awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                     { printf "int8 8b %d %s %s\n", '"$n"' * 8, $c["baseline_val_top1"],
                       $c["baseline_test_top1"]; exit }' "$OUT/metrics-$L.csv"
            # the MSE-evolved coordinate circuit as the predictor of the residual file (encoded
            # by bench/coords_residual.c, decoded by `cgpc eval --residual`), bounds 0, 1, 2, 4
            for e in 0 1 2 4; do
                for c in best; do
                    chr=$D/best.0.8.chr
                    f=$OUT/res-$L-$c-$e.res
                    bits=$("$RESBENCH" "$D" "$chr" "$e" "$f" | awk '{ print $2 }')
                    val=$("$CGPC" eval --residual "$f" --split val --json --threads 2 2>/dev/null |
                          sed 's/.*"top1": \([0-9.]*\).*/\1/')
                    tst=$("$CGPC" eval --residual "$f" --split test --json --threads 2 2>/dev/null |
                          sed 's/.*"top1": \([0-9.]*\).*/\1/')
                    echo "cgp-coords-mse+res e$e $bits $val $tst"
                    rm -f "$f"
                done
            done
            for B in 1 2 3 4 5 6 7 8; do
                f=$OUT/kmeans-$L-$B.safetensors
                "$CGPC" compress --model models/lenet5-mnist.safetensors --share-layer "$L=$B" \
                    --huffman --verbose --threads 2 --out "$f" >"$OUT/kmeans-$L-$B.log" 2>&1
                bits=$(awk -v L="$L" '$1 == L && NF >= 5 && $2 != L && $(NF) ~ /^[0-9]+$/ &&
                                      $2 != "bias" { s += $NF } END { print s }' "$OUT/kmeans-$L-$B.log")
                val=$("$CGPC" eval --model "$f" --split val --json --threads 2 |
                      sed 's/.*"top1": \([0-9.]*\).*/\1/')
                tst=$("$CGPC" eval --model "$f" --split test --json --threads 2 |
                      sed 's/.*"top1": \([0-9.]*\).*/\1/')
                echo "kmeans ${B}b $bits $val $tst"
                rm -f "$f"
            done
        } >"$dat.tmp"
        # joint Pareto front: no other point has <= bits and >= accuracy with one strict
        awk '{ m[NR] = $1; b[NR] = $3; a[NR] = $4; line[NR] = $0 }
             END { print "# method label layer_bits val_top1 test_top1 pareto"
                   for (i = 1; i <= NR; i++) { dom = 0
                       for (j = 1; j <= NR; j++)
                           if (j != i && b[j] <= b[i] && a[j] >= a[i] && (b[j] < b[i] || a[j] > a[i])) dom = 1
                       print line[i], dom ? 0 : 1 } }' "$dat.tmp" | sort -k3,3n >"$dat"
        rm -f "$dat.tmp"
        awk '$NF == 1' "$dat" >"$OUT/pareto-$L.front"
        echo "== $L: joint Pareto front (stored bits of the layer's weights vs validation top-1)"
        cat "$OUT/pareto-$L.front"
        on=$(awk '$NF == 1 && $1 ~ /^cgp/' "$dat" | wc -l)
        echo "CGP points on the front: $on"
        methods=$(awk '!/^#/ { print $1 }' "$dat" | sort -u)
        {
            echo "set terminal pngcairo size 1400,650"
            echo "set output '$OUT/pareto-$L.png'"
            echo "set multiplot layout 1,2 title 'LeNet-5 $L (MNIST): stored bits of the layer vs validation top-1'"
            echo "set xlabel 'stored bits of $L weights (log)'"
            echo "set ylabel 'validation top-1'"
            echo "set logscale x"
            echo "set grid"
            echo "set offsets graph 0, graph 0, graph 0.05, graph 0.02"
            for panel in all zoom; do
                if [ "$panel" = zoom ]; then
                    echo "set title 'zoom: validation top-1 >= 0.95'"
                    echo "set yrange [0.95:*]"
                    echo "set key bottom right"
                else
                    echo "set title 'all points'"
                    echo "set key bottom right"
                fi
                printf "plot "
                sep=""
                pt=4
                for m in $methods; do
                    printf "%s'%s' using (strcol(1) eq '%s' ? \$3 : 1/0):4 with points pt %d ps 1.4 title '%s'" \
                        "$sep" "$dat" "$m" "$pt" "$m"
                    sep=", "
                    pt=$((pt + 1))
                done
                printf "%s'%s' using 3:4 with steps lw 1 lc rgb 'black' title 'joint Pareto front'" \
                    "$sep" "$OUT/pareto-$L.front"
                printf ", '%s' using 3:4 with points pt 6 ps 2.6 lc rgb 'black' notitle\n" \
                    "$OUT/pareto-$L.front"
            done
            echo "unset multiplot"
        } >"$OUT/pareto-$L.gp"
        gnuplot "$OUT/pareto-$L.gp"
    done
fi
