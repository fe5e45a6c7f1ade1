"""One ``scaleplan profile run``, from the sweep to its profile file: a model's points are
checkpointed to ``OUT.partial`` (never over a finished OUT), an interrupt keeps what was
measured, and a run that measured nothing says why (typed errors: exit 130 or 5).

The command line passes in how a profile is written (a file, or stdout) and the progress
display; the sweeps themselves are :mod:`scaleplan.profile.measure` and
:mod:`scaleplan.profile.endpoint`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.errors import ExternalError, Interrupted
from scaleplan.wording import counted
from scaleplan.yamlio import check_writable

if TYPE_CHECKING:
    from scaleplan.profile.build import RunInfo
    from scaleplan.profile.endpoint import EndpointOptions
    from scaleplan.profile.measure import Progress, SweepOptions
    from scaleplan.profile.model import Profile
    from scaleplan.profile.targets import Workload

Write = Callable[["Profile", str], None]  # (profile, path or '-')


def measure_model(
    target: str,
    workload: Workload,
    opts: SweepOptions,
    info: RunInfo,
    *,
    out: str,
    write: Write,
    progress: Callable[[], AbstractContextManager[Progress]],
) -> Profile:
    """Sweep ``workload`` and write its profile to ``out`` ('-': stdout).

    Points are checkpointed to OUT.partial, never over an existing OUT: an interrupted run must
    not replace a finished 9-point profile with a 1-point one.
    """
    from scaleplan.profile.build import model_profile
    from scaleplan.profile.devices import device_info
    from scaleplan.profile.measure import SweepResult, run_sweep

    if out != "-":
        # before the sweep: a wrong --out must not cost the measuring time
        check_writable(out, example="profile.yaml")
    partial = f"{out}.partial" if out != "-" else out

    def checkpoint(res: SweepResult) -> None:
        if out != "-" and res.measurements:
            write(model_profile(workload, res, target, info), partial)

    with progress() as prog:
        res = run_sweep(workload, opts, device_info=device_info, progress=prog, on_point=checkpoint)
    if not res.measurements:
        if res.interrupted:
            raise Interrupted("interrupted before any point was measured; nothing written")
        raise ExternalError(
            f"{target}: no point could be measured "
            f"({'; '.join(res.notes) or 'no batch size fits'})",
            hint="try a smaller --batch-sizes or another --device",
        )
    profile = model_profile(workload, res, target, info)
    keep_old = res.interrupted and out != "-" and Path(out).exists()
    write(profile, partial if keep_old else out)
    if out != "-" and not keep_old:
        Path(partial).unlink(missing_ok=True)
    if res.interrupted:
        where = f"{partial} ({out} is unchanged)" if keep_old else out if out != "-" else "stdout"
        kept = counted(len(res.measurements), "measured point")
        raise Interrupted(f"interrupted: kept {kept} in {where}")
    return profile


def measure_endpoint(
    opts: EndpointOptions,
    info: RunInfo,
    *,
    name: str | None,
    out: str,
    write: Write,
    log: Callable[[str], None],
) -> Profile:
    """Sweep the endpoint ``opts.url`` and write its profile to ``out`` ('-': stdout); an
    interrupted sweep writes what it measured (the sweep says so in ``log``)."""
    from scaleplan.profile.build import endpoint_profile
    from scaleplan.profile.endpoint import run_endpoint_sweep

    if out != "-":
        check_writable(out, example="profile.yaml")
    res = run_endpoint_sweep(opts, log=log)
    if not res.measurements:
        if res.interrupted:
            raise Interrupted("interrupted before any level was measured; nothing written")
        raise ExternalError(
            f"{opts.url}: no level to profile ({'; '.join(res.notes)})",
            hint=(
                "check that the endpoint answers a request with this --payload "
                "(curl -d @payload.json URL), --timeout, and --max-error-rate"
            ),
        )
    profile = endpoint_profile(res, opts.url, opts.body, openai=opts.openai, name=name, info=info)
    write(profile, out)
    if res.interrupted:  # the sweep's log said where; this says what was kept
        kept = counted(len(res.measurements), "measured level")
        raise Interrupted(f"interrupted: kept {kept} in {out if out != '-' else 'stdout'}")
    return profile


def write_profile_file(profile: Profile, out: str) -> None:
    """``profile`` into the file ``out``, atomically; a path that cannot be written is bad input
    (exit 3), not a crash."""
    from scaleplan.outputs import write_output_file
    from scaleplan.profile.model import dump_profile

    write_output_file(out, dump_profile(profile, out), example="profile.yaml")
