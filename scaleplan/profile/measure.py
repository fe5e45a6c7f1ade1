"""The batch sweep: every device over the batch sizes, a first pass, then interleaved windows.

How one point is measured (warm-up, grouped samples, windows, the stopping rule) is
:mod:`scaleplan.profile.point`; what its windows say (sustained and quiet rate, CI,
contention) is :mod:`scaleplan.profile.sustained`; the timer and memory probe per device are
:mod:`scaleplan.profile.probes`. Here (see docs/profile.md, "How a point is measured"):

1. **First pass**: one window per point (after its warm-up and memory reading), in batch
   order; it decides the batch list: a latency SLO exceeded, a throughput plateau (two
   doublings under +3 %), the host's memory ceiling, an out-of-memory error or a failure end
   the device's sweep there.
2. **Interleaved windows**: the rest of each point's budget is taken in turn across the batch
   sizes (order shuffled every round, seeded), so every point sees the same mix of the host's
   quiet and busy phases and a point's consecutive windows lie seconds apart.
3. A point is done once its last ``stable_windows`` (3) windows agree within +-``stability``
   (10 %) of their mean, the 95 % CI of its sustained rate is within +-``target_ci`` (5 %) and
   it has ``min_samples`` calls; or once ``time_budget_s`` of timed windows is spent (the point
   is then marked unstable).

``throughput_rps`` is the **sustained** rate: all samples completed in the point's windows over
their total elapsed time (what a replica doing only this work delivers on this host). Its CI is
a t-interval over the windows' rates. ``throughput_quiet_rps`` is batch / the 0.1th percentile
of the per-call times (what the model costs when nothing interferes); ``median_over_fast`` =
median call / that fast call, and a point whose median is more than ``contention_ratio`` x the
fast call is marked ``contended``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scaleplan.errors import ProfileError, ScaleplanError
from scaleplan.profile.model import DeviceInfo, Measurement
from scaleplan.profile.point import measure_point, measure_window
from scaleplan.profile.probes import (
    Clock,
    HostMeter,
    MemoryProbe,
    Timer,
    blas_threads,
    cpu_threads,
    free_cuda,
    host_available_gib,
    host_rss_gib,
    memory_for,
    timer_for,
)
from scaleplan.profile.stats import figure, percentile
from scaleplan.profile.sustained import (
    OTHERS_SHARE,
    PointResult,
    StopRule,
    busy_limit,
    others_cpus_of,
    point_notes,
    to_measurement,
)
from scaleplan.profile.targets import Runner, Workload, is_oom
from scaleplan.wording import counted

# A point the first pass kept: (its index in SweepResult.measurements, the point, threads).
Kept = tuple[int, PointResult, int | None]


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
    min_span_s: float = 5.0  # a point's windows must span this much wall clock to settle
    sample_floor_s: float = 1e-4
    interleave: bool = True  # after the first pass, windows in turn across the batch sizes
    contention_ratio: float = 1.5  # median call / fast call above this: the point is contended
    contention_share: float = OTHERS_SHARE  # others kept this share of the CPUs the point leaves busy: contended
    slo_ms: float | None = None
    slo_percentile: int = 99
    threads: int | None = None
    stop_at_plateau: bool = True
    plateau_gain: float = 0.03

    def rule(self) -> StopRule:
        return StopRule(time_budget_s=self.time_budget_s, stable_windows=self.stable_windows,
            stability=self.stability, target_ci=self.target_ci, min_samples=self.min_samples,
            min_span_s=self.min_span_s)


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


def _sweep(workload: Workload, opts: SweepOptions, device_info: Callable[[str], DeviceInfo],
        prog: Progress, on_point: Callable[[SweepResult], None] | None, res: SweepResult) -> None:
    try:
        for device in opts.devices:
            _sweep_device(workload, opts, device, device_info(device), prog, on_point, res)
    except KeyboardInterrupt:
        res.interrupted = True
        res.notes.append("interrupted (Ctrl-C) after "
            f"{counted(len(res.measurements), 'measurement')}; the sweep is incomplete")


def _sweep_device(workload: Workload, opts: SweepOptions, device: str, info: DeviceInfo,
        prog: Progress, on_point: Callable[[SweepResult], None] | None, res: SweepResult) -> None:
    """One device: the first pass over its batch sizes, the interleaved windows, the notes."""
    res.devices.append(info)
    batches = _device_batches(workload, opts, res)
    prog.device_started(device, info.accelerator, batches)
    timer = timer_for(device, workload)
    memory = memory_for(device, workload)
    rss_base = host_rss_gib() if device == "cpu" else None
    meter = HostMeter()
    kept = _first_pass(workload, opts, device, info.accelerator, timer, memory, meter, batches,
        rss_base, res, prog, on_point)
    _interleave(workload, opts, device, info.accelerator, timer, meter, kept, res, prog, on_point)
    rule = opts.rule()
    sweep = _sweep_others(kept)
    for _, pt, threads in kept:
        res.notes.extend(point_notes(device, pt, rule, opts.contention_ratio,
            _busy_limit(opts, meter, threads), sweep))
    prog.device_done(device)
    free_cuda(device)


def _busy_limit(opts: SweepOptions, meter: HostMeter | None, threads: int | None) -> float:
    """CPUs other processes may keep busy before a point of ``threads`` threads is contended."""
    return busy_limit(meter.cpus if meter is not None else None, threads, opts.contention_share)


def _sweep_others(kept: Sequence[Kept]) -> float | None:
    """CPUs other processes kept busy over every window of the device's sweep so far."""
    return others_cpus_of(w for _, pt, _ in kept for w in pt.windows)


