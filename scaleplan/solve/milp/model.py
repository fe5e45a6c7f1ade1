"""The window MILP re-solved per demand window, and the search over a day's windows.

Demand enters the model only through right-hand sides and bounds (routing is stated in
requests/s, y_ck = D_c x_ck), so :class:`WindowModel` builds the PuLP model once per candidate
list (:class:`Formulation` plus ``even.build_even`` or ``weighted.build_weighted``) and
re-solves it for each window: with HiGHS it drives the ``highspy.Highs`` model that PuLP's own
``pulp.HiGHS`` built (``createAndConfigureSolver`` + ``buildSolverModel``) and only changes row
bounds, column bounds and the big-M coefficients between windows; with CBC it updates the PuLP
constraints' constants and bounds and calls ``prob.solve`` again. A quieter window's plan is
re-used (:meth:`WindowModel.reroute`) or scaled up into a cutoff (:meth:`WindowModel.scale_up`)
by :func:`solve_windows`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from scaleplan.solve.milp.even import build_even, even_feasible, even_routing, spot_pods_ok
from scaleplan.solve.milp.formulation import Formulation
from scaleplan.solve.milp.highs import give_start, push
from scaleplan.solve.milp.pool import pool_ok, run_with_cuts, set_pool_rows
from scaleplan.solve.milp.solver import (
    COST_TOL,
    MIN_RUN_SECONDS,
    SolverName,
    SolveStat,
    make_solver,
    pulp_stat,
    run_interruptible,
)
from scaleplan.solve.milp.tiebreak import break_tie, counts
from scaleplan.solve.milp.weighted import balanced_routing, build_weighted
from scaleplan.solve.milp.window import (
    WindowProblem,
    WindowSolution,
    delivered_ok,
    even_need,
    mixed_capacities,
    node_bounds,
    seed_pool,
    spot_by_capacity_ok,
)


def _within(ub: int, price: float, cutoff: float) -> int:
    """The node bound of a type once a plan costing ``cutoff`` is known: p n <= cutoff."""
    return min(ub, math.floor((cutoff + COST_TOL) / price + 1e-9)) if price > 0 else ub


def _all_within(ub: Sequence[int], prices: Any, cutoff: float) -> list[int]:
    """:func:`_within` of every candidate (``prices`` an array): the same arithmetic, as
    arrays (the zone case points its model at a cutoff ~130 times)."""
    top = np.asarray(ub, dtype=np.int64)
    pos = prices > 0
    lim = np.floor((cutoff + COST_TOL) / np.where(pos, prices, 1.0) + 1e-9)
    # past int64 the bound is ub anyway (lim is larger)
    lim = np.where(pos & (lim < top), lim, top)
    return [int(v) for v in lim.tolist()]


class WindowModel(Formulation):
    """The window MILP for one candidate list, built once and re-solved per demand vector.

    ``p.demand`` is the largest demand the model will be asked about (the peak window): it
    decides which classes are active and whether the exact single-class n+1/zone forms apply.
    """

    def __init__(self, p: WindowProblem, *, solver: SolverName = "highs",
            tie_break: bool = True) -> None:
        import pulp

        super().__init__(p, tie_break=tie_break)
        self.solver_name: SolverName = solver
        if p.even:
            build_even(self)
        else:
            build_weighted(self)
        self.cutoff_row = self.add(list(self.cost_expr.items()), pulp.LpConstraintLE, "cutoff")
        self.cutoff_row.constant = -1e30  # inactive until a cutoff is set
        self._highs: Any = None
        self._solver: Any = None
        self.stats: list[SolveStat] = []  # one per solver run, in order
        # per candidate index, the (nodes, replicas) it keeps at least, over p.floors; and the
        # candidates kept at 0 (``scaleplan.solve.floorbranch`` branches on both)
        self.held: dict[int, tuple[int, int]] = {}
        self.barred: frozenset[int] = frozenset()
        self._needs: dict[tuple[float, ...], list[float | None]] = {}
        self._bounds: dict[tuple[float, ...], list[int]] = {}  # node_bounds per demand vector
        # u_k's coefficients in HiGHS, as highs.push last wrote them (None: not yet)
        self._coeffs: Any = None
        # what _set points the model at, for highs.push: per candidate the lower bounds of
        # (n_k, r_k) and the node bound, and the need rows' coefficients of u_k
        self._cols: tuple[list[tuple[int, int]], list[int]] = ([], [])
        self._need: dict[int, float] = {}
        # per candidate its default (nodes, replicas) floor (p.floors), and its replicas per node
        self._lo = [(p.floor_nodes(k), p.floors[k] if p.floors else 0) for k in range(self.K)]
        self._rpn = [c.replicas_per_node for c in p.candidates]
        self._price = np.array([c.price for c in p.candidates], dtype=np.float64)
        self._values: list[float] = []  # HiGHS's column values after its last run
        self._index: dict[str, Any] = {}  # HiGHS's column and row indices, once it holds the model

    # -- per-window updates -----------------------------------------------------------------

    def needs(self, demand: Sequence[float]) -> list[float | None]:
        """:func:`even_need` for ``demand``, computed once per demand vector (the bounds, the
        capacity cuts, the need rows and every plan checked against a window ask for it)."""
        key = tuple(demand)
        got = self._needs.get(key)
        if got is None:
            got = self._needs[key] = even_need(self.p, demand)
        return got

    def _set(self, demand: Sequence[float], cutoff: float | None) -> list[int]:
        """Point the model at ``demand``; return the node bounds used. The rows' right-hand
        sides go to PuLP's model; the column bounds and u_k's coefficients too until HiGHS
        holds the model (CBC: always), and after that to HiGHS alone (``highs.push``:
        writing them into PuLP's objects and reading them back was ~0.4 ms of Python per
        window MILP, where the zone case solves ~130)."""
        p = self.p
        needs = self.needs(demand) if p.even else None
        key = tuple(demand)
        ub = self._bounds.get(key)
        if ub is None:
            ub = self._bounds[key] = node_bounds(p, demand, needs)
        if cutoff is not None:  # no plan within the cutoff holds more nodes of k than it pays for
            ub = _all_within(ub, self._price, cutoff)
        lo, ub = self._floor_bounds(ub)
        for ci, con in self.route.items():
            con.constant = -float(demand[ci])
        for ci, con in self.spot.items():
            con.constant = -self.spot_share * float(demand[ci])
        for ci, con in [*self.loss_route.items(), *self.class_rows]:
            con.constant = -float(demand[ci])
        total = float(sum(demand))
        for con in self.total_rows:
            con.constant = -total
        set_pool_rows(self, total)
        if self.cap_rows:
            mc = mixed_capacities(p, demand, needs)
            if any(abs(a - b) > 1e-10 * max(1.0, b) for a, b in zip(mc, self.mcap, strict=True)):
                self._rescale_caps(mc)
            for con, f in self.cap_rows:  # a hair below: mcap is the peak's, exact up to rounding
                con.constant = -f * total * (1 - 1e-8)
        if self.any_row is not None:
            self.any_row.constant = -1.0 if total > 0 else 0.0
        need: dict[int, float] = {}
        if self.need_rows and needs is not None:  # routing: service (the even model)
            need = {k: -float(needs[k] or 0.0) for k in self.need_rows}
        self._cols, self._need = (lo, ub), need
        if self._highs is None:  # what HiGHS's model is built from (or CBC solves)
            self._write_pulp()
        self.cutoff_row.constant = -(cutoff + COST_TOL) if cutoff is not None else -1e30
        return ub

    def _write_pulp(self) -> None:
        """:attr:`_cols` and :attr:`_need` into PuLP's columns and the u_k and t_T big-Ms."""
        lo, ub = self._cols
        for k, coef in self._need.items():
            self.need_rows[k].expr[self.u[k]] = coef
        for k in range(self.K):
            self.n[k].lowBound, self.r[k].lowBound = lo[k]
            self.n[k].upBound = ub[k]
            self.r[k].upBound = ub[k] * self._rpn[k]
            if self.m:
                self.m[k].upBound = self.r[k].upBound  # m_k's is r_k's (zone_bounds)
            if self.used:
                self.used[k].expr[self.u[k]] = -float(ub[k])
        self.write_type_bounds(ub)

    def _floor_bounds(self, ub: list[int]) -> tuple[list[tuple[int, int]], list[int]]:
        """The lower bounds of (n_k, r_k) (``p.floors``, :attr:`held`; 0 when :attr:`barred`)
        and the node bounds ``ub`` with them (0 when barred)."""
        held, barred = self.held, self.barred
        lo = [held.get(k, d) for k, d in enumerate(self._lo)] if held else list(self._lo)
        out = [max(u, n) for u, (n, _) in zip(ub, lo, strict=True)]  # a floor is kept anyway
        for k in barred:
            out[k], lo[k] = 0, (0, 0)
        return lo, out

    def _rescale_caps(self, mc: list[float]) -> None:
        """Demand whose class mix differs from the peak's: rewrite the cuts' coefficients from
        the ones the model was built with, so a window whose mix gives a type no capacity (one
        without demand: 0 rps) leaves the next windows theirs (until 2026-12-06 each window
        rescaled the last one's, and every window after an hour at 0 rps was infeasible)."""
        if self.cap_base is None:
            self.cap_base = (list(self.mcap), [dict(con.expr) for con, _ in self.cap_rows])
        base, exprs = self.cap_base
        for (con, _), expr in zip(self.cap_rows, exprs, strict=True):
            for var, coef in expr.items():
                k = int(var.name[1:])
                if base[k] > 0:
                    con.expr[var] = coef / base[k] * mc[k]
                    if self._highs is not None:
                        self._highs.changeCoeff(con.index, var.index, con.expr[var])
        self.mcap = [mc[k] if base[k] > 0 else 0.0 for k in range(self.K)]

    # -- solving ----------------------------------------------------------------------------

    def _sub_mips(self, on: bool) -> None:
        for name in ("mip_heuristic_run_rins", "mip_heuristic_run_rens"):
            self._highs.setOptionValue(name, on)

    def _run(self, time_limit: float, start: WindowSolution | None = None) -> str:
        t0, c0 = time.perf_counter(), time.process_time()
        status = self._run_solver(time_limit, start)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if self._highs is not None:
            h = self._highs
            cols = (self.n, self.r, self.u, self.m, self.tv, self.whole, *self.spread.values())
            ints = sum(map(len, cols))
            self.stats.append(SolveStat("milp", h.getNumRow(), h.getNumCol(), ints, h.getNumNz(), seconds, status, cpu))
        else:
            self.stats.append(pulp_stat("milp", self.prob, seconds, status, cpu))
        return status

    def _run_solver(self, time_limit: float, start: WindowSolution | None) -> str:
        import pulp

        prob = self.prob
        if self.solver_name != "highs":
            prob.solve(make_solver(self.solver_name, time_limit, gap_abs=COST_TOL))
        else:
            if self._highs is None:
                # zone models solve faster without HiGHS's restarts and reliability branching, the
                # others with them (solver.py)
                other = self.p.redundancy != "zone"
                solver = make_solver(
                    "highs", time_limit, gap_abs=COST_TOL, restart=other, reliable=other
                )
                solver.createAndConfigureSolver(prob)
                solver.buildSolverModel(prob)
                self._solver, self._highs = solver, prob.solverModel
            else:
                push(self)
                self._highs.setOptionValue("time_limit", max(MIN_RUN_SECONDS, float(time_limit)))
            if start is not None:
                give_start(self, start)
            # from a pool start (the optimum over the candidates the quieter windows use, most
            # often the whole MILP's) RINS and RENS, sub-MIPs around the start, found nothing
            # better and took ~10 % of the zone case's HiGHS time; in zone models from any start
            # (a scaled-up plan in the floor's branch and bound: 2 % of the case). The proof is
            # the same
            near = start is not None and (start.pooled or self.p.redundancy == "zone")
            if near:
                self._sub_mips(False)
            try:
                run_interruptible(self._highs)
            finally:
                if near:
                    self._sub_mips(True)
            return self._read_highs()
        sol = prob.sol_status
        if sol == pulp.LpSolutionOptimal:
            return "optimal"
        if sol == pulp.LpSolutionIntegerFeasible:
            return "feasible"
        if sol in (pulp.LpSolutionInfeasible, pulp.LpSolutionUnbounded) or prob.status == pulp.LpStatusInfeasible:
            return "infeasible"
        return "unknown"

    def solve(
        self,
        demand: Sequence[float],
        *,
        time_limit: float = 60.0,
        cutoff: float | None = None,
        start: WindowSolution | None = None,
        tie: bool = True,
        tie_end: float = math.inf,
    ) -> WindowSolution:
        """Cheapest node counts for ``demand``; then (tie_break and ``tie``) among the plans of
        that cost, fewest nodes, then earliest names (``tiebreak.break_tie``, before tie_end).

        ``cutoff``: a known upper bound on the cost (e.g. a feasible plan for a busier window).
        ``start``: a plan feasible for ``demand`` that HiGHS starts from (CBC: unused).
        """
        t0 = time.perf_counter()
        p, cands, K = self.p, self.p.candidates, self.K
        self._set(demand, cutoff)
        status = run_with_cuts(self, time_limit, start)  # pool.spot_cuts: rows a plan breaks
        if status == "unknown":  # out of time without a plan: what HiGHS proved of the cost
            bound = self._bound(status, math.inf)
            proved = bound if bound is not None and math.isfinite(bound) else None
            return WindowSolution(status=status, bound=proved, seconds=time.perf_counter() - t0)
        if status == "infeasible":
            return WindowSolution(status=status, seconds=time.perf_counter() - t0)
        nodes, reps = counts(self)
        # the zero terms left out: the same sum, bit for bit
        best = sum((cands[k].price * nodes[k] for k in range(K) if nodes[k]), 0.0)
        bound, cut = self._bound(status, best), False
        if self.tie_break and tie:  # cut: only a proved cost's tie-break (else the gap says)
            first = WindowSolution(status=status, nodes=nodes, replicas=reps, cost=best)
            tied, cut = break_tie(self, first, min(t0 + max(0.0, time_limit), tie_end))
            if tied is not None:
                nodes, reps = tied
                best = sum((cands[k].price * nodes[k] for k in range(K) if nodes[k]), 0.0)
                bound = min(bound, best) if bound is not None else None
        routing = [[0.0] * K for _ in p.classes]
        for (ci, k), var in self.y.items():
            d = demand[ci]
            routing[ci][k] = max(0.0, float(var.value() or 0.0)) / d if d > 0 else 0.0
        if p.even:
            routing = even_routing(p, reps, demand)
        return WindowSolution(status=status, nodes=nodes, replicas=reps, routing=routing, cost=best, bound=bound, seconds=time.perf_counter() - t0, demand=tuple(demand), tie_cut=cut and status == "optimal")

    def _read_highs(self) -> str:
        """The run's status, as PuLP's ``findSolutionValues`` maps HiGHS's model status, and the
        values of the columns :meth:`solve` reads (n, r, y). PuLP's own copies every column's
        value and dual and every row's slack and dual, sorting the columns by name first: ~1 ms
        of Python per window MILP, where the zone case solves 130 of them."""
        import highspy

        h, st = self._highs, highspy.HighsModelStatus
        status = h.getModelStatus()
        if status == st.kOptimal:
            out = "optimal"
        elif status in (st.kInfeasible, st.kUnboundedOrInfeasible, st.kUnbounded):
            out = "infeasible"
        elif status in (st.kObjectiveBound, st.kObjectiveTarget, st.kInterrupt):
            out = "feasible"
        elif status in (st.kTimeLimit, st.kIterationLimit):
            out = "unknown" if h.getObjectiveValue() == math.inf else "feasible"
        else:
            out = "unknown"
        if out in ("optimal", "feasible"):  # what solve reads (it stops at the others)
            values = self._values = h.getSolution().col_value
            for v in (*self.n, *self.r, *self.y.values()):
                v.varValue = values[v.index]
        return out

    def _bound(self, status: str, best: float) -> float | None:
        if status == "optimal":
            return best
        if self.solver_name == "highs":
            try:
                return float(self.prob.solverModel.getInfo().mip_dual_bound)
            except Exception:  # pragma: no cover - depends on highspy internals
                return None
        return None

    def objective(self, sol: WindowSolution) -> float:
        """``sol``'s value in the MILP's objective, its cost (the tie-break is a second MILP
        with the cost held, ``tiebreak.break_tie``; until 2026-12-07 it was charges per node
        in this objective, and starts and cutoffs were compared by cost plus those charges)."""
        # the zero terms left out: the same sum, bit for bit
        return sum((c.price * n for c, n in zip(self.p.candidates, sol.nodes, strict=True) if n), 0.0)

    def pool_start(
        self,
        demand: Sequence[float],
        pool: set[int],
        *,
        time_limit: float,
        cutoff: float | None,
        start: WindowSolution | None = None,
    ) -> WindowSolution | None:
        """The cheapest plan for ``demand`` over the candidates in ``pool`` alone (every other
        one barred, on top of :attr:`barred`; None when there is none under ``cutoff``): a
        small MILP (presolve drops the barred columns) whose plan keeps every rule of the whole
        list, so it is a start for the whole MILP and its objective a cutoff. HiGHS's sub-MIP
        heuristics otherwise spent most of a window's solve finding that plan from a start
        5-20 % dearer (the zone case's windows draw on the same few candidates all day).
        ``start``: a plan over ``pool`` to start from. None too with CBC (no start to hand it)
        and when ``pool`` bars nothing more."""
        keep = self.barred
        out = frozenset(k for k in range(self.K) if k not in pool) - keep
        if self.solver_name != "highs" or not out:
            return None
        self.barred = keep | out
        try:
            s = self.solve(demand, time_limit=time_limit, cutoff=cutoff, start=start, tie=False)
        finally:
            self.barred = keep
        if s.status not in ("optimal", "feasible"):
            return None
        s.pooled = True
        return s

    # -- re-using a quieter window's plan -----------------------------------------------------

    def scale_up(self, sol: WindowSolution, demand: Sequence[float]) -> WindowSolution | None:
        """A feasible (not optimal) plan for ``demand`` from a quieter window's plan, or None.

        Every node count is multiplied by the demand ratio and rounded up; the result is
        checked (quotas, replica bounds, then :meth:`reroute`). Its cost is a valid cutoff.
        """
        p = self.p
        before, after = float(sum(sol.demand)), float(sum(demand))
        if sol.status not in ("optimal", "feasible") or before <= 0 or after <= before:
            return None
        lam = after / before
        nodes = [math.ceil(n * lam - 1e-9) for n in sol.nodes]
        reps = p.full_replicas(nodes)
        if p.max_replicas is not None:
            reps = [min(reps[k], math.ceil(sol.replicas[k] * lam - 1e-9)) for k in range(self.K)]
        return self.checked(nodes, reps, demand)

    def checked(
        self, nodes: list[int], reps: list[int], demand: Sequence[float]
    ) -> WindowSolution | None:
        """A feasible (not optimal) plan with these node and replica counts for ``demand``, or
        None: on-demand nodes added where the spot share is over (:meth:`_on_demand_topped`),
        then max_replicas, quotas and :meth:`reroute` checked. The check of :meth:`scale_up`'s
        plans and of floorbranch's first starts."""
        p, cands = self.p, self.p.candidates
        nodes, reps = self._on_demand_topped(nodes, reps)
        if p.max_replicas is not None and sum(reps) > p.max_replicas:
            return None
        if any(q.used(cands, nodes) > q.limit for q in p.quotas):
            return None
        cost = sum(cands[k].price * nodes[k] for k in range(self.K))
        trial = WindowSolution(status="feasible", nodes=nodes, replicas=reps, cost=cost)
        out = self.reroute(trial, demand)
        if out is None:
            return None
        out.status, out.bound, out.reused = "feasible", None, False
        return out

    def _on_demand_topped(self, nodes: list[int], reps: list[int]) -> tuple[list[int], list[int]]:
        """``routing: service``: counts rounded up one by one can put more than
        spot.max_fraction of the pods on spot (4 on-demand + 2 spot nodes of 2 pods at f = 0.5,
        x 1.0625: 5 + 3 nodes, 6 of 11 pods on spot), and the scaled-up plan was refused. The
        on-demand type in use with the cheapest pod gets the nodes that bring the share back
        to f; the plan is then checked as before. Unchanged when the share holds."""
        p, cands = self.p, self.p.candidates
        f = p.spot_max_fraction
        if not p.even or f is None or f <= 0 or spot_pods_ok(p, reps):  # f >= 1: always ok
            return nodes, reps
        spot = sum(r for r, c in zip(reps, cands, strict=True) if c.capacity_type == "spot")
        od = sum(reps) - spot
        used = [k for k in range(self.K) if nodes[k] > 0 and cands[k].capacity_type == "on-demand"]
        if not used:
            return nodes, reps
        k = min(used, key=lambda k: (cands[k].price / cands[k].replicas_per_node, k))
        add = math.ceil(math.ceil(spot * (1 - f) / f - od - 1e-9) / cands[k].replicas_per_node)
        nodes, reps = list(nodes), list(reps)
        nodes[k] += add
        reps[k] += p.replicas_on(k, nodes[k]) - p.replicas_on(k, nodes[k] - add)
        return nodes, reps

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
        is :func:`even_feasible` (routing: service) or a small LP over the routing of the
        candidates in use (:func:`balanced_routing`, PuLP + the same solver), after
        :func:`spot_by_capacity_ok` and :func:`delivered_ok` on the counts.
        """
        t0 = time.perf_counter()
        p = self.p
        routing: list[list[float]] | None
        split = False
        if p.even:
            if not even_feasible(p, sol.nodes, sol.replicas, demand, self.needs(demand)):
                return None
            routing = even_routing(p, sol.replicas, demand)
        else:
            if not spot_by_capacity_ok(p, sol.replicas) or not delivered_ok(p, sol, demand):
                return None
            if self.pool is not None and not pool_ok(p, self.pool, sol.replicas, demand):
                return None
            routed = balanced_routing(self, sol, demand, solver=self.solver_name, stats=self.stats)
            if routed is None:
                return None
            routing, split = routed
        return WindowSolution(status=sol.status, nodes=list(sol.nodes), replicas=list(sol.replicas), routing=routing, cost=sol.cost, bound=sol.bound, seconds=time.perf_counter() - t0, reused=reused, demand=tuple(demand), split=split, tie_cut=sol.tie_cut)


def kept_start(start: WindowSolution, bound: float | None = None) -> WindowSolution:
    """A window's start plan kept as its plan when its solve ran out of time: feasible (a
    pool's optimum is not the window's), with the lower ``bound`` the solves proved (None:
    none), never above its cost."""
    proved = min(bound, start.cost) if bound is not None else None
    return dataclasses.replace(start, status="feasible", bound=proved)


# the MILP of a window with no plan to keep runs at least this long, past the time limit too:
# the quietest window, and one whose quieter window's plan, scaled up, does not fit it
# (max_replicas, a quota); every other window keeps that plan once the limit is reached,
# without a MILP, docs/optimizer.md "Time limit"
FIRST_WINDOW_SECONDS = 1.0


def run_seconds(deadline: float, now: float | None = None) -> float:
    """Seconds left before ``deadline`` at ``now`` (None: the clock now; 0 once it has
    passed): a MILP's time limit."""
    return max(0.0, deadline - (time.perf_counter() if now is None else now))


