"""Simulator core: analytic queues, engine agreement, determinism, failures, routing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from simulate_helpers import allocation, make_plan

from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleError, PlanError
from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import Plan
from scaleplan.simulate import parse_trace, service_model, simulate
from scaleplan.simulate.engine import ReplicaModel, fifo_batches, least_outstanding
from scaleplan.spec import Gateway

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

RHO = 0.7


def _mean_wait(service: str, policy: str, n_target: int) -> float:
    """One replica, batch 1, no timeout, service 10 ms, load 0.7: mean waiting time (s)."""
    rate = RHO / 0.010
    plan = make_plan([allocation(replicas=(1,), batch=1, service_ms=10.0)], rps=(rate,), slo_ms=1000.0)
    res_dur = n_target / rate
    from scaleplan.simulate import core

    # mean waiting time = mean latency - mean service (1 request per batch, mean service 10 ms)
    res = core.simulate(
        plan, duration_s=res_dur, seed=7, service=service, policy=policy, accelerators=ACCS,
    )
    assert res.latency_ms.mean is not None
    return res.latency_ms.mean / 1000.0 - 0.010


@pytest.mark.parametrize(
    ("service", "formula"),
    [
        ("exponential", RHO / (1 / 0.010 - RHO / 0.010)),  # M/M/1: Wq = rho / (mu - lambda)
        ("deterministic", RHO * 0.010 / (2 * (1 - RHO))),  # M/D/1: Wq = rho * s / (2 (1 - rho))
    ],
)
def test_mean_wait_matches_formula_at_70_percent_load(service: str, formula: float) -> None:
    wq = _mean_wait(service, "weighted", 4_000_000)
    assert abs(wq - formula) / formula < 0.02, (service, wq, formula)


def test_mm1_event_loop_matches_formula() -> None:
    # the least-outstanding event loop (one replica = plain FIFO) on the same analytic case
    rng = np.random.default_rng(3)
    n = 600_000
    a = np.cumsum(rng.standard_exponential(n) / RHO)
    m = rng.standard_exponential(n)
    b, rep = least_outstanding(a, m, [ReplicaModel(1.0, 1, 0.0, 0.0)], [(0.0, [0])])
    wq = float((b.start - a).mean())
    assert (rep == 0).all()
    assert abs(wq - RHO / (1 - RHO)) / (RHO / (1 - RHO)) < 0.03


@pytest.mark.parametrize(("batch", "timeout"), [(1, 0.0), (1, 0.3), (8, 0.0), (8, 0.5), (4, 2.0)])
def test_engines_agree_on_one_replica(batch: int, timeout: float) -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    a = np.cumsum(rng.standard_exponential(n) / 2.0)
    m = rng.standard_exponential(n)
    model = ReplicaModel(float(batch) * 0.4, batch, 0.5, timeout)
    st, fi, bl, _bf, bs = fifo_batches(a, m, model)
    b, _ = least_outstanding(a, m, [model], [(0.0, [0])])
    np.testing.assert_allclose(b.start, st, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.finish, fi, rtol=0, atol=1e-9)
    assert int(bs.sum()) == n and len(bl) == len(b.b_launch)
    assert (st >= a - 1e-12).all() and (fi > st).all()
    assert bs.max() <= batch
    if timeout > 0 and batch > 1:
        # Triton semantics: nobody waits longer than the timeout for an idle replica to start
        assert bs.mean() > 1.0


def test_batching_fills_batches_under_load() -> None:
    rng = np.random.default_rng(5)
    n = 50_000
    a = np.cumsum(rng.standard_exponential(n) / 18.0)  # 18 rps on a replica of 20 rps max
    _, _, _, _, bs = fifo_batches(a, np.ones(n), ReplicaModel(0.4, 8, 0.5, 0.0))
    assert bs.mean() > 4  # near capacity the batches grow towards 8


def test_service_model_fit() -> None:
    a = allocation(batch=8, service_ms=None, throughput_rps=400.0, p50=20.0, p99=40.0)
    plan = make_plan([a])
    model, sigma = service_model(plan.allocations[0], fixed_fraction=0.5, timeout_s=0.0)
    assert model.s_full == pytest.approx(0.020)  # 8 / 400 rps
    assert sigma == pytest.approx(math.log(2.0) / 2.3263478740408408)
    assert model.factor(4) == pytest.approx(0.020 * 0.75)


def test_same_seed_same_json_and_other_seed_differs() -> None:
    plan = make_plan([allocation(replicas=(2, 3), batch=4, service_ms=20.0, p50=18.0, p99=40.0), allocation("spot", replicas=(1, 1), capacity_type="spot")], rps=(100.0, 200.0))
    for policy in ("weighted", "round-robin", "least-outstanding"):
        one = json.dumps(simulate(
            plan, duration_s=30, seed=4, policy=policy, failure="node", accelerators=ACCS,
        ).to_dict(), sort_keys=True)
        two = json.dumps(simulate(
            plan, duration_s=30, seed=4, policy=policy, failure="node", accelerators=ACCS,
        ).to_dict(), sort_keys=True)
        assert one == two
        three = json.dumps(simulate(
            plan, duration_s=30, seed=5, policy=policy, failure="node", accelerators=ACCS,
        ).to_dict(), sort_keys=True)
        assert three != one


def test_overloaded_plan_misses_slo_and_window_is_named() -> None:
    # 2 replicas of 100 rps capacity facing 150 rps in window 0 and 250 rps in window 1
    plan = make_plan([allocation(replicas=(2, 2), batch=1, service_ms=10.0)], rps=(150.0, 250.0), slo_ms=50.0)
    res = simulate(plan, duration_s=20, seed=1, accelerators=ACCS)
    assert not res.meets_slo and not res.ok
    assert res.worst_window == 1
    assert res.windows[1].attainment is not None and res.windows[1].attainment < 0.5
    assert res.windows[1].queue_max > res.windows[0].queue_max


def test_node_failure_breaks_a_tight_n_plus_1_plan_but_not_a_redundant_one() -> None:
    tight = make_plan([allocation(replicas=(2,), batch=1, service_ms=10.0)], rps=(150.0,), slo_ms=60.0)
    res = simulate(tight, duration_s=30, seed=2, failure="node", fail_at_s=3.0, accelerators=ACCS)
    assert res.failure is not None
    assert res.failure.lost == {"svc-g6-xlarge-od": 1}
    assert res.failure.claim_tested and not res.failure.holds
    roomy = make_plan([allocation(replicas=(3,), batch=1, service_ms=10.0)], rps=(150.0,), slo_ms=60.0)
    ok = simulate(roomy, duration_s=30, seed=2, failure="node", fail_at_s=3.0, accelerators=ACCS)
    assert ok.failure is not None and ok.failure.holds and ok.ok


REQUEST_FAILURE_KEYS = [
    "mode", "at_s", "window", "lost", "replacement_s", "replacement_basis", "back_at_s",
    "requests_after", "failed_requests", "attainment_after", "latency_after_ms",
    "requests_during", "attainment_during", "redundancy", "claim_tested", "holds",
    "static_weight_failures",
]


def test_an_outage_is_judged_on_its_own_requests_not_diluted_by_the_run() -> None:
    """Half the requests of a 100 s outage fail; 900 s of good requests follow. Over everything
    after the failure that is 95 % (the target), but the outage itself held 50 %: FAILS."""
    from scaleplan.simulate.failures import outage_attainment

    times = np.arange(0.0, 1100.0, 1.0)  # one request a second, failure at 100 s, back at 200 s
    good = ~((times >= 100) & (times < 200) & (times % 2 == 0))
    v = outage_attainment(times, good, 100.0, 200.0, 0.95)
    assert (v.requests_after, v.requests_during) == (1000, 100)
    assert v.attainment_after == pytest.approx(0.95) and v.attainment_during == pytest.approx(0.5)
    assert not v.holds
    assert outage_attainment(times, np.ones_like(good), 100.0, 200.0, 0.95).holds
    never_back = outage_attainment(times, good, 100.0, float("inf"), 0.95)
    assert never_back.requests_during == never_back.requests_after == 1000
    late = outage_attainment(times, good, 2000.0, 2100.0, 0.95)  # after the run: nothing to judge
    assert late.attainment_after is None and late.attainment_during is None and late.holds


def test_failure_stats_build_on_the_shared_verdict_and_keep_their_json_keys() -> None:
    """FailureStats adds its own fields to FailureVerdict (shared with the LLM simulator); the
    JSON's failure keys stay in their order."""
    from scaleplan.simulate.results import FailureStats, FailureVerdict

    assert issubclass(FailureStats, FailureVerdict)
    alloc = allocation(replicas=(3,), batch=1, service_ms=10.0)
    plan = make_plan([alloc], rps=(150.0,), slo_ms=60.0)
    res = simulate(plan, duration_s=10, seed=2, failure="node", fail_at_s=3.0, accelerators=ACCS)
    failure = json.loads(json.dumps(res.to_dict()))["failure"]
    assert list(failure) == REQUEST_FAILURE_KEYS
    assert list(failure["latency_after_ms"]) == ["p50", "p95", "p99", "mean", "max"]


