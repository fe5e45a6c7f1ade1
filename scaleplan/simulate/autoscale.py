"""The rendered autoscalers reacting to a simulated run's load (``simulate --surge``,
docs/simulate.md "Surges"). Each allocation's HorizontalPodAutoscaler or KEDA ScaledObject is
read from the objects render writes for the plan (given by the caller:
:func:`scaleplan.render.replay.rendered_scalers`; its bounds, triggers, thresholds, formula,
polling interval and ``behavior`` are render's, and a ScaledObject's triggers are read by the
one reader the steady-state replay uses, :func:`~scaleplan.render.replay.scaled_object_asks`)
and polled during the run every HPA sync period (15 s, Kubernetes' default): an HPA, and the
HPA KEDA creates for a ScaledObject (KEDA's own ``pollingInterval`` paces only its activation
from 0 replicas). The metrics come from the simulation: the Service's request rate
over the query's range (``[2m]``), the engine's requests in flight and KV-cache use of the
allocation's serving pods (vLLM's ``num_requests_running + num_requests_waiting`` and
``kv_cache_usage_perc``), cron and hour-gated triggers at the simulated window's time of day
(:mod:`scaleplan.render.replay`'s readers). The HPA's algorithm sets the Deployment's replicas:
each metric's ``ceil(value / target)`` (within the 10 % tolerance: no change), the largest
wins, stabilized over the rendered windows and limited by the rendered scale-up and scale-down
policies, within the object's bounds. A new pod serves after
:func:`~scaleplan.simulate.failures.pod_start` (node start + image pull + the rendered start-up
window: the replacement rule) or ``--replace-after``; a removed pod stops taking requests and
finishes what it holds, the newest first (pods not yet serving before those that serve).

Metrics are read without a scrape delay (at most one scrape interval early: optimistic). CPU or
GPU utilization HPAs, Kafka and RabbitMQ triggers, and a gateway-api backend Service's rate are
not simulated (:class:`~scaleplan.render.replay.Unreplayable`). Pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from scaleplan.plan import Plan
from scaleplan.render.replay import (
    Rendered,
    Unreplayable,
    check_hpa,
    check_scaled_object,
    hpa_proposal,
    quantity,
    scaled_object_asks,
    trigger_metric,
)
from scaleplan.simulate import llm_engine as eng
from scaleplan.simulate.llm_results import ReplicaChange

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

Obj = Mapping[str, Any]
HPA_SYNC_S = 15.0  # kube-controller-manager --horizontal-pod-autoscaler-sync-period
DEFAULT_RANGE_S = 120.0  # a rate query without a [range]: the [2m] render writes
_RANGE = re.compile(r"\[(\d+)([smh])\]")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class Scaler:
    """One allocation's rendered autoscaler (``obj``) and its Deployment in the run."""

    alloc: int
    name: str
    obj: Obj
    lo: int
    hi: int
    period_s: float  # the HPA's sync: KEDA's 1 <-> N scaling runs through it too
    activation_s: float  # from 0 replicas: KEDA's pollingInterval (an HPA never is at 0)
    start_s: float  # from asking for a pod until it serves
    ids: list[int]  # the global replica ids the allocation may run
    replicas: int  # the Deployment's spec.replicas
    serving: list[int]
    pending: list[tuple[float, int]] = field(default_factory=list)  # (serves at, id)
    recs: list[tuple[float, int]] = field(default_factory=list)  # (t, recommendation)
    changes: list[tuple[float, int]] = field(default_factory=list)  # (t, replicas added)
    next_poll: float = 0.0
    at_bound: list[float] = field(default_factory=list)  # polls that asked for more than hi
    raw_ask: int = 0  # a formula's rate triggers on their own, at the last poll


