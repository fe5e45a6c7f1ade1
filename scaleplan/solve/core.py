"""The solve pipeline: candidates -> search over windows -> comparison -> explanation -> plan.

:func:`solve_demand` runs the phases in order, each in the module named for its job:
``candidates`` (what may run where), ``search`` and ``static`` (the cheapest plan over the
demand windows), ``diagnose`` (why there is none), ``compare`` (alternatives and baselines),
``explain`` (the English explanation) and ``assemble`` (the plan itself). The request classes
are computed once (:class:`Problem`) and passed on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from typing import Any

from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.plan import Alternative, Baseline, Plan, SpotLoss, UnusedAccelerator
from scaleplan.profile.model import Profile
from scaleplan.solve.after_search import after_search, solve_plan
from scaleplan.solve.assemble import (
    allocated_candidates,
    allocations,
    assemble_plan,
    hash_plan,
    rounded,
    utilization,
)
from scaleplan.solve.candidates import Candidate, Diagnostics, build_candidates, pruned
from scaleplan.solve.compare import Solved, compare, spot_loss, spot_loss_cost, survive_loss_solve
from scaleplan.solve.diagnose import (
    budget_reason,
    diagnose_candidates,
    diagnose_milp,
    foreign_calibration,
    serving_candidates,
    time_limit_reason,
    untried_flagged,
)
from scaleplan.solve.explain import explain
from scaleplan.solve.milp import SolveStat
from scaleplan.solve.problem import Classes, Problem, SolveOptions, demand_windows
from scaleplan.solve.prune import quota_members
from scaleplan.solve.sanity import relax_costs, sanity_warning
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.solve.typecap import with_uncapped
from scaleplan.solve.unused import unused_accelerators
from scaleplan.spec import PROVIDER_OF_FLAVOR, Spec


@dataclass(frozen=True)
class SolveResult:
    plan: Plan
    solve_seconds: float
    candidates: int
    windows_solved: int
    stats: tuple[SolveStat, ...] = ()  # the plan's own solver runs, in order
    alternatives_seconds: float = 0.0  # alternatives and baselines (extra solves)
    candidates_unpruned: int = 0  # candidates before pruning (``candidates``: after)
    region_choice: RegionChoice | None = None  # a one-cluster flavor's region (solve_demand)
    tie_cut: int = 0  # windows whose tie-break the deadline cut (search.Outcome.tie_cut)

    def stats_dict(self) -> dict[str, Any]:
        """``optimize --json``'s ``solve_stats``: each solver run behind the plan (model size,
        seconds), the time around them, and how many windows' tie-break the deadline cut
        (``tie_break_cut``, 0 most often; the plan's warnings say so when it is not)."""
        runs = [
            {
                "kind": r.kind, "rows": r.rows, "columns": r.columns, "integers": r.integers,
                "nonzeros": r.nonzeros, "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 4), "status": r.status,
                "cut_round": r.cut_round,
            }
            for r in self.stats
        ]
        return {
            "candidates": self.candidates,
            "candidates_unpruned": self.candidates_unpruned,
            "windows_solved": self.windows_solved,
            "solver_seconds": round(sum(r.seconds for r in self.stats), 4),
            "solver_cpu_seconds": round(sum(r.cpu_seconds for r in self.stats), 4),
            "plan_seconds": round(self.solve_seconds, 4),
            "alternatives_seconds": round(self.alternatives_seconds, 4),
            "tie_break_cut": self.tie_cut,
            "runs": runs,
        }


def solve(spec: Spec, profile: Profile | None, catalog: Catalog, *, options: SolveOptions | None = None) -> SolveResult:
    """The cheapest plan that holds the spec's SLO; raises InfeasibleError with reasons."""
    rps, window_hours = demand_windows(spec)
    return solve_demand(spec, profile, catalog, rps, window_hours, options=options or SolveOptions())


def _cheapest(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> tuple[Outcome, tuple[SolveStat, ...]]:
    """The cheapest plan over every window (static weights re-planned), or InfeasibleError;
    with the solver runs of the search (a static re-plan keeps the search's runs); the budget
    is the caller's to check (:func:`_within_budget`)."""
    options = pb.options
    best = search_windows(pb, cands, rps, deadline=deadline)
    runs = best.stats
    if best.status == "unknown":
        raise InfeasibleError([time_limit_reason(pb, cands, rps)])
    if best.status == "infeasible":
        raise InfeasibleError(diagnose_milp(pb, cands, rps, deadline + options.time_limit))
    best = after_search(pb, best, rps, deadline)
    return best, runs


def _within_budget(pb: Problem, best: Outcome, diag: Diagnostics) -> None:
    """InfeasibleError when the plan costs more than placement.budget_per_hour (its reason
    names that cost, and the allowed accelerators never tried for their flags)."""
    limit = pb.spec.placement.budget_per_hour
    if limit is not None and best.cost > limit + 1e-9:
        raise InfeasibleError(
            [budget_reason(limit, best, untried_flagged(pb.spec, diag), pb.spec)]
        )


def solve_demand(spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float], window_hours: float, *, options: SolveOptions) -> SolveResult:
    """Like :func:`solve` with an explicit demand curve (any number of windows). A flavor that
    renders for one cluster (eks, eks-karpenter, gke, aks) plans one region: with no
    ``placement.regions``, or where its cheapest plan mixes those listed (:func:`_one_region`).
    No plan: with the reason, when it applies, that the
    LLM model was calibrated on another model's points (:func:`foreign_calibration`)."""
    try:
        return _planned(spec, profile, catalog, rps, window_hours, options)
    except InfeasibleError as exc:
        why = foreign_calibration(spec, profile, catalog, options.spec_dir)
        if why is None:
            raise
        raise InfeasibleError([*exc.reasons, why]) from None


def _planned(
    spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float],
    window_hours: float, options: SolveOptions,
) -> SolveResult:
    if spec.kubernetes.flavor not in PROVIDER_OF_FLAVOR:
        return _solve_demand(spec, profile, catalog, rps, window_hours, options=options)
    pb = Problem.of(spec, options)  # the request classes, derived once for the whole solve
    built = build_candidates(
        spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir,
        classes=pb.classes,
    )
    # every region the search may need (_one_region_candidates), and those of the
    # candidates pruned across regions: where that is one, the plan is the spec's own
    regions = sorted(
        {*_one_region_candidates(spec, built[1].unpruned), *(c.row.region for c in built[0])}
    )
    if len(regions) > 1 and not spec.placement.regions:
        return _one_region(
            spec, profile, catalog, rps, window_hours, options, built[1].unpruned, regions,
            classes=pb.classes,
        )
    searched, diag, deadline = _search_demand(
        spec, profile, catalog, rps, options=options, built=built, budget=False, pb=pb
    )
    # placement.regions lists several and the cheapest plan mixes them: a one-cluster
    # flavor's cluster runs in one, as without placement.regions (UX trial 32 F6: the plan
    # put c7a spot in us-west-2 beside c7i in us-east-1, and render only warned); the mixed
    # plan is not finished (no alternatives or baselines of it), and the regions' searches
    # get what is left of the one --time-limit (r2 review: each had the whole limit again)
    if len(_regions_used(searched.best)) > 1:
        return _one_region(
            spec, profile, catalog, rps, window_hours, options, built[1].unpruned, regions,
            classes=pb.classes, end=deadline,
        )
    # the budget after the narrowing: a mixed plan's cost is no one-region plan's (r2 review)
    _within_budget(searched.pb, searched.best, diag)
    return _finish(searched, diag, rps, window_hours, profile, catalog, deadline)


