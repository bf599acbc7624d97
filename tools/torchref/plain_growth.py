#!/usr/bin/env python3
# Usage: /usr/bin/python3 tools/torchref/plain_growth.py [--model plain-110] [--iterations 250]
#            [--every 25] [--seed 1] [--out tools/torchref/growth/MODEL-quick-seedN.json]
# (run from the repository root; needs ../shared beside it, as eval_control.py).
#
# Issue 16.5: our plain-110 at the quick scale records Fig. 7 layer responses
# up to 165,000. eval_control.py --responses shows PyTorch measures the same
# stds on the same weights (so our forward pass is not the cause); this script
# asks whether PyTorch's own training of the same net with the same recipe
# grows the same weights. It trains MODEL in PyTorch 1.13 (float32) with the
# quick/medium recipe of `repro specs show fig6` (He init N(0, 2/fan_in), SGD
# LR 0.1, momentum 0.9, weight decay 1e-4, batch 128, 45k/5k split, per-pixel
# mean of the 45k on [0, 1] pixels, 4-pixel pad + random crop + flip; no
# warm-up, as fig6's plain nets) and every EVERY iterations prints the mean
# training loss and the scale of the first layers: max |gamma| and median
# running_var of bn1 and layer1.0.bn1, and the norm of conv1's weight. The data
# order differs from ours, so the numbers compare in size, not digit by digit.
import argparse, json, os, sys, tarfile, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import Net  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", default="plain-110")
ap.add_argument("--iterations", type=int, default=250)
ap.add_argument("--every", type=int, default=25)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--archive", default=os.path.join(HERE, "../../../shared/datasets/cifar10/cifar-10-binary.tar.gz"))
ap.add_argument("--out", default="")
a = ap.parse_args()
torch.set_num_threads(a.threads)

tf = tarfile.open(a.archive)
xs, ys = [], []
for i in range(1, 6):
    raw = np.frombuffer(tf.extractfile(f"cifar-10-batches-bin/data_batch_{i}.bin").read(), np.uint8).reshape(-1, 3073)
    ys.append(raw[:, 0].astype(np.int64)); xs.append(raw[:, 1:].reshape(-1, 3, 32, 32))
X, Y = np.concatenate(xs), np.concatenate(ys)
held = np.zeros(len(Y), bool)
for c in range(10):
    held[np.flatnonzero(Y == c)[-500:]] = True  # the 5k validation split: last 500 of each class
X, Y = X[~held].astype(np.float32) / 255, Y[~held]
X -= X.mean(0)

torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)
net = Net({"model": a.model, "width": 1.0, "shortcut": "A", "classes": 10, "input": 32})
for m in net.modules():
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
mods = dict(net.named_modules())


def scale():
    out = {"conv1_weight_norm": mods["conv1"].weight.norm().item()}
    for name in ("bn1", "layer1.0.bn1"):
        bn = mods[name]
        out[name + "_gamma_absmax"] = bn.weight.abs().max().item()
        out[name + "_running_var_median"] = bn.running_var.median().item()
    return out


rows, order, pos, loss_sum, start = [], rng.permutation(len(X)), 0, 0.0, time.time()
net.train()
for it in range(1, a.iterations + 1):
    if pos + 128 > len(X):
        order, pos = rng.permutation(len(X)), 0
    idx = order[pos:pos + 128]; pos += 128
    xb = np.pad(X[idx], ((0, 0), (0, 0), (4, 4), (4, 4)))
    dx, dy = rng.integers(0, 9, 128), rng.integers(0, 9, 128)
    flip = rng.random(128) < 0.5
    crop = np.stack([xb[k, :, dy[k]:dy[k] + 32, dx[k]:dx[k] + 32] for k in range(128)])
    crop[flip] = crop[flip, :, :, ::-1]
    loss = F.cross_entropy(net(torch.from_numpy(np.ascontiguousarray(crop))), torch.from_numpy(Y[idx]))
    opt.zero_grad(); loss.backward(); opt.step()
    loss_sum += loss.item()
    if it % a.every == 0:
        row = {"iteration": it, "train_loss": loss_sum / a.every, **scale()}
        loss_sum = 0.0
        rows.append(row)
        print(" ".join(f"{k} {v:.4g}" for k, v in row.items()), f"({time.time() - start:.0f}s)", flush=True)
if a.out:
    with open(a.out + ".tmp", "w") as f:
        json.dump({"generator": "tools/torchref/plain_growth.py", "torch": torch.__version__, "model": a.model,
                   "seed": a.seed, "rows": rows}, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
