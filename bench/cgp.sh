#!/usr/bin/env bash
# cgp.sh - CGP evolver throughput and the issue #16 targets as ratios measured in one run.
# Every case runs its variants (binaries, thread counts) R times each, alternating (the machine
# may be shared: alternating spreads the load over all variants), and reports medians of three
# separate counts: generations/s, evaluated offspring/s (offspring not skipped as neutral) and
# node x item evaluations/s (nodes really evaluated), per second of wall time, plus generations per second of CPU
# time (user + sys: less sensitive to other processes on the cores) and the load average.
#  (a)  256x31 grid, L=31, 9 inputs -> 16 outputs, 1 item, lambda 4, mutation-max 0.01, 1 thread:
#       CGPC and OLD
#  (b)  the same with 16 items: CGPC and OLD
#  (t1) (a) on CGPC with 1 and 2 threads (threads used only while a generation is long enough,
#       --parallel-min-work's default) and 2 threads forced (--parallel-min-work 0)
#  (t16) the same for (b)
#  (r)  (a) with --runs 2 on CGPC, 1 and 2 threads (runs go one per thread)
#  (s)  (a) with two --independent thresholds on CGPC, 1 and 2 threads (stages go one per
#       thread; GENS1 generations each)
#  (c)  30x7 grid (L=7), LeNet-5 conv1 3x3 core -> 16-weight outer ring, 6 items, 1 thread:
#       CGPC and OLD
#  (z)  time to zero error: single_filter (conv1 kernel 0, 9 -> 16 weights, 1 item), 30x7,
#       levels-back 7, 5 seeds (runs); per repeat the median over the runs of the first
#       statistics row with error 0 (a run that never gets there counts as beyond the budget),
#       as wall seconds and as generations x CPU seconds per generation of the repeat (steady
#       under load; the target row uses it), medians of R repeats: CGPC and OLD; then the same
#       over 21 runs (runs 0-20, the first 5 the same runs), an extra row beside the target:
#       a median of 5 runs is noisy
#  (e)  evaluator: build/<mode>/bench/cgp_eval_bench (node x item operations per CPU second for
#       every instruction-set path), run on its own after the others
# Then a table "target / wanted / measured / met?" of issue #16's targets, every ratio from
# medians of this run: CGPC vs OLD for the single-thread cases (generations per wall second,
# and per CPU second beside it), 2 vs 1 threads of CGPC for the thread cases. Thread ratios
# mean something only on an idle machine: the table warns when the load average is above 1.5.
# Usage: bench/cgp.sh [R] (default 3). CGPC (default bin/cgpc) is the binary under test; OLD,
# if set, the reference run beside it (e.g. 843e717, the commit issue #16 measured, built into
# /tmp); without OLD the CGPC/OLD targets read "no OLD". GENS1, GENS16 generations for the
# 1-item and 16-item cases (default 400000, 200000: since the sixth session a 16-item run of
# 50,000 generations took ~0.1 s, too short to time against the process start), EVAL_BENCH the evaluator benchmark (default
# build/release/bench/cgp_eval_bench, built if missing), CASES the cases to run (default all;
# e.g. CASES="r s": letters as above, t1/t16 for the thread cases). For a measure that does not depend on
# the load at all, count instructions with valgrind (an AVX2 build: valgrind has no AVX-512):
# valgrind --tool=callgrind bin/cgpc evolve ... and compare totals. Paths must not hold spaces.
set -euo pipefail
: "${CGPC:=bin/cgpc}"
: "${GENS1:=400000}"
: "${GENS16:=200000}"
export OMP_WAIT_POLICY=passive
here=$(cd "$(dirname "$0")" && pwd)
reps=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$CGPC" ] || { echo "cgp.sh: CGPC=$CGPC is not an executable (make first)" >&2; exit 2; }
if [ -n "${OLD:-}" ] && [ ! -x "$OLD" ]; then
    echo "cgp.sh: OLD=$OLD is not an executable" >&2
    exit 2
fi
echo "CGPC = $CGPC; OLD = ${OLD:-(none)}; $reps repeats per variant; load average at start $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

