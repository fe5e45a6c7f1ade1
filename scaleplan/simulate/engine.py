"""The two simulation kernels: FIFO dynamic batching per replica, and an event loop for
least-outstanding-requests routing.

Both take sorted arrival times (seconds) and a per-request service multiplier (mean 1, drawn
up front from the seeded generator) and return, per request, the time its batch started and
finished, plus one record per batch (replica, launch, finish, size). The service time of a
batch of ``b`` requests on a replica with full-batch mean ``s_full`` (seconds), maximum batch
``B`` and fixed fraction ``c`` is::

    service(b) = s_full * (c + (1 - c) * b / B) * m

where ``m`` is the multiplier of the request that opens the batch. Batching follows Triton's
dynamic batcher: a free replica launches a batch as soon as ``B`` requests wait, or when the
oldest waiting request has waited ``timeout`` seconds, whichever is first; with ``timeout``
0 it launches at once with whatever waits (greedy batching).

Round-robin and weighted routing are decided up front (they do not depend on the replicas'
state), so each replica is simulated on its own by :func:`fifo_batches`: a vectorised
max-plus recursion for batch size 1 without a timeout (Lindley's recursion in closed form),
one tight loop iteration per batch otherwise. Least-outstanding routing depends on the state
at each arrival and runs in :func:`least_outstanding`, one event loop over all replicas.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ReplicaModel:
    """Service model of one replica type (all in seconds)."""

    s_full: float  # mean service time of a full batch
    batch: int  # maximum batch size B
    fixed_fraction: float  # c in service(b) = s_full * (c + (1 - c) * b / B)
    timeout: float  # batching timeout (0 = greedy)

    def factor(self, b: int) -> float:
        c = self.fixed_fraction
        return self.s_full * (c + (1.0 - c) * b / self.batch)


@dataclass
class Batches:
    """Per-request start/finish plus one row per batch."""

    start: F64
    finish: F64
    b_replica: I64
    b_launch: F64
    b_finish: F64
    b_size: I64


def fifo_batches(arrivals: F64, mult: F64, model: ReplicaModel) -> tuple[F64, F64, F64, F64, I64]:
    """One replica, FIFO: per-request (start, finish) and per-batch (launch, finish, size)."""
    n = len(arrivals)
    if n == 0:
        e = np.empty(0)
        return e, e, e, e, np.empty(0, dtype=np.int64)
    if model.batch == 1 and model.timeout <= 0:
        # d_i = max(d_{i-1}, a_i) + s_i  =>  d = C + cummax(a - C_prev)  (max-plus form)
        s = model.factor(1) * mult
        c = np.cumsum(s)
        c_prev = c - s
        finish = c + np.maximum.accumulate(arrivals - c_prev)
        start = finish - s
        return start, finish, start, finish, np.ones(n, dtype=np.int64)
    al: list[float] = arrivals.tolist()
    ml: list[float] = mult.tolist()
    big = model.batch
    tau = model.timeout
    fixed = model.s_full * model.fixed_fraction
    per = model.s_full * (1.0 - model.fixed_fraction) / big
    launches: list[float] = []
    finishes: list[float] = []
    sizes: list[int] = []
    free = -math.inf
    i = 0
    while i < n:
        deadline = al[i]
        if tau > 0:
            deadline += tau
            last = i + big - 1
            if last < n and al[last] < deadline:
                deadline = al[last]
        launch = free if free > deadline else deadline
        hi = i + big
        j = bisect_right(al, launch, i, hi if hi < n else n)
        b = j - i
        free = launch + (fixed + per * b) * ml[i]
        launches.append(launch)
        finishes.append(free)
        sizes.append(b)
        i = j
    b_launch = np.array(launches)
    b_finish = np.array(finishes)
    b_size = np.array(sizes, dtype=np.int64)
    return np.repeat(b_launch, b_size), np.repeat(b_finish, b_size), b_launch, b_finish, b_size


class _Batching:
    """Triton's dynamic batcher on every replica of a :func:`least_outstanding` run: the queues,
    the outstanding counts the router reads, the batching timers and one event heap
    (completions and timeouts); per request the batch's start and finish, per batch a record."""

    __slots__ = (
        "al", "b_fin", "b_launch", "b_rep", "b_size", "big", "busy", "finish", "fixed", "heap",
        "in_service", "ml", "out", "per", "queues", "sig", "start", "tau", "timer",
    )

    def __init__(
        self,
        al: list[float],
        ml: list[float],
        models: list[ReplicaModel],
        sigmas: list[float] | None,
    ) -> None:
        n = len(al)
        nrep = len(models)
        self.al = al
        self.ml = ml
        self.sig = sigmas
        self.start = [math.inf] * n
        self.finish = [math.inf] * n
        self.out = [0] * nrep  # outstanding requests per replica (queued or in service)
        self.busy = [False] * nrep
        self.timer = [math.inf] * nrep
        self.queues: list[deque[int]] = [deque() for _ in range(nrep)]
        self.fixed = [m.s_full * m.fixed_fraction for m in models]
        self.per = [m.s_full * (1.0 - m.fixed_fraction) / m.batch for m in models]
        self.big = [m.batch for m in models]
        self.tau = [m.timeout for m in models]
        self.in_service = [0] * nrep  # size of the batch each busy replica is serving
        self.heap: list[tuple[float, int, int]] = []  # (time, kind 0=completion 1=timeout, replica)
        self.b_rep: list[int] = []
        self.b_launch: list[float] = []
        self.b_fin: list[float] = []
        self.b_size: list[int] = []

    def launch(self, r: int, now: float) -> None:
        """Replica ``r`` starts a batch of what waits (at most its batch size) at ``now``."""
        q = self.queues[r]
        b = min(self.big[r], len(q))
        first = q[0]
        sig = self.sig
        if sig is None:
            mu = self.ml[first]
        else:
            sr = sig[r]
            mu = math.exp(sr * self.ml[first] - 0.5 * sr * sr)
        done = now + (self.fixed[r] + self.per[r] * b) * mu
        start = self.start
        finish = self.finish
        for _ in range(b):
            k = q.popleft()
            start[k] = now
            finish[k] = done
        self.busy[r] = True
        self.timer[r] = math.inf
        self.in_service[r] = b
        self.b_rep.append(r)
        self.b_launch.append(now)
        self.b_fin.append(done)
        self.b_size.append(b)
        heapq.heappush(self.heap, (done, 0, r))

    def consider(self, r: int, now: float) -> None:
        """A free replica ``r`` launches when a full batch waits, batching is greedy, or the
        oldest request's timeout is due; otherwise its timer is set for that timeout."""
        q = self.queues[r]
        if self.busy[r] or not q:
            return
        tau = self.tau[r]
        if len(q) >= self.big[r] or tau <= 0:
            self.launch(r, now)
            return
        due = self.al[q[0]] + tau
        if due <= now:
            self.launch(r, now)
        elif self.timer[r] != due:
            self.timer[r] = due
            heapq.heappush(self.heap, (due, 1, r))

    def events_until(self, t: float) -> None:
        """Handle every completion and timeout due at or before ``t``."""
        heap = self.heap
        pop = heapq.heappop
        busy = self.busy
        timer = self.timer
        while heap and heap[0][0] <= t:
            now, kind, r = pop(heap)
            if kind == 0:
                busy[r] = False
                self.out[r] -= self.in_service[r]
                self.consider(r, now)
            elif timer[r] == now and not busy[r]:
                self.launch(r, now)

    def batches(self) -> Batches:
        return Batches(
            start=np.array(self.start),
            finish=np.array(self.finish),
            b_replica=np.array(self.b_rep, dtype=np.int64),
            b_launch=np.array(self.b_launch),
            b_finish=np.array(self.b_fin),
            b_size=np.array(self.b_size, dtype=np.int64),
        )


