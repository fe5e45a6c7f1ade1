"""Candidates: every allowed (instance type, region, capacity type, replica shape) with its
per-replica capacity at the SLO for each request class.

A *shape* is the number of GPUs per replica (GPU rows) or the CPU threads per replica (CPU-only
rows). Capacity comes from the best profiled operating point that meets the SLO, derated by the
queueing model (:mod:`scaleplan.solve.queueing`) or by ``--max-utilization``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from scaleplan.catalog.model import CapacityType, Catalog, InstanceRow
from scaleplan.errors import Problem, SpecError
from scaleplan.profile.model import Measurement, Percentiles, Profile
from scaleplan.solve.queueing import max_utilization
from scaleplan.spec import Spec

TP_EFFICIENCY = 0.9  # throughput kept per doubling of GPUs when scaling an unmeasured TP degree
DEFAULT_ZONES = 3
CPU = "CPU"


@dataclass(frozen=True)
class OpPoint:
    """The operating point one class runs at on one (accelerator, shape)."""

    batch_size: int
    latency: Percentiles
    throughput_rps: float
    max_utilization: float
    capacity_rps: float
    source: Literal["measured", "estimated", "imported", "scaled"]
    service_ms: float
    request_class: str | None
    estimated: bool
    latency_at_slo: float


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

    @property
    def gpus_per_node(self) -> int:
        return self.row.accelerator_count

    @property
    def estimated(self) -> bool:
        return any(p.estimated for _, p in self.points)

    def cap(self, cls: str) -> float | None:
        for c, p in self.points:
            if c == cls:
                return p.capacity_rps
        return None

    def point(self, cls: str) -> OpPoint | None:
        for c, p in self.points:
            if c == cls:
                return p
        return None

    @property
    def sort_key(self) -> tuple[str, str, str, str, int, int]:
        r = self.row
        return (r.provider, r.region, r.instance_type, self.capacity_type, self.gpus_per_replica, self.threads)

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
    unserved_classes: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


def classes_of(spec: Spec) -> tuple[tuple[str, float], ...]:
    if spec.traffic.classes:
        return tuple((c.name, c.share) for c in spec.traffic.classes)
    return (("default", 1.0),)


def resolve_allow(spec: Spec, catalog: Catalog) -> tuple[set[str] | None, set[str]]:
    """Allowed accelerators (None = all) and excluded accelerator names (canonical)."""
    problems: list[Problem] = []
    allowed: set[str] | None = None
    if spec.placement.accelerators:
        allowed = set()
        for i, name in enumerate(spec.placement.accelerators):
            canonical = catalog.resolve(name)
            if canonical is None:
                known = ", ".join(a.name for a in catalog.accelerators)
                problems.append(Problem(f"placement.accelerators[{i}]", f"unknown accelerator {name!r}", hint=f"use 'cpu' or one of: {known}"))
            else:
                allowed.add(canonical)
    if problems:
        raise SpecError(None, problems)
    excluded = {c for c in (catalog.resolve(e) for e in spec.placement.exclude if not any(ch in e for ch in "*?[")) if c}
    return allowed, excluded


def _excluded(row: InstanceRow, patterns: Sequence[str], excluded_acc: set[str]) -> bool:
    acc = row.accelerator or CPU
    if acc in excluded_acc:
        return True
    for p in patterns:
        for v in (row.instance_type, row.family):
            if fnmatch.fnmatchcase(v.lower(), p.lower()):
                return True
    return False


def placement_rows(spec: Spec, catalog: Catalog) -> list[InstanceRow]:
    allowed, excluded = resolve_allow(spec, catalog)
    pl = spec.placement
    out = []
    for r in catalog.rows:
        if r.provider not in pl.providers:
            continue
        if pl.regions and r.region not in pl.regions:
            continue
        if r.flags and not pl.include_flagged:
            continue
        acc = r.accelerator or CPU
        if allowed is not None and acc not in allowed:
            continue
        if _excluded(r, pl.exclude, excluded):
            continue
        out.append(r)
    return out


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


def _floor4(x: float) -> float:
    return math.floor(x * 10_000 + 1e-9) / 10_000


def _evaluate(spec: Spec, m: Measurement, cls: str, util_override: float | None, scale: float, scaled: bool) -> OpPoint | None:
    budget, _, lat = _slo_check(spec, m)
    if budget < 0:
        return None
    tput = m.throughput_rps * scale
    if util_override is not None:
        u = util_override
    elif m.offered_rps is not None:
        u = 1.0
    else:
        slots = m.concurrency or m.batch_size
        u = max_utilization(budget, slots, tput, spec.slo.percentile)
    cap = _floor4(tput * u)
    if cap <= 0:
        return None
    source: Literal["measured", "estimated", "imported", "scaled"] = "scaled" if scaled else m.source
    return OpPoint(
        batch_size=m.batch_size,
        latency=m.latency_ms,
        throughput_rps=round(tput, 6),
        max_utilization=u,
        capacity_rps=cap,
        source=source,
        service_ms=round(1000.0 * m.batch_size / m.throughput_rps, 4),
        request_class=m.request_class,
        estimated=m.source == "estimated" or scaled,
        latency_at_slo=lat,
    )


def _best(points: list[OpPoint]) -> OpPoint | None:
    if not points:
        return None
    return sorted(points, key=lambda p: (-p.capacity_rps, p.batch_size, p.latency_at_slo, p.source))[0]


def build_candidates(spec: Spec, profile: Profile, catalog: Catalog, *, max_util: float | None = None) -> tuple[list[Candidate], Diagnostics]:
    """All candidates (sorted, with exact-duplicate dominated ones removed) and diagnostics."""
    diag = Diagnostics(rows_total=len(catalog.rows))
    classes = [c for c, _ in classes_of(spec)]
    rows = placement_rows(spec, catalog)
    diag.rows_after_placement = len(rows)
    diag.placement_accelerators = {r.accelerator or CPU for r in rows}

    # profile points by canonical accelerator
    by_acc: dict[str, list[Measurement]] = {}
    unknown: set[str] = set()
    for m in profile.measurements:
        canonical = catalog.resolve(m.accelerator)
        if canonical is None:
            unknown.add(m.accelerator)
            continue
        by_acc.setdefault(canonical, []).append(m)
    for u in sorted(unknown):
        diag.warnings.append(f"profile accelerator {u!r} is not in the catalog; its points are ignored")
    diag.profile_accelerators = set(by_acc)

    mem_req = spec.model.memory_gib if spec.model.memory_gib is not None else profile.peak_memory_gib()
    diag.memory_required = mem_req

    # per (accelerator, shape) -> class -> best point ; shape = gpus (GPU) or threads (CPU)
    cache: dict[tuple[str, int], dict[str, OpPoint]] = {}

    def note_slo_miss(cls: str, acc: str, m: Measurement) -> None:
        _, metric, val = _slo_check(spec, m)
        cur = diag.slo_best.get(cls)
        if cur is None or (metric == cur[1] and val < cur[2]) or (cur[1] != "latency" and metric == "latency"):
            diag.slo_best[cls] = (acc, metric or "latency", val, m.batch_size)

    def gpu_points(acc: str, g: int) -> dict[str, OpPoint]:
        key = (acc, g)
        if key in cache:
            return cache[key]
        ms = by_acc.get(acc, [])
        measured_g = sorted({m.gpus for m in ms})
        out: dict[str, OpPoint] = {}
        if g in measured_g:
            use, scale, scaled = [m for m in ms if m.gpus == g], 1.0, False
        else:
            lower = [x for x in measured_g if x < g]
            accel = catalog.accelerator(acc)
            acc_mem = accel.memory_gib if accel else 0.0
            # scale only when the smaller measured degree cannot hold the model
            if not lower or (mem_req is not None and lower[-1] * acc_mem >= mem_req) or mem_req is None:
                cache[key] = out
                return out
            g0 = lower[-1]
            ratio = g / g0
            use, scale, scaled = [m for m in ms if m.gpus == g0], ratio * TP_EFFICIENCY ** math.log2(ratio), True
        for cls in classes:
            cands: list[OpPoint] = []
            for m in use:
                if m.request_class not in (None, cls):
                    continue
                p = _evaluate(spec, m, cls, max_util, scale, scaled)
                if p is None:
                    note_slo_miss(cls, acc, m)
                else:
                    cands.append(p)
            best = _best(cands)
            if best is not None:
                out[cls] = best
        cache[key] = out
        return out

    def cpu_points(threads: int) -> dict[str, OpPoint]:
        key = (CPU, threads)
        if key in cache:
            return cache[key]
        out: dict[str, OpPoint] = {}
        ms = [m for m in by_acc.get(CPU, []) if (m.threads or 1) == threads]
        for cls in classes:
            cands = []
            for m in ms:
                if m.request_class not in (None, cls):
                    continue
                p = _evaluate(spec, m, cls, max_util, 1.0, False)
                if p is None:
                    note_slo_miss(cls, CPU, m)
                else:
                    cands.append(p)
            best = _best(cands)
            if best is not None:
                out[cls] = best
        cache[key] = out
        return out

    cpu_threads = sorted({m.threads or 1 for m in by_acc.get(CPU, [])})
    cpu_mem = {t: max([m.peak_memory_gib or 0.0 for m in by_acc.get(CPU, []) if (m.threads or 1) == t] + [spec.model.memory_gib or 0.0]) for t in cpu_threads}
    caps: list[CapacityType] = ["on-demand"]
    if spec.placement.spot.allowed:
        caps.append("spot")

    out: list[Candidate] = []
    best_mem: tuple[str, float, int] | None = None
    for r in rows:
        acc = r.accelerator or CPU
        if acc not in by_acc:
            continue
        alloc_cpu = r.vcpus - (0.1 + 0.01 * r.vcpus)
        alloc_mem = r.memory_gib * 0.9 - 0.5
        shapes: list[tuple[int, int, int, dict[str, OpPoint], float, float]] = []  # (g, threads, rpn, points, cpu, mem)
        if acc == CPU:
            for t in cpu_threads:
                mem_rep = max(0.25, math.ceil(max(cpu_mem[t], 0.25) * 4) / 4)
                rpn = min(int(alloc_cpu // t), int(alloc_mem // mem_rep)) if alloc_mem > 0 else 0
                if rpn < 1:
                    continue
                pts = cpu_points(t)
                diag.shapes_fitting += 1
                if pts:
                    shapes.append((0, t, rpn, pts, float(t), mem_rep))
        else:
            accel = catalog.accelerator(acc)
            gmem = r.accelerator_memory_gib or (accel.memory_gib if accel else 0.0)
            maxg = min(r.accelerator_count, spec.placement.max_gpus_per_replica)
            if best_mem is None or (gmem * maxg > best_mem[1] * best_mem[2]):
                best_mem = (acc, gmem, maxg)
            for g in range(1, maxg + 1):
                if r.accelerator_count % g:
                    continue
                if mem_req is not None and g * gmem < mem_req:
                    continue
                diag.shapes_fitting += 1
                pts = gpu_points(acc, g)
                if not pts:
                    continue
                rpn = r.accelerator_count // g
                cpu_rep = math.floor(alloc_cpu / rpn * 10) / 10
                mem_rep = math.floor(alloc_mem / rpn * 10) / 10
                if cpu_rep <= 0 or mem_rep <= 0:
                    continue
                shapes.append((g, 0, rpn, pts, cpu_rep, mem_rep))
        for ct in caps:
            price = r.price(ct)
            if price is None:
                continue
            for g, t, rpn, pts, cpu_rep, mem_rep in shapes:
                out.append(
                    Candidate(
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
                    )
                )
    diag.memory_best = best_mem
    served = {c for k in out for c, _ in k.points}
    diag.unserved_classes = tuple(c for c in classes if c not in served)
    family_scoped = any(q.family is not None for q in spec.placement.quotas)
    return prune(out, family_scoped=family_scoped), diag


def prune(cands: list[Candidate], *, family_scoped: bool = True) -> list[Candidate]:
    """Drop candidates that a cheaper one in the same scope dominates.

    Candidate j dominates k when both share provider, region, (family, when a quota names
    families), capacity type, GPUs per node, replicas per node and zones, j costs no more, and
    j's per-replica capacity is at least k's for every class k serves. Replacing k's nodes with
    j's then keeps every constraint satisfied (coverage, spot, quotas, replica bounds, n+1 and
    zone losses) at no higher cost, so some optimal plan avoids k. Ties keep the smaller name.
    """
    groups: dict[tuple[object, ...], list[Candidate]] = {}
    for k in sorted(cands, key=lambda c: (c.price, c.sort_key)):
        r = k.row
        key = (r.provider, r.region, r.family if family_scoped else "", k.capacity_type, r.accelerator_count, k.replicas_per_node, k.zones)
        groups.setdefault(key, []).append(k)
    kept: list[Candidate] = []
    for members in groups.values():
        chosen: list[Candidate] = []
        for k in members:
            if not any(_dominates(j, k) for j in chosen):
                chosen.append(k)
        kept.extend(chosen)
    return sorted(kept, key=lambda c: c.sort_key)


def _dominates(j: Candidate, k: Candidate) -> bool:
    if j.price > k.price:
        return False
    for cls, p in k.points:
        cj = j.cap(cls)
        if cj is None or cj < p.capacity_rps:
            return False
    return True
