"""The optimizer's queueing model validated by simulation on every example plan.

For each examples/*/plan.yaml: simulated SLO attainment at the planned size must reach the
SLO percentile; with one replica fewer per window the figure shows the margin (recorded in
docs/simulate.md by bench/simulate_examples.py). Skipped while no example has a plan yet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.simulate import simulate

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLANS = sorted(EXAMPLES.glob("*/plan.yaml"))
MAX_REQUESTS = 300_000


def sim_duration(rps: tuple[float, ...]) -> float:
    """Seconds per window so that a run stays near MAX_REQUESTS (at most 3600 s per window)."""
    return max(2.0, min(3600.0, MAX_REQUESTS / max(sum(rps), 1e-9)))


@pytest.mark.skipif(not PLANS, reason="no examples/*/plan.yaml yet")
@pytest.mark.parametrize("plan_path", PLANS, ids=[p.parent.name for p in PLANS])
def test_example_plan_holds_its_slo(plan_path: Path) -> None:
    plan = read_plan(plan_path)
    if plan.status == "infeasible" or not plan.allocations:
        pytest.fail(f"{plan_path}: example plan is {plan.status} with {len(plan.allocations)} allocations")
    dur = sim_duration(plan.demand.rps)
    res = simulate(plan, duration_s=dur, seed=0, accelerators=ACCS)
    fewer = simulate(plan, duration_s=dur, seed=0, replica_delta=-1, accelerators=ACCS)
    msg = (
        f"{plan_path.parent.name}: attainment {res.attainment:.4%} vs target {res.target:.0%} "
        f"(worst window {res.worst_window}: {res.worst_window_attainment}); one replica fewer: {fewer.attainment:.4%}"
    )
    assert res.attainment >= res.target, msg
    assert fewer.attainment <= res.attainment + 0.002, msg
