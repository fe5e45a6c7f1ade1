"""Re-planning a weighted outcome at one fixed HTTPRoute split (static weights).

With ``routing: gateway-api`` over more than one distinct demand window the HTTPRoute's
weights are fixed at the peak window's split. :func:`replan_static` turns a per-window weighted
optimum into a plan that serves every window at that split: the peak replicas grown until the
weights they imply are stable (:func:`_stable_peak`), then every window sized at that split
(:func:`window_solution` checks one window's replicas against max_replicas and the quotas).
:func:`scaleplan.solve.static.best_static` picks the cheapest of several starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scaleplan.errors import InfeasibleReason
from scaleplan.kube.weights import peak_window
from scaleplan.solve.milp import WindowSolution
from scaleplan.solve.milp.window import nodes_for
from scaleplan.solve.mixbound import per_type_spares
from scaleplan.solve.omission import INTEGER_WEIGHTS, Left, Omission
from scaleplan.solve.problem import Problem, quota_scopes
from scaleplan.solve.search import Outcome
from scaleplan.solve.split import (
    Split,
    group_weights,
    hold_spot_share,
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

    return trim_nodes(cands, r_peak, stable, pl.redundancy)


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
    nodes = [nodes_for(cands[k], reps[k], pl.redundancy) for k in range(K)]
    if pl.max_replicas is not None and sum(reps) > pl.max_replicas:
        return reason(
            f"window {w} then needs {sum(reps)} replicas, more than "
            f"placement.max_replicas = {pl.max_replicas}"
        )
    for q in quota_scopes(pb.spec, cands):
        used = q.used(cands, nodes)
        if used > q.limit:
            return reason(
                f"window {w} then needs {q.count(used)} in quota {q.label}, more than its "
                f"{q.limit}"
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


def replan_static(
    pb: Problem, o: Outcome, rps: Sequence[float], start: Sequence[int] | None = None
) -> tuple[Outcome, InfeasibleReason | None]:
    """Re-plan a weighted per-window outcome for static HTTPRoute weights.

    The peak replicas (``start``, default the MILP's peak window) only grow, so the weights
    are re-derived until they are stable (:class:`Split` says how each type is sized);
    min_replicas tops up the largest share. Types outside the peak get no traffic and no
    replicas. ``o`` (the per-window weighted optimum over the same candidates) is the lower
    bound the result is measured against; the result records what it leaves out
    (:func:`static_omits`).
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
    omits = static_omits(pb, rps, proven)
    return Outcome(
        o.cands, sols, status, cost, lower, shares=s, lower=lower, proven=proven, omits=omits
    ), None


def static_omits(pb: Problem, rps: Sequence[float], proven: bool) -> tuple[Omission, ...]:
    """What the bound a static-weights plan is measured against (the per-window weighted
    optimum, or :func:`scaleplan.solve.mixbound.mix_bounded`'s) leaves out. Over several
    windows: the route's weights fixed all day (the bound routes each hour on its own); with
    several classes and no header, the class mix every backend receives; under
    :func:`per_type_spares`, n+1 / zone as one spare per backend Service (the bound merges the
    classes, or drops the redundancy); with spot.survive_loss, the loss held at those fixed
    weights (the bound holds it with each hour's routing). Over one window (several classes,
    :mod:`scaleplan.solve.mixwindow`): the route's integer weights, where the bound's search
    finished (else its gap is the time limit's)."""
    pl = pb.spec.placement
    if not pb.hourly_weights(rps):
        return INTEGER_WEIGHTS if proven else ()
    out = [Omission(Left.WEIGHTS_FIXED_ALL_DAY)]
    if pb.mixed_stream:
        out.append(Omission(Left.CLASS_MIX))
    if per_type_spares(pb):
        out.append(Omission(Left.SPARE_PER_BACKEND, pl.redundancy))
    if pl.spot.allowed and pl.spot.survive_loss:
        out.append(Omission(Left.WEIGHTS_SPOT_LOSS))
    return tuple(out)
