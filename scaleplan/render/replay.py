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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from scaleplan.catalog.model import Catalog
from scaleplan.kube.quantity import quantity as read_quantity
from scaleplan.plan import Allocation, Plan
from scaleplan.render.formula import (
    PLANNED_HOURS_TRIGGER,
    FormulaError,
    gate_runs,
    in_gate,
    parse_formula,
)

Obj = Mapping[str, Any]


HPA_TOLERANCE = 0.1  # kube-controller-manager --horizontal-pod-autoscaler-tolerance
SETTLE_SYNCS = 100  # rps HPAs beside each other: the syncs replayed before giving up


def hpa_proposal(cur: int, value: float, target: float) -> int:
    """Kubernetes' HPA rule for one metric (``value``: the metric summed over the current
    ``cur`` pods, ``target`` a pod's): ``cur`` while value / (target x cur) is within the 10 %
    tolerance, else ceil(value / target). The replay's settling HPAs and a surge's polls both
    ask through it."""
    if cur > 0 and abs(value / (target * cur) - 1.0) <= HPA_TOLERANCE:
        return cur
    return math.ceil(value / target - 1e-9)


class Unreplayable(ValueError):
    """An autoscaler whose count at a planned rate cannot be known from the plan."""


def quantity(q: object) -> float:
    """A Kubernetes quantity render wrote (an HPA's ``averageValue``: ``1500m``, ``2``) as a
    float (:func:`scaleplan.kube.quantity.quantity`); ValueError when it is none."""
    v = read_quantity(q)
    if v is None:
        raise ValueError(f"not a Kubernetes quantity: {q!r}")
    return float(v)


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


class Rendered(NamedTuple):
    """What render writes for a plan's autoscaling: Deployment name -> its HorizontalPodAutoscaler
    or ScaledObject, and Deployment name -> its ``spec.replicas`` (None: an autoscaler sets it)."""

    scalers: dict[str, Obj]
    replicas: dict[str, Any]


def rendered_scalers(plan: Plan, catalog: Catalog) -> Rendered:
    """The plan rendered (:func:`scaleplan.render.render_report`), its autoscalers and counts."""
    from scaleplan.render import render_report

    objs = list(render_report(plan, catalog).objects)
    return Rendered(
        {
            str(o.obj["spec"]["scaleTargetRef"]["name"]): o.obj
            for o in objs if o.kind in ("HorizontalPodAutoscaler", "ScaledObject")
        },
        {o.name: o.obj["spec"].get("replicas") for o in objs if o.kind == "Deployment"},
    )


def is_rate_trigger(trig: Obj) -> bool:
    """A prometheus trigger on the request rate (not the LLM engine's in flight or KV use)."""
    return trig["type"] == "prometheus" and trig.get("name") not in ("in-flight", "kv-cache")


def check_scaled_object(plan: Plan, so: Obj) -> None:
    """:class:`Unreplayable` for a trigger neither a replay nor a simulation can read: a queue's
    (Kafka, RabbitMQ), or a gateway-api backend Service's rate."""
    k8s = plan.spec.kubernetes
    for trig in so["spec"]["triggers"]:
        if trig["type"] not in ("prometheus", "cron"):
            raise Unreplayable(
                f"a ScaledObject on {trig['type']}: a queue's length is neither a function of "
                "the planned rate nor simulated"
            )
        if is_rate_trigger(trig) and k8s.routing == "gateway-api" and (
            k8s.autoscaler.prometheus.query is None
        ):
            raise Unreplayable(
                "a ScaledObject on a gateway-api backend Service's rate: it follows the route's "
                "weights over every backend's pods"
            )


