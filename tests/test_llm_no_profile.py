"""An LLM spec planned from its architecture alone (UX review 3, #20): no ``model.profile``, no
``slo.latency_ms``. The README's shortest LLM spec runs end to end with the real solver; a
spec with neither a profile nor an architecture is refused with both fixes; the latency default
is ttft + tpot x the longest output and never changes a plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scaleplan.errors import SpecError
from scaleplan.plan import read_plan
from scaleplan.spec import parse_spec_text

ROOT = Path(__file__).resolve().parents[1]
# the README's spec made a profile-planned (not LLM) one
NOT_LLM = {"model__architecture": None, "model__engine": None, "model__source": None,
           "model__profile": "p.yaml"}


def _yaml_blocks(doc: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (ROOT / doc).read_text(encoding="utf-8"), re.S)


def readme_spec() -> str:
    """The README's shortest LLM spec (the yaml block headed `# chat.yaml`)."""
    block = next(b for b in _yaml_blocks("README.md") if b.startswith("# chat.yaml\n"))
    return block.removeprefix("# chat.yaml\n")


def _data() -> dict:
    return yaml.safe_load(readme_spec())


def test_readme_shortest_llm_spec_end_to_end(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("chat.yaml").write_text(readme_spec(), encoding="utf-8")
    assert "profile" not in _data()["model"] and "latency_ms" not in _data()["slo"]
    res = cli(["validate", "chat.yaml"])
    said = "planned from architecture llama-3.1-8b, no profile: capacity is estimated, uncalibrated"
    assert said in res.stdout
    assert "slo.latency_ms 19000 ms" in res.stdout  # 1000 + 60 x 300
    # said as derived, not an SLO, as simulate says it (it read '(ttft_ms + tpot_ms x longest
    # output)' alone, which a reader took for the end-to-end SLO)
    derived = "slo.latency_ms 19000 ms derived (ttft_ms + tpot_ms x the longest completion), not"
    assert f"{derived} an SLO" in " ".join(res.stdout.split()), res.stdout
    res = cli(["optimize", "chat.yaml", "--out", "out/chat"])  # the real solver (HiGHS)
    said = "rests on the LLM model's architecture-only estimates, not measurements: the spec names"
    said += " no model.profile"
    assert said in res.stdout + res.stderr
    assert "* capacity from the LLM model's estimates (no profile: uncalibrated)" in res.stdout
    plan = read_plan("out/chat/plan.yaml")
    assert plan.status == "optimal" and plan.allocations
    assert plan.metadata.inputs.profile is None and plan.spec.model.profile is None
    text = Path("out/chat/plan.yaml").read_text(encoding="utf-8")
    assert "profile:" not in text.split("status:")[0]  # no profile hash in the provenance
    assert plan.spec.slo.latency_ms == 19000.0
    assert all(a.llm is not None and a.llm.classes for a in plan.allocations)
    assert any(said in w for w in plan.warnings)
    cli(["render", "out/chat/plan.yaml", "--out", "out/chat/manifests"])
    res = cli(["check", "out/chat/manifests", "--plan", "out/chat/plan.yaml"])
    assert "passed: 0 errors" in res.stdout and "drift checked" in res.stdout
    res = cli(["simulate", "out/chat/plan.yaml"])
    assert "LLM plan: simulated token by token" in res.stdout
    # the derived latency is reported, not judged (6cc2959): TTFT and TPOT are the SLOs
    assert "e2e not an SLO (slo.latency_ms 19000 ms derived)" in res.stdout
    assert "read from the spec's profile" not in res.stdout


def test_the_docs_show_the_same_shortest_spec() -> None:
    """docs/llm.md and docs/spec.md show the README's spec (less source and flavor): valid."""
    want = _data()
    for doc in ("docs/llm.md", "docs/spec.md"):
        shown = [b for b in _yaml_blocks(doc) if "architecture: llama-3.1-8b, engine: vllm" in b]
        assert len(shown) == 1, doc
        spec = parse_spec_text(shown[0], doc)
        assert spec.model.profile is None and spec.slo.latency_ms == 19000.0
        data = yaml.safe_load(shown[0])
        assert data["traffic"] == want["traffic"] and data["slo"] == want["slo"], doc


def test_neither_profile_nor_architecture_names_both_fixes(cli, tmp_path: Path) -> None:
    data = _data()
    data["model"] = {"name": "chat"}
    data["slo"]["latency_ms"] = 20000
    text = yaml.safe_dump(data)
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    res = cli(["validate", str(tmp_path / "s.yaml")], exit_code=3)
    assert res.stderr.count("model.profile") == 1 and "problems" not in res.stderr  # the one
    line = text.splitlines().index("model:") + 1  # at the model, whose profile is missing
    assert f"s.yaml:{line}: model.profile: the model needs a profile" in res.stderr
    assert "add 'profile: PATH'" in res.stderr and "'architecture: NAME'" in res.stderr
    res = cli(["optimize", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")], exit_code=3)
    assert "the model needs a profile" in res.stderr and not (tmp_path / "out").exists()


def _spec(**changes: object) -> str:
    data = _data()
    for key, value in changes.items():
        section, field = key.split("__")
        if value is None:
            data[section].pop(field, None)
        else:
            data[section][field] = value
    return yaml.safe_dump(data)


def test_latency_defaults_only_for_an_llm_spec_with_ttft_tpot_and_tokens() -> None:
    assert parse_spec_text(_spec()).slo.latency_ms == 19000.0
    assert parse_spec_text(_spec(slo__latency_ms=5000)).slo.latency_ms == 5000.0  # stated: kept
    odd = parse_spec_text(_spec(slo__ttft_ms=800.5, slo__tpot_ms=12.25))
    assert odd.slo.latency_ms == 800.5 + 12.25 * 300
    no_tokens = _data()
    del no_tokens["traffic"]["classes"][1]["output_tokens"]
    refused = {
        "not an LLM": _spec(**NOT_LLM),
        "no tpot": _spec(slo__tpot_ms=None),
        "no ttft": _spec(slo__ttft_ms=None),
        "a class without output tokens": yaml.safe_dump(no_tokens),
        "no classes": _spec(traffic__classes=None),
    }
    for why, text in refused.items():
        with pytest.raises(SpecError) as exc:
            parse_spec_text(text)
        wheres = [p.where for p in exc.value.problems]
        assert "slo.latency_ms" in wheres, why


def test_the_latency_default_never_changes_a_plan(tmp_path: Path) -> None:
    """What the SLO test takes as e2e (TTFT + TPOT x (out - 1)) is below the default whenever
    TTFT and TPOT hold: the plan is the one an unbounded latency_ms gives."""
    from scaleplan.inputs import load_inputs
    from scaleplan.solve import SolveOptions, solve

    costs = []
    for name, text in (("d.yaml", _spec()), ("u.yaml", _spec(slo__latency_ms=3_600_000))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        inp = load_inputs(str(tmp_path / name))
        opts = SolveOptions(inputs=inp.hashes)
        plan = solve(inp.spec, inp.profile, inp.catalog, options=opts).plan
        allocs = [(a.name, a.replicas, a.llm and a.llm.max_num_seqs) for a in plan.allocations]
        costs.append((plan.cost_per_hour, allocs))
    assert costs[0] == costs[1]


def test_no_profile_plans_as_the_architecture_only_profile_does() -> None:
    """A profile of estimated points only is not read by the LLM path: examples/llm-chat,
    which names no profile since 2026-12-07, plans as the estimates-only fixture (its spec
    with the architecture-only profile named, tests/llm_estimates.py) does, less the profile's
    hash and reference and the warning that says why nothing calibrates the estimates."""
    from llm_estimates import PLAN

    from scaleplan.plan import plan_to_dict

    got = plan_to_dict(read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml"))
    want = plan_to_dict(read_plan(PLAN))
    assert "profile" not in got["spec"]["model"] and "profile" not in got["metadata"]["inputs"]
    assert want["spec"]["model"]["profile"] == "profile.yaml"
    assert want["metadata"]["inputs"]["profile"]
    for d in (got, want):
        d.pop("metadata")
        d["spec"]["model"].pop("profile", None)
    # the one difference: the warning (and profile_unused) says why the estimates are
    # uncalibrated (the profile's are estimates, which calibrate nothing: UX trial 31 F3;
    # there is no profile)
    assert want.pop("profile_unused") == "estimates-only" and "profile_unused" not in got
    old = "model.profile holds no measured point, only estimates (104 points), which calibrate"
    new = "capacity on L40S rests on the LLM model's architecture-only estimates, not measurements"
    assert any(w.startswith(old) for w in want["warnings"])
    assert not any(w.startswith(old) for w in got["warnings"])
    got["warnings"] = [w for w in got["warnings"] if not w.startswith(new)]
    want["warnings"] = [w for w in want["warnings"] if not w.startswith(old)]
    assert got == want


def test_solve_without_a_profile_needs_an_architecture() -> None:
    from scaleplan.catalog.files import load_catalog
    from scaleplan.solve import solve

    spec = parse_spec_text(_spec(**NOT_LLM, slo__latency_ms=100))
    with pytest.raises(SpecError) as exc:
        solve(spec, None, load_catalog(providers=("aws",)))
    assert [p.where for p in exc.value.problems] == ["model.profile"]


def test_validate_names_the_model_a_config_json_plans_not_the_file(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config.json names no model: validate's summary said 'planned from architecture
    config.json' (UX trial 19 F12); it names model.source's id, as the plan does (docs/llm.md)."""
    import json

    monkeypatch.chdir(tmp_path)
    cfg = {
        "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "bfloat16",
    }
    Path("config.json").write_text(json.dumps(cfg), encoding="utf-8")
    text = readme_spec().replace("architecture: llama-3.1-8b ", "architecture: ./config.json ")
    assert "./config.json" in text
    Path("chat.yaml").write_text(text, encoding="utf-8")
    res = cli(["validate", "chat.yaml"])
    said = " ".join(res.stdout.split())
    hf = "meta-llama/Llama-3.1-8B-Instruct"
    assert f"planned from architecture {hf} (./config.json), no profile" in said, said
    assert json.loads(cli(["validate", "chat.yaml", "--json"]).stdout)["model"] == hf
