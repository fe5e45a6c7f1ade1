"""`profile import` of result files that lack a field, hold a value that is no number, or come
from another export layout: exit 3 naming the file and the field, never "every request failed"
(which sent a user to re-run a benchmark that had succeeded) and never a silently dropped value.
The files are the real vLLM v0.25.1 and AIPerf 0.10.0 results with one field changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from profile_helpers import FORMATS, variant

VLLM = FORMATS / "vllm_bench_serve_v0.25.1.json"
AIPERF = FORMATS / "aiperf_profile_export_aiperf.json"


def _err(r: Any) -> str:
    return " ".join(r.stderr.split())


def test_vllm_result_without_completed_names_the_field(tmp_path: Path, cli) -> None:
    f = variant(tmp_path, VLLM, "nocompleted.json", lambda d: d.pop("completed"))
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert f"{f}: completed:" in _err(r) and "missing" in _err(r)
    assert "every request failed" not in r.stderr


def test_vllm_result_without_latency_is_recognised_as_vllm(tmp_path: Path, cli) -> None:
    def drop(d: dict[str, Any]) -> None:
        for k in [k for k in d if k.endswith(("_ttft_ms", "_tpot_ms", "_itl_ms", "_e2el_ms"))]:
            d.pop(k)

    f = variant(tmp_path, VLLM, "nolat.json", drop)
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert "a vLLM result without TTFT/TPOT or e2el percentiles" in _err(r)
    assert "not a recognised benchmark result" not in r.stderr


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("mean_ttft_ms", "fast", "'fast' is not a number"),
        ("p99_tpot_ms", float("nan"), "nan is not a finite number"),
        ("request_throughput", -5.2, "-5.2 is negative"),
        ("completed", True, "True is not a number"),
    ],
)
def test_vllm_value_that_is_no_number_is_refused(
    tmp_path: Path, cli, key: str, value: Any, said: str
) -> None:
    """It was dropped without a word: a string mean TTFT left the point without its mean, a NaN
    p99 without its tail, a negative throughput became 'every request failed'."""
    f = variant(tmp_path, VLLM, "bad.json", lambda d: d.__setitem__(key, value))
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert f"{f}: {key}: {said}" in _err(r)


def test_vllm_infinite_request_rate_and_null_concurrency_still_import(tmp_path: Path, cli) -> None:
    """What vLLM itself writes: request_rate "inf", max_concurrency null, request_goodput null."""
    f = variant(
        tmp_path, VLLM, "ok.json", lambda d: d.update(max_concurrency=None, request_goodput=None)
    )
    r = cli(["profile", "import", str(f), "--accelerator", "H100", "--json"])
    (m,) = json.loads(r.stdout)["measurements"]
    assert m["throughput_rps"] > 0 and "offered_rps" not in m


def test_aiperf_export_of_another_layout_names_the_metrics(tmp_path: Path, cli) -> None:
    """An export whose metrics are not top-level objects (another schema version) said 'every
    request failed'."""

    def nest(d: dict[str, Any]) -> None:
        metrics = {
            k: d.pop(k) for k in [k for k, v in d.items() if isinstance(v, dict) and "unit" in v]
        }
        d.update(schema_version="2.0", aiperf_version="1.2.0", metrics=metrics)

    f = variant(tmp_path, AIPERF, "aiperf_v2.json", nest)
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    err = _err(r)
    assert f"{f}: request_throughput, request_latency: missing" in err
    assert "schema_version 2.0" in err and "every request failed" not in err


def test_aiperf_unknown_unit_is_named(tmp_path: Path, cli) -> None:
    f = variant(
        tmp_path, AIPERF, "minutes.json", lambda d: d["request_latency"].update(unit="minutes")
    )
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert f"{f}: request_latency.unit: unknown unit 'minutes'" in _err(r)


def test_aiperf_run_where_every_request_failed_is_no_measurement(tmp_path: Path, cli) -> None:
    """No latency record and errors in the summary: every request failed (a warning beside a
    good run), not a missing field."""

    def fail(d: dict[str, Any]) -> None:
        for k in [k for k, v in d.items() if isinstance(v, dict) and "unit" in v]:
            d.pop(k)
        d["error_summary"] = [
            {"error_details": {"code": 500, "type": "Internal Server Error"}, "count": 96}
        ]

    f = variant(tmp_path, AIPERF, "failed.json", fail)
    r = cli(["profile", "import", str(f), str(AIPERF), "--accelerator", "H100"])
    assert f"{f}: no completed request (every request failed)" in _err(r)


def test_wrong_format_names_the_format_with_its_article(cli) -> None:
    r = cli(
        ["profile", "import", str(AIPERF), "--format", "vllm", "--accelerator", "H100"], exit_code=3
    )
    assert "this looks like an aiperf file, not vllm" in _err(r)


