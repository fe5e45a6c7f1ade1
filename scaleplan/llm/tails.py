"""The tail factors: the LLM model predicts means; p90/p95/p99 add the spread continuous
batching shows (prompts of other requests landing in the same steps). docs/llm.md.
:func:`tail_at` is the one place the tables scale a mean (tests/test_llm_tail_factors.py);
moved out of :mod:`scaleplan.llm.serving` on 2026-12-07, which re-exports nothing of it."""

from __future__ import annotations

from typing import Literal

TTFT_TAIL = {50: 1.0, 90: 1.25, 95: 1.4, 99: 1.8}
TPOT_TAIL = {50: 1.0, 90: 1.08, 95: 1.12, 99: 1.25}
# the metrics with a tail table (tail_at's key)
TailKey = Literal["ttft", "tpot"]


def tail_at(key: TailKey, mean_ms: float, percentile: int) -> float:
    """``key``'s ("ttft" / "tpot") value at a percentile from its mean by its tail factor
    (:data:`TTFT_TAIL` / :data:`TPOT_TAIL`): the one place the tables scale a mean. Any other
    key raises ValueError (it read every key but "tpot" as TTFT: r2 review, 2026-12-07)."""
    if key not in ("ttft", "tpot"):
        raise ValueError(f"tail_at: no tail table for {key!r} (only 'ttft' and 'tpot')")
    return mean_ms * (TPOT_TAIL if key == "tpot" else TTFT_TAIL)[percentile]


def tails_at(ttft_ms: float, tpot_ms: float, percentile: int) -> tuple[float, float]:
    """(TTFT, TPOT) at a percentile from mean TTFT and TPOT, by the tail factors alone
    (:func:`tail_at`; no length spread)."""
    return tail_at("ttft", ttft_ms, percentile), tail_at("tpot", tpot_ms, percentile)
