"""Agreement of the LLM simulator with public serving measurements (docs/simulate.md).

Among the rows of ``shared/data/llm/llm_serving_measurements.csv`` that give several request
rates or concurrencies for one model, engine, GPU, parallel layout, precision and token lengths
(a *group*), calibrate on the lowest-load row (``--calibration-row``: or a middle one) and
simulate the others at their rate or concurrency; compare the simulated TTFT and TPOT with the
measured ones (the same statistic: median where the source gives it, else mean, else the
source's unstated statistic against the simulated median). Every row of every group is listed,
none dropped: rows the LLM model cannot represent are listed with the reason. Also the vLLM
result files in ``shared/data/formats``.

    python bench/llm_sim_validation.py [--data DIR] [--jobs 2] [--markdown out.md] [--limit N]
        [--source ID] [--rows 1153,1189] [--calibration-row lowest|median|upper-median]

The replay follows each source's benchmark client (docs/simulate.md, "LLM validation against
measurements"). aiconfigurator rows measured by InferenceX (their ``silicon_data_source`` names
an InferenceX results file or database dump) ran ``benchmark_serving.py`` with
``--dataset-name random --random-range-ratio 0.8 --num-prompts 10*C --max-concurrency C
--request-rate inf --ignore-eos``: each request's prompt and completion lengths are drawn
uniformly from [int(0.8 L), L], all 10 C requests are queued at once behind a C-slot semaphore
(a closed loop that starts C at t = 0), and the reported TTFT and TPOT are means, TPOT
excluding the first token, (latency - TTFT) / (output tokens - 1). ShareGPT rows draw each
request's (prompt, completion) pair from a stored vLLM benchmark run on ShareGPT, scaled to the
row's means. Other closed-loop rows run the stated request count, else ``4 x concurrency`` (at
least 32), at the rows' (mean) lengths; Poisson rows the stated count (500 when unstated).

The replica runs the engine's scheduler (``scaleplan.llm.closed_loop.SCHEDULER``: SGLang's
prefill steps carry no decodes, TensorRT-LLM prefills prompts whole) and, for InferenceX's SGLang
rows, the launch scripts' flags (``server_flags``: chunked-prefill size, max running requests,
scheduler receive interval); TensorRT-LLM (and NIM) replicas admit a request only when the KV
cache holds its prompt and whole completion (GUARANTEED_NO_EVICT,
``EngineSettings.reserves_completion``). Where a row states no flag, the server runs the
defaults its engine picks on the row's GPU (vLLM's API server: max_num_seqs 1024 and an
8,192-token budget on 70 GiB and more, not an A100, else 256 / 2,048; SGLang's chunked-prefill
size by GPU memory: :func:`vllm_server_batch_defaults`,
:func:`sglang_chunked_prefill_default`). gpt-oss rows that aiconfigurator labels NVFP4 on Hopper
(no FP4 tensor cores) replay the model's own MXFP4 checkpoint. The summary's
``ceiling`` is what any model could meet on these rows (:func:`ceiling`).

Calibration (on the group's lowest-load row only): the TPOT is fitted by the LLM model's
per-step overhead scale (the fixed cost of a scheduler step: launches, sampling, the CPU side;
memory efficiency moves only when no overhead is left and compute is not slowed: a TPOT below
what the steps take with no overhead first undoes a compute slowdown the TTFT fit made, since a
closed loop's TPOT holds its prefill steps), the TTFT by its compute efficiency
scale within the model's physical range, and what TTFT the slowest physical compute still leaves
unexplained (or what slowing compute below half the tables' efficiency would) by a front-end
latency per request (HTTP, tokenization, the scheduler's receive
loop; ``llm_engine.run(frontend_s=...)``), all on the simulated row (at most 12 iterations,
1 % tolerance); nothing else is tuned (the compute floor, ``MIN_COMPUTE_SCALE``, was chosen
on the training third of the rows).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from scaleplan.llm.closed_loop import SCHEDULER

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODES = ("online_poisson_qps", "online_fixed_concurrency", "online_fixed_concurrency (aggregated serving)", "online_burst_all_at_once")
TOL = 0.20
# aiconfigurator rows whose silicon_data_source is an InferenceX results file or database dump
INFERENCEX = re.compile(r"silicon_data_source: (source_file=\d{4}-\d\d-\d\d\.csv|db-dump/)")
INFERENCEX_RANGE_RATIO = 0.8  # benchmark_lib.sh / sa-bench --random-range-ratio
INFERENCEX_PROMPTS_PER_SLOT = 10  # --num-prompts $((CONC * 10))
# ShareGPT lengths as vLLM's benchmark samples them: a stored run's 200 requests
SHAREGPT_RUN = "vllm_benchmark_serving_llama33_70b_tp8_qps16.json"
# a one-row calibration may slow the tables' prefill (compute) efficiency to this share at
# most; what a slow TTFT leaves beyond it is front-end latency per request. Without the bound a
# slow low-load TTFT drove compute to the 10 % physical floor (Llama-3.1-70B TensorRT-LLM on
# 4 x B200: x0.105), and the slow compute then made every larger batch's decode step slow too
# (TPOT +90 % at 16x the load). Chosen on the training third (sha256 of the row id mod 3 != 0,
# as bench/llm_validation.py splits): 0.3 / 0.5 / 0.7 / 1.0 (front end only) / none gave 231 /
# 246 / 247 / 215 / 224 of 581 rows within +-20 % on both; the held-out third 112 / 119 / 119 /
# 104 / 104 of 290 (docs/simulate.md)
MIN_COMPUTE_SCALE = 0.5
FIT_ITERATIONS = 12
FIT_TOLERANCE = 0.01
MIN_OVERHEAD_SCALE = 0.02
CALIBRATION_ROWS = ("lowest", "median", "upper-median")  # calibration_index
STEADY = "steady state"  # Row.client of a group replayed in its steady state (lockstep_too_slow)
# The fit's step-overhead scale moves the step's fixed cost only: the per-sequence host time
# stays at the tables' (Calibration.per_sequence = 1). One row at a few sequences cannot tell
# the two apart; with both on one scale a slow low-load TPOT (x4.76 and more) multiplied the
# host time of every sequence of a 128-256 sequence batch too, so the overhead had been bounded
# at x4.76 (the product calibration's grid top) and the rest of such a TPOT given to memory
# efficiency, which scales with the batch and is clamped at 55 % of HBM bandwidth (the fit's
# memory x0.01-0.6 then left those calibration rows 25-41 % under their TPOT). Since
# 2026-12-07 (fourteenth round, docs/simulate.md) the fixed cost is unbounded.
GPU = {"H100": "H100", "H200": "H200", "B200": "B200", "B300": "B300", "L40S": "L40S", "A10G": "A10G"}

# vLLM V1's OpenAI API server picks its batch defaults by GPU (vllm/engine/arg_utils.py,
# EngineArgs._set_default_args / get_batch_defaults, since PR #17885, v0.9): on a GPU with at
# least 70 GiB that is not an A100 (H100, H200, B200), max_num_seqs 1024 and an 8,192-token
# step budget; elsewhere (A100, L40S, A10G) 256 and 2,048. ENGINES["vllm"] keeps 256 / 8,192
# (scaleplan's plans render the values they size with, so the model never needs these): the
# replay gives these to a row that ran on the defaults
VLLM_LARGE_GPU_GIB = 70.0


def vllm_server_batch_defaults(device_memory_gib: float, device_name: str) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) a vLLM V1 OpenAI server starts with on a GPU of
    ``device_memory_gib`` (the driver's total) named ``device_name``."""
    if device_memory_gib >= VLLM_LARGE_GPU_GIB and "a100" not in device_name.lower():
        return 1024, 8192
    return 256, 2048


