"""A replica serving several request classes, as a running service's means read it.

A running LLM service reports one mean TTFT, one mean TPOT, requests running and requests/s
per replica for all of its traffic together: vLLM labels its series by model, not by request
class. :func:`serve_mix` is what the LLM model predicts for those means where the replica
serves the spec's classes in given shares of the requests: each class priced at its own tokens
(:func:`~scaleplan.llm.perf.serve_class`) at the replica's sequences in flight, the means
weighted by the classes' shares of the requests, and the requests per second by Little's law
over the classes' mean time in the server. ``optimize --observed`` fits the observed hours
with it (``Observed.mix`` in :mod:`scaleplan.llm.calibrate`), and ``tools/observe_demo.py``
serves its synthetic history with it.

Until 2026-12-08 the fit priced such an hour as one class at the mix's mean tokens (3,040 /
320 for chat 800/300 x 0.8 and rag 12,000/400 x 0.2): attention over a 12,000-token context
and a 12,000-token prefill are not those of a 3,040-token one, so the model's TTFT was 5 %
low and its TPOT 2 % high against the two classes' (UX trial 29 F2; docs/observe.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scaleplan.llm.perf import Deployment, serve_class

# (share of the requests, prompt tokens, output tokens) per class; shares need not sum to 1
Mix = tuple[tuple[float, int, int], ...]


@dataclass(frozen=True)
class MixPerf:
    """Predicted means of a replica serving a class mix at one concurrency."""

    ttft_ms: float  # request-weighted mean TTFT
    tpot_ms: float  # request-weighted mean TPOT
    throughput_rps: float  # requests/s: sequences in flight / mean time in the server
    output_tokens_per_s: float
    e2e_ms: tuple[tuple[float, float], ...]  # (share, mean end-to-end ms) per class


def normalized(mix: Sequence[tuple[float, int, int]]) -> Mix:
    """``mix`` with its shares summing to 1 (classes with no share left out)."""
    total = sum(w for w, _, _ in mix if w > 0)
    if total <= 0:
        raise ValueError("a class mix needs a positive share")
    return tuple((w / total, i, o) for w, i, o in mix if w > 0)


def serve_mix(
    d: Deployment, mix: Sequence[tuple[float, int, int]], concurrency: int, *,
    open_loop: bool = True, drawn: bool = False,
) -> MixPerf:
    """The means of a replica on ``d`` at ``concurrency`` sequences in flight serving ``mix``
    (module doc): every class at its own tokens at that concurrency, weighted by its share of
    the requests."""
    ttft = tpot = 0.0
    e2e: list[tuple[float, float]] = []
    out = 0.0
    for w, i, o in normalized(mix):
        p = serve_class(d, i, o, concurrency, open_loop=open_loop, drawn=drawn)
        ttft += w * p.ttft_ms
        tpot += w * p.tpot_ms
        e2e.append((w, p.ttft_ms + p.tpot_ms * max(o - 1, 0)))
        out += w * max(o, 1)
    mean_s = sum(w * ms for w, ms in e2e) / 1000.0
    rps = max(concurrency, 1) / mean_s if mean_s > 0 else 0.0
    return MixPerf(ttft_ms=ttft, tpot_ms=tpot, throughput_rps=rps,
        output_tokens_per_s=rps * out, e2e_ms=tuple(e2e))
