"""The HPA replica floor held exactly (scaleplan/solve/floors.py, ``hold_jointly``): one MILP
over every window, a binary per candidate coupling them, proven optimal. Checked against brute
force: every floor-holding plan uses some set S of allocations, each at its floor or more in
every window, so the optimum is the cheapest, over every subset S of the candidates, of the
per-window optima over S with every member of S held at the floor. Real solver throughout.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scaleplan.inputs import load_inputs
from scaleplan.solve import SolveOptions
from scaleplan.solve.candidates import Candidate, build_candidates
from scaleplan.solve.core import serving_candidates
from scaleplan.solve.floors import (
    _descend,
    below_floor,
    hold_floors,
    hold_jointly,
    used_candidates,
)
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, search_windows

ROOT = Path(__file__).resolve().parents[1]
CURVES = ([600.0, 1500.0, 4400.0, 2500.0], [880.0, 3000.0, 4200.0, 520.0, 1800.0])


def _setup(rps: list[float], **placement: Any) -> tuple[Problem, list[Candidate]]:
    inp = load_inputs(str(ROOT / "examples" / "vision-daily" / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["placement"].update(placement)
    spec = type(inp.spec).model_validate(data)
    pb = Problem.of(spec, SolveOptions(time_limit=60))
    cands, _ = build_candidates(spec, inp.profile, inp.catalog)
    # the five cheapest per node: 31 subsets to enumerate
    cands = sorted(serving_candidates(pb, cands, rps), key=lambda c: c.price)[:5]
    return pb, cands


def _over(pb: Problem, sub: list[Candidate], rps: list[float]) -> Outcome:
    """The cheapest plan over ``sub`` with every member held at the floor in every window."""
    f = pb.replica_floor(rps)
    held = pb.with_floors([(c, f) for c in sub])
    return search_windows(held, sub, rps, deadline=time.perf_counter() + 60, tie_break=False)


def _brute(pb: Problem, cands: list[Candidate], rps: list[float]) -> float:
    best = math.inf
    for n in range(1, len(cands) + 1):
        for sub in itertools.combinations(cands, n):
            t = _over(pb, list(sub), rps)
            if t.solved and not below_floor(pb, t, rps):
                best = min(best, t.cost)
    return best


@pytest.mark.parametrize("rps", CURVES)
@pytest.mark.parametrize("redundancy", ["zone", "n+1", "none"])
def test_floor_plan_is_the_brute_force_optimum(rps: list[float], redundancy: str) -> None:
    pb, cands = _setup(rps, redundancy=redundancy)
    o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
    held = hold_floors(pb, o, rps, time.perf_counter() + 60, cands=cands)
    brute = _brute(pb, cands, rps)
    assert held.status == "optimal" and held.proven
    assert held.bound == pytest.approx(held.cost)
    assert not below_floor(pb, held, rps)  # every allocation in use holds the floor
    # the same cost as enumeration (the tie-break's charges move it by < 1e-4 $/h at most)
    assert held.cost == pytest.approx(brute, abs=1e-4)
    # never dearer than the descent the step used before (a heuristic over o's allocations)
    old = _descend(lambda sub: _over(pb, sub, rps), used_candidates(o), time.perf_counter() + 60)
    assert held.cost <= old.cost + 1e-4
    # and no cheaper than the per-window optimum that idles allocations
    assert held.cost >= o.cost - 1e-9


def _random_case(seed: int) -> tuple[Problem, list[Candidate], list[float]]:
    """A seeded random case: vision-daily (routing: service or inference-pool, spot or not)
    or llm-chat-pool (three classes, inference-pool, under an HPA), a random redundancy,
    min_replicas and curve, and 4-6 serving candidates drawn at random (not the cheapest)."""
    rng = random.Random(seed)
    red = rng.choice(["zone", "n+1", "none"])
    spot = {"allowed": rng.random() < 0.6, "max_fraction": rng.choice([0.3, 0.5, 1.0])}
    if rng.random() < 0.5:
        example, peak = "vision-daily", 4400.0
        over: dict[str, Any] = {"placement": {"redundancy": red, "min_replicas": rng.randint(1, 3)}}
        if rng.random() < 0.5:
            over["placement"]["spot"] = spot
        if rng.random() < 0.5:
            over["kubernetes"] = {"routing": "inference-pool", "gateway": {"name": "g"}}
    else:
        example, peak = "llm-chat-pool", 6.0
        hpa = {"type": "hpa", "hpa": {"metric": "gpu", "target": 70}}
        over = {
            "placement": {"redundancy": red, "min_replicas": rng.randint(1, 2), "spot": spot},
            "kubernetes": {"autoscaler": hpa},
        }
    rps = [round(rng.uniform(0.05, 1.0) * peak, 2) for _ in range(rng.randint(3, 7))]
    inp = load_inputs(str(ROOT / "examples" / example / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    for section, values in over.items():
        data[section].update(values)
    spec = type(inp.spec).model_validate(data)
    pb = Problem.of(spec, SolveOptions(time_limit=60))
    cands, _ = build_candidates(spec, inp.profile, inp.catalog)
    serving = serving_candidates(pb, cands, rps)
    return pb, rng.sample(serving, min(len(serving), rng.randint(4, 6))), rps


# seeds whose per-window plan idles an allocation somewhere (the branch and bound runs); 1095
# replaced 1009, whose quietest-but-one window now gets the tie-break's first plan among two of
# one cost (p4de.24xlarge at 4 replicas per node, not 8), which holds the floor all day; 1101
# replaced 1001 (zone), whose per-window plan idles nothing since zone plans count the nodes
# their zone spread needs (2026-12-07)
SEEDS = (1101, 1002, 1004, 1005, 1095, 1017, 1021, 1035, 1051, 1059, 1067, 1077, 1084, 1087)


@pytest.mark.parametrize("seed", SEEDS)
def test_floor_plan_is_the_brute_force_optimum_on_random_cases(seed: int) -> None:
    pb, cands, rps = _random_case(seed)
    o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
    assert o.solved and below_floor(pb, o, rps)  # the case exercises the search
    held = hold_floors(pb, o, rps, time.perf_counter() + 60, cands=cands)
    brute = _brute(pb, cands, rps)
    assert held.status == "optimal" and held.bound == pytest.approx(held.cost)
    assert not below_floor(pb, held, rps)
    assert held.cost == pytest.approx(brute, abs=1e-4)


@pytest.mark.parametrize("seed", [1017, 1067])  # seeds that stop one after a leaf
def test_a_window_milp_stopped_keeps_the_incumbent(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window MILP of the branch and bound that does not finish (the time limit) after the
    search has a floor-holding plan: that plan, `feasible` against a valid bound, not the
    heuristic's from scratch (before, the incumbent was dropped)."""
    from scaleplan.solve import floors
    from scaleplan.solve.milp import WindowModel, WindowSolution

    pb, cands, rps = _random_case(seed)
    o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
    brute = _brute(pb, cands, rps)
    solve = WindowModel.solve
    seen: list[object] = []

    def stopping(self: WindowModel, demand: Any, **kw: Any) -> WindowSolution:
        if seen and self.held and len(seen) > 2:  # after the search's first leaves
            return WindowSolution(status="unknown", demand=tuple(demand))
        seen.append(demand)
        return solve(self, demand, **kw)

    monkeypatch.setattr(WindowModel, "solve", stopping)
    # the stop counts the window MILPs themselves, not the small ones for their starts
    monkeypatch.setattr(WindowModel, "pool_start", lambda *a, **k: None)
    monkeypatch.setattr(floors, "_descend", lambda *a, **k: pytest.fail("the heuristic ran"))
    held = floors.hold_jointly(pb, o, rps, time.perf_counter() + 60)
    assert held is not None and not below_floor(pb, held, rps)
    assert held.bound <= brute + 1e-4 <= held.cost + 2e-4
    assert held.status == "feasible" or held.cost == pytest.approx(brute, abs=1e-4)


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_a_window_the_search_did_not_prove_is_not_proven_by_the_floor(seed: int) -> None:
    """The search's windows are the root of the branch and bound: one the search stopped
    before proving (`feasible`, a bound below its cost) and that the floor plan keeps leaves
    that plan `feasible`, its bound no higher than that window's."""
    pb, cands, rps = _random_case(seed)
    o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
    brute = _brute(pb, cands, rps)
    # the busiest window as if its MILP had stopped at a 10 % gap
    k = max(range(len(rps)), key=lambda i: rps[i])
    weak = replace(o.sols[k], status="feasible", bound=0.9 * o.sols[k].cost)
    sols = [weak if s is o.sols[k] else s for s in o.sols]
    bound = sum(s.bound if s.bound is not None else s.cost for s in sols) / len(sols)
    o = replace(o, sols=sols, status="feasible", bound=bound, proven=False)
    held = hold_jointly(pb, o, rps, time.perf_counter() + 60)
    assert held is not None and not below_floor(pb, held, rps)
    assert held.bound <= brute + 1e-4 and held.cost >= brute - 1e-4
    kept = any(s is weak or s.nodes == weak.nodes for s in held.sols)
    assert not kept or (held.status == "feasible" and held.bound < held.cost - 1e-6)


