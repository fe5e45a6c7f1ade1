"""``scaleplan catalog refresh``: rebuild AWS catalog rows from the AWS APIs.

Attached to the ``catalog`` group by ``scaleplan/cli/catalog.py`` as
``catalog_app.command("refresh")(refresh)``. boto3 is imported only inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scaleplan.cli._common import emit_json, handle_errors, stderr_console, stdout_console

if TYPE_CHECKING:
    from scaleplan.catalog.diff import CatalogDiff

DEFAULT_OUT = Path("catalogs") / "aws.yaml"


def _regions(value: str) -> list[str]:
    from scaleplan.names import AWS_REGION

    out: list[str] = []
    for part in value.split(","):
        r = part.strip()
        if not r:
            continue
        if not AWS_REGION.fullmatch(r):
            raise typer.BadParameter(f"{r!r} is not an AWS region name (e.g. us-east-1)", param_hint="--regions")
        if r not in out:
            out.append(r)
    if not out:
        raise typer.BadParameter("give at least one region, e.g. --regions us-east-1,us-west-2", param_hint="--regions")
    return out


def _is_shipped(path: Path) -> bool:
    from scaleplan.catalog.files import shipped_dir

    try:
        return path.resolve().parent == shipped_dir().resolve()
    except OSError:
        return False


def _resolve_out(out: Path | None, dry_run: bool) -> Path | None:
    if out is None:
        if DEFAULT_OUT.is_file() and not _is_shipped(DEFAULT_OUT):
            out = DEFAULT_OUT
        elif dry_run:
            return None
        else:
            raise typer.BadParameter(
                "no catalog to update: pass --out FILE (e.g. --out my-aws.yaml; then use it with --catalog FILE); ./catalogs/aws.yaml is the default only when it exists in the current directory",
                param_hint="--out",
            )
    if _is_shipped(out):
        raise typer.BadParameter(f"{out} is the catalog installed with scaleplan; write your own file with --out FILE and pass it with --catalog FILE", param_hint="--out")
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a directory; give a file path such as {out / 'aws.yaml'}", param_hint="--out")
    return out


def refresh(
    regions: Annotated[str, typer.Option("--regions", help="Comma-separated AWS regions to refresh, e.g. us-east-1,us-west-2.")],
    provider: Annotated[str, typer.Option("--provider", help="Cloud provider; only 'aws' is supported.")] = "aws",
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE", help="Catalog file to update (created if missing). Default: ./catalogs/aws.yaml when it exists in the current directory.")] = None,
    aws_profile: Annotated[str | None, typer.Option("--aws-profile", help="boto3 profile (default: AWS_PROFILE / the default credential chain).")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="Custom EC2 endpoint (e.g. a moto server). The Price List API always uses its us-east-1 endpoint.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fetch and compare, but write nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result (difference, warnings) as JSON on stdout.")] = False,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, max=20, help="Attempts per API call (botocore adaptive retry mode).")] = 8,
) -> None:
    """Rebuild AWS catalog rows (types, zones, on-demand and spot prices) from the AWS APIs."""
    if provider != "aws":
        raise typer.BadParameter(f"only 'aws' can be refreshed from its APIs, got {provider!r}", param_hint="--provider")
    region_list = _regions(regions)
    if endpoint_url is not None:
        from urllib.parse import urlsplit

        u = urlsplit(endpoint_url)
        if u.scheme not in ("http", "https") or not u.hostname or any(c.isspace() or ord(c) < 32 for c in endpoint_url):
            raise typer.BadParameter(f"{endpoint_url[:100]!r} is not an http(s) URL (e.g. http://127.0.0.1:5000)", param_hint="--endpoint-url")
    target = _resolve_out(out, dry_run)
    with handle_errors():
        from scaleplan.extras import require

        require("boto3", "catalog refresh")
        _run(region_list, target, aws_profile, endpoint_url, dry_run, json_out, max_attempts)


def _run(regions: list[str], target: Path | None, profile: str | None, endpoint_url: str | None, dry_run: bool, json_out: bool, max_attempts: int) -> None:
    from datetime import UTC, datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scaleplan.catalog import aws
    from scaleplan.catalog.assemble import catalog_text
    from scaleplan.catalog.diff import diff_rows
    from scaleplan.catalog.files import (
        load_accelerators,
        merge,
        parse_catalog_text,
        read_catalog_file,
        shipped_paths,
    )
    from scaleplan.catalog.prices import implausible_prices
    from scaleplan.errors import ExternalError
    from scaleplan.yamlio import atomic_write

    current = read_catalog_file(target) if target is not None and target.exists() else None
    if current is not None:
        baseline = current.instances
        baseline_name = str(target)
    else:
        baseline = read_catalog_file(shipped_paths()[0]).instances
        baseline_name = "the shipped aws catalog"
    now = datetime.now(UTC)
    con = stderr_console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=con, transient=True) as bar:
        task = bar.add_task("AWS catalog refresh", total=len(regions) * aws.STEPS_PER_REGION)

        def step(msg: str) -> None:
            bar.update(task, advance=1, description=msg)

        result = aws.refresh_aws(
            regions,
            current=current,
            profile=profile,
            endpoint_url=endpoint_url,
            pricing_client=aws.pricing_client_override(),
            max_attempts=max_attempts,
            now=now,
            progress=step,
        )
    bad = implausible_prices(result.new_rows, baseline)
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ExternalError(f"the refreshed prices are not plausible: {shown}", hint="nothing was written; the Price List or EC2 API (or --endpoint-url) returned bad data; retry later")
    text = catalog_text(result.catalog, now)
    # Validate what would be written: the YAML parses back to the same model and every
    # accelerator resolves (the same checks `--catalog FILE` will run).
    name = str(target) if target is not None else "refreshed catalog"
    try:
        reparsed = parse_catalog_text(text, name)
        merge([(name, reparsed)], load_accelerators())
    except Exception as exc:
        raise ExternalError(f"the refreshed catalog did not validate: {exc}", hint="nothing was written; report this with SCALEPLAN_DEBUG=1") from exc
    scope = {("aws", r) for r in regions}
    diff = diff_rows(baseline, reparsed.instances, scope=scope)
    written = False
    if not dry_run and target is not None:
        atomic_write(target, text)
        written = True
    if json_out:
        emit_json(
            {
                "provider": "aws",
                "regions": regions,
                "out": str(target) if target is not None else None,
                "written": written,
                "dry_run": dry_run,
                "compared_with": baseline_name,
                "rows": len(result.new_rows),
                "api_calls": result.calls,
                "diff": diff.to_dict(),
                "warnings": list(result.warnings),
            }
        )
        return
    for w in result.warnings:
        con.print(f"warning: {w}", markup=False, soft_wrap=True)
    _print_diff(diff, baseline_name, regions, len(result.new_rows), result.calls)
    out_con = stdout_console()
    if written:
        out_con.print(f"wrote {target} ({len(result.catalog.instances)} rows); use it with --catalog {target}", markup=False)
    elif dry_run:
        out_con.print("dry run: nothing written", markup=False)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _print_diff(diff: CatalogDiff, baseline: str, regions: list[str], rows: int, calls: int) -> None:
    from scaleplan.table import Column, table_lines

    con = stdout_console()
    c = diff.to_dict()["counts"]
    con.print(f"aws {', '.join(regions)}: {rows} rows from {calls} API calls; compared with {baseline}: {c['added']} new, {c['removed']} removed, {c['price_changes']} price changes, {c['unchanged']} unchanged", markup=False)

    def show(title: str, columns: list[Column], cells: list[list[str]]) -> None:
        # plain kubectl-style tables: regions and instance types are never cut or wrapped
        con.print(f"\n{title}", markup=False)
        for line in table_lines(columns, cells):
            con.print(line, markup=False, soft_wrap=True)

    def acc(r: Any) -> str:
        return f"{r.accelerator_count}x {r.accelerator}" if r.accelerator else "cpu"

    if diff.added:
        show("New instance types", [Column("region"), Column("instance type"), Column("accelerator"), Column("on-demand $/h", "right"), Column("spot $/h", "right")],
             [[r.region, r.instance_type, acc(r), _fmt(r.price_ondemand), _fmt(r.price_spot)] for r in diff.added])
    if diff.removed:
        show("Removed instance types", [Column("region"), Column("instance type"), Column("accelerator")],
             [[r.region, r.instance_type, acc(r)] for r in diff.removed])
    if diff.price_changes:
        show("Price changes", [Column("region"), Column("instance type"), Column("price"), Column("old $/h", "right"), Column("new $/h", "right"), Column("change", "right")],
             [[ch.key[1], ch.key[2], ch.field.removeprefix("price_"), _fmt(ch.old), _fmt(ch.new), "-" if ch.pct is None else f"{ch.pct:+.1f}%"] for ch in diff.price_changes])


def register(app: Any) -> None:
    """Not auto-registered; scaleplan/cli/catalog.py attaches :func:`refresh` to its group."""
    app.command("refresh")(refresh)
