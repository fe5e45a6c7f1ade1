"""Region exchanges: a dominance between plans of the even zone model (routing: service).

Under ``redundancy: zone`` with one Service (``milp.even.build_even``) a region enters the
rows only through the replicas its worst zone holds (``lostzone``: the sum of ceil(r_k/Z_k)
over its candidates), and every other row sums over all replicas. Two candidates of two
regions with the same capacity type, replicas and GPUs per node, zones, capacity for every
class and instance type (placement.max_instance_types counts types) and in no
quota are *twins*: one region's counts moved to the other are read the same way by every row
but the zone rows, which trade places.

Take two regions A and B and a plan P whose candidates in use in A and B are U (each at least
one node). When every k in U has a twin t(k) in the other region, the t(k) of U distinct, and
each t(k) comes first in (price, candidate order) before k, the plan t(P) (k's counts moved
to t(k), every other count kept) holds every rule P does: region A of t(P) holds what B held
(moved) and B what A held, so the worst zone of each is the other's, every other row reads
the same sums; it costs no more in any window, and where it costs the same its tie-break
weight is lower (earlier candidates). Over the floors' branch and bound's plans (one set of
candidates in every window) t(P) holds the floor where P does. So P is never the least plan
in (cost, tie-break) order and may be cut: the row

    sum_{k in U} u_k - sum_{i in A or B, i not in U} n_i <= |U| - 1

does (P uses all of U and nothing else in A and B; a plan's u_k is 1 only where k has nodes,
u_k only hurts elsewhere). The least plan keeps every such row, so a search that adds them
keeps it: ``floorbranch`` adds one when a node's window plan breaks it (a lazy row, active in
the branch and bound's window MILPs only), and solves the window again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scaleplan.solve.milp.window import WindowProblem, type_key
from scaleplan.solve.symmetry import node_shape, region_orbits, regions_of

Row = tuple[tuple[int, ...], tuple[int, ...]]  # (U, the other candidates of A and B)


class RegionSwaps:
    """The twins of a candidate list and the exchange rows its plans break."""

    def __init__(self, p: WindowProblem, *, highs: bool = True) -> None:
        self.regions: list[list[int]] = []
        self.twin: dict[tuple[int, int], int] = {}  # (k, region index) -> k's twin there
        self.added: set[tuple[int, ...]] = set()
        # zone redundancy under one Service only, with HiGHS (the rows go to its model);
        # interchangeable regions (orbital branching) and replica floors of the problem itself
        # are left out
        if not highs or not p.even or p.redundancy != "zone" or p.backend_groups:
            return
        if region_orbits(p):
            return
        if p.floors and any(p.floors):
            return
        cands = p.candidates
        quoted = {k for q in p.quotas for k in q.members}
        self.regions = list(regions_of(p).values())
        region_of = {k: r for r, ks in enumerate(self.regions) for k in ks}

        def sig(k: int) -> tuple[object, ...]:  # what the even model reads, price left out
            kind = type_key(cands[k]) if p.max_types is not None else ()
            return (*node_shape(p, k), kind)

        by_sig: dict[tuple[object, ...], list[int]] = {}
        for k in range(len(cands)):
            if k not in quoted:
                by_sig.setdefault(sig(k), []).append(k)
        for ks in by_sig.values():
            for k in ks:
                for t in ks:  # the first in (price, order) of each other region
                    rt = region_of[t]
                    if rt == region_of[k] or (cands[t].price, t) >= (cands[k].price, k):
                        continue
                    best = self.twin.get((k, rt))
                    if best is None or (cands[t].price, t) < (cands[best].price, best):
                        self.twin[(k, rt)] = t
        self._region_of = region_of

    def broken(self, nodes: Sequence[int]) -> Row | None:
        """An exchange row (not added yet) that the plan with ``nodes`` breaks, or None."""
        if not self.twin:
            return None
        used = [k for k, n in enumerate(nodes) if n]
        by_region: dict[int, list[int]] = {}
        for k in used:
            by_region.setdefault(self._region_of[k], []).append(k)
        names = sorted(by_region)
        for a in names:
            for b in range(len(self.regions)):
                if b == a or (b in by_region and b < a):
                    continue  # each pair of regions once; an empty B from either side
                ua, ub = by_region[a], by_region.get(b, [])
                ta = [self.twin.get((k, b)) for k in ua]
                tb = [self.twin.get((k, a)) for k in ub]
                if None in ta or None in tb or len(set(ta)) < len(ta) or len(set(tb)) < len(tb):
                    continue
                u = tuple(sorted(ua + ub))
                if u in self.added:
                    continue
                rest = tuple(i for i in (*self.regions[a], *self.regions[b]) if i not in u)
                return u, rest
        return None


def add_row(model: Any, row: Row) -> None:
    """Add ``row`` to ``model``'s HiGHS model (active while ``model.swaps_on``)."""
    import highspy
    import numpy as np

    u, rest = row
    h = model._highs
    terms = [(model.u[k], 1.0) for k in u] + [(model.n[i], -1.0) for i in rest]
    idx = np.array([v.index for v, _ in terms], dtype=np.int32)
    val = np.array([c for _, c in terms], dtype=np.float64)
    model.swap_rows.append((h.getNumRow(), float(len(u) - 1)))
    h.addRow(-highspy.kHighsInf, float(len(u) - 1), len(terms), idx, val)
    model.swaps.added.add(u)
