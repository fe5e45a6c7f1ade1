"""Whether stdout is a terminal (prose wrapped, or printed whole for a pipe) is rich's own
decision (Console.is_terminal), not a copy of it (r2 review 14: scaleplan.table copied rich
14's rule, which rich 13.x, allowed by pyproject, does not follow)."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from scaleplan.cli._common import piped


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _IdleStdin(io.StringIO):
    """What IDLE puts in sys.stdin: rich prints no escape codes to it, whatever the variables."""


_IdleStdin.__module__ = "idlelib.run"


@pytest.mark.parametrize("tty", [True, False])
@pytest.mark.parametrize("compatible", [None, "0", "1"])
@pytest.mark.parametrize("force", [None, "", "1"])
def test_piped_is_the_opposite_of_richs_is_terminal(
    monkeypatch: pytest.MonkeyPatch, tty: bool, compatible: str | None, force: str | None
) -> None:
    monkeypatch.setattr(sys, "stdout", _Tty() if tty else io.StringIO())
    for name, value in (("TTY_COMPATIBLE", compatible), ("FORCE_COLOR", force)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert piped() is not Console().is_terminal


def test_a_case_the_copy_decided_otherwise_follows_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under IDLE rich says no terminal even with TTY_COMPATIBLE=1; the copy said one."""
    monkeypatch.setattr(sys, "stdout", _Tty())
    monkeypatch.setattr(sys, "stdin", _IdleStdin())
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert Console().is_terminal is False
    assert piped() is True
