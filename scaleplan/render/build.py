"""Kubernetes objects for a plan, as plain dicts (pure; no I/O).

:func:`build_objects` returns every object in apply order together with warnings. The dicts
are emitted by ``scaleplan.yamlio.dump_yaml`` (a safe dumper), never through text templates.
The conventions behind each field are in docs/render.md.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from scaleplan import k8s_names as names
from scaleplan._version import __version__
from scaleplan.catalog.model import Accelerator
from scaleplan.errors import PlanError, Problem
from scaleplan.plan import Allocation, Plan
from scaleplan.render import engine as engines
from scaleplan.render import routing, safety, serving
from scaleplan.render.resources import (
    MIN_CPU,
    MIN_MEMORY_GIB,
    cpu_quantity,
    fit_per_replica,
    memory_quantity,
    number_quantity,
    number_text,
)
from scaleplan.spec import PROVIDER_OF_FLAVOR, Spec

Obj = dict[str, Any]

MANAGED_BY = "scaleplan"
COMPONENT = "inference"
CONTAINER = "server"
PORT_NAME = "http"
ANN_PLAN_HASH = "scaleplan.dev/plan-hash"
ANN_VERSION = "scaleplan.dev/version"
ANN_ALLOCATION = "scaleplan.dev/allocation"
ANN_IGNORE = "scaleplan.dev/ignore"
ANN_ROUTE_BASIS = "scaleplan.dev/route-weights"
DEDICATED_TAINT = "scaleplan.dev/service"
RESERVED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
GPU_METRIC = "DCGM_FI_DEV_GPU_UTIL"
RPS_METRIC = "http_requests_per_second"
GATEWAY_GROUP = "gateway.networking.k8s.io"
DNS_1035 = names.DNS_1035_LABEL
MAX_HOSTNAMES = 16


@dataclass
class Built:
    """Objects in apply order (kind, name, object) and what the renderer changed or noticed."""

    objects: list[tuple[str, str, Obj]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Alloc:
    """An allocation with the derived facts the builders need."""

    a: Allocation
    index: int
    name: str  # sanitized Deployment name
    accel: Accelerator | None  # None for CPU-only
    resource: str | None  # extended resource name (nvidia.com/gpu, aws.amazon.com/neuron)
    min_replicas: int
    max_replicas: int
    share: float  # share of the plan's peak capacity
    service: str  # per-allocation Service (routing: gateway-api)
    cpu: str
    memory: str
    nodepool: str | None
    server: engines.ServerSettings | None = None  # model.engine set: the planned server settings
    args: tuple[str, ...] = ()  # container args: the spec's merged with the planned engine flags
    storage: serving.Storage | None = None
    types: tuple[str, ...] = ()  # eks-karpenter spot: the instance types its NodePools allow


# --- validation -----------------------------------------------------------------------------


def _revalidate(plan: Plan, source: str) -> None:
    """Re-run every model validator: catches values put in with model_copy (no validation)."""
    try:
        Plan.model_validate(plan.model_dump(mode="python", round_trip=True))
    except ValidationError as exc:
        from scaleplan.validation import problems_from_validation

        raise PlanError(source, problems_from_validation(exc, Plan)) from None


def _check_inputs(plan: Plan) -> list[Problem]:
    spec = plan.spec
    md = spec.metadata
    k8s = spec.kubernetes
    out: list[Problem] = []
    for key, value in sorted(md.labels.items()):
        where = f"spec.metadata.labels[{key!r}]"
        out += safety.check_label_key(key, where)
        out += safety.check_label_value(value, where)
        if key in RESERVED_LABELS:
            out.append(Problem(where, f"label {key!r} is set by scaleplan (it selects the pods)", hint="remove it or use another key"))
    for key, value in sorted(md.annotations.items()):
        where = f"spec.metadata.annotations[{key!r}]"
        out += safety.check_label_key(key, where)
        out += safety.check_text(value, where, what="annotation value", allow_newline=True, max_len=safety.MAX_ANNOTATION_VALUE)
        if key.startswith("scaleplan.dev/"):
            out.append(Problem(where, f"annotation {key!r} is reserved for scaleplan", hint="use another prefix"))
    for key, value in sorted(k8s.env.items()):
        where = f"spec.kubernetes.env[{key!r}]"
        if not safety.C_IDENTIFIER.fullmatch(key) or len(key) > 256:
            out.append(Problem(where, f"env name {safety.shown(key)} is not a valid variable name", hint="use letters, digits and '_', not starting with a digit"))
        elif (safety.secretish_env(key) and value) or safety.token_value(value):
            out.append(Problem(where, f"env {key} holds a literal secret or token; it would be written into the manifests in clear text", hint="keep secrets out of the spec: put the token in a Kubernetes Secret and name it in model.source.secret (HF_TOKEN, AWS keys), or mount it with a kustomize patch (valueFrom.secretKeyRef)"))
        out += safety.check_text(value, where, what="env value", allow_newline=True, max_len=32768)
    for i, arg in enumerate(k8s.args):
        out += safety.check_text(arg, f"spec.kubernetes.args[{i}]", what="argument", allow_newline=True, max_len=32768)
        if safety.token_value(arg):
            out.append(Problem(f"spec.kubernetes.args[{i}]", "argument holds a literal token; it would be written into the manifests in clear text", hint="put the token in a Kubernetes Secret and name it in model.source.secret"))
    for fld in ("path", "readiness_path"):
        p = getattr(k8s.probes, fld)
        if p is not None and (not safety.HTTP_PATH.fullmatch(p) or len(p) > 1024):
            out.append(Problem(f"spec.kubernetes.probes.{fld}", f"probe path {safety.shown(p)} is not a plain HTTP path", hint="use an absolute path such as /health, without spaces or quotes"))
    out += safety.check_text(plan.metadata.plan_hash, "metadata.plan_hash", what="plan hash", max_len=256)
    if k8s.routing in ("gateway-api", "inference-pool"):
        gw = k8s.gateway
        if gw is None:
            out.append(Problem("spec.kubernetes.gateway", f"routing: {k8s.routing} needs a gateway", hint="add gateway: {name: <your Gateway>, namespace: <its namespace>}"))
        else:
            for fld in ("name", "namespace"):
                v = getattr(gw, fld)
                if v is not None and (not isinstance(v, str) or len(v) > 63 or not safety.DNS_LABEL.fullmatch(v)):
                    out.append(Problem(f"spec.kubernetes.gateway.{fld}", f"gateway {fld} {safety.shown(str(v))} is not a DNS-1123 label", hint="use at most 63 lower-case letters, digits and '-', starting and ending alphanumeric"))
            if len(gw.hostnames) > MAX_HOSTNAMES:
                out.append(Problem("spec.kubernetes.gateway.hostnames", f"{len(gw.hostnames)} hostnames; an HTTPRoute takes at most {MAX_HOSTNAMES}", hint="split the hostnames over several routes, or use a wildcard (*.example.com)"))
            for i, h in enumerate(gw.hostnames):
                if not isinstance(h, str) or len(h) > 253 or not safety.HOSTNAME.fullmatch(h) or re.fullmatch(r"[0-9.]+", h):
                    out.append(Problem(f"spec.kubernetes.gateway.hostnames[{i}]", f"hostname {safety.shown(str(h))} is not a valid Gateway API hostname", hint="use a lower-case DNS name such as api.example.com, optionally with a leading '*.' wildcard; no IP addresses, ports or schemes"))
            if len(set(gw.hostnames)) != len(gw.hostnames):
                out.append(Problem("spec.kubernetes.gateway.hostnames", "hostnames repeat", hint="list each hostname once"))
    ks = k8s.autoscaler
    if ks.type == "keda-prometheus":
        out += safety.check_text(ks.prometheus.server_address, "spec.kubernetes.autoscaler.prometheus.server_address", what="address")
        if ks.prometheus.query is not None:
            out += safety.check_text(ks.prometheus.query, "spec.kubernetes.autoscaler.prometheus.query", what="query", allow_newline=True)
    if ks.type == "keda-kafka" and ks.kafka is not None:
        for f in ("bootstrap_servers", "topic", "consumer_group"):
            out += safety.check_text(getattr(ks.kafka, f), f"spec.kubernetes.autoscaler.kafka.{f}", what=f.replace("_", " "))
    if ks.type == "keda-rabbitmq" and ks.rabbitmq is not None:
        out += safety.check_text(ks.rabbitmq.queue_name, "spec.kubernetes.autoscaler.rabbitmq.queue_name", what="queue name")
        if not safety.C_IDENTIFIER.fullmatch(ks.rabbitmq.host_from_env):
            out.append(Problem("spec.kubernetes.autoscaler.rabbitmq.host_from_env", f"{safety.shown(ks.rabbitmq.host_from_env)} is not a valid env name", hint="use letters, digits and '_'"))
    if ks.hpa.metric_name is not None and not safety.QUALIFIED_NAME.fullmatch(ks.hpa.metric_name):
        out.append(Problem("spec.kubernetes.autoscaler.hpa.metric_name", f"{safety.shown(ks.hpa.metric_name)} is not a valid metric name", hint="use letters, digits, '_', '-', '.'"))
    for i, a in enumerate(plan.allocations):
        base = f"allocations[{i}]"
        for fld in ("instance_type", "family", "region", "provider"):
            v = getattr(a, fld)
            label = v.split("+", 1)[0] if fld == "instance_type" else v
            if fld == "instance_type" and "+" in v and safety.LABEL_VALUE.fullmatch(v.replace("+", "-")) and len(v) <= 63:
                continue  # GCP N1 + attached GPU rows: n1-standard-4+1xT4
            out += safety.check_label_value(label, f"{base}.{fld}")
        for j, z in enumerate(a.zones):
            out += safety.check_label_value(z, f"{base}.zones[{j}]")
        if len(a.replicas_per_window) != plan.demand.windows:
            out.append(Problem(f"{base}.replicas_per_window", f"has {len(a.replicas_per_window)} values for {plan.demand.windows} demand windows", hint="regenerate the plan with scaleplan optimize"))
        if a.gpus_per_replica > 0 and a.accelerator.upper() == "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", "a CPU-only allocation cannot have GPUs per replica", hint="regenerate the plan with scaleplan optimize"))
        if a.gpus_per_replica > max(a.accelerators_per_node, 0) and a.accelerator.upper() != "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", f"{a.gpus_per_replica} GPUs per replica but the node has {a.accelerators_per_node}", hint="regenerate the plan with scaleplan optimize"))
    return out


# --- small builders -------------------------------------------------------------------------


def _labels(spec: Spec, instance: str) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": spec.metadata.name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/part-of": spec.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    for k in sorted(spec.metadata.labels):
        labels.setdefault(k, spec.metadata.labels[k])
    return labels


def _annotations(plan: Plan, extra: dict[str, str] | None = None) -> dict[str, str]:
    ann = {ANN_PLAN_HASH: plan.metadata.plan_hash, ANN_VERSION: __version__}
    ann.update(extra or {})
    for k in sorted(plan.spec.metadata.annotations):
        ann.setdefault(k, plan.spec.metadata.annotations[k])
    return ann


def _meta(plan: Plan, name: str, instance: str, *, namespaced: bool = True, extra_ann: dict[str, str] | None = None) -> Obj:
    m: Obj = {"name": name}
    if namespaced:
        m["namespace"] = plan.spec.kubernetes.namespace
    m["labels"] = _labels(plan.spec, instance)
    m["annotations"] = _annotations(plan, extra_ann)
    return m


def _selector(spec: Spec, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.metadata.name, "app.kubernetes.io/instance": instance}


def _machine_type(instance_type: str) -> str:
    """GCP N1 rows carry the attached GPU in the name (n1-standard-4+1xT4): the machine type is before '+'."""
    return instance_type.split("+", 1)[0]


def _accelerators() -> dict[str, Accelerator]:
    from scaleplan.catalog.files import load_accelerators

    table: dict[str, Accelerator] = {}
    for acc in load_accelerators():
        table[acc.name.lower()] = acc
        for al in acc.aliases:
            table.setdefault(al.lower(), acc)
    return table


# --- the model server -----------------------------------------------------------------------


_SETTING_FIELD = {
    "tensor_parallel": "tensor_parallel",
    "pipeline_parallel": "pipeline_parallel",
    "max_num_seqs": "max_num_seqs",
    "max_model_len": "max_model_len",
    "gpu_memory_utilization": "gpu_memory_utilization",
    "block_size": "block_size",
    "max_num_batched_tokens": "max_num_batched_tokens",
}


def _server(plan: Plan, al: _Alloc, warnings: list[str]) -> tuple[_Alloc, list[Problem]]:
    """The allocation's container args (the spec's merged with the planned engine flags) and
    model storage; a user flag that contradicts the plan is a problem naming both values."""
    from dataclasses import replace

    spec = plan.spec
    k8s = spec.kubernetes
    a = al.a
    user = list(k8s.args)
    server = engines.server_settings(plan, a)
    llm = server is not None
    storage = serving.model_storage(plan, a, al.accel.memory_gib if al.accel else None, llm=llm or spec.model.source is not None)
    for note in storage.notes:
        warnings.append(f"allocation {al.name}: {note}")
    problems: list[Problem] = []
    if server is None:
        # no engine named: the args are the user's, but a tensor-parallel flag must still fit the GPUs
        if a.gpus_per_replica > 0:
            got = engines.parse_flags(user)
            tp, pp = got.get("tensor_parallel"), got.get("pipeline_parallel")
            tpv = engines.parse_number(tp.value) if tp else None
            ppv = engines.parse_number(pp.value) if pp else 1.0
            if tp is not None and (tpv is None or ppv is None or tpv * ppv != a.gpus_per_replica):
                shown_pp = f" x {pp.flag} {pp.value}" if pp else ""
                problems.append(Problem(f"spec.kubernetes.args[{tp.index}]", f"{tp.flag} {tp.value}{shown_pp} contradicts the plan: allocation {a.name} runs {a.gpus_per_replica} GPU(s) per replica ({a.instance_type}), so the server would not start or would leave GPUs idle", hint=f"remove {tp.flag} from spec.kubernetes.args and set model.engine, so that render writes it from the plan (here {a.gpus_per_replica})"))
        if storage.model_arg is not None:
            warnings.append(f"allocation {al.name}: model.source is set but model.engine is not, so no model flag is written; point your server at {storage.model_arg}")
        return replace(al, args=tuple(user), storage=storage), problems
    if server.engine == "tgi" and server.pipeline_parallel > 1:
        problems.append(Problem("spec.model.engine", f"allocation {a.name} plans pipeline parallelism {server.pipeline_parallel}, which TGI does not support", hint="use engine vllm, sglang or trtllm, or plan with model.engine_config.pipeline_parallel: 1"))
        return al, problems
    model_arg = storage.model_arg
    if model_arg is None and "model" in engines.FLAGS[server.engine] and "model" not in engines.parse_flags(user, (server.engine,)):
        warnings.append(f"allocation {al.name}: neither model.source nor a {engines.FLAGS[server.engine]['model'][0]} argument names the model, so {server.engine} starts with its default model; set model.source")
    if server.engine == "trtllm" and model_arg is not None:
        warnings.append(f"allocation {al.name}: trtllm-serve takes the model as a positional argument; put {model_arg} in spec.kubernetes.args")
        model_arg = None
    planned = engines.engine_flags(server, port=k8s.port, model=model_arg, revision=storage.revision)
    args, conflicts = engines.merge_args(user, planned, server.engine)
    for c in conflicts:
        why = "the plan" if server.from_plan else "the plan's GPUs per replica and the spec"
        fld = _SETTING_FIELD.get(c.setting)
        if c.setting == "tensor_parallel":
            fix_hint = f"remove {c.flag} from spec.kubernetes.args: render writes it from the plan ({a.gpus_per_replica} GPUs per replica)"
        elif fld is not None:
            fix_hint = f"remove {c.flag} from spec.kubernetes.args, or set model.engine_config.{fld}: {c.user_value} and run scaleplan optimize again"
        elif c.setting == "model":
            fix_hint = f"remove {c.flag} from spec.kubernetes.args (model.source sets it), or change model.source"
        else:
            fix_hint = f"remove {c.flag} from spec.kubernetes.args"
        problems.append(Problem(f"spec.kubernetes.args[{c.index}]", f"{c.flag} {c.user_value} contradicts {why}: allocation {a.name} needs {c.planned_flag} {c.planned_value}", hint=fix_hint))
    return replace(al, server=server, args=tuple(args), storage=storage), problems


# --- scheduling per flavor ------------------------------------------------------------------


def _scheduling(plan: Plan, al: _Alloc, warnings: list[str]) -> tuple[dict[str, str], list[Obj]]:
    """nodeSelector and tolerations for one allocation on the spec's flavor."""
    flavor = plan.spec.kubernetes.flavor
    a = al.a
    spot = a.capacity_type == "spot"
    sel: dict[str, str] = {}
    tol: list[Obj] = []
    gpu = al.resource is not None
    if gpu:
        assert al.resource is not None
        tol.append({"key": al.resource, "operator": "Exists", "effect": "NoSchedule"})
    machine = _machine_type(a.instance_type)
    if flavor == "eks":
        sel["node.kubernetes.io/instance-type"] = machine
        sel["eks.amazonaws.com/capacityType"] = "SPOT" if spot else "ON_DEMAND"
    elif flavor == "eks-karpenter":
        assert al.nodepool is not None
        if not spot:
            sel["karpenter.sh/nodepool"] = al.nodepool
            sel["node.kubernetes.io/instance-type"] = machine
            sel["karpenter.sh/capacity-type"] = "on-demand"
        # spot: required node affinity on the spot pool and its on-demand fallback (_node_affinity)
        tol.append({"key": DEDICATED_TAINT, "operator": "Equal", "value": plan.spec.metadata.name, "effect": "NoSchedule"})
    elif flavor == "gke":
        if gpu:
            gke = al.accel.gke_accelerator if al.accel else None
            if gke:
                sel["cloud.google.com/gke-accelerator"] = gke
            else:
                warnings.append(f"allocation {al.name}: accelerator {a.accelerator} has no GKE accelerator name; selecting the node by machine type only")
        sel["node.kubernetes.io/instance-type"] = machine
        if spot:
            sel["cloud.google.com/gke-spot"] = "true"
            tol.append({"key": "cloud.google.com/gke-spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"})
    elif flavor == "aks":
        sel["node.kubernetes.io/instance-type"] = machine
        if gpu:
            tol.append({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"})
        if spot:
            sel["kubernetes.azure.com/scalesetpriority"] = "spot"
            tol.append({"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"})
    else:  # generic: only labels NVIDIA GPU feature discovery sets
        if gpu:
            product = al.accel.gpu_product if al.accel else None
            if product:
                sel["nvidia.com/gpu.product"] = product
            else:  # Neuron and other non-NVIDIA parts: GPU feature discovery does not label them
                sel["node.kubernetes.io/instance-type"] = machine
        if spot:
            warnings.append(f"allocation {al.name}: flavor generic has no standard spot label; the spot replicas are scheduled like on-demand ones")
    for k, v in sel.items():
        if safety.check_label_value(v, k):
            raise PlanError(None, [Problem(f"allocations[{al.index}]", f"node label {k}={safety.shown(v)} is not a valid label value", hint="check the plan's instance type and accelerator")])
    return sel, tol


# --- the pod --------------------------------------------------------------------------------


def _container(plan: Plan, al: _Alloc) -> Obj:
    k8s = plan.spec.kubernetes
    probes = k8s.probes
    res: Obj = {"requests": {"cpu": al.cpu, "memory": al.memory}, "limits": {"cpu": al.cpu, "memory": al.memory}}
    if al.resource is not None:
        res["requests"][al.resource] = al.a.gpus_per_replica
        res["limits"][al.resource] = al.a.gpus_per_replica

    def probe(path: str, period: int, failures: int) -> Obj:
        return {"httpGet": {"path": path, "port": PORT_NAME, "scheme": "HTTP"}, "periodSeconds": period, "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": failures}

    st = al.storage or serving.Storage()
    if st.ephemeral_gib:
        res["requests"]["ephemeral-storage"] = f"{st.ephemeral_gib}Gi"
    c: Obj = {"name": CONTAINER, "image": k8s.image, "imagePullPolicy": "IfNotPresent"}
    if al.args:
        c["args"] = list(al.args)
    env = [{"name": k, "value": k8s.env[k]} for k in sorted(k8s.env)]
    env += [e for e in st.env if e["name"] not in k8s.env]  # the spec's own value wins
    if env:
        c["env"] = env
    c["ports"] = [{"name": PORT_NAME, "containerPort": k8s.port, "protocol": "TCP"}]
    c["resources"] = res
    c["startupProbe"] = probe(probes.path, 10, max(1, math.ceil(probes.startup_seconds / 10)))
    c["readinessProbe"] = probe(probes.readiness_path or probes.path, 10, 3)
    c["livenessProbe"] = probe(probes.path, 15, 3)
    c["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    c["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": k8s.read_only_root_filesystem,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if al.a.gpus_per_replica > 1:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    mounts += st.mounts
    c["volumeMounts"] = mounts
    return c


def _shm_size(al: _Alloc) -> str:
    """Shared memory for NCCL/tensor-parallel workers: a quarter of the replica's memory, 1-64 GiB."""
    gib = max(1, min(64, math.floor(al.a.memory_gib_per_replica / 4)))
    return f"{gib}Gi"


def _fixed(plan: Plan, al: _Alloc) -> bool:
    """Fixed replicas: autoscaler none, or the plan keeps this allocation at one count all day
    (an autoscaler with minReplicas == maxReplicas could never scale)."""
    kind = plan.spec.kubernetes.autoscaler.type
    if kind == "none":
        return True
    low = max(1, al.min_replicas) if kind == "hpa" else al.min_replicas  # HPA minReplicas >= 1
    return low >= al.max_replicas


def _node_affinity(plan: Plan, al: _Alloc) -> Obj | None:
    """eks-karpenter spot allocations: the spot NodePool (weight 50) or its on-demand fallback
    (weight 10), on any of the interchangeable instance types; Karpenter tries spot first."""
    if plan.spec.kubernetes.flavor != "eks-karpenter" or al.a.capacity_type != "spot":
        return None
    assert al.nodepool is not None
    types = list(al.types) or [_machine_type(al.a.instance_type)]
    term = {
        "matchExpressions": [
            {"key": "karpenter.sh/nodepool", "operator": "In", "values": [al.nodepool, fallback_pool(al.nodepool)]},
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types},
        ]
    }
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}


def _deployment(plan: Plan, al: _Alloc, warnings: list[str]) -> Obj:
    spec = plan.spec
    k8s = spec.kubernetes
    sel, tol = _scheduling(plan, al, warnings)
    match = _selector(spec, al.name)
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {}}]
    if al.a.gpus_per_replica > 1:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": _shm_size(al)}})
    st = al.storage or serving.Storage()
    volumes += st.volumes
    creds = serving.secret_volume(spec.model.source)
    if creds is not None:
        volumes.append(creds)
    pod: Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 60,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if sel:
        pod["nodeSelector"] = sel
    if tol:
        pod["tolerations"] = tol
    pod["affinity"] = {}
    node_aff = _node_affinity(plan, al)
    if node_aff is not None:
        pod["affinity"]["nodeAffinity"] = node_aff
    pod["affinity"]["podAntiAffinity"] = {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": dict(match)}, "topologyKey": "kubernetes.io/hostname"}}
        ]
    }
    pod["topologySpreadConstraints"] = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(match)},
            "matchLabelKeys": ["pod-template-hash"],
        }
    ]
    if st.init:
        pod["initContainers"] = st.init
    pod["containers"] = [_container(plan, al)]
    pod["volumes"] = volumes
    fixed = _fixed(plan, al)
    if al.min_replicas >= 2:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    else:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    dspec: Obj = {}
    if fixed:
        dspec["replicas"] = al.max_replicas
    dspec["revisionHistoryLimit"] = 5
    dspec["progressDeadlineSeconds"] = max(600, k8s.probes.startup_seconds + 300)
    dspec["selector"] = {"matchLabels": dict(match)}
    dspec["strategy"] = strategy
    dspec["template"] = {"metadata": {"labels": _labels(spec, al.name)}, "spec": pod}
    a = al.a
    extra = {ANN_ALLOCATION: f"{a.provider}/{a.region}/{a.instance_type}/{a.capacity_type}"}
    if not k8s.read_only_root_filesystem:
        # the spec opted out on purpose: record it, so that scaleplan check does not flag it
        extra[ANN_IGNORE] = "writable-root-fs"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(plan, al.name, al.name, extra_ann=extra), "spec": dspec}


