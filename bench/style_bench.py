#!/usr/bin/env python3
"""Runs `footprint style` and bench/style_torch.py side by side (same random VGG-19 shapes up
to relu5_1, Adam, same threads), each in its own process, and records seconds per iteration and
peak RSS. Appends one JSON line per run to bench/results/style.jsonl and prints a table.
Called by bench/style.sh, which installs PyTorch and builds Footprint first."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_measured(cmd, env=None):
    """Runs cmd; returns (stdout+stderr, peak RSS bytes of the child, seconds)."""
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(out, file=sys.stderr)
        raise SystemExit(f"style_bench: {' '.join(cmd)} failed ({proc.returncode})")
    return out, usage.ru_maxrss * 1024, time.time() - start


def write_png(path, w, h, seed):
    """A noise PNG (what the pictures look like does not change the work done)."""
    rows = []
    state = seed
    for _ in range(h):
        row = bytearray(b"\x00")
        for _ in range(w * 3):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            row.append(state >> 23)
        rows.append(bytes(row))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(b"".join(rows), 1)) + chunk(b"IEND", b""))


def footprint_run(args, size, iterations, budget, tmp, extra=()):
    w, h = (int(v) for v in size.split("x"))
    content, style = os.path.join(tmp, f"c{size}.png"), os.path.join(tmp, f"s{size}.png")
    write_png(content, w, h, 1)
    write_png(style, w, h, 2)
    cmd = [args.footprint, "style", "--content", content, "--style", style,
           "--model", os.path.join(ROOT, "nets", "vgg19-style.net"),
           "--out", os.path.join(tmp, "out.png"), "--size", size, "--iterations", str(iterations),
           "--optimizer", "adam", "--threads", str(args.threads)]
    if budget:
        cmd += ["--memory-budget", budget]
    cmd += list(extra)
    plan = json.loads(subprocess.run(cmd + ["--plan", "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    out, rss, wall = run_measured(cmd)
    per_it = [float(s) for s in re.findall(r"([0-9.]+) s/it", out)]
    timed = per_it[1:] if len(per_it) > 1 else per_it
    return {"framework": "footprint", "workload": f"style-vgg19-{size}", "threads": args.threads,
            "seconds_per_iteration": statistics.median(timed), "runs": timed,
            "peak_rss_bytes": rss, "plan_peak_bytes": plan["peak_bytes"], "tiles": plan["tiles"],
            "memory_budget": budget or "available", "wall_seconds": wall}


def torch_run(args, size, iterations):
    env = dict(os.environ)
    # Debian's torch loads the reference BLAS unless OpenBLAS comes first, for this process only.
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    env["LD_LIBRARY_PATH"] = f"/usr/lib/{multiarch}/openblas-pthread" + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OMP_NUM_THREADS"] = str(args.threads)
    # Debian's python3-torch is for Debian's interpreter, whatever python3 comes first on PATH.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    out, rss, _ = run_measured([python, os.path.join(ROOT, "bench", "style_torch.py"),
                                "--size", size, "--threads", str(args.threads),
                                "--iterations", str(iterations)], env)
    line = json.loads(out.strip().splitlines()[-1])
    line["peak_rss_bytes"] = rss
    line["blas"] = "OpenBLAS via LD_LIBRARY_PATH"
    return line


def median_run(runs):
    """The run with the median seconds per iteration, with every round's figure beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds_per_iteration"])
    median = dict(ordered[len(ordered) // 2])
    median["rounds"] = [r["seconds_per_iteration"] for r in runs]
    return median


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--footprint", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--speed-size", default="1024x1024")
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--torch-rss-sizes", default="512x512,2048x2048",
                    help="extra sizes at which PyTorch's peak RSS is recorded (2 iterations)")
    ap.add_argument("--big", default="", help="also run Footprint at this size, e.g. 3840x2160")
    ap.add_argument("--big-budget", default="2.5G")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs of each framework at the speed size, taking turns; figures are medians")
    ap.add_argument("--footprint-flags", default="",
                    help="more `footprint style` flags for the speed-size run (e.g. --no-winograd)")
    ap.add_argument("--big-flags", default="--style-scale 0.25",
                    help="more `footprint style` flags for the big run")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        fps, pts = [], []
        for _ in range(args.rounds):  # taking turns, so a slow spell of the machine hits both
            fps.append(footprint_run(args, args.speed_size, args.iterations, None, tmp,
                                     args.footprint_flags.split()))
            pts.append(torch_run(args, args.speed_size, args.iterations))
        fp, pt = median_run(fps), median_run(pts)
        results += [fp, pt]
        for size in filter(None, args.torch_rss_sizes.split(",")):
            try:
                results.append(torch_run(args, size, 2))
            except SystemExit as e:
                results.append({"framework": "pytorch", "workload": f"style-vgg19-{size}", "error": str(e)})
        if args.big:
            results.append(footprint_run(args, args.big, 2, args.big_budget, tmp,
                                         args.big_flags.split()))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "style.jsonl"), "a") as f:
        for r in results:
            r["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            f.write(json.dumps(r) + "\n")
    print(f"{'framework':10} {'workload':26} {'s/iter':>8} {'peak RSS':>10} {'plan':>10} tiles")
    for r in results:
        if "error" in r:
            print(f"{r['framework']:10} {r['workload']:26} failed: {r['error']}")
            continue
        plan = f"{r['plan_peak_bytes'] / 2**20:8.0f}Mi" if "plan_peak_bytes" in r else ""
        print(f"{r['framework']:10} {r['workload']:26} {r['seconds_per_iteration']:8.2f} "
              f"{r['peak_rss_bytes'] / 2**20:8.0f}Mi {plan:>10} {r.get('tiles', '')}")
    ratio = fp["seconds_per_iteration"] / pt["seconds_per_iteration"]
    print(f"\nat {args.speed_size}: Footprint takes {ratio:.2f}x PyTorch's time per iteration "
          f"(goal: at most 0.56x, i.e. 1.8x PyTorch's speed); PyTorch used OpenBLAS (LD_LIBRARY_PATH), "
          f"{args.threads} threads")


if __name__ == "__main__":
    main()
