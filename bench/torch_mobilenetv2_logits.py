#!/usr/bin/python3
# Cross-check of a cgpc float MobileNetV2 file against torchvision: loads the file as a
# torchvision mobilenet_v2 state_dict (bench/torch_mobilenetv2.py load_model), computes float
# logits of the first N test images (28x28 zero-padded to the model's input size, normalised
# as cgpc does), and compares them with the logits cgpc wrote (`cgpc eval --logits FILE`, one
# CSV row per image, same images). Prints one JSON line: images, max_abs_diff, top-1 of each,
# and how many images' argmax agree.
# Usage (Debian's python3-torch 1.13 / python3-torchvision 0.14):
#   bin/cgpc eval --model MODEL --dataset fashion-mnist --limit N --logits L.csv
#   /usr/bin/python3 bench/torch_mobilenetv2_logits.py MODEL DATASET_DIR L.csv
import json, os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_lenet5 import find, read_idx  # noqa: E402
from torch_mobilenetv2 import load_model  # noqa: E402


def main():
    model_path, d, csv_path = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(csv_path) as f:
        ours = torch.tensor([[float(v) for v in line.split(",")] for line in f if line.strip()],
                            dtype=torch.float64)
    n = ours.shape[0]
    model, size = load_model(model_path)
    imgs = read_idx(find(d, "t10k-images-idx3-ubyte"))[:n]
    labels = read_idx(find(d, "t10k-labels-idx1-ubyte"))[:n].long()
    p = (size - imgs.shape[1]) // 2
    x = F.pad(imgs, (p, p, p, p)).float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    with torch.no_grad():
        ref = torch.cat([model(x[i:i + 100]) for i in range(0, n, 100)]).double()
    print(json.dumps({
        "images": n,
        "max_abs_diff": (ref - ours).abs().max().item(),
        "max_abs_logit": ref.abs().max().item(),
        "top1_torch": (ref.argmax(1) == labels).double().mean().item(),
        "top1_cgpc": (ours.argmax(1) == labels).double().mean().item(),
        "argmax_agree": int((ref.argmax(1) == ours.argmax(1)).sum().item()),
    }))


if __name__ == "__main__":
    main()
