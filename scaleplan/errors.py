"""Error types and exit codes: every failure a user can cause maps to one exit code, here.

The CLI catches :class:`ScaleplanError` in exactly one place and prints ``error: ...`` and
``hint: ...`` lines on stderr; the exit code comes from the error's type. Messages are plain
text (no colour) so that library users and tests see the same words as the terminal. Under
``--json`` a failure is also one JSON object on stdout (:func:`error_json`, docs/cli.md).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum, unique
from typing import Any


@unique
class ExitCode(IntEnum):
    """Documented exit codes (docs/cli.md). Stable across releases."""

    OK = 0
    FINDINGS = 1  # `check`: problems at or above --fail-on, or drift; `simulate`: plan misses
    USAGE = 2  # bad command line: a bad option value, options that cannot be combined
    INVALID_INPUT = 3  # an input file is unreadable or invalid, or an option contradicts it
    INFEASIBLE = 4  # no plan meets the SLO / quotas / budget
    EXTERNAL = 5  # cloud API, device, HTTP endpoint or credentials failed; an extra is missing
    INTERNAL = 70  # a bug in scaleplan; please report it
    INTERRUPTED = 130  # Ctrl-C


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what is wrong, and how to fix it."""

    where: str  # YAML path such as ``slo.percentile`` ("" for the whole document)
    message: str
    hint: str = ""
    line: int | None = None  # 1-based line in the file, when known
    # ``where`` as YAML keys, when a caller needs it to find the line in another file: render
    # gives ("spec", "kubernetes", "args", 3) so that optimize can point into the spec itself
    path: tuple[str | int, ...] | None = None

    def render(self, file: str | None = None) -> str:
        loc = file or ""
        if self.line is not None and loc:
            loc = f"{loc}:{self.line}"
        parts = [p for p in (loc, self.where) if p]
        head = ": ".join([*parts, self.message])
        return f"{head} ({self.hint})" if self.hint else head


# a write failed because of the device, not the path (full, over quota, failing): an external
# fault (exit 5), not bad input
DEVICE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


