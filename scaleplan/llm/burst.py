"""A burst: N requests all sent at t = 0 (``vllm bench serve --request-rate inf``, no
``--max-concurrency``), each with its own prompt and output length.

Such a run is not the saturation steady state of :func:`~scaleplan.llm.perf.serve_class`:

* the prompts arrive together, so the first passes are full of prefill (the engine's token
  budget, chunked or not as the engine schedules) while the first sequences' decodes share
  (or, on SGLang, wait for) those passes;
* with lengths that differ the running batch empties unevenly, and a finished sequence's slot
  is refilled from the queue only while requests are left;
* at the end the last requests drain with few companions, at small-batch step times.

Throughput is all output tokens over the makespan (the run's duration), as the benchmark
reports it. :func:`burst` replays the requests through the engine's scheduler pass by pass
with the machinery of :mod:`scaleplan.llm.closed_loop` (the same per-engine scheduler, the
same pass grouping, every pass priced by :func:`~scaleplan.llm.perf.step_time_ms`), with no
replacements. Assumptions (docs/llm.md, "Bursts"): requests are admitted in order, at most
``cap`` sequences run at once (the KV cache at the mean lengths, ``max_num_seqs``; no
preemption is replayed); the whole run is measured (no warm-up). Means as ``vllm bench serve``
computes them: TTFT over all requests (time-integral of requests without a first token / N,
plus the request's path outside the engine); TPOT per request, (latency - TTFT) / (O - 1),
averaged over the requests with O > 1.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from scaleplan.llm.closed_loop import Calendar, Replay, pass_groups, price
from scaleplan.llm.perf import REQUEST_OVERHEAD_MS, Deployment, efficiency


@dataclass(frozen=True)
class BurstPerf:
    """Predicted means of a burst: TTFT and TPOT (ms), output tokens/s over the makespan."""

    requests: int
    ttft_ms: float
    tpot_ms: float
    output_tokens_per_s: float
    makespan_ms: float
    bound: str
    basis: str


@functools.lru_cache(maxsize=512)
def burst_calendar(
    lengths: tuple[tuple[int, int], ...], budget: int, cap: int, engine: str
) -> Calendar:
    """Replay ``lengths`` (prompt, output) requests, all waiting at the first pass, through the
    engine's scheduler until the last one ends; the whole run's pass groups."""
    n = len(lengths)
    r = Replay(n, 1, 1, budget, cap, engine, lengths=lengths)
    # every call advances at least one pass; the run takes at most one pass per prompt chunk
    # and one per output token of every request
    limit = 2 * sum(o + i // max(budget, 1) + 2 for i, o in lengths) + 2
    r.run(n, limit, f"burst replay did not end ({n} requests)")
    return Calendar(pass_groups(r.acc, exact_decodes=False), max(r.first, 1), max(r.finished, 1))


def burst(
    d: Deployment, lengths: Sequence[tuple[int, int]], *, cap: int | None = None
) -> BurstPerf:
    """Mean TTFT, mean TPOT and output tokens/s of ``lengths`` (prompt, output) requests sent
    at once to deployment ``d`` (at most ``cap`` sequences running: default ``max_num_seqs``)."""
    reqs = tuple((max(int(i), 1), max(int(o), 1)) for i, o in lengths)
    if not reqs:
        raise ValueError("a burst needs at least one request")
    s = d.settings
    running = min(cap or s.max_num_seqs, s.max_num_seqs)
    cal = burst_calendar(reqs, s.max_num_batched_tokens, running, s.engine)
    t = price(d, cal)
    decoded = sum(1 for _, o in reqs if o > 1)
    out_tokens = sum(o for _, o in reqs)
    basis = efficiency(d.hw, s.engine, d.dtype, d.calibration).basis + ", burst replay"
    return BurstPerf(
        requests=len(reqs),
        ttft_ms=t.waiting_ms / len(reqs) + REQUEST_OVERHEAD_MS[s.engine],
        tpot_ms=t.per_token_ms / decoded if decoded else 0.0,
        output_tokens_per_s=out_tokens / (t.total_ms / 1000.0) if t.total_ms > 0 else 0.0,
        makespan_ms=t.total_ms,
        bound=t.bound,
        basis=basis,
    )
