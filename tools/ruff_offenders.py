#!/usr/bin/env python3
"""The exact C901/E501 offender list of pyproject.toml (issue 12), from ruff itself.

    python tools/ruff_offenders.py          # print the block as it should be
    python tools/ruff_offenders.py --write  # rewrite it in pyproject.toml

ruff runs without the project's per-file ignores (``--isolated`` with the project's limits:
100-character lines, McCabe complexity 15) over scaleplan, tests, bench and tools; every file
with an offence gets one line: the codes it may break and, in the comment, its functions over
the limit with their complexity and its count of long lines. tests/test_architecture.py fails
when the block in pyproject.toml differs from this output, so the list stays exact: a file
comes off once it meets the limits, and a new offence must be listed (or fixed).
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


def main() -> int:
    path = ROOT / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    new = block()
    if "--write" in sys.argv:
        path.write_text(text.replace(current(text), new), encoding="utf-8")
    else:
        sys.stdout.write(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
