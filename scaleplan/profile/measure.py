"""The measurement loop: warm-up, measurement windows, the stopping rule, the batch sweep.

One code path for every device. What differs is the :class:`Timer` (wall clock on the CPU;
CUDA events with a synchronize on GPUs) and the memory probe (peak RSS on the CPU; torch's
peak allocated bytes on GPUs). The clock is injectable so the stopping rule is testable.

Per point (see docs/profile.md, "How a point is measured"):

1. Warm-up (at least 2 calls and ~20 % of one window, at most 2 s).
2. Calls shorter than ``sample_floor_s`` (0.1 ms) are timed in groups of ``k`` back-to-back
   calls per sample (like ``timeit``'s autorange), so timer overhead and jitter don't dominate.
3. **Windows**: the point is measured in windows of ``window_s`` (0.5 s, at least one call).
   A window's rate is the samples it completed over its elapsed wall-clock time. The first pass
   over the batch sizes takes one window per point and decides the batch list (SLO, plateau,
   memory ceiling); then windows are taken in turn across the batch sizes (order shuffled every
   round, seeded), so every point sees the same mix of the host's quiet and busy phases and a
   point's consecutive windows lie seconds apart.
4. **Stopping**: a point is done once its last ``stable_windows`` (3) windows agree within
   +-``stability`` (10 %) of their mean, the 95 % CI of its sustained rate is within
   +-``target_ci`` (5 %) and it has ``min_samples`` calls; or once ``time_budget_s`` of timed
   windows is spent (the point is then marked unstable).

``throughput_rps`` is the **sustained** rate: all samples completed in the point's windows over
their total elapsed time (what a replica doing only this work delivers on this host). Its CI is
a t-interval over the windows' rates. ``throughput_quiet_rps`` is batch / the 0.1th percentile
of the per-call times (what the model costs when nothing interferes); ``median_over_fast`` =
median call / that fast call, and a point whose median is more than ``contention_ratio`` x the
fast call is marked ``contended``.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scaleplan.errors import ProfileError
from scaleplan.profile.model import DeviceInfo, Measurement, Percentiles
from scaleplan.profile.stats import mean_ci_rel, median_ci_rel, percentile, round_sig, summarize_ms
from scaleplan.profile.targets import Runner, Workload, is_oom

Clock = Callable[[], float]


class Timer(Protocol):
    def time(self, run: Runner, calls: int = 1) -> float:
        """Seconds ``calls`` back-to-back calls of ``run`` took on the device."""


class WallTimer:
    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self.clock = clock

    def time(self, run: Runner, calls: int = 1) -> float:
        if calls == 1:
            t0 = self.clock()
            run()
            return self.clock() - t0
        t0 = self.clock()
        for _ in range(calls):
            run()
        return self.clock() - t0


class CudaEventTimer:
    """CUDA events around the call, then a synchronize: the GPU's own time for the batch."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def time(self, run: Runner, calls: int = 1) -> float:
        torch = self.torch
        with torch.cuda.device(self.device):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(self.device)
            start.record()
            for _ in range(calls):
                run()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) / 1000.0


class MemoryProbe(Protocol):
    def reset(self) -> None: ...
    def peak_gib(self) -> float | None: ...


class HostRssProbe:
    """Peak resident set size of this process (VmHWM), reset per point via /proc/self/clear_refs."""

    def reset(self) -> None:
        with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")

    def peak_gib(self) -> float | None:
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024 / 2**30
        except OSError:
            pass
        try:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
        except Exception:
            return None


class CudaMemoryProbe:
    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def reset(self) -> None:
        self.torch.cuda.reset_peak_memory_stats(self.device)

    def peak_gib(self) -> float | None:
        return float(self.torch.cuda.max_memory_allocated(self.device)) / 2**30


