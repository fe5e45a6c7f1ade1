"""Shared solver plumbing: which solver, its options, running HiGHS interruptibly, run stats.

:func:`make_solver` configures HiGHS (default) or CBC for a MILP, :func:`lp_solver` HiGHS for
the small routing LPs; :func:`run_interruptible` runs HiGHS so that Ctrl-C stops it and
reaches Python; :class:`SolveStat` records each run (``optimize --json``). The tolerances the
formulations and the checks share live here too.
"""

from __future__ import annotations

import functools
import shutil
import weakref
from dataclasses import dataclass
from typing import Any, Literal

SolverName = Literal["highs", "cbc"]
COST_TOL = 1e-6
# HiGHS's relative gap for a window MILP: its plan's cost is proven within this share of the
# least cost (the report says so where a baseline costs less than an optimal plan)
MIP_REL_GAP = 1e-7
FEAS_TOL = 1e-7  # absolute slack (requests/s) allowed when re-checking a plan for a busier window


@dataclass(frozen=True)
class SolveStat:
    """One solver run: the model's size and how long the solver took (``optimize --json``)."""

    kind: str  # milp (a window's plan) | lp (routing over a fixed plan)
    rows: int
    columns: int
    integers: int
    nonzeros: int
    seconds: float
    status: str
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile (HiGHS runs in it; CBC does not)
    # milp: its place in the window's spot-cut loop (pool.run_with_cuts; 0 the first)
    cut_round: int = 0


def pulp_stat(kind: str, prob: Any, seconds: float, status: str, cpu: float) -> SolveStat:
    cols = prob.variables()
    rows = prob._constraints  # not PuLP's ``constraints``: as a mapping it warns (deprecated)
    nz = sum(len(c) for c in rows.values())
    return SolveStat(kind, len(rows), len(cols), sum(1 for v in cols if v.cat == "Integer"), nz, seconds, status, cpu)


# the least time limit a solver is given (a run past --time-limit is not started: solve_windows'
# windows keep their start instead, docs/optimizer.md "Time limit"); until 2026-12-06 every
# run had at least 1 s, so each window past the limit ran 1 s more
MIN_RUN_SECONDS = 0.01


def make_solver(name: SolverName, time_limit: float, gap_rel: float = MIP_REL_GAP, gap_abs: float | None = None, *, restart: bool = True, reliable: bool = True) -> Any:
    import pulp

    tl = max(MIN_RUN_SECONDS, float(time_limit))
    if name == "cbc":
        path = shutil.which("cbc") or pulp.PULP_CBC_CMD.pulp_cbc_path
        return pulp.COIN_CMD(msg=False, timeLimit=tl, gapRel=gap_rel, gapAbs=gap_abs, path=path)
    # HiGHS's root reduced-cost heuristic (a sub-MIP over the columns the root LP favours) took
    # 30-45 % of the solve on the Mélange anchor and the zone cases and never found the plan
    # first there; feasibility jump costs every MILP a fixed ~7 ms of CPU and ~20 ms of wall
    # clock however small (0.7 ms without it on a 4-column MILP), four of them in a two-type
    # plan (docs/benchmarks/speed.md). ``restart`` False: no restarts (presolve again once the
    # root fixed some 10-40 % of the integer columns, then redo the root's cuts and sub-MIPs):
    # they ran 3-5 times per window MILP of the zone models (121 candidates under routing:
    # service) and cost a fifth of that search, where the small n+1 models of the 168-window
    # case ran 30 % slower without them (docs/benchmarks.md). ``reliable`` False: branch on
    # pseudocosts without first strong-branching each column (mip_pscost_minreliable 0): on the
    # zone models the strong branching was half the LP iterations of a window proof, and their
    # search ran ~15 % faster without it (docs/benchmarks/optimizer.md). None changes a proof,
    # only the search
    return _highs_class()(
        msg=False,
        timeLimit=tl,
        gapRel=gap_rel,
        gapAbs=gap_abs,
        mip_heuristic_run_root_reduced_cost=False,
        mip_heuristic_run_feasibility_jump=False,
        mip_allow_restart=restart,
        **({} if reliable else {"mip_pscost_minreliable": 0}),
    )


def run_interruptible(h: Any) -> None:
    """Run HiGHS so that Ctrl-C stops it and reaches Python as a KeyboardInterrupt.

    ``Highs.run()`` holds the main thread inside C++ for the whole solve, so SIGINT waited for
    it (over 40 s seen); highspy's own ``solve()`` swallows the KeyboardInterrupt. HiGHS asks
    its interrupt callbacks (simplex, IPM and MIP) whether to stop, through Python. In the main
    thread, under a SIGINT handler that raises KeyboardInterrupt (Python's, or the CLI's
    ``interrupts.watch_sigint``), the solve runs there under a handler that only records the
    signal (it runs when HiGHS next calls back into Python, where a check subscribed once per
    model then stops HiGHS); once HiGHS has returned, the handler it replaced runs and raises.
    Anywhere else HiGHS runs in its own thread while this one polls (:func:`_run_in_thread`).
    Until 2026-12-06 every run took that second way: a thread per run and highspy's reset of
    HiGHS's task scheduler after it, ~0.7 ms of CPU each (the zone case of
    ``bench/solve_bench.py`` solves ~130 window MILPs). Either way HiGHS stops at its next
    interrupt callback.
    """
    import signal
    import threading

    from scaleplan.interrupts import raises_interrupt

    before = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not raises_interrupt(before):
        _run_in_thread(h)
        return
    check = _stop_check(h)
    check.stop = False
    seen: list[tuple[int, Any]] = []

    def record(signum: int, frame: Any) -> None:
        check.stop = True
        seen.append((signum, frame))

    signal.signal(signal.SIGINT, record)
    try:
        h.run()
    finally:
        signal.signal(signal.SIGINT, before)
    if seen and callable(before):
        before(*seen[0])  # raises KeyboardInterrupt, as it would have


