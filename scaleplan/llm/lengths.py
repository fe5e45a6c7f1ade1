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

import math
from dataclasses import dataclass
from statistics import NormalDist

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
