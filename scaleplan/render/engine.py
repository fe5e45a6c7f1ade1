"""Serving-engine flags per allocation (docs/render.md, "LLM serving engines").

Pure functions shared by ``render`` (which writes the flags) and ``check`` (which reads them
back out of manifests):

* :func:`server_settings`: what one allocation's server must be told: tensor / pipeline
  parallelism, the concurrency and context length the plan assumed, the memory fraction. From
  the plan's ``llm`` section when it has one; otherwise (plans from a profile alone) tensor
  parallel = ``gpus_per_replica``, concurrency = the operating point's batch size, and the rest
  from ``model.engine_config`` where the spec states it.
* :data:`FLAGS`: each engine's spelling of each setting (first = the one render writes; the
  others are accepted aliases).
* :data:`METRICS`: each engine's Prometheus metric names (render's monitoring and ``observe``
  query them);
* :func:`parse_flags` / :func:`merge_args`: the user's ``kubernetes.args`` merged with the
  planned flags; a user flag that contradicts the plan is a :class:`Conflict` (render: exit 3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from scaleplan.plan import Allocation, Plan

__all__ = [
    "ENGINES",
    "FLAGS",
    "HTTP_METRICS",
    "METRICS",
    "TP_FLAGS",
    "Conflict",
    "EngineMetrics",
    "ServerSettings",
    "engine_flags",
    "merge_args",
    "metrics_of",
    "parse_flags",
    "parse_number",
    "server_settings",
]

ENGINES = ("vllm", "sglang", "tgi", "trtllm")


@dataclass(frozen=True)
class EngineMetrics:
    """An engine's own Prometheus metric names (sources in :mod:`scaleplan.observe.queries`)."""

    requests: str  # counter of completed requests
    latency: str  # end-to-end latency histogram (seconds), without _bucket
    ttft: str | None = None
    tpot: str | None = None
    running: str | None = None
    waiting: str | None = None
    kv_cache: str | None = None


# any other server: the names of prometheus-fastapi-instrumentator and most HTTP middleware
HTTP_METRICS = EngineMetrics(requests="http_requests_total", latency="http_request_duration_seconds")
METRICS: dict[str, EngineMetrics] = {
    "vllm": EngineMetrics("vllm:request_success_total", "vllm:e2e_request_latency_seconds", "vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds", "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"),
    "sglang": EngineMetrics("sglang:num_requests_total", "sglang:e2e_request_latency_seconds", "sglang:time_to_first_token_seconds", "sglang:inter_token_latency_seconds", "sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage"),
    "tgi": EngineMetrics("tgi_request_count", "tgi_request_duration", None, "tgi_request_mean_time_per_token_duration", "tgi_batch_current_size", "tgi_queue_size", None),
}


def metrics_of(engine: str | None) -> EngineMetrics:
    """The engine's metric names; the generic HTTP ones for any other server (or none)."""
    return METRICS.get(engine or "", HTTP_METRICS)

# setting -> flag spellings per engine (first = written). Sources: vLLM `vllm serve --help`
# (EngineArgs), SGLang `python -m sglang.launch_server --help` (ServerArgs), TGI
# `text-generation-launcher --help`, TensorRT-LLM `trtllm-serve serve --help`.
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
    },
    "tgi": {
        "tensor_parallel": ("--num-shard",),
        "max_num_seqs": ("--max-concurrent-requests",),
        "max_model_len": ("--max-total-tokens",),
        "gpu_memory_utilization": ("--cuda-memory-fraction",),
        "max_num_batched_tokens": ("--max-batch-prefill-tokens",),
        "port": ("--port",),
        "model": ("--model-id",),
        "revision": ("--revision",),
    },
    "trtllm": {
        "tensor_parallel": ("--tp_size",),
        "pipeline_parallel": ("--pp_size",),
        "max_num_seqs": ("--max_batch_size",),
        "max_model_len": ("--max_seq_len",),
        "max_num_batched_tokens": ("--max_num_tokens",),
        "host": ("--host",),
        "port": ("--port",),
    },
}
# every spelling of a tensor-parallel / shard flag, any engine (check reads unlabelled manifests)
TP_FLAGS: frozenset[str] = frozenset(f for e in FLAGS.values() for f in e["tensor_parallel"])
PP_FLAGS: frozenset[str] = frozenset(f for e in FLAGS.values() for f in e.get("pipeline_parallel", ()))
NUMERIC = ("tensor_parallel", "pipeline_parallel", "max_num_seqs", "max_model_len", "gpu_memory_utilization", "block_size", "max_num_batched_tokens", "port")
ORDER = ("model", "revision", "host", "port", *NUMERIC[:-1])
_SUFFIX = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")


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

    def value(self, setting: str) -> float | None:
        v = getattr(self, setting, None)
        return None if v is None else float(v)


def server_settings(plan: Plan, a: Allocation) -> ServerSettings | None:
    """The planned server settings of allocation ``a``; None without ``model.engine``."""
    engine = plan.spec.model.engine
    if engine is None:
        return None
    if a.llm is not None:
        s = a.llm
        return ServerSettings(engine, s.tensor_parallel, s.pipeline_parallel, s.max_num_seqs, s.max_model_len, s.gpu_memory_utilization, s.block_size, s.max_num_batched_tokens)
    ec = plan.spec.model.engine_config
    pp = (ec.pipeline_parallel if ec else None) or 1
    gpus = max(1, a.gpus_per_replica)
    tp = max(1, gpus // pp) if gpus % pp == 0 else gpus
    if gpus % pp:
        pp = 1
    seqs = (ec.max_num_seqs if ec else None) or a.operating_point.batch_size
    return ServerSettings(
        engine,
        tp,
        pp,
        seqs,
        ec.max_model_len if ec else None,
        ec.gpu_memory_utilization if ec else None,
        ec.block_size if ec else None,
        ec.max_num_batched_tokens if ec else None,
        from_plan=False,
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
        elif setting == "pipeline_parallel" and s.pipeline_parallel == 1:
            v = None  # the engines' default; keeps single-stage args short
        else:
            x = s.value(setting)
            v = None if x is None else value_text(setting, x)
        if v is not None:
            out.append((setting, flags[0], v))
    return out


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


def same_value(setting: str, a: str, b: str) -> bool:
    if setting in NUMERIC:
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


def merge_args(user: Sequence[str], planned: Sequence[tuple[str, str, str]], engine: str) -> tuple[list[str], list[Conflict]]:
    """The user's args followed by every planned flag the user did not already give with the
    same value; a user flag with another value is a conflict."""
    given = parse_flags(user, (engine,))
    out = list(user)
    conflicts: list[Conflict] = []
    for setting, flag, value in planned:
        use = given.get(setting)
        if use is None:
            out += [flag, value]
        elif not same_value(setting, use.value, value):
            conflicts.append(Conflict(setting, use.index, use.flag, use.value, flag, value))
    return out, conflicts
