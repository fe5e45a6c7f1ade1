"""Issue 19, groups 1, 9 and 10: every number that enters is finite, in a documented range, and
never a YAML boolean; nothing sends the solver or the queueing model into a wrong "optimal"
or a hang (docs/hardening.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hardening_helpers import assert_exit, example_copy, run, sub

from scaleplan.solve.queueing import erlang_c


def test_hourly_rps_beyond_peak_bound_is_refused(tmp_path: Path, cli) -> None:
    """1e10 requests/s in one hour gave exit 0, status optimal and 2 replicas."""
    spec = example_copy(tmp_path)
    sub(spec, r"hourly_rps: \[880,", "hourly_rps: [1e10,")
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out")], exit_code=3)
    assert "hour 0" in r.stderr and "at most 1e+07" in r.stderr
    assert not (tmp_path / "out").exists()


def test_hourly_rps_booleans_are_refused(tmp_path: Path, cli) -> None:
    """``hourly_rps: [yes, ...]`` was read as 1.0 requests/s."""
    spec = example_copy(tmp_path)
    sub(spec, r"hourly_rps: \[880,", "hourly_rps: [yes,")
    r = cli(["validate", str(spec)], exit_code=3)
    assert "traffic.hourly_rps" in r.stderr and "got true" in r.stderr


def test_huge_batch_size_does_not_hang_the_queueing_model() -> None:
    """Erlang C looped once per slot: a batch of 10^15 never finished."""
    code = "from scaleplan.solve.queueing import max_utilization as m; print(m(100.0, 10**15, 1e9, 99))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert 0 < float(r.stdout) <= 0.95
    # the O(sqrt(a)) path for many slots agrees with the exact Erlang B recursion
    for c, a in [(1001, 950.0), (3000, 2900.0), (5000, 4000.0)]:
        b = 1.0
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
        rho = a / c
        assert erlang_c(c, a) == pytest.approx(b / (1.0 - rho + rho * b), rel=1e-9)


def test_profile_batch_size_out_of_range_is_refused(tmp_path: Path) -> None:
    spec = example_copy(tmp_path)
    sub(tmp_path / "profile.yaml", r"batch_size: 1$", "batch_size: 1000000000000000")
    r = run(["optimize", str(spec), "--out", str(tmp_path / "out"), "--time-limit", "5"], timeout=120)
    assert_exit(r, 3)
    assert "batch_size" in r.stderr and "at most 65536" in r.stderr


@pytest.mark.parametrize(
    ("file", "pattern", "repl", "field"),
    [
        ("profile.yaml", r"throughput_rps: 312.5$", "throughput_rps: .inf", "throughput_rps"),
        ("profile.yaml", r"throughput_rps: 312.5$", "throughput_rps: 1e300", "throughput_rps"),
        ("profile.yaml", r"p50: 3.2$", "p50: yes", "p50"),
    ],
    ids=["profile-inf", "profile-1e300", "profile-bool"],
)
def test_absurd_profile_numbers_are_refused(tmp_path: Path, cli, file: str, pattern: str, repl: str, field: str) -> None:
    spec = example_copy(tmp_path)
    sub(tmp_path / file, pattern, repl)
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out")], exit_code=3)
    assert field in r.stderr


@pytest.mark.parametrize("value", [".inf", "1e300", "true"], ids=["inf", "1e300", "bool"])
def test_absurd_catalog_prices_are_refused(tmp_path: Path, cli, value: str) -> None:
    spec = example_copy(tmp_path)
    cat = tmp_path / "cat.yaml"
    cat.write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\nprovenance: {source: test}\ninstances:\n"
        "- provider: gcp\n  region: us-central1\n  instance_type: g2-standard-4\n  family: g2\n"
        f"  accelerator: L4\n  accelerator_count: 1\n  vcpus: 4\n  memory_gib: 16\n  price_ondemand: {value}\n",
        encoding="utf-8",
    )
    r = cli(["optimize", str(spec), "--catalog", str(cat), "--out", str(tmp_path / "out")], exit_code=3)
    assert "price_ondemand" in r.stderr
    assert not (tmp_path / "out").exists()


def test_plan_with_ten_million_replicas_is_refused(tmp_path: Path, cli) -> None:
    """A plan with 10^7 replicas took simulate to 8.3 GB (the request cap does not bound replicas)."""
    example_copy(tmp_path)
    plan = tmp_path / "plan.yaml"
    sub(plan, r"^  replicas: 5$", "  replicas: 10000000")
    r = cli(["simulate", str(plan)], exit_code=3)
    assert "replicas" in r.stderr and "at most 100000" in r.stderr


@pytest.mark.parametrize("value", [".inf", "1e300"], ids=["inf", "1e300"])
def test_absurd_plan_numbers_are_refused(tmp_path: Path, cli, value: str) -> None:
    example_copy(tmp_path)
    plan = tmp_path / "plan.yaml"
    sub(plan, r"^  capacity_rps_per_replica: .*$", f"  capacity_rps_per_replica: {value}")
    r = cli(["simulate", str(plan)], exit_code=3)
    assert "capacity_rps_per_replica" in r.stderr


def test_integer_with_5000_digits_is_refused(tmp_path: Path, cli) -> None:
    """Python refuses int('9' * 5000) (ValueError): that was exit 70."""
    spec = example_copy(tmp_path)
    sub(spec, r"min_replicas: 2$", "min_replicas: " + "9" * 5000)
    r = cli(["validate", str(spec)], exit_code=3)
    assert "min_replicas" in r.stderr or "digits" in r.stderr
