#!/usr/bin/env python3
# lenet_conv1_ring.py - the CGP data set of benchmark (c): LeNet-5 conv1, per kernel (6 items)
# the 3x3 core (9 inputs, row-major) -> the 16-weight outer ring of the 5x5 kernel (outputs,
# row-major over the 5x5 positions with row or column 0 or 4).
# Rerun: python3 bench/lenet_conv1_ring.py models/lenet5-mnist-int8.safetensors \
#            > bench/data/lenet5_conv1_ring.txt
# Reads the int8 safetensors directly (no torch needed); tensor conv1.weight, I8 [6,1,5,5].
import json
import struct
import sys

def main():
    if len(sys.argv) != 2:
        sys.exit("usage: lenet_conv1_ring.py MODEL.safetensors")
    raw = open(sys.argv[1], "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    t = header["conv1.weight"]
    if t["dtype"] != "I8" or t["shape"] != [6, 1, 5, 5]:
        sys.exit(f"conv1.weight: expected I8 [6,1,5,5], got {t['dtype']} {t['shape']}")
    lo, hi = t["data_offsets"]
    w = struct.unpack(f"<{hi - lo}b", raw[8 + n + lo:8 + n + hi])
    print("cgpc-data v1")
    print("inputs 9\noutputs 16\nitems 6")
    print(f"# {sys.argv[1]} conv1.weight: 3x3 core -> 16-weight outer ring, one item per kernel")
    for k in range(6):
        kern = w[k * 25:(k + 1) * 25]
        core = [kern[r * 5 + c] for r in range(1, 4) for c in range(1, 4)]
        ring = [kern[r * 5 + c] for r in range(5) for c in range(5) if r in (0, 4) or c in (0, 4)]
        print(" ".join(str(v) for v in core + ring))

main()
