"""``traffic.classes[].slo``: a request class's own SLO targets over the top-level ``slo``
(docs/spec.md, "Per-class SLOs"; UX trial 21 F1), and what the pipeline reads of them: the SLO a
class is held to (:func:`slo_of`), and the targets a class-blind signal can be held to
(:func:`class_blind_slo`: render's alerts, observe)."""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, model_validator

from scaleplan.problems import fix
from scaleplan.spec_base import SpecModel
from scaleplan.spec_defaults import MAX_LATENCY_MS

if TYPE_CHECKING:
    from scaleplan.spec import Slo, Spec

CLASS_SLO_KEYS = ("ttft_ms", "tpot_ms", "latency_ms")  # what a class's slo may override


class ClassSlo(SpecModel):
    """A request class's own SLO targets (``traffic.classes[].slo``): each key given overrides
    the top-level ``slo`` for this class; the percentile stays the spec's."""

    UNKNOWN_KEY_HINTS: ClassVar[dict[str, str]] = {
        "percentile": "the percentile is one per spec: the top-level slo.percentile holds every "
        "class, which share one queue of waiting requests and one alert budget; drop it here",
    }
    ttft_ms: float | None = Field(
        default=None, gt=0, le=3_600_000,
        description="This class's time-to-first-token target (ms) at the spec's "
        "slo.percentile; default: slo.ttft_ms.",
    )
    tpot_ms: float | None = Field(
        default=None, gt=0, le=3_600_000,
        description="This class's time-per-output-token target (ms) at the spec's "
        "slo.percentile; default: slo.tpot_ms. A replica runs one batch for every class it "
        "serves, so it holds the tightest TPOT of its classes for all of them.",
    )
    latency_ms: float | None = Field(
        default=None, gt=0, le=MAX_LATENCY_MS,
        description="This class's end-to-end latency target (ms) at the spec's slo.percentile; "
        "default: slo.latency_ms as stated, or, where that was derived, this class's own "
        "ttft_ms + tpot_ms x its output_tokens (not tested).",
    )

    @model_validator(mode="after")
    def _some(self) -> "ClassSlo":
        if all(getattr(self, k) is None for k in CLASS_SLO_KEYS):
            raise ValueError(fix(
                "states no target",
                "give the class's own ttft_ms, tpot_ms or latency_ms, or drop slo: the class "
                "then keeps the top-level slo",
            ))
        return self


def check_class_slos(spec: "Spec") -> None:
    """ValueError (with the fix) for a class slo the plan cannot hold as written: without
    ``model.architecture`` (a profile's points are judged against one SLO) or under
    ``routing: inference-pool`` (its picker is class-blind: every class on a pod shares one
    batch in whatever mix the picker's queue and KV-cache scores leave there, while the
    optimizer sizes a pool for the picker's split of the whole mix, every class alike:
    docs/llm.md, "Endpoint picker")."""
    at = next((i for i, c in enumerate(spec.traffic.classes) if c.slo is not None), None)
    if at is None:
        return
    if spec.model.architecture is None:
        raise ValueError(fix(
            f"class {spec.traffic.classes[at].name!r} has its own slo, which only an LLM spec "
            "(model.architecture) plans: without it capacity comes from model.profile's "
            "measured points, which the optimizer judges against the top-level slo alone",
            "add model.architecture (the LLM model then sizes each class under its own "
            "targets), move the targets to the top-level slo, or plan the class as a spec of "
            "its own",
            at=f"traffic.classes[{at}].slo",
        ))
    if spec.kubernetes.routing == "inference-pool":
        raise ValueError(fix(
            "per-class SLOs are not planned under kubernetes.routing: inference-pool: its "
            "endpoint picker is class-blind (it scores pods by waiting requests, free KV cache "
            "and prefix hits, never by a request's class), so every class a pod gets shares "
            "one batch there, in whatever mix those scores leave on that pod; the optimizer "
            "sizes a pool for the picker's split of the whole class mix, every class alike, "
            "which is enough for one SLO (the heaviest class alone then bounds every step) "
            "but says nothing of a tighter class's targets in a batch whose mix the picker "
            "varies from pod to pod (docs/llm.md, 'Endpoint picker')",
            "set kubernetes.routing: service, or gateway-api, with class_header to route "
            "each class on its own; or hold every class to the top-level slo",
            at=f"traffic.classes[{at}].slo",
        ))


