"""Property: on small random instances, exhaustive enumeration and the MILP agree on the optimum.

The enumerator is written independently of the MILP: it tries every node-count vector, places
rpn replicas per node, and checks each constraint directly (coverage with headroom, spot share
on on-demand capacity, quotas, min/max replicas, n+1 after losing any node, zone after losing
the biggest share ceil(n/Z) of every candidate in the region).

Both routing modes: weighted (gateway-api: capacity adds up) and even (routing: service: one
Service gives every replica D(1+h)/R with the traffic's class mix, so every type in use must
take that share; after losing a node, a zone or all spot, the survivors split evenly too).
The even instances also have two request classes and types that serve only one of them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from solve_helpers import candidate

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import QuotaScope, WindowProblem, solve_window


def two_class(c: Candidate, cap2: float | None) -> Candidate:
    """``c`` also serving class "big" at ``cap2`` rps (None: it cannot)."""
    pt = c.points[0][1]
    pts = c.points if cap2 is None else (*c.points, ("big", replace(pt, capacity_rps=cap2, throughput_rps=cap2)))
    return replace(c, points=pts)


@st.composite
def instances(draw: st.DrawFn) -> tuple[WindowProblem, int]:
    k = draw(st.integers(1, 3))
    max_rep = draw(st.one_of(st.none(), st.integers(1, 8)))
    spot_f = draw(st.sampled_from([None, 0.0, 0.5, 1.0]))
    cands = []
    for i in range(k):
        rpn = 1 if max_rep is not None else draw(st.integers(1, 2))
        cands.append(
            candidate(
                f"t{i}",
                price=draw(st.integers(20, 500)) / 100,
                cap=float(draw(st.integers(5, 40))),
                rpn=rpn,
                spot=spot_f is not None and draw(st.booleans()),
                zones=draw(st.integers(2, 3)),
            )
        )
    even = draw(st.booleans())
    demand_t: tuple[float, ...] = (float(draw(st.integers(1, 60))),)
    classes: tuple[str, ...] = ("default",)
    if even:  # keep the brute force small (its bound grows with demand / slowest capacity)
        demand_t = (float(draw(st.integers(1, 25))),)
    if even and draw(st.booleans()):
        classes = ("default", "big")
        cands = [two_class(c, draw(st.one_of(st.none(), st.integers(5, 40).map(float)))) for c in cands]
        demand_t = (demand_t[0], float(draw(st.integers(0, 8))))
    demand = sum(demand_t)
    headroom = draw(st.sampled_from([0.0, 0.2]))
    redundancy = draw(st.sampled_from(["none", "n+1", "zone"]))
    quotas: tuple[QuotaScope, ...] = ()
    if draw(st.booleans()):
        quotas = (QuotaScope("aws/us-east-1/t0", draw(st.integers(0, 6)), (0,)),)
    min_rep = draw(st.integers(0, 3))
    prob = WindowProblem(candidates=cands, classes=classes, demand=demand_t, headroom=headroom, redundancy=redundancy, spot_max_fraction=spot_f if any(c.capacity_type == "spot" for c in cands) else None, quotas=quotas, min_replicas=min_rep, max_replicas=max_rep, even=even)
    slowest = min(min(c.cap(x) or 1 for x in classes) for c in cands)
    ub = max(math.ceil(2 * demand * (1 + headroom) / slowest) + 3, min_rep + 2)
    return prob, ub


def even_ok(p: WindowProblem, ns: tuple[int, ...]) -> bool:
    """routing: service, checked by brute force: every replica gets an even share of each class."""
    cands = p.candidates
    reps = [n * c.replicas_per_node for n, c in zip(ns, cands, strict=True)]
    R = sum(reps)
    used = [i for i, n in enumerate(ns) if n]
    d_tot = sum(p.demand)
    if d_tot > 0 and R == 0:
        return False

    def fits(survivors: int, scale: float) -> bool:
        # every used type's replica must carry its even share of every class: sum_c D_c s/(R' cap_c) <= 1
        if d_tot == 0:
            return True
        if survivors <= 0:
            return False
        for i in used:
            load = 0.0
            for cls, d in zip(p.classes, p.demand, strict=True):
                if d > 0:
                    cap = cands[i].cap(cls)
                    if not cap:
                        return False
                    load += d * scale / survivors / cap
            if load > 1 + 1e-9:
                return False
        return True

    if not fits(R, 1 + p.headroom):
        return False
    if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
        od = sum(r for r, c in zip(reps, cands, strict=True) if c.capacity_type == "on-demand")
        if not fits(od, (1 - p.spot_max_fraction) * (1 + p.headroom)):
            return False
    if p.redundancy == "n+1" and any(not fits(R - cands[i].replicas_per_node, 1.0) for i in used):
        return False
    if p.redundancy == "zone":
        lost = sum(math.ceil(n / c.zones) * c.replicas_per_node for n, c in zip(ns, cands, strict=True))
        if not fits(R - lost, 1.0):
            return False
    return True


def enumerate_best(p: WindowProblem, ub: int) -> float | None:
    cands = p.candidates
    d = p.demand[0]
    need = d * (1 + p.headroom)
    best: float | None = None
    for ns in itertools.product(range(ub + 1), repeat=len(cands)):
        reps = [n * c.replicas_per_node for n, c in zip(ns, cands, strict=True)]
        caps = [r * (c.cap("default") or 0) for r, c in zip(reps, cands, strict=True)]
        total = sum(caps)
        if sum(reps) < p.min_replicas or (p.max_replicas is not None and sum(reps) > p.max_replicas):
            continue
        if any(sum(cands[i].gpus_per_node * ns[i] for i in q.members) > q.limit for q in p.quotas):
            continue
        if p.even:
            if not even_ok(p, ns):
                continue
            cost = sum(n * c.price for n, c in zip(ns, cands, strict=True))
            if best is None or cost < best - 1e-12:
                best = cost
            continue
        if total < need - 1e-9:
            continue
        if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
            od = sum(cp for cp, c in zip(caps, cands, strict=True) if c.capacity_type == "on-demand")
            if od < (1 - p.spot_max_fraction) * need - 1e-9:
                continue
        if sum(reps) < p.min_replicas or (p.max_replicas is not None and sum(reps) > p.max_replicas):
            continue
        if any(sum(cands[i].gpus_per_node * ns[i] for i in q.members) > q.limit for q in p.quotas):
            continue
        if p.redundancy == "n+1" and any(n and total - (c.cap("default") or 0) * c.replicas_per_node < d - 1e-9 for n, c in zip(ns, cands, strict=True)):
            continue
        if p.redundancy == "zone":
            lost = sum(math.ceil(n / c.zones) * c.replicas_per_node * (c.cap("default") or 0) for n, c in zip(ns, cands, strict=True))
            if total - lost < d - 1e-9:
                continue
        cost = sum(n * c.price for n, c in zip(ns, cands, strict=True))
        if best is None or cost < best - 1e-12:
            best = cost
    return best


@settings(max_examples=300, deadline=None, derandomize=True)
@given(instances())
def test_enumeration_agrees_with_solver(inst: tuple[WindowProblem, int]) -> None:
    prob, ub = inst
    want = enumerate_best(prob, ub)
    got = solve_window(prob, tie_break=False)
    if want is None:
        assert got.status == "infeasible"
    else:
        assert got.status == "optimal"
        assert abs(got.cost - want) < 1e-6, (got.nodes, got.cost, want)
