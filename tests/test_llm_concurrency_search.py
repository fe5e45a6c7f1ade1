"""The concurrency a shape is planned at is the highest that meets the SLO, not the highest
rung of the ladder below it (UX review 5, #2): Qwen2.5-32B-like on 4 x A100-80GB with a
6,000-token class was planned at 4 sequences because the ladder jumps 4 -> 8 and 8 misses the
TTFT, where 7 holds it: 77 replicas ($907/h) instead of the ~$412/h of 7 sequences."""

from __future__ import annotations

from scaleplan.catalog.files import load_accelerators
from scaleplan.llm.serving import (
    CONCURRENCY_LADDER,
    TokenClass,
    best_concurrency,
    max_concurrency,
    predict,
    setup,
    size,
    slo_verdict,
)


def _misses(p, **slo) -> bool:
    return slo_verdict(p, **slo)[0] is not None


def test_the_planned_concurrency_is_the_most_that_holds_the_slo() -> None:
    acc = {a.name: a for a in load_accelerators()}
    cases = [  # (model, accelerator, GPUs, class, ttft, tpot) breaking between two rungs
        ("qwen3-32b", "A100-80GB", 4, TokenClass("rag", 6000, 250), 1500.0, 40.0),
        ("mistral-7b-instruct-v0.2", "H100", 1, TokenClass("sum", 3500, 150), 600.0, 35.0),
        ("llama-3.1-8b", "L40S", 1, TokenClass("long", 4096, 512), 2500.0, 90.0),
    ]
    between = 0
    for model, name, gpus, cls, ttft, tpot in cases:
        su = setup(model, max_model_len=8192)
        shape = size(su, acc[name], gpus, [cls])
        slo = {"ttft_ms": ttft, "tpot_ms": tpot, "latency_ms": None, "percentile": 95}
        best = best_concurrency(shape, su, cls, **slo)
        assert best is not None
        n = best.concurrency
        assert not _misses(best, **slo)
        cap = max_concurrency(shape, su, cls)
        if n < cap:  # one more sequence misses the SLO: n is the most that holds it
            assert _misses(predict(shape, cls, n + 1), **slo), (model, name, n)
        between += n not in CONCURRENCY_LADDER
    assert between >= 2  # the cases do break between rungs
