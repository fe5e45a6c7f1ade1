"""The weighted model (routing: gateway-api): traffic split per class in any proportion.

:func:`build_weighted` adds continuous routing y_ck (requests/s of class c on type k) to a
:class:`Formulation`: every class routed, each type loaded within its replicas with
headroom, spot's on-demand share (over one window also as the route delivers it: spot
capacity at most max_fraction of the capacity), spot.survive_loss (the on-demand replicas
alone carry the demand: per backend group under gateway-api, over all of them under
inference-pool), and n+1 / zone spares (exact single-class forms when one class is active).
:func:`balanced_routing` routes fixed node and replica counts by a small LP that minimises the
largest utilisation (every window's routing goes through it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from scaleplan.solve.milp.formulation import Formulation
from scaleplan.solve.milp.pool import build_pool_rows, pool_shares
from scaleplan.solve.milp.solver import (
    FEAS_TOL,
    SolverName,
    SolveStat,
    lp_solver,
    make_solver,
    pulp_stat,
)
from scaleplan.solve.milp.window import (
    WindowProblem,
    WindowSolution,
    group_members,
    lost_unit,
    mixed_capacities,
    route_caps,
    zone_lost,
)


def build_weighted(fm: Formulation) -> None:
    """routing: gateway-api. Continuous routing per class (see docs/optimizer.md)."""
    import pulp

    add, peak_ub = fm.add, fm.peak_ub
    p, cands, K, prob = fm.p, fm.p.candidates, fm.K, fm.prob
    LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    h = p.headroom
    # demand-dependent rows: (constraint, class index or -1 for the total)
    fm.route = {ci: add([(fm.y[ci, k], 1.0) for k in range(K) if (ci, k) in fm.y], EQ, f"route{ci}")
        for ci in fm.active}
    for k in range(K):
        terms = [(fm.y[ci, k], (1 + h) / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in fm.active
            if (ci, k) in fm.y]
        add([*terms, (fm.r[k], -1.0)], LE, f"load{k}")
    if fm.spot_share > 0:
        for ci in fm.active:
            od = [(fm.y[ci, k], 1.0) for k in range(K) if (ci, k) in fm.y
                and cands[k].capacity_type == "on-demand"]
            fm.spot[ci] = add(od, GE, f"spot{ci}")
        _add_spot_by_capacity(fm)
    if p.survive_spot_loss and p.spot_max_fraction is not None:
        _add_spot_loss(fm)
    if p.redundancy == "n+1" and fm.active:
        fm.u = [prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
        fm.used = [add([(fm.n[k], 1.0), (fm.u[k], -float(peak_ub[k]))], LE, f"used{k}")
            for k in range(K)]
        if fm.single and p.backend_groups:
            cls = p.classes[fm.active[0]]
            for g, ks, load in _group_scopes(fm):
                capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in ks]
                for k in ks:
                    ck = cands[k].cap(cls) or 0.0
                    add([*capsum, *load, (fm.u[k], -ck * cands[k].replicas_per_node)], GE,
                        f"nplus1_g{g}_{k}")
        elif fm.single:
            cls = p.classes[fm.active[0]]
            capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
            for k in range(K):
                ck = cands[k].cap(cls) or 0.0
                fm.total_rows.append(add([*capsum, (fm.u[k], -ck * cands[k].replicas_per_node)], GE,
                    f"nplus1_{k}"))
        else:
            _add_class_spares(fm, fm.u, "nplus1")
    elif p.redundancy == "zone" and fm.active:
        fm.add_zone_columns()
        if fm.single and p.backend_groups:
            cls = p.classes[fm.active[0]]
            for g, ks, load in _group_scopes(fm):
                capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in ks]
                lost = [(fm.m[k], -(cands[k].cap(cls) or 0.0)) for k in ks]
                add([*capsum, *load, *lost], GE, f"zone_g{g}")
        elif fm.single:
            cls = p.classes[fm.active[0]]
            capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
            regions = sorted({(c.row.provider, c.row.region) for c in cands})
            for ri, reg in enumerate(regions):
                lost = [(fm.m[k], -(cands[k].cap(cls) or 0.0)) for k in range(K)
                    if (cands[k].row.provider, cands[k].row.region) == reg]
                fm.total_rows.append(add([*capsum, *lost], GE, f"zone_{ri}"))
        else:
            _add_class_spares(fm, fm.m, "zone")
    _add_delivered_loss(fm)
    build_pool_rows(fm)


def _add_class_spares(fm: Formulation, lost: list[Any], name: str) -> None:
    """n+1 (``lost`` = u, a node of k) or zone (``lost`` = m, k's replicas in the worst zone)
    with several classes. gateway-api: every type keeps what ``lost`` takes as spare replicas
    for its own routed load, sum_c y_ck / a_ck <= r_k - l_k lost_k (l_k: ``lost_unit``, q_k
    for a node, 1 for m_k's replicas; the static route keeps a
    type's share on it). inference-pool (no backend groups): the endpoint picker moves a lost
    pod's load to any pod left, so the exact rows are :func:`_add_pool_losses`."""
    import pulp

    p, cands = fm.p, fm.p.candidates
    if not p.backend_groups:
        _add_pool_losses(fm, lost, name)
        return
    for k in range(fm.K):
        terms = [(fm.y[ci, k], 1.0 / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in fm.active
            if (ci, k) in fm.y]
        fm.add([*terms, (fm.r[k], -1.0), (lost[k], lost_unit(cands[k], name))], pulp.LpConstraintLE,
            f"{name}_{k}")


def loss_scenarios(p: WindowProblem, name: str) -> list[list[int]]:
    """The candidates one loss takes nodes of: each candidate alone (``nplus1``), or every
    candidate of one provider/region (``zone``: its worst zone, m_k replicas of each)."""
    if name == "nplus1":
        return [[k] for k in range(len(p.candidates))]
    regions: dict[tuple[str, str], list[int]] = {}
    for k, c in enumerate(p.candidates):
        regions.setdefault((c.row.provider, c.row.region), []).append(k)
    return [regions[r] for r in sorted(regions)]


def _add_pool_losses(fm: Formulation, lost: list[Any], name: str) -> None:
    """inference-pool, several classes, n+1 / zone exactly: per loss scenario s
    (:func:`loss_scenarios`) a routing z^s_cj of the whole demand over what is left, without
    headroom: sum_j z^s_cj = D_c (per window, ``fm.class_rows``) and
    sum_c z^s_cj / a_cj <= r_j - l_j lost_j [j in s] (``lost_unit``). Before, the gateway-api rows (a spare
    node per type in use) stood here too: a plan that mixes types paid a spare node per type
    (llm-chat-pool: 2 spot + 2 on-demand L40S, $5.40/h, where 1 + 2, $4.56/h, holds)."""
    import pulp

    p, cands = fm.p, fm.p.candidates
    LE, EQ = pulp.LpConstraintLE, pulp.LpConstraintEQ
    for s, ks in enumerate(loss_scenarios(p, name)):
        z = {(ci, k): fm.prob.add_variable(f"{name}z{s}_{ci}_{k}", lowBound=0) for (ci, k) in fm.y}
        by_class, by_k = _pool_terms(p, z)
        for ci in fm.active:
            fm.class_rows.append((ci, fm.add(by_class.get(ci, []), EQ, f"{name}route{s}_{ci}")))
        for k in range(fm.K):
            terms = by_k.get(k, [])
            if k in ks:
                terms = [*terms, (lost[k], lost_unit(cands[k], name))]
            if terms:
                fm.add([*terms, (fm.r[k], -1.0)], LE, f"{name}cap{s}_{k}")


def _add_delivered_loss(fm: Formulation) -> None:
    """:attr:`WindowProblem.delivered_util` (lo, hi, margin), one active class: capacity
    sum_k w_k r_k >= D / hi (a total row), and per backend group g, what survives each loss at
    least lo of its capacity plus margin x D (either sign) when g is in use (binary v_g), in
    capacity (w_k = :func:`route_caps`, one per group):
    (1 - lo) sum_{j in g} w_j r_j - margin D v_g >= w_k q_k u_k per member k (n+1),
    >= sum_{k in g} w_k m_k (zone), >= sum_{k in g spot} w_k r_k (survive_loss),
    >= h / (1 + h) sum_{j in g} w_j r_j (traffic.headroom, :func:`_headroom_slack`).
    With margin >= what rounding adds to a share, a plan in the interval survives them at the
    route's integer weights (every pod loaded at u <= hi); with margin <= minus what it takes,
    every plan that does and has u in the interval is in it."""
    import pulp

    p, K = fm.p, fm.K
    if p.delivered_util is None or not fm.single or not p.backend_groups:
        return
    lo, hi, margin = p.delivered_util
    GE, caps, cands = pulp.LpConstraintGE, route_caps(p), p.candidates
    cap = [(fm.r[k], hi * a) for k, a in enumerate(caps) if a]
    fm.total_rows.append(fm.add(cap, GE, "dlv_cap"))
    extra = margin * sum(p.demand)
    for g, ks in group_members(p.backend_groups, range(K)).items():
        used: list[tuple[Any, float]] = []
        if extra:
            v = fm.prob.add_variable(f"dlv_v{g}", cat="Binary")
            ub = float(sum(fm.peak_ub[k] for k in ks))
            fm.add([*[(fm.n[k], -1.0) for k in ks], (v, ub)], GE, f"dlv_used_g{g}")
            used = [(v, -extra)]
        kept = [*[(fm.r[j], (1 - lo) * caps[j]) for j in ks if caps[j]], *used]
        if slack := _headroom_slack(p):  # else implied: lo <= 1 / (1 + h), margin <= 0
            fm.add([*[(fm.r[j], slack * caps[j]) for j in ks if caps[j]], *used], GE, f"dlv_h_g{g}")
        if fm.u:
            for k in ks:
                qk = caps[k] * cands[k].replicas_per_node
                fm.add([*kept, (fm.u[k], -qk)], GE, f"dlv_n1_g{g}_{k}")
        if fm.m:
            zone = [(fm.m[k], -caps[k]) for k in ks]
            fm.add([*kept, *zone], GE, f"dlv_zone_g{g}")
        if p.survive_spot_loss and any(cands[k].capacity_type == "spot" for k in ks):
            # one term per variable (PuLP keeps the last of repeated ones): spot pods count
            # (1 - lo) w - w, on-demand ones (1 - lo) w
            od = [(j, (cands[j].capacity_type == "on-demand") - lo) for j in ks if caps[j]]
            fm.add([*[(fm.r[j], c * caps[j]) for j, c in od], *used], GE, f"dlv_spot_g{g}")


def _headroom_slack(p: WindowProblem) -> float:
    """traffic.headroom in :attr:`WindowProblem.delivered_util`'s rows: a group carries its
    share with headroom h iff what it keeps, (1 - lo) C_g - margin D, is at least h / (1 + h)
    of C_g; the row's coefficient 1 / (1 + h) - lo, or 0 when the row is implied (margin <= 0
    and lo <= 1 / (1 + h): the capacity share u C_g is within C_g / (1 + h))."""
    assert p.delivered_util is not None
    lo, _, margin = p.delivered_util
    slack = 1 / (1 + p.headroom) - lo
    return slack if margin > 0 or slack < 0 else 0.0


def _add_spot_by_capacity(fm: Formulation) -> None:
    """spot.max_fraction as the route delivers it over one window (``spot_by_capacity``):
    sum_{k spot} w_k r_k <= f sum_k w_k r_k, w_k from :func:`route_caps` (no row without it)."""
    import pulp

    if not fm.p.spot_by_capacity:
        return
    f, caps, cands = 1 - fm.spot_share, route_caps(fm.p), fm.p.candidates
    terms = [
        (fm.r[k], a * ((cands[k].capacity_type == "spot") - f)) for k, a in enumerate(caps) if a
    ]
    fm.add(terms, pulp.LpConstraintLE, "spotcap")


def _group_scopes(fm: Formulation) -> list[tuple[int, list[int], list[tuple[Any, float]]]]:
    """routing: gateway-api, one active class: each backend group with its members and minus
    its routed load (-y_j): the static HTTPRoute keeps sending a group its share after it
    loses a node or a zone, so the group's own capacity must absorb the loss (a group is one
    cluster, so one region). Rows sum_{j in g} a_j r_j - lost - sum_{j in g} y_j >= 0."""
    ci = fm.active[0]
    groups = group_members(fm.p.backend_groups, range(fm.K))
    return [(g, ks, [(fm.y[ci, j], -1.0) for j in ks if (ci, j) in fm.y]) for g,
        ks in groups.items()]


def loss_groups(p: WindowProblem, used: Sequence[int]) -> list[tuple[int, list[int]]]:
    """survive_spot_loss, routing: gateway-api: the backend groups among ``used`` that hold a
    spot candidate, each as (group, on-demand members). A group's Service spreads its share
    over its ready pods, so once spot is lost its on-demand members carry all of it."""
    cands = p.candidates
    return [
        (g, [k for k in ks if cands[k].capacity_type == "on-demand"])
        for g, ks in group_members(p.backend_groups, used).items()
        if any(cands[k].capacity_type == "spot" for k in ks)
    ]


def group_load(p: WindowProblem, y: dict[tuple[int, int], Any]) -> dict[int, list[tuple[Any, float]]]:
    """Replica-equivalents of the routing ``y`` (requests/s of class c on candidate k) that
    lands on each backend group, without headroom: terms y_ck / a_ck, in one pass."""
    out: dict[int, list[tuple[Any, float]]] = {}
    for (ci, k), v in y.items():
        out.setdefault(p.backend_groups[k],
            []).append((v, 1.0 / (p.candidates[k].cap(p.classes[ci]) or 1.0)))
    return out


def _add_spot_loss(fm: Formulation) -> None:
    """survive_spot_loss: after all spot is lost the on-demand replicas carry the demand
    without headroom. gateway-api (``backend_groups``): per backend group with a spot member,
    sum_{k in g, c} y_ck / a_ck <= sum_{k in g on-demand} r_k (a group without an on-demand
    member gets no traffic). Otherwise (inference-pool) a second routing z_ck over the
    on-demand candidates: sum_k z_ck = D_c, sum_c z_ck / a_ck <= r_k."""
    import pulp

    p, cands, K = fm.p, fm.p.candidates, fm.K
    LE, EQ = pulp.LpConstraintLE, pulp.LpConstraintEQ
    if p.backend_groups:
        load = group_load(p, fm.y)
        for g, od in loss_groups(p, range(K)):
            fm.add([*load.get(g, []), *[(fm.r[k], -1.0) for k in od]], LE, f"spotloss_g{g}")
        return
    od_ks = [k for k in range(K) if cands[k].capacity_type == "on-demand"]
    z = {(ci, k): fm.prob.add_variable(f"z{ci}_{k}", lowBound=0) for (ci, k) in fm.y if k in od_ks}
    by_class, by_k = _pool_terms(p, z)
    fm.loss_route = {ci: fm.add(by_class.get(ci, []), EQ, f"lossroute{ci}") for ci in fm.active}
    for k in od_ks:
        fm.add([*by_k.get(k, []), (fm.r[k], -1.0)], LE, f"spotloss{k}")


def _pool_terms(p: WindowProblem, z: dict[tuple[int, int], Any]) -> tuple[dict[int, list[tuple[Any, float]]], dict[int, list[tuple[Any, float]]]]:
    """The after-loss routing z_ck's rows, in one pass: per class sum_k z_ck (its demand), per
    on-demand candidate sum_c z_ck / a_ck (its replicas, without headroom)."""
    by_class: dict[int, list[tuple[Any, float]]] = {}
    by_k: dict[int, list[tuple[Any, float]]] = {}
    for (ci, k), v in z.items():
        by_class.setdefault(ci, []).append((v, 1.0))
        by_k.setdefault(k, []).append((v, 1.0 / (p.candidates[k].cap(p.classes[ci]) or 1.0)))
    return by_class, by_k


def _add_lp_spot_loss(fm: Formulation, lp: Any, y: dict[tuple[int, int], Any], sol: WindowSolution,
        demand: Sequence[float], used: Sequence[int]) -> None:
    """The rows of :func:`_add_spot_loss` with ``sol``'s replicas fixed, in the routing LP."""
    import pulp

    p, cands = fm.p, fm.p.candidates
    LE = pulp.LpConstraintLE
    if p.backend_groups:
        load = group_load(p, y)
        for g, od in loss_groups(p, used):
            if load.get(g):
                lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(load[g]), LE,
                    f"spotloss_g{g}", float(sum(sol.replicas[k] for k in od))))
        return
    od_ks = [k for k in used if cands[k].capacity_type == "on-demand"]
    _lp_route_left(fm, lp, demand, {k: float(sol.replicas[k]) for k in od_ks},
        ("z", "lossroute", "spotloss"))


def _lp_route_left(fm: Formulation, lp: Any, demand: Sequence[float], left: dict[int, float],
        names: tuple[str, str, str]) -> None:
    """In the routing LP, a routing z_ck of ``demand`` over what a loss leaves: per class with
    demand sum_k z_ck = D_c, per candidate k of ``left`` sum_c z_ck / a_ck <= left[k]
    (:func:`_pool_terms`); ``names``: the prefixes of the z's, the class rows, the capacity rows."""
    import pulp

    z = {(ci, k): lp.add_variable(f"{names[0]}{ci}_{k}", lowBound=0) for (ci, k) in fm.y
        if k in left and demand[ci] > 0}
    by_class, by_k = _pool_terms(fm.p, z)
    for ci in fm.active:
        if demand[ci] > 0:
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(by_class.get(ci, [])),
                pulp.LpConstraintEQ, f"{names[1]}{ci}", float(demand[ci])))
    for k, cap in left.items():
        terms = by_k.get(k, [])
        if terms or cap < 0:  # a row without terms holds unless fewer than 0 replicas are left
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE,
                f"{names[2]}{k}", cap))


