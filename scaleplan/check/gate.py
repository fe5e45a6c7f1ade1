"""``scaleplan check`` as a CI gate: its options checked (--format, --fail-on, --kube-version),
the checks over the paths given (refusing input that holds no Kubernetes object), the report
in its format (with the JUnit clock) as text and its summary line, and the failure when
findings reach the threshold. It reads the manifests and the plan and writes nothing: the
command prints the report or writes it to ``--output``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.errors import CheckFailed, InputError, OptionError, Problem, option_error
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.check.model import CheckReport, Severity
    from scaleplan.table import Line, Report


def _refuse_plan_rules(enabled: set[str]) -> None:
    from scaleplan.check.rules import RULES_BY_ID

    asked = sorted(i for i in enabled if RULES_BY_ID[i].needs_plan)
    if asked:
        raise option_error(
            [
                Problem(
                    "--enable",
                    f"rule {i!r} compares the manifests with the plan, and no --plan was given",
                    hint=f"add --plan PLAN, or drop --enable {i}",
                )
                for i in asked
            ]
        )


def one_plan(plans: Sequence[str] | None) -> str | None:
    """The one ``--plan`` of a check. Given twice, the option took the last one alone: a CI job
    checking two services' manifests with ``--plan a --plan b`` passed with the first
    service's drift unchecked while saying "drift checked against the plan" (UX review 19)."""
    if not plans:
        return None
    if len(plans) > 1:
        raise option_error([Problem(
            "--plan",
            f"--plan given {len(plans)} times ({', '.join(plans)}): check compares the manifests "
            "with one plan",
            hint="run check once per service, its manifests with its plan (scaleplan check "
            "chat/manifests --plan chat/plan.yaml); one run over every folder without --plan "
            "also finds routes that collide on a shared Gateway",
        )])
    return plans[0]


def gate_report(
    paths: Sequence[str],
    *,
    plan_file: str | None,
    kube_version: str,
    disabled: Sequence[str],
    enabled: Sequence[str],
    only_manifests: bool,
    catalog: Catalog | Callable[[], Catalog],
    pod_security: str | None = None,
) -> CheckReport:
    """The report over ``paths`` (with drift and the plan-aware rules when ``plan_file`` is
    given), with ``catalog``'s tables (or the function's that returns them, called when first
    needed); InputError when the paths hold no Kubernetes object (a CI gate over nothing must
    not pass), or when ``enabled`` asks for a rule that needs the plan without one (it would
    be left out, and the gate would pass without the check it was told to run). No path, or
    a ``kube_version`` the checker does not know, or a ``pod_security`` level that is neither
    baseline nor restricted, is a usage error (exit 2), checked first."""
    from scaleplan.check.engine import check_paths, pod_security_level, select_rules

    if not paths:
        message = "give at least one manifest file or folder (or - for stdin)"
        raise OptionError(message, option="PATH")
    kube_version = kube_version_option(kube_version)
    pod_security_level(pod_security)
    select_rules(list(disabled), list(enabled), plan=plan_file is not None)
    if plan_file is None:
        _refuse_plan_rules(set(enabled) - set(disabled))
    plan_obj = None
    if plan_file is not None:
        from scaleplan.plan import read_plan

        plan_obj = read_plan(plan_file)
    # the renderer that drift compares with is part of every install: a module missing here
    # is a broken install (exit 70), not a bad input
    report = check_paths(
        list(paths),
        plan=plan_obj,
        plan_file=plan_file,
        kube_version=kube_version,
        disabled_rules=list(disabled),
        enabled_rules=list(enabled),
        only_manifests=only_manifests,
        catalog=catalog,
        pod_security=pod_security,
    )
    if report.objects == 0 and not (only_manifests and report.skipped):
        # the pre-commit hook (--only-manifests) given only files that are not manifests (a
        # spec, a values file) has nothing to check
        hint = (
            "pass the rendered manifests (files or folders); "
            "empty input and files of only '---' hold no objects"
        )
        if report.skipped:  # `check plan.yaml`: say what was given and where a plan goes
            hint = f"skipped {'; '.join(report.skipped)}; a plan goes with --plan PLAN; {hint}"
        raise InputError(", ".join(paths), [Problem("", "no Kubernetes objects found", hint=hint)])
    return report


def gate_failure(report: CheckReport, threshold: Severity) -> CheckFailed | None:
    """The exit-1 error when a finding is at or above ``threshold`` (None when the gate passes)."""
    bad = report.at_or_above(threshold)
    if not bad:
        return None
    drifted = any(f.rule == "drift" for f in bad)
    drift = " (including drift from the plan)" if drifted else ""
    silence = "silence one per object with the annotation scaleplan.dev/ignore: <rule-id>"
    hint = f"fix them, or {silence}"
    if drifted:  # silencing drift hides manifests that no longer run the plan (UX trial 24 F11)
        hint = (
            "re-render the drifted manifests from the plan (scaleplan render PLAN --out DIR) "
            f"or re-plan; fix the other findings as each says, or {silence}"
        )
    return CheckFailed(f"{counted(len(bad), 'finding')} at or above {threshold}{drift}", hint=hint)


def junit_clock() -> tuple[str, str]:
    """JUnit's required timestamp and host (SOURCE_DATE_EPOCH when set, for reproducible
    reports)."""
    import datetime as dt
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%S"), "localhost"


FORMATS = ("text", "json", "junit", "sarif", "github")


