#!/usr/bin/env bash
# `make bench`: runs every bench/*.sh (except this file) in name order; a failing benchmark
# is reported and the others still run. Exit status 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export CGPC=${CGPC:-bin/cgpc}
status=0
for b in bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $b"
    bash "$b" || { echo "== $b FAILED"; status=1; }
done
exit $status
