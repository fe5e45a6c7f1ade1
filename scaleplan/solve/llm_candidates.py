"""Candidates of an LLM spec (``model.architecture`` set): every GPU shape the LLM room sizes
(:mod:`scaleplan.solve.llm_capacity`), at its SLO concurrency, with the diagnostics of the
shapes it refuses or that miss the SLO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.catalog.model import Catalog, InstanceRow
from scaleplan.profile.model import Profile
from scaleplan.solve.candidates import (
    Candidate,
    Diagnostics,
    capacity_types,
    finish_candidates,
    priced,
)
from scaleplan.solve.oppoints import OpPoint, evaluate
from scaleplan.solve.shapes import gpu_counts, gpu_room, gpu_shape, roomiest
from scaleplan.spec import Spec

if TYPE_CHECKING:
    from scaleplan.llm.epp import PoolMember
    from scaleplan.llm.memory import ShapeRefusal
    from scaleplan.llm.perf import ClassPerf
    from scaleplan.llm.serving import LlmSetup
    from scaleplan.solve.llm_capacity import LlmMisses, LlmShapePoints


def build_llm_candidates(
    spec: Spec, profile: Profile | None, catalog: Catalog, rows: list[InstanceRow],
    classes: list[str], diag: Diagnostics, max_util: float | None, spec_dir: Path | None,
) -> tuple[list[Candidate], Diagnostics]:
    """Candidates of an LLM spec: every GPU shape the LLM room sizes, at its SLO concurrency.
    ``rows``: the catalog rows placement allows; ``classes``: the spec's request classes, as
    :func:`~scaleplan.solve.candidates.build_candidates` derived them (once)."""
    from scaleplan.llm.hardware import hardware, missing_facts
    from scaleplan.llm.memory import ShapeRefusal, splits
    from scaleplan.llm_inputs import own_points
    from scaleplan.solve.llm_capacity import (
        LlmMisses,
        LlmShapePoints,
        architecture_record,
        left_out,
        llm_context,
        shape_points,
        slo_miss,
    )

    ctx = llm_context(spec, profile, catalog.accelerators, spec_dir, catalog.node_gpus())
    assert ctx is not None
    diag.architecture = architecture_record(spec, ctx)
    diag.llm_calibration = ctx.calibration.basis if ctx.calibration else None
    if ctx.calibration is None and profile is not None:  # model.profile's points, not hours
        diag.llm_points_unused = len(own_points(profile.measurements))  # --observed added
        diag.llm_profile_unused = "points-left-out" if diag.llm_points_unused else "estimates-only"
    diag.warnings.extend(ctx.notes)
    flagged_precision(spec, catalog, ctx.setup, diag)
    modelled = {a.name for a in catalog.accelerators if hardware(a) is not None}
    diag.profile_accelerators = modelled
    # said for the accelerators placement names, as any other left out (llm_capacity.left_out);
    # with none named, every AWS LLM plan warned of Inferentia, Trainium and the like
    named = set(spec.placement.accelerators or ())
    unmodelled = {r.accelerator for r in rows if r.accelerator in named}
    for name in sorted(x for x in unmodelled if x not in modelled):
        a = catalog.accelerator(name)
        lacks = missing_facts(a) if a else "its specs"
        diag.warnings.append(
            f"{name} is left out: the accelerator table lacks {lacks}, which the LLM model "
            "needs (add them with --catalog)"
        )
        diag.left_out[name] = "left out: the accelerator table lacks its specs"
    caps = capacity_types(spec)
    out: list[Candidate] = []
    best_mem: tuple[str, float, int] | None = None
    refused: set[str] = set()
    sized: set[str] = set()
    # accelerator -> (GPUs, refusal): its first, or for memory the most GPUs tried (the shape
    # nearest to fitting: DeepSeek-V3 on 8 x H100, not on 1)
    why_not: dict[str, tuple[int, ShapeRefusal]] = {}
    missed: dict[str, tuple[int, str, str, float]] = {}  # accelerator -> (GPUs, class, metric, ms)
    misses = LlmMisses()
    # a shape's derated points are one per (accelerator, GPUs, memory): every row of it reads
    # them (the queue of queue_derating is the shape's, not the row's)
    derated: dict[tuple[str, int, float], dict[str, OpPoint]] = {}
    for r in rows:
        acc = r.accelerator
        if acc is None or acc not in modelled:
            continue
        accel = catalog.accelerator(acc)
        assert accel is not None
        gmem, maxg = gpu_room(spec, r, accel)
        best_mem = roomiest(best_mem, acc, gmem, maxg)
        # more GPUs per replica is a fix only where a node holds a shape past the cap that
        # splits the model (UX trial 37 F11: A100 x16 nodes, 40 heads, TP16 cannot)
        diag.gpus_capped |= any(
            splits(ctx.setup.arch, ctx.setup.pipeline_parallel, g)
            for g in gpu_counts(r, r.accelerator_count) if g > maxg
        )
        for g in gpu_counts(r, maxg):
            res = shape_points(ctx, spec, accel, g, gmem)
            if isinstance(res, ShapeRefusal):
                was = why_not.get(acc)
                if was is None or (res.memory and was[1].memory and g > was[0]):
                    why_not[acc] = (g, res)
                if res.message not in refused:
                    refused.add(res.message)
                    diag.llm_refusals.append(res)
                continue
            diag.shapes_fitting += 1
            sized.add(acc)
            if not isinstance(res, LlmShapePoints):
                cls, first = next(iter(res.items()))
                miss = (g, cls, *slo_miss(spec, first, cls))
                if acc not in missed or _over(spec, miss) < _over(spec, missed[acc]):
                    missed[acc] = miss  # the shape nearest the SLO, not the first one tried
                _note_misses(spec, diag, misses, acc, g, res.items())
                continue
            for cls, _ in res.points:
                misses.note(cls, acc, g, {})
            _note_misses(spec, diag, misses, acc, g, res.misses)  # a class it cannot serve
            key = (acc, g, gmem)
            if key not in derated:
                derated[key] = _derated(spec, res, max_util)
            pts = derated[key]
            if not pts:
                continue
            shape = gpu_shape(r, g, spec.kubernetes, pts)
            if shape is not None:
                made = priced(r, caps, acc, [shape], classes, res.serving)
                out.extend(_in_pool(spec, res, made))
    # each accelerator's nearest refusal first (the most GPUs tried, for memory), so that the
    # exit-4 message, which shows three, shows those: Llama-3.1-405B on L4 read TP1, TP2 and
    # TP4 'and 1 more', the TP8 nearest to fitting left out (UX trial 25)
    nearest = [r for _, r in (why_not[a] for a in sorted(why_not))]
    diag.llm_refusals.sort(key=lambda r: r not in nearest)
    misses.diagnose(diag)
    diag.warnings.extend(_proxy_warnings(catalog, sized))
    reasons = {acc: r.message for acc, (_, r) in why_not.items()}
    _left_out_reasons(diag, why_not, missed)
    diag.warnings.extend(left_out(spec, {c.accelerator for c in out}, reasons, missed))
    out = pool_known(out, diag.warnings, spec.kubernetes.routing == "inference-pool")
    return finish_candidates(spec, out, classes, diag, best_mem)


def _left_out_reasons(
    diag: Diagnostics, why_not: dict[str, tuple[int, ShapeRefusal]], missed: Iterable[str]
) -> None:
    """Diagnostics.left_out of the accelerators some shape of which was refused or missed the
    SLO, in a few words, as llm_capacity.left_out says them (the SLO first)."""
    for acc, (_, ref) in why_not.items():
        diag.left_out[acc] = (
            "left out: no shape fits in its memory" if ref.memory or ref.weights
            else "left out: it lacks the model's precision" if ref.dtype
            else "left out: no shape of it fits"
        )
    diag.left_out.update(dict.fromkeys(missed, "left out: no shape holds the SLO even alone"))


def _in_pool(spec: Spec, res: LlmShapePoints, made: list[Candidate]) -> list[Candidate]:
    """``made`` with their pod as the endpoint picker sees it (:attr:`Candidate.pool`) under
    routing: inference-pool; as they are otherwise."""
    if spec.kubernetes.routing != "inference-pool":
        return made
    member = _pool_member(spec, res)
    return [replace(c, pool=member) for c in made]


def pool_known(
    cands: list[Candidate], warnings: list[str], in_pool: bool = True
) -> list[Candidate]:
    """Under routing: inference-pool, ``cands`` without the shapes whose pod the endpoint
    picker's split cannot be worked out for (:attr:`Candidate.pool` None: no KV cache or no
    positive rate, :func:`scaleplan.llm.epp.pool_member`) while other shapes' can, with a warning
    naming them; a pool is then sized for the picker's split over the shapes it knows. Until
    2026-12-06 one such candidate made the whole pool fall back, silently, to sizing in
    proportion to capacity, which a pool of several shapes does not get (r1 review 38 item 3).
    Where no shape's split is known and there are several, every candidate is kept, with a
    warning that the pool is sized in proportion to capacity. Unchanged otherwise (every
    shape known, one shape, or not ``in_pool``: another routing)."""
    if not in_pool:
        return cands
    known = [c for c in cands if c.pool is not None]
    unknown = sorted({(c.accelerator, c.gpus_per_replica) for c in cands if c.pool is None})
    if not known or not unknown:
        shapes = {(c.accelerator, c.gpus_per_replica) for c in cands}
        if not known and cands and cands[0].llm is not None and len(shapes) > 1:
            warnings.append(
                "routing: inference-pool: the endpoint picker's KV-cache split is not known for "
                f"any of the {len(shapes)} pod shapes (no KV cache or rates), so the pool is "
                "sized in proportion to capacity, which the picker does not give pods of "
                "different shapes; check the plan with scaleplan simulate at peak x "
                "(1 + headroom)"
            )
        return cands
    named = ", ".join(f"{acc} x{g}" for acc, g in unknown)
    they = "its pods" if len(unknown) == 1 else "their pods"
    warnings.append(
        f"routing: inference-pool: {named} {'is' if len(unknown) == 1 else 'are'} left out: "
        f"the endpoint picker's KV-cache split over {they} cannot be worked out (no KV cache "
        "or rates), so a pool with them could not be sized for it (docs/llm.md, Endpoint "
        "picker)"
    )
    return known


def _pool_member(spec: Spec, res: LlmShapePoints) -> PoolMember | None:
    """The shape's pod as an inference pool's endpoint picker sees it
    (:func:`scaleplan.llm.epp.pool_member`): its KV cache, and per class it serves its share
    of the traffic (1 for a spec without classes), tokens, TTFT and TPOT predicted at its
    ``max_num_seqs`` and its rates with 1, 2, ... sequences in flight, scaled as the queue
    derating scales them (:func:`scaleplan.solve.llm_capacity.band_rates`: the low end of the
    rate's band under placement.conservative), so the split is on the basis the pods'
    capacities are (until 2026-12-06 the central rates: r1 review 38 item 4)."""
    from scaleplan.llm.epp import pool_member
    from scaleplan.solve.llm_capacity import band_rates

    share = {c.name: c.share for c in spec.traffic.classes}
    rates = dict(res.rates)
    rows = []
    for name, m in res.points:
        p = res.serving.classes.get(name)
        if p is None or not m.input_tokens or not m.output_tokens:
            continue
        toks = (m.input_tokens, m.output_tokens)
        secs = (p.ttft_ms / 1000, p.tpot_ms / 1000)
        rows.append((share.get(name, 1.0), *toks, *secs, band_rates(spec, m, rates.get(name, ()))))
    return pool_member(res.serving.kv_cache_tokens, rows)


def _over(spec: Spec, miss: tuple[int, str, str, float]) -> float:
    """How far a shape's miss (GPUs, class, metric, ms) is over the SLO's limit of its metric,
    as a ratio: a left-out accelerator is said at its shape nearest to holding the SLO (the
    first shape tried, 2 of 8 A100s at 10.8 s against a 2.5 s TTFT, hid that 8 reach 3.7 s:
    UX review 18 F1)."""
    slo = spec.slo_of(miss[1])
    limit = {"ttft": slo.ttft_ms, "tpot": slo.tpot_ms}.get(miss[2], slo.tested_latency_ms)
    return miss[3] / limit if limit else miss[3]


def _derated(spec: Spec, res: LlmShapePoints, max_util: float | None) -> dict[str, OpPoint]:
    """The shape's points derated: by ``--max-utilization`` when given, else by the one
    queue of the replica's class mix (:func:`scaleplan.solve.llm_capacity.queue_derating`)."""
    from scaleplan.solve.llm_capacity import queue_derating

    busy = queue_derating(spec, res) if max_util is None else {}
    pts: dict[str, OpPoint] = {}
    for cls, m in res.points:
        u = busy.get(cls, 0.0) if max_util is None else max_util
        op = evaluate(spec, m, u, 1.0, False, "llm-estimate")
        if op is not None:
            pts[cls] = op if max_util is not None else replace(op, queueing="slots")
    return pts


def _note_misses(
    spec: Spec, diag: Diagnostics, misses: LlmMisses, acc: str, gpus: int,
    unserved: Iterable[tuple[str, ClassPerf]],
) -> None:
    """Record, for the diagnosis, what one shape misses for each class it cannot serve (before
    UX review 5, only shapes that served no class were recorded: "the best" was the slowest)."""
    from scaleplan.solve.llm_capacity import slo_miss, slo_misses

    for cls, p in unserved:
        metric, val = slo_miss(spec, p, cls)
        cur = diag.slo_best.get(cls)
        if cur is None or (cur[1] == metric and val < cur[2]):
            diag.slo_best[cls] = (acc, metric, val, 1, gpus)
        misses.note(cls, acc, gpus, slo_misses(spec, p, cls))


def _proxy_warnings(catalog: Catalog, sized: set[str]) -> list[str]:
    """The proxied-peak warning of every accelerator a shape was sized on (docs/llm.md)."""
    from scaleplan.llm.hardware import hardware, proxy_warning

    hws = [hardware(a) for a in catalog.accelerators if a.name in sized]
    return [w for w in (proxy_warning(h) for h in hws if h is not None) if w]


def precision_refusals(spec: Spec, catalog: Catalog, setup: LlmSetup) -> dict[str, str]:
    """Each accelerator ``placement.accelerators`` names (by its catalog name) that the LLM
    model cannot run at the spec's precision, with optimize's warning of it (``llm_capacity
    .left_out``: "A100-80GB is left out: llama-3.3-70b-instruct in fp8: A100-80GB (Ampere) has
    no FP8 tensor cores; ...")."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware

    out: dict[str, str] = {}
    for named in spec.placement.accelerators or ():
        name = catalog.resolve(named)
        acc = catalog.accelerator(name) if name is not None else None
        hw = hardware(acc) if acc is not None else None
        if name is None or hw is None:
            continue
        try:
            hw.compute_peak_tflops(setup.dtype)
            hw.check_kv_dtype(setup.kv_dtype)
        except UnsupportedDtype as exc:
            out[name] = f"{name} is left out: {setup.arch.name} in {setup.dtype}: {exc}"
    return out


def flagged_precision(spec: Spec, catalog: Catalog, setup: LlmSetup, diag: Diagnostics) -> None:
    """Allowed accelerators left out for their flags that could not run the model's precision
    anyway (A100-80GB under ``model.dtype: fp8``) are no way out: UX trial 28 was told "plan on
    A100-80GB (allowed, but every catalog row of it here is flagged ...), or set
    placement.include_flagged: true", and with it got the same exit 4 and no word of the A100.
    They leave ``diag.flagged_only`` (the exit-4 fix, the fastest-accelerator baseline), and
    their flags warning (whose fix is include_flagged) gives way to the precision's reason."""
    for name, why in precision_refusals(spec, catalog, setup).items():
        if name not in diag.flagged_only:
            continue
        diag.flagged_only = tuple(a for a in diag.flagged_only if a != name)
        flags = f"{name} is left out in "  # placement.flagged_out's warning of it
        diag.warnings[:] = [w for w in diag.warnings if not w.startswith(flags)]
        diag.warnings.append(f"{why} (its catalog rows here are also flagged)")
