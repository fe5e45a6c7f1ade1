"""Queueing derating: how busy a replica may run so that the SLO percentile still holds.

A profiled point says: at batch size ``b`` a replica serves ``T`` requests/s and a request
takes ``L`` ms at the SLO percentile when the replica is kept saturated. Real arrivals are
random (Poisson), so requests also *wait* for a free batch slot. We model a replica as an
**M/D/c queue with c = b slots**, each slot serving one request in ``S = b / T`` seconds
(continuous batching behaves like b parallel servers). The waiting-time tail comes from the
M/M/c (Erlang C) tail scaled by the Allen-Cunneen factor (1 + cs²) / 2 with cs² = 0 for
deterministic service:

    P(W > t) ≈ C(c, a) · exp(-t / θ),   θ = (1 + cs²) / 2 · S / (c · (1 - ρ))

with a = ρ·c the offered load in slots and C(c, a) the Erlang C probability of waiting. The
p-th percentile of the wait is ``w_p = θ · ln(C / (1 - p))`` when C > 1 - p, else 0. The
largest utilisation ρ with ``L_p + w_p(ρ) <= SLO`` is the replica's ``max_utilization``
(capped at :data:`MAX_MODEL_UTILIZATION`); capacity = T · ρ.

Limits: the approximation is good for moderate-to-high load and conservative at low load
(measured latency at saturation is used even when batches run partly empty). Bursty
(non-Poisson) traffic needs a lower ``--max-utilization``. Points measured under an
open-loop load (``offered_rps`` set, as in endpoint sweeps and Mélange/AIBrix tables)
already include queueing and are not derated.

**Two server models.** The M/D/c model above is *continuous batching* (a request joins a
running batch as soon as a slot frees), right for LLM servers: profiles of kind ``endpoint`` /
``llm-endpoint`` or points with TTFT/TPOT. A vision CNN or an embedding model served by
Triton-style *discrete dynamic batching* (profile kind ``model``/``imported``/``synthetic``
without TTFT/TPOT) launches a whole batch when the replica is free, and a request arriving
during a batch waits for it to finish. :func:`discrete_latency_ms` models that (greedy
batching, batch timeout 0, as ``scaleplan simulate`` does), with the simulator's service
model ``service(b) = S · (c + (1 - c) · b / B)``, c = :data:`FIXED_FRACTION`. At utilisation ρ
the batch size settles where a batch collects the arrivals of the previous one,
b = λ · service(b), i.e. ``service(b) / S = f(ρ) = c / (1 - ρ (1 - c))``. A request waits at
most the batch in service (f·S) and is then served in its own batch (f·L_p at the percentile),
plus the M/D/c wait above for the congestion when batches fill up:

    latency_p(ρ) ≈ f(ρ) · (S + L_p) + w_p(ρ)

With B = 1 both models are the M/D/1 queue and :func:`max_utilization` is used as is.

Calibrated against the simulator (tests/test_solve_queueing.py): conservative by 1-20 % of
utilisation on the points tested.

**An LLM replica the LLM model sizes** (``model.architecture``) is derated on its own rates at
every sequence count instead: :func:`max_rate_slots`, a birth-death chain
(:func:`scaleplan.solve.llm_capacity.queue_derating` gives it the rates of the class mix).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

MAX_MODEL_UTILIZATION = 0.95
CS2 = 0.0  # squared coefficient of variation of the service time (deterministic batches)
FIXED_FRACTION = 0.5  # share of a full batch's time that does not shrink with the batch (as in simulate)


_RECURSION_MAX = 1000  # slots up to which Erlang B comes from the exact O(c) recursion


def _erlang_b_poisson(c: int, a: float) -> float:
    """Erlang B for many slots: B = P(N = c) / P(N <= c) for N ~ Poisson(a), in O(sqrt(a)).

    Only the Poisson terms within 40 standard deviations of the mean are summed (the rest are
    below 1e-300 of the total); beyond ~10^7 offered load the normal limit is used. A profile
    with a batch of 10^15 costs microseconds, not a loop of 10^15 steps.
    """
    sd = math.sqrt(a)
    lo = max(0, math.floor(a - 40 * sd) - 10)
    hi = min(c, math.ceil(a + 40 * sd) + 10)
    if hi - lo > 200_000:  # a > ~10^7: the Poisson law is normal to ~1e-4; Jagerman's form
        beta = (c - a) / sd
        phi = math.exp(-beta * beta / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(-beta / math.sqrt(2))  # Phi(beta)
        return phi / sd / tail if tail > 0 else 1.0

    def logpmf(k: int) -> float:
        return k * math.log(a) - a - math.lgamma(k + 1)

    ref = logpmf(min(c, max(lo, math.floor(a))))
    total = math.fsum(math.exp(logpmf(k) - ref) for k in range(lo, hi + 1))
    return math.exp(logpmf(c) - ref) / total


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a`` (< c)."""
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    if c > _RECURSION_MAX:
        b = _erlang_b_poisson(c, a)
    else:
        # Erlang B by the stable recursion, then C from B.
        b = 1.0
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho + rho * b)


def wait_percentile_ms(rho: float, slots: int, slot_service_s: float, percentile: int) -> float:
    """Approximate p-th percentile of the queueing wait (ms) at utilisation ``rho``."""
    if rho <= 0:
        return 0.0
    if rho >= 1:
        return math.inf
    c = max(1, slots)
    pc = erlang_c(c, rho * c)
    tail = 1.0 - percentile / 100.0
    if pc <= tail:
        return 0.0
    theta = (1.0 + CS2) / 2.0 * slot_service_s / (c * (1.0 - rho))
    return 1000.0 * theta * math.log(pc / tail)


