"""Validate a spec together with the files it references (the profile, the catalogs).

Every problem is gathered before anything is raised: a spec with a bad percentile *and* a
missing profile file reports both, so that users fix everything in one go. The reading lives
in :mod:`scaleplan.inputs` and the wording of missing or invalid referenced files in
:mod:`scaleplan.referenced_files`, shared with ``optimize``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleplan.errors import InfeasibleError, InfeasibleReason, Problem, SpecError
from scaleplan.inputs import gather_inputs
from scaleplan.spec_checks import spec_warnings
from scaleplan.table import Report

if TYPE_CHECKING:
    from scaleplan.inputs import Gathered
    from scaleplan.profile.model import Profile
    from scaleplan.solve.candidates import Diagnostics
    from scaleplan.spec import Spec
    from scaleplan.yamlio import LineMap


def validate_spec_file(path: str | Path, catalogs: Sequence[str] = ()) -> dict[str, Any]:
    """Return a summary (with ``warnings``: :func:`scaleplan.spec_checks.spec_warnings`), or
    raise SpecError listing every problem (spec, profile, catalogs).

    Runs every check ``optimize`` runs before solving (names against the shipped catalogs, the
    spec's ``placement.catalogs`` and ``catalogs``, i.e. ``--catalog``), so a spec that passes
    here is not rejected by ``optimize``; only the solve can still find it infeasible (exit 4).
    """
    g = gather_inputs(path, catalogs)
    problems = list(g.problems)
    # with model.architecture every class is predicted from its tokens (gather_inputs checks
    # them); the profile's points only calibrate the model, whatever their classes
    if g.spec is not None and g.profile is not None and g.spec.model.architecture is None:
        problems += _check_classes(g.spec, g.profile, g.lines.line_of(("traffic", "classes")))
    if g.spec is not None and g.spec.model.architecture is not None:
        problems += _check_model(g.spec, g.file, g.lines)
    # by line with gather_inputs' own (it sorts only what it found)
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    if problems:
        raise SpecError(g.file, problems)
    from scaleplan.llm_inputs import spec_config_notes

    # a valid spec names a profile, or an architecture (ModelSpec)
    assert g.spec is not None and (g.profile is None) == (g.profile_path is None)
    calibration, calibrates = _calibration_notes(g)
    placed, no_plan = _placement_notes(g)
    out: dict[str, Any] = {
        "file": g.file,
        "valid": True,
        "name": g.spec.metadata.name,
        "profile": str(g.profile_path) if g.profile_path is not None else None,
        "measurements": len(g.profile.measurements) if g.profile is not None else 0,
        "accelerators": len(g.profile.accelerators()) if g.profile is not None else 0,
        "architecture": g.spec.model.architecture,
        "model": _model_planned(g.spec),
        "warnings": [
            *(g.catalog.price_notes if g.catalog is not None else ()),
            *spec_warnings(g.spec), *spec_config_notes(g.spec, g.file), *calibration,
            *placed,
        ],
        # why optimize will find no plan, known before any solve (empty: only a solve can say)
        "no_plan": [
            {"code": r.code, "message": r.message, "fix": r.fix, "details": r.details}
            for r in no_plan
        ],
    }
    if calibrates is not None:  # an LLM spec's measured points: whether any calibrates
        out["calibrates"] = calibrates
    if ("slo", "latency_ms") not in g.lines.lines:  # from TTFT/TPOT: llm_latency_default
        out["latency_ms_default"] = g.spec.slo.latency_ms
    return out


def _model_planned(spec: Spec) -> str | None:
    """The model an LLM spec plans: its preset, or for a config.json (which names no model)
    model.source's Hugging Face id, else model.name, as the plan calls it (docs/llm.md); the
    path when the spec names neither. None without model.architecture."""
    from scaleplan.llm.arch import is_config_path
    from scaleplan.llm.serving import served_names

    arch = spec.model.architecture
    if arch is None or not is_config_path(arch):
        return arch
    served = served_names(spec.model)
    return served[-1] if served else arch


def _calibration_notes(g: Gathered) -> tuple[list[str], bool | None]:
    """What the profile's points do to an LLM spec's model, as ``optimize`` warns it: points
    left out (a model the GPU cannot hold, unknown tokens), points of another model, lower
    bounds, the fitted scales. Said here too: validate said only "ok (N profile points)" of a
    profile none of whose points could calibrate the model. With or without a profile: a
    defaulted ``max_model_len`` the server refuses longer requests at. Second: whether any
    point calibrates the model (None without a profile or an architecture): the ok line said
    '1 profile point on 1 accelerator' of a profile whose one point was left out (UX trial 23)."""
    from scaleplan.errors import InputError
    from scaleplan.solve.llm_capacity import llm_context

    if g.spec is None or g.catalog is None or g.spec.model.architecture is None:
        return [], None
    try:
        ctx = llm_context(g.spec, g.profile, g.catalog.accelerators, Path(g.file).parent,
            g.catalog.node_gpus())
    except InputError:  # _check_model reported it
        return [], None
    if ctx is None:
        return [], None
    # estimated points calibrate nothing either: "ok (74 profile points on 3 accelerators)"
    # of another model's estimates read as used (UX trial 31 F3)
    points = g.profile is not None and bool(g.profile.measurements)
    return list(ctx.notes), (ctx.calibration is not None) if points else None


def _placement_notes(g: Gathered) -> tuple[list[str], list[InfeasibleReason]]:
    """The placement warnings ``optimize`` prints before solving (rows left out for their
    flags, accelerators no catalog row of the providers and regions has) and, when the
    placement leaves no row at all or no candidate of them can serve, that optimize will find
    no plan, with its reason and fix.
    UX trial 23: a GKE spec of H100 and H200 in us-central1, whose shipped rows are all
    flagged, was 'ok' here and exit 4 at optimize, and neither warning was printed here."""
    from scaleplan.solve.candidates import placement_diagnostics
    from scaleplan.solve.diagnose import diagnose_candidates
    from scaleplan.solve.placement import zones_left_reason

    if g.spec is None or g.catalog is None:
        return [], []
    rows, diag = placement_diagnostics(g.spec, g.catalog)
    precision = _precision_notes(g, diag)  # first: it rewrites a flagged one's warning
    out = list(diag.warnings) + precision
    stopped, zones = _stopped_at_candidates(g) if rows else (diag, [])
    reasons = diagnose_candidates(g.spec, stopped) if stopped is not None else []
    if not reasons and (left := zones_left_reason(g.spec, zones)):
        reasons = [left]  # known before any solve, as optimize's exit 4 says it (UX trial 39)
    out += [f"optimize will find no plan (exit 4): {r.message}; hint: {r.fix}" for r in reasons]
    return out, reasons


def _precision_notes(g: Gathered, diag: Diagnostics) -> list[str]:
    """An LLM spec's allowed accelerators that cannot run its precision, as ``optimize`` warns
    of them (UX trial 28: an fp8 70B spec allowing A100-80GB was ok here, silently, and
    optimize said "A100-80GB is left out: ... has no FP8 tensor cores"); a flagged one's
    warning loses its include_flagged fix (``diag.warnings`` is rewritten in place)."""
    from scaleplan.errors import InputError
    from scaleplan.llm.serving import setup_from_spec
    from scaleplan.solve.llm_candidates import flagged_precision, precision_refusals

    assert g.spec is not None and g.catalog is not None
    if g.spec.model.architecture is None:
        return []
    try:
        setup = setup_from_spec(g.spec.model, Path(g.file).parent)
    except InputError:  # _check_model reported it
        return []
    flagged = set(diag.flagged_only)
    flagged_precision(g.spec, g.catalog, setup, diag)
    refused = precision_refusals(g.spec, g.catalog, setup)
    return [why for name, why in refused.items() if name not in flagged]


def _stopped_at_candidates(g: Gathered) -> tuple[Diagnostics | None, list[tuple[str, ...]]]:
    """The candidate stage's diagnostics where ``optimize`` would stop there (no candidate,
    or a class none serves: no shape fits the memory, no point or shape holds the SLO even at
    batch 1); None where it would go on to solve. UX trial 25: a Qwen2.5-32B spec on L4 and
    A100-40GB at one GPU a replica, and a 405B one on L4, were 'ok' here and exit 4 at
    optimize, from arithmetic known before any solve. Second: each candidate's zones."""
    from scaleplan.errors import InfeasibleError, InputError
    from scaleplan.solve.candidates import build_candidates

    assert g.spec is not None and g.catalog is not None
    try:
        cands, diag = build_candidates(g.spec, g.profile, g.catalog, spec_dir=Path(g.file).parent)
    except (InputError, InfeasibleError):  # said as problems, or by optimize's own wording
        return None, []
    zones = [c.row.zones for c in cands]
    return (None if cands and not diag.unserved_classes else diag), zones


