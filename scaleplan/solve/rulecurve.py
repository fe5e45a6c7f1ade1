"""``kubernetes.class_header`` over a daily curve: per-class HTTPRoute weights fixed all day.

The HTTPRoute has one rule per request class, and its weights cannot change by hour; the
autoscaler changes each Deployment's replica count. Class shares are the same every hour
(``traffic.classes``), so under fixed per-class weights W_cg (the share of class c that
backend Service g receives) backend g receives the share S_g = sum_c s_c W_cg of every hour's
demand D_w, always at the same class mix, whose per-pod capacity m_g is fixed too: every
hour's load on g is S_g D_w at m_g, and the rules (headroom, n+1 / zone, survive_loss,
spot.max_fraction as delivered, min_replicas) read only those, as one class does.

:func:`class_rules_day` (docs/optimizer.md, "Class header over a daily curve") is a
heuristic. Weight sets compete and the cheapest day is kept: the peak window's per-class
optimum as the one-window ``class_header`` plan makes it (the search over the peak alone,
then spot.max_fraction at the rules' integer weights,
:func:`scaleplan.solve.spot_rounding.hold_rounded_spot`), the per-class optimum of each other demand
level (:func:`_other_hours`), and the class-blind route's plan over the curve with every class
at its weights (:func:`_blind`: one weight set for every class delivers what the class-blind
route does, so the day never costs more than that plan). Every window is sized at the fixed
rules (:func:`_day`): the source hour's pods of each type scaled to the hour's demand (or the
class-blind plan's own pods), grown where a backend falls short of a rule (:func:`_grow`),
then the dearest node dropped while every rule still holds
(:func:`scaleplan.solve.split.trim_nodes`). The day is measured against the per-window
per-class optimum over the same candidates (each hour routed on its own, which one HTTPRoute
cannot deliver): ``optimal`` only when it meets it, else ``feasible`` with the gap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.kube.weights import peak_window, rule_weights
from scaleplan.solve.after_search import solve_plan
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import WindowSolution
from scaleplan.solve.milp.window import group_members
from scaleplan.solve.omission import Left, Omission
from scaleplan.solve.oppoints import floor4
from scaleplan.solve.problem import MAX_ALTERNATIVE_SOLVES, Problem
from scaleplan.solve.replan import window_solution
from scaleplan.solve.search import Outcome, floor_without_redundancy, search_windows, shape_groups
from scaleplan.solve.split import (
    Split,
    group_weights,
    short_backend,
    spot_share,
    spot_step,
    spread,
    trim_nodes,
    window_ok,
)
from scaleplan.solve.spot_rounding import hold_rounded_spot

# one day at fixed class rules: each window's solution, each candidate's share of all requests
# at the peak, whether the per-class MILP's optimum bounds it (:func:`_provable`)
Day = tuple[list[WindowSolution], list[float], bool]


class RuleSplit(Split):
    """:class:`Split` over the backends the class rules weigh: ``groups[k]`` candidate k's
    backend Service as render groups the plan's allocations
    (:func:`scaleplan.kube.backends.group_allocations`; candidates that are no allocation are
    alone and take nothing), ``mcap[k]`` one pod's capacity at the class mix its backend's
    rules send it (the weights as rendered; floored to 4 decimals)."""

    def __init__(
        self, pb: Problem, cands: list[Candidate], groups: Sequence[int], mcap: Sequence[float]
    ) -> None:
        self.pb = pb
        self.cands = cands
        self.mcap = list(mcap)
        self.wcap = list(mcap)
        self.groups = tuple(groups)
        self.members = group_members(self.groups, [k for k, m in enumerate(mcap) if m > 0])

    def spot_loss_ok(self, ks: Sequence[int], reps: Sequence[int], load: float) -> bool:
        """:meth:`Split.spot_loss_ok`, but a backend of spot members only holds: the peak plan
        routed its classes apart from the on-demand pods of its shape, so render gives it a
        Service of its own that no on-demand pod can join, at any hour (the plan's warnings
        say what its share of the requests loses to a spot reclaim, as over one window)."""
        if all(self.cands[k].capacity_type == "spot" for k in ks):
            return True
        return super().spot_loss_ok(ks, reps, load)


def _rules(
    pb: Problem, plan: Outcome, rps: Sequence[float]
) -> tuple[RuleSplit, dict[int, float], dict[str, dict[int, float]]]:
    """The class rules of ``plan`` (windows ``rps``; its peak window's routing, what the plan
    records) as render writes them: the split over its backends (its allocations grouped as
    render groups them), each backend's share S_g of all requests, and per class each
    backend's share W_cg of it (its rule's integer weights,
    :func:`scaleplan.kube.weights.rule_weights`, the one rule ``class_weights`` and
    ``class_rule_spot_share`` read, over their total)."""
    from scaleplan.kube.backends import group_allocations
    from scaleplan.solve.assemble import allocations  # assemble sits above this module

    cands = plan.cands
    allocs = allocations(pb, plan, rps)[0]
    used = [k for k in range(len(cands)) if any(x.nodes[k] for x in plan.sols)]
    k_of = {a.name: k for a, k in zip(allocs, used, strict=True)}
    backends = group_allocations(allocs)
    groups = [len(backends) + k for k in range(len(cands))]  # unused: a group of its own
    for g, members in enumerate(backends):
        for a in members:
            groups[k_of[a.name]] = g
    total = sum(s for _, s in pb.classes) or 1.0
    keys = [f"{g:06d}" for g, m in enumerate(backends) for _ in m]
    flat = [a for m in backends for a in m]
    weights: dict[str, dict[int, float]] = {}
    for cls, w in rule_weights(flat, keys, [cls for cls, _ in pb.classes]).items():
        tot = sum(w.values())
        weights[cls] = {g: w[f"{g:06d}"] / tot if tot else 0.0 for g in range(len(backends))}
    share = {
        g: sum(s / total * weights[cls][g] for cls, s in pb.classes) for g in range(len(backends))
    }
    mcap = [0.0] * len(cands)
    for g, members in enumerate(backends):
        c = cands[k_of[members[0].name]]
        inv = sum(
            s / total * weights[cls][g] / cap
            for cls, s in pb.classes
            if weights[cls][g] > 0 and (cap := c.cap(cls))
        )
        m = floor4(share[g] / inv) if inv > 0 else members[0].capacity_rps_per_replica
        for a in members:
            mcap[k_of[a.name]] = m
    return RuleSplit(pb, cands, groups, mcap), share, weights


def _holds(
    split: Split, share: dict[int, float], weights: dict[str, dict[int, float]],
    reps: Sequence[int], d: float,
) -> bool:
    """One window's pods ``reps`` hold every rule as the class rules deliver demand ``d``:
    :func:`window_ok` at the backends' shares of all requests (headroom, n+1 / zone,
    survive_loss, spot.max_fraction of all requests, min_replicas), and spot.max_fraction of
    each class's requests too (``weights``: each rule's backend shares), as the per-class
    MILP the day is measured against holds it, so that its optimum bounds the day."""
    if not window_ok(split, share, reps, d):
        return False
    pl = split.pb.spec.placement
    if not pl.spot.allowed:
        return True
    f = pl.spot.max_fraction
    return all(spot_share(split.cands, split.groups, w, reps) <= f + 1e-9 for w in weights.values())


def _grow(
    split: Split, share: dict[int, float], weights: dict[str, dict[int, float]], reps: list[int],
    d: float,
) -> bool:
    """One step toward :func:`_holds` (in place): min_replicas on the largest share, the first
    class rule over spot.max_fraction as delivered (:func:`spot_step` at its weights), then
    the first backend short of headroom or its n+1 / zone spare (its cheapest member grows)
    or of survive_loss (its cheapest on-demand member grows). False when no step applies."""
    pl, cands = split.pb.spec.placement, split.cands
    if sum(reps) < pl.min_replicas or (d > 0 and not any(reps)):
        top = max(share, key=lambda g: (share[g], -g))
        reps[split.cheapest(split.members[top])] += 1
        return True
    f = pl.spot.max_fraction
    for w in (share, *weights.values()) if pl.spot.allowed else ():
        if spot_share(cands, split.groups, w, reps) <= f + 1e-9:
            continue
        step = spot_step(split, w, reps, d)
        if step is None:
            return False
        reps[step[0]] += 1
        if step[1] is not None:
            reps[step[1]] -= 1
        return True
    short = short_backend(split, share, reps, d)
    if short is None:
        return False
    ks, loss = short  # loss: survive_loss, which its on-demand members alone must hold
    grow = [k for k in ks if cands[k].capacity_type == "on-demand"] if loss else ks
    if not grow:
        return False
    reps[split.cheapest(grow)] += 1
    return True


def _size(
    split: Split, share: dict[int, float], weights: dict[str, dict[int, float]],
    start: Sequence[int], d: float, trim: bool,
) -> list[int] | None:
    """One window's pods at the fixed rules: ``start`` (but none of a candidate the rules do
    not route to: it is no allocation of the plan) grown until every rule holds as delivered
    (:func:`_holds`), then (``trim``) the dearest node dropped while they still do; None when
    no step makes them hold."""
    reps = [r if m > 0 else 0 for r, m in zip(start, split.mcap, strict=True)]
    for _ in range(10_000):
        if _holds(split, share, weights, reps, d):
            break
        if not _grow(split, share, weights, reps, d):
            return None
    else:
        return None
    if not trim:
        return reps
    return trim_nodes(
        split.cands, reps, lambda v: _holds(split, share, weights, v, d),
        split.pb.spec.placement.redundancy,
    )


def _provable(split: RuleSplit, sols: Sequence[WindowSolution]) -> bool:
    """Every rule the per-class MILP holds (n+1 / zone aside, :func:`_bound`) the day holds as
    delivered, so that its optimum bounds the day: False when survive_loss is waived for a
    backend of spot members only (:meth:`RuleSplit.spot_loss_ok`), or where the MILP holds
    spot pods to max_fraction of all pods (one serving shape, or max_fraction 0:
    ``WindowProblem.spot_by_capacity``) and a window has more."""
    pl, cands = split.pb.spec.placement, split.cands
    spot = [k for k, c in enumerate(cands) if c.capacity_type == "spot"]
    f = pl.spot.max_fraction
    one_shape = len(set(shape_groups(cands))) == 1  # the MILP then holds spot pods <= f pods
    for x in sols if pl.spot.allowed and (one_shape or f <= 0) else ():
        if sum(x.replicas[k] for k in spot) > f * sum(x.replicas) + 1e-9:
            return False
    if not pl.spot.survive_loss:
        return True
    return not any(
        all(cands[k].capacity_type == "spot" for k in ks) for ks in split.members.values()
    )


def _routed(
    pb: Problem, split: RuleSplit, weights: dict[str, dict[int, float]], sol: WindowSolution,
    d: float,
) -> WindowSolution:
    """``sol`` with its routing as the class rules deliver it: class c's share of backend g,
    W_cg, spread over g's pods (kube-proxy), so candidate k gets W_cg r_k / pods_g of it
    (:func:`spread`)."""
    routing = [
        spread(split, weights[cls], sol.replicas) if d > 0 else [0.0] * len(sol.replicas)
        for cls, _ in pb.classes
    ]
    return replace(sol, routing=routing)


def _peak_plan(
    pb: Problem, cands: list[Candidate], peak: float, deadline: float, tie_break: bool
) -> Outcome:
    """The one-window ``class_header`` plan at the peak: the per-class search, then
    spot.max_fraction at the rules' integer weights (InfeasibleError as that raises it)."""
    one = search_windows(pb, cands, [peak], deadline=deadline, tie_break=tie_break)
    if not one.solved:
        raise InfeasibleError([_reason("the peak window alone has no plan within the limits")])
    return hold_rounded_spot(pb, one, [peak], deadline, tie_break=tie_break)


