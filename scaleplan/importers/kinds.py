"""A scaleplan file given where another tool's result is read (``profile import``)."""

from __future__ import annotations

import re

from scaleplan.errors import InputError, Problem
from scaleplan.file_kinds import FILE_KINDS

_KIND = re.compile(r"(?m)^kind:[ \t]*([A-Za-z]+)[ \t]*$")


def refuse_scaleplan_file(path: str, text: str) -> None:
    """Raise when ``text`` (which is no JSON) is a scaleplan YAML file (a plan, spec, profile,
    ...): it is said as what it is and which command reads it (UX trial 34 F6: a plan given
    to ``profile import`` read 'not valid JSON: Expecting value')."""
    m = _KIND.search(text)
    head = text.lstrip().startswith(("apiVersion", "kind"))
    if m is None or m.group(1) not in FILE_KINDS or not head:
        return
    kind = m.group(1)
    what, reader = FILE_KINDS[kind]
    raise InputError(path, [Problem(
        "kind", f"this is {what} (kind: {kind}), not a benchmark result",
        hint=f"pass the result JSON the benchmark wrote; {reader}",
        line=text.count("\n", 0, m.start()) + 1,
    )])
