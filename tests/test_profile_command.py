"""The core side of ``profile estimate``, ``profile merge`` and ``profile URL``: the commands'
options assembled into one call (scaleplan.profile.command, run_options.endpoint_options)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scaleplan.errors import OptionError
from scaleplan.profile.build import make_profile
from scaleplan.profile.command import (
    EstimateArgs,
    estimate_file,
    merge_files,
    profile_output,
    write_profile,
)
from scaleplan.profile.model import Measurement, Percentiles, dump_profile, read_profile
from scaleplan.profile.run_options import endpoint_options
from scaleplan.table import Line


def _profile(tmp_path: Path, name: str, points: list[tuple[str, int, float]]) -> str:
    ms = [
        Measurement(device="cuda:0", accelerator=acc, batch_size=bs, source="measured",
                    latency_ms=Percentiles(p50=p50, p90=p50, p95=p50, p99=p50, mean=p50),
                    throughput_rps=bs / p50 * 1000, peak_memory_gib=2.0)
        for acc, bs, p50 in points
    ]
    path = tmp_path / name
    path.write_text(dump_profile(make_profile(model="m", measurements=ms)), encoding="utf-8")
    return str(path)


ESTIMATE = EstimateArgs(
    flops_per_sample=None, weights_gib=None, overhead_ms=None, host_ms_per_sample=0.0,
    input_bytes=None, compute_efficiency=0.5, memory_efficiency=0.75, gpu_dtype=None,
)


def test_estimate_file_adds_points_for_each_accelerator(tmp_path: Path) -> None:
    src = _profile(tmp_path, "a.yaml", [("H100", 1, 2.0), ("H100", 8, 4.0)])
    prof, _ = estimate_file(src, "L4,nvidia-tesla-t4", None, ESTIMATE)
    est = {(m.accelerator, m.batch_size) for m in prof.measurements if m.source == "estimated"}
    assert est == {("L4", 1), ("L4", 8), ("T4", 1), ("T4", 8)}


def test_estimate_file_passes_the_transfer_options_on(tmp_path: Path) -> None:
    src = _profile(tmp_path, "a.yaml", [("H100", 1, 2.0)])
    with pytest.raises(OptionError) as err:
        estimate_file(src, "L4", [], replace(ESTIMATE, gpu_dtype="float3"))
    assert err.value.option == "--gpu-dtype"
    with pytest.raises(OptionError) as err:
        estimate_file(src, "L4", [], replace(ESTIMATE, memory_efficiency=1.5))
    assert err.value.option == "--memory-efficiency"


def test_merge_files_later_file_wins(tmp_path: Path) -> None:
    a = _profile(tmp_path, "a.yaml", [("L4", 1, 3.0), ("L4", 2, 3.5)])
    b = _profile(tmp_path, "b.yaml", [("A10G", 1, 2.5), ("L4", 2, 3.4)])
    merged, warnings = merge_files([a, b], name="n")
    keys = [(m.accelerator, m.batch_size, m.latency_ms.p50) for m in merged.measurements]
    assert keys == [("A10G", 1, 2.5), ("L4", 1, 3.0), ("L4", 2, 3.4)]
    assert merged.metadata.model == "n" and any("replaces the point" in w for w in warnings)


ENDPOINT = {
    "payload": None, "concurrency": "1,4", "rate": None, "requests": None, "duration_s": 6.0,
    "timeout_s": 30.0, "max_error_rate": 0.1, "slo_ms": None, "slo_percentile": 99,
    "openai": False, "model_name": None, "max_tokens": 64, "headers": ["X-A: b"],
    "accelerator": None, "gpus": 2, "seed": 7, "follow_redirects": False,
}


def test_endpoint_options_assembled_and_warned() -> None:
    pytest.importorskip("aiohttp")
    opts, warnings = endpoint_options("http://h:1/p", **ENDPOINT)  # type: ignore[arg-type]
    assert (opts.concurrency, opts.headers, opts.gpus, opts.seed) == ([1, 4], {"X-A": "b"}, 2, 7)
    assert opts.accelerator == "unknown" and opts.body is None
    assert len(warnings) == 1 and warnings[0].startswith("no --accelerator given")
    opts, warnings = endpoint_options("http://h:1/v1/completions", **{  # type: ignore[arg-type]
        **ENDPOINT, "accelerator": "nvidia-l4", "openai": True, "model_name": "x"})
    assert opts.accelerator == "L4" and warnings == []
    assert opts.body is not None and opts.body["model"] == "x" and opts.body["stream"] is True


def test_endpoint_options_refuse_bad_values() -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(OptionError) as err:
        endpoint_options("http://h:1/p", **{**ENDPOINT, "headers": ["nocolon"]})  # type: ignore[arg-type]
    assert err.value.option == "--header"
    with pytest.raises(OptionError) as err:
        endpoint_options("http://h:1/p", **{**ENDPOINT, "concurrency": "1,x"})  # type: ignore[arg-type]
    assert err.value.option == "--concurrency"


def test_write_jobs_returns_files_accelerators_and_notes(tmp_path: Path) -> None:
    from scaleplan.profile.jobs import jobs_line, jobs_summary, write_jobs

    out = str(tmp_path / "jobs")
    with pytest.raises(OptionError) as err:
        write_jobs(out, "m.onnx", None, image="img", namespace="ns", gpus=1, argv=[])
    assert err.value.option == "--accelerators"
    jobs = write_jobs(out, "m.onnx", "L4,nvidia-l4", image="img", namespace="ns", gpus=1, argv=[])
    assert jobs.accelerators == ["L4"] and sorted(jobs.files) == sorted(
        p.name for p in (tmp_path / "jobs").iterdir()
    )
    assert jobs.notes and "m.onnx must exist in the image" in jobs.notes[0]
    assert jobs_summary(out, jobs)["accelerators"] == ["L4"]
    assert jobs_line(out, jobs).startswith(f"wrote {len(jobs.files)} files to {out}: ")


def test_merge_takes_model_names_as_import_does(tmp_path: Path) -> None:
    """One rule for 'the same model' (profile.merge.same_model): import took vLLM's
    'Org/Model' and AIPerf's 'org/model' as one model (names ignoring case) while merge refused
    the two profiles it had written apart (exit 3)."""
    from scaleplan.errors import ProfileError
    from scaleplan.profile.model import read_profile

    a = _profile(tmp_path, "a.yaml", [("L4", 1, 3.0)])
    b = _profile(tmp_path, "b.yaml", [("L4", 2, 3.5)])
    for path, model in ((a, "Org/Model-8B"), (b, "org/model-8b")):
        prof = read_profile(path)
        meta = prof.metadata.model_copy(update={"model": model})
        Path(path).write_text(dump_profile(prof.model_copy(update={"metadata": meta})), "utf-8")
    merged, warnings = merge_files([a, b], name=None)
    assert merged.metadata.model == "Org/Model-8B" and len(merged.measurements) == 2
    assert not any("different models" in w for w in warnings)
    c = _profile(tmp_path, "c.yaml", [("L4", 4, 4.0)])  # model "m"
    with pytest.raises(ProfileError, match="different models"):
        merge_files([a, c], name=None)


def test_merge_keeps_each_points_precision(tmp_path: Path) -> None:
    """An fp8 and a bf16 import merged left metadata.dtype unset (a warning), and the LLM
    calibration then took the fp8 points as runs of a bf16 plan; then the merge was refused
    (exit 3). Each point now keeps its profile's precision (measurements[].dtype), which the
    calibration reads (ux7 19); torch dtypes (float32, float16) merge as before, dtype unset
    with a warning."""
    from scaleplan.profile.model import read_profile

    def with_dtype(path: str, dtype: str | None) -> str:
        prof = read_profile(path)
        meta = prof.metadata.model_copy(update={"dtype": dtype})
        Path(path).write_text(dump_profile(prof.model_copy(update={"metadata": meta})), "utf-8")
        return path

    a = with_dtype(_profile(tmp_path, "a.yaml", [("H100", 1, 3.0)]), "fp8")
    b = with_dtype(_profile(tmp_path, "b.yaml", [("H100", 2, 3.5)]), "BF16")
    merged, warnings = merge_files([a, b], name=None)
    said = " ".join(warnings)
    assert "different precisions" in said and "a.yaml: fp8" in said and "b.yaml: bf16" in said
    assert merged.metadata.dtype is None
    assert sorted(str(m.dtype) for m in merged.measurements) == ["bf16", "fp8"]
    c = with_dtype(_profile(tmp_path, "c.yaml", [("H100", 4, 4.0)]), "fp8")
    merged, _ = merge_files([a, c], name=None)
    assert merged.metadata.dtype == "fp8" and {m.dtype for m in merged.measurements} == {None}
    t1 = with_dtype(_profile(tmp_path, "t1.yaml", [("L4", 1, 3.0)]), "float32")
    t2 = with_dtype(_profile(tmp_path, "t2.yaml", [("L4", 2, 3.0)]), "float16")
    merged, warnings = merge_files([t1, t2], name=None)
    assert merged.metadata.dtype is None and any("different dtypes" in w for w in warnings)


def test_profile_output_writes_a_file_or_prints_the_profile(tmp_path: Path) -> None:
    """A file: written, and its summary to print (the table and 'wrote FILE', or the JSON
    summary); '-': the profile itself (YAML, or its JSON document) and no summary."""
    prof = read_profile(_profile(tmp_path, "a.yaml", [("H100", 1, 2.0), ("H100", 8, 4.0)]))
    out = tmp_path / "out.yaml"
    shown = profile_output(prof, str(out), as_json=False)
    assert read_profile(str(out)).measurements == prof.measurements
    wrote = [Line(f"wrote {out}", hang=2)]  # wrapped on a terminal, the path whole
    assert shown.lines == wrote and "H100" in shown.text and shown.doc is None
    assert profile_output(prof, str(tmp_path / "b.yaml"), as_json=True).doc is not None
    yaml_out = profile_output(prof, "-", as_json=False)
    assert yaml_out.text == dump_profile(prof) and not yaml_out.lines
    as_json = profile_output(prof, "-", as_json=True)
    assert as_json.doc == prof.model_dump(mode="json", exclude_none=True) and not as_json.text
    assert write_profile(prof, str(tmp_path / "c.yaml"), as_json=True) == write_profile(
        prof, str(tmp_path / "d.yaml"), as_json=False)  # a file: nothing to print either way
    assert (tmp_path / "c.yaml").read_text(encoding="utf-8") == dump_profile(prof)
