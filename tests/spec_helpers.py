"""Helpers for the spec / YAML / CLI-basics tests (tests/test_spec_*.py, test_yamlio.py, test_cli_basics.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "tests" / "data" / "specs"
GOOD = SPECS / "good" / "spec.yaml"
GOOD_PROFILE = SPECS / "good" / "profile.yaml"
MARK = "# <- error"


def marked_lines(path: Path) -> list[int]:
    """1-based numbers of the lines carrying the ``# <- error`` marker."""
    return [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if MARK in line]


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line containing ``text``."""
    return next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in t)


def assert_clean_failure(text: str) -> None:
    """No traceback, no pydantic wording or union markers, no ANSI escapes."""
    assert "Traceback" not in text
    assert "pydantic" not in text.lower()
    assert "Input should" not in text
    assert "function-after" not in text and "function-before" not in text
    assert "\x1b[" not in text
