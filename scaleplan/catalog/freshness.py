"""How old a catalog's prices are (pure; the caller passes ``now``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from scaleplan.catalog.model import Catalog, InstanceRow

STALE_AFTER_DAYS = 30.0


def parse_fetched_at(value: str) -> datetime | None:
    """``2026-11-29`` or ``2026-11-29T16:49:11Z`` (any ISO-8601) -> aware UTC datetime."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def rows_age_days(rows: Iterable[InstanceRow], now: datetime) -> float | None:
    """Age in days of the oldest ``fetched_at`` among ``rows`` (None when none has one)."""
    stamps = [d for r in rows if r.fetched_at and (d := parse_fetched_at(r.fetched_at)) is not None]
    if not stamps:
        return None
    ref = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return max(0.0, (ref - min(stamps)).total_seconds() / 86400.0)


def catalog_age_days(catalog: Catalog, now: datetime, *, providers: Iterable[str] | None = None) -> float | None:
    """Age in days of the oldest row of ``catalog`` (optionally only ``providers``' rows)."""
    wanted = set(providers) if providers is not None else None
    return rows_age_days((r for r in catalog.rows if wanted is None or r.provider in wanted), now)


def stale_warning(catalog: Catalog, now: datetime, *, providers: Iterable[str] | None = None, max_days: float = STALE_AFTER_DAYS) -> str | None:
    """A warning line when the catalog's oldest prices are older than ``max_days``."""
    age = catalog_age_days(catalog, now, providers=providers)
    if age is None or age <= max_days:
        return None
    return f"catalog prices are {age:.0f} days old (older than {max_days:.0f} days); refresh with `scaleplan catalog refresh --provider aws --regions ... --out FILE` and pass --catalog FILE"
