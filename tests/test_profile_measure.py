"""Profiler: real models measured on this CPU (numpy factory, ONNX, torch), stopping rule, stats."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from profile_helpers import build_onnx_mlp, validate_profile_file, write_numpy_factory

from scaleplan.profile.point import measure_point
from scaleplan.profile.probes import WallTimer
from scaleplan.profile.stats import median_ci_rel, percentile, summarize_ms
from scaleplan.profile.sustained import to_measurement

FAST = ["--device", "cpu", "--time-budget", "0.15", "--window-ms", "30", "--min-samples", "5"]


def test_percentile_and_median_ci() -> None:
    xs = sorted(float(i) for i in range(1, 101))
    assert percentile(xs, 50) == pytest.approx(50.5)
    assert percentile(xs, 99) == pytest.approx(99.01)
    assert median_ci_rel([5.0] * 50) == 0.0
    wide = median_ci_rel(sorted([1.0, 10.0] * 10))
    assert wide > 0.5
    s = summarize_ms([0.001, 0.002, 0.003])
    assert s["p50"] == pytest.approx(2.0) and s["mean"] == pytest.approx(2.0)


class FakeClock:
    """Deterministic clock: each timed call advances it by the next duration."""

    def __init__(self, durations: list[float]) -> None:
        self.t = 0.0
        self.durations = durations
        self.i = 0

    def now(self) -> float:
        return self.t

    def run(self) -> None:
        self.t += self.durations[self.i % len(self.durations)]
        self.i += 1


def test_stopping_rule_stops_once_windows_agree() -> None:
    clk = FakeClock([0.01])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=100.0, window_s=0.5, stable_windows=3, stability=0.1, target_ci=0.05, min_samples=20, clock=clk.now, warmup_s=0.0)
    # constant calls: three windows of 0.5 s agree at once (CI 0); the point stops there
    assert len(p.windows) == 3 and p.settled
    assert p.timed_s == pytest.approx(1.5, rel=0.05)
    assert p.throughput_ci_rel() < 1e-9 and p.calls_per_sample == 1
    assert p.throughput() == pytest.approx(100.0) and p.quiet_throughput() == pytest.approx(100.0)
    assert not p.contended(1.5)


class PhaseClock(FakeClock):
    """A host whose speed moves in phases: calls take 10 ms for the first 2.5 s of each 5 s,
    14 ms for the rest (a VM's neighbours, CPU frequency)."""

    def run(self) -> None:
        self.t += 0.010 if self.t % 5.0 < 2.5 else 0.014


def test_a_lone_point_does_not_settle_inside_one_fast_phase() -> None:
    # three back-to-back 0.5 s windows agree inside the first (fast) phase: without a span the
    # point stops there and reports the fast phase as what the host sustains
    clk = PhaseClock([])
    quick = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=6.0, window_s=0.5, min_span_s=0.0, clock=clk.now, warmup_s=0.0)
    assert quick.settled and len(quick.windows) == 3 and quick.throughput() == pytest.approx(100.0, rel=0.01)
    # with the default span (5 s) the windows must see both phases: the rate falls towards the
    # host's average (about 83/s) and the CI shows the phases, so the point runs to its budget
    clk = PhaseClock([])
    spanned = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=6.0, window_s=0.5, min_span_s=5.0, clock=clk.now, warmup_s=0.0)
    assert not spanned.settled and spanned.span_s() >= 5.0
    assert spanned.throughput() < 90.0 and spanned.throughput_ci_rel() > 0.05


def test_the_span_counts_the_gaps_between_interleaved_windows() -> None:
    from scaleplan.profile.sustained import PointResult, StopRule, Window

    p = PointResult(batch_size=1)
    for end in (1.0, 4.0, 7.0):  # three 0.5 s windows of one point, 3 s apart (the sweep between)
        p.add_window([0.01] * 50, Window(calls=50, elapsed_s=0.5, end_s=end))
    assert p.span_s() == pytest.approx(6.5)
    assert StopRule(time_budget_s=6.0, min_span_s=5.0).settled(p)
    assert not StopRule(time_budget_s=6.0, min_span_s=7.0).settled(p)


