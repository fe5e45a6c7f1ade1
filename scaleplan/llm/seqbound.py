"""What binds a replica's ``max_num_seqs``: the class and the limit that one more sequence would
break, with the numbers at ``n`` and ``n + 1`` (UX trial 29 F5: every A100 shape of a Mixtral
plan ran 33 sequences, and the explanation said only "the most that keep the p95 SLO", where 33
was the most at which a batch of the long-prompt class *alone* held p95 TPOT or fitted the KV
cache). The optimizer (solve/llm_capacity.py) sizes ``max_num_seqs``; this module says why it
stopped there, from the same predictions (:func:`scaleplan.llm.serving.slo_verdict`,
:func:`scaleplan.llm.cobatch.cobatched`), never a second copy of the arithmetic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scaleplan.llm.cobatch import cobatched
from scaleplan.llm.perf import max_in_flight
from scaleplan.llm.serving import (
    LlmSetup,
    Shape,
    TokenClass,
    predict,
    slo_verdict,
    values_as_tested,
)

# (TTFT, TPOT, end-to-end latency) targets in ms, None where the class has none
Targets = tuple[float | None, float | None, float | None]

_NAMES = {"ttft": "TTFT", "tpot": "TPOT", "latency": "end-to-end latency"}


@dataclass(frozen=True)
class SeqBound:
    """Why a replica runs ``n`` sequences and not ``n + 1``.

    ``limit``: ``"ttft"``, ``"tpot"`` or ``"latency"`` (the SLO metric ``cls`` misses at ``n + 1``
    at the percentile; ``at_n``/``above``: its tested values at ``n`` and ``n + 1``, ``target``
    the class's target), ``"kv_cache"`` (``n`` sequences of ``cls`` at full length, ``tokens``
    each, are all the KV cache holds), ``"max_num_seqs"`` (the engine's own cap, ``n``) or
    ``"throughput"`` (``n + 1`` holds the SLO but serves fewer requests/s: ``at_n``/``above``
    in req/s). ``batch``: ``"alone"`` where a batch of ``cls`` alone bounds it (the optimizer
    bounds each class alone first), ``"co-batched"`` where the classes batched together in the
    shares routing sends every replica do, ``"any mix"`` where routing decides a replica's mix
    (the heaviest class's steps for every class). ``target_of``: the class whose target
    ``target`` is where it is not ``cls``'s own (routing may put ``cls`` in the steps of a class
    with a tighter TPOT, so ``cls`` alone was held to that class's target)."""

    n: int
    cls: str
    limit: str
    batch: str
    percentile: int
    target: float | None = None
    at_n: float | None = None
    above: float | None = None
    tokens: int | None = None
    target_of: str | None = None

    def text(self) -> str:
        """``max_num_seqs 33: at 34, a batch of rag alone reaches p95 TPOT 60.4 ms, over its
        60 ms target (59.3 ms at 33)``."""
        head = f"max_num_seqs {self.n}"
        who = {"alone": f"a batch of {self.cls} alone",
               "co-batched": f"{self.cls} co-batched in the routed class mix",
               "any mix": f"{self.cls} in any class mix (routing decides each replica's)",
               }[self.batch]
        if self.limit == "kv_cache":
            seqs = "sequence" if self.n == 1 else "sequences"
            return (f"{head}: the KV cache holds {self.n} {seqs} of {self.cls} at full length "
                    f"({self.tokens:,} tokens each); {self.n + 1} do not fit")
        if self.limit == "max_num_seqs":
            return f"{head}: the engine's own cap (model.engine_config.max_num_seqs or its default)"
        if self.limit == "throughput":
            return (f"{head}: {who} holds the SLO at {self.n + 1} but serves fewer requests/s "
                    f"({self.above:.3g} against {self.at_n:.3g} at {self.n})")
        whose = "its" if self.target_of is None else f"{self.target_of}'s"
        why = "" if self.target_of is None else (
            f", the tightest {_NAMES[self.limit]} of the classes sharing its steps")
        return (f"{head}: at {self.n + 1}, {who} reaches p{self.percentile} "
                f"{_NAMES[self.limit]} {_ms(self.above, self.target)} ms, over {whose} "
                f"{self.target:g} ms target ({_ms(self.at_n, self.target)} ms at {self.n}{why})")

    def to_dict(self) -> dict[str, Any]:
        """``optimize --json``'s ``allocations[].llm.max_num_seqs_bound``."""
        return {
            "max_num_seqs": self.n, "class": self.cls, "limit": self.limit, "batch": self.batch,
            "percentile": self.percentile, "target_ms": self.target,
            "target_class": self.target_of or (None if self.target is None else self.cls),
            "at_max_num_seqs": None if self.at_n is None else round(self.at_n, 4),
            "at_one_more": None if self.above is None else round(self.above, 4),
            "tokens_per_sequence": self.tokens, "text": self.text(),
        }


def _ms(value: float | None, target: float | None) -> str:
    """``60.4``; two decimals where one would print the target itself (``50.04`` over 50)."""
    assert value is not None
    one = f"{value:,.1f}"
    return f"{value:,.2f}" if target is not None and float(one.replace(",", "")) == target else one


def _limit(targets: Targets) -> dict[str, float | None]:
    return {"ttft": targets[0], "tpot": targets[1], "latency": targets[2]}


def alone_bound(
    shape: Shape, s: LlmSetup, cls: TokenClass, n: int, targets: Targets, pct: int,
    conservative: bool = False, tpot_of: str | None = None,
) -> SeqBound:
    """Why ``cls`` alone stops at ``n`` sequences (:func:`scaleplan.llm.serving.best_concurrency`
    found ``n``): the KV cache at full length, the engine's cap, the SLO metric its prediction
    misses at ``n + 1``, or else a lower throughput there. ``tpot_of``: the class whose TPOT
    target ``targets`` holds, where it is not ``cls``'s own."""
    held = shape.memory.max_sequences(cls.tokens, s.arch, s.kv_dtype)
    if n >= held:
        return SeqBound(n, cls.name, "kv_cache", "alone", pct, tokens=cls.tokens)
    if n >= max_in_flight(shape.deployment):
        return SeqBound(n, cls.name, "max_num_seqs", "alone", pct)
    t, o, e = targets
    now, more = predict(shape, cls, n), predict(shape, cls, n + 1)
    miss, value = slo_verdict(more, ttft_ms=t, tpot_ms=o, latency_ms=e, percentile=pct,
                              conservative=conservative)
    if miss is None:
        return SeqBound(n, cls.name, "throughput", "alone", pct, at_n=now.throughput_rps,
                        above=more.throughput_rps)
    was = values_as_tested(now, percentile=pct, conservative=conservative)[miss]
    of = tpot_of if miss == "tpot" else None
    return SeqBound(n, cls.name, miss, "alone", pct, _limit(targets)[miss], was, value,
                    target_of=of)


def cobatched_bound(
    shape: Shape, served: Sequence[TokenClass], n: int, targets: Mapping[str, Targets], pct: int,
    mix: Sequence[float] | None, conservative: bool = False,
) -> SeqBound | None:
    """The first class of ``served`` whose co-batched prediction
    (:func:`scaleplan.llm.cobatch.cobatched` at ``mix``) misses its targets at ``n + 1``, with the
    metric and its values at ``n`` and ``n + 1``; None when every class holds there."""
    now = cobatched(shape, served, n, pct, mix)
    more = cobatched(shape, served, n + 1, pct, mix)
    for c in served:
        t, o, e = targets[c.name]
        miss, value = slo_verdict(more[c.name], ttft_ms=t, tpot_ms=o, latency_ms=e,
                                  percentile=pct, conservative=conservative)
        if miss is not None:
            was = values_as_tested(now[c.name], percentile=pct, conservative=conservative)[miss]
            batch = "co-batched" if mix is not None else "any mix"
            return SeqBound(n, c.name, miss, batch, pct, _limit(targets[c.name])[miss], was, value)
    return None
