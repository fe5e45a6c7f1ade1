"""The zone spread a plan relies on: render enforces it, check flags manifests that do not.

Under ``placement.redundancy: zone`` the optimizer sizes each allocation's spare for losing the
worst of its ``zones`` and ``simulate --fail zone`` takes one down: a pod spread of
``maxSkew: 1`` over those zones loses ceil(R/Z) of R replicas with a zone (:func:`spread_loss`,
the loss every zone-loss row and check counts). So the spread must be a hard constraint there
(``whenUnsatisfiable: DoNotSchedule``, ``minDomains`` = Z, the pods held to those zones). Under
``none`` and ``n+1`` no zone loss is planned for: the spread stays best effort, so that a
scarce GPU in a zone that already has its share is used rather than left idle.
docs/render.md, "Deployments". Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

ZONE_KEY = "topology.kubernetes.io/zone"
DEFAULT_ZONES = 3  # the zones a region is assumed to span when its catalog row lists none


def spread_zones(redundancy: str, zones: Sequence[str]) -> tuple[str, ...]:
    """The zones an allocation's replicas must be spread over ((): the plan does not rely on
    the spread): its ``zones`` under ``redundancy: zone``."""
    return tuple(zones) if redundancy == "zone" else ()


def holds_fewer(redundancy: str, replicas_per_node: int, zones: int) -> bool:
    """Does the enforced spread hold nodes of ``replicas_per_node`` replicas over ``zones``
    zones to fewer than that each (``redundancy: zone``, q > 1 and two zones or more): their
    nodes then follow :func:`spread_nodes`, not ceil(R/q)."""
    return redundancy == "zone" and replicas_per_node > 1 and zones > 1


def spread_nodes(replicas: int, replicas_per_node: int, zones: int) -> int:
    """Nodes ``replicas`` take when spread with maxSkew 1 over ``zones`` zones (as even as they
    go: R mod Z zones hold one more), ``replicas_per_node`` to a node and nodes never shared
    across zones. More than ceil(R/q) when q > 1 and the zones' shares are not whole nodes."""
    base, extra = divmod(replicas, max(zones, 1))
    return sum(math.ceil((base + (z < extra)) / replicas_per_node) for z in range(max(zones, 1)))


def spread_replicas(nodes: int, replicas_per_node: int, zones: int) -> int:
    """The most replicas ``nodes`` nodes hold under that spread (the inverse of
    :func:`spread_nodes`: the largest R with spread_nodes(R) <= nodes). Z zones of a = nodes // Z
    nodes hold q a replicas each; the b = nodes mod Z zones with a node more may hold one
    replica more than the others (maxSkew 1), so each of those b nodes holds one:
    q Z a + b. Equal to q n when q = 1 or Z divides n (4 nodes of 3 replicas over 3 zones
    hold 10, not 12: 4/3/3 replicas on 2/1/1 nodes). The optimizer counts nodes so under
    ``redundancy: zone`` (``solve.milp.formulation``), render and the plan agree."""
    z = max(zones, 1)
    return replicas_per_node * z * (nodes // z) + nodes % z


def spread_loss(replicas: int, zones: int) -> int:
    """The most of ``replicas`` one zone holds under that spread, so what losing the worst of
    ``zones`` zones takes: ceil(R/Z) (all of them in one zone). The one count of a zone loss:
    the window MILP's rows (Z m >= r, ``solve.milp.formulation``), the fixed-count checks,
    the split, the starts and ``simulate --fail zone``'s layout (pod i in zone i mod Z). Until
    2026-12-07 they counted q·ceil(n/Z), a whole node's q replicas for each node in the worst
    zone, where the spread puts one pod on each of the n mod Z extra nodes (2 owned 8-GPU nodes
    over 3 zones: 1 pod each, 1 lost with a zone, counted 8)."""
    return -(-replicas // max(zones, 1))


def spread_keep(kept: int, zones: int) -> int:
    """The fewest replicas (or nodes) whose spread over ``zones`` >= 2 zones keeps ``kept``
    after the worst zone's loss: the least r with r - :func:`spread_loss` (r, Z) >= kept, the
    inverse of that one count, which is kept + ceil(kept / (Z - 1)) (tests/test_zone_keep.py
    checks it against spread_loss by brute force). Render's rule sizes a zone-redundant
    allocation with it (``render.spare``); until 2026-12-07 it wrote the formula itself.
    Under 2 zones no count keeps any replica (the one zone's loss takes them all): a
    ValueError, where it divided by zero (r2 review); render plans one zone as n+1."""
    if kept <= 0:
        return 0
    if zones < 2:
        raise ValueError(f"spread_keep: {zones} zone(s): a zone's loss keeps no replica")
    return kept + -(-kept // (zones - 1))
