"""One wording per situation in what users read (messages, notes, docs): "folder", never
"directory"; an output file path that is a folder "is a folder, expected a file path"; a
thing not used is "X is left out: why", never "skipped, why", "...; left out" or
"omitted". Scans the string literals of scaleplan/ (docstrings and comments are not read
by users) and the docs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BANNED = {
    "directory": re.compile(r"\bdirector(y|ies)\b", re.IGNORECASE),
    "skipped, why": re.compile(r": skipped, "),
    "...; left out": re.compile(r"; left out\b"),
    "omitted": re.compile(r"\bomitted\b", re.IGNORECASE),
    # an output file path that names a folder: "is a folder, expected a file path"
    "folder, not a file": re.compile(r"folder, not a file"),
}
# literals that are not user-facing words: typer's type names, an OSError's errno text
ALLOWED = {"directory", "Not a directory"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_messages_use_one_wording() -> None:
    bad = []
    for path in sorted((ROOT / "scaleplan").rglob("*.py")):
        for line, text in _literals(path):
            if text in ALLOWED:
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            bad += [f"{where}: {name}: {text!r}" for name, rx in BANNED.items() if rx.search(text)]
    assert not bad, "\n".join(bad)


def test_docs_use_one_wording() -> None:
    bad = []
    for path in sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{n}"
            bad += [f"{where}: {name}" for name, rx in BANNED.items() if rx.search(line)]
    assert not bad, "\n".join(bad)
