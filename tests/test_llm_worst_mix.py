"""Where routing decides a replica's class mix (``kubernetes.class_header``, ``routing:
inference-pool``), its LLM derating holds at every mix, not only at the spec's and at each
class alone (:func:`scaleplan.solve.worstmix.worst_mix_utilization`).

The two-class H100 shape (128/64 and 6,000/1,024 tokens, 64 sequences): u = 0.9019 of the
queue-fed rate at the spec's 70/30, 0.95 short alone, 0.8959 long alone, 0.8921 at 97/3 (a few
long requests spread the slots' holding times most), so planning min(spec mix, alone) admitted
1.1 % more than the chain holds at 97/3.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from solve_helpers import two_class_llm_chat

from scaleplan.inputs import load_inputs
from scaleplan.solve.llm_capacity import LlmShapePoints, llm_context, queue_derating, shape_points
from scaleplan.solve.oppoints import slo_room
from scaleplan.solve.queueing import max_rate_slots
from scaleplan.solve.worstmix import TOLERANCE, worst_mix_utilization
from scaleplan.spec import Spec

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("  routing: gateway-api\n", "  routing: gateway-api\n  class_header: X-Request-Class\n")


@functools.cache
def _h100(routing: tuple[str, str] | None) -> tuple[Spec, LlmShapePoints]:
    """The two-class spec (with ``routing`` replaced) and its one-H100 shape."""
    import tempfile

    profile = ROOT / "examples" / "llm-chat" / "profile.yaml"
    text = two_class_llm_chat(*([routing] if routing else [])).replace(
        "profile: profile.yaml", f"profile: {profile}"
    )
    folder = Path(tempfile.mkdtemp())
    (folder / "spec.yaml").write_text(text, encoding="utf-8")
    inp = load_inputs(str(folder / "spec.yaml"))
    accs = {a.name: a for a in inp.catalog.accelerators}
    ctx = llm_context(inp.spec, inp.profile, list(inp.catalog.accelerators), folder)
    assert ctx is not None
    res = shape_points(ctx, inp.spec, accs["H100"], 1, None)
    assert isinstance(res, LlmShapePoints) and res.serving.max_num_seqs == 64
    return inp.spec, res


def _chain_rate(spec: Spec, res: LlmShapePoints, w: dict[str, float]) -> float:
    """The most requests/s the chain holds at mix ``w`` (docs/optimizer.md's model, written
    out here from max_rate_slots: the mix's harmonic rates, the holding times' spread, the
    smallest room of the classes in the mix)."""
    rates = dict(res.rates)
    n = len(rates["short"])
    mix = [1.0 / sum(s / rates[c][k] for c, s in w.items() if s > 0) for k in range(n)]
    hold = {c: n / rates[c][-1] for c in w}
    mean = sum(s * hold[c] for c, s in w.items())
    cs2 = sum(s * hold[c] ** 2 for c, s in w.items()) / mean**2 - 1.0
    room = min(slo_room(spec, m) for c, m in res.points if w[c] > 0)
    return max_rate_slots(mix, room, spec.slo.percentile, cs2)


def _admitted(spec: Spec, res: LlmShapePoints, w: dict[str, float]) -> float:
    """The total rate the MILP lets one replica take at mix ``w``: sum_c lambda_c / cap_c <= 1."""
    busy = queue_derating(spec, res)
    cap = {c: busy[c] * m.throughput_rps for c, m in res.points}
    return 1.0 / sum(s / cap[c] for c, s in w.items() if s > 0)


@pytest.mark.parametrize("long", [0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.3, 0.6, 1.0])
def test_class_header_derating_holds_at_every_mix(long: float) -> None:
    """97/3 admitted 1.1 % more than the chain holds (0.9019 against 0.8921 of the rate)."""
    spec, res = _h100(HEADER)
    w = {"short": 1.0 - long, "long": long}
    assert _admitted(spec, res, w) <= _chain_rate(spec, res, w) + 1e-4


def test_a_fixed_mix_is_derated_at_the_spec_mix_alone() -> None:
    """A class-blind route sends every replica the spec's mix: its derating is that mix's, as
    before (the 97/3 bound would cost it capacity it never needs)."""
    spec, res = _h100(None)
    spec_mix = {"short": 0.7, "long": 0.3}
    assert _admitted(spec, res, spec_mix) == pytest.approx(
        _chain_rate(spec, res, spec_mix), rel=2e-4
    )
    assert _admitted(spec, res, {"short": 0.97, "long": 0.03}) > _chain_rate(
        spec, res, {"short": 0.97, "long": 0.03}
    )


def _u(rates: list[list[float]], room: float, w: list[float]) -> float:
    """u(w): the chain's largest rate at mix ``w`` over its rate at the slots."""
    inv = np.asarray(w) @ (1.0 / np.asarray(rates))
    h = len(rates[0]) / np.asarray([r[-1] for r in rates])
    cs2 = float(np.dot(w, h**2)) / float(np.dot(w, h)) ** 2 - 1.0
    mix = list(1.0 / inv)
    return max_rate_slots(mix, room, 95, cs2) / mix[-1]


