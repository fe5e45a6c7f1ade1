"""Profile a running HTTP endpoint with an async load generator (aiohttp).

Two sweeps: closed-loop **concurrency** (N workers, each sends its next request when the last
one returns) and open-loop **rate** (Poisson arrivals at R req/s, seeded). Each level runs for
``duration_s`` (or ``requests`` requests) and becomes one profile point with latency
percentiles of the successful requests, their throughput and the error rate. The sweep stops
once a level's error rate exceeds ``max_error_rate`` or its latency runs past twice the SLO.

``openai`` mode streams ``/v1/completions`` or ``/v1/chat/completions`` (server-sent events)
and records time to first token (TTFT) and time per output token (TPOT) per request.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scaleplan.errors import ExternalError, OptionError, ProfileError
from scaleplan.profile.model import Measurement, Percentiles
from scaleplan.profile.stats import figure, round_sig, summarize_ms
from scaleplan.wording import counted

MAX_BODY_BYTES = 64 * 1024 * 1024  # one response (or SSE stream): more is an error, never buffered
MAX_COMPLETION_TOKENS = 10_000_000  # usage.completion_tokens above this is not a real count
MAX_REDIRECTS = 5
FAR_PAST_SLO = 2.0  # stop the sweep once the SLO percentile exceeds this multiple of the SLO


@dataclass
class EndpointOptions:
    url: str
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: list[int] | None = None
    rates: list[float] | None = None
    requests: int | None = None
    duration_s: float = 5.0
    timeout_s: float = 30.0
    max_error_rate: float = 0.1
    slo_ms: float | None = None
    slo_percentile: int = 99
    openai: bool = False
    accelerator: str = "unknown"
    gpus: int = 1
    seed: int = 0
    follow_redirects: bool = False  # to another origin (same-origin redirects are always followed)


@dataclass
class RequestResult:
    ok: bool
    latency_s: float
    error: str | None = None
    ttft_s: float | None = None
    tpot_s: float | None = None
    tokens: int = 0
    connect_error: bool = False


@dataclass
class LevelResult:
    results: list[RequestResult]
    wall_s: float
    concurrency: int | None = None
    rate: float | None = None


@dataclass
class EndpointSweep:
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


def parse_headers(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in items:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise OptionError(f"{h!r}: expected 'Name: value' (e.g. --header 'Authorization: "
                "Bearer TOKEN')", option="--header")
        out[name.strip()] = value.strip()
    return out


def load_payload(path: str | None, *, openai: bool, url: str, model_name: str | None,
        max_tokens: int) -> dict[str, Any] | None:
    """The JSON request body (``None`` = GET); OpenAI mode fills in a default and forces streaming."""
    body: dict[str, Any] | None = None
    if path is not None:
        from scaleplan.yamlio import read_text

        text = read_text(path, what="payload")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(path, message=f"{path}: not valid JSON: {exc.msg} at line "
                f"{exc.lineno}, column {exc.colno}", hint="the payload is the JSON request body, "
                "e.g. {\"inputs\": [[1, 2, 3]]}") from None
        if not isinstance(data, dict):
            raise ProfileError(path, message=f"{path}: the payload must be a JSON object, got "
                f"{type(data).__name__}", hint="wrap it in an object")
        body = data
    if openai:
        chat = urlsplit(url).path.rstrip("/").endswith("chat/completions")
        if not urlsplit(url).path.rstrip("/").endswith("completions"):
            raise OptionError(f"{url} is not a /v1/completions or /v1/chat/completions URL (e.g. "
                "http://localhost:8000/v1/chat/completions)", option="--openai")
        body = dict(body or {})
        if model_name:
            body["model"] = model_name
        body.setdefault("model", "default")
        if chat:
            body.setdefault("messages", [{"role": "user", "content": "Write a short story about a "
                "robot learning to paint."}])
        else:
            body.setdefault("prompt", "Write a short story about a robot learning to paint.")
        body.setdefault("max_tokens", max_tokens)
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return body


def _error_name(exc: BaseException) -> tuple[str, bool]:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):
        return ("connection failed "
            f"({exc.os_error.strerror if exc.os_error and exc.os_error.strerror else exc})"), True
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout", False
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError | ConnectionResetError):
        return "connection closed by the server", False
    if isinstance(exc, aiohttp.ClientError):
        return f"client error ({type(exc).__name__})", False
    return f"{type(exc).__name__}", False


class _Implausible(Exception):
    """A reply that cannot be a real measurement (e.g. 10^30 completion tokens)."""


class _TooLarge(Exception):
    pass


def _origin(url: str) -> tuple[str, str, int | None]:
    u = urlsplit(url)
    return (u.scheme.lower(), (u.hostname or "").lower(),
        u.port or {"http": 80, "https": 443}.get(u.scheme.lower()))


async def _drain(resp: Any) -> None:
    """Read and discard a body, at most MAX_BODY_BYTES (an endless body is an error, not RAM)."""
    seen = 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        seen += len(chunk)
        if seen > MAX_BODY_BYTES:
            raise _TooLarge


async def _open(session: Any, opts: EndpointOptions) -> Any:
    """The response after redirects: same-origin ones are followed with the user's headers;
    one to another origin only with ``follow_redirects``, and then without them (an API key
    must never leave for a host the user did not name)."""
    from urllib.parse import urljoin

    method = "POST" if opts.body is not None else "GET"
    url, headers, body = opts.url, opts.headers, opts.body
    for _ in range(MAX_REDIRECTS + 1):
        resp = await session.request(method, url, json=body, headers=headers, allow_redirects=False)
        location = resp.headers.get("Location")
        if resp.status not in (301, 302, 303, 307, 308) or not location:
            return resp
        resp.release()
        nxt = urljoin(url, location)
        if _origin(nxt) != _origin(url):
            if not opts.follow_redirects:
                raise _Redirect(f"redirect to another origin ({_origin(nxt)[1]}) not followed; "
                    "pass --follow-redirects to allow it")
            headers = {}
        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
            method, body = "GET", None
        url = nxt
    raise _Redirect(f"more than {MAX_REDIRECTS} redirects")


class _Redirect(Exception):
    pass


def _sse_text(obj: Any) -> tuple[str, int | None]:
    """Text of one OpenAI stream chunk and, when present, usage.completion_tokens."""
    text = ""
    usage = None
    if isinstance(obj, dict):
        for ch in obj.get("choices") or []:
            if isinstance(ch, dict):
                t = ch.get("text")
                if t is None and isinstance(ch.get("delta"), dict):
                    t = ch["delta"].get("content") or ch["delta"].get("reasoning_content")
                if isinstance(t, str):
                    text += t
        u = obj.get("usage")
        n = u.get("completion_tokens") if isinstance(u, dict) else None
        if isinstance(n, int) and not isinstance(n, bool):
            if not 0 <= n <= MAX_COMPLETION_TOKENS:
                raise _Implausible(f"usage.completion_tokens {n:.3g} is not a plausible count")
            usage = n
    return text, usage


async def _one(session: Any, opts: EndpointOptions, clock: Callable[[], float]) -> RequestResult:
    t0 = clock()
    try:
        async with await _open(session, opts) as resp:
            if not opts.openai:
                await _drain(resp)
                t1 = clock()
                if resp.status >= 400:
                    return RequestResult(ok=False, latency_s=t1 - t0, error=f"HTTP {resp.status}")
                return RequestResult(ok=True, latency_s=t1 - t0)
            if resp.status >= 400:
                await _drain(resp)
                return RequestResult(ok=False, latency_s=clock() - t0, error=f"HTTP {resp.status}")
            first = last = None
            chunks = 0
            usage: int | None = None
            seen = 0
            async for raw in resp.content:
                seen += len(raw)
                if seen > MAX_BODY_BYTES:
                    raise _TooLarge
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    obj = json.loads(data)
                except json.JSONDecodeError:
                    continue
                text, u = _sse_text(obj)
                if u is not None:
                    usage = u
                if text:
                    now = clock()
                    chunks += 1
                    if first is None:
                        first = now
                    last = now
            t1 = clock()
            if first is None or last is None:
                return RequestResult(ok=False, latency_s=t1 - t0,
                    error="stream ended without tokens")
            tokens = usage if usage and usage >= chunks else chunks
            tpot = (last - first) / (tokens - 1) if tokens > 1 else None
            return RequestResult(ok=True, latency_s=t1 - t0, ttft_s=first - t0, tpot_s=tpot,
                tokens=tokens)
    except _TooLarge:
        return RequestResult(ok=False, latency_s=clock() - t0,
            error=f"response larger than {MAX_BODY_BYTES >> 20} MiB")
    except (_Implausible, _Redirect) as exc:
        return RequestResult(ok=False, latency_s=clock() - t0, error=str(exc))
    except Exception as exc:
        name, conn = _error_name(exc)
        return RequestResult(ok=False, latency_s=clock() - t0, error=name, connect_error=conn)


async def _level(opts: EndpointOptions, *, concurrency: int | None,
        rate: float | None) -> LevelResult:
    import aiohttp

    loop = asyncio.get_running_loop()
    clock = loop.time
    timeout = aiohttp.ClientTimeout(total=opts.timeout_s)
    limit = max(concurrency or 0, 100)
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    results: list[RequestResult] = []
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        start = clock()
        deadline = start + opts.duration_s
        if concurrency is not None:
            budget = [opts.requests] if opts.requests is not None else None

            async def worker() -> None:
                done = 0
                while True:
                    if budget is not None:
                        if budget[0] <= 0:
                            return
                        budget[0] -= 1
                    elif done > 0 and clock() >= deadline:
                        return
                    r = await _one(session, opts, clock)
                    results.append(r)
                    done += 1
                    if r.connect_error and not any(x.ok for x in results):
                        return  # nothing listens: do not hammer a closed port

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            assert rate is not None
            rng = random.Random(opts.seed)
            tasks: list[asyncio.Task[RequestResult]] = []
            t = start
            n = 0
            while True:
                if opts.requests is not None and n >= opts.requests:
                    break
                if opts.requests is None and t >= deadline and n > 0:
                    break
                delay = t - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(_one(session, opts, clock)))
                n += 1
                t += rng.expovariate(rate)
            results.extend(await asyncio.gather(*tasks))
        wall = clock() - start
    return LevelResult(results=results, wall_s=wall, concurrency=concurrency, rate=rate)


def _pct(values_s: list[float]) -> Percentiles:
    s = summarize_ms(values_s)
    return Percentiles(**{k: round_sig(v) for k, v in s.items()})


def level_figures(m: Measurement) -> str:
    """A level's latency and rate as its progress line and its note write them (an LLM's
    seconds whole: '12,346 ms', as the table, never '1.235e+04')."""
    lat = m.latency_ms
    return f"p50 {figure(lat.p50)} ms, p99 {figure(lat.p99)} ms, {figure(m.throughput_rps)} req/s"


def level_measurement(lv: LevelResult, opts: EndpointOptions) -> Measurement | None:
    ok = [r for r in lv.results if r.ok]
    if not ok or lv.wall_s <= 0:
        return None
    n = len(lv.results)
    # a timed-out request is the slow tail: it counts at its time to the timeout (a lower
    # bound), else p99 reads like the fast requests' while some never answered in time
    lat = [r.latency_s for r in lv.results if r.ok or r.error == "timeout"]
    thr = len(ok) / lv.wall_s
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    tpot = [r.tpot_s for r in ok if r.tpot_s is not None]
    if lv.concurrency is not None:
        batch = lv.concurrency
    else:  # open loop: mean requests in flight (Little's law)
        batch = max(1, round(thr * (sum(r.latency_s for r in ok) / len(ok))))
    return Measurement(
        device=opts.url,
        accelerator=opts.accelerator,
        batch_size=batch,
        latency_ms=_pct(lat),
        throughput_rps=round_sig(thr),
        source="measured",
        gpus=opts.gpus,
        concurrency=lv.concurrency,
        offered_rps=lv.rate,
        error_rate=round_sig((n - len(ok)) / n, 4) if n else None,
        ttft_ms=_pct(ttft) if ttft else None,
        tpot_ms=_pct(tpot) if tpot else None,
        samples=len(ok),
    )


def _errors_summary(lv: LevelResult) -> str:
    c = Counter(r.error for r in lv.results if not r.ok)
    return ", ".join(f"{k} x{v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def run_endpoint_sweep(opts: EndpointOptions, *,
        log: Callable[[str], None] | None = None) -> EndpointSweep:
    say = log or (lambda _m: None)
    out = EndpointSweep()
    levels: list[tuple[int | None, float | None]]
    if opts.rates:
        levels = [(None, r) for r in opts.rates]
    else:
        levels = [(c, None) for c in (opts.concurrency or [1, 2, 4, 8, 16, 32, 64])]
    for i, (conc, rate) in enumerate(levels):
        label = f"concurrency {conc}" if conc is not None else f"rate {rate:g}/s"
        say(f"{opts.url}: {label} for {counted(opts.requests, 'request')}" if opts.requests
            else f"{opts.url}: {label} for {opts.duration_s:g} s")
        t_wall = time.monotonic()
        try:
            lv = asyncio.run(_level(opts, concurrency=conc, rate=rate))
        except KeyboardInterrupt:
            out.interrupted = True
            out.notes.append(f"interrupted (Ctrl-C) at {label}; the sweep is incomplete")
            break
        del t_wall
        if lv.results and all(r.connect_error for r in lv.results) and i == 0:
            raise ExternalError(f"cannot connect to {opts.url}: {lv.results[0].error}",
                hint="is the server running and listening on that host and port? check the URL")
        m = level_measurement(lv, opts)
        errs = _errors_summary(lv)
        if m is None:
            note = (f"{label}: no successful request out of {len(lv.results)} "
                f"({errs or 'none sent'}); sweep stopped")
            out.notes.append(note)
            say(note)
            break
        figures = level_figures(m)
        say(f"measured {label}: {figures}, errors {m.error_rate or 0:.1%}" + (", TTFT p50 "
            f"{figure(m.ttft_ms.p50)} ms" if m.ttft_ms else "") + (", TPOT p50 "
            f"{figure(m.tpot_ms.p50)} ms" if m.tpot_ms else ""))
        if (m.error_rate or 0) > opts.max_error_rate:
            # no capacity to plan on (the optimizer reads no error_rate): left out, its
            # figures kept in the note
            note = (
                f"{label} is left out of the profile: error rate {m.error_rate:.1%} above "
                f"--max-error-rate {opts.max_error_rate:.0%} ({errs}; the successful ones: "
                f"{figures}); sweep stopped"
            )
            out.notes.append(note)
            say(note)
            break
        out.measurements.append(m)
        if opts.slo_ms is not None:
            v = m.latency_ms.at(opts.slo_percentile)
            if v > FAR_PAST_SLO * opts.slo_ms:
                note = (f"{label}: p{opts.slo_percentile} {v:.4g} ms is far past the SLO "
                    f"{opts.slo_ms:g} ms (> {FAR_PAST_SLO:g}x); sweep stopped")
                out.notes.append(note)
                say(note)
                break
        if not math.isfinite(m.throughput_rps):
            break
    return out
