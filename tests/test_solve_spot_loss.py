"""placement.spot.survive_loss: the on-demand replicas alone carry demand after a spot loss."""

from __future__ import annotations

import functools
import itertools
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from solve_helpers import candidate, catalog, delivered_utilization, point, profile, row, spec

from scaleplan.errors import InfeasibleError
from scaleplan.inputs import shipped_accelerators
from scaleplan.kube.backends import backend_weights, backends, losable, spot_loss_share
from scaleplan.plan import Plan, read_plan
from scaleplan.simulate import simulate
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.milp import WindowProblem, even_feasible, solve_window
from scaleplan.spec import Spec

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

FAST = SolveOptions(alternatives=False)
ROOT = Path(__file__).resolve().parents[1]
PEAK = 1000.0
# one L4 replica serves 377.4 rps at batch 8 (the dynamic-batching queueing model at p95 100 ms)
ONE_SHAPE = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.3))
TWO_SHAPES = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.5), row("g5.xlarge", "A10G", 1, 3.0, spot=0.2))
PROFILE = profile(point("L4", 8, 20.0, 400.0), point("A10G", 8, 20.0, 500.0))


def _spec(
    routing: str, survive: bool, traffic: dict[str, Any] | None = None, *, autoscaler: str = "hpa",
    **placement: Any,
) -> Spec:
    k8s: dict[str, Any] = {
        "image": "example.com/svc:1.0", "routing": routing, "autoscaler": autoscaler
    }
    if routing != "service":
        k8s["gateway"] = {"name": "gw"}
    spot = {"allowed": True, "max_fraction": 0.5, "survive_loss": survive}
    return spec(
        traffic=traffic or {"peak_rps": PEAK, "headroom": 0.2},
        slo={"latency_ms": 100, "percentile": 95},
        placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "spot": spot, **placement},
        kubernetes=k8s,
    )


def _on_demand_rps(plan: Plan, w: int = 0) -> float:
    return sum(a.replicas_per_window[w] * a.capacity_rps_per_replica for a in plan.allocations if a.capacity_type == "on-demand")


def test_the_spec_field_defaults_off() -> None:
    assert spec().placement.spot.survive_loss is False
    assert "survive_loss" in Spec.model_json_schema()["$defs"]["Spot"]["properties"]


@pytest.mark.parametrize("routing", ["service", "inference-pool", "gateway-api"])
def test_survive_loss_sizes_on_demand_for_the_whole_demand(routing: str) -> None:
    """f = 0.5, h = 0.2: the on-demand replicas hold 60 % of the peak with headroom, short of the
    demand; with survive_loss they carry all of it, at a higher price."""
    without = solve(_spec(routing, False), PROFILE, ONE_SHAPE, options=FAST).plan
    with_ = solve(_spec(routing, True), PROFILE, ONE_SHAPE, options=FAST).plan
    assert _on_demand_rps(without) < PEAK
    assert _on_demand_rps(with_) >= PEAK
    assert any(a.capacity_type == "spot" and a.replicas for a in with_.allocations)  # spot still used
    assert with_.cost_per_hour > without.cost_per_hour
    assert with_.cost_per_hour == pytest.approx(3 * 1.0 + 1 * 0.3)
    line = next(x for x in with_.explanation if x.startswith("Spot loss"))
    assert f"${with_.cost_per_hour - without.cost_per_hour:.2f}/h more than without" in line
    assert "spot.survive_loss: on-demand replicas alone carry the peak (3 of 4 replicas on-demand)" in with_.binding_constraints
    assert not any(x.startswith("Spot loss") for x in without.explanation)


@pytest.mark.parametrize("routing", ["service", "gateway-api"])
def test_simulated_spot_loss_holds_only_with_survive_loss(routing: str) -> None:
    without = solve(_spec(routing, False), PROFILE, ONE_SHAPE, options=FAST).plan
    with_ = solve(_spec(routing, True), PROFILE, ONE_SHAPE, options=FAST).plan
    lost = simulate(without, duration_s=20, seed=3, failure="spot", accelerators=ACCS).failure
    kept = simulate(with_, duration_s=20, seed=3, failure="spot", accelerators=ACCS).failure
    assert lost is not None and kept is not None
    assert not lost.holds and lost.attainment_during is not None and lost.attainment_during < 0.5
    assert kept.holds and kept.attainment_during is not None and kept.attainment_during > 0.99


def test_even_feasible_applies_the_rule() -> None:
    od, sp = candidate("od", 1.0, 100.0), candidate("sp", 0.3, 100.0, spot=True)
    base = {"candidates": [od, sp], "classes": ("default",), "demand": (400.0,), "headroom": 0.2, "redundancy": "none", "spot_max_fraction": 0.5, "even": True}
    plain, survive = WindowProblem(**base), WindowProblem(**base, survive_spot_loss=True)
    assert even_feasible(plain, [3, 2], [3, 2], (400.0,))
    assert not even_feasible(survive, [3, 2], [3, 2], (400.0,))  # 300 rps on-demand < 400
    assert even_feasible(survive, [4, 1], [4, 1], (400.0,))
    assert solve_window(survive).replicas == [4, 1]
    # max_fraction 1 alone asks nothing of on-demand; survive_loss still does
    loose = WindowProblem(**{**base, "spot_max_fraction": 1.0}, survive_spot_loss=True)
    assert solve_window(loose).replicas == [4, 1]