def _regions_used(o: Outcome) -> set[str]:
    """The regions of the candidates with nodes in some window of ``o``."""
    return {
        c.row.region for k, c in enumerate(o.cands) if any(s.nodes and s.nodes[k] for s in o.sols)
    }


_PRICES = ("price_ondemand", "price_spot", "price_spot_median")


def _one_region_candidates(spec: Spec, unpruned: Sequence[Candidate]) -> list[str]:
    """The regions a one-cluster flavor's plan is searched in (:func:`_one_region`), by name:
    every region with a candidate, less a region whose every candidate an earlier-named kept
    region has as well, the same but for the region (the row but for its region, zone names
    and prices; the candidate's shape, capacities and zone count), at no higher price (the
    search reads no other) and in no quota that the region's own is not in. That
    region's cheapest plan moved there node for node holds every row at no higher cost, and
    a tie goes to the earlier name: the region dropped cannot be the one chosen.

    Not the regions of the candidates pruned across regions (``prune``): that dominance
    assumes a plan may mix regions. Region a with types x and y is pruned away there where b
    has a cheaper x and c a cheaper y, yet a's plan (x and y) may cost less than b's or c's."""
    by_region: dict[str, dict[tuple[object, ...], list[Candidate]]] = {}
    for c in unpruned:
        by_region.setdefault(c.row.region, {}).setdefault(_alike(c), []).append(c)
    kept: list[str] = []
    for r in sorted(by_region):
        if not any(_covers(spec, by_region[s], by_region[r]) for s in kept):
            kept.append(r)
    return kept


