#!/usr/bin/env python3
"""PyTorch's side of bench/data_folder.sh: fashion-cnn trained for one epoch from a PNG folder
through torchvision's ImageFolder and a DataLoader, as a PyTorch user would write it. Prints one
JSON line: samples/s, the share of the epoch the step waited for data, and the peak resident
size of the main process plus its loader workers (sampled every 50 ms; the workers are
separate processes, so the figure is their sum).

    data_folder_torch.py --root DIR/train --net nets/fashion-cnn.net --workers 1 --threads 2
"""
import argparse
import json
import os
import threading
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T


def net_from_file(path):
    """fashion-cnn's layers from the .net format (conv, batchnorm, relu, maxpool, fc, dropout)."""
    layers, c, h, w = [], 0, 0, 0
    for raw in open(path):
        line = raw.split("#")[0].split()
        if not line:
            continue
        op, rest = line[0], line[1:]
        opts = dict(x.split("=") for x in rest if "=" in x)
        pos = [x for x in rest if "=" not in x]
        if op == "input":
            c, h, w = (int(x) for x in pos)
        elif op == "conv":
            k, pad = int(opts["k"]), int(opts.get("pad", 0))
            layers.append(nn.Conv2d(c, int(pos[0]), k, padding=pad))
            c, h, w = int(pos[0]), h + 2 * pad - k + 1, w + 2 * pad - k + 1
        elif op == "batchnorm":
            layers.append(nn.BatchNorm2d(c) if h > 1 else nn.BatchNorm1d(c))
        elif op == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif op == "maxpool":
            k = int(opts["k"])
            layers.append(nn.MaxPool2d(k))
            h, w = h // k, w // k
        elif op == "dropout":
            layers.append(nn.Dropout(float(opts.get("p", 0.5))))
        elif op == "fc":
            if h * w > 1 or not any(isinstance(l, nn.Flatten) for l in layers):
                layers.append(nn.Flatten())
            layers.append(nn.Linear(c * h * w, int(pos[0])))
            c, h, w = int(pos[0]), 1, 1
        elif op == "loss":
            pass
        else:
            raise SystemExit(f"data_folder_torch: op {op} not supported")
    return nn.Sequential(*layers)


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class PeakSampler(threading.Thread):
    """The largest sum of this process's and its children's resident sizes seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self):
        me = os.getpid()
        while self.running:
            self.peak = max(self.peak, rss_bytes(me) + sum(rss_bytes(c) for c in children(me)))
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--net", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--prefetch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: one epoch)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    sampler = PeakSampler()
    sampler.start()
    transform = T.Compose([T.Grayscale(1), T.ToTensor(), T.Normalize([0.2860], [0.3530])])
    data = torchvision.datasets.ImageFolder(args.root, transform=transform)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers, prefetch_factor=args.prefetch)
    model = net_from_file(args.net)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    wait = 0.0
    samples = 0
    start = time.perf_counter()
    it = iter(loader)
    while True:
        t0 = time.perf_counter()
        try:
            x, y = next(it)
        except StopIteration:
            break
        if args.steps and samples >= args.steps * args.batch:
            break
        wait += time.perf_counter() - t0
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        samples += len(y)
    seconds = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    print(json.dumps({"framework": "pytorch", "workers": args.workers, "threads": args.threads,
                      "samples": samples, "seconds": seconds, "samples_per_second": samples / seconds,
                      "data_wait_fraction": wait / seconds, "peak_rss_bytes": sampler.peak,
                      "torch": torch.__version__, "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    main()
