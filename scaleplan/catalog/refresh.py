"""``scaleplan catalog refresh`` from its options to its outcome: the regions and the file to
update checked, the AWS rows fetched (``aws.py``), checked for plausibility and read back as
``--catalog FILE`` would read them, compared with the rows they replace, and written.

A bad option is an :class:`~scaleplan.errors.OptionError` (exit 2); nothing is written unless
every check passed. boto3 is imported only by ``aws.py``, when the refresh runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.errors import ExternalError, OptionError

if TYPE_CHECKING:
    from scaleplan.catalog.diff import CatalogDiff

DEFAULT_OUT = Path("catalogs") / "aws.yaml"

# how the refresh shows its progress: given the number of steps, a context whose value is called
# once per step with what it is doing
Progress = Callable[[int], AbstractContextManager[Callable[[str], None]]]


def check_provider(provider: str) -> None:
    if provider != "aws":
        message = f"only 'aws' can be refreshed from its APIs, got {provider!r}"
        raise OptionError(message, option="--provider")


def parse_regions(value: str) -> list[str]:
    """``--regions``: AWS region names, comma-separated, de-duplicated in order."""
    from scaleplan.names import AWS_REGION

    out: list[str] = []
    for part in value.split(","):
        r = part.strip()
        if not r:
            continue
        if not AWS_REGION.fullmatch(r):
            message = f"{r!r} is not an AWS region name (e.g. us-east-1)"
            raise OptionError(message, option="--regions")
        if r not in out:
            out.append(r)
    if not out:
        message = "give at least one region, e.g. --regions us-east-1,us-west-2"
        raise OptionError(message, option="--regions")
    return out


def check_endpoint_url(url: str | None) -> None:
    """``--endpoint-url``: an http(s) URL with a host and no whitespace or control characters."""
    if url is None:
        return
    from urllib.parse import urlsplit

    u = urlsplit(url)
    odd = any(c.isspace() or ord(c) < 32 for c in url)
    if u.scheme not in ("http", "https") or not u.hostname or odd:
        message = f"{url[:100]!r} is not an http(s) URL (e.g. http://127.0.0.1:5000)"
        raise OptionError(message, option="--endpoint-url")


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is a catalog installed with scaleplan (never refreshed in place)."""
    from scaleplan.catalog.files import shipped_dir

    try:
        return path.resolve().parent == shipped_dir().resolve()
    except OSError:
        return False


def resolve_out(out: Path | None, dry_run: bool) -> Path | None:
    """The catalog file to update: ``--out``, else ./catalogs/aws.yaml when it is there (and not
    the shipped one); None for a dry run without one."""
    if out is None:
        if DEFAULT_OUT.is_file() and not is_shipped(DEFAULT_OUT):
            out = DEFAULT_OUT
        elif dry_run:
            return None
        else:
            raise OptionError(
                "no catalog to update: pass --out FILE (e.g. --out my-aws.yaml; then use it with "
                "--catalog FILE); ./catalogs/aws.yaml is the default only when it exists in the "
                "current folder",
                option="--out",
            )
    from scaleplan.outputs import check_out_path

    check_out_path(str(out))  # '-' (standard output) is no catalog to update: exit 2
    if is_shipped(out):
        message = (
            f"{out} is the catalog installed with scaleplan; write your own file with --out FILE "
            "and pass it with --catalog FILE"
        )
        raise OptionError(message, option="--out")
    if out.is_dir():  # an output path that cannot be written: exit 3, as in every command
        from scaleplan.yamlio import folder_not_file

        raise folder_not_file(out, "aws.yaml")
    return out


@dataclass(frozen=True)
class RefreshOutcome:
    """What a refresh fetched, what it changed against the rows it replaces, what it wrote."""

    regions: tuple[str, ...]
    target: Path | None
    written: bool
    dry_run: bool
    compared_with: str
    rows: int  # rows fetched
    calls: int  # API calls made
    catalog_rows: int  # rows in the catalog file written
    diff: CatalogDiff
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """``catalog refresh --json``."""
        return {
            "provider": "aws",
            "regions": list(self.regions),
            "out": str(self.target) if self.target is not None else None,
            "written": self.written,
            "dry_run": self.dry_run,
            "compared_with": self.compared_with,
            "rows": self.rows,
            "api_calls": self.calls,
            "diff": self.diff.to_dict(),
            "warnings": list(self.warnings),
        }


def refresh_catalog(
    regions: list[str],
    target: Path | None,
    *,
    profile: str | None,
    endpoint_url: str | None,
    dry_run: bool,
    max_attempts: int,
    progress: Progress,
) -> RefreshOutcome:
    """Fetch ``regions``, check the rows, compare them with ``target`` (or the shipped aws
    catalog) and write ``target`` unless ``dry_run``. ExternalError when the APIs returned
    implausible prices or a catalog that does not read back; then nothing is written."""
    from datetime import UTC, datetime

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
    from scaleplan.yamlio import atomic_write

    current = read_catalog_file(target) if target is not None and target.exists() else None
    if current is not None:
        baseline = current.instances
        baseline_name = str(target)
    else:
        baseline = read_catalog_file(shipped_paths()[0]).instances
        baseline_name = "the shipped aws catalog"
    now = datetime.now(UTC)
    with progress(len(regions) * aws.STEPS_PER_REGION) as step:
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
        raise ExternalError(
            f"the refreshed prices are not plausible: {shown}",
            hint=(
                "nothing was written; the Price List or EC2 API (or --endpoint-url) returned "
                "bad data; retry later"
            ),
        )
    text = catalog_text(result.catalog, now)
    # Validate what would be written: the YAML parses back to the same model and every
    # accelerator resolves (the same checks `--catalog FILE` will run).
    name = str(target) if target is not None else "refreshed catalog"
    try:
        reparsed = parse_catalog_text(text, name)
        merge([(name, reparsed)], load_accelerators())
    except Exception as exc:
        raise ExternalError(
            f"the refreshed catalog did not validate: {exc}",
            hint="nothing was written; report this with SCALEPLAN_DEBUG=1",
        ) from exc
    diff = diff_rows(baseline, reparsed.instances, scope={("aws", r) for r in regions})
    written = False
    if not dry_run and target is not None:
        atomic_write(target, text, example="catalog.yaml")
        written = True
    return RefreshOutcome(
        regions=tuple(regions), target=target, written=written, dry_run=dry_run,
        compared_with=baseline_name, rows=len(result.new_rows), calls=result.calls,
        catalog_rows=len(result.catalog.instances), diff=diff, warnings=result.warnings,
    )


@dataclass(frozen=True, kw_only=True)
class RefreshArgs:
    """``catalog refresh``'s options as given (``scaleplan catalog refresh --help`` says what
    each does), checked by :func:`refresh_command`."""

    provider: str
    regions: str
    out: Path | None
    aws_profile: str | None
    endpoint_url: str | None
    dry_run: bool
    max_attempts: int


def refresh_command(args: RefreshArgs, *, progress: Progress) -> RefreshOutcome:
    """``catalog refresh`` from its options: the provider, the regions, the endpoint and the
    file to update checked (usage errors before boto3 is needed), then :func:`refresh_catalog`."""
    from scaleplan.extras import require

    check_provider(args.provider)
    region_list = parse_regions(args.regions)
    check_endpoint_url(args.endpoint_url)
    target = resolve_out(args.out, args.dry_run)
    require("boto3", "catalog refresh")
    return refresh_catalog(
        region_list, target, profile=args.aws_profile, endpoint_url=args.endpoint_url,
        dry_run=args.dry_run, max_attempts=args.max_attempts, progress=progress,
    )
