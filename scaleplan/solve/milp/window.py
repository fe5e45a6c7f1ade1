"""One window's problem and solution (plain data), and the arithmetic on them.

:class:`WindowProblem` is what the MILP is asked for one candidate list (classes, demand,
headroom, redundancy, spot, quotas, replica bounds, even or weighted routing);
:class:`WindowSolution` what it answers. :func:`even_need`, :func:`mixed_capacities` and
:func:`node_bounds` derive the per-candidate needs and bounds both formulations use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scaleplan.kube.zones import holds_fewer, spread_loss, spread_nodes, spread_replicas
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.oppoints import floor4
from scaleplan.wording import counted


class NodeKind(Protocol):
    """What a quota counts of one kind of node: a :class:`Candidate`, or a plan's allocation."""

    @property
    def gpus_per_node(self) -> int: ...


@dataclass(frozen=True)
class QuotaScope:
    label: str  # provider/region/family
    limit: int
    members: tuple[int, ...]  # candidate indices
    nodes: bool = False  # the limit counts nodes (placement.quotas[].max_nodes), not GPUs
    where: str = ""  # the spec field: placement.quotas.<i>.max_gpus | max_nodes

    def count(self, n: int) -> str:
        """``n`` with the limit's unit in the right number: '1 GPU', '8 GPUs', '1 node'."""
        return counted(n, "node" if self.nodes else "GPU")

    def per_node(self, c: NodeKind) -> int:
        """What one node of ``c`` counts against the limit."""
        return 1 if self.nodes else c.gpus_per_node

    def used(self, cands: Sequence[NodeKind], nodes: Sequence[int]) -> int:
        """What ``nodes[k]`` nodes of each ``cands[k]`` count against the limit."""
        return sum(self.per_node(cands[k]) * nodes[k] for k in self.members)


@dataclass(frozen=True)
class WindowProblem:
    candidates: Sequence[Candidate]
    classes: tuple[str, ...]
    demand: tuple[float, ...]  # per class, requests/s, before headroom
    headroom: float
    redundancy: str  # none | n+1 | zone
    spot_max_fraction: float | None  # None when no spot candidate can appear
    quotas: tuple[QuotaScope, ...] = ()
    min_replicas: int = 0
    max_replicas: int | None = None
    # routing: service -- one Service spreads requests evenly over every replica (kube-proxy),
    # so every replica takes D(1+h)/R of the traffic with the same class mix; False: weighted
    # routing (gateway-api), traffic split per class in any proportion
    even: bool = False
    # placement.spot.survive_loss: losing every spot candidate at once leaves the on-demand
    # replicas carrying the demand without headroom
    survive_spot_loss: bool = False
    # routing: gateway-api: the backend group (one Service: its serving shape) of each
    # candidate; the static HTTPRoute weights keep a group's share in the group when some of
    # its pods are lost (a spot loss, a node, a zone), so its own members must absorb it.
    # Empty: the load moves to any replica left (service, inference-pool)
    backend_groups: tuple[int, ...] = ()
    # routing: gateway-api over one demand window: the HTTPRoute weighs each backend Service by
    # its pods' capacity (:func:`route_caps`) and the Service spreads its share evenly over its
    # pods, so the share of requests on spot pods as delivered is spot capacity / capacity;
    # spot.max_fraction then also holds on that (the routing y alone is not what is delivered)
    spot_by_capacity: bool = False
    # routing: gateway-api over one demand window, one class: the route's capacity weights
    # load every pod at u = D / C (C: the capacity, :func:`route_caps`), so a backend group
    # survives losing L of its r pods (a node, a zone, its spot pods) iff r - L >= u r, which
    # is bilinear. (lo, hi, margin): the rows of an interval of u, C >= D / hi and, per group
    # in use, a (r_g - L_g) >= lo a r_g + margin D (margin: what the route's integer weights
    # may add to a group's share; ``scaleplan.solve.delivered``); None: no rows
    delivered_util: tuple[float, float, float] | None = None
    # per candidate, the replicas it keeps in this window whatever the demand (empty: none):
    # the rendered autoscaler's floor (an HPA's minReplicas >= 1) for an allocation the plan
    # uses in some window (``scaleplan.solve.floors``)
    floors: tuple[int, ...] = ()
    # placement.max_instance_types: the most instance types (:func:`type_key`) with nodes in
    # this window (None: no cap); the day's cap over every window is ``scaleplan.solve.typecap``
    max_types: int | None = None

    def floor_nodes(self, k: int) -> int:
        """The nodes candidate ``k``'s replica floor needs (0 without one)."""
        f = self.floors[k] if self.floors else 0
        return nodes_for(self.candidates[k], f, self.redundancy) if f else 0

    def replicas_on(self, k: int, nodes: int) -> int:
        """The replicas ``nodes`` nodes of candidate ``k`` run (:func:`replicas_on`)."""
        return replicas_on(self.candidates[k], nodes, self.redundancy)

    def full_replicas(self, nodes: Sequence[int]) -> list[int]:
        """:meth:`replicas_on` of every candidate: a plan's replicas for its ``nodes`` without
        max_replicas (more replicas never hurt). A candidate without nodes runs none (most of
        a plan's: 2-6 of the 119 in the zone case of ``bench/solve_bench.py``)."""
        return [self.replicas_on(k, n) if n else 0 for k, n in enumerate(nodes)]


