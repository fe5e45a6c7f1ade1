"""Candidates: every allowed (instance type, region, capacity type, replica shape) with its
per-replica capacity at the SLO for each request class.

A *shape* is the number of GPUs per replica (GPU rows) or the CPU threads per replica (CPU-only
rows). Capacity comes from the best profiled operating point that meets the SLO, derated by the
queueing model (:mod:`scaleplan.solve.queueing`) or by ``--max-utilization``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from scaleplan.catalog.model import Accelerator, CapacityType, Catalog, InstanceRow
from scaleplan.kube import capacity as kube_capacity
from scaleplan.profile.model import Measurement, Percentiles, Profile
from scaleplan.solve.placement import (
    CPU,
    DEFAULT_ZONES,
    placement_rows,
)
from scaleplan.solve.prune import prune, prune_rules
from scaleplan.solve.queueing import max_utilization, max_utilization_discrete
from scaleplan.spec import Spec

if TYPE_CHECKING:
    from scaleplan.llm.memory import ShapeRefusal
    from scaleplan.plan import LlmServing

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
    queueing: Literal["discrete", "continuous", "none"] = "continuous"  # server model used for the derating


@dataclass(frozen=True)
class Candidate:
    row: InstanceRow
    capacity_type: CapacityType
    price: float
    accelerator: str
    gpus_per_replica: int  # 0 for CPU
    threads: int  # CPU threads per replica (0 for GPU shapes)
    replicas_per_node: int
    cpu_per_replica: float
    memory_gib_per_replica: float
    points: tuple[tuple[str, OpPoint], ...]  # class -> point, in class order
    zones: int
    llm: LlmServing | None = None  # LLM server configuration (specs with model.architecture)

    @property
    def gpus_per_node(self) -> int:
        return self.row.accelerator_count

    @property
    def estimated(self) -> bool:
        return any(p.estimated for _, p in self.points)

    @cached_property
    def _by_class(self) -> dict[str, OpPoint]:
        """``points`` as a mapping (the first point of a class wins, as a scan would find it).

        ``cap`` runs once per (candidate, class) in every window and check of the solve: a scan of
        ``points`` made a 2,000-class spec quadratic (most of its minutes went there).
        """
        out: dict[str, OpPoint] = {}
        for c, p in self.points:
            out.setdefault(c, p)
        return out

    def cap(self, cls: str) -> float | None:
        p = self._by_class.get(cls)
        return None if p is None else p.capacity_rps

    def point(self, cls: str) -> OpPoint | None:
        return self._by_class.get(cls)

    @property
    def sort_key(self) -> tuple[str, str, str, str, int, int]:
        r = self.row
        return (r.provider, r.region, r.instance_type, self.capacity_type, self.gpus_per_replica, self.threads)

    @cached_property
    def serving_shape(self) -> tuple[object, ...]:
        """:func:`scaleplan.kube.backends.shape_key` at candidate level: what makes the
        allocations of two candidates share one gateway-api backend Service (cluster,
        accelerator, GPUs per replica, every class's operating point and capacity, the LLM
        server settings); the instance type and capacity type are not part of it."""
        llm = self.llm.model_dump_json() if self.llm is not None else None
        r, points = self.row, repr(self.points)
        return (r.provider, r.region, self.accelerator, self.gpus_per_replica, points, llm)

    @property
    def label(self) -> str:
        shape = f"{self.gpus_per_replica} GPU/replica" if self.gpus_per_replica else f"{self.threads} threads/replica"
        return f"{self.row.provider}/{self.row.region}/{self.row.instance_type} {self.capacity_type} ({shape})"


@dataclass
class Diagnostics:
    """What the candidate stage saw, for infeasibility explanations."""

    rows_total: int = 0
    rows_after_placement: int = 0
    placement_accelerators: set[str] = field(default_factory=set)
    profile_accelerators: set[str] = field(default_factory=set)
    memory_required: float | None = None
    memory_best: tuple[str, float, int] | None = None  # (accelerator, GiB per GPU, max GPUs/replica)
    shapes_fitting: int = 0
    # best latency among points that fit but miss the SLO: class -> (acc, metric, value, batch)
    slo_best: dict[str, tuple[str, str, float, int]] = field(default_factory=dict)
    # LLM specs: the class's other SLO metrics that no shape meets either, alike
    slo_more: dict[str, list[tuple[str, str, float, int]]] = field(default_factory=dict)
    unserved_classes: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)
    unpruned: list[Candidate] = field(default_factory=list)  # every candidate, before pruning
    llm_refusals: list[ShapeRefusal] = field(default_factory=list)  # LLM shapes that cannot serve, with the arithmetic
    architecture: dict[str, object] | None = None  # a config.json architecture, for the plan


def classes_of(spec: Spec) -> tuple[tuple[str, float], ...]:
    if spec.traffic.classes:
        return tuple((c.name, c.share) for c in spec.traffic.classes)
    return (("default", 1.0),)


def _slo_check(spec: Spec, m: Measurement) -> tuple[float, str, float]:
    """(latency budget left for queueing in ms, failing metric or '', its value)."""
    slo = spec.slo
    pct = slo.percentile
    lat = m.latency_ms.at(pct)
    budget = slo.latency_ms - lat
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
    return budget, "", lat


def floor4(x: float) -> float:
    """A capacity floored to 4 decimals, as every capacity in a plan is."""
    return math.floor(x * 10_000 + 1e-9) / 10_000


def server_model(kind: str, m: Measurement) -> Literal["discrete", "continuous"]:
    """Which batching the server behind a profile point does: continuous for LLM servers
    (endpoint profiles, points with TTFT/TPOT or a client concurrency), else discrete dynamic
    batching (a model profiled in process: vision, embeddings)."""
    if kind in ("endpoint", "llm-endpoint") or m.ttft_ms is not None or m.tpot_ms is not None or m.concurrency is not None:
        return "continuous"
    return "discrete"


def _evaluate(spec: Spec, m: Measurement, util_override: float | None, scale: float, scaled: bool, kind: str = "model") -> OpPoint | None:
    budget, _, lat = _slo_check(spec, m)
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
    source: Literal["measured", "estimated", "imported", "scaled", "calibrated"] = "scaled" if scaled else m.source
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
    )


def _best(points: list[OpPoint]) -> OpPoint | None:
    if not points:
        return None
    return sorted(points, key=lambda p: (-p.capacity_rps, p.batch_size, p.latency_at_slo, p.source))[0]


def _capacity_types(spec: Spec) -> list[CapacityType]:
    return ["on-demand", "spot"] if spec.placement.spot.allowed else ["on-demand"]


_Shape = tuple[int, int, int, dict[str, OpPoint], float, float]  # (GPUs, threads, replicas per node, points, CPU, memory)


def _gpu_shape(r: InstanceRow, gpus: int, flavor: str, pts: dict[str, OpPoint]) -> _Shape | None:
    """The shape of replicas of ``gpus`` GPUs on ``r``: as many per node as its GPUs hold, each
    requesting the node's allocatable CPU and memory split evenly (the requests the renderer
    writes); None when that is below the minimum a replica needs."""
    rpn = r.accelerator_count // gpus
    cpu_rep, mem_rep = kube_capacity.allocatable_per_replica(r.vcpus, r.memory_gib, rpn, flavor=flavor)
    if cpu_rep < kube_capacity.MIN_CPU or mem_rep < kube_capacity.MIN_MEMORY_GIB:
        return None
    return gpus, 0, rpn, pts, cpu_rep, mem_rep


def _gpu_counts(r: InstanceRow, maxg: int) -> list[int]:
    """GPUs per replica that divide ``r``'s GPUs, up to ``maxg``."""
    return [g for g in range(1, maxg + 1) if r.accelerator_count % g == 0]


