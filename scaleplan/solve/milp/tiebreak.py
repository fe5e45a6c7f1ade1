"""The window MILP's tie-break: a second solve with the cost held at the first's (lexicographic).

The window MILP minimises cost alone; among the plans within :data:`TIE_TOL` of the cost it
found, :func:`break_tie` then keeps the one with the least :func:`tie_weights` sum: fewer
nodes, then earlier names (candidate k's node weighs K + 2 + k, proportional to the per-node
charge of the single objective before). Until 2026-12-07 that charge (1e-5 to 2e-5 $/h a
node) was added to the cost in one objective, so it could pay for fewer nodes with a real
price difference: GCP's a3-highgpu-8g, $0.00001/h dearer than two a3-highgpu-4g (5-decimal
prices), was bought by an "optimal, gap 0.00%" plan that cost $0.0173/h more than its own
single-type baseline (UX trial 33). A smaller charge is below what HiGHS tells apart; with
the cost held by a row instead, the tie-break is the whole objective, in whole numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.solve.milp.solver import COST_TOL, MIN_RUN_SECONDS, MIP_REL_GAP, int_value
from scaleplan.solve.milp.window import WindowSolution

if TYPE_CHECKING:
    from scaleplan.solve.candidates import Candidate
    from scaleplan.solve.milp.model import WindowModel

# $/h: how much more than the cost step's plan a plan the tie-break keeps may cost (summed
# over the window's nodes). Far under a catalog's least price step ($0.00001/h, 5 decimals),
# far over the float error of a sum of prices; HiGHS's feasibility tolerance (1e-6) may let
# its plan past the row by a hair, so the cost is checked again here, exactly
TIE_TOL = 1e-7


def tie_weights(n: int) -> list[float]:
    """The tie-break's weight of a node of each of ``n`` candidates: K + 2 + k for the k-th."""
    return [float(n + 2 + k) for k in range(n)]


def tie_value(nodes: Sequence[int]) -> float:
    """``nodes``' value in the tie-break's objective (:func:`tie_weights`)."""
    return sum((w * n for w, n in zip(tie_weights(len(nodes)), nodes, strict=True) if n), 0.0)


def break_tie(
    model: WindowModel, first: WindowSolution, end: float
) -> tuple[tuple[list[int], list[int]] | None, bool]:
    """The (nodes, replicas) of the plan ranked first by :func:`tie_weights` among those that
    cost at most ``first.cost`` + :data:`TIE_TOL` (``first``: the cost step's plan, already at
    ``model``'s demand), or None when that is ``first``'s (or no better one was found before
    ``end``, a ``perf_counter`` time); and whether the search was cut: no time left before
    ``end`` for a plan that may have a tie, or its MILP stopped short of optimal with the
    question open (the plan is then one of the least cost, maybe not the one ranked first;
    the plan's warnings count these windows, ``assemble``); an "infeasible" answer is not.
    ``first`` is the start, so the search only looks for a lower weight; the model's
    objective and cutoff are given back as they were."""
    from scaleplan.solve.milp.pool import run_with_cuts

    if not any(first.nodes):
        return None, False
    pool = tie_pool(model.p.candidates, first.nodes)
    if pool is None:  # no other plan can rank first: nothing to cut
        return None, False
    if first.status == "optimal" and alone_at_cost(model, pool, first):
        # no other node counts cost the same: the MILP could find nothing, nor stop short;
        # before the clock, as a pool of one: nothing to rank, so nothing the deadline cut
        return None, False
    left = end - time.perf_counter()
    if left < MIN_RUN_SECONDS:
        return None, True
    cut, cols = model.cutoff_row.constant, model._cols
    saved = (list(model._values), [v.varValue for v in model.y.values()])
    lo, top = cols
    model._cols = (lo, [t if k in pool else lo[k][0] for k, t in enumerate(top)])
    _objective(model, tie_weights(model.K))
    model.cutoff_row.constant = -(first.cost + TIE_TOL)
    if first.status == "optimal":  # every plan costs at least what the cost step proved
        model.cost_floor = first.cost - COST_TOL - MIP_REL_GAP * abs(first.cost)
    try:
        status = run_with_cuts(model, left, first)
    finally:
        _objective(model, None)
        model.cutoff_row.constant, model._cols = cut, cols
        model.cost_floor = None
    # cut: stopped with the question open, a plan not proved first or none yet ("feasible" /
    # "unknown": HiGHS's time limit, or a stop of the same kind). "infeasible" is an answer,
    # not a cut: the cost step's plan is feasible here, so only a numerical failure can say
    # it; the cost step's plan is kept, and "raise --time-limit" would not help (h5, 2026-12-07)
    cut = status in ("feasible", "unknown")
    if status in ("optimal", "feasible"):
        nodes, reps = counts(model)
        cost = sum((c.price * n for c, n in zip(model.p.candidates, nodes, strict=True) if n), 0.0)
        if cost <= first.cost + TIE_TOL and tie_value(nodes) < tie_value(first.nodes):
            return (nodes, reps), cut
    model._values = saved[0]  # the cost step's values, as WindowModel.solve reads them
    for v, val in zip(model.y.values(), saved[1], strict=True):
        v.varValue = val
    return None, cut


