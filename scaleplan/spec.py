"""Spec format v1: the ``InferenceService`` a user writes (docs/spec.md).

``read_spec(path)`` does the I/O; :func:`parse_spec` is pure and reports **all** problems at
once, each with its YAML path, line and fix. Models are frozen pydantic models, so that the
rest of the pipeline can rely on validated, immutable input; their JSON Schema is what
``scaleplan schema spec`` prints.
"""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from scaleplan.errors import Problem, SpecError
from scaleplan.file_kinds import refuse_other_kind
from scaleplan.kube import names
from scaleplan.kube.weights import HTTPROUTE_MAX_MATCHES
from scaleplan.names import PROVIDER_NAME
from scaleplan.problems import (
    fix,
    format_json_schema,
    problems_from_validation,
    shown,
    supported_percentile,
)
from scaleplan.spec_autoscaler import Autoscaler, _autoscaler_schema
from scaleplan.spec_base import OmittingModel as _Omitting
from scaleplan.spec_base import SpecModel as _Model
from scaleplan.spec_class_slo import ClassSlo, check_class_slos, slo_of
from scaleplan.spec_defaults import MAX_LATENCY_MS, derived_over_limit, llm_latency_default
from scaleplan.spec_lengths import CLASS_SLO_HINTS, LENGTHS_DOC, ClassLengths, check_lengths
from scaleplan.yamlio import Document, load_yaml, parse_yaml

API_VERSION = "scaleplan/v1"
DNS1123 = names.DNS_LABEL
_SUBDOMAIN = names.schema_pattern(names.DNS_SUBDOMAIN)  # a Secret, StorageClass name
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")  # Gateway API HTTPHeaderName
HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,4094}[\x21-\x7e])?")
MAX_CLASS_MATCHES = HTTPROUTE_MAX_MATCHES - 1  # one of the route's matches: the header-less rule
PERCENTILES = (50, 90, 95, 99)
MAX_RPS = 1e7  # requests/s: peak_rps and every hourly_rps value (keeps the MILP well scaled)
Provider = Annotated[str, Field(pattern=PROVIDER_NAME)]  # scaleplan.names: shipped or own
Flavor = Literal["eks", "eks-karpenter", "gke", "aks", "generic"]
# The cloud a cluster flavor runs on: its nodes carry that cloud's labels and instance types,
# so a plan for it may only use that cloud's rows. ``generic`` clusters run anywhere.
PROVIDER_OF_FLAVOR: dict[str, str] = {"eks": "aws", "eks-karpenter": "aws", "gke": "gcp", "aks": "azure"}
ALL_CLOUDS: tuple[Provider, ...] = ("aws", "gcp", "azure")

_IMAGE = names.IMAGE


def check_image(v: str) -> str:
    """A pinned container image reference, or ValueError with the fix."""
    m = _IMAGE.fullmatch(v) if len(v) <= 512 else None
    if m is None:
        raise ValueError(fix(f"is not a valid image reference: {shown(v)}", "use registry/name:tag or registry/name@sha256:<digest>, lower-case path, no spaces or shell characters"))
    if m["tag"] is None and m["digest"] is None:
        raise ValueError(fix(f"image {shown(v)} has no tag", "pin a version tag or a digest, e.g. name:1.2.3"))
    if m["tag"] == "latest" and m["digest"] is None:
        raise ValueError(fix(f"image {shown(v)} uses the 'latest' tag", "pin a version tag or a digest, so that every rollout runs the same code"))
    return v


def _suggest_name(v: str, limit: int) -> str:
    ascii_v = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", "-", ascii_v.lower()).strip("-")[:limit].strip("-") or "my-service"


class Metadata(_Model):
    name: Annotated[str, Field(description="Service name: lower-case DNS-1123 label, at most 40 characters (it prefixes object names).", json_schema_extra={"pattern": names.schema_pattern(DNS1123), "maxLength": 40})]
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels put on every rendered object.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra annotations put on every rendered object.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 40 or not DNS1123.fullmatch(v):
            why = "must be at most 40 characters" if len(v) > 40 else "must be a lower-case DNS-1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)"
            raise ValueError(fix(f"{why}; got {shown(v)}", f"at most 40 characters of a-z, 0-9 and '-', e.g. {_suggest_name(v, 40)!r}"))
        return v


