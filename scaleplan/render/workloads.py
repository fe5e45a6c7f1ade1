"""The workloads: one Deployment and PodDisruptionBudget per allocation, and the Services.

* :func:`deployment`: the pod (security context, anti-affinity, zone spread, the model server
  container with its probes, requests and model storage) on the nodes that
  :mod:`scaleplan.render.nodes` selects; fixed ``replicas`` only when no autoscaler owns them.
* :func:`pdb`: maxUnavailable from the plan's redundancy.
* :func:`service` (one for the whole service) and :func:`backend_service` (one per HTTPRoute
  backend, ``routing: gateway-api``: an allocation, or the allocations of one serving shape).

docs/render.md, "Deployments". Pure.
"""

from __future__ import annotations

import math

from scaleplan.kube.backends import BACKEND_LABEL
from scaleplan.kube.safety import container_security_context, pod_security_context
from scaleplan.kube.zones import ZONE_KEY, spread_nodes, spread_zones
from scaleplan.plan import HOURS_PER_MONTH, Allocation, Plan
from scaleplan.quotas import quota_covers, quota_label
from scaleplan.render import serving
from scaleplan.render.allocations import Alloc, fixed_replicas
from scaleplan.render.metadata import COMPONENT, PORT_NAME, Obj, labels, meta, selector
from scaleplan.render.nodes import node_affinity, scheduling

CONTAINER = "server"
ANN_ALLOCATION = "scaleplan.dev/allocation"
ANN_IGNORE = "scaleplan.dev/ignore"


def _probe(path: str, period: int, failures: int) -> Obj:
    return {"httpGet": {"path": path, "port": PORT_NAME, "scheme": "HTTP"}, "periodSeconds": period,
        "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": failures}


def _container(plan: Plan, al: Alloc) -> Obj:
    k8s = plan.spec.kubernetes
    probes = k8s.probes
    res: Obj = {"requests": {"cpu": al.cpu, "memory": al.memory},
        "limits": {"cpu": al.cpu, "memory": al.memory}}
    if al.resource is not None:
        res["requests"][al.resource] = al.a.gpus_per_replica
        res["limits"][al.resource] = al.a.gpus_per_replica
    st = al.storage or serving.Storage()
    if st.ephemeral_gib:
        res["requests"]["ephemeral-storage"] = f"{st.ephemeral_gib}Gi"
    c: Obj = {"name": CONTAINER, "image": k8s.image, "imagePullPolicy": "IfNotPresent"}
    if al.args:
        c["args"] = list(al.args)
    env: list[Obj] = [{"name": k, "value": k8s.env[k]} for k in sorted(k8s.env)]
    from_secrets = k8s.secret_env or {}
    env += [
        serving.secret_env(k, ref.secret, ref.key) for k, ref in sorted(from_secrets.items())
    ]
    # the spec's own value wins
    env += [e for e in st.env if e["name"] not in k8s.env and e["name"] not in from_secrets]
    env += [e for e in cpu_threads_env(al) if e["name"] not in k8s.env]
    if env:
        c["env"] = env
    c["ports"] = [{"name": PORT_NAME, "containerPort": k8s.port, "protocol": "TCP"}]
    c["resources"] = res
    startup = serving.startup_seconds(probes.startup_seconds, al.storage)
    c["startupProbe"] = _probe(probes.path, 10, max(1, math.ceil(startup / 10)))
    c["readinessProbe"] = _probe(probes.readiness_path or probes.path, 10, 3)
    c["livenessProbe"] = _probe(probes.path, 15, 3)
    c["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    c["securityContext"] = container_security_context(k8s.read_only_root_filesystem)
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if al.a.gpus_per_replica > 1:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    mounts += st.mounts
    c["volumeMounts"] = mounts
    return c


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_threads_env(al: Alloc) -> list[Obj]:
    """A CPU-only replica's math-library threads at its CPU limit (UX trial 30 F16): PyTorch,
    ONNX Runtime and NumPy's BLAS start one thread per core of the node, not of the pod's
    limit, so a 1-CPU pod on an 8-core node runs 8 threads that the CFS quota throttles, far
    below the rate the plan measured (``profile`` measures at the threads it is given, as many
    as the CPUs the plan requests). GPU replicas: none (their servers set their own)."""
    if al.a.gpus_per_replica > 0:
        return []
    limit = float(al.cpu[:-1]) / 1000 if al.cpu.endswith("m") else float(al.cpu)  # as rendered
    n = str(max(1, math.floor(limit + 1e-9)))
    return [{"name": v, "value": n} for v in THREAD_VARS]


def _shm_size(al: Alloc) -> str:
    """Shared memory for NCCL/tensor-parallel workers: a quarter of the replica's memory, 1-64 GiB."""
    gib = max(1, min(64, math.floor(al.a.memory_gib_per_replica / 4)))
    return f"{gib}Gi"


def _volumes(plan: Plan, al: Alloc) -> list[Obj]:
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {}}]
    if al.a.gpus_per_replica > 1:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": _shm_size(al)}})
    volumes += (al.storage or serving.Storage()).volumes
    creds = serving.secret_volume(plan.spec.model.source)
    if creds is not None:
        volumes.append(creds)
    return volumes


