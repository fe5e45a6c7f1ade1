"""Closed-loop benchmarks: N clients, each sending its next request when its last one ends.

A benchmark with N requests in flight (``vllm bench serve --max-concurrency N``, AIPerf and
GenAI-Perf ``--concurrency N``, ``scaleplan profile --concurrency N``) does not run the steady
state of independent arrivals that :func:`~scaleplan.llm.perf.serve_class` models. Requests
that finish in the same engine pass come back together; their prompts then share (or queue
for) the next passes' token budget while the other clients' sequences keep decoding, and with
fixed prompt and completion lengths the pattern repeats every generation. :func:`closed_loop`
replays the engine's scheduler pass by pass and prices every pass with
:func:`~scaleplan.llm.perf.step_time_ms`. The replay is deterministic, and *which* tokens a
pass carries does not depend on how long passes take, so it is computed once per (N, tokens,
engine settings) and only the pricing depends on the hardware and the calibration.

The scheduler, per engine (docs/llm.md, "Closed-loop benchmarks"):

* vLLM and TGI: the running sequences' decodes first (one budget token each), then waiting
  prompts in arrival order, each chunked to what is left of ``max_num_batched_tokens``;
* TensorRT-LLM: the same, with whole prompts (chunked context is off by default): a prompt
  that does not fit what is left waits for the next pass (one longer than the whole budget
  runs alone, as the engine must then be built with a larger ``max_num_tokens``);
* SGLang: prefill passes carry no decodes (mixed chunks are off by default): while prompts
  wait, a pass prefills them and the running sequences stall for that pass.

A finished request's replacement reaches the scheduler after the next pass has started (the
client first receives the last token, then sends), so it joins the pass after that
(``ARRIVAL_LAG``). At most ``cap`` sequences run (the KV cache, ``max_num_seqs``); the other
clients' requests wait. TTFT is counted from the client's send, so it includes that wait.
Means come from Little's law over the measured generations (after ``WARMUP`` generations):
mean TTFT = time-integral of requests without a first token / first tokens; mean TPOT =
time-integral of sequences between first and last token / completions / (O - 1).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass

from scaleplan.llm.memory import ENGINES
from scaleplan.llm.perf import (
    REQUEST_OVERHEAD_MS,
    ClassPerf,
    Deployment,
    efficiency,
    max_in_flight,
    step_time_ms,
)

ARRIVAL_LAG = 1  # passes a replacement request misses after its predecessor's last one
WARMUP = 2  # generations (N completions each) replayed before measuring
MEASURED = 3  # generations measured
# engine -> (chunked prefill, prefill passes also carry decodes), from the engine table
SCHEDULER: dict[str, tuple[bool, bool]] = {
    e: (d.chunked_prefill, d.mixed_passes) for e, d in ENGINES.items()
}


GROUP_WIDTH = 1.05  # passes whose token counts differ by less than 5 % are priced together


@dataclass(frozen=True)
class PassGroup:
    """Passes of about one composition in the measured window.

    ``passes`` passes of on average ``prefill_tokens`` prompt tokens from ``prefill_seqs``
    prompts and ``decode_seqs`` decodes; ``pairs`` and ``context`` are the attention pairs and
    decode context tokens summed over the passes; ``waiting`` and ``decoding`` sum, over the
    passes, the requests without a first token yet and the sequences between first and last
    token; ``per_token`` sums, over the passes, 1 / (O - 1) of each sequence between first
    and last token (its share of a per-request TPOT, for requests of different lengths). A
    step's time is close to linear in these counts, so passes within ``GROUP_WIDTH`` of each
    other in tokens are priced once, at their means (exact for decode-only passes of one batch,
    whose time is linear in the context).
    """

    passes: int
    prefill_tokens: float
    prefill_seqs: float
    decode_seqs: float
    pairs: float
    context: float
    waiting: float
    decoding: float
    per_token: float = 0.0


@dataclass(frozen=True)
class Calendar:
    """The measured window of a closed loop: its pass groups, first tokens and completions."""

    groups: tuple[PassGroup, ...]
    first_tokens: int
    completions: int


class Replay:
    """The scheduler's state while replaying (one request per client slot in flight).

    ``lengths``: per-request (prompt, output) tokens of requests 0 .. len - 1 (the others, and
    all of them when empty, have ``i`` and ``o``); with lengths given, a finished request is
    not replaced (a burst of requests, :mod:`scaleplan.llm.burst`)."""

    def __init__(
        self, n: int, i: int, o: int, budget: int, cap: int, engine: str,
        lengths: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.i, self.o, self.budget, self.cap = i, o, max(budget, 1), max(cap, 1)
        self.chunked, self.mixed = SCHEDULER.get(engine, (True, True))
        self.lengths = lengths
        self.rem: dict[int, int] = {}  # running request -> prompt tokens still to prefill
        self.gen: dict[int, int] = {}  # running request -> tokens generated
        self.prompt: dict[int, int] = {}  # running request -> its prompt and output tokens
        self.out: dict[int, int] = {}
        self.queue: deque[tuple[int, int]] = deque((0, k) for k in range(n))  # (visible, id)
        self.next_id = n
        self.p = 0  # pass index
        self.done = 0
        self.measuring = False
        self.first = 0
        self.finished = 0
        self.acc: dict[tuple[int, int, int], list[float]] = {}

    def admit(self) -> None:
        while self.queue and len(self.rem) < self.cap and self.queue[0][0] <= self.p:
            _, k = self.queue.popleft()
            i, o = self.lengths[k] if k < len(self.lengths) else (self.i, self.o)
            self.prompt[k], self.out[k] = max(i, 1), max(o, 1)
            self.rem[k] = self.prompt[k]
            self.gen[k] = 0

    def per_token(self) -> float:
        """Sum of 1 / (O - 1) over the sequences between first and last token."""
        out = self.out
        return sum(1.0 / (out[k] - 1) for k, left in self.rem.items() if left <= 0 and out[k] > 1)

    def prefill_chunks(self, budget: int) -> list[tuple[int, int]]:
        chunks: list[tuple[int, int]] = []
        for k, left in self.rem.items():
            if left <= 0 or budget <= 0:
                continue
            if self.chunked:
                c = min(left, budget)
            elif left <= budget or not chunks:
                c = left  # one prompt may overrun what is left (max_num_tokens fits it)
            else:
                break
            chunks.append((k, c))
            budget -= c
        return chunks

    def record(
        self, key: tuple[int, int, int], passes: int, pairs: float, ctx: float,
        waiting: int, decoding: int,
    ) -> None:
        if not self.measuring:
            return
        a = self.acc.setdefault(key, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        a[0] += passes
        a[1] += pairs
        a[2] += ctx
        a[3] += waiting * passes
        a[4] += decoding * passes
        a[5] += (self.per_token() if self.lengths else decoding / max(self.o - 1, 1)) * passes

    def finish(self, k: int) -> None:
        del self.rem[k], self.gen[k], self.prompt[k], self.out[k]
        self.done += 1
        self.finished += self.measuring
        if not self.lengths:  # a closed loop: the client sends its next request
            self.queue.append((self.p + 1 + ARRIVAL_LAG, self.next_id))
            self.next_id += 1

    def run(self, stop: int, limit: int, failure: str, *, warm: int = 0) -> None:
        """Step until ``stop`` requests have ended, measuring from the ``warm``-th on;
        RuntimeError(``failure``) after ``limit`` steps."""
        calls = 0
        while self.done < stop:
            self.measuring = self.done >= warm
            self.step()
            calls += 1
            if calls > limit:
                raise RuntimeError(failure)

    def step(self) -> None:
        """One pass, or a run of identical decode-only passes."""
        self.admit()
        decoders = [k for k, left in self.rem.items() if left <= 0]
        waiting_prompts = any(left > 0 for left in self.rem.values())
        if not self.mixed and waiting_prompts:
            decoders = []
        chunks = self.prefill_chunks(self.budget - len(decoders))
        waiting = len(self.queue) + sum(1 for left in self.rem.values() if left > 0)
        in_decode = len(self.rem) - sum(1 for left in self.rem.values() if left > 0)
        if not chunks and not decoders:
            self.p = max(self.p + 1, self.queue[0][0]) if self.queue else self.p + 1
            return
        if chunks:
            self._mixed_pass(chunks, decoders, waiting, in_decode)
        else:
            self._decode_run(decoders, waiting, in_decode)

    def max_run(self, decoders: int) -> int:
        """Most identical decode-only passes in one run (no limit here; a replay that holds the
        KV cache in tokens stops a run where the cache fills)."""
        return 1 << 62

    def _mixed_pass(
        self, chunks: list[tuple[int, int]], decoders: list[int], waiting: int, in_decode: int
    ) -> None:
        pairs = 0.0
        for k, c in chunks:
            done = self.prompt[k] - self.rem[k]
            pairs += c * done + c * c / 2.0
        ctx = float(sum(self.prompt[k] + self.gen[k] for k in decoders))
        key = (sum(c for _, c in chunks), len(chunks), len(decoders))
        self.record(key, 1, pairs, ctx, waiting, in_decode)
        ended: list[int] = []
        for k, c in chunks:
            self.rem[k] -= c
            if self.rem[k] <= 0:
                self.gen[k] = 1
                self.first += self.measuring
                if self.out[k] <= 1:
                    ended.append(k)
        for k in decoders:
            self.gen[k] += 1
            if self.gen[k] >= self.out[k]:
                ended.append(k)
        for k in ended:
            self.finish(k)
        self.p += 1

    def _decode_run(self, decoders: list[int], waiting: int, in_decode: int) -> None:
        run = min(min(self.out[k] - self.gen[k] for k in decoders), self.max_run(len(decoders)))
        if self.queue and len(self.rem) < self.cap:
            run = min(run, max(self.queue[0][0] - self.p, 1))
        d = len(decoders)
        ctx0 = float(sum(self.prompt[k] + self.gen[k] for k in decoders))
        ctx = run * ctx0 + d * run * (run - 1) / 2.0
        self.record((0, 0, d), run, 0.0, ctx, waiting, in_decode)
        ended = []
        for k in decoders:
            self.gen[k] += run
            if self.gen[k] >= self.out[k]:
                ended.append(k)
        self.p += run - 1
        for k in ended:
            self.finish(k)
        self.p += 1


@functools.lru_cache(maxsize=4096)
def calendar(n: int, i: int, o: int, budget: int, cap: int, engine: str) -> Calendar:
    """Replay ``n`` clients sending ``i``-token prompts for ``o`` tokens each through the
    engine's scheduler; the measured window's pass groups (see the module docstring)."""
    n, i, o = max(n, 1), max(i, 1), max(o, 1)
    r = Replay(n, i, o, budget, cap, engine)
    warm, stop = WARMUP * n, (WARMUP + MEASURED) * n
    # every call advances at least one pass; a generation takes at most O passes plus one
    # prefill pass per prompt chunk (and the arrival lag)
    limit = 2 * (WARMUP + MEASURED + 1) * (o + n * (i // max(budget, 1) + 2) + ARRIVAL_LAG + 1)
    r.run(stop, limit, f"closed-loop replay did not converge (N={n}, {i}/{o} tokens)", warm=warm)
    return Calendar(pass_groups(r.acc), max(r.first, 1), max(r.finished, 1))


def pass_groups(
    acc: dict[tuple[int, int, int], list[float]], *, exact_decodes: bool = True
) -> tuple[PassGroup, ...]:
    """Exact pass compositions merged into groups of about the same size (``GROUP_WIDTH``);
    decode-only passes of different batches too unless ``exact_decodes`` (a decode step's time
    is close to linear in its batch and context: exact within a group of one batch, nearly so
    within 5 % of the batch)."""
    merged: dict[tuple[bool, int, int], list[float]] = {}
    for (pt, ps, ds), (passes, pairs, ctx, waiting, decoding, per_token) in acc.items():
        batch = ds if pt == 0 and exact_decodes else -1
        key = (pt > 0, round(math.log(pt + ds) / math.log(GROUP_WIDTH)), batch)
        m = merged.setdefault(key, [0.0] * 9)
        sums = (
            passes, pt * passes, ps * passes, ds * passes, pairs, ctx, waiting, decoding, per_token
        )
        for j, v in enumerate(sums):
            m[j] += v
    return tuple(
        PassGroup(int(m[0]), m[1] / m[0], m[2] / m[0], m[3] / m[0], m[4], m[5], m[6], m[7], m[8])
        for _, m in sorted(merged.items())
    )


def closed_loop(
    d: Deployment, input_tokens: int, output_tokens: int, clients: int, *, cap: int | None = None
) -> ClassPerf:
    """Mean TTFT, TPOT and throughput of ``clients`` closed-loop clients on deployment ``d``
    (at most ``cap`` sequences running: default ``max_num_seqs``)."""
    i, o, n = max(input_tokens, 1), max(output_tokens, 1), max(clients, 1)
    s = d.settings
    most = max_in_flight(d)
    running = min(cap or most, most)
    cal = calendar(n, i, o, s.max_num_batched_tokens, running, s.engine)
    t = price(d, cal)
    ttft_ms = t.waiting_ms / cal.first_tokens + REQUEST_OVERHEAD_MS[s.engine]
    tpot_ms = t.decoding_ms / cal.completions / (o - 1) if o > 1 else 0.0
    rps = cal.completions / (t.total_ms / 1000.0) if t.total_ms > 0 else 0.0
    basis = efficiency(d.hw, s.engine, d.dtype, d.calibration).basis + ", closed-loop replay"
    return ClassPerf.of(
        d, concurrency=n, output_tokens=o, ttft_ms=ttft_ms, tpot_ms=tpot_ms, throughput_rps=rps,
        bound=t.bound, basis=basis,
    )


@dataclass(frozen=True)
class Priced:
    """A calendar priced on a deployment: its total time and the time-integrals (ms) of the
    requests without a first token (``waiting_ms``), of the sequences between first and last
    token (``decoding_ms``) and of their 1 / (O - 1) shares (``per_token_ms``)."""

    total_ms: float
    waiting_ms: float
    decoding_ms: float
    per_token_ms: float
    bound: str


def price(d: Deployment, cal: Calendar) -> Priced:
    """Every pass group of ``cal`` priced with :func:`~scaleplan.llm.perf.step_time_ms`."""
    total = ttft = decoding = per_token = compute = memory = 0.0
    for g in cal.groups:
        st = step_time_ms(
            d,
            prefill_tokens=g.prefill_tokens,
            prefill_seqs=g.prefill_seqs,
            prefill_pairs=g.pairs / g.passes,
            decode_seqs=g.decode_seqs,
            context_tokens_total=g.context / g.passes,
        )
        total += st.ms * g.passes
        ttft += st.ms * g.waiting
        decoding += st.ms * g.decoding
        per_token += st.ms * g.per_token
        compute += st.compute_ms * g.passes
        memory += st.memory_ms * g.passes
    return Priced(total, ttft, decoding, per_token, "compute" if compute >= memory else "memory")
