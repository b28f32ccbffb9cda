#!/usr/bin/env bash
# The CGP evaluator's instruction-set paths (src/cgp/eval.c, chosen at run time): the cgp suite
# (every path against the scalar reference on random circuits over every operator) built for
# AVX2 (MARCH=x86-64-v3) and plain x86-64 (SSE2) runs, and since the paths are picked by CPU
# features, each of those binaries still carries and tests all of them; then `cgpc evolve` capped
# to each path (CGPC_ISA=scalar|avx2|avx512) with 1, 6, 20 and 70 items gives byte-identical
# results, Pareto fronts, best circuits and statistics (less the wall-time column).
source "$(dirname "$0")/lib.sh"
# The release variants, also under `make SANITIZER=... test` (make exports its command-line
# variables to the tests, and the variant's directory follows them).
cd "$CGPC_ROOT"

[ "$(uname -m)" = x86_64 ] || skip "not an x86-64 host"
for march in x86-64-v3 x86-64; do
    bin="build/release-$march/tests/test_cgp"
    env -u MAKEFLAGS -u MAKELEVEL -u SANITIZER -u DEBUG -u NO_OMP make -s -j2 MARCH="$march" "$bin" >"$T/build.$march" 2>&1 || { tail -n 30 "$T/build.$march" >&2; fail "MARCH=$march build failed"; }
    CGPC_ROOT="$CGPC_ROOT" "$bin" >"$T/run.$march" 2>&1 || { grep -E 'ERROR|FAILED' "$T/run.$march" >&2; fail "MARCH=$march: cgp suite failed"; }
    echo "MARCH=$march: $(grep -c '\[       OK \]' "$T/run.$march") cgp tests passed"
done

# A data set of D items: 3 inputs, 2 outputs (a*b + c, (a >> 1) ^ c), values from a fixed LCG.
make_data() {
    local d=$1 x=12345 a b c
    { echo "cgpc-data v1"; echo "inputs 3"; echo "outputs 2"; echo "items $d"
      for i in $(seq 1 "$d"); do
          x=$(( (x * 1103515245 + 12345) % 2147483648 )); a=$(( x % 256 - 128 ))
          x=$(( (x * 1103515245 + 12345) % 2147483648 )); b=$(( x % 256 - 128 ))
          x=$(( (x * 1103515245 + 12345) % 2147483648 )); c=$(( x % 256 - 128 ))
          w() { echo $(( ((($1) % 256) + 256 + 128) % 256 - 128 )); }
          echo "$a $b $c $(w "$a * $b + $c") $(w "($a >> 1) ^ $c")"
      done; } >"$T/data$d.txt"
}
for d in 1 6 20 70; do
    make_data "$d"
    paths=(scalar)
    grep -q -w avx2 /proc/cpuinfo && paths+=(avx2)
    grep -q -w avx512bw /proc/cpuinfo && grep -q -w gfni /proc/cpuinfo && paths+=(avx512)
    for p in "${paths[@]}"; do
        expect_exit 0 env CGPC_ISA="$p" "$CGPC" evolve --data "$T/data$d.txt" --rows 6 --cols 12 \
            --generations 3000 --mse-thresholds 49 0 --seed 3 --threads 1 --out "$T/$p.$d"
        zcat "$T/$p.$d/statistics.0.csv.gz" | cut -d, -f1-3,5- >"$T/$p.$d/stats.txt"
    done
    for p in "${paths[@]}"; do
        for f in results.csv pareto.0.csv best.0.0.chr best.0.7.chr stats.txt; do
            cmp "$T/scalar.$d/$f" "$T/$p.$d/$f" || fail "$d items: $p differs from scalar in $f"
        done
    done
    echo "$d items: ${paths[*]} identical"
done
echo ok
