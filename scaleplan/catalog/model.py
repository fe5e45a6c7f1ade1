"""Catalog format v1 (``kind: Catalog``) and accelerator specs (``kind: AcceleratorSpecs``).

A catalog file lists instance types per (provider, region) with prices; ``catalogs/`` ships one
per cloud, built from ``../shared/data`` by ``tools/build_catalogs.py`` with a provenance
header. Users add files with ``--catalog PATH``: later rows override earlier ones by
(provider, region, instance_type); ``price_multiplier`` models negotiated discounts.
"""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

import functools
import re
from collections.abc import Collection
from typing import Any, Literal

from pydantic import Field, model_validator

from scaleplan.names import PROVIDER_NAME
from scaleplan.problems import StrictModel, fix, refuse_bool_numbers, refuse_control_chars

CapacityType = Literal["on-demand", "spot"]


MAX_PRICE = 1e6  # USD per instance-hour: far above any real price, finite


class _Model(StrictModel):
    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:  # StrictModel's, and no control characters
        return refuse_control_chars(refuse_bool_numbers(cls, data))


# How far a GPU memory figure (a catalog row's accelerator_memory_gib, a cloud API's reported
# device memory in `catalog refresh`) may be from its accelerator's and still be that part,
# either way: GB written for GiB (80 GB = 74.5 GiB, -6.9 %) and the usable memory AWS reports
# (L4 22.35 of 24, L40S 44.7 of 48, B300 ~268 of 288 GiB: all within 7 %) are inside; another
# part (Trainium2's 96 GiB for Trainium's 32, A100-80GB's 80 for A100's 40) is not. One figure
# for both: until 2026-12-07 refresh accepted 30 % (aws_fixups memory_tolerance 1.3) and the
# loader 10 %, so a refreshed row could be refused by the loader it was written for.
MEMORY_TOLERANCE = 0.1


def same_memory(stated: float, nominal: float) -> bool:
    """Whether ``stated`` GiB is the memory ``nominal`` GiB within :data:`MEMORY_TOLERANCE`
    (88 of 80 is inside, though 88 / 80 - 1 is 0.1000...09 in floating point)."""
    return abs(stated / nominal - 1) <= MEMORY_TOLERANCE + 1e-9


class Accelerator(_Model):
    name: str = Field(description="Canonical name (L4, A10G, H100, ...).")
    vendor: str = "nvidia"
    aliases: tuple[str, ...] = ()
    memory_gib: float = Field(gt=0)
    cuda_memory_gib: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Memory the driver reports (nvidia-smi's total), GiB: what an engine's memory "
            "fraction multiplies; the LLM memory model sizes with it (else memory_gib)."
        ),
    )
    cuda_memory_source: str | None = Field(default=None, description="cuda_memory_gib's source.")
    memory_bandwidth_gbs: float | None = Field(default=None, gt=0)
    fp16_tflops: float | None = Field(default=None, gt=0, description="Dense FP16 tensor TFLOPS.")
    bf16_tflops: float | None = Field(default=None, gt=0)
    int8_tops: float | None = Field(default=None, gt=0)
    fp8_tflops: float | None = Field(default=None, gt=0, description="Dense FP8 tensor TFLOPS "
        "(Ada, Hopper, Blackwell).")
    generation: Literal["volta", "turing", "ampere", "ada", "hopper",
        "blackwell"] | None = Field(default=None, description="Architecture generation (decides "
        "the estimator's efficiency factor and native dtypes).")
    peaks_source: str | None = Field(default=None, description="Where the dtype peaks not in the "
        "shared specs come from (vendor data sheets).")
    interconnect: str | None = None
    tdp_watts: float | None = Field(default=None, gt=0)
    k8s_resource: str = Field(default="nvidia.com/gpu", description="Extended resource name "
        "pods request.")
    gpu_product: str | None = Field(default=None, description="nvidia.com/gpu.product label value "
        "(GPU feature discovery).")
    gke_accelerator: str | None = Field(default=None, description="cloud.google.com/gke-accelerator value.")
    karpenter_gpu_name: str | None = Field(default=None, description="karpenter.k8s.aws/instance-gpu-name value.")
    source: str | None = None


# the words `catalog refresh` puts in a file's provenance.builder ("scaleplan 1.2 catalog refresh")
REFRESH_BUILDER = "catalog refresh"


class Provenance(_Model):
    source: str
    commits: dict[str, str] = Field(default_factory=dict)
    build_date: str | None = None
    prices_as_of: str | None = Field(
        default=None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description=(
            "Date (YYYY-MM-DD) the source observed these prices, where known: the date of a "
            "row without its own fetched_at (else build_date), which optimize's price-age "
            "warnings read."
        ),
    )
    builder: str | None = None
    caveats: tuple[str, ...] = ()

    @property
    def prices_dated(self) -> str | None:
        """The date a row without its own ``fetched_at`` is priced at: ``prices_as_of`` where
        the file states it, else its ``build_date``."""
        return self.prices_as_of or self.build_date

    @property
    def refreshed(self) -> bool:
        """Whether `catalog refresh` wrote the file from the cloud's own API (its builder)."""
        return REFRESH_BUILDER in (self.builder or "")


