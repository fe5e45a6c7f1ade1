"""The burst replay (scaleplan.llm.burst): N requests sent at once, each with its own lengths."""

from __future__ import annotations

import pytest

from scaleplan.catalog.files import load_accelerators
from scaleplan.llm import TokenClass, setup, size, step_time_ms
from scaleplan.llm.burst import burst
from scaleplan.llm.calibrate import Observed, predicted
from scaleplan.llm.closed_loop import closed_loop
from scaleplan.llm.perf import REQUEST_OVERHEAD_MS, Calibration, Deployment

ACCS = {a.name: a for a in load_accelerators()}


def _h100(i: int, o: int, engine: str = "vllm") -> Deployment:
    s = setup("llama-3.1-8b", engine=engine)
    return size(s, ACCS["H100"], 1, [TokenClass("c", i, o)]).deployment


def test_small_burst_by_hand() -> None:
    """Four requests whose prompts fit one pass: one prefill pass (every TTFT), then two decode
    passes of the four (every TPOT); 12 output tokens over the three passes."""
    d = _h100(100, 3)
    b = burst(d, [(100, 3)] * 4)
    pairs = 4 * 100 * 100 / 2
    prefill = step_time_ms(d, prefill_tokens=400, prefill_seqs=4, prefill_pairs=pairs).ms
    decode = step_time_ms(d, decode_seqs=4, context_tokens_total=4 * 101.5).ms
    assert b.ttft_ms == pytest.approx(prefill + REQUEST_OVERHEAD_MS["vllm"], rel=1e-9)
    assert b.tpot_ms == pytest.approx(decode, rel=1e-9)
    assert b.makespan_ms == pytest.approx(prefill + 2 * decode, rel=1e-9)
    assert b.output_tokens_per_s == pytest.approx(12 / ((prefill + 2 * decode) / 1000), rel=1e-9)


def test_tpot_is_the_mean_over_requests_with_more_than_one_token() -> None:
    """vllm bench serve's mean TPOT: (latency - TTFT) / (O - 1) per request, averaged over the
    requests with O > 1. Two requests prefilled together, one of 1 token (no TPOT), one of 3:
    its two decode passes run it alone."""
    d = _h100(100, 3)
    b = burst(d, [(100, 1), (100, 3)])
    alone = step_time_ms(d, decode_seqs=1, context_tokens_total=101.5).ms
    assert b.tpot_ms == pytest.approx(alone, rel=1e-9)


def test_identical_requests_run_at_the_closed_loop_rate_up_to_the_drain() -> None:
    """Four waves of identical requests through 32 slots: each wave runs as the closed loop of
    32 clients does (lockstep cohorts: the wave's prompts, then its decodes), and with one
    length there is no drain (the last wave ends together)."""
    d = _h100(1024, 256)
    loop = closed_loop(d, 1024, 256, 32, cap=32)
    b = burst(d, [(1024, 256)] * 128, cap=32)
    assert b.output_tokens_per_s == pytest.approx(loop.output_tokens_per_s, rel=0.02)
    assert b.tpot_ms == pytest.approx(loop.tpot_ms, rel=0.02)
    # a request waits for the waves before it: 1.5 waves on average (plus its own prefill)
    wave_ms = 32 * 256 / b.output_tokens_per_s * 1000
    assert b.ttft_ms == pytest.approx(1.5 * wave_ms, rel=0.1)


def test_a_spread_of_lengths_lowers_throughput() -> None:
    """The same mean lengths, spread: the running batch empties unevenly and the longest
    requests drain with few companions, so fewer tokens per second."""
    d = _h100(512, 200)
    same = burst(d, [(512, 200)] * 256, cap=64)
    spread = burst(d, [(512, 20), (512, 380)] * 128, cap=64)
    assert spread.output_tokens_per_s < 0.95 * same.output_tokens_per_s
    assert spread.makespan_ms > same.makespan_ms


def test_makespan_and_ttft_grow_with_the_requests() -> None:
    d = _h100(512, 128)
    runs = [burst(d, [(512, 128)] * n, cap=64) for n in (16, 64, 256, 1024)]
    spans = [r.makespan_ms for r in runs]
    assert spans == sorted(spans) and spans[-1] > 3 * spans[-2]  # 4x the requests, saturated
    ttfts = [r.ttft_ms for r in runs]
    assert ttfts == sorted(ttfts) and ttfts[-1] > 10 * ttfts[0]
    # beyond the slots, throughput stays about the saturated rate
    assert runs[-1].output_tokens_per_s == pytest.approx(runs[-2].output_tokens_per_s, rel=0.1)


def test_sglang_stalls_decodes_while_prompts_wait() -> None:
    """SGLang's prefill passes carry no decodes: in a burst whose prompts outrun the first
    pass, the early sequences' decodes wait for the later prompts (a higher TPOT than vLLM's
    mixed passes on the same work)."""
    lengths = [(2048, 64)] * 64
    v = burst(_h100(2048, 64, "vllm"), lengths, cap=64)
    s = burst(_h100(2048, 64, "sglang"), lengths, cap=64)
    assert s.tpot_ms > 1.2 * v.tpot_ms


def test_calibration_reads_a_burst_point_through_the_replay() -> None:
    d = _h100(512, 128)
    lengths = ((512, 100), (512, 156)) * 50
    obs = Observed(
        d, 512, 128, 100, tpot_ms=1.0, output_tokens_per_s=1.0, kind="burst", running=64,
        lengths=lengths,
    )
    b = burst(d, lengths, cap=64)
    expected = (b.ttft_ms, b.tpot_ms, b.output_tokens_per_s)
    assert predicted(obs, Calibration()) == pytest.approx(expected)


def test_an_empty_burst_is_refused() -> None:
    with pytest.raises(ValueError):
        burst(_h100(100, 3), [])


def test_vllm_admits_by_kv_tokens_and_preempts_the_latest() -> None:
    """vLLM holds the cache in tokens: a cache of 8 x 2,100 tokens runs at most 8 of these
    2,048 / 64-token requests at once (the count cap is then only max_num_seqs), and a
    preempted request resumes where it stopped; every request still ends with its tokens."""
    from scaleplan.llm.burst import PreemptingReplay

    lengths = ((2048, 64),) * 32
    r = PreemptingReplay(32, 8192, 256, "vllm", lengths, kv=8 * 2100)
    most = 0
    for _ in range(10_000):
        if r.done == 32:
            break
        r.step()
        most = max(most, len(r.rem))
        assert r.used() <= 8 * 2100 + 8192
    assert r.done == 32 and 1 < most <= 9
    d = _h100(2048, 64)
    ample = burst(d, lengths, cap=8, kv=10**9)
    tight = burst(d, lengths, cap=256, kv=8 * 2100)
    assert tight.output_tokens_per_s < ample.output_tokens_per_s
    counted = burst(d, lengths, cap=8)
    assert tight.output_tokens_per_s == pytest.approx(counted.output_tokens_per_s, rel=0.25)


def test_engines_that_do_not_preempt_ignore_the_token_count() -> None:
    d = _h100(2048, 64, "sglang")
    lengths = [(2048, 64)] * 32
    assert burst(d, lengths, cap=8, kv=8 * 2100) == burst(d, lengths, cap=8)