class _StopCheck:
    """Stops one HiGHS model at its next interrupt callback (simplex, IPM, MIP) once ``stop``
    is set; subscribed to them once per model (:func:`_stop_check`)."""

    __slots__ = ("stop",)

    def __init__(self) -> None:
        self.stop = False

    def __call__(self, event: Any) -> None:
        if self.stop:
            event.interrupt()


# each HiGHS model's check, ours, not an attribute set on highspy's object; held while the model
# lives (a check holds no reference to its model, so the entry goes with it)
_CHECKS: weakref.WeakKeyDictionary[Any, _StopCheck] = weakref.WeakKeyDictionary()


def _stop_check(h: Any) -> _StopCheck:
    """``h``'s stop check, subscribed to its interrupt callbacks the first time (highspy keeps
    every subscription: one per run would call a copy per re-solve)."""
    check = _CHECKS.get(h)
    if check is None:
        check = _CHECKS[h] = _StopCheck()
        for cb in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            cb.subscribe(check)
    return check


def _run_in_thread(h: Any) -> None:
    """HiGHS in its own (daemon) thread while this one polls, so that Ctrl-C reaches Python
    within 0.1 s: on it, ask HiGHS to stop (user-interrupt callback), wait for its thread to
    return (an interpreter that exits while HiGHS still runs aborts with "terminate called
    without an active exception": exit 134 instead of 130) and re-raise."""
    if not h.HandleUserInterrupt:  # its setter subscribes the interrupt check again on every
        # call: a window model re-solved 110 times ran 110 copies of it per callback
        h.HandleUserInterrupt = True
    h.startSolve()
    try:
        while not h.wait(0.1)[0]:
            pass
    except KeyboardInterrupt:
        h.cancelSolve()
        h.wait(10.0)
        raise


def lp_solver() -> Any:
    return _highs_class()(msg=False, timeLimit=60.0)


@functools.cache
def _highs_class() -> Any:
    """``pulp.HiGHS`` with its model built by :func:`build_highs` (the same HiGHS model, in
    a few highspy calls)."""
    import pulp

    class HiGHS(pulp.HiGHS):  # type: ignore[misc]
        def buildSolverModel(self, lp: Any) -> None:
            build_highs(lp.solverModel, lp, mip=self.mip)

    return HiGHS


def build_highs(h: Any, lp: Any, *, mip: bool = True) -> None:
    """PuLP's ``pulp.HiGHS.buildSolverModel`` (PuLP 3.3) batched: the columns in
    ``lp.variables()`` order (by name) with their objective coefficients and bounds, the
    integer ones marked when ``mip``, then the rows in ``lp.constraints`` order with their
    nonzero coefficients in each row's order and its bounds; each variable's and row's
    ``index`` set as PuLP sets it. The highspy model ``h`` holds the same arrays as PuLP's
    one-call-per-column-and-row build (``tests/test_solve_highs_build.py`` compares them),
    so HiGHS runs the same solve. PuLP's took ~60 ms for a zone window model (119
    candidates, ~600 columns: ~1,200 highspy calls), built twice per zone solve of
    ``bench/solve_bench.py``, and ~0.3 ms for each of the ~360 routing LPs of its
    gateway-api zone case."""
    import highspy
    import numpy as np
    from pulp import constants

    inf = highspy.kHighsInf
    sign = -1 if lp.sense == constants.LpMaximize else 1
    cols = lp.variables()
    obj = lp.objective
    for i, v in enumerate(cols):
        v.index = i
    n = len(cols)
    cost = np.array([sign * obj.get(v, 0.0) for v in cols], dtype=np.float64)
    lower = np.array([-inf if v.lowBound is None else v.lowBound for v in cols], dtype=np.float64)
    upper = np.array([inf if v.upBound is None else v.upBound for v in cols], dtype=np.float64)
    if n:
        none = np.zeros(0, dtype=np.int32)
        h.addCols(n, cost, lower, upper, 0, np.zeros(n, dtype=np.int32), none, np.zeros(0))
    ints = [i for i, v in enumerate(cols) if v.cat == constants.LpInteger] if mip else []
    if ints:
        kind = np.full(len(ints), highspy.HighsVarType.kInteger)
        h.changeColsIntegrality(len(ints), np.array(ints, dtype=np.int32), kind)
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    lows: list[float] = []
    ups: list[float] = []
    for i, con in enumerate(lp._constraints.values()):
        starts.append(len(index))
        for var, coef in con.items():
            if coef != 0:
                index.append(var.index)
                value.append(coef)
        con.index = i
        lb, ub = con.getLb(), con.getUb()
        lows.append(-inf if lb is None else lb)
        ups.append(inf if ub is None else ub)
    if lows:
        h.addRows(
            len(lows), np.array(lows, dtype=np.float64), np.array(ups, dtype=np.float64),
            len(index), np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )


def int_value(v: Any) -> int:
    val = v.value()
    return 0 if val is None else round(val)
