"""The tie-break never buys a dearer plan, and ranks plans of the least cost the same way every
hour (real solver, as optimize runs it).

UX trial 33 (F6 side note): GCP's a3-highgpu-8g costs $43.06615/h, $0.00001/h more than two
a3-highgpu-4g ($21.53307/h each, prices rounded to 5 decimals). Until 2026-12-07 the tie-break
was a charge of 1e-5 to 2e-5 $/h per node in the MILP's objective, which paid that difference
for fewer nodes: the "optimal, gap 0.00%" plan bought 8g nodes and cost more than its own
cheapest-single-type baseline, and swapped 4g and 8g between hours. The tie-break is now a
second MILP with the cost held (scaleplan/solve/milp/tiebreak.py).

Each case below was checked to fail without the part it pins (h1 findings, 2026-12-07): the
tie-break itself (r2 review: the tests above pass on cost alone), its exact re-check of the
cost HiGHS's tolerance lets past the row, and the count of windows whose tie-break the
deadline cut (r2 review M3: the plan said "optimal" and nothing more).
"""

from __future__ import annotations

import time

import pytest
from solve_helpers import candidate, catalog, point, profile, row, spec

from scaleplan.catalog.model import InstanceRow
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.core import SolveResult
from scaleplan.solve.milp import QuotaScope, WindowModel, WindowProblem, solve_window, solve_windows
from scaleplan.solve.milp.tiebreak import break_tie, retie


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


# an A100 node (20 rps, $2/h) does what two L4 nodes (10 rps, $1/h) do, and an H100 node
# (40 rps, $4/h) what two A100s do: many plans of one cost
_ACCS = profile(point("L4", 4, 40, 10), point("A100", 4, 40, 20), point("H100", 4, 40, 40))


def _plan(rows: tuple[InstanceRow, ...], rps: float, time_limit: float = 60.0) -> SolveResult:
    sp = spec(traffic={"peak_rps": rps, "headroom": 0.0})
    opts = SolveOptions(max_utilization=1.0, time_limit=time_limit)
    return solve(sp, _ACCS, catalog(*rows), options=opts)


@pytest.mark.parametrize(
    "rows, rps, want",
    [
        # 6 A100 nodes or 3 H100 nodes, $12/h: the cost step alone plans the 6 A100s
        ((row("c.x", "A100", 1, 2.0), row("e.x", "H100", 1, 4.0)), 120, [("e.x", 3)]),
        # 3 nodes of 2 L4s or 3 A100 nodes, $6/h: the same count, the earlier name (the cost
        # step alone plans c.x)
        ((row("b.2x", "L4", 2, 2.0), row("c.x", "A100", 1, 2.0)), 55, [("b.2x", 3)]),
    ],
)
def test_the_tie_break_ranks_plans_the_cost_step_does_not(
    rows: tuple[InstanceRow, ...], rps: float, want: list[tuple[str, int]]
) -> None:
    res = _plan(rows, rps)
    plan = res.plan
    assert plan.status == "optimal"
    assert [(a.instance_type, a.nodes) for a in plan.allocations] == want
    assert res.stats_dict()["tie_break_cut"] == 0
    assert not any("tie-break" in w for w in plan.warnings)


def test_a_tie_break_cut_by_the_time_limit_is_said() -> None:
    """A limit already spent: the quietest window's cost step still runs (1 s at most,
    FIRST_WINDOW_SECONDS) and proves its cost; its tie-break gets no time, so the plan is one
    of that cost, maybe not the one ranked first. The plan says so, and solve_stats counts it."""
    rows = (row("c.x", "A100", 1, 2.0), row("e.x", "H100", 1, 4.0))
    whole, cut = _plan(rows, 120), _plan(rows, 120, time_limit=0.0)
    plan = cut.plan
    assert plan.status == "optimal" and plan.cost_per_hour == whole.plan.cost_per_hour == 12.0
    assert cut.stats_dict()["tie_break_cut"] == 1
    said = [w for w in plan.warnings if "tie-break" in w]
    assert said == [
        "--time-limit cut the tie-break between plans of equal cost in 1 of 1 window: the cost "
        "is optimal, but the plan may not be the one of that cost with the fewest nodes (then "
        "the earliest names), so a rerun with a longer limit may pick another plan of the same "
        "cost; raise --time-limit to rank them"
    ]


def _twins() -> WindowProblem:
    """35 rps on nodes of 10 rps at $1/h or of 20 rps at $2/h: 4 small, 2 large, or 2 small
    and 1 large, all $4/h: the cost step alone plans the 4 small (HiGHS's first plan), the
    tie-break the 2 large."""
    cands = [candidate("a", 1.0, 10.0), candidate("b", 2.0, 20.0)]
    return WindowProblem(
        candidates=cands, classes=("default",), demand=(35.0,), headroom=0.0,
        redundancy="none", spot_max_fraction=None,
    )