def test_spot_and_zone_failures_take_the_right_replicas() -> None:
    plan = make_plan(
        [
            allocation("od", replicas=(2,), zones=("z-a", "z-b")),
            allocation("sp", replicas=(3,), capacity_type="spot", zones=("z-b",)),
        ],
        rps=(50.0,), redundancy="zone",
    )
    spot = simulate(plan, duration_s=10, failure="spot", fail_at_s=1.0, accelerators=ACCS)
    assert spot.failure is not None and spot.failure.lost == {"sp": 3}
    zone = simulate(plan, duration_s=10, failure="zone", fail_at_s=1.0, accelerators=ACCS)
    assert zone.failure is not None and zone.failure.lost == {"od": 1, "sp": 3}
    assert any("z-b" in n for n in zone.notes)
    # after the failure only "od" replica 0 serves
    assert zone.allocations[1].requests < spot.allocations[0].requests + spot.allocations[1].requests


def test_weighted_routing_follows_capacity_and_classes() -> None:
    plan = make_plan(
        [
            allocation("big", replicas=(1,), capacity=300.0, service_ms=2.0, routing={"long": 1.0}),
            allocation("small", replicas=(1,), capacity=100.0, service_ms=5.0, routing={"short": 1.0}),
        ],
        rps=(100.0,), classes={"long": 0.25, "short": 0.75},
    )
    res = simulate(plan, duration_s=60, seed=3, policy="weighted", accelerators=ACCS)
    big = res.allocations[0]
    assert big.requests / res.requests == pytest.approx(0.25, abs=0.02)
    unclassed = make_plan([allocation("big", replicas=(1,), capacity=300.0, service_ms=2.0), allocation("small", replicas=(1,), capacity=100.0, service_ms=5.0)], rps=(100.0,))
    res2 = simulate(unclassed, duration_s=60, seed=3, policy="weighted", accelerators=ACCS)
    assert res2.allocations[0].requests / res2.requests == pytest.approx(0.75, abs=0.02)


