"""The per-window mixed-integer program (PuLP; HiGHS by default, CBC as fallback).

Every constraint in the formulation is per time window except the budget (a mean over
windows), so windows are solved independently and the budget is checked afterwards (the sum
of per-window optima is the optimum of the mean). See docs/optimizer.md for the formulation.

Demand enters the model only through right-hand sides and bounds (routing is stated in
requests/s, y_ck = D_c x_ck), so :class:`WindowModel` builds the PuLP model once per candidate
list and re-solves it for each window: with HiGHS it drives the ``highspy.Highs`` model that
PuLP's own ``pulp.HiGHS`` built (``createAndConfigureSolver`` + ``buildSolverModel``) and only
changes row bounds, column bounds and the big-M coefficients between windows; with CBC it
updates the PuLP constraints' constants and bounds and calls ``prob.solve`` again.
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
FEAS_TOL = 1e-7  # absolute slack (requests/s) allowed when re-checking a plan for a busier window


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
    # routing: service -- one Service spreads requests evenly over every replica (kube-proxy),
    # so every replica takes D(1+h)/R of the traffic with the same class mix; False: weighted
    # routing (gateway-api), traffic split per class in any proportion
    even: bool = False


@dataclass(frozen=True)
class SolveStat:
    """One solver run: the model's size and how long the solver took (``optimize --json``)."""

    kind: str  # milp (a window's plan) | lp (routing over a fixed plan)
    rows: int
    columns: int
    integers: int
    nonzeros: int
    seconds: float
    status: str
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile (HiGHS runs in it; CBC does not)


def _pulp_stat(kind: str, prob: Any, seconds: float, status: str, cpu: float) -> SolveStat:
    cols = prob.variables()
    nz = sum(len(c) for c in prob.constraints.values())
    return SolveStat(kind, len(prob.constraints), len(cols), sum(1 for v in cols if v.cat == "Integer"), nz, seconds, status, cpu)


@dataclass
class WindowSolution:
    status: str  # optimal | feasible | infeasible | unknown
    nodes: list[int] = field(default_factory=list)
    replicas: list[int] = field(default_factory=list)
    routing: list[list[float]] = field(default_factory=list)  # [class][candidate]
    cost: float = 0.0
    bound: float | None = None
    seconds: float = 0.0
    reused: bool = False  # the plan of a quieter window, checked feasible for this one
    demand: tuple[float, ...] = ()  # the per-class demand it was found for


def make_solver(name: SolverName, time_limit: float, gap_rel: float = 1e-7, gap_abs: float | None = None) -> Any:
    import pulp

    tl = max(1.0, float(time_limit))
    if name == "cbc":
        path = shutil.which("cbc") or pulp.PULP_CBC_CMD.pulp_cbc_path
        return pulp.COIN_CMD(msg=False, timeLimit=tl, gapRel=gap_rel, gapAbs=gap_abs, path=path)
    # HiGHS's root reduced-cost heuristic (a sub-MIP over the columns the root LP favours) took
    # 30-45 % of the solve on the Mélange anchor and the zone cases and never found the plan
    # first there (docs/benchmarks/speed.md); switching it off changes no proof, only the search
    return pulp.HiGHS(msg=False, timeLimit=tl, gapRel=gap_rel, gapAbs=gap_abs, mip_heuristic_run_root_reduced_cost=False)


def even_need(p: WindowProblem, demand: Sequence[float]) -> list[float | None]:
    """Replicas candidate k alone needs for ``demand`` (no headroom) under an even split.

    One Service sends every replica the same share of every class, so a replica of k at R
    replicas in total carries sum_c D_c/(R a_ck) of its capacity: R >= sum_c D_c/a_ck.
    None when k cannot serve a class with demand at the peak (it would receive it too).
    """
    active = [ci for ci, d in enumerate(p.demand) if d > 0]
    out: list[float | None] = []
    for k in p.candidates:
        caps = [k.cap(p.classes[ci]) for ci in active]
        if any(not c for c in caps):
            out.append(None)
            continue
        out.append(sum(float(demand[ci]) / (k.cap(p.classes[ci]) or 1.0) for ci in active))
    return out