def _gpu_room(spec: Spec, r: InstanceRow, accel: Accelerator | None) -> tuple[float, int]:
    """GiB per GPU of ``r`` (the row's own figure, else the accelerator's) and the most GPUs a
    replica may take on it."""
    gmem = r.accelerator_memory_gib or (accel.memory_gib if accel else 0.0)
    return gmem, min(r.accelerator_count, spec.placement.max_gpus_per_replica)


_Roomiest = tuple[str, float, int]  # (accelerator, GiB per GPU, GPUs per replica at most)


def _roomiest(best: _Roomiest | None, acc: str, gmem: float, maxg: int) -> _Roomiest:
    """The accelerator whose largest replica has the most GPU memory so far (for the memory
    diagnosis): ``best`` or ``(acc, gmem, maxg)``."""
    return (acc, gmem, maxg) if best is None or gmem * maxg > best[1] * best[2] else best


def _priced(
    r: InstanceRow,
    caps: list[CapacityType],
    acc: str,
    shapes: list[_Shape],
    classes: Sequence[str],
    llm: LlmServing | None = None,
) -> list[Candidate]:
    """Every shape at every capacity type ``r`` has a price for."""
    out: list[Candidate] = []
    for ct in caps:
        price = r.price(ct)
        if price is None:
            continue
        out.extend(_candidate(r, ct, price, acc, shape, classes, llm) for shape in shapes)
    return out


