"""``scaleplan catalog refresh``: rebuild AWS catalog rows from the AWS APIs.

Attached to the ``catalog`` group by ``scaleplan/cli/catalog.py`` as
``catalog_app.command("refresh")(refresh)``. The refresh itself is
:mod:`scaleplan.catalog.refresh`; boto3 is imported only inside the command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_lines, stderr_console, warn
from scaleplan.cli.options import number_option


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
        from scaleplan.catalog.refresh import refresh_command

        outcome = refresh_command(
            provider, regions, out, profile=aws_profile, endpoint_url=endpoint_url,
            dry_run=dry_run, max_attempts=max_attempts, progress=_progress,
        )
        if json_out:
            emit_json(outcome.to_dict())
            return
        from scaleplan.catalog.report import refresh_lines

        warn(outcome.warnings)
        print_lines(refresh_lines(outcome))


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar on stderr, one step per API phase of each region."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=stderr_console(), transient=True) as bar:
        task = bar.add_task("AWS catalog refresh", total=total)
        yield lambda msg: bar.update(task, advance=1, description=msg)
