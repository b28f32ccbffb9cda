# export_harness.bash - helpers for the export tests (sourced after lib.sh; not a test itself).
# They check an exported circuit against `cgpc circuit eval --outputs` on a data set:
#   export_require_tools TOOL...    skip or fail when a tool is missing
#   export_ops                      every operator name cgpc knows (from its gate-cost table)
#   export_all_ops_chr FILE         a hand-made chromosome using every operator twice
#   export_random_data N M D SEED F a 'cgpc-data v1' file of D random input vectors
#   export_check_verilog CHR DATA   iverilog simulation == cgpc on every item of DATA
#   export_check_c CHR DATA         C export (-O2, UBSan, no recovery) == cgpc on every item
# Items are numbered from 0 in file order, as `circuit eval` numbers them (the mux select).
# Negative control: with EXPORT_MUTATION set to a sed expression, the export is edited with it
# before the check, and the check passes only if the outputs then DIFFER from cgpc's (it fails
# when the edit does not apply or goes unnoticed).
EXPORT_MUTATION=

# export_require_tools TOOL...: skip (with the reason) when one is missing and this user cannot
# install it; as root a missing tool is a failure (scripts/install-deps.sh installs them)
export_require_tools() {
    local tool
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            [ "$(id -u)" -ne 0 ] || fail "$tool missing although running as root (scripts/install-deps.sh installs it)"
            skip "$tool is not installed and this user cannot install it (scripts/install-deps.sh as root)"
        fi
    done
}

export_ops() {
    "$CGPC" energy --dump-gate-costs - | awk -F, '!/^#/ && $1 != "name" && $1 != "mac" && NF > 1 { print $1 }'
}

# Two columns of 30 rows: column 0 applies operator k to the inputs (i0,i1,i2,i3), column 1
# applies operator k to three column-0 nodes and an input, so operators see each other's
# results (shifted products, muxed negations, ...). Every node is an output.
export_all_ops_chr() {
    local ops n
    mapfile -t ops < <(export_ops)
    n=${#ops[@]}
    {
        echo "cgpc-chromosome v1"
        echo "rows $n"; echo "cols 2"; echo "levels-back 2"
        echo "inputs 4"; echo "outputs $((2 * n))"; echo "node-inputs 4"
        (IFS=,; echo "functions ${ops[*]}")
        echo "nodes"
        for ((k = 0; k < n; k++)); do echo "$k 0 1 2 3 ${ops[k]}"; done
        for ((k = 0; k < n; k++)); do
            echo "$((n + k)) $((4 + (k + 1) % n)) $((4 + (k + 7) % n)) $((4 + (k + 13) % n)) $((k % 4)) ${ops[k]}"
        done
        printf 'outputs'
        for ((k = 0; k < 2 * n; k++)); do printf ' %d' $((4 + k)); done
        echo; echo "end"
    } >"$1"
}

# export_random_data N_INPUTS N_OUTPUTS ITEMS SEED FILE (targets are 0: only inputs matter)
export_random_data() {
    awk -v n="$1" -v m="$2" -v d="$3" -v seed="$4" 'BEGIN {
        srand(seed)
        printf "cgpc-data v1\ninputs %d\noutputs %d\nitems %d\n", n, m, d
        for (k = 0; k < d; k++) {
            line = ""
            for (i = 0; i < n; i++) line = line int(rand() * 256) - 128 " "
            for (o = 0; o < m; o++) line = line "0" (o + 1 < m ? " " : "")
            print line
        }
    }' >"$5"
}

# export_concat_data A B OUT: B's items after A's (same inputs/outputs counts)
export_concat_data() {
    local ia ib
    ia=$(awk '$1 == "items" { print $2; exit }' "$1"); ib=$(awk '$1 == "items" { print $2; exit }' "$2")
    {
        awk -v n=$((ia + ib)) '$1 == "items" { print "items " n; next } { print }' "$1"
        awk 'NR > 1 && !/^(inputs|outputs|items) /' "$2"
    } >"$3"
}

