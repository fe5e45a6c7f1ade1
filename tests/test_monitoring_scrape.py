"""The rendered PrometheusRule against what a real server exposes, scraped by a real Prometheus.

vLLM (and SGLang, and FastAPI's instrumentators) export their histograms through Python's
``prometheus_client``, which writes a whole-second bucket bound as ``le="60.0"``; Go clients
write ``le="60"``, and Prometheus 3 stores ``le="60.0"`` whatever the client (its migration
guide, "le and quantile label values"). The burn-rate SLI selected ``le="60"`` (the SLO of
examples/llm-moe, 60,000 ms): on a vLLM server it read nothing, so the burn-rate alerts could
never fire, and ``LatencySloBucketMissing`` asked for a bucket vLLM already has (UX review 13,
F1). Here ``prometheus_client`` serves vLLM's e2e histogram (vLLM's own bucket list), a real
Prometheus scrapes it with the labels the ServiceMonitor's targets carry, and the rendered
expressions are evaluated on what it stored."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from observe_helpers import binaries, free_port, prometheus_server
from tables_helpers import shipped_tables

ROOT = Path(__file__).resolve().parents[1]
# vllm/v1/metrics/loggers.py, request_latency_buckets of vllm:e2e_request_latency_seconds
VLLM_E2E_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
    120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
)
HIST = "vllm:e2e_request_latency_seconds"

needs_prometheus = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)",
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = binaries()
    assert found is not None
    cmd = [found[1], *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _rules(plan_file: Path, tmp_path: Path) -> tuple[list[dict], dict[str, str]]:
    """The PrometheusRule render writes for the plan, checked by promtool: its groups, and
    each rule's expr by name."""
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    objs = {o.kind: o.obj for o in render_report(read_plan(plan_file), shipped_tables()).objects}
    groups = objs["PrometheusRule"]["spec"]["groups"]
    f = tmp_path / "rules.yaml"
    f.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    r = _promtool("check", "rules", str(f))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    rules = [x for g in groups for x in g["rules"]]
    exprs = {str(x.get("record") or x.get("alert")): str(x["expr"]) for x in rules}
    return groups, exprs


def _query(url: str, expr: str) -> list[dict]:
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
        doc = json.loads(r.read())
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def _serve_text_format(body: Callable[[], bytes]) -> http.server.ThreadingHTTPServer:
    """/metrics in the Prometheus text format 0.0.4, the exposition Prometheus 2.x reads from
    a server that does not negotiate OpenMetrics (prometheus_client's own HTTP server offers
    OpenMetrics 1.0, whose default name escaping turns ``vllm:`` into ``vllm_`` on a
    Prometheus 2.42: prometheus/client_python#1177)."""

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Metrics)


@needs_prometheus
def test_burn_rate_sli_reads_a_vllm_servers_bucket_at_a_whole_second_slo(tmp_path) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    _, rules = _rules(ROOT / "examples" / "llm-moe" / "plan.yaml", tmp_path)
    sli = rules["scaleplan:slo_latency_bad_ratio:rate5m"]
    missing = rules["MoeChatLatencySloBucketMissing"]
    assert f"{HIST}_bucket" in sli

    registry = prometheus_client.CollectorRegistry()
    e2e = prometheus_client.Histogram(HIST, "e2e", buckets=VLLM_E2E_BUCKETS, registry=registry)
    server = _serve_text_format(lambda: prometheus_client.generate_latest(registry))
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()

    def serve() -> None:  # one request in ten slower than the 60 s SLO
        while not stop.is_set():
            for _ in range(9):
                e2e.observe(3.0)
            e2e.observe(75.0)
            stop.wait(0.1)

    load = threading.Thread(target=serve, daemon=True)
    load.start()
    (tmp_path / "tsdb").mkdir()
    scrape = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        f"- job_name: vllm\n  static_configs:\n  - targets: ['127.0.0.1:{port}']\n"
        "    labels: {namespace: llm, service: moe-chat}\n"
    )
    try:
        with prometheus_server(tmp_path / "tsdb", tmp_path, config=scrape) as url:
            # what the server exposes, as Prometheus stored it: le="60.0"
            deadline = time.monotonic() + 60
            while not _query(url, f"count_over_time({HIST}_count[1m]) >= 3"):
                assert time.monotonic() < deadline, "Prometheus did not scrape the server"
                time.sleep(0.5)
            les = {s["metric"]["le"] for s in _query(url, f"{HIST}_bucket")}
            assert "60.0" in les and "60" not in les
            bad = _query(url, sli)
            assert len(bad) == 1, (sli, bad)
            assert float(bad[0]["value"][1]) == pytest.approx(0.1, abs=0.02), (sli, bad)
            assert _query(url, missing) == [], missing  # the bucket is there: no alert
    finally:
        stop.set()
        load.join(timeout=5)
        server.shutdown()
        thread.join(timeout=5)


