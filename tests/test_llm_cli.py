"""``scaleplan profile llm``: the profile it writes, and bad input (exit 3, nothing written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scaleplan.profile.model import read_profile

ROOT = Path(__file__).resolve().parents[1]


def test_profile_llm_writes_estimated_points(cli, tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    cli(["profile", "llm", "llama-3.1-8b", "--accelerators", "H100,L4", "--gpus", "1,2", "--concurrency", "1,8,128", "--out", str(out)])
    prof = read_profile(out)
    assert prof.metadata.kind == "llm-estimate" and prof.metadata.architecture == "llama-3.1-8b"
    ms = prof.measurements
    assert {m.accelerator for m in ms} == {"H100", "L4"}
    assert all(m.source == "estimated" and m.estimate is not None and m.ttft_ms and m.tpot_ms for m in ms)
    assert all(m.estimate.low < 1 < m.estimate.high for m in ms if m.estimate)
    # 128 sequences of 1,280 tokens do not fit one L4's KV cache: left out, not planned
    assert not any(m.accelerator == "L4" and m.gpus == 1 and m.concurrency == 128 for m in ms)
    assert any(m.accelerator == "H100" and m.gpus == 1 and m.concurrency == 128 for m in ms)


def test_profile_llm_json_is_the_profile_and_deterministic(cli, tmp_path: Path) -> None:
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1", "--concurrency", "1,8", "--json"]
    a, b = cli(args), cli(args)
    assert a.stdout == b.stdout
    doc = json.loads(a.stdout)
    assert doc["kind"] == "Profile" and len(doc["measurements"]) == 2


def test_profile_llm_calibrated_from_another_gpu(cli, tmp_path: Path) -> None:
    measured = tmp_path / "measured.yaml"
    cli(["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1", "--concurrency", "1,32", "--out", str(measured)])
    text = measured.read_text().replace("source: estimated", "source: measured").replace("device: estimate", "device: cuda:0")
    measured.write_text(text)
    out = tmp_path / "cal.yaml"
    cli(["profile", "llm", "llama-3.1-8b", "--accelerators", "A100-80GB", "--gpus", "1", "--concurrency", "8", "--calibrate", str(measured), "--out", str(out)])
    prof = read_profile(out)
    est = [m for m in prof.measurements if m.accelerator == "A100-80GB"]
    assert est and all(m.source == "calibrated" and m.estimate and "calibrated on" in m.estimate.basis for m in est)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["llama-3.1-8bb"], "did you mean 'llama-3.1-8b'"),
        # --dtype fp8 --accelerators A100: two options that cannot be combined, exit 2
        # (tests/test_option_exit_codes.py); the spec's fp8 on an A100 stays 3
        (["llama-3.1-70b", "--accelerators", "H100", "--gpus", "1"], "does not fit"),
        (["llama-3.1-8b", "--accelerators", "L4", "--gpus", "1", "--input-tokens", "100000", "--output-tokens", "2000"], "KV cache per GPU"),
    ],
)
def test_profile_llm_bad_input_exit_3_nothing_written(cli, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "p.yaml"
    r = cli(["profile", "llm", *args, "--out", str(out)], exit_code=3)
    assert message in " ".join(r.stderr.split())
    assert not out.exists()


def test_profile_llm_config_missing_fields(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"hidden_size": 4096, "num_attention_heads": 32, "vocab_size": 32000}))
    out = tmp_path / "p.yaml"
    r = cli(["profile", "llm", str(cfg), "--out", str(out)], exit_code=3)
    assert "num_hidden_layers" in r.stderr and "intermediate_size" in r.stderr
    assert not out.exists()


LONG_SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: rag}
model:
  profile: profile.yaml
  architecture: ARCH
  engine: vllm
  engine_config: {ENGINE}
traffic:
  peak_rps: 2
  classes:
    - {name: rag, share: 0.8, input_tokens: 6000, output_tokens: 300}
    - {name: chat, share: 0.2, input_tokens: 500, output_tokens: 800}
slo: {latency_ms: 60000, percentile: 95, ttft_ms: 3000, tpot_ms: 100}
placement: {providers: [aws], regions: [us-east-1], accelerators: [H100]}
kubernetes: {namespace: rag, image: vllm/vllm-openai:v0.11.0}
"""


def _profile(cli, where: Path) -> None:
    """The spec's profile: architecture-only points (the LLM model ignores them)."""
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1"]
    cli([*args, "--concurrency", "1", "--out", str(where / "profile.yaml")])


