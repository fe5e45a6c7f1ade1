"""Plan format v1 (``kind: Plan``): what ``optimize`` writes and ``render``/``check``/``simulate`` read.

A plan is self-contained: it embeds the normalised spec (so ``render`` needs nothing else) and
each allocation's operating point (so ``simulate`` needs no profile). It holds no timings or
dates, so identical inputs give a byte-identical file (``solve_seconds`` only appears in the
``--json`` output of ``optimize``).
"""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from scaleplan.catalog.model import CapacityType
from scaleplan.errors import PlanError, Problem
from scaleplan.file_kinds import refuse_other_kind
from scaleplan.kube.weights import class_routed
from scaleplan.kube.zones import spread_nodes, spread_zones
from scaleplan.problems import (
    StrictModel,
    fix,
    format_json_schema,
    validate_document,
)
from scaleplan.profile.model import Percentiles
from scaleplan.spec import Spec
from scaleplan.yamlio import Document, dump_yaml, load_yaml, parse_yaml, sha256_text

HOURS_PER_MONTH = 730.0
Status = Literal["optimal", "feasible", "infeasible"]


# Most replicas (and nodes) one allocation may hold: spec placement.max_replicas' own bound; keeps
# render, check and simulate bounded in time and memory (simulate of 10^7 replicas took 8 GB).
MAX_REPLICAS = 100_000
#: An HPA cannot scale below this many replicas (autoscaling/v2 minReplicas >= 1; KEDA may go
#: to 0): what the optimizer holds (solve/floors.py), render writes and check compares.
HPA_MIN_REPLICAS = 1


class OperatingPoint(StrictModel):
    """The profiled point an allocation's capacity comes from."""

    batch_size: int = Field(ge=1)
    latency_ms: Percentiles
    throughput_rps: float = Field(gt=0, description="Raw throughput at this point (before derating).")
    max_utilization: float = Field(gt=0, le=1, description="Derating from the queueing model (1 = none).")
    source: Literal["measured", "estimated", "imported", "scaled", "calibrated"] = "measured"
    service_ms: float | None = Field(default=None, gt=0, description="Service time of one batch (ms), for simulation.")
    request_class: str | None = None


class LlmClassPrediction(StrictModel):
    """What the LLM model predicts for one request class on one replica of an allocation."""

    concurrency: int = Field(ge=1, description="Sequences in flight per replica this prediction assumes.")
    ttft_ms: float = Field(gt=0, description="Predicted time to first token (ms) at this concurrency.")
    tpot_ms: float = Field(gt=0, description="Predicted time per output token (ms) at this concurrency.")
    throughput_rps: float = Field(gt=0, description="Requests/s of this class one replica completes.")
    output_tokens_per_s: float = Field(gt=0, description="Output tokens/s one replica generates for this class.")
    slo_input_tokens: int | None = Field(
        default=None, ge=1,
        description="A class with a length spread (traffic.classes[].lengths): the prompt at "
        "the SLO percentile's length, whose TTFT the SLO was tested on.",
    )
    slo_ttft_ms: float | None = Field(
        default=None, gt=0,
        description="A class with a length spread: predicted mean TTFT (ms) of the prompt of "
        "slo_input_tokens at this concurrency; ttft_ms is the mean prompt's.",
    )


class LlmServing(StrictModel):
    """How one allocation's LLM server is configured: render turns this into engine flags,
    check compares manifests with it, simulate runs its continuous batching from it."""

    tensor_parallel: int = Field(ge=1, description="Tensor-parallel degree (GPUs per pipeline stage).")
    pipeline_parallel: int = Field(default=1, ge=1, description="Pipeline-parallel degree.")
    max_num_seqs: int = Field(ge=1, description="Most sequences one replica runs at once (the concurrency the plan assumed).")
    max_model_len: int = Field(ge=1, description="Longest sequence (prompt + completion) the server accepts.")
    gpu_memory_utilization: float = Field(gt=0, le=1, description="Fraction of each GPU's memory the engine may use.")
    block_size: int = Field(default=16, ge=1, description="KV-cache block size in tokens.")
    max_num_batched_tokens: int | None = Field(default=None, ge=1, description="Token budget per scheduler step (chunked prefill).")
    kv_cache_tokens: int = Field(ge=0, description="Tokens of KV cache one replica holds.")
    weights_gib_per_gpu: float = Field(ge=0, description="Model weights on each GPU.")
    classes: dict[str, LlmClassPrediction] = Field(default_factory=dict, description="Request class -> prediction at the planned concurrency.")
    # what binds max_num_seqs (scaleplan.llm.seqbound.SeqBound), set by the optimizer that
    # sized it: optimize's summary and --json say it; not a field, so plan.yaml never holds it
    _bound: Any = PrivateAttr(default=None)

    @property
    def bound(self) -> Any:
        """The optimizer's :class:`~scaleplan.llm.seqbound.SeqBound` for ``max_num_seqs``; None
        for a plan read from a file."""
        return self._bound

    def with_bound(self, bound: Any) -> "LlmServing":
        """This serving with ``bound`` attached (the model is frozen: set once, when sized)."""
        self._bound = bound
        return self


