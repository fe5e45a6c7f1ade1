"""``scaleplan check``: schema, best-practice, GPU and drift checks for manifests (CI gate)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_text
from scaleplan.option_values import split_values

if TYPE_CHECKING:
    from scaleplan.check.model import CheckReport, Severity

FORMATS = ("text", "json", "junit", "sarif", "github")


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...",
            help="Manifest files or folders (searched for *.yaml, *.yml); - reads standard input.",
            show_default=False,
        ),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="Also check drift against what this plan renders, and the plan-aware rules.",
        ),
    ] = None,
    kube_version: Annotated[
        str,
        typer.Option(
            "--kube-version",
            metavar="VERSION",
            help="Kubernetes version whose schemas to validate against (1.25 to 1.37).",
        ),
    ] = "1.37",
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help="A catalog file beyond the shipped ones (repeatable), as the plan was optimized with.")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="Output: text, json, junit, sarif or github (workflow commands)."
        ),
    ] = "text",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding at or above this severity exists: error or warning.",
        ),
    ] = "error",
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", metavar="RULE", help="Rule id(s) to skip (repeat or comma-separate)."),
    ] = None,
    enable: Annotated[
        list[str] | None,
        typer.Option("--enable", metavar="RULE", help="Rule id(s) to turn on (also ones off by default)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            "--output",
            metavar="FILE",
            help="Write the report to this file (atomically) instead of stdout.",
        ),
    ] = None,
    only_manifests: Annotated[
        bool,
        typer.Option(
            "--only-manifests",
            help="Skip YAML documents that are not Kubernetes objects (as the pre-commit hook does) instead of failing on them.",
        ),
    ] = False,
    wide: Annotated[
        bool, typer.Option("--wide", "-w", help="--list-rules: all columns (reason, fix, Polaris).")
    ] = False,
    list_rules: Annotated[
        bool,
        typer.Option("--list-rules", help="List the rules (id, severity, reason, fix) and exit."),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Same as --format json (with --list-rules: the rules as JSON)."
        ),
    ] = False,
) -> None:
    """Check Kubernetes manifests: schemas, best practices, GPU rules and (with --plan) drift.

    Exit 0 when clean, 1 when a finding is at or above --fail-on (or the manifests drifted
    from the plan), 3 when an input cannot be read. Silence a rule for one object with the
    annotation scaleplan.dev/ignore: "rule-a,rule-b".
    """
    with handle_errors():
        if json_out:
            fmt = "json"
        if fmt not in FORMATS:
            raise typer.BadParameter(
                f"must be one of {', '.join(FORMATS)}; got {fmt!r}", param_hint="--format"
            )
        if fail_on not in ("error", "warning"):
            raise typer.BadParameter(
                f"must be error or warning; got {fail_on!r}", param_hint="--fail-on"
            )
        threshold: Severity = "error" if fail_on == "error" else "warning"
        if list_rules:
            _list_rules(json_out or fmt == "json", wide=wide)
            return
        if not paths:
            raise typer.BadParameter(
                "give at least one manifest file or folder (or - for stdin)", param_hint="PATH"
            )

        from scaleplan.check.gate import gate_failure, gate_report
        from scaleplan.inputs import load_tables

        version = _kube_version(kube_version)
        tables = partial(load_tables, catalog or [])  # read when a rule or the drift check needs it
        report = gate_report(paths, plan_file=plan, kube_version=version, disabled=split_values(disable), enabled=split_values(enable), only_manifests=only_manifests, catalog=tables)
        _write_report(report, fmt, threshold, output)
        failure = gate_failure(report, threshold)
        if failure is not None:
            raise failure


def _kube_version(kube_version: str) -> str:
    """``--kube-version`` as the checker names it; a bad one is a usage error (2), not bad
    input (3)."""
    from scaleplan.check import normalise_kube_version
    from scaleplan.errors import InputError

    try:
        return normalise_kube_version(kube_version)
    except InputError as exc:
        first = exc.problems[0] if exc.problems else None
        message = f"{first.message if first else exc}; {exc.hint or (first.hint if first else '')}"
        raise typer.BadParameter(message.rstrip("; "), param_hint="--kube-version") from None


def _write_report(report: CheckReport, fmt: str, threshold: Severity, output: str | None) -> None:
    """The report on stdout, or into ``--output`` (atomically) with its summary line on stderr."""
    from scaleplan.check.formats import render_report
    from scaleplan.check.gate import junit_clock

    stamp, host = junit_clock() if fmt == "junit" else ("1970-01-01T00:00:00", "localhost")
    out = render_report(report, fmt, fail_on=threshold, timestamp=stamp, hostname=host)
    if output is not None:
        from scaleplan.outputs import check_out_path
        from scaleplan.yamlio import atomic_write

        check_out_path(output, "--output")
        atomic_write(output, out)
        typer.echo(render_report(report, "text", fail_on=threshold).splitlines()[-1], err=True)
    else:
        import sys

        sys.stdout.write(out)
        sys.stdout.flush()


def _list_rules(as_json: bool, *, wide: bool = False) -> None:
    from scaleplan.check import RULES

    if as_json:
        emit_json({"rules": [r.to_json() for r in RULES]})
        return
    from scaleplan.table import Column, table_text

    cols = [
        Column("rule"),
        Column("severity"),
        Column("default"),
        Column("category"),
        Column("reason", wide=True),
        Column("fix", wide=True),
        Column("polaris", wide=True),
    ]
    rows = [
        [
            r.id,
            r.severity,
            ("on" if r.default else "off") + (" (--plan)" if r.needs_plan else ""),
            r.category,
            r.reason,
            r.hint,
            ", ".join(r.polaris),
        ]
        for r in RULES
    ]
    print_text(table_text(cols, rows, wide=wide))
    if not wide:
        import sys

        sys.stdout.write("(--wide for the reason and fix of each rule; docs/ci.md lists them too)\n")
