#!/usr/bin/env bash
# export_formats: `cgpc circuit export` options and errors; the header (source, seed, error);
# DOT with only active nodes and ports named by their weights (single_channel:
# conv1.weight[*,0,1,1], '*' = the kernel item), rendered by Graphviz; the C --weights function
# regenerating conv1's rings in place, checked against `circuit eval` on a tensor whose cores
# and rings this script locates itself; `model-metrics --plot` drawing the best circuits.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/export_harness.bash"
export_require_tools dot cc
cd "$CGPC_ROOT"
export OMP_WAIT_POLICY=passive

# help: every option with its default
expect_exit 0 "$CGPC" help circuit
for opt in --format --out --name --exp --weights --render --yosys --keep --outputs; do
    grep -q -- "  $opt " "$T/out" || fail "help circuit does not list $opt"
done
expect_contains "$T/out" "default: cgpc_circuit"

"$CGPC" train experiments/single_channel.exp --out "$T/sc" --generations 1500 --runs 1 \
    --threads 1 >/dev/null 2>&1 || fail "train single_channel"
chr=$(export_last_best "$T/sc")

# usage errors exit 2, runtime errors 1
expect_exit 2 "$CGPC" circuit export "$chr"
expect_contains "$T/err" "needs --format"
expect_exit 2 "$CGPC" circuit export "$chr" --format vhdl
expect_exit 2 "$CGPC" circuit export "$chr" --format verilog --name module
expect_exit 2 "$CGPC" circuit export "$chr" --format verilog --name 9lives
expect_exit 2 "$CGPC" circuit export "$chr" --format verilog --weights
expect_exit 2 "$CGPC" circuit export "$chr" --format dot --render svg
expect_exit 2 "$CGPC" circuit export "$chr" --format dot --render pdf --out "$T/x.pdf"
expect_exit 2 "$CGPC" circuit show "$chr" --format c
expect_exit 2 "$CGPC" circuit export "$chr" --format c --weights --exp none
cp "$chr" "$T/loose.chr"
expect_exit 2 "$CGPC" circuit export "$T/loose.chr" --format c --weights
expect_contains "$T/err" "belongs to no experiment"
expect_exit 1 "$CGPC" circuit export "$T/missing.chr" --format c
expect_exit 1 "$CGPC" circuit export "$chr" --format verilog --exp "$T"
expect_exit 1 "$CGPC" circuit export "$chr" --format verilog --out "$T/no/such/dir/x.v"

# header: source, seed, error
expect_exit 0 "$CGPC" circuit export "$chr" --format verilog --name sc
expect_contains "$T/out" "^// source: $chr$"
expect_contains "$T/out" "^// seed: 1, run 0$"
err=$(awk '$1 == "#" && $2 == "error" { print $3 }' "$chr")
expect_contains "$T/out" "^// error: $err per weight (mse [0-9.e+-]*, threshold"
expect_contains "$T/out" "^module sc ("
expect_contains "$T/out" "input  wire signed \[7:0\] i0, // conv1.weight\[\*,0,1,1\]"
grep -q "input  wire \[1:0\] item" "$T/out" && fail "a circuit without muxes got an item port"

# DOT: the active nodes exactly, inputs/outputs named by the weights
"$CGPC" circuit show "$chr" >"$T/show"
active=$(awk '$1 == "active" { print $2 }' "$T/show")
expect_exit 0 "$CGPC" circuit export "$chr" --format dot --out "$T/sc.dot"
nodes=$(grep -c '^    n[0-9]*_[a-z0-9_]* \[shape' "$T/sc.dot")
[ "$nodes" -eq "$active" ] || fail "DOT has $nodes nodes, the circuit $active active ones"
expect_contains "$T/sc.dot" 'label="o0 conv1.weight\[\*,0,0,0\]'  # outputs sharing a driver share a label
expect_exit 0 "$CGPC" circuit export "$chr" --format dot --exp none
grep -q "conv1" "$T/out" && fail "--exp none still names the weights"
expect_exit 0 "$CGPC" circuit export "$chr" --format dot --render svg --out "$T/sc.svg"
grep -q "<svg" "$T/sc.svg" || fail "--render svg wrote no SVG"
expect_exit 0 "$CGPC" circuit export "$chr" --format dot --render png --out "$T/sc.png"
[ "$(head -c 4 "$T/sc.png" | tail -c 3)" = PNG ] || fail "--render png wrote no PNG"
ls "$T"/sc.png.* 2>/dev/null && fail "temporary files left beside the image"