def zone_spread(c: Candidate, redundancy: str) -> bool:
    """Does the enforced zone spread (``redundancy: zone``, maxSkew 1 over c's zones) hold
    ``c``'s nodes to fewer replicas than q each (q > 1 and two zones or more)?"""
    return holds_fewer(redundancy, c.replicas_per_node, c.zones)


def replicas_on(c: Candidate, nodes: int, redundancy: str) -> int:
    """The most replicas ``nodes`` nodes of ``c`` run as rendered: q each, and under
    ``redundancy: zone`` what the even zone spread lets them hold
    (:func:`scaleplan.kube.zones.spread_replicas`). The one figure behind the plan's nodes,
    cost and the rendered node limits (the window MILP's spread rows,
    ``formulation.Formulation._add_spread``)."""
    if zone_spread(c, redundancy):
        return spread_replicas(nodes, c.replicas_per_node, c.zones)
    return nodes * c.replicas_per_node


def nodes_for(c: Candidate, replicas: int, redundancy: str) -> int:
    """The fewest nodes of ``c`` that run ``replicas`` (the inverse of :func:`replicas_on`)."""
    if zone_spread(c, redundancy):
        return spread_nodes(replicas, c.replicas_per_node, c.zones)
    return math.ceil(replicas / c.replicas_per_node)


def zone_lost(c: Candidate, replicas: int) -> int:
    """The replicas of ``c`` a zone loss takes (``redundancy: zone``): its worst zone's share of
    ``replicas`` under the enforced even spread, ceil(r/Z)
    (:func:`scaleplan.kube.zones.spread_loss`). Every zone-loss row and check counts this: the
    MILP's m_k (Z_k m_k >= r_k), the fixed-count checks, the split, the HiGHS starts."""
    return spread_loss(replicas, c.zones)


def lost_unit(c: Candidate, kind: str) -> float:
    """The replicas of ``c`` one unit of a loss column takes: u_k (``nplus1``) a node's q_k,
    m_k (``zone``) counts replicas (:func:`zone_lost`), 1."""
    return 1.0 if kind == "zone" else float(c.replicas_per_node)


@dataclass
class WindowSolution:
    status: str  # optimal | feasible | infeasible | unknown
    nodes: list[int] = field(default_factory=list)
    replicas: list[int] = field(default_factory=list)
    routing: list[list[float]] = field(default_factory=list)  # [class][candidate]
    cost: float = 0.0
    bound: float | None = None
    seconds: float = 0.0
    reused: bool = False  # the plan of a quieter window, checked feasible for this one
    demand: tuple[float, ...] = ()  # the per-class demand it was found for
    # the optimum over a few candidates (``WindowModel.pool_start``): a start close to the
    # whole MILP's optimum, so HiGHS skips the sub-MIPs that search near the start
    pooled: bool = False
    # routing: inference-pool over pods of several shapes: True where ``routing`` is the
    # endpoint picker's split (``pool.pool_shares``), False where it is the free per-class LP's
    # (the split failed a rule at these counts) or the MILP's own (its counts failed
    # ``pool.pool_ok``); the explanation says which (``explain._pool_routing_line``)
    split: bool = False
    # the cost step proved this cost, and the tie-break among the plans of it did not finish
    # (``tiebreak.break_tie``: the command's deadline came first, or its MILP stopped short of
    # optimal): the plan is one of that cost, maybe not the one ranked first; the plan says so
    tie_cut: bool = False


