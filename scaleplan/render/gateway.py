"""Objects on the spec's Gateway: the weighted HTTPRoute and the InferencePool.

* ``routing: gateway-api``: :func:`backend_services` (one Service per backend: per allocation,
  or shared by the allocations of one serving shape, :mod:`scaleplan.kube.backends`; after
  checking that weights fixed over the day serve every window) and :func:`http_route`, whose
  backend weights are :func:`scaleplan.render.routing.route_weights` (capacity at the peak,
  summed over a backend's allocations).
* ``routing: inference-pool``: :func:`inference_pool`: an InferencePool over every
  allocation's pods, the HTTPRoute that sends the Gateway's requests to it, and the endpoint
  picker (EPP) it names: Deployment, Service, ServiceAccount, Role and RoleBinding.

docs/render.md, "Routing". Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from scaleplan.errors import PlanError, Problem
from scaleplan.kube.backends import backend_class_weights, request_shares
from scaleplan.kube.safety import container_security_context, pod_security_context
from scaleplan.kube.weights import (
    CLASS_WEIGHT_TOTAL,
    HTTPROUTE_MAX_RULE_MATCHES,
    HTTPROUTE_MAX_RULES,
    class_routed,
)
from scaleplan.llm.engine_metrics import METRICS
from scaleplan.plan import Plan
from scaleplan.render import routing
from scaleplan.render.allocations import Alloc
from scaleplan.render.metadata import COMPONENT, Entry, Obj, labels, meta
from scaleplan.render.workloads import backend_service
from scaleplan.spec import Gateway, Kubernetes
from scaleplan.wording import counted

GATEWAY_GROUP = "gateway.networking.k8s.io"
POOL_GROUP = "inference.networking.k8s.io"
ANN_ROUTE_BASIS = "scaleplan.dev/route-weights"
EPP_GRPC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0"
# the one rendered workload that mounts its service account token says why (UX review 12, F5)
ANN_WHY_TOKEN = "scaleplan.dev/why-token"


def backend_services(plan: Plan, allocs: Sequence[Alloc], warnings: list[str],
        source: str) -> list[Entry]:
    """routing: gateway-api: one Service per backend (an allocation, or the allocations of one
    serving shape). PlanError when the route's weights, fixed over the day, would send requests
    to a backend without pods in some window, or when two allocations derive the same Service
    name; a warning when a window is short."""
    shorts = routing.static_weight_shortfalls(plan)
    fix_hint = ("optimize with a scaleplan that plans gateway-api with weights fixed over the day, "
        "or use routing: service")
    dead = [x for x in shorts if x.no_pods]
    if dead:
        raise PlanError(source, [Problem("allocations", dead[0].message() + (" (and "
            f"{counted(len(dead) - 1, 'more such window')})" if len(dead) > 1 else ""),
            hint=fix_hint)])
    if shorts:
        warnings.append(shorts[0].message() + (f" (and {len(shorts) - 1} more) " if len(shorts) > 1
            else " ") + f"; {fix_hint}")
    services = [al.service for al in allocs if not al.shared_backend]
    if len(set(services)) != len(services):  # e.g. allocations '7b-x' and 's-7b-x'
        raise PlanError(source, [Problem("allocations", "two allocations give the same Service "
            f"name (Service names must start with a letter, so {sorted(services)} were derived)",
            hint="give allocations distinct names that start with a letter")])
    return [("Service", al.service, backend_service(plan, al)) for al in _first_of_backend(allocs)]


def _first_of_backend(allocs: Sequence[Alloc]) -> list[Alloc]:
    """One allocation per backend Service (the first), in allocation order."""
    seen: set[str] = set()
    out: list[Alloc] = []
    for al in allocs:
        if al.service not in seen:
            seen.add(al.service)
            out.append(al)
    return out


def _route_spec(k8s: Kubernetes, gw: Gateway, backend_refs: list[Obj],
        class_refs: dict[tuple[str, ...], list[Obj]] | None = None) -> Obj:
    """The route: with ``class_refs`` (``kubernetes.class_header``) one rule per set of
    classes with the same weights, matching the header's values, first; then the header-less
    rule over ``backend_refs``."""
    parent: Obj = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gw.name,
        "namespace": gw.namespace or k8s.namespace}
    rspec: Obj = {"parentRefs": [parent]}
    if gw.hostnames:
        rspec["hostnames"] = list(gw.hostnames)
    prefix: Obj = {"type": "PathPrefix", "value": "/"}
    rules: list[Obj] = [
        {"matches": [{"path": dict(prefix),
            "headers": [{"type": "Exact", "name": k8s.class_header, "value": c}]} for c in group],
            "backendRefs": refs}
        for group, refs in (class_refs or {}).items()
    ]
    rspec["rules"] = [*rules, {"matches": [{"path": prefix}], "backendRefs": backend_refs}]
    return rspec


def class_rules(plan: Plan, services: Sequence[str],
        source: str) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """``kubernetes.class_header``: (class names, weight per backend in ``services`` order) per
    HTTPRoute rule, classes with the same weights sharing a rule (in the spec's class order; at
    most :data:`HTTPROUTE_MAX_RULE_MATCHES` matches a rule). PlanError when the route would need
    more such rules than :data:`HTTPROUTE_MAX_RULES` less the header-less one."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for cls, cw in backend_class_weights(plan).items():
        groups.setdefault(tuple(cw.get(svc, 0) for svc in services), []).append(cls)
    out = [
        (tuple(names[i : i + HTTPROUTE_MAX_RULE_MATCHES]), ws)
        for ws, names in groups.items()
        for i in range(0, len(names), HTTPROUTE_MAX_RULE_MATCHES)
    ]
    if len(out) > HTTPROUTE_MAX_RULES - 1:
        msg = (f"kubernetes.class_header: the plan routes its {len(plan.spec.traffic.classes)} "
            f"classes with {len(out)} distinct sets of backend weights, and an HTTPRoute holds "
            f"{HTTPROUTE_MAX_RULES} rules, one of them the header-less one")
        raise PlanError(source, [Problem("allocations", msg, hint="merge request classes, or "
            "remove kubernetes.class_header (a class-blind route) and optimize again")])
    return out


