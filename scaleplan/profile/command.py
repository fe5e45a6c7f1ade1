"""``scaleplan profile run``, ``estimate`` and ``merge``, from the command's files and options
to what they make (with its warnings). ``run``: its options checked against TARGET's kind, then
the Kubernetes Jobs written (``--emit-jobs``), an endpoint swept or a model swept and judged
(:func:`run_target`). ``estimate`` and ``merge``: the profiles read, the catalogs loaded, the
transfer's assumptions assembled, then :func:`scaleplan.profile.estimate.estimate_profile` or
:func:`scaleplan.profile.merge.merge_profiles`. What they made is written (or, to '-', printed)
as :func:`profile_output` says; the command line prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from scaleplan.profile.build import RunInfo
    from scaleplan.profile.jobs import EmittedJobs
    from scaleplan.profile.measure import Progress
    from scaleplan.profile.model import Profile
    from scaleplan.profile.run import Write
    from scaleplan.profile.verdict import Verdict
    from scaleplan.table import Report


@dataclass(frozen=True, kw_only=True)
class RunArgs:
    """``profile TARGET``'s options as given (``scaleplan profile run --help`` says what each
    does); the ones that apply to one kind of TARGET only are checked against it."""

    out: str
    device: str
    batch_sizes: str | None
    max_batch: int
    time_budget: float
    window_ms: float
    stable_windows: int
    stability: float
    target_ci: float
    min_samples: int
    min_span: float
    interleave: bool
    input_shape: str | None
    dtype: str
    threads: int | None
    slo_ms: float | None
    slo_percentile: int
    stop_at_plateau: bool
    name: str | None
    # endpoints
    payload: str | None
    concurrency: str | None
    rate: str | None
    requests: int | None
    timeout: float
    max_error_rate: float
    openai: bool
    model_name: str | None
    max_tokens: int
    headers: Sequence[str]
    accelerator: str | None
    gpus: int
    seed: int
    follow_redirects: bool
    # --emit-jobs
    emit_jobs: str | None
    accelerators: str | None
    image: str | None
    namespace: str
    catalogs: Sequence[str]


class RunDone(NamedTuple):
    """What one ``profile run`` made: the Jobs written (``--emit-jobs``), or the profile
    measured (already written) and, for a model, its verdict."""

    jobs: EmittedJobs | None = None
    profile: Profile | None = None
    verdict: Verdict | None = None

    def report(self, args: RunArgs, as_json: bool) -> Report:
        """What ``profile TARGET`` prints: the Jobs written (``--emit-jobs``), or the profile's
        summary (:func:`scaleplan.profile.report.summary_report`; a model's verdict in it)."""
        if self.jobs is not None and args.emit_jobs is not None:
            from scaleplan.profile.jobs import jobs_report

            return jobs_report(args.emit_jobs, self.jobs, as_json)
        from scaleplan.profile.report import summary_report

        assert self.profile is not None
        verdict = self.verdict.to_json() if self.verdict else None
        return summary_report(self.profile, args.out, as_json, verdict)


def run_target(
    target: str, args: RunArgs, argv: Sequence[str], *, write: Write,
    log: Callable[[str], None], progress: Callable[[], AbstractContextManager[Progress]],
    warn: Callable[[list[str]], None],
) -> RunDone:
    """``scaleplan profile TARGET`` (``argv``: its arguments as typed, which the profile and
    the Jobs record): the options checked, then ``--emit-jobs``'s Jobs written, or the endpoint
    or the model measured and its profile written with ``write``. ``log`` takes an endpoint
    sweep's lines, ``progress`` makes a model sweep's display, and ``warn`` is given an
    endpoint's warnings before its sweep starts."""
    from scaleplan.profile.build import run_info
    from scaleplan.profile.run_options import check_run_options, is_endpoint

    info = run_info(argv)
    check_run_options(target, argv, slo_percentile=args.slo_percentile,
                      concurrency=args.concurrency, rate=args.rate)
    if args.emit_jobs is not None:
        from scaleplan.profile.jobs import write_jobs

        return RunDone(jobs=write_jobs(
            args.emit_jobs, target, args.accelerators, image=args.image,
            namespace=args.namespace, gpus=args.gpus, argv=argv, catalogs=args.catalogs,
        ))
    if is_endpoint(target):
        from scaleplan.profile.run import measure_endpoint
        from scaleplan.profile.run_options import endpoint_options

        endpoint, warnings = endpoint_options(
            target, payload=args.payload, concurrency=args.concurrency, rate=args.rate,
            requests=args.requests, duration_s=args.time_budget, timeout_s=args.timeout,
            max_error_rate=args.max_error_rate, slo_ms=args.slo_ms,
            slo_percentile=args.slo_percentile, openai=args.openai, model_name=args.model_name,
            max_tokens=args.max_tokens, headers=args.headers, accelerator=args.accelerator,
            gpus=args.gpus, seed=args.seed, follow_redirects=args.follow_redirects,
        )
        warn(warnings)
        return RunDone(profile=measure_endpoint(
            endpoint, info, name=args.name, out=args.out, write=write, log=log))
    return _measure_model(target, args, info, write=write, progress=progress)


def _measure_model(
    target: str, args: RunArgs, info: RunInfo, *, write: Write,
    progress: Callable[[], AbstractContextManager[Progress]],
) -> RunDone:
    from scaleplan.option_values import int_list
    from scaleplan.profile.devices import resolve_devices
    from scaleplan.profile.measure import SweepOptions
    from scaleplan.profile.run import measure_model
    from scaleplan.profile.targets import load_workload
    from scaleplan.profile.verdict import profile_verdict

    sizes = int_list(args.batch_sizes, "--batch-sizes")
    if sizes and sizes[-1] > args.max_batch:  # one batch of 1e8 inputs ran for minutes, unbounded
        from scaleplan.errors import OptionError

        msg = (f"batch {sizes[-1]} is above --max-batch {args.max_batch}, the largest batch "
               f"profile measures; pass --max-batch {sizes[-1]} as well to measure it")
        raise OptionError(msg, option="--batch-sizes")
    devices = resolve_devices(args.device)
    workload = load_workload(target, input_shape=args.input_shape, dtype=args.dtype,
                             name=args.name, threads=args.threads)
    opts = SweepOptions(
        devices=devices, batch_sizes=sizes, max_batch=args.max_batch,
        time_budget_s=args.time_budget, window_s=args.window_ms / 1000.0,
        stable_windows=args.stable_windows, stability=args.stability, target_ci=args.target_ci,
        min_samples=args.min_samples, min_span_s=args.min_span, interleave=args.interleave,
        slo_ms=args.slo_ms, slo_percentile=args.slo_percentile, threads=args.threads,
        stop_at_plateau=args.stop_at_plateau,
    )
    profile = measure_model(target, workload, opts, info, out=args.out, write=write,
                            progress=progress)
    return RunDone(profile=profile, verdict=profile_verdict(profile, opts.target_ci))


@dataclass(frozen=True, kw_only=True)
class EstimateArgs:
    """``profile estimate``'s transfer options as given (``scaleplan profile estimate --help``
    says what each does)."""

    flops_per_sample: float | None
    weights_gib: float | None
    overhead_ms: float | None
    host_ms_per_sample: float
    input_bytes: float | None
    compute_efficiency: float
    memory_efficiency: float
    gpu_dtype: str | None


def estimate_file(
    profile_path: str, accelerators: str, catalogs: Sequence[str] | None, args: EstimateArgs
) -> tuple[Profile, list[str]]:
    """The profile at ``profile_path`` plus estimated points for ``accelerators`` (a comma
    list), with the accelerator specs of the shipped catalogs and ``catalogs``."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.errors import OptionError
    from scaleplan.option_values import names, split_values
    from scaleplan.profile.estimate import TransferOptions, estimate_profile
    from scaleplan.profile.model import read_profile

    flops = args.flops_per_sample
    if flops is not None and flops <= 0:  # it read as "none given"
        raise OptionError(f"must be > 0; got {flops:g}", option="--flops-per-sample")
    prof = read_profile(profile_path)
    cat = load_catalog(split_values(list(catalogs or [])))
    opts = TransferOptions(
        overhead_ms=args.overhead_ms, compute_efficiency=args.compute_efficiency,
        memory_efficiency=args.memory_efficiency, weights_gib=args.weights_gib,
        input_bytes_per_sample=args.input_bytes, host_ms_per_sample=args.host_ms_per_sample,
        gpu_dtype=args.gpu_dtype,
    )
    result = estimate_profile(prof, names(accelerators), cat, flops_per_sample=flops, options=opts)
    return result.profile, result.warnings


def merge_files(files: Sequence[str], *, name: str | None) -> tuple[Profile, list[str]]:
    """The profiles in ``files`` merged, in order (a later file's point replaces an earlier
    identical one), with the warnings."""
    from scaleplan.profile.merge import merge_profiles
    from scaleplan.profile.model import read_profile

    return merge_profiles([(f, read_profile(f)) for f in files], name=name)


def write_profile(profile: Profile, out: str, as_json: bool) -> Report:
    """``profile`` written to the file ``out`` (nothing to print), or for ``out`` '-' what
    prints it on stdout: its JSON document with ``as_json``, else its file text (YAML)."""
    from scaleplan.profile.model import dump_profile
    from scaleplan.profile.run import write_profile_file
    from scaleplan.table import Report

    if out != "-":
        write_profile_file(profile, out)
        return Report()
    if as_json:
        return Report(doc=profile.model_dump(mode="json", exclude_none=True))
    return Report(text=dump_profile(profile))


def profile_output(profile: Profile, out: str, as_json: bool) -> Report:
    """``profile estimate``, ``merge`` and ``import``: the profile made written
    (:func:`write_profile`), and what to print: on '-' the profile itself, else its summary
    (:func:`scaleplan.profile.report.summary_report`)."""
    from scaleplan.profile.report import summary_report

    written = write_profile(profile, out, as_json)
    return written if out == "-" else summary_report(profile, out, as_json)
