"""The rendered PrometheusRule's ``scaleplan:demand_rps`` is the request rate observe reads,
not the KEDA engine triggers' queries (UX trial 36, finding 1).

An LLM plan on keda-prometheus with ``model.engine`` scales each allocation on the engine's
own metrics: ``in-flight`` (requests running + waiting) and ``kv-cache`` (KV-cache use). The
rule summed every prometheus trigger's query and called it the demand in requests/s, and
``<Svc>DemandAbovePlannedCapacity`` compared it with the planned capacity in requests/s: on a
healthy 70B service at 20 rps it read ~184 sequences in flight against 30.6 rps planned and
fired all day; where one allocation had no pods (``sum()`` of nothing is empty, and so is
``A + B``) it read nothing and could never fire. It is now the request-rate triggers' query
when render writes one, else the engine's request counter: observe's ``demand`` query."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from observe_helpers import binaries

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model: {architecture: llama-3.1-8b, engine: vllm, engine_config: {max_model_len: 4096}}
traffic:
  hourly_rps: [2, 2, 2, 2, 2, 2, 4, 6, 8, 10, 12, 12, 12, 12, 12, 10, 8, 6, 4, 4, 2, 2, 2, 2]
  classes:
    - {name: chat, share: 1, input_tokens: 1000, output_tokens: 250}
slo: {ttft_ms: 1000, tpot_ms: 60}
placement: {regions: [us-east-1], accelerators: [L40S]}
kubernetes:
  namespace: llm
  image: vllm/vllm-openai:v0.11.0
  flavor: eks-karpenter
  cluster_name: inference
  autoscaler: {type: keda-prometheus}
  service_monitor: true
"""

needs_prometheus = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """The spec optimized with the real solver: the plan and its rendered objects by kind."""
    from tables_helpers import shipped_tables
    from typer.testing import CliRunner

    from scaleplan.cli import app
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    d = tmp_path_factory.mktemp("demand")
    (d / "spec.yaml").write_text(SPEC, encoding="utf-8")
    res = CliRunner().invoke(
        app, ["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.stdout + res.stderr
    plan = read_plan(d / "out" / "plan.yaml")
    rep = render_report(plan, shipped_tables())
    objs: dict[str, Any] = {}
    for o in rep.objects:
        objs.setdefault(o.kind, []).append(o.obj)
    return plan, objs


def _records(objs: dict[str, Any]) -> dict[str, str]:
    (rule,) = objs["PrometheusRule"]
    return {r["record"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]
            if "record" in r}


def test_demand_is_observes_request_rate_not_the_engine_triggers(planned) -> None:
    from tables_helpers import shipped_tables

    from scaleplan.observe.queries import build_queries

    plan, objs = planned
    triggers = {t["name"] for so in objs["ScaledObject"] for t in so["spec"]["triggers"]}
    assert {"in-flight", "kv-cache"} <= triggers  # the engine triggers the rule used to sum
    demand = _records(objs)["scaleplan:demand_rps"]
    assert demand == build_queries(plan, shipped_tables()).by_name()["demand"].promql
    assert demand == 'sum(rate(vllm:request_success_total{namespace="llm",service="chat"}[2m]))'
    assert "num_requests" not in demand and "kv_cache" not in demand


def test_request_rate_queries_take_the_rate_triggers_once() -> None:
    from scaleplan.render.engine import request_rate_queries

    rate = {"type": "prometheus", "name": "requests", "metadata": {"query": "sum(rate(x[1m]))"}}
    gated = {"type": "prometheus", "name": "requests-in-planned-hours",
             "metadata": {"query": "(sum(rate(x[1m]))) and on() (hour() >= 8)"}}
    engine = {"type": "prometheus", "name": "in-flight", "metadata": {"query": "sum(running)"}}
    objs = [("ScaledObject", {"spec": {"triggers": [rate, engine]}}),
            ("ScaledObject", {"spec": {"triggers": [gated, rate]}}),
            ("Deployment", {"spec": {"triggers": [rate]}})]
    assert request_rate_queries(objs) == ["sum(rate(x[1m]))"]


@needs_prometheus
def test_demand_alert_fires_on_the_rate_not_on_requests_in_flight(planned, tmp_path) -> None:
    """promtool: at hour 0 of the rules' clock the plan provisions C rps. Requests at C / 2
    with 10 C sequences in flight (long completions) do not fire DemandAbovePlannedCapacity;
    requests at 2 C with few in flight do. The old rule fired on the first and not the
    second."""
    plan, objs = planned
    (rule,) = objs["PrometheusRule"]
    groups = rule["spec"]["groups"]
    for g in groups:
        g["interval"] = "1m"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    cap = sum(a.replicas_per_window[0] * a.capacity_rps_per_replica for a in plan.allocations)
    deployment = objs["Deployment"][0]["metadata"]["name"]
    labels = f'namespace="llm",service="chat",pod="{deployment}-5d9f8-x2kq7"'
    alert = next(r["alert"] for g in groups for r in g["rules"]
                 if str(r.get("alert", "")).endswith("DemandAbovePlannedCapacity"))
    firing = f'count(ALERTS{{alertname="{alert}",alertstate="firing"}})'

    def case(rps: float, in_flight: float, fires: bool) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": [
                {"series": f"vllm:request_success_total{{{labels}}}",
                 "values": f"0+{rps * 60:g}x60"},
                {"series": f"vllm:num_requests_running{{{labels}}}", "values": f"{in_flight:g}x60"},
                {"series": f"vllm:num_requests_waiting{{{labels}}}", "values": "0x60"},
                {"series": f"vllm:kv_cache_usage_perc{{{labels}}}", "values": "0.5x60"},
            ],
            "promql_expr_test": [{"expr": firing, "eval_time": "40m",
                                  "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}],
        }

    doc = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
           "tests": [case(cap / 2, 10 * cap, False), case(2 * cap, 1, True)]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    found = binaries()
    assert found is not None
    r = subprocess.run([found[1], "test", "rules", "test.yaml"], capture_output=True, text=True,
                       timeout=120, check=False, cwd=Path(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
