"""What the LLM simulator reports (``simulate_llm``): per class TTFT, TPOT and end-to-end
percentiles against the SLO, attainment and goodput; per window the queue, KV use and
preemptions; per allocation the engine settings and how busy it was; the failure verdict.
JSON through :func:`scaleplan.simulate.results.jsonable`, like the request-level results."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scaleplan.simulate.results import FailureVerdict, jsonable, with_failure

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Pcts:
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    mean: float | None


@dataclass(frozen=True)
class LlmClassStats:
    name: str
    input_tokens: float
    output_tokens: float
    requests: int
    completed: int
    failed: int
    rejected: int
    ttft_ms: Pcts
    tpot_ms: Pcts
    e2e_ms: Pcts
    ttft_at_slo_pct_ms: float | None
    tpot_at_slo_pct_ms: float | None
    attainment_ttft: float | None
    attainment_tpot: float | None
    attainment_e2e: float | None  # None: slo.latency_ms derived, not an SLO
    attainment: float
    goodput_rps: float
    holds: bool
    # the class's own targets (traffic.classes[].slo over the top-level slo); None: the
    # top-level slo's, and left out of the JSON
    slo: dict[str, float] | None = None


@dataclass(frozen=True)
class LlmWindowStats:
    window: int
    start_s: float
    end_s: float
    rps: float
    replicas: int
    requests: int
    completed_in_window: int
    ttft_ms: Pcts
    tpot_ms: Pcts
    attainment: float | None
    waiting_mean: float
    waiting_max: int
    kv_used_mean: float
    kv_used_max: float
    preemptions: int
    saturated: bool
    # where classes are held to targets of their own (traffic.classes[].slo): per metric
    # ("ttft", "tpot") the class whose SLO percentile in the window is the largest share of
    # its own target, {"class", "ms", "target_ms"}; None otherwise, and left out of the JSON
    # (the window's ttft_ms mixes the classes: UX trial 31 F8)
    worst: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class LlmAllocStats:
    name: str
    accelerator: str
    capacity_type: str
    step_source: str
    max_num_seqs: int
    kv_cache_tokens: int
    token_budget: int
    requests: int
    busy: float | None
    mean_batch: float | None
    steps: int
    preemptions: int


@dataclass(frozen=True)
class LlmFailureStats(FailureVerdict):
    """The failure verdict as the token-level simulator reports it (when the lost replicas
    serve again is part of the shared verdict)."""


@dataclass(frozen=True)
class ReplicaChange:
    """An autoscaled Deployment at ``t_s``: ``replicas`` asked, ``serving`` of them serve."""

    t_s: float
    allocation: str
    replicas: int
    serving: int


@dataclass(frozen=True)
class SurgeClass:
    """One class's requests that arrived during the surge, beside all of the class's."""

    name: str
    requests: int
    attainment_ttft: float | None
    attainment_tpot: float | None
    attainment: float | None
    attainment_overall: float | None
    holds: bool


@dataclass(frozen=True)
class SurgeStats:
    """``simulate --surge`` (docs/simulate.md, "Surges"): the surge, the replicas the rendered
    autoscalers ran (``replicas``: each change), when the first pod asked for from the surge's
    start served, and the attainment of the requests arriving during the surge (before and
    after that pod served) beside the whole run's. ``holds``: every class's surge requests
    reach the target (part of the verdict)."""

    factor: float
    start_s: float
    end_s: float
    window: int
    base_rps: float
    surge_rps: float
    requests: int
    attainment: float | None
    attainment_overall: float | None
    scaled_at_s: float | None
    new_serving_at_s: float | None
    pods_added: dict[str, int]
    pod_start_basis: str
    requests_before_new: int
    attainment_before_new: float | None
    requests_after_new: int
    attainment_after_new: float | None
    classes: tuple[SurgeClass, ...]
    replicas: tuple[ReplicaChange, ...]
    holds: bool
    running_at_start: int  # replicas serving when the surge began, every allocation's
    redundancy: str  # the spec's placement.redundancy (an n+1 spare may absorb a surge)
    replicas_from: str  # autoscaler (the rendered ones react) or plan (--replicas plan)


@dataclass(frozen=True)
class LlmSimResult:
    """What ``simulate_llm`` reports; ``ok``: the SLO holds per class, no window saturates, and
    the failure scenario (if any) holds."""

    plan: str
    plan_hash: str
    mode: str
    arrivals: str
    routing: str
    lengths: str
    seed: int
    windows_simulated: tuple[int, ...]
    window_seconds: tuple[float, ...]
    slo_percentile: int
    slo_ttft_ms: float | None
    slo_tpot_ms: float | None
    slo_e2e_ms: float
    target: float
    requests: int
    completed: int
    failed: int
    rejected: int
    attainment: float
    goodput_rps: float
    meets_slo: bool
    saturated: bool
    classes: tuple[LlmClassStats, ...]
    windows: tuple[LlmWindowStats, ...]
    allocations: tuple[LlmAllocStats, ...]
    failure: LlmFailureStats | None
    series_t_s: tuple[float, ...]
    series_waiting: tuple[int, ...]
    series_running: tuple[int, ...]
    series_kv_used: tuple[float, ...]
    series_preemptions: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    replica_delta: int = 0  # replicas added (removed) in every window: a what-if, not the plan
    # a negative replica_delta kept one replica running in a window that had no more
    replica_floor: bool = False
    # slo_e2e_ms is the derived slo.latency_ms (Slo.tested_latency_ms None): reported, not judged
    slo_e2e_derived: bool = False
    surge: SurgeStats | None = None  # --surge: None (left out of the JSON) without one
    # requests refused for length: their share, the max_model_len and whether the others hold
    # (the verdict line's words); None (left out of the JSON) when none was refused
    rejected_why: str | None = None

    @property
    def ok(self) -> bool:
        failure = self.failure is None or self.failure.holds
        return self.meets_slo and not self.saturated and failure and (
            self.surge is None or self.surge.holds
        )

    def to_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, **jsonable(with_failure(dataclasses.asdict(self), self.failure))}
        if out.get("surge") is None:
            out.pop("surge", None)  # no --surge: the JSON as before the option
        if out.get("rejected_why") is None:
            out.pop("rejected_why", None)  # nothing refused: the JSON as before the field
        for c in out.get("classes", ()):
            if c.get("slo") is None:
                c.pop("slo", None)  # a class held to the top-level slo: as before the field
        for w in out.get("windows", ()):
            if w.get("worst") is None:
                w.pop("worst", None)  # one target for every class: as before the field
        return out


def pcts(x_ms: F64) -> Pcts:
    """p50, p90, p95, p99 and mean of ``x_ms`` (all None when empty)."""
    if len(x_ms) == 0:
        return Pcts(None, None, None, None, None)
    q = np.percentile(x_ms, [50, 90, 95, 99])
    return Pcts(float(q[0]), float(q[1]), float(q[2]), float(q[3]), float(x_ms.mean()))


def at_pct(x_ms: F64, pct: int) -> float | None:
    """The ``pct``-th percentile of ``x_ms`` (None when empty)."""
    return float(np.percentile(x_ms, pct)) if len(x_ms) else None