@pytest.mark.parametrize(
    ("arch", "engine", "where", "said"),
    [
        # the server's own limit: it rejects every rag request
        ("llama-3.1-8b", "{max_model_len: 4096}", "model.engine_config.max_model_len",
         "class 'rag' needs 6,300 tokens (6,000 prompt + 300 completion), more than the 4,096"
         " the server takes"),
        # the model's context (Llama 2: 4,096)
        ("llama-2-7b", "{}", "traffic.classes",
         "class 'rag' needs 6,300 tokens (6,000 prompt + 300 completion), more than llama-2-7b's"
         " context of 4,096"),
    ],
)
def test_a_class_longer_than_the_context_is_refused_everywhere(
    cli, tmp_path: Path, arch: str, engine: str, where: str, said: str
) -> None:
    """The optimizer planned (and predicted TTFT for) 6,000-token prompts on a server started
    with --max-model-len 4096, or on a 4,096-token model; every such request would be
    rejected (new-user trial, 2026-12-05). validate, optimize and profile llm --spec: exit 3,
    the file, line and field, nothing written."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", arch).replace("{ENGINE}", engine))
    args = ["profile", "llm", "--spec", str(spec), "--accelerators", "H100", "--gpus", "1"]
    cli([*args, "--concurrency", "1", "--out", str(tmp_path / "x.yaml")], exit_code=3)
    assert not (tmp_path / "x.yaml").exists()
    _profile(cli, tmp_path)
    for args in (["validate", str(spec)], ["optimize", str(spec), "--out", str(tmp_path / "out")]):
        res = cli(args, exit_code=3)
        assert f"{spec}:" in res.stderr and where in res.stderr and said in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


def test_profile_llm_names_a_one_class_spec_s_class(cli, tmp_path: Path) -> None:
    """profile llm --spec whose only class is longer than the model's context names the spec's
    traffic.classes and its line, as with several classes; it said '--input-tokens', an option
    not given, with no line."""
    one = LONG_SPEC.replace("ARCH", "llama-2-7b").replace("{ENGINE}", "{}")
    one = one.replace("share: 0.8", "share: 1.0")
    one = one.replace("    - {name: chat, share: 0.2, input_tokens: 500, output_tokens: 800}\n", "")
    spec = tmp_path / "spec.yaml"
    spec.write_text(one)
    line = one.splitlines().index("  classes:") + 1
    args = ["profile", "llm", "--spec", str(spec), "--accelerators", "H100", "--gpus", "1"]
    err = cli([*args, "--out", str(tmp_path / "x.yaml")], exit_code=3).stderr
    assert f"{spec}:{line}: traffic.classes: class 'rag' needs 6,300 tokens" in err, err
    assert "--input-tokens" not in err, err


def test_validate_reads_the_architecture_as_optimize_does(cli, tmp_path: Path) -> None:
    """An unknown preset passed validate and failed optimize (validate promises that a spec it
    passes is not refused by optimize before the solve)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8bb").replace("{ENGINE}", "{}"))
    _profile(cli, tmp_path)
    res = cli(["validate", str(spec)], exit_code=3)
    assert "model.architecture" in res.stderr and "did you mean 'llama-3.1-8b'" in res.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--dtype", "fp4"], "--dtype: 'fp4' is not one of bf16, fp16, fp8, int8, int4-awq, int4-gptq, mxfp4, nvfp4"),
        (["--kv-cache-dtype", "fp4"], "--kv-cache-dtype: 'fp4' is not one of auto, bf16, fp16, fp8"),
        (["--engine", "vllmm"], "--engine: 'vllmm' is not one of vllm, sglang, tgi, trtllm (did you mean 'vllm'?)"),
    ],
)
def test_profile_llm_bad_model_options_are_usage_errors(cli, tmp_path: Path, args: list[str], said: str) -> None:
    """--dtype fp4 (or FP8) was an internal error (exit 70, KeyError) and --engine vllmm an
    invalid-input error naming 'engine' (exit 3); a bad option value is exit 2 naming the option
    and its values (new-user trial, 2026-12-05)."""
    out = tmp_path / "p.yaml"
    r = cli(["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1", *args, "--out", str(out)], exit_code=2)
    assert said in " ".join(r.stderr.split()), r.stderr
    assert not out.exists()


def test_profile_llm_model_options_ignore_case(cli) -> None:
    """Preset and accelerator names ignore case; --dtype FP8 and --engine TRTLLM now do too."""
    base = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1", "--concurrency", "1", "--json"]
    upper = json.loads(cli([*base, "--dtype", "FP8", "--kv-cache-dtype", "FP8", "--engine", "TRTLLM"]).stdout)
    lower = json.loads(cli([*base, "--dtype", "fp8", "--kv-cache-dtype", "fp8", "--engine", "trtllm"]).stdout)
    assert upper["measurements"] == lower["measurements"]
    assert "fp8 on H100 TP1, trtllm" in upper["measurements"][0]["estimate"]["basis"]


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ("Qwen/Qwen2.5-7B", "did you mean 'qwen2.5-7b-instruct'?"),  # no suffix to drop
        ("meta-llama/Llama-3.1-8B-Base", "did you mean 'llama-3.1-8b'?"),
        ("mistralai/Foo-7B", "download the model's config.json and give its path"),
        # UX trial 25: close names that are other sizes, and no word of the way that works
        (
            "Qwen/Qwen2.5-32B-Instruct",
            "did you mean 'qwen2.5-72b-instruct' or 'qwen2.5-7b-instruct' or 'qwen3-32b'? If it "
            "is another model, download its config.json and give its path;",
        ),  # until 2026-12-07 the third was 'meta-llama-3-8b-instruct'
        # UX trial 34 F7: the same family's presets only, where there are some (it offered
        # 'meta-llama-3-8b-instruct' or 'llama-3.3-70b-instruct' besides)
        (
            "mistralai/Mistral-7B-Instruct-v0.3",
            "did you mean 'mistral-7b-instruct-v0.2'? If it is another model,",
        ),
    ],
)
def test_a_hugging_face_id_that_is_no_preset_gets_a_did_you_mean(cli, tmp_path: Path, ref: str, said: str) -> None:
    """meta-llama/Llama-3.1-8B-Instruct (the model examples/llm-chat serves) was read as a path:
    'config.json not found (check the path ...)', though the docs say Hugging Face ids work. It
    is no preset (the preset is the base model's id): the error says so and names the preset of
    the same architecture, in profile llm and in a spec's model.architecture (new-user trial)."""
    r = cli(["profile", "llm", ref, "--accelerators", "H100", "--gpus", "1", "--out", str(tmp_path / "p.yaml")], exit_code=3)
    err = " ".join(r.stderr.split())
    assert f"'{ref}' is no shipped preset" in err and said in err and "not found" not in err, err
    assert not (tmp_path / "p.yaml").exists()
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", ref).replace("{ENGINE}", "{}"))
    _profile(cli, tmp_path)
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    assert "model.architecture" in err and said in err, err


