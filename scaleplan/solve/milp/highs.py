"""HiGHS's side of the window model re-solved per window (:class:`~.model.WindowModel`).

PuLP builds HiGHS's model once, from the first window; after that each window's column bounds,
row bounds and u_k's coefficients go to HiGHS directly (:func:`push`), and a plan to start from
as its columns (:func:`give_start`). highspy and numpy only: PuLP's objects are read for their
indices once (:func:`indices`) and for the rows' right-hand sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scaleplan.solve.milp.model import WindowModel
    from scaleplan.solve.milp.window import WindowSolution


def push(m: WindowModel) -> None:
    """Copy what ``m._set`` pointed the model at into the highspy model PuLP built: every
    row's bounds, the columns' bounds (``m._cols``) and u_k's big-M and need coefficients
    where they changed since the last push."""
    import highspy
    import numpy as np

    h = m._highs
    inf = highspy.kHighsInf
    rows = [
        *m.route.values(), *m.spot.values(), *m.loss_route.values(),
        *(c for _, c in m.class_rows), *m.total_rows, *(c for c, _ in m.cap_rows), m.cutoff_row,
        *([m.any_row] if m.any_row is not None else []),
    ]
    for con in rows:
        lb, ub = con.getLb(), con.getUb()
        lb = -inf if lb is None or lb <= -1e29 else lb
        ub = inf if ub is None or ub >= 1e29 else ub
        h.changeRowBounds(con.index, lb, ub)
    ix = indices(m)
    lo, top = m._cols
    lows = [n for n, _ in lo] + [r for _, r in lo] + [0] * len(m.m)
    highs = top + [t * q for t, q in zip(top, m._rpn, strict=True)] + (top if m.m else [])
    cols, f64 = ix["cols"], np.float64
    h.changeColsBounds(len(cols), cols, np.array(lows, dtype=f64), np.array(highs, dtype=f64))
    # the big-M and need coefficients of u_k, only where they changed since the last push
    # (a window MILP of the zone case had 240 of them, most the same as the window before)
    pushed, u = m._coeffs, ix["u"]
    coefs = [(r, k, -float(top[k])) for k, r in enumerate(ix["used"])]
    coefs += [(ix["need"][k], k, v) for k, v in m._need.items()]
    for row, k, v in coefs:
        if pushed.get((row, k)) != v:
            h.changeCoeff(row, u[k], v)
            pushed[row, k] = v


def indices(m: WindowModel) -> dict[str, Any]:
    """HiGHS's indices of the columns and rows :func:`push` and :func:`give_start` change
    (fixed once PuLP has built HiGHS's model), and the candidates' zones."""
    import numpy as np

    ix = m._index
    if not ix:
        ix["cols"] = np.array([v.index for v in (*m.n, *m.r, *m.m)], dtype=np.int32)
        ix["u"] = [v.index for v in m.u]
        ix["used"] = [con.index for con in m.used]
        ix["need"] = {k: con.index for k, con in m.need_rows.items()}
        ix["start"] = np.array([v.index for v in (*m.n, *m.r, *m.u, *m.m)], dtype=np.int32)
        ix["zones"] = np.array([c.zones for c in m.p.candidates], dtype=np.float64)
    return ix


def give_start(m: WindowModel, start: WindowSolution) -> None:
    """Hand HiGHS a feasible plan (its integer columns) as the incumbent to start from.

    HiGHS completes the continuous columns (theta, losses, routing) itself and checks the
    plan; one it finds infeasible is ignored. A start changes where the search begins, not
    the model, so the optimum and its proof are the same (with the cutoff, dearer node
    types are already fixed to 0; the start lets HiGHS fix more by reduced cost at the root
    and skip the search for a first plan).
    """
    import numpy as np

    ix = indices(m)
    nodes = np.array(start.nodes, dtype=np.float64)
    vals = [nodes, np.array(start.replicas, dtype=np.float64)]
    if m.u:
        vals.append((nodes > 0).astype(np.float64))
    if m.m:
        vals.append(np.ceil(nodes / ix["zones"]))
    m._highs.setSolution(len(ix["start"]), ix["start"], np.concatenate(vals))