def _route_vars(fm: Formulation, lp: Any, used: Sequence[int], demand: Sequence[float],
        share: list[float] | None) -> dict[tuple[int, int], Any]:
    """The routing LP's y_ck (requests/s of class c on candidate k in ``used``); with
    ``share``, each fixed to share_k x D_c."""
    y = {(ci, k): lp.add_variable(f"y{ci}_{k}", lowBound=0) for (ci, k) in fm.y if k in used
        and demand[ci] > 0}
    if share is not None:
        for (ci, k), v in y.items():
            v.lowBound = v.upBound = share[k] * demand[ci]
    return y


def _add_lp_losses(fm: Formulation, lp: Any, y: dict[tuple[int, int], Any], sol: WindowSolution,
        demand: Sequence[float], used: Sequence[int]) -> None:
    """The routing LP's loss rows with ``sol``'s counts fixed: gateway-api's per-group n+1 /
    zone (one class), spot.survive_loss, inference-pool's n+1 / zone (several classes)."""
    import pulp

    p = fm.p
    if fm.single and p.backend_groups and p.redundancy in ("n+1", "zone"):
        for g, ks in group_members(p.backend_groups, used).items():  # each absorbs its own loss
            load = [(v, 1.0) for (_, k), v in y.items() if p.backend_groups[k] == g]
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(load), pulp.LpConstraintLE,
                f"spare_g{g}", _left_after_loss(fm, sol, ks) + FEAS_TOL))
    if p.survive_spot_loss and p.spot_max_fraction is not None:
        _add_lp_spot_loss(fm, lp, y, sol, demand, used)
    if not fm.single and not p.backend_groups and p.redundancy in ("n+1", "zone"):
        _add_lp_pool_losses(fm, lp, sol, demand, used)


