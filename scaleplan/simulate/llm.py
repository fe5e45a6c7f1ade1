"""``simulate_llm(plan, ...)``: token-level simulation of an LLM plan (docs/simulate.md, "LLM plans").

Each replica is a continuous-batching server (:mod:`scaleplan.simulate.llm_engine`) configured
from the allocation's ``llm`` section (``max_num_seqs``, ``kv_cache_tokens``, ``block_size``,
``max_num_batched_tokens``, ``max_model_len``). Step times come from the allocation's TTFT/TPOT
points (the plan's per-class predictions, or a profile's measured points; see
:func:`step_from_points`). Requests arrive per class with the spec's token lengths (fixed or
lognormal) as a Poisson process over a compressed day, or from a trace; they are routed the way
the rendered manifests route them. The report gives per class TTFT, TPOT and end-to-end
percentiles against the SLO, attainment and goodput, and per window the queue, KV use and
preemptions; a saturated window (queue growing without bound) is called out.

Pure: the result depends only on the inputs and the seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import PlanError, Problem
from scaleplan.plan import Allocation, Plan
from scaleplan.simulate import llm_engine as eng
from scaleplan.simulate.failures import FAILURES, place_failure
from scaleplan.simulate.layout import check_simulatable, topology
from scaleplan.simulate.llm_trace import LlmTrace
from scaleplan.simulate.results import jsonable

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

MIN_REQUESTS_PER_CLASS = 1000  # per class per window, so that p99 rests on >= 10 requests beyond it
DEFAULT_DURATION_S = 60.0
MAX_REQUESTS = 5_000_000
SAMPLES_PER_WINDOW = 24
DEFAULT_TOKEN_BUDGET = 8192  # vLLM's max_num_batched_tokens default for online serving
LENGTHS = ("fixed", "lognormal")
PICKERS = ("queue", "kv")
# time until a replacement replica serves: node start + image pull + weight load (overridable)
NODE_START_S = 90.0
IMAGE_PULL_S = 120.0
WEIGHT_LOAD_GIB_PER_S = 1.0


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Pcts:
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    mean: float | None


@dataclass(frozen=True)
class LlmClassStats:
    name: str
    input_tokens: float
    output_tokens: float
    requests: int
    completed: int
    failed: int
    rejected: int
    ttft_ms: Pcts
    tpot_ms: Pcts
    e2e_ms: Pcts
    ttft_at_slo_pct_ms: float | None
    tpot_at_slo_pct_ms: float | None
    attainment_ttft: float | None
    attainment_tpot: float | None
    attainment_e2e: float
    attainment: float
    goodput_rps: float
    holds: bool


@dataclass(frozen=True)
class LlmWindowStats:
    window: int
    start_s: float
    end_s: float
    rps: float
    replicas: int
    requests: int
    completed_in_window: int
    ttft_ms: Pcts
    tpot_ms: Pcts
    attainment: float | None
    waiting_mean: float
    waiting_max: int
    kv_used_mean: float
    kv_used_max: float
    preemptions: int
    saturated: bool


@dataclass(frozen=True)
class LlmAllocStats:
    name: str
    accelerator: str
    capacity_type: str
    step_source: str
    max_num_seqs: int
    kv_cache_tokens: int
    token_budget: int
    requests: int
    busy: float | None
    mean_batch: float | None
    steps: int
    preemptions: int


@dataclass(frozen=True)
class LlmFailureStats:
    mode: str
    at_s: float
    window: int
    lost: dict[str, int]
    replacement_s: float
    replacement_basis: str
    back_at_s: float
    requests_after: int
    failed_requests: int
    attainment_after: float | None
    redundancy: str
    claim_tested: bool
    holds: bool


@dataclass(frozen=True)
class LlmSimResult:
    plan: str
    plan_hash: str
    mode: str
    arrivals: str
    routing: str
    lengths: str
    seed: int
    windows_simulated: tuple[int, ...]
    window_seconds: tuple[float, ...]
    slo_percentile: int
    slo_ttft_ms: float | None
    slo_tpot_ms: float | None
    slo_e2e_ms: float
    target: float
    requests: int
    completed: int
    failed: int
    rejected: int
    attainment: float
    goodput_rps: float
    meets_slo: bool
    saturated: bool
    classes: tuple[LlmClassStats, ...]
    windows: tuple[LlmWindowStats, ...]
    allocations: tuple[LlmAllocStats, ...]
    failure: LlmFailureStats | None
    series_t_s: tuple[float, ...]
    series_waiting: tuple[int, ...]
    series_running: tuple[int, ...]
    series_kv_used: tuple[float, ...]
    series_preemptions: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.meets_slo and not self.saturated and (self.failure is None or self.failure.holds)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **jsonable(dataclasses.asdict(self))}


# ---------------------------------------------------------------- step times


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
    ks = [max(p.ttft_ms / 1000.0 - a, 0.05 * p.ttft_ms / 1000.0) / p.input_tokens for p in lowest.values()]
    return eng.LinearStep(base_s=float(a), per_prefill_token_s=float(np.median(ks)), per_decode_seq_s=float(b))


def _class_tokens(plan: Plan) -> dict[str, tuple[int | None, int | None]]:
    return {c.name: (c.input_tokens, c.output_tokens) for c in plan.spec.traffic.classes}


def _points_for(plan: Plan, a: Allocation, profile_points: Sequence[Point] | None) -> tuple[list[Point], str]:
    toks = _class_tokens(plan)
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


def profile_points(profile: Any, accelerator: str, gpus: int, classes: dict[str, tuple[int | None, int | None]]) -> list[Point]:
    """TTFT/TPOT points of a Profile for one accelerator and GPU count (class tokens from the spec)."""
    out: list[Point] = []
    for m in profile.measurements:
        if m.accelerator != accelerator or m.gpus != max(gpus, 1) or m.ttft_ms is None or m.tpot_ms is None:
            continue
        i, o = classes.get(m.request_class or "", (None, None))
        if i is None and len(classes) == 1:
            i, o = next(iter(classes.values()))
        if i is None or o is None:
            continue
        out.append(Point(m.concurrency or m.batch_size, i, o, m.ttft_ms.p50, m.tpot_ms.p50))
    return out


# ---------------------------------------------------------------- checks


def is_llm_plan(plan: Plan) -> bool:
    """LLM mode: an allocation has an ``llm`` section, or the SLO has TTFT/TPOT targets."""
    return any(a.llm is not None for a in plan.allocations) or plan.spec.slo.ttft_ms is not None or plan.spec.slo.tpot_ms is not None


def _config(plan: Plan, a: Allocation, step: eng.StepTime) -> eng.ReplicaConfig:
    llm = a.llm
    toks = [i + o for i, o in _class_tokens(plan).values() if i is not None and o is not None]
    longest = max(toks, default=2048)
    if llm is None:
        # no llm section: the operating point's batch is the concurrency; KV is not limiting
        seqs = a.operating_point.batch_size
        mml = max(longest, 1)
        return eng.ReplicaConfig(seqs, 10**12, 16, max(DEFAULT_TOKEN_BUDGET, mml), 10**9, step)
    budget = llm.max_num_batched_tokens or max(DEFAULT_TOKEN_BUDGET, llm.max_model_len)
    kv = llm.kv_cache_tokens if llm.kv_cache_tokens > 0 else 10**12
    return eng.ReplicaConfig(llm.max_num_seqs, kv, llm.block_size, budget, llm.max_model_len, step)


class ModelStep:
    """Step time from the LLM performance model (:func:`scaleplan.llm.perf.step_time_ms`) of one
    deployment: the simulator's steps cost exactly what the model says one step costs."""

    SEGMENT = 4096  # context tokens per verified linear segment of a decode-only step

    def __init__(self, deployment: Any) -> None:
        from scaleplan.llm.perf import step_time_ms

        self.deployment = deployment
        self._f = step_time_ms
        self._lines: dict[tuple[int, int], tuple[float, float] | None] = {}

    def exact(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float, decode_seqs: int, context_tokens: float) -> float:
        return float(self._f(
            self.deployment, prefill_tokens=prefill_tokens, prefill_seqs=prefill_seqs, prefill_pairs=prefill_pairs,
            decode_seqs=decode_seqs, context_tokens_total=context_tokens,
        ).ms) / 1000.0

    def __call__(self, prefill_tokens: int, prefill_seqs: int, prefill_pairs: float, decode_seqs: int, context_tokens: int) -> float:
        if prefill_tokens:
            return self.exact(prefill_tokens, prefill_seqs, prefill_pairs, decode_seqs, context_tokens)
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


