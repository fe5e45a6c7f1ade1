"""`validate` of an LLM spec whose profile cannot calibrate the model says so, as `optimize`
warns: a point the model cannot size on its GPU (a 70B run imported as one L4) and points of
another model. It said only "ok (...: 3 profile points on 1 accelerator)" (ux7), and the user
learnt at optimize time that none of them counted, or that another model's runs had moved the
efficiency scales. Real result files, imported by `profile import`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from profile_helpers import FORMATS

SPEC = """apiVersion: scaleplan/v1
kind: InferenceService
metadata: {{name: chat}}
model:
  profile: profile.yaml
  architecture: {arch}
  engine: vllm
traffic:
  peak_rps: 4
  classes:
    - {{name: chat, share: 1.0, input_tokens: 512, output_tokens: 256}}
slo: {{ttft_ms: 2000, tpot_ms: 60}}
placement:
  providers: [aws]
  accelerators: [H100, L40S]
kubernetes: {{image: vllm/vllm-openai:v0.11.0}}
"""


def _spec(tmp_path: Path, cli, result: str, arch: str, *import_args: str) -> Path:
    cli(["profile", "import", str(FORMATS / result), *import_args, "--out", str(tmp_path / "profile.yaml")])
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(arch=arch), encoding="utf-8")
    return spec


def test_validate_says_a_point_the_model_cannot_size_is_left_out(tmp_path: Path, cli) -> None:
    result = "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    spec = _spec(tmp_path, cli, result, "llama-3.3-70b-instruct", "--accelerator", "L4", "--gpus", "1")
    r = cli(["validate", str(spec)])
    err = " ".join(r.stderr.split())
    assert "ok (chat: 1 profile point on 1 accelerator" in r.stdout
    assert "warning: calibration: measurements[0] (L4 x1, concurrency 41) is left out: llama-3.3-70b" in err
    assert "does not fit" in err
    j = json.loads(cli(["validate", str(spec), "--json"]).stdout)
    assert any("is left out" in w for w in j["warnings"])


def test_validate_says_the_points_are_of_another_model(tmp_path: Path, cli) -> None:
    spec = _spec(tmp_path, cli, "vllm_bench_serve_v0.25.1.json", "llama-3.1-8b", "--accelerator", "H100")
    r = cli(["validate", str(spec)])
    err = " ".join(r.stderr.split())
    assert "the measured points are of 'facebook/opt-125m', the model planned is 'llama-3.1-8b'" in err
    assert "warning: calibration: compute x" in err  # what optimize applies, said before it runs


LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16", "head_dim": 128, "tie_word_embeddings": False,
}


def test_a_config_json_is_the_model_the_spec_serves(tmp_path: Path, cli) -> None:
    """A config.json names no model, so the architecture took its folder's name ('work', the
    user's working folder) and a bench run of the very checkpoint the spec serves
    (`model.source` = the run's model_id) was said to be of another model (UX review 15, F2).
    The spec's model.source (a Hugging Face id) and model.name are the model's names too."""
    work = tmp_path / "work"
    work.mkdir()
    result = "vllm_bench_serve_v0.25.1.json"
    spec = _spec(work, cli, result, "config.json", "--accelerator", "H100")
    (work / "config.json").write_text(json.dumps(LLAMA_CONFIG), encoding="utf-8")
    text = spec.read_text(encoding="utf-8")
    source = "  engine: vllm\n  source: {uri: facebook/opt-125m}\n"
    served = text.replace("  engine: vllm\n", source)
    for body, other in ((text, True), (served, False)):
        spec.write_text(body, encoding="utf-8")
        for args in (
            ["validate", str(spec)],
            ["profile", "llm", "--spec", str(spec), "-a", "H100", "--gpus", "1",
             "--calibrate", str(work / "profile.yaml"), "--out", str(work / "llm.yaml")],
        ):
            err = " ".join(cli(args).stderr.split())
            said = "the measured points are of 'facebook/opt-125m', the model planned is 'work'"
            assert (said in err) is other, (args[0], err)


def test_an_imported_point_that_does_not_fit_one_gpu_names_the_gpus_option(
    tmp_path: Path, cli
) -> None:
    """A tensor-parallel run imported without --gpus is one GPU's, and the model then refused
    it with its own fix, 'use more GPUs, a shorter max_model_len, an fp8 KV cache or a smaller
    dtype', none of which a measurement can take (UX review 15, F7): it names the import's
    --gpus too."""
    result = "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    spec = _spec(tmp_path, cli, result, "llama-3.3-70b-instruct", "--accelerator", "L4")
    err = " ".join(cli(["validate", str(spec)]).stderr.split())
    assert "measurements[0] (L4 x1, concurrency 41) is left out: llama-3.3-70b" in err, err
    said = ("is usable (it was imported as a run on one GPU: a tensor-parallel run is"
            " imported with `scaleplan profile import --gpus N`)")
    assert said in err, err


def test_a_config_json_takes_the_name_the_spec_serves_it_under(tmp_path: Path, cli) -> None:
    """profile llm --spec headlined 'work: 73 points' and wrote metadata.model: work, the
    config.json's folder, and optimize's notes read 'work int4-awq on 1x L4 does not fit'
    (UX review 15, F2): with a spec, the model is the Hugging Face id it serves (model.source),
    else model.name; the folder only without either."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.json").write_text(json.dumps(LLAMA_CONFIG), encoding="utf-8")
    spec = work / "spec.yaml"
    text = SPEC.format(arch="config.json").replace("  profile: profile.yaml\n", "")
    for extra, name in (("", "work"), ("  source: hf://acme/chat-8b\n", "acme/chat-8b"),
                        ("  name: chat-8b\n", "chat-8b")):
        spec.write_text(text.replace("  engine: vllm\n", f"  engine: vllm\n{extra}"), "utf-8")
        out = work / "llm.yaml"
        r = cli(["profile", "llm", "--spec", str(spec), "-a", "H100", "--gpus", "1",
                 "--out", str(out)])
        assert r.stdout.startswith(f"{name}: "), r.stdout
        assert yaml.safe_load(out.read_text(encoding="utf-8"))["metadata"]["model"] == name


