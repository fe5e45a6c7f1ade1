"""The continuous-batching kernel behind ``scaleplan simulate`` for LLM plans (docs/simulate.md).

One event loop over all replicas of a plan. Each replica runs vLLM-style iteration-level
scheduling: a *step* runs one decode token for every running sequence plus chunks of prompt
(prefill) work, within a per-step token budget (``max_num_batched_tokens``, chunked prefill);
new sequences are admitted first come, first served while fewer than ``max_num_seqs`` run and
the KV cache has room for the whole prompt; when the running sequences' next tokens do not fit
the cache, the most recently admitted sequence is preempted (its KV freed, recomputed later:
vLLM's recompute preemption) and counted. The step's duration comes from a :class:`StepTime`
function of the step's prefill tokens, decode sequences and KV context, so the same kernel runs
on the LLM performance model or on times derived from measured TTFT/TPOT points.

Per step the work is O(1) plus the sequences that start or finish: running sequences are not
touched one by one. A replica keeps a decode-step counter ``D``; a sequence that joins decoding
at counter ``d0`` with ``g`` tokens generated finishes at ``D = d0 + out - g`` (a heap), and the
KV context of all decoding sequences is ``S + n_dec * D`` with ``S`` updated on join and leave.

Pure: the result depends only on the inputs; no clock, no printing, no randomness (routing
draws come in as an array).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from scaleplan.simulate.llm_wait import check_frontend, held_back, receive

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

# request outcomes
OK = 0
FAILED = 1  # lost with a failed replica, or routed to an allocation with no running replica
REJECTED = 2  # prompt + completion longer than max_model_len (the server answers 400)
UNFINISHED = 3  # still queued or running when the simulation ended


class StepTime(Protocol):
    """Duration (seconds) of one scheduler step: ``prefill_tokens`` prompt tokens from
    ``prefill_seqs`` sequences with ``prefill_pairs`` attention (query, key) pairs (each chunk
    attends to its sequence's earlier tokens and causally to itself), and one token for each of
    ``decode_seqs`` sequences over ``context_tokens`` tokens of KV context in all."""

    def __call__(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float,
            decode_seqs: int, context_tokens: int) -> float: ...


@dataclass(frozen=True)
class LinearStep:
    """``base + per_prefill_token * P + per_decode_seq * n + per_context_token * ctx`` seconds.

    The shape used when step times are derived from measured TTFT/TPOT points (see
    :func:`scaleplan.simulate.llm_replicas.step_from_points`): a fixed cost per step (weights read,
    launch), a cost per decoding sequence, per KV-context token read and per prompt token.
    """

    base_s: float
    per_prefill_token_s: float
    per_decode_seq_s: float
    per_context_token_s: float = 0.0

    def __call__(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float,
            decode_seqs: int, context_tokens: int) -> float:
        return (self.base_s + self.per_prefill_token_s * prefill_tokens
                + self.per_decode_seq_s * decode_seqs + self.per_context_token_s * context_tokens)


@dataclass(frozen=True)
class ReplicaConfig:
    """Scheduler settings of one replica type (from the plan's ``llm`` section).

    The engine's scheduling policy (``scaleplan.llm.closed_loop.SCHEDULER``, docs/simulate.md):
    ``chunked`` splits prompts over steps within the token budget (else a whole prompt waits for
    a step with room for it; one longer than the whole budget runs alone: TensorRT-LLM without
    chunked context); ``mixed`` lets prefill steps carry the running sequences' decodes (else a
    step that prefills runs no decodes, and they stall for it: SGLang without mixed chunks).
    ``recv_interval`` is SGLang's ``--scheduler-recv-interval`` (default 1): a busy scheduler
    takes new requests in only after that many decode steps, or after any step that prefilled;
    an idle one at once (SGLang's rule, cited: ``llm_wait.receive``). ``reserve_completion``:
    admission reserves KV for the prompt and the whole completion, so nothing is preempted
    (TensorRT-LLM's GUARANTEED_NO_EVICT).
    """

    max_num_seqs: int
    kv_cache_tokens: int
    block_size: int
    token_budget: int
    max_model_len: int
    step: StepTime
    chunked: bool = True
    mixed: bool = True
    recv_interval: int = 1
    reserve_completion: bool = False
    batch_wait: tuple[int, float] = (0, 0.0)  # TensorRT-LLM delayed context batching: llm_wait


@dataclass(frozen=True)
class Outage:
    """Replicas ``replicas`` stop at ``down_s`` (losing what they hold) and serve again at ``up_s``."""

    replicas: frozenset[int]
    down_s: float
    up_s: float


@dataclass
class EngineResult:
    """Per request: replica, outcome, first-token and finish time; per replica: counters; and the
    sampled time series (summed over replicas)."""

    arrival: F64
    replica: I64
    outcome: I64
    t_first: F64
    t_done: F64
    preemptions: I64  # per replica
    busy_s: F64  # per replica
    steps: I64  # per replica
    seq_steps: I64  # per replica: sum over steps of the decoding sequences
    sample_t: F64
    sample_waiting: I64
    sample_running: I64
    sample_kv_used: F64  # KV tokens in use / KV tokens of the replicas running at that time
    sample_preempted: I64  # cumulative preemptions


class _Rep:
    __slots__ = (
        "alloc", "busy_s", "cap", "cfg", "d", "heap", "held", "inbox", "kv_pref", "n_dec",
        "preempt", "prefill", "prefilled", "recv", "reserved", "running", "s", "seq_steps",
        "stall", "stepping", "steps", "token", "waiting",
    )

    def __init__(self, cfg: ReplicaConfig, alloc: int) -> None:
        self.cfg = cfg
        self.alloc = alloc
        self.cap = float(cfg.kv_cache_tokens)
        self.waiting: deque[int] = deque()
        self.inbox: list[int] = []  # sent, not yet taken in by the scheduler (recv_interval)
        self.recv = 0  # decode steps since the scheduler last took requests in
        self.held = 0  # steps new prompts were held back in a row (batch_wait)
        self.prefilled = False  # the last step prefilled
        self.stall = False  # the running step prefills only: decodes wait (mixed = False)
        self.prefill: list[list[int]] = []  # [rid, tokens left, tokens reserved, scheduled now]
        self.running: dict[int, None] = {}  # admission order (LIFO victim = last)
        self.heap: list[tuple[int, int, int]] = []  # (finish counter, rid, version)
        self.d = 0  # decode-step counter
        self.s = 0  # sum over decoding seqs of (length at join - counter at join)
        self.n_dec = 0
        self.kv_pref = 0  # tokens reserved by sequences still in prefill
        self.reserved = 0  # prompt + whole completion of the running (reserve_completion)
        self.stepping = False
        self.token = 0  # invalidates a scheduled step end when the replica fails
        self.preempt = 0
        self.busy_s = 0.0
        self.steps = 0
        self.seq_steps = 0  # sum over steps of decoding sequences (mean batch = seq_steps / steps)

    def kv_used(self) -> float:
        return self.s + self.n_dec * self.d + self.kv_pref + len(self.running) * (self.cfg.block_size * 0.5)


class ReplicaView:
    """What a router may look at: which replicas serve, their queues and free KV."""

    def __init__(self, reps: list[_Rep], alloc_of: Sequence[int]) -> None:
        self._reps = reps
        self.alloc_of = alloc_of
        self.serving: list[bool] = [False] * len(reps)
        self.serving_ids: tuple[int, ...] = ()

    def queue(self, g: int) -> int:
        r = self._reps[g]
        return len(r.waiting) + len(r.inbox) + len(r.running)

    def waiting(self, g: int) -> int:
        r = self._reps[g]
        return len(r.waiting) + len(r.inbox)

    def free_kv(self, g: int) -> float:
        r = self._reps[g]
        return (r.cap - r.kv_used()) / r.cap if r.cap > 0 else 0.0


Control = Callable[[float, ReplicaView], tuple[frozenset[int], float]]


class _Engine:
    """The changing state of one :func:`run`: the replicas, every request's progress and
    outcome, the event heap and the sampled series. One method per job: a request's arrival
    (:meth:`arrive`), a serving-set change or outage (:meth:`change`), a step's start
    (:meth:`start`: preemption, prompt chunks, admission) and end (:meth:`end`: sequences that
    finish, prompts that join decoding), a replica's failure, the samples and the result."""

    __slots__ = (
        "base", "closed_loop", "configs", "control", "djoin", "down", "events", "fe", "gen",
        "idle", "inl", "n", "next_sample", "now", "outages", "outcome", "outl", "planned",
        "ready", "rep_of", "reps", "s_kv", "s_pre", "s_run", "s_wait", "samples", "serving",
        "si", "t_done", "t_first", "tl", "ver", "view",
    )

    def __init__(
        self, times: F64, inp: I64, out: I64, configs: Sequence[ReplicaConfig],
        alloc_of: Sequence[int], serving: Sequence[tuple[float, frozenset[int]]],
        outages: Sequence[Outage], sample_t: F64 | None, closed_loop: int, frontend_s: float = 0.0,
    ) -> None:
        n = len(times)
        nrep = len(configs)
        self.n = n
        self.configs = configs
        self.reps = [_Rep(configs[g], alloc_of[g]) for g in range(nrep)]
        self.view = ReplicaView(self.reps, alloc_of)
        # engine-side arrivals: the send times plus the front end (subtracted in result())
        self.fe = frontend_s
        self.tl: list[float] = (times + frontend_s).tolist() if frontend_s else times.tolist()
        self.ready = n  # arrivals known so far (closed loop: released by completions)
        self.closed_loop = closed_loop
        if closed_loop > 0:
            self.ready = min(closed_loop, n)
            first = self.tl[: self.ready]  # each client's first send time; later ones released
            self.tl = first + [first[-1] if n else 0.0] * (n - self.ready)
        self.inl: list[int] = inp.tolist()
        self.outl: list[int] = out.tolist()
        self.gen = [0] * n
        self.idle: list[int] = []  # idle replicas that requests reached at the current instant
        self.ver = [0] * n
        self.base = [0] * n
        self.djoin = [0] * n
        self.rep_of = [-1] * n
        self.outcome = [UNFINISHED] * n
        self.t_first = [math.nan] * n
        self.t_done = [math.nan] * n
        self.events: list[tuple[float, int, int, int]] = []  # (time, kind, replica/index, token)
        # kinds: 0 serving set, 1 outage down, 2 outage up, 3 step end, 4 control (ties: in order)
        for k, (t0, _) in enumerate(serving):
            heapq.heappush(self.events, (t0, 0, k, 0))
        for k, o in enumerate(outages):
            heapq.heappush(self.events, (o.down_s, 1, k, 0))
            heapq.heappush(self.events, (o.up_s, 2, k, 0))
        self.serving = serving
        self.outages = outages
        self.down = [False] * nrep
        self.planned: frozenset[int] = frozenset()
        self.control: Control | None = None  # run's ``control`` (kind 4 events)
        self.now = 0.0
        self.samples: list[float] = sample_t.tolist() if sample_t is not None else []
        self.si = 0
        self.next_sample = self.samples[0] if self.samples else math.inf
        self.s_wait: list[int] = []
        self.s_run: list[int] = []
        self.s_kv: list[float] = []
        self.s_pre: list[int] = []

    # --- arrivals and the serving set ---------------------------------------------------------

    def arrive(self, i: int, t: float, g: int) -> None:
        """Request ``i`` arrives at ``t``, routed to replica ``g`` (-1: no replica serves)."""
        inl, outl = self.inl, self.outl
        if g < 0:
            self.outcome[i] = FAILED
            if self.closed_loop:
                self.release(t)
            return
        cfg = self.configs[g]
        self.rep_of[i] = g
        total = inl[i] + outl[i]
        if total > cfg.max_model_len or total + cfg.block_size > cfg.kv_cache_tokens:
            self.outcome[i] = REJECTED
            if self.closed_loop:
                self.release(t)
            return
        r = self.reps[g]
        if r.stepping and cfg.recv_interval > 1:
            r.inbox.append(i)  # a busy scheduler takes it in at its next receive
            return
        r.waiting.append(i)
        if not r.stepping and g not in self.idle:
            self.idle.append(g)  # starts once every request sent at ``t`` is in (wake)

    def wake(self, t: float) -> None:
        """Idle replicas that requests reached at ``t`` start their step, with every request
        that arrived at that same instant in its queue (a closed loop's clients that a step's
        end released together, a burst sent at once: the scheduler sees them together)."""
        for g in self.idle:
            if not self.reps[g].stepping:
                self.start(g, t)
        self.idle.clear()

    def release(self, t: float) -> None:
        """Closed loop: a request ended at ``t``; the next one arrives (not before the last)."""
        if self.ready < self.n:
            self.tl[self.ready] = max(t + self.fe, self.tl[self.ready - 1])
            self.ready += 1

    def change(self, kind: int, k: int) -> None:
        """Event ``k`` of ``kind`` 0 (the serving set changes), 1 (an outage starts: its
        replicas fail) or 2 (it ends: they serve again, empty)."""
        down = self.down
        if kind == 0:
            self.planned = self.serving[k][1]
        elif kind == 4:  # the autoscaler: who serves from now on, and when it acts next
            self.planned, nxt = self.control(self.now, self.view)  # type: ignore[misc]
            if nxt < math.inf:
                heapq.heappush(self.events, (nxt, 4, 0, 0))
        elif kind == 1:
            for g in self.outages[k].replicas:
                if not down[g]:
                    down[g] = True
                    self.fail_replica(g)
        else:
            for g in self.outages[k].replicas:
                down[g] = False
        view = self.view
        for g in range(len(self.reps)):
            view.serving[g] = (g in self.planned) and not down[g]
        view.serving_ids = tuple(g for g in range(len(self.reps)) if view.serving[g])

    def fail_replica(self, g: int) -> None:
        """Replica ``g`` goes down: what it holds fails, its scheduled step end is void."""
        r = self.reps[g]
        for v in list(r.waiting) + r.inbox + list(r.running):
            self.outcome[v] = FAILED
            if self.closed_loop:
                self.release(self.now)
        r.waiting.clear()
        r.inbox = []
        r.running.clear()
        r.prefill = []
        r.heap = []
        r.s = r.n_dec = r.kv_pref = r.reserved = 0
        r.stepping = r.stall = False
        r.token += 1

    # --- the scheduler step ---------------------------------------------------------------------

    def start(self, g: int, t: float) -> None:
        """Replica ``g``'s next step from ``t``: room in the KV cache for the decode tokens, the
        prompt chunks within the token budget, then new sequences admitted; its end is an event.
        With nothing to run, the replica idles until a request arrives."""
        r = self.reps[g]
        cfg = r.cfg
        if cfg.recv_interval > 1:
            receive(r)
        half = cfg.block_size * 0.5
        if r.running and r.s + r.n_dec * (r.d + 1) + r.kv_pref + len(r.running) * half > r.cap:
            self._preempt(r, half)
        budget = cfg.token_budget - (r.n_dec if cfg.mixed else 0)
        p_tokens = 0
        p_seqs = 0
        pairs = 0.0
        for e in r.prefill:
            take = min(e[1], budget) if cfg.chunked or p_tokens == 0 or e[1] <= budget else 0
            e[3] = take
            if take > 0:
                budget -= take
                p_tokens += take
                p_seqs += 1
                pairs += take * (e[2] - e[1]) + take * take * 0.5
        room = budget > 0 and len(r.waiting) > 0 and len(r.running) < cfg.max_num_seqs
        if room and not held_back(r, budget, self.inl, self.gen):
            p_tokens, p_seqs, pairs = self._admit(r, budget, p_tokens, p_seqs, pairs, half)
        if r.n_dec == 0 and p_tokens == 0:
            r.stepping = False
            return
        r.prefilled = p_tokens > 0
        r.stall = r.prefilled and not cfg.mixed
        n_dec = 0 if r.stall else r.n_dec
        dt = cfg.step(p_tokens, p_seqs, pairs, n_dec, r.s + r.n_dec * r.d if n_dec else 0)
        r.stepping = True
        r.steps += 1
        r.seq_steps += n_dec
        r.busy_s += dt
        heapq.heappush(self.events, (t + dt, 3, g, r.token))

    def _preempt(self, r: _Rep, half: float) -> None:
        """Free KV for this step's decode tokens: the most recently admitted sequences go back
        to the front of the queue (their KV is recomputed when they are admitted again)."""
        cap = r.cap
        ver, gen, base, djoin, inl = self.ver, self.gen, self.base, self.djoin, self.inl
        while r.running and r.s + r.n_dec * (r.d + 1) + r.kv_pref + len(r.running) * half > cap:
            v, _ = r.running.popitem()
            ver[v] += 1
            r.preempt += 1
            entry = next((e for e in r.prefill if e[0] == v), None)
            if entry is not None:
                r.prefill.remove(entry)
                r.kv_pref -= entry[2]
            else:
                gen[v] = base[v] - inl[v] + (r.d - djoin[v])
                r.s -= base[v] - djoin[v]
                r.n_dec -= 1
            r.waiting.appendleft(v)

    def _admit(
        self, r: _Rep, budget: int, p_tokens: int, p_seqs: int, pairs: float, half: float
    ) -> tuple[int, int, float]:
        """Admit waiting sequences first come, first served while the budget lasts, fewer than
        ``max_num_seqs`` run and the KV cache holds the whole prompt; the step's prefill tokens,
        sequences and attention pairs with their first chunks added."""
        cap = r.cap
        max_seqs = r.cfg.max_num_seqs
        inl, gen, outl = self.inl, self.gen, self.outl
        reserve, chunked = r.cfg.reserve_completion, r.cfg.chunked
        while budget > 0 and r.waiting and len(r.running) < max_seqs:
            v = r.waiting[0]
            need = inl[v] + gen[v]
            full = inl[v] + outl[v] if reserve else 0
            used = r.reserved + full if full else r.s + r.n_dec * (r.d + 1) + r.kv_pref + need
            if used + (len(r.running) + 1) * half > cap:
                break
            if not chunked and need > budget and p_tokens > 0:
                break  # a whole prompt waits for a step with room (one alone may overrun)
            r.waiting.popleft()
            r.running[v] = None
            r.kv_pref += need
            r.reserved += full
            take = min(need, budget) if chunked else need
            r.prefill.append([v, need, need, take])
            budget -= take
            p_tokens += take
            p_seqs += 1
            pairs += take * take * 0.5
        return p_tokens, p_seqs, pairs

    def end(self, g: int, t: float) -> None:
        """Replica ``g``'s step ends at ``t``: the sequences whose last token it was finish,
        prompts whose last chunk it ran join decoding; the next step starts. A step that only
        prefilled (``mixed`` off) leaves the decode counter where it was."""
        r = self.reps[g]
        if not r.stall:
            r.d += 1
            d = r.d
            h = r.heap
            ver, base, djoin = self.ver, self.base, self.djoin
            while h and h[0][0] <= d:
                _, v, vv = heapq.heappop(h)
                if vv != ver[v] or v not in r.running:
                    continue
                r.s -= base[v] - djoin[v]
                r.n_dec -= 1
                self.finish(r, v, t)
        r.stall = False
        if r.prefill:
            self._prefilled(r, r.d, t)
        self.start(g, t)

    def _prefilled(self, r: _Rep, d: int, t: float) -> None:
        """The step's prompt chunks are done: a prompt with nothing left emits its first token
        at ``t`` and joins decoding at counter ``d`` (or finishes, with one output token)."""
        gen, outl, inl, t_first = self.gen, self.outl, self.inl, self.t_first
        keep: list[list[int]] = []
        for e in r.prefill:
            e[1] -= e[3]
            e[3] = 0
            if e[1] > 0:
                keep.append(e)
                continue
            v = e[0]
            r.kv_pref -= e[2]
            gen[v] += 1
            if math.isnan(t_first[v]):
                t_first[v] = t
            if gen[v] >= outl[v]:
                self.finish(r, v, t)
                continue
            self.base[v] = inl[v] + gen[v]
            self.djoin[v] = d
            r.s += self.base[v] - d
            r.n_dec += 1
            heapq.heappush(r.heap, (d + outl[v] - gen[v], v, self.ver[v]))
        r.prefill = keep

    def finish(self, r: _Rep, v: int, t: float) -> None:
        self.t_done[v] = t
        self.outcome[v] = OK
        del r.running[v]
        if r.cfg.reserve_completion:
            r.reserved -= self.inl[v] + self.outl[v]
        if self.closed_loop:
            self.release(t)

    # --- samples and the result -----------------------------------------------------------------

    def sample_until(self, t: float) -> None:
        """Record the samples due at or before ``t``: waiting and running sequences, KV in use
        over the KV of the replicas that run, cumulative preemptions."""
        samples = self.samples
        reps = self.reps
        serving = self.view.serving
        down = self.down
        while self.si < len(samples) and samples[self.si] <= t:
            w = ru = 0
            used = capsum = 0.0
            for g2, r2 in enumerate(reps):
                if down[g2]:
                    continue
                w += len(r2.waiting) + len(r2.inbox)
                ru += len(r2.running)
                if serving[g2] or r2.running:
                    used += r2.kv_used() if r2.running else 0.0
                    capsum += r2.cap
            self.s_wait.append(w)
            self.s_run.append(ru)
            self.s_kv.append(used / capsum if capsum > 0 else 0.0)
            self.s_pre.append(sum(r2.preempt for r2 in reps))
            self.si += 1
        self.next_sample = samples[self.si] if self.si < len(samples) else math.inf

    def result(self) -> EngineResult:
        reps = self.reps
        return EngineResult(
            arrival=np.array(self.tl, dtype=np.float64) - self.fe,
            replica=np.array(self.rep_of, dtype=np.int64),
            outcome=np.array(self.outcome, dtype=np.int64),
            t_first=np.array(self.t_first, dtype=np.float64),
            t_done=np.array(self.t_done, dtype=np.float64),
            preemptions=np.array([r.preempt for r in reps], dtype=np.int64),
            busy_s=np.array([r.busy_s for r in reps], dtype=np.float64),
            steps=np.array([r.steps for r in reps], dtype=np.int64),
            seq_steps=np.array([r.seq_steps for r in reps], dtype=np.int64),
            sample_t=np.array(self.samples[: len(self.s_wait)], dtype=np.float64),
            sample_waiting=np.array(self.s_wait, dtype=np.int64),
            sample_running=np.array(self.s_run, dtype=np.int64),
            sample_kv_used=np.array(self.s_kv, dtype=np.float64),
            sample_preempted=np.array(self.s_pre, dtype=np.int64),
        )


def run(
    times: F64,
    inp: I64,
    out: I64,
    configs: Sequence[ReplicaConfig],
    alloc_of: Sequence[int],
    serving: Sequence[tuple[float, frozenset[int]]],
    route: Callable[[int, float, ReplicaView], int],
    *,
    outages: Sequence[Outage] = (),
    sample_t: F64 | None = None,
    closed_loop: int = 0,
    frontend_s: float = 0.0,
    control: Control | None = None,
) -> EngineResult:
    """Simulate requests (sorted ``times``, token counts ``inp``/``out``) on replicas.

    ``configs[g]`` is replica ``g``'s scheduler; ``serving`` lists (start time, replicas that take
    new requests from then on), sorted: replicas that leave finish what they hold (the plan's
    scale-down), replicas that join start empty. ``route`` picks a serving replica (or -1: the
    request fails). ``outages`` take replicas down (their requests fail) and bring them back.
    Every admitted request is run to completion (the loop ends when no work is left).
    ``closed_loop = N`` > 0 runs a closed loop instead (a benchmark client with N requests in
    flight): the first N requests arrive at ``times[:N]`` (the clients' start times), each later
    one when an earlier one ends; ``EngineResult.arrival`` holds the arrival times used.
    ``frontend_s`` is the time from a request being sent (its arrival; in a closed loop the end
    of the earlier request) to its replica's scheduler seeing it: the HTTP server, tokenization
    and the scheduler's receive loop. Arrivals stay the send times, so TTFT includes it (0: the
    scheduler sees a request when it is sent). ``control`` (an autoscaler, ``simulate --surge``)
    is called at 0 and then when it asks: it gives the serving set from then on and its next time.
    """
    check_frontend(frontend_s)
    e = _Engine(times, inp, out, configs, alloc_of, serving, outages, sample_t, closed_loop,
                frontend_s)
    e.control = control
    if control is not None:  # first called at 0
        heapq.heappush(e.events, (0.0, 4, 0, 0))
    events, tl, reps, view = e.events, e.tl, e.reps, e.view
    pop = heapq.heappop
    inf = math.inf
    i = 0
    while True:  # the next event or arrival, whichever is first (events first on ties)
        ta = tl[i] if i < e.ready else inf
        te = events[0][0] if events else inf
        if ta == inf and te == inf:
            break
        if te <= ta:
            t, kind, k, tok = pop(events)
            e.now = t
            if e.next_sample <= t:
                e.sample_until(t)
            if kind == 3:
                if tok == reps[k].token:
                    e.end(k, t)
            else:
                e.change(kind, k)
            continue
        if e.next_sample <= ta:
            e.sample_until(ta)
        e.arrive(i, ta, route(i, ta, view))
        i += 1
        if e.idle and not (i < e.ready and tl[i] == ta):
            e.wake(ta)
    return e.result()
