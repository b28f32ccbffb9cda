#!/usr/bin/python3
# Golden data for the low-bit kernels (src/nn/lowbit.c), checked by tests/test_lowbit.c.
# Rerun (from the repo root, Debian's python3-numpy; no other dependency):
#     /usr/bin/python3 tests/golden/make_lowbit_golden.py > tests/golden/lowbit-golden.txt
# Computed independently of the C code: NumPy float32 arithmetic for mid-rise and landmarks,
# Python's statistics.NormalDist for the normal quantiles, np.argmin for nearest landmarks,
# plain Python doubles for multi-point fitting, NumPy's float16 cast for fp16 and
# np.packbits(bitorder="little") for packing.
# Output: one line per item, `name count v0 v1 ...`; floats printed with 9 significant digits
# (exact for float32), codes as integers. Tensor W is 2 output channels x 10 weights.
import statistics
import numpy as np

f32 = np.float32
W = np.array([[0.31, -0.12, 0.05, -0.44, 0.27, 0.27, -0.03, 0.18, -0.21, 0.09],
              [-1.5, 0.75, 0.2, -0.05, 1.1, -0.9, 0.6, 0.0, -0.35, 1.25]], dtype=f32)
BITS = [1, 2, 3, 4, 8]


def out(name, vals, fmt="%.9g"):
    vals = list(vals)
    print(name, len(vals), " ".join(fmt % v for v in vals))


def groups(per_channel):
    return [W[0], W[1]] if per_channel else [W.reshape(-1)]


def midrise(w, b):
    L = 1 << b
    amax = np.max(np.abs(w))
    delta = f32(f32(2) * amax / f32(L))
    k = np.floor(w / delta) + f32(L // 2)
    k = np.clip(k, 0, L - 1).astype(np.int64)
    return k, delta * ((k.astype(f32) - f32(L // 2)) + f32(0.5))


def lm_uniform(w, b):
    L = 1 << b
    lo, hi = np.min(w), np.max(w)
    step = f32((hi - lo) / f32(L))
    return lo + (np.arange(L).astype(f32) + f32(0.5)) * step


def lm_histogram(w, b):
    L, n = 1 << b, w.size
    s = np.sort(w)
    return s[np.minimum(((2 * np.arange(L) + 1) * n) // (2 * L), n - 1)]


def lm_normal(w, b):
    L = 1 << b
    x = [float(v) for v in w]
    mu = sum(x) / len(x)
    sd = (sum((v - mu) ** 2 for v in x) / len(x)) ** 0.5
    nd = statistics.NormalDist()
    return np.array([mu + sd * nd.inv_cdf((k + 0.5) / L) for k in range(L)], dtype=f32)


def nearest(w, lm):
    return np.array([int(np.argmin(np.abs(v - lm))) for v in w])


def multipoint(gs, b, max_points, tol):
    top = (1 << b) - 1
    eps = 2.0 / top
    rs = [[float(v) for v in g] for g in gs]
    wn = sum(v * v for g in rs for v in g)
    codes, alphas, p = [], [[] for _ in gs], 0
    while p < max_points:
        rn, cp = 0.0, []
        for gi, r in enumerate(rs):
            a = max(abs(v) for v in r)
            c, rg, gg = [], 0.0, 0.0
            for v in r:
                k = np.floor((v / a + 1.0) / eps + 0.5) if a > 0 else np.floor(1.0 / eps + 0.5)
                k = int(min(max(k, 0), top))
                c.append(k)
                gv = -1.0 + k * (2.0 / top)
                rg += v * gv
                gg += gv * gv
            al = float(f32(rg / gg)) if gg > 0 else 0.0
            alphas[gi].append(al)
            for i in range(len(r)):
                r[i] -= al * (-1.0 + c[i] * (2.0 / top))
                rn += r[i] * r[i]
            cp += c
        codes.append(cp)
        p += 1
        if rn <= tol * tol * wn:
            break
    return p, codes, alphas


for pc in (0, 1):
    gs = groups(pc)
    for b in BITS:
        tag = "b%d_pc%d" % (b, pc)
        ks, vs = [], []
        for g in gs:
            k, v = midrise(g, b)
            ks += list(k)
            vs += list(v)
        out("midrise_codes_" + tag, ks, "%d")
        out("midrise_values_" + tag, vs)
        for name, fn in (("uniform", lm_uniform), ("histogram", lm_histogram),
                         ("normal", lm_normal)):
            lms, ks = [], []
            for g in gs:
                lm = fn(g, b)
                lms += list(lm)
                ks += list(nearest(g, lm))
            out("lm_%s_%s" % (name, tag), lms)
            out("round_%s_codes_%s" % (name, tag), ks, "%d")
    for b in (1, 2, 3, 4):
        for tol in (0.3, 0.01):
            p, codes, alphas = multipoint(gs, b, 6, tol)
            tag = "b%d_pc%d_tol%g" % (b, pc, tol)
            out("mp_points_" + tag, [p], "%d")
            out("mp_codes_" + tag, [c for cp in codes for c in cp], "%d")
            out("mp_alpha_" + tag, [a for al in alphas for a in al])

F16_IN = np.array([0.0, -0.0, 0.1, -0.1, 1.0 / 3.0, 65504.0, 65519.0, 65520.0, 1e6, 2.0 ** -14,
                   2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 2.0 ** -26, 5.96e-8, 6.1e-5,
                   1.00048828125, 1.0009765625, 1.00146484375, -2.5e-6, 12345.678],
                  dtype=f32)
out("f16_in", F16_IN)
out("f16_bits", F16_IN.astype(np.float16).view(np.uint16), "%d")

for b in range(1, 9):
    codes = (np.arange(23) * 7 + 3) % (1 << b)
    bits = ((codes[:, None] >> np.arange(b)[None, :]) & 1).astype(np.uint8).reshape(-1)
    out("pack_codes_b%d" % b, codes, "%d")
    out("pack_bytes_b%d" % b, np.packbits(bits, bitorder="little"), "%d")
