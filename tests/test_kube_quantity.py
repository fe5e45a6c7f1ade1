"""One reading of a Kubernetes quantity (scaleplan/kube/quantity.py) for check and render:
check/apiserver.quantity (a request above its limit), check/llm.quantity_gib (a weights volume
too small) and render/replay.quantity (the HPA targets the replay reads back) each had their
own parser until 2026-12-07; the last two took only some suffixes (no ``1e3``, no ``Ei``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scaleplan.check.llm import quantity_gib
from scaleplan.kube.quantity import quantity
from scaleplan.render.replay import quantity as replay_quantity


@pytest.mark.parametrize(
    ("a", "b"),
    [("1Gi", "1024Mi"), ("1", "1000m"), ("1Ki", "1024"), ("1k", "1000"), ("1e3", "1k"),
     ("1E3", "1000"), ("0.5Gi", "512Mi"), (".5", "500m"), ("1Ei", "1024Pi"), ("2M", "2e6"),
     (4, "4"), ("1.5", "1500m"), (" 3Gi ", "3Gi")],
)
def test_equal_quantities_read_equal(a: object, b: object) -> None:
    assert quantity(a) is not None and quantity(a) == quantity(b)


@pytest.mark.parametrize(
    "garbage", ["abc", "", "1GB", "Gi", "1 Gi", "1gi", "1.2.3", "--1", "1e", "0x10", None, True,
                False, [], "1Mi2"],
)
def test_what_is_not_a_quantity_reads_none(garbage: object) -> None:
    assert quantity(garbage) is None
    assert quantity_gib(garbage) is None


def test_values_exact_and_in_each_callers_unit() -> None:
    assert quantity("23183Mi") == Decimal(23183) * 1024**2
    assert quantity("3220m") == Decimal("3.22")
    assert quantity("-1.5k") == Decimal(-1500)
    assert quantity_gib("147Gi") == 147.0
    assert quantity_gib("1024Mi") == quantity_gib("1Gi") == quantity_gib(1073741824) == 1.0
    assert quantity_gib("500G") == pytest.approx(500e9 / 2**30, rel=1e-15)
    assert replay_quantity("1500m") == replay_quantity("1.5") == 1.5
    assert replay_quantity(2) == replay_quantity("2000m") == 2.0
    assert replay_quantity("333m") == 0.333
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        replay_quantity("fast")