def _zone_spread(plan: Plan, al: Alloc, match: dict[str, str], warnings: list[str]) -> Obj:
    """maxSkew 1 over the zones; a hard constraint (DoNotSchedule, minDomains = the plan's zone
    count) where the plan relies on it (redundancy: zone), best effort (ScheduleAnyway: a scarce
    GPU is not left idle for the sake of the spread) elsewhere."""
    c: Obj = {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway"}
    zones = spread_zones(plan.spec.placement.redundancy, al.a.zones)
    if plan.spec.placement.redundancy == "zone" and not zones:
        warnings.append(
            f"allocation {al.name}: redundancy zone, but the plan lists no zones for it, so its "
            "zone spread stays best effort (ScheduleAnyway) and a zone loss may take more than "
            "the plan's spare; run scaleplan optimize again (it writes each allocation's zones)"
        )
    if zones:
        c["whenUnsatisfiable"] = "DoNotSchedule"
        c["minDomains"] = len(zones)
        warnings.extend(_spread_cost(plan, al, len(zones)))
        warnings.extend(_spread_over_quota(plan, al))
    c["labelSelector"] = {"matchLabels": dict(match)}
    c["matchLabelKeys"] = ["pod-template-hash"]
    return c


def _spread_cost(plan: Plan, al: Alloc, zones: int) -> list[str]:
    """What the enforced zone spread costs beyond the plan's nodes, over every window (off-peak
    windows too: their replicas need not fill whole nodes per zone either), in the plan's
    units: the mean over the windows per hour, and per month."""
    a = al.a
    extra = [
        max(0, spread_nodes(r, a.replicas_per_node, zones) - n)
        for r, n in zip(a.replicas_per_window, a.nodes_per_window, strict=True)
    ]
    if not any(extra):
        return []
    w = max(range(len(extra)), key=lambda i: (extra[i], a.replicas_per_window[i]))
    mean = sum(extra) * a.price_per_node_hour / len(extra)
    unit = "hours" if len(extra) == 24 and plan.demand.window_hours == 1 else "windows"
    where = (f"{unit[:-1]} {w}: {a.replicas_per_window[w]} replicas on "
        f"{a.nodes_per_window[w] + extra[w]} nodes")
    return [
        f"allocation {al.name}: the zone spread the plan relies on (maxSkew 1 over {zones} "
        f"zones) needs more nodes than the plan counts in {sum(1 for e in extra if e)} of "
        f"{len(extra)} {unit} ({where}, {a.replicas_per_node} replicas a node, not the plan's "
        f"{a.nodes_per_window[w]}): ${mean:.4f}/h averaged over the day "
        f"(${mean * HOURS_PER_MONTH:,.2f}/month) the plan does not count"
    ]


def _spread_nodes(plan: Plan, a: Allocation, w: int) -> int:
    """Nodes allocation ``a`` takes in window ``w``: the enforced zone spread's when render
    enforces one, else the plan's."""
    zones = spread_zones(plan.spec.placement.redundancy, a.zones)
    n = a.nodes_per_window[w]
    if not zones:
        return n
    return max(n, spread_nodes(a.replicas_per_window[w], a.replicas_per_node, len(zones)))


def _spread_over_quota(plan: Plan, al: Alloc) -> list[str]:
    """The quotas the enforced zone spread's nodes exceed (UX review 18): on a fixed inventory
    (owned or reserved nodes, a ``max_nodes`` quota) there is no node beyond the quota, so
    the pods the spread cannot place on its nodes stay Pending, whatever the extra costs."""
    a, allocs = al.a, plan.allocations
    windows = len(a.nodes_per_window)
    out: list[str] = []
    for q in plan.spec.placement.quotas:
        if not quota_covers(q, a.provider, a.region, a.family, a.accelerators_per_node):
            continue
        members = [
            b for b in allocs
            if quota_covers(q, b.provider, b.region, b.family, b.accelerators_per_node)
        ]
        for limit, unit in ((q.max_nodes, "nodes"), (q.max_gpus, "GPUs")):
            if limit is None:
                continue
            each = [1 if unit == "nodes" else b.accelerators_per_node for b in members]
            used = [
                sum(_spread_nodes(plan, b, w) * e for b, e in zip(members, each, strict=True))
                for w in range(windows)
            ]
            over = [w for w in range(windows) if used[w] > limit]
            if not over:
                continue
            w = max(over, key=lambda k: (used[k], -k))
            hours = "hours" if windows == 24 and plan.demand.window_hours == 1 else "windows"
            out.append(
                f"allocation {al.name}: the zone spread the plan relies on needs {used[w]} "
                f"{unit} in quota {quota_label(q)} in {len(over)} of {windows} {hours} "
                f"({hours[:-1]} {w}: {a.replicas_per_window[w]} replicas over {len(a.zones)} "
                f"zones, {a.replicas_per_node} a node), more than its max_{unit.lower()} "
                f"{limit}: the pods the quota's nodes cannot hold under the spread stay "
                "Pending; raise the quota, or plan with placement.redundancy: n+1 (a "
                "best-effort spread)"
            )
    return out


def _pod(plan: Plan, al: Alloc, warnings: list[str]) -> Obj:
    sel, tol = scheduling(plan, al, warnings)
    match = selector(plan.spec, al.name)
    pod: Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 60,
        "securityContext": pod_security_context(),
    }
    if sel:
        pod["nodeSelector"] = sel
    if tol:
        pod["tolerations"] = tol
    pod["affinity"] = {}
    node_aff = node_affinity(plan, al)
    if node_aff is not None:
        pod["affinity"]["nodeAffinity"] = node_aff
    pod["affinity"]["podAntiAffinity"] = {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": dict(match)},
                "topologyKey": "kubernetes.io/hostname"}}
        ]
    }
    pod["topologySpreadConstraints"] = [_zone_spread(plan, al, match, warnings)]
    st = al.storage or serving.Storage()
    if st.init:
        pod["initContainers"] = st.init
    pod["containers"] = [_container(plan, al)]
    pod["volumes"] = _volumes(plan, al)
    return pod


