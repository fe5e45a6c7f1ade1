"""Scheduler details of the continuous-batching kernel (:mod:`scaleplan.simulate.llm_engine`)
kept apart from its event loop: TensorRT-LLM's delayed context batching and the check of the
front-end latency."""

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


def check_frontend(frontend_s: float) -> None:
    if not (frontend_s >= 0.0 and math.isfinite(frontend_s)):
        raise ValueError(f"frontend_s must be a finite number of seconds >= 0, not {frontend_s}")