def _alike(c: Candidate) -> tuple[object, ...]:
    """What a candidate must match in another region to stand in for it there, one for one."""
    row = c.row.model_dump(exclude={"region", "zones", "fetched_at", *_PRICES})
    return (
        repr(sorted(row.items())), c.capacity_type, c.accelerator, c.gpus_per_replica,
        c.threads, c.replicas_per_node, c.cpu_per_replica, c.memory_gib_per_replica,
        repr(c.points), c.zones, len(c.row.zones), repr(c.llm),
    )


def _covers(
    spec: Spec, there: dict[tuple[object, ...], list[Candidate]],
    here: dict[tuple[object, ...], list[Candidate]],
) -> bool:
    """Every candidate ``here`` has one alike ``there``, no dearer, in no other quota."""
    for key, ks in here.items():
        js = there.get(key, [])
        for k in ks:
            quotas = set(quota_members(spec, k.row))
            if not any(
                j.price <= k.price and set(quota_members(spec, j.row)) <= quotas for j in js
            ):
                return False
    return True


def _in_region(spec: Spec, region: str) -> Spec:
    placement = spec.placement.model_copy(update={"regions": (region,)})
    return spec.model_copy(update={"placement": placement})


@dataclass(frozen=True)
class _Searched:
    """A spec's cheapest plan as the search left it: what :func:`_finish` makes the plan of."""

    pb: Problem
    cands: list[Candidate]  # the candidates searched
    best: Outcome
    runs: tuple[SolveStat, ...]  # the search's solver runs
    seconds: float  # from the start of its solve to the end of the search


