"""The serving engines' Prometheus metrics: each engine's metric names and the bucket bounds
of vLLM's latency histograms.

Engine facts, below everything that writes or reads those series: ``render`` writes the
ServiceMonitor's rules, the KEDA triggers and the dashboard on them
(:mod:`scaleplan.render.monitoring`, :mod:`scaleplan.render.autoscaling`), ``observe`` queries
them and judges the SLOs by their buckets (:mod:`scaleplan.observe.queries`,
:mod:`scaleplan.observe.slo`).

* :data:`METRICS` / :func:`metrics_of`: each engine's metric names (:class:`EngineMetrics`),
  the generic HTTP ones (:data:`HTTP_METRICS`) for any other server;
* :data:`TOKEN_HISTOGRAMS` / :data:`E2E_HISTOGRAMS`: the engines' TTFT, per-token and
  end-to-end latency histograms with their bucket bounds where scaleplan knows them;
* :func:`slo_bucket`: the bucket bound an SLI of a latency SLO counts against.

Pure; imports nothing of scaleplan.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "E2E_HISTOGRAMS",
    "HTTP_METRICS",
    "METRICS",
    "TOKEN_HISTOGRAMS",
    "Buckets",
    "EngineMetrics",
    "metrics_of",
    "slo_bucket",
]


@dataclass(frozen=True)
class EngineMetrics:
    """An engine's own Prometheus metric names (sources in :mod:`scaleplan.observe.queries`)."""

    requests: str  # counter of completed requests
    latency: str  # end-to-end latency histogram (seconds), without _bucket
    ttft: str | None = None
    tpot: str | None = None
    running: str | None = None
    waiting: str | None = None
    kv_cache: str | None = None
    prompt_tokens: str | None = None  # histogram of prompt tokens per request (without _sum/_count)
    output_tokens: str | None = None  # histogram of generated tokens per request
    # the TPOT histogram's name in older releases of the engine, which observe falls back to
    # where a series of ``tpot`` is missing (render reads only ``tpot``)
    tpot_old: str | None = None


# any other server: the names of prometheus-fastapi-instrumentator and most HTTP middleware
HTTP_METRICS = EngineMetrics(
    requests="http_requests_total", latency="http_request_duration_seconds"
)
METRICS: dict[str, EngineMetrics] = {
    # vLLM's per-token histogram is vllm:inter_token_latency_seconds; v0.11 exports it also as
    # the deprecated vllm:time_per_output_token_seconds (hidden in v0.12, removed in v0.13,
    # vLLM PRs #24110, #32661), the only name before v0.11
    "vllm": EngineMetrics(
        "vllm:request_success_total", "vllm:e2e_request_latency_seconds",
        "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
        "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
        "vllm:request_prompt_tokens", "vllm:request_generation_tokens",
        tpot_old="vllm:time_per_output_token_seconds",
    ),
    "sglang": EngineMetrics(
        "sglang:num_requests_total", "sglang:e2e_request_latency_seconds",
        "sglang:time_to_first_token_seconds", "sglang:inter_token_latency_seconds",
        "sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage",
    ),
    # SGLang has no per-request token histograms (sglang:prompt_tokens_total counts the prefill
    # tokens processed, labelled per TP rank): observe asks it for no token lengths
    "tgi": EngineMetrics(
        "tgi_request_count", "tgi_request_duration", None,
        "tgi_request_mean_time_per_token_duration", "tgi_batch_current_size", "tgi_queue_size",
        None, "tgi_request_input_length", "tgi_request_generated_tokens",
    ),
}


def metrics_of(engine: str | None) -> EngineMetrics:
    """The engine's metric names; the generic HTTP ones for any other server (or none)."""
    return METRICS.get(engine or "", HTTP_METRICS)


# The engines' TTFT and per-token histograms (name without _bucket, from METRICS; bucket
# bounds in seconds where scaleplan knows them, else None: the SLO itself is the bound, and the
# ...SloBucketMissing alert says when the server has no such bucket). vLLM: the buckets of
# vllm/v1/metrics/loggers.py in v0.11.0, the version the examples render; its per-token
# histogram is vllm:inter_token_latency_seconds (v0.11 exports the same histogram under the
# deprecated vllm:time_per_output_token_seconds too, hidden in v0.12, removed in v0.13).
# SGLang: sglang:time_to_first_token_seconds and sglang:inter_token_latency_seconds, whose
# buckets changed across releases (and can be configured): the SLO itself.
_VLLM_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)
_VLLM_ITL_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0,
)
Buckets = tuple[float, ...] | None


def _token_histogram(engine: str, key: str) -> str:
    """The name of ``engine``'s ``ttft`` or ``tpot`` histogram in :data:`METRICS`."""
    name = getattr(METRICS[engine], key)
    assert isinstance(name, str), (engine, key)
    return name


TOKEN_HISTOGRAMS: dict[str, dict[str, tuple[str, Buckets]]] = {
    "vllm": {
        "ttft": (_token_histogram("vllm", "ttft"), _VLLM_TTFT_BUCKETS),
        "tpot": (_token_histogram("vllm", "tpot"), _VLLM_ITL_BUCKETS),
    },
    "sglang": {
        "ttft": (_token_histogram("sglang", "ttft"), None),
        "tpot": (_token_histogram("sglang", "tpot"), None),
    },
}


# vLLM's e2e_request_latency_seconds buckets (vllm/v1/metrics/loggers.py,
# request_latency_buckets; v0's stopped at 60 s): observe judges the end-to-end SLO by them
_VLLM_E2E_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
    240.0, 480.0, 960.0, 1920.0, 7680.0,
)
E2E_HISTOGRAMS: dict[str, tuple[str, Buckets]] = {
    "vllm": (METRICS["vllm"].latency, _VLLM_E2E_BUCKETS),
    "sglang": (METRICS["sglang"].latency, None),
}


def slo_bucket(slo_s: float, buckets: Buckets) -> tuple[float, str]:
    """The bucket bound the SLI counts against and how it was found: the SLO itself where the
    buckets are unknown or have it (``"at"``), else the largest bucket at or below it
    (``"below"``), else the SLO itself (``"none"``: the server then has no bucket to read, and
    the ...SloBucketMissing alert says so)."""
    if buckets is None or any(abs(b - slo_s) < 1e-12 for b in buckets):
        return slo_s, "at"
    below = [b for b in buckets if b < slo_s]
    return (max(below), "below") if below else (slo_s, "none")
