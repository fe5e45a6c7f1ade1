"""The ``catalog`` commands' reports as plain text (kubectl-style tables, :mod:`scaleplan.table`):
instance types, one instance type in every region, accelerators, and what a refresh changed.
Identifiers are never cut; ``wide`` adds the columns that do not fit 80 columns."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scaleplan.catalog.consistency import A3_EXAMPLE, FLAG_MEANINGS
from scaleplan.catalog.model import Accelerator, InstanceRow
from scaleplan.catalog.query import (
    accelerators_json,
    describe_instance,
    instance_json,
    instances_json,
    view,
)
from scaleplan.table import Column, Line, Report, table_lines, table_text, wide_flag
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.diff import CatalogDiff
    from scaleplan.catalog.refresh import RefreshOutcome


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.4f}"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _flag_note(rows: Sequence[InstanceRow]) -> str:
    """The footnote under a table whose flagged rows are marked ``!`` after their first cell
    (the flags column is only in the wide table, and a flagged price must not read as a list
    price; the mark goes after the name, a word of its own, so no column widens)."""
    flags = sorted({f for r in rows for f in r.flags})
    if not flags:
        return ""
    note = (
        f"! flagged ({', '.join(flags)}): optimize leaves these rows out unless"
        " placement.include_flagged: true (docs/catalog.md)"
    )
    # what each flag says of a row (UX trial 29 F10: the reason was only in docs/catalog.md)
    # the shipped catalog's own case, only where one of its A3 rows is in the table (a user
    # catalog's suspect row is not GCP's A3: r2 review 41b L1)
    a3 = any(r.provider == "gcp" and r.instance_type.startswith("a3-") and "suspect-price"
             in r.flags for r in rows)
    example = {"suspect-price": f" ({A3_EXAMPLE})"} if a3 else {}
    why = [f"{f}: {FLAG_MEANINGS[f]}{example.get(f, '')}" for f in flags if f in FLAG_MEANINGS]
    return "".join(
        textwrap.fill(t, width=80, subsequent_indent="  ", break_on_hyphens=False) + "\n"
        for t in (note, *why)
    )


def _marked(name: str, r: InstanceRow) -> str:
    return f"{name} !" if r.flags else name


def instances_table(rows: Sequence[InstanceRow], *, wide: bool) -> str:
    """``catalog list``: one line per instance type and region; a flagged row is marked
    ``!``, with a footnote."""
    note = _flag_note(rows)
    cols = [
        Column("instance type"), Column("provider", wide=True), Column("region"),
        Column("accelerator"), Column("GPU mem", "right", wide=True),
        Column("vCPU", "right", wide=True), Column("RAM", "right", wide=True),
        Column("$/h", "right"), Column("spot $/h", "right"),
        Column("$/GPU-h", "right", wide=True), Column("flags", wide=True),
    ]
    body = []
    for r in rows:
        v = view(r)
        acc = f"{r.accelerator} x{r.accelerator_count}" if r.accelerator else "CPU"
        gpu_mem = f"{v.gpu_memory_gib:g}" if r.accelerator else "-"
        body.append([
            _marked(r.instance_type, r), r.provider, r.region, acc, gpu_mem, str(r.vcpus),
            f"{r.memory_gib:g}", _money(r.price_ondemand), _money(r.price_spot),
            _money(v.price_per_gpu_hour), ",".join(r.flags),
        ])
    # a type offered in two regions is two rows: said when they differ, and a single one is
    # singular (UX trial 23: "1 instance types", and "10 instance types" of 5 types in 2 regions)
    types = {(r.provider, r.instance_type) for r in rows}
    title = counted(len(types), "instance type")
    if len(rows) != len(types):
        title += f", {counted(len(rows), 'row')} (one per region)"
    return table_text(cols, body, wide=wide, title=title) + note


def instance_table(rows: Sequence[InstanceRow], acc: Accelerator | None, *, wide: bool) -> str:
    """``catalog show``: the instance type's specs, then its prices in every region (a flagged
    region marked ``!``, with a footnote)."""
    note = _flag_note(rows)
    cols = [
        Column("region"), Column("on-demand $/h", "right"), Column("spot $/h", "right"),
        Column("spot discount", "right"), Column("flags", wide=True), Column("source", wide=True),
    ]
    body = []
    for r in rows:
        off = r.spot_discount
        disc = "-" if off is None else f"{off:.0%}"
        body.append([
            _marked(r.region, r), _money(r.price_ondemand), _money(r.price_spot), disc,
            ",".join(r.flags),
            r.source or "",
        ])
    title = "\n".join(describe_instance(rows[0], acc))
    return table_text(cols, body, wide=wide, title=title) + note


def accelerators_table(accs: Sequence[Accelerator], *, wide: bool) -> str:
    """``catalog accelerators``: memory (the vendor's GB and what the driver reports, which the
    LLM model sizes with), bandwidth and dense tensor throughput."""
    cols = [
        Column("name"), Column("memory GB", "right"), Column("CUDA GiB", "right"),
        Column("GB/s", "right"),
        Column("FP16 TFLOPS", "right"), Column("BF16 TFLOPS", "right"),
        Column("INT8 TOPS", "right", wide=True), Column("TDP W", "right", wide=True),
        Column("interconnect", wide=True), Column("aliases", wide=True),
    ]
    body = [
        [
            a.name, _num(a.memory_gib), _num(a.cuda_memory_gib), _num(a.memory_bandwidth_gbs),
            _num(a.fp16_tflops),
            _num(a.bf16_tflops), _num(a.int8_tops), _num(a.tdp_watts), a.interconnect or "-",
            ", ".join(a.aliases),
        ]
        for a in accs
    ]
    title = "accelerators (dense tensor throughput; -o wide for aliases)"
    return table_text(cols, body, wide=wide, title=title)


def _price(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def refresh_lines(outcome: RefreshOutcome) -> list[Line]:
    """``catalog refresh``: what was fetched and how it compares with the rows it replaces (the
    new, removed and re-priced instance types as tables, never cut or wrapped), what was
    written."""
    c = outcome.diff.to_dict()["counts"]
    headline = (
        f"aws {', '.join(outcome.regions)}: {outcome.rows} rows from {outcome.calls} API calls; "
        f"compared with {outcome.compared_with}: {c['added']} new, {c['removed']} removed, "
        f"{c['price_changes']} price changes, {c['unchanged']} unchanged"
    )
    lines = [Line(headline)]
    for title, table in _diff_tables(outcome.diff):
        lines.append(Line(f"\n{title}"))
        lines += [Line(t, whole=True) for t in table]
    target = outcome.target
    if outcome.written:
        rows = outcome.catalog_rows
        lines.append(Line(f"wrote {target} ({rows} rows); use it with --catalog {target}"))
    elif outcome.dry_run:
        lines.append(Line("dry run: nothing written"))
    return lines


def _diff_tables(diff: CatalogDiff) -> list[tuple[str, list[str]]]:
    """The new, removed and re-priced instance types: (title, table lines) for each that has
    rows."""

    def acc(r: InstanceRow) -> str:
        return f"{r.accelerator_count}x {r.accelerator}" if r.accelerator else "cpu"

    out: list[tuple[str, list[str]]] = []
    if diff.added:
        cols = [
            Column("region"), Column("instance type"), Column("accelerator"),
            Column("on-demand $/h", "right"), Column("spot $/h", "right"),
        ]
        cells = [
            [r.region, r.instance_type, acc(r), _price(r.price_ondemand), _price(r.price_spot)]
            for r in diff.added
        ]
        out.append(("New instance types", table_lines(cols, cells)))
    if diff.removed:
        cols = [Column("region"), Column("instance type"), Column("accelerator")]
        cells = [[r.region, r.instance_type, acc(r)] for r in diff.removed]
        out.append(("Removed instance types", table_lines(cols, cells)))
    if diff.price_changes:
        cols = [
            Column("region"), Column("instance type"), Column("price"),
            Column("old $/h", "right"), Column("new $/h", "right"), Column("change", "right"),
        ]
        cells = [
            [
                ch.key[1], ch.key[2], ch.field.removeprefix("price_"), _price(ch.old),
                _price(ch.new), "-" if ch.pct is None else f"{ch.pct:+.1f}%",
            ]
            for ch in diff.price_changes
        ]
        out.append(("Price changes", table_lines(cols, cells)))
    return out


def instances_report(
    rows: Sequence[InstanceRow], as_json: bool, output: str | None, wide: bool,
    notes: Sequence[str] = (),
) -> Report:
    """``catalog list``: its ``--json`` document, or its table (``--wide`` / ``-o wide``);
    ``notes`` (where an accelerator no row had is offered) on stderr."""
    if as_json:
        return Report(doc=instances_json(rows), notes=notes)
    return Report(text=instances_table(rows, wide=wide_flag(output, wide)), notes=notes)


def instance_report(
    instance_type: str, found: tuple[list[InstanceRow], Accelerator | None], as_json: bool,
    output: str | None, wide: bool,
) -> Report:
    """``catalog show``: its ``--json`` document, or its table, of the rows and accelerator
    ``found`` (:func:`scaleplan.catalog.query.show_instance`)."""
    rows, acc = found
    if as_json:
        return Report(doc=instance_json(instance_type, rows, acc))
    return Report(text=instance_table(rows, acc, wide=wide_flag(output, wide)))


def accelerators_report(
    accs: Sequence[Accelerator], as_json: bool, output: str | None, wide: bool
) -> Report:
    """``catalog accelerators``: its ``--json`` document, or its table."""
    if as_json:
        return Report(doc=accelerators_json(accs))
    return Report(text=accelerators_table(accs, wide=wide_flag(output, wide)))


def refresh_report(outcome: RefreshOutcome, as_json: bool) -> Report:
    """``catalog refresh``: its ``--json`` document (its warnings inside), or its warnings and
    :func:`refresh_lines`."""
    if as_json:
        return Report(doc=outcome.to_dict())
    return Report(lines=refresh_lines(outcome), warnings=outcome.warnings)