def batch_fill(rho: float, batch: int) -> float:
    """service(b) / S of the steady-state batch (b >= 1) under greedy batching at utilisation ``rho``."""
    c = FIXED_FRACTION
    return max(c / (1.0 - min(max(rho, 0.0), 1.0) * (1.0 - c)), c + (1.0 - c) / max(1, batch))


def discrete_latency_ms(rho: float, batch: int, service_ms: float, latency_ms: float,
        percentile: int) -> float:
    """Approximate p-th percentile latency (ms) of a dynamic-batching replica at utilisation ``rho``.

    ``service_ms`` is the mean time of a full batch (S = 1000 · B / T), ``latency_ms`` the
    profiled latency of a full batch at the percentile (L_p).
    """
    if rho >= 1:
        return math.inf
    f = batch_fill(rho, batch)
    return f * (service_ms + latency_ms) + wait_percentile_ms(rho, batch, service_ms / 1000.0,
        percentile)


def max_utilization_discrete(slo_ms: float, latency_ms: float, batch: int, throughput_rps: float,
        percentile: int) -> float:
    """Largest utilisation (floored to 1e-4) at which a dynamic-batching replica holds the SLO."""
    budget = slo_ms - latency_ms
    if batch <= 1:
        return max_utilization(budget, 1, throughput_rps, percentile)
    if budget < 0 or throughput_rps <= 0:
        return 0.0
    service_ms = 1000.0 * batch / throughput_rps

    def fits(rho: float) -> bool:
        return discrete_latency_ms(rho, batch, service_ms, latency_ms, percentile) <= slo_ms

    if fits(MAX_MODEL_UTILIZATION):
        return MAX_MODEL_UTILIZATION
    if not fits(0.0):  # not even an idle replica fits this bound (S > SLO): fall back to M/D/c
        return max_utilization(budget, batch, throughput_rps, percentile)
    return _largest(fits, MAX_MODEL_UTILIZATION)


def max_utilization(budget_ms: float, slots: int, throughput_rps: float, percentile: int) -> float:
    """Largest utilisation (floored to 1e-4) whose percentile wait fits ``budget_ms``; 0 if none."""
    if budget_ms < 0 or throughput_rps <= 0:
        return 0.0
    slot_s = max(1, slots) / throughput_rps
    if wait_percentile_ms(MAX_MODEL_UTILIZATION, slots, slot_s, percentile) <= budget_ms:
        return MAX_MODEL_UTILIZATION
    return _largest(
        lambda u: wait_percentile_ms(u, slots, slot_s, percentile) <= budget_ms,
        MAX_MODEL_UTILIZATION,
    )


def max_rate_slots(
    rates: Sequence[float], budget_ms: float, percentile: int, holding_cs2: float = 0.0
) -> float:
    """Largest arrival rate (requests/s, floored to 1e-4) at which a replica of
    ``len(rates)`` slots keeps the p-th percentile wait for a slot within ``budget_ms``; 0 if
    none. ``rates[n - 1]``: requests/s it completes with n sequences in flight.

    A continuous-batching LLM replica is not c independent deterministic servers: its steps
    slow as it runs more sequences, so its rate T(n) is not n · D / N, and a queue at its
    slots drains one departure at a time from sequences at every stage, not in M/D/c's
    rhythm (which halves the wait). Modelled as a birth-death chain: Poisson arrivals at λ,
    departures at T(n) below the N slots and at D = T(N) while requests wait (a queue of the
    Erlang C form, drained one request per departure; T(n) = n · D / N is M/M/c):

        π(n) ∝ Π_{k<=n} λ / T(k)  (n < N),   P(wait) = π(>= N) = π(N) / (1 - λ/D) / Z
        P(W > t) = P(wait) · exp(-D (1 - λ/D) t)

    The drain is at least as irregular as Poisson departures (a replica that queued keeps
    the cohorts its queue admitted together: they end together); where the slots' holding
    times vary more (``holding_cs2``, their squared coefficient of variation over a class
    mix, > 1), the wait scales by the M/G/c (Allen-Cunneen) factor (1 + cs²) / 2, as for
    M/D/c above. Capped at :data:`MAX_MODEL_UTILIZATION` of D. docs/optimizer.md, "LLM
    replicas: a chain over the replica's rates"."""
    if budget_ms < 0 or not rates or rates[-1] <= 0 or min(rates) <= 0:
        return 0.0
    logt = np.concatenate(([0.0], np.cumsum(np.log(np.asarray(rates, dtype=float)))))
    count = np.arange(len(logt), dtype=float)
    drain = float(rates[-1])
    tail = 1.0 - percentile / 100.0
    spread = max(1.0, (1.0 + holding_cs2) / 2.0)

    def wait_ms(lam: float) -> float:
        r = lam / drain
        if r >= 1:
            return math.inf
        logw = count * math.log(lam) - logt
        w = np.exp(logw - logw.max())
        at_slots = float(w[-1]) / (1.0 - r)
        pw = at_slots / (float(w[:-1].sum()) + at_slots)
        return 0.0 if pw <= tail else spread * 1000.0 * math.log(pw / tail) / (drain * (1.0 - r))

    top = MAX_MODEL_UTILIZATION * drain
    if wait_ms(top) <= budget_ms:
        return math.floor(top * 10_000) / 10_000
    return _largest(lambda lam: lam > 0 and wait_ms(lam) <= budget_ms, top)


def _largest(fits: Callable[[float], bool], top: float) -> float:
    """The largest x in [0, ``top``) that ``fits`` (monotone: true below, false above),
    bisected 60 times and floored to 1e-4."""
    lo, hi = 0.0, top
    for _ in range(60):
        mid = (lo + hi) / 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return math.floor(lo * 10_000) / 10_000
