"""Monitoring rules on real rendered manifests: PromQL that does not parse (PrometheusRule
expressions, KEDA Prometheus trigger queries) and dashboards that are not JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tables_helpers import shipped_tables

from scaleplan.check import check_paths
from scaleplan.check.monitoring import promql_error
from scaleplan.plan import read_plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render

ROOT = Path(__file__).resolve().parents[1]


def _rendered(example: str, out: Path) -> Path:
    plan = read_plan(ROOT / "examples" / example / "plan.yaml")
    write_manifests(out, render(plan, shipped_tables()))
    return out


def _edit(path: Path, pattern: str, repl: str) -> int:
    text = path.read_text()
    m = re.search(pattern, text, flags=re.M)
    assert m is not None, (pattern, path)
    path.write_text(text[: m.start()] + m.expand(repl) + text[m.end() :])
    return text[: m.start()].count("\n") + 1


def _monitoring(folder: Path) -> list[tuple[str, str, int, str]]:
    report = check_paths([folder], catalog=shipped_tables())
    rules = ("promql-invalid", "dashboard-json-invalid")
    found = [f for f in report.findings if f.rule in rules]
    return [(f.rule, Path(f.file).name, f.line, f.message) for f in found]


def test_the_parser_accepts_what_render_writes_and_names_what_is_wrong() -> None:
    assert promql_error('sum(rate(vllm:request_success_total{namespace="llm"}[2m])) / 2') is None
    assert promql_error("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))") is None
    assert "parenthesis" in (promql_error("sum(rate(x[5m])") or "")
    assert promql_error("rate(x[5 m])") is not None


@pytest.mark.parametrize("example", ["llm-moe", "embedding-cpu-gpu"])
def test_rendered_monitoring_is_clean(tmp_path: Path, example: str) -> None:
    assert _monitoring(_rendered(example, tmp_path / "out")) == []


def test_a_prometheus_rule_that_does_not_parse(tmp_path: Path) -> None:
    out = _rendered("llm-moe", tmp_path / "out")
    f = out / "prometheusrule-moe-chat-slo.yaml"
    line = _edit(f, r"(expr: sum\(rate\()", r"\1(")  # one parenthesis too many
    found = _monitoring(out)
    assert len(found) == 1 and found[0][:3] == ("promql-invalid", f.name, line), found
    assert "expr 'sum(rate((" in found[0][3] and "parenthes" in found[0][3]


def test_a_keda_trigger_query_that_does_not_parse(tmp_path: Path) -> None:
    out = _rendered("embedding-cpu-gpu", tmp_path / "out")
    f = sorted(out.glob("scaledobject-*.yaml"))[0]
    line = _edit(f, r"(query: \S+?)\{", r"\1{{")
    found = _monitoring(out)
    assert [x[:3] for x in found] == [("promql-invalid", f.name, line)], found


def test_a_dashboard_that_is_not_json(tmp_path: Path) -> None:
    out = _rendered("llm-moe", tmp_path / "out")
    f = out / "configmap-moe-chat-dashboard.yaml"
    text = f.read_text()
    f.write_text(text.replace('"panels": [', '"panels": [,', 1))
    found = _monitoring(out)
    assert len(found) == 1 and found[0][:2] == ("dashboard-json-invalid", f.name), found
    assert "moe-chat-scaleplan.json is not JSON" in found[0][3]