def http_route(plan: Plan, allocs: Sequence[Alloc], warnings: list[str],
        source: str = "plan") -> Obj:
    """routing: gateway-api: one HTTPRoute on the spec's Gateway, weighted by peak capacity."""
    spec = plan.spec
    k8s = spec.kubernetes
    gw = k8s.gateway
    assert gw is not None
    name = spec.metadata.name
    weights = routing.route_weights(plan, {al.a.name: al.service for al in allocs})
    firsts = _first_of_backend(allocs)
    shares = request_shares(plan)
    for al in firsts:
        members = [x for x in allocs if x.service == al.service]
        shared = f"backend {al.service} ({', '.join(x.name for x in members)})"
        who = f"allocation {al.name}" if len(members) == 1 else shared
        share = shares.get(al.service, 0.0)  # with class rules, theirs (kube.backends.request_shares)
        if share <= 0:
            warnings.append(f"{who}: no replicas in the plan's peak window, so its HTTPRoute "
                "weight is 0 (its pods get no requests through the Gateway)")
        elif k8s.flavor in ("eks", "gke", "aks") and all(
            x.a.capacity_type == "spot" for x in members
        ):
            warnings.append(f"{who} runs on spot nodes only: when the spot capacity is reclaimed, "
                f"its HTTPRoute weight still sends {share:.0%} of requests to a Service without "
                "pods, and they fail; use flavor eks-karpenter (an on-demand fallback NodePool) "
                "or routing: inference-pool")
    port = k8s.port
    refs = [
        {"kind": "Service", "name": al.service, "port": port, "weight": weights.get(al.service, 0)}
        for al in firsts
    ]
    peak = routing.peak_window(plan)
    basis = (f"capacity at peak window {peak}: replicas x capacity_rps_per_replica, scaled to "
        f"{routing.WEIGHT_TOTAL}")
    class_refs: dict[tuple[str, ...], list[Obj]] | None = None
    if class_routed(plan):
        class_refs = {
            group: [{"kind": "Service", "name": al.service, "port": port, "weight": w} for al,
                w in zip(firsts, ws, strict=True)]
            for group, ws in class_rules(plan, [al.service for al in firsts], source)
        }
        basis = (f"rules matching {k8s.class_header}: each class's planned routing, scaled to "
            f"{CLASS_WEIGHT_TOTAL}; the last rule (no header): {basis}")
    extra = {ANN_ROUTE_BASIS: basis}
    return {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "HTTPRoute",
        "metadata": meta(plan, name, name, extra_ann=extra),
        "spec": _route_spec(k8s, gw, refs, class_refs)}