def slo_of(spec: "Spec", name: str | None) -> "Slo":
    """The SLO class ``name`` is held to: the top-level ``slo`` with the class's own targets
    over it (the top-level one itself for a class without, or no class). A derived top-level
    latency_ms stays derived, at the class's own TTFT + TPOT x its output tokens (at the
    percentile of a length spread), unless the class states one."""
    c = next((c for c in spec.traffic.classes if c.name == name), None)
    if c is None or c.slo is None:
        return spec.slo
    given = {k: v for k in CLASS_SLO_KEYS if (v := getattr(c.slo, k)) is not None}
    derived = spec.slo._latency_derived and "latency_ms" not in given
    s = spec.slo.model_copy(update=given)
    if derived and s.ttft_ms is not None and s.tpot_ms is not None and c.output_tokens:
        from scaleplan.spec_defaults import class_latency

        lat = class_latency(s.ttft_ms, s.tpot_ms, c.output_tokens, c.lengths, s.percentile)
        s = s.model_copy(update={"latency_ms": lat})
    s._latency_derived = derived
    return s


def class_slo_text(spec: "Spec") -> str:
    """``summarize: TTFT 5000 ms, TPOT 100 ms`` for each class with targets of its own
    (``; `` between classes); empty without any."""
    out = []
    for c in spec.traffic.classes:
        if c.slo is None:
            continue
        s = slo_of(spec, c.name)
        got = (("TTFT", s.ttft_ms), ("TPOT", s.tpot_ms), ("e2e", s.tested_latency_ms))
        out.append(f"{c.name}: " + ", ".join(f"{n} {v:g} ms" for n, v in got if v is not None))
    return "; ".join(out)


def tightest_tpot_ms(spec: "Spec") -> float | None:
    """The tightest TPOT target of any class: a replica runs one batch for the classes it
    serves, so with per-class SLOs its steps hold this for every sequence (docs/spec.md)."""
    v = [t for c in spec.traffic.classes if (t := slo_of(spec, c.name).tpot_ms) is not None]
    return min(v) if v else spec.slo.tpot_ms


def class_blind_slo(spec: "Spec") -> tuple[dict[str, float | None], list[str]]:
    """The targets a class-blind signal (an engine histogram without a class label: render's
    burn-rate alerts, observe's hours) is held to: ``ttft``, ``tpot`` and ``latency`` (stated
    only) in ms, None where there is none; and, per metric left out, why. Without class SLOs
    the top-level slo's. With them, TPOT is the tightest class's (every replica's steps hold it
    for all the classes it batches together) and TTFT / latency a target only where every class
    has the same one: a mixed histogram cannot tell a summary's 4 s first token (within its
    5 s) from a chat request's (over its 500 ms)."""
    s = spec.slo
    out: dict[str, float | None] = {
        "ttft": s.ttft_ms, "tpot": s.tpot_ms, "latency": s.tested_latency_ms,
    }
    if not spec.has_class_slos:
        return out, []
    out["tpot"] = tightest_tpot_ms(spec)
    why: list[str] = []
    for key, name in (("ttft", "TTFT"), ("latency", "end-to-end latency")):
        field = "ttft_ms" if key == "ttft" else "tested_latency_ms"
        per = {c.name: getattr(slo_of(spec, c.name), field) for c in spec.traffic.classes}
        if len(set(per.values())) > 1:
            out[key] = None
            got = ", ".join(f"{n} {'none' if v is None else f'{v:g} ms'}" for n, v in per.items())
            why.append(f"the classes' {name} targets differ ({got})")
    return out, why
