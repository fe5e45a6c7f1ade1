"""What changes between two plans: allocations added, removed, resized or changed, and cost.

Pure: two :class:`~scaleplan.plan.Plan` objects in, a :class:`PlanDiff` out; no I/O, no
printing. ``optimize`` shows it before it replaces a plan, ``scaleplan diff`` prints it for any
two plans, and re-planning code can read the same structure (``PlanDiff.to_dict`` is the JSON
``scaleplan diff --json`` prints).

Allocations are matched by name (``service-family-size-capacity``, stable across re-plans of
the same spec). An allocation whose replica or node counts differ is *resized*; one whose shape
or placement differs (instance type, region, GPUs or CPU per replica, capacity per replica,
price) is *changed*; both keep their name.

Why a plan changed is said beside what changed: the recorded inputs whose sha256 moved
(``metadata.inputs``: spec, profile, each catalog, an Observed file added or removed) and the
warning lines one plan has and the other has not (a calibration, a proxied peak). They do not
count as a change of the plan (``changed`` / ``empty`` read allocations, spec, cost, status).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from scaleplan.plan import HOURS_PER_MONTH, Allocation, Plan
from scaleplan.spec import OMITTED_WHILE_DEFAULT
from scaleplan.table import Line, Report
from scaleplan.wording import counted, sig4

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

Action = Literal["add", "remove", "resize", "change"]
SYMBOL: dict[Action, str] = {"add": "+", "remove": "-", "resize": "~", "change": "~"}

# Fields that only count replicas or nodes (a resize), and fields that change what runs where.
_SIZE_FIELDS = ("replicas", "nodes", "replicas_per_window", "nodes_per_window")
_SHAPE_FIELDS = (
    "provider",
    "region",
    "instance_type",
    "accelerator",
    "capacity_type",
    "gpus_per_replica",
    "replicas_per_node",
    "cpu_per_replica",
    "memory_gib_per_replica",
    "capacity_rps_per_replica",
    "price_per_node_hour",
    "zones",
)
# The LLM server settings of an allocation (render writes them as engine flags).
_LLM_FIELDS = ("tensor_parallel", "pipeline_parallel", "max_num_seqs", "max_model_len", "gpu_memory_utilization", "kv_cache_tokens")
_SPEC_LINES = 20  # spec changes listed in the text diff before "... and N more"


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": _jsonable(self.before), "after": _jsonable(self.after)}


@dataclass(frozen=True)
class AllocationChange:
    action: Action
    name: str
    before: Allocation | None
    after: Allocation | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def cost_delta(self) -> float:
        old = self.before.cost_per_hour if self.before is not None else 0.0
        new = self.after.cost_per_hour if self.after is not None else 0.0
        return new - old

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"action": self.action, "name": self.name}
        if self.before is not None:
            d["before"] = _summary(self.before)
        if self.after is not None:
            d["after"] = _summary(self.after)
        if self.fields:
            d["fields"] = [f.to_dict() for f in self.fields]
        d["cost_delta_per_hour"] = round(self.cost_delta, 6)
        return d


@dataclass(frozen=True)
class PlanDiff:
    changes: tuple[AllocationChange, ...]
    cost_before: float
    cost_after: float
    status_before: str
    status_after: str
    unchanged: tuple[str, ...] = ()
    spec_changes: tuple[FieldChange, ...] = ()
    # each plan's cost_per_month as its plan.yaml states it (cost_per_hour x 730, rounded)
    month_before: float = 0.0
    month_after: float = 0.0
    # why: metadata.inputs hashes that differ (by key, catalogs as catalogs.<path>), and the
    # warning lines only the new plan has (added) or only the old one had (removed)
    input_changes: tuple[FieldChange, ...] = ()
    warnings_added: tuple[str, ...] = ()
    warnings_removed: tuple[str, ...] = ()
    # what the cost leaves out and what a cheaper plan may buy with it (UX trial 29 F8): the
    # new nodes' start-ups ($/h, simulate.failures.startup_cost), and the share of the peak's
    # demand the on-demand replicas carry alone once every spot replica is lost (None: no spot,
    # or the plan did not price it: plan.spot_loss), and each as the text says it
    startups: tuple[float, float] = (0.0, 0.0)
    spot_left: tuple[float | None, float | None] = (None, None)
    spot_said: tuple[str, str] = ("no spot", "no spot")

    @property
    def empty(self) -> bool:
        return not self.changes and not self.spec_changes and abs(self.cost_delta) < 5e-7 and self.status_before == self.status_after

    @property
    def cost_delta(self) -> float:
        return self.cost_after - self.cost_before

    @property
    def cost_delta_fraction(self) -> float | None:
        return self.cost_delta / self.cost_before if self.cost_before > 0 else None

    def count(self, *actions: Action) -> int:
        return sum(1 for c in self.changes if c.action in actions)

    def to_dict(self) -> dict[str, Any]:
        frac = self.cost_delta_fraction
        return {
            "changed": not self.empty,
            "summary": {"add": self.count("add"), "change": self.count("resize", "change"), "remove": self.count("remove")},
            "cost_per_hour": {"before": round(self.cost_before, 6), "after": round(self.cost_after, 6), "delta": round(self.cost_delta, 6), "delta_fraction": round(frac, 6) if frac is not None else None},
            "cost_per_month": {"before": self.month_before, "after": self.month_after, "delta": round(self.month_after - self.month_before, 2)},
            "status": {"before": self.status_before, "after": self.status_after},
            "allocations": [c.to_dict() for c in self.changes],
            "unchanged": list(self.unchanged),
            "spec": [c.to_dict() for c in self.spec_changes],
            "inputs": [c.to_dict() for c in self.input_changes],
            "warnings": {
                "added": list(self.warnings_added), "removed": list(self.warnings_removed),
            },
            "startup_cost_per_hour": {
                "before": round(self.startups[0], 4), "after": round(self.startups[1], 4),
                "delta": round(self.startups[1] - self.startups[0], 4),
            },
            "spot_loss_on_demand_share": {
                "before": self.spot_left[0], "after": self.spot_left[1],
            },
        }


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _summary(a: Allocation) -> dict[str, Any]:
    return {
        "provider": a.provider,
        "region": a.region,
        "instance_type": a.instance_type,
        "accelerator": a.accelerator,
        "capacity_type": a.capacity_type,
        "gpus_per_replica": a.gpus_per_replica,
        "replicas": a.replicas,
        "nodes": a.nodes,
        "cost_per_hour": a.cost_per_hour,
    }


def _fields(a: Allocation, b: Allocation, names: tuple[str, ...]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(f, getattr(a, f), getattr(b, f)) for f in names if getattr(a, f) != getattr(b, f))


def _llm_fields(a: Allocation, b: Allocation) -> tuple[FieldChange, ...]:
    out = []
    for f in _LLM_FIELDS:
        va = getattr(a.llm, f) if a.llm is not None else None
        vb = getattr(b.llm, f) if b.llm is not None else None
        if va != vb:
            out.append(FieldChange(f"llm.{f}", va, vb))
    return tuple(out)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tuple(value) if isinstance(value, list) else value}


def _spec_changes(before: Plan, after: Plan) -> tuple[FieldChange, ...]:
    """The spec settings the two plans answer differently (routing, SLO, traffic, ...), by path."""
    a = _flatten(before.spec.model_dump(mode="json", exclude_none=True))
    b = _flatten(after.spec.model_dump(mode="json", exclude_none=True))
    for d in (a, b):  # left out of a plan while at their default, which is not null
        for path, default in OMITTED_WHILE_DEFAULT.items():
            d.setdefault(path, default)
    # a derived latency_ms is left out of a plan (spec.Slo): the same value a plan written
    # before stated is no change; a different one says it was derived
    differ = before.spec.slo.latency_ms != after.spec.slo.latency_ms
    for d, slo in ((a, before.spec.slo), (b, after.spec.slo)):
        derived = differ and slo.tested_latency_ms is None
        d["slo.latency_ms"] = f"{slo.latency_ms:g} (derived)" if derived else slo.latency_ms
    if before.architecture is not None and after.architecture is not None:
        # a config.json the plans recorded (a plan written before records were kept has none:
        # that is no change of the model); the file can change under the same path
        a.update(_flatten(before.architecture, "architecture"))
        b.update(_flatten(after.architecture, "architecture"))
    return _changed(a, b)


def _changed(a: dict[str, Any], b: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The keys of two flattened documents whose values differ, sorted."""
    return tuple(FieldChange(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k))