# mxfp4 / nvfp4: the precision of checkpoints shipped so (gpt-oss, ModelOpt NVFP4), which the LLM
# model prices and names as their own; until 2026-12-07 a spec could not state them (UX trial 38)
LlmDtype = Literal["bf16", "fp16", "fp8", "int8", "int4-awq", "int4-gptq", "mxfp4", "nvfp4"]
KvCacheDtype = Literal["auto", "bf16", "fp16", "fp8"]
Engine = Literal["vllm", "sglang", "tgi", "trtllm"]


class EngineConfig(_Model):
    """LLM serving-engine settings the memory and performance model uses (docs/llm.md).

    Every field defaults to ``None`` = the engine's own default (vLLM: gpu_memory_utilization
    0.9, block size 16, ...), so a spec states only what it changes. The plan records the values
    it was solved with per allocation, and ``render`` passes them to the server as flags.
    """

    gpu_memory_utilization: float | None = Field(default=None, gt=0.05, le=0.99, description="Fraction of each GPU's memory the engine may use for weights, activations and KV cache (vLLM --gpu-memory-utilization, SGLang --mem-fraction-static).")
    block_size: int | None = Field(default=None, ge=1, le=1024, description="KV-cache block (page) size in tokens.")
    max_num_seqs: int | None = Field(default=None, ge=1, le=65536, description="Most sequences one replica runs at once; default: the largest that holds the SLO and fits the KV cache.")
    max_model_len: int | None = Field(default=None, ge=16, le=10_000_000, description="Longest sequence (prompt + completion) the server accepts; default: the longest request class (its p99.9 with a length spread), rounded up.")
    max_num_batched_tokens: int | None = Field(default=None, ge=16, le=1_000_000, description="Token budget per scheduler step (chunked prefill).")
    cuda_graph_reserve_gib: float | None = Field(default=None, ge=0, le=64, description="GPU memory per GPU held for CUDA graphs and activations, outside the KV cache.")
    pipeline_parallel: int | None = Field(default=None, ge=1, le=64, description="Pipeline-parallel degree; default 1 (tensor parallel only).")


