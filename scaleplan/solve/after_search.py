"""What follows the search: the step each routing needs after it (:func:`after_search`), and
the search followed by that step (:func:`solve_plan`, what the alternatives and baselines solve).

routing: gateway-api over several windows, or with several classes and no class header: the
static-weights plan (:func:`scaleplan.solve.static.best_static`; one window with several
classes: :func:`scaleplan.solve.mixwindow.mixed_one_window`), checked as the route delivers
it; over one window: spot.max_fraction and the losses as the route delivers its integer
weights (:mod:`scaleplan.solve.spot_rounding`, :mod:`scaleplan.solve.delivered`);
``kubernetes.class_header`` over a curve: :mod:`scaleplan.solve.rulecurve`. Every routing, then:
the rendered autoscaler's replica floor over the day (:mod:`scaleplan.solve.floors`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.delivered import hold_delivered_loss, loss_short
from scaleplan.solve.floors import hold_floors
from scaleplan.solve.mixwindow import mixed_one_window
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.solve.split import Split
from scaleplan.solve.spot_rounding import hold_rounded_spot
from scaleplan.solve.static import best_static
from scaleplan.solve.typecap import hold_type_cap


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
    :func:`scaleplan.solve.rulecurve.class_rules_day`. Then the rendered autoscaler's replica
    floor over the day (:func:`scaleplan.solve.floors.hold_floors`). Last, the day's
    placement.max_instance_types (:func:`scaleplan.solve.typecap.hold_type_cap`: each set of
    that many types planned by :func:`solve_plan`, when the windows' own plans use more)."""
    done = _after(pb, o, rps, deadline, tie_break)
    held = hold_floors(pb, done, rps, deadline, cands=o.cands, tie_break=tie_break)

    def plan_over(pb: Problem, cands: list[Candidate], rps: Sequence[float], end: float) -> Outcome:
        return solve_plan(pb, cands, rps, deadline=end, tie_break=tie_break)

    return hold_type_cap(pb, held, o.cands, rps, deadline, plan_over)


def _after(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, tie_break: bool
) -> Outcome:
    """:func:`after_search` before the replica floor."""
    if pb.class_rules_by_hour(rps):
        from scaleplan.solve.rulecurve import class_rules_day  # it uses solve_plan

        return class_rules_day(pb, o, rps, deadline, tie_break)
    if pb.static_weights(rps):
        if pb.mixed_stream and not pb.hourly_weights(rps):  # exact: the one-class plan
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
