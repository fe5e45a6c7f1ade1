"""Load, merge and validate catalog files (I/O edge of the catalog stage).

``load_catalog(paths)`` reads the shipped catalogs (``catalogs/`` in the repo, installed as the
``scaleplan.catalogs`` package) and then each user file in order: a later row replaces an
earlier one with the same (provider, region, instance_type), keeping what it does not state of
the spot price and zones (``INHERITED``); a file's ``price_multiplier``
scales its own rows. Every row's accelerator must resolve to an accelerator with specs.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

from scaleplan.cache import load_model
from scaleplan.catalog.freshness import parse_fetched_at
from scaleplan.catalog.model import (
    Accelerator,
    AcceleratorFile,
    Catalog,
    CatalogFile,
    InstanceRow,
    same_memory,
)
from scaleplan.errors import CatalogError, InputError, Problem
from scaleplan.file_kinds import refuse_other_kind
from scaleplan.names import close_matches
from scaleplan.problems import validate_document
from scaleplan.wording import counted
from scaleplan.yamlio import Document, load_yaml, parse_yaml

SHIPPED = ("aws", "gcp", "azure")


def shipped_dir() -> Path:
    return Path(str(resources.files("scaleplan.catalogs")))


def shipped_paths() -> tuple[Path, ...]:
    d = shipped_dir()
    return tuple(d / f"{p}.yaml" for p in SHIPPED)


def parse_catalog_file(doc: Document) -> CatalogFile:
    refuse_other_kind(doc, "Catalog", CatalogError)
    return validate_document(CatalogFile, doc, CatalogError)


def read_catalog_file(path: str | Path) -> CatalogFile:
    """A catalog file, from the parsed-file cache when this exact file was read before."""
    return load_model(path, CatalogFile, _parse_catalog_path)


def _parse_catalog_path(path: str | Path) -> CatalogFile:
    return parse_catalog_file(load_yaml(path, what="catalog"))


def parse_catalog_text(text: str, name: str) -> CatalogFile:
    return parse_catalog_file(parse_yaml(text, name, what="catalog"))


@functools.lru_cache(maxsize=4)
def _shipped_accelerators(path: str) -> tuple[Accelerator, ...]:
    return load_model(path, AcceleratorFile, _parse_accelerators).accelerators


def _parse_accelerators(path: str | Path) -> AcceleratorFile:
    doc = load_yaml(path, what="accelerator specs")
    return validate_document(AcceleratorFile, doc, CatalogError, file=str(path))


def load_accelerators() -> tuple[Accelerator, ...]:
    return _shipped_accelerators(str(shipped_dir() / "accelerators.yaml"))


def accelerator_catalog() -> Catalog:
    """The shipped accelerator table as a Catalog without instance rows: for resolving an
    accelerator's name (aliases, product names) where no instance type is involved."""
    return Catalog(accelerators=load_accelerators(), rows=())


def _scaled(row: InstanceRow, mult: float, fetched: str | None) -> InstanceRow:
    upd: dict[str, object] = {}
    if mult != 1.0:
        for f in ("price_ondemand", "price_spot", "price_spot_median"):
            v = getattr(row, f)
            if v is not None:
                upd[f] = round(v * mult, 6)
    if row.fetched_at is None and fetched is not None:
        upd["fetched_at"] = fetched
    return row.model_copy(update=upd) if upd else row


# what a later row with the same (provider, region, instance type) keeps from the row it
# replaces when it does not state it: a reserved-instance price (docs/catalog.md: one row with the
# same key and a lower price_ondemand) must not drop the type's spot price or its zones. A row
# that states `price_spot: null` still says the type has no spot offer.
INHERITED = ("price_spot", "price_spot_median", "zones")
# kept too while the later row names the same accelerator: the type's own node labels
INHERITED_LABELS = ("gke_accelerator", "gpu_product", "node_labels")
# the hardware a later row that names no accelerator keeps (and the CPU architecture, where it
# does not state one): a re-priced GPU type is still that GPU type, never a CPU-only one (UX
# trial 27: billing prices for a3-highgpu-4g without `accelerator:` turned it into a CPU row,
# and a spec allowing H100 planned 113 8 x L4 nodes at 16x the price, without a word)
INHERITED_HARDWARE = ("accelerator", "accelerator_count", "accelerator_memory_gib")