# SGLang's --chunked-prefill-size when left out follows the GPU's memory (python/sglang/srt/
# server_args.py, ServerArgs._handle_gpu_memory_settings): below 35 GiB 2,048 tokens, below 160
# GiB (A100, H100, H200) 8,192, else (B200, B300) 16,384. ENGINES["sglang"] keeps 8,192
SGLANG_PREFILL_TIERS = ((35.0, 2048), (160.0, 8192))
SGLANG_LARGE_GPU_PREFILL = 16384


def sglang_chunked_prefill_default(device_memory_gib: float) -> int:
    """The prefill tokens per step an SGLang server starts with on a GPU of
    ``device_memory_gib`` (the driver's total)."""
    for below, size in SGLANG_PREFILL_TIERS:
        if device_memory_gib < below:
            return size
    return SGLANG_LARGE_GPU_PREFILL


@dataclass(frozen=True)
class Row:
    row_id: str
    source: str
    mode: str
    model: str
    engine: str
    gpu: str
    gpu_family: str
    tp: int
    pp: int
    dp: int
    ep: int
    dtype: str
    kv_dtype: str
    isl: float
    osl: float
    rate: float | None  # req/s; inf = all at once; None = closed loop
    concurrency: int | None
    num_requests: int | None
    ttft: float | None
    ttft_stat: str
    tpot: float | None
    tpot_stat: str
    key: tuple[str, ...]
    range_ratio: float = 1.0  # prompt/completion lengths uniform in [int(L * ratio), L]; 1: fixed
    client: str = ""  # the benchmark client the replay follows ("" = fixed lengths, defaults)
    # (prompt, completion) lengths the client samples from, scaled to the row's means (ShareGPT)
    sample: tuple[tuple[int, int], ...] = ()
    recorded_tp: int = 0  # the recorded tp_size where inferencex_layout corrected it, else 0


def _f(x: str) -> float | None:
    try:
        v = float(x)
    except ValueError:
        return None
    return v


def _stat(r: dict[str, str], metric: str) -> tuple[float | None, str]:
    for col, stat in ((f"{metric}_ms_p50", "median"), (f"{metric}_ms_mean", "mean"), (f"{metric}_ms_unspecified_stat", "unstated")):
        v = _f(r.get(col, ""))
        if v is not None and v > 0:
            return v, stat
    if metric == "tpot":
        for col, stat in (("itl_ms_p50", "median"), ("itl_ms_mean", "mean")):
            v = _f(r.get(col, ""))
            if v is not None and v > 0:
                return v, f"{stat} ITL"
    return None, ""


def sharegpt_sample(data: Path) -> tuple[tuple[int, int], ...]:
    """Per-request (prompt, completion) lengths of a stored vLLM benchmark run on ShareGPT
    (formats/README.md: 200 prompts, vLLM's sampling and length filter)."""
    path = data / "formats" / SHAREGPT_RUN
    if not path.exists():
        return ()  # ShareGPT rows then run at their mean lengths
    d = json.loads(path.read_text())
    return tuple((int(i), int(o)) for i, o in zip(d["input_lens"], d["output_lens"], strict=True))


