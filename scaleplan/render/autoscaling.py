"""Autoscalers: a HorizontalPodAutoscaler or a KEDA ScaledObject per allocation.

:func:`autoscaler_objects` gives each allocation that the plan does not keep at one count all
day the spec's autoscaler: an HPA on CPU, GPU (DCGM) or requests per second; or a KEDA
ScaledObject on a Prometheus query (for LLM servers the engine's own in-flight and KV-cache
metrics), Kafka lag or RabbitMQ queue length, with cron triggers that follow the plan's day
(``autoscaler.cron``), plus the TriggerAuthentication RabbitMQ needs. Request-rate targets
come from the plan's capacity per replica over the traffic's headroom (:func:`rate_target`), or
in the hours a gated trigger answers, the plan's demand per replica there; queue thresholds from
the capacity per replica. Under n+1 / zone a ScaledObject with one request-rate, Kafka or
RabbitMQ trigger gets a scalingModifiers formula that runs the plan's count, its redundancy
spare included (:mod:`scaleplan.render.spare`); an rps HPA, which cannot add the spare, gets a
warning where it drops it (docs/render.md, "Autoscaling"). Allocations priced $0/h are held
at their peak (:func:`~scaleplan.render.allocations.owned_at_peak`), so beside them only the
priced ones scale: a request-rate trigger on the whole Service's rate then runs the plan's
count at each planned rate (:mod:`scaleplan.render.burst`), and it says where an rps HPA
settles (docs/render.md, "Burst plans"). Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scaleplan.llm.engine_metrics import METRICS
from scaleplan.plan import HPA_MIN_REPLICAS, Plan
from scaleplan.render.allocations import Alloc, fixed_replicas, owned_at_peak, owned_shared
from scaleplan.render.burst import (
    burst_curve_applies,
    burst_pods,
    owned_note,
    plan_curve,
    queue_burst_note,
    shared_note,
)
from scaleplan.render.engine import REQUEST_RATE_TRIGGER, pods_of
from scaleplan.render.hours import (
    Leads,
    cron_lead_minutes,
    cron_triggers,
    gated_request_triggers,
    lead_note,
    runs_of,
    window_steps,
)
from scaleplan.render.metadata import Entry, Obj, meta
from scaleplan.render.resources import number_quantity, number_text
from scaleplan.render.spare import engine_spare_dropped, scaling_modifiers
from scaleplan.render.spare import formula as spare_formula
from scaleplan.wording import counted

GPU_METRIC = "DCGM_FI_DEV_GPU_UTIL"
RPS_METRIC = "http_requests_per_second"
KV_TARGET = 0.9  # scale out before the KV cache fills and the engine starts preempting sequences


def autoscaler_objects(plan: Plan, allocs: Sequence[Alloc], warnings: list[str]) -> list[Entry]:
    """HPAs or ScaledObjects (allocation order), then the TriggerAuthentications they name."""
    ks = plan.spec.kubernetes.autoscaler
    out: list[Entry] = []
    auths: dict[str, Obj] = {}
    # type none fixes every Deployment at its peak: advise it only when none of them scales
    say_so = (
        "set kubernetes.autoscaler.type: none to say so"
        if all(fixed_replicas(plan, al) for al in allocs)
        else f"keep the {ks.type}: the plan's other allocations scale by the hour"
    )
    # one demand window: every count is the same all day by construction, nothing to say; an
    # allocation an HPA's floor of 1 holds constant (the plan takes it to 0) is said, with
    # its cost, by build._floor_cost
    owned = [al for al in allocs if owned_at_peak(plan, al.a)]
    kept = [
        al for al in allocs
        if fixed_replicas(plan, al) and al.min_replicas >= al.max_replicas and al not in owned
    ]
    if owned:
        scaling = [al for al in allocs if not fixed_replicas(plan, al)]
        warnings.append(owned_note(plan, owned, scaling))
    shared = [al for al in allocs if owned_shared(plan, al.a) and not fixed_replicas(plan, al)]
    if shared and ks.type != "none":
        warnings.append(shared_note(plan, shared))
    if kept and ks.type != "none" and len(set(plan.demand.rps)) > 1:
        names = ", ".join(f"{al.name} ({al.max_replicas})" for al in kept)
        warnings.append(
            f"the plan keeps these allocations at one replica count in every hour: {names}; "
            f"their Deployments have fixed replicas and no {ks.type} object is written (an "
            f"autoscaler with min = max could never scale); {say_so}"
        )
    scaled: list[tuple[Alloc, Obj]] = []
    started: list[str] = []  # allocations at 0 that the plan's cron triggers start again
    leads: Leads = {}
    for al in allocs:
        if fixed_replicas(plan, al):
            continue
        if ks.type == "hpa":
            out.append(("HorizontalPodAutoscaler", al.name, _hpa(plan, al, warnings, allocs)))
        elif ks.type.startswith("keda-"):
            so, auth = _scaled_object(plan, al, warnings, started, leads)
            if auth is not None:
                auths[auth["metadata"]["name"]] = auth
            out.append(("ScaledObject", al.name, so))
            scaled.append((al, so))
    if started:
        warnings.append(_started_from_zero(started))
    if leads:
        warnings.append(lead_note(leads, plan.spec.kubernetes.probes.startup_seconds is not None))
    warnings.extend(engine_spare_dropped(plan, scaled))
    for name in sorted(auths):
        out.append(("TriggerAuthentication", name, auths[name]))
    if auths:
        assert ks.rabbitmq is not None
        warnings.append(f"RabbitMQ: {ks.rabbitmq.host_from_env} is not in spec.kubernetes.env, so "
            f"KEDA reads the AMQP URL from Secret {sorted(auths)[0]!r}, key 'host'; "
            "create that Secret")
    return out


def _behavior(plan: Plan) -> Obj:
    stab = plan.spec.kubernetes.autoscaler.scale_down_stabilization_s
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60},
                {"type": "Pods", "value": 4, "periodSeconds": 60}],
        },
        "scaleDown": {"stabilizationWindowSeconds": stab, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
    }


def _target_ref(al: Alloc) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": al.name}


def _hpa(plan: Plan, al: Alloc, warnings: list[str], allocs: Sequence[Alloc]) -> Obj:
    hs = plan.spec.kubernetes.autoscaler.hpa
    metric = hs.metric
    if metric == "gpu" and (al.resource is None or (al.accel is not None
            and al.accel.vendor != "nvidia")):
        warnings.append(f"allocation {al.name}: no NVIDIA GPU, so HPA metric 'gpu' ({GPU_METRIC}) "
            "is not available; scaling on CPU utilization instead")
        metric = "cpu"
    m: Obj
    if metric == "cpu":
        target = round(hs.target) if hs.target is not None else 70
        m = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
            "averageUtilization": max(1, min(100, int(target)))}}}
    elif metric == "gpu":
        target_v = hs.target if hs.target is not None else 70.0
        m = {"type": "Pods", "pods": {"metric": {"name": hs.metric_name or GPU_METRIC},
            "target": {"type": "AverageValue", "averageValue": number_quantity(target_v)}}}
    else:
        target_v = rate_target(plan, al, hs.target)
        m = {"type": "Pods", "pods": {"metric": {"name": hs.metric_name or RPS_METRIC},
            "target": {"type": "AverageValue", "averageValue": number_quantity(target_v)}}}
        if hs.target is None:
            warnings.extend(_spare_dropped(plan, al, target_v, allocs))
    spec: Obj = {
        "scaleTargetRef": _target_ref(al),
        "minReplicas": max(HPA_MIN_REPLICAS, al.min_replicas),
        "maxReplicas": max(1, al.most_replicas, al.min_replicas),
        "metrics": [m],
        "behavior": _behavior(plan),
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta(plan, al.name, al.name), "spec": spec}


def rate_target(plan: Plan, al: Alloc, explicit: float | None) -> float:
    """The request rate per replica that ``al``'s autoscaler scales at (an ``rps`` HPA's
    AverageValue, the basis of KEDA's request-rate thresholds): the spec's own figure when it
    gives one (``hpa.target``, ``prometheus.threshold``), else the replica's SLO-safe capacity
    over the traffic's headroom, so that under load the autoscaler runs demand x (1 +
    headroom) of capacity, as the plan does (UX review 5 #4: at the SLO-safe capacity itself
    it ran the demand alone, 2 pods at 20 rps where the plan runs 3). Render and check (which
    re-renders) both take it from here."""
    if explicit is not None:
        return explicit
    return al.a.capacity_rps_per_replica / (1.0 + plan.demand.headroom)


def _spare_dropped(plan: Plan, al: Alloc, target: float, allocs: Sequence[Alloc]) -> list[str]:
    """An ``rps`` HPA at capacity / (1 + headroom) runs, under load, the pods the demand and
    its headroom need: where the plan runs more at the peak (the redundancy spare that the
    headroom does not cover), it drops them. Say so, with the per-pod target that holds the
    plan's peak count (its pods' planned load at the peak). Beside allocations render holds at
    their peak (priced $0/h), under ``inference-pool`` or ``service``, the HPA settles where
    :func:`burst_pods` says (the owned pods carry their part first)."""
    d = plan.demand
    peak = max(range(len(d.rps)), key=lambda w: d.rps[w])
    planned = al.a.replicas_per_window[peak] if al.a.replicas_per_window else al.a.replicas
    load = d.rps[peak] * sum(share * al.a.routing.get(c, 0.0) for c, share in d.classes.items())
    if planned < 1 or load <= 0 or target <= 0:
        return []
    settles = max(1, math.ceil(load / target - 1e-9))
    owned = [o for o in allocs if owned_at_peak(plan, o.a)]
    routing = plan.spec.kubernetes.routing
    if owned and routing != "gateway-api":
        fixed = [
            (o.max_replicas, o.a.capacity_rps_per_replica)
            for o in allocs if fixed_replicas(plan, o)
        ]
        scaled = [o.a for o in allocs if not fixed_replicas(plan, o)]
        settles = max(1, burst_pods(routing, d.rps[peak], target, al.a, fixed, scaled))
    if settles >= planned:
        return []
    hold = math.ceil(load / planned * 1e4) / 1e4  # ceil(load / hold) = planned
    redundancy = plan.spec.placement.redundancy
    why = (
        f" (the {redundancy} spare): a node lost at the peak overloads the rest until its "
        "replacement serves"
        if redundancy != "none"
        else ""
    )
    basis = f" over the {d.headroom:.0%} headroom" if d.headroom > 0 else ""
    keda = "kubernetes.autoscaler.type: keda-prometheus"
    if al.server is not None and al.server.engine in METRICS:  # its KEDA default: the engine's
        keda += " with autoscaler.prometheus.query: the Service's request rate"
    return [
        f"allocation {al.name}: its HPA targets {number_text(target)} rps a pod (the SLO-safe "
        f"capacity{basis}), so at the peak's {d.rps[peak]:g} rps it settles at "
        f"{counted(settles, 'pod')} where the plan runs {planned}{why}; set "
        f"kubernetes.autoscaler.hpa.target: {hold:g} (the plan's load per pod at the peak) to "
        "hold the plan's peak count (in other hours the demand over that target, not the plan's "
        f"count), or use KEDA ({keda}), whose ScaledObject runs the plan's count, spare "
        "included, at any request rate (an HPA cannot add a constant)"
    ]


def _own_backend_rate(plan: Plan, al: Alloc) -> bool:
    """The request trigger reads a rate only this allocation's pods give: under gateway-api,
    that of a backend Service no other allocation serves (the engine triggers, in flight and
    KV use, are its own pods' too). At 0 replicas there is then no signal to scale up on."""
    ks = plan.spec.kubernetes.autoscaler
    if ks.type != "keda-prometheus" or ks.prometheus.query is not None:
        return False
    return plan.spec.kubernetes.routing == "gateway-api" and al.backend_share >= 1.0


def _from_zero(
    plan: Plan, al: Alloc, warnings: list[str], started: list[str], leads: Leads
) -> list[Obj]:
    """The plan's cron triggers for an allocation at minReplicaCount 0 whose triggers read its
    own pods: without them it could never start again once scaled to zero (KEDA activates on
    a metric above 0, and no pod is there to give one). One that gets them is added to
    ``started``, said once for all (:func:`_started_from_zero`); one that cannot is warned
    about here, with its fix."""
    crons = cron_triggers(plan, al, warnings, leads)
    if crons:
        started.append(al.name)
    else:
        warnings.append(
            f"allocation {al.name}: minReplicaCount 0, and its triggers read metrics only its own"
            " pods give, so once at 0 it could never scale up again: set placement.min_replicas,"
            " or an autoscaler query that sees the demand (autoscaler.prometheus.query)"
        )
    return crons


def _started_from_zero(names: Sequence[str]) -> str:
    """One warning for every allocation :func:`_from_zero` gave cron triggers: one per
    allocation (five on an hourly LLM plan) buried the warnings that need action (UX trial 20
    F10). Nothing to do about it, but a user should know why cron triggers are there."""
    fix = "(autoscaler.cron: true adds them to every allocation)"
    if len(names) == 1:
        return (
            f"allocation {names[0]}: minReplicaCount 0, and its triggers read metrics only its own"
            f" pods give, so once at 0 it could never scale up again: cron triggers start it in"
            f" time for the plan's hours {fix}"
        )
    return (
        f"{len(names)} allocations ({', '.join(names)}): minReplicaCount 0, and their triggers"
        " read metrics only their own pods give, so once at 0 none could scale up again: cron"
        f" triggers start them in time for the plan's hours {fix}"
    )


def _engine_triggers(plan: Plan, al: Alloc) -> list[Obj]:
    """KEDA Prometheus triggers on the engine's own metrics for one allocation's pods: requests
    in flight (running + waiting) per replica at the plan's concurrency, and KV-cache use."""
    assert al.server is not None
    spec = plan.spec
    prom = spec.kubernetes.autoscaler.prometheus
    em = METRICS[al.server.engine]
    running, waiting, kv = em.running, em.waiting, em.kv_cache
    sel = f'namespace="{spec.kubernetes.namespace}",pod=~"{pods_of(al.name)}"'
    per_replica = al.server.max_num_seqs or max(1, al.a.operating_point.batch_size)
    out: list[Obj] = [
        {
            "type": "prometheus",
            "name": "in-flight",
            "metadata": {"serverAddress": prom.server_address,
                "query": f"sum({running}{{{sel}}}) + sum({waiting}{{{sel}}})",
                "threshold": number_text(per_replica)},
        }
    ]
    if kv is not None:
        out.append({"type": "prometheus", "name": "kv-cache",
            "metadata": {"serverAddress": prom.server_address, "query": f"sum({kv}{{{sel}}})",
            "threshold": number_text(KV_TARGET)}})
    return out


def _request_trigger(plan: Plan, al: Alloc, share: float) -> Obj:
    """keda-prometheus on the request rate: the spec's query, or the Service's."""
    spec = plan.spec
    prom = spec.kubernetes.autoscaler.prometheus
    per_replica = rate_target(plan, al, prom.threshold)
    if prom.query is None and spec.kubernetes.routing == "gateway-api":
        # each backend Service gets its own weighted share of the requests: scale on that
        # Service's rate, one replica per rate_target; an allocation that shares
        # its backend with others of its shape takes its share of that rate (backend_share)
        query = f'sum(rate(http_requests_total{{namespace="{spec.kubernetes.namespace}",service="{al.service}"}}[2m]))'
        threshold = per_replica / (al.backend_share if al.backend_share > 0 else 1.0)
    else:
        query = prom.query or (
            f'sum(rate(http_requests_total{{namespace="{spec.kubernetes.namespace}",service="{spec.metadata.name}"}}[2m]))'
        )
        threshold = per_replica / share
    return {"type": "prometheus", "name": REQUEST_RATE_TRIGGER,
        "metadata": {"serverAddress": prom.server_address, "query": query,
        "threshold": number_text(threshold)}}


def planned_hours(
    plan: Plan, al: Alloc, explicit: float | None
) -> dict[str, list[tuple[int, int]]] | None:
    """The whole UTC hours, as runs [start, end), in which the plan runs ``al``, grouped by the
    request-rate threshold that gives the plan's replicas there (``threshold -> runs``). None
    when the plan runs ``al`` in every window, or the windows are not whole hours tiling a day:
    nothing to gate. The thresholds are :func:`_hour_thresholds`'."""
    counts = list(al.a.replicas_per_window)
    h = window_steps(plan, 1)
    if all(counts) or not any(counts) or h is None:
        return None
    by_threshold = [
        "" if t is None else number_text(t) for t in _hour_thresholds(plan, al, explicit)
    ]
    out: dict[str, list[tuple[int, int]]] = {}
    for start, length, key in runs_of(by_threshold):
        if key:
            out.setdefault(key, []).append((start * h, (start + length) * h))
    return out


def _hour_thresholds(plan: Plan, al: Alloc, explicit: float | None) -> list[float | None]:
    """Per window, the Service's request rate per replica of ``al`` at which a trigger gated to
    it asks for the plan's count there, ``n`` (None where the plan runs no ``al``).

    By default any threshold in [demand / n, demand / (n - 1)) makes KEDA ask for exactly ``n``
    at the plan's own demand in the window, so the hour keeps the plan's headroom, its
    redundancy spare and its node rounding (the capacity over the headroom, :func:`rate_target`,
    would ask for the demand's share of the capacity with headroom: fewer wherever the plan runs
    more than that, e.g. an n+1 spare). Consecutive windows whose ranges meet share one, the
    range's least (the most replicas at any other rate), so that they share a trigger; it is
    rounded up to KEDA's three decimals and never above the window's capacity over the headroom
    per replica, as the plan holds demand x (1 + headroom) in every window. A window without
    demand, and a spec's own ``prometheus.threshold`` (the rate one replica is scaled for), take
    that rate times the capacity the plan runs in the window over ``al``'s own: at a demand that
    fills it, the plan's count."""
    out: list[float | None] = []
    lo_run, hi_run, start = 0.0, 0.0, -1  # the open run of mergeable windows from ``start``
    for w, n in enumerate(al.a.replicas_per_window):
        demand = plan.demand.rps[w]
        # the rate target (explicit, or the capacity over the headroom) at the window's capacity
        by_capacity = rate_target(plan, al, explicit) * plan.capacity_rps_at(w)
        by_capacity /= max(n, 1) * al.a.capacity_rps_per_replica
        if n <= 0 or explicit is not None or demand <= 0:
            start = -1
            out.append(by_capacity if n > 0 else None)
            continue
        lo = math.ceil(demand / n * 1000 - 1e-6) / 1000
        # below demand / (n - 1), and not above the capacity over the headroom (a merged run
        # takes the least of its windows' ranges; the 1.1e-3 lets lo's rounding up through)
        hi = min(demand / (n - 1) if n > 1 else math.inf, by_capacity + 1.1e-3)
        if start >= 0 and max(lo_run, lo) < min(hi_run, hi):
            lo_run, hi_run = max(lo_run, lo), min(hi_run, hi)
            out[start:] = [lo_run] * (w - start)
        else:
            lo_run, hi_run, start = lo, hi, w
        out.append(lo_run)
    return out


def _rate_triggers(plan: Plan, al: Alloc, share: float, leads: Leads) -> list[Obj]:
    """The request-rate trigger, or, under one shared Service (not gateway-api) for an
    allocation the plan runs in some hours only, one gated to its hours per threshold, each
    run opened early by :func:`cron_lead_minutes` (said in ``leads``)."""
    trig = _request_trigger(plan, al, share)
    prom = plan.spec.kubernetes.autoscaler.prometheus
    groups = None
    if plan.spec.kubernetes.routing != "gateway-api":
        groups = planned_hours(plan, al, prom.threshold)
    if not groups:
        return [trig]
    md = trig["metadata"]
    lead, after = cron_lead_minutes(plan, al)
    out, early = gated_request_triggers(md["query"], groups, md["serverAddress"], lead)
    if early:
        leads[al.name] = (lead, after)
    return out


def _kafka_trigger(plan: Plan, al: Alloc, share: float) -> Obj:
    kf = plan.spec.kubernetes.autoscaler.kafka
    assert kf is not None
    lag = (kf.lag_threshold if kf.lag_threshold is not None
        else al.a.capacity_rps_per_replica * kf.drain_seconds)
    return {
        "type": "kafka",
        "name": "lag",
        "metadata": {
            "bootstrapServers": kf.bootstrap_servers,
            "consumerGroup": kf.consumer_group,
            "topic": kf.topic,
            "lagThreshold": str(max(1, math.ceil(lag / share - 1e-9))),
            "offsetResetPolicy": "latest",
        },
    }


def _rabbitmq_trigger(plan: Plan, al: Alloc, share: float) -> tuple[Obj, Obj | None]:
    """The queue-length trigger and, when the AMQP URL is not in the env, its TriggerAuthentication."""
    spec = plan.spec
    rq = spec.kubernetes.autoscaler.rabbitmq
    assert rq is not None
    qlen = rq.value if rq.value is not None else al.a.capacity_rps_per_replica * rq.drain_seconds
    meta_ = {"protocol": "amqp", "queueName": rq.queue_name, "mode": "QueueLength",
        "value": str(max(1, math.ceil(qlen / share - 1e-9)))}
    trig: Obj = {"type": "rabbitmq", "name": "queue", "metadata": meta_}
    if rq.host_from_env in spec.kubernetes.env:
        meta_["hostFromEnv"] = rq.host_from_env
        return trig, None
    auth_name = f"{spec.metadata.name}-rabbitmq"
    trig["authenticationRef"] = {"name": auth_name, "kind": "TriggerAuthentication"}
    auth = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": meta(plan, auth_name, spec.metadata.name),
        "spec": {"secretTargetRef": [{"parameter": "host", "name": auth_name, "key": "host"}]},
    }
    return trig, auth


