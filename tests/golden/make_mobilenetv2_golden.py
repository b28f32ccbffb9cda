#!/usr/bin/python3
# Golden data for tests/test_nn.c: torchvision MobileNetV2 logits (float).
# Rerun (from the repo root, Debian's python3-torch 1.13 / python3-torchvision 0.14):
#     /usr/bin/python3 tests/golden/make_mobilenetv2_golden.py
# Writes into tests/golden/:
#   mnv2-images-idx3-ubyte, mnv2-labels-idx1-ubyte  first 16 Fashion-MNIST test images (28x28)
#   mnv2.safetensors   state_dict of torchvision.models.mobilenet_v2(num_classes=10,
#                      width_mult=0.25) with features.0.0 replaced by a 1-input-channel conv,
#                      seeded random weights, random BatchNorm affine and running statistics
#                      measured on 256 training images (so BN folding is exercised and the
#                      logits depend on the input), num_batches_tracked (I64) included, no
#                      metadata:
#                      exactly what safetensors' save_file(model.state_dict()) writes
#   mnv2-grad.csv      training-mode gradients (BatchNorm with batch statistics) of the mean
#                      cross-entropy over the 16 images: one line per tensor, "name,v0,v1,..."
#                      for the tensors listed in GRAD_TENSORS
#   mnv2-logits.csv    PyTorch float logits (eval mode), one row per image; the 28x28 images
#                      are zero-padded by 2 pixels on each side (pixel value 0, before
#                      normalisation) to 32x32 and normalised with mean 0.5, std 0.5
import os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lenet5_golden import save_safetensors, read_idx, write_idx, write_csv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = "/usr/share/datasets/fashion-mnist"
N = 16
WIDTH = 0.25
GRAD_TENSORS = ["features.0.0.weight", "features.0.1.weight", "features.0.1.bias",
                "features.1.conv.0.0.weight", "features.2.conv.1.0.weight",
                "features.3.conv.2.weight", "features.3.conv.3.weight",
                "features.17.conv.1.1.bias", "features.18.0.weight", "classifier.1.weight",
                "classifier.1.bias"]


def main():
    torch.manual_seed(20261124)
    model = torchvision.models.mobilenet_v2(num_classes=10, width_mult=WIDTH)
    old = model.features[0][0]
    model.features[0][0] = nn.Conv2d(1, old.out_channels, 3, 2, 1, bias=False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.momentum = None  # cumulative average over the calibration batches
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 0.1)
                m.bias.uniform_(-0.1, 0.1)
    train = read_idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))[:256]
    model.train()
    with torch.no_grad():
        for k in range(0, 256, 64):
            model(F.pad(train[k:k + 64], (2, 2, 2, 2)).float().div(255).sub(0.5).div(0.5)
                  .unsqueeze(1))
    model.eval()
    imgs = read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))[:N].clone()
    labels = read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))[:N].clone()
    write_idx(os.path.join(HERE, "mnv2-images-idx3-ubyte"), imgs)
    write_idx(os.path.join(HERE, "mnv2-labels-idx1-ubyte"), labels)
    x = F.pad(imgs, (2, 2, 2, 2)).float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    with torch.no_grad():
        write_csv(os.path.join(HERE, "mnv2-logits.csv"), model(x))
    save_safetensors(os.path.join(HERE, "mnv2.safetensors"), dict(model.state_dict()))
    # training-mode gradient (dropout off: p = 0 so that C and PyTorch see the same network)
    model.train()
    model.classifier[0].p = 0.0
    loss = F.cross_entropy(model(x), labels.long())
    loss.backward()
    params = dict(model.named_parameters())
    with open(os.path.join(HERE, "mnv2-grad.csv"), "w") as f:
        f.write("loss,%.9g\n" % loss.item())
        for name in GRAD_TENSORS:
            f.write(name + "," + ",".join("%.9g" % v for v in
                                          params[name].grad.flatten().tolist()) + "\n")
    print("wrote MobileNetV2 golden data for %d images" % N)


if __name__ == "__main__":
    sys.exit(main())
