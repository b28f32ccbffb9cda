#!/usr/bin/env bash
# One writer per run directory (src/common/lock.h): two `cgpc train` started together on one
# --out, 20 times: every time exactly one runs (exit 0), the other fails at once (exit 1)
# naming the holder's pid and host, and the directory equals a clean single run with the
# winner's seed (every file compared; the seconds columns stripped). Also: `evolve` and
# readers (`model-metrics`) against a held directory, stale temp files of a killed process
# removed by the next writer, and the exit-status convention (0 ok, 1 failure, 2 usage,
# 3 stopped early with a checkpoint).
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
EXP=experiments/single_channel.exp
small=(--generations 1500 --threads 1)

# normalised contents of a run directory: every file, timing fields removed
snapshot() {
    local d=$1 f
    for f in $(cd "$d" && ls -A | sort); do
        echo "== $f"
        case $f in
        .cgpc-lock) cat "$d/$f" ;;   # must be empty after a clean exit
        statistics.*.csv.gz) zcat "$d/$f" | cut -d, -f4 --complement ;;
        checkpoint) grep -v -e '^stage-seconds ' -e '^run-seconds ' "$d/$f" ;;
        *) cat "$d/$f" ;;
        esac
    done
}

for s in 1 7; do
    expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --seed $s --out "$T/clean$s"
    snapshot "$T/clean$s" >"$T/clean$s.txt"
done
cmp -s "$T/clean1.txt" "$T/clean7.txt" && fail "seeds 1 and 7 give the same directory"

for trial in $(seq 20); do
    d=$T/race$trial
    pids=()
    for s in 1 7; do
        "$CGPC" train "$EXP" "${small[@]}" --seed $s --out "$d" >"$T/o$s" 2>"$T/e$s" &
        pids+=($!)
    done
    rc1=0; wait "${pids[0]}" || rc1=$?
    rc7=0; wait "${pids[1]}" || rc7=$?
    if [ "$rc1" -eq 0 ] && [ "$rc7" -eq 1 ]; then win=1 lose=7
    elif [ "$rc7" -eq 0 ] && [ "$rc1" -eq 1 ]; then win=7 lose=1
    else
        cat "$T/e1" "$T/e7" >&2
        fail "trial $trial: exits $rc1 (seed 1) and $rc7 (seed 7), expected one 0 and one 1"
    fi
    # the loser either found the lock held, or came second and found the finished run
    grep -q -e "another cgpc process (pid [0-9]* on host $(hostname)) is writing" \
        -e "already holds a run" "$T/e$lose" || { cat "$T/e$lose" >&2; fail "trial $trial: loser's message"; }
    snapshot "$d" >"$T/race.txt"
    cmp -s "$T/race.txt" "$T/clean$win.txt" ||
        { diff "$T/race.txt" "$T/clean$win.txt" | head -20 >&2; fail "trial $trial: directory differs from a clean run with seed $win"; }
done

# A held directory: hold the lock with flock(1) the way a writer does, then every writer
# fails at once with exit 1 and the reader refuses too.
mkdir -p "$T/held"
printf 'cgpc-lock v1\npid 4242\nhost farnode7\n' >"$T/held/.cgpc-lock"
exec 9<"$T/held/.cgpc-lock"
flock -x 9
expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/held"
expect_contains "$T/err" "another cgpc process (pid 4242 on host farnode7) is writing this run directory"
expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/held" --resume
expect_exit 1 "$CGPC" evolve --resume "$T/held"
expect_contains "$T/err" "pid 4242 on host farnode7"
for f in "$T"/clean1/*; do cp "$f" "$T/held/"; done
expect_exit 1 "$CGPC" model-metrics "$T/held" --limit 10
expect_contains "$T/err" "pid 4242 on host farnode7"
exec 9<&-
[ ! -s "$T/held/.cgpc-lock" ] || grep -q farnode7 "$T/held/.cgpc-lock" || fail "lock record rewritten by a loser"

# Stale temp files: one from a dead process is removed by the next writer, one whose pid is
# alive stays, other files stay.
sleep 30 & alive=$!
( exit 0 ) & dead=$!; wait $dead
echo partial >"$T/clean1/checkpoint.tmp.$dead"
echo partial >"$T/clean1/results.csv.tmp.$alive"
echo keep >"$T/clean1/notes.tmp.txt"
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/clean1" --resume
[ ! -e "$T/clean1/checkpoint.tmp.$dead" ] || fail "stale temp file of a dead process left"
[ -e "$T/clean1/results.csv.tmp.$alive" ] || fail "temp file of a live process removed"
[ -e "$T/clean1/notes.tmp.txt" ] || fail "a non-temp file removed"
kill $alive; wait $alive 2>/dev/null || true

# Exit statuses, one convention: 0 ok, 1 runtime failure, 2 usage, 3 stopped with a checkpoint.
expect_exit 0 "$CGPC" help
expect_contains "$T/out" "exit status: 0 ok, 1 runtime failure, 2 usage error, 3 stopped early"
expect_exit 1 "$CGPC" train "$EXP" "${small[@]}" --out "$T/clean7"        # holds a run
expect_contains "$T/err" "already holds a run"
expect_exit 2 "$CGPC" train "$EXP" "${small[@]}" --out "$T/u" --rows 0
expect_exit 3 "$CGPC" train "$EXP" --generations 100000000 --thresholds 0 --threads 1 \
    --out "$T/stop" --stop-after 0.3
expect_contains "$T/err" "--resume"
data=$T/d.txt
printf 'cgpc-data v1\ninputs 2\noutputs 1\nitems 3\n1 2 3\n4 5 6\n7 8 9\n' >"$data"
expect_exit 0 "$CGPC" evolve --data "$data" --out "$T/ev" --generations 50 --threads 1
expect_exit 1 "$CGPC" evolve --data "$data" --out "$T/ev" --generations 50 --threads 1
expect_contains "$T/err" "already holds an evolve run"
expect_exit 2 "$CGPC" evolve --data "$data" --out "$T/ev2" --rows 0
expect_contains "$T/err" "usage: --rows: '0'"
expect_exit 3 "$CGPC" evolve --data "$data" --out "$T/ev3" --generations 100000 --threads 1 \
    --stop-after-generations 10
expect_contains "$T/err" "continue with --resume"
expect_exit 0 "$CGPC" evolve --resume "$T/ev3"
echo ok
