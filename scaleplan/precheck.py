"""Checks of a spec against the catalogs, run before solving by ``validate`` and ``optimize``.

Pure: a spec, the merged catalog and (optionally) the spec's line map in, problems out. Both
commands call :func:`placement_problems`, so a spec that ``validate`` passes is never rejected
by ``optimize`` for a name it cannot find. Every name is matched exactly (see
:mod:`scaleplan.names`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from scaleplan.catalog.files import SHIPPED
from scaleplan.catalog.model import Catalog, zone_of_region
from scaleplan.errors import Problem
from scaleplan.names import (
    INSTANCE_STYLES,
    REGION_STYLES,
    did_you_mean,
    unknown_accelerator_hint,
    unknown_hint,
)
from scaleplan.spec import PROVIDER_OF_FLAVOR, Kubernetes, Placement, Spec, providers_from_flavor
from scaleplan.wording import article, or_list
from scaleplan.yamlio import Document, LineMap, PathKey

_GLOB = "*?["


def placement_problems(spec: Spec, catalog: Catalog, lines: LineMap | None = None) -> list[Problem]:
    """Every placement name the catalogs do not know, each with its path, line and a fix."""
    at = _at(lines)
    return [
        *placement_name_problems(spec.placement, spec.kubernetes.flavor, catalog, lines),
        *_pipeline_problems(spec, catalog, at),
    ]


def placement_alone(doc: Document, problems: Sequence[Problem]) -> tuple[Placement, str] | None:
    """The placement section and the cluster's flavor of a spec that failed the schema
    (``problems``), each validated alone, as :class:`Spec` would read them (providers
    defaulted from the flavor): what :func:`placement_name_problems` needs, so that validate
    says an unknown region beside a typo elsewhere (UX trial 36). None where a problem is in
    either section or the whole document (then the names cannot be known)."""
    if any(re.split(r"[.\[]", p.where)[0] in ("", "placement", "kubernetes") for p in problems):
        return None
    data = providers_from_flavor(doc.data)
    try:
        k8s = Kubernetes.model_validate(data["kubernetes"])
        return Placement.model_validate(data.get("placement", {})), k8s.flavor
    except (ValidationError, ValueError, TypeError, KeyError):
        return None


def _at(lines: LineMap | None) -> Callable[[PathKey], int | None]:
    return lambda path: lines.line_of(path) if lines is not None else None


def placement_name_problems(
    pl: Placement, flavor: str, catalog: Catalog, lines: LineMap | None = None
) -> list[Problem]:
    """:func:`placement_problems` but the pipeline's: what the placement section and the
    cluster's flavor alone decide (validate runs it too where other sections fail the
    schema, :func:`placement_alone`)."""
    at = _at(lines)
    problems: list[Problem] = []
    by_provider: dict[str, set[str]] = {}
    for r in catalog.rows:
        by_provider.setdefault(r.provider, set()).add(r.region)
    for i, p in enumerate(pl.providers):
        if p not in by_provider:
            close = did_you_mean(p, sorted({*SHIPPED, *by_provider}))
            fix = "add a catalog with its instance types (placement.catalogs or --catalog), "
            fix += "or remove the provider"
            problems.append(Problem(f"placement.providers[{i}]",
                f"no catalog has rows for provider {p!r}",
                hint=f"{close}; else {fix}" if close else fix,
                line=at(("placement", "providers", i))))
    ours = {reg for p in pl.providers for reg in by_provider.get(p, ())}
    for i, region in enumerate(pl.regions):
        if region in ours:
            continue
        if zone_of := _zone_of(region, {p: by_provider.get(p, set()) for p in pl.providers}):
            problems.append(Problem(
                f"placement.regions[{i}]",
                f"unknown region {region!r} for providers {', '.join(pl.providers)}",
                hint=f"{region!r} is a zone of {zone_of}: placement.regions takes regions "
                f"({zone_of}); the cluster's zones go in placement.zones (with redundancy: zone)",
                line=at(("placement", "regions", i)),
            ))
            continue
        listed = sorted(p for p, regs in by_provider.items() if region in regs)
        elsewhere = listed or _region_style(region, pl.providers)
        hint = unknown_hint(region, ours, "regions", "see `scaleplan catalog list --provider " + ",".join(pl.providers) + "`")
        if elsewhere:  # the other cloud's name, and only a close name of ours (not our list)
            close = did_you_mean(region, ours)
            # a catalog lists it, or it only has that cloud's form (us-central-1 is no aws region)
            known = "it is" if listed else "it has the form of"
            ours_said = _providers_said(pl, flavor, elsewhere, lines)
            hint = f"{known} {article('/'.join(elsewhere))} region name; {ours_said}" + (f"; {close}" if close else "")
        else:
            close = did_you_mean(region, ours)
            hint += _uncovered_region(region, pl.providers, after_question=bool(close))
        problems.append(Problem(f"placement.regions[{i}]", f"unknown region {region!r} for providers {', '.join(pl.providers)}", hint=hint, line=at(("placement", "regions", i))))
    names = catalog.accelerator_names()
    for i, name in enumerate(pl.accelerators):
        if catalog.resolve(name) is None:
            problems.append(Problem(f"placement.accelerators[{i}]", f"unknown accelerator {name!r}",
                hint=unknown_accelerator_hint(name, names, ", and name that file in "
                "placement.catalogs"), line=at(("placement", "accelerators", i))))
    problems += _exclude_problems(pl, catalog, at)
    problems += _zone_problems(pl, catalog, at)
    problems += _quota_problems(pl, flavor, catalog, by_provider, at)
    return problems


def _zone_problems(
    pl: Placement, catalog: Catalog, at: Callable[[PathKey], int | None]
) -> list[Problem]:
    """A ``placement.zones`` entry that is a zone of no region the placement takes: a misspelt
    zone, or another region's, would otherwise plan a cluster without it (fewer zones, each
    loss a larger share) without a word."""
    from scaleplan.solve.placement import listed_zones

    if not pl.zones:  # every spec reaches here: no rows read without zones
        return []
    if pl.redundancy != "zone":
        return [Problem(
            "placement.zones",
            f"zones are listed but redundancy is {pl.redundancy!r}",
            hint="set redundancy: zone (the zones a zone loss is planned over), or drop zones "
            "and choose regions with placement.regions",
            line=at(("placement", "zones")),
        )]
    doubled = sorted({z for z in pl.zones if pl.zones.count(z) > 1})
    if doubled:
        return [Problem(
            "placement.zones",
            f"zone {doubled[0]!r} is listed twice",
            hint="list each zone once",
            line=at(("placement", "zones")),
        )]
    regions = sorted({
        (r.provider, r.region) for r in catalog.rows
        if r.provider in pl.providers and (not pl.regions or r.region in pl.regions)
    })
    listed = listed_zones(catalog)
    out = []
    for i, z in enumerate(pl.zones):
        if any(zone_of_region(p, reg, z, listed.get((p, reg), ())) for p, reg in regions):
            continue
        names = ", ".join(f"{p}/{reg}" for p, reg in regions[:6]) or "none"
        more = f" and {len(regions) - 6} more" if len(regions) > 6 else ""
        out.append(Problem(
            f"placement.zones[{i}]",
            f"{z!r} is a zone of none of the regions the placement takes ({names}{more})",
            hint="list zones as their nodes' topology.kubernetes.io/zone label reads (AWS "
            "us-east-1a, GCP us-central1-a, Azure eastus-1), in the regions of "
            "placement.regions; a provider of your own's zones are those its catalog rows list",
            line=at(("placement", "zones", i)),
        ))
    per_region = {
        (p, reg): [z for z in pl.zones if zone_of_region(p, reg, z, listed.get((p, reg), ()))]
        for p, reg in regions
    }
    used = {k: v for k, v in per_region.items() if v}
    if used and all(len(v) < 2 for v in used.values()):
        where = ", ".join(f"{v[0]} of {p}/{reg}" for (p, reg), v in sorted(used.items()))
        out.append(Problem(
            "placement.zones",
            f"no region has two of the zones listed ({where}): losing a region's one zone "
            "loses every node there, so no plan survives a zone loss",
            hint="list at least two zones of a region the cluster's nodes run in, or set "
            "redundancy: n+1",
            line=at(("placement", "zones")),
        ))
    return out


def _pipeline_problems(
    spec: Spec, catalog: Catalog, at: Callable[[PathKey], int | None]
) -> list[Problem]:
    """``model.engine_config.pipeline_parallel`` must divide the GPUs of some replica the
    allowed nodes offer (a replica takes a divisor of its node's GPUs, at most
    ``max_gpus_per_replica``): else every shape is refused and optimize said "infeasible,
    memory" with a hint about memory (UX review 20 F7)."""
    from scaleplan.solve.placement import placement_rows
    from scaleplan.solve.shapes import gpu_counts

    ec = spec.model.engine_config
    pp = ec.pipeline_parallel if ec is not None else None
    if pp is None or pp == 1:
        return []
    maxg = spec.placement.max_gpus_per_replica
    rows = [r for r in placement_rows(spec, catalog) if r.accelerator and r.accelerator_count > 0]
    offered = sorted({g for r in rows for g in gpu_counts(r, min(r.accelerator_count, maxg))})
    if not offered or any(g % pp == 0 for g in offered):
        return []
    fits = sorted({d for g in offered for d in range(1, g + 1) if g % d == 0 and d > 1})
    nodes = sorted({r.accelerator_count for r in rows})
    path = ("model", "engine_config", "pipeline_parallel")
    return [Problem(
        "model.engine_config.pipeline_parallel",
        f"pipeline_parallel {pp} needs a replica of a multiple of {pp} GPUs, and the allowed "
        f"nodes (of {_gpus(nodes)}, placement.max_gpus_per_replica {maxg}) offer replicas "
        f"of {_gpus(offered)}",
        hint=_pipeline_fix(pp, fits, nodes, maxg),
        line=at(path),
    )]


