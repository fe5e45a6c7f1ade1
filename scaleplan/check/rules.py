"""The rules of ``scaleplan check``: each a stable id, a severity, a reason, a fix hint and a
pure function from the checked set of objects to findings.

Where a rule is shared with Polaris (``Rule.polaris``) it follows Polaris's definition of that
check exactly (tests/test_check_polaris.py runs Polaris's own pass/fail fixtures); the GPU and
plan rules are scaleplan's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scaleplan import k8s_names as names
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    AUTO_TOLERATION_KEYS,
    BATCH_KINDS,
    GPU_SELECTOR_KEYS,
    GPU_TAINT_KEYS,
    INSTANCE_TYPE_KEYS,
    POD_SPEC_PATHS,
    SCALABLE_KINDS,
    SPOT_SELECTORS,
    Container,
    NodeSelection,
    Scaling,
    as_list,
    as_map,
    containers,
    get,
    int_or_percent,
    is_gpu_resource,
    node_selection,
    pod_gpus,
    pod_labels,
    pod_spec_path,
    quantity_int,
    same_namespace,
    selector_matches,
    str_map,
    target_ref,
    tolerations,
)

if TYPE_CHECKING:
    from scaleplan.plan import Plan
    from scaleplan.yamlio import PathKey

R = Rule
RULES: tuple[Rule, ...] = (
    # schema (implemented in scaleplan.check.schema)
    R(
        "schema",
        "error",
        "schema",
        "The object does not validate against the Kubernetes (or CRD) schema for the chosen version.",
        "fix the field named in the message; `kubectl explain KIND.FIELD` shows the schema",
    ),
    R(
        "unknown-kind",
        "error",
        "schema",
        "No schema is known for this apiVersion/kind, so nothing about it was checked.",
        "fix a typo in apiVersion/kind, or disable the rule for this object with the scaleplan.dev/ignore annotation",
    ),
    R(
        "api-rejects",
        "error",
        "schema",
        "A value the API server rejects although the OpenAPI schema allows it: an object name, namespace, label key or value that is not a valid Kubernetes name (a trailing newline included), or an int32 field (replicas, ports, probe timings) beyond 2147483647.",
        "use a DNS-1123 name (lower-case letters, digits, '-' and '.'; at most 253 characters, 63 for labels) and int32 numbers",
    ),
    # resources
    R(
        "cpu-request-missing",
        "error",
        "resources",
        "A container has no CPU request, so the scheduler may pack it onto a busy node.",
        "set resources.requests.cpu",
        polaris=("cpuRequestsMissing",),
        kube_linter=("unset-cpu-requirements",),
    ),
    R(
        "memory-request-missing",
        "error",
        "resources",
        "A container has no memory request, so the scheduler cannot place it safely.",
        "set resources.requests.memory",
        polaris=("memoryRequestsMissing",),
        kube_linter=("unset-memory-requirements",),
    ),
    R(
        "cpu-limit-missing",
        "warning",
        "resources",
        "A container has no CPU limit.",
        "set resources.limits.cpu",
        polaris=("cpuLimitsMissing",),
        kube_linter=("unset-cpu-requirements",),
    ),
    R(
        "memory-limit-missing",
        "error",
        "resources",
        "A container has no memory limit, so a leak can take the node's memory from other pods.",
        "set resources.limits.memory",
        polaris=("memoryLimitsMissing",),
        kube_linter=("unset-memory-requirements",),
    ),
    # image
    R(
        "image-tag",
        "error",
        "image",
        "The image has no tag or uses 'latest', so what runs changes under you.",
        "pin a version tag or a digest (name:1.2.3 or name@sha256:...)",
        polaris=("tagNotSpecified",),
        kube_linter=("latest-tag",),
    ),
    # probes
    R(
        "readiness-probe-missing",
        "error",
        "probes",
        "A container has no readiness probe, so it gets traffic before the model is loaded.",
        "add a readinessProbe (vLLM: httpGet /health or /v1/models)",
        polaris=("readinessProbeMissing",),
    ),
    R(
        "liveness-probe-missing",
        "warning",
        "probes",
        "A container has no liveness probe, so a hung server is never restarted.",
        "add a livenessProbe (vLLM: httpGet /health) and a startupProbe covering model load",
        polaris=("livenessProbeMissing",),
    ),
    R(
        "probe-port",
        "error",
        "probes",
        "A probe's port matches no port the container declares.",
        "point the probe at a containerPort (by number or name)",
        kube_linter=("readiness-port", "liveness-port", "startup-port"),
    ),
    # selectors
    R(
        "selector-mismatch",
        "error",
        "selectors",
        "The workload's selector does not match its pod template's labels.",
        "make spec.selector.matchLabels a subset of spec.template.metadata.labels",
        kube_linter=("mismatching-selector",),
    ),
    R(
        "service-no-pods",
        "error",
        "selectors",
        "The Service's selector matches no pods in the checked manifests.",
        "make the Service selector match the pod template labels of its workload",
        kube_linter=("dangling-service",),
    ),
    R(
        "route-backend-missing",
        "error",
        "selectors",
        "An HTTPRoute backendRef names a Service (or a Service port) that is not in the checked manifests, so its share of the requests fails.",
        "point backendRefs[].name and port at a Service in the same manifests, or render the route and its Services together",
    ),
    # availability
    R(
        "pdb-blocks-eviction",
        "error",
        "availability",
        "The PodDisruptionBudget allows no voluntary eviction, so node drains and upgrades hang.",
        "use maxUnavailable: 1, or a minAvailable below the workload's (minimum) replicas",
        polaris=("pdbDisruptionsIsZero",),
        kube_linter=("pdb-min-available", "pdb-max-unavailable"),
    ),
    # autoscaling
    R(
        "hpa-min-above-max",
        "error",
        "autoscaling",
        "The HorizontalPodAutoscaler's minReplicas is above its maxReplicas.",
        "set minReplicas <= maxReplicas",
        polaris=("hpaMaxAvailability",),
    ),
    R(
        "hpa-no-range",
        "warning",
        "autoscaling",
        "The HorizontalPodAutoscaler's minReplicas equals maxReplicas, so it can never scale.",
        "raise maxReplicas above minReplicas, or drop the HPA and set replicas",
        polaris=("hpaMaxAvailability",),
    ),
    R(
        "hpa-keda-conflict",
        "error",
        "autoscaling",
        "An HPA and a KEDA ScaledObject scale the same workload; they fight over its replicas.",
        "keep one: KEDA creates its own HPA, so delete the HorizontalPodAutoscaler",
    ),
    # security
    R(
        "run-as-root",
        "warning",
        "security",
        "The container may run as root.",
        "set securityContext.runAsNonRoot: true (or runAsUser >= 1)",
        polaris=("runAsRootAllowed",),
        kube_linter=("run-as-non-root",),
    ),
    R(
        "privilege-escalation",
        "warning",
        "security",
        "The container allows privilege escalation.",
        "set securityContext.allowPrivilegeEscalation: false",
        polaris=("privilegeEscalationAllowed",),
        kube_linter=("privilege-escalation-container",),
    ),
    R(
        "writable-root-fs",
        "warning",
        "security",
        "The container's root filesystem is writable.",
        "set securityContext.readOnlyRootFilesystem: true; mount an emptyDir for caches and /tmp",
        polaris=("notReadOnlyRootFilesystem",),
        kube_linter=("no-read-only-root-fs",),
    ),
    R(
        "privileged",
        "error",
        "security",
        "The container runs privileged (full access to the host).",
        "remove securityContext.privileged; GPUs need no privileged mode with the device plugin",
        polaris=("runAsPrivileged",),
        kube_linter=("privileged-container",),
    ),
    R(
        "host-network",
        "error",
        "security",
        "The pod uses the host's network namespace.",
        "remove hostNetwork: true",
        polaris=("hostNetworkSet",),
        kube_linter=("host-network",),
    ),
    R(
        "host-pid",
        "error",
        "security",
        "The pod shares the host's process namespace.",
        "remove hostPID: true",
        polaris=("hostPIDSet",),
        kube_linter=("host-pid",),
    ),
    R(
        "host-ipc",
        "error",
        "security",
        "The pod shares the host's IPC namespace.",
        "remove hostIPC: true; use an emptyDir with medium: Memory for /dev/shm",
        polaris=("hostIPCSet",),
        kube_linter=("host-ipc",),
    ),
    # gpu
    R(
        "gpu-limit-request-mismatch",
        "error",
        "gpu",
        "A GPU request differs from its limit (extended resources cannot be overcommitted; the API server rejects it).",
        "set the GPU only under limits, or make requests equal to limits",
    ),
    R(
        "gpu-node-selector",
        "error",
        "gpu",
        "A pod requests GPUs but does not select GPU nodes, so it can land on (or provision) the wrong instance type.",
        "add a nodeSelector on node.kubernetes.io/instance-type, nvidia.com/gpu.product, karpenter.k8s.aws/instance-gpu-name or cloud.google.com/gke-accelerator",
    ),
    R(
        "gpu-toleration",
        "error",
        "gpu",
        "A pod requests GPUs but tolerates no GPU taint, so it cannot schedule on tainted GPU nodes.",
        "add a toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}",
    ),
    R(
        "gpu-exceeds-instance",
        "error",
        "gpu",
        "A pod requests more GPUs than any instance type it selects has; it can never schedule.",
        "lower the GPUs per pod or select a larger instance type",
    ),
    R(
        "gpu-nodepool-limit",
        "error",
        "gpu",
        "Replicas x GPUs per pod at the autoscaler's maximum exceed the NodePool's GPU limit.",
        "raise spec.limits of the NodePool or lower maxReplicas",
    ),
    R(
        "engine-parallel-gpus",
        "error",
        "gpu",
        "The server's tensor-parallel (or shard) flag times its pipeline-parallel flag differs from the GPUs the container requests, so the server fails to start or leaves GPUs idle.",
        "make --tensor-parallel-size (x --pipeline-parallel-size) equal the container's GPU limit, or re-render from the plan",
    ),
    R(
        "shm-missing",
        "error",
        "gpu",
        "A multi-GPU (tensor-parallel) server has no /dev/shm volume; NCCL runs out of the container's 64 MiB default and the workers crash or hang.",
        "mount an emptyDir with medium: Memory at /dev/shm",
    ),
    R(
        "engine-plan-flags",
        "error",
        "plan",
        "The server's parallelism, concurrency, context-length or memory flags differ from the plan (or are missing), so it runs at a load or memory split the plan did not assume.",
        "re-render from the plan, or change model.engine_config and run scaleplan optimize again",
        needs_plan=True,
    ),
    R(
        "weights-volume-small",
        "error",
        "plan",
        "The volume the model's weights are downloaded into is smaller than the weights, so the download fails and the pod never starts.",
        "size the model cache volume from the weights (scaleplan render does: weights x 1.1 + 2 GiB)",
        needs_plan=True,
    ),
    R(
        "route-to-losable",
        "error",
        "plan",
        "An HTTPRoute gives a weight to a Service whose pods run only on spot capacity with no fallback; when the spot capacity is reclaimed, that share of the requests fails.",
        "let the pods fall back to on-demand nodes (eks-karpenter renders a fallback NodePool), use routing: inference-pool, or give the route no weight there",
        needs_plan=True,
    ),
    R(
        "spot-only-capacity",
        "error",
        "plan",
        "A workload can only run on spot capacity but the plan requires on-demand capacity for it.",
        "allow on-demand in the NodePool (karpenter.sh/capacity-type In [on-demand, spot]) or drop the spot node selector",
        needs_plan=True,
    ),
    R(
        "flavor-mismatch",
        "error",
        "plan",
        "A node selector, NodePool or node class belongs to another cloud than the plan's cluster flavor (an EKS cluster has no GCP instance types or GKE labels), so the pods can never schedule.",
        "re-plan with placement.providers matching kubernetes.flavor (the default), or set flavor: generic for a cluster that spans clouds",
        needs_plan=True,
    ),
    R(
        "drift",
        "error",
        "plan",
        "The manifests differ from what the plan renders.",
        "re-run `scaleplan render` from the plan, or re-plan and commit both",
        needs_plan=True,
    ),
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


@dataclass
class Context:
    """The checked set, indexed once for the cross-object rules."""

    objects: list[K8sObject]
    plan: Plan | None = None
    instance_gpus: Callable[[str], int | None] = lambda _t: None
    instance_providers: Callable[[str], frozenset[str]] = lambda _t: frozenset()
    workloads: list[K8sObject] = field(default_factory=list)
    scaling: dict[int, Scaling] = field(default_factory=dict)
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

    def selection(self, w: K8sObject) -> NodeSelection:
        key = id(w)
        sel = self._selections.get(key)
        if sel is None:
            sel = self._selections[key] = node_selection(w)
        return sel


RuleFn = Callable[[Context, Rule], Iterator[Finding]]
IMPLS: dict[str, RuleFn] = {}


def impl(rule_id: str) -> Callable[[RuleFn], RuleFn]:
    def deco(fn: RuleFn) -> RuleFn:
        assert rule_id in RULES_BY_ID, rule_id
        IMPLS[rule_id] = fn
        return fn

    return deco


# int32 fields of the core workload, autoscaling and Service APIs (the OpenAPI schema says
# "format: int32", which JSON-schema validation does not enforce; the API server does).
_INT32_KEYS = frozenset(
    {
        "replicas", "minReplicas", "maxReplicas", "containerPort", "hostPort", "port", "targetPort",
        "nodePort", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds",
        "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
        "failureThreshold", "parallelism", "completions", "backoffLimit", "minAvailable",
        "maxUnavailable", "maxSurge", "averageValue", "averageUtilization", "stabilizationWindowSeconds",
    }
)  # fmt: skip
# Kinds whose names must be DNS-1123 labels (63 characters) rather than subdomains.
_LABEL_NAMED = frozenset({"Service", "Namespace"})


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
                )
        ns = o.metadata.get("namespace")
        if ns is not None and not names.is_dns_label(ns):
            yield o.finding(
                rule, f"namespace {str(ns)!r} is not a DNS-1123 label", ("metadata", "namespace")
            )
        labels = o.metadata.get("labels")
        if isinstance(labels, Mapping):
            for k, v in labels.items():
                if not names.is_label_key(k) or not names.is_label_value(v):
                    yield o.finding(
                        rule,
                        f"label {str(k)!r}: {str(v)!r} is not a valid Kubernetes label",
                        ("metadata", "labels", str(k)),
                    )
        for path, v in _walk_ints(o.data, ()):
            if not -(2**31) <= v <= names.INT32_MAX:
                yield o.finding(
                    rule, f"{path[-1]} {v} is beyond int32 (at most {names.INT32_MAX})", path
                )


def _app_containers(
    ctx: Context, *, skip_batch: bool = False
) -> Iterator[tuple[K8sObject, Container]]:
    for w in ctx.workloads:
        if skip_batch and w.kind in BATCH_KINDS:
            continue
        for c in containers(w):
            yield w, c


# --- resources ---------------------------------------------------------------------------


def _resource_rule(section: str, resource: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w, c in _app_containers(ctx):
            res = as_map(c.data.get("resources"))
            v = as_map(res.get(section)).get(resource)
            if v is None or v == "":
                where = (
                    (*c.path, "resources", section)
                    if section in res
                    else (*c.path, "resources")
                    if "resources" in c.data
                    else c.path
                )
                yield w.finding(
                    rule,
                    f"{c.label()} has no {resource} {'request' if section == 'requests' else 'limit'}",
                    where,
                )

    return fn


IMPLS["cpu-request-missing"] = _resource_rule("requests", "cpu")
IMPLS["memory-request-missing"] = _resource_rule("requests", "memory")
IMPLS["cpu-limit-missing"] = _resource_rule("limits", "cpu")
IMPLS["memory-limit-missing"] = _resource_rule("limits", "memory")


# --- image -------------------------------------------------------------------------------


def image_tag_problem(image: Any) -> str | None:
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    name, _, digest = image.partition("@")
    if digest:
        return None
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag"
    if last.split(":", 1)[1] in ("latest", ""):
        return f"image {image!r} uses the 'latest' tag"
    return None


@impl("image-tag")
def _image_tag(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            problem = image_tag_problem(c.data.get("image"))
            if problem:
                yield w.finding(rule, f"{c.label()} {problem}", (*c.path, "image"))


# --- probes ------------------------------------------------------------------------------


def _probe_rule(probe: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w, c in _app_containers(ctx, skip_batch=True):
            if not isinstance(c.data.get(probe), Mapping):
                yield w.finding(rule, f"{c.label()} has no {probe}", c.path)

    return fn


IMPLS["readiness-probe-missing"] = _probe_rule("readinessProbe")
IMPLS["liveness-probe-missing"] = _probe_rule("livenessProbe")


@impl("probe-port")
def _probe_port(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, c in _app_containers(ctx):
        ports = [as_map(p) for p in as_list(c.data.get("ports"))]
        numbers = {quantity_int(p.get("containerPort")) for p in ports}
        names = {str(p["name"]) for p in ports if p.get("name")}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            pr = as_map(c.data.get(probe))
            for handler in ("httpGet", "tcpSocket", "grpc"):
                h = as_map(pr.get(handler))
                if "port" not in h:
                    continue
                port = h["port"]
                n = quantity_int(port)
                ok = (n in numbers) if n is not None else (str(port) in names)
                if not ok:
                    yield w.finding(
                        rule,
                        f"{c.label()} {probe} port {port!r} matches no containerPort (declared: {sorted(str(x) for x in numbers if x is not None) + sorted(names) or 'none'})",
                        (*c.path, probe, handler, "port"),
                    )


# --- selectors ---------------------------------------------------------------------------


@impl("selector-mismatch")
def _selector_mismatch(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        if w.kind in ("Pod", "CronJob", "Job"):
            continue
        sel = get(w.data, ("spec", "selector"))
        if not isinstance(sel, Mapping):
            continue
        if w.kind == "ReplicationController":
            sel = {"matchLabels": sel}
        if not selector_matches(sel, pod_labels(w)):
            yield w.finding(
                rule,
                f"spec.selector {dict(str_map(sel.get('matchLabels')))} does not match the pod template labels {pod_labels(w)}",
                ("spec", "selector"),
            )


@impl("service-no-pods")
def _service_no_pods(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for svc in ctx.of_kind("Service"):
        sel = str_map(get(svc.data, ("spec", "selector")))
        if not sel or get(svc.data, ("spec", "type")) == "ExternalName":
            continue
        if not any(
            same_namespace(svc, w) and selector_matches({"matchLabels": sel}, ctx.labels(w))
            for w in ctx.workloads
        ):
            yield svc.finding(
                rule,
                f"selector {sel} matches no pod template in the checked manifests",
                ("spec", "selector"),
            )


@impl("route-backend-missing")
def _route_backend_missing(ctx: Context, rule: Rule) -> Iterator[Finding]:
    services: dict[tuple[str, str], list[K8sObject]] = {}
    for svc in ctx.of_kind("Service"):
        if svc.group == "":
            services.setdefault((svc.namespace, svc.name), []).append(svc)
    any_ns = {name: objs for (ns, name), objs in services.items() if not ns}
    for route in ctx.of_kind("HTTPRoute"):
        if route.group != "gateway.networking.k8s.io":
            continue
        for i, r in enumerate(as_list(get(route.data, ("spec", "rules")))):
            for j, ref in enumerate(as_list(as_map(r).get("backendRefs"))):
                b = as_map(ref)
                if b.get("group", "") not in ("", None) or b.get("kind", "Service") != "Service":
                    continue  # another backend kind: not checked
                name = str(b.get("name", ""))
                ns = str(b.get("namespace") or route.namespace)
                path = ("spec", "rules", i, "backendRefs", j)
                found = services.get((ns, name)) or any_ns.get(name)
                if not found and not route.namespace and not b.get("namespace"):
                    found = [o for (_, n), objs in services.items() if n == name for o in objs]
                if not found:
                    yield route.finding(
                        rule,
                        f"backendRef Service {name!r} is not in the checked manifests",
                        (*path, "name"),
                    )
                    continue
                port = b.get("port")
                if port is not None and not any(
                    as_map(p).get("port") == port
                    for svc in found
                    for p in as_list(get(svc.data, ("spec", "ports")))
                ):
                    yield route.finding(
                        rule, f"backendRef Service {name!r} has no port {port}", (*path, "port")
                    )


# --- availability ------------------------------------------------------------------------


@impl("pdb-blocks-eviction")
def _pdb_blocks(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for pdb in ctx.of_kind("PodDisruptionBudget"):
        spec = as_map(pdb.data.get("spec"))
        max_u = spec.get("maxUnavailable")
        min_a = spec.get("minAvailable")
        if (
            max_u is not None
            and not isinstance(max_u, bool)
            and (max_u == 0 or (isinstance(max_u, str) and max_u.strip() in ("0", "0%")))
        ):
            yield pdb.finding(
                rule,
                f"maxUnavailable is {max_u!r}: no pod may ever be evicted",
                ("spec", "maxUnavailable"),
            )
            continue
        if min_a is None:
            continue
        if isinstance(min_a, str) and min_a.strip() == "100%":
            yield pdb.finding(
                rule, "minAvailable is 100%: no pod may ever be evicted", ("spec", "minAvailable")
            )
            continue
        selector = as_map(spec.get("selector"))
        if not selector:
            continue
        for w in ctx.workloads:
            if (
                w.kind not in SCALABLE_KINDS
                or not same_namespace(pdb, w)
                or not selector_matches(selector, ctx.labels(w))
            ):
                continue
            low = ctx.scaling[id(w)].min_replicas()
            if low <= 0:
                continue
            need = int_or_percent(min_a, low)
            if need is not None and need >= low:
                src = (
                    "the autoscaler's minimum"
                    if ctx.scaling[id(w)].hpas or ctx.scaling[id(w)].scaled_objects
                    else "replicas"
                )
                yield pdb.finding(
                    rule,
                    f"minAvailable {min_a!r} ({need} pods) is not below the {src} of {w.kind}/{w.name} ({low}): no pod may be evicted",
                    ("spec", "minAvailable"),
                )
                break


# --- autoscaling -------------------------------------------------------------------------


def _hpa_bounds(ctx: Context) -> Iterator[tuple[K8sObject, int, int]]:
    for h in ctx.of_kind("HorizontalPodAutoscaler"):
        mx = quantity_int(get(h.data, ("spec", "maxReplicas")))
        mn = quantity_int(get(h.data, ("spec", "minReplicas")))
        if mx is None:
            continue
        yield h, 1 if mn is None else mn, mx


@impl("hpa-min-above-max")
def _hpa_min_max(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for h, mn, mx in _hpa_bounds(ctx):
        if mn > mx:
            yield h.finding(
                rule, f"minReplicas {mn} is above maxReplicas {mx}", ("spec", "minReplicas")
            )


@impl("hpa-no-range")
def _hpa_no_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for h, mn, mx in _hpa_bounds(ctx):
        if mn == mx:
            yield h.finding(
                rule,
                f"minReplicas equals maxReplicas ({mx}): the HPA never scales",
                ("spec", "maxReplicas"),
            )


@impl("hpa-keda-conflict")
def _hpa_keda(ctx: Context, rule: Rule) -> Iterator[Finding]:
    hpas = list(ctx.of_kind("HorizontalPodAutoscaler"))
    for so in ctx.of_kind("ScaledObject"):
        kind, name = target_ref(so)
        for h in hpas:
            hk, hn = target_ref(h)
            if hk == kind and hn == name and same_namespace(h, so):
                yield h.finding(
                    rule,
                    f"ScaledObject/{so.name} ({so.file}:{so.line()}) also scales {kind}/{name}",
                    ("spec", "scaleTargetRef"),
                )


# --- security ----------------------------------------------------------------------------


def _security_rule(
    good: Callable[[Mapping[str, Any]], bool],
    not_bad: Callable[[Mapping[str, Any]], bool],
    message: str,
    field_name: str,
) -> RuleFn:
    """Polaris's Container+PodSpec schema pattern: the pod-level context is good and the container
    does not override it badly, or the container-level context is good."""

    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w in ctx.workloads:
            path = pod_spec_path(w)
            assert path is not None
            pod_sc = get(w.data, (*path, "securityContext"))
            for c in containers(w, init=True):
                csc = c.data.get("securityContext")
                # A container securityContext that is present but not a mapping (null) counts as
                # bad, as in Polaris's schema.
                container_ok = ("securityContext" not in c.data) or (
                    isinstance(csc, Mapping) and not_bad(csc)
                )
                ok = (isinstance(csc, Mapping) and good(csc)) or (
                    isinstance(pod_sc, Mapping) and good(pod_sc) and container_ok
                )
                if not ok:
                    where = (
                        (*c.path, "securityContext", field_name)
                        if isinstance(csc, Mapping) and field_name in csc
                        else (*c.path, "securityContext")
                        if isinstance(csc, Mapping)
                        else c.path
                    )
                    yield w.finding(rule, f"{c.label()} {message}", where)

    return fn


def _num_ge1(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 1


IMPLS["run-as-root"] = _security_rule(
    lambda sc: _num_ge1(sc.get("runAsUser")) or sc.get("runAsNonRoot") is True,
    lambda sc: (
        ("runAsUser" not in sc or _num_ge1(sc["runAsUser"]))
        and ("runAsNonRoot" not in sc or sc["runAsNonRoot"] is True)
    ),
    "may run as root (neither runAsNonRoot: true nor runAsUser >= 1)",
    "runAsNonRoot",
)
IMPLS["privilege-escalation"] = _security_rule(
    lambda sc: sc.get("allowPrivilegeEscalation") is False,
    lambda sc: "allowPrivilegeEscalation" not in sc or sc["allowPrivilegeEscalation"] is False,
    "does not set allowPrivilegeEscalation: false",
    "allowPrivilegeEscalation",
)
IMPLS["writable-root-fs"] = _security_rule(
    lambda sc: sc.get("readOnlyRootFilesystem") is True,
    lambda sc: "readOnlyRootFilesystem" not in sc or sc["readOnlyRootFilesystem"] is True,
    "has a writable root filesystem (readOnlyRootFilesystem is not true)",
    "readOnlyRootFilesystem",
)


@impl("privileged")
def _privileged(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        # Only containers can be privileged (PodSecurityContext has no such field; Polaris agrees).
        for c in containers(w, init=True):
            if as_map(c.data.get("securityContext")).get("privileged") is True:
                yield w.finding(
                    rule,
                    f"{c.label()} sets privileged: true",
                    (*c.path, "securityContext", "privileged"),
                )


def _host_rule(field_name: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w in ctx.workloads:
            path = pod_spec_path(w)
            assert path is not None
            if as_map(get(w.data, path)).get(field_name) is True:
                yield w.finding(rule, f"the pod sets {field_name}: true", (*path, field_name))

    return fn


IMPLS["host-network"] = _host_rule("hostNetwork")
IMPLS["host-pid"] = _host_rule("hostPID")
IMPLS["host-ipc"] = _host_rule("hostIPC")


# --- gpu ---------------------------------------------------------------------------------


@impl("gpu-limit-request-mismatch")
def _gpu_mismatch(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            res = as_map(c.data.get("resources"))
            req, lim = as_map(res.get("requests")), as_map(res.get("limits"))
            for k in sorted({str(x) for x in [*req, *lim] if is_gpu_resource(str(x))}):
                if k in req and k not in lim:
                    yield w.finding(
                        rule,
                        f"{c.label()} requests {k}: {req[k]} but sets no limit for it",
                        (*c.path, "resources", "requests", k),
                    )
                elif k in req and k in lim and quantity_int(req[k]) != quantity_int(lim[k]):
                    yield w.finding(
                        rule,
                        f"{c.label()} requests {k}: {req[k]} but limits it to {lim[k]}",
                        (*c.path, "resources", "limits", k),
                    )


def _gpu_workloads(ctx: Context) -> Iterator[tuple[K8sObject, int]]:
    return iter(ctx.gpu_workloads)


@impl("gpu-node-selector")
def _gpu_node_selector(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in _gpu_workloads(ctx):
        sel = ctx.selection(w)
        if not (sel.keys() & GPU_SELECTOR_KEYS):
            path = pod_spec_path(w)
            assert path is not None
            yield w.finding(
                rule,
                f"the pod requests {n} GPU(s) but selects no GPU node label (nodeSelector/required nodeAffinity)",
                path,
            )


@impl("gpu-toleration")
def _gpu_toleration(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in _gpu_workloads(ctx):
        if ctx.selection(w).keys() & AUTO_TOLERATION_KEYS:
            continue
        ok = False
        for t in tolerations(w):
            key = t.get("key")
            if ((key is None or key == "") and t.get("operator") == "Exists") or (
                isinstance(key, str)
                and (key in GPU_TAINT_KEYS or key.startswith(("nvidia.com/", "amd.com/")))
            ):
                ok = True
        if not ok:
            path = pod_spec_path(w)
            assert path is not None
            yield w.finding(
                rule,
                f"the pod requests {n} GPU(s) but tolerates no GPU taint (nvidia.com/gpu)",
                (*path, "tolerations") if tolerations(w) else path,
            )


def _nodepool_for(ctx: Context, w: K8sObject) -> K8sObject | None:
    names = ctx.selection(w).values("karpenter.sh/nodepool")
    if not names or len(names) != 1:
        return None
    (name,) = names
    return ctx.nodepool(name)


def _nodepool_requirement(np: K8sObject, key: str) -> tuple[set[str] | None, int | None]:
    """Values a NodePool allows for ``key`` (In), and the requirement's index."""
    for i, r in enumerate(as_list(get(np.data, ("spec", "template", "spec", "requirements")))):
        req = as_map(r)
        if req.get("key") == key and req.get("operator") == "In":
            return {str(v) for v in as_list(req.get("values"))}, i
    return None, None