def _add_lp_pool_losses(fm: Formulation, lp: Any, sol: WindowSolution, demand: Sequence[float],
        used: Sequence[int]) -> None:
    """The rows of :func:`_add_pool_losses` with ``sol``'s counts fixed, in the routing LP:
    per loss scenario that takes nodes of a candidate in use, a routing of ``demand`` over the
    replicas left (a node of k under n+1, ceil(r_k / Z_k) replicas of each in the region under
    zone)."""
    p = fm.p
    name = "nplus1" if p.redundancy == "n+1" else "zone"
    inuse = set(used)
    for s, ks in enumerate(loss_scenarios(p, name)):
        if not inuse.intersection(ks):
            continue
        left = {
            k: float(sol.replicas[k] - (_lost_replicas(p, sol, k) if k in ks else 0)) for k in used
        }
        _lp_route_left(fm, lp, demand, left, (f"{name}z{s}_", f"{name}route{s}_", f"{name}cap{s}_"))


def _lost_replicas(p: WindowProblem, sol: WindowSolution, k: int) -> int:
    """The replicas of candidate ``k`` one loss takes with ``sol``'s counts: a node under n+1,
    its replicas in the worst zone (``window.zone_lost``: ceil(r_k / Z_k)) under zone."""
    c = p.candidates[k]
    return c.replicas_per_node if p.redundancy == "n+1" else zone_lost(c, sol.replicas[k])


