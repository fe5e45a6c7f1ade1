"""Observed format v1 (``kind: Observed``): what ``scaleplan observe`` learnt from Prometheus.

It holds the hourly demand curve (a quantile across the days seen), the capacity per replica
the service showed where it ran near its latency limit, the SLO as observed, the exact queries
used, and the running plan (so that ``optimize --observed`` can show the change against it).
No clock reads: the time range is an input, so the same data gives a byte-identical file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from scaleplan.errors import InputError
from scaleplan.file_kinds import refuse_other_kind
from scaleplan.plan import Plan
from scaleplan.problems import (
    StrictModel,
    format_json_schema,
    validate_document,
)
from scaleplan.yamlio import Document, dump_yaml, load_yaml

Hourly = tuple[float | None, ...]


class ObservedMeta(StrictModel):
    service: str = Field(description="Service name (the plan's spec.metadata.name).")
    namespace: str
    plan_hash: str = Field(description="plan_hash of the running plan that was observed.")
    prometheus: str = Field(description="Prometheus base URL (without credentials).")
    start: str = Field(description="Start of the observed range (UTC, ISO 8601).")
    end: str = Field(description="End of the observed range (UTC, ISO 8601).")
    step_seconds: float = Field(gt=0, description="Resolution of the range queries.")
    engine: str | None = Field(default=None, description="LLM engine whose metric names were used "
        "(vllm, sglang, tgi), if any.")


class ObservedDemand(StrictModel):
    hourly_rps: tuple[float, ...] = Field(description="Requests/s per UTC hour 0..23: the quantile "
        "below of that hour's mean rate across the days seen.",
        json_schema_extra={"minItems": 24, "maxItems": 24})
    quantile: float = Field(gt=0, le=1, description="Quantile across days (0.5 = a typical day, "
        "0.9 = a busy one).")
    days_seen: tuple[int, ...] = (Field(description="Per hour: how many days had data "
        "for that hour.", json_schema_extra={"minItems": 24, "maxItems": 24}))
    days: int = Field(ge=0, description="Distinct days with any data.")
    peak_rps: float = Field(ge=0)
    planned_rps: tuple[float, ...] = Field(default=(), description="The running plan's demand per "
        "hour, for comparison.")


class AllocationCapacity(StrictModel):
    """Capacity per replica of one allocation, from its own pods' series."""

    allocation: str
    instance_type: str
    accelerator: str
    rps_per_replica: float | None = Field(default=None, description="Requests/s one of its "
        "replicas served at the SLO latency; None: never near the limit.")
    method: Literal["regression", "median", "bracket", "none"]
    points_near_limit: int = Field(ge=0)
    max_rps_per_replica: float = Field(ge=0)
    above_slo_from_rps_per_replica: float | None = Field(
        default=None,
        description="Method bracket: the lowest requests/s per replica at which the latency "
        "was above the band.",
    )
    planned_rps_per_replica: float = Field(gt=0)
    ratio: float | None = None


