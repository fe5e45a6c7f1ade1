"""Defaults of spec fields that depend on other fields, worked out on the spec as read (before
validation), so that the validated :class:`scaleplan.spec.Spec` and the plan that copies it
hold the value used."""

from __future__ import annotations

from typing import Any


def _number(v: Any) -> float | None:
    """A positive number as validation reads it (``800``, ``800.0``, ``"800"``); else None."""
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            return None
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None


def _tokens(v: Any) -> int | None:
    """A whole token count as validation reads it (``300``, ``300.0``, ``"300"``); None when it
    is missing or no number (then validation names the field)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v if isinstance(v, int) else None


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
        o = _tokens(c.get("output_tokens")) if isinstance(c, dict) else None
        if o is None:
            return None
        if o >= 1:  # below 1 the field's own check refuses it: no second problem here
            outs.append(o)
    return round(ttft + tpot * max(outs, default=1), 3)
