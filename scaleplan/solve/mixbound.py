"""The class-blind route's class-mix question (:attr:`Problem.mixed_stream`: gateway-api,
several request classes, no ``kubernetes.class_header``): every backend Service receives its
weight's share of every class, so the classes can be merged into one at each candidate's
capacity for the mix (:func:`merged_mix`). That question bounds the static-weights plans
(:func:`mix_relaxation`, :func:`mix_bounded`) and, over one serving shape, plans one backend
Service with one spare per Service (:func:`shape_search`), where the per-class search's
multi-class n+1 / zone rows keep one per type (:func:`per_type_spares`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome, floor_without_redundancy, search_windows


def mix_relaxation(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> Outcome | None:
    """:attr:`Problem.mixed_stream`: the per-window weighted MILP with the request classes
    merged into one, each candidate at its capacity for the class mix (every backend receives
    the mix, so every type's routing is one share of every class): a relaxation of every
    static-weights plan (each type carries its share of the mix with headroom and its own
    spare, which the one-class group rows ask less than) and, unlike the per-class MILP, one
    that does not route a class to the types that serve it best; its peak replicas are a start
    for :func:`scaleplan.solve.replan.replan_static` (at the route's weights,
    :meth:`Problem.mix_weight`, they load every pod alike). None when it finds no plan.
    ``cands``: they all serve every class.

    Not :func:`merged_mix`, the exact one-window question (:mod:`scaleplan.solve.mixwindow`),
    which weighs each candidate at its route weight (the capacity floored,
    :meth:`Problem.mix_weight`): a relaxation may take the unfloored capacity, which only
    lowers its bound. Over one window it also takes coarser groups (candidates alike at the
    mix share one, fewer spare rows; unified, the bounds and the plans they start move). Over
    several windows each candidate keeps its own points after the merged one, so its backend
    group is the route's: the search holds spot capacity <= max_fraction x capacity when there
    is one group (:func:`search_windows`), which a day of two Services at fixed weights need
    not hold off-peak, so coarser groups could make it no relaxation."""
    # a candidate that misses a class (None): not the static re-plan's
    m = _merged(pb, cands, pb.mixed_capacity, keep_points=pb.hourly_weights(rps))
    if m is None:
        return None
    one, merged = m
    o = search_windows(one, merged, rps, deadline=deadline, tie_break=False)
    return o if o.solved else None


def per_type_spares(pb: Problem) -> bool:
    """:attr:`Problem.mixed_stream` under n+1 / zone: the per-class MILP (several active
    classes) keeps a spare node, or zone share, per *type* (its multi-class rows), where the
    route needs one per backend Service (the Service spreads its weight over the pods it has
    left): its optimum then bounds no static-weights plan, and over one serving shape of
    several types (spot and on-demand pods of one GPU) its plan pays a spare per type. The
    class-mix question (:func:`merged_mix`, one class at the capacity for the mix) has the
    per-Service rows."""
    return pb.mixed_stream and pb.spec.placement.redundancy != "none"


def mix_bounded(
    pb: Problem, dyn: Outcome, mix: Outcome | None, rps: Sequence[float], deadline: float
) -> Outcome:
    """``dyn`` with its floor replaced by a lower bound on every static-weights plan under
    :func:`per_type_spares`: :func:`mix_relaxation`'s floor (the classes merged, with the
    per-Service n+1 / zone rows; proven when its search is optimal), else, when it found no
    plan, the per-class search without redundancy (:func:`floor_without_redundancy`). (The
    larger of the two was tried: on 60 random class-blind curve cases under n+1 / zone the
    second never exceeded the first, for 40 % more solve time.) Its plans stay the re-plan's
    starts."""
    if mix is not None:
        floor, proven = mix.floor, mix.status == "optimal"
    else:
        floor, proven = floor_without_redundancy(pb, dyn.cands, rps, deadline)
    if proven:
        return replace(dyn, status="optimal", cost=floor, bound=floor)
    return replace(dyn, status="feasible", bound=floor)


def merged_mix(pb: Problem, cands: Sequence[Candidate]) -> tuple[Problem, list[Candidate]] | None:
    """:attr:`Problem.mixed_stream` as one class: the question with the request classes merged
    into one (``mix``), each candidate at its capacity for the class mix as the route weighs it
    (:meth:`Problem.mix_weight`); every candidate keeps its own points after the merged one, so
    its serving shape, and backend group, is its own. None when a candidate misses a class."""
    return _merged(pb, cands, lambda c: w if (w := pb.mix_weight(c)) > 0 else None)


def _merged(
    pb: Problem, cands: Sequence[Candidate], capacity: Callable[[Candidate], float | None],
    keep_points: bool = True,
) -> tuple[Problem, list[Candidate]] | None:
    """``pb`` with its request classes merged into one (``mix``), and each candidate with a
    first point at ``capacity(c)`` for the mix, then (``keep_points``) its own points; None
    when ``capacity`` gives None for a candidate."""
    merged = []
    for c in cands:
        m = capacity(c)
        if m is None:
            return None
        point = replace(c.points[0][1], capacity_rps=m)
        merged.append(replace(c, points=(("mix", point), *(c.points if keep_points else ()))))
    return replace(pb, classes=(("mix", 1.0),)), merged


def shape_search(
    pb: Problem, sub: list[Candidate], rps: Sequence[float], deadline: float
) -> Outcome:
    """The per-window search over one serving shape's candidates ``sub`` (one backend
    Service) under :func:`per_type_spares`: the class-mix question (:func:`merged_mix`), whose
    one-class rows keep one spare per Service as the route needs, over ``sub`` again (its
    windows' routing and demand are re-derived per class by the caller,
    :func:`scaleplan.solve.static._one_backend_sols`); the per-class search when a candidate
    misses a class."""
    m = merged_mix(pb, sub)
    if m is None:
        return search_windows(pb, sub, rps, deadline=deadline, tie_break=False)
    one, merged = m
    return replace(search_windows(one, merged, rps, deadline=deadline, tie_break=False), cands=sub)
