"""Pod templates, containers, GPU resources, node selection and the links between objects.

Pure helpers used by the rules: where a kind keeps its pod spec, which objects select which
pods, which autoscaler scales which workload, and which nodes a pod asks for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scaleplan.check.model import K8sObject
from scaleplan.yamlio import PathKey

POD_SPEC_PATHS: dict[str, PathKey] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
BATCH_KINDS = frozenset({"Job", "CronJob"})
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})

# Extended resources that are accelerators (the catalog's k8s_resource names and the usual others).
GPU_RESOURCES = frozenset(
    {
        "nvidia.com/gpu",
        "amd.com/gpu",
        "gpu.intel.com/i915",
        "gpu.intel.com/xe",
        "aws.amazon.com/neuron",
        "aws.amazon.com/neuroncore",
        "aws.amazon.com/neurondevice",
        "google.com/tpu",
    }
)
MIG_RE = re.compile(r"^nvidia\.com/mig-")

# Node labels that pin a pod to accelerator nodes (any cloud, GPU feature discovery, Karpenter).
GPU_SELECTOR_KEYS = frozenset(
    {
        "node.kubernetes.io/instance-type",
        "beta.kubernetes.io/instance-type",
        "nvidia.com/gpu.product",
        "nvidia.com/gpu.present",
        "nvidia.com/gpu.count",
        "nvidia.com/gpu.memory",
        "nvidia.com/gpu.family",
        "karpenter.k8s.aws/instance-gpu-name",
        "karpenter.k8s.aws/instance-gpu-count",
        "karpenter.k8s.aws/instance-gpu-manufacturer",
        "karpenter.k8s.aws/instance-gpu-memory",
        "karpenter.k8s.aws/instance-family",
        "karpenter.k8s.aws/instance-accelerator-name",
        "karpenter.k8s.aws/instance-accelerator-count",
        "karpenter.sh/nodepool",
        "eks.amazonaws.com/instance-gpu-name",
        "eks.amazonaws.com/nodegroup",
        "cloud.google.com/gke-accelerator",
        "cloud.google.com/gke-nodepool",
        "kubernetes.azure.com/accelerator",
        "karpenter.azure.com/sku-gpu-name",
        "karpenter.azure.com/sku-family",
        "agentpool",
        "kubernetes.azure.com/agentpool",
    }
)
INSTANCE_TYPE_KEYS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
GPU_TAINT_KEYS = frozenset(
    {"nvidia.com/gpu", "amd.com/gpu", "sku", "aws.amazon.com/neuron", "google.com/tpu", "gpu"}
)
# GKE adds the GPU toleration itself (ExtendedResourceToleration) when a pod selects an accelerator.
AUTO_TOLERATION_KEYS = frozenset({"cloud.google.com/gke-accelerator"})
SPOT_SELECTORS: dict[str, str] = {
    "karpenter.sh/capacity-type": "spot",
    "cloud.google.com/gke-spot": "true",
    "cloud.google.com/gke-preemptible": "true",
    "eks.amazonaws.com/capacityType": "SPOT",
    "kubernetes.azure.com/scalesetpriority": "spot",
}


def get(data: Any, path: PathKey) -> Any:
    cur = data
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur):
                return None
            cur = cur[p]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(p)
    return cur


def as_map(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def str_map(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in as_map(v).items()}


def pod_spec_path(obj: K8sObject) -> PathKey | None:
    return POD_SPEC_PATHS.get(obj.kind)


def pod_labels(obj: K8sObject) -> dict[str, str]:
    if obj.kind == "Pod":
        return str_map(obj.metadata.get("labels"))
    path = pod_spec_path(obj)
    if path is None:
        return {}
    return str_map(get(obj.data, (*path[:-1], "metadata", "labels")))


@dataclass(frozen=True)
class Container:
    data: Mapping[str, Any]
    path: PathKey
    init: bool
    ephemeral: bool = False

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def label(self) -> str:
        kind = "ephemeral container" if self.ephemeral else "init container" if self.init else ""
        return f"{kind or 'container'} {self.name!r}"

    @property
    def security_context(self) -> Mapping[str, Any]:
        """The container's securityContext; empty where it has none (or not a mapping)."""
        return as_map(self.data.get("securityContext"))


