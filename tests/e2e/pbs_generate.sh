#!/usr/bin/env bash
# cgpc pbs without a scheduler: generate with both templates (rendered #PBS lines), the job
# directory and its refusal rules, bad options, submit/resubmit through a fake qsub (array
# flags for Torque/Slurm and PBS Pro, submissions.log, per-batch wrappers), status from
# hand-written states, missing qsub, and batches run locally by job.sh (one via $SCRATCHDIR)
# merged into a directory equal to one `cgpc train`.
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
EXP=experiments/single_filter.exp
small=(--generations 300 --thresholds "4 1" --runs 3)

# ---- generate, default template
expect_exit 0 "$CGPC" pbs generate "$EXP" "${small[@]}" --out "$T/j" --batches 3 \
    --time-limit 1:30:00 --mem 1gb --ncpus 2 --queue long
J=$T/j
for f in pbs.conf experiment.exp job.sh run-batch.sh template.pbs; do
    [ -s "$J/$f" ] || fail "generate did not write $f"
done
[ -x "$J/run-batch.sh" ] && [ -x "$J/job.sh" ] || fail "scripts are not executable"
[ ! -e "$J/submissions.log" ] || fail "generate submitted"
expect_contains "$J/job.sh" "^#PBS -l walltime=01:30:00$"
expect_contains "$J/job.sh" "^#PBS -l nodes=1:ppn=2$"
expect_contains "$J/job.sh" "^#PBS -l mem=1gb$"
expect_contains "$J/job.sh" "^#PBS -q long$"
expect_contains "$J/job.sh" "^#PBS -N single_filter$"
expect_contains "$J/job.sh" "exec bash \"$J/run-batch.sh\" \"$J\""
grep -q '{{' "$J/job.sh" && fail "unrendered placeholder in job.sh"
expect_contains "$J/pbs.conf" "^cgpc-pbs 1$"
expect_contains "$J/pbs.conf" "^cgpc = $CGPC$"
expect_contains "$J/pbs.conf" "^runs = 3$"
expect_contains "$J/pbs.conf" "^batches = 3$"
expect_contains "$J/pbs.conf" "^margin_s = 540$"
expect_contains "$J/experiment.exp" "^generations = 300"
expect_contains "$J/experiment.exp" "^model = /.*/models/lenet5-mnist-int8.safetensors"

# ---- thesis template: select line with scratch, mem= last
expect_exit 0 "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/t" --template thesis \
    --scratch 20gb --mem 2gb --ncpus 4 --time-limit 100:00:00 --margin 300 --no-submit
expect_contains "$T/t/job.sh" "^#PBS -l select=1:ncpus=4:scratch_local=20gb:mem=2gb$"
expect_contains "$T/t/job.sh" "^#PBS -l walltime=100:00:00$"
expect_contains "$T/t/pbs.conf" "^template = thesis$"
[ ! -e "$T/t/submissions.log" ] || fail "--no-submit submitted"
# own template file; a bad one names file:line
printf '#PBS -l walltime={{WALLTIME}}\n#PBS -x {{NOPE}}\n' >"$T/bad.pbs"
expect_exit 1 "$CGPC" pbs generate "$EXP" --out "$T/b" --template "$T/bad.pbs"
expect_contains "$T/err" "bad.pbs:2: unknown placeholder '{{NOPE}}'"

# ---- the job directory: same job again is fine, a different one or a foreign dir is refused
expect_exit 0 "$CGPC" pbs generate "$EXP" "${small[@]}" --out "$J" --batches 3 \
    --time-limit 1:30:00 --mem 1gb --ncpus 2 --queue long
expect_exit 1 "$CGPC" pbs generate "$EXP" "${small[@]}" --out "$J" --batches 2
expect_contains "$T/err" "holds a different job"
mkdir -p "$T/other" && touch "$T/other/x"
expect_exit 1 "$CGPC" pbs generate "$EXP" --out "$T/other"
expect_contains "$T/err" "not a cgpc job directory"

