"""Resource arithmetic: requests that fit a node, and Kubernetes quantity strings.

The node-allocatable model (system-reserved resources, eviction threshold, the flavor's DaemonSet
reserve) lives in the neutral module ``scaleplan.kube.capacity``, shared with the optimizer: plans
from the current optimizer already request what fits, so the renderer caps only old or
hand-edited plans (with a warning; docs/render.md, "Requests and system-reserved resources"). A
spec's ``kubernetes.node_reserve``, which the optimizer does not read, sizes GPU replicas'
requests here (:mod:`scaleplan.render.allocations`).
"""

from __future__ import annotations

import math

from scaleplan.kube import capacity as kube_capacity

MIN_CPU = kube_capacity.MIN_CPU
MIN_MEMORY_GIB = kube_capacity.MIN_MEMORY_GIB


def fit_per_replica(
    vcpus: float,
    memory_gib: float,
    replicas_per_node: int,
    *,
    flavor: str,
    reserve: kube_capacity.Reserve | None = None,
) -> tuple[float, float]:
    """(cores, GiB) each of ``replicas_per_node`` replicas can request on such a node
    (``scaleplan.kube.capacity``, unrounded; ``reserve``: ``spec.kubernetes.node_reserve``):
    the renderer caps requests above it."""
    return kube_capacity.allocatable_share(
        vcpus, memory_gib, replicas_per_node, flavor=flavor, reserve=reserve
    )


def cpu_quantity(cores: float) -> str:
    """Cores as a quantity, rounded down to millicores: 4 -> '4', 3.6 -> '3600m'."""
    milli = max(1, math.floor(cores * 1000 + 1e-6))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(gib: float) -> str:
    """GiB as a quantity, rounded down to MiB: 16 -> '16Gi', 12.5 -> '12800Mi'."""
    mib = max(1, math.floor(gib * 1024 + 1e-6))
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def number_quantity(x: float) -> str:
    """A non-negative number as a quantity: 12 -> '12', 12.5 -> '12500m'."""
    milli = max(1, round(x * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def number_text(x: float) -> str:
    """A compact, stable decimal for KEDA metadata (strings): 12.0 -> '12', 0.125 -> '0.125'."""
    s = f"{x:.3f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"
