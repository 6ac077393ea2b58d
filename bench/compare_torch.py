#!/usr/bin/env python3
"""PyTorch's side of bench/compare.sh: the same workloads as compare_footprint, one JSON line each.

Run by compare.sh with OpenBLAS first on LD_LIBRARY_PATH (Debian's torch otherwise loads the
reference BLAS). Usage: compare_torch.py WORKLOAD --threads T [--batch B] [--runs R]
WORKLOAD: six-block | conv | vgg | lenet (lenet also takes --data DIR --epochs 1).
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(args, workload, seconds, items, unit, **extra):
    med = statistics.median(seconds)
    line = {"framework": "pytorch", "workload": workload, "threads": args.threads,
            "batch": args.batch, "seconds_per_step": med, "runs": seconds,
            "throughput": items / med, "unit": unit, "peak_rss_bytes": peak_rss_bytes(),
            "torch": torch.__version__, "blas": blas_name()}
    line.update(extra)
    print(json.dumps(line), flush=True)


def blas_name():
    # Which libblas the process actually mapped (the point of the LD_LIBRARY_PATH dance).
    try:
        with open("/proc/self/maps") as maps:
            for row in maps:
                if "libblas" in row or "libopenblas" in row:
                    return os.path.basename(os.path.dirname(row.split()[-1])) + "/" + \
                        os.path.basename(row.split()[-1])
    except OSError:
        pass
    return "unknown"


def timed(args, fn):
    for _ in range(args.warmup):
        fn()
    seconds = []
    for _ in range(args.runs):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def net_from_file(path):
    """The conv/tanh/relu/avgpool/maxpool/fc subset of the .net format, enough for the bench nets."""
    layers, shape = [], None
    for raw in open(path):
        line = raw.split("#")[0].split()
        if not line:
            continue
        op, rest = line[0], line[1:]
        opts = dict(x.split("=") for x in rest if "=" in x)
        pos = [x for x in rest if "=" not in x]
        if op == "input":
            shape = [int(x) for x in pos]
            c, h, w = shape
        elif op == "conv":
            k, pad = int(opts["k"]), int(opts.get("pad", 0))
            layers.append(nn.Conv2d(c, int(pos[0]), k, padding=pad))
            c, h, w = int(pos[0]), h + 2 * pad - k + 1, w + 2 * pad - k + 1
        elif op == "tanh":
            layers.append(nn.Tanh())
        elif op == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif op in ("avgpool", "maxpool"):
            k = int(opts["k"])
            layers.append(nn.AvgPool2d(k) if op == "avgpool" else nn.MaxPool2d(k))
            h, w = h // k, w // k
        elif op == "fc":
            layers += [nn.Flatten(), nn.Linear(c * h * w, int(pos[0]))]
            c, h, w = int(pos[0]), 1, 1
        elif op == "loss":
            pass
        else:
            raise SystemExit(f"compare_torch: op {op} not supported")
    return nn.Sequential(*layers), shape


def six_block(args):
    model, shape = net_from_file(args.net)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.rand(args.batch, *shape) * 2 - 1
    target = torch.zeros(args.batch, 10)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
    emit(args, "six-block-512-train", timed(args, step), args.batch, "samples/s")


def vgg(args):
    model, shape = net_from_file(args.net)
    # The style-transfer inner loop: frozen weights, the gradient flows to the input only (as
    # Footprint's plan with train_params=false).
    for p in model.parameters():
        p.requires_grad_(False)
    x = (torch.rand(args.batch, *shape) * 2 - 1).requires_grad_(True)

    def step():
        x.grad = None
        out = model(x)
        F.mse_loss(out, torch.zeros_like(out)).backward()
    emit(args, "vgg19-style-512-fwd-bwd-input", timed(args, step), args.batch, "samples/s",
         frozen_weights=True)


def conv(args):
    c = nn.Conv2d(64, 64, 3, padding=1)
    x = torch.rand(1, 64, 224, 224) * 2 - 1
    flop = 2.0 * 64 * 576 * 224 * 224
    with torch.no_grad():
        s = timed(args, lambda: c(x))
    emit(args, "conv3x3-64-224-fwd", s, 1, "images/s", gflops=flop / statistics.median(s) * 1e-9)
    xg = x.clone().requires_grad_(True)
    g = torch.rand(1, 64, 224, 224)

    def fwd_bwd():
        xg.grad = None
        c.zero_grad(set_to_none=True)
        c(xg).backward(g)
    s = timed(args, fwd_bwd)
    emit(args, "conv3x3-64-224-fwd-bwd", s, 1, "images/s",
         gflops=3 * flop / statistics.median(s) * 1e-9)
    n = 1536
    a, b = torch.rand(n, n), torch.rand(n, n)
    s = timed(args, lambda: torch.mm(a, b))
    emit(args, "sgemm-1536", s, 1, "calls/s", gflops=2.0 * n ** 3 / statistics.median(s) * 1e-9)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def lenet(args):
    d = args.data
    train_x = read_idx(f"{d}/train-images-idx3-ubyte.gz").float().div_(255).unsqueeze(1)
    train_y = read_idx(f"{d}/train-labels-idx1-ubyte.gz").long()
    test_x = read_idx(f"{d}/t10k-images-idx3-ubyte.gz").float().div_(255).unsqueeze(1)
    test_y = read_idx(f"{d}/t10k-labels-idx1-ubyte.gz").long()
    mean, std = train_x.mean(), train_x.std()  # normalised as Footprint's loader does
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                          nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    b = args.batch
    start = time.perf_counter()
    perm = torch.randperm(len(train_x))
    steps = 0
    for i in range(0, len(train_x), b):
        idx = perm[i:i + b]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(train_x[idx]), train_y[idx]).backward()
        opt.step()
        steps += 1
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = (model(test_x).argmax(1) == test_y).float().mean().item()
    emit(args, "lenet-fashion-mnist-epoch", [seconds], len(train_x), "samples/s",
         test_accuracy=acc, steps=steps, seconds_per_train_step=seconds / steps, seed=args.seed)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload")
    p.add_argument("--net")
    p.add_argument("--data")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    {"six-block": six_block, "vgg": vgg, "conv": conv, "lenet": lenet}[args.workload](args)


if __name__ == "__main__":
    sys.exit(main())
