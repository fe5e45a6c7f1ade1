"""Which catalog rows a spec's placement allows (providers, regions, accelerators, exclusions,
flagged rows), and the zones a row is assumed to span when its catalog row lists none."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from scaleplan.catalog.model import Catalog, InstanceRow, zone_of_region
from scaleplan.errors import InfeasibleReason, Problem, SpecError
from scaleplan.kube.zones import DEFAULT_ZONES
from scaleplan.spec import Spec

CPU = "CPU"


def assumed_zones(provider: str, region: str, count: int = DEFAULT_ZONES) -> tuple[str, ...]:
    """Zone names for a region whose catalog row lists none, in the provider's label format.

    The model assumes ``count`` (3) zones per region; the names follow each provider's
    ``topology.kubernetes.io/zone`` values: AWS ``us-east-1a``, GCP ``us-central1-a``, Azure
    ``eastus-1``; other providers ``<region>-zone-a``. They are real zones for the shipped
    catalogs' regions, but an instance type need not be offered in every zone: check before
    relying on them, or list the zones in the catalog row or the cluster's in placement.zones.
    """
    letters = "abcdefghij"[:count]
    if provider == "aws":
        return tuple(f"{region}{z}" for z in letters)
    if provider == "gcp":
        return tuple(f"{region}-{z}" for z in letters)
    if provider == "azure":
        return tuple(f"{region}-{i}" for i in range(1, count + 1))
    return tuple(f"{region}-zone-{z}" for z in letters)


def resolve_allow(spec: Spec, catalog: Catalog) -> tuple[set[str] | None, set[str]]:
    """Allowed accelerators (None = all) and excluded accelerator names (canonical)."""
    problems: list[Problem] = []
    allowed: set[str] | None = None
    if spec.placement.accelerators:
        allowed = set()
        for i, name in enumerate(spec.placement.accelerators):
            canonical = catalog.resolve(name)
            if canonical is None:
                known = ", ".join(a.name for a in catalog.accelerators)
                where = f"placement.accelerators[{i}]"
                hint = f"use 'cpu' or one of: {known}"
                problems.append(Problem(where, f"unknown accelerator {name!r}", hint=hint))
            else:
                allowed.add(canonical)
    if problems:
        raise SpecError(None, problems)
    exact = [e for e in spec.placement.exclude if not any(ch in e for ch in "*?[")]
    excluded = {c for c in (catalog.resolve(e) for e in exact) if c}
    return allowed, excluded


def _excluded(row: InstanceRow, patterns: Sequence[str], excluded_acc: set[str]) -> bool:
    acc = row.accelerator or CPU
    if acc in excluded_acc:
        return True
    for p in patterns:
        for v in (row.instance_type, row.family):
            if fnmatch.fnmatchcase(v.lower(), p.lower()):
                return True
    return False


def _placed(spec: Spec, r: InstanceRow, allowed: set[str] | None, excluded: set[str]) -> bool:
    """Whether the placement takes the row, its flags aside."""
    pl = spec.placement
    if r.provider not in pl.providers or (pl.regions and r.region not in pl.regions):
        return False
    if allowed is not None and (r.accelerator or CPU) not in allowed:
        return False
    return not _excluded(r, pl.exclude, excluded)


def listed_zones(catalog: Catalog) -> dict[tuple[str, str], frozenset[str]]:
    """The zones the catalog's rows list, by (provider, region): a provider of your own's
    zones are its rows' (:func:`scaleplan.catalog.model.zone_of_region`)."""
    out: dict[tuple[str, str], set[str]] = {}
    for r in catalog.rows:
        out.setdefault((r.provider, r.region), set()).update(r.zones)
    return {k: frozenset(v) for k, v in out.items()}


def _zoned(
    spec: Spec, r: InstanceRow, listed: dict[tuple[str, str], frozenset[str]]
) -> InstanceRow | None:
    """``r`` with the zones ``placement.zones`` lists in its region (and in the row's own list,
    where it has one); None when that leaves none (the cluster has no nodes there)."""
    zones = spec.placement.zones
    if not zones:
        return r
    here = listed.get((r.provider, r.region), frozenset())
    mine = [z for z in zones if zone_of_region(r.provider, r.region, z, here)]
    if r.zones:
        mine = [z for z in mine if z in r.zones]
    return r.model_copy(update={"zones": tuple(mine)}) if mine else None


