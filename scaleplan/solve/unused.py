"""Why the plan runs on none of an accelerator ``placement.accelerators`` names (UX trial 37
F8: L4 allowed, the plan all A100, and nothing said that L4 alone costs +102 %).

Each such accelerator gets the cheapest plan on it alone (:func:`compare.only_accelerator`,
the fastest-accelerator baseline's own solve, shared with it) or the reason it has none: no
catalog row in the placement, flagged rows, left out by the candidate stage (memory,
precision, the SLO: its warning says the arithmetic), a request class none of its shapes
serves, no plan within the placement's rules, or ``--time-limit`` spent before its solve.
"""

from __future__ import annotations

from collections.abc import Sequence

from scaleplan.plan import UnusedAccelerator
from scaleplan.solve.assemble import allocated_candidates, rounded
from scaleplan.solve.candidates import Candidate, Diagnostics
from scaleplan.solve.compare import Skipped, Solved, only_accelerator
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, describe, outcome_gap

TIME_LIMIT = "not priced within the time limit"


def unused_accelerators(
    pb: Problem, diag: Diagnostics, named: Sequence[str], rps: Sequence[float],
    best: Outcome, deadline: float, solved: Solved,
) -> tuple[UnusedAccelerator, ...] | None:
    """One entry per accelerator of ``named`` (canonical, the spec's order) that ``best``
    runs on nowhere; None when there is none."""
    used = {c.accelerator for c in allocated_candidates(best)}
    out = []
    for acc in dict.fromkeys(named):
        if acc in used:
            continue
        why = _no_candidate(diag, acc) or _unservable(pb, diag.unpruned, acc, rps)
        if why is not None:
            out.append(UnusedAccelerator(accelerator=acc, reason=why))
            continue
        o = only_accelerator(pb, diag.unpruned, acc, rps, deadline, solved)
        out.append(_priced(acc, o, best))
    return tuple(out) or None


def _no_candidate(diag: Diagnostics, acc: str) -> str | None:
    """Why no candidate runs on ``acc``; None when one does."""
    if any(c.accelerator == acc for c in diag.unpruned):
        return None
    if acc in diag.unoffered or (acc == "CPU" and "cpu" in diag.unoffered):
        return "no catalog row in the placement's providers and regions"
    if acc in diag.flagged_only:
        return "its catalog rows are flagged (placement.include_flagged)"
    if acc in diag.left_out:
        return diag.left_out[acc]
    if acc not in diag.profile_accelerators:
        return "left out: the profile has no point on it"
    return "left out: no shape of it can serve (the warnings say why)"


def _unservable(
    pb: Problem, unpruned: list[Candidate], acc: str, rps: Sequence[float]
) -> str | None:
    """Why no plan on ``acc`` alone can serve the demand, known without a solve: a request
    class none of its shapes serves, or (the route's static weights send every backend the
    whole mix) no shape of it that serves the mix; None otherwise."""
    only = [c for c in unpruned if c.accelerator == acc]
    missed = [cls for cls, share in pb.classes if share > 0 and not any(c.cap(cls) for c in only)]
    if missed:
        return f"no shape of it serves class {missed[0]} within the SLO"
    if pb.static_weights(rps) and all(pb.mixed_capacity(c) is None for c in only):
        return "no shape of it serves the class mix the route's static weights send it"
    return None


def _priced(acc: str, o: Outcome | Skipped | None, best: Outcome) -> UnusedAccelerator:
    """The entry of an accelerator with candidates, from its plan alone ``o``."""
    if isinstance(o, Skipped) or (o is not None and o.status == "unknown"):
        return UnusedAccelerator(accelerator=acc, reason=TIME_LIMIT)
    if o is None or not o.solved:
        why = "no plan on it alone meets the placement's rules"
        return UnusedAccelerator(accelerator=acc, reason=why)
    extra = rounded((o.cost - best.cost) / best.cost, 4) if best.cost > 0 else None
    gap = rounded(outcome_gap(o), 4) if o.status != "optimal" and o.cost > 0 else None
    return UnusedAccelerator(
        accelerator=acc, cost_per_hour=rounded(o.cost), extra_cost_fraction=extra,
        description=describe(o), gap=gap,
    )