def node_bounds(p: WindowProblem, demand: Sequence[float]) -> list[int]:
    """Upper bound on nodes per candidate: twice what it alone would need, plus spares.

    Under an even split a type may be mixed with slower ones, so its bound is taken from the
    slowest usable type's need (twice, plus two of the largest node's replicas for n+1/zone).
    """
    if p.even:
        needs = even_need(p, demand)
        usable = [v for v in needs if v is not None]
        if not usable:
            return [0] * len(needs)
        top = max(usable) * (1 + p.headroom)
        qmax = max(k.replicas_per_node for k, v in zip(p.candidates, needs, strict=True) if v is not None)
        return [0 if v is None else math.ceil((2 * top + 2 * qmax + p.min_replicas) / k.replicas_per_node - 1e-9) + 1 for k, v in zip(p.candidates, needs, strict=True)]
    ub = []
    for k in p.candidates:
        need = 0.0
        for c, d in zip(p.classes, demand, strict=True):
            cap = k.cap(c)
            if cap and d > 0:
                need += d * (1 + p.headroom) / cap
        rpn = k.replicas_per_node
        ub.append(2 * math.ceil(need / rpn - 1e-9) + 2 + math.ceil(p.min_replicas / rpn))
    return ub


class WindowModel:
    """The window MILP for one candidate list, built once and re-solved per demand vector.

    ``p.demand`` is the largest demand the model will be asked about (the peak window): it
    decides which classes are active and whether the exact single-class n+1/zone forms apply.
    """

    def __init__(self, p: WindowProblem, *, solver: SolverName = "highs", tie_break: bool = True) -> None:
        import pulp

        self.p = p
        self.solver_name: SolverName = solver
        self.tie_break = tie_break
        cands = p.candidates
        K = len(cands)
        self.K = K
        peak_ub = node_bounds(p, p.demand)
        prob = pulp.LpProblem("window", pulp.LpMinimize)
        self.prob = prob
        self.n = [prob.add_variable(f"n{k}", lowBound=0, upBound=peak_ub[k], cat="Integer") for k in range(K)]
        self.r = [prob.add_variable(f"r{k}", lowBound=0, upBound=peak_ub[k] * cands[k].replicas_per_node, cat="Integer") for k in range(K)]
        self.active = [ci for ci, d in enumerate(p.demand) if d > 0]
        self.single = len(self.active) == 1
        self.y: dict[tuple[int, int], Any] = {}
        for ci in self.active if not p.even else []:
            cls = p.classes[ci]
            for k in range(K):
                if cands[k].cap(cls):
                    self.y[ci, k] = prob.add_variable(f"y{ci}_{k}", lowBound=0)
        self.cost_expr = pulp.LpAffineExpression([(self.n[k], cands[k].price) for k in range(K)])
        if tie_break:
            # deterministic tie-break inside one solve: a tiny per-node charge, growing with the
            # candidate's rank in name order, prefers fewer nodes and then earlier names among
            # plans whose cost differs by less than TIE_EPS per node
            prob.setObjective(pulp.LpAffineExpression([(self.n[k], cands[k].price + TIE_EPS * (1 + (k + 1) / (K + 1))) for k in range(K)]))
        else:
            prob.setObjective(self.cost_expr)

        def add(expr: list[tuple[Any, float]], sense: int, name: str) -> Any:
            con = pulp.LpConstraint(pulp.LpAffineExpression(expr), sense, name, 0.0)
            prob.addConstraint(con, name)
            return con

        LE, GE = pulp.LpConstraintLE, pulp.LpConstraintGE
        # without max_replicas, every node runs its full replicas_per_node (more replicas never
        # hurt: every row is monotone in r), so r = q n exactly and presolve substitutes r out
        pack = LE if p.max_replicas is not None else pulp.LpConstraintEQ
        for k in range(K):
            add([(self.r[k], 1.0), (self.n[k], -float(cands[k].replicas_per_node))], pack, f"pack{k}")
        if p.min_replicas > 0:
            add([(v, 1.0) for v in self.r], GE, "min_replicas").constant = -float(p.min_replicas)
        if p.max_replicas is not None:
            add([(v, 1.0) for v in self.r], LE, "max_replicas").constant = -float(p.max_replicas)
        for qi, q in enumerate(p.quotas):
            add([(self.n[k], float(cands[k].gpus_per_node)) for k in q.members], LE, f"quota{qi}").constant = -float(q.limit)
        self.route: dict[int, Any] = {}
        self.spot: dict[int, Any] = {}
        self.spot_share = 0.0
        if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
            self.spot_share = 1 - p.spot_max_fraction
        self.total_rows: list[Any] = []  # rows whose right-hand side is the total demand
        # routing: service: capacity cuts (row, factor): sum_k mcap_k x_k >= factor x total demand
        # with mcap_k the requests/s a replica of k takes at the traffic's class mix
        self.cap_rows: list[tuple[Any, float]] = []
        self.mcap: list[float] = []
        self.used: list[Any] = []
        self.need_rows: dict[int, Any] = {}
        self.any_row: Any = None
        self.u: list[Any] = []
        self.m: list[Any] = []
        if p.even:
            self._build_even(add, peak_ub)
        else:
            self._build_weighted(add, peak_ub)
        self.cutoff_row = add(list(self.cost_expr.items()), LE, "cutoff")
        self.cutoff_row.constant = -1e30  # inactive until a cutoff is set
        self._highs: Any = None
        self._solver: Any = None
        self.stats: list[SolveStat] = []  # one per solver run, in order

    def _build_even(self, add: Any, peak_ub: list[int]) -> None:
        """routing: service. theta = max over types in use of the replicas each would need alone.

        u_k (k in use) >= n_k/U_k; theta >= need_k u_k (need_k per window, a coefficient);
        (1+h) theta <= R; spot: (1-f)(1+h) theta <= R_on-demand; n+1: theta <= R - Q with
        Q >= q_k u_k (the largest node in use); zone: theta <= R - L with L >= the replicas one
        zone of a region holds (sum of q_k m_k, Z_k m_k >= n_k). theta only appears where it
        hurts, so it equals the max at the optimum: exact, and only K coefficients change.
        """
        import pulp

        p, cands, K = self.p, self.p.candidates, self.K
        LE, GE = pulp.LpConstraintLE, pulp.LpConstraintGE
        h = p.headroom
        self.u = [self.prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
        self.used = [add([(self.n[k], 1.0), (self.u[k], -float(peak_ub[k]))], LE, f"used{k}") for k in range(K)]
        theta = self.prob.add_variable("theta", lowBound=0)
        self.theta = theta
        needs = even_need(p, p.demand)
        for k in range(K):
            if needs[k] is not None:
                self.need_rows[k] = add([(theta, 1.0), (self.u[k], -float(needs[k] or 0.0))], GE, f"need{k}")
        R = [(v, -1.0) for v in self.r]
        add([(theta, 1 + h), *R], LE, "cover")
        # some replica must exist when there is demand (theta is 0 when no type is in use)
        self.any_row = add([(v, 1.0) for v in self.r], GE, "serve")
        if self.spot_share > 0:
            od = [(self.r[k], -1.0) for k in range(K) if cands[k].capacity_type == "on-demand"]
            add([(theta, self.spot_share * (1 + h)), *od], LE, "spot")
        if p.redundancy == "n+1":
            q = self.prob.add_variable("q_lost", lowBound=0)
            for k in range(K):
                add([(q, 1.0), (self.u[k], -float(cands[k].replicas_per_node))], GE, f"lostnode{k}")
            add([(theta, 1.0), *R, (q, 1.0)], LE, "nplus1")
        elif p.redundancy == "zone":
            self.m = [self.prob.add_variable(f"m{k}", lowBound=0, upBound=peak_ub[k], cat="Integer") for k in range(K)]
            for k in range(K):
                add([(self.m[k], float(cands[k].zones)), (self.n[k], -1.0)], GE, f"zonemax{k}")
            lz = self.prob.add_variable("zone_lost", lowBound=0)
            for ri, reg in enumerate(sorted({(c.row.provider, c.row.region) for c in cands})):
                lost = [(self.m[k], -float(cands[k].replicas_per_node)) for k in range(K) if (cands[k].row.provider, cands[k].row.region) == reg]
                add([(lz, 1.0), *lost], GE, f"lostzone{ri}")
            add([(theta, 1.0), *R, (lz, 1.0)], LE, "zone")
        self._even_cuts(add)

    def _even_cuts(self, add: Any) -> None:
        """Valid capacity cuts that give the even model the LP bound of the weighted one.

        Every type k in use has need_k <= theta, i.e. mcap_k = D/need_k >= D/theta (D the total
        demand): each replica of a type in use can take the even share. Summing over replicas:
        sum_k mcap_k r_k >= (1+h) D from (1+h) theta <= R, and the same over on-demand replicas
        for spot. With replicas = replicas_per_node x nodes (no max_replicas, so more replicas
        never hurt and the plan's replicas are exactly that) and m_k the fewest nodes of k in
        one zone, the survivors of a lost node or zone give: sum_j mcap_j q_j n_j - mcap_k q_k u_k
        >= D (n+1) and sum_j mcap_j q_j n_j - sum_{k in region} mcap_k q_k m_k >= D (zone).
        No plan is cut off (the n, costs and tie-break of every plan stay), only the relaxation
        tightens, so B&B stops far sooner.
        """
        import pulp

        p, cands, K = self.p, self.p.candidates, self.K
        GE = pulp.LpConstraintGE
        self.mcap = _mcap(p, p.demand)
        mc = self.mcap
        h = p.headroom
        self.cap_rows.append((add([(self.r[k], mc[k]) for k in range(K) if mc[k] > 0], GE, "capcover"), 1 + h))
        if self.spot_share > 0:
            od = [(self.r[k], mc[k]) for k in range(K) if mc[k] > 0 and cands[k].capacity_type == "on-demand"]
            self.cap_rows.append((add(od, GE, "capspot"), self.spot_share * (1 + h)))
        if p.max_replicas is not None:
            return
        caps = [(self.n[k], mc[k] * cands[k].replicas_per_node) for k in range(K) if mc[k] > 0]
        if p.redundancy == "n+1":
            for k in range(K):
                if mc[k] > 0:
                    self.cap_rows.append((add([*caps, (self.u[k], -mc[k] * cands[k].replicas_per_node)], GE, f"capnode{k}"), 1.0))
        elif p.redundancy == "zone":
            for ri, reg in enumerate(sorted({(c.row.provider, c.row.region) for c in cands})):
                lost = [(self.m[k], -mc[k] * cands[k].replicas_per_node) for k in range(K) if mc[k] > 0 and (cands[k].row.provider, cands[k].row.region) == reg]
                self.cap_rows.append((add([*caps, *lost], GE, f"capzone{ri}"), 1.0))

    def _build_weighted(self, add: Any, peak_ub: list[int]) -> None:
        """routing: gateway-api. Continuous routing per class (see docs/optimizer.md)."""
        import pulp

        p, cands, K, prob = self.p, self.p.candidates, self.K, self.prob
        LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
        h = p.headroom
        # demand-dependent rows: (constraint, class index or -1 for the total)
        self.route = {ci: add([(self.y[ci, k], 1.0) for k in range(K) if (ci, k) in self.y], EQ, f"route{ci}") for ci in self.active}
        for k in range(K):
            terms = [(self.y[ci, k], (1 + h) / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in self.active if (ci, k) in self.y]
            add([*terms, (self.r[k], -1.0)], LE, f"load{k}")
        if self.spot_share > 0:
            for ci in self.active:
                od = [(self.y[ci, k], 1.0) for k in range(K) if (ci, k) in self.y and cands[k].capacity_type == "on-demand"]
                self.spot[ci] = add(od, GE, f"spot{ci}")
        if p.redundancy == "n+1" and self.active:
            self.u = [prob.add_variable(f"u{k}", cat="Binary") for k in range(K)]
            self.used = [add([(self.n[k], 1.0), (self.u[k], -float(peak_ub[k]))], LE, f"used{k}") for k in range(K)]
            if self.single:
                cls = p.classes[self.active[0]]
                capsum = [(self.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
                for k in range(K):
                    ck = cands[k].cap(cls) or 0.0
                    self.total_rows.append(add([*capsum, (self.u[k], -ck * cands[k].replicas_per_node)], GE, f"nplus1_{k}"))
            else:
                for k in range(K):
                    terms = [(self.y[ci, k], 1.0 / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in self.active if (ci, k) in self.y]
                    add([*terms, (self.r[k], -1.0), (self.u[k], float(cands[k].replicas_per_node))], LE, f"nplus1_{k}")
        elif p.redundancy == "zone" and self.active:
            self.m = [prob.add_variable(f"m{k}", lowBound=0, upBound=peak_ub[k], cat="Integer") for k in range(K)]
            for k in range(K):
                add([(self.m[k], float(cands[k].zones)), (self.n[k], -1.0)], GE, f"zonemax{k}")
            if self.single:
                cls = p.classes[self.active[0]]
                capsum = [(self.r[j], cands[j].cap(cls) or 0.0) for j in range(K)]
                regions = sorted({(c.row.provider, c.row.region) for c in cands})
                for ri, reg in enumerate(regions):
                    lost = [(self.m[k], -(cands[k].cap(cls) or 0.0) * cands[k].replicas_per_node) for k in range(K) if (cands[k].row.provider, cands[k].row.region) == reg]
                    self.total_rows.append(add([*capsum, *lost], GE, f"zone_{ri}"))
            else:
                for k in range(K):
                    terms = [(self.y[ci, k], 1.0 / (cands[k].cap(p.classes[ci]) or 1.0)) for ci in self.active if (ci, k) in self.y]
                    add([*terms, (self.r[k], -1.0), (self.m[k], float(cands[k].replicas_per_node))], LE, f"zone_{k}")

    # -- per-window updates -----------------------------------------------------------------

    def _set(self, demand: Sequence[float], cutoff: float | None) -> list[int]:
        """Point the PuLP model at ``demand``; return the node bounds used."""
        p = self.p
        cands = p.candidates
        ub = node_bounds(p, demand)
        if cutoff is not None:  # a node dearer than a known plan can never be used
            ub = [0 if cands[k].price > cutoff + COST_TOL else ub[k] for k in range(self.K)]
        for ci, con in self.route.items():
            con.constant = -float(demand[ci])
        for ci, con in self.spot.items():
            con.constant = -self.spot_share * float(demand[ci])
        total = float(sum(demand))
        for con in self.total_rows:
            con.constant = -total
        if self.cap_rows:
            mc = _mcap(p, demand)
            if any(abs(a - b) > 1e-10 * max(1.0, b) for a, b in zip(mc, self.mcap, strict=True)):
                self._rescale_caps(mc)
            for con, f in self.cap_rows:  # a hair below: mcap is the peak's, exact up to rounding
                con.constant = -f * total * (1 - 1e-8)
        if self.any_row is not None:
            self.any_row.constant = -1.0 if total > 0 else 0.0
        if self.need_rows:
            needs = even_need(p, demand)
            for k, con in self.need_rows.items():
                con.expr[self.u[k]] = -float(needs[k] or 0.0)
        for k in range(self.K):
            self.n[k].upBound = ub[k]
            self.r[k].upBound = ub[k] * cands[k].replicas_per_node
            if self.m:
                self.m[k].upBound = ub[k]
            if self.used:
                self.used[k].expr[self.u[k]] = -float(ub[k])
        self.cutoff_row.constant = -(cutoff + COST_TOL) if cutoff is not None else -1e30
        return ub

    def _rescale_caps(self, mc: list[float]) -> None:
        """Demand whose class mix differs from the peak's: rewrite the cuts' coefficients."""
        old = self.mcap
        for con, _ in self.cap_rows:
            for var, coef in list(con.expr.items()):
                k = int(var.name[1:])
                if old[k] > 0:
                    con.expr[var] = coef / old[k] * mc[k]
                    if self._highs is not None:
                        self._highs.changeCoeff(con.index, var.index, con.expr[var])
        self.mcap = [mc[k] if old[k] > 0 else 0.0 for k in range(self.K)]

    def _push_highs(self) -> None:
        """Copy the changed bounds and coefficients into the highspy model PuLP built."""
        import highspy
        import numpy as np

        h = self._highs
        inf = highspy.kHighsInf
        rows = [*self.route.values(), *self.spot.values(), *self.total_rows, *(c for c, _ in self.cap_rows), self.cutoff_row, *([self.any_row] if self.any_row is not None else [])]
        for con in rows:
            lb, ub = con.getLb(), con.getUb()
            lb = -inf if lb is None or lb <= -1e29 else lb
            ub = inf if ub is None or ub >= 1e29 else ub
            h.changeRowBounds(con.index, lb, ub)
        cols = [*self.n, *self.r, *self.m]
        idx = np.array([v.index for v in cols], dtype=np.int32)
        lo = np.array([v.lowBound for v in cols], dtype=np.float64)
        hi = np.array([v.upBound for v in cols], dtype=np.float64)
        h.changeColsBounds(len(cols), idx, lo, hi)
        for k, con in enumerate(self.used):
            h.changeCoeff(con.index, self.u[k].index, con.expr[self.u[k]])
        for k, con in self.need_rows.items():
            h.changeCoeff(con.index, self.u[k].index, con.expr[self.u[k]])

    def _run(self, time_limit: float) -> str:
        t0, c0 = time.perf_counter(), time.process_time()
        status = self._run_solver(time_limit)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if self._highs is not None:
            h = self._highs
            ints = len(self.n) + len(self.r) + len(self.u) + len(self.m)
            self.stats.append(SolveStat("milp", h.getNumRow(), h.getNumCol(), ints, h.getNumNz(), seconds, status, cpu))
        else:
            self.stats.append(_pulp_stat("milp", self.prob, seconds, status, cpu))
        return status

    def _run_solver(self, time_limit: float) -> str:
        import pulp

        prob = self.prob
        if self.solver_name != "highs":
            prob.solve(make_solver(self.solver_name, time_limit, gap_abs=TIE_EPS / 10 if self.tie_break else None))
        else:
            if self._highs is None:
                solver = make_solver("highs", time_limit, gap_abs=TIE_EPS / 10 if self.tie_break else None)
                solver.createAndConfigureSolver(prob)
                solver.buildSolverModel(prob)
                self._solver, self._highs = solver, prob.solverModel
            else:
                self._push_highs()
                self._highs.setOptionValue("time_limit", max(1.0, float(time_limit)))
            run_interruptible(self._highs)
            status, sol_status = self._solver.findSolutionValues(prob)
            prob.assignStatus(status, sol_status)
        sol = prob.sol_status
        if sol == pulp.LpSolutionOptimal:
            return "optimal"
        if sol == pulp.LpSolutionIntegerFeasible:
            return "feasible"
        if sol in (pulp.LpSolutionInfeasible, pulp.LpSolutionUnbounded) or prob.status == pulp.LpStatusInfeasible:
            return "infeasible"
        return "unknown"

    def solve(self, demand: Sequence[float], *, time_limit: float = 60.0, cutoff: float | None = None) -> WindowSolution:
        """Cheapest node counts for ``demand``; then (tie_break) fewest nodes, then earliest names.

        ``cutoff``: a known upper bound on the cost (e.g. a feasible plan for a busier window).
        """
        t0 = time.perf_counter()
        p, cands, K = self.p, self.p.candidates, self.K
        self._set(demand, cutoff)
        status = self._run(time_limit)
        if status in ("infeasible", "unknown"):
            return WindowSolution(status=status, seconds=time.perf_counter() - t0)
        nodes = [_int(v) for v in self.n]
        reps = [_int(v) for v in self.r]
        best = sum(cands[k].price * nodes[k] for k in range(K))
        bound = self._bound(status, best)
        if p.max_replicas is None:
            reps = [nodes[k] * cands[k].replicas_per_node for k in range(K)]
        routing = [[0.0] * K for _ in p.classes]
        for (ci, k), var in self.y.items():
            d = demand[ci]
            routing[ci][k] = max(0.0, float(var.value() or 0.0)) / d if d > 0 else 0.0
        if p.even:
            routing = even_routing(p, reps, demand)
        return WindowSolution(status=status, nodes=nodes, replicas=reps, routing=routing, cost=best, bound=bound, seconds=time.perf_counter() - t0, demand=tuple(demand))

    def _bound(self, status: str, best: float) -> float | None:
        if status == "optimal":
            return best
        if self.solver_name == "highs":
            try:
                return float(self.prob.solverModel.getInfo().mip_dual_bound)
            except Exception:  # pragma: no cover - depends on highspy internals
                return None
        return None

    # -- re-using a quieter window's plan -----------------------------------------------------

    def scale_up(self, sol: WindowSolution, demand: Sequence[float]) -> WindowSolution | None:
        """A feasible (not optimal) plan for ``demand`` from a quieter window's plan, or None.

        Every node count is multiplied by the demand ratio and rounded up; the result is
        checked (quotas, replica bounds, then :meth:`reroute`). Its cost is a valid cutoff.
        """
        p, cands = self.p, self.p.candidates
        before, after = float(sum(sol.demand)), float(sum(demand))
        if sol.status not in ("optimal", "feasible") or before <= 0 or after <= before:
            return None
        lam = after / before
        nodes = [math.ceil(n * lam - 1e-9) for n in sol.nodes]
        reps = [nodes[k] * cands[k].replicas_per_node for k in range(self.K)]
        if p.max_replicas is not None:
            reps = [min(reps[k], math.ceil(sol.replicas[k] * lam - 1e-9)) for k in range(self.K)]
            if sum(reps) > p.max_replicas:
                return None
        for q in p.quotas:
            if sum(cands[k].gpus_per_node * nodes[k] for k in q.members) > q.limit:
                return None
        cost = sum(cands[k].price * nodes[k] for k in range(self.K))
        trial = WindowSolution(status="feasible", nodes=nodes, replicas=reps, cost=cost)
        out = self.reroute(trial, demand)
        if out is None:
            return None
        out.status, out.bound, out.reused = "feasible", None, False
        return out

    def reroute(self, sol: WindowSolution, demand: Sequence[float], *, reused: bool = True) -> WindowSolution | None:
        """``sol``'s nodes and replicas with the most balanced routing that serves ``demand``.

        None when no routing serves ``demand`` with these nodes. The routing minimises the
        largest utilisation of any allocation in use (so one class's traffic is split in
        proportion to capacity where the constraints allow); every window's routing, reused
        or freshly solved, goes through it, so routing does not depend on solver internals.

        Every constraint is monotone in demand, so the optimal cost never falls as demand rises:
        when the optimal plan of a quieter window is still feasible for a busier one it is
        optimal there too (and the tie-break ranks it first, as the busier window's feasible
        set is a subset of the quieter one's). Feasibility with the node and replica counts fixed
        is a small LP over the routing of the candidates in use (PuLP + the same solver).
        """
        import pulp

        t0 = time.perf_counter()
        p, cands = self.p, self.p.candidates
        if p.even:
            if not even_feasible(p, sol.nodes, sol.replicas, demand):
                return None
            return WindowSolution(status=sol.status, nodes=list(sol.nodes), replicas=list(sol.replicas), routing=even_routing(p, sol.replicas, demand), cost=sol.cost, bound=sol.bound, seconds=time.perf_counter() - t0, reused=reused, demand=tuple(demand))
        used = [k for k in range(self.K) if sol.nodes[k] > 0]
        total = float(sum(demand))
        h = p.headroom
        single_cls = p.classes[self.active[0]] if self.single else None
        if single_cls is not None:
            capsum = sum((cands[k].cap(single_cls) or 0.0) * sol.replicas[k] for k in used)
            if p.redundancy == "n+1":
                worst = max(((cands[k].cap(single_cls) or 0.0) * cands[k].replicas_per_node for k in used), default=0.0)
                if capsum - worst < total - FEAS_TOL:
                    return None
            elif p.redundancy == "zone":
                for reg in sorted({(cands[k].row.provider, cands[k].row.region) for k in used}):
                    lost = sum((cands[k].cap(single_cls) or 0.0) * cands[k].replicas_per_node * math.ceil(sol.nodes[k] / cands[k].zones) for k in used if (cands[k].row.provider, cands[k].row.region) == reg)
                    if capsum - lost < total - FEAS_TOL:
                        return None
        lp = pulp.LpProblem("reroute", pulp.LpMinimize)
        y = {(ci, k): lp.add_variable(f"y{ci}_{k}", lowBound=0) for (ci, k) in self.y if k in used and demand[ci] > 0}
        # balanced routing: minimise the largest utilisation t of any allocation (with
        # headroom); a negligible charge by name rank makes ties deterministic
        t = lp.add_variable("t", lowBound=0, upBound=1)
        tiny = 1e-7 / max(total, 1e-9) / (self.K + 1)
        lp.setObjective(pulp.LpAffineExpression([(t, 1.0), *[(v, tiny * (k + 1)) for (ci, k), v in y.items()]]))
        for ci in self.active:
            if demand[ci] <= 0:
                continue
            terms = [(v, 1.0) for (c, _), v in y.items() if c == ci]
            if not terms:
                return None
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"route{ci}", float(demand[ci])))
            if self.spot:
                od = [(v, 1.0) for (c, k), v in y.items() if c == ci and cands[k].capacity_type == "on-demand"]
                lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(od), pulp.LpConstraintGE, f"spot{ci}", self.spot_share * float(demand[ci])))
        for k in used:
            terms = [(v, 1.0 / (cands[k].cap(p.classes[c]) or 1.0)) for (c, kk), v in y.items() if kk == k]
            lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression([*[(v, (1 + h) * a) for v, a in terms], (t, -float(sol.replicas[k]))]), pulp.LpConstraintLE, f"load{k}", 0.0))
            if not self.single and p.redundancy in ("n+1", "zone"):
                spare = cands[k].replicas_per_node * (1 if p.redundancy == "n+1" else math.ceil(sol.nodes[k] / cands[k].zones))
                lp.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"spare{k}", float(sol.replicas[k] - spare)))
        if not y:
            return None
        t_lp, c_lp = time.perf_counter(), time.process_time()
        lp.solve(make_solver(self.solver_name, 60.0) if self.solver_name != "highs" else _lp_solver())
        ok = lp.sol_status == pulp.LpSolutionOptimal
        self.stats.append(_pulp_stat("lp", lp, time.perf_counter() - t_lp, "optimal" if ok else "infeasible", time.process_time() - c_lp))
        if not ok:
            return None
        routing = [[0.0] * self.K for _ in p.classes]
        for (ci, k), v in y.items():
            routing[ci][k] = max(0.0, float(v.value() or 0.0)) / demand[ci]
        return WindowSolution(status=sol.status, nodes=list(sol.nodes), replicas=list(sol.replicas), routing=routing, cost=sol.cost, bound=sol.bound, seconds=time.perf_counter() - t0, reused=reused, demand=tuple(demand))