def _input_changes(before: Plan, after: Plan) -> tuple[FieldChange, ...]:
    """The recorded input hashes that differ, by key (``catalogs.<path>`` for a catalog)."""
    a = _flatten(before.metadata.inputs.model_dump(mode="json", exclude_none=True))
    b = _flatten(after.metadata.inputs.model_dump(mode="json", exclude_none=True))
    return _changed(a, b)


def diff_files(
    before: str, after: str, catalogs: Sequence[str] = ()
) -> tuple[PlanDiff, list[str]]:
    """The diff of the plan files ``before`` and ``after``, and a warning for each that was
    edited after optimize wrote it (UX trial 24: a hand-raised replica count diffed at
    "+$0.0000/h" without a word). The start-ups are priced by the accelerator table of the
    plans' spec catalogs found beside them and ``catalogs`` (``--catalog``), with a warning
    for a catalog a plan was optimized with that neither gives
    (:func:`scaleplan.inputs.plans_accelerators`)."""
    from scaleplan.inputs import plans_accelerators
    from scaleplan.plan import edited_warning, read_plan

    a, b = read_plan(before), read_plan(after)
    table, missing = plans_accelerators([(a, before), (b, after)], catalogs)
    return diff_plans(a, b, table), [
        *_other_service(a, before, b, after), *edited_warning(a, before), *edited_warning(b, after),
        *missing,
    ]