def scaled_object_asks(
    plan: Plan, so: Obj, w: int, metric_of: Callable[[Obj], float],
) -> list[tuple[float, float]]:
    """What each of a ScaledObject's triggers asks for in window ``w``, as (value, target per
    pod): a daily cron its ``desiredReplicas`` while active (else 0) at target 1, a prometheus
    trigger ``metric_of(trigger)`` against its threshold; a ``scalingModifiers`` formula replaces
    the prometheus triggers by its count (the crons kept). The one reading of a ScaledObject that
    the steady-state replay (``metric_of``: the planned rate) and a surge's polls (the
    simulation's metrics) share; :func:`check_scaled_object` first."""
    spec = so["spec"]
    mods = spec.get("advanced", {}).get("scalingModifiers")
    minute = round(w * plan.demand.window_hours * 60)
    metrics: dict[str, float] = {}
    asks: list[tuple[float, float]] = []
    for trig in spec["triggers"]:
        md = trig["metadata"]
        if trig["type"] == "cron":
            asks.append((float(md["desiredReplicas"]) if cron_active(md, minute) else 0.0, 1.0))
            continue
        value = metric_of(trig)
        metrics[str(trig.get("name", ""))] = value
        if mods is None:
            asks.append((value, float(md["threshold"])))
    if mods is not None:
        asks.append((float(formula_count(str(mods["formula"]), metrics)), 1.0))
    return asks


def _scaled_object_count(plan: Plan, so: Obj, w: int) -> int:
    spec = so["spec"]
    lo, hi = int(spec.get("minReplicaCount", 0)), int(spec.get("maxReplicaCount", 100))
    check_scaled_object(plan, so)
    asks = scaled_object_asks(plan, so, w, lambda trig: trigger_metric(plan, trig, w))
    want = max((math.ceil(v / t - 1e-9) for v, t in asks), default=0)
    if want <= 0:  # no trigger active: KEDA holds minReplicaCount
        return lo
    return max(lo, 1, min(hi, want))


def check_hpa(plan: Plan, hpa: Obj) -> None:
    """:class:`Unreplayable` for an HPA on CPU or GPU utilization: the pods' use is neither a
    function of the planned rate nor simulated (an rps HPA is both)."""
    (metric,) = hpa["spec"]["metrics"]
    if metric["type"] != "Pods" or plan.spec.kubernetes.autoscaler.hpa.metric != "rps":
        raise Unreplayable(
            f"an HPA on {plan.spec.kubernetes.autoscaler.hpa.metric} utilization: the pods' use "
            "is neither a function of the planned rate nor simulated"
        )


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
    check_hpa(plan, hpa)
    (metric,) = spec["metrics"]
    routing = plan.spec.kubernetes.routing
    if routing == "gateway-api" and (len(scaled) > 1 or any(n for n, _ in fixed)):
        raise Unreplayable(
            "an rps HPA under gateway-api beside other allocations: each backend's rate follows "
            "the route's weights over every backend's pods"
        )
    target = quantity(metric["pods"]["target"]["averageValue"])
    want = burst_pods(routing, plan.demand.rps[w], target, a, fixed, scaled)
    return max(int(spec.get("minReplicas", 1)), min(int(spec["maxReplicas"]), want))