def test_auto_policy_follows_the_rendered_routing() -> None:
    """routing: service -> one Service, even split (round-robin); gateway-api -> capacity weights."""
    allocs = [allocation("big", replicas=(1,), capacity=300.0, service_ms=2.0), allocation("small", replicas=(1,), capacity=100.0, service_ms=5.0)]
    plan = make_plan(allocs, rps=(100.0,))
    assert plan.spec.kubernetes.routing == "service"
    even = simulate(plan, duration_s=60, seed=3, accelerators=ACCS)
    assert even.policy == "round-robin"
    assert even.allocations[0].requests / even.requests == pytest.approx(0.5, abs=0.02)
    k8s = plan.spec.kubernetes.model_copy(update={"routing": "gateway-api", "gateway": Gateway(name="gw")})
    gw = plan.model_copy(update={"spec": plan.spec.model_copy(update={"kubernetes": k8s})})
    weighted = simulate(gw, duration_s=60, seed=3, accelerators=ACCS)
    assert weighted.policy == "static-weights"  # the HTTPRoute's weights as rendered
    assert weighted.allocations[0].requests / weighted.requests == pytest.approx(0.75, abs=0.02)


def test_least_outstanding_beats_round_robin_on_mixed_speeds() -> None:
    plan = make_plan([allocation("fast", replicas=(1,), service_ms=4.0), allocation("slow", replicas=(1,), service_ms=16.0)], rps=(150.0,), slo_ms=40.0)
    rr = simulate(plan, duration_s=60, seed=1, policy="round-robin", accelerators=ACCS)
    lor = simulate(plan, duration_s=60, seed=1, policy="least-outstanding", accelerators=ACCS)
    assert lor.latency_ms.p99 is not None and rr.latency_ms.p99 is not None
    assert lor.latency_ms.p99 < rr.latency_ms.p99
    assert lor.allocations[0].requests > lor.allocations[1].requests


