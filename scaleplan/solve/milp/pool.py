"""routing: inference-pool over pods of several shapes: the split its endpoint picker gives.

The EPP holds every pod at one KV-cache utilisation while none queues
(:mod:`scaleplan.llm.epp`, the arithmetic), and every pod receives the class mix (the picker
is class-blind), so a pool of several shapes does not split its load in proportion to
capacity: a shape with more KV cache per unit of compute takes more. Until 2026-12-06 the
MILP routed each class freely over the pool and sized it for that split; a 2 x L4 TP2 + L40S
pool simulated with the EPP read 97.2 % at 1.2 x its peak, its long class missing TTFT
(/work/h3_pool_findings.md).

The rule: with ``r_k`` pods of each candidate and per shape ``g`` its pod's capacity ``m_g``
at the class mix, the picker's split loads shape ``b``'s pods to ``m_b`` once the pool
carries ``sum_k r_k c_b[g(k)]`` (``c_b``: :func:`scaleplan.llm.epp.capped`, each shape at
the KV-cache utilisation at which ``b``'s pods reach ``m_b``, at most its own capacity), so
each shape in use needs ``sum_k r_k c_b[g(k)] >= D (1 + h)``. In the MILP that is one row per
shape with a binary ``v_b`` (``r_k <= R_k v_b`` for its candidates) and a big-M on the
right-hand side (:func:`build_pool_rows`). spot.max_fraction f holds on the picker's split
at every demand up to the pool's capacity (the KV-cache utilisation phi* where its first
shape in use reaches its capacity), not only there: each pod's rate is piecewise linear in
phi (kinks where a shape's pods run a whole number of sequences), so the spot share is
linear-fractional between kinks and its largest value is at a kink, at phi*, or in the limit
of no load (there each pod serves in proportion to rates[0] K / tau). One row per such point
(:attr:`PoolSplit.spot_points`), relaxed where a shape in use reaches its capacity below it
(no demand the pool is sized for gets there; before, the rows at the other shapes' capacity
points held there too, a conservative extra that bound none of the test plans). Every kink is
many rows (5,925 for 36 shapes on a spec of every accelerator: its solve ran out of time at
$118/h where $7.68/h is optimal), so the MILP starts with the rows at no load and at each
shape's capacity point and adds a kink's row only when a solution breaks it
(:func:`spot_cuts`, ``WindowModel.solve``): the optimum it ends with holds every row.
Until 2026-12-06 the share was held only at each shape's capacity point: a concave spot shape
beside a linear on-demand one took 75 % of a quiet hour's requests under a 50 % rule (the
review's 0.838 at capacity, 0.909 at low load). The plan's routing is the picker's split at
the pool's capacity (:func:`pool_shares`). A pool of one shape (spot and on-demand of one GPU
and server configuration) has no such rows: the split is in proportion to capacity there.

After a loss (redundancy n+1: a node of one candidate; zone: the worst zone of a region,
m_k nodes of each candidate there; spot.survive_loss: every spot pod) the picker splits the
load over the pods left, so the same rule holds over them without headroom (the loss rows'
convention): per loss and per shape b with pods left, sum_k s_k c_b[g(k)] >= D, s_k = r_k
less the replicas the loss takes (:func:`build_loss_rows`; ``pool_ok`` checks it with fixed
counts). The free per-class loss routing stays beside these rows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scaleplan.llm.epp import PoolMember, capped, split
from scaleplan.solve.milp.window import WindowProblem, lost_unit, mixed_capacities, zone_lost

if TYPE_CHECKING:
    from scaleplan.solve.milp.formulation import Formulation
    from scaleplan.solve.milp.model import WindowModel
    from scaleplan.solve.milp.window import WindowSolution

TOL = 1e-6


@dataclass(frozen=True)
class PoolSplit:
    """The shapes of a pool of several, as :func:`pool_split` groups the candidates."""

    group: tuple[int | None, ...]  # per candidate its shape (None: serves no class mix)
    members: tuple[PoolMember, ...]  # per shape, its pod as the picker sees it
    caps: tuple[float, ...]  # per shape, a pod's requests/s at the class mix
    carry: tuple[tuple[float, ...], ...]  # [b][g]: what g's pod carries when b's reach m_b
    # per shape, the KV-cache utilisation at which its pods reach their capacity
    phis: tuple[float, ...] = ()
    # (phi, per shape what its pod carries there): the kinks of the split up to the largest
    # of ``phis``, each shape's capacity point, and first (phi 0) the limit of no load, where
    # the loads are in proportion to rates[0] K / tau (:func:`_spot_points`)
    spot_points: tuple[tuple[float, tuple[float, ...]], ...] = ()

    def short(
        self, replicas: Sequence[int], total: float, headroom: float
    ) -> tuple[int, float] | None:
        """The first shape in use whose pods pass their capacity at ``total`` x (1 +
        ``headroom``) under the picker's split, and what the pool carries before they do;
        None when none does."""
        need = total * (1 + headroom)
        used = sorted(
            {g for g, r in zip(self.group, replicas, strict=True) if g is not None and r > 0}
        )
        for b in used:
            got = sum(
                r * self.carry[b][g]
                for g, r in zip(self.group, replicas, strict=True)
                if g is not None
            )
            if got < need - TOL * max(1.0, need):
                return b, got
        return None

    def used(self, replicas: Sequence[int]) -> list[int]:
        """The shapes with pods, in order."""
        return sorted(
            {g for g, r in zip(self.group, replicas, strict=True) if g is not None and r > 0}
        )

    def carried(self, replicas: Sequence[int], b: int) -> list[float]:
        """Per candidate, what its pods carry when shape ``b``'s reach their capacity."""
        return [
            r * self.carry[b][g] if g is not None else 0.0
            for g, r in zip(self.group, replicas, strict=True)
        ]

    def spot_broken(
        self, replicas: Sequence[int], spot: Sequence[bool], f: float | None
    ) -> list[tuple[int, float]]:
        """spot.max_fraction ``f`` under the picker's split: the points of
        :attr:`spot_points` up to the pool's capacity (the least of its shapes' ``phis``)
        at which the spot pods (``spot``, per candidate) carry more than ``f`` of the pool's
        load, as (index, that share); none without a rule (``f`` None or >= 1)."""
        used = self.used(replicas)
        if f is None or f >= 1 or not used:
            return []
        top = min(self.phis[b] for b in used)
        out = []
        for j, (phi, per_pod) in enumerate(self.spot_points):
            if phi > top * (1 + TOL):
                break
            load = [
                r * per_pod[g] if g is not None else 0.0
                for g, r in zip(self.group, replicas, strict=True)
            ]
            whole = sum(load)
            on_spot = sum(v for v, s in zip(load, spot, strict=True) if s)
            if whole > 0 and on_spot > f * whole + TOL * max(1.0, whole):
                out.append((j, on_spot / whole))
        return out

    def spot_over(
        self, replicas: Sequence[int], spot: Sequence[bool], f: float | None
    ) -> tuple[float, float] | None:
        """The first of :meth:`spot_broken`'s points as (KV-cache utilisation, 0 for no
        load; the spot share there); None when none."""
        broken = self.spot_broken(replicas, spot, f)
        return (self.spot_points[broken[0][0]][0], broken[0][1]) if broken else None

    def per_pod(self, replicas: Sequence[int], rps: float) -> list[float]:
        """Requests/s one pod of each shape takes when the pool serves ``rps``
        (:func:`scaleplan.llm.epp.split`)."""
        pods = [0] * len(self.members)
        for g, r in zip(self.group, replicas, strict=True):
            if g is not None:
                pods[g] += r
        return split(self.members, pods, rps)