def _planned(result: dict[str, Any]) -> str:
    """The model the summary names: 'Qwen/Qwen2.5-32B (config.json)' for a config.json that
    model.source names (it said 'config.json' alone, UX trial 19 F12), else the preset."""
    model, arch = result.get("model"), result["architecture"]
    return f"{model} ({arch})" if model is not None and model != arch else str(arch)


def ok_line(result: dict[str, Any]) -> str:
    """The summary of a valid spec: 'ok (chat: 1 profile point on 1 accelerator)', or for an
    LLM spec without a profile 'ok (chat: planned from architecture llama-3.1-8b, no profile:
    capacity is estimated, uncalibrated)'; a defaulted slo.latency_ms is said."""
    from scaleplan.wording import counted

    if result["profile"] is None:
        what = (
            f"planned from architecture {_planned(result)}, no profile: capacity is "
            "estimated, uncalibrated"
        )
    else:
        points = counted(result["measurements"], "profile point")
        what = f"{points} on {counted(result['accelerators'], 'accelerator')}"
        if result.get("calibrates") is False:  # an LLM spec's measured points, all left out
            what += (
                ", which does not calibrate the model" if result["measurements"] == 1
                else ", none of which calibrates the model"
            ) + " (the warnings say why)"
    if result.get("latency_ms_default") is not None:
        ms = result["latency_ms_default"]
        what += (
            f"; slo.latency_ms {ms:g} ms derived (ttft_ms + tpot_ms x the longest completion), "
            "not an SLO"
        )
    return f"ok ({result['name']}: {what})"


