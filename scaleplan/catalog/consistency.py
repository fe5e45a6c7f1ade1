"""Prices that contradict each other within one provider and region (pure).

A row *contains* another of the same provider and region when it holds at least as much of
everything the other holds, and more of something: GPUs of the same generation that match or
beat the other's on every figure the other's specs state (memory, memory bandwidth, dense
peaks), at least as many of them, at least as many vCPUs and as much host memory. A list price
cannot be below the price of a row it contains (the larger machine holds the smaller one's
hardware and more); a row whose on-demand price is below is flagged ``price-inversion`` by
``tools/build_catalogs.py``, as the GCP A3 rows are flagged ``suspect-price``: the optimizer
leaves it out unless ``placement.include_flagged`` (docs/catalog.md, "Flagged rows").

Only the cheaper row is flagged: its price is the one a plan would rest on. Spot prices are not
compared: they are a market (AWS's are not even monotonic in size within a family). Nor are
accelerators of different generations or without one: a newer part may rightly cost less.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scaleplan.catalog.model import Accelerator, InstanceRow

PRICE_INVERSION = "price-inversion"

# what each catalog flag says of a row, as ``catalog list`` / ``show`` print it under a table
# (docs/catalog.md has the table with the rows each applies to)
FLAG_MEANINGS = {
    "suspect-price": "the source's GPU prices for these rows are internally inconsistent",
    "price-inversion": (
        "priced on demand below a row of the same provider and region that it contains"
    ),
}

# the shipped rows that carry ``suspect-price``, and why (said only where a table shows one)
A3_EXAMPLE = "GCP A3: a3-highgpu-8g $43.07/h in us-central1, $111.82/h in europe-west4"

# the figures one GPU must match or beat for a row to contain another (those the other states)
SPEC_FIELDS = (
    "memory_gib", "memory_bandwidth_gbs", "fp16_tflops", "bf16_tflops", "fp8_tflops", "int8_tops",
)


def gpu_at_least(a: Accelerator, b: Accelerator) -> bool:
    """Whether GPU ``a`` is ``b`` or the same generation's part with as much or more of every
    figure ``b``'s specs state (A100-80GB and A100; H200 and H100)."""
    if a.generation is None or a.generation != b.generation:
        return False
    for field in SPEC_FIELDS:
        need = getattr(b, field)
        if need is None:
            continue
        have = getattr(a, field)
        if have is None or have < need:
            return False
    return True


def contains(big: InstanceRow, small: InstanceRow, accs: Mapping[str, Accelerator]) -> bool:
    """Whether ``big`` holds all of ``small``'s hardware and more (same provider and region)."""
    if big.key[:2] != small.key[:2] or big.accelerator is None or small.accelerator is None:
        return False
    a, b = accs.get(big.accelerator), accs.get(small.accelerator)
    if a is None or b is None or not gpu_at_least(a, b):
        return False
    mine = (big.accelerator_count, big.vcpus, big.memory_gib)
    theirs = (small.accelerator_count, small.vcpus, small.memory_gib)
    if any(m < t for m, t in zip(mine, theirs, strict=True)):
        return False
    return big.accelerator != small.accelerator or mine != theirs


def price_inversions(
    rows: Iterable[InstanceRow], accs: Mapping[str, Accelerator]
) -> dict[tuple[str, str, str], InstanceRow]:
    """Each row whose on-demand price is below that of a row it contains, by key, with the
    dearest row it undercuts (what the flag's caveat names)."""
    by_place: dict[tuple[str, str], list[InstanceRow]] = {}
    for r in rows:
        if r.accelerator is not None and r.price_ondemand is not None:
            by_place.setdefault(r.key[:2], []).append(r)
    found: dict[tuple[str, str, str], InstanceRow] = {}
    for group in by_place.values():
        for big in group:
            for small in group:
                assert big.price_ondemand is not None and small.price_ondemand is not None
                if big.price_ondemand >= small.price_ondemand or not contains(big, small, accs):
                    continue
                seen = found.get(big.key)
                if seen is None or (seen.price_ondemand or 0.0) < small.price_ondemand:
                    found[big.key] = small
    return found
