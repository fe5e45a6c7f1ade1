"""The serving engines' command-line flags: what the LLM engines (vLLM, SGLang, TGI,
trtllm-serve) call each server setting, and reading such flags out of an argument list.

Engine facts, below everything that writes or reads engine arguments: ``render`` writes the
planned flags (:mod:`scaleplan.render.engine`), ``check`` reads them back out of manifests, and
the spec checks (:mod:`scaleplan.spec_checks`) refuse a flag in ``kubernetes.args`` that
contradicts the spec's own model settings, before anything is solved or rendered.

* :data:`FLAGS`: each engine's spelling of each setting (first = the one render writes; the
  others are accepted aliases); :data:`PLANNED`: the settings the plan sizes, which render writes
  and check reads back; :data:`DERIVED` / :func:`derived_value`: the settings that follow from
  planned ones (TGI's --max-concurrent-requests above its --max-batch-size, --max-input-tokens
  below its --max-total-tokens), written and read back the same way; :func:`queues`;
* :data:`LAUNCHER` / :data:`POSITIONAL_MODEL`: the words that start an engine's server where its
  image has no entrypoint for it, and the engines that take the model as a positional argument
  after them (:func:`positional_model` finds it);
* :func:`bad_value`: why a planned setting's value cannot be what the engine reads (not a
  number, not a whole number, a memory fraction outside (0, 1]);
* :data:`KV_VALUES` / :data:`KV_WRITTEN`: the KV-cache precision values each engine takes, by
  what they store, and the one render writes for an fp8 KV cache;
* :func:`parse_flags`: the settings given in an argument list (``--flag v`` or ``--flag=v``);
* :func:`kv_flag_conflict`: a KV-cache flag that stores another precision than planned;
* :data:`IMAGES` / :func:`image_engine` / :func:`args_engine` / :func:`image_mismatch`: the
  image repositories each engine ships its server in, and a container whose image is a known
  image of another engine than the one its arguments (or the spec) start: it cannot start.

Pure; of scaleplan it imports only the engine facts table
(:data:`scaleplan.llm.memory.ENGINES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from scaleplan.llm.memory import ENGINES as ENGINE_TABLE

__all__ = [
    "AT_LEAST_ABOVE",
    "DERIVED",
    "DERIVED_SETTINGS",
    "ENGINES",
    "ENGINE_DEFAULTS",
    "EXPERT_PARALLEL_FLAGS",
    "FLAGS",
    "IMAGES",
    "KV_VALUES",
    "KV_WRITTEN",
    "LAUNCHER",
    "NUMERIC",
    "PLANNED",
    "POSITIONAL_MODEL",
    "PP_FLAGS",
    "QUEUE_MULTIPLE",
    "TP_FLAGS",
    "Conflict",
    "FlagUse",
    "args_engine",
    "bad_value",
    "batch_flag",
    "derived_value",
    "engine_has",
    "engine_image",
    "expert_parallel_flag",
    "image_engine",
    "image_mismatch",
    "image_repository",
    "in_flight_default",
    "kv_flag_conflict",
    "kv_stored",
    "kv_text",
    "launch_end",
    "model_named",
    "model_use",
    "model_words",
    "parse_flags",
    "parse_number",
    "positional_model",
    "prefill_fallback",
    "queues",
    "same_value",
]

ENGINES = ("vllm", "sglang", "tgi", "trtllm")


# setting -> flag spellings per engine (first = written). Sources: vLLM `vllm serve --help`
# (EngineArgs), SGLang `python -m sglang.launch_server --help` (ServerArgs), TGI
# `text-generation-launcher --help`, TensorRT-LLM `trtllm-serve serve --help`
# (tensorrt_llm/commands/serve.py, releases 0.18 to 1.x: `trtllm-serve [serve] MODEL`, the model
# positional; --tp_size / --pp_size alias --tensor_parallel_size / --pipeline_parallel_size;
# --kv_cache_free_gpu_memory_fraction (aliased --free_gpu_memory_fraction on main) is the KV
# cache's fraction of the memory free after weights and buffers, which is what the plan's
# gpu_memory_utilization means for trtllm: scaleplan.llm.memory, fraction_of_free).
FLAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "vllm": {
        "tensor_parallel": ("--tensor-parallel-size", "-tp"),
        "pipeline_parallel": ("--pipeline-parallel-size", "-pp"),
        "max_num_seqs": ("--max-num-seqs",),
        "max_model_len": ("--max-model-len",),
        "gpu_memory_utilization": ("--gpu-memory-utilization",),
        "block_size": ("--block-size",),
        "max_num_batched_tokens": ("--max-num-batched-tokens",),
        "port": ("--port",),
        "model": ("--model",),
        "revision": ("--revision",),
        "kv_cache_dtype": ("--kv-cache-dtype",),
        "quantization": ("--quantization",),  # read, never written: the checkpoint decides
    },
    "sglang": {
        "tensor_parallel": ("--tp-size", "--tp", "--tensor-parallel-size"),
        "pipeline_parallel": ("--pp-size", "--pipeline-parallel-size"),
        "max_num_seqs": ("--max-running-requests",),
        "max_model_len": ("--context-length",),
        "gpu_memory_utilization": ("--mem-fraction-static",),
        "block_size": ("--page-size",),
        "max_num_batched_tokens": ("--chunked-prefill-size",),
        "host": ("--host",),
        "port": ("--port",),
        "model": ("--model-path", "--model"),
        "revision": ("--revision",),
        "kv_cache_dtype": ("--kv-cache-dtype",),
        "quantization": ("--quantization",),
    },
    "tgi": {
        "tensor_parallel": ("--num-shard",),
        "max_num_seqs": ("--max-batch-size",),  # the running batch: see the TGI notes under PLANNED
        "max_model_len": ("--max-total-tokens",),
        "max_input_tokens": ("--max-input-tokens",),  # derived: DERIVED
        "max_concurrent_requests": ("--max-concurrent-requests",),  # derived: DERIVED
        "gpu_memory_utilization": ("--cuda-memory-fraction",),
        "max_num_batched_tokens": ("--max-batch-prefill-tokens",),
        "port": ("--port",),
        "model": ("--model-id",),
        "revision": ("--revision",),
        "kv_cache_dtype": ("--kv-cache-dtype",),
        "quantization": ("--quantize",),
    },
    "trtllm": {
        "tensor_parallel": ("--tp_size", "--tensor_parallel_size"),
        "pipeline_parallel": ("--pp_size", "--pipeline_parallel_size"),
        "max_num_seqs": ("--max_batch_size",),
        "max_model_len": ("--max_seq_len",),
        "gpu_memory_utilization": (
            "--kv_cache_free_gpu_memory_fraction", "--free_gpu_memory_fraction",
        ),
        "max_num_batched_tokens": ("--max_num_tokens",),
        "host": ("--host",),
        "port": ("--port",),
        # the PyTorch backend: the default from 1.0, written so that older releases (whose
        # default built a TensorRT engine at start) run the same; a user's --backend is kept
        "backend": ("--backend",),
        "kv_cache_dtype": ("--kv_cache_dtype",),  # read, never written: see KV_WRITTEN
    },
}
# the words that start the server, written at the head of the container's args where the spec's
# args do not already hold them: the engines whose images have no entrypoint that starts it
# (lmsysorg/sglang: none; nvcr.io/nvidia/tensorrt-llm/release: a shell wrapper that runs its
# arguments). vllm/vllm-openai (`vllm serve`) and TGI (`text-generation-launcher`) images start
# the server from their entrypoint and take flags only.
LAUNCHER: dict[str, tuple[str, ...]] = {
    "sglang": ("python3", "-m", "sglang.launch_server"),
    "trtllm": ("trtllm-serve",),
}
# the image repositories each engine's server ships in (first = the one messages name;
# docs/render.md, "Engine flags"), and what such an image does with the container's args: the
# vLLM and TGI images' entrypoints start their server and read the args as its flags; the SGLang
# image has no entrypoint and the TensorRT-LLM image's runs its args as a command, so both need
# the launcher words at the head of args. An image of one engine cannot start another's server:
# `vllm serve python3 -m sglang.launch_server ...` exits at once. Images not listed (a custom
# build) are not judged.
IMAGES: dict[str, tuple[str, ...]] = {
    "vllm": ("vllm/vllm-openai",),
    "sglang": ("lmsysorg/sglang",),
    "tgi": ("ghcr.io/huggingface/text-generation-inference",),
    "trtllm": ("nvcr.io/nvidia/tensorrt-llm/release",),
}
_ENTRYPOINT: dict[str, str] = {
    "vllm": "its entrypoint runs `vllm serve` with the args as vLLM flags",
    "tgi": "its entrypoint runs `text-generation-launcher` with the args as TGI flags",
    "sglang": "it has no entrypoint: the args are run as the command",
    "trtllm": "its entrypoint runs the args as a command",
}
# engines that take the model as a positional argument after the launcher (no model flag);
# trtllm-serve's optional `serve` subcommand may come between
POSITIONAL_MODEL: dict[str, tuple[str, ...]] = {"trtllm": ("serve",)}
# the planned values written per engine that are the engine's choice, not the plan's: a user's
# flag with another value is kept, not a conflict
ENGINE_DEFAULTS: dict[str, dict[str, str]] = {"trtllm": {"backend": "pytorch"}}
# the flags that run an MoE model's experts expert parallel (whole experts per GPU, tokens sent
# to them all-to-all), which the LLM model does not model: it plans the MoE layers tensor
# parallel over every expert. vLLM `--enable-expert-parallel`; SGLang `--ep-size` (alias
# `--expert-parallel-size`; `--enable-ep-moe` before 0.5); trtllm-serve `--ep_size`.
EXPERT_PARALLEL_FLAGS: dict[str, tuple[str, ...]] = {
    "vllm": ("--enable-expert-parallel",),
    "sglang": ("--ep-size", "--expert-parallel-size", "--enable-ep-moe"),
    "trtllm": ("--ep_size",),
}


def expert_parallel_flag(engine: str, args: Sequence[str]) -> str | None:
    """The flag in ``args`` that turns expert parallelism on for ``engine`` (a size of 1, or
    ``false``, leaves it off); None without one."""
    flags = EXPERT_PARALLEL_FLAGS.get(engine, ())
    for i, arg in enumerate(args):
        name, _, value = arg.partition("=")
        if name not in flags:
            continue
        if not value and name != "--enable-expert-parallel" and name != "--enable-ep-moe":
            value = args[i + 1] if i + 1 < len(args) else ""
        if value.strip().lower() not in ("1", "false", "0"):
            return name
    return None


# every spelling of a tensor-parallel / shard flag, any engine (check reads unlabelled manifests)
TP_FLAGS: frozenset[str] = frozenset(f for e in FLAGS.values() for f in e["tensor_parallel"])
PP_FLAGS: frozenset[str] = frozenset(
    f for e in FLAGS.values() for f in e.get("pipeline_parallel", ())
)
# the settings whose values are numbers (compared as numbers: 8k = 8000)
NUMERIC = (
    "tensor_parallel",
    "pipeline_parallel",
    "max_num_seqs",
    "max_model_len",
    "gpu_memory_utilization",
    "block_size",
    "max_num_batched_tokens",
    "port",
)
# the settings the plan sizes: render writes each one the plan states (pipeline parallel only
# when > 1), check reads each back and names a missing or different one
PLANNED = NUMERIC[:-1]

# TGI's two limits on requests (huggingface/text-generation-inference, read 2026-12-05):
# * --max-batch-size bounds the running batch. backends/v3/src/backend.rs (batching_task) hands
#   max_batch_size to queue.next_batch as the new batch's max size, and the room left in it
#   (max_batch_size minus the running batch) when it adds to a running batch, on every hardware
#   target; backends/v3/src/queue.rs stops filling a batch at that size and leaves the rest
#   queued. (The launcher's help, launcher/src/main.rs, calls it a flag "for hardware targets
#   that do not support unpadded inference"; the v3 backend applies it regardless.) It is what
#   the plan's max_num_seqs means: the sequences one replica runs at once.
# * --max-concurrent-requests (default 128: the engine table's max_concurrent_requests, read
#   with in_flight_default) bounds every request in flight, queued and running:
#   router/src/infer/mod.rs (Infer::generate_stream) takes a semaphore permit per
#   request with try_acquire and answers the rest at once with InferError::Overloaded (HTTP
#   429) instead of queueing them. Render writes it above the batch so a replica queues, as
#   the plan and the simulator assume: TGI's default, or QUEUE_MULTIPLE x the batch when that
#   is larger. Past it TGI refuses requests (429s): by then a newcomer would wait behind
#   QUEUE_MULTIPLE - 1 whole batches, far past any latency objective the plan holds.
# * --max-input-tokens: written as max_model_len - 1, the longest prompt a --max-total-tokens
#   sequence leaves room for, and TGI 3's own default given --max-total-tokens
#   (server/text_generation_server/models/model.py, warmup). Left out, the 2.x launcher read
#   (launcher/src/main.rs) defaults it to min(max_position_embeddings, 4096) - 1: it refuses to
#   start when --max-total-tokens is at or below that ("max_input_tokens must be <
#   max_total_tokens"), and above it refuses longer prompts (HTTP 422) the plan counts as served.
QUEUE_MULTIPLE = 4
# settings an engine is told that follow from planned ones rather than being sized by the plan:
# engine -> setting -> the planned setting it follows from (render writes derived_value of it,
# check reads it back)
DERIVED: dict[str, dict[str, str]] = {
    "tgi": {"max_input_tokens": "max_model_len", "max_concurrent_requests": "max_num_seqs"},
}
# every derived setting, in the order render writes them (after the planned ones)
DERIVED_SETTINGS = tuple(dict.fromkeys(s for e in DERIVED.values() for s in e))
# derived settings where any value above the planned one they follow from serves as planned (a
# deeper or shallower queue), and a value at or below it does not
AT_LEAST_ABOVE = frozenset({"max_concurrent_requests"})
_WHOLE = frozenset(PLANNED) - {"gpu_memory_utilization"} | frozenset(DERIVED_SETTINGS)


def batch_flag(engine: str, sequences: int, pipeline_parallel: int) -> int:
    """The engine's batch flag for a replica planned to run ``sequences`` at once: the count
    itself, or, where the engine bounds each pipeline micro-batch rather than every sequence
    in flight (TensorRT-LLM's --max_batch_size: ``EngineDefaults.seqs_per_micro_batch``), the
    share of one micro-batch, rounded up."""
    d = ENGINE_TABLE.get(engine)
    return sequences if d is None else -(-sequences // d.batch_groups(pipeline_parallel))


def derived_value(setting: str, base: float) -> int:
    """The value render writes for derived ``setting`` from the planned value it follows from
    (``base``): --max-concurrent-requests from the batch, --max-input-tokens from the context."""
    if setting == "max_concurrent_requests":  # TGI's
        default = in_flight_default("tgi")
        assert default is not None
        return max(default, QUEUE_MULTIPLE * int(base))
    if setting == "max_input_tokens":
        return max(1, int(base) - 1)
    raise KeyError(setting)


def prefill_fallback(engine: str, max_model_len: int | None) -> int | None:
    """The step token budget to write where neither the plan nor the spec states one (plans from
    a profile alone): for TGI, what its launcher takes without --max-batch-size, the
    --max-input-tokens written + 50 (launcher/src/main.rs); with --max-batch-size and no
    --max-batch-prefill-tokens it would take max_batch_size x max_input_tokens instead. None for
    the other engines, and for TGI without a context length (then TGI's own defaults apply)."""
    if engine != "tgi" or max_model_len is None:
        return None
    return derived_value("max_input_tokens", max_model_len) + 50


def queues(engine: str, in_flight: float | None, batch: float) -> bool:
    """Whether a server whose in-flight limit is ``in_flight`` (None: the flag left out, the
    engine's default) queues requests past its running batch of ``batch`` instead of refusing
    them: the limit must be above the batch."""
    default = in_flight_default(engine)
    if default is None:
        return True
    limit = in_flight if in_flight is not None else default
    return limit > batch


def in_flight_default(engine: str) -> int | None:
    """The engine's limit on requests in flight where its flag is left out (the engine table's
    ``max_concurrent_requests``: TGI's 128); None: the engine queues whatever it is sent."""
    d = ENGINE_TABLE.get(engine)
    return d.max_concurrent_requests if d is not None else None


# KV-cache precision: each engine's --kv-cache-dtype values by what one element stores ("16-bit":
# the activation dtype, the engines' default; None: the checkpoint decides). Sources: vLLM
# CacheConfig.cache_dtype (v0.11: auto, fp8 = fp8_e4m3, fp8_e5m2, fp8_inc on Gaudi; bfloat16 in
# later releases), SGLang ServerArgs (auto, bf16, bfloat16, fp8_e4m3, fp8_e5m2), TGI
# text-generation-launcher (fp8_e4m3fn, fp8_e5m2; no value for 16-bit: leave the flag out),
# trtllm-serve --kv_cache_dtype (auto, fp8, nvfp4; only in releases from March 2026 on).
_16, _FP8 = "16-bit", "fp8"
KV_VALUES: dict[str, dict[str, str | None]] = {
    "vllm": {
        "auto": _16, "bfloat16": _16, "float16": _16,
        "fp8": _FP8, "fp8_e4m3": _FP8, "fp8_e5m2": _FP8, "fp8_inc": _FP8,
    },
    "sglang": {"auto": _16, "bf16": _16, "bfloat16": _16, "fp8_e4m3": _FP8, "fp8_e5m2": _FP8},
    "tgi": {"fp8_e4m3fn": _FP8, "fp8_e5m2": _FP8},
    "trtllm": {"auto": None, "fp8": _FP8},
}
# the value render writes for an fp8 KV cache (e4m3, vLLM's "fp8"); trtllm-serve gets no flag:
# the releases before March 2026 have none (the checkpoint's kv_cache_quant_algo or the built
# engine decides), and a 16-bit KV cache is every engine's default, so it needs no flag either
KV_WRITTEN: dict[str, str] = {"vllm": "fp8", "sglang": "fp8_e4m3", "tgi": "fp8_e4m3fn"}
_SUFFIX = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")


def parse_number(text: str) -> float | None:
    """'8192' -> 8192, '0.9' -> 0.9, '8k' -> 8000, '8K' -> 8192 (vLLM's size suffixes)."""
    m = _SUFFIX.match(text.strip())
    if not m:
        return None
    x = float(m.group(1))
    mult = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
    return x * mult


@dataclass(frozen=True)
class FlagUse:
    setting: str
    flag: str
    value: str
    index: int  # position of the flag in the argument list


def parse_flags(args: Sequence[str], engines: Sequence[str] = ENGINES) -> dict[str, FlagUse]:
    """setting -> the last use of one of its flags in ``args`` (``--flag v`` or ``--flag=v``)
    for any of ``engines``. Unknown flags and positional words are skipped."""
    lookup: dict[str, str] = {}
    for e in engines:
        for name, flags in FLAGS[e].items():
            for f in flags:
                lookup.setdefault(f, name)
    out: dict[str, FlagUse] = {}
    i = 0
    while i < len(args):
        tok = str(args[i])
        flag, eq, val = tok.partition("=")
        setting = lookup.get(flag) if tok.startswith("-") else None
        if setting is not None:
            if eq:
                out[setting] = FlagUse(setting, flag, val, i)
            elif i + 1 < len(args):
                out[setting] = FlagUse(setting, flag, str(args[i + 1]), i)
                i += 1
            else:
                out[setting] = FlagUse(setting, flag, "", i)
        i += 1
    return out


def bad_value(setting: str, value: str) -> str | None:
    """Why ``value`` cannot be what the engine reads for a planned ``setting`` (the engines
    refuse to start on it); None when it can."""
    x = parse_number(value)
    if x is None:
        return f"{value!r} is not a number"
    if setting in _WHOLE and (x != int(x) or x < 1):
        return f"{value!r} is not a whole number of at least 1"
    if setting == "gpu_memory_utilization" and not 0 < x <= 1:
        return f"{value!r} is not a fraction in (0, 1]"
    return None


def positional_model(engine: str, args: Sequence[str]) -> FlagUse | None:
    """The model ``args`` name positionally after ``engine``'s launcher (``trtllm-serve M``,
    ``trtllm-serve serve M``), with its index; None when the engine takes no positional model,
    the launcher is not in ``args`` or no word follows it."""
    subcommands = POSITIONAL_MODEL.get(engine)
    i = launch_end(engine, args)
    if subcommands is None or i is None:
        return None
    words = [str(a) for a in args]
    if i < len(words) and words[i] in subcommands:
        i += 1
    if i < len(words) and not words[i].startswith("-"):
        return FlagUse("model", "", words[i], i)
    return None


def launch_end(engine: str, args: Sequence[str]) -> int | None:
    """The index just after ``engine``'s launcher in ``args``, found by its last word (a path
    ending in it counts: /usr/local/bin/trtllm-serve; `python -m sglang.launch_server` as well as
    `python3 -m ...`); None when the engine has no launcher or ``args`` do not hold it."""
    launcher = LAUNCHER.get(engine)
    if not launcher:
        return None
    for i, a in enumerate(args):
        if str(a).rsplit("/", 1)[-1] == launcher[-1]:
            return i + 1
    return None


def engine_has(engine: str, setting: str) -> bool:
    """Whether scaleplan knows ``engine``'s flag for ``setting``."""
    return setting in FLAGS[engine]


def model_use(engine: str, args: Sequence[str]) -> FlagUse | None:
    """Where ``args`` name the model the way ``engine`` reads it: its model flag, else the
    positional model after its launcher; None when they do not."""
    return parse_flags(args, (engine,)).get("model") or positional_model(engine, args)


def model_named(engine: str, args: Sequence[str]) -> bool:
    """Whether ``args`` name the model the way ``engine`` reads it (:func:`model_use`)."""
    return model_use(engine, args) is not None


def model_words(engine: str) -> str:
    """How ``engine`` is told its model, for messages: "--model", "a model after trtllm-serve"."""
    flags = FLAGS[engine].get("model")
    return flags[0] if flags else f"a model after {LAUNCHER[engine][-1]}"


def same_value(setting: str, a: str, b: str) -> bool:
    if setting in NUMERIC or setting in DERIVED_SETTINGS:
        x, y = parse_number(a), parse_number(b)
        if x is None or y is None:
            return False
        return math.isclose(x, y, rel_tol=0, abs_tol=1e-6)
    return a == b


@dataclass(frozen=True)
class Conflict:
    setting: str
    index: int
    flag: str
    user_value: str
    planned_flag: str
    planned_value: str


def kv_stored(engine: str, value: str) -> str | None:
    """What a KV-cache dtype value of ``engine`` stores: "16-bit", "fp8", None when the
    checkpoint decides (trtllm-serve's auto), or the value itself when it is none of those
    (vLLM's nvfp4, SGLang's fp4_e2m1: neither is what scaleplan sizes)."""
    table = KV_VALUES.get(engine, {})
    v = value.strip()
    return table.get(v, v)


def kv_text(engine: str, stored: str) -> str:
    """A KV cache of ``stored`` ("fp8", "16-bit") in ``engine``'s words, for messages."""
    flag = FLAGS[engine]["kv_cache_dtype"][0]
    if stored == "fp8":
        written = KV_WRITTEN.get(engine)
        return f"{flag} {written}" if written else "an fp8 KV cache"
    return f"a 16-bit KV cache (no {flag})"


def kv_flag_conflict(engine: str, stored: str, args: Sequence[str]) -> Conflict | None:
    """A KV-cache dtype flag of ``engine`` in ``args`` that stores another precision than
    ``stored`` ("fp8", "16-bit"); None when there is none or it agrees."""
    use = parse_flags(args, (engine,)).get("kv_cache_dtype")
    if use is None:
        return None
    got = kv_stored(engine, use.value)
    if got is None or got == stored:
        return None
    flag = FLAGS[engine]["kv_cache_dtype"][0]
    want = KV_WRITTEN.get(engine, "fp8") if stored == "fp8" else "(none)"
    return Conflict("kv_cache_dtype", use.index, use.flag, use.value, flag, want)


_DOCKER_HUB = ("docker.io/library/", "docker.io/", "index.docker.io/", "registry-1.docker.io/")


def image_repository(image: str) -> str:
    """The repository of an image reference, without tag, digest or Docker Hub's host:
    'docker.io/vllm/vllm-openai:v0.11.0' -> 'vllm/vllm-openai'."""
    ref = image.strip().lower().split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    last = last.split(":", 1)[0]
    repo = f"{head}/{last}" if head else last
    for prefix in _DOCKER_HUB:
        if repo.startswith(prefix):
            return repo[len(prefix):]
    return repo


def image_engine(image: str) -> str | None:
    """The engine whose server ``image`` ships (:data:`IMAGES`), None for any other image."""
    repo = image_repository(image)
    return next((e for e, repos in IMAGES.items() if repo in repos), None)


def args_engine(argv: Sequence[str]) -> str | None:
    """The engine a container's command and args start: its launcher words
    (``python3 -m sglang.launch_server``, ``trtllm-serve``, ``vllm serve``,
    ``text-generation-launcher``), else the one engine whose own flags they use; None when they
    name none or several."""
    words = [str(w) for w in argv]
    for i, w in enumerate(words):
        base = w.rsplit("/", 1)[-1]
        if base.startswith(LAUNCHER["sglang"][-1]):
            return "sglang"
        if base == LAUNCHER["trtllm"][-1]:
            return "trtllm"
        if base == "text-generation-launcher":
            return "tgi"
        if base == "vllm" and i + 1 < len(words) and words[i + 1] == "serve":
            return "vllm"
    own = {_ONE_ENGINE[f] for w in words if (f := w.split("=", 1)[0]) in _ONE_ENGINE}
    return own.pop() if len(own) == 1 else None


def _flag_owners() -> dict[str, str]:
    """Each flag only one engine takes, and that engine (:func:`args_engine`)."""
    owners: dict[str, set[str]] = {}
    for e in ENGINES:
        for f in {f for fl in FLAGS[e].values() for f in fl}:
            owners.setdefault(f, set()).add(e)
    return {f: next(iter(es)) for f, es in owners.items() if len(es) == 1}


_ONE_ENGINE = _flag_owners()


def image_mismatch(engine: str, image: str) -> str | None:
    """Why ``image`` cannot run ``engine``'s server, or None when it is that engine's image or
    an image scaleplan does not know."""
    other = image_engine(image)
    if other is None or other == engine:
        return None
    return (
        f"{image} is the {other} image ({_ENTRYPOINT[other]}), so a {engine} server cannot start "
        f"in it: every pod would crash-loop"
    )


def engine_image(engine: str) -> str:
    """The image repository to name in a fix for ``engine`` ('lmsysorg/sglang:<version>')."""
    return f"{IMAGES[engine][0]}:<version>"
