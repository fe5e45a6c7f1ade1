"""A bad command line exits 2 (USAGE) in every command, printed as the parser prints its own
(``Invalid value for OPTION: ...``): bad option values and options that cannot be combined.
Each case below exited 3 (INVALID_INPUT, an input-file code) before; docs/cli.md, "Exit codes".
An option that contradicts the content of an input file stays 3 (the last cases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLAN = str(ROOT / "examples" / "llm-chat" / "plan.yaml")
MEASURED = str(ROOT / "examples" / "embedding-cpu-gpu" / "profile-cpu-measured.yaml")
MANIFESTS = str(ROOT / "tests" / "data" / "check" / "clean" / "app.yaml")
MELANGE = str(ROOT / "tests" / "data" / "melange" / "example.json")
VLLM = str(ROOT / "tests" / "data" / "profile_formats" / "vllm_bench_serve_v0.25.1.json")

FACTORY = """
import torch

def factory():
    return torch.nn.Linear(4, 2)
"""

F = "{tmp}/m.py:factory"  # a torch factory
URL = "http://127.0.0.1:9"
EST = ["profile", "estimate", MEASURED, "-a", "L4"]
LLM = ["profile", "llm", "llama-3.1-8b"]
IMP = ["import", "melange", MELANGE, "--out", "{tmp}/o"]
OBS = ["observe", "--plan", PLAN, "--out", "{tmp}/o.yaml", "--prometheus"]

USAGE = [  # (command line, the option named, a fragment of the message)
    (["check", MANIFESTS, "--enable", "drift"], "--enable", "no --plan was given"),
    (["check", MANIFESTS, "--enable", "nosuch"], "--disable/--enable", "unknown rule 'nosuch'"),
    (["profile", F, "--device", "tpu"], "--device", "bad device 'tpu'"),
    (["profile", F, "--device", "cuda:x"], "--device", "bad device 'cuda:x'"),
    (["profile", F, "--device", ","], "--device", "no device given"),
    (["profile", F, "--input-shape", "0x4"], "--input-shape", "must be positive integers"),
    # blanks inside a list were dropped: '1 2 4' measured batch 124 (UX trial 24)
    (["profile", F, "--batch-sizes", "1 2 4"], "--batch-sizes", "got '1 2 4'"),
    ([*LLM, "--concurrency", "8 32"], "--concurrency", "got '8 32'"),
    # a batch past --max-batch ran unbounded (1e8 inputs: 9 minutes, 3.6 GB, no output)
    (["profile", F, "--batch-sizes", "1,2048"], "--batch-sizes", "pass --max-batch 2048"),
    (["profile", F, "--device", "cpu", "--dtype", "int3"], "--dtype", "'int3' is not supported"),
    (["profile", f"{URL}/v1/completions", "--header", "x"], "--header", "expected 'Name: value'"),
    (["profile", f"{URL}/predict", "--openai"], "--openai", "is not a /v1/completions"),
    # an option of the other kind of TARGET was silently ignored (exit 0, or 5 unreachable)
    (["profile", F, "--concurrency", "4"], "--concurrency", "does not apply to a model"),
    (["profile", F, "--header", "A: b", "--seed", "3"], "--header", "--header, --seed do not"),
    (["profile", f"{URL}/x", "--device", "cpu"], "--device", "not apply to an HTTP endpoint"),
    (["profile", f"{URL}/x", "--batch-sizes=1,2"], "--batch-sizes", "not apply to an HTTP"),
    (["profile", f"{URL}/x", "--max-tokens", "5"], "--max-tokens", "to --openai requests only"),
    (["profile", f"{URL}/x", "--rate", "1", "--concurrency", "2"], "--rate", "not both"),
    ([*EST, "--gpu-dtype", "fp5"], "--gpu-dtype", "unknown dtype 'fp5'"),
    ([*EST, "--compute-efficiency", "2"], "--compute-efficiency", "not a fraction of peak"),
    ([*EST[:3], "-a", "Z9000"], "--accelerators", "unknown accelerator 'Z9000'"),
    ([*LLM, "-a", "Z9000"], "--accelerators", "unknown accelerator"),
    ([*LLM, "--dtype", "fp8", "-a", "A10G"], "--dtype", "no FP8 tensor"),
    (["profile", "import", VLLM, "--format", "csv"], "--format", "unknown format 'csv'"),
    ([*IMP, "--rate", "0"], "--rate", "must be > 0"),
    ([*IMP, "--name", "Bad_Name"], "--name", "DNS-1123"),
    (["optimize", "--melange", MELANGE, "--catalog", "c.yaml"], "--catalog", "not apply to"),
    ([*OBS, "ftp://prom:9090"], "--prometheus", "is not an http(s) URL"),
    ([*OBS, "http://me:pw@prom:9090"], "--prometheus", "the URL carries credentials"),
]


@pytest.mark.parametrize(("args", "option", "fragment"), USAGE, ids=[c[2][:30] for c in USAGE])
def test_a_bad_command_line_is_a_usage_error(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, args: list[str], option: str, fragment: str
) -> None:
    (tmp_path / "m.py").write_text(FACTORY)
    res = cli([a.replace("{tmp}", str(tmp_path)) for a in args], exit_code=2)
    said = " ".join(res.stderr.split())
    assert f"Invalid value for {option}:" in said and fragment in said, said
    assert not (tmp_path / "o.yaml").exists() and not (tmp_path / "o").exists()


def test_an_option_against_an_input_file_stays_invalid_input(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """The result file does not say which accelerator served it and no --accelerator was
    given: the file's content decides, so exit 3 (as for a bad file)."""
    doc = json.loads(Path(VLLM).read_text())
    for key in [k for k in doc if "gpu" in k.lower() or "accelerator" in k.lower()]:
        doc.pop(key)
    (tmp_path / "r.json").write_text(json.dumps(doc))
    res = cli(["profile", "import", str(tmp_path / "r.json")], exit_code=3)
    said = " ".join(res.stderr.split())
    named = f"{tmp_path / 'r.json'}: --accelerator: the result file does not say"
    assert f"{named} which accelerator" in said, said
    # the spec's fp8 on --accelerators A10G: the file's dtype decides (--dtype fp8 -a A10G: 2)
    moe = str(ROOT / "examples" / "llm-moe" / "spec.yaml")
    res = cli(["profile", "llm", "--spec", moe, "-a", "A10G"], exit_code=3)
    said = " ".join(res.stderr.split())
    assert "A10G (Ampere) has no FP8 tensor cores" in said
    assert "--dtype: fp8" not in said, said  # no --dtype was given: the spec's or model's
    assert "--accelerators: fp8 (" in said and "runs with --dtype (bf16, fp16" in said, said


