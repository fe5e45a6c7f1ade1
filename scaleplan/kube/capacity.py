"""Node allocatable model: how much of a node's CPU and memory pods of a workload can request.

Kubernetes never gives pods a whole node: the kubelet, the container runtime, the OS and the
eviction threshold are reserved (``kube-reserved``, ``system-reserved``, ``eviction-hard``) and
node DaemonSets (CNI, kube-proxy, log and metrics agents, the NVIDIA device plugin and DCGM
exporter) take their share. This module estimates what is left:

* CPU: the reservation table all three managed services publish (6 % of the first core, 1 % of
  the second, 0.5 % of cores 3-4, 0.25 % above 4), then the flavor's DaemonSet reserve.
* Memory: the nominal memory less the page map the kernel keeps out of the kubelet's capacity
  (1/64, :data:`PAGE_MAP_FRACTION`); then on ``eks*`` flavors the EKS AMI formula (255 MiB + 11
  MiB per pod, ``max_pods`` 110 by default); elsewhere GKE's (and AKS's before 1.29) tiered
  table (25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % up to 128 GiB, 2 %
  above); plus the 100 MiB ``eviction-hard`` threshold and the flavor's DaemonSet reserve.
* DaemonSets (:data:`DAEMONSET_RESERVE`, :func:`daemonset_reserve`): what the system
  DaemonSets of a managed GPU node pool request, per flavor, with room for a node exporter;
  ``spec.kubernetes.node_reserve`` replaces it, for the optimizer and the renderer alike
  (docs/render.md, "Requests and system-reserved resources", gives the sources).

It is a neutral module (pure functions, no imports from ``solve`` or ``render``): the optimizer
sizes each replica's requests with it (so the plan's ``cpu_per_replica`` and
``memory_gib_per_replica`` already fit) and the renderer checks plans against it (capping only
old or hand-edited plans). The per-replica values are rounded down to whole millicores (the
unit the renderer writes) and to 0.01 GiB (the renderer writes whole MiB, rounding down).

Limits: the real numbers depend on the AMI/image version, ``max-pods``, the DaemonSets actually
installed and custom kubelet flags; this is an estimate (docs/render.md, "Requests and
system-reserved resources").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

EVICTION_MEMORY_GIB = 100 / 1024  # eviction-hard memory.available<100Mi
# The kubelet's memory capacity is the kernel's MemTotal, below the machine's nominal memory,
# and GKE and AKS reserve from the nominal size. The page map (a 64-byte struct page per 4 KiB
# page: 1/64 of the node) is never in MemTotal: 2.7 GiB of a2-ultragpu-1g's 170, 18 GiB of
# p4d's 1152; sized from the nominal figure, a GPU replica given "the rest of the node" asked
# for more than it has (UX review 10, F5). Published captures leave 1/64 plus a fixed 75 to 465
# MiB (kernel image, crash kernel, firmware: GKE n1-standard-4 15406128Ki of 15 GiB, AKS
# Standard_D4s_v3 16403296Ki of 16 GiB, AKS Standard_B2s 4025836Ki of 4 GiB, an EKS node
# 16038616Ki of 16 GiB); that part does not grow with the node and is left to the margins of the
# DaemonSet reserve (GKE's measure 596 MiB of the 1.25 GiB kept) and EKS's 110-pod reservation.
PAGE_MAP_FRACTION = 1 / 64
EKS_MAX_PODS = 110
MIN_CPU = 0.1  # smallest CPU request (cores) the renderer writes
MIN_MEMORY_GIB = 0.125  # smallest memory request (GiB) the renderer writes


class Reserve(Protocol):
    """CPU cores and GiB of memory the node's DaemonSets request (``spec.kubernetes.node_reserve``
    has this shape)."""

    @property
    def cpu(self) -> float: ...

    @property
    def memory_gib(self) -> float: ...


@dataclass(frozen=True)
class NodeReserve:
    cpu: float  # cores
    memory_gib: float


# What the DaemonSets on one node of a managed GPU node pool request, per flavor (requests, not
# usage: the scheduler counts requests), rounded up. Measured per-node DaemonSet requests on
# default clusters (2i2c-org/infrastructure, deployer/commands/generate/resource_allocation/
# daemonset_requests.yaml; each includes a node exporter): GKE 344m / 596Mi (calico-node,
# fluentbit-gke, gke-metadata-server, gke-metrics-agent, ip-masq-agent, netd, pdcsi-node), EKS
# 170-195m / 250Mi (aws-node, ebs-csi-node, kube-proxy), AKS 226m / 300Mi (cloud-node-manager,
# csi-azuredisk-node, csi-azurefile-node, kube-proxy). On top: GKE's kube-proxy, a static pod
# that requests 100m (2i2c-org/infrastructure#4072); AKS Container Insights' ama-logs, 170m /
# 600Mi (ama-logs 75m/325Mi, its prometheus sidecar 75m/225Mi, token adapter 20m/50Mi:
# Azure/AKS#5413, microsoft/Docker-Provider#1236); EKS Container Insights' cloudwatch-agent and
# fluent-bit, about 300m / 300Mi (aws-samples/amazon-cloudwatch-container-insights manifests);
# and on every GPU node the NVIDIA device plugin and DCGM exporter, allowed 0.2 CPU / 0.5 GiB.
# The CPU estimates all come to 0.6-0.7 cores, so every flavor reserves 0.7. The optimizer
# (solve/shapes.py) packs CPU-only replicas and sizes GPU replicas with the same flavor and
# spec.kubernetes.node_reserve as render, so plan and manifests agree. generic: the largest.
DAEMONSET_RESERVE: dict[str, NodeReserve] = {
    "eks": NodeReserve(0.7, 1.25),
    "eks-karpenter": NodeReserve(0.7, 1.25),
    "gke": NodeReserve(0.7, 1.25),
    "aks": NodeReserve(0.7, 1.5),
    "generic": NodeReserve(0.7, 1.5),
}


def daemonset_reserve(flavor: str | None = None, override: Reserve | None = None) -> Reserve:
    """What the DaemonSets on one node request: ``override`` (``spec.kubernetes.node_reserve``)
    when given, else the flavor's estimate (:data:`DAEMONSET_RESERVE`; an unknown or missing
    flavor takes ``generic``'s, the largest)."""
    if override is not None:
        return override
    return DAEMONSET_RESERVE.get(flavor or "generic", DAEMONSET_RESERVE["generic"])


