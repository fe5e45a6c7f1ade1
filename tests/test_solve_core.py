"""Optimizer core: known answers, each constraint, derating, candidates, determinism."""

from __future__ import annotations

import math

import pytest
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.errors import InfeasibleError
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.queueing import erlang_c, max_utilization, wait_percentile_ms

FAST = SolveOptions(alternatives=False, max_utilization=1.0)


def test_single_type_known_answer() -> None:
    # 100 rps at 30 rps per L4 replica -> 4 nodes of the cheapest L4 type
    cat = catalog(row("g6.xlarge", "L4", 1, 0.80), row("g6.2xlarge", "L4", 1, 0.98))
    res = solve(spec(), profile(point("L4", 4, 40, 30)), cat, options=FAST)
    plan = res.plan
    assert plan.status == "optimal"
    assert plan.gap == 0.0
    assert [(a.instance_type, a.nodes, a.replicas) for a in plan.allocations] == [("g6.xlarge", 4, 4)]
    assert plan.cost_per_hour == pytest.approx(3.2)
    assert plan.cost_per_month == pytest.approx(3.2 * 730)
    assert plan.allocations[0].capacity_rps_per_replica == 30


def test_headroom_and_multi_gpu_nodes() -> None:
    cat = catalog(row("g6.12xlarge", "L4", 4, 3.0), row("g6.xlarge", "L4", 1, 0.85))
    sp = spec(traffic={"peak_rps": 100, "headroom": 0.2})  # needs 120 rps = 4 replicas of 30
    plan = solve(sp, profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    assert [(a.instance_type, a.nodes, a.replicas_per_node) for a in plan.allocations] == [("g6.12xlarge", 1, 4)]
    assert plan.cost_per_hour == pytest.approx(3.0)


def test_n_plus_1_adds_a_spare_node() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    base = solve(spec(), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    n1 = solve(spec(placement={"redundancy": "n+1"}), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    assert base.allocations[0].nodes == 4
    assert n1.allocations[0].nodes == 5
    assert any("n+1" in b for b in n1.binding_constraints)


def test_zone_redundancy_spreads_over_zones() -> None:
    # 3 zones: losing the biggest zone share (ceil(n/3)) must leave >= 100 rps at 30 rps each
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    plan = solve(spec(placement={"redundancy": "zone"}), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    n = plan.allocations[0].nodes
    assert (n - math.ceil(n / 3)) * 30 >= 100
    assert ((n - 1) - math.ceil((n - 1) / 3)) * 30 < 100


def test_spot_fraction_keeps_on_demand_share() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.3))
    sp = spec(placement={"spot": {"allowed": True, "max_fraction": 0.5}})
    plan = solve(sp, profile(point("L4", 4, 40, 10)), cat, options=FAST).plan
    by = {a.capacity_type: a for a in plan.allocations}
    assert by["on-demand"].replicas * 10 >= 50
    assert by["spot"].replicas >= 1
    assert plan.cost_per_hour == pytest.approx(5 * 1.0 + 5 * 0.3)
    only_spot = solve(spec(placement={"spot": {"allowed": True, "max_fraction": 1.0}}), profile(point("L4", 4, 40, 10)), cat, options=FAST).plan
    assert {a.capacity_type for a in only_spot.allocations} == {"spot"}


def test_even_split_over_one_types_spot_and_on_demand_is_not_a_mix() -> None:
    """A type's spot and on-demand replicas serve alike, so one Service spreading evenly over
    them mixes nothing. The routing line used to count them as two types: 'only types that can
    each take 10 rps are mixed ...; 24 of 24 windows mix replica types' (UX trial 20 F9)."""
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0, spot=0.3))
    curve = {"peak_rps": None, "hourly_rps": [20] * 12 + [50] * 12}
    sp = spec(traffic=curve, placement={"spot": {"allowed": True, "max_fraction": 0.5}})
    plan = solve(sp, profile(point("L4", 4, 40, 10)), cat, options=FAST).plan
    assert {a.capacity_type for a in plan.allocations} == {"on-demand", "spot"}
    (route,) = (line for line in plan.explanation if line.startswith("Routing: service"))
    assert "are mixed" not in route
    assert "g6.xlarge serves 10 rps per replica; 0 of 24 windows mix replica types" in route


