"""kubernetes.routing: service (even split over all pods) vs gateway-api (capacity-weighted)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from solve_helpers import candidate, catalog, point, profile, row, spec

from scaleplan.catalog.files import load_catalog
from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleError
from scaleplan.inputs import shipped_accelerators
from scaleplan.kube.backends import backend_weights, backends
from scaleplan.plan import Plan, read_plan
from scaleplan.profile.model import Profile, read_profile
from scaleplan.render.routing import peak_window, route_weights
from scaleplan.simulate import simulate
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.milp import WindowProblem, even_feasible, solve_window
from scaleplan.solve.problem import mixed_capacity
from scaleplan.spec import Spec, read_spec

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ROOT = Path(__file__).resolve().parents[1]
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
    # 1 GPU + 2 CPUs ($1.40/h) hold 1100 rps exactly, but the route's weights 91/9 send the
    # GPU 1001 rps (headroom 0): a third CPU (weights 87/13) holds it as delivered
    assert {a.instance_type: a.replicas for a in plan.allocations} == {"g6.xlarge": 1, "c7i.large": 3}
    assert plan.cost_per_hour == pytest.approx(1.6)
    shares = {a.instance_type: a.routing["default"] for a in plan.allocations}
    # capacity-weighted, not even (1/4)
    assert shares["g6.xlarge"] == pytest.approx(1000 / 1150, abs=1e-4)
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
    assert {a.instance_type: a.replicas for a in weighted.allocations} == {"g6.xlarge": 1, "c7i.large": 3}
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


def test_spot_max_fraction_holds_as_the_service_delivers_it() -> None:
    """One Service gives every pod the same share: spot pods / pods is the share of requests
    on spot. The rows on theta held f on the capacity the demand needs, so the spare pods of
    n+1 could be spot: 3 on-demand + 2 spot at f = 0.3 put 40 % of the requests on spot."""
    od, sp_ = candidate("od", 1.0, 100.0), candidate("sp", 0.3, 100.0, spot=True)
    p = WindowProblem(candidates=[od, sp_], classes=("default",), demand=(400.0,), headroom=0.0, redundancy="n+1", spot_max_fraction=0.3, even=True)
    sol = solve_window(p, tie_break=False)
    assert sol.nodes == [4, 1] and sol.cost == pytest.approx(4.3)
    assert sol.routing[0][1] == pytest.approx(0.2)  # 1 of 5 pods: 20 % of the requests
    assert not even_feasible(p, [3, 2], [3, 2], (400.0,))  # 40 % on spot
    assert not even_feasible(p, [4, 2], [4, 2], (400.0,))  # 33.3 % (UX review 3, #4)
    assert even_feasible(p, [4, 1], [4, 1], (400.0,))
    # pods of other shapes behind the Service count too: 2 slow on-demand pods dilute the spot
    slow = candidate("slow", 0.1, 100.0, rpn=2)
    q = WindowProblem(candidates=[od, sp_, slow], classes=("default",), demand=(400.0,), headroom=0.0, redundancy="n+1", spot_max_fraction=0.3, even=True)
    assert even_feasible(q, [3, 2, 1], [3, 2, 2], (400.0,))  # 2 of 7 pods on spot: 28.6 %
    assert not even_feasible(q, [2, 2, 1], [2, 2, 2], (400.0,))  # 2 of 6: 33.3 %


def test_service_plan_keeps_spot_requests_within_max_fraction() -> None:
    """The whole solve, and simulate's count of requests per allocation, under routing: service."""
    sp = spec(traffic={"peak_rps": 400, "headroom": 0.0}, placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "redundancy": "n+1", "spot": {"allowed": True, "max_fraction": 0.3}})
    prof = profile(point("L4", 8, 10, 100, offered_rps=100))
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.3))
    plan = solve(sp, prof, cat, options=FAST).plan
    reps = {a.capacity_type: a.replicas for a in plan.allocations}
    assert reps == {"on-demand": 4, "spot": 1}  # before: 3 + 2 (40 % of the requests on spot)
    assert plan.cost_per_hour == pytest.approx(4.3)