_HF_REPO = re.compile(r"^(hf://)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_BUCKET_URI = re.compile(r"^(s3|gs)://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/[A-Za-z0-9._~=+@,:/-]*)?$")
_PVC_URI = re.compile(r"pvc://(?P<claim>[^/]*)(/[A-Za-z0-9._~=+@,:/-]*)?\Z")


class ModelSource(_Model):
    """Where the model server loads the weights from (docs/render.md, "Model weights")."""

    uri: str = Field(description="A Hugging Face repo id (org/name, or hf://org/name), an s3://bucket/prefix or gs://bucket/prefix URI, or pvc://claim[/path] for an existing PersistentVolumeClaim that holds the weights.")
    revision: str | None = Field(default=None, pattern=names.HF_REVISION, description="Hugging Face revision (branch, tag or commit); default: main.")
    secret: str | None = Field(default=None, pattern=_SUBDOMAIN, max_length=253, description="Name of a Kubernetes Secret holding the credentials: key HF_TOKEN (Hugging Face), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (s3://), or key.json (gs://, a service-account key). Omit for public models or workload identity (IRSA / GKE Workload Identity).")
    storage_class: str | None = Field(default=None, pattern=_SUBDOMAIN, max_length=253,
        description="StorageClass of the per-pod model cache volume (default: the cluster's "
        "default class); unused where the cache is node-local NVMe or the source is a PVC.")
    loader_image: str | None = Field(default=None, description="Image of the init container that copies s3:// or gs:// weights into the cache (default: the AWS or Google Cloud CLI image named in docs/render.md).")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"uri": v} if isinstance(v, str) else v

    @field_validator("loader_image")
    @classmethod
    def _loader(cls, v: str | None) -> str | None:
        return None if v is None else check_image(v)

    @field_validator("uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        pvc = _PVC_URI.fullmatch(v)
        known = _HF_REPO.fullmatch(v) or _BUCKET_URI.fullmatch(v)
        if len(v) > 512 or not (known or (pvc and names.is_dns_subdomain(pvc["claim"]))):
            raise ValueError(fix(f"is not a model source: {shown(v)}", "use a Hugging Face repo id (meta-llama/Llama-3.1-70B-Instruct), s3://bucket/prefix, gs://bucket/prefix or pvc://claim-name[/path]"))
        if "/../" in v + "/" or v.endswith("/.."):
            raise ValueError(fix(f"{shown(v)} contains '..'", "give the path without '..'"))
        return v

    @property
    def kind(self) -> Literal["hf", "s3", "gs", "pvc"]:
        for k in ("s3", "gs", "pvc"):
            if self.uri.startswith(f"{k}://"):
                return k
        return "hf"


class ModelSpec(_Model):
    profile: str | None = Field(default=None, description="Path to the profile file (scaleplan profile output), relative to the spec file. Required unless model.architecture is set: an LLM planned from its architecture needs no profile (its measured points, when given, calibrate the model; estimated ones are not read).")
    memory_gib: float | None = Field(default=None, gt=0, le=4096, description="Accelerator memory one replica needs (weights + KV cache + activations). Default: the profile's peak memory.")
    name: str | None = Field(default=None, description="Model name for labels and reports; default: the profile's.")
    architecture: str | None = Field(default=None, description="LLM architecture: a shipped preset "
        "name (e.g. llama-3.1-8b; `scaleplan profile llm --list`) or a path to a Hugging Face "
        "config.json, relative to the spec file. Makes capacity and memory follow token lengths "
        "and the KV cache.")
    dtype: LlmDtype | None = Field(default=None, description="LLM weight precision / quantization: "
        "bf16, fp16, fp8, int8 (weight-only), int4-awq, int4-gptq, mxfp4 (gpt-oss's own), nvfp4 "
        "(Blackwell). Default: the architecture's own dtype. The checkpoint in model.source must "
        "hold it: the engines load the precision its config.json states.")
    kv_cache_dtype: KvCacheDtype | None = Field(default=None, description="KV-cache precision; default (auto) = the activation dtype (bf16/fp16). fp8 halves the KV bytes per token; render writes the engine's flag for it.")
    engine: Engine | None = Field(default=None, description="LLM serving engine: vllm, sglang, tgi or trtllm; sets memory defaults and the flags render writes.")
    engine_config: EngineConfig | None = Field(default=None, description="Overrides of the engine's memory and scheduling defaults (None = all defaults).")
    source: ModelSource | None = Field(default=None, description="Where the server loads the "
        "weights from: a Hugging Face repo id, s3://, gs:// or pvc://claim (a mapping, or just the "
        "URI). render adds the engine's model flag, a model cache sized from the weights and the "
        "credentials from a Secret.")

    @field_validator("profile")
    @classmethod
    def _profile_path(cls, v: str | None) -> str | None:
        return None if v is None else _file_ref(v)

    @model_validator(mode="after")
    def _profile_or_architecture(self) -> "ModelSpec":
        """Capacity comes from a profile's points or from an LLM architecture: one is needed."""
        if self.profile is None and self.architecture is None:
            raise ValueError(fix(
                "the model needs a profile (where capacity comes from), or an LLM architecture "
                "(capacity then comes from the LLM model); this spec gives neither",
                "add 'profile: PATH' (a `scaleplan profile` output, relative to the spec file), "
                "or, for an LLM, 'architecture: NAME' (a preset such as llama-3.1-8b, "
                "`scaleplan profile llm --list`, or a config.json path) with each traffic "
                "class's input_tokens and output_tokens",
                at="profile",
            ))
        return self


def _file_ref(v: str) -> str:
    """A file path written in a spec: no NUL or control characters, at most 1,024 characters."""
    if len(v) > 1024:
        raise ValueError(fix(f"path is {len(v)} characters long, more than 1024", "use a shorter relative path"))
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError(fix(f"path {shown(v)} contains control characters (NUL, newline, ...)", "use a plain relative path"))
    if not v.strip():
        raise ValueError(fix("path is empty", "name a file, relative to the spec file"))
    return v


class RequestClass(_Omitting):
    UNKNOWN_KEY_HINTS: ClassVar[dict[str, str]] = CLASS_SLO_HINTS  # an SLO key beside slo
    OMITTED: ClassVar[tuple[str, ...]] = ("slo",)  # see OMITTED_WHILE_DEFAULT
    name: str = Field(description="Class name; matches `request_class` in the profile's measurements.")
    share: float = Field(gt=0, le=1, description="Share of requests in this class; shares sum to 1.")
    input_tokens: int | None = Field(default=None, ge=1, description="Prompt length in tokens of the class's requests (their mean where lengths gives a spread). With model.architecture the LLM model sizes and predicts the class from it (required there); simulate of an LLM plan draws the class's requests at it.")
    output_tokens: int | None = Field(default=None, ge=1, description="Completion length in tokens of the class's requests (their mean where lengths gives a spread). With model.architecture the LLM model sizes and predicts the class from it (required there); simulate of an LLM plan draws the class's requests at it.")
    lengths: ClassLengths | None = Field(default=None, description=LENGTHS_DOC)
    slo: ClassSlo | None = Field(default=None, description="This class's own SLO targets (ttft_ms, "
        "tpot_ms, latency_ms), each overriding the top-level slo for this class; the percentile "
        "stays the spec's. Needs model.architecture; not with routing: inference-pool "
        "(docs/spec.md, Per-class SLOs).")

    @model_validator(mode="after")
    def _lengths(self) -> "RequestClass":
        check_lengths(self)
        return self


class Traffic(_Model):
    peak_rps: float | None = Field(default=None, gt=0, le=MAX_RPS, description="Peak request rate (requests/s). Give this or hourly_rps.")
    hourly_rps: tuple[float, ...] | None = Field(default=None, description="Daily curve: 24 request rates (requests/s), hour 0 to 23 in UTC.", json_schema_extra={"minItems": 24, "maxItems": 24})
    classes: tuple[RequestClass, ...] = Field(default=(), description="Request-size classes (for LLM size mixes); shares sum to 1.")
    headroom: float = Field(default=0.2, ge=0, le=10, description="Extra capacity over demand, as a fraction (0.2 = 20%).")

    @field_validator("hourly_rps")
    @classmethod
    def _hourly(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is None:
            return v
        if len(v) != 24:
            raise ValueError(fix(f"must have 24 values (one per hour); got {len(v)}", "give one request rate per hour, 0 to 23"))
        bad = [i for i, x in enumerate(v) if x < 0 or not math.isfinite(x)]
        if bad:
            raise ValueError(fix(f"hour {bad[0]} has {v[bad[0]]!r}; rates must be finite and >= 0", "use 0 for idle hours"))
        big = [i for i, x in enumerate(v) if x > MAX_RPS]
        if big:
            raise ValueError(fix(f"hour {big[0]} has {v[big[0]]:g}; rates must be at most {MAX_RPS:g} requests/s (as peak_rps)", "give the rate in requests per second"))
        if max(v) <= 0:
            raise ValueError(fix("all 24 rates are 0", "give at least one hour a positive rate"))
        return v

    @model_validator(mode="after")
    def _one_of(self) -> "Traffic":
        if (self.peak_rps is None) == (self.hourly_rps is None):
            raise ValueError(fix("give exactly one of peak_rps or hourly_rps", "use peak_rps for a flat load, hourly_rps for a daily curve", at="peak_rps"))
        if self.classes:
            total = sum(c.share for c in self.classes)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(fix(f"classes' shares sum to {total:g}, not 1", "scale the shares so that they add up to 1", at="classes"))
            names = [c.name for c in self.classes]
            if dup := sorted({n for n in names if names.count(n) > 1}):
                twice = ", ".join(repr(n) for n in dup)
                raise ValueError(fix(f"class names must be unique: {twice} is given more than once", "rename the duplicate class", at="classes"))
        return self

    def rps_per_hour(self) -> tuple[float, ...]:
        """The demand curve: 24 values (a flat curve for peak_rps)."""
        if self.hourly_rps is not None:
            return self.hourly_rps
        assert self.peak_rps is not None
        return (self.peak_rps,) * 24

    @property
    def peak(self) -> float:
        return max(self.rps_per_hour())


class Slo(_Model):
    latency_ms: float = Field(gt=0, le=MAX_LATENCY_MS, description="End-to-end latency target in milliseconds at `percentile`. Required, except for an LLM spec (model.architecture) that sets ttft_ms and tpot_ms and each class's output_tokens: there it defaults to ttft_ms + tpot_ms x the longest class's output_tokens (at `percentile` of a length spread), and the LLM room does not test it: TTFT and TPOT are the targets (docs/llm.md).")
    _latency_derived: bool = PrivateAttr(default=False)  # the LLM default; left out of dumps
    percentile: int = Field(default=95, description="Percentile the target applies to: 50, 90, 95 or 99.", json_schema_extra={"enum": list(PERCENTILES)})
    ttft_ms: float | None = Field(default=None, gt=0, description="LLM: time-to-first-token target (ms) at `percentile`.")
    tpot_ms: float | None = Field(default=None, gt=0, description="LLM: time-per-output-token target (ms) at `percentile`.")

    @property
    def tested_latency_ms(self) -> float | None:
        """The end-to-end target the LLM room tests; None when latency_ms was derived."""
        return None if self._latency_derived else self.latency_ms

    @model_serializer(mode="wrap")  # a derived latency_ms is left out: read back, derived again
    def _omit_derived_latency(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if k != "latency_ms" or not self._latency_derived}

    @field_validator("percentile", mode="before")
    @classmethod
    def _pct(cls, v: Any) -> Any:
        return supported_percentile(v, PERCENTILES)


class Spot(_Omitting):
    allowed: bool = Field(default=False, description="Whether spot/preemptible capacity may be used.")
    max_fraction: float = Field(default=0.5, ge=0, le=1, description="At most this share of demand may rest on spot; on-demand covers the rest.")
    survive_loss: bool = Field(default=False, description="Size every window so that losing all "
        "spot capacity at once leaves the on-demand replicas alone carrying the demand at the SLO "
        "(without headroom); routing: gateway-api sends no traffic to a serving shape without "
        "on-demand replicas.")

    OMITTED: ClassVar[tuple[str, ...]] = ("survive_loss",)  # see OMITTED_WHILE_DEFAULT


class Quota(_Model):
    provider: Provider = Field(description="Provider the quota applies to.")
    region: str | None = Field(default=None, description="Region; omit for all regions of the provider.")
    family: str | None = Field(default=None, description="Instance family (g6, p4d, a2, Standard_NC...); omit for all families.")
    max_gpus: int | None = Field(None, ge=0, description="Most GPUs this scope may use.")
    max_nodes: int | None = Field(None, ge=0, description="Most nodes (GPU or CPU) it may use.")


class Placement(_Omitting):
    providers: tuple[Provider, ...] = Field(default=ALL_CLOUDS, description="Clouds to consider. Default: the cluster flavor's cloud (eks and eks-karpenter: aws; gke: gcp; aks: azure; generic: aws, gcp and azure).")
    regions: tuple[str, ...] = Field(default=(), description="Regions to consider; empty = all regions in the catalogs.")
    accelerators: tuple[str, ...] = Field(default=(), description="Allow list of accelerators (catalog names or aliases; 'cpu' for CPU-only types); empty = all.")
    exclude: tuple[str, ...] = Field(default=(), description="Instance types, families (g5*) or accelerators to leave out.")
    spot: Spot = Field(default_factory=Spot, description="Whether and how much spot/preemptible capacity to use.")
    redundancy: Literal["none", "n+1", "zone"] = Field(default="none", description="none; n+1: survive losing any one node; zone: survive losing any one zone.")
    zones: tuple[str, ...] = Field(default=(), description=(
        "With redundancy: zone, the cluster's zones (topology.kubernetes.io/zone values) a "
        "zone loss is planned over; empty: the catalog row's, else three assumed per region."
    ))
    quotas: tuple[Quota, ...] = Field(default=(), description="GPU and node quotas per provider, region and family: the plan stays within each.")
    max_instance_types: int | None = Field(default=None, ge=1, le=1000, description="Most instance types the plan uses over the whole day (a type's on-demand and spot nodes, in any region, count as one); unset: no cap.")
    max_gpus_per_replica: int = Field(default=8, ge=1, le=64, description="Largest tensor-parallel group to consider.")
    min_replicas: int = Field(default=1, ge=0, le=100_000, description="Fewest replicas at any hour.")
    max_replicas: int | None = Field(default=None, ge=1, le=100_000, description="Most replicas at any hour.")
    budget_per_hour: float | None = Field(default=None, gt=0, description="Most the plan may cost per hour (USD, averaged over the day).")
    include_flagged: bool = Field(default=False, description="Also use catalog rows flagged as suspect (GCP A3 prices; rows priced below a row they contain: docs/catalog.md).")
    conservative: bool = Field(default=False, description="Plan on the lower end of each measured point's sustained-throughput 95% CI (throughput_rps x (1 - throughput_ci_rel)) instead of throughput_rps itself; with model.architecture, check the SLO against the upper end of the LLM model's uncertainty bands.")
    catalogs: tuple[str, ...] = Field(default=(), description="Extra catalog files, relative to the spec file, loaded after the shipped catalogs and before any --catalog (e.g. written by `scaleplan import melange`).")

    @field_validator("catalogs")
    @classmethod
    def _catalog_paths(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_file_ref(x) for x in v)

    OMITTED: ClassVar[tuple[str, ...]] = ("zones", "max_instance_types")  # OMITTED_WHILE_DEFAULT
    # a budget per month or day (UX trial 30 F5: only "did you mean 'budget_per_hour'?")
    UNKNOWN_KEY_HINTS: ClassVar[dict[str, str]] = {
        f"budget_per_{unit}": (
            f"the budget is per hour, averaged over the day: budget_per_hour = your {adj} "
            f"figure / {hours}" + (", the hours of cost_per_month" if hours == 730 else "")
        )
        for unit, adj, hours in (("month", "monthly", 730), ("day", "daily", 24))
    }

    @model_validator(mode="after")
    def _minmax(self) -> "Placement":
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise ValueError(fix(f"max_replicas {self.max_replicas} is below min_replicas {self.min_replicas}", "raise max_replicas or lower min_replicas", at="max_replicas"))
        return self


# the spec paths a plan leaves out while at their default, with it (plandiff: not null)
OMITTED_WHILE_DEFAULT = {
    **{f"placement.spot.{f}": Spot.model_fields[f].default for f in Spot.OMITTED},
    **{f"placement.{f}": Placement.model_fields[f].default for f in Placement.OMITTED},
    **{f"kubernetes.autoscaler.{f}": Autoscaler.model_fields[f].default for f in Autoscaler.OMITTED},
}


class Probes(_Model):
    path: str = Field(default="/health", description="HTTP path for liveness and startup probes.")
    readiness_path: str | None = Field(default=None, description="HTTP path for readiness (default: path).")
    startup_seconds: int | None = Field(default=None, ge=10, le=86400, description="Longest start-up the startup probe waits for. Default: 600 s, plus the download and load of an LLM's weights that the server fetches itself (docs/render.md).")


class Gateway(_Model):
    name: str = Field(pattern=names.GATEWAY_NAME, description="Name of the Gateway (gateway.networking.k8s.io) the HTTPRoute attaches to.")
    namespace: str | None = Field(default=None, pattern=names.GATEWAY_NAME, description="Namespace of the Gateway (default: the service's namespace).")
    hostnames: tuple[str, ...] = Field(default=(), description="Hostnames the route matches (default: all).")


class NodeReserve(_Model):
    cpu: float = Field(ge=0, le=64, description="CPU cores the DaemonSets on one node request together.")
    memory_gib: float = Field(ge=0, le=1024, description="GiB of memory the DaemonSets on one node request together.")


class SecretKey(_Model):
    secret: str = Field(pattern=_SUBDOMAIN, max_length=253, description="Name of the Secret, in the namespace.")
    key: str = Field(pattern=names.SECRET_KEY, description="Key in the Secret.")


class Kubernetes(_Model):
    namespace: str = Field(default="default", description="Namespace of the rendered objects (DNS-1123 label).")
    image: str = Field(description="Container image by tag or digest (never 'latest').")
    port: int = Field(default=8080, ge=1, le=65535, description="Container port the server listens on (HTTP).")
    flavor: Flavor = Field(default="generic", description="Cluster flavour: decides node selectors, tolerations and Karpenter NodePools.")
    node_reserve: NodeReserve | None = Field(default=None, description="What the DaemonSets on one node request together (CPU cores, memory GiB), subtracted with the kubelet's reservation from each node before GPU replicas get the rest. Default: the flavor's estimate (0.7 CPU; memory 1.25 GiB on eks, eks-karpenter and gke, 1.5 GiB on aks and generic; docs/render.md). Set it to what `kubectl describe node` lists for the DaemonSets of your GPU nodes; the optimizer packs and sizes replicas under it and render writes the same requests.")
    autoscaler: Autoscaler = Field(default_factory=Autoscaler, json_schema_extra=_autoscaler_schema, description="How replicas scale: a mapping, or just the type (`autoscaler: none`).")
    probes: Probes = Field(default_factory=Probes, description="Liveness, readiness and startup probe settings.")
    args: tuple[str, ...] = Field(default=(), description="Container args.")
    env: dict[str, str] = Field(default_factory=dict, description="Container environment variables.")
    secret_env: dict[str, SecretKey] | None = Field(
        default=None,
        description="Container environment variables read from Secrets (env "
        "valueFrom.secretKeyRef), NAME: {secret, key}: credentials the server needs besides "
        "the model download's (model.source.secret), e.g. VLLM_API_KEY. Wins over a variable "
        "render sets itself.",
    )
    service_monitor: bool = Field(default=False, description="Also render a Prometheus ServiceMonitor.")
    read_only_root_filesystem: bool = Field(default=True, description="Run the container with a read-only root filesystem.")
    cluster_name: str | None = Field(default=None, pattern=names.EKS_CLUSTER, description="EKS cluster name (eks-karpenter: EC2NodeClass node role KarpenterNodeRole-<name> and karpenter.sh/discovery tags).")
    routing: Literal["service", "gateway-api", "inference-pool"] = Field(default="service", description="How requests reach replicas. service: one Service spreads requests evenly over all pods, so the optimizer only mixes replica types that can each take an even share; gateway-api: one Service per serving shape (allocations with the same GPU, capacity and server settings share one) and a Gateway API HTTPRoute with capacity weights, so mixes of fast and slow replicas are allowed; inference-pool: a Gateway API Inference Extension InferencePool over every allocation's pods, whose endpoint picker (the EPP's default profile) sends each request to the pod with the best score of few waiting requests and free KV cache (LLMs); the picker is class-blind, so with several classes only types that serve every class are used, and with model.architecture a pool of several pod shapes is sized for the picker's split (one KV-cache utilisation on every pod), not in proportion to capacity.")
    gateway: Gateway | None = Field(default=None, description="The Gateway the HTTPRoute attaches to (required with routing: gateway-api and inference-pool).")
    endpoint_picker_image: str | None = Field(default=None, description="routing: inference-pool: image of the endpoint picker (EPP) the InferencePool names (default: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.0).")
    class_header: str | None = Field(default=None, min_length=1, max_length=256, description="routing: gateway-api with several traffic.classes: the HTTP request header that names each request's class (set by the client or an upstream gateway), e.g. X-Request-Class. The HTTPRoute then has one rule per class matching the header's value (the class name) with that class's own backend weights, and the optimizer routes each class on its own (a type fast at one class need not take the others); requests without the header fall to a last rule weighted like the planned load (replicas x capacity at each one's routed class mix), over the allocations that serve every class. Over a daily curve (hourly_rps) a route's weights cannot change by hour: they are fixed all day (the per-class routing planned for the peak, or for a quieter hour, or the class-blind route's weights for every class: whichever day is cheapest) and the autoscaler scales each allocation by hour (a heuristic, measured against a lower bound: the per-hour per-class optimum). Unset: the route is class-blind and every backend is planned for the class mix.")

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        if len(v) > 63 or not DNS1123.fullmatch(v):
            raise ValueError(fix(f"must be a DNS-1123 label (a-z, 0-9 and '-', at most 63 characters); got {shown(v)}", f"e.g. {_suggest_name(v, 63)!r}"))
        return v

    @field_validator("image", "endpoint_picker_image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        return None if v is None else check_image(v)

    @field_validator("class_header")
    @classmethod
    def _class_header(cls, v: str | None) -> str | None:
        if v is not None and not HEADER_NAME.fullmatch(v):
            raise ValueError(fix(f"must be an HTTP header name (RFC 7230 token: letters, digits and !#$%&'*+-.^_`|~, no spaces or ':'); got {shown(v)}", "e.g. X-Request-Class"))
        return v

    @model_validator(mode="after")
    def _gateway(self) -> "Kubernetes":
        if self.routing in ("gateway-api", "inference-pool") and self.gateway is None:
            raise ValueError(fix(f"routing: {self.routing} needs a 'gateway' section", "add gateway: {name: <your Gateway>, namespace: <its namespace>}", at="gateway"))
        if self.class_header is not None and self.routing != "gateway-api":
            raise ValueError(fix(f"class_header routes request classes with HTTPRoute header matches, which only routing: gateway-api renders (routing is {self.routing})", "set routing: gateway-api, or remove class_header", at="class_header"))
        return self


def providers_from_flavor(data: Any) -> Any:
    """A spec's data with ``placement.providers`` defaulted to the flavor's cloud (all clouds
    for generic), as :class:`Spec` reads it."""
    if not isinstance(data, dict):
        return data
    placement = data.get("placement", {})
    k8s = data.get("kubernetes")
    if not isinstance(placement, dict) or "providers" in placement or not isinstance(k8s, dict):
        return data
    cloud = PROVIDER_OF_FLAVOR.get(str(k8s.get("flavor", "generic")))
    if cloud is None:
        return data
    return {**data, "placement": {**placement, "providers": [cloud]}}


class Spec(_Model):
    """A scaleplan deployment spec (``kind: InferenceService``)."""

    apiVersion: Literal["scaleplan/v1"] = Field(description="Always scaleplan/v1.")
    kind: Literal["InferenceService"] = Field(description="Always InferenceService.")
    metadata: Metadata = Field(description="Name, labels and annotations of the service.")
    model: ModelSpec = Field(description="The model: its profile and memory needs.")
    traffic: Traffic = Field(description="Demand: peak or hourly request rates, request classes, headroom.")
    slo: Slo = Field(description="Latency objective; slo: {} where every class has its own slo.")
    placement: Placement = Field(default_factory=Placement, description="Where and on what the service may run, and limits.")
    kubernetes: Kubernetes = Field(description="How the service is deployed: image, port, flavour, autoscaler.")

    @model_validator(mode="before")
    @classmethod
    def _providers_from_flavor(cls, data: Any) -> Any:
        return providers_from_flavor(data)

    @model_validator(mode="wrap")
    @classmethod
    def _llm_latency_default(cls, data: Any, handler: "ModelWrapValidatorHandler[Spec]") -> "Spec":
        """``slo.latency_ms`` of an LLM spec defaults from its TTFT/TPOT targets
        (:func:`llm_latency_default`), marked derived (Slo.tested_latency_ms); else stated."""
        default = None
        if isinstance(data, dict) and isinstance(slo := data.get("slo"), dict):
            if "latency_ms" not in slo:
                default = llm_latency_default(data)
            if default is not None:  # over the limit: refused below, at what made it so
                data = {**data, "slo": {**slo, "latency_ms": min(default, MAX_LATENCY_MS)}}
        spec = handler(data)
        if default is not None:
            spec.slo._latency_derived = True
            if default > MAX_LATENCY_MS:
                raise ValueError(derived_over_limit(data, default))
        return spec

    @model_validator(mode="after")
    def _class_slos(self) -> "Spec":
        check_class_slos(self)  # needs model.architecture; not under inference-pool
        return self

    @property
    def has_class_slos(self) -> bool:
        """Whether some class has targets of its own (``traffic.classes[].slo``)."""
        return any(c.slo is not None for c in self.traffic.classes)

    def slo_of(self, name: str | None) -> Slo:
        """The SLO class ``name`` is held to (:func:`scaleplan.spec_class_slo.slo_of`)."""
        return slo_of(self, name)

    @model_validator(mode="after")
    def _class_header(self) -> "Spec":
        """kubernetes.class_header: one HTTPRoute header match per class (Gateway API allows
        :data:`HTTPROUTE_MAX_MATCHES`, one is the header-less rule's), class names usable as
        header values."""
        if self.kubernetes.class_header is None:
            return self
        hdr = self.kubernetes.class_header
        for i, c in enumerate(self.traffic.classes):
            if not HEADER_VALUE.fullmatch(c.name):
                raise ValueError(fix(f"kubernetes.class_header: class name {shown(c.name)} is sent "
                    f"as the {hdr} header's value, which must be printable ASCII without leading "
                    "or trailing spaces (at most 4096 characters)", "rename the class",
                    at=f"traffic.classes[{i}].name"))
        if len(self.traffic.classes) > MAX_CLASS_MATCHES:
            raise ValueError(fix(f"kubernetes.class_header: {len(self.traffic.classes)} request classes need {len(self.traffic.classes)} header matches in the HTTPRoute beside its header-less rule, and Gateway API allows {HTTPROUTE_MAX_MATCHES} matches in all", f"merge classes down to {MAX_CLASS_MATCHES}", at="kubernetes.class_header"))
        return self


def spec_json_schema() -> dict[str, Any]:
    schema = format_json_schema(Spec, "spec", "scaleplan InferenceService spec v1")
    # slo.latency_ms defaults for an LLM spec (llm_latency_default), which the schema's
    # per-object 'required' cannot express: the description says when it is needed
    slo = schema["$defs"]["Slo"]
    slo["required"] = [k for k in slo.get("required", []) if k != "latency_ms"]
    if not slo["required"]:
        del slo["required"]
    return schema


def parse_spec(doc: Document) -> Spec:
    """Validate a parsed YAML document as a Spec, gathering every problem."""
    refuse_other_kind(doc, "InferenceService", SpecError)
    data = doc.data
    problems: list[Problem] = []
    if isinstance(data, dict):
        api = data.get("apiVersion")
        if api is not None and api != API_VERSION:
            problems.append(Problem("apiVersion", f"unsupported apiVersion {api!r}", hint=f"use 'apiVersion: {API_VERSION}'", line=doc.lines.line_of(("apiVersion",))))
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        for p in problems_from_validation(exc, Spec, doc.lines):
            if p.where == "apiVersion" and problems:
                continue
            problems.append(p)
        raise SpecError(doc.file, problems) from None
    from scaleplan.spec_checks import flavor_problems

    problems += flavor_problems(spec, doc)
    if problems:
        raise SpecError(doc.file, problems)
    return spec


def parse_spec_text(text: str, name: str = "<spec>") -> Spec:
    return parse_spec(parse_yaml(text, name, what="spec"))


def read_spec(path: str | Path) -> tuple[Spec, Document]:
    """Read and validate a spec file. Files it references are checked by the caller."""
    doc = load_yaml(path, what="spec")
    return parse_spec(doc), doc
