#!/usr/bin/env bash
# cgpc evolve + circuit on a small data set the search can solve (outputs a+b, a-b, a>>1 of two
# inputs): files in DIR, circuit show/eval agree with results.csv, --threads 1 and 2 give
# identical outputs, option errors exit 2, data errors exit 1 with file:line.
source "$(dirname "$0")/lib.sh"

data=$T/easy.txt
{
    echo "cgpc-data v1"; echo "inputs 2"; echo "outputs 3"; echo "items 24"
    echo "# a b | a+b a-b a>>1 (int8 wrap-around)"
    for d in $(seq 0 23); do
        a=$(( (d * 37) % 256 - 128 )); b=$(( (d * 91 + 5) % 256 - 128 ))
        w() { echo $(( ((($1) % 256) + 256 + 128) % 256 - 128 )); }
        echo "$a $b $(w "$a + $b") $(w "$a - $b") $(( a >> 1 ))"
    done
} >"$data"

common=(--data "$data" --rows 4 --cols 10 --generations 20000 --mutation-max 0.05
        --mse-thresholds 9 0 --seed 7)
expect_exit 0 "$CGPC" evolve "${common[@]}" --out "$T/r1" --threads 1
expect_contains "$T/out" "generations/s"
# files and results.csv name thresholds per weight (mse 9 = 3 per weight), the metric beside
for f in config.txt data.txt checkpoint results.csv pareto.0.csv statistics.0.csv.gz \
         best.0.3.chr best.0.0.chr; do
    [ -s "$T/r1/$f" ] || fail "missing $T/r1/$f"
done
[ ! -e "$T/r1/statistics.0.csv.part" ] || fail "journal left behind after the run"
expect_contains "$T/r1/checkpoint" "^status done"
expect_contains "$T/r1/results.csv" "^run,threshold,threshold_metric,reached,generations,error,error_metric,"
expect_contains "$T/r1/results.csv" "^0,3,9,yes,"
expect_contains "$T/r1/results.csv" "^0,0,0,yes,"
expect_contains "$T/r1/best.0.3.chr" "^# best of run 0 for threshold 3 per weight (mse 9, "
# progress without a terminal (as in cluster logs): the train lines, one per threshold's end
grep -q '^run 1/1 threshold 1/2 (3 per weight) gen [0-9]*/40000 best error [0-9.e+-]* per weight energy .* ETA .*(threshold done)$' "$T/err" ||
    fail "evolve: no progress line for threshold 1 in the log"
[ "$(grep -c '(threshold done)$' "$T/err")" -eq 2 ] || fail "evolve: expected 2 progress lines"
grep -q $'\r' "$T/err" && fail "evolve: carriage returns in a non-terminal log"
expect_exit 0 "$CGPC" evolve "${common[@]}" --out "$T/r0" --threads 1 --progress-every 0
[ "$(grep -c '^run 1/1 threshold' "$T/err")" -gt 2 ] || fail "--progress-every 0: no periodic lines"
expect_exit 2 "$CGPC" evolve "${common[@]}" --out "$T/rx" --progress-every -1
expect_contains "$T/r1/best.0.0.chr" "^cgpc-chromosome v1"
zcat "$T/r1/statistics.0.csv.gz" | head -1 | grep -qx "# cgpc-statistics v3" || fail "statistics magic"
zcat "$T/r1/statistics.0.csv.gz" | sed -n 2p |
    grep -qx "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,threshold_metric,error_metric,circuit" ||
    fail "statistics header"
# CSV readers (pandas.read_csv(path, comment='#'), python's csv) see 13 columns on every row;
# the circuit column is a full circuit on the first row, then deltas ("~...") or full circuits;
# threshold and error per weight (mse 9 = 3 per weight; error = sqrt(mse)), the metric's beside
zcat "$T/r1/statistics.0.csv.gz" | python3 -c '
import csv, math, sys
rows = list(csv.reader(l for l in sys.stdin if not l.startswith("#")))
assert rows[0][-1] == "circuit" and len(rows) > 3, rows[0]
assert all(len(r) == 13 for r in rows), "a row without 13 columns"
assert "out=" in rows[1][12] and not rows[1][12].startswith("~"), rows[1][12][:80]
assert any(r[12].startswith("~") for r in rows[2:]), "no delta rows"
assert {(r[1], r[10]) for r in rows[1:]} == {("3", "9"), ("0", "0")}, "thresholds"
assert all(abs(float(r[4]) - math.sqrt(float(r[11]))) <= 1e-9 * max(1, float(r[4]))
           for r in rows[1:]), "error per weight is not sqrt(mse)"
