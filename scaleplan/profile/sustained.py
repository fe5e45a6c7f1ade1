"""What a point's measurement windows say: its statistics, when it has settled, its notes.

A :class:`PointResult` holds a point's per-call times and windows. From them: the **sustained**
rate (all samples completed in the windows over their total elapsed time) and the 95 % CI of it
(a t-interval over the windows' rates); the **quiet** rate (batch / the 0.1th percentile of the
per-call times, what the model costs when nothing interferes); ``median_over_fast`` (median
call / that fast call) and the slowdown that, like the CPU other processes took meanwhile,
marks a point ``contended``; a contended point's interval is the spread of one window (a
prediction interval), not the CI of the mean. :class:`StopRule`
decides when a point has settled; :func:`to_measurement` turns a point into the profile's
:class:`~scaleplan.profile.model.Measurement`; :func:`point_notes` words what the statistics
say about the host (contended, unstable).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scaleplan.profile.model import Measurement, Percentiles
from scaleplan.profile.stats import (
    mean_ci_rel,
    median_ci_rel,
    percentile,
    prediction_rel,
    round_sig,
    summarize_ms,
)
from scaleplan.wording import counted

SERVICE_Q = 0.1  # percentile of per-call times taken as the service time (quiet rate = batch / it)
OTHERS_SHARE = 0.25  # share of the host's other CPUs the rest of the host kept busy above which a point is contended


@dataclass
class Window:
    """One measurement window: calls completed, the wall-clock seconds they took, the clock
    reading at its end (``end_s``; a window began at ``end_s - elapsed_s``) and the CPU seconds
    the rest of the host spent meanwhile (``others_cpu_s``; None where it cannot be read)."""

    calls: int
    elapsed_s: float
    end_s: float = 0.0
    others_cpu_s: float | None = None


@dataclass
class PointResult:
    """What one point has measured so far: the first pass fills it, later windows add to it."""

    batch_size: int
    samples_s: list[float] = field(default_factory=list)  # per-call seconds (a grouped sample is divided by its calls)
    windows: list[Window] = field(default_factory=list)
    peak_memory_gib: float | None = None
    calls_per_sample: int = 1
    timed_s: float = 0.0  # seconds spent in timed windows (the budget counts these)
    settled: bool = False  # the stopping rule was met (False: the budget ran out first)

    def add_window(self, samples: list[float], w: Window) -> None:
        """One more measured window and its per-call times."""
        self.samples_s.extend(samples)
        self.windows.append(w)
        self.timed_s += w.elapsed_s

    def span_s(self) -> float:
        """Wall-clock seconds from the first window's start to the last window's end (gaps
        between interleaved windows included): how much of the host's time the point has seen."""
        if not self.windows:
            return 0.0
        first, last = self.windows[0], self.windows[-1]
        return last.end_s - (first.end_s - first.elapsed_s)

    def window_rates(self) -> list[float]:
        """Per window: samples (batch x calls) completed over its elapsed seconds."""
        return [self.batch_size * w.calls / w.elapsed_s for w in self.windows if w.elapsed_s > 0]

    def throughput(self) -> float:
        """Sustained rate: samples completed in all windows over their total elapsed time."""
        calls = sum(w.calls for w in self.windows)
        el = sum(w.elapsed_s for w in self.windows)
        return self.batch_size * calls / el if el > 0 else float("inf")

    def throughput_ci_rel(self) -> float:
        """Relative half-width of the 95 % CI of the sustained rate (t-interval over windows)."""
        return mean_ci_rel(self.window_rates())

    def quiet_throughput(self) -> float:
        """Batch / service time (the 0.1th percentile of all per-call times)."""
        st = service_time(self.samples_s) if self.samples_s else 0.0
        return self.batch_size / st if st > 0 else float("inf")

    def median_over_fast(self) -> float:
        """Median call / fast call (the service time): 1.0 on a quiet host."""
        if not self.samples_s:
            return 1.0
        xs = sorted(self.samples_s)
        st = percentile(xs, SERVICE_Q)
        return percentile(xs, 50) / st if st > 0 else 1.0

    def slowdown(self) -> float:
        """How far the host slowed the point: the larger of median call / fast call and quiet
        rate / sustained rate (1.0 on a quiet host). Time-slicing by other processes shows in
        the second (long preemptions, most calls untouched), steady sharing in the first."""
        thr = self.throughput()
        gap = self.quiet_throughput() / thr if thr > 0 and math.isfinite(thr) else 1.0
        return max(self.median_over_fast(), gap if math.isfinite(gap) else 1.0)

    def others_cpus(self) -> float | None:
        """CPUs the rest of the host kept busy, on average over the windows that could read it
        (CPU seconds other processes spent / the windows' wall-clock seconds); None if none could."""
        return others_cpus_of(self.windows)

    def contended(self, ratio: float, busy_limit: float = OTHERS_SHARE,
            sweep_others: float | None = None) -> bool:
        """The host slowed the point past ``ratio`` (:meth:`slowdown`), or other processes kept
        more than ``busy_limit`` CPUs busy while it, or the device's whole sweep
        (``sweep_others``), was measured (see :func:`busy_limit`): a point measured in a
        neighbour's lull is as exposed as one measured in its burst."""
        busy = max(self.others_cpus() or 0.0, sweep_others or 0.0)
        return self.slowdown() > ratio or busy > busy_limit

    def interval_rel(self, contended: bool) -> float:
        """Relative half-width of the sustained rate's 95 % interval: the t-interval of the mean
        of the windows on a quiet host; on a contended one the prediction interval of one window.

        Under a neighbour the windows of one run are not independent draws of what the replica
        sustains: the neighbour's load moves in phases longer than a window, and the next run
        sees other phases. The CI of the mean describes only this run's phases; how far one
        window strays is the honest bound on where another run's rate can land."""
        ci = self.throughput_ci_rel()
        return max(ci, prediction_rel(self.window_rates())) if contended else ci

    @property
    def ci_rel(self) -> float:
        """Relative half-width of the 95 % CI of the median per-call time."""
        return median_ci_rel(sorted(self.samples_s)) if self.samples_s else math.inf


