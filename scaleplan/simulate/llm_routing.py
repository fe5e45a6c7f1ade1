"""Which replica each LLM request goes to, as the rendered manifests route it: ``routing:
service`` spreads requests evenly over all pods; ``gateway-api`` routes by the HTTPRoute's
static weights (a share whose allocation has no running replica fails); ``inference-pool``'s
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

from scaleplan.plan import Plan
from scaleplan.simulate import llm_engine as eng

Picker = Literal["queue", "kv"]
PICKERS: tuple[Picker, ...] = ("queue", "kv")
Router = Callable[[int, float, eng.ReplicaView], int]


def route_as_rendered(plan: Plan, picker: Picker, u: NDArray[np.float64], alloc_of: Sequence[int], notes: list[str]) -> tuple[Router, str]:
    """(router, description) for the plan's ``kubernetes.routing``; ``u`` holds one uniform
    draw per request (the static weights' pick)."""
    routing: str = str(plan.spec.kubernetes.routing)
    if routing == "gateway-api":
        return _static_weights(plan, u, alloc_of, notes), "gateway-api (HTTPRoute static weights)"
    if routing == "inference-pool":
        return _endpoint_picker(picker), f"inference-pool ({'shortest queue' if picker == 'queue' else 'most free KV'})"
    return _even_split(), "service (even split over all pods)"


def _static_weights(plan: Plan, u: NDArray[np.float64], alloc_of: Sequence[int], notes: list[str]) -> Router:
    """The HTTPRoute's weights pick the allocation; its running replicas take turns."""
    from scaleplan.kube.weights import route_weights

    allocs = plan.allocations
    weights = route_weights(plan)
    wvec = np.array([weights.get(a.name, 0) for a in allocs], dtype=np.float64)
    if wvec.sum() <= 0:
        wvec = np.ones(len(allocs))
    cum = np.cumsum(wvec) / wvec.sum()
    alloc_pick: list[int] = np.minimum(np.searchsorted(cum, u, side="right"), len(allocs) - 1).tolist()
    rr_a = [0] * len(allocs)
    notes.append("routing: HTTPRoute static weights " + ", ".join(f"{a.name} {int(wvec[k])}" for k, a in enumerate(allocs)) + " (a share whose allocation has no running replica fails)")

    def route(i: int, t: float, view: eng.ReplicaView) -> int:
        ai = alloc_pick[i]
        ids = [g for g in view.serving_ids if alloc_of[g] == ai]
        if not ids:
            return -1
        g = ids[rr_a[ai] % len(ids)]
        rr_a[ai] += 1
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
