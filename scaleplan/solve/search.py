"""The search over demand windows: one candidate list, every window's MILP, one Outcome.

:func:`search_windows` states the spec's placement rules as a :class:`WindowProblem` and
solves each distinct demand window (``milp.solve_windows``); the :class:`Outcome` it returns
is what static re-planning, diagnosis, assembly, explanation and comparison all read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import SolveStat, WindowProblem, WindowSolution, solve_windows
from scaleplan.solve.omission import Omission
from scaleplan.solve.problem import Problem, capacity_bound, quota_scopes


@dataclass
class Outcome:
    """A solved multi-window problem over a candidate list."""

    cands: list[Candidate]
    sols: list[WindowSolution]  # one per window
    status: str
    cost: float  # mean cost per hour
    bound: float
    # static HTTPRoute weights (routing: gateway-api over several windows): each candidate's
    # traffic share, the per-window weighted optimum it is measured against, and whether that
    # optimum was proven (not stopped by the time limit)
    shares: list[float] | None = None
    lower: float | None = None
    proven: bool = True
    # what a step after the search says of its plan, in the plan's warnings (the steps of
    # after_search: spot_rounding, delivered, rulecurve, floors, the static re-plan's check);
    # the plan is then measured against the bound it found (``bound``)
    note: str = ""
    stats: tuple[SolveStat, ...] = ()  # solver runs behind ``sols``
    # static weights with spot candidates: the plan over the on-demand candidates alone that
    # competed (static._on_demand_plan), as solve_plan returns it: the all-on-demand baseline
    on_demand: Outcome | None = None
    # kubernetes.class_header over a curve (solve.rulecurve): the window whose per-class
    # routing the HTTPRoute's rules hold all day; None: the class-blind route's weights
    rules_hour: int | None = None
    # what the lower bound ``bound`` leaves out, as the heuristic step that measured the plan
    # against it records it (scaleplan.solve.omission); () for the MILP's own plan
    omits: tuple[Omission, ...] = ()
    # placement.max_instance_types (scaleplan.solve.typecap): the sets of that many types
    # searched for the day's plan, of how many; (0, 0) when no set had to be searched
    type_sets: tuple[int, int] = (0, 0)
    # the plan without placement.max_instance_types, its cost and type count (typecap.
    # with_uncapped); None without the field
    uncapped: tuple[float, int] | None = None

    @property
    def solved(self) -> bool:
        return self.status in ("optimal", "feasible")

    @property
    def tie_cut(self) -> int:
        """How many of the windows' plans had their tie-break cut by the deadline
        (:attr:`WindowSolution.tie_cut`): the plan's warnings and ``solve_stats`` say it."""
        return sum(1 for s in self.sols if s.tie_cut)

    @property
    def floor(self) -> float:
        """A lower bound on every plan over its candidates: its cost when optimal, else the
        solver's ``bound``."""
        return self.cost if self.status == "optimal" else self.bound


def outcome_gap(o: Outcome) -> float:
    """The plan's relative gap, ``(cost - bound) / cost`` (0 when optimal or free): against
    the MILP's own bound, or against the lower bound a heuristic step measures itself by
    (``scaleplan.solve.explain.gap_line`` says which)."""
    return 0.0 if o.status == "optimal" else gap_to(o.cost, o.bound)


def gap_to(cost: float, lower: float) -> float:
    """A cost's relative gap to a lower bound, ``(cost - lower) / cost`` (0 when free): the
    one arithmetic of the plan's headline gap (:func:`outcome_gap`) and the Routing lines'."""
    return max(0.0, (cost - lower) / cost) if cost > 0 else 0.0


def search_windows(
    pb: Problem,
    cands: list[Candidate],
    rps: Sequence[float],
    *,
    deadline: float,
    quotas: bool = True,
    max_replicas: bool = True,
    tie_break: bool = True,
    delivered: tuple[float, float, float] | None = None,
) -> Outcome:
    """Every window's cheapest plan over ``cands`` (weighted per window; no static weights).

    ``quotas`` / ``max_replicas`` False drop those rules (diagnosis asks what they cost);
    ``delivered``: :attr:`WindowProblem.delivered_util` (``scaleplan.solve.delivered``).
    """
    if not rps:
        return Outcome(cands, [], "infeasible", math.inf, math.inf)
    base, demands = window_problem(
        pb, cands, rps, quotas=quotas, max_replicas=max_replicas, delivered=delivered
    )
    runs: list[SolveStat] = []
    cache = solve_windows(
        base, demands, solver=pb.options.solver, deadline=deadline, tie_break=tie_break, stats=runs
    )
    sols = [cache[d] for d in demands]
    statuses = {s.status for s in sols}
    if statuses & {"infeasible", "unknown"}:
        unknown = "unknown" in statuses and "infeasible" not in statuses
        status = "unknown" if unknown else "infeasible"
        return Outcome(cands, sols, status, math.inf, math.inf, stats=tuple(runs))
    status = "optimal" if statuses == {"optimal"} else "feasible"
    w = len(sols)
    cost = sum(s.cost for s in sols) / w
    bound = sum((s.bound if s.bound is not None else 0.0) for s in sols) / w
    # proven: the search finished (Outcome.proven defaults to True, which made the gap line of
    # the MILP's own plan stopped at the time limit read "a step after a finished search")
    proven = status == "optimal"
    return Outcome(cands, sols, status, cost, bound, proven=proven, stats=tuple(runs))


