"""Multi-window solving is exact: one re-used model, plan re-use across windows, scaled-up
cutoffs and cross-region pruning give the same optimal cost as a fresh MILP per window."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solve_helpers import LAT, row

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import QuotaScope, WindowProblem, solve_window, solve_windows
from scaleplan.solve.oppoints import OpPoint
from scaleplan.solve.prune import PruneRules, prune

CLASSES = ("a", "b")


def _cand(i: int, region: str, price: float, caps: tuple[float, float], rpn: int, spot: bool, zones: int) -> Candidate:
    r = row(f"t{i}.x", "L4", rpn, price, region=region)
    pts = tuple((c, OpPoint(batch_size=1, latency=LAT, throughput_rps=cap, max_utilization=1.0, capacity_rps=cap, source="measured", service_ms=10.0, request_class=None, estimated=False, latency_at_slo=10.0)) for c, cap in zip(CLASSES, caps, strict=True) if cap > 0)
    return Candidate(row=r, capacity_type="spot" if spot else "on-demand", price=price, accelerator="L4", gpus_per_replica=1, threads=0, replicas_per_node=rpn, cpu_per_replica=1.0, memory_gib_per_replica=1.0, points=pts, zones=zones)


@st.composite
def problems(draw: st.DrawFn) -> tuple[WindowProblem, list[tuple[float, ...]]]:
    k = draw(st.integers(2, 5))
    ncls = draw(st.sampled_from([1, 2]))
    shares = (1.0,) if ncls == 1 else (0.7, 0.3)
    cands = []
    for i in range(k):
        caps = (float(draw(st.integers(4, 40))), float(draw(st.integers(0, 20))) if ncls == 2 else 0.0)
        if ncls == 2 and caps[1] == 0 and i == 0:
            caps = (caps[0], 5.0)
        # a few exact copies in another region, so that pruning has something to merge
        copies = 2 if draw(st.booleans()) else 1
        price = draw(st.integers(20, 400)) / 100
        rpn = draw(st.integers(1, 2))
        spot = draw(st.booleans())
        zones = draw(st.integers(2, 3))
        for c in range(copies):
            cands.append(_cand(i, ("us-east-1", "us-west-2")[c], price, caps, rpn, spot, zones))
    cands.sort(key=lambda c: c.sort_key)
    redundancy = draw(st.sampled_from(["none", "n+1", "zone"]))
    spot_f = draw(st.sampled_from([None, 0.5])) if any(c.capacity_type == "spot" for c in cands) else None
    max_rep = draw(st.one_of(st.none(), st.integers(3, 20)))
    quotas: tuple[QuotaScope, ...] = ()
    if draw(st.booleans()):
        quotas = (QuotaScope("aws/us-east-1/*", draw(st.integers(1, 8)), tuple(i for i, c in enumerate(cands) if c.row.region == "us-east-1")),)
    # 0: an hour without demand (scale to zero at night), solved first as the quietest
    rps = draw(st.lists(st.integers(0, 60), min_size=2, max_size=5))
    if not any(rps):
        rps[0] = 1
    demands = [tuple(round(v * s, 9) for s in shares) for v in rps]
    base = WindowProblem(candidates=cands, classes=CLASSES[:ncls], demand=max(demands, key=lambda d: (sum(d), d)), headroom=draw(st.sampled_from([0.0, 0.2])), redundancy=redundancy, spot_max_fraction=spot_f, quotas=quotas, min_replicas=draw(st.integers(0, 3)), max_replicas=max_rep, even=draw(st.booleans()))
    return base, demands


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems())
def test_windows_agree_with_fresh_solves(inst: tuple[WindowProblem, list[tuple[float, ...]]]) -> None:
    base, demands = inst
    got = solve_windows(base, demands, tie_break=False)
    for d in demands:
        fresh = solve_window(WindowProblem(**{**base.__dict__, "demand": d}), tie_break=False)
        assert got[d].status == fresh.status, (d, got[d], fresh)
        if fresh.status == "optimal":
            assert abs(got[d].cost - fresh.cost) < 1e-6, (d, got[d].nodes, fresh.nodes)
            for ci in range(len(base.classes)):  # the (balanced) routing serves the class
                assert d[ci] == 0 or abs(sum(got[d].routing[ci]) - 1.0) < 1e-6


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems())
def test_pruning_keeps_the_optimum(inst: tuple[WindowProblem, list[tuple[float, ...]]]) -> None:
    base, demands = inst
    if base.quotas:  # quota scopes are indices into the candidate list: rebuilt below
        return
    rules = PruneRules(region_scoped=base.redundancy == "zone", exact_only=base.max_replicas is not None)
    kept = prune(list(base.candidates), rules)
    assert len(kept) <= len(base.candidates)
    for d in demands:
        full = solve_window(WindowProblem(**{**base.__dict__, "demand": d}), tie_break=False)
        small = solve_window(WindowProblem(**{**base.__dict__, "demand": d, "candidates": kept}), tie_break=False)
        assert full.status == small.status
        if full.status == "optimal":
            assert abs(full.cost - small.cost) < 1e-6, (d, full.nodes, small.nodes)


def test_identical_rows_in_two_regions_keep_the_first() -> None:
    a = _cand(0, "us-west-2", 1.0, (10.0, 0.0), 1, False, 3)
    b = _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3)
    assert prune([a, b]) == [b]
    assert sorted(c.row.region for c in prune([a, b], PruneRules(region_scoped=True))) == ["us-east-1", "us-west-2"]


def _one(redundancy: str, ncls: int) -> WindowProblem:
    c = _cand(0, "us-east-1", 1.0, (10.0, 10.0 if ncls == 2 else 0.0), 1, False, 2)
    return WindowProblem(candidates=[c], classes=CLASSES[:ncls], demand=(), headroom=0.0, redundancy=redundancy, spot_max_fraction=None)


def test_a_quieter_plan_is_not_reused_when_a_loss_no_longer_fits() -> None:
    # 9 rps fits 2 nodes of 10 rps with one lost (n+1) or one of two zones lost; 11 rps does not
    for redundancy, want in (("n+1", (2, 3)), ("zone", (2, 4))):
        for ncls in (1, 2):
            shares = (1.0,) if ncls == 1 else (0.5, 0.5)
            demands = [tuple(v * s for s in shares) for v in (9.0, 11.0)]
            base = WindowProblem(**{**_one(redundancy, ncls).__dict__, "demand": demands[1]})
            got = solve_windows(base, demands)
            assert (sum(got[demands[0]].nodes), sum(got[demands[1]].nodes)) == want, (redundancy, ncls)
            assert not got[demands[1]].reused


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems())
def test_windows_break_ties_as_fresh_solves(
    inst: tuple[WindowProblem, list[tuple[float, ...]]],
) -> None:
    """With the tie-break (what optimize runs), the search's starts and cutoffs (the quieter
    plan scaled up, WindowModel.pool_start's plan over the candidates in use) must not change
    which of two equal-cost plans a window gets: the same nodes as a fresh MILP per window."""
    base, demands = inst
    got = solve_windows(base, demands)
    for d in demands:
        fresh = solve_window(WindowProblem(**{**base.__dict__, "demand": d}))
        assert got[d].status == fresh.status
        if fresh.status == "optimal":
            assert got[d].nodes == fresh.nodes, (d, got[d].nodes, fresh.nodes)


def _cheap_and_dear() -> WindowProblem:
    """One class at 35 rps over two on-demand types in one region: 10 rps for $1/h a node, 40
    rps for $3/h (the pool-start tests)."""
    cheap = _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 2)
    dear = _cand(1, "us-east-1", 3.0, (40.0, 0.0), 1, False, 2)
    return WindowProblem(
        candidates=[cheap, dear], classes=CLASSES[:1], demand=(35.0,), headroom=0.0,
        redundancy="none", spot_max_fraction=None,
    )


def test_pool_start_bars_the_rest_for_one_solve_only() -> None:
    """pool_start solves over the pool alone and gives the model back as it was: the barred
    set restored, the next solve over every candidate; nothing to do when the pool is all."""
    from scaleplan.solve.milp import WindowModel

    model = WindowModel(_cheap_and_dear())
    assert model.pool_start((35.0,), {0, 1}, time_limit=10, cutoff=None) is None
    only = model.pool_start((35.0,), {1}, time_limit=10, cutoff=None)
    assert only is not None and only.nodes == [0, 1] and model.barred == frozenset()
    whole = model.solve((35.0,), time_limit=10)
    assert whole.nodes == [0, 1] and model.objective(whole) == whole.cost
    four = model.pool_start((35.0,), {0}, time_limit=10, cutoff=None)
    assert four is not None and four.nodes == [4, 0]
    assert model.solve((35.0,), time_limit=10).nodes == [0, 1]


def test_a_pool_start_runs_highs_without_its_sub_mips(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a pool start (``WindowModel.pool_start``: the optimum over a few candidates) HiGHS
    runs without RINS and RENS (sub-MIPs around the start); they are back on for the next
    solve, and the optimum is the same either way (the cost step's runs: without the
    tie-break's second MILP, which starts from the cost step's plan)."""
    import scaleplan.solve.milp.model as milp_model
    from scaleplan.solve.milp import WindowModel

    model = WindowModel(_cheap_and_dear(), tie_break=False)
    seen: list[tuple[bool, ...]] = []
    run = milp_model.run_interruptible

    def recording(h: Any) -> None:
        seen.append(tuple(h.getOptionValue(f"mip_heuristic_run_{n}")[1] for n in ("rins", "rens")))
        run(h)

    monkeypatch.setattr(milp_model, "run_interruptible", recording)
    start = model.pool_start((35.0,), {1}, time_limit=10, cutoff=None)
    assert start is not None and start.pooled
    warm = model.solve((35.0,), time_limit=10, start=start, cutoff=model.objective(start))
    cold = model.solve((35.0,), time_limit=10)
    assert not cold.pooled and not model.reroute(start, (35.0,)).pooled  # type: ignore[union-attr]
    assert seen == [(True, True), (False, False), (True, True)]
    assert warm.nodes == cold.nodes == [0, 1]