# $/h: the costs around the cost step's c that :func:`alone_at_cost` looks in, [c - BELOW
# - COST_TOL - MIP_REL_GAP c, c + ABOVE]: wider than any the tie-break's MILP keeps ([c -
# COST_TOL - MIP_REL_GAP c, c + TIE_TOL], with HiGHS's feasibility tolerance, 1e-6, on that
# row), far wider than the float error of a sum of prices. The relative part matters: at
# $2,000/h the MILP keeps plans 2e-4 below c (r2 review: a fixed 1e-5 missed them)
ALONE_BELOW = 1e-5
ALONE_ABOVE = 1e-6
# the most partial sums one half of :func:`alone_at_cost`'s search holds, and a quarter of the
# most it builds before filtering them (else the MILP runs)
ALONE_CAP = 200_000


def alone_at_cost(model: WindowModel, pool: set[int], first: WindowSolution) -> bool:
    """Whether ``first``'s node counts are the only ones over ``pool`` (every other candidate
    where the tie-break's MILP holds it, at its lower bound: 0 unless ``first`` uses it, and
    then it is in ``pool``), within the model's column bounds as they are now, whose cost is
    within [c - ALONE_BELOW - COST_TOL - MIP_REL_GAP c, c + ALONE_ABOVE] of ``first``'s cost
    c (the MILP's floor, relative to c, and more). Then the tie-break's
    MILP (cost held in a narrower band) has no other plan to rank, and :func:`break_tie`
    skips it: its answer would be None. Cost alone, a relaxation of that MILP (it drops every
    other row), so True only where the MILP has nothing to find. False where a candidate of
    the pool is priced at $0 (any count of it costs the same) or the search would be large.
    Counted by meeting in the middle: the sums of each half of the pool's counts, then pairs
    in the band. In the zone case of ``bench/solve_bench.py`` the floors' plan holds four
    candidates in four regions, no two of which trade at one cost: each of its windows ran
    that MILP for nothing."""
    import numpy as np

    cands = model.p.candidates
    lo, top = model._cols
    c = first.cost
    ks = sorted(pool)
    halves: list[Any] = [np.zeros(1), np.zeros(1)]
    for i, k in enumerate(ks):
        p = cands[k].price
        if p <= TIE_TOL:
            return False
        a, b = lo[k][0], min(top[k], math.floor((c + ALONE_ABOVE) / p))
        if not a <= first.nodes[k] <= b:
            return False
        h = halves[i % 2]
        if h.size * (b - a + 1) > 4 * ALONE_CAP:  # the sums before the filter, in memory
            return False
        h = (h[:, None] + p * np.arange(a, b + 1, dtype=np.float64)[None, :]).ravel()
        h = h[h <= c + ALONE_ABOVE]
        if h.size > ALONE_CAP:
            return False
        halves[i % 2] = h
    left, right = halves[0], np.sort(halves[1])
    low = c - ALONE_BELOW - COST_TOL - MIP_REL_GAP * abs(c)  # the MILP's floor, and more
    inside = np.searchsorted(right, c + ALONE_ABOVE - left, side="right") - np.searchsorted(
        right, low - left, side="left"
    )
    return int(inside.sum()) == 1  # first's own counts


# a twin trades a of its nodes for b of the other's at the same price, a and b up to 8
TWIN_TRADES = range(1, 9)