class DriftClock(FakeClock):
    """Calls take 1 ms for the first ``quiet`` calls, then each one 0.2 % longer than the last."""

    def __init__(self, quiet: int) -> None:
        super().__init__([])
        self.quiet = quiet
        self.d = 0.001

    def run(self) -> None:
        if self.i >= self.quiet:
            self.d *= 1.002
        self.t += self.d
        self.i += 1


def test_drift_never_settles_and_runs_to_the_budget() -> None:
    """A quiet burst then a slow drift: the windows disagree, so the point runs to its budget,
    is marked unstable, and its CI says how far apart the windows were."""
    clk = DriftClock(quiet=40)
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=3.0, window_s=0.25, clock=clk.now, warmup_s=0.0)
    assert not p.settled and p.timed_s >= 3.0 and len(p.windows) >= 10
    rates = p.window_rates()
    assert rates[0] > rates[-1] * 1.5  # the drift is visible, not averaged away
    assert p.throughput_ci_rel() > 0.05
    # sustained = all calls over all elapsed time, between the first and the last window's rate
    assert rates[-1] < p.throughput() < rates[0]
    assert p.throughput() == pytest.approx(len(p.samples_s) / p.timed_s)


def test_window_stability_threshold() -> None:
    from scaleplan.profile.sustained import windows_agree

    assert windows_agree([100, 104, 96], 3, 0.05)
    assert not windows_agree([100, 112, 96], 3, 0.05)
    assert windows_agree([50, 100, 104, 96], 3, 0.05)  # only the last three count
    assert not windows_agree([100, 100], 3, 0.5)


def test_tiny_calls_are_timed_in_groups() -> None:
    clk = FakeClock([1e-5])  # 10 us per call: grouped 10 per sample to reach the 0.1 ms floor
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=2, time_budget_s=0.5, window_s=0.1, clock=clk.now, warmup_s=0.0)
    assert p.calls_per_sample == 10
    assert clk.i >= 10 * len(p.samples_s)
    assert sum(w.calls for w in p.windows) == 10 * len(p.samples_s)
    assert p.samples_s[0] == pytest.approx(1e-5)
    assert p.throughput() == pytest.approx(2 / 1e-5)


def test_sustained_throughput_counts_the_slow_calls() -> None:
    """Interference spikes (x20 on one call in ten) cost real time: the sustained rate is
    batch / mean call time; the quiet rate (fast calls) is kept apart, and the gap marks the
    point as contended."""
    clk = FakeClock([0.002] * 9 + [0.04])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=8, time_budget_s=2.0, window_s=0.2, clock=clk.now, warmup_s=0.0)
    mean = sum(p.samples_s) / len(p.samples_s)
    assert p.throughput() == pytest.approx(8 / mean, rel=1e-6)
    assert p.quiet_throughput() == pytest.approx(8 / 0.002)
    assert p.median_over_fast() == pytest.approx(1.0)
    assert p.slowdown() == pytest.approx(0.0058 / 0.002, rel=0.02) and p.contended(1.5)
    m = to_measurement(p, device="cpu", accelerator="CPU", threads=1)
    assert m.throughput_rps == pytest.approx(8 / 0.0058, rel=0.01) and m.throughput_quiet_rps == pytest.approx(4000)
    assert m.contended and m.stable and m.windows == len(p.windows)


def test_bimodal_calls_are_contended_by_the_median() -> None:
    clk = FakeClock([0.001, 0.003, 0.003])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=1.0, window_s=0.1, clock=clk.now, warmup_s=0.0)
    assert p.median_over_fast() == pytest.approx(3.0)
    assert p.contended(1.5) and not p.contended(3.5)