def _one_region(
    spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float],
    window_hours: float, options: SolveOptions, unpruned: Sequence[Candidate],
    regions: Sequence[str], *, classes: Classes, end: float | None = None,
) -> SolveResult:
    """One cluster runs in one region (render's manifests select none): search the plan alone
    in each candidate region, take the cheapest (ties: the region's name), then make that
    region's plan with the command's options (alternatives, baselines). The plan keeps the
    spec as written and says in its explanation which region, why, and what the others cost.

    ``unpruned``: the spec's candidates before pruning, built once: a region's are its share,
    pruned on their own (``candidates.pruned``), as a spec placed in that region builds them.
    Regions are ranked without placement.budget_per_hour; the chosen region's plan is checked
    against it (its reason names that cost). ``end``: the deadline of a solve begun before
    (the named regions' mixed search), else --time-limit from now. ``classes``: the spec's
    request classes (a region changes the placement only)."""
    t0 = time.perf_counter()
    if end is None:  # the limit is the whole solve's, every region's search in it
        end = t0 + options.time_limit
    names = [c for c, _ in classes]
    costs: dict[str, float | None] = {}
    found: dict[str, _Searched] = {}
    reasons: dict[str, InfeasibleError] = {}  # the search's; none: a class no candidate serves
    for i, r in enumerate(regions):
        t = time.perf_counter()
        share = t + max(0.0, end - t) / (len(regions) - i)  # an even share of what is left
        pb = Problem.of(_in_region(spec, r), options, classes)
        cands, unserved = pruned(pb.spec, [c for c in unpruned if c.row.region == r], names)
        costs[r] = None
        if unserved:
            continue
        try:
            cands = serving_candidates(pb, cands, rps)
            best, runs = _cheapest(pb, cands, rps, share)
        except InfeasibleError as exc:
            reasons[r] = exc
            continue
        costs[r] = rounded(best.cost)  # the plan's cost_per_hour (assemble_plan)
        found[r] = _Searched(pb, cands, best, runs, time.perf_counter() - t)
    held = sorted((c, r) for r, c in costs.items() if c is not None)
    flavor = spec.kubernetes.flavor
    if not held:  # no single region holds the SLO: each region's reasons, the first region's fix
        first = reasons.get(regions[0])
        if first is None:
            pb = Problem.of(_in_region(spec, regions[0]), options, classes)
            first = _unserved(pb, profile, catalog, rps)
        note = InfeasibleReason(
            "region",
            f"flavor {flavor} renders for one cluster, which runs in one region, and no single "
            f"region ({', '.join(regions)}) holds the spec",
            fix=(
                "relax the spec so that one region holds it, or plan each region's share in "
                "a spec of its own (placement.regions)"
            ),
        )
        raise InfeasibleError([note, *first.reasons])
    chosen = held[0][1]
    searched = found[chosen]
    # the plan's warnings are the chosen region's own (flagged, unoffered, left out there)
    _, diag = build_candidates(
        searched.pb.spec, profile, catalog, max_util=options.max_utilization,
        spec_dir=options.spec_dir, classes=classes,
    )
    _within_budget(searched.pb, searched.best, diag)
    # alternatives and baselines get what the limit leaves after the regions' searches
    res = _finish(searched, diag, rps, window_hours, profile, catalog, end)
    others = []
    for r in regions:
        c = costs[r]
        if r == chosen:
            continue
        if c is None:
            others.append(f"{r} holds no plan")
        else:
            others.append(f"{r} +${c - held[0][0]:.4f}/h (${c:.4f}/h)")
    line = (
        f"one region: flavor {flavor} renders for one cluster, which runs in one region; "
        f"{chosen} is the cheapest that holds the SLO (${held[0][0]:.4f}/h); {'; '.join(others)}; "
        "set placement.regions to plan another"
    )
    choice = RegionChoice(
        reason=f"flavor {flavor} renders for one cluster", chosen=chosen, cost_per_hour=costs
    )
    said = (line, *res.plan.explanation)
    plan = hash_plan(res.plan.model_copy(update={"spec": spec, "explanation": said}))
    return dc_replace(
        res, plan=plan, solve_seconds=time.perf_counter() - t0, region_choice=choice,
    )


def _unserved(
    pb: Problem, profile: Profile | None, catalog: Catalog, rps: Sequence[float]
) -> InfeasibleError:
    """Why ``pb``'s spec has a class no candidate serves, from its own build's diagnostics."""
    _, diag = build_candidates(
        pb.spec, profile, catalog, max_util=pb.options.max_utilization,
        spec_dir=pb.options.spec_dir, classes=pb.classes,
    )
    return _no_candidates(pb, diag, profile, catalog, rps)


def _no_candidates(
    pb: Problem, diag: Diagnostics, profile: Profile | None, catalog: Catalog,
    rps: Sequence[float],
) -> InfeasibleError:
    """No candidate, or a class none serves: why, with what relaxing an unreachable SLO costs."""
    reasons = diagnose_candidates(pb.spec, diag)
    return InfeasibleError(relax_costs(reasons, pb.spec, profile, catalog, rps, pb.options))


@dataclass(frozen=True)
class RegionChoice:
    """``optimize --json``'s ``region_choice``: the one region a one-cluster flavor's plan uses,
    and each candidate region's plan cost (None: no plan there)."""

    reason: str
    chosen: str
    cost_per_hour: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason, "chosen": self.chosen,
            "cost_per_hour": dict(self.cost_per_hour),
        }


def _solve_demand(
    spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float],
    window_hours: float, *, options: SolveOptions,
    built: tuple[list[Candidate], Diagnostics] | None = None,
) -> SolveResult:
    """One solve over the spec's placement as written; ``built``: its candidates, if built."""
    searched, diag, deadline = _search_demand(
        spec, profile, catalog, rps, options=options, built=built
    )
    return _finish(searched, diag, rps, window_hours, profile, catalog, deadline)


