#!/usr/bin/env python3
"""The exact C901/E501 offender list of pyproject.toml (issue 12), from ruff itself.

    python tools/ruff_offenders.py          # print the block as it should be
    python tools/ruff_offenders.py --write  # rewrite it in pyproject.toml (lower counts only)
    python tools/ruff_offenders.py --write --allow-increase  # also a raised count or a new file

ruff runs without the project's per-file ignores (``--isolated`` with the project's limits:
100-character lines, McCabe complexity 15) over scaleplan, tests, bench and tools; every file
with an offence gets one line: the codes it may break and, in the comment, its functions over
the limit with their complexity and its count of long lines. tests/test_architecture.py fails
when the block in pyproject.toml differs from this output, so the list stays exact: a file
comes off once it meets the limits, and a new offence must be listed (or fixed).

The list is a ratchet: ``--write`` refuses (exit 1, naming each) a file added to it, a long-line
count raised, or a function over the complexity limit added or made more complex, unless
``--allow-increase`` is given too; lowered counts and files that come off are written freely.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "# BEGIN complexity/line-length offenders (issue 12).\n"
END = "# END complexity/line-length offenders"
HEADER = (
    "# C901 (McCabe complexity over 15) and E501 (lines over 100 characters) are on for all\n"
    "# code. The files below predate the limits and are listed exactly (tools/ruff_offenders.py\n"
    "# writes this block; tests/test_architecture.py checks it): the functions over the limit and\n"
    "# the count of long lines. New code meets the limits; a file comes off once it does.\n"
)
COMPLEXITY = re.compile(r"`(?P<name>[^`]+)` is too complex \((?P<n>\d+) > \d+\)")


def offenders() -> dict[str, dict[str, list[str] | int]]:
    cmd = [
        sys.executable, "-m", "ruff", "check", "--isolated", "--select", "C901,E501",
        "--line-length", "100", "--config", "lint.mccabe.max-complexity=15",
        "--output-format", "json", "scaleplan", "tests", "bench", "tools",
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    found: dict[str, dict[str, list[str] | int]] = defaultdict(dict)
    for f in json.loads(out or "[]"):
        rel = Path(f["filename"]).resolve().relative_to(ROOT).as_posix()
        entry = found[rel]
        if f["code"] == "E501":
            entry["E501"] = int(entry.get("E501", 0)) + 1  # type: ignore[call-overload]
        else:
            m = COMPLEXITY.search(f["message"])
            name = f"{m['name']} {m['n']}" if m else f["message"]
            funcs = entry.setdefault("C901", [])
            assert isinstance(funcs, list)
            funcs.append(name)
    return dict(found)


def block() -> str:
    lines = [BEGIN, HEADER]
    for path, entry in sorted(offenders().items()):
        codes = [c for c in ("C901", "E501") if c in entry]
        notes = []
        if "C901" in entry:
            notes.append("C901: " + ", ".join(entry["C901"]))  # type: ignore[arg-type]
        if "E501" in entry:
            notes.append(f"E501: {entry['E501']} lines")
        lines.append(f'"{path}" = {json.dumps(codes)}  # {"; ".join(notes)}\n')
    return "".join(lines)


def current(text: str) -> str:
    return text[text.index(BEGIN) : text.index(END)]


LISTED = re.compile(r'^"(?P<path>[^"]+)" = \[[^\]]*\]  # (?P<notes>.*)$')


def listed(text: str) -> dict[str, dict[str, int]]:
    """A block's entries: path -> {"E501": its count of long lines, "C901 NAME": complexity}."""
    found: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        m = LISTED.match(line)
        if m is None:
            continue
        entry = found.setdefault(m["path"], {})
        for note in m["notes"].split("; "):
            if note.startswith("E501: "):
                entry["E501"] = int(note.split()[1])
            elif note.startswith("C901: "):
                for func in note[len("C901: "):].split(", "):
                    name, _, n = func.rpartition(" ")
                    entry[f"C901 {name}"] = int(n)
    return found


def increases(old: str, new: str) -> list[str]:
    """What ``new`` lists beyond ``old``: a file added, a long-line count raised, a function
    over the complexity limit added or more complex."""
    before, after = listed(old), listed(new)
    said = []
    for path, entry in sorted(after.items()):
        if path not in before:
            said.append(f"{path}: added to the list")
            continue
        for key, n in sorted(entry.items()):
            was = before[path].get(key)
            what = "long lines" if key == "E501" else key.removeprefix("C901 ") + "'s complexity"
            if was is None:
                said.append(f"{path}: {what} {n}, not listed before")
            elif n > was:
                said.append(f"{path}: {what} {was} -> {n}")
    return said


def main(argv: list[str] | None = None, path: Path = ROOT / "pyproject.toml",
         new: str | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = path.read_text(encoding="utf-8")
    new = block() if new is None else new
    if "--write" not in args:
        sys.stdout.write(new)
        return 0
    raised = increases(current(text), new)
    if raised and "--allow-increase" not in args:
        sys.stderr.write(
            "ruff_offenders: not written: the list only goes down; fix these lines (or give "
            "--allow-increase to record them, and say why in the commit):\n"
            + "".join(f"  {r}\n" for r in raised)
        )
        return 1
    path.write_text(text.replace(current(text), new), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
