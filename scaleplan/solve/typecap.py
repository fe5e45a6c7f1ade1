"""placement.max_instance_types over the whole day.

Each window's MILP holds the cap on its own (``Formulation._add_type_cap``: a binary per
instance type, ``milp.window.type_key``, linking every candidate of the type; their sum at most
the cap). Windows are solved one by one, so the day's plan may still use more types than the
cap (its windows each within it, with different types): the cap couples the windows. The
per-window plans are then a relaxation of the day's problem, and their cost (its floor) a
lower bound on every plan that holds the cap all day.

:func:`hold_type_cap` keeps the per-window plan when it uses at most the cap over the day: it
is then the optimum (a feasible point of the day's problem at the relaxation's optimum).
Otherwise it decides the day's binaries itself: a plan over the day with at most ``cap``
types is a plan over the candidates of some ``cap`` of them, so it searches the day over each
set of ``cap`` types (``solve_plan`` over that set's candidates, every routing's step after
the search included), the types the per-window plan uses first, and keeps the cheapest. When
every set was searched (at most :data:`MAX_SETS` of them, within the time limit) and each
search was optimal, that plan is the day's optimum; otherwise it is a heuristic, measured
against the per-window bound (``Left.TYPE_SETS``), its gap in the explanation.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp.window import type_key
from scaleplan.solve.omission import Left, Omission
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, describe
from scaleplan.wording import counted

# the most sets of ``cap`` types searched for one day's plan (each a search of the day over
# its candidates): past it, the plan is the best of the first MAX_SETS, a heuristic
MAX_SETS = 64

COST_TOL = 1e-6

Planner = Callable[[Problem, list[Candidate], Sequence[float], float], Outcome]


def day_types(o: Outcome) -> list[tuple[str, str]]:
    """The instance types (:func:`type_key`) with nodes in some window of ``o``, in the order
    of their first candidate."""
    out: dict[tuple[str, str], None] = {}
    for k, c in enumerate(o.cands):
        if any(s.nodes and s.nodes[k] for s in o.sols):
            out.setdefault(type_key(c), None)
    return list(out)


def _ranked(o: Outcome, cands: Sequence[Candidate]) -> list[tuple[str, str]]:
    """Every type of ``cands``: those ``o`` uses first, by what they cost it over the day
    (most first), then the others by their cheapest node."""
    spent: dict[tuple[str, str], float] = {}
    for k, c in enumerate(o.cands):
        spent[type_key(c)] = spent.get(type_key(c), 0.0) + sum(
            c.price * s.nodes[k] for s in o.sols if s.nodes
        )
    cheapest: dict[tuple[str, str], float] = {}
    for c in cands:
        cheapest[type_key(c)] = min(cheapest.get(type_key(c), math.inf), c.price)
    return sorted(cheapest, key=lambda t: (-spent.get(t, 0.0), cheapest[t], t))


def hold_type_cap(
    pb: Problem, o: Outcome, cands: list[Candidate], rps: Sequence[float], deadline: float,
    plan_over: Planner,
) -> Outcome:
    """``o`` (the per-window plan over ``cands``, after its routing's step) when it uses at
    most placement.max_instance_types types over the day; else the cheapest day's plan over
    one set of that many types (module doc). The time limit stops the sets searched, a plan
    found or not. InfeasibleError naming the field when no set searched holds a plan and
    every search finished; the time limit's reason when a set ended unknown or was left
    unsearched (the cap is then not shown to be why)."""
    cap = pb.spec.placement.max_instance_types
    if cap is None or not o.solved or len(day_types(o)) <= cap:
        return o
    lower = o.floor  # the per-window plans: a relaxation of the day's cap
    ranked = _ranked(o, cands)
    total = math.comb(len(ranked), cap)
    best: Outcome | None = None
    tried, proven, unknown = 0, True, False
    for chosen in itertools.islice(itertools.combinations(ranked, cap), MAX_SETS):
        # the deadline stops the sets after the first (the top-ranked set is searched
        # whatever the time, as the first window's MILP runs FIRST_WINDOW_SECONDS past it:
        # a search that used the whole limit still gets a plan within the cap when that set
        # has one); each set past it would run its first window's MILP and its steps
        if tried and time.perf_counter() >= deadline:
            unknown = True  # sets left unsearched: the time limit, not the cap, is why
            break
        keep = set(chosen)
        t = plan_over(pb, [c for c in cands if type_key(c) in keep], rps, deadline)
        tried += 1
        unknown = unknown or t.status == "unknown"
        if t.status == "unknown" or (t.solved and t.status != "optimal"):
            proven = False
        if t.solved and (best is None or t.cost < best.cost - COST_TOL):
            best = t
    if best is None and unknown:
        raise InfeasibleError([_out_of_time(pb, o, cands, rps, cap, tried, total)])
    if best is None:
        raise InfeasibleError([_no_set(pb, o, cap, tried, total)])
    exact = proven and tried == total
    if exact or best.cost <= lower + COST_TOL:
        return replace(best, status="optimal", bound=best.cost, type_sets=(tried, total))
    return replace(
        best, status="feasible", bound=min(lower, best.cost), proven=proven,
        omits=(*best.omits, Omission(Left.TYPE_SETS)), type_sets=(tried, total),
    )


def _out_of_time(
    pb: Problem, o: Outcome, cands: list[Candidate], rps: Sequence[float], cap: int,
    tried: int, total: int,
) -> InfeasibleReason:
    """No set of ``cap`` types had a plan, but the time limit, not the cap, stopped the
    search (a set ended unknown or was never searched): the time limit's own reason
    (:func:`scaleplan.solve.diagnose.time_limit_reason`), the cap's search in its message."""
    from scaleplan.solve.diagnose import time_limit_reason  # diagnose imports this module

    base = time_limit_reason(pb, cands, rps)
    used = len(day_types(o))
    return replace(
        base,
        message=(
            f"{base.message}; each window alone holds placement.max_instance_types = {cap}, "
            f"but together they use {used} types, and no plan over the whole day within "
            f"{counted(cap, 'instance type')} was found before the time limit ({tried} of the "
            f"{total} sets of {cap} searched)"
        ),
        details={**base.details, "max_instance_types": cap, "types_used": used,
                 "type_sets_searched": tried, "type_sets": total},
    )


def _no_set(pb: Problem, o: Outcome, cap: int, tried: int, total: int) -> InfeasibleReason:
    """No day's plan over any set of ``cap`` types searched: the field, what each window's
    own types cost (``o``) and how many types that uses."""
    used = day_types(o)
    searched = "every set" if tried == total else f"{tried} of the {total} sets"
    return _cap_reason(
        cap,
        f"no plan over the whole day with at most {counted(cap, 'instance type')} was found "
        f"({searched} of {cap} searched); each window alone holds the cap, but together they "
        f"use {len(used)} ({describe(o)})",
        len(used),
        {"types_used": len(used)},
    )


def cap_reason(pb: Problem, relaxed: Outcome) -> InfeasibleReason:
    """placement.max_instance_types as the cause of no plan: ``relaxed``, the search without
    the cap, has one."""
    cap = pb.spec.placement.max_instance_types
    n = len(day_types(relaxed))
    return _cap_reason(
        cap,
        f"no plan holds the SLO with at most {counted(cap or 0, 'instance type')} in a "
        f"window; without the cap the cheapest plan uses {counted(n, 'instance type')}: "
        f"{describe(relaxed)}",
        n,
        {"without_cap": describe(relaxed)},
    )


def _cap_reason(
    cap: int | None, why: str, needed: int, details: dict[str, object]
) -> InfeasibleReason:
    """The cap named as the reason for no plan: ``why``, and the fix to raise it to
    ``needed`` types."""
    return InfeasibleReason(
        "max-instance-types",
        f"placement.max_instance_types = {cap}: {why}",
        f"raise placement.max_instance_types to {needed} or remove it",
        {"max_instance_types": cap, **details},
        where="placement.max_instance_types",
    )


def uncapped(pb: Problem) -> Problem:
    """``pb`` without placement.max_instance_types."""
    pl = pb.spec.placement.model_copy(update={"max_instance_types": None})
    return replace(pb, spec=pb.spec.model_copy(update={"placement": pl}))


def with_uncapped(
    pb: Problem, o: Outcome, cands: list[Candidate], rps: Sequence[float], deadline: float,
    plan_over: Planner,
) -> Outcome:
    """``o`` with :attr:`Outcome.uncapped`: the cost and type count of the plan over ``cands``
    without placement.max_instance_types (one more solve, only when the field is set), which
    the binding constraints compare it with; ``o`` as is without the field or that plan."""
    if pb.spec.placement.max_instance_types is None:
        return o
    free = plan_over(uncapped(pb), cands, rps, deadline)
    if not free.solved:
        return o
    return replace(o, uncapped=(free.cost, len(day_types(free))))


def cap_binding(pb: Problem, o: Outcome) -> str | None:
    """The binding-constraints line of placement.max_instance_types: when the plan without it
    uses more types, what the plan uses and what the cap costs; None otherwise."""
    cap = pb.spec.placement.max_instance_types
    if cap is None or o.uncapped is None or o.uncapped[1] <= cap:
        return None
    cost, n = o.uncapped
    names = ", ".join(t for _, t in day_types(o))
    extra = o.cost - cost
    pct = f", +{extra / cost:.0%}" if cost > 0 else ""
    tried, total = o.type_sets
    sets = (
        f"; each window's cheapest plan within it used more over the day, so the plan is the "
        f"cheapest of {tried} of the {total} sets of {cap} planned for the whole day"
        if total else ""
    )
    return (
        f"placement.max_instance_types = {cap}: the plan uses "
        f"{counted(len(day_types(o)), 'instance type')} ({names}); without the cap the "
        f"cheapest plan uses {n} for ${cost:.4f}/h, so the cap costs ${extra:.4f}/h{pct}{sets}"
    )
