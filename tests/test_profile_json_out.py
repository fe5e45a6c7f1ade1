"""``profile ... -o profile.json`` writes JSON (UX review 5, #17): it wrote YAML into the .json
file, which JSON tools (jq, json.load) refuse; the file reads back as the same profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaleplan.profile.model import read_profile


def test_profile_llm_writes_json_to_a_json_path(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100", "--gpus", "1",
            "--input-tokens", "700", "--output-tokens", "300", "--concurrency", "1,8"]
    cli([*args, "-o", "p.json"])
    cli([*args, "-o", "p.yaml"])
    data = json.loads(Path("p.json").read_text(encoding="utf-8"))
    assert data["kind"] == "Profile" and len(data["measurements"]) == 2
    no_command = {"metadata": {"command"}}
    same = [read_profile(f).model_dump(exclude=no_command) for f in ("p.json", "p.yaml")]
    assert same[0] == same[1]  # the same profile but for the command line that wrote it
    assert not Path("p.yaml").read_text(encoding="utf-8").lstrip().startswith("{")