class Allocation(StrictModel):
    name: str = Field(description="Stable DNS-1123 name for the Deployment (service-family-size-capacity).")
    provider: str
    region: str
    instance_type: str
    family: str
    accelerator: str = Field(description="Canonical accelerator or CPU.")
    accelerators_per_node: int = Field(ge=0)
    gpus_per_replica: int = Field(ge=0, description="0 for CPU-only replicas.")
    replicas_per_node: int = Field(ge=1)
    capacity_type: CapacityType
    vcpus_per_node: int = Field(gt=0)
    memory_gib_per_node: float = Field(gt=0)
    cpu_per_replica: float = Field(gt=0, description="CPU cores requested per replica.")
    memory_gib_per_replica: float = Field(gt=0, description="Memory requested per replica.")
    price_per_node_hour: float = Field(ge=0)
    capacity_rps_per_replica: float = Field(gt=0, le=1e9, description="Requests/s one replica serves at the SLO after derating.")
    replicas: int = Field(ge=0, le=MAX_REPLICAS, description="Peak replicas over the day.")
    nodes: int = Field(ge=0, le=MAX_REPLICAS, description="Peak nodes over the day.")
    replicas_per_window: tuple[Annotated[int, Field(ge=0, le=MAX_REPLICAS)], ...]
    nodes_per_window: tuple[Annotated[int, Field(ge=0, le=MAX_REPLICAS)], ...]
    routing: dict[str, float] = Field(default_factory=dict, description="Request class -> share of that class's peak demand routed here.")
    zones: tuple[str, ...] = ()
    operating_point: OperatingPoint
    class_points: dict[str, OperatingPoint] | None = Field(
        default=None,
        description="Request class -> its operating point on this allocation (plans with "
        "several classes, not LLM plans, whose llm.classes say it); simulate serves each "
        "request at its class's.",
    )
    estimated: bool = Field(default=False, description="Capacity rests on an estimated (not measured) profile point.")
    llm: LlmServing | None = Field(default=None, description="LLM server configuration and predictions (LLM plans only).")
    cost_per_hour: float = Field(ge=0, description="Average over the windows.")

    @property
    def gpus_per_node(self) -> int:
        """``accelerators_per_node`` by the name the solver's candidates use: what one node
        counts against a quota's ``max_gpus`` (``solve.milp.window.QuotaScope``)."""
        return self.accelerators_per_node

    def floor_cost(self, floor: int, redundancy: str) -> float:
        """What holding ``floor`` replicas in every window adds per hour (:func:`floor_cost`;
        ``redundancy``: the plan's placement.redundancy, whose zone spread decides the nodes)."""
        return floor_cost(
            floor, self.replicas_per_node, self.nodes_per_window, self.price_per_node_hour,
            len(spread_zones(redundancy, self.zones)),
        )


def floor_cost(
    floor: int, replicas_per_node: int, nodes_per_window: Sequence[int], price: float,
    zones: int = 0,
) -> float:
    """What a replica floor adds per hour, averaged over the windows: the nodes ``floor``
    replicas need beyond each window's own, at ``price`` per node-hour (0 without windows).
    ``zones``: the zones the pods are spread over (redundancy: zone; 0: none), as render
    spreads them: a node holds only its own zone's pods (``kube.zones.spread_nodes``: 3 pods
    of 8 a node over 3 zones take 3 nodes, not 1)."""
    if not nodes_per_window:
        return 0.0
    need = spread_nodes(floor, replicas_per_node, zones)
    return sum(max(0, need - n) for n in nodes_per_window) * price / len(nodes_per_window)


