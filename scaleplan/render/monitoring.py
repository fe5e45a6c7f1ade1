"""Monitoring rendered with a plan (docs/observe.md#monitoring): the ServiceMonitor, a
PrometheusRule with the plan as recording rules and multi-window burn-rate alerts on the
latency SLO, and a Grafana dashboard (demand vs planned capacity, latency vs SLO, replicas,
burn rate, cost) in a ConfigMap for the Grafana sidecar (``kubernetes.service_monitor: true``).
The engines' metric names and histogram buckets are engine facts, in
:mod:`scaleplan.llm.engine_metrics`. Pure: plan and the
already-built objects in, dicts out.

The latency SLI is the share of requests slower than the SLO: ``1 - rate(bucket{le=SLO}) /
rate(count)`` of the server's latency histogram, so the histogram needs a bucket at exactly the
SLO (an alert says so when it has none); on an engine whose end-to-end buckets are known
(:data:`~scaleplan.llm.engine_metrics.E2E_HISTOGRAMS`, vLLM's) an SLO between two of them
counts against one of them by the TTFT/TPOT rule below (:func:`_counted_against`). With a
p95 target the error budget is 5 % of requests; the burn-rate pairs (1h & 5m at 14.4, 6h & 30m
at 6, 1d & 2h at 3, 3d & 6h at 1) are those of Google's SRE workbook, chapter "Alerting on
SLOs". A pair whose threshold reaches 100 % of requests can never fire and is left out (low
percentiles, e.g. p50, have a large budget).

An LLM plan whose spec sets ``slo.ttft_ms`` / ``slo.tpot_ms`` gets the same burn-rate pairs on
the engine's TTFT and inter-token latency histograms (:data:`TOKEN_HISTOGRAMS`). Where the
engine's buckets are known and the SLO is not one of them (vLLM's inter-token buckets have
0.075 and 0.1, no 0.09), the SLI counts against the largest bucket at or below the SLO: the
observations between that bucket and the SLO count as slow, so the alert fires early; the
rule's annotations and a render warning say so. Except where the plan's own prediction at the
SLO percentile is above that bucket (an alert that fires at the planned load, all day, while
the SLO holds): then the smallest bucket above the SLO, so it fires late, said the same way
(:func:`planned_tail`). An SLO below every known bucket has none, and the warning says its
burn-rate alerts cannot fire.

An LLM spec with TTFT/TPOT SLOs and no ``slo.latency_ms`` has its end-to-end latency derived
(``Slo.tested_latency_ms`` None), not an SLO: no end-to-end SLI or alert (it could page while
TTFT and TPOT hold, and a server rarely has a bucket at the derived figure); the dashboard
shows the figure as derived beside the measured latency, its burn-rate panel TTFT's and TPOT's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scaleplan.llm.engine_metrics import (
    E2E_HISTOGRAMS,
    TOKEN_HISTOGRAMS,
    Buckets,
    metrics_of,
    slo_bucket,
)
from scaleplan.plan import HOURS_PER_MONTH, Plan
from scaleplan.render.engine import request_rate_queries
from scaleplan.render.metadata import COMPONENT, PORT_NAME, Entry, Obj, meta
from scaleplan.spec_class_slo import class_blind_slo

if TYPE_CHECKING:
    from scaleplan.llm.tails import TailKey

# the SLOs a burn-rate rule holds: the end-to-end latency, and an LLM's TTFT and TPOT
SloKey = Literal["latency", "ttft", "tpot"]

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (long window, short window, burn-rate factor, for, severity)
BURN = (("1h", "5m", 14.4, "2m", "critical"), ("6h", "30m", 6.0, "15m", "critical"), ("1d", "2h", 3.0, "1h", "warning"), ("3d", "6h", 1.0, "3h", "warning"))
DASHBOARD_LABEL = "grafana_dashboard"


def _num(x: float) -> str:
    return f"{x:.6g}"


def le_matcher(seconds: float) -> str:
    """The ``le`` matcher of the bucket at ``seconds``, as servers spell it. A whole number of
    seconds is ``le="60"`` from Go clients but ``le="60.0"`` from Python's prometheus_client
    (vLLM, SGLang, FastAPI instrumentators), and Prometheus 3 stores ``60.0`` whatever the
    client (its migration guide, "le and quantile label values"): match both. Other bounds
    (``0.25``) are spelled alike everywhere."""
    le = _num(seconds)
    if le.isdigit():
        return f'le=~"{le}(\\\\.0)?"'
    return f'le="{le}"'


def _by_hour(values: Sequence[float]) -> str:
    """PromQL whose value is ``values[hour()]`` (UTC): runs of equal values, one term each."""
    if len(set(values)) == 1:
        return f"vector({_num(values[0])})"
    terms = []
    h = 0
    while h < 24:
        e = h
        while e + 1 < 24 and values[e + 1] == values[h]:
            e += 1
        cond = f"hour() == {h}" if e == h else f"hour() >= {h} and hour() <= {e}"
        terms.append(f"(vector({_num(values[h])}) and on() ({cond}))")
        h = e + 1
    return " or ".join(terms)


def _hourly(plan: Plan, per_window: Callable[[int], float]) -> list[float]:
    d = plan.demand
    return [round(per_window(min(int(h // d.window_hours), d.windows - 1)), 6) for h in range(24)]


def _selector(plan: Plan, objects: Sequence[Entry]) -> str:
    ns = plan.spec.kubernetes.namespace
    services = sorted(name for kind, name, _ in objects if kind == "Service")
    if len(services) == 1:
        return f'namespace="{ns}",service="{services[0]}"'
    return f'namespace="{ns}",service=~"{"|".join(services)}"'


def _demand_expr(plan: Plan, objects: Sequence[Entry], sel: str) -> str:
    """The request rate the autoscaler scales on (the rendered KEDA request-rate triggers),
    else the counter's rate: the demand observe reads (:func:`request_rate_queries`)."""
    rates = request_rate_queries((kind, o) for kind, _, o in objects)
    if rates and plan.spec.kubernetes.autoscaler.type == "keda-prometheus":
        return " + ".join(f"({r})" for r in rates) if len(rates) > 1 else rates[0]
    return f"sum(rate({metrics_of(plan.spec.model.engine).requests}{{{sel}}}[2m]))"


