"""Run a QuerySet against Prometheus over a time range (the I/O half of ``observe``)."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable

from scaleplan.observe.analyze import Fetched, Points
from scaleplan.observe.client import Prometheus, QueryFailed
from scaleplan.observe.queries import Query, QuerySet

MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series


def _no_data_hint(queries: QuerySet | None, q: Query | None = None) -> str:
    """What to check when a required query found nothing: the user's own ``--queries``
    override's names and labels, else by what the plan rendered to have its pods scraped: the
    ServiceMonitor, or none (then the labels the queries assume)."""
    head = "pass --end at a time the history covers (--end defaults to now), "
    if q is not None and q.source == "override":
        return f"{head}and check the metric names and labels of your --queries override"
    if queries is None or queries.service_monitor:
        return (
            f"{head}check that the rendered ServiceMonitor scrapes the service and the metric "
            "names (docs/observe.md), or override the query with --queries"
        )
    return (
        f"{head}and check how the pods are scraped: the plan rendered no ServiceMonitor "
        "(kubernetes.service_monitor is off), yet the queries assume the labels a Prometheus "
        f"Operator ServiceMonitor puts on its targets ({queries.selector}); a scrape by pod "
        "annotations labels them otherwise (e.g. kubernetes_namespace, pod): give the queries "
        "your labels with --queries, or render with kubernetes.service_monitor: true "
        "(docs/observe.md)"
    )


def _range(
    prom: Prometheus, q: Query, start: float, end: float, step: float,
    queries: QuerySet | None = None,
) -> Points:
    total: dict[float, float] = {}
    t0 = start
    seen_series = False
    while t0 <= end:
        t1 = min(end, t0 + step * (MAX_POINTS - 1))
        for _labels, points in prom.query_range(q.name, q.promql, t0, t1, step):
            seen_series = True
            for t, v in points:
                total[t] = total.get(t, 0.0) + v
        t0 = t1 + step
    if not seen_series or not total:
        if q.required:
            raise QueryFailed(
                q.name, q.promql,
                f"no data in the range {_iso(start)} .. {_iso(end)}: the series is missing (not "
                    "scraped, renamed, or a different label set) or has no samples in that range",
                hint=_escaped_names_hint(prom, q, start, end, step) or _no_data_hint(queries, q),
            )
        return ()
    return tuple(sorted(total.items()))


_PREFIXED = re.compile(r"(?<![\w:])([A-Za-z_]\w*):(\w+)")  # vllm:request_success_total


def _escaped_names_hint(prom: Prometheus, q: Query, start: float, end: float, step: float) -> str:
    """An engine's ``prefix:name`` series stored as ``prefix_name``: Python's prometheus_client
    escapes ':' to '_' when a Prometheus 2 scrapes it as OpenMetrics 1.0 without an escaping
    scheme (prometheus/client_python#1177). Asked only once the query found nothing; "" when
    the escaped spelling has no data either."""
    escaped = _PREFIXED.sub(r"\1_\2", q.promql)
    if escaped == q.promql:
        return ""
    since = max(start, end - step * (MAX_POINTS - 1))
    try:
        found = any(points for _, points in prom.query_range(q.name, escaped, since, end, step))
    except QueryFailed:
        return ""
    if not found:
        return ""
    m = _PREFIXED.search(q.promql)
    assert m is not None
    pre, name = m.group(1), f"{m.group(1)}_{m.group(2)}"
    return (
        f"Prometheus has these series as {name} ('{pre}_', not '{pre}:'): the server's "
        "prometheus_client escaped ':' for an OpenMetrics scrape by a Prometheus 2; rename them "
        "back where they are scraped (ServiceMonitor endpoint metricRelabelings: sourceLabels "
        f"[__name__], regex {pre}_(.+), targetLabel __name__, replacement {pre}:$1; the "
        f"rendered autoscaler queries and PrometheusRule read '{pre}:' too), or scrape with "
        "Prometheus 3 (docs/observe.md)"
    )


def _iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch(prom: Prometheus, queries: QuerySet, start: float, end: float, step_s: float,
        progress: Callable[[str], None] | None = None) -> Fetched:
    """Every query over [start, end]; hourly queries at hour ends. Raises QueryFailed (exit 5)."""
    h0 = math.ceil((start + 3600) / 3600) * 3600.0
    h1 = math.floor(end / 3600) * 3600.0
    series: dict[str, Points] = {}
    # one PromQL under two names (an LLM plan's queue and waiting_hourly) is asked for once
    asked: dict[tuple[str, bool], Points] = {}
    for q in queries.queries:
        if progress is not None:
            progress(q.name)
        key = (q.promql, q.hourly)
        if key in asked and (asked[key] or not q.required):
            series[q.name] = asked[key]
        elif q.hourly:
            hourly = _range(prom, q, h0, h1, 3600.0, queries) if h1 >= h0 else ()
            series[q.name] = asked[key] = hourly
        else:
            series[q.name] = asked[key] = _range(prom, q, start, end, step_s, queries)
    return Fetched(series=series, start=start, end=end, step_s=step_s, prometheus=prom.shown)
