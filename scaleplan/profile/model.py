"""Profile format v1 (``kind: Profile``): what the optimizer, simulator and estimator stand on.

A profile is a list of measurements. Each is one operating point: a device (accelerator) at a
batch size (or concurrency, for endpoints), with latency percentiles, throughput and peak
memory, and whether it was measured, estimated or imported. ``gpus`` > 1 marks a
tensor-parallel replica; ``request_class`` ties a point to a spec traffic class (LLM size
mixes). Keep field names stable: other tools read these files.
"""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from scaleplan.cache import load_model
from scaleplan.errors import Problem, ProfileError
from scaleplan.file_kinds import refuse_other_kind
from scaleplan.problems import (
    StrictModel,
    fix,
    format_json_schema,
    validate_document,
)
from scaleplan.yamlio import Document, dump_yaml, load_yaml, parse_yaml

Source = Literal["measured", "estimated", "imported", "calibrated"]

# Documented ranges (docs/profile.md): finite numbers only, far above any real measurement, low
# enough that the queueing model, solver and simulator stay fast and exact.
MAX_MS = 1e9  # latency (ms): 11.6 days
MAX_BATCH = 65_536  # batch size / concurrency
MAX_RPS = 1e9  # throughput of one replica (requests/s)
MAX_GIB = 1e6  # memory (GiB)


class Percentiles(StrictModel):
    """Latency percentiles in milliseconds."""

    p50: float = Field(ge=0, le=MAX_MS)
    p90: float = Field(ge=0, le=MAX_MS)
    p95: float = Field(ge=0, le=MAX_MS)
    p99: float = Field(ge=0, le=MAX_MS)
    mean: float | None = Field(default=None, ge=0, le=MAX_MS)

    @model_validator(mode="after")
    def _ordered(self) -> "Percentiles":
        if not (self.p50 <= self.p90 + 1e-9 and self.p90 <= self.p95 + 1e-9
                and self.p95 <= self.p99 + 1e-9):
            raise ValueError(fix(f"percentiles must not decrease (p50 {self.p50} <= p90 {self.p90} "
                f"<= p95 {self.p95} <= p99 {self.p99})", "check the measurement"))
        return self

    def at(self, percentile: int) -> float:
        return float({50: self.p50, 90: self.p90, 95: self.p95, 99: self.p99}[percentile])


class Estimate(StrictModel):
    """How an estimated point was derived."""

    basis: str = Field(description="Measured accelerator and batch the estimate was transferred "
        "from, and the method (roofline).")
    bound: Literal["compute", "memory", "mixed", "unknown"] = "unknown"
    low: float = Field(gt=0, description="Lower factor of the uncertainty band on "
        "latency (e.g. 0.8).")
    high: float = Field(gt=0, description="Upper factor of the uncertainty band on "
        "latency (e.g. 1.3).")
    ttft_low: float | None = Field(default=None, gt=0, description="LLM: lower factor of the band "
        "on TTFT, when it differs from low.")
    ttft_high: float | None = Field(default=None, gt=0, description="LLM: upper factor of the band "
        "on TTFT, when it differs from high.")


