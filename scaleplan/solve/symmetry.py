"""Interchangeable regions: the exact symmetry of the even-split model (routing: service).

Two regions are interchangeable when the model's data does not tell them apart: their
candidates pair up one to one with the same price, capacity type, replicas and GPUs per node,
zones, capacity for every class and replica floor, and every GPU quota over one is matched by
a quota of the same limit over the other. Every row :func:`scaleplan.solve.milp.even.build_even`
builds is then unchanged when the two regions' candidates trade places: the routing rows are
sums over all replicas (theta, cover, spot, spot pods, the capacity cuts), and the zone rows
take one region at a time (``lostzone``, ``capzone``), so trading two regions trades their
rows. A plan and its mirror (the same counts in the other region) then cost the same in
every window and keep the same rules. :func:`region_orbits` finds the candidates that such
trades move into each other (an orbit); :mod:`scaleplan.solve.floorbranch` uses them to bar
a whole orbit where it bars one candidate (``branch_floors``: orbital branching). Only the
tie-break (its weight per node grows with the candidate's rank in name order) tells mirrors
apart. Weighted routing (gateway-api, inference-pool) groups backends and
routes per class, so it is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from scaleplan.solve.milp.window import WindowProblem

Signature = tuple[object, ...]


def node_shape(p: WindowProblem, k: int) -> Signature:
    """What the even model reads of candidate ``k`` besides its price and replica floor, its
    region left out: capacity type, replicas and GPUs per node, zones, capacity per class
    (also what makes region exchanges' twins, :mod:`scaleplan.solve.regionswap`)."""
    c = p.candidates[k]
    caps = tuple(c.cap(cls) for cls in p.classes)
    return (c.capacity_type, c.replicas_per_node, c.gpus_per_node, c.zones, caps)


def _signature(p: WindowProblem, k: int) -> Signature:
    """What the even model reads of candidate ``k``, its region left out."""
    floor = p.floors[k] if p.floors else 0
    return (p.candidates[k].price, *node_shape(p, k), floor)


def regions_of(p: WindowProblem) -> dict[tuple[str, str], list[int]]:
    """``p``'s candidates by (provider, region), each in candidate order, regions in the
    order their first candidate comes."""
    regions: dict[tuple[str, str], list[int]] = {}
    for k, c in enumerate(p.candidates):
        regions.setdefault((c.row.provider, c.row.region), []).append(k)
    return regions


def region_orbits(p: WindowProblem) -> dict[int, tuple[int, ...]]:
    """Per candidate of an interchangeable region, its orbit: the candidates, itself
    included, in candidate order, that trading interchangeable regions maps it to (absent:
    an orbit of one). Empty unless ``p`` is the even-split model (routing: service)."""
    if not p.even or p.backend_groups:
        return {}
    regions = regions_of(p)
    sig = {k: _signature(p, k) for ks in regions.values() for k in ks}
    # a region's candidates in signature order: two regions match when these lists match
    ordered = {reg: sorted(ks, key=lambda k: (repr(sig[k]), k)) for reg, ks in regions.items()}
    classes: dict[tuple[Signature, ...], list[tuple[str, str]]] = {}
    for reg, ks in ordered.items():
        classes.setdefault(tuple(sig[k] for k in ks), []).append(reg)
    out: dict[int, tuple[int, ...]] = {}
    for regs in classes.values():
        regs = [r for r in regs if _quotas_match(p, ordered[regs[0]], ordered[r])]
        if len(regs) < 2:
            continue
        for column in zip(*(ordered[r] for r in regs), strict=True):
            orbit = tuple(sorted(column))
            for k in orbit:
                out[k] = orbit
    return out


def _quotas_match(p: WindowProblem, a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether trading regions ``a`` and ``b`` (candidates paired position by position) maps
    every quota scope onto a scope of the same limit and unit (GPUs or nodes)."""
    swap = {**dict(zip(a, b, strict=True)), **dict(zip(b, a, strict=True))}
    scopes = {(frozenset(q.members), q.limit, q.nodes) for q in p.quotas}
    return all(
        (frozenset(swap.get(k, k) for k in q.members), q.limit, q.nodes) in scopes
        for q in p.quotas
    )
