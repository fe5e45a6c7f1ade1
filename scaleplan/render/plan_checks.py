"""The plan's values checked before anything is rendered (docs/render.md, "Hostile input").

:func:`revalidate` re-runs the plan's model validators; :func:`plan_problems` applies the
string checks of :mod:`scaleplan.render.safety` to every value that the user wrote and that
would end up in a manifest (labels, annotations, env, args, probe paths, the Gateway, the
autoscaler's settings, the allocations' node labels), in that order; the container's env, args
and probe paths and the engine flags the spec contradicts itself with are
:mod:`scaleplan.spec_checks`' (shared with ``validate``). Each problem names the plan field and
the fix; render raises them together (exit 3). Pure.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from scaleplan.errors import PlanError, Problem
from scaleplan.plan import Plan
from scaleplan.render import safety
from scaleplan.render.metadata import RESERVED_LABELS
from scaleplan.spec import Gateway, Kubernetes
from scaleplan.spec_checks import container_problems, engine_arg_problems

MAX_HOSTNAMES = 16
_REGENERATE = "regenerate the plan with scaleplan optimize"


def revalidate(plan: Plan, source: str) -> None:
    """Re-run every model validator: catches values put in with model_copy (no validation)."""
    try:
        Plan.model_validate(plan.model_dump(mode="python", round_trip=True))
    except ValidationError as exc:
        from scaleplan.validation import problems_from_validation

        raise PlanError(source, problems_from_validation(exc, Plan)) from None


def plan_problems(plan: Plan) -> list[Problem]:
    """Every problem with the plan's user-written values, in the order of the spec's fields."""
    k8s = plan.spec.kubernetes
    out = _metadata_problems(plan)
    out += [p.in_plan() for p in container_problems(k8s)]
    out += [p.in_plan() for p in engine_arg_problems(plan.spec.model, k8s)]
    out += safety.check_text(plan.metadata.plan_hash, "metadata.plan_hash", what="plan hash", max_len=256)
    if k8s.routing in ("gateway-api", "inference-pool"):
        if k8s.gateway is None:
            out.append(Problem("spec.kubernetes.gateway", f"routing: {k8s.routing} needs a gateway", hint="add gateway: {name: <your Gateway>, namespace: <its namespace>}"))
        else:
            out += _gateway_problems(k8s.gateway)
    out += _autoscaler_problems(k8s)
    out += _allocation_problems(plan)
    return out


def _metadata_problems(plan: Plan) -> list[Problem]:
    md = plan.spec.metadata
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
    return out


def _gateway_problems(gw: Gateway) -> list[Problem]:
    out: list[Problem] = []
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
    return out


def _autoscaler_problems(k8s: Kubernetes) -> list[Problem]:
    ks = k8s.autoscaler
    base = "spec.kubernetes.autoscaler"
    out: list[Problem] = []
    if ks.type == "keda-prometheus":
        out += safety.check_text(ks.prometheus.server_address, f"{base}.prometheus.server_address", what="address")
        if ks.prometheus.query is not None:
            out += safety.check_text(ks.prometheus.query, f"{base}.prometheus.query", what="query", allow_newline=True)
    if ks.type == "keda-kafka" and ks.kafka is not None:
        for f in ("bootstrap_servers", "topic", "consumer_group"):
            out += safety.check_text(getattr(ks.kafka, f), f"{base}.kafka.{f}", what=f.replace("_", " "))
    if ks.type == "keda-rabbitmq" and ks.rabbitmq is not None:
        out += safety.check_text(ks.rabbitmq.queue_name, f"{base}.rabbitmq.queue_name", what="queue name")
        if not safety.C_IDENTIFIER.fullmatch(ks.rabbitmq.host_from_env):
            out.append(Problem(f"{base}.rabbitmq.host_from_env", f"{safety.shown(ks.rabbitmq.host_from_env)} is not a valid env name", hint="use letters, digits and '_'"))
    if ks.hpa.metric_name is not None and not safety.QUALIFIED_NAME.fullmatch(ks.hpa.metric_name):
        out.append(Problem(f"{base}.hpa.metric_name", f"{safety.shown(ks.hpa.metric_name)} is not a valid metric name", hint="use letters, digits, '_', '-', '.'"))
    return out


def _allocation_problems(plan: Plan) -> list[Problem]:
    """Node label values (instance type, family, region, provider, zones) and the shape of each
    allocation: one replica count per demand window, GPUs that fit the node."""
    out: list[Problem] = []
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
            out.append(Problem(f"{base}.replicas_per_window", f"has {len(a.replicas_per_window)} values for {plan.demand.windows} demand windows", hint=_REGENERATE))
        if a.gpus_per_replica > 0 and a.accelerator.upper() == "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", "a CPU-only allocation cannot have GPUs per replica", hint=_REGENERATE))
        if a.gpus_per_replica > max(a.accelerators_per_node, 0) and a.accelerator.upper() != "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", f"{a.gpus_per_replica} GPUs per replica but the node has {a.accelerators_per_node}", hint=_REGENERATE))
    return out