def _search_demand(
    spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float], *,
    options: SolveOptions, built: tuple[list[Candidate], Diagnostics] | None = None,
    budget: bool = True, pb: Problem | None = None,
) -> tuple[_Searched, Diagnostics, float]:
    """The search of :func:`_solve_demand`: its cheapest plan (checked against the budget
    unless ``budget`` is False: the caller checks it), the candidates' diagnostics and the
    deadline the plan's later steps share. ``pb``: the spec's Problem, when the caller made
    it (its request classes are derived once per solve)."""
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit
    pb = pb if pb is not None else Problem.of(spec, options)
    cands, diag = built or build_candidates(
        spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir,
        classes=pb.classes,
    )
    if not cands or diag.unserved_classes:
        raise _no_candidates(pb, diag, profile, catalog, rps)
    cands = serving_candidates(pb, cands, rps)
    best, runs = _cheapest(pb, cands, rps, deadline)
    if budget:
        _within_budget(pb, best, diag)
    return _Searched(pb, cands, best, runs, time.perf_counter() - t0), diag, deadline


def _finish(
    searched: _Searched, diag: Diagnostics, rps: Sequence[float], window_hours: float,
    profile: Profile | None, catalog: Catalog, deadline: float,
) -> SolveResult:
    """The plan of a search's cheapest plan: alternatives and baselines (by ``deadline``),
    explanation, warnings (``diag``: its candidates' diagnostics)."""
    pb, cands, best = searched.pb, searched.cands, searched.best
    spec, options = pb.spec, pb.options

    def plan_over(pb: Problem, cands: list[Candidate], rps: Sequence[float], end: float) -> Outcome:
        return solve_plan(pb, cands, rps, deadline=end)

    best = with_uncapped(pb, best, cands, rps, deadline, plan_over)
    allocs, models = allocations(pb, best, rps)
    comparison: tuple[list[Alternative], list[Baseline]] = ([], [])
    lost: SpotLoss | None = None
    unused: tuple[UnusedAccelerator, ...] | None = None
    t_alt = time.perf_counter()
    if options.alternatives:
        # alternatives and baselines share --time-limit with the main solve (it is the
        # command's limit, not one per solve); what does not fit in it is left out
        # accelerators left out for their flags that could have served: profiled ones (an
        # LLM spec's capacity model serves any)
        flagged = untried_flagged(spec, diag)
        solved: Solved = {}  # plans on candidates of one accelerator or one type, by them
        comparison = compare(pb, cands, diag.unpruned, rps, best, deadline, flagged, solved)
        # spot without survive_loss: what the rule would cost, one more solve in the limit
        on = survive_loss_solve(pb, diag.unpruned, rps, best, deadline)
        lost = spot_loss(pb, best, rps, on) if on is not None else None
        # why the plan runs on none of an accelerator the spec allows (UX trial 37 F8)
        named = [catalog.resolve(n) or n for n in spec.placement.accelerators]
        unused = unused_accelerators(pb, diag, named, rps, best, deadline, solved)
    without_survive = spot_loss_cost(pb, cands, rps, deadline)
    used = allocated_candidates(best)
    sanity = sanity_warning(
        spec, allocs, used, best.cost, profile, catalog, rps, options, deadline
    )
    alt_seconds = time.perf_counter() - t_alt
    util = utilization(pb, best, rps)
    explanation = explain(
        pb, allocs, best, rps, comparison, models, util, spot_loss_base=without_survive,
        spot_loss=lost, spot_rows=frozenset(
            (c.row.provider, c.row.region, c.row.instance_type)
            for c in diag.unpruned if c.capacity_type == "spot"
        ),
    )
    plan = assemble_plan(
        pb, best, rps, window_hours, allocs, comparison, diag.warnings, explanation,
        architecture=diag.architecture, sanity=sanity, calibration=diag.llm_calibration,
        spot_loss=lost, points_unused=diag.llm_points_unused,
        profile_unused=diag.llm_profile_unused, unused_accelerators=unused,
    )
    return SolveResult(
        plan=plan,
        solve_seconds=searched.seconds,
        candidates=len(cands),
        windows_solved=len(set(rps)),
        stats=searched.runs,
        alternatives_seconds=alt_seconds,
        candidates_unpruned=len(diag.unpruned),
        tie_cut=best.tie_cut,
    )
