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

How it is computed (2026-12-06; the same cells, bounds and answer as the plain search of
d6effba, several times faster): a bound is the point where halving [0, 0.95] twenty times
stops (the largest point of that grid where the envelope's wait fits). Whether the wait fits
at u is ``G(u) <= 0`` with ``G = log(P_wait / tail) - room (1 - u) / spread``, and
``dG / d log u = (1 - P_wait)(N - E[n | n < N] + u / (1 - u)) + room u / spread > 0``, so it
fits below one point and not above it: Newton's method on G finds that point in a few steps,
and the two grid points around it are then checked (the lower fits, the upper does not), which
fixes every step of the halving; a row whose check fails is halved as before. A centre only
matters when it is below the smallest u met so far, so it is first checked there. The cells
the search will split next (every cell below the bar, and their halves) are bounded together
in one numpy pass, and the search then takes them in the same order as one at a time.
docs/optimizer.md, "LLM replicas: a chain over the replica's rates".
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Sequence

import numpy as np

from scaleplan.solve.queueing import MAX_MODEL_UTILIZATION

TOLERANCE = 5e-4  # how far below the smallest u met the bound may stay (utilisation)
MAX_CELLS = 4000  # cells split at most: the lowest bound then stands (still a bound)
HALVINGS = 20  # of [0, 0.95]: u to 1e-6
TABLE = 16  # halvings read from a table of the grid; the rest are replayed
NEWTON = 30  # Newton steps at most before a row is halved as before
CONVERGED = 1e-8  # a Newton step in log u this small: the next point is the crossing
DEPTH = 2  # generations of cells split ahead in one pass

Envelope = tuple[np.ndarray, np.ndarray, np.ndarray]  # log T ratios, spread, room; per row


@functools.cache
def _grid() -> np.ndarray:
    """Every point the halving of [0, 0.95] can stop at after TABLE halvings, in order, each
    computed as the halving computes it ((lo + hi) / 2)."""
    n = 1 << TABLE
    grid = np.empty(n + 1)
    grid[0], grid[n] = 0.0, MAX_MODEL_UTILIZATION
    step = n
    while step > 1:
        grid[step // 2 :: step] = (grid[0:n:step] + grid[step::step]) / 2
        step //= 2
    return grid


def _logs(values: np.ndarray) -> np.ndarray:
    """math.log of each value (the halving's own logarithm, to the last bit)."""
    return np.array([math.log(v) for v in values.tolist()])


class _Mixes:
    """The classes' rates as arrays: per class 1 / T_c(n) and its holding time h_c."""

    def __init__(self, rates: Sequence[Sequence[float]], budget_ms: float, percentile: int):
        self.inv = 1.0 / np.asarray(rates, dtype=float)  # classes x slots
        self.slots = self.inv.shape[1]
        self.hold = self.slots * self.inv[:, -1]
        self.budget, self.tail = budget_ms, 1.0 - percentile / 100.0
        self.count = np.arange(self.slots + 1, dtype=float)

    def envelopes(self, cells: np.ndarray) -> Envelope:
        """Each cell's envelope chain (cells: cells x vertices x classes; a mix alone is a
        cell whose vertices are all that mix)."""
        many, m, k = cells.shape
        flat = cells.reshape(many * m, k)
        inv = (flat @ self.inv).reshape(many, m, -1)  # 1 / T_w(n) at each vertex
        # T_w(n) / T_w(N), linear over linear in w: smallest at a vertex
        shape = (inv[:, :, -1:] / inv).min(axis=1)
        drain = (1.0 / inv[:, :, -1]).min(axis=1)
        e1 = (flat @ self.hold).reshape(many, m)
        e2 = (flat @ self.hold**2).reshape(many, m)
        spread = np.maximum(1.0, e2.max(axis=1) / e1.min(axis=1) ** 2 / 2.0)
        logt = np.concatenate((np.zeros((many, 1)), np.cumsum(np.log(shape), axis=1)), axis=1)
        return logt, spread, self.budget * drain / 1000.0  # room in units of 1 / D

    def evaluate(
        self, env: Envelope, rows: np.ndarray, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At utilisation u[i] for envelope rows[i]: whether the wait fits (the halving's own
        test), G and dG / d log u."""
        logt, spread, room = env[0][rows], env[1][rows], env[2][rows]
        logw = self.count * _logs(u)[:, None] - logt
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        below = w[:, :-1].sum(axis=1)
        free = 1.0 - u
        at_slots = w[:, -1] / free
        pw = at_slots / (below + at_slots)
        logr = _logs(np.maximum(pw / self.tail, 1e-300))
        fits = (pw <= self.tail) | (spread * logr / free <= room)
        mean = (w[:, :-1] @ self.count[:-1]) / below
        ratio = room / spread
        slope = (1.0 - pw) * (self.slots - mean + u / free) + ratio * u
        return fits, logr - ratio * free, slope

    def bounds(
        self, env: Envelope, start: np.ndarray, probe: np.ndarray | None = None
    ) -> np.ndarray:
        """For envelope row i: 0.95 if its wait fits there, else the largest point of the
        halving's grid where it fits (0 if none): what HALVINGS halvings of [0, 0.95] give.
        Newton from start[i]; a row of ``probe`` is only wanted below start[i] (inf if it fits
        there)."""
        top = MAX_MODEL_UTILIZATION
        res = np.full(len(start), np.nan)
        rows = np.arange(len(start))
        u = np.minimum(start, top)
        lo, hi = np.zeros(len(start)), np.full(len(start), np.inf)  # seen to fit / not to
        found = []
        for step_no in range(NEWTON):
            fits, g, slope = self.evaluate(env, rows, u)
            lo, hi = np.where(fits, np.maximum(lo, u), lo), np.where(fits, hi, np.minimum(hi, u))
            stop = fits & (u == top)
            res[rows[stop]] = top
            if step_no == 0 and probe is not None:
                res[rows[fits & probe]] = np.inf
                stop |= fits & probe
            step = -g / slope
            nxt = u * np.exp(step)
            done = ~stop & ((np.abs(step) < CONVERGED) | (hi - lo <= 1e-13 * lo))
            found.append((rows[done], nxt[done], lo[done], hi[done]))
            outside = ~np.isfinite(nxt) | (nxt <= lo) | (nxt >= hi)
            ceiling = np.minimum(hi, top)
            nxt = np.where(outside, np.where(lo > 0, np.sqrt(lo * ceiling), ceiling / 16), nxt)
            keep = ~(stop | done)
            rows, u, lo, hi = rows[keep], np.minimum(nxt[keep], top), lo[keep], hi[keep]
            if not len(rows):
                break
        found.append((rows, u, lo, hi))
        self._settle(env, res, *(np.concatenate(p) for p in zip(*found, strict=True)))
        return res

    def _settle(
        self, env: Envelope, res: np.ndarray, rows: np.ndarray, est: np.ndarray,
        lo: np.ndarray, hi: np.ndarray,
    ) -> None:
        """res[rows] from the crossings est: the grid points below and above each are checked
        (the lower fits, the upper does not); a row that fails is halved as before."""
        if not len(rows):
            return
        below, above = self._cell(est)
        want_below = (below > 0) & (below != lo)
        want_above = above < hi
        which = np.concatenate([np.nonzero(want_below)[0], np.nonzero(want_above)[0]])
        if len(which):
            at = np.concatenate([below[want_below], above[want_above]])
            fits, _, _ = self.evaluate(env, rows[which], at)
            np.maximum.at(lo, which[fits], at[fits])
            np.minimum.at(hi, which[~fits], at[~fits])
        good = ((below == 0) | (lo >= below)) & (hi > below) & (hi <= above) & (lo < above)
        res[rows[good]] = below[good]
        if not good.all():
            res[rows[~good]] = self.halve(env, rows[~good])

    @staticmethod
    def _cell(est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The halving's two neighbouring grid points below (or at) and above each est."""
        grid = _grid()
        j = np.minimum(np.maximum(np.searchsorted(grid, est, side="right") - 1, 0), len(grid) - 2)
        lo, hi = grid[j], grid[j + 1]
        for _ in range(HALVINGS - TABLE):
            mid = (lo + hi) / 2
            up = mid <= est
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        return lo, hi

    def halve(self, env: Envelope, rows: np.ndarray) -> np.ndarray:
        """The halving itself: 0.95 if it fits, else HALVINGS halvings of [0, 0.95]."""
        top = MAX_MODEL_UTILIZATION
        fits_top, _, _ = self.evaluate(env, rows, np.full(len(rows), top))
        lo, hi = np.zeros(len(rows)), np.full(len(rows), top)
        for _ in range(HALVINGS):
            mid = (lo + hi) / 2
            fits, _, _ = self.evaluate(env, rows, mid)
            fits &= mid > 0
            lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
        return np.where(fits_top, top, lo)

    def split(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each cell halved at the middle of its edge whose ends' chains differ most (the
        last such edge on a tie)."""
        many, m, k = cells.shape
        flat = cells.reshape(many * m, k)
        logs = np.log(np.column_stack([flat @ self.inv, flat @ self.hold, flat @ self.hold**2]))
        logs = logs.reshape(many, m, -1)
        pairs = [(i, j) for i in range(m) for j in range(i + 1, m)]
        gap = np.column_stack([np.abs(logs[:, i] - logs[:, j]).max(axis=1) for i, j in pairs])
        pick = len(pairs) - 1 - np.argmax(gap[:, ::-1], axis=1)
        first, second = np.array(pairs).T
        at, i, j = np.arange(many), first[pick], second[pick]
        mid = (cells[at, i] + cells[at, j]) / 2
        a, b = cells.copy(), cells.copy()
        a[at, i], b[at, j] = mid, mid
        return a, b

    def expand(
        self, seeds: list[tuple[float, np.ndarray]], best: float
    ) -> dict[bytes, list[tuple[np.ndarray, float, float]]]:
        """The seeds (bound, cell) split, and DEPTH - 1 generations of their halves: for each
        cell split, its two halves, each with its bound and the u at its centre (inf where
        that is not below best: only a smaller u matters)."""
        k = seeds[0][1].shape[1]
        level = np.stack([c for _, c in seeds])
        start = np.array([low for low, _ in seeds])  # a half's bound is at least its parent's
        parents, halves, starts = [], [], []
        for _ in range(DEPTH):
            a, b = self.split(level)
            parents.append(level)
            level, start = np.stack([a, b], axis=1).reshape(-1, k, k), np.repeat(start, 2)
            halves.append(level)
            starts.append(start)
        cells, first = np.concatenate(halves), np.concatenate(starts)
        n = len(cells)
        centres = np.repeat(cells.mean(axis=1)[:, None, :], k, axis=1)
        env = self.envelopes(np.concatenate([cells, centres]))
        if best > 0:
            probe = np.arange(2 * n) >= n
            found = self.bounds(env, np.concatenate([first, np.full(n, best)]), probe)
        else:  # no centre is below 0
            found = np.concatenate([self.bounds(env, first), np.full(n, np.inf)])
        return {
            cell.tobytes(): [
                (cells[2 * i + s], float(found[2 * i + s]), float(found[n + 2 * i + s]))
                for s in (0, 1)
            ]
            for i, cell in enumerate(np.concatenate(parents))
        }


def _search(mixes: _Mixes, k: int, tol: float, max_cells: int) -> float:
    """The branch and bound, cell by cell in the order of their bounds (the next cells are
    bounded ahead, :meth:`_Mixes.expand`, and taken from there)."""
    whole = np.eye(k)
    points = np.vstack([whole.mean(axis=0), whole])
    first = np.concatenate([np.repeat(points[:, None, :], k, axis=1), whole[None]])
    found = mixes.bounds(mixes.envelopes(first), np.full(len(first), 0.5))
    best = float(found[:-1].min())  # u at the centre and at each class alone
    heap = [(float(found[-1]), 0, whole)]
    count = 1
    ready: dict[bytes, list[tuple[np.ndarray, float, float]]] = {}
    while heap[0][0] < best - tol and count < max_cells:
        low, _, cell = heapq.heappop(heap)
        tag = cell.tobytes()
        if tag not in ready:  # this cell and every other one below the bar, together
            more = (e for e in heap if e[0] < best - tol and e[2].tobytes() not in ready)
            seeds = [(low, cell)] + [(e[0], e[2]) for e in heapq.nsmallest(255, more)]
            ready.update(mixes.expand(seeds, best))
        for part, bound, centre in ready.pop(tag):
            best = min(best, centre)
            count += 1
            heapq.heappush(heap, (bound, count, part))
    return math.floor(heap[0][0] * 10_000) / 10_000


def worst_mix_utilization(
    rates: Sequence[Sequence[float]], budget_ms: float, percentile: int,
    tol: float = TOLERANCE, max_cells: int = MAX_CELLS,
) -> float:
    """A lower bound (floored to 1e-4) of the smallest u(w) over every mix w of the classes
    whose queue-fed rates are ``rates`` (one row a class, ``rates[c][n - 1]`` at n sequences),
    the wait held within ``budget_ms`` at the p-th percentile; within ``tol`` of it unless
    ``max_cells`` cells were split first. See the module's docstring."""
    if budget_ms < 0:
        return 0.0
    with np.errstate(all="ignore"):
        return _search(_Mixes(rates, budget_ms, percentile), len(rates), tol, max_cells)
