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
    targets: ``ttft_ms + tpot_ms x`` the longest class's ``output_tokens`` (with a length
    spread, its completion at the SLO percentile), when the spec names
    ``model.architecture``, sets both targets and gives every class its output tokens; else None
    (``slo.latency_ms`` is then required). Never binding on the solve: the spec marks it
    derived (:attr:`scaleplan.spec.Slo.tested_latency_ms` is None) and the LLM room does not
    test it, since a spread class's joint end-to-end percentile can exceed it (r5 B1; without
    a spread ``TTFT + TPOT x (output_tokens - 1)`` is below it whenever TTFT and TPOT hold)."""
    model, slo, traffic = (data.get(k) for k in ("model", "slo", "traffic"))
    if not (isinstance(model, dict) and model.get("architecture")):
        return None
    if not isinstance(slo, dict) or not isinstance(traffic, dict):
        return None
    ttft, tpot = _target(slo, "ttft_ms"), _target(slo, "tpot_ms")
    classes = traffic.get("classes")
    if classes is None and _misspelt(traffic, "classes"):
        # refused at the misspelt key with its did-you-mean: no second problem at
        # slo.latency_ms (UX trial 25: 'traffic.clases' drew 'required field is missing')
        return 1.0
    if not isinstance(classes, list | tuple) or not classes:
        return None
    pct = _tokens(slo.get("percentile")) or 95
    if ttft is None or tpot is None:
        return _from_classes(classes, ttft, tpot, pct)
    outs: list[int] = []
    for c in classes:
        o = _tokens(c.get("output_tokens")) if isinstance(c, dict) else None
        if o is None:
            return None
        if o >= 1:  # below 1 the field's own check refuses it: no second problem here
            outs.append(_output_at(c, o, pct))
    return round(ttft + tpot * max(outs, default=1), 3)


MAX_LATENCY_MS = 3_600_000  # slo.latency_ms's limit (one hour)


def derived_over_limit(data: dict[str, Any], derived: float) -> str:
    """The problem (a :func:`scaleplan.problems.fix` message) when the derived
    ``slo.latency_ms`` is over :data:`MAX_LATENCY_MS`, at the target that makes it so: a unit
    slip (UX trial 31: ``tpot_ms: 5000`` for 50 was refused as ``slo.latency_ms: must be at
    most 3.6e+06; got 5000800.0``, a field the spec does not state, with its schema text)."""
    from scaleplan.problems import fix

    slo = data["slo"]
    ttft, tpot = _number(slo.get("ttft_ms")), _number(slo.get("tpot_ms"))
    limit = f"over its limit of {MAX_LATENCY_MS:,} ms (one hour)"
    hint = (
        "ttft_ms is in milliseconds and tpot_ms in milliseconds per output token (50 is 20 "
        "tokens/s): check the units, or state slo.latency_ms"
    )
    if ttft is None or tpot is None:  # from the classes' own targets
        return fix(
            f"slo.latency_ms is left out, so it is derived from the classes' targets: "
            f"{derived:,.0f} ms, {limit}", hint, at="slo",
        )
    n = round((derived - ttft) / tpot)
    at = "slo.ttft_ms" if ttft >= derived / 2 else "slo.tpot_ms"
    return fix(
        f"slo.latency_ms is left out, so it is ttft_ms + tpot_ms x the longest completion: "
        f"{_ms(ttft)} + {_ms(tpot)} x {n:,} = {derived:,.0f} ms, {limit}", hint, at=at,
    )


def _ms(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,g}"


def _from_classes(
    classes: list[Any] | tuple[Any, ...], ttft: float | None, tpot: float | None, pct: int
) -> float | None:
    """The default where the top-level slo lacks ttft_ms or tpot_ms and every class has both
    through its own slo (``traffic.classes[].slo``): the largest class's
    ``ttft + tpot x output_tokens``; None when a class lacks a target or its tokens."""
    ends: list[float] = []
    for c in classes:
        own = c.get("slo") if isinstance(c, dict) else None
        own = own if isinstance(own, dict) else {}
        t = _target(own, "ttft_ms") if "ttft_ms" in own else ttft
        o = _target(own, "tpot_ms") if "tpot_ms" in own else tpot
        n = _tokens(c.get("output_tokens")) if isinstance(c, dict) else None
        if t is None or o is None or n is None:
            return None
        ends.append(t + o * (_output_at(c, n, pct) if n >= 1 else 1))
    return round(max(ends), 3)


def class_latency(ttft: float, tpot: float, output_tokens: int, lengths: Any, pct: int) -> float:
    """A class's own derived end-to-end latency (:meth:`scaleplan.spec.Spec.slo_of`): its
    ``ttft + tpot x`` its output tokens at ``pct`` of a length spread, as the top-level default."""
    c = {"lengths": lengths.model_dump() if lengths is not None else None}
    return round(ttft + tpot * _output_at(c, output_tokens, pct), 3)


def _target(slo: dict[str, Any], key: str) -> float | None:
    """``slo.ttft_ms`` or ``tpot_ms`` for the default: the number as validation reads it; 1.0
    where validation refuses the spec anyway and names that field (a value that is no positive
    number, ``1000ms``; or the key misspelt, ``ttft_s``, refused as an unknown key with the
    did-you-mean), so that ``slo.latency_ms: required field is missing`` is not a second,
    misleading problem beside it (UX review 19: its hint said to add latency_ms); else None."""
    from scaleplan.names import close_matches
    from scaleplan.spec import Slo  # spec imports this module: read at call time

    v = slo.get(key)
    n = _number(v)
    if n is not None:
        return n
    if v is not None:
        return 1.0  # refused at slo.<key>: never a spec's value
    unknown = [k for k in slo if isinstance(k, str) and k not in Slo.model_fields]
    return 1.0 if any(close_matches(k, [key]) for k in unknown) else None


def _misspelt(traffic: dict[str, Any], key: str) -> bool:
    """``traffic`` has an unknown key close to ``key`` (refused with a did-you-mean)."""
    from scaleplan.names import close_matches
    from scaleplan.spec import Traffic  # spec imports this module: read at call time

    unknown = [k for k in traffic if isinstance(k, str) and k not in Traffic.model_fields]
    return any(close_matches(k, [key]) for k in unknown)


def _output_at(c: dict[str, Any], mean: int, pct: int) -> int:
    """A class's completion at the SLO percentile: with a length spread
    (``lengths``: ``sigma`` or ``output_tokens_p99``) its lognormal's quantile, else the mean
    (a spread that does not read is the mean here: validation names its problem)."""
    from scaleplan.llm.lengths import tokens_at
    from scaleplan.spec import PERCENTILES  # spec imports this module: read at call time
    from scaleplan.spec_lengths import MAX_SIGMA, side_sigma

    x = c.get("lengths")
    if not isinstance(x, dict) or pct not in PERCENTILES:
        return mean
    try:
        sigma = side_sigma(_number(x.get("sigma")), _tokens(x.get("output_tokens_p99")), mean)
    except ValueError:
        return mean
    return tokens_at(mean, sigma, pct / 100.0) if sigma is not None and sigma <= MAX_SIGMA else mean
