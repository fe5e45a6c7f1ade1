"""Endpoint profiler against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from profile_helpers import free_port, serve, validate_profile_file

QUICK = ["--time-budget", "0.3", "--accelerator", "cpu"]


def _payload(tmp_path: Path, rows: int = 2) -> str:
    p = tmp_path / "body.json"
    p.write_text(json.dumps({"inputs": [[0.1] * 64 for _ in range(rows)]}), encoding="utf-8")
    return str(p)


def test_model_server_concurrency_sweep(tmp_path: Path, cli) -> None:
    out = tmp_path / "ep.yaml"
    with serve("model") as url:
        cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--concurrency", "1,2,4", *QUICK, "--out", str(out)])
    data = validate_profile_file(out)
    ms = data["measurements"]
    assert [m["concurrency"] for m in ms] == [1, 2, 4]
    assert all(m["error_rate"] == 0 and m["throughput_rps"] > 0 and m["accelerator"] == "CPU" for m in ms)
    assert data["metadata"]["kind"] == "endpoint"


def test_model_server_rate_sweep(tmp_path: Path, cli) -> None:
    out = tmp_path / "rate.yaml"
    with serve("model") as url:
        cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--rate", "20,40", "--requests", "15", *QUICK, "--out", str(out)])
    ms = validate_profile_file(out)["measurements"]
    assert sorted(m["offered_rps"] for m in ms) == [20.0, 40.0]
    assert all(m["samples"] == 15 for m in ms)


def test_error_server_stops_sweep(tmp_path: Path, cli) -> None:
    """2 of 3 requests fail at the first level: past --max-error-rate, that level is no capacity
    to plan on. It was kept in the profile (exit 0) and the optimizer, which reads no
    error_rate, planned on it; now it is left out, and with no level left the run exits 5."""
    out = tmp_path / "err.yaml"
    with serve("errors") as url:
        # a fixed count, a multiple of 3: exactly 2 of every 3 consecutive requests fail (a time
        # budget gave 17 requests under load and 12/17 = 0.706)
        r = cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--concurrency", "1,2,4",
                 "--requests", "30", *QUICK, "--out", str(out)], exit_code=5)
    assert "error rate 66.7% above --max-error-rate 10%" in r.stderr and "HTTP 500" in r.stderr
    assert "--max-error-rate" in r.stderr and not out.exists()


def test_overloaded_level_is_left_out_of_the_profile(tmp_path: Path, cli) -> None:
    """A real server that answers 503 while it is busy with another request (an overloaded
    replica): concurrency 1 is clean, concurrency 8 mostly fails. The profile keeps the clean
    level and leaves the failing one out, naming it in a note."""
    import asyncio

    from aiohttp import web
    from profile_helpers import aiohttp_server

    busy = {"n": 0}

    async def predict(request: web.Request) -> web.Response:
        await request.read()
        if busy["n"]:
            return web.Response(status=503, text="busy")
        busy["n"] += 1
        try:
            await asyncio.sleep(0.01)
        finally:
            busy["n"] -= 1
        return web.json_response({"ok": True})

    out = tmp_path / "over.yaml"
    with aiohttp_server(lambda app: app.router.add_post("/predict", predict)) as port:
        r = cli(["profile", f"http://127.0.0.1:{port}/predict", "--payload", _payload(tmp_path),
                 "--concurrency", "1,8", "--requests", "40", *QUICK, "--out", str(out)])
    data = validate_profile_file(out)
    assert [m["concurrency"] for m in data["measurements"]] == [1]
    assert data["measurements"][0]["error_rate"] == 0
    note = next(n for n in data["metadata"]["notes"] if "concurrency 8" in n)
    assert "above --max-error-rate 10%" in note and "HTTP 503" in note
    assert note.startswith("concurrency 8 is left out of the profile: ")
    assert "left out" in r.stderr


def test_all_errors_exit_5(tmp_path: Path, cli) -> None:
    with serve("allerrors") as url:
        r = cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--concurrency", "1", *QUICK], exit_code=5)
    assert "no successful request" in r.stderr and "HTTP 503" in r.stderr


def test_stalling_server_times_out(tmp_path: Path, cli) -> None:
    with serve("stall") as url:
        r = cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--concurrency", "1,2", "--timeout", "0.2", *QUICK], exit_code=5)
    assert "timeout" in r.stderr and "Traceback" not in r.stderr


def test_closing_server(tmp_path: Path, cli) -> None:
    with serve("close") as url:
        r = cli(["profile", f"{url}/predict", "--payload", _payload(tmp_path), "--concurrency", "1", *QUICK], exit_code=5)
    assert "connection closed by the server" in r.stderr


def test_refused_connection_exit_5(tmp_path: Path, cli) -> None:
    port = free_port()  # nothing listens there
    r = cli(["profile", f"http://127.0.0.1:{port}/predict", "--concurrency", "1,2", *QUICK], exit_code=5)
    assert f"cannot connect to http://127.0.0.1:{port}/predict" in r.stderr and "Traceback" not in r.stderr


def test_openai_streaming_ttft_tpot(tmp_path: Path, cli) -> None:
    out = tmp_path / "llm.yaml"
    with serve("openai") as url:
        cli(["profile", f"{url}/v1/chat/completions", "--openai", "--max-tokens", "6", "--model-name", "tiny", "--concurrency", "1,2", *QUICK, "--out", str(out)])
        out2 = tmp_path / "llm2.yaml"
        cli(["profile", f"{url}/v1/completions", "--openai", "--max-tokens", "4", "--concurrency", "1", *QUICK, "--out", str(out2)])
    data = validate_profile_file(out)
    assert data["metadata"]["kind"] == "llm-endpoint" and data["metadata"]["model"] == "tiny"
    for m in data["measurements"]:
        assert 15 <= m["ttft_ms"]["p50"] < 200  # the server waits 20 ms before the first token
        assert 3 <= m["tpot_ms"]["p50"] < 100  # and 5 ms between tokens
        assert m["latency_ms"]["p50"] >= m["ttft_ms"]["p50"]
    assert validate_profile_file(out2)["measurements"][0]["ttft_ms"]["p50"] >= 15


def test_bad_payload_and_url(tmp_path: Path, cli) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = cli(["profile", "http://127.0.0.1:1/x", "--payload", str(bad)], exit_code=3)
    assert "not valid JSON" in r.stderr
    r = cli(["profile", "http://127.0.0.1:1/x", "--payload", str(tmp_path / "missing.json")], exit_code=3)
    assert "payload not found" in r.stderr
    r = cli(["profile", "http://127.0.0.1:1/generate", "--openai"], exit_code=2)  # --openai with a URL it cannot use: usage
    assert "/v1/completions" in r.stderr
    cli(["profile", "http://127.0.0.1:1/x", "--concurrency", "1", "--rate", "2"], exit_code=2)


def test_timed_out_requests_count_in_the_latency_tail(tmp_path: Path, cli) -> None:
    """A real server whose every 20th request takes 1 s, profiled with --timeout 0.3: 5 % of
    requests time out (under --max-error-rate, so the level is kept). Their latency was left
    out of the percentiles, so p99 read like the fast requests' (a few ms) and an SLO at p99
    looked met; a timed-out request now counts at its time to the timeout, a lower bound."""
    import asyncio

    from aiohttp import web
    from profile_helpers import aiohttp_server

    seen = {"n": 0}

    async def predict(request: web.Request) -> web.Response:
        await request.read()
        seen["n"] += 1
        await asyncio.sleep(1.0 if seen["n"] % 20 == 0 else 0.002)
        return web.json_response({"ok": True})

    out = tmp_path / "tail.yaml"
    with aiohttp_server(lambda app: app.router.add_post("/predict", predict)) as port:
        cli(["profile", f"http://127.0.0.1:{port}/predict", "--payload", _payload(tmp_path),
             "--concurrency", "1", "--requests", "40", "--timeout", "0.3", *QUICK,
             "--out", str(out)])
    m = validate_profile_file(out)["measurements"][0]
    assert m["error_rate"] == 0.05 and m["samples"] == 38
    assert m["latency_ms"]["p99"] >= 290 and m["latency_ms"]["p50"] < 100


def test_emit_jobs_refuses_an_endpoint(tmp_path: Path, cli) -> None:
    """``--emit-jobs`` with a URL wrote Jobs on GPU nodes whose command, ``scaleplan profile URL
    --device cuda``, is itself refused (exit 2: --device does not apply to an endpoint), so
    every Job failed in the cluster. An endpoint is profiled from where it can be reached,
    with no GPU: refused here (exit 2), nothing written."""
    with serve("model") as url:
        target = f"{url}/predict"
        # the command such a Job ran, against a real server: refused before any request
        r = cli(["profile", target, "--device", "cuda", *QUICK], exit_code=2)
        assert "--device does not apply to an HTTP endpoint" in " ".join(r.stderr.split())
        r = cli(["profile", target, "--emit-jobs", str(tmp_path / "jobs"), "--accelerators", "L4",
                 "--image", "r/p:1"], exit_code=2)
    said = " ".join(r.stderr.split())
    assert "--emit-jobs" in said and "endpoint" in said and not (tmp_path / "jobs").exists()


def test_endpoint_table_fits_80_columns_with_a_long_url(tmp_path: Path, cli) -> None:
    """An in-cluster URL is long (http://embedder.default.svc.cluster.local:8080/v1/embed):
    the table's DEVICE column held it whole and the rows ran past 80 columns (110 here). A
    table that cannot fit is printed as records (scaleplan.table), the URL whole on its line."""
    with serve("model") as url:
        long_url = f"{url}/predict?deployment=embedder-production-canary-eu-west-1"
        r = cli(["profile", long_url, "--payload", _payload(tmp_path), "--concurrency", "1",
                 "--requests", "5", "--name", "embedder", *QUICK,
                 "--out", str(tmp_path / "p.yaml")])
    lines = r.stdout.splitlines()
    assert long_url in lines  # whole, on its own line
    assert all(len(line) <= 80 for line in lines if line != long_url), r.stdout
    assert any(line.strip().startswith("p99 ms: ") for line in lines)


def test_progress_figures_of_ten_seconds_and_more_are_whole() -> None:
    """An LLM endpoint's latencies run past 10 s (long outputs): the progress line and the
    note of a level past --max-error-rate wrote p99 '1.235e+04 ms' (c8cae4b fixed the rate
    alone), where the table writes 12,346; the model profiler's progress line did too."""
    from scaleplan.profile.endpoint import level_figures
    from scaleplan.profile.measure import describe
    from scaleplan.profile.model import Measurement, Percentiles

    lat = Percentiles(p50=10_500.0, p90=11_000.0, p95=12_000.0, p99=12_345.6, mean=10_600.0)
    m = Measurement(device="http://x", accelerator="H100", batch_size=64, latency_ms=lat,
                    throughput_rps=12_345.6, source="measured")
    assert level_figures(m) == "p50 10,500 ms, p99 12,346 ms, 12,346 req/s"
    assert describe(m).startswith("http://x batch 64: p50 10,500 ms, p99 12,346 ms, 12,346/s")
