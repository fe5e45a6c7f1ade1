"""The measurement loop: warm-up, timed rounds, the stopping rule, the batch sweep.

One code path for every device. What differs is the :class:`Timer` (wall clock on the CPU;
CUDA events with a synchronize on GPUs) and the memory probe (peak RSS on the CPU; torch's
peak allocated bytes on GPUs). The clock is injectable so the stopping rule is testable.

Per point (see docs/profile.md, "How a point is measured"):

1. Warm-up (at least 2 calls and ~20 % of the first pass's budget, at most 2 s).
2. Calls shorter than ``sample_floor_s`` (0.1 ms) are timed in groups of ``k`` back-to-back
   calls per sample (like ``timeit``'s autorange), so timer overhead and jitter don't dominate.
3. The first pass over the batch sizes takes a quarter of each point's budget (its minimum
   time and rounds too) and decides the batch list (SLO, plateau, memory ceiling).
4. The rest is spent in slices of ``slice_s`` (50 ms) taken in turn across the batch sizes,
   so every point sees the same mix of the host's quiet and busy phases.
   The order of the batch sizes is shuffled every round (seeded), so a periodic disturbance
   can't line up with one batch size.
5. A point leaves the rotation once its budget is spent, or once it has at least ``min_time_s``
   seconds, ``min_rounds`` rounds and ``min_samples`` samples spread over ``min_span_s`` (20 s)
   of the sweep AND both the 95 % CI of the median per-call time and the CI of the median
   across rounds (slices) of each round's throughput are within +-``target_ci``.

Latency percentiles pool all samples, as measured. Throughput is batch / service time, the
0.1th percentile of the per-call times: interference only adds time, and on a shared machine
the median and the mean move with the load (docs/profile.md has the measurements).
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
from scaleplan.profile.stats import median_ci_rel, percentile, round_sig, summarize_ms
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
    """What one point has measured so far: the first pass fills it, the slices add to it."""

    batch_size: int
    samples_s: list[float] = field(default_factory=list)  # per-call seconds (a grouped sample is divided by its calls)
    rounds: list[list[float]] = field(default_factory=list)  # samples_s split by round
    peak_memory_gib: float | None = None
    calls_per_sample: int = 1
    timed_s: float = 0.0  # seconds spent in timed samples (the budget counts these)
    first_at: float = 0.0  # clock when its first timed sample began
    last_at: float = 0.0  # clock when its latest timed sample ended

    @property
    def ci_rel(self) -> float:
        """Relative half-width of the 95 % CI of the median per-call time."""
        return median_ci_rel(sorted(self.samples_s)) if self.samples_s else math.inf

    @property
    def round_ci_rel(self) -> float:
        """The same CI, of the median across rounds of batch / round service time."""
        thr = self.round_throughputs()
        return median_ci_rel(sorted(thr)) if thr else math.inf

    def tight(self, target_ci: float) -> bool:
        """Both CIs within +-``target_ci``: the stopping rule's precision test."""
        return self.ci_rel <= target_ci and self.round_ci_rel <= target_ci

    def span_s(self) -> float:
        """Wall-clock seconds its samples are spread over (other points' slices included)."""
        return self.last_at - self.first_at

    def round_throughputs(self) -> list[float]:
        return round_throughputs(self.batch_size, self.rounds or [self.samples_s])

    def throughput(self) -> float:
        """Batch / service time (the 0.1th percentile of all per-call times)."""
        st = service_time(self.samples_s) if self.samples_s else 0.0
        return self.batch_size / st if st > 0 else float("inf")


SERVICE_Q = 0.1  # percentile of per-call times taken as the service time (throughput = batch / it)


def service_time(samples: Sequence[float]) -> float:
    """The interference-robust service time: the 0.1th percentile of the per-call times (the
    fastest call in a thousand; below a thousand samples, between the fastest two).

    Interference (other processes, hypervisor neighbours, page faults) only ever adds time, so
    the fastest calls estimate what the model itself costs (``timeit``'s advice, for the same
    reason); a quantile rather than the minimum, so one sample can't set it. See
    docs/profile.md for the evidence behind the choice.
    """
    return percentile(sorted(samples), SERVICE_Q)


def round_throughputs(batch_size: int, rounds: Sequence[Sequence[float]]) -> list[float]:
    """Per round: batch / that round's service time; empty rounds skipped."""
    out = []
    for r in rounds:
        if r:
            st = service_time(r)
            if st > 0:
                out.append(batch_size / st)
    return out


