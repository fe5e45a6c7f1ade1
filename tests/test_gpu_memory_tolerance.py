"""One figure decides whether a GPU memory is its accelerator's: the catalog loader (a row's
accelerator_memory_gib) and `catalog refresh` (the memory AWS reports per device). Until
2026-12-07 refresh accepted 30 % either way (aws_fixups memory_tolerance 1.3) and the loader
10 %, so a refreshed file could be refused, whole, by the loader it was written for; and only
the loader's lower side was tested (r2 review 5 and 8: 0.1 -> 0.3 survived)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.files import load_accelerators, load_catalog
from scaleplan.catalog.instance_types import load_fixups, resolve_accelerator
from scaleplan.catalog.model import MEMORY_TOLERANCE, Catalog
from scaleplan.errors import CatalogError

CATALOG = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {{source: test}}
instances:
  - {{provider: onprem, region: dc1, instance_type: h100-node, family: h100, accelerator: H100,
      accelerator_count: 8, accelerator_memory_gib: {mem}, vcpus: 192, memory_gib: 2048,
      price_ondemand: 0}}
"""
# H100 is 80 GiB: 10 % is 72 to 88
INSIDE = (72.0, 74.5, 80.0, 88.0)
OUTSIDE = (71.9, 88.1, 96.0, 103.0)


def _loads(tmp_path: Path, mem: float) -> bool:
    path = tmp_path / f"c{mem:g}.yaml"
    path.write_text(CATALOG.format(mem=mem), encoding="utf-8")
    try:
        load_catalog([path])
    except CatalogError as exc:
        assert exc.problems[0].where == "instances[0].accelerator_memory_gib"
        return False
    return True


def _refreshed(mem: float) -> bool:
    cat = Catalog(accelerators=load_accelerators(), rows=())
    acc, why = resolve_accelerator("p5", "H100", mem, cat, load_fixups())
    assert (acc is None) == bool(why)
    return acc == "H100"


def test_the_tolerance_is_ten_percent_both_ways_in_the_loader(tmp_path: Path) -> None:
    assert MEMORY_TOLERANCE == 0.1
    assert [_loads(tmp_path, m) for m in INSIDE] == [True] * len(INSIDE)
    assert [_loads(tmp_path, m) for m in OUTSIDE] == [False] * len(OUTSIDE)


@pytest.mark.parametrize("mem", INSIDE + OUTSIDE)
def test_refresh_takes_a_reported_memory_exactly_where_the_loader_does(
    tmp_path: Path, mem: float
) -> None:
    """103 GiB (1.29x) and 96 were taken by refresh and written, then refused on load."""
    assert _refreshed(mem) == _loads(tmp_path, mem)