def _check_model(spec: Spec, file: str, lines: LineMap) -> list[Problem]:
    """What optimize refuses about ``model.architecture`` before it sizes anything: a preset or
    config.json it cannot read, settings the model does not take, a class longer than the
    model's context (a dtype no allowed GPU runs: gather_inputs, for optimize too)."""
    from scaleplan.errors import InputError
    from scaleplan.inputs import with_lines
    from scaleplan.llm.serving import setup_from_spec, token_classes_of

    try:
        s = setup_from_spec(spec.model, Path(file).parent)
    except InputError as exc:
        if exc.file is not None:  # the config.json's fields, named by that file (UX trial 37 F2)
            return with_lines([  # "cfg/config.json:1: not valid JSON", no empty field ": :"
                Problem("model.architecture", replace(p, hint="").render(exc.file), hint=p.hint)
                for p in exc.problems
            ], lines)
        return with_lines(exc.problems, lines)
    classes = token_classes_of(spec.traffic.classes)
    too_long = s.context_problem(classes, spec.traffic.classes, spec.slo.percentile)
    return [] if too_long is None else with_lines([too_long], lines)


def _check_classes(spec: Spec, profile: Profile, line: int) -> list[Problem]:
    classes = {c.name for c in spec.traffic.classes}
    profile_classes = {m.request_class for m in profile.measurements if m.request_class}
    missing = sorted(classes - profile_classes) if profile_classes else []
    return [
        Problem(
            "traffic.classes",
            f"class {name!r} has no measurements in the profile "
            f"(profile classes: {', '.join(sorted(profile_classes))})",
            hint="rename the class to match the profile's request_class, or profile that class",
            line=line,
        )
        for name in missing
    ]


def validate_report(
    spec: str, result: dict[str, Any], as_json: bool, strict: bool = False,
) -> Report:
    """``scaleplan validate`` of a valid spec: its warnings (on stderr with ``--json`` too, as
    optimize prints them), then ``result`` as JSON, or the spec and :func:`ok_line`. Under
    ``strict``, a spec optimize will find no plan for, as the warnings say, is optimize's own
    :class:`~scaleplan.errors.InfeasibleError` (exit 4; UX trial 29 F12: a CI pre-check passed
    a spec with its TTFT in seconds), after its other warnings."""
    if strict and result["no_plan"]:
        reasons = [
            InfeasibleReason(r["code"], r["message"], r["fix"], r["details"])
            for r in result["no_plan"]
        ]
        return Report(
            warnings=[w for w in result["warnings"] if "will find no plan" not in w],
            failure=InfeasibleError(reasons, name=result["name"], file=spec),
        )
    if as_json:
        return Report(doc=result, warnings=result["warnings"])
    return Report(lines=[f"{spec}: {ok_line(result)}"], warnings=result["warnings"])
