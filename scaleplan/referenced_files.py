"""A spec's referenced files (``model.profile``, ``placement.catalogs``) read, with one wording
for a missing, unusable or invalid one, whichever command meets it (``optimize``, ``validate``
and ``simulate`` read them through :func:`scaleplan.inputs.gather_inputs`): each problem placed
at the spec's reference, with its line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from scaleplan.errors import InputError, Problem

if TYPE_CHECKING:
    from scaleplan.profile.model import Profile
    from scaleplan.yamlio import Document

_Kind = Literal["profile", "catalog"]
_HINTS: dict[_Kind, str] = {
    "profile": (
        "run `scaleplan profile` to create it, or fix the path (it is relative to the spec file)"
    ),
    "catalog": "fix the path (it is relative to the spec file)",
}


def _missing(
    kind: _Kind, where: str, ref: str, path: Path, line: int, hint: str = ""
) -> Problem | None:
    """A problem when ``path`` cannot be used or does not exist; None when it exists."""
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a 5,000-character name, a NUL byte
        return Problem(
            where,
            f"{kind} path cannot be used: {getattr(exc, 'strerror', None) or exc}",
            hint="use a plain relative path",
            line=line,
        )
    if exists:
        return None
    return Problem(
        where,
        f"{kind} file {ref!r} not found (looked for {path.absolute()})",
        hint=hint or _HINTS[kind],
        line=line,
    )


def _invalid(kind: _Kind, where: str, ref: str, exc: InputError, line: int) -> list[Problem]:
    """The problems of an invalid referenced file, each placed at the spec's reference."""
    if not exc.problems:
        return [
            Problem(
                where,
                f"{kind} {ref!r} is invalid: {exc}",
                hint=exc.hint or f"fix the {kind} file",
                line=line,
            )
        ]
    return [
        Problem(
            where,
            f"invalid {kind}: {Problem(p.where, p.message, line=p.line).render(ref)}",
            hint=p.hint or f"fix the {kind} file",
            line=line,
        )
        for p in exc.problems
    ]


def referenced_profile(
    file: str, doc: Document
) -> tuple[Profile | None, Path | None, list[Problem]]:
    from scaleplan.profile.model import read_profile

    raw = doc.data.get("model") if isinstance(doc.data, dict) else None
    ref = raw.get("profile") if isinstance(raw, dict) else None
    if not isinstance(ref, str) or not ref:
        return None, None, []  # the spec's own validation reports it
    path = (Path(file).parent / ref).absolute()  # no resolve(): a symlink loop raised RuntimeError
    line = doc.lines.line_of(("model", "profile"))
    llm = ""  # an LLM spec's profile is optional: say so, and the command that writes one
    if isinstance(raw, dict) and raw.get("architecture"):
        import shlex

        args = f"--spec {shlex.quote(file)} --out {shlex.quote(str(Path(file).parent / ref))}"
        llm = (
            "remove model.profile (with model.architecture it is optional: only measured "
            "points calibrate the model), or create it from model.architecture: scaleplan "
            f"profile llm {args}"
        )
    missing = _missing("profile", "model.profile", ref, path, line, llm)
    if missing is not None:
        return None, None, [missing]
    try:
        return read_profile(path), path, []
    except InputError as exc:
        return None, None, _invalid("profile", "model.profile", ref, exc, line)


def referenced_catalogs(file: str, doc: Document) -> list[Problem]:
    from scaleplan.catalog.files import read_catalog_file

    raw = doc.data.get("placement") if isinstance(doc.data, dict) else None
    refs = raw.get("catalogs") if isinstance(raw, dict) else None
    problems: list[Problem] = []
    for i, ref in enumerate(refs if isinstance(refs, list) else ()):
        if not isinstance(ref, str) or not ref:
            continue
        path, where, line = (
            Path(file).parent / ref,
            f"placement.catalogs[{i}]",
            doc.lines.line_of(("placement", "catalogs", i)),
        )
        missing = _missing("catalog", where, ref, path, line)
        if missing is not None:
            problems.append(missing)
            continue
        try:
            read_catalog_file(path)
        except InputError as exc:
            problems += _invalid("catalog", where, ref, exc, line)
    return problems
