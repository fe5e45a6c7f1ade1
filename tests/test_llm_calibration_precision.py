"""Measured points of another precision than the plan's do not calibrate it (ux7).

Llama-3.1-70B fp8 runs on H100 (a vLLM result of the shared formats, imported) calibrating a
bf16 plan moved the memory scale to x1.67 and predicted bf16 TPOT about as fast as the fp8
runs: the points were sized as bf16 runs. `profile import --dtype` records the precision
(metadata.dtype); `profile llm --calibrate` and `optimize` leave such points out of the fit,
saying why, and say when a profile of imported points does not record its precision."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from profile_helpers import FORMATS

RUN = FORMATS / "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
ARGS = [
    "--accelerators",
    "H100",
    "--gpus",
    "8",
    "--concurrency",
    "16",
    "--input-tokens",
    "180",
    "--output-tokens",
    "215",
]


def _imported(tmp_path: Path, cli, *dtype: str) -> Path:
    """The run as a closed loop of 16 clients (its own run offered 16 rps and served less: a
    lower bound, which calibrates nothing either way)."""
    data = json.loads(RUN.read_text(encoding="utf-8"))
    data.update(max_concurrency=16, request_rate="inf")
    run = tmp_path / "run.json"
    run.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "measured.yaml"
    cli(
        [
            "profile",
            "import",
            str(run),
            "--accelerator",
            "H100",
            "--gpus",
            "8",
            *dtype,
            "--out",
            str(out),
        ]
    )
    return out


def _sources(r) -> set[str]:  # type: ignore[no-untyped-def]
    return {m["source"] for m in json.loads(r.stdout)["measurements"] if m["device"] != "imported"}


def test_import_records_the_precision(tmp_path: Path, cli) -> None:
    doc = yaml.safe_load(_imported(tmp_path, cli, "--dtype", "bf16").read_text(encoding="utf-8"))
    assert doc["metadata"]["dtype"] == "bf16"
    r = cli(["profile", "import", str(RUN), "--accelerator", "H100", "--dtype", "fp3"], exit_code=2)
    assert "--dtype" in r.stderr


def test_points_of_another_precision_do_not_calibrate(tmp_path: Path, cli) -> None:
    prof = _imported(tmp_path, cli, "--dtype", "bf16")
    same = cli(
        ["profile", "llm", "llama-3.3-70b-instruct", *ARGS, "--calibrate", str(prof), "--json"]
    )
    assert _sources(same) == {"calibrated"}
    other = cli(
        [
            "profile",
            "llm",
            "llama-3.3-70b-instruct",
            "--dtype",
            "fp8",
            *ARGS,
            "--calibrate",
            str(prof),
            "--json",
        ]
    )
    assert _sources(other) == {"estimated"}
    err = " ".join(other.stderr.split())
    assert "were measured in bf16 (metadata.dtype), the model planned is fp8" in err


def test_a_profile_without_its_precision_is_said(tmp_path: Path, cli) -> None:
    prof = _imported(tmp_path, cli)
    r = cli(["profile", "llm", "llama-3.3-70b-instruct", *ARGS, "--calibrate", str(prof), "--json"])
    assert _sources(r) == {"calibrated"}  # taken as the plan's precision, and said
    err = " ".join(r.stderr.split())
    assert "does not record the precision its points ran in" in err
    # it ended 'they are taken as bf16 runs, the model planned', a sentence cut short (UX 15)
    assert "`profile import --dtype`): they are taken as bf16 runs, the precision planned" in err


def test_observed_hours_ran_the_plans_precision() -> None:
    """`optimize --observed` adds the running service's hours to the spec's profile (device
    'observed'): they ran the plan's precision, so a profile of another precision leaves out
    only its own points, and hours alone draw no 'does not record the precision' note."""
    from scaleplan.llm.serving import setup
    from scaleplan.llm_inputs import calibrating_points
    from scaleplan.profile.build import make_profile
    from scaleplan.profile.model import Measurement, Percentiles

    def point(device: str, source: str) -> Measurement:
        lat = Percentiles(p50=900.0, p90=950.0, p95=980.0, p99=990.0, mean=900.0)
        return Measurement(
            device=device,
            accelerator="H100",
            batch_size=8,
            latency_ms=lat,
            throughput_rps=4.0,
            source=source,
            input_tokens=512,
            output_tokens=128,
        )

    s = setup("llama-3.1-8b", dtype="bf16")
    both = make_profile(
        model="llama-3.1-8b",
        measurements=[point("imported", "imported"), point("observed", "measured")],
        kind="imported",
        dtype="fp8",
    )
    kept, notes = calibrating_points(both, s)
    assert [m.device for m in kept] == ["observed"]
    assert len(notes) == 1 and "measured in fp8" in notes[0]
    hours = make_profile(
        model="llama-3.1-8b", measurements=[point("observed", "measured")], kind="llm-endpoint"
    )
    kept, notes = calibrating_points(hours, s)
    assert [m.device for m in kept] == ["observed"] and notes == ()


def _imported_as(tmp_path: Path, cli, name: str, clients: int, *opts: str) -> Path:
    """The run as a closed loop of ``clients``, imported with ``opts`` (--dtype, ...)."""
    data = json.loads(RUN.read_text(encoding="utf-8"))
    data.update(max_concurrency=clients, request_rate="inf")
    run = tmp_path / f"{name}.json"
    run.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / f"{name}.yaml"
    cli(["profile", "import", str(run), "--accelerator", "H100", "--gpus", "8", *opts, "--out", str(out)])
    return out


def test_a_merged_profile_of_two_precisions_keeps_each_points(tmp_path: Path, cli) -> None:
    """ux7 19: merged, fp8 and bf16 runs lost their precision (metadata.dtype unset; later the
    merge was refused). Each point now records its own, and the fit takes only the points of
    the plan's precision."""
    fp8 = _imported_as(tmp_path, cli, "fp8", 16, "--dtype", "fp8")
    bf16 = _imported_as(tmp_path, cli, "bf16", 16, "--dtype", "bf16")
    merged = tmp_path / "merged.yaml"
    r = cli(["profile", "merge", str(fp8), str(bf16), "--out", str(merged)])
    assert "each point keeps its own" in " ".join(r.stderr.split())
    doc = yaml.safe_load(merged.read_text(encoding="utf-8"))
    assert doc["metadata"].get("dtype") is None
    assert sorted(m["dtype"] for m in doc["measurements"]) == ["bf16", "fp8"]
    for plan in ("bf16", "fp8"):
        r = cli(["profile", "llm", "llama-3.3-70b-instruct", "--dtype", plan, *ARGS, "--calibrate", str(merged), "--json"])
        err = " ".join(r.stderr.split())
        other = "fp8" if plan == "bf16" else "bf16"
        assert f"1 point of 2 measured in {other} (their dtype) left out: the model planned is {plan}" in err
        assert "from 1 measured point on H100" in err


