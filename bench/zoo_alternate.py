#!/usr/bin/env python3
"""Two or more ways of running one zoo model's inference, taking turns: the A/B comparisons
quoted in docs/design.md and the README (fusion on and off; two builds of zoo_footprint).

Each configuration is a zoo_footprint command line without the model and input, e.g.
"build/zoo_footprint" and "build/zoo_footprint --no-fusion", or two binaries built from two
commits. Every round runs each configuration once, in turn, as a fresh process (--runs timed
forwards after --warmup); printed per configuration: the median over the rounds of each run's
median, and of each run's fastest forward (this VM's speed drifts by tens of percent within
minutes, so only configurations measured side by side compare).

  bench/zoo_alternate.py build-zoo/models/mobilenet_v2 --rounds 8 \\
      "build/zoo_footprint" "build/zoo_footprint --no-fusion"
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", help="a directory of bench/zoo.sh's exports (model.onnx, x.npy)")
    ap.add_argument("configs", nargs="+", help="zoo_footprint command lines, each quoted")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    model = os.path.join(a.model_dir, "model.onnx")
    x = os.path.join(a.model_dir, "x.npy")
    medians = {c: [] for c in a.configs}
    fastest = {c: [] for c in a.configs}
    for _ in range(a.rounds):
        for c in a.configs:
            cmd = shlex.split(c) + [model, "--input", x, "--threads", str(a.threads),
                                    "--runs", str(a.runs), "--warmup", str(a.warmup)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            d = json.loads(out.splitlines()[-1])
            medians[c].append(d["seconds_median"] * 1e3)
            fastest[c].append(min(d["seconds"]) * 1e3)
    name = os.path.basename(os.path.normpath(a.model_dir))
    for c in a.configs:
        print(json.dumps({"model": name, "config": c, "rounds": a.rounds,
                          "median_ms": round(statistics.median(medians[c]), 2),
                          "fastest_ms": round(statistics.median(fastest[c]), 2)}))


if __name__ == "__main__":
    main()
