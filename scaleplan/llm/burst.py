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
from scaleplan.llm.memory import ENGINES, GIB, MemoryPlan
from scaleplan.llm.perf import REQUEST_OVERHEAD_MS, Deployment, efficiency, max_in_flight

# engines whose scheduler preempts when the KV cache is full (the engine table's preempts)
PREEMPTS = frozenset(e for e, d in ENGINES.items() if d.preempts)


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


class PreemptingReplay(Replay):
    """A burst through a scheduler that holds the KV cache in tokens (``kv``): every pass the
    running requests' next tokens (one per decode, the prompt chunks) must fit; where they do
    not, the latest-admitted running request is preempted (its cache freed, back at the head of
    the queue; readmitted where it stopped, its blocks found in the prefix cache); a waiting
    request is admitted when the pass has budget for a chunk of it and the cache room for it.
    Requests preempted after their first token keep their share of the per-request TPOT while
    they wait."""

    def __init__(self, n: int, budget: int, cap: int, engine: str,
                 lengths: tuple[tuple[int, int], ...], kv: int) -> None:
        super().__init__(n, 1, 1, budget, cap, engine, lengths=lengths)
        self.kv = max(kv, 1)
        self.resume: dict[int, int] = {}  # preempted request -> tokens generated before
        self.held: dict[int, tuple[int, int, int, int]] = {}  # preempted -> (rem, gen, prompt, out)
        self.preemptions = 0

    def used(self) -> int:
        return sum(self.prompt[k] - max(left, 0) + self.gen[k] for k, left in self.rem.items())

    def need(self) -> int:
        """Tokens the running requests add to the cache in the next pass."""
        decoders = sum(1 for left in self.rem.values() if left <= 0)
        return decoders + sum(c for _, c in self.prefill_chunks(self.budget - decoders))

    def admit(self) -> None:
        while self.rem and self.used() + self.need() > self.kv and len(self.rem) > 1:
            k = next(reversed(self.rem))  # the latest admitted
            self.held[k] = (self.rem[k], self.gen[k], self.prompt[k], self.out[k])
            del self.rem[k], self.gen[k], self.prompt[k], self.out[k]
            if self.held[k][1]:
                self.resume[k] = self.held[k][1]
            self.queue.appendleft((0, k))
            self.preemptions += 1
        while self.queue and len(self.rem) < self.cap and self.queue[0][0] <= self.p:
            k = self.queue[0][1]
            need = self.need()
            left = self.budget - need  # a request is admitted only with a chunk in this pass
            if k in self.held:
                # its blocks are still in the prefix cache: readmitted where it stopped
                rem, gen, prompt, out = self.held[k]
            else:
                i, o = self.lengths[k]
                prompt, out, rem, gen = max(i, 1), max(o, 1), max(i, 1), 0
            first = prompt - max(rem, 0) + gen + min(max(rem, 0), max(left, 0))
            if self.rem and (left <= 0 or self.used() + need + first > self.kv):
                break
            self.queue.popleft()
            self.held.pop(k, None)
            self.prompt[k], self.out[k], self.rem[k], self.gen[k] = prompt, out, rem, gen

    def per_token(self) -> float:
        """Sum of 1 / (O - 1) over the requests between first and last token, the preempted
        ones (waiting or recomputing) included."""
        o = self.lengths
        between = {*self.resume, *(k for k, left in self.rem.items() if left <= 0)}
        return sum(1.0 / (o[k][1] - 1) for k in between if o[k][1] > 1)

    def max_run(self, decoders: int) -> int:
        """Decode-only passes before the cache is full."""
        return max((self.kv - self.used()) // max(decoders, 1), 1)

    def finish(self, k: int) -> None:
        self.resume.pop(k, None)
        super().finish(k)


@functools.lru_cache(maxsize=512)
def burst_calendar(
    lengths: tuple[tuple[int, int], ...], budget: int, cap: int, engine: str, kv: int = 0
) -> Calendar:
    """Replay ``lengths`` (prompt, output) requests, all waiting at the first pass, through the
    engine's scheduler until the last one ends; the whole run's pass groups. ``kv``: the KV
    cache in tokens, for the engines that preempt (``PREEMPTS``); 0: the count cap alone."""
    n = len(lengths)
    r: Replay = (PreemptingReplay(n, budget, cap, engine, lengths, kv) if kv and engine in PREEMPTS
                 else Replay(n, 1, 1, budget, cap, engine, lengths=lengths))
    # every call advances at least one pass; the run takes at most one pass per prompt chunk
    # and one per output token of every request (x 20: a safety stop, preempted requests
    # resume and can wait out passes)
    limit = 20 * sum(o + i // max(budget, 1) + 2 for i, o in lengths) + 2
    r.run(n, limit, f"burst replay did not end ({n} requests)")
    return Calendar(pass_groups(r.acc, exact_decodes=False), max(r.first, 1), max(r.finished, 1))


def kv_tokens(mem: MemoryPlan) -> int:
    """Tokens the KV cache of ``mem`` holds, not rounded down to whole blocks (every layer's KV
    counted, as the count cap does): the plan's own bytes per token, not computed again."""
    return int(mem.kv_gib_per_gpu * GIB // mem.kv_bytes_per_token_per_gpu)


def burst(
    d: Deployment, lengths: Sequence[tuple[int, int]], *, cap: int | None = None,
    kv: int = 0,
) -> BurstPerf:
    """Mean TTFT, mean TPOT and output tokens/s of ``lengths`` (prompt, output) requests sent
    at once to deployment ``d`` (at most ``cap`` sequences running: default ``max_num_seqs``).
    ``kv``: the KV cache in tokens (:func:`kv_tokens`); for the engines that admit by tokens and
    preempt (``PREEMPTS``) it replaces ``cap``, the others ignore it."""
    reqs = tuple((max(int(i), 1), max(int(o), 1)) for i, o in lengths)
    if not reqs:
        raise ValueError("a burst needs at least one request")
    s = d.settings
    # an engine that preempts holds the cache in tokens (kv): only max_num_seqs caps the count
    by_tokens = kv and s.engine in PREEMPTS
    most = max_in_flight(d)
    running = most if by_tokens else min(cap or most, most)
    cal = burst_calendar(reqs, s.max_num_batched_tokens, running, s.engine, kv)
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
