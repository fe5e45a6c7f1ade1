"""The calibration says, per measured shape, its points' TPOT and throughput against the
calibrated model's, as measured (UX trial 36 finding 3b): a Llama-3.1-70B fp8 H100 TP4
calibration on the user's own `vllm bench serve` runs (8 / 16 / 64 clients) predicted 9-22 %
slower steps and 7-18 % fewer tok/s on that very shape, and the notes compared only TTFT, so
the plan bought more than the benchmark said was needed without saying so. Real points
(examples/llm-70b-tp: TP8 at 8, 16, 64 clients), the real model and fit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scaleplan.catalog.files import load_accelerators
from scaleplan.llm import setup
from scaleplan.llm.calibrate import Observed, as_measured, calibrate, predicted
from scaleplan.llm.estimate import observed_from_profile
from scaleplan.llm.perf import Calibration
from scaleplan.llm.serving import TokenClass
from scaleplan.profile.model import read_profile

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-70b-tp"


def _points() -> list[Observed]:
    prof = read_profile(str(EXAMPLE / "profile.yaml"))
    s = setup("llama-3.1-70b", dtype="fp8", kv_cache_dtype="fp8")
    accs = {a.name: a for a in load_accelerators()}
    chat = [TokenClass("chat", 1024, 1024)]
    obs, skipped = observed_from_profile(s, prof.measurements, accs, chat)
    assert len(obs) == 3 and not skipped
    return obs


def _said(notes: tuple[str, ...]) -> str:
    said = [n for n in notes if n.startswith("TPOT and throughput of the")]
    assert len(said) == 1, notes
    return said[0]


def test_the_notes_give_measured_and_model_tpot_and_throughput_per_shape() -> None:
    obs = _points()
    cal, notes = calibrate(obs)
    text = _said(notes)
    assert text.startswith(
        "TPOT and throughput of the 3 measured points on H100 TP8, 1,024/1,024 tokens at"
        " 8 / 16 / 64 sequences, as measured: TPOT measured "
    ), text
    # the figures are the fit's own predictions of the points, as they were measured
    model = [predicted(o, cal) for o in sorted(obs, key=lambda o: o.concurrency)]
    tpots = " / ".join(f"{m[1]:.3g}" for m in model)
    rates = " / ".join(f"{m[2]:,.0f}" for m in model)
    assert f"the model {tpots} ms (" in text, text
    assert f"the model {rates} (" in text, text
    # the model's steps are slower than measured: it serves less, and the plan errs high
    assert "(+22 / +6 / +3 %)" in text and "(-18 / -6 / -4 %)" in text, text
    assert "serves 4-18 % less than measured" in text and "(conservative)" in text, text
    assert "a prior" in text and "docs/llm.md, Calibration" in text


def test_a_model_faster_than_the_points_says_the_plan_may_fall_short() -> None:
    """The other way round (a calibration whose steps are faster than the points): the plan
    is not conservative but short, and the note must not call it conservative; mixed signs
    say both."""
    obs = _points()
    fast = as_measured(obs, Calibration(compute=1.0, memory=1.6, overhead=0.25))
    assert len(fast) == 1
    assert "more than measured: a plan on this shape may fall short" in fast[0], fast
    assert "conservative" not in fast[0]
    slower = [
        replace(
            o,
            tpot_ms=(o.tpot_ms or 0) * 1.3,
            output_tokens_per_s=(o.output_tokens_per_s or 0) / 1.3,
        )
        for o in obs
    ]
    text = _said(calibrate(slower)[1])
    mixed = "(-6 / +9 / +13 %): the model serves from 6 % less to 13 % more than measured"
    assert mixed in text, text


def test_a_lower_bound_rate_is_not_compared() -> None:
    """A lower bound's rate is no capacity: only its TPOT is compared."""
    obs = _points()
    bound = [replace(obs[0], lower_bound=True), *obs[1:]]
    text = _said(calibrate(bound)[1])
    # three TPOTs, two rates (16 and 64 clients)
    assert text.split("TPOT measured ")[1].split(" ms,")[0].count(" / ") == 2, text
    assert text.split("output tok/s measured ")[1].split(", the model")[0].count(" / ") == 1, text