@pytest.mark.parametrize(
    ("ref", "used", "gpus"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b", "1"),
        ("META-LLAMA/llama-3.1-8b-instruct", "llama-3.1-8b", "1"),  # case-insensitive
        ("google/gemma-2-9b-it", "gemma-2-9b", "1"),
        # the variant before the version (UX trial 21 F2): the preset's id is Mixtral-8x7B-v0.1
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b", "2"),
    ],
)
def test_a_hugging_face_id_of_an_instruct_variant_is_its_base_models_preset(
    cli, tmp_path: Path, ref: str, used: str, gpus: str
) -> None:
    """UX trial 20 F2: meta-llama/Llama-3.1-70B-Instruct, the id of the checkpoint served, was
    refused (exit 3) with a did-you-mean to its base model's preset. It is sized with that
    preset (the same architecture), with a note saying so, in profile llm and in a spec.
    UX trial 21 F2: mistralai/Mixtral-8x7B-Instruct-v0.1 was refused the same way (its variant
    stands before the version)."""
    args = ["--accelerators", "H100", "--gpus", gpus, "--concurrency", "1,8", "--json"]
    got = cli(["profile", "llm", ref, *args])
    want = json.loads(cli(["profile", "llm", used, *args]).stdout)
    assert json.loads(got.stdout)["measurements"] == want["measurements"]
    note = f"'{ref}' is sized with the preset '{used}', its base model's"
    assert note in " ".join(got.stderr.split()), got.stderr
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", ref).replace("{ENGINE}", "{}"))
    _profile(cli, tmp_path)
    res = cli(["validate", str(spec)])
    assert note in " ".join(res.stderr.split()) or note in " ".join(res.stdout.split()), res


def test_a_folder_written_as_a_path_wins_over_the_preset_of_its_name(cli, tmp_path: Path) -> None:
    """A local folder named like an HF id (written ./org/Name) is the config.json it holds, not
    the preset its name resolves to."""
    from scaleplan.llm.arch import load_architecture, preset

    folder = tmp_path / "meta-llama" / "Llama-3.1-8B-Instruct"
    folder.mkdir(parents=True)
    cfg = {
        "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 16,  # the preset: 32
        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
    }
    (folder / "config.json").write_text(json.dumps(cfg))
    arch = load_architecture("./meta-llama/Llama-3.1-8B-Instruct", tmp_path)
    assert arch.num_layers == 16 and preset("meta-llama/Llama-3.1-8B-Instruct").num_layers == 32


