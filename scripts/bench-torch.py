#!/usr/bin/env python3
"""PyTorch as a peer of `npm run bench`: the course's CNN (conv 32x3x3 ReLU, max-pool 2x2,
flatten, dense 100 ReLU, dense 10; cross-entropy, Adam 0.001) trained and evaluated on MNIST
digits, images per second on a given number of threads. Prints one JSON object.

    python3 scripts/bench-torch.py --mnist <dir with the IDX files> --threads 1 --batch 64 --batches 20

With --main-job it runs wasmnet's main job instead (`npm run train`: 60,000 digits, batch 1000, 10 epochs,
shuffled each epoch, the test set evaluated after each epoch) and prints its time and accuracies:

    python3 scripts/bench-torch.py --mnist <dir> --threads 2 --main-job
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


def course_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(5408, 100), nn.ReLU(), nn.Linear(100, 10),
    )


def load(mnist, part, count):
    images = read_idx(os.path.join(mnist, f"{part}-images-idx3-ubyte"), 16)[: count * 784]
    labels = read_idx(os.path.join(mnist, f"{part}-labels-idx1-ubyte"), 8)[:count]
    x = torch.from_numpy(images.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def main_job(a):
    x, y = load(a.mnist, "train", 60000)
    xt, yt = load(a.mnist, "t10k", 10000)
    model = course_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()
    accuracies = []
    t = time.perf_counter()
    for _ in range(10):
        model.train()
        order = torch.randperm(len(x))
        for b in range(0, len(x), a.batch):
            idx = order[b:b + a.batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum()) for i in range(0, len(xt), 1000))
        accuracies.append(100 * correct / len(xt))
    seconds = time.perf_counter() - t
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "seconds": seconds, "test_accuracy": accuracies}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mnist", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--batches", type=int, default=0)
    p.add_argument("--main-job", action="store_true", help="10 epochs of batch 1000 on all 60,000 digits, timed")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--infer", type=int, default=0, help="images to evaluate in batches of 1000 (0: skip)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.main_job:
        return main_job(a)
    n = a.batch * (a.batches + 1)
    x, y = load(a.mnist, "train", n)
    model = course_cnn()
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
