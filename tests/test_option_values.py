"""The option helpers that moved out of ``scaleplan/cli/`` (issue 12: the command line only
declares, prints and exits), tested where they now live: ``option_values.args_of`` (a
command's options as its core's typed arguments), ``option_values.value_label`` and
``argument_label`` (the plain words --help names values and arguments with, as in
``optimize --solver highs|cbc``; the help itself is checked in tests/test_first_hour.py) and
``table.stdout_width`` (the width stdout's console draws to)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from scaleplan.option_values import args_of, argument_label, value_label
from scaleplan.table import stdout_width


@dataclass(frozen=True)
class _Args:
    spec: str
    catalogs: tuple[str, ...]


def test_args_of_takes_each_field_from_the_command_or_from_what_it_hands_on() -> None:
    given = {"spec": "s.yaml", "catalogs": None, "json_out": True}  # json_out: no field
    assert args_of(_Args, given, catalogs=("a.yaml",)) == _Args("s.yaml", ("a.yaml",))
    with pytest.raises(KeyError, match="catalogs"):  # a field no parameter names: no default
        args_of(_Args, {"spec": "s.yaml"})


@pytest.mark.parametrize(("typer_label", "word"), [
    ("<list[str]>", "TEXT"), ("<str>", "TEXT"), ("<float range>", "NUMBER"),
    ("<int range>", "INTEGER"), ("<int>", "INTEGER"), ("<path>", "PATH"), ("<file>", "FILE"),
    ("<directory>", "DIR"), ("<bool>", "BOOLEAN"), ("<list[path]>", "PATH"),
    ("<highs|cbc>", "highs|cbc"), ("<uuid>", "UUID"),
])
def test_value_labels_are_plain_words(typer_label: str, word: str) -> None:
    assert value_label(typer_label) == word


def test_argument_labels_in_usage_lines() -> None:
    assert argument_label("spec", 1, True) == "SPEC"
    assert argument_label("spec", 1, False) == "[SPEC]"
    assert argument_label("files", -1, True) == "FILES..."
    assert argument_label("FILES...", -1, False) == "[FILES...]"  # never FILES......


class _Out(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_stdout_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout", _Out(tty=True))
    assert stdout_width() is None  # a terminal: the console measures it
    monkeypatch.setattr("sys.stdout", _Out(tty=False))
    assert stdout_width() == 10_000  # a pipe or file: no limit, every cell whole
    monkeypatch.setenv("COLUMNS", "57")
    assert stdout_width() == 57
    monkeypatch.setattr("sys.stdout", _Out(tty=True))
    assert stdout_width() == 57
    monkeypatch.setenv("COLUMNS", "wide")  # not a number: as if unset
    assert stdout_width() is None
