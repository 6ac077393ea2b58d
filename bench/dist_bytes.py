#!/usr/bin/env python3
"""bench/dist_bytes.sh's measurements and model (see there)."""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from style_bench import write_png  # noqa: E402

RANKS = 2


def loss_flags(net):
    """An ONNX classifier has no loss of its own."""
    return ["--loss", "softmax_xent"] if net.endswith(".onnx") else []


def train_step(footprint, net, rank_batch, tmp, steps):
    """One rank's compute: seconds per step at its share of the batch, 1 thread."""
    report = os.path.join(tmp, "report.json")
    subprocess.run([footprint, "train", net, "--data", "synthetic", "--batch", str(rank_batch),
                    "--steps", str(steps), "--threads", "1", "--report", report] + loss_flags(net),
                   check=True, capture_output=True, text=True)
    r = json.load(open(report))
    return r["seconds_per_step"]


def summed_bytes(footprint, net, rank_batch):
    """Bytes a data-parallel step sums over the ranks: every weight's gradient and the running
    statistics averaged with them, i.e. the plan's weights category (the plan's own figure)."""
    out = subprocess.run([footprint, "plan", net, "--mode", "train", "--batch", str(rank_batch),
                          "--json"] + loss_flags(net), check=True, capture_output=True, text=True).stdout
    plan = json.loads(out)
    return plan["categories"]["weights"], plan["params"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--footprint", required=True)
    ap.add_argument("--resnet50", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--style", type=int, default=1)
    args = ap.parse_args()
    ring = 2 * (RANKS - 1) / RANKS
    rows = []
    for name, net, batch, steps in [("six-block-512", os.path.join(ROOT, "nets", "six-block-512.net"), 2, 5),
                                    ("fashion-cnn", os.path.join(ROOT, "nets", "fashion-cnn.net"), 64, 20),
                                    ("resnet50", args.resnet50, 16, 3)]:
        rank_batch = batch // RANKS
        summed, params = summed_bytes(args.footprint, net, rank_batch)
        compute = train_step(args.footprint, net, rank_batch, args.tmp, steps)
        rows.append({"net": name, "global_batch": batch, "params": params,
                     "bytes_sent_per_step": int(summed * ring), "compute_seconds": compute})
    if args.style:
        w, h = 3840, 2160
        content, style = os.path.join(args.tmp, "c.png"), os.path.join(args.tmp, "s.png")
        write_png(content, w, h, 1)
        write_png(style, 960, 540, 2)
        cmd = ["mpirun", "--allow-run-as-root", "--bind-to", "core", "-np", str(RANKS),
               args.footprint, "style", "--content", content, "--style", style,
               "--model", os.path.join(ROOT, "nets", "vgg19-style.net"), "--size", f"{w}x{h}",
               "--iterations", "1", "--optimizer", "adam", "--style-scale", "0.25",
               "--memory-budget", "4G", "--threads", "1", "--out", os.path.join(args.tmp, "o.png")]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
        seconds = float(re.findall(r"([0-9.]+) s/it", out.replace("\r", "\n"))[-1])
        n = 3 * w * h
        # The gradient's ring all-reduce, this rank's half of the image to the other, and the
        # Gram sums (doubles) of relu1_1 .. relu5_1.
        grams = sum(c * c for c in (64, 128, 256, 512, 512)) * 8
        sent = int(n * 4 * ring + n * 4 / RANKS + grams * ring)
        rows.append({"net": f"style {w}x{h} (one evaluation)", "global_batch": 1, "params": 0,
                     "bytes_sent_per_step": sent, "compute_seconds": seconds})
    stamp = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "dist_bytes.jsonl"), "a") as f:
        for r in rows:
            f.write(json.dumps({"date": stamp, "commit": commit, "ranks": RANKS, **r}) + "\n")
    print(f"| N = {RANKS} | sent per rank per step | compute per step (measured) | "
          "transfer at 10 Gbit/s | at 100 Gbit/s | step at 10 / 100 Gbit/s, no overlap (model) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        b, c = r["bytes_sent_per_step"], r["compute_seconds"]
        t10, t100 = b * 8 / 10e9, b * 8 / 100e9
        print(f"| {r['net']}, batch {r['global_batch']} | {b / 1e6:.1f} MB | {c * 1e3:.1f} ms | "
              f"{t10 * 1e3:.1f} ms | {t100 * 1e3:.2f} ms | {(c + t10) * 1e3:.1f} / {(c + t100) * 1e3:.1f} ms "
              f"({c / (c + t10):.0%} / {c / (c + t100):.0%} compute) |")


if __name__ == "__main__":
    main()
