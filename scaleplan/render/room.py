"""Room above the plan's peak (``kubernetes.autoscaler.max_replicas_factor``, docs/render.md
"Room above the peak"): each autoscaled allocation's bound, within the spec's own caps, and
what render says of it. Pure.

The bound is the allocation's planned peak times the factor, rounded up, except where the peak
is all there is (an allocation priced $0/h: its owned nodes) or where the plan's own curve of
counts drives it (a burst plan's priced allocations, :mod:`scaleplan.render.burst`). The spec's
caps hold with every allocation at its bound at once: ``placement.max_replicas`` (replicas at
any hour) and each quota's ``max_nodes`` / ``max_gpus`` (its nodes counted as the NodePool
limits count them, the zone spread's included); the allocations take the room the caps leave
in name order, one replica at a time, and none is taken where the plan's peaks already reach a
cap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from scaleplan.kube.zones import spread_nodes, spread_zones
from scaleplan.plan import Allocation, Plan
from scaleplan.quotas import quota_covers, quota_label


def bound_nodes(plan: Plan, a: Allocation, replicas: int) -> int:
    """The nodes ``replicas`` of ``a`` take as rendered: whole nodes, spread evenly over its
    zones where the redundancy enforces a zone spread (never fewer than the plan's peak)."""
    zones = spread_zones(plan.spec.placement.redundancy, a.zones)
    nodes = max(a.nodes, math.ceil(replicas / a.replicas_per_node))
    return max(nodes, spread_nodes(replicas, a.replicas_per_node, len(zones))) if zones else nodes


def _wanted(plan: Plan, a: Allocation, priced_burst: bool) -> int:
    factor = plan.spec.kubernetes.autoscaler.max_replicas_factor
    if factor <= 1.0 or a.price_per_node_hour <= 0 or priced_burst:
        return a.replicas
    return max(a.replicas, math.ceil(a.replicas * factor - 1e-9))


def bounds(plan: Plan, owned: Callable[[Allocation], bool]) -> tuple[dict[str, int], list[str]]:
    """Allocation name -> its autoscaler's bound (the peak when there is no room), and what
    capped the room the factor asked for (``owned``: :func:`~scaleplan.render.allocations.
    owned_at_peak`)."""
    live = [a for a in plan.allocations if a.replicas > 0]
    priced_burst = plan.spec.kubernetes.routing != "gateway-api" and any(map(owned, live))
    want = {a.name: _wanted(plan, a, priced_burst) for a in live}
    got = {a.name: a.replicas for a in live}
    caps = _caps(plan, live)
    capped: dict[str, str] = {}
    for a in sorted(live, key=lambda b: b.name):
        while got[a.name] < want[a.name]:
            got[a.name] += 1
            over = next((what for what, used, limit in caps if used(got) > limit), None)
            if over is not None:
                got[a.name] -= 1
                capped.setdefault(over, a.name)
                break
    notes = [
        f"kubernetes.autoscaler.max_replicas_factor: the room above the peak stops at {what} "
        f"(from {name} on, in name order), with every allocation at its bound at once"
        for what, name in capped.items()
    ]
    return got, notes


Cap = tuple[str, Callable[[dict[str, int]], int], int]


def _caps(plan: Plan, live: Sequence[Allocation]) -> list[Cap]:
    """The spec's caps as (name, usage at the bounds, limit); a cap the plan's peaks already
    reach allows no room at all (its limit is then the peaks' usage)."""
    pl = plan.spec.placement
    peaks = {a.name: a.replicas for a in live}
    out: list[Cap] = []

    def add(what: str, used: Callable[[dict[str, int]], int], limit: int) -> None:
        out.append((what, used, max(limit, used(peaks))))

    if pl.max_replicas is not None:
        cap = pl.max_replicas
        add(f"placement.max_replicas {cap}", lambda b: sum(b.values()), cap)
    for q in pl.quotas:
        members = [
            a for a in live
            if quota_covers(q, a.provider, a.region, a.family, a.accelerators_per_node)
        ]
        if not members:
            continue
        for limit, unit, each in (
            (q.max_nodes, "nodes", lambda a: 1),
            (q.max_gpus, "GPUs", lambda a: a.accelerators_per_node),
        ):
            if limit is None:
                continue

            def used(b: dict[str, int], ms: Sequence[Allocation] = members,
                     per: Callable[[Allocation], int] = each) -> int:
                return sum(bound_nodes(plan, a, b[a.name]) * per(a) for a in ms)

            add(f"quota {quota_label(q)} ({limit} {unit})", used, limit)
    return out