def test_quota_moves_to_another_family() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("g6e.xlarge", "L4", 1, 1.5))
    sp = spec(placement={"quotas": [{"provider": "aws", "region": "us-east-1", "family": "g6", "max_gpus": 2}]})
    plan = solve(sp, profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    assert {a.instance_type: a.nodes for a in plan.allocations} == {"g6.xlarge": 2, "g6e.xlarge": 2}
    assert any("quota aws/us-east-1/g6" in b for b in plan.binding_constraints)


def test_min_replicas_binds_at_low_load() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    plan = solve(spec(traffic={"peak_rps": 1}, placement={"min_replicas": 3}), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    assert plan.allocations[0].replicas == 3
    assert any("min_replicas" in b for b in plan.binding_constraints)


def test_cpu_candidates_win_when_cheaper() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8), row("c7i.2xlarge", None, 0, 0.36, vcpus=8, mem=16))
    prof = profile(point("L4", 8, 20, 400), point("CPU", 1, 20, 60, threads=2, peak_memory_gib=0.5))
    plan = solve(spec(traffic={"peak_rps": 150}), prof, cat, options=FAST).plan
    a = plan.allocations[0]
    assert a.accelerator == "CPU" and a.gpus_per_replica == 0
    assert a.replicas_per_node == 3  # 8 vCPU minus reserve -> 3 replicas of 2 threads
    assert a.nodes == 1 and a.replicas * 60 >= 150


def test_multi_gpu_scaled_when_model_does_not_fit_one_gpu() -> None:
    cat = catalog(row("g6.12xlarge", "L4", 4, 4.6))
    prof = profile(point("L4", 1, 30, 10, gpus=1))
    plan = solve(spec(model={"profile": "p", "memory_gib": 40}), prof, cat, options=FAST).plan
    a = plan.allocations[0]
    assert a.gpus_per_replica == 2 and a.replicas_per_node == 2
    assert a.operating_point.source == "scaled" and a.estimated
    assert a.capacity_rps_per_replica == pytest.approx(10 * 2 * 0.9)


def test_estimated_points_are_marked() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    plan = solve(spec(), profile(point("L4", 4, 40, 30, source="estimated")), cat, options=FAST).plan
    assert plan.allocations[0].estimated
    assert any("estimated" in w for w in plan.warnings)
    assert any("estimated" in e for e in plan.explanation)


def test_queueing_derates_capacity() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    prof = profile(point("L4", 4, 40, 100))
    derated = solve(spec(), prof, cat, options=SolveOptions(alternatives=False)).plan.allocations[0]
    assert 0 < derated.operating_point.max_utilization < 1
    assert derated.capacity_rps_per_replica == pytest.approx(100 * derated.operating_point.max_utilization, abs=1e-3)
    flat = solve(spec(), prof, cat, options=SolveOptions(alternatives=False, max_utilization=0.5)).plan.allocations[0]
    assert flat.capacity_rps_per_replica == 50


def test_queueing_model_values() -> None:
    # Erlang C for c=1 is rho; for c=2, a=1: 1/3
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    w1 = wait_percentile_ms(0.5, 1, 0.01, 95)
    w2 = wait_percentile_ms(0.8, 1, 0.01, 95)
    assert 0 < w1 < w2
    # more latency budget -> higher utilization allowed; no budget -> 0 wait only at low load
    assert max_utilization(5, 4, 100, 95) < max_utilization(50, 4, 100, 95) <= 0.95
    assert max_utilization(-1, 4, 100, 95) == 0.0
    u = max_utilization(5, 4, 100, 95)
    assert wait_percentile_ms(u, 4, 0.04, 95) <= 5 + 1e-9


def test_ttft_tpot_and_classes() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0), row("p4d.x", "A100", 1, 4.0))
    def pt(acc: str, cls: str, rps: float, ttft: float) -> dict[str, object]:
        return point(acc, 8, 900, rps, request_class=cls, ttft_ms={"p50": ttft, "p90": ttft, "p95": ttft, "p99": ttft}, tpot_ms={"p50": 30, "p90": 30, "p95": 30, "p99": 30})
    prof = profile(pt("L4", "short", 4, 300), pt("L4", "long", 0.5, 3000), pt("A100", "short", 12, 100), pt("A100", "long", 6, 800))
    sp = spec(traffic={"peak_rps": 10, "headroom": 0, "classes": [{"name": "short", "share": 0.8}, {"name": "long", "share": 0.2}]}, slo={"latency_ms": 1000, "ttft_ms": 1000, "tpot_ms": 50})
    plan = solve(sp, prof, cat, options=FAST).plan
    # long requests cannot meet TTFT on L4: they must go to A100
    a100 = [a for a in plan.allocations if a.accelerator == "A100"]
    assert a100 and a100[0].routing["long"] == pytest.approx(1.0)
    assert plan.demand.classes == {"short": 0.8, "long": 0.2}


