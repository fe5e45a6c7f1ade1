"""Profiler: real models measured on this CPU (numpy factory, ONNX, torch), stopping rule, stats."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from profile_helpers import build_onnx_mlp, validate_profile_file, write_numpy_factory

from scaleplan.profile.measure import WallTimer, measure_point
from scaleplan.profile.stats import median_ci_rel, percentile, summarize_ms

FAST = ["--device", "cpu", "--time-budget", "0.15", "--min-samples", "5"]


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


def test_stopping_rule_stops_on_tight_ci_after_minimum_time() -> None:
    clk = FakeClock([0.01])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=100.0, min_samples=20, min_time_s=1.0, min_rounds=5, clock=clk.now, warmup_s=0.0)
    # constant timings: the CI is tight at once, but the point still takes 1 s in 5 rounds
    assert len(p.rounds) == 5 and all(len(r) == 20 for r in p.rounds)
    assert sum(p.samples_s) == pytest.approx(1.0, rel=0.02)
    assert p.ci_rel < 1e-9 and p.calls_per_sample == 1
    assert p.throughput() == pytest.approx(100.0)


def test_stopping_rule_stops_on_budget_when_noisy() -> None:
    clk = FakeClock([0.01, 0.05, 0.001, 0.03])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=4, time_budget_s=1.0, min_samples=10, clock=clk.now, warmup_s=0.0)
    assert p.ci_rel > 0.02
    assert 1.0 <= sum(p.samples_s) <= 1.1


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


def test_slow_drift_does_not_stop_before_minimum_rounds() -> None:
    """A quiet burst then a slow drift: the CI of the first 20 samples is 0, but the rule must
    keep going for min_time in min_rounds rounds, and the rounds (which disagree) then keep it
    going to the budget."""
    clk = DriftClock(quiet=40)
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=1, time_budget_s=3.0, min_samples=20, min_time_s=1.0, min_rounds=5, clock=clk.now, warmup_s=0.0)
    assert len(p.samples_s) > 40  # the old rule stopped here, at 20 samples
    assert len(p.rounds) >= 5
    assert sum(p.samples_s) >= 1.0
    assert p.round_ci_rel > 0.02  # the rounds disagree: the drift is visible, not averaged away
    thr = p.round_throughputs()
    assert thr[0] > thr[-1] * 1.5


def test_tiny_calls_are_timed_in_groups() -> None:
    clk = FakeClock([1e-5])  # 10 us per call: grouped 10 per sample to reach the 0.1 ms floor
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=2, time_budget_s=0.5, min_time_s=0.5, clock=clk.now, warmup_s=0.0)
    assert p.calls_per_sample == 10
    assert clk.i >= 10 * len(p.samples_s)
    assert p.samples_s[0] == pytest.approx(1e-5)
    assert p.throughput() == pytest.approx(2 / 1e-5)


def test_throughput_uses_service_time_not_mean() -> None:
    """A few interference spikes (x20) raise the mean but not the 1st-percentile service time."""
    clk = FakeClock([0.002] * 9 + [0.04])
    p = measure_point(clk.run, WallTimer(clk.now), batch_size=8, time_budget_s=1.0, min_time_s=1.0, clock=clk.now, warmup_s=0.0)
    assert p.throughput() == pytest.approx(8 / 0.002)
    mean = sum(p.samples_s) / len(p.samples_s)
    assert 8 / mean < 0.7 * p.throughput()


def test_slices_interleave_the_batch_sizes_after_the_first_pass() -> None:
    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep
    from scaleplan.profile.targets import Workload

    calls: list[int] = []

    def prepare(device: str, bs: int) -> Callable[[], None]:
        def run() -> None:
            calls.append(bs)

        return run

    wl = Workload(name="noop", framework="python", target="t", prepare=prepare)
    opts = SweepOptions(devices=["cpu"], batch_sizes=[1, 2], time_budget_s=0.08, min_time_s=0.04, slice_s=0.005, target_ci=1e-9)
    res = run_sweep(wl, opts, device_info=lambda d: cpu_info())
    assert [m.batch_size for m in res.measurements] == [1, 2]
    # first pass: batch 1 then batch 2; then rounds of one slice per point (shuffled order), so
    # the calls switch between the batch sizes many times
    runs = [(b, len(list(g))) for b, g in itertools.groupby(calls)]
    assert [b for b, _ in runs[:2]] == [1, 2] and len(runs) >= 8
    assert all(m.samples is not None and m.samples >= 10 for m in res.measurements)
    # --slice-ms 0: each point in one go
    one_go = SweepOptions(devices=["cpu"], batch_sizes=[1, 2], time_budget_s=0.08, min_time_s=0.04, slice_s=0.0, target_ci=1e-9)
    calls.clear()
    run_sweep(wl, one_go, device_info=lambda d: cpu_info())
    assert [b for b, _ in itertools.groupby(calls)] == [1, 2]


def test_interleave_runs_each_point_until_it_settles() -> None:
    """A steady point leaves the rotation once its minimum time is in and its CIs are tight; a
    noisy one keeps going to its budget. Both run on one fake clock, so the times are exact."""
    from scaleplan.profile.measure import (
        NullProgress,
        PointResult,
        SweepOptions,
        SweepResult,
        _interleave,
        point_settled,
        to_measurement,
    )
    from scaleplan.profile.targets import Workload

    clk = FakeClock([])
    durations = {1: FakeClock([0.01]), 2: FakeClock([0.01, 0.03, 0.002, 0.02])}

    def prepare(device: str, bs: int) -> Callable[[], None]:
        src = durations[bs]

        def run() -> None:
            clk.t += src.durations[src.i % len(src.durations)]
            src.i += 1

        return run

    def sweep(min_span_s: float) -> tuple[PointResult, PointResult, SweepResult]:
        opts = SweepOptions(devices=["cpu"], time_budget_s=2.0, min_time_s=1.0, min_rounds=5, min_samples=20, slice_s=0.1, target_ci=0.02, min_span_s=min_span_s)
        kept: list[tuple[int, PointResult, int | None]] = []
        res = SweepResult()
        for i, bs in enumerate((1, 2)):
            pt = measure_point(prepare("cpu", bs), WallTimer(clk.now), batch_size=bs, time_budget_s=0.5, min_time_s=0.25, min_rounds=2, min_samples=5, clock=clk.now, warmup_s=0.0)
            kept.append((i, pt, 1))
            res.measurements.append(to_measurement(pt, device="cpu", accelerator="CPU", threads=1))
        assert not point_settled(kept[0][1], opts)  # 0.25-0.5 s of the 1 s minimum time
        wl = Workload(name="fake", framework="python", target="t", prepare=prepare)
        _interleave(wl, opts, "cpu", "CPU", WallTimer(clk.now), kept, res, NullProgress(), None, clock=clk.now)
        assert point_settled(kept[0][1], opts) and point_settled(kept[1][1], opts)
        return kept[0][1], kept[1][1], res

    # a span of 3 s: the steady point goes on past its minimum time until its slices span 3 s
    a, _, _ = sweep(3.0)
    assert a.span_s() >= 3.0 and 1.2 < a.timed_s < 2.0
    a, b, res = sweep(0.0)
    assert 1.0 <= a.timed_s < 1.2  # steady: stopped at the minimum time
    assert b.timed_s >= 2.0  # noisy: ran to the budget
    assert len(a.rounds) >= 5 and a.ci_rel < 1e-9
    assert res.measurements[0].samples == len(a.samples_s) and res.measurements[1].samples == len(b.samples_s)
    assert res.measurements[0].throughput_rps == pytest.approx(100.0)
    # the noisy point's service time is its fast calls (1st percentile), not the mean
    assert res.measurements[1].throughput_rps == pytest.approx(2 / 0.002, rel=0.01)


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
    assert any("exceeds the SLO" in n for n in data["metadata"]["notes"])


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