# --- autoscaling and disruption -------------------------------------------------------------


def _behavior(plan: Plan) -> Obj:
    stab = plan.spec.kubernetes.autoscaler.scale_down_stabilization_s
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}, {"type": "Pods", "value": 4, "periodSeconds": 60}],
        },
        "scaleDown": {"stabilizationWindowSeconds": stab, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
    }


def _target_ref(al: _Alloc) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": al.name}


def _hpa(plan: Plan, al: _Alloc, warnings: list[str]) -> Obj:
    hs = plan.spec.kubernetes.autoscaler.hpa
    metric = hs.metric
    if metric == "gpu" and (al.resource is None or (al.accel is not None and al.accel.vendor != "nvidia")):
        warnings.append(f"allocation {al.name}: no NVIDIA GPU, so HPA metric 'gpu' ({GPU_METRIC}) is not available; scaling on CPU utilization instead")
        metric = "cpu"
    m: Obj
    if metric == "cpu":
        target = round(hs.target) if hs.target is not None else 70
        m = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": max(1, min(100, int(target)))}}}
    elif metric == "gpu":
        target_v = hs.target if hs.target is not None else 70.0
        m = {"type": "Pods", "pods": {"metric": {"name": hs.metric_name or GPU_METRIC}, "target": {"type": "AverageValue", "averageValue": number_quantity(target_v)}}}
    else:
        target_v = hs.target if hs.target is not None else al.a.capacity_rps_per_replica
        m = {"type": "Pods", "pods": {"metric": {"name": hs.metric_name or RPS_METRIC}, "target": {"type": "AverageValue", "averageValue": number_quantity(target_v)}}}
    spec: Obj = {
        "scaleTargetRef": _target_ref(al),
        "minReplicas": max(1, al.min_replicas),
        "maxReplicas": max(1, al.max_replicas, al.min_replicas),
        "metrics": [m],
        "behavior": _behavior(plan),
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(plan, al.name, al.name), "spec": spec}


