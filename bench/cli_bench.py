#!/usr/bin/env python3
"""Whole-process wall time of small `scaleplan optimize` runs, beside a 5-line typer app.

    python bench/cli_bench.py [-n 15] [--baseline-src /path/to/other/checkout]

Runs, interleaved so that the machine's load hits each alike: a five-line typer app's
``--help`` (the floor any typer CLI pays), the same app importing the libraries ``optimize``
cannot run without (pulp with highspy and numpy, pydantic, PyYAML: the floor of this stack),
``scaleplan optimize --melange`` on Mélange's README example (tests/data/melange/example.json,
one process), and ``scaleplan optimize`` on the same problem imported as files (spec.yaml,
profile.yaml, catalog.yaml); with ``--baseline-src`` also the last two from another checkout
(e.g. the main branch before a change) for a ratio.

Each checkout is imported through PYTHONPATH from a temporary working folder (from the
repository root, ``python -m`` would put the root first on sys.path and the baseline would
silently run this checkout's code), and its bytecode is compiled first (``compileall``), as
``pip install`` does: with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile
scaleplan's ~70 modules from source (~80 ms CPU) while the libraries' bytecode is installed.
The parsed-file cache is warm (one untimed run first). Prints median, quartiles and min wall and
median CPU (user+sys) per command, the ratio of medians to the typer app, and the load average.
Targets (issue 20): the Mélange example under 0.5 s wall and under 1.3x the typer app.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "data" / "melange" / "example.json"
TYPER_APP = """import typer
app = typer.Typer()
@app.command()
def main(name: str) -> None:
    print(name)
app()
"""
FLOOR_APP = "import highspy, numpy, pulp, pydantic, yaml\n" + TYPER_APP


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=15)
    ap.add_argument("--baseline-src", help="Another checkout's root (its scaleplan/ is imported via PYTHONPATH) to compare with.")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scaleplan-cli-bench-"))
    (tmp / "app.py").write_text(TYPER_APP, encoding="utf-8")
    (tmp / "floor.py").write_text(FLOOR_APP, encoding="utf-8")
    base_env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "SCALEPLAN_DEBUG", "PYTHONPATH"}}
    base_env["NO_COLOR"] = "1"
    env = {**base_env, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    checkouts = [ROOT, *([Path(args.baseline_src).resolve()] if args.baseline_src else [])]
    for src in checkouts:  # bytecode, as an installed package has it
        subprocess.run([py, "-m", "compileall", "-q", str(src / "scaleplan")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([py, "-m", "scaleplan", "import", "melange", str(EXAMPLE), "--out", str(tmp / "imp")], env=env, cwd=tmp, check=True, capture_output=True)
    cmds: dict[str, tuple[list[str], dict[str, str]]] = {
        "typer app --help (5 lines)": ([py, str(tmp / "app.py"), "--help"], base_env),
        "same + import pulp, pydantic, yaml": ([py, str(tmp / "floor.py"), "--help"], base_env),
        "optimize --melange example.json": ([py, "-m", "scaleplan", "optimize", "--melange", str(EXAMPLE), "--out", str(tmp / "o1")], env),
        "optimize imported spec.yaml": ([py, "-m", "scaleplan", "optimize", str(tmp / "imp" / "spec.yaml"), "--out", str(tmp / "o2")], env),
    }
    if args.baseline_src:
        benv = {**base_env, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
        cmds["baseline: optimize --melange"] = ([py, "-m", "scaleplan", "optimize", "--melange", str(EXAMPLE), "--out", str(tmp / "o4")], benv)
        cmds["baseline: optimize imported spec.yaml"] = ([py, "-m", "scaleplan", "optimize", str(tmp / "imp" / "spec.yaml"), "--out", str(tmp / "o3")], benv)
    for cmd, e in cmds.values():  # warm the page and parsed-file caches
        subprocess.run(cmd, env=e, cwd=tmp, check=True, capture_output=True)
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    loads = [os.getloadavg()[0]]
    for _ in range(args.runs):
        for name, (cmd, e) in cmds.items():
            c0, t0 = _cpu(), time.perf_counter()
            subprocess.run(cmd, env=e, cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - t0)
            cpus[name].append(_cpu() - c0)
        loads.append(os.getloadavg()[0])
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} cores; runs: {args.runs} each, interleaved")
    print(f"load average (1 min) during the runs: median {statistics.median(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}")
    base = statistics.median(walls["typer app --help (5 lines)"])
    print(f"bytecode compiled for {', '.join(map(str, checkouts))}; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    head = f"{'median s':>9} {'p25-p75 s':>12} {'min s':>7} {'cpu s':>7} {'x typer':>8}"
    print(f"{'command':<40} {head}")
    for name in cmds:
        w, med = walls[name], statistics.median(walls[name])
        q1, _, q3 = statistics.quantiles(w, n=4) if len(w) > 1 else (med, med, med)
        print(f"{name:<40} {med:>9.3f} {q1:>6.3f}-{q3:.3f} {min(walls[name]):>7.3f} {statistics.median(cpus[name]):>7.3f} {med / base:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
