"""The assembly: every Kubernetes object for a plan, in apply order, as plain dicts.

:func:`build_objects` checks the plan (:mod:`~scaleplan.render.plan_checks`), derives each
allocation's facts (:mod:`~scaleplan.render.allocations`), and asks each builder for its
objects in apply order: Karpenter's node objects (:mod:`~scaleplan.render.nodes`), the
Services, Deployments and PodDisruptionBudgets (:mod:`~scaleplan.render.workloads`), the
autoscalers (:mod:`~scaleplan.render.autoscaling`), the Gateway's routes
(:mod:`~scaleplan.render.gateway`) and monitoring (:mod:`~scaleplan.render.monitoring`).
The dicts are emitted by ``scaleplan.yamlio.dump_yaml`` (a safe dumper), never through text
templates. The conventions behind each field are in docs/render.md.

Pure: the accelerator table and the AWS rows for the interchangeable spot types come from the
``catalog`` the caller passes (the one the plan was optimized with, assembled at the edge by
:mod:`scaleplan.inputs`); nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scaleplan.catalog.model import Catalog, with_row_labels
from scaleplan.errors import PlanError, Problem
from scaleplan.plan import HPA_MIN_REPLICAS, Allocation, Plan
from scaleplan.render import routing
from scaleplan.render.allocations import (
    Alloc,
    accelerator_table,
    derive_allocations,
    fixed_replicas,
    owned_at_peak,
)
from scaleplan.render.autoscaling import autoscaler_objects
from scaleplan.render.gateway import backend_services, http_route, inference_pool
from scaleplan.render.metadata import Entry, Obj
from scaleplan.render.monitoring import monitoring_objects
from scaleplan.render.nodes import CLUSTER_PLACEHOLDER, interchangeable_types, karpenter_objects
from scaleplan.render.plan_checks import plan_problems, revalidate
from scaleplan.render.workloads import deployment, pdb, service
from scaleplan.spec import PROVIDER_OF_FLAVOR


@dataclass
class Built:
    """Objects in apply order (kind, name, object) and what the renderer changed or noticed."""

    objects: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build_objects(plan: Plan, catalog: Catalog, *, source: str | None = None) -> Built:
    """Every object for ``plan`` in apply order; PlanError (exit 3) for unusable input.
    ``catalog``: the accelerator table (each GPU allocation's extended resource, node labels,
    memory) and the AWS rows a Karpenter spot pool may also use."""
    src = source or "<plan>"
    built = Built()
    w = built.warnings
    live = _admit(plan, src, w)
    admitted = [a for _, a in live]
    _one_region(plan, admitted, w)
    _fixed_cost(plan, admitted, w)
    _floor_cost(plan, admitted, w)
    allocs = derive_allocations(plan, live, accelerator_table(catalog.accelerators), w, src)
    allocs = [_row_labels(al, catalog) for al in allocs]
    k8s = plan.spec.kubernetes
    if k8s.flavor == "eks-karpenter":
        aws = [r for r in catalog.rows if r.provider == "aws"]
        allocs = [
            replace(al, types=tuple(interchangeable_types(al.a, aws)))
            if al.a.capacity_type == "spot"
            else al
            for al in allocs
        ]
        built.objects += _node_objects(plan, allocs, w)
    if k8s.autoscaler.cron and not k8s.autoscaler.type.startswith("keda-"):
        w.append("autoscaler.cron applies to KEDA autoscalers only; ignored with type "
            f"{k8s.autoscaler.type}")
    built.objects += _services(plan, allocs, w, src)
    deployments = [("Deployment", al.name, deployment(plan, al, w)) for al in allocs]
    w += shared_selectors(allocs, [d for _, _, d in deployments])
    built.objects += deployments
    built.objects += [("PodDisruptionBudget", al.name, pdb(plan, al)) for al in allocs]
    built.objects += autoscaler_objects(plan, allocs, w)
    w += _burst_room(plan, allocs)
    if k8s.routing == "gateway-api":
        built.objects.append(("HTTPRoute", plan.spec.metadata.name, http_route(plan, allocs, w, src)))
    if k8s.routing == "inference-pool":
        built.objects += inference_pool(plan)
    if k8s.service_monitor:
        built.objects += monitoring_objects(plan, built.objects, w)
    return built


def shared_selectors(allocs: Sequence[Alloc], deployments: Sequence[Obj]) -> list[str]:
    """A warning for each two allocations of different instance types whose pods select the
    same nodes (the same nodeSelector and required node affinity, e.g. an owned and a rented
    A100 type on generic): either Deployment's pods may land on the other's nodes, so the
    split the plan priced is not enforced (UX review 14, F5)."""
    keyed = []
    for al, d in zip(allocs, deployments, strict=True):
        pod = d["spec"]["template"]["spec"]
        aff = pod.get("affinity", {}).get("nodeAffinity")
        keyed.append((al, pod.get("nodeSelector", {}), aff))
    out = []
    for i, (a, sel, aff) in enumerate(keyed):
        for b, sel_b, aff_b in keyed[i + 1:]:
            if a.a.instance_type == b.a.instance_type or (sel, aff) != (sel_b, aff_b):
                continue
            shown = ", ".join(f"{k}={v}" for k, v in sorted(sel.items())) or "none"
            out.append(
                f"allocations {a.name} ({a.a.instance_type}) and {b.name} "
                f"({b.a.instance_type}) have the same node selector ({shown}): either "
                "Deployment's pods may land on the other's nodes, so the plan's split between "
                "them is not enforced; give one of the two catalog rows node_labels "
                '(docs/catalog.md, "Owned nodes")'
            )
    return out


def _row_labels(al: Alloc, catalog: Catalog) -> Alloc:
    """The allocation's accelerator with the node labels its catalog row states for itself
    (:func:`scaleplan.catalog.model.with_row_labels`), and the row's ``node_labels``."""
    a = al.a
    row = next(
        (r for r in catalog.rows
         if (r.provider, r.region, r.instance_type) == (a.provider, a.region, a.instance_type)),
        None,
    )
    if row is None:
        return al
    accel = None if al.accel is None else with_row_labels(al.accel, row)
    return replace(al, accel=accel, node_labels=tuple(sorted(row.node_labels.items())))


