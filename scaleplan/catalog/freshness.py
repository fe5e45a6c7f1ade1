"""How old a catalog's prices are, and spot prices a plan should not be trusted on (pure; the
caller passes ``now``).

A row's prices date from its ``fetched_at``: what ``catalog refresh`` stamps on each row, else
its file's ``provenance.prices_as_of`` (when the source observed them, where known: the shipped
Azure file), else the file's build date (:func:`scaleplan.catalog.files.merge`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from scaleplan.catalog.model import Catalog, InstanceRow

STALE_AFTER_DAYS = 30.0

# The deepest spot discount each provider documents, as a fraction of on-demand: AWS "up to
# 90%" (EC2 Spot Instances), Azure "up to 90%" (Azure Spot Virtual Machines), GCP "up to 91%"
# (Compute Engine Spot VMs). A spot price further below on-demand is a data error or a price
# that no longer holds (docs/catalog.md, "Spot prices"). Providers of the user's own have none.
SPOT_MAX_DISCOUNT = {"aws": 0.90, "azure": 0.90, "gcp": 0.91}

AWS_REFRESH = "`scaleplan catalog refresh --provider aws --regions ... --out FILE`"


def parse_fetched_at(value: str) -> datetime | None:
    """``2026-11-29`` or ``2026-11-29T16:49:11Z`` (any ISO-8601) -> aware UTC datetime."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _days_before(stamp: datetime, now: datetime) -> float:
    ref = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return max(0.0, (ref - stamp).total_seconds() / 86400.0)


def rows_age_days(rows: Iterable[InstanceRow], now: datetime) -> float | None:
    """Age in days of the oldest ``fetched_at`` among ``rows`` (None when none has one)."""
    stamps = [d for r in rows if r.fetched_at and (d := parse_fetched_at(r.fetched_at)) is not None]
    if not stamps:
        return None
    return _days_before(min(stamps), now)


def catalog_age_days(catalog: Catalog, now: datetime, *,
        providers: Iterable[str] | None = None) -> float | None:
    """Age in days of the oldest row of ``catalog`` (optionally only ``providers``' rows)."""
    wanted = set(providers) if providers is not None else None
    return rows_age_days((r for r in catalog.rows if wanted is None or r.provider in wanted), now)


def refresh_hint(providers: Iterable[str]) -> str:
    """How to get current prices for ``providers``' rows: AWS's from its APIs, the others' in a
    catalog of the user's own."""
    names = sorted(set(providers))
    others = [p for p in names if p != "aws"]
    hints = []
    if "aws" in names:
        hints.append(f"refresh AWS prices with {AWS_REFRESH} and pass --catalog FILE")
    if others:
        hints.append(
            f"give current {', '.join(others)} prices in a catalog of your own "
            "(--catalog FILE, docs/catalog.md)"
        )
    return "; or ".join(hints)


def stale_warning(
    catalog: Catalog, now: datetime, *, providers: Iterable[str] | None = None,
    regions: Iterable[str] = (), max_days: float = STALE_AFTER_DAYS,
) -> str | None:
    """A warning line when the oldest prices of the rows a plan may use (``providers``, and
    ``regions`` where given) are older than ``max_days`` (UX trial 30 F2: a spec of westeurope
    rows from a fresh catalog of its own was warned of the shipped eastus rows' age)."""
    wanted = set(providers) if providers is not None else None
    where = set(regions)
    rows = [
        r for r in catalog.rows
        if (wanted is None or r.provider in wanted) and (not where or r.region in where)
    ]
    age = rows_age_days(rows, now)
    if age is None or age <= max_days:
        return None
    old = sorted({r.provider for r in rows if (rows_age_days([r], now) or 0.0) > max_days})
    return (
        f"catalog prices for {', '.join(old)} are up to {age:.0f} days old (older than "
        f"{max_days:.0f} days); {refresh_hint(old)}"
    )


def _spot_problems(r: InstanceRow, now: datetime, max_days: float) -> list[str]:
    """Why row ``r``'s spot price may not hold: its age, a discount past the documented one."""
    off = r.spot_discount
    assert off is not None
    out = []
    stamp = parse_fetched_at(r.fetched_at) if r.fetched_at else None
    if stamp is not None and (age := _days_before(stamp, now)) > max_days:
        out.append(
            f"priced {stamp.date().isoformat()} ({age:.0f} days old, older than "
            f"{max_days:.0f} days)"
        )
    top = SPOT_MAX_DISCOUNT.get(r.provider)
    if top is not None and off > top + 1e-9:
        out.append(f"beyond the up to {top:.0%} off that {r.provider} documents for spot")
    return out


def spot_price_warnings(
    rows: Iterable[InstanceRow], now: datetime, *, max_days: float = STALE_AFTER_DAYS
) -> list[str]:
    """One warning naming the ``rows`` a plan runs on spot whose spot price may not hold: dated
    more than ``max_days`` before ``now``, or further below on-demand than the provider's
    documented deepest discount (:data:`SPOT_MAX_DISCOUNT`); [] when none is."""
    said, providers, seen = [], set(), set()
    for r in sorted(rows, key=lambda r: r.key):
        off = r.spot_discount
        if r.key in seen or off is None:
            continue
        seen.add(r.key)
        why = _spot_problems(r, now, max_days)
        if why:
            said.append(
                f"{r.provider} {r.region} {r.instance_type} at ${r.price_spot:.4f}/h, {off:.0%} "
                f"below on-demand (${r.price_ondemand:.4f}/h): {' and '.join(why)}"
            )
            providers.add(r.provider)
    if not said:
        return []
    return [
        "this plan's spot capacity rests on spot prices that may not hold: " + "; ".join(said)
        + ". Spot prices move with demand, so the plan's spot savings are uncertain: set "
        "placement.spot.allowed: false to plan on-demand only, or "
        + refresh_hint(providers)
    ]
