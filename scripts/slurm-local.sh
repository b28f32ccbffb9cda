#!/usr/bin/env bash
# slurm-local.sh - a single-node Slurm cluster on localhost with Torque/PBS wrappers (qsub,
# qstat, qdel), for testing `cgpc pbs` against a real scheduler.
#   scripts/slurm-local.sh install        apt-get the packages (root; idempotent)
#   scripts/slurm-local.sh start DIR      munged + slurmctld + slurmd with state under DIR;
#                                         prints "export SLURM_CONF=DIR/slurm.conf"
#   scripts/slurm-local.sh stop DIR       stops exactly the daemons started for DIR (by PID)
# Needs root (slurmd runs jobs as their users). Ports 16817/16818 unless SLURM_LOCAL_PORT_BASE.
# Known wrapper facts: walltime is rounded up to whole minutes and the kill arrives up to ~1 min
# late; SIGKILL follows SIGTERM after KillWait=30 s; `-o` on the qsub command line overrides
# `#PBS -o` for arrays; PBS_ARRAY_INDEX is unset (no spank plugin): jobs see
# SLURM_ARRAY_TASK_ID; `mem=` must be the last item of a `select=` line.
set -euo pipefail

cmd=${1:-}
packages=(slurmd slurmctld slurm-client slurm-wlm-torque munge)

install() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || { echo "slurm-local: need root to install ${missing[*]}" >&2; return 1; }
    echo "slurm-local: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

wait_for() { # wait_for SECONDS CMD...
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

start() {
    local d=$1 host port=${SLURM_LOCAL_PORT_BASE:-16817}
    [ "$(id -u)" -eq 0 ] || { echo "slurm-local: need root to run slurmd" >&2; return 1; }
    mkdir -p "$d"/{state,spool,log,munge}
    d=$(cd "$d" && pwd)
    host=$(hostname -s)
    chmod 700 "$d/munge"
    [ -f "$d/munge/munge.key" ] || { dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null; chmod 400 "$d/munge/munge.key"; }
    munged -f --socket="$d/munge/munge.sock" --key-file="$d/munge/munge.key" \
        --log-file="$d/log/munged.log" --pid-file="$d/munge/munged.pid" --seed-file="$d/munge/seed"
    cat >"$d/slurm.conf" <<CONF
ClusterName=cgpclocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
KillWait=30
MinJobAge=600
NodeName=$host CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$d/slurm.conf"
    slurmctld
    slurmd
    if ! wait_for 30 bash -c "sinfo -h -o %t | grep -q idle"; then
        echo "slurm-local: node did not become idle; logs in $d/log" >&2
        stop "$d"
        return 1
    fi
    echo "export SLURM_CONF=$d/slurm.conf"
}

stop() {
    local d=$1
    for pidfile in "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/munged.pid"; do
        [ -f "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

case "$cmd" in
install) install ;;
start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
*) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
