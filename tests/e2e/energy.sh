#!/usr/bin/env bash
# cgpc energy: the printed tables, --gate-costs good/bad/missing files, --memory built-ins,
# files and unknown names, --dump-gate-costs round trip, usage errors.
source "$(dirname "$0")/lib.sh"
SHIPPED="$CGPC_ROOT/src/energy/default-gate-costs.csv"

# Default tables: every operator and the MAC with sources, the memories, DRAM active.
expect_exit 0 "$CGPC" energy
expect_contains "$T/out" "^mul  *0.2  *1.43  *709.6  \[H\] 8-bit multiply"
expect_contains "$T/out" "^shl3  *0  *0  *0  shift by a constant"
expect_contains "$T/out" "^mac  *0.3 .*\[H\] int8 MAC"
expect_contains "$T/out" "int8 MAC energy for inference: 0.3 pJ"
expect_contains "$T/out" "^\* dram  *162.5  *1300  \[H\] DRAM"
expect_contains "$T/out" "^  sram-1m  *12.5  *100 "
[ "$(grep -c '^[a-z_0-9]*  *[0-9.e-]*  *[0-9.e-]*  *[0-9.e-]*  ' "$T/out")" -ge 31 ] \
    || fail "fewer than 31 gate rows printed"
tail -n +2 "$T/out" >"$T/default-tables"

expect_exit 0 "$CGPC" energy --memory sram-8k
expect_contains "$T/out" "^\* sram-8k  *1.25 "
grep -q '^\* dram' "$T/out" && fail "dram still marked active with --memory sram-8k"

# The shipped file is the built-in table: same tables, and --dump-gate-costs reproduces it.
expect_exit 0 "$CGPC" energy --gate-costs "$SHIPPED"
expect_contains "$T/out" "gate costs ($SHIPPED)"
tail -n +2 "$T/out" | cmp -s - "$T/default-tables" || fail "shipped file prints differently"
expect_exit 0 "$CGPC" energy --dump-gate-costs -
cmp -s "$T/out" "$SHIPPED" || fail "--dump-gate-costs - differs from $SHIPPED"
expect_exit 0 "$CGPC" energy --dump-gate-costs "$T/dumped.csv"
cmp -s "$T/dumped.csv" "$SHIPPED" || fail "--dump-gate-costs FILE differs from $SHIPPED"
[ "$(ls "$T" | grep -c '\.tmp\.')" -eq 0 ] || fail "temp file left behind"

# A user's table: a changed row is used, also from a gzip file.
sed 's/^add,0.03,/add,0.05,/' "$SHIPPED" >"$T/mine.csv"
expect_exit 0 "$CGPC" energy --gate-costs "$T/mine.csv"
expect_contains "$T/out" "^add  *0.05  *0.63 "
gzip -c "$T/mine.csv" >"$T/mine.csv.gz"
expect_exit 0 "$CGPC" energy --gate-costs "$T/mine.csv.gz"
expect_contains "$T/out" "^add  *0.05 "

# Bad tables: exit 1 with file:line and what is wrong.
line=$(grep -n '^mul,' "$SHIPPED" | cut -d: -f1)
sed 's/^mul,0.2,/mul,-1,/' "$SHIPPED" >"$T/neg.csv"
expect_exit 1 "$CGPC" energy --gate-costs "$T/neg.csv"
expect_contains "$T/err" "^cgpc energy: $T/neg.csv:$line: energy_pJ '-1': must not be negative"
grep -v '^mux2,' "$SHIPPED" >"$T/missing.csv"
expect_exit 1 "$CGPC" energy --gate-costs "$T/missing.csv"
expect_contains "$T/err" "1 row missing: mux2"
sed 's/^xor,/xnor,/' "$SHIPPED" >"$T/unknown.csv"
expect_exit 1 "$CGPC" energy --gate-costs "$T/unknown.csv"
expect_contains "$T/err" "unknown.csv:[0-9]*: unknown gate 'xnor'"
tail -n +2 "$SHIPPED" >"$T/nomagic.csv"
expect_exit 1 "$CGPC" energy --gate-costs "$T/nomagic.csv"
expect_contains "$T/err" "nomagic.csv:1: not a cgpc gate-cost file"
expect_exit 1 "$CGPC" energy --gate-costs "$T/no-such-file.csv"
expect_contains "$T/err" "no-such-file.csv: cannot open"

# Memory files.
printf '# cgpc-memory v1\nname,energy_pJ,per,source\nhbm,31.2,word64,a guess\n' >"$T/mem.csv"
expect_exit 0 "$CGPC" energy --memory "$T/mem.csv"
expect_contains "$T/out" "^\* hbm  *3.9  *31.2  a guess"
printf '# cgpc-memory v1\nhbm,31.2,word32\n' >"$T/badmem.csv"
expect_exit 1 "$CGPC" energy --memory "$T/badmem.csv"
expect_contains "$T/err" "badmem.csv:2: per 'word32'"

# --json: one object with every gate, the MAC and the memories; numbers as in the tables.
expect_exit 0 "$CGPC" energy --json --memory sram-32k --gate-costs "$T/mine.csv"
expect_contains "$T/out" '{"name": "add", "energy_pJ": 0.05, "delay_ns": 0.63, "area_um2": 70.4, '
expect_contains "$T/out" '"memory": {"name": "sram-32k", "pJ_per_byte": 2.5, '
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["gates"]) == 31 and d["gates"][-1]["name"] == "mac", d["gates"][-1]
assert d["mac_pJ"] == 0.3 and len(d["memories"]) == 4
assert [m["pJ_per_byte"] for m in d["memories"]] == [162.5, 1.25, 2.5, 12.5]
' "$T/out" || fail "--json output is not the expected JSON"
fi

# Usage errors: exit 2.
expect_exit 2 "$CGPC" energy --memory sram-64k
expect_contains "$T/err" "'sram-64k': neither a built-in memory (dram, sram-8k, sram-32k, sram-1m)"
expect_exit 2 "$CGPC" energy --gate-costs
expect_exit 2 "$CGPC" energy --no-such-option
expect_exit 2 "$CGPC" energy extra-argument
expect_exit 2 "$CGPC" energy --threads 0

# --model: a model that cannot be read is a runtime failure.
expect_exit 1 "$CGPC" energy --model "$T/no-such-model.safetensors"
expect_contains "$T/err" "no-such-model.safetensors"

# --model on the shipped int8 LeNet-5: the per-layer budget with the hand-checked counts.
expect_exit 0 "$CGPC" energy --model "$CGPC_ROOT/models/lenet5-mnist-int8.safetensors"
grep -E "^ *conv1 .*86,?400" "$T/out" >/dev/null || { cat "$T/out" >&2; fail "conv1 row lacks 86,400 MACs"; }
grep -E "^ *conv2 .*153,?600" "$T/out" >/dev/null || { cat "$T/out" >&2; fail "conv2 row lacks 153,600 MACs"; }
echo ok