def pool_split(p: WindowProblem) -> PoolSplit | None:
    """The candidates' pool shapes (:attr:`Candidate.pool`, set under routing:
    inference-pool), grouped by pod and capacity at the peak's class mix; None unless every
    candidate serving the mix has one (a candidate that serves none needs none) and there are
    at least two (a candidate without one is left out of the pool before, with a warning:
    ``scaleplan.solve.llm_candidates.pool_known``)."""
    cands = p.candidates
    caps = mixed_capacities(p, p.demand)
    if not cands or any(c.pool is None for c, m in zip(cands, caps, strict=True) if m > 0):
        return None
    keys: dict[tuple[PoolMember, float], int] = {}
    group: list[int | None] = []
    for c, m in zip(cands, caps, strict=True):
        group.append(keys.setdefault((c.pool, m), len(keys)) if m > 0 and c.pool else None)
    if len(keys) < 2:
        return None
    members = tuple(m for m, _ in keys)
    gcaps = tuple(c for _, c in keys)
    carry = tuple(tuple(capped(members, gcaps, b)) for b in range(len(keys)))
    phis = tuple(m.kv_share_at(c) for m, c in keys)
    return PoolSplit(
        tuple(group), members, gcaps, carry, phis, _spot_points(members, gcaps, phis)
    )


