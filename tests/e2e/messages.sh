#!/usr/bin/env bash
# Error messages name the option or file and keep their reason: a bad option value names the
# option (not the value), a long path is shortened in its middle so the reason survives.
source "$(dirname "$0")/lib.sh"

data=$T/d.txt
printf 'cgpc-data v1\ninputs 2\noutputs 1\nitems 2\n1 2 3\n4 5 6\n' >"$data"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --rows 0
expect_contains "$T/err" "^cgpc evolve: usage: --rows: '0': must be in \[1, 1048576\]$"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --lambda=5000
expect_contains "$T/err" "usage: --lambda: '5000': must be in"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --generations 1e3
expect_contains "$T/err" "usage: --generations: '1e3'"
expect_exit 2 "$CGPC" train-model --arch lenet5 --out "$T/m" --epochs -1
expect_contains "$T/err" "usage: --epochs: '-1'"
[ ! -e "$T/x" ] || fail "a usage error created the output directory"

# a path of ~1500 bytes: the message keeps its start, its end and the reason
long=$T
for i in $(seq 12); do long=$long/$(printf 'd%.0s' $(seq 120))$i; done
expect_exit 1 "$CGPC" evolve --data "$long/data.txt" --out "$T/y"
expect_contains "$T/err" "data.txt: cannot open: No such file or directory$"
expect_contains "$T/err" "^cgpc evolve: $T/ddd"
expect_contains "$T/err" "\.\.\."
[ "$(wc -c <"$T/err")" -lt 600 ] || fail "message not shortened"
echo ok
