#!/usr/bin/env python3
"""PyTorch as a peer of `npm run bench`: the course's CNN (conv 32x3x3 ReLU, max-pool 2x2,
flatten, dense 100 ReLU, dense 10; cross-entropy, Adam 0.001) trained and evaluated on MNIST
digits, images per second on a given number of threads. Prints one JSON object.

    python3 scripts/bench-torch.py --mnist <dir with the IDX files> --threads 1 --batch 64 --batches 20
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn


def read_idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mnist", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--batches", type=int, required=True)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--infer", type=int, default=0, help="images to evaluate in batches of 1000 (0: skip)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    n = a.batch * (a.batches + 1)
    images = read_idx(os.path.join(a.mnist, "train-images-idx3-ubyte"), 16)[: n * 784]
    labels = read_idx(os.path.join(a.mnist, "train-labels-idx1-ubyte"), 8)[:n]
    x = torch.from_numpy(images.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(5408, 100), nn.ReLU(), nn.Linear(100, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()

    def step(b):
        xb, yb = x[b * a.batch:(b + 1) * a.batch], y[b * a.batch:(b + 1) * a.batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()

    rates = []
    for _ in range(a.reps):
        step(0)  # warm-up, as wasmnet's first batch
        t = time.perf_counter()
        for b in range(1, a.batches + 1):
            step(b)
        rates.append(a.batch * a.batches / (time.perf_counter() - t))
    # Debian's torch calls whichever libblas.so.3 the alternatives system picks: the reference BLAS is ~4x slower here.
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    result = {"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "blas": blas, "train": sorted(rates)[len(rates) // 2]}
    if a.infer:
        xi = x.repeat((a.infer + len(x) - 1) // len(x), 1, 1, 1)[: a.infer]
        model.eval()
        with torch.no_grad():
            model(xi[:1000])
            t = time.perf_counter()
            for i in range(0, a.infer, 1000):
                model(xi[i:i + 1000])
            result["infer"] = a.infer / (time.perf_counter() - t)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