def placement_rows(spec: Spec, catalog: Catalog) -> list[InstanceRow]:
    """The catalog rows the placement takes, each with the zones ``placement.zones`` gives it
    (rows in regions without any of those zones are left out)."""
    allowed, excluded = resolve_allow(spec, catalog)
    flagged_ok = spec.placement.include_flagged
    placed = [
        r for r in catalog.rows
        if (flagged_ok or not r.flags) and _placed(spec, r, allowed, excluded)
    ]
    listed = listed_zones(catalog) if spec.placement.zones else {}
    return [z for z in (_zoned(spec, r, listed) for r in placed) if z is not None]


def flagged_rows(spec: Spec, catalog: Catalog) -> list[InstanceRow]:
    """The rows the placement takes but for their flags (none with ``include_flagged``)."""
    if spec.placement.include_flagged:
        return []
    allowed, excluded = resolve_allow(spec, catalog)
    listed = listed_zones(catalog) if spec.placement.zones else {}
    flagged = [r for r in catalog.rows if r.flags and _placed(spec, r, allowed, excluded)]
    return [z for z in (_zoned(spec, r, listed) for r in flagged) if z is not None]


def flagged_only(spec: Spec, catalog: Catalog) -> list[str]:
    """The accelerators the placement takes but for their flags: every row of theirs it takes
    is flagged, so no candidate has them (the fastest-accelerator baseline says so)."""
    kept = {r.accelerator or CPU for r in placement_rows(spec, catalog)}
    return sorted({r.accelerator or CPU for r in flagged_rows(spec, catalog)} - kept)


def flagged_out(spec: Spec, catalog: Catalog) -> list[str]:
    """A warning per accelerator named in ``placement.accelerators`` whose rows are left out
    for their flags (docs/catalog.md: flagged, not silently used). Before (UX review 5) a GKE
    spec allowing H100 was planned on A100s at 4x the cost without a word."""
    named = set(resolve_allow(spec, catalog)[0] or ())
    by_acc: dict[str, list[InstanceRow]] = {}
    for r in flagged_rows(spec, catalog):
        if (r.accelerator or CPU) in named:
            by_acc.setdefault(r.accelerator or CPU, []).append(r)
    kept: dict[str, dict[str, set[str]]] = {}  # accelerator -> "provider region" -> types
    for r in placement_rows(spec, catalog):
        at = kept.setdefault(r.accelerator or CPU, {})
        at.setdefault(f"{r.provider} {r.region}", set()).add(r.instance_type)
    out = []
    for acc in sorted(by_acc):
        rows = by_acc[acc]
        where = ", ".join(sorted({f"{r.provider} {r.region}" for r in rows}))
        types = ", ".join(sorted({r.instance_type for r in rows}))
        flags = ", ".join(sorted({f for r in rows for f in r.flags}))
        if acc in kept:  # only some of its rows: the accelerator itself is planned (UX trial 23)
            # each with its region: the same types in another region read as the rows left out
            # (UX trial 35: "left out in gcp us-central1: a2-ultragpu-1g ...; the plan may use
            # its other rows (a2-ultragpu-1g ...)", which were europe-west4's)
            others = "; ".join(
                f"{', '.join(sorted(t))} in {w}" for w, t in sorted(kept[acc].items())
            )
            out.append(
                f"{acc} catalog rows left out in {where}: {types} are flagged {flags} "
                f"(docs/catalog.md); the plan may use its other rows ({others}); set "
                "placement.include_flagged: true to plan with them too"
            )
            continue
        out.append(
            f"{acc} is left out in {where}: its catalog rows ({types}) are flagged {flags} "
            "(docs/catalog.md); set placement.include_flagged: true to plan with them"
        )
    return out


