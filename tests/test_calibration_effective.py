"""The calibration line says what the fitted scales change on the measured GPU where a
physical limit clamps the documented factor (UX trial 29 F2: "compute x0.55" on A100 x vLLM,
whose documented compute factor sits above the 90 % limit, moved its efficiency x0.83)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.model import Catalog
from scaleplan.llm.calibrate import Observed, effective_note
from scaleplan.llm.perf import Calibration

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-chat"


def _deployment(tables: Catalog, accelerator: str):  # type: ignore[no-untyped-def]
    from scaleplan.llm.serving import TokenClass, setup_from_spec, size
    from scaleplan.spec import read_spec

    spec, _ = read_spec(EXAMPLE / "spec.yaml")
    s = setup_from_spec(spec.model, EXAMPLE)
    acc = tables.accelerator(accelerator)
    assert acc is not None
    return size(s, acc, 1, [TokenClass("observed", 1000, 200)]).deployment


def test_a_clamped_scale_is_said_with_what_it_moves(tables: Catalog) -> None:
    d = _deployment(tables, "A100-80GB")
    point = Observed(deployment=d, input_tokens=1000, output_tokens=200, concurrency=8,
                     ttft_ms=100.0, tpot_ms=20.0)
    cal = Calibration(compute=0.55, memory=1.0, overhead=1.0)
    base = d.efficiency.compute
    moved = d.with_calibration(cal).efficiency.compute / base
    assert base == pytest.approx(0.90)  # Ampere x vLLM: documented above the limit, clamped
    assert moved > 0.55 + 0.05  # the scale moves it less than it reads
    note = effective_note([point], cal)
    assert note == (
        "; on A100-80GB the documented factors sit at or near their physical limits, so its "
        f"efficiencies move compute x{moved:.2f}, memory x1.00"
    )
    # above the limit no scale raises it either
    assert "compute x1.00" in effective_note([point], Calibration(compute=1.2))
    # within the limits (L40S x vLLM) the scales are what moves: no second figure
    ada = _deployment(tables, "L40S")
    free = Observed(deployment=ada, input_tokens=1000, output_tokens=200, concurrency=8,
                    ttft_ms=100.0, tpot_ms=20.0)
    assert ada.efficiency.compute < 0.9 * 0.8
    assert effective_note([free], Calibration(compute=0.8, memory=0.9, overhead=1.0)) == ""