# one BIN args...: prints "gens/s offspring/s node-evals/s cpu-s wall-s generations"
one() {
    local bin=$1; shift
    rm -rf "$out/run"
    # wall time from bash's microsecond clock (time's %e has 10 ms steps: 6 % of a 0.17 s run)
    local t0=$EPOCHREALTIME t1
    /usr/bin/time -f "%U %S" -o "$out/time" "$bin" evolve "$@" --out "$out/run" >"$out/line" \
        2>"$out/err" || { cat "$out/err" >&2; echo "cgp.sh: $bin evolve $* failed" >&2; exit 1; }
    t1=$EPOCHREALTIME
    local line g o n
    line=$(grep -m1 '^generations' "$out/line" || head -1 "$out/line")
    # "generations G in S s: R generations/s; offspring evaluated E (X/s), skipped as neutral K;
    #  active-node x item evaluations N/s" (older binaries: no "(X/s)", "node evaluations N/s")
    g=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) generations\/s.*/\1/p')
    o=$(echo "$line" | sed -n 's/.*offspring evaluated [0-9]* (\([0-9.]*\)\/s).*/\1/p')
    if [ -z "$o" ]; then
        local e s
        e=$(echo "$line" | sed -n 's/.*offspring evaluated \([0-9]*\).*/\1/p')
        s=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s:.*/\1/p')
        o=$(awk -v e="$e" -v s="$s" 'BEGIN { printf "%.0f", e / s }')
    fi
    n=$(echo "$line" | sed -n 's/.*evaluations \([0-9.e+]*\)\/s.*/\1/p')
    read -r u sy <"$out/time"
    echo "$g $o $n $(awk -v u="$u" -v s="$sy" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%s %.4f", u + s, b - a }') $(echo "$line" | cut -d' ' -f2)"
}

# case_ NAME GENS VARIANT...: each VARIANT is "LABEL BIN ARGS..." (one word each, no spaces
# inside); R rounds, each running every variant once in turn; prints one line of medians per
# variant and keeps them in $out/med.NAME.LABEL ("gens/s gens-per-cpu-s wall-s": gens/s and
# gens-per-cpu-s of the round with the median gens/s; wall-s the median of the rounds' wall
# times, on its own: the whole process, files and start included; the line shows their range).
case_() {
    local name=$1 gens=$2; shift 2
    local v
    for v in "$@"; do : >"$out/res.$name.${v%% *}"; done
    for _ in $(seq "$reps"); do
        for v in "$@"; do
            read -r -a a <<<"$v"
            one "${a[1]}" "${a[@]:2}" --generations "$gens" >>"$out/res.$name.${a[0]}"
        done
    done
    for v in "$@"; do
        local label=${v%% *} walls
        walls=$(cut -d' ' -f5 "$out/res.$name.$label" | sort -g | tr '\n' ' ')
        sort -n -k1,1 "$out/res.$name.$label" | awk -v name="$name" -v label="$label" \
            -v load="$(cut -d' ' -f1 /proc/loadavg)" -v med="$out/med.$name.$label" -v walls="$walls" '
            { g[NR] = $1; o[NR] = $2; n[NR] = $3; c[NR] = $4; t[NR] = $6 }
            END { m = int((NR + 1) / 2); pc = t[m] / (c[m] > 0 ? c[m] : 1e-9)
                  nw = split(walls, w, " ")
                  printf "%-22s %-10s %9.0f gens/s %9.0f offspring/s %9.3g node-item/s | %9.0f gens/cpu-s | wall %.3f s (%.3f-%.3f) | load %s\n",
                         name, label, g[m], o[m], n[m], pc, w[m], w[1], w[nw], load
                  printf "%s %s %s\n", g[m], pc, w[m] > med }'
    done
}