def _histogram(plan: Plan) -> str:
    return metrics_of(plan.spec.model.engine).latency


def _rules(plan: Plan, objects: Sequence[Entry], warnings: list[str]) -> list[Obj]:
    spec = plan.spec
    name = spec.metadata.name
    sel = _selector(plan, objects)
    labels = {"service": name, "namespace": spec.kubernetes.namespace}
    hist = _histogram(plan)
    blind, differ = class_blind_slo(spec)  # the histograms have no class label
    lat_ms = blind["latency"] or spec.slo.latency_ms
    budget = 1 - spec.slo.percentile / 100
    # a derived latency is no SLO: no alert; nor are classes' differing ones (class_blind_slo)
    stated = blind["latency"] is not None
    if differ:
        tpot = (  # only where a class has a TPOT target: otherwise no TPOT alert is rendered
            "; the TPOT alerts use the tightest class's target, which every replica holds for all "
            "the classes it batches together" if blind["tpot"] is not None else ""
        )
        warnings.append(
            f"monitoring: the server's histograms do not tell request classes apart, so one alert "
            f"cannot hold classes to different targets: {'; '.join(differ)}, and no burn-rate "
            "alert is rendered for it (simulate judges each class against its own; to alert "
            "on it, give every class the same target, or plan each class as a spec of its "
            f"own){tpot}"
        )
    allocs = plan.allocations
    capacity = _hourly(plan, plan.capacity_rps_at)
    replicas = _hourly(plan, lambda w: float(plan.replicas_at(w)))
    cost = _hourly(plan, lambda w: sum(a.nodes_per_window[w] * a.price_per_node_hour for a in allocs))
    demand = _hourly(plan, lambda w: plan.demand.rps[w])
    plan_rules: list[Obj] = [
        {"record": "scaleplan:demand_rps", "expr": _demand_expr(plan, objects, sel), "labels": labels},
        {"record": "scaleplan:planned_demand_rps", "expr": _by_hour(demand), "labels": labels},
        {"record": "scaleplan:planned_capacity_rps", "expr": _by_hour(capacity), "labels": labels},
        {"record": "scaleplan:planned_replicas", "expr": _by_hour(replicas), "labels": labels},
        {"record": "scaleplan:planned_cost_per_hour", "expr": _by_hour(cost), "labels": labels},
        {"record": "scaleplan:replicas_up", "expr": f"count(up{{{sel}}} == 1)", "labels": labels},
        {"record": f"scaleplan:latency_p{spec.slo.percentile}_seconds:rate5m", "expr": f"histogram_quantile({_num(spec.slo.percentile / 100)}, sum by (le) (rate({hist}_bucket{{{sel}}}[5m])))", "labels": labels},
    ]
    on = f'{{service="{name}",namespace="{spec.kubernetes.namespace}"}}'
    pascal = "".join(p.capitalize() for p in name.replace("_", "-").split("-") if p) or "Service"
    burn = _Burn(plan, sel, labels, on, pascal, budget)
    # the bucket the SLI counts against: vLLM's e2e histogram has 2.5 and 5 s, no 4
    e2e = E2E_HISTOGRAMS.get(spec.model.engine or "", (hist, None))[1]
    le_s, counted, slower, said_why = _counted_against(burn, "latency", lat_ms, hist, e2e)
    at_slo = le_matcher(le_s)
    if said_why and stated:
        warnings.append(said_why)
    inside = abs(le_s * 1000.0 - lat_ms) > 1e-9  # another bound than the SLO's
    said = slo_bucket(lat_ms / 1000.0, e2e)[1] != "at"  # the annotation says which, and why
    sli, alerts = burn.rules(
        "latency", hist, at_slo, "requests", slower if said else f"{lat_ms:g} ms",
        counted if said else None, warnings,
    ) if stated else ([], [])
    alerts.append(
        {
            "alert": f"{pascal}DemandAbovePlannedCapacity",
            "expr": f"scaleplan:demand_rps{on} > on(service, namespace) scaleplan:planned_capacity_rps{on}",
            "for": "15m",
            "labels": {"severity": "warning", "service": name},
            "annotations": {
                "summary": f"{name}: demand above the plan's capacity for this hour",
                "description": "The request rate is above what the plan provisions for this UTC hour. Re-plan from what the service does: scaleplan observe --plan plan.yaml --out observed.yaml, then scaleplan optimize SPEC --observed observed.yaml.",
            },
        }
    )
    alerts += [
        {
            "alert": f"{pascal}LatencySloBucketMissing",
            "expr": f"absent({hist}_bucket{{{sel},{at_slo}}})",
            "for": "1h",
            "labels": {"severity": "warning", "service": name},
            "annotations": {
                "summary": f"{name}: no latency histogram bucket at "
                + (f"le={_num(le_s)} s" if inside else f"the SLO ({_num(le_s)} s)"),
                "description": f"The burn-rate alerts read {hist}_bucket{{{at_slo}}}; "
                + ("a server without that histogram or bucket (another engine version) leaves "
                   "them unable to fire." if inside else "add a bucket at the SLO to the "
                   "server's histogram, or the alerts cannot fire."),
            },
        }
    ] if stated else []
    token_sli, token_alerts = _token_slo_rules(burn, blind, warnings)
    alerts += token_alerts
    return [
        {"name": f"{name}.scaleplan.plan", "interval": "1m", "rules": plan_rules},
        {"name": f"{name}.scaleplan.slo", "interval": "1m", "rules": sli + token_sli},
        {"name": f"{name}.scaleplan.alerts", "rules": alerts},
    ]


