#!/usr/bin/python3
# Golden data for tests/test_nn.c: PyTorch LeNet-5 logits, float and int8.
# Rerun (from the repo root, Debian's python3-torch 1.13):
#     /usr/bin/python3 tests/golden/make_lenet5_golden.py
# Writes into tests/golden/:
#   lenet5-images-idx3-ubyte, lenet5-labels-idx1-ubyte  first 16 images of data/mnist test split
#   lenet5.safetensors        float state_dict of a LeNet5 with seeded weights, no metadata
#                             (exactly what safetensors.torch.save_file would write)
#   lenet5-logits.csv         PyTorch float logits, one row per image
#   lenet5-int8.safetensors   the PyTorch eager-mode quantized model exported to cgpc-int8
#   lenet5-int8-logits.csv    PyTorch quantized-model logits (dequantized), one row per image
# python3-safetensors is not packaged in Debian, so the file is written by the tiny writer
# below (same format: u64 LE header length, JSON header sorted by name, padded with spaces to
# 8 bytes, then the raw little-endian tensors).
# The quantized engine: this torch build has no fbgemm (supported: qnnpack, onednn); we use
# the best available one with per-channel symmetric int8 weights and MinMax observers.
import gzip, json, os, struct, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
N = 16


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(256, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class QLeNet5(nn.Module):
    """Eager-mode quantizable LeNet5: conv+relu and linear+relu fused."""

    def __init__(self, f):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv1, self.relu1 = f.conv1, nn.ReLU()
        self.conv2, self.relu2 = f.conv2, nn.ReLU()
        self.fc1, self.relu3 = f.fc1, nn.ReLU()
        self.fc2, self.relu4 = f.fc2, nn.ReLU()
        self.fc3 = f.fc3
        self.pool = nn.MaxPool2d(2)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.dequant(self.fc3(x))


DT = {torch.float32: "F32", torch.int8: "I8", torch.uint8: "U8", torch.int32: "I32",
      torch.int64: "I64"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_idx(path):
    """IDX file (plain or .gz) -> uint8 tensor [n, rows, cols] or [n]."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        r, c = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(n, r, c)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8)


def write_idx(path, t):
    with open(path, "wb") as f:
        if t.dim() == 3:
            f.write(struct.pack(">IIII", 0x803, *t.shape))
        else:
            f.write(struct.pack(">II", 0x801, t.shape[0]))
        f.write(t.numpy().tobytes())


def normalise(pix):
    return ((pix.float().div(255) - 0.5) / 0.5).unsqueeze(1)


def write_csv(path, logits):
    with open(path, "w") as f:
        for row in logits.tolist():
            f.write(",".join("%.9g" % v for v in row) + "\n")


def main():
    torch.manual_seed(20261123)
    model = LeNet5().eval()
    imgs = read_idx(os.path.join(ROOT, "data/mnist/t10k-images-idx3-ubyte.gz"))[:N].clone()
    labels = read_idx(os.path.join(ROOT, "data/mnist/t10k-labels-idx1-ubyte.gz"))[:N].clone()
    write_idx(os.path.join(HERE, "lenet5-images-idx3-ubyte"), imgs)
    write_idx(os.path.join(HERE, "lenet5-labels-idx1-ubyte"), labels)
    x = normalise(imgs)
    with torch.no_grad():
        write_csv(os.path.join(HERE, "lenet5-logits.csv"), model(x))
    save_safetensors(os.path.join(HERE, "lenet5.safetensors"),
                     {k: v for k, v in model.state_dict().items()})

    # int8: eager mode, per-channel symmetric weights, MinMax activations
    engine = "fbgemm" if "fbgemm" in torch.backends.quantized.supported_engines else "onednn"
    torch.backends.quantized.engine = engine
    q = QLeNet5(model).eval()
    torch.ao.quantization.fuse_modules(
        q, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"], ["fc2", "relu4"]],
        inplace=True)
    q.qconfig = torch.ao.quantization.QConfig(
        activation=torch.ao.quantization.MinMaxObserver.with_args(dtype=torch.quint8),
        weight=torch.ao.quantization.PerChannelMinMaxObserver.with_args(
            dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    torch.ao.quantization.prepare(q, inplace=True)
    train = read_idx(os.path.join(ROOT, "data/mnist/train-images-idx3-ubyte.gz"))[:256]
    with torch.no_grad():
        q(normalise(train))
    torch.ao.quantization.convert(q, inplace=True)
    with torch.no_grad():
        write_csv(os.path.join(HERE, "lenet5-int8-logits.csv"), q(x))
    tensors = {}
    in_scale, in_zp = float(q.quant.scale), int(q.quant.zero_point)
    for name in ["conv1", "conv2", "fc1", "fc2", "fc3"]:
        m = getattr(q, name)
        w = m.weight()
        ws = w.q_per_channel_scales().float()
        tensors[name + ".weight"] = w.int_repr()
        tensors[name + ".weight_scale"] = ws
        b = m.bias().detach().double()
        tensors[name + ".bias"] = torch.round(b / (in_scale * ws.double())).to(torch.int32)
        tensors[name + ".input_scale"] = torch.tensor([in_scale], dtype=torch.float32)
        tensors[name + ".input_zero_point"] = torch.tensor([in_zp], dtype=torch.int32)
        tensors[name + ".output_scale"] = torch.tensor([float(m.scale)], dtype=torch.float32)
        tensors[name + ".output_zero_point"] = torch.tensor([int(m.zero_point)],
                                                            dtype=torch.int32)
        in_scale, in_zp = float(m.scale), int(m.zero_point)
    save_safetensors(os.path.join(HERE, "lenet5-int8.safetensors"), tensors,
                     {"format": "cgpc-int8", "format_version": "1", "arch": "lenet5",
                      "source": "tests/golden/make_lenet5_golden.py (torch %s, %s)" %
                      (torch.__version__, engine)})
    print("wrote golden data for %d images (quantized engine: %s)" % (N, engine))


if __name__ == "__main__":
    sys.exit(main())
