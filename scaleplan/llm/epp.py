"""How an inference pool's endpoint picker splits requests over pods of different shapes.

``routing: inference-pool`` renders the Gateway API Inference Extension's endpoint picker
(EPP v1.0.0, its default profile: waiting-queue scorer weight 2, KV-cache-utilisation scorer
weight 2, prefix-cache scorer weight 3; ``scaleplan.simulate.llm_routing`` simulates it
request by request). While no pod has a waiting queue (the regime a plan with headroom runs
in), the queue scorer gives every pod the same score and the KV-cache scorer sends each
request to the pod with the most free KV cache, so the pods settle at one KV-cache
utilisation: a pod with n sequences in flight holds n x tau of its K KV tokens (tau: the mean
KV tokens an in-flight sequence holds at the class mix, which every pod of a class-blind pool
receives), so at a common utilisation phi a pod runs n = phi K / tau sequences and serves
X(n) requests/s (its rate with n sequences in flight). A shape with more KV per unit of
compute takes more than its share of capacity: the split is not in proportion to capacity.

This module is that arithmetic, once: :func:`pool_member` (what a shape shows the picker),
:func:`split` (the requests/s each shape's pods take at a demand) and :func:`capped`
(what each shape can carry when the pool's first shape reaches its capacity). The optimizer
sizes mixed pools with it (``scaleplan.solve.milp.pool``); docs/llm.md, "Inference pools".
The queue scorer moves load away from a pod only once requests wait there (past the point
this split is used for): against ``simulate``'s EPP it moved the mean split by at most ~2.5
points of share, but it damps latency spikes (a pod past its capacity builds no queue), which
the sizing does not credit. The prefix scorer is not modelled (no shared prompt prefixes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PoolMember:
    """One pod shape as the endpoint picker sees it."""

    kv_tokens: float  # KV cache tokens of one pod (``LlmServing.kv_cache_tokens``)
    tokens_per_seq: float  # mean KV tokens an in-flight sequence holds, at the class mix
    rates: tuple[float, ...]  # requests/s at the class mix with 1, 2, ... sequences in flight

    def rate_at(self, n: float) -> float:
        """Requests/s with ``n`` sequences in flight (linear between counts, 0 at 0, the
        last rate past the last count: the pod queues there)."""
        if n <= 0 or not self.rates:
            return 0.0
        top = len(self.rates)
        if n >= top:
            return self.rates[-1]
        lo = math.floor(n)
        r0 = self.rates[lo - 1] if lo >= 1 else 0.0
        return r0 + (self.rates[lo] - r0) * (n - lo)

    def seqs_at(self, rps: float) -> float:
        """Sequences in flight at which the pod serves ``rps`` (the inverse of
        :meth:`rate_at`; ``len(rates)`` when it never does)."""
        prev_n, prev_r = 0.0, 0.0
        for i, r in enumerate(self.rates, start=1):
            if r >= rps:
                return prev_n + (i - prev_n) * (
                    (rps - prev_r) / (r - prev_r) if r > prev_r else 1.0
                )
            prev_n, prev_r = float(i), r
        return float(len(self.rates))

    def kv_share_at(self, rps: float) -> float:
        """The KV-cache utilisation at which the pod serves ``rps``."""
        return self.seqs_at(rps) * self.tokens_per_seq / self.kv_tokens

    def rate_at_kv(self, phi: float) -> float:
        """Requests/s the pod serves at KV-cache utilisation ``phi``."""
        return self.rate_at(phi * self.kv_tokens / self.tokens_per_seq)


def pool_member(
    kv_tokens: float,
    classes: Sequence[tuple[float, int, int, float, float, Sequence[float]]],
) -> PoolMember | None:
    """A shape's :class:`PoolMember` from its classes: (share of the traffic, input tokens,
    output tokens, TTFT ms, TPOT ms, requests/s with 1, 2, ... sequences of the class in
    flight). A sequence holds about half its prompt while its prefill runs (TTFT) and its
    prompt plus half its output while it decodes (output x TPOT); tau weighs each class by
    its share and the time its sequences stay in flight. The rate at n is the classes' mix
    (1 / sum share / rate, as ``scaleplan.solve.llm_capacity.queue_derating`` takes it).
    None without KV tokens, shares or rates. A class with no positive rate is left out (as
    one the shape has no point for); a class at rate 0 at some count makes the mix's rate 0
    there (the limit of 1 / sum share / rate), not a division by zero."""
    kept = [c for c in classes if c[0] > 0 and any(r > 0 for r in c[5])]
    if kv_tokens <= 0 or not kept:
        return None
    whole = sum(c[0] for c in kept)
    time_in = sum(s * (t + o * p) for s, _, o, t, p, _ in kept)
    held = sum(s * (t * i / 2 + o * p * (i + o / 2)) for s, i, o, t, p, _ in kept)
    if time_in <= 0:
        return None
    slots = min(len(c[5]) for c in kept)
    mix = tuple(
        0.0 if any(c[5][k] <= 0 for c in kept) else whole / sum(c[0] / c[5][k] for c in kept)
        for k in range(slots)
    )
    return PoolMember(kv_tokens=float(kv_tokens), tokens_per_seq=held / time_in, rates=mix)


def capped(members: Sequence[PoolMember], caps: Sequence[float], binding: int) -> list[float]:
    """Requests/s each member's pod carries when member ``binding``'s pods carry their
    capacity ``caps[binding]`` and the picker holds every pod at their KV-cache utilisation,
    each at most its own capacity ``caps[j]`` (a pod at its capacity queues and the queue
    scorer moves the rest elsewhere): a pool with ``r_j`` pods of each member carries
    ``sum_j r_j capped[j]`` before ``binding``'s pods pass their capacity."""
    phi = members[binding].kv_share_at(caps[binding])
    return [
        caps[binding] if j == binding else min(c, m.rate_at_kv(phi))
        for j, (m, c) in enumerate(zip(members, caps, strict=True))
    ]


def split(members: Sequence[PoolMember], replicas: Sequence[int], demand: float) -> list[float]:
    """Requests/s one pod of each member takes when the pool (``replicas`` pods of each)
    serves ``demand`` requests/s at one KV-cache utilisation (bisection on it); past the
    pods' last rates (all queueing), in proportion to those. Zeros without pods or demand, or
    when the pods serve nothing at any utilisation."""
    pods = [(m, r) for m, r in zip(members, replicas, strict=True) if r > 0]
    if demand <= 0 or not pods:
        return [0.0] * len(members)
    top = max(m.kv_share_at(math.inf) for m, _ in pods)

    def served(phi: float) -> float:
        return sum(r * m.rate_at_kv(phi) for m, r in pods)

    if served(top) <= 0:
        return [0.0] * len(members)
    if served(top) < demand:
        scale = demand / served(top)
        return [
            m.rate_at_kv(top) * scale if r > 0 else 0.0
            for m, r in zip(members, replicas, strict=True)
        ]
    lo, hi = 0.0, top
    for _ in range(60):
        mid = (lo + hi) / 2
        if served(mid) < demand:
            lo = mid
        else:
            hi = mid
    return [m.rate_at_kv(hi) if r > 0 else 0.0 for m, r in zip(members, replicas, strict=True)]