@dataclass(frozen=True)
class _Burn:
    """What the burn-rate rules of every SLO (latency, TTFT, TPOT) share: the plan's SLO
    percentile and budget, the series selector and the alert names' stem."""

    plan: Plan
    sel: str
    labels: dict[str, str]
    on: str
    pascal: str
    budget: float

    def rules(
        self, key: str, hist: str, at: str, counted: str, slower: str, bucket: str | None,
        warnings: list[str] | None,
    ) -> tuple[list[Obj], list[Obj]]:
        """The SLI (one recording rule per window: the share of ``hist``'s observations above
        the bucket ``at``) and its burn-rate alerts, ``counted`` and ``slower`` their wording;
        a pair whose threshold reaches 100 % is left out, said in ``warnings`` where given."""
        name = self.plan.spec.metadata.name
        percentile = self.plan.spec.slo.percentile
        what = "latency" if key == "latency" else key.upper()
        rec = f"scaleplan:slo_{key}_bad_ratio:rate"
        sli: list[Obj] = [
            {
                "record": f"{rec}{w}",
                "expr": f"1 - (sum(rate({hist}_bucket{{{self.sel},{at}}}[{w}])) / "
                f"sum(rate({hist}_count{{{self.sel}}}[{w}])))",
                "labels": self.labels,
            }
            for w in WINDOWS
        ]
        alerts: list[Obj] = []
        for long, short, factor, hold, severity in BURN:
            threshold = factor * self.budget
            if threshold >= 1:
                if warnings is not None:
                    warnings.append(
                        f"monitoring: the {long}/{short} burn-rate alert (x{factor:g}) is left "
                        f"out: with a p{percentile} SLO its threshold would be {threshold:.0%} "
                        "of requests"
                    )
                continue
            annotations = {
                "summary": f"{name}: {what} SLO error budget burning {factor:g}x too fast "
                f"({long} and {short} windows)",
                "description": f"More than {threshold:.1%} of {counted} were slower than "
                f"{slower} over the last {long} and {short} (the p{percentile} SLO allows "
                f"{self.budget:.0%}).",
            }
            if bucket is not None:
                annotations["bucket"] = bucket
            alerts.append({
                "alert": f"{self.pascal}{key.capitalize()}BudgetBurn",
                "expr": f"{rec}{long}{self.on} > {_num(threshold)} and "
                f"{rec}{short}{self.on} > {_num(threshold)}",
                "for": hold,
                "labels": {
                    "severity": severity, "service": name, "long_window": long,
                    "short_window": short,
                },
                "annotations": annotations,
            })
        return sli, alerts


