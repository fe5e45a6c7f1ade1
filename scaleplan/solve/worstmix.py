"""The busiest an LLM replica may run whatever class mix routing sends it.

:func:`scaleplan.solve.llm_capacity.queue_derating` derates a replica as one birth-death chain
for a class mix w (shares of requests): its rate with n sequences in flight is
``T_w(n) = 1 / Σ_c w_c / T_c(n)`` and its wait is spread by ``(1 + cs²_w) / 2`` of the slots'
holding times ``h_c = N / T_c(N)``; ``u(w) = λ*(w) / T_w(N)`` is the largest utilisation whose
percentile wait fits (:func:`scaleplan.solve.queueing.max_rate_slots`). Where routing decides
each replica's mix (``kubernetes.class_header``, ``routing: inference-pool``) the replica may
see any mix, and u is not smallest at the spec's mix nor at a class alone: a few long
requests among short ones spread the holding times most (two classes, 128/64 and 6,000/1,024
tokens, on one H100: u = 0.9019 at the spec's 70/30, 0.8921 at 97/3).

:func:`worst_mix_utilization` is a proven lower bound of ``min_w u(w)`` over every mix,
within ``tol`` of it, by branch and bound over simplices of mixes. On a cell (a simplex whose
vertices are mixes) every mix w has, because ``1 / T_w(n)``, ``E_w[h]`` and ``E_w[h²]`` are
linear in w:

* ``T_w(n) >= min over the vertices`` at every n (the chain's "envelope"), and a birth-death
  chain with slower departures at every state sits at its slots at least as often (its
  stationary law is larger in likelihood ratio) and drains its queue more slowly;
* ``1 + cs²_w = E_w[h²] / E_w[h]² <= max_v E_v[h²] / min_v E_v[h]²``;
* ``T_w(N) <= max over the vertices``.

So the envelope chain's largest rate over the largest ``T_w(N)`` is at most u(w) on the whole
cell (its wait is at least every mix's at every λ). The cell whose bound is lowest is split
(its edge whose ends differ most, at the middle) until that bound is within ``tol`` of the
smallest u met at a cell's centre; the answer is the lowest bound of the cells left.
docs/optimizer.md, "LLM replicas: a chain over the replica's rates".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from scaleplan.solve.queueing import MAX_MODEL_UTILIZATION

TOLERANCE = 5e-4  # how far below the smallest u met the bound may stay (utilisation)
MAX_CELLS = 4000  # cells split at most: the lowest bound then stands (still a bound)
HALVINGS = 20  # of [0, 0.95]: u to 1e-6


class _Mixes:
    """The classes' rates as arrays: per class 1 / T_c(n) and its holding time h_c."""

    def __init__(self, rates: Sequence[Sequence[float]], budget_ms: float, percentile: int):
        self.inv = 1.0 / np.asarray(rates, dtype=float)  # classes x slots
        slots = self.inv.shape[1]
        self.hold = slots * self.inv[:, -1]
        self.budget, self.tail = budget_ms, 1.0 - percentile / 100.0
        self.pct = percentile

    def u(self, w: np.ndarray) -> float:
        """u(w) at one mix, to 1e-6 (the cell of one mix: no envelope)."""
        return self.lower(np.array([w]))

    def lower(self, cell: np.ndarray) -> float:
        """A lower bound of u over the cell (rows: its vertices, each a mix)."""
        inv = cell @ self.inv  # vertices x slots
        # T_w(n) / T_w(N), linear over linear in w: smallest at a vertex
        shape = (inv[:, -1:] / inv).min(axis=0)
        drain = float((1.0 / inv[:, -1]).min())
        e1, e2 = cell @ self.hold, cell @ self.hold**2
        spread = max(1.0, float(e2.max()) / float(e1.min()) ** 2 / 2.0)
        logt = np.concatenate(([0.0], np.cumsum(np.log(shape))))
        count = np.arange(len(logt), dtype=float)
        room = self.budget * drain / 1000.0  # the wait's budget in units of 1 / D

        def fits(u: float) -> bool:
            logw = count * math.log(u) - logt
            w = np.exp(logw - logw.max())
            at_slots = float(w[-1]) / (1.0 - u)
            pw = at_slots / (float(w[:-1].sum()) + at_slots)
            return pw <= self.tail or spread * math.log(pw / self.tail) / (1.0 - u) <= room

        if self.budget < 0:
            return 0.0
        if fits(MAX_MODEL_UTILIZATION):
            return MAX_MODEL_UTILIZATION
        lo, hi = 0.0, MAX_MODEL_UTILIZATION
        for _ in range(HALVINGS):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid > 0 and fits(mid) else (lo, mid)
        return lo

    def split(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell halved at the middle of its edge whose ends' chains differ most."""
        logs = np.log(np.column_stack([cell @ self.inv, cell @ self.hold, cell @ self.hold**2]))
        m = len(cell)
        _, i, j = max(
            (float(np.abs(logs[i] - logs[j]).max()), i, j)
            for i in range(m) for j in range(i + 1, m)
        )
        mid = (cell[i] + cell[j]) / 2
        a, b = cell.copy(), cell.copy()
        a[i], b[j] = mid, mid
        return a, b


def worst_mix_utilization(
    rates: Sequence[Sequence[float]], budget_ms: float, percentile: int,
    tol: float = TOLERANCE, max_cells: int = MAX_CELLS,
) -> float:
    """A lower bound (floored to 1e-4) of the smallest u(w) over every mix w of the classes
    whose queue-fed rates are ``rates`` (one row a class, ``rates[c][n - 1]`` at n sequences),
    the wait held within ``budget_ms`` at the p-th percentile; within ``tol`` of it unless
    ``max_cells`` cells were split first. See the module's docstring."""
    mixes = _Mixes(rates, budget_ms, percentile)
    whole = np.eye(len(rates))
    best = min(mixes.u(whole.mean(axis=0)), *(mixes.u(v) for v in whole))
    heap = [(mixes.lower(whole), 0, whole)]
    count = 1
    while heap[0][0] < best - tol and count < max_cells:
        _, _, cell = heapq.heappop(heap)
        for part in mixes.split(cell):
            best = min(best, mixes.u(part.mean(axis=0)))
            count += 1
            heapq.heappush(heap, (mixes.lower(part), count, part))
    return math.floor(heap[0][0] * 10_000) / 10_000
