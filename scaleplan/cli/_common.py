"""Shared CLI plumbing: one place that maps errors to exit codes, JSON output, consoles.

Only modules under ``scaleplan.cli`` print or exit. Command modules import heavy libraries
inside their command functions so that ``scaleplan --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer._click.exceptions import NoSuchOption, UsageError
from typer.exceptions import TyperException

from scaleplan.errors import (
    ExitCode,
    Interrupted,
    OptionError,
    ScaleplanError,
    WriteFailed,
    error_json,
    failure_of,
    usage_json,
)
from scaleplan.interrupts import watch_sigint
from scaleplan.option_values import json_requested
from scaleplan.safetext import printable, printed_as_is
from scaleplan.stdout_last import discard_stdout, json_document, last_words
from scaleplan.table import Line, Report, stdout_is_terminal, stdout_width

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


_STDOUT = {"written": False}  # this run printed on stdout: a failure adds no JSON object


def stdout_console() -> Console:
    from rich.console import Console

    class _Stdout(Console):
        def on_broken_pipe(self) -> None:  # rich's default exits 1, the code of a failed verdict
            self.quiet = True
            discard_stdout()

    return _Stdout(width=stdout_width(), highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def warn(items: Iterable[str], kind: str = "warning", style: str = "") -> None:
    """Each item as ``KIND: item`` on stderr (``KIND:`` in ``style``), wrapped between words on
    a terminal only, each line of a multi-line item on its own (Line.paragraph)."""
    con = None
    for item in items:  # rich only when there is something to say (start-up cost, issue 20)
        from rich.text import Text

        con = con or stderr_console()
        said = Line(f"{kind}: {item}").paragraph(con.width if con.is_terminal else None)
        n = len(kind) + 1
        con.print(Text.assemble((said[:n], style), said[n:]), soft_wrap=True)


def fail(err: ScaleplanError, json_out: bool = False, doc: dict[str, Any] | None = None) -> NoReturn:
    """Print a ScaleplanError as ``error: ...`` / ``hint: ...`` on stderr and exit with its code
    (an :class:`Interrupted` as its bare message; an error without a message prints nothing);
    ``json_out``: its JSON object on stdout too, unless the command printed there already."""
    if json_out and not _STDOUT["written"]:  # never a second object after the command's own
        emit_json(error_json(err, doc))
    if isinstance(err, Interrupted) and err.message:  # what was kept, said as it is
        stderr_console().print(
            err.message, style="yellow", markup=False, highlight=False, soft_wrap=True)
    elif err.message:  # wrapped as warnings are (UX trial 25 F19: a 393-column hint)
        # messages quote files, servers and catalogs: never let their ESC/OSC reach the terminal
        warn([printable(str(err), keep_newlines=True)], "error", "bold red")
        warn([printable(err.hint, keep_newlines=True)] if err.hint else [], "hint", "bold yellow")
    raise typer.Exit(int(err.exit_code))  # the one exit, with the error's code


@contextlib.contextmanager
def handle_errors(json_out: bool = False, doc: Callable[[Any], Any] | None = None) -> Iterator[None]:
    """Map every failure to a documented exit code; tracebacks only with SCALEPLAN_DEBUG=1.
    ``json_out`` (``--json``): the failure as a JSON object on stdout too, ``doc`` the
    command's own for it, if any (scaleplan.errors.error_json); usage errors: :func:`json_usage`."""
    watch_sigint()
    try:
        yield
    except (typer.Exit, typer.Abort, TyperException):
        raise  # usage errors (exit 2) and explicit exits are typer's to report
    except OptionError as err:  # a bad option value the core refused: typer's usage error, exit 2
        raise typer.BadParameter(err.message, param_hint=err.option) from None
    except ScaleplanError as err:
        if os.environ.get("SCALEPLAN_DEBUG") and err.message and not isinstance(err, Interrupted):
            traceback.print_exc()
        fail(err, json_out, doc(err) if doc else None)
    except BrokenPipeError:  # stdout's reader went away: the rest of stdout to /dev/null
        last_words(None)
        raise typer.Exit(0) from None
    except (KeyboardInterrupt, Exception) as exc:  # the one place they get their exit code
        failure = failure_of(exc)
        if isinstance(failure, WriteFailed):  # the object if stdout takes it whole; no more
            whole = json_out and not _STDOUT["written"]  # stdout was not the write that failed
            last_words(json_document(error_json(failure)) if whole else None)
            fail(failure)
        if os.environ.get("SCALEPLAN_DEBUG") and failure.exit_code == ExitCode.INTERNAL:
            traceback.print_exc()
        fail(failure, json_out)


