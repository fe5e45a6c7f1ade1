"""Which rows the stale-price warning counts (scaleplan.catalog.freshness)."""

from __future__ import annotations


def test_stale_prices_count_only_the_regions_the_spec_allows() -> None:
    """UX trial 30 F2: a spec of westeurope rows from a fresh catalog of its own was warned that
    azure prices are 800+ days old, of shipped rows in regions it cannot use."""
    from datetime import UTC, datetime

    from scaleplan.catalog.files import load_catalog
    from scaleplan.catalog.freshness import stale_warning

    cat = load_catalog(providers=["azure"])
    now = datetime(2026, 12, 7, tzinfo=UTC)
    regions = sorted({r.region for r in cat.rows})
    assert stale_warning(cat, now, providers=["azure"]) is not None
    assert stale_warning(cat, now, providers=["azure"], regions=regions[:1]) is not None
    assert stale_warning(cat, now, providers=["azure"], regions=["westeurope"]) is None