# ---- bad options: exit 2, one line in the cgpc format
bad() { expect_exit 2 "$CGPC" pbs "$@"; expect_contains "$T/err" "^cgpc pbs: "; }
bad generate "$EXP" --out "$T/x" --batches 4 "${small[@]}"
expect_contains "$T/err" "must be in 1..3"
bad generate "$EXP" --out "$T/x" --batches 0
bad generate "$EXP" --out "$T/x" --mem lots
bad generate "$EXP" --out "$T/x" --time-limit soon
bad generate "$EXP" --out "$T/x" --time-limit 1:00:00 --margin 2:00:00
bad generate "$EXP" --out "$T/x" --queue "a b"
bad generate "$EXP" --out "$T/x" --template "$T/none.pbs"
bad generate "$EXP" --out "$T/x" --colour red
bad generate "$EXP" --out "$T/x" --rows 0
bad generate "$EXP"
bad status "$J" --mem 1gb
expect_contains "$T/err" "not an option of 'pbs status'"
bad explode "$J"
bad
[ ! -e "$T/x" ] || fail "a refused generate left $T/x"
expect_exit 0 "$CGPC" help pbs
for w in generate submit status resubmit merge --time-limit --margin --scratch --no-submit \
    --json "{{WALLTIME}}" "{{SCRATCH_SELECT}}" "(default: 500mb)" "--generations N"; do
    expect_contains "$T/out" "$w"
done
grep -q -- "--time-limit X" "$T/out" && fail "the experiment's time_limit is offered as an override"

# ---- qsub missing: a clear error, the directory is still generated
expect_exit 1 env PATH=/nonexistent "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/noq"
expect_contains "$T/err" "qsub: not found on PATH.*slurm-wlm-torque"
[ -s "$T/noq/job.sh" ] || fail "submit without qsub did not generate"

# ---- a fake qsub/qstat: Torque/Slurm flavour (-t), then PBS Pro (-J)
mkdir -p "$T/bin"
cat >"$T/bin/qsub" <<EOF
#!/bin/sh
echo "\$PWD \$*" >>"$T/qsub.log"
n=\$(wc -l <"$T/qsub.log")
echo "\$((100 + n)).server"
EOF
printf '#!/bin/sh\n[ -n "$FAKE_PRO" ] && echo "pbs_version = 2022.1.1" || echo "qstat: unknown option"\n' \
    >"$T/bin/qstat"
chmod +x "$T/bin/qsub" "$T/bin/qstat"
export PATH="$T/bin:$PATH"
expect_exit 0 "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/s" --batches 3
expect_contains "$T/qsub.log" "^$T/s -t 0-2 job.sh$"
expect_contains "$T/s/submissions.log" "batches 0-2 job 101.server script job.sh"
expect_exit 1 "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/s" --batches 3
expect_contains "$T/err" "already submitted"
expect_exit 0 env FAKE_PRO=1 "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/p" --batches 2
expect_contains "$T/qsub.log" "^$T/p -J 0-1 job.sh$"
expect_exit 0 env FAKE_PRO=1 "$CGPC" pbs submit "$EXP" "${small[@]}" --out "$T/one"
expect_contains "$T/qsub.log" "^$T/one job.sh$"

# ---- status from hand-written states, resubmit of unfinished and failed only
S=$T/s
mkdir -p "$S"/batches/{0,1,2}/out
echo done >"$S/batches/0/state"
echo unfinished >"$S/batches/1/state"
printf 'failed 1\n' >"$S/batches/2/state"
printf '== batch 2\ncgpc train: disk full\n== batch 2: exit 1 after 3 s\n' >"$S/batches/2/log"
expect_exit 0 "$CGPC" pbs status "$S"
expect_contains "$T/out" "^0 .*done"
expect_contains "$T/out" "^1 .*1-1 .*unfinished"
expect_contains "$T/out" "^2 .*failed .*exit 1"
expect_contains "$T/out" "    | cgpc train: disk full"
expect_contains "$T/out" "total: 3 batches: 1 done, 0 running, 0 queued, 1 unfinished, 1 failed"
expect_exit 0 "$CGPC" pbs status "$S" --json
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [b["state"] for b in d["batches"]] == ["done","unfinished","failed"]; assert d["totals"]["failed"] == 1' "$T/out" \
    || fail "status --json is not the expected JSON"
