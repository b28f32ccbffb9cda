#!/usr/bin/env python3
# make_cgp_data.py - write a random "cgpc-data v1" data set for benchmarks and tests.
# Rerun: python3 bench/make_cgp_data.py INPUTS OUTPUTS ITEMS SEED > FILE
# Values are uniform int8 in [-128, 127] from Python's random.Random(SEED) (stable across
# Python 3 versions), inputs first, then outputs, one line per item.
import random
import sys

def main():
    if len(sys.argv) != 5:
        sys.exit("usage: make_cgp_data.py INPUTS OUTPUTS ITEMS SEED")
    ni, no, nd, seed = (int(a) for a in sys.argv[1:])
    r = random.Random(seed)
    print("cgpc-data v1")
    print(f"inputs {ni}\noutputs {no}\nitems {nd}")
    print(f"# random int8 values, seed {seed}")
    for _ in range(nd):
        print(" ".join(str(r.randrange(-128, 128)) for _ in range(ni + no)))

main()