def autoscaled_counts(plan: Plan, catalog: Catalog) -> dict[str, tuple[int, ...]]:
    """Allocation name -> the replicas its rendered autoscaler (or fixed count) runs in each
    window at the planned rate. Raises :class:`Unreplayable`."""
    from scaleplan.kube.safety import sanitize_dns_label

    scalers, fixed = rendered_scalers(plan, catalog)
    live = [a for a in plan.allocations if any(a.replicas_per_window)]
    held = [
        (int(fixed[nm]), a.capacity_rps_per_replica) for a in live
        if (nm := sanitize_dns_label(a.name)) not in scalers and fixed.get(nm) is not None
    ]
    scaled = [a for a in live if sanitize_dns_label(a.name) in scalers]
    hpas = {
        a.name: (a, scalers[sanitize_dns_label(a.name)]) for a in scaled
        if scalers[sanitize_dns_label(a.name)]["kind"] == "HorizontalPodAutoscaler"
    }
    beside = len(hpas) > 1 or (hpas and len(scaled) > 1)  # each pod's rate: every count's
    if beside and plan.spec.kubernetes.routing == "gateway-api":
        raise Unreplayable(
            "an rps HPA under gateway-api beside other allocations: each backend's rate follows "
            "the route's weights over every backend's pods"
        )
    out: dict[str, tuple[int, ...]] = {}
    for a in plan.allocations:
        name = sanitize_dns_label(a.name)
        scaler = scalers.get(name)
        if scaler is None:
            count = fixed.get(name)
            n = len(a.replicas_per_window)
            out[a.name] = a.replicas_per_window if count is None else (int(count),) * n
        elif scaler["kind"] != "HorizontalPodAutoscaler":
            out[a.name] = tuple(
                _scaled_object_count(plan, scaler, w) for w in range(plan.demand.windows)
            )
        elif not beside:
            out[a.name] = tuple(
                _hpa_count(plan, scaler, w, a, held, scaled) for w in range(plan.demand.windows)
            )
    if beside:
        weight = _pod_weight(plan)
        for w in range(plan.demand.windows):
            others = sum(
                c[w] * weight(a) for a in plan.allocations
                if a.name not in hpas and (c := out[a.name])
            )
            for nm, n in _settled(plan, hpas, others, w).items():
                out[nm] = (*out.get(nm, ()), n)
    return {a.name: out[a.name] for a in plan.allocations}


def _pod_weight(plan: Plan) -> Callable[[Allocation], float]:
    """A pod's share of the rate, relative to the others': equal behind a Service (kube-proxy
    spreads evenly), its capacity behind an InferencePool (the picker's load balancing, as
    :func:`~scaleplan.render.burst.burst_pods` takes it)."""
    if plan.spec.kubernetes.routing == "inference-pool":
        return lambda a: a.capacity_rps_per_replica
    return lambda a: 1.0


def _settled(
    plan: Plan, hpas: Mapping[str, tuple[Allocation, Obj]], others: float, w: int,
) -> dict[str, int]:
    """rps HPAs beside other autoscaled allocations behind one Service or InferencePool (UX
    trial 29 F3: refused here, while a surge runs them): at window ``w``'s planned rate each
    pod sees its share of the rate (:func:`_pod_weight`; ``others``: the other pods' weight),
    and each HPA in turn, from the plan's counts, asks for what :func:`hpa_proposal` says,
    within its bounds, until none moves (Kubernetes' syncs). :class:`Unreplayable` if they have
    not settled after :data:`SETTLE_SYNCS` rounds."""
    rate, weight = plan.demand.rps[w], _pod_weight(plan)
    for _, h in hpas.values():
        check_hpa(plan, h)
    bounds = {
        nm: (int(h["spec"].get("minReplicas", 1)), int(h["spec"]["maxReplicas"]))
        for nm, (_, h) in hpas.items()
    }
    targets = {
        nm: quantity(h["spec"]["metrics"][0]["pods"]["target"]["averageValue"])
        for nm, (_, h) in hpas.items()
    }
    n = {
        nm: max(bounds[nm][0], min(bounds[nm][1], a.replicas_per_window[w]))
        for nm, (a, _) in hpas.items()
    }
    for _ in range(SETTLE_SYNCS):
        moved = False
        for nm, (a, _) in sorted(hpas.items()):
            target = targets[nm]
            total = others + sum(n[b] * weight(x) for b, (x, _) in hpas.items())
            value = n[nm] * rate * weight(a) / total if total > 0 else 0.0  # its pods' rate
            want = max(bounds[nm][0], min(bounds[nm][1], hpa_proposal(n[nm], value, target)))
            moved, n[nm] = moved or want != n[nm], want
        if not moved:
            return n
    raise Unreplayable(
        f"rps HPAs beside each other that do not settle at window {w}'s rate within "
        f"{SETTLE_SYNCS} syncs"
    )


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
    return plan.model_copy(update={"allocations": tuple(allocs)})


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