def test_even_split_needs_a_type_that_serves_every_class() -> None:
    sp = spec(traffic={"peak_rps": 10, "headroom": 0.0, "classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]})
    prof = profile(point("L4", 1, 10, 100, request_class="a", offered_rps=100), point("A10G", 1, 10, 100, request_class="b", offered_rps=100))
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("g5.xlarge", "A10G", 1, 1.0))
    with pytest.raises(InfeasibleError) as ei:
        solve(sp, prof, cat, options=FAST)
    assert ei.value.reasons[0].code == "routing"
    assert "gateway-api" in ei.value.reasons[0].fix
    # an HTTPRoute cannot tell classes apart either: the L4 backend would get its weight's share
    # of class b, which it does not serve (before, a plan of 1 L4 for a + 1 A10G for b)
    sp_gw = spec(traffic={"peak_rps": 10, "headroom": 0.0, "classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}, kubernetes={"image": "example.com/svc:1.0", **GW})
    with pytest.raises(InfeasibleError) as ei:
        solve(sp_gw, prof, cat, options=FAST)
    assert ei.value.reasons[0].code == "routing"
    assert "cannot tell request classes apart" in ei.value.reasons[0].message


# --- gateway-api over an hourly curve: the HTTPRoute's weights are static (peak mix) ---------

HOURLY = [1.2, 1.0, 0.9, 0.8, 0.8, 1.0, 1.5, 2.4, 3.6, 4.8, 5.4, 5.8, 5.6, 5.7, 6.0, 6.0, 5.6, 4.9, 4.0, 3.3, 2.8, 2.3, 1.9, 1.5]


def _peak_shares(plan: Plan) -> dict[str, float]:
    """Each allocation's traffic share as the renderer weights it (peak replicas x capacity)."""
    pw = peak_window(plan)
    cap = {a.name: a.replicas_per_window[pw] * a.capacity_rps_per_replica for a in plan.allocations}
    tot = sum(cap.values())
    return {k: v / tot for k, v in cap.items()}


def test_gateway_hourly_llm_chat_plans_with_static_weights(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = ROOT / "examples" / "llm-chat"
    text = (src / "spec.yaml").read_text(encoding="utf-8")
    assert "  peak_rps: 6\n" in text
    (tmp_path / "spec.yaml").write_text(text.replace("  peak_rps: 6\n", f"  hourly_rps: {HOURLY}\n"), encoding="utf-8")
    shutil.copy(src / "profile.yaml", tmp_path / "profile.yaml")
    cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out"), "--no-manifests", "--no-alternatives"])
    plan = read_plan(tmp_path / "out" / "plan.yaml")
    sp, _ = read_spec(tmp_path / "spec.yaml")
    prof = read_profile(tmp_path / "profile.yaml")
    cands, _ = build_candidates(sp, prof, load_catalog([]))
    mix = {(c.row.region, c.row.instance_type, c.capacity_type): mixed_capacity(sp, c) for c in cands}
    weights = backend_weights(plan)
    shares = _peak_shares(plan)
    h = plan.demand.headroom
    by_name = {a.name: a for a in plan.allocations}
    assert all(max(a.replicas_per_window) > 0 for a in plan.allocations)
    # a backend Service (an allocation, or the allocations of one serving shape) keeps its
    # peak share all day; its pods, of any of its allocations, share it evenly
    for b in backends(plan):
        assert weights[b.service] > 0, b  # no pods without traffic
        members = [by_name[m] for m in b.members]
        share = sum(shares[m] for m in b.members)
        for w, d in enumerate(plan.demand.rps):
            caps = [(a.replicas_per_window[w], mix[a.region, a.instance_type, a.capacity_type] or 0.0, a.replicas_per_node) for a in members]
            cap = sum(r * m for r, m, _ in caps)
            assert cap >= share * d * (1 + h) - 1e-9, (b, w)
            # n+1 under static weights: the backend still carries its share after losing a node
            assert cap - max(q * m for r, m, q in caps if r) >= share * d - 1e-9, (b, w)
    # honest reporting: the per-window weighted optimum is a lower bound the plan does not reach
    assert plan.status == "feasible" and plan.gap is not None and 0 < plan.gap < 1
    # its allocations are all behind one backend Service: the explanation does not describe a
    # per-type split that the route does not have
    assert len(backends(plan)) == 1
    line = next(x for x in plan.explanation if x.startswith("Routing: gateway-api"))
    assert "One backend Service takes every request in every hour" in line
    # the gap as the headline states it, (cost - bound) / cost, not a second figure
    assert f"gap {plan.gap:.2%} to the per-window optimum" in line and "more than" not in line
    assert "HTTPRoute weights are fixed at the peak mix" not in line
    res = simulate(plan, accelerators=ACCS)
    assert res.policy == "static-weights"
    assert res.meets_slo, res.attainment


def _hourly(routing: Mapping[str, object], **placement: object) -> tuple[Spec, Profile, Catalog]:
    # peak 1050 rps for 12 hours, 300 rps for 12: a 1000 rps GPU ($1) topped up by a 100 rps CPU ($0.2)
    sp = spec(traffic={"peak_rps": None, "hourly_rps": [1050.0] * 12 + [300.0] * 12, "headroom": 0.0}, kubernetes={"image": "example.com/svc:1.0", **routing}, placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "accelerators": ["cpu", "L4"], **placement})
    prof = profile(point("L4", 8, 10, 1000, offered_rps=1000), point("CPU", 1, 10, 100, offered_rps=100, threads=1))
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("c7i.large", None, 0, 0.2, vcpus=2, mem=4.0))
    return sp, prof, cat


def test_gateway_hourly_mix_keeps_its_weights_all_day() -> None:
    sp, prof, cat = _hourly(GW)
    plan = solve(sp, prof, cat, options=FAST).plan
    # per-window optimum: 1 GPU + 1 CPU at 1050, 3 CPUs at 300 ($0.90/h on average); with the
    # weights fixed at 91/9 both types keep serving at 300 rps: 1 + 1 all day ($1.20/h); one
    # type alone costs more (2 GPUs at peak: $1.50/h; 11 CPUs: $1.40/h)
    reps = {a.instance_type: a.replicas_per_window for a in plan.allocations}
    assert reps == {"g6.xlarge": (1,) * 24, "c7i.large": (1,) * 24}
    assert route_weights(plan) == {a.name: (91 if a.instance_type == "g6.xlarge" else 9) for a in plan.allocations}
    assert plan.cost_per_hour == pytest.approx(1.2)
    assert plan.status == "feasible" and plan.gap == pytest.approx(0.25, abs=1e-6)
    routing = (x for x in plan.explanation if x.startswith("Routing:"))
    line = next(x for x in routing if "HTTPRoute weights" in x)
    assert "(g6.xlarge 91%, c7i.large 9%)" in line
    # the headline's gap, (1.20 - 0.90) / 1.20; it read "33.3% more" ((1.20 - 0.90) / 0.90)
    assert "gap 25.00% to the day if weights could change hourly ($1.20/h against $0.90/h)" in line
    for a in plan.allocations:  # what render writes: its integer weight, 91 or 9
        assert a.routing["default"] == pytest.approx(route_weights(plan)[a.name] / 100, abs=1e-9)


def test_gateway_hourly_n_plus_1_with_static_weights() -> None:
    sp, prof, cat = _hourly(GW, redundancy="n+1")
    plan = solve(sp, prof, cat, options=FAST).plan
    shares = _peak_shares(plan)
    for a in plan.allocations:
        for w, d in enumerate(plan.demand.rps):
            assert (a.replicas_per_window[w] - a.replicas_per_node) * a.capacity_rps_per_replica >= shares[a.name] * d - 1e-9
    # a 91/9 mix needs a spare node of EACH type in every hour (2 + 2: $2.40/h); one GPU type
    # needs 3 at peak and 2 off-peak ($2.50/h); CPUs alone: 12 at peak, 4 off-peak ($1.60/h)
    assert [(a.instance_type, a.replicas_per_window[0], a.replicas_per_window[23]) for a in plan.allocations] == [("c7i.large", 12, 4)]
    assert plan.cost_per_hour == pytest.approx(1.6)
    # the weighted per-window optimum is the same day: each backend absorbs its own node loss
    # (static weights within a window too), so at peak 2 GPU + 1 CPU ($2.20, n+1 summed over
    # both types before) needs a second CPU: $2.40, as 12 CPUs; 4 CPUs off-peak ($0.80)
    assert plan.status == "optimal" and plan.gap == 0.0


def test_gateway_flat_curve_and_service_routing_keep_per_window_plans() -> None:
    sp, prof, cat = _hourly(GW)
    flat = spec(traffic={"peak_rps": None, "hourly_rps": [1050.0] * 24, "headroom": 0.0}, kubernetes=sp.kubernetes.model_dump(exclude_none=True), placement=sp.placement.model_dump(exclude_none=True))
    plan = solve(flat, prof, cat, options=FAST).plan
    assert plan.status == "optimal" and plan.gap == 0.0
    assert not any("HTTPRoute weights are fixed" in x for x in plan.explanation)
    # under KEDA: an HPA's floor would keep the GPU the quiet hours' plan drops (solve/floors.py)
    sp_svc, _, _ = _hourly({"autoscaler": "keda-prometheus"})
    svc = solve(sp_svc, prof, cat, options=FAST).plan
    assert svc.status == "optimal" and not any("HTTPRoute weights are fixed" in x for x in svc.explanation)
