"""The pod an inference pool's endpoint picker sees (``llm_candidates._pool_member``) and the
queue derating (``llm_capacity.queue_derating``) read a shape's rates on one basis, and no
rate of 0 divides in either (r1 review 38 items 4 and 7)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from test_solve_pool_epp import _mixed_spec

from scaleplan.inputs import load_inputs
from scaleplan.llm.epp import pool_member
from scaleplan.solve.llm_candidates import _pool_member
from scaleplan.solve.llm_capacity import (
    LlmShapePoints,
    llm_context,
    queue_derating,
    shape_points,
)
from scaleplan.spec import Spec


def _shape(tmp_path: Path, conservative: bool) -> tuple[Spec, LlmShapePoints]:
    """The test spec's 1 x L40S shape (three classes), sized by the real LLM model."""
    path = _mixed_spec(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["placement"]["conservative"] = conservative
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    inp = load_inputs(str(path))
    cat = inp.catalog
    ctx = llm_context(inp.spec, inp.profile, cat.accelerators, path.parent, cat.node_gpus())
    assert ctx is not None
    acc = cat.accelerator("L40S")
    assert acc is not None
    res = shape_points(ctx, inp.spec, acc, 1, acc.cuda_memory_gib or acc.memory_gib)
    assert isinstance(res, LlmShapePoints), res
    return inp.spec, res


def _member_rows(spec: Spec, res: LlmShapePoints, scale: dict[str, float]) -> list:
    share = {c.name: c.share for c in spec.traffic.classes}
    rates = dict(res.rates)
    return [
        (
            share[name],
            m.input_tokens,
            m.output_tokens,
            res.serving.classes[name].ttft_ms / 1000,
            res.serving.classes[name].tpot_ms / 1000,
            [t * scale[name] for t in rates[name]],
        )
        for name, m in res.points
    ]


def _with_band(res: LlmShapePoints) -> LlmShapePoints:
    """``res`` with a throughput band on each class's point (+-8 %, +-4 %, ...): the LLM
    model's own points carry none, a measured point may."""
    points = tuple(
        (name, m.model_copy(update={"throughput_ci_rel": 0.08 / (i + 1)}))
        for i, (name, m) in enumerate(res.points)
    )
    return replace(res, points=points)


def test_the_pickers_pod_reads_the_band_conservative_capacity_reads(tmp_path: Path) -> None:
    """placement.conservative: the queue derating (so each pod's capacity) reads every
    class's rates at the low end of its point's throughput band (throughput_low /
    throughput); the pod the picker sees read the central ones, so shapes of different band
    widths were split on another basis than their capacities. Now the same. (The LLM
    model's points carry no band, so no shipped plan changes: conservative acts on them
    through the latency band, in max_num_seqs, which both read alike.)"""
    spec, res = _shape(tmp_path, conservative=True)
    res = _with_band(res)
    low = {name: m.throughput_low_rps() / m.throughput_rps for name, m in res.points}
    assert all(v < 0.99 for v in low.values()), low
    got = _pool_member(spec, res)
    want = pool_member(res.serving.kv_cache_tokens, _member_rows(spec, res, low))
    central = pool_member(
        res.serving.kv_cache_tokens, _member_rows(spec, res, dict.fromkeys(low, 1.0))
    )
    assert got is not None and want is not None and central is not None
    assert got.rates == pytest.approx(want.rates, rel=1e-12)
    assert got.rates[-1] < central.rates[-1] * 0.99
    # without placement.conservative the central rates, as before
    central_spec = spec.model_copy(
        update={"placement": spec.placement.model_copy(update={"conservative": False})}
    )
    got = _pool_member(central_spec, res)
    assert got is not None and got.rates == pytest.approx(central.rates, rel=1e-12)


def test_a_zero_rate_in_the_queue_derating_divides_nothing(tmp_path: Path) -> None:
    """queue_derating divided by a class's rates (its mix, its slot holding time) and raised
    ZeroDivisionError on a rate of 0. A class with no rate with every slot busy is left out,
    as one the shape has no point for (the shape does not serve it); a class at rate 0 at
    one count gives the mix 0 there, so the queue (max_rate_slots) has no rate to drain:
    nothing is derated in, rather than a traceback."""
    spec, res = _shape(tmp_path, conservative=False)
    base = queue_derating(spec, res)
    names = [name for name, _ in res.points]
    assert set(base) == set(names) and all(v > 0 for v in base.values()), base
    first, rest = res.rates[0], res.rates[1:]
    dead = replace(res, rates=((first[0], tuple(0.0 for _ in first[1])), *rest))
    got = queue_derating(spec, dead)
    assert first[0] not in got and set(got) == set(names) - {first[0]}, got
    cold = replace(res, rates=((first[0], (0.0, *first[1][1:])), *rest))
    assert queue_derating(spec, cold) == dict.fromkeys(names, 0.0)