def containers(
    obj: K8sObject, *, init: bool = False, ephemeral: bool = False
) -> Iterator[Container]:
    """The pod's app containers, then (``init``) its init containers, then (``ephemeral``) its
    ephemeral containers (debug containers: only the Pod Security Standards rules read them)."""
    path = pod_spec_path(obj)
    if path is None:
        return
    spec = get(obj.data, path)
    for key, is_init in (("containers", False), ("initContainers", True)):
        if is_init and not init:
            continue
        for i, c in enumerate(as_list(as_map(spec).get(key))):
            if isinstance(c, Mapping):
                yield Container(c, (*path, key, i), is_init)
    if ephemeral:
        for i, c in enumerate(as_list(as_map(spec).get("ephemeralContainers"))):
            if isinstance(c, Mapping):
                yield Container(c, (*path, "ephemeralContainers", i), False, True)


def is_gpu_resource(name: str) -> bool:
    return name in GPU_RESOURCES or bool(MIG_RE.match(name))


def quantity_int(v: Any) -> int | None:
    """Whole-number quantity of an extended resource (``1``, ``"2"``); None when not one."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def gpus(c: Container) -> dict[str, int]:
    """GPU resource -> count for one container (limits win, requests otherwise)."""
    res = as_map(c.data.get("resources"))
    out: dict[str, int] = {}
    for section in ("requests", "limits"):
        for k, v in as_map(res.get(section)).items():
            if is_gpu_resource(str(k)):
                n = quantity_int(v)
                if n is not None:
                    out[str(k)] = n
    return out


def pod_gpus(obj: K8sObject) -> int:
    """Accelerators one pod needs: sum over app containers, max with any init container."""
    total = sum(sum(gpus(c).values()) for c in containers(obj))
    init = max((sum(gpus(c).values()) for c in containers(obj, init=True) if c.init), default=0)
    return max(total, init)


@dataclass(frozen=True)
class NodeSelection:
    """What a pod asks of its node: exact labels (nodeSelector, required affinity In of one value)."""

    labels: dict[str, set[str]] = field(default_factory=dict)  # key -> allowed values ({} = Exists)
    path: PathKey = ()

    def keys(self) -> set[str]:
        return set(self.labels)

    def values(self, key: str) -> set[str] | None:
        return self.labels.get(key)


# Path, inside a pod spec, of the required node-affinity terms.
NODE_SELECTOR_TERMS_PATH: PathKey = (
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
)


def node_selector_terms(spec: Mapping[str, Any]) -> list[Any]:
    """The required nodeAffinity nodeSelectorTerms of a pod spec ([] if none)."""
    return as_list(get(spec, NODE_SELECTOR_TERMS_PATH))


def every_term_selects(obj: K8sObject, keys: frozenset[str] | set[str]) -> bool:
    """Whether the pod's required nodeAffinity has several (ORed) terms and each one requires
    a label among ``keys`` (``In`` or ``Exists``): any node the pod may land on carries one.
    ``scaleplan profile --emit-jobs`` selects a GPU this way, one term per node-label scheme
    (GPU feature discovery, GKE, Karpenter), since a Job does not know its cluster's."""
    path = pod_spec_path(obj)
    if path is None:
        return False
    terms = node_selector_terms(as_map(get(obj.data, path)))
    if len(terms) < 2:
        return False  # one term: node_selection already reads its expressions
    for term in terms:
        required = {
            str(as_map(e).get("key", ""))
            for e in as_list(as_map(term).get("matchExpressions"))
            if as_map(e).get("operator") in ("In", "Exists")
        }
        if not required & keys:
            return False
    return True


