# lib.sh - helpers for end-to-end CLI tests. Source it; then use `expect_exit CODE cmd...`,
# `expect_contains FILE TEXT`, `fail MSG`. $CGPC is the binary under test, $T a temp dir
# removed on exit. A test that cannot run here exits 77 (skipped) with a reason.
set -euo pipefail
: "${CGPC:=bin/cgpc}"
: "${CGPC_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CGPC=$(cd "$(dirname "$CGPC")" && pwd)/$(basename "$CGPC")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

# expect_exit CODE cmd... : run cmd, capture stdout/stderr into $T/out, $T/err, check exit code
expect_exit() {
    local want=$1; shift
    local rc=0
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "command: $*" >&2
        echo "stdout:" >&2; tail -n 20 "$T/out" >&2
        echo "stderr:" >&2; tail -n 20 "$T/err" >&2
        fail "expected exit $want, got $rc"
    fi
}

expect_contains() {
    grep -q -- "$2" "$1" || { echo "--- $1:" >&2; head -n 40 "$1" >&2; fail "$1 does not contain '$2'"; }
}