def _cron_triggers(plan: Plan, al: _Alloc, warnings: list[str]) -> list[Obj]:
    d = plan.demand
    minutes = d.window_hours * 60
    if abs(d.windows * d.window_hours - 24) > 1e-6 or abs(minutes - round(minutes)) > 1e-6:
        warnings.append(f"allocation {al.name}: the plan's {d.windows} windows of {d.window_hours:g} h do not tile a day in whole minutes; no cron triggers")
        return []
    step = round(minutes)
    counts = list(al.a.replicas_per_window)
    # merge runs of equal counts; the day wraps, so start a run where the count changes
    runs: list[tuple[int, int, int]] = []  # (start window, windows, count)
    i = 0
    while i < len(counts):
        j = i
        while j + 1 < len(counts) and counts[j + 1] == counts[i]:
            j += 1
        runs.append((i, j - i + 1, counts[i]))
        i = j + 1
    out: list[Obj] = []
    for start, length, count in runs:
        if count <= al.min_replicas:
            continue  # the floor is minReplicaCount already
        s = start * step
        e = ((start + length) * step) % (24 * 60)
        out.append(
            {
                "type": "cron",
                "name": f"plan-{s // 60:02d}{s % 60:02d}",
                "metadata": {
                    "timezone": "Etc/UTC",
                    "start": f"{s % 60} {s // 60} * * *",
                    "end": f"{e % 60} {e // 60} * * *",
                    "desiredReplicas": str(count),
                },
            }
        )
    return out


