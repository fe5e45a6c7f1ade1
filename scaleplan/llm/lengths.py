"""Token lengths that spread around a class's mean (``traffic.classes[].lengths``): the one
copy of the lognormal arithmetic the optimizer, the server's ``max_model_len`` default, the
spec's latency default and ``simulate``'s draws use (docs/llm.md, "Length spread").

A class's ``input_tokens`` / ``output_tokens`` are its **means**; with a spread each side is
lognormal with that mean and a shape ``sigma``: ``ln X ~ N(mu, sigma)``,
``mu = ln(mean) - sigma^2 / 2``, so the q-quantile is ``mean * exp(sigma * z_q - sigma^2 / 2)``
(z_q the standard normal's quantile). A spec states ``sigma``, or each side's p99 from its
logs, from which ``sigma`` is solved: ``ln(p99 / mean) = sigma * z_0.99 - sigma^2 / 2``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# the quantile whose lengths the server's max_model_len default covers (docs/llm.md)
MODEL_LEN_QUANTILE = 0.999
P99 = 0.99


def z(q: float) -> float:
    """The standard normal's q-quantile."""
    return NormalDist().inv_cdf(q)


def lognormal_mu(mean: float, sigma: float) -> float:
    """The log-mean ``mu`` of the lognormal of this mean and shape."""
    return math.log(mean) - sigma * sigma / 2.0


def quantile(mean: float, sigma: float, q: float) -> float:
    """The q-quantile of the lognormal of mean ``mean`` and shape ``sigma`` (``mean`` itself
    when ``sigma`` is 0: no spread)."""
    if sigma <= 0.0:
        return float(mean)
    return math.exp(lognormal_mu(mean, sigma) + sigma * z(q))


def max_quantile_ratio(q: float = P99) -> float:
    """The largest q-quantile / mean a lognormal reaches (at ``sigma = z_q``): a stated p99
    above ``mean`` times this fits no lognormal of that mean."""
    return math.exp(z(q) ** 2 / 2.0)


def sigma_from_quantile(mean: float, value: float, q: float = P99) -> float:
    """The shape whose q-quantile is ``value`` for a lognormal of mean ``mean``: the smaller
    root of ``sigma^2 / 2 - z_q sigma + ln(value / mean) = 0``. ValueError when ``value`` is
    below the mean or above :func:`max_quantile_ratio` times it."""
    if value < mean:
        raise ValueError(f"{value:g} is below the mean {mean:g}")
    zq = z(q)
    disc = zq * zq - 2.0 * math.log(value / mean)
    if disc < 0.0:
        raise ValueError(
            f"{value:g} is more than {max_quantile_ratio(q):.1f}x the mean {mean:g}, "
            "which no lognormal of that mean reaches"
        )
    return zq - math.sqrt(disc)


@dataclass(frozen=True)
class Spread:
    """A class's lognormal shapes: prompt and completion (0: that side is fixed)."""

    input_sigma: float
    output_sigma: float

    def label(self) -> str:
        """``lognormal sigma 0.5`` (one shape), else each side's."""
        if self.input_sigma == self.output_sigma:
            return f"lognormal sigma {self.input_sigma:.3g}"
        return (
            f"lognormal sigma {self.input_sigma:.3g} (prompt) / {self.output_sigma:.3g}"
            " (completion)"
        )


def tokens_at(mean: int, sigma: float, q: float) -> int:
    """Whole tokens at the q-quantile: rounded up (the mean itself without a spread)."""
    if sigma <= 0.0:
        return mean
    return max(1, math.ceil(quantile(mean, sigma, q) - 1e-9))


def _above(mean: float, sigma: float, x: float) -> float:
    """P(X > x) for the lognormal (or, without a spread, the constant ``mean``)."""
    if x <= 0.0:
        return 1.0
    if sigma <= 0.0:
        return 1.0 if mean > x else 0.0
    return 1.0 - NormalDist().cdf((math.log(x) - lognormal_mu(mean, sigma)) / sigma)


def refused_share(input_mean: int, output_mean: int, spread: Spread | None, limit: int) -> float:
    """The share of a class's requests whose prompt + completion exceed ``limit`` tokens (what a
    server with that max_model_len refuses), prompt and completion independent: the prompt's
    lognormal integrated over 4,001 points of its normal (z from -8 to 8)."""
    si = spread.input_sigma if spread else 0.0
    so = spread.output_sigma if spread else 0.0
    if si <= 0.0:
        return _above(output_mean, so, limit - input_mean)
    nd, n, lo, hi = NormalDist(), 4001, -8.0, 8.0
    h = (hi - lo) / (n - 1)
    mu = lognormal_mu(input_mean, si)
    total = 0.0
    for k in range(n):
        zk = lo + k * h
        w = nd.pdf(zk) * h * (0.5 if k in (0, n - 1) else 1.0)
        total += w * _above(output_mean, so, limit - math.exp(mu + si * zk))
    return min(max(total, 0.0), 1.0)


# ---- the joint percentile (docs/llm.md, "Length spread: the joint percentile") -------------
# A class with a spread is priced at the q-quantile of TTFT = T(L_in) * X and of the
# end-to-end latency T(L_in) * X + TPOT * Y * (L_out - 1): L_in and L_out independent
# lognormals (the spec's), T the model's mean TTFT of a prompt (rising with its length), X and
# Y the interference tails (llm.tails TTFT_TAIL / TPOT_TAIL), one draw per request (X and Y
# move together) independent of the lengths. Every variable is replaced by one at least as
# large (its value at the upper end of each cell), so each quantile is at or above the one of
# the assumptions: never optimistic.

