"""Live AWS catalog refresh: the EC2 and Price List API calls (the only boto3 user).

:func:`refresh_aws` fetches each region with :func:`fetch_region` and hands the payloads to
the pure modules: :mod:`~scaleplan.catalog.instance_types` (accelerator fix-ups),
:mod:`~scaleplan.catalog.prices` (price parsing, spot statistics) and
:mod:`~scaleplan.catalog.assemble` (rows, merging with an existing catalog file). The calls:

* EC2 ``DescribeInstanceTypes`` (paginated, filtered server-side by family patterns),
* EC2 ``DescribeInstanceTypeOfferings`` (``LocationType=availability-zone``, paginated),
* Pricing ``GetProducts`` (us-east-1 endpoint; one paginated call per region with every
  filter except ``instanceType``; the wanted types are picked client-side),
* EC2 ``DescribeSpotPriceHistory`` (``Linux/UNIX``, ``StartTime=now``: the latest price per
  zone; kept as minimum and median over the region's zones).

Every reply is read with a byte cap and a deadline (:class:`_BoundedSession`); retries are
botocore's adaptive mode. Every botocore failure is turned into
:class:`~scaleplan.errors.ExternalError` (exit 5) with the operation, region and page that
failed; no credential is ever put into a message.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scaleplan.catalog.assemble import (
    RegionData,
    build_catalog_file,
    merge_rows,
    region_rows,
    utc_iso,
)
from scaleplan.catalog.instance_types import Fixups, TypeSpec, load_fixups, type_spec
from scaleplan.catalog.model import Accelerator, Catalog, CatalogFile, InstanceRow
from scaleplan.catalog.prices import (
    MalformedPrice,
    PriceItem,
    ondemand_prices,
    parse_price_item,
    spot_stats,
)
from scaleplan.errors import ExternalError, InputError

PRICING_REGION = "us-east-1"
DEFAULT_MAX_ATTEMPTS = 8
# Steps reported to the progress callback per region.
STEPS_PER_REGION = 4

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# I/O: errors

_THROTTLE = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown", "ProvisionedThroughputExceededException"}
_CREDS = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "AuthFailure",
    "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId",
    "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken"}
_ACCESS = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "OptInRequired",
    "Blocked"}
_KEYLIKE = re.compile(r"\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
CRED_HINT = ("configure credentials: --aws-profile NAME (or AWS_PROFILE), `aws sso login` for SSO "
    "profiles, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; the existing catalog was left untouched")


def redact(text: str) -> str:
    """Strip anything that looks like an access key id and cap the length."""
    text = _KEYLIKE.sub("<redacted>", text)
    return text if len(text) <= 300 else text[:300] + "..."


def _connection_hint(where: str) -> str:
    """--endpoint-url redirects EC2 only: a Price List failure is AWS's own endpoint."""
    if where.startswith("Pricing"):
        return (
            "check the network (the Price List API is AWS's own us-east-1 endpoint; --endpoint-url"
            " applies to EC2 only, so a local moto server cannot answer it); the existing catalog"
            " was left untouched"
        )
    return (
        "check the network, --endpoint-url and the region; the existing catalog was left untouched"
    )