def tie_pool(cands: Sequence[Candidate], nodes: Sequence[int]) -> set[int] | None:
    """The candidates the tie-break's MILP may use: those ``nodes`` uses and their twins, of
    the same capacity type, a of whose nodes cost what b of the other's do (a, b <= 8): the
    same node in another region or with another shape, a node of twice the GPUs at twice the
    price, 3 nodes at $0.50/h for 5 at $0.30/h, $0 nodes of one's own; the others are held at
    their lower bound. None when that cannot rank another plan first: one candidate in use,
    priced (fewer of its nodes would cost less than the least cost) and without twins.

    A plan of the same cost over other candidates takes a coincidence of prices; looking for
    it is a search of the whole model again (the zone case of ``bench/solve_bench.py``:
    1.5-2x its time), where over the pool it is ~10 ms a window."""
    used = [k for k, n in enumerate(nodes) if n]
    pool = set(used) | set(twins(cands, used))
    if len(pool) == 1 and cands[used[0]].price > TIE_TOL:
        return None
    return pool


def twins(cands: Sequence[Candidate], used: Sequence[int]) -> list[int]:
    """The candidates of :func:`tie_pool`'s trades: k such that a x k's price is within
    :data:`TIE_TOL` of b x the price of one of ``used`` of k's capacity type (a, b in
    :data:`TWIN_TRADES`). The same products, differences and comparison as a Python loop
    over every k, a, b and price (IEEE doubles either way), as arrays: that loop was ~5 % of
    the zone case of ``bench/solve_bench.py`` (31 calls x 119 candidates x 64 trades)."""
    import numpy as np

    trades = np.asarray(TWIN_TRADES, dtype=np.float64)
    price = np.array([c.price for c in cands], dtype=np.float64)
    kind = [c.capacity_type for c in cands]
    hit = np.zeros(len(cands), dtype=bool)
    for t, p in {(kind[k], cands[k].price) for k in used}:
        of_type = np.array([x == t for x in kind], dtype=bool)
        # |a x price_k - b x p| for every a (first axis), b (second) and candidate k (third)
        gap = np.abs(trades[:, None, None] * price[None, None, :] - (trades * p)[None, :, None])
        hit |= of_type & (gap <= TIE_TOL).any(axis=(0, 1))
    return np.flatnonzero(hit).tolist()


def retie(
    model: WindowModel, sol: WindowSolution, demand: Sequence[float], end: float
) -> WindowSolution:
    """``sol``, a plan the cost step alone found for ``demand`` (``WindowModel.solve(...,
    tie=False)``), ranked by the tie-break as ``WindowModel.solve`` would have: the plan
    :func:`break_tie` keeps under the model's rules as they are now (its held and barred
    candidates), or ``sol``. The floors' branch and bound solves its nodes' windows by cost
    alone and breaks the ties of the plan it keeps only (the others' second MILPs were most
    of its time)."""
    import dataclasses

    if not model.tie_break or sol.status != "optimal":
        return sol
    model._set(demand, None)
    got, cut = break_tie(model, sol, end)
    if got is None:
        return dataclasses.replace(sol, tie_cut=cut) if cut else sol
    nodes, reps = got
    cost = sum((c.price * n for c, n in zip(model.p.candidates, nodes, strict=True) if n), 0.0)
    bound = min(sol.bound, cost) if sol.bound is not None else None
    return dataclasses.replace(
        sol, nodes=nodes, replicas=reps, cost=cost, bound=bound, tie_cut=cut
    )


def _objective(model: WindowModel, weights: list[float] | None) -> None:
    """Point ``model``'s objective at the tie-break's ``weights`` per node, or (None) back at
    the cost."""
    import numpy as np
    import pulp

    from scaleplan.solve.milp.highs import indices

    if model._highs is None:  # CBC: PuLP's model is solved anew each time
        if weights is None:
            model.prob.setObjective(model.cost_expr)
        else:
            terms = list(zip(model.n, weights, strict=True))
            model.prob.setObjective(pulp.LpAffineExpression(terms))
        return
    coef = model._price if weights is None else np.asarray(weights, dtype=np.float64)
    cols = np.asarray(indices(model)["n"], dtype=np.int32)
    model._highs.changeColsCost(len(cols), cols, np.asarray(coef, dtype=np.float64))


def counts(model: WindowModel) -> tuple[list[int], list[int]]:
    """The node and replica counts of the model's last run, as ``WindowModel.solve`` reads them."""
    from scaleplan.solve.milp.highs import indices

    if model._highs is not None:
        ix, vals = indices(model), model._values
        nodes = [round(vals[i]) for i in ix["n"]]
        reps = [round(vals[i]) for i in ix["r"]]
    else:
        nodes = [int_value(v) for v in model.n]
        reps = [int_value(v) for v in model.r]
    if model.p.max_replicas is None:
        reps = model.p.full_replicas(nodes)
    return nodes, reps