def test_replica_delta_and_replicas_follow_windows() -> None:
    plan = make_plan([allocation(replicas=(1, 4, 2), batch=1, service_ms=10.0)], rps=(50.0, 250.0, 120.0))
    res = simulate(plan, duration_s=20, seed=1, accelerators=ACCS)
    assert [sum(w.replicas.values()) for w in res.windows] == [1, 4, 2]
    fewer = simulate(plan, duration_s=20, seed=1, replica_delta=-1, accelerators=ACCS)
    assert [sum(w.replicas.values()) for w in fewer.windows] == [1, 3, 1]  # never below one
    assert fewer.attainment < res.attainment


def test_bursty_has_same_mean_rate_and_more_variance() -> None:
    plan = make_plan([allocation(replicas=(2,), batch=1, service_ms=10.0)], rps=(100.0,))
    po = simulate(plan, duration_s=600, seed=1, arrivals="poisson", accelerators=ACCS)
    bu = simulate(plan, duration_s=600, seed=1, arrivals="bursty", accelerators=ACCS)
    assert bu.requests == pytest.approx(po.requests, rel=0.05)
    assert bu.latency_ms.p99 is not None and po.latency_ms.p99 is not None
    assert bu.latency_ms.p99 > po.latency_ms.p99


def test_trace_arrivals_use_real_windows() -> None:
    plan = make_plan([allocation(replicas=(1, 2), batch=1, service_ms=10.0)], rps=(10.0, 20.0), window_hours=1.0)
    times = "\n".join(f"{t:.3f}" for t in [*np.arange(0, 60, 0.1), *np.arange(3600, 3660, 0.05)])
    tr = parse_trace("time_s\n" + times + "\n# end\n", "t.csv")
    res = simulate(plan, arrivals=tr, accelerators=ACCS)
    assert res.arrivals == "trace:t.csv"
    assert [w.window for w in res.windows] == [0, 1]
    assert [w.requests for w in res.windows] == [600, 1200]


def test_unsimulatable_plans() -> None:
    with pytest.raises(InfeasibleError):
        simulate(make_plan([allocation()], status="infeasible"), accelerators=ACCS)
    with pytest.raises(PlanError, match="no allocations"):
        simulate(make_plan([]), accelerators=ACCS)
    with pytest.raises(PlanError, match="0 replicas"):
        simulate(make_plan([allocation(replicas=(0,))]), accelerators=ACCS)
    # a per-window list of the wrong length no longer reaches simulate: the plan model
    # refuses it (tests/test_hardening_files.py, through the CLI with its line)
    with pytest.raises(ValueError, match=r"2 replicas_per_window values but demand\.windows is 1"):
        make_plan([allocation(replicas=(1, 1))], rps=(10.0,))