def _spare_modifiers(plan: Plan, al: Alloc, triggers: Sequence[Obj]) -> Obj | None:
    """The formula that runs the plan's count, its redundancy spare included, from the one
    trigger of an allocation that has a request-rate (ungated), Kafka-lag or RabbitMQ-queue
    trigger alone (:mod:`scaleplan.render.spare`): the threshold alone asks for the demand with
    its headroom, not the spare. None for the rest: the hour-gated triggers ask for the plan's
    count at the plan's demand by their thresholds, cron triggers hold it as a floor in the
    plan's hours, and the engine triggers are left as they are (docs/render.md)."""
    if len(triggers) != 1:
        return None
    (trig,) = triggers
    md = trig["metadata"]
    kind = trig["type"]
    if burst_curve_applies(plan, trig):
        return {
            "formula": spare_formula(trig["name"], plan_curve(plan, al)),
            "target": "1",
            "metricType": "AverageValue",
        }
    field = {"prometheus": "threshold", "kafka": "lagThreshold", "rabbitmq": "value"}.get(kind)
    if field is None or (kind == "prometheus" and trig["name"] != REQUEST_RATE_TRIGGER):
        return None
    t_h = float(md[field])
    t_0 = t_h
    if kind == "prometheus" and plan.spec.kubernetes.autoscaler.prometheus.threshold is None:
        # the capacity itself: the optimizer's loss rows carry no headroom
        t_0 = t_h * (1.0 + plan.demand.headroom)
    return scaling_modifiers(plan, al, trig["name"], t_h, t_0)