def type_key(c: Candidate) -> tuple[str, str]:
    """What placement.max_instance_types counts as one instance type: the provider's type
    name, whatever its capacity type (on-demand and spot) and region (one node family)."""
    return (c.row.provider, c.row.instance_type)


def group_members(groups: Sequence[int], ks: Iterable[int]) -> dict[int, list[int]]:
    """Candidates ``ks`` by backend group (``groups[k]``, e.g. ``WindowProblem.backend_groups``):
    group -> its members in order, groups in ascending order."""
    out: dict[int, list[int]] = {}
    for k in ks:
        out.setdefault(groups[k], []).append(k)
    return dict(sorted(out.items()))


def route_caps(p: WindowProblem) -> list[float]:
    """Per candidate, what one replica adds to its backend's HTTPRoute weight
    (:func:`scaleplan.kube.weights.route_weights`: replicas x capacity_rps_per_replica): with
    several active classes its capacity for their mix, floored to 4 decimals
    (``Problem.mix_weight``: a backend receives every class); with one, its capacity for it;
    0 when it serves none."""
    active = [ci for ci, d in enumerate(p.demand) if d > 0]
    if len(active) > 1:
        return [floor4(m) for m in mixed_capacities(p, p.demand)]
    return [next((a for ci in active if (a := c.cap(p.classes[ci]))), 0.0) for c in p.candidates]


def spot_by_capacity_ok(p: WindowProblem, replicas: Sequence[int]) -> bool:
    """:attr:`WindowProblem.spot_by_capacity`: spot capacity <= max_fraction x capacity at
    :func:`route_caps` (True when the rule is off)."""
    f = p.spot_max_fraction
    if not p.spot_by_capacity or f is None or f >= 1:
        return True
    cap = [r * a for r, a in zip(replicas, route_caps(p), strict=True)]
    spot = sum(v for v, c in zip(cap, p.candidates, strict=True) if c.capacity_type == "spot")
    return spot <= f * sum(cap) + 1e-9 * max(1.0, spot)


def delivered_ok(p: WindowProblem, sol: WindowSolution, demand: Sequence[float]) -> bool:
    """The rows of :attr:`WindowProblem.delivered_util` on ``sol``'s counts for ``demand``
    (True without them): C >= D / hi, and per backend group what survives each loss
    ((1 - lo) C_g - margin x peak demand, when in use) at least the lost capacity, and at
    least h / (1 + h) C_g (traffic.headroom)."""
    if p.delivered_util is None or not p.backend_groups:
        return True
    if sum(1 for d in p.demand if d > 0) != 1:
        return True
    lo, hi, margin = p.delivered_util
    caps, cands, tol = route_caps(p), p.candidates, 1e-6 * max(1.0, sum(demand))
    if hi * sum(r * a for r, a in zip(sol.replicas, caps, strict=True)) < sum(demand) - tol:
        return False
    for ks in group_members(p.backend_groups, range(len(cands))).values():
        used = any(sol.nodes[k] for k in ks)
        left = (1 - lo) * sum(sol.replicas[k] * caps[k] for k in ks)
        left -= margin * sum(p.demand) if used or margin < 0 else 0.0
        node = {k: caps[k] * cands[k].replicas_per_node for k in ks}
        lost: list[float] = []
        if p.redundancy == "n+1":
            lost += [0.0, *(node[k] for k in ks if sol.nodes[k])]
        elif p.redundancy == "zone":
            lost.append(sum(caps[k] * zone_lost(cands[k], sol.replicas[k]) for k in ks))
        spot = [k for k in ks if cands[k].capacity_type == "spot"]
        if p.survive_spot_loss and spot:
            lost.append(sum(sol.replicas[k] * caps[k] for k in spot))
        if used:  # traffic.headroom: h / (1 + h) of the group's capacity is spare
            lost.append(p.headroom / (1 + p.headroom) * sum(sol.replicas[k] * caps[k] for k in ks))
        if any(left < v - tol for v in lost):
            return False
    return True


