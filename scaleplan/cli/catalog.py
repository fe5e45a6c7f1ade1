"""``scaleplan catalog``: list, show and describe shipped and user catalogs; ``refresh`` rebuilds
AWS rows from the AWS APIs (:mod:`scaleplan.catalog.refresh`; boto3 imported only inside it)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report, stderr_console
from scaleplan.cli.options import CatalogFiles, JsonTable, OutputWide, Wide, number_option
from scaleplan.option_values import args_of, split_values

app = typer.Typer(help="Browse GPU/CPU instance types and prices (AWS, GCP, Azure and your own catalogs).", no_args_is_help=True)


@app.command("list")
def list_(
    provider: Annotated[list[str] | None, typer.Option("--provider", "-p", help="aws, gcp, azure (repeatable or comma-separated).")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Region(s).")] = None,
    accelerator: Annotated[list[str] | None, typer.Option("--accelerator", "-a", help="Accelerator name or alias (L4, nvidia-l4, a100-80gb, cpu).")] = None,
    min_gpu_memory: Annotated[float | None, number_option("--min-gpu-memory", what="a number of GiB", example="24", min=0, help="Minimum memory per accelerator (GiB).")] = None,
    max_price: Annotated[float | None, number_option("--max-price", what="a price in $/hour", example="10", min=0, help="Maximum $/hour for the whole instance.")] = None,
    spot: Annotated[bool, typer.Option("--spot", help="Only rows with a spot price; filter and sort by spot price.")] = False,
    gpu_only: Annotated[bool, typer.Option("--gpu-only", help="Leave out CPU-only instance types.")] = False,
    sort: Annotated[str, typer.Option("--sort", help="price, gpu-price, gpu-memory, name, region.")] = "price",
    catalog: CatalogFiles = None,
    json_out: JsonTable = False,
    wide: Wide = False,
    output: OutputWide = None,
) -> None:
    """Table of instance types: accelerator x count, GPU memory, vCPU, RAM, on-demand and spot $/h, $/GPU-hour."""
    with handle_errors(json_out):
        from scaleplan.catalog.query import ListArgs, list_instances
        from scaleplan.catalog.report import instances_report

        rows, notes = list_instances(args_of(ListArgs, locals()))
        print_report(instances_report(rows, json_out, output, wide, notes))


@app.command("show")
def show(
    instance_type: Annotated[str, typer.Argument(metavar="INSTANCE_TYPE", help="Instance type, e.g. g6.xlarge.", show_default=False)],
    catalog: CatalogFiles = None,
    json_out: JsonTable = False,
    wide: Wide = False,
    output: OutputWide = None,
) -> None:
    """Specs and prices of one instance type in every region."""
    with handle_errors(json_out):
        from scaleplan.catalog.query import show_instance
        from scaleplan.catalog.report import instance_report

        found = show_instance(split_values(catalog), instance_type)
        print_report(instance_report(instance_type, found, json_out, output, wide))


@app.command("accelerators")
def accelerators(json_out: JsonTable = False, wide: Wide = False, output: OutputWide = None) -> None:
    """Accelerator models with memory, bandwidth and TFLOPS."""
    with handle_errors(json_out):
        from scaleplan.catalog.files import load_accelerators
        from scaleplan.catalog.report import accelerators_report

        print_report(accelerators_report(load_accelerators(), json_out, output, wide))


@app.command("refresh")
def refresh(
    regions: Annotated[str, typer.Option("--regions", help="Comma-separated AWS regions to refresh, e.g. us-east-1,us-west-2.")],
    provider: Annotated[str, typer.Option("--provider", help="Cloud provider; only 'aws' is supported.")] = "aws",
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Catalog file to update (created if missing). Default: ./catalogs/aws.yaml when it exists in the current folder.")] = None,
    aws_profile: Annotated[str | None, typer.Option("--aws-profile", help="boto3 profile (default: AWS_PROFILE / the default credential chain).")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="Custom EC2 endpoint (e.g. a moto server). The Price List API always uses its us-east-1 endpoint.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fetch and compare, but write nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result (difference, warnings) as JSON on stdout.")] = False,
    max_attempts: Annotated[int, number_option("--max-attempts", integer=True, min=1, max=20, help="Attempts per API call (botocore adaptive retry mode).")] = 8,
) -> None:
    """Rebuild AWS catalog rows (types, zones, on-demand and spot prices) from the AWS APIs."""
    with handle_errors(json_out):
        from scaleplan.catalog.refresh import RefreshArgs, refresh_command
        from scaleplan.catalog.report import refresh_report

        outcome = refresh_command(args_of(RefreshArgs, locals()), progress=_progress)
        print_report(refresh_report(outcome, json_out))


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr, one step per API phase of each region."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=stderr_console(), transient=True) as bar:
        task = bar.add_task("AWS catalog refresh", total=total)
        yield lambda msg: bar.update(task, advance=1, description=msg)