def flagged_in_use(rows: Sequence[InstanceRow]) -> str | None:
    """A warning naming the flagged rows a plan runs on (``placement.include_flagged: true``),
    None without any: the flag says their price is doubtful, so the plan's cost and choice
    are too (UX trial 23: a GKE H100 plan on the suspect us-central1 A3 prices, $71.78/h
    against $149.62/h at the user's billing prices, said nothing)."""
    flagged = sorted({(r.provider, r.region, r.instance_type, f) for r in rows for f in r.flags})
    if not flagged:
        return None
    where = sorted({(p, reg) for p, reg, _, _ in flagged})
    names = "; ".join(
        f"{p} {reg} {', '.join(sorted({t for pp, rr, t, _ in flagged if (pp, rr) == (p, reg)}))}"
        for p, reg in where
    )
    flags = ", ".join(sorted({f for *_, f in flagged}))
    return (
        f"the plan runs on catalog rows flagged {flags} (placement.include_flagged: true): "
        f"{names}; their prices are doubtful, and so are the plan's cost and choice "
        "(docs/catalog.md, \"Flagged rows\"): give the prices you pay for them in a catalog "
        "of your own (--catalog or placement.catalogs; its rows carry no flag) and plan again"
    )


def placement_where(spec: Spec) -> str:
    """The providers and regions a placement takes, as the warnings name them ("aws eu-west-1")."""
    pl = spec.placement
    return " ".join([", ".join(pl.providers), *([", ".join(pl.regions)] if pl.regions else [])])


def unoffered_accelerators(spec: Spec, catalog: Catalog) -> list[tuple[int, str]]:
    """(index in ``placement.accelerators``, accelerator) of each one named there that no
    catalog row of the spec's providers and regions has, flagged rows included."""
    pl = spec.placement
    offered = {
        r.accelerator or CPU for r in catalog.rows
        if r.provider in pl.providers and (not pl.regions or r.region in pl.regions)
    }
    out = []
    for i, name in enumerate(pl.accelerators):
        acc = catalog.resolve(name)
        if acc is not None and acc not in offered:
            out.append((i, "cpu" if acc == CPU else acc))
    return out


def unoffered(spec: Spec, catalog: Catalog) -> list[str]:
    """A warning per accelerator named in ``placement.accelerators`` that no catalog row of the
    spec's providers and regions has, flagged rows included (UX review 10: L4 allowed on azure,
    which has none, was left out without a word; an empty placement is an error already)."""
    where = placement_where(spec)
    out = []
    for i, shown in unoffered_accelerators(spec, catalog):
        out.append(
            f"placement.accelerators[{i}]: {shown} has no catalog row in {where}, so the plan "
            f"leaves it out (`scaleplan catalog list --accelerator {shown}` shows where it is "
            "offered)"
        )
    return out


def zones_left_reason(
    spec: Spec, zone_lists: Sequence[tuple[str, ...]]
) -> InfeasibleReason | None:
    """Why no plan survives a zone loss where placement.zones leaves every row (``zone_lists``:
    each placed row's zones) one zone: its catalog row lists its own zones, and placement.zones
    names one of them; with the listed zones no such row has (UX trial 39: a3 rows listing
    us-central1-a/b/c and `zones: [us-central1-a, us-central1-d]` were told to allow types in
    regions with several zones, though us-central1 has them). None where it does not apply."""
    pl = spec.placement
    if pl.redundancy != "zone" or not pl.zones or not zone_lists:
        return None
    if any(len(z) > 1 for z in zone_lists):
        return None
    kept = sorted({z for zs in zone_lists for z in zs})
    missing = [z for z in pl.zones if z not in kept]
    none = f"; {', '.join(missing)} is on none of their rows' zone lists" if missing else ""
    return InfeasibleReason(
        "redundancy",
        "no plan survives losing a zone: every allowed instance type's catalog rows list "
        "their own zones, of which placement.zones names only one per region "
        f"({', '.join(kept)}){none}",
        "list in placement.zones two or more of the zones those rows give (their `zones:`), "
        "add the cluster's zones to those rows in your catalog, or set placement.redundancy "
        "to n+1",
        {"zones": kept, "unlisted": missing},
        where="placement.zones",
    )
