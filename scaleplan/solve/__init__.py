"""scaleplan.solve: the optimizer (candidates, queueing derating, the integer program, plans).

``solve(spec, profile, catalog, options=SolveOptions())`` returns a :class:`SolveResult` whose
``plan`` is a :class:`scaleplan.plan.Plan`; it raises :class:`scaleplan.errors.InfeasibleError`
with reasons in the spec's terms when no plan exists. See docs/optimizer.md.
"""

from scaleplan.solve.core import SolveOptions, SolveResult, solve, solve_demand

__all__ = ["SolveOptions", "SolveResult", "solve", "solve_demand"]
