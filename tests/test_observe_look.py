"""``scaleplan observe`` for an on-call who only wants to look, and its no-data hint worded by
what the plan rendered (UX review 13, F8 and F9). A REAL Prometheus serves a synthetic 2-day
history (tools/observe_demo.py's generator, promtool blocks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from observe_helpers import binaries, create_blocks, history, prometheus_server

DATA = Path(__file__).parent / "data" / "observe"
END = "2026-01-03T00:00:00Z"


def _plan(d: Path, service_monitor: bool) -> Path:
    from typer.testing import CliRunner

    from scaleplan.cli import app

    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "profile.yaml", d / "profile.yaml")
    spec = (DATA / "spec.yaml").read_text()
    assert "service_monitor: true" in spec
    (d / "spec.yaml").write_text(spec.replace("service_monitor: true",
                                              f"service_monitor: {str(service_monitor).lower()}"))
    args = ["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d / "out" / "plan.yaml"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    root = tmp_path_factory.mktemp("svc")
    return {sm: _plan(root / f"sm-{sm}", sm) for sm in (True, False)}


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory, plans: dict[bool, Path]) -> Iterator[str]:
    if binaries() is None:
        pytest.skip("prometheus/promtool not installed (Debian package 'prometheus')")
    reps = yaml.safe_load(plans[True].read_text())["allocations"][0]["replicas_per_window"]
    d = tmp_path_factory.mktemp("prom")
    history(d / "om", namespace="search", service="ranker", replicas=[reps[0]] * 24,
            capacity=105.0, slo_s=0.25, scale=1.05, days=2)
    create_blocks(d / "om", d / "tsdb")
    with prometheus_server(d / "tsdb", d) as url:
        yield url


def test_observe_without_out_or_json_prints_the_report(prom, plans, tmp_path) -> None:
    """F8: neither --out nor --json exited 2 ("give --out FILE and/or --json"); now it is a
    look: the text report on stdout in 80 columns, exit 0, no file written."""
    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    cmd = [sys.executable, "-m", "scaleplan", "observe", "--prometheus", prom,
           "--plan", str(plans[True]), "--since", "2d", "--end", END]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600,
                          check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "ranker (search), 2 days", proc.stdout
    assert "  2026-01-01T00:00:00Z .. 2026-01-03T00:00:00Z" in lines
    assert any(x.startswith("SLO p95 250 ms: above in ") for x in lines), proc.stdout
    assert any(x.startswith("capacity: ") for x in lines)
    assert not any(x.startswith("wrote ") for x in lines)
    assert all(len(x) <= 80 for x in lines), proc.stdout
    assert list(tmp_path.iterdir()) == []  # a look writes nothing


@pytest.mark.parametrize("service_monitor", [True, False], ids=["servicemonitor", "none"])
def test_no_data_hint_names_what_the_plan_rendered(cli, prom, plans, service_monitor) -> None:
    """F9: a range without data (before the history starts). The hint spoke of "the
    ServiceMonitor" for a plan that rendered none; now it says what the plan rendered, and for
    none the labels the queries assume and --queries."""
    r = cli(["observe", "--prometheus", prom, "--plan", str(plans[service_monitor]),
             "--since", "1d", "--end", "2025-06-01T00:00:00Z", "--json"], exit_code=5)
    said = " ".join(r.stderr.split())
    assert "no data in the range" in said and "pass --end" in said, said
    if service_monitor:
        assert "check that the rendered ServiceMonitor scrapes the service" in said, said
        assert "rendered no ServiceMonitor" not in said
    else:
        assert "the plan rendered no ServiceMonitor (kubernetes.service_monitor is off)" in said
        assert 'labels a Prometheus Operator ServiceMonitor puts on its targets ' \
            '(namespace="search",service="ranker")' in said, said
        assert "give the queries your labels with --queries" in said
        assert "check that the rendered ServiceMonitor" not in said


def test_observe_says_when_the_history_covers_fewer_days_than_queried(prom, plans, cli) -> None:
    """`--since 4d` over a 2-day history: the header said '2 days' above a 4-day range, which
    read as a contradiction (UX trial 26 F8); it says how many of the days queried have data."""
    args = ["observe", "--prometheus", prom, "--plan", str(plans[True]), "--end", END]
    r = cli([*args, "--since", "4d"])
    lines = r.stdout.splitlines()
    assert lines[0] == "ranker (search), 2 days with data of the 4 queried", r.stdout
    assert lines[1] == "  2025-12-30T00:00:00Z .. 2026-01-03T00:00:00Z"
    assert cli([*args, "--since", "2d"]).stdout.splitlines()[0] == "ranker (search), 2 days"
