"""What one solve is asked: the options, the spec's request classes and its routing rules.

Every phase of a solve (search, static re-planning, diagnosis, assembly, explanation,
comparison) reads one :class:`Problem`: the spec, the options and the request classes,
computed once from the spec and passed on. The routing predicates (:meth:`Problem.even_split`,
:meth:`Problem.static_weights`, :attr:`Problem.mixed_stream`), the capacity of a replica at
the traffic's class mix and the quota scopes over a candidate list live here because every
phase needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from scaleplan.plan import HPA_MIN_REPLICAS, InputHashes
from scaleplan.quotas import quota_label
from scaleplan.solve.candidates import Candidate, classes_of
from scaleplan.solve.milp import QuotaScope, SolverName
from scaleplan.solve.oppoints import floor4
from scaleplan.solve.prune import in_quota_scope
from scaleplan.spec import Spec

MAX_ALTERNATIVE_SOLVES = 12

Classes = tuple[tuple[str, float], ...]  # (request class, share of the traffic), spec order


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float = 60.0
    max_utilization: float | None = None  # None: from the queueing model; 1.0: no derating
    solver: SolverName = "highs"
    alternatives: bool = True  # alternatives and baselines (extra solves)
    inputs: InputHashes | None = None
    spec_dir: str | None = None  # resolves a model.architecture config.json path
    # a plan out of proportion, or an SLO no shape meets, is solved again at relaxed values of
    # the SLO field behind it to say what they cost (scaleplan.solve.sanity, a few seconds)
    relax: bool = True


@dataclass(frozen=True)
class Problem:
    """One solve's question: the spec, the options and the spec's request classes."""

    spec: Spec
    options: SolveOptions
    classes: Classes
    # (candidate id, replicas) the candidates keep in every window: the allocations a
    # floor-holding plan uses (``scaleplan.solve.floors``); empty: none
    floored: frozenset[tuple[int, int]] = frozenset()

    @classmethod
    def of(cls, spec: Spec, options: SolveOptions, classes: Classes | None = None) -> Problem:
        """The Problem of ``spec``; ``classes``: its request classes when the caller has
        them (a region's spec of the same traffic), else derived here."""
        mix = classes if classes is not None else classes_of(spec)
        return cls(spec=spec, options=options, classes=mix)

    def replica_floor(self, rps: Sequence[float]) -> int:
        """The replicas an allocation in use keeps in every window as rendered: 1 under
        ``kubernetes.autoscaler.type: hpa`` (an HPA's minReplicas is at least 1) when the demand
        varies by window; 0 otherwise (KEDA scales to 0; ``none`` and one window keep the
        plan's own counts)."""
        hpa = self.spec.kubernetes.autoscaler.type == "hpa"
        return HPA_MIN_REPLICAS if hpa and len(set(rps)) > 1 else 0

    def with_floors(self, floors: Sequence[tuple[Candidate, int]]) -> Problem:
        """The same question with each candidate of ``floors`` held at its replicas in every
        window."""
        return replace(self, floored=frozenset((id(c), f) for c, f in floors if f > 0))

    @property
    def even_split(self) -> bool:
        """routing: service (the default): one Service spreads requests evenly over all pods."""
        return self.spec.kubernetes.routing == "service"

    @property
    def several_classes(self) -> bool:
        """More than one request class with a share of the traffic: what :attr:`even_mix`,
        :attr:`pool_mix` and :attr:`mix_basis` ask of each routing."""
        return sum(1 for _, s in self.classes if s > 0) > 1

    @property
    def even_mix(self) -> bool:
        """routing: service with more than one request class: the Service sends every pod the
        class mix, so a replica serves its capacity for the mix (:meth:`mix_weight`), the
        capacity the even split is sized at (``milp.window.even_need``)."""
        return self.even_split and self.several_classes

    @property
    def pool_mix(self) -> bool:
        """routing: inference-pool with more than one request class: the pool's endpoint
        picker is class-blind (queue length, KV cache), so a pod serves the classes the plan
        routes to it, and its capacity is its capacity at that mix (as :attr:`class_routed`)."""
        return self.spec.kubernetes.routing == "inference-pool" and self.several_classes

    def static_weights(self, rps: Sequence[float]) -> bool:
        """routing: gateway-api over more than one distinct demand window, or with more than
        one request class: one HTTPRoute whose weights can change neither by hour nor by class,
        so the plan must serve every window at the peak's split (:meth:`hourly_weights`) and
        every backend takes its weight's share of every class (:meth:`mixed_stream`). Not
        with :attr:`class_routed`: its weights are per class (over a curve,
        :meth:`class_rules_by_hour`)."""
        return (self.hourly_weights(rps) and not self.class_routed) or self.mixed_stream

    def class_rules_by_hour(self, rps: Sequence[float]) -> bool:
        """:attr:`class_routed` over more than one distinct demand window: the HTTPRoute's
        per-class weights cannot change by hour (:mod:`scaleplan.solve.rulecurve`)."""
        return self.class_routed and self.hourly_weights(rps)

    def hourly_weights(self, rps: Sequence[float]) -> bool:
        """routing: gateway-api over more than one distinct demand window: the HTTPRoute's
        weights cannot change by hour."""
        return self.spec.kubernetes.routing == "gateway-api" and len(set(rps)) > 1

    @property
    def mix_basis(self) -> bool:
        """routing: gateway-api with more than one request class: the class-blind route weighs
        backends by their capacity for the class mix (:meth:`mix_weight`); with
        :attr:`class_routed`, by their capacity at the classes routed to them (falling back to
        the mix's for an allocation routed nothing)."""
        return self.spec.kubernetes.routing == "gateway-api" and self.several_classes

    @property
    def class_routed(self) -> bool:
        """:attr:`mix_basis` with ``kubernetes.class_header``: every request names its class
        in that header and the HTTPRoute has one rule per class with that class's weights, so
        the MILP's per-class routing is what the route delivers (over a curve, one routing
        fixed all day: :meth:`class_rules_by_hour`)."""
        return self.mix_basis and self.spec.kubernetes.class_header is not None

    @property
    def mixed_stream(self) -> bool:
        """routing: gateway-api with more than one request class and no
        ``kubernetes.class_header``: an HTTPRoute cannot tell the classes apart, so each
        backend Service receives its weight's share of every class, the class mix, and must
        carry it at its capacity for that mix (:meth:`mixed_capacity`), whatever per-class split
        the MILP's routing assumed."""
        return self.mix_basis and not self.class_routed

    def with_spot(self, **update: object) -> Problem:
        """The same question with placement.spot's fields ``update``d."""
        spot = self.spec.placement.spot.model_copy(update=update)
        pl = self.spec.placement.model_copy(update={"spot": spot})
        return replace(self, spec=self.spec.model_copy(update={"placement": pl}))

    def without_survive_loss(self) -> Problem:
        """The same question with placement.spot.survive_loss off (what the rule costs, and
        whether it is what leaves no plan)."""
        return self.with_spot(survive_loss=False)

    def mixed_capacity(self, c: Candidate) -> float | None:
        """Per-replica capacity of ``c`` at the class mix (see :func:`mixed_capacity`)."""
        return mixed_capacity(self.spec, c, self.classes)

    def mix_weight(self, c: Candidate) -> float:
        """:attr:`mixed_stream`: what one replica of ``c`` adds to its backend's HTTPRoute
        weight, the plan's ``capacity_rps_per_replica``: its capacity for the class mix, floored
        to 4 decimals as every capacity is (0 when it misses a class). A backend receives the
        mix, so weights in proportion to it load every pod alike (D / capacity), as one class's
        capacity does with one class; the largest class's capacity, the basis before, loaded a
        type slow at the other classes more than a type fast at them."""
        m = self.mixed_capacity(c)
        return floor4(m) if m else 0.0


def demand_windows(spec: Spec) -> tuple[tuple[float, ...], float]:
    """The spec's demand windows (requests/s) and each window's length in hours."""
    if spec.traffic.hourly_rps is not None:
        return tuple(spec.traffic.hourly_rps), 1.0
    assert spec.traffic.peak_rps is not None
    return (spec.traffic.peak_rps,), 24.0


def mixed_capacity(spec: Spec, c: Candidate, classes: Classes | None = None) -> float | None:
    """Per-replica capacity for the spec's class mix: 1 / sum_c(share_c / cap_c), or None.

    Under routing: service every replica receives every class in the traffic's proportions,
    so this is what one replica serves; None when the candidate cannot serve some class.
    ``classes``: the spec's request classes when the caller has them (else derived).
    """
    mix = classes if classes is not None else classes_of(spec)
    total = sum(s for _, s in mix) or 1.0
    inv = 0.0
    for cls, share in mix:
        if share <= 0:
            continue
        cap = c.cap(cls)
        if not cap:
            return None
        inv += share / total / cap
    return 1.0 / inv if inv > 0 else None


def capacity_bound(
    pb: Problem, cands: Sequence[Candidate], rps: Sequence[float], *, as_searched: bool = False
) -> float | None:
    """A lower bound on the mean cost per hour of any plan over ``cands`` for the demand
    ``rps`` (requests/s per window); None when no candidate serves some class.

    Every plan carries each window's requests of class c, D_c, with headroom h: y_kc of them
    on candidate k take (1 + h) y_kc / cap_kc of its replicas, and a replica costs price_k /
    replicas_per_node_k, so the window costs at least (1 + h) sum_c D_c min_k price_k /
    (replicas_per_node_k cap_kc). That is the window MILP's route, load and packing rows
    alone relaxed to reals, so it is at most the window's optimum (and at most its LP bound).
    ``as_searched``: D_c the smaller of ``rps`` x share and that as
    :func:`scaleplan.solve.search.search_windows` states it (rounded to 1e-9), so it bounds
    plans sized at either; else ``rps`` x share."""
    h = pb.spec.traffic.headroom
    lb = 0.0
    for v in rps:
        for cls, share in pb.classes:
            per = [k.price / (k.replicas_per_node * cap) for k in cands if (cap := k.cap(cls))]
            if not per:
                return None
            d = min(v * share, round(v * share, 9)) if as_searched else v * share
            lb += d * (1 + h) * min(per)
    return lb / len(rps)


def quota_scopes(spec: Spec, cands: Sequence[Candidate]) -> tuple[QuotaScope, ...]:
    """The spec's GPU and node quotas as index sets over ``cands`` (a quota with both limits
    is two scopes)."""
    out = []
    for i, q in enumerate(spec.placement.quotas):
        members = tuple(k for k, c in enumerate(cands) if in_quota_scope(q, c.row))
        label = quota_label(q)
        for limit, nodes in ((q.max_gpus, False), (q.max_nodes, True)):
            if limit is not None:
                at = f"placement.quotas.{i}.max_{'nodes' if nodes else 'gpus'}"
                out.append(QuotaScope(label, limit, members, nodes=nodes, where=at))
    return tuple(out)
