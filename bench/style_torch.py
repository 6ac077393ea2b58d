#!/usr/bin/env python3
"""PyTorch's side of bench/style.sh: Gatys style transfer on a random VGG-19 truncated at relu5_1.

Same objective as `footprint style` (Gram = F F^T / M, style layers relu1_1..relu5_1, content
conv4_2), Adam on the image, weights frozen. Prints one JSON line: seconds per iteration (median
after one warm-up iteration) and peak RSS. Usage:
  style_torch.py --size WxH --threads T --iterations N
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torchvision

STYLE = {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 29: "relu5_1"}
CONTENT = 21  # conv4_2, before its ReLU


def features_net():
    torch.manual_seed(1)
    net = torchvision.models.vgg19(weights=None).features[:30].eval()
    for module in net:
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False  # conv4_2 must keep its own values, as in Footprint
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def taps(net, x):
    out = {}
    for i, layer in enumerate(net):
        x = layer(x)
        if i in STYLE or i == CONTENT:
            out[i] = x
    return out


def gram(f):
    c = f.shape[1]
    f = f.reshape(c, -1)
    return f @ f.t() / f.shape[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1024x1024")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--style-weight", type=float, default=1e3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    net = features_net()
    content = torch.rand(1, 3, h, w) * 4 - 2
    style = torch.rand(1, 3, h, w) * 4 - 2
    with torch.no_grad():
        targets = {i: gram(f) for i, f in taps(net, style).items() if i in STYLE}
        content_target = taps(net, content)[CONTENT]
    del style
    x = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    seconds, losses = [], []
    for _ in range(args.iterations):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t = taps(net, x)
        loss = torch.mean((t[CONTENT] - content_target) ** 2)
        for i in STYLE:
            c = t[i].shape[1]
            loss = loss + args.style_weight * torch.sum((gram(t[i]) - targets[i]) ** 2) / (4 * c * c) / len(STYLE)
        loss.backward()
        opt.step()
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
    timed = seconds[1:] if len(seconds) > 1 else seconds
    print(json.dumps({
        "framework": "pytorch", "workload": f"style-vgg19-{w}x{h}", "threads": args.threads,
        "seconds_per_iteration": statistics.median(timed), "runs": timed, "losses": losses,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