def model_deployment(plan: Plan, a: Allocation) -> tuple[Any, str]:
    """The LLM model's deployment of one allocation (spec model + accelerator + TP), or (None,
    why not). Calibration: when the plan's per-class predictions differ from the uncalibrated
    model's by more than 2 %, the model is calibrated to them (:func:`scaleplan.llm.calibrate.calibrate`)
    so the simulation runs the model the optimizer planned on."""
    if plan.spec.model.architecture is None:
        return None, "the spec has no model.architecture"
    from scaleplan.catalog.files import load_accelerators
    from scaleplan.errors import ScaleplanError
    from scaleplan.llm.calibrate import Observed, calibrate
    from scaleplan.llm.memory import Refusal
    from scaleplan.llm.perf import serve_class
    from scaleplan.llm.serving import TokenClass, setup_from_spec, size

    acc = next((x for x in load_accelerators() if x.name == a.accelerator), None)
    if acc is None:
        return None, f"accelerator {a.accelerator} is not in the accelerator table"
    toks = [TokenClass(n, i, o) for n, (i, o) in _class_tokens(plan).items() if i is not None and o is not None]
    try:
        s = setup_from_spec(plan.spec.model)
        shape = size(s, acc, max(a.gpus_per_replica, 1), toks)
    except (ScaleplanError, Refusal, ValueError, KeyError) as exc:
        return None, f"the LLM model cannot size it ({exc})"
    d = shape.deployment
    if a.llm is not None and a.llm.classes:
        by = {t.name: t for t in toks}
        obs = []
        off = 0.0
        for cname, pred in sorted(a.llm.classes.items()):
            t = by.get(cname)
            if t is None:
                continue
            p = serve_class(d, t.input_tokens, t.output_tokens, pred.concurrency)
            off = max(off, abs(math.log(p.ttft_ms / pred.ttft_ms)), abs(math.log(p.tpot_ms / pred.tpot_ms)))
            obs.append(Observed(d, t.input_tokens, t.output_tokens, pred.concurrency, ttft_ms=pred.ttft_ms, tpot_ms=pred.tpot_ms, label=cname))
        if obs and off > math.log(1.02):
            cal, _ = calibrate(obs, basis="the plan's per-class predictions")
            return d.with_calibration(cal), f"LLM model ({shape.hw.name} TP{shape.tp}), calibrated to the plan's predictions"
    return d, f"LLM model ({shape.hw.name} TP{shape.tp}, {d.calibration.basis or 'uncalibrated'})"