class Demand(StrictModel):
    windows: int = Field(ge=1)
    window_hours: float = Field(gt=0)
    rps: tuple[float, ...] = Field(description="Demand per window (requests/s, before headroom).")
    headroom: float = Field(ge=0)
    classes: dict[str, float] = Field(default_factory=dict, description="Class -> share.")


class Alternative(StrictModel):
    description: str
    cost_per_hour: float
    extra_cost_fraction: float | None = Field(default=None, description=(
        "Its cost over the plan's, as a fraction; null when the plan costs $0/h (owned nodes), "
        "of which no fraction is a measure (it read 0.0 for a dearer plan until 2026-12-06)."
    ))


class Baseline(StrictModel):
    name: str = Field(description="cheapest-single-type, fastest-accelerator, all-on-demand.")
    description: str
    cost_per_hour: float | None = Field(default=None, description=(
        "Absent (None) when the baseline has no plan or the time limit left it unsolved "
        "(its description says which)."
    ))
    savings_fraction: float | None = None


class UnusedAccelerator(StrictModel):
    """An accelerator ``placement.accelerators`` names that the plan runs on nowhere, and why
    (UX trial 37 F8): the cheapest plan on it alone, or why it has none."""

    accelerator: str
    cost_per_hour: float | None = Field(default=None, description=(
        "USD per hour (the mean over the day) of the cheapest plan on this accelerator alone "
        "(one more solve within --time-limit); absent when it has none (see reason)."
    ))
    extra_cost_fraction: float | None = Field(default=None, description=(
        "cost_per_hour over the plan's, minus 1; absent when the plan costs $0/h."
    ))
    description: str | None = Field(default=None, description="That plan's nodes at peak.")
    gap: float | None = Field(default=None, ge=0, description=(
        "Where the search did not prove that plan the cheapest: its gap to a lower bound; "
        "cost_per_hour is then what it costs at most. Absent when proven."
    ))
    reason: str | None = Field(default=None, description=(
        "Why it has no price: no catalog row, flagged rows, left out (memory, precision, the "
        "SLO: the warnings say more), a class it serves no request of, no plan within the "
        "placement's rules, or not priced within the time limit."
    ))


# Two costs per hour closer than this are the same in every $x.xx/h the reports print: the
# spot-loss lines say 'no extra cost' (solve/explain.py, plan_report.py).
SAME_COST_PER_HOUR = 0.005


class SpotLoss(StrictModel):
    """A plan with spot replicas and placement.spot.survive_loss off: what losing every spot
    replica at the peak hour leaves, and what the rule would cost (one more solve)."""

    on_demand_replicas: int = Field(ge=0, description="On-demand replicas at the peak hour.")
    replicas: int = Field(ge=0, description="All replicas at the peak hour.")
    on_demand_share: float = Field(ge=0, le=1, description=(
        "The share of the peak hour's demand (without headroom) the on-demand replicas alone "
        "serve at the SLO, at each one's capacity for the class mix (at most 1)."
    ))
    survive_loss_cost_per_hour: float | None = Field(default=None, description=(
        "USD per hour (the mean over the day) of the cheapest plan with survive_loss: true; "
        "absent when it was not priced (see not_priced)."
    ))
    extra_cost_fraction: float | None = Field(default=None, description=(
        "survive_loss_cost_per_hour over the plan's cost_per_hour, minus 1."
    ))
    survive_loss_gap: float | None = Field(default=None, ge=0, description=(
        "Where the search for that plan did not prove it the cheapest (the time limit stopped "
        "it, or a heuristic step made it): its gap to a lower bound, (cost - bound) / cost. "
        "survive_loss_cost_per_hour is then what the rule costs at most. Absent when proven."
    ))
    not_priced: str | None = Field(default=None, description=(
        "Why survive_loss: true was not priced: 'infeasible' (no plan holds it) or 'time "
        "limit' (--time-limit left no time)."
    ))


class InputHashes(StrictModel):
    spec: str
    profile: str | None = Field(
        default=None,
        description="sha256 of the spec's profile; absent when the spec names none (an LLM "
        "planned from its architecture alone).",
    )
    catalogs: dict[str, str] = Field(default_factory=dict)
    observed: str | None = Field(default=None, description="sha256 of the Observed file the plan was re-planned from (optimize --observed).")


class PlanMeta(StrictModel):
    name: str
    scaleplan_version: str
    plan_hash: str = Field(description="sha256 of the plan's content (without this field); goes on manifests.")
    inputs: InputHashes