def test_windows_count_a_tie_break_cut_by_the_deadline() -> None:
    p = _twins()
    assert solve_window(p, tie_break=False).nodes == [4, 0]  # the case needs a tie to break
    whole = solve_windows(p, [(35.0,)])[(35.0,)]
    assert (whole.status, whole.nodes, whole.tie_cut) == ("optimal", [0, 2], False)
    # the deadline passed: the cost step still runs (FIRST_WINDOW_SECONDS), the tie-break not
    cut = solve_windows(p, [(35.0,)], deadline=time.perf_counter() - 1.0)[(35.0,)]
    assert (cut.status, cut.cost, cut.tie_cut) == ("optimal", 4.0, True)
    # a plan that cannot tie (one candidate in use, priced, without twins) has nothing to cut
    one = WindowProblem(**{**p.__dict__, "candidates": [p.candidates[0]]})
    alone = solve_windows(one, [(35.0,)], deadline=time.perf_counter() - 1.0)[(35.0,)]
    assert (alone.status, alone.tie_cut) == ("optimal", False)


def test_a_retie_cut_by_the_deadline_is_counted() -> None:
    """The floors' branch and bound breaks the ties of the plan it keeps afterwards
    (``tiebreak.retie``), in what is left of the limit: cut there, its windows count too."""
    model = WindowModel(_twins())
    sol = model.solve((35.0,), time_limit=10.0, tie=False)
    cut = retie(model, sol, (35.0,), time.perf_counter() - 1.0)
    assert (cut.nodes, cut.tie_cut) == ([4, 0], True)
    whole = retie(model, sol, (35.0,), float("inf"))
    assert (whole.nodes, whole.tie_cut) == ([0, 2], False)


def test_a_tie_break_that_stops_short_of_optimal_is_cut() -> None:
    """HiGHS stopped by a limit of its own before it proves which plan ranks first (here its
    node limit, set to 0: what a time limit does to a larger model): the cost step's plan is
    kept, and the tie-break reported cut."""
    model = WindowModel(_twins())
    first = model.solve((35.0,), time_limit=10.0, tie=False)
    assert break_tie(model, first, float("inf")) == (([0, 2], [0, 2]), False)
    model = WindowModel(_twins())
    first = model.solve((35.0,), time_limit=10.0, tie=False)
    model._highs.setOptionValue("mip_max_nodes", 0)
    assert break_tie(model, first, float("inf")) == (None, True)
    assert break_tie(model, first, time.perf_counter() - 1.0) == (None, True)  # no time left


def test_the_tie_break_keeps_the_cost_past_the_solver_tolerance() -> None:
    """HiGHS holds the cost row to its feasibility tolerance (1e-6), wider than TIE_TOL: with
    3 nodes of 10 rps at $1/h at most (a quota) and 50 rps, the least cost is 3 of them and
    one of 20 rps at $2.0000005/h (4 nodes); 1 + 2 costs $0.0000005/h more with 3 nodes, and
    HiGHS's tie-break MILP returns it. break_tie checks the cost again, exactly, and keeps
    the cheaper plan."""
    cands = [candidate("a", 1.0, 10.0), candidate("b", 2.0000005, 20.0)]
    p = WindowProblem(
        candidates=cands, classes=("default",), demand=(50.0,), headroom=0.0,
        redundancy="none", spot_max_fraction=None, quotas=(QuotaScope("q", 3, (0,)),),
    )
    sol = solve_window(p)
    assert (sol.status, sol.nodes, sol.tie_cut) == ("optimal", [3, 1], False)
    assert sol.cost == 3 * 1.0 + 2.0000005


def test_a_window_not_proved_optimal_is_not_counted_as_a_cut_tie_break() -> None:
    """A cost step stopped short (here HiGHS interrupted at its first plan, as Ctrl-C or the
    time limit stop it) leaves a ``feasible`` window, whose gap the plan states ("a longer
    --time-limit may close it"): its tie-break, interrupted too, is not counted again."""
    cands = [candidate("a", 1.0, 7.0), candidate("b", 1.6, 11.0), candidate("c", 1.85, 13.0)]
    p = WindowProblem(
        candidates=cands, classes=("default",), demand=(97.0,), headroom=0.0,
        redundancy="none", spot_max_fraction=None,
    )
    model = WindowModel(p)
    assert model.solve((97.0,), time_limit=10.0).cost == pytest.approx(13.85)
    model._highs.cbMipImprovingSolution.subscribe(lambda event: event.interrupt())
    first = model.solve((97.0,), time_limit=10.0, tie=False)
    assert first.status == "feasible" and first.cost > 13.85  # the case needs a cut cost step
    assert break_tie(model, first, float("inf"))[1]  # its tie-break is cut as well
    sol = model.solve((97.0,), time_limit=10.0)
    assert (sol.status, sol.tie_cut) == ("feasible", False)


def test_an_infeasible_tie_break_is_not_counted_cut() -> None:
    """A tie-break MILP HiGHS answers "infeasible" was not cut by the time limit: it ran to an
    answer. It should not happen (the cost step's plan is feasible at its own cost); here it
    is made to, by a cost step's cost put 0.5 below what its plan costs, so no plan meets the
    cost row. The cost step's plan is kept, and the window is not counted cut (until
    2026-12-07 every status but "optimal" was, and the plan said "raise --time-limit")."""
    import dataclasses

    model = WindowModel(_twins())
    first = model.solve((35.0,), time_limit=10.0, tie=False)
    assert (first.status, first.nodes, first.cost) == ("optimal", [4, 0], 4.0)
    low = dataclasses.replace(first, cost=3.5)
    assert break_tie(model, low, float("inf")) == (None, False)
    assert model.stats[-1].status == "infeasible"  # the case needs HiGHS's answer
    # the model is as the cost step left it: the tie-break still ranks the 2 large first
    assert break_tie(model, first, float("inf")) == (([0, 2], [0, 2]), False)