def test_windows_interleave_the_batch_sizes_after_the_first_pass() -> None:
    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep
    from scaleplan.profile.targets import Workload

    calls: list[int] = []

    def prepare(device: str, bs: int) -> Callable[[], None]:
        def run() -> None:
            calls.append(bs)

        return run

    wl = Workload(name="noop", framework="python", target="t", prepare=prepare)
    # a budget of 0.4 s (80 windows of 5 ms) keeps the window counts above the asserted floor
    # even when a loaded host delays the first pass by tenths of a second
    opts = SweepOptions(devices=["cpu"], batch_sizes=[1, 2], time_budget_s=0.4, window_s=0.005, target_ci=1e-9)
    res = run_sweep(wl, opts, device_info=lambda d: cpu_info())
    assert [m.batch_size for m in res.measurements] == [1, 2]
    # first pass: batch 1 then batch 2, one window each; then rounds of one window per point
    # (shuffled order), so the calls switch between the batch sizes many times
    runs = [(b, len(list(g))) for b, g in itertools.groupby(calls)]
    assert [b for b, _ in runs[:2]] == [1, 2] and len(runs) >= 8
    assert all(m.windows is not None and m.windows >= 4 and m.samples is not None and m.samples >= 10 for m in res.measurements)
    # a CI of 1e-9 can't be met: both points ran to the budget, unstable, with a note each
    assert all(m.stable is False for m in res.measurements)
    assert sum("unstable" in n for n in res.notes) == 2
    # --no-interleave: each point in one go
    one_go = SweepOptions(devices=["cpu"], batch_sizes=[1, 2], time_budget_s=0.4, window_s=0.005, target_ci=1e-9, interleave=False)
    calls.clear()
    run_sweep(wl, one_go, device_info=lambda d: cpu_info())
    assert [b for b, _ in itertools.groupby(calls)] == [1, 2]


def test_interleave_runs_each_point_until_it_settles() -> None:
    """A steady point leaves the rotation once 3 windows agree; a drifting one keeps going to
    its budget. Both run on one fake clock, so the times are exact."""
    from scaleplan.profile.measure import (
        NullProgress,
        SweepOptions,
        SweepResult,
        _interleave,
    )
    from scaleplan.profile.sustained import PointResult
    from scaleplan.profile.targets import Workload

    clk = FakeClock([])
    steady = FakeClock([0.01])
    drift = {"d": 0.01}

    def prepare(device: str, bs: int) -> Callable[[], None]:
        def run() -> None:
            if bs == 1:
                clk.t += steady.durations[0]
            else:
                drift["d"] *= 1.01
                clk.t += drift["d"]

        return run

    # min_span_s=0: this test is about the stopping rule's windows, not the span (tested below)
    opts = SweepOptions(devices=["cpu"], time_budget_s=4.0, window_s=0.25, stable_windows=3, stability=0.1, target_ci=0.05, min_samples=20, min_span_s=0.0)
    kept: list[tuple[int, PointResult, int | None]] = []
    res = SweepResult()
    for i, bs in enumerate((1, 2)):
        pt = measure_point(prepare("cpu", bs), WallTimer(clk.now), batch_size=bs, time_budget_s=4.0, window_s=0.25, max_windows=1, clock=clk.now, warmup_s=0.0)
        assert len(pt.windows) == 1 and not pt.settled
        kept.append((i, pt, 1))
        res.measurements.append(to_measurement(pt, device="cpu", accelerator="CPU", threads=1))
    wl = Workload(name="fake", framework="python", target="t", prepare=prepare)
    _interleave(wl, opts, "cpu", "CPU", WallTimer(clk.now), None, kept, res, NullProgress(), None, clock=clk.now)
    a, b = kept[0][1], kept[1][1]
    assert a.settled and len(a.windows) == 3 and a.timed_s < 1.0  # steady: stopped at 3 windows
    assert not b.settled and b.timed_s >= 4.0  # drifting: ran to the budget
    m1, m2 = res.measurements
    assert m1.stable and m1.windows == 3 and m1.throughput_rps == pytest.approx(100.0) and m1.throughput_ci_rel == 0
    assert m2.stable is False and m2.samples == len(b.samples_s) and (m2.throughput_ci_rel or 0) > 0.05


