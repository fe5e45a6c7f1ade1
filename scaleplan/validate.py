"""Validate a spec together with the files it references (the profile).

Every problem is gathered before anything is raised: a spec with a bad percentile *and* a
missing profile file reports both, so that users fix everything in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleplan.errors import InputError, Problem, SpecError
from scaleplan.spec import Spec, parse_spec
from scaleplan.yamlio import load_yaml

if TYPE_CHECKING:
    from scaleplan.profile.model import Profile


def validate_spec_file(path: str | Path, catalogs: Sequence[str] = ()) -> dict[str, Any]:
    """Return a summary, or raise SpecError listing every problem (spec, profile, catalogs).

    Runs every check ``optimize`` runs before solving (names against the shipped catalogs, the
    spec's ``placement.catalogs`` and ``catalogs``, i.e. ``--catalog``), so a spec that passes
    here is not rejected by ``optimize``; only the solve can still find it infeasible (exit 4).
    """
    file = str(path)
    doc = load_yaml(path, what="spec")  # unreadable / not YAML: nothing more can be checked
    problems: list[Problem] = []
    spec: Spec | None = None
    try:
        spec = parse_spec(doc)
    except SpecError as exc:
        problems += exc.problems
    raw = doc.data.get("model") if isinstance(doc.data, dict) else None
    ref = raw.get("profile") if isinstance(raw, dict) else None
    profile: Profile | None = None
    if isinstance(ref, str) and ref:
        profile, more = _check_profile(Path(file).parent / ref, ref, doc.lines.line_of(("model", "profile")))
        problems += more
    raw_placement = doc.data.get("placement") if isinstance(doc.data, dict) else None
    cats = raw_placement.get("catalogs") if isinstance(raw_placement, dict) else None
    catalogs_ok = True
    if isinstance(cats, list):
        for i, ref_cat in enumerate(cats):
            if isinstance(ref_cat, str) and ref_cat:
                more = _check_catalog(Path(file).parent / ref_cat, ref_cat, i, doc.lines.line_of(("placement", "catalogs", i)))
                catalogs_ok = catalogs_ok and not more
                problems += more
    if spec is not None and catalogs_ok:
        from scaleplan.catalog.files import load_catalog
        from scaleplan.precheck import placement_problems

        extra = [str(Path(file).parent / c) for c in spec.placement.catalogs]
        # the catalogs optimize reads: the spec's providers' shipped files, then the user's
        problems += placement_problems(spec, load_catalog([*extra, *catalogs], providers=spec.placement.providers), doc.lines)
    if spec is not None and profile is not None:
        problems += _check_classes(spec, profile, doc.lines.line_of(("traffic", "classes")))
    if problems:
        raise SpecError(file, problems)
    assert spec is not None and profile is not None  # a valid spec always names a profile
    return {
        "file": file,
        "valid": True,
        "name": spec.metadata.name,
        "profile": str((Path(file).parent / spec.model.profile).absolute()),
        "measurements": len(profile.measurements),
        "accelerators": len(profile.accelerators()),
    }


def _check_profile(ppath: Path, ref: str, line: int) -> tuple[Profile | None, list[Problem]]:
    from scaleplan.profile.model import read_profile

    try:
        exists = ppath.exists()
    except (OSError, ValueError) as exc:  # a 5,000-character name, a NUL byte
        return None, [Problem("model.profile", f"profile path cannot be used: {getattr(exc, 'strerror', None) or exc}", hint="use a plain relative path", line=line)]
    if not exists:
        return None, [
            Problem(
                "model.profile",
                f"profile file {ref!r} not found (looked for {ppath.absolute()})",
                hint="run `scaleplan profile` to create it, or fix the path (it is relative to the spec file)",
                line=line,
            )
        ]
    try:
        return read_profile(ppath), []
    except InputError as exc:
        if not exc.problems:
            return None, [Problem("model.profile", f"profile {ref!r} is invalid: {exc}", hint=exc.hint or "fix the profile file", line=line)]
        return None, [
            Problem(
                "model.profile",
                f"invalid profile: {Problem(p.where, p.message, line=p.line).render(ref)}",
                hint=p.hint or "fix the profile file",
                line=line,
            )
            for p in exc.problems
        ]


def _check_catalog(path: Path, ref: str, index: int, line: int) -> list[Problem]:
    from scaleplan.catalog.files import read_catalog_file

    where = f"placement.catalogs[{index}]"
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:
        return [Problem(where, f"catalog path cannot be used: {getattr(exc, 'strerror', None) or exc}", hint="use a plain relative path", line=line)]
    if not exists:
        return [Problem(where, f"catalog file {ref!r} not found (looked for {path.absolute()})", hint="fix the path (it is relative to the spec file)", line=line)]
    try:
        read_catalog_file(path)
    except InputError as exc:
        return [
            Problem(where, f"invalid catalog: {Problem(p.where, p.message, line=p.line).render(ref)}", hint=p.hint or "fix the catalog file", line=line)
            for p in exc.problems
        ] or [Problem(where, f"invalid catalog {ref!r}: {exc}", line=line)]
    return []


def _check_classes(spec: Spec, profile: Profile, line: int) -> list[Problem]:
    classes = {c.name for c in spec.traffic.classes}
    profile_classes = {m.request_class for m in profile.measurements if m.request_class}
    missing = sorted(classes - profile_classes) if profile_classes else []
    return [
        Problem(
            "traffic.classes",
            f"class {name!r} has no measurements in the profile (profile classes: {', '.join(sorted(profile_classes))})",
            hint="rename the class to match the profile's request_class, or profile that class",
            line=line,
        )
        for name in missing
    ]