def test_profile_llm_says_why_a_concurrency_is_left_out(cli, tmp_path: Path) -> None:
    """A concurrency above the spec's max_num_seqs was left out with 'the KV cache holds 64
    sequences' (it holds about 900 of these); and a TP degree that splits no GPU's heads said
    its reason once per accelerator (new-user trial, 2026-12-05)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{max_num_seqs: 64, max_model_len: 8192}"))
    args = ["profile", "llm", "--spec", str(spec), "--accelerators", "H100", "--gpus", "1", "--concurrency", "8,128"]
    err = " ".join(cli([*args, "--out", str(tmp_path / "p.yaml")]).stderr.split())
    assert "concurrency 128 left out: the engine's max_num_seqs is 64 (model.engine_config.max_num_seqs)" in err, err
    assert "KV cache holds 64" not in err, err
    r = cli(["profile", "llm", "llama-3.1-8b", "--accelerators", "H100,L4,L40S", "--gpus", "3", "--out", str(tmp_path / "q.yaml")], exit_code=3)
    assert " ".join(r.stderr.split()).count("do not split over 3 GPUs") == 1, r.stderr


def test_profile_llm_gpus_that_split_no_head_count_blame_gpus(cli, tmp_path: Path) -> None:
    """--gpus 3 for gpt-oss-120b said 'MODEL: no shape can serve' (UX trial 38 F4): the fix
    is --gpus, so the error names it and the counts that split the 64 heads; a count that
    splits but fits nowhere still names MODEL."""
    out = tmp_path / "p.yaml"
    args = ["profile", "llm", "gpt-oss-120b", "--out", str(out), "--accelerators"]
    r = cli([*args, "H100", "--gpus", "3"], exit_code=3)
    err = " ".join(r.stderr.split())
    assert "--gpus: no shape can serve: TP3: gpt-oss-120b's 64 attention heads" in err, err
    assert "give --gpus a count that splits gpt-oss-120b: 1, 2, 4, 8)" in err, err
    assert "MODEL" not in err and not out.exists()
    r = cli([*args, "L4", "--gpus", "1"], exit_code=3)  # 60.7 GiB of weights on one L4
    assert "MODEL: no shape can serve" in " ".join(r.stderr.split()), r.stderr


def test_profile_llm_options_override_the_spec_and_none_is_ignored(cli, tmp_path: Path) -> None:
    """profile llm --spec ignored --engine, --dtype and --kv-cache-dtype without MODEL (the spec's
    were used, silently), ignored the spec's engine_config with MODEL (another KV cache than
    optimize sizes), and ignored a typed --input-tokens (the spec's classes were used): the
    options now override the spec's own settings, and typed tokens with classes are refused at
    the spec (exit 3: the option against the spec's content; it was 2)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{gpu_memory_utilization: 0.8, max_model_len: 8192}"))
    base = ["profile", "llm", "--spec", str(spec), "--accelerators", "H100", "--gpus", "1", "--concurrency", "8", "--json"]

    def bases(args: list[str]) -> set[str]:
        return {m["estimate"]["basis"] for m in json.loads(cli(args).stdout)["measurements"]}

    spec_only = bases(base)
    assert bases(["profile", "llm", "llama-3.1-8b", *base[2:]]) == spec_only  # MODEL keeps engine_config
    assert bases([*base[:2], "llama-3.1-8b", *base[4:]]) != spec_only  # without the spec: 0.9, another cache
    over = bases([*base, "--engine", "sglang", "--dtype", "fp8"])
    assert all("llama-3.1-8b fp8 on H100 TP1, sglang" in b for b in over), over
    for opt in ("--input-tokens", "--output-tokens"):
        r = cli([*base, opt, "100"], exit_code=3)
        assert f"{spec}: {opt}: the spec's traffic.classes give every class its tokens" in " ".join(r.stderr.split()), r.stderr


def test_a_missing_llm_profile_names_the_command_that_writes_it(cli, tmp_path: Path) -> None:
    """An architecture-only LLM spec without its profile said 'run `scaleplan profile` to create
    it', the command for measuring a model; the hint is now the profile llm command line, and
    running it as printed makes the spec valid (new-user trial, 2026-12-05)."""
    import shlex

    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{}"))
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    said = "create it from model.architecture: scaleplan profile llm --spec "
    assert said in err, err
    assert "remove model.profile (with model.architecture it is optional" in err, err
    command = err.split("model.architecture: scaleplan ")[1].rstrip(")")
    cli(shlex.split(command))
    cli(["validate", str(spec)])


@pytest.mark.parametrize("mode", [["--json"], ["--out", "-"]])
def test_profile_llm_says_what_it_left_out_in_every_mode(cli, mode: list[str]) -> None:
    """With --json or --out - the points left out (128 sequences do not fit one L4) were only
    in the profile's metadata.notes; the table mode said them on stderr. Now every mode does,
    and stdout keeps only the document (new-user trial, 2026-12-05)."""
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "L4", "--gpus", "1", "--concurrency", "1,128", *mode]
    r = cli(args)
    assert "note: L4 x1 class default: concurrency 128 left out" in " ".join(r.stderr.split()), r.stderr
    assert "note:" not in r.stdout


def test_calibrating_on_another_model_s_points_is_said(cli, tmp_path: Path) -> None:
    """A vLLM benchmark of facebook/opt-125m (imported) calibrated a Llama-3.1-8B profile and an
    LLM plan without a word (new-user trial, 2026-12-05): the measured model's name is now
    compared with the architecture's, in profile llm --calibrate and in optimize; the same
    model under its Hugging Face id is not warned about."""
    data = Path(__file__).parent / "data" / "profile_formats" / "vllm_bench_serve_v0.25.1.json"
    measured = tmp_path / "measured.yaml"
    cli(["profile", "import", str(data), "--accelerator", "L40S", "-o", str(measured)])
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "L40S", "--gpus", "1", "--concurrency", "8"]
    err = " ".join(cli([*args, "--calibrate", str(measured), "--out", str(tmp_path / "p.yaml")]).stderr.split())
    said = "calibration: the measured points are of 'facebook/opt-125m', the model planned is 'llama-3.1-8b'"
    assert said in err, err
    same = tmp_path / "same.yaml"
    same.write_text(measured.read_text().replace("model: facebook/opt-125m", "model: meta-llama/Llama-3.1-8B-Instruct"))
    err = cli([*args, "--calibrate", str(same), "--out", str(tmp_path / "q.yaml")]).stderr
    assert "the measured points are of" not in err, err
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{}").replace("profile.yaml", "measured.yaml"))
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-manifests", "--no-alternatives"])
    assert said in " ".join(res.stderr.split()), res.stderr
    # a profile of estimates only calibrates nothing: no note about its model (review, 12-05)
    est = tmp_path / "est.yaml"
    cli(["profile", "llm", "qwen3-8b", "--accelerators", "L40S", "--concurrency", "8",
         "--out", str(est)])
    err = cli([*args, "--calibrate", str(est), "--out", str(tmp_path / "r.yaml")]).stderr
    assert "the measured points are of" not in err, err