def window_problem(
    pb: Problem,
    cands: list[Candidate],
    rps: Sequence[float],
    *,
    quotas: bool = True,
    max_replicas: bool = True,
    delivered: tuple[float, float, float] | None = None,
) -> tuple[WindowProblem, list[tuple[float, ...]]]:
    """The spec's placement rules over ``cands`` as the peak window's :class:`WindowProblem`,
    and every window's demand per class (``rps`` x share, rounded to 1e-9), in ``rps``'s order:
    what :func:`search_windows` solves (the arguments are its)."""
    classes = pb.classes
    pl = pb.spec.placement
    scopes = quota_scopes(pb.spec, cands) if quotas else ()
    spot = pl.spot.max_fraction if any(c.capacity_type == "spot" for c in cands) else None
    demands = [tuple(round(v * s, 9) for _, s in classes) for v in rps]
    gateway = pb.spec.kubernetes.routing == "gateway-api"
    groups = shape_groups(cands) if gateway else ()
    return WindowProblem(
        candidates=cands,
        classes=tuple(c for c, _ in classes),
        demand=max(demands, key=lambda d: (sum(d), d)),
        headroom=pb.spec.traffic.headroom,
        redundancy=pl.redundancy,
        spot_max_fraction=spot,
        quotas=scopes,
        min_replicas=pl.min_replicas,
        max_replicas=pl.max_replicas if max_replicas else None,
        even=pb.even_split,
        survive_spot_loss=pl.spot.survive_loss,
        backend_groups=groups,
        # one window (several classes too: the route's capacity share is each class's), or
        # one serving shape (one Service of weight 100 in every window, whose spot pods' share
        # of its pods is then the share of the requests they get), or max_fraction 0 (a spot
        # pod in a Service with a weight gets requests: none may run)
        # inference-pool: the endpoint picker balances load over every pod (shortest queue,
        # free KV cache), so spot pods get their share of the capacity in every window
        spot_by_capacity=(
            gateway
            and (not pb.hourly_weights(rps) or len(set(groups)) == 1 or pl.spot.max_fraction == 0)
        )
        or pb.spec.kubernetes.routing == "inference-pool",
        delivered_util=delivered,
        floors=_floors(pb, cands),
        max_types=pl.max_instance_types,
    ), demands


def _floors(pb: Problem, cands: Sequence[Candidate]) -> tuple[int, ...]:
    """:attr:`WindowProblem.floors`: the replicas ``pb.floored`` holds each candidate at, 0
    for the others; () when none is held."""
    held = dict(pb.floored)
    if not held or not any(id(c) in held for c in cands):
        return ()
    return tuple(held.get(id(c), 0) for c in cands)


def floor_without_redundancy(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> tuple[float, bool]:
    """A lower bound on every plan over ``cands`` whose other rules :func:`search_windows`
    relaxes, and whether it is proven (its searches optimal): that search with
    placement.redundancy none (a plan holding n+1 / zone holds every other row), else
    :func:`capacity_bound` (unproven). Where the search's multi-class n+1 / zone rows are no
    relaxation of the plans (a spare node per type where one backend Service needs one)."""
    pl = pb.spec.placement.model_copy(update={"redundancy": "none"})
    relaxed = replace(pb, spec=pb.spec.model_copy(update={"placement": pl}))
    t = search_windows(relaxed, cands, rps, deadline=deadline, tie_break=False)
    if t.solved:
        return t.floor, t.status == "optimal"
    return capacity_bound(pb, cands, rps, as_searched=True) or 0.0, False


def shape_groups(cands: Sequence[Candidate]) -> tuple[int, ...]:
    """Each candidate's backend group under routing: gateway-api: candidates of one
    :attr:`Candidate.serving_shape` share one Service (numbered in order of first appearance)."""
    ids: dict[tuple[object, ...], int] = {}
    return tuple(ids.setdefault(c.serving_shape, len(ids)) for c in cands)


def describe(o: Outcome, window: int | None = None) -> str:
    """The outcome's peak nodes per instance type, largest first: ``3 x g5.xlarge + ...``;
    the most of each type (spot apart) in any window, or its nodes in ``window`` (an index of
    ``o.sols``) when given. A type's candidates (its serving shapes, its regions) count together
    in each window: shapes that run in different hours are not the type's most at once."""
    sols = o.sols if window is None else o.sols[window : window + 1]
    peak_nodes: dict[str, int] = {}
    for s in sols:
        here: dict[str, int] = {}
        for k, c in enumerate(o.cands):
            if s.nodes[k]:
                label = c.row.instance_type + (" spot" if c.capacity_type == "spot" else "")
                here[label] = here.get(label, 0) + s.nodes[k]
        for label, n in here.items():
            peak_nodes[label] = max(peak_nodes.get(label, 0), n)
    by_size = sorted(peak_nodes.items(), key=lambda kv: (-kv[1], kv[0]))
    return " + ".join(f"{n} x {t}" for t, n in by_size) or "nothing"
