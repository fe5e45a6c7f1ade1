"""The replica floor held exactly: a branch and bound over the set of allocations in use.

An HPA's minReplicas is at least 1 (``Problem.replica_floor``), so a plan is a set S of
allocations, each holding the floor in every window, and per window the cheapest plan over S
with every member of S at its floor or more. :func:`branch_floors` searches over S: a node
holds some candidates (at the floor in every window) and bars others (0 in every window) and
leaves the rest free, as the per-window MILP states them (``WindowModel.held``,
``WindowModel.barred``). Relaxing "a free candidate used in one window is held in all" leaves
the windows independent, so a node's bound is the sum of its windows' optima, each one window
MILP (the root's are the search's own). A node whose windows' plans use every candidate they
use at the floor in every window is a floor-holding plan, optimal for the node: the incumbent
when cheaper. Otherwise it branches on a candidate used below the floor in some window: held,
or barred. A child re-solves only the windows whose plan breaks its new rule, each with a
cutoff (the incumbent less every other window's bound), so a child that cannot beat the
incumbent is cut at its first window that cannot. Everything is in cost (the MILP's objective;
each window's plan is the one the tie-break ranks first among its least-cost plans, and of two
floor-holding plans of the same cost the first found is kept), each window proven within
HiGHS's gap; the tree exhausted, the incumbent is optimal.

Interchangeable regions (:func:`scaleplan.solve.symmetry.region_orbits`) make a plan and its
mirror in another region cost the same: at a node whose held and barred sets are unions of
whole orbits, the barred child bars k's whole orbit (orbital branching). A plan of that node
using another member j of the orbit but not k has a mirror (regions of j and k traded) that
uses k, keeps the node's rules and costs the same: the held child holds it. The mirror's
tie-break weights are not the plan's (they grow with the candidate's rank), so with such
regions the plan is one of least cost, possibly the mirror of the one the tie-break ranks
first.

Region exchanges (:mod:`scaleplan.solve.regionswap`, zone redundancy under one Service): a
node's window plan whose candidates in two regions all have earlier, no dearer twins in the
other is beaten by the plan with the two regions' counts traded, so it is cut by a row that
holds in the tree's window MILPs from then on, and the window solved again.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scaleplan.solve.milp import WindowModel, WindowSolution
from scaleplan.solve.milp.model import run_seconds
from scaleplan.solve.milp.solver import COST_TOL, SolveStat
from scaleplan.solve.milp.tiebreak import retie
from scaleplan.solve.milp.window import nodes_for
from scaleplan.solve.regionswap import RegionSwaps, add_row
from scaleplan.solve.symmetry import region_orbits

Demand = tuple[float, ...]


@dataclass
class Branched:
    """The search's answer: the plan per distinct demand (None: no floor-holding plan found),
    ``optimal`` when the tree was exhausted, and a lower bound on every floor-holding plan's
    objective summed over the windows."""

    status: str  # optimal | feasible | unknown (a window MILP stopped or failed)
    sols: dict[Demand, WindowSolution] | None
    bound: float
    stats: tuple[SolveStat, ...] = ()


@dataclass
class _Node:
    held: frozenset[int]
    barred: frozenset[int]
    sols: dict[Demand, WindowSolution]  # the parent's, until the node is evaluated
    fresh: bool  # sols are this node's own (the root)


def branch_floors(
    model: WindowModel,
    demands: Sequence[Demand],
    floor: int,
    root: dict[Demand, WindowSolution],
    *,
    deadline: float,
    orbits: Mapping[int, tuple[int, ...]] | None = None,
) -> Branched:
    """The floor-holding plan over ``model``'s candidates with the least objective summed over
    ``demands`` (one per window), from ``root`` (every distinct demand's optimum without the
    floor, solved by ``model``'s formulation and tie-break). ``orbits``: the candidates that
    trading interchangeable regions maps into each other (None: ``region_orbits`` of the
    model's problem; empty: no orbital branching)."""
    orbits = region_orbits(model.p) if orbits is None else orbits
    mult = Counter(demands)
    obj = model.objective
    cands = model.p.candidates
    need = {k: (nodes_for(c, floor, model.p.redundancy), floor) for k, c in enumerate(cands)}

    def lb(s: WindowSolution) -> float:
        if s.status != "optimal":
            return s.bound if s.bound is not None else -math.inf
        v = obj(s)
        return v - max(COST_TOL, 1e-7 * v)

    def total(sols: dict[Demand, WindowSolution]) -> float:
        return sum(lb(sols[d]) * mult[d] for d in mult)

    stack = [_Node(frozenset(), frozenset(), dict(root), True)]
    # the region exchange rows (``regionswap``) hold in the tree's window MILPs only
    model.swaps = RegionSwaps(model.p, highs=model.solver_name == "highs")
    model.swaps_on = True
    try:
        inc, inc_obj, open_lb, leaf_lb, lost = _search(
            model, stack, need, mult, lb, total, orbits, deadline
        )
    finally:
        model.swaps_on = False
    if lost:
        return Branched("unknown", None, -math.inf, tuple(model.stats))
    proven = inc is None or leaf_lb >= inc_obj - max(COST_TOL, 1e-7 * abs(inc_obj))
    status = "optimal" if not stack and open_lb == math.inf and proven else "feasible"
    bound = inc_obj if status == "optimal" else min(open_lb, inc_obj, leaf_lb)
    if inc is not None:  # the tie-break of the windows the search re-solved (by cost alone),
        # under the kept node's rules; then the balanced routing, as solve_windows gives them
        inc = _tied(model, inc, need, root, deadline)
        inc = {d: model.reroute(s, d, reused=False) or s for d, s in inc.items()}
    return Branched(status, inc, bound, tuple(model.stats))


def _search(
    model: WindowModel,
    stack: list[_Node],
    need: dict[int, tuple[int, int]],
    mult: Counter[Demand],
    lb: Callable[[WindowSolution], float],
    total: Callable[[dict[Demand, WindowSolution]], float],
    orbits: Mapping[int, tuple[int, ...]],
    deadline: float,
) -> tuple[dict[Demand, WindowSolution] | None, float, float, float, bool]:
    """:func:`branch_floors`' tree from ``stack``'s root: the incumbent and its objective,
    the least bound of the nodes left open by the time limit and of the leaves that keep an
    unproven root window, and whether a window MILP stopped with no incumbent (unknown)."""
    obj = model.objective
    cands = model.p.candidates
    inc: dict[Demand, WindowSolution] | None = None
    inc_obj = math.inf
    open_lb = math.inf  # the least bound of the nodes left when the time limit stops it
    leaf_lb = math.inf  # the least bound of the floor-holding nodes found with such a window
    while stack:
        node = stack.pop()
        tol = max(COST_TOL, 1e-7 * abs(inc_obj)) if inc is not None else 0.0
        if _left(deadline) <= 0:
            open_lb = min([total(node.sols), *(total(n.sols) for n in stack)])
            break
        if not node.fresh:
            got = _evaluate(model, node, need, mult, inc_obj - tol, lb, deadline)
            if got is None:
                continue
            if isinstance(got, str):  # a window MILP that did not finish (the time limit)
                if inc is None:
                    return None, inc_obj, open_lb, leaf_lb, True
                # the incumbent stands, against this node's parent's bound and the open nodes'
                open_lb = min([total(node.sols), *(total(n.sols) for n in stack)])
                break
            node.sols = got
        if total(node.sols) >= inc_obj - tol:
            continue
        k = _branch_on(node, need, cands)
        if k is None:  # every candidate in use holds the floor: the node's own optimum
            inc, inc_obj = node.sols, sum(obj(node.sols[d]) * mult[d] for d in mult)
            if any(s.status != "optimal" for s in node.sols.values()):
                # it keeps a root window the search did not prove: its optimum may be lower
                leaf_lb = min(leaf_lb, total(node.sols))
            continue
        bar = orbits.get(k, (k,)) if _invariant(node, orbits) else (k,)
        stack.append(_Node(node.held, node.barred | set(bar), node.sols, False))
        stack.append(_Node(node.held | {k}, node.barred, node.sols, False))
    return inc, inc_obj, open_lb, leaf_lb, False


def _tied(
    model: WindowModel,
    inc: dict[Demand, WindowSolution],
    need: dict[int, tuple[int, int]],
    root: dict[Demand, WindowSolution],
    deadline: float,
) -> dict[Demand, WindowSolution]:
    """The incumbent's windows with the tie-break (``tiebreak.retie``) run on those the search
    re-solved (the root's came from solve_windows, tie-broken there, and a plan ranked first
    over every plan is first among those that keep a node's rules), with the candidates the
    incumbent uses held at the floor and every other barred: a plan that used another in one
    window would break the floor in the others."""
    used = {k for s in inc.values() for k, n in enumerate(s.nodes) if n}
    model.held = {k: need[k] for k in used}
    model.barred = frozenset(range(model.K)) - used
    end = time.perf_counter() + _left(deadline)
    out = {d: s if s is root.get(d) else retie(model, s, d, end) for d, s in inc.items()}
    model.held, model.barred = {}, frozenset()
    return out


def _invariant(node: _Node, orbits: Mapping[int, tuple[int, ...]]) -> bool:
    """Whether the node's held and barred sets are unions of whole orbits (trading
    interchangeable regions leaves them as they are)."""
    return all(
        s.isdisjoint(o) or s.issuperset(o)
        for o in orbits.values()
        for s in (node.held, node.barred)
    )


def _branch_on(
    node: _Node, need: dict[int, tuple[int, int]], cands: Sequence[object]
) -> int | None:
    """A candidate some window uses and some window holds below the floor (None: none): the
    one held in the most windows, so that holding it is the cheaper child, tried first."""
    sols = list(node.sols.values())
    best: tuple[int, int] | None = None
    for k in range(len(cands)):
        if k in node.held or not any(s.nodes[k] for s in sols):
            continue
        ok = sum(1 for s in sols if s.nodes[k] >= need[k][0] and s.replicas[k] >= need[k][1])
        if ok < len(sols) and (best is None or ok > best[0]):
            best = (ok, k)
    return None if best is None else best[1]


def _evaluate(
    model: WindowModel,
    node: _Node,
    need: dict[int, tuple[int, int]],
    mult: Counter[Demand],
    limit: float,
    lb: Callable[[WindowSolution], float],
    deadline: float,
) -> dict[Demand, WindowSolution] | str | None:
    """The node's windows: its parent's plan where it keeps the node's rules, else re-solved
    with them, each under the cutoff that leaves ``limit`` (the incumbent's objective) within
    reach. None: no plan under it (pruned); "unknown": a window MILP that did not finish, or
    was not started past the time limit."""
    model.held = {k: need[k] for k in node.held}
    model.barred = node.barred
    sols = dict(node.sols)

    def breaks(s: WindowSolution) -> bool:
        return any(s.nodes[k] for k in node.barred) or any(
            s.nodes[k] < need[k][0] or s.replicas[k] < need[k][1] for k in node.held
        )

    todo = [d for d in sols if breaks(sols[d])]
    # the windows a rule costs most in first: the quietest (a held floor weighs most there)
    todo.sort(key=lambda d: (sum(d), d))
    running = sum(lb(sols[d]) * mult[d] for d in sols)
    prev: WindowSolution | None = None
    pool: set[int] = set()  # the candidates the node's own plans use so far
    for d in todo:
        room = (limit - running) / mult[d] + lb(sols[d])
        if room < lb(sols[d]):
            return None
        # a quieter window's optimum under the same rules that serves this one is optimal
        # here too (every rule is monotone in demand), as in solve_windows
        quieter = prev is not None and all(a <= b for a, b in zip(prev.demand, d, strict=True))
        s = model.reroute(prev, d) if prev is not None and quieter else None
        if s is None and _left(deadline) <= 0:
            return "unknown"  # past the time limit: the window MILP is not started
        if s is None:
            first = _first_start(model, node, need, d, sols[d]) if prev is None else None
            s = _solve(model, d, room, prev, deadline, pool, first)
            while s.status == "optimal" and (row := model.swaps.broken(s.nodes)) is not None:
                # a plan another region's twins beat (``regionswap``): cut, solved again
                add_row(model, row)
                s = _solve(model, d, room, prev, deadline, pool)
        if s.status == "infeasible":
            return None
        if s.status != "optimal":
            return "unknown"
        prev = s
        pool.update(k for k, n in enumerate(s.nodes) if n)
        running += (lb(s) - lb(sols[d])) * mult[d]
        sols[d] = s
        if running >= limit:
            return None
    return sols


# the factors a node's first start scales its parent's plan by, until one serves the window
FIRST_SCALES = (1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0)


def _first_start(
    model: WindowModel,
    node: _Node,
    need: dict[int, tuple[int, int]],
    d: Demand,
    parent: WindowSolution,
) -> WindowSolution | None:
    """A start for a node's first re-solved window, which has no quieter plan of the node's
    to scale up: the parent's plan for it under the node's rules (barred candidates at 0,
    held ones at their floor or more), its node counts scaled by the least of
    :data:`FIRST_SCALES` that serves ``d`` (by ``WindowModel.checked``, as ``scale_up``'s
    plans are: spot share, quotas, then ``reroute``). None: none does, or ``max_replicas`` is
    set. Until 2026-12-06 that window's MILP started from nothing: 18 of the zone case's
    75 window MILPs, ~30 % of the branch and bound's time; a start changes where HiGHS's
    search begins and its cutoff (the start's objective), not the optimum or its proof."""
    p = model.p
    if p.max_replicas is not None:
        return None
    base = [0 if k in node.barred else n for k, n in enumerate(parent.nodes)]
    for lam in FIRST_SCALES:
        nodes = [math.ceil(n * lam - 1e-9) for n in base]
        for k in node.held:
            nodes[k] = max(nodes[k], need[k][0])
        got = model.checked(nodes, p.full_replicas(nodes), d)
        if got is not None:
            return got
    return None


def _left(deadline: float) -> float:
    """Seconds left before ``deadline`` on this module's clock (0 once it has passed): each
    window MILP gets the time left when it starts, and none starts at 0."""
    return run_seconds(deadline, time.perf_counter())


def _solve(
    model: WindowModel,
    d: Demand,
    room: float,
    prev: WindowSolution | None,
    deadline: float,
    pool: set[int],
    first: WindowSolution | None = None,
) -> WindowSolution:
    """Window ``d``'s optimum under the model's rules and the cost cutoff ``room``; from a quieter
    window's plan scaled up (``WindowModel.scale_up``: it keeps every held and barred rule), as
    HiGHS's start and a tighter cutoff when it is within ``room``, as in solve_windows; and, as
    there, from the plan over the candidates ``pool`` (those the node's plans use so far) when
    it is cheaper still (``WindowModel.pool_start``: its plan keeps every rule too). A node's
    first window (no ``prev``) starts from ``first`` instead (:func:`_first_start`); where
    neither gives a start, from :func:`_seed_start`'s."""
    cutoff = room if room < math.inf else None
    up = model.scale_up(prev, d) if prev is not None else first
    top = model.objective(up) if up is not None else 0.0
    if up is not None and pool and (cutoff is None or top <= cutoff):
        # a node that bars a workhorse re-plans the busy windows around candidates its parent
        # did not use: the scaled-up start was 5-30 % dearer than the optimum there
        keep = pool | set(model.held)
        better = model.pool_start(d, keep, time_limit=_left(deadline), cutoff=top, start=up)
        if better is not None and model.objective(better) < top:
            up, top = better, model.objective(better)
    if up is None:
        up = _seed_start(model, d, cutoff, pool, deadline)
        top = model.objective(up) if up is not None else 0.0
    if up is not None and (cutoff is None or top <= cutoff):
        s = model.solve(d, time_limit=_left(deadline), cutoff=top, start=up, tie=False)
        if s.status != "infeasible":
            return s
        # numerically at the cutoff: solved again under ``room`` alone
    return model.solve(d, time_limit=_left(deadline), cutoff=cutoff, tie=False)


def _seed_start(
    model: WindowModel, d: Demand, cutoff: float | None, pool: set[int], deadline: float
) -> WindowSolution | None:
    """Zone redundancy, a window with no start (a node's first, whose parent's plan does not
    scale into one, as when it barred the types that plan used): the plan over the node's
    held candidates, those its plans use so far and ``seed_pool``'s few (the cheapest
    request/s of each provider, region and capacity type), none it bars, under ``cutoff``
    (``WindowModel.pool_start``: its plan keeps every rule of the whole list), as
    ``solve_windows`` seeds its quietest window. None elsewhere, or without one. Until
    2026-12-07 such a window's MILP searched from nothing, ~0.1-0.16 s each (four in the
    zone case of ``bench/solve_bench.py``, a seventh of its branch and bound); a start
    changes where HiGHS's search begins and its cutoff, not the optimum or its proof."""
    from scaleplan.solve.milp.window import seed_pool

    if model.p.redundancy != "zone":
        return None
    keep = (pool | set(model.held) | seed_pool(model.p, d, model.needs(d))) - model.barred
    return model.pool_start(d, keep, time_limit=_left(deadline), cutoff=cutoff)
