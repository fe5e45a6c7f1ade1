"""The LLM room: memory arithmetic against hand computation, refusals, performance shape,
calibration, presets and config.json parsing (docs/llm.md)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from scaleplan.catalog.files import load_accelerators
from scaleplan.errors import InputError
from scaleplan.llm import (
    Refusal,
    TokenClass,
    from_hf_config,
    kv_bytes_per_token,
    load_architecture,
    memory_plan,
    preset,
    serve_class,
    setup,
    size,
    step_time_ms,
    weight_bytes,
)
from scaleplan.llm.arch import architecture_from_config
from scaleplan.llm.calibrate import Observed, calibrate, unsaturated
from scaleplan.llm.memory import GIB, EngineSettings, kv_bytes_per_token_per_gpu
from scaleplan.llm.perf import Calibration, Deployment, saturation_concurrency
from scaleplan.llm.serving import hardware_for, predict

ACCS = {a.name: a for a in load_accelerators()}


def test_llama_8b_kv_bytes_per_token_by_hand() -> None:
    a = preset("llama-3.1-8b")
    # K and V x 32 layers x 8 KV heads x 128 head dim x 2 bytes
    assert kv_bytes_per_token(a, "bf16") == 2 * 32 * 8 * 128 * 2 == 131_072
    assert kv_bytes_per_token(a, "fp8") == 65_536
    # TP4: 2 KV heads per GPU; TP16 would replicate one head per GPU
    assert kv_bytes_per_token_per_gpu(a, "bf16", 4) == 131_072 / 4
    assert kv_bytes_per_token_per_gpu(a, "bf16", 16) == 2 * 32 * 1 * 128 * 2


def test_parameter_counts_match_stated_counts() -> None:
    for name in ("llama-3.1-8b", "mixtral-8x7b", "qwen3-30b-a3b", "gpt-oss-120b", "qwen3-8b", "gemma-2-9b"):
        a = preset(name)
        assert a.stated_params_b is not None
        assert a.total_params / 1e9 == pytest.approx(a.stated_params_b, rel=0.015), name
    moe = preset("qwen3-30b-a3b")
    assert moe.active_params < 0.15 * moe.total_params  # "A3B": ~3B active


def test_weights_by_hand_for_llama_8b() -> None:
    a = preset("llama-3.1-8b")
    emb = 128_256 * 4096 * 2  # embedding + untied LM head
    layer = 4096 * 4096 * 2 + 2 * 4096 * 1024 + 3 * 4096 * 14_336
    assert a.total_params == emb + 32 * layer
    assert weight_bytes(a, "bf16") == 2 * a.total_params
    # fp8: linear layers 1 byte, embeddings stay 16-bit
    assert weight_bytes(a, "fp8") == emb * 2 + 32 * layer * 1
    # int4 AWQ: 4 bits + a fp16 scale and a 4-bit zero per 128 weights
    assert weight_bytes(a, "int4-awq") == pytest.approx(emb * 2 + 32 * layer * (0.5 + 2.5 / 128))


def test_mla_kv_is_the_latent() -> None:
    a = preset("deepseek-v3")
    assert a.is_mla and a.is_moe
    assert kv_bytes_per_token(a, "bf16") == 61 * (512 + 64) * 2


def test_70b_bf16_refused_on_one_80gb_gpu_with_numbers() -> None:
    a = preset("llama-3.1-70b")
    s = EngineSettings.of("vllm")
    with pytest.raises(Refusal) as e:
        memory_plan(a, 80, dtype="bf16", kv_dtype="bf16", settings=s, tp=1, max_model_len=8192, accelerator="H100")
    msg = str(e.value)
    assert "131.4 GiB" in msg and "72.0 GiB is usable" in msg


def test_70b_tp2_accepted_only_if_a_full_length_sequence_fits() -> None:
    a = preset("llama-3.1-70b")
    s = EngineSettings.of("vllm")
    m = memory_plan(a, 80, dtype="bf16", kv_dtype="bf16", settings=s, tp=2, max_model_len=8192, accelerator="H100")
    weights = weight_bytes(a, "bf16") / 2 / GIB
    assert m.weights_gib_per_gpu == pytest.approx(weights)
    kv = 0.9 * 80 - weights - m.reserve_gib_per_gpu
    per_tok = 2 * 80 * (8 // 2) * 128 * 2
    assert m.kv_bytes_per_token_per_gpu == per_tok
    assert m.kv_cache_tokens == int(kv * GIB // per_tok) // 16 * 16
    with pytest.raises(Refusal) as e:
        memory_plan(a, 80, dtype="bf16", kv_dtype="bf16", settings=s, tp=2, max_model_len=131_072, accelerator="H100")
    assert "131,072-token sequence needs 20.00 GiB" in str(e.value)
    assert "163,840 bytes/token/GPU" in str(e.value)


def test_l4_holds_few_long_sequences() -> None:
    s = setup("llama-3.1-8b")
    cls = TokenClass("c", 1024, 256)
    shape = size(s, ACCS["L4"], 1, [cls])
    seqs = shape.memory.max_sequences(cls.tokens, s.arch, s.kv_dtype)
    assert seqs == shape.memory.kv_blocks // (1280 // 16)
    assert seqs < 128  # batch 128 of 1,280 tokens does not fit a 24 GB L4


def test_fp8_refused_on_ampere() -> None:
    s = setup("llama-3.1-8b", dtype="fp8")
    with pytest.raises(Refusal, match="FP8 needs Ada, Hopper or Blackwell"):
        size(s, ACCS["A100-80GB"], 1, [TokenClass("c", 512, 128)])
    size(s, ACCS["L4"], 1, [TokenClass("c", 512, 128)])


def test_decode_is_memory_bound_and_prefill_compute_bound() -> None:
    s = setup("llama-3.1-8b")
    shape = size(s, ACCS["H100"], 1, [TokenClass("c", 1024, 256)])
    d = shape.deployment
    dec = step_time_ms(d, decode_seqs=1, context_tokens_total=1024)
    pre = step_time_ms(d, prefill_tokens=4096)
    assert dec.bound == "memory" and pre.bound == "compute"
    # one decode step reads all 16 GB of weights once: between 55 % and 92 % of 3.35 TB/s
    weights = weight_bytes(s.arch, "bf16")
    assert weights / (3350e9 * 0.92) * 1e3 <= dec.memory_ms <= weights / (3350e9 * 0.55) * 1e3 * 1.01
    assert dec.ms == pytest.approx(dec.memory_ms + dec.overhead_ms, rel=0.05)


def test_concurrency_raises_throughput_and_tpot() -> None:
    s = setup("llama-3.1-8b")
    shape = size(s, ACCS["H100"], 1, [TokenClass("c", 1024, 256)])
    perfs = [serve_class(shape.deployment, 1024, 256, n) for n in (1, 8, 32, 128)]
    assert all(a.output_tokens_per_s < b.output_tokens_per_s for a, b in itertools.pairwise(perfs))
    assert all(a.tpot_ms <= b.tpot_ms for a, b in itertools.pairwise(perfs))


def test_tp_over_nvlink_beats_pcie() -> None:
    s = setup("llama-3.1-8b")
    cls = [TokenClass("c", 1024, 256)]
    nv = size(s, ACCS["H100"], 4, cls).deployment
    pcie = size(s, ACCS["L40S"], 4, cls).deployment
    # same payload: the PCIe all-reduce takes far longer than NVLink's
    a = step_time_ms(nv, decode_seqs=64, context_tokens_total=64 * 1024).allreduce_ms
    b = step_time_ms(pcie, decode_seqs=64, context_tokens_total=64 * 1024).allreduce_ms
    assert b > 3 * a


def test_moe_reads_active_experts_only_at_batch_one() -> None:
    s = setup("qwen3-30b-a3b")
    shape = size(s, ACCS["H100"], 1, [TokenClass("c", 512, 128)])
    one = step_time_ms(shape.deployment, decode_seqs=1, context_tokens_total=512)
    many = step_time_ms(shape.deployment, decode_seqs=256, context_tokens_total=256 * 512)
    assert one.memory_ms < 0.3 * many.memory_ms


def test_skewed_routing_reads_fewer_experts_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    from scaleplan.llm import perf

    monkeypatch.setattr(perf, "ROUTING_SKEW", 0.0)
    uniform = [perf.touched_experts(256, 8, n) for n in (1, 16, 64, 4096)]
    assert uniform[1] == pytest.approx(256 * (1 - (1 - 8 / 256) ** 16))
    monkeypatch.setattr(perf, "ROUTING_SKEW", 1.0)
    skewed = [perf.touched_experts(256, 8, n) for n in (1, 16, 64, 4096)]
    assert sum(perf._pick_probabilities(256, 8, 1.0)) == pytest.approx(8.0)
    assert max(perf._pick_probabilities(256, 8, 1.0)) <= 1.0
    # one token still picks k experts; a prefill's thousands of tokens still touch nearly all
    assert skewed[0] == pytest.approx(8.0) and skewed[3] > 0.99 * 256
    # in between the hot experts are shared by the step's tokens: fewer distinct experts read
    assert skewed[1] < 0.75 * uniform[1] and skewed[2] < 0.75 * uniform[2]
    assert skewed == sorted(skewed)


def test_calibration_recovers_a_known_scale() -> None:
    s = setup("llama-3.1-8b")
    cls = TokenClass("c", 1024, 256)
    truth = Calibration(compute=0.8, memory=1.2, overhead=1.0)
    d = size(s, ACCS["H100"], 1, [cls]).deployment.with_calibration(truth)
    obs = []
    for n in (1, 8, 32, 128):
        p = serve_class(d, 1024, 256, n)
        obs.append(Observed(size(s, ACCS["H100"], 1, [cls]).deployment, 1024, 256, n, p.ttft_ms, p.tpot_ms, p.output_tokens_per_s))
    cal, _ = calibrate(obs)
    assert cal.calibrated
    # the fitted model predicts an unseen concurrency as the truth does
    want = serve_class(d, 1024, 256, 64)
    got = serve_class(d.with_calibration(cal), 1024, 256, 64)
    assert got.tpot_ms == pytest.approx(want.tpot_ms, rel=0.05)
    assert got.ttft_ms == pytest.approx(want.ttft_ms, rel=0.05)
    assert got.output_tokens_per_s == pytest.approx(want.output_tokens_per_s, rel=0.05)


def test_per_sequence_host_time_follows_its_own_scale() -> None:
    # by default one scale moves the step's fixed overhead and the per-sequence host time (what
    # calibrate fits); a fit that sets per_sequence keeps the host time of a large batch apart
    d = size(setup("llama-3.1-8b"), ACCS["H100"], 1, [TokenClass("c", 1024, 256)]).deployment
    base = step_time_ms(d, decode_seqs=128, context_tokens_total=128 * 1024)
    tied = step_time_ms(d.with_calibration(Calibration(overhead=5.0)), decode_seqs=128,
                        context_tokens_total=128 * 1024)
    apart = step_time_ms(d.with_calibration(Calibration(overhead=5.0, per_sequence=1.0)),
                         decode_seqs=128, context_tokens_total=128 * 1024)
    host = d.efficiency.per_sequence_ms * 128
    assert host > 0
    assert tied.overhead_ms == pytest.approx(5.0 * base.overhead_ms)
    assert apart.overhead_ms == pytest.approx(5.0 * (base.overhead_ms - host) + host)


def test_unsaturated_points_are_lower_bounds_not_fitted() -> None:
    s = setup("llama-3.1-8b")
    cls = TokenClass("c", 1024, 256)
    d = size(s, ACCS["H100"], 1, [cls]).deployment
    cal, notes = calibrate([Observed(d, 1024, 256, 64, output_tokens_per_s=6.3 * 256, lower_bound=True)])
    assert not cal.calibrated
    assert any("a lower bound on throughput, not the capacity" in n for n in notes)
    # and it says that nothing was calibrated (profile llm --calibrate kept every point
    # "estimated" without a word)
    none = "calibration: none; every measured point is a lower bound"
    assert any(n.startswith(none) for n in notes)
    # its advice must name a run that is not a lower bound again: it said "a request rate
    # above what it serves", which achieves less than it offers, what unsaturated() calls a
    # lower bound (ux7: the 70B vLLM run at 16 rps that served 6.3)
    advice = next(n for n in notes if n.startswith(none))
    assert unsaturated(6.3, 40.0) and "rate above" not in advice
    assert "--max-concurrency" in advice


def test_unknown_preset_did_you_mean() -> None:
    with pytest.raises(InputError) as e:
        preset("llama-3.1-8bb")
    assert "did you mean 'llama-3.1-8b'" in e.value.problems[0].hint


def test_config_json_missing_fields_named(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"hidden_size": 4096, "num_attention_heads": 32, "vocab_size": 32000}))
    with pytest.raises(InputError) as e:
        from_hf_config(p)
    assert {x.where for x in e.value.problems} == {"num_hidden_layers", "intermediate_size"}


def test_config_json_roundtrip_matches_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = {
        "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
        "tie_word_embeddings": False,
    }
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    a = load_architecture(str(p))
    b = preset("llama-3.1-8b")
    assert a.total_params == b.total_params and kv_bytes_per_token(a, "bf16") == 131_072
    # named after its folder, also when given from inside it (it was "config")
    folder = tmp_path / "Llama-3.1-8B-Instruct"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    monkeypatch.chdir(folder)
    assert load_architecture("config.json").name == "Llama-3.1-8B-Instruct"
    assert load_architecture(str(folder / "config.json")).name == "Llama-3.1-8B-Instruct"


def test_closed_loop_small_batch_by_hand() -> None:
    """Four clients whose prompts fit one pass: they arrive together, are prefilled in one pass
    (TTFT), decode in lockstep (TPOT) and come back together; the replacement misses one pass,
    which costs nothing while the engine is idle."""
    from scaleplan.llm.closed_loop import closed_loop

    s = setup("llama-3.1-8b")
    d = size(s, ACCS["H100"], 1, [TokenClass("c", 100, 3)]).deployment
    p = closed_loop(d, 100, 3, 4)
    prefill = step_time_ms(d, prefill_tokens=400, prefill_seqs=4, prefill_pairs=4 * 100 * 100 / 2).ms
    decode = step_time_ms(d, decode_seqs=4, context_tokens_total=4 * 101.5).ms
    from scaleplan.llm.perf import REQUEST_OVERHEAD_MS

    assert p.ttft_ms == pytest.approx(prefill + REQUEST_OVERHEAD_MS["vllm"], rel=1e-9)
    assert p.tpot_ms == pytest.approx(decode, rel=1e-9)
    assert p.throughput_rps == pytest.approx(4 / ((prefill + 2 * decode) / 1000), rel=1e-9)


def test_closed_loop_clients_beyond_the_cache_wait_for_a_slot() -> None:
    from scaleplan.llm.closed_loop import closed_loop

    s = setup("llama-3.1-8b")
    d = size(s, ACCS["H100"], 1, [TokenClass("c", 1024, 256)]).deployment
    held = closed_loop(d, 1024, 256, 32, cap=32)
    queued = closed_loop(d, 1024, 256, 64, cap=32)
    # twice the clients on the same 32 slots: the same rate, and each request first waits for
    # about one other request's whole run
    assert queued.throughput_rps == pytest.approx(held.throughput_rps, rel=0.05)
    assert queued.ttft_ms > held.ttft_ms + 0.8 * 255 * held.tpot_ms
    # more clients that fit: TTFT and TPOT rise, and so does throughput
    small = closed_loop(d, 1024, 256, 8)
    assert small.ttft_ms <= 1.05 * held.ttft_ms and small.tpot_ms < held.tpot_ms
    assert small.throughput_rps < held.throughput_rps


def test_open_loop_points_have_no_arrival_clustering_wait() -> None:
    """A point measured at an offered rate (open loop) has no clustering wait in TTFT; a closed
    loop's clients come back together and wait for each other's prefills. Alone (concurrency 1)
    the two agree; calibration predicts each point the way it was measured."""
    from scaleplan.llm.calibrate import Calibration, Observed, predicted
    from scaleplan.llm.perf import serve_class

    s = setup("llama-3.1-8b")
    d = size(s, ACCS["H100"], 1, [TokenClass("c", 2000, 200)]).deployment
    closed, opened = serve_class(d, 2000, 200, 16), serve_class(d, 2000, 200, 16, open_loop=True)
    assert opened.ttft_ms < closed.ttft_ms and opened.tpot_ms == pytest.approx(closed.tpot_ms)
    assert serve_class(d, 2000, 200, 1, open_loop=True).ttft_ms == pytest.approx(serve_class(d, 2000, 200, 1).ttft_ms)
    cal = Calibration()
    steady = predicted(Observed(d, 2000, 200, 16, ttft_ms=1.0, tpot_ms=1.0), cal)
    poisson = predicted(Observed(d, 2000, 200, 16, ttft_ms=1.0, tpot_ms=1.0, kind="open_loop"), cal)
    assert steady[0] == pytest.approx(closed.ttft_ms) and poisson[0] == pytest.approx(opened.ttft_ms)


def test_trtllm_admission_reserves_the_whole_completion() -> None:
    # TensorRT-LLM's GUARANTEED_NO_EVICT admits a request only when the KV cache holds its
    # prompt and its whole completion, and so does TGI's v3 queue (blocks for the prompt +
    # max_new_tokens before admission); vLLM and SGLang admit on the prompt and grow (half the
    # completion resident on average when every request is queued at once)
    a, hw = preset("llama-3.1-8b"), hardware_for(ACCS["H100"])
    for engine, held in (("trtllm", 2048), ("tgi", 2048), ("vllm", 1024), ("sglang", 1024)):
        s = EngineSettings.of(engine, max_num_seqs=100_000)
        m = memory_plan(a, 80, dtype="bf16", kv_dtype="bf16", settings=s, tp=1, max_model_len=4096)
        d = Deployment(a, hw, "bf16", "bf16", s)
        assert s.reserves_completion is (engine in ("trtllm", "tgi"))
        by_hand = int(m.kv_gib_per_gpu * GIB // ((128 + held) * 131_072))
        assert saturation_concurrency(d, m, 128, 2048) == by_hand


def test_a_scheduler_that_polls_every_k_steps_delays_the_first_token_by_k_half_steps() -> None:
    # SGLang --scheduler-recv-interval K: a busy scheduler takes new requests in every K decode
    # steps, so a prompt sent at a random moment waits K/2 steps instead of the running step's half
    a, hw = preset("llama-3.1-8b"), hardware_for(ACCS["H100"])
    every = Deployment(a, hw, "bf16", "bf16", EngineSettings.of("sglang"))
    polled = Deployment(a, hw, "bf16", "bf16", EngineSettings.of("sglang", recv_interval=30))
    one, thirty = serve_class(every, 1024, 512, 16), serve_class(polled, 1024, 512, 16)
    assert thirty.tpot_ms == pytest.approx(one.tpot_ms)  # the steps themselves are the same
    # 512 decode steps per generation (the prompts fit the budget): a step is one TPOT
    assert thirty.ttft_ms - one.ttft_ms == pytest.approx(0.5 * 29 * one.tpot_ms)
    # a lone request finds the scheduler idle: no wait
    alone = serve_class(every, 1024, 512, 1).ttft_ms
    assert serve_class(polled, 1024, 512, 1).ttft_ms == pytest.approx(alone)


def test_delayed_context_batching_holds_prompts_back() -> None:
    from scaleplan.llm.perf import REQUEST_OVERHEAD_MS, held_back_ms

    # nobody joins: the whole window; one joiner on average: (1 + 1/2) / 2 of it
    assert held_back_ms(100.0, 0.0) == pytest.approx(100.0)
    assert held_back_ms(100.0, 0.01) == pytest.approx(75.0)
    # TensorRT-LLM batch_wait_timeout_iters = 20: the window is 20 decode steps; the arrivals
    # during it are the closed loop's completions (N per cycle)
    a, hw = preset("llama-3.1-70b"), hardware_for(ACCS["H100"])
    plain = Deployment(a, hw, "fp8", "fp8", EngineSettings.of("trtllm"), tp=4)
    held = Deployment(a, hw, "fp8", "fp8", EngineSettings.of("trtllm", batch_wait_iters=20), tp=4)
    p, h = serve_class(plain, 1024, 1024, 8), serve_class(held, 1024, 1024, 8)
    assert h.tpot_ms == pytest.approx(p.tpot_ms)
    before = p.ttft_ms - REQUEST_OVERHEAD_MS["trtllm"]
    expected = held_back_ms(20 * p.tpot_ms, 8 / (before + 1023 * p.tpot_ms))
    assert h.ttft_ms - p.ttft_ms == pytest.approx(expected)
    assert 10 * p.tpot_ms < expected < 20 * p.tpot_ms
    alone = serve_class(plain, 1024, 1024, 1).ttft_ms
    assert serve_class(held, 1024, 1024, 1).ttft_ms == pytest.approx(alone)


QWEN_7B = {  # Qwen/Qwen2.5-7B-Instruct's config.json (the fields the model reads)
    "architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584, "intermediate_size": 18944,
    "max_position_embeddings": 32768, "num_attention_heads": 28, "num_hidden_layers": 28,
    "num_key_value_heads": 4, "sliding_window": 131072, "use_sliding_window": False,
    "tie_word_embeddings": False, "vocab_size": 152064,
}


def test_sglang_cohort_prefilled_in_one_pass_waits_twice_the_serial_wait() -> None:
    from scaleplan.llm.perf import CLUSTERING, cohort_wait, step_time_ms

    # a cohort of sqrt(16) = 4 prompts served one after another waits (4 - 1) / 2 prefills; the
    # engines with decodes in every pass (vLLM, TGI) and TensorRT-LLM keep that at any length
    for engine in ("vllm", "tgi", "trtllm"):
        assert cohort_wait(16, 7372, 8192, engine) == pytest.approx(1.5)
    # SGLang runs every waiting prompt that fits the budget in one prefill pass: 8 prompts of
    # 1,024 fit 8,192, the cohort waits 3 prefills at the pass's end (twice 1.5: the weight's unit)
    assert cohort_wait(16, 1024, 8192, "sglang") == pytest.approx(1.5)
    # one prompt fills the budget: served one by one, mean end (1+2+3+4)/4 = 2.5, wait 1.5 = half
    assert cohort_wait(16, 7372, 8192, "sglang") == pytest.approx(0.75)
    # two a pass: ends at 2, 2, 4, 4, mean 3, wait 2 = 1.0 in the weight's unit
    assert cohort_wait(16, 4096, 8192, "sglang") == pytest.approx(1.0)
    assert cohort_wait(1, 7372, 8192, "sglang") == 0.0
    # through serve_class: a budget that holds the cohort gives the serial-unit wait back
    a, hw = preset("llama-3.1-8b"), hardware_for(ACCS["H100"])
    small = Deployment(a, hw, "bf16", "bf16", EngineSettings.of("sglang"))
    wide = EngineSettings.of("sglang", max_num_batched_tokens=32768)
    large = Deployment(a, hw, "bf16", "bf16", wide)
    lo, hi = serve_class(small, 7372, 922, 16), serve_class(large, 7372, 922, 16)
    # (two prompts in one step, 0.02 % of steps, run in two steps under the smaller budget)
    assert lo.tpot_ms == pytest.approx(hi.tpot_ms, rel=1e-3)
    alone = step_time_ms(small, prefill_tokens=7372).ms
    wait = CLUSTERING["sglang"] * (1.5 - 0.75) * alone
    assert hi.ttft_ms - lo.ttft_ms == pytest.approx(wait, rel=1e-5)


@pytest.mark.parametrize(
    ("torch_dtype", "quantization_config", "native"),
    [
        # Qwen/Qwen2.5-7B-Instruct-AWQ
        ("float16", {"bits": 4, "group_size": 128, "quant_method": "awq", "version": "gemm", "zero_point": True}, "int4-awq"),
        # Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4 / -Int8
        ("float16", {"bits": 4, "group_size": 128, "desc_act": False, "quant_method": "gptq"}, "int4-gptq"),
        ("float16", {"bits": 8, "group_size": 128, "desc_act": False, "quant_method": "gptq"}, "int8"),
        # RedHatAI ...-FP8-dynamic and ...-quantized.w4a16 (llm-compressor)
        ("bfloat16", {"quant_method": "compressed-tensors", "format": "float-quantized", "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "float", "strategy": "channel"}}}}, "fp8"),
        ("bfloat16", {"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "group_size": 128}}}}, "int4-gptq"),
        # nvidia ...-FP8 (ModelOpt)
        ("bfloat16", {"quant_method": "modelopt", "quant_algo": "FP8"}, "fp8"),
        # none, or one the model does not price: the torch_dtype, as before
        ("bfloat16", None, "bf16"),
        ("float16", {"quant_method": "bitsandbytes", "load_in_4bit": True}, "fp16"),
    ],
)
def test_config_json_reads_the_checkpoint_s_quantization(
    tmp_path: Path, torch_dtype: str, quantization_config: dict[str, object] | None, native: str
) -> None:
    """A quantized checkpoint's config.json states its precision in quantization_config; AWQ,
    GPTQ, llm-compressor and ModelOpt checkpoints were read as their 16-bit torch_dtype, so
    Qwen2.5-7B-Instruct-AWQ was sized with 14.2 GiB of weights instead of about 5.2
    (new-user trial, 2026-12-05). Only fp8 and mxfp4 methods were recognised."""
    cfg: dict[str, object] = {**QWEN_7B, "torch_dtype": torch_dtype}
    if quantization_config is not None:
        cfg["quantization_config"] = quantization_config
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    arch = from_hf_config(p)
    assert arch.native_dtype == native
    weights = weight_bytes(arch, arch.native_dtype) / GIB
    assert weights < 6 if native.startswith("int4") else weights > 6.5


def test_a_field_a_config_json_leaves_at_its_default_points_to_transformers(tmp_path: Path) -> None:
    """google/gemma-3-4b-it's config.json keeps in text_config only what differs from
    transformers' Gemma3TextConfig defaults (no num_attention_heads, num_key_value_heads,
    head_dim or vocab_size); the fix said to add them 'from the model's Hugging Face
    config.json', where they are not (new-user trial, 2026-12-05). It names the model_type whose
    defaults hold them, and the KV-head and head-size fields that a head count alone gets wrong."""
    text = {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text", "num_hidden_layers": 34, "sliding_window": 1024}
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3", "text_config": text, "torch_dtype": "bfloat16"}))
    with pytest.raises(InputError) as e:
        from_hf_config(p)
    hints = {x.where: x.hint for x in e.value.problems}
    assert set(hints) == {"num_attention_heads", "vocab_size"}
    assert all("transformers' configuration class for model_type 'gemma3_text'" in h for h in hints.values()), hints
    assert "num_key_value_heads and head_dim" in hints["num_attention_heads"]


PATTERN = "sliding_window_pattern"
GEMMA3_27B: dict[str, Any] = {  # google/gemma-3-27b-it's text_config (what the KV cache needs)
    "model_type": "gemma3",
    "text_config": {
        "model_type": "gemma3_text", "hidden_size": 5376, "num_hidden_layers": 62,
        "num_attention_heads": 32, "num_key_value_heads": 16, "head_dim": 128,
        "intermediate_size": 21504, "vocab_size": 262208, "sliding_window": 1024,
    },
}


@pytest.mark.parametrize(
    ("cfg", "sliding"),
    [
        (GEMMA3_27B, 52),  # every 6th layer global (transformers' default pattern 6): 10 of 62
        ({**GEMMA3_27B, "text_config": {**GEMMA3_27B["text_config"], PATTERN: 2}}, 31),
        ({"model_type": "gemma2", "sliding_window": 4096, "num_hidden_layers": 42}, 21),
        ({"model_type": "mistral", "sliding_window": 4096, "num_hidden_layers": 32}, 32),
        ({"model_type": "mistral", "sliding_window": None, "num_hidden_layers": 32}, 0),
        ({"model_type": "qwen2", "sliding_window": 32768, "use_sliding_window": False,
          "num_hidden_layers": 28}, 0),
        ({"model_type": "llama", "num_hidden_layers": 32}, 0),
        ({"sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"] * 12,
          "num_hidden_layers": 24}, 12),
    ],
)
def test_sliding_window_layers_read_from_config(cfg: dict[str, Any], sliding: int) -> None:
    base = {"hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
            "intermediate_size": 14336, "vocab_size": 32000}
    arch = architecture_from_config({**base, **cfg}, "m")
    assert arch.sliding_layers == sliding
    assert arch.sliding_window == (None if not sliding else
                                   (cfg.get("text_config") or cfg)["sliding_window"])


def test_gemma3_kv_of_a_long_sequence_by_hand() -> None:
    """Gemma 3 27B in bf16, one 8,192-token sequence on one GPU: 10 global layers hold all
    8,192 tokens, 52 sliding layers 1,024, at 2 x 16 KV heads x 128 x 2 bytes = 8,192 bytes a
    token a layer: 10 x 8,192 x 8,192 + 52 x 1,024 x 8,192 = 1,107,296,256 bytes (all-global
    would be 4,160,749,568)."""
    from scaleplan.llm.memory import sequence_kv_bytes_per_gpu

    arch = architecture_from_config(GEMMA3_27B, "gemma-3-27b")
    assert sequence_kv_bytes_per_gpu(arch, "bf16", 8192, tp=1) == 1_107_296_256


def test_pipeline_parallel_keeps_one_micro_batch_per_stage_in_flight() -> None:
    # PP4: a step moves every sequence one token on; with at least 4 sequences the engine keeps
    # 4 micro-batches in flight, so the step lasts one micro-batch's pass through all stages
    from scaleplan.llm.perf import _serial_step

    a, hw = preset("llama-3.1-8b"), hardware_for(ACCS["L40S"])
    s = EngineSettings.of("vllm")
    pp4 = Deployment(a, hw, "bf16", "bf16", s, tp=1, pp=4)
    whole = step_time_ms(pp4, decode_seqs=64, context_tokens_total=64 * 1024)
    micro = _serial_step(pp4, 0.0, 0.0, 0.0, 16.0, 16 * 1024)
    serial = _serial_step(pp4, 0.0, 0.0, 0.0, 64.0, 64 * 1024)
    host = whole.overhead_ms - micro.overhead_ms  # the host's per-sequence work is for all 64
    assert host > 0
    assert whole.ms == pytest.approx(micro.ms + host)
    # decode is weight-bound: each stage reads its weights once per micro-batch, so the gain
    # is the KV reads only; compute-bound prompt steps gain about PP-fold
    assert micro.memory_ms < whole.ms < serial.ms
    prompts = step_time_ms(pp4, prefill_tokens=8 * 2048, prefill_seqs=8).ms
    assert prompts < 0.4 * _serial_step(pp4, 8 * 2048, 8.0, 8 * 2048**2 / 2, 0.0, 0.0).ms
    # one sequence cannot be split: it passes the stages one after another
    one = step_time_ms(pp4, decode_seqs=1, context_tokens_total=1024).ms
    assert one == pytest.approx(_serial_step(pp4, 0.0, 0.0, 0.0, 1.0, 1024).ms)


def test_trtllm_bounds_each_micro_batch_vllm_every_sequence() -> None:
    from scaleplan.llm.perf import max_in_flight

    a, hw = preset("llama-3.1-8b"), hardware_for(ACCS["L40S"])
    for engine, per_micro in (("trtllm", True), ("vllm", False), ("sglang", False), ("tgi", False)):
        s = EngineSettings.of(engine, max_num_seqs=100)
        pp4 = Deployment(a, hw, "bf16", "bf16", s, tp=1, pp=4)
        assert max_in_flight(pp4) == (400 if per_micro else 100)
        assert max_in_flight(Deployment(a, hw, "bf16", "bf16", s, tp=1, pp=1)) == 100


def test_rtx_pro_6000_is_modelled_from_its_data_sheet_peaks() -> None:
    # NVIDIA: 4,000 AI TOPS (FP4, with sparsity) -> dense FP4 2,000, FP8 1,000, FP16 500; GDDR7
    # 1,792 GB/s; PCIe Gen5 between GPUs (no NVLink)
    hw = hardware_for(ACCS["RTXPRO6000"])
    peaks = (hw.fp16_tflops, hw.fp8_tflops, hw.fp4_tflops)
    assert (hw.generation, *peaks) == ("blackwell", 500, 1000, 2000)
    # its 96 GB as the driver reports them: 97,887 MiB
    assert (hw.bandwidth_gbs, hw.link_kind, hw.link_gbs) == (1792, "pcie", 50.0)
    assert hw.memory_gib == 95.593
    # Llama-3.1-70B in fp8 fits one 96 GB card (~67 GiB of weights) with room for a KV cache
    s = setup("llama-3.1-70b", dtype="fp8", kv_cache_dtype="fp8")
    shape = size(s, ACCS["RTXPRO6000"], 1, [TokenClass("c", 1024, 256)])
    assert shape.memory.kv_gib_per_gpu > 10


def test_gh200_and_gb200_are_modelled_from_their_data_sheets() -> None:
    from scaleplan.catalog.files import accelerator_catalog

    # GH200 480GB: its 96 GB HBM3 Hopper GPU (the 480 GB is the Grace CPU's LPDDR5X), the
    # H100 SXM's peaks at 4 TB/s; nvidia-smi reports 97,871 MiB
    gh = hardware_for(ACCS["GH200"])
    assert (gh.generation, gh.fp16_tflops, gh.fp8_tflops, gh.fp4_tflops) == ("hopper", 989.5, 1979, None)
    assert (gh.bandwidth_gbs, gh.memory_gib) == (4000, round(97871 / 1024, 3))
    # GB200: one GPU of an NVL72, the rack's figures / 72 (dense = half the sparse figure):
    # 360 PFLOPS FP16 -> 2,500, 720 PFLOPS FP8 -> 5,000; 13.4 TB / 576 TB/s -> 186 GB, 8 TB/s
    gb = hardware_for(ACCS["GB200"])
    peaks = (gb.fp16_tflops, gb.fp8_tflops, gb.fp4_tflops)
    assert (gb.generation, *peaks) == ("blackwell", 2500, 5000, 10000)
    assert (gb.bandwidth_gbs, gb.link_kind, gb.link_gbs) == (8000, "nvlink", 900.0)
    assert (ACCS["GB200"].memory_gib, gb.memory_gib) == (186, round(189471 / 1024, 3))
    for name in ("GH200", "GB200"):
        assert "tools/data/accelerators_extra.csv" in (ACCS[name].source or "")
        assert "data sheet" in (ACCS[name].peaks_source or "")
    # the names the measurements, nvidia-smi and GPU feature discovery use
    cat = accelerator_catalog()
    assert cat.resolve("NVIDIA GH200 480GB") == "GH200"
    assert cat.resolve("GB200") == "GB200"
    assert cat.resolve_product("NVIDIA-GH200-480GB") == "GH200"
    assert cat.resolve_product("NVIDIA-GB200") == "GB200"
    # Hopper runs no NVFP4; DeepSeek-R1's 128 heads do not split over an NVL72's TP 36
    s = setup("llama-3.1-8b", dtype="nvfp4")
    with pytest.raises(Refusal):
        size(s, ACCS["GH200"], 1, [TokenClass("c", 1024, 256)])
    with pytest.raises(Refusal, match="attention heads"):
        size(setup("deepseek-r1", dtype="fp8"), ACCS["GB200"], 36, [TokenClass("c", 1024, 256)])


def test_kv_cache_sized_on_the_memory_the_driver_reports() -> None:
    # an L4 is sold as 24 GB; CUDA reports 23,034 MiB, which vLLM's 0.9 multiplies
    s = setup("llama-3.1-8b")
    shape = size(s, ACCS["L4"], 1, [TokenClass("c", 1024, 256)])
    assert shape.hw.memory_gib == round(23034 / 1024, 3)
    m = shape.memory
    by_hand = 0.9 * 23034 / 1024 - m.weights_gib_per_gpu - m.reserve_gib_per_gpu
    assert m.kv_gib_per_gpu == pytest.approx(by_hand, abs=0.01)
    box = 0.9 * 24 - m.weights_gib_per_gpu - m.reserve_gib_per_gpu  # the box's "24 GB"
    assert by_hand < box - 1.2


def test_an_nvlink_bridged_pair_all_reduces_over_its_bridge() -> None:
    # UX trial 31: Azure's NC80adis_H100_v5 pairs two H100 NVL on an NVLink bridge (600 GB/s);
    # modelled over PCIe Gen5, TP2 reached the first token of an 8k prompt *later* than TP1
    # (1,285 ms against 862 ms for Llama-3.1-70B fp8). Within a pair the bridge carries it;
    # across pairs (4 GPUs) PCIe does.
    hw = hardware_for(ACCS["H100-NVL"])
    assert (hw.link_kind, hw.link_gbs, hw.pair_link_gbs) == ("pcie", 50.0, 300.0)
    assert hw.link(2) == (300.0, 16.0) and hw.link(4) == (50.0, 25.0) and hw.link(1) == (50.0, 25.0)
    sxm = hardware_for(ACCS["H100"])
    assert sxm.pair_link_gbs is None and sxm.link(2) == sxm.link(8) == (450.0, 16.0)
    s = setup("llama-3.1-70b", dtype="fp8", kv_cache_dtype="fp8")
    rag = TokenClass("rag", 8000, 1000)
    one, two = (predict(size(s, ACCS["H100-NVL"], g, [rag]), rag, 1) for g in (1, 2))
    assert two.ttft_ms < 0.75 * one.ttft_ms, (one.ttft_ms, two.ttft_ms)
    assert two.tpot_ms < 0.65 * one.tpot_ms, (one.tpot_ms, two.tpot_ms)


def test_the_tp_all_reduce_by_hand() -> None:
    # Llama-3.1-70B at TP8 on H200 (NVLink 4: 450 GB/s per direction), one 7,372-token prefill
    # chunk: each all-reduce carries 7,372 x 8,192 x 2 B = 120.8 MB. NCCL's ring / Simple path
    # (docs/llm.md, "All-reduce"): each rank sends 2 x 7/8 of it at 0.82 x 450 GB/s (NCCL's
    # bus bandwidth: topo.h's 20.6 GB/s x 18 NVLinks), after 8.4 + 14 x 3.4 us of latency.
    # Until 2026-12-07 every message ran at 0.5 x 450 GB/s + 16 us: 955 us, not 629.
    hw = hardware_for(ACCS["H200"])
    payload = 7372 * 8192 * 2
    nccl_s = 2 * 7 / 8 * payload / (0.82 * 450e9) + (8.4 + 14 * 3.4) * 1e-6
    # the step prices two all-reduces a layer at that cost: 80 layers x 2 x 629 us = 101 ms
    d = Deployment(preset("llama-3.1-70b"), hw, "fp8", "fp8", EngineSettings.of("vllm"), tp=8)
    step = step_time_ms(d, prefill_tokens=7372)
    assert step.allreduce_ms == pytest.approx(2 * 80 * nccl_s * 1000, rel=1e-9)
    assert hw.allreduce_s(8, 8, payload) == pytest.approx(nccl_s, rel=1e-9)
    assert hw.allreduce_s(8, 8, payload) * 1e6 == pytest.approx(629.0, abs=1.0)
    # a decode step of 64 sequences (1 MB) keeps the engine's own kernel: 0.5 of the link + 16 us
    small = 64 * 8192 * 2
    own = 2 * 7 / 8 * small / (0.5 * 450e9) + 16e-6
    assert hw.allreduce_s(8, 8, small) == pytest.approx(own, rel=1e-9)
    # TP2: NCCL's two-step ring (8.4 + 2 x 3.4 us) beats the own kernel at every size
    assert hw.allreduce_s(2, 2, small) == pytest.approx(small / (0.82 * 450e9) + 15.2e-6, rel=1e-9)
    # PCIe (L40S, Gen4 25 GB/s): the own kernel's price, the rings' CPU links not stated
    pcie = hardware_for(ACCS["L40S"])
    over_pcie = 2 * 7 / 8 * payload / (0.5 * 25e9) + 25e-6
    assert pcie.allreduce_s(8, 8, payload) == pytest.approx(over_pcie, rel=1e-9)
    assert hw.allreduce_s(1, 1, payload) == 0.0


def test_a_closed_loop_of_drawn_lengths_keeps_part_of_the_clustering_wait() -> None:
    from scaleplan.llm.perf import CLUSTERING, DRAWN_CLUSTERING, cohort_wait, step_time_ms

    # 16 vLLM clients of 1,024 / 1,024 tokens on one H100: the cohort of sqrt(16) = 4 prompts
    # waits (4 - 1) / 2 = 1.5 lone prefills per unit of the engine's weight (1.5) when the
    # lengths are fixed; a client that draws each request's lengths keeps 0.8 of that weight
    d = Deployment(preset("llama-3.1-8b"), hardware_for(ACCS["H100"]), "bf16", "bf16",
                   EngineSettings.of("vllm"))
    assert (CLUSTERING["vllm"], DRAWN_CLUSTERING) == (1.5, 0.8)
    assert cohort_wait(16, 1024, d.settings.max_num_batched_tokens, "vllm") == 1.5
    alone = step_time_ms(d, prefill_tokens=1024, prefill_pairs=1024 * 1024 / 2.0).ms
    fixed = serve_class(d, 1024, 1024, 16)
    drawn = serve_class(d, 1024, 1024, 16, drawn=True)
    # the wait: 1.5 x 1.5 x alone with fixed lengths, 0.8 x that drawn; the difference 0.45 x
    assert fixed.ttft_ms - drawn.ttft_ms == pytest.approx(0.2 * 1.5 * 1.5 * alone, rel=1e-9)
    assert drawn.tpot_ms == fixed.tpot_ms  # the steps are the same
    # open-loop arrivals have no clustering wait: drawn or not, the same
    assert serve_class(d, 1024, 1024, 16, open_loop=True, drawn=True) == serve_class(
        d, 1024, 1024, 16, open_loop=True)
    # a calibration point read as drawn is predicted the drawn way
    from scaleplan.llm.calibrate import predicted

    point = Observed(d, 1024, 1024, 16, drawn=True)
    assert predicted(point, Calibration())[0] == pytest.approx(drawn.ttft_ms)