def test_verdict_statuses_and_falling_throughput() -> None:
    from scaleplan.profile.build import make_profile
    from scaleplan.profile.model import Measurement, Percentiles
    from scaleplan.profile.verdict import profile_verdict

    def m(bs: int, thr: float, ci: float, stable: bool = True, contended: bool = False) -> Measurement:
        return Measurement(device="cpu", accelerator="CPU", batch_size=bs, latency_ms=Percentiles(p50=1, p90=1, p95=1, p99=1), throughput_rps=thr, throughput_quiet_rps=thr * (2 if contended else 1.05), throughput_ci_rel=ci, windows=5, stable=stable, median_over_fast=1.1, contended=contended)

    prof = make_profile(model="x", measurements=[m(1, 100, 0.02), m(2, 190, 0.08), m(4, 300, 0.2, stable=False), m(8, 240, 0.03, contended=True), m(16, 100, 0.01)])
    v = profile_verdict(prof, 0.05)
    assert [p.status for p in v.points] == ["ok", "wide", "unstable", "contended", "ok"]
    assert not v.ok
    # 8 -> 16 falls beyond both CIs; 4 -> 8 does not (batch 4's CI is +-20 %)
    assert [(f.small, f.large) for f in v.falling] == [(8, 16)]
    text = "\n".join(v.lines())
    assert text.startswith("verdict: 2 of 5 points ok") and "1 contended" in text and "falls from batch 8" in text
    assert all(len(line) <= 80 for line in v.lines())
    ok = profile_verdict(make_profile(model="x", measurements=[m(1, 100, 0.02), m(2, 190, 0.03)]), 0.05)
    assert ok.ok and not ok.falling and ok.to_json()["ok"] is True


def test_numpy_factory_profile(tmp_path: Path, cli) -> None:
    target = write_numpy_factory(tmp_path / "npmodel.py")
    out = tmp_path / "p.yaml"
    cli(["profile", target, *FAST, "--batch-sizes", "1,4", "--out", str(out)])
    data = validate_profile_file(out)
    ms = data["measurements"]
    assert [m["batch_size"] for m in ms] == [1, 4]
    for m in ms:
        assert m["accelerator"] == "CPU" and m["source"] == "measured" and m["device"] == "cpu"
        assert m["threads"] >= 1 and m["samples"] >= 3
        assert m["latency_ms"]["p50"] <= m["latency_ms"]["p99"]
        assert m["throughput_rps"] > 0 and m["peak_memory_gib"] > 0
    meta = data["metadata"]
    assert meta["devices"][0]["accelerator"] == "CPU"
    assert meta["scaleplan_version"] and meta["host"] and meta["created"] and "numpy" in meta["frameworks"]
    assert meta["command"].startswith("scaleplan profile ") and "--batch-sizes 1,4" in meta["command"]


def test_onnx_profile(tmp_path: Path, cli) -> None:
    model = build_onnx_mlp(tmp_path / "mlp.onnx")
    out = tmp_path / "onnx.yaml"
    cli(["profile", str(model), *FAST, "--batch-sizes", "1,8", "--threads", "1", "--out", str(out)])
    data = validate_profile_file(out)
    assert [m["batch_size"] for m in data["measurements"]] == [1, 8]
    assert all(m["threads"] == 1 for m in data["measurements"])
    assert data["metadata"]["input_shape"] == "32" and data["metadata"]["dtype"] == "float32"
    assert data["metadata"]["weights_gib"] > 0 and "onnxruntime" in data["metadata"]["frameworks"]


def test_onnx_fixed_batch_axis(tmp_path: Path, cli) -> None:
    model = build_onnx_mlp(tmp_path / "fixed.onnx", dynamic_batch=False)
    out = tmp_path / "f.yaml"
    cli(["profile", str(model), *FAST, "--batch-sizes", "1,2", "--out", str(out)])
    data = yaml.safe_load(out.read_text())
    assert [m["batch_size"] for m in data["measurements"]] == [4]
    assert any("fixed at 4" in n for n in data["metadata"]["notes"])


@pytest.mark.torch
def test_torch_module_and_torchscript(tmp_path: Path, cli) -> None:
    import torch  # a dev dependency (torch==2.13.0): missing torch fails here rather than skipping

    (tmp_path / "tmod.py").write_text(
        "import torch\n"
        "def factory():\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))\n",
        encoding="utf-8",
    )
    out = tmp_path / "t.yaml"
    cli(["profile", f"{tmp_path / 'tmod.py'}:factory", *FAST, "--batch-sizes", "1,2", "--input-shape", "3x16x16", "--dtype", "float32", "--out", str(out)])
    data = validate_profile_file(out)
    assert data["metadata"]["input_shape"] == "3x16x16" and data["metadata"]["flops_per_sample"] > 0
    assert "torch" in data["metadata"]["frameworks"]
    # the same model as TorchScript
    mod = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU())
    ts = tmp_path / "m.pt"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript
        torch.jit.save(torch.jit.script(mod), str(ts))
    out2 = tmp_path / "ts.yaml"
    cli(["profile", str(ts), *FAST, "--batch-sizes", "2", "--input-shape", "16", "--out", str(out2)])
    assert validate_profile_file(out2)["measurements"][0]["batch_size"] == 2
    # and torch.export (.pt2): the input shape comes from the exported graph
    ep = torch.export.export(mod, (torch.randn(1, 16),))
    pt2 = tmp_path / "m.pt2"
    torch.export.save(ep, str(pt2))
    out3 = tmp_path / "ep.yaml"
    cli(["profile", str(pt2), *FAST, "--batch-sizes", "1", "--out", str(out3)])
    assert validate_profile_file(out3)["metadata"]["input_shape"] == "16"