def _in_time(
    model: WindowModel, demand: tuple[float, ...], end: float, *, cutoff: float | None = None,
    start: WindowSolution | None = None,
) -> WindowSolution:
    """``model.solve(demand)`` with the seconds left before ``end`` as its time limit (those
    when it starts); ``unknown``, and no MILP, once they are spent."""
    left = run_seconds(end)
    if left <= 0:
        return WindowSolution(status="unknown", demand=demand)
    return model.solve(demand, time_limit=left, cutoff=cutoff, start=start)


def _seeded(model: WindowModel, demand: tuple[float, ...], left: float) -> WindowSolution | None:
    """Zone redundancy: the quietest window's plan over :func:`seed_pool`'s few candidates
    (``WindowModel.pool_start``), its start and cutoff; None otherwise or without one. With
    no quieter plan to scale up, its MILP ran without a cutoff, and HiGHS searched most of
    its ~145 ms for a first plan (18 ms from this one's, ~25 ms to find it: the zone case of
    ``bench/solve_bench.py``). The optimum and its proof are the whole MILP's."""
    if model.p.redundancy != "zone":  # elsewhere the first window was as cheap as the seed
        return None
    pool = seed_pool(model.p, demand, model.needs(demand))
    return model.pool_start(demand, pool, time_limit=left, cutoff=None)


