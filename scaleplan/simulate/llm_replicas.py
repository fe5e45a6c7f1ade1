"""How each allocation's replicas serve in the LLM simulator: the engine configuration from
the allocation's ``llm`` section, and the step-time function, from the LLM performance model
(:mod:`scaleplan.llm`, calibrated to the plan's predictions) or through TTFT/TPOT points (the
plan's per-class predictions, or a profile's measured points).

Pure: everything here depends only on the plan and the arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from scaleplan.errors import PlanError, Problem
from scaleplan.plan import Allocation, Plan
from scaleplan.simulate import llm_engine as eng

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

DEFAULT_TOKEN_BUDGET = 8192  # vLLM's max_num_batched_tokens default for online serving
StepSource = Literal["auto", "model", "points"]
STEP_SOURCES: tuple[StepSource, ...] = ("auto", "model", "points")


@dataclass(frozen=True)
class Point:
    """One TTFT/TPOT observation: concurrency, prompt/completion tokens, TTFT and TPOT (ms)."""

    concurrency: int
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    tpot_ms: float


def step_from_points(points: Sequence[Point]) -> eng.LinearStep:
    """A linear step-time function through measured or predicted TTFT/TPOT points.

    Decode: TPOT(c) = a + b * c, least squares over the points' concurrencies (b = 0 with one
    concurrency: every step costs the measured TPOT, pessimistic at lower load). Prefill: a
    prompt of I tokens alone takes a + k * I (one step), k the median over the points at each
    class's lowest concurrency of (TTFT - a) / I (at least 5 % of TTFT / I). A single request
    then sees TTFT = a + k * I and TPOT = a + b.
    """
    if not points:
        raise ValueError("no points")
    cs = np.array([p.concurrency for p in points], dtype=np.float64)
    tp = np.array([p.tpot_ms for p in points], dtype=np.float64) / 1000.0
    if len(set(cs.tolist())) >= 2:
        b, a = np.polyfit(cs, tp, 1)
        if b < 0 or a <= 0:
            a, b = float(tp.min()), 0.0
    else:
        a, b = float(tp.mean()), 0.0
    lowest: dict[tuple[int, int], Point] = {}
    for p in points:
        k = (p.input_tokens, p.output_tokens)
        if k not in lowest or p.concurrency < lowest[k].concurrency:
            lowest[k] = p
    ks = [max(p.ttft_ms / 1000.0 - a, 0.05 * p.ttft_ms / 1000.0) / p.input_tokens
        for p in lowest.values()]
    return eng.LinearStep(base_s=float(a), per_prefill_token_s=float(np.median(ks)),
        per_decode_seq_s=float(b))


def _one_load(points: Sequence[Point]) -> str:
    """What to say when every point is at one concurrency above 1 (the plan's own predictions
    are at the planned concurrency): the prompt cost is then read from a TTFT under load, which
    holds waiting and shared steps, and every step is charged the loaded TPOT, so the run is
    pessimistic, often by a factor (docs/simulate.md, "Step times")."""
    loads = {p.concurrency for p in points}
    if len(loads) != 1 or min(loads) <= 1:
        return ""
    said = "pessimistic, the prompt cost is read from a TTFT under load"
    return f" (all at concurrency {min(loads)}: {said})"


def class_tokens(plan: Plan) -> dict[str, tuple[int | None, int | None]]:
    """(input tokens, output tokens) per spec class name (None where the spec gives none)."""
    return {c.name: (c.input_tokens, c.output_tokens) for c in plan.spec.traffic.classes}


def _points_for(plan: Plan, a: Allocation,
        profile_points: Sequence[Point] | None) -> tuple[list[Point], str]:
    toks = class_tokens(plan)
    if a.llm is not None and a.llm.classes:
        pts = []
        for name, pred in sorted(a.llm.classes.items()):
            i, o = toks.get(name, (None, None))
            if i is None or o is None:
                continue
            pts.append(Point(pred.concurrency, i, o, pred.ttft_ms, pred.tpot_ms))
        if pts:
            return pts, "plan predictions (llm.classes)"
    if profile_points:
        return list(profile_points), "profile TTFT/TPOT points"
    return [], ""


def profile_points(profile: Any, accelerator: str, gpus: int,
        classes: dict[str, tuple[int | None, int | None]]) -> list[Point]:
    """TTFT/TPOT points of a Profile for one accelerator and GPU count (class tokens from the spec)."""
    out: list[Point] = []
    for m in profile.measurements:
        if (m.accelerator != accelerator or m.gpus != max(gpus, 1) or m.ttft_ms is None
                or m.tpot_ms is None):
            continue
        i, o = classes.get(m.request_class or "", (None, None))
        if i is None and len(classes) == 1:
            i, o = next(iter(classes.values()))
        if i is None or o is None:
            continue
        out.append(Point(m.concurrency or m.batch_size, i, o, m.ttft_ms.p50, m.tpot_ms.p50))
    return out


# ---------------------------------------------------------------- engine settings and step times


def replica_config(plan: Plan, a: Allocation, step: eng.StepTime) -> eng.ReplicaConfig:
    """The engine settings of one allocation's replicas, from its ``llm`` section (without one:
    the operating point's batch as ``max_num_seqs``, KV cache not limiting), scheduled as the
    spec's engine schedules (``scaleplan.llm.closed_loop.SCHEDULER``: chunked prefill, prefill
    steps that carry decodes or not), with the receive interval of the deployment's engine
    settings (``EngineSettings.recv_interval``: 1, every engine's default, unless set)."""
    from scaleplan.llm.closed_loop import SCHEDULER
    from scaleplan.llm.memory import ENGINES

    chunked, mixed = SCHEDULER.get(plan.spec.model.engine or "vllm", (True, True))
    llm = a.llm
    toks = [i + o for i, o in class_tokens(plan).values() if i is not None and o is not None]
    longest = max(toks, default=2048)
    if llm is None:
        # no llm section: the operating point's batch is the concurrency; KV is not limiting
        seqs = a.operating_point.batch_size
        mml = max(longest, 1)
        budget = max(DEFAULT_TOKEN_BUDGET, mml)
        return eng.ReplicaConfig(seqs, 10**12, 16, budget, 10**9, step, chunked, mixed)
    budget = llm.max_num_batched_tokens or max(DEFAULT_TOKEN_BUDGET, llm.max_model_len)
    kv = llm.kv_cache_tokens if llm.kv_cache_tokens > 0 else 10**12
    # TensorRT-LLM and TGI reserve a request's whole completion at admission (scaleplan.llm.memory)
    reserve = ENGINES.get(plan.spec.model.engine or "vllm", ENGINES["vllm"]).reserves_completion
    recv = step.deployment.settings.recv_interval if isinstance(step, ModelStep) else 1
    return eng.ReplicaConfig(
        llm.max_num_seqs, kv, llm.block_size, budget, llm.max_model_len, step, chunked, mixed,
        max(int(recv), 1), reserve,
    )


class ModelStep:
    """Step time from the LLM performance model (:func:`scaleplan.llm.perf.step_time_ms`) of one
    deployment: the simulator's steps cost exactly what the model says one step costs."""

    SEGMENT = 4096  # context tokens per verified linear segment of a decode-only step

    def __init__(self, deployment: Any) -> None:
        from scaleplan.llm.perf import step_time_ms

        self.deployment = deployment
        self._f = step_time_ms
        self._lines: dict[tuple[int, int], tuple[float, float] | None] = {}

    def exact(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float, decode_seqs: int,
            context_tokens: float) -> float:
        return float(self._f(
            self.deployment, prefill_tokens=prefill_tokens, prefill_seqs=prefill_seqs,
                prefill_pairs=prefill_pairs,
            decode_seqs=decode_seqs, context_tokens_total=context_tokens,
        ).ms) / 1000.0

    def __call__(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float,
            decode_seqs: int, context_tokens: int) -> float:
        if prefill_tokens:
            return self.exact(prefill_tokens, prefill_seqs, prefill_pairs, decode_seqs,
                context_tokens)
        # Decode-only steps (most of them): for a fixed batch the model's step time is piecewise
        # linear in the context. Per 4,096-token segment, the ends and three interior points are
        # evaluated; if they lie on one line (1e-12 relative) the segment is served from it, else
        # every step there calls the model. Same numbers, ~20x fewer model calls.
        seg = context_tokens // self.SEGMENT
        key = (decode_seqs, seg)
        if key not in self._lines:
            lo = float(seg * self.SEGMENT)
            hi = lo + self.SEGMENT
            f0 = self.exact(0, 0, 0.0, decode_seqs, lo)
            f1 = self.exact(0, 0, 0.0, decode_seqs, hi)
            slope = (f1 - f0) / self.SEGMENT
            ok = all(
                abs(self.exact(0, 0, 0.0, decode_seqs, lo + q * self.SEGMENT) - (f0 + slope * q * self.SEGMENT)) <= 1e-12 * max(f1, f0)
                for q in (0.25, 0.5, 0.75)
            )
            self._lines[key] = (f0 - slope * lo, slope) if ok else None
        line = self._lines[key]
        if line is None:
            return self.exact(0, 0, 0.0, decode_seqs, context_tokens)
        return line[0] + line[1] * context_tokens


def _not_shipped(plan: Plan, accelerator: str) -> str:
    """Why the LLM model cannot size ``accelerator``: not in the accelerator table given (the
    shipped one and, from ``simulate``, the spec's catalogs found beside the plan and the
    ``--catalog`` files). A catalog of the user's that the plan was optimized with and that
    was not found may define it (docs/catalog.md): said, rather than leaving the user to guess
    (review: simulate did not name the catalogs as render and check do)."""
    from scaleplan.inputs import users_catalogs

    why = f"accelerator {accelerator} is not in the shipped accelerator table"
    own = ", ".join(users_catalogs(plan))
    if not own:
        return why
    return (
        f"{why}; the plan was optimized with {own}, which simulate did not find beside the "
        "plan with the recorded content (it reads the spec's placement.catalogs from there) "
        "nor in a --catalog"
    )


def plan_architecture(plan: Plan, name: str | None = None) -> Any:
    """The architecture a plan recorded (``Plan.architecture``, a config.json spec's), or None
    (a preset, resolved by name; or a plan written before plans recorded it, whose config.json
    path resolves from the current folder). PlanError when the record is not an architecture."""
    if plan.architecture is None:
        return None
    from scaleplan.llm.arch import from_record

    try:
        return from_record(plan.architecture)
    except ValueError as exc:
        said = f"is not an LLM architecture record: {exc}"
        hint = "run 'scaleplan optimize' again to write the plan afresh"
        raise PlanError(name, [Problem("architecture", said, hint=hint)]) from None


def model_deployment(
    plan: Plan, a: Allocation, accelerators: Sequence[Accelerator], arch: Any = None
) -> tuple[Any, str]:
    """The LLM model's deployment of one allocation (spec model + accelerator + TP), or (None,
    why not). Calibration: when the plan's per-class predictions differ from the uncalibrated
    model's as the optimizer makes them (:func:`scaleplan.llm.cobatch.as_planned`: co-batched
    where the classes have SLOs of their own) by more than 2 %, the model is calibrated to them
    (:func:`scaleplan.llm.calibrate.calibrate`, each class's record less the co-batching's
    factor: what the class alone shows on the same model) so the simulation runs the model the
    optimizer planned on. ``accelerators``: the accelerator table, passed in (simulate reads no
    catalog). ``arch``: the plan's recorded architecture (:func:`plan_architecture`), else the
    spec's reference is resolved."""
    if plan.spec.model.architecture is None:
        return None, "the spec has no model.architecture"
    from scaleplan.errors import ScaleplanError
    from scaleplan.llm.calibrate import LIGHT_PRIOR, Observed, calibrate
    from scaleplan.llm.cobatch import as_planned
    from scaleplan.llm.memory import Refusal
    from scaleplan.llm.serving import predict, setup_from_spec, size, token_classes_of

    acc = next((x for x in accelerators if x.name == a.accelerator), None)
    if acc is None:
        return None, _not_shipped(plan, a.accelerator)
    toks = token_classes_of(plan.spec.traffic.classes)
    try:
        s = setup_from_spec(plan.spec.model, arch=arch)
        shape = size(s, acc, max(a.gpus_per_replica, 1), toks)
    except (ScaleplanError, Refusal, ValueError, KeyError) as exc:
        return None, f"the LLM model cannot size it ({exc})"
    d = shape.deployment
    if a.llm is not None and a.llm.classes:
        by = {t.name: t for t in toks}
        served = [by[c] for c in a.llm.classes if c in by]
        planned: dict[int, dict[str, Any]] = {}
        obs = []
        off = 0.0
        for cname, pred in sorted(a.llm.classes.items()):
            t = by.get(cname)
            if t is None:
                continue
            n = pred.concurrency
            if n not in planned:  # as the plan predicted it (open loop, co-batched or alone)
                planned[n] = as_planned(plan.spec, shape, served, n)
            p, own = planned[n][cname], predict(shape, t, n)
            off = max(off, abs(math.log(p.ttft_ms / pred.ttft_ms)),
                abs(math.log(p.tpot_ms / pred.tpot_ms)))
            ttft, tpot = (pred.ttft_ms * own.ttft_ms / p.ttft_ms,
                pred.tpot_ms * own.tpot_ms / p.tpot_ms)
            obs.append(Observed(d, t.input_tokens, t.output_tokens, n, ttft_ms=ttft, tpot_ms=tpot,
                kind="open_loop", label=cname))
        if obs and off > math.log(1.02):
            cal, _ = calibrate(obs, basis="the plan's per-class predictions", prior=LIGHT_PRIOR)
            model = f"LLM model ({shape.hw.name} TP{shape.tp})"
            why = f"{model}, calibrated to the plan's predictions"
            if _another_version(plan, a):
                why += f", {ANOTHER_VERSION} ({math.expm1(off):.1%} off this one's): re-optimize"
            return d.with_calibration(cal), why
        if obs and a.operating_point.source == "calibrated":
            # a calibration that moved this shape's predictions by 2 % or less: the model as it
            # is runs the plan's predictions, which were calibrated; "uncalibrated" read as if
            # the simulation had dropped the user's measurements (UX trial 20, F6)
            within = "within 2 % of the plan's calibrated predictions"
            return d, f"LLM model ({shape.hw.name} TP{shape.tp}), {within}"
    return d, f"LLM model ({shape.hw.name} TP{shape.tp}, {d.calibration.basis or 'uncalibrated'})"


# the step source of an allocation whose record another version of the model made
ANOTHER_VERSION = "which another version's model made"


def _another_version(plan: Plan, a: Allocation) -> bool:
    """Whether a plan whose record the uncalibrated model does not reproduce was planned
    without measured points (the operating point ``estimated``) and not edited since (its
    content hashes to ``metadata.plan_hash``): then another version of the model wrote it,
    and a calibration to its record is no measurement's (r2 review 39 item 15: class-SLO
    plans written before the co-batching blend's fixed point, 2026-12-06, simulate slower).
    Which change it was, the plan cannot say: it records no model version. A calibrated plan
    is calibrated; an edited one has its own warning."""
    from scaleplan.plan import content_hash

    estimated = a.operating_point.source == "estimated"
    return estimated and content_hash(plan) == plan.metadata.plan_hash


def another_version_note(plan: Plan, sources: Sequence[str]) -> list[str]:
    """Once for the run, why allocations' step sources say :data:`ANOTHER_VERSION`, and what
    to do."""
    pairs = zip(plan.allocations, sources, strict=True)
    names = [a.name for a, s in pairs if ANOTHER_VERSION in s]
    if not names:
        return []
    blend = (
        " (with class SLOs, e.g. one written before the co-batching blend's fixed point of "
        "2026-12-06, whose blended step is slower)" if plan.spec.has_class_slos else ""
    )
    return [
        f"{', '.join(names)}: the plan was planned without measured points, yet this "
        "version's LLM model does not reproduce its per-class predictions, so another "
        f"version of scaleplan wrote it{blend}; it is simulated on a model calibrated to its "
        "record, which no measurement supports: re-optimize (scaleplan optimize) to plan and "
        "simulate on this version's model"
    ]


def steps_for_plan(
    plan: Plan,
    name: str,
    *,
    accelerators: Sequence[Accelerator],
    profile_pts: dict[str, list[Point]] | None = None,
    step_override: Callable[[Allocation], eng.StepTime | None] | None = None,
    source: StepSource = "auto",
) -> tuple[list[eng.StepTime], list[str]]:
    """One step-time function per allocation, and where it came from: the LLM performance model
    (``auto`` when the spec names an architecture, or ``model``), else TTFT/TPOT points; PlanError
    (exit 3) naming the allocations without either."""
    steps: list[eng.StepTime] = []
    sources: list[str] = []
    problems: list[Problem] = []
    arch = plan_architecture(plan, name)  # a bad record is an error, not a fall-back to points
    for k, a in enumerate(plan.allocations):
        if step_override is not None:
            st = step_override(a)
            if st is not None:
                steps.append(st)
                sources.append("given step model")
                continue
        unsized = ""
        if source in ("auto", "model"):
            d, why = model_deployment(plan, a, accelerators, arch)
            if d is not None:
                steps.append(ModelStep(d))
                sources.append(why)
                continue
            if source == "model":
                problems.append(Problem(f"allocations[{k}] ({a.name})",
                    f"no LLM model step times: {why}", hint="give the spec a model.architecture "
                    "the LLM model can size here, or use --steps points"))
                continue
            if plan.spec.model.architecture is not None:  # said where the source is shown
                unsized = f" (the LLM model could not be used: {why})"
        pts, src = _points_for(plan, a, (profile_pts or {}).get(a.name))
        if not pts:
            problems.append(Problem(
                f"allocations[{k}] ({a.name})",
                "has no TTFT/TPOT data: neither llm.classes predictions with the spec classes' "
                    "input_tokens/output_tokens, nor profile points with ttft_ms/tpot_ms for "
                f"{a.accelerator} x{max(a.gpus_per_replica, 1)}",
                hint="re-run 'scaleplan optimize' with an LLM profile (scaleplan profile llm) so "
                    "the plan carries llm.classes, or pass --profile with measured TTFT/TPOT "
                    "points; give every spec class input_tokens and output_tokens",
            ))
            continue
        steps.append(step_from_points(pts))
        sources.append(src + unsized + _one_load(pts))
    if problems:
        raise PlanError(name, problems)
    return steps, sources
