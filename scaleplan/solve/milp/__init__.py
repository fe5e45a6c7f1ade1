"""The per-window mixed-integer program (PuLP; HiGHS by default, CBC as fallback).

Every constraint in the formulation is per time window except the budget (a mean over
windows), so windows are solved independently and the budget is checked afterwards (the sum
of per-window optima is the optimum of the mean). See docs/optimizer.md for the formulation.

The only PuLP user in scaleplan, one module per job: ``window`` the problem and solution of
one window (plain data) and the per-candidate needs and node bounds; ``solver`` the solver
choice and options, the interruptible HiGHS run and the run statistics; ``formulation`` the
variables, objective and routing-free rows; ``even`` the even-split model (routing: service);
``weighted`` the weighted model (routing: gateway-api) and its balanced-routing LP; ``model``
the model re-solved per window and the search over a day's windows; ``highs`` what each window
changes in HiGHS's copy of that model, and the plan it starts from. PuLP is imported only
inside functions, so importing this package stays light.
"""

from scaleplan.solve.milp.even import even_feasible
from scaleplan.solve.milp.model import WindowModel, solve_window, solve_windows
from scaleplan.solve.milp.solver import SolverName, SolveStat, make_solver, run_interruptible
from scaleplan.solve.milp.window import QuotaScope, WindowProblem, WindowSolution

__all__ = [
    "QuotaScope",
    "SolveStat",
    "SolverName",
    "WindowModel",
    "WindowProblem",
    "WindowSolution",
    "even_feasible",
    "make_solver",
    "run_interruptible",
    "solve_window",
    "solve_windows",
]