def solve_windows(base: WindowProblem, demands: Sequence[tuple[float, ...]], *, solver: SolverName = "highs", deadline: float | None = None, tie_break: bool = True, stats: list[SolveStat] | None = None) -> dict[tuple[float, ...], WindowSolution]:
    """Solve every distinct demand vector in ``demands`` (per class, one per window).

    ``base.demand`` must be the largest of them. One :class:`WindowModel` serves all windows.
    Windows go quietest first: every constraint is monotone in demand, so the optimal cost never
    falls as demand rises, and a quieter window's optimal plan that still fits a busier window
    is optimal there too (:meth:`WindowModel.reroute` checks the fit with a small routing LP).
    Otherwise the quieter plan scaled up to the new demand (:meth:`WindowModel.scale_up`) is a
    feasible plan whose cost is passed to the MILP as a cutoff. A window whose MILP runs out of
    time before beating that cutoff keeps the start as its plan (``feasible``: a plan known to
    serve it; its bound is what that MILP proved, or the quieter window's where no class asks
    less). After an infeasible window, or one out of time with no start,
    the busier ones are marked the same (they cannot do better).
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
        # windows go by total demand: only a quieter window asking no more of any class says
        # anything of this one (its optimal plan, if it fits, is optimal here; its bound holds)
        within = prev is not None and all(b >= a for a, b in zip(prev.demand, demand, strict=True))
        reusable = prev is not None and within and prev.status == "optimal"
        sol = model.reroute(prev, demand) if prev is not None and reusable else None
        if sol is None:
            start = model.scale_up(prev, demand) if prev is not None else None
            cutoff = start.cost if start else None
            left = run_seconds(end)
            if start is not None and left > 0:  # the plan over what the quieter windows use,
                # when cheaper
                pool = {k for v in out.values() for k, n in enumerate(v.nodes) if n}
                better = model.pool_start(demand, pool, time_limit=left, cutoff=cutoff, start=start)
                if better is not None and better.cost < start.cost:
                    start, cutoff = better, better.cost
            if start is None:  # no plan to keep (the quietest window, or no fit): at least 1 s
                if prev is None and left > 0:  # the quietest: from seed_pool's plan, if any
                    start = _seeded(model, demand, left)
                    cutoff = model.objective(start) if start is not None else None
                first = max(FIRST_WINDOW_SECONDS, run_seconds(end))  # the tie-break: to end
                sol = model.solve(demand, time_limit=first, cutoff=cutoff, start=start, tie_end=end)
                if sol.status == "infeasible" and start is not None:  # numerically at the cutoff
                    first = max(FIRST_WINDOW_SECONDS, run_seconds(end))
                    sol = model.solve(demand, time_limit=first, tie_end=end)
            else:  # each MILP gets the time left when it starts; past the limit, none runs and
                # the window keeps its start (below)
                sol = _in_time(model, demand, end, cutoff=cutoff, start=start)
                if sol.status == "infeasible":  # numerically at the cutoff: again without it
                    sol = _in_time(model, demand, end)
            if sol.status == "unknown" and start is not None:
                # out of time before HiGHS beat the cutoff: the start (checked feasible for this
                # demand) is the window's plan; failing here failed every busier window with it.
                # Costs never fall as demand rises: the quieter window's bound holds if within
                quieter = prev.bound if prev is not None and within else None
                known = [b for b in (sol.bound, quieter) if b is not None]
                sol = kept_start(start, max(known) if known else None)
            if sol.status in ("optimal", "feasible"):
                sol = model.reroute(sol, demand, reused=False) or sol
        out[demand] = sol
        if sol.status not in ("optimal", "feasible"):
            failed = sol.status
        prev = sol
    if stats is not None:
        stats.extend(model.stats)
    return out


def solve_window(p: WindowProblem, *, solver: SolverName = "highs", time_limit: float = 60.0, tie_break: bool = True, cutoff: float | None = None) -> WindowSolution:
    """One window: build the model and solve it for ``p.demand``."""
    return WindowModel(p, solver=solver, tie_break=tie_break).solve(p.demand, time_limit=time_limit, cutoff=cutoff)
