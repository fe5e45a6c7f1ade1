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


def prune_rules(spec: Spec, cands: Sequence[Candidate]) -> PruneRules:
    return PruneRules(
        region_scoped=spec.placement.redundancy == "zone",
        exact_only=spec.placement.max_replicas is not None,
        quota_of={c.row.key: quota_members(spec, c.row) for c in cands},
    )


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

    # redundancy: zone (losses are counted per region)
    region_scoped: bool = False
    # placement.max_replicas set: only identical shapes may replace each other
    exact_only: bool = False
    # row key -> the quotas that hold it
    quota_of: dict[tuple[str, str, str], tuple[int, ...]] = field(default_factory=dict)


def prune(cands: list[Candidate], rules: PruneRules | None = None) -> list[Candidate]:
    """Drop candidates that a cheaper (or equally cheap, earlier-named) candidate dominates.

    j dominates k when j costs no more, j is on-demand or k is spot, j has at least as many
    replicas per node and at least k's per-replica capacity for every class k serves, both are
    in the same quotas (and then j has no more GPUs per node), and, under zone redundancy, both
    are in the same region with j in at least as many zones. Replacing each node of k by a node
    of j (routing k's traffic to j) then keeps every constraint satisfied (coverage, spot share,
    quotas, min replicas, n+1 and zone losses) at no higher cost, so some optimal plan avoids k.
    Regions are otherwise interchangeable: the same instance type at the same price in several
    regions keeps the first region by name. With ``placement.max_replicas`` only candidates with
    identical replicas per node and capacities replace each other. Ties keep the smaller name.
    """
    rules = rules or PruneRules()
    groups: dict[tuple[object, ...], list[Candidate]] = {}
    for k in sorted(cands, key=lambda c: (c.price, c.sort_key)):
        quotas = rules.quota_of.get(k.row.key, ())
        key: tuple[object, ...] = (quotas,)
        if rules.region_scoped:
            key += (k.row.provider, k.row.region)
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
    if j.price > k.price:
        return False
    if j.capacity_type == "spot" and k.capacity_type != "spot":
        return False
    if quotas and j.gpus_per_node > k.gpus_per_node:
        return False
    if j.zones < k.zones:
        return False
    if exact:
        if j.replicas_per_node != k.replicas_per_node or len(j.points) != len(k.points):
            return False
        return all(j.cap(cls) == p.capacity_rps for cls, p in k.points)
    if j.replicas_per_node < k.replicas_per_node:
        return False
    for cls, p in k.points:
        cj = j.cap(cls)
        if cj is None or cj < p.capacity_rps:
            return False
    return True
