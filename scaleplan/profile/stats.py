"""Small, pure statistics for timing samples: percentiles and the confidence interval of the median.

The stopping rule of the profiler uses the distribution-free confidence interval of the median
(order statistics of a binomial(n, 1/2)): no normality assumption, which matters because
latency samples are skewed and heavy-tailed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054


def figure(value: float, digits: int = 4) -> str:
    """A time or rate to ``digits`` significant digits, whole with separators from 1,000 up
    ('10,550', never '1.055e+04'): every profile table, verdict and progress line writes so."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.{digits}g}"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of an already sorted sequence."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile of no values")
    if n == 1:
        return float(sorted_values[0])
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


def median_ci(sorted_values: Sequence[float], z: float = Z95) -> tuple[float, float]:
    """Distribution-free ~95 % confidence interval of the median (order statistics).

    With n samples the ranks ``n/2 -+ z*sqrt(n)/2`` bracket the median with ~95 % coverage.
    """
    n = len(sorted_values)
    if n == 0:
        raise ValueError("median_ci of no values")
    half = z * math.sqrt(n) / 2.0
    lo = max(0, math.floor(n / 2.0 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2.0 + half))
    return float(sorted_values[lo]), float(sorted_values[hi])


def median_ci_rel(sorted_values: Sequence[float], z: float = Z95) -> float:
    """Relative half-width of the median's confidence interval (0.02 = +-2 %)."""
    lo, hi = median_ci(sorted_values, z)
    med = percentile(sorted_values, 50)
    if med <= 0:
        return math.inf
    return (hi - lo) / 2.0 / med


#: Two-sided 95 % Student t quantiles (t_0.975) for 1..30 degrees of freedom; above 30 the
#: normal 1.96 is within 4 %.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom (table, then normal)."""
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else Z95


def mean_ci_rel(values: Sequence[float]) -> float:
    """Relative half-width of the 95 % t-interval of the mean of ``values`` (inf below 2)."""
    n = len(values)
    if n < 2:
        return math.inf
    mean = sum(values) / n
    if mean <= 0:
        return math.inf
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return t975(n - 1) * math.sqrt(var / n) / mean


def prediction_rel(values: Sequence[float]) -> float:
    """Relative half-width of the 95 % prediction interval of one more value drawn like
    ``values`` (t x sd x sqrt(1 + 1/n) / mean; inf below 2): where a single new draw lands, not
    where the mean lies."""
    n = len(values)
    ci = mean_ci_rel(values)
    return ci * math.sqrt(n + 1) if math.isfinite(ci) else ci


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """Latency summary in milliseconds from samples in seconds: p50/p90/p95/p99/mean."""
    xs = sorted(samples_s)
    out = {f"p{q}": percentile(xs, q) * 1000.0 for q in (50, 90, 95, 99)}
    out["mean"] = sum(xs) / len(xs) * 1000.0
    return out


def round_sig(x: float, digits: int = 6) -> float:
    """Round to ``digits`` significant figures (stable, readable YAML)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))