def test_points_with_a_kv_cache_of_another_size_do_not_calibrate(tmp_path: Path, cli) -> None:
    """The KV-cache precision a run used was not recorded at all; an fp8 cache holds twice
    the sequences of a bf16 one and reads at another speed."""
    prof = _imported_as(tmp_path, cli, "kv", 16, "--dtype", "bf16", "--kv-cache-dtype", "fp8")
    doc = yaml.safe_load(prof.read_text(encoding="utf-8"))
    assert doc["measurements"][0]["kv_cache_dtype"] == "fp8"
    r = cli(["profile", "llm", "llama-3.3-70b-instruct", *ARGS, "--calibrate", str(prof), "--json"])
    assert _sources(r) == {"estimated"}
    assert "1 point with a fp8 KV cache (kv_cache_dtype) left out: the plan's KV cache is bf16" in " ".join(r.stderr.split())
    same = cli(["profile", "llm", "llama-3.3-70b-instruct", "--kv-cache-dtype", "fp8", *ARGS, "--calibrate", str(prof), "--json"])
    assert _sources(same) == {"calibrated"}


def test_a_profile_of_another_precision_still_gives_the_traffics_tokens() -> None:
    """A spec without traffic.classes takes its one class's tokens from the profile's points;
    points of another precision are left out of the calibration only: the class fell back to
    the chat-like 1024 / 256 when every point was fp8 and the plan bf16 (the profile's runs
    still say what the traffic is)."""
    from scaleplan.catalog.files import load_accelerators
    from scaleplan.profile.build import make_profile
    from scaleplan.profile.model import Measurement, Percentiles
    from scaleplan.solve.llm_capacity import llm_context
    from scaleplan.spec import Spec

    spec = Spec.model_validate({
        "apiVersion": "scaleplan/v1", "kind": "InferenceService", "metadata": {"name": "chat"},
        "model": {"architecture": "llama-3.1-8b", "engine": "vllm", "dtype": "bf16"},
        "traffic": {"peak_rps": 6}, "slo": {"latency_ms": 20000},
        "kubernetes": {"image": "vllm/vllm-openai:v0.11.0"},
    })
    lat = Percentiles(p50=900.0, p90=950.0, p95=980.0, p99=990.0, mean=900.0)
    point = Measurement(device="imported", accelerator="H100", batch_size=8, latency_ms=lat,
                        throughput_rps=4.0, source="imported", input_tokens=700,
                        output_tokens=90)
    for dtype in ("bf16", "fp8"):
        prof = make_profile(model="llama-3.1-8b", measurements=[point], kind="imported",
                            dtype=dtype)
        ctx = llm_context(spec, prof, load_accelerators(), None)
        assert ctx is not None
        assert [(c.input_tokens, c.output_tokens) for c in ctx.classes] == [(700, 90)], dtype
