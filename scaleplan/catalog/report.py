"""The ``catalog`` commands' reports as plain text (kubectl-style tables, :mod:`scaleplan.table`):
instance types, one instance type in every region, accelerators. Identifiers are never cut;
``wide`` adds the columns that do not fit 80 columns."""

from __future__ import annotations

from collections.abc import Sequence

from scaleplan.catalog.model import Accelerator, InstanceRow
from scaleplan.catalog.query import describe_instance, view
from scaleplan.table import Column, table_text


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.4f}"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def instances_table(rows: Sequence[InstanceRow], *, wide: bool) -> str:
    """``catalog list``: one line per instance type and region."""
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
            r.instance_type, r.provider, r.region, acc, gpu_mem, str(r.vcpus),
            f"{r.memory_gib:g}", _money(r.price_ondemand), _money(r.price_spot),
            _money(v.price_per_gpu_hour), ",".join(r.flags),
        ])
    return table_text(cols, body, wide=wide, title=f"{len(rows)} instance types")


def instance_table(rows: Sequence[InstanceRow], acc: Accelerator | None, *, wide: bool) -> str:
    """``catalog show``: the instance type's specs, then its prices in every region."""
    cols = [
        Column("region"), Column("on-demand $/h", "right"), Column("spot $/h", "right"),
        Column("spot discount", "right"), Column("flags", wide=True), Column("source", wide=True),
    ]
    body = []
    for r in rows:
        disc = "-"
        if r.price_spot is not None and r.price_ondemand:
            disc = f"{1 - r.price_spot / r.price_ondemand:.0%}"
        body.append([
            r.region, _money(r.price_ondemand), _money(r.price_spot), disc, ",".join(r.flags),
            r.source or "",
        ])
    title = "\n".join(describe_instance(rows[0], acc))
    return table_text(cols, body, wide=wide, title=title)


def accelerators_table(accs: Sequence[Accelerator], *, wide: bool) -> str:
    """``catalog accelerators``: memory, bandwidth and dense tensor throughput."""
    cols = [
        Column("name"), Column("memory GiB", "right"), Column("GB/s", "right"),
        Column("FP16 TFLOPS", "right"), Column("BF16 TFLOPS", "right"),
        Column("INT8 TOPS", "right", wide=True), Column("TDP W", "right", wide=True),
        Column("interconnect", wide=True), Column("aliases", wide=True),
    ]
    body = [
        [
            a.name, _num(a.memory_gib), _num(a.memory_bandwidth_gbs), _num(a.fp16_tflops),
            _num(a.bf16_tflops), _num(a.int8_tops), _num(a.tdp_watts), a.interconnect or "-",
            ", ".join(a.aliases),
        ]
        for a in accs
    ]
    title = "accelerators (dense tensor throughput; -o wide for aliases)"
    return table_text(cols, body, wide=wide, title=title)
