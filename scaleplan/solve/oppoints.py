"""Operating points: the best profiled point of each request class that meets the SLO on one
(accelerator, replica shape), and its capacity derated by the queueing model
(:mod:`scaleplan.solve.queueing`) or by ``--max-utilization``.

:class:`BestPoints` finds them once per shape (the points measured at that GPU count or CPU
threads, or a smaller measured GPU count scaled up); :func:`evaluate` derates one point;
``floor4`` floors a capacity as every capacity in a plan is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scaleplan.catalog.model import Catalog
from scaleplan.profile.model import Measurement, Percentiles, Profile
from scaleplan.solve.placement import CPU
from scaleplan.solve.queueing import max_utilization, max_utilization_discrete
from scaleplan.spec import Slo, Spec

if TYPE_CHECKING:
    from scaleplan.solve.candidates import Diagnostics

TP_EFFICIENCY = 0.9  # throughput kept per doubling of GPUs when scaling an unmeasured TP degree


@dataclass(frozen=True)
class OpPoint:
    """The operating point one class runs at on one (accelerator, shape)."""

    batch_size: int
    latency: Percentiles
    throughput_rps: float
    max_utilization: float
    capacity_rps: float
    source: Literal["measured", "estimated", "imported", "scaled", "calibrated"]
    service_ms: float
    request_class: str | None
    estimated: bool
    latency_at_slo: float
    # the server model used for the derating
    queueing: Literal["discrete", "continuous", "slots", "none"] = "continuous"
    # the SLO metric whose room above the point's own time bounds the queueing wait (and so
    # max_utilization): slo.ttft_ms when its room is the smaller (always, when latency_ms was
    # derived from TTFT/TPOT: Slo.tested_latency_ms), else slo.latency_ms
    wait_bound: Literal["ttft", "latency"] = "latency"


def _slo_check(slo: Slo, m: Measurement) -> tuple[float, str, float]:
    """(latency budget left for queueing in ms, failing metric or '', its value) under ``slo``,
    the SLO of the point's class (:meth:`scaleplan.spec.Spec.slo_of`). A derived
    slo.latency_ms (Slo.tested_latency_ms None) is not tested: the room is TTFT's alone."""
    pct = slo.percentile
    lat = m.latency_ms.at(pct)
    budget = _e2e_room(slo.tested_latency_ms, lat)
    if budget < 0:
        return budget, "latency", lat
    if slo.ttft_ms is not None and m.ttft_ms is not None:
        t = m.ttft_ms.at(pct)
        if t > slo.ttft_ms:
            return -1.0, "ttft", t
        budget = min(budget, slo.ttft_ms - t)
    if slo.tpot_ms is not None and m.tpot_ms is not None:
        t = m.tpot_ms.at(pct)
        if t > slo.tpot_ms:
            return -1.0, "tpot", t
    if math.isinf(budget):  # derived, and a point without TTFT: the derived value's room
        budget = slo.latency_ms - lat
    return budget, "", lat


def _e2e_room(target: float | None, lat: float) -> float:
    """The end-to-end target's room above a point's own latency ``lat``; inf when derived."""
    return math.inf if target is None else target - lat


def slo_room(spec: Spec, m: Measurement) -> float:
    """The room (ms) a point leaves for queueing under the SLO; negative when it misses."""
    return _slo_check(spec.slo_of(m.request_class), m)[0]


def floor4(x: float) -> float:
    """A capacity floored to 4 decimals, as every capacity in a plan is."""
    return math.floor(x * 10_000 + 1e-9) / 10_000


def server_model(kind: str, m: Measurement) -> Literal["discrete", "continuous"]:
    """Which batching the server behind a profile point does: continuous for LLM servers
    (endpoint profiles, points with TTFT/TPOT or a client concurrency), else discrete dynamic
    batching (a model profiled in process: vision, embeddings)."""
    llm_point = m.ttft_ms is not None or m.tpot_ms is not None or m.concurrency is not None
    if kind in ("endpoint", "llm-endpoint") or llm_point:
        return "continuous"
    return "discrete"


def holds_slo(spec: Spec, m: Measurement) -> bool:
    """Whether ``m``'s latency holds its class's SLO (whatever shape or memory it needs)."""
    return _slo_check(spec.slo_of(m.request_class), m)[0] >= 0


def evaluate(
    spec: Spec, m: Measurement, util_override: float | None, scale: float, scaled: bool,
    kind: str = "model",
) -> OpPoint | None:
    slo = spec.slo_of(m.request_class)  # the point's class is held to its own SLO
    budget, _, lat = _slo_check(slo, m)
    if budget < 0:
        return None
    base = m.throughput_low_rps() if spec.placement.conservative else m.throughput_rps
    tput = base * scale
    queueing: Literal["discrete", "continuous", "none"] = "none"
    if util_override is not None:
        u = util_override
    elif m.offered_rps is not None:
        u = 1.0
    elif server_model(kind, m) == "discrete":
        queueing = "discrete"
        u = max_utilization_discrete(budget + lat, lat, m.batch_size, tput, spec.slo.percentile)
    else:
        queueing = "continuous"
        slots = m.concurrency or m.batch_size
        u = max_utilization(budget, slots, tput, spec.slo.percentile)
    cap = floor4(tput * u)
    if cap <= 0:
        return None
    source: Literal["measured", "estimated", "imported", "scaled", "calibrated"] = (
        "scaled" if scaled else m.source
    )
    ttft_room = (
        slo.ttft_ms - m.ttft_ms.at(slo.percentile)
        if slo.ttft_ms is not None and m.ttft_ms is not None
        else math.inf
    )
    return OpPoint(
        batch_size=m.batch_size,
        latency=m.latency_ms,
        throughput_rps=round(tput, 6),
        max_utilization=u,
        capacity_rps=cap,
        source=source,
        service_ms=round(1000.0 * m.batch_size / base, 4),
        request_class=m.request_class,
        estimated=m.source in ("estimated", "calibrated") or scaled,
        latency_at_slo=lat,
        queueing=queueing,
        wait_bound="ttft" if ttft_room < _e2e_room(slo.tested_latency_ms, lat) else "latency",
    )


