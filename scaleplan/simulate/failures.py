"""The failure scenarios both simulators share: when the failure strikes, which replicas it
takes down (the worst single node, the worst zone, or all spot capacity), when and where the
lost capacity comes back (:func:`recovery`: what the rendered manifests make Kubernetes do),
and the bookkeeping of the verdict (what was lost, whether the plan's redundancy claims to
survive it).

Pure: everything here depends only on the plan and the arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from scaleplan.errors import OptionError, PlanError, Problem
from scaleplan.kube.capacity import spot_falls_back_on_demand
from scaleplan.kube.zones import spread_zones
from scaleplan.plan import Allocation, Plan
from scaleplan.render.serving import new_pod_serving_after as replacement_delay
from scaleplan.render.serving import serves_model
from scaleplan.simulate.layout import Segment, Topology, segment_of

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

Failure = Literal["node", "zone", "spot"]
FAILURES: tuple[Failure, ...] = ("node", "zone", "spot")

@dataclass(frozen=True)
class FailureEvent:
    """A failure placed in a simulated day: its mode, time, segment and the replicas it takes."""

    mode: Failure
    at_s: float
    segment: int
    window: int
    lost: frozenset[int]
    notes: tuple[str, ...]

    def struck(self, topo: Topology) -> list[int]:
        """The lost replicas that were running when it struck (sorted). A zone or spot loss also
        keeps that capacity's replicas of later windows down until replacements serve; they
        were not running then, so they are not counted as lost."""
        return sorted(self.lost & set(topo.serving(self.window)))


def failure_time(plan: Plan, segments: list[Segment] | tuple[Segment, ...],
        fail_at_s: float | None) -> float:
    """``fail_at_s`` checked against the simulated horizon (outside it: an
    :class:`~scaleplan.errors.OptionError` naming --fail-at), or by default 10 % into the
    busiest segment (the first of equals)."""
    if fail_at_s is None:
        peak = max(range(len(segments)), key=lambda k: (plan.demand.rps[segments[k][2]], -k))
        t0, t1, _ = segments[peak]
        return t0 + 0.1 * (t1 - t0)
    horizon = segments[-1][1]
    if not (math.isfinite(fail_at_s) and 0 <= fail_at_s < horizon):  # a bad option value: exit 2
        message = f"must be in [0, {horizon:g}) seconds of simulated time; got {fail_at_s:g}"
        raise OptionError(message, option="--fail-at")
    return float(fail_at_s)


def place_failure(plan: Plan, topo: Topology, segments: list[Segment] | tuple[Segment, ...],
        mode: Failure, fail_at_s: float | None) -> FailureEvent:
    """The failure ``mode`` at ``fail_at_s`` (default: see :func:`failure_time`)."""
    tf = failure_time(plan, segments, fail_at_s)
    seg = int(segment_of(segments, np.array(tf)))
    window = segments[seg][2]
    lost, notes = lost_replicas(plan, topo, mode, window)
    return FailureEvent(mode, tf, seg, window, frozenset(lost), tuple(notes))


def check_zones_listed(plan: Plan, name: str) -> None:
    """PlanError (exit 3) naming ``name`` (the plan file, for the command) when no allocation
    lists its zones: a zone loss cannot be placed."""
    if all(not a.zones for a in plan.allocations):
        raise PlanError(name, [Problem("allocations[].zones",
            "no allocation lists its zones, so a zone loss cannot be placed",
            hint="simulate --fail node instead, or re-plan with placement.redundancy: zone "
            "(optimize lists each allocation's zones only then: the catalog row's, else three "
            "assumed)")])


def lost_replicas(plan: Plan, topo: Topology, mode: Failure,
        window: int) -> tuple[set[int], list[str]]:
    """Replica ids the failure takes down: the worst single node / zone, or all spot capacity."""
    notes: list[str] = []
    allocs = plan.allocations
    if mode == "spot":
        lost = {g for g in range(topo.n_replicas)
            if allocs[int(topo.alloc_of[g])].capacity_type == "spot"}
        if not lost:
            notes.append("the plan has no spot capacity: the spot failure takes nothing down")
        return lost, notes
    if mode == "node":
        best: tuple[float, int] | None = None
        redundancy = plan.spec.placement.redundancy
        for ai, a in enumerate(allocs):
            n_here = sum(k < topo.counts[ai][window] for k in fullest_node(a, redundancy))
            if n_here <= 0:
                continue
            cap = n_here * a.capacity_rps_per_replica
            if best is None or cap > best[0]:
                best = (cap, ai)
        if best is None:
            notes.append("no replicas run at the failure time: the node failure takes nothing down")
            return set(), notes
        ai = best[1]
        top, first = max(topo.counts[ai]), topo.offsets[ai]
        return {first + k for k in fullest_node(allocs[ai], redundancy) if k < top}, notes
    # zone: the zone holding the most capacity at the failure time
    check_zones_listed(plan, plan.metadata.name)
    cap_by_zone: dict[str, float] = {}
    for ai, a in enumerate(allocs):
        for k in range(topo.counts[ai][window]):
            z = topo.zone_of[topo.offsets[ai] + k]
            cap_by_zone[z] = cap_by_zone.get(z, 0.0) + a.capacity_rps_per_replica
    if not cap_by_zone:
        notes.append("no replicas run at the failure time: the zone failure takes nothing down")
        return set(), notes
    zone = max(sorted(cap_by_zone), key=lambda z: cap_by_zone[z])
    if any(not a.zones for a in allocs):
        notes.append("allocations without zones are taken to sit in one zone named after "
            "their region")
    notes.append(f"zone lost: {zone}")
    return {g for g in range(topo.n_replicas) if topo.zone_of[g] == zone}, notes


def fullest_node(a: Allocation, redundancy: str) -> list[int]:
    """The allocation's replicas (its own indices, 0-based) on its fullest node as
    :func:`~scaleplan.simulate.layout.topology` lays them out: under the zone spread
    (``kube.zones.spread_zones``) replica i sits in zone i mod Z and a node holds q of its own
    zone's, so the first node of the first zone holds 0, Z, ..., (q-1) Z; else nodes of q
    fill in order, 0..q-1. (Until 2026-12-07 it was 0..q-1 under zone too: q pods in
    different zones, no node's.)"""
    step = max(len(spread_zones(redundancy, a.zones)), 1)
    return [k * step for k in range(a.replicas_per_node)]


def lost_by_allocation(topo: Topology, event: FailureEvent) -> dict[str, int]:
    """Replicas lost per allocation name: those running when it struck
    (:meth:`FailureEvent.struck`)."""
    out: dict[str, int] = {}
    for g in event.struck(topo):
        nm = topo.names[int(topo.alloc_of[g])]
        out[nm] = out.get(nm, 0) + 1
    return out


@dataclass(frozen=True)
class OutageAttainment:
    """How the requests that arrived after a failure fared: all of them (``after``, to the run's
    end) and those that arrived during the outage (``during``: from the failure until the lost
    replicas serve again, or to the run's end when they never do). ``holds``: both at or above
    the target; the outage's own attainment keeps the verdict from depending on how long the
    run lasts after it (a long run dilutes the outage)."""

    requests_after: int
    attainment_after: float | None
    requests_during: int
    attainment_during: float | None
    holds: bool


def outage_attainment(
    times: np.ndarray, good: np.ndarray, at_s: float, back_at_s: float, target: float
) -> OutageAttainment:
    """:class:`OutageAttainment` of requests arriving at ``times`` (``good``: within the SLO)."""
    after = times >= at_s
    during = after & (times < back_at_s)
    n_after, n_during = int(after.sum()), int(during.sum())
    att_after = float(good[after].mean()) if n_after else None
    att_during = float(good[during].mean()) if n_during else None
    holds = all(a is None or a >= target for a in (att_after, att_during))
    return OutageAttainment(n_after, att_after, n_during, att_during, holds)


def claim_tested(mode: Failure, redundancy: str, survive_loss: bool = False) -> bool:
    """Whether the spec claims to survive this failure: ``placement.redundancy`` a node's or a
    zone's loss, ``placement.spot.survive_loss`` (``survive_loss``) the loss of all spot."""
    if mode == "spot":
        return survive_loss
    return ((mode == "node" and redundancy in ("n+1", "zone"))
        or (mode == "zone" and redundancy == "zone"))


def survives_spot_loss(plan: Plan) -> bool:
    """The plan's spec claims to survive the loss of all spot (``spot.allowed`` and
    ``spot.survive_loss``: without spot the field has no effect)."""
    spot = plan.spec.placement.spot
    return bool(spot.allowed and spot.survive_loss)


def claim_said(mode: str, redundancy: str, claimed: bool) -> str:
    """What the failure tested and whether the plan claims to survive it (the report's last
    words after 'holds' / 'FAILS')."""
    if mode == "spot":
        if claimed:
            return "spot loss tested (placement.spot.survive_loss claims to survive it)"
        return "spot loss tested (placement.spot.survive_loss is off: not claimed)"
    if claimed:
        return f"redundancy '{redundancy}' claim tested"
    return f"redundancy '{redundancy}' does not claim to survive this"


@dataclass(frozen=True)
class Recovery:
    """When the lost replicas serve again: ``delay_s`` after the failure (inf: never), and how
    that was reckoned (which assumption the report states)."""

    delay_s: float
    basis: str


def _accel_memory_gib(
    plan: Plan, a: Allocation, accelerators: Sequence[Accelerator]
) -> float | None:
    """The memory of ``a``'s accelerator in ``accelerators`` (the table the caller read: the
    shipped one and the user's catalogs, as render takes it), where render would size the
    weights by it (a served model, no LLM section, no ``model.memory_gib``); else None."""
    if a.llm is not None or plan.spec.model.memory_gib is not None or not serves_model(plan):
        return None
    acc = next((x for x in accelerators if x.name == a.accelerator), None)
    return acc.memory_gib if acc is not None else None


def pod_start(
    plan: Plan, a: Allocation, accelerators: Sequence[Accelerator]
) -> tuple[float, str]:
    """Seconds from asking for a new pod of ``a`` until it serves, and how that was reckoned:
    :func:`~scaleplan.render.serving.new_pod_serving_after`, the one rule behind a lost
    replica's replacement (:func:`recovery`) and a surge's scaled-up pods (``--surge``).
    ``accelerators``: the accelerator table, passed in (simulate reads no catalog)."""
    return replacement_delay(plan, a, _accel_memory_gib(plan, a, accelerators))


@dataclass(frozen=True)
class StartupCost:
    """What the plan's new nodes cost while their pods start, which ``optimize``'s cost does
    not price: USD per hour of the plan's day (``per_hour``) and per day (``per_day``), and
    the part of ``per_hour`` paid in swaps (``swaps_per_hour``: a change of windows in which
    one allocation adds nodes while another sheds some)."""

    per_hour: float
    per_day: float
    swaps_per_hour: float


def startup_cost(plan: Plan, accelerators: Sequence[Accelerator]) -> StartupCost:
    """Every rise of an allocation's nodes from one window to the next, the windows taken
    cyclically (the day repeats), priced at its node price for :func:`pod_start`'s seconds
    (the one new-pod start-up rule: render's cron triggers start the new pods that much
    before the hour, while the nodes they replace still run), summed over the plan's day."""
    allocs = plan.allocations
    seconds = [pod_start(plan, a, accelerators)[0] for a in allocs]
    total = swaps = 0.0
    n = plan.demand.windows
    for w in range(n):
        step = [
            a.nodes_per_window[w] - a.nodes_per_window[w - 1] if len(a.nodes_per_window) == n else 0
            for a in allocs
        ]
        cost = sum(
            up * a.price_per_node_hour * s / 3600
            for up, a, s in zip(step, allocs, seconds, strict=True) if up > 0
        )
        total += cost
        if any(up < 0 for up in step):
            swaps += cost
    hours = n * plan.demand.window_hours
    return StartupCost(total / hours, total / hours * 24, swaps / hours)


def recovery(
    plan: Plan, topo: Topology, event: FailureEvent, replace_after_s: float | None,
    accelerators: Sequence[Accelerator],
) -> Recovery:
    """When the capacity ``event`` took comes back, for both simulators: ``replace_after_s``
    when given; otherwise as the rendered manifests make it: Kubernetes reschedules the lost
    pods on new nodes (the slowest lost replica's
    :func:`~scaleplan.render.serving.new_pod_serving_after`), a lost spot
    allocation on on-demand nodes where the flavor renders a fallback for spot pods
    (:func:`~scaleplan.kube.capacity.spot_falls_back_on_demand`) and never where spot pods
    are pinned to spot nodes (none left to start), nor a lost zone under the zone spread
    render enforces (UX review 18: its replacements stay Pending while the zone is down)."""
    if replace_after_s is not None:
        return Recovery(float(replace_after_s), "given (--replace-after)")
    # the replicas running when it struck set the delay (a zone's or spot's replicas of later
    # windows only come up with them); all the lost ones when none was running
    struck = event.struck(topo) or sorted(event.lost)
    allocs = [plan.allocations[i] for i in sorted({int(topo.alloc_of[g]) for g in struck})]
    delays = [pod_start(plan, a, accelerators) for a in allocs]
    if not delays:
        return Recovery(0.0, "nothing lost")
    delay, basis = max(delays, key=lambda d: d[0])
    if event.mode == "zone" and any(
        spread_zones(plan.spec.placement.redundancy, a.zones) for a in allocs
    ):
        # the lost zone holds 0 of the spread's pods: one more in a surviving zone exceeds
        # maxSkew 1, so the ReplicaSet's replacements stay Pending until the zone is back
        return Recovery(math.inf, (
            "a lost zone's replicas are not replaced: the rendered zone spread (maxSkew 1, "
            "DoNotSchedule over the plan's zones) keeps new pods Pending while that zone has "
            "none; give --replace-after to model the zone's return"
        ))
    if event.mode != "spot":
        return Recovery(delay, basis)
    flavor = plan.spec.kubernetes.flavor
    if spot_falls_back_on_demand(flavor):
        return Recovery(delay, (
            f"{basis}, on on-demand nodes of the fallback NodePool"
            f" that {flavor} renders beside each spot pool"
        ))
    return Recovery(math.inf, (
        f"spot capacity is not replaced: {flavor} pins spot pods to spot nodes"
        " (none left to start); give --replace-after to model a fallback"
    ))
