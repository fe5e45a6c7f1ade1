"""Compare two sets of catalog rows: new types, removed types, price changes (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scaleplan.catalog.model import InstanceRow

PRICE_FIELDS = ("price_ondemand", "price_spot", "price_spot_median")
Key = tuple[str, str, str]


@dataclass(frozen=True)
class PriceChange:
    key: Key
    field: str
    old: float | None
    new: float | None

    @property
    def pct(self) -> float | None:
        """Relative change in percent; None when a side is missing or the old price is 0."""
        if self.old is None or self.new is None or self.old == 0:
            return None
        return round((self.new - self.old) / self.old * 100.0, 2)

    def to_dict(self) -> dict[str, Any]:
        provider, region, itype = self.key
        return {"provider": provider, "region": region, "instance_type": itype, "field": self.field,
            "old": self.old, "new": self.new, "pct": self.pct}


@dataclass(frozen=True)
class CatalogDiff:
    added: tuple[InstanceRow, ...]
    removed: tuple[InstanceRow, ...]
    price_changes: tuple[PriceChange, ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.price_changes)

    def to_dict(self) -> dict[str, Any]:
        def row(r: InstanceRow) -> dict[str, Any]:
            return {"provider": r.provider, "region": r.region, "instance_type": r.instance_type,
                "accelerator": r.accelerator, "accelerator_count": r.accelerator_count,
                "price_ondemand": r.price_ondemand, "price_spot": r.price_spot}

        return {
            "added": [row(r) for r in self.added],
            "removed": [row(r) for r in self.removed],
            "price_changes": [c.to_dict() for c in self.price_changes],
            "counts": {"added": len(self.added), "removed": len(self.removed),
                "price_changes": len(self.price_changes), "unchanged": self.unchanged},
        }


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def diff_rows(old: Iterable[InstanceRow], new: Iterable[InstanceRow], *,
        scope: set[tuple[str, str]] | None = None) -> CatalogDiff:
    """Difference from ``old`` to ``new``; ``scope`` limits it to (provider, region) pairs."""

    def keep(r: InstanceRow) -> bool:
        return scope is None or (r.provider, r.region) in scope

    o = {r.key: r for r in old if keep(r)}
    n = {r.key: r for r in new if keep(r)}
    added = tuple(n[k] for k in sorted(n.keys() - o.keys()))
    removed = tuple(o[k] for k in sorted(o.keys() - n.keys()))
    changes: list[PriceChange] = []
    unchanged = 0
    for k in sorted(n.keys() & o.keys()):
        row_changes = [PriceChange(k, f, getattr(o[k], f), getattr(n[k], f)) for f in PRICE_FIELDS
            if not _same(getattr(o[k], f), getattr(n[k], f))]
        changes.extend(row_changes)
        unchanged += not row_changes
    return CatalogDiff(added=added, removed=removed, price_changes=tuple(changes),
        unchanged=unchanged)
