"""Serving-engine flags per allocation (docs/render.md, "LLM serving engines").

Pure functions shared by ``render`` (which writes the flags) and ``check`` (which reads them
back out of manifests); the engines' flag spellings and the parsing of an argument list are
engine facts in :mod:`scaleplan.llm.engine_flags`, below both (the spec checks use them too):

* :func:`server_settings`: what one allocation's server must be told: tensor / pipeline
  parallelism, the concurrency and context length the plan assumed, the memory fraction. From
  the plan's ``llm`` section when it has one; otherwise (plans from a profile alone) tensor
  parallel = ``gpus_per_replica``, concurrency = the operating point's batch size, and the rest
  from ``model.engine_config`` where the spec states it.
  TGI from a profile alone with a context length but no step budget gets the prefill budget its
  launcher takes without --max-batch-size (:func:`~scaleplan.llm.engine_flags.prefill_fallback`).
* :func:`engine_flags`: the planned flags of one server, in a fixed order, then the ones derived
  from them (TGI's --max-input-tokens and --max-concurrent-requests:
  :data:`~scaleplan.llm.engine_flags.DERIVED`).
* :func:`kv_conflict`: a KV-cache dtype flag that contradicts the plan's
  (``model.kv_cache_dtype``); :func:`precision_notes` says where the server's precision is the
  checkpoint's to decide.
* :func:`merge_args`: the user's ``kubernetes.args`` merged with the planned flags, behind the
  engine's launcher (``python3 -m sglang.launch_server``; ``trtllm-serve <model>``, which takes
  the model positionally) where the args do not start the server themselves; a user flag (or
  positional model) that contradicts the plan is a
  :class:`~scaleplan.llm.engine_flags.Conflict` (render: exit 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scaleplan.llm.engine_flags import (
    AT_LEAST_ABOVE,
    DERIVED,
    DERIVED_SETTINGS,
    ENGINE_DEFAULTS,
    FLAGS,
    KV_WRITTEN,
    LAUNCHER,
    PLANNED,
    POSITIONAL_MODEL,
    Conflict,
    batch_flag,
    derived_value,
    kv_flag_conflict,
    kv_text,
    launch_end,
    parse_flags,
    parse_number,
    positional_model,
    prefill_fallback,
    queues,
    same_value,
)
from scaleplan.llm.memory import kv_precision
from scaleplan.plan import Allocation, Plan

if TYPE_CHECKING:
    from scaleplan.llm.arch import Architecture

__all__ = [
    "ServerSettings",
    "engine_flags",
    "expert_parallel_note",
    "fp8_split_notes",
    "kv_conflict",
    "kv_planned_text",
    "merge_args",
    "named_precision",
    "native_precision",
    "precision_notes",
    "server_settings",
]


# the name of the KEDA Prometheus trigger render writes on a request rate (observe reads those
# triggers' queries as the demand; the engine triggers, in flight and KV use, are not rates)
REQUEST_RATE_TRIGGER = "requests"


def request_rate_queries(objects: Iterable[tuple[str, Mapping[str, object]]]) -> list[str]:
    """The queries of the rendered KEDA Prometheus request-rate triggers among ``objects``
    ((kind, object) pairs), each once (allocations behind one Service share its rate), in
    order: the demand observe reads and the PrometheusRule records. The engine triggers
    (requests in flight, KV-cache use) are not rates, and an hour-gated rate reads nothing
    outside its hours: neither is taken (until 2026-12-07 the PrometheusRule summed them all,
    UX trial 36)."""
    out: list[str] = []
    for kind, obj in objects:
        spec = obj.get("spec") if kind == "ScaledObject" else None
        for trig in spec.get("triggers", []) if isinstance(spec, Mapping) else []:
            if trig.get("type") == "prometheus" and trig.get("name") == REQUEST_RATE_TRIGGER:
                query = str(trig["metadata"]["query"])
                if query not in out:
                    out.append(query)
    return out


def pods_of(deployment: str) -> str:
    """A PromQL regex for the pods of one Deployment: ``<deployment>-<ReplicaSet hash>-<suffix>``
    (render's KEDA triggers and observe's per-allocation queries select them so)."""
    return f"{deployment}-[a-z0-9]+-[a-z0-9]+"


# the order of the planned flags on the server's command line
ORDER = (
    "model", "revision", "host", "port", "backend", *PLANNED, *DERIVED_SETTINGS, "kv_cache_dtype",
)


@dataclass(frozen=True)
class ServerSettings:
    """What one allocation's model server is told (``None``: not stated; the engine's default)."""

    engine: str
    tensor_parallel: int
    pipeline_parallel: int = 1
    max_num_seqs: int | None = None
    max_model_len: int | None = None
    gpu_memory_utilization: float | None = None
    block_size: int | None = None
    max_num_batched_tokens: int | None = None
    from_plan: bool = True  # False: derived from gpus_per_replica and the spec (no llm section)
    kv_cache_dtype: str = "16-bit"  # the KV cache the plan sized: "fp8" or "16-bit" (the default)

    def value(self, setting: str) -> float | None:
        """The planned value of ``setting``, or of a setting derived from a planned one
        (:data:`~scaleplan.llm.engine_flags.DERIVED`: TGI's request and prompt limits)."""
        base = DERIVED.get(self.engine, {}).get(setting)
        if base is not None:
            b = getattr(self, base, None)
            return None if b is None else float(derived_value(setting, float(b)))
        v = getattr(self, setting, None)
        if v is None:
            return None
        if setting == "max_num_seqs" and self.from_plan:
            return float(batch_flag(self.engine, int(v), self.pipeline_parallel))
        return float(v)


def server_settings(plan: Plan, a: Allocation) -> ServerSettings | None:
    """The planned server settings of allocation ``a``; None without ``model.engine``."""
    engine = plan.spec.model.engine
    if engine is None:
        return None
    kv = kv_precision(plan.spec.model.kv_cache_dtype)
    if a.llm is not None:
        s = a.llm
        return ServerSettings(
            engine, s.tensor_parallel, s.pipeline_parallel, s.max_num_seqs, s.max_model_len,
            s.gpu_memory_utilization, s.block_size, s.max_num_batched_tokens, kv_cache_dtype=kv,
        )
    ec = plan.spec.model.engine_config
    pp = (ec.pipeline_parallel if ec else None) or 1
    gpus = max(1, a.gpus_per_replica)
    tp = max(1, gpus // pp) if gpus % pp == 0 else gpus
    if gpus % pp:
        pp = 1
    seqs = (ec.max_num_seqs if ec else None) or a.operating_point.batch_size
    ctx = ec.max_model_len if ec else None
    return ServerSettings(
        engine,
        tp,
        pp,
        seqs,
        ctx,
        ec.gpu_memory_utilization if ec else None,
        ec.block_size if ec else None,
        (ec.max_num_batched_tokens if ec else None) or prefill_fallback(engine, ctx),
        from_plan=False,
        kv_cache_dtype=kv,
    )


def value_text(setting: str, v: float) -> str:
    if setting == "gpu_memory_utilization":
        return f"{round(v, 4):g}"
    return str(int(v))


def engine_flags(s: ServerSettings, *, port: int, model: str | None = None, revision: str | None = None) -> list[tuple[str, str, str]]:
    """(setting, flag, value) the server of ``s`` gets, in a fixed order."""
    table = FLAGS[s.engine]
    out: list[tuple[str, str, str]] = []
    for setting in ORDER:
        flags = table.get(setting)
        if not flags:
            continue
        if setting == "model":
            v: str | None = model
        elif setting == "revision":
            v = revision
        elif setting == "host":
            v = "0.0.0.0"  # SGLang and trtllm-serve listen on localhost by default
        elif setting == "port":
            v = str(port)
        elif setting in ENGINE_DEFAULTS.get(s.engine, {}):
            v = ENGINE_DEFAULTS[s.engine][setting]
        elif setting == "pipeline_parallel" and s.pipeline_parallel == 1:
            v = None  # the engines' default; keeps single-stage args short
        elif setting == "kv_cache_dtype":
            v = KV_WRITTEN.get(s.engine) if s.kv_cache_dtype == "fp8" else None
        else:
            x = s.value(setting)
            v = None if x is None else value_text(setting, x)
        if v is not None:
            out.append((setting, flags[0], v))
    return out


def merge_args(
    user: Sequence[str],
    planned: Sequence[tuple[str, str, str]],
    engine: str,
    model: str | None = None,
) -> tuple[list[str], list[Conflict]]:
    """The user's args followed by every planned flag the user did not already give with the
    same value, behind the engine's launcher (and, for trtllm-serve, the positional ``model``)
    where the user's args do not hold it; a user flag with another value is a conflict, and so
    is a positional model other than ``model``; TGI's --max-concurrent-requests is the user's
    to choose above the batch, a conflict at or below it. A conflict's index is in ``user``."""
    given = parse_flags(user, (engine,))
    out = list(user)
    conflicts: list[Conflict] = []
    values = {setting: value for setting, _, value in planned}
    for setting, flag, value in planned:
        use = given.get(setting)
        if use is None:
            out += [flag, value]
        elif setting == "kv_cache_dtype":
            continue  # by what the values store (fp8_e4m3 is fp8): kv_conflict
        elif setting in ENGINE_DEFAULTS.get(engine, {}):
            continue  # the engine's choice, not the plan's: the user's value stays
        elif setting in AT_LEAST_ABOVE:
            # a deeper or shallower queue is the user's choice; at or below the batch it refuses
            # requests the plan queues (queues: the rule check reads the manifests back with)
            base = values.get(DERIVED[engine][setting])
            limit, batch = parse_number(use.value), parse_number(base or "")
            if base is not None and (
                limit is None or batch is None or not queues(engine, limit, batch)
            ):
                conflicts.append(Conflict(setting, use.index, use.flag, use.value, flag, value))
        elif not same_value(setting, use.value, value):
            conflicts.append(Conflict(setting, use.index, use.flag, use.value, flag, value))
    return _launched(out, engine, model, conflicts), conflicts


def _launched(
    args: list[str], engine: str, model: str | None, conflicts: list[Conflict]
) -> list[str]:
    """``args`` behind the engine's launcher (prepended when they do not hold it) and, for an
    engine that takes the model positionally, with ``model`` after it (a different one given:
    a conflict, appended to ``conflicts``)."""
    launcher = LAUNCHER.get(engine)
    if not launcher:
        return args
    shift = 0
    if launch_end(engine, args) is None:
        args = [*launcher, *args]
        shift = len(launcher)
    if engine not in POSITIONAL_MODEL or model is None:
        return args
    named = positional_model(engine, args)
    if named is None:
        at = launch_end(engine, args) or 0
        if at < len(args) and args[at] in POSITIONAL_MODEL[engine]:
            at += 1  # after trtllm-serve's `serve` subcommand
        return [*args[:at], model, *args[at:]]
    if named.value != model:
        word = launcher[-1]
        conflicts.append(Conflict("model", named.index - shift, word, named.value, word, model))
    return args


def kv_planned_text(s: ServerSettings) -> str:
    """The plan's KV cache in the engine's words, for messages."""
    return kv_text(s.engine, s.kv_cache_dtype)


def kv_conflict(s: ServerSettings, args: Sequence[str]) -> Conflict | None:
    """A KV-cache dtype flag in ``args`` that stores another precision than the plan sized
    (``model.kv_cache_dtype``); None when there is no such flag or it agrees."""
    return kv_flag_conflict(s.engine, s.kv_cache_dtype, args)


# A checkpoint's weight precision as its name states it (the Hugging Face convention: -FP8,
# -AWQ, -GPTQ-Int4, -W4A16, -Int8, -NVFP4); the first matching word wins, in this order.
_NAME_PRECISION = (
    ("fp8", "fp8"), ("nvfp4", "fp4"), ("mxfp4", "fp4"), ("fp4", "fp4"), ("awq", "int4-awq"),
    ("w4a16", "int4"), ("int4", "int4"), ("w8a16", "int8"), ("w8a8", "int8"), ("int8", "int8"),
    ("gptq", "int4-gptq"), ("bf16", "bf16"), ("fp16", "fp16"),
)
# A --quantization (vLLM, SGLang) / --quantize (TGI) value -> the weight precision it loads;
# methods whose precision is the checkpoint's (compressed-tensors, modelopt) are left out
_QUANT_PRECISION = {
    "fp8": "fp8", "fbgemm_fp8": "fp8", "awq": "int4-awq", "awq_marlin": "int4-awq",
    "gptq": "int4-gptq", "gptq_marlin": "int4-gptq", "marlin": "int4", "eetq": "int8",
    "bitsandbytes": "int8", "bitsandbytes-nf4": "nf4", "bitsandbytes-fp4": "fp4",
    "mxfp4": "fp4", "modelopt_fp4": "fp4",
}
# model.dtype -> the precisions a checkpoint's name may state for it
_AGREES = {
    "bf16": frozenset({"bf16", "fp16"}), "fp16": frozenset({"bf16", "fp16"}),
    "fp8": frozenset({"fp8"}),
    "int8": frozenset({"int8"}), "int4-awq": frozenset({"int4-awq", "int4"}),
    "int4-gptq": frozenset({"int4-gptq", "int4"}),
    "mxfp4": frozenset({"mxfp4", "fp4"}), "nvfp4": frozenset({"nvfp4", "fp4"}),
}


def named_precision(uri: str) -> str | None:
    """The weight precision a checkpoint's name (its last path segment) states; None when it
    states none (then only its config.json knows)."""
    words = set(re.split(r"[-_.+]+", uri.rstrip("/").rsplit("/", 1)[-1].lower()))
    for word, precision in _NAME_PRECISION:
        if word in words:
            return precision
    return None


def per_channel_fp8(uri: str) -> bool:
    """Whether a checkpoint's name (its last path segment) marks llm-compressor's FP8-dynamic
    scheme (``RedHatAI/Qwen2.5-72B-Instruct-FP8-dynamic``): per-channel weight scales, no
    128 x 128 blocks, so it loads at any TP (UX trial 39: such a GKE plan was warned four
    times that its pods do not start)."""
    words = set(re.split(r"[-_.+]+", uri.rstrip("/").rsplit("/", 1)[-1].lower()))
    return {"fp8", "dynamic"} <= words


# a quantized model.dtype -> the checkpoint to point model.source.uri at
_QUANTIZED_CHECKPOINT = {
    "fp8": "an FP8", "int8": "an INT8 (W8A16)", "int4-awq": "an AWQ", "int4-gptq": "a GPTQ",
    "mxfp4": "an MXFP4", "nvfp4": "an NVFP4",
}


def native_precision(plan: Plan) -> str | None:
    """The weight precision of the planned architecture's own checkpoint (its config.json's
    quantization_config / torch_dtype, a preset's ``native_quantization``), when the plan knows
    it: a config.json architecture's record (``Plan.architecture``) or a shipped preset by
    name (:func:`_planned_architecture`); None without an architecture, or for a config.json
    plan written before plans recorded it (render reads no files of the spec's)."""
    arch = _planned_architecture(plan)
    return arch.native_dtype if arch is not None else None


def unstated_precision_note(
    engine: str, dtype: str | None, uri: str | None, native: str | None, args: Sequence[str]
) -> str | None:
    """A quantized ``model.dtype`` served from a checkpoint whose name states no precision,
    while the architecture's own checkpoint is of another precision (``native``: Qwen2.5-7B is
    bf16): the repository named is most likely that one, and the engine loads what its
    config.json states, not what the plan sized. None when the name states a precision (then
    :func:`precision_notes` checks it), the architecture's precision is unknown or agrees
    (DeepSeek-V3's fp8 checkpoint is named without one), or ``args`` set a quantization."""
    sixteen = ("bf16", "fp16")  # the other way: a 16-bit plan of a quantized checkpoint
    wider = dtype in sixteen and native is not None and native not in sixteen
    if dtype is None or uri is None or native is None:
        return None
    if dtype not in _QUANTIZED_CHECKPOINT and not wider:
        return None
    if named_precision(uri) is not None or native == dtype or native in _AGREES[dtype]:
        return None
    if "quantization" in parse_flags(args, (engine,)):
        return None
    if wider:  # UX review 15, F6: the plan pays for weights the server does not load
        return (
            f"model.source.uri {uri} names no precision and the architecture is {native}; the "
            f"plan sized {dtype} weights: {engine} loads the precision the checkpoint's "
            f"config.json states, so its {native} weights take less memory per GPU than the "
            f"plan sized, and the plan costs more than it needs; set model.dtype: {native} "
            f"and run scaleplan optimize again, or point model.source.uri at a {dtype} "
            "checkpoint of the model"
        )
    return (
        f"model.source.uri {uri} names no precision and the architecture is {native}; the plan "
        f"sized {dtype} weights: {engine} loads the precision the checkpoint's config.json "
        f"states, so a {native} checkpoint would take more memory per GPU than the plan sized "
        f"(or not fit); point model.source.uri at {_QUANTIZED_CHECKPOINT[dtype]} checkpoint of "
        f"the model, or set model.dtype: {native} and run scaleplan optimize again"
    )


def precision_notes(
    engine: str, dtype: str | None, kv_cache_dtype: str | None, uri: str | None,
    args: Sequence[str], native: tuple[str, str] | None = None,
) -> list[str]:
    """Where the server's precision is not render's to set, and the plan may not be what the
    server loads: the weights (every engine reads the quantization from the checkpoint's
    config.json) when the checkpoint's name, or a --quantization / --quantize in ``args``,
    states another precision than ``model.dtype``; an fp8 KV cache on trtllm-serve, which has
    no flag for it that render can rely on. ``native`` (the architecture's name and own
    precision, where the plan knows them) stands for a ``model.dtype`` left out, which the plan
    sized as that precision (UX review 17, F2: it was not compared at all)."""
    notes: list[str] = []
    if dtype is None and native is not None:
        arch, dtype = native
        said = f"model.dtype is not set ({arch}'s own {dtype})"
    else:
        said = f"model.dtype is {dtype}"
    named = named_precision(uri) if uri is not None else None
    given = parse_flags(args, (engine,))
    quant = given.get("quantization")
    loads = _QUANT_PRECISION.get(quant.value.strip().lower()) if quant is not None else None
    agrees = _AGREES.get(dtype or "", {dtype})
    online = named in ("bf16", "fp16") and loads in agrees  # the flag quantizes 16-bit weights
    if dtype is not None and named is not None and named not in agrees and not online:
        notes.append(
            f"{said} but the checkpoint {uri} is named as {named} weights: "
            f"{engine} loads the precision the checkpoint's config.json states "
            "(quantization_config), not model.dtype, so the weights would take other memory "
            "than the plan sized; set model.dtype to the checkpoint's precision and run "
            f"scaleplan optimize again, or serve a {dtype} checkpoint"
        )
    disagrees = loads is not None and loads not in agrees
    if dtype is not None and quant is not None and disagrees:
        fix = f"set model.dtype: {loads}" if loads in _AGREES else "plan another model.dtype"
        notes.append(
            f"{quant.flag} {quant.value} in spec.kubernetes.args makes {engine} load {loads} "
            f"weights, but {said}: the plan sized {dtype} weights per GPU and "
            f"the KV cache in the memory left; remove {quant.flag}, or {fix} and run "
            "scaleplan optimize again"
        )
    if engine == "trtllm" and kv_cache_dtype == "fp8" and "kv_cache_dtype" not in given:
        notes.append(
            "the plan sized an fp8 KV cache (model.kv_cache_dtype: fp8), but trtllm-serve takes "
            "the KV-cache precision from the checkpoint (kv_cache_quant_algo in "
            "hf_quant_config.json) or the prebuilt engine, not from a flag scaleplan writes; "
            "serve a checkpoint or engine with an FP8 KV cache (or, on trtllm-serve releases that "
            "have it, add --kv_cache_dtype fp8 to spec.kubernetes.args), otherwise each replica "
            "holds half the sequences the plan counts on"
        )
    return notes


def _planned_architecture(plan: Plan) -> Architecture | None:
    """The plan's architecture: its record (a config.json spec's), else the preset it names;
    None without one, or for a record that is not one (render reads no files of the spec's)."""
    from scaleplan.llm.arch import from_record, named_preset

    if plan.architecture is not None:
        try:
            return from_record(plan.architecture)
        except ValueError:
            return None
    return named_preset(plan.spec.model.architecture)


def fp8_split_notes(plan: Plan) -> list[str]:
    """Each allocation whose TP splits an FFN width into shards that a block-scaled FP8
    checkpoint cannot load (:func:`scaleplan.llm.shards.fp8_checkpoint_split`), where the plan
    sizes fp8 weights (``model.dtype``, or the architecture's own) that vLLM or SGLang load from
    the checkpoint (no --quantization in args: quantized on load, they have no blocks). UX
    review 17, F4: Qwen/Qwen3-30B-A3B-FP8 planned at TP 4 does not start."""
    from scaleplan.llm.shards import FP8_BLOCK, fp8_checkpoint_split, largest_whole_split

    model = plan.spec.model
    engine = model.engine
    arch = _planned_architecture(plan)
    if arch is None or engine is None:
        return []
    if "quantization" in parse_flags(plan.spec.kubernetes.args, (engine,)):
        return []
    if model.source is not None and per_channel_fp8(model.source.uri):
        return []
    dtype = model.dtype or arch.native_dtype
    notes = []
    for a in plan.allocations:
        tp = a.llm.tensor_parallel if a.llm is not None else None
        split = fp8_checkpoint_split(arch, dtype, engine, tp) if a.replicas and tp else None
        if split is None or tp is None:
            continue
        fits = largest_whole_split(arch, tp)
        notes.append(
            f"allocation {a.name}: {split}: {engine} refuses to load a block-scaled FP8 "
            f"checkpoint (quantization_config weight_block_size [{FP8_BLOCK}, {FP8_BLOCK}], as "
            "Qwen's and DeepSeek's own FP8 releases are) at this split, and the pods do not "
            f"start; if model.source is one, set placement.max_gpus_per_replica: {fits} and run "
            "scaleplan optimize again, or serve a per-channel FP8 checkpoint (llm-compressor "
            "FP8-dynamic) or the 16-bit one with --quantization fp8 in kubernetes.args "
            "(--enable-expert-parallel loads it too, but the plan's predictions are for tensor "
            "parallel experts)"
        )
    return notes


def expert_parallel_note(plan: Plan) -> str | None:
    """A flag in ``kubernetes.args`` that runs the experts expert parallel, for an MoE model
    planned from its architecture: the plan's capacity and TTFT / TPOT are for the MoE layers
    run tensor parallel over every expert, which is what the LLM model prices (UX review 17, F3:
    the flag was rendered without a word)."""
    from scaleplan.llm.engine_flags import expert_parallel_flag

    engine = plan.spec.model.engine
    flag = expert_parallel_flag(engine, plan.spec.kubernetes.args) if engine else None
    arch = _planned_architecture(plan) if flag else None
    if arch is None or not arch.is_moe:
        return None
    return (
        f"{flag} in spec.kubernetes.args: {engine} runs {arch.name}'s experts expert parallel "
        "(whole experts on each GPU, tokens sent to them all to all), but the plan's capacity "
        f"and TTFT / TPOT are for its MoE layers run tensor parallel over all "
        f"{arch.num_experts} experts, the only layout the LLM model prices (docs/llm.md); "
        f"measure the replica with {flag} (scaleplan profile, then model.profile calibrates "
        f"the plan) before relying on it, or remove {flag}"
    )