def test_highs_status_and_columns_read_as_pulp_reads_them() -> None:
    """The window MILP reads HiGHS's status and the node and replica columns itself
    (``WindowModel._read_highs``): the same status and values as PuLP's findSolutionValues,
    optimal and infeasible (a cutoff under the optimum), on a zone model over two regions
    (without the tie-break's second MILP, which leaves HiGHS's model at the tie-break's
    objective: the values read are the first's)."""
    import pulp

    from scaleplan.solve.milp import WindowModel

    cands = [
        _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3),
        _cand(1, "us-west-2", 0.9, (9.0, 0.0), 1, True, 3),
        _cand(2, "us-west-2", 3.0, (40.0, 0.0), 1, False, 3),
    ]
    p = WindowProblem(
        candidates=cands, classes=CLASSES[:1], demand=(45.0,), headroom=0.2,
        redundancy="zone", spot_max_fraction=0.5, even=True,
    )
    model = WindowModel(p, tie_break=False)
    best = model.solve((45.0,), time_limit=10)
    assert best.status == "optimal" and sum(best.nodes) > 0
    for cutoff, want in ((None, "optimal"), (best.cost - 0.5, "infeasible")):
        got = model.solve((45.0,), time_limit=10, cutoff=cutoff)
        assert got.status == want
        mine = [v.varValue for v in (*model.n, *model.r)]
        status, sol = model._solver.findSolutionValues(model.prob)
        model.prob.assignStatus(status, sol)
        theirs = {pulp.LpSolutionOptimal: "optimal", pulp.LpSolutionInfeasible: "infeasible"}
        assert theirs[model.prob.sol_status] == want
        if want == "optimal":
            assert mine == [v.varValue for v in (*model.n, *model.r)]
            assert got.nodes == best.nodes


