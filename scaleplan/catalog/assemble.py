"""A refreshed region's data -> catalog rows, merged into the existing catalog, written as text.

Pure. :func:`region_rows` turns one region's fetched :class:`RegionData` (instance types,
zones, on-demand and spot prices) into :class:`InstanceRow` objects; :func:`merge_rows` keeps
the current file's rows outside the refreshed regions; :func:`build_catalog_file` adds the
provenance; :func:`catalog_text` writes deterministic YAML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scaleplan.catalog.instance_types import TypeSpec
from scaleplan.catalog.model import REFRESH_BUILDER, CatalogFile, InstanceRow, Provenance
from scaleplan.catalog.prices import SpotStats

SOURCE = "aws-api"


@dataclass
class RegionData:
    region: str
    specs: dict[str, TypeSpec] = field(default_factory=dict)
    zones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ondemand: dict[str, float] = field(default_factory=dict)
    spot: dict[str, SpotStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calls: int = 0


def region_rows(data: RegionData, fetched_at: str) -> tuple[list[InstanceRow], list[str]]:
    rows: list[InstanceRow] = []
    warnings: list[str] = []
    no_price: list[str] = []
    for t in sorted(data.specs):
        s = data.specs[t]
        zones = data.zones.get(t, ())
        if not zones:
            continue  # not offered in this region
        od = data.ondemand.get(t)
        if od is None:
            no_price.append(t)
            continue
        sp = data.spot.get(t, SpotStats(None, None, ()))
        rows.append(
            InstanceRow(
                provider="aws",
                region=data.region,
                instance_type=t,
                family=s.family,
                accelerator=s.accelerator,
                accelerator_count=s.accelerator_count,
                accelerator_memory_gib=s.accelerator_memory_gib,
                vcpus=s.vcpus,
                memory_gib=s.memory_gib,
                cpu_arch=s.cpu_arch,
                price_ondemand=round(od, 6),
                price_spot=sp.minimum,
                price_spot_median=sp.median,
                zones=zones,
                source=SOURCE,
                fetched_at=fetched_at,
            )
        )
    if no_price:
        shown = ", ".join(no_price[:8]) + (f" and {len(no_price) - 8} more" if len(no_price) > 8
            else "")
        warnings.append(f"{data.region}: {len(no_price)} offered types have no On-Demand Linux "
            f"price and were left out: {shown}")
    return rows, warnings


def row_sort_key(r: InstanceRow) -> tuple[str, str, str, str, int, str]:
    return (r.provider, r.region, r.accelerator or "", r.family, r.vcpus, r.instance_type)


def merge_rows(current: CatalogFile | None, new_rows: Sequence[InstanceRow],
        regions: Sequence[str]) -> list[InstanceRow]:
    """Rows of ``current`` outside the refreshed (aws, region)s, plus ``new_rows``.

    Kept rows without ``fetched_at`` get the date of the old file's prices (its
    ``prices_as_of``, else its build date) so their age stays visible.
    """
    refreshed = set(regions)
    kept: list[InstanceRow] = []
    if current is not None:
        dated = current.provenance.prices_dated
        for r in current.instances:
            if r.provider == "aws" and r.region in refreshed:
                continue
            if r.fetched_at is None and dated:
                r = r.model_copy(update={"fetched_at": dated})
            kept.append(r)
    return sorted([*kept, *new_rows], key=row_sort_key)


def build_catalog_file(current: CatalogFile | None, rows: Sequence[InstanceRow],
        regions: Sequence[str], now: datetime, version: str) -> CatalogFile:
    regs = ", ".join(sorted(regions))
    caveats = [
        f"Rows for aws {regs} come from the AWS APIs (EC2 DescribeInstanceTypes, "
            "DescribeInstanceTypeOfferings, DescribeSpotPriceHistory; Price List GetProducts), "
            "fetched_at on each row.",
        "On-demand: Linux, Shared tenancy, no pre-installed software, USD/hour. Spot: latest "
            "Linux/UNIX price per zone; price_spot is the minimum and price_spot_median the median "
            "over zones priced below on-demand.",
        "Accelerator names are mapped with scaleplan/data/aws_fixups.yaml and the accelerator catalog; types whose accelerator has no specs are left out (see the refresh warnings).",
    ]
    commits: dict[str, str] = {}
    source = f"{SOURCE} (scaleplan catalog refresh)"
    if current is not None:
        refreshed = set(regions)
        kept_regions = sorted({f"{r.provider} {r.region}" for r in current.instances
            if not (r.provider == "aws" and r.region in refreshed)})
        if kept_regions:
            caveats.append(f"Rows for {', '.join(kept_regions)} are kept from the previous file "
                f"(source: {current.provenance.source}).")
            commits = dict(current.provenance.commits)
            caveats.extend(c for c in current.provenance.caveats if c not in caveats)
    return CatalogFile(
        provenance=Provenance(
            source=source,
            commits=commits,
            build_date=now.astimezone(UTC).strftime("%Y-%m-%d"),
            builder=f"scaleplan {version} {REFRESH_BUILDER}",
            caveats=tuple(caveats),
        ),
        price_multiplier=current.price_multiplier if current is not None else 1.0,
        accelerators=current.accelerators if current is not None else (),
        instances=tuple(rows),
    )


def _num(v: float) -> float | int:
    v = round(float(v), 6)
    return int(v) if v.is_integer() else v



def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, tuple | list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def catalog_text(cf: CatalogFile, now: datetime) -> str:
    """Deterministic YAML for a catalog file (defaults and nulls left out)."""
    from scaleplan.yamlio import dump_yaml

    data: dict[str, Any] = {"apiVersion": cf.apiVersion, "kind": cf.kind}
    data["provenance"] = _clean(cf.provenance.model_dump(exclude_none=True))
    if cf.price_multiplier != 1.0:
        data["price_multiplier"] = cf.price_multiplier
    if cf.accelerators:
        data["accelerators"] = [_clean(a.model_dump(exclude_defaults=True))
            for a in cf.accelerators]
    data["instances"] = [_instance(r) for r in cf.instances]
    header = (f"# Written by `scaleplan catalog refresh` at {utc_iso(now)}; refresh again rather "
        "than editing prices by hand.\n")
    return header + dump_yaml(data)


def _instance(r: InstanceRow) -> Any:
    """One row, nulls, empty lists and an empty ``node_labels`` left out except ``price_spot``:
    a refreshed row with no spot offer says so (``null``), since a row that leaves a field out
    keeps the value of the row it replaces (catalog.files.INHERITED: the shipped row's spot
    price would come back)."""
    kept = r.model_dump().items()
    d = {k: v for k, v in kept if (v is not None and v not in ((), {})) or k == "price_spot"}
    return _clean(d)


def utc_iso(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