class ScaleplanError(Exception):
    """Base class: a user-facing failure with a hint and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or None  # no hint is None (null in JSON), never ""

    def __str__(self) -> str:
        return self.message

    def error_fields(self) -> dict[str, object]:
        """The ``error`` object of a failure's JSON document: the exit code, its kind (the code's
        name in docs/cli.md: ``invalid-input``), the message and hint stderr shows, and the
        file, option and problems (each as ``validate --json`` gives it) where the error has
        them; a value the error has not (no hint, no file, no option) is null, never "", and
        no problems an empty list."""
        kind = self.exit_code.name.lower().replace("_", "-")
        return {"exit_code": int(self.exit_code), "kind": kind, "message": self.message,
                "hint": self.hint, "file": None, "option": None, "problems": []}


class InputError(ScaleplanError):
    """An input file (spec, profile, catalog, plan, manifest) is missing, unreadable or invalid.

    ``problems`` holds every problem found, so that users fix them all in one go.
    """

    exit_code = ExitCode.INVALID_INPUT

    def __init__(
        self,
        file: str | None,
        problems: list[Problem] | tuple[Problem, ...] | None = None,
        *,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.problems: tuple[Problem, ...] = tuple(problems or ())
        if message is None:
            if len(self.problems) == 1:
                message = self.problems[0].render(file)
            else:
                lines = [f"{file or 'input'}: {len(self.problems)} problems"]
                lines += [
                    f"  - {f'line {p.line}: ' if p.line else ''}{p.render()}" for p in self.problems
                ]
                message = "\n".join(lines)
        super().__init__(message, hint=hint)

    def error_fields(self) -> dict[str, object]:
        return super().error_fields() | {"file": self.file, "problems": self.to_json()}

    def to_json(self) -> list[dict[str, object]]:
        """``validate --json``: every problem as ``{file, line, where, message, hint}`` (one
        built from the message and hint when the error has no problem list: a file that is
        missing or unreadable); no hint is null, as no line is."""
        if not self.problems:
            return [{"file": self.file, "line": None, "where": "", "message": self.message,
                     "hint": self.hint}]
        return [
            {"file": self.file, "line": p.line, "where": p.where, "message": p.message,
             "hint": p.hint or None}
            for p in self.problems
        ]


def error_json(err: ScaleplanError, document: dict[str, object] | None = None) -> dict[str, object]:
    """The one JSON object stdout holds when a command fails under ``--json``: the command's
    own document for the failure (``document``: validate's ``{file, valid, problems}``; for
    no plan, optimize's :meth:`InfeasibleError.to_json`), its keys as they were, with an
    ``error`` key (:meth:`ScaleplanError.error_fields`) beside them; or that key alone."""
    if document is None and isinstance(err, InfeasibleError):
        document = err.to_json()
    return {**(document or {}), "error": err.error_fields()}


def usage_json(exc: Any) -> dict[str, object]:
    """:func:`error_json` of a usage error (exit 2) the command-line parser raised, its own (an
    unknown option) or an :class:`OptionError` it reports: its message as the parser prints it
    and the option that message names. Duck-typed (click's exceptions: ``format_message``,
    ``option_name``, ``param_hint``, ``param``) so that this module needs no command-line
    library."""
    hint, param = getattr(exc, "param_hint", None), getattr(exc, "param", None)
    option = getattr(exc, "option_name", None) or (hint if isinstance(hint, str) else None)
    if option is None and param is not None:
        if getattr(param, "param_type_name", "") == "argument":  # as the usage line names it
            option = getattr(param, "metavar", None) or getattr(param, "name", None)
        else:
            option = (getattr(param, "opts", None) or [getattr(param, "name", None)])[0]
    return error_json(OptionError(exc.format_message(), option=option or ""))


def invalid_json(file: str, err: ScaleplanError) -> dict[str, object] | None:
    """``validate --json`` when ``file`` is refused: ``{file, valid: false, problems}``; None
    for a failure that is not bad input (:func:`error_json` adds its ``error``)."""
    if not isinstance(err, InputError):
        return None
    return {"file": file, "valid": False, "problems": err.to_json()}


class SpecError(InputError):
    """The deployment spec is invalid."""


class ProfileError(InputError):
    """A profile file is invalid, or a profiling target cannot be loaded."""


class CatalogError(InputError):
    """A catalog file is invalid."""


class PlanError(InputError):
    """A plan file is invalid."""


class ManifestError(InputError):
    """A manifest file cannot be read or parsed."""


@dataclass(frozen=True)
class InfeasibleReason:
    """Why no plan exists, in the spec's terms, and the smallest change that fixes it."""

    code: str  # machine-readable: slo-unreachable, quota, budget, memory, no-candidates, ...
    message: str
    fix: str
    details: dict[str, object] = field(default_factory=dict)
    # the spec field the reason is about ("" when none): optimize names the spec file's line
    # of it (scaleplan.inputs.solve_inputs), as it does for a bad value
    where: str = ""


def _clauses(fix: str) -> list[str]:
    """``fix``'s alternatives: its parts between ", or " outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(fix):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and fix.startswith(", or ", i):
            out.append(fix[start:i])
            start = i + len(", or ")
    return [*out, fix[start:]]


def joined_fixes(fixes: Sequence[str]) -> str:
    """The fixes of several reasons as one hint, each fix once, and an alternative that every
    fix offers after its own first one said once, at the end (UX trial 39 F5: two classes
    short of their TTFT each repeated "or plan on H100, H200 (allowed, but every catalog row
    ... flagged ...)", 250 characters)."""
    fixes = list(dict.fromkeys(f for f in fixes if f))
    parts = [_clauses(f) for f in fixes]
    shared = [c for c in parts[0][1:] if all(c in p[1:] for p in parts[1:])] if parts else []
    if len(fixes) < 2 or not shared:
        return "; ".join(fixes)
    own = [", or ".join(c for c in p if c not in shared) for p in parts]
    return "; ".join(own) + "; or, for all of these: " + ", or ".join(shared)


class InfeasibleError(ScaleplanError):
    """No deployment meets the constraints."""

    exit_code = ExitCode.INFEASIBLE

    def __init__(
        self,
        reasons: list[InfeasibleReason] | tuple[InfeasibleReason, ...],
        *,
        name: str = "",
        file: str | None = None,
    ) -> None:
        self.reasons = tuple(reasons)
        self.name = name  # the spec's metadata.name, once the inputs layer knows it
        self.file = file  # the spec file, once a reason names its line (UX trial 19 F9)
        msg = "no plan meets the spec: " + "; ".join(r.message for r in self.reasons)
        hint = joined_fixes([r.fix for r in self.reasons])
        super().__init__(msg, hint=hint)

    def error_fields(self) -> dict[str, object]:
        return super().error_fields() | {"file": self.file}

    def to_json(self) -> dict[str, object]:
        """``optimize --json``: the one JSON object on stdout when the spec has no plan."""
        return {
            "status": "infeasible",
            "name": self.name,
            "message": self.message,
            "hint": self.hint,
            "reasons": [
                {"code": r.code, "message": r.message, "fix": r.fix, "details": r.details}
                | ({"where": r.where} if r.where else {})
                for r in self.reasons
            ],
        }


class ExternalError(ScaleplanError):
    """Something outside scaleplan failed: a cloud API, credentials, a device, an endpoint."""

    exit_code = ExitCode.EXTERNAL


class CheckFailed(ScaleplanError):
    """`scaleplan check` found problems at or above the failure threshold."""

    exit_code = ExitCode.FINDINGS


class TargetMissed(ScaleplanError):
    """A report already printed says the target is missed (``simulate`` below its SLO; ``diff
    --exit-code``: the plans differ): exit 1, nothing more is printed."""

    exit_code = ExitCode.FINDINGS

    def __init__(self) -> None:
        super().__init__("")


def internal_error(exc: BaseException) -> ScaleplanError:
    """A bug in scaleplan (exit 70, the base class's code): an exception that no type here
    covers, as the CLI reports it."""
    hint = "this is a bug in scaleplan; rerun with SCALEPLAN_DEBUG=1 and report the traceback"
    return ScaleplanError(f"internal error: {type(exc).__name__}: {exc}", hint=hint)


class Interrupted(ScaleplanError):
    """Ctrl-C. ``message`` (printed as it is, without ``error:``) says what was kept, if
    anything; empty when the command already said so."""

    exit_code = ExitCode.INTERRUPTED


class WriteFailed(ExternalError):
    """A write the device refused (full, over quota, failing: :data:`DEVICE_ERRNOS`) that no
    output writer caught: stdout on a full disk. stdout may be what failed, so the CLI adds
    its JSON object only where nothing was printed there yet, and whole or not at all
    (:func:`scaleplan.stdout_last.last_words`)."""


def failure_of(exc: BaseException) -> ScaleplanError:
    """The typed error for an exception that is not a :class:`ScaleplanError`: Ctrl-C (a
    KeyboardInterrupt, or an error it caused inside an import or a C extension:
    :func:`scaleplan.interrupts.caused_by_interrupt`) is :class:`Interrupted` (exit 130); a
    write the device refused is :class:`WriteFailed` (exit 5); anything else is a bug
    (:func:`internal_error`, exit 70)."""
    from scaleplan.interrupts import caused_by_interrupt

    if isinstance(exc, KeyboardInterrupt) or caused_by_interrupt(exc):
        return Interrupted("interrupted")
    if isinstance(exc, OSError) and exc.errno in DEVICE_ERRNOS:  # e.g. stdout on a full disk
        hint = ("free space on the file system the output goes to (or raise its quota), or "
                "send the output elsewhere")
        return WriteFailed(f"a write failed: {exc.strerror or exc}", hint=hint)
    return internal_error(exc)


class OptionError(ScaleplanError):
    """A bad value on the command line: exit 2 (usage), printed as the command-line parser
    prints its own (``Invalid value for OPTION: message`` under the command's usage line).

    Raised by the core where it checks an option's value, so that the rule lives with the code
    that knows it; ``option`` names the option as the user typed it (``--sort``, ``KIND``).
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.option = option

    def error_fields(self) -> dict[str, object]:
        return super().error_fields() | {"option": self.option or None}


def option_error(problems: list[Problem] | tuple[Problem, ...]) -> OptionError:
    """A usage error (exit 2) from problems found in values given on the command line (``where``
    names the option): every problem with its hint, named by the first one's option."""
    message = "; ".join(f"{p.message} ({p.hint})" if p.hint else p.message for p in problems)
    return OptionError(message, option=problems[0].where)


def input_error(file: str, where: str, message: str, hint: str = "") -> InputError:
    """An :class:`InputError` with one problem (an option's value that names a bad input)."""
    return InputError(file, [Problem(where, message, hint=hint)])
