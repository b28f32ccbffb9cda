#!/usr/bin/env bash
# `cgpc pbs` against a real scheduler: a single-node Slurm cluster with the Torque/PBS wrappers
# (scripts/slurm-local.sh) on localhost. Submits a small experiment in 2 batches under a short
# walltime whose margin stops evolution early (as a walltime would), checks that status reports
# the interrupted batch(es) unfinished, resubmits them with a longer walltime, waits for all to
# be done, merges, and checks the merged directory equals an uninterrupted local `cgpc train`
# with the same seeds: best.*.chr, results.csv and config.txt byte for byte, the statistics
# with the seconds column stripped; then model-metrics reads it.
# Needs root (slurmd runs jobs as their users) and the slurm packages (installed by apt-get if
# missing); skips otherwise. About 1 minute (scaled to the machine's speed); SLOW=1 adds a
# batch stopped by the scheduler's own walltime SIGTERM (2 more minutes).
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"

[ "$(id -u)" -eq 0 ] || skip "pbs_slurm needs root to start slurmd (not root here)"
bash scripts/slurm-local.sh install >"$T/install.log" 2>&1 ||
    skip "pbs_slurm: cannot install the slurm packages: $(tail -n 1 "$T/install.log")"

CLUSTER=$T/cluster
export SLURM_LOCAL_PORT_BASE=$((20000 + ($$ % 5000) * 2))
cleanup() {
    bash scripts/slurm-local.sh stop "$CLUSTER" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
bash scripts/slurm-local.sh start "$CLUSTER" >"$T/start.log" 2>&1 ||
    skip "pbs_slurm: cannot start the slurm daemons: $(tail -n 1 "$T/start.log")"
export SLURM_CONF=$CLUSTER/slurm.conf

EXP=experiments/single_filter.exp
# Calibrate: generations per threshold for about 24 s per run at the calibrated rate on this
# machine and build (the rate train reports counts evolution only, not the start-up). The rate
# varies with load and with the circuits evolved (an ASan run once went 1.4x faster than its
# calibration), so the batch that must be interrupted gets 4x the work that fits its time.
expect_exit 0 "$CGPC" train "$EXP" --generations 1000000 --thresholds 4 --runs 1 --threads 1 \
    --out "$T/calib"
rate=$(sed -n 's/^cgpc train: .* generations in .* s (\([0-9]*\)\/s)$/\1/p' "$T/err")
[ -n "$rate" ] || fail "no generations/s in: $(cat "$T/err")"
gens=$((rate * 12))
small=(--generations "$gens" --thresholds "4 1" --runs 3)
echo "calibrated: $rate generations/s -> --generations $gens"


# wait_done SECONDS: until no batch is queued or running; prints the status.
wait_settled() {
    local deadline=$((SECONDS + $1))
    while :; do
        "$CGPC" pbs status "$T/job" --json >"$T/status.json"
        grep -q '"state": "\(queued\|running\)"' "$T/status.json" || break
        [ $SECONDS -lt $deadline ] || { cat "$T/status.json"; squeue || true;
            fail "batches not settled after $1 s"; }
        sleep 1
    done
    "$CGPC" pbs status "$T/job"
}

# Walltime 60 s (Slurm's minimum unit) with a 48 s margin: evolution stops after 12 s. Batch 1
# (two runs, ~48 s of work) hits the limit unless this machine got 4x faster than at
# calibration; batch 0 (one run, ~24 s) usually does too: then both are resubmitted, which the
# checks below allow.
expect_exit 0 "$CGPC" pbs submit "$EXP" "${small[@]}" --batches 2 --out "$T/job" \
    --time-limit 00:01:00 --margin 48
expect_contains "$T/out" "submitted 0-1 as"
expect_contains "$T/job/submissions.log" "batches 0-1 job"
wait_settled 120 >"$T/s1"
cat "$T/s1"
grep -q '^1 .*unfinished' "$T/s1" || fail "batch 1 was not reported unfinished"
[ -f "$T/job/batches/1/out/checkpoint" ] || fail "batch 1 left no checkpoint"
expect_contains "$T/job/batches/1/log" "stopped early"
# The reference: one uninterrupted local run of all 3 runs (in the background meanwhile).
"$CGPC" train "$EXP" "${small[@]}" --threads 1 --out "$T/ref" >"$T/ref.log" 2>&1 &
ref_pid=$!
expect_exit 1 "$CGPC" pbs merge "$T/job"
expect_contains "$T/err" "not done: .*1 (unfinished)"

# Resubmit with a longer walltime: only the batches that are not done, each from its checkpoint.
not_done=$(awk '/^[0-9]/ && $3 == "unfinished" || /^[0-9]/ && $3 == "failed" { n++ } END { print n }' "$T/s1")
expect_exit 0 "$CGPC" pbs resubmit "$T/job" --time-limit 00:05:00
cat "$T/out"
[ "$(grep -c 'resubmitted as' "$T/out")" -eq "$not_done" ] || fail "resubmitted other batches"
[ -f "$T/job/resubmit/batch-1.sh" ] || fail "no resubmit wrapper for batch 1"
expect_contains "$T/job/job.sh" "walltime=00:05:00"
wait_settled 240 >"$T/s2"
cat "$T/s2"
[ "$(grep -c ' done ' "$T/s2")" -eq 2 ] || fail "not all batches done after resubmission"
expect_contains "$T/job/batches/1/log" "resuming"
expect_exit 0 "$CGPC" pbs resubmit "$T/job"
expect_contains "$T/out" "nothing to resubmit"

expect_exit 0 "$CGPC" pbs merge "$T/job"
wait "$ref_pid" || { cat "$T/ref.log"; fail "the reference train failed"; }
M=$T/job/merged
for f in "$T"/ref/best.*.chr "$T/ref/results.csv" "$T/ref/config.txt"; do
    cmp -s "$f" "$M/$(basename "$f")" || fail "merged $(basename "$f") differs from the local run"
done
[ "$(ls "$M"/best.*.chr | wc -l)" -eq "$(ls "$T"/ref/best.*.chr | wc -l)" ] ||
    fail "merged directory has other best.*.chr files"
strip() { zcat "$1" | cut -d, -f1-3,5-; } # statistics without column 4, seconds
for r in 0 1 2; do
    cmp -s <(strip "$T/ref/statistics.$r.csv.gz") <(strip "$M/statistics.$r.csv.gz") ||
        fail "merged statistics.$r differ from the local run (seconds column ignored)"
done
expect_exit 0 "$CGPC" model-metrics "$M" --limit 200 --no-reference --out "$T/metrics.csv"
[ "$(wc -l <"$T/metrics.csv")" -eq 7 ] || fail "model-metrics: expected 6 rows (3 runs x 2)"

# SLOW=1: no margin, so the scheduler's own walltime kill (SIGTERM, up to a minute late, SIGKILL
# 30 s later) must stop the batch with a checkpoint. About 2 more minutes.
if [ "${SLOW:-0}" = 1 ]; then
    expect_exit 0 "$CGPC" pbs submit "$EXP" --generations 2000000000 --thresholds 0 --runs 1 \
        --out "$T/kill" --time-limit 00:01:00 --margin 0
    deadline=$((SECONDS + 240))
    until grep -q '^\(unfinished\|done\|failed\)' "$T/kill/batches/0/state" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "the walltime kill did not end the batch in 240 s"
        sleep 2
    done
    expect_exit 0 "$CGPC" pbs status "$T/kill"
    cat "$T/out"
    expect_contains "$T/out" "^0 .*unfinished"
    [ -f "$T/kill/batches/0/out/checkpoint" ] || fail "no checkpoint after the walltime kill"
fi
echo ok