' || fail "statistics not readable as CSV with deltas"

# circuit eval recomputes the error (0) and the energy that results.csv reports
expect_exit 0 "$CGPC" circuit eval "$T/r1/best.0.0.chr" --data "$data"
expect_contains "$T/out" "^error 0$"
energy=$(awk -F, '$2 == "0" {print $8}' "$T/r1/results.csv")
got=$(awk '$1 == "energy_pj" {print $2}' "$T/out")
awk -v a="$energy" -v b="$got" 'BEGIN { exit !((a - b) < 1e-9 && (b - a) < 1e-9) }' ||
    fail "circuit eval energy $got != results.csv $energy"
expect_exit 0 "$CGPC" circuit show "$T/r1/best.0.0.chr"
expect_contains "$T/out" "^out0"
expect_contains "$T/out" "^gates "

# same seed, two threads (forced on every generation): identical files (statistics without
# the seconds column)
expect_exit 0 "$CGPC" evolve "${common[@]}" --out "$T/r2" --threads 2 --parallel-min-work 0
for f in results.csv pareto.0.csv best.0.3.chr best.0.0.chr; do
    cmp "$T/r1/$f" "$T/r2/$f" || fail "$f differs between --threads 1 and 2"
done
cmp <(zcat "$T/r1/statistics.0.csv.gz" | cut -d, -f4 --complement) \
    <(zcat "$T/r2/statistics.0.csv.gz" | cut -d, -f4 --complement) ||
    fail "statistics differ between --threads 1 and 2"

# --runs 3 on 2 threads: the runs go concurrently, one per thread, and the files equal one
# thread's (the checkpoint too); stopped half-way (the lowest run in flight is checkpointed,
# the later ones redone) and resumed on 2 threads: the same again
files_equal() { # DIR1 DIR2 WHAT
    cmp <(ls "$1") <(ls "$2") || fail "$3: not the same files"
    for f in $(cd "$1" && ls | grep -v '^statistics'); do
        cmp "$1/$f" "$2/$f" || fail "$3: $f differs"
    done
    for s in $(cd "$1" && ls | grep '^statistics'); do
        cmp <(zcat "$1/$s" | cut -d, -f4 --complement) <(zcat "$2/$s" | cut -d, -f4 --complement) ||
            fail "$3: $s differs"
    done
}
expect_exit 0 "$CGPC" evolve "${common[@]}" --runs 3 --out "$T/n1" --threads 1
expect_exit 0 "$CGPC" evolve "${common[@]}" --runs 3 --out "$T/n2" --threads 2
files_equal "$T/n1" "$T/n2" "--runs 3, --threads 1 and 2"
expect_exit 3 "$CGPC" evolve "${common[@]}" --runs 3 --out "$T/n3" --threads 2 \
    --stop-after-generations 30000
expect_contains "$T/err" "continue with --resume"
expect_contains "$T/n3/checkpoint" "^status running"
expect_exit 0 "$CGPC" evolve --resume "$T/n3" --threads 2
files_equal "$T/n1" "$T/n3" "--runs 3 stopped and resumed on 2 threads"

# independent thresholds (fixed length: no patience, no time limit) go one stage per thread:
# --runs 2 x 3 thresholds on 2 threads equal 1 thread's files; stopped by
# --stop-after-generations and by SIGINT half-way and resumed on 2 threads, the same again
ind=(--data "$data" --rows 4 --cols 10 --generations 150000 --mutation-max 0.05
     --mse-thresholds 9 4 0 --seed 7 --independent --runs 2 --checkpoint-every 0.05)
expect_exit 0 "$CGPC" evolve "${ind[@]}" --out "$T/i1" --threads 1
expect_exit 0 "$CGPC" evolve "${ind[@]}" --out "$T/i2" --threads 2
files_equal "$T/i1" "$T/i2" "independent thresholds, --threads 1 and 2"
expect_exit 3 "$CGPC" evolve "${ind[@]}" --out "$T/i3" --threads 2 \
    --stop-after-generations 200000
