"""``scaleplan check``: schema, best-practice, GPU and drift checks for manifests (CI gate)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_lines, print_report, print_text, warn
from scaleplan.option_values import split_values, typed_options


def check(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(metavar="PATH...", show_default=False, help=(
        "Manifest files or folders (searched for *.yaml, *.yml); - reads standard input."))] = None,
    plan: Annotated[list[str] | None, typer.Option("--plan", metavar="FILE", help=(
        "Also check drift against what this plan renders, and the plan-aware rules."))] = None,
    kube_version: Annotated[str, typer.Option("--kube-version", metavar="VERSION", help=(
        "Kubernetes version whose schemas to validate against (1.25 to 1.37)."))] = "1.37",
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help=(
        "A catalog file beyond the shipped ones (repeatable), as the plan was optimized with."
    ))] = None,
    pod_security: Annotated[str | None, typer.Option("--pod-security", metavar="LEVEL", help=(
        "Check every pod against this Pod Security Standard (baseline or restricted)."))] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help=(
        "Output: text, json, junit, sarif or github (workflow commands)."))] = "text",
    fail_on: Annotated[str, typer.Option("--fail-on", help=(
        "Exit 1 when a finding at or above this severity exists: error or warning."))] = "error",
    disable: Annotated[list[str] | None, typer.Option("--disable", metavar="RULE", help=(
        "Rule id(s) to skip (repeat or comma-separate)."))] = None,
    enable: Annotated[list[str] | None, typer.Option("--enable", metavar="RULE", help=(
        "Rule id(s) to turn on (also ones off by default)."))] = None,
    output: Annotated[str | None, typer.Option("--out", "-o", "--output", metavar="FILE", help=(
        "Write the report to this file (atomically) instead of stdout (- is stdout)."))] = None,
    only_manifests: Annotated[bool, typer.Option("--only-manifests", help=(
        "Skip YAML documents that are not Kubernetes objects (as the pre-commit hook does) "
        "instead of failing on them."))] = False,
    wide: Annotated[bool, typer.Option("--wide", "-w", help=(
        "--list-rules: all columns (reason, fix, Polaris)."))] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help=(
        "List the rules (id, severity, reason, fix) and exit."))] = False,
    json_out: Annotated[bool, typer.Option("--json", help=(
        "Same as --format json (with --list-rules: the rules as JSON)."))] = False,
) -> None:
    """Check Kubernetes manifests: schemas, best practices, GPU rules and (with --plan) drift.

    Exit 0 when clean, 1 when a finding is at or above --fail-on (or the manifests drifted
    from the plan), 3 when an input cannot be read. Silence a rule for one object with the
    annotation scaleplan.dev/ignore: "rule-a,rule-b".
    """
    with handle_errors(json_out or fmt == "json"):
        from scaleplan.check import gate

        fmt = gate.format_option(fmt, json_out, typed_options(ctx))
        threshold = gate.report_threshold(fmt, fail_on)
        if list_rules:
            wide_rules = gate.list_rules_wide(output, wide, paths, typed_options(ctx), fmt)
            return print_report(gate.rules_report(fmt, wide_rules))
        from scaleplan.inputs import gate_tables, plan_warnings

        plan_file = gate.one_plan(plan)
        files, tables = gate_tables(plan_file, catalog or [])  # read once, when first needed
        report = gate.gate_report(
            paths or [], plan_file=plan_file, kube_version=kube_version,
            disabled=split_values(disable), enabled=split_values(enable),
            only_manifests=only_manifests, catalog=tables, pod_security=pod_security)
        warn(plan_warnings(report.plan, files(), plan_file, tables))
        text = gate.report_text(report, fmt, threshold)
        if output in (None, "-"):  # '-': standard output, as for every command's files
            print_lines(gate.tty_lines(text)) if fmt == "text" else print_text(text)
        else:  # atomically, as every command's output file; its summary line on stderr
            from scaleplan.outputs import write_output_file

            write_output_file(output, text, **gate.report_file_args(fmt, paths, plan_file))
            typer.echo(gate.summary_line(report, threshold), err=True)
        failure = gate.gate_failure(report, threshold)
        if failure is not None:
            raise failure
