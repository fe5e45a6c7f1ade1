"""Contention the profile cannot see in its own timings: the CPU the rest of the host takes.

The host meter reads /proc/stat (a fake one for the arithmetic, the real one beside a real
spinning process); a point whose neighbours kept CPUs busy is contended, and its interval is the
spread of one window (a prediction interval), not the CI of the windows' mean."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scaleplan.profile.measure import NullProgress
from scaleplan.profile.model import Measurement
from scaleplan.profile.point import measure_point, measure_window
from scaleplan.profile.probes import HostMeter, WallTimer
from scaleplan.profile.stats import mean_ci_rel, prediction_rel
from scaleplan.profile.sustained import (
    PointResult,
    StopRule,
    Window,
    busy_limit,
    point_notes,
    to_measurement,
)
from scaleplan.profile.verdict import profile_verdict

STAT = "cpu  {user} 0 {system} 9000 10 0 0 {steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def _stat(path: Path, user: int, system: int, steal: int) -> None:
    path.write_text(STAT.format(user=user, system=system, steal=steal), encoding="ascii")


def test_host_meter_reads_busy_time_with_steal_and_own_cpu(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    _stat(stat, 100, 50, 25)
    meter = HostMeter(str(stat))
    assert meter.cpus == 1  # one cpuN line
    first = meter.read()
    assert first is not None and first[0] == pytest.approx(175 * meter.tick_s)
    assert 0 <= first[1] <= time.process_time()
    _stat(stat, 400, 50, 75)  # 350 more ticks busy, steal (other guests) included
    second = meter.read()
    assert second is not None and second[0] - first[0] == pytest.approx(350 * meter.tick_s)


def test_the_busy_limit_is_a_share_of_the_cpus_the_point_leaves() -> None:
    assert busy_limit(2, 1) == pytest.approx(0.25)  # this VM: a quarter of the other core
    assert busy_limit(64, 1) == pytest.approx(15.75)  # a big node's other pods
    assert busy_limit(2, 4) == busy_limit(None, None) == pytest.approx(0.25)  # at least one CPU
    assert busy_limit(16, 8, share=0.5) == pytest.approx(4.0)


@pytest.mark.parametrize("text", ["", "intr 1 2 3\n", "cpu 1 2 x 4 5 6 7 8\n", "cpu 1 2\n"])
def test_host_meter_is_none_where_it_cannot_read(tmp_path: Path, text: str) -> None:
    stat = tmp_path / "stat"
    stat.write_text(text, encoding="ascii")
    assert HostMeter(str(stat)).read() is None
    assert HostMeter(str(tmp_path / "absent")).read() is None


def _point(rates: list[float], others: list[float | None]) -> PointResult:
    p = PointResult(batch_size=1)
    t = 0.0
    for r, o in zip(rates, others, strict=True):
        t += 1.0
        w = Window(calls=int(r), elapsed_s=1.0, end_s=t, others_cpu_s=o)
        p.add_window([1.0 / r] * int(r), w)
    return p


def test_busy_neighbours_make_a_point_contended_and_widen_its_interval() -> None:
    rates = [1000.0, 900.0, 1100.0, 950.0, 1050.0]
    quiet = _point(rates, [0.01] * 5)
    busy = _point(rates, [0.9, 0.1, 0.8, 0.7, 0.0])
    assert quiet.others_cpus() == pytest.approx(0.01) and busy.others_cpus() == pytest.approx(0.5)
    assert not quiet.contended(1.5) and busy.contended(1.5)
    assert not busy.contended(1.5, busy_limit=0.6)
    ci, pi = mean_ci_rel(rates), prediction_rel(rates)
    assert pi == pytest.approx(ci * math.sqrt(6)) and pi > 2 * ci
    mq = to_measurement(quiet, device="cpu", accelerator="CPU", threads=1)
    mb = to_measurement(busy, device="cpu", accelerator="CPU", threads=1)
    assert not mq.contended and mq.others_cpus == 0.01
    assert mq.throughput_ci_rel == pytest.approx(ci, rel=1e-2)
    assert mb.contended and mb.others_cpus == 0.5
    assert mb.throughput_ci_rel == pytest.approx(pi, rel=1e-2)
    # every window of the contended point is inside its interval; the quiet CI misses some
    half_b = mb.throughput_ci_rel * mb.throughput_rps
    half_q = (mq.throughput_ci_rel or 0) * mq.throughput_rps
    assert all(abs(r - mb.throughput_rps) <= half_b for r in rates)
    assert any(abs(r - mq.throughput_rps) > half_q for r in rates)
    note = " ".join(point_notes("cpu", busy, _rule(), 1.5))
    assert "other processes kept 0.50 CPUs busy" in note and "spread of one window" in note
    assert not any("contended" in n for n in point_notes("cpu", quiet, _rule(), 1.5))


def _rule() -> StopRule:
    return StopRule(time_budget_s=5.0, min_span_s=0.0)


def test_unknown_host_time_is_not_contention() -> None:
    p = _point([1000.0, 1010.0, 990.0], [None, None, None])
    assert p.others_cpus() is None and not p.contended(1.5)
    assert to_measurement(p, device="cpu", accelerator="CPU", threads=1).others_cpus is None


def test_the_verdict_names_the_neighbours() -> None:
    from scaleplan.profile.build import make_profile

    p = _point([1000.0, 900.0, 1100.0], [0.9, 0.9, 0.9])
    m = to_measurement(p, device="cpu", accelerator="CPU", threads=1)
    v = profile_verdict(make_profile(model="x", measurements=[m]), 0.05)
    lines = v.lines()
    assert any("contended" in ln and "others 0.90 CPUs" in ln for ln in lines), lines
    assert all(len(ln) <= 80 for ln in lines), lines
    assert v.to_json()["points"][0]["others_cpus"] == 0.9  # type: ignore[index]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the meter reads Linux's /proc/stat")
def test_a_real_spinning_neighbour_shows_in_the_host_meter() -> None:
    """A real process spinning beside a window: the meter sees about a CPU of other work, and
    none of the window's own (sleeping) time."""
    code = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    spin = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        nap = lambda: time.sleep(0.01)  # noqa: E731
        meter = HostMeter()
        _, w = measure_window(nap, WallTimer(), calls=1, window_s=1.5, limit_s=5.0, meter=meter)
    finally:
        spin.kill()
        spin.wait()
    assert w.others_cpu_s is not None
    # the neighbour alone is ~1 CPU for 1.5 s; a shared 2-core host may deschedule it a while
    assert w.others_cpu_s / w.elapsed_s >= 0.5


