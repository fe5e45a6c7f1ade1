"""The backends of the ``routing: gateway-api`` HTTPRoute: which allocations share one Service.

Allocations that serve a request the same way, whichever of them gets it, are interchangeable:
they run in one cluster (same provider and region), on the same accelerator with the same GPUs
per replica, serve exactly the same ``capacity_rps_per_replica`` at the same operating point,
and run the same LLM server settings (the whole ``llm`` block). Such allocations (typically the
spot and the on-demand replicas of one instance shape, or two instance sizes with the same GPU)
share **one** backend Service and one HTTPRoute ``backendRef``: kube-proxy spreads the backend's
requests evenly over its ready endpoints, so when one member loses its pods (a spot reclaim)
the other members take its share, and the route's static weights only split traffic between
different shapes.

:func:`backends` is the one grouping: render writes its Services, weights and pod labels,
the simulators replay it, the optimizer's spot warning and ``check`` judge losses by it.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scaleplan.kube import names, safety
from scaleplan.kube.safety import BACKEND_LABEL
from scaleplan.kube.weights import (
    class_routed,
    class_weights,
    route_weights,
    rule_weights,
)

if TYPE_CHECKING:
    from scaleplan.plan import Allocation, Plan

# BACKEND_LABEL (kept with the reserved labels in kube/safety.py): the pod label a shared backend
# Service selects on, only on pods of a backend with several allocations (a backend of one
# allocation selects that Deployment's pods as before)
__all__ = [
    "BACKEND_LABEL",
    "Backend",
    "allocation_service",
    "backend_class_weights",
    "backend_of",
    "backend_weights",
    "backends",
    "class_rule_spot_share",
    "group_allocations",
    "losable",
    "request_shares",
    "shape_key",
    "spot_loss_share",
    "weighted_backends",
]


@dataclass(frozen=True)
class Backend:
    """One HTTPRoute backend: its Service name and the allocations (names, plan order) behind it."""

    service: str
    members: tuple[str, ...]

    @property
    def shared(self) -> bool:
        """Several allocations behind one Service (their pods carry :data:`BACKEND_LABEL`)."""
        return len(self.members) > 1


def allocation_service(allocation: str) -> str:
    """The Service name of a backend of one allocation: its (sanitized) Deployment name, with
    ``s-`` in front when that does not start with a letter (Service names are DNS-1035 labels)."""
    name = safety.sanitize_dns_label(allocation)
    return name if names.DNS_1035_LABEL.fullmatch(name) else safety.sanitize_dns_label(f"s-{name}")


def shape_key(a: Allocation) -> tuple[object, ...]:
    """What makes two allocations interchangeable behind one Service: same cluster (provider,
    region), accelerator, GPUs per replica, exactly equal capacity per replica and operating
    point, and equal LLM server settings (the whole ``llm`` block)."""
    llm = a.llm.model_dump_json() if a.llm is not None else None
    return (
        a.provider,
        a.region,
        a.accelerator,
        a.gpus_per_replica,
        a.capacity_rps_per_replica,
        a.operating_point.model_dump_json(),
        llm,
    )


def _shared_name(prefix: str, a: Allocation, taken: set[str]) -> str:
    """``<prefix>-<accelerator>-x<gpus>`` lower-cased as a DNS-1035 label, ``-2``, ``-3``, ...
    appended until it is not ``taken``."""
    base = f"{prefix}-{a.accelerator}-x{a.gpus_per_replica}".lower()
    n = 1
    while True:
        cand = allocation_service(base if n == 1 else f"{base}-{n}")
        if cand not in taken:
            return cand
        n += 1


def group_allocations(allocations: Sequence[Allocation]) -> list[list[Allocation]]:
    """Allocations with replicas, grouped by :func:`shape_key` (groups and members in the
    order of their first allocation)."""
    groups: dict[tuple[object, ...], list[Allocation]] = {}
    for a in allocations:
        if a.replicas > 0:
            groups.setdefault(shape_key(a), []).append(a)
    return list(groups.values())


def backends(plan: Plan) -> tuple[Backend, ...]:
    """The HTTPRoute's backends, in plan order. A backend of one allocation keeps that
    allocation's own Service name (:func:`allocation_service`); a shared one is named after the
    shape, ``<metadata.name>-<accelerator>-x<gpus>``, made unique against every other backend
    (in the order of the sorted member names, so the result does not depend on luck)."""
    groups = group_allocations(plan.allocations)
    taken = {allocation_service(g[0].name) for g in groups if len(g) == 1}
    named: dict[int, str] = {}
    shared = [i for i, g in enumerate(groups) if len(g) > 1]
    for i in sorted(shared, key=lambda i: sorted(a.name for a in groups[i])):
        named[i] = _shared_name(plan.spec.metadata.name, groups[i][0], taken)
        taken.add(named[i])
    return tuple(
        Backend(named.get(i) or allocation_service(g[0].name), tuple(a.name for a in g))
        for i, g in enumerate(groups)
    )


def backend_of(plan: Plan) -> dict[str, Backend]:
    """Allocation name -> its backend (allocations with replicas only)."""
    return {m: b for b in backends(plan) for m in b.members}


def backend_weights(plan: Plan) -> dict[str, int]:
    """The HTTPRoute's ``backendRefs[].weight`` per backend Service: the sum of its members'
    capacity at the plan's peak window, scaled by :func:`scaleplan.kube.weights.route_weights`."""
    return route_weights(plan, {m: b.service for b in backends(plan) for m in b.members})