def memory_problem(probe: Catalog, row: InstanceRow, i: int) -> Problem | None:
    """A row whose ``accelerator_memory_gib`` is not its accelerator's memory (UX trial 33: an
    owned node pool of A100 80 GB written ``accelerator: A100``, the 40 GB part, with
    ``accelerator_memory_gib: 80`` was sized at 40 GiB and rendered the 40 GB part's
    nvidia.com/gpu.product label, which no node of the pool carries: its pods stay Pending,
    and check passed). The accelerator decides the sizing and the labels, so the two must
    agree; the hint names the variants of that part with the stated memory (A100-80GB of
    A100: not another part of its generation, r2 review: GH200 144 GB was offered H200, whose
    label no GH200 node carries), or says the field is per GPU where it is the node's total."""
    acc = probe.accelerator(row.accelerator or "")
    stated = row.accelerator_memory_gib
    if acc is None or stated is None or same_memory(stated, acc.memory_gib):
        return None
    like = [
        a.name for a in probe.accelerators
        if a.vendor == acc.vendor and a.generation == acc.generation and a.name != acc.name
        and (a.name.startswith(acc.name) or acc.name.startswith(a.name))
        and same_memory(stated, a.memory_gib)
    ]
    fix = f"did you mean accelerator: {' or '.join(like)}? Else " if like else ""
    n = row.accelerator_count
    if n > 1 and same_memory(stated, n * acc.memory_gib):
        fix = f"the field is per GPU, and {stated:g} is the node's {n} GPUs together: "
    return Problem(
        f"instances[{i}].accelerator_memory_gib",
        f"{stated:g} GiB per GPU, but {acc.name} has {acc.memory_gib:g} GiB; the plan sizes the "
        f"model with {acc.name}'s memory and render selects nodes by its GPU label",
        hint=(
            f"{fix}state {acc.memory_gib:g}, or name your part's specs under 'accelerators:' "
            "in this file (`scaleplan catalog accelerators` lists the known ones)"
        ),
        path=("instances", i, "accelerator_memory_gib"),
    )


def _older(a: str | None, b: str | None) -> bool:
    """Whether date ``a`` is before ``b`` (a row's ``fetched_at``; False when either is
    missing or unreadable)."""
    da, db = (parse_fetched_at(v) if v else None for v in (a, b))
    return da is not None and db is not None and da < db


