"""Losses on a plan over one demand window as the ``routing: gateway-api`` HTTPRoute delivers it.

Render weighs each backend Service by its pods' capacity at the peak (``kube.weights``;
:func:`scaleplan.solve.split.group_weights` on candidates) and kube-proxy spreads a Service's
share evenly over its pods, whatever split the MILP's routing assumed, so every pod is loaded
at u = demand / capacity. :func:`hold_delivered_loss` checks n+1, zone and
spot.survive_loss per backend Service at that share (bilinear in the replica counts, so not a
MILP row) and, when a Service falls short, runs a branch and bound over u, each node one
search with ``WindowProblem.delivered_util``. :func:`rounded_spot_share` is spot.max_fraction
at the route's integer weights (``spot_rounding.hold_rounded_spot`` holds it).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scaleplan.kube.weights import peak_window
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import WindowSolution
from scaleplan.solve.milp.window import zone_lost
from scaleplan.solve.omission import INTEGER_WEIGHTS
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.solve.split import Split, group_weights, spot_share

# searches the branch and bound of hold_delivered_loss may run per pass (each one MILP)
MAX_LOSS_SEARCHES = 40


def rounded_spot_share(split: Split, o: Outcome, rps: Sequence[float] | None = None) -> float:
    """The largest share of requests on spot pods, over ``o``'s windows, as the HTTPRoute
    delivers it at its integer weights (:func:`spot_share`, :func:`group_weights`). With
    ``kubernetes.class_header`` (:attr:`Problem.class_routed`; one window, ``rps`` its demand)
    the class rules send the requests, each class by the MILP's own routing: the share is
    theirs, on the allocations as assembled (``kube.backends.class_rule_spot_share``), not the
    capacity weights of the header-less rule, which no request with the header follows."""
    if split.pb.class_routed:
        from scaleplan.kube.backends import class_rule_spot_share
        from scaleplan.solve.assemble import allocations  # assemble sits above this module

        assert rps is not None, "class rules: the share needs the plan's demand"
        if not o.sols:
            return 0.0
        return class_rule_spot_share(allocations(split.pb, o, rps)[0], split.pb.classes)
    return max(
        (spot_share(o.cands, split.groups, group_weights(split, x.replicas), x.replicas)
         for x in o.sols),
        default=0.0,
    )



# what largest-remainder rounding can add to a backend's share of the requests: its weight is
# at most one point over its exact share (kube.weights.largest_remainder)
ROUNDING = 0.01


@dataclass(frozen=True)
class Short:
    """A backend group that does not survive a loss as delivered: the rule, the share of its
    pods' capacity left after the loss (``kept``), the load the route's integer weights put on
    it (``load``, of its capacity), that load before rounding (``u``: demand / capacity, every
    pod's) and what one unit of demand share adds to it (``unit``: demand / its capacity)."""

    rule: str
    kept: float
    load: float
    u: float
    unit: float


def _lost(c: Candidate, reps: int, rule: str) -> int:
    """Pods of one candidate a loss takes: its largest node (n+1), its worst zone's share of
    the even spread (zone, ``window.zone_lost``, as the simulator lays them out: pod i in zone
    i mod Z), all of them when spot (survive_loss)."""
    if rule == "n+1":
        return min(c.replicas_per_node, reps)
    if rule == "zone":
        return zone_lost(c, reps)
    return reps if c.capacity_type == "spot" else 0


def _rules(pb: Problem) -> list[str]:
    """The rules checked per backend group: traffic.headroom (its pods' capacity over the
    share the integer weights send it: the weights' rounding can add a point to a share the
    capacity rows held exactly), then n+1 / zone and survive_loss when the spec asks."""
    pl = pb.spec.placement
    rules = ["headroom", *([pl.redundancy] if pl.redundancy in ("n+1", "zone") else [])]
    return [*rules, "spot"] if pl.spot.allowed and pl.spot.survive_loss else rules


def _kept(pb: Problem, c: Sequence[Candidate], x: WindowSolution, ks: Sequence[int], rule: str,
          pods: int) -> float:
    """The share of a group's pods' capacity left to carry its load under ``rule``: 1 / (1 +
    headroom) for headroom, else what a loss leaves (:func:`_lost`)."""
    if rule == "headroom":
        return 1 / (1 + pb.spec.traffic.headroom)
    lost = [_lost(c[k], x.replicas[k], rule) for k in ks if x.replicas[k]]
    return 1 - (max(lost) if rule == "n+1" else sum(lost)) / pods


def loss_short(split: Split, o: Outcome, rps: Sequence[float]) -> Short | None:
    """The worst backend group of ``o`` (demand ``rps[w]`` in window w; ``split`` over its
    candidates) whose pods do not carry the share the route's integer weights send it
    (:func:`group_weights` at the peak window, fixed all day) with headroom, or after a loss
    (n+1, zone, survive_loss); None when every group holds every rule in every window. The
    share is of every request class (an HTTPRoute cannot tell them apart), so a pod's load is
    W_g D / pods_g at its capacity for the class mix (``Split.mcap``): sum_c W_g D_c /
    (pods_g cap_c), whatever per-class split the MILP's routing assumed."""
    pb, cands, rules = split.pb, o.cands, _rules(split.pb)
    worst: Short | None = None
    shares = group_weights(split, o.sols[peak_window(rps)].replicas) if o.sols else {}
    for x, d in zip(o.sols, rps, strict=True):
        reps = x.replicas
        cap = sum(r * split.wcap[k] for k, r in enumerate(reps) if split.mcap[k] > 0)
        for g, ks in split.members.items():
            pods = sum(reps[k] for k in ks)
            if pods <= 0 or shares.get(g, 0.0) <= 0:
                continue
            unit = d / (min(split.mcap[k] for k in ks if reps[k]) * pods)
            load = shares[g] * unit
            for rule in rules:
                kept = _kept(pb, cands, x, ks, rule, pods)
                if kept < load - 1e-9 and (worst is None or load - kept > worst.load - worst.kept):
                    worst = Short(rule, kept, load, d / cap if cap > 0 else math.inf, unit)
    return worst


def _spot_ok(split: Split, o: Outcome) -> bool:
    """``o`` keeps spot.max_fraction at the route's integer weights (:func:`rounded_spot_share`)."""
    return rounded_spot_share(split, o) <= split.pb.spec.placement.spot.max_fraction + 1e-9


@dataclass(order=True)
class _Node:
    lower: float  # a lower bound on every plan with u in [lo, hi] that holds (margin 0)
    lo: float
    hi: float
    o: Outcome | None = field(default=None, compare=False)  # its plan, when already searched


def _split_at(short: Short, margin: float) -> float | None:
    """Where to split u so that neither half keeps the plan: below its u (C >= D / m excludes
    it), above what survives less the margin's load (the rows ask kept >= m + margin x unit);
    None when no such point exists (the group falls short only by the weights' rounding and
    the rows leave it no margin)."""
    top = short.kept - margin * short.unit
    return (top + short.u) / 2 if top < short.u - 1e-12 else None


@dataclass
class _Search:
    """One branch and bound's state: the plan that holds, the bound over what it set aside."""

    best: Outcome | None = None
    open_lb: float = math.inf
    searches: int = 0

    def keep(self, t: Outcome) -> None:
        if self.best is None or t.cost < self.best.cost - 1e-9:
            self.best = t


def _branch(
    split: Split, o: Outcome, rps: Sequence[float], deadline: float, tie_break: bool,
    margin: float,
) -> _Search:
    """Best-first branch and bound over u = demand / capacity (every pod's load as the route
    delivers it before rounding; ``WindowProblem.delivered_util``): each node's search is a
    relaxation of the plans with u in its interval that hold the rules at the capacity shares
    and at the integer weights (``margin`` 0; with +:data:`ROUNDING` a restriction to plans
    that hold at any rounding), a plan that holds as delivered closes it, one that does not
    splits it at :func:`_split_at`; a node that cannot split, or is not searched within the
    limits, stays open (``open_lb``). ``split``: over ``o.cands``, every node's candidates."""
    run = _Search()
    heap = [_Node(o.floor, 0.0, 1.0, o)]
    while heap:
        node = heapq.heappop(heap)
        if run.best is not None and node.lower >= run.best.cost - 1e-9:
            break
        t = node.o
        if t is None:
            if run.searches >= MAX_LOSS_SEARCHES or time.perf_counter() > deadline:
                run.open_lb = min(run.open_lb, node.lower)
                continue
            run.searches += 1
            t = search_windows(
                split.pb, o.cands, rps, deadline=deadline, tie_break=tie_break,
                delivered=(node.lo, node.hi, margin),
            )
            if not t.solved:
                if t.status != "infeasible":
                    run.open_lb = min(run.open_lb, node.lower)
                continue
        short = loss_short(split, t, rps)
        if short is None and _spot_ok(split, t):
            run.keep(t)
            if t.status != "optimal":
                run.open_lb = min(run.open_lb, t.floor)
            continue
        m = _split_at(short, margin) if short is not None else None
        lb = max(node.lower, t.floor)
        if m is None or not node.lo <= m <= node.hi:
            run.open_lb = min(run.open_lb, lb)
            continue
        heapq.heappush(heap, _Node(lb, node.lo, m))
        heapq.heappush(heap, _Node(lb, m, node.hi))
    cut = run.best.cost - 1e-9 if run.best is not None else math.inf
    run.open_lb = min([run.open_lb, *(n.lower for n in heap if n.lower < cut)])
    return run


def hold_delivered_loss(
    pb: Problem, o: Outcome, rps: Sequence[float], deadline: float, *, tie_break: bool = True
) -> Outcome:
    """routing: gateway-api over one demand window, one request class (several go through
    the static-weights re-plan, :attr:`Problem.mixed_stream`): n+1, zone and
    spot.survive_loss as the HTTPRoute delivers them. The MILP checks each backend group's loss
    against its own routing, but render sends the group its capacity share (a lone A10G spot
    pod the MILP added for min_replicas and routed nothing gets 39 % of the requests, all lost
    with it). ``o`` itself when it holds (or the rules do not apply). Else a branch and bound
    (:func:`_branch`, margin 0: its bound holds for every plan that keeps the rules at the
    capacity shares and at the integer weights) and, when that leaves nodes open below its
    best plan (a group short within the rounding), one whose rows ask what rounding can add.
    ``optimal`` when the best plan meets the bound; ``feasible`` with its gap otherwise; ``o``
    with a warning when neither finds a plan that holds."""
    applies = (
        pb.spec.kubernetes.routing == "gateway-api"
        and not pb.static_weights(rps)
        and not pb.class_routed  # a rule per class delivers the MILP's own routing
    )
    if not (o.solved and applies):  # several classes: static weights (Problem.mixed_stream)
        return o
    split = Split(pb, o.cands)
    short = loss_short(split, o, rps)
    if short is None:
        return o
    exact = _branch(split, o, rps, deadline, tie_break, 0.0)
    best, lower = exact.best, min(exact.open_lb, exact.best.cost if exact.best else math.inf)
    if best is None or exact.open_lb < best.cost - 1e-9:
        rounded = _branch(split, o, rps, deadline, tie_break, ROUNDING)
        if rounded.best is not None and (best is None or rounded.best.cost < best.cost - 1e-9):
            best = rounded.best
    words = {"n+1": "redundancy n+1", "zone": "redundancy zone", "spot": "spot.survive_loss",
             "headroom": "traffic.headroom"}
    left = (
        f"headroom {pb.spec.traffic.headroom:g} allows {short.kept:.1%}" if short.rule == "headroom"
        else f"{short.kept:.1%} is left after the loss"
    )
    what = (
        f"{words[short.rule]} as the HTTPRoute delivers it: the cheapest plan that holds it "
        f"against the MILP's own routing (${o.cost:.2f}/h) loads a backend at "
        f"{short.load:.1%} of its pods' capacity at its integer weight, and {left}"
    )
    if best is None:
        note = f"{what}; no plan that holds it was found within the search limit"
        return replace(o, note=f"{o.note}; {note}" if o.note else note, omits=INTEGER_WEIGHTS)
    lower = max(min(lower, best.cost), o.floor)
    if best.cost <= lower + 1e-9 and best.status == "optimal" and o.status == "optimal":
        return replace(best, bound=best.cost, stats=o.stats, note=o.note, omits=o.omits)
    gap = (best.cost - lower) / best.cost if best.cost > 0 else 0.0
    note = f"{what}; this plan holds it and is feasible, within {gap:.2%} of the bound"
    note = f"{o.note}; {note}" if o.note else note
    return replace(
        best, status="feasible", bound=lower, proven=o.proven, note=note, stats=o.stats,
        omits=INTEGER_WEIGHTS,
    )
