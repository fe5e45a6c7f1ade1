"""The weighted model (routing: gateway-api): traffic split per class in any proportion.

:func:`build_weighted` adds continuous routing y_ck (requests/s of class c on type k) to a
:class:`Formulation`: every class routed, each type loaded within its replicas with
headroom, spot's on-demand share, and n+1 / zone spares (exact single-class forms when one
class is active). :func:`balanced_routing` routes fixed node and replica counts by a small LP
that minimises the largest utilisation (every window's routing goes through it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from scaleplan.solve.milp.formulation import Formulation
from scaleplan.solve.milp.solver import (
    FEAS_TOL,
    SolverName,
    SolveStat,
    lp_solver,
    make_solver,
    pulp_stat,
)
from scaleplan.solve.milp.window import WindowSolution


def build_weighted(fm: Formulation) -> None:
    """routing: gateway-api. Continuous routing per class (see docs/optimizer.md)."""
    import pulp

    add, peak_ub = fm.add, fm.peak_ub
    p, cands, K, prob = fm.p, fm.p.candidates, fm.K, fm.prob
    LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    h = p.headroom
    # demand-dependent rows: (constraint, class index or -1 for the total)
    fm.route = {ci: add([(fm.y[ci, k], 1.0) for k in range(K) if (ci, k) in fm.y], EQ, f"route{ci}") for ci in fm.active}
    for k in range(K):
        terms = [(fm.y[ci, k], (1 + h) / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in fm.active if (ci, k) in fm.y]
        add([*terms, (fm.r[k], -1.0)], LE, f"load{k}")
    if fm.spot_share > 0:
        for ci in fm.active:
            od = [(fm.y[ci, k], 1.0) for k in range(K) if (ci, k) in fm.y and cands[k].capacity_type == "on-demand"]
            fm.spot[ci] = add(od, GE, f"spot{ci}")
    if p.redundancy == "n+1" and fm.active:
        fm.u = [prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
        fm.used = [add([(fm.n[k], 1.0), (fm.u[k], -float(peak_ub[k]))], LE, f"used{k}") for k in range(K)]
        if fm.single:
            cls = p.classes[fm.active[0]]
            capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
            for k in range(K):
                ck = cands[k].cap(cls) or 0.0
                fm.total_rows.append(add([*capsum, (fm.u[k], -ck * cands[k].replicas_per_node)], GE, f"nplus1_{k}"))
        else:
            for k in range(K):
                terms = [(fm.y[ci, k], 1.0 / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in fm.active if (ci, k) in fm.y]
                add([*terms, (fm.r[k], -1.0), (fm.u[k], float(cands[k].replicas_per_node))], LE, f"nplus1_{k}")
    elif p.redundancy == "zone" and fm.active:
        fm.m = [prob.add_variable(f"m{k}", lowBound=0, upBound=peak_ub[k], cat="Integer") for k in range(K)]
        for k in range(K):
            add([(fm.m[k], float(cands[k].zones)), (fm.n[k], -1.0)], GE, f"zonemax{k}")
        if fm.single:
            cls = p.classes[fm.active[0]]
            capsum = [(fm.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
            regions = sorted({(c.row.provider, c.row.region) for c in cands})
            for ri, reg in enumerate(regions):
                lost = [(fm.m[k], -(cands[k].cap(cls) or 0.0) * cands[k].replicas_per_node) for k in range(K) if (cands[k].row.provider, cands[k].row.region) == reg]
                fm.total_rows.append(add([*capsum, *lost], GE, f"zone_{ri}"))
        else:
            for k in range(K):
                terms = [(fm.y[ci, k], 1.0 / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in fm.active if (ci, k) in fm.y]
                add([*terms, (fm.r[k], -1.0), (fm.m[k], float(cands[k].replicas_per_node))], LE, f"zone_{k}")


def _single_class_spares_ok(fm: Formulation, sol: WindowSolution, total: float, used: list[int]) -> bool:
    """One active class: does the capacity left after a lost node (n+1) or zone still carry
    ``total``? (The exact single-class rows of the MILP, with the counts fixed.)"""
    p, cands = fm.p, fm.p.candidates
    single_cls = p.classes[fm.active[0]]
    capsum = sum((cands[k].cap(single_cls) or 0.0) * sol.replicas[k] for k in used)
    if p.redundancy == "n+1":
        worst = max(((cands[k].cap(single_cls) or 0.0) * cands[k].replicas_per_node for k in used), default=0.0)
        if capsum - worst < total - FEAS_TOL:
            return False
    elif p.redundancy == "zone":
        for reg in sorted({(cands[k].row.provider, cands[k].row.region) for k in used}):
            lost = sum((cands[k].cap(single_cls) or 0.0) * cands[k].replicas_per_node * math.ceil(sol.nodes[k] / cands[k].zones) for k in used if (cands[k].row.provider, cands[k].row.region) == reg)
            if capsum - lost < total - FEAS_TOL:
                return False
    return True


def balanced_routing(
    fm: Formulation,
    sol: WindowSolution,
    demand: Sequence[float],
    *,
    solver: SolverName,
    stats: list[SolveStat],
) -> list[list[float]] | None:
    """The most balanced routing [class][candidate] of ``sol``'s counts for ``demand``, or None.

    A small LP over the routing of the candidates in use (PuLP + the same solver): minimise
    the largest utilisation t of any allocation in use (with headroom); None when no routing
    serves ``demand`` with these counts. The LP's run is appended to ``stats``.
    """
    import pulp

    p, cands = fm.p, fm.p.candidates
    used = [k for k in range(fm.K) if sol.nodes[k] > 0]
    total = float(sum(demand))
    h = p.headroom
    if fm.single and not _single_class_spares_ok(fm, sol, total, used):
        return None
    lp = pulp.LpProblem("reroute", pulp.LpMinimize)
    y = {(ci, k): lp.add_variable(f"y{ci}_{k}", lowBound=0) for (ci, k) in fm.y if k in used and demand[ci] > 0}
    # balanced routing: minimise the largest utilisation t of any allocation (with
    # headroom); a negligible charge by name rank makes ties deterministic
    t = lp.add_variable("t", lowBound=0, upBound=1)
    tiny = 1e-7 / max(total, 1e-9) / (fm.K + 1)
    lp.setObjective(pulp.LpAffineExpression([(t, 1.0), *[(v, tiny * (k + 1)) for (ci, k), v in y.items()]]))
    for ci in fm.active:
        if demand[ci] <= 0:
            continue
        terms = [(v, 1.0) for (c, _), v in y.items() if c == ci]
        if not terms:
            return None
        lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"route{ci}", float(demand[ci])))
        if fm.spot:
            od = [(v, 1.0) for (c, k), v in y.items() if c == ci and cands[k].capacity_type == "on-demand"]
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(od), pulp.LpConstraintGE, f"spot{ci}", fm.spot_share * float(demand[ci])))
    for k in used:
        terms = [(v, 1.0 / (cands[k].cap(p.classes[c]) or 1.0)) for (c, kk), v in y.items() if kk == k]
        lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([*[(v, (1 + h) * a) for v, a in terms], (t, -float(sol.replicas[k]))]), pulp.LpConstraintLE, f"load{k}", 0.0))
        if not fm.single and p.redundancy in ("n+1", "zone"):
            spare = cands[k].replicas_per_node * (1 if p.redundancy == "n+1" else math.ceil(sol.nodes[k] / cands[k].zones))
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"spare{k}", float(sol.replicas[k] - spare)))
    if not y:
        return None
    t_lp, c_lp = time.perf_counter(), time.process_time()
    lp.solve(make_solver(solver, 60.0) if solver != "highs" else lp_solver())
    ok = lp.sol_status == pulp.LpSolutionOptimal
    stats.append(pulp_stat("lp", lp, time.perf_counter() - t_lp, "optimal" if ok else "infeasible", time.process_time() - c_lp))
    if not ok:
        return None
    routing = [[0.0] * fm.K for _ in p.classes]
    for (ci, k), v in y.items():
        routing[ci][k] = max(0.0, float(v.value() or 0.0)) / demand[ci]
    return routing
