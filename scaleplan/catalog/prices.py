"""Price List and spot price payloads -> prices, with the plausibility checks a refresh applies.

Pure. :func:`parse_price_item` reads one Price List ``GetProducts`` entry (plain On-Demand
Linux compute only; anything not as documented is :class:`MalformedPrice`),
:func:`ondemand_prices` keeps one price per wanted type, :func:`spot_stats` turns
``DescribeSpotPriceHistory`` entries into the minimum and median over zones, and
:func:`implausible_prices` names refreshed prices that cannot be right.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scaleplan.catalog.model import MAX_PRICE, InstanceRow

# a plain decimal only: Python's float() also reads "1_000", " 1e300 ", "inf"
_USD = re.compile(r"[0-9]{1,12}(\.[0-9]{1,20})?\Z")
MIN_PLAUSIBLE_PRICE = 1e-4  # USD per instance-hour; the cheapest EC2 type costs ~0.004
PRICE_JUMP = 100.0  # a refreshed price this many times off the current one is refused


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
    if not isinstance(terms, dict) or not isinstance(terms.get("OnDemand"),
            dict) or not terms["OnDemand"]:
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
            if isinstance(usd, bool) or not (isinstance(usd, int | float)
                    or (isinstance(usd, str) and _USD.fullmatch(usd))):
                raise MalformedPrice(f"{itype}: pricePerUnit.USD is {str(usd)[:40]!r}, not a "
                    "number (AWS sends plain decimals)")
            value = float(usd)
            if value != value or value < 0 or value > MAX_PRICE:
                raise MalformedPrice(f"{itype}: pricePerUnit.USD is {str(usd)[:40]!r}, outside 0 "
                    f"to {MAX_PRICE:g} USD/h")
            prices.append(value)
    if not prices:
        raise MalformedPrice(f"{itype}: no hourly USD price")
    price = max(prices)
    if price == 0:
        return None
    return (PriceItem(str(itype), attrs.get("regionCode"), price, str(product.get("sku", "")),
        market, operation))




def implausible_prices(new_rows: Sequence[InstanceRow],
        reference: Sequence[InstanceRow]) -> list[str]:
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


def ondemand_prices(items: Iterable[PriceItem],
        wanted: set[str]) -> tuple[dict[str, float], list[str]]:
    found: dict[str, list[float]] = {}
    for it in items:
        if it.instance_type in wanted:
            found.setdefault(it.instance_type, []).append(it.price)
    warnings: list[str] = []
    out: dict[str, float] = {}
    for t, ps in sorted(found.items()):
        if len(set(ps)) > 1:
            warnings.append(f"{t}: {len(ps)} On-Demand Linux SKUs with prices {sorted(set(ps))}; "
                "kept the lowest")
        out[t] = min(ps)
    return out, warnings


@dataclass(frozen=True)
class SpotStats:
    minimum: float | None
    median: float | None
    zones: tuple[str, ...]


def spot_stats(entries: Iterable[Mapping[str, Any]],
        ondemand: Mapping[str, float]) -> dict[str, SpotStats]:
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