def _mcap(p: WindowProblem, demand: Sequence[float]) -> list[float]:
    """Requests/s one replica of each candidate takes at ``demand``'s class mix (0: cannot)."""
    total = float(sum(demand))
    return [total / v if v and total > 0 else 0.0 for v in even_need(p, demand)]


def run_interruptible(h: Any) -> None:
    """Run HiGHS in its own (daemon) thread so that Ctrl-C reaches Python within 0.1 s.

    ``Highs.run()`` holds the main thread inside C++ for the whole solve, so SIGINT waited for
    it (over 40 s seen); highspy's own ``solve()`` swallows the KeyboardInterrupt. Here the main
    thread polls, asks HiGHS to stop (user-interrupt callback) and re-raises.
    """
    h.HandleUserInterrupt = True
    h.startSolve()
    try:
        while not h.wait(0.1)[0]:
            pass
    except KeyboardInterrupt:
        h.cancelSolve()
        raise


def even_routing(p: WindowProblem, replicas: Sequence[int], demand: Sequence[float]) -> list[list[float]]:
    """routing: service: every class reaches replica type k in proportion r_k / R."""
    total = sum(replicas)
    return [[(r / total if total and d > 0 else 0.0) for r in replicas] for d in demand]


def even_feasible(p: WindowProblem, nodes: Sequence[int], replicas: Sequence[int], demand: Sequence[float]) -> bool:
    """Do these node and replica counts serve ``demand`` when one Service splits it evenly?

    The same rules as the even model: with theta = the largest need_k (replicas type k alone
    would need) over the types in use, (1+h) theta <= R; spot: (1-f)(1+h) theta <= R on
    on-demand; n+1: theta <= R - (the largest node's replicas); zone: theta <= R - (the most
    replicas one zone of one region holds, ceil(n_k/Z_k) nodes of each type there). Quotas and
    replica bounds are the caller's.
    """
    cands = p.candidates
    used = [k for k in range(len(cands)) if nodes[k] > 0]
    needs = even_need(p, demand)
    if any(needs[k] is None for k in used):
        return False
    theta = max((needs[k] or 0.0 for k in used), default=0.0)
    R = float(sum(replicas))
    tol = FEAS_TOL * max(1.0, R)
    if (1 + p.headroom) * theta > R + tol or p.min_replicas > R or (sum(demand) > 0 and R < 1):
        return False
    if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
        od = float(sum(replicas[k] for k in used if cands[k].capacity_type == "on-demand"))
        if (1 - p.spot_max_fraction) * (1 + p.headroom) * theta > od + tol:
            return False
    if p.redundancy == "n+1" and used:
        if theta > R - max(cands[k].replicas_per_node for k in used) + tol:
            return False
    elif p.redundancy == "zone" and used:
        lost: dict[tuple[str, str], int] = {}
        for k in used:
            key = (cands[k].row.provider, cands[k].row.region)
            lost[key] = lost.get(key, 0) + cands[k].replicas_per_node * math.ceil(nodes[k] / cands[k].zones)
        if theta > R - max(lost.values()) + tol:
            return False
    return True


