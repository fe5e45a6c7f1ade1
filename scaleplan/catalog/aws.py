"""Live AWS catalog refresh: EC2 + Price List APIs -> catalog rows (the only boto3 user).

The pure part turns API payloads into :class:`InstanceRow` objects (accelerator fix-ups from
``scaleplan/data/aws_fixups.yaml``, price parsing, spot statistics, merging with an existing
catalog file). The I/O part (:func:`fetch_region`, :func:`refresh_aws`) makes the calls:

* EC2 ``DescribeInstanceTypes`` (paginated, filtered server-side by family patterns),
* EC2 ``DescribeInstanceTypeOfferings`` (``LocationType=availability-zone``, paginated),
* Pricing ``GetProducts`` (us-east-1 endpoint; one paginated call per region with every
  filter except ``instanceType``; the wanted types are picked client-side),
* EC2 ``DescribeSpotPriceHistory`` (``Linux/UNIX``, ``StartTime=now``: the latest price per
  zone; kept as minimum and median over the region's zones).

Every botocore failure is turned into :class:`~scaleplan.errors.ExternalError` (exit 5) with
the operation, region and page that failed; no credential is ever put into a message.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

from scaleplan.catalog.model import (
    MAX_PRICE,
    Accelerator,
    Catalog,
    CatalogFile,
    InstanceRow,
    Provenance,
)
from scaleplan.errors import ExternalError, InputError, Problem

SOURCE = "aws-api"
PRICING_REGION = "us-east-1"
DEFAULT_MAX_ATTEMPTS = 8
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}\Z")
# Steps reported to the progress callback per region.
STEPS_PER_REGION = 4

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# Fix-up table (data)


@dataclass(frozen=True)
class MemoryVariant:
    accelerator: str
    min_memory_gib: float
    use: str


@dataclass(frozen=True)
class Fixups:
    accelerator_patterns: tuple[str, ...]
    cpu_families: tuple[str, ...]
    cpu_sizes: tuple[str, ...]
    families: Mapping[str, str]
    names: Mapping[str, str]
    memory_variants: tuple[MemoryVariant, ...]
    memory_tolerance: float

    def server_filter_patterns(self) -> list[str]:
        return [*self.accelerator_patterns, *(f"{f}.*" for f in self.cpu_families)]


def parse_fixups(data: Mapping[str, Any], name: str = "aws_fixups.yaml") -> Fixups:
    try:
        return Fixups(
            accelerator_patterns=tuple(str(p) for p in data["accelerator_patterns"]),
            cpu_families=tuple(str(p) for p in data["cpu_families"]),
            cpu_sizes=tuple(str(p) for p in data["cpu_sizes"]),
            families={str(k): str(v) for k, v in (data.get("families") or {}).items()},
            names={str(k): str(v) for k, v in (data.get("names") or {}).items()},
            memory_variants=tuple(MemoryVariant(str(m["accelerator"]), float(m["min_memory_gib"]), str(m["use"])) for m in data.get("memory_variants") or ()),
            memory_tolerance=float(data.get("memory_tolerance", 1.3)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(name, [Problem("", f"invalid fix-up table: {exc}", hint="restore scaleplan/data/aws_fixups.yaml")]) from None


@functools.lru_cache(maxsize=1)
def load_fixups() -> Fixups:
    from scaleplan.yamlio import parse_yaml

    res = resources.files("scaleplan") / "data" / "aws_fixups.yaml"
    doc = parse_yaml(res.read_text(encoding="utf-8"), "scaleplan/data/aws_fixups.yaml", what="fix-up table")
    return parse_fixups(doc.data)


# --------------------------------------------------------------------------------------------
# Pure: instance types


@dataclass(frozen=True)
class TypeSpec:
    instance_type: str
    family: str
    accelerator: str | None
    accelerator_count: int
    accelerator_memory_gib: float | None
    vcpus: int
    memory_gib: float
    cpu_arch: Literal["x86_64", "arm64"]


def _num(v: float) -> float | int:
    v = round(float(v), 6)
    return int(v) if v.is_integer() else v


def split_type(instance_type: str) -> tuple[str, str]:
    family, _, size = instance_type.partition(".")
    return family, size


def accelerator_info(it: Mapping[str, Any]) -> tuple[str, int, float | None, float] | None:
    """(API name, whole device count, memory GiB per device, smallest partition) or None."""
    gpu = it.get("GpuInfo")
    if gpu and gpu.get("Gpus"):
        devs = gpu["Gpus"]
        count = sum(int(d.get("Count", 0)) for d in devs)
        part = min(float(d.get("GpuPartitionSize", 1.0)) for d in devs)
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), count, (mem / 1024 if mem else None), part
    neuron = it.get("NeuronInfo")
    if neuron and neuron.get("NeuronDevices"):
        devs = neuron["NeuronDevices"]
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), sum(int(d.get("Count", 0)) for d in devs), (mem / 1024 if mem else None), 1.0
    inf = it.get("InferenceAcceleratorInfo")
    if inf and inf.get("Accelerators"):
        devs = inf["Accelerators"]
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), sum(int(d.get("Count", 0)) for d in devs), (mem / 1024 if mem else None), 1.0
    return None


def resolve_accelerator(family: str, api_name: str, memory_gib: float | None, catalog: Catalog, fix: Fixups) -> tuple[str | None, str]:
    """Canonical accelerator for an API name, or (None, why)."""
    name = fix.families.get(family) or fix.names.get(api_name, api_name)
    canonical = catalog.resolve_product(name)
    if canonical is None or canonical == "CPU":
        return None, f"accelerator {api_name!r} has no specs in the accelerator catalog"
    for v in fix.memory_variants:
        if canonical == v.accelerator and memory_gib is not None and memory_gib >= v.min_memory_gib:
            canonical = v.use
    spec = catalog.accelerator(canonical)
    if spec is not None and memory_gib is not None:
        ratio = memory_gib / spec.memory_gib
        if not (1 / fix.memory_tolerance <= ratio <= fix.memory_tolerance):
            return None, f"accelerator {api_name!r} reports {memory_gib:.0f} GiB per device but {canonical} has {spec.memory_gib:.0f} GiB (a different part?)"
    return canonical, ""


def type_spec(it: Mapping[str, Any], catalog: Catalog, fix: Fixups) -> TypeSpec | str | None:
    """A TypeSpec for a DescribeInstanceTypes entry; a warning string when it is skipped for a
    reason worth telling; None when it is simply not a family scaleplan tracks."""
    name = str(it["InstanceType"])
    family, size = split_type(name)
    archs = list(it.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
    arch: Literal["x86_64", "arm64"] | None = "arm64" if "arm64" in archs else "x86_64" if "x86_64" in archs else None
    vcpus = int(it.get("VCpuInfo", {}).get("DefaultVCpus", 0))
    mem_mib = float(it.get("MemoryInfo", {}).get("SizeInMiB", 0))
    acc = accelerator_info(it)
    if acc is None:
        if family not in fix.cpu_families or size not in fix.cpu_sizes:
            return None
        accelerator, count, acc_mem = None, 0, None
    else:
        api_name, count, acc_mem, part = acc
        if part < 1.0 or count < 1:
            return f"{name}: skipped, fractional accelerator ({api_name} partition {part:g})"
        accelerator, why = resolve_accelerator(family, api_name, acc_mem, catalog, fix)
        if accelerator is None:
            return f"{name}: skipped, {why}"
    if arch is None:
        return f"{name}: skipped, unsupported architecture {archs}"
    if vcpus <= 0 or mem_mib <= 0:
        return f"{name}: skipped, the API gives no vCPU or memory size"
    return TypeSpec(
        instance_type=name,
        family=family,
        accelerator=accelerator,
        accelerator_count=count,
        accelerator_memory_gib=round(acc_mem, 1) if acc_mem else None,
        vcpus=vcpus,
        memory_gib=round(mem_mib / 1024, 3),
        cpu_arch=arch,
    )


# --------------------------------------------------------------------------------------------
# Pure: prices


class MalformedPrice(ValueError):
    """A PriceList entry is not what the Price List API documents."""


@dataclass(frozen=True)
class PriceItem:
    instance_type: str
    region: str | None
    price: float
    sku: str
    market: str | None
    operation: str | None


def parse_price_item(text: str) -> PriceItem | None:
    """Parse one ``PriceList`` JSON string; None for SKUs that are not plain On-Demand compute."""
    try:
        item = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MalformedPrice(f"not valid JSON ({exc})") from None
    if not isinstance(item, dict) or not isinstance(item.get("product"), dict):
        raise MalformedPrice("no 'product' object")
    product = item["product"]
    attrs = product.get("attributes")
    if not isinstance(attrs, dict):
        raise MalformedPrice("no 'product.attributes' object")
    itype = attrs.get("instanceType")
    if not itype or not str(product.get("productFamily", "")).startswith("Compute Instance"):
        return None
    market = attrs.get("marketoption")
    operation = attrs.get("operation")
    if market not in (None, "OnDemand") or operation not in (None, "RunInstances"):
        return None  # Capacity Blocks (RunInstances:CB), other OS operations
    if attrs.get("licenseModel") not in (None, "No License required"):
        return None
    terms = item.get("terms")
    if not isinstance(terms, dict) or not isinstance(terms.get("OnDemand"), dict) or not terms["OnDemand"]:
        raise MalformedPrice(f"{itype}: no 'terms.OnDemand' object")
    prices: list[float] = []
    for term in terms["OnDemand"].values():
        dims = term.get("priceDimensions") if isinstance(term, dict) else None
        if not isinstance(dims, dict) or not dims:
            raise MalformedPrice(f"{itype}: an On-Demand term has no priceDimensions")
        for dim in dims.values():
            if not isinstance(dim, dict) or dim.get("unit") not in ("Hrs", "Hours"):
                continue
            usd: Any = (dim.get("pricePerUnit") or {}).get("USD")
            # a plain decimal only: Python's float() also reads "1_000", " 1e300 ", "inf"
            if isinstance(usd, bool) or not (isinstance(usd, int | float) or (isinstance(usd, str) and _USD.fullmatch(usd))):
                raise MalformedPrice(f"{itype}: pricePerUnit.USD is {str(usd)[:40]!r}, not a number (AWS sends plain decimals)")
            value = float(usd)
            if value != value or value < 0 or value > MAX_PRICE:
                raise MalformedPrice(f"{itype}: pricePerUnit.USD is {str(usd)[:40]!r}, outside 0 to {MAX_PRICE:g} USD/h")
            prices.append(value)
    if not prices:
        raise MalformedPrice(f"{itype}: no hourly USD price")
    price = max(prices)
    if price == 0:
        return None
    return PriceItem(str(itype), attrs.get("regionCode"), price, str(product.get("sku", "")), market, operation)


_USD = re.compile(r"[0-9]{1,12}(\.[0-9]{1,20})?\Z")
MIN_PLAUSIBLE_PRICE = 1e-4  # USD per instance-hour; the cheapest EC2 type costs ~0.004
PRICE_JUMP = 100.0  # a refreshed price this many times off the current one is refused


def implausible_prices(new_rows: Sequence[InstanceRow], reference: Sequence[InstanceRow]) -> list[str]:
    """Rows whose refreshed on-demand prices cannot be right: non-positive or below a hundredth
    of a cent, or 100x off the same row in the current catalog. One line per row, naming it.
    (Spot prices move a lot and are kept between 0 and the on-demand price by spot_stats.)"""
    ref = {r.key: r for r in reference}
    out: list[str] = []
    for r in new_rows:
        for fld in ("price_ondemand",):  # spot is kept in (0, on-demand) by spot_stats
            v = getattr(r, fld)
            if v is None:
                continue
            name = f"{r.region} {r.instance_type} {fld}"
            if v < MIN_PLAUSIBLE_PRICE:
                out.append(f"{name} = {v:g} USD/h is not a plausible price")
                continue
            old = getattr(ref[r.key], fld) if r.key in ref else None
            if old and (v > old * PRICE_JUMP or v < old / PRICE_JUMP):
                out.append(f"{name} = {v:g} USD/h is over {PRICE_JUMP:g}x off the current {old:g}")
    return out


def ondemand_prices(items: Iterable[PriceItem], wanted: set[str]) -> tuple[dict[str, float], list[str]]:
    found: dict[str, list[float]] = {}
    for it in items:
        if it.instance_type in wanted:
            found.setdefault(it.instance_type, []).append(it.price)
    warnings: list[str] = []
    out: dict[str, float] = {}
    for t, ps in sorted(found.items()):
        if len(set(ps)) > 1:
            warnings.append(f"{t}: {len(ps)} On-Demand Linux SKUs with prices {sorted(set(ps))}; kept the lowest")
        out[t] = min(ps)
    return out, warnings


@dataclass(frozen=True)
class SpotStats:
    minimum: float | None
    median: float | None
    zones: tuple[str, ...]


def spot_stats(entries: Iterable[Mapping[str, Any]], ondemand: Mapping[str, float]) -> dict[str, SpotStats]:
    """Latest Linux/UNIX price per (type, zone); min and median over zones below on-demand."""
    latest: dict[tuple[str, str], tuple[str, float]] = {}
    for e in entries:
        if not str(e.get("ProductDescription", "")).startswith("Linux/UNIX"):
            continue
        raw = e.get("SpotPrice")
        if not isinstance(raw, str) or not _USD.fullmatch(raw):
            continue
        price = float(raw)
        if price > MAX_PRICE:
            continue
        ts = e.get("Timestamp")
        stamp = ts.isoformat() if isinstance(ts, datetime) else str(ts)
        key = (str(e["InstanceType"]), str(e["AvailabilityZone"]))
        if key not in latest or stamp > latest[key][0]:
            latest[key] = (stamp, price)
    per_type: dict[str, dict[str, float]] = {}
    for (t, zone), (_, price) in latest.items():
        per_type.setdefault(t, {})[zone] = price
    out: dict[str, SpotStats] = {}
    for t, zones in per_type.items():
        od = ondemand.get(t)
        ok = {z: p for z, p in zones.items() if p > 0 and (od is None or p < od)}
        if ok:
            vals = sorted(ok.values())
            out[t] = SpotStats(vals[0], round(statistics.median(vals), 6), tuple(sorted(ok)))
        else:
            out[t] = SpotStats(None, None, ())
    return out


# --------------------------------------------------------------------------------------------
# Pure: rows and merging


@dataclass
class RegionData:
    region: str
    specs: dict[str, TypeSpec] = field(default_factory=dict)
    zones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ondemand: dict[str, float] = field(default_factory=dict)
    spot: dict[str, SpotStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    calls: int = 0


def region_rows(data: RegionData, fetched_at: str) -> tuple[list[InstanceRow], list[str]]:
    rows: list[InstanceRow] = []
    warnings: list[str] = []
    no_price: list[str] = []
    for t in sorted(data.specs):
        s = data.specs[t]
        zones = data.zones.get(t, ())
        if not zones:
            continue  # not offered in this region
        od = data.ondemand.get(t)
        if od is None:
            no_price.append(t)
            continue
        sp = data.spot.get(t, SpotStats(None, None, ()))
        rows.append(
            InstanceRow(
                provider="aws",
                region=data.region,
                instance_type=t,
                family=s.family,
                accelerator=s.accelerator,
                accelerator_count=s.accelerator_count,
                accelerator_memory_gib=s.accelerator_memory_gib,
                vcpus=s.vcpus,
                memory_gib=s.memory_gib,
                cpu_arch=s.cpu_arch,
                price_ondemand=round(od, 6),
                price_spot=sp.minimum,
                price_spot_median=sp.median,
                zones=zones,
                source=SOURCE,
                fetched_at=fetched_at,
            )
        )
    if no_price:
        shown = ", ".join(no_price[:8]) + (f" and {len(no_price) - 8} more" if len(no_price) > 8 else "")
        warnings.append(f"{data.region}: {len(no_price)} offered types have no On-Demand Linux price and were left out: {shown}")
    return rows, warnings


def row_sort_key(r: InstanceRow) -> tuple[str, str, str, str, int, str]:
    return (r.provider, r.region, r.accelerator or "", r.family, r.vcpus, r.instance_type)


def merge_rows(current: CatalogFile | None, new_rows: Sequence[InstanceRow], regions: Sequence[str]) -> list[InstanceRow]:
    """Rows of ``current`` outside the refreshed (aws, region)s, plus ``new_rows``.

    Kept rows without ``fetched_at`` get the old file's build date so their age stays visible.
    """
    refreshed = set(regions)
    kept: list[InstanceRow] = []
    if current is not None:
        for r in current.instances:
            if r.provider == "aws" and r.region in refreshed:
                continue
            if r.fetched_at is None and current.provenance.build_date:
                r = r.model_copy(update={"fetched_at": current.provenance.build_date})
            kept.append(r)
    return sorted([*kept, *new_rows], key=row_sort_key)


def build_catalog_file(current: CatalogFile | None, rows: Sequence[InstanceRow], regions: Sequence[str], now: datetime, version: str) -> CatalogFile:
    regs = ", ".join(sorted(regions))
    caveats = [
        f"Rows for aws {regs} come from the AWS APIs (EC2 DescribeInstanceTypes, DescribeInstanceTypeOfferings, DescribeSpotPriceHistory; Price List GetProducts), fetched_at on each row.",
        "On-demand: Linux, Shared tenancy, no pre-installed software, USD/hour. Spot: latest Linux/UNIX price per zone; price_spot is the minimum and price_spot_median the median over zones priced below on-demand.",
        "Accelerator names are mapped with scaleplan/data/aws_fixups.yaml and the accelerator catalog; types whose accelerator has no specs are left out (see the refresh warnings).",
    ]
    commits: dict[str, str] = {}
    source = f"{SOURCE} (scaleplan catalog refresh)"
    if current is not None:
        refreshed = set(regions)
        kept_regions = sorted({f"{r.provider} {r.region}" for r in current.instances if not (r.provider == "aws" and r.region in refreshed)})
        if kept_regions:
            caveats.append(f"Rows for {', '.join(kept_regions)} are kept from the previous file (source: {current.provenance.source}).")
            commits = dict(current.provenance.commits)
            caveats.extend(c for c in current.provenance.caveats if c not in caveats)
    return CatalogFile(
        provenance=Provenance(
            source=source,
            commits=commits,
            build_date=now.astimezone(UTC).strftime("%Y-%m-%d"),
            builder=f"scaleplan {version} catalog refresh",
            caveats=tuple(caveats),
        ),
        price_multiplier=current.price_multiplier if current is not None else 1.0,
        accelerators=current.accelerators if current is not None else (),
        instances=tuple(rows),
    )


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, tuple | list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def catalog_text(cf: CatalogFile, now: datetime) -> str:
    """Deterministic YAML for a catalog file (defaults and nulls left out)."""
    from scaleplan.yamlio import dump_yaml

    data: dict[str, Any] = {"apiVersion": cf.apiVersion, "kind": cf.kind}
    data["provenance"] = _clean(cf.provenance.model_dump(exclude_none=True))
    if cf.price_multiplier != 1.0:
        data["price_multiplier"] = cf.price_multiplier
    if cf.accelerators:
        data["accelerators"] = [_clean(a.model_dump(exclude_defaults=True)) for a in cf.accelerators]
    data["instances"] = [_clean({k: v for k, v in r.model_dump(exclude_none=True).items() if v != ()}) for r in cf.instances]
    header = f"# Written by `scaleplan catalog refresh` at {utc_iso(now)}; refresh again rather than editing prices by hand.\n"
    return header + dump_yaml(data)


def utc_iso(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# I/O: errors

_THROTTLE = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown", "ProvisionedThroughputExceededException"}
_CREDS = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken"}
_ACCESS = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "OptInRequired", "Blocked"}
_KEYLIKE = re.compile(r"\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
CRED_HINT = "configure credentials: --aws-profile NAME (or AWS_PROFILE), `aws sso login` for SSO profiles, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; the existing catalog was left untouched"


def redact(text: str) -> str:
    """Strip anything that looks like an access key id and cap the length."""
    text = _KEYLIKE.sub("<redacted>", text)
    return text if len(text) <= 300 else text[:300] + "..."


def translate_error(exc: Exception, where: str) -> ExternalError:
    """Map a botocore exception to an ExternalError saying what failed (never a secret)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        msg = redact(str(err.get("Message", "")))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLE:
            return ExternalError(f"{where}: AWS kept throttling the requests ({code}) after all retries", hint="retry later, refresh fewer regions at a time, or raise --max-attempts; the existing catalog was left untouched")
        if code in _CREDS:
            detail = "" if code == "SignatureDoesNotMatch" else f": {msg}"
            return ExternalError(f"{where}: AWS rejected the credentials ({code}: missing, expired or invalid){detail}", hint=CRED_HINT)
        if code in _ACCESS:
            return ExternalError(f"{where}: access denied ({code}): {msg}", hint="the credentials need ec2:DescribeInstanceTypes, ec2:DescribeInstanceTypeOfferings, ec2:DescribeSpotPriceHistory and pricing:GetProducts; the existing catalog was left untouched")
        return ExternalError(f"{where}: AWS returned {code} (HTTP {status}): {msg}", hint="the existing catalog was left untouched")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError | bx.NoAuthTokenError):
        return ExternalError(f"{where}: no usable AWS credentials ({type(exc).__name__})", hint=CRED_HINT)
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError | bx.UnauthorizedSSOTokenError):
        return ExternalError(f"{where}: the AWS SSO session is missing or expired ({type(exc).__name__})", hint=CRED_HINT)
    if isinstance(exc, bx.ProfileNotFound):
        return ExternalError(f"AWS profile not found: {redact(str(exc))}", hint="check --aws-profile / AWS_PROFILE against ~/.aws/config; the existing catalog was left untouched")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError | bx.ReadTimeoutError | bx.ConnectTimeoutError | bx.ConnectionError | bx.HTTPClientError):
        return ExternalError(f"{where}: the connection to AWS failed after all retries ({type(exc).__name__}: {redact(str(exc))})", hint="check the network, --endpoint-url and the region; the existing catalog was left untouched")
    if isinstance(exc, bx.BotoCoreError):
        return ExternalError(f"{where}: {type(exc).__name__}: {redact(str(exc))}", hint="the existing catalog was left untouched")
    raise exc