def planned_tail(plan: Plan, key: SloKey) -> tuple[float, str, int] | None:
    """The plan's own largest predicted ``key`` ("ttft" / "tpot" / "latency", ms) at its SLO
    percentile over its allocations, with the instance type and ``max_num_seqs`` (the batch
    size without an ``llm`` section); None for TTFT/TPOT of a plan without LLM predictions.
    The end-to-end latency: each allocation's operating point's at the percentile. TTFT/TPOT:
    per LLM allocation, the mean over its class mix at ``max_num_seqs`` (TPOT weighted by each
    class's share of the tokens, TTFT by its share of the requests: a class-blind histogram
    mixes them; h4's weighting, UX trial 34 F2) at the percentile by the LLM room's tail
    factor of ``key`` (:func:`scaleplan.llm.tails.tail_at`)."""
    from scaleplan.llm.tails import tail_at

    pct = plan.spec.slo.percentile
    if key == "latency":
        return max((
            (a.operating_point.latency_ms.at(pct), a.instance_type,
             a.llm.max_num_seqs if a.llm else a.operating_point.batch_size)
            for a in plan.allocations
        ), key=lambda t: t[0], default=None)
    shares = {c.name: c for c in plan.spec.traffic.classes}
    best: tuple[float, str, int] | None = None
    for a in plan.allocations:
        if a.llm is None or not a.llm.classes:
            continue
        total = mean = 0.0
        for name, p in sorted(a.llm.classes.items()):
            c = shares.get(name)
            w = (c.share if c else 1.0) * ((c.output_tokens or 1) if c and key == "tpot" else 1)
            total, mean = total + w, mean + w * (p.tpot_ms if key == "tpot" else p.ttft_ms)
        v = tail_at(key, mean / total, pct)
        if best is None or v > best[0]:
            best = (v, a.instance_type, a.llm.max_num_seqs)
    return best


