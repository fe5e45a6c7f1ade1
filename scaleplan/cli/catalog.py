"""``scaleplan catalog``: list, show and describe shipped and user catalogs."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_text
from scaleplan.option_values import split_values

app = typer.Typer(help="Browse GPU/CPU instance types and prices (AWS, GCP, Azure and your own catalogs).", no_args_is_help=True)

CatalogOpt = Annotated[list[str] | None, typer.Option("--catalog", help="Extra catalog file(s); later rows override earlier ones. Repeatable.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
WideOpt = Annotated[bool, typer.Option("--wide", "-w", help="All columns (the default fits 80 columns).")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", metavar="wide", help="-o wide: all columns, as --wide (kubectl style).")]


def register(root: typer.Typer) -> None:
    try:
        from scaleplan.cli.catalog_refresh import refresh
    except ModuleNotFoundError as exc:
        if exc.name != "scaleplan.cli.catalog_refresh":
            raise
    else:
        app.command("refresh")(refresh)
    root.add_typer(app, name="catalog")


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.4f}"


@app.command("list")
def list_(
    provider: Annotated[list[str] | None, typer.Option("--provider", "-p", help="aws, gcp, azure (repeatable or comma-separated).")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Region(s).")] = None,
    accelerator: Annotated[list[str] | None, typer.Option("--accelerator", "-a", help="Accelerator name or alias (L4, nvidia-l4, a100-80gb, cpu).")] = None,
    min_gpu_memory: Annotated[float | None, typer.Option("--min-gpu-memory", help="Minimum memory per accelerator (GiB).")] = None,
    max_price: Annotated[float | None, typer.Option("--max-price", help="Maximum $/hour for the whole instance.")] = None,
    spot: Annotated[bool, typer.Option("--spot", help="Only rows with a spot price; filter and sort by spot price.")] = False,
    gpu_only: Annotated[bool, typer.Option("--gpu-only", help="Leave out CPU-only instance types.")] = False,
    sort: Annotated[str, typer.Option("--sort", help="price, gpu-price, gpu-memory, name, region.")] = "price",
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
    output: OutputOpt = None,
) -> None:
    """Table of instance types: accelerator x count, GPU memory, vCPU, RAM, on-demand and spot $/h, $/GPU-hour."""
    with handle_errors():
        from scaleplan.catalog.files import load_catalog
        from scaleplan.catalog.query import (
            SORT_KEYS,
            filter_problems,
            filter_rows,
            row_dict,
            sort_rows,
            view,
        )

        if sort not in SORT_KEYS:
            raise typer.BadParameter(f"must be one of {', '.join(SORT_KEYS)}; got {sort!r}", param_hint="--sort")
        cat = load_catalog(split_values(catalog))
        accs = split_values(accelerator)
        problems = filter_problems(cat, providers=split_values(provider), regions=split_values(region), accelerators=accs)
        if problems:
            raise typer.BadParameter("; ".join(f"{p.message} ({p.hint})" for p in problems), param_hint=problems[0].where)
        rows = filter_rows(
            cat, providers=split_values(provider), regions=split_values(region), accelerators=accs,
            min_gpu_memory=min_gpu_memory, max_price=max_price, spot=spot, include_cpu=not gpu_only,
        )
        rows = sort_rows(rows, sort, spot=spot)
        if json_out:
            emit_json({"count": len(rows), "instances": [row_dict(r) for r in rows]})
            return
        from scaleplan.table import Column, table_text, wide_flag

        cols = [
            Column("instance type"), Column("provider", wide=True), Column("region"), Column("accelerator"),
            Column("GPU mem", "right", wide=True), Column("vCPU", "right", wide=True), Column("RAM", "right", wide=True),
            Column("$/h", "right"), Column("spot $/h", "right"), Column("$/GPU-h", "right", wide=True), Column("flags", wide=True),
        ]
        body = []
        for r in rows:
            v = view(r)
            acc = f"{r.accelerator} x{r.accelerator_count}" if r.accelerator else "CPU"
            body.append([r.instance_type, r.provider, r.region, acc, f"{v.gpu_memory_gib:g}" if r.accelerator else "-", str(r.vcpus), f"{r.memory_gib:g}", _money(r.price_ondemand), _money(r.price_spot), _money(v.price_per_gpu_hour), ",".join(r.flags)])
        print_text(table_text(cols, body, wide=wide_flag(output, wide), title=f"{len(rows)} instance types"))


@app.command("show")
def show(
    instance_type: Annotated[str, typer.Argument(metavar="INSTANCE_TYPE", help="Instance type, e.g. g6.xlarge.", show_default=False)],
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    wide: WideOpt = False,
    output: OutputOpt = None,
) -> None:
    """Specs and prices of one instance type in every region."""
    with handle_errors():
        from scaleplan.catalog.files import load_catalog
        from scaleplan.catalog.query import describe_instance, instance_rows, row_dict

        cat = load_catalog(split_values(catalog))
        rows = instance_rows(cat, instance_type)
        acc = cat.accelerator(rows[0].accelerator) if rows[0].accelerator else None
        if json_out:
            emit_json({"instance_type": instance_type, "accelerator": acc.model_dump(mode="json", exclude_none=True) if acc else None, "regions": [row_dict(r) for r in rows]})
            return
        from scaleplan.table import Column, table_text, wide_flag

        lines = describe_instance(rows[0], acc)
        cols = [Column("region"), Column("on-demand $/h", "right"), Column("spot $/h", "right"), Column("spot discount", "right"), Column("flags", wide=True), Column("source", wide=True)]
        body = []
        for r in rows:
            disc = f"{1 - r.price_spot / r.price_ondemand:.0%}" if r.price_spot is not None and r.price_ondemand else "-"
            body.append([r.region, _money(r.price_ondemand), _money(r.price_spot), disc, ",".join(r.flags), r.source or ""])
        print_text(table_text(cols, body, wide=wide_flag(output, wide), title="\n".join(lines)))


@app.command("accelerators")
def accelerators(json_out: JsonOpt = False, wide: WideOpt = False, output: OutputOpt = None) -> None:
    """Accelerator models with memory, bandwidth and TFLOPS."""
    with handle_errors():
        from scaleplan.catalog.files import load_accelerators

        accs = load_accelerators()
        if json_out:
            emit_json({"accelerators": [a.model_dump(mode="json", exclude_none=True) for a in accs]})
            return
        from scaleplan.table import Column, table_text, wide_flag

        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:g}"

        cols = [
            Column("name"), Column("memory GiB", "right"), Column("GB/s", "right"), Column("FP16 TFLOPS", "right"),
            Column("BF16 TFLOPS", "right"), Column("INT8 TOPS", "right", wide=True), Column("TDP W", "right", wide=True),
            Column("interconnect", wide=True), Column("aliases", wide=True),
        ]
        body = [[a.name, f(a.memory_gib), f(a.memory_bandwidth_gbs), f(a.fp16_tflops), f(a.bf16_tflops), f(a.int8_tops), f(a.tdp_watts), a.interconnect or "-", ", ".join(a.aliases)] for a in accs]
        print_text(table_text(cols, body, wide=wide_flag(output, wide), title="accelerators (dense tensor throughput; -o wide for aliases)"))