def host_rss_gib() -> float | None:
    """Current resident set size of this process (VmRSS)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 2**30
    except OSError:
        pass
    return None


def host_available_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 2**30
    except OSError:
        pass
    return None


@dataclass
class Window:
    """One measurement window: calls completed and the wall-clock seconds they took."""

    calls: int
    elapsed_s: float


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

    def contended(self, ratio: float) -> bool:
        return self.slowdown() > ratio

    @property
    def ci_rel(self) -> float:
        """Relative half-width of the 95 % CI of the median per-call time."""
        return median_ci_rel(sorted(self.samples_s)) if self.samples_s else math.inf


SERVICE_Q = 0.1  # percentile of per-call times taken as the service time (quiet rate = batch / it)


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


def calls_per_sample(call_s: float, sample_floor_s: float, cap: int = 10_000) -> int:
    """How many back-to-back calls one timed sample groups so that it lasts ``sample_floor_s``."""
    if call_s <= 0:
        return cap
    if call_s >= sample_floor_s:
        return 1
    return min(cap, math.ceil(sample_floor_s / call_s))


def measure_window(run: Runner, timer: Timer, *, calls: int, window_s: float, limit_s: float, clock: Clock = time.perf_counter) -> tuple[list[float], Window]:
    """One window: timed samples of ``calls`` calls each, back to back, for ``window_s`` seconds
    of wall clock (at least one sample, at most ``limit_s``). Returns the per-call times and the
    window (calls completed, wall-clock seconds from the first call's start to the last's end)."""
    out: list[float] = []
    t0 = clock()
    while True:
        out.append(timer.time(run, calls) / calls)
        el = clock() - t0
        if el >= window_s or el >= limit_s:
            return out, Window(calls=len(out) * calls, elapsed_s=el)


def _add_window(p: PointResult, samples: list[float], w: Window) -> None:
    p.samples_s.extend(samples)
    p.windows.append(w)
    p.timed_s += w.elapsed_s


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
    max_windows: int | None = None,
    sample_floor_s: float = 1e-4,
    warmup_s: float | None = None,
    clock: Clock = time.perf_counter,
    memory: MemoryProbe | None = None,
) -> PointResult:
    """Warm up, then measure ``run`` in windows until the point settles (:func:`settled`), the
    budget is spent or ``max_windows`` windows were taken (the first pass takes one)."""
    if memory is not None:
        memory.reset()
    warm = _warm_up(run, timer, warmup_s if warmup_s is not None else min(0.2 * window_s, 2.0), clock)
    k = calls_per_sample(sorted(warm)[len(warm) // 2], sample_floor_s)
    point = PointResult(batch_size=batch_size, calls_per_sample=k)
    rule = StopRule(time_budget_s=time_budget_s, stable_windows=stable_windows, stability=stability, target_ci=target_ci, min_samples=min_samples)
    while True:
        samples, w = measure_window(run, timer, calls=k, window_s=window_s, limit_s=max(time_budget_s - point.timed_s, 0.0), clock=clock)
        _add_window(point, samples, w)
        if rule.settled(point):
            point.settled = True
            break
        if point.timed_s >= time_budget_s or (max_windows is not None and len(point.windows) >= max_windows):
            break
    point.peak_memory_gib = memory.peak_gib() if memory is not None else None
    return point


@dataclass(frozen=True)
class StopRule:
    """A point is settled once its last ``stable_windows`` windows agree within +-``stability``,
    the CI of its sustained rate is within +-``target_ci`` and it has ``min_samples`` calls."""

    time_budget_s: float
    stable_windows: int = 3
    stability: float = 0.10
    target_ci: float = 0.05
    min_samples: int = 20

    def settled(self, p: PointResult) -> bool:
        if len(p.samples_s) * p.calls_per_sample < self.min_samples:
            return False
        rates = p.window_rates()
        return windows_agree(rates, self.stable_windows, self.stability) and mean_ci_rel(rates) <= self.target_ci


def to_measurement(p: PointResult, *, device: str, accelerator: str, threads: int | None, contention_ratio: float = 1.5) -> Measurement:
    lat = summarize_ms(p.samples_s)
    ci = p.ci_rel
    tci = p.throughput_ci_rel()
    ratio = p.median_over_fast()
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
        contended=p.contended(contention_ratio),
    )


# --------------------------------------------------------------------------- sweep


class Progress(Protocol):
    def device_started(self, device: str, accelerator: str, batch_sizes: Sequence[int]) -> None: ...
    def point_started(self, device: str, batch_size: int) -> None: ...
    def point_done(self, device: str, m: Measurement | None, note: str | None) -> None: ...
    def refine_started(self, device: str, total_s: float) -> None: ...
    def refine_advance(self, device: str, seconds: float) -> None: ...
    def refine_done(self, device: str) -> None: ...
    def device_done(self, device: str) -> None: ...


class NullProgress:
    def device_started(self, device: str, accelerator: str, batch_sizes: Sequence[int]) -> None:
        pass

    def point_started(self, device: str, batch_size: int) -> None:
        pass

    def point_done(self, device: str, m: Measurement | None, note: str | None) -> None:
        pass

    def refine_started(self, device: str, total_s: float) -> None:
        pass

    def refine_advance(self, device: str, seconds: float) -> None:
        pass

    def refine_done(self, device: str) -> None:
        pass

    def device_done(self, device: str) -> None:
        pass


@dataclass
class SweepOptions:
    devices: list[str]
    batch_sizes: list[int] | None = None  # None: powers of two up to max_batch
    max_batch: int = 1024
    time_budget_s: float = 6.0  # seconds of timed windows per point, at most
    window_s: float = 0.5
    stable_windows: int = 3
    stability: float = 0.10
    target_ci: float = 0.05
    min_samples: int = 20
    sample_floor_s: float = 1e-4
    interleave: bool = True  # after the first pass, windows in turn across the batch sizes
    contention_ratio: float = 1.5  # median call / fast call above this: the point is contended
    slo_ms: float | None = None
    slo_percentile: int = 99
    threads: int | None = None
    stop_at_plateau: bool = True
    plateau_gain: float = 0.03

    def rule(self) -> StopRule:
        return StopRule(time_budget_s=self.time_budget_s, stable_windows=self.stable_windows, stability=self.stability, target_ci=self.target_ci, min_samples=self.min_samples)


@dataclass
class SweepResult:
    measurements: list[Measurement] = field(default_factory=list)
    devices: list[DeviceInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


def default_batches(max_batch: int) -> list[int]:
    out, b = [], 1
    while b <= max_batch:
        out.append(b)
        b *= 2
    return out


def _timer_for(device: str, workload: Workload) -> Timer:
    if device != "cpu" and workload.uses_torch_cuda:
        return CudaEventTimer(device)
    return WallTimer()


def _memory_for(device: str, workload: Workload) -> MemoryProbe:
    if device != "cpu" and workload.uses_torch_cuda:
        return CudaMemoryProbe(device)
    return HostRssProbe()


def _free_cuda(device: str) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and device != "cpu":
        with contextlib.suppress(Exception):
            torch.cuda.empty_cache()


def run_sweep(
    workload: Workload,
    opts: SweepOptions,
    *,
    device_info: Callable[[str], DeviceInfo],
    progress: Progress | None = None,
    on_point: Callable[[SweepResult], None] | None = None,
) -> SweepResult:
    """Measure ``workload`` on every device over the batch sizes (a first pass, then interleaved
    slices: see the module docstring); Ctrl-C keeps what was measured.

    An out-of-memory error marks the batch ceiling for that device (a note), not a crash. With
    an SLO, the sweep stops after the first batch whose latency percentile exceeds it; by
    default it also stops once two successive doublings gained less than 3 % throughput.
    """
    prog = progress or NullProgress()
    res = SweepResult()
    if opts.threads is not None and workload.set_threads is not None:
        workload.set_threads(opts.threads)
    with blas_threads(opts.threads):
        _sweep(workload, opts, device_info, prog, on_point, res)
    return res


def blas_threads(threads: int | None) -> contextlib.AbstractContextManager[object]:
    """``--threads`` for the BLAS / OpenMP libraries loaded in this process (numpy's OpenBLAS,
    MKL, torch's OpenMP), through threadpoolctl; nothing when ``threads`` is None."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    limits: contextlib.AbstractContextManager[object] = threadpool_limits(limits=threads)
    return limits


def _sweep(workload: Workload, opts: SweepOptions, device_info: Callable[[str], DeviceInfo], prog: Progress, on_point: Callable[[SweepResult], None] | None, res: SweepResult) -> None:
    try:
        for device in opts.devices:
            info = device_info(device)
            res.devices.append(info)
            batches = list(opts.batch_sizes or default_batches(opts.max_batch))
            if workload.fixed_batch is not None:
                if opts.batch_sizes and batches != [workload.fixed_batch]:
                    res.notes.append(f"{workload.target}: the graph's batch axis is fixed at {workload.fixed_batch}; only that batch size was measured")
                batches = [workload.fixed_batch]
            prog.device_started(device, info.accelerator, batches)
            timer = _timer_for(device, workload)
            memory = _memory_for(device, workload)
            rss_base = host_rss_gib() if device == "cpu" else None
            best_thr = 0.0
            stalls = 0
            kept: list[tuple[int, PointResult, int | None]] = []  # (index in res.measurements, point, threads)
            for i, bs in enumerate(batches):
                prog.point_started(device, bs)
                try:
                    run = workload.prepare(device, bs)
                    point = _measure_first(run, timer, memory, bs, opts)
                    del run
                except KeyboardInterrupt:
                    raise
                except ProfileError:
                    raise
                except Exception as exc:
                    _free_cuda(device)
                    if is_oom(exc):
                        oom_note = f"{device}: out of memory at batch {bs}; batch ceiling {batches[i - 1] if i else 'below 1'}"
                        res.notes.append(oom_note)
                        prog.point_done(device, None, oom_note)
                        break
                    msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    if not any(m.device == device for m in res.measurements):
                        raise ProfileError(None, message=f"{workload.target}: running the model on {device} at batch {bs} raised {msg}", hint="check the factory's inputs (--input-shape, --dtype) with a plain Python call first") from None
                    fail_note = f"{device}: batch {bs} failed ({msg}); sweep stopped there"
                    res.notes.append(fail_note)
                    prog.point_done(device, None, fail_note)
                    break
                threads = None
                if device == "cpu":
                    threads = opts.threads or (workload.get_threads() if workload.get_threads else None) or _cpu_threads()
                m = to_measurement(point, device=device, accelerator=info.accelerator, threads=threads, contention_ratio=opts.contention_ratio)
                res.measurements.append(m)
                kept.append((len(res.measurements) - 1, point, threads))
                if point.calls_per_sample > 1:
                    res.notes.append(f"{device}: batch {bs}: calls under {opts.sample_floor_s * 1000:g} ms were timed {point.calls_per_sample} at a time; its latency percentiles are of {point.calls_per_sample}-call averages")
                note: str | None = None
                if opts.slo_ms is not None and m.latency_ms.at(opts.slo_percentile) > opts.slo_ms:
                    note = f"{device}: batch {bs} p{opts.slo_percentile} {m.latency_ms.at(opts.slo_percentile):.4g} ms exceeds the SLO {opts.slo_ms:g} ms; larger batches skipped"
                elif opts.batch_sizes is None and opts.stop_at_plateau:
                    # the fast calls' rate: one window's sustained rate is too noisy to stop on
                    quiet = m.throughput_quiet_rps or m.throughput_rps
                    if quiet < best_thr * (1 + opts.plateau_gain):
                        stalls += 1
                    else:
                        stalls = 0
                    best_thr = max(best_thr, quiet)
                    if stalls >= 2 and i + 1 < len(batches):
                        note = f"{device}: throughput stopped growing by batch {bs} (two doublings under +{opts.plateau_gain:.0%}); larger batches skipped"
                if note is None and device == "cpu" and i + 1 < len(batches) and m.peak_memory_gib is not None:
                    avail = host_available_gib()
                    # only what the point added to the process scales with the batch (the
                    # runtime, libraries and the caller's own memory do not)
                    grown = max(0.0, m.peak_memory_gib - (rss_base or 0.0))
                    if avail is not None and grown * (batches[i + 1] / bs - 1) > avail * 0.8:
                        note = f"cpu: batch {batches[i + 1]} would likely exceed free host memory ({avail:.1f} GiB); memory ceiling at batch {bs}"
                if note:
                    res.notes.append(note)
                prog.point_done(device, m, note)
                if on_point is not None:
                    on_point(res)
                if note:
                    break
            _interleave(workload, opts, device, info.accelerator, timer, kept, res, prog, on_point)
            for _, pt, _ in kept:
                if pt.contended(opts.contention_ratio):
                    res.notes.append(f"{device}: batch {pt.batch_size}: contended: the median call is {pt.median_over_fast():.3g}x the fast calls and the quiet rate {pt.quiet_throughput() / pt.throughput():.3g}x the sustained one (other work on the host, or bimodal timings); throughput_rps is the rate sustained here, under that load; throughput_quiet_rps what the model costs when nothing interferes")
                if not pt.settled:
                    res.notes.append(f"{device}: batch {pt.batch_size}: unstable: the budget ({opts.time_budget_s:g} s) ran out before {opts.stable_windows} windows agreed within +-{opts.stability:.0%} with a CI within +-{opts.target_ci:.0%} (CI +-{pt.throughput_ci_rel():.1%} over {len(pt.windows)} windows)")
            prog.device_done(device)
            _free_cuda(device)
    except KeyboardInterrupt:
        res.interrupted = True
        res.notes.append(f"interrupted (Ctrl-C) after {len(res.measurements)} measurement(s); the sweep is incomplete")


def _measure_first(run: Runner, timer: Timer, memory: MemoryProbe, bs: int, opts: SweepOptions) -> PointResult:
    """The first pass's share of a point: warm-up, peak memory and one window (or, without
    interleaving, the whole point), enough to decide the batch list (SLO, plateau, memory
    ceiling). With interleaving the rest is measured in windows taken in turn."""
    return measure_point(
        run,
        timer,
        batch_size=bs,
        time_budget_s=opts.time_budget_s,
        window_s=opts.window_s,
        stable_windows=opts.stable_windows,
        stability=opts.stability,
        target_ci=opts.target_ci,
        min_samples=opts.min_samples,
        max_windows=1 if opts.interleave else None,
        sample_floor_s=opts.sample_floor_s,
        memory=memory,
    )


def _interleave(
    workload: Workload,
    opts: SweepOptions,
    device: str,
    accelerator: str,
    timer: Timer,
    kept: list[tuple[int, PointResult, int | None]],
    res: SweepResult,
    prog: Progress,
    on_point: Callable[[SweepResult], None] | None,
    clock: Clock = time.perf_counter,
) -> None:
    """The rest of each point's budget, in windows taken in turn across the batch sizes the
    first pass kept (order shuffled every round, seeded), until every point has settled or spent
    its budget.

    Interference on a shared host comes in phases of seconds (another tenant's job, the
    hypervisor). Taking every point a window at a time over the whole sweep means every point
    sees the same mix of quiet and busy phases, and a point's consecutive windows lie seconds
    apart, so "three windows agree" is not three looks at one phase. On the CPU each batch
    size's inputs are prepared once; on GPUs once per window (outside the timed region), so only
    one batch's inputs occupy device memory at a time. A failure ends the windows with a note
    and keeps what was measured; Ctrl-C keeps the windows measured.
    """
    if not opts.interleave:
        return
    rule = opts.rule()
    active = [j for j, (_, pt, _) in enumerate(kept) if not pt.settled and pt.timed_s < opts.time_budget_s]
    if not active:
        return
    total_s = sum(max(0.0, opts.time_budget_s - kept[j][1].timed_s) for j in active)
    prog.refine_started(device, total_s)
    runners: dict[int, Runner] = {}
    cache = device == "cpu"
    # a call's typical duration (median of the first pass): short calls get an untimed re-warm
    typical = {j: percentile(sorted(kept[j][1].samples_s), 50) * kept[j][1].calls_per_sample for j in active}
    last_write = clock()
    order = random.Random(0)

    def publish(js: Sequence[int]) -> None:
        for j in js:
            idx, pt, threads = kept[j]
            res.measurements[idx] = to_measurement(pt, device=device, accelerator=accelerator, threads=threads, contention_ratio=opts.contention_ratio)

    try:
        while active:
            turn = list(active)
            order.shuffle(turn)
            for j in turn:
                _, pt, _ = kept[j]
                bs = pt.batch_size
                try:
                    run = runners.get(bs) or workload.prepare(device, bs)
                    if cache:
                        runners[bs] = run
                    if typical[j] < opts.window_s / 4:
                        run()  # re-warm: the other batch sizes ran since
                    samples, w = measure_window(run, timer, calls=pt.calls_per_sample, window_s=opts.window_s, limit_s=opts.time_budget_s - pt.timed_s, clock=clock)
                    del run
                except KeyboardInterrupt:
                    raise
                except Exception as exc:
                    _free_cuda(device)
                    res.notes.append(f"{device}: a window at batch {bs} failed ({type(exc).__name__}); every point keeps what was measured before")
                    return
                _add_window(pt, samples, w)
                prog.refine_advance(device, w.elapsed_s)
                if rule.settled(pt):
                    pt.settled = True
                if pt.settled or pt.timed_s >= opts.time_budget_s:
                    active.remove(j)
                    publish([j])
            if on_point is not None and clock() - last_write >= 2.0:
                publish(active)
                on_point(res)
                last_write = clock()
    finally:
        runners.clear()
        publish(range(len(kept)))
        if on_point is not None:
            on_point(res)
        prog.refine_done(device)


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def describe(point: Measurement) -> str:
    ci = f" +-{point.throughput_ci_rel:.1%}" if point.throughput_ci_rel is not None else ""
    return f"{point.device} batch {point.batch_size}: p50 {point.latency_ms.p50:.4g} ms, p99 {point.latency_ms.p99:.4g} ms, {point.throughput_rps:.4g}/s{ci} ({point.samples} samples)"


def noop(*_: Any) -> None:
    pass
