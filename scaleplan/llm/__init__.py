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
* :func:`~scaleplan.llm.closed_loop.closed_loop` and :func:`~scaleplan.llm.burst.burst`
  (benchmarks replayed through the engine's scheduler: N clients in a closed loop, N requests
  sent at once);
* :func:`~scaleplan.llm.estimate.estimate_profile` (``scaleplan profile llm``) and
  :func:`~scaleplan.llm.calibrate.calibrate` (fit efficiency scales to measured points).
"""

from scaleplan.llm.arch import Architecture, from_hf_config, load_architecture, preset, preset_names
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
