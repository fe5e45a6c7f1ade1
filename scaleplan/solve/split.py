"""One fixed HTTPRoute split: each type's share and needs, and spot as the route delivers it.

:class:`Split` holds a candidate list's traffic shares and per-window replica needs at a
fixed split (what the static-weights re-plan in :mod:`scaleplan.solve.replan` sizes with);
:func:`spot_share` is the share of requests that lands on spot pods when each backend Service
spreads its weight evenly over its pods, and :func:`hold_spot_share` repairs a window over
spot.max_fraction one pod at a time, then drops the nodes the repair left spare
(:func:`window_ok`, :func:`trim_nodes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from scaleplan.kube.weights import largest_remainder
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp.window import group_members, nodes_for, replicas_on, zone_lost
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import shape_groups


class Split:
    """One candidate list's traffic shares and per-window replica needs at a fixed split.

    The renderer weights each allocation by (replicas at the peak window) x
    capacity_rps_per_replica (with several classes its capacity for the class mix,
    :meth:`Problem.mix_weight`; else the largest class's), rounded to integers summing to 100.
    The gateway sends that share s_k of every request class to type k in every window, so each
    type is sized on its own: replicas
    covering e_k D_w (1+h) at its capacity for the class mix (e_k = the larger of s_k and its
    rounded weight), n+1: e_k D_w after losing one of its nodes, zone: after losing its
    largest zone share.
    """

    def __init__(self, pb: Problem, cands: list[Candidate]) -> None:
        main = max(pb.classes, key=lambda cs: cs[1])[0]  # first of the largest share
        self.pb = pb
        self.cands = cands
        self.mcap = [pb.mixed_capacity(c) or 0.0 for c in cands]
        # the weight basis: several classes, the capacity for the mix (Problem.mix_weight)
        mix = pb.mixed_stream
        self.wcap = [pb.mix_weight(c) if mix else c.cap(main) or 0.0 for c in cands]
        self.groups = shape_groups(cands)  # backend Service of each candidate
        self.members = group_members(self.groups, range(len(cands)))  # Service -> candidates

    def shares(self, reps: Sequence[int]) -> tuple[list[float], list[float]]:
        """Each type's traffic share s_k and its effective share e_k: at least its part of its
        backend Service's rounded weight (:func:`group_weights`; the Service spreads that over
        its pods, so a member gets it in proportion to its capacity). Rounding each type on its
        own, as before, could give a T4 alone in its Service 5 where the HTTPRoute says 6."""
        K = len(self.cands)
        caps = [reps[k] * self.wcap[k] if self.mcap[k] > 0 else 0.0 for k in range(K)]
        tot = sum(caps)
        s = [v / tot if tot > 0 else 0.0 for v in caps]
        gcap: dict[int, float] = {}
        for k, v in enumerate(caps):
            gcap[self.groups[k]] = gcap.get(self.groups[k], 0.0) + v
        w, g = group_weights(self, reps), self.groups
        return s, [max(s[k], w[g[k]] * caps[k] / gcap[g[k]]) if caps[k] else s[k] for k in range(K)]

    def loss_short(
        self, reps: Sequence[int], e: Sequence[float], d: float
    ) -> tuple[list[int], list[int]] | None:
        """placement.spot.survive_loss: the first backend group (members, on-demand members;
        :func:`scaleplan.solve.search.shape_groups`) with spot replicas whose on-demand
        replicas cannot carry the group's share e_g d by themselves; None when every group can."""
        if not self.pb.spec.placement.spot.survive_loss:
            return None
        cands = self.cands
        for ks in self.members.values():
            if not self.spot_loss_ok(ks, reps, sum(e[k] for k in ks) * d):
                od = [k for k in ks if cands[k].capacity_type == "on-demand" and self.mcap[k] > 0]
                return ks, od
        return None

    def spot_loss_ok(self, ks: Sequence[int], reps: Sequence[int], load: float) -> bool:
        """Backend group ``ks`` survives losing its spot pods: it has none in ``reps``, or its
        on-demand pods alone carry ``load``."""
        cands = self.cands
        if not any(reps[k] and cands[k].capacity_type == "spot" for k in ks):
            return True
        od = sum(reps[k] * self.mcap[k] for k in ks if cands[k].capacity_type == "on-demand")
        return od >= load - 1e-9

    def cheapest(self, ks: Sequence[int]) -> int:
        """The candidate among ``ks`` with the lowest price per request/s."""
        cands = self.cands
        return min(
            ks, key=lambda k: (cands[k].price / (cands[k].replicas_per_node * self.wcap[k]), k)
        )

    def need(self, k: int, e: float, d: float) -> int:
        """Replicas type ``k`` needs to carry share ``e`` of demand ``d`` by itself."""
        if e <= 0 or d <= 0:
            return 0
        pl = self.pb.spec.placement
        c, m, q = self.cands[k], self.mcap[k], self.cands[k].replicas_per_node
        load = e * d
        r = max(1, math.ceil(load * (1 + self.pb.spec.traffic.headroom) / m - 1e-9))
        if pl.redundancy == "n+1":
            r = max(r, math.ceil(load / m - 1e-9) + q)
        elif pl.redundancy == "zone":
            if c.zones < 2:  # it would loop for ever: losing its one zone loses every pod
                raise ValueError(f"{c.row.instance_type} runs in one zone: no share holds zone")
            while (r - zone_lost(c, r)) * m < load - 1e-9:
                r += 1
        return r


