"""Defaults of spec fields that depend on other fields, worked out on the spec as read (before
validation), so that the validated :class:`scaleplan.spec.Spec` and the plan that copies it
hold the value used."""

from __future__ import annotations

from typing import Any


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None


def llm_latency_default(data: dict[str, Any]) -> float | None:
    """The end-to-end target an LLM spec (as read, before validation) leaves to its TTFT/TPOT
    targets: ``ttft_ms + tpot_ms x`` the longest class's ``output_tokens``, when the spec names
    ``model.architecture``, sets both targets and gives every class its output tokens; else None
    (``slo.latency_ms`` is then required). Never binding on the solve: the LLM room's SLO test
    (:func:`scaleplan.llm.serving.slo_verdict`) takes end-to-end latency as
    ``TTFT + TPOT x (output_tokens - 1)``, below this whenever TTFT and TPOT are met."""
    model, slo, traffic = (data.get(k) for k in ("model", "slo", "traffic"))
    if not (isinstance(model, dict) and model.get("architecture")):
        return None
    if not isinstance(slo, dict) or not isinstance(traffic, dict):
        return None
    ttft, tpot = _number(slo.get("ttft_ms")), _number(slo.get("tpot_ms"))
    classes = traffic.get("classes")
    if ttft is None or tpot is None or not isinstance(classes, list) or not classes:
        return None
    outs: list[int] = []
    for c in classes:
        o = c.get("output_tokens") if isinstance(c, dict) else None
        if not isinstance(o, int) or isinstance(o, bool) or o < 1:
            return None
        outs.append(o)
    return round(ttft + tpot * max(outs), 3)
