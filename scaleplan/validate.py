"""Validate a spec together with the files it references (profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaleplan.errors import InputError, Problem, SpecError
from scaleplan.spec import Spec, profile_path, read_spec


def validate_spec_file(path: str | Path) -> dict[str, Any]:
    """Return a summary, or raise SpecError listing every problem (spec and profile)."""
    spec, doc = read_spec(path)
    return _check_references(spec, str(path), doc.lines.line_of(("model", "profile")))


def _check_references(spec: Spec, file: str, line: int) -> dict[str, Any]:
    from scaleplan.profile.model import read_profile

    ppath = profile_path(spec, file)
    try:
        profile = read_profile(ppath)
    except InputError as exc:
        if not ppath.exists():
            raise SpecError(file, [Problem("model.profile", f"profile file {spec.model.profile!r} not found (looked for {ppath})", hint="run `scaleplan profile` to create it, or fix the path (relative to the spec file)", line=line)]) from None
        raise SpecError(file, [Problem("model.profile", f"profile {spec.model.profile!r} is invalid: {exc}", hint=exc.hint or "fix the profile file", line=line)]) from None
    problems: list[Problem] = []
    classes = {c.name for c in spec.traffic.classes}
    profile_classes = {m.request_class for m in profile.measurements if m.request_class}
    missing = sorted(classes - profile_classes) if profile_classes else []
    for name in missing:
        problems.append(Problem("traffic.classes", f"class {name!r} has no measurements in the profile (profile classes: {', '.join(sorted(profile_classes))})", hint="rename the class to match the profile's request_class, or profile that class"))
    if problems:
        raise SpecError(file, problems)
    return {
        "file": file,
        "valid": True,
        "name": spec.metadata.name,
        "profile": str(profile_path(spec, file)),
        "measurements": len(profile.measurements),
        "accelerators": len(profile.accelerators()),
    }