# engine -> (running, waiting, KV-cache usage fraction or None): the servers' own Prometheus
# metrics (docs/render.md, "Autoscaling LLM servers" lists their sources)
ENGINE_METRICS: dict[str, tuple[str, str, str | None]] = {
    "vllm": ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"),
    "sglang": ("sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage"),
    "tgi": ("tgi_batch_current_size", "tgi_queue_size", None),
}
KV_TARGET = 0.9  # scale out before the KV cache fills and the engine starts preempting sequences


def _engine_triggers(plan: Plan, al: _Alloc) -> list[Obj]:
    """KEDA Prometheus triggers on the engine's own metrics for one allocation's pods: requests
    in flight (running + waiting) per replica at the plan's concurrency, and KV-cache use."""
    assert al.server is not None
    spec = plan.spec
    prom = spec.kubernetes.autoscaler.prometheus
    running, waiting, kv = ENGINE_METRICS[al.server.engine]
    sel = f'namespace="{spec.kubernetes.namespace}",pod=~"{al.name}-[a-z0-9]+-[a-z0-9]+"'
    per_replica = al.server.max_num_seqs or max(1, al.a.operating_point.batch_size)
    out: list[Obj] = [
        {
            "type": "prometheus",
            "name": "in-flight",
            "metadata": {"serverAddress": prom.server_address, "query": f"sum({running}{{{sel}}}) + sum({waiting}{{{sel}}})", "threshold": number_text(per_replica)},
        }
    ]
    if kv is not None:
        out.append({"type": "prometheus", "name": "kv-cache", "metadata": {"serverAddress": prom.server_address, "query": f"sum({kv}{{{sel}}})", "threshold": number_text(KV_TARGET)}})
    return out


