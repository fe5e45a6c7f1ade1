#!/usr/bin/env python3
"""Mélange's own solver against scaleplan on a Mélange config, side by side, in one run.

    python bench/melange_bench.py CONFIG.json [-n 3] [--melange-python /venv/bin/python]

scaleplan: ``scaleplan optimize --melange CONFIG --json`` as a whole process (wall time) and
its ``solve_stats.solver_seconds`` (HiGHS's runs behind the plan: the window MILP and the
routing LP). Mélange: AIBrix 0.8.0's ``MelangeSolver`` (Mélange's formulation: binary slices,
CBC with no time limit) on the same config, timed around ``run()``, in an interpreter that has
it (``pip install aibrix==0.8.0 pulp==2.8.0 numpy`` in a separate venv: aibrix pins its own
dependencies and does not declare pulp or numpy). Runs alternate so that the machine's load
hits both alike; prints each run, the medians, their ratio and the load average. Without
``--melange-python`` only scaleplan runs.

Case of issue 20: /work/shared/bench/external/melange/synthetic/syn_8x8_20t_r2000_sf4.json.
Targets: the optimum in >= 45x less solver time than Mélange; the whole command under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MELANGE = """
import json, resource, sys, time
from aibrix.gpu_optimizer.optimizer.solver.melange.solver import MelangeSolver
cfg = json.load(open(sys.argv[1]))
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
t, c = time.perf_counter(), cpu()
r = MelangeSolver(cfg["workload_distribution"], cfg["total_request_rate"], cfg["gpu_info"], cfg.get("slice_factor", 1)).run()
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": cpu() - c, "cost": r["cost"] if r else None}))
"""


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(config: str, out: Path) -> dict[str, float]:
    c0, t0 = _cpu(), time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "scaleplan", "optimize", "--melange", config, "--out", str(out), "--json"], capture_output=True, text=True, check=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    doc = json.loads(p.stdout)
    st = doc["solve_stats"]
    return {"wall": wall, "cpu": cpu, "solver": st["solver_seconds"], "solver_cpu": st["solver_cpu_seconds"], "plan": st["plan_seconds"], "cost": doc["cost_per_hour"]}


def melange(python: str, config: str, script: Path) -> dict[str, float]:
    c0, t0 = _cpu(), time.perf_counter()
    p = subprocess.run([python, str(script), config], capture_output=True, text=True, check=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    return {"wall": wall, "cpu": cpu, "solver": doc["seconds"], "solver_cpu": doc["cpu"], "cost": doc["cost"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("-n", "--runs", type=int, default=3)
    ap.add_argument("--melange-python", help="Python interpreter with aibrix==0.8.0 installed.")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scaleplan-melange-bench-"))
    script = tmp / "melange_run.py"
    script.write_text(MELANGE, encoding="utf-8")
    ours(args.config, tmp / "warm")  # warm the page and parsed-file caches
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} cores; config {args.config}")
    us: list[dict[str, float]] = []
    them: list[dict[str, float]] = []
    loads = [os.getloadavg()[0]]
    for i in range(args.runs):
        a = ours(args.config, tmp / f"o{i}")
        us.append(a)
        print(f"scaleplan run {i}: cost {a['cost']:.2f} solver {a['solver']:.3f} s ({a['solver_cpu']:.3f} s CPU), plan {a['plan']:.3f} s, whole command {a['wall']:.3f} s wall ({a['cpu']:.3f} s CPU)", flush=True)
        if args.melange_python:
            b = melange(args.melange_python, args.config, script)
            them.append(b)
            print(f"Mélange   run {i}: cost {b['cost']:.2f} solver {b['solver']:.3f} s ({b['solver_cpu']:.3f} s CPU incl. CBC; process {b['wall']:.3f} s wall, {b['cpu']:.3f} s CPU incl. CBC)", flush=True)
        loads.append(os.getloadavg()[0])
    print(f"load average (1 min): median {statistics.median(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}")
    ms = statistics.median(x["solver"] for x in us)
    print(f"scaleplan median: solver {ms:.3f} s, whole command {statistics.median(x['wall'] for x in us):.3f} s wall, {statistics.median(x['cpu'] for x in us):.3f} s CPU")
    if them:
        mm = statistics.median(x["solver"] for x in them)
        print(f"Mélange   median: solver {mm:.3f} s, {statistics.median(x['cpu'] for x in them):.3f} s CPU")
        per = ", ".join(f"{b['solver'] / a['solver']:.1f}x" for a, b in zip(us, them, strict=True))
        print(f"solver time ratio (Mélange / scaleplan, medians): {mm / ms:.1f}x; per run: {per}")
        cr = statistics.median(x["solver_cpu"] for x in them) / statistics.median(x["solver_cpu"] for x in us)
        print(f"solver CPU ratio (medians): {cr:.1f}x; Mélange's run() / scaleplan's whole plan (plan_seconds): {mm / statistics.median(x['plan'] for x in us):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