def assert_same_floor_plan(
    pb: Any, o: Any, rps: Any, monkeypatch: pytest.MonkeyPatch, where: tuple[Any, str], hook: Any
) -> None:
    """The floors' branch and bound with ``where``'s attribute (a start for HiGHS) replaced by
    ``hook``, and by one that gives no start: the same plan, status and bound."""
    owner, name = where
    with monkeypatch.context() as m:
        m.setattr(owner, name, hook)
        got = hold_jointly(pb, o, rps, time.perf_counter() + 60)
    with monkeypatch.context() as m:
        m.setattr(owner, name, lambda *a, **k: None)
        old = hold_jointly(pb, o, rps, time.perf_counter() + 60)
    assert got is not None and old is not None
    assert (got.status, got.cost, got.bound) == (old.status, old.cost, old.bound)
    assert [s.nodes for s in got.sols] == [s.nodes for s in old.sols]


def test_pool_starts_change_no_floor_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node's window MILPs start from the plan over the candidates its plans use so far
    (``WindowModel.pool_start``) when cheaper than the scaled-up one: only HiGHS's start and
    cutoff change, so every random case gets the same plan, status and bound as without."""
    from scaleplan.solve.milp import WindowModel

    pooled = WindowModel.pool_start
    calls: list[int] = []

    def counting(self: WindowModel, *a: Any, **k: Any) -> Any:
        calls.append(1)
        return pooled(self, *a, **k)

    exercised = 0
    for seed in SEEDS:
        pb, cands, rps = _random_case(seed)
        o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
        calls.clear()
        assert_same_floor_plan(pb, o, rps, monkeypatch, (WindowModel, "pool_start"), counting)
        exercised += bool(calls)
    assert exercised >= len(SEEDS) // 2  # the branch and bound's nodes took such starts


def test_each_window_solve_of_the_floor_search_gets_the_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The floor branch's window solve measured the time left once, then ran the pool start
    (9c26c36), the MILP and its re-solve each with all of it: with 100 s to the deadline and a
    pool start taking 30, the MILP was still given 100 s and the search ran past --time-limit.
    Each run now gets what is left when it starts."""
    from types import SimpleNamespace

    from scaleplan.solve import floorbranch
    from scaleplan.solve.milp.window import WindowSolution

    clock = [0.0]
    limits: list[tuple[str, float]] = []

    class Model:
        def __init__(self) -> None:
            self.held: dict[int, tuple[int, int]] = {}

        def scale_up(self, prev: WindowSolution, d: tuple[float, ...]) -> WindowSolution:
            return WindowSolution(status="feasible", nodes=[2], replicas=[2], cost=2.0)

        def objective(self, s: WindowSolution) -> float:
            return s.cost

        def pool_start(self, d: Any, pool: Any, *, time_limit: float, **_: Any) -> None:
            limits.append(("pool", time_limit))
            clock[0] += 30.0
            return None

        def solve(self, d: Any, *, time_limit: float, **kw: Any) -> WindowSolution:
            limits.append(("cutoff" if kw.get("start") else "room", time_limit))
            clock[0] += 20.0
            return WindowSolution(status="infeasible" if kw.get("start") else "optimal")

    monkeypatch.setattr(floorbranch, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    prev = WindowSolution(status="optimal", nodes=[1], replicas=[1], cost=1.0, demand=(1.0,))
    got = floorbranch._solve(Model(), (2.0,), math.inf, prev, 100.0, {0})  # type: ignore[arg-type]
    assert got.status == "optimal"
    assert limits == [("pool", 100.0), ("cutoff", 70.0), ("room", 50.0)]


def test_first_starts_keep_the_node_rules_and_change_no_floor_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node's first re-solved window starts from its parent's plan under the node's rules,
    scaled up until it serves the window (``floorbranch._first_start``): every such start
    bars what the node bars, holds what it holds at the floor and serves the window, and only
    HiGHS's start and cutoff change, so every random case gets the same plan, status and
    bound as without."""
    from scaleplan.solve import floorbranch

    first = floorbranch._first_start
    starts = 0

    def checked(model: Any, node: Any, need: Any, d: Any, parent: Any) -> Any:
        nonlocal starts
        s = first(model, node, need, d, parent)
        if s is not None:
            starts += 1
            assert all(s.nodes[k] == 0 for k in node.barred)
            assert all(s.nodes[k] >= need[k][0] and s.replicas[k] >= need[k][1] for k in node.held)
            assert model.reroute(s, d) is not None  # it serves the window
        return s

    for seed in SEEDS:
        pb, cands, rps = _random_case(seed)
        o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
        with monkeypatch.context() as m:
            m.setattr(floorbranch, "_first_start", checked)
            got = hold_jointly(pb, o, rps, time.perf_counter() + 60)
        with monkeypatch.context() as m:
            m.setattr(floorbranch, "_first_start", lambda *a, **k: None)
            old = hold_jointly(pb, o, rps, time.perf_counter() + 60)
        assert got is not None and old is not None
        assert (got.status, got.cost, got.bound) == (old.status, old.cost, old.bound)
        assert [s.nodes for s in got.sols] == [s.nodes for s in old.sols]
    assert starts >= len(SEEDS) // 2  # the branch and bound's nodes took such starts