def _grid(k: int, steps: int) -> list[list[float]]:
    """Every mix of ``k`` (2 or 3) classes with shares in 1/``steps``."""
    if k == 2:
        return [[i / steps, 1 - i / steps] for i in range(steps + 1)]
    return [
        [i / steps, j / steps, 1 - (i + j) / steps]
        for i in range(steps + 1) for j in range(steps + 1 - i)
    ]


def test_worst_mix_is_a_bound_within_its_tolerance() -> None:
    """Below u at every mix of a fine grid, and within the tolerance (and the 1e-4 floors)
    of the grid's smallest: two classes (the H100 shape; the grid finer where a few long
    requests join short ones) and three (made-up rate curves)."""
    spec, res = _h100(HEADER)
    rates = dict(res.rates)
    two = [list(rates["short"]), list(rates["long"])]
    room = min(slo_room(spec, m) for _, m in res.points)
    mixes = _grid(2, 200) + [[1 - p, p] for p in np.linspace(0.0, 0.06, 121)]
    brute = min(_u(two, room, w) for w in mixes)
    assert brute == pytest.approx(0.8911, abs=1e-4)  # 0.8921 before 2026-12-07's table refit
    assert brute - TOLERANCE - 2e-4 <= worst_mix_utilization(two, room, 95) <= brute
    # llm-chat-pool's L40S shape (41 sequences), three classes: least at 45/55 medium/long
    # (0.8455), not at the spec's 60/30/10 (0.8549) nor at a class alone (0.8460 long)
    folder = ROOT / "examples" / "llm-chat-pool"
    inp = load_inputs(str(folder / "spec.yaml"))
    accs = {a.name: a for a in inp.catalog.accelerators}
    ctx = llm_context(inp.spec, inp.profile, list(inp.catalog.accelerators), folder)
    assert ctx is not None
    pool = shape_points(ctx, inp.spec, accs["L40S"], 1, None)
    assert isinstance(pool, LlmShapePoints)
    three = [list(dict(pool.rates)[c]) for c in ("short", "medium", "long")]
    room = min(slo_room(inp.spec, m) for _, m in pool.points)
    brute3 = min(_u(three, room, w) for w in _grid(3, 40))
    assert brute3 == pytest.approx(0.8455, abs=1e-4)
    assert brute3 - TOLERANCE - 2e-4 <= worst_mix_utilization(three, room, 95) <= brute3


