"""Where the pods run: node selectors and tolerations per flavor, and Karpenter's node objects.

* :func:`scheduling`: one allocation's ``nodeSelector`` and ``tolerations`` on the spec's
  flavor (eks, eks-karpenter, gke, aks, generic), and :func:`node_affinity` for eks-karpenter
  spot allocations (the spot NodePool or its on-demand fallback).
* :func:`karpenter_objects`: one EC2NodeClass + NodePool per (family, capacity type); spot
  pools take the interchangeable instance types of :func:`interchangeable_types` (from the AWS
  catalog rows the caller passes in) and get an on-demand fallback pool of lower weight.

docs/render.md, "Flavors" and "Spot on eks-karpenter". Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scaleplan.catalog.model import InstanceRow
from scaleplan.errors import PlanError, Problem
from scaleplan.kube import safety
from scaleplan.kube.capacity import spot_falls_back_on_demand
from scaleplan.kube.zones import ZONE_KEY, spread_zones
from scaleplan.plan import Allocation, Plan
from scaleplan.render import serving
from scaleplan.render.allocations import Alloc
from scaleplan.render.metadata import MANAGED_BY, Entry, Obj, machine_type, meta
from scaleplan.render.room import bound_nodes
from scaleplan.spec import Flavor

DEDICATED_TAINT = "scaleplan.dev/service"
SPOT_PRICE_MARGIN = 0.25  # spot NodePools also take interchangeable types up to 25 % dearer
SPOT_WEIGHT = 50
FALLBACK_WEIGHT = 10
CLUSTER_PLACEHOLDER = "CLUSTER_NAME"


# --- scheduling per flavor ------------------------------------------------------------------


def scheduling(plan: Plan, al: Alloc, warnings: list[str]) -> tuple[dict[str, str], list[Obj]]:
    """nodeSelector and tolerations for one allocation on the spec's flavor."""
    flavor: Flavor = plan.spec.kubernetes.flavor
    spot = al.a.capacity_type == "spot"
    sel: dict[str, str] = {}
    tol: list[Obj] = []
    if al.resource is not None:
        tol.append({"key": al.resource, "operator": "Exists", "effect": "NoSchedule"})
    machine = machine_type(al.a.instance_type)
    if flavor == "eks":
        sel["node.kubernetes.io/instance-type"] = machine
        sel["eks.amazonaws.com/capacityType"] = "SPOT" if spot else "ON_DEMAND"
    elif flavor == "eks-karpenter":
        assert al.nodepool is not None
        if not spot:
            sel["karpenter.sh/nodepool"] = al.nodepool
            sel["node.kubernetes.io/instance-type"] = machine
            sel["karpenter.sh/capacity-type"] = "on-demand"
        # spot: required node affinity on the spot pool and its on-demand fallback (node_affinity)
        tol.append({"key": DEDICATED_TAINT, "operator": "Equal", "value": plan.spec.metadata.name,
            "effect": "NoSchedule"})
    elif flavor == "gke":
        _gke(al, machine, sel, tol, warnings)
    elif flavor == "aks":
        sel["node.kubernetes.io/instance-type"] = machine
        if al.resource is not None:
            tol.append({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"})
        if spot:
            sel["kubernetes.azure.com/scalesetpriority"] = "spot"
            tol.append({"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal",
                "value": "spot", "effect": "NoSchedule"})
    else:  # generic: only labels NVIDIA GPU feature discovery sets
        if al.resource is not None:
            product = al.accel.gpu_product if al.accel else None
            if product:
                sel["nvidia.com/gpu.product"] = product
            else:  # Neuron and other non-NVIDIA parts: GPU feature discovery does not label them
                sel["node.kubernetes.io/instance-type"] = machine
        if spot:
            warnings.append(f"allocation {al.name}: flavor generic has no standard spot label; the "
                "spot replicas are scheduled like on-demand ones")
    own = _row_label_problems(plan, al, sel)  # the catalog row's own labels
    if own:
        raise PlanError(None, own)
    sel.update(al.node_labels)
    row = dict(al.node_labels)  # their values were checked above
    for k, v in sel.items():
        if k not in row and safety.check_label_value(v, k):
            raise PlanError(None, [Problem(f"allocations[{al.index}]",
                f"node label {k}={safety.shown(v)} is not a valid label value",
                hint="check the plan's instance type and accelerator")])
    return sel, tol


def _row_label_problems(plan: Plan, al: Alloc, sel: dict[str, str]) -> list[Problem]:
    """The catalog row's ``node_labels`` (docs/catalog.md, "Owned nodes") that are not valid
    labels, or that change a label render selects by itself (``sel``: GPU, instance type,
    capacity type; by node affinity a spot NodePool, its instance types or the zones)."""
    where = f"catalog row {al.a.provider}/{al.a.region}/{al.a.instance_type}: node_labels"
    own = [
        p
        for k, v in al.node_labels
        for p in safety.check_label_key(k, f"{where}.{k}")
        + safety.check_label_value(v, f"{where}.{k}")
    ]
    affinity = node_affinity(plan, al) or {}
    terms = affinity.get("requiredDuringSchedulingIgnoredDuringExecution", {})
    chosen = {k: [v] for k, v in sel.items()}
    for term in terms.get("nodeSelectorTerms", []):
        for e in term["matchExpressions"]:
            chosen.setdefault(e["key"], []).extend(e["values"])
    flavor = plan.spec.kubernetes.flavor
    return own + [
        Problem(
            f"{where}.{k}",
            f"render selects {k} itself on flavor {flavor} "
            f"({', '.join(map(safety.shown, chosen[k]))}), and the row says {safety.shown(v)}",
            hint="remove the key from node_labels; a row's gpu_product sets the GPU label",
        )
        for k, v in al.node_labels
        if k in chosen and v not in chosen[k]
    ]


def _gke(al: Alloc, machine: str, sel: dict[str, str], tol: list[Obj], warnings: list[str]) -> None:
    if al.resource is not None:
        gke = al.accel.gke_accelerator if al.accel else None
        if gke:
            sel["cloud.google.com/gke-accelerator"] = gke
        else:
            warnings.append(f"allocation {al.name}: accelerator {al.a.accelerator} has no GKE "
                "accelerator name; selecting the node by machine type only")
    sel["node.kubernetes.io/instance-type"] = machine
    if al.a.capacity_type == "spot":
        sel["cloud.google.com/gke-spot"] = "true"
        tol.append({"key": "cloud.google.com/gke-spot", "operator": "Equal", "value": "true",
            "effect": "NoSchedule"})


def node_affinity(plan: Plan, al: Alloc) -> Obj | None:
    """The required node affinity, one term: eks-karpenter spot allocations take the spot
    NodePool (weight 50) or its on-demand fallback (weight 10), on any of the interchangeable
    instance types (Karpenter tries spot first); under redundancy: zone the pods may only use
    the plan's zones (:func:`scaleplan.kube.zones.spread_zones`), the domains of their spread."""
    exprs: list[Obj] = []
    if al.a.capacity_type == "spot" and spot_falls_back_on_demand(plan.spec.kubernetes.flavor):
        assert al.nodepool is not None
        types = list(al.types) or [machine_type(al.a.instance_type)]
        pools = [al.nodepool, fallback_pool(al.nodepool)]
        exprs.append({"key": "karpenter.sh/nodepool", "operator": "In", "values": pools})
        exprs.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types})
    zones = spread_zones(plan.spec.placement.redundancy, al.a.zones)
    if zones:
        exprs.append({"key": ZONE_KEY, "operator": "In", "values": list(zones)})
    if not exprs:
        return None
    terms = [{"matchExpressions": exprs}]
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}


