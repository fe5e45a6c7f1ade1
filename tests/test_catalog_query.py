"""``catalog list`` and ``catalog show`` from their options (scaleplan.catalog.query)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scaleplan.catalog.query import ListArgs, instance_json, list_instances, show_instance
from scaleplan.errors import OptionError

LIST = ListArgs(
    provider=["aws"], region=None, accelerator=["L4"], min_gpu_memory=None, max_price=None,
    spot=False, gpu_only=False, sort="price", catalog=None,
)


def test_list_instances_filters_and_sorts() -> None:
    rows, notes = list_instances(LIST)
    assert notes == []
    assert rows and {r.provider for r in rows} == {"aws"}
    assert {r.accelerator for r in rows} == {"L4"}
    prices = [r.price_ondemand if r.price_ondemand is not None else float("inf") for r in rows]
    assert prices == sorted(prices)


def test_list_instances_checks_sort_before_reading_a_catalog(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rows: [", encoding="utf-8")
    with pytest.raises(OptionError) as err:
        list_instances(replace(LIST, catalog=[str(broken)], sort="size"))
    assert err.value.option == "--sort"


def test_show_instance_rows_accelerator_and_json() -> None:
    rows, acc = show_instance([], "g6.xlarge")
    assert rows and {r.instance_type for r in rows} == {"g6.xlarge"}
    assert acc is not None and acc.name == "L4"
    doc = instance_json("g6.xlarge", rows, acc)
    assert doc["accelerator"]["name"] == "L4" and len(doc["regions"]) == len(rows)  # type: ignore[index]
    with pytest.raises(OptionError):
        show_instance([], "g6.nosuch")


def test_an_empty_list_says_where_the_accelerator_is_offered(cli) -> None:
    """UX trial 29 F14: `--provider gcp --accelerator L40S --region us-central1` printed
    '0 instance types' and an empty table. A note now says where L40S is offered; when the
    place and accelerator have rows and the price filters leave none, it says that instead."""
    res = cli(["catalog", "list", "--provider", "gcp", "--accelerator", "L40S",
               "--region", "us-central1"])
    assert res.stdout.startswith("0 instance types")
    said = " ".join(res.stderr.split())
    assert "note: no L40S row in gcp, us-central1: L40S is offered by aws in" in said
    res = cli(["catalog", "list", "--provider", "aws", "--accelerator", "L4",
               "--max-price", "0.01"])
    said = " ".join(res.stderr.split())
    assert "rows of these providers, regions and accelerators; the price, GPU memory" in said
    assert "is offered by" not in said
    assert cli(["catalog", "list", "--provider", "aws", "--accelerator", "L4"]).stderr == ""
