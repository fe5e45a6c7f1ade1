"""The rendered autoscaler's replica floor, held over the day.

Windows are solved separately, so an allocation may run 0 replicas in quiet hours. The renderer
cannot always take it there: an HPA's ``minReplicas`` is at least 1 (``Problem.replica_floor``),
so every allocation the plan uses in any hour runs at least 1 replica in every hour, and a plan
that idles allocations costs more as deployed than it says. The floor couples the windows (an
allocation used anywhere is held everywhere), so :func:`hold_floors` is a step after the search.
Where the windows are the per-window MILP's own (routing: service, inference-pool) it is exact
(:func:`hold_jointly`: a branch and bound over the set of allocations in use,
:mod:`scaleplan.solve.floorbranch`), proven optimal for the plan as rendered: the floor pods
serve traffic, and under routing: service they take their even share. Under static HTTPRoute
weights and class rules over a curve (their own steps re-plan the windows) it is a heuristic:
over the allocations the per-window plan uses, it re-plans with each of them held at its floor in
every window (``WindowProblem.floors``, a lower bound on r_k and n_k), then drops allocations one
at a time while that is cheaper, measured against the per-window optimum, which lets
allocations idle (``Left.REPLICA_FLOOR``).

``kubernetes.autoscaler.type: none`` over several windows renders every Deployment at its peak
count all day: :func:`hold_floors` hands such a plan to :func:`hold_peak`, the peak hour's plan
held in every hour.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from scaleplan.plan import floor_cost
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import WindowModel
from scaleplan.solve.milp.solver import SolveStat
from scaleplan.solve.omission import Left, Omission
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, window_problem
from scaleplan.wording import counted

COST_TOL = 1e-6


def used_candidates(o: Outcome) -> list[Candidate]:
    """The candidates with a replica in some window, in candidate order."""
    return [c for k, c in enumerate(o.cands) if any(s.replicas[k] for s in o.sols)]


def below_floor(pb: Problem, o: Outcome, rps: Sequence[float]) -> list[Candidate]:
    """The candidates in use that run fewer than the replica floor in some window."""
    f = pb.replica_floor(rps)
    if not f or not o.solved:
        return []
    return [
        c for k, c in enumerate(o.cands)
        if any(s.replicas[k] for s in o.sols) and any(s.replicas[k] < f for s in o.sols)
    ]


def hold_floors(
    pb: Problem,
    o: Outcome,
    rps: Sequence[float],
    deadline: float,
    *,
    cands: Sequence[Candidate] = (),
    tie_break: bool = True,
) -> Outcome:
    """``o`` when every allocation it uses keeps the replica floor in every window; else,
    where :func:`jointly`, the cheapest floor-holding plan (:func:`hold_jointly`, proven);
    otherwise (or when that search finds nothing in time) the cheapest floor-holding plan found
    over subsets of the allocations it uses (all of them, then dropping one at a time while
    that is cheaper), ``feasible`` against ``o``'s bound (``optimal`` when it costs no more);
    either with a note saying what the floor costs. When no
    subset can hold it (max_replicas, quotas), ``o`` with a warning giving the floor's cost.
    ``cands``: the candidates the search had (``o``'s own when empty): with spot, the plan over
    their on-demand ones competes too. autoscaler ``none`` over several windows:
    :func:`hold_peak`."""
    if pb.floored:  # a floored re-plan (plan_over checks it) does not recurse
        return o
    if pb.spec.kubernetes.autoscaler.type == "none" and len(set(rps)) > 1:
        return hold_peak(pb, o, rps, deadline, cands=cands, tie_break=tie_break)
    short = below_floor(pb, o, rps)
    if not short:
        return o
    from scaleplan.solve.after_search import solve_plan  # after_search calls this step

    def plan_over(sub: list[Candidate]) -> Outcome:
        f = pb.replica_floor(rps)
        held = pb.with_floors([(c, f) for c in sub])
        t = solve_plan(held, sub, rps, deadline=deadline, tie_break=tie_break)
        if t.solved and below_floor(pb, t, rps):  # a step that re-planned without the floors
            return replace(t, status="infeasible", cost=math.inf)
        return t

    if jointly(pb, rps):  # exact: a branch and bound over the allocations in use
        held = hold_jointly(pb, o, rps, deadline, tie_break=tie_break)
        if held is not None:
            return held
    # a heuristic (static weights, class rules, or the exact search stopped): from the
    # allocations the plan uses and, with static weights over spot, from those of the
    # on-demand plan that competed (a plan allowed spot is never dearer than all on-demand)
    seeds = [used_candidates(o)]
    if o.on_demand is not None and o.on_demand.solved:
        seeds.append(used_candidates(o.on_demand))
    found = [_descend(plan_over, seed, deadline) for seed in seeds]
    if o.on_demand is None and any(c.capacity_type == "spot" for c in seeds[0]):
        od = [c for c in (cands or o.cands) if c.capacity_type != "spot"]
        t = solve_plan(pb, od, rps, deadline=deadline, tie_break=tie_break) if od else None
        if t is not None and t.solved and not below_floor(pb, t, rps):
            found.append(t)
    best = min(found, key=_cost)
    if not best.solved:
        return replace(o, note=_join(o.note, _unheld(pb, o, rps, short)))
    exact = best.cost <= o.floor + COST_TOL
    floor_left = () if exact else (Omission(Left.REPLICA_FLOOR),)
    return replace(
        best,
        status="optimal" if exact and best.status == "optimal" else "feasible",
        bound=min(o.floor, best.cost),
        proven=best.proven and o.proven,
        note=_join(best.note, _held_note(pb, rps, best.cost, o.cost)),
        # the bound is o's: it leaves out what o's step recorded, and the floor
        omits=tuple(dict.fromkeys(o.omits + best.omits + floor_left)),
        stats=o.stats + best.stats,
    )


def jointly(pb: Problem, rps: Sequence[float]) -> bool:
    """Whether :func:`hold_jointly` states the floor exactly: every routing whose windows are
    the per-window MILP's own (routing: service, inference-pool); not static HTTPRoute weights
    or a class header over a curve (their own steps re-plan the windows)."""
    return not pb.static_weights(rps) and not pb.class_rules_by_hour(rps)


def hold_jointly(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, *, tie_break: bool = True
) -> Outcome | None:
    """The cheapest plan over ``o``'s candidates that holds the replica floor
    (:func:`scaleplan.solve.floorbranch.branch_floors` from ``o``'s windows, its bounds),
    proven optimal unless the time limit stops the search (or a window MILP, which it does
    not let finish); None when it finds no plan before that (the heuristic then plans)."""
    from scaleplan.solve.floorbranch import branch_floors

    base, demands = window_problem(pb, o.cands, rps)
    model = WindowModel(base, solver=pb.options.solver, tie_break=tie_break)
    root = dict(zip(demands, o.sols, strict=True))
    got = branch_floors(model, demands, pb.replica_floor(rps), root, deadline=deadline)
    if got.sols is None or got.status == "unknown":
        return None
    t = replace(o, sols=[got.sols[d] for d in demands])
    cost = sum(s.cost for s in t.sols) / len(t.sols)
    # the bound is on the cost summed over the windows (the MILP's objective; until 2026-12-07
    # it held the tie-break's charges too, and was scaled down by min(price / charge))
    dual = got.bound / len(rps)
    bound = cost if got.status == "optimal" else max(o.floor, min(dual, cost))
    return _held(pb, o, rps, t, got.status, bound, got.stats)


def _held(
    pb: Problem,
    o: Outcome,
    rps: Sequence[float],
    t: Outcome,
    status: str,
    bound: float,
    stats: tuple[SolveStat, ...],
) -> Outcome:
    """The floor-holding plan ``t`` (its candidates and windows) at ``status`` and ``bound``
    (a bound on floor-holding plans), with ``o``'s note and the floor's."""
    cost = sum(s.cost for s in t.sols) / len(t.sols)
    # a bound at or below o's leaves out what o's step recorded, and the floor
    proven = status == "optimal" or bound > o.floor + COST_TOL
    omits = o.omits if proven else (*o.omits, Omission(Left.REPLICA_FLOOR))
    return Outcome(
        t.cands,
        t.sols,
        status,
        cost,
        bound,
        proven=status == "optimal",
        note=_join(o.note, _held_note(pb, rps, cost, o.cost)) if _costs_more(cost, o.cost)
        else o.note,
        stats=o.stats + stats,
        omits=tuple(dict.fromkeys(omits)),
    )


def _costs_more(cost: float, idle: float) -> bool:
    """Whether holding the floor costs more than idling, to the cent the note prints: on nodes
    priced at $0/h (owned ones) it said "($0.00/h against $0.00/h for a plan that idles
    allocations at 0 replicas, which needs ... keda-prometheus)", a change of autoscaler for
    nothing (UX trial 22)."""
    return f"{cost:.2f}" != f"{idle:.2f}"


def _held_note(pb: Problem, rps: Sequence[float], cost: float, idle: float) -> str:
    f = pb.replica_floor(rps)
    return (
        f"kubernetes.autoscaler.type hpa: an HPA's minReplicas is at least {f}, so every "
        f"allocation in use keeps {counted(f, 'replica')} in every hour; the plan holds that "
        f"(${cost:.2f}/h against ${idle:.2f}/h for a plan that idles allocations at 0 "
        "replicas, which needs an autoscaler that scales to 0: keda-prometheus)"
    )


def hold_peak(
    pb: Problem,
    o: Outcome,
    rps: Sequence[float],
    deadline: float,
    *,
    cands: Sequence[Candidate] = (),
    tie_break: bool = True,
) -> Outcome:
    """kubernetes.autoscaler.type none over several windows: render fixes every Deployment at
    its peak count all day, so the plan is the cheapest plan of the peak window held in every
    window (every rule is monotone in demand: a plan that serves the peak serves every hour, and
    any plan with one count all day must serve the peak). Its status and bound are the peak
    window's; ``o`` (with a note) when the held plan cannot be made or is not one count all day."""
    from scaleplan.solve.after_search import solve_plan  # after_search calls this step

    if all(len({s.nodes[k] for s in o.sols}) == 1 for k in range(len(o.cands))):
        return o
    pool = list(cands or o.cands)
    peak = max(rps)
    one = solve_plan(pb, pool, [peak], deadline=deadline, tie_break=tie_break)
    if not one.solved:
        return o
    sol = one.sols[0]
    held = [(c, sol.replicas[k]) for k, c in enumerate(one.cands) if sol.nodes[k]]
    used = [c for c, _ in held]
    t = solve_plan(pb.with_floors(held), used, rps, deadline=deadline, tie_break=tie_break)
    if not t.solved or any(len({s.nodes[k] for s in t.sols}) > 1 for k in range(len(t.cands))):
        note = (
            "kubernetes.autoscaler.type none renders every Deployment at its peak count all "
            "day, and the plan's peak could not be held in every hour: its hourly cost is below "
            "the manifests' (render says by how much)"
        )
        return replace(o, note=_join(o.note, note))
    note = (
        f"kubernetes.autoscaler.type none: every Deployment runs its peak count all day, so the "
        f"plan holds the peak hour's plan in every hour (${t.cost:.2f}/h against ${o.cost:.2f}/h "
        "for replicas that follow the hourly demand, which needs an autoscaler: hpa, "
        "keda-prometheus)"
    )
    return replace(
        t,
        status=one.status,
        bound=one.floor,
        proven=one.proven,
        note=_join(one.note, note),
        omits=one.omits,
        stats=o.stats + one.stats + t.stats,
    )


def _cost(o: Outcome) -> float:
    return o.cost if o.solved else math.inf


def _descend(
    plan_over: Callable[[list[Candidate]], Outcome], cur: list[Candidate], deadline: float
) -> Outcome:
    """The floor-holding plan over ``cur``, then over ``cur`` less one allocation at a time
    while the cheapest of those is cheaper."""
    best = plan_over(cur)
    while len(cur) > 1 and time.perf_counter() < deadline:
        subs = [cur[:i] + cur[i + 1:] for i in range(len(cur))]
        trials = [(t, sub) for sub in subs if (t := plan_over(sub)).solved]
        if not trials:
            break
        t, sub = min(trials, key=lambda ts: ts[0].cost)
        if best.solved and t.cost >= best.cost - COST_TOL:
            break
        best, cur = t, sub
    return best


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _unheld(pb: Problem, o: Outcome, rps: Sequence[float], short: list[Candidate]) -> str:
    """No plan holds the floor: what the rendered floor costs above the plan."""
    f = pb.replica_floor(rps)
    ids = {id(c) for c in short}
    zone = pb.spec.placement.redundancy == "zone"  # the spread's zones (kube.zones.spread_zones)
    extra = sum(
        floor_cost(f, c.replicas_per_node, [s.nodes[k] for s in o.sols], c.price, c.zones * zone)
        for k, c in enumerate(o.cands)
        if id(c) in ids
    )
    return (
        f"kubernetes.autoscaler.type hpa keeps at least {counted(f, 'replica')} of every "
        "allocation in use in every hour, and no plan within the spec's limits holds that: as "
        f"rendered the floors add about ${extra:.2f}/h to the plan's ${o.cost:.2f}/h (use an "
        "autoscaler that scales to 0: keda-prometheus)"
    )
