"""Static HTTPRoute weights over several demand windows: the cheapest plan of several starts.

With ``routing: gateway-api`` over more than one distinct demand window the HTTPRoute's
weights are fixed at the peak window's split. :func:`best_static` re-plans the per-window
weighted optimum at a split (:func:`scaleplan.solve.replan.replan_static`) from several
starting mixes, and lets compete each serving shape's own plan as one backend Service and the
plan over the on-demand candidates alone; the cheapest is kept, measured against the
per-window optimum (or :func:`scaleplan.solve.mixbound.mix_bounded`'s bound).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.kube.weights import peak_window
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import WindowSolution
from scaleplan.solve.mixbound import mix_bounded, mix_relaxation, per_type_spares, shape_search
from scaleplan.solve.problem import MAX_ALTERNATIVE_SOLVES, Problem, capacity_bound
from scaleplan.solve.replan import replan_static, static_omits, window_solution
from scaleplan.solve.search import Outcome, search_windows, shape_groups
from scaleplan.solve.split import Split, hold_spot_share, spot_share


def _used_shapes(o: Outcome) -> set[int]:
    """The serving shapes (:func:`scaleplan.solve.search.shape_groups`) ``o`` uses in any
    window."""
    groups = shape_groups(o.cands)
    return {groups[k] for s in o.sols for k in range(len(o.cands)) if s.nodes[k] or s.replicas[k]}


def _one_backend(pb: Problem, o: Outcome) -> bool:
    """Every candidate ``o`` uses, in any window, is of one serving shape: the HTTPRoute has
    one backend Service (weight 100), whose pods of identical capacity share its requests
    evenly, so weights fixed over the day bind nothing and the per-window plan is deployable,
    provided the spot pods' share of them stays within spot.max_fraction in every window."""
    used = _used_shapes(o)
    if len(used) > 1:
        return False
    f = pb.spec.placement.spot.max_fraction
    one = dict.fromkeys(used, 1.0)
    groups = shape_groups(o.cands)
    return all(spot_share(o.cands, groups, one, x.replicas) <= f + 1e-9 for x in o.sols)


def _one_backend_sols(
    pb: Problem, o: Outcome, rps: Sequence[float]
) -> list[WindowSolution] | None:
    """The windows of ``o``, a per-window outcome over one serving shape, as one backend
    Service: each window over max_fraction repaired by :func:`hold_spot_share` (a spot pod
    becomes an on-demand pod of the shape, or an on-demand pod is added), and the routing of
    every window what the Service delivers (each pod an even share of every class); None when
    ``o`` uses several shapes or cannot be repaired."""
    used = _used_shapes(o)
    if len(used) > 1:
        return None
    split, one = Split(pb, o.cands), dict.fromkeys(used, 1.0)
    sols: list[WindowSolution] = []
    for w, (x, d) in enumerate(zip(o.sols, rps, strict=True)):
        reps = list(x.replicas)
        if not hold_spot_share(split, one, reps, d):
            return None
        sol = window_solution(split, w, d, reps, one)
        if isinstance(sol, InfeasibleReason):
            return None
        if reps == list(x.replicas):  # unchanged: the MILP's nodes (zone spreads may add some)
            sol = replace(x, routing=sol.routing, demand=sol.demand)
        sols.append(sol)
    return sols


