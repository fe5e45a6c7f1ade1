"""Assemble :class:`Profile` documents from measurements and run metadata: the host, the
versions, the command line and the notes a ``scaleplan profile`` run records."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scaleplan.profile.model import DeviceInfo, Measurement, Profile, ProfileMeta

if TYPE_CHECKING:
    from scaleplan.profile.endpoint import EndpointSweep
    from scaleplan.profile.measure import SweepResult
    from scaleplan.profile.targets import Workload


def sort_key(m: Measurement) -> tuple[object, ...]:
    return (
        m.accelerator,
        m.gpus,
        m.request_class or "",
        {"measured": 0, "imported": 1, "calibrated": 2, "estimated": 3}[m.source],
        m.device,
        m.batch_size,
        m.concurrency or 0,
        m.offered_rps or 0.0,
    )


def sorted_measurements(ms: Iterable[Measurement]) -> tuple[Measurement, ...]:
    return tuple(sorted(ms, key=sort_key))


def make_profile(
    *,
    model: str,
    measurements: Sequence[Measurement],
    target: str | None = None,
    kind: str = "model",
    dtype: str | None = None,
    input_shape: str | None = None,
    created: str | None = None,
    host: str | None = None,
    scaleplan_version: str | None = None,
    frameworks: dict[str, str] | None = None,
    devices: Sequence[DeviceInfo] = (),
    command: str | None = None,
    notes: Sequence[str] = (),
    imported_from: str | None = None,
    flops_per_sample: float | None = None,
    weights_gib: float | None = None,
) -> Profile:
    meta = ProfileMeta.model_validate(
        {
            "model": model,
            "target": target,
            "kind": kind,
            "dtype": dtype,
            "input_shape": input_shape,
            "created": created,
            "host": host,
            "scaleplan_version": scaleplan_version,
            "frameworks": dict(sorted((frameworks or {}).items())),
            "devices": tuple(devices),
            "command": command,
            "notes": tuple(notes),
            "imported_from": imported_from,
            "flops_per_sample": flops_per_sample,
            "weights_gib": weights_gib,
        }
    )
    return Profile(metadata=meta, measurements=sorted_measurements(measurements))


@dataclass(frozen=True)
class RunInfo:
    """Where, when and how a measurement ran (the metadata every measured profile records)."""

    command: str
    created: str
    host: str | None
    scaleplan_version: str


def command_line(argv: Sequence[str]) -> str:
    """The ``scaleplan profile ...`` command line a profile records (shell-quoted)."""
    return "scaleplan profile " + shlex.join(argv) if argv else "scaleplan profile"


def run_info(argv: Sequence[str]) -> RunInfo:
    """This run's command line, the time (UTC, seconds) and host, and scaleplan's version."""
    import datetime
    import platform

    from scaleplan._version import __version__

    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    return RunInfo(command_line(argv), created, platform.node() or None, __version__)


def model_profile(workload: Workload, res: SweepResult, target: str, info: RunInfo) -> Profile:
    """The profile of a model sweep (``profile run MODEL``), with its devices and frameworks."""
    from scaleplan.profile.devices import framework_versions
    from scaleplan.profile.stats import round_sig

    return make_profile(
        model=workload.name,
        measurements=res.measurements,
        target=target,
        kind="model",
        dtype=workload.dtype,
        input_shape=workload.input_shape,
        created=info.created,
        host=info.host,
        scaleplan_version=info.scaleplan_version,
        frameworks=framework_versions(),
        devices=res.devices,
        command=info.command,
        notes=[*workload.notes, *res.notes],
        flops_per_sample=(
            round_sig(workload.flops_per_sample) if workload.flops_per_sample else None
        ),
        weights_gib=(
            round_sig(workload.weights_bytes / 2**30, 4) if workload.weights_bytes else None
        ),
    )


def endpoint_profile(
    res: EndpointSweep,
    target: str,
    body: dict[str, Any] | None,
    *,
    openai: bool,
    name: str | None,
    info: RunInfo,
) -> Profile:
    """The profile of an endpoint sweep (``profile run URL``); the model is ``name``, else the
    OpenAI payload's model, else the URL."""
    from scaleplan.profile.devices import framework_versions

    return make_profile(
        model=name or (str(body["model"]) if openai and body and body.get("model") else target),
        measurements=res.measurements,
        target=target,
        kind="llm-endpoint" if openai else "endpoint",
        created=info.created,
        host=info.host,
        scaleplan_version=info.scaleplan_version,
        frameworks=framework_versions(("aiohttp",)),
        command=info.command,
        notes=res.notes,
    )
