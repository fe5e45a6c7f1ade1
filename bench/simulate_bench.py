"""Simulator speed: one million simulated requests per policy (target: < 10 s on 2 cores).

Run: /work/venv/bin/python bench/simulate_bench.py
A synthetic day: 24 hourly windows, three replica types (batch 8 and 1, lognormal service),
about 1,000,000 Poisson requests; wall time of ``simulate`` for each routing policy.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from simulate_helpers import allocation, make_plan

from scaleplan.inputs import shipped_accelerators
from scaleplan.simulate import simulate

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

CURVE = (20, 15, 10, 10, 10, 15, 30, 60, 90, 110, 120, 120, 120, 120, 115, 110, 100, 90, 80, 70, 60, 50, 40, 30)


def day_plan(scale: float):  # type: ignore[no-untyped-def]
    rps = tuple(scale * r for r in CURVE)
    reps = tuple(max(1, round(r / 60.0)) for r in rps)
    return make_plan(
        [
            allocation("gpu-b8", replicas=reps, batch=8, service_ms=40.0, p50=38.0, p99=60.0, capacity=140.0),
            allocation("gpu-b1", replicas=tuple(max(1, r // 3) for r in reps), batch=1, service_ms=8.0, p50=8.0, p99=14.0, capacity=90.0, capacity_type="spot"),
            allocation("cpu-b1", replicas=tuple(max(1, r // 4) for r in reps), batch=1, service_ms=25.0, p50=24.0, p99=40.0, capacity=30.0, accelerator="CPU"),
        ],
        rps=rps,
        slo_ms=150.0,
    )


def main() -> None:
    plan = day_plan(10.0)  # peak 1200 rps
    per_window = 1_000_000 / sum(plan.demand.rps)
    print(f"python {platform.python_version()}, {platform.machine()}; {per_window:.1f} s per window, 24 windows")
    for policy in ("weighted", "round-robin", "least-outstanding"):
        t0 = time.perf_counter()
        res = simulate(plan, duration_s=per_window, seed=0, policy=policy, accelerators=ACCS)
        dt = time.perf_counter() - t0
        print(f"{policy:18s} {res.requests:>9,d} requests  {dt:6.2f} s  {res.requests / dt / 1e6:5.2f} M req/s  attainment {res.attainment:.4%}")
    t0 = time.perf_counter()
    res = simulate(plan, duration_s=per_window, seed=0, failure="zone", accelerators=ACCS)
    dt = time.perf_counter() - t0
    print(f"{'weighted+zone':18s} {res.requests:>9,d} requests  {dt:6.2f} s  {res.requests / dt / 1e6:5.2f} M req/s  attainment {res.attainment:.4%}")


if __name__ == "__main__":
    main()