grid=(--rows 256 --cols 31 --levels-back 31 --lambda 4 --mutation-max 0.01 --seed 1)
d1="--data $here/data/random_9x16_1item.txt ${grid[*]}"
d16="--data $here/data/random_9x16_16items.txt ${grid[*]}"
vs_old() { # NAME GENS ARGS (one string): CGPC and, if set, OLD
    local name=$1 gens=$2 args=$3
    if [ -n "${OLD:-}" ]; then
        case_ "$name" "$gens" "CGPC $CGPC $args" "OLD $OLD $args"
    else
        case_ "$name" "$gens" "CGPC $CGPC $args"
    fi
}
on() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; } # is case $1 selected?
on a && vs_old a_1item_1thr "$GENS1" "$d1 --threads 1"
on b && vs_old b_16items_1thr "$GENS16" "$d16 --threads 1"
on t1 && case_ t1_1item_threads "$GENS1" "1thr $CGPC $d1 --threads 1" "2thr $CGPC $d1 --threads 2" \
    "2thr-forced $CGPC $d1 --threads 2 --parallel-min-work 0"
on t16 && case_ t16_16items_threads "$GENS16" "1thr $CGPC $d16 --threads 1" \
    "2thr $CGPC $d16 --threads 2" "2thr-forced $CGPC $d16 --threads 2 --parallel-min-work 0"
on r && case_ r_1item_runs2 "$GENS1" "1thr $CGPC $d1 --runs 2 --threads 1" \
    "2thr $CGPC $d1 --runs 2 --threads 2"
on s && case_ s_1item_indep2 "$GENS1" "1thr $CGPC $d1 --mse-thresholds 0,1 --independent --threads 1" \
    "2thr $CGPC $d1 --mse-thresholds 0,1 --independent --threads 2"
on c && vs_old c_lenet_conv1_6items "$GENS1" "--data $here/data/lenet5_conv1_ring.txt --rows 30 --cols 7 \
--levels-back 7 --lambda 4 --mutation-max 0.01 --threads 1 --seed 1"

# (z) time to zero error on single_filter: the data set as `cgpc train` builds it
z_done=0
if on z && "$CGPC" train "$here/../experiments/single_filter.exp" --out "$out/sf" --generations 1 \
        --thresholds 0 --threads 1 >/dev/null 2>&1; then
    z_done=1
    zbins=("CGPC $CGPC")
    [ -n "${OLD:-}" ] && zbins+=("OLD $OLD")
    # nr = 5: the target (runs 0-4); nr = 21: an extra row (runs 0-20), a steadier median;
    # the binaries' repeats alternate (as case_ does), so a slow spell of the host does not
    # fall on one binary alone
    for nr in 5 21; do
      zt=z$([ "$nr" = 5 ] || echo "$nr")
      for zb in "${zbins[@]}"; do : >"$out/$zt.${zb%% *}"; done
      for _ in $(seq "$reps"); do
        for zb in "${zbins[@]}"; do
            label=${zb%% *} b=${zb#* }
            rm -rf "$out/z"
            /usr/bin/time -f "%U %S" -o "$out/ztime" "$b" evolve --data "$out/sf/data.txt" \
                --rows 30 --cols 7 --levels-back 7 --lambda 4 --mutation-max 0.01 \
                --mse-thresholds 0 --runs "$nr" --seed 1 --generations 200000 --threads 1 \
                --out "$out/z" >"$out/zline" 2>"$out/err" ||
                { cat "$out/err" >&2; echo "cgp.sh: $b evolve (single_filter) failed" >&2; exit 1; }
            # CPU seconds per generation of this repeat (user + sys over every generation run)
            cpu=$(awk '{ print $1 + $2 }' "$out/ztime")
            total=$(grep -m1 '^generations' "$out/zline" | cut -d' ' -f2)
            # per run: wall seconds and generation of the first row with error 0; a run that
            # never gets there counts as beyond the budget (1e9), so the median is over nr
            for k in $(seq 0 $((nr - 1))); do
                zcat "$out/z/statistics.$k.csv.gz" |
                    awk -F, '$1 ~ /^[0-9]/ && $5 == 0 && !f { print $4, $3; f = 1 } END { if (!f) print 1e9, 1e9 }'
            done >"$out/zruns"
            mid=$(((nr + 1) / 2))
            echo "$(cut -d' ' -f1 "$out/zruns" | sort -g | sed -n "${mid}p")" \
                "$(cut -d' ' -f2 "$out/zruns" | sort -g | sed -n "${mid}p")" \
                "$(awk -v c="$cpu" -v t="$total" 'BEGIN { printf "%.9f", c / t }')" >>"$out/$zt.$label"
        done
      done
      for zb in "${zbins[@]}"; do
        label=${zb%% *}
        # medians over the repeats: wall seconds, generations, CPU seconds per generation
        med3() { cut -d' ' -f"$1" "$out/$zt.$label" | sort -g | sed -n "$(((reps + 1) / 2))p"; }
        ms=$(med3 1) mg=$(med3 2) mc=$(med3 3)
        awk -v label="$label" -v load="$(cut -d' ' -f1 /proc/loadavg)" -v med="$out/med.$zt.$label" \
            -v reps="$reps" -v ms="$ms" -v mg="$mg" -v mc="$mc" -v nr="$nr" -v name="${zt}_single_filter_30x7" 'BEGIN {
            printf "%-22s %-10s time to zero error: median %s s wall, %s generations x %.3g us CPU = %.3g s CPU (%d seeds; median of %d repeats) | load %s\n", name, label, ms, mg, mc * 1e6, mg * mc, nr, reps, load
            print mg * mc, ms > med }'
      done
    done
