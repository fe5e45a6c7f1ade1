"""Which replica each LLM request goes to, as the rendered manifests route it: ``routing:
service`` spreads requests evenly over all pods; ``gateway-api`` routes by the HTTPRoute's
static weights over its backends, an allocation or the allocations of one serving shape behind
one Service (a share whose backend has no running replica fails); ``inference-pool``'s
endpoint picker sends each request to the replica with the shortest queue or the most free KV
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

Picker = Literal["queue", "kv"]
PICKERS: tuple[Picker, ...] = ("queue", "kv")
Router = Callable[[int, float, eng.ReplicaView], int]


def route_as_rendered(plan: Plan, picker: Picker, u: NDArray[np.float64], alloc_of: Sequence[int], notes: list[str], req_class: Sequence[str] | None = None) -> tuple[Router, str]:
    """(router, description) for the plan's ``kubernetes.routing``; ``u`` holds one uniform
    draw per request (the static weights' pick); ``req_class`` each request's class name (a
    ``kubernetes.class_header`` route picks by that class's rule)."""
    routing: str = str(plan.spec.kubernetes.routing)
    if routing == "gateway-api":
        if class_routed(plan) and req_class is not None:
            hdr = plan.spec.kubernetes.class_header
            return _static_weights(plan, u, alloc_of, notes, req_class), f"gateway-api (HTTPRoute rule per {hdr} value, static weights)"
        return _static_weights(plan, u, alloc_of, notes), "gateway-api (HTTPRoute static weights)"
    if routing == "inference-pool":
        return _endpoint_picker(picker), f"inference-pool ({'shortest queue' if picker == 'queue' else 'most free KV'})"
    return _even_split(), "service (even split over all pods)"


def _picks(wvec: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Backend index per draw ``u`` under weights ``wvec`` (all alike when none is positive)."""
    if wvec.sum() <= 0:
        wvec = np.ones(len(wvec))
    cum = np.cumsum(wvec) / wvec.sum()
    return np.minimum(np.searchsorted(cum, u, side="right"), len(wvec) - 1)


def _static_weights(plan: Plan, u: NDArray[np.float64], alloc_of: Sequence[int], notes: list[str], req_class: Sequence[str] | None = None) -> Router:
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


def _endpoint_picker(picker: Picker) -> Router:
    """The inference pool's endpoint picker: the shortest queue, or the most free KV cache."""
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
