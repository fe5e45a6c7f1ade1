"""What a pipeline sees (UX review 11, docs/cli.md "Global conventions"): ``-`` as an output
means standard output or is refused, never a file or folder named ``-``; options that cannot
be combined with ``--json`` are refused; the ``--json`` documents carry the keys the docs
list, present on every run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VISION = ROOT / "examples" / "vision-daily"
LLM_PLAN = ROOT / "examples" / "llm-chat" / "plan.yaml"
MELANGE = ROOT / "tests" / "data" / "melange" / "example.json"
CONFIGMAP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\ndata:\n  k: v\n"
)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current folder: a file or folder named '-' would appear in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_output_dash_is_stdout(cli: Any, here: Path) -> None:
    """``check --format sarif --output -`` wrote the report into a file named '-' and printed
    nothing; '-' is standard output, as for every profile command."""
    (here / "cm.yaml").write_text(CONFIGMAP)
    res = cli(["check", "cm.yaml", "--format", "sarif", "--output", "-"])
    assert json.loads(res.stdout)["version"] == "2.1.0"
    assert sorted(p.name for p in here.iterdir()) == ["cm.yaml"]


def test_render_out_dash_prints_one_stream_that_check_reads(cli: Any, here: Path) -> None:
    """``render PLAN --out - | kubectl apply -f -``: the objects of ``--layout single``'s
    manifests.yaml on stdout, nothing written (it made a folder named '-'); ``check -`` with
    the plan finds no drift in that stream."""
    res = cli(["render", str(LLM_PLAN), "--out", "-"])
    assert list(here.iterdir()) == []
    cli(["render", str(LLM_PLAN), "--out", "single", "--layout", "single"])
    single = (here / "single" / "manifests.yaml").read_text(encoding="utf-8")
    assert res.stdout == single
    kinds = [d["kind"] for d in yaml.safe_load_all(res.stdout)]
    assert "Deployment" in kinds and "Kustomization" not in kinds
    checked = cli(["check", "-", "--plan", str(LLM_PLAN), "--json"], input=res.stdout)
    assert json.loads(checked.stdout)["summary"]["findings"] == 0


def test_render_out_dash_with_json_is_a_usage_error(cli: Any, here: Path) -> None:
    res = cli(["render", str(LLM_PLAN), "--out", "-", "--json"], exit_code=2)
    assert "--json" in res.stderr and "--out -" in res.stderr
    assert list(here.iterdir()) == []


def _folder_writers(here: Path) -> dict[str, list[str]]:
    return {
        "optimize": ["optimize", str(VISION / "spec.yaml"), "--out", "-", "--no-alternatives"],
        "import melange": ["import", "melange", str(MELANGE), "--out", "-"],
        "profile --emit-jobs": [
            "profile", "pkg.models:factory", "--emit-jobs", "-", "--accelerators", "L4",
            "--image", "ghcr.io/me/model:1", "--batch-sizes", "1", "--input-shape", "3x8x8",
        ],
        # port 9 answers nothing: exit 5 if the path were checked after the queries
        "observe": [
            "observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(LLM_PLAN),
            "--end", "2026-01-15T00:00:00Z", "--out", "-",
        ],
        # before boto3 or AWS is needed
        "catalog refresh": [
            "catalog", "refresh", "--provider", "aws", "--regions", "us-east-1", "--out", "-",
        ],
    }


@pytest.mark.parametrize(
    "command", ["optimize", "import melange", "profile --emit-jobs", "observe", "catalog refresh"]
)
def test_out_dash_where_files_are_written_is_a_usage_error(
    cli: Any, here: Path, command: str
) -> None:
    """A command that writes a folder (or observe, whose --json prints the document) refuses
    ``--out -`` (exit 2, saying ./- names a path called '-'); it wrote into a folder '-'."""
    res = cli(_folder_writers(here)[command], exit_code=2)
    assert "standard output" in res.stderr and "./-" in res.stderr, res.stderr
    assert list(here.iterdir()) == []


def test_a_path_named_dash_is_still_reachable(cli: Any, here: Path) -> None:
    cli(["import", "melange", str(MELANGE), "--out", "./-"])
    assert (here / "-" / "spec.yaml").is_file()


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github", "text"])
def test_check_json_with_another_format_is_a_usage_error(cli: Any, here: Path, fmt: str) -> None:
    """``check --format sarif --json`` printed JSON and dropped the SARIF the job asked for."""
    (here / "cm.yaml").write_text(CONFIGMAP)
    res = cli(["check", "cm.yaml", "--format", fmt, "--json"], exit_code=2)
    assert "--json" in res.stderr and f"--format {fmt}" in res.stderr, res.stderr
    ok = cli(["check", "cm.yaml", "--format", "json", "--json"])
    assert json.loads(ok.stdout)["summary"]["findings"] == 0


def test_optimize_json_always_has_changes(cli: Any, tmp_path: Path) -> None:
    """``changes`` was missing from the first run's JSON (no plan in --out yet) and an object on
    the next: a dashboard reading ``.changes.summary`` needs the key on every run (null first)."""
    out = str(tmp_path / "o")
    argv = ["optimize", str(VISION / "spec.yaml"), "--out", out, "--json", "--no-alternatives"]
    first = json.loads(cli(argv).stdout)
    assert "changes" in first and first["changes"] is None
    again = json.loads(cli(argv).stdout)
    assert again["changes"]["summary"] == {"add": 0, "change": 0, "remove": 0}


def test_simulate_json_names_its_mode_for_both_simulators(cli: Any) -> None:
    """The LLM simulator's JSON said ``"mode": "llm"``; the request-level one said nothing."""
    argv = ["simulate", str(VISION / "plan.yaml"), "--json", "--duration", "60"]
    batch = json.loads(cli(argv).stdout)
    assert batch["mode"] == "batch"
    llm = json.loads(cli(["simulate", str(LLM_PLAN), "--json", "--min-requests", "200"]).stdout)
    assert llm["mode"] == "llm"


def test_validate_json_prints_its_warnings_on_stderr_too(cli: Any) -> None:
    """``validate --json`` kept its warnings in the JSON only (stderr empty: a CI log showed
    none), while ``optimize --json`` prints them on stderr and in ``warnings`` alike."""
    spec = str(ROOT / "examples" / "llm-70b-tp" / "spec.yaml")
    res = cli(["validate", spec, "--json"])
    warnings = json.loads(res.stdout)["warnings"]
    assert warnings and res.stderr == "".join(f"warning: {w}\n" for w in warnings)
    assert cli(["validate", spec]).stderr == res.stderr


def test_schema_takes_json_as_the_others_do(cli: Any) -> None:
    """A pipeline that adds --json to every call got exit 2 from ``schema``, which always
    prints JSON; --json is accepted and changes nothing."""
    assert cli(["schema", "spec", "--json"]).stdout == cli(["schema", "spec"]).stdout


@pytest.mark.parametrize(
    "argv", [["diff", str(LLM_PLAN), "-"], ["simulate", "-"], ["validate", "-"]]
)
def test_dash_as_an_input_file_says_which_command_reads_stdin(
    cli: Any, here: Path, argv: list[str]
) -> None:
    """``diff PLAN -`` said "-: plan not found (check the path ...)": '-' is standard input only
    for ``check``; the hint now says so (exit 3 as before)."""
    res = cli(argv, exit_code=3, input="apiVersion: scaleplan/v1\n")
    assert "standard input" in res.stderr and "scaleplan check" in res.stderr, res.stderr