def best_static(pb: Problem, dyn: Outcome, rps: Sequence[float], deadline: float) -> Outcome:
    """The cheapest static-weight plan among :func:`replan_static` started from the weighted
    MILP's peak window and from each instance type's own peak-window optimum (a mix that is
    cheapest at the peak can cost more over the day than one type scaled up and down: every
    type in the HTTPRoute keeps its share, and its own n+1 / zone spare, in every hour), each
    shape's own per-window plan (:func:`_shape_plans`) and the plan on the on-demand candidates
    alone (:func:`_on_demand_plan`). A weighted optimum over one serving shape
    (:func:`_one_backend`) is returned as it is, but with several classes under n+1 / zone
    (:func:`per_type_spares`: that optimum is then no bound, and its plan pays a spare per
    type), where it competes and every plan is measured against :func:`mix_bounded`."""
    cands = dyn.cands
    spares = per_type_spares(pb)
    if _one_backend(pb, dyn) and not spares:
        sols = _one_backend_sols(pb, dyn, rps)
        assert sols is not None  # within max_fraction: nothing to repair
        return replace(dyn, sols=sols)
    pw = peak_window(rps)
    # one window, or a day under n+1 / zone (where the per-class MILP bounds nothing): over a
    # day it is one more search of every window (168 MILPs), for a bound little tighter than
    # the per-class one without redundancy (bench: gaps 1.39 -> 1.37 %, 4.00 -> 3.56 %)
    one_window = pb.mixed_stream and not pb.hourly_weights(rps)
    mix = mix_relaxation(pb, cands, rps, deadline) if one_window or spares else None
    first = dyn
    if spares:
        dyn = mix_bounded(pb, dyn, mix, rps, deadline)
    elif mix is not None and mix.floor > dyn.floor:  # the tighter bound of the two relaxations
        dyn = replace(dyn, cost=mix.floor, bound=mix.floor) if dyn.status == "optimal" else (
            replace(dyn, bound=mix.floor)
        )
    tries: list[tuple[Outcome, InfeasibleReason | None]] = [replan_static(pb, dyn, rps)]
    if spares and _one_backend(pb, first):  # a plan, measured against the valid bound
        sols = _one_backend_sols(pb, first, rps)
        assert sols is not None  # within max_fraction: nothing to repair
        tries.append((_measured(pb, first.cands, sols, dyn, rps), None))
    if mix is not None:
        tries.append(replan_static(pb, dyn, rps, mix.sols[pw].replicas))
    groups: dict[tuple[str, str], list[int]] = {}
    for k, c in enumerate(cands):
        groups.setdefault((c.row.provider, c.row.instance_type), []).append(k)

    def cheapest_per_rps(ks: list[int]) -> float:
        return min(
            cands[k].price / (cands[k].replicas_per_node * (pb.mixed_capacity(cands[k]) or 1e-12))
            for k in ks
        )

    if len(groups) > 1:
        order = sorted(groups.items(), key=lambda kv: (cheapest_per_rps(kv[1]), kv[0]))
        for _, ks in order[:MAX_ALTERNATIVE_SOLVES]:
            if time.perf_counter() > deadline:
                break
            one = search_windows(
                pb, [cands[k] for k in ks], [rps[pw]], deadline=deadline, tie_break=False
            )
            if not one.solved:
                continue
            start = [0] * len(cands)
            for j, k in enumerate(ks):
                start[k] = one.sols[0].replicas[j]
            tries.append(replan_static(pb, dyn, rps, start))
    ok = [t for t, reason in tries if reason is None]
    incumbent = min((t.cost for t in ok), default=math.inf)
    ok += _shape_plans(pb, dyn, rps, _shapes_in(dyn, ok), deadline, incumbent)
    incumbent = min((t.cost for t in ok), default=math.inf)
    od, od_plan = _on_demand_plan(pb, dyn, rps, deadline, incumbent)
    ok += od
    if not ok:
        reason = tries[0][1]
        assert reason is not None
        raise InfeasibleError([reason])
    best = min(ok, key=lambda t: round(t.cost, 9))  # first on ties: the MILP's own mix
    return replace(best, on_demand=od_plan) if od_plan is not None else best


def _shapes_in(dyn: Outcome, plans: Sequence[Outcome]) -> list[int]:
    """The serving shapes (:func:`scaleplan.solve.search.shape_groups`) the weighted optimum
    uses in some window, and the shape of each of ``plans`` that uses one only."""
    out = _used_shapes(dyn)
    for o in plans:
        if len(one := _used_shapes(o)) == 1:
            out |= one
    return sorted(out)


def _cannot_win(
    pb: Problem, cands: Sequence[Candidate], rps: Sequence[float], incumbent: float
) -> bool:
    """No plan the static step builds over ``cands`` (:func:`best_static`,
    :func:`_shape_plans`) can cost less than ``incumbent``: :func:`capacity_bound` (no solve)
    is at least it. Exact: every window of such a plan is a window MILP's plan, which routes
    the demand as the search states it with headroom, or one sized or repaired at the split
    (:meth:`Split.need`, :func:`window_ok`), whose pods carry the demand with headroom at
    their capacity for the class mix; either costs at least the bound (it takes the smaller
    demand), the second within the spec's 1e-6 on the shares' sum, which the margin covers
    with the bound's float sums and the checks' 1e-9 tolerances."""
    cap = capacity_bound(pb, cands, rps, as_searched=True)
    return cap is not None and cap - 2e-6 * max(1.0, cap) >= incumbent