def is_eks(flavor: str) -> bool:
    """Whether ``flavor`` (spec.kubernetes.flavor) runs EKS AMIs (the EKS memory formula)."""
    return flavor.startswith("eks")


def spot_falls_back_on_demand(flavor: str) -> bool:
    """Whether a spot allocation's pods come back on on-demand nodes after a spot reclaim:
    eks-karpenter renders an on-demand fallback NodePool (lower weight) beside every spot
    NodePool, so Karpenter starts on-demand nodes for the evicted pods; the other flavors pin
    spot pods to spot nodes, where none are left to start."""
    return flavor == "eks-karpenter"


def _band(x: float, lo: float, hi: float) -> float:
    return max(0.0, min(x, hi) - lo)


def reserved_cpu(vcpus: float) -> float:
    """Cores kube-reserved + system-reserved on a node with ``vcpus`` (EKS/GKE/AKS table)."""
    return 0.06 * _band(vcpus, 0, 1) + 0.01 * _band(vcpus, 1, 2) + 0.005 * _band(vcpus, 2, 4) + 0.0025 * max(0.0, vcpus - 4)


def reserved_memory_gib(memory_gib: float, *, eks: bool = False,
        max_pods: int = EKS_MAX_PODS) -> float:
    """GiB reserved on a node with ``memory_gib`` plus the eviction threshold.

    EKS AMIs reserve 255 MiB + 11 MiB per pod (``max_pods``); GKE (and AKS before 1.29) reserve
    25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % up to 128 GiB and 2 %
    above."""
    if eks:
        return (255 + 11 * max(0, max_pods)) / 1024 + EVICTION_MEMORY_GIB
    m = memory_gib
    return 0.25 * _band(m, 0, 4) + 0.2 * _band(m, 4, 8) + 0.1 * _band(m, 8, 16) + 0.06 * _band(m, 16, 128) + 0.02 * max(0.0, m - 128) + EVICTION_MEMORY_GIB


def allocatable_cpu(vcpus: float, *, flavor: str | None = None,
        reserve: Reserve | None = None) -> float:
    """Cores the workload's pods can request on a node with ``vcpus``: node allocatable minus
    the DaemonSets' requests (:func:`daemonset_reserve`; may be <= 0 on tiny nodes)."""
    return vcpus - reserved_cpu(vcpus) - daemonset_reserve(flavor, reserve).cpu


def allocatable_memory_gib(
    memory_gib: float, *, flavor: str, max_pods: int = EKS_MAX_PODS, reserve: Reserve | None = None
) -> float:
    """GiB the workload's pods can request on a node of ``memory_gib`` nominal GiB on
    ``flavor``: node allocatable (the nominal memory less the page map,
    :data:`PAGE_MAP_FRACTION`, less the reservation taken from the nominal size) minus the
    DaemonSets' requests (may be <= 0 on tiny nodes)."""
    system = reserved_memory_gib(memory_gib, eks=is_eks(flavor), max_pods=max_pods)
    capacity = memory_gib * (1 - PAGE_MAP_FRACTION)  # the kubelet's, less the page map
    return capacity - system - daemonset_reserve(flavor, reserve).memory_gib


def floor_millicores(cores: float) -> float:
    """``cores`` rounded down to a whole millicore (the unit the renderer writes)."""
    return math.floor(cores * 1000 + 1e-6) / 1000


def floor_centi_gib(gib: float) -> float:
    """``gib`` rounded down to 0.01 GiB (readable in plans; the renderer then writes it
    rounded down to a whole MiB, never more)."""
    return math.floor(gib * 100 + 1e-6) / 100


def allocatable_share(
    vcpus: float,
    memory_gib: float,
    replicas_per_node: int,
    *,
    flavor: str,
    max_pods: int = EKS_MAX_PODS,
    reserve: Reserve | None = None,
) -> tuple[float, float]:
    """(cores, GiB) each of ``replicas_per_node`` replicas can request on such a node, split
    evenly, unrounded (the renderer caps requests above it). Either may be <= 0 when the node
    is too small."""
    n = max(1, replicas_per_node)
    cpu = allocatable_cpu(vcpus, flavor=flavor, reserve=reserve) / n
    mem = allocatable_memory_gib(memory_gib, flavor=flavor, max_pods=max_pods, reserve=reserve) / n
    return cpu, mem


def allocatable_per_replica(
    vcpus: float,
    memory_gib: float,
    replicas_per_node: int,
    *,
    flavor: str,
    max_pods: int = EKS_MAX_PODS,
    reserve: Reserve | None = None,
) -> tuple[float, float]:
    """:func:`allocatable_share` rounded down to whole millicores and 0.01 GiB (the requests
    the optimizer plans)."""
    cpu, mem = allocatable_share(
        vcpus, memory_gib, replicas_per_node, flavor=flavor, max_pods=max_pods, reserve=reserve
    )
    return floor_millicores(cpu), floor_centi_gib(mem)
