"""Comparison: the plan against alternatives (single instance types) and baselines.

:func:`alternatives` finds the cheapest single-instance-type plans (a lower bound orders the
types, then exact solves); :func:`baselines` prices the cheapest single type, only the fastest
accelerator and all on-demand (left out when it is the plan itself), each with what the plan
saves against it. Both share the
command's ``--time-limit`` with the main solve; what does not fit in it is left out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from scaleplan.errors import InfeasibleError
from scaleplan.kube.weights import peak_window
from scaleplan.plan import Alternative, Baseline, SpotLoss
from scaleplan.solve.after_search import solve_plan
from scaleplan.solve.assemble import rounded
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.placement import CPU
from scaleplan.solve.problem import MAX_ALTERNATIVE_SOLVES, Problem, capacity_bound
from scaleplan.solve.prune import prune, prune_rules
from scaleplan.solve.search import Outcome, describe, outcome_gap

Solved = dict[tuple[int, ...], Outcome]  # solve_plan's outcomes by solve_key of its candidates


def solve_key(cands: Sequence[Candidate]) -> tuple[int, ...]:
    """What tells two of one solve's :func:`solve_plan` calls over ``cands`` apart (the same
    candidate objects in the same order, the same problem, demand and deadline)."""
    return tuple(id(c) for c in cands)


def compare(
    pb: Problem,
    cands: list[Candidate],
    unpruned: list[Candidate],
    rps: Sequence[float],
    best: Outcome,
    deadline: float,
    flagged: Sequence[str] = (),
    solved: Solved | None = None,
) -> tuple[list[Alternative], list[Baseline]]:
    """The plan's alternatives and baselines (extra solves until ``deadline``); ``flagged``:
    the accelerators left out for their catalog flags, which the baselines did not compare;
    ``solved`` gets the fastest accelerator's plan alone (:func:`only_accelerator`) and the
    single-type plans proven optimal (:func:`alternatives`)."""
    alts, singles, cut = alternatives(pb, unpruned, rps, best, deadline, solved)
    return alts, baselines(pb, cands, unpruned, rps, best, singles if singles or not cut else None, deadline, flagged, solved)


def only_accelerator(
    pb: Problem, unpruned: list[Candidate], acc: str, rps: Sequence[float], deadline: float,
    solved: Solved,
) -> Outcome | Skipped | None:
    """The cheapest plan on accelerator ``acc`` alone: its candidates of every instance type,
    pruned among themselves (pruning may have dropped them for a cheaper, at least as fast
    one). None when it has no candidate; :class:`Skipped` when ``deadline`` has passed.
    ``solved`` keeps each solve by its candidates, so that the fastest-accelerator baseline,
    the plan's unused accelerators (:mod:`scaleplan.solve.unused`) and an alternative over
    the same candidates (an accelerator whose own prune to one instance type) solve it once."""
    only = [c for c in unpruned if c.accelerator == acc]
    if not only:
        return None
    only = prune(only, prune_rules(pb.spec, only))
    if (key := solve_key(only)) in solved:
        return solved[key]
    if time.perf_counter() >= deadline:
        return Skipped()
    solved[key] = solve_plan(pb, only, rps, deadline=deadline, tie_break=False)
    return solved[key]


def spot_loss_cost(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> float | None:
    """placement.spot.survive_loss: the mean cost per hour of the cheapest plan without it (the
    same candidates and rules), what the explanation prices the rule against; None when the rule
    is off, spot is not allowed, or no plan without it was found before ``deadline``."""
    spot = pb.spec.placement.spot
    if not (spot.allowed and spot.survive_loss) or time.perf_counter() >= deadline:
        return None
    o = solve_plan(pb.without_survive_loss(), cands, rps, deadline=deadline, tie_break=False)
    return o.cost if o.solved else None


def survive_loss_solve(
    pb: Problem, unpruned: list[Candidate], rps: Sequence[float], best: Outcome, deadline: float
) -> Outcome | str | None:
    """The other side of :func:`spot_loss_cost`: a plan that holds spot without
    placement.spot.survive_loss, solved again with the rule on (the candidates pruned under its
    rules), what the explanation prices surviving a spot loss at. None when the rule is on,
    spot is not allowed or the plan holds no spot; "infeasible" or "time limit" when it was
    not priced."""
    spot = pb.spec.placement.spot
    spot_used = any(
        r > 0 and c.capacity_type == "spot"
        for s in best.sols for r, c in zip(s.replicas, best.cands, strict=True)
    )
    if not spot.allowed or spot.survive_loss or not spot_used:
        return None
    if time.perf_counter() >= deadline:
        return "time limit"
    on = pb.with_spot(survive_loss=True)
    try:
        cands = serving_candidates(on, prune(unpruned, prune_rules(on.spec, unpruned)), rps)
    except InfeasibleError:
        return "infeasible"
    o = solve_plan(on, cands, rps, deadline=deadline, tie_break=False)
    if o.solved:
        return o
    return "time limit" if o.status == "unknown" else "infeasible"


def spot_loss(pb: Problem, best: Outcome, rps: Sequence[float], on: Outcome | str) -> SpotLoss:
    """What losing every spot replica at the peak hour leaves of ``best`` (a plan without
    survive_loss) and what ``on`` (:func:`survive_loss_solve`) costs: the on-demand replicas and
    the share of the peak's demand they serve at the SLO, at each one's capacity for the class
    mix (one that misses a class counts 0)."""
    w = peak_window(rps)
    reps = best.sols[w].replicas
    od = [(r, c) for r, c in zip(reps, best.cands, strict=True) if c.capacity_type == "on-demand"]
    carry = sum(r * (pb.mixed_capacity(c) or 0.0) for r, c in od)
    share = min(1.0, carry / rps[w]) if rps[w] > 0 else 1.0
    lost = SpotLoss(
        on_demand_replicas=sum(r for r, _ in od), replicas=sum(reps),
        on_demand_share=rounded(share, 4),
    )
    if isinstance(on, str):
        return lost.model_copy(update={"not_priced": on})
    extra = (on.cost - best.cost) / best.cost if best.cost > 0 else 0.0
    update: dict[str, float] = {
        "survive_loss_cost_per_hour": rounded(on.cost), "extra_cost_fraction": rounded(extra, 4)
    }
    if on.status != "optimal" and on.cost > 0:  # a plan found, not proven the cheapest
        update["survive_loss_gap"] = rounded(outcome_gap(on), 4)
    return lost.model_copy(update=update)


def alternatives(
    pb: Problem, unpruned: list[Candidate], rps: Sequence[float], best: Outcome, deadline: float,
    solved: Solved | None = None,
) -> tuple[list[Alternative], list[Outcome], bool]:
    """Best single-instance-type plans, by a lower bound then exact solves.

    Also the single-type plans found, and whether ``deadline`` cut the search short.
    ``solved`` gets the plans proven optimal (:func:`only_accelerator` reads them).
    """
    # one instance type, in any of the allowed regions; built from the unpruned candidates (a
    # type's spot nodes may be dominated by another type's) and pruned within the type
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in unpruned:
        groups.setdefault((c.row.provider, c.row.instance_type), []).append(c)
    groups = {key: prune(gs, prune_rules(pb.spec, gs)) for key, gs in groups.items()}
    lbs = []
    for key, gs in groups.items():
        lb = single_type_bound(pb, gs, rps)
        if lb is not None:
            lbs.append((lb, key))
    lbs.sort()
    found: list[Outcome] = []
    cut = False
    for solves, (lb, key) in enumerate(lbs):
        # past the cap, only types whose bound is below the cheapest found are solved: the
        # bound can still be loose, and the cheapest single type (the baseline) must not be
        # one the cap left unsolved (a CPU type behind 12 GPU types)
        cheapest = min((o.cost for o in found), default=math.inf)
        if solves >= MAX_ALTERNATIVE_SOLVES and lb >= cheapest - 1e-9:
            break
        if len(found) >= 4 and lb >= sorted(o.cost for o in found)[3]:
            break
        if time.perf_counter() > deadline:
            cut = True
            break
        o = solve_plan(pb, groups[key], rps, deadline=deadline, tie_break=False)
        if o.solved:
            found.append(o)
        if solved is not None and o.status == "optimal":  # the same again where re-solved
            solved[solve_key(groups[key])] = o
        cut = cut or o.status == "unknown"
    found.sort(key=lambda o: (round(o.cost, 9), describe(o)))
    mine = describe(best)
    alts: list[Alternative] = []
    for o in found:
        if describe(o) == mine or len(alts) >= 3:
            continue
        extra = rounded((o.cost - best.cost) / best.cost, 4) if best.cost > 0 else None
        alts.append(
            Alternative(
                description=describe(o), cost_per_hour=rounded(o.cost), extra_cost_fraction=extra,
            )
        )
    return alts, found, cut


def single_type_bound(pb: Problem, gs: Sequence[Candidate], rps: Sequence[float]) -> float | None:
    """A lower bound on the mean cost per hour of a plan over one instance type's candidates
    ``gs``, tighter than :func:`capacity_bound` where that is loose: a window with demand runs
    whole nodes, one of them on-demand unless spot.max_fraction is 1, two with n+1 or zone
    (losing the only node loses everything); and with one class, on-demand capacity carries
    at least 1 - max_fraction of it. None when no candidate serves some class."""
    lb = capacity_bound(pb, gs, rps)
    od = [c for c in gs if c.capacity_type == "on-demand"]
    if lb is None or not od or not rps:
        return lb
    spot = pb.spec.placement.spot
    f = spot.max_fraction if spot.allowed else 1.0
    floor = min(c.price for c in (od if f < 1 else gs))
    if pb.spec.placement.redundancy in ("n+1", "zone"):
        floor += min(c.price for c in gs)
    total = 0.0
    for v in rps:
        w = capacity_bound(pb, gs, [v]) or 0.0
        w_od = capacity_bound(pb, od, [v]) if len(pb.classes) == 1 and f < 1 else None
        if w_od is not None:
            w = max(w, (1 - f) * w_od + f * w)
        total += max(w, floor) if v > 0 else w
    return max(lb, total / len(rps))


class Skipped:
    """A baseline the time limit left no time to solve."""


def baselines(
    pb: Problem,
    cands: list[Candidate],
    unpruned: list[Candidate],
    rps: Sequence[float],
    best: Outcome,
    singles: list[Outcome] | None,
    deadline: float,
    flagged: Sequence[str] = (),
    solved: Solved | None = None,
) -> list[Baseline]:
    """The cheapest single type, only the fastest accelerator, all on-demand (left out when
    it is the plan: spot not allowed, or the plan holds no spot and costs the same). The
    fastest accelerator is the fastest of the candidates: one ``flagged`` (its rows left out
    for their catalog flags) is named as not compared, it may be faster.

    ``singles`` is None when the time limit stopped the single-type search before it found
    one. A baseline the time limit left unsolved says so; "(infeasible)" is kept for
    baselines that have no plan.
    """

    def mk(name: str, desc: str, o: Outcome | Skipped | None) -> Baseline:
        if isinstance(o, Skipped) or (o is not None and o.status == "unknown"):
            return Baseline(name=name, description=desc + " (not solved: time limit reached)", cost_per_hour=None)
        if o is None or not o.solved:
            return Baseline(name=name, description=desc + " (infeasible)", cost_per_hour=None)
        sav = (o.cost - best.cost) / o.cost if o.cost > 0 else 0.0
        return Baseline(
            name=name,
            description=f"{desc}: {describe(o)}",
            cost_per_hour=rounded(o.cost),
            savings_fraction=rounded(sav, 4),
        )

    def solve_in_time(only: list[Candidate]) -> Outcome | Skipped | None:
        if not only:
            return None
        if time.perf_counter() >= deadline:
            return Skipped()
        return solve_plan(pb, only, rps, deadline=deadline, tie_break=False)

    single: Outcome | Skipped | None = Skipped() if singles is None else (singles[0] if singles else None)
    out = [mk("cheapest-single-type", "cheapest single instance type that meets the SLO", single)]
    # the fastest accelerator is chosen among all candidates (pruning may have dropped it in
    # favour of a cheaper, at least as fast one), then re-pruned among its own instance types
    gpu = [c for c in unpruned if c.accelerator != CPU]
    main_cls = pb.classes[0][0]
    if gpu:

        def speed(c: Candidate) -> float:
            cap = c.cap(main_cls)
            return (cap or 0.0) / max(1, c.gpus_per_replica)

        fastest = sorted(gpu, key=lambda c: (-speed(c), c.accelerator))[0].accelerator
        o = only_accelerator(pb, unpruned, fastest, rps, deadline, {} if solved is None else solved)
        left = [a for a in flagged if a != CPU]
        note = f"; not compared: {', '.join(left)}, whose rows are flagged" if left else ""
        out.append(mk("fastest-accelerator", f"only the fastest accelerator ({fastest}{note})", o))
    # all on-demand: left out when it is the plan itself (spot not allowed, or the plan holds
    # no spot and the on-demand solve found the same nodes at the same cost): "saves 0%
    # against all on-demand" would read as a second plan
    if pb.spec.placement.spot.allowed:
        od = [c for c in cands if c.capacity_type == "on-demand"]
        # static weights: the plan itself already solved it (static._on_demand_plan)
        known = best.on_demand
        mixed = [c for c in od if pb.mixed_capacity(c) is not None]
        o = known if known is not None and known.cands == mixed else solve_in_time(od)
        if not _is_the_plan(o, best):
            out.append(mk("all-on-demand", "all on-demand (no spot)", o))
    return out


def _is_the_plan(o: Outcome | Skipped | None, best: Outcome) -> bool:
    """Whether a baseline's solve found the plan itself: the same nodes at peak, same cost."""
    if not isinstance(o, Outcome) or not o.solved:
        return False
    return describe(o) == describe(best) and round(o.cost, 9) == round(best.cost, 9)
