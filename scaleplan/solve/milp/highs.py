"""HiGHS's side of the window model re-solved per window (:class:`~.model.WindowModel`).

PuLP builds HiGHS's model once, from the first window; after that each window's column bounds,
row bounds and u_k's coefficients go to HiGHS directly (:func:`push`), and a plan to start from
as its columns (:func:`give_start`). highspy and numpy only: PuLP's objects are read for their
indices once (:func:`indices`) and for the rows' right-hand sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.solve.milp.window import zone_lost

if TYPE_CHECKING:
    from scaleplan.solve.milp.model import WindowModel
    from scaleplan.solve.milp.window import WindowSolution


def add_rows(h: Any, rows: Sequence[Sequence[tuple[Any, float]]]) -> None:
    """Add rows sum coef x var <= 0 (PuLP variables of the model ``h`` was built from) to
    the highspy model ``h`` after it was built (``pool.spot_cuts``)."""
    import highspy
    import numpy as np

    for row in rows:
        idx = np.array([v.index for v, _ in row], dtype=np.int32)
        val = np.array([c for _, c in row], dtype=np.float64)
        h.addRow(-highspy.kHighsInf, 0.0, len(row), idx, val)


def push(m: WindowModel) -> None:
    """Copy what ``m._set`` pointed the model at into the highspy model PuLP built: every
    row's bounds, the columns' bounds (``m._cols``), u_k's big-M and need coefficients and
    the type rows' M_k (t_T's coefficient, the node bound) where they changed since the last
    push."""
    import highspy
    import numpy as np

    h = m._highs
    inf = highspy.kHighsInf
    rows = [
        *m.route.values(), *m.spot.values(), *m.loss_route.values(),
        *(c for _, c in m.class_rows), *m.total_rows, *(c for c, _ in m.cap_rows), m.cutoff_row,
        *m.pool_rows, *m.pool_loss_rows,
        *([m.any_row] if m.any_row is not None else []),
    ]
    for con in rows:
        lb, ub = con.getLb(), con.getUb()
        lb = -inf if lb is None or lb <= -1e29 else lb
        ub = inf if ub is None or ub >= 1e29 else ub
        h.changeRowBounds(con.index, lb, ub)
    for row, ub in m.swap_rows:  # active in the floors' branch and bound's window MILPs
        h.changeRowBounds(row, -inf, ub if m.swaps_on else inf)
    if m.cost_floor is not None:  # the tie-break's solve: the cost held from below too
        h.changeRowBounds(m.cutoff_row.index, m.cost_floor, -m.cutoff_row.constant)
    ix = indices(m)
    lo, top = m._cols
    lows = [n for n, _ in lo] + [r for _, r in lo] + [0] * len(m.m)
    highs = top + [t * q for t, q in zip(top, m._rpn, strict=True)]
    highs += m.zone_bounds(top) if m.m else []
    cols, f64 = ix["cols"], np.float64
    h.changeColsBounds(len(cols), cols, np.array(lows, dtype=f64), np.array(highs, dtype=f64))
    # the big-M and need coefficients of u_k, only where they changed since the last push
    # (a window MILP of the zone case had 240 of them, most the same as the window before),
    # in a fixed order: the used rows by candidate, the need rows, then the type rows by
    # candidate; compared as arrays (NaN: never pushed; a need row this window leaves out
    # keeps its coefficient)
    rows, cols_of = ix["coef_rows"], ix["coef_cols"]
    if not len(rows):
        return
    used = -np.asarray(top, dtype=f64) if len(ix["used"]) else np.zeros(0)
    need = np.array([m._need.get(k, np.nan) for k in ix["need_keys"]], dtype=f64)
    types = -np.maximum(np.asarray(top, dtype=f64), 1.0) if m.type_rows else np.zeros(0)
    vals = np.concatenate([used, need, types])
    pushed = m._coeffs
    if pushed is None:
        pushed = m._coeffs = np.full(len(vals), np.nan)
    for i in np.flatnonzero(~np.isnan(vals) & (vals != pushed)).tolist():
        v = float(vals[i])
        h.changeCoeff(rows[i], cols_of[i], v)
        pushed[i] = v


def indices(m: WindowModel) -> dict[str, Any]:
    """HiGHS's indices of the columns and rows :func:`push` and :func:`give_start` change
    (fixed once PuLP has built HiGHS's model)."""
    import numpy as np

    ix = m._index
    if not ix:
        ix["cols"] = np.array([v.index for v in (*m.n, *m.r, *m.m)], dtype=np.int32)
        ix["u"] = [v.index for v in m.u]
        ix["used"] = [con.index for con in m.used]
        ix["need"] = {k: con.index for k, con in m.need_rows.items()}
        ix["need_keys"] = list(m.need_rows)
        # every coefficient push may change: (row, column), the used rows and need rows (u_k)
        # then the type rows (t_T)
        ix["coef_rows"] = [
            *ix["used"], *(ix["need"][k] for k in ix["need_keys"]),
            *(row.index for row, _ in m.type_rows),
        ]
        ix["coef_cols"] = [
            *(ix["u"][k] for k in range(len(ix["used"]))),
            *(ix["u"][k] for k in ix["need_keys"]), *(t.index for _, t in m.type_rows),
        ]
        ix["n"] = [v.index for v in m.n]
        ix["r"] = [v.index for v in m.r]
        spread = [v for ab in m.spread.values() for v in ab]  # (a_k, b_k) by candidate
        cols = (*m.n, *m.r, *m.u, *m.m, *m.pool_v, *(w for w, *_ in m.pool_loss_v), *m.tv, *spread)
        ix["start"] = np.array([v.index for v in cols], dtype=np.int32)
        od = [c.capacity_type == "on-demand" for c in m.p.candidates]
        ix["od"] = np.array(od, dtype=np.float64)
        # routing: service (the even model): theta and the loss column (n+1 or zone) are its
        # only continuous columns (and zone's W columns the only integer ones a start does not
        # hold), so a start can give every column (:func:`give_start`)
        cont = [v for v in (m.theta, m.lost, *m.whole) if v is not None]
        ncol = m._highs.getNumCol()
        full = m.p.even and m.theta is not None and len(ix["start"]) + len(cont) == ncol
        ix["cont"] = np.array([v.index for v in cont], dtype=np.int32) if full else None
        ix["rpn"] = np.array(m._rpn, dtype=np.float64)
        keys = [(c.row.provider, c.row.region) for c in m.p.candidates]
        at = {reg: i for i, reg in enumerate(sorted(set(keys)))}
        ix["region"] = np.array([at[key] for key in keys], dtype=np.int64)
    return ix


def give_start(m: WindowModel, start: WindowSolution) -> None:
    """Hand HiGHS a feasible plan (its integer columns) as the incumbent to start from.

    The even model (routing: service) gets every column: theta, the largest need of a type in
    use (the need rows' coefficients of this window, ``m._need``), and the replicas lost with
    the largest node in use (n+1) or with the worst zone of a region (zone: ceil(r_k/Z_k)
    replicas of each type there, ``window.zone_lost``), the least values its rows allow, so
    HiGHS only checks the plan (until 2026-12-06 it presolved and solved an LP to complete those
    two columns, ~0.3-1.6 ms a run; the zone case of ``bench/solve_bench.py`` hands ~90 starts).
    Elsewhere HiGHS completes the continuous columns (losses, routing) itself. Either way a plan
    it finds infeasible is ignored (a full start that misses a row by more than HiGHS's
    tolerance goes through that completion first). A start changes where the search begins, not
    the model, so the optimum and its proof are the same (with the cutoff, dearer node types are
    already fixed to 0; the start lets HiGHS fix more by reduced cost at the root and skip the
    search for a first plan).
    """
    cols, vals = start_vector(m, start)
    m._highs.setSolution(len(cols), cols, vals)


def start_vector(m: WindowModel, start: WindowSolution) -> tuple[Any, Any]:
    """HiGHS's column indices and values of ``start`` (:func:`give_start`): its integer
    columns and, in the even model, theta and the loss column too."""
    import numpy as np

    ix = indices(m)
    nodes = np.array(start.nodes, dtype=np.float64)
    vals = [nodes, np.array(start.replicas, dtype=np.float64)]
    used = (nodes > 0).astype(np.float64)
    if m.u:
        vals.append(used)
    reps = np.array(start.replicas, dtype=np.float64)
    # m_k: the replicas of k its worst zone holds (window.zone_lost)
    lost_z = [float(zone_lost(c, r)) for c, r in zip(m.p.candidates, start.replicas, strict=True)]
    per_zone = np.array(lost_z if m.m else [0.0] * len(nodes), dtype=np.float64)
    if m.m:
        vals.append(per_zone)
    if m.pool is not None and m.pool_v:  # a pool shape is in use when any of its pods is
        used_shapes = m.pool.used(start.replicas)
        vals.append(np.array([float(b in used_shapes) for b in range(len(m.pool_v))]))
    if m.pool is not None and m.pool_loss_v:  # a shape has pods left after a loss
        vals.append(np.array(_left_after(m, m.pool, start, used, per_zone)))
    if m.tv:  # placement.max_instance_types: a type is in use when any of its nodes is
        vals.append(np.array(m.type_values(start.nodes), dtype=np.float64))
    if m.spread:  # zone spread: a_k = n_k // Z_k nodes in every zone, b_k = n_k mod Z_k
        cands = m.p.candidates
        ab = [float(v) for k in m.spread for v in divmod(int(start.nodes[k]), cands[k].zones)]
        vals.append(np.array(ab, dtype=np.float64))
    cols = ix["start"]
    if ix["cont"] is not None:
        theta = max([-c for k, c in m._need.items() if nodes[k] > 0], default=0.0)
        cont = [max(0.0, theta)]
        if m.lost is not None:
            if m.m:  # zone: the region whose worst zone holds the most replicas
                lost = np.bincount(ix["region"], weights=per_zone).max()
            else:  # n+1: the largest node in use
                lost = float((ix["rpn"] * used).max(initial=0.0))
            cont.append(float(lost))
            if m.whole:  # zone: W_0 = R, W_1 = R - L, W_2 = R_on-demand (even.build_even)
                whole = [reps.sum(), reps.sum() - lost, float(reps @ ix["od"])]
                cont += whole[: len(m.whole)]
        vals.append(np.array(cont, dtype=np.float64))
        cols = np.concatenate([cols, ix["cont"]])
    return cols, np.concatenate(vals)


def _left_after(
    m: WindowModel, ps: Any, start: WindowSolution, used: Any, per_zone: Any
) -> list[float]:
    """Per :func:`scaleplan.solve.milp.pool.build_loss_rows` binary, 1 when its shape has pods
    left after its loss with ``start``'s counts (the loss columns at ``used`` / ``per_zone``)."""
    rpn = [c.replicas_per_node for c in m.p.candidates]
    out = []
    for _, b, kind, ks in m.pool_loss_v:
        left = 0.0
        for k, g in enumerate(ps.group):
            if g != b:
                continue
            r = float(start.replicas[k])
            if k in ks:
                lost = used[k] * rpn[k] if kind == "nplus1" else per_zone[k]
                r = 0.0 if kind == "spot" else r - lost
            left = max(left, r)
        out.append(float(left > 0))
    return out
