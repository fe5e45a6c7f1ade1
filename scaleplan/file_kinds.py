"""The scaleplan file kinds (spec, plan, profile, catalog, accelerator table, observed file):
what each is called, which command reads it, and the one-line refusal of a file of another
kind given to a command (:func:`refuse_other_kind`), instead of its field problems."""

from __future__ import annotations

from typing import Any

from scaleplan.errors import InputError, Problem
from scaleplan.yamlio import Document

# The scaleplan file kinds: what each is called and which command reads it, so a file of
# another kind given to a command is named in one line instead of its field problems.
FILE_KINDS: dict[str, tuple[str, str]] = {
    "InferenceService": ("a spec", "`scaleplan validate` and `scaleplan optimize` read specs"),
    "Plan": (
        "a plan",
        "`scaleplan simulate`, `render`, `diff`, `observe --plan` and `check --plan` read plans "
        "(`scaleplan optimize` writes OUT/plan.yaml)",
    ),
    "Profile": (
        "a profile",
        "a spec names it in model.profile; `scaleplan profile estimate` and `profile merge` "
        "read profiles",
    ),
    "Catalog": ("a catalog", "a spec lists it in placement.catalogs, or pass it with --catalog"),
    "AcceleratorSpecs": ("an accelerator table", "scaleplan reads it with the shipped catalogs"),
    "Observed": (
        "an observed file",
        "`scaleplan optimize SPEC --observed FILE` reads it (`scaleplan observe` writes it)",
    ),
}


# what to pass instead, for each kind a command reads
WANTED: dict[str, str] = {
    "InferenceService": "pass a spec, the kind: InferenceService file `scaleplan optimize` reads",
    "Plan": "pass the plan written by `scaleplan optimize`, OUT/plan.yaml",
    "Profile": "pass a profile, the kind: Profile file `scaleplan profile` writes",
    "Catalog": "pass a catalog, a file of instances: rows",
    "AcceleratorSpecs": "pass an accelerator table, kind: AcceleratorSpecs",
    "Observed": "pass the file `scaleplan observe` wrote",
}
# a top-level key each kind has and the others do not, in the order asked: a catalog's kind:
# may be left out (it defaults), and without it a catalog given to diff was told of nine
# missing plan fields (note43)
KIND_KEYS: tuple[tuple[str, str], ...] = (
    ("Plan", "allocations"), ("Catalog", "instances"), ("Profile", "measurements"),
    ("InferenceService", "traffic"), ("Observed", "queries"),
)  # not an accelerator table's accelerators:, which a catalog may hold alone


def kind_of(data: Any) -> tuple[str, str, str] | None:
    """(kind, how it was told, the top-level key that told it) of a scaleplan document: its
    ``kind:`` where that names one of :data:`FILE_KINDS`; without ``kind:``, a top-level key
    only that kind has (:data:`KIND_KEYS`: a catalog may leave its kind out); else None. The
    one rule every reader of another kind's file goes by (:func:`refuse_other_kind`,
    ``profile import``'s :func:`scaleplan.importers.kinds.refuse_scaleplan_file`)."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind is None:
        guess = next(((k, key) for k, key in KIND_KEYS if key in data), None)
        return None if guess is None else (guess[0], f"it has {guess[1]}: and no kind:", guess[1])
    if isinstance(kind, str) and kind in FILE_KINDS:
        return kind, f"kind: {kind}", "kind"
    return None


def refuse_other_kind(
    doc: Document, expected: str, error: type[InputError], hint: str | None = None
) -> None:
    """Raise ``error`` with one problem when ``doc`` is a scaleplan file of another kind than
    ``expected`` (a plan given to ``validate``, a spec to ``profile estimate``; without
    ``kind:``, by its top-level keys: a catalog given to ``diff``): which kind it is, what to
    pass instead and which command takes it (:func:`kind_of`). Unknown kinds are left to the
    field checks."""
    found = kind_of(doc.data)
    if found is None or found[0] == expected:
        return
    kind, said, key = found
    what, reader = FILE_KINDS[kind]
    text = f"this is {what} ({said}), not {FILE_KINDS[expected][0]}"
    problem = Problem(
        "kind" if key == "kind" else "", text,
        hint=hint or f"{WANTED[expected]}; {what}: {reader}", line=doc.lines.line_of((key,)),
    )
    raise error(doc.file, [problem])
