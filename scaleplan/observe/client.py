"""A small Prometheus HTTP API client (standard library only; docs/observe.md).

Every request has a read timeout, the whole run a deadline, and every response a byte limit.
Credentials come from the environment or a file, never from a command-line value, and never
appear in an error message: errors name the query, the URL without user info and the cause.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaleplan.errors import ExternalError, InputError, Problem, option_error

ENV_TOKEN = "SCALEPLAN_PROMETHEUS_TOKEN"
ENV_TOKEN_FILE = "SCALEPLAN_PROMETHEUS_TOKEN_FILE"
ENV_USER = "SCALEPLAN_PROMETHEUS_USER"
ENV_PASSWORD = "SCALEPLAN_PROMETHEUS_PASSWORD"
ENV_PASSWORD_FILE = "SCALEPLAN_PROMETHEUS_PASSWORD_FILE"
CHUNK = 65536


@dataclass(frozen=True)
class Auth:
    """How to authenticate. ``repr`` never shows the secret."""

    kind: str  # "none", "bearer", "basic"
    header: str = field(default="", repr=False)

    @property
    def source(self) -> str:
        return self.kind


def auth_from_env(env: Mapping[str, str], *, token_file: str | None = None) -> Auth:
    """Bearer token (``SCALEPLAN_PROMETHEUS_TOKEN`` or a token file) or basic auth
    (``SCALEPLAN_PROMETHEUS_USER`` + ``..._PASSWORD`` or ``..._PASSWORD_FILE``)."""
    tfile = token_file or env.get(ENV_TOKEN_FILE)
    token = env.get(ENV_TOKEN)
    if tfile:
        token = _read_secret(tfile, "token file")
    if token:
        return Auth("bearer", f"Bearer {token.strip()}")
    user = env.get(ENV_USER)
    if user:
        pw = env.get(ENV_PASSWORD)
        pfile = env.get(ENV_PASSWORD_FILE)
        if pfile:
            pw = _read_secret(pfile, "password file")
        if pw is None:
            raise InputError(None, [Problem(ENV_USER, f"{ENV_USER} is set but neither "
                f"{ENV_PASSWORD} nor {ENV_PASSWORD_FILE} is", hint="set the password in the "
                "environment or in a file")])
        raw = f"{user}:{pw.strip()}".encode()
        return Auth("basic", "Basic " + base64.b64encode(raw).decode("ascii"))
    return Auth("none")


def _read_secret(path: str, what: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, [Problem("", f"cannot read the {what}: {exc.strerror or exc}",
            hint="check the path and its permissions")]) from None
    if not text.strip():
        raise InputError(path, [Problem("", f"the {what} is empty",
            hint="write the secret into the file")])
    return text


@dataclass(frozen=True)
class ClientOptions:
    timeout_s: float = 30.0  # per read
    deadline_s: float = 300.0  # whole run
    max_bytes: int = 64 * 1024 * 1024  # per response
    ca_file: str | None = None
    insecure: bool = False


def _redact(url: str) -> str:
    """The URL without user info or query string (never print credentials)."""
    p = urllib.parse.urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    return urllib.parse.urlunsplit((p.scheme, host, p.path, "", ""))


class QueryFailed(ExternalError):
    """A Prometheus query failed: the message names the query and why."""

    def __init__(self, name: str, query: str, why: str, *, hint: str = "") -> None:
        self.name = name
        self.query = query
        self.why = why
        super().__init__(f"Prometheus query {name!r} failed: {why}\n  query: {query}", hint=hint)


Opener = Callable[..., Any]


class Prometheus:
    """Range and instant queries against one Prometheus server."""

    def __init__(self, url: str, *, auth: Auth | None = None, options: ClientOptions | None = None,
            clock: Callable[[], float] = time.monotonic) -> None:
        p = urllib.parse.urlsplit(url)
        if p.scheme not in ("http", "https") or not p.hostname:
            raise option_error([Problem("--prometheus", f"{_redact(url) or url!r} is not "
                "an http(s) URL", hint="pass e.g. http://prometheus.monitoring.svc:9090")])
        if p.username or p.password:
            raise option_error([Problem("--prometheus", "the URL carries credentials",
                hint=f"put them in {ENV_USER}/{ENV_PASSWORD} or a token in {ENV_TOKEN} instead")])
        self.base = url.rstrip("/")
        self.shown = _redact(self.base)
        self.auth = auth or Auth("none")
        self.options = options or ClientOptions()
        self._clock = clock
        self._start = clock()
        ctx: ssl.SSLContext | None = None
        if p.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.options.ca_file)
            if self.options.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        self._ctx = ctx

    def _remaining(self, name: str, query: str) -> float:
        left = self.options.deadline_s - (self._clock() - self._start)
        if left <= 0:
            raise QueryFailed(name, query, f"the total deadline of {self.options.deadline_s:g} s ran out", hint="raise --deadline or shorten --since")
        return left

    def _get(self, name: str, path: str, params: dict[str, str]) -> Any:
        query = params.get("query", "")
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, headers={"Accept": "application/json",
            "User-Agent": "scaleplan-observe"})
        if self.auth.header:
            req.add_unredirected_header("Authorization", self.auth.header)
        timeout = min(self.options.timeout_s, self._remaining(name, query))
        where = f"{self.shown}{path}"
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ctx) as resp:
                body = self._read(resp, name, query)
                status = resp.status
        except urllib.error.HTTPError as exc:
            body = b""
            with contextlib.suppress(OSError):
                body = exc.read(self.options.max_bytes)
            raise QueryFailed(name, query, f"{where} answered HTTP {exc.code}{_api_error(body)}",
                hint=_http_hint(exc.code, self.auth.kind)) from None
        except TimeoutError:
            raise QueryFailed(name, query, f"{where} did not answer within {timeout:g} s",
                hint="raise --timeout, shorten --since or raise --step") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise QueryFailed(name, query, f"{where} did not answer within {timeout:g} s",
                    hint="raise --timeout, shorten --since or raise --step") from None
            raise QueryFailed(name, query, f"cannot reach {where}: {reason}",
                hint="check --prometheus (port-forward: kubectl -n monitoring port-forward "
                "svc/prometheus 9090)") from None
        except (ConnectionError, OSError) as exc:
            raise QueryFailed(name, query, f"cannot reach {where}: {exc}",
                hint="check --prometheus and the network") from None
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise QueryFailed(name, query, f"{where} answered HTTP {status} with a body that is "
                "not JSON (is this a Prometheus server?)") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            raise QueryFailed(name, query, f"{where} returned an error{_api_error(body)}")
        return doc.get("data")

    def _read(self, resp: Any, name: str, query: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            self._remaining(name, query)
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > self.options.max_bytes:
                raise QueryFailed(name, query, "the answer is larger than --max-mib "
                    f"{round(self.options.max_bytes / 1048576, 3):g} MiB",
                    hint="raise --step, shorten --since or raise --max-mib")
            chunks.append(chunk)
        return b"".join(chunks)

    def query_range(self, name: str, query: str, start: float, end: float,
            step_s: float) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """(labels, [(unix time, value)]) per series; NaN/Inf samples are dropped."""
        data = self._get(name, "/api/v1/query_range",
            {"query": query, "start": _ts(start), "end": _ts(end), "step": f"{step_s:g}s"})
        if (not isinstance(data, dict) or data.get("resultType") != "matrix"
                or not isinstance(data.get("result"), list)):
            raise QueryFailed(name, query, "the answer is not a range (matrix) result")
        out: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
        for series in data["result"]:
            try:
                labels = {str(k): str(v) for k, v in series.get("metric", {}).items()}
                points = [(float(t), float(v)) for t, v in series.get("values", [])]
            except (TypeError, ValueError, AttributeError):
                raise QueryFailed(name, query, "the answer holds a malformed series") from None
            points = [(t, v) for t, v in points if v == v and abs(v) != float("inf")]
            out.append((labels, points))
        return out


def _ts(t: float) -> str:
    return f"{t:.3f}".rstrip("0").rstrip(".")


def _api_error(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(doc, dict) and doc.get("error"):
        kind = doc.get("errorType") or "error"
        return f" ({kind}: {str(doc['error'])[:300]})"
    return ""


def _http_hint(code: int, auth: str = "none") -> str:
    if code in (401, 403) and auth != "none":
        given = (f"{ENV_TOKEN} (or the token file)" if auth == "bearer"
            else f"{ENV_USER}/{ENV_PASSWORD}")
        return (f"the server rejected the credentials given ({auth}, from {given}): check that "
            "they are current and allowed to query this server")
    if code in (401, 403):
        return (f"set {ENV_TOKEN} (or {ENV_TOKEN_FILE}) or {ENV_USER}/{ENV_PASSWORD} for a server "
            "that needs credentials")
    if code == 400:
        return ("the query is not valid PromQL for this server; check the query "
            "overrides (--queries)")
    if code in (404,):
        return "--prometheus should be the server's base URL (the API is under /api/v1)"
    return "check the Prometheus server's health"