def _contended(opts: SweepOptions, meter: HostMeter | None, kept: Sequence[Kept], j: int) -> bool:
    """Point ``j`` is contended, by its own windows or by the sweep's: it does not stop when its
    windows agree (they may agree inside a neighbour's lull) but measures its whole budget, so
    that its interval sees the neighbour's phases."""
    _, pt, threads = kept[j]
    limit = _busy_limit(opts, meter, threads)
    return pt.contended(opts.contention_ratio, limit, _sweep_others(kept))


def _device_batches(workload: Workload, opts: SweepOptions, res: SweepResult) -> list[int]:
    """The batch sizes to try: ``--batch-sizes``, powers of two, or the graph's fixed batch."""
    batches = list(opts.batch_sizes or default_batches(opts.max_batch))
    if workload.fixed_batch is not None:
        if opts.batch_sizes and batches != [workload.fixed_batch]:
            res.notes.append(f"{workload.target}: the graph's batch axis is fixed at "
                f"{workload.fixed_batch}; only that batch size was measured (export the model with "
                "a dynamic batch axis to measure others)")
        batches = [workload.fixed_batch]
    return batches


def _first_pass(
    workload: Workload,
    opts: SweepOptions,
    device: str,
    accelerator: str,
    timer: Timer,
    memory: MemoryProbe,
    meter: HostMeter | None,
    batches: list[int],
    rss_base: float | None,
    res: SweepResult,
    prog: Progress,
    on_point: Callable[[SweepResult], None] | None,
) -> list[Kept]:
    """One window per batch size, in order, until the batch list ends or a point says stop
    (an SLO, a plateau, the memory ceiling, out of memory, a failure). Returns the kept points."""
    plateau = _Plateau(opts.plateau_gain)
    kept: list[Kept] = []
    for i, bs in enumerate(batches):
        prog.point_started(device, bs)
        point = _first_point(workload, opts, device, timer, memory, meter, batches, i, res, prog)
        if point is None:
            break
        threads = _point_threads(workload, opts, device)
        m = to_measurement(point, device=device, accelerator=accelerator, threads=threads,
            contention_ratio=opts.contention_ratio,
            contention_cpus=_busy_limit(opts, meter, threads),
            sweep_others=_sweep_others([*kept, (0, point, threads)]))
        res.measurements.append(m)
        kept.append((len(res.measurements) - 1, point, threads))
        if point.calls_per_sample > 1:
            res.notes.append(f"{device}: batch {bs}: calls under {opts.sample_floor_s * 1000:g} ms "
                f"were timed {point.calls_per_sample} at a time; its latency percentiles are of "
                f"{point.calls_per_sample}-call averages")
        note = _stop_note(opts, device, batches, i, m, plateau, rss_base)
        if note:
            res.notes.append(note)
        prog.point_done(device, m, note)
        if on_point is not None:
            on_point(res)
        if note:
            break
    return kept