def _admit(plan: Plan, src: str, warnings: list[str]) -> list[tuple[int, Allocation]]:
    """The plan's allocations with replicas (index, allocation); PlanError when the plan is
    invalid, infeasible or has nothing to deploy."""
    revalidate(plan, src)
    problems = plan_problems(plan)
    if problems:
        raise PlanError(src, problems)
    if plan.status == "infeasible":
        raise PlanError(src, [Problem("status", "the plan is infeasible; there is nothing to deploy", hint="relax the spec and run scaleplan optimize again")])
    for a in plan.allocations:
        if a.replicas <= 0:
            warnings.append(f"allocation {a.name}: 0 replicas at peak; not rendered")
    live = [(i, a) for i, a in enumerate(plan.allocations) if a.replicas > 0]
    if not live:
        raise PlanError(src, [Problem("allocations", "the plan has no allocation with replicas",
            hint="run scaleplan optimize again")])
    return live


def _one_region(plan: Plan, live: Sequence[Allocation], warnings: list[str]) -> None:
    """eks, eks-karpenter, gke and aks render for one cluster, and a cluster runs in one
    region; the manifests select no region, so the replicas of a plan over several regions
    would all run in the cluster's own region, at prices the plan did not count."""
    flavor = plan.spec.kubernetes.flavor
    regions = sorted({a.region for a in live})
    if flavor not in PROVIDER_OF_FLAVOR or len(regions) < 2:
        return
    warnings.append(
        f"the plan puts replicas in {len(regions)} regions ({', '.join(regions)}), but flavor "
        f"{flavor} renders for one cluster, which runs in one region, and the manifests select "
        "no region: every replica would run in the cluster's region, at its prices, not the "
        "plan's; set placement.regions to the cluster's region (one spec per cluster) and run "
        "scaleplan optimize again"
    )


def _fixed_cost(plan: Plan, live: Sequence[Allocation], warnings: list[str]) -> None:
    """autoscaler none renders every Deployment at its peak count all day, while the plan's
    cost follows its hourly counts: say what the manifests cost when the two differ."""
    if plan.spec.kubernetes.autoscaler.type != "none":
        return
    fixed = sum(a.price_per_node_hour * a.nodes for a in live)
    planned = sum(a.cost_per_hour for a in live)
    if fixed <= planned * 1.005 + 1e-9:
        return
    warnings.append(
        f"autoscaler none: every Deployment runs its peak replica count all day, "
        f"${fixed:.4f}/h, but the plan's cost (${planned:.4f}/h) has the replicas follow the "
        "hourly demand; choose an autoscaler (hpa, keda-prometheus) to get the plan's cost, or "
        "plan for a flat traffic.peak_rps"
    )


