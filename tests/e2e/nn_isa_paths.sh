#!/usr/bin/env bash
# The vector kernels' other instruction-set paths: this machine's build (-march=native) runs
# its own (AVX-512 + VNNI here); this test builds and runs the nn suite (every batch and
# per-image kernel against its scalar reference, whole passes against the reference chain)
# for AVX2 (MARCH=x86-64-v3: 8-lane vectors, int8 pairs GEMM) and plain x86-64 (SSE2: 4-lane
# vectors, scalar requantization), each in its own build directory. Needs an x86-64 host.
source "$(dirname "$0")/lib.sh"
# The release variants, also under `make SANITIZER=... test` (make exports its command-line
# variables to the tests, and the variant's directory follows them).
cd "$CGPC_ROOT"

[ "$(uname -m)" = x86_64 ] || skip "not an x86-64 host"
for march in x86-64-v3 x86-64; do
    grep -q -w avx2 /proc/cpuinfo || [ "$march" = x86-64 ] || { echo "$march: no AVX2 here"; continue; }
    bin="build/release-$march/tests/test_nn"
    env -u MAKEFLAGS -u MAKELEVEL -u SANITIZER -u DEBUG -u NO_OMP make -s -j2 MARCH="$march" "$bin" >"$T/build.$march" 2>&1 || { tail -n 30 "$T/build.$march" >&2; fail "MARCH=$march build failed"; }
    CGPC_ROOT="$CGPC_ROOT" "$bin" >"$T/run.$march" 2>&1 || { grep -E 'ERROR|FAILED' "$T/run.$march" >&2; fail "MARCH=$march: nn suite failed"; }
    echo "MARCH=$march: $(grep -c '\[       OK \]' "$T/run.$march") nn tests passed"
done
echo ok