def merge(files: Sequence[tuple[str, CatalogFile]], accelerators: Sequence[Accelerator]) -> Catalog:
    """Pure merge of parsed catalog files; checks that every accelerator resolves."""
    accs: dict[str, Accelerator] = {a.name: a for a in accelerators}
    for _, f in files:
        for a in f.accelerators:
            accs[a.name] = a
    acc_tuple = tuple(accs[k] for k in sorted(accs))
    probe = Catalog(accelerators=acc_tuple, rows=())
    rows: dict[tuple[str, str, str], InstanceRow] = {}
    notes: list[str] = []
    shipped = shipped_types(files)
    per_gpu: dict[str, tuple[float, ...]] | None = None
    for name, f in files:
        problems: list[Problem] = []
        for i, r in enumerate(f.instances):
            if r.accelerator is not None:
                canonical = probe.resolve(r.accelerator)
                if canonical is None or canonical == "CPU":
                    problems.append(Problem(f"instances[{i}].accelerator",
                        f"unknown accelerator {r.accelerator!r}",
                        hint="use a name from `scaleplan catalog accelerators` or add its specs "
                        "under 'accelerators:' in this file", path=("instances", i, "accelerator")))
                    continue
                if canonical != r.accelerator:
                    r = r.model_copy(update={"accelerator": canonical})
                wrong = memory_problem(probe, r, i)
                if wrong is not None:
                    problems.append(wrong)
                    continue
            dated = f.provenance.prices_dated
            row = _scaled(r, f.price_multiplier, dated)
            prev = rows.get(r.key)
            if prev is not None:  # a row that re-prices one keeps what it does not state
                stated = r.model_fields_set
                hardware = not stated & {"accelerator", "accelerator_count"}
                same = hardware or prev.accelerator == row.accelerator
                keep = (
                    INHERITED + ("cpu_arch",) + (INHERITED_HARDWARE if hardware else ())
                    + (INHERITED_LABELS if same else ())
                )
                kept = {k: getattr(prev, k) for k in keep if k not in stated}
                if kept.get("price_spot") is not None and _older(prev.fetched_at, row.fetched_at):
                    kept["fetched_at"] = prev.fetched_at  # its prices are as old as the oldest
                row = row.model_copy(update=kept) if kept else row
            by_hand = prev is None and _typed_by_hand(name, f)
            if by_hand and per_gpu is None:  # the shipped rows' prices, once a merge
                per_gpu = shipped_gpu_prices(files)
            notes += price_notes(
                name, prev, row, spot_stated="price_spot" in r.model_fields_set,
                shipped=(per_gpu or {}).get(row.accelerator or "", ()) if by_hand else (),
            )
            if by_hand and row.provider in shipped:
                notes += type_notes(name, row, shipped[row.provider], notes)
            if r.gke_accelerator is not None and _typed_by_hand(name, f):
                notes += gke_label_notes(name, r.gke_accelerator, row, accs, shipped, notes)
            rows[r.key] = row
        if problems:
            raise CatalogError(name, problems)
    ordered = tuple(rows[k] for k in sorted(rows))
    dates = sorted(r.fetched_at for r in ordered if r.fetched_at)
    return Catalog(
        accelerators=acc_tuple, rows=ordered, sources=tuple(n for n, _ in files),
        oldest_fetch=dates[0] if dates else None, price_notes=tuple(notes),
    )


@functools.cache
def _shipped_names() -> frozenset[str]:
    return frozenset(str(p) for p in shipped_paths())


def _typed_by_hand(name: str, f: CatalogFile) -> bool:
    """A user file whose instance types a person wrote: not a shipped one, nor one `catalog
    refresh` wrote from the cloud's own API (p5e.48xlarge is real, and named like p5en)."""
    return name not in _shipped_names() and not f.provenance.refreshed


def shipped_types(files: Sequence[tuple[str, CatalogFile]]) -> dict[str, dict[str, InstanceRow]]:
    """provider -> instance type -> a row of it, from the shipped files among ``files``."""
    out: dict[str, dict[str, InstanceRow]] = {}
    for name, f in files:
        if name in _shipped_names():
            for r in f.instances:
                out.setdefault(r.provider, {}).setdefault(r.instance_type, r)
    return out


def shipped_gpu_prices(files: Sequence[tuple[str, CatalogFile]]) -> dict[str, tuple[float, ...]]:
    """accelerator -> the on-demand prices per GPU-hour of the shipped rows of it among
    ``files``, sorted: what a new row's price is held against (:func:`price_notes`)."""
    out: dict[str, list[float]] = {}
    for name, f in files:
        if name in _shipped_names():
            for r in f.instances:
                if r.accelerator and r.accelerator_count and r.price_ondemand:
                    out.setdefault(r.accelerator, []).append(r.price_ondemand / r.accelerator_count)
    return {a: tuple(sorted(v)) for a, v in out.items()}