def test_bad_traces() -> None:
    from scaleplan.errors import InputError

    with pytest.raises(InputError, match="no arrival times"):
        parse_trace("# nothing\n", "t")
    with pytest.raises(InputError, match=r"^t:3: 'abc' is not a number") as err:
        parse_trace("t\n1.0\nabc\n", "t")
    assert err.value.problems[0].line == 3  # the line, named once (UX review 16 F3)
    with pytest.raises(InputError, match=">= 0"):
        parse_trace("1\n-2\n", "t")


def test_no_replica_running_counts_as_failed() -> None:
    plan = make_plan([allocation(replicas=(1, 0))], rps=(10.0, 10.0))
    res = simulate(plan, duration_s=20, seed=1, accelerators=ACCS)
    assert res.windows[1].failed == res.windows[1].requests > 0
    assert any("no replica" in n for n in res.notes)


def test_zone_failure_needs_zones() -> None:
    plan = make_plan([allocation(replicas=(2,), zones=())], rps=(50.0,), redundancy="zone")
    with pytest.raises(PlanError, match="zone loss cannot be placed"):
        simulate(plan, duration_s=5, failure="zone", accelerators=ACCS)


def _gateway_od_and_spot(spot_accelerator: str = "A10G", **kubernetes: object) -> Plan:
    """routing: gateway-api over 3 on-demand L4 replicas and 2 spot replicas on
    ``spot_accelerator`` (another GPU: a backend of its own; L4: gw-od's shape, one shared
    Service), 200 rps."""
    allocs = [
        allocation("gw-od", replicas=(3,), capacity=100.0, service_ms=5.0),
        allocation(
            "gw-spot", replicas=(2,), capacity=100.0, service_ms=5.0, capacity_type="spot",
            accelerator=spot_accelerator,
        ),
    ]
    plan = make_plan(allocs, rps=(200.0,), slo_ms=100.0)
    route = {"routing": "gateway-api", "gateway": Gateway(name="gw"), **kubernetes}
    k8s = plan.spec.kubernetes.model_copy(update=route)
    return plan.model_copy(update={"spec": plan.spec.model_copy(update={"kubernetes": k8s})})


def test_static_weights_replay_the_rendered_route_and_a_lost_share_fails(tables: Catalog) -> None:
    """routing: gateway-api: simulate replays exactly the HTTPRoute's weights; after a spot loss
    the spot allocation's fixed share goes to a Service without pods and every such request fails
    (it is not re-weighted onto the survivors, which a real Gateway would not do either)."""
    from scaleplan.kube.weights import route_weights
    from scaleplan.render import render_report

    gw = _gateway_od_and_spot()
    rendered = next(o.obj for o in render_report(gw, tables).objects if o.kind == "HTTPRoute")
    weights = {r["name"]: r["weight"] for r in rendered["spec"]["rules"][0]["backendRefs"]}
    assert weights == route_weights(gw) == {"gw-od": 60, "gw-spot": 40}
    calm = simulate(gw, duration_s=60, seed=5, accelerators=ACCS)
    assert calm.policy == "static-weights"
    assert calm.allocations[1].requests / calm.requests == pytest.approx(0.40, abs=0.02)
    res = simulate(gw, duration_s=60, seed=5, failure="spot", fail_at_s=20.0, accelerators=ACCS)
    f = res.failure
    assert f is not None and f.lost == {"gw-spot": 2}
    # about 40 % of the requests after the loss fail: the static share, not a re-weighted split
    assert f.static_weight_failures == pytest.approx(0.40 * f.requests_after, rel=0.08)
    assert not f.holds and any("static weights" in n for n in res.notes)
    # the old, re-weighting policy hides it
    reweighted = simulate(
        gw, duration_s=60, seed=5, failure="spot", fail_at_s=20.0, policy="weighted",
        accelerators=ACCS,
    )
    assert reweighted.failure is not None and reweighted.failure.static_weight_failures == 0