def translate_error(exc: Exception, where: str) -> ExternalError:
    """Map a botocore exception to an ExternalError saying what failed (never a secret)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        msg = redact(str(err.get("Message", "")))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLE:
            return ExternalError(f"{where}: AWS kept throttling the requests ({code}) "
                "after all retries", hint="retry later, refresh fewer regions at a time, or raise "
                "--max-attempts; the existing catalog was left untouched")
        if code in _CREDS:
            detail = "" if code == "SignatureDoesNotMatch" else f": {msg}"
            return ExternalError(f"{where}: AWS rejected the credentials ({code}: missing, expired "
                f"or invalid){detail}", hint=CRED_HINT)
        if code in _ACCESS:
            return ExternalError(f"{where}: access denied ({code}): {msg}",
                hint="the credentials need ec2:DescribeInstanceTypes, "
                "ec2:DescribeInstanceTypeOfferings, ec2:DescribeSpotPriceHistory and "
                "pricing:GetProducts; the existing catalog was left untouched")
        return ExternalError(f"{where}: AWS returned {code} (HTTP {status}): {msg}",
            hint="the existing catalog was left untouched")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError | bx.NoAuthTokenError):
        return ExternalError(f"{where}: no usable AWS credentials ({type(exc).__name__})",
            hint=CRED_HINT)
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError | bx.UnauthorizedSSOTokenError):
        return ExternalError(f"{where}: the AWS SSO session is missing or expired "
            f"({type(exc).__name__})", hint=CRED_HINT)
    if isinstance(exc, bx.ProfileNotFound):
        return ExternalError(f"AWS profile not found: {redact(str(exc))}",
            hint="check --aws-profile / AWS_PROFILE against ~/.aws/config; the existing catalog "
            "was left untouched")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError | bx.ReadTimeoutError | bx.ConnectTimeoutError | bx.ConnectionError | bx.HTTPClientError):
        return ExternalError(f"{where}: the connection to AWS failed after all retries "
            f"({type(exc).__name__}: {redact(str(exc))})", hint=_connection_hint(where))
    if isinstance(exc, bx.BotoCoreError):
        return ExternalError(f"{where}: {type(exc).__name__}: {redact(str(exc))}",
            hint="the existing catalog was left untouched")
    raise exc


@dataclass
class _Call:
    """Context for error messages and call counting."""

    region: str
    counter: list[int]

    def where(self, op: str, page: int | None = None) -> str:
        p = f", page {page}" if page is not None else ""
        return f"{op} ({self.region}{p})"


def _pages(client: Any, op: str, ctx: _Call, label: str,
        **kwargs: Any) -> Iterator[tuple[int, dict[str, Any]]]:
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
    except (ResponseParserError, UnicodeError, SyntaxError, ValueError, TypeError,
            KeyError) as exc:  # non-XML / non-UTF-8 replies, bad credential_process output
        raise ExternalError(f"{ctx.where(label, page_no + 1)}: AWS sent a reply scaleplan cannot "
            f"read ({type(exc).__name__}: {redact(str(exc))[:200]})",
            hint="check --endpoint-url and the credentials' source (credential_process output); "
            "the existing catalog was left untouched") from None


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
                    raise ExternalError(f"{self.what}: the reply is larger than "
                        f"{MAX_REPLY_BYTES >> 20} MiB", hint="check --endpoint-url; the existing "
                        "catalog was left untouched")
                if time.monotonic() - start > CALL_DEADLINE_S:
                    raise ExternalError(f"{self.what}: the reply took longer than "
                        f"{CALL_DEADLINE_S:g} s", hint="the endpoint is too slow or stuck; retry "
                        "later or check --endpoint-url; the existing catalog was left untouched")
        finally:
            with contextlib.suppress(Exception):
                raw.release_conn()
        return AWSResponse(resp.url, resp.status_code, resp.headers, _Buffered(b"".join(chunks)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def bounded(client: Any, what: str) -> Any:
    """``client`` with :class:`_BoundedSession` replies (see there)."""
    ep = getattr(client, "_endpoint", None)
    if (ep is not None and hasattr(ep, "http_session")
            and not isinstance(ep.http_session, _BoundedSession)):
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
    except (ValueError, TypeError,
            KeyError) as exc:  # e.g. a credential_process with a bad Expiration
        raise ExternalError("loading AWS credentials: the credential source returned something "
            f"unusable ({type(exc).__name__}: {redact(str(exc))[:200]})", hint=CRED_HINT) from None
    if creds is None:
        raise ExternalError(
            "no AWS credentials found" + (f" for profile {profile!r}" if profile
                else " (no profile, environment variables, config files or instance role)"),
            hint=CRED_HINT,
        )
    return session


def make_ec2_client(session: Any, region: str, endpoint_url: str | None, max_attempts: int) -> Any:
    return bounded(_client(session, "ec2", region, endpoint_url, max_attempts), f"EC2 ({region})")


def make_pricing_client(session: Any, max_attempts: int) -> Any:
    return bounded(_client(session, "pricing", PRICING_REGION, None, max_attempts), "Pricing")


def _client(session: Any, service: str, region: str, endpoint_url: str | None,
        max_attempts: int) -> Any:
    from botocore import exceptions as bx

    try:
        return session.client(service, region_name=region, endpoint_url=endpoint_url,
            config=client_config(max_attempts))
    except ValueError as exc:  # "Invalid endpoint: notaurl"
        raise ExternalError(f"cannot create the AWS {service} client for {region}: "
            f"{redact(str(exc))}", hint="check --endpoint-url (http(s)://host[:port]) "
            "and the region") from None
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


def fetch_region(region: str, ec2: Any, pricing: Any, *, catalog: Catalog, fixups: Fixups,
        now: datetime, progress: Progress | None = None) -> RegionData:
    """All four API calls for one region (each paginated)."""
    data = RegionData(region=region)
    ctx = _Call(region, [0])
    step = progress or (lambda _msg: None)
    _fetch_types(ec2, ctx, data, catalog, fixups)
    step(f"{region}: {len(data.specs)} instance types")
    _fetch_zones(ec2, ctx, data)
    step(f"{region}: offered in {len({z for zs in data.zones.values() for z in zs})} zones")
    _fetch_ondemand(pricing, ctx, data)
    step(f"{region}: {len(data.ondemand)} on-demand prices")
    _fetch_spot(ec2, ctx, data, now)
    step(f"{region}: spot prices for "
        f"{sum(1 for s in data.spot.values() if s.minimum is not None)} types")
    data.calls = ctx.counter[0]
    return data


def _fetch_types(ec2: Any, ctx: _Call, data: RegionData, catalog: Catalog, fixups: Fixups) -> None:
    """Instance types into ``data.specs`` (server-side family filter, local accelerator/CPU filter)."""
    region = data.region
    for _, page in _pages(ec2, "describe_instance_types", ctx, "EC2 DescribeInstanceTypes",
            Filters=[{"Name": "instance-type", "Values": fixups.server_filter_patterns()}],
            PaginationConfig={"PageSize": 100}):
        for it in page.get("InstanceTypes", []):
            try:
                spec = type_spec(it, catalog, fixups)
            except (KeyError, TypeError, ValueError) as exc:
                raise ExternalError(f"EC2 DescribeInstanceTypes ({region}): unexpected entry "
                    f"{str(it.get('InstanceType', '?'))!r}: {type(exc).__name__}: {exc}",
                    hint="the existing catalog was left untouched; report this with "
                    "SCALEPLAN_DEBUG=1") from None
            if isinstance(spec, TypeSpec):
                data.specs[spec.instance_type] = spec
            elif isinstance(spec, str):
                data.warnings.append(f"{region}: {spec}")


def _fetch_zones(ec2: Any, ctx: _Call, data: RegionData) -> None:
    """The zones each tracked type is offered in, into ``data.zones`` (none at all: exit 3)."""
    zones: dict[str, set[str]] = {}
    for _, page in _pages(ec2, "describe_instance_type_offerings", ctx,
            "EC2 DescribeInstanceTypeOfferings", LocationType="availability-zone",
            PaginationConfig={"PageSize": 1000}):
        for o in page.get("InstanceTypeOfferings", []):
            t = str(o.get("InstanceType"))
            if t in data.specs:
                zones.setdefault(t, set()).add(str(o.get("Location")))
    data.zones = {t: tuple(sorted(z)) for t, z in zones.items()}
    if not data.zones:
        raise InputError(None, message=f"region {data.region!r}: EC2 reports none of the tracked "
            "instance types offered there", hint="check the region name and that the region is "
            "enabled for your account; the existing catalog was left untouched")


def _fetch_ondemand(pricing: Any, ctx: _Call, data: RegionData) -> None:
    """On-demand prices of the offered types into ``data.ondemand``: one paginated GetProducts."""
    region = data.region
    items: list[PriceItem] = []
    for page_no, page in _pages(pricing, "get_products", ctx, "Pricing GetProducts",
            ServiceCode="AmazonEC2", Filters=pricing_filters(region), FormatVersion="aws_v1",
            PaginationConfig={"PageSize": 100}):
        for i, text in enumerate(page.get("PriceList", [])):
            try:
                pi = parse_price_item(text)
            except MalformedPrice as exc:
                raise ExternalError(f"Pricing GetProducts ({region}, page {page_no}, item "
                    f"{i + 1}): malformed PriceList entry: {exc}",
                    hint="the Price List API returned data scaleplan cannot read; retry later; the "
                    "existing catalog was left untouched") from None
            if pi is not None and pi.region in (None, region):
                items.append(pi)
    data.ondemand, warns = ondemand_prices(items, set(data.zones))
    data.warnings.extend(f"{region}: {w}" for w in warns)


def _fetch_spot(ec2: Any, ctx: _Call, data: RegionData, now: datetime) -> None:
    """Spot prices of the offered types into ``data.spot``: the latest per zone (StartTime=now)."""
    entries: list[dict[str, Any]] = []
    types = sorted(data.zones)
    for start in range(0, len(types), 100):
        for _, page in _pages(ec2, "describe_spot_price_history", ctx,
                "EC2 DescribeSpotPriceHistory", InstanceTypes=types[start : start + 100],
                ProductDescriptions=["Linux/UNIX"], StartTime=now,
                PaginationConfig={"PageSize": 1000}):
            entries.extend(page.get("SpotPriceHistory", []))
    data.spot = spot_stats(entries, data.ondemand)


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
    pricing = (pricing_client if pricing_client is not None
        else make_pricing_client(session, max_attempts))
    fetched_at = utc_iso(now)
    new_rows: list[InstanceRow] = []
    warnings: list[str] = []
    calls = 0
    for region in regions:
        ec2 = make_ec2_client(session, region, endpoint_url, max_attempts)
        data = fetch_region(region, ec2, pricing, catalog=catalog, fixups=fixups, now=now,
            progress=progress)
        rows, warns = region_rows(data, fetched_at)
        if not rows:
            raise ExternalError(f"region {region}: no instance type has both an offering and an "
                "On-Demand price", hint="check that the Price List API answered for this region; "
                "the existing catalog was left untouched")
        new_rows.extend(rows)
        warnings.extend(data.warnings)
        warnings.extend(warns)
        calls += data.calls
    merged = merge_rows(current, new_rows, regions)
    cf = build_catalog_file(current, merged, regions, now, __version__)
    return RefreshResult(catalog=cf, new_rows=tuple(new_rows), warnings=tuple(warnings),
        calls=calls)


# A hook for tests and embedders: when set, the CLI uses the client it returns for the Price
# List API (which has no local emulator) instead of a real one.
PRICING_CLIENT_FACTORY: Callable[[], Any] | None = None


def pricing_client_override() -> Any:
    return PRICING_CLIENT_FACTORY() if PRICING_CLIENT_FACTORY is not None else None
