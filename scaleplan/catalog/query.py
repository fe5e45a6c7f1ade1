"""Catalog queries for ``scaleplan catalog list/show`` and the optimizer: pure, except
:func:`list_instances` and :func:`show_instance`, which read the catalog files they query."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from scaleplan.catalog.model import Accelerator, Catalog, InstanceRow
from scaleplan.errors import OptionError, Problem, option_error
from scaleplan.wording import article, counted

SORT_KEYS = ("price", "gpu-price", "gpu-memory", "name", "region")


@dataclass(frozen=True)
class RowView:
    row: InstanceRow
    gpu_memory_gib: float  # total accelerator memory on the node
    price_per_gpu_hour: float | None


def view(row: InstanceRow) -> RowView:
    total = (row.accelerator_memory_gib or 0.0) * row.accelerator_count
    per_gpu = None
    if row.accelerator_count and row.price_ondemand is not None:
        per_gpu = row.price_ondemand / row.accelerator_count
    return RowView(row, total, per_gpu)


def matches(pattern: str, row: InstanceRow) -> bool:
    """``exclude``/filter pattern: instance type, family or accelerator, shell globs allowed."""
    p = pattern.lower()
    fields = [row.instance_type.lower(), row.family.lower(), (row.accelerator or "cpu").lower()]
    return any(fnmatch.fnmatchcase(f, p) for f in fields)


def filter_problems(
    catalog: Catalog, *, providers: Sequence[str] = (), regions: Sequence[str] = (),
        accelerators: Sequence[str] = ()
) -> list[Problem]:
    """Names in ``catalog list`` filters that no row has: exact matches only, with a did-you-mean."""
    from scaleplan.names import unknown_accelerator_hint, unknown_hint

    problems: list[Problem] = []
    known_providers = {r.provider for r in catalog.rows}
    for p in providers:
        if p not in known_providers:
            problems.append(Problem("--provider", f"unknown provider {p!r}",
                hint=unknown_hint(p, known_providers, "providers")))
    ours = {r.region for r in catalog.rows if not providers or r.provider in providers}
    for reg in regions:
        if reg not in ours:
            elsewhere = sorted({r.provider for r in catalog.rows if r.region == reg})
            hint = f"it is {article('/'.join(elsewhere))} region" if elsewhere else unknown_hint(reg, ours, "regions", "see `scaleplan catalog list --sort region`")
            problems.append(Problem("--region", f"unknown region {reg!r}" + (f" for {', '.join(providers)}" if providers else ""), hint=hint))
    for a in accelerators:
        if catalog.resolve(a) is None:
            problems.append(Problem("--accelerator", f"unknown accelerator {a!r}",
                hint=unknown_accelerator_hint(a, catalog.accelerator_names(),
                ", and give that file with --catalog")))
    return problems


def filter_rows(
    catalog: Catalog,
    *,
    providers: Sequence[str] = (),
    regions: Sequence[str] = (),
    accelerators: Sequence[str] = (),
    min_gpu_memory: float | None = None,
    max_price: float | None = None,
    spot: bool = False,
    include_cpu: bool = True,
    include_flagged: bool = True,
) -> list[InstanceRow]:
    wanted = {catalog.resolve(a) or a for a in accelerators}
    out = []
    for r in catalog.rows:
        if providers and r.provider not in providers:
            continue
        if regions and r.region not in regions:
            continue
        if wanted and (r.accelerator or "CPU") not in wanted:
            continue
        if not include_cpu and r.accelerator is None and not wanted:
            continue
        if not include_flagged and r.flags:
            continue
        if min_gpu_memory is not None and (r.accelerator_memory_gib or 0) < min_gpu_memory:
            continue
        price = r.price_spot if spot else r.price_ondemand
        if spot and r.price_spot is None:
            continue
        if max_price is not None and (price is None or price > max_price):
            continue
        out.append(r)
    return out


def sort_rows(rows: list[InstanceRow], key: str, *, spot: bool = False) -> list[InstanceRow]:
    def price(r: InstanceRow) -> float:
        p = r.price_spot if spot else r.price_ondemand
        return p if p is not None else float("inf")

    if key == "price":
        return sorted(rows, key=lambda r: (price(r), r.key))
    if key == "gpu-price":
        return sorted(rows, key=lambda r: (price(r) / r.accelerator_count if r.accelerator_count
            else float("inf"), r.key))
    if key == "gpu-memory":
        return sorted(rows, key=lambda r: (-view(r).gpu_memory_gib, price(r), r.key))
    if key == "region":
        return sorted(rows, key=lambda r: (r.provider, r.region, price(r), r.instance_type))
    return sorted(rows, key=lambda r: (r.instance_type, r.provider, r.region))


def check_sort(key: str) -> None:
    """``--sort``: one of :data:`SORT_KEYS` (a usage error otherwise)."""
    if key not in SORT_KEYS:
        raise OptionError(f"must be one of {', '.join(SORT_KEYS)}; got {key!r}", option="--sort")


@dataclass(frozen=True, kw_only=True)
class ListArgs:
    """``catalog list``'s options as given (``scaleplan catalog list --help`` says what each
    does); the repeatable ones may also be comma-separated (``-p aws,gcp``)."""

    provider: list[str] | None
    region: list[str] | None
    accelerator: list[str] | None
    min_gpu_memory: float | None
    max_price: float | None
    spot: bool
    gpu_only: bool
    sort: str
    catalog: list[str] | None


def list_instances(args: ListArgs) -> tuple[list[InstanceRow], list[str]]:
    """``catalog list`` from its options: ``--sort`` checked before any catalog is read, the
    shipped catalogs and ``--catalog``'s files loaded, then the rows that pass the filters,
    sorted, and, when none does, a note on where the accelerators asked for are offered. A
    provider, region or accelerator that no row has is a usage error naming the first such
    option."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.option_values import split_values

    check_sort(args.sort)
    catalog = load_catalog(split_values(args.catalog))
    providers, regions = split_values(args.provider), split_values(args.region)
    accelerators = split_values(args.accelerator)
    problems = filter_problems(
        catalog, providers=providers, regions=regions, accelerators=accelerators
    )
    if problems:
        raise option_error(problems)
    rows = filter_rows(
        catalog, providers=providers, regions=regions, accelerators=accelerators,
        min_gpu_memory=args.min_gpu_memory, max_price=args.max_price, spot=args.spot,
        include_cpu=not args.gpu_only,
    )
    notes = [] if rows else _offered(catalog, accelerators, providers, regions)
    return sort_rows(rows, args.sort, spot=args.spot), notes


