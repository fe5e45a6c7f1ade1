"""``traffic.classes[].lengths``: how a request class's token lengths spread around its
``input_tokens`` / ``output_tokens``, which are then the class's means (docs/spec.md,
docs/llm.md "Length spread"). The arithmetic is the LLM room's (:mod:`scaleplan.llm.lengths`)."""

# No `from __future__ import annotations`: pydantic would compile every field's annotation
# string (typing.ForwardRef) at each start-up (issue 20); forward references are quoted.

from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from scaleplan.llm.lengths import P99, Spread, max_quantile_ratio, sigma_from_quantile
from scaleplan.problems import fix, shown
from scaleplan.spec_base import SpecModel

if TYPE_CHECKING:
    from scaleplan.spec import RequestClass

DISTRIBUTIONS = ("lognormal",)
MAX_SIGMA = 3.0
# SLO keys written under a request class itself, not under its ``slo`` (UX trial 21 F1 asked
# for per-class SLOs): the hint for each, which problems.py gives before any did-you-mean
CLASS_SLO_HINTS = dict.fromkeys(
    ("ttft_ms", "tpot_ms", "latency_ms", "ttft", "tpot", "latency"),
    "a class's own SLO targets go under its slo, e.g. slo: {ttft_ms: 8000, tpot_ms: 100}: each "
    "key given there overrides the top-level slo for this class (docs/spec.md, Per-class SLOs)",
)
CLASS_SLO_HINTS["percentile"] = (
    "the percentile is one per spec (the top-level slo.percentile): every class is held at it"
)

LENGTHS_DOC = (
    "How the class's token lengths spread around input_tokens / output_tokens, which are then "
    "the class's means (what gateway logs average to). Without it every request has exactly "
    "those lengths. With it the optimizer prices TTFT at the SLO percentile's prompt length, "
    "max_model_len defaults to cover the p99.9 request, and simulate draws the lengths from it "
    "(docs/llm.md, 'Length spread')."
)
_SHAPE_HINT = (
    "give the lognormal's shape, e.g. sigma: 0.5 (the p99 about 2.8x the mean), or state "
    "input_tokens_p99 and output_tokens_p99 from your logs; drop lengths for fixed lengths"
)