expect_exit 1 "$CGPC" pbs merge "$S"
expect_contains "$T/err" "2 of 3 batches are not done: 1 (unfinished), 2 (failed)"
: >"$T/qsub.log"
expect_exit 0 "$CGPC" pbs resubmit "$S" --time-limit 3:00:00
expect_contains "$T/out" "batch 1 (unfinished, runs 1-1): resubmitted as 101.server"
expect_contains "$T/out" "batch 2 (failed, runs 2-2): resubmitted as 102.server"
[ "$(wc -l <"$T/qsub.log")" -eq 2 ] || fail "resubmit called qsub other than twice"
expect_contains "$T/qsub.log" "^$S resubmit/batch-1.sh$"
expect_contains "$S/resubmit/batch-2.sh" "^export CGPC_BATCH=2$"
expect_contains "$S/resubmit/batch-2.sh" "^#PBS -l walltime=03:00:00$"
expect_contains "$S/job.sh" "^#PBS -l walltime=03:00:00$"
expect_contains "$S/pbs.conf" "^walltime_s = 10800$"
expect_contains "$S/pbs.conf" "^margin_s = 600$"
expect_exit 0 "$CGPC" pbs status "$S"
expect_contains "$T/out" "^1 .*queued .*resubmitted .* as 101.server"
expect_exit 0 "$CGPC" pbs resubmit "$S"
expect_contains "$T/out" "nothing to resubmit: 1 done, 0 running, 2 queued"

# ---- SIGTERM (the scheduler's walltime kill) reaches cgpc train: unfinished with a checkpoint
expect_exit 0 "$CGPC" pbs generate "$EXP" --generations 100000000 --thresholds 0 --out "$T/k"
(cd "$T/k" && exec env CGPC_BATCH=0 bash job.sh) &
job_pid=$!
for _ in $(seq 1 100); do grep -q '^running' "$T/k/batches/0/state" 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -TERM "$job_pid"
rc=0
wait "$job_pid" || rc=$?
[ "$rc" -eq 3 ] || fail "job.sh after SIGTERM: exit $rc, expected 3 ($(tail -n 3 "$T/k/batches/0/log"))"
expect_contains "$T/k/batches/0/state" "^unfinished$"
[ -f "$T/k/batches/0/out/checkpoint" ] || fail "no checkpoint after SIGTERM"
expect_exit 0 "$CGPC" pbs status "$T/k"
expect_contains "$T/out" "^0 .*unfinished"

# ---- batches run by job.sh itself (as the scheduler would), batch 1 in a $SCRATCHDIR
B=$T/p
for b in 0 1; do
    if [ "$b" = 1 ]; then mkdir -p "$T/scratch"; export SCRATCHDIR=$T/scratch; fi
    (cd "$B" && CGPC_BATCH=$b bash job.sh) || fail "batch $b failed: $(tail -n 5 "$B/batches/$b/log")"
done
unset SCRATCHDIR
[ -z "$(ls -A "$T/scratch")" ] || fail "scratch was not cleaned"
[ -f "$B/batches/1/out/best.2.1.chr" ] || fail "scratch results were not copied back"
expect_exit 0 "$CGPC" pbs status "$B"
expect_contains "$T/out" "total: 2 batches: 2 done"
expect_exit 0 "$CGPC" pbs merge "$B" --out "$T/merged"
expect_exit 0 "$CGPC" train "$EXP" "${small[@]}" --out "$T/ref"
for f in "$T"/ref/best.*.chr "$T/ref/results.csv" "$T/ref/config.txt" "$T/ref/model.txt" \
    "$T/ref/data.txt"; do
    cmp -s "$f" "$T/merged/$(basename "$f")" || fail "merged $(basename "$f") differs"
done
for r in 0 1 2; do
    cmp -s <(zcat "$T/ref/statistics.$r.csv.gz" | cut -d, -f1-3,5-) \
        <(zcat "$T/merged/statistics.$r.csv.gz" | cut -d, -f1-3,5-) || fail "statistics.$r differ"
done
[ ! -e "$T/merged/checkpoint" ] || fail "merge copied a checkpoint"
expect_exit 0 "$CGPC" model-metrics "$T/merged" --limit 100 --no-reference --out "$T/m.csv"
[ "$(wc -l <"$T/m.csv")" -eq 7 ] || fail "model-metrics on the merged dir: expected 6 rows"
echo ok