def _gpus(counts: list[int]) -> str:
    """'1 GPU', '1, 2 or 4 GPUs'."""
    return f"{or_list(counts)} GPU{'' if counts == [1] else 's'}"


def _pipeline_fix(pp: int, fits: list[int], nodes: list[int], maxg: int) -> str:
    """The fix of a pipeline_parallel no replica divides: a degree one does (``fits``), or, when
    every replica is one GPU, nodes and max_gpus_per_replica that make a replica of ``pp``."""
    allow = f"allow nodes whose GPU count is a multiple of {pp} in placement.accelerators"
    if fits:
        return (
            f"set it to {or_list(fits)} (a divisor of one of them) or leave it out (tensor "
            f"parallelism alone), or {allow}"
        )
    steps = [] if any(n % pp == 0 for n in nodes) else [allow]
    if maxg < pp:
        steps.append(f"set placement.max_gpus_per_replica to at least {pp}")
    return f"leave it out (a replica of one GPU has no stages to split), or {' and '.join(steps)}"


def _quota_problems(pl: Placement, flavor: str, catalog: Catalog, by_provider: dict[str, set[str]],
        at: Callable[[PathKey], int | None]) -> list[Problem]:
    """A quota's provider, region and family, matched like the other names: a quota that names
    nothing in the plan's catalogs would limit nothing, silently."""
    out: list[Problem] = []
    for i, q in enumerate(pl.quotas):
        where = f"placement.quotas[{i}]"
        if q.max_gpus is None and q.max_nodes is None:
            hint = "give max_gpus (GPUs), max_nodes (nodes, e.g. those you own of a type) or both"
            line = at(("placement", "quotas", i))
            out.append(Problem(where, "a quota with no limit limits nothing", hint=hint, line=line))
        if q.provider not in pl.providers:
            used = ", ".join(pl.providers)
            msg = (
                f"quota for provider {q.provider!r}, which the plan does not use "
                f"(placement.providers is [{used}]), so it would limit nothing"
            )
            fix = _quota_provider_fix(flavor, q.provider, by_provider)
            line = at(("placement", "quotas", i, "provider"))
            out.append(Problem(f"{where}.provider", msg, hint=fix, line=line))
            continue
        regions = by_provider.get(q.provider)
        if not regions:
            continue  # placement.providers[...] already says no catalog has rows for it
        if q.region is not None and q.region not in regions:
            out.append(Problem(f"{where}.region", f"unknown region {q.region!r} for provider "
                f"{q.provider}", hint=unknown_hint(q.region, regions, "regions",
                f"see `scaleplan catalog list --provider {q.provider}`"),
                line=at(("placement", "quotas", i, "region"))))
            continue
        if q.region is not None and pl.regions and q.region not in pl.regions:
            used = ", ".join(pl.regions)
            out.append(_inert(
                f"{where}.region", f"region {q.region!r}, which the plan does not use "
                f"(placement.regions is [{used}])",
                f"remove the quota, or add {q.region!r} to placement.regions",
                at(("placement", "quotas", i, "region")),
            ))
            continue
        if q.family is None or any(ch in q.family for ch in _GLOB):
            continue  # a pattern, as in exclude, may match nothing in today's catalogs
        fam = q.family.lower()
        rows = [r for r in catalog.rows if r.provider == q.provider and r.family.lower() == fam]
        if not rows:
            families = {r.family for r in catalog.rows if r.provider == q.provider}
            out.append(Problem(f"{where}.family", f"unknown instance family {q.family!r} for "
                f"provider {q.provider}", hint=unknown_hint(q.family, families, "families",
                f"see `scaleplan catalog list --provider {q.provider}`"),
                line=at(("placement", "quotas", i, "family"))))
        elif q.region is not None and all(r.region != q.region for r in rows):
            has = ", ".join(sorted({r.region for r in rows}))
            out.append(_inert(
                f"{where}.family", f"family {q.family!r} in region {q.region}, where the "
                "catalogs have no instance type of it",
                f"the family's regions: {has}; see `scaleplan catalog list --provider "
                f"{q.provider}`",
                at(("placement", "quotas", i, "family")),
            ))
    return out