def _other_service(a: Plan, before: str, b: Plan, after: str) -> list[str]:
    """A warning when the two plans are of different services (UX trial 31: a diff of two
    services' plans read as "1 to add, 2 to remove", -64.6 %, the names only under ``~ spec``)."""
    if a.metadata.name == b.metadata.name:
        return []
    return [
        f"the plans are of different services: {before} plans {a.metadata.name!r}, {after} "
        f"plans {b.metadata.name!r}, so every allocation reads as removed and added; diff "
        "compares a service's plan with its re-plan: check the paths"
    ]


def diff_plans(before: Plan, after: Plan, accelerators: Sequence[Accelerator]) -> PlanDiff:
    """Allocations added, removed, resized and changed from ``before`` to ``after``, by name.
    ``accelerators``: the accelerator table both plans' start-ups are priced by
    (:func:`scaleplan.simulate.failures.startup_cost`), passed in: ``optimize``'s catalog, or
    for two plan files the tables their spec catalogs give
    (:func:`scaleplan.inputs.plans_accelerators`)."""
    old = {a.name: a for a in before.allocations}
    new = {a.name: a for a in after.allocations}
    changes: list[AllocationChange] = []
    unchanged: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None:
            changes.append(AllocationChange("add", name, None, b))
        elif b is None:
            changes.append(AllocationChange("remove", name, a, None))
        else:
            shape = _fields(a, b, _SHAPE_FIELDS) + _llm_fields(a, b)
            size = _fields(a, b, _SIZE_FIELDS)
            if shape:
                changes.append(AllocationChange("change", name, a, b, shape + size))
            elif size:
                changes.append(AllocationChange("resize", name, a, b, size))
            else:
                unchanged.append(name)
    left0, left1 = _spot_left(before), _spot_left(after)  # each once: (share, as said)
    starts = (_startups(before, accelerators), _startups(after, accelerators))
    return PlanDiff(
        tuple(changes), before.cost_per_hour, after.cost_per_hour, before.status, after.status,
        tuple(unchanged), _spec_changes(before, after), before.cost_per_month, after.cost_per_month,
        _input_changes(before, after),
        tuple(w for w in after.warnings if w not in before.warnings),
        tuple(w for w in before.warnings if w not in after.warnings),
        starts, (left0[0], left1[0]), (left0[1], left1[1]),
    )


def _startups(plan: Plan, accelerators: Sequence[Accelerator]) -> float:
    from scaleplan.simulate.failures import startup_cost

    return startup_cost(plan, accelerators).per_hour


def _spot_left(plan: Plan) -> tuple[float | None, str]:
    if plan.spot_loss is not None:
        return plan.spot_loss.on_demand_share, f"{plan.spot_loss.on_demand_share:.0%} of demand"
    if not any(a.capacity_type == "spot" and a.replicas for a in plan.allocations):
        return None, "no spot"
    if plan.spec.placement.spot.survive_loss:  # sized to survive it
        return 1.0, "100% of demand (survive_loss)"
    return None, "not in the plan"  # no spot_loss: --no-alternatives, or an older plan