def test_gateway_group_without_on_demand_gets_no_share() -> None:
    """Two spot-priced candidates of different backend groups: the cheap spot one sits alone in
    its group, so with survive_loss it gets no traffic; in the on-demand one's group it may."""
    od, sp = candidate("od", 1.0, 100.0), candidate("sp", 0.3, 100.0, spot=True)
    base = {"candidates": [od, sp], "classes": ("default",), "demand": (400.0,), "headroom": 0.2, "redundancy": "none", "spot_max_fraction": 1.0, "survive_spot_loss": True}
    apart = solve_window(WindowProblem(**base, backend_groups=(0, 1)))
    assert apart.replicas == [5, 0] and apart.routing == [[1.0, 0.0]]
    together = solve_window(WindowProblem(**base, backend_groups=(0, 0)))
    assert together.replicas == [4, 1] and together.routing[0][1] > 0


def test_gateway_plan_keeps_no_all_spot_backend() -> None:
    """Cheap A10G spot next to L4: without the rule the plan routes 39 % to an all-spot backend;
    with it every backend has on-demand members that carry its share (the L4 spot replica,
    otherwise pruned by the cheaper, faster A10G spot, is kept: pruning stays within a shape)."""
    without = solve(_spec("gateway-api", False), PROFILE, TWO_SHAPES, options=FAST).plan
    assert spot_loss_share(without) > 0.3
    with_ = solve(_spec("gateway-api", True), PROFILE, TWO_SHAPES, options=FAST).plan
    assert spot_loss_share(with_) == 0.0
    assert not any(losable(with_, b) for b in backends(with_))
    assert with_.cost_per_hour == pytest.approx(3 * 1.0 + 0.5)
    assert not any("static weights send" in w for w in with_.warnings)


def test_gateway_hourly_static_weights_survive_every_window() -> None:
    hourly = {"peak_rps": None, "hourly_rps": [300.0] * 8 + [PEAK] * 8 + [600.0] * 8, "headroom": 0.2}
    plan = solve(_spec("gateway-api", True, hourly), PROFILE, TWO_SHAPES, options=FAST).plan
    assert spot_loss_share(plan) == 0.0
    for w, d in enumerate(plan.demand.rps):
        assert _on_demand_rps(plan, w) >= d  # one backend: its on-demand members carry all of it
    f = simulate(plan, duration_s=20, seed=3, failure="spot", accelerators=ACCS).failure
    assert f is not None and f.holds


def test_diagnosis_names_survive_loss() -> None:
    """On-demand capacity capped by a quota (the A10G rows have only spot prices)."""
    g5 = row("g5.xlarge", "A10G", 1, 1.0, spot=0.3).model_copy(update={"price_ondemand": None})
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.3), g5)
    quota = [{"provider": "aws", "family": "g6", "max_gpus": 2}]
    solve(_spec("service", False, quotas=quota), PROFILE, cat, options=FAST)  # a plan without it
    with pytest.raises(InfeasibleError) as err:
        solve(_spec("service", True, quotas=quota), PROFILE, cat, options=FAST)
    first = err.value.reasons[0]
    assert first.code == "spot" and "placement.spot.survive_loss" in first.message
    assert "survive_loss: false" in first.fix


def test_pool_rule_is_joint_over_classes() -> None:
    """inference-pool, two classes on the same replicas: the on-demand replicas must carry both
    classes together (300 + 300 rps at 100 rps each: 6 replicas), not each class alone (3)."""
    def two(c: Any) -> Any:
        return replace(c, points=(("a", c.points[0][1]), ("b", c.points[0][1])))

    od, sp = two(candidate("od", 1.0, 100.0)), two(candidate("sp", 0.3, 100.0, spot=True))
    p = WindowProblem(candidates=[od, sp], classes=("a", "b"), demand=(300.0, 300.0), headroom=0.0, redundancy="none", spot_max_fraction=1.0, survive_spot_loss=True)
    assert solve_window(p).replicas == [6, 0]
    assert solve_window(replace(p, survive_spot_loss=False)).replicas == [0, 6]


def test_pool_hourly_every_window_survives() -> None:
    hourly = {"peak_rps": None, "hourly_rps": [300.0] * 8 + [PEAK] * 8 + [600.0] * 8, "headroom": 0.2}
    plan = solve(_spec("inference-pool", True, hourly), PROFILE, ONE_SHAPE, options=FAST).plan
    for w, d in enumerate(plan.demand.rps):
        assert _on_demand_rps(plan, w) >= d
    assert any(a.capacity_type == "spot" and a.replicas for a in plan.allocations)


def test_gateway_single_class_n_plus_1_is_absorbed_per_backend() -> None:
    """n+1, one class: the static HTTPRoute keeps sending a backend its share after it loses a
    node, so its own members must absorb the loss (the exact single-class rows per backend
    group). Before, the plan mixed 3 A10G + 1 L4 and sized n+1 on the capacity of both: losing
    an A10G node left only 43 % of the requests during the outage within the SLO."""
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("g5.xlarge", "A10G", 1, 1.2))

    def plan(routing: str) -> Plan:
        sp = _spec(routing, False, {"peak_rps": 1300, "headroom": 0.2}, redundancy="n+1", spot={"allowed": False})
        return solve(sp, PROFILE, cat, options=FAST).plan

    gw, pool = plan("gateway-api"), plan("inference-pool")
    f = simulate(gw, duration_s=20, seed=3, failure="node", accelerators=ACCS).failure
    assert f is not None and f.holds and f.attainment_during is not None and f.attainment_during > 0.99
    # the endpoint picker moves a lost node's load anywhere: the pool keeps the cheaper mix
    assert pool.cost_per_hour == pytest.approx(3 * 1.2 + 1.0) and len(pool.allocations) == 2
    assert gw.cost_per_hour == pytest.approx(4 * 1.2)
    fp = simulate(pool, duration_s=20, seed=3, failure="node", accelerators=ACCS).failure
    assert fp is not None and fp.holds