def _scaled_object(
    plan: Plan, al: Alloc, warnings: list[str], started: list[str], leads: Leads
) -> tuple[Obj, Obj | None]:
    ks = plan.spec.kubernetes.autoscaler
    share = al.share if al.share > 0 else 1.0
    auth: Obj | None = None
    triggers: list[Obj]
    engine = (ks.type == "keda-prometheus" and ks.prometheus.query is None and al.server is not None
        and al.server.engine in METRICS)
    if engine:
        triggers = _engine_triggers(plan, al)
    elif ks.type == "keda-prometheus":
        triggers = _rate_triggers(plan, al, share, leads)
    elif ks.type == "keda-kafka":
        triggers = [_kafka_trigger(plan, al, share)]
        warnings.extend(queue_burst_note(plan, al, "Kafka lag"))
    else:
        trig, auth = _rabbitmq_trigger(plan, al, share)
        triggers = [trig]
        warnings.extend(queue_burst_note(plan, al, "RabbitMQ queue-length"))
    if ks.cron:
        triggers += cron_triggers(plan, al, warnings, leads)
    elif al.min_replicas == 0 and (engine or _own_backend_rate(plan, al)):
        triggers += _from_zero(plan, al, warnings, started, leads)
    advanced: Obj = {"horizontalPodAutoscalerConfig": {"behavior": _behavior(plan)}}
    mods = _spare_modifiers(plan, al, triggers)
    if mods is not None:
        advanced["scalingModifiers"] = mods
    so_spec: Obj = {
        "scaleTargetRef": _target_ref(al),
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "minReplicaCount": al.min_replicas,
        "maxReplicaCount": max(1, al.most_replicas, al.min_replicas),
        "fallback": {"failureThreshold": 3, "replicas": max(1, al.max_replicas)},
        "advanced": advanced,
        "triggers": triggers,
    }
    so = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": meta(plan, al.name, al.name), "spec": so_spec}
    return so, auth
