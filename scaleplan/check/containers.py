"""Per-container rules: resource requests and limits, image tags, and probes (present, and
pointing at a declared port).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, app_containers, registrar
from scaleplan.check.model import Finding, Rule
from scaleplan.check.workloads import as_list, as_map, containers, quantity_int

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# --- resources ---------------------------------------------------------------------------


def _resource_rule(section: str, resource: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w, c in app_containers(ctx):
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
                    f"{c.label()} has no {resource} "
                        f"{'request' if section == 'requests' else 'limit'}",
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
        for w, c in app_containers(ctx, skip_batch=True):
            if not isinstance(c.data.get(probe), Mapping):
                yield w.finding(rule, f"{c.label()} has no {probe}", c.path)

    return fn


IMPLS["readiness-probe-missing"] = _probe_rule("readinessProbe")
IMPLS["liveness-probe-missing"] = _probe_rule("livenessProbe")


@impl("probe-port")
def _probe_port(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, c in app_containers(ctx):
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