def _quota_provider_fix(flavor: str, provider: str, by_provider: dict[str, set[str]]) -> str:
    """How to fix a quota of a provider the plan does not use. Adding it to
    placement.providers is a fix only where the flavor can run its nodes (generic) and a
    catalog has it: on gke ``provider: google`` was told to add 'google' to the providers,
    which is refused (UX review 19)."""
    cloud = PROVIDER_OF_FLAVOR.get(flavor)
    if cloud is not None:
        return (
            f"a {flavor} cluster runs {cloud} nodes only: write provider: {cloud}, "
            "or remove the quota"
        )
    known = sorted({*SHIPPED, *by_provider})
    if provider not in known:
        return unknown_hint(provider, known, "providers") + "; or remove the quota"
    return f"remove the quota, or add {provider!r} to placement.providers"


def _inert(where: str, scope: str, hint: str, line: int | None) -> Problem:
    """A quota that names known things but would limit nothing, as one of a provider the plan
    does not use (UX review 18 F4: a reserved pool's quota in a region placement.regions
    leaves out was silently inert)."""
    return Problem(where, f"quota for {scope}, so it would limit nothing", hint=hint, line=line)


def _uncovered_region(region: str, providers: tuple[str, ...], *, after_question: bool) -> str:
    """The fix for a region named like one of ``providers``' own that no catalog row has: the
    shipped gcp and azure catalogs cover two regions each (UX review 10: "did you mean
    'europe-west4'?" alone read as a typo to a GKE user in europe-west1). A sentence after the
    close names' question, else a clause after the known names."""
    own = [p for p, rx in REGION_STYLES if p in providers and rx.fullmatch(region)]
    if not own:
        return ""
    said = (
        f"f {region} is {article(own[0])} region the catalogs do not cover, add its "
        "instance types and prices in a catalog of yours (placement.catalogs or --catalog; "
        "docs/catalog.md)"
    )
    return f" I{said}" if after_question else f"; i{said}"