# the words a feasible plan's explanation uses for where its gap comes from
# (scaleplan.solve.explain.gap_line), which the text report's headline reads
GAP_FROM_SEARCH = "a longer --time-limit may close it"
GAP_FROM_BOUND = "not unfinished search"
# why model.profile calibrates nothing in an LLM plan sized from model.architecture (Plan's
# profile_unused, which the footnote of its table reads)
ProfileUnused = Literal["estimates-only", "points-left-out"]


class Plan(StrictModel):
    apiVersion: Literal["scaleplan/v1"] = "scaleplan/v1"
    kind: Literal["Plan"] = "Plan"
    metadata: PlanMeta
    status: Status
    solver: str
    gap: float | None = Field(default=None, ge=0, description=(
            "(cost - lower bound) / cost: the MILP's own bound when it stopped at the time "
            "limit, else the bound a heuristic step is measured against; the explanation's "
            "'Gap' line says which."
        ))
    cost_per_hour: float = Field(ge=0, description=(
        "USD per hour, the mean over the day's windows (not the peak hour): the allocations' "
        "node-hours x price_per_node_hour over the day, over its hours. Node prices only: no "
        "disks, load balancers, control plane or data transfer (docs/optimizer.md, 'The plan')."
    ))
    cost_per_month: float = Field(ge=0, description="cost_per_hour x 730 hours, USD.")
    cost_per_million_requests: float | None = Field(default=None, description=(
        "USD per million requests: the day's cost over the day's requests (the demand curve, "
        "without headroom)."
    ))
    demand: Demand
    allocations: tuple[Allocation, ...]
    binding_constraints: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    baselines: tuple[Baseline, ...] = ()
    warnings: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()
    spot_loss: SpotLoss | None = Field(default=None, description=(
        "With spot replicas and placement.spot.survive_loss off, when optimize ran the "
        "alternatives: what losing all spot at the peak leaves and what survive_loss costs."
    ))
    unused_accelerators: tuple[UnusedAccelerator, ...] | None = Field(default=None, description=(
        "One entry per accelerator placement.accelerators names that the plan does not run "
        "on, when optimize ran the alternatives; absent when there is none."
    ))
    spec: Spec = Field(description="The normalised spec this plan answers.")
    architecture: dict[str, int | float | str | bool | None] | None = Field(
        default=None,
        description=(
            "When spec.model.architecture is a config.json path: the architecture facts the "
            "plan was sized with (as scaleplan read the file), so that simulate needs neither "
            "the file nor the spec's folder. Absent for a preset, which the spec names."
        ),
    )
    profile_unused: ProfileUnused | None = Field(default=None, description=(
        "An LLM plan sized from model.architecture alone although the spec names "
        "model.profile: why the profile calibrates nothing. estimates-only: it holds no "
        "measured point (`scaleplan profile llm` output); points-left-out: each of its "
        "measured points was left out (the 'calibration:' warnings say why). Absent otherwise "
        "(no profile, a calibrated model, or capacity from the profile's points)."
    ))

    def replicas_at(self, w: int) -> int:
        """Replicas the plan's allocations run in window ``w``, all of them together."""
        return sum(a.replicas_per_window[w] for a in self.allocations)

    def capacity_rps_at(self, w: int) -> float:
        """Requests/s the plan's allocations serve in window ``w`` (replicas x capacity each)."""
        return sum(a.replicas_per_window[w] * a.capacity_rps_per_replica for a in self.allocations)

    def below_hpa_floor(self) -> tuple[Allocation, ...]:
        """kubernetes.autoscaler.type hpa: the allocations in use that the plan takes to 0
        replicas in some hours. An HPA's minReplicas is at least 1, so as rendered each keeps 1
        replica in every hour; optimize holds that floor (solve/floors.py), so only a plan
        written before it (or one no plan could hold it for) has any."""
        if self.spec.kubernetes.autoscaler.type != "hpa":
            return ()
        floor = HPA_MIN_REPLICAS
        return tuple(
            a for a in self.allocations
            if a.replicas and min(a.replicas_per_window, default=floor) < floor
        )

    @model_validator(mode="after")
    def _windows_agree(self) -> "Plan":
        """Every per-window list has one entry per window: ``demand.rps`` and each
        allocation's ``replicas_per_window``. Render, check and simulate index them by window;
        a hand-edited plan with a short list would otherwise be read as something it never
        said (e.g. the peak count in the missing hours)."""
        n = self.demand.windows
        if len(self.demand.rps) != n:
            raise ValueError(fix(
                f"demand.rps has {len(self.demand.rps)} values but demand.windows is {n}",
                "give one demand value per window, or optimize the spec again",
                at="demand.rps",
            ))
        for i, a in enumerate(self.allocations):
            if len(a.replicas_per_window) != n:
                raise ValueError(fix(
                    f"allocation {a.name} has {len(a.replicas_per_window)} replicas_per_window "
                    f"values but demand.windows is {n}",
                    "give one replica count per window, or optimize the spec again",
                    at=f"allocations.{i}.replicas_per_window",
                ))
        return self

    @model_validator(mode="after")
    def _every_class_routed(self) -> "Plan":
        """With ``kubernetes.class_header`` each request class has its own HTTPRoute rule, whose
        weights are the allocations' ``routing`` shares of that class: a class with demand that
        no live allocation takes would get a rule of zero weights, which a Gateway answers with
        HTTP 500 (no backend). ``optimize`` routes every class; a hand-edited plan may not."""
        if not class_routed(self) or self.status == "infeasible":  # one rule per active class
            return self
        live = [a for a in self.allocations if a.replicas > 0]
        if not live:
            return self
        for c, share in self.demand.classes.items():
            if share > 0 and not any(a.routing.get(c, 0.0) > 0 for a in live):
                raise ValueError(fix(
                    f"kubernetes.class_header: request class {c!r} ({share:.0%} of the demand) is "
                    "routed to no allocation with replicas (its routing share is 0 in every one), "
                    "so its HTTPRoute rule would have only zero weights and a Gateway would answer "
                    "its requests with HTTP 500",
                    f"optimize the spec again, which routes every class, or give {c!r} a routing "
                    "share in the allocations that serve it",
                    at="allocations",
                ))
        return self


