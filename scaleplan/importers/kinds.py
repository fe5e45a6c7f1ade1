"""A scaleplan file given where another tool's result is read (``profile import``)."""

from __future__ import annotations

from scaleplan.errors import InputError, Problem
from scaleplan.file_kinds import FILE_KINDS, kind_of


def refuse_scaleplan_file(path: str, text: str) -> None:
    """Raise when ``text`` (which is no JSON) is a scaleplan YAML file (a plan, spec, profile,
    a catalog without ``kind:`` ...), told by the rule every command uses
    (:func:`scaleplan.file_kinds.kind_of`): it is said as what it is and which command reads
    it (UX trial 34 F6: a plan given to ``profile import`` read 'not valid JSON: Expecting
    value'). Text that is no YAML mapping, or none of scaleplan's, is left to the JSON error."""
    from scaleplan.yamlio import MAX_BYTES, parse_yaml

    if len(text) > MAX_BYTES:  # larger than any scaleplan file: not parsed twice
        return
    try:
        doc = parse_yaml(text, path)
    except InputError:
        return
    found = kind_of(doc.data)
    if found is None:
        return
    kind, said, key = found
    what, reader = FILE_KINDS[kind]
    raise InputError(path, [Problem(
        "kind" if key == "kind" else "", f"this is {what} ({said}), not a benchmark result",
        hint=f"pass the result JSON the benchmark wrote; {reader}", line=doc.lines.line_of((key,)),
    )])
