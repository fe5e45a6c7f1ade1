"""Merge profiles (for example one per accelerator from the cluster Jobs) into one (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from scaleplan.errors import Problem, ProfileError
from scaleplan.profile.build import sorted_measurements
from scaleplan.profile.model import DeviceInfo, Measurement, Profile, ProfileMeta


def _key(m: Measurement) -> tuple[object, ...]:
    # an fp8 and a bf16 run at one concurrency are two points
    return (m.accelerator, m.gpus, m.request_class, m.source, m.batch_size, m.concurrency,
        m.offered_rps, m.dtype, m.kv_cache_dtype)


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


def _with_precision(prof: Profile) -> list[Measurement]:
    """The profile's points, each carrying its profile's LLM precision where it records none:
    merged with runs of another precision, the profile-level dtype is unset, and it was lost
    (the merge left it unset with a warning, and the calibration took the fp8 points as runs of
    a bf16 plan; then refused the merge). Points keep it, and the calibration reads each's."""
    d = prof.metadata.llm_precision()
    if d is None:
        return list(prof.measurements)
    return [m if m.dtype else m.model_copy(update={"dtype": d}) for m in prof.measurements]


def merge_profiles(profiles: Sequence[tuple[str, Profile]], *,
        name: str | None = None) -> tuple[Profile, list[str]]:
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
    dtypes = {p.metadata.dtype for _, p in profiles}
    for file, prof in profiles:
        # one dtype stays the merged profile's; with several each point keeps its own
        for m in _with_precision(prof) if len(dtypes) > 1 else prof.measurements:
            k = _key(m)
            if k in points:
                warnings.append(f"{file}: {m.accelerator} batch {m.batch_size} ({m.source}) "
                    f"replaces the point from {points[k][0]}")
            points[k] = (file, m)
        for d in prof.metadata.devices:
            devices[(d.device, d.name, d.accelerator, d.driver, d.cuda)] = d
        for fw, v in prof.metadata.frameworks.items():
            if fw in frameworks and frameworks[fw] != v:
                warnings.append(f"{file}: {fw} {v} differs from {frameworks[fw]} in an earlier "
                    "file; the first is kept")
                continue
            frameworks.setdefault(fw, v)
        # each note names its file: the cluster Jobs' profiles all measure on cuda:0, so
        # their notes ('cuda:0: batch 8: contended ...') said nothing of which GPU they were about
        for n in prof.metadata.notes:
            n = f"{Path(file).name}: {n}" if len(profiles) > 1 else n
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
        flops_per_sample=next((p.metadata.flops_per_sample for _,
            p in profiles if p.metadata.flops_per_sample), None),
        weights_gib=next((p.metadata.weights_gib for _, p in profiles if p.metadata.weights_gib),
            None),
    )
    llm = {f: dt for f, p in profiles if (dt := p.metadata.llm_precision())}
    if len(set(llm.values())) > 1:
        which = "; ".join(f"{Path(f).name}: {dt}" for f, dt in llm.items())
        warnings.append(
            f"the files were measured in different precisions ({which}): metadata.dtype left "
            "unset, each point keeps its own (measurements[].dtype); an LLM calibration fits "
            "the points of the plan's precision"
        )
    elif len(dtypes) > 1:
        warnings.append("the files use different dtypes "
            f"({', '.join(sorted(str(d) for d in dtypes))}); dtype left unset")
    return (Profile(metadata=meta, measurements=sorted_measurements(m for _, m in points.values())),
        warnings)