def test_import_and_merge_tables_show_gpus_per_replica(tmp_path: Path, cli) -> None:
    """Runs at TP2 and TP4 merged into one profile printed as identical-looking rows (ACCEL
    H100, BATCH 8, twice): the table had no GPUs column (ux7). A profile of one-GPU points keeps
    its columns."""
    sweep = FORMATS / "vllm_bench_sweep_run0_v0.25.1.json"
    for gpus in ("2", "4"):
        cli(
            [
                "profile",
                "import",
                str(sweep),
                "--accelerator",
                "H100",
                "--gpus",
                gpus,
                "--out",
                str(tmp_path / f"tp{gpus}.yaml"),
            ]
        )
    r = cli(
        [
            "profile",
            "merge",
            str(tmp_path / "tp2.yaml"),
            str(tmp_path / "tp4.yaml"),
            "--out",
            str(tmp_path / "m.yaml"),
        ]
    )
    header, *rows = [
        x for x in r.stderr.splitlines() + r.stdout.splitlines() if x.startswith(("ACCEL", "H100"))
    ]
    assert header.split()[:3] == ["ACCEL", "GPUS", "DEVICE"]
    assert sorted(row.split()[1] for row in rows) == ["2", "4"]
    one = cli(
        [
            "profile",
            "import",
            str(sweep),
            "--accelerator",
            "H100",
            "--out",
            str(tmp_path / "one.yaml"),
        ]
    )
    assert "GPUS" not in one.stdout + one.stderr


def test_a_result_file_where_a_profile_is_read_says_import_it(tmp_path: Path, cli) -> None:
    """`profile llm --calibrate vllm_result.json` and a spec's `model.profile:` naming it printed
    40 problems ('date: unknown key', 'mean_ttft_ms: unknown key', ...) (ux7): one line now
    says what the file is and the command that converts it."""
    r = cli(
        [
            "profile",
            "llm",
            "llama-3.1-8b",
            "--accelerators",
            "H100",
            "--gpus",
            "1",
            "--calibrate",
            str(VLLM),
        ],
        exit_code=3,
    )
    err = _err(r)
    assert f"{VLLM}: this is a vLLM benchmark result, not a profile" in err
    assert f"scaleplan profile import {VLLM} --accelerator" in err
    assert "unknown key" not in err and err.count("error:") == 1
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: chat}\n"
        f"model: {{profile: {AIPERF}, architecture: llama-3.1-8b}}\n"
        "traffic:\n  peak_rps: 4\n"
        "  classes: [{name: c, share: 1.0, input_tokens: 512, output_tokens: 128}]\n"
        "slo: {ttft_ms: 2000, tpot_ms: 60}\nkubernetes: {image: vllm/vllm-openai:v0.11.0}\n",
        encoding="utf-8",
    )
    r = cli(["validate", str(spec)], exit_code=3)
    assert "this is an AIPerf benchmark result, not a profile" in _err(r)
    assert "unknown key" not in r.stderr


def test_results_of_different_models_are_not_one_profile(tmp_path: Path, cli) -> None:
    """opt-125m (vLLM) and qwen3.6-nvfp4 (AIPerf) imported together made one profile named
    after the first file, whose points then calibrate one model (ux7). Exit 3 naming each
    file's model; --name says they are one model served under two names."""
    r = cli(["profile", "import", str(VLLM), str(AIPERF), "--accelerator", "H100"], exit_code=3)
    err = _err(r)
    assert "the files measured different models" in err
    assert f"{VLLM.name}: facebook/opt-125m" in err and f"{AIPERF.name}: qwen3.6-nvfp4" in err
    assert "--name" in err
    ok = cli(["profile", "import", str(VLLM), str(AIPERF), "--accelerator", "H100", "--name", "m"])
    assert "different models" in ok.stderr  # said, and imported as the name given
    sweep = FORMATS / "vllm_bench_sweep_run0_v0.25.1.json"
    same = cli(["profile", "import", str(VLLM), str(sweep), "--accelerator", "H100"])
    assert "different models" not in same.stderr