def _candidate(r: InstanceRow, ct: CapacityType, price: float, acc: str, shape: _Shape, classes: Sequence[str], llm: LlmServing | None = None) -> Candidate:
    """One replica shape on one instance row at one capacity type (both paths build them so)."""
    g, t, rpn, pts, cpu_rep, mem_rep = shape
    return Candidate(
        row=r,
        capacity_type=ct,
        price=price,
        accelerator=acc,
        gpus_per_replica=g,
        threads=t,
        replicas_per_node=rpn,
        cpu_per_replica=cpu_rep,
        memory_gib_per_replica=mem_rep,
        points=tuple((c, pts[c]) for c in classes if c in pts),
        zones=len(r.zones) if r.zones else DEFAULT_ZONES,
        llm=llm,
    )


def _finish(spec: Spec, out: list[Candidate], classes: list[str], diag: Diagnostics, best_mem: tuple[str, float, int] | None) -> tuple[list[Candidate], Diagnostics]:
    """The diagnostics every path fills at the end, and the pruned candidates."""
    diag.memory_best = best_mem
    served = {c for k in out for c, _ in k.points}
    diag.unserved_classes = tuple(c for c in classes if c not in served)
    diag.unpruned = list(out)
    return prune(out, prune_rules(spec, out)), diag


def _by_accelerator(
    profile: Profile, catalog: Catalog, diag: Diagnostics
) -> dict[str, list[Measurement]]:
    """The profile's points by canonical accelerator; the points of an accelerator the catalog
    does not know are left out, with a warning."""
    by_acc: dict[str, list[Measurement]] = {}
    unknown: set[str] = set()
    for m in profile.measurements:
        canonical = catalog.resolve(m.accelerator)
        if canonical is None:
            unknown.add(m.accelerator)
            continue
        by_acc.setdefault(canonical, []).append(m)
    for u in sorted(unknown):
        diag.warnings.append(
            f"profile accelerator {u!r} is not in the catalog; its points are ignored"
        )
    diag.profile_accelerators = set(by_acc)
    return by_acc


class _BestPoints:
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
            _evaluate(self.spec, m, self.max_util, scale, scaled, self.kind) for m in use
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
        _, metric, val = _slo_check(self.spec, m)
        cur = self.diag.slo_best.get(cls)
        closer = cur is None or (metric == cur[1] and val < cur[2])
        if closer or (cur is not None and cur[1] != "latency" and metric == "latency"):
            self.diag.slo_best[cls] = (acc, metric or "latency", val, m.batch_size)


