"""Interchangeable regions (scaleplan/solve/symmetry.py) and the HPA floor's orbital branching
(scaleplan/solve/floorbranch.py): a region and its exact twin make every plan and its mirror
cost the same, so the branch and bound bars a candidate's twin with it; the optimum stays, and
a twin that differs in one coefficient is no twin. Real solver throughout."""

from __future__ import annotations

import dataclasses
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
from scaleplan.solve.search import search_windows, window_problem
from scaleplan.solve.symmetry import region_orbits

ROOT = Path(__file__).resolve().parents[1]
CURVE = [880.0, 3000.0, 4200.0, 520.0, 1800.0]


def _twinned(
    price_bump: float = 0.0, redundancy: str = "zone", twins: int = 1, take: int = 4
) -> tuple[Problem, list[Candidate]]:
    """vision-daily over its ``take`` cheapest candidates and ``twins`` copies of each in
    copied regions (the first copy's last candidate's price raised by ``price_bump``)."""
    inp = load_inputs(str(ROOT / "examples" / "vision-daily" / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["placement"]["redundancy"] = redundancy
    spec = type(inp.spec).model_validate(data)
    assert spec.kubernetes.routing == "service" and spec.kubernetes.autoscaler.type == "hpa"
    pb = Problem.of(spec, SolveOptions(time_limit=60))
    cands, _ = build_candidates(spec, inp.profile, inp.catalog)
    cands = sorted(serving_candidates(pb, cands, CURVE), key=lambda c: c.price)[:take]
    out = list(cands)
    for t in range(twins):
        copy = [
            dataclasses.replace(c, row=c.row.model_copy(update={"region": f"{c.row.region}-{t}"}))
            for c in cands
        ]
        if t == 0:
            copy[-1] = dataclasses.replace(copy[-1], price=copy[-1].price + price_bump)
        out += copy
    return pb, sorted(out, key=lambda c: c.sort_key)


def _branch(
    pb: Problem, cands: list[Candidate], orbital: bool, curve: list[float] = CURVE
) -> tuple[Branched, list[str]]:
    o = search_windows(pb, cands, curve, deadline=time.perf_counter() + 60)
    base, demands = window_problem(pb, o.cands, curve)
    root = dict(zip(demands, o.sols, strict=True))
    got = branch_floors(
        WindowModel(base), demands, pb.replica_floor(curve), root,
        deadline=time.perf_counter() + 60, orbits=None if orbital else {},
    )
    assert got.sols is not None
    plan = [
        f"{o.cands[k].label} x{n}" for s in got.sols.values() for k, n in enumerate(s.nodes) if n
    ]
    return got, plan


def _unmirrored(label: str) -> str:
    """A plan line with the copied region (``_twinned``'s "-0") named as its original."""
    return label.replace("-0/", "/")


def test_twin_regions_are_orbits_and_the_branch_and_bound_skips_the_mirror() -> None:
    pb, cands = _twinned()
    base, _ = window_problem(pb, cands, CURVE)
    orbits = region_orbits(base)
    # every candidate pairs with its twin, itself included, in candidate order
    assert len(orbits) == len(cands)
    for k, orbit in orbits.items():
        a, b = (cands[j] for j in orbit)
        assert k in orbit and len(orbit) == 2
        assert a.row.instance_type == b.row.instance_type and a.row.region + "-0" == b.row.region
    with_rule, plan = _branch(pb, cands, orbital=True)
    without, plan_without = _branch(pb, cands, orbital=False)
    assert with_rule.status == without.status == "optimal"
    assert with_rule.bound == pytest.approx(without.bound, rel=1e-9)
    # the same plan or its mirror (floor sets of the same cost are not ranked by the tie-break:
    # the first found is kept, and the two searches go in another order)
    assert [_unmirrored(x) for x in plan] == [_unmirrored(x) for x in plan_without]
    # the mirror subtree is not searched: fewer window MILPs
    assert len(with_rule.stats) < len(without.stats)


def test_one_coefficient_apart_is_no_twin() -> None:
    pb, cands = _twinned(price_bump=0.001)
    base, _ = window_problem(pb, cands, CURVE)
    orbits = region_orbits(base)
    assert orbits == {}
    with_rule, plan = _branch(pb, cands, orbital=True)
    without, plan_without = _branch(pb, cands, orbital=False)
    assert len(with_rule.stats) == len(without.stats) and plan == plan_without


def test_weighted_routing_has_no_orbits() -> None:
    pb, cands = _twinned()
    base, _ = window_problem(pb, cands, CURVE)
    assert region_orbits(dataclasses.replace(base, even=False)) == {}


@pytest.mark.parametrize("curve", [[600.0, 1500.0, 4400.0, 2500.0], CURVE, [300.0, 5200.0, 900.0]])
@pytest.mark.parametrize("redundancy", ["zone", "n+1", "none"])
def test_orbital_branching_keeps_the_optimum(curve: list[float], redundancy: str) -> None:
    """Two twins of a region (orbits of three), five candidates each: the same status, bound
    and cost with the rule as without it, and never more window MILPs."""
    pb, cands = _twinned(redundancy=redundancy, twins=2, take=5)
    base, _ = window_problem(pb, cands, curve)
    assert {len(o) for o in region_orbits(base).values()} == {3}
    with_rule, _ = _branch(pb, cands, orbital=True, curve=curve)
    without, _ = _branch(pb, cands, orbital=False, curve=curve)
    assert with_rule.status == without.status == "optimal"
    assert with_rule.bound == pytest.approx(without.bound, rel=1e-9)
    assert len(with_rule.stats) <= len(without.stats)


def test_a_node_quota_and_a_gpu_quota_of_one_limit_are_no_twins() -> None:
    """placement.quotas[].max_nodes (UX review 14): a node quota over one region and a GPU
    quota of the same number over its twin are different rules, so the regions are no twins
    (the scopes were compared by members and limit alone)."""
    from scaleplan.solve.milp import QuotaScope

    pb, cands = _twinned()
    base, _ = window_problem(pb, cands, CURVE)
    assert region_orbits(base)
    first = tuple(k for k, c in enumerate(cands) if not c.row.region.endswith("-0"))
    twin = tuple(k for k, c in enumerate(cands) if c.row.region.endswith("-0"))
    same = (QuotaScope("a", 8, first, nodes=True), QuotaScope("b", 8, twin, nodes=True))
    assert region_orbits(dataclasses.replace(base, quotas=same))
    mixed = (QuotaScope("a", 8, first, nodes=True), QuotaScope("b", 8, twin, nodes=False))
    assert region_orbits(dataclasses.replace(base, quotas=mixed)) == {}