def _scaled_object(plan: Plan, al: _Alloc, warnings: list[str]) -> tuple[Obj, Obj | None]:
    ks = plan.spec.kubernetes.autoscaler
    spec = plan.spec
    share = al.share if al.share > 0 else 1.0
    trig: Obj
    auth: Obj | None = None
    if ks.type == "keda-prometheus" and ks.prometheus.query is None and al.server is not None and al.server.engine in ENGINE_METRICS:
        triggers_llm = _engine_triggers(plan, al)
        trig = triggers_llm[0]
    elif ks.type == "keda-prometheus":
        prom = ks.prometheus
        per_replica = prom.threshold if prom.threshold is not None else al.a.capacity_rps_per_replica
        if prom.query is None and spec.kubernetes.routing == "gateway-api":
            # each allocation has its own Service and its own weighted share of the requests:
            # scale on that Service's rate, one replica per capacity_rps_per_replica
            query = f'sum(rate(http_requests_total{{namespace="{spec.kubernetes.namespace}",service="{al.service}"}}[2m]))'
            threshold = per_replica
        else:
            query = prom.query or (
                f'sum(rate(http_requests_total{{namespace="{spec.kubernetes.namespace}",service="{spec.metadata.name}"}}[2m]))'
            )
            threshold = per_replica / share
        trig = {"type": "prometheus", "name": "requests", "metadata": {"serverAddress": prom.server_address, "query": query, "threshold": number_text(threshold)}}
    elif ks.type == "keda-kafka":
        kf = ks.kafka
        assert kf is not None
        lag = kf.lag_threshold if kf.lag_threshold is not None else al.a.capacity_rps_per_replica * kf.drain_seconds
        trig = {
            "type": "kafka",
            "name": "lag",
            "metadata": {
                "bootstrapServers": kf.bootstrap_servers,
                "consumerGroup": kf.consumer_group,
                "topic": kf.topic,
                "lagThreshold": str(max(1, math.ceil(lag / share - 1e-9))),
                "offsetResetPolicy": "latest",
            },
        }
    else:
        rq = ks.rabbitmq
        assert rq is not None
        qlen = rq.value if rq.value is not None else al.a.capacity_rps_per_replica * rq.drain_seconds
        meta = {"protocol": "amqp", "queueName": rq.queue_name, "mode": "QueueLength", "value": str(max(1, math.ceil(qlen / share - 1e-9)))}
        trig = {"type": "rabbitmq", "name": "queue", "metadata": meta}
        if rq.host_from_env in spec.kubernetes.env:
            meta["hostFromEnv"] = rq.host_from_env
        else:
            auth_name = f"{spec.metadata.name}-rabbitmq"
            trig["authenticationRef"] = {"name": auth_name, "kind": "TriggerAuthentication"}
            auth = {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "TriggerAuthentication",
                "metadata": _meta(plan, auth_name, spec.metadata.name),
                "spec": {"secretTargetRef": [{"parameter": "host", "name": auth_name, "key": "host"}]},
            }
    triggers = [trig]
    if trig.get("name") == "in-flight":
        triggers = _engine_triggers(plan, al)
    if ks.cron:
        triggers += _cron_triggers(plan, al, warnings)
    so_spec: Obj = {
        "scaleTargetRef": _target_ref(al),
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "minReplicaCount": al.min_replicas,
        "maxReplicaCount": max(1, al.max_replicas, al.min_replicas),
        "fallback": {"failureThreshold": 3, "replicas": max(1, al.max_replicas)},
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(plan)}},
        "triggers": triggers,
    }
    so = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": _meta(plan, al.name, al.name), "spec": so_spec}
    return so, auth


def _pdb(plan: Plan, al: _Alloc) -> Obj:
    """maxUnavailable, never 0: one pod without redundancy; with n+1 or zone redundancy the
    plan holds a spare node, so a whole node's replicas may go at once (but never all)."""
    if plan.spec.placement.redundancy == "none":
        max_unavailable = 1
    else:
        max_unavailable = max(1, min(al.a.replicas_per_node, al.min_replicas - 1))
    spec = {"maxUnavailable": max_unavailable, "selector": {"matchLabels": _selector(plan.spec, al.name)}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(plan, al.name, al.name), "spec": spec}


