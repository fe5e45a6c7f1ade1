"""Static HTTPRoute weights: re-planning a weighted outcome so every window keeps one split.

With ``routing: gateway-api`` over more than one distinct demand window the HTTPRoute's
weights are fixed at the peak window's split. :func:`replan_static` turns a per-window weighted
optimum into a plan that serves every window at that split, :func:`best_static` picks the
cheapest of several starting mixes, and :func:`solve_plan` is the search followed by that
re-planning (what the alternatives and baselines solve).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.kube.weights import peak_window
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.delivered import hold_delivered_loss, loss_short, rounded_spot_share
from scaleplan.solve.milp import WindowSolution
from scaleplan.solve.mixbound import mix_bounded, mix_relaxation, per_type_spares, shape_search
from scaleplan.solve.problem import (
    MAX_ALTERNATIVE_SOLVES,
    Problem,
    capacity_bound,
    quota_scopes,
)
from scaleplan.solve.search import Outcome, search_windows, shape_groups
from scaleplan.solve.split import (
    Split,
    group_weights,
    hold_spot_share,
    spot_share,
    spot_step,
    spread,
    trim_nodes,
)


def static_reason(message: str) -> InfeasibleReason:
    return InfeasibleReason(
        "routing",
        "kubernetes.routing is gateway-api: the HTTPRoute's weights are fixed at the peak "
        f"window's split, and {message}",
        "relax placement.max_replicas or the quotas, or set traffic.peak_rps (one window)",
    )


def _rounding_reason() -> InfeasibleReason:
    return InfeasibleReason(
        "routing",
        "kubernetes.routing is gateway-api: the HTTPRoute's integer weights send more than "
        "spot.max_fraction of the requests to spot pods, and with max_fraction lowered by the "
        "overshoot no plan holds it",
        "raise placement.spot.max_fraction (or relax the other placement rules)",
    )


def _peak_step(
    split: Split, r_peak: list[int], peak: float, spot_rule: bool
) -> bool | InfeasibleReason:
    """One step of :func:`_stable_peak` on ``r_peak`` (in place): False when it is stable."""
    pb, cands = split.pb, split.cands
    f = pb.spec.placement.spot.max_fraction
    s, e = split.shares(r_peak)
    on_demand = sum(s[k] for k, c in enumerate(cands) if c.capacity_type == "on-demand")
    if spot_rule and on_demand < 1 - f - 1e-9:
        w = group_weights(split, r_peak)
        step = spot_step(split, w, r_peak, peak)
        if step is not None and step[1] is not None:  # a spot pod becomes on-demand
            r_peak[step[0]] += 1
            r_peak[step[1]] -= 1
            return True
        od = [
            k
            for k, c in enumerate(cands)
            if c.capacity_type == "on-demand" and r_peak[k] and split.mcap[k] > 0
        ]
        if not od:
            return static_reason(
                f"no on-demand type is in use at the peak to carry {1 - f:.0%} of the traffic"
            )
        r_peak[split.cheapest(od)] += 1
        return True
    short = split.loss_short(r_peak, e, peak)
    if short is not None:  # survive_loss: a group's on-demand members take its share
        ks, od_ks = short
        if od_ks:
            r_peak[split.cheapest(od_ks)] += 1
        else:  # no on-demand member: the group gets no traffic
            for k in ks:
                r_peak[k] = 0
            if not any(r_peak):
                return static_reason(
                    "no serving shape has on-demand replicas to survive a spot loss"
                )
        return True
    new = [max(r_peak[k], split.need(k, e[k], peak)) if s[k] > 0 else 0 for k in range(len(cands))]
    changed = new != r_peak
    r_peak[:] = new
    return changed


def _stable_peak(split: Split, r_peak: list[int], peak: float) -> list[int] | InfeasibleReason:
    """Grow the peak replicas until the weights they imply are stable (spot rule included),
    then drop the dearest node while what is left is stable too (the spot rule's added
    on-demand pods may be spare once the spot pods they allowed to convert have)."""
    pl, cands = split.pb.spec.placement, split.cands
    if pl.redundancy == "zone":  # no number of pods in one zone survives losing it: no share
        r_peak[:] = [0 if c.zones < 2 else r for r, c in zip(r_peak, cands, strict=True)]
        if not any(r_peak):
            return static_reason("every type in use runs in one zone, and redundancy is zone")
    spot_rule = (
        pl.spot.allowed
        and pl.spot.max_fraction < 1
        and any(r_peak[k] and c.capacity_type == "spot" for k, c in enumerate(cands))
    )
    for _ in range(1000):
        step = _peak_step(split, r_peak, peak, spot_rule)
        if isinstance(step, InfeasibleReason):
            return step
        if not step:
            break
    else:
        return static_reason("no stable split was found")

    def stable(v: list[int]) -> bool:
        return any(v) and _peak_step(split, v[:], peak, spot_rule) is False

    return trim_nodes(cands, r_peak, stable)


def _window_reps(
    split: Split, r_peak: list[int], s: Sequence[float], e: Sequence[float], d: float, peak: float
) -> list[int]:
    """One window's replicas at the split: each type's own need (the peak replicas at the
    peak), survive_loss's on-demand top-up per group, then min_replicas on the largest share."""
    K = len(split.cands)
    reps = list(r_peak) if d == peak else [split.need(k, e[k], d) for k in range(K)]
    for _ in range(10_000):  # survive_loss: top up each group's on-demand members
        short = split.loss_short(reps, e, d)
        if short is None or not short[1]:
            break
        reps[split.cheapest([k for k in short[1] if s[k] > 0] or short[1])] += 1
    min_replicas = split.pb.spec.placement.min_replicas
    if min_replicas > sum(reps):  # min_replicas tops up the largest share
        top = max((k for k in range(K) if s[k] > 0), key=lambda k: (e[k], -k))
        reps[top] += min_replicas - sum(reps)
    return reps


