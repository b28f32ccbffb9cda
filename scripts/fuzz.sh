#!/usr/bin/env bash
# fuzz.sh TARGET... - run each libFuzzer target (built by `make fuzz`) for $FUZZ_SECONDS,
# $FUZZ_JOBS targets at a time, niced. Inputs: tests/fuzz/corpus/T and tests/fuzz/regressions/T
# (read only); new interesting inputs go to $FUZZ_BUILD/work/T (not in git); crashes, leaks and
# timeouts to $FUZZ_BUILD/crashes/T/. Prints one line per target: executions, exec/s, new
# crashes. Exit status 1 if any target found a crash (keep it: minimise with the binary's
# -minimize_crash=1, fix, and add the input to tests/fuzz/regressions/T/).
set -uo pipefail
: "${FUZZ_BUILD:=build/fuzz}" "${FUZZ_SECONDS:=60}" "${FUZZ_JOBS:=2}"
[ $# -gt 0 ] || { echo "usage: fuzz.sh TARGET..." >&2; exit 2; }

run_one() {
    local t=$1 bin=$FUZZ_BUILD/fuzz_$1
    local work=$FUZZ_BUILD/work/$t crashes=$FUZZ_BUILD/crashes/$t log=$FUZZ_BUILD/logs/$t.log
    mkdir -p "$work" "$crashes" "$(dirname "$log")" "tests/fuzz/regressions/$t"
    # -timeout: an input running this long is a finding (a hang); the malloc limit makes a
    # huge allocation one too
    nice -n 10 "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
        -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" >"$log" 2>&1
    local rc=$?
    local execs rate n_crash
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    n_crash=$(find "$crashes" -type f | wc -l)
    printf 'fuzz %-14s %10s executions in %ss (%s/s), exit %d, %d crash/leak/timeout file(s) in %s\n' \
        "$t" "${execs:-?}" "$FUZZ_SECONDS" "${rate:-?}" "$rc" "$n_crash" "$crashes"
    [ "$rc" -eq 0 ] && [ "$n_crash" -eq 0 ]
}

export -f run_one
export FUZZ_BUILD FUZZ_SECONDS
printf '%s\n' "$@" | xargs -P "$FUZZ_JOBS" -I{} bash -c 'run_one "$@"' _ {} >"$FUZZ_BUILD/summary.txt"
rc=$?
sort "$FUZZ_BUILD/summary.txt"
[ "$rc" -eq 0 ] || { echo "fuzz: findings above; logs in $FUZZ_BUILD/logs/" >&2; exit 1; }
