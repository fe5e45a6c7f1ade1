"""Children that must obey a real SIGINT.

A test run started in the background (``pytest &``, ``nohup``, some CI runners) has SIGINT
ignored, and children inherit that: Python then installs no KeyboardInterrupt handler and the
Ctrl-C tests' signal is lost. ``preexec_fn=sigint_default`` gives the child the default
disposition, so it starts as it would from a terminal.
"""

from __future__ import annotations

import signal
from typing import Any


def sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def market_split() -> Any:
    """A market-split MILP (Cornuejols and Dawande: five equality rows over 40 binaries) that
    keeps HiGHS busy for minutes: the Ctrl-C tests' solve, in a child or in this process."""
    import random

    import highspy

    rng = random.Random(1)
    m, n = 5, 40
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", 120.0)
    x = [h.addBinary() for _ in range(n)]
    over = [h.addVariable(lb=0) for _ in range(m)]
    under = [h.addVariable(lb=0) for _ in range(m)]
    for i in range(m):
        a = [rng.randint(0, 99) for _ in range(n)]
        h.addConstr(sum(a[j] * x[j] for j in range(n)) + over[i] - under[i] == sum(a) // 2)
    h.setObjective(sum(over) + sum(under), highspy.ObjSense.kMinimize)
    return h