@needs_prometheus
def test_burn_rate_rules_still_read_a_go_clients_spelling(tmp_path) -> None:
    """A Go client writes the same bucket as ``le="60"`` (Prometheus 2 keeps it): promtool's
    rule tests evaluate the rendered groups on such series: one request in four slower than the
    SLO reads 0.25, and no bucket is missing."""
    groups, _ = _rules(ROOT / "examples" / "llm-moe" / "plan.yaml", tmp_path)
    for g in groups:
        g["interval"] = "1m"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    lab = 'namespace="llm",service="moe-chat"'
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f'{HIST}_bucket{{{lab},le="60"}}', "values": "0+3x30"},
                {"series": f'{HIST}_bucket{{{lab},le="+Inf"}}', "values": "0+4x30"},
                {"series": f"{HIST}_count{{{lab}}}", "values": "0+4x30"},
            ],
            "promql_expr_test": [{
                "expr": "scaleplan:slo_latency_bad_ratio:rate5m",
                "eval_time": "20m",
                "exp_samples": [
                    {"labels": f"scaleplan:slo_latency_bad_ratio:rate5m{{{lab}}}", "value": 0.25},
                ],
            }],
            "alert_rule_test": [
                {"alertname": "MoeChatLatencySloBucketMissing", "eval_time": "90m",
                 "exp_alerts": []},
            ],
        }],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test), encoding="utf-8")
    r = _promtool("test", "rules", str(tmp_path / "test.yaml"))
    assert r.returncode == 0, r.stdout + r.stderr


@needs_prometheus
def test_observe_names_the_underscore_spelling_of_the_vllm_series(cli, tmp_path) -> None:
    """prometheus_client's own HTTP server (what vLLM's /metrics uses) answers a Prometheus 2
    scrape, which asks for OpenMetrics 1.0 without an escaping scheme, with the names escaped:
    ``vllm:request_success_total`` is stored as ``vllm_request_success_total``
    (prometheus/client_python#1177). observe found "no data" and hinted at the ServiceMonitor;
    it now says which spelling Prometheus has and how to rename it back (UX review 13, F3)."""
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    done = prometheus_client.Counter("vllm:request_success", "ok", registry=registry)
    start = prometheus_client.start_http_server
    server, thread = start(free_port(), addr="127.0.0.1", registry=registry)
    port = server.server_address[1]
    (tmp_path / "tsdb").mkdir()
    scrape = (
        "global:\n  scrape_interval: 1s\nscrape_configs:\n"
        f"- job_name: vllm\n  static_configs:\n  - targets: ['127.0.0.1:{port}']\n"
        "    labels: {namespace: llm, service: chat-l40s-x1}\n"
    )
    plan = ROOT / "examples" / "llm-chat" / "plan.yaml"
    try:
        with prometheus_server(tmp_path / "tsdb", tmp_path, config=scrape) as url:
            deadline = time.monotonic() + 60
            while not _query(url, "count_over_time(vllm_request_success_total[1m]) >= 3"):
                assert time.monotonic() < deadline, "Prometheus did not scrape the server"
                done.inc(5)
                time.sleep(0.5)
            assert _query(url, "vllm:request_success_total") == []  # what observe asks for
            end = str(int(time.time()) + 30)  # now rounded down to the step is before the scrapes
            args = ["observe", "--prometheus", url, "--plan", str(plan), "--since", "1d"]
            r = cli([*args, "--end", end, "--json"], exit_code=5)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    err = r.stderr
    assert "no data in the range" in err and "vllm_request_success_total" in err, err
    assert "metricRelabelings" in err and "vllm:$1" in err, err