def _offered(
    catalog: Catalog, accelerators: Sequence[str], providers: Sequence[str],
    regions: Sequence[str],
) -> list[str]:
    """No row passed the filters: where each accelerator asked for is offered, whatever the
    provider and region filters (UX trial 29 F14: 'L40S' in gcp us-central1 listed '0 instance
    types' and an empty table, not that gcp has no L40S while aws and azure do)."""
    placed = filter_rows(catalog, providers=providers, regions=regions, accelerators=accelerators)
    if placed:
        return [
            f"{counted(len(placed), 'row')} of these providers, regions and accelerators; the "
            "price, GPU memory, spot or --gpu-only filters leave none"
        ]
    out = []
    for name in accelerators:
        acc = catalog.resolve(name) or name
        where: dict[str, set[str]] = {}
        for r in catalog.rows:
            if r.accelerator == acc:
                where.setdefault(r.provider, set()).add(r.region)
        asked = ", ".join([*providers, *regions]) or "these filters"
        offered = "; ".join(
            f"{p} in {counted(len(rs), 'region')}"
            + (f" ({', '.join(sorted(rs))})" if len(rs) <= 3 else "")
            for p, rs in sorted(where.items())
        )
        said = f"no {acc} row in {asked}: {acc} is offered by {offered}"
        out.append(said if offered else f"no catalog row has {acc}")
    return out


def show_instance(
    catalog_files: Sequence[str], instance_type: str
) -> tuple[list[InstanceRow], Accelerator | None]:
    """``catalog show``: the rows of ``instance_type`` (:func:`instance_rows`) in the shipped
    catalogs and ``catalog_files``, and the specs of its accelerator (None for a CPU type)."""
    from scaleplan.catalog.files import load_catalog

    cat = load_catalog(catalog_files)
    rows = instance_rows(cat, instance_type)
    return rows, cat.accelerator(rows[0].accelerator) if rows[0].accelerator else None


def instance_json(
    instance_type: str, rows: Sequence[InstanceRow], acc: Accelerator | None
) -> dict[str, object]:
    """``catalog show --json``: the accelerator's specs and the rows of every region."""
    spec = acc.model_dump(mode="json", exclude_none=True) if acc else None
    regions = [row_dict(r) for r in rows]
    return {"instance_type": instance_type, "accelerator": spec, "regions": regions}


def instances_json(rows: Sequence[InstanceRow]) -> dict[str, object]:
    """``catalog list --json``: how many rows matched, and each row as :func:`row_dict`."""
    return {"count": len(rows), "instances": [row_dict(r) for r in rows]}


def accelerators_json(accelerators: Sequence[Accelerator]) -> dict[str, object]:
    """``catalog accelerators --json``: each accelerator's specs, as the catalog states them."""
    return {"accelerators": [a.model_dump(mode="json", exclude_none=True) for a in accelerators]}


def row_dict(r: InstanceRow) -> dict[str, object]:
    v = view(r)
    d = r.model_dump(mode="json", exclude_none=True)
    d["gpu_memory_gib_total"] = v.gpu_memory_gib
    if v.price_per_gpu_hour is not None:
        d["price_per_gpu_hour"] = round(v.price_per_gpu_hour, 6)
    return d


def instance_rows(catalog: Catalog, instance_type: str) -> list[InstanceRow]:
    """``catalog show``: the rows of one instance type (every region); a usage error (exit 2,
    as ``catalog list``'s unknown names) with a did-you-mean when no catalog has it."""
    rows = [r for r in catalog.rows if r.instance_type == instance_type]
    if not rows:
        from scaleplan.names import unknown_hint

        known = {r.instance_type for r in catalog.rows}
        hint = unknown_hint(instance_type, known, "instance types", "see `scaleplan catalog list`")
        message = f"no instance type {instance_type!r} in the catalogs"
        raise option_error([Problem("INSTANCE_TYPE", message, hint=hint)])
    return rows


def describe_instance(row: InstanceRow, acc: Accelerator | None) -> list[str]:
    """``catalog show``: the lines above the price table (provider, accelerators, host)."""
    lines = [f"{row.instance_type} ({row.provider}, family {row.family}, {row.cpu_arch})"]
    if acc:
        specs = [f"{acc.name} x{row.accelerator_count}", f"{acc.memory_gib:g} GiB each"]
        if acc.memory_bandwidth_gbs:
            specs.append(f"{acc.memory_bandwidth_gbs:g} GB/s")
        if acc.fp16_tflops:
            specs.append(f"{acc.fp16_tflops:g} FP16 TFLOPS")
        lines.append("accelerators: " + ", ".join(specs))
    else:
        lines.append("accelerators: none (CPU only)")
    lines.append(f"host: {row.vcpus} vCPU, {row.memory_gib:g} GiB RAM")
    return lines