EMBED_PLAN = str(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", EMBED_PLAN, "--lengths", "lognormal"], "apply to LLM plans only"),
        (["simulate", EMBED_PLAN, "--steps", "model"], "apply to LLM plans only"),
        (["simulate", PLAN, "--fixed-fraction", "0.3"], "--fixed-fraction does not apply to LLM"),
        (["simulate", PLAN, "--picker", "kv"], "--picker applies to plans with kubernetes.routing"),
    ],
)
def test_an_option_the_plan_does_not_take_is_invalid_input(  # type: ignore[no-untyped-def]
    cli, args: list[str], fragment: str
) -> None:
    """An option that does not apply to this kind of plan conflicts with the plan file's
    content: exit 3 at the plan (it was 2, a usage error)."""
    res = cli(args, exit_code=3)
    said = " ".join(res.stderr.split())
    assert f"{args[1]}: " in said and fragment in said and "Usage:" not in res.stderr, said


def test_an_output_path_of_the_wrong_kind_is_3_in_every_command(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """A folder where an output file goes, or a file where an output folder goes: exit 3 with
    one wording per case (catalog refresh said "is a directory" with exit 2; render said
    "--out exists and is not a folder")."""
    folder, file = tmp_path / "d", tmp_path / "f"
    folder.mkdir()
    file.write_text("mine\n")
    refresh = ["catalog", "refresh", "--provider", "aws", "--regions", "us-east-1", "--dry-run"]
    llm = ["profile", "llm", "llama-3.1-8b"]
    for args in ([*refresh, "--out", str(folder)], [*llm, "--out", str(folder)]):
        said = " ".join(cli(args, exit_code=3).stderr.split())
        assert f"{folder}: is a folder, expected a file path" in said, said
    spec = str(ROOT / "examples" / "llm-chat" / "spec.yaml")
    for args in (["render", PLAN, "--out", str(file)], ["optimize", spec, "--out", str(file)]):
        said = " ".join(cli(args, exit_code=3).stderr.split())
        assert f"{file}: --out is a file, expected a folder (pass a folder path)" in said, said
    assert file.read_text() == "mine\n" and not any(folder.iterdir())


def test_blanks_around_list_items_are_fine() -> None:
    from scaleplan.option_values import int_list, number_list

    assert int_list(" 1, 2 ,4 ", "--batch-sizes") == [1, 2, 4]
    assert number_list("0.5, 2", "--rate") == [0.5, 2.0]