def _spot_points(
    members: Sequence[PoolMember], caps: Sequence[float], phis: Sequence[float]
) -> tuple[tuple[float, tuple[float, ...]], ...]:
    """:attr:`PoolSplit.spot_points`: the limit of no load (phi 0, each pod's slope
    rates[0] K / tau there), then in order every KV-cache utilisation up to the largest of
    ``phis`` where a shape's rate has a kink (n tau / K for a whole n) or its pods reach their
    capacity, with what each shape's pod carries there (at most its capacity)."""
    top = max(phis)
    at = set(phis)
    for m in members:
        at.update(
            phi
            for n in range(1, len(m.rates) + 1)
            if (phi := n * m.tokens_per_seq / m.kv_tokens) <= top
        )
    slope = tuple(
        m.rates[0] * m.kv_tokens / m.tokens_per_seq if m.rates else 0.0 for m in members
    )
    kinks = tuple(
        (phi, tuple(min(c, m.rate_at_kv(phi)) for m, c in zip(members, caps, strict=True)))
        for phi in sorted(at)
        if phi > 0
    )
    return ((0.0, slope), *kinks)


def pool_ok(
    p: WindowProblem,
    ps: PoolSplit,
    replicas: Sequence[int],
    demand: Sequence[float],
) -> bool:
    """Whether ``replicas`` hold the module's rules for ``demand``, after
    every loss too (the check of a plan the MILP did not solve for this window: a quieter
    window's, scaled up or reused)."""
    total = float(sum(demand))
    if ps.short(replicas, total, p.headroom) is not None:
        return False
    spot = [c.capacity_type == "spot" for c in p.candidates]
    if ps.spot_over(replicas, spot, p.spot_max_fraction) is not None:
        return False
    return all(
        ps.short(left, total, 0.0) is None for left in replicas_left(p, replicas)
    )


def loss_scenarios(p: WindowProblem) -> list[tuple[str, list[int]]]:
    """The losses the plan must survive, each as (kind, the candidates it takes pods of):
    n+1 a node of one candidate, zone every candidate of one provider/region (its worst zone),
    spot every spot candidate (spot.survive_loss)."""
    cands = p.candidates
    out: list[tuple[str, list[int]]] = []
    if p.redundancy == "n+1":
        out.extend(("nplus1", [k]) for k in range(len(cands)))
    elif p.redundancy == "zone":
        regions: dict[tuple[str, str], list[int]] = {}
        for k, c in enumerate(cands):
            regions.setdefault((c.row.provider, c.row.region), []).append(k)
        out.extend(("zone", regions[r]) for r in sorted(regions))
    if p.survive_spot_loss and p.spot_max_fraction is not None:
        spot = [k for k, c in enumerate(cands) if c.capacity_type == "spot"]
        if spot:
            out.append(("spot", spot))
    return out


def replicas_left(p: WindowProblem, replicas: Sequence[int]) -> list[list[int]]:
    """Per loss (:func:`loss_scenarios`) that takes pods of a candidate in use, the replicas
    left: less one node's (n+1), the worst zone's ceil(r_k / Z_k) (zone, ``window.zone_lost``),
    or all of them (spot)."""
    cands = p.candidates
    out = []
    for kind, ks in loss_scenarios(p):
        if not any(replicas[k] > 0 for k in ks):
            continue
        left = list(replicas)
        for k in ks:
            if kind == "spot":
                left[k] = 0
            elif kind == "nplus1":
                left[k] -= cands[k].replicas_per_node if replicas[k] > 0 else 0
            else:
                left[k] -= zone_lost(cands[k], replicas[k])
        out.append(left)
    return out


def pool_shares(ps: PoolSplit, replicas: Sequence[int]) -> list[float] | None:
    """Each candidate's share of every class under the picker's split at the pool's capacity
    (the point where its first shape's pods reach theirs, as a one-shape pool's routing is
    its split at capacity: in proportion to it); None without pods of two shapes. Whatever the
    demand up to that capacity, no pod passes its own at these shares."""
    used = ps.used(replicas)
    if len(used) < 2:
        return None
    load = min((ps.carried(replicas, b) for b in used), key=sum)
    whole = sum(load)
    return [v / whole for v in load] if whole > 0 else None