def _shape(a: Allocation) -> str:
    """'aws/us-east-1 g6.xlarge on-demand, 1 x L4, 0-12 replicas, $6.9800/h mean': a count
    that varies over the day is its range and the cost its day's mean, as optimize's table
    words them (UX trial 31 F7: "12 replicas, $6.9800/h" put the peak's count beside the
    mean's cost; 12 replicas cost $83.76/h)."""
    per = f"{a.gpus_per_replica} x {a.accelerator}" if a.gpus_per_replica else f"{a.cpu_per_replica:g} vCPU"
    reps, cost = counted(a.replicas, "replica"), f"${a.cost_per_hour:.4f}/h"
    if len(set(a.replicas_per_window)) > 1:
        reps, cost = f"{min(a.replicas_per_window)}-{a.replicas} replicas", f"{cost} mean"
    return f"{a.provider}/{a.region} {a.instance_type} {a.capacity_type}, {per}, {reps}, {cost}"


def _value(v: Any) -> str:
    """A value as the spec writes it (YAML's true, false, null, a flow list and mapping; it
    printed Python's True, and a list's mappings as dict reprs with quoted keys)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float):
        return sig4(v)
    return str(v)


# a list of more items than this whose length did not change shows only the items that did
# (UX trial 37 F9: all 24 hourly values before and after, 3 wrapped lines, for 4 changed hours)
_WHOLE_LIST = 8


def _field_lines(f: FieldChange, width: int) -> list[str]:
    """``field: before -> after`` in ``width`` columns; a long list (an hourly curve) wraps
    between its items, never inside a number. Two lists of one length over
    :data:`_WHOLE_LIST` items show the changed items only, with their positions
    (``traffic.hourly_rps: hours 10-13: [12, 12, 12, 11] -> [16, 16, 16, 14]``); ``--json``
    keeps both lists whole."""
    a, b = f.before, f.after
    lists = isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
    if lists and len(a) == len(b) > _WHOLE_LIST:
        at = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        what = "hours" if f.field.endswith("hourly_rps") else "items"
        text = f"{what} {_runs(at)}: {_value([a[i] for i in at])} -> {_value([b[i] for i in at])}"
        return _wrapped(f"{f.field}: {text}", width)
    return _wrapped(f"{f.field}: {_value(a)} -> {_value(b)}", width)


def _runs(at: list[int]) -> str:
    """Positions as runs: ``2, 10-13``."""
    runs: list[list[int]] = []
    for i in at:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in runs)


def _wrapped(text: str, width: int, first: str = " " * 6) -> list[str]:
    """An item's text indented under its allocation (``first`` before its first line), in
    ``width`` columns, wrapped between words only (an instance type, a region or a number
    stays whole)."""
    import textwrap

    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=" " * 8, break_long_words=False, break_on_hyphens=False,
    )


def _hash(v: Any) -> str:
    return str(v)[:12]


def _input_line(f: FieldChange) -> str:
    if f.before is None:
        return f"{f.field}: added (sha256 {_hash(f.after)})"
    if f.after is None:
        return f"{f.field}: removed (was sha256 {_hash(f.before)})"
    return f"{f.field}: {_hash(f.before)} -> {_hash(f.after)}"


def cause_lines(diff: PlanDiff, width: int = 80) -> list[str]:
    """Why the plans differ: ``~ inputs`` (the recorded sha256 that moved, first 12 digits)
    and ``~ warnings`` (``+`` a line only the new plan has, ``-`` one only the old plan had)."""
    lines: list[str] = []
    if diff.input_changes:
        lines.append("  ~ inputs")
        for f in diff.input_changes:
            lines.extend(_wrapped(_input_line(f), width))
    if diff.warnings_added or diff.warnings_removed:
        lines.append("  ~ warnings")
        marked = [("+", w) for w in diff.warnings_added] + [("-", w) for w in diff.warnings_removed]
        for sign, w in marked:
            lines.extend(_wrapped(w, width, f"      {sign} "))
    return lines


def diff_lines(
    diff: PlanDiff, width: int = 80, *, monthly: bool = True, causes: bool = False,
) -> list[str]:
    """The diff as Terraform-plan style text lines (``+`` add, ``-`` remove, ``~`` change);
    ``monthly``: with the two plans' monthly costs (``optimize --observed`` says them itself,
    after its hourly table); ``causes``: with :func:`cause_lines` (``scaleplan diff``; optimize
    prints the new plan's warnings itself)."""
    why = cause_lines(diff, width) if causes else []
    if diff.empty:
        return ["No changes: the plan is the same as before.", *why]
    lines: list[str] = []
    for c in diff.changes:
        lines.append(f"  {SYMBOL[c.action]} {c.name}")
        shown = c.after if c.action == "add" else c.before if c.action == "remove" else None
        if shown is not None:
            lines.extend(_wrapped(_shape(shown), width))
        else:
            for f in c.fields:
                if f.field in ("replicas_per_window", "nodes_per_window"):
                    continue  # the peak counts say it; plan.yaml has the hourly ones
                lines.extend(_field_lines(f, width))
            if c.fields and all(f.field in ("replicas_per_window", "nodes_per_window") for f in c.fields):
                lines.append("      replicas per hour changed (same peak)")
        if abs(c.cost_delta) >= 5e-5:
            lines.append(f"      cost: {'+' if c.cost_delta >= 0 else '-'}${abs(c.cost_delta):.4f}/h")
    if diff.spec_changes:
        lines.append("  ~ spec")
        for f in diff.spec_changes[:_SPEC_LINES]:
            lines.extend(_field_lines(f, width))
        if len(diff.spec_changes) > _SPEC_LINES:
            lines.append(f"      ... and {len(diff.spec_changes) - _SPEC_LINES} more (scaleplan diff --json lists all)")
    lines += why
    frac = diff.cost_delta_fraction
    pct = f", {frac:+.1%}" if frac is not None else ""
    sign = "+" if diff.cost_delta >= 0 else "-"
    lines.append(f"cost: ${diff.cost_before:.4f}/h -> ${diff.cost_after:.4f}/h ({sign}${abs(diff.cost_delta):.4f}/h{pct})")
    month = diff.month_after - diff.month_before
    if monthly:
        lines.append(
            f"monthly: ${diff.month_before:,.2f} -> ${diff.month_after:,.2f} "
            f"({'+' if month >= 0 else '-'}${abs(month):,.2f}/month, {HOURS_PER_MONTH:g} h)"
        )
    lines += _risk_lines(diff, width)
    if diff.status_before != diff.status_after:
        lines.append(f"status: {diff.status_before} -> {diff.status_after}")
    lines.append(f"Plan: {diff.count('add')} to add, {diff.count('resize', 'change')} to change, {diff.count('remove')} to remove.")
    return lines


def _risk_lines(diff: PlanDiff, width: int) -> list[str]:
    """What a cost change buys beside the cost (UX trial 29 F8: a spot-only plan read -36.7 %
    and nothing of the capacity left when spot goes): the start-ups the cost leaves out, and
    the peak's demand the on-demand replicas serve alone once spot is lost, where they move."""
    out = []
    (s0, s1), (l0, l1) = diff.startups, diff.spot_said
    if abs(s1 - s0) >= 5e-5:
        out.append(
            f"start-ups, not in the cost: ${s0:.4f}/h -> ${s1:.4f}/h "
            f"({'+' if s1 >= s0 else '-'}${abs(s1 - s0):.4f}/h)"
        )
    if l0 != l1:
        out += _wrapped(f"spot lost at the peak, capacity left: {l0} -> {l1}", width, "")
    return out


def diff_report(
    before: str, after: str, diff: PlanDiff, edited: list[str], as_json: bool,
    exit_code: bool = False,
) -> Report:
    """``scaleplan diff``: its ``--json`` document (the two files and the changes), or the two
    files and :func:`diff_lines` with their causes, printed whole; ``edited`` (a plan changed
    after optimize wrote it, plans of two services) as warnings; ``exit_code``
    (``--exit-code``): exit 1 when the plans differ, as ``git diff --exit-code``."""
    from scaleplan.errors import TargetMissed

    failure = TargetMissed() if exit_code and not diff.empty else None
    if as_json:
        doc = {"before": before, "after": after, **diff.to_dict()}
        return Report(doc=doc, warnings=edited, failure=failure)
    lines: list[Line | str] = [Line(f"{before} -> {after}", hang=2), *diff_lines(diff, causes=True)]
    return Report(lines=lines, whole=True, warnings=edited, failure=failure)


def diff_command(
    before: str, after: str, as_json: bool, exit_code: bool, catalogs: Sequence[str] = ()
) -> Report:
    """``scaleplan diff``'s report, from the two plan files and the ``--catalog`` files."""
    d, edited = diff_files(before, after, catalogs)
    return diff_report(before, after, d, edited, as_json, exit_code)
