#!/usr/bin/env python3
"""Wall time of `scaleplan --help` (start-up cost of the CLI), median over N runs.

    python bench/help_bench.py            # 30 runs of each command
    python bench/help_bench.py -n 50 --importtime

Measures the installed console script (``scaleplan`` next to this interpreter) and
``python -m scaleplan``. Prints wall-clock median / min / p90 and CPU (user+sys) median per
run, the load average (other processes inflate wall time on a 2-core machine: compare the CPU
figure), and with ``--importtime`` the slowest imports from ``python -X importtime``.
Target (issue 2): median wall time under 0.25 s. ``--check`` exits 1 if the median is over it.
The checkout's bytecode is compiled first (``compileall``), as ``pip install`` does.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.25
ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pulp", "boto3", "torch", "kubernetes_validate", "numpy", "pydantic", "rich.markdown")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cmd: list[str], runs: int, env: dict[str, str]) -> dict[str, float]:
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm the page cache
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        c0, t0 = _cpu(), time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    walls.sort()
    return {
        "median": statistics.median(walls),
        "min": walls[0],
        "p90": walls[min(len(walls) - 1, int(0.9 * len(walls)))],
        "cpu_median": statistics.median(cpus),
    }


def slowest_imports(env: dict[str, str], top: int = 12) -> list[tuple[int, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "scaleplan", "--help"], env=env, capture_output=True, text=True, check=True)
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _self, cum, name = (x.strip() for x in line.split("|", 1)[0].split(":", 1) + line.split("|")[1:])
        rows.append((int(cum), name))
    heavy = sorted({n for _, n in rows if n.split(".")[0] in HEAVY or n in HEAVY})
    if heavy:
        print(f"WARNING: --help imported {', '.join(heavy)}", file=sys.stderr)
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=30)
    ap.add_argument("--importtime", action="store_true", help="Also list the slowest imports (cumulative).")
    ap.add_argument("--check", action="store_true", help=f"Exit 1 if the console script's median is over {TARGET_S} s.")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "SCALEPLAN_DEBUG"}}
    env["NO_COLOR"] = "1"
    # bytecode, as `pip install` writes it: with PYTHONDONTWRITEBYTECODE set (as on the shared
    # machine) an editable checkout would compile its modules from source on every run
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "scaleplan")], check=True, stdout=subprocess.DEVNULL)
    script = Path(sys.executable).with_name("scaleplan")
    if not script.exists():
        found = shutil.which("scaleplan")
        script = Path(found) if found else script
    commands = {"scaleplan --help": [str(script), "--help"], "python -m scaleplan --help": [sys.executable, "-m", "scaleplan", "--help"]}
    baseline = {"python -c pass (interpreter floor)": [sys.executable, "-c", "pass"]}

    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"runs: {args.runs} per command; target: median < {TARGET_S} s")
    print(f"{'command':<38} {'median s':>9} {'min s':>7} {'p90 s':>7} {'cpu s':>7}")
    results = {}
    for name, cmd in {**baseline, **commands}.items():
        if name.startswith("scaleplan") and not script.exists():
            print(f"{name:<38} (console script not installed)")
            continue
        r = measure(cmd, args.runs, env)
        results[name] = r
        print(f"{name:<38} {r['median']:>9.3f} {r['min']:>7.3f} {r['p90']:>7.3f} {r['cpu_median']:>7.3f}")
    if args.importtime:
        print("\nslowest imports of `python -m scaleplan --help` (cumulative microseconds):")
        for us, name in slowest_imports(env):
            print(f"  {us:>8}  {name}")
    main_result = results.get("scaleplan --help") or results["python -m scaleplan --help"]
    verdict = "PASS" if main_result["median"] < TARGET_S else "OVER"
    print(f"\n{verdict}: median {main_result['median']:.3f} s vs target {TARGET_S} s")
    return 1 if args.check and verdict != "PASS" else 0


if __name__ == "__main__":
    sys.exit(main())