def test_a_zone_model_runs_highs_without_sub_mips_from_any_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zone models skip RINS and RENS from any start (a scaled-up plan too), the others only
    from a pool start; the optimum is the same."""
    import scaleplan.solve.milp.model as milp_model
    from scaleplan.solve.milp import WindowModel

    seen: list[tuple[str, bool]] = []
    run = milp_model.run_interruptible

    def recording(h: Any) -> None:
        seen.append((red, h.getOptionValue("mip_heuristic_run_rins")[1]))
        run(h)

    monkeypatch.setattr(milp_model, "run_interruptible", recording)
    for red in ("zone", "n+1"):
        cands = [_cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3)]
        p = WindowProblem(
            candidates=cands, classes=CLASSES[:1], demand=(35.0,), headroom=0.0,
            redundancy=red, spot_max_fraction=None,
        )
        model = WindowModel(p)
        quiet = model.solve((20.0,), time_limit=10)
        up = model.scale_up(quiet, (35.0,))
        assert up is not None and not up.pooled
        warm = model.solve((35.0,), time_limit=10, start=up, cutoff=model.objective(up))
        assert warm.nodes == model.solve((35.0,), time_limit=10).nodes
    assert seen == [
        ("zone", True), ("zone", False), ("zone", True),
        ("n+1", True), ("n+1", True), ("n+1", True),
    ]


def test_every_highs_status_reads_as_pulp_reads_it() -> None:
    """``WindowModel._read_highs`` maps each HiGHS model status PuLP's findSolutionValues
    knows (the time and iteration limits with and without a plan: its objective infinite or
    not) to the status PuLP's ``sol_status`` gave before f2a8a4d, and reads the node and
    replica columns PuLP read whenever it says there is a plan."""
    import math

    import highspy
    import pulp

    from scaleplan.solve.milp import WindowModel

    cands = [
        _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3),
        _cand(1, "us-west-2", 0.9, (9.0, 0.0), 2, False, 3),
    ]
    p = WindowProblem(
        candidates=cands, classes=CLASSES[:1], demand=(45.0,), headroom=0.2,
        redundancy="n+1", spot_max_fraction=None,
    )
    model = WindowModel(p)
    assert model.solve((45.0,), time_limit=10).status == "optimal"
    real = model._highs

    class Stopped:  # the solved model, as if HiGHS had stopped with ``status``
        def __init__(self, status: Any, objective: float) -> None:
            self.status, self.objective = status, objective

        def getModelStatus(self) -> Any:
            return self.status

        def getObjectiveValue(self) -> float:
            return self.objective

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    def pulp_reads() -> str:
        status, sol = model._solver.findSolutionValues(model.prob)
        model.prob.assignStatus(status, sol)
        s = model.prob.sol_status
        if s == pulp.LpSolutionOptimal:
            return "optimal"
        if s == pulp.LpSolutionIntegerFeasible:
            return "feasible"
        if s in (pulp.LpSolutionInfeasible, pulp.LpSolutionUnbounded):
            return "infeasible"
        return "infeasible" if model.prob.status == pulp.LpStatusInfeasible else "unknown"

    st = highspy.HighsModelStatus
    names = [n for n in dir(st) if n.startswith("k")]
    seen = set()
    for name in names:
        for objective in (real.getObjectiveValue(), math.inf):
            model._highs = model.prob.solverModel = Stopped(getattr(st, name), objective)
            for v in model.prob.variables():
                v.varValue = None
            try:
                theirs = pulp_reads()
            except KeyError:  # a status PuLP does not know (kSolutionLimit, kMemoryLimit, ...)
                assert model._read_highs() == "unknown", name
                continue
            pulp_cols = [v.varValue for v in (*model.n, *model.r)]
            for v in model.prob.variables():
                v.varValue = None
            mine = model._read_highs()
            assert mine == theirs, (name, objective)
            if mine in ("optimal", "feasible"):
                assert [v.varValue for v in (*model.n, *model.r)] == pulp_cols, name
            seen.add(mine)
    model._highs = model.prob.solverModel = real
    assert seen == {"optimal", "feasible", "infeasible", "unknown"}


@pytest.mark.parametrize("redundancy", ["none", "n+1"])
def test_an_even_split_window_without_demand_leaves_the_busier_ones_their_capacity(
    redundancy: str,
) -> None:
    # routing: service with a day that has an hour at 0 rps (scale to zero at night): the
    # quietest window's class mix is undefined (0 rps), and the model's capacity cuts must not
    # keep its zero capacities for the busier windows (every window after it was infeasible)
    cands = [
        _cand(0, "us-east-1", 1.0, (10.0, 6.0), 1, False, 3),
        _cand(1, "us-east-1", 2.5, (30.0, 20.0), 1, True, 3),
    ]
    demands = [(0.0, 0.0), (14.0, 6.0), (35.0, 15.0)]
    base = WindowProblem(
        candidates=cands, classes=CLASSES, demand=demands[-1], headroom=0.2,
        redundancy=redundancy, spot_max_fraction=0.5, min_replicas=0, even=True,
    )
    got = solve_windows(base, demands, tie_break=False)
    for d in demands:
        fresh = solve_window(WindowProblem(**{**base.__dict__, "demand": d}), tie_break=False)
        assert fresh.status == "optimal"
        assert got[d].status == "optimal", (d, got[d])
        assert abs(got[d].cost - fresh.cost) < 1e-6, (d, got[d].nodes, fresh.nodes)
    assert got[demands[0]].cost == 0.0


def test_the_quietest_zone_window_starts_from_the_seed_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zone redundancy: the quietest window, with no quieter plan to scale up, starts from the
    plan over ``seed_pool``'s candidates (per provider, region and capacity type the cheapest
    request/s at the window's mix), that plan's objective its cutoff; the plans are the fresh
    MILP's. Other redundancies start it cold, as before (the seed did not pay there)."""
    from scaleplan.solve.milp import WindowModel
    from scaleplan.solve.milp.window import seed_pool

    cands = [
        _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3),  # $0.100 per rps: east's pick
        _cand(1, "us-east-1", 3.5, (30.0, 0.0), 1, False, 3),  # $0.117
        _cand(2, "us-east-1", 0.5, (10.0, 0.0), 1, True, 3),  # spot: its own group
        _cand(3, "us-west-2", 2.2, (20.0, 0.0), 1, False, 3),  # $0.110: west's pick
        _cand(4, "us-west-2", 1.2, (10.0, 0.0), 1, False, 3),  # $0.120
    ]
    seen: list[tuple[tuple[float, ...], bool, bool]] = []
    solve = WindowModel.solve

    def recording(self: WindowModel, demand: Any, **kw: Any) -> Any:
        start = kw.get("start")
        seen.append((tuple(demand), len(self.barred) > 0, start is not None and start.pooled))
        return solve(self, demand, **kw)

    monkeypatch.setattr(WindowModel, "solve", recording)
    demands = [(42.0,), (57.0,)]
    for redundancy in ("zone", "n+1"):
        p = WindowProblem(
            candidates=cands, classes=CLASSES[:1], demand=(57.0,), headroom=0.2,
            redundancy=redundancy, spot_max_fraction=0.5, even=True,
        )
        assert seed_pool(p, (42.0,)) == {0, 2, 3}
        seen.clear()
        got = solve_windows(p, demands)
        first = [s for s in seen if s[0] == (42.0,)]
        if redundancy == "zone":  # the seed (the pool's MILP), then the whole MILP from it
            assert [(b, pooled) for _, b, pooled in first] == [(True, False), (False, True)]
        else:
            assert [(b, pooled) for _, b, pooled in first] == [(False, False)]
        for d in demands:
            fresh = solve_window(WindowProblem(**{**p.__dict__, "demand": d}))
            assert got[d].status == fresh.status == "optimal"
            assert got[d].nodes == fresh.nodes, (redundancy, d, got[d].nodes, fresh.nodes)


