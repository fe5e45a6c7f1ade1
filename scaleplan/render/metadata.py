"""What every rendered object carries: names, labels, annotations and selectors.

The lowest render module: the builders (workloads, nodes, autoscaling, gateway, monitoring)
all take their ``metadata`` and pod selectors from here, so that the labels scaleplan selects
on and the annotations ``scaleplan check`` reads are spelled in one place (docs/render.md).
Pure.
"""

from __future__ import annotations

from typing import Any

from scaleplan._version import __version__
from scaleplan.kube.safety import RESERVED_LABELS
from scaleplan.plan import Plan
from scaleplan.spec import Spec

Obj = dict[str, Any]
Entry = tuple[str, str, Obj]  # (kind, name, object), in apply order

MANAGED_BY = "scaleplan"
COMPONENT = "inference"
PORT_NAME = "http"
ANN_PLAN_HASH = "scaleplan.dev/plan-hash"
ANN_VERSION = "scaleplan.dev/version"


def labels(spec: Spec, instance: str) -> dict[str, str]:
    """scaleplan's app.kubernetes.io labels, then the spec's own (which cannot override them)."""
    name = spec.metadata.name
    out = dict(zip(RESERVED_LABELS, (name, instance, COMPONENT, name, MANAGED_BY), strict=True))
    for k in sorted(spec.metadata.labels):
        out.setdefault(k, spec.metadata.labels[k])
    return out


def plan_annotations(plan: Plan, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The plan hash and scaleplan version, ``extra``, then the spec's own annotations."""
    ann = {ANN_PLAN_HASH: plan.metadata.plan_hash, ANN_VERSION: __version__}
    ann.update(extra or {})
    for k in sorted(plan.spec.metadata.annotations):
        ann.setdefault(k, plan.spec.metadata.annotations[k])
    return ann


def meta(plan: Plan, name: str, instance: str, *, namespaced: bool = True,
        extra_ann: dict[str, str] | None = None) -> Obj:
    """An object's ``metadata``: name, namespace (unless cluster-scoped), labels, annotations."""
    m: Obj = {"name": name}
    if namespaced:
        m["namespace"] = plan.spec.kubernetes.namespace
    m["labels"] = labels(plan.spec, instance)
    m["annotations"] = plan_annotations(plan, extra_ann)
    return m


def selector(spec: Spec, instance: str) -> dict[str, str]:
    """The labels that select one instance's pods (an allocation's Deployment)."""
    return {"app.kubernetes.io/name": spec.metadata.name, "app.kubernetes.io/instance": instance}


def machine_type(instance_type: str) -> str:
    """GCP N1 rows carry the attached GPU in the name (n1-standard-4+1xT4): the machine type is before '+'."""
    return instance_type.split("+", 1)[0]
