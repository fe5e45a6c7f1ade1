"""scaleplan observe against a REAL Prometheus loaded with a synthetic 14-day history.

The service's hourly curve, per-replica capacity and latency histogram are known
(tests/observe_helpers.py); observe must recover the curve within 5 % per hour and the
capacity within 10 %. Faults (unreachable, errors, time-outs, missing series) exit 5, name the
query, write nothing and never print credentials.
"""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from observe_helpers import Truth, binaries, create_blocks, history, prometheus_server

DATA = Path(__file__).parent / "data" / "observe"
END = "2026-01-15T00:00:00Z"
TRUE_CAPACITY = 105.0  # rps per replica at p95 = 250 ms; the profile's plan assumes ~128.6
SCALE = 1.05

needs_prometheus = pytest.mark.skipif(binaries() is None, reason="prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The running plan: optimize the test spec (flat peak_rps, profile over-states capacity)."""
    from typer.testing import CliRunner

    from scaleplan.cli import app

    d = tmp_path_factory.mktemp("svc")
    for f in ("spec.yaml", "profile.yaml"):
        shutil.copy(DATA / f, d / f)
    r = CliRunner().invoke(app, ["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d / "out" / "plan.yaml"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory, running: Path) -> Iterator[tuple[str, Truth]]:
    if binaries() is None:
        pytest.skip("prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)")
    plan = yaml.safe_load(running.read_text())
    reps = plan["allocations"][0]["replicas_per_window"]
    assert len(plan["allocations"]) == 1
    per_hour = [reps[0]] * 24 if len(reps) == 1 else reps
    d = tmp_path_factory.mktemp("prom")
    truth = history(d / "om", namespace="search", service="ranker", replicas=per_hour, capacity=TRUE_CAPACITY, slo_s=0.25, scale=SCALE)
    create_blocks(d / "om", d / "tsdb")
    with prometheus_server(d / "tsdb", d) as url:
        yield url, truth


@needs_prometheus
def test_observe_recovers_curve_and_capacity(cli, synthetic, running, tmp_path) -> None:
    url, truth = synthetic
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--out", str(out)])
    assert "capacity:" in r.stdout
    obs = yaml.safe_load(out.read_text())
    assert obs["kind"] == "Observed"
    curve = obs["demand"]["hourly_rps"]
    want = truth.curve_quantile(0.9)
    errors = [abs(c / w - 1) for c, w in zip(curve, want, strict=True)]
    assert max(errors) <= 0.05, errors
    base = [b * SCALE for b in (40, 30, 25, 25, 30, 50, 90, 160, 260, 340, 380, 400, 400, 390, 380, 370, 340, 300, 250, 190, 140, 100, 70, 50)]
    assert all(abs(c / b - 1) <= 0.05 for c, b in zip(curve, base, strict=True))
    assert obs["demand"]["days_seen"] == [14] * 24
    cap = obs["capacity"]["rps_per_replica"]
    assert abs(cap / TRUE_CAPACITY - 1) <= 0.10, cap
    planned = obs["capacity"]["planned_rps_per_replica"]
    assert obs["capacity"]["ratio"] == pytest.approx(cap / planned, rel=1e-3)
    assert obs["capacity"]["ratio"] < 0.9  # the profile over-states capacity
    # the busiest hours ran past the true capacity: some peak hours were above the SLO
    assert 0 < obs["slo"]["peak_hours_above"] < obs["slo"]["peak_hours_seen"]
    assert obs["slo"]["hours_seen"] == 14 * 24
    assert set(obs["queries"]) >= {"demand", "demand_hourly", "replicas", "latency", "latency_hourly"}
    # the demand query is the one the rendered ScaledObject/ServiceMonitor depend on
    assert 'http_requests_total{namespace="search",service="ranker"}' in obs["queries"]["demand"]
    # identical input -> byte-identical file
    out2 = tmp_path / "again.yaml"
    cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--out", str(out2)])
    assert out2.read_bytes() == out.read_bytes()


@needs_prometheus
def test_observe_json_and_schema(cli, synthetic, running) -> None:
    url, _ = synthetic
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--since", "3d", "--step", "1m", "--json"])
    doc = json.loads(r.stdout)
    import jsonschema

    schema = json.loads(cli(["schema", "observed"]).stdout)
    jsonschema.validate(doc, schema)
    assert doc["demand"]["days"] == 3


@needs_prometheus
def test_missing_metrics_exit_5_nothing_written(cli, synthetic, running, tmp_path) -> None:
    url, _ = synthetic
    q = tmp_path / "q.yaml"
    q.write_text("latency: histogram_quantile({quantile}, sum by (le) (rate(no_such_metric_bucket{{{selector}}}[{window}])))\n")
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--queries", str(q), "--out", str(out)], exit_code=5)
    assert "'latency'" in r.stderr and "no data" in r.stderr and "no_such_metric_bucket" in r.stderr
    assert not out.exists()


@needs_prometheus
def test_prometheus_error_names_query(cli, synthetic, running, tmp_path) -> None:
    url, _ = synthetic
    q = tmp_path / "q.yaml"
    q.write_text("replicas: count(up{{{selector}}} ==\n")
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--queries", str(q), "--out", str(out)], exit_code=5)
    assert "'replicas'" in r.stderr and "HTTP 400" in r.stderr and "bad_data" in r.stderr
    assert not out.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_exit_5(cli, running, tmp_path) -> None:
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", f"http://127.0.0.1:{_closed_port()}", "--plan", str(running), "--end", END, "--out", str(out)], exit_code=5)
    assert "'demand'" in r.stderr and "cannot reach" in r.stderr
    assert not out.exists()


class _Server:
    """A real HTTP server on 127.0.0.1 that answers badly: a status, or silence."""

    def __init__(self, status: int = 500, delay: float = 0.0, body: bytes = b'{"status":"error","errorType":"internal","error":"boom"}') -> None:
        self.headers: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.headers.append(str(self.headers.get("Authorization")))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the time-out test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_server_error_exit_5(cli, running, tmp_path) -> None:
    out = tmp_path / "observed.yaml"
    with _Server(status=503) as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--out", str(out)], exit_code=5)
    assert "'demand'" in r.stderr and "HTTP 503" in r.stderr and "boom" in r.stderr
    assert not out.exists()


def test_timeout_exit_5(cli, running, tmp_path) -> None:
    out = tmp_path / "observed.yaml"
    with _Server(status=200, delay=3.0) as srv:
        t0 = time.monotonic()
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--timeout", "0.5", "--out", str(out)], exit_code=5)
        assert time.monotonic() - t0 < 3.0
    assert "'demand'" in r.stderr and "did not answer within 0.5 s" in r.stderr
    assert not out.exists()


def test_not_prometheus_exit_5(cli, running, tmp_path) -> None:
    with _Server(status=200, body=b"<html>hello</html>") as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--json"], exit_code=5)
    assert "not JSON" in r.stderr and r.stdout == ""


def test_credentials_sent_but_never_printed(cli, running, tmp_path, monkeypatch) -> None:
    token = "tok-3f9a1c0e7d52-SECRET"
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_TOKEN", token)
    with _Server(status=401, body=b'{"status":"error","errorType":"unauthorized","error":"bad token"}') as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--out", str(tmp_path / "o.yaml")], exit_code=5)
    assert srv.headers == [f"Bearer {token}"]
    assert token not in r.stdout + r.stderr
    assert "HTTP 401" in r.stderr and "SCALEPLAN_PROMETHEUS_TOKEN" in r.stderr
    monkeypatch.delenv("SCALEPLAN_PROMETHEUS_TOKEN")
    pw_file = tmp_path / "pw"
    pw_file.write_text("pa55-word-SECRET\n")
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_USER", "alice")
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_PASSWORD_FILE", str(pw_file))
    with _Server(status=403) as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--json"], exit_code=5)
    assert srv.headers and srv.headers[0].startswith("Basic ")
    assert "pa55-word-SECRET" not in r.stdout + r.stderr and srv.headers[0] not in r.stdout + r.stderr
    # credentials in the URL are refused without echoing them
    r = cli(["observe", "--prometheus", "http://bob:hunter2-SECRET@127.0.0.1:9/", "--plan", str(running), "--end", END, "--json"], exit_code=3)
    assert "hunter2-SECRET" not in r.stdout + r.stderr
    assert "credentials" in r.stderr


def test_print_queries_and_bad_flags(cli, running, tmp_path) -> None:
    r = cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--print-queries", "--json"])
    qs = json.loads(r.stdout)
    assert qs["replicas"] == 'count(up{namespace="search",service="ranker"} == 1)'
    cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--step", "7m", "--json"], exit_code=2)
    cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--since", "fortnight", "--json"], exit_code=2)
    q = tmp_path / "q.yaml"
    q.write_text("latencyy: up\n")
    r = cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--queries", str(q), "--json"], exit_code=3)
    assert "latencyy" in r.stderr
