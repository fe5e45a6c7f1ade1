"""The plan's values checked before anything is rendered (docs/render.md, "Hostile input").

:func:`revalidate` re-runs the plan's model validators; :func:`plan_problems` applies the
string checks of :mod:`scaleplan.kube.safety` to every value that the user wrote and that
would end up in a manifest (labels, annotations, env, args, probe paths, the Gateway, the
autoscaler's settings, the allocations' node labels), in that order; the checks of the spec's
own values (all but the plan hash and the allocations) are :mod:`scaleplan.spec_checks`',
shared with ``validate``. Each problem names the plan field and
the fix; render raises them together (exit 3). Pure.
"""

from __future__ import annotations

from pydantic import ValidationError

from scaleplan.errors import PlanError, Problem
from scaleplan.kube import names, safety
from scaleplan.plan import Plan
from scaleplan.spec_checks import (
    autoscaler_problems,
    container_problems,
    engine_arg_problems,
    engine_image_problems,
    metadata_problems,
    routing_problems,
)

_REGENERATE = "regenerate the plan with scaleplan optimize"


def revalidate(plan: Plan, source: str) -> None:
    """Re-run every model validator: catches values put in with model_copy (no validation)."""
    try:
        Plan.model_validate(plan.model_dump(mode="python", round_trip=True))
    except ValidationError as exc:
        from scaleplan.problems import problems_from_validation

        raise PlanError(source, problems_from_validation(exc, Plan)) from None


def plan_problems(plan: Plan) -> list[Problem]:
    """Every problem with the plan's user-written values, in the order of the spec's fields."""
    spec = plan.spec
    k8s = spec.kubernetes
    out = [p.in_plan() for p in metadata_problems(spec.metadata)]
    out += [p.in_plan() for p in container_problems(k8s)]
    engine = engine_image_problems(spec.model, k8s) + engine_arg_problems(spec.model, k8s)
    out += [p.in_plan() for p in engine]
    out += safety.text_problems(plan.metadata.plan_hash, "metadata.plan_hash", what="plan hash",
        max_len=256)
    out += [p.in_plan() for p in routing_problems(k8s) + autoscaler_problems(k8s)]
    out += _allocation_problems(plan)
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
            if (fld == "instance_type" and "+" in v
                    and names.LABEL_VALUE.fullmatch(v.replace("+", "-")) and len(v) <= 63):
                continue  # GCP N1 + attached GPU rows: n1-standard-4+1xT4
            out += safety.check_label_value(label, f"{base}.{fld}")
        for j, z in enumerate(a.zones):
            out += safety.check_label_value(z, f"{base}.zones[{j}]")
        if a.gpus_per_replica > 0 and a.accelerator.upper() == "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", "a CPU-only allocation cannot have "
                "GPUs per replica", hint=_REGENERATE))
        if a.gpus_per_replica > max(a.accelerators_per_node, 0) and a.accelerator.upper() != "CPU":
            out.append(Problem(f"{base}.gpus_per_replica", f"{a.gpus_per_replica} GPUs per replica "
                f"but the node has {a.accelerators_per_node}", hint=_REGENERATE))
    return out