STEP_SOURCES = ("auto", "model", "points")


def steps_for_plan(
    plan: Plan,
    name: str,
    *,
    profile_pts: dict[str, list[Point]] | None = None,
    step_override: Callable[[Allocation], eng.StepTime | None] | None = None,
    source: str = "auto",
) -> tuple[list[eng.StepTime], list[str]]:
    """One step-time function per allocation, and where it came from: the LLM performance model
    (``auto`` when the spec names an architecture, or ``model``), else TTFT/TPOT points; PlanError
    (exit 3) naming the allocations without either."""
    steps: list[eng.StepTime] = []
    sources: list[str] = []
    problems: list[Problem] = []
    for k, a in enumerate(plan.allocations):
        if step_override is not None:
            st = step_override(a)
            if st is not None:
                steps.append(st)
                sources.append("given step model")
                continue
        if source in ("auto", "model"):
            d, why = model_deployment(plan, a)
            if d is not None:
                steps.append(ModelStep(d))
                sources.append(why)
                continue
            if source == "model":
                problems.append(Problem(f"allocations[{k}] ({a.name})", f"no LLM model step times: {why}", hint="give the spec a model.architecture the LLM model can size here, or use --steps points"))
                continue
        pts, src = _points_for(plan, a, (profile_pts or {}).get(a.name))
        if not pts:
            problems.append(Problem(
                f"allocations[{k}] ({a.name})",
                "has no TTFT/TPOT data: neither llm.classes predictions with the spec classes' input_tokens/output_tokens, nor profile points with ttft_ms/tpot_ms for "
                f"{a.accelerator} x{max(a.gpus_per_replica, 1)}",
                hint="re-run 'scaleplan optimize' with an LLM profile (scaleplan profile llm) so the plan carries llm.classes, or pass --profile with measured TTFT/TPOT points; give every spec class input_tokens and output_tokens",
            ))
            continue
        steps.append(step_from_points(pts))
        sources.append(src)
    if problems:
        raise PlanError(name, problems)
    return steps, sources