# --- shared objects -------------------------------------------------------------------------


def _service(plan: Plan) -> Obj:
    spec = plan.spec
    name = spec.metadata.name
    sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": COMPONENT}
    s = {"type": "ClusterIP", "selector": sel, "ports": [{"name": PORT_NAME, "port": spec.kubernetes.port, "targetPort": PORT_NAME, "protocol": "TCP"}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(plan, name, name), "spec": s}


def _backend_service(plan: Plan, al: _Alloc) -> Obj:
    """routing: gateway-api: a Service selecting only this allocation's pods."""
    spec = plan.spec
    s = {"type": "ClusterIP", "selector": _selector(spec, al.name), "ports": [{"name": PORT_NAME, "port": spec.kubernetes.port, "targetPort": PORT_NAME, "protocol": "TCP"}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(plan, al.service, al.name), "spec": s}


def _http_route(plan: Plan, allocs: Sequence[_Alloc], warnings: list[str]) -> Obj:
    """routing: gateway-api: one HTTPRoute on the spec's Gateway, weighted by peak capacity."""
    spec = plan.spec
    k8s = spec.kubernetes
    gw = k8s.gateway
    assert gw is not None
    name = spec.metadata.name
    weights = routing.route_weights(plan, {al.a.name: al.service for al in allocs})
    total = sum(weights.values()) or 1
    for al in allocs:
        if weights.get(al.service, 0) == 0:
            warnings.append(f"allocation {al.name}: no replicas in the plan's peak window, so its HTTPRoute weight is 0 (its pods get no requests through the Gateway)")
        elif al.a.capacity_type == "spot" and k8s.flavor in ("eks", "gke", "aks"):
            warnings.append(f"allocation {al.name} runs on spot nodes only: when the spot capacity is reclaimed, its HTTPRoute weight still sends {weights[al.service] / total:.0%} of requests to a Service without pods, and they fail; use flavor eks-karpenter (an on-demand fallback NodePool) or routing: inference-pool")
    parent: Obj = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gw.name, "namespace": gw.namespace or k8s.namespace}
    refs = [{"kind": "Service", "name": al.service, "port": k8s.port, "weight": weights.get(al.service, 0)} for al in allocs]
    rspec: Obj = {"parentRefs": [parent]}
    if gw.hostnames:
        rspec["hostnames"] = list(gw.hostnames)
    rspec["rules"] = [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": refs}]
    peak = routing.peak_window(plan)
    extra = {ANN_ROUTE_BASIS: f"capacity at peak window {peak}: replicas x capacity_rps_per_replica, scaled to {routing.WEIGHT_TOTAL}"}
    return {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "HTTPRoute", "metadata": _meta(plan, name, name, extra_ann=extra), "spec": rspec}


POOL_GROUP = "inference.networking.k8s.io"
EPP_GRPC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0"


def _inference_pool(plan: Plan, allocs: Sequence[_Alloc]) -> list[tuple[str, str, Obj]]:
    """routing: inference-pool: an InferencePool over every allocation's pods, the HTTPRoute that
    sends the Gateway's requests to it, and the endpoint picker (EPP) it names: Deployment,
    Service, ServiceAccount and the Role it needs to watch the pool and its pods."""
    spec = plan.spec
    k8s = spec.kubernetes
    gw = k8s.gateway
    assert gw is not None
    name = spec.metadata.name
    epp = f"{name}-epp"
    out: list[tuple[str, str, Obj]] = []
    pool_spec: Obj = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name, "app.kubernetes.io/component": COMPONENT}},
        "targetPorts": [{"number": k8s.port}],
        "endpointPickerRef": {"name": epp, "kind": "Service", "port": {"number": EPP_GRPC_PORT}, "failureMode": "FailClose"},
    }
    out.append(("InferencePool", name, {"apiVersion": f"{POOL_GROUP}/v1", "kind": "InferencePool", "metadata": _meta(plan, name, name), "spec": pool_spec}))
    parent: Obj = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gw.name, "namespace": gw.namespace or k8s.namespace}
    rspec: Obj = {"parentRefs": [parent]}
    if gw.hostnames:
        rspec["hostnames"] = list(gw.hostnames)
    rspec["rules"] = [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"group": POOL_GROUP, "kind": "InferencePool", "name": name}]}]
    out.append(("HTTPRoute", name, {"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "HTTPRoute", "metadata": _meta(plan, name, name), "spec": rspec}))
    # the endpoint picker
    sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": epp}
    labels = dict(_labels(spec, epp), **{"app.kubernetes.io/component": "endpoint-picker"})
    meta = _meta(plan, epp, epp)
    meta["labels"] = labels
    out.append(("ServiceAccount", epp, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": True}))
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [POOL_GROUP], "resources": ["inferencepools"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["inference.networking.x-k8s.io"], "resources": ["inferenceobjectives", "inferencemodelrewrites"], "verbs": ["get", "list", "watch"]},
    ]
    out.append(("Role", epp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}))
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "subjects": [{"kind": "ServiceAccount", "name": epp, "namespace": k8s.namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": epp},
    }
    out.append(("RoleBinding", epp, binding))
    args = ["--pool-name", name, "--pool-namespace", k8s.namespace, "--zap-encoder", "json"]
    engine = spec.model.engine
    if engine in ("sglang", "tgi"):
        _, waiting, kv = ENGINE_METRICS[engine]
        args += ["--total-queued-requests-metric", waiting]
        if kv is not None:
            args += ["--kv-cache-usage-percentage-metric", kv]
    health = {"grpc": {"port": EPP_HEALTH_PORT, "service": "inference-extension"}, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
    container: Obj = {
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
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": health,
        "livenessProbe": dict(health, initialDelaySeconds=5),
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }
    pod: Obj = {
        "serviceAccountName": epp,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 130,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": dict(sel)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
    out.append(("Deployment", epp, dep))
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"type": "ClusterIP", "selector": dict(sel), "ports": [{"name": "grpc", "port": EPP_GRPC_PORT, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "http2"}, {"name": "metrics", "port": EPP_METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}]},
    }
    out.append(("Service", epp, svc))
    return out


def _service_monitor(plan: Plan) -> Obj:
    spec = plan.spec
    name = spec.metadata.name
    if spec.kubernetes.routing == "gateway-api":
        # no shared Service: scrape through the per-allocation Services (each pod once)
        match = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": COMPONENT}
    else:
        match = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    s = {
        "selector": {"matchLabels": match},
        "namespaceSelector": {"matchNames": [spec.kubernetes.namespace]},
        "endpoints": [{"port": PORT_NAME, "path": "/metrics", "interval": "30s", "scheme": "http"}],
    }
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": _meta(plan, name, name), "spec": s}


SPOT_PRICE_MARGIN = 0.25  # spot NodePools also take interchangeable types up to 25 % dearer
SPOT_WEIGHT = 50
FALLBACK_WEIGHT = 10


@functools.lru_cache(maxsize=1)
def _shipped_rows() -> tuple[Any, ...]:
    from scaleplan.catalog.files import read_catalog_file, shipped_paths

    rows: list[Any] = []
    for path in shipped_paths():
        if path.name == "aws.yaml":
            rows += read_catalog_file(path).instances
    return tuple(rows)


def interchangeable_types(a: Allocation) -> list[str]:
    """Instance types a spot allocation can also run on: same provider, region, accelerator and
    accelerator count, at least the CPU and memory, spot price within SPOT_PRICE_MARGIN of the
    plan's type (shipped AWS catalog). The plan's own type first, the rest by name."""
    own = _machine_type(a.instance_type)
    out: set[str] = set()
    if a.provider == "aws" and a.gpus_per_replica > 0:
        for r in _shipped_rows():
            if r.region != a.region or r.instance_type == own or r.accelerator is None:
                continue
            if r.accelerator.lower() != a.accelerator.lower() or r.accelerator_count != a.accelerators_per_node:
                continue
            if r.vcpus < a.vcpus_per_node or r.memory_gib < a.memory_gib_per_node - 1e-6:
                continue
            if r.price_spot is None or r.price_spot > a.price_per_node_hour * (1 + SPOT_PRICE_MARGIN) + 1e-9:
                continue
            out.add(r.instance_type)
    return [own, *sorted(out)]


def _with_types(al: _Alloc, types: list[str]) -> _Alloc:
    from dataclasses import replace

    return replace(al, types=tuple(types))


def fallback_pool(nodepool: str) -> str:
    return safety.sanitize_dns_label(f"{nodepool}-fallback")


def _karpenter_group(plan: Plan, name: str, members: Sequence[_Alloc], cluster: str) -> list[tuple[str, str, Obj]]:
    """EC2NodeClass and NodePool(s) for one (family, capacity type) group of allocations."""
    svc = plan.spec.metadata.name
    out: list[tuple[str, str, Obj]] = []
    first = members[0].a
    gpu_res = members[0].resource
    spot = first.capacity_type == "spot"
    types = sorted({t for m in members for t in (m.types if spot else [_machine_type(m.a.instance_type)])})
    zones = sorted({z for m in members for z in m.a.zones})

    def limits_for(nodes_extra: int) -> Obj:
        biggest = max(members, key=lambda m: (m.a.vcpus_per_node, m.a.memory_gib_per_node)).a
        cpu = sum(m.a.nodes * m.a.vcpus_per_node for m in members) + nodes_extra * biggest.vcpus_per_node
        mem = sum(m.a.nodes * m.a.memory_gib_per_node for m in members) + nodes_extra * biggest.memory_gib_per_node
        lim: Obj = {"cpu": str(cpu), "memory": f"{math.ceil(mem)}Gi"}
        if gpu_res is not None:
            lim[gpu_res] = str(sum(m.a.nodes * m.a.accelerators_per_node for m in members) + nodes_extra * biggest.accelerators_per_node)
        return lim

    def pool(pool_name: str, capacity: str, weight: int | None) -> Obj:
        reqs: list[Obj] = []
        if len(types) == 1 or not spot:
            reqs.append({"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": [first.family]})
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
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "10%"}]},
            "limits": limits_for(1),
        }
        if weight is not None:
            pspec["weight"] = weight
        return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": _meta(plan, pool_name, svc, namespaced=False), "spec": pspec}

    llm = any(m.server is not None or (m.storage is not None and m.storage.cache_gib is not None) for m in members)
    local = any(m.storage is not None and m.storage.node_local for m in members)
    root = serving.root_volume_gib(gpu=gpu_res is not None, replicas_per_node=max(m.a.replicas_per_node for m in members), llm=llm)
    ncspec: Obj = {
        "role": f"KarpenterNodeRole-{cluster}",
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": cluster}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": cluster}}],
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"volumeSize": f"{root}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}}
        ],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "tags": {"app.kubernetes.io/part-of": svc, "app.kubernetes.io/managed-by": MANAGED_BY},
    }
    if local:
        ncspec["instanceStorePolicy"] = "RAID0"  # NVMe instance store becomes the kubelet's ephemeral storage
    nodeclass = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": _meta(plan, name, svc, namespaced=False), "spec": ncspec}
    out.append(("EC2NodeClass", name, nodeclass))
    out.append(("NodePool", name, pool(name, first.capacity_type, SPOT_WEIGHT if spot else None)))
    if spot:
        fb = fallback_pool(name)
        out.append(("NodePool", fb, pool(fb, "on-demand", FALLBACK_WEIGHT)))
    return out


