"""Region exchanges (scaleplan/solve/regionswap.py) in the HPA floor's branch and bound
(scaleplan/solve/floorbranch.py): under zone redundancy with one Service, a plan whose
candidates in two regions all have cheaper (or equally priced, earlier) twins in the other is
beaten by the plan with the regions' counts traded, so the tree cuts it. Checked against the
same tree without the rows and against brute force; real solver throughout."""

from __future__ import annotations

import dataclasses
import random
import time
from pathlib import Path

import pytest

from scaleplan.inputs import load_inputs
from scaleplan.solve import SolveOptions
from scaleplan.solve.candidates import Candidate, build_candidates
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.floorbranch import Branched, branch_floors
from scaleplan.solve.milp import WindowModel
from scaleplan.solve.problem import Problem
from scaleplan.solve.regionswap import RegionSwaps
from scaleplan.solve.search import search_windows, window_problem

ROOT = Path(__file__).resolve().parents[1]
CURVES = ([880.0, 3000.0, 4200.0, 520.0, 1800.0], [600.0, 1500.0, 4400.0, 2500.0])


def _copied(seed: int, take: int = 3, spot: bool = False) -> tuple[Problem, list[Candidate]]:
    """vision-daily under zone redundancy over its ``take`` cheapest candidates and a copy
    of each in a copied region, each copy's price scaled by 0.9, 1.0 or 1.1 at random."""
    rng = random.Random(seed)
    inp = load_inputs(str(ROOT / "examples" / "vision-daily" / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["placement"]["redundancy"] = "zone"
    if spot:
        data["placement"]["spot"] = {"allowed": True, "max_fraction": 0.5}
    spec = type(inp.spec).model_validate(data)
    assert spec.kubernetes.routing == "service" and spec.kubernetes.autoscaler.type == "hpa"
    pb = Problem.of(spec, SolveOptions(time_limit=60))
    cands, _ = build_candidates(spec, inp.profile, inp.catalog)
    cands = sorted(serving_candidates(pb, cands, CURVES[0]), key=lambda c: c.price)[:take]
    copies = [
        dataclasses.replace(
            c,
            row=c.row.model_copy(update={"region": f"{c.row.region}-x"}),
            price=round(c.price * rng.choice((0.9, 1.0, 1.1)), 6),
        )
        for c in cands
    ]
    return pb, sorted([*cands, *copies], key=lambda c: c.sort_key)


def _branch(
    pb: Problem, cands: list[Candidate], curve: list[float], swaps: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Branched, WindowModel]:
    o = search_windows(pb, cands, curve, deadline=time.perf_counter() + 60)
    base, demands = window_problem(pb, o.cands, curve)
    root = dict(zip(demands, o.sols, strict=True))
    model = WindowModel(base)
    with monkeypatch.context() as m:
        if not swaps:
            m.setattr(RegionSwaps, "broken", lambda self, nodes: None)
        got = branch_floors(
            model, demands, pb.replica_floor(curve), root, deadline=time.perf_counter() + 60
        )
    assert got.sols is not None
    return got, model


def test_twins_are_the_cheaper_or_earlier_copies_in_another_region() -> None:
    pb, cands = _copied(3, take=4)
    base, _ = window_problem(pb, cands, CURVES[0])
    swaps = RegionSwaps(base)
    assert swaps.twin  # the copies pair up with their originals
    for (k, region), t in swaps.twin.items():
        a, b = cands[k], cands[t]
        assert (a.row.instance_type, a.capacity_type) == (b.row.instance_type, b.capacity_type)
        assert a.row.region != b.row.region and t in swaps.regions[region]
        assert (b.price, t) < (a.price, k)
    # a plan that uses one candidate alone in its region and nothing in the other, where the
    # other holds its twin, breaks a row; its twin's plan breaks none of those it would
    k, region = next(iter(swaps.twin))
    nodes = [0] * len(cands)
    nodes[k] = 2
    u, rest = swaps.broken(nodes) or ((), ())
    assert u == (k,) and swaps.twin[(k, region)] in rest
    nodes[k], nodes[swaps.twin[(k, region)]] = 0, 2
    assert swaps.broken(nodes) is None or swaps.broken(nodes)[0] != (swaps.twin[(k, region)],)


def test_no_twins_without_zone_redundancy_or_with_a_quota() -> None:
    pb, cands = _copied(3)
    base, _ = window_problem(pb, cands, CURVES[0])
    assert RegionSwaps(base).twin
    assert not RegionSwaps(dataclasses.replace(base, redundancy="n+1")).twin
    assert not RegionSwaps(dataclasses.replace(base, even=False)).twin
    # an exact copy of every region is an orbit (symmetry.region_orbits): no rows then
    same = [dataclasses.replace(c, price=c.price) for c in cands]
    originals = [c for c in same if not c.row.region.endswith("-x")]
    twins = [
        dataclasses.replace(c, row=c.row.model_copy(update={"region": f"{c.row.region}-x"}))
        for c in originals
    ]
    mirrored, _ = window_problem(pb, sorted([*originals, *twins], key=lambda c: c.sort_key),
                                 CURVES[0])
    assert not RegionSwaps(mirrored).twin


@pytest.mark.parametrize("seed", range(8))
def test_the_rows_keep_the_optimum(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random copied regions (prices 0.9-1.1x), two curves, spot or not: the same status and
    cost with the rows as without, never more window MILPs overall across the cases."""
    pb, cands = _copied(seed, take=3 + seed % 2, spot=seed % 3 == 0)
    curve = CURVES[seed % 2]
    got, _ = _branch(pb, cands, curve, True, monkeypatch)
    old, _ = _branch(pb, cands, curve, False, monkeypatch)
    assert got.status == old.status == "optimal"
    assert got.bound == pytest.approx(old.bound, rel=1e-9)
    cost = sum(s.cost for s in got.sols.values())
    assert cost == pytest.approx(sum(s.cost for s in old.sols.values()), rel=1e-9)


def test_the_rows_cut_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case where plans over the dearer copies are cut: rows are added and the branch and
    bound solves fewer window MILPs than without them, for the same optimum."""
    fired = 0
    fewer = 0
    for seed in range(8):
        pb, cands = _copied(seed, take=3 + seed % 2, spot=seed % 3 == 0)
        curve = CURVES[seed % 2]
        got, model = _branch(pb, cands, curve, True, monkeypatch)
        old, _ = _branch(pb, cands, curve, False, monkeypatch)
        assert got.bound == pytest.approx(old.bound, rel=1e-9)
        fired += bool(model.swap_rows)
        fewer += len(got.stats) < len(old.stats)
    assert fired >= 2 and fewer >= 1


@pytest.mark.parametrize("seed", [0, 5])
def test_the_rows_keep_the_brute_force_optimum(seed: int) -> None:
    """Every subset of the six candidates held at the floor (tests/test_solve_floors_exact's
    enumeration): the floors' plan with the rows costs the least of them."""
    from test_solve_floors_exact import _brute

    from scaleplan.solve.floors import hold_jointly

    pb, cands = _copied(seed, take=3)
    curve = CURVES[seed % 2]
    o = search_windows(pb, cands, curve, deadline=time.perf_counter() + 60)
    held = hold_jointly(pb, o, curve, time.perf_counter() + 60)
    assert held is not None and held.status == "optimal"
    assert held.cost == pytest.approx(_brute(pb, cands, curve), abs=1e-6)


def test_no_rows_with_cbc() -> None:
    """CBC solves the window MILPs from PuLP's model, which the rows (HiGHS's) are not in:
    the tree runs without them, to the same optimum."""
    pb, cands = _copied(0, take=3)
    pb = dataclasses.replace(pb, options=dataclasses.replace(pb.options, solver="cbc"))
    curve = CURVES[0]
    o = search_windows(pb, cands, curve, deadline=time.perf_counter() + 60)
    base, demands = window_problem(pb, o.cands, curve)
    assert RegionSwaps(base).twin and not RegionSwaps(base, highs=False).twin
    root = dict(zip(demands, o.sols, strict=True))
    model = WindowModel(base, solver="cbc")
    got = branch_floors(model, demands, pb.replica_floor(curve), root,
                        deadline=time.perf_counter() + 60)
    assert got.status == "optimal" and not model.swap_rows