@pytest.mark.parametrize("redundancy", ["zone", "n+1", "none"])
def test_a_start_gives_highs_every_column_of_the_even_model(redundancy: str) -> None:
    """routing: service: a start gives HiGHS theta and the loss column too
    (``highs.start_vector``), the least values the rows allow, so HiGHS only checks it: every
    row of HiGHS's model holds at that vector (a theta or loss one replica short breaks one),
    and the solve from it keeps the optimum."""
    import numpy as np

    from scaleplan.solve.milp import WindowModel
    from scaleplan.solve.milp.highs import push, start_vector

    cands = [
        _cand(0, "us-east-1", 1.0, (10.0, 0.0), 1, False, 3),
        _cand(1, "us-west-2", 0.9, (9.0, 0.0), 2, True, 3),
        _cand(2, "us-west-2", 3.0, (40.0, 0.0), 1, False, 2),
    ]
    p = WindowProblem(
        candidates=cands, classes=CLASSES[:1], demand=(45.0,), headroom=0.2,
        redundancy=redundancy, spot_max_fraction=0.5, even=True,
    )
    model = WindowModel(p)
    best = model.solve((45.0,), time_limit=10)  # builds HiGHS's model
    assert best.status == "optimal"
    h = model._highs

    def rows_hold(x: Any) -> bool:
        lp = h.getLp()  # as this window's push left it
        a = lp.a_matrix_
        act = np.zeros(lp.num_row_)
        for j in range(lp.num_col_):
            for q in range(a.start_[j], a.start_[j + 1]):
                act[a.index_[q]] += a.value_[q] * x[j]
        lo, up = np.array(lp.row_lower_), np.array(lp.row_upper_)
        return bool(np.all(act >= lo - 1e-7) and np.all(act <= up + 1e-7))

    for demand in ((30.0,), (45.0,)):
        sol = model.solve(demand, time_limit=10)
        model._set(demand, None)  # the need rows' coefficients of this window, as a run sees them
        push(model)
        cols, vals = start_vector(model, sol)
        assert len(cols) == h.getNumCol()  # every column
        x = np.zeros(h.getNumCol())
        x[cols] = vals
        assert rows_hold(x), (redundancy, demand)
        short = x.copy()
        short[model.theta.index] -= 1.0  # theta below the need of a type in use
        lost = x.copy()
        if model.lost is not None:
            lost[model.lost.index] -= 1.0  # fewer replicas lost than the plan loses
        assert not rows_hold(short) and (model.lost is None or not rows_hold(lost))
        again = model.solve(demand, time_limit=10, start=sol, cutoff=model.objective(sol))
        assert again.status == "optimal" and again.nodes == sol.nodes
