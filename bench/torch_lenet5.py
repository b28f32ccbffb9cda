#!/usr/bin/python3
# PyTorch reference for bench/lenet5.sh: evaluates a cgpc float LeNet-5 safetensors file on an
# IDX test split with torch.set_num_threads(N) and prints one JSON line:
#   {"images": N, "seconds": best forward time, "images_per_s": ..., "top1": ...}
# Usage: /usr/bin/python3 bench/torch_lenet5.py MODEL DATASET_DIR THREADS [BATCH] [REPEATS]
# (Debian's python3-torch; the safetensors file is read by the small reader below.)
import gzip, json, os, struct, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "golden"))
from make_lenet5_golden import LeNet5, read_idx  # noqa: E402  (the same module definition)

DT = {"F32": torch.float32, "I8": torch.int8, "U8": torch.uint8, "I32": torch.int32,
      "I64": torch.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + b:base + e]),
                                     dtype=DT[t["dtype"]]).reshape(t["shape"])
    return out


def find(d, stem):
    for p in (os.path.join(d, stem), os.path.join(d, stem + ".gz")):
        if os.path.exists(p):
            return p
    raise SystemExit("%s/%s[.gz] not found" % (d, stem))


def bench(model, x, labels, batch, repeats, threads):
    """Best-of-`repeats` forward time over x in batches; the JSON line's fields."""
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            t0 = time.perf_counter()
            preds = [model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)]
            best = min(best, time.perf_counter() - t0)
        top1 = (torch.cat(preds) == labels).float().mean().item()
    return {"images": len(x), "seconds": best, "images_per_s": len(x) / best, "top1": top1,
            "batch": batch, "threads": threads}


def main():
    model_path, d, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    torch.set_num_threads(threads)
    model = LeNet5().eval()
    model.load_state_dict(load_safetensors(model_path))
    imgs = read_idx(find(d, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(d, "t10k-labels-idx1-ubyte")).long()
    x = ((imgs.float().div(255) - 0.5) / 0.5).unsqueeze(1)
    print(json.dumps(bench(model, x, labels, batch, repeats, threads)))


if __name__ == "__main__":
    main()
