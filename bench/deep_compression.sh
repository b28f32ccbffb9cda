#!/usr/bin/env bash
# Benchmark (not a test; minutes to an hour on 2 cores): the Deep Compression and knowledge
# distillation figures of the README (issue #13).
# Usage: bash bench/deep_compression.sh [lenet|init|mnv2|distill|hint|all]   (default: all)
#   env: CGPC=bin/cgpc THREADS=2 OUT=bench/results/deep EPOCHS=10 (distillation) SEEDS="1 2 3"
# lenet:   LeNet-5 MNIST, pruned per layer (iterative, 4 steps x 5 epochs) + 5-bit sharing
#          (5 epochs) + Huffman: per-layer table, sizes vs float32 and int8, top-1 before/after.
# init:    k-means initialisation (linear / density / random) at 3 and 5 bits on the pruned
#          LeNet-5, without and with 2 epochs of centroid fine-tuning.
# mnv2:    MobileNetV2 Fashion-MNIST: BatchNorm folded (--fold-bn), no pruning, k-means
#          sharing with density init at per-layer bits (blocks 1-9 and every depthwise conv 5,
#          stem 6, blocks 10-14 4, blocks 15-18 and the classifier 3), MNV2_EPOCHS=1 epoch of
#          centroid fine-tuning over all training images (MNV2_LIMIT=0), Huffman; and the same
#          without fine-tuning (mnv2-noft).
# distill: half-width LeNet-5 students on Fashion-MNIST, EPOCHS epochs, trained from the
#          shipped MobileNetV2 (kd: T = 4, alpha = 0.9; kd2: T = 2, alpha = 0.5) and without a
#          teacher (plain), seeds SEEDS.
# hint:    half-width LeNet-5 students on Fashion-MNIST, EPOCHS epochs, seeds SEEDS, with the
#          FitNets hint features.3.add (MobileNetV2, 16 x 8x8) -> conv2 (8 x 8x8, regressor),
#          hint weight 0.1, alpha 0 (no soft logits), beside the plain student.
# Every run's stdout/stderr is kept in $OUT; a summary goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
CGPC=${CGPC:-bin/cgpc}
[ -x "$CGPC" ] || { echo "$CGPC: not built (run make)" >&2; exit 1; }
THREADS=${THREADS:-2}
OUT=${OUT:-bench/results/deep}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-1 2 3}
WHAT=${1:-all}
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
run() { # name args... : cgpc args, logs in $OUT/name.{out,err}
    local name=$1; shift
    nice -n 10 "$CGPC" "$@" --threads "$THREADS" >"$OUT/$name.out" 2>"$OUT/$name.err"
}

LENET_PRUNE=(--prune-layer conv1=0.3 --prune-layer conv2=0.75 --prune-layer fc1=0.9
             --prune-layer fc2=0.75 --prune-layer fc3=0.6)

if [ "$WHAT" = lenet ] || [ "$WHAT" = all ]; then
    run lenet compress --model models/lenet5-mnist.safetensors --out "$OUT/lenet5-mnist-deep.safetensors" \
        "${LENET_PRUNE[@]}" --schedule 0.5,0.75,0.9,1 --share 5 --huffman --finetune-epochs 5 --lr 1e-3
    echo "== LeNet-5 MNIST: prune + share + Huffman"
    cat "$OUT/lenet.out"
    "$CGPC" eval --model "$OUT/lenet5-mnist-deep.safetensors" --dataset mnist --limit 0 | tail -n 1
    ls -l "$OUT/lenet5-mnist-deep.safetensors" | awk '{print "file bytes (container included):", $5}'
fi

if [ "$WHAT" = init ] || [ "$WHAT" = all ]; then
    run init-pruned compress --model models/lenet5-mnist.safetensors --out "$OUT/lenet5-mnist-pruned.safetensors" \
        "${LENET_PRUNE[@]}" --schedule 0.5,0.75,0.9,1 --finetune-epochs 4 --lr 1e-3
    echo "== k-means initialisation on the pruned LeNet-5 (test top1 after sharing)"
    printf '%-8s %4s %12s %12s\n' init bits no-finetune finetune-2
    for bits in 3 5; do
        for init in linear density random; do
            a=$(run "init-$init-$bits-0" compress --model "$OUT/lenet5-mnist-pruned.safetensors" \
                    --out "$OUT/init.safetensors" --share "$bits" --init "$init" && \
                sed -n 's/^test top1: before [0-9.]*, after \([0-9.]*\).*/\1/p' "$OUT/init-$init-$bits-0.out")
            b=$(run "init-$init-$bits-2" compress --model "$OUT/lenet5-mnist-pruned.safetensors" \
                    --out "$OUT/init.safetensors" --share "$bits" --init "$init" \
                    --finetune-epochs 2 --lr 1e-3 && \
                sed -n 's/^test top1: before [0-9.]*, after \([0-9.]*\).*/\1/p' "$OUT/init-$init-$bits-2.out")
            printf '%-8s %4s %12s %12s\n' "$init" "$bits" "$a" "$b"
        done
    done