def deployment(plan: Plan, al: Alloc, warnings: list[str]) -> Obj:
    spec = plan.spec
    k8s = spec.kubernetes
    pod = _pod(plan, al, warnings)
    if al.min_replicas >= 2:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    else:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    dspec: Obj = {}
    if fixed_replicas(plan, al):
        dspec["replicas"] = al.max_replicas
    dspec["revisionHistoryLimit"] = 5
    startup = serving.startup_seconds(k8s.probes.startup_seconds, al.storage)
    dspec["progressDeadlineSeconds"] = max(600, startup + 300) + serving.copy_seconds(al.storage)
    dspec["selector"] = {"matchLabels": dict(selector(spec, al.name))}
    dspec["strategy"] = strategy
    pod_labels = labels(spec, al.name)
    if al.shared_backend:  # the backend Service it shares with its shape selects on this label
        pod_labels[BACKEND_LABEL] = al.service
    dspec["template"] = {"metadata": {"labels": pod_labels}, "spec": pod}
    a = al.a
    extra = {ANN_ALLOCATION: f"{a.provider}/{a.region}/{a.instance_type}/{a.capacity_type}"}
    if not k8s.read_only_root_filesystem:
        # the spec opted out on purpose: record it, so that scaleplan check does not flag it
        extra[ANN_IGNORE] = "writable-root-fs"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(plan, al.name, al.name, extra_ann=extra), "spec": dspec}


def pdb(plan: Plan, al: Alloc) -> Obj:
    """maxUnavailable, never 0: one pod without redundancy; with n+1 or zone redundancy the
    plan holds a spare node, so a whole node's replicas may go at once (but never all)."""
    if plan.spec.placement.redundancy == "none":
        max_unavailable = 1
    else:
        max_unavailable = max(1, min(al.a.replicas_per_node, al.min_replicas - 1))
    spec = {"maxUnavailable": max_unavailable,
        "selector": {"matchLabels": selector(plan.spec, al.name)},
        "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": meta(plan, al.name, al.name), "spec": spec}


def _ports(plan: Plan) -> list[Obj]:
    return [{"name": PORT_NAME, "port": plan.spec.kubernetes.port, "targetPort": PORT_NAME,
        "protocol": "TCP"}]


def service(plan: Plan) -> Obj:
    """The service's one Service over every allocation's pods (routing service, inference-pool)."""
    spec = plan.spec
    name = spec.metadata.name
    sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": COMPONENT}
    s = {"type": "ClusterIP", "selector": sel, "ports": _ports(plan)}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(plan, name, name), "spec": s}


def backend_service(plan: Plan, al: Alloc) -> Obj:
    """routing: gateway-api: the Service of ``al``'s backend: this allocation's pods, or, for a
    backend shared by the allocations of one shape (:mod:`scaleplan.kube.backends`), the pods
    of all of them (by :data:`~scaleplan.kube.backends.BACKEND_LABEL`)."""
    if al.shared_backend:
        sel = {"app.kubernetes.io/name": plan.spec.metadata.name, BACKEND_LABEL: al.service}
        s = {"type": "ClusterIP", "selector": sel, "ports": _ports(plan)}
        m = meta(plan, al.service, al.service)
        return {"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": s}
    s = {"type": "ClusterIP", "selector": selector(plan.spec, al.name), "ports": _ports(plan)}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(plan, al.service, al.name),
        "spec": s}
