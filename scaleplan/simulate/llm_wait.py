"""Scheduler details of the continuous-batching kernel (:mod:`scaleplan.simulate.llm_engine`)
kept apart from its event loop: SGLang's receive interval, TensorRT-LLM's delayed context
batching and the check of the front-end latency."""

from __future__ import annotations

import math
from typing import Any


def held_back(r: Any, budget: int, inl: list[int], gen: list[int]) -> bool:
    """Whether replica ``r``'s scheduler holds this step's new prompts back: TensorRT-LLM's
    delayed context batching (``batch_wait_timeout_iters``, ``batch_wait_max_tokens_ratio``;
    ``PyExecutor._waiting_requests``). While sequences decode, the prompts a step would schedule
    (whole prompts, first come, within the token ``budget`` left beside the decodes) wait until
    they and the decode tokens make up ``ratio`` x the token budget, or for at most ``iters``
    steps in a row; the count restarts when they go. ``r.cfg.batch_wait`` = (iters, ratio);
    iters 0 is off (the engines' default)."""
    iters, ratio = r.cfg.batch_wait
    if iters <= 0 or r.n_dec == 0:
        return False
    tokens = r.n_dec
    room = budget
    for k, v in enumerate(r.waiting):
        need = inl[v] + gen[v]
        if k >= r.cfg.max_num_seqs - len(r.running) or (need > room and k > 0):
            break
        tokens += need
        room -= need
    if r.held < iters and tokens < ratio * r.cfg.token_budget:
        r.held += 1
        return True
    r.held = 0
    return False


def receive(r: Any) -> None:
    """SGLang's ``--scheduler-recv-interval`` K (``r.cfg.recv_interval``), at the start of each
    step of replica ``r``: requests sent while it is busy wait in ``r.inbox`` (the tokenizer's
    socket) until the scheduler reads that socket again.

    SGLang's rule (sgl-project/sglang, ``python/sglang/srt/managers/scheduler.py``,
    ``Scheduler.recv_requests``; ``python/sglang/srt/managers/scheduler_recv_skipper.py``,
    ``SchedulerRecvSkipper.handle``; since moved to ``managers/scheduler_components/``): each
    pass of the event loop first adds the weight of the last batch's forward mode to a counter,
    1 for DECODE (and TARGET_VERIFY, and no last batch) and 1000 for any other mode (EXTEND,
    MIXED: a step that prefilled), and reads the socket only when the counter reaches K, then
    sets it to 0; otherwise ``recv_requests`` returns no requests. So a request sent while the
    GPUs decode waits up to K decode steps (K/2 on average, ``perf.serve_class``'s term), and one
    sent during a prefill step is read after it. An idle loop adds 1 per pass of microseconds, so
    an idle scheduler takes requests at once. Off at K = 1, every engine's default."""
    r.recv += r.cfg.recv_interval if r.prefilled else 1
    idle = r.n_dec == 0 and not r.prefill and not r.waiting
    if r.recv >= r.cfg.recv_interval or idle:
        r.waiting.extend(r.inbox)
        r.inbox = []
        r.recv = 0


def check_frontend(frontend_s: float) -> None:
    if not (frontend_s >= 0.0 and math.isfinite(frontend_s)):
        raise ValueError(f"frontend_s must be a finite number of seconds >= 0, not {frontend_s}")