def others_cpus_of(windows: Iterable[Window]) -> float | None:
    """CPUs other processes kept busy on average over ``windows`` (those that could read it);
    None if none could. Over one point's windows, or over a whole sweep's."""
    known = [w for w in windows if w.others_cpu_s is not None]
    el = sum(w.elapsed_s for w in known)
    if not known or el <= 0:
        return None
    return max(0.0, sum(w.others_cpu_s or 0.0 for w in known)) / el


def busy_limit(host_cpus: int | None, threads: int | None, share: float = OTHERS_SHARE) -> float:
    """CPUs other processes may keep busy before a point is contended: ``share`` of the CPUs the
    point does not use itself (at least one). On this 2-core VM a one-thread point tolerates a
    quarter of a CPU: one neighbour spinning half the time moved its rate by 6-26 % between runs
    without slowing a call past 1.5x; on a 64-core node it tolerates 15.75 CPUs of other pods."""
    return share * max(1, (host_cpus or 1) - (threads or 1))


def service_time(samples: Sequence[float]) -> float:
    """The fast-call service time: the 0.1th percentile of the per-call times (the fastest call
    in a thousand; below a thousand samples, between the fastest two). Interference only ever
    adds time, so this is what the model costs when nothing else runs."""
    return percentile(sorted(samples), SERVICE_Q)


def windows_agree(rates: Sequence[float], n: int, stability: float) -> bool:
    """The last ``n`` window rates all lie within +-``stability`` of their mean (perf_analyzer's
    stability test)."""
    if n < 1 or len(rates) < n:
        return False
    last = rates[-n:]
    mean = sum(last) / n
    return mean > 0 and all(abs(r - mean) <= stability * mean for r in last)


@dataclass(frozen=True)
class StopRule:
    """A point is settled once its last ``stable_windows`` windows agree within +-``stability``,
    the CI of its sustained rate is within +-``target_ci``, it has ``min_samples`` calls and its
    windows span at least ``min_span_s`` of wall clock.

    The span matters on hosts whose speed moves in phases of a few seconds (a VM's neighbours,
    CPU frequency): three back-to-back 0.5 s windows can agree inside one fast phase, and the
    point would report that phase as what the replica sustains. Over a sweep the interleaved
    windows of a point already lie seconds apart; the span makes a lone batch size (or
    ``--no-interleave``) keep measuring until its windows have seen the host for that long."""

    time_budget_s: float
    stable_windows: int = 3
    stability: float = 0.10
    target_ci: float = 0.05
    min_samples: int = 20
    min_span_s: float = 5.0

    def settled(self, p: PointResult) -> bool:
        if len(p.samples_s) * p.calls_per_sample < self.min_samples or p.span_s() < self.min_span_s:
            return False
        rates = p.window_rates()
        return windows_agree(rates, self.stable_windows,
            self.stability) and mean_ci_rel(rates) <= self.target_ci


