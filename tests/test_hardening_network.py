"""Issue 19, groups 3, 5 and 10: what an endpoint sends back is bounded and checked; secrets
never follow a redirect to another host (docs/hardening.md). Real aiohttp servers on
127.0.0.1, each test bounded in requests and time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from profile_helpers import aiohttp_server as server

QUICK = ["--time-budget", "0.3", "--accelerator", "cpu", "--concurrency", "1", "--requests", "2"]


def _payload(tmp_path: Path) -> str:
    p = tmp_path / "body.json"
    p.write_text(json.dumps({"inputs": [[0.1] * 4]}), encoding="utf-8")
    return str(p)


def test_redirect_to_another_origin_is_not_followed_and_keeps_secrets(tmp_path: Path, cli) -> None:
    """profile followed a redirect from 127.0.0.1 to localhost and sent X-Api-Key there."""
    from aiohttp import web

    seen: list[dict[str, str]] = []

    async def other(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    with server(lambda app: app.router.add_route("*", "/predict", other), host="127.0.0.1") as other_port:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"http://localhost:{other_port}/predict")

        with server(lambda app: app.router.add_route("*", "/predict", redirect)) as port:
            url = f"http://127.0.0.1:{port}/predict"
            args = ["profile", url, "--payload", _payload(tmp_path), "--header", "X-Api-Key: s3cret", *QUICK]
            r = cli(args, exit_code=5)
            assert "another origin" in r.stderr and "--follow-redirects" in r.stderr
            assert seen == []
            cli([*args, "--follow-redirects", "--out", str(tmp_path / "p.yaml")], exit_code=0)
    assert seen and all("X-Api-Key" not in h and "s3cret" not in json.dumps(h) for h in seen)


def test_endless_body_is_cut_off(tmp_path: Path, cli) -> None:
    """An endless body took the profiler to 4.2 GB with one connection in 11 s."""
    from aiohttp import web

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(1 << 20):
                await resp.write(chunk)
        except (ConnectionResetError, ConnectionError):
            pass
        return resp

    with server(lambda app: app.router.add_route("*", "/predict", endless)) as port:
        r = cli(["profile", f"http://127.0.0.1:{port}/predict", "--payload", _payload(tmp_path), "--timeout", "60", *QUICK], exit_code=5)
    assert "larger than 64 MiB" in r.stderr


def test_absurd_completion_tokens_are_refused(tmp_path: Path, cli) -> None:
    """An SSE usage.completion_tokens of 10^30 gave a TPOT of 6.4e-32 ms."""
    from aiohttp import web

    async def sse(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(3):
            await resp.write(f"data: {json.dumps({'choices': [{'index': 0, 'text': f' t{i}'}]})}\n\n".encode())
            await asyncio.sleep(0.002)
        await resp.write(f"data: {json.dumps({'choices': [], 'usage': {'completion_tokens': 10**30}})}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    with server(lambda app: app.router.add_post("/v1/completions", sse)) as port:
        r = cli(["profile", f"http://127.0.0.1:{port}/v1/completions", "--openai", "--max-tokens", "3", *QUICK], exit_code=5)
    assert "completion_tokens" in r.stderr and "plausible" in r.stderr
