"""`scaleplan catalog refresh` against a real moto server on 127.0.0.1 (EC2 over HTTP, through a
fault-injecting proxy that also paginates), with the Price List API answered by botocore's
Stubber from real-shaped items. Every failure must leave the existing catalog byte-identical."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import (
    FAKE_ENV,
    TEST_PRICES,
    FaultProxy,
    moto_server,
    no_retry_sleep,
    paged,
    price_list,
    run_cli,
    set_fake_env,
    stubbed_pricing,
)

from scaleplan.catalog import aws
from scaleplan.catalog.files import read_catalog_file, shipped_paths

SHIPPED_AWS = shipped_paths()[0]


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    yield from moto_server()


@pytest.fixture(scope="module")
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    p = FaultProxy(moto_url).start()
    yield p
    p.stop()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proxy: FaultProxy) -> FaultProxy:
    set_fake_env(monkeypatch, tmp_path)
    no_retry_sleep(monkeypatch)
    proxy.rules.reset()
    proxy.rules.paginate_types = 40  # moto answers in one page; the proxy pages it like AWS
    return proxy


def use_pricing(monkeypatch: pytest.MonkeyPatch, regions: list[str], pages: dict[str, list[list[str]]] | None = None, strict: bool = True) -> list[Any]:
    made: list[Any] = []

    def factory() -> Any:
        c = stubbed_pricing([(r, (pages or {}).get(r) or paged(price_list(r))) for r in regions], strict=strict)
        made.append(c)
        return c

    monkeypatch.setattr(aws, "PRICING_CLIENT_FACTORY", factory)
    return made


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    p = tmp_path / "aws.yaml"
    shutil.copyfile(SHIPPED_AWS, p)
    return p


def refresh_args(proxy: FaultProxy, out: Path, *extra: str, regions: str = "us-east-1") -> list[str]:
    return ["catalog", "refresh", "--provider", "aws", "--regions", regions, "--out", str(out), "--endpoint-url", proxy.url, "--max-attempts", "3", *extra]


# ------------------------------------------------------------------------------ happy paths


def test_refresh_writes_catalog_and_keeps_other_regions(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    made = use_pricing(monkeypatch, ["us-east-1"])
    before = read_catalog_file(existing)
    res = run_cli(refresh_args(env, existing, "--json"))
    report = json.loads(res.stdout)
    assert report["written"] is True and report["regions"] == ["us-east-1"]
    after = read_catalog_file(existing)
    new = {r.instance_type: r for r in after.instances if r.region == "us-east-1"}
    # every priced, offered, tracked type; m5.large (untracked) and unpriced ones left out
    assert set(new) == set(TEST_PRICES) - {"m5.large"} | {"p4d.24xlarge"}
    assert new["p4d.24xlarge"].price_ondemand == 32.7726  # real SKU; the Capacity Block SKU ignored
    assert new["p5en.48xlarge"].accelerator == "H200" and new["p4de.24xlarge"].accelerator == "A100-80GB"
    assert new["g5.xlarge"].zones and all(z.startswith("us-east-1") for z in new["g5.xlarge"].zones)
    assert new["g5.xlarge"].price_spot == 0.00001 and new["g5.xlarge"].price_spot_median == 0.00001  # moto's fake spot
    assert all(r.source == "aws-api" and r.fetched_at and r.fetched_at.endswith("Z") for r in new.values())
    # other regions kept, with their old build date as fetch time
    for region in ("us-west-2", "eu-west-1"):
        old_rows = [r for r in before.instances if r.region == region]
        kept = [r for r in after.instances if r.region == region]
        assert kept and {r.key for r in kept} == {r.key for r in old_rows}
        assert all(r.fetched_at == before.provenance.build_date for r in kept)
    assert after.provenance.source.startswith("aws-api")
    assert made and made[0]._scaleplan_stubber.assert_no_pending_responses() is None
    # pagination really happened, over HTTP
    pages = [p for a, p in env.rules.seen if a == "DescribeInstanceTypes"]
    assert max(pages) >= 3
    # diff against the old file: removed types (unpriced here) and price changes with percentages
    diff = report["diff"]
    assert diff["counts"]["removed"] > 0
    ch = {(c["instance_type"], c["field"]): c for c in diff["price_changes"]}
    old_p4de = next(r for r in before.instances if r.key == ("aws", "us-east-1", "p4de.24xlarge")).price_ondemand
    assert old_p4de is not None and old_p4de != TEST_PRICES["p4de.24xlarge"]
    c = ch[("p4de.24xlarge", "price_ondemand")]
    assert (c["old"], c["new"]) == (old_p4de, TEST_PRICES["p4de.24xlarge"])
    assert c["pct"] == pytest.approx(round((TEST_PRICES["p4de.24xlarge"] - old_p4de) / old_p4de * 100, 2))
    assert ("g5.xlarge", "price_ondemand") not in ch  # same price: no change reported
    assert "AKIA" not in res.stdout + res.stderr and FAKE_ENV["AWS_SECRET_ACCESS_KEY"] not in res.stdout + res.stderr


def test_two_regions_new_file_and_second_run_shows_price_change(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    use_pricing(monkeypatch, ["us-east-1", "us-west-2"])
    res = run_cli(refresh_args(env, out, regions="us-east-1,us-west-2"))
    assert "wrote" in res.stdout and out.exists()
    cf = read_catalog_file(out)
    assert {r.region for r in cf.instances} == {"us-east-1", "us-west-2"}
    # second run, us-west-2 only, with g5.xlarge 10% dearer: human diff shows +10.0%
    prices = dict(TEST_PRICES, **{"g5.xlarge": round(TEST_PRICES["g5.xlarge"] * 1.1, 6)})
    use_pricing(monkeypatch, ["us-west-2"], pages={"us-west-2": paged(price_list("us-west-2", prices))})
    res2 = run_cli(refresh_args(env, out, regions="us-west-2"))
    assert "+10.0%" in res2.stdout and "g5.xlarge" in res2.stdout
    cf2 = read_catalog_file(out)
    east = [r for r in cf2.instances if r.region == "us-east-1"]
    assert east == [r for r in cf.instances if r.region == "us-east-1"]  # untouched region kept as is


def test_dry_run_prints_diff_and_writes_nothing(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    raw = existing.read_bytes()
    res = run_cli(refresh_args(env, existing, "--dry-run"))
    assert existing.read_bytes() == raw
    assert "dry run: nothing written" in res.stdout
    assert "Removed instance types" in res.stdout and "Price changes" in res.stdout
    assert "%" in res.stdout


def test_dry_run_tables_keep_identifiers_whole_at_80_columns(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    """Issue 13, finding 3: piped at COLUMNS=80, every region and instance type of the diff
    tables is printed whole (plain tables, nothing cut or wrapped)."""
    use_pricing(monkeypatch, ["us-east-1"])
    monkeypatch.setenv("COLUMNS", "80")
    res = run_cli(refresh_args(env, existing, "--dry-run"))
    words = set(res.stdout.split())
    removed = [r for r in read_catalog_file(existing).instances if r.region == "us-east-1" and r.instance_type not in TEST_PRICES]
    assert removed, "the fixture catalog should list instance types the refresh no longer sees"
    for r in removed:
        assert r.instance_type in words and r.region in words
    assert "…" not in res.stdout
    table = [line for line in res.stdout.splitlines() if line.startswith("us-east-1 ")]
    assert table and all(len(line) <= 80 for line in table), res.stdout


def test_throttling_then_success(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    env.rules.throttle["DescribeInstanceTypeOfferings"] = 2  # two 503 RequestLimitExceeded, then moto
    out = tmp_path / "t.yaml"
    run_cli(refresh_args(env, out))
    assert [a for a, _ in env.rules.seen].count("DescribeInstanceTypeOfferings") == 3
    assert read_catalog_file(out).instances


# ------------------------------------------------------------------------------ faults


def assert_untouched(path: Path, raw: bytes) -> None:
    assert path.read_bytes() == raw
    assert not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")], "temporary file left behind"


def test_persistent_throttling_exits_5(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    raw = existing.read_bytes()
    env.rules.throttle["DescribeInstanceTypeOfferings"] = 100
    res = run_cli(refresh_args(env, existing), exit_code=5)
    assert "throttling" in res.stderr and "DescribeInstanceTypeOfferings" in res.stderr
    assert [a for a, _ in env.rules.seen].count("DescribeInstanceTypeOfferings") == 3  # --max-attempts 3 = total attempts
    assert_untouched(existing, raw)


def test_connection_dropped_on_second_page_exits_5(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    raw = existing.read_bytes()
    env.rules.drop[("DescribeInstanceTypes", 2)] = 100
    res = run_cli(refresh_args(env, existing), exit_code=5)
    assert "connection" in res.stderr and "DescribeInstanceTypes (us-east-1, page 2)" in res.stderr
    assert ("DescribeInstanceTypes", 3) not in env.rules.seen
    assert_untouched(existing, raw)


def test_connection_dropped_once_is_retried(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    env.rules.drop[("DescribeInstanceTypes", 2)] = 1
    out = tmp_path / "r.yaml"
    run_cli(refresh_args(env, out))
    assert env.rules.seen.count(("DescribeInstanceTypes", 2)) == 2
    assert out.exists()


def test_malformed_price_json_exits_5(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    items = price_list("us-east-1")
    items[5] = items[5][:-40]  # truncated JSON string
    use_pricing(monkeypatch, ["us-east-1"], pages={"us-east-1": paged(items)})
    raw = existing.read_bytes()
    res = run_cli(refresh_args(env, existing), exit_code=5)
    assert "malformed PriceList entry" in res.stderr and "page 2, item 2" in res.stderr and "not valid JSON" in res.stderr
    assert_untouched(existing, raw)


def test_missing_credentials_exits_5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, existing: Path, proxy: FaultProxy) -> None:
    set_fake_env(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    use_pricing(monkeypatch, ["us-east-1"])
    proxy.rules.reset()
    raw = existing.read_bytes()
    res = run_cli(refresh_args(proxy, existing), exit_code=5)
    assert "no AWS credentials found" in res.stderr and "--aws-profile" in res.stderr
    assert proxy.rules.seen == []  # failed before any request
    assert_untouched(existing, raw)


def test_unknown_profile_exits_5(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    raw = existing.read_bytes()
    res = run_cli(refresh_args(env, existing, "--aws-profile", "nope"), exit_code=5)
    assert "profile" in res.stderr and "nope" in res.stderr
    assert_untouched(existing, raw)


def test_expired_token_exits_5_without_secrets(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, existing: Path) -> None:
    use_pricing(monkeypatch, ["us-east-1"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", "fake-session-token-SECRET")
    env.rules.error["DescribeInstanceTypes"] = (400, "ExpiredToken", "The security token included in the request is expired")
    raw = existing.read_bytes()
    res = run_cli(refresh_args(env, existing), exit_code=5)
    out = res.stdout + res.stderr
    assert "rejected the credentials (ExpiredToken" in out
    for secret in (FAKE_ENV["AWS_SECRET_ACCESS_KEY"], FAKE_ENV["AWS_ACCESS_KEY_ID"], "fake-session-token-SECRET"):
        assert secret not in out
    assert_untouched(existing, raw)


def test_invalid_existing_catalog_exits_3_untouched(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: scaleplan/v1\nkind: Catalog\ninstances: nope\n")
    raw = bad.read_bytes()
    res = run_cli(refresh_args(env, bad), exit_code=3)
    assert "bad.yaml" in res.stderr
    assert env.rules.seen == []
    assert_untouched(bad, raw)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--provider", "gcp", "--regions", "us-east-1", "--out", "x.yaml"], "only 'aws'"),
        (["--regions", "us east 1", "--out", "x.yaml"], "not an AWS region"),
        (["--regions", " , ", "--out", "x.yaml"], "at least one region"),
        (["--regions", "us-east-1"], "--out"),
        (["--regions", "us-east-1", "--out", str(SHIPPED_AWS)], "installed with scaleplan"),
        (["--regions", "us-east-1", "--out", "x.yaml", "--max-attempts", "0"], "max-attempts"),
    ],
)
def test_usage_errors_exit_2(args: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run_cli(["catalog", "refresh", *args], exit_code=2)
    assert needle in res.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_default_out_is_catalogs_aws_yaml_in_cwd(env: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "catalogs").mkdir()
    target = tmp_path / "catalogs" / "aws.yaml"
    shutil.copyfile(SHIPPED_AWS, target)
    raw = target.read_bytes()
    monkeypatch.chdir(tmp_path)
    use_pricing(monkeypatch, ["us-east-1"])
    run_cli(["catalog", "refresh", "--regions", "us-east-1", "--endpoint-url", env.url, "--max-attempts", "2"])
    assert target.read_bytes() != raw
    assert any(r.source == "aws-api" for r in read_catalog_file(target).instances)


def test_pricing_connection_failure_does_not_point_at_endpoint_url() -> None:
    """UX review 6, #4: the documented moto recipe stops at the Pricing step with
    "hint: check the network, --endpoint-url and the region", but --endpoint-url is EC2 only:
    the hint sent the user to an option that cannot help. EC2 failures keep it."""
    from botocore.exceptions import EndpointConnectionError

    from scaleplan.catalog.aws import translate_error

    exc = EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com/")
    pricing = translate_error(exc, "Pricing GetProducts (us-east-1, page 1)")
    assert "--endpoint-url applies to EC2 only" in (pricing.hint or "")
    assert "check the network, --endpoint-url" not in (pricing.hint or "")
    ec2 = translate_error(exc, "EC2 DescribeInstanceTypes (us-east-1, page 1)")
    assert "check the network, --endpoint-url and the region" in (ec2.hint or "")


def test_refresh_command_checks_options_before_needing_boto3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each bad option is a usage error raised before boto3 is required or any API called."""
    from scaleplan.catalog import refresh as rf
    from scaleplan.errors import OptionError

    def no_boto3(module: str, what: str) -> None:
        raise AssertionError("boto3 required before the options were checked")

    monkeypatch.setattr("scaleplan.extras.require", no_boto3)
    for provider, regions, endpoint, option in (
        ("gcp", "us-east-1", None, "--provider"),
        ("aws", "", None, "--regions"),
        ("aws", "us-east-1", "ftp://x", "--endpoint-url"),
    ):
        args = rf.RefreshArgs(
            provider=provider, regions=regions, out=tmp_path / "aws.yaml", aws_profile=None,
            endpoint_url=endpoint, dry_run=True, max_attempts=1,
        )
        with pytest.raises(OptionError) as err:
            rf.refresh_command(args, progress=None)  # type: ignore[arg-type]
        assert err.value.option == option