# export_last_best DIR: the best circuit of the last threshold of run 0 (results.csv)
export_last_best() { echo "$1/$(awk -F, '$1 == 0 { f = $NF } END { print f }' "$1/results.csv")"; }

# chr_field CHR KEY: a header value of a chromosome file
chr_field() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# The reference: cgpc's outputs on DATA, one line of space-separated ints per item -> FILE
export_reference() {
    local chr=$1 data=$2 out=$3 ni
    ni=$(chr_field "$chr" inputs)
    "$CGPC" circuit eval "$chr" --data "$data" --outputs "$T/ref.data" >/dev/null
    awk -v n="$ni" 'NR > 1 && !/^(inputs|outputs|items) / && !/^#/ && NF {
        line = ""; for (i = n + 1; i <= NF; i++) line = line $i (i < NF ? " " : ""); print line
    }' "$T/ref.data" >"$out"
}

# Inputs of DATA as lines "i0 i1 ..." (one per item; empty lines for 0 inputs) -> FILE
export_inputs() {
    local ni=$1 data=$2 out=$3
    awk -v n="$ni" 'NR > 1 && !/^(inputs|outputs|items) / && !/^#/ && NF {
        line = ""; for (i = 1; i <= n; i++) line = line $i (i < n ? " " : ""); print line
    }' "$data" >"$out"
}

# export_check_verilog CHR DATA [NAME]: simulate with Icarus Verilog, compare with cgpc
export_check_verilog() {
    local chr=$1 data=$2 name=${3:-dut} ni no items
    ni=$(chr_field "$chr" inputs); no=$(chr_field "$chr" outputs)
    "$CGPC" circuit export "$chr" --format verilog --name "$name" --exp none --out "$T/$name.v"
    export_mutate "$T/$name.v"
    export_reference "$chr" "$data" "$T/$name.ref"
    export_inputs "$ni" "$data" "$T/$name.in"
    items=$(wc -l <"$T/$name.ref")
    # input memory: one hex byte per input per item
    awk '{ for (i = 1; i <= NF; i++) printf "%02x\n", ($i + 256) % 256 }' "$T/$name.in" >"$T/$name.hex"
    {
        echo "module tb;"
        echo "    reg [7:0] mem [0:$((ni * items > 0 ? ni * items - 1 : 0))];"
        for ((i = 0; i < ni; i++)); do echo "    reg signed [7:0] i$i;"; done
        for ((o = 0; o < no; o++)); do echo "    wire signed [7:0] o$o;"; done
        echo "    reg [1:0] item;"
        printf '    %s u (' "$name"
        local sep=""
        for ((i = 0; i < ni; i++)); do printf '%s.i%d(i%d)' "$sep" $i $i; sep=", "; done
        for ((o = 0; o < no; o++)); do printf '%s.o%d(o%d)' "$sep" $o $o; sep=", "; done
        grep -q "input  wire \[1:0\] item" "$T/$name.v" && printf '%s.item(item)' "$sep"
        echo ");"
        echo "    integer d, fd;"
        echo "    initial begin"
        [ "$ni" -gt 0 ] && echo "        \$readmemh(\"$T/$name.hex\", mem);"
        echo "        fd = \$fopen(\"$T/$name.sim\", \"w\");"
        echo "        for (d = 0; d < $items; d = d + 1) begin"
        for ((i = 0; i < ni; i++)); do echo "            i$i = mem[d * $ni + $i];"; done
        echo "            item = d;"
        echo "            #1;"
        for ((o = 0; o < no; o++)); do
            if ((o + 1 < no)); then echo "            \$fwrite(fd, \"%0d \", o$o);"
            else echo "            \$fwrite(fd, \"%0d\\n\", o$o);"; fi
        done
        echo "        end"
        echo "        \$fclose(fd);"
        echo "        \$finish;"
        echo "    end"
        echo "endmodule"
    } >"$T/${name}_tb.v"
    iverilog -g2001 -Wall -o "$T/$name.vvp" "$T/$name.v" "$T/${name}_tb.v" 2>"$T/$name.iverilog.log" ||
        { cat "$T/$name.iverilog.log" >&2; fail "iverilog could not compile the export of $chr"; }
    grep -v "timescale" "$T/$name.iverilog.log" | grep -q . &&
        { cat "$T/$name.iverilog.log" >&2; fail "iverilog warns about the export of $chr"; }
    vvp -n "$T/$name.vvp" >/dev/null || fail "vvp failed on $chr"
    export_compare "$T/$name.ref" "$T/$name.sim" "Verilog ($chr on $data)"
}

