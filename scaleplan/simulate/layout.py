"""The layout both simulators share: whether a plan can be simulated, which replicas it runs in
each window (global replica ids with their allocation and zone), and the simulated day cut into
segments.

Pure: everything here depends only on the plan and the arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import InfeasibleError, InfeasibleReason, PlanError, Problem
from scaleplan.kube.zones import spread_zones
from scaleplan.plan import Plan

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Segment = tuple[float, float, int]  # (t0, t1, window): one window simulated from t0 to t1 s


def check_simulatable(plan: Plan, name: str = "<plan>") -> None:
    """Raise InfeasibleError (exit 4) / PlanError (exit 3) for plans that cannot be simulated."""
    if plan.status == "infeasible":
        raise InfeasibleError([InfeasibleReason("plan-infeasible", f"{name}: the plan's status is "
            "'infeasible'; there is no deployment to simulate", "fix the spec (see the plan's "
            "explanation) and run 'scaleplan optimize' again")])
    if not plan.allocations:
        raise PlanError(name, [Problem("allocations", "the plan has no allocations, so there is "
            "nothing to simulate", hint="run 'scaleplan optimize' to produce a plan "
            "with allocations")])
    problems: list[Problem] = []
    if any(not math.isfinite(x) or x < 0 for x in plan.demand.rps):
        problems.append(Problem("demand.rps", "rates must be finite and >= 0",
            hint="fix the plan or run 'scaleplan optimize' again"))
    if problems:
        raise PlanError(name, problems)
    if sum(sum(a.replicas_per_window) for a in plan.allocations) == 0:
        raise PlanError(name, [Problem("allocations", "every allocation has 0 replicas in "
            "every window", hint="run 'scaleplan optimize' again")])


# ---------------------------------------------------------------- replicas


@dataclass(frozen=True)
class Topology:
    """The plan's replicas as global ids: allocation ``ai`` owns ids ``offsets[ai]`` up to its
    largest count; in window ``w`` the first ``counts[ai][w]`` of them run."""

    names: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # [alloc][window] replicas after replica_delta
    offsets: tuple[int, ...]  # first global replica id of each allocation
    n_replicas: int
    alloc_of: I64  # global replica id -> allocation index
    zone_of: tuple[str, ...]  # global replica id -> zone
    # windows where a negative replica_delta removed fewer than asked (one replica kept running)
    floored: frozenset[int] = frozenset()

    def serving(self, window: int) -> list[int]:
        """The global ids of the replicas that run in ``window``, allocation by allocation."""
        return [self.offsets[ai] + j for ai in range(len(self.counts))
            for j in range(self.counts[ai][window])]

    def standing(
        self, window: int, t0: float, t1: float, lost: frozenset[int], down_s: float, up_s: float
    ) -> list[int]:
        """The ids of ``window`` (``t0`` to ``t1``) that serve through all of it: those
        ``serving`` runs less the ``lost`` ones down at some time in it (from ``down_s`` until
        ``up_s``, inf: never back). A window's replica count after a failure: the fewest serving
        in it, not the plan's count (UX trial 23 F13)."""
        gone = lost_in(t0, t1, lost, down_s, up_s)
        return [g for g in self.serving(window) if g not in gone]


def lost_in(t0: float, t1: float, lost: frozenset[int], down_s: float,
        up_s: float) -> frozenset[int]:
    """The ``lost`` ids down at some time from ``t0`` to ``t1`` (down from ``down_s`` until
    ``up_s``, inf: never back): all of them where the outage overlaps, else none. Shared by
    :meth:`Topology.standing` and the LLM simulator's window counts."""
    return lost if down_s < t1 and up_s > t0 else frozenset()


def _adjust(counts: list[list[int]], windows: int, delta: int) -> frozenset[int]:
    """Add (remove) ``|delta|`` replicas per window, each time at the allocation with the most;
    the windows with replicas where a removal stopped short (one keeps running)."""
    floored: set[int] = set()
    for w in range(windows):
        for _ in range(abs(delta)):
            best = max(range(len(counts)), key=lambda a: (counts[a][w], -a))
            if delta < 0:
                if sum(c[w] for c in counts) <= 1 or counts[best][w] == 0:
                    if counts[best][w]:
                        floored.add(w)
                    break
                counts[best][w] -= 1
            else:
                counts[best][w] += 1
    return frozenset(floored)


def topology(plan: Plan, delta: int) -> Topology:
    """The plan's replicas, ``delta`` more (fewer) per window. Their zones: under the zone
    spread the plan relies on (``redundancy: zone``, ``kube.zones.spread_zones``) replica i of
    an allocation sits in zone i mod Z, so the first R of any window are spread as render's
    maxSkew 1 spreads them and a zone holds ceil(R/Z) (``kube.zones.spread_loss``, what the
    optimizer counts lost); else nodes of q replicas fill zones in turn. (Until 2026-12-07 the
    nodes filled zones in turn under zone too: 2 nodes of 8 pods over 3 zones put 8 pods in
    one zone where the spread puts 1.)"""
    windows = plan.demand.windows
    counts = [list(a.replicas_per_window) for a in plan.allocations]
    floored = _adjust(counts, windows, delta)
    offsets: list[int] = []
    alloc_of: list[int] = []
    zone_of: list[str] = []
    redundancy = plan.spec.placement.redundancy
    for ai, a in enumerate(plan.allocations):
        offsets.append(len(alloc_of))
        top = max(counts[ai]) if counts[ai] else 0
        spread = bool(spread_zones(redundancy, a.zones))
        for k in range(top):
            at = k if spread else k // a.replicas_per_node  # a pod's zone, else its node's
            alloc_of.append(ai)
            zone_of.append(a.zones[at % len(a.zones)] if a.zones else a.region)
    return Topology(
        names=tuple(a.name for a in plan.allocations),
        counts=tuple(tuple(c) for c in counts),
        offsets=tuple(offsets),
        n_replicas=len(alloc_of),
        alloc_of=np.array(alloc_of, dtype=np.int64),
        zone_of=tuple(zone_of),
        floored=floored,
    )


# ---------------------------------------------------------------- the simulated day


def trace_segments(plan: Plan, times: F64) -> list[Segment]:
    """The real windows (``window_hours`` long) that a trace's arrival times span; the demand
    curve repeats daily, so window ``k`` is the plan's window ``k mod windows``."""
    wsec = plan.demand.window_hours * 3600.0
    nwin = plan.demand.windows
    first, last = int(times[0] // wsec), int(times[-1] // wsec)
    return [(k * wsec, (k + 1) * wsec, k % nwin) for k in range(first, last + 1)]


def segment_of(segments: list[Segment] | tuple[Segment, ...], t: F64) -> I64:
    """Index of the segment each time falls in."""
    starts = np.array([s[0] for s in segments])
    return np.searchsorted(starts, t, side="right") - 1


def hpa_floor_note(plan: Plan) -> list[str]:
    """A note for a plan whose HPA floors the simulation does not see (Plan.below_hpa_floor)."""
    idle = plan.below_hpa_floor()
    if not idle:
        return []
    return [
        f"autoscaler hpa keeps minReplicas 1 of {', '.join(a.name for a in idle)} in every hour "
        "as rendered, but this plan runs 0 there in some hours and the simulation replays the "
        "plan's counts, not those floor pods (re-run scaleplan optimize: plans hold the floor)"
    ]
