"""Plan-aware placement rules: node selectors, NodePools and node classes of another cloud than
the plan's cluster flavor (``flavor-mismatch``), and workloads that can only run on spot
capacity where the plan requires on-demand (``spot-only-capacity``), Deployments of a
zone-redundant plan whose zone spread is only best effort (``zone-spread-not-enforced``), and
workloads whose deployed replica floor is above the plan's lowest hourly count
(``floor-above-plan``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, nodepool_requirement, registrar, spot_only
from scaleplan.check.model import Finding, Rule
from scaleplan.check.workloads import (
    INSTANCE_TYPE_KEYS,
    SCALABLE_KINDS,
    as_list,
    as_map,
    get,
    pod_spec_path,
)
from scaleplan.kube.zones import ZONE_KEY, spread_zones
from scaleplan.plan import HPA_MIN_REPLICAS
from scaleplan.wording import article, counted

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# --- placement ---------------------------------------------------------------------------


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
                yield w.finding(rule, f"the pod selects {key}, {article(other)} node label, but "
                    f"flavor {flavor} runs {cloud} nodes", sel.path)
        types: set[str] = set()
        for k in INSTANCE_TYPE_KEYS:
            types |= sel.values(k) or set()
        foreign = _foreign_types(ctx, types, cloud)
        if foreign:
            yield w.finding(rule, f"the pod selects instance type {', '.join(foreign)}, not "
                f"offered on {cloud}, but flavor {flavor} runs {cloud} nodes", sel.path)
    for o in ctx.objects:
        group_cloud = _CLOUD_GROUPS.get(o.group)
        if group_cloud is not None and group_cloud != cloud:
            yield o.finding(rule, f"{o.kind} ({o.group}) is {article(group_cloud)} node class, but "
                f"flavor {flavor} runs {cloud} nodes")
        if o.kind == "NodePool" and o.group == "karpenter.sh":
            if cloud not in _KARPENTER_CLOUDS:
                yield o.finding(rule, f"Karpenter NodePools do not run on {flavor} ({cloud})")
                continue
            for k in INSTANCE_TYPE_KEYS:
                vals, i = nodepool_requirement(o, k)
                foreign = _foreign_types(ctx, vals or set(), cloud)
                if foreign and i is not None:
                    yield o.finding(rule, "the NodePool allows instance type "
                        f"{', '.join(foreign)}, not offered on {cloud}, but flavor {flavor} runs "
                        f"{cloud} nodes", ("spec", "template", "spec", "requirements", i))


@impl("spot-only-capacity")
def _spot_only_capacity(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None:
        return
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
        and all(spot_only(ctx, w) for w in gpu_ws if ctx.allocation(w) is None)
    )
    for w in gpu_ws:
        if not spot_only(ctx, w):
            continue
        alloc = ctx.allocation(w)
        path = pod_spec_path(w)
        assert path is not None
        if alloc is not None:
            if alloc.capacity_type == "on-demand":
                yield w.finding(
                    rule,
                    f"the plan puts {alloc.name} on on-demand capacity, but the pod can only run "
                        "on spot nodes",
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


@impl("zone-spread-not-enforced")
def _zone_spread_not_enforced(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None:
        return
    for w in ctx.workloads:
        alloc = ctx.allocation(w)
        path = pod_spec_path(w)
        if alloc is None or w.kind not in SCALABLE_KINDS or path is None:
            continue
        zones = spread_zones(plan.spec.placement.redundancy, alloc.zones)
        if not zones:
            continue
        tsc = as_list(as_map(get(w.data, path)).get("topologySpreadConstraints"))
        why = _spread_gap([as_map(c) for c in tsc], len(zones))
        if why:
            yield w.finding(
                rule,
                f"the plan survives losing a zone only with {alloc.name}'s replicas spread "
                f"over its {len(zones)} zones ({', '.join(zones)}), but {why}",
                (*path, "topologySpreadConstraints") if tsc else path,
            )


# the lowest replica count an autoscaler object holds: (field, its default when absent)
_FLOOR_FIELDS = {
    "HorizontalPodAutoscaler": ("minReplicas", HPA_MIN_REPLICAS),
    "ScaledObject": ("minReplicaCount", 0),
}


@impl("floor-above-plan")
def _floor_above_plan(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None:
        return
    for w in ctx.workloads:
        a = ctx.allocation(w)
        if a is None or w.kind != "Deployment" or not a.replicas_per_window:
            continue
        if a.price_per_node_hour <= 0:  # a floor on $0/h nodes costs nothing (render holds
            continue  # owned allocations at their peak: docs/render.md, "Burst plans")
        scaling = ctx.scaling[id(w)]  # its HPAs and ScaledObjects, matched once by the context
        obj = next(iter((*scaling.hpas, *scaling.scaled_objects)), None)
        if obj is not None:
            field, default = _FLOOR_FIELDS[obj.kind]
            path: tuple[str, ...] = ("spec", field)
            value = get(obj.data, path)
            value = default if value is None else value
        else:
            obj, path, value = w, ("spec", "replicas"), get(w.data, ("spec", "replicas"))
        low = min(a.replicas_per_window)
        # above the plan's peak is no floor but a different count: drift says that
        if not isinstance(value, int) or isinstance(value, bool) or not low < value <= a.replicas:
            continue
        hours = sum(1 for r in a.replicas_per_window if r < value)
        extra = a.floor_cost(value, plan.spec.placement.redundancy)
        yield obj.finding(
            rule,
            f"{path[-1]} {value} keeps {counted(value, 'replica')} of {a.name} in every hour, "
            f"but the plan runs fewer in {hours} of "
            f"{counted(len(a.replicas_per_window), 'hour')} (as few as "
            f"{low}): about ${extra:.2f}/h above the plan's ${a.cost_per_hour:.2f}/h for it",
            path,
        )


def _spread_gap(constraints: list[Mapping[str, Any]], zones: int) -> str | None:
    """Why no constraint enforces a maxSkew-1 spread over ``zones`` zones (None: one does)."""
    on_zone = [c for c in constraints if c.get("topologyKey") == ZONE_KEY]
    if not on_zone:
        return f"the pod has no topologySpreadConstraint on {ZONE_KEY}"
    gaps = []
    for c in on_zone:
        min_domains = c.get("minDomains")
        if c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            gaps.append(
                f"whenUnsatisfiable: {c.get('whenUnsatisfiable')} (best effort: the scheduler "
                "may stack the replicas in one zone)"
            )
        elif c.get("maxSkew") != 1:
            gaps.append(f"maxSkew: {c.get('maxSkew')} (one zone may hold more than its share)")
        elif not isinstance(min_domains, int) or min_domains < zones:
            gaps.append(
                f"minDomains: {min_domains if min_domains is not None else 'unset'} (the "
                "scheduler counts only zones that already hold a node, so fewer zones may take "
                f"every pod; set it to {zones})"
            )
        else:
            return None
    return "its zone spread is " + "; ".join(gaps)

