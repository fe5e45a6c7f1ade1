"""``api-rejects``: values the API server rejects although the OpenAPI schema allows them (object
names, namespaces and labels that are not valid Kubernetes names; int32 fields out of range;
container resource names that are neither standard nor a domain-qualified extended resource;
a container's request above its limit; container fields behind a feature gate that is off by
default at the chosen version).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import as_map, containers
from scaleplan.kube import names
from scaleplan.kube.quantity import quantity

if TYPE_CHECKING:
    from scaleplan.yamlio import PathKey


IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# int32 fields of the core workload, autoscaling and Service APIs (the OpenAPI schema says
# "format: int32", which JSON-schema validation does not enforce; the API server does).
_INT32_KEYS = frozenset(
    {
        "replicas", "minReplicas", "maxReplicas", "containerPort", "hostPort", "port", "targetPort",
        "nodePort", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds",
        "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
        "failureThreshold", "parallelism", "completions", "backoffLimit", "minAvailable",
        "maxUnavailable", "maxSurge", "averageValue", "averageUtilization",
            "stabilizationWindowSeconds",
    }
)  # fmt: skip
# Kinds whose names must be DNS-1123 labels (63 characters) rather than subdomains.
_LABEL_NAMED = frozenset({"Service", "Namespace"})

# Each case's own fix (the rule's hint lists them all: --list-rules, SARIF; UX trial 35 LOW-9:
# a request above its limit was told about DNS names and int32)
_DNS_LABEL_FIX = (
    "use a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending "
    "with a letter or digit"
)
_DNS_SUBDOMAIN_FIX = (
    "use a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.', each "
    "dot-separated part starting and ending with a letter or digit"
)
_LABEL_FIX = (
    "use a label key of an optional DNS subdomain prefix and '/' and a name, and a value (or "
    "none) of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter "
    "or digit, without whitespace"
)
_RESOURCE_FIX = (
    "spell the resource cpu, memory, ephemeral-storage or hugepages-<size>, or as an extended "
    "resource domain/name (nvidia.com/gpu)"
)


def _walk_ints(node: Any, path: PathKey) -> Iterator[tuple[PathKey, int]]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            if isinstance(v, int) and not isinstance(v, bool) and str(k) in _INT32_KEYS:
                yield (*path, str(k)), v
            elif isinstance(v, Mapping | list):
                yield from _walk_ints(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_ints(v, (*path, i))


# The API server's container resource names without a domain (validateContainerResourceName:
# cpu, memory, ephemeral-storage and hugepages-<size>); any other name needs a domain.
_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


def container_resource_problem(name: str) -> str | None:
    """Why the API server rejects ``name`` as a container resource, or None."""
    if not names.is_label_key(name):
        return "is not a qualified name"
    if "/" not in name:
        if name in _CONTAINER_RESOURCES or name.startswith("hugepages-"):
            return None
        return (
            "is not a standard container resource (cpu, memory, ephemeral-storage,"
            " hugepages-<size>) and has no domain (extended resources are domain/name)"
        )
    if "kubernetes.io/" in name:
        return None
    if name.startswith("requests.") or not names.is_label_key(f"requests.{name}"):
        return "does not follow the extended resource name standard"
    return None


def _resource_names(o: K8sObject, rule: Rule) -> Iterator[Finding]:
    for c in containers(o, init=True):
        res = as_map(c.data.get("resources"))
        for section in ("requests", "limits"):
            for key in as_map(res.get(section)):
                problem = container_resource_problem(str(key))
                if problem is not None:
                    yield o.finding(
                        rule,
                        f"{c.label()} resources.{section} {str(key)!r} {problem}",
                        (*c.path, "resources", section, str(key)),
                        hint=_RESOURCE_FIX,
                    )


def _request_above_limit(o: K8sObject, rule: Rule) -> Iterator[Finding]:
    """The API server refuses a container whose request of a resource exceeds its limit
    (ValidateResourceRequirements: 'must be less than or equal to ... limit')."""
    for c in containers(o, init=True):
        res = as_map(c.data.get("resources"))
        limits = as_map(res.get("limits"))
        for key, req in as_map(res.get("requests")).items():
            if "/" in str(key):  # extended: request == limit (gpu-limit-request-mismatch)
                continue
            want, cap = quantity(req), quantity(limits.get(key))
            if want is None or cap is None or want <= cap:
                continue
            yield o.finding(
                rule,
                f"{c.label()} resources.requests.{key} {req} is above its limit "
                f"{limits.get(key)}: the API server rejects a request above the limit",
                (*c.path, "resources", "requests", str(key)),
                hint=(
                    f"lower resources.requests.{key} to at most {limits.get(key)}, or raise "
                    f"resources.limits.{key} to at least {req}"
                ),
            )


# container fields the schema of a version lists while their feature gate is off by default
# there (from, default-on): the API server drops the field, and the object then fails its own
# validation; before ``from`` the schema rule reports the field itself
_GATED = (
    (("lifecycle", "preStop", "sleep"), (1, 29), (1, 30), "PodLifecycleSleepAction"),
    (("lifecycle", "postStart", "sleep"), (1, 29), (1, 30), "PodLifecycleSleepAction"),
)


def _gated_fields(o: K8sObject, rule: Rule, kube_version: str) -> Iterator[Finding]:
    major, minor = (int(x) for x in kube_version.split(".")[:2])
    for c in containers(o, init=True):
        for path, listed, since, gate in _GATED:
            node: Any = c.data
            for key in path:
                node = as_map(node).get(key) if isinstance(node, Mapping) else None
            if node is None or not listed <= (major, minor) < since:
                continue
            yield o.finding(
                rule,
                f"{c.label()} {'.'.join(path)} needs Kubernetes {since[0]}.{since[1]} or later: "
                f"at {major}.{minor} the {gate} feature gate is off by default, so the API "
                "server drops the field and rejects the object (it must specify a handler "
                f"type); render writes it, for clusters at {since[0]}.{since[1]} or later",
                (*c.path, *path),
                hint=(
                    f"if the cluster runs {since[0]}.{since[1]} or later, check with "
                    f"--kube-version set to its version; else use an exec handler in place of "
                    f"{'.'.join(path)}"
                ),
            )


@impl("api-rejects")
def _api_rejects(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for o in ctx.objects:
        raw_name = o.metadata.get("name")
        if raw_name is not None:
            ok = (
                names.is_dns_label(raw_name)
                if o.kind in _LABEL_NAMED
                else names.is_dns_subdomain(raw_name)
            )
            if not ok:
                yield o.finding(
                    rule,
                    f"name {str(raw_name)!r} is not a valid Kubernetes object name",
                    ("metadata", "name"),
                    hint=_DNS_LABEL_FIX if o.kind in _LABEL_NAMED else _DNS_SUBDOMAIN_FIX,
                )
        ns = o.metadata.get("namespace")
        if ns is not None and not names.is_dns_label(ns):
            yield o.finding(
                rule,
                f"namespace {str(ns)!r} is not a DNS-1123 label",
                ("metadata", "namespace"),
                hint=_DNS_LABEL_FIX,
            )
        labels = o.metadata.get("labels")
        if isinstance(labels, Mapping):
            for k, v in labels.items():
                if not names.is_label_key(k) or not names.is_label_value(v):
                    yield o.finding(
                        rule,
                        f"label {str(k)!r}: {str(v)!r} is not a valid Kubernetes label",
                        ("metadata", "labels", str(k)),
                        hint=_LABEL_FIX,
                    )
        yield from _resource_names(o, rule)
        yield from _request_above_limit(o, rule)
        yield from _gated_fields(o, rule, ctx.kube_version)
        for path, v in _walk_ints(o.data, ()):
            if not -(2**31) <= v <= names.INT32_MAX:
                yield o.finding(
                    rule,
                    f"{path[-1]} {v} is beyond int32 (at most {names.INT32_MAX})",
                    path,
                    hint=f"set {path[-1]} between {-(2**31)} and {names.INT32_MAX}",
                )