def test_one_serving_shape_reports_one_operating_point_with_several_classes() -> None:
    """With two request classes the weighted routing may send class a mostly to the spot
    allocation and class b mostly to the on-demand one of the same shape; both report the
    operating point of the class their shape carries most, so render keeps them behind one
    Service (as the solver's serving-shape groups assumed) and neither is losable alone."""
    prof = profile(
        point("L4", 8, 20.0, 400.0, request_class="a"),
        point("L4", 8, 40.0, 200.0, request_class="b"),
    )
    traffic = {"peak_rps": 600.0, "headroom": 0.2, "classes": [
        {"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}
    plan = solve(_spec("gateway-api", True, traffic), prof, ONE_SHAPE, options=FAST).plan
    used = [a for a in plan.allocations if a.replicas]
    assert {a.capacity_type for a in used} == {"spot", "on-demand"}
    assert len({a.operating_point for a in used}) == 1
    assert len({a.capacity_rps_per_replica for a in used}) == 1
    (backend,) = backends(plan)
    assert len(backend.members) == 2 and not losable(plan, backend)
    assert spot_loss_share(plan) == 0.0


@pytest.mark.parametrize("survive", [False, True])
def test_gateway_hourly_one_serving_shape_keeps_the_per_window_plan(survive: bool) -> None:
    """Spot and on-demand L4 share one backend Service (weight 100): weights fixed over the
    day bind nothing, so each window's plan is as cheap as the window planned alone. (The
    static re-plan sized each type for its own peak share in every hour: +6 % without
    survive_loss, +10 % with it.) Under KEDA: an HPA's floor would keep the spot pods the
    quiet hours' plans drop (solve/floors.py)."""
    curve = [300.0] * 8 + [PEAK] * 8 + [600.0] * 8
    hourly = {"peak_rps": None, "hourly_rps": curve, "headroom": 0.2}
    keda = "keda-prometheus"
    sp = _spec("gateway-api", survive, hourly, autoscaler=keda)
    plan = solve(sp, PROFILE, ONE_SHAPE, options=FAST).plan
    alone = {
        d: solve(_spec("gateway-api", survive, {"peak_rps": d, "headroom": 0.2}), PROFILE,
                 ONE_SHAPE, options=FAST).plan.cost_per_hour
        for d in set(curve)
    }
    assert len(backends(plan)) == 1
    assert plan.cost_per_hour == pytest.approx(sum(alone[d] for d in curve) / len(curve))
    assert plan.status == "optimal"
    assert not any("HTTPRoute weights are fixed" in x for x in plan.explanation)
    if survive:
        for w, d in enumerate(plan.demand.rps):
            assert _on_demand_rps(plan, w) >= d


def test_gateway_hourly_one_serving_shape_keeps_spot_pods_within_max_fraction() -> None:
    """One backend Service spreads its requests evenly over its pods, spot ones included: the
    per-window plan is kept only when spot pods hold at most spot.max_fraction of the pods in
    every window. max_fraction 0 with min_replicas 2: the weighted optimum tops up the second
    replica off-peak with a spot one (half of the requests on spot); not deployable."""
    hourly = {"peak_rps": None, "hourly_rps": [300.0] * 8 + [PEAK] * 16, "headroom": 0.2}
    sp = _spec("gateway-api", False, hourly, min_replicas=2)
    spot = sp.placement.spot.model_copy(update={"max_fraction": 0.0})
    sp = sp.model_copy(update={"placement": sp.placement.model_copy(update={"spot": spot})})
    plan = solve(sp, PROFILE, ONE_SHAPE, options=FAST).plan
    for a in plan.allocations:
        assert a.capacity_type == "on-demand" or not any(a.replicas_per_window), a


def test_gateway_hourly_plan_is_no_dearer_than_what_it_lists(cli: Any, tmp_path: Path) -> None:
    """vision-daily under gateway-api with spot and survive_loss: the weighted per-window plan
    mixes serving shapes, and the static re-plan ended on one L4 shape (3 on-demand + 2 spot
    all day, $2.37/h) that cost more than its own all-on-demand baseline ($1.91/h); the L4
    shape's own per-window plan (one backend Service, deployable as it is) is tried too."""
    import yaml

    src = ROOT / "examples" / "vision-daily"
    data = yaml.safe_load((src / "spec.yaml").read_text(encoding="utf-8"))
    data["placement"]["spot"] = {"allowed": True, "max_fraction": 0.5, "survive_loss": True}
    data["kubernetes"].update(routing="gateway-api", gateway={"name": "gw", "namespace": "gw"})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    shutil.copy(src / "profile.yaml", tmp_path / "profile.yaml")
    cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out"), "--no-manifests"])
    plan = read_plan(tmp_path / "out" / "plan.yaml")
    listed = [b.cost_per_hour for b in plan.baselines if b.cost_per_hour is not None]
    listed += [a.cost_per_hour for a in plan.alternatives]
    assert listed and plan.cost_per_hour <= min(listed) + 1e-6, (plan.cost_per_hour, listed)
    assert len(backends(plan)) == 1
    for w, d in enumerate(plan.demand.rps):
        assert _on_demand_rps(plan, w) >= d


def _delivered_spot_shares(plan: Plan) -> list[float]:
    """Per window, the share of requests on spot pods as the HTTPRoute delivers it: each backend
    Service's weight x its spot pods / all its pods that window (kube-proxy spreads evenly)."""
    by = {a.name: a for a in plan.allocations}
    weights = backend_weights(plan)
    total = sum(weights.values())
    out = []
    for w in range(len(plan.demand.rps)):
        share = 0.0
        for b in backends(plan):
            pods = sum(by[m].replicas_per_window[w] for m in b.members)
            spot = sum(by[m].replicas_per_window[w] for m in b.members if by[m].capacity_type == "spot")
            share += weights[b.service] / total * spot / pods if pods else 0.0
        out.append(share)
    return out


def _hourly_min3(max_fraction: float) -> Spec:
    hourly = {"peak_rps": None, "hourly_rps": [300.0] * 8 + [PEAK] * 8 + [600.0] * 8, "headroom": 0.2}
    sp = _spec("gateway-api", False, hourly, min_replicas=3)
    spot = sp.placement.spot.model_copy(update={"max_fraction": max_fraction})
    return sp.model_copy(update={"placement": sp.placement.model_copy(update={"spot": spot})})


def test_gateway_hourly_static_plan_holds_max_fraction_as_delivered_in_every_window() -> None:
    """Spot and on-demand L4 share one backend Service, which spreads its requests over the
    pods of each window. The static re-plan sized on-demand for 80 % and spot for 20 % of each
    window and min_replicas topped up on-demand: 2 on-demand + 1 spot off-peak, 33 % of the
    requests on spot against max_fraction 0.2 ($2.97/h). A spot pod now becomes an on-demand
    one of the same shape where the share is over (here every spot pod: 4 pods at the peak
    allow none, 5 would cost more), $3.33/h, the cheapest plan that holds the limit."""
    plan = solve(_hourly_min3(0.2), PROFILE, ONE_SHAPE, options=FAST).plan
    shares = _delivered_spot_shares(plan)
    assert max(shares) <= 0.2 + 1e-9, shares
    assert plan.cost_per_hour == pytest.approx((8 * 3 + 8 * 4 + 8 * 3) / 24 * 1.0)
    assert all(sum(a.replicas_per_window[w] for a in plan.allocations) >= 3 for w in range(24))
    # no spot pod is left (UX trial 21 F5: the line said on-demand serves "at least 80%", as if
    # spot ran); the L4 row has a spot price, so the limit is the reason
    assert all(a.capacity_type == "on-demand" for a in plan.allocations)
    assert (
        "Spot: allowed, but the plan runs no spot replica: no plan with spot replicas "
        "(spot.max_fraction 0.2) was found cheaper." in plan.explanation
    ), plan.explanation
    od = [sum(a.routing.values()) for a in plan.allocations if a.capacity_type == "on-demand"]
    assert od and sum(od) >= 0.8 - 1e-9


def test_gateway_hourly_max_fraction_half_keeps_its_cost() -> None:
    """max_fraction 0.5: the per-window plan (2 on-demand + 1 or 2 spot behind one Service) is
    within the limit in every window as delivered and keeps its cost."""
    plan = solve(_hourly_min3(0.5), PROFILE, ONE_SHAPE, options=FAST).plan
    assert max(_delivered_spot_shares(plan)) <= 0.5 + 1e-9
    assert plan.cost_per_hour == pytest.approx((16 * (2 + 0.3) + 8 * (2 + 0.6)) / 24)
    assert any(a.capacity_type == "spot" and a.replicas for a in plan.allocations)


def test_the_survive_loss_binding_line_needs_spot_in_the_plan() -> None:
    """survive_loss binds only beside spot replicas: a plan with none does not list it."""
    plan = solve(_spec("service", True), PROFILE, ONE_SHAPE, options=FAST).plan
    assert any(b.startswith("spot.survive_loss") for b in plan.binding_constraints)
    rows = tuple(r.model_copy(update={"price_spot": None}) for r in ONE_SHAPE.rows)
    no_spot = ONE_SHAPE.model_copy(update={"rows": rows})
    plan = solve(_spec("service", True), PROFILE, no_spot, options=FAST).plan
    assert all(a.capacity_type == "on-demand" for a in plan.allocations)
    assert not any(b.startswith("spot.survive_loss") for b in plan.binding_constraints)


PROFILE_2CLASS = profile(
    point("L4", 8, 20.0, 400.0, request_class="a"),
    point("L4", 8, 40.0, 200.0, request_class="b"),
    point("A10G", 8, 20.0, 500.0, request_class="a"),
    point("A10G", 8, 40.0, 300.0, request_class="b"),
)
_SHAPES = {"one": ONE_SHAPE, "two": TWO_SHAPES}
_FRACTIONS, _REDUNDANCY = (0.0, 0.2, 0.34, 0.5), ("none", "n+1", "zone")
# one class: shapes x max_fraction x redundancy x survive_loss x min_replicas x peak (288);
# two classes (a 60 %, b 40 %) at 1000 rps: shapes x max_fraction x redundancy x survive_loss (48)
_PEAKS = (300.0, PEAK, 2500.0)
SINGLE_WINDOW_SWEEP = [
    *itertools.product(_SHAPES, _FRACTIONS, _REDUNDANCY, (False, True), (0, 3), _PEAKS, (1,)),
    *itertools.product(_SHAPES, _FRACTIONS, _REDUNDANCY, (False, True), (0,), (PEAK,), (2,)),
]


@functools.cache
def _sweep_plans() -> tuple[tuple[tuple[Any, ...], Plan], ...]:
    """The plan of every case of :data:`SINGLE_WINDOW_SWEEP` (solved once for both tests)."""
    out = []
    for case in SINGLE_WINDOW_SWEEP:
        shapes, f, redundancy, survive, min_replicas, peak, classes = case
        traffic: dict[str, Any] = {"peak_rps": peak, "headroom": 0.2}
        if classes == 2:
            traffic["classes"] = [{"name": "a", "share": 0.6}, {"name": "b", "share": 0.4}]
        sp = _spec(
            "gateway-api", survive, traffic, min_replicas=min_replicas, redundancy=redundancy
        )
        spot = sp.placement.spot.model_copy(update={"max_fraction": f})
        sp = sp.model_copy(update={"placement": sp.placement.model_copy(update={"spot": spot})})
        prof = PROFILE if classes == 1 else PROFILE_2CLASS
        out.append((case, solve(sp, prof, _SHAPES[shapes], options=FAST).plan))
    return tuple(out)


def test_gateway_single_window_plans_hold_max_fraction_as_delivered() -> None:
    """One demand window under gateway-api: render weights each backend Service by its
    members' capacity (backend_weights) and kube-proxy spreads that share evenly over its pods,
    so 1 on-demand + 2 spot pods of one shape behind one Service put 2/3 of its requests on
    spot whatever split the MILP's routing assumed. Over a sweep of small cases, the share of
    requests on spot pods as delivered is within spot.max_fraction in every plan."""
    over = []
    for case, plan in _sweep_plans():
        (share,) = _delivered_spot_shares(plan)
        if share > case[1] + 1e-9:
            over.append((*case, round(share, 3)))
    n = len(SINGLE_WINDOW_SWEEP)
    assert over == [], f"{len(over)} of {n} plans over max_fraction: {over[:5]}"


def _delivered_loss_breaks(plan: Plan) -> set[str]:
    """The loss rules a one-window plan breaks as render delivers it: backend Service b gets
    weight W_b / sum W of the demand (backend_weights) and spreads it over its pods, so it must
    carry that share with the pods left after losing its largest node (n+1), what its
    allocations' nodes put in the first of their zones (zone: nodes take the zones in turn, as
    the simulator lays them out) or its spot pods (survive_loss; an all-spot backend loses
    its whole share, spot_loss_share)."""
    by = {a.name: a for a in plan.allocations}
    weights = backend_weights(plan)
    total, pl, (d,) = sum(weights.values()), plan.spec.placement, plan.demand.rps
    out = {"survive_loss"} if pl.spot.survive_loss and spot_loss_share(plan) > 0 else set()
    for b in backends(plan):
        load = d * weights[b.service] / total
        ms = [by[m] for m in b.members]
        cap = sum(a.replicas * a.capacity_rps_per_replica for a in ms)
        lost = {
            "n+1": max(
                min(a.replicas_per_node, a.replicas) * a.capacity_rps_per_replica for a in ms
            ),
            "zone": sum(
                min(a.replicas_per_node, a.replicas - j * a.replicas_per_node)
                * a.capacity_rps_per_replica
                for a in ms for j in range(0, a.nodes, max(len(a.zones), 1))
            ),
            "survive_loss": sum(
                a.replicas * a.capacity_rps_per_replica for a in ms if a.capacity_type == "spot"
            ),
        }
        rules = [pl.redundancy, *(["survive_loss"] if pl.spot.survive_loss else [])]
        out |= {rule for rule in rules if rule in lost and cap - lost[rule] < load - 1e-6}
    return out


def test_gateway_single_window_plans_survive_losses_as_delivered() -> None:
    """n+1, zone and survive_loss per backend Service at the share render sends it (its
    capacity's), not at the MILP's own routing. Before, 5 one-class cases of the sweep broke
    them (n+1 in 2, zone in 2, survive_loss in 3), all one pattern: two shapes, 300 rps,
    min_replicas 3, max_fraction 0.5; the MILP added one A10G spot pod to reach min_replicas
    and routed it nothing, but its all-spot Service got weight 39 and lost 39 % of the
    requests with the pod. Now each is 2 on-demand + 1 spot L4 behind one Service, optimal."""
    plans = _sweep_plans()
    broken = [(case, sorted(b)) for case, plan in plans if (b := _delivered_loss_breaks(plan))]
    assert broken == [], f"{len(broken)} of {len(SINGLE_WINDOW_SWEEP)} plans: {broken[:5]}"
    assert all(plan.status == "optimal" for case, plan in plans if case[-1] == 1)


def test_gateway_two_class_plans_hold_the_mixed_stream_as_delivered() -> None:
    """Two classes (a 60 %, b 40 %): an HTTPRoute cannot tell them apart, so each backend gets
    its weight's share of both, at its capacity for the mix (delivered_utilization), with
    headroom and after its losses. Before, the MILP's per-class routing sized one of the 48
    two-class cases (two shapes, max_fraction 0.5, n+1: $4.40/h) for a split the route does
    not deliver: a backend at 107.6 % of its pods after losing a node. Now none is over. The
    weights are the capacity for the mix (Problem.mix_weight), which moves the spot share of
    requests too: four plans with spot A10G beside on-demand L4 cost more (max_fraction 0.34,
    n+1 $5.40 -> $6.00/h and zone $5.40 -> $6.40/h, both proven optimal: 2 spot A10G of 7 pods
    now take 35.6 % of the requests; 0.5 n+1 $4.40 -> $6.00/h and zone $5.40 -> $5.60/h,
    feasible), no other moved."""
    over = []
    for case, plan in _sweep_plans():
        if case[-1] != 2:
            continue
        cands, _ = build_candidates(plan.spec, PROFILE_2CLASS, _SHAPES[case[0]])
        worst = max(delivered_utilization(plan, cands).values())
        if worst > 1 + 1e-6:
            over.append((case, round(worst, 3)))
        for a in plan.allocations:  # the recorded routing is the route's: one share per class
            assert a.routing["a"] == a.routing["b"]
    assert over == []


def test_gateway_single_window_rounded_weights_hold_max_fraction() -> None:
    """The MILP holds spot capacity <= max_fraction x capacity, the share the route delivers
    before its weights are rounded: 3 on-demand + 3 spot A10G (one Service) and 4 on-demand L4
    put 34.8 % of the capacity on spot ($9.43/h), but the integer weights 70/30 send
    0.70 x 3/6 = 35.0 % of the requests to spot pods against max_fraction 0.349. The search
    again with max_fraction lowered by the overshoot holds it as delivered; a heuristic step,
    so the plan is feasible, within its gap of the $9.43/h plan, and says so."""
    cat = catalog(
        row("g6.xlarge", "L4", 1, 1.0, spot=0.44), row("g5.xlarge", "A10G", 1, 1.37, spot=0.44)
    )
    prof = profile(point("L4", 8, 20.0, 304.0), point("A10G", 8, 20.0, 451.0))
    sp = _spec("gateway-api", False, {"peak_rps": 2230.0, "headroom": 0.0}, redundancy="zone")
    spot = sp.placement.spot.model_copy(update={"max_fraction": 0.349})
    sp = sp.model_copy(update={"placement": sp.placement.model_copy(update={"spot": spot})})
    plan = solve(sp, prof, cat, options=FAST).plan
    assert max(_delivered_spot_shares(plan)) <= 0.349 + 1e-9
    assert plan.status == "feasible"
    assert plan.gap == pytest.approx(1 - 9.43 / plan.cost_per_hour, abs=1e-4)
    assert any("integer weights put 35.0% of the requests on spot pods" in w for w in plan.warnings)
    assert not any("time limit" in w for w in plan.warnings)


@pytest.mark.parametrize("mode", ["node", "spot"])
def test_gateway_min_replicas_pod_joins_a_service_that_survives(mode: str) -> None:
    """The sweep's pattern: 300 rps fit on one L4, min_replicas 3, n+1 and survive_loss. The
    MILP's cheapest plan ($2.20/h) topped up with one A10G spot pod routed nothing, but render
    weighs its own Service 39: losing that node or the spot capacity lost 39 % of the requests
    (simulate showed it). The plan now holds both as delivered: 2 on-demand + 1 spot L4 behind
    one Service ($2.50/h), proven optimal, and the simulated failure holds."""
    traffic = {"peak_rps": 300.0, "headroom": 0.2}
    sp = _spec("gateway-api", True, traffic, min_replicas=3, redundancy="n+1")
    plan = solve(sp, PROFILE, TWO_SHAPES, options=FAST).plan
    assert plan.cost_per_hour == pytest.approx(2 * 1.0 + 0.5)
    assert plan.status == "optimal" and plan.gap == 0.0
    assert len(backends(plan)) == 1 and spot_loss_share(plan) == 0.0
    assert _delivered_loss_breaks(plan) == set()
    f = simulate(plan, duration_s=20, seed=3, failure=mode, accelerators=ACCS).failure
    assert f is not None and f.holds and f.attainment_during is not None
    assert f.attainment_during > 0.99


def test_gateway_delivered_loss_search_finds_the_enumerated_optimum() -> None:
    """survive_loss, 300 rps, min_replicas 2, max_fraction 0.5 on L4 ($0.88, spot $0.49, 225
    rps) and A10G ($1.05, spot $0.53, 428 rps): the MILP's plan (1 A10G on-demand + 1 L4 spot,
    $1.54/h) gives the all-spot L4 Service its capacity share, lost with the spot capacity.
    Enumerating every plan of up to 7 pods per candidate that holds the rules as delivered
    finds 1 on-demand + 1 spot A10G behind one Service, $1.58/h: the search's optimum too (a
    row that listed a spot pod twice once made it 2 L4 on-demand, $1.76/h, and call it optimal)."""
    cat = catalog(
        row("g6.xlarge", "L4", 1, 0.88, spot=0.49), row("g5.xlarge", "A10G", 1, 1.05, spot=0.53)
    )
    prof = profile(point("L4", 8, 20.0, 250.0), point("A10G", 8, 20.0, 451.0))
    sp = _spec("gateway-api", True, {"peak_rps": 300.0, "headroom": 0.2}, min_replicas=2)
    plan = solve(sp, prof, cat, options=FAST).plan
    assert plan.cost_per_hour == pytest.approx(1.05 + 0.53) and plan.status == "optimal"
    assert {(a.accelerator, a.capacity_type, a.replicas) for a in plan.allocations} == {
        ("A10G", "on-demand", 1), ("A10G", "spot", 1)}
    assert _delivered_loss_breaks(plan) == set()


def test_spot_without_survive_loss_says_what_a_loss_leaves_and_what_the_rule_costs() -> None:
    """Spot without survive_loss: the explanation said only 'on-demand replicas alone serve at
    least 50% of each class's demand', and simulate --fail spot then failed (UX review 15, W1).
    With the alternatives on, one more solve prices the rule: the explanation, the plan's
    spot_loss and the summary under the table say what a loss leaves and what it costs."""
    from scaleplan.plan_report import summary_lines

    opts = SolveOptions()
    without = solve(_spec("service", False), PROFILE, ONE_SHAPE, options=opts).plan
    with_ = solve(_spec("service", True), PROFILE, ONE_SHAPE, options=FAST).plan
    lost = without.spot_loss
    assert lost is not None, without.explanation
    peak = [a.replicas_per_window[0] for a in without.allocations]
    kinds = [a.capacity_type for a in without.allocations]
    od = sum(r for r, k in zip(peak, kinds, strict=True) if k == "on-demand")
    assert (lost.on_demand_replicas, lost.replicas) == (od, sum(peak))
    assert lost.on_demand_share == pytest.approx(_on_demand_rps(without) / PEAK, abs=1e-4)
    assert lost.on_demand_share < 1
    assert lost.survive_loss_cost_per_hour == pytest.approx(with_.cost_per_hour)
    extra = with_.cost_per_hour / without.cost_per_hour - 1
    assert lost.extra_cost_fraction == pytest.approx(extra, abs=1e-4)
    line = next(x for x in without.explanation if x.startswith("Spot loss"))
    assert f"leaves {od} of {sum(peak)} replicas" in line, line
    assert f"+${with_.cost_per_hour - without.cost_per_hour:.2f}/h ({extra:+.1%}" in line, line
    text = [ln.text for ln in summary_lines(without, [], accelerators=ACCS)]
    said = next(t for t in text if t.startswith("spot loss at peak:"))
    assert f"{od} of {sum(peak)} replicas" in said, text
    assert any(f"({extra:+.1%})" in t and "survive_loss: true" in t for t in text), text
    ours = [t for t in text if t.startswith(("spot loss", "  placement.spot"))]
    assert len(ours) == 2 and all(len(t) <= 80 for t in ours), ours
    # the rule on, or the alternatives off: no such solve, no such line
    assert solve(_spec("service", True), PROFILE, ONE_SHAPE, options=opts).plan.spot_loss is None
    assert solve(_spec("service", False), PROFILE, ONE_SHAPE, options=FAST).plan.spot_loss is None


def test_a_plan_without_spot_says_why_when_its_types_have_no_spot_price() -> None:
    """UX trial 21 F5: a spot-allowed Azure plan on Standard_ND96isr_H100_v5 (no spot price in
    the catalog) explained "Spot: on-demand replicas alone serve at least 40% of each class's
    demand." and nothing said why a cost-sensitive plan ran no spot. A plan with spot keeps
    the old line."""
    no_spot = catalog(row("g6.xlarge", "L4", 1, 1.0))
    plan = solve(_spec("service", False), PROFILE, no_spot, options=FAST).plan
    assert plan.allocations and all(a.capacity_type == "on-demand" for a in plan.allocations)
    line = (
        "Spot: allowed, but the plan runs no spot replica: the catalogs give no spot price for "
        "g6.xlarge (aws us-east-1), and no plan with spot replicas (spot.max_fraction 0.5) was "
        "found cheaper."
    )
    assert line in plan.explanation, plan.explanation
    # and optimize's summary says it (UX trial 31: only plan.yaml's explanation did)
    from scaleplan.plan_report import summary_lines

    assert line in [ln.text for ln in summary_lines(plan, [], accelerators=ACCS)]
    with_spot = solve(_spec("service", False), PROFILE, ONE_SHAPE, options=FAST).plan
    assert any(a.capacity_type == "spot" for a in with_spot.allocations)
    assert "Spot: on-demand replicas alone serve at least 50% of each class's demand." in with_spot.explanation
    said = summary_lines(with_spot, [], accelerators=ACCS)
    assert not any(ln.text.startswith("Spot:") for ln in said)



def _split_spec(max_fraction: float, redundancy: str = "n+1", routing: str = "service") -> Spec:
    k8s: dict[str, Any] = {"image": "example.com/svc:1.0", "routing": routing, "autoscaler": "hpa"}
    if routing != "service":
        k8s["gateway"] = {"name": "gw"}
    return spec(
        traffic={"peak_rps": 250.0, "headroom": 0.2},
        slo={"latency_ms": 100, "percentile": 95},
        placement={
            "providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 1,
            "redundancy": redundancy, "spot": {"allowed": True, "max_fraction": max_fraction},
        },
        kubernetes=k8s,
    )


def test_an_even_split_too_small_for_max_fraction_says_so_and_how_to_allow_spot() -> None:
    """UX trial 35 MEDIUM-6: routing: service, n+1 and max_fraction 0.3 planned 2 on-demand
    replicas and said only "no plan with spot replicas (spot.max_fraction 0.3) was found
    cheaper". The reason is the even split: one spot replica of 2 carries 50 % of the requests.
    The line says so and names the max_fraction that allows it, which does plan spot."""
    from scaleplan.plan_report import summary_lines

    plan = solve(_split_spec(0.3), PROFILE, ONE_SHAPE, options=FAST).plan
    assert [(a.capacity_type, a.replicas) for a in plan.allocations] == [("on-demand", 2)]
    line = (
        "Spot: allowed, but the plan runs no spot replica: routing: service gives each of the "
        "plan's 2 replicas an even share of the requests, so one on spot would carry 50% of "
        "them, over spot.max_fraction 0.3, and no plan with spot of 4 or more replicas was "
        "found cheaper; set placement.spot.max_fraction: 0.5 to let one of 2 run on spot."
    )
    assert line in plan.explanation, plan.explanation
    assert line in [ln.text for ln in summary_lines(plan, [], accelerators=ACCS)]
    half = solve(_split_spec(0.5), PROFILE, ONE_SHAPE, options=FAST).plan
    got = sorted((a.capacity_type, a.replicas) for a in half.allocations)
    assert got == [("on-demand", 1), ("spot", 1)] and half.cost_per_hour < plan.cost_per_hour
    # one replica (no n+1): on spot it would carry every request
    one = solve(_split_spec(0.5, "none"), PROFILE, ONE_SHAPE, options=FAST).plan
    assert [(a.capacity_type, a.replicas) for a in one.allocations] == [("on-demand", 1)]
    assert (
        "Spot: allowed, but the plan runs no spot replica: routing: service sends every request "
        "to the plan's one replica, so on spot it would carry 100% of them, over "
        "spot.max_fraction 0.5, and no plan with spot of 2 or more replicas was found cheaper; "
        "set placement.spot.max_fraction: 1 to let it run on spot."
    ) in one.explanation, one.explanation
    # gateway-api weighs each Service by capacity, so the same limit holds there; its line is
    # the old one (no even split to blame)
    gw = solve(_split_spec(0.3, routing="gateway-api"), PROFILE, ONE_SHAPE, options=FAST).plan
    assert all(a.capacity_type == "on-demand" for a in gw.allocations)
    assert (
        "Spot: allowed, but the plan runs no spot replica: no plan with spot replicas "
        "(spot.max_fraction 0.3) was found cheaper." in gw.explanation
    ), gw.explanation


def test_a_survive_loss_price_not_proven_cheapest_says_at_most() -> None:
    """UX trial 37 F3: the survive_loss solve stopped by the time limit priced the rule at
    +35.7 %, said as what it costs; a longer --time-limit found +14.6 %. A price whose search
    did not prove it the cheapest (status feasible) now carries its gap and reads 'at most';
    a proven one (status optimal) reads as before, and the plan round-trips either way."""
    import math

    from scaleplan.plan import dump_plan, plan_to_dict
    from scaleplan.plan_report import spot_loss_lines
    from scaleplan.solve.compare import spot_loss, survive_loss_solve
    from scaleplan.solve.diagnose import serving_candidates
    from scaleplan.solve.explain_spot import spot_loss_exposure_line
    from scaleplan.solve.problem import Problem, demand_windows
    from scaleplan.solve.search import search_windows

    sp = _spec("service", False)
    pb = Problem.of(sp, SolveOptions())
    rps, _ = demand_windows(sp)
    cands, diag = build_candidates(sp, PROFILE, ONE_SHAPE)
    best = search_windows(pb, serving_candidates(pb, cands, rps), rps, deadline=math.inf)
    on = survive_loss_solve(pb, diag.unpruned, rps, best, math.inf)
    assert not isinstance(on, str) and on is not None and on.status == "optimal"
    proven = spot_loss(pb, best, rps, on)
    assert proven.survive_loss_gap is None
    assert "at most" not in spot_loss_exposure_line(proven, best.cost)
    cut = spot_loss(pb, best, rps, replace(on, status="feasible", bound=on.cost * 0.8))
    assert cut.survive_loss_gap == pytest.approx(0.2)
    assert cut.survive_loss_cost_per_hour == proven.survive_loss_cost_per_hour
    line = spot_loss_exposure_line(cut, best.cost)
    assert "holds the SLO through it for at most +$" in line, line
    assert "not proven the cheapest such plan: gap 20.0% to a lower bound" in line, line
    second = spot_loss_lines(cut, best.cost)[1].text
    assert "for at most +$" in second and "not proven the cheapest (gap 20.0%)" in second, second
    plan = solve(sp, PROFILE, ONE_SHAPE, options=SolveOptions()).plan
    assert plan.spot_loss is not None and "survive_loss_gap" not in plan_to_dict(plan)["spot_loss"]
    assert "survive_loss_gap" not in dump_plan(plan)
    edited = {**plan_to_dict(plan), "spot_loss": cut.model_dump(exclude_none=True)}
    back = Plan.model_validate(edited)
    assert back.spot_loss is not None and back.spot_loss.survive_loss_gap == pytest.approx(0.2)