def read_rows(data: Path) -> list[Row]:
    rows: list[Row] = []
    sharegpt = sharegpt_sample(data)
    with open(data / "llm" / "llm_serving_measurements.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["benchmark_mode"] not in MODES:
                continue
            ttft, ts = _stat(r, "ttft")
            tpot, ps = _stat(r, "tpot")
            rate = _f(r["request_rate"]) if r["request_rate"] else None
            conc = int(float(r["concurrency"])) if r["concurrency"] else None
            if r["benchmark_mode"] == "online_burst_all_at_once":
                rate = math.inf
            if conc is not None:
                rate = None
            ratio, client = 1.0, ""
            if r["source_id"] == "aiconfigurator_silicon_sample" and INFERENCEX.search(r["notes"]):
                # InferenceX's client reports means (aisimulate reads silicon_*_ms from
                # InferenceX's mean_ttft / mean_tpot)
                ratio, client = INFERENCEX_RANGE_RATIO, "inferencex"
                ts = ps = "mean"
            sample = sharegpt if "sharegpt" in r["dataset"].lower() else ()
            if sample:
                client = "sharegpt"
            tp, dp = int(r["tp"] or 1), int(r["dp"] or 1)
            if client == "inferencex":
                tp, dp = inferencex_layout(r["parallel_notes"], tp, dp)
            key = tuple(r[k] for k in ("source_id", "model", "engine", "engine_version", "gpu", "tp", "pp", "dp", "ep", "dtype", "kv_cache_dtype", "dataset", "input_tokens", "output_tokens", "benchmark_mode", "speculative_decoding"))
            rows.append(Row(
                r["row_id"], r["source_id"], r["benchmark_mode"], r["model"], r["engine"], r["gpu"], r["gpu_family"],
                tp, int(r["pp"] or 1), dp, int(r["ep"] or 1), r["dtype"], r["kv_cache_dtype"],
                float(r["input_tokens"]), float(r["output_tokens"]), rate, conc, int(float(r["num_requests"])) if r["num_requests"] else None,
                ttft, ts, tpot, ps, key, ratio, client, sample,
                int(r["tp"] or 1) if tp != int(r["tp"] or 1) else 0,
            ))
    return rows


def inferencex_layout(notes: str, tp: int, dp: int) -> tuple[int, int]:
    """The (tensor parallel, attention data parallel) degrees an InferenceX-measured
    aiconfigurator row ran with, from its ``parallel_notes``.

    Some of these rows record InferenceX's ``--tp T --ep E`` run as ``tp_size = T x E``
    (times the attention DP) with ``moe_tp_size = T, moe_ep_size = E``: aiconfigurator's own
    row ids name the run, e.g. ``..._c128_tp8_ep8_1039`` for ``tp_size=64, moe_tp_size=8,
    moe_ep_size=8`` (row 1246), and its TTFT and TPOT equal those of the same run recorded as
    ``tp_size=8, moe_tp_size=1, moe_ep_size=8`` (row 1219 = 1684, 1205 = 1228: identical to the
    microsecond). In an ``--ep E`` run every GPU of the TP group holds 1/E of the experts (MoE
    TP 1), so the run used T GPUs on one node, not T x E across nodes. Every one of the 108
    rows with this pattern whose id names its layout names ``tpT_epE`` with T = moe_tp_size;
    none of the 738 other rows whose id names a layout contradicts its record.
    Rows without the pattern keep their layout."""
    fields = dict(x.split("=", 1) for x in notes.split(", ") if "=" in x)
    try:
        mt, me = int(fields.get("moe_tp_size") or 0), int(fields.get("moe_ep_size") or 0)
    except ValueError:
        return tp, dp
    if mt > 1 and me > 1 and mt * me == tp * max(dp, 1):
        return (mt, 1) if dp <= 1 else (1, mt)
    return tp, dp


def vllm_rows(data: Path) -> list[Row]:
    """The vLLM result files: one model/engine each, hardware not always stated."""
    out: list[Row] = []
    for p in sorted((data / "formats").glob("vllm_*.json")):
        d = json.loads(p.read_text())
        if not d.get("completed"):
            out.append(Row(p.name, "formats", "vllm result", d.get("model_id", ""), "vLLM", "not stated", "", 1, 1, 1, 1, "", "", 0, 0, None, None, None, None, "", None, "", (p.name,)))
            continue
        n = int(d["completed"])
        isl = d["total_input_tokens"] / n
        osl = d["total_output_tokens"] / n
        rate = float(d["request_rate"]) if d.get("request_rate") not in (None, "inf") else math.inf
        conc = d.get("max_concurrency")
        gpu = "A100" if "llama33_70b" in p.name else "not stated"
        key = ("formats", d.get("model_id", ""), str(d.get("backend")), gpu, str(rate), str(conc))
        out.append(Row(
            p.name, "formats", "vllm result", d.get("model_id", ""), "vLLM", gpu, gpu, 8 if "tp8" in p.name else 1, 1, 1, 1, "bf16", "",
            isl, osl, None if conc else rate, int(conc) if conc else None, n,
            float(d["median_ttft_ms"]), "median", float(d["median_tpot_ms"]), "median", key,
        ))
    return out


def groups(rows: list[Row]) -> dict[tuple[str, ...], list[Row]]:
    g: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for r in rows:
        g[r.key].append(r)
    out = {}
    for k, rs in g.items():
        loads = {(r.rate, r.concurrency, r.num_requests) for r in rs}
        if len(rs) >= 2 and len(loads) >= 2:
            out[k] = sorted(rs, key=_load)
    return out


def _load(r: Row) -> tuple[float, float]:
    if r.concurrency is not None:
        return (float(r.concurrency), float(r.num_requests or 0))
    return (r.rate if r.rate is not None else math.inf, float(r.num_requests or 0))


# ---------------------------------------------------------------- model mapping


def _dtype(r: Row, native: str) -> str:
    s = r.dtype.lower()
    for k in ("nvfp4", "mxfp4", "int4-awq", "awq", "fp8", "int8", "bf16", "fp16"):
        if k in s:
            return {"awq": "int4-awq"}.get(k, k)
    if s.startswith("fp4"):
        return "nvfp4"
    return native


def _engine(e: str) -> str | None:
    e = e.lower()
    if e.startswith("vllm"):
        return "vllm"
    if e.startswith("sglang"):
        return "sglang"
    if e.startswith("tensorrt") or "nim" in e:
        return "trtllm"
    return None


def deployment(r: Row) -> tuple[Any, int, int, int, str]:
    """(Deployment, kv tokens, max_num_seqs, budget, note) or raises ValueError(why not)."""
    from scaleplan.catalog.files import load_accelerators
    from scaleplan.llm.arch import resolve_preset
    from scaleplan.llm.serving import TokenClass, setup, size

    if r.dp > 1:
        raise ValueError(f"attention data parallel x{r.dp} is not modelled")
    name = resolve_preset(r.model.split(" (")[0])
    if name is None:
        raise ValueError(f"no architecture preset for {r.model}")
    fam = r.gpu_family or r.gpu
    acc_name = "A100-80GB" if fam == "A100" and "80" in r.gpu else ("A100" if fam == "A100" else GPU.get(fam))
    accs = {a.name: a for a in load_accelerators()}
    if acc_name is None or acc_name not in accs:
        raise ValueError(f"GPU {r.gpu} is not in the accelerator table")
    eng = _engine(r.engine)
    if eng is None:
        raise ValueError(f"engine {r.engine} is not modelled")
    from scaleplan.llm.arch import preset

    arch = preset(name)
    acc = accs[acc_name]
    dt = _dtype(r, arch.native_dtype)
    if dt == "nvfp4" and arch.native_dtype == "mxfp4" and not _has_fp4(acc):
        # aiconfigurator labels gpt-oss "nvfp4" on every GPU, Hopper included, where NVFP4
        # cannot run: the run served the model's own MXFP4 checkpoint (weight-only on Hopper)
        dt = "mxfp4"
    flags = server_flags(r)
    seqs = budget = None
    if eng == "vllm":
        # the API server's defaults on the row's GPU (the rows set neither flag)
        seqs, budget = vllm_server_batch_defaults(acc.cuda_memory_gib or acc.memory_gib, acc.name)
    elif eng == "sglang" and flags.budget is None:
        budget = sglang_chunked_prefill_default(acc.cuda_memory_gib or acc.memory_gib)
    # TensorRT-LLM's KV precision is the checkpoint's kv_cache_quant_algo (KvCacheConfig dtype
    # "auto"; docs/render.md): NVIDIA's FP8 and NVFP4 checkpoints store an FP8 KV cache, as
    # bench/llm_validation.py assumes for the same rows
    trt_fp8 = eng == "trtllm" and dt in ("fp8", "nvfp4")
    kv = "fp8" if ("fp8" in r.kv_dtype.lower() or trt_fp8) else flags.kv_dtype
    gpus = r.tp * r.pp * max(r.ep // max(r.tp, 1), 1) if r.ep > r.tp else r.tp * r.pp
    s = setup(name, dtype=dt, kv_cache_dtype=kv, engine=eng, pipeline_parallel=r.pp if r.pp > 1 else None,
              gpu_memory_utilization=flags.memory, max_num_seqs=seqs, max_num_batched_tokens=budget,
              max_model_len=min(int(r.isl + r.osl) + 64, arch.max_position_embeddings or 10**7))
    try:
        sh = size(s, acc, gpus, [TokenClass("c", max(int(r.isl), 1), max(int(r.osl), 1))])
    except Exception as exc:  # Refusal: the model says it cannot run
        raise ValueError(f"the LLM model refuses it: {exc}") from None
    return sh.deployment, sh.memory.kv_cache_tokens, s.settings.max_num_seqs, s.settings.max_num_batched_tokens, f"{name} {dt} {eng} {acc_name} x{gpus}"


def _has_fp4(acc: Any) -> bool:
    """Whether the accelerator has FP4 tensor cores (the LLM model's hardware facts)."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware

    hw = hardware(acc)
    if hw is None:
        return False
    try:
        hw.compute_peak_tflops("nvfp4")
    except UnsupportedDtype:
        return False
    return True


# ---------------------------------------------------------------- simulation


def lengths(rng: np.random.Generator, nominal: float, n: int, ratio: float) -> np.ndarray:
    """``n`` token lengths as vLLM's ``benchmark_serving.py`` random dataset draws them: uniform
    integers in [int(L * ratio), L] (``--random-range-ratio``); all ``L`` when the ratio is 1."""
    top = max(round(nominal), 1)
    if ratio >= 1.0:
        return np.full(n, top, dtype=np.int64)
    return rng.integers(max(int(top * ratio), 1), top + 1, size=n, dtype=np.int64)


def sampled_lengths(
    rng: np.random.Generator, sample: tuple[tuple[int, int], ...], n: int, isl: float, osl: float
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (prompt, completion) pairs drawn from a dataset's sample, scaled to the row's mean
    lengths (the row's run drew its own requests from the same dataset)."""
    pairs = np.array(sample, dtype=np.float64)
    pick = pairs[rng.integers(0, len(pairs), size=n)]
    scale = np.array([isl, osl]) / pairs.mean(axis=0)
    x = np.maximum(np.rint(pick * scale), 1).astype(np.int64)
    return x[:, 0], x[:, 1]


@dataclass(frozen=True)
class Flags:
    """Server flags a run set where they differ from the LLM model's engine defaults."""

    budget: int | None = None  # prefill tokens per step (SGLang --chunked-prefill-size)
    recv_interval: int = 1  # SGLang --scheduler-recv-interval
    kv_dtype: str | None = None  # SGLang --kv-cache-dtype (None: the row's, else the default)
    memory: float | None = None  # SGLang --mem-fraction-static
    # TensorRT-LLM batch_wait_timeout_iters and batch_wait_max_tokens_ratio (delayed context
    # batching); bench/llm_validation.py models the first (perf.held_back_ms), the simulator's
    # kernel replays both (ReplicaConfig.batch_wait, scaleplan.simulate.llm_wait)
    batch_wait_iters: int = 0
    batch_wait_ratio: float = 0.0


def server_flags(r: Row) -> Flags:
    """The flags of InferenceX's SGLang DeepSeek-R1 launch scripts (SemiAnalysisAI/InferenceX,
    ``benchmarks/``; docs/simulate.md) for the rows they ran; other rows run the defaults.
    ``dsr1_fp4_b200.sh``: --chunked-prefill-size 16384, --scheduler-recv-interval 10 below
    concurrency 16 and 30 from it; ``dsr1_fp8_b200.sh``: TP 8 32768 and 10 / 30, TP 4 8192 and
    10; ``dsr1_fp8_h200.sh``: 32768, no receive interval; all on B200 also an FP8 KV cache and
    --mem-fraction-static 0.85 / 0.82 / 0.95 (H200 0.82). ``single_node/dsr1_fp*_b300.sh`` reuse
    the B200 recipes as-is (their own note). Their --max-running-requests is the sweep's largest
    concurrency (the scripts say so), so it never binds and is not replayed. The same
    DeepSeek-V3 architecture's rows ran the same scripts. InferenceX's vLLM Llama-3.1-70B
    scripts (``70b_fp8_h100_slurm.sh``, ``70b_fp8_h200_slurm.sh``, ``70b_fp8_b200_docker.sh``,
    ``70b_fp4_b200_docker.sh``) write ``kv-cache-dtype: fp8`` into their config.yaml (their 0.9
    memory share, 8,192-token budget and max-num-seqs of the concurrency or 512 are the LLM
    model's vLLM defaults or never bind). TensorRT-LLM rows: :func:`trtllm_flags`."""
    if r.client == "inferencex" and _engine(r.engine) == "trtllm":
        return trtllm_flags(r)
    vllm_70b = _engine(r.engine) == "vllm" and r.model.startswith("Llama-3.1-70B")
    if r.client == "inferencex" and vllm_70b:
        return Flags(kv_dtype="fp8")
    if r.client != "inferencex" or _engine(r.engine) != "sglang":
        return Flags()
    recv = 30 if (r.concurrency or 0) >= 16 else 10
    blackwell = r.gpu_family in ("B200", "B300")  # the B300 scripts reuse the B200 ones as-is
    if blackwell and _dtype(r, "") == "nvfp4":
        return Flags(16384, recv, "fp8", 0.85)
    if blackwell and r.tp == 8:
        return Flags(32768, recv, "fp8", 0.82)
    if blackwell and r.tp == 4:
        return Flags(8192, 10, "fp8", 0.95)
    if r.gpu_family == "H200":
        return Flags(32768, 1, None, 0.82)
    return Flags()


def steady_state(r: Row) -> bool:
    """Whether the row's closed loop is replayed in its steady state (the clients' first requests
    at random phases over one request's duration, as the lockstep run gives it) instead of every
    client starting at t = 0.

    TensorRT-LLM rows at fixed lengths whose client is not named (aiconfigurator's other
    collection; NIM): started together, a deterministic replay keeps its clients in cohorts for
    the whole run (all C prompts, or as many as one step's token budget admits, prefilled
    together every round), whereas a real run's clients drift apart as their network and
    front-end times vary. On these rows the lockstep replay's TTFT grew with load unlike the
    measured one (Qwen3-235B-A22B FP8, 4 x H100, 256/128 tokens, calibrated at 8 clients: 294 ms
    measured at 128 clients, 1,067 ms simulated). Not derived from a stated setting: chosen on the
    training third (docs/simulate.md); the SGLang and vLLM rows of the same collection keep the
    lockstep start; SGLang's measured TTFT and TPOT grow as cohorts do (its TPOT would double with
    a prefill step for each lone arrival), and on their 50 training rows the steady state gave 13
    agreeing rows instead of 24 (6 gained, 17 lost). Other groups of unnamed clients are replayed
    so (``Row.client`` :data:`STEADY`) when the lockstep one cannot reach their calibration row:
    :func:`lockstep_too_slow`."""
    if r.client == STEADY:
        return True
    return (
        _engine(r.engine) == "trtllm" and not r.client and r.range_ratio >= 1.0 and not r.sample
        and r.concurrency is not None
    )


def lockstep_too_slow(r: Row, fit: Fit) -> bool:
    """A fixed-length closed loop of an unnamed client whose calibration row the lockstep replay
    cannot reproduce: its simulated TTFT stays above the measured one with the compute at its
    physical maximum and no front end left (the one-row fit's TTFT rule). The cohort's prefill
    takes longer than the run's TTFT, so the run's clients were not in lockstep; the group is then
    replayed in its steady state (:func:`steady_state`), calibration row included. Found on the
    vLLM Qwen3-32B groups of aiconfigurator's other collection at 1,024-token prompts (e.g. row
    3046: 187 ms measured, 388 ms in lockstep at the fastest compute, 2 x H100, 16 clients)."""
    eligible = r.client == "" and r.range_ratio >= 1.0 and not r.sample and r.concurrency
    too_slow = r.ttft is not None and fit.ttft > r.ttft * (1 + FIT_TOLERANCE)
    return bool(eligible) and too_slow and not steady_state(r)


def trtllm_flags(r: Row) -> Flags:
    """The delayed context batching of InferenceX's TensorRT-LLM launch scripts
    (SemiAnalysisAI/InferenceX, ``benchmarks/``): ``70b_fp8_b200_trt_slurm.sh``,
    ``70b_fp4_b200_trt_slurm.sh`` and ``70b_fp8_h200_trt_slurm.sh`` write
    ``batch_wait_timeout_iters: 20`` (with ``batch_wait_max_tokens_ratio: 0.9``) for 1K / 1K
    tokens below TP 8 ("will improve the performance, by default they are all zeros");
    ``dsr1_fp8_b200_trt.sh`` writes ``batch_wait_timeout_iters: 40`` (ratio 0.8) for 1K / 1K
    tokens at 64-255 clients. Other rows run without it."""
    io = (round(r.isl), round(r.osl))
    if r.model.startswith("Llama-3.1-70B") and io == (1024, 1024) and r.tp < 8:
        return Flags(batch_wait_iters=20, batch_wait_ratio=0.9)
    deepseek_fp8 = (r.model.startswith("DeepSeek") and _dtype(r, "") == "fp8"
                    and r.gpu_family == "B200")
    if deepseek_fp8 and io == (1024, 1024) and 64 <= (r.concurrency or 0) < 256:
        return Flags(batch_wait_iters=40, batch_wait_ratio=0.8)
    return Flags()


def requests_of(r: Row) -> int:
    """Requests the row's benchmark ran: stated, else what its client runs by default."""
    if r.num_requests:
        return r.num_requests
    if r.concurrency is not None:
        if r.client == "inferencex":
            return INFERENCEX_PROMPTS_PER_SLOT * r.concurrency
        return max(4 * r.concurrency, 32)
    return 500


def simulate_row(
    r: Row, d: Any, kv: int, seqs: int, budget: int, frontend_s: float = 0.0, seed: int = 0
) -> tuple[float, float]:
    """Simulated (TTFT, TPOT) of a row, in the row's statistics (median / mean): per request, TTFT
    from sending to the first token and TPOT = (latency - TTFT) / (output tokens - 1), the
    benchmark clients' definitions (requests of one output token have no TPOT)."""
    from scaleplan.simulate import llm_engine as eng
    from scaleplan.simulate.llm_replicas import ModelStep

    rng = np.random.default_rng(seed)
    n = requests_of(r)
    if r.sample:
        inp, out = sampled_lengths(rng, r.sample, n, r.isl, r.osl)
    else:
        inp = lengths(rng, r.isl, n, r.range_ratio)
        out = lengths(rng, r.osl, n, r.range_ratio)
    closed = 0
    if r.concurrency is not None:
        closed = r.concurrency
        times = np.zeros(n)
    elif r.rate is not None and math.isinf(r.rate):
        times = np.zeros(n)
    else:
        assert r.rate is not None
        times = np.cumsum(rng.exponential(1.0 / r.rate, n))
    chunked, mixed = SCHEDULER.get(d.settings.engine, (True, True))
    f = server_flags(r)
    cfg = eng.ReplicaConfig(
        seqs, kv, 16, f.budget or budget, 10**9, ModelStep(d), chunked, mixed,
        f.recv_interval, d.settings.reserves_completion, (f.batch_wait_iters, f.batch_wait_ratio),
    )
    res = eng.run(
        times, inp, out, [cfg], [0], [(0.0, frozenset({0}))], lambda k, t, v: 0,
        closed_loop=closed, frontend_s=frontend_s,
    )
    if closed and steady_state(r):
        # the clients' phases spread at random over one request's duration (as the lockstep
        # run gives it), then the same closed loop: the measured steady state
        done = res.outcome == eng.OK
        dur = float(np.median((res.t_done - res.arrival)[done])) if done.any() else 0.0
        times = np.zeros(n)
        times[:closed] = np.sort(np.random.default_rng(seed + 1).uniform(0.0, dur, closed))
        res = eng.run(
            times, inp, out, [cfg], [0], [(0.0, frozenset({0}))], lambda k, t, v: 0,
            closed_loop=closed, frontend_s=frontend_s,
        )
    ok = res.outcome == eng.OK
    ttft = (res.t_first - res.arrival)[ok] * 1000.0
    multi = ok & (out > 1)
    tpot = (res.t_done - res.t_first)[multi] * 1000.0 / (out[multi] - 1)

    def pick(x: Any, stat: str) -> float:
        if len(x) == 0:
            return math.nan
        return float(np.mean(x)) if stat.startswith("mean") else float(np.median(x))

    return pick(ttft, r.ttft_stat), pick(tpot, r.tpot_stat)


@dataclass(frozen=True)
class Fit:
    """What calibration fitted on one row: the LLM model's scales and the front-end latency."""

    deployment: Any
    frontend_s: float
    ttft: float  # simulated, with the fitted values
    tpot: float
    iterations: int

    def describe(self) -> str:
        c = self.deployment.calibration
        return (
            f"compute x{c.compute:.3g}, memory x{c.memory:.3g}, step overhead x{c.overhead:.3g}, "
            f"front end {self.frontend_s * 1000:.0f} ms"
        )


def calibrate_on(r: Row, d: Any, kv: int, seqs: int, budget: int) -> Fit:
    """Fit the row's TPOT by the per-step overhead scale (the step's fixed cost, unbounded; the
    per-sequence host time stays at the tables') and its TTFT by the compute efficiency
    scale within the model's physical range and no lower than :data:`MIN_COMPUTE_SCALE` of the
    tables', the rest by a front-end latency per request; on the simulated row, until both are
    within 1 %. When the TPOT asks for less than no overhead, a compute scale the TTFT fit
    lowered rises first (the loop's TPOT carries the prefill work that shares or stalls its
    steps, so the row says prefill is that fast) and the TTFT fit may not lower it again; only
    compute at the tables' own efficiency leaves it to memory efficiency."""
    from scaleplan.llm.perf import MAX_COMPUTE, MIN_COMPUTE, Calibration, efficiency, step_time_ms

    c = m = o = 1.0
    floor = MIN_COMPUTE_SCALE  # the lowest compute scale the TTFT fit may still use
    fe = 0.0
    tt = tp = math.nan
    k = 0
    dd = d
    for k in range(1, FIT_ITERATIONS + 1):
        cal = Calibration(
            compute=c, memory=m, overhead=o, basis=f"row {r.row_id}", points=1, per_sequence=1.0
        )
        dd = d.with_calibration(cal)
        tt, tp = simulate_row(r, dd, kv, seqs, budget, frontend_s=fe)
        et = tt / r.ttft if r.ttft else 1.0
        ep = tp / r.tpot if r.tpot and not math.isnan(tp) else 1.0
        if (abs(et - 1) < FIT_TOLERANCE and abs(ep - 1) < FIT_TOLERANCE) or k == FIT_ITERATIONS:
            break
        # TPOT: each decode step carries the fixed overhead once, so TPOT moves by about one
        # step's fixed overhead per unit of its scale (Newton step on a near-linear function)
        one = step_time_ms(dd, decode_seqs=1.0, context_tokens_total=r.isl).overhead_ms
        unit = (one - dd.efficiency.per_sequence_ms) / o
        if r.tpot and not math.isnan(tp) and unit > 0:
            o_new = o + (r.tpot - tp) / unit
            if o_new < MIN_OVERHEAD_SCALE:
                o_new = MIN_OVERHEAD_SCALE
                if c < 1.0:
                    # the closed loop's TPOT holds its prefill steps: a TPOT that the steps
                    # exceed with no overhead left says prefill is faster than the TTFT fit
                    # made it; compute gives back first (and stays), TTFT goes to front end
                    floor = c = min(c * ep, 1.0)
                else:
                    m *= ep  # no overhead left to remove: the memory-bound part must be faster
            o = o_new
        # TTFT: compute efficiency within [MIN_COMPUTE, MAX_COMPUTE] (a small prompt's prefill
        # runs below the large-batch efficiency the model's tables come from); what the slowest
        # physical compute still leaves unexplained is front-end latency
        if r.ttft:
            eff = efficiency(d.hw, d.settings.engine, d.dtype, cal).compute
            if tt < r.ttft:
                if eff <= MIN_COMPUTE * (1 + 1e-9) or c <= floor * (1 + 1e-9):
                    fe += (r.ttft - tt) / 1000.0
                else:
                    c = max(c * et, floor)
            elif fe > 0:
                fe = max(fe - (tt - r.ttft) / 1000.0, 0.0)
            elif eff < MAX_COMPUTE * (1 - 1e-9):
                c *= et
        c, m = min(max(c, 0.01), 100.0), min(max(m, 0.01), 100.0)
    return Fit(dd, fe, tt, tp, k)


def calibration_index(n: int, rule: str = "lowest") -> int:
    """Which of a group's ``n`` rows (sorted by load) the one-row fit calibrates on: ``lowest``
    (the least loaded; the default), ``median`` (the lower median load) or ``upper-median``.
    Compared on the training third (docs/simulate.md, eighth round): 323 of 581 rows within
    +-20 % on both (55.6 %) / 320 of 565 (56.6 %) / 279 of 583 (47.9 %); a middle row predicts
    the rows above it better and the rows below it worse, so the default stays."""
    if rule == "median":
        return (n - 1) // 2
    if rule == "upper-median":
        return n // 2
    if rule != "lowest":
        raise ValueError(f"unknown calibration row rule {rule!r}")
    return 0


def run_group(rs: list[Row], rule: str = "lowest") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    i = calibration_index(len(rs), rule)
    rs = [rs[i], *rs[:i], *rs[i + 1:]]  # the calibration row first, the others by load
    base = rs[0]
    try:
        d, kv, seqs, budget, what = deployment(base)
    except ValueError as exc:
        return [{"row": r.row_id, "role": "not simulated", "why": str(exc), **_meas(r)} for r in rs]
    if base.ttft is None or base.tpot is None:
        return [{"row": r.row_id, "role": "not simulated", "why": "the calibration row lacks TTFT or TPOT", **_meas(r)} for r in rs]
    fit = calibrate_on(base, d, kv, seqs, budget)
    if lockstep_too_slow(base, fit):
        rs = [replace(r, client=STEADY) for r in rs]
        base = rs[0]
        fit = calibrate_on(base, d, kv, seqs, budget)
    out.append({
        "row": base.row_id, "role": "calibration", "what": what, "fit": fit.describe(),
        "front_end_ms": fit.frontend_s * 1000.0,
        "sim_ttft": fit.ttft, "sim_tpot": fit.tpot, "iters": fit.iterations, **_meas(base),
    })
    for r in rs[1:]:
        tt, tp = simulate_row(r, fit.deployment, kv, seqs, budget, frontend_s=fit.frontend_s)
        out.append({"row": r.row_id, "role": "simulated", "what": what, "sim_ttft": tt, "sim_tpot": tp, **_meas(r)})
    return out


def _meas(r: Row) -> dict[str, Any]:
    if r.concurrency is not None:
        load = f"c={r.concurrency}"
    elif r.rate is None:
        load = "-"
    else:
        load = "burst" if math.isinf(r.rate) else f"{r.rate:g}/s"
    tp = f"{r.tp} (recorded {r.recorded_tp})" if r.recorded_tp else r.tp
    return {
        "source": r.source, "model": r.model, "engine": r.engine.split(" (")[0], "gpu": r.gpu, "tp": tp, "dtype": r.dtype.split(" (")[0],
        "isl": r.isl, "osl": r.osl, "load": load, "n": r.num_requests, "ttft": r.ttft, "ttft_stat": r.ttft_stat, "tpot": r.tpot, "tpot_stat": r.tpot_stat,
    }


def _err(sim: float | None, meas: float | None) -> float | None:
    if sim is None or meas is None or not meas:
        return None
    return sim / meas - 1.0


def ttft_below_calibration(results: list[dict[str, Any]], group_of: dict[str, tuple[str, ...]]) -> int:
    """Simulated rows whose measured TTFT lies more than the tolerance below their group's
    calibration row (its lowest load): more clients in a closed loop (or a higher rate) cannot
    shorten the wait in a steady state, so no replay calibrated on that row reaches them (a
    warm-up in the measurement, or a server setting that changed between the runs)."""
    cal = {group_of[x["row"]]: x["ttft"] for x in results if x["role"] == "calibration" and x["row"] in group_of}
    n = 0
    for x in results:
        base = cal.get(group_of.get(x["row"], ()))
        if x["role"] == "simulated" and x["ttft"] and base and x["ttft"] < base / (1 + TOL):
            n += 1
    return n


def miss_causes(
    results: list[dict[str, Any]], load: dict[str, float], group_of: dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """The simulated rows outside the tolerance, by what misses first: TTFT under-predicted
    beyond twice its group's calibration load (or at a burst), TTFT under-predicted nearer it,
    TTFT over-predicted, TPOT alone under or over (docs/simulate.md, tenth round). ``load``
    maps a row to its concurrency or rate (inf for a burst)."""
    cal = {
        group_of[x["row"]]: load.get(x["row"])
        for x in results if x["role"] == "calibration" and x["row"] in group_of
    }
    out: dict[str, int] = defaultdict(int)
    for x in results:
        if x["role"] != "simulated":
            continue
        et, ep = _err(x.get("sim_ttft"), x["ttft"]), _err(x.get("sim_tpot"), x["tpot"])
        ttft_ok = et is not None and abs(et) <= TOL
        if ttft_ok and ep is not None and abs(ep) <= TOL:
            continue
        if not ttft_ok and et is not None and et < 0:
            base, here = cal.get(group_of.get(x["row"], ())), load.get(x["row"])
            far = base is not None and here is not None and base > 0 and here > 2 * base
            far_s = "TTFT under, beyond 2x the calibration load"
            out[far_s if far else "TTFT under, within 2x"] += 1
        elif not ttft_ok:
            out["TTFT over" if et is not None else "TTFT not simulated"] += 1
        else:
            out["TPOT alone under" if ep is not None and ep < 0 else "TPOT alone over"] += 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


FRONT_END_SHARES = ("none", "at most half", "over half")


def by_front_end(
    results: list[dict[str, Any]], group_of: dict[str, tuple[str, ...]]
) -> dict[str, list[int]]:
    """[within ±20 % on both, simulated] rows by the share of their calibration row's measured
    TTFT that the one-row fit gave to the front end (:data:`FRONT_END_SHARES`): the part of the
    low-load TTFT that the LLM model's steps do not explain even at the slowest compute the fit
    may use, and that the replay carries to every load as a constant (docs/simulate.md,
    fifteenth round)."""
    share = {
        group_of[x["row"]]: x.get("front_end_ms", 0.0) / x["ttft"]
        for x in results if x["role"] == "calibration" and x["row"] in group_of and x["ttft"]
    }
    out = {k: [0, 0] for k in FRONT_END_SHARES}
    for x in results:
        s = share.get(group_of.get(x["row"], ()))
        if x["role"] != "simulated" or s is None:
            continue
        key = FRONT_END_SHARES[0 if s <= 0 else 1 if s <= 0.5 else 2]
        errs = (_err(x.get("sim_ttft"), x["ttft"]), _err(x.get("sim_tpot"), x["tpot"]))
        out[key][0] += all(v is not None and abs(v) <= TOL for v in errs)
        out[key][1] += 1
    return out


def ceiling(rs: list[Row], tol: float = TOL) -> int:
    """The most of a group's non-calibration rows (``rs[0]`` calibrates) that ANY model could
    meet on both TTFT and TPOT within ``tol``, if it reproduces its calibration row, gives
    rows of one condition (load) one value, and never predicts a lower TTFT or TPOT at a higher
    load (more clients or a higher rate cannot shorten a steady state's wait or step). Reads
    the measured values only: a ceiling on what agreement with these rows can reach, not a
    score (docs/simulate.md, "The data's ceiling"). Exact: a search over the Pareto-minimal
    (TTFT, TPOT) predictions after each load, in load order away from the calibration row."""
    c = rs[0]
    if c.ttft is None or c.tpot is None:
        return 0
    blocks: dict[tuple[float, float], list[Row]] = defaultdict(list)
    for r in rs[1:]:
        if r.ttft is not None and r.tpot is not None:
            blocks[_load(r)].append(r)
    at = _load(c)
    vals = {k: [(r.ttft, r.tpot) for r in b] for k, b in blocks.items()}  # type: ignore[misc]
    same = sum(_meets(v, (c.ttft, c.tpot), tol) for v in vals.pop(at, []))
    up = [vals[k] for k in sorted(vals) if k > at]
    # below the calibration load, a prediction may only fall: the same search on negated values
    down = [[(-t, -p) for t, p in vals[k]] for k in sorted(vals, reverse=True) if k < at]
    return same + _chain(up, (c.ttft, c.tpot), tol) + _chain(down, (-c.ttft, -c.tpot), tol)


def data_ceiling(gs: list[list[Row]], results: list[dict[str, Any]]) -> int:
    """:func:`ceiling` summed over the groups with simulated rows, each from the row that
    calibrated it."""
    simulated = {x["row"] for x in results if x["role"] == "simulated"}
    calibrated = {x["row"] for x in results if x["role"] == "calibration"}
    top = 0
    for rs in gs:
        if not any(r.row_id in simulated for r in rs):
            continue
        i = next(j for j, r in enumerate(rs) if r.row_id in calibrated)
        top += ceiling([rs[i], *rs[:i], *rs[i + 1:]])
    return top


def _meets(m: tuple[float, float], p: tuple[float, float], tol: float) -> bool:
    """Whether prediction ``p`` is within ``tol`` of measurement ``m`` on both (either sign)."""
    def within(x: float, y: float) -> bool:
        a, b = sorted((x * (1 - tol), x * (1 + tol)))
        return a - 1e-9 * abs(x) <= y <= b + 1e-9 * abs(x)

    return all(within(x, y) for x, y in zip(m, p, strict=True))


def _chain(blocks: list[list[tuple[float, float]]], start: tuple[float, float], tol: float) -> int:
    """Most measurements met by a prediction that never decreases from ``start`` through the
    blocks in order (one value per block)."""
    states = {start: 0}
    for b in blocks:
        new: dict[tuple[float, float], int] = {}
        for (pt, pp), k in states.items():
            lows = [(min(t * (1 - tol), t * (1 + tol)), min(p * (1 - tol), p * (1 + tol)))
                    for t, p in b]
            cands = {(pt, pp)} | {(max(pt, x[0]), max(pp, y[1])) for x in lows for y in lows}
            for q in cands:
                n = k + sum(_meets(m, q, tol) for m in b)
                new[q] = max(new.get(q, -1), n)
        kept: dict[tuple[float, float], int] = {}
        for (t, p), k in sorted(new.items(), key=lambda kv: (-kv[1], kv[0])):
            if not any(t2 <= t and p2 <= p and k2 >= k for (t2, p2), k2 in kept.items()):
                kept[(t, p)] = k
        states = kept
    return max(states.values())


def markdown(results: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = [
        f"Rows in multi-load groups: {summary['rows']}; calibration rows {summary['calibration']}; simulated {summary['simulated']}; "
        f"not simulated {summary['not_simulated']}.",
        f"Simulated rows with TTFT and TPOT both within ±{TOL:.0%}: **{summary['pass']} of {summary['simulated']} "
        f"({summary['pass_share']:.1%})**; TTFT alone {summary['ttft_pass']}, TPOT alone {summary['tpot_pass']}; "
        f"counting not-simulated rows as misses: {summary['pass_share_all']:.1%}.",
        "Data ceiling (`ceiling`: the most simulated rows any model could meet that reproduces "
        "its calibration row and never predicts less at a higher load): "
        f"{summary['ceiling']} of {summary['simulated']} "
        f"({summary['ceiling'] / max(summary['simulated'], 1):.1%}).",
        f"Within ±{TOL:.0%} on both by the share of the calibration row's TTFT the fit gave to the "
        "front end (`by_front_end`): "
        + "; ".join(f"{k} {ok} of {n}" for k, (ok, n) in summary["by_front_end"].items()) + ".",
        "",
        "| row | source | model | engine | GPU | TP | ISL/OSL | load | TTFT meas | TTFT sim | err | TPOT meas | TPOT sim | err | role |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in results:
        et, ep = _err(x.get("sim_ttft"), x["ttft"]), _err(x.get("sim_tpot"), x["tpot"])

        def f(v: float | None) -> str:
            return "-" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.3g}")

        def e(v: float | None) -> str:
            return "-" if v is None else f"{v:+.0%}"

        role = x["role"] if x["role"] != "not simulated" else f"not simulated: {x['why']}"
        if x["role"] == "calibration":
            role = f"calibration ({x['fit']})"
        lines.append(
            f"| {x['row']} | {x['source']} | {x['model']} | {x['engine']} | {x['gpu']} | {x['tp']} | {x['isl']:g}/{x['osl']:g} | {x['load']} | "
            f"{f(x['ttft'])} {x['ttft_stat']} | {f(x.get('sim_ttft'))} | {e(et)} | {f(x['tpot'])} {x['tpot_stat']} | {f(x.get('sim_tpot'))} | {e(ep)} | {role} |"
        )
    return "\n".join(lines) + "\n"


def select(
    gs: dict[tuple[str, ...], list[Row]], source: str, rows: str, limit: int
) -> list[tuple[str, ...]]:
    """The groups to run: of one source, holding some of the given row ids, the first N."""
    keys = sorted(gs, key=lambda k: (k[0], k[1:]))
    if source:
        keys = [k for k in keys if k[0] == source]
    if rows:
        want = {x.strip() for x in rows.split(",") if x.strip()}
        keys = [k for k in keys if any(r.row_id in want for r in gs[k])]
    return keys[:limit] if limit else keys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="first N groups only (development)")
    ap.add_argument("--source", default="", help="only groups of this source_id")
    ap.add_argument(
        "--rows", default="", help="only the groups holding these row ids (comma-separated)"
    )
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--calibration-row", choices=CALIBRATION_ROWS, default="lowest",
        help="which row of a group the one-row fit uses (by load)",
    )
    ap.add_argument("--budget-s", type=float, default=0.0, help="stop starting groups after this many seconds; the rest are listed as not simulated")
    args = ap.parse_args()
    if not (args.data / "llm" / "llm_serving_measurements.csv").exists():
        sys.exit(f"no measurements under {args.data}; pass --data")
    gs = groups(read_rows(args.data) + vllm_rows(args.data))
    keys = select(gs, args.source, args.rows, args.limit)
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    # cheapest sources first (the aiconfigurator closed loops are the long ones)
    keys.sort(key=lambda k: (k[0] == "aiconfigurator_silicon_sample", k))
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {}
        pending = list(keys)
        while pending or futs:
            while pending and len(futs) < 2 * max(1, args.jobs) and not (args.budget_s and time.perf_counter() - t0 > args.budget_s):
                k = pending.pop(0)
                futs[ex.submit(run_group, gs[k], args.calibration_row)] = k
            if args.budget_s and time.perf_counter() - t0 > args.budget_s and pending:
                for k in pending:
                    results.extend({"row": r.row_id, "role": "not simulated", "why": "the benchmark's time budget ran out before this group", **_meas(r)} for r in gs[k])
                pending = []
            if not futs:
                break
            done = next(iter(__import__("concurrent.futures").futures.as_completed(list(futs))))
            results.extend(done.result())
            del futs[done]
    order = {k: n for n, k in enumerate(sorted(gs, key=lambda k: (k[0], k[1:])))}
    rank = {r.row_id: (order[k], j) for k in gs for j, r in enumerate(gs[k])}
    results.sort(key=lambda x: rank.get(x["row"], (len(order), 0)))
    singles = [r for r in vllm_rows(args.data) if r.key not in gs]
    for r in singles:
        why = "no other run of the same model/engine/GPU at another load" if r.ttft is not None else "every request failed (completed 0): no measurement"
        results.append({"row": r.row_id, "role": "not simulated", "why": why, **_meas(replace(r, isl=r.isl or 0, osl=r.osl or 0))})
    sim = [x for x in results if x["role"] == "simulated"]
    both = [x for x in sim if all(v is not None and abs(v) <= TOL for v in (_err(x["sim_ttft"], x["ttft"]), _err(x["sim_tpot"], x["tpot"])))]
    tt_ok = [x for x in sim if (e := _err(x["sim_ttft"], x["ttft"])) is not None and abs(e) <= TOL]
    tp_ok = [x for x in sim if (e := _err(x["sim_tpot"], x["tpot"])) is not None and abs(e) <= TOL]
    not_sim = [x for x in results if x["role"] == "not simulated"]
    group_of = {r.row_id: k for k in gs for r in gs[k]}
    falling = ttft_below_calibration(results, group_of)
    misses = miss_causes(results, {r.row_id: _load(r)[0] for k in gs for r in gs[k]}, group_of)
    top = data_ceiling([gs[k] for k in keys], results)
    summary = {
        "rows": len(results), "calibration": sum(x["role"] == "calibration" for x in results), "simulated": len(sim),
        "not_simulated": len(not_sim), "pass": len(both), "pass_share": len(both) / max(len(sim), 1),
        "ttft_pass": len(tt_ok), "tpot_pass": len(tp_ok),
        "pass_share_all": len(both) / max(len(sim) + len(not_sim), 1),
        "ttft_below_calibration": falling, "ceiling": top, "misses": misses,
        "by_front_end": by_front_end(results, group_of),
        "seconds": time.perf_counter() - t0,
    }
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for x in results:
        s = by_source[x["source"]]
        if x["role"] == "simulated":
            s[0] += 1
            s[1] += x in both
        elif x["role"] == "not simulated":
            s[2] += 1
    print(json.dumps(summary, indent=1))
    for k, (n, ok, ns) in sorted(by_source.items()):
        print(f"{k}: simulated {n}, within ±20 % {ok} ({ok / max(n, 1):.0%}), not simulated {ns}")
    if args.markdown:
        args.markdown.write_text(markdown(results, summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
