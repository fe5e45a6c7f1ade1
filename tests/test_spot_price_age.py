"""A plan whose spot capacity rests on old spot prices, or on a discount beyond what the provider
documents, says so (FinOps review, #2).

The shipped Azure rows come from SkyPilot's v6 Azure file, older than the AWS and GCP data: its
prices are those of August 2024 (``prices_as_of`` in azure.yaml's provenance), with spot 83-89 %
below on-demand. A three-cloud spec with spot allowed planned its spot share on an Azure A100 at
$0.4444/h (88 % off) without a word. optimize now names the spot rows whose prices are older
than 30 days or whose discount passes the provider's documented maximum, and the fixes; the
warning depends on today's date, so it is printed and in ``--json``'s ``price_warnings``, never
in plan.yaml (which must be reproducible)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scaleplan.catalog.files import load_catalog, read_catalog_file, shipped_dir
from scaleplan.catalog.freshness import SPOT_MAX_DISCOUNT, spot_price_warnings
from scaleplan.catalog.model import InstanceRow

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def row(
    provider: str, od: float, spot: float | None, fetched: str | None, itype: str = "t1"
) -> InstanceRow:
    return InstanceRow(
        provider=provider, region="r1", instance_type=itype, family="t", accelerator="L4",
        accelerator_count=1, vcpus=8, memory_gib=32, price_ondemand=od, price_spot=spot,
        fetched_at=fetched,
    )


def test_old_spot_prices_are_named_with_their_age_discount_and_fixes() -> None:
    old = row("azure", 3.673, 0.444433, "2024-08-27", "Standard_NC24ads_A100_v4")
    said = spot_price_warnings([old], NOW)
    assert len(said) == 1
    w = said[0]
    assert "azure r1 Standard_NC24ads_A100_v4" in w and "$0.4444/h" in w and "88% below" in w
    assert "2024-08-27" in w and "830 days old" in w and "older than 30 days" in w
    assert "placement.spot.allowed: false" in w and "--catalog" in w
    assert "catalog refresh" not in w  # Azure cannot be refreshed from its APIs here


def test_fresh_spot_prices_within_the_documented_range_say_nothing() -> None:
    assert spot_price_warnings([row("azure", 1.0, 0.11, "2026-11-29")], NOW) == []
    assert spot_price_warnings([row("aws", 1.0, 0.5, "2026-12-01")], NOW) == []
    # no date, no age to judge; a provider of the user's own has no documented range
    assert spot_price_warnings([row("aws", 1.0, 0.5, None)], NOW) == []
    assert spot_price_warnings([row("onprem", 1.0, 0.01, "2026-12-01")], NOW) == []


def test_a_discount_beyond_the_documented_maximum_is_named() -> None:
    """AWS and Azure document spot at up to 90 % off on-demand, GCP up to 91 %: a deeper cut is
    a data error or a stale price, whatever its date."""
    assert SPOT_MAX_DISCOUNT == {"aws": 0.90, "azure": 0.90, "gcp": 0.91}
    said = spot_price_warnings([row("aws", 10.0, 0.5, "2026-12-01", "g6.xlarge")], NOW)
    assert len(said) == 1 and "95% below" in said[0] and "up to 90%" in said[0], said
    assert "scaleplan catalog refresh" in said[0]  # AWS rows can be refreshed
    assert spot_price_warnings([row("gcp", 10.0, 0.95, "2026-12-01")], NOW) == []  # 90.5 % off
    assert spot_price_warnings([row("gcp", 10.0, 0.85, "2026-12-01")], NOW) != []  # 91.5 %


def test_the_shipped_azure_rows_carry_the_date_of_their_prices() -> None:
    prov = read_catalog_file(shipped_dir() / "azure.yaml").provenance
    assert prov.prices_as_of == "2024-08-27"
    assert any("prices_as_of" in c for c in prov.caveats)  # what the date rests on
    azure = load_catalog(providers=["azure"]).rows
    assert azure and all(r.fetched_at == "2024-08-27" for r in azure)
    # AWS and GCP record no date of their own: their rows keep the build date, as before
    aws = read_catalog_file(shipped_dir() / "aws.yaml").provenance
    assert aws.prices_as_of is None


MULTI = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat-multi}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 6
  classes: [{name: chat, share: 1.0, input_tokens: 2048, output_tokens: 256}]
slo: {ttft_ms: 3000, tpot_ms: 50}
placement:
  providers: [aws, gcp, azure]
  spot: {allowed: SPOT, max_fraction: 0.5}
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: generic}
"""