# ---------------------------------------------------------------- workload


@dataclass(frozen=True)
class Workload:
    times: F64
    cls: I64
    inp: I64
    out: I64
    names: tuple[str, ...]
    segments: tuple[tuple[float, float, int], ...]  # (t0, t1, window)
    kind: str
    notes: tuple[str, ...] = ()


def _lengths(rng: np.random.Generator, mean: int, n: int, lengths: str, sigma: float) -> I64:
    if lengths == "fixed" or sigma <= 0:
        return np.full(n, mean, dtype=np.int64)
    x = rng.lognormal(math.log(mean) - sigma * sigma / 2.0, sigma, n)
    return np.maximum(1, np.rint(x)).astype(np.int64)


def generate(
    plan: Plan,
    name: str,
    *,
    rng: np.random.Generator,
    windows: tuple[int, ...] | None,
    duration_s: float | None,
    min_per_class: int,
    lengths: str,
    sigma: float,
    rate_scale: float = 1.0,
) -> Workload:
    """Poisson arrivals per window of a compressed day; each window lasts ``duration_s`` or, by
    default, long enough for ``min_per_class`` requests of the rarest class (at least 60 s, at
    most the real window)."""
    classes = plan.spec.traffic.classes
    toks = _class_tokens(plan)
    if not classes:
        raise PlanError(name, [Problem("spec.traffic.classes", "an LLM plan needs request classes with input_tokens and output_tokens to simulate tokens", hint="add traffic.classes with input_tokens/output_tokens to the spec and re-run 'scaleplan optimize', or simulate with --trace FILE")])
    bad = [c for c, (i, o) in toks.items() if i is None or o is None]
    if bad:
        raise PlanError(name, [Problem("spec.traffic.classes", f"class(es) {', '.join(bad)} have no input_tokens/output_tokens", hint="give every class input_tokens and output_tokens (or simulate with --trace FILE)")])
    names = tuple(c.name for c in classes)
    shares = np.array([c.share for c in classes], dtype=np.float64)
    shares = shares / shares.sum()
    nwin = plan.demand.windows
    sel = tuple(range(nwin)) if windows is None else windows
    wsec = plan.demand.window_hours * 3600.0
    segs: list[tuple[float, float, int]] = []
    t = 0.0
    expected = 0.0
    for w in sel:
        rate = plan.demand.rps[w] * rate_scale
        if duration_s is not None:
            d = duration_s
        elif rate > 0:
            d = min(max(DEFAULT_DURATION_S, min_per_class / (rate * float(shares.min()))), wsec)
        else:
            d = DEFAULT_DURATION_S
        segs.append((t, t + d, w))
        expected += rate * d
        t += d
    if expected > MAX_REQUESTS:
        raise ValueError(f"about {expected:.3g} requests; the limit is {MAX_REQUESTS:.0e}: lower --duration, --min-requests or select fewer windows")
    parts_t: list[F64] = []
    for t0, t1, w in segs:
        rate = plan.demand.rps[w] * rate_scale
        if rate <= 0:
            continue
        k = int(rng.poisson(rate * (t1 - t0)))
        parts_t.append(np.sort(rng.uniform(t0, t1, k)))
    times = np.concatenate(parts_t) if parts_t else np.empty(0)
    n = len(times)
    cls = rng.choice(len(names), size=n, p=shares).astype(np.int64) if n else np.empty(0, dtype=np.int64)
    inp = np.empty(n, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for k, c in enumerate(names):
        m = cls == k
        i0, o0 = toks[c]
        assert i0 is not None and o0 is not None
        inp[m] = _lengths(rng, i0, int(m.sum()), lengths, sigma)
        out[m] = _lengths(rng, o0, int(m.sum()), lengths, sigma)
    return Workload(times, cls, inp, out, names, tuple(segs), "poisson")


def from_trace(plan: Plan, trace: LlmTrace, rng: np.random.Generator) -> Workload:
    """A trace's requests; classes by name, else the spec class nearest in (log) token counts;
    times are seconds from the start of the day (real windows)."""
    toks = {c: (i, o) for c, (i, o) in _class_tokens(plan).items() if i is not None and o is not None}
    names = tuple(toks) or ("trace",)
    times = trace.times
    notes = list(trace.notes)
    if trace.rate is not None:
        n = len(trace.input_tokens)
        times = np.zeros(n) if math.isinf(trace.rate) else np.cumsum(rng.exponential(1.0 / trace.rate, n))
    cls = np.zeros(len(times), dtype=np.int64)
    unknown: set[str] = set()
    if toks:
        li = np.log(np.array([v[0] for v in toks.values()], dtype=np.float64))
        lo = np.log(np.array([v[1] for v in toks.values()], dtype=np.float64))
        ri = np.log(trace.input_tokens.astype(np.float64))
        ro = np.log(trace.output_tokens.astype(np.float64))
        nearest = np.argmin((ri[:, None] - li[None, :]) ** 2 + (ro[:, None] - lo[None, :]) ** 2, axis=1)
        index = {c: k for k, c in enumerate(names)}
        for k, c in enumerate(trace.classes):
            if c is not None and c in index:
                cls[k] = index[c]
            else:
                if c is not None:
                    unknown.add(c)
                cls[k] = int(nearest[k])
    if unknown:
        notes.append(f"trace classes not in the spec ({', '.join(sorted(unknown))}) were matched to the nearest spec class by token counts")
    wsec = plan.demand.window_hours * 3600.0
    nwin = plan.demand.windows
    first, last = int(times[0] // wsec), int(times[-1] // wsec)
    segs = tuple((k * wsec, (k + 1) * wsec, k % nwin) for k in range(first, last + 1))
    return Workload(times, cls, trace.input_tokens, trace.output_tokens, names, segs, f"trace:{trace.name}", tuple(notes))


# ---------------------------------------------------------------- statistics


def _pcts(x_ms: F64) -> Pcts:
    if len(x_ms) == 0:
        return Pcts(None, None, None, None, None)
    q = np.percentile(x_ms, [50, 90, 95, 99])
    return Pcts(float(q[0]), float(q[1]), float(q[2]), float(q[3]), float(x_ms.mean()))


def _at(x_ms: F64, pct: int) -> float | None:
    return float(np.percentile(x_ms, pct)) if len(x_ms) else None


def replacement_delay(a: Allocation, model_gib: float) -> tuple[float, str]:
    gib = a.llm.weights_gib_per_gpu * max(a.gpus_per_replica, 1) if a.llm is not None else model_gib
    load = gib / WEIGHT_LOAD_GIB_PER_S
    return NODE_START_S + IMAGE_PULL_S + load, (
        f"node start {NODE_START_S:g} s + image pull {IMAGE_PULL_S:g} s + weight load {gib:.3g} GiB at {WEIGHT_LOAD_GIB_PER_S:g} GiB/s"
    )


# ---------------------------------------------------------------- simulate


def simulate_llm(
    plan: Plan,
    *,
    name: str | None = None,
    trace: LlmTrace | None = None,
    duration_s: float | None = None,
    min_requests: int = MIN_REQUESTS_PER_CLASS,
    windows: tuple[int, ...] | None = None,
    seed: int = 0,
    lengths: str = "fixed",
    length_sigma: float = 0.5,
    failure: str | None = None,
    fail_at_s: float | None = None,
    replace_after_s: float | None = None,
    picker: str = "queue",
    profile_pts: dict[str, list[Point]] | None = None,
    step_override: Callable[[Allocation], eng.StepTime | None] | None = None,
    rate_scale: float = 1.0,
    steps_source: str = "auto",
) -> LlmSimResult:
    """Simulate an LLM plan token by token; see the module docstring and docs/simulate.md."""
    name = name or plan.metadata.name
    check_simulatable(plan, name)
    if lengths not in LENGTHS:
        raise ValueError(f"lengths must be one of {', '.join(LENGTHS)}; got {lengths!r}")
    if picker not in PICKERS:
        raise ValueError(f"picker must be one of {', '.join(PICKERS)}; got {picker!r}")
    if not (rate_scale > 0 and math.isfinite(rate_scale)):
        raise ValueError("rate_scale must be > 0")
    if steps_source not in STEP_SOURCES:
        raise ValueError(f"steps_source must be one of {', '.join(STEP_SOURCES)}; got {steps_source!r}")
    steps, sources = steps_for_plan(plan, name, profile_pts=profile_pts, step_override=step_override, source=steps_source)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    wl = from_trace(plan, trace, rng) if trace is not None else generate(
        plan, name, rng=rng, windows=windows, duration_s=duration_s, min_per_class=min_requests,
        lengths=lengths, sigma=length_sigma, rate_scale=rate_scale,
    )
    notes: list[str] = list(wl.notes)
    topo = topology(plan, 0)
    allocs = plan.allocations
    cfgs = [_config(plan, a, steps[k]) for k, a in enumerate(allocs)]
    for a in allocs:
        if a.llm is None:
            notes.append(f"{a.name}: no llm section; max_num_seqs = the operating point's batch ({a.operating_point.batch_size}), KV cache not limiting")
    rep_cfg = [cfgs[int(ai)] for ai in topo.alloc_of]
    alloc_of = [int(x) for x in topo.alloc_of]
    segs = wl.segments
    seg_starts = np.array([s[0] for s in segs])
    serving: list[tuple[float, frozenset[int]]] = []
    for t0, _, w in segs:
        ids = frozenset(topo.offsets[ai] + j for ai in range(len(allocs)) for j in range(topo.counts[ai][w]))
        serving.append((t0, ids))

    # failure and replacement
    outages: list[eng.Outage] = []
    fstats_args: dict[str, Any] | None = None
    tf = math.inf
    if failure is not None:
        if failure not in FAILURES:
            raise ValueError(f"failure must be node, zone or spot; got {failure!r}")
        event = place_failure(plan, topo, segs, failure, fail_at_s)
        tf, lost = event.at_s, event.lost
        notes.extend(event.notes)
        delays = [replacement_delay(allocs[alloc_of[g]], plan.spec.model.memory_gib or 0.0) for g in sorted(lost)]
        if replace_after_s is not None:
            delay, basis = float(replace_after_s), "given (--replace-after)"
        elif delays:
            delay, basis = max(delays, key=lambda d: d[0])
        else:
            delay, basis = 0.0, "nothing lost"
        if failure == "spot" and replace_after_s is None:
            delay, basis = math.inf, "spot capacity is not replaced (no spot left to start); give --replace-after to model a fallback"
        outages.append(eng.Outage(frozenset(lost), tf, tf + delay))
        fstats_args = {"lost": lost, "delay": delay, "basis": basis, "window": event.window}

    # routing, as rendered
    routing: str = str(plan.spec.kubernetes.routing)
    n = len(wl.times)
    u = rng.random(n)
    rr = [0]
    if routing == "gateway-api":
        from scaleplan.weights import route_weights

        weights = route_weights(plan)
        wvec = np.array([weights.get(a.name, 0) for a in allocs], dtype=np.float64)
        if wvec.sum() <= 0:
            wvec = np.ones(len(allocs))
        cum = np.cumsum(wvec) / wvec.sum()
        alloc_pick: list[int] = np.minimum(np.searchsorted(cum, u, side="right"), len(allocs) - 1).tolist()
        rr_a = [0] * len(allocs)
        notes.append("routing: HTTPRoute static weights " + ", ".join(f"{a.name} {int(wvec[k])}" for k, a in enumerate(allocs)) + " (a share whose allocation has no running replica fails)")

        def route(i: int, t: float, view: eng.ReplicaView) -> int:
            ai = alloc_pick[i]
            ids = [g for g in view.serving_ids if alloc_of[g] == ai]
            if not ids:
                return -1
            g = ids[rr_a[ai] % len(ids)]
            rr_a[ai] += 1
            return g

        routing_desc = "gateway-api (HTTPRoute static weights)"
    elif routing == "inference-pool":

        if picker == "queue":
            def route(i: int, t: float, view: eng.ReplicaView) -> int:
                ids = view.serving_ids
                return min(ids, key=view.queue) if ids else -1
        else:
            def route(i: int, t: float, view: eng.ReplicaView) -> int:
                ids = view.serving_ids
                return max(ids, key=lambda g: (view.free_kv(g), -g)) if ids else -1

        routing_desc = f"inference-pool ({'shortest queue' if picker == 'queue' else 'most free KV'})"
    else:

        def route(i: int, t: float, view: eng.ReplicaView) -> int:
            ids = view.serving_ids
            if not ids:
                return -1
            g = ids[rr[0] % len(ids)]
            rr[0] += 1
            return g

        routing_desc = "service (even split over all pods)"

    sample_t = np.concatenate([t0 + (np.arange(SAMPLES_PER_WINDOW) + 0.5) * (t1 - t0) / SAMPLES_PER_WINDOW for t0, t1, _ in segs])
    res = eng.run(wl.times, wl.inp, wl.out, rep_cfg, alloc_of, serving, route, outages=outages, sample_t=sample_t)

    # outcomes
    slo = plan.spec.slo
    pct = slo.percentile
    target = pct / 100.0
    ok = res.outcome == eng.OK
    ttft = (res.t_first - wl.times) * 1000.0
    e2e = (res.t_done - wl.times) * 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(wl.out > 1, (res.t_done - res.t_first) * 1000.0 / np.maximum(wl.out - 1, 1), 0.0)
    good_ttft = ok & (ttft <= slo.ttft_ms) if slo.ttft_ms is not None else ok
    good_tpot = ok & (tpot <= slo.tpot_ms) if slo.tpot_ms is not None else ok
    good_e2e = ok & (e2e <= slo.latency_ms)
    good = good_ttft & good_tpot & good_e2e
    total_s = float(sum(t1 - t0 for t0, t1, _ in segs))
    cstats: list[LlmClassStats] = []
    for k, cname in enumerate(wl.names):
        m = wl.cls == k
        cnt = int(m.sum())
        mo = m & ok
        att_t = float(good_ttft[m].mean()) if cnt and slo.ttft_ms is not None else None
        att_p = float(good_tpot[m].mean()) if cnt and slo.tpot_ms is not None else None
        att_e = float(good_e2e[m].mean()) if cnt else 1.0
        att = float(good[m].mean()) if cnt else 1.0
        holds = cnt == 0 or all(x is None or x >= target for x in (att_t, att_p, att_e))
        cstats.append(LlmClassStats(
            name=cname, input_tokens=float(wl.inp[m].mean()) if cnt else 0.0, output_tokens=float(wl.out[m].mean()) if cnt else 0.0,
            requests=cnt, completed=int(mo.sum()), failed=int((m & (res.outcome == eng.FAILED)).sum()),
            rejected=int((m & (res.outcome == eng.REJECTED)).sum()),
            ttft_ms=_pcts(ttft[mo]), tpot_ms=_pcts(tpot[mo & (wl.out > 1)]), e2e_ms=_pcts(e2e[mo]),
            ttft_at_slo_pct_ms=_at(ttft[mo], pct), tpot_at_slo_pct_ms=_at(tpot[mo & (wl.out > 1)], pct),
            attainment_ttft=att_t, attainment_tpot=att_p, attainment_e2e=att_e, attainment=att,
            goodput_rps=float(good[m].sum()) / total_s if total_s > 0 else 0.0, holds=holds,
        ))

    # windows
    seg_of = np.searchsorted(seg_starts, wl.times, side="right") - 1
    done_t = np.where(ok, res.t_done, -1.0)
    wstats: list[LlmWindowStats] = []
    saturated_any = False
    for k, (t0, t1, w) in enumerate(segs):
        m = seg_of == k
        cnt = int(m.sum())
        sl = slice(k * SAMPLES_PER_WINDOW, (k + 1) * SAMPLES_PER_WINDOW)
        wq = res.sample_waiting[sl]
        kv = res.sample_kv_used[sl]
        pre = res.sample_preempted[sl]
        pre_before = int(res.sample_preempted[k * SAMPLES_PER_WINDOW - 1]) if k > 0 and len(res.sample_preempted) >= k * SAMPLES_PER_WINDOW else 0
        served = int(((done_t >= t0) & (done_t < t1)).sum())
        growth = int(wq[-1]) - int(wq[0]) if len(wq) else 0
        sat = cnt > 0 and growth > max(20, 0.05 * cnt) and served < 0.95 * cnt
        saturated_any = saturated_any or sat
        if sat:
            notes.append(
                f"window {w}: SATURATED, the queue grows without bound: offered {cnt / (t1 - t0):.3g} req/s, served {served / (t1 - t0):.3g} req/s, "
                f"waiting {int(wq[0])} -> {int(wq[-1])} requests over {t1 - t0:g} s"
            )
        wstats.append(LlmWindowStats(
            window=w, start_s=t0, end_s=t1, rps=plan.demand.rps[w] * rate_scale if trace is None else cnt / (t1 - t0),
            replicas=len(serving[k][1]), requests=cnt, completed_in_window=served,
            ttft_ms=_pcts(ttft[m & ok]), tpot_ms=_pcts(tpot[m & ok & (wl.out > 1)]),
            attainment=float(good[m].mean()) if cnt else None,
            waiting_mean=float(wq.mean()) if len(wq) else 0.0, waiting_max=int(wq.max()) if len(wq) else 0,
            kv_used_mean=float(kv.mean()) if len(kv) else 0.0, kv_used_max=float(kv.max()) if len(kv) else 0.0,
            preemptions=int(pre[-1]) - pre_before if len(pre) else 0, saturated=sat,
        ))

    # allocations
    active_s = np.zeros(len(allocs))
    for k, (t0, t1, _) in enumerate(segs):
        for g in serving[k][1]:
            active_s[alloc_of[g]] += t1 - t0
    req_alloc = np.where(res.replica >= 0, np.array([*alloc_of, 0])[np.maximum(res.replica, 0)] if alloc_of else 0, -1)
    astats: list[LlmAllocStats] = []
    for ai, a in enumerate(allocs):
        reps = [g for g in range(len(alloc_of)) if alloc_of[g] == ai]
        busy = float(res.busy_s[reps].sum()) if reps else 0.0
        astats.append(LlmAllocStats(
            name=a.name, accelerator=a.accelerator, capacity_type=a.capacity_type, step_source=sources[ai],
            max_num_seqs=cfgs[ai].max_num_seqs, kv_cache_tokens=a.llm.kv_cache_tokens if a.llm else 0,
            token_budget=cfgs[ai].token_budget, requests=int((req_alloc == ai).sum()),
            busy=min(1.0, busy / active_s[ai]) if active_s[ai] > 0 else None,
            mean_batch=float(res.seq_steps[reps].sum()) / max(int(res.steps[reps].sum()), 1) if reps else None,
            steps=int(res.steps[reps].sum()) if reps else 0, preemptions=int(res.preemptions[reps].sum()) if reps else 0,
        ))

    fstats: LlmFailureStats | None = None
    if failure is not None and fstats_args is not None:
        after = wl.times >= tf
        cnt_after = int(after.sum())
        att_after = float(good[after].mean()) if cnt_after else None
        red = plan.spec.placement.redundancy
        lost_by: dict[str, int] = {}
        for g in sorted(fstats_args["lost"]):
            nm = allocs[alloc_of[g]].name
            lost_by[nm] = lost_by.get(nm, 0) + 1
        fstats = LlmFailureStats(
            mode=failure, at_s=tf, window=fstats_args["window"], lost=lost_by,
            replacement_s=fstats_args["delay"], replacement_basis=fstats_args["basis"], back_at_s=tf + fstats_args["delay"],
            requests_after=cnt_after, failed_requests=int((res.outcome == eng.FAILED).sum()),
            attainment_after=att_after, redundancy=red,
            claim_tested=(failure == "node" and red in ("n+1", "zone")) or (failure == "zone" and red == "zone") or failure == "spot",
            holds=att_after is None or att_after >= target,
        )

    rejected = int((res.outcome == eng.REJECTED).sum())
    if rejected:
        notes.append(f"{rejected} requests longer than max_model_len (or the whole KV cache) were rejected and count as misses")
    meets = all(c.holds for c in cstats)
    return LlmSimResult(
        plan=name, plan_hash=plan.metadata.plan_hash, mode="llm", arrivals=wl.kind, routing=routing_desc, lengths=lengths if trace is None else "trace",
        seed=seed, windows_simulated=tuple(s[2] for s in segs), window_seconds=tuple(s[1] - s[0] for s in segs),
        slo_percentile=pct, slo_ttft_ms=slo.ttft_ms, slo_tpot_ms=slo.tpot_ms, slo_e2e_ms=slo.latency_ms, target=target,
        requests=n, completed=int(ok.sum()), failed=int((res.outcome == eng.FAILED).sum()), rejected=rejected,
        attainment=float(good.mean()) if n else 1.0, goodput_rps=float(good.sum()) / total_s if total_s > 0 else 0.0,
        meets_slo=meets, saturated=saturated_any, classes=tuple(cstats), windows=tuple(wstats), allocations=tuple(astats),
        failure=fstats, series_t_s=tuple(res.sample_t.tolist()), series_waiting=tuple(res.sample_waiting.tolist()),
        series_running=tuple(res.sample_running.tolist()), series_kv_used=tuple(res.sample_kv_used.tolist()),
        series_preemptions=tuple(res.sample_preempted.tolist()), notes=tuple(notes),
    )
