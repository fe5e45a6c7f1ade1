"""Which catalog rows a spec's placement allows (providers, regions, accelerators, exclusions,
flagged rows), and the zones a row is assumed to span when its catalog row lists none."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from scaleplan.catalog.model import Catalog, InstanceRow
from scaleplan.errors import Problem, SpecError
from scaleplan.spec import Spec

DEFAULT_ZONES = 3
CPU = "CPU"


def assumed_zones(provider: str, region: str, count: int = DEFAULT_ZONES) -> tuple[str, ...]:
    """Zone names for a region whose catalog row lists none, in the provider's label format.

    The model assumes ``count`` (3) zones per region; the names follow each provider's
    ``topology.kubernetes.io/zone`` values: AWS ``us-east-1a``, GCP ``us-central1-a``, Azure
    ``eastus-1``; other providers ``<region>-zone-a``. They are real zones for the shipped
    catalogs' regions, but an instance type need not be offered in every zone: check before
    relying on them, or list the zones in the catalog row.
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


def placement_rows(spec: Spec, catalog: Catalog) -> list[InstanceRow]:
    allowed, excluded = resolve_allow(spec, catalog)
    pl = spec.placement
    out = []
    for r in catalog.rows:
        if r.provider not in pl.providers:
            continue
        if pl.regions and r.region not in pl.regions:
            continue
        if r.flags and not pl.include_flagged:
            continue
        acc = r.accelerator or CPU
        if allowed is not None and acc not in allowed:
            continue
        if _excluded(r, pl.exclude, excluded):
            continue
        out.append(r)
    return out
