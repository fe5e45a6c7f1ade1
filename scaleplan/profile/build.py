"""Assemble :class:`Profile` documents from measurements and run metadata (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scaleplan.profile.model import DeviceInfo, Measurement, Profile, ProfileMeta


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