# C --weights: regenerate conv1's rings in place on a known tensor
expect_exit 0 "$CGPC" circuit export "$chr" --format c --weights --name ring --out "$T/ring.c"
expect_contains "$T/ring.c" "void ring_weights(int8_t \*conv1_weight)"
cat >"$T/ring_main.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include "ring.c"
int main(void)
{
    int8_t w[ring_conv1_weight_SIZE];
    for (int k = 0; k < ring_conv1_weight_SIZE; k++)
        w[k] = (int8_t)(((k * 37 + 11) & 255) - 128);
    ring_weights(w);
    for (int k = 0; k < ring_conv1_weight_SIZE; k++)
        printf("%d\n", w[k]);
    return 0;
}
C
cc -std=c99 -O2 -Wall -Wextra -Werror -fsanitize=undefined -fno-sanitize-recover=all -I"$T" \
    -o "$T/ring" "$T/ring_main.c" || fail "the --weights C export does not compile"
"$T/ring" >"$T/ring.got" || fail "ring_weights failed"
# expected: per kernel d (6 of 5x5), the core (rows/cols 1..3) feeds the circuit, whose 16
# outputs replace the ring positions in row-major order
awk 'BEGIN { print "cgpc-data v1\ninputs 9\noutputs 16\nitems 6"
    for (d = 0; d < 6; d++) { l = ""
        for (y = 1; y <= 3; y++) for (x = 1; x <= 3; x++) { k = d * 25 + y * 5 + x; l = l ((k * 37 + 11) % 256 - 128) " " }
        for (o = 0; o < 16; o++) l = l "0 "; print l } }' >"$T/cores.data"
export_reference "$chr" "$T/cores.data" "$T/rings"
awk 'NR == FNR { for (i = 1; i <= NF; i++) ring[FNR - 1, i - 1] = $i; next }
    END { for (k = 0; k < 150; k++) { d = int(k / 25); p = k % 25; y = int(p / 5); x = p % 5
            if (y >= 1 && y <= 3 && x >= 1 && x <= 3) { print (k * 37 + 11) % 256 - 128; continue }
            r = 0; for (q = 0; q < p; q++) { yy = int(q / 5); xx = q % 5; if (!(yy >= 1 && yy <= 3 && xx >= 1 && xx <= 3)) r++ }
            print ring[d, r] } }' "$T/rings" /dev/null >"$T/ring.want"
cmp -s "$T/ring.want" "$T/ring.got" || { diff "$T/ring.want" "$T/ring.got" | head >&2; fail "ring_weights differs from circuit eval"; }
cmp -s "$T/ring.got" <(awk 'BEGIN { for (k = 0; k < 150; k++) print (k * 37 + 11) % 256 - 128 }') &&
    fail "ring_weights changed nothing"

# model-metrics --plot draws the best circuit of each threshold
expect_exit 0 "$CGPC" model-metrics "$T/sc" --plot "$T/plots" --limit 50
for thr in 16 8 4 2; do
    for ext in dot png svg; do
        [ -s "$T/plots/circuit.single_channel.$thr.$ext" ] || fail "model-metrics --plot: no circuit.single_channel.$thr.$ext"
    done
done
expect_contains "$T/plots/circuit.single_channel.2.dot" "conv1.weight"
echo "export_formats: ok"