def _counted_against(
    burn: _Burn, key: SloKey, ms: float, hist: str, buckets: Buckets
) -> tuple[float, str, str, str | None]:
    """The bucket bound (s) an SLO of ``ms`` on ``key`` ("latency" / "ttft" / "tpot")
    counts against, the rule's wording of it (``counted``, ``slower``) and render's warning
    (None: nothing to say). Not a bucket: the largest bucket below it (the alert fires early),
    unless the plan's own prediction at the SLO percentile is above that bucket, where
    counting from it would fire at the planned load while the SLO holds (UX trial 34 F2): then
    the smallest bucket above it (late, said). Until 2026-12-07 the end-to-end latency counted
    against the SLO itself: ``le="4"`` for a 4000 ms SLO, a bucket vLLM does not export."""
    plan, what = burn.plan, "latency" if key == "latency" else key.upper()
    whats = "latencies" if key == "latency" else f"{what}s"
    mix = "at its operating point" if key == "latency" else "over its class mix"
    le_s, how = slo_bucket(ms / 1000.0, buckets)
    if how == "at":
        return le_s, f"counted against the bucket le={_num(le_s)} s, the {what} SLO", \
            f"the {what} SLO ({ms:g} ms)", None
    if how == "none":  # below the smallest bucket: none counts it (the missing-bucket alert fires)
        least = min(buckets or ())
        return le_s, (
            f"no bucket of {hist} at or below the {what} SLO ({ms:g} ms; the smallest is "
            f"le={_num(least)} s): the SLI reads le={_num(le_s)} s, which the server does "
            "not export, so the alert cannot fire"
        ), f"the {what} SLO ({ms:g} ms)", (
            f"monitoring: the {what} SLO {ms:g} ms is below every bucket of {hist} (the "
            f"smallest is {_num(least * 1000)} ms): the {what} burn-rate alerts cannot "
            f"fire, and {burn.pascal}{key.capitalize()}SloBucketMissing does"
        )
    below, above = _num(le_s * 1000), [b for b in buckets or () if b > ms / 1000.0]
    planned = planned_tail(plan, key)
    if planned is None or planned[0] <= le_s * 1000 or not above:
        return le_s, (
            f"counted against the bucket le={_num(le_s)} s, the largest of {hist} at or "
            f"below the {what} SLO ({ms:g} ms, not a bucket): observations between "
            f"{below} and {ms:g} ms count as slow, so the alert fires early"
        ), f"{below} ms (the bucket below the {what} SLO, {ms:g} ms)", (
            f"monitoring: the {what} SLO {ms:g} ms is not a bucket of {hist}; the {what} "
            f"burn-rate alerts count observations slower than {below} ms (the "
            "largest bucket at or below the SLO) as slow, so they fire early, not late"
        )
    up, (v, itype, n) = min(above), planned
    pct = f"p{plan.spec.slo.percentile}"
    own = f"{v:.3g}" if v < 1000 else f"{v:.0f}"  # 3969 ms, not 3.97e+03
    return up, (
        f"counted against the bucket le={_num(up)} s, the smallest of {hist} above the "
        f"{what} SLO ({ms:g} ms, not a bucket): the plan's own {what} {pct} {mix} "
        f"({own} ms on {itype} at {n} sequences) is over the bucket below ({below} ms), "
        "which would count the planned load as slow; observations between "
        f"{ms:g} and {_num(up * 1000)} ms do not count as slow, so the alert fires late"
    ), f"{_num(up * 1000)} ms (the bucket above the {what} SLO, {ms:g} ms)", (
        f"monitoring: the {what} SLO {ms:g} ms is not a bucket of {hist}, and the plan's own "
        f"{what} {pct} {mix} ({own} ms on {itype} at {n} sequences) is over the "
        f"bucket below it ({below} ms): alerts counted from there would fire at the planned "
        f"load while the SLO holds. The {what} burn-rate alerts count observations slower than "
        f"{_num(up * 1000)} ms (the bucket above the SLO) as slow: they fire late, not for "
        f"{whats} between {ms:g} and {_num(up * 1000)} ms; a {what} SLO at a bucket bound "
        f"({below} or {_num(up * 1000)} ms) alerts at the SLO itself"
    )


def _token_slos(blind: Mapping[str, float | None]) -> list[tuple[TailKey, float]]:
    """The spec's TTFT and TPOT SLOs set: ("ttft" / "tpot", ms), from its class-blind targets
    ``blind`` (:func:`scaleplan.spec_class_slo.class_blind_slo`: with per-class SLOs, the ones
    a histogram without a class label can be held to)."""
    keys: tuple[TailKey, ...] = ("ttft", "tpot")
    return [(k, ms) for k in keys if (ms := blind[k])]


