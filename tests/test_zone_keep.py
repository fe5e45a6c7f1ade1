"""The replicas (or nodes) that keep m after a zone loss are the inverse of kube.zones'
one count of a zone loss (spread_loss), not a second formula: render/spare.py wrote
m + ceil(m / (Z - 1)) itself until 2026-12-07 (r2 review 10)."""

from __future__ import annotations

import pytest

from scaleplan.kube.zones import spread_keep, spread_loss
from scaleplan.render.spare import spare_nodes


@pytest.mark.parametrize("zones", [2, 3, 4, 5, 6])
def test_spread_keep_is_the_least_count_whose_zone_loss_leaves_m(zones: int) -> None:
    for m in range(0, 301):
        least = next(r for r in range(m, 3 * m + 2) if r - spread_loss(r, zones) >= m)
        assert spread_keep(m, zones) == least, (m, zones)


def test_renders_spare_is_that_inverse() -> None:
    for zones in (2, 3, 4):
        for m in range(0, 50):
            assert spare_nodes("zone", m, zones) == spread_keep(m, zones) - m
    assert spare_nodes("zone", 5, 1) == 1  # one zone: a node's loss, n+1
    assert spare_nodes("n+1", 7, 3) == 1 and spare_nodes("none", 7, 3) == 0


@pytest.mark.parametrize("zones", [1, 0])
def test_spread_keep_under_two_zones_has_no_count(zones: int) -> None:
    """One zone (or none): its loss takes every replica, so no count keeps any; it divided by
    zero at one zone and answered 0 at none (r2 review)."""
    assert spread_keep(0, zones) == 0  # nothing to keep
    for m in (1, 5):
        assert all(r - spread_loss(r, zones) < m for r in range(0, 100))  # none keeps m
        with pytest.raises(ValueError, match="keeps no replica"):
            spread_keep(m, zones)
