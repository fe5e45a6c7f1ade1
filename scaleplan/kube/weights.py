"""Integer traffic weights, shared by the optimizer (which plans static HTTPRoute weights), the
renderer (which writes them) and the simulator (which replays them): one definition, so the
three cannot drift apart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scaleplan.plan import Allocation, Plan

WEIGHT_TOTAL = 100
# kubernetes.class_header's per-class rules: the plan records each class's routing to 4
# decimals, and weights out of 10,000 carry it exactly (out of 100, rounding loaded a backend
# of the 8x8 Mélange anchor, planned at 99.95 %, at 100.6 %); Gateway API allows 1,000,000
CLASS_WEIGHT_TOTAL = 10_000
# Gateway API's HTTPRoute validation (gateway.networking.k8s.io/v1): rules in a route, matches in
# one rule, and matches over all its rules (the spec's class_header check and render's class
# rules both read these)
HTTPROUTE_MAX_RULES = 16
HTTPROUTE_MAX_RULE_MATCHES = 64
HTTPROUTE_MAX_MATCHES = 128


def peak_window(rps: Sequence[float]) -> int:
    """Index of the window with the highest demand (the first one on ties; 0 without demand)."""
    if not rps:
        return 0
    return max(range(len(rps)), key=lambda i: (rps[i], -i))


def largest_remainder(values: dict[str, float], total: int = WEIGHT_TOTAL) -> dict[str, int]:
    """Integers proportional to ``values`` summing to ``total`` (at least the number of positive
    values); each positive value gets >= 1, zero values get 0. Equal remainders go to the larger
    value, then by key, so the result is deterministic and, unless the values are equal too,
    does not depend on the keys (the optimizer's group numbers and render's Service names must
    round alike: :func:`scaleplan.solve.split.group_weights`)."""
    pos = {k: v for k, v in values.items() if v > 0 and math.isfinite(v)}
    out = dict.fromkeys(values, 0)
    if not pos:
        return out
    total = max(total, len(pos))
    s = sum(pos.values())
    quota = {k: total * v / s for k, v in pos.items()}
    for k, q in quota.items():
        out[k] = max(1, math.floor(q + 1e-9))
    left = total - sum(out[k] for k in pos)
    if left > 0:
        # remainders equal to 1e-9 tie whatever the float noise of the sum (its order follows
        # the keys')
        rem = {k: round(quota[k] - math.floor(quota[k] + 1e-9), 9) for k in pos}
        order = sorted(pos, key=lambda k: (-rem[k], -pos[k], k))
        for k in order[:left]:
            out[k] += 1
    while left < 0:  # minimums of 1 overshot the total: take from the largest
        k = sorted(pos, key=lambda k: (-out[k], k))[0]
        out[k] -= 1
        left += 1
    return out


def route_weights(plan: Plan, names: dict[str, str] | None = None) -> dict[str, int]:
    """The ``routing: gateway-api`` HTTPRoute's ``backendRefs[].weight`` per allocation name (or
    per ``names[allocation name]``, whose allocations' capacities add up: several allocations
    behind one backend, :mod:`scaleplan.kube.backends`): capacity at the plan's peak window
    (replicas in that window x ``capacity_rps_per_replica``), scaled to :data:`WEIGHT_TOTAL` by
    largest remainder. Allocations with replicas in some window but none at the peak get 0, and
    with :func:`class_routed` (this is then the header-less rule) those that miss a class, unless
    none serves every class."""
    w = peak_window(plan.demand.rps)
    cap: dict[str, float] = {}
    # kubernetes.class_header: this is the header-less rule, which may carry any class: only
    # allocations that serve every class (when any does)
    classes = [c for c, v in plan.demand.classes.items() if v > 0]

    def full(a: Allocation) -> bool:
        return all(c in a.routing for c in classes)

    only_full = class_routed(plan) and any(a.replicas > 0 and full(a) for a in plan.allocations)
    for a in plan.allocations:
        if a.replicas <= 0 or (only_full and not full(a)):
            continue
        key = names.get(a.name, a.name) if names else a.name
        cap[key] = cap.get(key, 0.0) + a.replicas_per_window[w] * a.capacity_rps_per_replica
    return largest_remainder(cap)



def class_routed(plan: Plan) -> bool:
    """``kubernetes.class_header`` with ``routing: gateway-api`` and more than one request
    class: the HTTPRoute has one rule per class (:func:`class_weights`) before its
    header-less rule (:func:`route_weights`)."""
    k8s = plan.spec.kubernetes
    active = sum(1 for v in plan.demand.classes.values() if v > 0)
    return k8s.routing == "gateway-api" and k8s.class_header is not None and active > 1


def class_weights(plan: Plan, names: dict[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Request class -> the integer weights of that class's HTTPRoute rule, per allocation name
    (or ``names[allocation name]``, members of one backend adding up): the plan's own per-class
    routing (``Allocation.routing``, the share of the class's peak demand each allocation
    serves), scaled to :data:`CLASS_WEIGHT_TOTAL` by largest remainder. Every backend is listed (0
    where it takes none of the class). Classes in the spec's order."""
    live = [a for a in plan.allocations if a.replicas > 0]
    keys = [names.get(a.name, a.name) if names else a.name for a in live]
    return rule_weights(live, keys, [c.name for c in plan.spec.traffic.classes])


def rule_weights(
    allocations: Sequence[Allocation], keys: Sequence[str], classes: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Class -> its HTTPRoute rule's integer weights per key: the ``routing`` share of the
    class of ``allocations[i]`` adds to ``keys[i]`` (the allocations of one backend sharing a
    key), scaled to :data:`CLASS_WEIGHT_TOTAL` by largest remainder; every key listed, 0 where
    it takes none of the class. The one rule for :func:`class_weights` (from a plan) and
    :func:`scaleplan.kube.backends.class_rule_spot_share` (before a plan exists)."""
    out: dict[str, dict[str, int]] = {}
    for c in classes:
        share = dict.fromkeys(keys, 0.0)
        for a, key in zip(allocations, keys, strict=True):
            share[key] += a.routing.get(c, 0.0)
        out[c] = largest_remainder(share, CLASS_WEIGHT_TOTAL)
    return out
