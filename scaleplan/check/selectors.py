"""Selector and reference rules: a workload's selector against its pod template, Services that
select no pods, and HTTPRoute backendRefs to Services (or ports) that are not there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    as_list,
    as_map,
    get,
    pod_labels,
    same_namespace,
    selector_matches,
    str_map,
)

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


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