class ObservedCapacity(StrictModel):
    rps_per_replica: float | None = Field(default=None, description="Requests/s one replica served "
        "when the latency percentile was at the SLO; None when the service never ran "
        "near its limit.")
    at_latency_ms: float | None = Field(default=None, description="Latency (at the SLO percentile) "
        "the capacity refers to.")
    points_near_limit: int = Field(ge=0, description="Samples within the band around the SLO the "
        "estimate used.")
    band: tuple[float, float] = Field(description="Latency band (fraction of the SLO) counted as "
        "near the limit.")
    method: Literal["regression", "median", "bracket", "none"] = Field(description="regression: "
        "requests/s per replica regressed on latency, read at the SLO; median: too few points to "
        "regress, median of the band; bracket: the band's points too few or in too thin a sliver, "
        "but every step up to rps_per_replica held the SLO and every step from "
        "above_slo_from_rps_per_replica (at most 10 % more) was above the band: the most load "
        "held; none: no estimate.")
    max_rps_per_replica: float = Field(ge=0, description="The highest requests/s per replica seen "
        "(any latency).")
    above_slo_from_rps_per_replica: float | None = Field(
        default=None,
        description="Method bracket: the lowest requests/s per replica at which the latency "
        "was above the band (the capacity lies between rps_per_replica and this).",
    )
    latency_at_max_ms: float | None = None
    at_slos: dict[str, float] | None = Field(
        default=None,
        description="Where the classes' end-to-end limits differ: the TTFT / TPOT SLOs (ttft, "
        "tpot: ms at the percentile) the capacity was read at instead, each step at the one "
        "nearest its target (at_latency_ms and latency_at_max_ms are then None); None: read "
        "at the end-to-end latency.",
    )
    share_of_slo_at_max: float | None = Field(
        default=None,
        description="With at_slos: the binding TTFT / TPOT percentile at the most load seen, "
        "as a share of its target (above 1: above it).",
    )
    planned_rps_per_replica: float = Field(gt=0, description="What the running plan assumed "
        "(replica-weighted over its allocations at peak).")
    ratio: float | None = Field(default=None, description="Observed / planned capacity per "
        "replica; < 1: the profile over-states capacity.")
    accelerators: tuple[str, ...] = ()
    instance_types: tuple[str, ...] = ()
    allocations: tuple[AllocationCapacity, ...] = Field(default=(), description="Per allocation, "
        "when the plan has several and their pods' series were found.")

    def read_at(self, percentile: int) -> str:
        """What the capacity was read at: "TPOT p95 60 ms" (``at_slos``, several joined by
        " and "), else "p95 25500 ms" (the end-to-end latency; "" without one)."""
        if self.at_slos:
            slos = self.at_slos.items()
            return " and ".join(f"{k.upper()} p{percentile} {v:g} ms" for k, v in slos)
        return f"p{percentile} {self.at_latency_ms:g} ms" if self.at_latency_ms is not None else ""

    def ran_above_limit(self, slo_ms: float) -> bool:
        """Whether the latency at the most load seen was above the SLO's ``slo_ms``: a service
        with no capacity estimate then ran past its limit, not below it all along."""
        if self.at_slos:  # the binding TTFT / TPOT percentile's share of its target
            return self.share_of_slo_at_max is not None and self.share_of_slo_at_max > 1
        return self.latency_at_max_ms is not None and self.latency_at_max_ms > slo_ms

    def not_near_limit(self, slo_ms: float) -> str:
        """How a service with no capacity estimate ran against its latency limit, as the notes,
        the report and ``optimize --observed`` say it ("never ran near it" of a service that
        ran above it read as a contradiction, ux7)."""
        if self.points_near_limit:  # near it, in too thin a latency sliver (the report's words)
            return (
                f"had {self.points_near_limit} points near its latency limit, too alike in "
                "latency to read it at the SLO"
            )
        if self.ran_above_limit(slo_ms):
            return "ran above its latency limit, never near it"
        return "never ran near its latency limit"


class ObservedSlo(StrictModel):
    percentile: int
    latency_ms: float = Field(gt=0, description="The spec's target.")
    hourly_latency_ms: Hourly = Field(description="Per UTC hour: the median across days of that "
        "hour's latency percentile (None: no data).")
    worst_hour_ms: float | None = None
    worst_beyond_buckets: bool = Field(
        default=False,
        description="The worst hour's percentile lay beyond the latency histogram's largest "
        "finite bucket: worst_hour_ms is that bucket's bound, a lower bound.",
    )
    hours_seen: int = Field(ge=0, description="(day, hour) cells with latency data.")
    hours_above: int = Field(ge=0, description="Cells whose hourly latency percentile was "
        "above the target.")
    peak_hours: tuple[int, ...] = Field(description="Hours of day with demand at or above 80 % of "
        "the curve's peak.")
    peak_hours_seen: int = Field(ge=0)
    peak_hours_above: int = Field(ge=0)
    top_bucket_ms: float | None = Field(
        default=None, gt=0,
        description="The latency histogram's largest finite bucket, where some hour's "
        "percentile lay beyond it (histogram_quantile returned this bound there); of the "
        "undecided hours when there are some (buckets that changed over the window).",
    )
    hours_undecided: int = Field(
        default=0, ge=0,
        description="Cells whose percentile lay beyond the histogram's largest finite bucket "
        "while that bucket is below the target: their reading is the bucket's bound, so whether "
        "they met the target cannot be told (not counted in hours_above).",
    )
    peak_hours_undecided: int = Field(default=0, ge=0)
    slo_bucket_ms: tuple[float, float] | None = Field(
        default=None,
        description="The bounds of the latency histogram's bucket that holds the target "
        "strictly inside, where its buckets are known (vLLM's e2e_request_latency_seconds); "
        "absent otherwise.",
    )
    hours_inside: int | None = Field(
        default=None, ge=0,
        description="With slo_bucket_ms: cells whose percentile read inside that bucket. "
        "histogram_quantile interpolates linearly there, so whether they met the target cannot "
        "be told (not counted in hours_above).",
    )
    peak_hours_inside: int | None = Field(default=None, ge=0)