def _reason(message: str) -> InfeasibleReason:
    return InfeasibleReason(
        "routing",
        "kubernetes.class_header over a daily curve: the HTTPRoute's per-class weights are "
        f"fixed all day, and {message}",
        "relax placement.max_replicas or the quotas, set traffic.peak_rps (one window), or "
        "remove class_header (a class-blind route)",
    )


def _windows(
    pb: Problem, rules: tuple[RuleSplit, dict[int, float], dict[str, dict[int, float]]],
    peak_sol: WindowSolution, rps: Sequence[float], starts: Sequence[Sequence[int]],
    trim: Sequence[bool], keep: Sequence[WindowSolution | None],
) -> list[WindowSolution] | InfeasibleReason:
    """Every window of ``rps`` at ``rules``: window w's pods from ``starts[w]`` by
    :func:`_size` (trimmed with ``trim[w]``), or ``keep[w]`` when it holds them as it is;
    peak windows record ``peak_sol``'s routing, the rules' (what the plan records), the
    others the routing the rules deliver (:func:`_routed`). ``peak_sol`` itself where it is
    the peak's plan (not another hour's) and the peak's pods are its own."""
    split, share, weights = rules
    peak = max(rps)
    own_peak = sum(peak_sol.demand) >= peak - 1e-6 * max(1.0, peak)
    sols: list[WindowSolution] = []
    for w, d in enumerate(rps):
        kept = keep[w]
        if kept is not None and _holds(split, share, weights, kept.replicas, d):
            sols.append(kept)
            continue
        reps = _size(split, share, weights, starts[w], d, trim=trim[w])
        if reps is None:
            return _reason(f"window {w} cannot be sized to hold every rule")
        if reps == list(peak_sol.replicas) and d >= peak and own_peak:
            sols.append(peak_sol)  # the peak's own plan: its routing is what the rules send
            continue
        sol = window_solution(split, w, d, reps, share, _reason)
        if isinstance(sol, InfeasibleReason):
            return sol
        sol = _routed(pb, split, weights, sol, d)
        sols.append(replace(sol, routing=peak_sol.routing) if d >= peak else sol)
    return sols


