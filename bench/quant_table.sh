#!/usr/bin/env bash
# Benchmark (not a test): the README's low-bit quantization table. For each method x bits:
# validation and test top-1, stored bytes (exact, from the storage model), compression vs
# float32 and energy per inference (batch 1, MACs + reading every stored bit once) from DRAM
# and sram-32k. Rows: float32 and int8 references, fp16, PTQ (mid-rise, landmark rounding,
# stochastic rounding, multi-point), mixed precision from `cgpc sensitivity`, low-bit QAT,
# `cgpc tune`. Low-bit models are evaluated with their weights dequantized to float.
# Usage: bash bench/quant_table.sh [lenet5|mobilenetv2]   (default lenet5, a few minutes;
#        mobilenetv2: references, mid-rise/normal PTQ and 4-bit QAT on Fashion-MNIST only
#        (sensitivity and tune evaluate hundreds of candidates: run them by hand), 20-60
#        minutes on 2 shared cores with QAT_LIMIT=20000)
#        env: CGPC=bin/cgpc OUT=runs/quant-<model> QAT_LIMIT=0 (0 = all training images)
#        QAT_MODEL=F: take the QAT row from F, trained elsewhere with the same options (e.g. in
#        parallel, on another core); the script waits until F exists (files are written by rename);
#        its label then starts "QAT_MODEL:" and names the script's QAT options, not F's
# Writes $OUT/table.md (the README table) and $OUT/table.csv, and the same files as model-metrics
# rows ($OUT/metrics.csv, plots in $OUT/plots); models and logs stay in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
CGPC=${CGPC:-bin/cgpc}
[ -x "$CGPC" ] || { echo "$CGPC: not built (run make)" >&2; exit 1; }
WHICH=${1:-lenet5}
case $WHICH in
lenet5) M=models/lenet5-mnist.safetensors; DS=mnist; QAT_BITS=2; QAT_EPOCHS=3; QAT_LR=5e-4 ;;
mobilenetv2) M=models/mobilenetv2-fashion.safetensors; DS=fashion-mnist; QAT_BITS=4
    QAT_EPOCHS=2; QAT_LR=2e-4 ;;
*) echo "usage: $0 [lenet5|mobilenetv2]" >&2; exit 2 ;;
esac
OUT=${OUT:-runs/quant-$WHICH}
QAT_LIMIT=${QAT_LIMIT:-0}
mkdir -p "$OUT"
export OMP_WAIT_POLICY=passive
CSV=$OUT/table.csv
echo "method,bits,val_top1,test_top1,stored_bytes,compression_vs_float32,energy_dram_pj,energy_sram32k_pj" > "$CSV"

top1() { # model split
    "$CGPC" eval --model "$1" --dataset "$DS" --split "$2" --json | sed 's/.*"top1": \([0-9.]*\),.*/\1/'
}
json() { # key json-text
    sed "s/.*\"$1\": \\([0-9.e+-]*\\).*/\\1/" <<< "$2"
}
row() { # method bits file: one row of a low-bit file
    local e1 e2
    e1=$("$CGPC" energy --model "$3" --memory dram --json)
    e2=$("$CGPC" energy --model "$3" --memory sram-32k --json)
    local bits f32
    bits=$(json stored_bits "$e1")
    f32=$(json float32_bits "$e1")
    echo "$1,$2,$(top1 "$3" val),$(top1 "$3" test),$(((bits + 7) / 8)),$(awk -v a="$f32" -v b="$bits" 'BEGIN { printf "%.2f", a / b }'),$(json total_pJ "$e1"),$(json total_pJ "$e2")" >> "$CSV"
    echo "$1 $2: done" >&2
}
q() { # method-label bits-label quantize-options...
    local label=$1 bits=$2 f
    shift 2
    f="$OUT/$(echo "$label-$bits" | tr -c 'a-zA-Z0-9.-' _).safetensors"
    "$CGPC" quantize --model $M --calib-dataset $DS --out "$f" "$@" > "$f.log"
    row "$label" "$bits" "$f"
}

qat() { # low-bit QAT from the float model into $OUT/qat.safetensors (or QAT_MODEL's file)
    if [ -n "${QAT_MODEL:-}" ]; then
        until [ -s "$QAT_MODEL" ]; do sleep 30; done
        cp "$QAT_MODEL" "$OUT/qat.safetensors"
        return
    fi
    "$CGPC" train-model --init $M --dataset $DS --epochs 0 --qat-bits $QAT_BITS \
        --qat-per-channel --qat-epochs $QAT_EPOCHS --qat-lr $QAT_LR --limit "$QAT_LIMIT" \
        --out "$OUT/qat.safetensors" > "$OUT/qat.log" 2>&1
}