def type_notes(
    file: str, row: InstanceRow, known: dict[str, InstanceRow], said: Sequence[str] = ()
) -> list[str]:
    """A user row of a shipped cloud whose instance type that cloud's shipped catalog does
    not list, named like one it lists (UX trial 31: `Standard_NC40ad_H100_v5` for
    `Standard_NC40ads_H100_v5` was planned and rendered as a node selector no AKS node
    carries, and check passed): the same name but for case, or a close name of the same
    GPUs, or a row stating no accelerator named like a GPU type (a CPU-only row then). A real
    type the catalogs lack (a refreshed catalog's) has other hardware and is not said."""
    if row.instance_type in known:
        return []
    close = [known[m] for m in close_matches(row.instance_type, known, n=3, cutoff=0.85)]
    gpus = (row.accelerator, row.accelerator_count)
    like = [
        c for c in close
        if c.instance_type.lower() == row.instance_type.lower()
        or (row.accelerator is not None and (c.accelerator, c.accelerator_count) == gpus)
        or (row.accelerator is None and c.accelerator is not None)
    ]
    like = [c for c in like if c.instance_type.lower() == row.instance_type.lower()] or like
    head = f"{file}: {row.provider} instance type {row.instance_type!r}"
    if not like or any(n.startswith(head) for n in said):  # once a file, not once a region
        return []
    names = " or ".join(repr(c.instance_type) for c in like)
    cpu = " as a CPU-only type (the row states no accelerator)" if row.accelerator is None else ""
    return [
        f"{head} is not in the shipped {row.provider} catalog: did you mean {names}? "
        f"It is planned as written{cpu}, and render selects nodes by "
        "node.kubernetes.io/instance-type, which no node of a misspelt type carries; "
        f"check the name (`scaleplan catalog list --provider {row.provider}`)"
    ]


def gke_label_notes(
    file: str, label: str | None, row: InstanceRow, accs: dict[str, Accelerator],
    shipped: dict[str, dict[str, InstanceRow]], said: Sequence[str] = (),
) -> list[str]:
    """A user row's own ``gke_accelerator`` (``label``) that is no GKE accelerator type of its
    GPU (UX trial 39: ``nvidia-h100`` on an a3-highgpu-4g row rendered the node selector
    ``cloud.google.com/gke-accelerator: nvidia-h100``, which no GKE node carries, and check
    passed): the known ones are the GPU's own label and those the shipped rows of it state
    (A3 Mega's). A GPU with neither (none known for GKE) is not judged."""
    acc = accs.get(row.accelerator or "")
    if label is None or acc is None:
        return []
    known = {r.gke_accelerator for rows in shipped.values() for r in rows.values()
             if r.accelerator == acc.name and r.gke_accelerator}
    known |= {acc.gke_accelerator} if acc.gke_accelerator else set()
    head = f"{file}: {row.provider} instance type {row.instance_type!r} states gke_accelerator"
    if not known or label in known or any(n.startswith(head) for n in said):
        return []
    close = close_matches(label, known, n=1)
    mean = f"did you mean {close[0]!r}? " if close else ""
    return [
        f"{head} {label!r}, which is no GKE accelerator type of {acc.name} "
        f"({', '.join(sorted(known))}): {mean}It is rendered as written, as the node selector "
        "cloud.google.com/gke-accelerator, which no GKE node of that type carries, so its pods "
        f"would stay Pending; check the name (`gcloud compute accelerator-types list`), or "
        f"leave gke_accelerator out to select {acc.name}'s"
    ]


REPRICE_FACTOR = 4.0  # past any discount program (3-year savings plans reach ~72 %)