def calls_per_sample(call_s: float, sample_floor_s: float, cap: int = 10_000) -> int:
    """How many back-to-back calls one timed sample groups so that it lasts ``sample_floor_s``."""
    if call_s <= 0:
        return cap
    if call_s >= sample_floor_s:
        return 1
    return min(cap, math.ceil(sample_floor_s / call_s))


def measure_point(
    run: Runner,
    timer: Timer,
    *,
    batch_size: int,
    time_budget_s: float,
    target_ci: float = 0.02,
    min_samples: int = 20,
    max_samples: int = 100_000,
    min_time_s: float = 1.0,
    min_rounds: int = 5,
    sample_floor_s: float = 1e-4,
    warmup_s: float | None = None,
    clock: Clock = time.perf_counter,
    memory: MemoryProbe | None = None,
) -> PointResult:
    """Warm up, then time ``run`` in rounds until the medians are tight enough or the budget is spent.

    ``min_time_s`` is capped at the budget: with ``--time-budget 0.2`` a point takes ~0.2 s.
    """
    if memory is not None:
        memory.reset()
    warm_budget = warmup_s if warmup_s is not None else min(0.2 * time_budget_s, 2.0)
    t0 = clock()
    warm_times: list[float] = []
    while True:
        warm_times.append(timer.time(run))
        el = clock() - t0
        if len(warm_times) >= 2 and el >= warm_budget:
            break
        if el >= 2 * warm_budget:
            break
    k = calls_per_sample(sorted(warm_times)[len(warm_times) // 2], sample_floor_s)
    min_time = min(min_time_s, time_budget_s)
    rounds_wanted = max(1, min_rounds)
    round_s = min_time / rounds_wanted
    start = clock()
    point = PointResult(batch_size=batch_size, calls_per_sample=k, first_at=start)
    rounds, samples = point.rounds, point.samples_s
    done = False
    while not done:
        current: list[float] = []
        rounds.append(current)
        r0 = clock()
        while True:
            per_call = timer.time(run, k) / k
            current.append(per_call)
            samples.append(per_call)
            now = clock()
            n = len(samples)
            elapsed = now - start
            if (elapsed >= time_budget_s and n >= 3) or n >= max_samples or elapsed >= 3 * time_budget_s:
                done = True
                break
            if now - r0 >= round_s:
                break
        if done:
            break
        if len(rounds) >= rounds_wanted and clock() - start >= min_time and len(samples) >= min_samples and point.tight(target_ci):
            break
    point.rounds = [r for r in rounds if r]
    point.last_at = clock()
    point.timed_s = point.last_at - start
    point.peak_memory_gib = memory.peak_gib() if memory is not None else None
    return point


def to_measurement(p: PointResult, *, device: str, accelerator: str, threads: int | None) -> Measurement:
    lat = summarize_ms(p.samples_s)
    thr = p.throughput()
    ci = p.ci_rel
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
        ci_rel=round_sig(ci, 3) if math.isfinite(ci) else None,
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
    time_budget_s: float = 3.0
    target_ci: float = 0.02
    min_samples: int = 20
    min_time_s: float = 1.0
    min_rounds: int = 5
    sample_floor_s: float = 1e-4
    slice_s: float = 0.05  # interleaved slices after the first pass; 0 = each point in one go
    min_span_s: float = 20.0  # a point stops before its budget only once its samples span this
    first_share: float = 0.25  # of each point's budget, minimum time and rounds, for the first pass
    max_samples: int = 100_000
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
                m = to_measurement(point, device=device, accelerator=info.accelerator, threads=threads)
                res.measurements.append(m)
                kept.append((len(res.measurements) - 1, point, threads))
                if point.calls_per_sample > 1:
                    res.notes.append(f"{device}: batch {bs}: calls under {opts.sample_floor_s * 1000:g} ms were timed {point.calls_per_sample} at a time; its latency percentiles are of {point.calls_per_sample}-call averages")
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
            _interleave(workload, opts, device, info.accelerator, timer, kept, res, prog, on_point)
            for _, pt, _ in kept:
                xs = sorted(pt.samples_s)
                st, med = percentile(xs, SERVICE_Q), percentile(xs, 50)
                if st > 0 and med > 1.25 * st:
                    res.notes.append(f"{device}: batch {pt.batch_size}: the median call ({med * 1000:.4g} ms) is {med / st - 1:.0%} above the service time ({st * 1000:.4g} ms): other work or bimodal timings; throughput uses the service time, latency percentiles are as measured")
            prog.device_done(device)
            _free_cuda(device)
    except KeyboardInterrupt:
        res.interrupted = True
        res.notes.append(f"interrupted (Ctrl-C) after {len(res.measurements)} measurement(s); the sweep is incomplete")
    return res


def _first_share(opts: SweepOptions) -> float:
    """Fraction of each point's budget, minimum time and rounds the first pass takes."""
    return 1.0 if opts.slice_s <= 0 else min(1.0, max(0.05, opts.first_share))


def _measure_first(run: Runner, timer: Timer, memory: MemoryProbe, bs: int, opts: SweepOptions) -> PointResult:
    """The first pass's share of a point: warm-up, peak memory and enough timing to decide the
    batch list (SLO, plateau, memory ceiling). The rest of the budget is spent in slices."""
    share = _first_share(opts)
    return measure_point(
        run,
        timer,
        batch_size=bs,
        time_budget_s=opts.time_budget_s * share,
        target_ci=opts.target_ci,
        min_samples=max(3, math.ceil(opts.min_samples * share)),
        min_time_s=opts.min_time_s * share,
        min_rounds=max(1, math.ceil(opts.min_rounds * share)),
        sample_floor_s=opts.sample_floor_s,
        memory=memory,
    )


def point_settled(p: PointResult, opts: SweepOptions) -> bool:
    """The point's stopping rule over everything measured so far (first pass and slices): its
    budget is spent, or it has the minimum time, rounds and samples, its samples span at least
    ``min_span_s`` of the sweep, AND the CI of the median per-call time and the CI of the
    median of the rounds' throughputs are within the target.

    The span guard is there because a host's slow phases can last seconds: a point that settles
    inside one has a tight CI around the wrong value (measured: 17 % off a profile that ran on).
    """
    if p.timed_s >= opts.time_budget_s or len(p.samples_s) >= opts.max_samples:
        return True
    if p.timed_s < min(opts.min_time_s, opts.time_budget_s) or len(p.rounds) < opts.min_rounds or len(p.samples_s) < opts.min_samples:
        return False
    if opts.slice_s > 0 and p.span_s() < opts.min_span_s:
        return False
    return p.tight(opts.target_ci)


def measure_slice(run: Runner, timer: Timer, *, calls: int, slice_s: float, limit_s: float, rewarm: bool, clock: Clock = time.perf_counter) -> tuple[list[float], float]:
    """One slice of a point: an untimed call (``rewarm``: the other batch sizes ran since), then
    timed samples of ``calls`` calls each for ``slice_s`` seconds (at least one sample, at most
    ``limit_s``). Returns the per-call times and the seconds the timed samples took."""
    if rewarm:
        run()
    out: list[float] = []
    t0 = clock()
    while True:
        out.append(timer.time(run, calls) / calls)
        el = clock() - t0
        if el >= slice_s or el >= limit_s:
            return out, el


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
    """The rest of each point's budget, in slices of ``slice_s`` taken in turn across the batch
    sizes the first pass kept, until every point has settled (:func:`point_settled`).

    Interference on a shared host comes in phases of seconds (another tenant's job, the
    hypervisor). Taking every point a little at a time over the whole sweep, instead of all at
    once, means every point sees the same mix of quiet and busy phases, and the service time
    (a low quantile of the per-call times) finds the quiet ones. On the CPU each batch size's
    inputs are prepared once; on GPUs once per slice (outside the timed region), so only one
    batch's inputs occupy device memory at a time. A failure ends the slices with a note and
    keeps what was pooled so far; Ctrl-C keeps the slices measured.
    """
    if opts.slice_s <= 0:
        return
    active = [j for j, (_, pt, _) in enumerate(kept) if not point_settled(pt, opts)]
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
            res.measurements[idx] = to_measurement(pt, device=device, accelerator=accelerator, threads=threads)

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
                    samples, spent = measure_slice(run, timer, calls=pt.calls_per_sample, slice_s=opts.slice_s, limit_s=opts.time_budget_s - pt.timed_s, rewarm=typical[j] < opts.slice_s / 4, clock=clock)
                    del run
                except KeyboardInterrupt:
                    raise
                except Exception as exc:
                    _free_cuda(device)
                    res.notes.append(f"{device}: a slice at batch {bs} failed ({type(exc).__name__}); every point keeps what was measured before")
                    return
                pt.rounds.append(samples)
                pt.samples_s.extend(samples)
                pt.timed_s += spent
                pt.last_at = clock()
                prog.refine_advance(device, spent)
                if point_settled(pt, opts):
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
    ci = f", ci +-{point.ci_rel:.1%}" if point.ci_rel is not None else ""
    return f"{point.device} batch {point.batch_size}: p50 {point.latency_ms.p50:.4g} ms, p99 {point.latency_ms.p99:.4g} ms, {point.throughput_rps:.4g}/s ({point.samples} samples{ci})"


def noop(*_: Any) -> None:
    pass