def _day(
    pb: Problem, plan: Outcome, plan_rps: Sequence[float], rps: Sequence[float],
    starts: Sequence[Sequence[int]], trim_peak: bool = False,
) -> Day | InfeasibleReason:
    """Every window of ``rps`` at the class rules of ``plan`` (windows ``plan_rps``: one
    window, or the day; the routing of its busiest window): window w's pods from ``starts[w]``
    by :func:`_size` (peak windows trimmed only with ``trim_peak``: else they are the peak
    plan's pods, grown only where a rule does not hold as delivered). Then checked at the
    rules render writes from the day's own allocations, and grown where one does not hold: a
    member the sizing left without pods in every window is no allocation, and the class
    weights of its backend's rules are what its mates record. With each candidate's share of
    all requests at the peak and whether the per-class MILP bounds it (:func:`_provable`)."""
    peak = max(rps)
    peak_sol = plan.sols[peak_window(plan_rps)]
    trim = [trim_peak or d < peak for d in rps]
    none: list[WindowSolution | None] = [None] * len(rps)
    sols = _windows(pb, _rules(pb, plan, plan_rps), peak_sol, rps, starts, trim, none)
    if isinstance(sols, InfeasibleReason):
        return sols
    rules = _rules(pb, replace(plan, sols=sols), rps)  # as rendered from this day
    grown = [list(x.replicas) for x in sols]
    sols = _windows(pb, rules, peak_sol, rps, grown, [False] * len(rps), sols)
    if isinstance(sols, InfeasibleReason):
        return sols
    split, share, _ = rules
    return sols, spread(split, share, sols[peak_window(rps)].replicas), _provable(split, sols)