@contextlib.contextmanager
def json_usage(argv: list[str]) -> Iterator[None]:
    """A usage error (exit 2: the parser's own, before the command runs, or a value the command
    refused) under ``--json`` (scaleplan.option_values.json_requested) prints its JSON object
    on stdout too. Entered around the parse and the run, before either prints anything."""
    _STDOUT["written"] = False
    try:
        yield
    except UsageError as err:
        if isinstance(err, NoSuchOption) and err.ctx:  # close names only, not every `--x`
            from scaleplan.names import explain_unknown_option  # only on this error
            explain_unknown_option(err, err.ctx.command.get_params(err.ctx))
        if json_requested(argv) and not _STDOUT["written"]:
            emit_json(usage_json(err))
        raise


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout and nothing else."""
    print_text(json_document(obj))


def print_text(text: str) -> None:
    """Text on stdout as it is: tables are never wrapped or cut (scaleplan/table.py)."""
    _STDOUT["written"] = True
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()


def piped() -> bool:
    """stdout is not a terminal (``| cat``, a file, a CI log): prose lines are printed whole,
    never wrapped, so ids, names and paths stay whole; tables still fit COLUMNS."""
    return not stdout_is_terminal(stdout_console)


def print_lines(lines: Iterable[Line | str], *, whole: bool = False) -> None:
    """Report lines on stdout, each wrapped at the terminal's width unless printed whole (a
    :class:`~scaleplan.table.Line` says which; a plain string follows ``whole``); in a pipe
    every line is printed whole."""
    items = [Line(line, whole) if isinstance(line, str) else line for line in lines]
    utf8 = str(getattr(sys.stdout, "encoding", "")).lower() in ("utf-8", "utf8")
    if utf8 and piped() and all(printed_as_is(t.text) for t in items):
        return print_text("".join(f"{t.text}\n" for t in items))  # rich's bytes, without rich
    con, pipe = stdout_console(), piped()
    for line in items:
        text = line.text if line.whole or pipe else line.wrapped(con.width)  # a hanging indent
        con.print(text, markup=False, soft_wrap=True)  # a word over the width: whole, not cut
    print_text("")  # flush


def print_report(report: Report) -> None:
    """A command's :class:`~scaleplan.table.Report`: its warnings and notes on stderr, then its
    JSON document, or its text and lines, on stdout, and its ``stderr`` lines; then its
    failure, raised."""
    warn(report.warnings)
    warn(report.notes, "note")
    if report.doc is not None:
        emit_json(report.doc)
    if report.text and report.doc is None:
        print_text(report.text)
    if report.lines and report.doc is None:
        print_lines(report.lines, whole=report.whole)
    if report.renderables and report.doc is None:
        print_renderables(report.renderables)  # type: ignore[arg-type]
    for line in report.stderr:
        typer.echo(line, err=True)
    if report.failure is not None:
        raise report.failure


def print_renderables(items: Iterable[RenderableType]) -> None:
    """Rich renderables (report tables, prose as :class:`~rich.text.Text` or plain strings,
    never markup) on stdout. On a terminal as rich lays them out; in a pipe prose is printed
    whole and no line carries trailing spaces, while tables still fit COLUMNS."""
    from rich.text import Text

    con = stdout_console()
    if not piped():
        for r in items:
            con.print(Text(r) if isinstance(r, str) else r)
        return
    for r in items:
        prose = isinstance(r, str | Text)
        with con.capture() as cap:
            con.print(Text(r) if isinstance(r, str) else r, soft_wrap=prose)
        print_text("".join(line.rstrip() + "\n" for line in cap.get().splitlines()))