def _best(points: list[OpPoint]) -> OpPoint | None:
    if not points:
        return None
    return sorted(
        points, key=lambda p: (-p.capacity_rps, p.batch_size, p.latency_at_slo, p.source)
    )[0]


class BestPoints:
    """Class -> the best point that meets the SLO on each (accelerator, shape), computed once
    per shape: the points measured at that GPU count (or CPU threads), or the largest smaller
    measured GPU count scaled up when that cannot hold the model. SLO misses go to ``diag``."""

    def __init__(
        self,
        spec: Spec,
        profile: Profile,
        catalog: Catalog,
        classes: Sequence[str],
        by_acc: dict[str, list[Measurement]],
        mem_req: float | None,
        max_util: float | None,
        diag: Diagnostics,
    ) -> None:
        self.spec = spec
        self.kind = profile.metadata.kind
        self.catalog = catalog
        self.classes = classes
        self.by_acc = by_acc
        self.mem_req = mem_req
        self.max_util = max_util
        self.diag = diag
        self.cache: dict[tuple[str, int], dict[str, OpPoint]] = {}

    def gpu(self, acc: str, g: int) -> dict[str, OpPoint]:
        """``g`` GPUs of ``acc`` per replica."""
        key = (acc, g)
        if key not in self.cache:
            self.cache[key] = self._gpu(acc, g)
        return self.cache[key]

    def _gpu(self, acc: str, g: int) -> dict[str, OpPoint]:
        ms = self.by_acc.get(acc, [])
        measured_g = sorted({m.gpus for m in ms})
        if g in measured_g:
            return self._select([m for m in ms if m.gpus == g], acc, 1.0, False)
        lower = [x for x in measured_g if x < g]
        accel = self.catalog.accelerator(acc)
        acc_mem = accel.memory_gib if accel else 0.0
        mem_req = self.mem_req
        # scale only when the smaller measured degree cannot hold the model
        if not lower or (mem_req is not None and lower[-1] * acc_mem >= mem_req) or mem_req is None:
            return {}
        g0 = lower[-1]
        ratio = g / g0
        scale = ratio * TP_EFFICIENCY ** math.log2(ratio)
        return self._select([m for m in ms if m.gpus == g0], acc, scale, True)

    def cpu(self, threads: int) -> dict[str, OpPoint]:
        """``threads`` CPU threads per replica."""
        key = (CPU, threads)
        if key not in self.cache:
            ms = [m for m in self.by_acc.get(CPU, []) if (m.threads or 1) == threads]
            self.cache[key] = self._select(ms, CPU, 1.0, False)
        return self.cache[key]

    def _select(
        self, use: Sequence[Measurement], acc: str, scale: float, scaled: bool
    ) -> dict[str, OpPoint]:
        """class -> the best of ``use``'s points that meet the SLO (misses go to diagnostics)."""
        out: dict[str, OpPoint] = {}
        # a point's evaluation does not depend on the class asking for it: once per point, not
        # once per (point, class) (a 2,000-class spec spent most of its candidate stage here)
        evaluated = [
            evaluate(self.spec, m, self.max_util, scale, scaled, self.kind) for m in use
        ]
        for cls in self.classes:
            cands: list[OpPoint] = []
            for m, p in zip(use, evaluated, strict=True):
                if m.request_class not in (None, cls):
                    continue
                if p is None:
                    self._note_slo_miss(cls, acc, m)
                else:
                    cands.append(p)
            best = _best(cands)
            if best is not None:
                out[cls] = best
        return out

    def _note_slo_miss(self, cls: str, acc: str, m: Measurement) -> None:
        """The point that came closest to the SLO for ``cls`` (for the infeasibility diagnosis)."""
        own = self.spec.slo_of(m.request_class)
        _, metric, val = _slo_check(own, m)
        if metric:  # per accelerator, the miss nearest its target (ux24 F6: why CPU lost)
            target = {"ttft": own.ttft_ms, "tpot": own.tpot_ms}.get(metric, own.latency_ms)
            over = val / target if target else math.inf
            was = self.diag.acc_miss.get(acc)
            if was is None or over < was[0]:
                n = (m.threads or 1) if acc == CPU else m.gpus
                self.diag.acc_miss[acc] = (over, cls, metric, val, target, m.batch_size, n)
        cur = self.diag.slo_best.get(cls)
        closer = cur is None or (metric == cur[1] and val < cur[2])
        if closer or (cur is not None and cur[1] != "latency" and metric == "latency"):
            self.diag.slo_best[cls] = (acc, metric or "latency", val, m.batch_size, m.gpus)
