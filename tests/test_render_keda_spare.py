"""A ScaledObject holds the plan's redundancy spare (n+1: a node; zone: the worst zone's
nodes) that its threshold alone drops: ``advanced.scalingModifiers`` writes the plan's count as
a step function of the trigger's metric, and the HPA under it (target 1, AverageValue) asks for
that count. These tests read the rendered formula back (scaleplan.render.formula, the one reader
simulate and check use too: it refuses anything outside what render writes), evaluate it and the
HPA's count from it (:func:`hpa_replicas`) at several demand levels, against the plan's own rule
and the plan's counts; the threshold alone is evaluated beside it, ceil(metric / threshold)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from tables_helpers import shipped_tables
from test_render_hpa_spare import SPEC

from scaleplan.plan import Plan, read_plan
from scaleplan.render import render_report
from scaleplan.render.formula import parse_formula

ROOT = Path(__file__).resolve().parents[1]
QUERY = 'sum(rate(http_requests_total{namespace="inference",service="mistral"}[2m]))'


def _with(plan: Plan, **autoscaler: Any) -> Plan:
    k8s = plan.spec.kubernetes
    if "prometheus" in autoscaler:
        prom = k8s.autoscaler.prometheus
        autoscaler["prometheus"] = prom.model_copy(update=autoscaler["prometheus"])
    asc = k8s.autoscaler.model_copy(update=autoscaler)
    spec = plan.spec.model_copy(update={"kubernetes": k8s.model_copy(update={"autoscaler": asc})})
    return plan.model_copy(update={"spec": spec})


def _scaled_objects(plan: Plan) -> dict[str, dict[str, Any]]:
    objs = render_report(plan, shipped_tables()).objects
    return {
        o.obj["spec"]["scaleTargetRef"]["name"]: o.obj for o in objs if o.kind == "ScaledObject"
    }


def evaluate(formula: str, env: dict[str, float]) -> float:
    """The formula's value with the triggers' metrics ``env`` (trigger name -> value)."""
    return parse_formula(formula).count(env)


def hpa_replicas(
    value: float, target: float, current: int, lo: int, hi: int, tolerance: float = 0.1
) -> int:
    """The HPA's count for an External metric at ``value`` against an AverageValue ``target``
    from ``current`` pods (KEDA hands the composite metric as milli-units), within [lo, hi]."""
    milli = math.floor(value * 1000) / 1000
    if current > 0 and abs(1.0 - milli / (target * current)) <= tolerance:
        want = current
    else:
        want = math.ceil(milli / target)
    return max(lo, min(hi, want))


def _asks(so: dict[str, Any], metric: float, current: int = 0) -> int:
    """The pods KEDA's HPA runs at ``metric`` (the one trigger's value) from ``current``."""
    spec = so["spec"]
    (trig,) = spec["triggers"]
    mods = spec["advanced"]["scalingModifiers"]
    assert mods["target"] == "1" and mods["metricType"] == "AverageValue"
    value = evaluate(mods["formula"], {trig["name"]: metric})
    lo, hi = spec["minReplicaCount"], spec["maxReplicaCount"]
    if value <= 0:  # not active: KEDA leaves it at minReplicaCount
        return lo
    return hpa_replicas(value, 1.0, current, max(1, lo), hi)


def _threshold_asks(so: dict[str, Any], metric: float) -> int:
    (trig,) = so["spec"]["triggers"]
    md = trig["metadata"]
    t = float(md.get("threshold") or md.get("lagThreshold") or md.get("value"))
    spec = so["spec"]
    return min(spec["maxReplicaCount"], max(spec["minReplicaCount"], math.ceil(metric / t - 1e-9)))


@pytest.fixture(scope="module")
def mistral(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The Mistral-7B n+1 plan with a 16 rps peak (test_render_hpa_spare's day): 4 H100 pods at
    the peak, where 19.2 rps with the 20 % headroom fits 3 (6.894 rps a pod; a 20 rps peak at
    8.311 until 2026-12-07's table refit raised H100 x vLLM's step overhead; a 25 rps peak at
    10.75 until a decode step carried whole prompts, docs/llm.md; 8.742 until the replica was
    derated as one queue for its class mix, tests/test_llm_queue_slots.py)."""
    from typer.testing import CliRunner

    from scaleplan.cli import app

    d = tmp_path_factory.mktemp("mistral")
    (d / "spec.yaml").write_text(SPEC.replace("13,13,12", "16,13,12"), encoding="utf-8")
    res = CliRunner().invoke(app, ["optimize", str(d / "spec.yaml"), "--out", str(d / "o")])
    assert res.exit_code == 0, res.output
    return read_plan(d / "o" / "plan.yaml")