class Measurement(StrictModel):
    device: str = (Field(description="Device it ran on: cpu, cuda:0, an endpoint URL, "
        "or 'estimate'."))
    accelerator: str = Field(description="Canonical accelerator name (H200, L4, ...) or CPU.")
    batch_size: int = Field(ge=1, le=MAX_BATCH, description="Batch size (or concurrency for "
        "endpoint sweeps).")
    latency_ms: Percentiles
    throughput_rps: float = Field(gt=0, le=MAX_RPS, description="Sustained requests (samples) per "
        "second at this point: completed over elapsed time. The optimizer plans on it.")
    peak_memory_gib: float | None = Field(default=None, ge=0, le=MAX_GIB,
        description="Peak device memory (host RSS for CPU).")
    source: Source = "measured"
    gpus: int = Field(default=1, ge=1, le=64, description="Accelerators per replica (tensor "
        "parallel degree).")
    threads: int | None = Field(default=None, ge=1, le=1_000_000,
        description="CPU threads used (CPU measurements).")
    request_class: str | None = Field(default=None, description="Spec traffic class this point "
        "applies to; None = all.")
    concurrency: int | None = Field(default=None, ge=1, le=MAX_BATCH,
        description="Endpoint sweeps: concurrent requests.")
    offered_rps: float | None = Field(default=None, gt=0, le=MAX_RPS,
        description="Endpoint sweeps: offered request rate.")
    error_rate: float | None = Field(default=None, ge=0, le=1)
    ttft_ms: Percentiles | None = None
    tpot_ms: Percentiles | None = None
    samples: int | None = Field(default=None, ge=1, description="Timed iterations behind the "
        "percentiles.")
    ci_rel: float | None = Field(default=None, ge=0, description="Relative half-width of the 95% "
        "CI of the median latency.")
    throughput_quiet_rps: float | None = Field(default=None, gt=0, le=MAX_RPS,
        description="Batch / the fast calls' time (0.1th percentile): what the model costs when "
        "nothing interferes. Not planned on.")
    throughput_ci_rel: float | None = Field(default=None, ge=0,
        description="Relative half-width of the 95% interval of the sustained throughput_rps: the "
        "t-interval of the mean over measurement windows; on a contended point the prediction "
        "interval of one window (where another run beside the same load can land).")
    windows: int | None = Field(default=None, ge=1, description="Measurement windows behind "
        "throughput_rps.")
    stable: bool | None = Field(default=None, description="The windows agreed within the stability "
        "threshold before the budget ran out.")
    median_over_fast: float | None = Field(default=None, gt=0, description="Median call time / "
        "fast call time (1.0 on a quiet host).")
    contended: bool | None = Field(default=None, description="Measured under contention: the "
        "median call, or the mean (sustained rate vs quiet rate), far above the fast calls, or "
        "other processes kept more than a quarter of the CPUs the point leaves free busy meanwhile "
        "(others_cpus).")
    others_cpus: float | None = Field(default=None, ge=0, description="CPUs the rest of the host "
        "kept busy on average while the point was measured (Linux /proc/stat busy time, steal "
        "included, less this process's CPU time); None where it cannot be read.")
    estimate: Estimate | None = None
    pipeline_parallel: int | None = Field(default=None, ge=1, le=64,
        description="LLM: pipeline-parallel degree of the replica (gpus = tensor x pipeline "
        "parallel); None = 1.")
    input_tokens: int | None = Field(default=None, ge=1, description="LLM: prompt tokens per "
        "request at this point.")
    output_tokens: int | None = Field(default=None, ge=1, description="LLM: completion tokens per "
        "request at this point.")
    lower_bound: bool | None = Field(default=None, description="True when the point's rate is a "
        "lower bound on capacity, never the capacity (an open-loop run that served less than it "
        "offered without a queue for most of it: its drain tail; docs/llm.md, Calibration).")
    dtype: str | None = Field(default=None, description="LLM: precision the point's weights and "
        "compute ran in (bf16, fp8, ...; `profile import --dtype`); None: the profile's "
        "metadata.dtype. An LLM calibration fits only points of the plan's precision.")
    kv_cache_dtype: str | None = Field(default=None, description="LLM: precision of the KV cache "
        "the point ran with (auto, bf16, fp16, fp8; `profile import --kv-cache-dtype`); None: not "
        "recorded. An LLM calibration leaves out a point whose KV cache is of another size than "
        "the plan's.")
    class_shares: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = Field(default=None,
        description="LLM: the point served the spec's traffic.classes in these shares of its "
        "requests (an hour of a running service, which `optimize --observed` adds): its TTFT, "
        "TPOT and rate are the mix's means, and the calibration prices it as those classes, "
        "each at its own tokens (input_tokens / output_tokens: the mix's means, for the notes).")


    def throughput_low_rps(self) -> float:
        """The lower end of the sustained rate's 95 % CI (the rate itself when no CI is known)."""
        if self.throughput_ci_rel is None:
            return self.throughput_rps
        return (self.throughput_rps * max(0.0, 1.0 - self.throughput_ci_rel)
            or self.throughput_rps * 1e-3)


class DeviceInfo(StrictModel):
    device: str
    name: str
    accelerator: str
    memory_gib: float | None = None
    driver: str | None = None
    cuda: str | None = None
    compute_capability: str | None = None
    cpu_count: int | None = None


class ProfileMeta(StrictModel):
    model: str = Field(description="Model name.")
    target: str | None = (Field(default=None, description="What was profiled (factory, "
        "file or URL)."))
    kind: Literal["model", "endpoint", "llm-endpoint", "imported", "synthetic",
        "llm-estimate"] = "model"
    dtype: str | None = None
    input_shape: str | None = None
    created: str | None = Field(default=None, description="ISO-8601 date and time of the run.")
    host: str | None = None
    scaleplan_version: str | None = None
    frameworks: dict[str, str] = Field(default_factory=dict)
    devices: tuple[DeviceInfo, ...] = ()
    command: str | None = Field(default=None, description="The command line that produced "
        "this profile.")
    notes: tuple[str, ...] = ()
    imported_from: str | None = None
    flops_per_sample: float | None = Field(default=None, gt=0, description="Model FLOPs per sample "
        "(forward pass), when counted; used to transfer CPU points to GPUs.")
    weights_gib: float | None = Field(default=None, ge=0, description="Size of the model's weights "
        "(parameters and buffers), when known.")
    architecture: str | None = Field(default=None, description="LLM: the architecture preset or "
        "config.json the points were estimated for (`scaleplan profile llm`).")

    def llm_precision(self) -> str | None:
        """``dtype`` when it names an LLM precision (bf16, fp8, ...; ignoring case and spaces),
        as the calibration and ``profile merge`` read it; None when unset or another kind of
        dtype (a torch profile's float32)."""
        from typing import get_args

        from scaleplan.spec import LlmDtype

        d = (self.dtype or "").strip().lower()
        return d if d in get_args(LlmDtype) else None


