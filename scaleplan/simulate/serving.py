"""Request-level serving: the service-time model of each replica type, and which replica
serves each request and when under the routing policies the rendered manifests implement
(round-robin, capacity-weighted, the HTTPRoute's static weights, least-outstanding), on top of
the batching kernels in :mod:`scaleplan.simulate.engine`.

Pure: the result depends only on the arguments (the generator's state included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from scaleplan.plan import Allocation, OperatingPoint, Plan
from scaleplan.simulate.engine import ReplicaModel, fifo_batches, least_outstanding
from scaleplan.simulate.layout import Topology

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Policy = Literal["round-robin", "least-outstanding", "weighted", "static-weights"]
PolicyChoice = Literal["auto", "round-robin", "least-outstanding", "weighted", "static-weights"]
ServiceDist = Literal["lognormal", "exponential", "deterministic"]
POLICIES: tuple[PolicyChoice, ...] = ("auto", "round-robin", "least-outstanding", "weighted",
    "static-weights")
SERVICE_DISTS: tuple[ServiceDist, ...] = ("lognormal", "exponential", "deterministic")
Epoch = tuple[float, list[int]]  # (start time, ids of the replicas serving from then on)
Z99 = 2.3263478740408408  # standard normal 0.99 quantile


def resolve_policy(plan: Plan, policy: PolicyChoice) -> Policy:
    """``auto`` is what the rendered manifests do: ``routing: service`` puts every pod behind one
    Service, which spreads requests evenly (round-robin); ``routing: gateway-api`` routes by the
    HTTPRoute's static weights exactly as rendered (static-weights: a share sent to an allocation
    with no running pods fails); ``routing: inference-pool``'s endpoint picker sends each
    request to the pod with the shortest queue (least-outstanding)."""
    if policy != "auto":
        return policy
    routing = plan.spec.kubernetes.routing
    if routing == "inference-pool":
        return "least-outstanding"  # the endpoint picker sends each request to the least-loaded pod
    # gateway-api: the HTTPRoute's weights exactly as rendered, fixed whatever runs
    return "round-robin" if routing == "service" else "static-weights"


def service_model(alloc: Allocation, *, fixed_fraction: float,
        timeout_s: float) -> tuple[ReplicaModel, float]:
    """(ReplicaModel, sigma): full-batch mean service time and lognormal shape of one replica type.

    Mean full-batch service time: the operating point's ``service_ms`` when given, else
    ``1000 * batch_size / throughput_rps`` (the rate the plan's capacity rests on). Shape: the
    lognormal through the point's p50 and p99 latency, sigma = ln(p99 / p50) / z(0.99).
    """
    op = alloc.operating_point
    mean_ms = _mean_ms(op)
    p50, p99 = op.latency_ms.p50, op.latency_ms.p99
    sigma = math.log(p99 / p50) / Z99 if p50 > 0 and p99 > p50 else 0.0
    return ReplicaModel(s_full=mean_ms / 1000.0, batch=op.batch_size, fixed_fraction=fixed_fraction,
        timeout=timeout_s), sigma


def service_draws(rng: np.random.Generator, service: ServiceDist, n: int) -> F64:
    """Per request: a standard normal (lognormal service), the multiplier itself (exponential,
    deterministic)."""
    if service == "exponential":
        return rng.standard_exponential(n)
    if service == "deterministic":
        return np.ones(n)
    return rng.standard_normal(n)


@dataclass(frozen=True)
class ServiceModels:
    """Per allocation: the replica's batching model and the lognormal shape of its service time;
    per request: the service-time draws (standard normal for lognormal, else the multiplier).
    Plans whose allocations record each class's operating point (``class_points``): per request
    its class (index into the sorted class names, :func:`request_classes`) and per allocation
    each class's full-batch service time over the main point's (``scale``), which a request's
    multiplier carries (a batch takes its opener's, as with the draws)."""

    models: tuple[ReplicaModel, ...]
    sigmas: tuple[float, ...]
    service: ServiceDist
    draw: F64
    cls: I64 | None = None
    scale: tuple[F64, ...] = ()

    def multipliers(self, idx: I64 | slice, ai: int) -> F64:
        """Service-time multipliers (mean 1 at the main class) of requests ``idx`` on
        allocation ``ai``."""
        d = self.draw[idx]
        if self.service != "lognormal":
            m = d
        else:
            s = self.sigmas[ai]
            m = np.exp(s * d - 0.5 * s * s) if s > 0 else np.ones(len(d))
        return m * self.scale[ai][self.cls[idx]] if self.cls is not None and self.scale else m


def request_classes(plan: Plan, rng: np.random.Generator, n: int) -> I64:
    """Each of ``n`` requests' class, drawn in the traffic's proportions: an index into the
    sorted class names (all 0 without classes)."""
    classes = sorted(plan.demand.classes)
    if not classes:
        return np.zeros(n, dtype=np.int64)
    p = np.array([plan.demand.classes[c] for c in classes])
    return rng.choice(len(classes), size=n, p=p / p.sum())


def class_scales(plan: Plan, models: tuple[ReplicaModel, ...]) -> tuple[F64, ...]:
    """Per allocation, per class (sorted names): the class's full-batch mean service time over
    the allocation's main point's (:func:`service_model`), from ``class_points``; () when no
    allocation records them. A class an allocation does not record runs at its main point."""
    if not any(a.class_points for a in plan.allocations):
        return ()
    classes = sorted(plan.demand.classes)
    out = []
    for a, m in zip(plan.allocations, models, strict=True):
        pts = a.class_points or {}
        out.append(np.array([
            (_mean_ms(pts[c]) / 1000.0 / m.s_full) if c in pts else 1.0 for c in classes
        ]))
    return tuple(out)


def _mean_ms(op: OperatingPoint) -> float:
    """A point's full-batch mean service time (ms): ``service_ms``, else batch / throughput."""
    return (op.service_ms if op.service_ms is not None
        else 1000.0 * op.batch_size / op.throughput_rps)


@dataclass(frozen=True)
class Served:
    """Per request: start, finish and replica (-1: no replica); the requests the HTTPRoute's
    static weights sent to a backend without pods (per request, and per backend: its name, the
    count, backends with none left out); one row per batch (replica, launch, finish, size)."""

    start: F64
    finish: F64
    rep: I64
    static_dropped: NDArray[np.bool_]
    static_drops: tuple[tuple[str, int], ...]
    b_rep: I64
    b_launch: F64
    b_finish: F64
    b_size: I64


def serve(plan: Plan, topo: Topology, policy: Policy, times: F64, svc: ServiceModels,
        epochs: list[Epoch], rng: np.random.Generator) -> Served:
    """Route and serve every request under ``policy``."""
    rep_models = [svc.models[int(ai)] for ai in topo.alloc_of]
    n = len(times)
    if policy == "least-outstanding":
        rep_sigmas = ([svc.sigmas[int(ai)] for ai in topo.alloc_of] if svc.service == "lognormal"
            else None)
        batches, rep = least_outstanding(times, svc.draw, rep_models, epochs, sigmas=rep_sigmas)
        return Served(batches.start, batches.finish, rep, np.zeros(n, dtype=bool), (),
            batches.b_replica, batches.b_launch, batches.b_finish, batches.b_size)
    rep, static_dropped, static_drops = _assign(plan, topo, policy, times, epochs, rng, svc.cls)
    start = np.full(n, math.inf)
    finish = np.full(n, math.inf)
    b_rep_l: list[I64] = []
    b_launch_l: list[F64] = []
    b_finish_l: list[F64] = []
    b_size_l: list[I64] = []
    order = np.argsort(rep, kind="stable")
    srt = rep[order]
    cuts = np.searchsorted(srt, np.arange(topo.n_replicas + 1), side="left")
    for g in range(topo.n_replicas):
        idx = order[cuts[g] : cuts[g + 1]]
        if not len(idx):
            continue
        ai = int(topo.alloc_of[g])
        st, fi, bl, bf, bs = fifo_batches(times[idx], svc.multipliers(idx, ai), rep_models[g])
        start[idx] = st
        finish[idx] = fi
        b_rep_l.append(np.full(len(bl), g, dtype=np.int64))
        b_launch_l.append(bl)
        b_finish_l.append(bf)
        b_size_l.append(bs)
    return Served(
        start, finish, rep, static_dropped, tuple(static_drops),
        np.concatenate(b_rep_l) if b_rep_l else np.empty(0, dtype=np.int64),
        np.concatenate(b_launch_l) if b_launch_l else np.empty(0),
        np.concatenate(b_finish_l) if b_finish_l else np.empty(0),
        np.concatenate(b_size_l) if b_size_l else np.empty(0, dtype=np.int64),
    )


def _assign(plan: Plan, topo: Topology, policy: Policy, times: F64, epochs: list[Epoch],
        rng: np.random.Generator,
        req_cls: I64 | None = None) -> tuple[I64, NDArray[np.bool_], list[tuple[str, int]]]:
    """Routing decided up front (round-robin, weighted, static weights): the replica of every
    request (-1: none), which requests the static weights sent to a backend without pods, and
    how many per backend (its name, the count). ``req_cls``: each request's class when drawn
    already (:func:`request_classes`; weighted routes by it)."""
    n = len(times)
    na = len(plan.allocations)
    rep = np.full(n, -1, dtype=np.int64)
    ep_starts = np.array([e[0] for e in epochs])
    ep_of = np.searchsorted(ep_starts, times, side="right") - 1
    ep_lo = np.searchsorted(ep_of, np.arange(len(epochs)), side="left")
    ep_hi = np.searchsorted(ep_of, np.arange(len(epochs)), side="right")
    classes = sorted(plan.demand.classes)
    if req_cls is not None:
        cls = req_cls
    else:
        cls = request_classes(plan, rng, n) if policy == "weighted" else np.zeros(n, dtype=np.int64)
    static = _StaticRoute.of(plan, n) if policy == "static-weights" else None
    if static is not None and static.classes:  # a rule per class (kubernetes.class_header)
        cls = req_cls if req_cls is not None else request_classes(plan, rng, n)
    rr_global = 0
    rr_alloc = [0] * na
    u = rng.random(n) if policy in ("weighted", "static-weights") else np.empty(0)
    for e, (_, act) in enumerate(epochs):
        lo, hi = int(ep_lo[e]), int(ep_hi[e])
        if hi <= lo or not act:
            continue
        if policy == "round-robin":
            n_act = len(act)
            rep[lo:hi] = np.array(act, dtype=np.int64)[(rr_global + np.arange(hi - lo)) % n_act]
            rr_global = (rr_global + hi - lo) % n_act
            continue
        act_arr = np.array(act, dtype=np.int64)
        per_alloc = [act_arr[topo.alloc_of[act_arr] == ai] for ai in range(na)]
        if static is not None:
            static.assign(rep, lo, u[lo:hi], per_alloc, cls[lo:hi])
            continue
        alloc_choice = np.full(hi - lo, -1, dtype=np.int64)
        for ci in range(len(classes) if classes else 1):
            cname = classes[ci] if classes else None
            weights = np.array([
                len(per_alloc[ai]) * a.capacity_rps_per_replica * (1.0 if (cname is None or not a.routing or a.routing.get(cname, 0.0) > 0) else 0.0)
                for ai, a in enumerate(plan.allocations)
            ])
            mask = cls[lo:hi] == ci
            if weights.sum() <= 0 or not mask.any():
                continue
            cum = np.cumsum(weights) / weights.sum()
            pick = np.minimum(np.searchsorted(cum, u[lo:hi][mask], side="right"), len(cum) - 1)
            alloc_choice[mask] = pick
        for ai in range(na):
            sel_idx = np.flatnonzero(alloc_choice == ai)
            if not len(sel_idx):
                continue
            reps = per_alloc[ai]
            if not len(reps):
                continue
            rep[lo + sel_idx] = reps[(rr_alloc[ai] + np.arange(len(sel_idx))) % len(reps)]
            rr_alloc[ai] = (rr_alloc[ai] + len(sel_idx)) % len(reps)
    if static is None:
        return rep, np.zeros(n, dtype=bool), []
    drops = [(name, k) for name, k in zip(static.names, static.drops, strict=True) if k]
    return rep, static.dropped, drops


class _StaticRoute:
    """The HTTPRoute's static weights as rendered: a request's draw picks the backend
    (:mod:`scaleplan.kube.backends`: an allocation, or the allocations of one serving shape
    behind one Service); the backend's running replicas, of any of its allocations, take turns
    (kube-proxy over the Service's ready endpoints). A backend with no running replica fails
    its requests (a Service without endpoints)."""

    def __init__(
        self, names: list[str], members: list[list[int]], weights: F64, n: int,
        by_class: dict[str, F64] | None = None, class_names: Sequence[str] = (),
    ) -> None:
        self.names = names
        self.members = members
        self.cum = np.cumsum(weights) / weights.sum() if weights.sum() > 0 else np.empty(0)
        # kubernetes.class_header: per class index (``class_names``, the sorted class names) its
        # rule's cumulative weights (None: no rule, the header-less one applies); [] without rules
        rules = {c: np.cumsum(w) / w.sum() for c, w in (by_class or {}).items() if w.sum() > 0}
        self.classes: list[F64 | None] = [rules.get(c) for c in class_names] if rules else []
        self.rr = [0] * len(names)
        self.drops = [0] * len(names)
        self.dropped = np.zeros(n, dtype=bool)

    @classmethod
    def of(cls, plan: Plan, n: int) -> _StaticRoute:
        from scaleplan.kube.backends import backend_class_weights, weighted_backends
        from scaleplan.kube.weights import class_routed

        table = weighted_backends(plan)
        names = [b.service if b.shared else b.members[0] for b, _, _ in table]
        weights = np.array([float(w) for _, _, w in table])
        by_class: dict[str, F64] = {}
        if class_routed(plan):
            by_class = {c: np.array([float(cw.get(b.service, 0)) for b, _, _ in table]) for c,
                cw in backend_class_weights(plan).items()}
        members = [list(m) for _, m, _ in table]
        return cls(names, members, weights, n, by_class, sorted(plan.demand.classes))

    def assign(self, rep: I64, lo: int, u: F64, per_alloc: list[I64],
            req_cls: I64 | None = None) -> None:
        """Route the requests ``lo``, ``lo + 1``, ... (their draws ``u``; ``req_cls`` their
        class indices, used when the route has a rule per class) of one epoch."""
        if not len(self.cum):
            return
        choice = np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.cum) - 1)
        if self.classes and req_cls is not None:
            for ci, cum in enumerate(self.classes):
                mask = req_cls == ci
                if cum is not None and mask.any():
                    choice[mask] = np.minimum(np.searchsorted(cum, u[mask], side="right"),
                        len(cum) - 1)
        for bi, members in enumerate(self.members):
            sel_idx = np.flatnonzero(choice == bi)
            if not len(sel_idx):
                continue
            reps = np.sort(np.concatenate([per_alloc[ai] for ai in members]))
            if not len(reps):  # a Service without endpoints: these requests fail
                self.drops[bi] += len(sel_idx)
                self.dropped[lo + sel_idx] = True
                continue
            rep[lo + sel_idx] = reps[(self.rr[bi] + np.arange(len(sel_idx))) % len(reps)]
            self.rr[bi] = (self.rr[bi] + len(sel_idx)) % len(reps)