def window_solution(
    split: Split, w: int, d: float, reps: list[int], share: dict[int, float],
    reason: Callable[[str], InfeasibleReason] | None = None,
) -> WindowSolution | InfeasibleReason:
    """Window ``w``'s solution for replicas ``reps``: nodes, cost, max_replicas and quotas
    checked (a breach worded by ``reason``, :func:`static_reason` by default: the route's
    weights fixed at the peak's split); routing as delivered, backend group g's share
    (``share``) over its pods evenly."""
    reason = reason or static_reason
    pb, cands = split.pb, split.cands
    K = len(cands)
    pl = pb.spec.placement
    nodes = [math.ceil(reps[k] / cands[k].replicas_per_node) for k in range(K)]
    if pl.max_replicas is not None and sum(reps) > pl.max_replicas:
        return reason(
            f"window {w} then needs {sum(reps)} replicas, more than "
            f"placement.max_replicas = {pl.max_replicas}"
        )
    for q in quota_scopes(pb.spec, cands):
        used = sum(cands[k].gpus_per_node * nodes[k] for k in q.members)
        if used > q.limit:
            return reason(
                f"window {w} then needs {used} GPUs in quota {q.label}, more than its {q.limit}"
            )
    x = spread(split, share, reps)
    routing = [
        [x[k] if (d > 0 and cands[k].cap(cls)) else 0.0 for k in range(K)] for cls, _ in pb.classes
    ]
    return WindowSolution(
        status="feasible", nodes=nodes, replicas=reps, routing=routing,
        cost=sum(nodes[k] * cands[k].price for k in range(K)), bound=None,
        demand=tuple(d * sh for _, sh in pb.classes),
    )


