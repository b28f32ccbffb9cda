#!/usr/bin/python3
# Golden data for tests/test_compress.c (pruning masks, k-means with fixed initialisations),
# computed independently of the C code with NumPy. Rerun from the repository root:
#     /usr/bin/python3 tests/golden/make_compress_golden.py > tests/golden/compress-golden.txt
# Format: one record per line, "name: v v v ..."; floats printed with 9 significant digits
# (float32 round-trips exactly).
import math
import numpy as np

rs = np.random.RandomState(20160101)


def tensor(n, zeros=0, ties=0):
    w = (rs.randn(n) * 0.1).astype(np.float32)
    w[rs.choice(n, zeros, replace=False)] = 0  # already pruned weights
    for _ in range(ties):  # equal magnitudes with both signs
        i, j = rs.choice(n, 2, replace=False)
        w[j] = -w[i]
    return w


def prune_count(n, s):
    return min(n, max(0, int(math.floor(s * n + 0.5))))


def prune(tensors, s):
    """Global magnitude pruning: stable sort of |w| over the concatenation."""
    allw = np.concatenate(tensors)
    k = prune_count(allw.size, s)
    order = np.argsort(np.abs(allw), kind="stable")
    mask = np.ones(allw.size, dtype=np.uint8)
    mask[order[:k]] = 0
    thr = float(np.abs(allw)[order[k - 1]]) if k else 0.0
    out, off = [], 0
    for t in tensors:
        out.append(mask[off:off + t.size])
        off += t.size
    return out, np.float32(thr)


def kmeans_init(kept, k, how):
    s = np.sort(kept)
    m = s.size
    if how == "linear":
        lo, hi = float(s[0]), float(s[-1])
        return np.array([lo + (hi - lo) * j / (k - 1) for j in range(k)], dtype=np.float32)
    return np.array([s[int(math.floor((j + 0.5) * m / k))] for j in range(k)], dtype=np.float32)


def kmeans_run(w, mask, c, max_iter):
    c = c.copy()
    kept = np.nonzero(mask)[0]
    assign = np.full(w.size, 0xFFFF, dtype=np.int64)
    it = 0
    while True:
        d = np.abs(w[kept].astype(np.float64)[:, None] - c.astype(np.float64)[None, :])
        a = d.argmin(axis=1)  # first index on ties
        changed = np.any(a != assign[kept])
        assign[kept] = a
        if not changed or it >= max_iter:
            break
        it += 1
        for j in range(c.size):
            members = [float(w[i]) for i in kept if assign[i] == j]  # position order
            if members:
                s = 0.0
                for v in members:
                    s += v
                c[j] = np.float32(s / len(members))
    return c, assign, it


def fmt(xs):
    return " ".join("%.9g" % float(x) for x in xs)


def ints(xs):
    return " ".join(str(int(x)) for x in xs)


a = tensor(20, zeros=2, ties=2)
b = tensor(12, zeros=1, ties=1)
print("prune_a:", fmt(a))
print("prune_b:", fmt(b))
(ma,), _ = prune([a], 0.35)
print("layer_mask_a_0.35:", ints(ma))
(mb,), _ = prune([b], 0.6)
print("layer_mask_b_0.6:", ints(mb))
(ga, gb), thr = prune([a, b], 0.5)
print("global_mask_a_0.5:", ints(ga))
print("global_mask_b_0.5:", ints(gb))
print("global_threshold_0.5:", fmt([thr]))

w = tensor(40, zeros=0, ties=3)
mask = np.ones(40, dtype=np.uint8)
mask[rs.choice(40, 8, replace=False)] = 0
print("kmeans_w:", fmt(w))
print("kmeans_mask:", ints(mask))
for how in ("linear", "density"):
    c0 = kmeans_init(w[mask == 1], 4, how)
    c, assign, it = kmeans_run(w, mask, c0, 100)
    print("kmeans_%s_init:" % how, fmt(c0))
    print("kmeans_%s_centroids:" % how, fmt(c))
    print("kmeans_%s_assign:" % how, ints(assign))
    print("kmeans_%s_iters:" % how, it)
