#!/bin/bash
# run-batch.sh JOB_DIR BATCH - runs one batch of a cgpc PBS job; the job script calls it.
# Copied into every job directory by `cgpc pbs generate`. It
#  - records the batch state in JOB_DIR/batches/BATCH/state (running / done / unfinished /
#    failed <rc>), written atomically, read by `cgpc pbs status`;
#  - runs `cgpc train` for the batch's runs with --resume, so a resubmitted batch continues
#    from its checkpoint;
#  - stops evolution cleanly before the walltime (walltime - margin from pbs.conf) and on
#    SIGTERM (the scheduler's walltime kill; SIGKILL follows after a grace period), leaving a
#    checkpoint;
#  - works in $SCRATCHDIR when the site gives one, copying results back on exit and cleaning
#    the scratch copy; otherwise works in JOB_DIR/batches/BATCH/out directly.
set -u
JOB_DIR=$1
BATCH=$2
START=$(date +%s)
conf() { sed -n "s/^$1 = //p" "$JOB_DIR/pbs.conf"; }
RUNS=$(conf runs)
BATCHES=$(conf batches)
FIRST_RUN=$(conf first_run)
CGPC=$(conf cgpc)
NCPUS=$(conf ncpus)
STOP=$(awk -v w="$(conf walltime_s)" -v m="$(conf margin_s)" 'BEGIN { printf "%d", w - m }')
FIRST=$((FIRST_RUN + BATCH * RUNS / BATCHES))
COUNT=$(((BATCH + 1) * RUNS / BATCHES - BATCH * RUNS / BATCHES))
B_DIR=$JOB_DIR/batches/$BATCH
mkdir -p "$B_DIR/out"
LOG=$B_DIR/log

state() { printf '%s\n' "$*" >"$B_DIR/state.tmp" && mv -f "$B_DIR/state.tmp" "$B_DIR/state"; }
state "running $START ${PBS_JOBID:-${SLURM_JOB_ID:-local-$$}} $(hostname)"
echo "== batch $BATCH: runs $FIRST..$((FIRST + COUNT - 1)), started $(date -u +%FT%TZ) on $(hostname)" >>"$LOG"

if [ -n "${SCRATCHDIR:-}" ] && [ -d "$SCRATCHDIR" ]; then
    WORK=$SCRATCHDIR/cgpc-batch-$BATCH
    mkdir -p "$WORK"
    cp -a "$B_DIR/out/." "$WORK/"
    copy_back() { cp -a "$WORK/." "$B_DIR/out/" && rm -rf "$WORK"; }
else
    WORK=$B_DIR/out
    copy_back() { :; }
fi

"$CGPC" train "$JOB_DIR/experiment.exp" --out "$WORK" --resume --run-first "$FIRST" \
    --run-count "$COUNT" --stop-after "$STOP" --threads "$NCPUS" >>"$LOG" 2>&1 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
rc=0
while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    rc=$?
done
trap - TERM INT
copy_back || { echo "== copying results back from $WORK failed" >>"$LOG"; rc=1; }
# cgpc train: 0 all runs finished, 3 stopped early with a checkpoint, other: failure.
case $rc in
0) state "done" ;;
3) state "unfinished" ;;
*) state "failed $rc" ;;
esac
echo "== batch $BATCH: exit $rc after $(($(date +%s) - START)) s" >>"$LOG"
exit $rc