def spot_share(
    cands: Sequence[Candidate], groups: Sequence[int], weights: dict[int, float],
    reps: Sequence[int],
) -> float:
    """Share of requests landing on spot pods when backend Service g (``groups``,
    :func:`scaleplan.solve.search.shape_groups`) gets share ``weights[g]`` of them and spreads
    it evenly over its pods in ``reps`` (kube-proxy): sum_g w_g x spot pods_g / pods_g."""
    pods: dict[int, int] = {}
    spot: dict[int, int] = {}
    for k, c in enumerate(cands):
        pods[groups[k]] = pods.get(groups[k], 0) + reps[k]
        if c.capacity_type == "spot":
            spot[groups[k]] = spot.get(groups[k], 0) + reps[k]
    return sum(weights.get(g, 0.0) * spot.get(g, 0) / n for g, n in pods.items() if n > 0)


def spread(split: Split, share: dict[int, float], reps: Sequence[int]) -> list[float]:
    """Each candidate's part of all requests when backend Service g gets ``share[g]`` and
    spreads it evenly over its pods in ``reps`` (kube-proxy): share_g r_k / pods_g."""
    pods = {g: sum(reps[k] for k in ks) for g, ks in split.members.items()}
    return [
        share.get(g, 0.0) * r / pods[g] if r and pods.get(g) else 0.0
        for r, g in zip(reps, split.groups, strict=True)
    ]


def group_weights(split: Split, peak_reps: Sequence[int]) -> dict[int, float]:
    """Each backend Service's HTTPRoute weight / 100: its members' capacity at the peak window,
    rounded as :func:`scaleplan.kube.weights.route_weights` rounds it."""
    cap: dict[int, float] = {}
    groups = split.groups
    for k, r in enumerate(peak_reps):
        if r > 0 and split.mcap[k] > 0:
            cap[groups[k]] = cap.get(groups[k], 0.0) + r * split.wcap[k]
    w = largest_remainder({f"{g:06d}": v for g, v in cap.items()})
    tot = sum(w.values()) or 1
    return {g: w[f"{g:06d}"] / tot for g in cap}


def group_carries(split: Split, ks: Sequence[int], reps: Sequence[int], load: float) -> bool:
    """Backend group ``ks`` (pods of one shape) after a spot pod became an on-demand one: its
    pods still carry ``load`` with headroom and, under n+1, after losing its largest node, under
    zone after losing every member's largest zone share at once (``window.zone_lost``; the
    Service spreads the load over whatever pods are left; the members' fullest zones may be
    the same one)."""
    pl, cands = split.pb.spec.placement, split.cands
    live = [k for k in ks if reps[k] > 0]
    if not live:
        return False
    m = min(split.mcap[k] for k in live)
    pods = sum(reps[k] for k in live)
    spare = 0
    if pl.redundancy == "n+1":
        spare = max(cands[k].replicas_per_node for k in live)
    elif pl.redundancy == "zone":
        spare = sum(zone_lost(cands[k], reps[k]) for k in live)
    headroom = 1 + split.pb.spec.traffic.headroom
    return pods * m >= load * headroom - 1e-9 and (pods - spare) * m >= load - 1e-9