def test_a_multi_cloud_plan_on_old_azure_spot_prices_is_warned(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(MULTI.replace("SPOT", "true"), encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o", "--json", "--no-manifests"])
    doc = json.loads(res.stdout)
    spot = [a for a in doc["allocations"] if a["capacity_type"] == "spot"]
    assert spot and all(a["provider"] == "azure" for a in spot)
    said = doc["price_warnings"]
    # the spot type the plan runs (Standard_NC24ads_A100_v4 until each LLM replica was
    # derated as one queue on its own rates; Standard_NC48ads_A100_v4 since)
    kind = spot[0]["instance_type"]
    assert kind.startswith("Standard_NC") and kind.endswith("ads_A100_v4"), kind
    assert any(kind in w and "2024-08-27" in w for w in said), said
    err = " ".join(res.stderr.split())
    assert kind in err and "placement.spot.allowed: false" in err
    assert not any("2024-08-27" in w for w in doc["warnings"])  # never in plan.yaml
    assert "2024-08-27" not in Path("o/plan.yaml").read_text(encoding="utf-8")
    Path("n.yaml").write_text(MULTI.replace("SPOT", "false"), encoding="utf-8")
    doc = json.loads(cli(["optimize", "n.yaml", "--out", "o2", "--json", "--no-manifests"]).stdout)
    assert not any("spot" in w for w in doc["price_warnings"])


def test_a_refresh_keeps_the_date_of_the_prices_it_does_not_fetch() -> None:
    """``catalog refresh`` stamps the rows it keeps (other regions, other providers) with their
    date: the old file's ``prices_as_of`` when it has one, not its later build date."""
    from scaleplan.catalog.assemble import merge_rows
    from scaleplan.catalog.model import CatalogFile, Provenance

    prov = Provenance(source="old", build_date="2026-11-29", prices_as_of="2024-08-27")
    cur = CatalogFile(provenance=prov, instances=(row("azure", 3.673, 0.444433, None),))
    kept = merge_rows(cur, [], ["us-east-1"])
    assert [r.fetched_at for r in kept] == ["2024-08-27"]


def test_a_row_that_keeps_an_older_spot_price_keeps_its_date() -> None:
    """A reserved or negotiated on-demand price for a shipped Azure type, in a catalog of the
    user's own dated today, keeps the shipped spot price it does not state (files.INHERITED),
    and took the new file's date with it: the August 2024 spot price read as today's and the
    plan's spot capacity on it was not warned. The row now keeps the older date of the
    prices it holds."""
    from scaleplan.catalog.files import load_accelerators, merge
    from scaleplan.catalog.model import CatalogFile, Provenance

    itype = "Standard_NC24ads_A100_v4"
    old = CatalogFile(
        provenance=Provenance(source="old", build_date="2026-11-29", prices_as_of="2024-08-27"),
        instances=(row("azure", 3.673, 0.444433, None, itype),),
    )
    # the user's row states no spot price (as a row read from YAML without price_spot)
    mine = CatalogFile.model_validate({
        "provenance": {"source": "mine", "build_date": "2026-12-04"},
        "instances": [{
            "provider": "azure", "region": "r1", "instance_type": itype, "family": "t",
            "accelerator": "L4", "accelerator_count": 1, "vcpus": 8, "memory_gib": 32,
            "price_ondemand": 3.0,
        }],
    })
    merged = merge([("old", old), ("mine", mine)], load_accelerators())
    (r,) = merged.rows
    assert (r.price_ondemand, r.price_spot) == (3.0, 0.444433)
    assert r.fetched_at == "2024-08-27"
    said = spot_price_warnings([r], NOW)
    assert said and "priced 2024-08-27" in said[0]
    # a row that states its spot price too is dated by its own file
    mine_spot = CatalogFile.model_validate({
        **mine.model_dump(exclude_unset=True),
        "instances": [{**mine.instances[0].model_dump(exclude_unset=True), "price_spot": 0.9}],
    })
    (r,) = merge([("old", old), ("mine", mine_spot)], load_accelerators()).rows
    assert (r.price_spot, r.fetched_at) == (0.9, "2026-12-04")