def plan_json_schema() -> dict[str, Any]:
    return format_json_schema(Plan, "plan", "scaleplan Plan v1")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json", exclude_none=True)


def dump_plan(plan: Plan) -> str:
    return dump_yaml(plan_to_dict(plan))


def parse_plan(doc: Document) -> Plan:
    kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
    if kind == "InferenceService":
        hint = "run `scaleplan optimize` first; it reads the spec and writes OUT/plan.yaml, the file this command reads"
        refuse_other_kind(doc, "Plan", PlanError, hint)
    refuse_other_kind(doc, "Plan", PlanError)
    if isinstance(kind, str) and kind != "Plan":
        raise PlanError(doc.file, [Problem("kind", f"this is a {kind} (kind: {kind}), not a plan", hint="pass the plan.yaml `scaleplan optimize` wrote", line=doc.lines.line_of(("kind",)))])
    return validate_document(Plan, doc, PlanError)


def read_plan(path: str | Path) -> Plan:
    return parse_plan(load_yaml(path, what="plan"))


def content_hash(plan: Plan) -> str:
    """SHA-256 of the plan's YAML without ``metadata.plan_hash``: what ``optimize`` stamps."""
    d = plan_to_dict(plan)
    d["metadata"].pop("plan_hash", None)
    return sha256_text(dump_yaml(d))


def edited_warning(plan: Plan, file: str | Path) -> list[str]:
    """A warning when ``plan``'s content no longer hashes to its ``metadata.plan_hash``: it was
    edited after ``optimize`` wrote it, so its counts, types and costs are not what the
    optimizer checked against the spec, profile and catalogs (UX trial 24: a hand-raised
    replica count, or a misspelt instance type that no node can have, rendered and passed
    ``check --plan`` without a word). Layout and comments do not count: the plan is hashed
    as read."""
    h = content_hash(plan)
    stored = plan.metadata.plan_hash
    if h == stored:
        return []
    return [
        f"{file} was edited after `scaleplan optimize` wrote it: its content hashes to "
        f"{h[:12]}, its metadata.plan_hash says {stored[:12]}; its counts, instance types "
        "and costs are not what the optimizer checked against the spec, profile and catalogs. "
        "Change the spec and run `scaleplan optimize` again instead of editing the plan"
    ]


def parse_plan_text(text: str, name: str = "<plan>") -> Plan:
    return parse_plan(parse_yaml(text, name, what="plan"))