def solve_windows(base: WindowProblem, demands: Sequence[tuple[float, ...]], *, solver: SolverName = "highs", deadline: float | None = None, tie_break: bool = True, stats: list[SolveStat] | None = None) -> dict[tuple[float, ...], WindowSolution]:
    """Solve every distinct demand vector in ``demands`` (per class, one per window).

    ``base.demand`` must be the largest of them. One :class:`WindowModel` serves all windows.
    Windows go quietest first: every constraint is monotone in demand, so the optimal cost never
    falls as demand rises, and a quieter window's optimal plan that still fits a busier window
    is optimal there too (:meth:`WindowModel.reroute` checks the fit with a small routing LP).
    Otherwise the quieter plan scaled up to the new demand (:meth:`WindowModel.scale_up`) is a
    feasible plan whose cost is passed to the MILP as a cutoff. After an infeasible or
    unsolved window the busier ones are marked the same (they cannot do better).
    """
    end = deadline if deadline is not None else time.perf_counter() + 60.0
    model = WindowModel(base, solver=solver, tie_break=tie_break)
    out: dict[tuple[float, ...], WindowSolution] = {}
    prev: WindowSolution | None = None
    failed = ""
    for demand in sorted(set(demands), key=lambda d: (sum(d), d)):
        if failed:
            out[demand] = WindowSolution(status=failed, demand=demand)
            continue
        # only a plan proven optimal for a demand no larger in every class may be re-used
        reusable = prev is not None and prev.status == "optimal" and all(b >= a for a, b in zip(prev.demand, demand, strict=True))
        sol = model.reroute(prev, demand) if prev is not None and reusable else None
        if sol is None:
            start = model.scale_up(prev, demand) if prev is not None else None
            sol = model.solve(demand, time_limit=max(1.0, end - time.perf_counter()), cutoff=start.cost if start else None)
            if sol.status == "infeasible" and start is not None:  # numerically at the cutoff
                sol = model.solve(demand, time_limit=max(1.0, end - time.perf_counter()))
            if sol.status in ("optimal", "feasible"):
                sol = model.reroute(sol, demand, reused=False) or sol
        out[demand] = sol
        if sol.status not in ("optimal", "feasible"):
            failed = sol.status
        prev = sol
    if stats is not None:
        stats.extend(model.stats)
    return out


def _lp_solver() -> Any:
    import pulp

    return pulp.HiGHS(msg=False, timeLimit=60.0)


def solve_window(p: WindowProblem, *, solver: SolverName = "highs", time_limit: float = 60.0, tie_break: bool = True, cutoff: float | None = None) -> WindowSolution:
    """One window: build the model and solve it for ``p.demand``."""
    return WindowModel(p, solver=solver, tie_break=tie_break).solve(p.demand, time_limit=time_limit, cutoff=cutoff)


def _int(v: Any) -> int:
    val = v.value()
    return 0 if val is None else round(val)
