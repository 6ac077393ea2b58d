"""PyTorch's side of bench/zoo.sh: the model bench/zoo_export.py exported (rebuilt from the same
seed, so the same weights), in one of two modes. Prints one JSON line.

  time  inference at the input's batch (eval, no_grad): seconds of each timed forward
        (the warm-up forwards excluded) and their median
  rss   the peak resident growth of this process (VmHWM, restarted via /proc/self/clear_refs just
        before the model is built) over one inference (--train 0) or --steps SGD steps of mse
        training at --batch (--train 1); input and target are made after the restart, as
        Footprint's plan counts them

Run it with OpenBLAS's directory first on LD_LIBRARY_PATH (bench/zoo.sh does): Debian's
python3-torch otherwise loads the reference BLAS."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_export import build, input_size  # noqa: E402


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def blas():
    """The BLAS this process mapped and, for OpenBLAS, the kernels it chose."""
    with open("/proc/self/maps") as f:
        paths = {l.split()[-1] for l in f if "blas" in l.lower() and ".so" in l.split()[-1]}
    for path in sorted(paths):
        if "openblas" in path:
            import ctypes
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return f"{path}, core {lib.openblas_get_corename().decode()}"
    return ", ".join(sorted(paths)) or "?"


def time_inference(a):
    model = build(a.model)
    x = torch.from_numpy(np.load(a.input))
    seconds = []
    with torch.no_grad():
        for run in range(a.warmup + a.runs):
            start = time.perf_counter()
            model(x)
            took = time.perf_counter() - start
            if run >= a.warmup:
                seconds.append(took)
    return {"framework": "pytorch", "batch": x.shape[0], "seconds": seconds,
            "seconds_median": statistics.median(seconds), "blas": blas()}


def peak_growth(a):
    size = input_size(a.model)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    model = build(a.model)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(a.batch, 3, size, size, generator=g)
    seconds = []
    if a.train:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-4)
        target = None
        for _ in range(a.steps):
            start = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            y = model(x)
            if target is None:
                target = torch.randn(y.shape, generator=g)
            loss = torch.nn.functional.mse_loss(y, target)
            loss.backward()
            opt.step()
            seconds.append(time.perf_counter() - start)
    else:
        with torch.no_grad():
            start = time.perf_counter()
            model(x)
            seconds.append(time.perf_counter() - start)
    return {"framework": "pytorch", "batch": a.batch, "train": bool(a.train),
            "rss_growth_bytes": status("VmHWM") - before, "seconds": seconds}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["time", "rss"])
    p.add_argument("--model", required=True)
    p.add_argument("--input", help="time: the .npy batch")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--train", type=int, default=0)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    r = time_inference(a) if a.mode == "time" else peak_growth(a)
    r.update({"model": a.model, "threads": a.threads})
    print(json.dumps(r))


if __name__ == "__main__":
    main()