@dataclass
class _Call:
    """Context for error messages and call counting."""

    region: str
    counter: list[int]

    def where(self, op: str, page: int | None = None) -> str:
        p = f", page {page}" if page is not None else ""
        return f"{op} ({self.region}{p})"


def _pages(client: Any, op: str, ctx: _Call, label: str, **kwargs: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    page_no = 0
    try:
        for page in client.get_paginator(op).paginate(**kwargs):
            page_no += 1
            ctx.counter[0] += 1
            yield page_no, page
    except (bx.BotoCoreError, bx.ClientError) as exc:
        raise translate_error(exc, ctx.where(label, page_no + 1)) from None
    except (ResponseParserError, UnicodeError, SyntaxError, ValueError, TypeError, KeyError) as exc:  # non-XML / non-UTF-8 replies, bad credential_process output
        raise ExternalError(f"{ctx.where(label, page_no + 1)}: AWS sent a reply scaleplan cannot read ({type(exc).__name__}: {redact(str(exc))[:200]})", hint="check --endpoint-url and the credentials' source (credential_process output); the existing catalog was left untouched") from None


# --------------------------------------------------------------------------------------------
# I/O: clients


MAX_REPLY_BYTES = 256 * 1024 * 1024  # one AWS reply; real pages are a few MB
CALL_DEADLINE_S = 120.0  # one HTTP exchange, however slowly the bytes drip
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 20  # silence on the socket before the attempt fails (and is retried)


class _Buffered:
    """A read reply, in the shape botocore's AWSResponse reads (``stream()``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


class _BoundedSession:
    """Wraps a client's HTTP session: every reply is read with a byte limit and a deadline.

    botocore reads a whole body into memory (an endless EC2 reply took 15 GB) and its read
    timeout only bounds silence (a server dripping a byte every 5 s never trips it). Here the
    body is read in small pieces (``read1``); past :data:`MAX_REPLY_BYTES` or
    :data:`CALL_DEADLINE_S` the call fails with exit 5.
    """

    def __init__(self, inner: Any, what: str) -> None:
        self.inner = inner
        self.what = what

    def send(self, request: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        start = time.monotonic()
        stream_output = request.stream_output
        request.stream_output = True
        resp = self.inner.send(request)
        if stream_output:
            return resp
        raw = resp.raw
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                piece = raw.read1(1 << 16) if hasattr(raw, "read1") else raw.read(1 << 16)
                if not piece:
                    break
                size += len(piece)
                chunks.append(piece)
                if size > MAX_REPLY_BYTES:
                    raise ExternalError(f"{self.what}: the reply is larger than {MAX_REPLY_BYTES >> 20} MiB", hint="check --endpoint-url; the existing catalog was left untouched")
                if time.monotonic() - start > CALL_DEADLINE_S:
                    raise ExternalError(f"{self.what}: the reply took longer than {CALL_DEADLINE_S:g} s", hint="the endpoint is too slow or stuck; retry later or check --endpoint-url; the existing catalog was left untouched")
        finally:
            with contextlib.suppress(Exception):
                raw.release_conn()
        return AWSResponse(resp.url, resp.status_code, resp.headers, _Buffered(b"".join(chunks)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def bounded(client: Any, what: str) -> Any:
    """``client`` with :class:`_BoundedSession` replies (see there)."""
    ep = getattr(client, "_endpoint", None)
    if ep is not None and hasattr(ep, "http_session") and not isinstance(ep.http_session, _BoundedSession):
        ep.http_session = _BoundedSession(ep.http_session, what)
    return client


def client_config(max_attempts: int) -> Any:
    from botocore.config import Config

    from scaleplan._version import __version__

    return Config(
        retries={"mode": "adaptive", "total_max_attempts": max_attempts},  # including the first
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra=f"scaleplan/{__version__}",
    )


def make_session(profile: str | None) -> Any:
    import boto3
    from botocore import exceptions as bx

    try:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
        creds = session.get_credentials()
    except (bx.BotoCoreError, bx.ClientError) as exc:
        raise translate_error(exc, "loading AWS credentials") from None
    except (ValueError, TypeError, KeyError) as exc:  # e.g. a credential_process with a bad Expiration
        raise ExternalError(f"loading AWS credentials: the credential source returned something unusable ({type(exc).__name__}: {redact(str(exc))[:200]})", hint=CRED_HINT) from None
    if creds is None:
        raise ExternalError(
            "no AWS credentials found" + (f" for profile {profile!r}" if profile else " (no profile, environment variables, config files or instance role)"),
            hint=CRED_HINT,
        )
    return session


def make_ec2_client(session: Any, region: str, endpoint_url: str | None, max_attempts: int) -> Any:
    return bounded(_client(session, "ec2", region, endpoint_url, max_attempts), f"EC2 ({region})")


def make_pricing_client(session: Any, max_attempts: int) -> Any:
    return bounded(_client(session, "pricing", PRICING_REGION, None, max_attempts), "Pricing")


def _client(session: Any, service: str, region: str, endpoint_url: str | None, max_attempts: int) -> Any:
    from botocore import exceptions as bx

    try:
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=client_config(max_attempts))
    except ValueError as exc:  # "Invalid endpoint: notaurl"
        raise ExternalError(f"cannot create the AWS {service} client for {region}: {redact(str(exc))}", hint="check --endpoint-url (http(s)://host[:port]) and the region") from None
    except bx.BotoCoreError as exc:
        raise translate_error(exc, f"creating the AWS {service} client ({region})") from None


# --------------------------------------------------------------------------------------------
# I/O: fetching


def pricing_filters(region: str) -> list[dict[str, str]]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
        {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
        {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
        {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
    ]


def fetch_region(region: str, ec2: Any, pricing: Any, *, catalog: Catalog, fixups: Fixups, now: datetime, progress: Progress | None = None) -> RegionData:
    """All four API calls for one region (each paginated)."""
    data = RegionData(region=region)
    ctx = _Call(region, [0])
    step = progress or (lambda _msg: None)

    # 1. instance types (server-side family filter, local accelerator/CPU filter)
    for _, page in _pages(ec2, "describe_instance_types", ctx, "EC2 DescribeInstanceTypes", Filters=[{"Name": "instance-type", "Values": fixups.server_filter_patterns()}], PaginationConfig={"PageSize": 100}):
        for it in page.get("InstanceTypes", []):
            try:
                spec = type_spec(it, catalog, fixups)
            except (KeyError, TypeError, ValueError) as exc:
                raise ExternalError(f"EC2 DescribeInstanceTypes ({region}): unexpected entry {str(it.get('InstanceType', '?'))!r}: {type(exc).__name__}: {exc}", hint="the existing catalog was left untouched; report this with SCALEPLAN_DEBUG=1") from None
            if isinstance(spec, TypeSpec):
                data.specs[spec.instance_type] = spec
            elif isinstance(spec, str):
                data.warnings.append(f"{region}: {spec}")
    step(f"{region}: {len(data.specs)} instance types")

    # 2. zones
    zones: dict[str, set[str]] = {}
    for _, page in _pages(ec2, "describe_instance_type_offerings", ctx, "EC2 DescribeInstanceTypeOfferings", LocationType="availability-zone", PaginationConfig={"PageSize": 1000}):
        for o in page.get("InstanceTypeOfferings", []):
            t = str(o.get("InstanceType"))
            if t in data.specs:
                zones.setdefault(t, set()).add(str(o.get("Location")))
    data.zones = {t: tuple(sorted(z)) for t, z in zones.items()}
    if not data.zones:
        raise InputError(None, message=f"region {region!r}: EC2 reports none of the tracked instance types offered there", hint="check the region name and that the region is enabled for your account; the existing catalog was left untouched")
    step(f"{region}: offered in {len({z for zs in data.zones.values() for z in zs})} zones")

    # 3. on-demand prices: one paginated GetProducts per region
    items: list[PriceItem] = []
    for page_no, page in _pages(pricing, "get_products", ctx, "Pricing GetProducts", ServiceCode="AmazonEC2", Filters=pricing_filters(region), FormatVersion="aws_v1", PaginationConfig={"PageSize": 100}):
        for i, text in enumerate(page.get("PriceList", [])):
            try:
                pi = parse_price_item(text)
            except MalformedPrice as exc:
                raise ExternalError(f"Pricing GetProducts ({region}, page {page_no}, item {i + 1}): malformed PriceList entry: {exc}", hint="the Price List API returned data scaleplan cannot read; retry later; the existing catalog was left untouched") from None
            if pi is not None and pi.region in (None, region):
                items.append(pi)
    wanted = set(data.zones)
    data.ondemand, warns = ondemand_prices(items, wanted)
    data.warnings.extend(f"{region}: {w}" for w in warns)
    step(f"{region}: {len(data.ondemand)} on-demand prices")

    # 4. spot prices: latest per zone (StartTime=now)
    entries: list[dict[str, Any]] = []
    types = sorted(wanted)
    for start in range(0, len(types), 100):
        for _, page in _pages(ec2, "describe_spot_price_history", ctx, "EC2 DescribeSpotPriceHistory", InstanceTypes=types[start : start + 100], ProductDescriptions=["Linux/UNIX"], StartTime=now, PaginationConfig={"PageSize": 1000}):
            entries.extend(page.get("SpotPriceHistory", []))
    data.spot = spot_stats(entries, data.ondemand)
    step(f"{region}: spot prices for {sum(1 for s in data.spot.values() if s.minimum is not None)} types")
    data.calls = ctx.counter[0]
    return data


@dataclass(frozen=True)
class RefreshResult:
    catalog: CatalogFile
    new_rows: tuple[InstanceRow, ...]
    warnings: tuple[str, ...]
    calls: int


def refresh_aws(
    regions: Sequence[str],
    *,
    current: CatalogFile | None,
    session: Any = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    pricing_client: Any = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: datetime | None = None,
    progress: Progress | None = None,
    accelerators: Sequence[Accelerator] | None = None,
) -> RefreshResult:
    """Fetch ``regions`` from AWS and merge them into ``current`` (nothing is written here).

    ``pricing_client`` is injectable (tests pass a botocore-Stubber client; the Price List
    API has no local emulator). EC2 goes to ``endpoint_url`` when given.
    """
    from scaleplan._version import __version__
    from scaleplan.catalog.files import load_accelerators

    now = now or datetime.now(UTC)
    accs = list(accelerators if accelerators is not None else load_accelerators())
    if current is not None:
        accs.extend(current.accelerators)
    catalog = Catalog(accelerators=tuple(accs), rows=())
    fixups = load_fixups()
    if session is None:
        session = make_session(profile)
    pricing = pricing_client if pricing_client is not None else make_pricing_client(session, max_attempts)
    fetched_at = utc_iso(now)
    new_rows: list[InstanceRow] = []
    warnings: list[str] = []
    calls = 0
    for region in regions:
        ec2 = make_ec2_client(session, region, endpoint_url, max_attempts)
        data = fetch_region(region, ec2, pricing, catalog=catalog, fixups=fixups, now=now, progress=progress)
        rows, warns = region_rows(data, fetched_at)
        if not rows:
            raise ExternalError(f"region {region}: no instance type has both an offering and an On-Demand price", hint="check that the Price List API answered for this region; the existing catalog was left untouched")
        new_rows.extend(rows)
        warnings.extend(data.warnings)
        warnings.extend(warns)
        calls += data.calls
    merged = merge_rows(current, new_rows, regions)
    cf = build_catalog_file(current, merged, regions, now, __version__)
    return RefreshResult(catalog=cf, new_rows=tuple(new_rows), warnings=tuple(warnings), calls=calls)


# A hook for tests and embedders: when set, the CLI uses the client it returns for the Price
# List API (which has no local emulator) instead of a real one.
PRICING_CLIENT_FACTORY: Callable[[], Any] | None = None


def pricing_client_override() -> Any:
    return PRICING_CLIENT_FACTORY() if PRICING_CLIENT_FACTORY is not None else None