# --- Karpenter ------------------------------------------------------------------------------


def interchangeable_types(a: Allocation, rows: Sequence[InstanceRow]) -> list[str]:
    """Instance types a spot allocation can also run on: same provider, region, accelerator and
    accelerator count, at least the CPU and memory, spot price within SPOT_PRICE_MARGIN of the
    plan's type (``rows``: the AWS catalog's). The plan's own type first, the rest by name."""
    own = machine_type(a.instance_type)
    out: set[str] = set()
    if a.provider == "aws" and a.gpus_per_replica > 0:
        for r in rows:
            if r.region != a.region or r.instance_type == own or r.accelerator is None:
                continue
            if (r.accelerator.lower() != a.accelerator.lower()
                    or r.accelerator_count != a.accelerators_per_node):
                continue
            if r.vcpus < a.vcpus_per_node or r.memory_gib < a.memory_gib_per_node - 1e-6:
                continue
            if (r.price_spot is None
                    or r.price_spot > a.price_per_node_hour * (1 + SPOT_PRICE_MARGIN) + 1e-9):
                continue
            out.add(r.instance_type)
    return [own, *sorted(out)]


def fallback_pool(nodepool: str) -> str:
    return safety.sanitize_dns_label(f"{nodepool}-fallback")


def karpenter_objects(plan: Plan, allocs: Sequence[Alloc], cluster: str) -> list[Entry]:
    """One EC2NodeClass + NodePool per (family, capacity type); spot pools take interchangeable
    instance types and get an on-demand fallback pool of lower weight; limits = the plan's peak
    nodes plus one node, so that a node can be replaced before the old one goes."""
    groups: dict[str, list[Alloc]] = {}
    for al in allocs:
        assert al.nodepool is not None
        groups.setdefault(al.nodepool, []).append(al)
    out: list[Entry] = []
    for name in sorted(groups):
        out += _karpenter_group(plan, name, groups[name], cluster)
    return out


