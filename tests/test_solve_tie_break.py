"""The tie-break never buys a dearer plan, and ranks plans of the least cost the same way every
hour (real solver, as optimize runs it).

UX trial 33 (F6 side note): GCP's a3-highgpu-8g costs $43.06615/h, $0.00001/h more than two
a3-highgpu-4g ($21.53307/h each, prices rounded to 5 decimals). Until 2026-12-07 the tie-break
was a charge of 1e-5 to 2e-5 $/h per node in the MILP's objective, which paid that difference
for fewer nodes: the "optimal, gap 0.00%" plan bought 8g nodes and cost more than its own
cheapest-single-type baseline, and swapped 4g and 8g between hours. The tie-break is now a
second MILP with the cost held (scaleplan/solve/milp/tiebreak.py).
"""

from __future__ import annotations

import pytest
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.solve import SolveOptions, solve


def _gcp_a3(rps: float) -> object:
    # a2-highgpu-1g (an A100 at $60/h, 70 rps) sorts first and is never used: it moves the
    # 4g and 8g to the ranks at which the old charges made one 8g "cheaper" than two 4g
    cat = catalog(
        row("a2-highgpu-1g", "A100", 1, 60.0),
        row("a3-highgpu-8g", "L4", 2, 43.06615),
        row("a3-highgpu-4g", "L4", 1, 21.53307),
    )
    prof = profile(point("L4", 4, 40, 30), point("A100", 4, 40, 70))
    sp = spec(traffic={"peak_rps": rps, "headroom": 0.0})
    return solve(sp, prof, cat, options=SolveOptions(max_utilization=1.0)).plan


@pytest.mark.parametrize("rps, nodes", [(120, 4), (300, 10), (3000, 100)])
def test_the_tie_break_does_not_buy_a_dearer_8g(rps: float, nodes: int) -> None:
    plan = _gcp_a3(rps)
    assert plan.status == "optimal" and plan.gap == 0.0
    assert [(a.instance_type, a.nodes) for a in plan.allocations] == [("a3-highgpu-4g", nodes)]
    assert plan.cost_per_hour == pytest.approx(nodes * 21.53307, abs=1e-9)
    for b in plan.baselines:
        assert b.cost_per_hour is None or b.cost_per_hour >= plan.cost_per_hour - 1e-9


def test_fewer_nodes_still_win_at_the_same_cost() -> None:
    # one b.2x (2 replicas, $2/h) or two b.x ($1/h): the same cost, one node fewer
    cat = catalog(row("b.2x", "L4", 2, 2.0), row("b.x", "L4", 1, 1.0))
    sp = spec(traffic={"peak_rps": 120, "headroom": 0.0})
    opts = SolveOptions(max_utilization=1.0)
    plan = solve(sp, profile(point("L4", 4, 40, 30)), cat, options=opts).plan
    assert [(a.instance_type, a.nodes) for a in plan.allocations] == [("b.2x", 2)]
