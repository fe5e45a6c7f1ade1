"""Pruning: candidates that another candidate dominates are dropped before the search.

Also the quota scopes (which quotas hold an instance row), which pruning and the problem's
quota rows share.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scaleplan.catalog.model import InstanceRow
from scaleplan.spec import Quota, Spec

if TYPE_CHECKING:
    from scaleplan.solve.candidates import Candidate

# $/h per node: the MILP's tie-break charge (milp.solver.TIE_EPS; a test keeps them equal)
TIE_MARGIN = 1e-5


def prune_rules(spec: Spec, cands: Sequence[Candidate]) -> PruneRules:
    return PruneRules(
        region_scoped=zone_losses_per_region(spec),
        exact_only=spec.placement.max_replicas is not None,
        quota_of={c.row.key: quota_members(spec, c.row) for c in cands},
        shape_scoped=losses_per_backend(spec),
    )


def losses_per_backend(spec: Spec) -> bool:
    """Whether a loss is absorbed within each backend group (one Service per serving shape):
    under ``routing: gateway-api`` the static HTTPRoute weights keep sending a group its
    share, so with spot.survive_loss (a spot loss) and with n+1 / zone each group's own
    members carry it: the one-class rows are per group, and several classes without
    ``kubernetes.class_header`` are planned as that one-class question at each type's
    capacity for the class mix (``mixwindow``, the static weights over a curve), per group as
    well. A candidate of one shape then cannot stand in for one of another (moving it changes
    two groups' rows: an on-demand group whose spare rested on a spot sibling of its shape
    would need a spare of its own), so pruning stays within each shape. Regions are part of
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

    It does under ``routing: service`` (the survivors of a zone split the traffic evenly) and
    with one request class under weighted routing (capacity summed over the region). With
    several classes under weighted routing every type keeps its own zone spare for its own
    load (``zone, several`` in docs/optimizer.md): no row couples candidates of one region, so
    regions are interchangeable for pruning as they are under n+1.
    """
    if spec.placement.redundancy != "zone":
        return False
    if spec.kubernetes.routing == "service":
        return True
    classes = spec.traffic.classes
    return sum(1 for c in classes if c.share > 0) <= 1


def quota_members(spec: Spec, row: InstanceRow) -> tuple[int, ...]:
    """Indices of the spec's quotas whose scope (provider, region, family glob) holds ``row``."""
    if not row.accelerator_count:
        return ()
    return tuple(i for i, q in enumerate(spec.placement.quotas) if in_quota_scope(q, row))


def in_quota_scope(q: Quota, row: InstanceRow) -> bool:
    """Whether ``row`` (a GPU row) lies in quota ``q``'s scope: provider, region, family glob."""
    return (
        row.accelerator_count > 0
        and row.provider == q.provider
        and (q.region is None or row.region == q.region)
        and (q.family is None or fnmatch.fnmatchcase(row.family.lower(), q.family.lower()))
    )


@dataclass(frozen=True)
class PruneRules:
    """What tells otherwise interchangeable candidates apart (see :func:`prune`)."""

    # zone losses counted per region (zone_losses_per_region): prune each region apart
    region_scoped: bool = False
    # placement.max_replicas set: only identical shapes may replace each other
    exact_only: bool = False
    # row key -> the quotas that hold it
    quota_of: dict[tuple[str, str, str], tuple[int, ...]] = field(default_factory=dict)
    # losses absorbed per backend group (losses_per_backend): prune within each serving shape
    shape_scoped: bool = False


def prune(cands: list[Candidate], rules: PruneRules | None = None) -> list[Candidate]:
    """Drop candidates that a cheaper (or equally cheap, earlier-named) candidate dominates.

    j dominates k when c = ceil(q_k / q_j) nodes of j (one node when j has at least k's
    replicas per node q) cost no more than one node of k (less by more than the MILP's
    tie-break charges when c > 1), j is on-demand or k is spot, j has at least k's per-replica
    capacity for every class k serves and at least as many zones, both are in the same quotas
    (and then c nodes of j hold no more GPUs than one of k), and, where zone losses are counted
    per region (:func:`zone_losses_per_region`), both are in the same region (where losses
    are absorbed per backend group, :func:`losses_per_backend`, the same serving shape).
    Replacing each
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
        groups.setdefault(key, []).append(k)
    kept: list[Candidate] = []
    for gkey, members in groups.items():
        chosen: list[Candidate] = []
        for k in members:
            if not any(_dominates(j, k, rules.exact_only, bool(gkey[0])) for j in chosen):
                chosen.append(k)
        kept.extend(chosen)
    return sorted(kept, key=lambda c: c.sort_key)


def _dominates(j: Candidate, k: Candidate, exact: bool = False, quotas: bool = False) -> bool:
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
    # several smaller nodes for one large one: strictly cheaper, by more than the tie-break's
    # charges (under TIE_EPS x 2 per node), so that the tie-break never preferred k either
    if c > 1 and c * j.price + 2 * c * TIE_MARGIN >= k.price:
        return False
    if quotas and c * j.gpus_per_node > k.gpus_per_node:
        return False
    for cls, p in k.points:
        cj = j.cap(cls)
        if cj is None or cj < p.capacity_rps:
            return False
    return True
