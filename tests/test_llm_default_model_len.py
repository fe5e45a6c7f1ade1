"""A spec without ``model.engine_config.max_model_len`` is told what the default does: the
server refuses every request longer than the longest class rounded up to a multiple of 1,024
(:func:`scaleplan.llm.memory.default_max_model_len`), and requests vary around their class's
length. ``validate`` and ``optimize`` say it (optimize in the plan's warnings, so ``--json`` and
``diff`` carry it); a spec that sets the field hears nothing of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llm-chat"
SET = "  engine_config: {max_model_len: 8192}"
NOTE = (
    "model.engine_config.max_model_len is not set: the server will refuse requests longer than "
    "5,120 tokens (the longest class, 'long': 4,096 + 512, rounded up to a multiple of 1,024); "
    "set it to the longest request you serve (llama-3.1-8b takes up to 131,072)"
)


def _spec(folder: Path, *, set_len: bool, profile: bool = True) -> Path:
    text = (EXAMPLE / "spec.yaml").read_text(encoding="utf-8")
    assert any(ln.startswith(SET) for ln in text.splitlines())
    lines = [
        ln for ln in text.splitlines()
        if (set_len or not ln.startswith(SET)) and (profile or not ln.startswith("  profile:"))
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.yaml").write_text((EXAMPLE / "profile.yaml").read_text(encoding="utf-8"))
    spec = folder / "spec.yaml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec


@pytest.mark.parametrize("profile", [True, False])
def test_validate_says_the_default(cli, tmp_path: Path, profile: bool) -> None:
    without = _spec(tmp_path / "without", set_len=False, profile=profile)
    res = cli(["validate", str(without)])
    assert NOTE in res.stderr
    res = cli(["validate", str(without), "--json"])
    assert NOTE in json.loads(res.stdout)["warnings"]
    with_len = _spec(tmp_path / "with", set_len=True, profile=profile)
    res = cli(["validate", str(with_len)])
    assert "max_model_len is not set" not in res.stdout + res.stderr


def test_optimize_warns_of_the_default_in_the_plan(cli, tmp_path: Path) -> None:
    opts = ["--no-alternatives", "--no-manifests"]
    without = _spec(tmp_path / "without", set_len=False)
    res = cli(["optimize", str(without), "--out", str(tmp_path / "a"), "--json", *opts])
    assert NOTE in res.stderr
    assert NOTE in json.loads(res.stdout)["warnings"]
    with_len = _spec(tmp_path / "with", set_len=True)
    res = cli(["optimize", str(with_len), "--out", str(tmp_path / "b"), *opts])
    assert "max_model_len is not set" not in res.stdout + res.stderr
    plans = [str(tmp_path / "b" / "plan.yaml"), str(tmp_path / "a" / "plan.yaml")]
    res = cli(["diff", *plans, "--json"])
    assert json.loads(res.stdout)["warnings"] == {"added": [NOTE], "removed": []}
    res = cli(["diff", *plans])
    assert "  ~ warnings\n      + model.engine_config.max_model_len is not set:" in res.stdout


def test_no_note_when_the_default_is_the_whole_context() -> None:
    from scaleplan.llm.serving import TokenClass, setup

    near = [TokenClass("book", 130_000, 1_000)]  # 131,000 rounds up to the 131,072 context
    assert setup("llama-3.1-8b").default_len_note(near) is None
    set_len = setup("llama-3.1-8b", max_model_len=8192)
    assert set_len.default_len_note([TokenClass("a", 9, 9)]) is None
    said = setup("llama-3.1-8b").default_len_note([TokenClass("a", 100, 20)])
    assert said is not None and "longer than 1,024 tokens (the longest class, 'a': 100 + 20" in said
