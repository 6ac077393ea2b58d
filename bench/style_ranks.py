#!/usr/bin/env python3
"""Tile-parallel style transfer against one process (called by bench/style_ranks.sh, which
installs what it needs). Both runs start from the same content image with the same seeded
random VGG-19; the images they write are compared pixel by pixel."""
import argparse
import datetime
import json
import os
import re
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
    ap.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"])
    ap.add_argument("--lr", default="auto", help="style --lr (auto: its default)")
    # A random VGG-19's features, and so the losses and their pixel gradients, are tiny (about
    # 1e-6 at 1024x1024 with the default weights) and the L-BFGS line search backs off to steps
    # that move no pixel by a level: comparing images would show nothing. From random noise with
    # a heavy content weight every pixel moves (how far is printed, against the starting image).
    ap.add_argument("--style-weight", default="1e3")
    ap.add_argument("--content-weight", default="1e6")
    ap.add_argument("--init", default="random", choices=["random", "content"])
    # One process made to tile by its budget, as the ranks do: what tiling alone changes.
    ap.add_argument("--tiled-budget", default="1300M")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        content, style = os.path.join(tmp, "content.png"), os.path.join(tmp, "style.png")
        write_png(content, w, h, 1)
        write_png(style, w, h, 2)
        model = [args.footprint, "style", "--content", content, "--style", style,
                 "--model", os.path.join(ROOT, "nets", "vgg19-style.net")]
        base = model + ["--size", args.size, "--iterations", str(args.iterations),
                        "--optimizer", args.optimizer, "--style-weight", args.style_weight,
                        "--content-weight", args.content_weight, "--init", args.init] + ([] if args.lr == "auto" else ["--lr", args.lr])
        one_png, two_png = os.path.join(tmp, "one.png"), os.path.join(tmp, "two.png")
        out1, rss1, sec1 = run_measured(base + ["--threads", "2", "--out", one_png])
        tiled_png = os.path.join(tmp, "tiled.png")
        out_t, _, _ = run_measured(base + ["--threads", "2", "--memory-budget", args.tiled_budget,
                                           "--out", tiled_png])
        tiles = re.findall(r"(\d+) tiles", out_t)
        # wait4's maximum resident size of mpirun covers its children: the larger rank's.
        out2, rss2, sec2 = run_measured(MPIRUN + base + ["--threads", "1", "--out", two_png])
        a = np.asarray(Image.open(one_png), dtype=np.int16)
        b = np.asarray(Image.open(two_png), dtype=np.int16)
        # The starting image: the same run with a step too small to move anything.
        start_png = os.path.join(tmp, "start.png")
        run_measured(model + ["--size", args.size, "--iterations", "1", "--optimizer", "lbfgs",
                              "--lr", "1e-30", "--init", args.init, "--threads", "2",
                              "--out", start_png])
        start = np.asarray(Image.open(start_png).convert("RGB"), dtype=np.int16)
        t = np.asarray(Image.open(tiled_png), dtype=np.int16)
        diff = int(np.abs(a - b).max())
        compare = {}
        for name, x, y in [("untiled_vs_two_ranks", a, b), ("untiled_vs_tiled", a, t),
                           ("tiled_vs_two_ranks", t, b)]:
            d = np.abs(x - y)
            compare[name] = {"max": int(d.max()), "values_over_1": int((d > 1).sum()),
                             "values_differing": int((d > 0).sum()), "values": int(d.size)}
        moved = float(np.abs(a - start).mean())

        plans = {}
        for ranks in (1, 2):
            text = subprocess.run(model + ["--size", args.big, "--plan", "--json", "--ranks",
                                               str(ranks), "--memory-budget", args.big_budget],
                                  check=True, capture_output=True, text=True).stdout
            plans[ranks] = json.loads(text)

    iters = lambda out: [l for l in out.replace("\r", "\n").splitlines() if " iter " in l]
    last = lambda out: iters(out)[0] + " ... " + iters(out)[-1]
    row = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip(),
        "size": args.size, "iterations": args.iterations, "optimizer": args.optimizer, "lr": args.lr,
        "style_weight": args.style_weight, "content_weight": args.content_weight, "init": args.init,
        "one_process_2_threads": {"seconds": round(sec1, 2), "peak_rss_mib": round(rss1 / 2**20, 1),
                                  "last": last(out1)},
        "two_ranks_1_thread": {"seconds": round(sec2, 2), "peak_rss_mib_largest_rank": round(rss2 / 2**20, 1),
                               "last": last(out2)},
        "max_pixel_difference": diff, "compare": compare,
        "tiled_budget": args.tiled_budget, "tiled_tiles": int(tiles[0]) if tiles else 1, "mean_change_from_start": round(moved, 2),
        "big": args.big, "big_budget": args.big_budget,
        "big_image_sized_bytes": {"one": image_sized(plans[1]), "per_rank_of_2": image_sized(plans[2])},
        "big_peak_bytes": {"one": plans[1]["peak_bytes"], "per_rank_of_2": plans[2]["peak_bytes"]},
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "style_ranks.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"style {args.size}, {args.optimizer} (lr {args.lr}), {args.iterations} iterations, random VGG-19, "
          f"init {args.init}, content weight {args.content_weight}, style weight {args.style_weight}")
    print(f"  1 process x 2 threads: {sec1:7.1f} s  peak RSS {rss1 / 2**20:7.1f} MiB")
    print(f"  2 ranks x 1 thread:    {sec2:7.1f} s  peak RSS {rss2 / 2**20:7.1f} MiB (larger rank)")
    print(f"  one process: {row['one_process_2_threads']['last']}")
    print(f"  two ranks:   {row['two_ranks_1_thread']['last']}")
    print(f"  largest pixel difference {diff}/255 (mean change from the starting image {moved:.1f} levels)")
    for name, c in compare.items():
        print(f"  {name.replace('_', ' ')}: max {c['max']}/255, {c['values_over_1']} values differ by more "
              f"than 1, {c['values_differing']} of {c['values']} differ at all")
    print(f"  (tiled: one process with --memory-budget {args.tiled_budget}, {row['tiled_tiles']} tiles)")
    i1, i2 = row["big_image_sized_bytes"]["one"], row["big_image_sized_bytes"]["per_rank_of_2"]
    print(f"at {args.big} (--memory-budget {args.big_budget}): image-sized buffers "
          f"{i1 / 2**20:.1f} MiB in one process, {i2 / 2**20:.1f} MiB per rank of 2 ({i2 / i1:.3f}x)")
    print(f"  plan peak {plans[1]['peak_bytes'] / 2**20:.1f} MiB, per rank of 2 {plans[2]['peak_bytes'] / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
