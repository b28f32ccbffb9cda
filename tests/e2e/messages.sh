#!/usr/bin/env bash
# Error messages name the option or file and keep their reason: a bad option value names the
# option (not the value) once, a long path is shortened in its middle so the reason survives.
# A usage error leaves no directory. A hand-edited config.txt is named with line and field
# (unparsable) or with the value it no longer matches (train --resume, exit 1); a different
# --checkpoint-every on train --resume is refused (exit 2).
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

# train: an experiment key given as an option is named once, as typed; usage errors (also the
# run range, known only from the experiment) leave no directory
EXP=$CGPC_ROOT/experiments/single_channel.exp
expect_exit 2 "$CGPC" train "$EXP" --out "$T/t" --rows 0
expect_contains "$T/err" "^cgpc train: usage: --rows: '0': must be in \[1, 1048576\]$"
expect_exit 2 "$CGPC" train "$EXP" --out "$T/t" --levels-back x
expect_contains "$T/err" "^cgpc train: usage: --levels-back: 'x': expected"
expect_exit 2 "$CGPC" pbs generate "$EXP" --out "$T/t" --eval-limit -1
expect_contains "$T/err" "^cgpc pbs: usage: --eval-limit: '-1': must be in"
expect_exit 2 "$CGPC" train "$EXP" --out "$T/t" --run-first 5
expect_contains "$T/err" "usage: --run-first 5 --run-count 0: the experiment has runs 0..0"
expect_exit 2 "$CGPC" train "$EXP" --out "$T/t/sub" --runs 2 --run-first 1 --run-count 2 --all-layers
[ ! -e "$T/t" ] || fail "a train usage error created the output directory"

# train --resume: config.txt edited by hand, --checkpoint-every
small=(--generations 400 --thresholds "16 4" --runs 2 --threads 1)
expect_exit 3 "$CGPC" train "$EXP" "${small[@]}" --out "$T/r" --stop-after 0.001 --checkpoint-every 30
cp -r "$T/r" "$T/r.orig"
rows_line=$(grep -n '^rows ' "$T/r.orig/config.txt" | cut -d: -f1)
# refused SED PATTERN: config.txt edited by SED, then train --resume exits 1 saying PATTERN
refused() {
    rm -rf "$T/r"; cp -r "$T/r.orig" "$T/r"; sed -i "$1" "$T/r/config.txt"
    expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/r" --resume
    expect_contains "$T/err" "$2"
}
refused 's/^rows 30$/rows thirty/' \
    "^cgpc train: $T/r/config.txt:$rows_line: rows: 'thirty': expected an integer$"
refused 's/^rows 30$/rowz 30/' \
    "config.txt:$rows_line: unknown key 'rowz': expected 'key value' with a key of rows, cols,"
refused '$a rows 30' "config.txt:[0-9]*: rows: given twice (first on line $rows_line)"
refused 's/^rows 30$/rows 31/' \
    "config.txt: rows is '31', but experiment.exp gives '30': config.txt was changed"
refused 's/^thresholds .*/thresholds 256 9/' \
    "thresholds is '256 9', but experiment.exp gives '256 16'"
rm -rf "$T/r"; cp -r "$T/r.orig" "$T/r"
expect_exit 2 "$CGPC" train "$EXP" "${small[@]}" --out "$T/r" --resume --checkpoint-every 10
expect_contains "$T/err" "usage: --resume $T/r: checkpoint-every: the run was started with '30', not '10' (--checkpoint-every)"
cmp "$T/r/checkpoint" "$T/r.orig/checkpoint" || fail "a refused resume changed the checkpoint"
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/r" --resume --checkpoint-every 30
echo ok