def test_a_backend_shared_with_on_demand_keeps_serving_through_a_spot_loss(tables: Catalog) -> None:
    """routing: gateway-api with a spot and an on-demand allocation of one shape: render puts
    both behind one Service (one backendRef, weight 100); when the spot pods are lost the
    Service's on-demand endpoints take every request, so nothing fails but what was in flight."""
    from scaleplan.kube.backends import backend_weights
    from scaleplan.render import render_report

    gw = _gateway_od_and_spot(spot_accelerator="L4")
    rendered = next(o.obj for o in render_report(gw, tables).objects if o.kind == "HTTPRoute")
    weights = {r["name"]: r["weight"] for r in rendered["spec"]["rules"][0]["backendRefs"]}
    assert weights == backend_weights(gw) == {f"{gw.spec.metadata.name}-l4-x1": 100}
    calm = simulate(gw, duration_s=60, seed=5, accelerators=ACCS)
    # the Service spreads over its 5 pods: the spot allocation serves 2 of 5 requests
    assert calm.allocations[1].requests / calm.requests == pytest.approx(0.40, abs=0.02)
    res = simulate(gw, duration_s=60, seed=5, failure="spot", fail_at_s=20.0, accelerators=ACCS)
    f = res.failure
    assert f is not None and f.lost == {"gw-spot": 2}
    assert f.static_weight_failures == 0 and f.holds
    assert f.failed_requests <= 5  # in flight on the lost pods at most (batch 1, 5 ms)
    assert res.allocations[0].requests > calm.allocations[0].requests * 1.3  # gw-od took the share
    assert not any("static weights sent" in n for n in res.notes)


def _with_flavor(plan, flavor: str):  # type: ignore[no-untyped-def]
    k8s = plan.spec.kubernetes.model_copy(update={"flavor": flavor})
    return plan.model_copy(update={"spec": plan.spec.model_copy(update={"kubernetes": k8s})})


DAY = 1800.0  # simulated seconds: the spot loss at 100 s is back at 910 s


def test_a_spot_loss_comes_back_where_render_falls_back_on_demand() -> None:
    """The request-level simulator follows the rendered manifests' failure story, as the
    token-level one does: on eks-karpenter the lost spot pods come back on the on-demand
    fallback NodePool after node start + image pull + the rendered startup probe's window (600 s
    for a server without a model source), so the HTTPRoute's static share fails only until
    then; flavors that pin spot pods to spot nodes get nothing back."""
    from scaleplan.simulate.failures import replacement_delay

    gw = _gateway_od_and_spot(flavor="eks-karpenter")
    delay, _ = replacement_delay(gw, gw.allocations[1])
    assert delay == 90 + 120 + 600
    res = simulate(gw, duration_s=DAY, seed=5, failure="spot", fail_at_s=100.0, accelerators=ACCS)
    f = res.failure
    assert f is not None and f.lost == {"gw-spot": 2}
    assert f.back_at_s == pytest.approx(100.0 + delay)
    assert "fallback NodePool" in f.replacement_basis
    # the static 40 % fails for the outage only, then the replacements serve their share
    assert f.static_weight_failures == pytest.approx(0.40 * 200.0 * delay, rel=0.08)
    assert res.allocations[1].requests == pytest.approx(0.40 * 200.0 * (DAY - delay), rel=0.05)
    outage_share = 0.40 * 200.0 * delay / f.requests_after
    assert f.attainment_after == pytest.approx(1.0 - outage_share, abs=0.01)
    # pinned to spot nodes (eks, gke, aks): the share fails for the rest of the run
    for flavor in ("eks", "gke"):
        pinned = simulate(
            _with_flavor(gw, flavor), duration_s=DAY, seed=5, failure="spot", fail_at_s=100.0,
            accelerators=ACCS
        )
        p = pinned.failure
        assert p is not None and p.back_at_s == math.inf
        assert f"{flavor} pins spot pods" in p.replacement_basis
        assert p.static_weight_failures == pytest.approx(0.40 * p.requests_after, rel=0.08)
    # --replace-after overrides the story, in both directions
    given = simulate(
        _with_flavor(gw, "gke"), duration_s=DAY, seed=5, failure="spot", fail_at_s=100.0,
        replace_after_s=50.0, accelerators=ACCS,
    )
    assert given.failure is not None and given.failure.back_at_s == pytest.approx(150.0)