def build_pool_rows(fm: Formulation) -> None:
    """The rows of the module's rule in ``fm`` (nothing without :func:`pool_split`): per
    shape b a binary v_b, r_k <= R_k v_b for its candidates, and sum_k r_k c_b[g(k)] - M v_b
    >= D (1 + h) - M with M = D_peak (1 + h) (``fm.pool_rows``: the right-hand side is set
    per window, ``WindowModel._set``)."""
    import pulp

    ps = pool_split(fm.p)
    if ps is None:
        return
    fm.pool = ps
    p, add = fm.p, fm.add
    fm.pool_big = float(sum(p.demand)) * (1 + p.headroom)
    for b in range(len(ps.members)):
        v = fm.prob.add_variable(f"pool{b}", cat="Binary")
        fm.pool_v.append(v)
        mine = [k for k, g in enumerate(ps.group) if g == b]
        for k in mine:
            top = float(fm.peak_ub[k] * p.candidates[k].replicas_per_node)
            add([(fm.r[k], 1.0), (v, -top)], pulp.LpConstraintLE, f"pooluse{b}_{k}")
        # and v_b only where b is in use, so that the spot rows are relaxed only past the
        # capacity point of a shape that has pods
        add([(v, 1.0), *((fm.r[k], -1.0) for k in mine)], pulp.LpConstraintLE, f"poolany{b}")
        terms: list[tuple[Any, float]] = [
            (fm.r[k], ps.carry[b][g])
            for k, g in enumerate(ps.group)
            if g is not None and ps.carry[b][g] > 0
        ]
        fm.pool_rows.append(add([*terms, (v, -fm.pool_big)], pulp.LpConstraintGE, f"pool{b}"))
    _add_spot_rows(fm, ps)
    build_loss_rows(fm)


def _add_spot_rows(fm: Formulation, ps: PoolSplit) -> None:
    """spot.max_fraction's first rows (:func:`spot_row`): at no load and at each shape's
    capacity point; the other kinks' as :func:`spot_cuts` finds them broken."""
    f = fm.p.spot_max_fraction
    if f is None or f >= 1 or not any(c.capacity_type == "spot" for c in fm.p.candidates):
        return
    tops = set(ps.phis)
    for j, (phi, _) in enumerate(ps.spot_points):
        if j == 0 or phi in tops:
            spot_row(fm, ps, j)


def spot_row(fm: Formulation, ps: PoolSplit, j: int) -> list[tuple[Any, float]] | None:
    """Point ``j`` (phi, L) of :attr:`PoolSplit.spot_points` as a row of ``fm``:
    sum_k r_k L[g(k)] (spot_k - f) <= big x sum_{b: phi_b < phi} v_b (relaxed past the
    capacity point of a shape in use; big: every spot pod at its load there), recorded in
    ``fm.pool_spot`` and added to ``fm.prob``; its (variable, coefficient) terms, None when
    it has none."""
    import pulp

    p = fm.p
    f = p.spot_max_fraction
    assert f is not None
    fm.pool_spot.add(j)
    phi, per_pod = ps.spot_points[j]
    spot = [c.capacity_type == "spot" for c in p.candidates]
    coef = [
        (k, per_pod[g] * ((1.0 if spot[k] else 0.0) - f))
        for k, g in enumerate(ps.group)
        if g is not None
    ]
    big = sum(
        float(fm.peak_ub[k] * p.candidates[k].replicas_per_node) * c for k, c in coef if c > 0
    )
    if big <= 0 or not any(c for _, c in coef):
        return None
    past = [b for b, top in enumerate(ps.phis) if top < phi * (1 - TOL)]
    row = [(fm.r[k], c) for k, c in coef if c != 0] + [(fm.pool_v[b], -big) for b in past]
    fm.add(row, pulp.LpConstraintLE, f"poolspot{j}")
    return row


def run_with_cuts(model: WindowModel, time_limit: float, start: WindowSolution | None) -> str:
    """``model``'s solve (``WindowModel._run``), again after each plan that breaks spot rows
    it does not have yet (:func:`spot_cuts`, added to the built HiGHS model too), until one
    breaks none; its status. Without a pool, one run.

    ``time_limit`` is the whole loop's: each round gets the seconds left before the end it
    sets (at least ``MIN_RUN_SECONDS``), and no round starts past it. Until r2 review 39 each
    round had the whole limit again, and the rounds had no cap (up to one per kink), so k
    rounds could take k x the seconds left. A plan past the end that breaks a kink's row
    meets no rule the loop may claim: the status is then ``unknown`` (out of time without a
    plan; solve_windows keeps the window's start where it has one). Each round is one
    ``milp`` run in ``model.stats``, its ``cut_round`` its place in the loop (0 the first)."""
    from scaleplan.solve.milp.highs import add_rows, indices
    from scaleplan.solve.milp.solver import MIN_RUN_SECONDS, int_value

    end = time.perf_counter() + max(0.0, float(time_limit))
    status = model._run(time_limit, start)
    p = model.p
    rounds = 0
    while model.pool is not None and status in ("optimal", "feasible"):
        if model._highs is not None:  # HiGHS's values as _read_highs left them
            vals, ix = model._values, indices(model)
            nodes = [round(vals[i]) for i in ix["n"]]
            reps = [round(vals[i]) for i in ix["r"]]
        else:
            nodes = [int_value(v) for v in model.n]
            reps = [int_value(v) for v in model.r]
        if p.max_replicas is None:  # as WindowModel.solve reads them
            reps = p.full_replicas(nodes)
        cuts = spot_cuts(model, reps)
        if not cuts:
            break
        left = end - time.perf_counter()
        if left <= 0:  # the plan breaks a kink's spot row and no time is left to mend it
            return "unknown"
        if model._highs is not None:
            add_rows(model._highs, cuts)
        rounds += 1
        status = model._run(max(MIN_RUN_SECONDS, left), start)
        if model.stats:
            model.stats[-1] = dataclasses.replace(model.stats[-1], cut_round=rounds)
    return status


