"""What a heuristic step's lower bound leaves out, as the step records it.

A step after the search (the static-weights re-plan, the class rules over a curve, the one-window
repairs as the HTTPRoute delivers its integer weights) builds a plan the per-window MILP cannot
state, and measures it against a lower bound that relaxes something the plan must hold. The step
knows what: it records it on the :class:`scaleplan.solve.search.Outcome` it returns
(``Outcome.omits``), and the explanation's gap line
(:func:`scaleplan.solve.explain.gap_line`) only renders the record. An outcome with no record is
the MILP's own plan (its gap, if any, is the time limit's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Left(Enum):
    """One thing a heuristic step's lower bound leaves out."""

    RULES_FIXED_ALL_DAY = "rules_fixed_all_day"  # class_header rules, one weight set all day
    RULES_REDUNDANCY = "rules_redundancy"  # n+1 / zone, dropped from the class rules' bound
    RULES_SPOT_LOSS = "rules_spot_loss"  # survive_loss at the rules' fixed weights
    WEIGHTS_FIXED_ALL_DAY = "weights_fixed_all_day"  # one HTTPRoute split all day
    CLASS_MIX = "class_mix"  # the class-blind route sends every backend the mix
    SPARE_PER_BACKEND = "spare_per_backend"  # n+1 / zone as one spare per backend Service
    WEIGHTS_SPOT_LOSS = "weights_spot_loss"  # survive_loss at the route's fixed weights
    INTEGER_WEIGHTS = "integer_weights"  # one window: the route's weights rounded, rules rechecked
    REPLICA_FLOOR = "replica_floor"  # an HPA's minReplicas held in every hour (solve.floors)
    TYPE_SETS = "type_sets"  # placement.max_instance_types over the day (solve.typecap)


@dataclass(frozen=True)
class Omission:
    """What a step's bound leaves out: ``left``, and the placement.redundancy it names (for
    :attr:`Left.RULES_REDUNDANCY` and :attr:`Left.SPARE_PER_BACKEND`; else "")."""

    left: Left
    redundancy: str = ""


INTEGER_WEIGHTS = (Omission(Left.INTEGER_WEIGHTS),)
