"""Validate the optimizer's queueing model: simulate every examples/*/plan.yaml at the planned
size and with one replica fewer per window; print a markdown table for docs/simulate.md.

Run: /work/venv/bin/python bench/simulate_examples.py
"""

from __future__ import annotations

from pathlib import Path

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.simulate import simulate

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ROOT = Path(__file__).resolve().parents[1]
MAX_REQUESTS = 300_000


def main() -> None:
    plans = sorted((ROOT / "examples").glob("*/plan.yaml"))
    if not plans:
        print("no examples/*/plan.yaml yet")
        return
    print("| example | SLO | requests | attainment (planned) | worst window | p99 ms | attainment (one replica fewer) | margin holds |")
    print("|---|---|---|---|---|---|---|---|")
    for path in plans:
        plan = read_plan(path)
        dur = max(2.0, min(3600.0, MAX_REQUESTS / max(sum(plan.demand.rps), 1e-9)))
        res = simulate(plan, duration_s=dur, seed=0, accelerators=ACCS)
        fewer = simulate(plan, duration_s=dur, seed=0, replica_delta=-1, accelerators=ACCS)
        slo = f"p{res.slo_percentile} <= {res.slo_latency_ms:g} ms"
        worst = f"{res.worst_window}: {100 * (res.worst_window_attainment or 0):.2f}%"
        p99 = "-" if res.latency_ms.p99 is None else f"{res.latency_ms.p99:.1f}"
        print(
            f"| {path.parent.name} | {slo} | {res.requests:,} | {100 * res.attainment:.2f}% {'ok' if res.meets_slo else 'MISS'} | {worst} | {p99} "
            f"| {100 * fewer.attainment:.2f}% | {'still meets' if fewer.meets_slo else 'misses'} |"
        )


if __name__ == "__main__":
    main()