fi

if [ "$WHAT" = mnv2 ] || [ "$WHAT" = all ]; then
    MNV2_BITS=(--share 3 --init density --share-layer 'features.*.conv.1.0=5'
               --share-layer features.0.0=6 --share-layer 'features.[1-9].*=5'
               --share-layer 'features.1[0-4].*=4' --share-layer 'features.1[0-4].conv.1.0=5')
    run mnv2-noft compress --model models/mobilenetv2-fashion.safetensors \
        --out "$OUT/mobilenetv2-fashion-shared.safetensors" --fold-bn "${MNV2_BITS[@]}" --huffman
    run mnv2 compress --model models/mobilenetv2-fashion.safetensors --out "$OUT/mobilenetv2-fashion-deep.safetensors" \
        --fold-bn "${MNV2_BITS[@]}" --huffman --finetune-epochs "${MNV2_EPOCHS:-1}" \
        --limit "${MNV2_LIMIT:-0}" --lr 1e-4
    echo "== MobileNetV2 Fashion-MNIST: fold BatchNorm + share + Huffman, no fine-tuning"
    tail -n 3 "$OUT/mnv2-noft.out"
    echo "== MobileNetV2 Fashion-MNIST: fold BatchNorm + share + centroid fine-tuning + Huffman"
    cat "$OUT/mnv2.out"
fi

if [ "$WHAT" = distill ] || [ "$WHAT" = all ]; then
    echo "== distillation: LeNet-5 width 0.5 on Fashion-MNIST, $EPOCHS epochs (test top1)"
    for s in $SEEDS; do
        run "student-kd-$s" train-model --arch lenet5 --width 0.5 --dataset fashion-mnist \
            --epochs "$EPOCHS" --seed "$s" --teacher models/mobilenetv2-fashion.safetensors \
            --temperature 4 --alpha 0.9 --out "$OUT/student-kd-$s.safetensors"
        run "student-kd2-$s" train-model --arch lenet5 --width 0.5 --dataset fashion-mnist \
            --epochs "$EPOCHS" --seed "$s" --teacher models/mobilenetv2-fashion.safetensors \
            --temperature 2 --alpha 0.5 --out "$OUT/student-kd2-$s.safetensors"
        run "student-plain-$s" train-model --arch lenet5 --width 0.5 --dataset fashion-mnist \
            --epochs "$EPOCHS" --seed "$s" --out "$OUT/student-plain-$s.safetensors"
    done
    for kind in kd kd2 plain; do
        for s in $SEEDS; do
            sed -n 's/.*test top1 \([0-9.]*\)).*/\1/p' "$OUT/student-$kind-$s.err"
        done | awk -v k="$kind" '{x[NR]=$1; s+=$1; if (NR==1||$1<lo) lo=$1; if (NR==1||$1>hi) hi=$1}
            END {m=s/NR; for(i=1;i<=NR;i++) v+=(x[i]-m)^2;
            printf "%-6s mean %.4f  sd %.4f  min %.4f  max %.4f  (n=%d)\n", k, m, sqrt(v/(NR>1?NR-1:1)), lo, hi, NR}'
    done
fi

if [ "$WHAT" = hint ] || [ "$WHAT" = all ]; then
    echo "== FitNets hint: LeNet-5 width 0.5 on Fashion-MNIST, $EPOCHS epochs (test top1)"
    for s in $SEEDS; do
        run "student-hint-$s" train-model --arch lenet5 --width 0.5 --dataset fashion-mnist \
            --epochs "$EPOCHS" --seed "$s" --teacher models/mobilenetv2-fashion.safetensors \
            --hint features.3.add:conv2 --hint-weight 0.1 --alpha 0 \
            --out "$OUT/student-hint-$s.safetensors"
        [ -f "$OUT/student-plain-$s.err" ] || run "student-plain-$s" train-model --arch lenet5 \
            --width 0.5 --dataset fashion-mnist --epochs "$EPOCHS" --seed "$s" \
            --out "$OUT/student-plain-$s.safetensors"
        printf 'seed %s  hint %s  plain %s\n' "$s" \
            "$(sed -n 's/.*test top1 \([0-9.]*\)).*/\1/p' "$OUT/student-hint-$s.err")" \
            "$(sed -n 's/.*test top1 \([0-9.]*\)).*/\1/p' "$OUT/student-plain-$s.err")"
    done
fi