def test_imported_profile_is_the_same_from_any_folder(tmp_path: Path, cli) -> None:
    """The notes named each file as the command line gave it ('runs/x.json' from one folder,
    'x.json' from another) while imported_from names it by its file name: the same results gave
    two different profiles (ux7)."""
    import os
    import shutil

    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copy(VLLM, runs / "r.json")
    cli(
        [
            "profile",
            "import",
            str(runs / "r.json"),
            "--accelerator",
            "H100",
            "--out",
            str(tmp_path / "a.yaml"),
        ]
    )
    here = os.getcwd()
    try:
        os.chdir(runs)
        cli(
            [
                "profile",
                "import",
                "r.json",
                "--accelerator",
                "H100",
                "--out",
                str(tmp_path / "b.yaml"),
            ]
        )
    finally:
        os.chdir(here)
    a = (tmp_path / "a.yaml").read_text(encoding="utf-8")
    assert a == (tmp_path / "b.yaml").read_text(encoding="utf-8")
    assert "- 'r.json: p90/p95 interpolated" in a


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"completed": 1e308, "request_throughput": 1e308}, "throughput_rps"),
        ({"max_concurrency": 1e18}, "batch_size"),
        ({"median_ttft_ms": 1e300, "p99_ttft_ms": 1e300}, "ttft_ms"),
    ],
)
def test_a_value_out_of_any_range_is_bad_input_not_an_internal_error(
    tmp_path: Path, cli, change: dict[str, Any], field: str
) -> None:
    """A throughput of 1e308 or a concurrency of 1e18 was exit 70 ('internal error:
    ValidationError ... for Measurement'): a number no run measures is bad input (exit 3)."""
    f = variant(tmp_path, VLLM, "huge.json", lambda d: d.update(change))
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    err = _err(r)
    assert f"{f}: " in err and field in err and "out of range" in err
    assert "internal error" not in err


def test_import_says_when_gpus_span_nodes(cli) -> None:
    """`--accelerator H100 --gpus 16` was taken without a word, and the LLM calibration then
    sized the run as one 16-GPU node (ux7); `profile llm --gpus 16` leaves such a shape out."""
    r = cli(["profile", "import", str(VLLM), "--accelerator", "H100", "--gpus", "16"])
    err = _err(r)
    assert "--gpus 16: no instance in the catalogs holds 16 H100 (at most 8)" in err
    ok = cli(["profile", "import", str(VLLM), "--accelerator", "H100", "--gpus", "8"])
    assert "--gpus" not in ok.stderr


def test_tables_mark_an_unsaturated_open_loop_rate_as_a_lower_bound(tmp_path: Path, cli) -> None:
    """The 70B run offered 16 rps and served 6.33: the calibration takes it as a lower bound
    (docs/llm.md), but `profile import` and `profile llm` printed '6.333' req/s and '1,355'
    tok/s beside the measured points, read as the capacity (ux7)."""
    run = FORMATS / "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    out = tmp_path / "p.yaml"
    r = cli(
        ["profile", "import", str(run), "--accelerator", "A100", "--gpus", "8", "--out", str(out)]
    )
    text = r.stdout + r.stderr
    row = next(x for x in text.splitlines() if x.startswith("A100"))
    assert ">=6.333" in row.split()
    assert "a lower bound on capacity" in text
    r = cli(
        [
            "profile",
            "llm",
            "llama-3.3-70b-instruct",
            "--accelerators",
            "A100",
            "--gpus",
            "8",
            "--concurrency",
            "8",
            "--calibrate",
            str(out),
            "--out",
            str(tmp_path / "l.yaml"),
        ]
    )
    row = next(x for x in (r.stdout + r.stderr).splitlines() if "imported" in x)
    assert any(cell.startswith(">=") for cell in row.split()), row
    closed = cli(["profile", "import", str(VLLM), "--accelerator", "H100"])
    assert ">=" not in closed.stdout + closed.stderr


def test_aiperf_sequence_lengths_that_are_no_number_are_named(tmp_path: Path, cli) -> None:
    """The vLLM totals of tokens are refused when no number (241478e); AIPerf's mean sequence
    lengths were dropped without a word, leaving the point without its tokens (an LLM
    calibration then sized it at the spec's class or left it out)."""
    f = variant(
        tmp_path, AIPERF, "isl.json", lambda d: d["input_sequence_length"].update(avg="n/a")
    )
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert f"{f}: input_sequence_length.avg: 'n/a' is not a number" in _err(r)
    g = variant(tmp_path, AIPERF, "osl.json", lambda d: d["output_sequence_length"].update(avg=-3))
    r = cli(["profile", "import", str(g), "--accelerator", "H100"], exit_code=3)
    assert f"{g}: output_sequence_length.avg: -3 is negative" in _err(r)


def test_aiperf_error_count_that_is_no_number_is_named(tmp_path: Path, cli) -> None:
    """An error_summary count that is no number was read as 0 errors: the point's error rate
    (and whether any request completed) went unsaid."""
    def errors(d: dict[str, Any]) -> None:
        d["error_summary"] = [{"error_details": {"code": 500}, "count": "many"}]

    f = variant(tmp_path, AIPERF, "errs.json", errors)
    r = cli(["profile", "import", str(f), "--accelerator", "H100"], exit_code=3)
    assert f"{f}: error_summary[0].count: 'many' is not a number" in _err(r)
