"""The window MILP's shared formulation: variables, objective and the routing-free rows.

:class:`Formulation` builds, for one candidate list, the node and replica variables
(n_k, r_k), the routing variables y_ck (weighted routing only), the objective (the cost;
the tie-break is ``tiebreak.break_tie``'s second MILP), packing, replica bounds and quotas,
and holds the handles of every row whose right-hand side or coefficients change per window. The routing rules come from
``even.build_even`` (routing: service) or ``weighted.build_weighted`` (routing: gateway-api).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.solve.milp.window import WindowProblem, node_bounds, type_key, zone_spread

if TYPE_CHECKING:
    from scaleplan.solve.milp.pool import PoolSplit


class Formulation:
    """The PuLP model of one candidate list and the handles the per-window updates change.

    ``p.demand`` is the largest demand the model will be asked about (the peak window): it
    decides which classes are active and whether the exact single-class n+1/zone forms apply.
    """

    def __init__(self, p: WindowProblem, *, tie_break: bool) -> None:
        import pulp

        self.p = p
        self.tie_break = tie_break
        cands = p.candidates
        K = len(cands)
        self.K = K
        peak_ub = node_bounds(p, p.demand)
        prob = pulp.LpProblem("window", pulp.LpMinimize)
        self.prob = prob
        # a replica floor (WindowProblem.floors) is a lower bound on r_k and on n_k
        lo_r = [p.floors[k] if p.floors else 0 for k in range(K)]
        peak_ub = [max(peak_ub[k], p.floor_nodes(k)) for k in range(K)]
        self.peak_ub = peak_ub
        self.n = [prob.add_variable(f"n{k}", lowBound=p.floor_nodes(k), upBound=peak_ub[k],
            cat="Integer") for k in range(K)]
        self.r = [prob.add_variable(f"r{k}", lowBound=lo_r[k],
            upBound=peak_ub[k] * cands[k].replicas_per_node, cat="Integer") for k in range(K)]
        self.active = [ci for ci, d in enumerate(p.demand) if d > 0]
        self.single = len(self.active) == 1
        self.y: dict[tuple[int, int], Any] = {}
        for ci in self.active if not p.even else []:
            cls = p.classes[ci]
            for k in range(K):
                if cands[k].cap(cls):
                    self.y[ci, k] = prob.add_variable(f"y{ci}_{k}", lowBound=0)
        self.cost_expr = pulp.LpAffineExpression([(self.n[k], cands[k].price) for k in range(K)])
        # the cost alone: the tie-break is a second MILP with the cost held (tiebreak.break_tie)
        prob.setObjective(self.cost_expr)
        # redundancy: zone, q > 1: per candidate (a_k, b_k), its nodes in every zone and the
        # zones with one more (``_add_spread``)
        self.spread: dict[int, tuple[Any, Any]] = {}
        self._add_bounds()
        self.route: dict[int, Any] = {}
        self.spot: dict[int, Any] = {}
        self.spot_share = 0.0
        if p.spot_max_fraction is not None and p.spot_max_fraction < 1:
            self.spot_share = 1 - p.spot_max_fraction
        # survive_spot_loss without backend groups: the rows sum_k z_ck = D_c (per window) of
        # the routing z_ck of the demand over the on-demand candidates once spot is lost
        self.loss_route: dict[int, Any] = {}
        # inference-pool, several classes, n+1 / zone: (class, row sum_j z^s_cj = D_c) of every
        # loss scenario s's routing (``weighted._add_pool_losses``), per window
        self.class_rows: list[tuple[int, Any]] = []
        self.total_rows: list[Any] = []  # rows whose right-hand side is the total demand
        # routing: service: capacity cuts (row, factor): sum_k mcap_k x_k >= factor x total demand
        # with mcap_k the requests/s a replica of k takes at the traffic's class mix
        self.cap_rows: list[tuple[Any, float]] = []
        self.mcap: list[float] = []
        # mcap and the cuts' coefficients as built (the peak's mix): every window rescales from
        # these (a window without demand has mcap 0, which must not carry to the next)
        self.cap_base: tuple[list[float], list[dict[Any, float]]] | None = None
        self.used: list[Any] = []
        self.need_rows: dict[int, Any] = {}
        self.any_row: Any = None
        self.u: list[Any] = []
        self.m: list[Any] = []
        self.theta: Any = None
        # routing: service: the replicas lost with the largest node (n+1, q_lost) or the worst
        # zone of a region (zone, zone_lost); None otherwise
        self.lost: Any = None
        # routing: service, zone: the integer columns between theta and R (``even.build_even``)
        self.whole: list[Any] = []
        # the floors' branch and bound's region exchange rows (``scaleplan.solve.regionswap``,
        # HiGHS only): its twins, HiGHS's (row, upper bound) of each row added, and whether
        # they hold now (``highs.push``)
        self.swaps: Any = None
        self.swap_rows: list[tuple[int, float]] = []
        self.swaps_on = False
        # routing: inference-pool over several pod shapes (``pool.build_pool_rows``): the
        # shapes, a binary per shape in use, the rows whose right-hand side is set per window
        # and their big-M
        self.pool: PoolSplit | None = None
        self.pool_v: list[Any] = []
        self.pool_rows: list[Any] = []
        # the same after each loss (``pool.build_loss_rows``): per binary (column, shape, kind
        # of loss, the candidates it takes pods of), and the rows
        self.pool_loss_v: list[tuple[Any, int, str, tuple[int, ...]]] = []
        self.pool_loss_rows: list[Any] = []
        self.pool_big = 0.0
        # its spot rows (``pool.spot_row``) by point of ``PoolSplit.spot_points``: those at no
        # load and at each shape's capacity point from the start, the others as a solution
        # breaks them (``pool.spot_cuts``)
        self.pool_spot: set[int] = set()
        # placement.max_instance_types: a binary per instance type (``type_key``), 1 when any
        # of its candidates has nodes in this window
        self.tv: list[Any] = []
        # and per candidate k its row n_k <= M_k t_T and t_T, M_k set per window (``_set``)
        self.type_rows: list[tuple[Any, Any]] = []
        self._add_type_cap()
        # the tie-break's second MILP (``tiebreak.break_tie``, HiGHS): the least cost the first
        # proved, a lower bound on the cutoff row (valid for every plan: it only helps HiGHS's
        # bound); None otherwise
        self.cost_floor: float | None = None

    def add(self, expr: list[tuple[Any, float]], sense: int, name: str) -> Any:
        """Add the row ``expr sense 0`` (set ``.constant`` for a right-hand side); return it."""
        import pulp

        con = pulp.LpConstraint(pulp.LpAffineExpression(expr), sense, name, 0.0)
        self.prob.addConstraint(con, name)
        return con

    def _add_bounds(self) -> None:
        """Packing (replicas per node), min/max replicas and the GPU quotas."""
        import pulp

        p, cands, add = self.p, self.p.candidates, self.add
        LE, GE = pulp.LpConstraintLE, pulp.LpConstraintGE
        # without max_replicas, every node runs its full replicas_per_node (more replicas never
        # hurt: every row is monotone in r), so r = q n exactly and presolve substitutes r out
        pack = LE if p.max_replicas is not None else pulp.LpConstraintEQ
        for k in range(self.K):
            if zone_spread(cands[k], p.redundancy):
                self._add_spread(k, pack)
                continue
            add([(self.r[k], 1.0), (self.n[k], -float(cands[k].replicas_per_node))], pack,
                f"pack{k}")
        if p.min_replicas > 0:
            add([(v, 1.0) for v in self.r], GE, "min_replicas").constant = -float(p.min_replicas)
        if p.max_replicas is not None:
            add([(v, 1.0) for v in self.r], LE, "max_replicas").constant = -float(p.max_replicas)
        for qi, q in enumerate(p.quotas):
            add([(self.n[k], float(q.per_node(cands[k]))) for k in q.members], LE,
                f"quota{qi}").constant = -float(q.limit)

    def _add_spread(self, k: int, pack: int) -> None:
        """Packing under the enforced zone spread (``window.replicas_on``): candidate k's
        replicas go evenly over its Z zones (maxSkew 1), and nodes hold only their own zone's,
        so n_k = Z a_k + b_k nodes (a_k in every zone, one more in b_k <= Z - 1 of them) run
        r_k <= q Z a_k + b_k replicas: a zone with a node more than the others holds at most
        one replica more, one on that node. The fewest nodes for r replicas, sum over zones of
        ceil(r_z / q), is then exactly what the rendered spread needs (before 2026-12-07 the
        rows were r_k <= q n_k, so 6 replicas of 3 a node were 2 nodes in the plan but 3 over
        3 zones in the cluster). Only for q > 1: with one replica a node both agree."""
        import pulp

        c = self.p.candidates[k]
        z, q = c.zones, c.replicas_per_node
        a = self.prob.add_variable(f"za{k}", lowBound=0, cat="Integer")
        b = self.prob.add_variable(f"zb{k}", lowBound=0, upBound=z - 1, cat="Integer")
        self.spread[k] = (a, b)
        self.add([(self.n[k], 1.0), (a, -float(z)), (b, -1.0)], pulp.LpConstraintEQ, f"znodes{k}")
        self.add([(self.r[k], 1.0), (a, -float(q * z)), (b, -1.0)], pack, f"pack{k}")

    def add_zone_columns(self) -> None:
        """redundancy: zone: per candidate k an integer m_k >= r_k / Z_k, the replicas its
        worst zone holds (``window.zone_lost``: the spread puts ceil(r_k/Z_k) in one zone;
        m_k only appears where it hurts, so it is that at the optimum). Its bound is r_k's.
        Until 2026-12-07 m_k counted nodes (Z_k m_k >= n_k) and the rows lost q_k m_k
        replicas, a whole node's for each of the n mod Z nodes the spread gives one pod."""
        import pulp

        cands = self.p.candidates
        self.m = [
            self.prob.add_variable(f"m{k}", lowBound=0, upBound=b, cat="Integer")
            for k, b in enumerate(self.zone_bounds(self.peak_ub))
        ]
        GE = pulp.LpConstraintGE
        for k, c in enumerate(cands):
            self.add([(self.m[k], float(c.zones)), (self.r[k], -1.0)], GE, f"zonemax{k}")

    def zone_bounds(self, ub: Sequence[int]) -> list[int]:
        """The m_k bounds (:meth:`add_zone_columns`) at node bounds ``ub``: r_k's, q_k ub_k."""
        return [u * c.replicas_per_node for u, c in zip(ub, self.p.candidates, strict=True)]

    def _add_type_cap(self) -> None:
        """placement.max_instance_types in this window: t_T binary per instance type T,
        n_k <= M_k t_T for each candidate k of T and sum_T t_T <= the cap. Only when the
        candidates hold more types than the cap (else the rows cut nothing). M_k is built as
        k's node bound at the peak and rewritten per window to that window's bound, as u_k's
        big-M is (``WindowModel._write_pulp``, ``highs.push``): a window whose class mix needs
        more of k than the peak's does has a larger bound (``node_bounds`` sums each class's
        demand over k's capacity for it), and the peak's M_k would cut its plans."""
        import pulp

        cap, cands = self.p.max_types, self.p.candidates
        keys = list(dict.fromkeys(type_key(c) for c in cands))
        if cap is None or len(keys) <= cap:
            return
        at = {t: i for i, t in enumerate(keys)}
        LE = pulp.LpConstraintLE
        self.tv = [
            self.prob.add_variable(f"t{i}", lowBound=0, upBound=1, cat="Integer")
            for i in range(len(keys))
        ]
        for k, c in enumerate(cands):
            t = self.tv[at[type_key(c)]]
            row = self.add([(self.n[k], 1.0), (t, -float(max(1, self.peak_ub[k])))], LE, f"type{k}")
            self.type_rows.append((row, t))
        self.add([(t, 1.0) for t in self.tv], LE, "max_types").constant = -float(cap)

    def write_type_bounds(self, ub: Sequence[int]) -> None:
        """The type rows' M_k in PuLP's rows: ``ub``, a window's node bounds (at least 1, as
        built; HiGHS, once built, gets them from ``highs.push``)."""
        for (row, t), b in zip(self.type_rows, ub if self.type_rows else [], strict=True):
            row.expr[t] = -float(max(1, b))

    def type_values(self, nodes: Sequence[int]) -> list[float]:
        """The type binaries' values for ``nodes`` (a start's): 1 for a type with nodes."""
        keys = list(dict.fromkeys(type_key(c) for c in self.p.candidates))
        used = {type_key(c) for c, n in zip(self.p.candidates, nodes, strict=True) if n}
        return [float(t in used) for t in keys] if self.tv else []
