"""Plain tables for terminals and pipes, kubectl style.

Cells are never cut, folded or wrapped: an instance type, a rule id or a file name is always
printed whole, so it can be copied (into ``--disable``, ``catalog show``, a spec). Columns are
separated by two spaces and padded to the widest cell; there are no borders. Each command picks
a narrow set of columns that fits 80 characters for its usual content, and ``--wide`` (``-o
wide`` on the catalog commands) adds the rest. A line longer than the terminal is left to the
terminal: a pipe (``| cat``, ``| grep``, CI logs) gets every line whole. A table given a
``width`` it cannot fit is printed as records instead (one row after the other).

Reports are built here as text and printed by the command line (``scaleplan.cli``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from scaleplan.errors import OptionError

GAP = "  "


@dataclass(frozen=True)
class Column:
    header: str
    align: Literal["left", "right"] = "left"
    wide: bool = False  # shown only with --wide


class Line(NamedTuple):
    """A line of a report for the terminal: wrapped at the terminal's width, or (``whole``)
    printed whole, such as a list item that holds names or paths."""

    text: str
    whole: bool = False
    hang: int | None = None  # continuation indent, where not the item's own (a query's name)
    breaks: str = ""  # characters a line may also break after, outside quotes (PromQL's ",({")

    def wrapped(self, width: int) -> str:
        """The text wrapped at ``width`` between words (and after ``breaks``), continuation
        lines indented under the item's text (a ``  - `` list item's continuation starts under
        its first word, not at column 0, where the terminal's own wrap left an LLM plan's 'ms'
        of its last class), or by ``hang`` spaces where it is set. A word longer than the width
        stays whole."""
        import textwrap

        lead = len(self.text) - len(self.text.lstrip(" "))
        indent = lead + (2 if self.text[lead:].startswith("- ") else 0)
        indent = indent if self.hang is None else self.hang
        wrapper = textwrap.TextWrapper(
            max(width, indent + 20), subsequent_indent=" " * indent,
            break_long_words=False, break_on_hyphens=bool(self.breaks),
        )
        if self.breaks:  # textwrap's word pattern, used with break_on_hyphens: quotes whole
            after = "".join(f"\\{c}" for c in self.breaks)
            word = rf"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s{after}"'])+"""
            wrapper.wordsep_re = re.compile(rf"(\s+|(?:{word})?[{after}]+|{word})")
        return "\n".join(wrapper.wrap(self.text)) or self.text

    def hanging(self, width: int | None) -> str:
        """The text wrapped at ``width`` between words, continuation lines indented by two
        spaces (a warning, a note); whole when ``width`` is None (not a terminal)."""
        if width is None:
            return self.text
        return Line(f"- {self.text}").wrapped(width)[2:]

    def paragraph(self, width: int | None) -> str:
        """A message of one or more lines (an error and its problem list): the first line
        :meth:`hanging`, each further line :meth:`wrapped` under its own indent (a ``  - ``
        problem's under its first word); whole when ``width`` is None (not a terminal)."""
        if width is None:
            return self.text
        first, *rest = self.text.split("\n")
        lines = [Line(first).hanging(width), *(Line(r).wrapped(width) for r in rest)]
        return "\n".join(lines)


def stdout_is_terminal(console: Callable[[], Any]) -> bool:
    """stdout is a terminal as rich decides it (``console()``: the stdout Console, whose
    ``is_terminal`` honours ``TTY_COMPATIBLE`` and ``FORCE_COLOR``, <https://force-color.org>,
    as the installed rich does), so that lines wrap exactly where tables and stderr's warnings
    are drawn for one. Until 2026-12-07 this was a copy of rich 14's rule, which rich 13.x
    (allowed by pyproject) does not follow: FORCE_COLOR="" and TTY_COMPATIBLE (r2 review 14).
    Without either variable, a stdout that is no tty is no terminal in every rich: said without
    importing rich (the pipe path prints without it, issue 20)."""
    if "TTY_COMPATIBLE" not in os.environ and "FORCE_COLOR" not in os.environ:
        try:
            if not sys.stdout.isatty():
                return False
        except ValueError:  # closed
            return False
    return bool(console().is_terminal)


