#!/usr/bin/env bash
# export_synth: `cgpc circuit synth` runs Yosys on the Verilog export (synth; abc -g
# AND,NAND,OR,NOR,XOR,XNOR,MUX) and reports cells per type and static-CMOS transistors beside
# cgpc's gate-table costs. Known circuits: an 8-bit xor is 8 XOR cells (96 transistors), a not
# 8 NOT cells (16), shifts and constants are wires (0 cells, as in cgpc's table); an adder and
# a multiplier are checked for consistency (types sum to the total, cgpc's transistor count
# equals Yosys' own `stat -tech cmos`) and the multiplier is bigger than the adder.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/export_harness.bash"
export_require_tools yosys

# chromosome with 2 inputs: mk NAME COLS "NODE LINES" "OUTPUT SOURCES"
mk() {
    printf 'cgpc-chromosome v1\nrows 1\ncols %d\nlevels-back %d\ninputs 2\noutputs %d\nnode-inputs 2\nfunctions add,xor,not,shr2,const127,mul\nnodes\n%boutputs %s\nend\n' \
        "$2" "$2" "$(wc -w <<<"$4")" "$3" "$4" >"$T/$1.chr"
}
mk xor 1 "0 0 1 xor\n" "2"
mk not 1 "0 0 0 not\n" "2"
mk wires 2 "0 0 1 shr2\n1 0 0 const127\n" "2 3"
mk add 1 "0 0 1 add\n" "2"
mk mul 1 "0 0 1 mul\n" "2"

field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
synth() { expect_exit 0 "$CGPC" circuit synth "$T/$1.chr"; cp "$T/out" "$T/$1.synth"; }
consistent() {
    local f=$T/$1.synth sum=0 tr=0 n
    for c in NOT:2 NAND:4 NOR:4 AND:6 OR:6 XOR:12 XNOR:12 MUX:12; do
        n=$(field "$f" "cells_${c%%:*}")
        sum=$((sum + n)); tr=$((tr + n * ${c##*:}))
    done
    [ "$sum" -eq "$(field "$f" cells)" ] || fail "$1: cell types sum to $sum, total $(field "$f" cells)"
    [ "$tr" -eq "$(field "$f" transistors)" ] || fail "$1: transistors $(field "$f" transistors), expected $tr"
    [ "$tr" -eq "$(field "$f" yosys_cmos_transistors)" ] || fail "$1: Yosys counts $(field "$f" yosys_cmos_transistors) transistors, cgpc $tr"
}

synth xor
[ "$(field "$T/xor.synth" cells_XOR)" -eq 8 ] && [ "$(field "$T/xor.synth" cells)" -eq 8 ] || fail "xor: expected 8 XOR cells"
[ "$(field "$T/xor.synth" transistors)" -eq 96 ] || fail "xor: expected 96 transistors"
expect_contains "$T/xor.synth" "^energy_pj 0.00258$"
expect_contains "$T/xor.synth" "^area_um2 6.0544$"
synth not
[ "$(field "$T/not.synth" cells_NOT)" -eq 8 ] && [ "$(field "$T/not.synth" transistors)" -eq 16 ] || fail "not: expected 8 NOT cells, 16 transistors"
synth wires
[ "$(field "$T/wires.synth" cells)" -eq 0 ] || fail "shr2 and const127: expected no cells"
expect_contains "$T/wires.synth" "^gates 0$"
for c in xor not wires add mul; do
    [ -f "$T/$c.synth" ] || synth $c
    consistent $c
done
[ "$(field "$T/add.synth" cells)" -gt 8 ] || fail "add: too few cells for an 8-bit adder"
[ "$(field "$T/mul.synth" transistors)" -gt "$(field "$T/add.synth" transistors)" ] || fail "mul not bigger than add"
expect_contains "$T/mul.synth" "^area_um2 709.6$"

# --keep leaves the files; a missing yosys is a runtime error naming it
expect_exit 0 "$CGPC" circuit synth "$T/add.chr" --keep "$T/keep" --name adder
for f in adder.v synth.ys stat.txt; do [ -s "$T/keep/$f" ] || fail "--keep: no $f"; done
[ -e "$T/keep/yosys.log" ] || fail "--keep: no yosys.log"
expect_exit 1 "$CGPC" circuit synth "$T/add.chr" --yosys "$T/no-such-yosys"
expect_contains "$T/err" "no-such-yosys"
expect_exit 2 "$CGPC" circuit synth "$T/add.chr" --format verilog
# without --keep the temporary directory is removed
mkdir "$T/tmp"
TMPDIR=$T/tmp expect_exit 0 "$CGPC" circuit synth "$T/add.chr"
[ -z "$(ls -A "$T/tmp")" ] || fail "circuit synth left $(ls "$T/tmp") in TMPDIR"
echo "export_synth: ok"
