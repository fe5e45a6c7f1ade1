"""Replica shapes on one instance row: the GPUs per replica that divide its GPUs and hold the
model (:func:`gpu_shapes`), or the CPU threads per replica measured on CPU that fit it
(:func:`cpu_shapes`), each with replicas per node, the CPU and memory a replica requests and
its operating points (:class:`scaleplan.solve.oppoints.BestPoints`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scaleplan.catalog.model import Accelerator, InstanceRow
from scaleplan.kube import capacity as kube_capacity
from scaleplan.solve.oppoints import BestPoints, OpPoint
from scaleplan.spec import Kubernetes, Spec

if TYPE_CHECKING:
    from scaleplan.solve.candidates import Diagnostics


# (GPUs, threads, replicas per node, points, CPU, memory)
Shape = tuple[int, int, int, dict[str, OpPoint], float, float]


def gpu_shape(r: InstanceRow, gpus: int, k8s: Kubernetes, pts: dict[str, OpPoint]) -> Shape | None:
    """The shape of replicas of ``gpus`` GPUs on ``r``: as many per node as its GPUs hold, each
    requesting the node's allocatable CPU and memory (on ``k8s.flavor``, under
    ``k8s.node_reserve`` when set) split evenly (the requests the renderer writes); None when
    that is below the minimum a replica needs."""
    rpn = r.accelerator_count // gpus
    cpu_rep, mem_rep = kube_capacity.allocatable_per_replica(
        r.vcpus, r.memory_gib, rpn, flavor=k8s.flavor, reserve=k8s.node_reserve
    )
    if cpu_rep < kube_capacity.MIN_CPU or mem_rep < kube_capacity.MIN_MEMORY_GIB:
        return None
    return gpus, 0, rpn, pts, cpu_rep, mem_rep


def gpu_counts(r: InstanceRow, maxg: int) -> list[int]:
    """GPUs per replica that divide ``r``'s GPUs, up to ``maxg``."""
    return [g for g in range(1, maxg + 1) if r.accelerator_count % g == 0]


def gpu_room(spec: Spec, r: InstanceRow, accel: Accelerator | None) -> tuple[float, int]:
    """GiB per GPU of ``r`` (what the driver reports when the accelerator table knows it, else
    the row's own figure, else the table's) and the most GPUs a replica may take on it."""
    cuda = accel.cuda_memory_gib if accel else None
    gmem = cuda or r.accelerator_memory_gib or (accel.memory_gib if accel else 0.0)
    return gmem, min(r.accelerator_count, spec.placement.max_gpus_per_replica)


Roomiest = tuple[str, float, int]  # (accelerator, GiB per GPU, GPUs per replica at most)


def roomiest(best: Roomiest | None, acc: str, gmem: float, maxg: int) -> Roomiest:
    """The accelerator whose largest replica has the most GPU memory so far (for the memory
    diagnosis): ``best`` or ``(acc, gmem, maxg)``."""
    return (acc, gmem, maxg) if best is None or gmem * maxg > best[1] * best[2] else best


def cpu_shapes(
    r: InstanceRow,
    k8s: Kubernetes,
    cpu_mem: dict[int, float],
    points: BestPoints,
    diag: Diagnostics,
) -> list[Shape]:
    """The thread counts per replica measured on CPU that fit ``r`` (``cpu_mem``: threads ->
    memory a replica needs), with their points."""
    # what the workload's pods can request next to system-reserved resources and DaemonSets
    # (the flavor's estimate, or the spec's kubernetes.node_reserve: what render fits them to)
    flavor, reserve = k8s.flavor, k8s.node_reserve
    alloc_cpu = kube_capacity.allocatable_cpu(r.vcpus, flavor=flavor, reserve=reserve)
    alloc_mem = kube_capacity.allocatable_memory_gib(r.memory_gib, flavor=flavor, reserve=reserve)
    shapes: list[Shape] = []
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


def gpu_shapes(
    r: InstanceRow,
    acc: str,
    gmem: float,
    maxg: int,
    mem_req: float | None,
    k8s: Kubernetes,
    points: BestPoints,
    diag: Diagnostics,
) -> list[Shape]:
    """The GPU counts per replica (at most ``maxg``) that divide ``r``'s GPUs, hold the model
    in ``gmem`` GiB per GPU and leave each replica the CPU and memory it needs, with points."""
    shapes: list[Shape] = []
    for g in gpu_counts(r, maxg):
        if mem_req is not None and g * gmem < mem_req:
            continue
        diag.shapes_fitting += 1
        pts = points.gpu(acc, g)
        if not pts:
            continue
        shape = gpu_shape(r, g, k8s, pts)
        if shape is not None:
            shapes.append(shape)
    return shapes
