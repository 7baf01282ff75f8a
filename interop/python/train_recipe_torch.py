"""The `--preset best` recipe (ResNet, SGD + Nesterov, one-cycle, crop + flip, random erasing, label
smoothing 0.1, EMA 0.999, bf16) written again in plain PyTorch, to train it on a GPU for many more epochs
than an hour of 2 CPU cores allows. It answers one question for docs/resnet.md: is the hour-long CPU run
limited by the recipe or by compute? It is a side experiment, not part of fmnist: fmnist trains in C#.

    python3 train_recipe_torch.py DATA_DIR --epochs 24 150 [--width 32 --blocks 2,2,2] [--json OUT.json]

DATA_DIR holds the four Fashion-MNIST IDX files (.gz). Each --epochs value is one run from scratch on a
stratified 48,000/12,000 split (seeded), validated on the 12,000, then scored once on the test set.
Differences from fmnist's C# trainer: the split itself, the erasing rectangle's aspect-ratio law, the
BatchNorm statistics (averaged with the weights instead of recomputed each epoch), and bf16 autocast.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_idx  # noqa: E402
from fmnist_model import ResNetNet  # noqa: E402  the same network fmnist exports to


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def split(labels, fraction, seed):
    rng = np.random.default_rng(seed)
    val = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        val.extend(members[:int(round(len(members) * fraction))])
    mask = np.zeros(len(labels), dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def augment(x, padding, flip, erase, erase_max_area, gen):
    """x: (B,1,28,28) in [0,1]. Random crop of the zero-padded image, horizontal flip, random erasing to 0."""
    b = x.shape[0]
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=gen)
    dx = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=gen)
    rows = (dy[:, None] + torch.arange(28, device=x.device)[None, :])  # (B,28)
    cols = (dx[:, None] + torch.arange(28, device=x.device)[None, :])
    out = padded[torch.arange(b, device=x.device)[:, None, None], 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)
    mirror = torch.rand(b, device=x.device, generator=gen) < flip
    out = torch.where(mirror[:, None, None, None], out.flip(3), out)
    # Erasing: area share in [0.02, max], aspect ratio log-uniform in [0.3, 3.3], position uniform.
    area = (0.02 + torch.rand(b, device=x.device, generator=gen) * (erase_max_area - 0.02)) * 784
    ratio = torch.exp(torch.empty(b, device=x.device).uniform_(math.log(0.3), math.log(3.3), generator=gen))
    h = torch.clamp(torch.sqrt(area * ratio).round(), 1, 28)
    w = torch.clamp(torch.sqrt(area / ratio).round(), 1, 28)
    top = (torch.rand(b, device=x.device, generator=gen) * (29 - h)).floor()
    left = (torch.rand(b, device=x.device, generator=gen) * (29 - w)).floor()
    r = torch.arange(28, device=x.device)[None, :]
    inside = ((r >= top[:, None]) & (r < (top + h)[:, None]))[:, :, None] & ((r >= left[:, None]) & (r < (left + w)[:, None]))[:, None, :]
    apply = (torch.rand(b, device=x.device, generator=gen) < erase)[:, None, None]
    return out * ~(inside & apply).unsqueeze(1)


@torch.no_grad()
def accuracy(model, images, labels, mean, std, batch=2000):
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        x = (images[i:i + batch] - mean) / std
        with torch.autocast(DEVICE, dtype=torch.bfloat16):
            correct += (model(x).argmax(1) == labels[i:i + batch]).sum().item()
    return correct / len(images)


def run(args, epochs, data):
    dev = DEVICE
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    (tx, ty), (vx, vy), (sx, sy) = data
    mean, std = tx.mean(), tx.std()
    blocks = tuple(int(b) for b in args.blocks.split(","))
    model = ResNetNet(width=args.width, blocks=blocks).to(dev).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    steps_per_epoch = len(tx) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=epochs * steps_per_epoch, cycle_momentum=False)
    start = time.time()
    curve = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(tx), device=dev, generator=gen)
        for s in range(steps_per_epoch):
            idxs = order[s * args.batch:(s + 1) * args.batch]
            x = augment(tx[idxs], args.crop_padding, args.flip, args.erase, args.erase_max_area, gen)
            x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
            with torch.autocast(DEVICE, dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x), ty[idxs], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():  # EMA of the weights; BatchNorm statistics averaged the same way
                for e, m in zip(list(ema.parameters()) + list(ema.buffers()), list(model.parameters()) + list(model.buffers())):
                    if e.dtype.is_floating_point:
                        e.lerp_(m, 1 - args.ema)
                    else:
                        e.copy_(m)
        if (epoch + 1) % max(1, epochs // 12) == 0 or epoch + 1 == epochs:
            curve.append({"epoch": epoch + 1, "val_accuracy": accuracy(ema, vx, vy, mean, std)})
            print(json.dumps({"epochs": epochs, **curve[-1], "seconds": round(time.time() - start, 1)}), flush=True)
    return {"epochs": epochs, "val_accuracy": curve[-1]["val_accuracy"], "test_accuracy": accuracy(ema, sx, sy, mean, std),
            "seconds": round(time.time() - start, 1), "curve": curve}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir")
    p.add_argument("--epochs", type=int, nargs="+", default=[24])
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--blocks", default="2,2,2")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--crop-padding", type=int, default=2)
    p.add_argument("--flip", type=float, default=0.5)
    p.add_argument("--erase", type=float, default=0.5)
    p.add_argument("--erase-max-area", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, help="use only the first N training, validation and test images (smoke test)")
    p.add_argument("--json")
    args = p.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(1)
    d = args.data_dir
    images = fashion_idx.read(f"{d}/train-images-idx3-ubyte.gz")
    labels = fashion_idx.read(f"{d}/train-labels-idx1-ubyte.gz")
    train, val = split(labels, 0.2, args.seed)
    if args.limit:  # a smoke test on a few images
        train, val = train[:args.limit], val[:args.limit]

    def t(x, y):
        return (torch.tensor(x, dtype=torch.float32, device=DEVICE).unsqueeze(1) / 255,
                torch.tensor(y, dtype=torch.long, device=DEVICE))

    data = (t(images[train], labels[train]), t(images[val], labels[val]),
            t(fashion_idx.read(f"{d}/t10k-images-idx3-ubyte.gz")[:args.limit or None], fashion_idx.read(f"{d}/t10k-labels-idx1-ubyte.gz")[:args.limit or None]))
    results = {"device": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu", "torch": torch.__version__, "width": args.width,
               "blocks": args.blocks, "runs": [run(args, e, data) for e in args.epochs]}
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}))
    for r in results["runs"]:
        print(json.dumps({k: v for k, v in r.items() if k != "curve"}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