def _windows_at_split(
    split: Split, r_peak: list[int], rps: Sequence[float]
) -> list[WindowSolution] | InfeasibleReason:
    """Every window's plan at the split the peak replicas ``r_peak`` imply. Pods of one
    serving shape share one backend Service, which spreads its weight's requests evenly over
    them whatever the window: each window then holds spot.max_fraction as delivered
    (:func:`hold_spot_share`), and its routing is that delivery: the route's integer weight
    of the group (:func:`group_weights` on the peak after its min_replicas top-up and spot
    repair, what render writes) x its pod share."""
    pb = split.pb
    pl = pb.spec.placement
    pw = peak_window(rps)
    peak = rps[pw]
    s, e = split.shares(r_peak)
    spot_rule = pl.spot.allowed and pl.spot.max_fraction < 1
    reps_w = {pw: _window_reps(split, r_peak, s, e, peak, peak)}
    if spot_rule and not hold_spot_share(split, None, reps_w[pw], peak):
        return static_reason(f"window {pw} then sends more than spot.max_fraction to spot pods")
    weights = group_weights(split, reps_w[pw])  # render's, from the repaired peak
    sols: list[WindowSolution] = []
    for w, d in enumerate(rps):
        if w not in reps_w:
            reps_w[w] = _window_reps(split, r_peak, s, e, d, peak)
            if spot_rule and not hold_spot_share(split, weights, reps_w[w], d):
                return static_reason(
                    f"window {w} then sends more than spot.max_fraction to spot pods"
                )
        sol = window_solution(split, w, d, reps_w[w], weights)
        if isinstance(sol, InfeasibleReason):
            return sol
        sols.append(sol)
    return sols


def _tightened(
    pb: Problem, o: Outcome, rps: Sequence[float], over: float, deadline: float, tie_break: bool
) -> Outcome | None:
    """The search again with spot.max_fraction lowered by what the rounding added (at least a
    tenth of a point), up to five times, until the share as delivered holds the spec's; None
    when it does not."""
    spot = pb.spec.placement.spot
    f = g = spot.max_fraction
    for _ in range(5):
        if g <= 0:
            return None
        g = max(0.0, g - max(over - f, 1e-3))
        tight = pb.with_spot(max_fraction=g)
        t = search_windows(tight, o.cands, rps, deadline=deadline, tie_break=tie_break)
        if not t.solved:
            return None
        over = rounded_spot_share(Split(pb, t.cands), t, rps)
        if over <= f + 1e-9:
            return t
    return None


def hold_rounded_spot(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, *, tie_break: bool = True
) -> Outcome:
    """routing: gateway-api over one demand window: ``o`` held spot capacity <= max_fraction x
    capacity (``WindowProblem.spot_by_capacity``), the spot share the HTTPRoute delivers before
    its weights are rounded to integers; rounding (:func:`group_weights`) can move a backend's
    weight by a point and the share over the limit. Then the search again with max_fraction
    lowered by the overshoot (:func:`_tightened`): a heuristic step, so the plan is
    ``feasible``, measured against ``o``, and says so in its ``note``. ``o`` itself when it
    holds the limit as delivered (or the rule does not apply); InfeasibleError when the
    tightened search finds no plan that holds it."""
    spot = pb.spec.placement.spot
    one_window = pb.spec.kubernetes.routing == "gateway-api" and not pb.static_weights(rps)
    if not (o.solved and one_window and spot.allowed and spot.max_fraction < 1):
        return o
    split = Split(pb, o.cands)
    over = rounded_spot_share(split, o, rps)
    if over <= spot.max_fraction + 1e-9:
        return o
    best = _tightened(pb, o, rps, over, deadline, tie_break)
    if best is None:
        raise InfeasibleError([_rounding_reason()])
    lower = min(o.floor, best.cost)
    gap = (best.cost - lower) / best.cost if best.cost > 0 else 0.0
    note = (
        f"spot.max_fraction {spot.max_fraction:g}: the HTTPRoute's integer weights put "
        f"{over:.1%} of the requests on spot pods in the cheapest plan with spot capacity <= "
        f"max_fraction x capacity (${o.cost:.2f}/h); this plan holds the limit as delivered "
        f"and is feasible, within {gap:.2%} of that plan (not proven optimal)"
    )
    proven = o.status == "optimal"
    return replace(best, status="feasible", bound=lower, proven=proven, note=note, stats=o.stats)


