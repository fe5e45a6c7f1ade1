"""``scaleplan check`` from its options to its report: the command's steps around the gate
(``check/gate.py``, which reads no catalog and writes nothing). The options checked,
``--list-rules``' table or JSON, or else the one ``--plan``, the catalog tables read when first
needed (``inputs.gate_tables``), the checks, the warnings about the plan, the report in its
format, printed or written to ``--output`` (atomically, by ``outputs.write_output_file``; its
summary line for stderr), and the exit-1 failure at ``--fail-on``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scaleplan.table import Report


@dataclass(frozen=True)
class CheckArgs:
    """``scaleplan check``'s options, as the command declares them; ``typed``: the options
    typed on the command line (``option_values.typed_options``)."""

    paths: Sequence[str] | None
    plan: Sequence[str] | None
    kube_version: str
    catalog: Sequence[str] | None
    pod_security: str | None
    fmt: str
    fail_on: str
    disable: list[str] | None
    enable: list[str] | None
    output: str | None
    only_manifests: bool
    wide: bool
    list_rules: bool
    json_out: bool
    typed: Sequence[str]


def check_command(args: CheckArgs, warn: Callable[[list[str]], None]) -> Report:
    """The check's :class:`~scaleplan.table.Report`: the rules (``--list-rules``), else the
    report on stdout (a terminal's text report as lines, each finding whole) or, with
    ``--output FILE``, that file written and the summary line for stderr; the failure when a
    finding reaches the threshold. ``warn`` gets the warnings about the plan at once, before
    the report is written."""
    from scaleplan.check import gate
    from scaleplan.option_values import split_values
    from scaleplan.table import Report

    fmt = gate.format_option(args.fmt, args.json_out, args.typed)
    threshold = gate.report_threshold(fmt, args.fail_on)
    if args.list_rules:
        wide = gate.list_rules_wide(args.output, args.wide, args.paths, args.typed, fmt)
        return gate.rules_report(fmt, wide)
    from scaleplan.inputs import gate_tables, plan_warnings

    plan_file = gate.one_plan(args.plan)
    files, tables = gate_tables(plan_file, args.catalog or [])  # read once, when first needed
    report = gate.gate_report(
        args.paths or [], plan_file=plan_file, kube_version=args.kube_version,
        disabled=split_values(args.disable), enabled=split_values(args.enable),
        only_manifests=args.only_manifests, catalog=tables, pod_security=args.pod_security)
    warn(plan_warnings(report.plan, files(), plan_file, tables))
    text = gate.report_text(report, fmt, threshold)
    failure = gate.gate_failure(report, threshold)
    if args.output in (None, "-"):  # '-': standard output, as for every command's files
        if fmt == "text":
            return Report(lines=gate.tty_lines(text), failure=failure)
        return Report(text=text, failure=failure)
    from scaleplan.outputs import write_output_file  # atomically, as every command's file

    write_output_file(args.output, text, **gate.report_file_args(fmt, args.paths, plan_file))
    return Report(stderr=(gate.summary_line(report, threshold),), failure=failure)
