"""Merge profiles (for example one per accelerator from the cluster Jobs) into one (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from scaleplan.errors import Problem, ProfileError
from scaleplan.profile.build import sorted_measurements
from scaleplan.profile.model import DeviceInfo, Measurement, Profile, ProfileMeta


def _key(m: Measurement) -> tuple[object, ...]:
    return (m.accelerator, m.gpus, m.request_class, m.source, m.batch_size, m.concurrency, m.offered_rps)


def same_model(models: Iterable[str]) -> bool:
    """Whether ``models`` name one model, compared ignoring case (vLLM's ``model_id`` and
    AIPerf's ``input_config.models`` spell one Hugging Face repository either way): the rule
    ``profile import`` and ``profile merge`` both refuse files by."""
    return len({m.lower() for m in models}) < 2


def _one_model(profiles: Sequence[tuple[str, Profile]], name: str | None) -> list[str]:
    """Profiles of different models are no one profile: it kept the first file's name, target
    and FLOPs over the other model's points. Exit 3 naming each file's model (as ``profile
    import`` does); with ``--name`` (one model profiled under several names) a warning."""
    if same_model(p.metadata.model for _, p in profiles):
        return []
    which = "; ".join(f"{Path(f).name}: {p.metadata.model}" for f, p in profiles)
    said = f"the files profile different models ({which})"
    if name is not None:
        return [f"{said}; merged as {name!r} (--name)"]
    hint = (
        "merge each model's profiles into its own file (a profile holds one model's points), "
        "or pass --name NAME if they are one model profiled under different names"
    )
    raise ProfileError(", ".join(f for f, _ in profiles), [Problem("", said, hint=hint)])


def _one_precision(profiles: Sequence[tuple[str, Profile]]) -> None:
    """Profiles measured in two LLM precisions (``metadata.dtype`` bf16, fp8, ...; ignoring
    case, as the calibration reads it) are no one profile: merged, the dtype was left unset and
    an LLM calibration took every point as a run of the planned precision, the other one's too
    (``llm_inputs.calibrating_points`` leaves out only a whole profile of another precision).
    Exit 3 naming each file's precision. Other dtypes (a torch profile's float32) are not LLM
    precisions: merged with a warning, the dtype unset."""
    from typing import get_args

    from scaleplan.spec import LlmDtype

    said_as = [(f, (p.metadata.dtype or "").strip().lower()) for f, p in profiles]
    llm = [(f, d) for f, d in said_as if d in get_args(LlmDtype)]
    if len({d for _, d in llm}) < 2:
        return
    which = "; ".join(f"{Path(f).name}: {d}" for f, d in llm)
    hint = (
        "merge each precision's profiles into its own file (`profile import --dtype` records it):"
        " an LLM calibration leaves out the points of another precision than the plan's"
    )
    said = f"the files were measured in different precisions ({which})"
    raise ProfileError(", ".join(f for f, _ in profiles), [Problem("", said, hint=hint)])


def merge_profiles(profiles: Sequence[tuple[str, Profile]], *, name: str | None = None) -> tuple[Profile, list[str]]:
    """All measurements of all files; a later file's point replaces an earlier one with the same
    (accelerator, gpus, request class, source, batch, concurrency, rate). Returns warnings too."""
    if not profiles:
        raise ProfileError(None, message="nothing to merge", hint="pass two or more profile files")
    warnings: list[str] = []
    first = profiles[0][1].metadata
    points: dict[tuple[object, ...], tuple[str, Measurement]] = {}
    devices: dict[tuple[object, ...], DeviceInfo] = {}
    frameworks: dict[str, str] = {}
    notes: list[str] = []
    warnings += _one_model(profiles, name)
    _one_precision(profiles)
    dtypes = {p.metadata.dtype for _, p in profiles}
    for file, prof in profiles:
        for m in prof.measurements:
            k = _key(m)
            if k in points:
                warnings.append(f"{file}: {m.accelerator} batch {m.batch_size} ({m.source}) replaces the point from {points[k][0]}")
            points[k] = (file, m)
        for d in prof.metadata.devices:
            devices[(d.device, d.name, d.accelerator, d.driver, d.cuda)] = d
        for fw, v in prof.metadata.frameworks.items():
            if fw in frameworks and frameworks[fw] != v:
                warnings.append(f"{file}: {fw} {v} differs from {frameworks[fw]} in an earlier file; the first is kept")
                continue
            frameworks.setdefault(fw, v)
        for n in prof.metadata.notes:
            if n not in notes:
                notes.append(n)
    notes.append("merged from " + ", ".join(f for f, _ in profiles))
    created = sorted(c for c in (p.metadata.created for _, p in profiles) if c)
    meta = ProfileMeta(
        model=name or first.model,
        target=first.target,
        kind=first.kind,
        dtype=next(iter(dtypes)) if len(dtypes) == 1 else None,
        input_shape=first.input_shape,
        created=created[-1] if created else None,
        host=first.host if len({p.metadata.host for _, p in profiles}) == 1 else None,
        scaleplan_version=first.scaleplan_version,
        frameworks=dict(sorted(frameworks.items())),
        devices=tuple(devices[k] for k in sorted(devices, key=lambda t: tuple(str(x) for x in t))),
        command=None,
        notes=tuple(notes),
        flops_per_sample=next((p.metadata.flops_per_sample for _, p in profiles if p.metadata.flops_per_sample), None),
        weights_gib=next((p.metadata.weights_gib for _, p in profiles if p.metadata.weights_gib), None),
    )
    if len(dtypes) > 1:
        warnings.append(f"the files use different dtypes ({', '.join(sorted(str(d) for d in dtypes))}); dtype left unset")
    return Profile(metadata=meta, measurements=sorted_measurements(m for _, m in points.values())), warnings
