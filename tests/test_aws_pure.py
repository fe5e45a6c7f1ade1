"""Pure parts of the AWS refresh: price parsing (real PriceList samples), spot statistics,
accelerator fix-ups, merging, diffs, catalog age, error translation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aws_helpers import DATA, derived_item, ebs_item, p4d_items

from scaleplan.catalog import aws
from scaleplan.catalog.assemble import build_catalog_file, merge_rows
from scaleplan.catalog.diff import diff_rows
from scaleplan.catalog.files import load_accelerators
from scaleplan.catalog.freshness import catalog_age_days, parse_fetched_at, stale_warning
from scaleplan.catalog.instance_types import TypeSpec, load_fixups, type_spec
from scaleplan.catalog.model import Catalog, CatalogFile, InstanceRow, Provenance
from scaleplan.catalog.prices import (
    MalformedPrice,
    PriceItem,
    ondemand_prices,
    parse_price_item,
    spot_stats,
)
from scaleplan.errors import ExternalError

CAT = Catalog(accelerators=load_accelerators(), rows=())
FIX = load_fixups()


def gpu_type(name: str, gpu: str, count: int, mib: int, part: float = 1.0, arch: str = "x86_64") -> dict[str, object]:
    return {
        "InstanceType": name,
        "ProcessorInfo": {"SupportedArchitectures": [arch]},
        "VCpuInfo": {"DefaultVCpus": 192},
        "MemoryInfo": {"SizeInMiB": 2097152},
        "GpuInfo": {"Gpus": [{"Name": gpu, "Manufacturer": "NVIDIA", "Count": count, "GpuPartitionSize": part, "MemoryInfo": {"SizeInMiB": mib}}]},
    }


def cpu_type(name: str, vcpus: int = 2, mib: int = 4096, arch: str = "x86_64") -> dict[str, object]:
    return {"InstanceType": name, "ProcessorInfo": {"SupportedArchitectures": [arch]}, "VCpuInfo": {"DefaultVCpus": vcpus}, "MemoryInfo": {"SizeInMiB": mib}}


# ---------------------------------------------------------------- prices


def test_real_m5_item_parses_to_its_on_demand_price() -> None:
    text = (DATA / "get_products_item_m5.large_us-east-1.json").read_text()
    item = parse_price_item(text)
    assert item is not None
    assert (item.instance_type, item.price, item.sku) == ("m5.large", 0.096, "6C86BEPQVG73ZGGR")
    assert item.region is None  # the 2021 item has no regionCode


def test_capacity_block_sku_is_ignored_and_on_demand_kept() -> None:
    items = [parse_price_item(t) for t in p4d_items()]
    kept = [i for i in items if i is not None]
    assert len(items) == 2 and len(kept) == 1
    assert kept[0].price == 32.7726 and kept[0].market == "OnDemand" and kept[0].region == "us-east-1"


def test_non_instance_product_is_skipped() -> None:
    assert parse_price_item(ebs_item()) is None


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda t: t[: len(t) // 2], "not valid JSON"),
        (lambda t: "[1, 2]", "no 'product'"),
        (lambda t: t.replace('"USD":"1.0060000000"', '"USD":"a lot"'), "not a number"),
        (lambda t: t.replace('"OnDemand":', '"OnDemandX":'), "no 'terms.OnDemand'"),
        (lambda t: t.replace('"USD":"1.0060000000"', '"USD":"-1"'), "-1"),
    ],
)
def test_malformed_items_raise(mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    text = derived_item("g5.xlarge", "us-east-1", 1.006)
    bad = mutate(text)
    assert bad != text
    with pytest.raises(MalformedPrice, match=needle):
        parse_price_item(bad)


def test_ondemand_prices_picks_wanted_types_and_warns_on_conflict() -> None:
    a = PriceItem("g5.xlarge", "us-east-1", 1.0, "A", "OnDemand", "RunInstances")
    b = PriceItem("g5.xlarge", "us-east-1", 1.2, "B", "OnDemand", "RunInstances")
    c = PriceItem("m5.large", "us-east-1", 0.1, "C", None, None)
    prices, warns = ondemand_prices([a, b, c], {"g5.xlarge"})
    assert prices == {"g5.xlarge": 1.0}
    assert len(warns) == 1 and "g5.xlarge" in warns[0]


def test_spot_stats_on_real_history_uses_latest_price_per_zone() -> None:
    entries = json.loads((DATA / "describe_spot_price_history_m5.large_us-east-1.json").read_text())["SpotPriceHistory"]
    stats = spot_stats(entries, {"m5.large": 0.096})["m5.large"]
    # latest per zone: 1a 0.0423, 1b 0.0389, 1c 0.0381, 1d 0.0431, 1f 0.0437 (the history's
    # all-time minimum, 0.0367, is older and must not be used)
    assert stats.minimum == 0.0381
    assert stats.median == 0.0423
    assert stats.zones == ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f")
    assert min(float(e["SpotPrice"]) for e in entries) == 0.0367


def test_spot_above_on_demand_is_ignored() -> None:
    entries = [
        {"InstanceType": "g5.xlarge", "AvailabilityZone": "us-east-1a", "ProductDescription": "Linux/UNIX", "SpotPrice": "2.0", "Timestamp": "2026-01-01T00:00:00+00:00"},
        {"InstanceType": "g5.xlarge", "AvailabilityZone": "us-east-1b", "ProductDescription": "Linux/UNIX", "SpotPrice": "0.4", "Timestamp": "2026-01-01T00:00:00+00:00"},
        {"InstanceType": "g5.xlarge", "AvailabilityZone": "us-east-1c", "ProductDescription": "Windows", "SpotPrice": "0.1", "Timestamp": "2026-01-01T00:00:00+00:00"},
    ]
    s = spot_stats(entries, {"g5.xlarge": 1.0})["g5.xlarge"]
    assert (s.minimum, s.median, s.zones) == (0.4, 0.4, ("us-east-1b",))


# ---------------------------------------------------------------- instance types and fix-ups


def test_family_fixup_maps_odd_gpu_name() -> None:
    spec = type_spec(gpu_type("p5en.48xlarge", "NVIDIA", 8, 144384), CAT, FIX)
    assert isinstance(spec, TypeSpec)
    assert (spec.accelerator, spec.accelerator_count, spec.family) == ("H200", 8, "p5en")


def test_gpu_name_fixup_and_alias_resolution() -> None:
    s1 = type_spec(gpu_type("g7e.2xlarge", "RTX PRO Server 6000", 1, 98304), CAT, FIX)
    s2 = type_spec(gpu_type("g6.xlarge", "L4", 1, 22888), CAT, FIX)
    assert isinstance(s1, TypeSpec) and s1.accelerator == "RTXPRO6000"
    assert isinstance(s2, TypeSpec) and s2.accelerator == "L4" and s2.accelerator_memory_gib == 22.4


def test_memory_variant_picks_80gb_a100() -> None:
    s = type_spec(gpu_type("p4de.24xlarge", "A100", 8, 81920), CAT, FIX)
    assert isinstance(s, TypeSpec) and s.accelerator == "A100-80GB"


@pytest.mark.parametrize(
    ("it", "needle"),
    [
        (gpu_type("g6f.large", "L4", 0, 2861, part=0.125), "fractional"),
        (gpu_type("dl2q.24xlarge", "Qualcomm AI100", 8, 16000), "no specs"),
        (gpu_type("g4ad.xlarge", "Radeon Pro V520", 1, 8192), "no specs"),
    ],
)
def test_unusable_accelerators_are_skipped_with_reason(it: dict[str, object], needle: str) -> None:
    r = type_spec(it, CAT, FIX)
    # worded as every other note about a thing left out ("X: skipped, why" before)
    assert isinstance(r, str) and needle in r
    assert r.startswith(f"{it['InstanceType']} is left out: ")


def test_neuron_memory_guard_rejects_wrong_alias() -> None:
    it = {"InstanceType": "trn2.48xlarge", "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}, "VCpuInfo": {"DefaultVCpus": 192}, "MemoryInfo": {"SizeInMiB": 2097152}, "NeuronInfo": {"NeuronDevices": [{"Name": "Trainium2", "Count": 16, "MemoryInfo": {"SizeInMiB": 98304}}]}}
    r = type_spec(it, CAT, FIX)
    assert isinstance(r, str) and "Trainium2" in r
    it2 = {**it, "InstanceType": "trn1.32xlarge", "NeuronInfo": {"NeuronDevices": [{"Name": "Trainium", "Count": 16, "MemoryInfo": {"SizeInMiB": 32768}}]}}
    s = type_spec(it2, CAT, FIX)
    assert isinstance(s, TypeSpec) and (s.accelerator, s.accelerator_count) == ("AWS-Trainium", 16)


def test_cpu_families_and_sizes_filter() -> None:
    ok = type_spec(cpu_type("m7g.large", arch="arm64", mib=8192), CAT, FIX)
    assert isinstance(ok, TypeSpec) and ok.cpu_arch == "arm64" and ok.memory_gib == 8
    assert type_spec(cpu_type("m7g.medium", vcpus=1), CAT, FIX) is None
    assert type_spec(cpu_type("c7i.24xlarge", vcpus=96), CAT, FIX) is None
    assert type_spec(cpu_type("m5.large"), CAT, FIX) is None


# ---------------------------------------------------------------- merge, diff, age


def row(region: str, itype: str, od: float, spot: float | None = None, fetched: str | None = None) -> InstanceRow:
    return InstanceRow(provider="aws", region=region, instance_type=itype, family=itype.split(".")[0], vcpus=4, memory_gib=16, price_ondemand=od, price_spot=spot, fetched_at=fetched)


def test_merge_keeps_other_regions_and_stamps_their_age() -> None:
    cur = CatalogFile(provenance=Provenance(source="old", build_date="2026-01-01"), instances=(row("us-east-1", "c7i.large", 0.1), row("eu-west-1", "c7i.large", 0.11)))
    new = [row("us-east-1", "c7i.xlarge", 0.2, fetched="2026-11-29T00:00:00Z")]
    merged = merge_rows(cur, new, ["us-east-1"])
    assert [(r.region, r.instance_type) for r in merged] == [("eu-west-1", "c7i.large"), ("us-east-1", "c7i.xlarge")]
    assert merged[0].fetched_at == "2026-01-01"
    cf = build_catalog_file(cur, merged, ["us-east-1"], datetime(2026, 11, 29, tzinfo=UTC), "0")
    assert any("eu-west-1" in c for c in cf.provenance.caveats)


def test_diff_reports_added_removed_and_percentages() -> None:
    old = [row("us-east-1", "a.large", 1.0, 0.5), row("us-east-1", "b.large", 2.0), row("eu-west-1", "z.large", 9.0)]
    new = [row("us-east-1", "a.large", 1.1, 0.5), row("us-east-1", "c.large", 3.0)]
    d = diff_rows(old, new, scope={("aws", "us-east-1")})
    assert [r.instance_type for r in d.added] == ["c.large"]
    assert [r.instance_type for r in d.removed] == ["b.large"]  # eu-west-1 is out of scope
    assert [(c.field, c.pct) for c in d.price_changes] == [("price_ondemand", 10.0)]
    j = d.to_dict()
    assert j["counts"] == {"added": 1, "removed": 1, "price_changes": 1, "unchanged": 0}
    assert diff_rows(new, new).empty


def test_catalog_age_days() -> None:
    cat = Catalog(accelerators=(), rows=(row("us-east-1", "a.large", 1.0, fetched="2026-10-01T00:00:00Z"), row("us-east-1", "b.large", 1.0, fetched="2026-11-28")))
    now = datetime(2026, 11, 29, tzinfo=UTC)
    assert catalog_age_days(cat, now) == pytest.approx(59.0)
    assert catalog_age_days(cat, now, providers=["gcp"]) is None
    assert stale_warning(cat, now) is not None and "59 days" in (stale_warning(cat, now) or "")
    assert stale_warning(cat, datetime(2026, 10, 15, tzinfo=UTC)) is None
    assert parse_fetched_at("nonsense") is None


# ---------------------------------------------------------------- errors


def test_translate_error_redacts_key_ids_and_maps_codes() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    exc = ClientError({"Error": {"Code": "AuthFailure", "Message": "key AKIAABCDEFGHIJKLMNOP is not valid"}, "ResponseMetadata": {"HTTPStatusCode": 401}}, "DescribeInstanceTypes")
    err = aws.translate_error(exc, "EC2 DescribeInstanceTypes (us-east-1, page 1)")
    assert isinstance(err, ExternalError) and err.exit_code == 5
    assert "AKIAABCDEFGHIJKLMNOP" not in str(err) and "<redacted>" in str(err)
    assert "credentials" in str(err)
    thr = aws.translate_error(ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetProducts"), "Pricing GetProducts (us-east-1, page 2)")
    assert "throttling" in str(thr) and "page 2" in str(thr)
    assert "no usable AWS credentials" in str(aws.translate_error(NoCredentialsError(), "x"))