def price_notes(
    file: str, prev: InstanceRow | None, row: InstanceRow, *, spot_stated: bool,
    shipped: Sequence[float] = (),
) -> list[str]:
    """What looks like a slipped decimal in ``file``'s ``row`` (UX trial 24: a g4dn.xlarge at
    0.04208 instead of 0.4208 planned at $61/month, "saves 94 %", without a word): an
    on-demand price x4 or more off the row it re-prices, or a spot price it states above its
    on-demand price. A new row (no earlier one of its key) of an accelerator: its price per
    GPU-hour x4 or more off the median of ``shipped`` (the shipped rows' prices per GPU-hour
    of that accelerator, sorted) and outside their range (UX trial 31 F1: a new key has no
    earlier row to re-price); below them only on a row of a cloud the shipped catalogs price,
    as a node you own or reserve at a neocloud costs rightly less than the clouds' list prices
    per GPU-hour (r2 review: an 8 x A100-80GB node at a $6/h chargeback was told to check for
    a slipped decimal). Said, not refused: an owned node at a chargeback rate may be any of
    these."""
    where = f"{file}: {row.provider}/{row.region} {row.instance_type}"
    check = (
        "check it for a slipped decimal: it is the whole node's price per hour, after any "
        "price_multiplier"
    )
    out: list[str] = []
    old, new = (prev.price_ondemand if prev else None), row.price_ondemand
    if old and new and max(old / new, new / old) >= REPRICE_FACTOR:
        out.append(
            f"{where}: price_ondemand ${new:g}/h re-prices the earlier row's ${old:g}/h "
            f"(x{new / old:.3g}); {check}"
        )
    gpus = row.accelerator_count or 0
    if prev is None and shipped and new and gpus:
        mid, each = statistics.median(shipped), new / gpus
        far = max(mid / each, each / mid) >= REPRICE_FACTOR
        owned = each < mid and row.provider not in SHIPPED  # an owned node's rate: not said
        if far and not owned and not shipped[0] <= each <= shipped[-1]:
            per = f"${each:.3g} per {row.accelerator} GPU-hour"
            per += f" ({gpus} GPUs)" if gpus > 1 else ""
            off = f"{each / mid:.3g}x above" if each > mid else f"{mid / each:.3g}x below"
            span = f", ${shipped[0]:.3g} to ${shipped[-1]:.3g}" if shipped[0] < shipped[-1] else ""
            out.append(
                f"{where}: price_ondemand ${new:g}/h is {per}, {off} the shipped catalogs' "
                f"median of ${mid:.3g} ({counted(len(shipped), 'row')}{span}); {check}"
            )
    if spot_stated and row.price_spot and new and row.price_spot > new:
        out.append(
            f"{where}: price_spot ${row.price_spot:g}/h is above its price_ondemand "
            f"${new:g}/h, so the plan never uses spot there; check both prices"
        )
    return out


def load_catalog(extra: Sequence[str | Path] = (), *, shipped: bool = True,
        providers: Sequence[str] | None = None) -> Catalog:
    """The shipped catalogs followed by user files, merged.

    ``providers``: read only the shipped catalogs of these providers (each shipped file holds
    one provider's rows, named after it); a spec's ``placement.providers`` never uses the
    others' rows, and the shipped files carry no accelerator specs.
    """
    files: list[tuple[str, CatalogFile]] = []
    if shipped:
        for p in shipped_paths():
            if providers is None or p.stem in providers:
                files.append((str(p), read_catalog_file(p)))
    for user_file in extra:
        files.append((str(user_file), read_catalog_file(user_file)))
    try:
        return merge(files, load_accelerators())
    except CatalogError as exc:
        raise _with_lines(exc) from None


def _with_lines(exc: CatalogError) -> CatalogError:
    """``exc`` with the line of each problem that names its YAML path: merge works on parsed
    (cached) rows, so the file is read again for its lines, only on this error path."""
    if exc.file is None or not any(p.path and p.line is None for p in exc.problems):
        return exc
    try:
        doc = load_yaml(exc.file, what="catalog")
    except InputError:  # it parsed a moment ago; keep the error as it was
        return exc
    located = [
        replace(p, line=doc.lines.line_of(p.path)) if p.path and p.line is None else p
        for p in exc.problems
    ]
    return CatalogError(exc.file, located)