def spot_cuts(fm: Formulation, replicas: Sequence[int]) -> list[list[tuple[Any, float]]]:
    """The rows (:func:`spot_row`) of the points at which ``replicas`` break spot.max_fraction
    under the picker's split and that ``fm`` does not have yet, added to ``fm`` (each as
    (variable, coefficient) terms, for a solver model built before them); [] when none."""
    ps = fm.pool
    if ps is None:
        return []
    spot = [c.capacity_type == "spot" for c in fm.p.candidates]
    out = []
    for j, _ in ps.spot_broken(replicas, spot, fm.p.spot_max_fraction):
        if j in fm.pool_spot:
            continue
        row = spot_row(fm, ps, j)
        if row is not None:
            out.append(row)
    return out


def build_loss_rows(fm: Formulation) -> None:
    """The module's rule after each loss (:func:`loss_scenarios`), without headroom: per
    loss s and shape b, sum_k s_k c_b[g(k)] - M w >= D - M (``fm.pool_loss_rows``, the
    right-hand side set per window), s_k = r_k - q_k u_k (n+1, k the candidate lost), r_k -
    m_k (zone, k in the region: m_k its replicas in the worst zone), 0 (spot, k spot), r_k
    otherwise; w = v_b where the loss takes no pod of b, else a binary with s_k <= R_k w for
    b's candidates (b has pods left; ``fm.pool_loss_v`` with what each is, for the start
    vector)."""
    import pulp

    ps, p = fm.pool, fm.p
    assert ps is not None
    lost_var = {"nplus1": fm.u, "zone": fm.m}
    for s, (kind, ks) in enumerate(loss_scenarios(p)):
        if kind != "spot" and not lost_var[kind]:
            continue
        left: dict[int, list[tuple[Any, float]]] = {}
        for k, g in enumerate(ps.group):
            if g is None:
                continue
            if k not in ks:
                left[k] = [(fm.r[k], 1.0)]
            elif kind != "spot":
                unit = lost_unit(p.candidates[k], kind)
                left[k] = [(fm.r[k], 1.0), (lost_var[kind][k], -unit)]
        for b in range(len(ps.members)):
            mine = [k for k, g in enumerate(ps.group) if g == b]
            if not any(k in ks for k in mine):
                w = fm.pool_v[b]
            else:
                w = fm.prob.add_variable(f"poolloss{s}_{b}", cat="Binary")
                fm.pool_loss_v.append((w, b, kind, tuple(ks)))
                for k in mine:
                    if k in left:
                        top = float(fm.peak_ub[k] * p.candidates[k].replicas_per_node)
                        fm.add([*left[k], (w, -top)], pulp.LpConstraintLE, f"poollu{s}_{b}_{k}")
            coef: dict[Any, float] = {}  # one term per variable (PuLP keeps the last)
            for k, terms in left.items():
                c = ps.carry[b][ps.group[k]]  # type: ignore[index]
                for var, a in terms:
                    coef[var] = coef.get(var, 0.0) + a * c
            row = [(var, a) for var, a in coef.items() if a != 0]
            name = f"poollossrow{s}_{b}"
            fm.pool_loss_rows.append(
                fm.add([*row, (w, -fm.pool_big)], pulp.LpConstraintGE, name)
            )


def set_pool_rows(fm: Formulation, total: float) -> None:
    """Point :func:`build_pool_rows`'s rows at a window's total demand."""
    for con in fm.pool_rows:
        con.constant = fm.pool_big - total * (1 + fm.p.headroom)
    for con in fm.pool_loss_rows:
        con.constant = fm.pool_big - total
