"""The per-window mixed-integer program (PuLP; HiGHS by default, CBC as fallback).

Every constraint in the formulation is per time window except the budget (a mean over
windows), so windows are solved independently and the budget is checked afterwards (the sum
of per-window optima is the optimum of the mean). See docs/optimizer.md for the formulation.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scaleplan.solve.candidates import Candidate

SolverName = Literal["highs", "cbc"]
COST_TOL = 1e-6
TIE_EPS = 1e-5  # $/h per node: below any real price difference that matters


@dataclass(frozen=True)
class QuotaScope:
    label: str  # provider/region/family
    limit: int
    members: tuple[int, ...]  # candidate indices


@dataclass(frozen=True)
class WindowProblem:
    candidates: Sequence[Candidate]
    classes: tuple[str, ...]
    demand: tuple[float, ...]  # per class, requests/s, before headroom
    headroom: float
    redundancy: str  # none | n+1 | zone
    spot_max_fraction: float | None  # None when no spot candidate can appear
    quotas: tuple[QuotaScope, ...] = ()
    min_replicas: int = 0
    max_replicas: int | None = None


@dataclass
class WindowSolution:
    status: str  # optimal | feasible | infeasible | unknown
    nodes: list[int] = field(default_factory=list)
    replicas: list[int] = field(default_factory=list)
    routing: list[list[float]] = field(default_factory=list)  # [class][candidate]
    cost: float = 0.0
    bound: float | None = None
    seconds: float = 0.0


def make_solver(name: SolverName, time_limit: float, gap_rel: float = 1e-7, gap_abs: float | None = None) -> Any:
    import pulp

    tl = max(1.0, float(time_limit))
    if name == "cbc":
        path = shutil.which("cbc") or pulp.PULP_CBC_CMD.pulp_cbc_path
        return pulp.COIN_CMD(msg=False, timeLimit=tl, gapRel=gap_rel, gapAbs=gap_abs, path=path)
    return pulp.HiGHS(msg=False, timeLimit=tl, gapRel=gap_rel, gapAbs=gap_abs)


def _bounds(p: WindowProblem) -> list[int]:
    """Upper bound on nodes per candidate: twice what it alone would need, plus spares."""
    ub = []
    for k in p.candidates:
        need = 0.0
        for c, d in zip(p.classes, p.demand, strict=True):
            cap = k.cap(c)
            if cap and d > 0:
                need += d * (1 + p.headroom) / cap
        rpn = k.replicas_per_node
        ub.append(2 * math.ceil(need / rpn - 1e-9) + 2 + math.ceil(p.min_replicas / rpn))
    return ub


def solve_window(p: WindowProblem, *, solver: SolverName = "highs", time_limit: float = 60.0, tie_break: bool = True, cutoff: float | None = None) -> WindowSolution:
    """Cheapest node counts for one window; then (tie_break) fewest nodes, then earliest names.

    ``cutoff``: a known upper bound on the cost (e.g. a feasible plan for a busier window).
    """
    import pulp

    t0 = time.perf_counter()
    K = len(p.candidates)
    cands = p.candidates
    ub = _bounds(p)
    if cutoff is not None:  # a node dearer than a known plan can never be used
        ub = [0 if cands[k].price > cutoff + COST_TOL else ub[k] for k in range(K)]
    prob = pulp.LpProblem("window", pulp.LpMinimize)
    n = [prob.add_variable(f"n{k}", lowBound=0, upBound=ub[k], cat="Integer") for k in range(K)]
    rmax = [ub[k] * cands[k].replicas_per_node for k in range(K)]
    r = [prob.add_variable(f"r{k}", lowBound=0, upBound=rmax[k], cat="Integer") for k in range(K)]
    active = [ci for ci, d in enumerate(p.demand) if d > 0]
    x: dict[tuple[int, int], Any] = {}
    for ci in active:
        cls = p.classes[ci]
        for k in range(K):
            if cands[k].cap(cls):
                x[ci, k] = prob.add_variable(f"x{ci}_{k}", lowBound=0, upBound=1)
    cost = pulp.lpSum(cands[k].price * n[k] for k in range(K))
    prob += cost

    def load(k: int, factor: float) -> Any:
        terms = []
        for ci in active:
            if (ci, k) in x:
                cap = cands[k].cap(p.classes[ci])
                assert cap is not None
                terms.append(p.demand[ci] * factor / cap * x[ci, k])
        return pulp.lpSum(terms)

    for ci in active:
        prob += pulp.lpSum(x[ci, k] for k in range(K) if (ci, k) in x) == 1, f"route{ci}"
    for k in range(K):
        prob += load(k, 1 + p.headroom) - r[k] <= 0, f"load{k}"
        prob += r[k] - cands[k].replicas_per_node * n[k] <= 0, f"pack{k}"
    if p.min_replicas > 0:
        prob += pulp.lpSum(r) >= p.min_replicas, "min_replicas"
    if p.max_replicas is not None:
        prob += pulp.lpSum(r) <= p.max_replicas, "max_replicas"
    for qi, q in enumerate(p.quotas):
        prob += pulp.lpSum(cands[k].gpus_per_node * n[k] for k in q.members) <= q.limit, f"quota{qi}"
    if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
        for ci in active:
            od = [x[ci, k] for k in range(K) if (ci, k) in x and cands[k].capacity_type == "on-demand"]
            prob += pulp.lpSum(od) >= 1 - p.spot_max_fraction, f"spot{ci}"
    single = len(active) == 1
    total = sum(p.demand)
    if p.redundancy == "n+1" and active:
        u = [prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
        for k in range(K):
            prob += n[k] - ub[k] * u[k] <= 0, f"used{k}"
        if single:
            cls = p.classes[active[0]]
            capsum = pulp.lpSum((cands[j].cap(cls) or 0.0) * r[j] for j in range(K))
            for k in range(K):
                ck = cands[k].cap(cls) or 0.0
                prob += capsum - ck * cands[k].replicas_per_node * u[k] >= total, f"nplus1_{k}"
        else:
            for k in range(K):
                prob += load(k, 1.0) - r[k] + cands[k].replicas_per_node * u[k] <= 0, f"nplus1_{k}"
    elif p.redundancy == "zone" and active:
        m = [prob.add_variable(f"m{k}", lowBound=0, upBound=ub[k], cat="Integer") for k in range(K)]
        for k in range(K):
            prob += cands[k].zones * m[k] - n[k] >= 0, f"zonemax{k}"
        if single:
            cls = p.classes[active[0]]
            capsum = pulp.lpSum((cands[j].cap(cls) or 0.0) * r[j] for j in range(K))
            regions = sorted({(c.row.provider, c.row.region) for c in cands})
            for ri, reg in enumerate(regions):
                lost = pulp.lpSum((cands[k].cap(cls) or 0.0) * cands[k].replicas_per_node * m[k] for k in range(K) if (cands[k].row.provider, cands[k].row.region) == reg)
                prob += capsum - lost >= total, f"zone_{ri}"
        else:
            for k in range(K):
                prob += load(k, 1.0) - r[k] + cands[k].replicas_per_node * m[k] <= 0, f"zone_{k}"

    if tie_break:
        # deterministic tie-break inside one solve: a tiny per-node charge, growing with the
        # candidate's rank in name order, prefers fewer nodes and then earlier names among
        # plans whose cost differs by less than TIE_EPS per node
        prob.setObjective(cost + pulp.lpSum(TIE_EPS * (1 + (k + 1) / (K + 1)) * n[k] for k in range(K)))
    if cutoff is not None:
        prob += cost <= cutoff + COST_TOL, "cutoff"
    status = _run(prob, make_solver(solver, time_limit, gap_abs=TIE_EPS / 10 if tie_break else None))
    if status in ("infeasible", "unknown"):
        return WindowSolution(status=status, seconds=time.perf_counter() - t0)
    best = sum(cands[k].price * _int(n[k]) for k in range(K))
    bound = _bound(prob, solver, status, best)
    nodes = [_int(v) for v in n]
    reps = [_int(v) for v in r]
    if p.max_replicas is None:
        reps = [nodes[k] * cands[k].replicas_per_node for k in range(K)]
    routing = [[0.0] * K for _ in p.classes]
    for (ci, k), var in x.items():
        routing[ci][k] = max(0.0, float(var.value() or 0.0))
    final_cost = sum(cands[k].price * nodes[k] for k in range(K))
    return WindowSolution(status=status, nodes=nodes, replicas=reps, routing=routing, cost=final_cost, bound=bound, seconds=time.perf_counter() - t0)


def _int(v: Any) -> int:
    val = v.value()
    return 0 if val is None else round(val)


def _run(prob: Any, solver: Any) -> str:
    import pulp

    prob.solve(solver)
    sol = prob.sol_status
    if sol == pulp.LpSolutionOptimal:
        return "optimal"
    if sol == pulp.LpSolutionIntegerFeasible:
        return "feasible"
    if sol in (pulp.LpSolutionInfeasible, pulp.LpSolutionUnbounded) or prob.status == pulp.LpStatusInfeasible:
        return "infeasible"
    return "unknown"


def _bound(prob: Any, solver: str, status: str, best: float) -> float | None:
    if status == "optimal":
        return best
    if solver == "highs":
        try:
            return float(prob.solverModel.getInfo().mip_dual_bound)
        except Exception:  # pragma: no cover - depends on highspy internals
            return None
    return None
