"""scaleplan.solve: the optimizer (candidates, queueing derating, the integer program, plans).

``solve(spec, profile, catalog, options=SolveOptions())`` returns a :class:`SolveResult` whose
``plan`` is a :class:`scaleplan.plan.Plan`; it raises :class:`scaleplan.errors.InfeasibleError`
with reasons in the spec's terms when no plan exists. See docs/optimizer.md and
docs/architecture.md (which module owns which job).
"""

from scaleplan.solve.core import SolveResult, solve, solve_demand
from scaleplan.solve.problem import SolveOptions

__all__ = ["SolveOptions", "SolveResult", "solve", "solve_demand"]