elif on z; then
    echo "z_single_filter_30x7: skipped (no model to build the data set from)"
fi

# (e) the evaluator microbenchmark (EVAL_BENCH: its path; default the release build's)
ebench=${EVAL_BENCH:-build/release/bench/cgp_eval_bench}
if ! on e; then
    : >"$out/eval"
elif [ -x "$ebench" ] || { [ -f Makefile ] && env -u MAKEFLAGS make -s "$ebench" >/dev/null 2>&1; }; then
    "$ebench" 0.5 | tee "$out/eval"
else
    echo "e_eval: skipped ($ebench could not be built here)"
    : >"$out/eval"
fi

# ---- the targets, from this run's medians ----
med() { # FILE FIELD: the median kept by case_ (empty if the case did not run)
    [ -f "$out/med.$1" ] && cut -d' ' -f"$2" "$out/med.$1" || true
}
row() { # TARGET WANTED(">= X" or "<= X") MEASURED [UNIT] [NOTE]
    local t=$1 want=$2 got=$3 unit=${4:-x} note=${5:-} met
    if [ -z "$got" ]; then
        got="n/a" met="not measured"
    else
        met=$(awk -v g="$got" -v w="$want" 'BEGIN { split(w, a, " "); ok = a[1] == ">=" ? g >= a[2] : g <= a[2]; print ok ? "yes" : "NO" }')
        got=$(awk -v g="$got" -v u="$unit" 'BEGIN { printf(u == "x" ? "%.2fx" : "%.3g %s", g, u) }')
    fi
    printf "%-62s %-10s %-12s %s%s\n" "$t" "$want" "$got" "$met" "${note:+  ($note)}"
}
ratio() { # A B: A / B, empty if either is missing
    [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b }' || true
}
load=$(cut -d' ' -f1 /proc/loadavg)
echo
echo "issue #16 targets (medians of this run; generations per wall second unless noted; load average now $load)"
printf "%-62s %-10s %-12s %s\n" "target" "wanted" "measured" "met?"
for c in "a_1item_1thr|1 item 256x31, 1 thread: CGPC / OLD gens/s|3" \
         "b_16items_1thr|16 items 256x31, 1 thread: CGPC / OLD gens/s|4"; do
    IFS='|' read -r name text want <<<"$c"
    if [ -n "${OLD:-}" ]; then
        row "$text" ">= $want" "$(ratio "$(med "$name.CGPC" 1)" "$(med "$name.OLD" 1)")" x \
            "per CPU second $(ratio "$(med "$name.CGPC" 2)" "$(med "$name.OLD" 2)" | awk '{ printf "%.2fx", $1 }')"
    else
        row "$text" ">= $want" "" x "no OLD"
    fi