def test_keda_holds_the_n1_spare_the_threshold_drops(mistral: Plan) -> None:
    (a,) = mistral.allocations
    cap, rates = a.capacity_rps_per_replica, mistral.demand.rps
    assert max(a.replicas_per_window) == 4 and math.ceil(16 * 1.2 / cap) == 3
    (so,) = _scaled_objects(_with(mistral, type="keda-prometheus",
                                  prometheus={"query": QUERY})).values()
    # the plan's count in every hour, where the threshold alone drops the spare at the peak
    for w, n in enumerate(a.replicas_per_window):
        assert _asks(so, rates[w]) == max(n, so["spec"]["minReplicaCount"]), (w, rates[w], n)
    assert _threshold_asks(so, 16) == 3 and _asks(so, 16) == 4
    # as docs/render.md shows it
    assert so["spec"]["advanced"]["scalingModifiers"]["formula"] == (
        "float(requests <= 0 ? 0 : requests <= 6.894 ? 2 : requests <= 13.788 ? 3 : 4)")
    # at other demand levels: the plan's rule, max(ceil(d x 1.2 / cap), ceil(d / cap) + 1)
    for d in (0.5, 3, 7, 10, 12.5, 18, 24, 25, 31, 40):
        rule = max(math.ceil(d * 1.2 / cap), math.ceil(d / cap) + 1)
        want = min(so["spec"]["maxReplicaCount"], max(so["spec"]["minReplicaCount"], rule))
        assert _asks(so, d) == want, (d, rule)
        assert _asks(so, d) >= _threshold_asks(so, d)
    # at zero demand KEDA is not active (the composite metric is 0)
    assert evaluate(so["spec"]["advanced"]["scalingModifiers"]["formula"], {"requests": 0}) == 0


def test_the_hpa_tolerance_does_not_hold_a_pod_too_few(mistral: Plan) -> None:
    """The formula's value is the count itself, so from one pod fewer (or more) the HPA's ratio
    is n / (n - 1), outside its 10 % tolerance below 11 pods: it moves to the plan's count. A
    fractional x + 1 (the demand over the capacity plus the spare) would stay: at 15 rps from 3
    pods 15 / 6.894 + 1 = 3.18 is within 10 % of 3."""
    (a,) = mistral.allocations
    cap = a.capacity_rps_per_replica
    (so,) = _scaled_objects(_with(mistral, type="keda-prometheus",
                                  prometheus={"query": QUERY})).values()
    hi = so["spec"]["maxReplicaCount"]
    for d in (3, 7, 10, 12.5, 18, 24, 25):
        n = _asks(so, d)
        for cur in (n - 1, n + 1):
            if 1 <= cur <= hi:
                assert _asks(so, d, current=cur) == n, (d, n, cur)
    assert hpa_replicas(15 / cap + 1, 1.0, 3, 1, hi) == 3  # what x + 1 would have done
    assert _asks(so, 15, current=3) == 4


