"""The requests the LLM simulator serves: per window of a compressed day, Poisson arrivals
split over the spec's classes with their token lengths (fixed or lognormal), each window long
enough for the rarest class to reach a p99; or a trace's requests, matched to spec classes.

Pure: the result depends only on the plan, the arguments and the generator's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import PlanError, Problem
from scaleplan.kube.weights import peak_window
from scaleplan.llm.lengths import lognormal_mu
from scaleplan.plan import Plan
from scaleplan.simulate.arrivals import bursty, poisson
from scaleplan.simulate.layout import Segment, trace_segments
from scaleplan.simulate.llm_replicas import class_tokens
from scaleplan.simulate.llm_trace import LlmTrace
from scaleplan.simulate.surge import Surge, check_within, pieces, surge_default_s

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MIN_REQUESTS_PER_CLASS = 1000  # per class per window, so that p99 rests on >= 10 requests beyond it
DEFAULT_DURATION_S = 60.0
MAX_REQUESTS = 5_000_000
Lengths = Literal["spec", "fixed", "lognormal"]
LENGTHS: tuple[Lengths, ...] = ("spec", "fixed", "lognormal")
ArrivalProcess = Literal["poisson", "bursty"]
ARRIVAL_PROCESSES: tuple[ArrivalProcess, ...] = ("poisson", "bursty")


@dataclass(frozen=True)
class Workload:
    """The requests of one run: arrival times, class index, token lengths; the segments of the
    simulated day; a label (``poisson`` or ``trace:NAME``); notes."""

    times: F64
    cls: I64
    inp: I64
    out: I64
    names: tuple[str, ...]
    segments: tuple[Segment, ...]
    kind: str
    notes: tuple[str, ...] = ()
    drawn: bool = False  # a trace of arrival times only: the classes and tokens were drawn
    lengths: str = "fixed"  # how the tokens were drawn (class_sigmas' label)


def _lengths(rng: np.random.Generator, mean: int, n: int, sigma: float) -> I64:
    """``n`` token lengths: all ``mean`` (``sigma`` 0), or lognormal with that mean and shape
    (:func:`scaleplan.llm.lengths.lognormal_mu`: the optimizer's arithmetic)."""
    if sigma <= 0:
        return np.full(n, mean, dtype=np.int64)
    x = rng.lognormal(lognormal_mu(mean, sigma), sigma, n)
    return np.maximum(1, np.rint(x)).astype(np.int64)


Sigmas = dict[str, tuple[float, float]]


def class_sigmas(plan: Plan, lengths: Lengths, sigma: float) -> tuple[Sigmas, str, list[str]]:
    """Per spec class, the lognormal shapes of its prompt and completion lengths (0: fixed);
    the run's label; notes. ``spec`` (the default) draws each class as the spec states
    (``traffic.classes[].lengths``; fixed without one), ``fixed`` every class at its means,
    ``lognormal`` every class with shape ``sigma`` (the options override the spec)."""
    from scaleplan.spec_lengths import spread_of

    spreads = {c.name: spread_of(c) for c in plan.spec.traffic.classes}
    stated = {k: s for k, s in spreads.items() if s is not None}
    said = "; ".join(f"{k}: {s.label()}" for k, s in stated.items())
    if lengths == "lognormal":
        out = dict.fromkeys(spreads, (sigma, sigma))
    elif lengths == "fixed":
        out = dict.fromkeys(spreads, (0.0, 0.0))
    else:
        out = {k: (s.input_sigma, s.output_sigma) if s else (0.0, 0.0) for k, s in spreads.items()}
    notes = []
    if stated and lengths != "spec":
        notes.append(f"--lengths {lengths} overrides the spec's length spread ({said})")
    if lengths != "spec" or not stated:
        return out, "fixed" if lengths == "spec" else lengths, notes
    rest = [k for k in spreads if k not in stated]
    label = f"the spec's ({said}{'; ' + ', '.join(rest) + ': fixed' if rest else ''})"
    return out, label, notes


def generate(
    plan: Plan,
    name: str,
    *,
    rng: np.random.Generator,
    windows: tuple[int, ...] | None,
    duration_s: float | None,
    min_per_class: int,
    lengths: Lengths,
    sigma: float,
    rate_scale: float = 1.0,
    arrivals: ArrivalProcess = "poisson",
    surge: Surge | None = None,
) -> Workload:
    """Poisson (or bursty: :func:`scaleplan.simulate.arrivals.bursty`, the request-level
    simulator's MMPP) arrivals per window of a compressed day; each window lasts ``duration_s``
    or, by default, long enough for ``min_per_class`` requests of the rarest class (at least
    60 s, at most the real window; a ``surge``'s window also as long again after the surge as
    it lasts). The ``surge`` runs its factor x the rate (:mod:`scaleplan.simulate.surge`)."""
    names, shares = _class_mix(plan, name)
    nwin = plan.demand.windows
    sel = tuple(range(nwin)) if windows is None else windows
    wsec = plan.demand.window_hours * 3600.0
    segs: list[Segment] = []
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
        if surge is not None and duration_s is None:
            d = min(max(d, surge_default_s(surge)), wsec)
        segs.append((t, t + d, w))
        expected += sum((b - a) * r for a, b, r in pieces(t, t + d, rate, surge))  # surge's too
        t += d
    if expected > MAX_REQUESTS:
        smaller = ", a smaller --surge" if surge is not None else ""
        raise ValueError(f"about {expected:.3g} requests; the limit is {MAX_REQUESTS:.0e}: lower "
            f"--duration, --min-requests{smaller} or select fewer windows")
    if surge is not None:  # one window (the command's check): the surge within it
        check_within(surge, segs[-1][1], segs[-1][2])
    process = bursty if arrivals == "bursty" else poisson
    scaled = [(t0, t1, plan.demand.rps[w] * rate_scale) for t0, t1, w in segs]
    rates = [p for t0, t1, r in scaled for p in pieces(t0, t1, r, surge)]
    parts_t = [process(rng, t0, t1, rate) for t0, t1, rate in rates if rate > 0]
    times = np.concatenate(parts_t) if parts_t else np.empty(0)
    sigmas, label, notes = class_sigmas(plan, lengths, sigma)
    cls, inp, out = _draw(plan, rng, len(times), names, shares, sigmas)
    return Workload(times, cls, inp, out, names, tuple(segs), arrivals, tuple(notes), lengths=label)


def _class_mix(plan: Plan, name: str) -> tuple[tuple[str, ...], F64]:
    """The spec's class names and shares (summing to 1); PlanError when a class lacks tokens."""
    classes = plan.spec.traffic.classes
    toks = class_tokens(plan)
    if not classes:
        raise PlanError(name, [Problem("spec.traffic.classes",
            "an LLM plan needs request classes with input_tokens and output_tokens to simulate "
            "tokens", hint="add traffic.classes with input_tokens/output_tokens to the spec and "
            "re-run 'scaleplan optimize', or simulate with --trace FILE")])
    bad = [c for c, (i, o) in toks.items() if i is None or o is None]
    if bad:
        raise PlanError(name, [Problem("spec.traffic.classes",
            f"{'class' if len(bad) == 1 else 'classes'} {', '.join(bad)} "
            f"{'has' if len(bad) == 1 else 'have'} no input_tokens/output_tokens",
            hint="give every class input_tokens and output_tokens (or simulate with --trace FILE)")])
    shares = np.array([c.share for c in classes], dtype=np.float64)
    return tuple(c.name for c in classes), shares / shares.sum()


def _draw(
    plan: Plan, rng: np.random.Generator, n: int, names: tuple[str, ...], shares: F64,
    sigmas: Sigmas,
) -> tuple[I64, I64, I64]:
    """``n`` requests' classes (by ``shares``) and token counts (:func:`_lengths`)."""
    toks = class_tokens(plan)
    cls = (rng.choice(len(names), size=n, p=shares).astype(np.int64) if n
        else np.empty(0, dtype=np.int64))
    inp = np.empty(n, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for k, c in enumerate(names):
        m = cls == k
        i0, o0 = toks[c]
        assert i0 is not None and o0 is not None
        inp[m] = _lengths(rng, i0, int(m.sum()), sigmas[c][0])
        out[m] = _lengths(rng, o0, int(m.sum()), sigmas[c][1])
    return cls, inp, out


def _drawn(
    plan: Plan, trace: LlmTrace, rng: np.random.Generator, lengths: Lengths, sigma: float,
    windows: tuple[int, ...] | None,
) -> Workload:
    """A trace of arrival times only: each request's class and tokens drawn as :func:`generate`
    draws them."""
    names, shares = _class_mix(plan, trace.name)
    sigmas, label, notes = class_sigmas(plan, lengths, sigma)
    notes = [*notes, *_times_kept(windows)]
    cls, inp, out = _draw(plan, rng, len(trace.times), names, shares, sigmas)
    segs = tuple(trace_segments(plan, trace.times))
    kind = f"trace:{trace.name}"
    return Workload(
        trace.times, cls, inp, out, names, segs, kind, (*trace.notes, *notes), drawn=True,
        lengths=label,
    )


def _times_kept(windows: tuple[int, ...] | None) -> tuple[str, ...]:
    """The note for ``--windows`` given with a trace whose requests have times."""
    if windows is None:
        return ()
    return ("--windows does not apply to a trace with arrival times: each request keeps its "
            "time of day",)


def from_trace(
    plan: Plan, trace: LlmTrace, rng: np.random.Generator,
    lengths: Lengths = "spec", sigma: float = 0.5, windows: tuple[int, ...] | None = None,
) -> Workload:
    """A trace's requests, times in seconds from the start of the day (real windows). Classes by
    name (a name not in the spec: the spec class nearest in (log) token counts); a request
    without one is labelled 'trace' (its lengths are the trace's, not a class's). Arrival times
    only: classes drawn by the spec's shares, tokens as :func:`generate` draws them. A trace
    without times (a vLLM result at its rate) starts at the first of ``windows`` (``--windows``),
    else at the peak window's start; a trace with times keeps them (``windows`` is noted)."""
    if not trace.lengths_given:
        return _drawn(plan, trace, rng, lengths, sigma, windows)
    toks = {c: (i, o) for c, (i, o) in class_tokens(plan).items() if i is not None
        and o is not None}
    bare = sum(c is None for c in trace.classes)
    names = (*toks, "trace") if bare or not toks else tuple(toks)
    times = trace.times
    notes = list(trace.notes)
    if bare and toks:
        notes.append(
            f"{bare} of the trace's requests name no class: they are labelled 'trace' (their"
            " lengths are the trace's; no spec class's)"
        )
    if trace.rate is not None:
        n = len(trace.input_tokens)
        start = windows[0] if windows else peak_window(plan.demand.rps)
        times = (np.zeros(n) if math.isinf(trace.rate)
            else np.cumsum(rng.exponential(1.0 / trace.rate, n)))
        times = times + start * plan.demand.window_hours * 3600.0
        which = "the first window --windows selects" if windows else "the peak window"
        notes.append(f"replayed from the start of window {start} ({which})")
    else:
        notes.extend(_times_kept(windows))
    cls = np.zeros(len(times), dtype=np.int64)
    unknown: set[str] = set()
    if toks:
        li = np.log(np.array([v[0] for v in toks.values()], dtype=np.float64))
        lo = np.log(np.array([v[1] for v in toks.values()], dtype=np.float64))
        ri = np.log(trace.input_tokens.astype(np.float64))
        ro = np.log(trace.output_tokens.astype(np.float64))
        nearest = np.argmin((ri[:, None] - li[None, :]) ** 2 + (ro[:, None] - lo[None, :]) ** 2,
            axis=1)
        index = {c: k for k, c in enumerate(names)}
        for k, c in enumerate(trace.classes):
            if c is None:
                cls[k] = len(toks)  # 'trace'
            elif c in index:
                cls[k] = index[c]
            else:
                unknown.add(c)
                cls[k] = int(nearest[k])
    if unknown:
        notes.append(f"trace classes not in the spec ({', '.join(sorted(unknown))}) were matched "
            "to the nearest spec class by token counts")
    used = sorted(set(cls.tolist()))  # the classes the trace's requests have, in spec order
    cls = np.searchsorted(np.array(used, dtype=np.int64), cls).astype(np.int64)
    segs = tuple(trace_segments(plan, times))
    kept = tuple(names[k] for k in used)
    ins, outs = trace.input_tokens, trace.output_tokens
    return Workload(times, cls, ins, outs, kept, segs, f"trace:{trace.name}", tuple(notes))
