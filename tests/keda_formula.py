"""What a KEDA ScaledObject and the HPA under it ask for: a small evaluator of the formula
subset scaleplan writes (expr-lang: numbers, trigger names, + - * /, comparisons, ``a ? b : c``,
``float(...)``), and the HPA controller's replica count for an External AverageValue metric
(``ceil(value / target)``, unless within the 10 % tolerance of the current count)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

TOKEN = re.compile(r"\s*(\d+\.\d*|\d+|[A-Za-z_]\w*|<=|>=|==|!=|[-+*/()?:<>])")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        assert m is not None, f"cannot read the formula at {text[pos:]!r}"
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, env: Mapping[str, float]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.env = env

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.toks[self.i]
        assert want is None or tok == want, (tok, want)
        self.i += 1
        return tok

    def ternary(self) -> float:
        cond = self.compare()
        if self.peek() != "?":
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        return yes if cond else no

    def compare(self) -> float:
        left = self.sum()
        ops = {"<=": float.__le__, ">=": float.__ge__, "<": float.__lt__, ">": float.__gt__,
               "==": float.__eq__, "!=": float.__ne__}
        if self.peek() in ops:
            op = ops[self.take()]
            return float(op(float(left), float(self.sum())))
        return left

    def sum(self) -> float:
        v = self.product()
        while self.peek() in ("+", "-"):
            v = v + self.product() if self.take() == "+" else v - self.product()
        return v

    def product(self) -> float:
        v = self.atom()
        while self.peek() in ("*", "/"):
            v = v * self.atom() if self.take() == "*" else v / self.atom()
        return v

    def atom(self) -> float:
        tok = self.take()
        if tok == "(":
            v = self.ternary()
            self.take(")")
            return v
        if tok == "-":
            return -self.atom()
        if tok == "float":
            self.take("(")
            v = self.ternary()
            self.take(")")
            return float(v)
        if tok[0].isdigit():
            return float(tok)
        assert tok in self.env, f"the formula names {tok!r}, no trigger of that name"
        return float(self.env[tok])


def evaluate(formula: str, env: Mapping[str, float]) -> float:
    """The formula's value with the triggers' metrics ``env`` (trigger name -> value)."""
    p = _Parser(formula, env)
    v = p.ternary()
    assert p.peek() is None, f"left over: {p.toks[p.i:]}"
    return v


def hpa_replicas(
    value: float, target: float, current: int, lo: int, hi: int, tolerance: float = 0.1
) -> int:
    """The HPA's count for an External metric at ``value`` against an AverageValue ``target``
    from ``current`` pods (KEDA hands the composite metric as milli-units), within [lo, hi]."""
    milli = math.floor(value * 1000) / 1000
    if current > 0 and abs(1.0 - milli / (target * current)) <= tolerance:
        want = current
    else:
        want = math.ceil(milli / target)
    return max(lo, min(hi, want))
