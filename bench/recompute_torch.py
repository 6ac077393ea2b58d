"""PyTorch's side of bench/recompute.sh: the same chain of conv + ReLU layers trained with
torch.utils.checkpoint.checkpoint_sequential at a given segment count (0: no checkpointing).
Prints one JSON line: median seconds per step over the timed steps and the peak RSS growth of
this process from just before the model is built (VmHWM, restarted there via clear_refs)."""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint_sequential


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=48)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--segments", type=int, default=0)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    target = torch.zeros(a.batch, 10)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = rss("VmRSS")
    body = []
    for _ in range(a.layers):
        body += [nn.Conv2d(a.channels, a.channels, 3, padding=1), nn.ReLU(inplace=False)]
    trunk = nn.Sequential(*body)
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(a.channels, 10))
    params = list(trunk.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=1e-4)
    times = []
    for step in range(a.steps + 1):  # the first step is warm-up
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        inp = x.requires_grad_(a.segments > 0)  # checkpointing needs an input that wants a grad
        h = checkpoint_sequential(trunk, a.segments, inp) if a.segments > 0 else trunk(inp)
        loss = nn.functional.mse_loss(head(h), target)
        loss.backward()
        opt.step()
        if step > 0:
            times.append(time.perf_counter() - start)
    print(json.dumps({"framework": "pytorch", "segments": a.segments,
                      "seconds_per_step": statistics.median(times),
                      "rss_growth_bytes": rss("VmHWM") - before}))


if __name__ == "__main__":
    main()
