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
from scaleplan.plan import Alternative, Baseline, Plan, SpotLoss
from scaleplan.profile.model import Profile
from scaleplan.solve.after_search import after_search
from scaleplan.solve.assemble import (
    allocated_candidates,
    allocations,
    assemble_plan,
    hash_plan,
    utilization,
)
from scaleplan.solve.candidates import Candidate, build_candidates
from scaleplan.solve.compare import compare, spot_loss, spot_loss_cost, survive_loss_solve
from scaleplan.solve.diagnose import (
    budget_reason,
    diagnose_candidates,
    diagnose_milp,
    serving_candidates,
    time_limit_reason,
)
from scaleplan.solve.explain import explain
from scaleplan.solve.milp import SolveStat
from scaleplan.solve.problem import Problem, SolveOptions, demand_windows
from scaleplan.solve.sanity import relax_costs, sanity_warning
from scaleplan.solve.search import Outcome, search_windows
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

    def stats_dict(self) -> dict[str, Any]:
        """``optimize --json``'s ``solve_stats``: each solver run behind the plan (model size,
        seconds) and the time around them."""
        runs = [
            {
                "kind": r.kind, "rows": r.rows, "columns": r.columns, "integers": r.integers,
                "nonzeros": r.nonzeros, "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 4), "status": r.status,
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
    with the solver runs of the search (a static re-plan keeps the search's runs)."""
    options = pb.options
    best = search_windows(pb, cands, rps, deadline=deadline)
    runs = best.stats
    if best.status == "unknown":
        raise InfeasibleError([time_limit_reason(pb, cands, rps)])
    if best.status == "infeasible":
        raise InfeasibleError(diagnose_milp(pb, cands, rps, deadline + options.time_limit))
    best = after_search(pb, best, rps, deadline)
    budget = pb.spec.placement.budget_per_hour
    if budget is not None and best.cost > budget + 1e-9:
        raise InfeasibleError([budget_reason(budget, best)])
    return best, runs


def solve_demand(spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float], window_hours: float, *, options: SolveOptions) -> SolveResult:
    """Like :func:`solve` with an explicit demand curve (any number of windows). A flavor that
    renders for one cluster (eks, eks-karpenter, gke, aks) with no ``placement.regions`` plans
    one region: :func:`_one_region`."""
    if spec.kubernetes.flavor in PROVIDER_OF_FLAVOR and not spec.placement.regions:
        regions = _candidate_regions(spec, profile, catalog, options)
        if len(regions) > 1:
            return _one_region(spec, profile, catalog, rps, window_hours, options, regions)
    return _solve_demand(spec, profile, catalog, rps, window_hours, options=options)


def _candidate_regions(
    spec: Spec, profile: Profile | None, catalog: Catalog, options: SolveOptions
) -> list[str]:
    """The regions the spec's candidates run in, sorted."""
    cands, _ = build_candidates(
        spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir
    )
    return sorted({c.row.region for c in cands})


def _in_region(spec: Spec, region: str) -> Spec:
    placement = spec.placement.model_copy(update={"regions": (region,)})
    return spec.model_copy(update={"placement": placement})


def _one_region(
    spec: Spec, profile: Profile | None, catalog: Catalog, rps: Sequence[float],
    window_hours: float, options: SolveOptions, regions: Sequence[str],
) -> SolveResult:
    """One cluster runs in one region (render's manifests select none): solve the plan alone in
    each candidate region, take the cheapest (ties: the region's name), then solve that region
    with the command's options (alternatives, baselines). The plan keeps the spec as written and
    says in its explanation which region, why, and what the others cost."""
    t0 = time.perf_counter()
    plan_only = dc_replace(options, alternatives=False)
    # the budget is checked on the plan after its search (solve._cheapest): regions are ranked
    # without it, and the chosen one's solve below checks it (its reason names that cost)
    unbudgeted = spec.model_copy(
        update={"placement": spec.placement.model_copy(update={"budget_per_hour": None})}
    )
    costs: dict[str, float | None] = {}
    results: dict[str, SolveResult] = {}
    reasons: dict[str, InfeasibleError] = {}
    for r in regions:
        try:
            res = _solve_demand(
                _in_region(unbudgeted, r), profile, catalog, rps, window_hours, options=plan_only
            )
        except InfeasibleError as exc:
            costs[r], reasons[r] = None, exc
            continue
        costs[r], results[r] = res.plan.cost_per_hour, res
    held = sorted((c, r) for r, c in costs.items() if c is not None)
    flavor = spec.kubernetes.flavor
    if not held:  # no single region holds the SLO: each region's reasons, the first region's fix
        first = reasons[regions[0]]
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
    best = results[chosen]
    if options.alternatives or spec.placement.budget_per_hour is not None:
        best = _solve_demand(
            _in_region(spec, chosen), profile, catalog, rps, window_hours, options=options
        )
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
        reason=f"flavor {flavor} renders for one cluster", chosen=chosen, cost_per_hour=dict(costs)
    )
    said = (line, *best.plan.explanation)
    plan = hash_plan(best.plan.model_copy(update={"spec": spec, "explanation": said}))
    return dc_replace(
        best, plan=plan, solve_seconds=time.perf_counter() - t0, region_choice=choice,
    )


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
) -> SolveResult:
    """One solve over the spec's placement as written."""
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit
    pb = Problem.of(spec, options)
    cands, diag = build_candidates(spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir)
    if not cands or diag.unserved_classes:  # with what relaxing an unreachable SLO costs
        reasons = diagnose_candidates(spec, diag)
        raise InfeasibleError(relax_costs(reasons, spec, profile, catalog, rps, options))
    cands = serving_candidates(pb, cands, rps)
    best, runs = _cheapest(pb, cands, rps, deadline)
    solve_seconds = time.perf_counter() - t0
    allocs, models = allocations(pb, best, rps)
    comparison: tuple[list[Alternative], list[Baseline]] = ([], [])
    lost: SpotLoss | None = None
    t_alt = time.perf_counter()
    if options.alternatives:
        # alternatives and baselines share --time-limit with the main solve (it is the
        # command's limit, not one per solve); what does not fit in it is left out
        # accelerators left out for their flags that could have served: profiled ones (an
        # LLM spec's capacity model serves any)
        flagged = [
            a for a in diag.flagged_only
            if spec.model.architecture is not None or a in diag.profile_accelerators
        ]
        comparison = compare(pb, cands, diag.unpruned, rps, best, deadline, flagged)
        # spot without survive_loss: what the rule would cost, one more solve in the limit
        on = survive_loss_solve(pb, diag.unpruned, rps, best, deadline)
        lost = spot_loss(pb, best, rps, on) if on is not None else None
    without_survive = spot_loss_cost(pb, cands, rps, deadline)
    used = allocated_candidates(best)
    sanity = sanity_warning(spec, allocs, used, best.cost, profile, catalog, rps, options)
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
        spot_loss=lost,
    )
    return SolveResult(
        plan=plan,
        solve_seconds=solve_seconds,
        candidates=len(cands),
        windows_solved=len(set(rps)),
        stats=runs,
        alternatives_seconds=alt_seconds,
        candidates_unpruned=len(diag.unpruned),
    )