class Autoscalers:
    """The run's control (:func:`scaleplan.simulate.llm_engine.run`): who serves when."""

    def __init__(
        self, plan: Plan, window: int, times: NDArray[np.float64], horizon_s: float,
        scalers: list[Scaler], fixed: list[int], alloc_of: list[int],
    ) -> None:
        self.plan = plan
        self.window = window
        self.times = times
        self.horizon_s = horizon_s
        self.scalers = scalers
        self.fixed = fixed
        self.alloc_of = alloc_of
        self.base_rps = plan.demand.rps[window]
        self.timeline: list[ReplicaChange] = [
            ReplicaChange(0.0, s.name, s.replicas, len(s.serving)) for s in scalers
        ]
        for s in scalers:  # held at the plan's count until the run: its windows remember it
            s.next_poll, s.recs = s.period_s, [(0.0, s.replicas)]

    def serving(self) -> frozenset[int]:
        return frozenset(self.fixed + [g for s in self.scalers for g in s.serving])

    def __call__(self, t: float, view: eng.ReplicaView) -> tuple[frozenset[int], float]:
        nxt = math.inf
        for s in self.scalers:
            ready = [g for at, g in s.pending if at <= t]
            if ready:
                s.pending = [(at, g) for at, g in s.pending if at > t]
                s.serving.extend(ready)
                self._said(t, s)
            if s.next_poll <= t < self.horizon_s:
                self._poll(s, t, view)
                s.next_poll += s.period_s if s.replicas > 0 else s.activation_s
            if s.next_poll < self.horizon_s:
                nxt = min(nxt, s.next_poll)
            nxt = min([nxt, *(at for at, _ in s.pending)])
        return self.serving(), nxt

    def _said(self, t: float, s: Scaler) -> None:
        self.timeline.append(ReplicaChange(t, s.name, s.replicas, len(s.serving)))

    def rate(self, t: float, range_s: float) -> float:
        """Requests/s sent to the Service over (t - range_s, t]; before the run, the window's
        rate (the run starts in its steady state)."""
        ts = self.times
        n = np.searchsorted(ts, t, "right") - np.searchsorted(ts, t - range_s, "right")
        return (float(n) + self.base_rps * max(0.0, range_s - t)) / range_s

    def _asks(self, s: Scaler, t: float, view: eng.ReplicaView) -> list[tuple[float, float]]:
        """(metric value, target per pod) of each of ``s``'s metrics at ``t``."""
        spec = s.obj["spec"]
        if s.obj["kind"] == "HorizontalPodAutoscaler":  # an rps HPA: its pods' share
            (m,) = spec["metrics"]
            everyone = max(len(view.serving_ids), 1)
            total = self.rate(t, DEFAULT_RANGE_S) * len(s.serving) / everyone
            return [(total, quantity(m["pods"]["target"]["averageValue"]))]

        raw: list[int] = []  # what the triggers ask on their own (a formula replaces them)

        def metric(trig: Obj) -> float:
            name = str(trig.get("name", ""))
            if name == "in-flight":
                return float(sum(view.queue(g) for g in s.serving))
            if name == "kv-cache":
                return sum(1.0 - view.free_kv(g) for g in s.serving)
            found = _RANGE.search(str(trig["metadata"].get("query", "")))
            range_s = float(found[1]) * _UNIT[found[2]] if found else DEFAULT_RANGE_S
            value = trigger_metric(self.plan, trig, self.window, self.rate(t, range_s))
            raw.append(math.ceil(value / float(trig["metadata"]["threshold"]) - 1e-9))
            return value

        asks = scaled_object_asks(self.plan, s.obj, self.window, metric)
        s.raw_ask = max(raw, default=0)
        return asks

    def _poll(self, s: Scaler, t: float, view: eng.ReplicaView) -> None:
        """One HPA sync: the metrics' proposal, stabilized and limited (Kubernetes' order)."""
        cur = s.replicas
        props = []
        for value, target in self._asks(s, t, view):
            if target > 0:
                props.append(hpa_proposal(cur, value, target))
        want = max(props, default=0)
        if max(want, s.raw_ask) > s.hi:  # more than the bound allows (a formula stops at it)
            s.at_bound.append(t)
        want = s.lo if want <= 0 else max(s.lo, 1, min(s.hi, want))
        behavior = _behavior(s.obj)
        s.recs.append((t, want))
        up_w = float(behavior.get("scaleUp", {}).get("stabilizationWindowSeconds", 0))
        down_w = float(behavior.get("scaleDown", {}).get("stabilizationWindowSeconds", 300))
        up = min(r for at, r in s.recs if at >= t - up_w)
        down = max(r for at, r in s.recs if at >= t - down_w)
        s.recs = [(at, r) for at, r in s.recs if at >= t - max(up_w, down_w)]
        new = up if cur < up else (down if cur > down else cur)
        if new > cur:
            new = min(new, _limit(behavior.get("scaleUp", {}), s, t, cur, up=True))
        elif new < cur:
            new = max(new, _limit(behavior.get("scaleDown", {}), s, t, cur, up=False))
        new = max(s.lo, min(s.hi, new))
        if new != cur:
            self._scale(s, t, new)

    def _scale(self, s: Scaler, t: float, new: int) -> None:
        """The Deployment at ``new`` replicas: pods asked for serve after their start; removed
        ones the newest first, those not yet serving before those that serve."""
        delta = new - s.replicas
        s.changes.append((t, delta))
        s.replicas = new
        if delta > 0:
            used = set(s.serving) | {g for _, g in s.pending}
            free = [g for g in s.ids if g not in used][:delta]
            s.pending.extend((t + s.start_s, g) for g in free)
        for _ in range(-delta):
            if s.pending:
                s.pending.pop()
            elif s.serving:
                s.serving.pop()
        self._said(t, s)


