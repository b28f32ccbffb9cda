#!/usr/bin/env bash
# run.sh - `make bench`: runs every bench/*.sh except itself.
set -uo pipefail
rc=0
for b in "$(dirname "$0")"/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $(basename "$b")"
    bash "$b" || rc=1
done
exit $rc