class Profile(StrictModel):
    apiVersion: Literal["scaleplan/v1"] = "scaleplan/v1"
    kind: Literal["Profile"] = "Profile"
    metadata: ProfileMeta
    measurements: tuple[Measurement, ...] = Field(min_length=1)

    def accelerators(self) -> tuple[str, ...]:
        return tuple(sorted({m.accelerator for m in self.measurements}))

    def points(self, accelerator: str, gpus: int | None = None,
            request_class: str | None = None) -> tuple[Measurement, ...]:
        return tuple(
            m
            for m in self.measurements
            if m.accelerator == accelerator
            and (gpus is None or m.gpus == gpus)
            and (request_class is None or m.request_class in (None, request_class))
        )

    def peak_memory_gib(self) -> float | None:
        vals = [m.peak_memory_gib for m in self.measurements if m.peak_memory_gib is not None
            and m.accelerator != "CPU"]
        return min(vals) if vals else None


def profile_json_schema() -> dict[str, Any]:
    return format_json_schema(Profile, "profile", "scaleplan Profile v1")


_RESULTS = {"vllm": "a vLLM", "aiperf": "an AIPerf", "genai-perf": "a GenAI-Perf",
    "melange": "a Mélange", "aibrix": "an AIBrix"}


def _refuse_benchmark_result(doc: Document) -> None:
    """A benchmark result where a profile is read (``--calibrate result.json``, a spec's
    ``model.profile``): one problem naming the command that converts it, instead of one
    'unknown key' per field of the result (40 for a vLLM file)."""
    from scaleplan.importers.benchmarks import detect

    if not isinstance(doc.data, dict) or "kind" in doc.data:
        return
    fmt = detect(doc.data)
    if fmt is None:
        return
    gpu = "" if fmt in ("melange", "aibrix") else (" --accelerator GPU (and --gpus N for "
        "tensor parallel)")
    hint = (f"convert it: scaleplan profile import {doc.file}{gpu} --out profile.yaml, and name "
        "profile.yaml")
    raise ProfileError(doc.file, [Problem("", f"this is {_RESULTS[fmt]} benchmark result, "
        "not a profile", hint=hint)])


def _newer_writer(doc: Document) -> str | None:
    """The scaleplan version that wrote the file, when it is newer than this one."""
    from scaleplan._version import __version__

    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    wrote = meta.get("scaleplan_version") if isinstance(meta, dict) else None

    def parts(v: object) -> tuple[int, ...] | None:
        try:
            return tuple(int(x) for x in str(v).split("+")[0].split("."))
        except ValueError:
            return None

    mine, theirs = parts(__version__), parts(wrote)
    return str(wrote) if mine and theirs and theirs > mine else None


def parse_profile(doc: Document) -> Profile:
    refuse_other_kind(doc, "Profile", ProfileError)
    _refuse_benchmark_result(doc)
    try:
        return validate_document(Profile, doc, ProfileError)
    except ProfileError as exc:
        # a newer scaleplan's file: the unknown key is no typo to fix but a version to upgrade
        newer = _newer_writer(doc)
        if newer is None or not exc.problems:
            raise
        from scaleplan._version import __version__

        hint = (
            f"the file was written by scaleplan {newer}, newer than this one ({__version__}): "
            "upgrade scaleplan, or write the profile again with this version"
        )
        raise ProfileError(exc.file, exc.problems, hint=hint) from None


def read_profile(path: str | Path) -> Profile:
    """A profile file, from the parsed-file cache when this exact file was read before."""
    return load_model(path, Profile, _parse_profile_path)


def _parse_profile_path(path: str | Path) -> Profile:
    return parse_profile(load_yaml(path, what="profile"))


def parse_profile_text(text: str, name: str = "<profile>") -> Profile:
    return parse_profile(parse_yaml(text, name, what="profile"))


def dump_profile(profile: Profile, path: str | None = None) -> str:
    """The profile's file text: YAML, or JSON for a ``path`` that ends in .json (it was YAML
    there too until UX review 5, which JSON tools refuse; either reads back)."""
    data = profile.model_dump(mode="json", exclude_none=True)
    if path is not None and path.lower().endswith(".json"):
        import json

        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return dump_yaml(data)
