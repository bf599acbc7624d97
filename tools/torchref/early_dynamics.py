#!/usr/bin/env python3
# Usage: /usr/bin/python3 tools/torchref/early_dynamics.py DEPTH ITERATIONS [SEED]
# (run from the repository root; needs ../shared beside it: see sys.path and the archive path below).
# Early training dynamics of CIFAR ResNets in PyTorch 1.13 with the paper's
# recipe (He init, SGD 0.1 momentum 0.9 wd 1e-4, batch 128, per-pixel mean,
# 4-pixel pad + random crop + flip), to compare with our engine's quick runs.
import os, sys, tarfile, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../shared/bench"))
from bench_torch import CifarResNet
torch.set_num_threads(2)
depth, iters, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1
tf = tarfile.open(os.path.join(os.path.dirname(__file__), "../../../shared/datasets/cifar10/cifar-10-binary.tar.gz"))
xs, ys = [], []
for i in range(1, 6):
    raw = np.frombuffer(tf.extractfile(f"cifar-10-batches-bin/data_batch_{i}.bin").read(), np.uint8).reshape(-1, 3073)
    ys.append(raw[:, 0].astype(np.int64)); xs.append(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32))
X, Y = np.concatenate(xs)[:45000], np.concatenate(ys)[:45000]
X -= X.mean(0)
torch.manual_seed(seed); rng = np.random.default_rng(seed)
m = CifarResNet((depth - 2) // 6)
for mod in m.modules():
    if isinstance(mod, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(mod.weight)
        if getattr(mod, "bias", None) is not None: nn.init.zeros_(mod.bias)
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
m.train(); sl = se = 0.0
for it in range(iters):
    idx = rng.integers(0, len(X), 128)
    xb = np.pad(X[idx], ((0, 0), (0, 0), (4, 4), (4, 4)))
    out = np.empty((128, 3, 32, 32), np.float32)
    for k in range(128):
        a, b = rng.integers(0, 9, 2); im = xb[k, :, a:a + 32, b:b + 32]
        out[k] = im[:, :, ::-1] if rng.random() < 0.5 else im
    x, y = torch.from_numpy(out), torch.from_numpy(Y[idx])
    logits = m(x); loss = F.cross_entropy(logits, y)
    opt.zero_grad(); loss.backward(); opt.step()
    sl += loss.item(); se += (logits.argmax(1) != y).float().mean().item()
    if it == 0: print(f"resnet-{depth} iteration 1 loss {loss.item():.3f}", flush=True)
    if (it + 1) % 25 == 0:
        print(f"resnet-{depth} iterations {it-23}-{it+1}: loss {sl/25:.3f} error {100*se/25:.1f}%", flush=True); sl = se = 0
