#!/usr/bin/python3
# PyTorch reference for bench/mobilenetv2.sh: evaluates a cgpc float MobileNetV2 safetensors
# file (a torchvision state_dict with cgpc metadata: width, input_size) on an IDX test split,
# 28x28 images zero-padded to the model's input size exactly as cgpc does, with
# torch.set_num_threads(N), and prints one JSON line:
#   {"images": N, "seconds": best forward time, "images_per_s": ..., "top1": ...}
# Usage: /usr/bin/python3 bench/torch_mobilenetv2.py MODEL DATASET_DIR THREADS [BATCH] [REPEATS]
import json, os, struct, sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_lenet5 import bench, load_safetensors, find, read_idx  # noqa: E402


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def load_model(path):
    meta = metadata(path)
    sd = load_safetensors(path)
    model = torchvision.models.mobilenet_v2(num_classes=sd["classifier.1.weight"].shape[0],
                                            width_mult=float(meta.get("width", "1")))
    stem = sd["features.0.0.weight"]
    model.features[0][0] = nn.Conv2d(stem.shape[1], stem.shape[0], 3, 2, 1, bias=False)
    model.load_state_dict(sd)
    return model.eval(), int(meta.get("input_size", "32"))


def main():
    model_path, d, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    torch.set_num_threads(threads)
    model, size = load_model(model_path)
    imgs = read_idx(find(d, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(d, "t10k-labels-idx1-ubyte")).long()
    p = (size - imgs.shape[1]) // 2
    x = F.pad(imgs, (p, p, p, p)).float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    print(json.dumps(bench(model, x, labels, batch, repeats, threads)))


if __name__ == "__main__":
    main()
