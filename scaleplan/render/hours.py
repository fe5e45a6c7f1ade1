"""The plan's hours in the autoscalers: KEDA cron triggers that hold the plan's count in its
runs of hours, and the request-rate triggers gated to the hours the plan runs an allocation
(:func:`gated_request_triggers`; :func:`~scaleplan.render.autoscaling.planned_hours` gives the
hours and thresholds). Both open each run early by the time a new pod takes to serve
(:func:`cron_lead_minutes`, one reckoning with simulate's replacements:
:func:`~scaleplan.render.serving.new_pod_serving_after`), by one function,
:func:`opens_early`, so that the pods serve at the plan's hour; both close at the hour. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from scaleplan.plan import Plan
from scaleplan.render import serving
from scaleplan.render.allocations import Alloc
from scaleplan.render.formula import DAY_MINUTES, PLANNED_HOURS_TRIGGER, gated_query
from scaleplan.render.metadata import Obj
from scaleplan.render.resources import number_text

T = TypeVar("T")
# allocation -> the lead (min, s) of its hour-gated triggers (cron, requests-in-planned-hours)
Leads = dict[str, tuple[int, float]]


def runs_of(counts: Sequence[T]) -> list[tuple[int, int, T]]:
    """Runs of equal values: (start window, windows, value)."""
    runs: list[tuple[int, int, T]] = []
    i = 0
    while i < len(counts):
        j = i
        while j + 1 < len(counts) and counts[j + 1] == counts[i]:
            j += 1
        runs.append((i, j - i + 1, counts[i]))
        i = j + 1
    return runs


def window_steps(plan: Plan, per_hour: int) -> int | None:
    """A demand window's length in steps of 1/``per_hour`` h (60: minutes, 1: hours) when the
    windows tile a day in whole steps, else None."""
    d = plan.demand
    n = d.window_hours * per_hour
    if abs(d.windows * d.window_hours - 24) > 1e-6 or abs(n - round(n)) > 1e-6:
        return None
    return round(n)


def cron_lead_minutes(plan: Plan, al: Alloc) -> tuple[int, float]:
    """How many minutes before the plan's hour a cron trigger starts ``al``'s pods, and the
    seconds it stands for: the time a new replica takes to serve
    (:func:`~scaleplan.render.serving.new_pod_serving_after`, the start-up time simulate
    replaces lost replicas after: node start + image pull + the rendered pod's copy and
    startup window), rounded up to whole minutes, so that the pods serve at the hour."""
    mem = al.accel.memory_gib if al.accel is not None else None
    after, _ = serving.new_pod_serving_after(plan, al.a, mem)
    return math.ceil(after / 60 - 1e-9), after


def opens_early(start: int, length: int, lead: int) -> tuple[int, int]:
    """The minute of the UTC day at which a run of ``length`` minutes from minute ``start`` of
    the plan's day opens, and how many minutes early: ``lead`` (:func:`cron_lead_minutes`)
    before it, so that its pods serve at its start. A run of the whole day opens at its start;
    one whose lead reaches back over the rest of the day (a start-up near a day long), one
    minute after its end. The one reckoning of the early start behind every hour-gated rule
    render writes: the cron triggers and the request-rate triggers gated to the plan's hours."""
    early = 0 if length >= DAY_MINUTES else min(lead, DAY_MINUTES - length - 1)
    return (start - early) % DAY_MINUTES, early


def cron_triggers(plan: Plan, al: Alloc, warnings: list[str], leads: Leads) -> list[Obj]:
    """One KEDA cron trigger per run of windows whose planned count is above minReplicaCount.
    Each starts :func:`cron_lead_minutes` before its run, so that its pods serve at the hour
    (KEDA takes the largest active count: where the run before holds more, it holds it until
    its end, so only scale-ups come early), and ends at the run's end: scale-downs stay at the
    hour (:func:`opens_early`)."""
    d = plan.demand
    step = window_steps(plan, 60)
    if step is None:
        warnings.append(
            f"allocation {al.name}: the plan's {d.windows} windows of {d.window_hours:g} h do"
            " not tile a day in whole minutes; no cron triggers"
        )
        return []
    lead, after = cron_lead_minutes(plan, al)
    out: list[Obj] = []
    for start, length, count in runs_of(list(al.a.replicas_per_window)):
        if count <= al.min_replicas:
            continue  # the floor is minReplicaCount already
        s = start * step
        e = ((start + length) * step) % DAY_MINUTES
        b, early = opens_early(s, length * step, lead)
        if early:
            leads[al.name] = (lead, after)
        out.append(
            {
                "type": "cron",
                "name": f"plan-{s // 60:02d}{s % 60:02d}",
                "metadata": {
                    "timezone": "Etc/UTC",
                    "start": f"{b % 60} {b // 60} * * *",
                    "end": f"{e % 60} {e // 60} * * *",
                    "desiredReplicas": str(count),
                },
            }
        )
    return out