def _cpu_shapes(
    r: InstanceRow, flavor: str, cpu_mem: dict[int, float], points: _BestPoints, diag: Diagnostics
) -> list[_Shape]:
    """The thread counts per replica measured on CPU that fit ``r`` (``cpu_mem``: threads ->
    memory a replica needs), with their points."""
    # what the workload's pods can request next to system-reserved resources and DaemonSets
    alloc_cpu = kube_capacity.allocatable_cpu(r.vcpus)
    alloc_mem = kube_capacity.allocatable_memory_gib(r.memory_gib, flavor=flavor)
    shapes: list[_Shape] = []
    for t, need in cpu_mem.items():
        mem_rep = max(0.25, math.ceil(max(need, 0.25) * 4) / 4)
        fits = alloc_cpu > 0 and alloc_mem > 0
        rpn = min(int(alloc_cpu // t), int(alloc_mem // mem_rep)) if fits else 0
        if rpn < 1:
            continue
        pts = points.cpu(t)
        diag.shapes_fitting += 1
        if pts:
            shapes.append((0, t, rpn, pts, float(t), mem_rep))
    return shapes


def _gpu_shapes(
    r: InstanceRow,
    acc: str,
    gmem: float,
    maxg: int,
    mem_req: float | None,
    flavor: str,
    points: _BestPoints,
    diag: Diagnostics,
) -> list[_Shape]:
    """The GPU counts per replica (at most ``maxg``) that divide ``r``'s GPUs, hold the model
    in ``gmem`` GiB per GPU and leave each replica the CPU and memory it needs, with points."""
    shapes: list[_Shape] = []
    for g in _gpu_counts(r, maxg):
        if mem_req is not None and g * gmem < mem_req:
            continue
        diag.shapes_fitting += 1
        pts = points.gpu(acc, g)
        if not pts:
            continue
        shape = _gpu_shape(r, g, flavor, pts)
        if shape is not None:
            shapes.append(shape)
    return shapes


def build_candidates(spec: Spec, profile: Profile, catalog: Catalog, *, max_util: float | None = None, spec_dir: str | Path | None = None) -> tuple[list[Candidate], Diagnostics]:
    """All candidates (sorted, with exact-duplicate dominated ones removed) and diagnostics.

    With ``model.architecture`` set, GPU capacity comes from the LLM room
    (:mod:`scaleplan.solve.llm_capacity`); ``spec_dir`` resolves a config.json path.
    """
    diag = Diagnostics(rows_total=len(catalog.rows))
    classes = [c for c, _ in classes_of(spec)]
    rows = placement_rows(spec, catalog)
    diag.rows_after_placement = len(rows)
    diag.placement_accelerators = {r.accelerator or CPU for r in rows}
    if spec.model.architecture is not None:
        return _build_llm_candidates(spec, profile, catalog, rows, diag, max_util, Path(spec_dir) if spec_dir is not None else None)

    by_acc = _by_accelerator(profile, catalog, diag)
    mem_req = spec.model.memory_gib
    if mem_req is None:
        mem_req = profile.peak_memory_gib()
    diag.memory_required = mem_req
    points = _BestPoints(spec, profile, catalog, classes, by_acc, mem_req, max_util, diag)
    cpu_ms = by_acc.get(CPU, [])
    cpu_threads = sorted({m.threads or 1 for m in cpu_ms})
    own = spec.model.memory_gib or 0.0
    cpu_mem = {
        t: max([m.peak_memory_gib or 0.0 for m in cpu_ms if (m.threads or 1) == t] + [own])
        for t in cpu_threads
    }
    caps = _capacity_types(spec)

    out: list[Candidate] = []
    best_mem: tuple[str, float, int] | None = None
    flavor = spec.kubernetes.flavor
    for r in rows:
        acc = r.accelerator or CPU
        if acc not in by_acc:
            continue
        if acc == CPU:
            shapes = _cpu_shapes(r, flavor, cpu_mem, points, diag)
        else:
            gmem, maxg = _gpu_room(spec, r, catalog.accelerator(acc))
            best_mem = _roomiest(best_mem, acc, gmem, maxg)
            shapes = _gpu_shapes(r, acc, gmem, maxg, mem_req, flavor, points, diag)
        out.extend(_priced(r, caps, acc, shapes, classes))
    return _finish(spec, out, classes, diag, best_mem)


def _build_llm_candidates(spec: Spec, profile: Profile, catalog: Catalog, rows: list[InstanceRow], diag: Diagnostics, max_util: float | None, spec_dir: Path | None) -> tuple[list[Candidate], Diagnostics]:
    """Candidates of an LLM spec: every GPU shape the LLM room sizes, at its SLO concurrency."""
    from scaleplan.llm.hardware import hardware, missing_facts
    from scaleplan.llm.memory import ShapeRefusal
    from scaleplan.solve.llm_capacity import (
        LlmMisses,
        LlmShapePoints,
        architecture_record,
        left_out,
        llm_context,
        shape_points,
        slo_miss,
        slo_misses,
    )

    ctx = llm_context(spec, profile, catalog.accelerators, spec_dir)
    assert ctx is not None
    diag.architecture = architecture_record(spec, ctx)
    diag.warnings.extend(ctx.notes)
    classes = [c for c, _ in classes_of(spec)]
    modelled = {a.name for a in catalog.accelerators if hardware(a) is not None}
    diag.profile_accelerators = modelled
    # said for the accelerators placement names, as any other left out (llm_capacity.left_out);
    # with none named, every AWS LLM plan warned of Inferentia, Trainium and the like
    named = set(spec.placement.accelerators or ())
    for name in sorted({r.accelerator for r in rows if r.accelerator in named and r.accelerator not in modelled}):
        a = catalog.accelerator(name)
        diag.warnings.append(f"{name} is left out: the accelerator table lacks {missing_facts(a) if a else 'its specs'}, which the LLM model needs (add them with --catalog)")
    caps = _capacity_types(spec)
    flavor = spec.kubernetes.flavor
    out: list[Candidate] = []
    best_mem: tuple[str, float, int] | None = None
    refused: set[str] = set()
    sized: set[str] = set()
    why_not: dict[str, str] = {}  # accelerator -> its first refusal (memory, dtype)
    missed: dict[str, tuple[int, str, str, float]] = {}  # accelerator -> (GPUs, class, metric, ms)
    misses = LlmMisses()
    for r in rows:
        acc = r.accelerator
        if acc is None or acc not in modelled:
            continue
        accel = catalog.accelerator(acc)
        assert accel is not None
        gmem, maxg = _gpu_room(spec, r, accel)
        best_mem = _roomiest(best_mem, acc, gmem, maxg)
        for g in _gpu_counts(r, maxg):
            res = shape_points(ctx, spec, accel, g, gmem)
            if isinstance(res, ShapeRefusal):
                why_not.setdefault(acc, res.message)
                if res.message not in refused:
                    refused.add(res.message)
                    diag.llm_refusals.append(res)
                continue
            diag.shapes_fitting += 1
            sized.add(acc)
            if not isinstance(res, LlmShapePoints):
                for cls, p in res.items():
                    metric, val = slo_miss(spec, p)
                    missed.setdefault(acc, (g, cls, metric, val))
                    cur = diag.slo_best.get(cls)
                    if cur is None or (cur[1] == metric and val < cur[2]):
                        diag.slo_best[cls] = (acc, metric, val, 1)
                    misses.note(cls, acc, slo_misses(spec, p))
                continue
            for cls, _ in res.points:
                misses.note(cls, acc, {})
            pts: dict[str, OpPoint] = {}
            for cls, m in res.points:
                op = _evaluate(spec, m, max_util, 1.0, False, "llm-estimate")
                if op is not None:
                    pts[cls] = op
            if not pts:
                continue
            shape = _gpu_shape(r, g, flavor, pts)
            if shape is not None:
                out.extend(_priced(r, caps, acc, [shape], classes, res.serving))
    misses.diagnose(diag)
    diag.warnings.extend(_proxy_warnings(catalog, sized))
    diag.warnings.extend(left_out(spec, {c.accelerator for c in out}, why_not, missed))
    return _finish(spec, out, classes, diag, best_mem)


def _proxy_warnings(catalog: Catalog, sized: set[str]) -> list[str]:
    """The proxied-peak warning of every accelerator a shape was sized on (docs/llm.md)."""
    from scaleplan.llm.hardware import hardware, proxy_warning

    hws = [hardware(a) for a in catalog.accelerators if a.name in sized]
    return [w for w in (proxy_warning(h) for h in hws if h is not None) if w]
