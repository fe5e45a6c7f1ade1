"""Which replica each LLM request goes to, as the rendered manifests route it: ``routing:
service`` spreads requests evenly over all pods; ``gateway-api`` routes by the HTTPRoute's
static weights over its backends, an allocation or the allocations of one serving shape behind
one Service (a share whose backend has no running replica fails); ``inference-pool``'s
endpoint picker scores each serving replica as the Gateway API Inference Extension's EPP
(v1.0.0, what render deploys) does with its default profile and sends the request to the
best (``epp``), or, as alternatives to compare, to the shortest queue or the most free KV
cache.

A router is called by :func:`scaleplan.simulate.llm_engine.run` at each arrival with what the
engine lets it see (:class:`~scaleplan.simulate.llm_engine.ReplicaView`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from scaleplan.kube.weights import class_routed
from scaleplan.plan import Plan
from scaleplan.simulate import llm_engine as eng

Picker = Literal["epp", "queue", "kv"]
PICKERS: tuple[Picker, ...] = ("epp", "queue", "kv")
PICKER_DESC: dict[Picker, str] = {
    "epp": "EPP default scorers: waiting queue x2, KV cache x2",
    "queue": "shortest queue",
    "kv": "most free KV",
}
# The EPP's default scheduling profile (the inferencepool chart's default-plugins.yaml, which
# the EPP v1.0.0 also runs without a config): queue-scorer weight 2, kv-cache-utilization-scorer
# weight 2, prefix-cache-scorer weight 3, then the max-score picker (random among ties)
EPP_QUEUE_WEIGHT = 2.0
EPP_KV_WEIGHT = 2.0
Router = Callable[[int, float, eng.ReplicaView], int]


def route_as_rendered(plan: Plan, picker: Picker, u: NDArray[np.float64], alloc_of: Sequence[int],
        notes: list[str], req_class: Sequence[str] | None = None) -> tuple[Router, str]:
    """(router, description) for the plan's ``kubernetes.routing``; ``u`` holds one uniform
    draw per request (the static weights' pick); ``req_class`` each request's class name (a
    ``kubernetes.class_header`` route picks by that class's rule)."""
    routing: str = str(plan.spec.kubernetes.routing)
    if routing == "gateway-api":
        if class_routed(plan) and req_class is not None:
            hdr = plan.spec.kubernetes.class_header
            return _static_weights(plan, u, alloc_of, notes,
                req_class), f"gateway-api (HTTPRoute rule per {hdr} value, static weights)"
        return _static_weights(plan, u, alloc_of, notes), "gateway-api (HTTPRoute static weights)"
    if routing == "inference-pool":
        return _endpoint_picker(picker, u), f"inference-pool ({PICKER_DESC[picker]})"
    return _even_split(), "service (even split over all pods)"


def _picks(wvec: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Backend index per draw ``u`` under weights ``wvec`` (all alike when none is positive)."""
    if wvec.sum() <= 0:
        wvec = np.ones(len(wvec))
    cum = np.cumsum(wvec) / wvec.sum()
    return np.minimum(np.searchsorted(cum, u, side="right"), len(wvec) - 1)


def _static_weights(plan: Plan, u: NDArray[np.float64], alloc_of: Sequence[int], notes: list[str],
        req_class: Sequence[str] | None = None) -> Router:
    """The HTTPRoute's weights pick the backend (:mod:`scaleplan.kube.backends`: an allocation,
    or the allocations of one serving shape behind one Service); the backend's running replicas,
    of any of its allocations, take turns. A backend with no running replica fails the request.
    ``req_class``: each request's class, routed by its class's rule's weights."""
    from scaleplan.kube.backends import backend_class_weights, weighted_backends

    table = weighted_backends(plan)
    bs = [b for b, _, _ in table]
    wvec = np.array([w for _, _, w in table], dtype=np.float64)
    picks = _picks(wvec, u)
    shown = [f"{b.service} ({' + '.join(b.members)})" if b.shared else b.members[0] for b in bs]
    if req_class is not None:
        per_class = backend_class_weights(plan)
        cls_arr = np.asarray(req_class)
        for cname, cw in per_class.items():
            mask = cls_arr == cname
            cvec = np.array([float(cw.get(b.service, 0)) for b in bs])
            picks[mask] = _picks(cvec, u[mask])
            notes.append(f"routing: HTTPRoute rule {plan.spec.kubernetes.class_header}: {cname}: " + ", ".join(f"{name} {int(cvec[k])}" for k, name in enumerate(shown)))
    backend_pick: list[int] = picks.tolist()
    backend_of_alloc = {ai: bi for bi, (_, members, _) in enumerate(table) for ai in members}
    rr_b = [0] * len(bs)
    if req_class is None:
        notes.append("routing: HTTPRoute static weights " + ", ".join(f"{name} {int(wvec[k])}" for k, name in enumerate(shown)) + " (a share whose backend has no running replica fails)")

    def route(i: int, t: float, view: eng.ReplicaView) -> int:
        bi = backend_pick[i]
        ids = [g for g in view.serving_ids if backend_of_alloc.get(alloc_of[g]) == bi]
        if not ids:
            return -1
        g = ids[rr_b[bi] % len(ids)]
        rr_b[bi] += 1
        return g

    return route


def _endpoint_picker(picker: Picker, u: NDArray[np.float64]) -> Router:
    """The inference pool's endpoint picker. ``epp``: the EPP's default profile, each serving
    pod scored 2 x its waiting queue (vLLM's num_requests_waiting, min-max scaled over the
    pods: 1 for the shortest, 0 for the longest, 1 for all when all are equal) + 2 x its free
    KV cache fraction (1 - kv_cache_usage_perc); the prefix-cache scorer (weight 3) scores 0 on
    every pod here (the simulated requests share no prompt prefix), so it changes no pick;
    the highest score wins, ties broken at random (the request's draw ``u``). ``queue``: the
    fewest requests waiting or running (ties: the first); ``kv``: the most free KV cache."""
    if picker == "epp":

        def by_score(i: int, t: float, view: eng.ReplicaView) -> int:
            ids = view.serving_ids
            if not ids:
                return -1
            waits = [view.waiting(g) for g in ids]
            lo, hi = min(waits), max(waits)
            scores = [
                EPP_QUEUE_WEIGHT * (1.0 if hi == lo else (hi - w) / (hi - lo)) + EPP_KV_WEIGHT * view.free_kv(g)
                for g, w in zip(ids, waits, strict=True)
            ]
            best = max(scores)
            top = [g for g, sc in zip(ids, scores, strict=True) if sc >= best - 1e-12]
            return top[min(int(u[i] * len(top)), len(top) - 1)]

        return by_score

    if picker == "queue":

        def by_queue(i: int, t: float, view: eng.ReplicaView) -> int:
            ids = view.serving_ids
            return min(ids, key=view.queue) if ids else -1

        return by_queue

    def by_kv(i: int, t: float, view: eng.ReplicaView) -> int:
        ids = view.serving_ids
        return max(ids, key=lambda g: (view.free_kv(g), -g)) if ids else -1

    return by_kv


def _even_split() -> Router:
    """One Service over all pods: the serving replicas take turns."""
    rr = [0]

    def route(i: int, t: float, view: eng.ReplicaView) -> int:
        ids = view.serving_ids
        if not ids:
            return -1
        g = ids[rr[0] % len(ids)]
        rr[0] += 1
        return g

    return route
