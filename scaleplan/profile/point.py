"""The timing loop of one point: warm-up, grouped samples, measurement windows, stopping.

1. Warm-up (at least 2 calls and ~20 % of one window, at most 2 s).
2. Calls shorter than ``sample_floor_s`` (0.1 ms) are timed in groups of ``k`` back-to-back
   calls per sample (like ``timeit``'s autorange), so timer overhead and jitter don't dominate.
3. Windows of ``window_s`` (at least one sample) until the point settles
   (:class:`~scaleplan.profile.sustained.StopRule`), its budget is spent or ``max_windows``
   windows were taken.

The clock is injectable so the stopping rule is testable; the timer and memory probe come from
:mod:`scaleplan.profile.probes`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from scaleplan.profile.probes import Clock, HostMeter, MemoryProbe, Timer
from scaleplan.profile.sustained import PointResult, StopRule, Window
from scaleplan.profile.targets import Runner


def calls_per_sample(call_s: float, sample_floor_s: float, cap: int = 10_000) -> int:
    """How many back-to-back calls one timed sample groups so that it lasts ``sample_floor_s``."""
    if call_s <= 0:
        return cap
    if call_s >= sample_floor_s:
        return 1
    return min(cap, math.ceil(sample_floor_s / call_s))


def measure_window(run: Runner, timer: Timer, *, calls: int, window_s: float, limit_s: float,
        clock: Clock = time.perf_counter,
        meter: HostMeter | None = None) -> tuple[list[float], Window]:
    """One window: timed samples of ``calls`` calls each, back to back, for ``window_s`` seconds
    of wall clock (at least one sample, at most ``limit_s``). Returns the per-call times and the
    window (calls completed, wall-clock seconds from the first call's start to the last's end,
    and with a ``meter`` the CPU seconds the rest of the host spent meanwhile)."""
    out: list[float] = []
    before = meter.read() if meter is not None else None
    t0 = clock()
    while True:
        out.append(timer.time(run, calls) / calls)
        el = clock() - t0
        if el >= window_s or el >= limit_s:
            after = meter.read() if before is not None and meter is not None else None
            others = ((after[0] - before[0]) - (after[1] - before[1]) if before is not None
                and after is not None else None)
            return out, Window(calls=len(out) * calls, elapsed_s=el, end_s=t0 + el,
                others_cpu_s=others)


def _warm_up(run: Runner, timer: Timer, warm_budget: float, clock: Clock) -> list[float]:
    t0 = clock()
    warm_times: list[float] = []
    while True:
        warm_times.append(timer.time(run))
        el = clock() - t0
        if (len(warm_times) >= 2 and el >= warm_budget) or el >= 2 * warm_budget:
            return warm_times


def measure_point(
    run: Runner,
    timer: Timer,
    *,
    batch_size: int,
    time_budget_s: float,
    window_s: float = 0.5,
    stable_windows: int = 3,
    stability: float = 0.10,
    target_ci: float = 0.05,
    min_samples: int = 20,
    min_span_s: float = 0.0,
    max_windows: int | None = None,
    sample_floor_s: float = 1e-4,
    warmup_s: float | None = None,
    clock: Clock = time.perf_counter,
    memory: MemoryProbe | None = None,
    meter: HostMeter | None = None,
    keep_going: Callable[[PointResult], bool] | None = None,
) -> PointResult:
    """Warm up, then measure ``run`` in windows until the point settles (:meth:`StopRule.settled`), the
    budget is spent or ``max_windows`` windows were taken (the first pass takes one). A point
    that has settled goes on while ``keep_going`` says so (a contended point measures its whole
    budget)."""
    if memory is not None:
        memory.reset()
    warm = _warm_up(run, timer, warmup_s if warmup_s is not None else min(0.2 * window_s, 2.0),
        clock)
    k = calls_per_sample(sorted(warm)[len(warm) // 2], sample_floor_s)
    point = PointResult(batch_size=batch_size, calls_per_sample=k)
    rule = StopRule(time_budget_s=time_budget_s, stable_windows=stable_windows, stability=stability,
        target_ci=target_ci, min_samples=min_samples, min_span_s=min_span_s)
    while True:
        samples, w = measure_window(run, timer, calls=k, window_s=window_s,
            limit_s=max(time_budget_s - point.timed_s, 0.0), clock=clock, meter=meter)
        point.add_window(samples, w)
        point.settled = rule.settled(point)
        if point.settled and not (keep_going is not None and keep_going(point)):
            break
        if point.timed_s >= time_budget_s or (max_windows is not None
                and len(point.windows) >= max_windows):
            break
    point.peak_memory_gib = memory.peak_gib() if memory is not None else None
    return point
