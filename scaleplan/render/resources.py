"""Resource arithmetic: node allocatable estimates and Kubernetes quantity strings.

Kubernetes never gives a pod a whole node: the kubelet, the container runtime, the OS and the
eviction threshold are reserved (``kube-reserved``, ``system-reserved``, ``eviction-hard``) and
node DaemonSets (CNI, kube-proxy, log and metrics agents, the NVIDIA device plugin and DCGM
exporter) take their share. The renderer caps each replica's requests so that
``replicas_per_node`` replicas fit into an estimate of what is left: the CPU table all three
managed services publish; for memory EKS's formula (255 MiB + 11 MiB per pod, 110 pods) on
eks flavors and GKE's (and AKS's pre-1.29) tiered table elsewhere; plus the eviction threshold
and a fixed DaemonSet allowance (docs/render.md, "Requests and system-reserved resources").
"""

from __future__ import annotations

import math

DAEMONSET_CPU = 0.25  # cores: CNI + kube-proxy + node/DCGM exporters + log agent
DAEMONSET_MEMORY_GIB = 0.5
EVICTION_MEMORY_GIB = 100 / 1024  # eviction-hard memory.available<100Mi
MIN_CPU = 0.1
MIN_MEMORY_GIB = 0.125


def _band(x: float, lo: float, hi: float) -> float:
    return max(0.0, min(x, hi) - lo)


def reserved_cpu(vcpus: float) -> float:
    """Cores kube-reserved + system-reserved on a node with ``vcpus`` (GKE table)."""
    return 0.06 * _band(vcpus, 0, 1) + 0.01 * _band(vcpus, 1, 2) + 0.005 * _band(vcpus, 2, 4) + 0.0025 * max(0.0, vcpus - 4)


EKS_MAX_PODS = 110


def reserved_memory_gib(memory_gib: float, *, eks: bool = False) -> float:
    """GiB reserved on a node with ``memory_gib`` plus the eviction threshold.

    EKS AMIs reserve 255 MiB + 11 MiB per pod; GKE (and AKS before 1.29) reserve 25 % of the
    first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % up to 128 GiB and 2 % above."""
    if eks:
        return (255 + 11 * EKS_MAX_PODS) / 1024 + EVICTION_MEMORY_GIB
    m = memory_gib
    return 0.25 * _band(m, 0, 4) + 0.2 * _band(m, 4, 8) + 0.1 * _band(m, 8, 16) + 0.06 * _band(m, 16, 128) + 0.02 * max(0.0, m - 128) + EVICTION_MEMORY_GIB


def allocatable_per_replica(vcpus: float, memory_gib: float, replicas_per_node: int, *, eks: bool = False) -> tuple[float, float]:
    """(cores, GiB) one of ``replicas_per_node`` replicas can request on such a node."""
    cpu = vcpus - reserved_cpu(vcpus) - DAEMONSET_CPU
    mem = memory_gib - reserved_memory_gib(memory_gib, eks=eks) - DAEMONSET_MEMORY_GIB
    n = max(1, replicas_per_node)
    return cpu / n, mem / n


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