def test_both_simulators_bring_a_loss_back_at_the_same_time() -> None:
    """One failure story: for the same LLM plan and failure the request-level and token-level
    simulators place the loss and its replacements identically (failures.recovery)."""
    from llm_sim_helpers import llm_plan

    from scaleplan.simulate.llm import simulate_llm

    plan = llm_plan(rps=4.0, replicas=2, allocations=2, routing="gateway-api")
    a1 = plan.allocations[1].model_copy(update={"capacity_type": "spot"})
    plan = plan.model_copy(update={"allocations": (plan.allocations[0], a1)})
    for flavor, mode in (("eks-karpenter", "spot"), ("eks", "spot"), ("eks", "node")):
        p = _with_flavor(plan, flavor)
        req = simulate(
            p, duration_s=500.0, failure=mode, fail_at_s=100.0, accelerators=ACCS,
        ).failure
        tok = simulate_llm(
            p, duration_s=500.0, failure=mode, fail_at_s=100.0, accelerators=ACCS,
        ).failure
        assert req is not None and tok is not None
        assert (req.lost, req.at_s, req.replacement_s, req.back_at_s, req.replacement_basis) == (
            tok.lost, tok.at_s, tok.replacement_s, tok.back_at_s, tok.replacement_basis,
        ), (flavor, mode)


def test_no_window_or_allocation_reads_more_than_fully_busy() -> None:
    """vision-daily's replicas run ~100 % busy (a batch launches whenever one is free): a batch
    running past its window's end was counted whole in that window, and a replica the next
    window no longer runs was busy there draining its queue with no running time counted, so
    windows read 100.01 % (UX review 6 #6). Busy time now splits at the window's end and a
    draining replica's time counts as running."""
    from pathlib import Path

    from scaleplan.plan import read_plan

    plan = read_plan(Path(__file__).parent.parent / "examples" / "vision-daily" / "plan.yaml")
    res = simulate(plan, duration_s=20.0, seed=1, accelerators=ACCS)
    utils = [w.utilization for w in res.windows if w.utilization is not None]
    assert len(utils) == 24 and max(utils) <= 1.0 + 1e-12, max(utils)
    assert max(utils) > 0.99  # the busy windows are still read as (nearly) fully busy
    assert all(a.utilization is not None and a.utilization <= 1.0 + 1e-12 for a in res.allocations)


def test_a_trace_of_times_reads_iso_times_and_refuses_mixed_clocks() -> None:
    """A one-column trace (request-level, or an LLM trace of times only) read no ISO 8601 time
    (the first was taken for a header, the next 'not a number'), and one that mixed epoch
    seconds with seconds of the day ('10' then '1765026000') was replayed over 56 years of
    windows (over 100 s for two requests). ISO times with an offset are read as --trace reads
    them in an LLM trace; a mix is refused at its first line read the other way."""
    from scaleplan.errors import InputError

    tr = parse_trace("2025-12-06T13:00:05Z\n2025-12-06T13:00:06Z\n", "iso")
    assert tr.times.tolist() == [1765026005.0, 1765026006.0]
    with pytest.raises(InputError) as err:
        parse_trace("time\n10\n# a comment\n1765026000\n", "mix")
    p = err.value.problems[0]
    assert p.line == 4 and "epoch seconds" in p.message and "line 2" in p.message, p.message