def on_demand_factor(p: WindowProblem) -> float:
    """routing: service: the multiple of theta (the replicas the demand needs without
    headroom) the on-demand replicas must hold: (1-f)(1+h) for spot.max_fraction f < 1, at
    least 1 with ``survive_spot_loss`` (all spot lost, the on-demand ones carry the demand
    without headroom); 0 when no spot candidate can appear."""
    f = p.spot_max_fraction
    if f is None:
        return 0.0
    share = (1 - f) * (1 + p.headroom) if f < 1 else 0.0
    return max(share, 1.0) if p.survive_spot_loss else share


def even_need(p: WindowProblem, demand: Sequence[float]) -> list[float | None]:
    """Replicas candidate k alone needs for ``demand`` (no headroom) under an even split.

    One Service sends every replica the same share of every class, so a replica of k at R
    replicas in total carries sum_c D_c/(R a_ck) of its capacity: R >= sum_c D_c/a_ck.
    None when k cannot serve a class with demand at the peak (it would receive it too).
    """
    active = [ci for ci, d in enumerate(p.demand) if d > 0]
    out: list[float | None] = []
    for k in p.candidates:
        caps = [k.cap(p.classes[ci]) for ci in active]
        if any(not c for c in caps):
            out.append(None)
            continue
        out.append(sum(float(demand[ci]) / (k.cap(p.classes[ci]) or 1.0) for ci in active))
    return out


def node_bounds(
    p: WindowProblem, demand: Sequence[float], needs: Sequence[float | None] | None = None
) -> list[int]:
    """Upper bound on nodes per candidate: twice what it alone would need, plus spares.

    Under an even split a type may be mixed with slower ones, so its bound is taken from the
    slowest usable type's need (twice, plus two of the largest node's replicas for n+1/zone).
    ``needs``: :func:`even_need` of ``demand`` when the caller has it.
    """
    # the zone spread may need up to Z - 1 nodes more than ceil(replicas / q) (replicas_on)
    more = [k.zones - 1 if zone_spread(k, p.redundancy) else 0 for k in p.candidates]
    if p.even:
        needs = even_need(p, demand) if needs is None else needs
        usable = [v for v in needs if v is not None]
        if not usable:
            return [0] * len(needs)
        top = max(usable) * (1 + p.headroom)
        qmax = max(k.replicas_per_node for k, v in zip(p.candidates, needs, strict=True) if v is not None)
        return [0 if v is None else math.ceil((2 * top + 2 * qmax + p.min_replicas) / k.replicas_per_node - 1e-9) + 1 + z
                for k, v, z in zip(p.candidates, needs, more, strict=True)]
    ub: list[int] = []
    for k in p.candidates:
        need = 0.0
        for c, d in zip(p.classes, demand, strict=True):
            cap = k.cap(c)
            if cap and d > 0:
                need += d * (1 + p.headroom) / cap
        rpn = k.replicas_per_node
        alone = 2 * math.ceil(need / rpn - 1e-9) + 2 + math.ceil(p.min_replicas / rpn)
        ub.append(alone + more[len(ub)])
    return ub


def mixed_capacities(
    p: WindowProblem, demand: Sequence[float], needs: Sequence[float | None] | None = None
) -> list[float]:
    """Requests/s one replica of each candidate takes at ``demand``'s class mix (0: cannot);
    ``needs``: :func:`even_need` of ``demand`` when the caller has it."""
    total = float(sum(demand))
    needs = even_need(p, demand) if needs is None else needs
    return [total / v if v and total > 0 else 0.0 for v in needs]


def seed_pool(
    p: WindowProblem, demand: Sequence[float], needs: Sequence[float | None] | None = None
) -> set[int]:
    """A few candidates whose plan is a start for the quietest window (which has no quieter
    plan to scale up): per provider, region and capacity type, the one with the cheapest
    request/s at ``demand``'s class mix (price / (replicas per node x :func:`mixed_capacities`)).
    Only where HiGHS starts: the window's optimum is over every candidate."""
    mc = mixed_capacities(p, demand, needs)
    best: dict[tuple[str, str, str], tuple[float, int]] = {}
    for k, c in enumerate(p.candidates):
        if mc[k] <= 0:
            continue
        key = (c.row.provider, c.row.region, c.capacity_type)
        v = (c.price / (c.replicas_per_node * mc[k]), k)
        if key not in best or v < best[key]:
            best[key] = v
    return {k for _, k in best.values()}
