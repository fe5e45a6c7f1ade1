"""Monitoring rules: PromQL that Prometheus (or KEDA's Prometheus scaler) cannot parse, and
dashboards that are not JSON. Both fail only at run time otherwise: a PrometheusRule whose
expression does not parse is rejected by the Prometheus Operator's admission webhook or never
evaluated, a KEDA trigger whose query does not parse leaves the workload at its fallback, and a
Grafana sidecar skips a dashboard it cannot read. The PromQL parser is Prometheus's grammar as
the ``promql-parser`` package ships it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, Rule
from scaleplan.check.workloads import as_list, as_map, get

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


def promql_error(expr: str) -> str | None:
    """Why ``expr`` is not valid PromQL (the parser's words), or None when it parses."""
    import promql_parser

    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        return str(exc) or "does not parse"
    return None


def _one_line(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


@impl("promql-invalid")
def _promql(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for pr in ctx.of_kind("PrometheusRule"):
        for i, group in enumerate(as_list(get(pr.data, ("spec", "groups")))):
            for j, r in enumerate(as_list(as_map(group).get("rules"))):
                expr = as_map(r).get("expr")
                if not isinstance(expr, str | int | float) or isinstance(expr, bool):
                    continue
                why = promql_error(str(expr))
                if why is not None:
                    what = as_map(r).get("alert") or as_map(r).get("record") or f"rule {j}"
                    where = ("spec", "groups", i, "rules", j, "expr")
                    yield pr.finding(rule, f"{what}: expr {_one_line(str(expr))!r}: {why}", where)
    for so in ctx.of_kind("ScaledObject"):
        for i, t in enumerate(as_list(get(so.data, ("spec", "triggers")))):
            tm = as_map(t)
            query = as_map(tm.get("metadata")).get("query")
            if tm.get("type") != "prometheus" or not isinstance(query, str):
                continue
            why = promql_error(query)
            if why is not None:
                name = tm.get("name") or f"trigger {i}"
                path = ("spec", "triggers", i, "metadata", "query")
                yield so.finding(rule, f"{name}: query {_one_line(query)!r}: {why}", path)


@impl("dashboard-json-invalid")
def _dashboard_json(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for cm in ctx.of_kind("ConfigMap"):
        for key, value in as_map(cm.data.get("data")).items():
            if not str(key).endswith(".json") or not isinstance(value, str):
                continue
            try:
                json.loads(value)
            except ValueError as exc:
                yield cm.finding(rule, f"data.{key} is not JSON: {exc}", ("data", str(key)))
