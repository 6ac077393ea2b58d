"""bench/zoo.sh's runs and report: every exported model through Footprint's checks, PyTorch's
memory runs and the inference timings of Footprint, PyTorch and ONNX Runtime, each in a fresh
process. Needs only NumPy; PyTorch runs in its own processes (bench/zoo_torch.py) with OpenBLAS
first on LD_LIBRARY_PATH. Prints the tables, writes them to bench/results/zoo.md and appends one
JSON line per model (and one per special run) to bench/results/zoo.jsonl.

Checks, per model (each a fresh process):
  run       `footprint run model.onnx` on x.npy matches PyTorch's y.npy: max|a - b| <= 1e-4 max|b|
  dyn224, dyn320   the same for the dynamic-axes export at 224x224 and 320x320
  infer     inference at batch 1 (bench/zoo_footprint): `plan --mode infer --batch 1 --json`'s
            total is what runs, the counting allocator's peak equals it, and the process's peak
            RSS growth from the runtime's creation is within plan + outside lines + 2 MiB
  sgd, adam `footprint train model.onnx --loss mse --data synthetic --batch 2 --steps 3
            --optimizer sgd|adam --report R`: tracked_peak_bytes == planned_bytes and
            rss_growth_bytes <= planned_bytes + outside_bytes + 2 MiB
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np

MIB = 1 << 20
TOLERANCE = 1e-4


def mib(b):
    return "-" if b is None else f"{b / MIB:.1f} MiB"


def ms(s):
    return "-" if s is None else f"{1000 * s:.1f}"


class Zoo:
    def __init__(self, a):
        self.a = a
        self.fp = os.path.join(a.build, "footprint")
        self.driver = os.path.join(a.build, "zoo_footprint")
        self.torch_env = dict(os.environ, OMP_NUM_THREADS=str(a.threads),
                              LD_LIBRARY_PATH=a.openblas + (":" + os.environ["LD_LIBRARY_PATH"]
                                                            if os.environ.get("LD_LIBRARY_PATH") else ""))
        self.node_env = dict(os.environ, NODE_PATH=a.node_modules)
        self.tmp = os.path.join(a.work, "tmp")
        os.makedirs(self.tmp, exist_ok=True)

    def log(self, text):
        print(f"zoo: {text}", file=sys.stderr, flush=True)

    def call(self, cmd, env=None, timeout=3600):
        """(return code, stdout, the last line of stderr)."""
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        err = [l for l in r.stderr.strip().splitlines() if l.strip()]
        return r.returncode, r.stdout, err[-1] if err else ""

    def json_of(self, cmd, env=None):
        """The last JSON line a command prints, or {'error': its last stderr line}."""
        rc, out, err = self.call(cmd, env)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if rc != 0 or not lines:
            return {"error": err or f"exit status {rc}"}
        return json.loads(lines[-1])

    # --- Footprint's checks ----------------------------------------------------------------
    def run_check(self, model, x, y):
        out = os.path.join(self.tmp, "y.npy")
        if os.path.exists(out):
            os.remove(out)
        rc, _, err = self.call([self.fp, "run", model, "--input", x, "--output", out, "--threads",
                                str(self.a.threads)])
        if rc != 0:
            return {"pass": False, "error": err}
        got, want = np.load(out), np.load(y)
        if got.size != want.size:
            return {"pass": False, "error": f"output shape {got.shape}, PyTorch's {want.shape}"}
        rel = float(np.abs(got.reshape(want.shape) - want).max() / np.abs(want).max())
        return {"pass": bool(rel <= TOLERANCE), "max_rel_error": rel}

    def train(self, model, batch, optimizer, steps=3, budget=None):
        report = os.path.join(self.tmp, "report.json")
        if os.path.exists(report):
            os.remove(report)
        cmd = [self.fp, "train", model, "--loss", "mse", "--data", "synthetic", "--batch", str(batch),
               "--steps", str(steps), "--optimizer", optimizer, "--lr", "0.0001", "--threads",
               str(self.a.threads), "--report", report]
        if budget:
            cmd += ["--memory-budget", str(budget)]
        rc, _, err = self.call(cmd)
        if rc != 0:
            return {"pass": False, "error": err, "command": " ".join(cmd[1:-2])}
        r = json.load(open(report))
        return self.memory_verdict({k: r[k] for k in ("planned_bytes", "tracked_peak_bytes", "rss_growth_bytes",
                                                       "outside_bytes", "dataset_bytes", "seconds_per_step")})

    @staticmethod
    def memory_verdict(r):
        r["pass"] = bool(r["tracked_peak_bytes"] == r["planned_bytes"] and 0 <= r["rss_growth_bytes"] <=
                         r["planned_bytes"] + r["outside_bytes"] + 2 * MIB)
        return r

    def plan(self, model, *flags):
        rc, out, err = self.call([self.fp, "plan", model, *flags, "--json", "--threads", str(self.a.threads)])
        if rc != 0:
            return {"error": err}
        p = json.loads(out)
        return {"total_bytes": p["total_bytes"], "weights_bytes": p["categories"]["weights"],
                "floor_bytes": p["floor_bytes"], "params": p["params"]}

    # --- the three frameworks' inference times ------------------------------------------------
    def time_footprint(self, model, x):
        return self.json_of([self.driver, model, "--input", x, "--threads", str(self.a.threads),
                             "--runs", str(self.a.runs), "--warmup", "1"])

    def time_torch(self, name, x):
        return self.json_of(["/usr/bin/python3", os.path.join(self.a.bench, "zoo_torch.py"), "time",
                             "--model", name, "--input", x, "--threads", str(self.a.threads),
                             "--runs", str(self.a.runs), "--warmup", "1"], env=self.torch_env)

    def time_ort(self, model, x, y):
        return self.json_of(["node", os.path.join(self.a.bench, "zoo_ort.js"), model, x, "--threads",
                             str(self.a.threads), "--runs", str(self.a.runs), "--warmup", "1",
                             "--expect", y], env=self.node_env)

    def torch_rss(self, name, batch, train):
        return self.json_of(["/usr/bin/python3", os.path.join(self.a.bench, "zoo_torch.py"), "rss",
                             "--model", name, "--batch", str(batch), "--train", str(int(train)),
                             "--steps", "3", "--threads", str(self.a.threads)], env=self.torch_env)

    # --- one model ------------------------------------------------------------------------------
    def model(self, name):
        d = os.path.join(self.a.models, name)
        meta = json.load(open(os.path.join(d, "meta.json")))
        static, dynamic = os.path.join(d, "model.onnx"), os.path.join(d, "model-dyn.onnx")
        x, y = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
        row = {"model": name, "params": meta["params"], "size": meta["size"], "notes": []}
        self.log(f"{name}: footprint run")
        row["run"] = self.run_check(static, x, y)
        if meta.get("dynamic_export_error"):
            why = meta["dynamic_export_error"].split(". Please")[0].replace("Unsupported: ", "")
            row["dyn224"] = row["dyn320"] = {"pass": None, "error": "not exported, torch.onnx refuses: " + why}
        else:
            for s in (224, 320):
                row[f"dyn{s}"] = self.run_check(dynamic, os.path.join(d, f"x{s}.npy"), os.path.join(d, f"y{s}.npy"))
        row["plan_infer"] = self.plan(static, "--mode", "infer", "--batch", "1")
        imported = "error" not in row["plan_infer"]
        if imported:
            row["plan_train8"] = self.plan(static, "--loss", "mse", "--batch", "8", "--optimizer", "sgd")
            self.log(f"{name}: footprint train, batch 2, sgd and adam; batch 8, sgd")
            row["sgd"] = self.train(static, 2, "sgd")
            row["adam"] = self.train(static, 2, "adam")
            row["train8"] = self.train(static, 8, "sgd")
            if "error" not in row["train8"] and row["train8"]["planned_bytes"] != row["plan_train8"].get("total_bytes"):
                row["train8"]["pass"] = False
                row["notes"].append("training at batch 8 planned other bytes than `plan --loss mse --batch 8`")
        self.log(f"{name}: PyTorch's peak RSS growth, inference batch 1 and training batch 8")
        row["torch_infer_rss"] = self.torch_rss(name, 1, False)
        row["torch_train8_rss"] = self.torch_rss(name, 8, True)
        # Inference at batch 1: Footprint, PyTorch and ONNX Runtime take turns, round after round
        # (this machine's speed drifts); the table shows the median of the rounds' medians.
        rounds = {"footprint": [], "pytorch": [], "onnxruntime": []}
        row["load_before_timing"] = os.getloadavg()[0]
        for r in range(self.a.rounds):
            self.log(f"{name}: timing round {r + 1} of {self.a.rounds}")
            if imported:
                rounds["footprint"].append(self.time_footprint(static, x))
            rounds["pytorch"].append(self.time_torch(name, x))
            rounds["onnxruntime"].append(self.time_ort(static, x, y))
        row["time"] = {}
        for fw, runs in rounds.items():
            good = [t for t in runs if "error" not in t]
            row["time"][fw] = {"seconds_median": statistics.median(t["seconds_median"] for t in good) if good else None,
                               "round_medians": [t["seconds_median"] for t in good],
                               "errors": [t["error"] for t in runs if "error" in t],
                               "blas": next((t["blas"] for t in good if "blas" in t), None)}
        fp_runs = [t for t in rounds["footprint"] if "error" not in t]
        if fp_runs:
            t = fp_runs[-1]
            row["infer"] = self.memory_verdict({k: t[k] for k in ("planned_bytes", "tracked_peak_bytes",
                                                                  "rss_growth_bytes", "outside_bytes")})
            if row["infer"]["planned_bytes"] != row["plan_infer"].get("total_bytes"):
                row["infer"]["pass"] = False
                row["notes"].append("the inference run's plan differs from `plan --json`'s")
        ort = [t for t in rounds["onnxruntime"] if "error" not in t]
        if ort:
            row["ort_max_rel_error"] = ort[-1].get("max_rel_error")
        return row

    # --- the special runs -----------------------------------------------------------------------
    def resnet50_floor(self, row):
        p = row.get("plan_infer", {})
        if "error" in p or "infer" not in row:
            return None
        w, floor = p["weights_bytes"], p["floor_bytes"]
        bound = w + 1.1 * (floor - w)
        growth = row["infer"]["rss_growth_bytes"]
        return {"what": "resnet50 inference, batch 1: plan vs weights + 1.1x activation floor",
                "weights_bytes": w, "floor_bytes": floor, "activation_floor_bytes": floor - w,
                "bound_bytes": int(bound), "planned_bytes": p["total_bytes"], "rss_growth_bytes": growth,
                "plan_pass": p["total_bytes"] <= bound,
                "rss_over_bound": growth / bound,
                "command": f"footprint plan resnet50.onnx --mode infer --batch 1 --json --threads {self.a.threads}"}

    def densenet_budget(self, row):
        torch_growth = row.get("torch_train8_rss", {}).get("rss_growth_bytes")
        plain = row.get("train8")
        if not torch_growth or not plain or "error" in plain:
            return None
        budget = torch_growth // 2
        model = os.path.join(self.a.models, "densenet121", "model.onnx")
        self.log(f"densenet121: training at batch 8 with --memory-budget {budget} (half PyTorch's growth)")
        budgeted = self.train(model, 8, "sgd", budget=budget)
        # The smallest plan the planner finds, from its refusal of a 1-byte budget.
        _, _, err = self.call([self.fp, "plan", model, "--loss", "mse", "--batch", "8", "--memory-budget", "1",
                               "--threads", str(self.a.threads)])
        found = re.search(r"takes [^(]*\((\d+) B\)", err)
        return {"smallest_plan_bytes": int(found.group(1)) if found else None,"what": "densenet121 training, batch 8, SGD: plain and with --memory-budget = PyTorch's growth / 2",
                "torch_rss_growth_bytes": torch_growth, "budget_bytes": budget, "plain": plain,
                "budgeted": budgeted,
                "fits": "error" not in budgeted and budgeted["rss_growth_bytes"] <= budget,
                "command": f"footprint train densenet121.onnx --loss mse --data synthetic --batch 8 --steps 3 "
                           f"--optimizer sgd --threads {self.a.threads} --memory-budget {budget}"}


def verdict(check):
    if not check:
        return "-"
    if check.get("pass") is None:
        return "n/a"
    return "pass" if check["pass"] else "FAIL"


def report(rows, special, a, context):
    out = []
    out.append(f"Model zoo: {context['time']}, {context['cpu']}, {a.threads} thread(s), commit {context['commit']}, "
               f"load {context['load_start']} at the start and {context['load_end']} at the end\n")
    blas = {fw: next((r["time"][fw]["blas"] for r in rows if r["time"][fw].get("blas")), "?")
            for fw in ("footprint", "pytorch")}
    out.append(f"GEMM: Footprint {blas['footprint']}; PyTorch {blas['pytorch']} (LD_LIBRARY_PATH; its convolutions "
               f"run in oneDNN); ONNX Runtime {context.get('ort', '?')} (onnxruntime-node, its own kernels).\n")
    out.append("| model | parameters | infer b1: Footprint plan | PyTorch RSS growth | train b8 SGD: Footprint plan "
               "| PyTorch RSS growth | infer b1 ms: Footprint | PyTorch | ONNX Runtime |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["time"]
        out.append(f"| {r['model']} | {r['params']:,} | {mib(r['plan_infer'].get('total_bytes'))} "
                   f"| {mib(r['torch_infer_rss'].get('rss_growth_bytes'))} "
                   f"| {mib(r.get('plan_train8', {}).get('total_bytes'))} "
                   f"| {mib(r['torch_train8_rss'].get('rss_growth_bytes'))} "
                   f"| {ms(t['footprint']['seconds_median'])} | {ms(t['pytorch']['seconds_median'])} "
                   f"| {ms(t['onnxruntime']['seconds_median'])} |")
    out.append("")
    out.append("Checks (each a fresh process): `run` = `footprint run` vs PyTorch, max |difference| / max |y| "
               f"(pass at <= {TOLERANCE:g}); `dyn 224`, `dyn 320` = the dynamic-axes export; `infer` = batch 1, "
               "`sgd`, `adam` = `footprint train --batch 2 --steps 3`: counting allocator peak == plan and RSS "
               "growth <= plan + outside lines + 2 MiB (growth - plan in parentheses).\n")
    out.append("| model | run | dyn 224 | dyn 320 | infer | sgd b2 | adam b2 | train b8 RSS growth - plan | notes |")
    out.append("|---|---|---|---|---|---|---|---|---|")

    def acc(c):
        if not c:
            return "-"
        if c.get("pass") is None:
            return "n/a"
        if "max_rel_error" in c:
            return f"{verdict(c)} ({c['max_rel_error']:.1e})"
        return "FAIL" if "error" in c else verdict(c)

    def mem(c):
        if not c:
            return "-"
        if "error" in c:
            return "FAIL"
        return f"{verdict(c)} ({(c['rss_growth_bytes'] - c['planned_bytes']) / MIB:+.1f} MiB)"

    for r in rows:
        notes = list(r["notes"])
        for key in ("run", "dyn224", "dyn320", "sgd", "adam", "train8"):
            c = r.get(key) or {}
            if c.get("error") and (key != "dyn320" or c["error"] != r.get("dyn224", {}).get("error")):
                notes.append(f"{key}: {c['error']}")
        if "error" in r["plan_infer"]:
            notes.append(f"plan: {r['plan_infer']['error']}")
        for fw, t in r["time"].items():
            for e in t["errors"][:1]:
                notes.append(f"{fw} timing: {e}")
        t8 = r.get("train8")
        t8_text = mem(t8) if t8 and "error" not in t8 else "-"
        out.append(f"| {r['model']} | {acc(r['run'])} | {acc(r.get('dyn224'))} | {acc(r.get('dyn320'))} "
                   f"| {mem(r.get('infer'))} | {mem(r.get('sgd'))} | {mem(r.get('adam'))} | {t8_text} "
                   f"| {'; '.join(notes).replace('|', '/')} |")
    out.append("")
    for s in special:
        if s is None:
            continue
        if "activation_floor_bytes" in s:
            out.append(f"resnet50 inference at batch 1: plan {s['planned_bytes']:,} B ({mib(s['planned_bytes'])}); "
                       f"weights {mib(s['weights_bytes'])} + 1.1 x activation floor "
                       f"{mib(s['activation_floor_bytes'])} = {s['bound_bytes']:,} B ({mib(s['bound_bytes'])}): "
                       f"{'within' if s['plan_pass'] else 'ABOVE'} "
                       f"(plan / bound {s['planned_bytes'] / s['bound_bytes']:.3f}); measured RSS growth "
                       f"{mib(s['rss_growth_bytes'])} = {s['rss_over_bound']:.3f} x the bound. "
                       f"`{s['command']}`")
        else:
            p, b = s["plain"], s["budgeted"]
            line = (f"densenet121 training at batch 8 (SGD): plain plan {mib(p['planned_bytes'])}, RSS growth "
                    f"{mib(p['rss_growth_bytes'])}, {p['seconds_per_step']:.2f} s/step; PyTorch's growth "
                    f"{mib(s['torch_rss_growth_bytes'])}; with `--memory-budget {s['budget_bytes']}` (half of it, "
                    f"{mib(s['budget_bytes'])}): ")
            if "error" in b:
                line += f"refused: {b['error']}"
            else:
                line += (f"plan {mib(b['planned_bytes'])}, RSS growth {mib(b['rss_growth_bytes'])}, "
                         f"{b['seconds_per_step']:.2f} s/step ({b['seconds_per_step'] / p['seconds_per_step']:.2f}x), "
                         f"tracked == plan: {b['tracked_peak_bytes'] == b['planned_bytes']}")
            if s.get("smallest_plan_bytes"):
                line += f"; the smallest plan the planner finds takes {mib(s['smallest_plan_bytes'])}"
            out.append(line + f". `{s['command']}`")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="comma-separated")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True, help="build-zoo/")
    ap.add_argument("--models-dir", dest="models_dir", required=True)
    ap.add_argument("--node-modules", dest="node_modules", required=True)
    ap.add_argument("--openblas", required=True)
    ap.add_argument("--results", default="bench/results")
    a = ap.parse_args()
    a.models, names = a.models_dir, a.models.split(",")
    a.bench = os.path.dirname(os.path.abspath(__file__))
    zoo = Zoo(a)
    context = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
               "host": platform.node(), "threads": a.threads,
               "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip() or "?",
               "load_start": float(open("/proc/loadavg").read().split()[0])}
    started = time.time()
    rows = []
    for name in names:
        rows.append(zoo.model(name))
    by = {r["model"]: r for r in rows}
    special = [zoo.resnet50_floor(by["resnet50"]) if "resnet50" in by else None,
               zoo.densenet_budget(by["densenet121"]) if "densenet121" in by else None]
    try:
        context["ort"] = json.load(open(os.path.join(a.node_modules, "onnxruntime-node", "package.json")))["version"]
    except OSError:
        pass
    context["load_end"] = float(open("/proc/loadavg").read().split()[0])
    context["minutes"] = round((time.time() - started) / 60, 1)
    text = report(rows, special, a, context)
    print("\n" + text)
    os.makedirs(a.results, exist_ok=True)
    with open(os.path.join(a.results, "zoo.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.results, "zoo.jsonl"), "a") as f:
        for r in rows + [s for s in special if s]:
            f.write(json.dumps(dict(r, **{k: context[k] for k in ("time", "cpu", "host", "commit", "threads",
                                                                  "load_start", "load_end")})) + "\n")
    print(f"zoo: {len(names)} models in {context['minutes']} minutes; wrote {a.results}/zoo.md, appended to "
          f"{a.results}/zoo.jsonl", file=sys.stderr)


if __name__ == "__main__":
    main()