def test_keda_holds_the_zone_spare_in_every_hour() -> None:
    """vision-daily (zone over 3 zones, one g2 pod a node) under KEDA: the worst zone's nodes
    are ceil(m / 2) for m the nodes the demand needs, so 5 at 4,400 rps (m = 3) and 3 at 2,480
    (m = 2): the formula runs the plan's count in every hour; the threshold alone runs 3 at
    the peak."""
    plan = read_plan(ROOT / "examples" / "vision-daily" / "plan.yaml")
    assert plan.spec.placement.redundancy == "zone"
    (a,) = plan.allocations
    (so,) = _scaled_objects(_with(plan, type="keda-prometheus")).values()
    for w, n in enumerate(a.replicas_per_window):
        assert _asks(so, plan.demand.rps[w]) == n, (w, plan.demand.rps[w], n)
    assert _threshold_asks(so, 4400) == 3 and _asks(so, 4400) == 5
    cap = a.capacity_rps_per_replica
    for d in (100, 1000, 2200, 3000, 4300, 5000, 6000):
        m = math.ceil(d / cap)
        rule = max(math.ceil(d * 1.2 / cap), m + math.ceil(m / 2))
        assert _asks(so, d) == min(so["spec"]["maxReplicaCount"], rule), d


def test_kafka_lag_keeps_a_spare_node_per_allocation() -> None:
    """embedding-kafka (n+1): each allocation's lag threshold drains its share in drain_seconds;
    the formula adds a node of replicas (3 for c7i.xlarge, 1 for g4dn)."""
    plan = read_plan(ROOT / "examples" / "embedding-kafka" / "plan.yaml")
    sos = _scaled_objects(plan)
    by_name = {a.name: a for a in plan.allocations}
    assert sos
    for name, so in sos.items():
        q = by_name[name].replicas_per_node
        (trig,) = so["spec"]["triggers"]
        lag_t = float(trig["metadata"]["lagThreshold"])
        for lag in (1, 0.7 * lag_t, 2.5 * lag_t, 4 * lag_t, 9.2 * lag_t):
            rule = q * (math.ceil(lag / lag_t / q) + 1)
            want = min(so["spec"]["maxReplicaCount"], max(so["spec"]["minReplicaCount"], rule))
            assert _asks(so, lag) == want, (name, lag / lag_t)
            assert _threshold_asks(so, lag) <= _asks(so, lag)
        if so["spec"]["maxReplicaCount"] >= 2 * q:  # room for the spare node
            assert _threshold_asks(so, 0.7 * lag_t) == 1 and _asks(so, 0.7 * lag_t) == 2 * q


def test_no_formula_without_redundancy_or_where_the_triggers_hold_the_count(mistral: Plan) -> None:
    """Redundancy none: the threshold asks for the plan's rule, nothing to add. Hour-gated
    triggers (thresholds that give the plan's count at its demand), cron floors and the LLM
    engine triggers are written as before, without a formula."""
    bare = mistral.model_copy(update={"spec": mistral.spec.model_copy(update={
        "placement": mistral.spec.placement.model_copy(update={"redundancy": "none"})})})
    (so,) = _scaled_objects(_with(bare, type="keda-prometheus",
                                  prometheus={"query": QUERY})).values()
    assert "scalingModifiers" not in so["spec"]["advanced"]
    engine = _with(mistral, type="keda-prometheus")  # vLLM's own metrics
    (so,) = _scaled_objects(engine).values()
    assert {t["name"] for t in so["spec"]["triggers"]} >= {"in-flight"}
    assert "scalingModifiers" not in so["spec"]["advanced"]
    # and render says so, with the fix that holds it (a request-rate query: the formula)
    said = [w for w in render_report(engine, shipped_tables()).warnings if "in flight" in w]
    assert said == [
        "1 ScaledObject scales on the engine's requests in flight and KV-cache use, which ask for "
        "the pods the load fills, not the plan's n+1 spare: mistral-p5-4xlarge-od (4 at the "
        "peak); only minReplicaCount holds it. To hold it at any rate set "
        "kubernetes.autoscaler.prometheus.query to the Service's request rate (the ScaledObject "
        "then runs the plan's count, spare included), or cron: true (the plan's count as a "
        "floor in its hours)"
    ]
    assert not [w for w in render_report(_with(mistral, type="keda-prometheus", cron=True),
                                         shipped_tables()).warnings if "in flight" in w]
    assert not [w for w in render_report(_with(bare, type="keda-prometheus"),
                                         shipped_tables()).warnings if "in flight" in w]
    emb = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")  # gated + cron
    for so in _scaled_objects(emb).values():
        assert "scalingModifiers" not in so["spec"]["advanced"]