def _plain_search(rates: list[list[float]], room: float, pct: int) -> float:
    """The search as d6effba wrote it, one cell at a time, each bound by twenty halvings
    (the reference: worst_mix_utilization must give the same answer to the last bit)."""
    import heapq
    import math

    from scaleplan.solve.queueing import MAX_MODEL_UTILIZATION as TOP

    inv = 1.0 / np.asarray(rates, dtype=float)
    hold = inv.shape[1] * inv[:, -1]
    tail = 1.0 - pct / 100.0

    def lower(cell: np.ndarray) -> float:
        vinv = cell @ inv
        logt = np.concatenate(([0.0], np.cumsum(np.log((vinv[:, -1:] / vinv).min(axis=0)))))
        count = np.arange(len(logt), dtype=float)
        e1, e2 = cell @ hold, cell @ hold**2
        spread = max(1.0, float(e2.max()) / float(e1.min()) ** 2 / 2.0)
        budget = room * float((1.0 / vinv[:, -1]).min()) / 1000.0

        def fits(u: float) -> bool:
            logw = count * math.log(u) - logt
            w = np.exp(logw - logw.max())
            at_slots = float(w[-1]) / (1.0 - u)
            pw = at_slots / (float(w[:-1].sum()) + at_slots)
            return pw <= tail or spread * math.log(pw / tail) / (1.0 - u) <= budget

        if fits(TOP):
            return TOP
        lo, hi = 0.0, TOP
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo

    def split(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logs = np.log(np.column_stack([cell @ inv, cell @ hold, cell @ hold**2]))
        m = len(cell)
        _, i, j = max(
            (float(np.abs(logs[i] - logs[j]).max()), i, j)
            for i in range(m) for j in range(i + 1, m)
        )
        a, b = cell.copy(), cell.copy()
        a[i] = b[j] = (cell[i] + cell[j]) / 2
        return a, b

    whole = np.eye(len(rates))
    best = min(lower(whole.mean(axis=0)[None]), *(lower(v[None]) for v in whole))
    heap = [(lower(whole), 0, whole)]
    count = 1
    while heap[0][0] < best - TOLERANCE and count < 4000:
        for part in split(heapq.heappop(heap)[2]):
            best = min(best, lower(part.mean(axis=0)[None]))
            count += 1
            heapq.heappush(heap, (lower(part), count, part))
    return math.floor(heap[0][0] * 10_000) / 10_000


def _curves(rng: np.random.Generator, k: int, slots: int) -> list[list[float]]:
    """Made-up queue-fed rate curves: each class saturating at its own pace."""
    n = np.arange(1, slots + 1)
    return [
        list(rng.uniform(0.5, 50) * (1 - np.exp(-n / (rng.uniform(0.3, 3) * slots / 4))))
        for _ in range(k)
    ]


def test_worst_mix_is_the_plain_search_to_the_last_bit() -> None:
    """The batched search (Newton crossings, checked grid points, cells bounded ahead) gives
    the plain search's answer exactly: the H100 pair, llm-chat-pool's L40S three classes and
    made-up curves of two to four classes (plans stay as they were)."""
    spec, res = _h100(HEADER)
    rates = dict(res.rates)
    room = min(slo_room(spec, m) for _, m in res.points)
    cases = [([list(rates["short"]), list(rates["long"])], room, 95)]
    rng = np.random.default_rng(7)
    for k, slots in [(2, 9), (3, 17), (3, 41), (4, 12), (2, 64)]:
        cases.append((_curves(rng, k, slots), float(rng.uniform(20, 3000)), 95))
    cases.append((_curves(rng, 3, 20), 50.0, 99))
    for rates3, budget, pct in cases:
        assert worst_mix_utilization(rates3, budget, pct) == _plain_search(rates3, budget, pct)


def test_newton_crossings_land_on_the_halving_grid() -> None:
    """Each bound is what twenty halvings of [0, 0.95] give, bit for bit, for random cells,
    single mixes and envelopes that fit at 0.95 or nowhere; a probed row is inf where it fits
    at its start and its bound where it does not."""
    from scaleplan.solve.worstmix import _Mixes

    rng = np.random.default_rng(3)
    for k, slots, budget in [(3, 41, 1960.0), (2, 6, 1000.0), (4, 90, 300.0), (3, 30, 1e5),
                             (2, 12, 0.5)]:
        mixes = _Mixes(_curves(rng, k, slots), budget, 95)
        cells = rng.dirichlet(np.ones(k), size=(60, k))
        cells[:10] = cells[:10, :1]  # single mixes
        with np.errstate(all="ignore"):
            env = mixes.envelopes(cells)
            halved = mixes.halve(env, np.arange(60))
            assert np.array_equal(mixes.bounds(env, rng.uniform(0.01, 0.95, 60)), halved)
            probe = np.full(60, True)
            at = rng.uniform(0.01, 0.95, 60)
            got = mixes.bounds(env, at, probe)
            fits, _, _ = mixes.evaluate(env, np.arange(60), at)
            assert np.array_equal(got[fits], np.full(fits.sum(), np.inf))
            assert np.array_equal(got[~fits], halved[~fits])