def test_calibration_caveats_are_written_into_the_profile(cli, tmp_path: Path) -> None:
    """An AIPerf run of Qwen3.6 NVFP4 calibrated a Llama-3.1-70B bf16 profile (memory x1.54):
    the terminal said "the measured points are of 'qwen3.6-nvfp4'" and "records no precision"
    as notes, but the profile written kept only "calibrated on 1 measured point", so whoever
    read the file (optimize, a reviewer) lost both caveats (UX trial 20, F3). The calibration's
    caveats go into metadata.notes, in the terminal's order."""
    data = Path(__file__).parent / "data" / "profile_formats" / "vllm_bench_serve_v0.25.1.json"
    measured = tmp_path / "measured.yaml"
    cli(["profile", "import", str(data), "--accelerator", "L40S", "-o", str(measured)])
    out = tmp_path / "p.yaml"
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "L40S", "--gpus", "1"]
    args += ["--concurrency", "8", "--calibrate", str(measured), "--out", str(out)]
    err = " ".join(cli(args).stderr.split())
    other = "calibration: the measured points are of 'facebook/opt-125m', "
    other += "the model planned is 'llama-3.1-8b'"
    precision = "calibration: the profile does not record the precision its points ran in"
    assert other in err and precision in err, err
    notes = read_profile(out).metadata.notes
    assert any(n.startswith(other) for n in notes), notes
    assert any(n.startswith(precision) for n in notes), notes
    assert next(n for n in notes if n.startswith("calibration:")).startswith(other), notes


def test_profile_llm_spec_takes_the_spec_s_accelerators(cli, tmp_path: Path) -> None:
    """Llama-3.1-405B placed on B200 and H200: the command validate prints for the missing
    profile ('profile llm --spec SPEC --out PROFILE') failed with exit 3, because --accelerators
    defaulted to H100,L40S,L4, on none of which 756 GiB of weights fit (new-user trial,
    2026-12-05). Without --accelerators, a spec's placement.accelerators are profiled."""
    spec = tmp_path / "spec.yaml"
    text = LONG_SPEC.replace("ARCH", "llama-3.1-405b").replace("{ENGINE}", "{max_model_len: 8192}")
    spec.write_text(text.replace("accelerators: [H100]", "accelerators: [B200, H200]"))
    cli(["profile", "llm", "--spec", str(spec), "--concurrency", "1", "--out", str(tmp_path / "profile.yaml")])
    accs = {m.accelerator for m in read_profile(tmp_path / "profile.yaml").measurements}
    assert accs == {"B200", "H200"}, accs
    cli(["validate", str(spec)])


def test_profile_llm_spec_leaves_out_a_placed_gpu_that_cannot_run_the_dtype(cli, tmp_path: Path) -> None:
    """examples/llm-moe (fp8) allows an A10G beside L4, L40S and H100: profiled from the spec's
    placement, the A10G is left out with a note (as optimize does), not a refusal of the run;
    named on the command line it is still refused (exit 3)."""
    spec = ROOT / "examples" / "llm-moe" / "spec.yaml"
    out = tmp_path / "p.yaml"
    r = cli(["profile", "llm", "--spec", str(spec), "--gpus", "1", "--concurrency", "1", "--out", str(out)])
    assert "note: A10G is left out: fp8: A10G (Ampere) has no FP8 tensor cores" in " ".join(r.stderr.split()), r.stderr
    assert {m.accelerator for m in read_profile(out).measurements} == {"L40S", "H100"}  # 29 GiB: no L4
    cli(["profile", "llm", "--spec", str(spec), "--accelerators", "A10G,H100", "--gpus", "1", "--out", str(tmp_path / "q.yaml")], exit_code=3)


