#!/usr/bin/python3
"""PyTorch's evaluation of a state dict on the CIFAR-10 test set, the
reference that cmd/repro's TestEvalAgainstPyTorch holds `repro eval` to.

Usage (from the repository root; Debian's python3-torch; needs ../shared):

    /usr/bin/python3 tools/torchref/eval_control.py \\
        --weights results/weights/medium/resnet-20-seed1.safetensors --model resnet-20 \\
        --out tools/torchref/evals/resnet-20-medium-seed1.json

The network is make_fixtures.py's (written from the paper, PyTorch names,
option A shortcuts), in eval mode, in float64 from the float32 weights (so
the reference carries no float32 summation error of its own). The input is
our recipe's (Sec. 4.2): pixels x/255 minus the per-pixel mean of the 45k
training split (the last 500 images of each class, in record order, held
out), the original 32x32 image only. For every test image it records the
predicted class, whether the label is among the 5 largest logits, and the
gap between the two largest logits (where a float32 implementation may
disagree); and the top-1 and top-5 errors and mean loss of the whole set.

With --responses it also measures Fig. 7's layer responses as `repro eval
--responses` does: for every 3x3 conv, the standard deviation of its BN's
output (before ReLU and addition) over all units and evaluated images,
sqrt(E[y^2] - E[y]^2), in float64. --limit N evaluates the first N test
images only.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import tarfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import Net  # noqa: E402


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {t['dtype']}, want F32")
        lo, hi = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[lo:hi], "<f4").reshape(t["shape"]).copy())
    return out, hashlib.sha256(raw).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--model", default="resnet-20")
    ap.add_argument("--shortcut", default="A")
    ap.add_argument("--archive", default=os.path.join(HERE, "../../../shared/datasets/cifar10/cifar-10-binary.tar.gz"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--responses", action="store_true", help="also measure every 3x3 layer's BN output std (Fig. 7)")
    ap.add_argument("--limit", type=int, default=0, help="the first N test images only")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                    help="arithmetic of the forward pass: float64 (the oracle) or float32 (PyTorch's own float32 "
                         "kernels, to tell an ill-conditioned net from a bug: see issue 16.5 in fig7.yaml)")
    a = ap.parse_args()

    tf = tarfile.open(a.archive)

    def batch(name):
        raw = np.frombuffer(tf.extractfile(f"cifar-10-batches-bin/{name}.bin").read(), np.uint8).reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64), raw[:, 0].astype(np.int64)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    X = np.concatenate([p[0] for p in parts])
    Y = np.concatenate([p[1] for p in parts])
    held = np.zeros(len(Y), bool)
    for c in range(10):
        held[np.flatnonzero(Y == c)[-500:]] = True
    # Our mean image is float32 of (sum of bytes) / (255 * 45000).
    mean = (X[~held].sum(0) / (255 * 45000)).astype(np.float32).astype(np.float64)
    Xte, Yte = batch("test_batch")
    Xte = (Xte.astype(np.float32) * np.float32(1 / 255)).astype(np.float64) - mean
    if a.dtype == "float32":
        Xte = Xte.astype(np.float32)  # exact: both terms are float32 values of similar size
    if a.limit > 0:
        Xte, Yte = Xte[:a.limit], Yte[:a.limit]

    state, sha = read_safetensors(a.weights)
    net = Net({"model": a.model, "width": 1.0, "shortcut": a.shortcut, "classes": 10, "input": 32})
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{a.weights}: missing {missing}, unexpected {unexpected}")
    net = (net.double() if a.dtype == "float64" else net.float()).eval()
    acc = {}  # conv name -> [sum, sum of squares, count], in forward order
    if a.responses:
        mods = dict(net.named_modules())
        for name, m in net.named_modules():
            if not isinstance(m, torch.nn.BatchNorm2d):
                continue
            conv_name = name.rsplit(".", 1)
            conv_name = ".".join(conv_name[:-1] + [conv_name[-1].replace("bn", "conv")])
            cv = mods.get(conv_name)
            if cv is None or cv.kernel_size != (3, 3):
                continue  # projection shortcuts' and bottlenecks' 1x1 convs are not Fig. 7's

            def hook(_m, _inp, y, conv_name=conv_name):
                s = acc.setdefault(conv_name, [0.0, 0.0, 0])
                y = y.double()  # the statistics in float64 whatever the forward pass's dtype
                s[0] += y.sum().item()
                s[1] += (y * y).sum().item()
                s[2] += y.numel()
            m.register_forward_hook(hook)
    preds, in_top5, gaps, loss = [], [], [], 0.0
    with torch.no_grad():
        for i in range(0, len(Xte), 500):
            lo = net(torch.from_numpy(Xte[i:i + 500]))
            y = torch.from_numpy(Yte[i:i + 500])
            loss += F.cross_entropy(lo, y, reduction="sum").item()
            top = lo.topk(5, 1)
            preds += top.indices[:, 0].tolist()
            in_top5 += (top.indices == y[:, None]).any(1).tolist()
            gaps += (top.values[:, 0] - top.values[:, 1]).tolist()
    n = len(Yte)
    wrong = sum(int(p != y) for p, y in zip(preds, Yte.tolist()))
    out = {
        "generator": "tools/torchref/eval_control.py",
        "torch": torch.__version__,
        "weights": a.weights, "weights_sha256": sha, "model": a.model, "shortcut": a.shortcut, "dtype": a.dtype,
        "images": n, "top1_error": 100 * wrong / n, "top5_error": 100 * (n - sum(in_top5)) / n, "loss": loss / n,
        "pred": preds, "in_top5": [int(v) for v in in_top5], "top2_gap": [round(g, 6) for g in gaps],
    }
    if a.responses:
        out["responses"] = [{"layer_name": k, "std": float(np.sqrt(max(0.0, s[1] / s[2] - (s[0] / s[2]) ** 2)))}
                            for k, s in acc.items()]
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, a.out)
    print(f"{a.model} {a.weights}: top-1 {out['top1_error']:.2f}%, top-5 {out['top5_error']:.2f}%, loss {out['loss']:.4f} over {n} images")


if __name__ == "__main__":
    main()