@pytest.mark.torch
def test_torch_module_needs_input_shape(tmp_path: Path, cli) -> None:
    import torch  # noqa: F401  (dev dependency; must not skip)
    (tmp_path / "tm.py").write_text("import torch\ndef factory():\n    return torch.nn.Linear(4, 4)\n", encoding="utf-8")
    r = cli(["profile", f"{tmp_path / 'tm.py'}:factory", *FAST], exit_code=3)
    assert "--input-shape" in r.stderr and "Traceback" not in r.stderr


def test_default_sweep_stops_at_slo(tmp_path: Path, cli) -> None:
    write_numpy_factory(tmp_path / "m.py")
    out = tmp_path / "slo.yaml"
    cli(["profile", f"{tmp_path / 'm.py'}:slow", *FAST, "--max-batch", "8", "--slo-ms", "10", "--out", str(out)])
    data = yaml.safe_load(out.read_text())
    assert [m["batch_size"] for m in data["measurements"]] == [1]  # 50 ms > 10 ms SLO: stop
    # UX trial 35: the note's p99 is the first window's, the table's pools all windows
    assert any("ms in its first window exceeds the SLO" in n for n in data["metadata"]["notes"])


def test_profile_to_stdout_is_yaml(tmp_path: Path, cli) -> None:
    target = write_numpy_factory(tmp_path / "m.py")
    r = cli(["profile", target, *FAST, "--batch-sizes", "2"])
    data = yaml.safe_load(r.stdout)
    assert data["kind"] == "Profile" and data["measurements"][0]["batch_size"] == 2
    rj = cli(["profile", target, *FAST, "--batch-sizes", "2", "--json"])
    import json

    assert json.loads(rj.stdout)["measurements"][0]["batch_size"] == 2


def test_oom_marks_ceiling(tmp_path: Path) -> None:
    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep
    from scaleplan.profile.targets import fn_workload

    def make_batch(bs: int) -> tuple[int]:
        if bs >= 4:
            raise MemoryError("cannot allocate")
        return (bs,)

    wl = fn_workload(lambda n: n * 2, make_batch, name="oom", target="t:oom", dtype=None)
    res = run_sweep(wl, SweepOptions(devices=["cpu"], batch_sizes=[1, 2, 4, 8], time_budget_s=0.05, min_samples=3), device_info=lambda d: cpu_info())
    assert [m.batch_size for m in res.measurements] == [1, 2]
    assert any("out of memory at batch 4; batch ceiling 2" in n for n in res.notes)
    assert not res.interrupted and all(math.isfinite(m.throughput_rps) for m in res.measurements)


def test_verdict_on_the_terminal_and_strict_exit(tmp_path: Path, cli) -> None:
    """A real factory whose calls are bimodal (1 ms, then 4 ms twice): the median call is ~4x
    the fast ones, so every point is contended; the verdict says so on stderr, and --strict
    exits 5 with the profile still written."""
    (tmp_path / "bimodal.py").write_text(
        "import time\n"
        "def factory():\n"
        "    n = [0]\n"
        "    def fn(x):\n"
        "        n[0] += 1\n"
        "        time.sleep(0.001 if n[0] % 3 == 0 else 0.004)\n"
        "        return x\n"
        "    return fn, lambda bs: (bs,)\n",
        encoding="utf-8",
    )
    target = f"{tmp_path / 'bimodal.py'}:factory"
    out = tmp_path / "b.yaml"
    args = ["profile", target, "--device", "cpu", "--batch-sizes", "1,2", "--time-budget", "0.4", "--window-ms", "60", "--out", str(out)]
    r = cli(args)
    assert "verdict: 0 of 2 points ok" in r.stderr and "contended" in r.stderr
    data = validate_profile_file(out)
    for m in data["measurements"]:
        assert m["contended"] is True and m["median_over_fast"] > 2
        assert m["throughput_quiet_rps"] > m["throughput_rps"]
    r = cli([*args, "--strict"], exit_code=5)
    assert "--strict" in r.stderr and validate_profile_file(out)["measurements"]
    rj = cli([*args, "--json"])
    import json

    assert json.loads(rj.stdout)["verdict"]["ok"] is False