def spot_step(
    split: Split, weights: dict[int, float], reps: Sequence[int], d: float
) -> tuple[int, int | None] | None:
    """The cheapest move lowering the spot share as delivered, per dollar: in a backend group
    with spot pods, turn one into an on-demand pod of the same shape (when :func:`group_carries`)
    or add one; (on-demand candidate, spot candidate or None), None when no group can."""
    cands = split.cands
    best: tuple[float, int, int | None] | None = None
    for g, ks in sorted(split.members.items()):
        sp = [k for k in ks if cands[k].capacity_type == "spot" and reps[k] > 0]
        od = [k for k in ks if cands[k].capacity_type == "on-demand" and split.mcap[k] > 0]
        if not sp or not od:
            continue
        ko, ks_ = split.cheapest(od), max(sp, key=lambda k: (reps[k], -k))
        pods, spot, w = sum(reps[k] for k in ks), sum(reps[k] for k in sp), weights.get(g, 0.0)
        per = [cands[k].price / cands[k].replicas_per_node for k in (ko, ks_)]
        moves: list[tuple[float, float, int | None]] = [
            (w * (spot / pods - spot / (pods + 1)), per[0], None)
        ]
        after = [r + (k == ko) - (k == ks_) for k, r in enumerate(reps)]
        if group_carries(split, ks, after, w * d):
            moves.append((w / pods, max(per[0] - per[1], 1e-9), ks_))
        for gain, cost, kspot in moves:
            if gain > 1e-12 and (best is None or gain / cost > best[0] + 1e-12):
                best = (gain / cost, ko, kspot)
    return None if best is None else (best[1], best[2])


def hold_spot_share(
    split: Split, weights: dict[int, float] | None, reps: list[int], d: float
) -> bool:
    """spot.max_fraction as the HTTPRoute delivers it (:func:`spot_share`) in one window, by
    :func:`spot_step` moves on ``reps``, then the nodes those moves left spare dropped
    (:func:`window_ok`, no backend group emptied); ``weights`` None: the window is the peak,
    whose own replicas set the weights. False when a group over the limit has no on-demand
    candidate."""
    f = split.pb.spec.placement.spot.max_fraction
    moved = False
    for _ in range(10_000):
        w = weights if weights is not None else group_weights(split, reps)
        if spot_share(split.cands, split.groups, w, reps) <= f + 1e-9:
            break
        step = spot_step(split, w, reps, d)
        if step is None:
            return False
        moved = True
        reps[step[0]] += 1
        if step[1] is not None:
            reps[step[1]] -= 1
    else:
        return False
    if moved:  # drop what the moves left spare (6 + 0 pods where 5 + 0 hold)
        live = [ks for ks in split.members.values() if any(reps[k] for k in ks)]

        def ok(v: list[int]) -> bool:
            return window_ok(split, weights, v, d) and all(any(v[k] for k in ks) for ks in live)

        reps[:] = trim_nodes(split.cands, reps, ok, split.pb.spec.placement.redundancy)
    return True


def window_ok(
    split: Split, weights: dict[int, float] | None, reps: Sequence[int], d: float
) -> bool:
    """One window's pods ``reps`` as the HTTPRoute delivers demand ``d`` to them (``weights``,
    None: the weights ``reps`` imply at the peak): spot.max_fraction as delivered, every backend
    group with a share carries it with headroom and its n+1 / zone spare
    (:func:`group_carries`), under survive_loss with its on-demand pods alone, and min_replicas."""
    pl = split.pb.spec.placement
    if sum(reps) < pl.min_replicas or (d > 0 and not any(reps)):
        return False
    w = weights if weights is not None else group_weights(split, reps)
    cands = split.cands
    if pl.spot.allowed and spot_share(cands, split.groups, w, reps) > pl.spot.max_fraction + 1e-9:
        return False
    return short_backend(split, w, reps, d) is None


def short_backend(
    split: Split, weights: dict[int, float], reps: Sequence[int], d: float
) -> tuple[list[int], bool] | None:
    """The first backend group with a share (``weights[g]`` of demand ``d``) that its pods in
    ``reps`` do not carry with headroom and its n+1 / zone spare (:func:`group_carries`;
    False), or under survive_loss with their on-demand pods alone (True): its members and
    which; None when every group carries its share."""
    pl = split.pb.spec.placement
    for g, ks in split.members.items():
        load = weights.get(g, 0.0) * d
        if load <= 0:
            continue
        if not group_carries(split, ks, reps, load):
            return ks, False
        if pl.spot.survive_loss and not split.spot_loss_ok(ks, reps, load):
            return ks, True
    return None


def trim_nodes(
    cands: Sequence[Candidate], reps: list[int], ok: Callable[[list[int]], bool],
    redundancy: str,
) -> list[int]:
    """Drop the dearest node of ``reps`` while ``ok`` holds for what is left, one at a time
    (a node: as ``redundancy``'s zone spread counts them, ``window.nodes_for``)."""
    order = sorted(range(len(cands)), key=lambda k: (-cands[k].price, k))
    while True:
        for k in (k for k in order if reps[k] > 0):
            c = cands[k]
            less = replicas_on(c, nodes_for(c, reps[k], redundancy) - 1, redundancy)
            v = [less if j == k else r for j, r in enumerate(reps)]
            if ok(v):
                reps = v
                break
        else:
            return reps