def _behavior(obj: Obj) -> Obj:
    spec = obj["spec"]
    if obj["kind"] == "HorizontalPodAutoscaler":
        return spec.get("behavior", {})  # type: ignore[no-any-return]
    config = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {})
    return config.get("behavior", {})  # type: ignore[no-any-return]


def _limit(rules: Obj, s: Scaler, t: float, cur: int, *, up: bool) -> int:
    """The most (``up``) or fewest replicas the rendered policies allow now: each policy from
    the replicas at the start of its period (the changes within it undone), ``selectPolicy``
    Max the largest change, Min the smallest, Disabled none (Kubernetes' rule); never past the
    current count the other way (a limit from a period that began lower holds it, as
    Kubernetes does: it does not turn a scale-up into a scale-down)."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return cur
    limits = []
    for p in rules.get("policies", ()):
        period = float(p["periodSeconds"])
        moved = sum(d for at, d in s.changes if at > t - period)
        start = cur - moved
        v = float(p["value"])
        if p["type"] == "Percent":
            lim = math.ceil(start * (1 + v / 100)) if up else int(start * (1 - v / 100))
        else:
            lim = int(start + v) if up else int(start - v)
        limits.append(lim)
    if not limits:
        return s.hi if up else s.lo
    pick = max if (select == "Max") == up else min
    return max(cur, int(pick(limits))) if up else min(cur, int(pick(limits)))


def autoscalers(
    plan: Plan, window: int, times: NDArray[np.float64], horizon_s: float,
    start_after_s: float | None, rendered: Rendered, accelerators: Sequence[Accelerator],
) -> Autoscalers:
    """The plan's ``rendered`` autoscalers (:func:`scaleplan.render.replay.rendered_scalers`) at
    the start of ``window``, each Deployment at the plan's count there (one render holds fixed,
    at its rendered replicas); :class:`Unreplayable` for one whose metric is not simulated."""
    from scaleplan.kube.safety import sanitize_dns_label
    from scaleplan.simulate.failures import pod_start

    by_name, fixed_count = rendered
    scalers: list[Scaler] = []
    fixed: list[int] = []
    alloc_of: list[int] = []
    for ai, a in enumerate(plan.allocations):
        nm = sanitize_dns_label(a.name)
        obj = by_name.get(nm)
        count = a.replicas_per_window[window]
        if obj is None:
            n = count if fixed_count.get(nm) is None else int(fixed_count[nm])
            fixed.extend(range(len(alloc_of), len(alloc_of) + n))
            alloc_of.extend([ai] * n)
            continue
        _check(plan, obj)
        spec = obj["spec"]
        keda = obj["kind"] == "ScaledObject"
        lo = int(spec.get("minReplicaCount", 0) if keda else spec.get("minReplicas", 1))
        hi = int(spec.get("maxReplicaCount", 100) if keda else spec["maxReplicas"])
        ids = list(range(len(alloc_of), len(alloc_of) + max(hi, count)))
        alloc_of.extend([ai] * len(ids))
        start = pod_start(plan, a, accelerators)[0] if start_after_s is None else start_after_s
        # KEDA's own loop (pollingInterval) only activates from 0; 1 <-> N is the HPA KEDA
        # creates, polling KEDA's metrics server every sync (r2 review 40 item 5)
        activation = float(spec.get("pollingInterval", HPA_SYNC_S)) if keda else HPA_SYNC_S
        scalers.append(Scaler(
            ai, a.name, obj, lo, hi, HPA_SYNC_S, activation, start, ids, count, ids[:count]
        ))
    return Autoscalers(plan, window, times, horizon_s, scalers, fixed, alloc_of)


def _check(plan: Plan, obj: Obj) -> None:
    """:class:`Unreplayable` for what the run cannot read from the simulation."""
    if obj["kind"] == "HorizontalPodAutoscaler":
        check_hpa(plan, obj)
        if plan.spec.kubernetes.routing == "gateway-api" and len(plan.allocations) > 1:
            raise Unreplayable("an rps HPA under gateway-api beside other allocations")
        return
    check_scaled_object(plan, obj)