def lead_note(leads: Leads, startup_set: bool = True) -> str:
    """One line for every allocation whose cron triggers or request-rate triggers gated to the
    plan's hours start before the plan's hours; ``startup_set``: whether the spec sets
    kubernetes.probes.startup_seconds (else the window is its default, which is said: UX trial
    32 F7, "14 min (810 s)" of which 600 s was the default window, not named as such)."""
    each = "; ".join(
        f"{name} {lead} min ({number_text(round(after))} s)"
        for name, (lead, after) in leads.items()
    )
    window = "kubernetes.probes.startup_seconds sets the window" if startup_set else (
        "the startup window is the default, as kubernetes.probes.startup_seconds is not set:"
        f" {serving.STARTUP_S} s of engine start-up, plus the weights' download and load where"
        " the plan knows them; set it to how long your server takes to serve"
    )
    return (
        "cron triggers and request-rate triggers gated to the plan's hours start each run of"
        " hours early by the time a new pod takes to serve (node"
        f" start {serving.NODE_START_S:g} s + image pull {serving.IMAGE_PULL_S:g} s + the"
        " rendered pod's weight copy and startup window, as simulate replaces lost replicas),"
        f" rounded up to whole minutes, so that the pods serve at the hour: {each}; they end at"
        f" the hour (scale-downs unchanged); {window}"
    )


def opened_runs(
    runs: Sequence[tuple[int, int]], lead: int
) -> tuple[list[tuple[int, int]], bool]:
    """Hour runs [start, end) as the minutes of the UTC day a gate is open, each opened
    :func:`opens_early` before its hour (a run from midnight opens the day before: two runs),
    ends at its hour; overlapping or touching runs merged. And whether any opens early."""
    minutes: list[tuple[int, int]] = []
    any_early = False
    for s_h, e_h in runs:
        s, e = s_h * 60, e_h * 60
        b, early = opens_early(s, e - s, lead)
        any_early = any_early or early > 0
        minutes += [(b, e)] if b <= s else [(b, DAY_MINUTES), (0, e)]
    merged: list[tuple[int, int]] = []
    for s, e in sorted(minutes):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged, any_early


def gated_request_triggers(
    query: str, groups: dict[str, list[tuple[int, int]]], server: str, lead: int
) -> tuple[list[Obj], bool]:
    """The request-rate triggers of an allocation the plan runs in some hours only, behind one
    Service that every allocation shares (routing: service): each query answers only in its
    hours (``and on() (hour() * 60 + minute() ...)``, UTC, as the cron triggers), so KEDA
    takes the allocation to minReplicaCount outside them instead of scaling it on the
    Service's rate all day (a CPU allocation planned for the night would otherwise run beside
    the day's GPU pods and get its even share of the peak). Within its hours a trigger's
    threshold is the plan's demand there per replica of the allocation (``groups``, from
    :func:`~scaleplan.render.autoscaling.planned_hours`), so at the plan's demand KEDA asks for
    the plan's replicas; hours with another threshold get a trigger of their own (KEDA takes
    the largest, and only one answers at a time, but for the early minutes below).

    Each run of hours opens ``lead`` minutes early (:func:`opens_early`, as the cron triggers
    start), so that the pods it adds serve at the hour; it closes at the hour (KEDA's largest
    keeps the previous run's pods until its end: only scale-ups come early). In those minutes
    the threshold of the coming hours meets the rate before them. Also whether any run opens
    early."""
    out: list[Obj] = []
    any_early = False
    for i, (threshold, runs) in enumerate(sorted(groups.items(), key=lambda kv: kv[1][0])):
        name = PLANNED_HOURS_TRIGGER if len(groups) == 1 else f"{PLANNED_HOURS_TRIGGER}-{i + 1}"
        opened, early = opened_runs(runs, lead)
        any_early = any_early or early
        out.append({
            "type": "prometheus",
            "name": name,
            "metadata": {
                "serverAddress": server,
                "query": gated_query(query, opened),
                "threshold": threshold,
            },
        })
    return out, any_early
