"""routing: gateway-api over one demand window with several request classes and no
``kubernetes.class_header`` (:attr:`Problem.mixed_stream`), planned exactly.

The HTTPRoute sends every backend Service its weight's share of every class, so weighed by
capacity for the class mix the plan is the one-class plan at each candidate's capacity for
the mix (:func:`_one_window_mix`, which says why); the static re-plan
(:func:`scaleplan.solve.static.best_static`, a heuristic) competes only where that plan is not
proven optimal (:func:`mixed_one_window`). docs/optimizer.md, "One window, several classes".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.kube.weights import peak_window
from scaleplan.solve.delivered import hold_delivered_loss, loss_short
from scaleplan.solve.mixbound import merged_mix
from scaleplan.solve.omission import INTEGER_WEIGHTS
from scaleplan.solve.problem import Problem
from scaleplan.solve.replan import window_solution
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.solve.split import Split, group_weights
from scaleplan.solve.spot_rounding import hold_rounded_spot
from scaleplan.solve.static import best_static


def mixed_one_window(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, tie_break: bool
) -> Outcome:
    """Several classes over one window: :func:`_one_window_mix` (exact but for the rounding
    and search limits of its loss step); when it is not proven optimal, or leaves a backend
    short as delivered, the static re-plan (:func:`best_static`, a heuristic) competes, and the
    cheaper plan that holds is kept. It is measured against the merged search's bound, a bound
    on every plan the route can deliver: the static re-plan's own bound is the per-class MILP,
    whose multi-class n+1 / zone rows are conservative (a spare node per type where one
    Service needs only one), so its plan, kept "optimal" before when it used one Service, can cost
    more than the exact one (llm-chat: $5.40/h against $4.56/h). InfeasibleError as
    :func:`best_static` raises it when neither has a plan."""
    exact = _one_window_mix(pb, o, rps, deadline, tie_break)
    if exact is not None and exact.status == "optimal":
        return exact
    try:
        heur = best_static(pb, o, rps, deadline)
    except InfeasibleError:
        if exact is None:
            raise
        return exact
    if exact is None:
        return heur
    if heur.cost < exact.cost - 1e-9:  # the loss step's plan was not optimal: measured anew
        bound = exact.bound
        status = "optimal" if exact.proven and heur.cost <= bound + 1e-9 else "feasible"
        omits = INTEGER_WEIGHTS if exact.proven else ()  # measured against the exact plan's bound
        return replace(heur, status=status, bound=bound, proven=exact.proven, omits=omits)
    return exact


def _one_window_mix(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, tie_break: bool
) -> Outcome | None:
    """routing: gateway-api over one window with several classes, exactly: weighed by capacity
    for the mix (:meth:`Problem.mix_weight`) every backend's pods carry D / capacity of the mix,
    so the plan is the one-class plan at those capacities
    (:func:`scaleplan.solve.mixbound.merged_mix`): the search, then
    spot.max_fraction at the route's integer weights (:func:`hold_rounded_spot`) and the losses
    as delivered (:func:`hold_delivered_loss`), as one class has them. Its routing is what the
    route delivers, the same share of every class; ``shares`` / ``lower`` compare it with
    ``o``, the per-class optimum a route cannot deliver (the explanation says what the
    difference costs; no ``lower`` where that MILP's plan costs more). None when the merged
    search or its loss steps find no plan, or its plan leaves a backend short as delivered
    (:func:`loss_short`; the static re-plan, a heuristic, is tried then).

    Why it is exact. The route sends backend Service g the share W_g of every class; its
    pods_g pods, of one serving shape, share it evenly, so a pod carries sum_c W_g D_c /
    (pods_g a_gc) = W_g D / (pods_g m_g) of its capacity, m_g = 1 / sum_c (share_c / a_gc) its
    capacity for the mix. Headroom, the n+1 / zone losses and survive_loss are that load
    against the pods a backend keeps; spot.max_fraction is sum_g W_g spot_g / pods_g, the same
    for every class. Every rule thus reads D and m_g only, as one class of demand D at capacity
    m_g does: the plans the route can deliver, and their costs, are those of the one-class
    question at m_g (floored to 4 decimals as every capacity is), which the one-class path
    solves (MILP with the per-Service loss rows, then the route's integer weights). The per-class
    capacities enter only through m_g; load adds across classes on a pod (the model's
    assumption everywhere, docs/optimizer.md)."""
    m = merged_mix(pb, o.cands)
    if m is None:
        return None
    one, merged = m
    t = search_windows(one, merged, rps, deadline=deadline, tie_break=tie_break)
    if not t.solved:
        return None
    try:
        t = hold_rounded_spot(one, t, rps, deadline, tie_break=tie_break)
        t = hold_delivered_loss(one, t, rps, deadline, tie_break=tie_break)
    except InfeasibleError:
        return None
    split = Split(pb, o.cands)
    weights = group_weights(split, t.sols[peak_window(rps)].replicas)
    sols = []
    for w, (x, d) in enumerate(zip(t.sols, rps, strict=True)):
        sol = window_solution(split, w, d, list(x.replicas), weights)
        if isinstance(sol, InfeasibleReason):
            return None
        sols.append(replace(x, routing=sol.routing, demand=sol.demand))
    shares, _ = split.shares(sols[peak_window(rps)].replicas)
    proven = t.proven if t.note else t.status == "optimal"
    # the per-class MILP's plan is no bound where its conservative multi-class rows cost more
    lower = o.floor if o.floor <= t.cost + 1e-9 else None
    out = replace(t, cands=o.cands, sols=sols, shares=shares, lower=lower, proven=proven)
    return out if loss_short(split, out, rps) is None else None