# a zone of region R is R, this separator and the zone's own part (topology.kubernetes.io/zone)
ZONE_SEPARATOR = {"aws": "", "gcp": "-", "azure": "-"}
ZONE_EXAMPLE = {"aws": "{region}a", "gcp": "{region}-a", "azure": "{region}-1"}


def zone_of_region(provider: str, region: str, zone: str, listed: Collection[str] = ()) -> bool:
    """Whether ``zone`` is a zone of ``provider``'s ``region``: a cloud's by its label form
    (``region``, :data:`ZONE_SEPARATOR`, the zone's own part; AWS's starts with a letter or a
    dash: us-east-1a and us-east-1-lax-1a, not us-east-10a); a provider of your own names its
    zones as it likes, so there one of ``listed``, the zones its catalog rows of the region
    list. The one rule for catalog rows, ``placement.zones`` and zones written as regions."""
    sep = ZONE_SEPARATOR.get(provider)
    if sep is None:
        return zone in listed
    if not zone.startswith(region + sep):
        return False
    rest = zone[len(region) + len(sep):]
    return bool(rest) and (sep != "" or not rest[0].isdigit())


class InstanceRow(_Model):
    provider: str = Field(
        pattern=PROVIDER_NAME,
        description="aws, gcp, azure or a name of your own (onprem, a neocloud).",
    )
    region: str
    instance_type: str
    family: str = Field(description="Quota family (g6, p4d, a2, Standard_NCads_A100_v4, ...).")
    accelerator: str | None = Field(default=None, description="Canonical accelerator, or null for "
        "CPU-only types.")
    accelerator_count: int = Field(default=0, ge=0, le=1024)
    accelerator_memory_gib: float | None = Field(default=None, gt=0)
    vcpus: int = Field(gt=0, le=1_000_000)
    memory_gib: float = Field(gt=0, le=1e6)
    cpu_arch: Literal["x86_64", "arm64"] = "x86_64"
    price_ondemand: float | None = Field(default=None, ge=0, le=MAX_PRICE,
        description="USD per hour, whole instance.")
    price_spot: float | None = Field(default=None, ge=0, le=MAX_PRICE,
        description="USD per hour; null if unknown or not offered.")
    price_spot_median: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    zones: tuple[str, ...] = ()
    gke_accelerator: str | None = Field(
        default=None,
        description=(
            "This machine type's cloud.google.com/gke-accelerator value where it is not its "
            "accelerator's (A3 Mega: nvidia-h100-mega-80gb)."
        ),
    )
    gpu_product: str | None = Field(
        default=None,
        description=(
            "This type's nvidia.com/gpu.product value where it is not its accelerator's "
            "(a PCIe part: NVIDIA-A100-80GB-PCIe)."
        ),
    )
    node_labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Labels this node type's nodes carry that render selects them by, besides the GPU "
            "labels (your own node pools: pool: a100-owned); on every flavor."
        ),
    )
    flags: tuple[str, ...] = Field(default=(), description="Known data problems (suspect-price, "
        "price-inversion): excluded unless placement.include_flagged.")
    source: str | None = None
    fetched_at: str | None = None

    @model_validator(mode="after")
    def _zones_of_the_region(self) -> "InstanceRow":
        """A cloud's zone names start with their region's (UX review 10: a misspelt zone, or
        another region's, was taken, and the plan spread over zones that do not exist)."""
        sep = ZONE_SEPARATOR.get(self.provider)
        if sep is None:  # a provider of your own names its zones as it likes
            return self
        for z in self.zones:
            if not zone_of_region(self.provider, self.region, z):
                example = ZONE_EXAMPLE[self.provider].format(region=self.region)
                raise ValueError(fix(
                    f"{z!r} is not a zone of {self.provider} region {self.region}",
                    f"{self.provider} zones of {self.region} are named like {example} "
                    "(the node label topology.kubernetes.io/zone); list only this region's",
                    at="zones",
                ))
        return self

    @model_validator(mode="after")
    def _consistent(self) -> "InstanceRow":
        if (self.accelerator is None) != (self.accelerator_count == 0):
            raise ValueError(fix("accelerator and accelerator_count disagree",
                "give both (GPU types) or neither (CPU-only types)"))
        if self.price_ondemand is None and self.price_spot is None:
            raise ValueError(fix("row has no price", "give price_ondemand and/or price_spot"))
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.provider, self.region, self.instance_type)

    def price(self, capacity: CapacityType) -> float | None:
        return self.price_ondemand if capacity == "on-demand" else self.price_spot

    @property
    def spot_discount(self) -> float | None:
        """How far the spot price is below on-demand, a fraction of on-demand (None without
        both prices)."""
        if self.price_spot is None or not self.price_ondemand:
            return None
        return 1.0 - self.price_spot / self.price_ondemand