def _first_point(workload: Workload, opts: SweepOptions, device: str, timer: Timer,
        memory: MemoryProbe, meter: HostMeter | None, batches: list[int], i: int, res: SweepResult,
        prog: Progress) -> PointResult | None:
    """Batch ``batches[i]``'s first-pass share, or None (with a note) when it ran out of
    memory or failed after an earlier point of the device was measured (the device's sweep
    stops there); a failure at the device's first point is a ProfileError."""
    bs = batches[i]
    try:
        run = workload.prepare(device, bs)
        limit = _busy_limit(opts, meter, _point_threads(workload, opts, device))
        point = _measure_first(run, timer, memory, meter, bs, opts, limit)
        del run
        return point
    except KeyboardInterrupt:
        raise
    except ScaleplanError:  # its own errors (a bad option too) as they are
        raise
    except Exception as exc:
        free_cuda(device)
        if is_oom(exc):
            oom_note = (f"{device}: out of memory at batch {bs}; batch ceiling "
                f"{batches[i - 1] if i else 'below 1'}")
            res.notes.append(oom_note)
            prog.point_done(device, None, oom_note)
            return None
        msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if not any(m.device == device for m in res.measurements):
            factory = workload.framework in ("torch", "python")  # else a model file
            what = "the factory's inputs" if factory else "the inputs the file was exported for"
            raise ProfileError(None, message=f"{workload.target}: running the model on {device} at "
                f"batch {bs} raised {msg}", hint=f"check {what} (--input-shape, --dtype) with a "
                "plain Python call first") from None
        fail_note = f"{device}: batch {bs} failed ({msg}); sweep stopped there"
        res.notes.append(fail_note)
        prog.point_done(device, None, fail_note)
        return None


def _point_threads(workload: Workload, opts: SweepOptions, device: str) -> int | None:
    """The threads a CPU point ran with (``--threads``, the runtime's own setting, or the CPUs
    this process may use); None on GPUs."""
    if device != "cpu":
        return None
    return opts.threads or (workload.get_threads() if workload.get_threads
        else None) or cpu_threads()


@dataclass
class _Plateau:
    """Throughput growth over the doublings: stalled once two in a row gained under ``gain``."""

    gain: float
    best: float = 0.0
    stalls: int = 0

    def stalled(self, rate: float) -> bool:
        if rate < self.best * (1 + self.gain):
            self.stalls += 1
        else:
            self.stalls = 0
        self.best = max(self.best, rate)
        return self.stalls >= 2


