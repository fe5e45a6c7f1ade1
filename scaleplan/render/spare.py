"""The plan's redundancy spare in a KEDA ScaledObject (``spec.advanced.scalingModifiers``).

Under ``redundancy: n+1`` / ``zone`` the optimizer runs, per allocation and hour, the more of
the nodes the demand and its headroom need and the nodes the demand alone needs plus those a
loss takes: with ``q`` replicas a node, ``x_h`` / ``x_0`` the demand in replicas with / without
the headroom and ``m = ceil(x_0 / q)``::

    nodes = max(ceil(x_h / q), m + spare(m))

``spare(m)`` is 1 node under n+1 and ``ceil(m / (Z - 1))`` nodes under zone over Z zones (the
fewest ``n`` with ``n - ceil(n / Z) >= m``: the nodes left after the worst zone carry the
demand). Where the zone spread holds nodes of q > 1 replicas to fewer (``kube.zones``) the zone
loss is ceil(R/Z) replicas, not nodes: the fewest R = m + ceil(m / (Z - 1)) with ``m =
ceil(x_0)``, at least ``ceil(x_h)``, on the nodes the spread needs, each running what it holds
(``spread_nodes`` / ``spread_replicas``), as the optimizer counts it. A threshold alone asks for
``ceil(x_h)`` pods and so drops that spare wherever the headroom does not cover it, and an HPA
cannot add a constant. KEDA's formula can: it is written here as the plan's count itself, a step
function of the trigger's metric (a chain of ``metric <= bound ? count : ...``; comparisons and
ternaries are in KEDA's formula language in every release with scalingModifiers, 2.12 on, where
``ceil`` is not), and the HPA under it, at target 1 AverageValue, asks for ``ceil(count) =
count`` pods. The count being a whole number also keeps the HPA's 10 % tolerance from holding a
pod too few below 11 pods (a fractional ``x + 1`` at 3.2 from 3 pods is within it). Pure;
docs/render.md, "Autoscaling".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scaleplan.kube.zones import (
    DEFAULT_ZONES,
    holds_fewer,
    spread_keep,
    spread_nodes,
    spread_replicas,
)
from scaleplan.plan import Plan
from scaleplan.render.allocations import Alloc
from scaleplan.render.formula import step_formula
from scaleplan.render.metadata import Obj
from scaleplan.wording import counted

EPS = 1e-9
MAX_STEPS = 1000  # a formula of at most this many bounds (the HPA caps at maxReplicaCount)


def zones_of(al: Alloc) -> int:
    """The zones the plan spreads ``al``'s nodes over (the optimizer's default when the
    region lists none)."""
    return len(al.a.zones) if al.a.zones else DEFAULT_ZONES


def spare_nodes(redundancy: str, m: int, zones: int) -> int:
    """The nodes beyond ``m`` that the plan runs so that ``m`` are left after a loss."""
    if m <= 0 or redundancy == "none":
        return 0
    if redundancy == "zone" and zones >= 2:
        return spread_keep(m, zones) - m
    return 1


def planned_count(plan: Plan, al: Alloc, x_h: float, x_0: float) -> int:
    """The replicas the plan's rule runs for ``al`` at a load of ``x_h`` replicas with the
    headroom and ``x_0`` without: whole nodes, the headroom's or the demand's plus a loss."""
    q, z, redundancy = al.a.replicas_per_node, zones_of(al), plan.spec.placement.redundancy
    if holds_fewer(redundancy, q, z):  # the zone spread: a zone loss in replicas
        m = max(0, math.ceil(x_0 - EPS))
        r = max(math.ceil(x_h - EPS), spread_keep(m, z), 0)
        return spread_replicas(spread_nodes(r, q, z), q, z)
    m = max(0, math.ceil(x_0 / q - EPS))
    spare = spare_nodes(redundancy, m, z)
    return q * max(math.ceil(x_h / q - EPS), m + spare, 0)


def steps(plan: Plan, al: Alloc, t_h: float, t_0: float) -> list[tuple[float, int]]:
    """``(bound, count)`` pairs, bounds rising: at a metric in (previous bound, bound] the plan's
    rule runs ``count`` replicas (``planned_count`` at ``metric / t_h``, ``metric / t_0``: the
    trigger's threshold with and without the headroom), at most maxReplicaCount, which the last
    count is and holds above the last bound. The first pair is (0, 0). Past MAX_STEPS bounds
    the chain ends on maxReplicaCount (more than the rule there, never fewer)."""
    q = al.a.replicas_per_node
    if holds_fewer(plan.spec.placement.redundancy, q, zones_of(al)):
        q = 1  # the count changes with every replica the demand needs (planned_count)
    top = max(1, al.most_replicas, al.min_replicas)
    bounds = sorted({k * q * t for t in (t_h, t_0) for k in range(1, top // q + 2)})
    out: list[tuple[float, int]] = [(0.0, 0)]
    for b in bounds[:MAX_STEPS]:
        n = min(top, planned_count(plan, al, b / t_h, b / t_0))
        if n == out[-1][1]:
            out[-1] = (b, n)
        else:
            out.append((b, n))
        if n >= top:
            return out
    out.append((math.inf, top))  # capped before the rule reached top
    return out


def formula(var: str, chain: list[tuple[float, int]]) -> str:
    """``chain`` as a KEDA formula on the trigger named ``var``: ``var <= b1 ? n1 : ... : nK``
    (the last count above the last bound), wrapped in ``float()`` as KEDA 2.12 needs; written
    (and read back) by :mod:`scaleplan.render.formula`."""
    return step_formula(var, chain).text()


def scaling_modifiers(plan: Plan, al: Alloc, var: str, t_h: float, t_0: float) -> Obj | None:
    """The ScaledObject's ``advanced.scalingModifiers`` that runs the plan's count, its spare
    included, from the trigger named ``var`` (threshold ``t_h``, ``t_0`` without the headroom);
    None without redundancy (the threshold alone then asks for the plan's rule)."""
    if plan.spec.placement.redundancy == "none" or t_h <= 0 or t_0 <= 0:
        return None
    return {
        "formula": formula(var, steps(plan, al, t_h, t_0)),
        "target": "1",
        "metricType": "AverageValue",
    }


def engine_spare_dropped(plan: Plan, scaled: Sequence[tuple[Alloc, Obj]]) -> list[str]:
    """One warning naming the ScaledObjects (with their allocations) that scale on an LLM
    engine's own metrics (requests in flight, KV-cache use) under n+1 / zone with no cron
    floor: those ask for the pods the load fills, not the plan's spare, and no formula is
    written for them (docs/render.md, "the redundancy spare")."""
    redundancy = plan.spec.placement.redundancy
    if redundancy == "none":
        return []
    names = []
    kv = False  # TGI exports no KV-cache use: its objects read the requests in flight alone
    for al, so in scaled:
        kinds = {(t["type"], t.get("name")) for t in so["spec"]["triggers"]}
        if ("prometheus", "in-flight") in kinds and not any(k == "cron" for k, _ in kinds):
            names.append(f"{al.name} ({max(al.a.replicas_per_window, default=al.a.replicas)} "
                         f"at the peak)")
            kv = kv or ("prometheus", "kv-cache") in kinds
    if not names:
        return []
    return [
        f"{counted(len(names), 'ScaledObject')} {'scales' if len(names) == 1 else 'scale'} on "
        f"the engine's requests in flight{' and KV-cache use' if kv else ''}, "
        f"which ask for the pods the load fills, not the plan's {redundancy} "
        f"spare: {', '.join(names)}; only minReplicaCount holds it. To hold it at any rate set "
        "kubernetes.autoscaler.prometheus.query to the Service's request rate (the ScaledObject "
        "then runs the plan's count, spare included), or cron: true (the plan's count as a "
        "floor in its hours)"
    ]