def least_outstanding(
    arrivals: F64,
    mult: F64,
    models: list[ReplicaModel],
    epochs: list[tuple[float, list[int]]],
    *,
    sigmas: list[float] | None = None,
) -> tuple[Batches, I64]:
    """Event loop: each request goes to the active replica with the fewest outstanding requests.

    ``epochs`` lists (start time, active replica ids), sorted by time; a request is routed
    among the replicas active at its arrival (ties: the lowest id). Replicas leaving the
    active set finish what they hold. A request arriving when no replica is active gets
    replica -1 and start = finish = inf (the caller counts it as failed).

    With ``sigmas`` (one per replica), ``mult`` holds standard normal draws and the multiplier
    of a batch is the lognormal ``exp(sigma * z - sigma**2 / 2)`` of its first request's draw.
    """
    al: list[float] = arrivals.tolist()
    bt = _Batching(al, mult.tolist(), models, sigmas)
    out = bt.out
    busy = bt.busy
    queues = bt.queues
    heap = bt.heap
    consider = bt.consider
    events_until = bt.events_until
    replica = [-1] * len(al)
    ep = 0
    n_ep = len(epochs)
    active: list[int] = epochs[0][1] if n_ep else []
    for i, t in enumerate(al):
        while ep + 1 < n_ep and epochs[ep + 1][0] <= t:
            ep += 1
            active = epochs[ep][1]
        if heap and heap[0][0] <= t:
            events_until(t)
        if not active:
            continue
        best = active[0]
        low = out[best]
        if low:
            for r in active:
                o = out[r]
                if o < low:
                    low = o
                    best = r
                    if not o:
                        break
        replica[i] = best
        out[best] += 1
        queues[best].append(i)
        if not busy[best]:
            consider(best, t)
    events_until(math.inf)  # drain
    return bt.batches(), np.array(replica, dtype=np.int64)
