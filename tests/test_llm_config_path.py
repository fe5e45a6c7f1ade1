"""A spec's ``model.architecture`` config.json that does not exist is reported with the path
tried and where a relative path is resolved from: the spec's folder (UX review 5, #6). The
message said 'relative paths are resolved from the current folder' and named no path."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: ./nope/config.json, engine: vllm}
traffic:
  peak_rps: 1
  classes: [{name: chat, share: 1.0, input_tokens: 500, output_tokens: 100}]
slo: {ttft_ms: 1500, tpot_ms: 40}
placement: {providers: [aws], accelerators: [L40S]}
kubernetes: {image: vllm/vllm-openai:v0.11.0}
"""


def test_a_missing_config_json_names_the_path_from_the_spec_folder(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("specs").mkdir()
    Path("specs/s.yaml").write_text(SPEC, encoding="utf-8")
    for cmd in (["validate", "specs/s.yaml"], ["optimize", "specs/s.yaml", "--out", "o"]):
        out = cli(cmd, exit_code=3).stderr
        assert "specs/s.yaml:4: model.architecture:" in out
        assert f"config.json not found: {Path('specs/nope/config.json')}" in out
        assert "resolved from the spec's folder" in out and "current folder" not in out