def test_cbc_agrees_with_highs() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8, spot=0.35), row("g5.xlarge", "A10G", 1, 1.0, spot=0.4))
    prof = profile(point("L4", 4, 40, 30), point("A10G", 4, 30, 45))
    sp = spec(placement={"redundancy": "n+1", "spot": {"allowed": True}})
    h = solve(sp, prof, cat, options=FAST).plan
    c = solve(sp, prof, cat, options=SolveOptions(alternatives=False, max_utilization=1.0, solver="cbc")).plan
    assert h.cost_per_hour == pytest.approx(c.cost_per_hour)
    assert c.solver == "cbc"


def test_identical_inputs_give_identical_plans() -> None:
    from scaleplan.plan import dump_plan

    cat = catalog(row("g6.xlarge", "L4", 1, 0.8), row("g6.2xlarge", "L4", 1, 0.8), row("g5.xlarge", "A10G", 1, 1.2))
    prof = profile(point("L4", 4, 40, 30), point("A10G", 4, 30, 45))
    a = dump_plan(solve(spec(), prof, cat).plan)
    b = dump_plan(solve(spec(), prof, cat).plan)
    assert a == b
    # tie on price: the earlier name wins
    assert "g6.2xlarge" not in a.split("alternatives:")[0]


def test_plan_hash_covers_content() -> None:
    import hashlib

    from scaleplan.plan import plan_to_dict
    from scaleplan.yamlio import dump_yaml

    cat = catalog(row("g6.xlarge", "L4", 1, 0.8))
    plan = solve(spec(), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    d = plan_to_dict(plan)
    h = d["metadata"].pop("plan_hash")
    assert h == hashlib.sha256(dump_yaml(d).encode()).hexdigest()


def test_alternatives_and_baselines() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8, spot=0.3), row("g5.xlarge", "A10G", 1, 1.0, spot=0.45))
    prof = profile(point("L4", 4, 40, 30), point("A10G", 4, 30, 45))
    plan = solve(spec(placement={"spot": {"allowed": True}}), prof, cat, options=SolveOptions(max_utilization=1.0)).plan
    names = [b.name for b in plan.baselines]
    assert names == ["cheapest-single-type", "fastest-accelerator", "all-on-demand"]
    for b in plan.baselines:
        assert b.cost_per_hour is not None and b.cost_per_hour >= plan.cost_per_hour - 1e-9
    assert plan.alternatives and all(a.extra_cost_fraction >= 0 for a in plan.alternatives)
    assert plan.alternatives[0].description.endswith(("xlarge", "spot"))


def test_all_on_demand_baseline_left_out_when_it_is_the_plan() -> None:
    """A plan without spot (not allowed, or spot dearer than on-demand) is its own all-on-demand
    baseline: listing it ("saves 0%") read as a second plan. A plan that buys spot keeps it."""
    prof = profile(point("L4", 4, 40, 30))
    opts = SolveOptions(max_utilization=1.0)
    cheap = catalog(row("g6.xlarge", "L4", 1, 0.8, spot=0.3))
    dear = catalog(row("g6.xlarge", "L4", 1, 0.8, spot=0.9))
    allowed = spec(placement={"spot": {"allowed": True}})
    no_spot = solve(spec(), prof, cheap, options=opts).plan
    dear_spot = solve(allowed, prof, dear, options=opts).plan
    for plan in (no_spot, dear_spot):
        assert [b.name for b in plan.baselines] == ["cheapest-single-type", "fastest-accelerator"]
    spot = solve(allowed, prof, cheap, options=opts).plan
    base = {b.name: b for b in spot.baselines}
    assert base["all-on-demand"].cost_per_hour == pytest.approx(3.2)
    assert (base["all-on-demand"].savings_fraction or 0) > 0


def test_budget_ok_when_above_cost() -> None:
    cat = catalog(row("g6.xlarge", "L4", 1, 1.0))
    plan = solve(spec(placement={"budget_per_hour": 4.0}), profile(point("L4", 4, 40, 30)), cat, options=FAST).plan
    assert plan.cost_per_hour == 4.0
    with pytest.raises(InfeasibleError):
        solve(spec(placement={"budget_per_hour": 3.99}), profile(point("L4", 4, 40, 30)), cat, options=FAST)