def replan_static(
    pb: Problem, o: Outcome, rps: Sequence[float], start: Sequence[int] | None = None
) -> tuple[Outcome, InfeasibleReason | None]:
    """Re-plan a weighted per-window outcome for static HTTPRoute weights.

    The peak replicas (``start``, default the MILP's peak window) only grow, so the weights
    are re-derived until they are stable (:class:`Split` says how each type is sized);
    min_replicas tops up the largest share. Types outside the peak get no traffic and no
    replicas. ``o`` (the per-window weighted optimum over the same candidates) is the lower
    bound the result is measured against.
    """
    split = Split(pb, o.cands)
    pw = peak_window(rps)
    r_peak = _stable_peak(split, list(start if start is not None else o.sols[pw].replicas), rps[pw])
    if isinstance(r_peak, InfeasibleReason):
        return o, r_peak
    sols = _windows_at_split(split, r_peak, rps)
    if isinstance(sols, InfeasibleReason):
        return o, sols
    s, _ = split.shares(sols[pw].replicas)  # the peak as rendered, after its repair
    cost = sum(x.cost for x in sols) / len(sols)
    lower = o.floor
    lower = min(lower, cost)
    gap = (cost - lower) / cost if cost > 0 else 0.0
    status = "optimal" if gap <= 1e-9 and o.status == "optimal" else "feasible"
    proven = o.status == "optimal"
    return Outcome(o.cands, sols, status, cost, lower, shares=s, lower=lower, proven=proven), None


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
    return Outcome(cands, sols, status, cost, lo, shares=s, lower=lo, proven=proven)


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
    return [replace(best, status=status, bound=lower, shares=s, lower=lower, proven=proven)], best


def solve_plan(
    pb: Problem,
    cands: list[Candidate],
    rps: Sequence[float],
    *,
    deadline: float,
    tie_break: bool = True,
) -> Outcome:
    """:func:`search_windows`, then :func:`after_search`; an outcome that cannot be re-planned
    for static weights (or held as delivered) comes back infeasible."""
    if pb.static_weights(rps):
        cands = [c for c in cands if pb.mixed_capacity(c) is not None]
    o = search_windows(pb, cands, rps, deadline=deadline, tie_break=tie_break)
    if not o.solved:
        return o
    try:
        return after_search(pb, o, rps, deadline, tie_break=tie_break)
    except InfeasibleError:
        return Outcome(cands, o.sols, "infeasible", math.inf, math.inf)


def after_search(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, *, tie_break: bool = True
) -> Outcome:
    """What follows :func:`search_windows` on a solved outcome: static HTTPRoute weights
    :func:`best_static` (one window with several classes:
    :func:`scaleplan.solve.mixwindow.mixed_one_window`), else (one window)
    :func:`hold_rounded_spot` then :func:`scaleplan.solve.delivered.hold_delivered_loss`;
    InfeasibleError as they raise it. ``kubernetes.class_header`` over a curve:
    :func:`scaleplan.solve.rulecurve.class_rules_day`."""
    if pb.class_rules_by_hour(rps):
        from scaleplan.solve.rulecurve import class_rules_day  # it uses this module

        return class_rules_day(pb, o, rps, deadline, tie_break)
    if pb.static_weights(rps):
        if pb.mixed_stream and not pb.hourly_weights(rps):  # exact: the one-class plan
            from scaleplan.solve.mixwindow import mixed_one_window  # it uses best_static

            return _checked(pb, mixed_one_window(pb, o, rps, deadline, tie_break), rps)
        return _checked(pb, best_static(pb, o, rps, deadline), rps)
    o = hold_rounded_spot(pb, o, rps, deadline, tie_break=tie_break)
    return hold_delivered_loss(pb, o, rps, deadline, tie_break=tie_break)


def _checked(pb: Problem, o: Outcome, rps: Sequence[float]) -> Outcome:
    """A static-weights plan checked as the HTTPRoute delivers it (:func:`loss_short`: every
    backend's share of every class at the peak's integer weights, with headroom and after the
    losses the spec asks it to survive). The re-plan sizes every type for that by construction,
    so a shortfall is a defect of it: said in the plan's warnings, not hidden."""
    short = loss_short(Split(pb, o.cands), o, rps)
    if short is None:
        return o
    rule = {"headroom": "traffic.headroom", "spot": "spot.survive_loss"}.get(short.rule, short.rule)
    note = (
        f"as the HTTPRoute delivers it, a backend carries {short.load:.1%} of its pods' "
        f"capacity for the class mix where {rule} leaves {short.kept:.1%} (a defect of the "
        "static-weights re-plan: check the plan with scaleplan simulate)"
    )
    return replace(o, note=f"{o.note}; {note}" if o.note else note)
