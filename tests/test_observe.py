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
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from observe_helpers import Truth, binaries, create_blocks, free_port, history, prometheus_server
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog

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
    # ... by less than the histogram's range: the worst hour is a value, not a bound
    assert obs["slo"]["worst_hour_ms"] < 2500 and obs["slo"]["worst_beyond_buckets"] is False
    assert abs(obs["extras"]["latency_beyond_top_bucket"]["max"]) < 1e-6  # float residue
    assert obs["slo"]["hours_seen"] == 14 * 24
    assert set(obs["queries"]) >= {"demand", "demand_hourly", "replicas", "latency", "latency_hourly"}
    # the demand query is the one the rendered ScaledObject/ServiceMonitor depend on
    assert 'http_requests_total{namespace="search",service="ranker"}' in obs["queries"]["demand"]
    # identical input -> byte-identical file; missing folders on the way are created, as every
    # command's --out creates them (tests/test_output_paths.py)
    out2 = tmp_path / "a" / "b" / "again.yaml"
    cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--out", str(out2)])
    assert out2.read_bytes() == out.read_bytes()


@needs_prometheus
def test_observe_report_at_80_columns_in_a_pipe(synthetic, running, tmp_path) -> None:
    """`COLUMNS=80 scaleplan observe ... --out LONG | cat`: the report fits 80 columns and the
    `wrote` line names the long path whole (issue 13: no wrapping of paths in a pipe)."""
    import os
    import subprocess
    import sys

    url, _ = synthetic
    out = tmp_path / "a-rather-long-folder-name-for-the-production-deployment-of-chat" / "observed.yaml"
    out.parent.mkdir()
    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    proc = subprocess.run([sys.executable, "-m", "scaleplan", "observe", "--prometheus", url, "--plan", str(running), "--end", END, "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"wrote {out}" in lines, proc.stdout
    assert [line for line in lines if len(line) > 80 and not line.startswith("wrote ")] == []
    assert all(line == line.rstrip() for line in lines)


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
@pytest.mark.parametrize(
    ("query", "said"),
    [
        # a series that does not exist: no data
        ("latency: histogram_quantile({quantile}, sum by (le) (rate(no_such_metric_bucket{{{selector}}}[{window}])))", ("'latency'", "no data", "no_such_metric_bucket",
         # the queried range is named and --end suggested (a history that ended before now)
         "no data in the range 2026-01-01T00:00:00Z .. 2026-01-15T00:00:00Z", "pass --end")),
        # PromQL the server refuses
        ("replicas: count(up{{{selector}}} ==", ("'replicas'", "HTTP 400", "bad_data")),
    ],
    ids=["missing-metrics", "prometheus-error"],
)
def test_failing_query_exit_5_names_it_nothing_written(cli, synthetic, running, tmp_path, query: str, said: tuple[str, ...]) -> None:
    url, _ = synthetic
    q = tmp_path / "q.yaml"
    q.write_text(query + "\n")
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--queries", str(q), "--out", str(out)], exit_code=5)
    assert all(s in r.stderr for s in said), r.stderr
    assert not out.exists()


def test_unreachable_exit_5(cli, running, tmp_path) -> None:
    out = tmp_path / "observed.yaml"
    r = cli(["observe", "--prometheus", f"http://127.0.0.1:{free_port()}", "--plan", str(running), "--end", END, "--out", str(out)], exit_code=5)
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
    assert "not JSON" in r.stderr and json.loads(r.stdout)["error"]["exit_code"] == 5


def test_credentials_sent_but_never_printed(cli, running, tmp_path, monkeypatch) -> None:
    token = "tok-3f9a1c0e7d52-SECRET"
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_TOKEN", token)
    with _Server(status=401, body=b'{"status":"error","errorType":"unauthorized","error":"bad token"}') as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--out", str(tmp_path / "o.yaml")], exit_code=5)
    assert srv.headers == [f"Bearer {token}"]
    assert token not in r.stdout + r.stderr
    assert "HTTP 401" in r.stderr and "rejected the credentials given (bearer, from SCALEPLAN_PROMETHEUS_TOKEN" in r.stderr
    monkeypatch.delenv("SCALEPLAN_PROMETHEUS_TOKEN")
    with _Server(status=401) as srv:  # none given: the hint says how to give them
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--json"], exit_code=5)
    assert srv.headers == ["None"] and "set SCALEPLAN_PROMETHEUS_TOKEN" in r.stderr and "rejected" not in r.stderr
    pw_file = tmp_path / "pw"
    pw_file.write_text("pa55-word-SECRET\n")
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_USER", "alice")
    monkeypatch.setenv("SCALEPLAN_PROMETHEUS_PASSWORD_FILE", str(pw_file))
    with _Server(status=403) as srv:
        r = cli(["observe", "--prometheus", srv.url, "--plan", str(running), "--end", END, "--json"], exit_code=5)
    assert srv.headers and srv.headers[0].startswith("Basic ")
    assert "pa55-word-SECRET" not in r.stdout + r.stderr and srv.headers[0] not in r.stdout + r.stderr
    assert "rejected the credentials given (basic, from SCALEPLAN_PROMETHEUS_USER" in r.stderr
    # credentials in the URL are refused without echoing them
    r = cli(["observe", "--prometheus", "http://bob:hunter2-SECRET@127.0.0.1:9/", "--plan", str(running), "--end", END, "--json"], exit_code=2)  # usage
    assert "hunter2-SECRET" not in r.stdout + r.stderr
    assert "credentials" in r.stderr


def test_print_queries_and_bad_flags(cli, running, tmp_path) -> None:
    r = cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--print-queries", "--json"])
    qs = json.loads(r.stdout)
    assert qs["replicas"] == 'count(up{namespace="search",service="ranker"} == 1)'
    # UX trial 33: --print-queries sends nothing, so it needs no --prometheus (it was exit 2,
    # "Missing option '--prometheus'"); a run that queries still does, before reading the plan
    r = cli(["observe", "--plan", str(running), "--print-queries", "--json"])
    assert json.loads(r.stdout) == qs
    r = cli(["observe", "--plan", str(tmp_path / "none.yaml"), "--json"], exit_code=2)
    err = json.loads(r.stdout)["error"]
    assert err["option"] == "--prometheus"
    assert "only --print-queries runs without one" in err["message"]
    # --out beside --print-queries was ignored (exit 0, no file): two options that cannot be combined
    r = cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--print-queries", "--out", str(tmp_path / "o.yaml")], exit_code=2)
    assert "--print-queries writes no file" in r.stderr and not (tmp_path / "o.yaml").exists()
    cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--step", "7m", "--json"], exit_code=2)
    cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--since", "fortnight", "--json"], exit_code=2)
    q = tmp_path / "q.yaml"
    q.write_text("latencyy: up\n")
    r = cli(["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--queries", str(q), "--json"], exit_code=3)
    assert f"{q}: latencyy: no query named 'latencyy'" in " ".join(r.stderr.split())


@needs_prometheus
def test_optimize_observed_replans_from_what_ran(cli, synthetic, running, tmp_path) -> None:
    url, _ = synthetic
    obs_file = tmp_path / "observed.yaml"
    cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--out", str(obs_file)])
    spec = running.parent.parent / "spec.yaml"
    r = cli(["optimize", str(spec), "--observed", str(obs_file), "--out", str(tmp_path / "new"), "--no-alternatives"])
    old = yaml.safe_load(running.read_text())
    new = yaml.safe_load((tmp_path / "new" / "plan.yaml").read_text())
    before = old["allocations"][0]["replicas_per_window"][0]
    hourly = dict.fromkeys(range(24), 0)
    for a in new["allocations"]:
        for h, n in enumerate(a["replicas_per_window"]):
            hourly[h] += n
    # the right way: fewer replicas at night (the spec's flat peak_rps kept them all day), and
    # more in the busiest hours (the profile over-stated capacity by ~23 %)
    assert all(hourly[h] < before for h in range(0, 6)), hourly
    assert max(hourly.values()) > before
    assert new["demand"]["windows"] == 24
    assert new["spec"]["traffic"]["hourly_rps"] == yaml.safe_load(obs_file.read_text())["demand"]["hourly_rps"]
    # the change against the running plan, the monthly cost delta and the risks are printed
    out = r.stdout
    assert "change against the running plan" in out
    assert "~ ranker-g6-xlarge-od" in out and "Plan: 0 to add, 1 to change, 0 to remove." in out  # scaleplan.plandiff
    assert f"00-05h  {before} -> 1 replicas" in out
    assert "monthly: $" in out and ("(-$" in out or "(+$" in out) and "/month)" in out
    assert "was above the SLO (250 ms) in" in out and "peak hours" in out
    assert "the profile over-states capacity by 2" in out and "on g6.xlarge" in out
    # calibration is labelled in the plan, never silent
    assert any(w.startswith("capacity: profile throughput L4 x0.8") for w in new["warnings"])
    assert "calibrated with observed points" in r.stderr
    assert new["metadata"]["inputs"]["observed"]
    # --json carries the same report
    j = json.loads(cli(["optimize", str(spec), "--observed", str(obs_file), "--out", str(tmp_path / "new2"), "--no-alternatives", "--json"]).stdout)
    rep = j["observed"]
    assert rep["cost_per_month_delta"] == pytest.approx((new["cost_per_hour"] - old["cost_per_hour"]) * 730, abs=0.01)
    assert rep["replicas_per_hour"][0]["before"] == [before] * 24
    assert any("over-states capacity" in x for x in rep["risks"])
    assert rep["diff"]["summary"] == {"add": 0, "change": 1, "remove": 0}


def test_optimize_observed_wrong_service_exit_3(tables: Catalog, cli, running, tmp_path) -> None:
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.model import dump_observed
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    qs = build_queries(plan, tables)
    hours = [(1767229200.0 + 3600 * h, 10.0 + h) for h in range(24)]
    steps = [(1767225600.0 + 300 * k, 50.0) for k in range(288)]
    fetched = Fetched({"demand_hourly": hours, "latency_hourly": [(t, 0.1) for t, _ in hours], "demand": steps, "replicas": [(t, 2.0) for t, _ in steps], "latency": [(t, 0.05) for t, _ in steps]}, 1767225600.0, 1767312000.0, 300.0, "http://x")
    obs = analyze(plan, qs, fetched)
    assert obs.capacity.method == "none" and obs.capacity.rps_per_replica is None  # never near the limit
    # every hour seen on the one day: "every", not "some hours" (UX trial 24 F8)
    assert "every hour was seen on only 1 day; the 0.9 quantile" in " ".join(obs.notes), obs.notes
    text = dump_observed(obs).replace("service: ranker", "service: other")
    f = tmp_path / "obs.yaml"
    f.write_text(text)
    spec = running.parent.parent / "spec.yaml"
    r = cli(["optimize", str(spec), "--observed", str(f), "--out", str(tmp_path / "o"), "--no-alternatives"], exit_code=3)
    assert "metadata.service" in r.stderr and "other" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(dump_observed(obs).replace("kind: Observed", "kind: Plan"))
    cli(["optimize", str(spec), "--observed", str(bad), "--out", str(tmp_path / "o"), "--no-alternatives"], exit_code=3)
    assert not (tmp_path / "o").exists()


# --- monitoring rendered with the plan ---------------------------------------------------------


def _rendered(plan_path: Path) -> dict[str, dict]:
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    return {o.kind: o.obj for o in render_report(read_plan(plan_path), shipped_tables()).objects}


def _promtool_check(rules: dict, tmp_path: Path) -> str:
    import subprocess

    found = binaries()
    assert found is not None
    f = tmp_path / "rules.yaml"
    f.write_text(yaml.safe_dump(rules))
    r = subprocess.run([found[1], "check", "rules", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_monitoring_validates_against_crds(running) -> None:
    import hashlib

    from scaleplan.check.schema_cache import validate_object

    objs = _rendered(running)
    assert {"ServiceMonitor", "PrometheusRule", "ConfigMap"} <= set(objs)
    for kind in ("ServiceMonitor", "PrometheusRule", "ConfigMap"):
        assert validate_object(objs[kind], "1.37") == [], kind
    # the bundled CRDs are the shared upstream copies, byte for byte
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "crds"
    if shared.is_dir():
        import scaleplan

        bundled = Path(scaleplan.__file__).parent / "data" / "crds"
        for f in ("monitoring.coreos.com_prometheusrules.yaml", "monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_podmonitors.yaml"):
            assert hashlib.sha256((bundled / f).read_bytes()).digest() == hashlib.sha256((shared / f).read_bytes()).digest()
    # a broken rule is caught by the CRD schema
    bad = json.loads(json.dumps(objs["PrometheusRule"]))
    bad["spec"]["groups"][0]["rules"][0]["for"] = "soon"
    assert validate_object(bad, "1.37")
    dash = json.loads(next(iter(objs["ConfigMap"]["data"].values())))
    titles = [p["title"] for p in dash["panels"]]
    assert any("Demand vs planned capacity" in t for t in titles)
    assert any("vs SLO" in t for t in titles) and any("Cost" in t for t in titles)
    assert objs["ConfigMap"]["metadata"]["labels"]["grafana_dashboard"] == "1"


@needs_prometheus
def test_monitoring_rules_pass_promtool(running, tmp_path) -> None:
    objs = _rendered(running)
    out = _promtool_check({"groups": objs["PrometheusRule"]["spec"]["groups"]}, tmp_path)
    assert "SUCCESS" in out
    alerts = [r["alert"] for g in objs["PrometheusRule"]["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert alerts.count("RankerLatencyBudgetBurn") == 4  # p95: all four burn-rate pairs
    # every dashboard query is valid PromQL (promtool parses them as recording rules)
    dash = json.loads(next(iter(objs["ConfigMap"]["data"].values())))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    _promtool_check({"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}, tmp_path)


@needs_prometheus
def test_monitoring_rules_evaluate_on_the_synthetic_service(synthetic, running, tmp_path) -> None:
    """The rules' PromQL gives the plan's numbers and the SLO's bad-request share on real data."""
    from scaleplan.observe.client import Prometheus

    url, truth = synthetic
    groups = _rendered(running)["PrometheusRule"]["spec"]["groups"]
    rules = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    plan = yaml.safe_load(running.read_text())
    a = plan["allocations"][0]
    prom = Prometheus(url)
    day = truth.start + 3 * 86400

    def at(expr: str, t: float) -> float:
        res = prom.query_range("t", expr, t, t, 60)
        assert len(res) == 1 and res[0][1], expr
        return res[0][1][0][1]

    assert at(rules["scaleplan:planned_capacity_rps"], day + 12 * 3600) == pytest.approx(a["replicas_per_window"][0] * a["capacity_rps_per_replica"], rel=1e-5)
    assert at(rules["scaleplan:planned_cost_per_hour"], day + 3 * 3600) == pytest.approx(plan["cost_per_hour"], rel=1e-4)
    bad_night = at(rules["scaleplan:slo_latency_bad_ratio:rate1h"], day + 4 * 3600)
    bad_peak = at(rules["scaleplan:slo_latency_bad_ratio:rate1h"], day + 13 * 3600)
    assert bad_night < 0.001 < 0.03 < bad_peak  # p95 near/over 250 ms at the peak
    assert at(rules["scaleplan:demand_rps"], day + 12 * 3600 + 1800) == pytest.approx(truth.hourly[3][12], rel=1e-3)


def test_monitoring_low_percentile_drops_pairs_that_cannot_fire(tables: Catalog, running) -> None:
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    plan = read_plan(running)
    slo = plan.spec.slo.model_copy(update={"percentile": 50})
    p50 = plan.model_copy(update={"spec": plan.spec.model_copy(update={"slo": slo})})
    rep = render_report(p50, tables)
    rule = next(o.obj for o in rep.objects if o.kind == "PrometheusRule")
    burn = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "RankerLatencyBudgetBurn"]
    assert len(burn) == 1 and "> 0.5 " in burn[0]["expr"]
    assert sum("burn-rate alert" in w and "left out" in w for w in rep.warnings) == 3


@needs_prometheus
def test_long_ranges_are_split_and_limits_hold(cli, synthetic, running, tmp_path) -> None:
    url, _ = synthetic
    # 5 days at 30 s steps: 14,400 points per series, more than Prometheus' 11,000 per query
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--since", "5d", "--step", "30s", "--json"])
    doc = json.loads(r.stdout)
    assert doc["demand"]["days"] == 5 and doc["metadata"]["step_seconds"] == 30
    assert abs(doc["capacity"]["rps_per_replica"] / TRUE_CAPACITY - 1) <= 0.10
    out = tmp_path / "o.yaml"
    r = cli(["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--max-mib", "0.001", "--out", str(out)], exit_code=5)
    assert "'demand'" in r.stderr and "larger than --max-mib 0.001 MiB" in r.stderr and not out.exists()


def test_engine_metric_names(tables: Catalog, running) -> None:
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    model = plan.spec.model.model_copy(update={"engine": "vllm"})
    k8s = plan.spec.kubernetes.model_copy(update={"autoscaler": plan.spec.kubernetes.autoscaler.model_copy(update={"type": "hpa"})})
    llm = plan.model_copy(update={"spec": plan.spec.model_copy(update={"model": model, "kubernetes": k8s})})
    qs = build_queries(llm, tables).by_name()
    assert qs["demand"].promql == 'sum(rate(vllm:request_success_total{namespace="search",service="ranker"}[2m]))'
    assert "vllm:e2e_request_latency_seconds_bucket" in qs["latency"].promql
    assert "vllm:time_to_first_token_seconds_bucket" in qs["ttft"].promql and not qs["ttft"].required
    assert "vllm:num_requests_waiting" in qs["queue"].promql
    sg = build_queries(llm.model_copy(update={"spec": llm.spec.model_copy(update={"model": model.model_copy(update={"engine": "sglang"})})}), tables).by_name()
    assert "sglang:num_requests_total" in sg["demand"].promql and "sglang:num_queue_reqs" in sg["queue"].promql
    tgi = build_queries(llm.model_copy(update={"spec": llm.spec.model_copy(update={"model": model.model_copy(update={"engine": "tgi"})})}), tables).by_name()
    assert "tgi_request_duration_bucket" in tgi["latency"].promql and "ttft" not in tgi



def test_keda_engine_triggers_are_not_read_as_demand(tables: Catalog) -> None:
    """An LLM plan autoscaled by KEDA on the engine's own metrics (requests in flight, KV-cache
    use): observe summed those trigger queries as the demand in req/s (new-user trial,
    2026-12-05); the demand is the engine's completed-request rate. (A one-window plan, such as
    examples/llm-chat's, renders no ScaledObject, so it has no trigger to misread: the plan
    here scales its spot allocation by the hour.)"""
    from llm_render_helpers import LLM_PLANS

    from scaleplan.observe.queries import build_queries
    from scaleplan.render import render_report

    plan = LLM_PLANS["vllm-70b"]()
    assert plan.spec.kubernetes.autoscaler.type == "keda-prometheus"
    assert plan.spec.model.engine == "vllm"
    triggers = [
        t["name"] for o in render_report(plan, tables).objects if o.kind == "ScaledObject"
        for t in o.obj["spec"]["triggers"]
    ]
    assert "in-flight" in triggers and "requests" not in triggers, triggers
    demand = build_queries(plan, tables).by_name()["demand"]
    assert demand.promql.startswith('sum(rate(vllm:request_success_total{namespace=')
    assert "num_requests_running" not in demand.promql and "kv_cache" not in demand.promql
    assert demand.source == "vllm:request_success_total of the ServiceMonitor's targets"


@needs_prometheus
def test_capacity_per_allocation_from_its_pods(cli, running, tmp_path) -> None:
    """Two instance types behind one Service: each one's capacity from its own pods' series,
    and each accelerator calibrated by its own ratio (L4 over-stated, A10G under-stated)."""
    from observe_helpers import history_pods

    from scaleplan.observe.model import read_observed
    from scaleplan.observe.replan import apply_observed, calibration_factors, risks
    from scaleplan.plan import dump_plan, read_plan
    from scaleplan.profile.model import read_profile
    from scaleplan.spec import read_spec

    plan = read_plan(running)
    l4 = plan.allocations[0].model_copy(update={"replicas": 2, "replicas_per_window": (2,) * plan.demand.windows, "nodes": 2, "nodes_per_window": (2,) * plan.demand.windows})
    a10 = l4.model_copy(update={"name": "ranker-g5-xlarge-od", "instance_type": "g5.xlarge", "family": "g5", "accelerator": "A10G"})
    two = plan.model_copy(update={"allocations": (a10, l4)})
    plan_file = tmp_path / "two.yaml"
    plan_file.write_text(dump_plan(two))
    planned = l4.capacity_rps_per_replica
    history_pods(tmp_path / "om", namespace="search", service="ranker", allocations=[(l4.name, 105.0, 2), (a10.name, 150.0, 2)], slo_s=0.25, scale=1.6)
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    out = tmp_path / "observed.yaml"
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        r = cli(["observe", "--prometheus", url, "--plan", str(plan_file), "--end", "2026-01-08T00:00:00Z", "--since", "7d", "--out", str(out)])
    assert "wrote" in r.stdout
    obs = read_observed(out)
    per = {a.accelerator: a for a in obs.capacity.allocations}
    assert set(per) == {"L4", "A10G"}
    assert per["L4"].rps_per_replica is not None and abs(per["L4"].rps_per_replica / 105.0 - 1) <= 0.10
    assert per["A10G"].rps_per_replica is not None and abs(per["A10G"].rps_per_replica / 150.0 - 1) <= 0.10
    assert 'pod=~"ranker-g5-xlarge-od-[a-z0-9]+-[a-z0-9]+"' in obs.queries["replicas@ranker-g5-xlarge-od"]
    factors, _ = calibration_factors(obs)
    assert factors["L4"] == pytest.approx(105.0 / planned, rel=0.10) and factors["A10G"] == pytest.approx(150.0 / planned, rel=0.10)
    found = risks(obs)
    assert any("over-states capacity" in x and "g6.xlarge" in x for x in found)
    assert any("under-states capacity" in x and "g5.xlarge" in x for x in found)
    spec, _ = read_spec(DATA / "spec.yaml")
    prof = read_profile(DATA / "profile.yaml")
    rp = apply_observed(spec, prof, obs, source="observed.yaml")
    l4_points = [m.throughput_rps for m in rp.profile.measurements if m.accelerator == "L4"]
    assert l4_points[0] == pytest.approx(prof.measurements[0].throughput_rps * factors["L4"])


def test_llm_ttft_risk(tables: Catalog, running) -> None:
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.observe.replan import risks
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    slo = plan.spec.slo.model_copy(update={"ttft_ms": 500.0})
    llm = plan.model_copy(update={"spec": plan.spec.model_copy(update={"slo": slo, "model": plan.spec.model.model_copy(update={"engine": "vllm"})})})
    qs = build_queries(llm, tables)
    hours = [(1767229200.0 + 3600 * h, 10.0 + h) for h in range(24)]
    steps = [(1767225600.0 + 300 * k, 50.0) for k in range(288)]
    ttft = [(t, 0.8 if 9 <= (i % 24) <= 11 else 0.2) for i, (t, _) in enumerate(hours)]
    fetched = Fetched({"demand_hourly": hours, "latency_hourly": [(t, 0.1) for t, _ in hours], "demand": steps, "replicas": [(t, 2.0) for t, _ in steps], "latency": [(t, 0.05) for t, _ in steps], "ttft": ttft}, 1767225600.0, 1767312000.0, 300.0, "http://x")
    obs = analyze(llm, qs, fetched)
    assert obs.extras["ttft"].max == 800 and "tpot" in obs.missing
    assert "TTFT p95 (median across days) was above the SLO (500 ms) in 3 of 24 hours of the day (worst 800 ms)" in risks(obs)


def test_optimize_observed_report_fits_80_columns(tables: Catalog, running, tmp_path) -> None:
    """The spec diff's 24-number hourly curve and the risk lines wrap between items/words at
    COLUMNS=80 (they were cut inside a number and wrapped to column 0)."""
    import os
    import subprocess
    import sys

    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.model import dump_observed
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    hours = [(1767229200.0 + 3600 * h, 30.0 + 13.37 * h) for h in range(24)]
    steps = [(1767225600.0 + 300 * k, 50.0) for k in range(288)]
    fetched = Fetched({"demand_hourly": hours, "latency_hourly": [(t, 0.4 if i > 18 else 0.1) for i, (t, _) in enumerate(hours)], "demand": steps,
                       "replicas": [(t, 2.0) for t, _ in steps], "latency": [(t, 0.05) for t, _ in steps]}, 1767225600.0, 1767312000.0, 300.0, "http://x")
    obs = analyze(plan, qs := build_queries(plan, tables), fetched)
    assert qs.queries
    f = tmp_path / "obs.yaml"
    f.write_text(dump_observed(obs))
    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    spec = running.parent.parent / "spec.yaml"
    proc = subprocess.run([sys.executable, "-m", "scaleplan", "optimize", str(spec), "--observed", str(f), "--out", str(tmp_path / "o"), "--no-alternatives"],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    report = proc.stdout[proc.stdout.index("change against the running plan"):]
    assert [line for line in report.splitlines() if len(line) > 80] == []
    assert "traffic.hourly_rps: null -> [" in report  # the spec's word (it said None)
    words = {w.strip("[],") for w in report.split()}
    assert {f"{v:.4g}" for v in obs.demand.hourly_rps} <= words  # every number whole
    assert "risks seen in the running service:" in report
    risk_lines = report[report.index("risks seen"):].splitlines()[1:]
    assert risk_lines and all(line.startswith(("  - ", "    ")) for line in risk_lines if line)


@needs_prometheus
def test_docs_local_recipe_generator_and_observe(cli, running, tmp_path) -> None:
    """docs/observe.md "Try it locally": tools/observe_demo.py writes the history, promtool loads
    it, a local prometheus serves it, observe recovers the capacity the tool was given."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    demo = tmp_path / "demo"
    proc = subprocess.run([sys.executable, str(root / "tools" / "observe_demo.py"), "--plan", str(running), "--out", str(demo), "--capacity", "90", "--days", "4"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "history ends 2026-01-05T00:00:00Z" in proc.stdout and (demo / "prometheus.yml").is_file()
    assert len(list((demo / "om").glob("day*.om"))) == 4
    create_blocks(demo / "om", demo / "tsdb")  # promtool tsdb create-blocks-from openmetrics, file by file
    with prometheus_server(demo / "tsdb", demo) as url:
        r = cli(["observe", "--prometheus", url, "--plan", str(running), "--since", "4d", "--end", "2026-01-05T00:00:00Z", "--json"])
    doc = json.loads(r.stdout)
    assert doc["demand"]["days"] == 4
    assert abs(doc["capacity"]["rps_per_replica"] / 90 - 1) <= 0.10, doc["capacity"]
    # 90 rps a replica saturates the peak hours past the histogram's 2.5 s bucket: the worst
    # hour's p95 is histogram_quantile's clamp, reported as a lower bound (UX review 6, #5)
    slo = doc["slo"]
    assert slo["worst_hour_ms"] == 2500 and slo["worst_beyond_buckets"] is True, slo
    assert doc["extras"]["latency_beyond_top_bucket"]["max"] > 0.05
    from scaleplan.observe.model import Observed
    from scaleplan.observe.replan import risks

    said = risks(Observed.model_validate(doc))
    assert any("(worst >= 2500 ms, beyond the histogram's largest bucket)" in x for x in said), said


def _observed_doc() -> str:
    """A small, valid Observed file (its running plan: the example's)."""
    from scaleplan.observe.model import (
        Observed,
        ObservedCapacity,
        ObservedDemand,
        ObservedMeta,
        ObservedSlo,
        dump_observed,
    )
    from scaleplan.plan import read_plan

    plan = read_plan(Path(__file__).parents[1] / "examples" / "vision-daily" / "plan.yaml")
    meta = ObservedMeta(
        service="vision",
        namespace="default",
        plan_hash=plan.metadata.plan_hash,
        prometheus="http://p:9090",
        start="2026-01-01T00:00:00Z",
        end="2026-01-08T00:00:00Z",
        step_seconds=60.0,
    )
    demand = ObservedDemand(
        hourly_rps=(10.0,) * 24, quantile=0.5, days_seen=(7,) * 24, days=7, peak_rps=10.0
    )
    capacity = ObservedCapacity(
        points_near_limit=0,
        band=(0.8, 1.0),
        method="none",
        max_rps_per_replica=5.0,
        planned_rps_per_replica=8.0,
    )
    slo = ObservedSlo(
        percentile=99,
        latency_ms=25.0,
        hourly_latency_ms=(None,) * 24,
        hours_seen=0,
        hours_above=0,
        peak_hours=(12,),
        peak_hours_seen=0,
        peak_hours_above=0,
    )
    queries = {"demand": "sum(rate(x[2m]))"}
    obs = Observed(
        metadata=meta, queries=queries, demand=demand, capacity=capacity, slo=slo, running_plan=plan
    )
    return dump_observed(obs)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("peak_rps: 10.0", "peak_rps: yes"),
        ("peak_rps: 10.0", "peak_rps: .inf"),
        ("step_seconds: 60.0", "step_seconds: .nan"),
    ],
)
def test_observed_refuses_booleans_and_non_finite_numbers(tmp_path, old, new) -> None:
    from scaleplan.errors import InputError
    from scaleplan.observe.model import read_observed

    text = _observed_doc()
    good = tmp_path / "good.yaml"
    good.write_text(text)
    assert read_observed(good).demand.peak_rps == 10.0
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as e:
        read_observed(bad)
    assert old.split(":")[0] in str(e.value) and str(bad) in str(e.value)


def test_capacity_is_not_extrapolated_from_a_light_load_floor(tables: Catalog, running) -> None:
    """UX review 6, #11: a service whose light-load p95 sits at 0.81x the SLO (48.5 ms for
    60 ms) and that jumps from 10-17 rps per replica (fine) to 120-200 (saturated, p95 clamped
    at the top bucket) had its 468 light-load steps "near the limit": the regression over
    latencies 48.4-48.8 ms read at 60 ms gave 223 rps per replica, above every load ever seen
    and 5.6x the true 40, and optimize --observed would have scaled the profile by x5.3.
    Points that span less than their distance to the SLO give no estimate."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    slo_s = plan.spec.slo.latency_ms / 1000
    qs = build_queries(plan, tables)
    t0 = 1767225600.0
    hours = [(t0 + 3600 * (h + 1), 10.0 + h) for h in range(24)]
    steps = [(t0 + 300 * k, 0.0) for k in range(288)]
    light = [(10.0 + (k % 8), slo_s * (0.807 + 0.0008 * (k % 8))) for k in range(288)]
    pairs = list(enumerate(zip(steps, light, strict=True)))
    demand = [(t, 2 * x if k % 3 else 2 * (120 + k % 80)) for k, ((t, _), (x, _)) in pairs]
    latency = [(t, lat if k % 3 else 2.5) for k, ((t, _), (_, lat)) in pairs]
    series = {
        "demand_hourly": hours,
        "latency_hourly": [(t, 0.1) for t, _ in hours],
        "demand": demand,
        "replicas": [(t, 2.0) for t, _ in steps],
        "latency": latency,
    }
    fetched = Fetched(series, t0, t0 + 86400, 300.0, "http://x")
    obs = analyze(plan, qs, fetched)
    cap = obs.capacity
    assert cap.rps_per_replica is None and cap.method == "none", cap
    assert cap.max_rps_per_replica == pytest.approx(199)
    from scaleplan.observe.report import observed_lines

    lines = observed_lines(obs, None)
    assert "  at most 199 rps per replica seen, at p95 2500 ms (above the SLO);" in lines, lines
    # its light-load steps were near the limit, in a sliver: not "never ran near its limit"
    assert not any("never ran near" in line for line in lines), lines
    assert "  over its 192 points to read it at the SLO)" in lines, lines
    assert max(len(line) for line in lines) <= 80
    # the note on stderr, optimize --observed's label and its risk say the same (UX trial 32
    # F2: they said "ran above its latency limit, never near it" beside those 192 points)
    from scaleplan.observe.replan import apply_observed, risks
    from scaleplan.profile.model import read_profile

    labels = apply_observed(plan.spec, read_profile(DATA / "profile.yaml"), obs, source="o").labels
    label = [x for x in labels if x.startswith("capacity:")]
    for said in (obs.notes, label, risks(obs)):
        text = " ".join(said)
        assert "never near it" not in text and "not observed near" not in text, said
        assert "192 points near" in text and "too alike in latency" in text, said
    # the same light points spread up to the SLO still give the regression's reading
    spread = [(t, slo_s * (0.8 + 0.05 * (k % 8))) for k, (t, _) in enumerate(steps)]
    load = [(t, 2 * (20.0 + 5 * (k % 8))) for k, (t, _) in enumerate(steps)]
    fetched = Fetched({**fetched.series, "demand": load, "latency": spread}, t0, t0 + 86400, 300.0, "http://x")
    cap = analyze(plan, qs, fetched).capacity
    assert cap.method == "regression" and cap.rps_per_replica == pytest.approx(40, rel=0.05), cap


@needs_prometheus
def test_a_sharp_knee_is_read_from_the_bracket_and_the_replan_adds_capacity(cli, tmp_path) -> None:
    """UX trial 32 F1: a replica at ~2,000 rps against a 250 ms p95 (a GPU batch server) goes
    from holding the SLO to far past it within a few rps, so the steps near the limit all sit
    at one latency and the regression is refused: observe said `capacity: not measured` and
    `optimize --observed` kept the profile's capacity, 25 % above the truth, though every step
    up to one load held the SLO and every step from 1 % above it missed it. The bracket reads
    the most load held (a real Prometheus, the real solver)."""
    d = tmp_path / "svc"
    d.mkdir()
    spec = (DATA / "spec.yaml").read_text().replace("peak_rps: 400", "peak_rps: 8000")
    (d / "spec.yaml").write_text(spec)
    prof = yaml.safe_load((DATA / "profile.yaml").read_text())
    for m in prof["measurements"]:
        m["throughput_rps"] *= 20
    (d / "profile.yaml").write_text(yaml.safe_dump(prof))
    cli(["optimize", str(d / "spec.yaml"), "--out", str(d / "run"), "--no-alternatives"])
    plan = yaml.safe_load((d / "run" / "plan.yaml").read_text())
    (alloc,) = plan["allocations"]
    planned, replicas = alloc["capacity_rps_per_replica"], alloc["replicas"]
    truth = 0.8 * planned  # the replicas are 20 % slower than profiled
    scale = 1.05 * truth * replicas / 400  # the busiest hours run a little past the truth
    history(tmp_path / "om", namespace="search", service="ranker", replicas=[replicas] * 24,
            capacity=truth, slo_s=0.25, scale=scale, days=4)
    create_blocks(tmp_path / "om", tmp_path / "tsdb")
    obs_file = tmp_path / "observed.yaml"
    with prometheus_server(tmp_path / "tsdb", tmp_path) as url:
        r = cli(["observe", "--prometheus", url, "--plan", str(d / "run" / "plan.yaml"),
                 "--since", "4d", "--end", "2026-01-05T00:00:00Z", "--out", str(obs_file)])
    cap = yaml.safe_load(obs_file.read_text())["capacity"]
    assert cap["method"] == "bracket", cap
    held, missed = cap["rps_per_replica"], cap["above_slo_from_rps_per_replica"]
    assert 0.97 * truth <= held <= truth < missed <= 1.03 * truth, (cap, truth)
    assert "  the plan assumed" in r.stdout and "(-2" in r.stdout, r.stdout
    assert "(bracket: every step up to" in r.stdout, r.stdout
    lines = r.stdout.splitlines()
    assert [line for line in lines if len(line) > 80 and not line.startswith("wrote ")] == []
    r = cli(["optimize", str(d / "spec.yaml"), "--observed", str(obs_file),
             "--out", str(d / "new"), "--no-alternatives"])
    said = " ".join(r.stderr.split())
    assert "capacity: profile throughput L4 x0.79" in said or "L4 x0.80" in said, said
    new = yaml.safe_load((d / "new" / "plan.yaml").read_text())
    peak = max(sum(a["replicas_per_window"][h] for a in new["allocations"]) for h in range(24))
    # the observed peak (1.05 x truth per replica on the running replicas) and the spec's 20 %
    # headroom at the true capacity need more replicas than ran
    assert peak > replicas, (peak, replicas)
    assert "over-states capacity by 2" in r.stdout, r.stdout


def test_since_under_a_day_is_a_usage_error(cli, running) -> None:  # type: ignore[no-untyped-def]
    """UX review 6, #9: observe.md offered `--since 12h`, which ran every query and then
    failed (exit 5, "no data for UTC hour(s) ..."): a curve needs every UTC hour. Refused as an
    option (exit 2) before anything is sent (the port is closed: a query would be exit 5)."""
    base = ["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(running), "--json"]
    r = cli([*base, "--since", "12h"], exit_code=2)
    said = " ".join(r.stderr.split())
    assert "12h is under a day: the demand curve needs every UTC hour" in said, said
    cli([*base, "--since", "23h", "--step", "30m"], exit_code=2)
    cli([*base, "--since", "1d"], exit_code=5)  # accepted, then the closed port


def test_check_outputs_refuses_outputs_that_do_not_go_together() -> None:
    from scaleplan.errors import OptionError
    from scaleplan.observe.command import check_outputs

    check_outputs(print_queries=True, out=None)
    check_outputs(print_queries=False, out="o.yaml")
    # with --json, or neither --out nor --json: a look, the text report (UX review 13, F8; it
    # was exit 2)
    check_outputs(print_queries=False, out=None)
    with pytest.raises(OptionError) as err:
        check_outputs(print_queries=True, out="o.yaml")
    assert (err.value.message, err.value.option) == ("--print-queries writes no file", "--out")


def test_a_service_that_ran_above_its_limit_is_not_said_never_near_it(tables: Catalog, running) -> None:
    """Every step's p95 at twice the SLO: the report said 'capacity: not measured (the service
    never ran near its limit)' over 'at p95 ... ms (above the SLO)' (ux7): it ran past it."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.observe.report import observed_lines
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    slo_s = plan.spec.slo.latency_ms / 1000
    t0 = 1767225600.0
    hours = [(t0 + 3600 * (h + 1), 10.0 + h) for h in range(24)]
    steps = [(t0 + 300 * k, 20.0 + k % 8) for k in range(288)]
    series = {"demand_hourly": hours, "latency_hourly": [(t, 2 * slo_s) for t, _ in hours],
              "demand": steps, "replicas": [(t, 2.0) for t, _ in steps],
              "latency": [(t, 2 * slo_s) for t, _ in steps]}
    obs = analyze(plan, build_queries(plan, tables), Fetched(series, t0, t0 + 86400, 300.0, "http://x"))
    lines = observed_lines(obs, None)
    assert obs.capacity.rps_per_replica is None and not obs.capacity.points_near_limit
    assert "capacity: not measured (the service ran above its limit, never near it)" in lines, lines
    assert not any("never ran near" in line for line in lines), lines
    # the same run's note on stderr and optimize --observed's label said it never ran near it
    from scaleplan.observe.replan import apply_observed
    from scaleplan.profile.model import read_profile

    assert not any("never ran near" in n for n in obs.notes), obs.notes
    assert any("ran above its latency limit, never near it" in n for n in obs.notes), obs.notes
    labels = apply_observed(plan.spec, read_profile(DATA / "profile.yaml"), obs, source="o").labels
    said = [x for x in labels if x.startswith("capacity:")]
    assert said and "ran above its latency limit, never near it" in said[0], said


# a histogram whose largest finite bucket is 200 ms, below the 250 ms SLO: the synthetic
# service's buckets up to 0.2 s and +Inf only, in both queries that read the histogram's buckets
TOP_200MS = 'le=~"0.05|0.1|0.15|0.2|\\\\+Inf"'


def _bucket_increase(le: str) -> str:
    """A --queries template: the hour's increase of the synthetic histogram's buckets ``le``."""
    return f"increase(http_request_duration_seconds_bucket{{{{{{selector}},{le}}}}}[1h])"


_ALL, _FINITE = _bucket_increase('le="+Inf"'), _bucket_increase(TOP_200MS + ',le!="+Inf"')
SHORT_HISTOGRAM = yaml.safe_dump({
    "latency_hourly": f"histogram_quantile({{quantile}}, sum by (le) "
    f"({_bucket_increase(TOP_200MS)}))",
    "latency_beyond_top_bucket": f"(sum({_ALL}) - max(sum by (le) ({_FINITE}))) / sum({_ALL})",
}, width=1000)


@needs_prometheus
def test_a_top_bucket_below_the_slo_leaves_hours_undecided(  # type: ignore[no-untyped-def]
    cli, synthetic, running, tmp_path
) -> None:
    """The synthetic service's busiest hours run past its true capacity, p95 above the 250 ms
    SLO. Read from a histogram whose largest finite bucket is 200 ms, histogram_quantile clamps
    their p95 to 200 ms: they read as within the SLO. observe said nothing (0 hours above, no
    warning); now those hours are undecided, and the report and --json say so."""
    url, _ = synthetic
    queries = tmp_path / "queries.yaml"
    queries.write_text(SHORT_HISTOGRAM, encoding="utf-8")
    base = ["observe", "--prometheus", url, "--plan", str(running), "--end", END, "--since", "3d",
            "--queries", str(queries)]
    doc = json.loads(cli([*base, "--json"]).stdout)
    slo = doc["slo"]
    assert slo["worst_hour_ms"] == 200 and slo["worst_beyond_buckets"] is True, slo
    assert slo["hours_above"] == 0  # a clamped 200 ms is no reading against 250 ms
    assert slo["top_bucket_ms"] == 200 and 0 < slo["hours_undecided"] <= slo["hours_seen"], slo
    assert 0 < slo["peak_hours_undecided"] <= slo["peak_hours_seen"], slo
    (warning,) = doc["warnings"]
    n, seen = slo["hours_undecided"], slo["hours_seen"]
    assert warning.startswith(
        "p95 lay beyond the latency histogram's largest finite bucket, 200 ms, below the SLO "
        f"(250 ms), in {n} of {seen} hours ({slo['peak_hours_undecided']} of "
        f"{slo['peak_hours_seen']} peak hours): histogram_quantile reads 200 ms there, so "
        "whether those hours met the SLO cannot be told"), warning
    # the text report says it too, in 80 columns
    out = cli([*base, "--out", str(tmp_path / "o.yaml")]).stdout
    said = " ".join(out.split())
    assert f"warning: {warning}" in said, out
    assert max(len(line) for line in out.splitlines() if not line.startswith("wrote ")) <= 80
    # optimize --observed names it among the risks
    from scaleplan.observe.model import Observed
    from scaleplan.observe.replan import risks

    said_risks = risks(Observed.model_validate(doc))
    assert any("cannot be told" in r and "200 ms" in r for r in said_risks), said_risks
    # the default queries (buckets up to 2.5 s) read those hours: no warning
    full = json.loads(cli([*base[:-2], "--json"]).stdout)
    assert full["slo"]["hours_undecided"] == 0 and full["warnings"] == []
    assert 0 < full["slo"]["hours_above"] <= slo["hours_undecided"]  # some were above it


def test_a_clamp_at_the_slo_is_above_it_and_below_it_undecided(tables: Catalog, running) -> None:
    """An hour beyond the histogram's largest bucket reads as that bound: a bound at the SLO
    means the hour was above it (beyond is slower); a bound below it decides nothing."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import BEYOND_TOP_BUCKET, build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    slo_s = plan.spec.slo.latency_ms / 1000
    t0 = 1767225600.0
    hours = [(t0 + 3600 * (h + 1), 10.0 + h) for h in range(24)]
    steps = [(t0 + 300 * k, 20.0) for k in range(288)]
    series = {"demand_hourly": hours, "demand": steps, "replicas": [(t, 2.0) for t, _ in steps],
              "latency": [(t, slo_s / 2) for t, _ in steps],
              BEYOND_TOP_BUCKET: [(t, 0.2 if h >= 20 else 0.0) for h, (t, _) in enumerate(hours)]}
    qs = build_queries(plan, tables)
    for bound, above, undecided in ((slo_s, 4, 0), (slo_s * 0.8, 0, 4)):
        lat = [(t, bound if h >= 20 else slo_s / 2) for h, (t, _) in enumerate(hours)]
        fetched = Fetched({**series, "latency_hourly": lat}, t0, t0 + 86400, 300.0, "http://x")
        obs = analyze(plan, qs, fetched)
        assert (obs.slo.hours_above, obs.slo.hours_undecided) == (above, undecided), obs.slo
        assert bool(obs.warnings) == bool(undecided)


def test_the_undecided_warning_names_the_bound_below_the_slo(tables: Catalog, running) -> None:
    """Hours clamped at two bounds (a deploy that added buckets mid-window): those at a bound
    above the SLO are above it, those at one below undecided, and the warning names the bound
    below the SLO. It named the largest clamp, above the SLO, as 'below the SLO' (review)."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import BEYOND_TOP_BUCKET, build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(running)
    slo_s = plan.spec.slo.latency_ms / 1000
    t0 = 1767225600.0
    hours = [(t0 + 3600 * (h + 1), 10.0 + h) for h in range(24)]
    steps = [(t0 + 300 * k, 20.0) for k in range(288)]
    low, high = slo_s * 0.8, slo_s * 1.2
    lat = [(t, high if h >= 22 else low if h >= 20 else slo_s / 2)
           for h, (t, _) in enumerate(hours)]
    series = {"demand_hourly": hours, "demand": steps, "replicas": [(t, 2.0) for t, _ in steps],
              "latency": [(t, slo_s / 2) for t, _ in steps], "latency_hourly": lat,
              BEYOND_TOP_BUCKET: [(t, 0.2 if h >= 20 else 0.0) for h, (t, _) in enumerate(hours)]}
    fetched = Fetched(series, t0, t0 + 86400, 300.0, "http://x")
    obs = analyze(plan, build_queries(plan, tables), fetched)
    assert (obs.slo.hours_above, obs.slo.hours_undecided) == (2, 2), obs.slo
    (warning,) = obs.warnings
    assert f"bucket, {low * 1000:g} ms, below the SLO" in warning, warning


def test_the_planned_capacity_is_the_demand_peaks_not_the_most_replicas() -> None:
    """UX trial 28: observe of a plan that changes shapes by hour read "the plan assumed 2.367"
    beside 4.6 rps per replica seen: 2.367 was the 1-GPU replicas' capacity at hour 9, the
    window of the most replicas, while the peak (hours 11-12) ran 2-GPU replicas at 5.842.
    examples/embedding-cpu-gpu read 42.3 (hour 7's 15 CPU replicas) for a peak on g4dn at
    2,266. The planned capacity is now that of the window of the most demand."""
    from scaleplan.observe.analyze import planned_capacity
    from scaleplan.plan import read_plan

    plan = read_plan(Path(__file__).parent.parent / "examples/embedding-cpu-gpu/plan.yaml")
    peak = max(range(24), key=lambda i: plan.demand.rps[i])
    (gpu,) = [a for a in plan.allocations if a.replicas_per_window[peak]]
    assert gpu.instance_type == "g4dn.xlarge"
    assert planned_capacity(plan) == pytest.approx(gpu.capacity_rps_per_replica)
    # a flat plan of one shape: the same figure whatever window is read
    flat = read_plan(Path(__file__).parent.parent / "examples/llm-chat/plan.yaml")
    assert planned_capacity(flat) == pytest.approx(flat.allocations[0].capacity_rps_per_replica)


def test_rates_of_10000_and_more_are_not_printed_in_exponent_form(tables: Catalog, running) -> None:
    """UX trial 32 F4: a vision service peaking at 10,650 rps read `11h 1.065e+04` in observe's
    demand table and `[..., 1.012e+04, 1.065e+04, ...]` in optimize --observed's diff."""
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.observe.report import observed_lines
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import _value

    plan = read_plan(running)
    t0 = 1767225600.0
    hours = [(t0 + 3600 * (h + 1), 10650.0 if h == 11 else 500.0 + h) for h in range(24)]
    steps = [(t0 + 300 * k, 50.0) for k in range(288)]
    series = {"demand_hourly": hours, "latency_hourly": [(t, 0.1) for t, _ in hours],
              "demand": steps, "replicas": [(t, 2.0) for t, _ in steps],
              "latency": [(t, 0.05) for t, _ in steps]}
    obs = analyze(plan, build_queries(plan, tables), Fetched(series, t0, t0 + 86400, 300.0, "x"))
    lines = observed_lines(obs, None)
    assert not any("e+" in line for line in lines), lines
    assert any("11h     10650" in line for line in lines), lines
    assert _value([9052.0, 10120.0, 10650.0, 98.5]) == "[9052, 10120, 10650, 98.5]"