# export_check_c CHR DATA [NAME]: compile the C export with UBSan, compare with cgpc
export_check_c() {
    local chr=$1 data=$2 name=${3:-dut} ni no item_arg=""
    ni=$(chr_field "$chr" inputs); no=$(chr_field "$chr" outputs)
    "$CGPC" circuit export "$chr" --format c --name "$name" --exp none --out "$T/$name.c"
    export_mutate "$T/$name.c"
    export_reference "$chr" "$data" "$T/$name.ref"
    export_inputs "$ni" "$data" "$T/$name.in"
    grep -q "int8_t \*out, int item)" "$T/$name.c" && item_arg=", d"
    cat >"$T/${name}_main.c" <<C
#include <stdint.h>
#include <stdio.h>
#include "$name.c"
int main(void)
{
    int8_t in[$ni + 1], out[$no + 1];
    for (int d = 0;; d++) {
        for (int i = 0; i < $ni; i++) {
            int v;
            if (scanf("%d", &v) != 1)
                return 0;
            in[i] = (int8_t)v;
        }
        if ($ni == 0 && d == $(wc -l <"$T/$name.ref"))
            return 0;
        $name(in, out$item_arg);
        for (int o = 0; o < $no; o++)
            printf("%d%c", out[o], o + 1 < $no ? ' ' : '\n');
    }
}
C
    cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -fsanitize=undefined -fno-sanitize-recover=all \
        -I"$T" -o "$T/$name.exe" "$T/${name}_main.c" 2>"$T/$name.cc.log" ||
        { cat "$T/$name.cc.log" >&2; fail "the C export of $chr does not compile cleanly"; }
    "$T/$name.exe" <"$T/$name.in" >"$T/$name.cout" 2>"$T/$name.ubsan" ||
        { cat "$T/$name.ubsan" >&2; fail "the C export of $chr failed (undefined behaviour?)"; }
    [ -s "$T/$name.ubsan" ] && { cat "$T/$name.ubsan" >&2; fail "UBSan reports on the C export of $chr"; }
    export_compare "$T/$name.ref" "$T/$name.cout" "C ($chr on $data)"
}

export_mutate() {
    [ -n "$EXPORT_MUTATION" ] || return 0
    cp "$1" "$1.orig"
    sed -i -e "$EXPORT_MUTATION" "$1"
    cmp -s "$1" "$1.orig" && fail "mutation '$EXPORT_MUTATION' does not apply to $1"
    return 0
}

export_compare() {
    local n
    n=$(wc -l <"$1")
    [ "$n" -gt 0 ] || fail "$3: no items compared"
    if [ -n "$EXPORT_MUTATION" ]; then
        cmp -s "$1" "$2" && fail "$3: mutation '$EXPORT_MUTATION' went unnoticed"
        echo "ok: $3: mutation '$EXPORT_MUTATION' detected"
        return 0
    fi
    if ! cmp -s "$1" "$2"; then
        echo "first differing item (cgpc, then the export):" >&2
        diff "$1" "$2" | head -n 4 >&2 || true
        fail "$3: outputs differ from cgpc circuit eval"
    fi
    echo "ok: $3: $n items equal"
}
