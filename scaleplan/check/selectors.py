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
                f"spec.selector {dict(str_map(sel.get('matchLabels')))} does not match the pod "
                    f"template labels {pod_labels(w)}",
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


# --- routes that tie at one Gateway -----------------------------------------------------


def _parents(route: K8sObject) -> list[tuple[str, str, str | None]]:
    """Each Gateway the route attaches to: (namespace, name, sectionName or None for every
    listener); the namespace defaults to the route's ('' when the route names none)."""
    out = []
    for ref in as_list(get(route.data, ("spec", "parentRefs"))):
        p = as_map(ref)
        if p.get("group", "gateway.networking.k8s.io") != "gateway.networking.k8s.io":
            continue
        if p.get("kind", "Gateway") != "Gateway" or not p.get("name"):
            continue
        section = p.get("sectionName")
        ns = str(p.get("namespace") or route.namespace)
        out.append((ns, str(p["name"]), None if section is None else str(section)))
    return out


def _shared_parent(a: K8sObject, b: K8sObject) -> tuple[str, str] | None:
    """The first Gateway (namespace, name) both routes attach to on a common listener."""
    for ns_a, name_a, sec_a in _parents(a):
        for ns_b, name_b, sec_b in _parents(b):
            same_ns = ns_a == ns_b or not ns_a or not ns_b
            if name_a == name_b and same_ns and (sec_a is None or sec_b is None or sec_a == sec_b):
                return ns_a or ns_b, name_a
    return None


def _hostnames(route: K8sObject) -> frozenset[str]:
    return frozenset(str(h).lower() for h in as_list(get(route.data, ("spec", "hostnames"))))


def _pair_key(entry: object, *, fold: bool) -> tuple[str, str, str]:
    """A header or query-parameter match as (type, name, value); header names fold case."""
    e = as_map(entry)
    name = str(e.get("name", ""))
    return (str(e.get("type", "Exact")), name.lower() if fold else name, str(e.get("value", "")))


def _match_key(m: Mapping[str, object]) -> tuple[object, ...]:
    """A match in the form two equal matches share (Gateway API defaults filled in)."""
    path = as_map(m.get("path"))
    headers = sorted(_pair_key(h, fold=True) for h in as_list(m.get("headers")))
    query = sorted(_pair_key(q, fold=False) for q in as_list(m.get("queryParams")))
    return (
        str(path.get("type", "PathPrefix")),
        str(path.get("value", "/")),
        str(m.get("method", "")),
        tuple(headers),
        tuple(query),
    )


def _matches(route: K8sObject) -> dict[tuple[object, ...], int]:
    """Every match of the route's rules (a rule without matches: PathPrefix /), to its rule."""
    out: dict[tuple[object, ...], int] = {}
    for i, r in enumerate(as_list(get(route.data, ("spec", "rules")))):
        ms = as_list(as_map(r).get("matches")) or [{}]
        for m in ms:
            out.setdefault(_match_key(as_map(m)), i)
    return out


def _describe(key: tuple[object, ...]) -> str:
    kind, value, method, headers, query = key
    out = f"{kind} {value}"
    if method:
        out += f", method {method}"
    for what, pairs in (("headers", headers), ("query", query)):
        if isinstance(pairs, tuple) and pairs:
            out += f", {what} " + ", ".join(f"{p[1]}={p[2]}" for p in pairs)
    return out


@impl("route-conflict")
def _route_conflict(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """Two HTTPRoutes on one Gateway listener with the same hostnames and an identical match
    tie on every precedence rule of the Gateway API: the Gateway sends all the requests they
    both match to one of them (the older; then the first by namespace/name), so the other's
    backends get none (UX review 19: three services rendered for one Gateway, none with
    hostnames, each a `PathPrefix /` route)."""
    routes = sorted(
        (r for r in ctx.of_kind("HTTPRoute") if r.group == "gateway.networking.k8s.io"),
        key=lambda r: (r.namespace, r.name, r.file),
    )
    for j, later in enumerate(routes):
        for earlier in routes[:j]:
            gateway = _shared_parent(earlier, later)
            if gateway is None or _hostnames(earlier) != _hostnames(later):
                continue
            theirs = _matches(earlier)
            tied = [(k, i) for k, i in _matches(later).items() if k in theirs]
            if not tied:
                continue
            key, i = tied[0]
            hosts = ", ".join(sorted(_hostnames(later))) or "no hostnames: every host"
            gw = f"{gateway[0]}/{gateway[1]}" if gateway[0] else gateway[1]
            yield later.finding(
                rule,
                f"HTTPRoute {later.name!r} and HTTPRoute {earlier.name!r} ({earlier.file}) attach "
                f"to Gateway {gw} with the same hostnames ({hosts}) and the same match "
                f"({_describe(key)}): the Gateway sends every request both match to one of "
                "them (the older route), and the other's backends get none of them",
                ("spec", "rules", i),
            )
            break