def _token_slo_rules(
    burn: _Burn, blind: Mapping[str, float | None], warnings: list[str]
) -> tuple[list[Obj], list[Obj]]:
    """TTFT and TPOT SLIs (one per window) and burn-rate and missing-bucket alerts, for an LLM
    spec's ``slo.ttft_ms`` / ``slo.tpot_ms`` on an engine in :data:`TOKEN_HISTOGRAMS`;
    ``blind``: the spec's class-blind targets (``class_blind_slo``)."""
    spec = burn.plan.spec
    name = spec.metadata.name
    engine = spec.model.engine or ""
    wanted = _token_slos(blind)
    stated = blind["latency"] is not None  # an end-to-end SLO, which the latency rules alert on
    if not wanted:
        return [], []
    if engine not in TOKEN_HISTOGRAMS:
        e2e = (
            "the burn-rate alerts read the end-to-end latency only"
            if stated
            else f"and slo.latency_ms is derived ({spec.slo.latency_ms:g} ms), not an SLO, so "
            "no burn-rate alert is rendered: set slo.latency_ms to alert on the end-to-end "
            "latency"
        )
        warnings.append(
            f"monitoring: no TTFT/TPOT SLO alerts: scaleplan knows no TTFT and per-token "
            f"histograms of {engine or 'this server'} (vllm and sglang have them); {e2e}"
        )
        return [], []
    if any(TOKEN_HISTOGRAMS[engine][k][1] is None for k, _ in wanted):
        bounds = ", ".join(f"{k.upper()} le={_num(ms / 1000)}" for k, ms in wanted)
        warnings.append(
            f"monitoring: the TTFT/TPOT alerts read the {engine} histograms' buckets at the SLO "
            f"({bounds} s); scaleplan does not know {engine}'s bucket bounds (they changed "
            "across releases), so where the server has no such bucket the ...SloBucketMissing "
            "alert fires and the burn-rate alerts cannot"
        )
    sli: list[Obj] = []
    alerts: list[Obj] = []
    # the pairs a low percentile leaves out, said once: by the latency's rules, where stated
    said = stated
    for key, ms in wanted:
        hist, buckets = TOKEN_HISTOGRAMS[engine][key]
        what = key.upper()
        le_s, counted, slower, said_why = _counted_against(burn, key, ms, hist, buckets)
        at = le_matcher(le_s)
        if said_why:
            warnings.append(said_why)
        k_sli, k_alerts = burn.rules(
            key, hist, at, f"{hist} observations", slower, counted, None if said else warnings,
        )
        said = True
        sli += k_sli
        alerts += k_alerts
        alerts.append({
            "alert": f"{burn.pascal}{key.capitalize()}SloBucketMissing",
            "expr": f"absent({hist}_bucket{{{burn.sel},{at}}})",
            "for": "1h",
            "labels": {"severity": "warning", "service": name},
            "annotations": {
                "summary": f"{name}: no {what} histogram bucket at le={_num(le_s)} s",
                "description": f"The {what} burn-rate alerts read {hist}_bucket{{{at}}}; a "
                "server without that histogram or bucket (another engine version) leaves them "
                "unable to fire.",
            },
        })
    return sli, alerts


def _panel(pid: int, title: str, unit: str, targets: list[tuple[str, str]], x: int, y: int, *, w: int = 12) -> Obj:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": {"type": "prometheus", "uid": "${datasource}"}} for i, (expr, legend) in enumerate(targets)],
    }


