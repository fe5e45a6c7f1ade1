"""What differs per device when a point is measured: the timer, the memory probe and the host.

The measurement loop (:mod:`scaleplan.profile.point`) is one code path for every device; it is
handed a :class:`Timer` (wall clock on the CPU; CUDA events with a synchronize on GPUs) and a
:class:`MemoryProbe` (peak RSS on the CPU; torch's peak allocated bytes on GPUs), chosen here by
:func:`timer_for` and :func:`memory_for`. Also here: the host's memory readings (for the memory
ceiling), the thread count of a CPU point, ``--threads`` for the BLAS libraries, and freeing the
CUDA cache after a point.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import Protocol

from scaleplan.profile.targets import Runner, Workload

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


def _proc_gib(path: str, key: str) -> float | None:
    """The ``key:`` line of a /proc file in kB (``/proc/self/status``, ``/proc/meminfo``), in
    GiB; None when the file cannot be read or has no such line."""
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024 / 2**30
    except OSError:
        pass
    return None


class HostRssProbe:
    """Peak resident set size of this process (VmHWM), reset per point via /proc/self/clear_refs."""

    def reset(self) -> None:
        with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")

    def peak_gib(self) -> float | None:
        peak = _proc_gib("/proc/self/status", "VmHWM:")
        if peak is not None:
            return peak
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
    return _proc_gib("/proc/self/status", "VmRSS:")


def host_available_gib() -> float | None:
    return _proc_gib("/proc/meminfo", "MemAvailable:")


class HostMeter:
    """CPU seconds the rest of the host spends: the busy time in /proc/stat (user, nice, system,
    irq, softirq and steal, the time a hypervisor gave to other guests) minus this process's own
    CPU time (every thread of it). Linux only: :meth:`read` is None where /proc/stat is absent.

    A noisy neighbour on a shared host need not slow each call past the contention ratio (on a
    two-core VM a spinning neighbour leaves the profile its own core, and still moves its rate by
    10-25 % through shared caches, memory bandwidth and clocks); what it cannot hide is the CPU
    time it takes."""

    def __init__(self, stat_path: str = "/proc/stat") -> None:
        self.stat_path = stat_path
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.tick_s = 1.0 / tick if tick > 0 else 0.01
        # the CPUs /proc/stat's busy time is summed over
        self.cpus = self._count_cpus() or os.cpu_count() or 1

    def _count_cpus(self) -> int:
        try:
            with open(self.stat_path, encoding="ascii", errors="replace") as fh:
                return sum(1 for line in fh if line.startswith("cpu") and line[3:4].isdigit())
        except OSError:
            return 0

    def read(self) -> tuple[float, float] | None:
        """(the host's busy CPU seconds so far, this process's CPU seconds so far), or None."""
        try:
            with open(self.stat_path, encoding="ascii", errors="replace") as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        if len(fields) < 9 or fields[0] != "cpu":
            return None
        try:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
        except ValueError:
            return None
        return (user + nice + system + irq + softirq + steal) * self.tick_s, time.process_time()


def timer_for(device: str, workload: Workload) -> Timer:
    if device != "cpu" and workload.uses_torch_cuda:
        return CudaEventTimer(device)
    return WallTimer()


def memory_for(device: str, workload: Workload) -> MemoryProbe:
    if device != "cpu" and workload.uses_torch_cuda:
        return CudaMemoryProbe(device)
    return HostRssProbe()


def free_cuda(device: str) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and device != "cpu":
        with contextlib.suppress(Exception):
            torch.cuda.empty_cache()


def cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def blas_threads(threads: int | None) -> contextlib.AbstractContextManager[object]:
    """``--threads`` for the BLAS / OpenMP libraries loaded in this process (numpy's OpenBLAS,
    MKL, torch's OpenMP), through threadpoolctl; nothing when ``threads`` is None."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    limits: contextlib.AbstractContextManager[object] = threadpool_limits(limits=threads)
    return limits