def _left_after_loss(fm: Formulation, sol: WindowSolution, ks: Sequence[int]) -> float:
    """One active class: the capacity (requests/s) of ``sol``'s replicas of candidates ``ks``
    left after the worst lost node (n+1) or zone (zone): the exact single-class rows of the
    MILP, with the counts fixed."""
    p, cands = fm.p, fm.p.candidates
    single_cls = p.classes[fm.active[0]]
    capsum = sum((cands[k].cap(single_cls) or 0.0) * sol.replicas[k] for k in ks)
    if p.redundancy == "n+1":
        return capsum - max(((cands[k].cap(single_cls) or 0.0) * cands[k].replicas_per_node
            for k in ks), default=0.0)
    if p.redundancy == "zone":
        lost: dict[tuple[str, str], float] = {}
        for k in ks:
            reg = (cands[k].row.provider, cands[k].row.region)
            lost[reg] = lost.get(reg, 0.0) + (cands[k].cap(single_cls)
                or 0.0) * zone_lost(cands[k], sol.replicas[k])
        return capsum - max(lost.values(), default=0.0)
    return capsum


def balanced_routing(
    fm: Formulation,
    sol: WindowSolution,
    demand: Sequence[float],
    *,
    solver: SolverName,
    stats: list[SolveStat],
) -> tuple[list[list[float]], bool] | None:
    """The most balanced routing [class][candidate] of ``sol``'s counts for ``demand``, and
    whether it is a pool's picker split (:attr:`WindowSolution.split`); or None.

    A small LP over the routing of the candidates in use (PuLP + the same solver): minimise
    the largest utilisation t of any allocation in use (with headroom); None when no routing
    serves ``demand`` with these counts. The LP's run is appended to ``stats``.
    inference-pool with several classes: first the routing its class-blind endpoint picker
    delivers, every class split over the replicas in proportion to their capacity for the
    class mix (each pod then serves the mix); with pods of several shapes, the picker's split
    instead (:func:`scaleplan.solve.milp.pool.pool_shares`, one class or several); the free LP
    only when that one fails a rule (its verdict is the free LP's: the fixed routing is one of
    its routings).
    """
    shares = None if fm.pool is None else pool_shares(fm.pool, sol.replicas)
    if shares is not None:  # pods of several shapes in a pool: the endpoint picker's split
        fixed = _balanced(fm, sol, demand, solver, stats, shares)
        if fixed is not None:
            return fixed, True
    elif not fm.single and not fm.p.even and not fm.p.backend_groups:
        caps = mixed_capacities(fm.p, demand)
        total = sum(caps[k] * sol.replicas[k] for k in range(fm.K))
        if total > 0:
            share = [caps[k] * sol.replicas[k] / total for k in range(fm.K)]
            fixed = _balanced(fm, sol, demand, solver, stats, share)
            if fixed is not None:
                return fixed, False
    free = _balanced(fm, sol, demand, solver, stats, None)
    return None if free is None else (free, False)