def _karpenter_group(plan: Plan, name: str, members: Sequence[Alloc], cluster: str) -> list[Entry]:
    """EC2NodeClass and NodePool(s) for one (family, capacity type) group of allocations."""
    first = members[0].a
    spot = first.capacity_type == "spot"
    out: list[Entry] = [("EC2NodeClass", name, _node_class(plan, name, members, cluster))]
    out.append(("NodePool", name, _node_pool(plan, name, members, name, first.capacity_type,
        SPOT_WEIGHT if spot else None)))
    if spot:
        fb = fallback_pool(name)
        out.append(("NodePool", fb, _node_pool(plan, name, members, fb, "on-demand", FALLBACK_WEIGHT)))
    return out


def _limits(plan: Plan, members: Sequence[Alloc], nodes_extra: int) -> Obj:
    """The group's peak nodes' CPU, memory and accelerators, plus ``nodes_extra`` of its biggest node."""
    gpu_res = members[0].resource
    biggest = max(members, key=lambda m: (m.a.vcpus_per_node, m.a.memory_gib_per_node)).a
    # each allocation's nodes at its autoscaler's bound (the peak's, or more: render.room),
    # spread over its zones as the pods' spread needs
    nodes = [(bound_nodes(plan, m.a, m.most_replicas), m.a) for m in members]
    nodes.append((nodes_extra, biggest))
    cpu = sum(n * a.vcpus_per_node for n, a in nodes)
    mem = sum(n * a.memory_gib_per_node for n, a in nodes)
    lim: Obj = {"cpu": str(cpu), "memory": f"{math.ceil(mem)}Gi"}
    if gpu_res is not None:
        lim[gpu_res] = str(sum(n * a.accelerators_per_node for n, a in nodes))
    return lim


def _node_pool(plan: Plan, name: str, members: Sequence[Alloc], pool_name: str, capacity: str,
        weight: int | None) -> Obj:
    svc = plan.spec.metadata.name
    first = members[0].a
    gpu_res = members[0].resource
    spot = first.capacity_type == "spot"
    types = sorted({t for m in members for t in (m.types if spot else [machine_type(m.a.instance_type)])})
    zones = sorted({z for m in members for z in m.a.zones})
    reqs: list[Obj] = []
    if len(types) == 1 or not spot:
        reqs.append({"key": "karpenter.k8s.aws/instance-family", "operator": "In",
            "values": [first.family]})
    reqs.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types})
    reqs.append({"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]})
    if zones:
        reqs.append({"key": "topology.kubernetes.io/zone", "operator": "In", "values": zones})
    taints: list[Obj] = [{"key": DEDICATED_TAINT, "value": svc, "effect": "NoSchedule"}]
    if gpu_res is not None:
        taints.insert(0, {"key": gpu_res, "value": "true", "effect": "NoSchedule"})
    node_labels = {"app.kubernetes.io/part-of": svc, "app.kubernetes.io/managed-by": MANAGED_BY}
    pspec: Obj = {
        "template": {
            "metadata": {"labels": node_labels},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name},
                "requirements": reqs,
                "taints": taints,
                "expireAfter": "720h",
            },
        },
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m",
            "budgets": [{"nodes": "10%"}]},
        "limits": _limits(plan, members, 1),
    }
    if weight is not None:
        pspec["weight"] = weight
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool",
        "metadata": meta(plan, pool_name, svc, namespaced=False), "spec": pspec}


def _node_class(plan: Plan, name: str, members: Sequence[Alloc], cluster: str) -> Obj:
    svc = plan.spec.metadata.name
    gpu = members[0].resource is not None
    llm = any(m.server is not None or (m.storage is not None and m.storage.cache_gib is not None)
        for m in members)
    local = any(m.storage is not None and m.storage.node_local for m in members)
    root = serving.root_volume_gib(gpu=gpu, replicas_per_node=max(m.a.replicas_per_node
        for m in members), llm=llm)
    ncspec: Obj = {
        "role": f"KarpenterNodeRole-{cluster}",
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": cluster}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": cluster}}],
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda",
                "ebs": {"volumeSize": f"{root}Gi", "volumeType": "gp3", "encrypted": True,
                "deleteOnTermination": True}}
        ],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "tags": {"app.kubernetes.io/part-of": svc, "app.kubernetes.io/managed-by": MANAGED_BY},
    }
    if local:
        ncspec["instanceStorePolicy"] = "RAID0"  # NVMe instance store becomes the kubelet's ephemeral storage
    return {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
        "metadata": meta(plan, name, svc, namespaced=False), "spec": ncspec}