def test_a_profile_whose_points_are_all_left_out_is_called_uncalibrated(
    tmp_path: Path, cli
) -> None:
    """UX trial 23 F4, F10: a bf16 benchmark under an fp8 plan is left out (the 'calibration:'
    warning says so), yet validate's ok line read '1 profile point on 1 accelerator', the plan
    warned 'capacity on H100 rests on estimated or scaled profile points' and the table's
    footnote read '* capacity from estimated profile points': the profile holds no estimated
    point, and capacity is the LLM model's architecture-only estimate."""
    result = "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    args = ("--accelerator", "H100", "--gpus", "8", "--dtype", "bf16")
    spec = _spec(tmp_path, cli, result, "llama-3.3-70b-instruct", *args)
    spec.write_text(spec.read_text().replace("  engine: vllm\n", "  engine: vllm\n  dtype: fp8\n"))
    r = cli(["validate", str(spec)])
    ok = "ok (chat: 1 profile point on 1 accelerator, which does not calibrate the model (the "
    assert ok + "warnings say why)" in r.stdout, r.stdout
    err = " ".join(r.stderr.split())
    assert "measured in bf16 (metadata.dtype), the model planned is fp8" in err
    assert json.loads(cli(["validate", str(spec), "--json"]).stdout)["calibrates"] is False
    out = tmp_path / "out"
    r = cli(["optimize", str(spec), "--out", str(out), "--no-manifests", "--no-alternatives"])
    warnings = yaml.safe_load((out / "plan.yaml").read_text(encoding="utf-8"))["warnings"]
    (said,) = [w for w in warnings if w.startswith("capacity on ")]
    why = (
        " rests on the LLM model's architecture-only estimates, not measurements: model.profile's "
        "one measured point does not calibrate them (the 'calibration:' warnings say why"
    )
    assert why in said, said
    foot = "* capacity from the LLM model's estimates (the profile's points left out: uncalibrated)"
    assert foot in r.stdout, r.stdout
    prof = tmp_path / "profile.yaml"
    prof.write_text(prof.read_text().replace("dtype: bf16", "dtype: fp8"))  # now it calibrates
    r = cli(["validate", str(spec)])
    assert "which does not calibrate" not in r.stdout, r.stdout
    assert json.loads(cli(["validate", str(spec), "--json"]).stdout)["calibrates"] is True


