"""Which PromQL ``observe`` sends, per engine and per rendered autoscaling setup (docs/observe.md).

By default ``observe`` asks for exactly the series the rendered manifests depend on: the KEDA
ScaledObjects' request-rate queries (``keda-prometheus``), the request counter and latency
histogram the ServiceMonitor scrapes, and ``up`` of the ServiceMonitor's targets (replicas).
Every query can be replaced from a file (``--queries``); templates may use ``{selector}``,
``{quantile}``, ``{window}`` (the latency rate window) and ``{step}``.

Engine metric names (LLM plans; the server's own ``/metrics``; the table is
:data:`scaleplan.llm.engine_metrics.METRICS`, which render's monitoring queries too):

- vLLM (docs.vllm.ai "Production Metrics", design/metrics.md): ``vllm:request_success_total``,
  ``vllm:e2e_request_latency_seconds``, ``vllm:time_to_first_token_seconds``,
  ``vllm:inter_token_latency_seconds`` (TPOT; before v0.11 ``vllm:time_per_output_token_seconds``,
  which v0.11 exports too, v0.12 hides and v0.13 removed: the TPOT queries read either, see
  :func:`_either`),
  ``vllm:num_requests_running``, ``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc``
  (older releases: ``vllm:gpu_cache_usage_perc``).
- SGLang (docs.sglang.io "Production Metrics", ``--enable-metrics``): ``sglang:num_requests_total``,
  ``sglang:e2e_request_latency_seconds``, ``sglang:time_to_first_token_seconds``,
  ``sglang:inter_token_latency_seconds``, ``sglang:num_running_reqs``, ``sglang:num_queue_reqs``,
  ``sglang:token_usage``.
- TGI (huggingface.co/docs/text-generation-inference/reference/metrics): ``tgi_request_count``,
  ``tgi_request_duration``, ``tgi_request_mean_time_per_token_duration``, ``tgi_queue_size``,
  ``tgi_batch_current_size`` (TGI has no TTFT histogram).
- Tokens per request (hourly means, for LLM plans): vLLM ``vllm:request_prompt_tokens`` and
  ``vllm:request_generation_tokens``, TGI ``tgi_request_input_length`` and
  ``tgi_request_generated_tokens`` (histograms: ``_sum`` / ``_count``). SGLang exports only
  token counters (``sglang:prompt_tokens_total``, prefill tokens processed, per TP rank), which
  do not give tokens per request: no token query for it.
- Any other server: ``http_requests_total`` and ``http_request_duration_seconds`` (the names of
  prometheus-fastapi-instrumentator and most HTTP middleware), GPU utilisation from the DCGM
  exporter (``DCGM_FI_DEV_GPU_UTIL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scaleplan.errors import InputError, Problem
from scaleplan.llm.engine_metrics import EngineMetrics, metrics_of
from scaleplan.plan import Plan
from scaleplan.render.engine import pods_of, request_rate_queries

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.render import RenderedObject

Kind = Literal["rate", "count", "latency", "gauge", "ms"]
LATENCY_WINDOW = "5m"
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"


@dataclass(frozen=True)
class Query:
    name: str
    promql: str
    kind: Kind
    required: bool
    hourly: bool = False  # evaluated at hour ends with a 1 h step
    unit: str = ""
    source: str = ""  # where the default came from (rendered object or engine)
    allocation: str | None = None  # per-allocation capacity series (plans with several allocations)


@dataclass(frozen=True)
class QuerySet:
    queries: tuple[Query, ...]
    engine: str | None
    selector: str
    # whether the plan rendered a ServiceMonitor to have the pods scraped; without one, the
    # no-data hint says which labels the queries assume
    service_monitor: bool = False

    def by_name(self) -> dict[str, Query]:
        return {q.name: q for q in self.queries}


def _rendered(plan: Plan, catalog: Catalog) -> tuple[list[str], list[str], dict[str, str]]:
    """The KEDA Prometheus request-rate trigger queries, the Services of the model servers'
    pods (not the endpoint picker's: its pod would count as a replica, UX trial 22 F6), and the
    Deployment of each allocation (allocation name -> Deployment name), as rendered. (The
    engine triggers, requests in flight and KV-cache use, are not rates.)"""
    from scaleplan.kube.safety import sanitize_dns_label
    from scaleplan.render import render_report

    report = render_report(plan, catalog)
    names = {sanitize_dns_label(a.name): a.name for a in plan.allocations}
    deployments = {names[o.name]: o.name for o in report.objects if o.kind == "Deployment"
        and o.name in names}
    rates = request_rate_queries((o.kind, o.obj) for o in report.objects)
    return rates, model_services(report.objects, names), deployments


def model_services(objects: Sequence[RenderedObject], deployments: Iterable[str]) -> list[str]:
    """The rendered Services whose selector picks the pods of ``deployments`` (the model
    servers'), in render's order: not a Service of other pods, such as the endpoint picker's
    (``NAME-epp``, the same app.kubernetes.io/name), whose pod is no replica."""
    names = set(deployments)
    pods = [
        o.obj["spec"]["template"]["metadata"].get("labels", {})
        for o in objects
        if o.kind == "Deployment" and o.name in names
    ]
    return [
        o.name
        for o in objects
        if o.kind == "Service"
        and any((o.obj.get("spec", {}).get("selector") or {}).items() <= p.items() for p in pods)
    ]


def build_queries(plan: Plan, catalog: Catalog, overrides: Mapping[str, str] | None = None, *,
        step_s: float = 300.0) -> QuerySet:
    """The default queries for ``plan`` (as rendered with ``catalog``), with ``overrides``
    (name -> PromQL template) applied."""
    spec = plan.spec
    ns = spec.kubernetes.namespace
    engine = spec.model.engine
    em = metrics_of(engine)
    rates, services, deployments = _rendered(plan, catalog)
    if len(services) == 1:
        selector = f'namespace="{ns}",service="{services[0]}"'
    else:
        selector = f'namespace="{ns}",service=~"{"|".join(sorted(services))}"'
    step = f"{int(step_s)}s"
    # the subquery for an hour's mean takes the steps in (t-1h, t]: its range is one step short
    # of an hour because Prometheus 2.x includes the left edge (it would add the previous hour)
    hour_range = f"{int(3600 - step_s)}s"
    q = spec.slo.percentile / 100
    if rates and spec.kubernetes.autoscaler.type == "keda-prometheus":
        rate_expr = " + ".join(f"({r})" for r in rates) if len(rates) > 1 else rates[0]
        rate_src = "the rendered ScaledObjects' prometheus triggers"
    else:
        rate_expr = _request_rate(em.requests, selector)
        rate_src = f"{em.requests} of the ServiceMonitor's targets"
    hist = f"{em.latency}_bucket{{{selector}}}"
    out: list[Query] = [
        Query("demand", rate_expr, "rate", True, unit="rps", source=rate_src),
        Query("demand_hourly", _hour_mean(rate_expr, hour_range, step), "rate", True, hourly=True,
            unit="rps", source=rate_src),
        Query("replicas", _pods_up(selector), "count", True, unit="pods",
            source="up of the ServiceMonitor's targets"),
        Query("latency", _latency_quantile(q, em.latency, selector), "latency", True, unit="s",
            source=f"{em.latency} histogram"),
        Query("latency_hourly", f"histogram_quantile({q:g}, sum by (le) (increase({hist}[1h])))",
            "latency", True, hourly=True, unit="s", source=f"{em.latency} histogram"),
        Query(BEYOND_TOP_BUCKET, _beyond_top_bucket(em.latency, selector), "gauge", False,
              hourly=True, unit="fraction", source=f"{em.latency} histogram"),
    ]
    if len(deployments) > 1:
        # several allocations behind the Service(s): capacity per allocation from its pods'
        # series (the ServiceMonitor labels every series with the pod it came from)
        for alloc, dep in sorted(deployments.items()):
            psel = f'{selector},pod=~"{pods_of(dep)}"'
            out.append(Query(f"demand@{alloc}", _request_rate(em.requests, psel), "rate", False,
                unit="rps", source=f"{em.requests} of {dep}'s pods", allocation=alloc))
            out.append(Query(f"replicas@{alloc}", _pods_up(psel), "count", False, unit="pods",
                source=f"up of {dep}'s pods", allocation=alloc))
            out.append(Query(f"latency@{alloc}", _latency_quantile(q, em.latency, psel), "latency",
                False, unit="s", source=f"{em.latency} of {dep}'s pods", allocation=alloc))
    pods = "|".join(sorted(deployments.values()))
    if any(a.gpus_per_replica > 0 for a in plan.allocations):
        out.append(Query("gpu_utilization", _hourly_gauge(GPU_UTIL, f'namespace="{ns}",pod=~"({pods})-.*"', hour_range, step, "avg"), "gauge", False, hourly=True, unit="%", source="DCGM exporter"))
    for name, metric, old, kind, unit in (("ttft", em.ttft, None, "latency", "s"),
            ("tpot", em.tpot, em.tpot_old, "latency", "s")):
        if metric is not None and engine is not None:
            inc = _either(metric, old, "_bucket", selector)
            out.append(Query(name, f"histogram_quantile({q:g}, sum by (le) ({inc}))", kind, False, hourly=True, unit=unit, source=f"{engine} {_names(metric, old)}"))  # type: ignore[arg-type]
    if engine is not None:  # capacity at the TTFT/TPOT SLOs where the e2e limits differ
        out += _token_latency_queries(plan, em, selector, engine, q)
    for name, metric, agg in (("concurrency", em.running, "sum"), ("queue", em.waiting, "sum"),
            ("kv_cache", em.kv_cache, "avg")):
        if metric is not None and engine is not None:
            out.append(Query(name, _hourly_gauge(metric, selector, hour_range, step, agg), "gauge",
                False, hourly=True, unit="", source=f"{engine} {metric}"))
    if engine is not None:
        out += _llm_queries(em, selector, engine, step, hour_range)
        if len(deployments) > 1:  # per allocation: the LLM model's calibration points per shape
            for alloc, dep in sorted(deployments.items()):
                psel = f'{selector},pod=~"{pods_of(dep)}"'
                out += _llm_queries(em, psel, engine, step, hour_range, alloc=alloc, dep=dep)
    return QuerySet(_apply(out, overrides or {}, selector=selector, quantile=q, step=step,
        hour_range=hour_range), engine, selector, spec.kubernetes.service_monitor)


def _token_latency_queries(
    plan: Plan, em: EngineMetrics, selector: str, engine: str, q: float
) -> list[Query]:
    """``ttft_latency`` / ``tpot_latency``: the TTFT / TPOT percentile per step (over
    :data:`LATENCY_WINDOW`), for plans whose classes' end-to-end limits differ: observe reads
    their capacity at those SLOs (:func:`scaleplan.observe.slo.token_capacity_targets`)."""
    from scaleplan.observe.slo import token_capacity_targets

    out = []
    for key in token_capacity_targets(plan):
        metric, old = (em.ttft, None) if key == "ttft" else (em.tpot, em.tpot_old)
        if metric is not None:
            rate = _either(metric, old, "_bucket", selector, LATENCY_WINDOW, "rate")
            promql = f"histogram_quantile({q:g}, sum by (le) ({rate}))"
            source = f"{engine} {_names(metric, old)}"
            out.append(Query(f"{key}_latency", promql, "latency", False, unit="s", source=source))
    return out


def _llm_queries(em: EngineMetrics, selector: str, engine: str, step: str, hour_range: str, *,
        alloc: str | None = None, dep: str | None = None) -> list[Query]:
    """Hourly means an LLM plan is checked and calibrated with (``optimize --observed``): tokens
    per request (the prompt and generation histograms' sum / count), mean TTFT and TPOT, and
    the replicas up (the hour's mean, as the demand's). With ``alloc``: the same over one
    allocation's pods (``<name>@<allocation>``), with its demand and requests running."""
    at = f"@{alloc}" if alloc is not None else ""
    whose = f" of {dep}'s pods" if dep is not None else ""
    out = [Query(f"replicas_hourly{at}", _hour_mean(_pods_up(selector), hour_range, step), "gauge",
        False, hourly=True, unit="pods", source=f"up of the ServiceMonitor's targets{whose}",
        allocation=alloc)]
    if em.waiting is not None:  # the queue ahead of admission, which a TTFT holds
        source = f"{engine} {em.waiting}{whose}"
        out.append(Query(f"waiting_hourly{at}",
            _hourly_gauge(em.waiting, selector, hour_range, step), "gauge", False, hourly=True,
            source=source, allocation=alloc))
    if alloc is not None:
        out.append(Query(f"demand_hourly{at}",
            _hour_mean(_request_rate(em.requests, selector), hour_range, step), "rate", False,
            hourly=True, unit="rps", source=f"{em.requests}{whose}", allocation=alloc))
        if em.running is not None:
            out.append(Query(f"concurrency{at}", _hourly_gauge(em.running, selector, hour_range,
                step), "gauge", False, hourly=True, source=f"{engine} {em.running}{whose}",
                allocation=alloc))
    for name, metric, old, unit in (("prompt_tokens", em.prompt_tokens, None, "tokens"),
            ("output_tokens", em.output_tokens, None, "tokens"), ("ttft_mean", em.ttft, None, "s"),
            ("tpot_mean", em.tpot, em.tpot_old, "s")):
        if metric is not None:
            mean = (f"sum({_either(metric, old, '_sum', selector)}) / "
                f"sum({_either(metric, old, '_count', selector)})")
            out.append(Query(f"{name}{at}", mean, "gauge", False, hourly=True, unit=unit,
                source=f"{engine} {_names(metric, old)} (sum / count){whose}", allocation=alloc))
    return out


def _either(
    metric: str, old: str | None, suffix: str, selector: str, window: str = "1h",
    fn: str = "increase",
) -> str:
    """The hour's increase of histogram series ``metric<suffix>``, or, for a series (label set)
    it lacks, of ``old<suffix>``: the name the engine's older releases export (PromQL ``or``,
    one query: fetch runs each query once and a second query tried on no data would need a
    fallback step of its own; ``or`` also falls back per pod, in a fleet half upgraded).
    ``increase`` drops the metric name, so where a server exports both names (vLLM v0.11) the
    two series match and only ``metric``'s is counted, never both. ``fn`` over ``window``: the
    step-wise ``ttft_latency`` / ``tpot_latency`` read ``rate`` over the latency window."""
    new = f"{fn}({metric}{suffix}{{{selector}}}[{window}])"
    return new if old is None else f"{new} or {fn}({old}{suffix}{{{selector}}}[{window}])"


def _names(metric: str, old: str | None) -> str:
    """A query's metric as its ``source`` says it: with the older name it falls back to."""
    return metric if old is None else f"{metric} (or {old})"


def _request_rate(metric: str, selector: str) -> str:
    """Requests per second over the pods ``selector`` picks (the request counter's 2-minute
    rate, summed)."""
    return f"sum(rate({metric}{{{selector}}}[2m]))"


def _pods_up(selector: str) -> str:
    """The pods ``selector`` picks that are up (scraped)."""
    return f"count(up{{{selector}}} == 1)"


def _hour_mean(expr: str, hour_range: str, step: str) -> str:
    """``expr``'s mean over each hour: a subquery over the steps in (t-1h, t] (``hour_range``
    is one step short of an hour: Prometheus 2.x includes the left edge)."""
    return f"avg_over_time(({expr})[{hour_range}:{step}])"


def _latency_quantile(q: float, metric: str, selector: str) -> str:
    """The ``q`` quantile of latency histogram ``metric`` over :data:`LATENCY_WINDOW`, the pods
    ``selector`` picks pooled."""
    rate = f"rate({metric}_bucket{{{selector}}}[{LATENCY_WINDOW}])"
    return f"histogram_quantile({q:g}, sum by (le) ({rate}))"


def _hourly_gauge(metric: str, selector: str, hour_range: str, step: str, agg: str = "sum") -> str:
    """An engine gauge's mean over each hour of its ``agg`` (sum) over the pods ``selector``
    picks, at each step: the PromQL of ``concurrency``, ``queue`` and ``kv_cache`` and of the
    LLM calibration's ``waiting_hourly`` (the same series as ``queue``; fetch asks for it once)
    and per-allocation ``concurrency@``. Aggregated first, then averaged over the hour's steps,
    as ``replicas_hourly`` counts the pods up: a pod up for 5 minutes of the hour weighs 5
    minutes in both. Until 2026-12-07 it was ``sum(avg_over_time(gauge[1h]))``, each pod's
    own mean summed, so a pod scaled in at the hour's start (one sample in the hour) counted
    its whole running as if it had served the hour: concurrency per replica read up to 50 %
    high in the hours after a scale-in and the LLM calibration took the server for slower
    than it was (UX trial 29 F2)."""
    return _hour_mean(f"{agg}({metric}{{{selector}}})", hour_range, step)


BEYOND_TOP_BUCKET = "latency_beyond_top_bucket"


def _beyond_top_bucket(histogram: str, selector: str) -> str:
    """The hour's share of requests slower than the histogram's largest finite bucket (the
    ``+Inf`` count less the largest finite one; buckets are cumulative). Where it exceeds
    1 - the SLO's quantile, ``histogram_quantile`` returned that bucket's bound: the hour's
    percentile was at least that, not that."""
    def inc(le: str) -> str:
        return f'increase({histogram}_bucket{{{selector},le{le}"+Inf"}}[1h])'

    total = f"sum({inc('=')})"
    return f"({total} - max(sum by (le) ({inc('!=')}))) / {total}"


def _apply(queries: list[Query], overrides: Mapping[str, str], *, selector: str, quantile: float,
        step: str, hour_range: str) -> tuple[Query, ...]:
    known = {x.name for x in queries}
    bad = [Problem(name, f"no query named {name!r}", hint=f"use one of: {', '.join(sorted(known))}")
        for name in sorted(overrides) if name not in known]
    if bad:
        raise InputError("--queries", bad)
    out: list[Query] = []
    for x in queries:
        if x.name not in overrides:
            out.append(x)
            continue
        tmpl = overrides[x.name]
        try:
            text = tmpl.format(selector=selector, quantile=f"{quantile:g}", window=LATENCY_WINDOW,
                step=step)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError("--queries", [Problem(x.name, f"template cannot be filled: {exc}",
                hint="use only {selector}, {quantile}, {window} and {step}; write other braces "
                "as {{ and }}")]) from None
        out.append(Query(x.name, text, x.kind, x.required, x.hourly, x.unit, source="override",
            allocation=x.allocation))
    if "latency_hourly" in overrides and BEYOND_TOP_BUCKET not in overrides:  # another histogram
        out = [x for x in out if x.name != BEYOND_TOP_BUCKET]
    if ("demand" in overrides
            and "demand_hourly" not in overrides):  # the hourly mean of the new rate
        rate = next(x for x in out if x.name == "demand").promql
        out = [Query(x.name, _hour_mean(rate, hour_range, step), x.kind, x.required, x.hourly,
            x.unit, "override") if x.name == "demand_hourly" else x for x in out]
    return tuple(out)


def read_overrides(path: str) -> dict[str, str]:
    """``observe --queries FILE``: a mapping of query name -> PromQL template."""
    from scaleplan.yamlio import load_yaml

    data: object = load_yaml(path, what="queries file").data
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k,
            v in data.items()):
        hint = ("e.g. `latency: histogram_quantile({quantile}, sum by (le) "
            "(rate(my_latency_bucket{{{selector}}}[{window}])))`")
        raise InputError(path, [Problem("", "expected a mapping of query name -> PromQL template",
            hint=hint)])
    return dict(data)