def inference_pool(plan: Plan) -> list[Entry]:
    """routing: inference-pool: an InferencePool over every allocation's pods, the HTTPRoute that
    sends the Gateway's requests to it, and the endpoint picker (EPP) it names: Deployment,
    Service, ServiceAccount and the Role it needs to watch the pool and its pods."""
    spec = plan.spec
    k8s = spec.kubernetes
    gw = k8s.gateway
    assert gw is not None
    name = spec.metadata.name
    epp = f"{name}-epp"
    pool_spec: Obj = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name,
            "app.kubernetes.io/component": COMPONENT}},
        "targetPorts": [{"number": k8s.port}],
        "endpointPickerRef": {"name": epp, "kind": "Service", "port": {"number": EPP_GRPC_PORT},
            "failureMode": "FailClose"},
    }
    refs: list[Obj] = [{"group": POOL_GROUP, "kind": "InferencePool", "name": name}]
    out: list[Entry] = [
        ("InferencePool", name,
            {"apiVersion": f"{POOL_GROUP}/v1", "kind": "InferencePool",
            "metadata": meta(plan, name, name), "spec": pool_spec}),
        ("HTTPRoute", name, {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "HTTPRoute",
            "metadata": meta(plan, name, name), "spec": _route_spec(k8s, gw, refs)}),
    ]
    return out + _endpoint_picker(plan, epp)


def _endpoint_picker(plan: Plan, epp: str) -> list[Entry]:
    """The EPP's ServiceAccount, Role, RoleBinding, Deployment and Service."""
    spec = plan.spec
    k8s = spec.kubernetes
    name = spec.metadata.name
    sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": epp}
    epp_labels = dict(labels(spec, epp), **{"app.kubernetes.io/component": "endpoint-picker"})
    m = meta(plan, epp, epp)
    m["labels"] = epp_labels
    out: list[Entry] = [("ServiceAccount", epp,
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m,
        "automountServiceAccountToken": True})]
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [POOL_GROUP], "resources": ["inferencepools"],
            "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["inference.networking.x-k8s.io"],
            "resources": ["inferenceobjectives", "inferencemodelrewrites"],
            "verbs": ["get", "list", "watch"]},
    ]
    out.append(("Role", epp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": m, "rules": rules}))
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": m,
        "subjects": [{"kind": "ServiceAccount", "name": epp, "namespace": k8s.namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": epp},
    }
    out.append(("RoleBinding", epp, binding))
    verbs = ", ".join(dict.fromkeys(v for r in rules for v in r["verbs"]))
    why = {ANN_WHY_TOKEN: (
        "the endpoint picker watches the InferencePool and its pods through the Kubernetes "
        f"API with this token (Role {epp}: {verbs}, in this namespace only)"
    )}
    pod: Obj = {
        "serviceAccountName": epp,
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 130,
        "securityContext": pod_security_context(),
        "containers": [_epp_container(plan)],
    }
    dm = meta(plan, epp, epp, extra_ann=why)
    dm["labels"] = epp_labels
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": dm,
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": dict(sel)},
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": epp_labels, "annotations": dict(why)}, "spec": pod},
        },
    }
    out.append(("Deployment", epp, dep))
    ports = [{"name": "grpc", "port": EPP_GRPC_PORT, "targetPort": "grpc", "protocol": "TCP",
        "appProtocol": "http2"}, {"name": "metrics", "port": EPP_METRICS_PORT,
        "targetPort": "metrics", "protocol": "TCP"}]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": m,
        "spec": {"type": "ClusterIP", "selector": dict(sel), "ports": ports}}
    out.append(("Service", epp, svc))
    return out


def _epp_container(plan: Plan) -> Obj:
    """The endpoint picker, told the engine's queue and KV-cache metric names where they are
    not vLLM's (its defaults)."""
    spec = plan.spec
    k8s = spec.kubernetes
    args = ["--pool-name", spec.metadata.name, "--pool-namespace", k8s.namespace, "--zap-encoder",
        "json"]
    engine = spec.model.engine
    if engine in ("sglang", "tgi"):
        waiting, kv = METRICS[engine].waiting, METRICS[engine].kv_cache
        assert waiting is not None
        args += ["--total-queued-requests-metric", waiting]
        if kv is not None:
            args += ["--kv-cache-usage-percentage-metric", kv]
    health = {"grpc": {"port": EPP_HEALTH_PORT, "service": "inference-extension"},
        "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
    return {
        "name": "epp",
        "image": k8s.endpoint_picker_image or EPP_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "ports": [
            {"name": "grpc", "containerPort": EPP_GRPC_PORT, "protocol": "TCP"},
            {"name": "grpc-health", "containerPort": EPP_HEALTH_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": EPP_METRICS_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": health,
        "livenessProbe": dict(health, initialDelaySeconds=5),
        "securityContext": container_security_context(read_only_root=True),
    }