expect_contains "$T/i3/checkpoint" "^status running"
expect_exit 0 "$CGPC" evolve --resume "$T/i3" --threads 2
files_equal "$T/i1" "$T/i3" "independent thresholds stopped and resumed on 2 threads"
"$CGPC" evolve "${ind[@]}" --out "$T/i4" --threads 2 >/dev/null 2>"$T/i4.err" &
pid=$!
for _ in $(seq 200); do grep -q "^stage [12]" "$T/i4/checkpoint" 2>/dev/null && break; sleep 0.02; done
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 3 ] || [ "$rc" -eq 0 ] || fail "SIGINT on 2 threads: exit $rc"
[ "$rc" -eq 0 ] && echo "note: the run ended before SIGINT came"
expect_exit 0 "$CGPC" evolve --resume "$T/i4" --threads 2
files_equal "$T/i1" "$T/i4" "independent thresholds interrupted and resumed on 2 threads"

# the start files are written by a thread of their own while the runs begin: one that cannot be
# written (config.txt is a directory) still fails the command at once (1), naming the file
mkdir -p "$T/cfgdir/config.txt"
expect_exit 1 timeout 60 "$CGPC" evolve "${ind[@]}" --generations 100000000 --out "$T/cfgdir" \
    --threads 2
expect_contains "$T/err" "config.txt: cannot rename into place"

# a second run into the same directory is refused: a runtime failure (1), as in train
expect_exit 1 "$CGPC" evolve "${common[@]}" --out "$T/r1"
expect_contains "$T/err" "already holds an evolve run"

# usage errors: exit 2, one line
expect_exit 2 "$CGPC" evolve --data "$data"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --rows 0
expect_contains "$T/err" "usage: --rows: '0': must be in \[1, "
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --cols=-3
expect_contains "$T/err" "usage: --cols: '-3'"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --error rms
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --functions add,foo
expect_contains "$T/err" "unknown operator 'foo'"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --functions add,mux2
expect_contains "$T/err" "only available with multiplex"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/x" --bogus
expect_exit 2 "$CGPC" circuit frobnicate "$T/r1/best.0.0.chr"

# data and chromosome errors: exit 1 naming file:line
printf 'cgpc-data v1\ninputs 1\noutputs 1\nitems 1\n5 300\n' >"$T/bad.txt"
expect_exit 1 "$CGPC" evolve --data "$T/bad.txt" --out "$T/x"
expect_contains "$T/err" "bad.txt:5: output 1"
head -c 300 "$T/r1/best.0.0.chr" >"$T/trunc.chr"
expect_exit 1 "$CGPC" circuit show "$T/trunc.chr"
expect_contains "$T/err" "trunc.chr:"

# multiplexed layers: the item index selects, so one circuit can emit per-layer constants
printf 'cgpc-data v1\ninputs 0\noutputs 2\nitems 4\n5 -3\n-7 2\n5 -3\n100 9\n' >"$T/layers.txt"
expect_exit 0 "$CGPC" evolve --data "$T/layers.txt" --out "$T/mux" --multiplex --rows 6 \
    --cols 12 --generations 30000 --mutation-max 0.1 --error se --mse-thresholds 0
expect_contains "$T/mux/results.csv" "^0,0,0,"
expect_exit 0 "$CGPC" circuit eval "$T/mux/best.0.0.chr" --data "$T/layers.txt" --error se
# value slots for a constant-only layer with 300 outputs (the prototype broke below 256):
# 300 outputs of 5 distinct values, the best file is wired back to all 300 outputs
{
    echo "cgpc-data v1"; echo "inputs 0"; echo "outputs 300"; echo "items 1"
    for o in $(seq 0 299); do printf '%d ' $(( (o % 5) * 20 - 40 )); done; echo
} >"$T/consts.txt"
expect_exit 0 "$CGPC" evolve --data "$T/consts.txt" --out "$T/slots" --value-slots --rows 4 \
    --cols 12 --generations 20000 --mutation-max 0.1 --functions const1,const_m1,add,shl1,shl2,neg
expect_contains "$T/slots/slots.txt" "^slots 5$"
expect_exit 0 "$CGPC" circuit eval "$T/slots/best.0.0.chr" --data "$T/consts.txt"
err_line=$(grep '^error ' "$T/out")
expect_exit 0 "$CGPC" circuit show "$T/slots/best.0.0.chr"
expect_contains "$T/out" "^out299 "
echo "value slots: $err_line"
echo ok
