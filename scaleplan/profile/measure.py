"""The measurement loop: warm-up, timed iterations, the stopping rule, the batch sweep.

One code path for every device. What differs is the :class:`Timer` (wall clock on the CPU;
CUDA events with a synchronize on GPUs) and the memory probe (peak RSS on the CPU; torch's
peak allocated bytes on GPUs). The clock is injectable so the stopping rule is testable.

Stopping rule per point: after a warm-up, time one batch per iteration until the 95 %
confidence interval of the median is within +-``target_ci`` (2 %) and at least
``min_samples`` iterations ran, or the point's time budget is spent (at least 3 samples).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scaleplan.errors import ProfileError
from scaleplan.profile.model import DeviceInfo, Measurement, Percentiles
from scaleplan.profile.stats import median_ci_rel, round_sig, summarize_ms
from scaleplan.profile.targets import Runner, Workload, is_oom

Clock = Callable[[], float]


class Timer(Protocol):
    def time(self, run: Runner) -> float:
        """Seconds one call of ``run`` took on the device."""


class WallTimer:
    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self.clock = clock

    def time(self, run: Runner) -> float:
        t0 = self.clock()
        run()
        return self.clock() - t0


class CudaEventTimer:
    """CUDA events around the call, then a synchronize: the GPU's own time for the batch."""

    def __init__(self, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def time(self, run: Runner) -> float:
        torch = self.torch
        with torch.cuda.device(self.device):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(self.device)
            start.record()
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
class PointResult:
    batch_size: int
    samples_s: list[float]
    ci_rel: float
    peak_memory_gib: float | None
    warmup_iters: int


def measure_point(
    run: Runner,
    timer: Timer,
    *,
    batch_size: int,
    time_budget_s: float,
    target_ci: float = 0.02,
    min_samples: int = 20,
    max_samples: int = 100_000,
    warmup_s: float | None = None,
    clock: Clock = time.perf_counter,
    memory: MemoryProbe | None = None,
) -> PointResult:
    """Warm up, then time ``run`` until the median's CI is tight enough or the budget is spent."""
    if memory is not None:
        memory.reset()
    warm_budget = warmup_s if warmup_s is not None else min(0.2 * time_budget_s, 2.0)
    t0 = clock()
    warm = 0
    while True:
        timer.time(run)
        warm += 1
        el = clock() - t0
        if warm >= 2 and el >= warm_budget:
            break
        if el >= 2 * warm_budget and warm >= 1:
            break
    samples: list[float] = []
    start = clock()
    next_check = min_samples
    ci = math.inf
    while True:
        samples.append(timer.time(run))
        n = len(samples)
        elapsed = clock() - start
        if n >= next_check:
            ci = median_ci_rel(sorted(samples))
            if ci <= target_ci:
                break
            next_check = n + max(1, n // 10)
        if (elapsed >= time_budget_s and n >= 3) or n >= max_samples or elapsed >= 3 * time_budget_s:
            ci = median_ci_rel(sorted(samples))
            break
    peak = memory.peak_gib() if memory is not None else None
    return PointResult(batch_size=batch_size, samples_s=samples, ci_rel=ci, peak_memory_gib=peak, warmup_iters=warm)


def to_measurement(p: PointResult, *, device: str, accelerator: str, threads: int | None) -> Measurement:
    lat = summarize_ms(p.samples_s)
    total = sum(p.samples_s)
    thr = p.batch_size * len(p.samples_s) / total if total > 0 else float("inf")
    return Measurement(
        device=device,
        accelerator=accelerator,
        batch_size=p.batch_size,
        latency_ms=Percentiles(**{k: round_sig(v) for k, v in lat.items()}),
        throughput_rps=round_sig(thr),
        peak_memory_gib=round_sig(p.peak_memory_gib, 4) if p.peak_memory_gib is not None else None,
        source="measured",
        threads=threads,
        samples=len(p.samples_s),
        ci_rel=round_sig(p.ci_rel, 3) if math.isfinite(p.ci_rel) else None,
    )


# --------------------------------------------------------------------------- sweep


class Progress(Protocol):
    def device_started(self, device: str, accelerator: str, batch_sizes: Sequence[int]) -> None: ...
    def point_started(self, device: str, batch_size: int) -> None: ...
    def point_done(self, device: str, m: Measurement | None, note: str | None) -> None: ...
    def device_done(self, device: str) -> None: ...


class NullProgress:
    def device_started(self, device: str, accelerator: str, batch_sizes: Sequence[int]) -> None:
        pass

    def point_started(self, device: str, batch_size: int) -> None:
        pass

    def point_done(self, device: str, m: Measurement | None, note: str | None) -> None:
        pass

    def device_done(self, device: str) -> None:
        pass


@dataclass
class SweepOptions:
    devices: list[str]
    batch_sizes: list[int] | None = None  # None: powers of two up to max_batch
    max_batch: int = 1024
    time_budget_s: float = 2.0
    target_ci: float = 0.02
    min_samples: int = 20
    slo_ms: float | None = None
    slo_percentile: int = 99
    threads: int | None = None
    stop_at_plateau: bool = True
    plateau_gain: float = 0.03


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
    """Measure ``workload`` on every device over the batch sizes; Ctrl-C keeps what was measured.

    An out-of-memory error marks the batch ceiling for that device (a note), not a crash. With
    an SLO, the sweep stops after the first batch whose latency percentile exceeds it; by
    default it also stops once two successive doublings gained less than 3 % throughput.
    """
    prog = progress or NullProgress()
    res = SweepResult()
    if opts.threads is not None and workload.set_threads is not None:
        workload.set_threads(opts.threads)
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
            best_thr = 0.0
            stalls = 0
            for i, bs in enumerate(batches):
                prog.point_started(device, bs)
                try:
                    run = workload.prepare(device, bs)
                    point = measure_point(run, timer, batch_size=bs, time_budget_s=opts.time_budget_s, target_ci=opts.target_ci, min_samples=opts.min_samples, memory=memory)
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
                m = to_measurement(point, device=device, accelerator=info.accelerator, threads=threads)
                res.measurements.append(m)
                note: str | None = None
                if opts.slo_ms is not None and m.latency_ms.at(opts.slo_percentile) > opts.slo_ms:
                    note = f"{device}: batch {bs} p{opts.slo_percentile} {m.latency_ms.at(opts.slo_percentile):.4g} ms exceeds the SLO {opts.slo_ms:g} ms; larger batches skipped"
                elif opts.batch_sizes is None and opts.stop_at_plateau:
                    if m.throughput_rps < best_thr * (1 + opts.plateau_gain):
                        stalls += 1
                    else:
                        stalls = 0
                    best_thr = max(best_thr, m.throughput_rps)
                    if stalls >= 2 and i + 1 < len(batches):
                        note = f"{device}: throughput stopped growing by batch {bs} (two doublings under +{opts.plateau_gain:.0%}); larger batches skipped"
                if note is None and device == "cpu" and i + 1 < len(batches) and m.peak_memory_gib is not None:
                    avail = host_available_gib()
                    if avail is not None and m.peak_memory_gib * (batches[i + 1] / bs) > m.peak_memory_gib + avail * 0.8:
                        note = f"cpu: batch {batches[i + 1]} would likely exceed free host memory ({avail:.1f} GiB); memory ceiling at batch {bs}"
                if note:
                    res.notes.append(note)
                prog.point_done(device, m, note)
                if on_point is not None:
                    on_point(res)
                if note:
                    break
            prog.device_done(device)
            _free_cuda(device)
    except KeyboardInterrupt:
        res.interrupted = True
        res.notes.append(f"interrupted (Ctrl-C) after {len(res.measurements)} measurement(s); the sweep is incomplete")
    return res


def _cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def describe(point: Measurement) -> str:
    ci = f", ci +-{point.ci_rel:.1%}" if point.ci_rel is not None else ""
    return f"{point.device} batch {point.batch_size}: p50 {point.latency_ms.p50:.4g} ms, p99 {point.latency_ms.p99:.4g} ms, {point.throughput_rps:.4g}/s ({point.samples} samples{ci})"


def noop(*_: Any) -> None:
    pass
