#!/usr/bin/env python3
"""Accuracy of the LLM model (scaleplan.llm) against public serving measurements.

    python bench/llm_validation.py [--data ../shared/data/llm] [--json out.json] [--rows]

Reads ``llm_serving_measurements.csv`` (real engines on real GPUs, with conditions; see its
README), models every row whose mode, model, GPU and precision the model covers, and says for
every other row why it cannot be used. A fixed third of the usable rows (sha256 of the row id,
mod 3 = 0) is held out: the efficiency factors in scaleplan/llm/perf.py were looked at only on
the other two thirds. Two estimates per row:

* architecture-only: the documented per-generation x per-engine factors, nothing measured;
* calibrated from one other GPU: the same model, engine and precision measured on another GPU
  type (training third only, up to 16 rows) fits the calibration scales, then predicts the row.

Reported per split: share of rows with output tokens/s within +-25 %, TTFT and TPOT within
+-30 %, and the share whose measured value lies inside the stated band.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:  # the installed scaleplan (`pip install .` maps catalogs/ into it as scaleplan.catalogs)
    import scaleplan  # noqa: F401
except ImportError:  # a bare checkout: run from its source tree
    sys.path.insert(0, str(ROOT))

from scaleplan.catalog.files import load_accelerators  # noqa: E402
from scaleplan.catalog.peaks import proxy_band  # noqa: E402
from scaleplan.llm.arch import preset  # noqa: E402
from scaleplan.llm.burst import burst, kv_tokens  # noqa: E402
from scaleplan.llm.calibrate import (  # noqa: E402
    CAP,
    FINE,
    GRID,
    LIGHT_PRIOR,
    OVERHEAD_GRID,
    Observed,
    _errors,
    calibrate,
)
from scaleplan.llm.closed_loop import closed_loop  # noqa: E402
from scaleplan.llm.estimate import beyond_the_peak  # noqa: E402
from scaleplan.llm.memory import EngineSettings, Refusal, memory_plan  # noqa: E402
from scaleplan.llm.perf import (  # noqa: E402
    BAND_ARCHITECTURE,
    BAND_CALIBRATED,
    TTFT_BAND_ARCHITECTURE,
    TTFT_BAND_CALIBRATED,
    Calibration,
    Deployment,
    saturation_concurrency,
    serve_class,
    static_batch,
)
from scaleplan.llm.serving import hardware_for  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from llm_sim_validation import (  # noqa: E402
    INFERENCEX,
    INFERENCEX_RANGE_RATIO,
    Flags,
    read_rows,
    sampled_lengths,
    server_flags,
    sharegpt_sample,
)

GPU = {
    "A10G": "A10G", "A100": "A100-80GB", "L40S": "L40S", "H100": "H100", "H200": "H200",
    "B200": "B200", "B300": "B300", "RTX PRO 6000 Blackwell": "RTXPRO6000", "GH200": "GH200",
    "GB200": "GB200",
}
MODEL = {"mistral-7b (version not stated)": "mistral-7b-instruct-v0.2"}
ENGINE = {"vllm": "vllm", "sglang": "sglang", "tensorrt-llm": "trtllm", "nvidia nim": "trtllm"}


def dtype_of(text: str) -> str | None:
    t = text.lower()
    for prefix, d in (("fp16", "fp16"), ("bf16", "bf16"), ("fp8", "fp8"), ("nvfp4", "nvfp4"), ("fp4", "nvfp4"), ("mxfp4", "mxfp4"), ("int8", "int8"), ("int4 awq", "int4-awq")):
        if t.startswith(prefix):
            return d
    return None


def num(v: str) -> float | None:
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def first(r: dict[str, str], *cols: str) -> float | None:
    for c in cols:
        v = num(r.get(c, ""))
        if v is not None and v > 0:
            return v
    return None


def held_out(row_id: str) -> bool:
    return int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 3 == 0


@dataclass
class Case:
    row: dict[str, str]
    preset: str
    acc: str
    dtype: str
    kv: str
    engine: str
    tp: int
    pp: int
    mode: str
    i: int
    o: int
    n: int  # concurrency / batch
    rate: float | None
    meas: dict[str, float] = field(default_factory=dict)
    test: bool = False

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.preset, self.engine, self.dtype)


# The columns that say under which conditions a row was measured, and its measured values: two
# rows equal in all of them (the model aside) are one measurement recorded twice.
CONDITIONS = (
    "source_id", "engine", "engine_version", "gpu", "dtype", "kv_cache_dtype", "tp", "pp", "dp",
    "ep", "parallel_notes", "benchmark_mode", "dataset", "input_tokens", "output_tokens",
    "batch_size", "concurrency", "request_rate", "num_requests",
)
MEASURED = (
    "output_tokens_per_s", "output_tokens_per_s_per_gpu", "total_tokens_per_s", "requests_per_s",
    "ttft_ms_mean", "ttft_ms_p50", "ttft_ms_p99", "ttft_ms_unspecified_stat", "tpot_ms_mean",
    "tpot_ms_p50", "tpot_ms_p99", "tpot_ms_unspecified_stat", "itl_ms_mean", "itl_ms_p50",
    "itl_ms_p99", "e2e_ms_mean", "e2e_ms_p50", "e2e_ms_p99",
)


def duplicates(rows: list[dict[str, str]]) -> dict[str, str]:
    """Row id -> the id of the first row (in row order) that holds the same measurement: the
    same conditions (:data:`CONDITIONS`) and every measured value (:data:`MEASURED`) equal, of
    the same architecture. aiconfigurator's silicon sample lists some runs in two or three of
    its source files (``source_file=2026-03-25.csv``, ``2026-04-06.csv``, ``db-dump/2026-04-27``:
    the same TTFT and TPOT to the third decimal, the same measurement date), once as DeepSeek-R1
    and once as DeepSeek-V3 (one architecture); counted twice, a run weighs double, and where
    its copies fall on both sides of the held-out split a held-out row is a training row."""
    first: dict[tuple[str, ...], str] = {}
    out: dict[str, str] = {}
    for r in rows:
        if not any(r[k] for k in MEASURED):
            continue
        model = MODEL.get(r["model"].lower(), r["model"].lower())
        try:
            arch = replace(preset(model), name="", source="", stated_params_b=None)
            same_arch: object = arch
        except Exception:
            same_arch = model
        key = (repr(same_arch), *(r[k] for k in CONDITIONS + MEASURED))
        if key in first:
            out[r["row_id"]] = first[key]
        else:
            first[key] = r["row_id"]
    return out


# row id -> the row it repeats (:func:`duplicates`), filled by main() from the whole file
DUPLICATE_OF: dict[str, str] = {}


def left_out(r: dict[str, str]) -> str | None:
    """Why a row is left out before its model and GPU are looked at, or None."""
    if r["row_id"] in DUPLICATE_OF:
        return "the same measurement as an earlier row (listed twice by its source)"
    if r["speculative_decoding"].strip().lower() == "yes":
        return "speculative decoding (not modelled)"
    return None


def classify(r: dict[str, str]) -> Case | str:
    """A usable case, or why the row cannot be used."""
    if why := left_out(r):
        return why
    m = MODEL.get(r["model"].lower(), r["model"].lower())
    try:
        preset(m)
    except Exception:
        return f"model {r['model']} not modelled (no complete architecture: {r['model']})"
    acc = GPU.get(r["gpu_family"])
    if acc is None:
        return f"GPU {r['gpu_family']} not in the accelerator table (or lacks bandwidth/peak)"
    d = dtype_of(r["dtype"])
    if d is None:
        return "precision not stated"
    eng = next((v for k, v in ENGINE.items() if r["engine"].lower().startswith(k)), None)
    if eng is None:
        return f"engine {r['engine']} not modelled"
    dp, ep = num(r["dp"]) or 1, num(r["ep"]) or 1
    tp, pp = int(num(r["tp"]) or 1), int(num(r["pp"]) or 1)
    if max(dp, ep) > 1 or attention_dp_moe(r, m, tp * pp):
        return "attention data parallel / expert parallel (not modelled)"
    if tp * pp > 8:
        return "more than 8 GPUs per instance (multi-node)"
    i, o = num(r["input_tokens"]), num(r["output_tokens"])
    if not i or not o:
        return "tokens not stated"
    mode = r["benchmark_mode"].split(" ")[0]
    kv = "fp8" if (r["kv_cache_dtype"].lower().startswith("fp8") or (eng == "trtllm" and d in ("fp8", "nvfp4"))) else ("fp16" if d == "fp16" else "bf16")
    kv = SERVER_FLAGS.get(r["row_id"], Flags()).kv_dtype or kv  # the launch script's KV cache
    if r["source_id"] == "aiconfigurator_silicon_sample" and INFERENCEX.search(r["notes"]):
        # InferenceX draws each request's lengths uniformly from [int(0.8 L), L]
        # (--random-range-ratio 0.8): the row's tokens are the nominal L, the run's mean is lower
        i, o = round(mean_drawn(i)), round(mean_drawn(o))
    meas: dict[str, float] = {}
    ttft = first(r, "ttft_ms_mean", "ttft_ms_p50", "ttft_ms_unspecified_stat")
    tpot = first(r, "tpot_ms_mean", "tpot_ms_p50", "tpot_ms_unspecified_stat")
    tps = first(r, "output_tokens_per_s")
    rate = num(r["request_rate"]) if r["request_rate"] not in ("", "inf") else None
    n = int(first(r, "concurrency", "batch_size") or 1)
    if mode == "offline_max_throughput" or mode == "static_batch_offline":
        if tps:
            meas["tok_s"] = tps
    elif mode == "static_batch_ttft":
        if ttft:
            meas["ttft"] = ttft
    elif mode == "online_fixed_concurrency":
        for k, v in (("ttft", ttft), ("tpot", tpot), ("tok_s", tps)):
            if v:
                meas[k] = v
    elif mode == "online_poisson_qps":
        if tps:
            meas["tok_s"] = tps
        if rate is not None:  # at a finite rate TTFT/TPOT are steady-state values
            for k, v in (("ttft", ttft), ("tpot", tpot)):
                if v:
                    meas[k] = v
        elif tpot:
            meas["tpot"] = tpot
    elif mode == "online_burst_all_at_once":
        # every request at t=0: TTFT is queueing; TPOT and throughput are usable
        if tpot:
            meas["tpot"] = tpot
        if tps:
            meas["tok_s"] = tps
    else:
        return f"mode {mode} not modelled"
    if not meas:
        return "no usable metric for its mode"
    return Case(r, m, acc, d, kv, eng, tp, pp, mode, int(i), int(o), n, rate, meas, held_out(r["row_id"]))


# a row whose own figures need more linear-layer FLOP/s than its GPUs' dense peak
# (scaleplan.llm.estimate.beyond_the_peak, which leaves such a user point out of a calibration)
BEYOND_PEAK = "served rate needs more FLOP/s than the GPUs' dense peak (prompts not all computed)"


def served_rps(c: Case) -> float | None:
    """Requests/s the row served: its output tokens/s over its output length, else a closed
    loop's clients over one request's measured duration (Little's law), else None."""
    m = c.meas
    if "tok_s" in m:
        return m["tok_s"] / c.o
    if c.mode == "online_fixed_concurrency" and "ttft" in m and "tpot" in m:
        return c.n / ((m["ttft"] + (c.o - 1) * m["tpot"]) / 1000.0)
    return None


def model_reason(c: Case) -> str | None:
    """Why the model cannot use a classified row, or None: its prediction fails (it does not
    fit, a dtype the GPU cannot run), or its own figures are beyond its GPUs' peak."""
    try:
        predict(c)
    except Refusal:
        return "does not fit in the memory model (weights or one sequence)"
    except Exception as exc:  # a dtype the GPU cannot run, etc.
        return f"not modelled: {type(exc).__name__}: {str(exc)[:60]}"
    if beyond_the_peak(deployment(c)[0], c.i, c.o, served_rps(c)):
        return BEYOND_PEAK
    return None


def attention_dp_moe(r: dict[str, str], model: str, gpus: int) -> bool:
    """An MoE row on more than one GPU whose notes say its engine ran attention data parallel:
    TensorRT-LLM's perf overview runs its MoE models with `--ep` and `enable_attention_dp: true`
    (its "For MoE models" command; the data README: "MoE models use attention-DP"), so its
    columns headed TP2-TP8 are attention DP x EP, not TP, though their dp / ep cells are blank."""
    return gpus > 1 and "enable_attention_dp" in r["notes"] and preset(model).is_moe


def drawn_lengths(c: Case) -> bool:
    """Whether the row's client drew each request's lengths (InferenceX's uniform draw, a
    ShareGPT sample) rather than sending the row's fixed ones: its closed loop's cohorts do not
    come back whole (perf.DRAWN_CLUSTERING)."""
    r = c.row
    inferencex = r["source_id"] == "aiconfigurator_silicon_sample" and INFERENCEX.search(r["notes"])
    return bool(inferencex) or "sharegpt" in r["dataset"].lower()


def mean_drawn(nominal: float) -> float:
    """Mean of the uniform integers in [int(L x ratio), L] that InferenceX's client draws."""
    return (int(nominal * INFERENCEX_RANGE_RATIO) + nominal) / 2.0


ACCS = {a.name: a for a in load_accelerators()}


def deployment(c: Case, cal: Calibration | None = None) -> tuple[Deployment, object]:
    arch = preset(c.preset)
    hw = hardware_for(ACCS[c.acc])
    util = 0.95 if c.engine == "trtllm" else None  # trtllm-bench: kv_cache_free_gpu_mem_fraction 0.95
    f = SERVER_FLAGS.get(c.row["row_id"], Flags())  # the run's launch flags (InferenceX scripts)
    st = EngineSettings.of(c.engine, gpu_memory_utilization=f.memory or util,
                           max_num_batched_tokens=f.budget, recv_interval=f.recv_interval,
                           batch_wait_iters=f.batch_wait_iters)
    mem = memory_plan(arch, hw.memory_gib, dtype=c.dtype, kv_dtype=c.kv, settings=st, tp=c.tp, pp=c.pp, max_model_len=c.i + c.o, accelerator=c.acc)
    if c.engine == "trtllm" and c.mode == "offline_max_throughput":
        # trtllm-bench builds its engine with the batch and step limits its heuristic takes from
        # the dataset (both rows' sources run `trtllm-bench build --dataset`), not trtllm-serve's
        full = mem.max_sequences(c.i + c.o, arch, c.kv)
        bs, tokens = trtllm_bench_limits(full, c.i, c.o, c.pp)
        st = replace(st, max_num_seqs=bs, max_num_batched_tokens=tokens)
        mem = memory_plan(arch, hw.memory_gib, dtype=c.dtype, kv_dtype=c.kv, settings=st,
                          tp=c.tp, pp=c.pp, max_model_len=c.i + c.o, accelerator=c.acc)
    return Deployment(arch, hw, c.dtype, c.kv, st, tp=c.tp, pp=c.pp, calibration=cal or Calibration()), mem


def trtllm_bench_limits(kv_requests: int, i: int, o: int, pp: int) -> tuple[int, int]:
    """The max batch size and max tokens per step ``trtllm-bench`` builds its engine with from
    the dataset's mean lengths (its tuning heuristic, ``finetune_setting``): the requests the KV
    cache holds at full length, capped at 4,096, rounded up; tokens = that x (1 + I/O), in
    [2,048, 32,768], rounded up."""
    raw_bs = min(kv_requests, 4096) / pp
    raw_tok = min(raw_bs * (1 + i / o), 32768)
    bs = max(64, _round_up(raw_bs, ((256, 32), (1024, 128)), 256))
    tok = max(2048, _round_up(raw_tok, ((4096, 256), (8192, 512)), 1024))
    return bs, tok


def _round_up(x: float, ladder: tuple[tuple[int, int], ...], last: int) -> int:
    """``x`` rounded up to the step of the first ``(below, step)`` rung it is below, else to a
    multiple of ``last`` (trtllm-bench's ladder)."""
    step = next((s for below, s in ladder if x < below), last)
    return step * math.ceil(x / step)


def predict(c: Case, cal: Calibration | None = None) -> dict[str, float]:
    d, mem = deployment(c, cal)
    out: dict[str, float] = {}
    if c.mode == "static_batch_offline":
        out["tok_s"] = static_batch(d, c.i, c.o, c.n)[1]
    elif c.mode == "static_batch_ttft":
        out["ttft"] = static_batch(d, c.i, 1, c.n)[0]
    elif c.mode == "online_burst_all_at_once" and BURST == "replay":
        # every request at t = 0: the engine's scheduler replayed over the run's own lengths
        # (llm.burst); at most what the KV cache holds at the mean lengths runs at once, or, for
        # an engine that admits by tokens and preempts (vLLM), the cache counted in tokens
        cap = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
        b = burst(d, burst_lengths(c), cap=cap, kv=kv_tokens(mem))  # type: ignore[arg-type]
        out.update(tok_s=b.output_tokens_per_s, tpot=b.tpot_ms, ttft=b.ttft_ms)
    elif c.mode in ("offline_max_throughput", "online_burst_all_at_once") or (c.mode == "online_poisson_qps" and c.rate is None):
        n = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
        if c.mode == "online_burst_all_at_once":
            reqs = int(num(c.row["num_requests"]) or n)
            n = min(n, reqs)
        p = serve_class(d, c.i, c.o, n)
        out.update(tok_s=p.output_tokens_per_s, tpot=p.tpot_ms, ttft=p.ttft_ms)
    elif c.mode == "online_fixed_concurrency" and CLOSED_LOOP == "replay":
        # closed loop: the engine's scheduler replayed pass by pass; clients beyond what the KV
        # cache holds wait for a slot (their wait is in TTFT)
        cap = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
        p = closed_loop(d, c.i, c.o, c.n, cap=cap)
        out.update(tok_s=p.output_tokens_per_s, tpot=p.tpot_ms, ttft=p.ttft_ms)
    elif c.mode == "online_fixed_concurrency":
        # steady state of independent arrivals at min(N, what the KV cache holds); the other
        # clients wait for a slot: about (N - cap) / cap request durations
        cap = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
        p = serve_class(d, c.i, c.o, min(c.n, cap), drawn=drawn_lengths(c))
        wait = (c.n - cap) / cap * (p.ttft_ms + (c.o - 1) * p.tpot_ms) if c.n > cap else 0.0
        out.update(tok_s=p.output_tokens_per_s, tpot=p.tpot_ms, ttft=p.ttft_ms + wait)
    elif c.mode == "online_poisson_qps":
        # open loop at rate λ: the concurrency N with N / cycle(N) = λ (Little), capped at saturation
        nmax = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
        cap = serve_class(d, c.i, c.o, nmax).throughput_rps
        assert c.rate is not None
        if c.rate >= cap:
            p = serve_class(d, c.i, c.o, nmax)
            out.update(tok_s=p.output_tokens_per_s, tpot=p.tpot_ms)
        else:
            p = serve_class(d, c.i, c.o, rate_concurrency(d, c, nmax), open_loop=True)
            lone = serve_class(d, c.i, c.o, 1, open_loop=True)
            out.update(tok_s=finite_run_tok_s(c, lone.ttft_ms + (c.o - 1) * lone.tpot_ms, cap),
                       tpot=p.tpot_ms, ttft=p.ttft_ms)
    return out


def finite_run_tok_s(c: Case, lone_ms: float, capacity_rps: float) -> float:
    """Output tokens/s a run of the row's ``num_requests`` N requests offered at its rate measures
    (completed tokens over the run's duration, as vLLM's and Triton's clients count it), where
    the server keeps up: the duration is at least the last arrival's time, N / rate (Poisson),
    plus that request's own service alone (``lone_ms``: TTFT + (O - 1) TPOT with nothing else
    running, as the drain leaves it), and at least N / the saturation capacity; the larger of
    the two bounds is taken (the drain tail calibrate.open_loop_reading reads measured runs
    with). Without a request count, the rate itself (an endless run)."""
    assert c.rate is not None
    reqs = num(c.row["num_requests"])
    if not reqs:
        return c.rate * c.o
    return reqs * c.o / max(reqs / c.rate + lone_ms / 1000.0, reqs / capacity_rps)


SHAREGPT: tuple[tuple[int, int], ...] = ()  # (prompt, output) per request of a stored ShareGPT run
# row id -> the server flags its run's launch script set (llm_sim_validation.server_flags:
# SGLang's receive interval, prefill budget, memory fraction and KV cache; TensorRT-LLM's
# delayed context batching); rows without one run the engine's defaults
SERVER_FLAGS: dict[str, Flags] = {}
BURST_SEED = 0
_LENGTHS: dict[str, tuple[tuple[int, int], ...]] = {}


def burst_lengths(c: Case) -> tuple[tuple[int, int], ...]:
    """The (prompt, output) lengths of a burst row's ``num_requests`` requests: ShareGPT rows
    draw them from the stored ShareGPT run scaled to the row's means, as
    bench/llm_sim_validation.py does (``sampled_lengths``, reused); random-dataset rows have
    the row's fixed lengths (no row states a range ratio)."""
    key = c.row["row_id"]
    if key not in _LENGTHS:
        n = int(num(c.row["num_requests"]) or 1)
        if SHAREGPT and "sharegpt" in c.row["dataset"].lower():
            isl, osl = float(c.row["input_tokens"]), float(c.row["output_tokens"])
            inp, out = sampled_lengths(np.random.default_rng(BURST_SEED), SHAREGPT, n, isl, osl)
            _LENGTHS[key] = tuple(zip(inp.tolist(), out.tolist(), strict=True))
        else:
            _LENGTHS[key] = ((c.i, c.o),) * n
    return _LENGTHS[key]


def rate_concurrency(d: Deployment, c: Case, nmax: int) -> int:
    """Open loop at rate λ: the concurrency N with N / cycle(N) = λ (Little), at most nmax."""
    assert c.rate is not None
    lo, hi = 1, nmax
    while lo < hi:
        mid = (lo + hi) // 2
        if serve_class(d, c.i, c.o, mid, open_loop=True).throughput_rps < c.rate:
            lo = mid + 1
        else:
            hi = mid
    return lo


def observed(c: Case) -> Observed:
    """The row as a calibration point, measured the way the row was (static batch, closed loop,
    saturation, or an open-loop rate whose concurrency Little's law gives from the row)."""
    d, mem = deployment(c)
    cap = saturation_concurrency(d, mem, c.i, c.o)  # type: ignore[arg-type]
    m = c.meas
    common = {"ttft_ms": m.get("ttft"), "tpot_ms": m.get("tpot"), "output_tokens_per_s": m.get("tok_s"), "label": c.row["row_id"]}
    if c.mode.startswith("static_batch"):
        return Observed(d, c.i, c.o if c.mode == "static_batch_offline" else 1, c.n, kind="static", **common)  # type: ignore[arg-type]
    if c.mode == "online_fixed_concurrency" and CLOSED_LOOP == "replay":
        return Observed(d, c.i, c.o, c.n, kind="closed_loop", running=cap, **common)  # type: ignore[arg-type]
    if c.mode == "online_burst_all_at_once" and BURST == "replay" and BURST_CALIBRATION == "replay":
        lengths = burst_lengths(c)
        n = len(lengths)
        return Observed(d, c.i, c.o, n, kind="burst", running=cap, lengths=lengths, **common)  # type: ignore[arg-type]
    if c.mode == "online_fixed_concurrency":
        if c.n > cap:  # TTFT includes queueing for a slot, which the steady state does not hold
            common["ttft_ms"] = None
        return Observed(d, c.i, c.o, min(c.n, cap), drawn=drawn_lengths(c), **common)  # type: ignore[arg-type]
    n = cap
    if c.mode == "online_poisson_qps" and c.rate is not None:
        tok_s, ttft, tpot = m.get("tok_s"), m.get("ttft"), m.get("tpot")
        if tok_s and ttft and tpot:  # Little's law: in flight = completions/s x time in system
            n = max(1, min(cap, round(tok_s / c.o * (ttft + (c.o - 1) * tpot) / 1000.0)))
        else:  # the concurrency at which the architecture-only model serves the rate
            n = rate_concurrency(d, c, cap)
        return Observed(d, c.i, c.o, n, kind="open_loop", **common)  # type: ignore[arg-type]
    return Observed(d, c.i, c.o, n, **common)  # type: ignore[arg-type]


# burst rows (all requests at t = 0): "replay" (llm.burst over the run's lengths) or "steady"
# (the saturation steady state, before 2026-12-05); --burst picks
BURST = "replay"
# burst rows as calibration points: "steady" (the saturation steady state, as before) or
# "replay" (Observed(kind="burst"), slower and no better on the training rows: docs/llm.md)
BURST_CALIBRATION = "steady"
# closed-loop rows: "steady" (independent arrivals, perf.serve_class) or "replay" (the
# scheduler replayed pass by pass, llm.closed_loop); --closed-loop picks
CLOSED_LOOP = "steady"
TOL = {"tok_s": 0.25, "ttft": 0.30, "tpot": 0.30}
GOAL = {"tok_s": 0.80, "ttft": 0.70, "tpot": 0.70}


Bands = tuple[tuple[float, float], tuple[float, float]]  # (TPOT / throughput band, TTFT band)
ARCH_BANDS: Bands = (BAND_ARCHITECTURE, TTFT_BAND_ARCHITECTURE)
CAL_BANDS: Bands = (BAND_CALIBRATED, TTFT_BAND_CALIBRATED)


def bands_for(c: Case, bands: Bands) -> Bands:
    """The row's bands: on a proxied 16-bit peak (A10G) the TTFT band widens the way the
    model's own predictions do (scaleplan.catalog.peaks.proxy_band)."""
    if hardware_for(ACCS[c.acc]).peak_proxy is None:
        return bands
    return bands[0], proxy_band(bands[1], c.acc)


def score(results: list[tuple[Case, dict[str, float], Bands]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for metric in ("tok_s", "ttft", "tpot"):
        within, inband, n, logs = 0, 0, 0, []
        for c, pred, band in results:
            if metric not in c.meas or metric not in pred:
                continue
            meas, p = c.meas[metric], pred[metric]
            n += 1
            within += abs(p / meas - 1) <= TOL[metric]
            lo, hi = band[1] if metric == "ttft" else band[0]
            inband += (p / hi <= meas <= p / lo) if metric == "tok_s" else (p * lo <= meas <= p * hi)
            logs.append(math.log(p / meas))
        if n:
            logs.sort()
            # the band's factor at the 5th / 95th percentile: measured / predicted for latencies,
            # predicted / measured for throughput (the way the band is applied)
            f = sorted(-x for x in logs) if metric != "tok_s" else logs
            q = {"band_p5": round(math.exp(f[int(0.05 * (n - 1))]), 2), "band_p95": round(math.exp(f[int(0.95 * (n - 1))]), 2)}
            out[metric] = {"rows": n, "within": within / n, "in_band": inband / n, "median_ratio": math.exp(logs[len(logs) // 2]), **q}
    return out


# A (generation, engine) pair is fitted only from this many training rows; below it the
# generation x engine factors stand unscaled (docs/llm.md, "Efficiency factors"). Not tuned: no
# pair has between 3 and 19 training rows, so any threshold in that range gives the same table.
MIN_FIT_ROWS = 10


# The refit keeps each (generation, engine, scale) at the table's current value unless the
# training rows exclude that value: a 95 % profile-likelihood interval. The fit's cost is a
# (capped) sum of squared log errors over n values, so with the residual variance
# s2 = cost_min / (n - 3), a scale's current value v is excluded when the cost with that scale
# held at v and the other two refitted exceeds cost_min + CHI2_95 x s2 (Wilks: twice the
# log-likelihood ratio of one parameter is chi-square with one degree of freedom). Scales
# excluded are refitted with the kept ones at their current values. The values of one row are
# not independent (one model error moves its TTFT, TPOT and tok/s together), so the interval is
# if anything too narrow: it errs towards moving a scale. Decided 2026-12-07 before scoring.
CHI2_95 = 3.841


def _cost(points: list[Observed]) -> Callable[[float, float, float], float]:
    """The fit's objective (calibrate's: capped squared log errors + the light prior), cached."""
    seen: dict[tuple[float, float, float], float] = {}

    def cost(c: float, m: float, o: float) -> float:
        if (c, m, o) not in seen:
            cal = Calibration(compute=c, memory=m, overhead=o)
            sse = sum(min(e * e, CAP) for p in points for e in _errors(p, cal))
            seen[c, m, o] = sse + LIGHT_PRIOR * sum(math.log(x) ** 2 for x in (c, m, o))
        return seen[c, m, o]

    return cost


def _search(cost: Callable[[float, float, float], float], fixed: dict[int, float]) -> tuple[float, tuple[float, float, float]]:
    """calibrate's coarse-then-fine grid search over the scales not in ``fixed`` (index: value)."""
    axes = [(fixed[i],) if i in fixed else (OVERHEAD_GRID if i == 2 else GRID) for i in range(3)]
    best = min(((cost(*x), x) for x in itertools.product(*axes)), key=lambda t: t[0])
    fine = [(1.0,) if i in fixed else FINE for i in range(3)]
    for f in itertools.product(*fine):
        x = (round(best[1][0] * f[0], 4), round(best[1][1] * f[1], 4), round(best[1][2] * f[2], 4))
        v = cost(*x)
        if v < best[0] - 1e-12:
            best = (v, x)
    return best


def refit(points: list[Observed], current: tuple[float, float, float]) -> tuple[tuple[float, float, float], str]:
    """The pair's scales under the rule above, and what it decided (for the printed table)."""
    cost = _cost(points)
    cal, _ = calibrate(points, prior=LIGHT_PRIOR)
    free = (cal.compute, cal.memory, cal.overhead)
    profiles = [_search(cost, {i: current[i]}) for i in range(3)]
    low = min([cost(*free)] + [v for v, _ in profiles])
    n = sum(len(_errors(p, Calibration())) for p in points)
    s2 = low / max(1, n - 3)
    kept = {i: current[i] for i in range(3) if profiles[i][0] - low <= CHI2_95 * s2}
    if len(kept) == 3:
        scales = current
    elif not kept:
        scales = free
    else:
        scales = _search(cost, kept)[1]
    why = ", ".join(
        f"{name} {'kept' if i in kept else f'{current[i]:.3f} out'} (+{(profiles[i][0] - low) / s2:.1f} s2)"
        for i, name in enumerate(("compute", "memory", "overhead"))
    )
    return scales, f"{n} values; free fit ({free[0]:.3f}, {free[1]:.3f}, {free[2]:.3f}); {why}"


def fit_factors(train: list[Case]) -> int:
    """Refit (compute, memory, overhead) scales per (generation, engine) on training rows only,
    each scale kept at its current table value unless the rows exclude it (:func:`refit`)."""
    from scaleplan.llm import perf

    current = dict(perf.FITTED_SCALES)
    perf.FITTED_SCALES.clear()
    groups: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for c in train:
        groups[(hardware_for(ACCS[c.acc]).generation, c.engine)].append(c)
    print("FITTED_SCALES = {")
    for key in sorted(groups):
        cs = sorted(groups[key], key=lambda x: int(x.row["row_id"]))
        if len(cs) < MIN_FIT_ROWS:  # too little evidence: the documented factors stand
            print(f"    # {key!r}: not fitted, {len(cs)} training rows (< {MIN_FIT_ROWS})")
            continue
        step = max(1, len(cs) // 120)
        (c, m, o), why = refit([observed(x) for x in cs[::step][:120]], current.get(key, (1.0, 1.0, 1.0)))
        print(f"    {key!r}: ({c:.3f}, {m:.3f}, {o:.3f}),  # {len(cs)} training rows")
        print(f"    #   {why}", flush=True)
    print("}")
    return 0


def split_cases(cases: list[Case], split: str = "both") -> tuple[list[Case], list[Case]]:
    """(training rows, held-out rows) in row order; with ``split == "train"`` no held-out row
    is returned, so that a candidate change is chosen without scoring or printing the
    held-out third (issue 15's discipline: that third is scored once per accepted change;
    the usability check still runs the model on every row, its result unseen)."""
    train = [c for c in cases if not c.test]
    test = [c for c in cases if c.test] if split == "both" else []
    return train, test


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "llm")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--rows", action="store_true", help="print every usable row's prediction")
    ap.add_argument("--fit", action="store_true", help="fit the per-(generation, engine) scales on the training rows and print them (for scaleplan/llm/perf.py)")
    ap.add_argument("--split", choices=("both", "train"), default="both", help="score the held-out third too (both) or the training rows alone (train: for choosing a change without seeing the held-out rows)")
    ap.add_argument("--closed-loop", choices=("steady", "replay"), default="steady", help="how closed-loop rows are modelled (docs/llm.md)")
    ap.add_argument("--burst", choices=("replay", "steady"), default="replay",
                    help="how burst rows (all requests at t = 0) are modelled (docs/llm.md)")
    ap.add_argument("--burst-calibration", choices=("steady", "replay"), default="steady",
                    help="how burst rows are read as calibration points (docs/llm.md)")
    a = ap.parse_args(argv)
    global CLOSED_LOOP, BURST, BURST_CALIBRATION, SHAREGPT
    CLOSED_LOOP, BURST, BURST_CALIBRATION = a.closed_loop, a.burst, a.burst_calibration
    SHAREGPT = sharegpt_sample(a.data.parent)
    SERVER_FLAGS.update({r.row_id: server_flags(r) for r in read_rows(a.data.parent)})
    t0 = time.perf_counter()
    with (a.data / "llm_serving_measurements.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    DUPLICATE_OF.update(duplicates(rows))
    cases: list[Case] = []
    unusable: Counter[str] = Counter()
    for r in rows:
        c = classify(r)
        if isinstance(c, str):
            unusable[c] += 1
            continue
        if why := model_reason(c):
            unusable[why] += 1
            continue
        cases.append(c)
    train, test = split_cases(cases, a.split)
    if a.fit:
        return fit_factors(train)
    usable = len(cases)
    cases = [c for c in cases if not c.test or test]  # row order kept
    report: dict[str, object] = {"rows": len(rows), "usable": usable, "train": len(train), "held_out": len(test), "unusable": dict(unusable.most_common())}

    arch_only = {name: score([(c, predict(c), bands_for(c, ARCH_BANDS)) for c in part]) for name, part in (("train", train), ("held_out", test))}
    report["architecture_only"] = arch_only

    # calibrated from one other GPU: same (model, engine, dtype), another accelerator, training rows
    by_group: dict[tuple[str, str, str], dict[str, list[Case]]] = defaultdict(lambda: defaultdict(list))
    for c in train:
        by_group[c.group][c.acc].append(c)
    cals: dict[tuple[tuple[str, str, str], str], Calibration | None] = {}

    def calibration_for(c: Case) -> tuple[Calibration | None, str]:
        others = {acc: cs for acc, cs in by_group.get(c.group, {}).items() if acc != c.acc}
        if not others:
            return None, ""
        src = sorted(others, key=lambda x: (-len(others[x]), x))[0]
        key = (c.group, src)
        if key not in cals:
            pts = sorted(others[src], key=lambda x: int(x.row["row_id"]))
            step = max(1, len(pts) // 16)
            fitted, _ = calibrate([observed(x) for x in pts[::step][:16]])
            cals[key] = fitted if fitted.calibrated else None
        return cals[key], src

    cal_results: dict[str, list[tuple[Case, dict[str, float], Bands]]] = {"train": [], "held_out": []}
    no_cal = 0
    rows_out = []
    for c in cases:
        cal, src = calibration_for(c)
        base = predict(c)
        rec = {"row_id": c.row["row_id"], "split": "held_out" if c.test else "train", "model": c.preset, "gpu": c.acc, "engine": c.engine, "dtype": c.dtype, "tp": c.tp, "mode": c.mode, "I": c.i, "O": c.o, "n": c.n, "measured": c.meas, "architecture_only": {k: round(v, 3) for k, v in base.items() if k in c.meas}}
        if cal is None:
            no_cal += 1
        else:
            pred = predict(c, cal)
            split = "held_out" if c.test else "train"
            cal_results[split].append((c, pred, bands_for(c, CAL_BANDS)))
            rec["calibrated_from"] = src
            rec["calibrated"] = {k: round(v, 3) for k, v in pred.items() if k in c.meas}
        rows_out.append(rec)
    report["calibrated_from_other_gpu"] = {k: score(v) for k, v in cal_results.items()}
    report["calibrated_rows_without_other_gpu"] = no_cal
    report["seconds"] = round(time.perf_counter() - t0, 1)
    if a.json:
        a.json.write_text(json.dumps({**report, "cases": rows_out}, indent=1))
    if a.rows:
        for rec in rows_out:
            print(json.dumps(rec))
    held = f"held out {len(test)}" if test else "held out not scored (--split train)"
    print(f"rows {len(rows)}, usable {usable} (train {len(train)}, {held}); {report['seconds']} s")
    print("unusable:")
    for why, k in unusable.most_common():
        print(f"  {k:5d}  {why}")
    for title, res in (("architecture-only", arch_only), ("calibrated from one other GPU", report["calibrated_from_other_gpu"])):
        print(f"{title}:")
        for split, sc in res.items():  # type: ignore[union-attr]
            for metric, s in sc.items():
                goal = GOAL[metric]
                print(f"  {split:8s} {metric:5s} rows {s['rows']:4d}  within +-{TOL[metric]:.0%}: {s['within']:.0%} (goal {goal:.0%})  in band: {s['in_band']:.1%} (goal 90%)  median pred/meas {s['median_ratio']:.2f}  band 5-95 %: {s['band_p5']}-{s['band_p95']}")
    print("architecture-only by mode (held out): rows and share within tolerance")
    for mode in sorted({c.mode for c in test}):
        sc = score([(c, predict(c), bands_for(c, ARCH_BANDS)) for c in test if c.mode == mode])
        print(f"  {mode:26s} " + "  ".join(f"{m} {v['rows']:3d} {v['within']:.0%}" for m, v in sc.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