def test_the_rendered_scaled_objects_are_valid_keda(mistral: Plan) -> None:
    from render_helpers import KUBE_VERSIONS

    from scaleplan.check.schema_cache import validate_object

    plans = [_with(mistral, type="keda-prometheus", prometheus={"query": QUERY}),
             _with(read_plan(ROOT / "examples" / "vision-daily" / "plan.yaml"),
                   type="keda-prometheus"),
             read_plan(ROOT / "examples" / "embedding-kafka" / "plan.yaml")]
    for plan in plans:
        for so in _scaled_objects(plan).values():
            assert "scalingModifiers" in so["spec"]["advanced"]
            for v in KUBE_VERSIONS:
                assert validate_object(so, v) == []
            # every name in the formula is a trigger's (KEDA compiles it against them)
            names = {t["name"] for t in so["spec"]["triggers"]}
            formula = so["spec"]["advanced"]["scalingModifiers"]["formula"]
            evaluate(formula, dict.fromkeys(names, 1.0))
            assert yaml.safe_load(yaml.safe_dump(so)) == so


def test_a_formula_past_its_step_cap_still_reaches_max_replica_count(mistral: Plan) -> None:
    """The formula holds at most MAX_STEPS bounds; a peak of 700 one-pod nodes needs more. Past
    its last bound the formula asks for maxReplicaCount (more than the plan's rule there, never
    fewer): it asked for the count at its last bound, 586, so KEDA never went past it."""
    (a,) = mistral.allocations
    per_window = tuple(700 if n == 4 else n for n in a.replicas_per_window)  # the peak's
    big = a.model_copy(update={"replicas": 700, "nodes": 700, "replicas_per_window": per_window,
                               "nodes_per_window": per_window})
    plan = _with(mistral.model_copy(update={"allocations": (big,)}), type="keda-prometheus",
                 prometheus={"query": QUERY})
    (so,) = _scaled_objects(plan).values()
    assert so["spec"]["maxReplicaCount"] == 700
    cap = a.capacity_rps_per_replica
    for d in (700 * cap, 2000 * cap):
        assert _asks(so, d) == 700, d
    for d in (10.5 * cap, 300.5 * cap):  # below the cap, the plan's rule: n+1 with one pod a node
        assert _asks(so, d) == max(math.ceil(d * 1.2 / cap - 1e-9), math.ceil(d / cap - 1e-9) + 1)


def test_the_engine_warning_names_only_the_metrics_the_triggers_read(mistral: Plan) -> None:
    """TGI exports no KV-cache use: its ScaledObject has the in-flight trigger alone, and the
    warning does not name a KV-cache trigger it does not have."""
    plan = _with(mistral, type="keda-prometheus")
    k8s = plan.spec.kubernetes.model_copy(
        update={"image": "ghcr.io/huggingface/text-generation-inference:3.3.4"})
    model = plan.spec.model.model_copy(update={"engine": "tgi"})
    tgi = plan.model_copy(update={"spec": plan.spec.model_copy(
        update={"kubernetes": k8s, "model": model})})
    (so,) = _scaled_objects(tgi).values()
    assert [t["name"] for t in so["spec"]["triggers"]] == ["in-flight"]
    (said,) = [w for w in render_report(tgi, shipped_tables()).warnings if "in flight" in w]
    assert said.startswith("1 ScaledObject scales on the engine's requests in flight, which "
                           "ask for the pods the load fills, not the plan's n+1 spare"), said