def _providers_said(
    pl: Placement, flavor: str, elsewhere: list[str], lines: LineMap | None
) -> str:
    """How the hint names the spec's providers beside another cloud's region: as written, or,
    where the spec gives none, as defaulted from the flavor, with the flavor of that cloud (UX
    trial 28: 'placement.providers is [gcp]' of a gke spec that names no providers and a
    westus2 meant for aks)."""
    ours = f"[{', '.join(pl.providers)}]"
    written = lines is None or ("placement", "providers") in lines.lines
    if written or flavor not in PROVIDER_OF_FLAVOR or len(elsewhere) != 1:
        return f"placement.providers is {ours}"
    theirs = [f for f, cloud in PROVIDER_OF_FLAVOR.items() if cloud == elsewhere[0]]
    return (
        f"placement.providers defaults to {ours} from kubernetes.flavor: {flavor} (give "
        f"{article(pl.providers[0])} region, or set kubernetes.flavor to {or_list(theirs)} for "
        f"a cluster on {elsewhere[0]})"
    )


def _region_style(region: str, providers: tuple[str, ...]) -> list[str]:
    """The one other cloud whose region names look like ``region`` (as a list; else empty):
    only the spec's providers' catalogs are read, so another cloud's region is recognised by
    its format (:data:`scaleplan.names.REGION_STYLES`)."""
    hits = [p for p, rx in REGION_STYLES if rx.fullmatch(region)]
    return hits if len(hits) == 1 and hits[0] not in providers else []