done
# concurrent runs / stages: how much sooner 2 threads finish, from the processes' wall times
# (the reported gens/s of one lane count search time only, of several lanes their wall time)
row "1 item --runs 2: 2 threads / 1 thread (CGPC), finish time" ">= 1.8" \
    "$(ratio "$(med r_1item_runs2.1thr 3)" "$(med r_1item_runs2.2thr 3)")"
row "1 item, 2 independent thresholds: 2 threads / 1 thread, finish" ">= 1.8" \
    "$(ratio "$(med s_1item_indep2.1thr 3)" "$(med s_1item_indep2.2thr 3)")" x \
    "stages one per thread; wanted as --runs 2's"
row "16 items: 2 threads / 1 thread (CGPC, default threshold)" ">= 1.6" \
    "$(ratio "$(med t16_16items_threads.2thr 1)" "$(med t16_16items_threads.1thr 1)")"
row "16 items: 2 threads forced / 1 thread (--parallel-min-work 0)" ">= 1.6" \
    "$(ratio "$(med t16_16items_threads.2thr-forced 1)" "$(med t16_16items_threads.1thr 1)")" x \
    "information: what threads within a run give"
row "never > 5 % slower: 1 item, 2 threads / 1 thread" ">= 0.95" \
    "$(ratio "$(med t1_1item_threads.2thr 1)" "$(med t1_1item_threads.1thr 1)")"
row "never > 5 % slower: 16 items, 2 threads / 1 thread" ">= 0.95" \
    "$(ratio "$(med t16_16items_threads.2thr 1)" "$(med t16_16items_threads.1thr 1)")"
row "never > 5 % slower: 1 item --runs 2, 2 threads / 1 thread" ">= 0.95" \
    "$(ratio "$(med r_1item_runs2.1thr 3)" "$(med r_1item_runs2.2thr 3)")" x "finish time"
row "never > 5 % slower: 1 item, 2 indep. thresholds, 2 thr / 1 thr" ">= 0.95" \
    "$(ratio "$(med s_1item_indep2.1thr 3)" "$(med s_1item_indep2.2thr 3)")" x "finish time"
row "never > 5 % slower: 1 item, 2 threads forced / 1 thread" ">= 0.95" \
    "$(ratio "$(med t1_1item_threads.2thr-forced 1)" "$(med t1_1item_threads.1thr 1)")"
row "never > 5 % slower: 16 items, 2 threads forced / 1 thread" ">= 0.95" \
    "$(ratio "$(med t16_16items_threads.2thr-forced 1)" "$(med t16_16items_threads.1thr 1)")"
row "single_filter 30x7: median time to zero error, CPU s (CGPC)" "<= 0.1" "$(med z.CGPC 1)" s \
    "generations to zero x CPU per generation; wall $(med z.CGPC 2) s$([ -n "${OLD:-}" ] &&
        [ "$z_done" = 1 ] && awk -v c="$(med z.OLD 1)" -v w="$(med z.OLD 2)" 'BEGIN { printf "; OLD %.3g s CPU, %.3g s wall", c, w }')"
row "extra: single_filter, 21 runs (runs 0-20): median, CPU s" "<= 0.1" "$(med z21.CGPC 1)" s \
    "extra, not the target row (that one is the 5 seeds above); wall $(med z21.CGPC 2) s$([ -n "${OLD:-}" ] &&
        [ "$z_done" = 1 ] && awk -v c="$(med z21.OLD 1)" 'BEGIN { printf "; OLD %.3g s CPU", c }')"
row "evaluator, AVX-512, 64 items: G node x item ops per CPU s" ">= 20" \
    "$(awk '$1 == "eval" && $2 == "avx512" && $3 != "active" {
              for (i = 3; i < NF; i++) if ($i == "items" && $(i + 1) == 64) { print $(i + 2); exit } }' "$out/eval")" \
    "G/s" "16x64 grid, every node"
if awk -v l="$load" 'BEGIN { exit !(l > 1.5) }'; then
    echo "WARNING: load average $load: other processes share the cores; the thread ratios (2 vs 1"
    echo "threads) are not meaningful, rerun on an idle machine. CGPC/OLD ratios alternate the"
    echo "binaries and stay comparable; per CPU second is the steadier of the two."
fi
