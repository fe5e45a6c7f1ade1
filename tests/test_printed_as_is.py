"""Lines that rich would print unchanged go to a pipe without rich (issue 20): the predicate
(scaleplan.safetext.printed_as_is) against rich itself, and print_lines both ways."""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from scaleplan.cli import _common
from scaleplan.safetext import printed_as_is
from scaleplan.table import Line

MonkeyPatch = pytest.MonkeyPatch


def rich_prints(text: str, *, width: int, terminal: bool) -> str:
    out = io.StringIO()
    con = Console(file=out, width=width, highlight=False, soft_wrap=False, force_terminal=terminal)
    con.print(text, markup=False, soft_wrap=True)
    return out.getvalue()


# Text like the summary lines (paths, names, prices, times), and anything else Unicode has
_WORDS = [":", " ", "  ", "-", "$", "/", "smile", "12:30:00", "😀", "名", "é", "[b]", ":x:"]
_PIECES = st.sampled_from([*_WORDS, "\t", "\x1b", "\u200b", "a" * 300])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(_TEXT, st.sampled_from([20, 80, 10_000]), st.booleans())
def test_rich_prints_what_it_accepts_unchanged(text: str, width: int, terminal: bool) -> None:
    if printed_as_is(text):
        assert rich_prints(text, width=width, terminal=terminal) == text + "\n"


REWRITTEN = [":smile:", "go :+1: now", "a\tb", "red \x1b[31m", "0\u200bwidth", "2\nlines", "\x07"]


@pytest.mark.parametrize("text", REWRITTEN)
def test_the_predicate_refuses_what_rich_may_rewrite(text: str) -> None:
    assert not printed_as_is(text)


def test_plain_lines_stay_plain() -> None:
    plain = ["plan: out/plan.yaml", "cost $4.68/h (optimal)", "12:30 and 13:45 UTC", "名 é 😀", ""]
    for text in plain:
        assert printed_as_is(text)
        assert rich_prints(text, width=80, terminal=False) == text + "\n"


class _Pipe(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


CASES = [["plan: a.yaml", Line("b  c", whole=True), "名 😀"], [":smile:", "a\tb", Line("ok")]]


@pytest.mark.parametrize("lines", CASES, ids=["fast", "through-rich"])
def test_print_lines_in_a_pipe_as_rich(monkeypatch: MonkeyPatch, lines: list[Line | str]) -> None:
    def printed(force_rich: bool) -> str:
        raw = io.BytesIO()
        pipe = _Pipe(raw, encoding="utf-8", newline="")
        monkeypatch.setattr(sys, "stdout", pipe)
        if force_rich:
            monkeypatch.setattr(_common, "printed_as_is", lambda text: False)
        _common.print_lines(lines)
        pipe.flush()
        monkeypatch.undo()
        return raw.getvalue().decode()

    fast, through_rich = printed(False), printed(True)
    assert fast == through_rich
    assert fast.count("\n") == 3
