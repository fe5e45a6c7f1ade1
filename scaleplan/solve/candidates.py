"""Candidates: every allowed (instance type, region, capacity type, replica shape) with its
per-replica capacity at the SLO for each request class.

A *shape* is the number of GPUs per replica (GPU rows) or the CPU threads per replica (CPU-only
rows). Capacity comes from the best profiled operating point that meets the SLO, derated by the
queueing model (:mod:`scaleplan.solve.queueing`) or by ``--max-utilization``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.catalog.model import CapacityType, Catalog, InstanceRow
from scaleplan.kube.zones import DEFAULT_ZONES
from scaleplan.profile.model import Measurement, Profile
from scaleplan.solve.oppoints import BestPoints, OpPoint, holds_slo
from scaleplan.solve.placement import (
    CPU,
    flagged_only,
    flagged_out,
    flagged_rows,
    placement_rows,
    unoffered,
    unoffered_accelerators,
)
from scaleplan.solve.prune import prune, prune_rules
from scaleplan.solve.shapes import Shape, cpu_shapes, gpu_room, gpu_shapes, roomiest
from scaleplan.spec import Spec
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.llm.epp import PoolMember
    from scaleplan.llm.memory import ShapeRefusal
    from scaleplan.plan import LlmServing, ProfileUnused


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
    # routing: inference-pool with model.architecture: the pod as the endpoint picker sees it
    # (scaleplan.llm.epp; the split of a pool of several shapes, scaleplan.solve.milp.pool)
    pool: PoolMember | None = None

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
    rows_flagged: int = 0  # rows the placement takes but for their flags (include_flagged off)
    flagged_only: tuple[str, ...] = ()  # accelerators whose every placed row is flagged
    placement_accelerators: set[str] = field(default_factory=set)
    profile_accelerators: set[str] = field(default_factory=set)
    memory_required: float | None = None
    memory_best: tuple[str, float, int] | None = None  # (accelerator, GiB per GPU, max GPUs/replica)
    shapes_fitting: int = 0
    # LLM specs: a node of an allowed GPU holds more than placement.max_gpus_per_replica
    gpus_capped: bool = False
    # best latency among points that fit but miss the SLO: class -> (acc, metric, value, batch,
    # GPUs per replica)
    slo_best: dict[str, tuple[str, str, float, int, int]] = field(default_factory=dict)
    # profile specs: per accelerator, the point nearest to its SLO among those that miss it:
    # acc -> (over-ratio, class, metric, value, its target, batch, gpus or CPU threads)
    acc_miss: dict[str, tuple[float, str, str, float, float | None, int, int]] = field(
        default_factory=dict
    )
    # LLM specs: the class's other SLO metrics that no shape meets either, alike
    slo_more: dict[str, list[tuple[str, str, float, int, int]]] = field(default_factory=dict)
    unserved_classes: tuple[str, ...] = ()
    # placement.accelerators named that no catalog row of the providers and regions has
    unoffered: tuple[str, ...] = ()
    # accelerator -> why the candidate stage left out every shape of it, in a few words (the
    # warnings say the arithmetic): the plan's unused_accelerators (scaleplan.solve.unused)
    left_out: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unpruned: list[Candidate] = field(default_factory=list)  # every candidate, before pruning
    llm_refusals: list[ShapeRefusal] = field(default_factory=list)  # LLM shapes that cannot serve, with the arithmetic
    architecture: dict[str, object] | None = None  # a config.json architecture, for the plan
    llm_calibration: str | None = None  # what the LLM model was calibrated on (Calibration.basis)
    # measured points of the spec's profile, none of which calibrated the LLM model (all left out)
    llm_points_unused: int = 0
    # why the spec's profile calibrates nothing in an LLM plan (Plan.profile_unused)
    llm_profile_unused: ProfileUnused | None = None


def classes_of(spec: Spec) -> tuple[tuple[str, float], ...]:
    if spec.traffic.classes:
        return tuple((c.name, c.share) for c in spec.traffic.classes)
    return (("default", 1.0),)


def capacity_types(spec: Spec) -> list[CapacityType]:
    return ["on-demand", "spot"] if spec.placement.spot.allowed else ["on-demand"]


def priced(
    r: InstanceRow,
    caps: list[CapacityType],
    acc: str,
    shapes: list[Shape],
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


def _candidate(r: InstanceRow, ct: CapacityType, price: float, acc: str, shape: Shape, classes: Sequence[str], llm: LlmServing | None = None) -> Candidate:
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


def finish_candidates(spec: Spec, out: list[Candidate], classes: list[str], diag: Diagnostics, best_mem: tuple[str, float, int] | None) -> tuple[list[Candidate], Diagnostics]:
    """The diagnostics every path fills at the end, and the pruned candidates."""
    diag.memory_best = best_mem
    diag.unpruned = list(out)
    kept, diag.unserved_classes = pruned(spec, out, classes)
    return kept, diag


def pruned(
    spec: Spec, out: list[Candidate], classes: Sequence[str]
) -> tuple[list[Candidate], tuple[str, ...]]:
    """``out`` pruned (:func:`prune`), and the ``classes`` no candidate of ``out`` serves. A
    candidate is built from its row alone, so one region's share of every candidate, pruned
    here, is what a spec placed in that region builds (``solve.core._one_region``)."""
    served = {c for k in out for c, _ in k.points}
    return prune(out, prune_rules(spec, out)), tuple(c for c in classes if c not in served)


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


def placement_diagnostics(spec: Spec, catalog: Catalog) -> tuple[list[InstanceRow], Diagnostics]:
    """The rows the spec's placement takes, and the candidate stage's diagnostics of them
    (rows flagged out, accelerators not offered: its warnings), before any capacity."""
    diag = Diagnostics(rows_total=len(catalog.rows))
    rows = placement_rows(spec, catalog)
    diag.rows_after_placement = len(rows)
    diag.rows_flagged = len(flagged_rows(spec, catalog))
    diag.flagged_only = tuple(flagged_only(spec, catalog))
    diag.warnings.extend(flagged_out(spec, catalog))
    diag.warnings.extend(unoffered(spec, catalog))
    diag.unoffered = tuple(acc for _, acc in unoffered_accelerators(spec, catalog))
    diag.placement_accelerators = {r.accelerator or CPU for r in rows}
    return rows, diag


def build_candidates(
    spec: Spec, profile: Profile | None, catalog: Catalog, *, max_util: float | None = None,
    spec_dir: str | Path | None = None, classes: Sequence[tuple[str, float]] | None = None,
) -> tuple[list[Candidate], Diagnostics]:
    """All candidates (sorted, with exact-duplicate dominated ones removed) and diagnostics.
    ``classes``: the spec's request classes when the solve has them (``Problem.classes``),
    else derived here (validate and the sanity probe call it without a Problem).

    With ``model.architecture`` set, GPU capacity comes from the LLM room
    (:mod:`scaleplan.solve.llm_capacity`); ``spec_dir`` resolves a config.json path.
    """
    rows, diag = placement_diagnostics(spec, catalog)
    mix = classes if classes is not None else classes_of(spec)
    names = [c for c, _ in mix]
    if spec.model.architecture is not None:
        from scaleplan.solve.llm_candidates import build_llm_candidates  # it uses this module

        where = Path(spec_dir) if spec_dir is not None else None
        return build_llm_candidates(spec, profile, catalog, rows, names, diag, max_util, where)
    if profile is None:  # the spec refuses it (ModelSpec); a library caller may not
        from scaleplan.errors import Problem, SpecError

        why = "no profile: without model.architecture capacity comes from a profile's points"
        raise SpecError(None, [Problem("model.profile", why, hint="pass the spec's profile")])
    by_acc = _by_accelerator(profile, catalog, diag)
    mem_req = spec.model.memory_gib
    if mem_req is None:
        mem_req = profile.peak_memory_gib()
    diag.memory_required = mem_req
    points = BestPoints(spec, profile, catalog, names, by_acc, mem_req, max_util, diag)
    cpu_ms = by_acc.get(CPU, [])
    cpu_threads = sorted({m.threads or 1 for m in cpu_ms})
    own = spec.model.memory_gib or 0.0
    cpu_mem = {
        t: max([m.peak_memory_gib or 0.0 for m in cpu_ms if (m.threads or 1) == t] + [own])
        for t in cpu_threads
    }
    caps = capacity_types(spec)

    out: list[Candidate] = []
    best_mem: tuple[str, float, int] | None = None
    k8s = spec.kubernetes
    for r in rows:
        acc = r.accelerator or CPU
        if acc not in by_acc:
            continue
        if acc == CPU:
            shapes = cpu_shapes(r, k8s, cpu_mem, points, diag)
        else:
            gmem, maxg = gpu_room(spec, r, catalog.accelerator(acc))
            best_mem = roomiest(best_mem, acc, gmem, maxg)
            shapes = gpu_shapes(r, acc, gmem, maxg, mem_req, k8s, points, diag)
        out.extend(priced(r, caps, acc, shapes, names))
    held = {acc for acc, ms in by_acc.items() if any(holds_slo(spec, m) for m in ms)}
    diag.warnings.extend(_left_out_by_slo(spec, catalog, out, diag, held))
    return finish_candidates(spec, out, names, diag, best_mem)


def _left_out_by_slo(
    spec: Spec, catalog: Catalog, out: Sequence[Candidate], diag: Diagnostics,
    held: set[str],
) -> list[str]:
    """A warning for each accelerator ``placement.accelerators`` names that no candidate runs
    on because none of its profile points holds the SLO, with the nearest miss, as LLM specs
    say it (:func:`scaleplan.solve.llm_capacity.left_out`). ux24 F6: with ``[cpu, T4, L4,
    A10G]`` at p95 80 ms the plan, alternatives and baselines were all GPU, and nothing said
    the CPU's best point was 92.5 ms. ``held``: accelerators one of whose measured points
    holds the SLO; they are left out for another reason (memory, no node shape) and are not
    said to hold none (r1 review 38 item 2)."""
    used = {c.accelerator for c in out}
    notes: list[str] = []
    for name in spec.placement.accelerators or ():
        acc = catalog.resolve(name) or name
        if acc in used or acc in held or acc not in diag.acc_miss:
            continue
        diag.left_out[acc] = "left out: none of its profile points holds the SLO"
        _, cls, metric, val, target, batch, n = diag.acc_miss[acc]
        label = {"ttft": "TTFT", "tpot": "TPOT"}.get(metric, "latency")
        where = f"{counted(n, 'thread')}" if acc == CPU else f"{counted(n, 'GPU')}"
        of = f", class {cls}" if spec.traffic.classes else ""
        notes.append(
            f"{acc} is left out: none of its profile points holds the SLO (the nearest: p"
            f"{spec.slo.percentile} {label} {val:g} ms against {target:g} ms, at batch {batch}, "
            f"{where}{of})"
        )
    return notes