def _exclude_problems(pl: Placement, catalog: Catalog,
        at: Callable[[PathKey], int | None]) -> list[Problem]:
    known = {r.instance_type for r in catalog.rows} | {r.family for r in catalog.rows} | set(catalog.accelerator_names())
    lower = {k.lower() for k in known}
    out = []
    for i, pattern in enumerate(pl.exclude):
        if any(ch in pattern for ch in _GLOB):
            continue  # a pattern may well match nothing in today's catalogs (a family to keep out)
        if pattern.lower() in lower or catalog.resolve(pattern) is not None:
            continue
        hint = unknown_hint(pattern, known, "names", "see `scaleplan catalog list`")
        other = [p for p, rx in INSTANCE_STYLES if rx.fullmatch(pattern)]
        if len(other) == 1 and other[0] not in pl.providers:  # as for regions
            ours = ", ".join(pl.providers)
            hint = f"it is {article(other[0])} instance type name; placement.providers is [{ours}]"
        out.append(Problem(f"placement.exclude[{i}]", "unknown instance type, family or "
            f"accelerator {pattern!r}", hint=hint, line=at(("placement", "exclude", i))))
    return out


def _zone_of(name: str, regions: dict[str, set[str]]) -> str | None:
    """The region of ours that ``name`` is a zone of (``us-central1-a``: us-central1;
    ``us-east-1a``: us-east-1), by the cloud's zone form (catalog.model.ZONE_SEPARATOR), else
    None (UX trial 27: a GKE user listed the cluster's two zones as regions and was asked only
    "did you mean 'us-central1'?")."""
    for provider, known in regions.items():
        for region in known:
            if zone_of_region(provider, region, name):
                return region
    return None
