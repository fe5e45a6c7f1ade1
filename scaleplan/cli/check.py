"""``scaleplan check``: schema, best-practice, GPU and drift checks for manifests (CI gate)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report, warn
from scaleplan.option_values import args_of, typed_options


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
        from scaleplan.check_command import CheckArgs, check_command

        print_report(check_command(args_of(CheckArgs, locals(), typed=typed_options(ctx)), warn))
