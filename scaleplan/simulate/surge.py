"""A traffic surge in an LLM simulation (``simulate --surge FACTORx@START+DURATION``, docs/
simulate.md "Surges"): the option read and checked, and what the surge's requests met, per
class, beside the whole run, with the replicas the rendered autoscalers ran
(:mod:`scaleplan.simulate.autoscale`).

Pure: everything here depends only on the arguments.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scaleplan.errors import OptionError
from scaleplan.simulate.llm_results import ReplicaChange, SurgeClass, SurgeStats

if TYPE_CHECKING:
    from scaleplan.plan import Plan
    from scaleplan.simulate.llm_summary import Outcomes

SYNTAX = (
    "give --surge FACTORx@START+DURATION, e.g. 1.8x@600+300: 1.8x the window's rate from 600 s"
    " for 300 s of simulated time"
)
_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))"
_FORM = re.compile(rf"^{_NUM}x?@{_NUM}s?\+{_NUM}s?$", re.IGNORECASE)
MAX_FACTOR = 100.0


@dataclass(frozen=True)
class Surge:
    """``factor`` x the window's rate from ``start_s`` for ``duration_s`` simulated seconds."""

    factor: float
    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def said(self) -> str:
        return f"{self.factor:g}x@{self.start_s:g}+{self.duration_s:g}"


def parse_surge(text: str) -> Surge:
    """``--surge``'s value; an :class:`OptionError` (exit 2) naming the syntax when it is not
    one, or its factor or duration is not > 0."""
    found = _FORM.match(text.replace(" ", ""))
    if found is None:
        raise OptionError(f"cannot read {text!r}; {SYNTAX}", option="--surge")
    factor, start, duration = (float(x) for x in found.groups())
    if not (0 < factor <= MAX_FACTOR):
        message = f"FACTOR must be > 0 and <= {MAX_FACTOR:g}; got {factor:g} in {text!r}; {SYNTAX}"
        raise OptionError(message, option="--surge")
    if start < 0 or duration <= 0:
        message = f"START must be >= 0 and DURATION > 0; got {text!r}; {SYNTAX}"
        raise OptionError(message, option="--surge")
    return Surge(factor, start, duration)


def check_within(surge: Surge, horizon_s: float, window: int) -> None:
    """The surge within the simulated window (0 .. ``horizon_s``): else exit 2, naming it."""
    span = f"the simulated window {window} (0 to {horizon_s:g} s)"
    if surge.start_s >= horizon_s:
        message = f"{surge.said()} starts at {surge.start_s:g} s, outside {span}; {SYNTAX}"
        raise OptionError(message, option="--surge")
    if surge.end_s > horizon_s + 1e-9:
        message = (f"{surge.said()} ends at {surge.end_s:g} s, after {span}: shorten it, start "
                   f"it earlier or give a longer --duration; {SYNTAX}")
        raise OptionError(message, option="--surge")


def surge_default_s(surge: Surge) -> float:
    """The least run a surge asks for by default: as long again after it as it lasts."""
    return surge.end_s + surge.duration_s


Piece = tuple[float, float, float]


def pieces(t0: float, t1: float, rate: float, surge: Surge | None) -> list[Piece]:
    """(start, end, rate) pieces of one simulated window, the surge's at ``factor`` x rate."""
    if surge is None:
        return [(t0, t1, rate)]
    a, b = max(t0, surge.start_s), min(t1, surge.end_s)
    if a >= b:
        return [(t0, t1, rate)]
    out = [(t0, a, rate), (a, b, rate * surge.factor), (b, t1, rate)]
    return [p for p in out if p[1] > p[0]]


def _att(good: np.ndarray, m: np.ndarray) -> float | None:
    return float(good[m].mean()) if m.any() else None


def _first_served(timeline: tuple[ReplicaChange, ...], after_s: float) -> float:
    """When a Deployment's serving pods first grew after ``after_s`` (inf: never), from the
    autoscalers' record (a pod asked for and taken away before it served never counts)."""
    last: dict[str, int] = {}
    for c in timeline:
        if c.t_s > after_s and c.serving > last.get(c.allocation, c.serving):
            return c.t_s
        last[c.allocation] = c.serving
    return math.inf


def surge_stats(
    plan: Plan, surge: Surge, window: int, times: np.ndarray, cls: np.ndarray,
    names: tuple[str, ...], o: Outcomes, timeline: tuple[ReplicaChange, ...],
    asked: list[tuple[float, float, str]], basis: str, running: int, autoscaled: bool,
) -> SurgeStats:
    """What the requests arriving during the surge met (``o``: the run's
    :class:`~scaleplan.simulate.llm_summary.Outcomes`), per class and all, beside the whole run;
    ``asked``: (asked at, serves at, allocation) of each pod added from the surge's start."""
    from scaleplan.simulate.llm_summary import class_attainment

    good, base_rps = o.good, plan.demand.rps[window]
    during = (times >= surge.start_s) & (times < surge.end_s)
    classes = []
    for k, name in enumerate(names):
        m = cls == k
        md = m & during
        att_t, att_p, _, holds = class_attainment(plan, name, o, md)
        att = _att(good, md)
        classes.append(SurgeClass(
            name=name, requests=int(md.sum()), attainment_ttft=att_t, attainment_tpot=att_p,
            attainment=att, attainment_overall=_att(good, m), holds=holds,
        ))
    later = [a for a in asked if a[0] >= surge.start_s]
    served = _first_served(timeline, surge.start_s)
    before = during & (times < served)
    after = during & (times >= served)
    return SurgeStats(
        factor=surge.factor, start_s=surge.start_s, end_s=surge.end_s, window=window,
        base_rps=base_rps, surge_rps=base_rps * surge.factor, requests=int(during.sum()),
        attainment=_att(good, during), attainment_overall=_att(good, np.ones_like(during)),
        scaled_at_s=min((a for a, _, _ in later), default=None),
        new_serving_at_s=None if math.isinf(served) else served,
        pods_added={nm: sum(1 for a in later if a[2] == nm) for nm in {a[2]: 0 for a in later}},
        pod_start_basis=basis, requests_before_new=int(before.sum()),
        attainment_before_new=_att(good, before), requests_after_new=int(after.sum()),
        attainment_after_new=_att(good, after), classes=tuple(classes), replicas=timeline,
        holds=all(c.holds for c in classes), running_at_start=running,
        redundancy=plan.spec.placement.redundancy,
        replicas_from="autoscaler" if autoscaled else "plan",
    )