def backend_class_weights(plan: Plan) -> dict[str, dict[str, int]]:
    """``kubernetes.class_header``: request class -> its HTTPRoute rule's weight per backend
    Service (:func:`scaleplan.kube.weights.class_weights`, members of a backend adding up)."""
    return class_weights(plan, {m: b.service for b in backends(plan) for m in b.members})


def weighted_backends(plan: Plan) -> list[tuple[Backend, tuple[int, ...], int]]:
    """Per backend, in plan order: the backend, its members' indices in ``plan.allocations`` and
    its HTTPRoute weight: what the simulators replay (a draw picks the backend by weight, then
    its running replicas take turns)."""
    index = {a.name: ai for ai, a in enumerate(plan.allocations)}
    weights = backend_weights(plan)
    return [
        (b, tuple(index[m] for m in b.members), weights.get(b.service, 0)) for b in backends(plan)
    ]


def losable(plan: Plan, backend: Backend) -> bool:
    """Every member of ``backend`` runs on spot capacity: a spot reclaim leaves the Service
    without endpoints (a backend with an on-demand member keeps serving)."""
    spot = {a.name for a in plan.allocations if a.capacity_type == "spot"}
    return all(m in spot for m in backend.members)


def request_shares(plan: Plan) -> dict[str, float]:
    """Backend Service -> the share of all requests the rendered HTTPRoute sends it: its
    weight over the total; with ``kubernetes.class_header`` (:func:`class_routed`) the class
    rules' weights, each class at its share of the traffic (every request carries the header)."""
    if class_routed(plan):
        out: dict[str, float] = {}
        demand = sum(plan.demand.classes.values()) or 1.0
        for cls, cw in backend_class_weights(plan).items():
            total_c = sum(cw.values())
            share = plan.demand.classes.get(cls, 0.0) / demand
            for svc, w in cw.items():
                out[svc] = out.get(svc, 0.0) + (share * w / total_c if total_c else 0.0)
        return out
    weights = backend_weights(plan)
    total = sum(weights.values())
    return {svc: (w / total if total > 0 else 0.0) for svc, w in weights.items()}


def class_rule_spot_share(
    allocations: Sequence[Allocation], classes: Sequence[tuple[str, float]]
) -> float:
    """``kubernetes.class_header``: the share of all requests the class rules send to spot
    pods. Class c (traffic share s_c) weighs each backend (:func:`group_allocations`) by its
    members' ``routing`` share of c (:func:`scaleplan.kube.weights.rule_weights`, the weights
    render writes), and kube-proxy spreads a backend's requests evenly over its pods: sum_c s_c
    sum_b W_cb spot_b / pods_b. The optimizer holds spot.max_fraction with it
    (``solve.delivered.rounded_spot_share``) before a Plan exists."""
    groups = group_allocations(allocations)
    keys = [f"{i:06d}" for i in range(len(groups))]
    # per group, the same for every class: its key, pods and spot pods
    pods = [
        (k, sum(a.replicas for a in g), sum(a.replicas for a in g if a.capacity_type == "spot"))
        for k, g in zip(keys, groups, strict=True)
    ]
    members = [a for g in groups for a in g]
    member_keys = [k for k, g in zip(keys, groups, strict=True) for _ in g]
    weights = rule_weights(members, member_keys, [cls for cls, _ in classes])
    total = sum(s for _, s in classes) or 1.0
    out = 0.0
    for cls, s in classes:
        w = weights[cls]
        tot = sum(w.values())
        for k, n, spot in pods:
            if tot and n:
                out += s / total * w[k] / tot * spot / n
    return out


def spot_loss_share(plan: Plan) -> float:
    """Share of requests the static HTTPRoute weights send to backends whose members all run on
    spot (:func:`request_shares`): what fails while the spot capacity is reclaimed (those
    Services have no pods until replacements are ready). A spot allocation that shares its
    backend with on-demand members loses nothing: its siblings take its share."""
    shares = request_shares(plan)
    return sum(shares.get(b.service, 0.0) for b in backends(plan) if losable(plan, b))