# references: float32 and int8 energies from any low-bit file's JSON (same architecture)
"$CGPC" quantize --model $M --calib-dataset $DS --method fp16 --out "$OUT/fp16.safetensors" > "$OUT/fp16.log"
e1=$("$CGPC" energy --model "$OUT/fp16.safetensors" --memory dram --json)
e2=$("$CGPC" energy --model "$OUT/fp16.safetensors" --memory sram-32k --json)
f32=$(json float32_bits "$e1")
i8=$(json int8_bits "$e1")
echo "float32,32,$(top1 $M val),$(top1 $M test),$((f32 / 8)),1.00,$(json float32_total_pJ "$e1"),$(json float32_total_pJ "$e2")" >> "$CSV"
"$CGPC" quantize --model $M --calib-dataset $DS --out "$OUT/int8.safetensors" > "$OUT/int8.log"
echo "int8 PTQ (reference),8,$(top1 "$OUT/int8.safetensors" val),$(top1 "$OUT/int8.safetensors" test),$(((i8 + 7) / 8)),$(awk -v a="$f32" -v b="$i8" 'BEGIN { printf "%.2f", a / b }'),$(json int8_total_pJ "$e1"),$(json int8_total_pJ "$e2")" >> "$CSV"
row fp16 16 "$OUT/fp16.safetensors"
if [ "$WHICH" = mobilenetv2 ]; then # the PTQ baselines and the QAT row only (see the usage)
    for b in 8 6 4; do q "midrise per-channel" $b --method midrise --bits $b --per-channel; done
    q "round normal per-channel" 4 --method round --landmarks normal --bits 4 --per-channel
    qat
    row "QAT midrise per-channel (${QAT_MODEL:+QAT_MODEL: }$QAT_EPOCHS epochs on $QAT_LIMIT images)" $QAT_BITS "$OUT/qat.safetensors"
fi
[ "$WHICH" = mobilenetv2 ] || {
for b in 8 4 3 2; do q "midrise per-channel" $b --method midrise --bits $b --per-channel; done
q "midrise per-tensor" 4 --method midrise --bits 4
for lm in uniform histogram normal; do
    for b in 4 3; do q "round $lm per-channel" $b --method round --landmarks $lm --bits $b --per-channel; done
done
q "stochastic uniform per-channel" 4 --method stochastic --bits 4 --per-channel
mp() { # bits points: multi-point, the label lists the points used per layer
    local f="$OUT/multipoint-$1.safetensors" pts
    "$CGPC" quantize --model $M --calib-dataset $DS --out "$f" --method multipoint --bits "$1" \
        --points "$2" --per-channel > "$f.log"
    pts=$(awk '$2 == "multipoint" { printf "%s%s", sep, $5; sep = "/" }' "$f.log")
    row "multipoint per-channel (tol 0.05; points per layer $pts)" "$1 x points" "$f"
}
mp 2 4
mp 1 8

# mixed precision: sensitivity + allocation within 3.0 bits/weight
"$CGPC" sensitivity --model $M --dataset $DS --method round --per-channel \
    --bits-list 1,2,3,4,5,6,8 --budget-bits-per-weight 3.0 --csv "$OUT/sensitivity.csv" \
    --out "$OUT/mixed.safetensors" > "$OUT/mixed.log"
row "mixed round-uniform per-channel ($(sed -n 's/^allocation within [0-9]* stored weight bits: //p' "$OUT/mixed.log"))" \
    "$(sed -n 's/.*: \([0-9.]*\) bits\/weight.*/\1/p' "$OUT/mixed.log") avg" "$OUT/mixed.safetensors"

# low-bit QAT from the float model
qat
row "QAT midrise per-channel (${QAT_MODEL:+QAT_MODEL: }$QAT_EPOCHS epochs)" $QAT_BITS "$OUT/qat.safetensors"

# accuracy-aware tuning within 0.5 points
"$CGPC" tune --model $M --dataset $DS --max-drop 0.5 --log "$OUT/tune.csv" \
    --out "$OUT/tune.safetensors" > "$OUT/tune.log"
row "tune --max-drop 0.5 ($(sed -n 's/^best: \([^ ]* [^ ]*\) layer bits \([^:]*\):.*/\1 \2/p' "$OUT/tune.log" | tr , ' '))" \
    "$(sed -n 's/.*: \([0-9.]*\) bits\/weight.*/\1/p' "$OUT/tune.log") avg" "$OUT/tune.safetensors"
}

# the same files as rows of model-metrics (the circuits' CSV columns, one plot series each)
"$CGPC" model-metrics $M "$OUT"/*.safetensors --dataset $DS --out "$OUT/metrics.csv" \
    --plot "$OUT/plots" > "$OUT/metrics.log" 2>&1

{
    echo "| method | bits | val top-1 | test top-1 | stored bytes | vs float32 | DRAM pJ/inference | sram-32k pJ/inference |"
    echo "|---|---|---|---|---|---|---|---|"
    tail -n +2 "$CSV" | awk -F, '{ printf "| %s | %s | %.2f%% | %.2f%% | %s | %sx | %.0f | %.0f |\n", $1, $2, 100 * $3, 100 * $4, $5, $6, $7, $8 }'
} > "$OUT/table.md"
cat "$OUT/table.md"
