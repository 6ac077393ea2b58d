#!/usr/bin/env python3
"""Tile-parallel style transfer against one process (called by bench/style_ranks.sh, which
installs what it needs). Both runs start from the same content image with the same seeded
random VGG-19; the images they write are compared pixel by pixel."""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from style_bench import run_measured, write_png  # noqa: E402

MPIRUN = ["mpirun", "--allow-run-as-root", "--bind-to", "core", "-np", "2"]


def image_sized(plan):
    """The image-sized buffers of a plan: image, gradient, optimizer state, content features."""
    return sum(b["bytes"] for b in plan["buffers"]
               if "Gram" not in b["name"] and "staging" not in b["name"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--footprint", required=True)
    ap.add_argument("--size", default="1024x1024")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--big", default="3840x2160")
    ap.add_argument("--big-budget", default="4G")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        content, style = os.path.join(tmp, "content.png"), os.path.join(tmp, "style.png")
        write_png(content, w, h, 1)
        write_png(style, w, h, 2)
        model = [args.footprint, "style", "--content", content, "--style", style,
                 "--model", os.path.join(ROOT, "nets", "vgg19-style.net")]
        base = model + ["--size", args.size, "--iterations", str(args.iterations),
                        "--optimizer", "lbfgs"]
        one_png, two_png = os.path.join(tmp, "one.png"), os.path.join(tmp, "two.png")
        out1, rss1, sec1 = run_measured(base + ["--threads", "2", "--out", one_png])
        # wait4's maximum resident size of mpirun covers its children: the larger rank's.
        out2, rss2, sec2 = run_measured(MPIRUN + base + ["--threads", "1", "--out", two_png])
        a = np.asarray(Image.open(one_png), dtype=np.int16)
        b = np.asarray(Image.open(two_png), dtype=np.int16)
        start = np.asarray(Image.open(content).convert("RGB"), dtype=np.int16)
        diff = int(np.abs(a - b).max())
        moved = float(np.abs(a - start).mean())

        plans = {}
        for ranks in (1, 2):
            text = subprocess.run(model + ["--size", args.big, "--plan", "--json", "--ranks",
                                               str(ranks), "--memory-budget", args.big_budget],
                                  check=True, capture_output=True, text=True).stdout
            plans[ranks] = json.loads(text)

    last = lambda out: [l for l in out.replace("\r", "\n").splitlines() if "iter" in l][-1]
    row = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip(),
        "size": args.size, "iterations": args.iterations,
        "one_process_2_threads": {"seconds": round(sec1, 2), "peak_rss_mib": round(rss1 / 2**20, 1),
                                  "last": last(out1)},
        "two_ranks_1_thread": {"seconds": round(sec2, 2), "peak_rss_mib_largest_rank": round(rss2 / 2**20, 1),
                               "last": last(out2)},
        "max_pixel_difference": diff, "mean_change_from_content": round(moved, 2),
        "big": args.big, "big_budget": args.big_budget,
        "big_image_sized_bytes": {"one": image_sized(plans[1]), "per_rank_of_2": image_sized(plans[2])},
        "big_peak_bytes": {"one": plans[1]["peak_bytes"], "per_rank_of_2": plans[2]["peak_bytes"]},
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "style_ranks.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"style {args.size}, L-BFGS, {args.iterations} iterations, random VGG-19")
    print(f"  1 process x 2 threads: {sec1:7.1f} s  peak RSS {rss1 / 2**20:7.1f} MiB")
    print(f"  2 ranks x 1 thread:    {sec2:7.1f} s  peak RSS {rss2 / 2**20:7.1f} MiB (larger rank)")
    print(f"  largest pixel difference {diff}/255 (mean change from the content image {moved:.1f})")
    i1, i2 = row["big_image_sized_bytes"]["one"], row["big_image_sized_bytes"]["per_rank_of_2"]
    print(f"at {args.big} (--memory-budget {args.big_budget}): image-sized buffers "
          f"{i1 / 2**20:.1f} MiB in one process, {i2 / 2**20:.1f} MiB per rank of 2 ({i2 / i1:.3f}x)")
    print(f"  plan peak {plans[1]['peak_bytes'] / 2**20:.1f} MiB, per rank of 2 {plans[2]['peak_bytes'] / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