def _floor_cost(plan: Plan, live: Sequence[Allocation], warnings: list[str]) -> None:
    """autoscaler hpa: an HPA cannot go below minReplicas 1, so an allocation the plan takes
    to 0 replicas in some hours keeps 1 replica (and its node) in those hours as rendered. Plans
    hold that floor (solve/floors.py); one written before, or one no plan within the spec's
    limits could hold it for, costs more as rendered: say which and how much."""
    names_idle = {a.name for a in plan.below_hpa_floor()}
    # an allocation priced $0/h is held at its peak, with no HPA (allocations.owned_at_peak)
    idle = [a for a in live if a.name in names_idle and not owned_at_peak(plan, a)]
    if not idle:
        return
    extra = sum(a.floor_cost(HPA_MIN_REPLICAS, plan.spec.placement.redundancy) for a in idle)
    planned = sum(a.cost_per_hour for a in live)
    names = ", ".join(a.name for a in idle)
    warnings.append(
        f"autoscaler hpa: an HPA cannot scale below minReplicas 1, but the plan takes {names} "
        f"to 0 replicas in some hours; as rendered each keeps 1 replica in every hour, "
        f"${planned + extra:.4f}/h against the plan's ${planned:.4f}/h (re-run scaleplan "
        "optimize: plans hold that floor; or use kubernetes.autoscaler.type: keda-prometheus, "
        "which scales to 0)"
    )


def _burst_room(plan: Plan, allocs: Sequence[Alloc]) -> list[str]:
    """``kubernetes.autoscaler.max_replicas_factor``: what the autoscalers may run above the
    plan's peak, and what that costs at full burst (the plan's cost leaves it out): each bound's
    nodes as the NodePool limits count them (the zone spread's included), at the allocation's
    price (a spot burst may land on the on-demand fallback pool, dearer)."""
    from scaleplan.render.room import bound_nodes

    k8s = plan.spec.kubernetes
    factor = k8s.autoscaler.max_replicas_factor
    if factor <= 1.0:
        return []
    room = [
        al for al in allocs if al.most_replicas > al.max_replicas and not fixed_replicas(plan, al)
    ]
    if not room:
        return [
            f"kubernetes.autoscaler.max_replicas_factor {factor:g}: no autoscaled allocation "
            "may scale above its peak (those priced $0/h, a burst plan's, and any the spec's "
            "caps leave no room stay there)"
        ]
    more = {al.name: bound_nodes(plan, al.a, al.most_replicas) - al.a.nodes for al in room}
    extra = sum(more[al.name] * al.a.price_per_node_hour for al in room)
    peak = sum(al.a.nodes * al.a.price_per_node_hour for al in allocs)
    names = ", ".join(f"{al.name} {al.max_replicas} -> {al.most_replicas}" for al in room)
    said = (
        f"kubernetes.autoscaler.max_replicas_factor {factor:g}: the autoscalers may run more "
        f"replicas than the plan's peak ({names}); a full burst costs up to ${extra:,.2f}/h "
        f"above the peak's ${peak:,.2f}/h, which the plan's cost leaves out"
    )
    if any(al.a.capacity_type == "spot" for al in room):
        said += " (spot priced as spot; where spot runs out the on-demand fallback costs more)"
    if k8s.flavor != "eks-karpenter":
        said += (
            f"; the cluster's node groups must allow {sum(more.values())} more nodes at full "
            "burst (render writes no node limits for this flavor)"
        )
    if k8s.routing == "gateway-api" and any(al.a.price_per_node_hour <= 0 for al in allocs):
        said += (
            "; the HTTPRoute's weights do not move, so the owned backends' share of a spike "
            "gets no room"
        )
    return [said]


def _node_objects(plan: Plan, allocs: Sequence[Alloc], warnings: list[str]) -> list[Entry]:
    """eks-karpenter: the EC2NodeClasses and NodePools, in the spec's cluster."""
    cluster = plan.spec.kubernetes.cluster_name or CLUSTER_PLACEHOLDER
    if cluster == CLUSTER_PLACEHOLDER:
        warnings.append("spec.kubernetes.cluster_name is not set; the EC2NodeClasses use the "
            f"placeholder {CLUSTER_PLACEHOLDER!r} in their node role and discovery tags")
    return karpenter_objects(plan, allocs, cluster)


def _services(plan: Plan, allocs: Sequence[Alloc], warnings: list[str], src: str) -> list[Entry]:
    """gateway-api: one Service per backend (an allocation, or the allocations of one serving
    shape); otherwise the one Service (and, with routing service, a warning when an even split
    would overload the slower replicas)."""
    k8s = plan.spec.kubernetes
    if k8s.routing == "gateway-api":
        return backend_services(plan, allocs, warnings, src)
    mix = routing.uneven_mix(plan) if k8s.routing == "service" else None
    if mix is not None:
        warnings.append(mix.message(plan))
    return [("Service", plan.spec.metadata.name, service(plan))]
