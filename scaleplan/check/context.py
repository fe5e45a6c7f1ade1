"""The checked set of objects, indexed once for the cross-object rules (``Context``), what the
rules know of instance types (``InstanceTable``, passed in), the rule function type and its
registration, and the node-placement helpers several rule families share (which NodePool a
workload lands on, whether it can only run on spot capacity).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.rules import RULES_BY_ID
from scaleplan.check.workloads import (
    BATCH_KINDS,
    POD_SPEC_PATHS,
    SPOT_SELECTORS,
    Container,
    NodeSelection,
    Scaling,
    as_list,
    as_map,
    containers,
    get,
    node_selection,
    pod_gpus,
    pod_labels,
    same_namespace,
    target_ref,
)

# the newest Kubernetes minor check validates against by default (--kube-version), and the
# Pod Security Standards' policy version that ``latest`` means
DEFAULT_KUBE_VERSION = "1.37"

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.plan import Allocation, Plan


@dataclass(frozen=True)
class InstanceTable:
    """What the GPU and placement rules know of instance types: the most GPUs a type has and
    the providers that list it (an unknown type is not judged)."""

    gpus: Mapping[str, int] = field(default_factory=dict)
    providers: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> InstanceTable:
        gpus: dict[str, int] = {}
        providers: dict[str, set[str]] = {}
        for r in catalog.rows:
            gpus[r.instance_type] = max(gpus.get(r.instance_type, 0), r.accelerator_count)
            providers.setdefault(r.instance_type, set()).add(r.provider)
            # GCP N1 rows name the attached GPU (n1-standard-4+1xT4); nodes carry the machine type
            providers.setdefault(r.instance_type.split("+", 1)[0], set()).add(r.provider)
        return cls(gpus, {k: frozenset(v) for k, v in providers.items()})


@dataclass
class Context:
    """The checked set, indexed once for the cross-object rules."""

    objects: list[K8sObject]
    plan: Plan | None = None
    # called once, when a rule first asks about an instance type (reading a catalog is slow)
    instances: Callable[[], InstanceTable] = InstanceTable
    workloads: list[K8sObject] = field(default_factory=list)
    scaling: dict[int, Scaling] = field(default_factory=dict)
    # Pod Security Standards (scaleplan.check.pss): --pod-security, the version latest means,
    # the rules --enable named, and the namespaces' enforce labels and kube_version as a
    # policy version (read once, by pss)
    pod_security: str | None = None
    kube_version: str = DEFAULT_KUBE_VERSION
    enabled: frozenset[str] = frozenset()
    pss_namespaces: dict[str, Any] | None = None
    pss_version: tuple[int, int] | None = None
    _selections: dict[int, NodeSelection] = field(default_factory=dict)
    _labels: dict[int, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workloads = [o for o in self.objects if o.kind in POD_SPEC_PATHS]
        by_key: dict[tuple[str, str, str], K8sObject] = {}
        for w in self.workloads:
            by_key.setdefault((w.kind, w.namespace, w.name), w)
            self.scaling[id(w)] = Scaling(w)
        for o in self.objects:
            if o.kind == "HorizontalPodAutoscaler" or (
                o.kind == "ScaledObject" and o.group == "keda.sh"
            ):
                tw = self.target(o, by_key)
                if tw is not None:
                    s = self.scaling[id(tw)]
                    (s.hpas if o.kind == "HorizontalPodAutoscaler" else s.scaled_objects).append(o)

    def target(
        self, scaler: K8sObject, by_key: Mapping[tuple[str, str, str], K8sObject]
    ) -> K8sObject | None:
        kind, name = target_ref(scaler)
        w = by_key.get((kind, scaler.namespace, name))
        if w is not None:
            return w
        for w in self.workloads:  # objects without a namespace match any namespace
            if w.kind == kind and w.name == name and same_namespace(w, scaler):
                return w
        return None

    def labels(self, w: K8sObject) -> dict[str, str]:
        key = id(w)
        got = self._labels.get(key)
        if got is None:
            got = self._labels[key] = pod_labels(w)
        return got

    def of_kind(self, *kinds: str) -> Iterator[K8sObject]:
        return (o for o in self.objects if o.kind in kinds)

    @functools.cached_property
    def _allocations(self) -> dict[str, Allocation]:
        return {a.name: a for a in self.plan.allocations} if self.plan is not None else {}

    def allocation(self, w: K8sObject) -> Allocation | None:
        """The plan's allocation of ``w``'s name (None: no plan, or none of that name)."""
        return self._allocations.get(w.name)

    @functools.cached_property
    def _nodepools(self) -> dict[str, K8sObject]:
        out: dict[str, K8sObject] = {}
        for o in self.objects:
            if o.kind == "NodePool" and o.group == "karpenter.sh":
                out.setdefault(o.name, o)
        return out

    def nodepools(self) -> list[K8sObject]:
        return list(self._nodepools.values())

    def nodepool(self, name: str) -> K8sObject | None:
        return self._nodepools.get(name)

    @functools.cached_property
    def gpu_workloads(self) -> list[tuple[K8sObject, int]]:
        out = []
        for w in self.workloads:
            n = pod_gpus(w)
            if n > 0:
                out.append((w, n))
        return out

    @functools.cached_property
    def _instances(self) -> InstanceTable:
        return self.instances()

    def instance_gpus(self, instance_type: str) -> int | None:
        return self._instances.gpus.get(instance_type)

    def instance_providers(self, instance_type: str) -> frozenset[str]:
        return self._instances.providers.get(instance_type, frozenset())

    def selection(self, w: K8sObject) -> NodeSelection:
        key = id(w)
        sel = self._selections.get(key)
        if sel is None:
            sel = self._selections[key] = node_selection(w)
        return sel


RuleFn = Callable[[Context, Rule], Iterator[Finding]]


def registrar(table: dict[str, RuleFn]) -> Callable[[str], Callable[[RuleFn], RuleFn]]:
    """The ``@impl("rule-id")`` decorator of one rule family: files the function under its id in
    ``table`` (the family's ``IMPLS``); the id must be in :data:`scaleplan.check.rules.RULES`."""

    def impl(rule_id: str) -> Callable[[RuleFn], RuleFn]:
        def deco(fn: RuleFn) -> RuleFn:
            assert rule_id in RULES_BY_ID, rule_id
            table[rule_id] = fn
            return fn

        return deco

    return impl


def app_containers(
    ctx: Context, *, skip_batch: bool = False
) -> Iterator[tuple[K8sObject, Container]]:
    for w in ctx.workloads:
        if skip_batch and w.kind in BATCH_KINDS:
            continue
        for c in containers(w):
            yield w, c


def nodepool_for(ctx: Context, w: K8sObject) -> K8sObject | None:
    names = ctx.selection(w).values("karpenter.sh/nodepool")
    if not names or len(names) != 1:
        return None
    (name,) = names
    return ctx.nodepool(name)


def nodepool_requirement(np: K8sObject, key: str) -> tuple[set[str] | None, int | None]:
    """Values a NodePool allows for ``key`` (In), and the requirement's index."""
    for i, r in enumerate(as_list(get(np.data, ("spec", "template", "spec", "requirements")))):
        req = as_map(r)
        if req.get("key") == key and req.get("operator") == "In":
            return {str(v) for v in as_list(req.get("values"))}, i
    return None, None


def spot_only(ctx: Context, w: K8sObject) -> bool:
    sel = ctx.selection(w)
    for key, spot in SPOT_SELECTORS.items():
        vals = sel.values(key)
        if vals and all(v.lower() == spot.lower() for v in vals):
            return True
    np = nodepool_for(ctx, w)
    if np is not None:
        vals, _ = nodepool_requirement(np, "karpenter.sh/capacity-type")
        if vals and vals == {"spot"}:
            return True
    return False
