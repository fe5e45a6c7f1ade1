"""LLM request traces: arrival times with token counts (``simulate --trace`` on an LLM plan).

Read formats (docs/simulate.md, "LLM traces"):

* CSV (one header line) or JSON Lines with a time column/key (``timestamp``, ``time``,
  ``arrival_time``, ``t``; seconds) and token counts (``input_tokens`` / ``prompt_tokens`` /
  ``input_len``; ``output_tokens`` / ``completion_tokens`` / ``output_len``), optionally a
  ``class`` column: a gateway log or a request log.
* One arrival time per line (the request-level simulator's trace, :func:`scaleplan.simulate.
  arrivals.parse_trace`): no token counts, so each request's class is drawn by the spec's
  shares and its tokens as ``--lengths`` draws them (``lengths_given`` False).
* A vLLM serving-benchmark result saved with per-request arrays (``input_lens``,
  ``output_lens``; ``benchmark_serving.py --save-result`` or ``vllm bench serve
  --save-detailed``): the token counts are replayed; it holds no arrival times, so arrivals are
  Poisson at its ``request_rate`` (all at once for ``inf``), seeded.

Epoch timestamps (>= 1e8 s) are shifted by the start of the first request's UTC day: each
request keeps its UTC time of day, which picks the plan's window it is replayed in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import InputError, Problem
from scaleplan.simulate.arrivals import EPOCH_S, iso_time, mixed_clocks

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MAX_TRACE_BYTES = 512 * 1024 * 1024
TIME_KEYS = ("timestamp", "time", "arrival_time", "arrival", "t", "ts", "start_time")
IN_KEYS = ("input_tokens", "prompt_tokens", "input_len", "input_length", "isl", "num_prompt_tokens")
OUT_KEYS = ("output_tokens", "completion_tokens", "output_len", "output_length", "osl",
    "num_completion_tokens")
CLASS_KEYS = ("class", "request_class")
DAY_S = 86400.0
HEADER_HINT = (
    f"an LLM trace is a CSV with the header {TIME_KEYS[0]},{IN_KEYS[0]},{OUT_KEYS[0]}[,class], "
    "or one arrival time per line (docs/simulate.md, Arrivals)"
)


@dataclass(frozen=True)
class LlmTrace:
    """Requests of a trace, sorted by time: seconds, prompt and completion tokens, class names
    (None where the trace gives none: the nearest spec class by token counts is used)."""

    name: str
    times: F64
    input_tokens: I64
    output_tokens: I64
    classes: tuple[str | None, ...]
    rate: float | None = None  # vLLM result without times: Poisson rate (inf = all at once)
    notes: tuple[str, ...] = ()
    lengths_given: bool = True  # False: arrival times only (classes and tokens drawn)


def _bad(name: str, message: str, hint: str, line: int | None = None) -> InputError:
    return InputError(name, [Problem("", message, hint=hint, line=line)])


def _pick(keys: list[str], options: tuple[str, ...]) -> str | None:
    low = {k.strip().lower(): k for k in keys}
    return next((low[o] for o in options if o in low), None)


TIME_HINT = (
    "give seconds, epoch seconds or ISO 8601 times with an offset (2025-12-06T13:00:05Z)"
)
# one level of parentheses once rendered ("FILE:LINE: message (hint)", UX trial 22 F8)
WHOLE_HINT = "a request has at least 1 input and 1 output token"


def _num(name: str, v: Any, what: str, line: int | None, *, integer: bool) -> float:
    """``v`` as a number (a time or a token count); refused with ``line`` (the trace's line,
    None for a vLLM result's arrays), which the error's file:line prefix names."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        at = None if integer else iso_time(name, v, line)
        if at is not None:
            return at
        hint = "give whole numbers" if integer else TIME_HINT
        raise _bad(name, f"{what} {v!r} is not a number", hint, line) from None
    if not math.isfinite(x):
        raise _bad(name, f"{what} {v!r} is not finite", "give finite numbers", line)
    if integer:
        if x < 1 or x != int(x):
            fix = "fix the line or drop it" if line is not None else "fix the entry"
            message = f"{what} is {v!r}, not a whole number of tokens >= 1"
            raise _bad(name, message, f"{fix}: {WHOLE_HINT}", line)
    elif x < 0:
        hint = "give seconds from the start of the day or epoch seconds, both >= 0"
        raise _bad(name, f"{what} is {v!r}, a time before 0", hint, line)
    return x


def _from_epoch(t: F64) -> tuple[F64, str]:
    """Epoch seconds as seconds from the start of the first request's UTC day, so each request
    keeps its UTC time of day (the plan's windows are UTC hours), and the note that says so."""
    first = float(t.min())
    day0 = math.floor(first / DAY_S) * DAY_S
    at = datetime.fromtimestamp(first, tz=UTC)
    note = (
        f"timestamps with a date, read as UTC: the first request arrives at {at:%H:%M:%S} UTC on "
        f"{at:%Y-%m-%d} and is replayed at that time of the plan's day"
    )
    return t - day0, note


def _rows(name: str, rows: list[tuple[int, dict[str, Any]]], keys: list[str]) -> LlmTrace:
    tk, ik, ok_, ck = (_pick(keys, TIME_KEYS), _pick(keys, IN_KEYS), _pick(keys, OUT_KEYS),
        _pick(keys, CLASS_KEYS))
    named = (("time (timestamp)", tk), ("input_tokens", ik), ("output_tokens", ok_))
    missing = [w for w, k in named if k is None]
    if missing:
        has = f"its columns: {', '.join(keys) or 'none'}"
        raise _bad(name, f"the trace has no {' or '.join(missing)} column ({has})", HEADER_HINT)
    assert tk is not None and ik is not None and ok_ is not None
    t = np.array([_num(name, r.get(tk), "time", ln, integer=False) for ln, r in rows],
        dtype=np.float64)
    i = np.array([_num(name, r.get(ik), "input_tokens", ln, integer=True) for ln, r in rows],
        dtype=np.int64)
    o = np.array([_num(name, r.get(ok_), "output_tokens", ln, integer=True) for ln, r in rows],
        dtype=np.int64)
    c: list[str | None] = [(str(r.get(ck)).strip() or None) if ck and r.get(ck) is not None
        else None for _, r in rows]
    notes: list[str] = []
    mixed_clocks(name, t, lambda k: rows[k][0], lambda k: str(rows[k][1].get(tk)))
    if len(t) and t.min() >= EPOCH_S:
        t, note = _from_epoch(t)
        notes.append(note)
    order = np.argsort(t, kind="stable")
    return LlmTrace(name, t[order], i[order], o[order], tuple(c[k] for k in order.tolist()),
        notes=tuple(notes))


_AGGREGATES = {"aiperf": "an AIPerf", "genai-perf": "a GenAI-Perf", "melange": "a Mélange",
    "aibrix": "an AIBrix"}


def _refuse_aggregate(name: str, d: dict[str, Any]) -> None:
    """An AIPerf / GenAI-Perf export (or a Mélange / AIBrix table) holds aggregates, no
    request: named for what it is (it was called "this vLLM result")."""
    from scaleplan.importers.benchmarks import detect

    fmt = detect(d)
    if fmt in _AGGREGATES:
        raise _bad(name, f"this is {_AGGREGATES[fmt]} aggregate export, not a trace: it holds no "
            "request's arrival or lengths", "give a CSV trace with "
            "timestamp,input_tokens,output_tokens, or a vLLM result saved with --save-detailed; "
            "`scaleplan profile import` reads aggregate exports")


def _vllm_result(name: str, d: dict[str, Any]) -> LlmTrace:
    ins, outs = d.get("input_lens"), d.get("output_lens")
    if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
        raise _bad(name, "this vLLM result has no per-request input_lens/output_lens arrays",
            "save it with --save-detailed (vllm bench serve) or use a CSV trace with "
            "timestamp,input_tokens,output_tokens")
    i = np.array([_num(name, v, f"input_lens[{k}]", None, integer=True) for k, v in enumerate(ins)],
        dtype=np.int64)
    o = (np.array([_num(name, v, f"output_lens[{k}]", None, integer=True) for k,
        v in enumerate(outs)], dtype=np.int64))
    raw = d.get("request_rate", "inf")
    try:
        rate = float(raw)
    except (TypeError, ValueError):
        raise _bad(name, f"request_rate {raw!r} is not a number",
            "vLLM writes a number or 'inf'") from None
    if not rate > 0:
        raise _bad(name, f"request_rate {raw!r} must be > 0", "vLLM writes a number or 'inf'")
    note = (f"vLLM result without arrival times: {len(i)} requests replayed "
        f"{'all at once' if math.isinf(rate) else f'as Poisson arrivals at {rate:g} req/s'}")
    return LlmTrace(name, np.zeros(len(i)), i, o, (None,) * len(i), rate=rate, notes=(note,))


def _times_only(text: str, name: str) -> LlmTrace:
    """Arrival times only, read as the request-level simulator reads them."""
    from scaleplan.simulate.arrivals import parse_trace

    t = parse_trace(text, name).times
    n = len(t)
    note = (
        f"the trace gives arrival times only: each of its {n} requests' class is drawn by the"
        " spec's shares and its tokens as --lengths draws them"
    )
    zero = np.zeros(n, dtype=np.int64)
    return LlmTrace(name, t, zero, zero, (None,) * n, notes=(note,), lengths_given=False)


def parse_llm_trace(text: str, name: str) -> LlmTrace:
    stripped = text.lstrip()
    if not stripped:
        raise _bad(name, "the trace is empty", "give one request per line: "
            "timestamp,input_tokens,output_tokens")
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError:
            doc = None
        if isinstance(doc, dict):
            _refuse_aggregate(name, doc)
            return _vllm_result(name, doc)
        rows: list[tuple[int, dict[str, Any]]] = []
        keys: list[str] = []
        for ln, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _bad(name, f"not JSON ({exc.msg})", "give one JSON object per line",
                    ln) from None
            if not isinstance(obj, dict):
                raise _bad(name, "not a JSON object", "give one JSON object per line", ln)
            keys = keys or list(obj)
            rows.append((ln, obj))
        return _rows(name, rows, keys)
    import csv
    import io

    lines = [(ln, s) for ln, s in enumerate(text.splitlines(), start=1) if s.strip()
        and not s.lstrip().startswith("#")]
    if not lines:
        raise _bad(name, "the trace has no requests", "give one request per line: "
            "timestamp,input_tokens,output_tokens")
    reader = csv.reader(io.StringIO("\n".join(s for _, s in lines)))
    table = list(reader)
    if all(len(r) == 1 for r in table):  # one arrival time per line: the tokens are drawn
        return _times_only(text, name)
    header = [h.strip() for h in table[0]]
    rows = [(lines[k][0], dict(zip(header, r, strict=False))) for k,
        r in enumerate(table[1:], start=1)]
    if not rows:
        raise _bad(name, "the trace has a header but no requests", "add one request per line")
    return _rows(name, rows, header)


def read_llm_trace(path: str | Path) -> LlmTrace:
    from scaleplan.yamlio import read_text

    return parse_llm_trace(read_text(path, what="trace", max_bytes=MAX_TRACE_BYTES), str(path))