def to_measurement(p: PointResult, *, device: str, accelerator: str, threads: int | None,
        contention_ratio: float = 1.5, contention_cpus: float = OTHERS_SHARE,
        sweep_others: float | None = None) -> Measurement:
    """The profile's measurement of a point. ``sweep_others``: the CPUs other processes kept
    busy over the whole sweep of the device (:meth:`PointResult.contended`)."""
    lat = summarize_ms(p.samples_s)
    ci = p.ci_rel
    contended = p.contended(contention_ratio, contention_cpus, sweep_others)
    tci = p.interval_rel(contended)
    ratio = p.median_over_fast()
    others = p.others_cpus()
    return Measurement(
        device=device,
        accelerator=accelerator,
        batch_size=p.batch_size,
        latency_ms=Percentiles(**{k: round_sig(v) for k, v in lat.items()}),
        throughput_rps=round_sig(p.throughput()),
        peak_memory_gib=round_sig(p.peak_memory_gib, 4) if p.peak_memory_gib is not None else None,
        source="measured",
        threads=threads,
        samples=len(p.samples_s),
        ci_rel=round_sig(ci, 3) if math.isfinite(ci) else None,
        throughput_quiet_rps=round_sig(p.quiet_throughput()),
        throughput_ci_rel=round(round_sig(tci, 3), 6) if math.isfinite(tci) else None,
        windows=len(p.windows),
        stable=p.settled,
        median_over_fast=round_sig(ratio, 3),
        contended=contended,
        others_cpus=round(others, 2) if others is not None else None,
    )


def _interval(rel: float, windows: int, lead: str = "") -> str:
    """'+-4.2%, over 5 windows' (with ``lead``: 'CI +-4.2% over 5 windows'); one window has
    none (the notes said '+-inf% over 1 windows')."""
    if not math.isfinite(rel):
        return f"no interval ({counted(windows, 'window')})"
    return f"{lead}+-{rel:.1%}{'' if lead else ','} over {counted(windows, 'window')}"


def point_notes(device: str, p: PointResult, rule: StopRule, contention_ratio: float,
        contention_cpus: float = OTHERS_SHARE, sweep_others: float | None = None) -> list[str]:
    """The notes a finished point's statistics call for: contended (the host slowed it past
    ``contention_ratio``, or other processes kept more than ``contention_cpus`` CPUs busy while
    it or the device's sweep (``sweep_others``) was measured), unstable (the budget ran out
    before ``rule`` was met)."""
    notes: list[str] = []
    if p.contended(contention_ratio, contention_cpus, sweep_others):
        busy = p.others_cpus()
        others = (f"; other processes kept {busy:.2f} CPUs busy meanwhile" if busy is not None
            else "")
        if sweep_others is not None:
            others += f" ({sweep_others:.2f} over the sweep)"
        notes.append(f"{device}: batch {p.batch_size}: contended: the median call is "
            f"{p.median_over_fast():.3g}x the fast calls and the quiet rate "
            f"{p.quiet_throughput() / p.throughput():.3g}x the sustained one{others} (other work "
            "on the host, or bimodal timings); throughput_rps is the rate sustained here, under "
            f"that load, and its interval ({_interval(p.interval_rel(True), len(p.windows))}: a "
            "contended point measures for its whole budget) the spread of one window, where "
            "another run beside the same load can land; throughput_quiet_rps what the model costs "
            "when nothing interferes")
    if not p.settled:
        notes.append(f"{device}: batch {p.batch_size}: unstable: the budget "
            f"({rule.time_budget_s:g} s) ran out before {rule.stable_windows} windows agreed "
            f"within +-{rule.stability:.0%} with a CI within +-{rule.target_ci:.0%} over at least "
            f"{rule.min_span_s:g} s ({_interval(p.throughput_ci_rel(), len(p.windows), 'CI ')})")
    return notes
