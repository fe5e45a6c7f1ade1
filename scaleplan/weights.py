"""Integer traffic weights, shared by the optimizer (which plans static HTTPRoute weights) and
the renderer (which writes them): one definition, so the two cannot drift apart."""

from __future__ import annotations

import math
from collections.abc import Sequence

WEIGHT_TOTAL = 100


def peak_window(rps: Sequence[float]) -> int:
    """Index of the window with the highest demand (the first one on ties; 0 without demand)."""
    if not rps:
        return 0
    return max(range(len(rps)), key=lambda i: (rps[i], -i))


def largest_remainder(values: dict[str, float], total: int = WEIGHT_TOTAL) -> dict[str, int]:
    """Integers proportional to ``values`` summing to ``total`` (at least the number of positive
    values); each positive value gets >= 1, zero values get 0. Ties go by key, so the result is
    deterministic."""
    pos = {k: v for k, v in values.items() if v > 0 and math.isfinite(v)}
    out = dict.fromkeys(values, 0)
    if not pos:
        return out
    total = max(total, len(pos))
    s = sum(pos.values())
    quota = {k: total * v / s for k, v in pos.items()}
    for k, q in quota.items():
        out[k] = max(1, math.floor(q + 1e-9))
    left = total - sum(out[k] for k in pos)
    if left > 0:
        order = sorted(pos, key=lambda k: (-(quota[k] - math.floor(quota[k] + 1e-9)), k))
        for k in order[:left]:
            out[k] += 1
    while left < 0:  # minimums of 1 overshot the total: take from the largest
        k = sorted(pos, key=lambda k: (-out[k], k))[0]
        out[k] -= 1
        left += 1
    return out