class ObservedExtra(StrictModel):
    """An optional series (queue length, concurrency, GPU utilisation, TTFT, KV cache, ...)."""

    unit: str
    hourly: Hourly = Field(description="Per UTC hour: the median across days of the hourly mean.")
    mean: float | None = None
    max: float | None = None


class LlmHour(StrictModel):
    """One UTC hour of an LLM service on one serving shape (service-wide, or one allocation's
    pods): the medians across days of that hour's means. ``optimize --observed`` calibrates
    the LLM model with these points."""

    hour: int = Field(ge=0, le=23)
    accelerator: str | None = Field(default=None, description="The serving shape's accelerator "
        "(None: the one of ObservedLlm).")
    gpus_per_replica: int | None = Field(default=None, ge=1)
    allocation: str | None = Field(default=None, description="The allocation whose pods' series "
        "gave the point (plans with several shapes); None: service-wide.")
    replicas: float = Field(gt=0, description="Replicas up (the hour's mean).")
    rps_per_replica: float = Field(gt=0, description="Requests/s one replica completed.")
    concurrency_per_replica: float = Field(gt=0, description="Requests running on one replica (the "
        "engine's gauge, the hour's mean).")
    waiting_per_replica: float | None = Field(
        default=None, ge=0,
        description="Requests waiting for admission on one replica (the hour's mean); their wait, "
            "waiting / requests per second (Little's law), is part of the observed TTFT.",
    )
    prompt_tokens: float | None = Field(default=None, gt=0, description="Mean prompt tokens "
        "per request.")
    output_tokens: float | None = Field(default=None, gt=0, description="Mean generated tokens "
        "per request.")
    ttft_ms: float | None = Field(default=None, gt=0, description="Mean time to first token.")
    tpot_ms: float | None = Field(default=None, gt=0, description="Mean time per output token.")


class ObservedLlm(StrictModel):
    """What the engine's own series said about an LLM service (tokens per request, and the
    hourly points the LLM model can be calibrated with)."""

    prompt_tokens: float | None = Field(default=None, gt=0, description="Mean prompt tokens per "
        "request over the range (request-weighted).")
    output_tokens: float | None = Field(default=None, gt=0, description="Mean generated tokens per "
        "request over the range (request-weighted).")
    accelerator: str | None = Field(default=None, description="The one serving shape the running "
        "plan used (None: several, each hour names its own, or none).")
    gpus_per_replica: int | None = Field(default=None, ge=1)
    hours: tuple[LlmHour, ...] = Field(default=(), description="Per UTC hour (and allocation, with "
        "several shapes) with TTFT or TPOT, requests running, replicas and demand: the "
        "calibration points.")
    note: str | None = Field(default=None, description="Why there are no calibration points, when "
        "there are none.")


class Observed(StrictModel):
    apiVersion: Literal["scaleplan/v1"] = "scaleplan/v1"
    kind: Literal["Observed"] = "Observed"
    metadata: ObservedMeta
    queries: dict[str, str] = Field(description="Query name -> the exact PromQL sent.")
    demand: ObservedDemand
    capacity: ObservedCapacity
    slo: ObservedSlo
    extras: dict[str, ObservedExtra] = Field(default_factory=dict,
        description="Optional series that had data.")
    llm: ObservedLlm | None = Field(default=None, description="LLM plans (an engine's metrics): "
        "tokens per request and the model's calibration points.")
    missing: tuple[str, ...] = Field(default=(), description="Optional queries that "
        "returned no data.")
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = Field(
        default=(),
        description="What the observation cannot tell (a latency histogram that stops below "
        "the SLO).",
    )
    running_plan: Plan = Field(description="The plan that was running (the --plan file).")


def observed_json_schema() -> dict[str, Any]:
    return format_json_schema(Observed, "observed", "scaleplan Observed v1")


def observed_to_dict(obs: Observed) -> dict[str, Any]:
    return obs.model_dump(mode="json", exclude_none=True)


def dump_observed(obs: Observed) -> str:
    return dump_yaml(observed_to_dict(obs))


def parse_observed(doc: Document) -> Observed:
    refuse_other_kind(doc, "Observed", InputError)
    return validate_document(Observed, doc, InputError)


def read_observed(path: str | Path) -> Observed:
    return parse_observed(load_yaml(path, what="observed"))
