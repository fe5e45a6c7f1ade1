"""kubernetes.routing: service (even split over all pods) vs gateway-api (capacity-weighted)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from solve_helpers import candidate, catalog, point, profile, row, spec

from scaleplan.errors import InfeasibleError
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.milp import WindowProblem, even_feasible, solve_window

FAST = SolveOptions(alternatives=False, time_limit=30)
GW = {"routing": "gateway-api", "gateway": {"name": "gw", "namespace": "gateway-system"}}


def _cpu_gpu(routing: Mapping[str, object]) -> tuple[object, ...]:
    # a cheap fast GPU node (1000 rps) and a cheap slow CPU node (50 rps): weighted routing
    # tops up 1 GPU with CPU replicas; an even split cannot send 1/R of the traffic to a CPU pod
    sp = spec(traffic={"peak_rps": 1100, "headroom": 0.0}, kubernetes={"image": "example.com/svc:1.0", **routing}, placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "accelerators": ["cpu", "L4"]})
    prof = profile(point("L4", 8, 10, 1000, offered_rps=1000), point("CPU", 1, 10, 50, offered_rps=50, threads=1))
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("c7i.large", None, 0, 0.02, vcpus=2, mem=4.0))
    return sp, prof, cat


def test_weighted_routing_mixes_cpu_and_gpu() -> None:
    sp, prof, _ = _cpu_gpu(GW)
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("c7i.large", None, 0, 0.2, vcpus=2, mem=4.0))
    plan = solve(sp, prof, cat, options=FAST).plan  # type: ignore[arg-type]
    assert {a.instance_type: a.replicas for a in plan.allocations} == {"g6.xlarge": 1, "c7i.large": 2}
    assert plan.cost_per_hour == pytest.approx(1.4)
    shares = {a.instance_type: a.routing["default"] for a in plan.allocations}
    assert shares["g6.xlarge"] > 0.9  # capacity-weighted, not even
    assert any("gateway-api" in line and "gateway-system/gw" in line for line in plan.explanation)


def test_even_routing_does_not_mix_cpu_and_gpu() -> None:
    sp, prof, cat = _cpu_gpu({})
    assert sp.kubernetes.routing == "service"  # type: ignore[attr-defined]
    plan = solve(sp, prof, cat, options=FAST).plan  # type: ignore[arg-type]
    # CPU at $0.02/h: 22 CPU replicas ($0.44) beat 2 GPUs ($2.00); never a mix of both
    types = {a.instance_type for a in plan.allocations}
    assert len(types) == 1
    total = sum(a.replicas for a in plan.allocations)
    for a in plan.allocations:
        assert a.routing["default"] == pytest.approx(a.replicas / total, abs=1e-4)
        assert 1100 / total <= a.capacity_rps_per_replica + 1e-9
    assert any("one Service spreads requests evenly" in line for line in plan.explanation)


def test_even_routing_picks_gpu_when_cpu_is_dear() -> None:
    sp, prof, _ = _cpu_gpu({})
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("c7i.large", None, 0, 0.2, vcpus=2, mem=4.0))
    plan = solve(sp, prof, cat, options=FAST).plan  # type: ignore[arg-type]
    assert [(a.instance_type, a.replicas) for a in plan.allocations] == [("g6.xlarge", 2)]
    sp_gw, _, _ = _cpu_gpu(GW)
    weighted = solve(sp_gw, prof, cat, options=FAST).plan  # type: ignore[arg-type]
    assert {a.instance_type: a.replicas for a in weighted.allocations} == {"g6.xlarge": 1, "c7i.large": 2}
    assert weighted.cost_per_hour < plan.cost_per_hour


def test_even_split_model_matches_hand_count() -> None:
    fast, slow = candidate("fast", 1.0, 100.0), candidate("slow", 0.3, 10.0)
    # D=105: weighted: 1 fast + 1 slow = 1.3; even: 2 fast = 2.0 (11 slow = 3.3; 1 fast + 1
    # slow would send 52.5 rps to the 10 rps pod)
    weighted = solve_window(WindowProblem(candidates=[fast, slow], classes=("default",), demand=(105.0,), headroom=0.0, redundancy="none", spot_max_fraction=None), tie_break=False)
    even = solve_window(WindowProblem(candidates=[fast, slow], classes=("default",), demand=(105.0,), headroom=0.0, redundancy="none", spot_max_fraction=None, even=True), tie_break=False)
    assert weighted.nodes == [1, 1]
    assert even.nodes == [2, 0] and even.cost == pytest.approx(2.0)
    assert even.routing[0] == [1.0, 0.0]


def test_redundancy_under_even_split() -> None:
    fast, slow = candidate("fast", 1.0, 100.0), candidate("slow", 5.0, 10.0, rpn=4)
    # n+1 with an even split: losing the 4-replica node leaves R-4 replicas for D
    p = WindowProblem(candidates=[fast, slow], classes=("default",), demand=(150.0,), headroom=0.0, redundancy="n+1", spot_max_fraction=None, even=True)
    sol = solve_window(p, tie_break=False)
    assert sol.nodes == [3, 0]  # 2 fast cover 150; n+1 needs a third
    assert even_feasible(p, [3, 0], [3, 0], (150.0,))
    assert not even_feasible(p, [2, 0], [2, 0], (150.0,))
    # a slow node in the mix drags every pod's share down to 10 rps: 15 replicas + its 4 lost
    assert not even_feasible(p, [3, 1], [3, 4], (150.0,))
    z = WindowProblem(candidates=[candidate("fast", 1.0, 100.0, zones=3)], classes=("default",), demand=(150.0,), headroom=0.0, redundancy="zone", spot_max_fraction=None, even=True)
    zs = solve_window(z, tie_break=False)
    assert zs.nodes == [3]  # losing a zone (1 node) leaves 2 x 100 >= 150
    assert not even_feasible(z, [2], [2], (150.0,))  # 2 nodes: a zone loss leaves 1


def test_spot_under_even_split() -> None:
    od, sp_ = candidate("od", 1.0, 100.0), candidate("sp", 0.3, 100.0, spot=True)
    p = WindowProblem(candidates=[od, sp_], classes=("default",), demand=(400.0,), headroom=0.0, redundancy="none", spot_max_fraction=0.5, even=True)
    sol = solve_window(p, tie_break=False)
    assert sol.nodes == [2, 2]  # on-demand replicas alone take half of the demand at an even split


def test_even_split_needs_a_type_that_serves_every_class() -> None:
    sp = spec(traffic={"peak_rps": 10, "headroom": 0.0, "classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]})
    prof = profile(point("L4", 1, 10, 100, request_class="a", offered_rps=100), point("A10G", 1, 10, 100, request_class="b", offered_rps=100))
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("g5.xlarge", "A10G", 1, 1.0))
    with pytest.raises(InfeasibleError) as ei:
        solve(sp, prof, cat, options=FAST)
    assert ei.value.reasons[0].code == "routing"
    assert "gateway-api" in ei.value.reasons[0].fix
    sp_gw = spec(traffic={"peak_rps": 10, "headroom": 0.0, "classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}, kubernetes={"image": "example.com/svc:1.0", **GW})
    plan = solve(sp_gw, prof, cat, options=FAST).plan
    assert len(plan.allocations) == 2