def test_profile_llm_spec_whose_every_placed_gpu_is_left_out_says_why(
    cli, tmp_path: Path
) -> None:
    """examples/llm-moe (fp8) placed on A10G and A100-80GB only: every GPU is left out, and the
    refusal said 'MODEL: no shape can serve: ' with no reason (review, 2026-12-05). It names
    placement.accelerators at its line, each GPU's reason and the fix; nothing is written."""
    src = (ROOT / "examples" / "llm-moe" / "spec.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    line = next(ln for ln in src.splitlines() if ln.strip().startswith("accelerators:"))
    spec.write_text(src.replace(line, "  accelerators: [A10G, A100-80GB]"), encoding="utf-8")
    out = tmp_path / "p.yaml"
    r = cli(["profile", "llm", "--spec", str(spec), "--gpus", "1", "--out", str(out)], exit_code=3)
    err = " ".join(r.stderr.split())
    assert "placement.accelerators: none can serve the model:" in err, err
    assert "A10G is left out: fp8" in err and "A100-80GB is left out: fp8" in err, err
    assert "runs fp8, or change model.dtype" in err and f"{spec}:" in err, err
    assert not out.exists()


def test_profile_llm_leaves_out_a_replica_larger_than_any_node(cli, tmp_path: Path) -> None:
    """--gpus 16 on H100 gave 'TP16' predictions, all-reduce priced on NVLink, though no H100
    instance holds more than 8 and docs/llm.md says a replica across nodes is not modelled
    (new-user trial, 2026-12-05); H100-NVL comes two to a node. Such shapes are left out with
    the reason; a TP the catalogs hold is kept."""
    out = tmp_path / "p.yaml"
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100,H100-NVL", "--gpus", "2,8,16", "--concurrency", "1"]
    err = " ".join(cli([*args, "--out", str(out)]).stderr.split())
    assert "H100 x16: no instance in the catalogs holds more than 8 H100" in err, err
    assert "H100-NVL x8: no instance in the catalogs holds more than 2 H100-NVL" in err, err
    shapes = {(m.accelerator, m.gpus) for m in read_profile(out).measurements}
    assert shapes == {("H100", 2), ("H100", 8), ("H100-NVL", 2)}, shapes


def test_a_duplicate_class_name_is_named(cli, tmp_path: Path) -> None:
    """Two classes named alike said 'class names must be unique' without the name, at the
    classes' first line (new-user trial, 2026-12-05): the name is in the message."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{}").replace("{name: chat,", "{name: rag,"))
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    assert "traffic.classes: class names must be unique: 'rag' is given more than once" in err, err


def test_profile_llm_config_without_kv_heads_takes_the_class_default(cli, tmp_path: Path) -> None:
    """A hand-written Mistral config.json without num_key_value_heads was sized as multi-head
    attention (32 KV heads, 4x the KV bytes of MistralConfig's default 8), silently (UX review 3,
    #7): it takes transformers' class default for its model_type and says so; a model_type whose
    class takes the head count (llama) says that."""
    cfg = {
        "model_type": "mistral", "hidden_size": 5120, "num_hidden_layers": 40,
        "num_attention_heads": 32, "head_dim": 128, "intermediate_size": 14336,
        "vocab_size": 131072, "max_position_embeddings": 1024000, "torch_dtype": "bfloat16",
    }
    args = ["--accelerators", "H100", "--gpus", "1", "--concurrency", "1", "--out", "-"]
    p = tmp_path / "config.json"
    p.write_text(json.dumps({**cfg, "num_key_value_heads": 8}))
    stated = cli(["profile", "llm", str(p), *args])
    p.write_text(json.dumps(cfg))
    left_out = cli(["profile", "llm", str(p), *args])
    assert left_out.stdout == stated.stdout  # sized as with num_key_value_heads: 8
    note = "note: config.json has no num_key_value_heads: assumed 8 (the default of transformers'"
    assert note in " ".join(left_out.stderr.split())
    assert "num_key_value_heads" not in stated.stderr
    p.write_text(json.dumps({**cfg, "model_type": "llama"}))
    mha = cli(["profile", "llm", str(p), *args])
    assert "assumed 32 (= num_attention_heads, multi-head attention" in " ".join(mha.stderr.split())

    def kv_tokens(out: str) -> int:
        found = re.search(r"KV cache ([\d,]+) tokens", out)
        assert found is not None
        return int(found[1].replace(",", ""))

    assert kv_tokens(mha.stdout) < kv_tokens(stated.stdout) / 3  # 4x the KV bytes per token


@pytest.mark.parametrize(
    ("accs", "model", "said", "fix"),
    [
        ("[A100]", "  dtype: fp8\n",
         "none can serve the model: A100 is left out: fp8: A100 (Ampere) has no FP8 tensor cores",
         "(allow an accelerator that runs fp8, or change model.dtype)"),
        ("[T4]", "  dtype: fp16\n  kv_cache_dtype: fp8\n",
         "none can serve the model: T4 is left out: kv_cache_dtype fp8: T4 cannot hold an fp8 KV"
         " cache",
         "runs fp16 with an fp8 KV cache, or change model.dtype or model.kv_cache_dtype)"),
        # vLLM's and SGLang's AWQ kernels need compute capability 7.5 (AWQConfig.
        # get_min_capability): an AWQ checkpoint on V100 was planned (UX review 15, F3)
        ("[V100]", "  dtype: int4-awq\n",
         "none can serve the model: V100 is left out: int4-awq: V100 (Volta) cannot run AWQ"
         " 4-bit weights",
         "(allow an accelerator that runs int4-awq, or change model.dtype)"),
        # not the dtype: the table lacks what the LLM model needs (UX review 15, F9)
        ("[AWS-Inferentia2]", "",
         "none can serve the model: AWS-Inferentia2 is left out: the accelerator table lacks",
         "(allow an accelerator the LLM model can size, or plan the model without"
         " model.architecture on a profile measured on it)"),
    ],
)
def test_validate_refuses_a_dtype_no_allowed_gpu_runs(
    cli, tmp_path: Path, accs: str, model: str, said: str, fix: str
) -> None:
    """validate said 'ok' to model.dtype fp8 with only A100 allowed, and optimize then exited 4
    (UX review 3, #10): the contradiction is in the spec, so validate and optimize report it
    (exit 3, the spec's line and field, the fix) before solving, with the LLM model's own check,
    as profile llm --spec does.
    One GPU of the list that runs it is enough (the others are left out by optimize)."""
    text = LONG_SPEC.replace("ARCH", "llama-3.1-8b").replace("{ENGINE}", "{}")
    text = text.replace("accelerators: [H100]", f"accelerators: {accs}")
    text = text.replace("  engine: vllm\n", f"  engine: vllm\n{model}")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    _profile(cli, tmp_path)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("placement:"))
    for args in (["validate", str(spec)], ["optimize", str(spec), "--out", str(tmp_path / "o")]):
        err = " ".join(cli(args, exit_code=3).stderr.split())
        assert f"{spec}:{line}: placement.accelerators: {said}" in err, err
        assert fix in err, err
    assert not (tmp_path / "o").exists()  # refused before solving: nothing written
    spec.write_text(text.replace(accs, accs[:-1] + ", H100]"))
    cli(["validate", str(spec)])


def test_the_dtype_fix_lists_only_the_dtypes_the_part_runs(cli) -> None:
    """T4 refused bf16 with 'pick a dtype it runs (bf16/fp16, int8, int4-awq)', bf16 among them
    (UX review 3, #15): the list is the dtypes the model's own check lets the part run."""
    args = ["profile", "llm", "llama-3.1-8b", "--gpus", "1", "--out", "-"]
    t4 = " ".join(cli([*args, "--accelerators", "L4,A10G,T4"], exit_code=3).stderr.split())
    assert "T4 (Turing) has no BF16 tensor cores" in t4
    assert "pick a dtype it runs with --dtype (fp16, int8, int4-awq, int4-gptq, mxfp4))" in t4, t4
    a100 = cli([*args, "--accelerators", "A100", "--dtype", "fp8"], exit_code=2).stderr
    a100 = " ".join(a100.split())
    assert "pick a dtype it runs (bf16, fp16, int8, int4-awq, int4-gptq, mxfp4))" in a100, a100


def test_the_preset_count_is_what_list_shows_and_a_broken_preset_says_so(cli) -> None:
    """'--list shows all 27 presets' over a list of 25 rows (GPT-J-6B and Falcon-180B do not
    load), and for those two 'add intermediate_size from the model's Hugging Face config.json',
    though a shipped preset is not the user's to edit (UX review 3, #16)."""
    rows = cli(["profile", "llm", "--list"]).stdout.split("\nACTIVE: ")[0].splitlines()[1:]
    typo = " ".join(cli(["profile", "llm", "lama-3.1-8b"], exit_code=3).stderr.split())
    assert f"`scaleplan profile llm --list` shows all {len(rows)} presets" in typo, typo
    for name in ("gpt-j-6b", "falcon-180b"):
        assert not any(r.split()[0] == name for r in rows)
        err = " ".join(cli(["profile", "llm", name], exit_code=3).stderr.split())
        assert f"the preset '{name}' cannot be sized (missing intermediate_size)" in err, err
        assert err.endswith("(give the model's config.json)"), err


def test_list_says_what_active_counts(cli) -> None:
    """UX trial 38 F6: --list showed gpt-oss-120b at 5.7B active, its card says 5.1B. The
    cards differ: Mixtral's (12.9B), Qwen's (3.3B for Qwen3-30B-A3B) and DeepSeek-V3's (37B)
    count the embeddings, gpt-oss's leaves the input embedding out. --list counts as most
    cards do and says so under the table."""
    out = cli(["profile", "llm", "--list"]).stdout
    rows = {r.split()[0]: r.split() for r in out.splitlines()[1:] if not r.startswith(" ")}
    assert (rows["gpt-oss-120b"][5], rows["mixtral-8x7b"][5]) == ("5.7B", "12.9B"), out
    note = " ".join(out.split("\nACTIVE: ")[1].split())
    said = "the parameters one token uses (MoE: its top-k and shared experts), the embeddings"
    assert note.startswith(f"{said} and LM head included"), note
    assert note.endswith("gpt-oss's cards leave out the input embedding (gpt-oss-120b: 5.1B)"), note


def test_validate_and_optimize_warn_of_a_kv_head_count_assumed(cli, tmp_path: Path) -> None:
    """A spec whose model.architecture is a config.json without num_key_value_heads: validate
    and optimize say which value they assumed, as profile llm does (UX review 3, #7)."""
    cfg = {
        "model_type": "mistral", "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "intermediate_size": 14336, "vocab_size": 32768,
        "max_position_embeddings": 32768, "torch_dtype": "bfloat16",
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "./config.json").replace("{ENGINE}", "{}"))
    _profile(cli, tmp_path)
    said = "warning: config.json has no num_key_value_heads: assumed 8 (the default of"
    res = cli(["validate", str(spec)])
    assert said in " ".join(res.stderr.split()), res.stderr
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "out")], exit_code=None)
    assert res.exit_code in (0, 4), res.stderr
    assert said in " ".join(res.stderr.split()), res.stderr


def test_profile_llm_says_its_ttft_is_open_loop(cli, tmp_path) -> None:
    """84c2471 made estimates take the open-loop TTFT (what plans size for); a user comparing
    `--concurrency 8` with a closed-loop benchmark of 8 clients saw a lower TTFT and nothing
    said why. A note says so whenever a concurrency above 1 is estimated (at 1 the two agree)."""
    base = ["profile", "llm", "llama-3.1-8b", "--accelerators", "L40S", "--gpus", "1"]
    r = cli([*base, "--concurrency", "1,8", "--out", str(tmp_path / "a.yaml")])
    said = " ".join(r.stderr.split())
    assert "note: TTFT is for requests arriving at a rate (Poisson), as plans are sized" in said
    alone = cli([*base, "--concurrency", "1", "--out", str(tmp_path / "b.yaml")]).stderr
    assert "arriving at a rate" not in alone


def test_llm_profile_file_needs_a_model_or_a_spec(tmp_path: Path) -> None:
    """Neither MODEL nor --spec: a usage error naming MODEL, before anything is read."""
    from scaleplan.errors import OptionError
    from scaleplan.profile.llm import llm_profile_file

    with pytest.raises(OptionError) as err:
        llm_profile_file(
            None, None, input_tokens=None, output_tokens=None, dtype="nope", kv_cache_dtype=None,
            engine=None, accelerators=None, gpus="1", concurrency="1", calibrate=None,
            catalogs=None, out=str(tmp_path / "p.yaml"), command="",
        )
    assert err.value.option == "MODEL" and not (tmp_path / "p.yaml").exists()


def test_a_quantization_the_model_does_not_price_is_said(cli, tmp_path: Path) -> None:
    """A config.json whose quantization_config the model does not price (bitsandbytes 4-bit,
    GPTQ 3-bit) was sized as its torch_dtype without a word: a bitsandbytes-nf4 8B as 15 GiB of
    16-bit weights (UX review 15, F8; docs/llm.md says to give dtype yourself). profile llm,
    validate and optimize say so; not once a dtype is given."""
    cfg = {
        "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
        "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    said = ("config.json's quantization_config (quant_method 'bitsandbytes') is not one the model"
            " prices: the weights are sized as its torch_dtype, bf16")
    args = ["profile", "llm", str(tmp_path / "config.json"), "-a", "H100", "--gpus", "1"]
    r = cli([*args, "--out", str(tmp_path / "p.yaml")])
    assert said in " ".join(r.stderr.split()), r.stderr
    # every precision model.dtype takes below 16 bits, mxfp4 and nvfp4 too (r2 review LOW)
    assert "int4-gptq, mxfp4, nvfp4) if that is smaller" in " ".join(r.stderr.split()), r.stderr
    r = cli([*args, "--dtype", "int8", "--out", str(tmp_path / "q.yaml")])
    assert "quantization_config" not in r.stderr, r.stderr
    spec = tmp_path / "spec.yaml"
    spec.write_text(LONG_SPEC.replace("ARCH", "./config.json").replace("{ENGINE}", "{}"))
    _profile(cli, tmp_path)
    assert said in " ".join(cli(["validate", str(spec)]).stderr.split())


def test_a_preset_name_with_close_matches_also_says_how_to_plan_another_model(cli) -> None:
    """UX trial 25: 'qwen2.5-32b' (no preset) got 'did you mean qwen3-32b or qwen2.5-72b-instruct
    or qwen3-8b?', other models all, and not that a config.json path plans any model. UX trial
    37 F6: its own generation's presets first ('qwen2.5-14b' got three qwen3 presets, another
    architecture, until 2026-12-07; this test asserted 'qwen3-32b' first)."""
    err = " ".join(cli(["profile", "llm", "qwen2.5-32b"], exit_code=3).stderr.split())
    assert "did you mean 'qwen2.5-72b-instruct' or 'qwen2.5-7b-instruct' or 'qwen3-32b'?" in err
    assert "If it is another model, give the path to its Hugging Face config.json" in err
    err = " ".join(cli(["profile", "llm", "qwen2.5-14b"], exit_code=3).stderr.split())
    assert "did you mean 'qwen2.5-7b-instruct' or 'qwen2.5-72b-instruct' or 'qwen3-14b'?" in err


def test_an_empty_config_json_is_said_to_be_empty(cli, tmp_path: Path) -> None:
    """UX trial 25: an empty config.json read 'not valid JSON: Expecting value at line 1',
    where an empty spec, plan or catalog is said to be empty."""
    cfg = tmp_path / "config.json"
    cfg.write_text("\n", encoding="utf-8")
    err = " ".join(cli(["profile", "llm", str(cfg)], exit_code=3).stderr.split())
    assert "config.json is empty (give the model's Hugging Face config.json)" in err
    assert "not valid JSON" not in err


def test_a_source_of_another_preset_than_the_architecture_is_said(cli, tmp_path: Path) -> None:
    """UX trial 29 F6: a copied spec whose model.architecture alone was changed planned
    Qwen3-32B while render served Mixtral's weights with Qwen's settings, silently. validate
    and optimize now warn with both presets and the two fixes; a matching source (an
    -Instruct checkpoint of the planned preset) and a bucket source say nothing."""
    text = (ROOT / "tests" / "data" / "surge" / "spec.yaml").read_text(encoding="utf-8")
    src = "  source: {uri: meta-llama/Llama-3.1-8B-Instruct, secret: hf-token}\n"
    assert "  architecture: llama-3.1-8b\n" in text and src in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("llama-3.1-8b\n", "qwen3-32b\n", 1), encoding="utf-8")
    said = " ".join(cli(["validate", str(bad)]).stderr.split())
    assert (
        "model.source 'meta-llama/Llama-3.1-8B-Instruct' is a checkpoint of 'llama-3.1-8b', "
        "not of the model.architecture planned, 'qwen3-32b'" in said
    )
    assert "set model.architecture: llama-3.1-8b, or point model.source at qwen3-32b's" in said
    good = tmp_path / "good.yaml"
    good.write_text(text, encoding="utf-8")
    bucket = tmp_path / "bucket.yaml"
    bucket.write_text(text.replace(
        "llama-3.1-8b\n", "qwen3-32b\n", 1).replace(src, "  source: s3://weights/qwen\n"),
        encoding="utf-8")
    # presets of one architecture size alike (r2 review 41: Llama 3.3 served, 3.1 planned)
    same = tmp_path / "same.yaml"
    same.write_text(text.replace("llama-3.1-8b\n", "llama-3.1-70b\n", 1).replace(
        "Llama-3.1-8B-Instruct", "Llama-3.3-70B-Instruct"), encoding="utf-8")
    for f in (good, bucket, same):
        assert "model.source" not in cli(["validate", str(f)]).stderr