def test_gpu_shapes_and_prices_one_path_for_measured_and_llm_candidates() -> None:
    """The helpers both candidate builders use (they each had a copy): the GPU counts that
    divide a node, the replica shape with its even CPU/memory split, a row priced per capacity."""
    from solve_helpers import LAT

    from scaleplan.solve.candidates import priced
    from scaleplan.solve.oppoints import OpPoint
    from scaleplan.solve.shapes import gpu_counts, gpu_shape

    big = row("p4d.24xlarge", "A100", 8, 32.0, spot=12.0, vcpus=96, mem=1152.0)
    assert gpu_counts(big, 8) == [1, 2, 4, 8]
    assert gpu_counts(row("g.6x", "L4", 6, 3.0), 4) == [1, 2, 3]
    op = OpPoint(
        batch_size=1, latency=LAT, throughput_rps=10.0, max_utilization=1.0, capacity_rps=10.0,
        source="measured", service_ms=10.0, request_class=None, estimated=False,
        latency_at_slo=10.0,
    )
    eks = spec(kubernetes={"image": "example.com/svc:1.0", "flavor": "eks"}).kubernetes
    shape = gpu_shape(big, 2, eks, {"default": op})
    assert shape is not None and shape[:3] == (2, 0, 4) and 0 < shape[4] <= 96 / 4
    tiny = row("g.tiny", "L4", 4, 1.0, vcpus=1, mem=2.0)  # 4 replicas on 1 vCPU / 2 GiB
    assert gpu_shape(tiny, 1, eks, {"default": op}) is None
    both = priced(big, ["on-demand", "spot"], "A100", [shape], ["default"])
    assert [(c.capacity_type, c.price) for c in both] == [("on-demand", 32.0), ("spot", 12.0)]
    no_spot = row("p4d.od", "A100", 8, 32.0, vcpus=96, mem=1152.0)
    only = priced(no_spot, ["on-demand", "spot"], "A100", [shape], ["default"])
    assert [c.capacity_type for c in only] == ["on-demand"]


def test_fastest_accelerator_baseline_names_a_profiled_accelerator_left_out_for_flags() -> None:
    """GCP's H100 rows are flagged (suspect-price): the fastest-accelerator baseline took
    A100-80GB as the fastest without a word (UX review). An accelerator the profile measured
    whose every placed row is flagged is named as not compared; one it did not measure is not."""
    suspect = {"flags": ("suspect-price",)}
    h100 = row("p5.4xlarge", "H100", 1, 9.0).model_copy(update=suspect)
    a100 = row("p4de.x", "A100-80GB", 1, 9.0).model_copy(update=suspect)  # not profiled
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8), row("g5.xlarge", "A10G", 1, 1.0), h100, a100)
    points = (point("L4", 4, 40, 30), point("A10G", 4, 30, 45), point("H100", 4, 10, 200))
    prof = profile(*points)
    plan = solve(spec(), prof, cat, options=SolveOptions(max_utilization=1.0)).plan
    (fastest,) = [b for b in plan.baselines if b.name == "fastest-accelerator"]
    assert fastest.description.startswith(
        "only the fastest accelerator (A10G; not compared: H100, whose rows are flagged):"
    ), fastest.description


@pytest.mark.parametrize("regions", [True, False])
def test_request_classes_are_derived_once_per_solve(
    monkeypatch: pytest.MonkeyPatch, regions: bool
) -> None:
    """Issue 12: a solve derives the spec's request classes once (``Problem.of``) and passes
    them on: to build_candidates and, for a one-cluster flavor whose candidates span regions
    (``regions`` False: placement.regions left out), to each region's Problem and build.
    The real classes_of, counted; until 2026-12-07 build_candidates and Problem.of each
    derived them (2 per solve, 3+ with the regions' ranking)."""
    from scaleplan.inputs import load_inputs
    from scaleplan.solve import candidates, problem

    calls: list[int] = []
    real = candidates.classes_of

    def counted(s):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(s)

    monkeypatch.setattr(candidates, "classes_of", counted)
    monkeypatch.setattr(problem, "classes_of", counted)
    inp = load_inputs("examples/embedding-cpu-gpu/spec.yaml")
    s = inp.spec
    if not regions:
        s = s.model_copy(update={"placement": s.placement.model_copy(update={"regions": ()})})
    res = solve(s, inp.profile, inp.catalog, options=SolveOptions(alternatives=False))
    assert res.plan.allocations and len(calls) == 1, len(calls)