class FakeMeter(HostMeter):
    """A host whose other processes spend ``per_window`` CPU seconds during every window."""

    def __init__(self, per_window: float) -> None:
        super().__init__("/nonexistent")
        self.cpus = 2
        self.busy = 0.0
        self.per_window = per_window
        self.reads = 0

    def read(self) -> tuple[float, float] | None:
        self.reads += 1
        if self.reads % 2 == 0:  # the read after a window
            self.busy += self.per_window
        return self.busy, 0.0


def _steady_sweep(per_window: float) -> tuple[PointResult, Measurement, list[str]]:
    """One steady point (10 ms calls on a fake clock) through the first pass and the
    interleaved windows, beside a neighbour that spends ``per_window`` CPU s per window."""
    from scaleplan.profile.measure import SweepOptions, SweepResult, _interleave
    from scaleplan.profile.targets import Workload

    t = {"now": 0.0}

    def now() -> float:
        return t["now"]

    def prepare(device: str, bs: int) -> Callable[[], None]:
        def run() -> None:
            t["now"] += 0.01

        return run

    meter = FakeMeter(per_window)
    opts = SweepOptions(devices=["cpu"], time_budget_s=4.0, window_s=0.25, min_span_s=0.0)
    timer = WallTimer(now)
    pt = measure_point(
        prepare("cpu", 1), timer, batch_size=1, time_budget_s=4.0, window_s=0.25,
        max_windows=1, clock=now, warmup_s=0.0, meter=meter,
    )
    kept: list[tuple[int, PointResult, int | None]] = [(0, pt, 1)]
    res = SweepResult(measurements=[to_measurement(pt, device="cpu", accelerator="CPU", threads=1)])
    wl = Workload(name="fake", framework="python", target="t", prepare=prepare)
    _interleave(wl, opts, "cpu", "CPU", timer, meter, kept, res, NullProgress(), None, clock=now)
    notes = point_notes("cpu", pt, opts.rule(), 1.5, busy_limit(2, 1), pt.others_cpus())
    return pt, res.measurements[0], notes


def test_a_contended_sweep_measures_its_whole_budget() -> None:
    """Steady windows agree after three; on a quiet host the point stops there, beside a busy
    neighbour it goes on to its budget (its windows might agree inside a lull) and says why."""
    quiet_pt, quiet, quiet_notes = _steady_sweep(0.0)
    assert len(quiet_pt.windows) == 3 and quiet.stable and not quiet.contended
    assert quiet.others_cpus == 0.0 and not quiet_notes
    busy_pt, busy, notes = _steady_sweep(0.2)  # 0.2 CPU s per 0.25 s window: 0.8 CPUs
    assert busy_pt.timed_s >= 4.0 and len(busy_pt.windows) >= 15
    assert busy.contended and busy.stable and busy.others_cpus == 0.8
    assert any("contended" in n and "measures for its whole budget" in n for n in notes)
    assert not any("unstable" in n for n in notes)


def test_without_interleaving_a_contended_point_measures_its_whole_budget() -> None:
    """``--no-interleave``: measure_point goes on past agreeing windows while keep_going says
    the point is contended (its own windows: the sweep's contention is not known yet)."""
    t = {"now": 0.0}

    def now() -> float:
        return t["now"]

    def run() -> None:
        t["now"] += 0.01

    def point(per_window: float) -> PointResult:
        t["now"] = 0.0
        return measure_point(
            run, WallTimer(now), batch_size=1, time_budget_s=3.0, window_s=0.25, clock=now,
            warmup_s=0.0, meter=FakeMeter(per_window),
            keep_going=lambda p: p.contended(1.5, busy_limit(2, 1)),
        )

    quiet, busy = point(0.0), point(0.2)
    assert quiet.settled and len(quiet.windows) == 3
    assert busy.settled and busy.timed_s >= 3.0 and len(busy.windows) >= 11