def _blind(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float, tie_break: bool
) -> Outcome | None:
    """The class-blind route's plan over the curve (:func:`scaleplan.solve.after_search.solve_plan`
    with class_header unset, over the candidates that serve every class) as class rules: its
    peak window with every class routed at the route's weights (:func:`group_weights`: each
    backend its weight's share of every class, spread over its pods); None
    when it has no plan. Rules with one weight set for every class deliver what the
    class-blind route does, so that plan is one the class rules can run."""
    k8s = pb.spec.kubernetes.model_copy(update={"class_header": None})
    blind = replace(pb, spec=pb.spec.model_copy(update={"kubernetes": k8s}))
    serving = [c for c in cands if blind.mixed_capacity(c) is not None]
    if not serving or time.perf_counter() > deadline:
        return None
    ob = solve_plan(blind, serving, rps, deadline=deadline, tie_break=tie_break)
    if not ob.solved:
        return None
    pw = peak_window(rps)
    split = Split(blind, ob.cands)
    x = ob.sols[pw]
    row = spread(split, group_weights(split, x.replicas), x.replicas)
    sols = list(ob.sols)
    sols[pw] = replace(x, routing=[list(row) for _ in pb.classes])
    return replace(ob, sols=sols, status="feasible", note="")


def _other_hours(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float
) -> list[tuple[Outcome, Day | InfeasibleReason]]:
    """The per-class optimum of each other demand level (``o``'s window MILPs, the busiest
    first, at most :data:`MAX_ALTERNATIVE_SOLVES`, within the deadline) as the rules held all
    day: its routing, each window's pods its own scaled to the hour's demand (:func:`_day`).
    Weights cheapest at the peak can cost more over the day than those of a quieter hour (a
    type the peak's plan routes a sliver of a class to keeps a pod, and its spare, every
    hour). Each is the one-window outcome of its hour, ``rules_hour`` set."""
    peak = max(rps)
    out: list[tuple[Outcome, Day | InfeasibleReason]] = []
    for d_w in sorted(set(rps) - {peak}, reverse=True)[:MAX_ALTERNATIVE_SOLVES]:
        w = list(rps).index(d_w)
        src = o.sols[w]
        if d_w <= 0 or not src.routing or time.perf_counter() > deadline:
            continue
        one = Outcome(o.cands, [src], "feasible", src.cost, src.cost, rules_hour=w)
        starts = [[math.ceil(r * d / d_w - 1e-9) for r in src.replicas] for d in rps]
        out.append((one, _day(pb, one, [d_w], rps, starts, trim_peak=True)))
    return out


