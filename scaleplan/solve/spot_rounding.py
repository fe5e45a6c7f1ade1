"""spot.max_fraction at the HTTPRoute's integer weights over one demand window.

The MILP holds spot capacity <= max_fraction x capacity, the spot share the route delivers
before its weights are rounded to integers; rounding can move a backend's weight by a point
and the share over the limit. :func:`hold_rounded_spot` then searches again with max_fraction
lowered by the overshoot (a heuristic step, measured against the first plan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.solve.delivered import rounded_spot_share
from scaleplan.solve.omission import INTEGER_WEIGHTS
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.solve.split import Split


def _rounding_reason() -> InfeasibleReason:
    return InfeasibleReason(
        "routing",
        "kubernetes.routing is gateway-api: the HTTPRoute's integer weights send more than "
        "spot.max_fraction of the requests to spot pods, and with max_fraction lowered by the "
        "overshoot no plan holds it",
        "raise placement.spot.max_fraction (or relax the other placement rules)",
    )


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
    ``feasible``, measured against ``o``, says so in its ``note`` and records what that bound
    leaves out: the route's integer weights. ``o`` itself when it
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
    return replace(
        best, status="feasible", bound=lower, proven=proven, note=note, stats=o.stats,
        omits=INTEGER_WEIGHTS,
    )