def test_threads_reach_numpy_blas(tmp_path: Path, cli) -> None:
    """--threads limits the BLAS pools numpy calls into (threadpoolctl), not only torch's."""
    seen = tmp_path / "seen.txt"
    (tmp_path / "blas.py").write_text(
        "import numpy as np\n"
        "from threadpoolctl import threadpool_info\n"
        "def factory():\n"
        "    w = np.ones((64, 64), dtype='float32')\n"
        "    def fn(x):\n"
        f"        with open({str(seen)!r}, 'a') as fh:\n"
        "            fh.write(' '.join(str(p['num_threads']) for p in threadpool_info() if p['user_api'] == 'blas') + '\\n')\n"
        "        return x @ w\n"
        "    return fn, lambda bs: (np.ones((bs, 64), dtype='float32'),)\n",
        encoding="utf-8",
    )
    cli(["profile", f"{tmp_path / 'blas.py'}:factory", *FAST, "--batch-sizes", "1", "--threads", "1", "--out", str(tmp_path / "t.yaml")])
    lines = [ln.split() for ln in seen.read_text().splitlines()]
    assert lines and all(ln for ln in lines)  # numpy's BLAS was seen in every call
    assert {n for ln in lines for n in ln} == {"1"}


@pytest.mark.torch
def test_pt2_exported_with_a_fixed_batch_measures_that_batch(tmp_path: Path, cli) -> None:
    """A .pt2 exported without a batch Dim holds a graph for batch 1 only: ``--batch-sizes 1,4``
    measured 1, then failed at 4 with torch's 'Guard failed: x.size()[0] == 1' in a note
    (and ``--batch-sizes 4`` alone exited 3 with it). As for an ONNX graph with a fixed batch
    axis, only that batch is measured, and the note says why; a dynamic Dim measures both."""
    import torch

    mod = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU())
    static = tmp_path / "static.pt2"
    torch.export.save(torch.export.export(mod, (torch.randn(1, 16),)), str(static))
    out = tmp_path / "s.yaml"
    cli(["profile", str(static), *FAST, "--batch-sizes", "1,4", "--out", str(out)])
    data = validate_profile_file(out)
    assert [m["batch_size"] for m in data["measurements"]] == [1]
    assert any("batch axis is fixed at 1" in n for n in data["metadata"]["notes"])
    assert not any("Guard failed" in n for n in data["metadata"]["notes"])
    dyn = tmp_path / "dyn.pt2"
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(mod, (torch.randn(2, 16),), dynamic_shapes=({0: batch},))
    torch.export.save(ep, str(dyn))
    cli(["profile", str(dyn), *FAST, "--batch-sizes", "1,4", "--out", str(out)])
    data = validate_profile_file(out)
    assert [m["batch_size"] for m in data["measurements"]] == [1, 4]
    assert data["metadata"]["input_shape"] == "16"


@pytest.mark.torch
def test_a_model_file_refusing_its_inputs_is_not_told_of_a_factory(tmp_path: Path, cli) -> None:
    """A .pt2 fed another per-sample shape than it was exported with fails at its first batch
    (exit 3): the hint said "check the factory's inputs" to a user who has no factory."""
    import torch

    mod = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU())
    pt2 = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(mod, (torch.randn(1, 16),)), str(pt2))
    r = cli(["profile", str(pt2), *FAST, "--batch-sizes", "1", "--input-shape", "8"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "factory" not in said and "--input-shape" in said and "Traceback" not in said