def format_option(fmt: str, json_out: bool, typed: Sequence[str] = ()) -> str:
    """``--format``, or ``json`` for ``--json`` (its alias); ``--json`` beside another
    ``--format`` typed on the command line (``typed``) is a usage error: it printed JSON and
    dropped the SARIF or JUnit report the job asked for."""
    if not json_out:
        return fmt
    if "--format" in typed and fmt != "json":
        message = (
            f"--json is --format json; got --format {fmt} too (drop one: --format {fmt} "
            "--output FILE writes that report, --json prints JSON)"
        )
        raise OptionError(message, option="--json")
    return "json"


def report_threshold(fmt: str, fail_on: str) -> Severity:
    """``--format`` checked, and ``--fail-on`` as the severity the gate fails at."""
    if fmt not in FORMATS:
        raise OptionError(f"must be one of {', '.join(FORMATS)}; got {fmt!r}", option="--format")
    if fail_on not in ("error", "warning"):
        raise OptionError(f"must be error or warning; got {fail_on!r}", option="--fail-on")
    return "error" if fail_on == "error" else "warning"


def kube_version_option(kube_version: str) -> str:
    """``--kube-version`` as the checker names it; a bad one is a usage error (2), not bad
    input (3)."""
    from scaleplan.check.engine import normalise_kube_version

    try:
        return normalise_kube_version(kube_version)
    except InputError as exc:
        first = exc.problems[0] if exc.problems else None
        message = f"{first.message if first else exc}; {exc.hint or (first.hint if first else '')}"
        raise OptionError(message.rstrip("; "), option="--kube-version") from None


# what only a check uses: given with --list-rules, they would be ignored
CHECK_ONLY = (
    "--plan", "--kube-version", "--catalog", "--fail-on", "--disable", "--enable",
    "--only-manifests", "--pod-security",
)


def list_rules_wide(
    output: str | None, wide: bool, paths: Sequence[str] | None = None, typed: Sequence[str] = (),
    fmt: str = "text",
) -> bool:
    """``--list-rules`` writes no file: ``-o wide`` is the wide table (as on the catalog
    commands); any other -o value is refused (a usage error), never ignored. It checks
    nothing either: a PATH beside it is refused too (docs/ci.md once showed
    ``check --list-rules [--json]``, which listed the rules and dropped '[--json]'), and so is
    an option only a check uses (``typed``: the options given), or a --format but json."""
    if paths:
        message = (
            f"--list-rules lists the rules and checks nothing; got PATH {paths[0]!r} "
            "(drop it, or drop --list-rules)"
        )
        raise OptionError(message, option="--list-rules")
    ignored = [o for o in typed if o in CHECK_ONLY]
    ignored += ["--format"] if fmt not in ("text", "json") else []
    if ignored:
        verb, it = ("is", "it") if len(ignored) == 1 else ("are", "them")
        message = (
            f"--list-rules lists the rules and checks nothing; {', '.join(ignored)} {verb} for "
            f"a check (drop {it}, or drop --list-rules; the rules list as text or --json)"
        )
        raise OptionError(message, option="--list-rules")
    if output is None or output == "wide":
        return wide or output == "wide"
    message = (
        f"with --list-rules, -o takes only 'wide' (all columns, as --wide); got {output!r} "
        "(the rules go to stdout: redirect them to a file)"
    )
    raise OptionError(message, option="-o/--out")


def rules_report(fmt: str, wide: bool) -> Report:
    """``check --list-rules``: the rules as JSON with ``--format json`` (or ``--json``), else
    their table (``wide``: every column, :func:`list_rules_wide`)."""
    from scaleplan.check.formats import rules_json, rules_table
    from scaleplan.table import Report

    return Report(doc=rules_json()) if fmt == "json" else Report(text=rules_table(wide=wide))


def report_text(report: CheckReport, fmt: str, threshold: Severity) -> str:
    """The report in ``fmt`` (JUnit with its clock; the others are reproducible)."""
    from scaleplan.check.formats import format_report

    stamp, host = junit_clock() if fmt == "junit" else ("1970-01-01T00:00:00", "localhost")
    return format_report(report, fmt, fail_on=threshold, timestamp=stamp, hostname=host)


def tty_lines(text: str) -> list[Line]:
    """The text report for a terminal: each finding whole (``file:line: ...``, which editors
    and log parsers read), the summary line wrapped between words at the terminal's width (it
    ran to 131 columns on an 80-column terminal, UX trial 23); in a pipe all are whole."""
    from scaleplan.table import Line

    lines = text.splitlines()
    return [*(Line(t, whole=True) for t in lines[:-1]), *(Line(t) for t in lines[-1:])]


def report_file_example(fmt: str) -> str:
    """The file name a hint gives for ``--output`` in ``fmt`` (``check.txt``, ``check.sarif``)."""
    return "check." + {"text": "txt", "github": "txt", "junit": "xml"}.get(fmt, fmt)


def report_file_args(
    fmt: str, paths: Sequence[str] | None, plan_file: str | None
) -> dict[str, Any]:
    """The report file writer's ``option``, ``example`` and ``inputs``: the file name a hint
    gives in ``fmt``, and the inputs the report may not replace (the checked paths and the
    plan; UX trial 26 F1: ``--output plan.yaml`` replaced the plan)."""
    inputs = [*(paths or []), *([plan_file] if plan_file else [])]
    return {"option": "--output", "example": report_file_example(fmt), "inputs": inputs}


def summary_line(report: CheckReport, threshold: Severity) -> str:
    """The report's one-line summary (the last line of the text report), for stderr when the
    report itself goes to ``--output`` (the CLI has ``scaleplan.outputs`` write that file:
    nothing here writes)."""
    from scaleplan.check.formats import format_report

    return format_report(report, "text", fail_on=threshold).splitlines()[-1]