def dashboard(plan: Plan) -> Obj:
    """Grafana dashboard JSON model (schemaVersion 39) over the PrometheusRule's series."""
    spec = plan.spec
    name = spec.metadata.name
    on = f'{{service="{name}",namespace="{spec.kubernetes.namespace}"}}'
    p = spec.slo.percentile
    budget = 1 - p / 100
    blind, _ = class_blind_slo(spec)
    lat_ms = blind["latency"]
    slo = f"SLO p{p} {lat_ms or spec.slo.latency_ms:g} ms"
    burn: Obj | None
    if lat_ms is not None:
        latency = _panel(2, f"Latency p{p} vs SLO", "s", [(f"scaleplan:latency_p{p}_seconds:rate5m{on}", f"p{p}"), (f"vector({_num(lat_ms / 1000)})", "SLO")], 12, 0)
        burn = _panel(4, "Latency error budget burn rate", "short",
            [(f"scaleplan:slo_latency_bad_ratio:rate1h{on} / {_num(budget)}", "1h"),
            (f"scaleplan:slo_latency_bad_ratio:rate6h{on} / {_num(budget)}", "6h"),
            (f"scaleplan:slo_latency_bad_ratio:rate3d{on} / {_num(budget)}", "3d")], 12, 8)
    else:  # derived from TTFT/TPOT: shown as such, the burn rates those SLOs' (_token_slo_rules)
        derived = "derived from TTFT and TPOT, not an SLO"
        if spec.slo.tested_latency_ms is not None:  # classes with end-to-end targets that differ
            derived = "the top-level target; the classes' own differ, none alerted"
        latency = _panel(2, f"Latency p{p} (end-to-end)", "s", [
            (f"scaleplan:latency_p{p}_seconds:rate5m{on}", f"p{p}"),
            (f"vector({_num(spec.slo.latency_ms / 1000)})", derived),
        ], 12, 0)
        tokens = _token_slos(blind)
        keys = [k for k, _ in tokens] if spec.model.engine in TOKEN_HISTOGRAMS else []
        title = " and ".join(k.upper() for k in keys)
        burn = _panel(4, f"{title} error budget burn rate", "short", [
            (f"scaleplan:slo_{k}_bad_ratio:rate{w}{on} / {_num(budget)}", f"{k.upper()} {w}")
            for k in keys for w in ("1h", "6h", "3d")
        ], 12, 8) if keys else None
        targets = ", ".join(f"{k.upper()} {ms:g} ms" for k, ms in tokens)
        slo = f"SLO p{p}: {targets} (end-to-end {spec.slo.latency_ms:g} ms derived, not an SLO)"
    panels = [
        _panel(1, "Demand vs planned capacity (per UTC hour of the plan)", "reqps",
            [(f"scaleplan:demand_rps{on}", "demand"), (f"scaleplan:planned_capacity_rps{on}",
            "planned capacity"), (f"scaleplan:planned_demand_rps{on}", "planned demand")], 0, 0),
        latency,
        _panel(3, "Replicas: up vs planned", "short", [(f"scaleplan:replicas_up{on}", "up"), (f"scaleplan:planned_replicas{on}", "planned")], 0, 8),
        *([burn] if burn is not None else []),
        _panel(5, "Cost (planned, $ per hour and per month at this rate)", "currencyUSD", [(f"scaleplan:planned_cost_per_hour{on}", "$/h"), (f"scaleplan:planned_cost_per_hour{on} * {_num(HOURS_PER_MONTH)}", "$/month")], 0, 16, w=24),
    ]
    return {
        "title": f"{name} (scaleplan)",
        "uid": f"scaleplan-{name}"[:40],
        "tags": ["scaleplan", name],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-2d", "to": "now"},
        "refresh": "1m",
        "annotations": {"list": []},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus", "current": {}, "hide": 0}]},
        "panels": panels,
        "description": f"Plan {plan.metadata.plan_hash[:12]}: ${plan.cost_per_hour:.4f}/h average, ${plan.cost_per_month:,.2f}/month; {slo}.",
    }


def service_monitor(plan: Plan) -> Obj:
    """The ServiceMonitor that has Prometheus scrape every pod's /metrics once."""
    spec = plan.spec
    name = spec.metadata.name
    if spec.kubernetes.routing == "gateway-api":
        # no one Service over all pods: scrape through the backend Services (each pod is
        # behind exactly one of them, its allocation's or its shape's, so scraped once)
        match = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": COMPONENT}
    else:
        match = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    s = {
        "selector": {"matchLabels": match},
        "namespaceSelector": {"matchNames": [spec.kubernetes.namespace]},
        "endpoints": [{"port": PORT_NAME, "path": "/metrics", "interval": "30s", "scheme": "http"}],
    }
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta(plan, name, name), "spec": s}


def monitoring_objects(plan: Plan, objects: Sequence[Entry], warnings: list[str]) -> list[Entry]:
    """ServiceMonitor, PrometheusRule and dashboard ConfigMap for ``plan``; ``objects`` are those
    built so far (the rules read the Services and the autoscalers' queries)."""
    name = plan.spec.metadata.name
    monitor: Entry = ("ServiceMonitor", name, service_monitor(plan))
    objects = [*objects, monitor]
    rule_name = f"{name}-slo"
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": meta(plan, rule_name, name), "spec": {"groups": _rules(plan, objects, warnings)}}
    cm_name = f"{name}-dashboard"
    cm_meta = meta(plan, cm_name, name)
    cm_meta["labels"] = {**cm_meta["labels"], DASHBOARD_LABEL: "1"}
    text = json.dumps(dashboard(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": cm_meta, "data": {f"{name}-scaleplan.json": text}}
    return [monitor, ("PrometheusRule", rule_name, rule), ("ConfigMap", cm_name, cm)]
