"""bench/llm_validation.py: the harness settings it models rows with (docs/llm.md)."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import load_script

from scaleplan.catalog.files import load_accelerators
from scaleplan.llm import preset
from scaleplan.llm.memory import EngineSettings
from scaleplan.llm.perf import Deployment, serve_class
from scaleplan.llm.serving import hardware_for

BENCH = Path(__file__).resolve().parents[1] / "bench" / "llm_validation.py"
ACCS = {a.name: a for a in load_accelerators()}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH)


@pytest.fixture(scope="module")
def rows(shared_dir: Path) -> dict[str, dict[str, str]]:
    """The measurement rows by row_id."""
    path = shared_dir / "data" / "llm" / "llm_serving_measurements.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["row_id"]: r for r in csv.DictReader(fh)}


def test_trtllm_bench_limits_follow_its_tuning_heuristic(bench: ModuleType) -> None:
    # the TensorRT-LLM perf-overview's own example (Llama-2-7B, 128/128 on one GPU: far more
    # than 4,096 requests fit) prints "Max Runtime Batch Size: 4096, Max Runtime Tokens: 8192"
    assert bench.trtllm_bench_limits(20_000, 128, 128, 1) == (4096, 8192)
    # few requests fit: at least 64, rounded up to 32; tokens = requests x (1 + I/O), at least 2,048
    assert bench.trtllm_bench_limits(40, 2048, 128, 1) == (64, 2048)
    assert bench.trtllm_bench_limits(300, 2048, 128, 1) == (384, 5120)  # 300 x 17 = 5,100 -> 512s
    assert bench.trtllm_bench_limits(1500, 5000, 500, 1) == (1536, 17408)  # 16,500 -> 1,024s
    assert bench.trtllm_bench_limits(5000, 20_000, 2000, 1) == (4096, 32768)  # both capped
    assert bench.trtllm_bench_limits(5000, 20_000, 2000, 2) == (2048, 22528)  # per PP stage


def test_offline_trtllm_rows_run_at_what_the_cache_holds_at_full_length(
    bench: ModuleType, rows: dict[str, dict[str, str]]
) -> None:
    # Llama-3.1-70B FP8 on one H100, 128/4096 tokens, trtllm-bench
    c = bench.classify(rows["269"])
    d, mem = bench.deployment(c)
    full = mem.max_sequences(c.i + c.o, d.arch, c.kv)
    limits = (d.settings.max_num_seqs, d.settings.max_num_batched_tokens)
    assert limits == bench.trtllm_bench_limits(full, 128, 4096, 1)
    # GUARANTEED_NO_EVICT: the prompt plus the whole completion is reserved per request
    assert bench.saturation_concurrency(d, mem, c.i, c.o) == pytest.approx(full, abs=1)


def test_inferencex_rows_run_as_its_client_and_launch_scripts_ran_them(
    bench: ModuleType, shared_dir: Path, rows: dict[str, dict[str, str]]
) -> None:
    sim_rows = bench.read_rows(shared_dir / "data")
    bench.SERVER_FLAGS.update({r.row_id: bench.server_flags(r) for r in sim_rows})
    # Llama-3.1-70B NVFP4 on one B200, TensorRT-LLM, 1,024 / 1,024 tokens, 8 clients: InferenceX
    # draws lengths uniformly from [819, 1024] (mean 921.5), and its launch script holds context
    # batches back for up to 20 steps at 1K / 1K below TP 8
    c = bench.classify(rows["1867"])
    assert (c.i, c.o) == (922, 922)
    d, _ = bench.deployment(c)
    assert d.settings.batch_wait_iters == 20 and d.settings.recv_interval == 1
    # the same model at TP 8 runs without it
    tp8 = next(r for r in rows.values() if r["source_id"] == "aiconfigurator_silicon_sample"
               and r["model"] == "Llama-3.1-70B" and r["engine"].startswith("TensorRT-LLM")
               and r["tp"] == "8" and (r["input_tokens"], r["output_tokens"]) == ("1024", "1024"))
    assert bench.deployment(bench.classify(tp8))[0].settings.batch_wait_iters == 0
    # DeepSeek-R1 NVFP4 SGLang on B200 at 32 clients: receives every 30 decode steps, FP8 KV
    c = bench.classify(rows["1156"])
    d, _ = bench.deployment(c)
    assert (d.settings.recv_interval, d.settings.max_num_batched_tokens, c.kv) == (30, 16384, "fp8")
    # rows of other collections keep their stated lengths and the engine's defaults
    c = bench.classify(rows["269"])
    assert (c.i, c.o) == (128, 4096)


def test_split_train_leaves_the_held_out_third_unscored(bench: ModuleType) -> None:
    from types import SimpleNamespace

    cases = [SimpleNamespace(test=t, name=i) for i, t in enumerate((False, True, False, True))]
    train, test = bench.split_cases(cases, "both")
    assert [c.name for c in train] == [0, 2] and [c.name for c in test] == [1, 3]
    train, test = bench.split_cases(cases, "train")
    assert [c.name for c in train] == [0, 2] and test == []


def test_perf_overview_moe_rows_on_several_gpus_are_attention_dp(
    bench: ModuleType, rows: dict[str, dict[str, str]]
) -> None:
    # TensorRT-LLM's perf overview runs its MoE models with --ep and enable_attention_dp (its
    # "For MoE models" command): Qwen3-30B-A3B FP4 on 8 RTX PRO 6000s, 128 / 2048 tokens, is
    # attention DP x EP (52,676 tok/s, 4.2x one GPU's 12,540 over PCIe), not TP 8
    assert rows["733"]["tp"] == "8" and "enable_attention_dp" in rows["733"]["notes"]
    assert bench.classify(rows["733"]) == "attention data parallel / expert parallel (not modelled)"
    # the same model on one GPU, and a dense model of the same collection at TP 8, are modelled
    assert rows["730"]["tp"] == "1" and not isinstance(bench.classify(rows["730"]), str)
    dense = next(r for r in rows.values() if r["source_id"] == rows["733"]["source_id"]
                 and r["model"].startswith("Llama-3.1-405B") and r["tp"] == "8")
    assert not isinstance(bench.classify(dense), str)


def test_a_finite_run_at_a_rate_counts_its_drain_tail(
    bench: ModuleType, rows: dict[str, dict[str, str]]
) -> None:
    from types import SimpleNamespace

    # 500 requests at 16 req/s: the last arrives at 31.25 s and takes its own service to finish
    run = SimpleNamespace(rate=16.0, o=214, row={"num_requests": "500"})
    assert bench.finite_run_tok_s(run, 4_750.0, 32.0) == pytest.approx(500 * 214 / 36.0)
    # the run cannot end before the server's saturation capacity has served all of them
    assert bench.finite_run_tok_s(run, 4_750.0, 10.0) == pytest.approx(10.0 * 214)
    # no request count: an endless run serves what it is offered
    endless = SimpleNamespace(rate=16.0, o=214, row={"num_requests": ""})
    assert bench.finite_run_tok_s(endless, 4_750.0, 32.0) == pytest.approx(16.0 * 214)
    # Llama-3.1-70B on 4 H100s (TensorRT-LLM v0.14, Triton), 500 requests at 16 req/s
    c = bench.classify(rows["160"])
    assert bench.predict(c)["tok_s"] < 16 * 214 * 0.9


def test_one_measurement_listed_twice_is_counted_once(
    bench: ModuleType, rows: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiconfigurator's silicon sample lists some runs in two of its source files: TensorRT-LLM
    # 1.2.0rc6.post2, DeepSeek FP4, 4 x B200, 1,024 / 1,024 tokens, 4 clients, measured on
    # 2026-02-03, once as DeepSeek-R1 (row 1369) and once as DeepSeek-V3 (row 1754, one
    # architecture): the same TTFT and TPOT to the third decimal
    a, b = rows["1369"], rows["1754"]
    assert (a["model"], b["model"]) == ("DeepSeek-R1", "DeepSeek-V3")
    assert (a["ttft_ms_unspecified_stat"], a["tpot_ms_unspecified_stat"]) == (
        b["ttft_ms_unspecified_stat"], b["tpot_ms_unspecified_stat"])
    assert a["notes"] != b["notes"]  # the source files differ, so the data's own dedup kept both
    ordered = sorted(rows.values(), key=lambda r: int(r["row_id"]))
    dup = bench.duplicates(ordered)
    assert dup["1754"] == "1369" and "1369" not in dup
    # the copy would be held out while its twin is a training row: the split was not independent
    assert not bench.held_out("1369") and bench.held_out("1754")
    # two runs of one condition whose values differ are both kept (rows 1279 / 1280: TTFT 410
    # and 199 ms at 8 clients)
    assert "1279" not in dup and "1280" not in dup
    monkeypatch.setattr(bench, "DUPLICATE_OF", dup)
    assert bench.classify(rows["1754"]) == (
        "the same measurement as an earlier row (listed twice by its source)")
    assert not isinstance(bench.classify(rows["1369"]), str)


def _points(truth: tuple[float, float, float]) -> list[Any]:
    """Measured points of Llama-3.1-8B on one H100 (vLLM) as a server with ``truth``'s scales
    serves them, each value off by a fixed +-6 % (measurement noise, deterministic)."""
    from scaleplan.llm.calibrate import Observed
    from scaleplan.llm.perf import Calibration, serve_class

    h100 = hardware_for(ACCS["H100"])
    d = Deployment(preset("llama-3.1-8b"), h100, "bf16", "bf16", EngineSettings.of("vllm"))
    served = d.with_calibration(Calibration(compute=truth[0], memory=truth[1], overhead=truth[2]))
    out = []
    for k, (i, o, n) in enumerate(itertools.product((256, 2048, 8192), (128, 512), (1, 8, 64))):
        p = serve_class(served, i, o, n)
        f = (1.06, 0.94, 1.0)
        meas = (p.ttft_ms * f[k % 3], p.tpot_ms * f[(k + 1) % 3])
        meas += (p.output_tokens_per_s * f[(k + 2) % 3],)
        out.append(Observed(d, i, o, n, *meas))
    return out


def test_the_refit_keeps_a_scale_its_rows_cannot_tell_from_the_tables(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaleplan.llm import perf

    # scales on the documented factors alone (as --fit fits them), away from the clamps; the
    # server's truth sits on the fit's grid (compute 0.35 x 1.25^5, memory 0.35 x 1.25^4)
    monkeypatch.setattr(perf, "FITTED_SCALES", {})
    truth = (1.0681, 0.8545, 1.0)
    points = _points(truth)
    # a table at the truth stays as it is
    assert bench.refit(points, truth)[0] == truth
    # a compute scale half the truth is excluded by the rows and refitted to the truth; the
    # memory 3 % off, which the noise hides, stays where the table had it (a free fit moves it)
    table = (0.534, 0.88, 1.0)
    free = bench.calibrate(points, prior=bench.LIGHT_PRIOR)[0]
    scales, why = bench.refit(points, table)
    assert scales[0] == pytest.approx(truth[0], rel=0.1), why
    assert scales[1:] == table[1:], why
    assert "compute 0.534 out" in why and "memory kept" in why, why
    assert free.memory != table[1]


def test_closed_loops_whose_client_draws_lengths_are_read_as_drawn(
    bench: ModuleType, rows: dict[str, dict[str, str]]
) -> None:
    # InferenceX draws each request's lengths from [0.8 L, L]; gpustack's runs sample ShareGPT;
    # aiconfigurator's own collection and NVIDIA NIM's synthetic runs send the row's lengths
    drawn = {rid: bench.drawn_lengths(bench.classify(rows[rid]))
             for rid in ("1867", "1013", "2753", "959")}
    assert drawn == {"1867": True, "1013": True, "2753": False, "959": False}
    # and the row is predicted, and read as a calibration point, that way
    c = bench.classify(rows["1867"])
    assert c.mode == "online_fixed_concurrency" and bench.observed(c).drawn
    assert not bench.observed(bench.classify(rows["2753"])).drawn
    d, mem = bench.deployment(c)
    assert c.n <= bench.saturation_concurrency(d, mem, c.i, c.o)  # every client runs
    drawn_ttft = serve_class(d, c.i, c.o, c.n, drawn=True).ttft_ms
    assert drawn_ttft < serve_class(d, c.i, c.o, c.n).ttft_ms
    assert bench.predict(c)["ttft"] == pytest.approx(drawn_ttft)