# z edges of the lengths' cells: [Z_LO, Z_HI] by a step (prompts: their TTFT is evaluated at
# each edge); above Z_HI (3e-5 of the requests) a length counts as endless. The end-to-end
# quantile takes the prompts E2E_PROMPTS cells at a time (each group at its last edge's TTFT):
# there the completion's decode dominates
PROMPT_STEP, OUTPUT_STEP, Z_LO, Z_HI, E2E_PROMPTS = 0.1, 0.05, -3.0, 4.0, 5
# the tail factors' quantiles beyond the table's last point (its log-slope in z continued),
# and the share above the last of them (counted as endless)
TAIL_BEYOND = (0.995, 0.999, 0.9999, 0.99999)


@functools.lru_cache(maxsize=256)
def cells(mean: int, sigma: float, step: float) -> tuple[tuple[float, ...], tuple[int, ...], float]:
    """A length's cells: (probabilities, tokens at each cell's upper edge rounded up, the share
    above the last edge). Without a spread, one cell: the mean."""
    if sigma <= 0.0:
        return (1.0,), (mean,), 0.0
    nd, n = NormalDist(), round((Z_HI - Z_LO) / step)
    edges = [Z_LO + k * step for k in range(n + 1)]
    probs = [nd.cdf(edges[0])] + [nd.cdf(b) - nd.cdf(a) for a, b in itertools.pairwise(edges)]
    mu = lognormal_mu(mean, sigma)
    tokens = [max(1, math.ceil(math.exp(mu + sigma * e) - 1e-9)) for e in edges]
    return tuple(probs), tuple(tokens), 1.0 - nd.cdf(Z_HI)


def tail_atoms(table: dict[int, float]) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """A tail-factor table (percentile -> factor) as a distribution at least as large:
    (probabilities, factors, the share counted endless). Between two of the table's percentiles
    the factor is the upper one's (the largest the table allows); below the first, the first;
    beyond the last, ln(factor) continues linear in z at the table's steepest log-slope,
    evaluated at each TAIL_BEYOND quantile's upper edge."""
    return _tail_atoms(tuple(sorted(table.items())))


@functools.lru_cache(maxsize=16)
def _tail_atoms(
    pts: tuple[tuple[int, float], ...],
) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    probs: list[float] = []
    facts: list[float] = []
    lo = 0.0
    for p, f in pts:
        probs.append(p / 100.0 - lo)
        facts.append(f)
        lo = p / 100.0
    (p1, f1) = pts[-1]
    slopes = [
        math.log(fb / fa) / (z(pb / 100.0) - z(pa / 100.0))
        for (pa, fa), (pb, fb) in itertools.pairwise(pts)
        if pa > 0
    ]
    slope = max(slopes, default=0.0)
    for u in TAIL_BEYOND:
        probs.append(u - lo)
        facts.append(f1 * math.exp(slope * (z(u) - z(p1 / 100.0))))
        lo = u
    return tuple(probs), tuple(facts), 1.0 - lo


def _quantiles_of(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> list[float]:
    """The qs-quantiles of a discrete distribution (whatever weight is missing is endless)."""
    import numpy as np
    order = np.argsort(values, kind="stable")
    cum, ranked = np.cumsum(weights[order]), values[order]
    at = np.searchsorted(cum, np.asarray(qs) - 1e-12)
    return [math.inf if k >= len(cum) else float(ranked[k]) for k in at]


def joint_quantiles(
    qs: Sequence[float],
    prompt_probs: Sequence[float],
    prompt_ttft_ms: Sequence[float],
    output_probs: Sequence[float],
    outputs: Sequence[int],
    tpot_ms: float,
    x: tuple[Sequence[float], Sequence[float]],
    y: Sequence[float],
) -> list[tuple[float, float]]:
    """(TTFT, end-to-end latency) at each q-quantile of ``qs``, in ms: ``prompt_ttft_ms[j]``
    the mean TTFT of the prompt cell j's upper edge (:func:`cells`), ``outputs[k]`` the
    completion cell k's, ``x`` the TTFT tail's (probabilities, factors) and ``y`` the TPOT
    tail's factors on the same probabilities (:func:`tail_atoms`: one draw per request).
    The end-to-end latency takes the prompt cells :data:`E2E_PROMPTS` at a time, each group
    at its largest TTFT. Missing probability is endless."""
    import numpy as np  # here: profile llm without a spread does not pay its import

    xp, xf = np.asarray(x[0]), np.asarray(x[1])
    pp, tt = np.asarray(prompt_probs), np.asarray(prompt_ttft_ms)
    first = (tt[:, None] * xf[None, :]).ravel()
    w1 = (pp[:, None] * xp[None, :]).ravel()
    # E2E_PROMPTS prompt cells as one, at the largest of their TTFTs (an upper bound)
    starts = np.arange(0, len(pp), E2E_PROMPTS)
    gp, gt = np.add.reduceat(pp, starts), np.maximum.reduceat(tt, starts)
    op = np.asarray(output_probs)
    decode = tpot_ms * (np.asarray(outputs, dtype=float) - 1.0)
    e2e = (gt[:, None, None] * xf[None, None, :]
           + decode[None, :, None] * np.asarray(y)[None, None, :]).ravel()
    w2 = (gp[:, None, None] * op[None, :, None] * xp[None, None, :]).ravel()
    return list(zip(_quantiles_of(first, w1, qs), _quantiles_of(e2e, w2, qs), strict=True))