def _balanced(
    fm: Formulation,
    sol: WindowSolution,
    demand: Sequence[float],
    solver: SolverName,
    stats: list[SolveStat],
    share: list[float] | None,
) -> list[list[float]] | None:
    """:func:`balanced_routing`'s LP; ``share``: every class's routing fixed to share_k of it."""
    import pulp

    p, cands = fm.p, fm.p.candidates
    used = [k for k in range(fm.K) if sol.nodes[k] > 0]
    total = float(sum(demand))
    h = p.headroom
    if fm.single and not p.backend_groups and _left_after_loss(fm, sol, used) < total - FEAS_TOL:
        return None
    lp = pulp.LpProblem("reroute", pulp.LpMinimize)
    y = _route_vars(fm, lp, used, demand, share)
    # balanced routing: minimise the largest utilisation t of any allocation (with
    # headroom); a negligible charge by name rank makes ties deterministic
    t = lp.add_variable("t", lowBound=0, upBound=1)
    tiny = 1e-7 / max(total, 1e-9) / (fm.K + 1)
    lp.setObjective(pulp.LpAffineExpression([(t, 1.0), *[(v, tiny * (k + 1)) for (ci, k),
        v in y.items()]]))
    for ci in fm.active:
        if demand[ci] <= 0:
            continue
        terms = [(v, 1.0) for (c, _), v in y.items() if c == ci]
        if not terms:
            return None
        lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ,
            f"route{ci}", float(demand[ci])))
        if fm.spot:
            od = [(v, 1.0) for (c, k),
                v in y.items() if c == ci and cands[k].capacity_type == "on-demand"]
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(od), pulp.LpConstraintGE,
                f"spot{ci}", fm.spot_share * float(demand[ci])))
    for k in used:
        terms = [(v, 1.0 / (cands[k].cap(p.classes[c]) or 1.0)) for (c, kk),
            v in y.items() if kk == k]
        lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([*[(v, (1 + h) * a) for v,
            a in terms], (t, -float(sol.replicas[k]))]), pulp.LpConstraintLE, f"load{k}", 0.0))
        if not fm.single and p.backend_groups and p.redundancy in ("n+1", "zone"):
            spare = _lost_replicas(p, sol, k)
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE,
                f"spare{k}", float(sol.replicas[k] - spare)))
    if not y:
        return None
    _add_lp_losses(fm, lp, y, sol, demand, used)
    t_lp, c_lp = time.perf_counter(), time.process_time()
    lp.solve(make_solver(solver, 60.0) if solver != "highs" else lp_solver())
    ok = lp.sol_status == pulp.LpSolutionOptimal
    stats.append(pulp_stat("lp", lp, time.perf_counter() - t_lp, "optimal" if ok else "infeasible",
        time.process_time() - c_lp))
    if not ok:
        return None
    routing = [[0.0] * fm.K for _ in p.classes]
    for (ci, k), v in y.items():
        routing[ci][k] = max(0.0, float(v.value() or 0.0)) / demand[ci]
    return routing