def _fp8_spec_bf16_run(tmp_path: Path, cli, gpus: int):  # type: ignore[no-untyped-def]
    """An fp8 Llama-70B spec whose profile holds one bf16 vLLM run (H100 TP8: left out as
    another precision), its loaded inputs, and a running hour on ``gpus`` H100 as
    observe.replan.llm_points makes it (device 'observed')."""
    from scaleplan.inputs import load_inputs
    from scaleplan.observe.replan import _flat, _mean_only
    from scaleplan.profile.model import Measurement

    result = "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    args = ("--accelerator", "H100", "--gpus", "8", "--dtype", "bf16")
    spec = _spec(tmp_path, cli, result, "llama-3.1-70b", *args)
    spec.write_text(spec.read_text().replace("  engine: vllm\n", "  engine: vllm\n  dtype: fp8\n"))
    inp = load_inputs(str(spec))
    assert inp.profile is not None
    hour = Measurement(
        device="observed", accelerator="H100", gpus=gpus, batch_size=8, concurrency=8,
        latency_ms=_flat(9000.0), throughput_rps=0.9, offered_rps=0.9, ttft_ms=_mean_only(150.0),
        tpot_ms=_mean_only(30.0), input_tokens=512, output_tokens=256,
    )
    return spec, inp, hour


def test_observed_hours_beside_left_out_points_of_another_model_are_not_called_its(
    tmp_path: Path, cli
) -> None:
    """UX trial 23 F5: `optimize --observed` of an fp8 spec whose profile holds a bf16 run of
    Llama-3.3-70B (left out: another precision) warned 'the measured points are of
    meta-llama/Llama-3.3-70B-Instruct, the model planned is ...', though the fit's points were
    the running service's own hours (without --observed the warning was absent). The observed
    hours join as observe.replan.llm_points makes them (device 'observed')."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.inputs import load_inputs
    from scaleplan.solve.llm_capacity import llm_context

    spec, inp, hour = _fp8_spec_bf16_run(tmp_path, cli, gpus=2)
    cat = load_catalog()

    def notes(profile):  # type: ignore[no-untyped-def]
        ctx = llm_context(inp.spec, profile, cat.accelerators, tmp_path, cat.node_gpus())
        assert ctx is not None
        return " ".join(ctx.notes), ctx.calibration

    alone, cal = notes(inp.profile)
    assert "measured in bf16" in alone and "measured points are of" not in alone and cal is None
    both = inp.profile.model_copy(update={"measurements": (*inp.profile.measurements, hour)})
    said, cal = notes(both)
    assert cal is not None and "measured in bf16" in said  # the hour calibrates; the run is out
    assert "the measured points are of" not in said, said
    spec.write_text(spec.read_text().replace("  dtype: fp8\n", ""))  # bf16: the run calibrates
    inp = load_inputs(str(spec))
    said, _ = notes(inp.profile)
    assert "the measured points are of 'meta-llama/Llama-3.3-70B-Instruct'" in said, said


def test_the_uncalibrated_warning_counts_the_profile_s_points_not_the_observed_hours(
    tmp_path: Path, cli
) -> None:
    """An fp8 plan whose profile holds one bf16 run (left out) and, from `optimize --observed`,
    a running hour that cannot calibrate either (64 H100 per replica: no node holds them) said
    "none of model.profile's 2 measured points calibrates them": the hour is no point of
    model.profile. The count is the profile's own points (llm_inputs.own_points)."""
    from scaleplan.solve import SolveOptions, solve

    _, inp, hour = _fp8_spec_bf16_run(tmp_path, cli, gpus=64)
    both = inp.profile.model_copy(update={"measurements": (*inp.profile.measurements, hour)})
    res = solve(inp.spec, both, inp.catalog, options=SolveOptions(alternatives=False))
    (said,) = [w for w in res.plan.warnings if w.startswith("capacity on ")]
    assert "model.profile's one measured point does not calibrate them" in said, said
    assert "2 measured points" not in said, said


def test_a_left_out_point_is_named_by_its_index_in_the_profile_file(tmp_path: Path, cli) -> None:
    """The skipped-point note names the point as the profile file does: with an fp8 run first
    (left out as another precision before the calibration sees the points) the L4 run is
    measurements[1]; it was called measurements[0], its index among the points kept."""
    result = "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"
    spec = _spec(
        tmp_path, cli, result, "llama-3.3-70b-instruct", "--accelerator", "L4", "--gpus", "1"
    )
    prof = tmp_path / "profile.yaml"
    doc = yaml.safe_load(prof.read_text(encoding="utf-8"))
    (point,) = doc["measurements"]
    doc["measurements"] = [{**point, "dtype": "fp8"}, point]
    prof.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    err = " ".join(cli(["validate", str(spec)]).stderr.split())
    named = "calibration: measurements[1] (L4 x1, concurrency 41) is left out: llama-3.3-70b"
    assert named in err, err
    assert "measurements[0] (L4 x1, concurrency 41) is left out" not in err
