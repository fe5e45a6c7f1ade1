"""bench/llm_sim_validation.py: the benchmark clients it replays and the calibration on one row
(docs/simulate.md, "LLM validation against measurements")."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import load_script

BENCH = Path(__file__).resolve().parents[1] / "bench" / "llm_sim_validation.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH)


def test_lengths_are_drawn_as_the_random_dataset_draws_them(bench: ModuleType) -> None:
    rng = np.random.default_rng(0)
    x = bench.lengths(rng, 1024, 20_000, 0.8)
    # vLLM benchmark_serving.py: np.random.randint(int(1024 * 0.8), 1024 + 1)
    assert x.min() == 819 and x.max() == 1024
    assert x.mean() == pytest.approx((819 + 1024) / 2, rel=0.005)
    assert (bench.lengths(rng, 1024.4, 5, 1.0) == 1024).all()


def _rows(bench: ModuleType, shared_dir: Path) -> dict[str, object]:
    return {r.row_id: r for r in bench.read_rows(shared_dir / "data")}


def test_inferencex_rows_replay_its_client(bench: ModuleType, shared_dir: Path) -> None:
    rows = _rows(bench, shared_dir)
    r = rows["1153"]  # DeepSeek-R1 SGLang B200 TP4, 1024/1024, concurrency 4, from InferenceX
    assert (r.client, r.range_ratio) == ("inferencex", 0.8)
    assert (r.ttft_stat, r.tpot_stat) == ("mean", "mean")
    assert bench.requests_of(r) == 40  # --num-prompts CONC * 10
    # an aiconfigurator row from another collection: client unknown, fixed lengths, unstated stat
    aic = [x for x in rows.values() if x.source == "aiconfigurator_silicon_sample"]
    other = next(x for x in aic if x.client == "")
    assert other.range_ratio == 1.0 and other.ttft_stat == "unstated"
    assert bench.requests_of(other) == max(4 * other.concurrency, 32)


def _fit_first_row(bench: ModuleType, shared_dir: Path, row_id: str) -> tuple[Any, Any]:
    """(the row, the bench's one-row fit on it), the group's calibration row being ``row_id``."""
    rows = bench.read_rows(shared_dir / "data")
    base = next(rs for rs in bench.groups(rows).values() if rs[0].row_id == row_id)[0]
    d, kv, seqs, budget, _ = bench.deployment(base)
    return base, bench.calibrate_on(base, d, kv, seqs, budget)


def test_calibration_reproduces_its_own_row(bench: ModuleType, shared_dir: Path) -> None:
    base, fit = _fit_first_row(bench, shared_dir, "1153")
    # the row measured 388 ms / 9.09 ms; the compute-and-memory fit gave 130 ms / 14.4 ms
    assert fit.ttft == pytest.approx(base.ttft, rel=0.02)
    assert fit.tpot == pytest.approx(base.tpot, rel=0.02)
    assert fit.frontend_s >= 0.0


def test_sharegpt_rows_draw_from_a_sharegpt_run(bench: ModuleType, shared_dir: Path) -> None:
    rows = _rows(bench, shared_dir)
    r = rows["1136"]  # gpustack, ShareGPT, mean 232.6 / 220.61 tokens, concurrency 4
    assert r.client == "sharegpt" and len(r.sample) == 200
    inp, out = bench.sampled_lengths(np.random.default_rng(0), r.sample, 20_000, r.isl, r.osl)
    assert inp.mean() == pytest.approx(r.isl, rel=0.03)
    assert out.mean() == pytest.approx(r.osl, rel=0.03)
    assert inp.std() > 0.5 * r.isl  # ShareGPT's spread, not the mean repeated
    assert rows["1153"].sample == ()


def test_inferencex_sglang_rows_replay_the_launch_scripts_flags(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # DeepSeek-R1 NVFP4 SGLang on B200 (dsr1_fp4_b200.sh): receive every 10 decode steps below
    # concurrency 16, every 30 from it; 16,384-token chunks; FP8 KV cache, 85 % of the memory
    assert bench.server_flags(rows["1153"]) == bench.Flags(16384, 10, "fp8", 0.85)  # c=4
    assert bench.server_flags(rows["1156"]) == bench.Flags(16384, 30, "fp8", 0.85)  # c=32
    # the FP8 TP 4 script's 95 % of the memory and FP8 KV cache fit what 16-bit KV at SGLang's
    # default 88 % did not (the LLM model refused the group before)
    _, kv, *_ = bench.deployment(rows["1256"])
    assert kv > 0
    # rows of other engines or collections run the LLM model's engine defaults
    ix = [r for r in rows.values() if r.client == "inferencex"]
    vllm = [r for r in ix if bench._engine(r.engine) == "vllm"]
    other = next(r for r in vllm if r.model.startswith("gpt-oss"))
    assert bench.server_flags(other) == bench.Flags()


def test_inferencex_vllm_llama_rows_replay_the_scripts_fp8_kv_cache(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # Llama-3.1-70B NVFP4 on vLLM, one B200, 8,192/1,024 tokens, 64 clients: the 70b vLLM
    # scripts' config.yaml sets kv-cache-dtype fp8. With the 16-bit default the replay's cache
    # held fewer than the 64 clients' sequences and queued them (TTFT 15.4 s against 1.9 s
    # measured); at FP8 it holds them all
    r = rows["2024"]
    assert bench.server_flags(r) == bench.Flags(kv_dtype="fp8")
    d, kv, *_ = bench.deployment(r)
    assert d.kv_dtype == "fp8"
    assert kv >= 64 * (r.isl + r.osl)


def test_tensorrt_llm_fp8_and_fp4_checkpoints_replay_an_fp8_kv_cache(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # Llama-3.1-70B NVFP4 on TensorRT-LLM (B200): the checkpoint's kv_cache_quant_algo is FP8
    # and trtllm's KV dtype "auto" follows it, as bench/llm_validation.py assumes
    d, *_ = bench.deployment(rows["1867"])
    assert d.kv_dtype == "fp8"
    # vLLM keeps the 16-bit default (--kv-cache-dtype auto) unless a script sets it (the
    # InferenceX Llama-3.1-70B scripts do: below); Qwen3-32B of the other collection does not
    d, *_ = bench.deployment(rows["3037"])
    assert d.kv_dtype == "bf16"


def test_rows_faster_than_their_calibration_row_are_counted(bench: ModuleType) -> None:
    """A row whose measured TTFT is more than 20 % below its group's lowest-load row is out of
    reach of any replay whose wait grows with load; the summary counts such rows."""
    results = [
        {"row": "1", "role": "calibration", "ttft": 500.0},
        {"row": "2", "role": "simulated", "ttft": 300.0},  # 500 / 300 > 1.2: counted
        {"row": "3", "role": "simulated", "ttft": 450.0},  # within 20 %: not counted
        {"row": "4", "role": "calibration", "ttft": 100.0},
        {"row": "5", "role": "simulated", "ttft": 300.0},  # slower than its own group's row
        {"row": "6", "role": "not simulated", "ttft": 10.0},
    ]
    groups = {"1": ("a",), "2": ("a",), "3": ("a",), "4": ("b",), "5": ("b",), "6": ("b",)}
    assert bench.ttft_below_calibration(results, groups) == 1


def test_misses_are_broken_down_by_what_misses_first(bench: ModuleType) -> None:
    def sim(row: str, ttft: float, tpot: float) -> dict[str, object]:
        return {"row": row, "role": "simulated", "ttft": 100.0, "tpot": 10.0,
                "sim_ttft": ttft, "sim_tpot": tpot}

    results = [
        {"row": "1", "role": "calibration", "ttft": 100.0, "tpot": 10.0},
        sim("2", 100.0, 10.0),  # within: not a miss
        sim("3", 50.0, 10.0),  # TTFT under at 4x the calibration load
        sim("4", 50.0, 5.0),  # both under at 1.5x: counted once, by TTFT
        sim("5", 150.0, 10.0),  # TTFT over
        sim("6", 100.0, 13.0),  # TPOT alone over
        sim("7", 100.0, 7.0),  # TPOT alone under
        {"row": "8", "role": "not simulated", "ttft": 100.0, "tpot": 10.0},
    ]
    group = {str(i): ("g",) for i in range(1, 9)}
    load = {"1": 8.0, "2": 16.0, "3": 32.0, "4": 12.0, "5": 16.0, "6": 16.0, "7": 16.0, "8": 64.0}
    assert bench.miss_causes(results, load, group) == {
        "TTFT under, beyond 2x the calibration load": 1, "TTFT under, within 2x": 1,
        "TTFT over": 1, "TPOT alone over": 1, "TPOT alone under": 1,
    }


def test_rows_are_counted_by_how_much_of_the_calibration_ttft_is_front_end(
    bench: ModuleType,
) -> None:
    """The summary's ``by_front_end``: simulated rows within ±20 % on both, by the share of their
    group's calibration TTFT that the one-row fit gave to the front end (none, at most half,
    over half); rows of a group without a calibration row are not counted."""

    def sim(row: str, ttft: float) -> dict[str, object]:
        return {"row": row, "role": "simulated", "ttft": 100.0, "tpot": 10.0,
                "sim_ttft": ttft, "sim_tpot": 10.0}

    results = [
        {"row": "1", "role": "calibration", "ttft": 100.0, "tpot": 10.0, "front_end_ms": 0.0},
        sim("2", 100.0), sim("3", 50.0),
        {"row": "4", "role": "calibration", "ttft": 100.0, "tpot": 10.0, "front_end_ms": 50.0},
        sim("5", 110.0),
        {"row": "6", "role": "calibration", "ttft": 100.0, "tpot": 10.0, "front_end_ms": 80.0},
        sim("7", 60.0), sim("8", 95.0), sim("9", 40.0),
        sim("10", 100.0),  # its group has no calibration row (not simulated)
        {"row": "11", "role": "not simulated", "ttft": 100.0, "tpot": 10.0},
    ]
    group = {"1": ("a",), "2": ("a",), "3": ("a",), "4": ("b",), "5": ("b",), "6": ("c",),
             "7": ("c",), "8": ("c",), "9": ("c",), "10": ("d",), "11": ("c",)}
    assert bench.by_front_end(results, group) == {
        "none": [1, 2], "at most half": [1, 1], "over half": [1, 3],
    }


def test_tensorrt_rows_of_an_unnamed_client_replay_a_steady_state(
    bench: ModuleType, shared_dir: Path
) -> None:
    from dataclasses import replace

    rows = _rows(bench, shared_dir)
    # aiconfigurator's other collection: TensorRT-LLM at fixed lengths, client not named
    trt = rows["2567"]  # Qwen3-235B-A22B FP8, 4 x H100, 256/128, 128 clients
    assert trt.client == "" and bench.steady_state(trt)
    assert not bench.steady_state(rows["2773"])  # SGLang, same collection: lockstep start
    assert not bench.steady_state(rows["1153"])  # InferenceX's client (random lengths)
    d, kv, seqs, budget, _ = bench.deployment(trt)
    steady = bench.simulate_row(trt, d, kv, seqs, budget)
    # the same loop with every client starting at t = 0 prefills cohorts: a longer TTFT
    lockstep = bench.simulate_row(replace(trt, client="lockstep"), d, kv, seqs, budget)
    assert steady[0] < 0.8 * lockstep[0]


def test_inferencex_tensorrt_llm_rows_carry_the_launch_scripts_delayed_batching(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # 70b_*_trt_slurm.sh: batch_wait_timeout_iters 20 at 1K / 1K below TP 8 (row 1867: TP 1)
    want = bench.Flags(batch_wait_iters=20, batch_wait_ratio=0.9)
    assert bench.server_flags(rows["1867"]) == want
    # dsr1_fp8_b200_trt.sh: 40 at 1K / 1K from 64 to 255 clients (row 1390: 64 clients)
    want = bench.Flags(batch_wait_iters=40, batch_wait_ratio=0.8)
    assert bench.server_flags(rows["1390"]) == want
    # the same script below 64 clients, and 1K / 8K tokens, run without it
    ix = [r for r in rows.values() if r.client == "inferencex"]
    trt = [r for r in ix if bench._engine(r.engine) == "trtllm"]
    assert all(bench.server_flags(r) == bench.Flags() for r in trt if r.osl == 8192)
    short = [r for r in trt if r.model.startswith("DeepSeek") and r.isl == r.osl == 1024]
    assert any(bench.server_flags(r) == bench.Flags() for r in short if (r.concurrency or 0) < 64)


def test_groups_the_lockstep_replay_cannot_calibrate_replay_a_steady_state(
    bench: ModuleType, shared_dir: Path
) -> None:
    from dataclasses import replace

    gs = bench.groups(bench.read_rows(shared_dir / "data"))
    # vLLM, Qwen3-32B on 2 x H100, 1,024/1,024, 16 clients (other collection): 187 ms measured
    vllm = next(rs for rs in gs.values() if rs[0].row_id == "3046")[0]
    d, kv, seqs, budget, _ = bench.deployment(vllm)
    lock = bench.calibrate_on(vllm, d, kv, seqs, budget)
    assert lock.ttft > 1.5 * vllm.ttft  # the cohort's prefill alone takes longer
    assert bench.lockstep_too_slow(vllm, lock)
    steady = replace(vllm, client=bench.STEADY)
    assert bench.steady_state(steady)
    fit = bench.calibrate_on(steady, d, kv, seqs, budget)
    assert fit.ttft == pytest.approx(vllm.ttft, rel=0.05)  # within 2.5 % (lockstep: +107 %)
    # a fit that reached its row, and a row of a named client, keep the lockstep start
    assert not bench.lockstep_too_slow(vllm, replace(lock, ttft=vllm.ttft))
    ix = next(rs for rs in gs.values() if rs[0].row_id == "1153")[0]
    assert not bench.lockstep_too_slow(ix, replace(lock, ttft=10 * ix.ttft))


def test_tpot_without_overhead_left_undoes_the_ttft_fits_slow_compute(
    bench: ModuleType, shared_dir: Path
) -> None:
    # Qwen3-32B FP8, TensorRT-LLM, one H100, 1,024/128 tokens at 8 clients (the other
    # collection): 272 ms / 18.7 ms. Slowing compute to the floor for the TTFT made the loop's
    # prefill steps alone take most of the TPOT: the fit ran the overhead to its floor and sped
    # memory up to x1.25 instead (compute x0.5). The TPOT says prefill is faster than that.
    base, fit = _fit_first_row(bench, shared_dir, "2855")
    cal = fit.deployment.calibration
    assert cal.overhead == pytest.approx(bench.MIN_OVERHEAD_SCALE)
    assert cal.compute > 1.5 * bench.MIN_COMPUTE_SCALE
    assert cal.memory < 1.1
    assert fit.ttft == pytest.approx(base.ttft, rel=0.02)
    assert fit.tpot == pytest.approx(base.tpot, rel=0.02)


def test_calibration_row_rules_pick_by_load(bench: ModuleType) -> None:
    # a group's rows come sorted by load: the lowest, the lower or the upper median
    assert [bench.calibration_index(n) for n in (2, 3, 4)] == [0, 0, 0]
    assert [bench.calibration_index(n, "median") for n in (2, 3, 4, 5)] == [0, 1, 1, 2]
    assert [bench.calibration_index(n, "upper-median") for n in (2, 3, 4, 5)] == [1, 1, 2, 2]
    with pytest.raises(ValueError, match="calibration row rule"):
        bench.calibration_index(3, "highest")


def test_gpt_oss_labelled_nvfp4_on_hopper_replays_its_mxfp4_checkpoint(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # aiconfigurator labels gpt-oss-120b "nvfp4" on H100 too, where NVFP4 cannot run (no FP4
    # tensor cores; the LLM model refused these rows): the run served the model's own MXFP4
    # checkpoint, weight-only on Hopper
    r = rows["3307"]
    assert r.gpu_family == "H100" and bench._dtype(r, "") == "nvfp4"
    d, _, seqs, budget, what = bench.deployment(r)
    assert d.dtype == "mxfp4" and "mxfp4" in what
    # vLLM 0.18's API server on an 80 GB H100: max_num_seqs 1024, an 8,192-token budget
    assert (seqs, budget) == (1024, 8192)
    # on Blackwell the label can run as stated and is kept
    b200 = next(x for x in rows.values() if x.model.startswith("gpt-oss") and x.gpu_family == "B200"
                and x.dtype.startswith("fp4") and x.dp <= 1)
    assert bench.deployment(b200)[0].dtype == "nvfp4"


def test_the_data_ceiling_counts_what_a_monotone_model_could_meet(bench: ModuleType) -> None:
    def row(i: int, conc: int, ttft: float, tpot: float) -> object:
        return bench.Row(
            str(i), "s", "online_fixed_concurrency", "m", "vLLM", "H100", "H100", 1, 1, 1, 1,
            "bf16", "", 1024.0, 128.0, None, conc, None, ttft, "mean", tpot, "mean", ("k",),
        )

    cal = row(1, 4, 100.0, 10.0)
    # 8 clients: TTFT 30 % below the calibration row's (a model that never predicts less at a
    # higher load gives it at least 100 ms: not within 20 %); 16 clients: met (150 / 12 by
    # 120 / 10); 32 clients: TTFT 125 is met, TPOT 7.0 is not (the prediction is at least 10)
    rows = [cal, row(2, 8, 70.0, 10.0), row(3, 16, 150.0, 12.0), row(4, 32, 125.0, 7.0)]
    assert bench.ceiling(rows) == 1
    # with TPOT 9 at 32 clients one prediction (120 / 10) meets both 16 and 32
    assert bench.ceiling([*rows[:3], row(4, 32, 125.0, 9.0)]) == 2
    # a repeat of the calibration load gets the calibration row's value: within 20 % or not
    assert bench.ceiling([cal, row(5, 4, 110.0, 11.0)]) == 1
    assert bench.ceiling([cal, row(6, 4, 200.0, 10.0)]) == 0
    # below a middle calibration row a prediction may only fall
    middle = [row(7, 8, 100.0, 10.0), row(8, 4, 130.0, 10.0), row(9, 2, 90.0, 9.0)]
    assert bench.ceiling(middle) == 1


def test_inferencex_tp_times_ep_layouts_replay_the_runs_own_gpus(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = _rows(bench, shared_dir)
    # aiconfigurator id "..._c128_tp8_ep8_1039", recorded as tp_size=64, moe_tp 8 x moe_ep 8:
    # InferenceX's --tp 8 --ep 8 run on one 8-GPU node (its TTFT / TPOT equal row 1685's, the
    # same run from a database dump, and the same layout recorded as tp_size=8 elsewhere)
    r = rows["1246"]
    assert (r.tp, r.dp, r.ep) == (8, 1, 8)
    assert "x8" in bench.deployment(r)[4]
    assert (rows["1219"].tp, rows["1219"].ep) == (8, 8)  # the correct record is unchanged
    twin, alias = rows["1205"], rows["1228"]  # TP 4 EP 4 recorded as 4 and as 16: one run
    assert alias.tp == twin.tp == 4 and (alias.ttft, alias.tpot) == (twin.ttft, twin.tpot)
    # and the SGLang launch script of that TP (dsr1_fp8_b200.sh, TP 8) now applies
    assert bench.server_flags(rows["1189"]).budget == 32768
    notes = "tp_size={}, pp_size=1, attention_dp_size={}, moe_tp_size={}, moe_ep_size={}"
    assert bench.inferencex_layout(notes.format(64, 1, 8, 8), 64, 1) == (8, 1)
    assert bench.inferencex_layout(notes.format(1, 64, 8, 8), 1, 64) == (1, 8)  # DP attention
    # layouts that are what they say stay: MoE TP alone, EP alone, attention DP x EP
    for tp, dp, mt, me in ((8, 1, 8, 1), (8, 1, 1, 8), (1, 8, 1, 8), (4, 1, 2, 1)):
        assert bench.inferencex_layout(notes.format(tp, dp, mt, me), tp, dp) == (tp, dp)
    assert bench.inferencex_layout("", 16, 1) == (16, 1)


def test_vllm_server_batch_defaults_follow_the_gpu(bench: ModuleType) -> None:
    # vLLM V1's OpenAI server (EngineArgs batch defaults): >= 70 GiB and not an A100
    assert bench.vllm_server_batch_defaults(79.6, "H100") == (1024, 8192)
    assert bench.vllm_server_batch_defaults(178.0, "B200") == (1024, 8192)
    assert bench.vllm_server_batch_defaults(79.2, "A100-80GB") == (256, 2048)
    assert bench.vllm_server_batch_defaults(44.4, "L40S") == (256, 2048)


def test_sglang_chunked_prefill_default_follows_the_gpu_memory(bench: ModuleType) -> None:
    # SGLang server_args: < 35 GiB 2,048; < 160 GiB (A100, H100, H200) 8,192; else 16,384
    assert bench.sglang_chunked_prefill_default(22.0) == 2048
    assert bench.sglang_chunked_prefill_default(79.6) == 8192
    assert bench.sglang_chunked_prefill_default(139.8) == 8192
    assert bench.sglang_chunked_prefill_default(178.4) == 16384


def test_a_slow_low_load_tpot_is_fitted_by_the_steps_fixed_cost(
    bench: ModuleType, shared_dir: Path
) -> None:
    # gpt-oss-120b (MXFP4), TensorRT-LLM, 8 x H200, 1,024/1,024 tokens at 4 clients (InferenceX):
    # 4.38 ms. The fit had bounded the step overhead at x4.76 and slowed memory to its clamp,
    # which left the row at 3.04 ms (-31 %); the fixed cost alone reproduces it, and the
    # per-sequence host time stays at the tables' (not x10 for each sequence of a large batch)
    base, fit = _fit_first_row(bench, shared_dir, "3382")
    cal = fit.deployment.calibration
    assert fit.tpot == pytest.approx(base.tpot, rel=0.02)
    assert fit.ttft == pytest.approx(base.ttft, rel=0.02)
    assert cal.overhead > 4.76 and cal.memory == 1.0 and cal.per_sequence == 1.0
