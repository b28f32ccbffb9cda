#!/usr/bin/env bash
# quantize --method midrise|round|stochastic|multipoint|fp16 on the committed LeNet-5: the
# cgpc-lowbit files load in eval with the accuracy quantize printed, stochastic files are
# identical for 1 and 2 threads, --layer-bits overrides layers, bad options exit 2, a broken
# file exits 1 naming the tensor.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
[ -e data/mnist/t10k-images-idx3-ubyte.gz ] || [ -e data/mnist/t10k-images-idx3-ubyte ] ||
    skip "data/mnist missing"
M=models/lenet5-mnist.safetensors

run_method() { # name args...: quantize, then eval must print the same top-1
    local name=$1; shift
    expect_exit 0 "$CGPC" quantize --model $M --out "$T/$name.safetensors" "$@"
    local q e
    q=$(sed -n 's/.*test top1 float [0-9.]* low-bit \([0-9.]*\) .*/\1/p' "$T/out")
    [ -n "$q" ] || fail "$name: no low-bit accuracy printed"
    expect_exit 0 "$CGPC" eval --model "$T/$name.safetensors" --json
    e=$(sed -n 's/.*"top1": \([0-9.]*\),.*/\1/p' "$T/out")
    awk -v a="$q" -v b="$e" 'BEGIN { exit !(a - b < 0.00005 && b - a < 0.00005) }' ||
        fail "$name: quantize printed top1 $q, eval gives $e"
}
run_method midrise4pc --method midrise --bits 4 --per-channel
run_method round3h --method round --bits 3 --landmarks histogram
run_method round2n --method round --bits 2 --landmarks normal --per-channel
run_method mp2 --method multipoint --bits 2 --points 3 --mp-tol 0.1
run_method fp16 --method fp16
run_method mixed --method midrise --bits 2 --per-channel --layer-bits conv1=8,fc3=float,fc2=fp16

# quantize prints the storage model's columns; energy reads the same exact size from the file
expect_exit 0 "$CGPC" quantize --model $M --out "$T/e4.safetensors" --method midrise --bits 4 \
    --per-channel
expect_contains "$T/out" "^storage: stored_bits 191864 bytes 23983 compression_vs_float32 7.41 "
expect_contains "$T/out" "^energy dram: .* pJ per inference (int8 reference .* pJ, saving "
expect_contains "$T/out" "^energy sram-32k: "
expect_exit 0 "$CGPC" energy --model "$T/e4.safetensors" --memory sram-32k
expect_contains "$T/out" "^fc1  *scale  *mid-rise step  *120  *3840$"
expect_contains "$T/out" "^total  *191864$"
expect_contains "$T/out" "read from sram-32k: read 59957.5 pJ + MACs"
expect_exit 0 "$CGPC" energy --model "$T/e4.safetensors" --json
expect_contains "$T/out" '"stored_bits": 191864,'

# the per-layer table: fc1 at 2 bits per channel, fc3 float, fc2 fp16
expect_exit 0 "$CGPC" quantize --model $M --out "$T/x.safetensors" --method midrise --bits 2 \
    --per-channel --layer-bits conv1=8,fc3=float,fc2=fp16
expect_contains "$T/out" "^conv1  *midrise  *8  *6  *1  *150  *1200  *192$"
expect_contains "$T/out" "^fc1  *midrise  *2  *120  *1  *30720  *61440  *3840$"
expect_contains "$T/out" "^fc2  *fp16  *16  *1  *1  *10080  *161280  *0$"
expect_contains "$T/out" "^fc3  *float  *32  *1  *1  *840  *26880  *0$"
cmp -s "$T/x.safetensors" "$T/mixed.safetensors" || fail "same options gave different files"

# multipoint reports its points per layer
expect_exit 0 "$CGPC" quantize --model $M --out "$T/mp.safetensors" --method multipoint --bits 1 \
    --points 8 --mp-tol 0.2
expect_contains "$T/out" "^fc1  *multipoint  *1  *1  *[2-8] "

# stochastic rounding: identical for 1 and 2 threads, another seed differs
for t in 1 2; do
    expect_exit 0 "$CGPC" quantize --model $M --out "$T/s$t.safetensors" --method stochastic \
        --bits 3 --per-channel --seed 5 --threads $t
done
cmp -s "$T/s1.safetensors" "$T/s2.safetensors" || fail "stochastic differs between 1 and 2 threads"
expect_exit 0 "$CGPC" quantize --model $M --out "$T/s3.safetensors" --method stochastic --bits 3 \
    --per-channel --seed 6
cmp -s "$T/s1.safetensors" "$T/s3.safetensors" && fail "another seed gave the same stochastic file"

# usage errors
expect_exit 2 "$CGPC" quantize --model $M --out "$T/e.safetensors" --method nine
expect_contains "$T/err" "expected midrise, round, stochastic, multipoint or fp16"
expect_exit 2 "$CGPC" quantize --model $M --out "$T/e.safetensors" --method midrise --bits 9
expect_exit 2 "$CGPC" quantize --model $M --out "$T/e.safetensors" --method round --landmarks x
expect_exit 2 "$CGPC" quantize --model $M --out "$T/e.safetensors" --method midrise \
    --layer-bits pool1=3
expect_contains "$T/err" "'pool1': no layer with weights"
expect_exit 2 "$CGPC" quantize --model $M --out "$T/e.safetensors" --layer-bits fc1=2
expect_exit 0 "$CGPC" quantize --help
for o in --method --bits --per-channel --landmarks --layer-bits --points --mp-tol; do
    expect_contains "$T/out" -- "$o"
done

# a truncated file: runtime error naming the file
head -c 2000 "$T/mp2.safetensors" > "$T/broken.safetensors"
expect_exit 1 "$CGPC" eval --model "$T/broken.safetensors"
expect_contains "$T/err" "broken.safetensors"
echo "quant_lowbit: ok"
