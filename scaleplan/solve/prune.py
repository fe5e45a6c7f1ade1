"""Pruning: candidates that another candidate dominates are dropped before the search.

Also the quota scopes (which quotas hold an instance row), which pruning and the problem's
quota rows share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scaleplan.catalog.model import InstanceRow
from scaleplan.kube.zones import holds_fewer
from scaleplan.quotas import quota_covers
from scaleplan.spec import Quota, Spec

if TYPE_CHECKING:
    from scaleplan.solve.candidates import Candidate

# $/h: how much dearer than the least cost a plan the MILP's tie-break keeps may be
# (milp.tiebreak.TIE_TOL; a test keeps them equal)
TIE_MARGIN = 1e-7


def prune_rules(spec: Spec, cands: Sequence[Candidate]) -> PruneRules:
    return PruneRules(
        region_scoped=zone_losses_per_region(spec),
        exact_only=spec.placement.max_replicas is not None,
        quota_of={c.row.key: quota_members(spec, c.row) for c in cands},
        node_quotas=frozenset(
            i for i, q in enumerate(spec.placement.quotas) if q.max_nodes is not None
        ),
        shape_scoped=losses_per_backend(spec),
        spot_capped=spot_capped(spec),
        classes=tuple(c.name for c in spec.traffic.classes) or ("default",),
        type_scoped=spec.placement.max_instance_types is not None,
        spread=spec.placement.redundancy == "zone",
    )


def spot_capped(spec: Spec) -> bool:
    """Whether spot.max_fraction may hold on capacity as the route delivers it
    (``WindowProblem.spot_by_capacity``: routing: gateway-api over one demand window, or one
    serving shape, or max_fraction 0; inference-pool always, its picker balances load over
    every pod): spot capacity <= max_fraction x capacity is not monotone in the replicas, so a
    spot candidate may only be replaced by a spot one whose nodes carry exactly its capacity
    (or by an on-demand one). Known from the spec alone, so it holds for every gateway-api or
    inference-pool spec that allows spot below a fraction of 1."""
    spot = spec.placement.spot
    weighted = spec.kubernetes.routing in ("gateway-api", "inference-pool")
    return weighted and spot.allowed and spot.max_fraction < 1


def losses_per_backend(spec: Spec) -> bool:
    """Whether a loss is absorbed within each backend group (one Service per serving shape):
    under ``routing: gateway-api`` the static HTTPRoute weights keep sending a group its
    share, so with spot.survive_loss (a spot loss) and with n+1 / zone each group's own
    members carry it: the one-class rows are per group, and several classes without
    ``kubernetes.class_header`` are planned as that one-class question at each type's
    capacity for the class mix (``mixwindow``, the static weights over a curve), per group as
    well. A candidate of one shape then cannot stand in for one of another (moving it changes
    two groups' rows: an on-demand group whose spare rested on a spot sibling of its shape
    would need a spare of its own), so candidates are pruned within each shape and whole
    shapes against each other (:func:`prune_shapes`). Regions are part of
    the shape: before, g6e.xlarge in two regions kept the on-demand row of one and the cheaper
    spot row of the other, and llm-chat without g6e.2xlarge cost $5.44/h over both regions
    against $4.60/h in one. (With a class header the one-window per-class MILP keeps a spare
    per type, which merging would not break, but its daily-curve heuristic and the checks as
    delivered read the route's groups, so it is scoped the same way.)"""
    if spec.kubernetes.routing != "gateway-api":
        return False
    spot = spec.placement.spot
    if spot.allowed and spot.survive_loss:
        return True
    return spec.placement.redundancy in ("n+1", "zone")


def zone_losses_per_region(spec: Spec) -> bool:
    """Whether the spec's zone rule counts a zone's losses over a whole region.

    It does under ``routing: service`` (the survivors of a zone split the traffic evenly),
    under ``inference-pool`` (a routing of the demand over what a region's zone loss leaves,
    ``milp.weighted._add_pool_losses`` with several classes) and with one request class under
    gateway-api (capacity summed over the region). With several classes under gateway-api
    every type keeps its own zone spare for its own load (``zone, several`` in
    docs/optimizer.md): no row couples candidates of one region, so regions are
    interchangeable for pruning as they are under n+1.
    """
    if spec.placement.redundancy != "zone":
        return False
    if spec.kubernetes.routing in ("service", "inference-pool"):
        return True
    classes = spec.traffic.classes
    return sum(1 for c in classes if c.share > 0) <= 1


def quota_members(spec: Spec, row: InstanceRow) -> tuple[int, ...]:
    """Indices of the spec's quotas whose scope (provider, region, family glob) holds ``row``."""
    return tuple(i for i, q in enumerate(spec.placement.quotas) if in_quota_scope(q, row))


def in_quota_scope(q: Quota, row: InstanceRow) -> bool:
    """Whether ``row`` lies in quota ``q``'s scope (:func:`quota_covers`)."""
    return quota_covers(q, row.provider, row.region, row.family, row.accelerator_count)


@dataclass(frozen=True)
class PruneRules:
    """What tells otherwise interchangeable candidates apart (see :func:`prune`)."""

    # zone losses counted per region (zone_losses_per_region): prune each region apart
    region_scoped: bool = False
    # placement.max_replicas set: only identical shapes may replace each other
    exact_only: bool = False
    # row key -> the quotas that hold it
    quota_of: dict[tuple[str, str, str], tuple[int, ...]] = field(default_factory=dict)
    # the quotas that count nodes (max_nodes): c nodes of j cannot stand in for one of k there
    node_quotas: frozenset[int] = frozenset()
    # losses absorbed per backend group (losses_per_backend): prune within each serving shape,
    # then whole shapes (prune_shapes)
    shape_scoped: bool = False
    # spot capacity capped as the route delivers it (spot_capped): a spot candidate is only
    # replaced by a spot one whose nodes carry exactly its capacity (or an on-demand one)
    spot_capped: bool = False
    # the spec's request classes: where several classes share a class-blind route only the
    # candidates serving all of them are searched (``diagnose.serving_candidates``)
    classes: tuple[str, ...] = ()
    # placement.max_instance_types set: a candidate only stands in for one of its own instance
    # type (on-demand and spot, any region: ``milp.window.type_key``); one of another type may
    # be one type too many. Whole serving shapes are then not pruned across each other
    type_scoped: bool = False
    # redundancy: zone: the enforced zone spread holds a node of q > 1 replicas to fewer over
    # more zones (``kube.zones.spread_replicas``), so such a j only stands in for a k of its own
    # zone count
    spread: bool = False


def prune(cands: list[Candidate], rules: PruneRules | None = None) -> list[Candidate]:
    """Drop candidates that a cheaper (or equally cheap, earlier-named) candidate dominates.

    j dominates k when c = ceil(q_k / q_j) nodes of j (one node when j has at least k's
    replicas per node q) cost no more than one node of k (less by more than the cost the
    MILP's tie-break may add, TIE_MARGIN, when c > 1), j is on-demand or k is spot, j has at
    least k's per-replica capacity for every class k serves and at least as many zones (as
    many where j's nodes run q > 1 replicas under the zone spread, ``PruneRules.spread``),
    both are in the same quotas
    (and then c nodes of j hold no more GPUs than one of k), and, where zone losses are counted
    per region (:func:`zone_losses_per_region`), both are in the same region (where losses
    are absorbed per backend group, :func:`losses_per_backend`, the same serving shape; whole
    shapes are then pruned across shapes and regions, :func:`prune_shapes`); where spot is
    capped as delivered (:func:`spot_capped`) a spot k is replaced by an on-demand j or a spot
    j of exactly its capacity, and two serving shapes stay where there were two
    (:func:`_two_shapes`). Replacing each
    node of k by c nodes of j (routing k's traffic to j) then keeps every constraint satisfied
    (coverage, spot share, quotas, min replicas, n+1 and zone losses: docs/optimizer.md,
    "Pruning") at no higher cost, so some optimal plan avoids k. Regions are otherwise
    interchangeable: the same instance type at the same price in several regions keeps the
    first region by name. With ``placement.max_replicas`` only candidates with identical
    replicas per node and capacities replace each other. Ties keep the smaller name.
    """
    rules = rules or PruneRules()
    groups: dict[tuple[object, ...], list[Candidate]] = {}
    for k in sorted(cands, key=lambda c: (c.price, c.sort_key)):
        quotas = rules.quota_of.get(k.row.key, ())
        key: tuple[object, ...] = (quotas,)
        if rules.region_scoped:
            key += (k.row.provider, k.row.region)
        if rules.shape_scoped:
            key += (k.serving_shape,)
        if rules.type_scoped:
            key += (k.row.provider, k.row.instance_type)
        groups.setdefault(key, []).append(k)
    kept: list[Candidate] = []
    for gkey, members in groups.items():
        chosen: list[Candidate] = []
        for k in members:
            if not any(_replaces(j, k, rules, bool(gkey[0])) for j in chosen):
                chosen.append(k)
        kept.extend(chosen)
    if rules.type_scoped:
        kept = _prune_types(kept, rules)
    # placement.max_instance_types skips prune_shapes on purpose: it moves a whole shape onto
    # another's members, of other types, which may be one type too many under the cap. A
    # shape-scoped model then takes the spot_capped branch, a no-op there: every shape keeps
    # its first member (its group's) and _prune_types only replaces within the same shape,
    # so _two_shapes finds every shape of ``cands`` already kept
    if rules.shape_scoped and not rules.type_scoped:
        kept = prune_shapes(kept, rules)
    elif rules.spot_capped:  # pruned candidate by candidate: shapes of cands come back whole
        full = sorted(_by_shape(cands).values(), key=_shape_rank)
        kept = [c for g in _two_shapes(list(_by_shape(kept).values()), full, rules) for c in g]
    return sorted(kept, key=lambda c: c.sort_key)


def _prune_types(cands: list[Candidate], rules: PruneRules) -> list[Candidate]:
    """placement.max_instance_types: drop a whole instance type when an earlier kept one (by
    cheapest node, then name) dominates it: each of its candidates has one of that type, in
    the same quotas (region and serving shape where :func:`prune` groups by them), that
    replaces it as :func:`prune` asks. A plan using the dropped type then moves all of it to
    the other at no higher cost and with no more types, so some optimal plan within the cap
    avoids it."""
    by_type: dict[tuple[str, str], list[Candidate]] = {}
    for c in sorted(cands, key=lambda c: (c.price, c.sort_key)):
        by_type.setdefault((c.row.provider, c.row.instance_type), []).append(c)

    def scope(c: Candidate) -> tuple[object, ...]:
        key: tuple[object, ...] = (rules.quota_of.get(c.row.key, ()),)
        if rules.region_scoped:
            key += (c.row.provider, c.row.region)
        if rules.shape_scoped:
            key += (c.serving_shape,)
        return key

    def covers(h: list[Candidate], g: list[Candidate]) -> bool:
        return all(
            any(scope(j) == scope(k) and _replaces(j, k, rules, bool(scope(k)[0])) for j in h)
            for k in g
        )

    kept: list[list[Candidate]] = []
    for g in by_type.values():
        if not any(covers(h, g) for h in kept):
            kept.append(g)
    return [c for g in kept for c in g]


def _by_shape(cands: Sequence[Candidate]) -> dict[tuple[object, ...], list[Candidate]]:
    """``cands`` by serving shape (backend group), in order."""
    shapes: dict[tuple[object, ...], list[Candidate]] = {}
    for c in cands:
        shapes.setdefault(c.serving_shape, []).append(c)
    return shapes


def prune_shapes(cands: list[Candidate], rules: PruneRules) -> list[Candidate]:
    """Drop whole serving shapes (backend groups) that another kept shape dominates, where
    losses are absorbed per backend group (:func:`losses_per_backend`; ``cands`` already
    pruned within each shape by :func:`prune`).

    Shape h dominates shape g when every member k of g has a member j of h that dominates it
    as :func:`prune` asks within a shape (c = ceil(q_k / q_j) nodes of j cost no more than one
    of k, strictly less by more than TIE_MARGIN when c > 1; j on-demand or k spot; j at
    least k's per-replica capacity for every class k serves and at least as many zones; the
    same quotas, c nodes of j holding no more GPUs than one of k; with ``exact_only``
    identical replicas per node and capacities), and, where spot capacity is capped as the
    route delivers it (``spot_capped``), a spot k only has a spot j whose c nodes carry
    exactly k's capacity (else an on-demand j). Regions need not match: the gateway-api rows
    are per backend group, and a group is one region.

    *Why it is exact.* Take an optimal plan that uses g and move all of g to h at once: each
    node of a member k becomes c_k nodes of its j = phi(k), and g's routed load goes to the j's
    (each j takes at least what k took: a_j >= a_k per class). Every row of a candidate or of
    the whole plan holds as in :func:`prune` (load, route, spot share, spot loss over the
    on-demand candidates, quotas, min replicas; the per-type n+1 / zone rows of several
    classes; cost c_k p_j <= p_k per node). The group rows: all members of a shape have the
    same per-replica capacity a_g, so with one class (or the class mix, a monotone function of
    the per-class capacities) group g's n+1 row is a_g (R_g - Q_g) >= Y_g (R_g: its replicas,
    Q_g the most replicas of one node in use in it, Y_g its load), its zone row
    a_g (R_g - sum_k m_k) >= Y_g (m_k >= r_k / Z_k, the spread's fullest zone). The image g'
    of g has
    R_g' - R_g = sum_k (c_k q_j - q_k) n_k >= 0, and its largest node q_j* <= Q_g + (c q_j* -
    q_k*) <= Q_g + (R_g' - R_g) (c q_j >= q_k, and q_j <= q_k when c > 1), so
    R_g' - Q_g' >= R_g - Q_g; for zone, j's nodes run at least k's r_k replicas (under the
    spread with Z_j = Z_k where q_j > 1, ``PruneRules.spread``), ceil(r / Z) is subadditive and
    r - ceil(r / Z) grows with r and Z (Z_j >= Z_k), so R_g' minus its zone loss does not fall
    either; a_h >= a_g. g' then merges with what the
    plan already ran of h, and merging two groups never breaks a group row: h's and g''s rows
    add up, and the merged group's largest node is at most the sum of their largest nodes
    (ceil((r + r') / Z) <= ceil(r / Z) + ceil(r' / Z) for zone). The spot-loss row of the
    merged group is the sum of both (a group without a spot member has only on-demand pods,
    which carry its load). Spot capacity capped as delivered (spot_by_capacity: spot
    capacity <= f x capacity): on-demand j only add capacity, and a spot k goes only to a
    spot j of exactly its capacity for the same classes (the row weighs a pod by its
    capacity for the class mix, 0 for one that misses a class). So the moved plan is
    feasible at no higher cost; doing it for every used pruned shape (each has a kept
    dominator, which is never moved) gives an optimal plan over the kept shapes. Where spot
    is capped, at least two shapes are kept when there were two, and two that serve every
    class (the search caps spot as delivered over a curve too when one shape is left, a row
    the full list did not have; under a class-blind route with several classes it searches
    only the shapes that serve every class).

    Candidate by candidate across shapes this is not exact (moving one member out of g takes
    its spare from the members that stay): hence whole shapes. Not covered: the search of
    ``WindowProblem.delivered_util`` (a step after the search that measures itself against
    its own bound) and, as for pruning within a shape, its rows that grow with a larger node.
    """
    shapes = _by_shape(cands)
    if len(shapes) < 2:
        return cands
    order = sorted(shapes.values(), key=_shape_rank)
    kept: list[list[Candidate]] = []
    for g in order:
        if not any(_shape_dominates(h, g, rules) for h in kept):
            kept.append(g)
    if rules.spot_capped:
        kept = _two_shapes(kept, order, rules)
    return [c for g in kept for c in g]


def _two_shapes(
    kept: list[list[Candidate]], order: list[list[Candidate]], rules: PruneRules
) -> list[list[Candidate]]:
    """Spot capped as delivered: one serving shape turns the delivered spot cap on over a
    curve too (search's spot_by_capacity), so at least two shapes stay where there were two,
    and two that serve every class where there were two: under a class-blind route with
    several classes only those are searched (``diagnose.serving_candidates``, after pruning).
    ``kept`` and ``order`` (every shape, in rank) are lists of one shape's candidates each;
    missing shapes come from ``order``. Also where candidates are pruned one by one across
    shapes (no per-group losses: :func:`prune`)."""

    def every(g: list[Candidate]) -> bool:
        return all(g[0].cap(c) for c in rules.classes)

    for wanted in (every, lambda g: True):
        have = sum(1 for g in kept if wanted(g))
        if have < 2:
            seen = {g[0].serving_shape for g in kept}
            more = [g for g in order if wanted(g) and g[0].serving_shape not in seen]
            kept = kept + more[: 2 - have]
    return kept


def _shape_rank(members: list[Candidate]) -> tuple[object, ...]:
    """A dominating shape's members are no dearer per replica than the ones they replace, and
    at least as fast: try such shapes first (the order only decides how much is pruned)."""
    per_replica = min(c.price / c.replicas_per_node for c in members)
    od = [c.price / c.replicas_per_node for c in members if c.capacity_type == "on-demand"]
    speed = sum(p.capacity_rps for _, p in members[0].points)
    return (per_replica, min(od, default=float("inf")), -speed, min(c.sort_key for c in members))


def _shape_dominates(h: list[Candidate], g: list[Candidate], rules: PruneRules) -> bool:
    """Every member of shape ``g`` has a dominating member in shape ``h`` (:func:`prune_shapes`)."""
    a = h[0]
    for cls, p in g[0].points:  # one capacity per class for all of a shape's members
        cap = a.cap(cls)
        if cap is None or cap < p.capacity_rps:
            return False
    return all(any(_stands_in(j, k, rules) for j in h) for k in g)


def _stands_in(j: Candidate, k: Candidate, rules: PruneRules) -> bool:
    """``j`` replaces ``k`` across shapes: both in the same quotas, and :func:`_replaces`."""
    quotas = rules.quota_of.get(k.row.key, ())
    return rules.quota_of.get(j.row.key, ()) == quotas and _replaces(j, k, rules, bool(quotas))


def _replaces(j: Candidate, k: Candidate, rules: PruneRules, quotas: bool) -> bool:
    """``j`` dominates ``k`` (:func:`_dominates`) and, where spot capacity is capped as the
    route delivers it (:func:`spot_capped`), a spot ``k`` goes to an on-demand ``j`` or to a
    spot ``j`` whose c nodes carry exactly its capacity (c q_j = q_k, equal capacities for
    the same classes)."""
    nodes = bool(rules.node_quotas.intersection(rules.quota_of.get(k.row.key, ())))
    if not _dominates(j, k, rules.exact_only, quotas, nodes):
        return False
    if rules.spread and j.zones != k.zones and holds_fewer("zone", j.replicas_per_node, j.zones):
        return False
    if rules.spot_capped and k.capacity_type == "spot" and j.capacity_type == "spot":
        c = -(-k.replicas_per_node // j.replicas_per_node)
        if c * j.replicas_per_node != k.replicas_per_node:
            return False
        # the same classes too: with several classes the cap weighs a pod by its capacity
        # for the class mix (milp.window.route_caps), 0 for one that misses a class
        same = len(j.points) == len(k.points)
        return same and all(j.cap(cls) == p.capacity_rps for cls, p in k.points)
    return True


def _dominates(
    j: Candidate, k: Candidate, exact: bool = False, quotas: bool = False, nodes: bool = False
) -> bool:
    """``nodes``: both lie in a quota that counts nodes, so only one node of j may stand in
    for one of k."""
    if j.capacity_type == "spot" and k.capacity_type != "spot":
        return False
    if j.zones < k.zones:
        return False
    if exact:
        if j.price > k.price or j.replicas_per_node != k.replicas_per_node:
            return False
        if len(j.points) != len(k.points):
            return False
        if quotas and j.gpus_per_node > k.gpus_per_node:
            return False
        return all(j.cap(cls) == p.capacity_rps for cls, p in k.points)
    # nodes of j that replace one node of k (at least k's replicas)
    c = -(-k.replicas_per_node // j.replicas_per_node)
    if c == 1 and j.price > k.price:
        return False
    # several smaller nodes for one large one: strictly cheaper, by more than the cost the
    # tie-break may add (it prefers one large node to several small ones of the same cost)
    if c > 1 and c * j.price + TIE_MARGIN >= k.price:
        return False
    if (quotas and c * j.gpus_per_node > k.gpus_per_node) or (nodes and c > 1):
        return False
    for cls, p in k.points:
        cj = j.cap(cls)
        if cj is None or cj < p.capacity_rps:
            return False
    return True