class ClassLengths(SpecModel):
    """A class's length spread: lognormal, by its shape ``sigma`` or by each side's p99."""

    distribution: str = Field(
        default="lognormal",
        description="The lengths' distribution around the class's means: lognormal (each "
        "side's logarithm normal; the mean stays input_tokens / output_tokens).",
        json_schema_extra={"enum": list(DISTRIBUTIONS)},
    )
    sigma: float | None = Field(
        default=None,
        description="The lognormal's shape (the standard deviation of ln length), for prompt "
        "and completion alike; 0.5 puts the p99 at about 2.8x the mean. Give this, or "
        "input_tokens_p99 with output_tokens_p99.",
    )
    input_tokens_p99: int | None = Field(
        default=None,
        description="99th percentile of the class's prompt lengths (e.g. from gateway logs); "
        "with output_tokens_p99, instead of sigma: each side's shape is solved from its mean "
        "and p99. At least input_tokens, at most about 15x it.",
    )
    output_tokens_p99: int | None = Field(
        default=None,
        description="99th percentile of the class's completion lengths; with "
        "input_tokens_p99, instead of sigma. At least output_tokens, at most about 15x it.",
    )

    @field_validator("distribution")
    @classmethod
    def _distribution(cls, v: str) -> str:
        if v not in DISTRIBUTIONS:
            raise ValueError(fix(
                f"unknown distribution {shown(v)}; the LLM model prices lognormal lengths only",
                "write distribution: lognormal (or leave it out: the default), "
                "or drop lengths for fixed lengths",
            ))
        return v

    @field_validator("sigma")
    @classmethod
    def _sigma(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 < v <= MAX_SIGMA:
            why = "must be above 0" if v <= 0 else f"must be at most {MAX_SIGMA:g}"
            raise ValueError(fix(f"sigma is {v:g}; a lognormal's shape {why}", _SHAPE_HINT))
        return v

    @field_validator("input_tokens_p99", "output_tokens_p99")
    @classmethod
    def _p99(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(fix(f"is {v}; a token count is at least 1", _SHAPE_HINT))
        return v

    @model_validator(mode="after")
    def _one_shape(self) -> "ClassLengths":
        p99s = (self.input_tokens_p99, self.output_tokens_p99)
        if self.sigma is not None and any(p is not None for p in p99s):
            raise ValueError(fix(
                "gives both sigma and a p99; each states the spread",
                "keep sigma, or input_tokens_p99 with output_tokens_p99",
                at="sigma",
            ))
        if self.sigma is None and None in p99s:
            missing, other = ("input", "output") if p99s[0] is None else ("output", "input")
            missing, other = f"{missing}_tokens_p99", f"{other}_tokens_p99"
            given = all(p is None for p in p99s)
            raise ValueError(fix(
                "states no spread: give sigma, or both p99s" if given
                else f"is missing: the p99 form needs both sides, and {other} is given",
                _SHAPE_HINT if given else f"add {missing} from the same logs (equal to the "
                "class's mean where that side does not vary)",
                at="" if given else missing,
            ))
        return self

    def spread(self, input_mean: int, output_mean: int) -> Spread:
        """The lognormal shapes of a class with these means (checked by :func:`check_lengths`)."""
        ins = side_sigma(self.sigma, self.input_tokens_p99, input_mean)
        outs = side_sigma(self.sigma, self.output_tokens_p99, output_mean)
        assert ins is not None and outs is not None  # _one_shape: sigma, or both p99s
        return Spread(ins, outs)


def side_sigma(sigma: float | None, p99: int | None, mean: int) -> float | None:
    """One side's lognormal shape: ``sigma`` when given, else solved from the side's ``p99``
    and ``mean`` (ValueError when no lognormal of that mean has it); None without either.
    The spec as read (:mod:`scaleplan.spec_defaults`) asks it too, before validation."""
    if sigma is not None:
        return sigma
    return None if p99 is None else sigma_from_quantile(mean, p99, P99)


def check_lengths(c: "RequestClass") -> None:
    """A class's ``lengths`` against its means: they need ``input_tokens`` and
    ``output_tokens``, and a p99 lies between the mean and what a lognormal of that mean
    reaches (:func:`scaleplan.llm.lengths.max_quantile_ratio`). ValueError with the fix."""
    x = c.lengths
    if x is None:
        return
    if not (c.input_tokens and c.output_tokens):
        raise ValueError(fix(
            "a length spread needs the class's input_tokens and output_tokens (its means)",
            "give the class's mean prompt and completion lengths, or drop lengths",
            at="lengths",
        ))
    top = max_quantile_ratio(P99)
    sides = (("input", c.input_tokens, x.input_tokens_p99),
             ("output", c.output_tokens, x.output_tokens_p99))
    for side, mean, p99 in sides:
        what = "prompt" if side == "input" else "completion"
        if p99 is not None and p99 < mean:
            raise ValueError(fix(
                f"{side}_tokens_p99 {p99:,} is below the class's {side}_tokens {mean:,}; "
                f"{side}_tokens is the mean {what} length, and a p99 is at least the mean",
                f"give the 99th percentile of the class's {what} lengths from your logs, or "
                f"set {side}_tokens to their mean",
                at=f"lengths.{side}_tokens_p99",
            ))
        if p99 is not None and p99 > top * mean:
            raise ValueError(fix(
                f"{side}_tokens_p99 {p99:,} is more than {top:.1f}x the class's {side}_tokens "
                f"{mean:,}, which no lognormal of that mean reaches",
                f"check that {side}_tokens is the mean {what} length (not the median of a "
                "few long requests); split very long requests into a class of their own",
                at=f"lengths.{side}_tokens_p99",
            ))


def spread_of(c: Any) -> Spread | None:
    """A spec class's spread (None: fixed lengths, or no tokens to spread)."""
    x = getattr(c, "lengths", None)
    if x is None or not (c.input_tokens and c.output_tokens):
        return None
    s: Spread = x.spread(c.input_tokens, c.output_tokens)
    return s if s.input_sigma > 0 or s.output_sigma > 0 else None
