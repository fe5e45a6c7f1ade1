"""What ``simulate(plan, ...)`` reports (request-level): latency statistics per window, per
allocation and after a failure, the verdict, and :func:`jsonable`, the byte-stable JSON form
that the LLM simulator's results use too."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class LatencyStats:
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None
    max: float | None


@dataclass(frozen=True)
class WindowStats:
    window: int
    start_s: float
    end_s: float
    rps: float
    replicas: dict[str, int]
    requests: int
    failed: int
    attainment: float | None
    latency_ms: LatencyStats
    queue_mean: float
    queue_max: int
    utilization: float | None


@dataclass(frozen=True)
class AllocationStats:
    name: str
    accelerator: str
    capacity_type: str
    batch_size: int
    service_ms: float
    sigma: float
    requests: int
    attainment: float | None
    latency_ms: LatencyStats
    utilization: float | None
    mean_batch: float | None
    queue_mean: float
    queue_max: int


def json_after(name: str) -> dict[str, str]:
    """Field metadata: in the JSON, this field follows ``name`` (:class:`FailureVerdict`)."""
    return {"json_after": name}


@dataclass(frozen=True)
class FailureVerdict:
    """The failure scenario (``--fail``) as both simulators report it: what was lost when, how
    the requests after it fared, and whether the plan held. :class:`FailureStats` (request
    level) and the LLM simulator's ``LlmFailureStats`` build on it with their own fields.

    The JSON keeps each report's documented key order: a subclass's field whose metadata names
    ``json_after`` follows that field instead of coming after the inherited ones.
    """

    mode: str
    at_s: float
    window: int
    lost: dict[str, int]
    # when the lost replicas serve again (:func:`scaleplan.simulate.failures.recovery`; inf: never)
    replacement_s: float = field(metadata=json_after("lost"))
    replacement_basis: str = field(metadata=json_after("replacement_s"))
    back_at_s: float = field(metadata=json_after("replacement_basis"))
    requests_after: int
    failed_requests: int
    attainment_after: float | None
    redundancy: str
    claim_tested: bool
    holds: bool
    # the requests that arrived while the lost replicas were missing (failures.outage_attainment)
    requests_during: int = field(metadata=json_after("attainment_after"))
    attainment_during: float | None = field(metadata=json_after("requests_during"))

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` with the keys in the JSON's order (see the class)."""
        plain = dataclasses.asdict(self)
        keys = [f.name for f in dataclasses.fields(self) if "json_after" not in f.metadata]
        for f in dataclasses.fields(self):
            if "json_after" in f.metadata:
                keys.insert(keys.index(f.metadata["json_after"]) + 1, f.name)
        return {k: plain[k] for k in keys}


@dataclass(frozen=True)
class FailureStats(FailureVerdict):
    latency_after_ms: LatencyStats = field(metadata=json_after("attainment_after"))
    static_weight_failures: int = 0  # requests the HTTPRoute's fixed weights sent to an allocation without pods


@dataclass(frozen=True)
class SimResult:
    plan: str
    plan_hash: str
    arrivals: str
    policy: str
    seed: int
    duration_s: float
    windows_simulated: tuple[int, ...]
    batch_timeout_ms: float
    fixed_fraction: float
    service: str
    replica_delta: int
    slo_latency_ms: float
    slo_percentile: int
    target: float
    requests: int
    completed: int
    failed: int
    attainment: float
    meets_slo: bool
    worst_window: int | None
    worst_window_attainment: float | None
    latency_ms: LatencyStats
    windows: tuple[WindowStats, ...]
    allocations: tuple[AllocationStats, ...]
    failure: FailureStats | None
    queue_t_s: tuple[float, ...]
    queue_total: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """The plan holds: SLO met, and the failure scenario (if any) holds too."""
        return self.meets_slo and (self.failure is None or self.failure.holds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded to 6 significant digits so that output is byte-stable."""
        plain = jsonable(with_failure(dataclasses.asdict(self), self.failure))
        return {"ok": self.ok, "mode": "batch", **plain}  # the LLM simulator's says "llm"


def with_failure(plain: dict[str, Any], failure: FailureVerdict | None) -> dict[str, Any]:
    """A result's ``asdict`` with its failure's keys in the JSON's order (same key position)."""
    if failure is not None:
        plain["failure"] = failure.as_dict()
    return plain


def jsonable(x: Any) -> Any:
    """``x`` with numpy scalars made plain, non-finite floats None, floats to 6 significant digits."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        if not math.isfinite(v):
            return None
        return float(f"{v:.6g}")
    return x


def latency_stats(lat_ms: F64) -> LatencyStats:
    """p50, p95, p99, mean and max of ``lat_ms`` (all None when empty)."""
    if len(lat_ms) == 0:
        return LatencyStats(None, None, None, None, None)
    q = np.percentile(lat_ms, [50, 95, 99])
    return LatencyStats(float(q[0]), float(q[1]), float(q[2]), float(lat_ms.mean()),
        float(lat_ms.max()))