def _stop_note(opts: SweepOptions, device: str, batches: list[int], i: int, m: Measurement,
        plateau: _Plateau, rss_base: float | None) -> str | None:
    """Why the first pass stops after batch ``batches[i]`` (the SLO is exceeded, throughput
    stopped growing, the next batch would not fit in host memory), or None to go on."""
    bs = batches[i]
    note: str | None = None
    if opts.slo_ms is not None and m.latency_ms.at(opts.slo_percentile) > opts.slo_ms:
        # the first window's figure; the table pools every window (UX trial 35)
        note = (f"{device}: batch {bs} p{opts.slo_percentile} "
            f"{m.latency_ms.at(opts.slo_percentile):.4g} ms in its first window exceeds the SLO "
            f"{opts.slo_ms:g} ms; larger batches are left out")
    elif opts.batch_sizes is None and opts.stop_at_plateau:
        # the fast calls' rate: one window's sustained rate is too noisy to stop on
        quiet = m.throughput_quiet_rps or m.throughput_rps
        if plateau.stalled(quiet) and i + 1 < len(batches):
            note = (f"{device}: throughput stopped growing by batch {bs} (two doublings under "
                f"+{opts.plateau_gain:.0%}); larger batches are left out")
    if note is None and device == "cpu" and i + 1 < len(batches) and m.peak_memory_gib is not None:
        avail = host_available_gib()
        # only what the point added to the process scales with the batch (the
        # runtime, libraries and the caller's own memory do not)
        grown = max(0.0, m.peak_memory_gib - (rss_base or 0.0))
        if avail is not None and grown * (batches[i + 1] / bs - 1) > avail * 0.8:
            note = (f"cpu: batch {batches[i + 1]} would likely exceed free host memory "
                f"({avail:.1f} GiB); memory ceiling at batch {bs}")
    return note


def _measure_first(run: Runner, timer: Timer, memory: MemoryProbe, meter: HostMeter | None, bs: int,
        opts: SweepOptions, busy: float) -> PointResult:
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
        min_span_s=opts.min_span_s,
        max_windows=1 if opts.interleave else None,
        sample_floor_s=opts.sample_floor_s,
        memory=memory,
        meter=meter,
        keep_going=None if opts.interleave else (lambda p: p.contended(opts.contention_ratio, busy)),
    )


def _interleave(
    workload: Workload,
    opts: SweepOptions,
    device: str,
    accelerator: str,
    timer: Timer,
    meter: HostMeter | None,
    kept: list[Kept],
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
    active = [j for j, (_, pt, _) in enumerate(kept) if not pt.settled
        and pt.timed_s < opts.time_budget_s]
    if not active:
        return
    total_s = sum(max(0.0, opts.time_budget_s - kept[j][1].timed_s) for j in active)
    prog.refine_started(device, total_s)
    runners: dict[int, Runner] = {}
    cache = device == "cpu"
    # a call's typical duration (median of the first pass): short calls get an untimed re-warm
    typical = {j: percentile(sorted(kept[j][1].samples_s), 50) * kept[j][1].calls_per_sample
        for j in active}
    last_write = clock()
    order = random.Random(0)

    def publish(js: Sequence[int]) -> None:
        sweep = _sweep_others(kept)  # once per publication, not per point
        for j in js:
            idx, pt, threads = kept[j]
            res.measurements[idx] = to_measurement(pt, device=device, accelerator=accelerator,
                threads=threads, contention_ratio=opts.contention_ratio,
                contention_cpus=_busy_limit(opts, meter, threads), sweep_others=sweep)

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
                    samples, w = measure_window(run, timer, calls=pt.calls_per_sample, window_s=opts.window_s, limit_s=opts.time_budget_s - pt.timed_s, clock=clock, meter=meter)
                    del run
                except KeyboardInterrupt:
                    raise
                except Exception as exc:
                    free_cuda(device)
                    res.notes.append(f"{device}: a window at batch {bs} failed "
                        f"({type(exc).__name__}); every point keeps what was measured before")
                    return
                pt.add_window(samples, w)
                prog.refine_advance(device, w.elapsed_s)
                pt.settled = rule.settled(pt)  # re-read: a contended point goes on measuring
                if ((pt.settled and not _contended(opts, meter, kept, j))
                        or pt.timed_s >= opts.time_budget_s):
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


def describe(point: Measurement) -> str:
    ci = f" +-{point.throughput_ci_rel:.1%}" if point.throughput_ci_rel is not None else ""
    lat, rate = point.latency_ms, figure(point.throughput_rps)  # as the table: never 1.166e+04
    return (f"{point.device} batch {point.batch_size}: p50 {figure(lat.p50)} ms, p99 "
        f"{figure(lat.p99)} ms, {rate}/s{ci} ({point.samples} samples)")
