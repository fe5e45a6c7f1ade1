"""The replicas the rendered autoscalers run in each window of the plan (``simulate --replicas
autoscaler``): the plan is rendered, and each allocation's HPA or ScaledObject is evaluated at
the window's planned rate, in steady state (the HPA's ``ceil(metric / target)``, KEDA's largest
trigger or its scalingModifiers formula, clamped to the object's bounds; no stabilization, no
tolerance, no lag). Where a metric is not a function of the planned rate (CPU or GPU use, an
LLM engine's requests in flight and KV use, a queue's lag) or depends on other allocations'
counts (an rps HPA beside other autoscaled allocations, a gateway-api backend's rate), there is
nothing to replay and :class:`Unreplayable` says which and why. An rps HPA beside Deployments
of fixed replicas only (a burst plan's owned allocations, held at their peak) is replayed at its
steady state there (:func:`~scaleplan.render.burst.burst_pods`). Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from scaleplan.catalog.model import Catalog
from scaleplan.plan import Allocation, Plan
from scaleplan.render.formula import (
    PLANNED_HOURS_TRIGGER,
    FormulaError,
    gate_runs,
    in_gate,
    parse_formula,
)

Obj = Mapping[str, Any]


class Unreplayable(ValueError):
    """An autoscaler whose count at a planned rate cannot be known from the plan."""


def quantity(q: object) -> float:
    s = str(q)
    return float(s[:-1]) / 1000 if s.endswith("m") else float(s)


def formula_count(formula: str, metrics: Mapping[str, float]) -> int:
    """The count of a formula :mod:`scaleplan.render.spare` writes (``var <= bound ? n : ...
    : last``) at ``metrics`` (trigger name -> value), read by :mod:`scaleplan.render.formula`;
    :class:`Unreplayable` for a formula outside the subset render writes."""
    try:
        return parse_formula(formula).count(metrics)
    except FormulaError as exc:
        raise Unreplayable(f"a ScaledObject's scalingModifiers: {exc}") from None


def cron_active(md: Mapping[str, str], minute: int) -> bool:
    """A daily cron trigger (``m h * * *`` start and end, UTC) at ``minute`` of the day."""
    s_m, s_h = (int(x) for x in md["start"].split()[:2])
    e_m, e_h = (int(x) for x in md["end"].split()[:2])
    s, e = s_h * 60 + s_m, e_h * 60 + e_m
    return s <= minute < e if s < e else (minute >= s or minute < e)


def trigger_metric(plan: Plan, trig: Obj, w: int, rate: float | None = None) -> float:
    """A request-rate trigger's value at window ``w``'s planned rate, or at ``rate`` (the
    Service's rate a surge's autoscaler reads), 0 outside its gate."""
    name = str(trig.get("name", ""))
    if name in ("in-flight", "kv-cache"):
        raise Unreplayable(
            "a ScaledObject on the LLM engine's requests in flight and KV-cache use: those come "
            "from the pods' load, not the planned rate"
        )
    rate = plan.demand.rps[w] if rate is None else rate
    if name == PLANNED_HOURS_TRIGGER or name.startswith(f"{PLANNED_HOURS_TRIGGER}-"):
        try:
            runs = gate_runs(str(trig["metadata"].get("query", "")))
        except FormulaError as exc:
            raise Unreplayable(f"a trigger gated to the plan's hours: {exc}") from None
        rate = rate if in_gate(runs, round(w * plan.demand.window_hours * 60)) else 0.0
    return rate


def _scaled_object_count(plan: Plan, so: Obj, w: int) -> int:
    spec = so["spec"]
    lo, hi = int(spec.get("minReplicaCount", 0)), int(spec.get("maxReplicaCount", 100))
    mods = spec.get("advanced", {}).get("scalingModifiers")
    metrics: dict[str, float] = {}
    asks: list[int] = []
    for trig in spec["triggers"]:
        kind = trig["type"]
        if kind == "cron":
            md = trig["metadata"]
            on = cron_active(md, round(w * plan.demand.window_hours * 60))
            asks.append(int(md["desiredReplicas"]) if on else 0)
            continue
        if kind != "prometheus":
            raise Unreplayable(
                f"a ScaledObject on {kind}: a queue's length is not a function of the planned rate"
            )
        k8s = plan.spec.kubernetes
        if k8s.routing == "gateway-api" and k8s.autoscaler.prometheus.query is None:
            raise Unreplayable(
                "a ScaledObject on a gateway-api backend Service's rate: it follows the route's "
                "weights over every backend's pods"
            )
        value = trigger_metric(plan, trig, w)
        metrics[str(trig["name"])] = value
        if mods is None:
            asks.append(math.ceil(value / float(trig["metadata"]["threshold"]) - 1e-9))
    if mods is not None:
        asks.append(formula_count(str(mods["formula"]), metrics))
    want = max(asks, default=0)
    if want <= 0:  # no trigger active: KEDA holds minReplicaCount
        return lo
    return max(lo, 1, min(hi, want))


def _hpa_count(
    plan: Plan, hpa: Obj, w: int, a: Allocation, fixed: Sequence[tuple[int, float]],
    scaled: Sequence[Allocation],
) -> int:
    """An rps HPA's pods at window ``w``'s planned rate: alone, or as the one autoscaled
    allocation beside Deployments of fixed replicas (``fixed``: pods, capacity per pod; e.g.
    owned allocations render holds at their peak) behind one Service or InferencePool, where
    it adds what the fixed pods do not carry at its target (:func:`burst_pods`)."""
    from scaleplan.render.burst import burst_pods

    spec = hpa["spec"]
    (metric,) = spec["metrics"]
    if metric["type"] != "Pods" or plan.spec.kubernetes.autoscaler.hpa.metric != "rps":
        raise Unreplayable(
            f"an HPA on {plan.spec.kubernetes.autoscaler.hpa.metric} utilization: it comes from "
            "the pods' load, not the planned rate"
        )
    routing = plan.spec.kubernetes.routing
    others = len(scaled) > 1 or (routing == "gateway-api" and any(n for n, _ in fixed))
    if others:
        raise Unreplayable(
            "an rps HPA beside other autoscaled allocations (or, under gateway-api, beside any "
            "other): each pod's rate depends on every allocation's count"
        )
    target = quantity(metric["pods"]["target"]["averageValue"])
    want = burst_pods(routing, plan.demand.rps[w], target, a, fixed, scaled)
    return max(int(spec.get("minReplicas", 1)), min(int(spec["maxReplicas"]), want))


def autoscaled_counts(plan: Plan, catalog: Catalog) -> dict[str, tuple[int, ...]]:
    """Allocation name -> the replicas its rendered autoscaler (or fixed count) runs in each
    window at the planned rate. Raises :class:`Unreplayable`."""
    from scaleplan.kube.safety import sanitize_dns_label
    from scaleplan.render import render_report

    objs = list(render_report(plan, catalog).objects)
    scalers = {
        str(o.obj["spec"]["scaleTargetRef"]["name"]): o.obj
        for o in objs if o.kind in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    fixed = {o.name: o.obj["spec"].get("replicas") for o in objs if o.kind == "Deployment"}
    live = [a for a in plan.allocations if any(a.replicas_per_window)]
    held = [
        (int(fixed[nm]), a.capacity_rps_per_replica) for a in live
        if (nm := sanitize_dns_label(a.name)) not in scalers and fixed.get(nm) is not None
    ]
    scaled = [a for a in live if sanitize_dns_label(a.name) in scalers]
    out: dict[str, tuple[int, ...]] = {}
    for a in plan.allocations:
        name = sanitize_dns_label(a.name)
        scaler = scalers.get(name)
        if scaler is None:
            count = fixed.get(name)
            n = len(a.replicas_per_window)
            out[a.name] = a.replicas_per_window if count is None else (int(count),) * n
            continue
        out[a.name] = tuple(
            _hpa_count(plan, scaler, w, a, held, scaled)
            if scaler["kind"] == "HorizontalPodAutoscaler"
            else _scaled_object_count(plan, scaler, w)
            for w in range(plan.demand.windows)
        )
    return out


def with_counts(plan: Plan, counts: Mapping[str, Sequence[int]]) -> Plan:
    """``plan`` with each allocation's replicas (and whole nodes) per window from ``counts``."""
    allocs: list[Allocation] = []
    for a in plan.allocations:
        c = tuple(int(x) for x in counts[a.name])
        nodes = tuple(math.ceil(x / a.replicas_per_node) for x in c)
        allocs.append(a.model_copy(update={
            "replicas_per_window": c, "nodes_per_window": nodes,
            "replicas": max(c, default=0), "nodes": max(nodes, default=0),
        }))
    return plan.model_copy(update={"allocations": allocs})


def replay_note(plan: Plan, counts: Mapping[str, Sequence[int]]) -> str:
    """What ``simulate --replicas autoscaler`` replays, and where it differs from the plan."""
    diffs = []
    for a in plan.allocations:
        got = tuple(counts[a.name])
        pairs = zip(a.replicas_per_window, got, strict=True)
        hours = [w for w, (p, r) in enumerate(pairs) if p != r]
        if hours:
            w = max(hours, key=lambda k: (plan.demand.rps[k], -k))
            diffs.append(f"{a.name} in {len(hours)} of {len(got)} windows (window {w}: "
                         f"{got[w]} where the plan runs {a.replicas_per_window[w]})")
    said = "; ".join(diffs) if diffs else "the same as the plan's in every window"
    return ("replicas: what the rendered autoscalers run at each window's planned rate (steady "
            f"state), not the plan's counts: {said}")