def _shape_plans(
    pb: Problem, dyn: Outcome, rps: Sequence[float], shapes: Sequence[int], deadline: float,
    incumbent: float = math.inf,
) -> list[Outcome]:
    """The weighted per-window optimum over each of ``shapes``' candidates alone as one
    backend Service (weight 100; :func:`_one_backend_sols`: spot pods within max_fraction in
    every window, repaired where they are not), measured against ``dyn``, the per-window
    optimum over every candidate. (The static re-plan sizes each instance and capacity type
    of one shape for its own share, and spare, every hour.) A shape whose plan could not be
    strictly cheaper than ``incumbent`` or a plan before it (:func:`_cannot_win`) is not
    searched: it could not be taken."""
    groups = shape_groups(dyn.cands)
    out: list[Outcome] = []
    for g in shapes[:MAX_ALTERNATIVE_SOLVES]:
        if time.perf_counter() > deadline:
            break
        sub = [c for c, gc in zip(dyn.cands, groups, strict=True) if gc == g]
        if _cannot_win(pb, sub, rps, min([incumbent, *(o.cost for o in out)])):
            continue
        if per_type_spares(pb):  # the class-mix question: one spare per Service
            one = shape_search(pb, sub, rps, deadline)
        else:
            one = search_windows(pb, sub, rps, deadline=deadline, tie_break=False)
        sols = _one_backend_sols(pb, one, rps) if one.solved else None
        if sols is None:
            continue
        out.append(_measured(pb, sub, sols, dyn, rps))
    return out


def _measured(
    pb: Problem, cands: list[Candidate], sols: list[WindowSolution], dyn: Outcome,
    rps: Sequence[float],
) -> Outcome:
    """A one-backend day ``sols`` over ``cands`` measured against ``dyn``'s floor, a lower
    bound on every plan (``optimal`` only when it meets that bound and the bound is proven)."""
    cost = sum(x.cost for x in sols) / len(sols)
    lo = min(dyn.floor, cost)
    proven = dyn.status == "optimal"
    status = "optimal" if proven and cost - lo <= 1e-9 else "feasible"
    s, _ = Split(pb, cands).shares(sols[peak_window(rps)].replicas)
    omits = static_omits(pb, rps, proven)
    return Outcome(cands, sols, status, cost, lo, shares=s, lower=lo, proven=proven, omits=omits)


def _on_demand_plan(
    pb: Problem, dyn: Outcome, rps: Sequence[float], deadline: float, incumbent: float = math.inf
) -> tuple[list[Outcome], Outcome | None]:
    """With spot candidates: the static-weight plan over the on-demand candidates alone (what
    the all-on-demand baseline solves), measured against ``dyn``. Every plan all on-demand is
    one allowed spot, but the starts above are drawn from optima with spot in them and can all
    miss the on-demand mix the baseline starts from (an L4 + T4 day at $2.08/h beside $2.25/h
    for L4 alone). [] when there is no spot candidate or no such plan; and that plan as
    :func:`solve_plan` returns it over those candidates (the all-on-demand baseline, which
    :func:`scaleplan.solve.compare.baselines` then need not solve again), else None. It is
    skipped when a lower bound on it is no cheaper than ``incumbent``, the best static plan
    found so far: it could not win (a plan is taken only when strictly cheaper). First
    :func:`capacity_bound` (no solve), then the per-window optimum over the on-demand
    candidates (the search its static re-plan starts from)."""
    od = [c for c in dyn.cands if c.capacity_type == "on-demand"]
    if not od or len(od) == len(dyn.cands) or time.perf_counter() > deadline:
        return [], None
    if _cannot_win(pb, od, rps, incumbent):
        return [], None
    o = search_windows(pb, od, rps, deadline=deadline, tie_break=False)
    if not o.solved:
        return [], o
    if round(o.floor, 9) >= round(incumbent, 9):
        return [], None
    try:
        best = best_static(pb, o, rps, deadline)
    except InfeasibleError:
        return [], Outcome(od, o.sols, "infeasible", math.inf, math.inf)
    lower = min(dyn.floor, best.cost)
    proven = dyn.status == "optimal"
    status = "optimal" if proven and best.cost - lower <= 1e-9 else "feasible"
    s = best.shares or Split(pb, od).shares(best.sols[peak_window(rps)].replicas)[0]
    omits = static_omits(pb, rps, proven)
    plan = replace(
        best, status=status, bound=lower, shares=s, lower=lower, proven=proven, omits=omits
    )
    return [plan], best