_PIPE_WIDTH = 10_000


def stdout_width() -> int | None:
    """The width stdout's console draws to: COLUMNS when set; else a terminal's own width
    (None: the console measures it), and for a pipe or file no width limit, so that a table
    keeps every cell whole (ids, names, paths) instead of cutting it to 80 columns (rich's
    default off a terminal). Identifier columns are never cut either way."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    return None if sys.stdout.isatty() else _PIPE_WIDTH


class Report(NamedTuple):
    """A command's output as its report module built it, for the command line to print: the
    ``--json`` document (``doc``), or ``text`` printed as it is (tables) followed by ``lines``
    (:class:`Line`s; plain strings printed whole when ``whole``), or rich ``renderables``
    (from the report modules that draw with rich: ``simulate``'s tables); ``warnings`` and ``notes``
    go to stderr before either, ``stderr`` lines as they are after it (``check --output``'s
    summary line); ``failure``, if any, is raised once all of it is printed (the command's exit
    code: ``validate --strict``)."""

    doc: object = None
    text: str = ""
    lines: Sequence[Line | str] = ()
    whole: bool = False
    warnings: Sequence[str] = ()
    notes: Sequence[str] = ()
    failure: Exception | None = None
    stderr: Sequence[str] = ()
    renderables: Sequence[object] = ()


def titled(text: str) -> list[Line]:
    """A titled table's text as report lines: the title (which may name a path) wrapped on a
    terminal between words, continuations indented by two; the table's lines whole."""
    title, *table = text.rstrip("\n").split("\n")
    return [Line(title, hang=2), *(Line(t, whole=True) for t in table)]


def table_lines(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False
) -> list[str]:
    """The table as text lines: a header line, then one line per row; nothing cut."""
    keep = [i for i, c in enumerate(columns) if wide or not c.wide]
    cols = [columns[i] for i in keep]
    cells = [[str(r[i]) for i in keep] for r in rows]
    widths = [max([len(c.header), *(len(r[j]) for r in cells)]) for j, c in enumerate(cols)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c.align == "right" else v.ljust(w)
            for v, w, c in zip(values, widths, cols, strict=True)
        ]
        return GAP.join(parts).rstrip()

    return [line([c.header.upper() for c in cols]), *(line(r) for r in cells)]


def table_text(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    title: str | None = None,
    width: int | None = None,
    key: int = 0,
) -> str:
    """A title line (if any) and the table, each line ending in a newline. With ``width``, a
    table wider than that is printed as records instead (:func:`record_lines`), so nothing is
    cut and no line is wider than it needs to be."""
    out = [title] if title else []
    lines = table_lines(columns, rows, wide=wide)
    if width is not None and any(len(line) > width for line in lines):
        lines = record_lines(columns, rows, wide=wide, key=key)
    out += lines
    return "\n".join(out) + "\n"


def record_lines(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False, key: int = 0
) -> list[str]:
    """The rows one after the other, for a width no table fits (kubectl describe style): the
    ``key`` column (such as a file name) whole on a line of its own at column 0, then each other
    shown column as an indented ``header: value`` line."""
    keep = [i for i, c in enumerate(columns) if wide or not c.wide or i == key]
    out: list[str] = []
    for r in rows:
        out.append(str(r[key]))
        out += [f"  {columns[i].header}: {r[i]}" for i in keep if i != key]
    return out


def wide_flag(output: str | None, wide: bool) -> bool:
    """``--wide`` or ``-o wide``; any other ``-o`` value is a usage error."""
    if output is None:
        return wide
    if output != "wide":
        raise OptionError(f"must be 'wide' (or use --json); got {output!r}", option="-o/--output")
    return True
