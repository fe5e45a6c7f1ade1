"""The LLM performance and memory room (docs/llm.md): one place for the arithmetic.

Public API:

* :func:`~scaleplan.llm.arch.load_architecture`, :func:`~scaleplan.llm.arch.preset`,
  :func:`~scaleplan.llm.arch.from_hf_config`, :class:`~scaleplan.llm.arch.Architecture`;
* :func:`~scaleplan.llm.memory.kv_bytes_per_token`, :func:`~scaleplan.llm.memory.weight_bytes`,
  :func:`~scaleplan.llm.memory.memory_plan` (KV capacity in tokens and blocks, refusals);
* :func:`~scaleplan.llm.perf.step_time_ms` (one engine step: for the simulator),
  :func:`~scaleplan.llm.perf.serve_class` (TTFT / TPOT / throughput per class);
* :func:`~scaleplan.llm.serving.setup`, :func:`~scaleplan.llm.serving.size`,
  :func:`~scaleplan.llm.serving.best_concurrency` (what the optimizer plans on);
* :func:`~scaleplan.llm.cobatch.cobatched` (classes that share one replica's batch, each at
  the batch's step: per-class SLOs);
* :func:`~scaleplan.llm.seqbound.alone_bound`, :func:`~scaleplan.llm.seqbound.cobatched_bound`
  (what binds a replica's ``max_num_seqs``: the class and limit one more sequence breaks);
* :func:`~scaleplan.llm.closed_loop.closed_loop` and :func:`~scaleplan.llm.burst.burst`
  (benchmarks replayed through the engine's scheduler: N clients in a closed loop, N requests
  sent at once);
* :func:`~scaleplan.llm.estimate.llm_profile` (``scaleplan profile llm``) and
  :func:`~scaleplan.llm.calibrate.calibrate` (fit efficiency scales to measured points).
"""

from typing import TYPE_CHECKING

# The names below load with their module on first use (PEP 562): the spec checks and the
# renderer need only engine_flags and memory.kv_precision, and importing the package for them
# loaded perf and serving too, ~10 ms of every optimize, render and check (issue 20).
_NAMES = {
    "arch": ["Architecture", "from_hf_config", "load_architecture", "preset", "preset_names"],
    "memory": [
        "EngineSettings", "MemoryPlan", "Refusal", "kv_bytes_per_token", "memory_plan",
        "weight_bytes",
    ],
    "perf": ["Calibration", "ClassPerf", "Deployment", "StepTime", "serve_class", "step_time_ms"],
    "serving": [
        "LlmSetup", "Shape", "TokenClass", "best_concurrency", "setup", "setup_from_spec", "size",
    ],
}
_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}

if TYPE_CHECKING:
    from scaleplan.llm.arch import (
        Architecture,
        from_hf_config,
        load_architecture,
        preset,
        preset_names,
    )
    from scaleplan.llm.memory import (
        EngineSettings,
        MemoryPlan,
        Refusal,
        kv_bytes_per_token,
        memory_plan,
        weight_bytes,
    )
    from scaleplan.llm.perf import (
        Calibration,
        ClassPerf,
        Deployment,
        StepTime,
        serve_class,
        step_time_ms,
    )
    from scaleplan.llm.serving import (
        LlmSetup,
        Shape,
        TokenClass,
        best_concurrency,
        setup,
        setup_from_spec,
        size,
    )


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Architecture",
    "Calibration",
    "ClassPerf",
    "Deployment",
    "EngineSettings",
    "LlmSetup",
    "MemoryPlan",
    "Refusal",
    "Shape",
    "StepTime",
    "TokenClass",
    "best_concurrency",
    "from_hf_config",
    "kv_bytes_per_token",
    "load_architecture",
    "memory_plan",
    "preset",
    "preset_names",
    "serve_class",
    "setup",
    "setup_from_spec",
    "size",
    "step_time_ms",
    "weight_bytes",
]