def _karpenter(plan: Plan, allocs: Sequence[_Alloc], cluster: str) -> list[tuple[str, str, Obj]]:
    """One EC2NodeClass + NodePool per (family, capacity type); spot pools take interchangeable
    instance types and get an on-demand fallback pool of lower weight; limits = the plan's peak
    nodes plus one node, so that a node can be replaced before the old one goes."""
    groups: dict[str, list[_Alloc]] = {}
    for al in allocs:
        assert al.nodepool is not None
        groups.setdefault(al.nodepool, []).append(al)
    out: list[tuple[str, str, Obj]] = []
    for name in sorted(groups):
        out += _karpenter_group(plan, name, groups[name], cluster)
    return out


# --- entry point ----------------------------------------------------------------------------


CLUSTER_PLACEHOLDER = "CLUSTER_NAME"


def build_objects(plan: Plan, *, source: str | None = None) -> Built:
    """Every object for ``plan`` in apply order; PlanError (exit 3) for unusable input."""
    src = source or "<plan>"
    _revalidate(plan, src)
    problems = _check_inputs(plan)
    if problems:
        raise PlanError(src, problems)
    spec = plan.spec
    k8s = spec.kubernetes
    built = Built()
    w = built.warnings
    if plan.status == "infeasible":
        raise PlanError(src, [Problem("status", "the plan is infeasible; there is nothing to deploy", hint="relax the spec and run scaleplan optimize again")])
    live = [(i, a) for i, a in enumerate(plan.allocations) if a.replicas > 0]
    for a in plan.allocations:
        if a.replicas <= 0:
            w.append(f"allocation {a.name}: 0 replicas at peak; not rendered")
    if not live:
        raise PlanError(src, [Problem("allocations", "the plan has no allocation with replicas", hint="run scaleplan optimize again")])
    want = PROVIDER_OF_FLAVOR.get(k8s.flavor)
    accs = _accelerators()
    total_cap = sum(a.replicas * a.capacity_rps_per_replica for _, a in live)
    allocs: list[_Alloc] = []
    seen: dict[str, str] = {}
    for i, a in live:
        name = safety.sanitize_dns_label(a.name)
        if name != a.name:
            w.append(f"allocation name {safety.shown(a.name)} is not a DNS-1123 label of at most 63 characters; using {name!r}")
        if name in seen:
            raise PlanError(src, [Problem(f"allocations[{i}].name", f"allocations {seen[name]!r} and {a.name!r} both give the name {name!r}", hint="give allocations distinct names")])
        seen[name] = a.name
        if want is not None and a.provider != want:
            w.append(f"allocation {name}: provider {a.provider} on flavor {k8s.flavor} (expects {want}); its node labels will not match")
        gpu = a.gpus_per_replica > 0
        accel = accs.get(a.accelerator.lower()) if gpu else None
        resource: str | None = None
        if gpu:
            if accel is None:
                w.append(f"allocation {name}: accelerator {a.accelerator!r} is not in the accelerator specs; requesting nvidia.com/gpu")
            resource = accel.k8s_resource if accel else "nvidia.com/gpu"
        # plans from the current optimizer already fit (scaleplan.k8s_capacity); cap old or hand-edited ones
        cpu_fit, mem_fit = fit_per_replica(a.vcpus_per_node, a.memory_gib_per_node, a.replicas_per_node, flavor=k8s.flavor)
        cpu = min(a.cpu_per_replica, cpu_fit)
        mem = min(a.memory_gib_per_replica, mem_fit)
        capped = []
        if cpu < a.cpu_per_replica * 0.999:
            capped.append(f"CPU {a.cpu_per_replica:g} -> {cpu_quantity(max(cpu, MIN_CPU))}")
        if mem < a.memory_gib_per_replica * 0.999:
            capped.append(f"memory {a.memory_gib_per_replica:g}Gi -> {memory_quantity(max(mem, MIN_MEMORY_GIB))}")
        if capped:
            w.append(f"allocation {name}: requests capped so that {a.replicas_per_node} replica(s) fit next to system-reserved resources and DaemonSets on {a.instance_type}: {', '.join(capped)}")
        lo = min(a.replicas_per_window) if a.replicas_per_window else a.replicas
        nodepool = safety.sanitize_dns_label(f"{spec.metadata.name}-{a.family}-{a.capacity_type}") if k8s.flavor == "eks-karpenter" else None
        share = (a.replicas * a.capacity_rps_per_replica / total_cap) if total_cap > 0 else 1.0
        svc = name if DNS_1035.fullmatch(name) else safety.sanitize_dns_label(f"s-{name}")
        allocs.append(
            _Alloc(a, i, name, accel, resource, max(0, min(lo, a.replicas)), a.replicas, share, svc, cpu_quantity(max(cpu, MIN_CPU)), memory_quantity(max(mem, MIN_MEMORY_GIB)), nodepool)
        )
    allocs.sort(key=lambda x: x.name)
    problems = []
    for j, al in enumerate(allocs):
        allocs[j], probs = _server(plan, al, w)
        problems += probs
    if problems:
        raise PlanError(src, problems)
    if k8s.flavor == "eks-karpenter":
        for j, al in enumerate(allocs):
            if al.a.capacity_type == "spot":
                allocs[j] = _with_types(al, interchangeable_types(al.a))
        cluster = k8s.cluster_name or CLUSTER_PLACEHOLDER
        if cluster == CLUSTER_PLACEHOLDER:
            w.append(f"spec.kubernetes.cluster_name is not set; the EC2NodeClasses use the placeholder {CLUSTER_PLACEHOLDER!r} in their node role and discovery tags")
        built.objects += _karpenter(plan, allocs, cluster)
    ks = k8s.autoscaler
    if ks.cron and not ks.type.startswith("keda-"):
        w.append(f"autoscaler.cron applies to KEDA autoscalers only; ignored with type {ks.type}")
    if k8s.routing == "gateway-api":
        shorts = routing.static_weight_shortfalls(plan)
        fix_hint = "optimize with a scaleplan that plans gateway-api with weights fixed over the day, or use routing: service"
        dead = [x for x in shorts if x.no_pods]
        if dead:
            raise PlanError(src, [Problem("allocations", dead[0].message() + (f" (and {len(dead) - 1} more such window(s))" if len(dead) > 1 else ""), hint=fix_hint)])
        if shorts:
            w.append(shorts[0].message() + (f" (and {len(shorts) - 1} more) " if len(shorts) > 1 else " ") + f"; {fix_hint}")
        services = [al.service for al in allocs]
        if len(set(services)) != len(services):  # e.g. allocations '7b-x' and 's-7b-x'
            raise PlanError(src, [Problem("allocations", f"two allocations give the same Service name (Service names must start with a letter, so {sorted(services)} were derived)", hint="give allocations distinct names that start with a letter")])
        for al in allocs:
            built.objects.append(("Service", al.service, _backend_service(plan, al)))
    else:
        built.objects.append(("Service", spec.metadata.name, _service(plan)))
        mix = routing.uneven_mix(plan) if k8s.routing == "service" else None
        if mix is not None:
            w.append(mix.message(plan))
    for al in allocs:
        built.objects.append(("Deployment", al.name, _deployment(plan, al, w)))
    for al in allocs:
        built.objects.append(("PodDisruptionBudget", al.name, _pdb(plan, al)))
    auths: dict[str, Obj] = {}
    for al in allocs:
        if _fixed(plan, al):
            if ks.type != "none":
                w.append(f"allocation {al.name}: the plan keeps {al.max_replicas} replica(s) all day; fixed replicas, no {ks.type} autoscaler")
        elif ks.type == "hpa":
            built.objects.append(("HorizontalPodAutoscaler", al.name, _hpa(plan, al, w)))
        elif ks.type.startswith("keda-"):
            so, auth = _scaled_object(plan, al, w)
            if auth is not None:
                auths[auth["metadata"]["name"]] = auth
            built.objects.append(("ScaledObject", al.name, so))
    for name in sorted(auths):
        built.objects.append(("TriggerAuthentication", name, auths[name]))
    if auths:
        ks_r = ks.rabbitmq
        assert ks_r is not None
        w.append(f"RabbitMQ: {ks_r.host_from_env} is not in spec.kubernetes.env, so KEDA reads the AMQP URL from Secret {sorted(auths)[0]!r}, key 'host'; create that Secret")
    if k8s.routing == "gateway-api":
        built.objects.append(("HTTPRoute", spec.metadata.name, _http_route(plan, allocs, w)))
    if k8s.routing == "inference-pool":
        built.objects += _inference_pool(plan, allocs)
    if k8s.service_monitor:
        built.objects.append(("ServiceMonitor", spec.metadata.name, _service_monitor(plan)))
        from scaleplan.render.monitoring import monitoring_objects

        built.objects += monitoring_objects(plan, built.objects, _meta, w)
    return built