@impl("gpu-exceeds-instance")
def _gpu_exceeds(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in _gpu_workloads(ctx):
        sel = ctx.selection(w)
        types: set[str] = set()
        for k in INSTANCE_TYPE_KEYS:
            types |= sel.values(k) or set()
        if not types:
            np = _nodepool_for(ctx, w)
            if np is not None:
                for k in INSTANCE_TYPE_KEYS:
                    types |= _nodepool_requirement(np, k)[0] or set()
        if not types:
            continue
        counts = {t: ctx.instance_gpus(t) for t in sorted(types)}
        known = {t: c for t, c in counts.items() if c is not None}
        if len(known) != len(counts):
            continue  # an instance type not in the catalog: cannot judge
        most = max(known.values())
        if n > most:
            path = pod_spec_path(w)
            assert path is not None
            desc = ", ".join(f"{t}: {c}" for t, c in known.items())
            yield w.finding(
                rule,
                f"the pod requests {n} GPU(s) but the selected instance types have at most {most} ({desc})",
                sel.path,
            )


@impl("gpu-nodepool-limit")
def _gpu_nodepool_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    by_pool: dict[int, list[tuple[K8sObject, int]]] = {}
    for w, n in _gpu_workloads(ctx):
        pool = _nodepool_for(ctx, w)
        if pool is not None:
            by_pool.setdefault(id(pool), []).append((w, n))
    for np in ctx.nodepools():
        limits = as_map(get(np.data, ("spec", "limits")))
        for res, raw in sorted(limits.items()):
            if not is_gpu_resource(str(res)):
                continue
            cap = quantity_int(raw)
            if cap is None:
                continue
            users: list[str] = []
            total = 0
            for w, n in by_pool.get(id(np), []):
                peak = ctx.scaling[id(w)].max_replicas()
                total += peak * n
                users.append(f"{w.kind}/{w.name} {peak} x {n}")
            if total > cap:
                yield np.finding(
                    rule,
                    f"workloads on this NodePool need up to {total} {res} ({'; '.join(users)}) but spec.limits allows {cap}",
                    ("spec", "limits", str(res)),
                )


def _spot_only(ctx: Context, w: K8sObject) -> bool:
    sel = ctx.selection(w)
    for key, spot in SPOT_SELECTORS.items():
        vals = sel.values(key)
        if vals and all(v.lower() == spot.lower() for v in vals):
            return True
    np = _nodepool_for(ctx, w)
    if np is not None:
        vals, _ = _nodepool_requirement(np, "karpenter.sh/capacity-type")
        if vals and vals == {"spot"}:
            return True
    return False


# label-key prefixes and CRD groups that exist on one cloud only
_CLOUD_LABEL_PREFIXES = (
    ("eks.amazonaws.com/", "aws"),
    ("karpenter.k8s.aws/", "aws"),
    ("cloud.google.com/", "gcp"),
    ("kubernetes.azure.com/", "azure"),
    ("karpenter.azure.com/", "azure"),
)
_CLOUD_GROUPS = {"karpenter.k8s.aws": "aws", "karpenter.azure.com": "azure"}
# Karpenter (karpenter.sh NodePools) runs on EKS and, as node auto-provisioning, on AKS.
_KARPENTER_CLOUDS = frozenset({"aws", "azure"})


def _label_cloud(key: str) -> str | None:
    return next((c for prefix, c in _CLOUD_LABEL_PREFIXES if key.startswith(prefix)), None)


def _foreign_types(ctx: Context, types: set[str], cloud: str) -> list[str]:
    out = []
    for t in sorted(types):
        provs = ctx.instance_providers(t)
        if provs and cloud not in provs:
            out.append(f"{t} ({'/'.join(sorted(provs))})")
    return out


@impl("flavor-mismatch")
def _flavor_mismatch(ctx: Context, rule: Rule) -> Iterator[Finding]:
    from scaleplan.spec import PROVIDER_OF_FLAVOR

    if ctx.plan is None:
        return
    flavor = ctx.plan.spec.kubernetes.flavor
    cloud = PROVIDER_OF_FLAVOR.get(flavor)
    if cloud is None:
        return  # generic clusters may run any cloud's nodes
    for w in ctx.workloads:
        sel = ctx.selection(w)
        for key in sorted(sel.keys()):
            other = _label_cloud(key)
            if other is not None and other != cloud:
                yield w.finding(rule, f"the pod selects {key}, a {other} node label, but flavor {flavor} runs {cloud} nodes", sel.path)
        types: set[str] = set()
        for k in INSTANCE_TYPE_KEYS:
            types |= sel.values(k) or set()
        foreign = _foreign_types(ctx, types, cloud)
        if foreign:
            yield w.finding(rule, f"the pod selects instance type {', '.join(foreign)}, not offered on {cloud}, but flavor {flavor} runs {cloud} nodes", sel.path)
    for o in ctx.objects:
        group_cloud = _CLOUD_GROUPS.get(o.group)
        if group_cloud is not None and group_cloud != cloud:
            yield o.finding(rule, f"{o.kind} ({o.group}) is a {group_cloud} node class, but flavor {flavor} runs {cloud} nodes")
        if o.kind == "NodePool" and o.group == "karpenter.sh":
            if cloud not in _KARPENTER_CLOUDS:
                yield o.finding(rule, f"Karpenter NodePools do not run on {flavor} ({cloud})")
                continue
            for k in INSTANCE_TYPE_KEYS:
                vals, i = _nodepool_requirement(o, k)
                foreign = _foreign_types(ctx, vals or set(), cloud)
                if foreign and i is not None:
                    yield o.finding(rule, f"the NodePool allows instance type {', '.join(foreign)}, not offered on {cloud}, but flavor {flavor} runs {cloud} nodes", ("spec", "template", "spec", "requirements", i))


@impl("spot-only-capacity")
def _spot_only_capacity(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None:
        return
    by_name = {a.name: a for a in plan.allocations}
    spot = plan.spec.placement.spot
    requires_on_demand = (
        (not spot.allowed)
        or spot.max_fraction < 1
        or any(a.capacity_type == "on-demand" for a in plan.allocations)
    )
    gpu_ws = [w for w in ctx.workloads if w.kind in SCALABLE_KINDS or w.kind == "Pod"]
    unmatched_all_spot = (
        requires_on_demand
        and gpu_ws
        and all(_spot_only(ctx, w) for w in gpu_ws if w.name not in by_name)
    )
    for w in gpu_ws:
        if not _spot_only(ctx, w):
            continue
        alloc = by_name.get(w.name)
        path = pod_spec_path(w)
        assert path is not None
        if alloc is not None:
            if alloc.capacity_type == "on-demand":
                yield w.finding(
                    rule,
                    f"the plan puts {alloc.name} on on-demand capacity, but the pod can only run on spot nodes",
                    ctx.selection(w).path,
                )
        elif unmatched_all_spot:
            why = (
                "does not allow spot"
                if not spot.allowed
                else f"caps spot at {spot.max_fraction:.0%} of demand"
            )
            yield w.finding(
                rule, f"every workload runs on spot only, but the plan {why}", ctx.selection(w).path
            )


# the LLM serving rules live in their own module; importing it registers them
from scaleplan.check import llm as _llm  # noqa: E402

__all_llm__ = _llm.__name__
