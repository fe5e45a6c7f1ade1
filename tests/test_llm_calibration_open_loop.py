"""How the LLM calibration reads an open-loop run that served less than it offered (ux7 15): a
short run whose server kept up served less because of its drain tail (a lower bound whose TTFT
and TPOT are still valid measurements), an overloaded one holds queueing in its TTFT, and only an
overloaded run long enough that its drain is negligible served at its capacity. The files are
the real vLLM results of tests/data/profile_formats, imported and fitted by the real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from profile_helpers import FORMATS, RUN_70B, imported_point, variant

from scaleplan.llm.estimate import point_reading

VLLM = FORMATS / "vllm_bench_serve_v0.25.1.json"


def test_the_70b_run_is_a_drain_tail_not_a_queue() -> None:
    """16 rps offered, 6.33 served over 200 prompts: the arrivals end at 12.5 s, the run at
    31.6 s; had a queue held it at 6.33 rps, requests would wait seconds, but TTFT is 60 ms."""
    m = imported_point(RUN_70B)
    r = point_reading(m)
    assert r.lower_bound and not r.queued


def test_a_lower_bound_keeps_its_ttft_and_tpot_in_the_fit(tmp_path: Path, cli) -> None:
    """It dropped the 70B run's TTFT and TPOT too ('calibration: none'), though they are valid
    measurements at the run's concurrency; its rate still never counts as capacity."""
    out = tmp_path / "p.yaml"
    cli(["profile", "import", str(RUN_70B), "--accelerator", "A100", "--gpus", "8", "--out", str(out)])
    args = ["profile", "llm", "llama-3.3-70b-instruct", "--accelerators", "A100", "--gpus", "8", "--concurrency", "8", "--calibrate", str(out), "--out", str(tmp_path / "l.yaml")]
    r = cli(args)
    text = " ".join((r.stdout + r.stderr).split())
    assert "calibration: none" not in text
    assert "a lower bound on throughput, not the capacity; its TTFT and TPOT join the fit" in text
    assert "from 1 measured point on A100" in text
    row = next(x for x in (r.stdout + r.stderr).splitlines() if "imported" in x)
    assert any(cell.startswith(">=") for cell in row.split()), row


def test_an_overloaded_run_holds_queueing_and_a_long_one_is_the_capacity(tmp_path: Path) -> None:
    """The v0.25.1 run (8 requests, 5.18 rps served, TTFT mean 216 ms against a median of 56:
    its requests queued) as if it had offered 40 rps: a queue (TTFT left out), but 8 requests
    end in a drain of 11 % of the run, so its rate is still a lower bound. Over 800 requests
    at 40 rps offered and 5.18 served, a queue makes requests wait about a minute: with that
    TTFT recorded the run served at its capacity (a drain of 0.1 %); with 216 ms it was no
    queue, and its rate stays a lower bound."""
    short = variant(tmp_path, VLLM, "short.json", lambda d: d.update(request_rate=40.0))
    r = point_reading(imported_point(short, "H100", 1))
    assert r.queued and r.lower_bound and r.running == 1

    def longer(d: dict[str, Any]) -> None:
        d.update(request_rate=40.0, num_prompts=800, completed=800, total_input_tokens=25600, total_output_tokens=12800)

    long = variant(tmp_path, VLLM, "long.json", longer)
    r = point_reading(imported_point(long, "H100", 1))
    assert r.lower_bound and not r.queued

    def queued(d: dict[str, Any]) -> None:
        longer(d)
        d.update(mean_ttft_ms=60_000.0, median_ttft_ms=60_000.0, p99_ttft_ms=110_000.0)

    r = point_reading(imported_point(variant(tmp_path, VLLM, "queued.json", queued), "H100", 1))
    assert r.queued and not r.lower_bound
    # a run that served what it offered kept up: a steady point, as before
    kept = variant(tmp_path, VLLM, "kept.json", lambda d: d.update(request_rate=5.2))
    r = point_reading(imported_point(kept, "H100", 1))
    assert not r.lower_bound and not r.queued

