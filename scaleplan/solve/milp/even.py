"""The even-split model (routing: service): one Service spreads requests over every pod.

:func:`build_even` adds the exact even-split rows to a :class:`Formulation` (theta, the
largest need of a type in use, covers demand with headroom, spot, n+1 and zone spares) and
:func:`even_cuts` the capacity cuts that tighten its relaxation; :func:`even_feasible` checks
fixed node and replica counts against a demand by the same rules and :func:`even_routing`
gives their routing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scaleplan.solve.milp.formulation import Formulation
from scaleplan.solve.milp.solver import FEAS_TOL
from scaleplan.solve.milp.window import (
    WindowProblem,
    even_need,
    mixed_capacities,
    on_demand_factor,
    zone_lost,
)

Terms = list[tuple[Any, float]]


def build_even(fm: Formulation) -> None:
    """routing: service. theta = max over types in use of the replicas each would need alone.

    u_k (k in use) >= n_k/U_k; theta >= need_k u_k (need_k per window, a coefficient);
    (1+h) theta <= R; spot: F theta <= R_on-demand with F = (1-f)(1+h), at least 1 with
    survive_spot_loss (:func:`on_demand_factor`), and spot.max_fraction as delivered:
    R_spot <= f R (:func:`spot_pods_ok`); n+1: theta <= R - Q with
    Q >= q_k u_k (the largest node in use); zone: theta <= R - L with L >= the replicas one
    zone of a region holds (sum of m_k, Z_k m_k >= r_k: the even spread's ceil(r_k/Z_k)). theta only appears where it
    hurts, so it equals the max at the optimum: exact, and only K coefficients change.

    Zone: R, R - L and R_on-demand are whole numbers, so the cover, zone and spot rows go
    through integer columns between theta's side and theirs ((1+h) theta <= W_0 <= R,
    theta <= W_1 <= R - L, F theta <= W_2 <= R_on-demand; every plan takes W_0 = R, W_1 =
    R - L, W_2 = R_on-demand, so none is cut off and the optimum is the same). The LP
    relaxation alone barely moves (it still covers a need with fractional bits of several
    types), but HiGHS branches and cuts on W: in the zone case of ``bench/solve_bench.py``
    (134 window MILPs) B&B nodes fell 2,860 -> 709 and the case's CPU time ~0.75x (issue
    20). Elsewhere the rows stay as they are (not measured there).
    """
    import pulp

    add, peak_ub = fm.add, fm.peak_ub
    p, cands, K = fm.p, fm.p.candidates, fm.K
    LE, GE = pulp.LpConstraintLE, pulp.LpConstraintGE
    h = p.headroom
    fm.u = [fm.prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
    fm.used = [add([(fm.n[k], 1.0), (fm.u[k], -float(peak_ub[k]))], LE, f"used{k}")
        for k in range(K)]
    theta = fm.prob.add_variable("theta", lowBound=0)
    fm.theta = theta
    needs = even_need(p, p.demand)
    for k in range(K):
        if needs[k] is not None:
            fm.need_rows[k] = add([(theta, 1.0), (fm.u[k], -float(needs[k] or 0.0))], GE,
                f"need{k}")
    R = [(v, -1.0) for v in fm.r]
    zone = p.redundancy == "zone"
    od_factor = on_demand_factor(p)
    if zone:  # replicas are whole: W_0 (cover), W_1 (zone), W_2 (spot), integers (see above)
        fm.whole = whole_columns(fm, 3 if od_factor > 0 else 2)
    _whole_le(fm, [(theta, 1 + h)], R, "cover")
    # some replica must exist when there is demand (theta is 0 when no type is in use)
    fm.any_row = add([(v, 1.0) for v in fm.r], GE, "serve")
    if od_factor > 0:
        od = [(fm.r[k], -1.0) for k in range(K) if cands[k].capacity_type == "on-demand"]
        _whole_le(fm, [(theta, od_factor)], od, "spot")
    f = p.spot_max_fraction
    if f is not None and f < 1:  # as delivered: the Service gives every pod the same share
        pods = [(fm.r[k], f if cands[k].capacity_type == "on-demand" else f - 1) for k in range(K)]
        add(pods, GE, "spotpods")
    if p.redundancy == "n+1":
        q = fm.prob.add_variable("q_lost", lowBound=0)
        for k in range(K):
            add([(q, 1.0), (fm.u[k], -float(cands[k].replicas_per_node))], GE, f"lostnode{k}")
        add([(theta, 1.0), *R, (q, 1.0)], LE, "nplus1")
        fm.lost = q
    elif zone:
        fm.add_zone_columns()
        lz = fm.prob.add_variable("zone_lost", lowBound=0)
        for ri, reg in enumerate(sorted({(c.row.provider, c.row.region) for c in cands})):
            lost = [(fm.m[k], -1.0) for k in range(K)
                if (cands[k].row.provider, cands[k].row.region) == reg]
            add([(lz, 1.0), *lost], GE, f"lostzone{ri}")
        _whole_le(fm, [(theta, 1.0)], [*R, (lz, 1.0)], "zone")
        fm.lost = lz
    even_cuts(fm)


def whole_columns(fm: Formulation, count: int) -> list[Any]:
    """The zone model's integer columns W_0 (cover), W_1 (zone) and W_2 (spot, when it has a
    spot row), the first ``count``; an empty list gives the rows as they were before."""
    return [fm.prob.add_variable(f"whole{i}", lowBound=0, cat="Integer") for i in range(count)]


def _whole_le(fm: Formulation, lhs: Terms, minus_rhs: Terms, name: str) -> None:
    """The row lhs <= rhs (``minus_rhs``: -rhs's terms, an integer expression): as it is,
    or, where ``fm.whole`` holds one for ``name`` (zone: cover, zone, spot), through its
    integer column W: lhs <= W and W <= rhs."""
    import pulp

    LE = pulp.LpConstraintLE
    at = {"cover": 0, "zone": 1, "spot": 2}[name]
    if at >= len(fm.whole):
        fm.add([*lhs, *minus_rhs], LE, name)
        return
    w = fm.whole[at]
    fm.add([*lhs, (w, -1.0)], LE, name)
    fm.add([(w, 1.0), *minus_rhs], LE, f"{name}whole")


def even_cuts(fm: Formulation) -> None:
    """Valid capacity cuts that give the even model the LP bound of the weighted one.

    Every type k in use has need_k <= theta, i.e. mcap_k = D/need_k >= D/theta (D the total
    demand): each replica of a type in use can take the even share. Summing over replicas:
    sum_k mcap_k r_k >= (1+h) D from (1+h) theta <= R, and the same over on-demand replicas
    for spot. With replicas = replicas_per_node x nodes (no max_replicas, so more replicas
    never hurt and the plan's replicas are at most that) and m_k the most of k's replicas in
    one zone, the survivors of a lost node or zone give: sum_j mcap_j q_j n_j -
    mcap_k q_k u_k >= D (n+1) and sum_j mcap_j q_j n_j - sum_{k in region} mcap_k m_k >= D
    (zone; q_j n_j >= r_j under the zone spread too, so the cut stays valid).
    No plan is cut off (the n, costs and tie-break of every plan stay), only the relaxation
    tightens, so B&B stops far sooner.
    """
    import pulp

    add = fm.add
    p, cands, K = fm.p, fm.p.candidates, fm.K
    GE = pulp.LpConstraintGE
    fm.mcap = mixed_capacities(p, p.demand)
    mc = fm.mcap
    h = p.headroom
    fm.cap_rows.append((add([(fm.r[k], mc[k]) for k in range(K) if mc[k] > 0], GE, "capcover"),
        1 + h))
    od_factor = on_demand_factor(p)
    if od_factor > 0:
        od = [(fm.r[k], mc[k]) for k in range(K) if mc[k] > 0
            and cands[k].capacity_type == "on-demand"]
        fm.cap_rows.append((add(od, GE, "capspot"), od_factor))
    if p.max_replicas is not None:
        return
    caps = [(fm.n[k], mc[k] * cands[k].replicas_per_node) for k in range(K) if mc[k] > 0]
    if p.redundancy == "n+1":
        for k in range(K):
            if mc[k] > 0:
                fm.cap_rows.append((add([*caps, (fm.u[k], -mc[k] * cands[k].replicas_per_node)], GE,
                    f"capnode{k}"), 1.0))
    elif p.redundancy == "zone":
        for ri, reg in enumerate(sorted({(c.row.provider, c.row.region) for c in cands})):
            lost = [(fm.m[k], -mc[k]) for k in range(K) if mc[k] > 0
                and (cands[k].row.provider, cands[k].row.region) == reg]
            fm.cap_rows.append((add([*caps, *lost], GE, f"capzone{ri}"), 1.0))


def spot_pods_ok(p: WindowProblem, replicas: Sequence[int]) -> bool:
    """spot.max_fraction as routing: service delivers it: one Service gives every pod the
    same share of the requests, whatever its shape, so the share on spot is spot pods / all
    pods, R_spot <= f R. (The rows on theta hold f on the capacity the demand needs, so
    spare pods for n+1 could tip it: 4 on-demand + 2 spot pods at f = 0.3 put 33.3 % of
    the requests on spot, UX review 3, #4.) True when no spot candidate can appear."""
    f = p.spot_max_fraction
    if f is None or f >= 1:
        return True
    spot = sum(r for r, c in zip(replicas, p.candidates, strict=True) if c.capacity_type == "spot")
    return spot <= f * sum(replicas) + 1e-9 * max(1, spot)


def even_routing(p: WindowProblem, replicas: Sequence[int],
        demand: Sequence[float]) -> list[list[float]]:
    """routing: service: every class reaches replica type k in proportion r_k / R."""
    total = sum(replicas)
    return [[(r / total if total and d > 0 else 0.0) for r in replicas] for d in demand]


def even_feasible(p: WindowProblem, nodes: Sequence[int], replicas: Sequence[int],
        demand: Sequence[float], needs: Sequence[float | None] | None = None) -> bool:
    """Do these node and replica counts serve ``demand`` when one Service splits it evenly?

    The same rules as the even model: with theta = the largest need_k (replicas type k alone
    would need) over the types in use, (1+h) theta <= R; spot: F theta <= R on on-demand
    (:func:`on_demand_factor`); n+1: theta <= R - (the largest node's replicas); zone:
    theta <= R - (the most replicas one zone of one region holds, ceil(r_k/Z_k) of each type
    there: ``window.zone_lost``). Quotas and replica bounds are the caller's. ``needs``: :func:`even_need` of
    ``demand`` when the caller has it (``WindowModel.needs``).
    """
    cands = p.candidates
    used = [k for k in range(len(cands)) if nodes[k] > 0]
    needs = even_need(p, demand) if needs is None else needs
    if any(needs[k] is None for k in used):
        return False
    theta = max((needs[k] or 0.0 for k in used), default=0.0)
    R = float(sum(replicas))
    tol = FEAS_TOL * max(1.0, R)
    if (1 + p.headroom) * theta > R + tol or p.min_replicas > R or (sum(demand) > 0 and R < 1):
        return False
    od_factor = on_demand_factor(p)
    if od_factor > 0:
        od = float(sum(replicas[k] for k in used if cands[k].capacity_type == "on-demand"))
        if od_factor * theta > od + tol:
            return False
    if not spot_pods_ok(p, replicas):
        return False
    if p.redundancy == "n+1" and used:
        if theta > R - max(cands[k].replicas_per_node for k in used) + tol:
            return False
    elif p.redundancy == "zone" and used:
        lost: dict[tuple[str, str], int] = {}
        for k in used:
            key = (cands[k].row.provider, cands[k].row.region)
            lost[key] = lost.get(key, 0) + zone_lost(cands[k], replicas[k])
        if theta > R - max(lost.values()) + tol:
            return False
    return True