class CatalogFile(_Model):
    apiVersion: Literal["scaleplan/v1"] = "scaleplan/v1"
    kind: Literal["Catalog"] = "Catalog"
    provenance: Provenance
    price_multiplier: float = Field(default=1.0, gt=0, description="Multiplies every price in this "
        "file (negotiated discounts).")
    accelerators: tuple[Accelerator, ...] = Field(default=(), description="Extra accelerator specs "
        "(on-prem or new parts).")
    instances: tuple[InstanceRow, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> "CatalogFile":
        seen: set[tuple[str, str, str]] = set()
        for r in self.instances:
            if r.key in seen:
                raise ValueError(fix(f"duplicate row {'/'.join(r.key)}",
                    "keep one row per (provider, region, instance_type)"))
            seen.add(r.key)
        return self


class AcceleratorFile(_Model):
    apiVersion: Literal["scaleplan/v1"] = "scaleplan/v1"
    kind: Literal["AcceleratorSpecs"] = "AcceleratorSpecs"
    provenance: Provenance
    accelerators: tuple[Accelerator, ...]


def alias_key(name: str) -> str:
    """Normalise an accelerator name for alias lookup: lower-case alphanumerics only."""
    s = name.lower().strip()
    s = re.sub(r"^(nvidia|tesla|amd)[\s_-]*", "", s)
    s = re.sub(r"^(tesla)[\s_-]*", "", s)
    return re.sub(r"[^a-z0-9]", "", s)


class Catalog(_Model):
    """The merged view the pipeline uses: accelerators plus rows, later files overriding."""

    accelerators: tuple[Accelerator, ...]
    rows: tuple[InstanceRow, ...]
    sources: tuple[str, ...] = ()
    oldest_fetch: str | None = None
    # a row of a later file that re-prices an earlier one by x4 or more, or states a spot
    # price above its on-demand one, or names a shipped cloud's instance type misspelt: said
    # by validate and optimize (catalog.files.merge)
    price_notes: tuple[str, ...] = ()

    def accelerator(self, name: str) -> Accelerator | None:
        canonical = self.resolve(name)
        for a in self.accelerators:
            if a.name == canonical:
                return a
        return None

    def resolve(self, name: str) -> str | None:
        """Canonical accelerator name for a name or alias (``nvidia-l4`` -> ``L4``)."""
        return resolve_name(self.accelerators, name)

    def resolve_product(self, name: str) -> str | None:
        """Canonical accelerator for a product string a device or cloud API reports."""
        return resolve_product(self.accelerators, name)

    def node_gpus(self) -> dict[str, int]:
        """Per accelerator, the most one instance holds: a replica of more spans nodes."""
        most: dict[str, int] = {}
        for r in self.rows:
            if r.accelerator:
                most[r.accelerator] = max(most.get(r.accelerator, 0), r.accelerator_count)
        return most

    def accelerator_names(self) -> list[str]:
        """Every name and alias a user may type for an accelerator (for did-you-mean)."""
        out = ["cpu"]
        for a in self.accelerators:
            out += [a.name, *a.aliases]
        return out


def with_row_labels(accel: Accelerator, row: InstanceRow) -> Accelerator:
    """``accel`` with the GPU node labels ``row`` states for itself: a label that belongs to the
    machine type, not to the accelerator (GKE's A3 Mega: ``nvidia-h100-mega-80gb``; a PCIe
    part's product name), docs/catalog.md. render and ``profile --emit-jobs`` select by it."""
    own = {"gke_accelerator": row.gke_accelerator, "gpu_product": row.gpu_product}
    upd = {k: v for k, v in own.items() if v is not None}
    return accel.model_copy(update=upd) if upd else accel


@functools.lru_cache(maxsize=8)
def _alias_table(accelerators: tuple[Accelerator, ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for a in accelerators:
        table[alias_key(a.name)] = a.name
        for al in a.aliases:
            table[alias_key(al)] = a.name
    return table


def resolve_name(accelerators: tuple[Accelerator, ...], name: str) -> str | None:
    """Canonical name for an exact accelerator name or alias (case, spaces and dashes aside).

    Never a prefix match: ``L40`` is not ``L4``, ``A100-80`` is not the 40 GB ``A100``; callers
    report unknown names with a did-you-mean (:func:`scaleplan.names.unknown`).
    """
    if name.upper() == "CPU":
        return "CPU"
    if any(a.name == name for a in accelerators):
        return name
    return _alias_table(accelerators).get(alias_key(name))


def resolve_product(accelerators: tuple[Accelerator, ...], name: str) -> str | None:
    """Canonical name for a device's product string (``NVIDIA H100 80GB HBM3 (rev a1)``).

    Exact names and aliases first; then the longest alias that prefixes the product string.
    Only for names a device or cloud API reports, never for names a user types.
    """
    exact = resolve_name(accelerators, name)
    if exact is not None:
        return exact
    key = alias_key(name)
    best: tuple[str, str] | None = None
    for k, v in _alias_table(accelerators).items():
        if k and key.startswith(k) and (best is None or len(k) > len(best[0])):
            best = (k, v)
    return best[1] if best else None