def node_selection(obj: K8sObject) -> NodeSelection:
    path = pod_spec_path(obj)
    if path is None:
        return NodeSelection()
    spec = as_map(get(obj.data, path))
    labels: dict[str, set[str]] = {}
    for k, v in str_map(spec.get("nodeSelector")).items():
        labels[k] = {v}
    terms = node_selector_terms(spec)
    # Only when there is a single term are its expressions all required (terms are ORed).
    if len(terms) == 1:
        for expr in as_list(as_map(terms[0]).get("matchExpressions")):
            e = as_map(expr)
            key = str(e.get("key", ""))
            op = e.get("operator")
            vals = {str(x) for x in as_list(e.get("values"))}
            if not key:
                continue
            if op == "In":
                labels[key] = labels[key] & vals if key in labels else vals
            elif op in ("Exists", "Gt", "Lt"):
                labels.setdefault(key, set())
    sel_path = (
        (*path, "nodeSelector")
        if spec.get("nodeSelector")
        else (*path, "affinity")
        if spec.get("affinity")
        else path
    )
    return NodeSelection(labels, sel_path)


def tolerations(obj: K8sObject) -> list[Mapping[str, Any]]:
    path = pod_spec_path(obj)
    if path is None:
        return []
    return [as_map(t) for t in as_list(get(obj.data, (*path, "tolerations")))]


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set."""
    for k, v in str_map(selector.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for expr in as_list(selector.get("matchExpressions")):
        e = as_map(expr)
        key = str(e.get("key", ""))
        op = e.get("operator")
        vals = {str(x) for x in as_list(e.get("values"))}
        if (
            (op == "In" and labels.get(key) not in vals)
            or (op == "NotIn" and key in labels and labels[key] in vals)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def same_namespace(a: K8sObject, b: K8sObject) -> bool:
    return not a.namespace or not b.namespace or a.namespace == b.namespace


def int_or_percent(v: Any, total: int, *, round_up: bool = True) -> int | None:
    """Resolve an IntOrString (``3`` or ``"50%"``) against ``total``."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s.endswith("%") and s[:-1].strip().isdigit():
            frac = int(s[:-1]) * total / 100
            return math.ceil(frac) if round_up else math.floor(frac)
        if s.isdigit():
            return int(s)
    return None


@dataclass
class Scaling:
    """What scales a workload: its own replicas, HPAs and KEDA ScaledObjects."""

    workload: K8sObject
    hpas: list[K8sObject] = field(default_factory=list)
    scaled_objects: list[K8sObject] = field(default_factory=list)

    @property
    def replicas(self) -> int:
        r = (
            quantity_int(self.workload.data.get("spec", {}).get("replicas"))
            if isinstance(self.workload.data.get("spec"), Mapping)
            else None
        )
        return 1 if r is None else r

    def min_replicas(self) -> int:
        """Fewest pods the workload runs at normally (HPA/KEDA min, else replicas)."""
        mins: list[int] = []
        for h in self.hpas:
            v = quantity_int(get(h.data, ("spec", "minReplicas")))
            mins.append(1 if v is None else v)
        for s in self.scaled_objects:
            v = quantity_int(get(s.data, ("spec", "minReplicaCount")))
            mins.append(0 if v is None else v)
        if mins:
            return min(mins)
        if self.workload.kind == "Pod":
            return 1
        return self.replicas

    def max_replicas(self) -> int:
        """Most pods the workload can run (HPA/KEDA max, else replicas)."""
        maxes: list[int] = []
        for h in self.hpas:
            v = quantity_int(get(h.data, ("spec", "maxReplicas")))
            if v is not None:
                maxes.append(v)
        for s in self.scaled_objects:
            v = quantity_int(get(s.data, ("spec", "maxReplicaCount")))
            maxes.append(100 if v is None else v)  # KEDA's default
        if maxes:
            return max(
                [
                    *maxes,
                    self.replicas if "replicas" in as_map(self.workload.data.get("spec")) else 0,
                ]
            )
        if self.workload.kind == "Pod":
            return 1
        return self.replicas


def target_ref(obj: K8sObject) -> tuple[str, str]:
    """(kind, name) an HPA or ScaledObject scales."""
    ref = as_map(get(obj.data, ("spec", "scaleTargetRef")))
    return str(ref.get("kind") or "Deployment"), str(ref.get("name", ""))