def _bound(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float
) -> tuple[float, bool, tuple[Omission, ...]]:
    """A lower bound on every day at fixed class rules over ``o``'s candidates, whether it
    is proven (its searches optimal), and what it leaves out besides the rules' one weight set
    all day: ``o``'s (the per-window per-class MILP: each hour routed on its own, every rule a
    day holds as delivered a row it relaxes, :func:`_provable`), but under n+1 / zone that
    MILP's multi-class rows keep a spare node per type where one backend Service needs one
    (docs/optimizer.md, "One window, several classes"), which no fixed route need pay:
    :func:`floor_without_redundancy` (the same search without redundancy, else
    :func:`scaleplan.solve.problem.capacity_bound`), which leaves the redundancy out."""
    red = pb.spec.placement.redundancy
    if red == "none":
        return o.floor, o.status == "optimal", ()
    floor, proven = floor_without_redundancy(pb, o.cands, rps, deadline)
    return floor, proven, (Omission(Left.RULES_REDUNDANCY, red),)


def _omits(pb: Problem, dropped: tuple[Omission, ...]) -> tuple[Omission, ...]:
    """What the day's bound leaves out: the rules' one weight set all day (it routes each
    hour's classes on their own), what :func:`_bound` ``dropped``, and spot.survive_loss held
    at the rules' fixed weights (it holds the loss with each hour's own routing)."""
    spot = pb.spec.placement.spot
    loss = (Omission(Left.RULES_SPOT_LOSS),) if spot.allowed and spot.survive_loss else ()
    return (Omission(Left.RULES_FIXED_ALL_DAY), *dropped, *loss)


def class_rules_day(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, tie_break: bool = True
) -> Outcome:
    """:meth:`Problem.class_rules_by_hour`: the cheapest day of the peak window's per-class
    weights, each other demand level's and the class-blind route's (the module's heuristic;
    the first on ties), measured against ``o``, the per-window per-class optimum over the same
    candidates, or with n+1 / zone, that optimum without them (:func:`_bound`).
    InfeasibleError when none has a plan whose every window holds."""
    pw = peak_window(rps)
    peak = rps[pw]
    tries: list[tuple[Outcome, Day | InfeasibleReason]] = []
    failed: InfeasibleError | None = None
    try:
        pk = replace(_peak_plan(pb, o.cands, peak, deadline, tie_break), rules_hour=pw)
        r_peak = pk.sols[0].replicas
        scaled = [[min(r, math.ceil(r * d / peak - 1e-9)) for r in r_peak] for d in rps]
        tries.append((pk, _day(pb, pk, [peak], rps, scaled)))
    except InfeasibleError as exc:  # the class-blind weights may still hold
        failed = exc
    tries += _other_hours(pb, o, rps, deadline)
    blind = _blind(pb, o.cands, rps, deadline, tie_break)
    if blind is not None:
        tries.append((blind, _day(pb, blind, rps, rps, [x.replicas for x in blind.sols])))
    days = [(p, d) for p, d in tries if not isinstance(d, InfeasibleReason)]
    if not days:
        if failed is not None:  # the peak alone has no plan
            raise failed
        reason = tries[0][1]
        assert isinstance(reason, InfeasibleReason)
        raise InfeasibleError([reason])
    pk, (sols, shares, provable) = min(days, key=lambda t: round(sum(x.cost for x in t[1][0]), 9))
    cost = sum(x.cost for x in sols) / len(sols)
    floor, proven, dropped = _bound(pb, o, rps, deadline)
    lower = min(floor, cost)
    status = "optimal" if proven and provable and cost <= lower + 1e-9 else "feasible"
    return Outcome(
        pk.cands, sols, status, cost, lower, shares=shares, lower=lower, proven=proven,
        note=pk.note, stats=o.stats, rules_hour=pk.rules_hour, omits=_omits(pb, dropped),
    )
